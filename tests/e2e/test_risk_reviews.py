"""Early risk reviews and the list of risk reviews due.

Asking for an early review (a crisis contact, an admission, ...) makes the
person's current assessment due today, flags it on the list and on the
caseload, and is written down as a risk_event and an audit row; a new
approved assessment starts without a request.  The list shows, for each open
episode in the reader's scope (a manager's teams, else the episodes they
coordinate), the reviews due within N days and the people never assessed,
never assessed first, then the soonest due.  The rule itself is the SQL
function risk_request_review(), bound by row-level security."""

import psycopg2
import pytest

from cpa_e2e import (HTML, caseload_entry, describe, fill_form, form_of,
                     get_json, html_text, json_of, risk_act, risk_content,
                     risk_ok, risk_save, risk_start)

pytestmark = pytest.mark.usefixtures("risk_up")

TRIGGERS = {
    "crisis_contact": "Crisis contact",
    "admission": "Admission",
    "discharge": "Discharge",
    "incident": "Incident",
    "change_in_circumstances": "Change in circumstances",
    "other": "Other",
}
NO_APPROVED = "There is no approved risk assessment to review; start a new one"
REVIEW_KEYS = {"service_user", "episode_id", "team_id", "team_name", "level",
               "coordinator", "assessment_id", "overall_level", "approved_at",
               "next_review_due", "overdue", "days_overdue", "review_requested",
               "review_trigger", "never_assessed", "in_progress"}


# ------------------------------------------------------------------ helpers

def approved(c, pid, overall="low"):
    """A complete assessment of pid, submitted by c and approved at once
    (standard episode, nothing high)."""
    a = risk_start(c, pid)
    a = risk_ok(risk_save(c, a, risk_content(overall, "low")), "draft")
    return risk_ok(risk_act(c, a, "submit"), "approved")


def request(c, pid, trigger="crisis_contact", **body):
    body = dict(body, trigger=trigger)
    return c.post(f"/api/v1/service-users/{pid}/risk-review-requests",
                  json=body)


def review_list(c, within=None):
    path = "/api/v1/risk-reviews"
    if within is not None:
        path += f"?within={within}"
    return get_json(c, path)


def rows_of(body, pid):
    return [row for row in body["reviews"]
            if row["service_user"]["id"] == pid]


def caseload_status(c, pid):
    return caseload_entry(c, pid)["risk_status"]


def today(db):
    return str(db.scalar("SELECT current_date"))


def review_state(db, pid):
    return db.all("SELECT id, status, version, next_review_due, "
                  "review_requested_at, review_trigger, review_reason "
                  "FROM risk_assessment WHERE service_user_id = %s ORDER BY id",
                  (pid,))


def review_events(db, aid):
    return db.all("SELECT comments, by_staff_id FROM risk_event "
                  "WHERE assessment_id = %s AND kind = 'review_requested' "
                  "ORDER BY id", (aid,))


def set_due(db, aid, days):
    """next_review_due = current_date + days, as the superuser."""
    assert db.scalar("UPDATE risk_assessment SET next_review_due = "
                     "current_date + %s WHERE id = %s RETURNING id",
                     (days, aid)) == aid


# -------------------------------------------------------------- requesting

def test_request_makes_review_due_today_listed_and_on_caseload(
        staff, risk_case, db, audit):
    c = staff("coord.north")
    case = risk_case()
    pid = case["person"]["id"]
    a = approved(c, pid)
    assert a["next_review_due"] > today(db)
    # Six months away: not due within 14 days, but within a year.
    assert rows_of(review_list(c), pid) == []
    assert len(rows_of(review_list(c, 365), pid)) == 1

    mark = audit.mark()
    r = request(c, pid, "crisis_contact", details="Called the crisis line")
    assert r.status_code == 200, describe(r)
    got = json_of(r)["assessment"]
    assert got["id"] == a["id"]
    assert got["next_review_due"] == today(db)
    assert got["review_trigger"] == "crisis_contact"
    assert got["review_reason"] == "Called the crisis line"
    assert got["review_requested_at"]

    row = db.one("SELECT review_requested_at IS NOT NULL AS asked, review_trigger,"
                 " review_reason, next_review_due = current_date AS today,"
                 " status FROM risk_assessment WHERE id = %s", (a["id"],))
    assert row == {"asked": True, "review_trigger": "crisis_contact",
                   "review_reason": "Called the crisis line", "today": True,
                   "status": "approved"}
    assert review_events(db, a["id"]) == [
        {"comments": "Crisis contact: Called the crisis line",
         "by_staff_id": c.user["id"]}]
    rows = audit.since(mark, action="risk_review_requested")
    assert len(rows) == 1, rows
    assert rows[0]["entity_type"] == "risk_assessment"
    assert str(rows[0]["entity_id"]) == str(a["id"])
    assert rows[0]["service_user_id"] == pid
    assert rows[0]["site_id"] == case["episode"]["site_id"]
    assert rows[0]["username"] == "coord.north"

    # Due today: on the default list, flagged, not yet overdue.
    listed = rows_of(review_list(c), pid)
    assert len(listed) == 1, listed
    entry = listed[0]
    assert REVIEW_KEYS <= set(entry), entry
    assert entry["assessment_id"] == a["id"]
    assert entry["episode_id"] == case["episode"]["id"]
    assert entry["next_review_due"] == today(db)
    assert entry["review_requested"] is True
    assert entry["review_trigger"] == "crisis_contact"
    assert entry["overdue"] is False and entry["days_overdue"] == 0
    assert entry["never_assessed"] is False
    assert entry["coordinator"] == {"id": c.user["id"],
                                    "display_name": c.user["display_name"]}
    # Within 0 days means due today or overdue: still listed.
    assert len(rows_of(review_list(c, 0), pid)) == 1

    status = caseload_status(c, pid)
    assert status["review_requested"] is True
    assert status["review_trigger"] == "crisis_contact"
    assert status["review_due"] == today(db)
    page = c.get("/caseload", headers=HTML)
    assert page.status_code == 200, describe(page)
    assert "Early review asked for: crisis contact" in html_text(page)


def test_each_trigger_is_recorded(staff, risk_case, db):
    c = staff("coord.north")
    pid = risk_case()["person"]["id"]
    a = approved(c, pid)
    version = db.scalar("SELECT version FROM risk_assessment WHERE id = %s",
                        (a["id"],))
    for n, (code, label) in enumerate(TRIGGERS.items(), 1):
        r = request(c, pid, code)
        assert r.status_code == 200, (code, describe(r))
        got = json_of(r)["assessment"]
        assert got["review_trigger"] == code
        assert got["review_reason"] is None
        row = db.one("SELECT review_trigger, version FROM risk_assessment "
                     "WHERE id = %s", (a["id"],))
        assert row == {"review_trigger": code, "version": version + n}
        assert review_events(db, a["id"])[-1]["comments"] == label
        assert caseload_status(c, pid)["review_trigger"] == code
    assert len(review_events(db, a["id"])) == len(TRIGGERS)


def test_html_form_on_the_risk_page_asks_for_a_review(staff, risk_case, db):
    c = staff("coord.north")
    pid = risk_case()["person"]["id"]
    page = c.get(f"/service-users/{pid}/risk", headers=HTML)
    assert page.status_code == 200, describe(page)
    assert "Ask for an early review" not in page.text  # nothing approved yet

    a = approved(c, pid)
    page = c.get(f"/service-users/{pid}/risk", headers=HTML)
    assert page.status_code == 200, describe(page)
    action = f"/service-users/{pid}/risk-review-requests"
    form = form_of(page.text, action)
    assert set(form["options"]["trigger"]) == {""} | set(TRIGGERS)

    # No reason chosen: the form again with the error, nothing changed.
    r = c.post(action, data=fill_form(form, {"details": "Kept <b>safe</b>"}),
               headers=HTML)
    assert r.status_code == 422, describe(r)
    assert "nhsuk-error-summary" in r.text
    assert 'href="#trigger"' in r.text
    assert "Kept &lt;b&gt;safe&lt;/b&gt;" in r.text
    assert "<b>safe</b>" not in r.text
    assert form_of(r.text, action)["options"]["trigger"]
    assert review_events(db, a["id"]) == []

    r = c.post(action, data=fill_form(form, {"trigger": "admission",
                                             "details": "Admitted to Ward 3"}),
               headers=HTML)
    assert r.status_code == 303, describe(r)
    assert r.headers["Location"].endswith(f"/service-users/{pid}/risk")
    assert db.one("SELECT review_trigger, review_reason FROM risk_assessment "
                  "WHERE id = %s", (a["id"],)) == {
        "review_trigger": "admission", "review_reason": "Admitted to Ward 3"}


def test_no_approved_assessment_is_409(staff, risk_case, db, audit):
    c = staff("coord.north")
    pid = risk_case()["person"]["id"]
    r = request(c, pid)
    assert r.status_code == 409, describe(r)
    assert json_of(r)["error"] == NO_APPROVED

    # A draft is not an approved assessment either.
    draft = risk_start(c, pid)
    before = review_state(db, pid)
    mark = audit.mark()
    r = request(c, pid, "incident")
    assert r.status_code == 409, describe(r)
    assert json_of(r) == {"error": NO_APPROVED}
    assert review_state(db, pid) == before
    assert review_events(db, draft["id"]) == []
    assert audit.since(mark, action="risk_review_requested") == []

    # The page says the same.
    r = c.post(f"/service-users/{pid}/risk-review-requests",
               data={"trigger": "incident", "csrf_token": c.csrf}, headers=HTML)
    assert r.status_code == 409, describe(r)
    assert NO_APPROVED in html_text(r)
    assert "nhsuk-error-summary" in r.text


def test_bad_input_is_422_naming_the_field(staff, risk_case, db):
    c = staff("coord.north")
    pid = risk_case()["person"]["id"]
    a = approved(c, pid)
    before = review_state(db, pid)
    bad = [
        ({}, "trigger"),
        ({"trigger": ""}, "trigger"),
        ({"trigger": "bogus"}, "trigger"),
        ({"trigger": "Crisis contact"}, "trigger"),
        ({"trigger": 3}, "trigger"),
        ({"trigger": "other", "details": "x" * 2001}, "details"),
        ({"trigger": "other", "details": "bell \x07"}, "details"),
    ]
    for body, field in bad:
        r = c.post(f"/api/v1/service-users/{pid}/risk-review-requests",
                   json=body)
        assert r.status_code == 422, (body, describe(r))
        errors = json_of(r)["errors"]
        assert set(errors) == {field}, (body, errors)
        assert errors[field], body
    assert review_state(db, pid) == before
    assert review_events(db, a["id"]) == []
    # Exactly 2000 characters of details are accepted.
    r = request(c, pid, "other", details="y" * 2000)
    assert r.status_code == 200, describe(r)

    for within in ("-1", "366", "x", "1.5", "14days", "99999999999999999999"):
        r = c.get(f"/api/v1/risk-reviews?within={within}")
        assert r.status_code == 422, (within, describe(r))
        assert set(json_of(r)["errors"]) == {"within"}, within
    r = c.get("/risk-reviews?within=366", headers=HTML)
    assert r.status_code == 422, describe(r)
    assert 'href="#within"' in r.text
    for within in ("0", "365"):
        assert review_list(c, within)["within"] == int(within)
    assert review_list(c)["within"] == 14


def test_new_approval_clears_the_request(staff, risk_case, db):
    c = staff("coord.north")
    pid = risk_case()["person"]["id"]
    first = approved(c, pid)
    assert request(c, pid, "discharge").status_code == 200
    assert caseload_status(c, pid)["review_requested"] is True

    second = approved(c, pid, overall="medium")
    got = db.one("SELECT status, review_requested_at, review_trigger, "
                 "next_review_due > current_date AS later "
                 "FROM risk_assessment WHERE id = %s", (second["id"],))
    assert got == {"status": "approved", "review_requested_at": None,
                   "review_trigger": None, "later": True}
    # The superseded one keeps what was asked of it.
    assert db.one("SELECT status, review_trigger FROM risk_assessment "
                  "WHERE id = %s", (first["id"],)) == {
        "status": "superseded", "review_trigger": "discharge"}

    status = caseload_status(c, pid)
    assert status["assessment_id"] == second["id"]
    assert status["review_requested"] is False
    assert status["review_trigger"] is None
    assert rows_of(review_list(c), pid) == []
    entry = rows_of(review_list(c, 365), pid)
    assert len(entry) == 1
    assert entry[0]["assessment_id"] == second["id"]
    assert entry[0]["review_requested"] is False


# --------------------------------------------------------------- access

def test_other_team_gets_403_and_other_site_404(staff, risk_case,
                                                make_team_staff, teams,
                                                signin, db, audit):
    c = staff("coord.north")
    pid = risk_case()["person"]["id"]
    a = approved(c, pid)
    before = review_state(db, pid)

    moor = make_team_staff("moorreview", "coordinator",
                           teams["north_moorland_cmht"])
    mc = signin(moor["username"], moor["password"])
    mark = audit.mark()
    r = request(mc, pid, "incident")
    assert r.status_code == 403, describe(r)
    rows = audit.since(mark, action="access_denied", username=moor["username"])
    assert [str(x["entity_id"]) for x in rows] == [str(pid)], rows
    mc.delete("/api/v1/session")

    south = staff("coord.south")
    mark = audit.mark()
    r = request(south, pid, "incident")
    assert r.status_code == 404, describe(r)
    rows = audit.since(mark, action="access_denied", username="coord.south")
    assert str(pid) in {str(x["entity_id"]) for x in rows}, rows

    assert review_state(db, pid) == before
    assert review_events(db, a["id"]) == []


def test_list_scope(staff, risk_case, refer, accept, teams, make_team_staff,
                    coord2, signin):
    c = staff("coord.north")
    mine = risk_case()
    pid = mine["person"]["id"]
    # One Riverside person coordinated by coord2 rather than coord.north.
    made = refer(c, teams["north_riverside_cmht"]["id"])
    theirs = accept(c, made["referral"]["id"], coord2["id"])
    tid = made["service_user"]["id"]

    def seen(client):
        body = review_list(client, 365)
        return {row["service_user"]["id"] for row in body["reviews"]}

    got = seen(c)
    assert pid in got and tid not in got
    c2 = signin(coord2["username"], coord2["password"])
    got = seen(c2)
    assert tid in got and pid not in got
    assert all(row["coordinator"]["id"] == coord2["id"]
               for row in review_list(c2, 365)["reviews"])
    c2.delete("/api/v1/session")

    # The Riverside team's manager and the district's manager see both.
    for who in ("tm.north", "dm.north"):
        got = seen(staff(who))
        assert {pid, tid} <= got, who
    # A practitioner of the whole site coordinates nobody: sees neither.
    got = seen(staff("prac.north"))
    assert not {pid, tid} & got
    # Moorland's manager: another team.
    moor = make_team_staff("moormgr", "team_manager",
                           teams["north_moorland_cmht"])
    mc = signin(moor["username"], moor["password"])
    got = seen(mc)
    assert not {pid, tid} & got
    mc.delete("/api/v1/session")
    # Another site never.
    south_mgr = make_team_staff("southmgr", "team_manager",
                                teams["south_harbour_cmht"])
    sc = signin(south_mgr["username"], south_mgr["password"])
    body = review_list(sc, 365)
    assert not {pid, tid} & {row["service_user"]["id"]
                             for row in body["reviews"]}
    assert all(row["team_id"] != teams["north_riverside_cmht"]["id"]
               for row in body["reviews"])
    sc.delete("/api/v1/session")
    body = review_list(staff("coord.south"), 365)
    assert not {pid, tid} & {row["service_user"]["id"]
                             for row in body["reviews"]}
    assert theirs["id"] not in {row["episode_id"] for row in body["reviews"]}


def test_never_assessed_open_episode_is_listed(staff, risk_case, db):
    c = staff("coord.north")
    case = risk_case("enhanced")
    pid = case["person"]["id"]
    body = review_list(c, 0)
    rows = rows_of(body, pid)
    assert len(rows) == 1, rows
    row = rows[0]
    assert row["never_assessed"] is True
    assert row["assessment_id"] is None and row["next_review_due"] is None
    assert row["overdue"] is False and row["days_overdue"] == 0
    assert row["in_progress"] is None
    assert row["level"] == "enhanced"
    assert row["team_id"] == case["episode"]["team_id"]
    assert body["never_assessed_count"] == sum(
        1 for x in body["reviews"] if x["never_assessed"])

    draft = risk_start(c, pid)
    row = rows_of(review_list(c, 0), pid)[0]
    assert row["never_assessed"] is True
    assert row["in_progress"] == {"id": draft["id"], "status": "draft"}

    # Once the episode ends there is nothing to review.
    db.scalar("UPDATE episode SET ended_at = now(), end_reason = 'other' "
              "WHERE id = %s RETURNING id", (case["episode"]["id"],))
    assert rows_of(review_list(c, 365), pid) == []


def test_ordering_and_days_overdue(staff, risk_case, db):
    c = staff("coord.north")
    people = {}
    for key, days in (("five_late", -5), ("one_late", -1), ("in_three", 3),
                      ("in_three_b", 3)):
        pid = risk_case()["person"]["id"]
        a = approved(c, pid)
        set_due(db, a["id"], days)
        people[key] = pid
    people["never"] = risk_case()["person"]["id"]

    body = review_list(c)
    listed = body["reviews"]
    pos = {key: [i for i, row in enumerate(listed)
                 if row["service_user"]["id"] == pid]
           for key, pid in people.items()}
    assert all(len(p) == 1 for p in pos.values()), pos
    assert pos["never"][0] < pos["five_late"][0] < pos["one_late"][0] \
        < min(pos["in_three"][0], pos["in_three_b"][0])

    # The order holds for the whole list: never assessed first, then by
    # review date, then by name.
    def key(row):
        return (not row["never_assessed"], row["next_review_due"] or "",
                row["service_user"]["family_name"],
                row["service_user"]["given_name"])
    keys = [key(row) for row in listed]
    assert keys == sorted(keys)

    def row(k):
        return listed[pos[k][0]]
    assert (row("five_late")["overdue"], row("five_late")["days_overdue"]) == (True, 5)
    assert (row("one_late")["overdue"], row("one_late")["days_overdue"]) == (True, 1)
    assert (row("in_three")["overdue"], row("in_three")["days_overdue"]) == (False, 0)
    assert body["overdue_count"] == sum(1 for x in listed if x["overdue"])
    assert body["never_assessed_count"] == sum(
        1 for x in listed if x["never_assessed"])
    assert all((x["days_overdue"] > 0) == x["overdue"] for x in listed)

    zero = {x["service_user"]["id"] for x in review_list(c, 0)["reviews"]}
    assert {people["five_late"], people["one_late"], people["never"]} <= zero
    assert people["in_three"] not in zero
    two = {x["service_user"]["id"] for x in review_list(c, 2)["reviews"]}
    assert people["in_three"] not in two
    three = {x["service_user"]["id"] for x in review_list(c, 3)["reviews"]}
    assert people["in_three"] in three

    page = c.get("/risk-reviews", headers=HTML)
    assert page.status_code == 200, describe(page)
    text = html_text(page)
    assert "Overdue by 5 days" in text
    assert "Overdue by 1 day" in text
    assert "Due in 3 days" in text
    assert "Never assessed" in text
    assert f'href="/service-users/{people["five_late"]}/risk"' in page.text


def test_list_read_is_audited_once(staff, audit):
    c = staff("tm.north")
    mark = audit.mark()
    body = review_list(c, 30)
    rows = audit.since(mark, username="tm.north")
    assert len(rows) == 1, rows
    assert rows[0]["action"] == "read"
    assert rows[0]["entity_type"] == "risk_review_list"
    assert rows[0]["service_user_id"] is None
    assert body["within"] == 30
    mark = audit.mark()
    page = c.get("/risk-reviews", headers=HTML)
    assert page.status_code == 200, describe(page)
    assert len(audit.since(mark, action="read",
                           entity_type="risk_review_list")) == 1


def test_risk_queue_links_to_the_list(staff):
    page = staff("tm.north").get("/risk-assessments", headers=HTML)
    assert page.status_code == 200, describe(page)
    assert 'href="/risk-reviews"' in page.text


# ---------------------------------------------------------- the SQL rule

def app_call(env, site_ids, user_id, pid, trigger="incident", commit=True):
    """risk_request_review() as cpa_app with a request's context; returns
    what it returned."""
    conn = psycopg2.connect(env.pg_app_dsn, connect_timeout=10)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT set_config('app.site_ids', %s, true),"
                        " set_config('app.user_id', %s, true)",
                        (site_ids, str(user_id)))
            cur.execute("SELECT risk_request_review(%s, %s, %s, %s)",
                        (pid, trigger, "From SQL", user_id))
            out = cur.fetchone()[0]
        if commit:
            conn.commit()
        else:
            conn.rollback()
        return out
    finally:
        conn.close()


def test_function_is_bound_by_row_level_security(env, staff, risk_case, db):
    c = staff("coord.north")
    case = risk_case()
    pid = case["person"]["id"]
    a = approved(c, pid)
    set_due(db, a["id"], 10)
    before = review_state(db, pid)
    south = staff("coord.south")
    south_site = db.scalar("SELECT id FROM site WHERE code = 'south'")
    assert south_site != case["episode"]["site_id"]

    # Another site's context: nothing seen, nothing changed.
    assert app_call(env, str(south_site), south.user["id"], pid) is None
    # No context at all: the same.
    assert app_call(env, "", c.user["id"], pid) is None
    assert review_state(db, pid) == before
    assert review_events(db, a["id"]) == []

    # An unknown trigger is refused whatever the context.
    with pytest.raises(psycopg2.Error) as e:
        app_call(env, str(case["episode"]["site_id"]), c.user["id"], pid,
                 trigger="bogus")
    assert e.value.pgcode == "23514"
    assert review_state(db, pid) == before

    # The person's own site: the review is due today (least(), so an
    # earlier date would have stayed).
    site = str(case["episode"]["site_id"])
    assert app_call(env, site, c.user["id"], pid) == a["id"]
    assert db.one("SELECT next_review_due = current_date AS today, review_trigger,"
                  " review_reason FROM risk_assessment WHERE id = %s",
                  (a["id"],)) == {"today": True, "review_trigger": "incident",
                                  "review_reason": "From SQL"}
    assert review_events(db, a["id"]) == [
        {"comments": "Incident: From SQL", "by_staff_id": c.user["id"]}]
    set_due(db, a["id"], -3)
    assert app_call(env, site, c.user["id"], pid, trigger="other") == a["id"]
    assert db.scalar("SELECT current_date - next_review_due FROM risk_assessment"
                     " WHERE id = %s", (a["id"],)) == 3
