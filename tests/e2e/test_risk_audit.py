"""Every read and change of a risk assessment writes an audit_event row
naming the person and the site (read, risk_created, risk_saved,
risk_submitted, risk_returned, risk_approved), and a risk_event row for
each change; listing the manager queue is audited once as a read of
risk_queue."""

import pytest

from cpa_e2e import (describe, risk_act, risk_content, risk_get, risk_ok,
                     risk_save, risk_start)

pytestmark = pytest.mark.usefixtures("risk_up")


def one_row(audit, mark, action, username, su, site):
    rows = audit.since(mark, action=action)
    assert len(rows) == 1, (action, rows)
    row = rows[0]
    assert row["username"] == username, row
    assert row["service_user_id"] == su, row
    assert row["site_id"] == site, row
    return row


def test_every_step_is_audited(staff, risk_case, db, audit):
    c = staff("coord.north")
    tm = staff("tm.north")
    case = risk_case()
    su, site = case["person"]["id"], case["person"]["site_id"]

    mark = audit.mark()
    a = risk_start(c, su)
    one_row(audit, mark, "risk_created", "coord.north", su, site)

    mark = audit.mark()
    risk_get(c, a["id"])
    row = one_row(audit, mark, "read", "coord.north", su, site)
    assert row["entity_type"] == "risk_assessment"
    assert str(row["entity_id"]) == str(a["id"])

    mark = audit.mark()
    a = risk_ok(risk_save(c, a, risk_content("high", "medium")), "draft")
    one_row(audit, mark, "risk_saved", "coord.north", su, site)

    mark = audit.mark()
    a = risk_ok(risk_act(c, a, "submit"), "submitted")
    one_row(audit, mark, "risk_submitted", "coord.north", su, site)

    mark = audit.mark()
    a = risk_ok(risk_act(tm, a, "return", comments="Add contacts"),
                "returned")
    one_row(audit, mark, "risk_returned", "tm.north", su, site)

    a = risk_ok(risk_act(c, a, "submit"), "submitted")
    mark = audit.mark()
    a = risk_ok(risk_act(tm, a, "approve"), "approved")
    one_row(audit, mark, "risk_approved", "tm.north", su, site)

    events = db.all("SELECT kind, by_staff_id FROM risk_event "
                    "WHERE assessment_id = %s ORDER BY id", (a["id"],))
    kinds = [e["kind"] for e in events]
    assert kinds == ["created", "saved", "submitted", "returned", "submitted",
                     "approved"], kinds
    assert events[-1]["by_staff_id"] == tm.user["id"]
    assert events[0]["by_staff_id"] == c.user["id"]


def test_queue_listing_is_audited_once(staff, audit):
    tm = staff("tm.north")
    mark = audit.mark()
    r = tm.get("/api/v1/risk-assessments")
    assert r.status_code == 200, describe(r)
    rows = audit.since(mark, username="tm.north")
    assert [(x["action"], x["entity_type"]) for x in rows] == \
        [("read", "risk_queue")], rows
