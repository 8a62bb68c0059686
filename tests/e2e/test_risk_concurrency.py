"""Two managers deciding one submitted assessment at once (tm.north
approves while dm.north returns): exactly one wins with 200, the other gets
409, and the stored state is the winner's."""

import threading

import pytest

from cpa_e2e import (describe, json_of, risk_act, risk_content, risk_ok,
                     risk_save, risk_start)

pytestmark = pytest.mark.usefixtures("risk_up")


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_approve_and_return(staff, risk_case, db, round_):
    c = staff("coord.north")
    a = risk_start(c, risk_case()["person"]["id"])
    a = risk_ok(risk_save(c, a, risk_content("high", "high")), "draft")
    a = risk_ok(risk_act(c, a, "submit"), "submitted")
    tm, dm = staff("tm.north"), staff("dm.north")

    barrier = threading.Barrier(2)
    results = {}

    def run(name, client, action, body):
        barrier.wait()
        try:
            results[name] = risk_act(client, a, action, **body)
        except Exception as e:      # reported by the assertions below
            results[name] = e

    threads = [
        threading.Thread(target=run, args=("approve", tm, "approve", {})),
        threading.Thread(target=run, args=("return", dm, "return",
                                           {"comments": "Race"})),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    codes = {}
    for name, r in results.items():
        assert not isinstance(r, Exception), (name, r)
        codes[name] = r.status_code
    assert sorted(codes.values()) == [200, 409], \
        {n: describe(r) for n, r in results.items()}
    winner = [n for n, code in codes.items() if code == 200][0]
    row = db.one("SELECT status, decided_by, return_comments, "
                 "approved_at IS NOT NULL AS approved "
                 "FROM risk_assessment WHERE id = %s", (a["id"],))
    if winner == "approve":
        assert row == {"status": "approved", "decided_by": tm.user["id"],
                       "return_comments": None, "approved": True}
        assert json_of(results["approve"])["assessment"]["status"] == "approved"
    else:
        assert row == {"status": "returned", "decided_by": dm.user["id"],
                       "return_comments": "Race", "approved": False}
        assert json_of(results["return"])["assessment"]["status"] == "returned"
    kinds = [r["kind"] for r in db.all(
        "SELECT kind FROM risk_event WHERE assessment_id = %s "
        "AND kind IN ('approved', 'returned')", (a["id"],))]
    assert kinds == ["approved" if winner == "approve" else "returned"], kinds
