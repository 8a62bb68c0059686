"""cpa-remindd, the reminder daemon, run as its real binary ($CPA_REMINDD)
against the test stack's database, delivering to SMTP sinks of its own
(tests/smtp_sink.py): queueing with a set clock, two daemons at once, a
daemon killed mid-batch, the relay down, LISTEN, a lost connection, SIGTERM,
bad settings, and the stack's own daemon delivering to the stack's sink.

Set-up goes through the database, as the triggers of 005 and 007 expect: a
team of this module's own at the north site, with a coordinator and a team
manager who both have an address, and people with open episodes whose due
reviews are moved into the 1990s.  A daemon whose clock is set there (--now)
then sees only this module's items, since everything else falls due decades
later.  The stack's own daemon runs on the real clock and would take these
items at once, so it is stopped for the module and started again at its
end.  Each test closes its items when it ends (their episodes end, which
cancels the reviews and clears the reminders), so the next test's clock
finds none of them.

The daemons' stderr goes to $CPA_VAR/log/remindd-e2e-*.log, which `./dev
test` searches for sanitizer reports; each test also checks its own.
"""

import datetime
import email
import email.policy
import email.utils
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from cpa_e2e import (RUN, Db, new_dob, new_nhs_number, spaced,
                     unique_family_name, unique_username, wait_until)

SAN_ENV = {"ASAN_OPTIONS": "detect_leaks=1:halt_on_error=1",
           "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
SINK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "smtp_sink.py")
FROM = "reminders@cpa-suite.localdomain"
RUN_TIMEOUT = 120
SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:")
UTC = datetime.timezone.utc


# ------------------------------------------------------------ environment

class RemindEnv:
    """What ./dev test exports for these tests."""

    def __init__(self):
        need = ("CPA_REMINDD", "CPA_REMINDD_CONF", "CPA_MAIL_DIR", "CPA_SMTP_PORT",
                "CPA_PG_SUPER_DSN", "CPA_PG_APP_DSN", "CPA_VAR", "CPA_BASE_URL")
        missing = [v for v in need if not os.environ.get(v)]
        if missing:
            raise LookupError("test_remindd needs " + ", ".join(missing)
                              + " (run it through `./dev test`)")
        self.binary = os.environ["CPA_REMINDD"]
        self.stack_conf = os.environ["CPA_REMINDD_CONF"]
        self.mail_dir = os.environ["CPA_MAIL_DIR"]
        self.smtp_port = int(os.environ["CPA_SMTP_PORT"])
        self.super_dsn = os.environ["CPA_PG_SUPER_DSN"]
        self.app_dsn = os.environ["CPA_PG_APP_DSN"]
        self.log_dir = os.path.join(os.environ["CPA_VAR"], "log")
        self.base = os.environ["CPA_BASE_URL"].rstrip("/")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clock(text):
    """An aware datetime of 'YYYY-MM-DD HH:MM:SS' in UTC."""
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def now_arg(t):
    return t.strftime("%Y-%m-%d %H:%M:%S+00")


# -------------------------------------------------------------- SMTP sink

class Sink:
    """A tests/smtp_sink.py of a test's own, on a free port unless given."""

    def __init__(self, directory, port=None, delay=0.0):
        self.dir = directory
        self.port = port or free_port()
        self.delay = delay
        self.proc = None
        os.makedirs(directory, exist_ok=True)

    def start(self):
        ready = os.path.join(self.dir, ".ready")
        if os.path.exists(ready):
            os.unlink(ready)
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", SINK, "--port", str(self.port), "--dir", self.dir,
             "--delay", str(self.delay), "--ready-file", ready],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        wait_until(lambda: os.path.exists(ready) or self.proc.poll() is not None,
                   15, f"the SMTP sink on port {self.port}")
        if self.proc.poll() is not None:
            pytest.fail("the SMTP sink did not start: "
                        + self.proc.stderr.read().decode(errors="replace"))
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)
        self.proc = None

    def messages(self):
        """[(raw bytes, email.message.EmailMessage)] in arrival order."""
        return read_mail(self.dir)


def read_mail(directory):
    out = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".eml") or name.startswith("."):
            continue
        with open(os.path.join(directory, name), "rb") as f:
            raw = f.read()
        out.append((raw, email.message_from_bytes(raw, policy=email.policy.default)))
    return out


def reminder_ids_of(messages):
    """{reminder id: number of messages} from the Message-IDs."""
    counts = {}
    for _, m in messages:
        mo = re.fullmatch(r"<reminder-(\d+)@cpa-suite>", str(m["Message-ID"]).strip())
        assert mo, f"unexpected Message-ID {m['Message-ID']!r}"
        rid = int(mo.group(1))
        counts[rid] = counts.get(rid, 0) + 1
    return counts


# ----------------------------------------------------------------- daemon

class Daemon:
    """cpa-remindd with a config of the test's own; stderr appended to
    $CPA_VAR/log/remindd-e2e-<tag>.log."""

    def __init__(self, renv, tmp_path, tag, smtp_port, **settings):
        self.renv = renv
        self.log_path = os.path.join(renv.log_dir, f"remindd-e2e-{tag}.log")
        self.conf = os.path.join(tmp_path, f"remindd-{tag}.conf")
        values = {"db_conninfo": renv.app_dsn,
                  "smtp_url": f"smtp://127.0.0.1:{smtp_port}",
                  "smtp_from": FROM, "base_url": renv.base, "log_level": "info",
                  "smtp_timeout_seconds": 10, "lease_seconds": 60}
        values.update(settings)
        with open(self.conf, "w") as f:
            for k, v in values.items():
                f.write(f"{k} = {v}\n")
        self.procs = []

    def env(self):
        e = {k: v for k, v in os.environ.items() if not k.startswith("CPA_")}
        e.update(SAN_ENV)
        return e

    def argv(self, now=None, once=True):
        a = [self.renv.binary, "--config", self.conf]
        if once:
            a.append("--once")
        if now is not None:
            a += ["--now", now_arg(now)]
        return a

    def start(self, now=None, once=True):
        log = open(self.log_path, "ab")
        start = log.tell()
        p = subprocess.Popen(self.argv(now, once), stdin=subprocess.DEVNULL,
                             stdout=log, stderr=log, env=self.env())
        log.close()
        p.log_start = start
        self.procs.append(p)
        return p

    def once(self, now):
        """One wake at clock now; returns the exit status."""
        p = self.start(now)
        return p.wait(timeout=RUN_TIMEOUT)

    def log_of(self, p):
        with open(self.log_path, "rb") as f:
            f.seek(p.log_start)
            return f.read().decode(errors="replace")

    def events(self, p, event):
        return [line for line in self.log_of(p).splitlines()
                if f'"pid":{p.pid},"event":"{event}"' in line]

    def check_clean(self):
        if not os.path.exists(self.log_path):
            return
        with open(self.log_path, "rb") as f:
            text = f.read().decode(errors="replace")
        hits = [line for line in text.splitlines() if SANITIZER.search(line)]
        assert not hits, f"sanitizer reports in {self.log_path}: {hits[:5]}"

    def kill_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=15)


# ------------------------------------------------------------------ data

class World:
    """This module's team, coordinator and team manager, and the people it
    creates.  close() ends every episode it opened."""

    def __init__(self, db):
        self.db = db
        self.site_id = db.scalar("SELECT id FROM site WHERE code = 'north'")
        name = f"Remindd E2E {RUN}"
        self.district_id = db.scalar(
            "INSERT INTO district (site_id, name, integrated, inclusive) "
            "VALUES (%s, %s, true, true) RETURNING id", (self.site_id, name))
        self.team_id = db.scalar(
            "INSERT INTO team (site_id, district_id, name) VALUES (%s, %s, %s) "
            "RETURNING id", (self.site_id, self.district_id, name + " Team"))
        self.coord = self.staff("rd-coord", "coordinator")
        self.tm = self.staff("rd-tm", "team_manager")
        self.episodes = []

    def staff(self, tag, role):
        username = unique_username(tag)
        mail = f"{username}@example.org"
        sid = self.db.scalar(
            "INSERT INTO staff (username, display_name, email, password_hash, home_site_id) "
            "VALUES (%s, %s, %s, 'not-a-hash: cannot sign in', %s) RETURNING id",
            (username, f"Reminder Test {tag}", mail, self.site_id))
        self.db.scalar(
            "INSERT INTO staff_role (staff_id, role, site_id, district_id, team_id) "
            "VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (sid, role, self.site_id, self.district_id, self.team_id))
        return {"id": sid, "username": username, "email": mail}

    def items(self, n, due):
        """n people with open episodes whose due review is due on date due:
        [{episode_id, review_id, due_item_id, given_name, family_name,
        nhs_number, date_of_birth}]."""
        people = [{"given_name": "Zephyrine", "family_name": unique_family_name("Quillfeather"),
                   "nhs_number": new_nhs_number(), "date_of_birth": new_dob()}
                  for _ in range(n)]
        rows = self.db.all(
            "WITH p AS (SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::date[]) "
            "  AS x (given_name, family_name, nhs_number, date_of_birth)), "
            "su AS (INSERT INTO service_user (site_id, given_name, family_name, "
            "  nhs_number, date_of_birth) "
            "  SELECT %s, given_name, family_name, nhs_number, date_of_birth FROM p "
            "  RETURNING id, nhs_number) "
            "INSERT INTO episode (site_id, service_user_id, team_id, level, coordinator_id) "
            "SELECT %s, su.id, %s, 'standard', %s FROM su "
            "RETURNING id AS episode_id, service_user_id",
            ([p["given_name"] for p in people], [p["family_name"] for p in people],
             [p["nhs_number"] for p in people], [p["date_of_birth"] for p in people],
             self.site_id, self.site_id, self.team_id, self.coord["id"]))
        assert len(rows) == n
        ids = [r["episode_id"] for r in rows]
        self.episodes += ids
        self.set_due(ids, due)
        items = self.db.all(
            "SELECT e.id AS episode_id, r.id AS review_id, d.id AS due_item_id, "
            "  su.given_name, su.family_name, su.nhs_number, su.date_of_birth "
            "FROM episode e JOIN service_user su ON su.id = e.service_user_id "
            "JOIN cpa_review r ON r.episode_id = e.id AND r.status = 'due' "
            "JOIN due_item d ON d.kind = 'cpa_review' AND d.source_id = r.id AND d.open "
            "WHERE e.id = ANY(%s) ORDER BY e.id", (ids,))
        assert len(items) == n, f"due items of the new reviews: {items!r}"
        return items

    def set_due(self, episode_ids, due):
        self.db.all("UPDATE cpa_review SET due_date = %s, version = version + 1 "
                    "WHERE episode_id = ANY(%s) AND status = 'due' RETURNING id",
                    (due, list(episode_ids)))

    def reminders(self, items):
        return self.db.all(
            "SELECT r.*, s.email AS recipient_email FROM reminder r "
            "JOIN staff s ON s.id = r.recipient_id "
            "WHERE r.due_item_id = ANY(%s) ORDER BY r.id",
            ([i["due_item_id"] for i in items],))

    def close(self):
        if self.episodes:
            self.db.all("UPDATE episode SET ended_at = now(), end_reason = 'other' "
                        "WHERE id = ANY(%s) AND ended_at IS NULL RETURNING id",
                        (self.episodes,))
            self.episodes = []


# --------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def renv():
    try:
        return RemindEnv()
    except LookupError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="module", autouse=True)
def stack_daemon_stopped(ctl, renv):
    """The stack's own cpa-remindd (real clock) is stopped while this module
    runs and started again after it."""
    ctl("stop", "remindd")
    yield
    ctl("start", "remindd")


@pytest.fixture(scope="module")
def mdb(renv):
    d = Db(renv.super_dsn)
    yield d
    d.close()


@pytest.fixture(scope="module")
def team(mdb):
    w = World(mdb)
    yield w
    w.close()


@pytest.fixture
def world(team):
    """The module's team; what a test creates is closed when it ends."""
    yield team
    team.close()


@pytest.fixture
def daemons(renv, tmp_path):
    """daemons(tag, smtp_port, **settings) -> Daemon; all killed if still
    running when the test ends, and their logs checked for sanitizer
    reports."""
    made = []

    def make(tag, smtp_port, **settings):
        d = Daemon(renv, str(tmp_path), tag, smtp_port, **settings)
        made.append(d)
        return d
    yield make
    for d in made:
        d.kill_all()
    for d in made:
        d.check_clean()


@pytest.fixture
def sinks(tmp_path):
    """sinks(name, port=None, delay=0) -> a started Sink, stopped at the end."""
    made = []

    def make(name, port=None, delay=0.0):
        s = Sink(str(tmp_path / f"mail-{name}"), port, delay).start()
        made.append(s)
        return s
    yield make
    for s in made:
        s.stop()


def assert_close(actual, expected, seconds, what):
    assert actual is not None, f"{what} is not set"
    delta = abs((actual - expected).total_seconds())
    assert delta <= seconds, f"{what} is {actual}, expected {expected} (±{seconds}s)"


# ------------------------------------------------------------------ tests

def test_once_queues_emails_and_escalates(world, daemons, sinks, renv):
    """--once with a set clock queues the coordinator's reminder 10 days
    before the review, emails it without a patient identifier, queues
    nothing twice, and a day after the due date escalates to the team
    manager."""
    (item,) = world.items(1, datetime.date(1991, 3, 15))
    sink = sinks("once")
    d = daemons("once", sink.port)
    t1 = clock("1991-03-05 12:00:00")

    assert d.once(t1) == 0, d.log_of(d.procs[-1])
    rows = world.reminders([item])
    assert len(rows) == 1, rows
    r = rows[0]
    assert (r["recipient_id"], r["recipient_role"], r["step"], r["escalation"]) == \
        (world.coord["id"], "coordinator", 1, False)
    assert (r["email_state"], r["email_attempts"], r["email_claimed_by"]) == ("sent", 0, None)
    assert_close(r["email_sent_at"], t1, 60, "email_sent_at")

    msgs = sink.messages()
    assert len(msgs) == 1, [m["Subject"] for _, m in msgs]
    raw, m = msgs[0]
    assert m["X-Sink-Rcpt-To"] == world.coord["email"]
    assert m["X-Sink-Mail-From"] == FROM
    assert world.coord["email"] in str(m["To"])
    assert FROM in str(m["From"])
    assert str(m["Subject"]) == "cpa-suite: CPA review due in 10 days"
    assert str(m["Message-ID"]) == f"<reminder-{r['id']}@cpa-suite>"
    assert email.utils.parsedate_to_datetime(str(m["Date"])) is not None
    assert b"\n" not in raw.replace(b"\r\n", b""), "bare LF in the message"
    body = m.get_content()
    assert f"{renv.base}/inbox" in body
    assert "1991-03-15" in body
    assert "escalation" not in body.lower()
    text = raw.decode("ascii").lower()
    dob = item["date_of_birth"]
    for ident in (item["given_name"], item["family_name"], item["nhs_number"],
                  spaced(item["nhs_number"]), dob.isoformat(), dob.strftime("%d/%m/%Y"),
                  dob.strftime("%d %B %Y")):
        assert ident.lower() not in text, f"the message names the person: {ident!r}"

    # The same clock again: the step is done, nothing more is queued or sent.
    assert d.once(t1) == 0
    assert len(world.reminders([item])) == 1
    assert len(sink.messages()) == 1

    # A day after the due date: step 3 escalates to the team's managers.
    t2 = clock("1991-03-16 12:00:00")
    assert d.once(t2) == 0, d.log_of(d.procs[-1])
    rows = world.reminders([item])
    esc = [x for x in rows if x["step"] == 3]
    assert esc and all(x["escalation"] and x["recipient_role"] == "team_manager"
                       for x in esc), rows
    mine = [x for x in esc if x["recipient_id"] == world.tm["id"]]
    assert len(mine) == 1 and mine[0]["email_state"] == "sent", esc
    msgs = sink.messages()
    counts = reminder_ids_of(msgs)
    assert counts == {x["id"]: 1 for x in rows if x["email_state"] == "sent"}
    (tm_msg,) = [m for _, m in msgs if m["X-Sink-Rcpt-To"] == world.tm["email"]]
    assert str(tm_msg["Subject"]) == "cpa-suite: CPA review overdue by 1 day (escalation)"
    assert str(tm_msg["Message-ID"]) == f"<reminder-{mine[0]['id']}@cpa-suite>"
    assert "escalation" in tm_msg.get_content().lower()


def test_two_daemons_queue_each_reminder_once(world, daemons, sinks):
    """Two daemons sweeping and sending at once, in small batches: one
    reminder row per item, every email delivered, the work shared."""
    items = world.items(40, datetime.date(1992, 6, 20))
    sink = sinks("two", delay=0.05)
    t = clock("1992-06-10 12:00:00")
    a = daemons("two-a", sink.port, batch_size=3, email_batch=4)
    b = daemons("two-b", sink.port, batch_size=3, email_batch=4)

    pa, pb = a.start(t), b.start(t)
    assert pa.wait(timeout=RUN_TIMEOUT) == 0, a.log_of(pa)
    assert pb.wait(timeout=RUN_TIMEOUT) == 0, b.log_of(pb)

    rows = world.reminders(items)
    assert len(rows) == 40, f"{len(rows)} reminder rows for 40 items"
    assert {r["due_item_id"] for r in rows} == {i["due_item_id"] for i in items}
    assert all(r["step"] == 1 and r["recipient_id"] == world.coord["id"] for r in rows)
    assert [r for r in rows if r["email_state"] != "sent"] == []
    counts = reminder_ids_of(sink.messages())
    assert set(counts) == {r["id"] for r in rows}
    assert all(n >= 1 for n in counts.values())
    sent_a, sent_b = len(a.events(pa, "email_sent")), len(b.events(pb, "email_sent"))
    assert sent_a > 0 and sent_b > 0, f"the work was not shared: {sent_a} and {sent_b}"
    assert sent_a + sent_b == sum(counts.values())


def test_killed_mid_batch_loses_and_doubles_nothing(world, daemons, sinks):
    """kill -9 while a claimed batch is being sent: the rest waits for its
    lease, then a restarted daemon delivers it; no reminder is queued
    twice, at most the message in flight is sent twice."""
    items = world.items(12, datetime.date(1993, 9, 20))
    sink = sinks("kill", delay=0.4)
    t = clock("1993-09-10 12:00:00")
    d = daemons("kill", sink.port, email_batch=12, lease_seconds=20,
                smtp_timeout_seconds=5)

    p = d.start(t)
    wait_until(lambda: len(sink.messages()) >= 3, 60, "three messages in the sink")
    p.kill()
    p.wait(timeout=15)
    rows = world.reminders(items)
    assert len(rows) == 12
    pending = [r for r in rows if r["email_state"] == "pending"]
    assert pending, "the batch finished before the kill"
    assert all(r["email_claimed_by"] and r["email_claimed_by"].endswith(f":{p.pid}")
               for r in pending), pending
    before = len(sink.messages())

    # Restarted within the lease: the killed daemon's claims still hold.
    assert d.once(t + datetime.timedelta(seconds=1)) == 0
    time.sleep(1)   # the sink saves a message only after its delay
    after = sink.messages()
    assert len(after) <= before + 1, "claimed messages were taken over within the lease"
    assert sum(1 for r in world.reminders(items) if r["email_state"] == "pending") >= \
        len(pending) - 1

    # After the lease: everything is delivered.
    assert d.once(t + datetime.timedelta(seconds=60)) == 0
    rows = world.reminders(items)
    assert len(rows) == 12 and len({r["due_item_id"] for r in rows}) == 12
    assert [r for r in rows if r["email_state"] != "sent"] == []
    counts = reminder_ids_of(sink.messages())
    assert set(counts) == {r["id"] for r in rows}
    assert sum(1 for n in counts.values() if n > 1) <= 1, counts


def test_relay_down_backs_off_then_delivers(world, daemons, sinks):
    """With nothing listening on the relay's port each attempt is counted
    and the next one waits 1, then 2 minutes; a wake before then tries
    nothing; once the relay is up every message goes, once."""
    items = world.items(3, datetime.date(1994, 4, 8))
    port = free_port()
    d = daemons("down", port)
    t0 = clock("1994-04-01 12:00:00")

    assert d.once(t0) == 0
    rows = world.reminders(items)
    assert len(rows) == 3
    for r in rows:
        assert (r["email_state"], r["email_attempts"]) == ("pending", 1), r
        assert r["email_error"], r
        assert_close(r["email_next_at"], t0 + datetime.timedelta(minutes=1), 20,
                     "email_next_at after one failure")

    assert d.once(t0 + datetime.timedelta(seconds=30)) == 0
    assert all(r["email_attempts"] == 1 for r in world.reminders(items)), \
        "tried again before the back-off ended"

    t2 = t0 + datetime.timedelta(seconds=90)
    assert d.once(t2) == 0
    for r in world.reminders(items):
        assert (r["email_state"], r["email_attempts"]) == ("pending", 2), r
        assert_close(r["email_next_at"], t2 + datetime.timedelta(minutes=2), 20,
                     "email_next_at after two failures")

    sink = sinks("down", port=port)
    assert d.once(t2 + datetime.timedelta(minutes=3)) == 0
    rows = world.reminders(items)
    assert len(rows) == 3
    assert all(r["email_state"] == "sent" and r["email_error"] is None for r in rows), rows
    assert reminder_ids_of(sink.messages()) == {r["id"]: 1 for r in rows}


def test_sigterm_finishes_the_message_in_hand(world, daemons, sinks):
    """SIGTERM while a batch is being sent: the message in hand is finished
    and recorded, the daemon exits 0, the rest stays queued."""
    items = world.items(6, datetime.date(1995, 2, 20))
    sink = sinks("term", delay=1.0)
    d = daemons("term", sink.port, email_batch=6)
    p = d.start(clock("1995-02-10 12:00:00"))

    wait_until(lambda: len(sink.messages()) >= 1, 60, "the first message")
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 0, d.log_of(p)
    assert d.events(p, "stop")
    rows = world.reminders(items)
    sent = [r for r in rows if r["email_state"] == "sent"]
    assert 1 <= len(sent) < 6, rows
    assert set(reminder_ids_of(sink.messages())) == {r["id"] for r in sent}
    assert all(r["email_state"] == "pending" for r in rows if r not in sent)


def test_listen_wakes_the_daemon_and_survives_a_lost_connection(world, daemons,
                                                                 sinks, mdb, renv):
    """A running daemon (interval 10 minutes) queues and sends the reminder
    of a newly due item within seconds of its NOTIFY; after its database
    connection is killed it reconnects, listens again and carries on;
    SIGTERM stops it with status 0."""
    sink = sinks("listen")
    app = f"remindd-e2e-{RUN}"
    d = daemons("listen", sink.port, sweep_interval=600, log_level="debug",
                db_conninfo=f"{renv.app_dsn} application_name={app}")
    p = d.start(clock("1996-05-01 12:00:00"), once=False)
    wait_until(lambda: d.events(p, "sweep"), 30, "the daemon's first sweep")

    def delivered(items):
        rows = world.reminders(items)
        return rows and all(r["email_state"] == "sent" for r in rows) and \
            set(reminder_ids_of(sink.messages())) >= {r["id"] for r in rows}

    first = world.items(1, datetime.date(1996, 5, 10))
    t = time.monotonic()
    wait_until(lambda: delivered(first), 10, "the first item's reminder")
    assert time.monotonic() - t < 10

    killed = mdb.scalar("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = %s", (app,))
    assert killed == 1
    wait_until(lambda: len(d.events(p, "db_connected")) >= 2, 60,
               "the daemon to reconnect")
    assert d.events(p, "db_lost")
    assert p.poll() is None, d.log_of(p)

    second = world.items(1, datetime.date(1996, 5, 11))
    wait_until(lambda: delivered(second), 10, "the second item's reminder")

    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 0, d.log_of(p)


def test_bad_settings_are_refused(daemons, renv, tmp_path):
    """An unknown setting, a bad value, a lease no longer than the SMTP
    timeout and a malformed --now stop the daemon with status 2 and a
    message naming what is wrong."""
    cases = [({"smtp_relay": "x"}, None, "unknown setting 'smtp_relay'"),
             ({"smtp_url": "http://127.0.0.1:25"}, None, "smtp_url must be"),
             ({"batch_size": "0"}, None, "batch_size must be a whole number"),
             ({"lease_seconds": "10", "smtp_timeout_seconds": "10"}, None,
              "lease_seconds (10) must be greater than smtp_timeout_seconds (10)"),
             ({}, "tomorrow", "--now"),
             ({}, "1999-02-30 12:00:00+00", "--now")]
    for n, (settings, now, message) in enumerate(cases):
        d = daemons(f"bad{n}", 25, **settings)
        argv = [renv.binary, "--config", d.conf, "--once"]
        if now:
            argv += ["--now", now]
        p = subprocess.run(argv, capture_output=True, text=True, env=d.env(),
                           timeout=RUN_TIMEOUT)
        assert p.returncode == 2, (settings, now, p.stderr)
        assert not SANITIZER.search(p.stderr), p.stderr
        assert message in p.stderr, (message, p.stderr)


def test_stack_daemon_delivers_to_the_stack_sink(world, ctl, renv, mdb):
    """The stack's own cpa-remindd (real clock, started by ./dev) wakes on
    the NOTIFY of an item due in five days and emails the coordinator
    through the stack's SMTP sink ($CPA_MAIL_DIR)."""
    with open(renv.stack_conf) as f:
        assert f"smtp_url = smtp://127.0.0.1:{renv.smtp_port}" in f.read()
    ctl("start", "remindd")
    pid = int(ctl("pid", "remindd").strip())
    assert pid > 0
    ctl("pid", "smtp-sink")

    today = mdb.scalar("SELECT current_date")
    (item,) = world.items(1, today + datetime.timedelta(days=5))

    def sent():
        rows = [r for r in world.reminders([item]) if r["email_state"] == "sent"]
        if not rows:
            return None
        ids = set(reminder_ids_of(read_mail(renv.mail_dir)))
        return rows if rows[0]["id"] in ids else None
    rows = wait_until(sent, 20, "the stack's daemon to send the reminder")
    assert rows[0]["recipient_id"] == world.coord["id"]
    assert rows[0]["escalation"] is False


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
