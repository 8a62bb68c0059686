"""The manager queue (GET /api/v1/risk-assessments): the submitted
assessments of the caller's teams, oldest submitted first, each with the
person's summary; never another site's, never a draft or an approved one."""

import pytest

from cpa_e2e import (PERSON_SUMMARY_KEYS, describe, json_of, parse_ts,
                     risk_act, risk_content, risk_ok, risk_queue_of,
                     risk_save, risk_start)

pytestmark = pytest.mark.usefixtures("risk_up")


def submitted(c, case, overall="high"):
    a = risk_start(c, case["person"]["id"])
    a = risk_ok(risk_save(c, a, risk_content(overall, "medium")), "draft")
    return risk_ok(risk_act(c, a, "submit"), "submitted")


def test_queue_oldest_first_and_own_teams(staff, risk_case):
    cn = staff("coord.north")
    first_case = risk_case()
    second_case = risk_case()
    first = submitted(cn, first_case)
    second = submitted(cn, second_case)
    draft = risk_start(cn, risk_case()["person"]["id"])
    south = submitted(staff("coord.south"),
                      risk_case("complex", "south_harbour_cmht",
                                "coord.south"))

    r = staff("tm.north").get("/api/v1/risk-assessments")
    assert r.status_code == 200, describe(r)
    queue = risk_queue_of(json_of(r))
    ids = [a["id"] for a in queue]
    assert first["id"] in ids and second["id"] in ids, ids
    assert ids.index(first["id"]) < ids.index(second["id"]), ids
    assert south["id"] not in ids and draft["id"] not in ids, ids
    times = [parse_ts(a["submitted_at"]) for a in queue]
    assert times == sorted(times), times

    item = queue[ids.index(first["id"])]
    person = item["service_user"]
    assert PERSON_SUMMARY_KEYS <= set(person), person
    assert person["id"] == first_case["person"]["id"]
    assert person["family_name"] == first_case["person"]["family_name"]
    assert item["team_name"] == "Riverside Community Mental Health Team"
    assert item["author_name"] == cn.user["display_name"]
    assert item["overall_level"] == "high"
    assert item["needs_manager_approval"] is True

    # Once decided it leaves the queue.
    risk_ok(risk_act(staff("tm.north"), first, "approve"), "approved")
    r = staff("dm.north").get("/api/v1/risk-assessments")
    assert r.status_code == 200, describe(r)
    ids = [a["id"] for a in risk_queue_of(json_of(r))]
    assert first["id"] not in ids and second["id"] in ids, ids
    assert south["id"] not in ids
