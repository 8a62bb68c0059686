"""Who may approve or return: a manager covering the episode's team who is
not the author.  An author who is a manager may approve or return neither
their own; a coordinator or practitioner may approve nothing; an enhanced
episode needs a manager even when every rating is low."""

import pytest

from cpa_e2e import (describe, json_of, risk_act, risk_content, risk_ok,
                     risk_save, risk_start)

pytestmark = pytest.mark.usefixtures("risk_up")


def status(db, aid):
    return db.one("SELECT status, decided_by, return_comments, approved_at "
                  "FROM risk_assessment WHERE id = %s", (aid,))


def test_author_cannot_approve_or_return_own(staff, risk_case, db):
    tm = staff("tm.north")
    case = risk_case()
    a = risk_start(tm, case["person"]["id"])
    assert a["author_id"] == tm.user["id"]
    a = risk_ok(risk_save(tm, a, risk_content("high", "medium")), "draft")
    a = risk_ok(risk_act(tm, a, "submit"), "submitted")
    before = status(db, a["id"])

    r = risk_act(tm, a, "approve")
    assert r.status_code == 403, describe(r)
    assert json_of(r)["error"] == "You cannot approve your own assessment"
    assert status(db, a["id"]) == before
    r = risk_act(tm, a, "return", comments="Returning my own")
    assert r.status_code == 403, describe(r)
    assert status(db, a["id"]) == before

    # The district manager, who covers the team, may.
    dm = staff("dm.north")
    done = risk_ok(risk_act(dm, a, "approve"), "approved")
    assert done["decided_by"] == dm.user["id"]


def test_clinicians_who_are_not_managers_cannot_decide(staff, risk_case,
                                                       coord2, signin, db):
    c = staff("coord.north")
    a = risk_start(c, risk_case()["person"]["id"])
    a = risk_ok(risk_save(c, a, risk_content("high", "high")), "draft")
    a = risk_ok(risk_act(c, a, "submit"), "submitted")
    before = status(db, a["id"])
    other = signin(coord2["username"], coord2["password"])
    for who in (c, other, staff("prac.north")):
        for action, body in (("approve", {}), ("return", {"comments": "No"})):
            r = risk_act(who, a, action, **body)
            assert r.status_code == 403, (who.user["username"], describe(r))
            assert status(db, a["id"]) == before
    other.delete("/api/v1/session")
    risk_ok(risk_act(staff("tm.north"), a, "approve"), "approved")


def test_enhanced_episode_needs_a_manager_even_when_low(staff, risk_case, db):
    c = staff("coord.north")
    a = risk_start(c, risk_case("enhanced")["person"]["id"])
    a = risk_ok(risk_save(c, a, risk_content("low", "none")), "draft")
    sub = risk_ok(risk_act(c, a, "submit"), "submitted")
    assert sub["needs_manager_approval"] is True
    row = db.one("SELECT status, needs_manager_approval, approved_at "
                 "FROM risk_assessment WHERE id = %s", (a["id"],))
    assert row == {"status": "submitted", "needs_manager_approval": True,
                   "approved_at": None}


def test_standard_high_domain_needs_a_manager(staff, risk_case, db):
    c = staff("coord.north")
    a = risk_start(c, risk_case("standard")["person"]["id"])
    a = risk_ok(risk_save(c, a, risk_content("low", "low",
                                             high=("self_neglect",))),
                "draft")
    sub = risk_ok(risk_act(c, a, "submit"), "submitted")
    assert sub["needs_manager_approval"] is True
