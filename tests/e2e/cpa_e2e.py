"""Helpers shared by the cpa-suite end-to-end tests (the fixtures that use
them live in conftest.py).

Everything here talks to the test stack started by `./dev test`; addresses
come from the environment contract read by Env."""

import html
import itertools
import os
import random
import secrets
import time
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import psycopg2
import psycopg2.extras
import pytest
import requests
from requests.adapters import HTTPAdapter

COOKIE = "cpa_session"
HTML = {"Accept": "text/html"}
JSON_ACCEPT = {"Accept": "application/json"}
STATE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
ROLE_KEYS = {"id", "role", "site_id", "site_code", "site_name", "district_id",
             "district_name", "team_id", "team_name"}
STAFF_KEYS = {"id", "username", "display_name", "professional_role", "email",
              "active", "home_site_id", "home_site_name", "roles"}
BAD_CREDENTIALS = {"error": "Incorrect username or password"}
SIGN_IN_TO_CONTINUE = {"error": "Sign in to continue"}
HTTP_TIMEOUT = 20

RUN = secrets.token_hex(3)
_serial = itertools.count(1)

ENV_VARS = (
    "CPA_BASE_URL", "CPA_SHORT_BASE_URL", "CPA_SHORT_IDLE_SECONDS",
    "CPA_SHORT_ABSOLUTE_SECONDS", "CPA_PG_SUPER_DSN", "CPA_PG_APP_DSN",
    "CPA_REDIS_HOST", "CPA_REDIS_PORT", "CPA_VAR", "CPA_CTL",
    "CPA_DEMO_LOGINS", "CPA_LOGIN_MAX_FAILURES_USER",
    "CPA_LOGIN_MAX_FAILURES_ADDR", "CPA_AUTH_WORKERS",
)
INT_VARS = ("CPA_SHORT_IDLE_SECONDS", "CPA_SHORT_ABSOLUTE_SECONDS",
            "CPA_REDIS_PORT", "CPA_LOGIN_MAX_FAILURES_USER",
            "CPA_LOGIN_MAX_FAILURES_ADDR", "CPA_AUTH_WORKERS")


# ------------------------------------------------------------------ environment

class Env:
    """The test environment contract, read once and checked.  Raises
    LookupError naming every missing or malformed variable."""

    def __init__(self):
        missing = [v for v in ENV_VARS if not os.environ.get(v)]
        if missing:
            raise LookupError(
                "the e2e suite needs the test stack's environment; missing: "
                + ", ".join(missing) + " (run it through `./dev test`)")
        bad = []
        for v in INT_VARS:
            try:
                if int(os.environ[v]) <= 0:
                    bad.append(v)
            except ValueError:
                bad.append(v)
        if bad:
            raise LookupError("not positive integers: " + ", ".join(bad))
        self.base = os.environ["CPA_BASE_URL"].rstrip("/")
        self.short_base = os.environ["CPA_SHORT_BASE_URL"].rstrip("/")
        self.short_idle = int(os.environ["CPA_SHORT_IDLE_SECONDS"])
        self.short_absolute = int(os.environ["CPA_SHORT_ABSOLUTE_SECONDS"])
        self.pg_super_dsn = os.environ["CPA_PG_SUPER_DSN"]
        self.pg_app_dsn = os.environ["CPA_PG_APP_DSN"]
        self.redis_host = os.environ["CPA_REDIS_HOST"]
        self.redis_port = int(os.environ["CPA_REDIS_PORT"])
        self.var = os.environ["CPA_VAR"]
        self.ctl = os.environ["CPA_CTL"]
        self.demo_logins = os.environ["CPA_DEMO_LOGINS"]
        self.max_fail_user = int(os.environ["CPA_LOGIN_MAX_FAILURES_USER"])
        self.max_fail_addr = int(os.environ["CPA_LOGIN_MAX_FAILURES_ADDR"])
        self.auth_workers = int(os.environ["CPA_AUTH_WORKERS"])
        for name, url in (("CPA_BASE_URL", self.base),
                          ("CPA_SHORT_BASE_URL", self.short_base)):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise LookupError(f"{name} is not an http(s) URL: {url!r}")


def origin_of(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# ----------------------------------------------------------------------- HTTP

class SourceAddressAdapter(HTTPAdapter):
    """Connects from a chosen local address (any 127/8 address reaches a
    server listening on 127.0.0.1)."""

    def __init__(self, source, **kw):
        self.source = source
        super().__init__(**kw)

    def init_poolmanager(self, *args, **kw):
        kw["source_address"] = (self.source, 0)
        return super().init_poolmanager(*args, **kw)


class Client(requests.Session):
    """A browser-like client bound to one base URL.

    Paths starting with "/" are joined to the base.  Redirects are never
    followed.  On state-changing requests the client sends X-CSRF-Token (its
    csrf attribute) and Origin (the base's origin) unless the request passes
    csrf= / origin= as False (leave out) or as a string (send that), or sets
    the header itself."""

    def __init__(self, base, source=None):
        super().__init__()
        self.base = base.rstrip("/")
        self.origin = origin_of(self.base)
        self.source = source
        self.csrf = None
        self.user = None
        self.signin_response = None
        if source:
            adapter = SourceAddressAdapter(source)
            self.mount("http://", adapter)
            self.mount("https://", adapter)

    def request(self, method, url, *args, csrf=True, origin=True, **kw):
        if url.startswith("/"):
            url = self.base + url
        kw["allow_redirects"] = False
        kw.setdefault("timeout", HTTP_TIMEOUT)
        headers = dict(kw.pop("headers", None) or {})
        lower = {k.lower() for k in headers}
        if method.upper() in STATE_METHODS:
            if "x-csrf-token" not in lower:
                token = self.csrf if csrf is True else csrf
                if token:
                    headers["X-CSRF-Token"] = token
            if "origin" not in lower:
                value = self.origin if origin is True else origin
                if value:
                    headers["Origin"] = value
        return super().request(method, url, *args, headers=headers, **kw)

    @property
    def cookie(self):
        """The session cookie's value in the jar, or None."""
        for c in self.cookies:
            if c.name == COOKIE:
                return c.value
        return None

    def set_cookie(self, value):
        """Replace the jar with just this session cookie value, stored as
        the server's own host-only cookie would be (so a Set-Cookie from the
        server replaces it)."""
        self.cookies.clear()
        self.cookies.set(COOKIE, value, domain=urlsplit(self.base).hostname,
                         path="/")


def with_cookie(base, value, source=None):
    """An anonymous client presenting a given session cookie value."""
    c = Client(base, source)
    c.set_cookie(value)
    return c


def set_cookies(resp):
    """Every Set-Cookie header of resp as (name, value, {attr: value}) with
    attribute names in lower case."""
    out = []
    for raw in resp.raw.headers.getlist("Set-Cookie"):
        parts = [p.strip() for p in raw.split(";")]
        name, _, value = parts[0].partition("=")
        attrs = {}
        for p in parts[1:]:
            k, _, v = p.partition("=")
            attrs[k.strip().lower()] = v.strip()
        out.append((name.strip(), value.strip(), attrs))
    return out


def _deletes(value, attrs):
    if not value or attrs.get("max-age") == "0":
        return True
    if "expires" in attrs:
        try:
            return parsedate_to_datetime(attrs["expires"]).timestamp() < time.time()
        except (TypeError, ValueError):
            return False
    return False


def session_cookie_set(resp):
    """The session cookie value resp sets (non-empty, not a deletion), or
    None."""
    for name, value, attrs in set_cookies(resp):
        if name in (COOKIE, "__Host-" + COOKIE) and not _deletes(value, attrs):
            return value
    return None


def cookie_cleared(resp):
    """True when resp deletes the session cookie (empty value, Max-Age=0 or
    an expiry in the past)."""
    return any(name == COOKIE and _deletes(value, attrs)
               for name, value, attrs in set_cookies(resp))


def describe(resp):
    return f"{resp.request.method} {resp.url} -> {resp.status_code} " \
           f"{resp.headers.get('Content-Type', '')}: {resp.text[:400]!r}"


def json_of(resp):
    """The JSON body; fails unless the response says it is JSON."""
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.startswith("application/json"), \
        f"expected JSON: {describe(resp)}"
    return resp.json()


def is_html(resp):
    return resp.headers.get("Content-Type", "").startswith("text/html")


def html_text(resp):
    """Body of an HTML response with entities decoded: what a reader sees."""
    return html.unescape(resp.text)


_used_addrs = set()


def new_source_address():
    """A random, not yet used 127/8 address outside 127.0.0.0/24, so that a
    rerun within the throttle window starts from clean counters."""
    while True:
        addr = "127.%d.%d.%d" % (random.randint(1, 254), random.randint(1, 254),
                                 random.randint(1, 254))
        if addr not in _used_addrs:
            _used_addrs.add(addr)
            return addr


def wait_until(predicate, timeout, what, interval=0.2):
    """Poll predicate until it returns a truthy value or timeout seconds
    pass; returns the value or fails naming what was awaited."""
    deadline = time.monotonic() + timeout
    err = None
    while True:
        try:
            value = predicate()
        except (requests.RequestException, OSError, ValueError) as e:
            value, err = None, e
        else:
            if value:
                return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}"
                        + (f" (last error: {err!r})" if err else ""))
        time.sleep(interval)


def health(base):
    return requests.get(base + "/healthz/auth", timeout=HTTP_TIMEOUT)


def wait_healthy(base, timeout=60):
    def ok():
        r = health(base)
        return r.status_code == 200 and r.json().get("status") == "ok"
    wait_until(ok, timeout, f"{base}/healthz/auth to report ok")


# --------------------------------------------------------------- test data

def first_team(site):
    """(district, team) of the first district of site that has a team."""
    for d in site["districts"]:
        if d["teams"]:
            return d, d["teams"][0]
    pytest.fail(f"site {site['code']} has no district with a team: {site!r}")


def unique_username(tag):
    """A username valid by the policy and unique to this run."""
    return f"e2e-{tag}-{RUN}-{next(_serial)}"


def new_password():
    return "Pw-" + secrets.token_urlsafe(18)


def staff_payload(username, site_id, **over):
    body = {
        "username": username,
        "display_name": f"E2E {username}",
        "professional_role": "Community mental health nurse",
        "email": f"{username}@example.nhs.uk",
        "password": new_password(),
        "site_id": site_id,
    }
    body.update(over)
    return body


# ----------------------------------------------------------------- PostgreSQL

class Db:
    """A superuser connection in autocommit mode (row-level security does
    not apply), for checking state the API does not show."""

    def __init__(self, dsn):
        self.conn = psycopg2.connect(dsn, connect_timeout=10)
        self.conn.autocommit = True

    def all(self, sql, params=()):
        with self.conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(sql, params)
            return [dict(r) for r in cur.fetchall()]

    def one(self, sql, params=()):
        rows = self.all(sql, params)
        assert len(rows) == 1, f"expected one row from {sql!r}, got {rows!r}"
        return rows[0]

    def scalar(self, sql, params=()):
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()[0]

    def staff_count(self, username):
        return self.scalar("SELECT count(*) FROM staff WHERE username = %s",
                           (username,))

    def close(self):
        self.conn.close()


class Audit:
    """Reads audit_event rows written after a mark (ids only grow)."""

    COLUMNS = {"staff_id", "username", "action", "entity_type", "entity_id",
               "service_user_id", "site_id", "remote_addr", "request_id"}

    def __init__(self, db):
        self.db = db

    def mark(self):
        return self.db.scalar("SELECT coalesce(max(id), 0) FROM audit_event")

    def since(self, mark, **where):
        sql = "SELECT * FROM audit_event WHERE id > %s"
        params = [mark]
        for col, val in where.items():
            assert col in self.COLUMNS, col
            if col == "entity_id":
                sql += " AND entity_id::text = %s"
                val = str(val)
            else:
                sql += f" AND {col} = %s"
            params.append(val)
        return self.db.all(sql + " ORDER BY id", params)


def addr_of(value):
    """An inet or text address column as plain text."""
    return str(value).split("/")[0]


# ----------------------------------------------------------------- processes

def children_of(pid):
    """Live (not zombie) child pids of pid, from /proc."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(d))
    return sorted(out)
