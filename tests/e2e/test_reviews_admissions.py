"""Inpatient admissions and the 72-hour follow-up (cpa-reviews): a
discharge, recorded on the page, through the API or posted by a ward
system (found by NHS number, matched again by its own reference, so a
repeated post updates rather than duplicates), creates the follow-up due
72 hours later and brings the CPA review forward (005's triggers); an
attended contact after the discharge meets the follow-up, a did-not-attend
one does not; conflicts (an open admission, discharging twice) are 409 and
bad times 422; the follow-up lists show what is open with overdue flags to
the coordinator and the team manager; other sites get 404 and other teams
403, both audited; changes and reads are audited."""

import datetime

import pytest

from cpa_e2e import (HTML, assert_denied, backdate_episode, bad_checksum,
                     describe, form_of, html_text, is_html, json_of,
                     new_idempotency_key, new_nhs_number, parse_ts)

HOURS_72 = datetime.timedelta(hours=72)


pytestmark = pytest.mark.usefixtures("reviews_up")


@pytest.fixture
def case(case, db):
    """conftest's case, the episode started ten days ago so that admissions
    and contacts can be dated in the past."""
    def make(*args, **kw):
        made = case(*args, **kw)
        backdate_episode(db, made["episode"], 10)
        return made
    return make


def ago(now, **kw):
    return (now - datetime.timedelta(**kw)).isoformat()


def admit(c, su, **body):
    return c.post(f"/api/v1/service-users/{su}/admissions", json=body)


def discharge(c, aid, **body):
    return c.post(f"/api/v1/admissions/{aid}/discharge", json=body)


def contact(c, su, **over):
    body = {"duration_minutes": 20, "mode": "home_visit", "attended": True}
    body.update(over)
    return c.post(f"/api/v1/service-users/{su}/contacts", json=body)


def followups_of(db, su):
    return db.all("SELECT id, admission_id, status, due_at, discharged_at, "
                  "met_by_contact_id FROM followup WHERE service_user_id = %s "
                  "ORDER BY id", (su,))


def test_discharge_creates_followup_and_brings_review_forward(case, db, db_now,
                                                              audit):
    made = case("standard")
    c, su = made["c"], made["person"]["id"]
    mark = audit.mark()
    r = admit(c, su, admitted_at=ago(db_now, days=5), hospital="Moor Hospital",
              ward="Ward 3")
    assert r.status_code == 201, describe(r)
    body = json_of(r)
    adm = body["admission"]
    assert body["followup"] is None and adm["followup"] is None
    assert adm["source"] == "page" and adm["discharged_at"] is None
    assert adm["hospital"] == "Moor Hospital" and adm["ward"] == "Ward 3"
    assert adm["recorded_by"] == c.user["id"]
    assert r.headers["Location"].endswith(f"/service-users/{su}/admissions")
    rows = audit.since(mark, action="admission_recorded")
    assert len(rows) == 1 and rows[0]["entity_id"] == str(adm["id"]), rows
    assert rows[0]["service_user_id"] == su

    due_before = json_of(c.get(f"/api/v1/service-users/{su}/reviews"))["due"]
    assert due_before["due_reason"] == "first"
    discharged = (db_now - datetime.timedelta(hours=2)).replace(microsecond=0)
    mark = audit.mark()
    r = discharge(c, adm["id"], discharged_at=discharged.isoformat(),
                  discharge_destination="Home")
    assert r.status_code == 200, describe(r)
    body = json_of(r)
    assert parse_ts(body["admission"]["discharged_at"]) == discharged
    assert body["admission"]["discharge_destination"] == "Home"
    fu = body["followup"]
    assert fu["id"] and fu["status"] == "open"
    assert parse_ts(fu["due_at"]) == discharged + HOURS_72
    assert fu["overdue"] is False and fu["hours_left"] in (69, 70)
    assert body["admission"]["followup"]["id"] == fu["id"]
    rows = audit.since(mark, action="admission_discharged")
    assert len(rows) == 1 and rows[0]["entity_id"] == str(adm["id"]), rows
    due = json_of(c.get(f"/api/v1/service-users/{su}/reviews"))["due"]
    assert due["id"] == due_before["id"] and due["due_reason"] == "discharge"
    assert due["due_date"] < due_before["due_date"]

    r = discharge(c, adm["id"], discharged_at=discharged.isoformat())
    assert r.status_code == 409, describe(r)
    assert len(followups_of(db, su)) == 1


def test_attended_contact_meets_followup_dna_does_not(case, db, db_now):
    made = case()
    c, su = made["c"], made["person"]["id"]
    r = admit(c, su, admitted_at=ago(db_now, days=4),
              discharged_at=ago(db_now, hours=30))
    assert r.status_code == 201, describe(r)
    fu = json_of(r)["followup"]
    assert fu["status"] == "open"
    # A contact before the discharge, and one not attended, leave it open.
    r = contact(c, su, at=ago(db_now, hours=40))
    assert r.status_code == 201 and json_of(r)["followup_met"] is False
    r = contact(c, su, at=ago(db_now, hours=20), attended=False)
    assert r.status_code == 201 and json_of(r)["followup_met"] is False
    assert followups_of(db, su)[0]["status"] == "open"
    r = contact(c, su, at=ago(db_now, hours=10))
    assert r.status_code == 201, describe(r)
    assert json_of(r)["followup_met"] is True
    met = json_of(r)["contact"]
    rows = followups_of(db, su)
    assert rows[0]["status"] == "met" and rows[0]["met_by_contact_id"] == met["id"]
    listed = json_of(c.get(f"/api/v1/service-users/{su}/admissions"))
    assert listed["followups"][0]["status"] == "met"
    assert listed["admissions"][0]["followup"]["met_by_contact_id"] == met["id"]
    assert json_of(c.get(f"/api/v1/service-users/{su}/contacts"))["followups"] == []


def test_conflicts_and_bad_times(case, db, db_now):
    made = case()
    c, su = made["c"], made["person"]["id"]
    r = admit(c, su, admitted_at=ago(db_now, days=2))
    assert r.status_code == 201, describe(r)
    aid = json_of(r)["admission"]["id"]
    r = admit(c, su, admitted_at=ago(db_now, days=1))
    assert r.status_code == 409, describe(r)
    assert "open admission" in json_of(r)["error"]
    future = (db_now + datetime.timedelta(hours=1)).isoformat()
    for body, field in [
            ({"discharged_at": ago(db_now, days=3)}, "discharged_at"),
            ({"discharged_at": future}, "discharged_at"),
            ({"discharged_at": "2025-02-29T10:00"}, "discharged_at"),
            ({}, "discharged_at"),
            ({"discharged_at": ago(db_now, hours=1),
              "discharge_destination": "x" * 201}, "discharge_destination")]:
        r = discharge(c, aid, **body)
        assert r.status_code == 422, (body, describe(r))
        assert field in json_of(r)["errors"], (body, json_of(r))
    other = case()
    for body, field in [
            ({"admitted_at": future}, "admitted_at"),
            ({}, "admitted_at"),
            ({"admitted_at": "soon"}, "admitted_at"),
            ({"admitted_at": ago(db_now, days=1), "discharged_at": ago(db_now, days=2)},
             "discharged_at"),
            ({"admitted_at": ago(db_now, days=1), "hospital": "x" * 201}, "hospital")]:
        r = admit(other["c"], other["person"]["id"], **body)
        assert r.status_code == 422, (body, describe(r))
        assert field in json_of(r)["errors"], (body, json_of(r))
    assert db.scalar("SELECT count(*) FROM admission WHERE service_user_id = %s",
                     (other["person"]["id"],)) == 0
    assert followups_of(db, su) == []


def ward_post(c, nhs, ref, **over):
    body = {"nhs_number": nhs, "external_ref": ref}
    body.update(over)
    return c.post("/api/v1/admissions", json=body)


def test_ward_system_creates_then_updates(case, db, db_now, audit):
    made = case()
    c, su = made["c"], made["person"]["id"]
    nhs = made["person"]["nhs_number"]
    ref = "PAS-" + new_idempotency_key()
    mark = audit.mark()
    r = ward_post(c, nhs, ref, admitted_at=ago(db_now, days=3), ward="Ward 7")
    assert r.status_code == 201, describe(r)
    adm = json_of(r)["admission"]
    assert adm["source"] == "ward_system" and adm["external_ref"] == ref
    assert adm["service_user_id"] == su and adm["episode_id"] == made["episode"]["id"]
    assert json_of(r)["followup"] is None
    assert audit.since(mark, action="admission_recorded", entity_id=adm["id"])

    discharged = (db_now - datetime.timedelta(hours=5)).replace(microsecond=0)
    mark = audit.mark()
    r = ward_post(c, nhs, ref, admitted_at=ago(db_now, days=3),
                  discharged_at=discharged.isoformat(), discharge_destination="Home")
    assert r.status_code == 200, describe(r)
    body = json_of(r)
    assert body["admission"]["id"] == adm["id"]
    assert parse_ts(body["admission"]["discharged_at"]) == discharged
    assert body["admission"]["ward"] == "Ward 7"
    assert parse_ts(body["followup"]["due_at"]) == discharged + HOURS_72
    assert audit.since(mark, action="admission_discharged", entity_id=adm["id"])

    # The same post again changes nothing and duplicates nothing.
    r = ward_post(c, nhs, ref, admitted_at=ago(db_now, days=3),
                  discharged_at=discharged.isoformat())
    assert r.status_code == 200, describe(r)
    assert json_of(r)["followup"]["id"] == body["followup"]["id"]
    assert db.scalar("SELECT count(*) FROM admission WHERE service_user_id = %s",
                     (su,)) == 1
    assert len(followups_of(db, su)) == 1

    # Spaces in the NHS number are fine; a new reference is a new
    # admission.
    spaced = f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"
    r = ward_post(c, spaced, ref + "-2", admitted_at=ago(db_now, hours=1))
    assert r.status_code == 201, describe(r)
    # While that one is open, another new admission is a conflict.
    r = ward_post(c, nhs, ref + "-3", admitted_at=ago(db_now, minutes=30))
    assert r.status_code == 409, describe(r)


def test_ward_system_refusals(case, staff, teams, make_team_staff, signin,
                              db_now, audit):
    c = staff("coord.north")
    at = ago(db_now, hours=3)
    mark = audit.mark()
    r = ward_post(c, new_nhs_number(), "PAS-X1", admitted_at=at)
    assert r.status_code == 404, describe(r)
    assert json_of(r)["error"] == \
        "No person with that NHS number has an open episode in your teams"
    assert audit.since(mark, action="access_denied", username="coord.north")
    # A south person is invisible to a north caller.
    south = case("complex", team="south_harbour_cmht", by="coord.south")
    r = ward_post(c, south["person"]["nhs_number"], "PAS-X2", admitted_at=at)
    assert r.status_code == 404, describe(r)
    # A Riverside person is not in a Moorland coordinator's teams.
    north = case()
    moor = make_team_staff("wardmoor", "coordinator", teams["north_moorland_cmht"])
    mc = signin(moor["username"], moor["password"])
    r = ward_post(mc, north["person"]["nhs_number"], "PAS-X3", admitted_at=at)
    assert r.status_code == 404, describe(r)
    mc.delete("/api/v1/session")
    for body, field in [
            ({"nhs_number": bad_checksum(north["person"]["nhs_number"])},
             "nhs_number"),
            ({"nhs_number": "12345"}, "nhs_number"),
            ({"external_ref": ""}, "external_ref"),
            ({"external_ref": "x" * 101}, "external_ref"),
            ({"admitted_at": None}, "admitted_at"),
            ({"admitted_at": "2025-01-01T25:00"}, "admitted_at")]:
        full = {"nhs_number": north["person"]["nhs_number"],
                "external_ref": "PAS-" + new_idempotency_key(), "admitted_at": at}
        full.update(body)
        full = {k: v for k, v in full.items() if v is not None}
        r = c.post("/api/v1/admissions", json=full)
        assert r.status_code == 422, (body, describe(r))
        assert field in json_of(r)["errors"], (body, json_of(r))
    # A reference of one person's admission cannot be reused for another.
    other = case()
    ref = "PAS-" + new_idempotency_key()
    assert ward_post(c, north["person"]["nhs_number"], ref,
                     admitted_at=at).status_code == 201
    r = ward_post(c, other["person"]["nhs_number"], ref, admitted_at=at)
    assert r.status_code == 409, describe(r)


def test_followup_lists_with_overdue(case, coord2, staff, signin, db, db_now,
                                     audit):
    mine = case()
    theirs = case(coordinator=coord2["id"])
    c = staff("coord.north")
    ids = {}
    for made in (mine, theirs):
        r = admit(c, made["person"]["id"], admitted_at=ago(db_now, days=6),
                  discharged_at=ago(db_now, days=4))
        assert r.status_code == 201, describe(r)
        ids[made["person"]["id"]] = json_of(r)["followup"]["id"]
    # Discharged four days ago: both are overdue.
    mark = audit.mark()
    r = c.get("/api/v1/followups")
    assert r.status_code == 200, describe(r)
    body = json_of(r)
    assert body["scope"] == "mine"
    listed = {f["id"]: f for f in body["followups"]}
    assert ids[mine["person"]["id"]] in listed
    assert ids[theirs["person"]["id"]] not in listed
    f = listed[ids[mine["person"]["id"]]]
    assert f["overdue"] is True and f["hours_left"] in (-25, -24)
    assert f["service_user"]["id"] == mine["person"]["id"]
    assert f["coordinator"]["id"] == c.user["id"]
    assert body["overdue_count"] >= 1
    due = [x["due_at"] for x in body["followups"]]
    assert [parse_ts(x) for x in due] == sorted(parse_ts(x) for x in due)
    assert len(audit.since(mark, action="read", entity_type="followup_list")) == 1

    mark = audit.mark()
    r = c.get("/api/v1/followups?scope=team")
    assert r.status_code == 403, describe(r)
    assert audit.since(mark, action="access_denied", username="coord.north")
    r = c.get("/api/v1/followups?scope=all")
    assert r.status_code == 422 and "scope" in json_of(r)["errors"]

    tm = staff("tm.north")
    body = json_of(tm.get("/api/v1/followups"))
    assert body["scope"] == "team"
    listed = {f["id"] for f in body["followups"]}
    assert set(ids.values()) <= listed

    # A follow-up not yet due is not overdue, and hours_left counts down.
    db.all("UPDATE followup SET due_at = now() + interval '10 hours 30 minutes' "
           "WHERE id = %s RETURNING id", (ids[mine["person"]["id"]],))
    f = {x["id"]: x for x in json_of(c.get("/api/v1/followups"))["followups"]}
    f = f[ids[mine["person"]["id"]]]
    assert f["overdue"] is False and f["hours_left"] == 10

    r = tm.get("/followups", headers=HTML)
    assert r.status_code == 200 and is_html(r), describe(r)
    assert mine["person"]["family_name"] in html_text(r)


def test_other_site_404_and_other_team_403(case, staff, make_team_staff, teams,
                                           signin, db, db_now, audit):
    made = case()
    c, su = made["c"], made["person"]["id"]
    r = admit(c, su, admitted_at=ago(db_now, days=1))
    aid = json_of(r)["admission"]["id"]
    south = staff("coord.south")
    attempts = [
        ("GET", f"/api/v1/service-users/{su}/admissions", None, su),
        ("POST", f"/api/v1/service-users/{su}/admissions",
         {"admitted_at": ago(db_now, hours=1)}, su),
        ("POST", f"/api/v1/admissions/{aid}/discharge",
         {"discharged_at": ago(db_now, hours=1)}, aid),
    ]
    assert_denied(audit, south, 404, attempts)
    moor = make_team_staff("admmoor", "coordinator", teams["north_moorland_cmht"])
    mc = signin(moor["username"], moor["password"])
    assert_denied(audit, mc, 403, [a[:3] + (None,) for a in attempts],
                  service_user_id=su)
    mc.delete("/api/v1/session")
    row = db.one("SELECT discharged_at FROM admission WHERE id = %s", (aid,))
    assert row["discharged_at"] is None
    assert db.scalar("SELECT count(*) FROM admission WHERE service_user_id = %s",
                     (su,)) == 1


def test_pages_record_admission_and_discharge(case, db, audit):
    made = case()
    c, su = made["c"], made["person"]["id"]
    page = f"/service-users/{su}/admissions"
    r = c.get(page, headers=HTML)
    assert r.status_code == 200 and is_html(r), describe(r)
    assert f'href="/service-users/{su}/reviews"' in r.text
    form = form_of(r.text, page)
    body = {n: v for n, k, v, _ in form["fields"] if k in ("hidden", "datetime-local")}
    assert body["admitted_at"] and body["csrf_token"]
    body["hospital"] = "<i>Moor</i> Hospital"
    r = c.post(page, data=body)
    assert r.status_code == 303 and r.headers["Location"] == page, describe(r)
    aid = db.scalar("SELECT id FROM admission WHERE service_user_id = %s", (su,))
    r = c.get(page, headers=HTML)
    assert "&lt;i&gt;Moor&lt;/i&gt; Hospital" in r.text
    form = form_of(r.text, f"/admissions/{aid}/discharge")
    body = {n: v for n, k, v, _ in form["fields"] if k in ("hidden", "datetime-local")}
    body["discharged_at"] = "2000-01-01T10:00"
    r = c.post(f"/admissions/{aid}/discharge", data=body)
    assert r.status_code == 422 and is_html(r), describe(r)
    assert 'href="#discharge_discharged_at"' in r.text
    assert "must not be before the admission" in html_text(r)
    form = form_of(r.text, f"/admissions/{aid}/discharge")
    body = {n: v for n, k, v, _ in form["fields"] if k == "hidden"}
    body["discharged_at"] = db.scalar(
        "SELECT to_char(now(), 'YYYY-MM-DD\"T\"HH24:MI')")
    r = c.post(f"/admissions/{aid}/discharge", data=body)
    assert r.status_code == 303 and r.headers["Location"] == page, describe(r)
    assert len(followups_of(db, su)) == 1
    r = c.get(page, headers=HTML)
    assert "hours left" in html_text(r)
    mark = audit.mark()
    r = c.get(f"/api/v1/service-users/{su}/admissions")
    assert r.status_code == 200, describe(r)
    assert len(json_of(r)["admissions"]) == 1
    rows = audit.since(mark, action="read", entity_type="admission")
    assert len(rows) == 1 and rows[0]["service_user_id"] == su, rows
