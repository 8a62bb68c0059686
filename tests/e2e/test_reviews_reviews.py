"""CPA reviews (cpa-reviews): the first review is due by the site's policy
for the episode's level; holding the due review records it and opens the
next one by policy (a change of level uses the new level's interval and is
not brought forward again; a discharge closes the episode and nothing more
is due); holding twice or with a stale version is a conflict; bad input is
422 naming the fields, including a next date beyond the policy; a level
change made through intake brings the due review forward; the coordinator's
and the manager's lists show what is due with overdue flags; other sites
get 404 and other teams 403, both audited; reads and changes are audited;
the page's form records a review with its defaults and escapes what people
typed."""

import calendar
import datetime
from concurrent.futures import ThreadPoolExecutor

import pytest

from cpa_e2e import (HTML, assert_denied, browser_body, describe, form_of,
                     get_json, html_text, is_html, json_of, unique_reason)

REVIEW_KEYS = {
    "id", "site_id", "service_user_id", "episode_id", "status", "due_date",
    "due_reason", "created_at", "held_on", "attended_user", "attended_carer",
    "attended_coordinator", "attended_others", "outcome", "new_level",
    "notes", "care_plan_version_id", "next_due_date", "exp_involved",
    "exp_choice", "exp_knows_plan", "exp_knows_medication",
    "exp_knows_complain", "exp_satisfaction", "recorded_by",
    "recorded_by_name", "recorded_at", "version", "overdue", "days_overdue"}
MONTHS = {"standard": 6, "enhanced": 3, "complex": 3, "non_cpa": 12}


pytestmark = pytest.mark.usefixtures("reviews_up")


def add_months(d, n):
    """d plus n calendar months, clamped to the month's last day (as
    PostgreSQL adds an interval of months to a date)."""
    y, m = divmod(d.month - 1 + n, 12)
    y += d.year
    last = calendar.monthrange(y, m + 1)[1]
    return d.replace(year=y, month=m + 1, day=min(d.day, last))


def iso(d):
    return d.isoformat()


@pytest.fixture
def today(db):
    """The database's current date (the one the rules use)."""
    return db.scalar("SELECT current_date")


def person_reviews(c, su):
    return get_json(c, f"/api/v1/service-users/{su}/reviews")


def due_of(c, su):
    due = person_reviews(c, su)["due"]
    assert due is not None, f"no review due for person {su}"
    return due


def hold_body(review, day, **over):
    body = {"version": review["version"], "held_on": iso(day),
            "attended_user": True, "attended_carer": False,
            "attended_coordinator": True, "outcome": "continue"}
    body.update(over)
    return body


def hold(c, review, day, **over):
    return c.post(f"/api/v1/reviews/{review['id']}/hold",
                  json=hold_body(review, day, **over))


def review_rows(db, episode_id):
    return db.all("SELECT id, status, due_date, due_reason, held_on, outcome, "
                  "next_due_date, version FROM cpa_review WHERE episode_id = %s "
                  "ORDER BY id", (episode_id,))


# ------------------------------------------------------------ due dates

@pytest.mark.parametrize("level", ["standard", "enhanced"])
def test_first_review_due_by_policy(case, today, level):
    made = case(level)
    body = person_reviews(made["c"], made["person"]["id"])
    due = body["due"]
    assert REVIEW_KEYS <= set(due), set(due) ^ REVIEW_KEYS
    assert due["status"] == "due" and due["due_reason"] == "first"
    assert due["due_date"] == iso(add_months(today, MONTHS[level])), due
    assert due["overdue"] is False and due["days_overdue"] == 0
    assert body["held"] == []
    ep = body["episode"]
    assert ep["id"] == made["episode"]["id"] and ep["level"] == level
    assert ep["team_name"] == "Riverside Community Mental Health Team"
    assert ep["coordinator"]["id"] == made["c"].user["id"]


def test_hold_continue_opens_next_by_policy(case, today, db, audit):
    made = case("standard")
    c, su = made["c"], made["person"]["id"]
    due = due_of(c, su)
    mark = audit.mark()
    r = hold(c, due, today, attended_others="GP, advocate",
             notes="Going well", exp_involved="yes", exp_choice="partly",
             exp_knows_plan="no", exp_knows_medication="declined",
             exp_knows_complain="yes", exp_satisfaction=4)
    assert r.status_code == 200, describe(r)
    body = json_of(r)
    held, nxt = body["review"], body["next"]
    assert held["id"] == due["id"] and held["status"] == "held"
    assert held["held_on"] == iso(today) and held["outcome"] == "continue"
    assert held["attended_user"] is True and held["attended_carer"] is False
    assert held["attended_others"] == "GP, advocate"
    assert held["exp_choice"] == "partly" and held["exp_satisfaction"] == 4
    assert held["recorded_by"] == c.user["id"]
    assert held["recorded_by_name"] == c.user["display_name"]
    assert held["next_due_date"] == iso(add_months(today, 6))
    assert held["version"] == due["version"] + 1
    assert nxt["status"] == "due" and nxt["due_reason"] == "policy"
    assert nxt["due_date"] == iso(add_months(today, 6))
    after = person_reviews(c, su)
    assert after["due"]["id"] == nxt["id"]
    assert [h["id"] for h in after["held"]] == [due["id"]]
    rows = review_rows(db, made["episode"]["id"])
    assert [r_["status"] for r_ in rows] == ["held", "due"]
    rows = audit.since(mark, action="review_held")
    assert len(rows) == 1, rows
    assert rows[0]["entity_type"] == "cpa_review"
    assert rows[0]["entity_id"] == str(due["id"])
    assert rows[0]["service_user_id"] == su
    assert rows[0]["site_id"] == made["episode"]["site_id"]
    assert rows[0]["username"] == "coord.north"


def test_next_date_earlier_than_policy_is_kept(case, today):
    made = case("standard")
    due = due_of(made["c"], made["person"]["id"])
    want = today + datetime.timedelta(days=40)
    r = hold(made["c"], due, today, next_due_date=iso(want))
    assert r.status_code == 200, describe(r)
    assert json_of(r)["next"]["due_date"] == iso(want)


def test_hold_change_level_uses_new_interval(case, today, db):
    made = case("standard")
    c, su, ep = made["c"], made["person"]["id"], made["episode"]["id"]
    due = due_of(c, su)
    r = hold(c, due, today, outcome="change_level", new_level="enhanced")
    assert r.status_code == 200, describe(r)
    body = json_of(r)
    assert body["review"]["new_level"] == "enhanced"
    nxt = body["next"]
    # Enhanced: three months from the review; not brought forward to
    # within 28 days by the level change the review itself made.
    assert nxt["due_date"] == iso(add_months(today, 3)), nxt
    assert nxt["due_reason"] == "policy"
    assert db.scalar("SELECT level FROM episode WHERE id = %s", (ep,)) == "enhanced"
    ev = db.all("SELECT from_value, to_value FROM episode_event "
                "WHERE episode_id = %s AND kind = 'level_changed'", (ep,))
    assert ev == [{"from_value": "standard", "to_value": "enhanced"}]
    assert person_reviews(c, su)["episode"]["level"] == "enhanced"
    assert [r_["status"] for r_ in review_rows(db, ep)] == ["held", "due"]


def test_hold_discharge_closes_episode(case, today, db):
    made = case("enhanced")
    c, su, ep = made["c"], made["person"]["id"], made["episode"]["id"]
    due = due_of(c, su)
    r = hold(c, due, today, outcome="discharge", end_reason="discharged_to_gp")
    assert r.status_code == 200, describe(r)
    body = json_of(r)
    assert body["next"] is None
    assert body["review"]["outcome"] == "discharge"
    assert body["review"]["next_due_date"] is None
    e = db.one("SELECT ended_at, end_reason FROM episode WHERE id = %s", (ep,))
    assert e["ended_at"] is not None and e["end_reason"] == "discharged_to_gp"
    assert db.scalar("SELECT count(*) FROM coordinator_assignment "
                     "WHERE episode_id = %s AND ended_at IS NULL", (ep,)) == 0
    assert db.scalar("SELECT count(*) FROM episode_event WHERE episode_id = %s "
                     "AND kind = 'closed'", (ep,)) == 1
    assert db.scalar("SELECT count(*) FROM cpa_review WHERE episode_id = %s "
                     "AND status = 'due'", (ep,)) == 0
    after = person_reviews(c, su)
    assert after["due"] is None
    assert [h["id"] for h in after["held"]] == [due["id"]]
    assert after["episode"]["ended_at"] is not None


def test_hold_twice_and_stale_version_conflict(case, today, db):
    made = case("standard")
    c, ep = made["c"], made["episode"]["id"]
    due = due_of(c, made["person"]["id"])
    r = hold(c, due, today, version=due["version"] + 1)
    assert r.status_code == 409, describe(r)
    assert "changed" in json_of(r)["error"]
    assert [x["status"] for x in review_rows(db, ep)] == ["due"]
    r = hold(c, due, today)
    assert r.status_code == 200, describe(r)
    before = review_rows(db, ep)
    again = dict(due, version=json_of(r)["review"]["version"])
    r = hold(c, again, today)
    assert r.status_code == 409, describe(r)
    assert json_of(r)["error"] == "Cannot hold: the review is held"
    assert review_rows(db, ep) == before


def test_two_holds_at_once_one_wins(case, today, db, coord2, signin):
    made = case("standard")
    ep = made["episode"]["id"]
    due = due_of(made["c"], made["person"]["id"])
    other = signin(coord2["username"], coord2["password"])
    clients = [made["c"], other]
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda c: hold(c, due, today), clients))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200, 409], [describe(r) for r in answers]
    rows = review_rows(db, ep)
    assert [x["status"] for x in rows] == ["held", "due"], rows
    other.delete("/api/v1/session")


def test_bad_input_is_422_naming_fields(case, today, db):
    made = case("standard")
    c, ep = made["c"], made["episode"]["id"]
    due = due_of(c, made["person"]["id"])
    policy = add_months(today, 6)
    tomorrow = today + datetime.timedelta(days=1)
    cases = [
        ({"next_due_date": iso(policy + datetime.timedelta(days=1))},
         "next_due_date", f"must be no later than {iso(policy)}"),
        ({"next_due_date": iso(today)}, "next_due_date", "after the date held"),
        ({"outcome": "change_level"}, "new_level", "Select the new level"),
        ({"outcome": "change_level", "new_level": "standard"}, "new_level",
         "already at that level"),
        ({"outcome": "change_level", "new_level": "complex"}, "new_level",
         "this site uses"),
        ({"outcome": "discharge"}, "end_reason", None),
        ({"outcome": "continue", "new_level": "enhanced"}, "new_level", None),
        ({"outcome": "discharge", "end_reason": "moved_away",
          "next_due_date": iso(policy)}, "next_due_date", None),
        ({"held_on": iso(tomorrow)}, "held_on", "today or in the past"),
        ({"held_on": "2025-02-30"}, "held_on", None),
        ({"outcome": "adjourned"}, "outcome", None),
        ({"attended_user": None}, "attended_user", None),
        ({"attended_carer": "yes"}, "attended_carer", None),
        ({"exp_involved": "maybe"}, "exp_involved", None),
        ({"exp_satisfaction": 6}, "exp_satisfaction", None),
        ({"notes": "x" * 5001}, "notes", None),
        ({"attended_others": "x" * 1001}, "attended_others", None),
        ({"version": None}, "version", None),
    ]
    for over, field, words in cases:
        body = hold_body(due, today, **over)
        body = {k: v for k, v in body.items() if v is not None}
        r = c.post(f"/api/v1/reviews/{due['id']}/hold", json=body)
        assert r.status_code == 422, (over, describe(r))
        errors = json_of(r)["errors"]
        assert field in errors, (over, errors)
        if words:
            assert words in errors[field], (over, errors)
    # Several faults at once are all named.
    r = hold(c, due, tomorrow, outcome="change_level", new_level="complex",
             next_due_date=iso(tomorrow))
    assert r.status_code == 422, describe(r)
    assert {"held_on", "new_level", "next_due_date"} <= set(json_of(r)["errors"])
    assert [x["status"] for x in review_rows(db, ep)] == ["due"]


def test_held_on_before_episode_start(case, today, db):
    made = case("standard")
    ep = made["episode"]["id"]
    db.all("UPDATE episode SET started_at = started_at - interval '10 days' "
           "WHERE id = %s RETURNING id", (ep,))
    due = due_of(made["c"], made["person"]["id"])
    r = hold(made["c"], due, today - datetime.timedelta(days=11))
    assert r.status_code == 422, describe(r)
    assert "before the episode started" in json_of(r)["errors"]["held_on"]
    r = hold(made["c"], due, today - datetime.timedelta(days=10))
    assert r.status_code == 200, describe(r)


def test_care_plan_version_must_be_the_episodes(case, today, db):
    made = case("standard")
    other = case("standard")

    def plan_version(episode):
        plan = db.one("INSERT INTO care_plan (site_id, service_user_id, "
                      "episode_id) VALUES (%s, %s, %s) RETURNING id",
                      (episode["site_id"], episode["service_user_id"],
                       episode["id"]))["id"]
        v = db.one("INSERT INTO care_plan_version (site_id, care_plan_id, number, "
                   "created_by) VALUES (%s, %s, 1, %s) RETURNING id",
                   (episode["site_id"], plan, made["c"].user["id"]))["id"]
        db.all("UPDATE care_plan SET current_version_id = %s, version = 1 "
               "WHERE id = %s RETURNING id", (v, plan))
        return v

    mine = plan_version(made["episode"])
    theirs = plan_version(other["episode"])
    due = due_of(made["c"], made["person"]["id"])
    r = hold(made["c"], due, today, care_plan_version_id=theirs)
    assert r.status_code == 422, describe(r)
    assert "care_plan_version_id" in json_of(r)["errors"]
    # Left out, it is the plan's current version.
    r = hold(made["c"], due, today)
    assert r.status_code == 200, describe(r)
    assert json_of(r)["review"]["care_plan_version_id"] == mine


def test_level_change_through_intake_brings_review_forward(case, today, staff):
    made = case("standard")
    c, su = made["c"], made["person"]["id"]
    before = due_of(c, su)
    assert before["due_date"] == iso(add_months(today, 6))
    r = c.post(f"/api/v1/episodes/{made['episode']['id']}/level",
               json={"level": "enhanced", "reason": unique_reason("Worse"),
                     "version": made["episode"]["version"]})
    assert r.status_code == 200, describe(r)
    after = due_of(c, su)
    assert after["id"] == before["id"]
    assert after["due_reason"] == "level_change"
    assert after["due_date"] == iso(today + datetime.timedelta(days=28))
    assert after["version"] == before["version"] + 1


# ---------------------------------------------------------------- lists

def test_lists_mine_and_team_with_overdue(case, today, db, staff, coord2,
                                          signin, audit):
    mine = case("standard")
    theirs = case("standard", coordinator=coord2["id"])
    far = case("standard")
    c = staff("coord.north")
    late = due_of(c, mine["person"]["id"])
    other = due_of(c, theirs["person"]["id"])
    later = due_of(c, far["person"]["id"])
    db.all("UPDATE cpa_review SET due_date = current_date - 10 WHERE id IN (%s, %s) "
           "RETURNING id", (late["id"], other["id"]))
    db.all("UPDATE cpa_review SET due_date = current_date + 40 WHERE id = %s "
           "RETURNING id", (later["id"],))

    mark = audit.mark()
    r = c.get("/api/v1/reviews")
    assert r.status_code == 200, describe(r)
    body = json_of(r)
    assert body["scope"] == "mine" and body["within"] == 28
    ids = [x["id"] for x in body["reviews"]]
    assert late["id"] in ids and other["id"] not in ids
    assert later["id"] not in ids
    row = next(x for x in body["reviews"] if x["id"] == late["id"])
    assert row["overdue"] is True and row["days_overdue"] == 10
    assert row["due_date"] == iso(today - datetime.timedelta(days=10))
    assert row["service_user"]["id"] == mine["person"]["id"]
    assert row["episode_id"] == mine["episode"]["id"]
    assert row["coordinator"]["id"] == c.user["id"]
    assert row["team_name"] == "Riverside Community Mental Health Team"
    assert body["overdue_count"] >= 1
    dates = [x["due_date"] for x in body["reviews"]]
    assert dates == sorted(dates)
    rows = audit.since(mark, action="read", entity_type="review_list")
    assert len(rows) == 1, rows

    r = c.get("/api/v1/reviews?within=60")
    assert later["id"] in [x["id"] for x in json_of(r)["reviews"]]

    for bad in ("400", "-1", "abc"):
        r = c.get(f"/api/v1/reviews?within={bad}")
        assert r.status_code == 422, describe(r)
        assert "within" in json_of(r)["errors"]
    r = c.get("/api/v1/reviews?scope=everyone")
    assert r.status_code == 422 and "scope" in json_of(r)["errors"]

    mark = audit.mark()
    r = c.get("/api/v1/reviews?scope=team")
    assert r.status_code == 403, describe(r)
    assert audit.since(mark, action="access_denied", username="coord.north")

    tm = staff("tm.north")
    r = tm.get("/api/v1/reviews")
    assert r.status_code == 200, describe(r)
    body = json_of(r)
    assert body["scope"] == "team"
    ids = [x["id"] for x in body["reviews"]]
    assert late["id"] in ids and other["id"] in ids
    row = next(x for x in body["reviews"] if x["id"] == other["id"])
    assert row["overdue"] is True and row["coordinator"]["id"] == coord2["id"]
    assert body["overdue_count"] >= 2

    c2 = signin(coord2["username"], coord2["password"])
    ids = [x["id"] for x in json_of(c2.get("/api/v1/reviews"))["reviews"]]
    assert other["id"] in ids and late["id"] not in ids
    c2.delete("/api/v1/session")

    r = tm.get("/reviews", headers=HTML)
    assert r.status_code == 200 and is_html(r), describe(r)
    assert "Overdue by 10 days" in html_text(r)
    r = c.get("/reviews.json")
    assert r.status_code == 200 and json_of(r)["scope"] == "mine"


# --------------------------------------------------------------- access

def test_other_site_gets_404_audited(case, today, staff, db, audit):
    made = case("standard")
    due = due_of(made["c"], made["person"]["id"])
    south = staff("coord.south")
    before = review_rows(db, made["episode"]["id"])
    su = made["person"]["id"]
    attempts = [
        ("GET", f"/api/v1/reviews/{due['id']}", None, due["id"]),
        ("POST", f"/api/v1/reviews/{due['id']}/hold", hold_body(due, today),
         due["id"]),
        ("GET", f"/api/v1/service-users/{su}/reviews", None, su),
        ("GET", f"/reviews/{due['id']}", None, due["id"]),
    ]
    assert_denied(audit, south, 404, attempts)
    assert review_rows(db, made["episode"]["id"]) == before
    ids = [x["id"] for x in json_of(south.get("/api/v1/reviews?within=365"))["reviews"]]
    assert due["id"] not in ids


def test_other_team_gets_403_audited(case, today, make_team_staff, teams,
                                     signin, db, audit):
    made = case("standard")
    due = due_of(made["c"], made["person"]["id"])
    moor = make_team_staff("moorrev", "coordinator", teams["north_moorland_cmht"])
    c = signin(moor["username"], moor["password"])
    before = review_rows(db, made["episode"]["id"])
    su = made["person"]["id"]
    assert_denied(audit, c, 403, [
        ("GET", f"/api/v1/reviews/{due['id']}", None, None),
        ("POST", f"/api/v1/reviews/{due['id']}/hold", hold_body(due, today),
         None),
        ("GET", f"/api/v1/service-users/{su}/reviews", None, None)],
        service_user_id=su)
    assert review_rows(db, made["episode"]["id"]) == before
    c.delete("/api/v1/session")


def test_reads_are_audited(case, audit):
    made = case("standard")
    c, su = made["c"], made["person"]["id"]
    mark = audit.mark()
    due = due_of(c, su)
    rows = audit.since(mark, action="read", entity_type="cpa_review")
    assert len(rows) == 1 and rows[0]["service_user_id"] == su, rows
    mark = audit.mark()
    r = c.get(f"/api/v1/reviews/{due['id']}")
    assert r.status_code == 200, describe(r)
    body = json_of(r)
    assert body["review"]["id"] == due["id"]
    assert body["service_user"]["id"] == su
    rows = audit.since(mark, action="read", entity_type="cpa_review")
    assert [row["entity_id"] for row in rows] == [str(due["id"])]


def test_missing_review_and_person(staff):
    c = staff("coord.north")
    assert c.get("/api/v1/reviews/999999999").status_code == 404
    assert c.get("/api/v1/service-users/999999999/reviews").status_code == 404
    r = c.post("/api/v1/reviews/999999999/hold",
               json=hold_body({"version": 1}, datetime.date.today()))
    assert r.status_code == 404, describe(r)


# ----------------------------------------------------------------- pages

def test_page_form_records_review_with_defaults(case, today, db):
    made = case("standard")
    c, su = made["c"], made["person"]["id"]
    due = due_of(c, su)
    r = c.get(f"/service-users/{su}/reviews", headers=HTML)
    assert r.status_code == 200 and is_html(r), describe(r)
    assert f'href="/reviews/{due["id"]}"' in r.text
    assert f'href="/service-users/{su}"' in r.text
    r = c.get(f"/reviews/{due['id']}", headers=HTML)
    assert r.status_code == 200 and is_html(r), describe(r)
    form = form_of(r.text, f"/reviews/{due['id']}/hold")
    body = browser_body(form, {"notes": "<script>alert(1)</script> & more"})
    assert body["csrf_token"] and body["version"] == str(due["version"])
    assert body["held_on"] == iso(today)
    assert body["outcome"] == "continue"
    assert body["attended_user"] == "true" and body["attended_carer"] == "false"
    r = c.post(f"/reviews/{due['id']}/hold", data=body)
    assert r.status_code == 303, describe(r)
    assert r.headers["Location"] == f"/service-users/{su}/reviews"
    rows = review_rows(db, made["episode"]["id"])
    assert [x["status"] for x in rows] == ["held", "due"]
    r = c.get(f"/reviews/{due['id']}", headers=HTML)
    assert "<script>alert(1)" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in r.text


def test_page_shows_errors(case, today):
    made = case("standard")
    c = made["c"]
    due = due_of(c, made["person"]["id"])
    r = c.get(f"/reviews/{due['id']}", headers=HTML)
    form = form_of(r.text, f"/reviews/{due['id']}/hold")
    body = browser_body(form, {"outcome": "change_level",
                            "held_on": iso(today + datetime.timedelta(days=2))})
    r = c.post(f"/reviews/{due['id']}/hold", data=body)
    assert r.status_code == 422 and is_html(r), describe(r)
    text = html_text(r)
    assert "There is a problem" in text
    assert 'href="#new_level"' in r.text
    assert "Select the new level of care" in text
    # What is typed stays; the database's checks are shown the same way.
    assert 'value="change_level" checked' in r.text
    form = form_of(r.text, f"/reviews/{due['id']}/hold")
    body = browser_body(form, {"new_level": "enhanced"})
    assert body["held_on"] == iso(today + datetime.timedelta(days=2))
    r = c.post(f"/reviews/{due['id']}/hold", data=body)
    assert r.status_code == 422 and is_html(r), describe(r)
    assert 'href="#held_on"' in r.text
    assert "Date held must be today or in the past" in html_text(r)
    assert 'value="enhanced" selected' in r.text
