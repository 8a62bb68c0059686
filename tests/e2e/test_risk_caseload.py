"""The caseload shows each person's current risk: the approved
assessment's overall level and review date, flagged when the review is
overdue; people with no approved assessment show none."""

import pytest

from cpa_e2e import (HTML, caseload_entry, describe, risk_act, risk_content,
                     risk_ok, risk_save, risk_start)

pytestmark = pytest.mark.usefixtures("risk_up")


def test_caseload_shows_current_risk_and_overdue_reviews(staff, risk_case, db):
    case = risk_case("standard")
    c = staff("coord.north")
    pid = case["person"]["id"]
    assert caseload_entry(c, pid)["risk_status"] is None

    a = risk_start(c, pid)
    a = risk_ok(risk_save(c, a, risk_content("medium", "low")), "draft")
    approved = risk_ok(risk_act(c, a, "submit"), "approved")

    status = caseload_entry(c, pid)["risk_status"]
    assert status == {"assessment_id": approved["id"], "level": "medium",
                      "review_due": approved["next_review_due"],
                      "overdue": False, "review_requested": False,
                      "review_trigger": None}, status

    # A review date in the past shows as overdue, in JSON and on the page.
    assert db.scalar("UPDATE risk_assessment SET next_review_due = current_date - 1"
                     " WHERE id = %s RETURNING id", (approved["id"],)) == approved["id"]
    assert caseload_entry(c, pid)["risk_status"]["overdue"] is True
    page = c.get("/caseload", headers=HTML)
    assert page.status_code == 200, describe(page)
    assert "Review overdue" in page.text
