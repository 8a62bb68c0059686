"""Carer involvement (cpa-carers, involvement.c, and 010's triggers):
recorded where it happens, through the other workers' own APIs (a CPA
review held with the carer there, a risk assessment submitted after a
discussion with the carer, a contact with the carer present, a care plan
version written with them) and by hand; attributed to the person's only
current carer, or to no one ("A carer") when they have two; the timeline
newest first; bad input 422 naming the fields; no carer recorded is a
conflict; reads and changes audited."""

import pytest

from cpa_e2e import (HTML, browser_body, describe, form_of, get_json,
                     html_text, json_of, risk_act, risk_content, risk_ok,
                     risk_save, risk_start)

pytestmark = pytest.mark.usefixtures("carers_up")


def hold_due_review(c, su, day, **over):
    due = get_json(c, f"/api/v1/service-users/{su}/reviews")["due"]
    assert due, f"no review due for {su}"
    body = {"version": due["version"], "held_on": day, "attended_user": True,
            "attended_carer": True, "attended_coordinator": True,
            "outcome": "continue"}
    body.update(over)
    r = c.post(f"/api/v1/reviews/{due['id']}/hold", json=body)
    assert r.status_code == 200, describe(r)
    return due


def risk_with_carer(c, su):
    a = risk_start(c, su)
    content = risk_content("low", "low")
    content.update(discussed_with_carer=True, not_discussed_carer_reason=None)
    a = risk_ok(risk_save(c, a, content), "draft")
    return risk_ok(risk_act(c, a, "submit"), "approved")


def contact(c, su, **over):
    body = {"duration_minutes": 30, "mode": "face_to_face", "attended": True}
    body.update(over)
    r = c.post(f"/api/v1/service-users/{su}/contacts", json=body)
    assert r.status_code == 201, describe(r)
    return json_of(r)["contact"]


def plan_version(c, su, **over):
    body = {"based_on": 0, "needs_goals": "To sleep better",
            "took_part_user": True, "user_agreed": True}
    body.update(over)
    r = c.post(f"/api/v1/service-users/{su}/care-plan/versions", json=body)
    assert r.status_code == 201, describe(r)
    return json_of(r)["care_plan_version"]


def everywhere(c, su, kit):
    """Involvement from each worker: returns {source: source id}."""
    today = kit.today().isoformat()
    review = hold_due_review(c, su, today)
    risk = risk_with_carer(c, su)
    con = contact(c, su, carer_present=True)
    v = plan_version(c, su, took_part_carer=True)
    return {"cpa_review": review["id"], "risk_assessment": risk["id"],
            "contact": con["id"], "care_plan_version": v["id"]}


KIND_OF = {"cpa_review": "review", "risk_assessment": "risk_discussion",
           "contact": "contact", "care_plan_version": "care_plan_writing"}


def test_recorded_where_it_happens_to_the_only_carer(case, kit, db, audit):
    made = case()
    c, su = made["c"], made["person"]
    link = kit.added(c, su["id"], given_name="Demelza")
    # Things that do not involve a carer record nothing.
    contact(c, su["id"], carer_present=False)
    assert kit.involvement(c, su["id"]) == []

    sources = everywhere(c, su["id"], kit)
    mark = audit.mark()
    events = kit.involvement(c, su["id"])
    rows = audit.since(mark, username="coord.north")
    assert [(x["action"], x["entity_type"]) for x in rows] == \
        [("read", "carer_involvement")], rows
    assert rows[0]["service_user_id"] == su["id"]
    assert rows[0]["site_id"] == su["site_id"]
    for e in events:
        assert kit.EVENT_KEYS <= set(e), set(e) ^ kit.EVENT_KEYS
    got = {(e["source"], e["source_id"]): e for e in events}
    assert set(got) == set(sources.items()), events
    for source, sid in sources.items():
        e = got[(source, sid)]
        assert e["kind"] == KIND_OF[source], e
        assert e["carer_link_id"] == link["id"], e
        assert "Demelza" in e["carer_name"], e
        assert e["occurred_on"] == kit.today().isoformat(), e
        assert e["recorded_by_name"] == c.user["display_name"], e
    # Compared with the table itself.
    n = db.scalar("SELECT count(*) FROM carer_involvement WHERE"
                  " service_user_id = %s AND carer_link_id = %s",
                  (su["id"], link["id"]))
    assert n == 4
    # The risk assessment was submitted and approved: recorded once.
    assert db.scalar("SELECT count(*) FROM carer_involvement WHERE source ="
                     " 'risk_assessment' AND source_id = %s",
                     (sources["risk_assessment"],)) == 1
    # The person's page has the same timeline, in words.
    body = kit.person(c, su["id"])
    assert sorted(e["id"] for e in body["involvement"]) == \
        sorted(e["id"] for e in events)
    r = c.get(f"/service-users/{su['id']}/carers", headers=HTML)
    text = html_text(r)
    for words in ("Took part in a CPA review", "Helped write the care plan",
                  "Took part in a risk and safety plan discussion",
                  "Was at a contact with the team"):
        assert words in text, words


def test_event_shape_is_the_contracts(case, kit):
    """EVENT is exactly the contract's keys (words for the kind are the
    page's business, not the API's)."""
    made = case()
    c, su = made["c"], made["person"]["id"]
    kit.added(c, su)
    r = kit.involve(c, su, kind="medication_info")
    assert r.status_code == 201, describe(r)
    e = json_of(r)["event"]
    assert set(e) == kit.EVENT_KEYS, set(e) ^ kit.EVENT_KEYS
    (listed,) = kit.involvement(c, su)
    assert set(listed) == kit.EVENT_KEYS, set(listed) ^ kit.EVENT_KEYS


def test_two_carers_attributed_to_none(case, kit, db):
    made = case()
    c, su = made["c"], made["person"]["id"]
    kit.added(c, su)
    kit.added(c, su)
    sources = everywhere(c, su, kit)
    events = kit.involvement(c, su)
    assert {(e["source"], e["source_id"]) for e in events} == \
        set(sources.items())
    for e in events:
        assert e["carer_link_id"] is None and e["carer_name"] is None, e
    r = c.get(f"/service-users/{su}/carers", headers=HTML)
    assert "A carer" in html_text(r)


def test_ended_carer_is_not_the_only_carer(case, kit):
    made = case()
    c, su = made["c"], made["person"]["id"]
    gone = kit.added(c, su)
    kit.ended(c, gone)
    stays = kit.added(c, su)
    contact(c, su, carer_present=True)
    (e,) = kit.involvement(c, su)
    assert e["carer_link_id"] == stays["id"], e


def test_recorded_by_hand(case, kit, db, audit):
    made = case()
    c, su = made["c"], made["person"]
    link = kit.added(c, su["id"], started_on=kit.day(-20))
    mark = audit.mark()
    r = kit.involve(c, su["id"], kind="medication_info")
    assert r.status_code == 201, describe(r)
    e = json_of(r)["event"]
    assert kit.EVENT_KEYS <= set(e), set(e) ^ kit.EVENT_KEYS
    assert (e["kind"], e["source"], e["source_id"]) == \
        ("medication_info", "manual", None)
    assert e["carer_link_id"] == link["id"]
    assert e["occurred_on"] == kit.today().isoformat()
    assert e["recorded_by_name"] == c.user["display_name"]
    rows = audit.since(mark, username="coord.north")
    assert [x["action"] for x in rows] == ["carer_involvement_recorded"], rows
    assert rows[0]["service_user_id"] == su["id"]
    assert rows[0]["site_id"] == su["site_id"]

    second = kit.added(c, su["id"])
    r = kit.involve(c, su["id"], kind="complaints_info",
                    carer_link_id=second["id"], occurred_on=kit.day(-3))
    assert r.status_code == 201, describe(r)
    r = kit.involve(c, su["id"], kind="other", carer_link_id=link["id"],
                    note="Came to the ward round", occurred_on=kit.day(-1))
    assert r.status_code == 201, describe(r)
    events = kit.involvement(c, su["id"])
    assert [(e["kind"], e["carer_link_id"], e["occurred_on"])
            for e in events] == [
        ("medication_info", link["id"], kit.day(0)),
        ("other", link["id"], kit.day(-1)),
        ("complaints_info", second["id"], kit.day(-3))], events
    assert events[1]["note"] == "Came to the ward round"


def test_by_hand_bad_input_and_conflicts(case, kit, db):
    made = case()
    c, su = made["c"], made["person"]["id"]
    r = kit.involve(c, su, kind="medication_info")
    assert r.status_code == 409, describe(r)
    assert json_of(r)["error"] == "Record a carer first"

    link = kit.added(c, su)
    other = case()
    theirs = kit.added(c, other["person"]["id"])
    cases = [
        ({}, {"kind"}),
        ({"kind": "review"}, {"kind"}),
        ({"kind": "gossip"}, {"kind"}),
        ({"kind": "other"}, {"note"}),
        ({"kind": "other", "note": "n" * 2001}, {"note"}),
        ({"kind": "contact", "occurred_on": kit.day(1)}, {"occurred_on"}),
        ({"kind": "contact", "occurred_on": "2024-02-30"}, {"occurred_on"}),
        ({"kind": "contact", "carer_link_id": theirs["id"]}, {"carer_link_id"}),
        ({"kind": "contact", "carer_link_id": "x"}, {"carer_link_id"}),
    ]
    for body, fields in cases:
        r = kit.involve(c, su, **body)
        assert r.status_code == 422, (body, describe(r))
        assert set(json_of(r)["errors"]) == fields, (body, r.text)
    r = kit.involve(c, su, kind="contact", occurred_on=kit.day(1))
    assert json_of(r)["errors"]["occurred_on"] == \
        "Date must be today or in the past"
    # An ended carer is no longer one to choose.
    kit.ended(c, link)
    kit.added(c, su)
    r = kit.involve(c, su, kind="contact", carer_link_id=link["id"])
    assert r.status_code == 422, describe(r)
    assert set(json_of(r)["errors"]) == {"carer_link_id"}
    # Two current carers: which one must be said.
    kit.added(c, su)
    r = kit.involve(c, su, kind="contact")
    assert r.status_code == 422, describe(r)
    assert set(json_of(r)["errors"]) == {"carer_link_id"}
    assert db.scalar("SELECT count(*) FROM carer_involvement"
                     " WHERE service_user_id = %s", (su,)) == 0


def test_page_form_records_with_defaults(case, kit, db):
    made = case()
    c, su = made["c"], made["person"]["id"]
    link = kit.added(c, su)
    page = c.get(f"/service-users/{su}/carers", headers=HTML)
    form = form_of(page.text, f"/service-users/{su}/involvement")
    body = browser_body(form, {"kind": "complaints_info"})
    assert body["occurred_on"] == kit.today().isoformat()
    assert body.get("carer_link_id") == str(link["id"])
    r = c.post(f"/service-users/{su}/involvement", data=body, headers=HTML)
    assert r.status_code == 303, describe(r)
    row = db.one("SELECT kind, carer_link_id, occurred_on FROM"
                 " carer_involvement WHERE service_user_id = %s", (su,))
    assert (row["kind"], row["carer_link_id"], row["occurred_on"]) == \
        ("complaints_info", link["id"], kit.today())
    r = c.get(f"/service-users/{su}/carers", headers=HTML)
    assert "Was told how to complain" in html_text(r)
