"""Risk assessments are kept within sites and teams: coord.south naming
north's assessment or person gets 404 for every endpoint (as if absent,
nothing changed) with an access_denied audit row; a coordinator of north's
Moorland team gets 403 writing a Riverside person's assessment, audited."""

import pytest

from cpa_e2e import (describe, json_of, risk_act, risk_content, risk_ok,
                     risk_queue_of, risk_save, risk_start)

pytestmark = pytest.mark.usefixtures("risk_up")


def state(db, su):
    return db.all("SELECT id, status, version, overall_level, warning_signs, "
                  "decided_by FROM risk_assessment WHERE service_user_id = %s "
                  "ORDER BY id", (su,))


@pytest.fixture
def north(staff, risk_case):
    """A north person with one approved and one submitted assessment."""
    c = staff("coord.north")
    case = risk_case()
    su = case["person"]["id"]
    done = risk_start(c, su)
    done = risk_ok(risk_save(c, done, risk_content("low", "low")), "draft")
    done = risk_ok(risk_act(c, done, "submit"), "approved")
    sub = risk_start(c, su)
    sub = risk_ok(risk_save(c, sub, risk_content("high", "high")), "draft")
    sub = risk_ok(risk_act(c, sub, "submit"), "submitted")
    return {"person": su, "episode": case["episode"]["id"],
            "approved": done, "submitted": sub}


def test_south_gets_404_for_north(staff, north, db, audit):
    south = staff("coord.south")
    su = north["person"]
    sub, done = north["submitted"], north["approved"]
    before = state(db, su)
    requests_ = [
        ("GET", f"/api/v1/risk-assessments/{sub['id']}", None, sub["id"]),
        ("GET", f"/api/v1/risk-assessments/{done['id']}", None, done["id"]),
        ("PUT", f"/api/v1/risk-assessments/{sub['id']}",
         {"version": sub["version"], "warning_signs": "South was here"},
         sub["id"]),
        ("POST", f"/api/v1/risk-assessments/{sub['id']}/submit",
         {"version": sub["version"]}, sub["id"]),
        ("POST", f"/api/v1/risk-assessments/{sub['id']}/approve", {},
         sub["id"]),
        ("POST", f"/api/v1/risk-assessments/{sub['id']}/return",
         {"comments": "South"}, sub["id"]),
        ("GET", f"/api/v1/service-users/{su}/risk-assessments", None, su),
        ("POST", f"/api/v1/service-users/{su}/risk-assessments",
         {"episode_id": north["episode"]}, su),
    ]
    for method, path, body, entity in requests_:
        mark = audit.mark()
        r = south.request(method, path, json=body)
        assert r.status_code == 404, (method, path, describe(r))
        text = r.text
        assert "South was here" not in text
        rows = audit.since(mark, action="access_denied",
                           username="coord.south")
        assert rows, f"{method} {path}: no access_denied audit row"
        assert str(entity) in {str(row["entity_id"]) for row in rows}, \
            (method, path, rows)
    assert state(db, su) == before

    # South's own manager queue and views never show north's assessment.
    r = south.get("/api/v1/service-users/%d/risk-assessments" % su)
    assert r.status_code == 404, describe(r)


def test_south_queue_lacks_north(staff, north, make_team_staff, teams,
                                 signin):
    mgr = make_team_staff("southtm", "team_manager",
                          teams["south_harbour_cmht"])
    c = signin(mgr["username"], mgr["password"])
    r = c.get("/api/v1/risk-assessments")
    assert r.status_code == 200, describe(r)
    ids = {a["id"] for a in risk_queue_of(json_of(r))}
    assert north["submitted"]["id"] not in ids
    c.delete("/api/v1/session")


def test_other_team_gets_403(staff, north, risk_case, make_team_staff, teams,
                             signin, db, audit):
    moor = make_team_staff("moorrisk", "coordinator",
                           teams["north_moorland_cmht"])
    c = signin(moor["username"], moor["password"])
    su = north["person"]

    # A Riverside person with a draft, and one with no assessment yet:
    # Moorland may write to neither.
    case = risk_case()
    fresh = risk_case()
    rc = staff("coord.north")
    draft = risk_start(rc, case["person"]["id"])
    before = (state(db, su), state(db, case["person"]["id"]))

    attempts = [
        ("POST", f"/api/v1/service-users/{fresh['person']['id']}"
         "/risk-assessments", {"episode_id": fresh["episode"]["id"]}),
        ("PUT", f"/api/v1/risk-assessments/{draft['id']}",
         {"version": draft["version"], "warning_signs": "Moorland"}),
        ("POST", f"/api/v1/risk-assessments/{draft['id']}/submit",
         {"version": draft["version"]}),
        ("POST", f"/api/v1/risk-assessments/{north['submitted']['id']}/approve",
         {}),
        ("POST", f"/api/v1/risk-assessments/{north['submitted']['id']}/return",
         {"comments": "Moorland"}),
    ]
    for method, path, body in attempts:
        mark = audit.mark()
        r = c.request(method, path, json=body)
        assert r.status_code == 403, (method, path, describe(r))
        if method in ("POST", "PUT") and "approve" not in path \
                and "return" not in path:
            rows = audit.since(mark, action="access_denied",
                               username=moor["username"])
            assert rows, f"{method} {path}: no access_denied audit row"
    assert (state(db, su), state(db, case["person"]["id"])) == before
    assert state(db, fresh["person"]["id"]) == []
    c.delete("/api/v1/session")
