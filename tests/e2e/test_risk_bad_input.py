"""Bad input to a risk assessment is 422 naming the field, and nothing is
stored (the version does not move): an unknown domain, a bad level, text
over its column's limit.  Submitting an incomplete assessment is 422 naming
every missing field, and it stays a draft."""

import pytest

from cpa_e2e import (RISK_DOMAINS, describe, json_of, risk_act, risk_content,
                     risk_ok, risk_save, risk_start)

pytestmark = pytest.mark.usefixtures("risk_up")


def stored(db, aid):
    return (db.one("SELECT status, version, overall_level, warning_signs, "
                   "crisis_numbers, user_view FROM risk_assessment "
                   "WHERE id = %s", (aid,)),
            db.all("SELECT domain, level, history FROM risk_domain "
                   "WHERE assessment_id = %s ORDER BY domain", (aid,)))


@pytest.fixture
def draft(staff, risk_case):
    c = staff("coord.north")
    a = risk_start(c, risk_case()["person"]["id"])
    return risk_ok(risk_save(c, a, {"overall_level": "low",
                                    "warning_signs": "Before",
                                    "domains": {"other": {"level": "low"}}}),
                   "draft")


BAD = [
    ({"domains": {"bogus": {"level": "low"}}}, "domains.bogus",
     "Unknown risk domain"),
    ({"domains": {"suicide_self_harm": {"level": "extreme"}}},
     "domains.suicide_self_harm.level", None),
    ({"domains": {"suicide_self_harm": {"history": "No level given"}}},
     "domains.suicide_self_harm.level", None),
    ({"overall_level": "severe"}, "overall_level", None),
    ({"warning_signs": "w" * 5001}, "warning_signs", None),
    ({"crisis_numbers": "1" * 2001}, "crisis_numbers", None),
    ({"user_view": "v" * 5001}, "user_view", None),
    ({"not_discussed_user_reason": "r" * 2001}, "not_discussed_user_reason",
     None),
]


@pytest.mark.parametrize("body,field,message", BAD,
                         ids=[b[1] for b in BAD])
def test_bad_save_422(staff, draft, db, body, field, message):
    c = staff("coord.north")
    before = stored(db, draft["id"])
    # A valid change sent alongside must not be stored either.
    r = risk_save(c, draft, dict(body, what_helps="Should not be saved"))
    assert r.status_code == 422, describe(r)
    errors = json_of(r)["errors"]
    assert field in errors, errors
    if message:
        assert errors[field] == message
    assert stored(db, draft["id"]) == before
    assert db.scalar("SELECT what_helps FROM risk_assessment WHERE id = %s",
                     (draft["id"],)) is None


def test_domain_text_over_limit_422(staff, draft, db):
    c = staff("coord.north")
    before = stored(db, draft["id"])
    r = risk_save(c, draft, {"domains": {"self_neglect": {
        "level": "low", "history": "h" * 5001}}})
    assert r.status_code == 422, describe(r)
    errors = json_of(r)["errors"]
    assert any("self_neglect" in k and "history" in k for k in errors), errors
    assert stored(db, draft["id"]) == before


def test_text_at_limit_is_stored(staff, draft, db):
    c = staff("coord.north")
    r = risk_save(c, draft, {"warning_signs": "w" * 5000,
                             "crisis_numbers": "1" * 2000})
    a = risk_ok(r, "draft")
    assert len(a["warning_signs"]) == 5000
    assert a["version"] > draft["version"]


def test_incomplete_submit_422(staff, draft, db):
    c = staff("coord.north")
    before = stored(db, draft["id"])
    r = risk_act(c, draft, "submit")
    assert r.status_code == 422, describe(r)
    errors = json_of(r)["errors"]
    missing = {f"domains.{d}.level" for d in RISK_DOMAINS if d != "other"} | {
        "what_helps", "crisis_numbers", "discussed_with_user",
        "discussed_with_carer"}
    assert missing <= set(errors), sorted(missing - set(errors))
    assert "overall_level" not in errors and "warning_signs" not in errors, \
        errors
    assert "domains.other.level" not in errors, errors
    assert stored(db, draft["id"]) == before


def test_submit_needs_reasons_when_not_discussed(staff, risk_case, db):
    c = staff("coord.north")
    a = risk_start(c, risk_case()["person"]["id"])
    body = risk_content("low", "low")
    body.update(discussed_with_user=False, not_discussed_user_reason=None,
                discussed_with_carer=False, not_discussed_carer_reason=None)
    a = risk_ok(risk_save(c, a, body), "draft")
    r = risk_act(c, a, "submit")
    assert r.status_code == 422, describe(r)
    errors = json_of(r)["errors"]
    assert {"not_discussed_user_reason", "not_discussed_carer_reason"} <= \
        set(errors), errors
    assert db.scalar("SELECT status FROM risk_assessment WHERE id = %s",
                     (a["id"],)) == "draft"
    # With the reasons given it goes through.
    a = risk_ok(risk_save(c, a, {"not_discussed_user_reason": "Too unwell",
                                 "not_discussed_carer_reason": "No carer"}),
                "draft")
    risk_ok(risk_act(c, a, "submit"), "approved")


def test_no_open_episode_in_my_teams_422(staff, risk_case, db):
    """A person whose only episode is closed has nothing to assess under."""
    c = staff("coord.north")
    case = risk_case()
    ep = case["episode"]
    r = c.post(f"/api/v1/episodes/{ep['id']}/close",
               json={"end_reason": "moved_away", "version": ep["version"]})
    assert r.status_code == 200, describe(r)
    r = c.post(f"/api/v1/service-users/{case['person']['id']}"
               "/risk-assessments", json={})
    assert r.status_code == 422, describe(r)
    assert "episode_id" in json_of(r)["errors"]
    assert db.scalar("SELECT count(*) FROM risk_assessment "
                     "WHERE service_user_id = %s",
                     (case["person"]["id"],)) == 0
