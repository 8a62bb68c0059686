"""What changed between two versions of a person's risk assessment
(GET /risk-assessments/{id}/changes): only the fields that changed, in
form order, levels with their direction, yes/no answers, texts with a word
diff; the version compared with defaults to the one replaced (or the
current approved one for an assessment in progress); a version of another
person is refused with 422, another site's assessment is 404 and another
team's 403, both audited; each read is audited once; the page strikes
through and underlines words and escapes what people typed."""

import html
import re

import pytest

from cpa_e2e import (HTML, MISSING_ID, RISK_DOMAINS, describe, html_text,
                     is_html, json_of, risk_act, risk_content, risk_ok,
                     risk_save, risk_start)

pytestmark = pytest.mark.usefixtures("risk_up")

SUMMARY_KEYS = {"id", "status", "version", "overall_level", "approved_at",
                "author_name"}
# overall_level, four per domain, ten more: everything that is compared.
COMPARED = 1 + 4 * len(RISK_DOMAINS) + 10
AGAINST_INVALID = "Choose another version of this person's assessment"
SCRIPT = "<script>alert(1)</script>"


def second_content():
    """risk_content("low", "low") with eight answers changed."""
    body = risk_content("high", "low")
    body["domains"]["suicide_self_harm"]["level"] = "medium"
    body["domains"]["suicide_self_harm"]["current_factors"] = \
        "Recent job loss and debts"
    body["domains"]["harm_to_others"]["level"] = "none"
    body["warning_signs"] = ("Stops answering the phone; sleeps all day "
                             "and night; " + SCRIPT)
    body["what_helps"] = "Walking the dog; talking to his brother café"
    body["discussed_with_carer"] = True
    body["not_discussed_carer_reason"] = None
    return body


def approve(c, tm, a, content):
    a = risk_ok(risk_save(c, a, content), "draft")
    r = risk_act(c, a, "submit")
    assert r.status_code == 200, describe(r)
    a = json_of(r)["assessment"]
    if a["status"] == "submitted":
        a = risk_ok(risk_act(tm, a, "approve"), "approved")
    assert a["status"] == "approved", a
    return a


@pytest.fixture
def versions(staff, risk_case):
    """A person with a first approved assessment (low) superseded by a
    second (high, eight answers changed) approved by the team manager."""
    c = staff("coord.north")
    tm = staff("tm.north")
    case = risk_case()
    su = case["person"]["id"]
    first = approve(c, tm, risk_start(c, su), risk_content("low", "low"))
    second = approve(c, tm, risk_start(c, su), second_content())
    return {"person": case["person"], "first": first, "second": second}


def changes(c, aid, against=None, status=200):
    path = f"/api/v1/risk-assessments/{aid}/changes"
    r = c.get(path, params={"against": against} if against is not None
              else None)
    assert r.status_code == status, describe(r)
    return json_of(r)


def joined(diff, skip):
    return "".join(s["text"] for s in diff if s["op"] != skip)


def test_changes_between_two_approved_versions(staff, versions):
    c = staff("coord.north")
    first, second = versions["first"], versions["second"]
    body = changes(c, second["id"])
    assert set(body) >= {"assessment", "against", "changes",
                         "unchanged_count"}, body
    assert set(body["assessment"]) == SUMMARY_KEYS, body["assessment"]
    assert set(body["against"]) == SUMMARY_KEYS, body["against"]
    assert body["assessment"]["id"] == second["id"]
    assert body["assessment"]["status"] == "approved"
    assert body["assessment"]["overall_level"] == "high"
    assert body["assessment"]["author_name"] == c.user["display_name"]
    assert body["against"]["id"] == first["id"]
    assert body["against"]["status"] == "superseded"
    assert body["against"]["overall_level"] == "low"
    assert body["against"]["approved_at"]

    got = {ch["field"]: ch for ch in body["changes"]}
    assert [ch["field"] for ch in body["changes"]] == [
        "overall_level", "domains.suicide_self_harm.level",
        "domains.suicide_self_harm.current_factors",
        "domains.harm_to_others.level", "warning_signs", "what_helps",
        "discussed_with_carer", "not_discussed_carer_reason"], body["changes"]
    assert body["unchanged_count"] == COMPARED - 8
    for name in ("contacts", "crisis_numbers", "user_view",
                 "domains.self_neglect.level", "discussed_with_user"):
        assert name not in got, got[name]

    level = got["overall_level"]
    assert (level["kind"], level["label"], level["before"], level["after"],
            level["direction"]) == ("level", "Overall risk", "low", "high",
                                    "raised")
    level = got["domains.suicide_self_harm.level"]
    assert (level["label"], level["before"], level["after"],
            level["direction"]) == ("Suicide and self-harm: level", "low",
                                    "medium", "raised")
    level = got["domains.harm_to_others.level"]
    assert (level["before"], level["after"], level["direction"]) == \
        ("low", "none", "lowered")

    yesno = got["discussed_with_carer"]
    assert (yesno["kind"], yesno["before"], yesno["after"]) == \
        ("yesno", False, True)
    assert yesno["label"] == "Discussed with the carer"

    text = got["warning_signs"]
    assert text["kind"] == "text" and text["label"] == "Warning signs"
    assert text["before"] == "Stops answering the phone; sleeps all day"
    assert text["after"] == second_content()["warning_signs"]
    assert text["diff"] == [
        {"op": "same", "text": "Stops answering the phone; sleeps all day"},
        {"op": "added", "text": " and night; " + SCRIPT}]
    assert got["what_helps"]["diff"] == [
        {"op": "same", "text": "Walking the dog; talking to his "},
        {"op": "removed", "text": "sister"},
        {"op": "added", "text": "brother café"}]
    assert got["domains.suicide_self_harm.current_factors"]["label"] == \
        "Suicide and self-harm: current factors"
    cleared = got["not_discussed_carer_reason"]
    assert (cleared["before"], cleared["after"]) == ("No carer identified",
                                                     None)
    assert cleared["diff"] == [{"op": "removed",
                                "text": "No carer identified"}]
    for ch in body["changes"]:
        if ch["kind"] == "text":
            assert joined(ch["diff"], "added") == (ch["before"] or ""), ch
            assert joined(ch["diff"], "removed") == (ch["after"] or ""), ch

    # The other way round: the same fields, directions reversed.
    back = changes(c, first["id"], against=second["id"])
    assert back["against"]["id"] == second["id"]
    rev = {ch["field"]: ch for ch in back["changes"]}
    assert set(rev) == set(got)
    assert rev["overall_level"]["direction"] == "lowered"
    assert rev["domains.harm_to_others.level"]["direction"] == "raised"


def test_default_versions(staff, versions):
    c = staff("coord.north")
    su = versions["person"]["id"]
    first, second = versions["first"], versions["second"]

    # The first assessment has nothing before it, even though a later
    # one exists.
    body = changes(c, first["id"])
    assert body["assessment"]["id"] == first["id"]
    assert body["against"] is None
    assert body["changes"] == []

    # One in progress is compared with the current approved one.
    draft = risk_start(c, su)
    body = changes(c, draft["id"])
    assert body["against"]["id"] == second["id"], body
    assert body["assessment"]["status"] == "draft"
    assert body["changes"], body

    # Asked for explicitly, and through the ".json" form of the page.
    r = c.get(f"/risk-assessments/{draft['id']}/changes.json",
              params={"against": first["id"]})
    assert r.status_code == 200, describe(r)
    assert json_of(r)["against"]["id"] == first["id"]


def test_a_first_assessment_has_nothing_to_compare(staff, risk_case):
    c = staff("coord.north")
    case = risk_case()
    a = risk_start(c, case["person"]["id"])
    body = changes(c, a["id"])
    assert body["against"] is None and body["changes"] == []
    r = c.get(f"/risk-assessments/{a['id']}/changes", headers=HTML)
    assert r.status_code == 200 and is_html(r), describe(r)
    assert "first risk assessment" in html_text(r)


def test_bad_against(staff, versions, risk_case):
    c = staff("coord.north")
    second = versions["second"]
    other = risk_case()
    theirs = risk_start(c, other["person"]["id"])
    for against in (theirs["id"], MISSING_ID, second["id"]):
        body = changes(c, second["id"], against=against, status=422)
        assert body["errors"] == {"against": AGAINST_INVALID}, (against, body)
        assert "changes" not in body
    for against in ("abc", "0", "-3", "1.5"):
        body = changes(c, second["id"], against=against, status=422)
        assert set(body["errors"]) == {"against"}, (against, body)

    # The page shows the usual comparison with the error.
    r = c.get(f"/risk-assessments/{second['id']}/changes",
              params={"against": theirs["id"]}, headers=HTML)
    assert r.status_code == 422 and is_html(r), describe(r)
    page = html_text(r)
    assert "There is a problem" in page
    assert AGAINST_INVALID in page


def test_other_site_is_404_and_audited(staff, versions, audit):
    south = staff("coord.south")
    second = versions["second"]
    mark = audit.mark()
    r = south.get(f"/api/v1/risk-assessments/{second['id']}/changes")
    assert r.status_code == 404, describe(r)
    assert "sister" not in r.text
    rows = audit.since(mark, action="access_denied", username="coord.south",
                       entity_id=second["id"])
    assert rows, "no access_denied audit row"
    assert not audit.since(mark, action="read", username="coord.south")


def test_other_team_is_403_and_audited(versions, make_team_staff, teams,
                                       signin, audit):
    moor = make_team_staff("moorchg", "coordinator",
                           teams["north_moorland_cmht"])
    c = signin(moor["username"], moor["password"])
    second = versions["second"]
    mark = audit.mark()
    r = c.get(f"/api/v1/risk-assessments/{second['id']}/changes")
    assert r.status_code == 403, describe(r)
    assert "sister" not in r.text
    rows = audit.since(mark, action="access_denied",
                       username=moor["username"])
    assert len(rows) == 1, rows
    assert rows[0]["service_user_id"] == versions["person"]["id"]
    c.delete("/api/v1/session")


def test_read_is_audited_once(staff, versions, audit):
    c = staff("coord.north")
    second = versions["second"]
    person = versions["person"]
    mark = audit.mark()
    changes(c, second["id"])
    rows = audit.since(mark, username="coord.north")
    assert [(x["action"], x["entity_type"], str(x["entity_id"]))
            for x in rows] == [("read", "risk_assessment_changes",
                                str(second["id"]))], rows
    assert rows[0]["service_user_id"] == person["id"]
    assert rows[0]["site_id"] == person["site_id"]


def test_page_shows_the_changes_escaped(staff, versions):
    c = staff("coord.north")
    first, second = versions["first"], versions["second"]
    r = c.get(f"/risk-assessments/{second['id']}/changes", headers=HTML)
    assert r.status_code == 200 and is_html(r), describe(r)
    raw = r.text
    assert SCRIPT not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    dels = [html_text_of(m) for m in re.findall(r"<del>(.*?)</del>", raw, re.S)]
    inss = [html_text_of(m) for m in re.findall(r"<ins>(.*?)</ins>", raw, re.S)]
    assert any(d.endswith("sister") for d in dels), dels
    assert any(i.endswith("brother café") for i in inss), inss
    assert any(i.endswith(" and night; " + SCRIPT) for i in inss), inss
    page = html_text(r)
    assert "Raised from low to high" in page
    assert "Lowered from low to none" in page
    assert "Suicide and self-harm: current factors" in page
    assert "Contacts" not in page
    # The select offers the other version, the one compared with chosen.
    assert re.search(r'<option value="%d" selected>' % first["id"], raw), raw


def html_text_of(fragment):
    """The text a reader sees in an HTML fragment (tags dropped)."""
    return html.unescape(re.sub(r"<[^>]*>", "", fragment))


def test_links_to_the_changes(staff, versions):
    c = staff("coord.north")
    su = versions["person"]["id"]
    first, second = versions["first"], versions["second"]
    r = c.get(f"/risk-assessments/{second['id']}", headers=HTML)
    assert r.status_code == 200, describe(r)
    assert f'href="/risk-assessments/{second["id"]}/changes"' in r.text
    r = c.get(f"/service-users/{su}/risk", headers=HTML)
    assert r.status_code == 200, describe(r)
    for a in (first, second):
        assert f'href="/risk-assessments/{a["id"]}/changes"' in r.text
