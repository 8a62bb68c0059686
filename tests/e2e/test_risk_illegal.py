"""Illegal transitions are 409 naming the state the assessment is in, and
change nothing: submitting a submitted or approved one, approving or
returning a draft, returned or approved one, saving a submitted or approved
one; a second assessment in progress for the same person; a stale save."""

import pytest

from cpa_e2e import (describe, json_of, risk_act, risk_content, risk_ok,
                     risk_save, risk_start)

pytestmark = pytest.mark.usefixtures("risk_up")


def snapshot(db, aid):
    return db.one("SELECT status, version, overall_level, warning_signs, "
                  "decided_by, return_comments, approved_at "
                  "FROM risk_assessment WHERE id = %s", (aid,))


def refused(db, r, aid, before, words):
    assert r.status_code == 409, describe(r)
    message = json_of(r)["error"]
    assert all(w in message for w in words), (words, message)
    assert snapshot(db, aid) == before


def test_illegal_transitions_409(staff, risk_case, db):
    c = staff("coord.north")
    tm = staff("tm.north")

    # A draft may be neither approved nor returned.
    draft = risk_start(c, risk_case()["person"]["id"])
    draft = risk_ok(risk_save(c, draft, risk_content("high", "high")), "draft")
    before = snapshot(db, draft["id"])
    refused(db, risk_act(tm, draft, "approve"), draft["id"], before,
            ("Cannot approve", "draft"))
    refused(db, risk_act(tm, draft, "return", comments="No"), draft["id"],
            before, ("draft",))

    # A submitted one may be neither submitted again nor saved.
    sub = risk_ok(risk_act(c, draft, "submit"), "submitted")
    before = snapshot(db, sub["id"])
    refused(db, risk_act(c, sub, "submit"), sub["id"], before,
            ("Cannot submit", "submitted"))
    refused(db, risk_save(c, sub, {"warning_signs": "Changed after submit"}),
            sub["id"], before, ("submitted",))

    # A returned one may be neither approved nor returned again.
    ret = risk_ok(risk_act(tm, sub, "return", comments="More detail"),
                  "returned")
    before = snapshot(db, ret["id"])
    refused(db, risk_act(tm, ret, "approve"), ret["id"], before,
            ("Cannot approve", "returned"))
    refused(db, risk_act(tm, ret, "return", comments="Again"), ret["id"],
            before, ("returned",))

    # An approved one may be neither submitted, approved, returned nor saved.
    sub = risk_ok(risk_act(c, ret, "submit"), "submitted")
    done = risk_ok(risk_act(tm, sub, "approve"), "approved")
    before = snapshot(db, done["id"])
    refused(db, risk_act(c, done, "submit"), done["id"], before,
            ("Cannot submit", "approved"))
    refused(db, risk_act(staff("dm.north"), done, "approve"), done["id"],
            before, ("Cannot approve", "approved"))
    refused(db, risk_act(staff("dm.north"), done, "return", comments="Late"),
            done["id"], before, ("approved",))
    refused(db, risk_save(c, done, {"warning_signs": "Rewritten history"}),
            done["id"], before, ("approved",))
    refused(db, risk_save(c, done, {"domains": {"other": {"level": "none"}}}),
            done["id"], before, ("approved",))
    assert db.scalar("SELECT level FROM risk_domain WHERE assessment_id = %s "
                     "AND domain = 'other'", (done["id"],)) == "high"


def test_second_assessment_in_progress_409(staff, risk_case, db):
    c = staff("coord.north")
    su = risk_case()["person"]["id"]
    first = risk_start(c, su)
    for who in ("coord.north", "tm.north"):
        r = staff(who).post(f"/api/v1/service-users/{su}/risk-assessments",
                            json={})
        assert r.status_code == 409, describe(r)
        body = json_of(r)
        assert isinstance(body["error"], str)
        assert body["assessment_id"] == first["id"], body
    assert db.scalar("SELECT count(*) FROM risk_assessment "
                     "WHERE service_user_id = %s", (su,)) == 1

    # Still 409 while it is submitted; a new one may start once approved.
    first = risk_ok(risk_save(c, first, risk_content("high", "low")), "draft")
    first = risk_ok(risk_act(c, first, "submit"), "submitted")
    r = c.post(f"/api/v1/service-users/{su}/risk-assessments", json={})
    assert r.status_code == 409, describe(r)
    assert json_of(r)["assessment_id"] == first["id"]
    risk_ok(risk_act(staff("tm.north"), first, "approve"), "approved")
    risk_start(c, su)


def test_stale_save_409(staff, risk_case, db):
    c = staff("coord.north")
    a = risk_start(c, risk_case()["person"]["id"])
    saved = risk_ok(risk_save(c, a, {"warning_signs": "First words"}), "draft")
    before = snapshot(db, a["id"])
    r = risk_save(staff("tm.north"), a, {"warning_signs": "Overwritten"})
    assert r.status_code == 409, describe(r)
    assert snapshot(db, a["id"]) == before
    assert before["warning_signs"] == "First words"
    r = risk_act(c, a, "submit", version=a["version"])
    assert r.status_code in (409, 422), describe(r)
    assert snapshot(db, a["id"]) == before
    assert saved["version"] == before["version"]
