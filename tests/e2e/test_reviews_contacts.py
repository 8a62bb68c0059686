"""Contacts with the person (cpa-reviews): recorded with few fields (now,
by the caller, by default), once per idempotency key (header or the page's
hidden field: the same key answers the first contact again); a crisis
contact brings the due CPA review forward (005's trigger); bad input is 422
naming the fields; a person without an open episode is a conflict; other
sites get 404 and other teams 403, both audited; recording and reading are
audited; the page's one-screen form has the defaults and escapes notes."""

import datetime
from concurrent.futures import ThreadPoolExecutor

import pytest

from cpa_e2e import (HTML, assert_denied, backdate_episode, describe, form_of,
                     html_text, is_html, json_of, new_idempotency_key,
                     parse_ts, unique_reason)

CONTACT_KEYS = {"id", "service_user_id", "episode_id", "at", "duration_minutes",
                "staff_id", "staff_name", "mode", "attended", "carer_present",
                "crisis", "note", "recorded_by", "recorded_by_name",
                "recorded_at"}


pytestmark = pytest.mark.usefixtures("reviews_up")


def contacts_url(su, api=True):
    return f"{'/api/v1' if api else ''}/service-users/{su}/contacts"


def record(c, su, key=None, **over):
    body = {"duration_minutes": 30, "mode": "face_to_face", "attended": True}
    body.update(over)
    headers = {"Idempotency-Key": key} if key else {}
    return c.post(contacts_url(su), json=body, headers=headers)


def contact_rows(db, su):
    return db.all("SELECT id, at, duration_minutes, staff_id, mode, attended, "
                  "crisis, note, recorded_by FROM contact "
                  "WHERE service_user_id = %s ORDER BY id", (su,))


def test_record_with_defaults(case, db, db_now, audit):
    made = case()
    c, su = made["c"], made["person"]["id"]
    mark = audit.mark()
    r = record(c, su, note="Talked about sleep")
    assert r.status_code == 201, describe(r)
    assert r.headers["Location"].endswith(contacts_url(su))
    body = json_of(r)
    contact = body["contact"]
    assert set(contact) == CONTACT_KEYS, set(contact) ^ CONTACT_KEYS
    assert body["followup_met"] is False
    assert contact["staff_id"] == c.user["id"]
    assert contact["staff_name"] == c.user["display_name"]
    assert contact["recorded_by"] == c.user["id"]
    assert contact["episode_id"] == made["episode"]["id"]
    assert contact["mode"] == "face_to_face" and contact["attended"] is True
    assert contact["carer_present"] is False and contact["crisis"] is False
    assert contact["note"] == "Talked about sleep"
    at = parse_ts(contact["at"])
    assert abs((at - db_now).total_seconds()) < 60, (at, db_now)
    rows = audit.since(mark, action="contact_recorded")
    assert len(rows) == 1, rows
    assert rows[0]["entity_type"] == "contact"
    assert rows[0]["entity_id"] == str(contact["id"])
    assert rows[0]["service_user_id"] == su
    assert rows[0]["site_id"] == made["episode"]["site_id"]


def test_record_another_staff_and_time(case, make_team_staff, teams, db,
                                       db_now):
    made = case()
    backdate_episode(db, made["episode"], 1)
    c, su = made["c"], made["person"]["id"]
    prac = make_team_staff("contactprac", "practitioner",
                           teams["north_riverside_cmht"])
    at = (db_now - datetime.timedelta(minutes=45)).replace(microsecond=0)
    r = record(c, su, staff_id=prac["id"], at=at.isoformat(), mode="home_visit",
               duration_minutes=90, carer_present=True, attended=False)
    assert r.status_code == 201, describe(r)
    contact = json_of(r)["contact"]
    assert contact["staff_id"] == prac["id"]
    assert contact["recorded_by"] == c.user["id"]
    assert parse_ts(contact["at"]) == at
    assert contact["attended"] is False and contact["carer_present"] is True
    assert contact["duration_minutes"] == 90


def test_idempotency_key_header(case, db):
    made = case()
    c, su = made["c"], made["person"]["id"]
    key = new_idempotency_key()
    first = record(c, su, key=key, note="Once")
    assert first.status_code == 201, describe(first)
    again = record(c, su, key=key, note="Twice")
    assert again.status_code == 200, describe(again)
    assert json_of(again)["contact"] == json_of(first)["contact"]
    rows = contact_rows(db, su)
    assert len(rows) == 1 and rows[0]["note"] == "Once"
    other = record(c, su, key=new_idempotency_key())
    assert other.status_code == 201, describe(other)
    assert len(contact_rows(db, su)) == 2
    r = record(c, su, key="short")
    assert r.status_code == 422 and "idempotency_key" in json_of(r)["errors"]


def test_same_key_at_once_records_one(case, make_team_staff, teams, signin,
                                      db):
    made = case()
    su = made["person"]["id"]
    own = make_team_staff("contacttwice", "coordinator",
                          teams["north_riverside_cmht"])
    clients = [signin(own["username"], own["password"]) for _ in range(2)]
    key = new_idempotency_key()
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda c: record(c, su, key=key), clients))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200, 201], [describe(r) for r in answers]
    assert len({json_of(r)["contact"]["id"] for r in answers}) == 1
    assert len(contact_rows(db, su)) == 1
    for c in clients:
        c.delete("/api/v1/session")


def test_page_form_defaults_and_idempotency(case, db, db_now):
    made = case()
    c, su = made["c"], made["person"]["id"]
    r = c.get(contacts_url(su, api=False), headers=HTML)
    assert r.status_code == 200 and is_html(r), describe(r)
    assert f'href="/service-users/{su}"' in r.text
    assert f'href="/service-users/{su}/reviews"' in r.text
    form = form_of(r.text, contacts_url(su, api=False))
    fields = {f[0]: f for f in form["fields"]}
    assert fields["duration_minutes"][2] == "30"
    assert fields["at"][1] == "datetime-local" and fields["at"][2]
    checked = {(f[0], f[2]) for f in form["fields"] if f[3]}
    assert ("mode", "face_to_face") in checked
    assert ("attended", "true") in checked
    assert 'value="%d" selected' % c.user["id"] in r.text
    body = {name: value for name, kind, value, on in form["fields"]
            if kind in ("hidden", "text", "datetime-local") or on}
    body["staff_id"] = str(c.user["id"])
    body["note"] = "<b>Seen</b> & well"
    assert body["idempotency_key"] and body["csrf_token"]
    r = c.post(contacts_url(su, api=False), data=body)
    assert r.status_code == 303, describe(r)
    assert r.headers["Location"] == contacts_url(su, api=False)
    r = c.post(contacts_url(su, api=False), data=body)
    assert r.status_code == 303, describe(r)
    rows = contact_rows(db, su)
    assert len(rows) == 1, rows
    assert rows[0]["mode"] == "face_to_face" and rows[0]["attended"] is True
    assert rows[0]["duration_minutes"] == 30
    assert abs((rows[0]["at"] - db_now).total_seconds()) < 120
    r = c.get(contacts_url(su, api=False), headers=HTML)
    assert "&lt;b&gt;Seen&lt;/b&gt; &amp; well" in r.text
    assert "<b>Seen</b>" not in r.text


def test_crisis_contact_brings_review_forward(case, db):
    made = case("standard")
    c, su = made["c"], made["person"]["id"]
    before = json_of(c.get(f"/api/v1/service-users/{su}/reviews"))["due"]
    r = record(c, su, crisis=True, mode="phone", note="In crisis tonight")
    assert r.status_code == 201, describe(r)
    assert json_of(r)["contact"]["crisis"] is True
    after = json_of(c.get(f"/api/v1/service-users/{su}/reviews"))["due"]
    assert after["id"] == before["id"]
    assert after["due_reason"] == "crisis"
    assert after["due_date"] == db.scalar(
        "SELECT (current_date + early_review_within)::date::text FROM site "
        "WHERE id = %s", (made["episode"]["site_id"],))
    # An ordinary contact leaves it where it is.
    r = record(c, su)
    assert json_of(c.get(f"/api/v1/service-users/{su}/reviews"))["due"] == after


def test_bad_input_is_422_naming_fields(case, db, db_now, make_team_staff,
                                        teams):
    made = case()
    c, su = made["c"], made["person"]["id"]
    moor = make_team_staff("contactmoor", "practitioner",
                           teams["north_moorland_cmht"])
    future = (db_now + datetime.timedelta(minutes=10)).isoformat()
    early = (db_now - datetime.timedelta(days=2)).isoformat()
    soon = (db_now + datetime.timedelta(minutes=2)).isoformat()
    cases = [
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": 721}, "duration_minutes"),
        ({"duration_minutes": None}, "duration_minutes"),
        ({"mode": "letter"}, "mode"),
        ({"mode": None}, "mode"),
        ({"attended": None}, "attended"),
        ({"attended": "yes"}, "attended"),
        ({"at": future}, "at"),
        ({"at": early}, "at"),
        ({"at": "2025-13-01T10:00"}, "at"),
        ({"at": "yesterday"}, "at"),
        ({"note": "x" * 2001}, "note"),
        ({"staff_id": moor["id"]}, "staff_id"),
        ({"episode_id": 999999999}, "episode_id"),
    ]
    for over, field in cases:
        body = {"duration_minutes": 30, "mode": "phone", "attended": True}
        body.update(over)
        body = {k: v for k, v in body.items() if v is not None}
        r = c.post(contacts_url(su), json=body)
        assert r.status_code == 422, (over, describe(r))
        assert field in json_of(r)["errors"], (over, json_of(r))
    assert contact_rows(db, su) == []
    # A clock a little ahead is tolerated (up to five minutes).
    r = record(c, su, at=soon)
    assert r.status_code == 201, describe(r)


def test_no_open_episode_is_409(case, db):
    made = case()
    c, su = made["c"], made["person"]["id"]
    r = c.post(f"/api/v1/episodes/{made['episode']['id']}/close",
               json={"end_reason": "moved_away", "version": made["episode"]["version"],
                     "end_detail": unique_reason("Moved")})
    assert r.status_code == 200, describe(r)
    r = record(c, su)
    assert r.status_code == 409, describe(r)
    assert json_of(r)["error"] == "This person has no open episode in your teams"
    assert contact_rows(db, su) == []


def test_other_site_404_and_other_team_403(case, staff, make_team_staff, teams,
                                           signin, db, audit):
    made = case()
    su = made["person"]["id"]
    record(made["c"], su)
    before = contact_rows(db, su)
    attempts = [("POST", contacts_url(su), {"duration_minutes": 5,
                                             "mode": "phone", "attended": True},
                 su),
                ("GET", contacts_url(su), None, su)]
    assert_denied(audit, staff("coord.south"), 404, attempts)
    moor = make_team_staff("contactmoor2", "coordinator",
                           teams["north_moorland_cmht"])
    mc = signin(moor["username"], moor["password"])
    assert_denied(audit, mc, 403, attempts, service_user_id=su)
    mc.delete("/api/v1/session")
    assert contact_rows(db, su) == before


def test_list_newest_first_and_audited(case, db, db_now, audit):
    made = case()
    backdate_episode(db, made["episode"], 1)
    c, su = made["c"], made["person"]["id"]
    old = (db_now - datetime.timedelta(hours=2)).isoformat()
    a = json_of(record(c, su, at=old, note="Earlier"))["contact"]
    b = json_of(record(c, su, note="Later"))["contact"]
    mark = audit.mark()
    r = c.get(contacts_url(su))
    assert r.status_code == 200, describe(r)
    body = json_of(r)
    assert [x["id"] for x in body["contacts"]] == [b["id"], a["id"]]
    assert body["followups"] == []
    rows = audit.since(mark, action="read", entity_type="contact")
    assert len(rows) == 1 and rows[0]["service_user_id"] == su, rows
    r = c.get(contacts_url(su, api=False), headers=HTML)
    text = html_text(r)
    assert text.index("Later") < text.index("Earlier")
