"""The printable safety plan of a risk assessment
(GET /risk-assessments/{id}/safety-plan and /api/v1/...): the plan's fields
with the person, team and coordinator; a plan not yet approved is not final
and its page says "Draft: not yet agreed"; approved and superseded plans
are final; the page is in plain language with general crisis help always
present, escapes what people typed, and prints through the @media print
block of app.css; other sites get 404 and other teams 403, both audited as
access_denied; every read is audited as a read of "safety_plan"."""

import re

import pytest

from cpa_e2e import (HTML, describe, get_json, html_text, is_html, json_of,
                     risk_act, risk_content, risk_ok, risk_save, risk_start)

pytestmark = pytest.mark.usefixtures("risk_up")

PLAN_TEXT = ("warning_signs", "what_helps", "contacts", "crisis_numbers",
             "means_restriction", "user_view")
PLAN_KEYS = {"assessment_id", "status", "final", "approved_at",
             "next_review_due", "service_user", "team_name", "coordinator",
             *PLAN_TEXT}
HEADINGS = ("Signs that things are getting harder", "Things that help me",
            "People I can contact", "If I am in crisis",
            "Making my surroundings safer", "In my own words")
GENERAL_HELP = ("NHS 111", "mental health option", "999", "A&E",
                "Samaritans", "116 123")
DRAFT = "Draft: not yet agreed"


def plan_url(aid, api=True):
    return f"{'/api/v1' if api else ''}/risk-assessments/{aid}/safety-plan"


def get_plan(c, aid):
    return get_json(c, plan_url(aid))["safety_plan"]


def get_page(c, aid):
    r = c.get(plan_url(aid, api=False), headers=HTML)
    assert r.status_code == 200, describe(r)
    assert is_html(r), describe(r)
    return r


def content(**over):
    body = risk_content("low", "low")
    body.update(over)
    return body


@pytest.fixture
def draft(staff, risk_case):
    """A Riverside person (standard episode, coord.north coordinating)
    with a saved, complete draft."""
    c = staff("coord.north")
    case = risk_case()
    a = risk_start(c, case["person"]["id"])
    a = risk_ok(risk_save(c, a, content()), "draft")
    return {"case": case, "assessment": a}


def test_json_draft_then_approved_then_superseded(staff, draft, teams):
    c = staff("coord.north")
    a, person = draft["assessment"], draft["case"]["person"]
    body = content()

    plan = get_plan(c, a["id"])
    assert set(plan) == PLAN_KEYS, plan
    assert plan["assessment_id"] == a["id"]
    assert plan["status"] == "draft"
    assert plan["final"] is False
    assert plan["approved_at"] is None and plan["next_review_due"] is None
    for k in PLAN_TEXT:
        assert plan[k] == body[k], (k, plan[k])
    assert plan["service_user"] == {
        k: person[k] for k in ("given_name", "family_name", "nhs_number",
                               "date_of_birth")}, plan["service_user"]
    assert plan["team_name"] == teams["north_riverside_cmht"]["name"]
    assert plan["coordinator"] == {"display_name": c.user["display_name"]}

    # The same answer at the page's address with ".json".
    r = c.get(plan_url(a["id"], api=False) + ".json")
    assert r.status_code == 200, describe(r)
    assert json_of(r)["safety_plan"] == plan

    # A standard episode rated low is approved on submission: final.
    a = risk_ok(risk_act(c, a, "submit"), "approved")
    plan = get_plan(c, a["id"])
    assert plan["status"] == "approved" and plan["final"] is True, plan
    assert plan["approved_at"] and plan["next_review_due"], plan
    assert plan["next_review_due"] == a["next_review_due"]

    # The next approved assessment supersedes it; the old plan stays final.
    b = risk_start(c, person["id"])
    b = risk_ok(risk_save(c, b, content(what_helps="Music and a long bath")),
                "draft")
    assert get_plan(c, b["id"])["final"] is False
    risk_ok(risk_act(c, b, "submit"), "approved")
    old = get_plan(c, a["id"])
    assert old["status"] == "superseded" and old["final"] is True, old
    assert old["what_helps"] == body["what_helps"]
    assert get_plan(c, b["id"])["what_helps"] == "Music and a long bath"


def test_submitted_plan_is_not_final(staff, risk_case):
    """A plan waiting for a manager's approval is still a draft."""
    c = staff("coord.north")
    case = risk_case(level="enhanced")
    a = risk_start(c, case["person"]["id"])
    a = risk_ok(risk_save(c, a, content()), "draft")
    a = risk_ok(risk_act(c, a, "submit"), "submitted")
    plan = get_plan(c, a["id"])
    assert plan["status"] == "submitted" and plan["final"] is False, plan
    assert DRAFT in html_text(get_page(c, a["id"]))


def test_page_plain_language_and_draft_banner(staff, draft):
    c = staff("coord.north")
    a, person = draft["assessment"], draft["case"]["person"]

    text = html_text(get_page(c, a["id"]))
    assert DRAFT in text
    for h in HEADINGS:
        assert re.search(r"<h2[^>]*>\s*" + re.escape(h) + r"\s*</h2>", text), h
    for phrase in GENERAL_HELP:
        assert phrase in text, phrase
    assert "Print this plan" in text
    assert person["family_name"] in text
    for k in PLAN_TEXT:
        assert content()[k] in text, k

    a = risk_ok(risk_act(c, a, "submit"), "approved")
    text = html_text(get_page(c, a["id"]))
    assert DRAFT not in text
    for h in HEADINGS:
        assert h in text, h
    for phrase in GENERAL_HELP:
        assert phrase in text, phrase


def test_general_help_shown_when_plan_is_empty(staff, risk_case):
    c = staff("coord.north")
    case = risk_case()
    a = risk_start(c, case["person"]["id"])
    plan = get_plan(c, a["id"])
    assert all(plan[k] is None for k in PLAN_TEXT), plan
    text = html_text(get_page(c, a["id"]))
    assert DRAFT in text
    for phrase in GENERAL_HELP:
        assert phrase in text, phrase


def test_user_text_is_escaped(staff, risk_case):
    c = staff("coord.north")
    case = risk_case()
    a = risk_start(c, case["person"]["id"])
    evil = '<script>alert("plan")</script><b onmouseover="x()">bold</b>'
    fields = {k: f"{k}: {evil}" for k in PLAN_TEXT}
    a = risk_ok(risk_save(c, a, content(**fields)), "draft")
    r = get_page(c, a["id"])
    raw = r.text
    assert "<script>alert" not in raw
    assert "<b onmouseover" not in raw
    for k in PLAN_TEXT:
        assert f"{k}: &lt;script&gt;alert(" in raw, k
    # The reader sees exactly what was typed.
    assert fields["warning_signs"] in html_text(r)
    assert get_plan(c, a["id"])["user_view"] == fields["user_view"]


def test_print_stylesheet_and_button(staff, draft, client):
    c = staff("coord.north")
    r = get_page(c, draft["assessment"]["id"])
    links = re.findall(r'<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"', r.text)
    assert "/assets/app/app.css" in links, links
    button = re.search(r"<button[^>]*data-app-print[^>]*>\s*Print this plan",
                       r.text)
    assert button, "no print button marked data-app-print"
    assert "onclick" not in button.group(0)

    anon = client()
    css = anon.get("/assets/app/app.css")
    assert css.status_code == 200, describe(css)
    m = re.search(r"@media print\s*\{", css.text)
    assert m, "app.css has no @media print block"
    block = css.text[m.start():]
    for sel in (".nhsuk-header", ".nhsuk-footer", ".nhsuk-back-link",
                ".nhsuk-skip-link", "button", "nav", "[data-app-print]"):
        assert sel in block, sel
    assert re.search(r"display:\s*none", block)
    assert re.search(r"a::after[^{]*\{\s*content:\s*none", block), \
        "link addresses would be printed"

    js = anon.get("/assets/app/app.js")
    assert js.status_code == 200, describe(js)
    assert "data-app-print" in js.text and "window.print()" in js.text


def test_read_is_audited(staff, draft, audit):
    c = staff("coord.north")
    a, person = draft["assessment"], draft["case"]["person"]
    for api in (True, False):
        mark = audit.mark()
        r = c.get(plan_url(a["id"], api), headers=None if api else HTML)
        assert r.status_code == 200, describe(r)
        rows = audit.since(mark, username="coord.north")
        assert [(x["action"], x["entity_type"]) for x in rows] == \
            [("read", "safety_plan")], rows
        row = rows[0]
        assert str(row["entity_id"]) == str(a["id"]), row
        assert row["service_user_id"] == person["id"], row
        assert row["site_id"] == person["site_id"], row


def test_other_site_gets_404(staff, draft, audit):
    south = staff("coord.south")
    a = draft["assessment"]
    for api in (True, False):
        mark = audit.mark()
        r = south.get(plan_url(a["id"], api), headers=None if api else HTML)
        assert r.status_code == 404, describe(r)
        assert content()["warning_signs"] not in r.text
        assert draft["case"]["person"]["family_name"] not in r.text
        rows = audit.since(mark, username="coord.south")
        assert [(x["action"], x["entity_type"], str(x["entity_id"]))
                for x in rows] == \
            [("access_denied", "safety_plan", str(a["id"]))], rows


def test_unknown_assessment_gets_404(staff, db):
    c = staff("coord.north")
    missing = db.scalar("SELECT coalesce(max(id), 0) + 1000000 "
                        "FROM risk_assessment")
    r = c.get(plan_url(missing))
    assert r.status_code == 404, describe(r)
    assert "error" in json_of(r)


def test_other_team_gets_403(draft, make_team_staff, teams, signin, audit):
    moor = make_team_staff("moorplan", "coordinator",
                           teams["north_moorland_cmht"])
    c = signin(moor["username"], moor["password"])
    a, person = draft["assessment"], draft["case"]["person"]
    for api in (True, False):
        mark = audit.mark()
        r = c.get(plan_url(a["id"], api), headers=None if api else HTML)
        assert r.status_code == 403, describe(r)
        assert content()["warning_signs"] not in r.text
        if api:
            assert "error" in json_of(r)
        rows = audit.since(mark, username=moor["username"])
        assert [(x["action"], x["entity_type"], str(x["entity_id"]))
                for x in rows] == \
            [("access_denied", "safety_plan", str(a["id"]))], rows
        assert rows[0]["service_user_id"] == person["id"]
        assert rows[0]["site_id"] == person["site_id"]
    c.delete("/api/v1/session")


def test_links_from_assessment_and_risk_pages(staff, draft):
    c = staff("coord.north")
    a, person = draft["assessment"], draft["case"]["person"]
    href = f'href="/risk-assessments/{a["id"]}/safety-plan"'

    r = c.get(f"/risk-assessments/{a['id']}", headers=HTML)
    assert r.status_code == 200, describe(r)
    assert re.search(re.escape(href) + r"[^>]*>\s*Print safety plan", r.text)

    # The person's risk page links the plan of the current assessment.
    a = risk_ok(risk_act(c, a, "submit"), "approved")
    r = c.get(f"/service-users/{person['id']}/risk", headers=HTML)
    assert r.status_code == 200, describe(r)
    assert re.search(re.escape(href) + r"[^>]*>\s*Print safety plan", r.text)
