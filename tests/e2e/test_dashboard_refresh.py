"""cpa-remindd keeps the dashboard's summaries fresh (dash_refresh, sql/
011_dashboard.sql): run once (--once, the stack's own config) it refreshes
them whatever their age, and the change made before shows on the
dashboard with the refresh's time as "figures as of"; running, it
refreshes when the last refresh is dashboard_refresh_interval old, not
before, and never with 0.  And the summaries catch up after a pause: a
follow-up that falls due later on the day of the last refresh counts once
a refresh comes days later (checked in a transaction that is rolled
back).

The stack's own cpa-remindd is stopped while this module runs, so only
the daemons started here refresh; their stderr goes to
$CPA_VAR/log/remindd-e2e-dashboard.log, checked for sanitizer reports."""

import datetime
import os
import re
import signal
import subprocess
import time

import psycopg2
import psycopg2.extras
import pytest

pytestmark = pytest.mark.usefixtures("dash_quiet")

SAN_ENV = {"ASAN_OPTIONS": "detect_leaks=1:halt_on_error=1",
           "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:")
RUN_TIMEOUT = 120


class Remindd:
    """cpa-remindd ($CPA_REMINDD) with the stack's config or a copy of it
    with settings changed; stderr appended to one log."""

    def __init__(self, env, tmp_path):
        for v in ("CPA_REMINDD", "CPA_REMINDD_CONF"):
            if not os.environ.get(v):
                pytest.fail(f"{v} is not set (run through `./dev test`)",
                            pytrace=False)
        self.binary = os.environ["CPA_REMINDD"]
        self.stack_conf = os.environ["CPA_REMINDD_CONF"]
        self.tmp = tmp_path
        self.log_path = os.path.join(env.var, "log", "remindd-e2e-dashboard.log")
        self.procs = []

    def conf(self, tag, **settings):
        """A copy of the stack's config with settings replaced."""
        with open(self.stack_conf, encoding="utf-8") as f:
            lines = [ln for ln in f.read().splitlines()
                     if ln.split("=")[0].strip() not in settings]
        lines += [f"{k} = {v}" for k, v in settings.items()]
        path = os.path.join(self.tmp, f"remindd-{tag}.conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def start(self, conf, once):
        env = {k: v for k, v in os.environ.items() if not k.startswith("CPA_")}
        env.update(SAN_ENV)
        log = open(self.log_path, "ab")
        argv = [self.binary, "--config", conf] + (["--once"] if once else [])
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=log, env=env)
        log.close()
        self.procs.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=15)
        return p.returncode

    def finish(self):
        for p in self.procs:
            self.stop(p)
        if os.path.exists(self.log_path):
            with open(self.log_path, "rb") as f:
                text = f.read().decode(errors="replace")
            hits = [ln for ln in text.splitlines() if SANITIZER.search(ln)]
            assert not hits, f"sanitizer reports in {self.log_path}: {hits[:5]}"


@pytest.fixture
def remindd(env, tmp_path):
    d = Remindd(env, str(tmp_path))
    yield d
    d.finish()


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def test_once_refreshes_and_the_change_shows(dash, db, remindd, as_demo,
                                             refer, staff, teams, dashboard_up):
    team = teams["north_riverside_cmht"]
    tm = as_demo("tm.north")
    path = f"/dashboard/teams/{team['id']}"
    first = dash.refresh()
    before = dash.page(tm, path)["figures"]["referrals"]
    refer(staff("coord.north"), team["id"])
    assert dash.as_of() == first
    assert dash.page(tm, path)["figures"]["referrals"] == before

    p = remindd.start(remindd.stack_conf, once=True)
    assert p.wait(timeout=RUN_TIMEOUT) == 0, "cpa-remindd --once failed"
    state = db.one("SELECT refreshed_at, now() AS now FROM dash_state")
    assert state["refreshed_at"] > first
    assert abs((state["now"] - state["refreshed_at"]).total_seconds()) < 60, state
    body = dash.page(tm, path)
    after = body["figures"]["referrals"]
    assert (after["received"], after["awaiting_triage"]) == \
        (before["received"] + 1, before["awaiting_triage"] + 1), (before, after)
    assert dash.same(body["as_of"], state["refreshed_at"]) == [], body["as_of"]
    tm.delete("/api/v1/session")


def test_running_refreshes_when_due(dash, remindd):
    """interval 2: a running daemon refreshes again and again; 3600 just
    after a refresh: not at all; 0: never (another instance does it)."""
    conf = remindd.conf("due", sweep_interval=1, dashboard_refresh_interval=2)
    start = dash.refresh()
    p = remindd.start(conf, once=False)
    first = wait_for(lambda: (dash.as_of() > start) and dash.as_of(), 30,
                     "a refresh by the running daemon")
    wait_for(lambda: dash.as_of() > first, 30, "a second refresh")
    assert p.poll() is None, "the daemon stopped"
    assert remindd.stop(p) == 0

    for interval in (3600, 0):
        conf = remindd.conf(f"quiet{interval}", sweep_interval=1,
                            dashboard_refresh_interval=interval)
        start = dash.refresh()
        p = remindd.start(conf, once=False)
        time.sleep(6)
        assert p.poll() is None, "the daemon stopped"
        assert dash.as_of() == start, f"refreshed with interval {interval}"
        assert remindd.stop(p) == 0


class TxDb:
    """A superuser connection whose work is rolled back: what DashKit
    needs (all, one, scalar), inside one transaction."""

    def __init__(self, dsn):
        self.conn = psycopg2.connect(dsn, connect_timeout=10)

    def all(self, sql, params=()):
        with self.conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(sql, params)
            return [dict(r) for r in cur.fetchall()] if cur.description else []

    def one(self, sql, params=()):
        rows = self.all(sql, params)
        assert len(rows) == 1, rows
        return rows[0]

    def scalar(self, sql, params=()):
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()[0]

    def close(self):
        self.conn.rollback()
        self.conn.close()


@pytest.fixture
def tx(env):
    d = TxDb(env.pg_super_dsn)
    yield d
    d.close()


def test_a_later_refresh_catches_up_the_last_ones_day(tx, teams, dash_kit):
    """A follow-up falls due a minute after a refresh at t0, the same day,
    and is never met; the next refresh comes two days later: that day's
    follow-ups due count it, as the base tables say.  (The refreshes are
    given their clock, as cpa-remindd gives it.)"""
    kit = dash_kit(tx)
    team = teams["north_riverside_cmht"]["id"]
    t0 = tx.scalar("SELECT now()")
    if kit.uk_day(t0 + datetime.timedelta(minutes=1)) != kit.uk_day(t0):
        t0 -= datetime.timedelta(minutes=2)     # keep the minute in the day
    day = kit.uk_day(t0)
    ep = tx.one("SELECT id, site_id, service_user_id, coordinator_id FROM episode "
                "WHERE team_id = %s AND ended_at IS NULL AND service_user_id NOT IN "
                "(SELECT service_user_id FROM admission WHERE discharged_at IS NULL) "
                "ORDER BY id LIMIT 1", (team,))
    admission = tx.scalar("INSERT INTO admission (site_id, service_user_id, "
                          "episode_id, admitted_at, discharged_at, recorded_by) "
                          "VALUES (%s, %s, %s, %s - interval '5 days', "
                          "%s - interval '72 hours' + interval '1 minute', %s) "
                          "RETURNING id",
                          (ep["site_id"], ep["service_user_id"], ep["id"], t0, t0,
                           ep["coordinator_id"]))
    due = tx.scalar("SELECT due_at FROM followup WHERE admission_id = %s "
                    "AND status = 'open'", (admission,))
    assert kit.uk_day(due) == day and due > t0, due

    def followups_due():
        return tx.one("SELECT figures FROM dash_figures(%s::bigint[], %s, %s, "
                      "'all')", ([team], day, day))["figures"]["reviews"][
                          "followups_due"]
    # The refresh at t0 sees it not yet due.
    out = tx.scalar("SELECT dash_refresh(%s, interval '0')::text", (t0,))
    assert '"refreshed"' in out, out
    assert followups_due() == kit.events([team], day, day, t0)["fu_due"]
    later = t0 + datetime.timedelta(days=2)
    out = tx.scalar("SELECT dash_refresh(%s, interval '0')::text", (later,))
    assert '"refreshed"' in out, out
    got = followups_due()
    want = kit.events([team], day, day, later)["fu_due"]
    assert got == want, (f"follow-ups due on {day} after a refresh at {later}: "
                         f"{got}, the base tables say {want}")
