"""sql/007_remindd.sql through SQL, with an explicit clock: review due dates
(month ends, leap days), due times around the clock changes, due items
following their sources (reviews, risk assessments, follow-ups, episodes),
the sweep queueing the right step for the right people at chosen clocks
(missed steps skipped, a moved due time starting again, two sweeps at once
never doubling), clearing, site policies and remind_reschedule, row-level
security, and the email outbox (lease, back-off, failed after ten).

Each test gets its own database, a copy of a template prepared once for
this file like the stack's (bootstrap.sql, cpa-migrate, demo.sql): sweeps
take every item that has fallen due, so tests must not see each other's.
Set-up rows are written by the superuser (triggers fire as they would for
the workers); the functions under test are called as cpa_app."""

import datetime
import os
import secrets
import shutil
import subprocess
import threading
import time
from zoneinfo import ZoneInfo

import psycopg2
import psycopg2.extensions
import psycopg2.extras
import pytest

from cpa_e2e import Db
from test_migrate import PGBIN, Migrations, with_postgres

UTC = datetime.timezone.utc
LONDON = ZoneInfo("Europe/London")
MINUTE = datetime.timedelta(minutes=1)
RUN_TIMEOUT = 120
DEMO_USERS = ("admin.north", "admin.south", "coord.north", "coord.south",
              "prac.north", "tm.north", "dm.north", "auditor.north")
# demo.sql wants argon2id encodings; this one never verifies.
NO_PASSWORD = "$argon2id$v=19$m=19456,t=2,p=1$bm90LWEtc2FsdA$bm90LWEtaGFzaA"
RIVERSIDE_CMHT = "Riverside Community Mental Health Team"
RIVERSIDE_EIT = "Riverside Early Intervention Team"
MOORLAND_CMHT = "Moorland Community Mental Health Team"
HARBOUR_CMHT = "Harbour Community Mental Health Team"
DEFINERS = ("remind_sweep", "remind_claim_email", "remind_email_result",
            "remind_next_wake", "remind_clear")


def utc(*args):
    return datetime.datetime(*args, tzinfo=UTC)


def step_time(due, days=0, hours=0):
    """due moved as a policy offset moves it: days on the UK calendar
    (keeping the local time of day), hours as elapsed time."""
    local = due.astimezone(LONDON) + datetime.timedelta(days=days)
    return local.astimezone(UTC) + datetime.timedelta(hours=hours)


def psql_bin():
    p = os.path.join(PGBIN, "psql")
    return p if os.access(p, os.X_OK) else shutil.which("psql")


def load_demo(super_dsn, sql_dir, dbname):
    dsn = psycopg2.extensions.make_dsn(super_dsn, dbname=dbname)
    args = [psql_bin(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn]
    for user in DEMO_USERS:
        args += ["-v", f"hash_{user.replace('.', '_')}={NO_PASSWORD}"]
    p = subprocess.run(args + ["-f", os.path.join(sql_dir, "demo", "demo.sql")],
                       capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert p.returncode == 0, f"demo.sql: {p.stderr}"


def dirs():
    missing = [v for v in ("CPA_BUILD_DIR", "CPA_SQL_DIR") if not os.environ.get(v)]
    if missing:
        pytest.fail(f"{', '.join(missing)} not set (./dev test exports them)",
                    pytrace=False)
    return os.environ["CPA_BUILD_DIR"], os.environ["CPA_SQL_DIR"]


@pytest.fixture(scope="module")
def template(env):
    """A migrated database holding demo.sql, never connected to while
    copies are made of it."""
    build_dir, sql_dir = dirs()
    mig = Migrations(env, build_dir, sql_dir)
    try:
        mig.ok()
        load_demo(env.pg_super_dsn, sql_dir, mig.name)
        # South works with the single "complex" level, as intake_demo.sql
        # sets it.
        mig.db.scalar("UPDATE site SET level_model = 'cpa_single', "
                      "episode_levels = '{complex,non_cpa}' WHERE code = 'south' "
                      "RETURNING id")
        mig.db.close()
        mig.db = None
        yield mig.name
    finally:
        mig.drop()


class Person:
    def __init__(self, **kw):
        self.__dict__.update(kw)


class World:
    """One test's database: the superuser for set-up and checks (db), the
    application role for the functions under test (app, app_conn)."""

    def __init__(self, env, name):
        self.name = name
        self.app_dsn = psycopg2.extensions.make_dsn(env.pg_app_dsn, dbname=name)
        self.db = Db(psycopg2.extensions.make_dsn(env.pg_super_dsn, dbname=name))
        self.conns = []
        self.site = {r["code"]: r["id"] for r in self.db.all("SELECT id, code FROM site")}
        self.team = {r["name"]: r for r in self.db.all("SELECT * FROM team")}
        self.staff = {r["username"]: r["id"]
                      for r in self.db.all("SELECT id, username FROM staff")}
        self.serial = 0

    def close(self):
        for c in self.conns:
            c.close()
        self.db.close()

    def app_conn(self):
        """A new cpa_app connection (not autocommit)."""
        c = psycopg2.connect(self.app_dsn, connect_timeout=10)
        self.conns.append(c)
        return c

    def app(self, sql, params=(), sites=("north",), user=None):
        """Runs sql as cpa_app in one transaction with the given site
        context and signed-in user; returns the rows."""
        c = self.app_conn()
        try:
            with c.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                cur.execute("SELECT set_config('app.site_ids', %s, true), "
                            "set_config('app.user_id', %s, true)",
                            (",".join(str(self.site[s]) for s in sites),
                             "" if user is None else str(self.staff[user])))
                cur.execute(sql, params)
                rows = [dict(r) for r in cur.fetchall()] if cur.description else []
            c.commit()
            return rows
        finally:
            c.close()
            self.conns.remove(c)

    def app_scalar(self, sql, params=(), **kw):
        rows = self.app(sql, params, **kw)
        assert len(rows) == 1, rows
        return next(iter(rows[0].values()))

    def add_staff(self, username, site="north", email=True):
        sid = self.db.scalar(
            "INSERT INTO staff (username, display_name, email, password_hash, "
            "home_site_id) VALUES (%s, %s, %s, '!', %s) RETURNING id",
            (username, "Staff " + username,
             f"{username}@north.example.org" if email else None, self.site[site]))
        self.staff[username] = sid
        return sid

    def grant(self, username, role, site="north", district=None, team=None):
        self.db.scalar(
            "INSERT INTO staff_role (staff_id, role, site_id, district_id, team_id) "
            "VALUES (%s, %s, %s, (SELECT id FROM district WHERE name = %s), "
            "(SELECT id FROM team WHERE name = %s)) RETURNING id",
            (self.staff[username], role, self.site[site], district, team))

    def person(self, team=RIVERSIDE_CMHT, level="standard", started=None,
               coordinator="coord.north"):
        """A person with an open episode in team; 005's trigger makes its
        first review due, 007's its due item."""
        self.serial += 1
        t = self.team[team]
        su = self.db.scalar(
            "INSERT INTO service_user (site_id, given_name, family_name, "
            "date_of_birth) VALUES (%s, 'Remy', %s, '1980-01-01') RETURNING id",
            (t["site_id"], f"Tester-{self.serial}"))
        ep = self.open_episode(su, team, level, started, coordinator)
        return Person(su=su, episode=ep, site=t["site_id"], team=t["id"],
                      review=self.due_review(ep))

    def open_episode(self, su, team, level="standard", started=None,
                     coordinator="coord.north"):
        t = self.team[team]
        return self.db.scalar(
            "INSERT INTO episode (site_id, service_user_id, team_id, level, "
            "coordinator_id, started_at) VALUES (%s, %s, %s, %s, %s, "
            "coalesce(%s, now())) RETURNING id",
            (t["site_id"], su, t["id"], level, self.staff[coordinator], started))

    def due_review(self, episode):
        return self.db.scalar("SELECT id FROM cpa_review WHERE episode_id = %s "
                              "AND status = 'due'", (episode,))

    def item(self, kind, source):
        rows = self.db.all("SELECT * FROM due_item WHERE kind = %s AND source_id = %s",
                           (kind, source))
        assert len(rows) <= 1, rows
        return rows[0] if rows else None

    def sweep(self, now, limit=1000):
        """remind_sweep until a batch comes back short; the items advanced."""
        total = 0
        while True:
            n = self.app_scalar("SELECT remind_sweep(%s, %s)", (now, limit))
            total += n
            if n < limit:
                return total

    def reminders(self, item_id):
        return self.db.all(
            "SELECT r.*, s.username FROM reminder r JOIN staff s ON s.id = r.recipient_id "
            "WHERE r.due_item_id = %s ORDER BY r.due_at, r.step, s.username", (item_id,))

    def sent_to(self, item_id, cleared=False):
        """(step, username, recipient_role) of an item's reminders."""
        return [(r["step"], r["username"], r["recipient_role"])
                for r in self.reminders(item_id)
                if cleared or r["cleared_at"] is None]

    def approve_risk(self, p, next_review_due, episode=None):
        """An approved risk assessment, written directly."""
        return self.db.scalar(
            "INSERT INTO risk_assessment (site_id, service_user_id, episode_id, status, "
            "overall_level, author_id, decided_by, decided_at, approved_at, "
            "next_review_due) VALUES (%s, %s, %s, 'approved', 'low', %s, %s, now(), "
            "now(), %s) RETURNING id",
            (p.site, p.su, episode or p.episode, self.staff["coord.north"],
             self.staff["tm.north"], next_review_due))


@pytest.fixture
def w(env, template):
    name = "cpa_rmd_" + secrets.token_hex(4)
    with_postgres(env.pg_super_dsn, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    world = World(env, name)
    try:
        yield world
    finally:
        world.close()
        with_postgres(env.pg_super_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ------------------------------------------------------------ due dates

@pytest.mark.parametrize("interval, level, start, due", (
    # 31 January + 1 month: the last day of February, in a leap year too.
    ("1 month", "enhanced", "2027-01-31", "2027-02-28"),
    ("1 month", "enhanced", "2028-01-31", "2028-02-29"),
    # 30 November + 3 months (the default for enhanced and complex).
    (None, "enhanced", "2026-11-30", "2027-02-28"),
    (None, "complex", "2027-11-30", "2028-02-29"),
    # 31 August + 6 months (standard); 29 February + 12 months (other levels).
    (None, "standard", "2027-08-31", "2028-02-29"),
    (None, "non_cpa", "2028-02-29", "2029-02-28"),
    (None, "personalised", "2024-02-29", "2025-02-28"),
    (None, "standard", "2027-03-31", "2027-09-30"),
))
def test_review_due_from_counts_calendar_months(w, interval, level, start, due):
    if interval:
        w.db.scalar("UPDATE site SET review_enhanced = %s WHERE code = 'north' "
                    "RETURNING id", (interval,))
    got = w.app_scalar("SELECT review_due_from(%s, %s, %s)",
                       (w.site["north"], level, start))
    assert got.isoformat() == due


def test_review_due_from_hides_another_sites_policy(w):
    assert w.app_scalar("SELECT review_due_from(%s, 'standard', '2027-01-01')",
                        (w.site["south"],), sites=("north",)) is None


@pytest.mark.parametrize("day, at", (
    ("2027-03-27", utc(2027, 3, 27, 9)),      # last day of GMT
    ("2027-03-28", utc(2027, 3, 28, 8)),      # clocks go forward at 01:00
    ("2027-10-30", utc(2027, 10, 30, 8)),     # last day of BST
    ("2027-10-31", utc(2027, 10, 31, 9)),     # clocks go back at 02:00
    ("2028-02-29", utc(2028, 2, 29, 9)),
))
def test_due_at_of_is_nine_in_the_morning_uk_time(w, day, at):
    assert w.app_scalar("SELECT due_at_of(%s)", (day,)) == at


def test_step_times_keep_the_time_of_day_across_clock_changes(w):
    due = w.app_scalar("SELECT due_at_of('2027-04-05')")        # 08:00 UTC
    got = w.app("SELECT s.* FROM remind_step_after(%s, 'cpa_review', %s, 0::smallint) s",
                (w.site["north"], due))
    # 14 days earlier is before the change: 09:00 GMT.
    assert got == [{"step": 1, "at": utc(2027, 3, 22, 9), "recipient": "coordinator"}]
    got = w.app("SELECT s.* FROM remind_step_after(%s, 'cpa_review', %s, 2::smallint) s",
                (w.site["north"], w.app_scalar("SELECT due_at_of('2027-10-30')")))
    assert got == [{"step": 3, "at": utc(2027, 10, 31, 9), "recipient": "team_manager"}]
    # Hours are elapsed time: 48 hours before 08:00 UTC on the first day
    # of BST is 08:00 UTC two days before (07:00 -> 08:00 on the clock).
    due = utc(2027, 3, 29, 8)
    got = w.app("SELECT s.* FROM remind_step_after(%s, 'followup', %s, 0::smallint) s",
                (w.site["north"], due))
    assert got == [{"step": 1, "at": utc(2027, 3, 27, 8), "recipient": "coordinator"}]
    assert w.app("SELECT s.* FROM remind_step_after(%s, 'followup', %s, 4::smallint) s",
                 (w.site["north"], due)) == []


# ------------------------------------------------- items follow sources

def test_review_items_follow_due_held_and_moved_reviews(w):
    p = w.person(level="standard")
    review = w.db.one("SELECT * FROM cpa_review WHERE id = %s", (p.review,))
    item = w.item("cpa_review", p.review)
    due = w.app_scalar("SELECT due_at_of(%s)", (review["due_date"],))
    assert item["open"] and item["due_at"] == due
    assert (item["site_id"], item["service_user_id"], item["episode_id"]) == \
        (p.site, p.su, p.episode)
    assert item["steps_done"] == 0
    assert item["next_step_at"] == step_time(due, days=-14)

    # A change of level brings the review forward (005); the item moves
    # with it and starts its steps again.
    w.sweep(step_time(due, days=-14) + MINUTE)
    assert w.item("cpa_review", p.review)["steps_done"] == 1
    w.db.scalar("UPDATE episode SET level = 'enhanced' WHERE id = %s RETURNING id",
                (p.episode,))
    review = w.db.one("SELECT * FROM cpa_review WHERE id = %s", (p.review,))
    assert review["due_reason"] == "level_change"
    moved = w.item("cpa_review", p.review)
    new_due = w.app_scalar("SELECT due_at_of(%s)", (review["due_date"],))
    assert new_due < due
    assert moved["due_at"] == new_due and moved["open"]
    assert moved["steps_done"] == 0
    assert moved["next_step_at"] == step_time(new_due, days=-14)

    # Held: closed; the next review (inserted as the handler does) is a
    # new item.
    w.db.scalar(
        "UPDATE cpa_review SET status = 'held', held_on = current_date, "
        "outcome = 'continue', attended_user = true, attended_carer = false, "
        "attended_coordinator = true, recorded_by = %s, recorded_at = now(), "
        "version = version + 1 WHERE id = %s RETURNING id",
        (w.staff["coord.north"], p.review))
    closed = w.item("cpa_review", p.review)
    assert not closed["open"] and closed["closed_at"] is not None
    assert closed["next_step_at"] is None
    nxt = w.db.scalar(
        "INSERT INTO cpa_review (site_id, service_user_id, episode_id, due_date, "
        "due_reason) VALUES (%s, %s, %s, current_date + 90, 'policy') RETURNING id",
        (p.site, p.su, p.episode))
    assert w.item("cpa_review", nxt)["open"]


def test_closing_the_episode_closes_its_items(w):
    p = w.person()
    risk = w.approve_risk(p, "2027-06-01")
    assert w.item("risk_review", risk)["open"]
    w.db.scalar("UPDATE episode SET ended_at = now(), end_reason = 'discharged_to_gp' "
                "WHERE id = %s RETURNING id", (p.episode,))
    assert not w.item("cpa_review", p.review)["open"]
    assert not w.item("risk_review", risk)["open"], \
        "a discharged person's risk review still reminds their old coordinator"


def test_risk_items_follow_approval_requests_and_supersession(w):
    p = w.person()
    first = w.approve_risk(p, "2027-06-01")
    item = w.item("risk_review", first)
    due = utc(2027, 6, 1, 8)                  # 09:00 BST
    assert item["open"] and item["due_at"] == due
    assert item["episode_id"] == p.episode
    assert item["next_step_at"] == step_time(due, days=-14)

    # A crisis asks for the review now (004): due today.
    got = w.app_scalar("SELECT risk_request_review(%s, 'crisis_contact', 'seen in A&E', %s)",
                       (p.su, w.staff["coord.north"]), user="coord.north")
    assert got == first
    today = w.db.scalar("SELECT current_date")
    moved = w.item("risk_review", first)
    assert moved["due_at"] == w.app_scalar("SELECT due_at_of(%s)", (today,))
    assert moved["steps_done"] == 0

    # The next approved assessment supersedes this one.
    w.db.scalar("UPDATE risk_assessment SET status = 'superseded', superseded_at = now() "
                "WHERE id = %s RETURNING id", (first,))
    second = w.approve_risk(p, "2027-09-01")
    assert not w.item("risk_review", first)["open"]
    assert w.item("risk_review", second)["open"]

    # A draft is nobody's reminder.
    draft = w.db.scalar(
        "INSERT INTO risk_assessment (site_id, service_user_id, episode_id, author_id) "
        "VALUES (%s, %s, %s, %s) RETURNING id",
        (p.site, p.su, p.episode, w.staff["coord.north"]))
    assert w.item("risk_review", draft) is None


def test_risk_item_follows_the_person_to_their_next_episode(w):
    p = w.person()
    risk = w.approve_risk(p, "2027-06-01")
    # A move between teams: one episode closes, the next opens.
    w.db.scalar("UPDATE episode SET ended_at = now(), end_reason = 'transferred' "
                "WHERE id = %s RETURNING id", (p.episode,))
    assert not w.item("risk_review", risk)["open"]
    ep = w.open_episode(p.su, RIVERSIDE_EIT)
    item = w.item("risk_review", risk)
    assert item["open"] and item["episode_id"] == ep
    assert item["due_at"] == utc(2027, 6, 1, 8)


def test_followup_items_open_on_discharge_and_close_when_met(w):
    p = w.person()
    discharged = w.db.scalar("SELECT date_trunc('minute', now()) - interval '2 hours'")
    adm = w.db.scalar(
        "INSERT INTO admission (site_id, service_user_id, episode_id, admitted_at, "
        "discharged_at, recorded_by) VALUES (%s, %s, %s, %s - interval '9 days', %s, %s) "
        "RETURNING id", (p.site, p.su, p.episode, discharged, discharged,
                         w.staff["coord.north"]))
    f = w.db.one("SELECT * FROM followup WHERE admission_id = %s", (adm,))
    item = w.item("followup", f["id"])
    assert item["open"] and item["due_at"] == f["due_at"] == \
        discharged + datetime.timedelta(hours=72)
    assert item["next_step_at"] == f["due_at"] - datetime.timedelta(hours=48)

    # A corrected discharge time moves it (005 moves the follow-up).
    w.db.scalar("UPDATE admission SET discharged_at = discharged_at + interval '1 hour' "
                "WHERE id = %s RETURNING id", (adm,))
    assert w.item("followup", f["id"])["due_at"] == f["due_at"] + datetime.timedelta(hours=1)

    w.db.scalar(
        "INSERT INTO contact (site_id, service_user_id, episode_id, at, "
        "duration_minutes, staff_id, mode, attended, recorded_by) "
        "VALUES (%s, %s, %s, now(), 30, %s, 'home_visit', true, %s) RETURNING id",
        (p.site, p.su, p.episode, w.staff["coord.north"], w.staff["coord.north"]))
    assert w.db.scalar("SELECT status FROM followup WHERE id = %s", (f["id"],)) == "met"
    assert not w.item("followup", f["id"])["open"]


def test_an_item_due_already_notifies_cpa_due(w):
    listener = psycopg2.connect(w.db.conn.dsn)
    w.conns.append(listener)
    listener.autocommit = True
    with listener.cursor() as cur:
        cur.execute("LISTEN cpa_due")
    # Due in a year: its first step is far away; nothing to wake for.
    w.person(level="non_cpa")
    time.sleep(0.2)
    listener.poll()
    assert listener.notifies == []
    # Started 13 months ago: the yearly review is overdue now.
    w.person(level="non_cpa",
             started=datetime.datetime.now(UTC) - datetime.timedelta(days=400))
    deadline = time.monotonic() + 5
    while not listener.notifies and time.monotonic() < deadline:
        time.sleep(0.05)
        listener.poll()
    assert [(n.channel, n.payload) for n in listener.notifies] == [("cpa_due", "")]


def test_transfer_to_another_site_moves_the_items(w):
    """intake_accept_transfer (a definer function) closes one episode and
    opens another: the triggers of 005 and 007 run as cpa_auth."""
    p = w.person()
    old_item = w.item("cpa_review", p.review)
    harbour = w.team[HARBOUR_CMHT]
    xfer = w.db.scalar(
        "INSERT INTO episode_transfer (site_id, episode_id, to_site_id, to_team_id, "
        "reason, requested_by) VALUES (%s, %s, %s, %s, 'Moving south', %s) RETURNING id",
        (p.site, p.episode, harbour["site_id"], harbour["id"], w.staff["coord.north"]))
    got = w.app("SELECT * FROM intake_accept_transfer(%s, 'complex', %s, 'Welcome')",
                (xfer, w.staff["coord.south"]), sites=("south",), user="coord.south")
    new_ep = got[0]["new_episode_id"]
    assert new_ep is not None, got
    assert not w.item("cpa_review", old_item["source_id"])["open"]
    new_review = w.due_review(new_ep)
    item = w.item("cpa_review", new_review)
    assert item["open"] and item["site_id"] == w.site["south"]


def test_backfill_makes_items_for_what_was_due_before(env):
    """Rows written before 007 was applied get the items its triggers would
    have made."""
    build_dir, sql_dir = dirs()
    mig = Migrations(env, build_dir, sql_dir)
    later = [f for f in mig.files() if f >= "007"]
    assert later and later[0].startswith("007_"), later
    held = os.path.join(mig.dir, "later")
    os.mkdir(held)
    try:
        for f in later:
            os.rename(os.path.join(mig.dir, f), os.path.join(held, f))
        mig.ok()
        load_demo(env.pg_super_dsn, sql_dir, mig.name)
        db = mig.db
        su = db.scalar("INSERT INTO service_user (site_id, given_name, family_name, "
                       "date_of_birth) SELECT id, 'Bea', 'Fore', '1970-05-05' FROM site "
                       "WHERE code = 'north' RETURNING id")
        ep = db.scalar("INSERT INTO episode (site_id, service_user_id, team_id, level, "
                       "coordinator_id) SELECT t.site_id, %s, t.id, 'enhanced', s.id "
                       "FROM team t, staff s WHERE t.name = %s AND s.username = "
                       "'coord.north' RETURNING id", (su, RIVERSIDE_CMHT))
        adm = db.scalar(
            "INSERT INTO admission (site_id, service_user_id, episode_id, admitted_at, "
            "discharged_at, recorded_by) SELECT site_id, service_user_id, id, "
            "now() - interval '5 days', now() - interval '1 day', coordinator_id "
            "FROM episode WHERE id = %s RETURNING id", (ep,))
        risk = db.scalar(
            "INSERT INTO risk_assessment (site_id, service_user_id, episode_id, status, "
            "author_id, decided_by, approved_at, decided_at, next_review_due) "
            "SELECT site_id, service_user_id, id, 'approved', coordinator_id, "
            "(SELECT id FROM staff WHERE username = 'tm.north'), now(), now(), "
            "'2027-02-01' FROM episode WHERE id = %s RETURNING id", (ep,))
        for f in later:
            os.rename(os.path.join(held, f), os.path.join(mig.dir, f))
        mig.ok()
        items = {r["kind"]: r for r in db.all("SELECT * FROM due_item")}
        review = db.one("SELECT * FROM cpa_review WHERE episode_id = %s", (ep,))
        f = db.one("SELECT * FROM followup WHERE admission_id = %s", (adm,))
        assert set(items) == {"cpa_review", "risk_review", "followup"}, items
        assert items["cpa_review"]["source_id"] == review["id"]
        assert items["cpa_review"]["due_at"] == db.scalar(
            "SELECT due_at_of(%s)", (review["due_date"],))
        assert items["risk_review"]["source_id"] == risk
        assert items["risk_review"]["due_at"] == utc(2027, 2, 1, 9)
        assert db.scalar("SELECT next_review_due FROM risk_assessment WHERE id = %s",
                         (risk,)).isoformat() == "2027-02-01"
        assert items["followup"]["source_id"] == f["id"]
        assert items["followup"]["due_at"] == f["due_at"]
        for it in items.values():
            assert it["open"] and it["steps_done"] == 0 and it["episode_id"] == ep
        weak = db.all("SELECT relname FROM pg_class WHERE relkind = 'r' AND "
                      "relnamespace = 'public'::regnamespace AND relname <> "
                      "'schema_migration' AND NOT relforcerowsecurity")
        assert weak == [], "the backfill left row-level security unforced"
    finally:
        mig.drop()


# ------------------------------------------------------------- the sweep

def test_sweep_queues_each_step_for_its_recipients(w):
    p = w.person(level="standard")
    due = w.item("cpa_review", p.review)["due_at"]
    item_id = w.item("cpa_review", p.review)["id"]
    steps = [step_time(due, days=-14), step_time(due, days=-2),
             step_time(due, days=1), step_time(due, days=28)]

    assert w.sweep(steps[0] - MINUTE) == 0
    assert w.reminders(item_id) == []

    clock = steps[0] + MINUTE
    assert w.sweep(clock) == 1
    [r] = w.reminders(item_id)
    assert (r["step"], r["username"], r["recipient_role"]) == (1, "coord.north", "coordinator")
    assert r["escalation"] is False and r["due_at"] == due
    assert (r["site_id"], r["service_user_id"], r["episode_id"], r["kind"]) == \
        (p.site, p.su, p.episode, "cpa_review")
    assert r["email_state"] == "pending" and r["email_next_at"] == clock
    item = w.item("cpa_review", p.review)
    assert (item["steps_done"], item["next_step_at"]) == (1, steps[1])
    assert w.sweep(clock) == 0, "a repeated sweep did more"

    w.sweep(steps[1] + MINUTE)
    w.sweep(steps[2] + MINUTE)
    assert w.sent_to(item_id) == [(1, "coord.north", "coordinator"),
                                  (2, "coord.north", "coordinator"),
                                  (3, "tm.north", "team_manager")]
    assert w.reminders(item_id)[2]["escalation"] is True
    w.sweep(steps[3] + MINUTE)
    assert w.sent_to(item_id)[3:] == [(4, "dm.north", "district_manager")]
    item = w.item("cpa_review", p.review)
    assert (item["steps_done"], item["next_step_at"]) == (4, None)
    assert w.sweep(steps[3] + datetime.timedelta(days=400)) == 0
    assert len(w.reminders(item_id)) == 4


def test_managers_are_found_by_the_scope_of_their_role(w):
    w.add_staff("tm.site")
    w.grant("tm.site", "team_manager")                   # the whole site
    w.add_staff("dm.moor")
    w.grant("dm.moor", "district_manager", district="Moorland")
    w.add_staff("tm.gone")
    w.grant("tm.gone", "team_manager", district="Riverside", team=RIVERSIDE_CMHT)
    w.db.scalar("UPDATE staff SET active = false WHERE username = 'tm.gone' RETURNING id")
    w.add_staff("dm.south", site="south")
    w.grant("dm.south", "district_manager", site="south", district="Harbour")

    river = w.person(team=RIVERSIDE_CMHT)
    moor = w.person(team=MOORLAND_CMHT)
    due = w.item("cpa_review", river.review)["due_at"]
    assert w.item("cpa_review", moor.review)["due_at"] == due
    w.sweep(step_time(due, days=1) + MINUTE)
    r_item = w.item("cpa_review", river.review)["id"]
    m_item = w.item("cpa_review", moor.review)["id"]
    assert w.sent_to(r_item) == [(3, "tm.north", "team_manager"),
                                 (3, "tm.site", "team_manager")]
    assert w.sent_to(m_item) == [(3, "tm.site", "team_manager")]
    w.sweep(step_time(due, days=28) + MINUTE)
    assert w.sent_to(r_item)[2:] == [(4, "dm.north", "district_manager")]
    assert w.sent_to(m_item)[1:] == [(4, "dm.moor", "district_manager")]


def test_nobody_is_reminded_for_a_role_nobody_holds(w):
    p = w.person(team=MOORLAND_CMHT)
    due = w.item("cpa_review", p.review)["due_at"]
    for days in (1, 28):
        assert w.sweep(step_time(due, days=days) + MINUTE) == 1
    item = w.item("cpa_review", p.review)
    assert w.reminders(item["id"]) == []
    assert (item["steps_done"], item["next_step_at"]) == (4, None)


def test_missed_steps_are_skipped_not_sent_late(w):
    p = w.person()
    item = w.item("cpa_review", p.review)
    due = item["due_at"]
    # The first sweep to see this item runs two days after it fell due.
    assert w.sweep(step_time(due, days=2)) == 1
    assert w.sent_to(item["id"]) == [(3, "tm.north", "team_manager")]
    item = w.item("cpa_review", p.review)
    assert (item["steps_done"], item["next_step_at"]) == (3, step_time(due, days=28))


def test_a_moved_due_time_starts_the_steps_again(w):
    p = w.person(level="standard")
    item = w.item("cpa_review", p.review)
    old_due = item["due_at"]
    w.sweep(step_time(old_due, days=-2) + MINUTE)
    assert w.sent_to(item["id"]) == [(2, "coord.north", "coordinator")]

    w.db.scalar("UPDATE cpa_review SET due_date = due_date - 20, due_reason = 'requested' "
                "WHERE id = %s RETURNING id", (p.review,))
    moved = w.item("cpa_review", p.review)
    new_due = step_time(old_due, days=-20)
    assert moved["due_at"] == new_due
    assert (moved["steps_done"], moved["next_step_at"]) == (0, step_time(new_due, days=-14))
    # The reminder for the old due time no longer stands.
    assert w.sent_to(item["id"]) == []
    old = w.reminders(item["id"])
    assert len(old) == 1 and old[0]["cleared_at"] is not None

    w.sweep(step_time(new_due, days=-14) + MINUTE)
    fresh = [r for r in w.reminders(item["id"]) if r["cleared_at"] is None]
    assert [(r["step"], r["due_at"]) for r in fresh] == [(1, new_due)]


def test_a_closed_items_reminders_are_cleared(w):
    p, other = w.person(), w.person()
    item = w.item("cpa_review", p.review)
    other_item = w.item("cpa_review", other.review)
    w.sweep(step_time(item["due_at"], days=-14) + MINUTE)
    w.sweep(step_time(item["due_at"], days=1) + MINUTE)
    assert len(w.sent_to(item["id"])) == len(w.sent_to(other_item["id"])) == 2
    # remind_clear leaves an open item's current reminders alone.
    assert w.app_scalar("SELECT remind_clear(%s)", (item["id"],)) == 0
    w.db.scalar("UPDATE cpa_review SET status = 'cancelled', cancelled_at = now() "
                "WHERE id = %s RETURNING id", (p.review,))
    assert w.sent_to(item["id"]) == []
    assert len(w.sent_to(item["id"], cleared=True)) == 2
    assert len(w.sent_to(other_item["id"])) == 2
    assert w.app_scalar("SELECT remind_clear(%s)", (item["id"],)) == 0


def test_pending_email_of_a_cleared_reminder_is_not_sent(w):
    p = w.person()
    item = w.item("cpa_review", p.review)
    clock = step_time(item["due_at"], days=-14) + MINUTE
    w.sweep(clock)
    [r] = w.reminders(item["id"])
    assert r["email_state"] == "pending"
    w.db.scalar("UPDATE episode SET ended_at = now(), end_reason = 'moved_away' "
                "WHERE id = %s RETURNING id", (p.episode,))
    [r] = w.reminders(item["id"])
    assert r["cleared_at"] is not None and r["email_state"] == "none"
    assert w.app("SELECT * FROM remind_claim_email(%s, 'a', 10, '5 minutes')",
                 (clock + MINUTE,)) == []
    assert w.app_scalar("SELECT remind_next_wake(%s)", (clock,)) is None


def test_recipients_without_an_address_get_no_email(w):
    w.db.scalar("UPDATE staff SET email = NULL WHERE username = 'tm.north' RETURNING id")
    p = w.person()
    item = w.item("cpa_review", p.review)
    w.sweep(step_time(item["due_at"], days=1) + MINUTE)
    [r] = w.reminders(item["id"])
    assert r["username"] == "tm.north"
    assert r["email_state"] == "none" and r["email_next_at"] is None


def test_two_sweeps_at_once_share_the_work(w):
    people = [w.person() for _ in range(30)]
    items = [w.item("cpa_review", p.review)["id"] for p in people]
    due = w.item("cpa_review", people[0].review)["due_at"]
    clock = step_time(due, days=-14) + MINUTE

    # A holds ten items in an open transaction; B takes the rest at once,
    # without waiting for A.
    a = w.app_conn()
    with a.cursor() as cur:
        cur.execute("SET statement_timeout = '20s'")
        cur.execute("SELECT remind_sweep(%s, 10)", (clock,))
        assert cur.fetchone()[0] == 10
    b = w.app_conn()
    b.autocommit = True
    with b.cursor() as cur:
        cur.execute("SET statement_timeout = '5s'")
        cur.execute("SELECT remind_sweep(%s, 1000)", (clock,))
        assert cur.fetchone()[0] == 20
        a.commit()
        cur.execute("SELECT remind_sweep(%s, 1000)", (clock,))
        assert cur.fetchone()[0] == 0
    for i in items:
        assert w.sent_to(i) == [(1, "coord.north", "coordinator")]


def test_concurrent_sweep_loops_never_duplicate(w):
    people = [w.person() for _ in range(120)]
    items = [w.item("cpa_review", p.review) for p in people]
    latest = max(i["due_at"] for i in items)
    clocks = [step_time(latest, days=d) + MINUTE for d in (-14, -2, 1, 28)]
    done = {0: 0, 1: 0}
    errors = []
    start = threading.Barrier(2)

    def loop(k):
        try:
            c = w.app_conn()
            c.autocommit = True
            start.wait(10)
            with c.cursor() as cur:
                for clock in clocks:
                    while True:
                        cur.execute("SELECT remind_sweep(%s, 3)", (clock,))
                        n = cur.fetchone()[0]
                        done[k] += n
                        if n == 0:
                            break
        except Exception as e:         # reported below, in the test's thread
            errors.append(e)
    threads = [threading.Thread(target=loop, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert not any(t.is_alive() for t in threads)
    counts = w.db.all(
        "SELECT due_item_id, step, recipient_id, count(*) AS n FROM reminder "
        "GROUP BY 1, 2, 3 HAVING count(*) > 1")
    assert counts == []
    # Each item went through its four steps: coordinator twice, then the
    # managers of Riverside; each step queued exactly once.
    for i in items:
        assert [s for s, _, _ in w.sent_to(i["id"])] == [1, 2, 3, 4], i
    assert done[0] + done[1] == 4 * len(items)


def test_sweep_refuses_bad_limits(w):
    for limit in (0, -1, None):
        with pytest.raises(psycopg2.errors.InvalidParameterValue):
            w.app("SELECT remind_sweep(now(), %s)", (limit,))


# ------------------------------------------------------ site policies

def test_site_policy_overrides_the_defaults_and_reschedules(w):
    north, south = w.site["north"], w.site["south"]
    p = w.person()
    s = w.person(team=HARBOUR_CMHT, level="complex", coordinator="coord.south")
    item = w.item("cpa_review", p.review)
    due = item["due_at"]
    south_item = w.item("cpa_review", s.review)

    w.app("INSERT INTO reminder_step (site_id, kind, step, offset_by, recipient) VALUES "
          "(%s, 'cpa_review', 1, '-21 days', 'coordinator'), "
          "(%s, 'cpa_review', 2, '7 days', 'district_manager')", (north, north),
          user="admin.north")
    steps = w.app("SELECT s.* FROM remind_step_after(%s, 'cpa_review', %s, 0::smallint) s",
                  (north, due))
    assert steps == [{"step": 1, "at": step_time(due, days=-21), "recipient": "coordinator"}]
    steps = w.app("SELECT s.* FROM remind_step_after(%s, 'cpa_review', %s, 1::smallint) s",
                  (north, due))
    assert steps == [{"step": 2, "at": step_time(due, days=7),
                      "recipient": "district_manager"}]
    assert w.app("SELECT s.* FROM remind_step_after(%s, 'cpa_review', %s, 2::smallint) s",
                 (north, due)) == []
    # South keeps the trust's defaults; north's other kinds too.
    assert w.app("SELECT s.step, s.at FROM remind_step_after(%s, 'cpa_review', %s, "
                 "0::smallint) s", (south, due), sites=("south",)) == \
        [{"step": 1, "at": step_time(due, days=-14)}]
    assert w.app("SELECT s.step, s.at FROM remind_step_after(%s, 'risk_review', %s, "
                 "0::smallint) s", (north, due)) == \
        [{"step": 1, "at": step_time(due, days=-14)}]

    # Another site's context cannot reschedule north's items.
    assert w.app_scalar("SELECT remind_reschedule(%s, 'cpa_review')", (north,),
                        sites=("south",)) == 0
    assert w.item("cpa_review", p.review)["next_step_at"] == step_time(due, days=-14)
    assert w.app_scalar("SELECT remind_reschedule(%s, 'cpa_review')", (north,)) == 1
    assert w.item("cpa_review", p.review)["next_step_at"] == step_time(due, days=-21)
    assert w.app_scalar("SELECT remind_reschedule(%s, 'cpa_review')", (north,)) == 0
    assert w.item("cpa_review", s.review)["next_step_at"] == south_item["next_step_at"]

    # New items follow the site's policy from the start; the sweep too.
    q = w.person(level="standard")
    assert w.item("cpa_review", q.review)["next_step_at"] == \
        step_time(w.item("cpa_review", q.review)["due_at"], days=-21)
    w.sweep(step_time(due, days=7) + MINUTE)
    assert w.sent_to(item["id"]) == [(2, "dm.north", "district_manager")]
    assert w.item("cpa_review", p.review)["next_step_at"] is None

    # The site's own steps removed: the defaults again, from the steps done.
    w.app("DELETE FROM reminder_step WHERE site_id = %s", (north,))
    assert w.app_scalar("SELECT remind_reschedule(%s, 'cpa_review')", (north,)) >= 1
    assert w.item("cpa_review", p.review)["next_step_at"] == step_time(due, days=1)


# ------------------------------------------------- row-level security

def test_another_sites_context_sees_no_items_or_reminders(w):
    p = w.person()
    item = w.item("cpa_review", p.review)
    w.sweep(step_time(item["due_at"], days=1) + MINUTE)       # tm.north's reminder
    w.sweep(step_time(item["due_at"], days=28) + MINUTE)      # dm.north's
    assert w.db.scalar("SELECT count(*) FROM reminder") == 2
    for user in ("coord.south", "admin.south"):
        got = w.app("SELECT (SELECT count(*) FROM due_item) AS items, "
                    "(SELECT count(*) FROM reminder) AS reminders",
                    sites=("south",), user=user)
        assert got == [{"items": 0, "reminders": 0}]
    # At north, each sees only their own reminders.
    for user, n in (("tm.north", 1), ("dm.north", 1), ("coord.north", 0)):
        got = w.app("SELECT count(*) AS n FROM reminder", user=user)
        assert got == [{"n": n}], user
    assert w.app("SELECT count(*) AS n FROM due_item", user="coord.north") == [{"n": 1}]
    # Without a context, nothing.
    assert w.app("SELECT count(*) AS n FROM due_item", sites=()) == [{"n": 0}]


def test_reminders_are_written_only_through_the_definer_functions(w):
    fns = w.db.all(
        "SELECT p.proname, p.prosecdef, pg_get_userbyid(p.proowner) AS owner, "
        "p.proconfig, has_function_privilege('cpa_app', p.oid, 'EXECUTE') AS app, "
        "has_function_privilege('public', p.oid, 'EXECUTE') AS public "
        "FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace "
        "AND (p.proname LIKE %s OR p.proname = 'due_at_of')", ("remind\\_%",))
    by = {f["proname"]: f for f in fns}
    for name in DEFINERS:
        f = by[name]
        assert f["prosecdef"] and f["owner"] == "cpa_auth", f
        assert any(c.startswith("search_path=") for c in f["proconfig"] or []), f
    for f in fns:
        assert f["app"] and not f["public"], f
    for name in ("remind_reschedule", "remind_step_after", "remind_at", "due_at_of"):
        assert not by[name]["prosecdef"], name
    c = w.app_conn()
    with c.cursor() as cur:
        cur.execute("SELECT set_config('app.site_ids', %s, true), "
                    "set_config('app.user_id', %s, true)",
                    (str(w.site["north"]), str(w.staff["coord.north"])))
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("INSERT INTO reminder (site_id, due_item_id, kind, "
                        "service_user_id, episode_id, due_at, step, recipient_id, "
                        "recipient_role, escalation) VALUES (1, 1, 'cpa_review', 1, 1, "
                        "now(), 1, 1, 'coordinator', false)")
    c.rollback()


# ----------------------------------------------------------- the outbox

def test_claims_hold_for_their_lease(w):
    p = w.person()
    item = w.item("cpa_review", p.review)
    t0 = step_time(item["due_at"], days=-14) + MINUTE
    w.sweep(t0)
    [r] = w.reminders(item["id"])

    def claim(now, worker, lease="5 minutes"):
        return w.app("SELECT * FROM remind_claim_email(%s, %s, 10, %s)",
                     (now, worker, lease))
    assert claim(t0 - MINUTE, "a") == [], "claimed before its time"
    [c] = claim(t0, "a")
    assert c == {"reminder_id": r["id"], "email": "aisha.rahman@north.example.org",
                 "display_name": "Aisha Rahman", "kind": "cpa_review",
                 "due_at": item["due_at"], "escalation": False, "step": 1,
                 "attempts": 0}
    assert claim(t0 + 4 * MINUTE, "b") == [], "claimed while a held it"
    assert w.app_scalar("SELECT remind_next_wake(%s)", (t0 + MINUTE,)) == \
        min(t0 + 5 * MINUTE, w.item("cpa_review", p.review)["next_step_at"])
    # The lease ends; b takes it over, and a's late report is refused.
    assert [x["reminder_id"] for x in claim(t0 + 6 * MINUTE, "b")] == [r["id"]]
    assert w.app_scalar("SELECT remind_email_result(%s, 'a', true, NULL, %s)",
                        (r["id"], t0 + 7 * MINUTE)) is False
    assert w.db.scalar("SELECT email_state FROM reminder WHERE id = %s", (r["id"],)) == \
        "pending"
    assert w.app_scalar("SELECT remind_email_result(%s, 'b', true, NULL, %s)",
                        (r["id"], t0 + 7 * MINUTE)) is True
    sent = w.reminders(item["id"])[0]
    assert (sent["email_state"], sent["email_sent_at"], sent["email_claimed_by"],
            sent["email_claimed_until"]) == ("sent", t0 + 7 * MINUTE, None, None)
    assert claim(t0 + 60 * MINUTE, "c") == []
    assert w.app_scalar("SELECT remind_email_result(%s, 'b', true, NULL, %s)",
                        (r["id"], t0 + 8 * MINUTE)) is False


def test_failures_back_off_and_give_up_after_ten(w):
    p = w.person()
    item = w.item("cpa_review", p.review)
    now = step_time(item["due_at"], days=-14) + MINUTE
    w.sweep(now)
    [r] = w.reminders(item["id"])
    waits = []
    for attempt in range(1, 11):
        [c] = w.app("SELECT * FROM remind_claim_email(%s, 'w1', 10, '5 minutes')", (now,))
        assert c["attempts"] == attempt - 1
        assert w.app_scalar("SELECT remind_email_result(%s, 'w1', false, %s, %s)",
                            (r["id"], "454 relay down\r\nsecond line", now)) is True
        row = w.db.one("SELECT * FROM reminder WHERE id = %s", (r["id"],))
        assert row["email_attempts"] == attempt
        assert row["email_error"] == "454 relay down  second line"
        assert row["email_claimed_by"] is None
        if attempt < 10:
            assert row["email_state"] == "pending"
            waits.append(row["email_next_at"] - now)
            assert w.app("SELECT * FROM remind_claim_email(%s, 'w1', 10, '5 minutes')",
                         (row["email_next_at"] - datetime.timedelta(seconds=1),)) == []
            now = row["email_next_at"]
        else:
            assert row["email_state"] == "failed" and row["email_next_at"] is None
    assert [int(x.total_seconds() // 60) for x in waits] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert w.app("SELECT * FROM remind_claim_email(%s, 'w1', 10, '5 minutes')",
                 (now + datetime.timedelta(days=1),)) == []


def test_claims_skip_people_without_an_address(w):
    p = w.person()
    item = w.item("cpa_review", p.review)
    now = step_time(item["due_at"], days=-14) + MINUTE
    w.sweep(now)
    w.db.scalar("UPDATE staff SET email = NULL WHERE username = 'coord.north' RETURNING id")
    assert w.app("SELECT * FROM remind_claim_email(%s, 'w1', 10, '5 minutes')", (now,)) == []
    [r] = w.reminders(item["id"])
    assert r["email_state"] == "none"
    assert w.app_scalar("SELECT remind_next_wake(%s)", (now,)) == \
        step_time(item["due_at"], days=-2)


def test_next_wake_is_the_earliest_work(w):
    assert w.app_scalar("SELECT remind_next_wake(now())") is None
    p = w.person(level="enhanced")
    q = w.person(level="standard")
    first = w.item("cpa_review", p.review)["next_step_at"]
    assert w.app_scalar("SELECT remind_next_wake(now())") == first
    w.sweep(first + MINUTE)
    # A pending email now comes first.
    assert w.app_scalar("SELECT remind_next_wake(%s)", (first + MINUTE,)) == first + MINUTE
    w.app("SELECT * FROM remind_claim_email(%s, 'w1', 10, '1 hour')", (first + MINUTE,))
    assert w.app_scalar("SELECT remind_next_wake(%s)", (first + 2 * MINUTE,)) == \
        min(first + 61 * MINUTE, w.item("cpa_review", p.review)["next_step_at"],
            w.item("cpa_review", q.review)["next_step_at"])
