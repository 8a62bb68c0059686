"""Helpers shared by the cpa-suite end-to-end tests (the fixtures that use
them live in conftest.py).

Everything here talks to the test stack started by `./dev test`; addresses
come from the environment contract read by Env."""

import datetime
import html
import html.parser
import itertools
import json
import os
import random
import secrets
import socket
import struct
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


def get_json(c, path, **kw):
    """The JSON body of GET path by client c; fails unless it answers 200
    with JSON."""
    r = c.get(path, **kw)
    assert r.status_code == 200, describe(r)
    return json_of(r)


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


def assert_denied(audit, c, status, attempts, service_user_id=None):
    """Sends each (method, path, JSON body or None, entity id or None) of
    attempts as client c: each must answer status and write access_denied
    audit rows by c's user, one of them about entity (when given), the
    first about service_user_id (when given)."""
    for method, path, body, entity in attempts:
        mark = audit.mark()
        r = c.request(method, path, json=body)
        assert r.status_code == status, (path, describe(r))
        rows = audit.since(mark, action="access_denied",
                           username=c.user["username"])
        assert rows, (path, "no access_denied audit row")
        if entity is not None:
            assert str(entity) in {row["entity_id"] for row in rows}, \
                (path, rows)
        if service_user_id is not None:
            assert rows[0]["service_user_id"] == service_user_id, (path, rows)


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


# ------------------------------------------------------------------ FastCGI

FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT, \
    FCGI_STDERR = 1, 3, 4, 5, 6, 7
FCGI_RESPONDER = 1
FCGI_REQUEST_ID = 1


class FcgiResponse:
    """What a worker answered: status (int), headers ({lower name: value}),
    body (bytes), stderr (bytes the worker sent on FCGI_STDERR)."""

    def __init__(self, stdout, stderr):
        head, _, self.body = stdout.partition(b"\r\n\r\n")
        self.headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.status = int(self.headers.get("status", "200").split()[0])
        self.stderr = stderr

    def json(self):
        assert self.headers.get("content-type", "").startswith(
            "application/json"), f"expected JSON: {self!r}"
        return json.loads(self.body)

    def __repr__(self):
        return f"<FastCGI {self.status} {self.headers!r} {self.body[:300]!r}>"


def _fcgi_record(rtype, content=b""):
    return struct.pack("!BBHHBx", 1, rtype, FCGI_REQUEST_ID, len(content), 0) \
        + content


def _fcgi_pairs(params):
    out = b""
    for name, value in params.items():
        for item in (name.encode(), value.encode()):
            n = len(item)
            out += bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)
        out += name.encode() + value.encode()
    return out


def _fcgi_stream(rtype, data):
    """Records of one stream (at most 65535 bytes each), ending with the
    empty record that closes it."""
    chunks = [data[i:i + 65535] for i in range(0, len(data), 65535)]
    return b"".join(_fcgi_record(rtype, c) for c in chunks) + _fcgi_record(rtype)


def fcgi_connect(address, timeout=HTTP_TIMEOUT):
    """A connected socket: address is a unix socket path or (host, port)."""
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(address)
    return s


def fcgi_send_head(sock, method, path, headers=None, body=b""):
    """Sends BEGIN_REQUEST and the complete PARAMS stream of a request as
    nginx would (fastcgi_params), but not its STDIN: see fcgi_finish."""
    params = {
        "REQUEST_METHOD": method, "REQUEST_URI": path,
        "DOCUMENT_URI": path.split("?")[0], "SCRIPT_NAME": path.split("?")[0],
        "QUERY_STRING": path.partition("?")[2], "SERVER_PROTOCOL": "HTTP/1.1",
        "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_SCHEME": "http",
        "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "40000",
        "SERVER_ADDR": "127.0.0.1", "SERVER_PORT": "80",
        "SERVER_NAME": "localhost", "HTTP_HOST": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)) if body else "",
        "CONTENT_TYPE": "",
    }
    params.update(headers or {})
    begin = struct.pack("!HB5x", FCGI_RESPONDER, 0)    # no keep-alive
    sock.sendall(_fcgi_record(FCGI_BEGIN_REQUEST, begin)
                 + _fcgi_stream(FCGI_PARAMS, _fcgi_pairs(params)))


def fcgi_finish(sock, body=b""):
    """Sends STDIN and reads records until END_REQUEST; closes sock."""
    try:
        sock.sendall(_fcgi_stream(FCGI_STDIN, body))
        buf, stdout, stderr = b"", b"", b""
        while True:
            while len(buf) < 8 or len(buf) < 8 + _fcgi_len(buf):
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError(
                        "the worker closed the connection before END_REQUEST"
                        f" (stdout so far: {stdout[:200]!r})")
                buf += chunk
            _, rtype, _, clen, plen = struct.unpack("!BBHHBx", buf[:8])
            content, buf = buf[8:8 + clen], buf[8 + clen + plen:]
            if rtype == FCGI_STDOUT:
                stdout += content
            elif rtype == FCGI_STDERR:
                stderr += content
            elif rtype == FCGI_END_REQUEST:
                return FcgiResponse(stdout, stderr)
    finally:
        sock.close()


def _fcgi_len(buf):
    _, _, _, clen, plen = struct.unpack("!BBHHBx", buf[:8])
    return clen + plen


def fcgi_request(address, method, path, headers=None, body=b"",
                 timeout=HTTP_TIMEOUT):
    """One FastCGI request straight to a worker (no nginx); headers are
    extra FastCGI params (HTTP_ACCEPT, REMOTE_ADDR, ...)."""
    sock = fcgi_connect(address, timeout)
    fcgi_send_head(sock, method, path, headers, body)
    return fcgi_finish(sock, body)


# ------------------------------------------------------------------- intake
#
# Helpers for the tests of the intake worker (test_intake_*.py): people,
# NHS numbers, referral bodies, timestamps and HTML forms.

DEMO_TEAMS = {
    # key: (site code, team name) as sql/demo/demo.sql creates them
    "north_riverside_cmht": ("north", "Riverside Community Mental Health Team"),
    "north_riverside_eit": ("north", "Riverside Early Intervention Team"),
    "north_moorland_cmht": ("north", "Moorland Community Mental Health Team"),
    "south_harbour_cmht": ("south", "Harbour Community Mental Health Team"),
    "south_vale_cmht": ("south", "Vale Community Mental Health Team"),
}
PERSON_KEYS = {"id", "site_id", "nhs_number", "given_name", "family_name",
               "other_names", "date_of_birth", "address", "postcode", "phone",
               "email", "gp_practice", "preferred_language",
               "interpreter_needed", "communication_needs", "version"}
PERSON_SUMMARY_KEYS = {"id", "nhs_number", "given_name", "family_name",
                       "date_of_birth"}
REFERRAL_KEYS = {"id", "site_id", "service_user_id", "team_id", "team_name",
                 "source", "source_detail", "urgency", "received_at",
                 "deadline_at", "reason", "status", "decided_at", "decided_by",
                 "decided_by_name", "decision_reason", "signposted_to",
                 "episode_id", "breached", "near_breach"}
EPISODE_KEYS = {"id", "site_id", "service_user", "team_id", "team_name",
                "level", "coordinator", "started_at", "ended_at", "end_reason",
                "end_detail", "referral_id", "version", "events",
                "coordinators", "transfers"}
NHS_MUST_BE_10_DIGITS = "NHS number must be 10 digits"
NHS_NOT_VALID = "NHS number is not a valid NHS number"
MISSING_ID = 2 ** 62

# Letters only: names with digits in them might be refused as names.
RUN_LETTERS = "".join("bcdfghjklmnpqrst"[int(c, 16)] for c in RUN)
_used_nhs = set()
_used_dobs = set()


def _letters(n):
    out = ""
    while True:
        out = "bcdfghjklmnpqrstvwxz"[n % 20] + out
        n //= 20
        if not n:
            return out


def unique_family_name(base="Okafor"):
    """A family name no other test of any run is likely to use, letters and
    one hyphen only: e.g. "Okafor-Kbtdhpc"."""
    return f"{base}-{(RUN_LETTERS + _letters(next(_serial))).capitalize()}"


def nhs_check_digit(nine):
    """The modulus 11 check digit of nine digits, or None when there is
    none (the number is never valid)."""
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def new_nhs_number():
    """A valid NHS number (10 digits, no spaces) not handed out before in
    this process."""
    while True:
        nine = str(random.randint(4, 9)) + "".join(
            str(random.randint(0, 9)) for _ in range(8))
        check = nhs_check_digit(nine)
        if check is not None and nine not in _used_nhs:
            _used_nhs.add(nine)
            return nine + str(check)


def spaced(nhs):
    """An NHS number written as people do: "943 476 5919"."""
    return f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"


def bad_checksum(nhs):
    """nhs with a wrong check digit."""
    return nhs[:9] + str((int(nhs[9]) + 1) % 10)


def nine_digits_without_check_digit():
    """Nine digits whose check digit would be 10: no tenth digit makes a
    valid NHS number of them."""
    while True:
        nine = "".join(str(random.randint(0, 9)) for _ in range(9))
        if nhs_check_digit(nine) is None:
            return nine


def new_dob():
    """A date of birth (YYYY-MM-DD) between 1940 and 2004 not handed out
    before in this process."""
    while True:
        d = datetime.date(1940, 1, 1) + datetime.timedelta(
            days=random.randint(0, 64 * 365))
        if d not in _used_dobs:
            _used_dobs.add(d)
            return d.isoformat()


def person_fields(nhs=True, **over):
    """The new-person fields of a referral: unique family name, a fresh
    date of birth and (unless nhs=False) a fresh valid NHS number."""
    body = {"given_name": "Adaeze", "family_name": unique_family_name(),
            "date_of_birth": new_dob()}
    if nhs:
        body["nhs_number"] = new_nhs_number()
    body.update(over)
    return body


def unique_reason(what="Low mood and poor sleep"):
    """A referral reason unique to this run, so rows can be counted by it."""
    return f"{what} ({RUN_LETTERS}{_letters(next(_serial))})"


def new_idempotency_key():
    return "e2e-" + secrets.token_hex(12)


def referral_body(team_id, person=None, service_user_id=None, **over):
    """A valid POST /api/v1/referrals body: a routine GP referral to team_id
    for service_user_id, or for person (new-person fields; a fresh person
    when neither is given)."""
    body = {"team_id": team_id, "source": "gp",
            "source_detail": "Dr Okonjo, Riverside Surgery",
            "urgency": "routine", "reason": unique_reason()}
    if service_user_id is not None:
        body["service_user_id"] = service_user_id
    else:
        body.update(person if person is not None else person_fields())
    body.update(over)
    return body


def parse_ts(value):
    """A timestamp from the API (ISO 8601, "T" or space, "Z" or an offset)
    as an aware datetime; fails on anything else."""
    assert isinstance(value, str) and value, f"not a timestamp: {value!r}"
    try:
        ts = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        pytest.fail(f"not an ISO 8601 timestamp: {value!r}")
    assert ts.tzinfo is not None, f"timestamp without a zone: {value!r}"
    return ts


def backdate_episode(db, episode, days):
    """Start episode (a dict with its id) days earlier, so that what
    happened in it can be dated in the past."""
    db.all("UPDATE episode SET started_at = started_at - %s * interval '1 day' "
           "WHERE id = %s RETURNING id", (days, episode["id"]))


def caseload_entry(c, service_user_id):
    """The one entry of c's GET /api/v1/caseload for that person."""
    rows = [e for e in get_json(c, "/api/v1/caseload")["caseload"]
            if e["service_user"]["id"] == service_user_id]
    assert len(rows) == 1, rows
    return rows[0]


def team_of(sites, key):
    """The team dict (id, name, plus site_id and district_id) of a demo
    team named in DEMO_TEAMS."""
    code, name = DEMO_TEAMS[key]
    site = sites[code]
    for d in site["districts"]:
        for t in d["teams"]:
            if t["name"] == name:
                return dict(t, site_id=site["id"], district_id=d["id"],
                            site_code=code)
    pytest.fail(f"demo team {name!r} not found at {code}: {site!r}")


def ids_of(items, key="id"):
    return [i[key] for i in items]


class FormParser(html.parser.HTMLParser):
    """The controls of the forms of a page: forms is a list of
    {"action", "method", "fields": [(name, kind, value, checked)],
    "options": {select name: [values]}}."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""),
                          "method": a.get("method", "get").lower(),
                          "fields": [], "options": {}}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            self._form["fields"].append(
                (a["name"], a.get("type", "text").lower(), a.get("value", ""),
                 "checked" in a))
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self._form["fields"].append((a["name"], "select", "", False))
            self._form["options"][a["name"]] = []
        elif tag == "option" and self._select:
            self._form["options"][self._select].append(a.get("value", ""))
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form["fields"].append((a["name"], "textarea", "", False))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_of(page_html, action):
    """The form of page_html that posts to action (a path): fails unless
    there is exactly one."""
    p = FormParser()
    p.feed(page_html)
    found = [f for f in p.forms
             if urlsplit(f["action"]).path == action and f["method"] == "post"]
    assert len(found) == 1, \
        f"expected one POST form to {action}, found {[f['action'] for f in p.forms]}"
    return found[0]


def fill_form(form, values):
    """The body a browser would send for form with values typed in: hidden
    fields keep their values; a date_of_birth given as YYYY-MM-DD goes into
    the form's day/month/year inputs when it has no single date input."""
    names = {f[0] for f in form["fields"]}
    values = dict(values)
    for key, value in list(values.items()):
        if key in names or not isinstance(value, str) or len(value) != 10:
            continue
        y, m, d = value.split("-")
        for sep in ("-", "_", "."):
            parts = {f"{key}{sep}day": str(int(d)),
                     f"{key}{sep}month": str(int(m)),
                     f"{key}{sep}year": y}
            if set(parts) <= names:
                del values[key]
                values.update(parts)
                break
    body = {}
    for name, kind, value, checked in form["fields"]:
        if kind == "hidden" or (kind in ("radio", "checkbox") and checked):
            body[name] = value
    for key, value in values.items():
        assert key in names, f"the form has no field {key!r}: {sorted(names)}"
        body[key] = str(value)
    return body


def browser_body(form, values=()):
    """What a browser submits for form (form_of) as the page left it, with
    values typed over it: every input's value, checked radios and
    checkboxes, each select's first option, empty text areas."""
    body = {}
    for name, kind, value, checked in form["fields"]:
        if kind in ("radio", "checkbox"):
            if checked:
                body[name] = value
        elif kind == "select":
            body.setdefault(name, (form["options"].get(name) or [""])[0])
        elif kind == "textarea":
            body.setdefault(name, "")
        else:
            body[name] = value
    body.update(values)
    return body


# --------------------------------------------------------------------- risk
#
# Helpers for the tests of the risk worker (test_risk_*.py).

RISK_DOMAINS = ("suicide_self_harm", "harm_to_others", "self_neglect",
                "exploitation_vulnerability", "substance_misuse", "other")
RISK_ASSESSMENT_KEYS = {
    "id", "site_id", "service_user_id", "episode_id", "status",
    "overall_level", "domains", "warning_signs", "what_helps", "contacts",
    "crisis_numbers", "means_restriction", "discussed_with_user",
    "not_discussed_user_reason", "discussed_with_carer",
    "not_discussed_carer_reason", "user_view", "needs_manager_approval",
    "author_id", "author_name", "submitted_at", "decided_by",
    "decided_by_name", "decided_at", "return_comments", "approved_at",
    "next_review_due", "supersedes_id", "version", "events"}


def risk_content(overall="low", level="low", high=()):
    """A complete PUT body (without version): every domain rated level
    (the domains named in high rated "high"), the safety plan filled in,
    discussed with the person but not with a carer (with the reason)."""
    domains = {}
    for d in RISK_DOMAINS:
        domains[d] = {"level": "high" if d in high else level,
                      "history": f"History of {d} ({RUN_LETTERS})",
                      "current_factors": "Recent job loss",
                      "protective_factors": "Close to sister"}
    return {"overall_level": overall, "domains": domains,
            "warning_signs": "Stops answering the phone; sleeps all day",
            "what_helps": "Walking the dog; talking to his sister",
            "contacts": "Sister: 07700 900123",
            "crisis_numbers": "Crisis team 0113 496 0000; NHS 111 option 2",
            "means_restriction": "Medication held by sister",
            "discussed_with_user": True, "not_discussed_user_reason": None,
            "discussed_with_carer": False,
            "not_discussed_carer_reason": "No carer identified",
            "user_view": "I feel safer when I keep busy."}


def risk_start(c, service_user_id, **body):
    """POST /api/v1/service-users/{id}/risk-assessments; asserts 201 and
    returns the new assessment."""
    r = c.post(f"/api/v1/service-users/{service_user_id}/risk-assessments",
               json=body)
    assert r.status_code == 201, describe(r)
    a = json_of(r)["assessment"]
    assert a["status"] == "draft", a
    assert r.headers.get("Location", "").endswith(
        f"/api/v1/risk-assessments/{a['id']}"), r.headers
    return a


def risk_save(c, a, body, version=None):
    """PUT /api/v1/risk-assessments/{id} with body plus a's version (or
    the version given); returns the response."""
    body = dict(body, version=a["version"] if version is None else version)
    return c.put(f"/api/v1/risk-assessments/{a['id']}", json=body)


def risk_act(c, a, action, **body):
    """POST /api/v1/risk-assessments/{id}/{action} (submit, approve,
    return); submit sends a's version unless body gives one."""
    if action == "submit":
        body.setdefault("version", a["version"])
    return c.post(f"/api/v1/risk-assessments/{a['id']}/{action}", json=body)


def risk_get(c, aid):
    return get_json(c, f"/api/v1/risk-assessments/{aid}")["assessment"]


def risk_ok(r, status):
    """The assessment of a 200 answer, checked to be in status."""
    assert r.status_code == 200, describe(r)
    a = json_of(r)["assessment"]
    assert a["status"] == status, a
    return a


def risk_queue_of(body):
    """The list of a GET /api/v1/risk-assessments answer."""
    if "assessments" in body:
        return body["assessments"]
    lists = [v for v in body.values() if isinstance(v, list)]
    assert len(lists) == 1, f"no single list in the queue answer: {body!r}"
    return lists[0]
