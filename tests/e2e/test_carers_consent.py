"""Consent to share (cpa-carers, consent.c): every scope and topic against
both carer-facing outputs, the carer's copy of the care plan and of the
safety plan (exactly the allowed sections in the JSON and in the page, the
others absent), refused (403, audited) when nothing may be shared; a
withdrawal in force at once (the very next request refuses); review dates
(default from the site's policy, review_due); a copy of the care plan
recorded through cpa-reviews for a named carer allowed only when their
consent covers some part of the plan (010's carer_may_have_plan); bad input answered 422 naming the fields;
every decision and every copy audited."""

import pytest

from cpa_e2e import (HTML, RUN_LETTERS, browser_body, describe, form_of,
                     get_json, html_text, is_html, json_of, risk_act, risk_content,
                     risk_ok, risk_save, risk_start)

pytestmark = pytest.mark.usefixtures("carers_up")

CARE_PLAN_KEYS = ("needs_goals", "mental_health", "physical_health",
                  "social_care", "housing", "employment_education", "finances",
                  "domestic_support", "professionals_involved")
CRISIS_KEYS = ("crisis_contingency", "early_warning_signs")
SECTIONS_OF = {"care_plan": CARE_PLAN_KEYS, "crisis_plan": CRISIS_KEYS,
               "medication": ("medication",), "appointments": ()}
ALL_SECTIONS = CARE_PLAN_KEYS + CRISIS_KEYS + ("medication",)
SAFETY = ("warning_signs", "what_helps", "contacts", "crisis_numbers")


def marker(key):
    """Text no other section holds, so its presence can be searched for."""
    return f"Zq{key.replace('_', '')}{RUN_LETTERS}"


@pytest.fixture
def world(case, kit):
    """A Riverside person with a care plan (every section filled in with
    its marker), an approved risk assessment (its safety plan likewise)
    and one carer with no consent recorded."""
    made = case()
    c, su = made["c"], made["person"]
    body = {"based_on": 0, "medication_info_given": True,
            "took_part_user": True, "user_agreed": True}
    body.update({k: marker(k) for k in ALL_SECTIONS})
    r = c.post(f"/api/v1/service-users/{su['id']}/care-plan/versions",
               json=body)
    assert r.status_code == 201, describe(r)
    version = json_of(r)["care_plan_version"]
    a = risk_start(c, su["id"])
    content = risk_content("low", "low")
    content.update({k: marker(k) for k in SAFETY + ("means_restriction",)})
    a = risk_ok(risk_save(c, a, content), "draft")
    a = risk_ok(risk_act(c, a, "submit"), "approved")
    link = kit.added(c, su["id"], given_name="Elowen")
    return {"c": c, "person": su, "episode": made["episode"],
            "version": version, "risk": a, "link": link}


def copy_url(link_id, what, api=True):
    return f"{'/api/v1' if api else ''}/carer-links/{link_id}/{what}"


def next_review_on(db, episode_id):
    return db.scalar("SELECT due_date::text FROM cpa_review WHERE episode_id = %s"
                     " AND status = 'due'", (episode_id,))


def assert_sections(text, allowed):
    for k in ALL_SECTIONS:
        if k in allowed:
            assert marker(k) in text, f"section {k} missing"
        else:
            assert marker(k) not in text, f"section {k} shown"


CASES = [
    # (scope, topics)
    ("full", ()),
    ("limited", ("care_plan",)),
    ("limited", ("crisis_plan",)),
    ("limited", ("medication",)),
    ("limited", ("appointments",)),
    ("limited", ("care_plan", "medication")),
    ("limited", ("crisis_plan", "appointments")),
    ("limited", ("care_plan", "crisis_plan", "medication", "appointments")),
    ("none", ()),
    (None, ()),  # nothing ever recorded
]


@pytest.mark.parametrize("scope,topics", CASES,
                         ids=[f"{s}-{'+'.join(t) or 'all'}" for s, t in CASES])
def test_copies_honour_the_consent(world, kit, db, audit, scope, topics):
    c, su, link = world["c"], world["person"], world["link"]
    if scope is not None:
        kit.consented(c, link["id"], scope, topics)
    knows = {t: scope == "full" or (scope == "limited" and t in topics)
             for t in kit.TOPICS}
    assert kit.link(c, su["id"], link["id"])["may_know"] == knows
    for t in kit.TOPICS:
        assert db.scalar("SELECT carer_may_know(%s, %s)",
                         (link["id"], t)) is knows[t]
    allowed = [k for t in kit.TOPICS if knows[t] for k in SECTIONS_OF[t]]
    carer_name = "Elowen"

    # ---- the care plan, JSON
    mark = audit.mark()
    r = c.get(copy_url(link["id"], "care-plan"))
    rows = audit.since(mark, username="coord.north")
    if not allowed:
        assert r.status_code == 403, describe(r)
        err = json_of(r)["error"]
        assert err == (f"{su['given_name']} {su['family_name']} has not agreed"
                       f" to share their care plan with"
                       f" {carer_name} {link['carer']['family_name']}") or \
            ("has not agreed to share their care plan with" in err
             and carer_name in err), err
        assert_sections(r.text, ())
        assert [x["action"] for x in rows] == ["carer_copy_refused"], rows
        assert rows[0]["service_user_id"] == su["id"]
    else:
        assert r.status_code == 200, describe(r)
        body = json_of(r)
        assert body["care_plan_version_id"] == world["version"]["id"]
        assert body["number"] == 1
        assert body["carer"] == {"id": link["carer"]["id"],
                                 "given_name": carer_name,
                                 "family_name": link["carer"]["family_name"]}
        assert body["service_user"] == {"given_name": su["given_name"],
                                        "family_name": su["family_name"]}
        assert su["nhs_number"] not in r.text
        assert su["date_of_birth"] not in r.text
        assert body["coordinator"] == {
            "display_name": c.user["display_name"],
            "team_name": "Riverside Community Mental Health Team"}
        keys = [s["key"] for s in body["sections"]]
        assert sorted(keys) == sorted(allowed), keys
        for s in body["sections"]:
            assert s["text"] == marker(s["key"]) and s["heading"], s
        med = [s for s in body["sections"] if s["key"] == "medication"]
        if med:
            assert med[0].get("information_given") is True, med
        assert_sections(r.text, allowed)
        if knows["appointments"]:
            assert body["next_review_on"] == next_review_on(
                db, world["episode"]["id"])
            assert body["next_review_on"]
        else:
            assert body.get("next_review_on") is None
        assert [(x["action"], x["entity_type"]) for x in rows] == \
            [("read", "carer_copy")], rows
        assert rows[0]["service_user_id"] == su["id"]
        assert rows[0]["site_id"] == su["site_id"]
        detail = str(rows[0].get("detail") or "")
        for t in kit.TOPICS:
            if knows[t] and t != "appointments":
                assert t in detail, (t, detail)

        # ---- the care plan, the page
        p = c.get(copy_url(link["id"], "care-plan", api=False), headers=HTML)
        assert p.status_code == 200 and is_html(p), describe(p)
        text = html_text(p)
        assert_sections(text, allowed)
        assert f"Care plan for {carer_name}" in text
        assert su["given_name"] in text and su["nhs_number"] not in text
        assert "window.print" in p.text or "Print" in text
        form = form_of(p.text,
                       f"/care-plan-versions/{world['version']['id']}/copies")
        fields = {f[0]: f[2] for f in form["fields"]}
        assert fields.get("recipient") == "carer"
        assert fields.get("carer_link_id") == str(link["id"])
        assert carer_name in fields.get("recipient_name", "")
        assert fields.get("given_on") == kit.today().isoformat()
        assert fields.get("csrf_token")

    # ---- the safety plan
    mark = audit.mark()
    r = c.get(copy_url(link["id"], "safety-plan"))
    rows = audit.since(mark, username="coord.north")
    p = c.get(copy_url(link["id"], "safety-plan", api=False), headers=HTML)
    if not knows["crisis_plan"]:
        assert r.status_code == 403, describe(r)
        assert "has not agreed to share" in json_of(r)["error"]
        assert p.status_code == 403, describe(p)
        for k in SAFETY + ("means_restriction",):
            assert marker(k) not in r.text and marker(k) not in p.text
        assert [x["action"] for x in rows] == ["carer_copy_refused"], rows
    else:
        assert r.status_code == 200, describe(r)
        assert p.status_code == 200 and is_html(p), describe(p)
        for k in SAFETY:
            assert marker(k) in r.text, k
            assert marker(k) in html_text(p), k
        full = scope == "full"
        assert (marker("means_restriction") in r.text) is full
        assert (marker("means_restriction") in p.text) is full
        assert su["nhs_number"] not in r.text
        assert [(x["action"], x["entity_type"]) for x in rows] == \
            [("read", "carer_copy")], rows
        assert rows[0]["service_user_id"] == su["id"]
    # Nothing else of the care plan ever leaks into the safety plan.
    for k in ALL_SECTIONS:
        assert marker(k) not in r.text


def test_withdrawal_takes_effect_at_once(world, kit, db, audit):
    c, su, link = world["c"], world["person"], world["link"]
    url = copy_url(link["id"], "care-plan")
    # Nothing in force: nothing to withdraw.
    r = kit.withdraw(c, link["id"])
    assert r.status_code == 409, describe(r)
    kit.consented(c, link["id"], "full")
    assert c.get(url).status_code == 200
    assert c.get(copy_url(link["id"], "safety-plan")).status_code == 200

    mark = audit.mark()
    r = kit.withdraw(c, link["id"], note="Said on the phone this morning")
    assert r.status_code == 201, describe(r)
    out = json_of(r)
    k = out["consent"]
    assert set(k) == kit.CONSENT_KEYS
    assert (k["scope"], k["withdrawal"], k["topics"], k["review_on"]) == \
        ("none", True, [], None)
    assert k["given_on"] == kit.today().isoformat()
    assert k["note"] == "Said on the phone this morning"
    assert k["review_due"] is False
    assert k["recorded_by_name"] == c.user["display_name"]
    assert out["carer_link"]["consent"] == k
    assert out["carer_link"]["may_know"] == {t: False for t in kit.TOPICS}
    rows = audit.since(mark, username="coord.north")
    assert [x["action"] for x in rows] == ["carer_consent_withdrawn"], rows
    assert rows[0]["service_user_id"] == su["id"]

    # The very next requests refuse.
    r = c.get(url)
    assert r.status_code == 403, describe(r)
    assert marker("needs_goals") not in r.text
    r = c.get(copy_url(link["id"], "safety-plan"))
    assert r.status_code == 403, describe(r)
    # Withdrawn already: nothing left to withdraw.
    r = kit.withdraw(c, link["id"])
    assert r.status_code == 409, describe(r)
    # Every decision is kept.
    assert db.scalar("SELECT count(*) FROM carer_consent WHERE carer_link_id"
                     " = %s", (link["id"],)) == 2
    # A new consent brings sharing back.
    kit.consented(c, link["id"], "limited", ["care_plan"])
    assert c.get(url).status_code == 200


def test_consent_recorded_defaults_and_audit(world, kit, db, audit):
    c, su, link = world["c"], world["person"], world["link"]
    mark = audit.mark()
    k, out = kit.consented(c, link["id"], "limited",
                           ["medication", "crisis_plan"], note="Agreed at home")
    assert sorted(k["topics"]) == ["crisis_plan", "medication"]
    assert k["given_on"] == kit.today().isoformat()
    assert k["review_on"] == db.scalar(
        "SELECT (current_date + carer_consent_review)::date::text FROM site"
        " WHERE id = %s", (su["site_id"],))
    assert k["review_due"] is False and k["withdrawal"] is False
    assert k["note"] == "Agreed at home"
    assert k["recorded_by_name"] == c.user["display_name"]
    assert out["consent"] == k
    rows = audit.since(mark, username="coord.north")
    assert [x["action"] for x in rows] == ["carer_consent_recorded"], rows
    assert rows[0]["service_user_id"] == su["id"]
    assert rows[0]["site_id"] == su["site_id"]
    detail = str(rows[0].get("detail") or "")
    assert "limited" in detail and "medication" in detail, detail
    row = db.one("SELECT l.current_consent_id, k.recorded_by FROM carer_link l"
                 " JOIN carer_consent k ON k.id = l.current_consent_id"
                 " WHERE l.id = %s", (link["id"],))
    assert row["current_consent_id"] == k["id"]
    assert row["recorded_by"] == c.user["id"]


def test_review_dates_and_review_due(world, kit, db):
    c, su, link = world["c"], world["person"], world["link"]
    # Given long ago, reviewed by the site's default: due now, yet sharing
    # stands (the review is flagged, not the sharing stopped).
    k, out = kit.consented(c, link["id"], "full", given_on=kit.day(-400))
    assert k["given_on"] == kit.day(-400)
    assert k["review_on"] == db.scalar(
        "SELECT (%s::date + carer_consent_review)::date::text FROM site"
        " WHERE id = %s", (kit.day(-400), su["site_id"]))
    assert k["review_due"] is True
    assert out["may_know"]["care_plan"] is True
    assert c.get(copy_url(link["id"], "care-plan")).status_code == 200
    # Review date today: due.  Tomorrow: not yet.
    k, _ = kit.consented(c, link["id"], "full", given_on=kit.day(-1),
                         review_on=kit.day(0))
    assert k["review_on"] == kit.day(0) and k["review_due"] is True
    k, _ = kit.consented(c, link["id"], "limited", ["care_plan"],
                         given_on=kit.day(-1), review_on=kit.day(1))
    assert k["review_on"] == kit.day(1) and k["review_due"] is False
    # Scope none: no review date, never due.
    k, _ = kit.consented(c, link["id"], "none", given_on=kit.day(-300))
    assert k["review_on"] is None and k["review_due"] is False
    assert k["withdrawal"] is False
    # The person's page shows the latest decision.
    assert kit.link(c, su["id"], link["id"])["consent"] == k


CONSENT_BAD = [
    ({}, {"scope"}),
    ({"scope": "most"}, {"scope"}),
    ({"scope": "limited"}, {"topics"}),
    ({"scope": "limited", "topics": []}, {"topics"}),
    ({"scope": "limited", "topics": ["care_plan", "diary"]}, {"topics"}),
    ({"scope": "limited", "topics": "care_plan"}, {"topics"}),
    ({"scope": "full", "given_on": "+1"}, {"given_on"}),
    ({"scope": "full", "given_on": "2024-02-30"}, {"given_on"}),
    ({"scope": "full", "given_on": "-3", "review_on": "-3"}, {"review_on"}),
    ({"scope": "full", "given_on": "-3", "review_on": "-5"}, {"review_on"}),
    ({"scope": "none", "review_on": "+30"}, {"review_on"}),
    ({"scope": "full", "note": "x" * 2001}, {"note"}),
]


def test_consent_bad_input_is_422_naming_fields(world, kit, db):
    c, link = world["c"], world["link"]
    for bad, fields in CONSENT_BAD:
        body = {k: (kit.day(int(v)) if isinstance(v, str) and v[:1] in "+-"
                    and v[1:].isdigit() else v) for k, v in bad.items()}
        r = kit.consent(c, link["id"], **body)
        assert r.status_code == 422, (bad, describe(r))
        out = json_of(r)
        assert out["error"] and set(out["errors"]) == fields, (bad, out)
    r = kit.consent(c, link["id"], scope="full", given_on=kit.day(1))
    assert json_of(r)["errors"]["given_on"] == \
        "Date given must be today or in the past"
    r = kit.withdraw(c, link["id"], note="y" * 2001)
    assert r.status_code in (409, 422), describe(r)
    assert db.scalar("SELECT count(*) FROM carer_consent WHERE carer_link_id"
                     " = %s", (link["id"],)) == 0


def test_consent_on_ended_link_is_409(world, kit, db):
    c, link = world["c"], world["link"]
    kit.consented(c, link["id"], "full")
    current = kit.link(c, world["person"]["id"], link["id"])
    kit.ended(c, current)
    r = kit.consent(c, link["id"], scope="full")
    assert r.status_code == 409, describe(r)
    # An ended link's carer may be told nothing, whatever was agreed.
    assert c.get(copy_url(link["id"], "care-plan")).status_code == 403
    assert c.get(copy_url(link["id"], "safety-plan")).status_code == 403
    assert db.scalar("SELECT count(*) FROM carer_consent WHERE carer_link_id"
                     " = %s", (link["id"],)) == 1


def test_no_care_plan_or_no_approved_assessment_is_404(case, kit):
    made = case()
    c, su = made["c"], made["person"]
    link = kit.added(c, su["id"])
    kit.consented(c, link["id"], "full")
    r = c.get(copy_url(link["id"], "care-plan"))
    assert r.status_code == 404, describe(r)
    assert json_of(r)["error"] == \
        f"{su['given_name']} {su['family_name']} has no care plan yet" or \
        "has no care plan yet" in json_of(r)["error"]
    r = c.get(copy_url(link["id"], "safety-plan"))
    assert r.status_code == 404, describe(r)
    # A draft is not a plan to share.
    a = risk_start(c, su["id"])
    risk_ok(risk_save(c, a, risk_content("low", "low")), "draft")
    r = c.get(copy_url(link["id"], "safety-plan"))
    assert r.status_code == 404, describe(r)


# ------------------------------------ copies recorded through cpa-reviews

def add_copy(c, vid, **body):
    return c.post(f"/api/v1/care-plan-versions/{vid}/copies", json=body)


def copy_body(kit, link, **over):
    body = {"recipient": "carer", "recipient_name": "Elowen",
            "given_on": kit.today().isoformat(), "method": "in_person",
            "carer_link_id": link["id"]}
    body.update(over)
    return body


def copies_of(db, vid):
    return db.all("SELECT id, carer_link_id FROM care_plan_copy"
                  " WHERE care_plan_version_id = %s ORDER BY id", (vid,))


# A named carer may be given their copy of the plan when they may know
# some part of it (010's carer_may_have_plan: care_plan, crisis_plan or
# medication); the dates of reviews alone are no part of the plan.
@pytest.mark.parametrize("scope,topics,allowed", [
    (None, (), False),
    ("none", (), False),
    ("limited", ("appointments",), False),
    ("limited", ("crisis_plan",), True),
    ("limited", ("medication", "appointments"), True),
    ("limited", ("care_plan",), True),
    ("full", (), True),
])
def test_copy_for_named_carer_follows_consent(world, kit, db, audit, scope,
                                             topics, allowed):
    c, su, link = world["c"], world["person"], world["link"]
    vid = world["version"]["id"]
    if scope is not None:
        kit.consented(c, link["id"], scope, topics)
    mark = audit.mark()
    r = add_copy(c, vid, **copy_body(kit, link))
    if not allowed:
        assert r.status_code == 422, describe(r)
        out = json_of(r)
        assert set(out["errors"]) == {"carer_link_id"}, out
        assert copies_of(db, vid) == []
        assert kit.involvement(c, su["id"]) == []
        assert not audit.since(mark, action="care_plan_copy_recorded")
        return
    assert r.status_code == 201, describe(r)
    assert copies_of(db, vid)[0]["carer_link_id"] == link["id"]
    events = kit.involvement(c, su["id"])
    assert [(e["kind"], e["source"], e["carer_link_id"]) for e in events] == \
        [("care_plan_copy", "care_plan_copy", link["id"])], events
    assert events[0]["source_id"] == copies_of(db, vid)[0]["id"]


def test_copy_for_another_persons_carer_is_refused(world, case, kit, db):
    c = world["c"]
    other = case()
    theirs = kit.added(c, other["person"]["id"])
    kit.consented(c, theirs["id"], "full")
    vid = world["version"]["id"]
    r = add_copy(c, vid, **copy_body(kit, theirs))
    assert r.status_code == 422, describe(r)
    assert set(json_of(r)["errors"]) == {"carer_link_id"}
    assert copies_of(db, vid) == []


def test_copy_page_form_records_the_copy(world, kit, db):
    c, link = world["c"], world["link"]
    kit.consented(c, link["id"], "limited", ["care_plan"])
    vid = world["version"]["id"]
    p = c.get(copy_url(link["id"], "care-plan", api=False), headers=HTML)
    assert p.status_code == 200, describe(p)
    form = form_of(p.text, f"/care-plan-versions/{vid}/copies")
    r = c.post(f"/care-plan-versions/{vid}/copies", data=browser_body(form),
               headers=HTML)
    assert r.status_code == 303, describe(r)
    assert [x["carer_link_id"] for x in copies_of(db, vid)] == [link["id"]]
    page = get_json(c, f"/api/v1/service-users/{world['person']['id']}/carers")
    kinds = [(e["kind"], e["carer_link_id"]) for e in page["involvement"]]
    assert kinds == [("care_plan_copy", link["id"])], kinds
