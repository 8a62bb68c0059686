"""Carer's assessments (cpa-carers, assessments.c): offered (today by
default, never in the future nor before the link started), then every
legal transition (accept, decline, refer, complete) and every illegal one
refused with 409 naming the action and the status; stale versions 409;
one assessment in hand per link; ended links 409; overdue after the site's
act_within; bad input 422 naming the fields; each change audited.  The
reminder: an offer opens a due_item (kind carer_assessment, due at 09:00 UK
time on offered_on + 28 days) which closes when the assessment is referred,
completed or declined, and cpa-remindd --once --now queues the
coordinator's reminder, whose inbox link is the person's carers page."""

import datetime
import os
import subprocess
from zoneinfo import ZoneInfo

import pytest

from cpa_e2e import describe, get_json, json_of

pytestmark = pytest.mark.usefixtures("carers_up")

LONDON = ZoneInfo("Europe/London")
UTC = datetime.timezone.utc
ACTIONS = ("accept", "decline", "refer", "complete")
# status -> {action: new status} for the legal moves
LEGAL = {
    "offered": {"accept": "accepted", "decline": "declined"},
    "accepted": {"refer": "referred", "complete": "completed"},
    "referred": {"complete": "completed"},
    "declined": {},
    "completed": {},
}
EXTRA = {"refer": {"la_reference": "LA-2291"},
         "complete": {"outcome": "Respite support agreed"}}
OPEN = {"offered", "accepted"}


@pytest.fixture
def linked(case, kit):
    """A Riverside person with one carer who has supported them for 60
    days: {"c", "person", "episode", "link"}."""
    made = case()
    link = kit.added(made["c"], made["person"]["id"], started_on=kit.day(-60))
    return dict(made, link=link)


def due_item(db, assessment_id):
    rows = db.all("SELECT * FROM due_item WHERE kind = 'carer_assessment'"
                  " AND source_id = %s", (assessment_id,))
    assert len(rows) <= 1, rows
    return rows[0] if rows else None


def due_at(day):
    """09:00 UK time on day (a date)."""
    return datetime.datetime.combine(day, datetime.time(9), tzinfo=LONDON)


def reach(kit, c, a, status):
    """Move assessment a from offered to status by legal steps."""
    path = {"offered": [], "accepted": ["accept"], "declined": ["decline"],
            "referred": ["accept", "refer"],
            "completed": ["accept", "refer", "complete"]}[status]
    for action in path:
        a = kit.acted(c, a, action, LEGAL[a["status"]][action],
                      **EXTRA.get(action, {}))
    return a


# ------------------------------------------------------------------ offer

def test_offer_defaults_audit_and_due_item(linked, kit, db, audit):
    c, su, link = linked["c"], linked["person"], linked["link"]
    mark = audit.mark()
    a = kit.offered(c, link["id"], note="Offered at the review")
    assert a["status"] == "offered"
    assert a["carer_link_id"] == link["id"]
    assert a["offered_on"] == kit.today().isoformat()
    assert a["offered_by_name"] == c.user["display_name"]
    assert a["note"] == "Offered at the review"
    assert a["overdue"] is False
    for k in ("responded_on", "referred_on", "la_reference", "completed_on",
              "outcome"):
        assert a[k] is None, (k, a)
    rows = audit.since(mark, username="coord.north")
    assert [x["action"] for x in rows] == ["carer_assessment_offered"], rows
    assert rows[0]["service_user_id"] == su["id"]
    assert rows[0]["site_id"] == su["site_id"]

    item = due_item(db, a["id"])
    assert item is not None and item["open"] is True, item
    assert item["episode_id"] == linked["episode"]["id"]
    assert item["service_user_id"] == su["id"]
    within = db.scalar("SELECT carer_assessment_act_within FROM site"
                       " WHERE id = %s", (su["site_id"],))
    assert within == datetime.timedelta(days=28)
    assert item["due_at"] == due_at(kit.today() + within), item
    # The link shows it, newest first.
    assert kit.link(c, su["id"], link["id"])["assessments"] == [a]


def test_offer_refusals(linked, kit, db):
    c, link = linked["c"], linked["link"]
    for body, field in (({"offered_on": kit.day(1)}, "offered_on"),
                        ({"offered_on": kit.day(-61)}, "offered_on"),
                        ({"offered_on": "2024-13-01"}, "offered_on"),
                        ({"note": "n" * 2001}, "note")):
        r = kit.offer(c, link["id"], **body)
        assert r.status_code == 422, (body, describe(r))
        assert set(json_of(r)["errors"]) == {field}, (body, r.text)
    r = kit.offer(c, link["id"], offered_on=kit.day(1))
    assert json_of(r)["errors"]["offered_on"] == \
        "Date offered must be today or in the past"
    a = kit.offered(c, link["id"], offered_on=kit.day(-60))
    assert a["offered_on"] == kit.day(-60)
    # One in hand: a second offer is a conflict, whatever its state.
    for step in (None, "accept", "refer"):
        if step:
            a = kit.acted(c, a, step, LEGAL[a["status"]][step],
                          **EXTRA.get(step, {}))
        r = kit.offer(c, link["id"])
        assert r.status_code == 409, (a["status"], describe(r))
    assert db.scalar("SELECT count(*) FROM carer_assessment"
                     " WHERE carer_link_id = %s", (link["id"],)) == 1
    # Done: a new one may be offered.
    kit.acted(c, a, "complete", "completed", outcome="Needs met")
    b = kit.offered(c, link["id"])
    assert [x["id"] for x in kit.link(c, linked["person"]["id"],
                                      link["id"])["assessments"]] == \
        [b["id"], a["id"]]


def test_offer_on_ended_link_is_409(linked, kit, db):
    c, link = linked["c"], linked["link"]
    kit.ended(c, link, "Moved away")
    r = kit.offer(c, link["id"])
    assert r.status_code == 409, describe(r)
    assert db.scalar("SELECT count(*) FROM carer_assessment"
                     " WHERE carer_link_id = %s", (link["id"],)) == 0


# ------------------------------------------------------------ transitions

@pytest.mark.parametrize("path", [
    ["decline"],
    ["accept", "complete"],
    ["accept", "refer", "complete"],
], ids=lambda p: "-".join(p))
def test_legal_paths_and_due_item(linked, kit, db, audit, path):
    c, su, link = linked["c"], linked["person"], linked["link"]
    a = kit.offered(c, link["id"], offered_on=kit.day(-5))
    version = a["version"]
    for i, action in enumerate(path):
        new = LEGAL[a["status"]][action]
        mark = audit.mark()
        a = kit.acted(c, a, action, new, on=kit.day(-4 + i),
                      **EXTRA.get(action, {}))
        assert a["version"] > version
        version = a["version"]
        rows = audit.since(mark, username="coord.north")
        assert [x["action"] for x in rows] == \
            [f"carer_assessment_{new}"], rows
        assert rows[0]["service_user_id"] == su["id"]
        assert rows[0]["site_id"] == su["site_id"]
        item = due_item(db, a["id"])
        assert item["open"] is (new in OPEN), (new, item)
        if new in ("accepted", "declined"):
            assert a["responded_on"] == kit.day(-4 + i)
        if new == "referred":
            assert a["referred_on"] == kit.day(-4 + i)
            assert a["la_reference"] == "LA-2291"
        if new == "completed":
            assert a["completed_on"] == kit.day(-4 + i)
            assert a["outcome"] == "Respite support agreed"
    row = db.one("SELECT status, version FROM carer_assessment WHERE id = %s",
                 (a["id"],))
    assert (row["status"], row["version"]) == (a["status"], a["version"])


@pytest.mark.parametrize("status", list(LEGAL))
def test_illegal_transitions_are_409(linked, kit, db, status):
    c, link = linked["c"], linked["link"]
    a = reach(kit, c, kit.offered(c, link["id"]), status)
    for action in ACTIONS:
        if action in LEGAL[status]:
            continue
        r = kit.act(c, a, action, **EXTRA.get(action, {}))
        assert r.status_code == 409, (status, action, describe(r))
        assert json_of(r)["error"] == \
            f"Cannot {action}: the carer's assessment is {status}", r.text
    row = db.one("SELECT status, version FROM carer_assessment WHERE id = %s",
                 (a["id"],))
    assert (row["status"], row["version"]) == (status, a["version"])


def test_stale_version_is_409(linked, kit, db):
    c, link = linked["c"], linked["link"]
    a = kit.offered(c, link["id"])
    b = kit.acted(c, a, "accept", "accepted")
    r = kit.act(c, a, "refer", la_reference="X1")  # a's old version
    assert r.status_code == 409, describe(r)
    assert db.scalar("SELECT status FROM carer_assessment WHERE id = %s",
                     (a["id"],)) == "accepted"
    kit.acted(c, b, "refer", "referred")


def test_change_bad_input_is_422(linked, kit, db):
    c, link = linked["c"], linked["link"]
    a = kit.offered(c, link["id"], offered_on=kit.day(-3))
    cases = [
        ({"action": None}, "action"),
        ({"action": "approve"}, "action"),
        ({"version": None}, "version"),
        ({"version": "two"}, "version"),
        ({"on": kit.day(1)}, "on"),
        ({"on": kit.day(-4)}, "on"),         # before the offer
        ({"on": "2024-02-30"}, "on"),
        ({"note": "n" * 2001}, "note"),
    ]
    for bad, field in cases:
        body = {"action": "accept", "version": a["version"]}
        body.update(bad)
        body = {k: v for k, v in body.items() if v is not None}
        r = c.post(f"/api/v1/carer-assessments/{a['id']}", json=body)
        assert r.status_code == 422, (bad, describe(r))
        assert set(json_of(r)["errors"]) == {field}, (bad, r.text)
    a = kit.acted(c, a, "accept", "accepted", on=kit.day(-1))
    # Completing needs an outcome of at most 5000 characters, on or after
    # the answer.
    for bad, field in (({}, "outcome"), ({"outcome": "o" * 5001}, "outcome"),
                       ({"outcome": "ok", "on": kit.day(-2)}, "on")):
        r = kit.act(c, a, "complete", **bad)
        assert r.status_code == 422, (bad, describe(r))
        assert set(json_of(r)["errors"]) == {field}, (bad, r.text)
    assert db.scalar("SELECT status FROM carer_assessment WHERE id = %s",
                     (a["id"],)) == "accepted"


def test_overdue_after_act_within(linked, kit):
    c, link = linked["c"], linked["link"]
    a = kit.offered(c, link["id"], offered_on=kit.day(-28))
    assert a["overdue"] is False        # due today: not yet overdue
    kit.acted(c, a, "decline", "declined")
    b = kit.offered(c, link["id"], offered_on=kit.day(-29))
    assert b["overdue"] is True
    b = kit.acted(c, b, "accept", "accepted")
    assert b["overdue"] is True          # accepted but not acted on
    b = kit.acted(c, b, "refer", "referred")
    assert b["overdue"] is False


def test_unknown_assessment_is_404(linked, kit):
    c = linked["c"]
    r = c.post("/api/v1/carer-assessments/999999999",
               json={"action": "accept", "version": 1})
    assert r.status_code == 404, describe(r)
    r = kit.offer(c, 999999999)
    assert r.status_code == 404, describe(r)


# --------------------------------------------------------------- reminders

@pytest.fixture
def stack_daemon_stopped(ctl):
    """The stack's own cpa-remindd (real clock) would take a 1990s item at
    once; it is stopped for the test and started again after it."""
    ctl("stop", "remindd")
    yield
    ctl("start", "remindd")


def run_remindd(now):
    """cpa-remindd --once --now now, with the stack's configuration; its
    stderr goes to $CPA_VAR/log/remindd-e2e-carers.log (searched for
    sanitizer reports by ./dev test)."""
    for v in ("CPA_REMINDD", "CPA_REMINDD_CONF", "CPA_VAR"):
        if not os.environ.get(v):
            pytest.fail(f"{v} is not set (run through ./dev test)")
    log_path = os.path.join(os.environ["CPA_VAR"], "log",
                            "remindd-e2e-carers.log")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPA_")}
    env.update(ASAN_OPTIONS="detect_leaks=1:halt_on_error=1",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    with open(log_path, "ab") as log:
        start = log.tell()
        p = subprocess.run(
            [os.environ["CPA_REMINDD"], "--config",
             os.environ["CPA_REMINDD_CONF"], "--once", "--now",
             now.strftime("%Y-%m-%d %H:%M:%S+00")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
            timeout=120)
    with open(log_path, "rb") as f:
        f.seek(start)
        text = f.read().decode(errors="replace")
    assert p.returncode == 0, text[-2000:]
    assert "runtime error:" not in text and "Sanitizer" not in text, text


def test_reminder_queued_by_remindd_with_carers_link(case, kit, db,
                                                      team_member,
                                                      stack_daemon_stopped):
    coord = team_member()
    made = case(coordinator=coord)
    su = made["person"]
    link = kit.added(coord, su["id"])
    a = kit.offered(coord, link["id"])
    # Move the offer into 1992, where no other test's item falls due, so
    # that a daemon whose clock is set there sees only this one.
    offered = datetime.date(1992, 1, 1)
    db.all("UPDATE carer_assessment SET offered_on = %s, version = version + 1"
           " WHERE id = %s RETURNING id", (offered, a["id"]))
    item = due_item(db, a["id"])
    assert item["open"] and item["due_at"] == due_at(
        offered + datetime.timedelta(days=28)), item
    assert item["steps_done"] == 0, item

    # A week before it is due: the coordinator's step.
    run_remindd(datetime.datetime(1992, 1, 22, 12, 0, tzinfo=UTC))
    rows = db.all("SELECT * FROM reminder WHERE due_item_id = %s ORDER BY id",
                  (item["id"],))
    assert [(r["kind"], r["step"], r["recipient_id"], r["recipient_role"],
             r["escalation"]) for r in rows] == \
        [("carer_assessment", 1, coord.staff_id, "coordinator", False)], rows
    assert db.scalar("SELECT due_item_link('carer_assessment', %s)",
                     (su["id"],)) == f"/service-users/{su['id']}/carers"
    inbox = get_json(coord, "/api/v1/inbox")["reminders"]
    mine = [x for x in inbox if x["id"] == rows[0]["id"]]
    assert len(mine) == 1, inbox
    assert mine[0]["kind"] == "carer_assessment"
    assert mine[0]["link"] == f"/service-users/{su['id']}/carers"
    assert mine[0]["service_user"]["id"] == su["id"]

    # Referred: the item closes and its reminder is cleared.
    a = get_json(coord, f"/api/v1/service-users/{su['id']}/carers")[
        "carers"][0]["assessments"][0]
    a = kit.acted(coord, a, "accept", "accepted")
    assert due_item(db, a["id"])["open"] is True
    kit.acted(coord, a, "refer", "referred", la_reference="LA-1")
    assert due_item(db, a["id"])["open"] is False
    assert db.scalar("SELECT cleared_at IS NOT NULL FROM reminder WHERE id = %s",
                     (rows[0]["id"],)) is True
    inbox = get_json(coord, "/api/v1/inbox")["reminders"]
    assert rows[0]["id"] not in [x["id"] for x in inbox]
