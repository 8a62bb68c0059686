"""cpa-migrate against the test cluster, in a throwaway database per test
(cpa_mig_<random>, dropped at the end) so the stack's own database is never
touched: every file applied once, in order, with its sha256 on record; a
changed applied file stops the run before anything new; a failing file
rolls back whole; --status; concurrent runs serialised by the advisory
lock.  The migrations are copies of $CPA_SQL_DIR/NNN_*.sql, so the tests
follow whatever files the repository holds; the files they add take the
next free numbers."""

import hashlib
import os
import re
import secrets
import shutil
import subprocess
import tempfile

import psycopg2
import psycopg2.extensions
import pytest

from cpa_e2e import Db, wait_until

PGBIN = "/usr/lib/postgresql/15/bin"
SAN_ENV = {"ASAN_OPTIONS": "detect_leaks=1:halt_on_error=1",
           "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
MIGRATION = re.compile(r"^[0-9]{3}_[a-z0-9_]+\.sql$")
RUN_TIMEOUT = 60
GATE_KEY = 4242     # an advisory lock a test file waits for (not cpa-migrate's)


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Migrations:
    """A throwaway database prepared like the stack's (bootstrap.sql run by
    the superuser) and a private copy of the migration files."""

    def __init__(self, env, build_dir, sql_dir):
        self.name = "cpa_mig_" + secrets.token_hex(4)
        self.super_dsn = env.pg_super_dsn
        self.bin = os.path.join(build_dir, "cpa-migrate")
        assert os.access(self.bin, os.X_OK), f"{self.bin} is not an executable"
        self.dir = tempfile.mkdtemp(prefix="cpa-e2e-sql-")
        self.owner_dsn = psycopg2.extensions.make_dsn(
            env.pg_super_dsn, dbname=self.name, user="cpa_owner")
        self.db = None
        with_postgres(env.pg_super_dsn,
                      f'CREATE DATABASE "{self.name}" ENCODING \'UTF8\'')
        dsn = psycopg2.extensions.make_dsn(env.pg_super_dsn, dbname=self.name)
        psql = os.path.join(PGBIN, "psql")
        if not os.access(psql, os.X_OK):
            psql = shutil.which("psql")
        p = subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn,
                            "-f", os.path.join(sql_dir, "bootstrap.sql")],
                           capture_output=True, text=True, timeout=RUN_TIMEOUT)
        assert p.returncode == 0, f"bootstrap.sql in {self.name}: {p.stderr}"
        self.repo_files = sorted(f for f in os.listdir(sql_dir)
                                 if MIGRATION.match(f))
        assert self.repo_files, f"no NNN_name.sql migrations in {sql_dir}"
        for f in self.repo_files:
            shutil.copy(os.path.join(sql_dir, f), self.dir)
        self.db = Db(dsn)

    def run(self, *args):
        """cpa-migrate --conninfo <owner dsn> --dir <copy> args..."""
        e = {k: v for k, v in os.environ.items() if not k.startswith("CPA_")}
        e.update(SAN_ENV)
        return subprocess.run(self.argv(*args), capture_output=True, text=True,
                              env=e, timeout=RUN_TIMEOUT)

    def argv(self, *args):
        return [self.bin, "--conninfo", self.owner_dsn, "--dir", self.dir, *args]

    def ok(self, *args):
        p = self.run(*args)
        assert p.returncode == 0, \
            f"cpa-migrate {' '.join(args)} exited {p.returncode}: {p.stderr}"
        assert not re.search(r"Sanitizer|runtime error:", p.stderr), p.stderr
        return p

    def files(self):
        return sorted(f for f in os.listdir(self.dir) if MIGRATION.match(f))

    def add(self, tag, sql):
        """Writes the next free NNN_<tag>.sql; returns its name."""
        version = int(self.files()[-1][:3]) + 1
        name = f"{version:03d}_{tag}.sql"
        with open(os.path.join(self.dir, name), "w", encoding="utf-8") as f:
            f.write(sql)
        return name

    def append(self, name, text):
        with open(os.path.join(self.dir, name), "a", encoding="utf-8") as f:
            f.write(text)

    def expected(self, names):
        return [{"version": int(n[:3]), "name": n,
                 "checksum": sha256_of(os.path.join(self.dir, n))} for n in names]

    def recorded(self):
        if not self.table_exists("schema_migration"):
            return []
        return self.db.all("SELECT version, name, checksum FROM schema_migration "
                           "ORDER BY version")

    def table_exists(self, table):
        return self.db.scalar("SELECT to_regclass(%s) IS NOT NULL",
                              ("public." + table,))

    def status(self):
        """--status as ({name: state}, exit status)."""
        p = self.run("--status")
        states = {}
        for line in p.stdout.splitlines():
            state, _, name = line.strip().partition(" ")
            states[name.strip()] = state
        return states, p.returncode

    def drop(self):
        if self.db is not None:
            self.db.close()
        with_postgres(self.super_dsn,
                      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      f"WHERE datname = '{self.name}' AND pid <> pg_backend_pid()",
                      f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        shutil.rmtree(self.dir, ignore_errors=True)


def with_postgres(super_dsn, *statements):
    """Runs statements as the superuser in the maintenance database."""
    conn = psycopg2.connect(psycopg2.extensions.make_dsn(super_dsn,
                                                         dbname="postgres"),
                            connect_timeout=10)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            for s in statements:
                cur.execute(s)
    finally:
        conn.close()


@pytest.fixture
def mig(env):
    missing = [v for v in ("CPA_BUILD_DIR", "CPA_SQL_DIR") if not os.environ.get(v)]
    if missing:
        pytest.fail(f"{', '.join(missing)} not set (./dev test exports them)",
                    pytrace=False)
    m = Migrations(env, os.environ["CPA_BUILD_DIR"], os.environ["CPA_SQL_DIR"])
    yield m
    m.drop()


# ------------------------------------------------------------------- tests

def test_applies_every_file_once_with_its_checksum(mig):
    p = mig.ok()
    files = mig.files()
    assert mig.recorded() == mig.expected(files)
    for f in files:
        assert f"applied {f}" in p.stdout, p.stdout
    stray = mig.db.all("SELECT tablename, tableowner FROM pg_tables "
                       "WHERE schemaname = 'public' AND tableowner <> 'cpa_owner'")
    assert not stray, f"tables not owned by cpa_owner: {stray}"
    first = mig.db.all("SELECT version, applied_at FROM schema_migration "
                       "ORDER BY version")

    p = mig.ok()
    assert "up to date" in p.stdout, p.stdout
    assert not re.search(r"applied [0-9]{3}_", p.stdout), \
        f"a second run applied something: {p.stdout}"
    assert mig.db.all("SELECT version, applied_at FROM schema_migration "
                      "ORDER BY version") == first


def test_new_files_are_applied_in_order(mig):
    mig.ok()
    a = mig.add("e2e_probe", "-- a table for the e2e test\n"
                "CREATE TABLE e2e_probe (id integer PRIMARY KEY);\n")
    b = mig.add("e2e_probe_more", "ALTER TABLE e2e_probe ADD COLUMN note text;\n")
    p = mig.ok()
    assert re.search(rf"applied {a}\n(.*\n)?.*applied {b}", p.stdout), p.stdout
    assert mig.recorded() == mig.expected(mig.files())
    assert mig.db.scalar("SELECT tableowner FROM pg_tables "
                         "WHERE tablename = 'e2e_probe'") == "cpa_owner"
    assert mig.db.scalar("SELECT count(*) FROM information_schema.columns "
                         "WHERE table_name = 'e2e_probe' AND column_name = 'note'") == 1


def test_changed_applied_file_stops_the_run(mig):
    mig.ok()
    applied = mig.files()
    before = mig.recorded()
    first = applied[0]
    mig.append(first, "\n-- an edit after the file was applied\n")
    new = mig.add("e2e_after_change", "CREATE TABLE e2e_after_change (id integer);\n")

    p = mig.run()
    assert p.returncode == 1, f"exited {p.returncode}: {p.stdout} {p.stderr}"
    assert first in p.stderr, f"stderr does not name {first}: {p.stderr!r}"
    assert not mig.table_exists("e2e_after_change"), f"{new} was applied"
    assert mig.recorded() == before, "the record changed"

    states, rc = mig.status()
    assert rc == 1, "--status exits 1 when an applied file has changed"
    want = {f: "applied" for f in applied}
    want.update({first: "changed", new: "pending"})
    assert states == want


def test_failing_file_rolls_back_whole(mig):
    mig.ok()
    good = mig.add("e2e_good", "CREATE TABLE e2e_good (id integer);\n")
    bad = mig.add("e2e_bad", "CREATE TABLE e2e_partial (id integer);\n"
                  "INSERT INTO e2e_partial VALUES (1);\n"
                  "SELEC 'not sql';\n")
    p = mig.run()
    assert p.returncode == 1, f"exited {p.returncode}: {p.stdout} {p.stderr}"
    assert bad in p.stderr and "syntax error" in p.stderr, p.stderr
    assert mig.table_exists("e2e_good"), f"{good}, before the failure, was lost"
    assert not mig.table_exists("e2e_partial"), f"{bad} left a partial table"
    recorded = [r["name"] for r in mig.recorded()]
    assert good in recorded and bad not in recorded, recorded
    states, rc = mig.status()
    assert rc == 0 and states[bad] == "pending" and states[good] == "applied", states

    with open(os.path.join(mig.dir, bad), "w", encoding="utf-8") as f:
        f.write("CREATE TABLE e2e_partial (id integer);\n")
    mig.ok()
    assert mig.table_exists("e2e_partial")
    assert mig.recorded() == mig.expected(mig.files())


def test_status_applies_nothing(mig):
    states, rc = mig.status()
    assert rc == 0
    assert states == {f: "pending" for f in mig.files()}
    assert not mig.table_exists("schema_migration"), "--status created a table"
    mig.ok()
    states, rc = mig.status()
    assert rc == 0 and states == {f: "applied" for f in mig.files()}, states


def test_concurrent_runs_apply_each_file_once(mig, env):
    """The first run holds cpa-migrate's lock while its last file waits for
    a lock this test holds; the second run starts then, and must wait for
    the first instead of applying anything itself."""
    mig.add("e2e_gate", f"SELECT pg_advisory_xact_lock({GATE_KEY});\n"
            "CREATE TABLE e2e_gate_done (id integer);\n")
    gate = Db(psycopg2.extensions.make_dsn(env.pg_super_dsn, dbname=mig.name))
    e = {k: v for k, v in os.environ.items() if not k.startswith("CPA_")}
    e.update(SAN_ENV)
    procs = []

    def waiting_locks():
        return mig.db.scalar(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND NOT granted AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())")
    try:
        gate.scalar("SELECT pg_advisory_lock(%s)", (GATE_KEY,))
        for n in (1, 2):
            procs.append(subprocess.Popen(mig.argv(), stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True,
                                          env=e))
            wait_until(lambda: waiting_locks() == n, 20,
                       f"{n} cpa-migrate run(s) waiting on an advisory lock")
        gate.scalar("SELECT pg_advisory_unlock(%s)", (GATE_KEY,))
        outs = [p.communicate(timeout=RUN_TIMEOUT) for p in procs]
    finally:
        gate.close()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, f"exited {p.returncode}: {out} {err}"
        assert not re.search(r"Sanitizer|runtime error:", err), err
    first, second = outs[0][0], outs[1][0]
    for f in mig.files():
        assert f"applied {f}" in first, first
    assert "waiting for another cpa-migrate" in second, second
    assert "up to date" in second, second
    assert mig.recorded() == mig.expected(mig.files())
    assert mig.table_exists("e2e_gate_done")
