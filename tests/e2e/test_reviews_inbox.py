"""The reminder inbox of cpa-reviews: each person sees only their own
reminders, viewing marks them read, acknowledging and snoozing (with a
reason, within 30 days), snoozed reminders coming back, the unread count
in the header of every worker's HTML pages (never in JSON), and a held
review clearing its reminders.

Reminders are queued the way cpa-remindd queues them: a review's due date
is moved so that a policy step falls due now, then 007's remind_sweep runs
through the superuser connection.  The stack's own cpa-remindd may sweep
the same item first; either way the reminder is queued once.  Each test
uses coordinators made for it, so their inboxes hold only its reminders."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest

from cpa_e2e import (HTML, describe, fill_form, form_of, get_json, html_text,
                     json_of, parse_ts, wait_until)

LONDON = ZoneInfo("Europe/London")
REMINDER_KEYS = {"id", "kind", "due_at", "step", "escalation",
                 "recipient_role", "created_at", "read_at", "service_user",
                 "episode_id", "team_name", "link"}


pytestmark = pytest.mark.usefixtures("reviews_up")


def sweep(db):
    """Queue whatever has fallen due, as cpa-remindd does."""
    while db.scalar("SELECT remind_sweep(now(), 10000)") == 10000:
        pass


def make_due(db, episode_id, days):
    """Move the episode's due review to `days` from today and sweep until
    its item has been advanced (by this sweep, or by cpa-remindd's, which
    holds the item locked meanwhile); returns the review's id.  days=1: the
    coordinator's -2 days step is due now; days=-2: the team manager's
    +1 day step is."""
    review_id = db.scalar(
        "UPDATE cpa_review SET due_date = (now() AT TIME ZONE 'Europe/London')::date"
        " + %s WHERE episode_id = %s AND status = 'due' RETURNING id",
        (days, episode_id))
    assert review_id, f"episode {episode_id} has no review due"

    def advanced():
        sweep(db)
        return db.scalar(
            "SELECT steps_done > 0 AND coalesce(next_step_at > now(), true)"
            " FROM due_item WHERE kind = 'cpa_review' AND source_id = %s",
            (review_id,))
    wait_until(advanced, 10, f"the reminders of review {review_id}")
    return review_id


def reminder_of(db, review_id, staff_id):
    rows = db.all(
        "SELECT r.* FROM reminder r JOIN due_item d ON d.id = r.due_item_id"
        " WHERE d.kind = 'cpa_review' AND d.source_id = %s AND r.recipient_id = %s"
        " ORDER BY r.id", (review_id, staff_id))
    assert len(rows) == 1, f"expected one reminder, got {rows!r}"
    return rows[0]


def inbox(c):
    return get_json(c, "/api/v1/inbox")


def header_count(c, path):
    """The unread count in the header of the HTML page at path, or None
    when the header has no inbox link."""
    r = c.get(path, headers=HTML)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith(
        "text/html"), describe(r)
    m = re.search(r'<a [^>]*id="app-inbox-link"[^>]*href="/inbox">(.*?)</a>',
                  r.text, re.S)
    if m is None:
        return None
    text = re.sub(r"<[^>]+>", "|", m.group(1))
    seen = re.search(r"Inbox \|\((\d+)\)\|", text)
    heard = re.search(r"\|: (\d+) unread\|", text)
    assert seen and heard and seen.group(1) == heard.group(1), \
        f"the inbox link must show the count and say it to screen readers: {m.group(0)!r}"
    return int(seen.group(1))


def ids(items):
    return [i["id"] for i in items]


# --------------------------------------------------------------- the inbox

def test_inbox_shows_only_own_reminders(team_member, case, db, audit,
                                        as_demo):
    a, b = team_member(), team_member()
    made = case(coordinator=a)
    person, episode = made["person"], made["episode"]
    review_id = make_due(db, episode["id"], 1)
    rem = reminder_of(db, review_id, a.staff_id)

    body = inbox(a)
    assert set(body) >= {"reminders", "unread", "snoozed"}
    assert ids(body["reminders"]) == [rem["id"]]
    item = body["reminders"][0]
    assert REMINDER_KEYS <= set(item), item
    assert "display" not in item
    assert item["kind"] == "cpa_review" and item["step"] == 2
    assert item["escalation"] is False
    assert item["recipient_role"] == "coordinator"
    assert item["episode_id"] == episode["id"]
    assert item["service_user"]["id"] == person["id"]
    assert item["team_name"] == "Riverside Community Mental Health Team"
    assert item["link"] == f"/service-users/{person['id']}/reviews"
    due = parse_ts(item["due_at"]).astimezone(LONDON)
    assert (due.hour, due.minute) == (9, 0)
    assert body["unread"] == 1 and item["read_at"] is None

    # Nobody else sees it, at this site or another.
    assert rem["id"] not in ids(inbox(b)["reminders"])
    south = as_demo("coord.south")
    assert rem["id"] not in ids(inbox(south)["reminders"])

    # Someone else's reminder is not found, and the attempt is audited.
    mark = audit.mark()
    for c, staff_id in ((b, b.staff_id), (south, south.user["id"])):
        r = c.post(f"/api/v1/reminders/{rem['id']}/acknowledge", json={})
        assert r.status_code == 404, describe(r)
        r = c.post(f"/api/v1/reminders/{rem['id']}/snooze",
                   json={"until": _days_ahead(1), "reason": "Not mine"})
        assert r.status_code == 404, describe(r)
        denied = audit.since(mark, action="access_denied", staff_id=staff_id,
                             entity_id=rem["id"])
        assert len(denied) == 2 and {d["entity_type"] for d in denied} == {"reminder"}
    south.delete("/api/v1/session")
    assert db.scalar("SELECT acknowledged_at IS NULL AND snoozed_until IS NULL"
                     " FROM reminder WHERE id = %s", (rem["id"],))
    r = a.post("/api/v1/reminders/0/acknowledge", json={})
    assert r.status_code == 404, describe(r)


def test_viewing_marks_read_and_is_audited_once(team_member, case, db, audit):
    a = team_member()
    made = case(coordinator=a)
    review_id = make_due(db, made["episode"]["id"], 1)
    rem = reminder_of(db, review_id, a.staff_id)
    assert rem["read_at"] is None

    mark = audit.mark()
    body = inbox(a)
    assert body["unread"] == 1
    rows = audit.since(mark, staff_id=a.staff_id)
    assert [(x["action"], x["entity_type"]) for x in rows] == [("read", "inbox")]
    assert rows[0]["site_id"] == made["person"]["site_id"]
    assert db.scalar("SELECT read_at IS NOT NULL FROM reminder WHERE id = %s",
                     (rem["id"],))

    again = inbox(a)
    assert again["unread"] == 0
    assert ids(again["reminders"]) == [rem["id"]]
    assert again["reminders"][0]["read_at"] is not None


def test_unread_count_in_header_of_every_worker_not_in_json(team_member, case,
                                                            db):
    a = team_member()
    pages = ("/caseload", "/risk-assessments", "/calendar-feed")
    for p in pages:
        assert header_count(a, p) == 0, p

    made = [case(coordinator=a), case(coordinator=a)]
    for m in made:
        make_due(db, m["episode"]["id"], 1)
    for p in pages:
        assert header_count(a, p) == 2, p

    # Never in JSON, from any worker.
    for p in ("/api/v1/caseload", "/api/v1/risk-assessments", "/api/v1/inbox",
              "/api/v1/calendar-feed"):
        r = a.get(p)
        assert r.status_code == 200, describe(r)
        assert "inbox_unread" not in r.text and "csrf_token" not in json_of(r), p

    # Viewing the inbox (its HTML page this time) reads them.
    r = a.get("/inbox", headers=HTML)
    assert r.status_code == 200, describe(r)
    text = html_text(r)
    for m in made:
        assert m["person"]["family_name"] in text
    assert header_count(a, "/caseload") == 0
    assert header_count(a, "/risk-assessments") == 0


def test_no_inbox_link_when_signed_out(client):
    r = client().get("/signin", headers=HTML)
    assert r.status_code == 200, describe(r)
    assert 'href="/inbox"' not in r.text


# ------------------------------------------------------------ acknowledging

def test_acknowledge(team_member, case, db, audit):
    a = team_member()
    made = case(coordinator=a)
    review_id = make_due(db, made["episode"]["id"], 1)
    rem = reminder_of(db, review_id, a.staff_id)

    r = a.post(f"/api/v1/reminders/{rem['id']}/acknowledge",
               json={"note": "x" * 1001})
    assert r.status_code == 422, describe(r)
    assert set(json_of(r)["errors"]) == {"note"}

    mark = audit.mark()
    r = a.post(f"/api/v1/reminders/{rem['id']}/acknowledge",
               json={"note": "Booked for Tuesday"})
    assert r.status_code == 200, describe(r)
    got = json_of(r)["reminder"]
    assert got["id"] == rem["id"] and got["acknowledged_at"] is not None
    rows = audit.since(mark, action="reminder_acknowledged")
    assert len(rows) == 1
    assert rows[0]["staff_id"] == a.staff_id
    assert rows[0]["service_user_id"] == made["person"]["id"]
    assert rows[0]["site_id"] == made["person"]["site_id"]
    assert db.scalar("SELECT acknowledged_note FROM reminder WHERE id = %s",
                     (rem["id"],)) == "Booked for Tuesday"
    assert rem["id"] not in ids(inbox(a)["reminders"])

    # Again: nothing changes and nothing more is audited.
    mark = audit.mark()
    r = a.post(f"/api/v1/reminders/{rem['id']}/acknowledge", json={})
    assert r.status_code == 200, describe(r)
    assert json_of(r)["reminder"]["acknowledged_at"] == got["acknowledged_at"]
    assert audit.since(mark, action="reminder_acknowledged") == []

    r = a.post(f"/api/v1/reminders/{rem['id']}/snooze",
               json={"until": _days_ahead(1), "reason": "Later"})
    assert r.status_code == 409, describe(r)
    assert json_of(r)["error"] == "Cannot snooze: the reminder is acknowledged"


def test_acknowledge_from_the_page(team_member, case, db):
    a = team_member()
    made = case(coordinator=a)
    rem = reminder_of(db, make_due(db, made["episode"]["id"], 1), a.staff_id)
    page = a.get("/inbox", headers=HTML)
    assert page.status_code == 200, describe(page)
    form = form_of(page.text, f"/reminders/{rem['id']}/acknowledge")
    r = a.post(f"/reminders/{rem['id']}/acknowledge",
               data=fill_form(form, {"note": "Called her"}), headers=HTML)
    assert r.status_code == 303 and r.headers["Location"] == "/inbox", describe(r)
    assert db.scalar("SELECT acknowledged_note FROM reminder WHERE id = %s",
                     (rem["id"],)) == "Called her"


# ---------------------------------------------------------------- snoozing

def _days_ahead(n):
    return (datetime.datetime.now(LONDON).date()
            + datetime.timedelta(days=n)).isoformat()


def test_snooze_needs_a_reason_and_a_time_within_30_days(team_member, case, db):
    a = team_member()
    made = case(coordinator=a)
    rem = reminder_of(db, make_due(db, made["episode"]["id"], 1), a.staff_id)
    url = f"/api/v1/reminders/{rem['id']}/snooze"
    now = datetime.datetime.now(datetime.timezone.utc)
    cases = [
        ({"until": _days_ahead(1)}, {"reason"}),
        ({"reason": "On leave"}, {"until"}),
        ({"until": _days_ahead(1), "reason": "x" * 1001}, {"reason"}),
        ({"until": "tomorrow", "reason": "On leave"}, {"until"}),
        ({"until": "2025-02-30", "reason": "On leave"}, {"until"}),
        ({"until": _days_ahead(1) + "T25:00", "reason": "On leave"}, {"until"}),
        ({"until": _days_ahead(-1), "reason": "On leave"}, {"until"}),
        ({"until": (now - datetime.timedelta(minutes=5)).isoformat(),
          "reason": "On leave"}, {"until"}),
        ({"until": _days_ahead(31), "reason": "On leave"}, {"until"}),
        ({"until": (now + datetime.timedelta(days=30, minutes=5)).isoformat(),
          "reason": "On leave"}, {"until"}),
    ]
    for body, fields in cases:
        r = a.post(url, json=body)
        assert r.status_code == 422, (body, describe(r))
        assert set(json_of(r)["errors"]) == fields, (body, r.text)
    assert db.scalar("SELECT snoozed_until IS NULL FROM reminder WHERE id = %s",
                     (rem["id"],))

    # At the limits: 30 days from today, a zoned time, a UK local time.
    for until in (_days_ahead(30),
                  (now + datetime.timedelta(days=29)).isoformat(),
                  (datetime.datetime.now(LONDON) + datetime.timedelta(hours=3))
                  .strftime("%Y-%m-%dT%H:%M")):
        r = a.post(url, json={"until": until, "reason": "On leave"})
        assert r.status_code == 200, (until, describe(r))


def test_snoozed_is_hidden_then_comes_back_unread(team_member, case, db, audit):
    a = team_member()
    made = case(coordinator=a)
    rem = reminder_of(db, make_due(db, made["episode"]["id"], 1), a.staff_id)
    assert inbox(a)["unread"] == 1        # read now

    mark = audit.mark()
    r = a.post(f"/api/v1/reminders/{rem['id']}/snooze",
               json={"until": _days_ahead(2), "reason": "Waiting for the GP letter"})
    assert r.status_code == 200, describe(r)
    got = json_of(r)["reminder"]
    until = parse_ts(got["snoozed_until"]).astimezone(LONDON)
    assert until.date().isoformat() == _days_ahead(2)
    assert (until.hour, until.minute) == (9, 0)
    assert got["snooze_reason"] == "Waiting for the GP letter"
    assert got["read_at"] is None
    rows = audit.since(mark, action="reminder_snoozed")
    assert len(rows) == 1 and rows[0]["service_user_id"] == made["person"]["id"]
    assert rows[0]["detail"].startswith("until ")

    body = inbox(a)
    assert rem["id"] not in ids(body["reminders"])
    assert ids(body["snoozed"]) == [rem["id"]]
    assert body["snoozed"][0]["snooze_reason"] == "Waiting for the GP letter"
    assert header_count(a, "/caseload") == 0

    # The snooze ends: the reminder is back, and new again.
    db.scalar("UPDATE reminder SET snoozed_until = now() - interval '1 minute'"
              " WHERE id = %s RETURNING id", (rem["id"],))
    assert header_count(a, "/caseload") == 1
    body = inbox(a)
    assert ids(body["reminders"]) == [rem["id"]] and body["snoozed"] == []
    assert body["unread"] == 1


def test_snooze_from_the_page_and_its_errors(team_member, case, db):
    a = team_member()
    made = case(coordinator=a)
    rem = reminder_of(db, make_due(db, made["episode"]["id"], 1), a.staff_id)
    page = a.get("/inbox", headers=HTML)
    form = form_of(page.text, f"/reminders/{rem['id']}/snooze")
    values = {name: value for name, _, value, _ in form["fields"]}
    assert values["until"] == _days_ahead(1), "the date defaults to tomorrow"
    sent = fill_form(form, {"until": values["until"]})

    r = a.post(f"/reminders/{rem['id']}/snooze", data=sent, headers=HTML)
    assert r.status_code == 422, describe(r)
    assert f'href="#r{rem["id"]}-reason"' in r.text
    assert f'id="r{rem["id"]}-reason"' in r.text
    assert "Enter reason for snoozing" in html_text(r)

    sent["reason"] = "Seeing her on Friday"
    r = a.post(f"/reminders/{rem['id']}/snooze", data=sent, headers=HTML)
    assert r.status_code == 303 and r.headers["Location"] == "/inbox", describe(r)
    page = a.get("/inbox", headers=HTML)
    assert "Snoozed" in page.text and "Seeing her on Friday" in html_text(page)


# ----------------------------------------------------- escalation, clearing

def test_escalation_reaches_the_team_manager(team_member, case, db,
                                             make_team_staff, teams, signin):
    a = team_member()
    tm = make_team_staff("inboxtm", "team_manager", teams["north_riverside_cmht"])
    made = case(coordinator=a)
    review_id = make_due(db, made["episode"]["id"], -2)
    rem = reminder_of(db, review_id, tm["id"])
    assert rem["escalation"] and rem["recipient_role"] == "team_manager"
    assert rem["step"] == 3

    m = signin(tm["username"], tm["password"])
    items = [i for i in inbox(m)["reminders"] if i["id"] == rem["id"]]
    assert len(items) == 1 and items[0]["escalation"] is True
    m.delete("/api/v1/session")
    # The coordinator's own reminder for this review is not repeated.
    assert ids(inbox(a)["reminders"]) == []


def test_held_review_clears_its_reminders(team_member, case, db):
    a = team_member()
    made = case(coordinator=a)
    review_id = make_due(db, made["episode"]["id"], 1)
    rem = reminder_of(db, review_id, a.staff_id)
    assert header_count(a, "/caseload") == 1

    version = db.scalar("SELECT version FROM cpa_review WHERE id = %s", (review_id,))
    r = a.post(f"/api/v1/reviews/{review_id}/hold", json={
        "version": version,
        "held_on": datetime.datetime.now(LONDON).date().isoformat(),
        "attended_user": True, "attended_carer": False,
        "attended_coordinator": True, "outcome": "continue"})
    assert r.status_code == 200, describe(r)

    assert db.scalar("SELECT cleared_at IS NOT NULL FROM reminder WHERE id = %s",
                     (rem["id"],))
    assert header_count(a, "/caseload") == 0
    assert ids(inbox(a)["reminders"]) == []
    r = a.post(f"/api/v1/reminders/{rem['id']}/snooze",
               json={"until": _days_ahead(1), "reason": "Later"})
    assert r.status_code == 409, describe(r)
