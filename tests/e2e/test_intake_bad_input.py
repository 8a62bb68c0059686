"""Bad referral input is refused precisely and stores nothing: 422 naming
each failing field, 400 for malformed JSON, 415 for a body that is neither
JSON nor a form; decisions and episode changes validate their fields too."""

import datetime
import json

import pytest

from cpa_e2e import (HTML, describe, is_html, json_of, new_idempotency_key,
                     referral_body, unique_reason)


def post(c, body, **kw):
    return c.post("/api/v1/referrals", json=body,
                  headers={"Idempotency-Key": new_idempotency_key()}, **kw)


def nothing_stored(db, body):
    people = db.scalar("SELECT count(*) FROM service_user WHERE family_name = %s",
                       (body.get("family_name") or "",))
    refs = db.scalar("SELECT count(*) FROM referral WHERE reason = %s",
                     (body.get("reason") or "",))
    assert (people, refs) == (0, 0), "a refused referral left rows behind"


TOMORROW = (datetime.date.today() + datetime.timedelta(days=2)).isoformat()

CASES = (
    # (id, field expected in errors, change to a valid body: None removes)
    ("no-team", "team_id", {"team_id": None}),
    ("no-source", "source", {"source": None}),
    ("no-urgency", "urgency", {"urgency": None}),
    ("no-reason", "reason", {"reason": None}),
    ("unknown-source", "source", {"source": "carrier_pigeon"}),
    ("unknown-urgency", "urgency", {"urgency": "whenever"}),
    ("team-not-a-number", "team_id", {"team_id": "Riverside"}),
    ("unknown-team", "team_id", {"team_id": 2 ** 62}),
    ("no-given-name", "given_name", {"given_name": None}),
    ("no-family-name", "family_name", {"family_name": None}),
    ("long-family-name", "family_name", {"family_name": "F" * 101}),
    ("no-date-of-birth", "date_of_birth", {"date_of_birth": None}),
    ("future-date-of-birth", "date_of_birth", {"date_of_birth": TOMORROW}),
    ("impossible-date", "date_of_birth", {"date_of_birth": "1980-02-30"}),
    ("date-not-iso", "date_of_birth", {"date_of_birth": "12/03/1980"}),
    ("unknown-person", "service_user_id", {"service_user_id": 2 ** 62}),
)


@pytest.mark.parametrize("field,change", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_invalid_field_422(field, change, staff, teams, db):
    c = staff("coord.north")
    body = referral_body(teams["north_riverside_cmht"]["id"])
    for k, v in change.items():
        if v is None:
            body.pop(k)
        else:
            body[k] = v
    if "service_user_id" in change:
        for k in ("given_name", "family_name", "date_of_birth", "nhs_number"):
            body.pop(k)
    r = post(c, body)
    assert r.status_code in ((422, 404) if field == "service_user_id"
                             else (422,)), describe(r)
    got = json_of(r)
    assert isinstance(got["error"], str) and got["error"]
    if r.status_code == 422:
        assert field in got["errors"], got
        assert isinstance(got["errors"][field], str) and got["errors"][field]
    body.setdefault("family_name", "")
    nothing_stored(db, body)


def test_every_failing_field_at_once(staff, db):
    c = staff("coord.north")
    body = {"given_name": "", "family_name": "", "date_of_birth": TOMORROW,
            "nhs_number": "12", "source": "fax", "urgency": "",
            "reason": unique_reason()}
    r = post(c, body)
    assert r.status_code == 422, describe(r)
    errors = json_of(r)["errors"]
    for field in ("given_name", "family_name", "date_of_birth", "nhs_number",
                  "team_id", "source", "urgency"):
        assert field in errors, (field, errors)
    nothing_stored(db, body)


def test_team_of_another_site(staff, teams, db):
    c = staff("coord.north")
    body = referral_body(teams["south_harbour_cmht"]["id"])
    r = post(c, body)
    assert r.status_code in (422, 404), describe(r)
    if r.status_code == 422:
        assert "team_id" in json_of(r)["errors"]
    assert "Harbour" not in r.text
    nothing_stored(db, body)


@pytest.mark.parametrize("raw", (
    b'{"team_id": 1, "source": "gp",',
    b'{"team_id": 1 "source": "gp"}',
    b'["team_id", 1]',
    b'',
    b'{"reason": "\xff\xfe"}',
))
def test_malformed_json_400(raw, staff, db):
    c = staff("coord.north")
    r = c.post("/api/v1/referrals", data=raw,
               headers={"Content-Type": "application/json",
                        "Idempotency-Key": new_idempotency_key()})
    assert r.status_code == 400, describe(r)
    assert isinstance(json_of(r)["error"], str)


@pytest.mark.parametrize("ctype", ("text/plain", "application/xml"))
def test_wrong_content_type_415(ctype, staff, teams, db):
    c = staff("coord.north")
    body = referral_body(teams["north_riverside_cmht"]["id"])
    r = c.post("/api/v1/referrals", data=json.dumps(body).encode(),
               headers={"Content-Type": ctype,
                        "Idempotency-Key": new_idempotency_key()})
    assert r.status_code == 415, describe(r)
    nothing_stored(db, body)


def test_decision_fields(staff, teams, refer, db):
    c = staff("coord.north")
    ref = refer(c, teams["north_riverside_cmht"]["id"])["referral"]
    url = f"/api/v1/referrals/{ref['id']}/decision"
    me = c.user["id"]
    cases = (
        ({"reason": "x"}, "decision"),
        ({"decision": "maybe", "reason": "x"}, "decision"),
        ({"decision": "decline"}, "reason"),
        ({"decision": "signpost", "reason": "x"}, "signposted_to"),
        ({"decision": "accept", "reason": "x", "coordinator_id": me}, "level"),
        ({"decision": "accept", "reason": "x", "level": "platinum",
          "coordinator_id": me}, "level"),
        # complex is a south level; north uses standard/enhanced/non_cpa.
        ({"decision": "accept", "reason": "x", "level": "complex",
          "coordinator_id": me}, "level"),
        ({"decision": "accept", "reason": "x", "level": "standard"},
         "coordinator_id"),
        # tm.north manages the team but is not a coordinator.
        ({"decision": "accept", "reason": "x", "level": "standard",
          "coordinator_id": staff("tm.north").user["id"]}, "coordinator_id"),
        # coord.south coordinates at the other site.
        ({"decision": "accept", "reason": "x", "level": "standard",
          "coordinator_id": staff("coord.south").user["id"]}, "coordinator_id"),
    )
    for body, field in cases:
        r = c.post(url, json=body)
        assert r.status_code == 422, (body, describe(r))
        assert field in json_of(r)["errors"], (body, json_of(r))
    row = db.one("SELECT status, episode_id FROM referral WHERE id = %s",
                 (ref["id"],))
    assert row == {"status": "awaiting_triage", "episode_id": None}


def test_episode_change_fields(staff, teams, refer, accept, db):
    c = staff("coord.north")
    ref = refer(c, teams["north_riverside_cmht"]["id"])["referral"]
    ep = accept(c, ref["id"], c.user["id"])
    v = ep["version"]
    base = f"/api/v1/episodes/{ep['id']}"
    cases = (
        ("level", {"level": "complex", "reason": "x", "version": v}, "level"),
        ("level", {"level": "enhanced", "version": v}, "reason"),
        ("level", {"level": "enhanced", "reason": "x"}, "version"),
        ("coordinator", {"coordinator_id": staff("dm.north").user["id"],
                         "reason": "x", "version": v}, "coordinator_id"),
        ("close", {"end_reason": "transferred", "version": v}, "end_reason"),
        ("close", {"end_reason": "bored", "version": v}, "end_reason"),
        ("transfer", {"reason": "x"}, "to_team_id"),
        ("transfer", {"to_team_id": 2 ** 62, "reason": "x"}, "to_team_id"),
        ("transfer", {"to_team_id": teams["south_harbour_cmht"]["id"]},
         "reason"),
    )
    for action, body, field in cases:
        r = c.post(f"{base}/{action}", json=body)
        assert r.status_code == 422, (action, body, describe(r))
        assert field in json_of(r)["errors"], (action, body, json_of(r))
    row = db.one("SELECT level, coordinator_id, ended_at, version FROM episode "
                 "WHERE id = %s", (ep["id"],))
    assert row == {"level": "standard", "coordinator_id": c.user["id"],
                   "ended_at": None, "version": v}
    assert db.scalar("SELECT count(*) FROM episode_transfer WHERE episode_id = %s",
                     (ep["id"],)) == 0


def test_person_edit_fields(staff, teams, refer, db):
    c = staff("coord.north")
    su = refer(c, teams["north_riverside_cmht"]["id"])["service_user"]
    url = f"/api/v1/service-users/{su['id']}"
    for body, field in (({"given_name": "", "version": su["version"]}, "given_name"),
                        ({"date_of_birth": TOMORROW, "version": su["version"]},
                         "date_of_birth"),
                        ({"phone": "0113 496 0000"}, "version"),
                        ({"interpreter_needed": "perhaps",
                          "version": su["version"]}, "interpreter_needed")):
        r = c.put(url, json=body)
        assert r.status_code == 422, (body, describe(r))
        assert field in json_of(r)["errors"], (body, json_of(r))
    assert db.scalar("SELECT version FROM service_user WHERE id = %s",
                     (su["id"],)) == su["version"]


@pytest.mark.parametrize("query,field", (("?status=lost", "status"),
                                         ("?team_id=Riverside", "team_id")))
def test_bad_queue_filter_422(query, field, staff):
    c = staff("coord.north")
    r = c.get("/api/v1/referrals" + query)
    assert r.status_code == 422, describe(r)
    assert field in json_of(r)["errors"]
    # A browser gets a page, not JSON.
    r = c.get("/referrals" + query, headers=HTML)
    assert r.status_code == 422, describe(r)
    assert is_html(r), describe(r)
