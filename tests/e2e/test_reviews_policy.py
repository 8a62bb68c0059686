"""A site's reminder policy on cpa-reviews: only the site's trust_admin sees
and changes it (others 403, another site's admin 404), per kind the steps
in force (the site's own or the trust's defaults, saying which), input
checked field by field, going back to the defaults, and open items moved to
the new steps at once (007's remind_reschedule)."""

import re

import pytest

from cpa_e2e import HTML, describe, get_json, html_text, json_of

KINDS = ["cpa_review", "risk_review", "followup", "carer_assessment"]
DEFAULT_CPA_REVIEW = [
    {"step": 1, "offset_days": -14, "recipient": "coordinator"},
    {"step": 2, "offset_days": -2, "recipient": "coordinator"},
    {"step": 3, "offset_days": 1, "recipient": "team_manager"},
    {"step": 4, "offset_days": 28, "recipient": "district_manager"},
]


pytestmark = pytest.mark.usefixtures("reviews_up")


@pytest.fixture
def north(as_demo, sites):
    """admin.north signed in; every kind of north's policy is back on the
    trust's defaults afterwards."""
    c = as_demo("admin.north")
    c.site_id = sites["north"]["id"]
    yield c
    for kind in KINDS:
        r = c.put(f"/api/v1/reminder-policy/{c.site_id}",
                  json={"kind": kind, "use_defaults": True})
        assert r.status_code == 200, describe(r)
    c.delete("/api/v1/session")


def policy(c, site_id):
    return get_json(c, f"/api/v1/reminder-policy/{site_id}")


def kind_of(body, kind):
    found = [k for k in body["kinds"] if k["kind"] == kind]
    assert len(found) == 1, body
    return found[0]


# ------------------------------------------------------------------ access

def test_only_the_sites_trust_admin(north, as_demo, sites, audit):
    body = policy(north, north.site_id)
    assert body["site"] == {"id": north.site_id, "name": sites["north"]["name"]}
    assert [k["kind"] for k in body["kinds"]] == KINDS
    for k in body["kinds"]:
        assert k["uses"] == "defaults" and k["steps"] == k["defaults"]
    assert kind_of(body, "cpa_review")["steps"] == DEFAULT_CPA_REVIEW
    assert kind_of(body, "followup")["steps"][0] == \
        {"step": 1, "offset_hours": -48, "recipient": "coordinator"}

    # Staff without the role: 403 (the route needs trust_admin).
    for user in ("coord.north", "tm.north", "auditor.north"):
        c = as_demo(user)
        r = c.get(f"/api/v1/reminder-policy/{north.site_id}")
        assert r.status_code == 403, (user, describe(r))
        r = c.put(f"/api/v1/reminder-policy/{north.site_id}",
                  json={"kind": "cpa_review", "use_defaults": True})
        assert r.status_code == 403, (user, describe(r))
        c.delete("/api/v1/session")

    # Another site's admin: not found, audited; nothing changes.
    south = as_demo("admin.south")
    mark = audit.mark()
    r = south.get(f"/api/v1/reminder-policy/{north.site_id}")
    assert r.status_code == 404, describe(r)
    r = south.put(f"/api/v1/reminder-policy/{north.site_id}", json={
        "kind": "cpa_review",
        "steps": [{"offset_days": -3, "recipient": "coordinator"}]})
    assert r.status_code == 404, describe(r)
    denied = audit.since(mark, action="access_denied", staff_id=south.user["id"])
    assert len(denied) == 2 and {d["entity_type"] for d in denied} == {"site"}
    assert kind_of(policy(north, north.site_id), "cpa_review")["uses"] == "defaults"
    r = south.get("/api/v1/reminder-policy/0")
    assert r.status_code == 404, describe(r)
    south.delete("/api/v1/session")


def test_an_admin_of_one_site_with_a_clinical_role_at_another_is_refused(
        make_staff, sites, signin, db, audit):
    """A trust_admin at south who is a practitioner at north sees north (the
    site is one of theirs) but is not its admin: 403, audited."""
    s = make_staff("poladm", site="south", role="trust_admin")
    db.scalar("INSERT INTO staff_role (staff_id, role, site_id)"
              " VALUES (%s, 'practitioner', %s) RETURNING id",
              (s["id"], sites["north"]["id"]))
    c = signin(s["username"], s["password"])
    mark = audit.mark()
    r = c.get(f"/api/v1/reminder-policy/{sites['north']['id']}")
    assert r.status_code == 403, describe(r)
    r = c.put(f"/api/v1/reminder-policy/{sites['north']['id']}",
              json={"kind": "followup", "use_defaults": True})
    assert r.status_code == 403, describe(r)
    denied = audit.since(mark, action="access_denied", staff_id=s["id"],
                         entity_type="reminder_policy")
    assert len(denied) == 2
    assert policy(c, sites["south"]["id"])["site"]["id"] == sites["south"]["id"]
    c.delete("/api/v1/session")


# -------------------------------------------------------------- validation

@pytest.mark.parametrize("body, fields", [
    ({}, {"kind"}),
    ({"kind": "birthday", "use_defaults": True}, {"kind"}),
    ({"kind": "cpa_review"}, {"steps"}),
    ({"kind": "cpa_review", "steps": []}, {"steps"}),
    ({"kind": "cpa_review", "steps": "soon"}, {"steps"}),
    ({"kind": "cpa_review", "steps": [
        {"offset_days": d, "recipient": "coordinator"} for d in range(10)]},
     {"steps"}),
    ({"kind": "cpa_review", "steps": [{"recipient": "coordinator"}]},
     {"steps.1.offset"}),
    ({"kind": "cpa_review", "steps": [
        {"offset_days": -2, "offset_hours": -48, "recipient": "coordinator"}]},
     {"steps.1.offset"}),
    ({"kind": "cpa_review", "steps": [
        {"offset_days": 1.5, "recipient": "coordinator"}]}, {"steps.1.offset"}),
    ({"kind": "cpa_review", "steps": [
        {"offset_days": "-2", "recipient": "coordinator"}]}, {"steps.1.offset"}),
    ({"kind": "cpa_review", "steps": [
        {"offset_days": -366, "recipient": "coordinator"}]}, {"steps.1.offset"}),
    ({"kind": "cpa_review", "steps": [
        {"offset_hours": 8761, "recipient": "coordinator"}]}, {"steps.1.offset"}),
    ({"kind": "cpa_review", "steps": [
        {"offset_days": -2, "recipient": "coordinator"},
        {"offset_hours": -48, "recipient": "team_manager"}]}, {"steps.2.offset"}),
    ({"kind": "cpa_review", "steps": [
        {"offset_days": 3, "recipient": "coordinator"},
        {"offset_days": 1, "recipient": "team_manager"},
        {"offset_days": 5, "recipient": "chief_executive"}]},
     {"steps.2.offset", "steps.3.recipient"}),
    ({"kind": "cpa_review", "use_defaults": True,
      "steps": [{"offset_days": 1, "recipient": "coordinator"}]}, {"steps"}),
    ({"kind": "cpa_review", "use_defaults": "maybe"}, {"use_defaults"}),
])
def test_bad_input_is_422_naming_the_field(north, body, fields, db):
    r = north.put(f"/api/v1/reminder-policy/{north.site_id}", json=body)
    assert r.status_code == 422, describe(r)
    errors = json_of(r)["errors"]
    assert fields <= set(errors), errors
    assert db.scalar("SELECT count(*) FROM reminder_step WHERE site_id = %s",
                     (north.site_id,)) == 0


# ------------------------------------------------- site rows and defaults

def test_site_steps_then_back_to_defaults(north, as_demo, sites, db, audit):
    steps = [{"offset_days": -7, "recipient": "coordinator"},
             {"offset_hours": -6, "recipient": "coordinator"},
             {"offset_days": 0, "recipient": "team_manager"},
             {"offset_hours": 36, "recipient": "district_manager"}]
    mark = audit.mark()
    r = north.put(f"/api/v1/reminder-policy/{north.site_id}",
                  json={"kind": "cpa_review", "steps": steps})
    assert r.status_code == 200, describe(r)
    body = json_of(r)
    assert isinstance(body["rescheduled"], int)
    k = kind_of(body, "cpa_review")
    assert k["uses"] == "site"
    assert k["steps"] == [dict(s, step=i + 1) for i, s in enumerate(steps)]
    assert k["defaults"] == DEFAULT_CPA_REVIEW
    for other in KINDS[1:]:
        assert kind_of(body, other)["uses"] == "defaults"
    assert db.all("SELECT step, offset_by::text AS o, recipient FROM reminder_step"
                  " WHERE site_id = %s AND kind = 'cpa_review' ORDER BY step",
                  (north.site_id,)) == [
        {"step": 1, "o": "-7 days", "recipient": "coordinator"},
        {"step": 2, "o": "-06:00:00", "recipient": "coordinator"},
        {"step": 3, "o": "00:00:00", "recipient": "team_manager"},
        {"step": 4, "o": "36:00:00", "recipient": "district_manager"}]
    rows = audit.since(mark, action="reminder_policy_changed")
    assert len(rows) == 1
    assert rows[0]["site_id"] == north.site_id and rows[0]["service_user_id"] is None
    assert rows[0]["detail"].startswith("cpa_review: -7 days coordinator")

    # South still follows the defaults.
    south = as_demo("admin.south")
    assert kind_of(policy(south, sites["south"]["id"]), "cpa_review")["uses"] == "defaults"
    south.delete("/api/v1/session")

    # A shorter list replaces the longer one entirely.
    r = north.put(f"/api/v1/reminder-policy/{north.site_id}", json={
        "kind": "cpa_review", "steps": [{"offset_days": -1, "recipient": "coordinator"}]})
    assert r.status_code == 200, describe(r)
    assert kind_of(json_of(r), "cpa_review")["steps"] == \
        [{"step": 1, "offset_days": -1, "recipient": "coordinator"}]

    r = north.put(f"/api/v1/reminder-policy/{north.site_id}",
                  json={"kind": "cpa_review", "use_defaults": True})
    assert r.status_code == 200, describe(r)
    k = kind_of(json_of(r), "cpa_review")
    assert k["uses"] == "defaults" and k["steps"] == DEFAULT_CPA_REVIEW
    assert db.scalar("SELECT count(*) FROM reminder_step WHERE site_id = %s",
                     (north.site_id,)) == 0


def test_change_reschedules_open_items(north, staff, teams, refer, accept, db):
    c = staff("coord.north")
    made = refer(c, teams["north_riverside_cmht"]["id"])
    episode = accept(c, made["referral"]["id"], c.user["id"])
    review_id = db.scalar(
        "UPDATE cpa_review SET due_date = (now() AT TIME ZONE 'Europe/London')::date + 20"
        " WHERE episode_id = %s AND status = 'due' RETURNING id", (episode["id"],))
    item = "SELECT d.next_step_at = remind_at(d.due_at, %s::interval) FROM due_item d" \
           " WHERE d.kind = 'cpa_review' AND d.source_id = %s"
    assert db.scalar(item, ("-14 days", review_id))

    r = north.put(f"/api/v1/reminder-policy/{north.site_id}", json={
        "kind": "cpa_review", "steps": [
            {"offset_days": -10, "recipient": "coordinator"},
            {"offset_days": 3, "recipient": "team_manager"}]})
    assert r.status_code == 200, describe(r)
    assert json_of(r)["rescheduled"] >= 1
    assert db.scalar(item, ("-10 days", review_id))

    # Hours count as elapsed time from the due time.
    r = north.put(f"/api/v1/reminder-policy/{north.site_id}", json={
        "kind": "cpa_review", "steps": [
            {"offset_hours": -100, "recipient": "coordinator"}]})
    assert r.status_code == 200, describe(r)
    assert db.scalar(item, ("-100 hours", review_id))

    r = north.put(f"/api/v1/reminder-policy/{north.site_id}",
                  json={"kind": "cpa_review", "use_defaults": True})
    assert r.status_code == 200, describe(r)
    assert db.scalar(item, ("-14 days", review_id))

    # Another kind's change leaves this item alone.
    r = north.put(f"/api/v1/reminder-policy/{north.site_id}", json={
        "kind": "followup", "steps": [{"offset_hours": -24, "recipient": "coordinator"}]})
    assert r.status_code == 200, describe(r)
    assert db.scalar(item, ("-14 days", review_id))


# ------------------------------------------------------------------ the page

def test_page_shows_which_steps_and_changes_them(north):
    r = north.get(f"/reminder-policy/{north.site_id}", headers=HTML)
    assert r.status_code == 200, describe(r)
    text = html_text(r)
    assert text.count("The trust's defaults") == 4
    assert "14 days before" in text and "48 hours before" in text
    assert 'action="/reminder-policy/' not in r.text     # no form until asked

    r = north.get(f"/reminder-policy/{north.site_id}?kind=risk_review", headers=HTML)
    assert r.status_code == 200, describe(r)
    assert f'action="/reminder-policy/{north.site_id}"' in r.text
    assert re.search(r'id="steps\.1\.offset"[^>]*value="-14"', r.text)

    form = {"csrf_token": north.csrf, "kind": "risk_review", "use_defaults": "false",
            "steps.1.offset": "-5", "steps.1.unit": "days",
            "steps.1.recipient": "coordinator",
            "steps.2.offset": "", "steps.2.unit": "days", "steps.2.recipient": "",
            "steps.3.offset": "12", "steps.3.unit": "hours",
            "steps.3.recipient": "team_manager"}
    r = north.post(f"/reminder-policy/{north.site_id}", data=form, headers=HTML)
    assert r.status_code == 303, describe(r)
    assert r.headers["Location"] == f"/reminder-policy/{north.site_id}"
    k = kind_of(policy(north, north.site_id), "risk_review")
    assert k["uses"] == "site" and k["steps"] == [
        {"step": 1, "offset_days": -5, "recipient": "coordinator"},
        {"step": 2, "offset_hours": 12, "recipient": "team_manager"}]
    text = html_text(north.get(f"/reminder-policy/{north.site_id}", headers=HTML))
    assert "This site's own steps" in text and "12 hours after" in text

    # Refused: the page comes back with the kind's form as sent.
    form.update({"steps.3.offset": "-200", "steps.3.unit": "hours",
                 "steps.4.offset": "x", "steps.4.recipient": "coordinator"})
    r = north.post(f"/reminder-policy/{north.site_id}", data=form, headers=HTML)
    assert r.status_code == 422, describe(r)
    assert 'href="#steps.3.offset"' in r.text and 'href="#steps.4.offset"' in r.text
    assert re.search(r'id="steps\.3\.offset"[^>]*value="-200"', r.text)
    assert "Each step must come later than the one before it" in html_text(r)
    assert kind_of(policy(north, north.site_id), "risk_review")["steps"][1] == \
        {"step": 2, "offset_hours": 12, "recipient": "team_manager"}
