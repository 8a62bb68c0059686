"""Every legal transition of a risk assessment: a low-risk standard case
goes draft -> saved -> approved with no manager; a high-risk case waits in
submitted until a manager of the team approves it; a returned one is
edited and submitted again.  Approval supersedes the person's previous
approved assessment and sets the review date by the site's policy."""

import pytest

from cpa_e2e import (RISK_ASSESSMENT_KEYS, RISK_DOMAINS, describe, json_of,
                     risk_act, risk_content, risk_get, risk_ok, risk_save,
                     risk_start)

pytestmark = pytest.mark.usefixtures("risk_up")


def review_due(db, interval):
    return db.scalar("SELECT (current_date + %s::interval)::date::text",
                     (interval,))


def test_low_risk_standard_is_approved_on_submit(staff, risk_case, db):
    case = risk_case("standard")
    c = staff("coord.north")
    su = case["person"]
    a = risk_start(c, su["id"])
    assert set(a) >= RISK_ASSESSMENT_KEYS, sorted(RISK_ASSESSMENT_KEYS - set(a))
    assert a["episode_id"] == case["episode"]["id"]
    assert a["service_user_id"] == su["id"]
    assert a["author_id"] == c.user["id"]

    # Save as you go: part now, the rest later.
    r = risk_save(c, a, {"overall_level": "low",
                         "domains": {"suicide_self_harm": {"level": "low"}}})
    part = risk_ok(r, "draft")
    assert part["version"] > a["version"]
    assert part["overall_level"] == "low"
    assert part["domains"]["suicide_self_harm"]["level"] == "low"

    full = risk_ok(risk_save(c, part, risk_content("low", "low")), "draft")
    for d in RISK_DOMAINS:
        assert full["domains"][d]["level"] == "low", full["domains"]
    assert full["warning_signs"] == risk_content()["warning_signs"]
    assert full["discussed_with_carer"] is False

    done = risk_ok(risk_act(c, full, "submit"), "approved")
    assert done["needs_manager_approval"] is False
    assert done["decided_by"] is None
    assert done["approved_at"]
    assert done["next_review_due"][:10] == review_due(db, "6 months")
    row = db.one("SELECT status, decided_by, next_review_due::text AS due "
                 "FROM risk_assessment WHERE id = %s", (a["id"],))
    assert row == {"status": "approved", "decided_by": None,
                   "due": review_due(db, "6 months")}
    kinds = [e["kind"] for e in risk_get(c, a["id"])["events"]]
    assert kinds[0] == "created" and "saved" in kinds, kinds
    assert "approved" in kinds or "submitted" in kinds, kinds

    r = c.get(f"/api/v1/service-users/{su['id']}/risk-assessments")
    assert r.status_code == 200, describe(r)
    body = json_of(r)
    assert body["current"]["id"] == a["id"]
    assert body["in_progress"] is None
    assert [h["id"] for h in body["history"]] == [a["id"]]


def test_high_risk_waits_for_the_team_manager(staff, risk_case, db):
    case = risk_case("standard")
    c = staff("coord.north")
    a = risk_start(c, case["person"]["id"])
    a = risk_ok(risk_save(c, a, risk_content("medium", "low",
                                             high=("harm_to_others",))),
                "draft")
    sub = risk_ok(risk_act(c, a, "submit"), "submitted")
    assert sub["needs_manager_approval"] is True
    assert sub["submitted_at"] and sub["approved_at"] is None

    r = c.get(f"/api/v1/service-users/{case['person']['id']}/risk-assessments")
    assert json_of(r)["in_progress"]["id"] == a["id"], describe(r)
    assert json_of(r)["current"] is None

    tm = staff("tm.north")
    done = risk_ok(risk_act(tm, sub, "approve", comments="Plan agreed"),
                   "approved")
    assert done["decided_by"] == tm.user["id"]
    assert done["decided_by_name"] == tm.user["display_name"]
    assert done["next_review_due"][:10] == review_due(db, "1 month")
    assert db.scalar("SELECT status FROM risk_assessment WHERE id = %s",
                     (a["id"],)) == "approved"


def test_returned_then_resubmitted_and_approved(staff, risk_case, db):
    case = risk_case("standard")
    c = staff("coord.north")
    tm = staff("tm.north")
    a = risk_start(c, case["person"]["id"])
    a = risk_ok(risk_save(c, a, risk_content("high", "medium")), "draft")
    sub = risk_ok(risk_act(c, a, "submit"), "submitted")

    comments = "Please say more about the means restriction."
    ret = risk_ok(risk_act(tm, sub, "return", comments=comments), "returned")
    assert ret["return_comments"] == comments
    assert db.one("SELECT status, return_comments FROM risk_assessment "
                  "WHERE id = %s", (a["id"],)) == \
        {"status": "returned", "return_comments": comments}

    fresh = risk_get(c, a["id"])
    assert fresh["status"] == "returned"
    edited = risk_ok(risk_save(c, fresh, {"means_restriction":
                                          "Medication dispensed weekly"}),
                     "returned")
    assert edited["means_restriction"] == "Medication dispensed weekly"
    again = risk_ok(risk_act(c, edited, "submit"), "submitted")
    done = risk_ok(risk_act(tm, again, "approve"), "approved")
    assert done["next_review_due"][:10] == review_due(db, "1 month")
    kinds = [e["kind"] for e in done["events"]]
    for k in ("created", "saved", "submitted", "returned", "approved"):
        assert k in kinds, kinds
    assert kinds.count("submitted") == 2, kinds


def test_enhanced_review_is_three_months(staff, risk_case, db):
    case = risk_case("enhanced")
    c = staff("coord.north")
    a = risk_start(c, case["person"]["id"])
    a = risk_ok(risk_save(c, a, risk_content("low", "low")), "draft")
    sub = risk_ok(risk_act(c, a, "submit"), "submitted")
    done = risk_ok(risk_act(staff("dm.north"), sub, "approve"), "approved")
    assert done["next_review_due"][:10] == review_due(db, "3 months")


def test_approval_supersedes_the_previous_one(staff, risk_case, db):
    case = risk_case("standard")
    su = case["person"]["id"]
    c = staff("coord.north")
    tm = staff("tm.north")

    first = risk_start(c, su)
    first = risk_ok(risk_save(c, first, risk_content("low", "low")), "draft")
    first = risk_ok(risk_act(c, first, "submit"), "approved")

    second = risk_start(c, su)
    second = risk_ok(risk_save(c, second, risk_content("high", "high")),
                     "draft")
    second = risk_ok(risk_act(c, second, "submit"), "submitted")
    # Until the second is approved the first stays current.
    assert db.scalar("SELECT status FROM risk_assessment WHERE id = %s",
                     (first["id"],)) == "approved"
    second = risk_ok(risk_act(tm, second, "approve"), "approved")

    rows = {r["id"]: r for r in db.all(
        "SELECT id, status, superseded_at IS NOT NULL AS gone, supersedes_id "
        "FROM risk_assessment WHERE service_user_id = %s", (su,))}
    assert rows[first["id"]]["status"] == "superseded"
    assert rows[first["id"]]["gone"] is True
    assert rows[second["id"]]["status"] == "approved"
    assert rows[second["id"]]["gone"] is False

    r = c.get(f"/api/v1/service-users/{su}/risk-assessments")
    assert r.status_code == 200, describe(r)
    body = json_of(r)
    assert body["current"]["id"] == second["id"]
    history = {h["id"]: h["status"] for h in body["history"]}
    assert history.get(first["id"]) == "superseded", body["history"]

    # An approval without a manager supersedes too.
    third = risk_start(c, su)
    third = risk_ok(risk_save(c, third, risk_content("low", "low")), "draft")
    third = risk_ok(risk_act(c, third, "submit"), "approved")
    assert db.all("SELECT id FROM risk_assessment WHERE service_user_id = %s "
                  "AND status = 'approved'", (su,)) == [{"id": third["id"]}]
    assert db.scalar("SELECT status FROM risk_assessment WHERE id = %s",
                     (second["id"],)) == "superseded"
