"""Defence in depth: the application's database role and row-level
security, the audit trail's append-only grant, security headers, and logs
free of secrets."""

import glob
import os

import psycopg2
import pytest

from cpa_e2e import HTML, describe, new_password, unique_username

SAFE_REFERRER = {"no-referrer", "same-origin", "strict-origin",
                 "strict-origin-when-cross-origin"}


@pytest.fixture
def app_db(env):
    """A connection as cpa_app, outside autocommit: each test's work is in
    one transaction, rolled back at the end."""
    conn = psycopg2.connect(env.pg_app_dsn, connect_timeout=10)
    yield conn
    conn.rollback()
    conn.close()


def test_application_role_is_neither_owner_nor_privileged(db):
    role = db.one("SELECT rolsuper, rolbypassrls, rolcanlogin, rolcreaterole, "
                  "rolcreatedb FROM pg_roles WHERE rolname = 'cpa_app'")
    assert role == {"rolsuper": False, "rolbypassrls": False,
                    "rolcanlogin": True, "rolcreaterole": False,
                    "rolcreatedb": False}
    owned = db.all("SELECT schemaname, tablename FROM pg_tables "
                   "WHERE tableowner = 'cpa_app'")
    assert owned == [], owned
    assert db.scalar("SELECT pg_has_role('cpa_app', 'cpa_owner', 'USAGE')") \
        is False, "cpa_app can act as the table owner"
    assert db.scalar("SELECT pg_has_role('cpa_app', 'cpa_auth', 'USAGE')") \
        is False, "cpa_app can act as the BYPASSRLS role"
    auth = db.one("SELECT rolcanlogin, rolbypassrls FROM pg_roles "
                  "WHERE rolname = 'cpa_auth'")
    assert auth == {"rolcanlogin": False, "rolbypassrls": True}


def test_every_public_table_forces_row_level_security(db):
    tables = db.all("SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity "
                    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')")
    names = {t["relname"] for t in tables}
    assert {"site", "staff", "audit_event"} <= names, names
    weak = [t["relname"] for t in tables
            if not (t["relrowsecurity"] and t["relforcerowsecurity"])]
    assert weak == [], f"tables without forced row-level security: {weak}"


def test_no_site_setting_means_no_rows(app_db, db):
    assert db.scalar("SELECT count(*) FROM site") >= 2
    assert db.scalar("SELECT count(*) FROM staff") >= 8
    assert db.scalar("SELECT count(*) FROM audit_event") >= 1
    with app_db.cursor() as cur:
        cur.execute("SELECT current_setting('app.site_ids', true)")
        assert cur.fetchone()[0] in (None, "")
        for table in ("site", "staff"):
            cur.execute(f"SELECT count(*) FROM {table}")
            assert cur.fetchone()[0] == 0, f"cpa_app sees {table} rows"
        cur.execute("SAVEPOINT a")
        try:
            cur.execute("SELECT count(*) FROM audit_event")
            assert cur.fetchone()[0] == 0, "cpa_app sees audit rows"
        except psycopg2.errors.InsufficientPrivilege:
            cur.execute("ROLLBACK TO SAVEPOINT a")


def test_site_setting_shows_only_that_site(app_db, sites):
    north = sites["north"]["id"]
    with app_db.cursor() as cur:
        cur.execute("SELECT set_config('app.site_ids', %s, true)", (str(north),))
        cur.execute("SELECT id FROM site")
        assert [r[0] for r in cur.fetchall()] == [north]
    app_db.rollback()
    with app_db.cursor() as cur:
        cur.execute("SELECT count(*) FROM site")
        assert cur.fetchone()[0] == 0, "the setting leaked past its transaction"


@pytest.mark.parametrize("statement", (
    "UPDATE audit_event SET action = 'tampered'",
    "DELETE FROM audit_event",
    "TRUNCATE audit_event",
))
def test_audit_trail_is_append_only_for_the_app(statement, app_db, db):
    ids = ",".join(str(r["id"]) for r in db.all("SELECT id FROM site"))
    before = db.scalar("SELECT count(*) FROM audit_event")
    with app_db.cursor() as cur:
        cur.execute("SELECT set_config('app.site_ids', %s, true)", (ids,))
        with pytest.raises(psycopg2.Error) as err:
            cur.execute(statement)
    assert isinstance(err.value, psycopg2.errors.InsufficientPrivilege), \
        repr(err.value)
    app_db.rollback()
    assert db.scalar("SELECT count(*) FROM audit_event") >= before
    assert db.scalar("SELECT count(*) FROM audit_event "
                     "WHERE action = 'tampered'") == 0


def check_security_headers(r, no_store):
    h = r.headers
    assert h.get("X-Content-Type-Options", "").lower() == "nosniff", describe(r)
    csp = h.get("Content-Security-Policy", "")
    assert csp, f"no Content-Security-Policy: {describe(r)}"
    assert h.get("X-Frame-Options", "").upper() == "DENY" or \
        "frame-ancestors 'none'" in csp, dict(h)
    assert h.get("Referrer-Policy", "").lower() in SAFE_REFERRER, dict(h)
    if no_store:
        assert "no-store" in h.get("Cache-Control", ""), dict(h)


def test_security_headers(client, as_demo, admin):
    anon = client()
    check_security_headers(anon.get("/api/v1/session"), no_store=True)
    check_security_headers(anon.get("/signin", headers=HTML), no_store=True)
    check_security_headers(anon.get("/", headers=HTML), no_store=False)

    c = as_demo("coord.north")
    for path in ("/api/v1/session", "/api/v1/me", "/api/v1/sites"):
        r = c.get(path)
        assert r.status_code == 200, describe(r)
        check_security_headers(r, no_store=True)
    for path in ("/", "/account/password"):
        r = c.get(path, headers=HTML)
        assert r.status_code == 200, describe(r)
        check_security_headers(r, no_store=True)
    for path in ("/api/v1/staff", "/admin/staff"):
        r = admin.get(path, headers=HTML)
        assert r.status_code == 200, describe(r)
        check_security_headers(r, no_store=True)
    check_security_headers(c.get("/api/v1/staff/1/nope"), no_store=False)
    check_security_headers(c.get("/api/v1/staff"), no_store=True)


def test_no_password_or_token_in_logs(env, client, fresh_addr, make_staff,
                                      signin):
    who = make_staff("logcheck")
    c = signin(who["username"], who["password"])
    cookie, csrf = c.cookie, c.csrf
    assert c.get("/api/v1/me").status_code == 200
    wrong = new_password()
    r = client(source=fresh_addr()).post(
        "/api/v1/session", json={"username": who["username"], "password": wrong})
    assert r.status_code == 401
    r = client(source=fresh_addr()).post(
        "/api/v1/session",
        json={"username": unique_username("ghost"), "password": wrong})
    assert r.status_code == 401
    c.delete("/api/v1/session")

    logs = glob.glob(os.path.join(env.var, "log", "*.log"))
    assert logs, f"no logs under {env.var}/log"
    assert any(os.path.getsize(p) > 0 for p in logs), "every log is empty"
    secrets = {"password": who["password"], "wrong password": wrong,
               "session cookie": cookie, "csrf token": csrf}
    for path in logs:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        for what, value in secrets.items():
            assert value and value not in text, f"{what} found in {path}"


def test_database_security_contract_script(env):
    """sql/test/check_security.sql (roles, forced RLS per site, append-only
    audit, the definer functions, consistency keys) passes on the test
    database; it raises on the first broken rule and rolls its writes back."""
    import subprocess
    script = os.path.join(os.path.dirname(__file__), "..", "..", "sql", "test",
                          "check_security.sql")
    run = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                          os.environ["CPA_PG_SUPER_DSN"], "-f", script],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
