"""Fixtures for the cpa-suite end-to-end tests.

The suite talks to a running test stack (nginx -> cpa-auth -> PostgreSQL and
Redis) started by `./dev test`, through the environment contract
(CPA_BASE_URL, CPA_PG_SUPER_DSN, ...); a missing variable fails every test
with a message naming it.  Tests run serially in one pytest process.

Conventions:
- `signin(username, password, base=..., source=...)` returns a Client (a
  requests.Session) holding the session cookie, its CSRF token (.csrf) and
  the user object (.user).  Clients send X-CSRF-Token and a same-origin
  Origin on state changes, as a browser would (see cpa_e2e.Client).
- Whatever deliberately fails a sign-in uses `fresh_addr()`: its requests
  come from their own 127/8 source address, so 127.0.0.1 never reaches the
  per-address throttle.
- Tests that lock out, deactivate, re-role or re-password a user create
  their own staff member with `make_staff()`; demo users are only signed in
  and out, one session at a time.
"""

import shlex
import subprocess

import pytest

import requests

from cpa_e2e import (DEMO_TEAMS, HTTP_TIMEOUT, Audit, Client, Db, Env,
                     describe, first_team, json_of, new_idempotency_key,
                     new_source_address, referral_body, staff_payload,
                     team_of, unique_reason, unique_username)


def require_worker(env, worker):
    """Fails the caller (a fixture) at once, saying why, unless worker
    answers /healthz/<worker> through nginx with 200."""
    url = f"{env.base}/healthz/{worker}"
    try:
        r = requests.get(url, timeout=HTTP_TIMEOUT)
    except requests.RequestException as e:
        pytest.fail(f"GET {url} failed: {e!r}", pytrace=False)
    if r.status_code != 200:
        pytest.fail(f"the {worker} worker is not serving {url}: "
                    f"{describe(r)}", pytrace=False)


def pytest_collection_modifyitems(session, config, items):
    """Run the fault-injection tests last, so a service that failed to come
    back cannot take the rest of the suite down with it."""
    items.sort(key=lambda item: item.module.__name__ == "test_faults")


@pytest.fixture(scope="session", autouse=True)
def env():
    try:
        return Env()
    except LookupError as e:
        problem = str(e)
    pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="session")
def fresh_addr():
    """fresh_addr() -> a loopback source address no other test used."""
    return new_source_address


@pytest.fixture(scope="session")
def client(env):
    """client(base=None, source=None) -> an anonymous Client."""
    def make(base=None, source=None):
        return Client(base or env.base, source)
    return make


@pytest.fixture(scope="session")
def demo(env):
    """{username: (role, password, site)} from CPA_DEMO_LOGINS."""
    try:
        with open(env.demo_logins, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        pytest.fail(f"cannot read CPA_DEMO_LOGINS {env.demo_logins}: {e}",
                    pytrace=False)
    logins = {}
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 4:
            pytest.fail(f"{env.demo_logins}:{n}: expected "
                        f"'role username password site', got {len(parts)} fields",
                        pytrace=False)
        role, username, password, site = parts
        logins[username] = (role, password, site)
    expected = {"admin.north", "admin.south", "coord.north", "coord.south",
                "prac.north", "tm.north", "dm.north", "auditor.north"}
    missing = expected - set(logins)
    if missing:
        pytest.fail(f"{env.demo_logins} lacks demo users: {sorted(missing)}",
                    pytrace=False)
    return logins


@pytest.fixture(scope="session")
def signin(env):
    """signin(username, password, base=None, source=None, client=None) ->
    a signed-in Client; the test fails unless the sign-in answers 200 with a
    session cookie.  client= signs in again with an existing client (its
    cookie jar is sent along)."""
    def do(username, password, base=None, source=None, client=None):
        c = client or Client(base or env.base, source)
        r = c.post("/api/v1/session",
                   json={"username": username, "password": password})
        if r.status_code != 200:
            pytest.fail(f"sign-in of {username} failed: {describe(r)}")
        body = json_of(r)
        c.csrf = body["csrf_token"]
        c.user = body["user"]
        c.signin_response = r
        if not c.cookie:
            pytest.fail(f"sign-in of {username} left no session cookie; "
                        f"Set-Cookie: {r.raw.headers.getlist('Set-Cookie')!r}")
        return c
    return do


@pytest.fixture(scope="session")
def as_demo(signin, demo):
    """as_demo(username, base=None, source=None) -> a Client signed in as
    that demo user."""
    def do(username, base=None, source=None):
        return signin(username, demo[username][1], base=base, source=source)
    return do


@pytest.fixture
def admin(as_demo):
    """admin.north (trust_admin at north), signed in for this test."""
    return as_demo("admin.north")


@pytest.fixture
def admin_south(as_demo):
    return as_demo("admin.south")


@pytest.fixture(scope="session")
def sites(as_demo):
    """{"north": site, "south": site} as GET /api/v1/sites shows them to each
    site's trust_admin (with districts and teams)."""
    out = {}
    for code in ("north", "south"):
        c = as_demo("admin." + code)
        r = c.get("/api/v1/sites")
        assert r.status_code == 200, describe(r)
        for s in json_of(r)["sites"]:
            out[s["code"]] = s
        c.delete("/api/v1/session")
    assert {"north", "south"} <= set(out), f"sites seen by the admins: {out!r}"
    return out


@pytest.fixture(scope="session")
def make_staff(as_demo, sites):
    """make_staff(tag, site="north", role="practitioner", team=False,
    **fields) -> dict(id, username, password, staff, role, site): a new staff
    member created by that site's trust_admin, with one role granted at the
    site (at its first team when team=True; role=None grants none)."""
    def make(tag="user", site="north", role="practitioner", team=False,
             **fields):
        adm = as_demo("admin." + site)
        body = staff_payload(unique_username(tag), sites[site]["id"], **fields)
        r = adm.post("/api/v1/staff", json=body)
        assert r.status_code == 201, describe(r)
        staff = json_of(r)["staff"]
        granted = None
        if role:
            grant = {"role": role, "site_id": sites[site]["id"]}
            if team:
                d, t = first_team(sites[site])
                grant.update(district_id=d["id"], team_id=t["id"])
            r = adm.post(f"/api/v1/staff/{staff['id']}/roles", json=grant)
            assert r.status_code == 201, describe(r)
            granted = json_of(r)["role"]
        adm.delete("/api/v1/session")
        return {"id": staff["id"], "username": body["username"],
                "password": body["password"], "staff": staff,
                "role": granted, "site": site}
    return make


@pytest.fixture
def db(env):
    """A superuser connection (autocommit) for this test."""
    d = Db(env.pg_super_dsn)
    yield d
    d.close()


@pytest.fixture
def audit(db):
    return Audit(db)


@pytest.fixture(scope="session")
def ctl(env):
    """ctl(*args) runs $CPA_CTL with args and returns its stdout; fails the
    test on a non-zero exit."""
    def run(*args):
        cmd = shlex.split(env.ctl) + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} exited {p.returncode}: "
                        f"{p.stdout[-500:]} {p.stderr[-500:]}")
        return p.stdout
    return run


# ------------------------------------------------------------------- intake
#
# Fixtures of the intake tests (test_intake_*.py).  Demo users sign in once
# per module through staff() and sign out when the module ends.

@pytest.fixture(scope="session")
def intake_up(env):
    """Fails every intake test at once, saying why, unless the intake
    worker answers /healthz/intake through nginx."""
    require_worker(env, "intake")


@pytest.fixture(scope="session")
def teams(sites):
    """{key: team} for the demo teams named in cpa_e2e.DEMO_TEAMS; each
    team has id, name, site_id, district_id, site_code."""
    return {key: team_of(sites, key) for key in DEMO_TEAMS}


@pytest.fixture(scope="module")
def staff(signin, demo, intake_up):
    """staff(username) -> a Client signed in as that demo user, the same
    one for the whole module; signed out when the module ends."""
    clients = {}

    def get(username):
        if username not in clients:
            clients[username] = signin(username, demo[username][1])
        return clients[username]
    yield get
    for c in clients.values():
        c.delete("/api/v1/session")


@pytest.fixture(scope="session")
def make_team_staff(as_demo, sites):
    """make_team_staff(tag, role, team) -> dict(id, username, password):
    a new staff member of team's site holding role scoped to that team
    (team=None: to the whole site given as team's site code string)."""
    def make(tag, role, team, site=None):
        code = team["site_code"] if team else site
        adm = as_demo("admin." + code)
        body = staff_payload(unique_username(tag), sites[code]["id"])
        r = adm.post("/api/v1/staff", json=body)
        assert r.status_code == 201, describe(r)
        staff_id = json_of(r)["staff"]["id"]
        grant = {"role": role, "site_id": sites[code]["id"]}
        if team:
            grant.update(district_id=team["district_id"], team_id=team["id"])
        r = adm.post(f"/api/v1/staff/{staff_id}/roles", json=grant)
        assert r.status_code == 201, describe(r)
        adm.delete("/api/v1/session")
        return {"id": staff_id, "username": body["username"],
                "password": body["password"],
                "display_name": body["display_name"]}
    return make


@pytest.fixture(scope="session")
def coord2(make_team_staff, teams):
    """A second coordinator of north's Riverside community team."""
    return make_team_staff("coord2", "coordinator",
                           teams["north_riverside_cmht"])


@pytest.fixture(scope="session")
def refer():
    """refer(client, team_id, person=None, service_user_id=None, key=None,
    **fields) -> the 201 body of POST /api/v1/referrals (referral,
    service_user, possible_duplicates, ...) plus "sent": the request body.
    A fresh Idempotency-Key unless key is given."""
    def do(c, team_id, person=None, service_user_id=None, key=None, **over):
        body = referral_body(team_id, person, service_user_id, **over)
        r = c.post("/api/v1/referrals", json=body,
                   headers={"Idempotency-Key": key or new_idempotency_key()})
        assert r.status_code == 201, describe(r)
        out = json_of(r)
        out["sent"] = body
        return out
    return do


@pytest.fixture(scope="session")
def accept():
    """accept(client, referral_id, coordinator_id, level="standard") -> the
    episode the accepted referral opened."""
    def do(c, referral_id, coordinator_id, level="standard"):
        r = c.post(f"/api/v1/referrals/{referral_id}/decision",
                   json={"decision": "accept", "level": level,
                         "coordinator_id": coordinator_id,
                         "reason": unique_reason("Meets criteria")})
        assert r.status_code == 200, describe(r)
        episode = json_of(r)["episode"]
        assert episode and episode["id"], describe(r)
        return episode
    return do


@pytest.fixture
def case(staff, teams, refer, accept):
    """case(level="standard", team="north_riverside_cmht", by="coord.north",
    coordinator=None, person=None) -> {"person", "episode", "c"}: a new
    person (with the new-person fields person, fresh ones by default)
    referred to that demo team by `by` and accepted at level, coordinated
    by coordinator (a staff id, or a Client with .staff_id; by default
    `by`); c is the Client of `by`."""
    def make(level="standard", team="north_riverside_cmht", by="coord.north",
             coordinator=None, person=None):
        c = staff(by)
        made = refer(c, teams[team]["id"], person=person)
        coord = getattr(coordinator, "staff_id", coordinator) or c.user["id"]
        episode = accept(c, made["referral"]["id"], coord, level)
        return {"person": made["service_user"], "episode": episode, "c": c}
    return make


# --------------------------------------------------------------------- risk
#
# Fixtures of the risk tests (test_risk_*.py); each module marks its tests
# with risk_up.

@pytest.fixture(scope="session")
def risk_up(env):
    """Fails every risk test at once, saying why, unless the risk worker
    answers /healthz/risk through nginx with 200."""
    require_worker(env, "risk")


@pytest.fixture
def risk_case(case):
    """The risk tests' name for case."""
    return case


# ------------------------------------------------------------------ reviews
#
# Fixtures of the reviews tests (test_reviews_*.py); each module marks its
# tests with reviews_up.

@pytest.fixture(scope="module")
def reviews_up(env):
    """Fails every test of a module at once, saying why, unless the
    reviews worker answers /healthz/reviews through nginx with 200."""
    require_worker(env, "reviews")


@pytest.fixture
def db_now(db):
    """The database's now() (the clock its rules use)."""
    return db.scalar("SELECT now()")


@pytest.fixture
def team_member(make_team_staff, teams, signin):
    """team_member(role="coordinator", team="north_riverside_cmht",
    tag=role) -> a signed-in Client of a new staff member holding role at
    that demo team, with .staff_id; signed out when the test ends."""
    made = []

    def make(role="coordinator", team="north_riverside_cmht", tag=None):
        s = make_team_staff(tag or role, role, teams[team])
        c = signin(s["username"], s["password"])
        c.staff_id = s["id"]
        made.append(c)
        return c
    yield make
    for c in made:
        c.delete("/api/v1/session")


# ------------------------------------------------------------------- carers
#
# Fixtures of the carers tests (test_carers_*.py); each module marks its
# tests with carers_up.  kit is what those modules share: the contract's
# shapes and the requests they make over and over.

CARER_KEYS = {"id", "given_name", "family_name", "date_of_birth",
              "young_carer", "phone", "email", "address", "postcode",
              "preferred_contact", "version"}
CONSENT_KEYS = {"id", "scope", "topics", "given_on", "review_on",
                "review_due", "withdrawal", "note", "recorded_by_name",
                "recorded_at"}
ASSESSMENT_KEYS = {"id", "carer_link_id", "status", "offered_on",
                   "offered_by_name", "responded_on", "referred_on",
                   "la_reference", "completed_on", "outcome", "note",
                   "version", "overdue"}
LINK_KEYS = {"id", "carer", "relationship", "relationship_detail",
             "lives_with", "started_on", "ended_on", "end_reason", "version",
             "consent", "may_know", "assessments"}
EVENT_KEYS = {"id", "kind", "kind_text", "occurred_on", "source",
              "source_id", "carer_link_id", "carer_name", "note",
              "recorded_by_name"}
CARER_TOPICS = ("care_plan", "crisis_plan", "medication", "appointments")

import datetime  # noqa: E402  (this section's own imports)

from cpa_e2e import get_json, unique_family_name  # noqa: E402


@pytest.fixture(scope="module")
def carers_up(env):
    """Fails every test of a module at once, saying why, unless the
    carers worker answers /healthz/carers through nginx with 200."""
    require_worker(env, "carers")


class CarersKit:
    """Requests of the carers tests, through the JSON API, each checked
    against the contract's shape where it answers a success."""

    CARER_KEYS = CARER_KEYS
    CONSENT_KEYS = CONSENT_KEYS
    ASSESSMENT_KEYS = ASSESSMENT_KEYS
    LINK_KEYS = LINK_KEYS
    EVENT_KEYS = EVENT_KEYS
    TOPICS = CARER_TOPICS

    def __init__(self, db):
        self.db = db

    def today(self):
        """The database's current date (the one the rules use)."""
        return self.db.scalar("SELECT current_date")

    def day(self, offset):
        """Today plus offset days, as YYYY-MM-DD."""
        return (self.today() + datetime.timedelta(days=offset)).isoformat()

    @staticmethod
    def carer_body(**over):
        body = {"given_name": "Morwenna", "family_name":
                unique_family_name("Tregarthen"), "relationship": "parent",
                "phone": "07700 900456"}
        body.update(over)
        return {k: v for k, v in body.items() if v is not ...}

    def add(self, c, su, **over):
        return c.post(f"/api/v1/service-users/{su}/carers",
                      json=self.carer_body(**over))

    def added(self, c, su, **over):
        """A new carer of person su; returns the LINK."""
        r = self.add(c, su, **over)
        assert r.status_code == 201, describe(r)
        link = json_of(r)["carer_link"]
        self.check_link(link)
        return link

    def check_link(self, link):
        assert set(link) == LINK_KEYS, set(link) ^ LINK_KEYS
        assert set(link["carer"]) == CARER_KEYS, \
            set(link["carer"]) ^ CARER_KEYS
        assert set(link["may_know"]) == set(CARER_TOPICS), link["may_know"]
        if link["consent"] is not None:
            assert set(link["consent"]) == CONSENT_KEYS, \
                set(link["consent"]) ^ CONSENT_KEYS
        for a in link["assessments"]:
            assert set(a) == ASSESSMENT_KEYS, set(a) ^ ASSESSMENT_KEYS
        return link

    def person(self, c, su):
        return get_json(c, f"/api/v1/service-users/{su}/carers")

    def link(self, c, su, link_id):
        """The LINK of person su's carers page with that id."""
        found = [x for x in self.person(c, su)["carers"] if x["id"] == link_id]
        assert len(found) == 1, (link_id, found)
        return self.check_link(found[0])

    def consent(self, c, link_id, **body):
        return c.post(f"/api/v1/carer-links/{link_id}/consent", json=body)

    def consented(self, c, link_id, scope, topics=(), **body):
        """Records a consent decision; returns (CONSENT, LINK)."""
        if topics:
            body["topics"] = list(topics)
        r = self.consent(c, link_id, scope=scope, **body)
        assert r.status_code == 201, describe(r)
        out = json_of(r)
        assert set(out["consent"]) == CONSENT_KEYS, out
        self.check_link(out["carer_link"])
        return out["consent"], out["carer_link"]

    def withdraw(self, c, link_id, **body):
        return c.post(f"/api/v1/carer-links/{link_id}/consent/withdraw",
                      json=body)

    def offer(self, c, link_id, **body):
        return c.post(f"/api/v1/carer-links/{link_id}/assessments", json=body)

    def offered(self, c, link_id, **body):
        r = self.offer(c, link_id, **body)
        assert r.status_code == 201, describe(r)
        a = json_of(r)["carer_assessment"]
        assert set(a) == ASSESSMENT_KEYS, set(a) ^ ASSESSMENT_KEYS
        return a

    def act(self, c, a, action, version=None, **body):
        body = dict(body, action=action,
                    version=a["version"] if version is None else version)
        return c.post(f"/api/v1/carer-assessments/{a['id']}", json=body)

    def acted(self, c, a, action, status, **body):
        r = self.act(c, a, action, **body)
        assert r.status_code == 200, (action, describe(r))
        out = json_of(r)["carer_assessment"]
        assert set(out) == ASSESSMENT_KEYS, set(out) ^ ASSESSMENT_KEYS
        assert out["status"] == status, out
        return out

    def ended(self, c, link, reason="Moved"):
        """End the carer link link (a LINK, its version current) for
        reason; returns the answer's body."""
        r = c.post(f"/api/v1/carer-links/{link['id']}/end",
                   json={"version": link["version"], "end_reason": reason})
        assert r.status_code == 200, describe(r)
        return json_of(r)

    def involvement(self, c, su):
        return get_json(c, f"/api/v1/service-users/{su}/involvement")[
            "involvement"]

    def involve(self, c, su, **body):
        return c.post(f"/api/v1/service-users/{su}/involvement", json=body)


@pytest.fixture
def kit(db):
    return CarersKit(db)


# ---------------------------------------------------------------- dashboard
#
# Fixtures of the dashboard tests (test_dashboard_*.py).  DashKit holds what
# those modules share: the summaries' refresh, the caller's visible teams,
# and the figures of the dashboard contract computed again, independently,
# from the base tables (superuser, so row-level security plays no part):
# plain SQL over referral, episode, cpa_review, followup, risk_assessment,
# care plans, carers and contacts, written from the contract's definitions
# and never through a dash_* function or summary table.  The comparison
# helpers name every figure that differs by its dotted path.

import calendar  # noqa: E402  (this section's own imports)
import csv  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
from decimal import ROUND_HALF_UP, Decimal  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

from cpa_e2e import parse_ts  # noqa: E402

DASH_ROLES = ("team_manager", "district_manager", "trust_admin", "auditor")
DASH_URGENCIES = ("emergency", "urgent", "routine")
DASH_QUESTIONS = ("involved", "choice", "knows_plan", "knows_medication",
                  "knows_complain", "satisfaction")
DASH_MODES = ("face_to_face", "home_visit", "phone", "video")
DASH_LEVELS = ("standard", "enhanced", "complex", "non_cpa", "personalised")
DASH_BUCKETS = (("15 or fewer", 0, 15), ("16 to 25", 16, 25),
                ("26 to 35", 26, 35), ("36 to 45", 36, 45),
                ("over 45", 46, None))
DASH_FIGURES = ("caseload", "review_overdue", "risk_not_in_date",
                "risk_awaiting", "no_plan", "no_copy_user", "no_copy_carer",
                "no_carer", "carer_no_consent", "carer_not_offered")
# The per-coordinator "now" columns of 011's dash_coordinator_now that a
# coordinator row of a team page may show.
DASH_COORDINATOR_KEYS = (
    "caseload", "level_standard", "level_enhanced", "level_complex",
    "level_non_cpa", "level_personalised", "review_overdue",
    "review_oldest_due", "risk_in_date", "risk_awaiting", "plan_current",
    "plan_copy_user", "carer_may_have_plan", "plan_copy_carer", "with_carer",
    "carer_consent", "carer_offered", "carer_completed")
DASH_CSV_HEADER = ["scope", "group_kind", "group_id", "group_name", "figure",
                   "value"]

# One open episode's state now, for the "now" figures and the drill-down:
# every flag a plain EXISTS over the base tables.
_DASH_EPISODES_SQL = """
SELECT e.id AS episode_id, e.team_id, e.coordinator_id, e.level,
	su.id AS su_id, su.nhs_number, su.given_name, su.family_name,
	su.date_of_birth,
	(SELECT r.due_date FROM cpa_review r
	  WHERE r.episode_id = e.id AND r.status = 'due') AS review_due_date,
	(SELECT a.next_review_due FROM risk_assessment a
	  WHERE a.service_user_id = e.service_user_id
	    AND a.status = 'approved') AS risk_review_due,
	EXISTS (SELECT 1 FROM risk_assessment a
	  WHERE a.episode_id = e.id AND a.status = 'submitted') AS risk_awaiting,
	p.current_version_id IS NOT NULL AS plan_current,
	EXISTS (SELECT 1 FROM care_plan_copy k
	  WHERE k.care_plan_version_id = p.current_version_id
	    AND k.recipient = 'service_user') AS plan_copy_user,
	EXISTS (SELECT 1 FROM care_plan_copy k
	  WHERE k.care_plan_version_id = p.current_version_id
	    AND k.recipient = 'carer') AS copy_to_a_carer,
	EXISTS (SELECT 1 FROM carer_link l
	  WHERE l.service_user_id = e.service_user_id
	    AND l.ended_on IS NULL) AS with_carer,
	EXISTS (SELECT 1 FROM carer_link l
	  WHERE l.service_user_id = e.service_user_id AND l.ended_on IS NULL
	    AND l.current_consent_id IS NOT NULL) AS carer_consent,
	EXISTS (SELECT 1 FROM carer_link l
	  JOIN carer_consent c ON c.id = l.current_consent_id
	  WHERE l.service_user_id = e.service_user_id AND l.ended_on IS NULL
	    AND (c.scope = 'full' OR (c.scope = 'limited' AND c.topics &&
	      ARRAY['care_plan', 'crisis_plan', 'medication']))) AS carer_may_have_plan,
	EXISTS (SELECT 1 FROM carer_link l
	  JOIN carer_assessment a ON a.carer_link_id = l.id
	  WHERE l.service_user_id = e.service_user_id
	    AND l.ended_on IS NULL) AS carer_offered,
	EXISTS (SELECT 1 FROM carer_link l
	  JOIN carer_assessment a ON a.carer_link_id = l.id
	  WHERE l.service_user_id = e.service_user_id AND l.ended_on IS NULL
	    AND a.status = 'completed') AS carer_completed
FROM episode e
JOIN service_user su ON su.id = e.service_user_id
LEFT JOIN care_plan p ON p.episode_id = e.id
WHERE e.ended_at IS NULL AND e.team_id = ANY (%(teams)s)
ORDER BY lower(su.family_name), lower(su.given_name), su.id, e.id
"""

# What happened in the UK days %(from)s to %(to)s: lo and hi are the
# moments those days begin and end.
_DASH_BOUNDS = """
b AS (SELECT (%(from)s::date)::timestamp AT TIME ZONE 'Europe/London' AS lo,
	((%(to)s::date + 1)::timestamp) AT TIME ZONE 'Europe/London' AS hi)
"""

_DASH_EVENTS_SQL = "WITH " + _DASH_BOUNDS + """
SELECT
	(SELECT count(*) FROM referral r, b WHERE r.team_id = ANY (%(teams)s)
	  AND r.received_at >= b.lo AND r.received_at < b.hi) AS received,
	(SELECT count(*) FROM cpa_review r JOIN episode e ON e.id = r.episode_id
	  WHERE e.team_id = ANY (%(teams)s) AND r.status = 'held'
	    AND r.held_on BETWEEN %(from)s AND %(to)s) AS held,
	(SELECT count(*) FROM cpa_review r JOIN episode e ON e.id = r.episode_id
	  WHERE e.team_id = ANY (%(teams)s) AND r.status = 'held'
	    AND r.held_on BETWEEN %(from)s AND %(to)s
	    AND r.held_on <= r.due_date) AS on_time,
	(SELECT count(*) FROM followup f JOIN episode e ON e.id = f.episode_id, b
	  WHERE e.team_id = ANY (%(teams)s) AND f.status <> 'cancelled'
	    AND f.due_at >= b.lo AND f.due_at < b.hi
	    AND (f.status = 'met' OR f.due_at <= %(at)s)) AS fu_due,
	(SELECT count(*) FROM followup f JOIN episode e ON e.id = f.episode_id, b
	  WHERE e.team_id = ANY (%(teams)s) AND f.status = 'met'
	    AND f.due_at >= b.lo AND f.due_at < b.hi
	    AND f.met_at <= f.due_at) AS fu_met,
	(SELECT count(*) FROM risk_assessment a JOIN episode e ON e.id = a.episode_id, b
	  WHERE e.team_id = ANY (%(teams)s)
	    AND a.approved_at >= b.lo AND a.approved_at < b.hi) AS approved,
	(SELECT count(*) FROM risk_assessment a JOIN episode e ON e.id = a.episode_id, b
	  WHERE e.team_id = ANY (%(teams)s) AND a.discussed_with_user
	    AND a.approved_at >= b.lo AND a.approved_at < b.hi) AS discussed_user,
	(SELECT count(*) FROM risk_assessment a JOIN episode e ON e.id = a.episode_id, b
	  WHERE e.team_id = ANY (%(teams)s) AND a.discussed_with_carer
	    AND a.approved_at >= b.lo AND a.approved_at < b.hi) AS discussed_carer,
	(SELECT count(*) FROM contact c JOIN episode e ON e.id = c.episode_id, b
	  WHERE e.team_id = ANY (%(teams)s) AND NOT c.attended
	    AND c.at >= b.lo AND c.at < b.hi) AS not_attended,
	-- The open episodes at the end of each day, summed over the days: per
	-- episode, the days from its first UK day to the day before the one it
	-- ended on, within the period.
	(SELECT coalesce(sum(greatest(0,
	    least(%(to)s::date, coalesce((e.ended_at AT TIME ZONE 'Europe/London')::date - 1,
	      %(to)s::date))
	    - greatest(%(from)s::date, (e.started_at AT TIME ZONE 'Europe/London')::date)
	    + 1)), 0)
	  FROM episode e WHERE e.team_id = ANY (%(teams)s)) AS person_days,
	(SELECT count(*) FROM episode e WHERE e.team_id = ANY (%(teams)s)
	  AND (e.started_at AT TIME ZONE 'Europe/London')::date <= %(to)s
	  AND (e.ended_at IS NULL
	    OR (e.ended_at AT TIME ZONE 'Europe/London')::date > %(to)s)) AS caseload_end
"""

# Attended contacts by mode.
_DASH_MODES_SQL = "WITH " + _DASH_BOUNDS + """
SELECT c.mode, count(*) AS n
FROM contact c JOIN episode e ON e.id = c.episode_id, b
WHERE e.team_id = ANY (%(teams)s) AND c.attended
	AND c.at >= b.lo AND c.at < b.hi
GROUP BY c.mode
"""

# The experience answers of the reviews held in the period.
_DASH_ANSWERS_SQL = """
SELECT r.exp_involved AS involved, r.exp_choice AS choice,
	r.exp_knows_plan AS knows_plan, r.exp_knows_medication AS knows_medication,
	r.exp_knows_complain AS knows_complain, r.exp_satisfaction AS satisfaction
FROM cpa_review r JOIN episode e ON e.id = r.episode_id
WHERE e.team_id = ANY (%(teams)s) AND r.status = 'held'
	AND r.held_on BETWEEN %(from)s AND %(to)s
"""

# Referrals decided in the period: how long each took, and whether late.
_DASH_DECIDED_SQL = "WITH " + _DASH_BOUNDS + """
SELECT r.urgency, r.decided_at - r.received_at AS took,
	r.decided_at > r.deadline_at AS breached
FROM referral r, b
WHERE r.team_id = ANY (%(teams)s) AND r.decided_at IS NOT NULL
	AND r.decided_at >= b.lo AND r.decided_at < b.hi
"""

_DASH_QUEUE_SQL = """
SELECT count(*) AS awaiting,
	count(*) FILTER (WHERE r.deadline_at < %(at)s) AS breached,
	min(r.received_at) AS oldest
FROM referral r
WHERE r.team_id = ANY (%(teams)s) AND r.status = 'awaiting_triage'
"""

_DASH_DEADLINES_SQL = """
SELECT array_agg(DISTINCT s.deadline_emergency) AS emergency,
	array_agg(DISTINCT s.deadline_urgent) AS urgent,
	array_agg(DISTINCT s.deadline_routine) AS routine
FROM team t JOIN site s ON s.id = t.site_id
WHERE t.id = ANY (%(teams)s)
"""

# The teams a staff member's dashboard roles cover (a whole-site grant
# covers every team of the site, a district grant its teams).
_DASH_VISIBLE_SQL = """
SELECT DISTINCT t.id
FROM staff_role r
JOIN team t ON t.site_id = r.site_id
	AND (r.district_id IS NULL OR t.district_id = r.district_id)
	AND (r.team_id IS NULL OR t.id = r.team_id)
WHERE r.staff_id = %(staff)s AND r.role = ANY (%(roles)s)
ORDER BY t.id
"""


def dash_share(num, den):
    """num / den to three places (half up), None when den is 0."""
    if not den:
        return None
    return (Decimal(num) / Decimal(den)).quantize(Decimal("0.001"),
                                                  ROUND_HALF_UP)


def dash_per_month(n, person_days):
    """n per person per month of 30.4375 days, to two places."""
    if not person_days:
        return None
    return (Decimal(n) * Decimal("30.4375") / Decimal(person_days)).quantize(
        Decimal("0.01"), ROUND_HALF_UP)


def dash_minutes(td):
    """A timedelta in whole minutes, rounded down (011 keeps the time a
    referral took to decide so: dash_minutes)."""
    micro = (td.days * 86400 + td.seconds) * 10 ** 6 + td.microseconds
    return micro // (60 * 10 ** 6)


def dash_hours(td):
    """A timedelta in hours, exactly."""
    micro = (td.days * 86400 + td.seconds) * 10 ** 6 + td.microseconds
    return Decimal(micro) / Decimal(3600 * 10 ** 6)


def dash_centile(minutes, which):
    """The median (which=50) or 90th centile (which=90) of the times in
    whole minutes, with linear interpolation between the closest ranks
    (PostgreSQL's percentile_cont), in hours to one place half up; None
    for no values."""
    if not minutes:
        return None
    data = sorted(Decimal(m) for m in minutes)
    if len(data) == 1:
        v = data[0]
    elif which == 50:
        v = statistics.median(data)
    else:
        v = statistics.quantiles(data, n=10, method="inclusive")[8]
    return (v / 60).quantize(Decimal("0.1"), ROUND_HALF_UP)


def dash_median_disc(values):
    """The lower median: the first value whose cumulative share reaches one
    half (a caseload some coordinator has; percentile_disc in 011)."""
    if not values:
        return None
    data = sorted(values)
    return data[math.ceil(len(data) * 0.5) - 1]


def dash_months(frm, to):
    """[(first, last)] of each calendar month of frm..to, cut to it."""
    out = []
    first = frm
    while first <= to:
        end = datetime.date(first.year, first.month,
                            calendar.monthrange(first.year, first.month)[1])
        out.append((first, min(end, to)))
        first = end + datetime.timedelta(days=1)
    return out


class DashEither:
    """An expected value that any of options satisfies."""

    def __init__(self, *options):
        self.options = options

    def __repr__(self):
        return " or ".join(repr(o) for o in self.options)


def dash_timeless(figures):
    """figures with the median and 90th centile of the time to decide
    allowed to be null too: a list of children need not show them (011's
    dash_figures p_times)."""
    out = dict(figures, referrals=dict(figures["referrals"], by_urgency=[
        dict(u, median_hours=DashEither(u["median_hours"], None),
             p90_hours=DashEither(u["p90_hours"], None))
        for u in figures["referrals"]["by_urgency"]]))
    return out


def dash_same(actual, expected, path="", out=None):
    """Where actual (parsed JSON) differs from expected (the independent
    computation): a list of "path: got X, expected Y".  Numbers compare by
    value (Decimal against the JSON's number), datetimes and dates against
    their ISO text, dicts by their keys too."""
    out = [] if out is None else out
    here = path or "(top)"
    if isinstance(expected, DashEither):
        if not any(not dash_same(actual, o, path) for o in expected.options):
            out.append(f"{here}: got {actual!r}, expected {expected!r}")
        return out
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            out.append(f"{here}: got {actual!r}, expected an object")
            return out
        if set(actual) != set(expected):
            out.append(f"{here}: keys differ: missing "
                       f"{sorted(set(expected) - set(actual))}, extra "
                       f"{sorted(set(actual) - set(expected))}")
        for k in expected:
            if k in actual:
                dash_same(actual[k], expected[k], f"{path}.{k}" if path else k,
                          out)
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            out.append(f"{here}: got {actual!r}, expected {expected!r}")
            return out
        for i, (a, e) in enumerate(zip(actual, expected)):
            dash_same(a, e, f"{path}[{i}]", out)
        return out
    ok = True
    if expected is None or isinstance(expected, (bool, str)):
        ok = actual == expected and type(actual) is type(expected)
    elif isinstance(expected, datetime.datetime):
        try:
            ok = (actual if isinstance(actual, datetime.datetime)
                  else parse_ts(actual)) == expected
        except BaseException:
            ok = False
    elif isinstance(expected, datetime.date):
        ok = actual in (expected, expected.isoformat())
    else:
        ok = (isinstance(actual, (int, float, Decimal))
              and not isinstance(actual, bool)
              and Decimal(str(actual)) == Decimal(expected))
    if not ok:
        out.append(f"{here}: got {actual!r}, expected {expected!r}")
    return out


def dash_assert_same(actual, expected, what):
    diffs = dash_same(actual, expected)
    assert not diffs, f"{what}: {len(diffs)} figure(s) differ:\n  " + \
        "\n  ".join(diffs[:40])


class DashRaw(str):
    """A JSON number kept as the text it was written as."""


def dash_json_text(resp):
    """The JSON body of resp with every number kept as its text (DashRaw),
    so a CSV value can be compared with the JSON exactly."""
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.startswith("application/json"), describe(resp)
    return json.loads(resp.text, parse_float=DashRaw, parse_int=DashRaw)


def dash_csv_name(label):
    return str(label).replace(" ", "_")


def dash_leaves(value, prefix=""):
    """[(dotted figure, leaf)] of a figures object the way the CSV names
    them: arrays' entries by their key (urgency, question, mode, label with
    spaces as underscores)."""
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            out += dash_leaves(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(value, list):
        for item in value:
            key = next((item[k] for k in ("urgency", "question", "mode",
                                          "label") if k in item), None)
            assert key is not None, f"{prefix}: an entry without a key: {item!r}"
            rest = {k: v for k, v in item.items()
                    if k not in ("urgency", "question", "mode", "label")}
            out += dash_leaves(rest, f"{prefix}.{dash_csv_name(key)}")
    else:
        out.append((prefix, value))
    return out


def dash_csv_value(leaf):
    """The CSV text of a JSON leaf (parsed by dash_json_text)."""
    if leaf is None:
        return ""
    if leaf is True or leaf is False:
        return "true" if leaf else "false"
    return str(leaf)


def dash_href_path(href):
    """The path of an href (page or API), without /api/v1 and the query."""
    path = urlsplit(href).path
    return path[len("/api/v1"):] if path.startswith("/api/v1/") else path


def dash_people_of(body):
    """The drill-down's list: "people", or the one list of entries with a
    service_user in the body."""
    if isinstance(body, list):
        return body
    if isinstance(body.get("people"), list):
        return body["people"]
    lists = [v for v in body.values() if isinstance(v, list)
             and all(isinstance(x, dict) and "service_user" in x for x in v)]
    assert len(lists) == 1, f"no single list of people in {body!r}"[:600]
    return lists[0]


@pytest.fixture(scope="module")
def dashboard_up(env):
    """Fails every test of a module at once, saying why, unless the
    dashboard worker answers /healthz/dashboard through nginx with 200."""
    require_worker(env, "dashboard")


@pytest.fixture(scope="module")
def dash_quiet(ctl):
    """The stack's own cpa-remindd refreshes the summaries every few
    minutes on the real clock; it is stopped while a dashboard module runs
    (only the module's own refreshes happen) and started again after."""
    ctl("stop", "remindd")
    yield
    ctl("start", "remindd")


class DashKit:
    """The dashboard tests' shared requests and their independent
    computation of every figure (see the section's header)."""

    ROLES = DASH_ROLES
    FIGURES = DASH_FIGURES
    CSV_HEADER = DASH_CSV_HEADER
    same = staticmethod(dash_same)
    assert_same = staticmethod(dash_assert_same)
    timeless = staticmethod(dash_timeless)
    href_path = staticmethod(dash_href_path)
    leaves = staticmethod(dash_leaves)
    csv_value = staticmethod(dash_csv_value)
    csv_name = staticmethod(dash_csv_name)
    json_text = staticmethod(dash_json_text)
    people_of = staticmethod(dash_people_of)
    share = staticmethod(dash_share)
    per_month = staticmethod(dash_per_month)

    def __init__(self, db):
        self.db = db

    # ---------------------------------------------------------- the clock

    def refresh(self):
        """Brings the summaries up to now (as cpa-remindd does); returns
        dash_state.refreshed_at."""
        out = self.db.scalar("SELECT dash_refresh(now(), interval '0')::text")
        assert '"refreshed"' in out, f"dash_refresh did not refresh: {out}"
        return self.as_of()

    def as_of(self):
        return self.db.scalar("SELECT refreshed_at FROM dash_state")

    def today(self):
        """Today, the UK calendar day."""
        return self.db.scalar(
            "SELECT (now() AT TIME ZONE 'Europe/London')::date")

    @staticmethod
    def uk_day(at):
        return at.astimezone(ZoneInfo("Europe/London")).date()

    def default_period(self):
        """(from, to) when the query gives none: to today, from twelve
        months before it plus a day."""
        to = self.today()
        frm = self.db.scalar("SELECT (%s::date - interval '12 months')::date + 1",
                             (to,))
        return frm, to

    # ------------------------------------------------------ organisation

    def site_id(self, code):
        return self.db.scalar("SELECT id FROM site WHERE code = %s", (code,))

    def team_rows(self, team_ids=None, site=None, district=None):
        """[{id, name, site_id, district_id, site_name, district_name,
        integrated, inclusive}] by id, of the teams given (or all)."""
        rows = self.db.all(
            "SELECT t.id, t.name, t.site_id, t.district_id, s.name AS site_name, "
            "d.name AS district_name, d.integrated, d.inclusive "
            "FROM team t JOIN district d ON d.id = t.district_id "
            "JOIN site s ON s.id = t.site_id ORDER BY t.id")
        return [r for r in rows
                if (team_ids is None or r["id"] in team_ids)
                and (site is None or r["site_id"] == site)
                and (district is None or r["district_id"] == district)]

    def visible(self, staff_id):
        """The ids of the teams staff_id's dashboard roles cover."""
        return [r["id"] for r in self.db.all(
            _DASH_VISIBLE_SQL, {"staff": staff_id, "roles": list(DASH_ROLES)})]

    def staff_id(self, username):
        return self.db.scalar("SELECT id FROM staff WHERE username = %s",
                              (username,))

    # ------------------------------------------------- "now", per episode

    def episodes(self, teams):
        return self.db.all(_DASH_EPISODES_SQL, {"teams": list(teams)})

    @staticmethod
    def flags(ep, today):
        """The drill-down's yes/no of one episode (from episodes())."""
        return {
            "review_overdue": ep["review_due_date"] is not None
            and ep["review_due_date"] < today,
            "risk_in_date": ep["risk_review_due"] is not None
            and ep["risk_review_due"] >= today,
            "risk_awaiting": ep["risk_awaiting"],
            "plan_current": ep["plan_current"],
            "plan_copy_user": ep["plan_current"] and ep["plan_copy_user"],
            "carer_may_have_plan": ep["carer_may_have_plan"],
            "plan_copy_carer": ep["carer_may_have_plan"] and ep["plan_current"]
            and ep["copy_to_a_carer"],
            "with_carer": ep["with_carer"],
            "carer_consent": ep["carer_consent"],
            "carer_offered": ep["carer_offered"],
            "carer_completed": ep["carer_completed"],
        }

    def in_figure(self, ep, figure, today):
        """Whether episode ep is one of the people behind figure."""
        f = self.flags(ep, today)
        return {
            "caseload": True,
            "review_overdue": f["review_overdue"],
            "risk_not_in_date": not f["risk_in_date"],
            "risk_awaiting": f["risk_awaiting"],
            "no_plan": not f["plan_current"],
            "no_copy_user": f["plan_current"] and not f["plan_copy_user"],
            "no_copy_carer": f["carer_may_have_plan"] and not f["plan_copy_carer"],
            "no_carer": not f["with_carer"],
            "carer_no_consent": f["with_carer"] and not f["carer_consent"],
            "carer_not_offered": f["with_carer"] and not f["carer_offered"],
        }[figure]

    def people(self, team, coordinator, figure, today=None):
        """The drill-down's expected entries, in its order (family name,
        given name, person, episode)."""
        today = today or self.today()
        eps = [e for e in self.episodes([team])
               if (coordinator is None or e["coordinator_id"] == coordinator)
               and self.in_figure(e, figure, today)]
        out = []
        for e in eps:
            f = self.flags(e, today)
            out.append({
                "service_user": {"id": e["su_id"], "nhs_number": e["nhs_number"],
                                 "given_name": e["given_name"],
                                 "family_name": e["family_name"],
                                 "date_of_birth": e["date_of_birth"]},
                "episode_id": e["episode_id"], "level": e["level"],
                "coordinator_id": e["coordinator_id"],
                "review_due_date": e["review_due_date"],
                "risk_review_due": e["risk_review_due"],
                "risk_awaiting": f["risk_awaiting"],
                "plan_current": f["plan_current"],
                "plan_copy_user": f["plan_copy_user"],
                "plan_copy_carer": f["plan_copy_carer"],
                "with_carer": f["with_carer"],
                "carer_consent": f["carer_consent"],
                "carer_offered": f["carer_offered"]})
        return out

    def now_counts(self, eps, today):
        """Counts over episodes eps: dash_coordinator_now's columns."""
        c = {k: 0 for k in DASH_COORDINATOR_KEYS if k != "review_oldest_due"}
        oldest = None
        for e in eps:
            f = self.flags(e, today)
            c["caseload"] += 1
            c["level_" + e["level"]] += 1
            for k in ("review_overdue", "risk_in_date", "risk_awaiting",
                      "plan_current", "plan_copy_user", "carer_may_have_plan",
                      "plan_copy_carer", "with_carer", "carer_consent",
                      "carer_offered", "carer_completed"):
                c[k] += bool(f[k])
            if f["review_overdue"] and (oldest is None
                                        or e["review_due_date"] < oldest):
                oldest = e["review_due_date"]
        c["review_oldest_due"] = oldest
        return c

    def coordinators(self, team, at):
        """{coordinator id: counts (now_counts) plus name} of the care
        coordinators with open episodes in team, as of at."""
        today = self.uk_day(at)
        by = {}
        for e in self.episodes([team]):
            by.setdefault(e["coordinator_id"], []).append(e)
        names = dict((r["id"], r["display_name"]) for r in self.db.all(
            "SELECT id, display_name FROM staff WHERE id = ANY (%s)",
            (list(by),))) if by else {}
        return {cid: dict(self.now_counts(eps, today), name=names[cid])
                for cid, eps in by.items()}

    # ------------------------------------------------------- the figures

    def events(self, teams, frm, to, at):
        """What happened in the UK days frm..to in teams (at: the clock of
        the refresh, for follow-ups that fell due)."""
        p = {"teams": list(teams), "from": frm, "to": to, "at": at}
        ev = self.db.one(_DASH_EVENTS_SQL, p)
        ev["modes"] = {r["mode"]: r["n"] for r in self.db.all(_DASH_MODES_SQL, p)}
        ev["answers"] = self.db.all(_DASH_ANSWERS_SQL, p)
        ev["decided"] = self.db.all(_DASH_DECIDED_SQL, p)
        return ev

    @staticmethod
    def experience(answers):
        out = []
        for q in DASH_QUESTIONS:
            vals = [a[q] for a in answers if a[q] is not None]
            if q == "satisfaction":
                n, yes = len(vals), sum(1 for v in vals if v >= 4)
            else:
                n = sum(1 for v in vals if v in ("yes", "partly", "no"))
                yes = sum(1 for v in vals if v == "yes")
            out.append({"question": q, "answers": n, "yes": yes,
                        "share": dash_share(yes, n)})
        return out

    def deadlines(self, teams):
        row = self.db.one(_DASH_DEADLINES_SQL, {"teams": list(teams)})
        out = {}
        for u in DASH_URGENCIES:
            vals = row[u] or []
            out[u] = (dash_hours(vals[0]).quantize(Decimal("0.1"), ROUND_HALF_UP)
                      if len(vals) == 1 else None)
        return out

    def figures(self, teams, frm, to, at):
        """The figures object of the contract for teams and the period
        frm..to, the "now" figures as of at (the refresh's clock)."""
        teams = list(teams)
        today = self.uk_day(at)
        eps = self.episodes(teams)
        now = self.now_counts(eps, today)
        ev = self.events(teams, frm, to, at)
        queue = self.db.one(_DASH_QUEUE_SQL, {"teams": teams, "at": at})
        deadlines = self.deadlines(teams)

        per_coord = {}
        for e in eps:
            per_coord[e["coordinator_id"]] = per_coord.get(e["coordinator_id"], 0) + 1
        loads = list(per_coord.values())

        by_urgency = []
        for u in DASH_URGENCIES:
            rows = [r for r in ev["decided"] if r["urgency"] == u]
            took = [dash_minutes(r["took"]) for r in rows]
            by_urgency.append({
                "urgency": u, "decided": len(rows),
                "median_hours": dash_centile(took, 50),
                "p90_hours": dash_centile(took, 90),
                "deadline_hours": deadlines[u],
                "breaches": sum(1 for r in rows if r["breached"])})
        decided = len(ev["decided"])
        breached = sum(1 for r in ev["decided"] if r["breached"])
        attended = sum(ev["modes"].values())
        cl = now["caseload"]
        return {
            "caseload": dict({"total": cl},
                             **{lv: now["level_" + lv] for lv in DASH_LEVELS}),
            "coordinators": {
                "count": len(loads), "median": dash_median_disc(loads),
                "max": max(loads) if loads else None,
                "over_35": sum(1 for n in loads if n > 35),
                "buckets": [{"label": label,
                             "n": sum(1 for n in loads if n >= lo
                                      and (hi is None or n <= hi))}
                            for label, lo, hi in DASH_BUCKETS]},
            "referrals": {
                "received": ev["received"], "decided": decided,
                "breached": breached,
                "breached_share": dash_share(breached, decided),
                "awaiting_triage": queue["awaiting"],
                "awaiting_breached": queue["breached"],
                "awaiting_oldest_at": queue["oldest"],
                "by_urgency": by_urgency},
            "reviews": {
                "held": ev["held"], "on_time": ev["on_time"],
                "on_time_share": dash_share(ev["on_time"], ev["held"]),
                "overdue": now["review_overdue"],
                "oldest_overdue_due": now["review_oldest_due"],
                "followups_due": ev["fu_due"], "followups_met": ev["fu_met"],
                "followups_met_share": dash_share(ev["fu_met"], ev["fu_due"])},
            "risk": {
                "caseload": cl, "in_date": now["risk_in_date"],
                "in_date_share": dash_share(now["risk_in_date"], cl),
                "awaiting_approval": now["risk_awaiting"],
                "approved": ev["approved"],
                "discussed_user": ev["discussed_user"],
                "discussed_user_share": dash_share(ev["discussed_user"],
                                                   ev["approved"]),
                "discussed_carer": ev["discussed_carer"],
                "discussed_carer_share": dash_share(ev["discussed_carer"],
                                                    ev["approved"])},
            "care_plans": {
                "caseload": cl, "current": now["plan_current"],
                "current_share": dash_share(now["plan_current"], cl),
                "copy_user": now["plan_copy_user"],
                "copy_user_share": dash_share(now["plan_copy_user"],
                                              now["plan_current"]),
                "carer_may_have_plan": now["carer_may_have_plan"],
                "copy_carer": now["plan_copy_carer"],
                "copy_carer_share": dash_share(now["plan_copy_carer"],
                                               now["carer_may_have_plan"])},
            "carers": {
                "caseload": cl, "with_carer": now["with_carer"],
                "with_carer_share": dash_share(now["with_carer"], cl),
                "consent": now["carer_consent"],
                "consent_share": dash_share(now["carer_consent"],
                                            now["with_carer"]),
                "offered": now["carer_offered"],
                "offered_share": dash_share(now["carer_offered"],
                                            now["with_carer"]),
                "completed": now["carer_completed"],
                "completed_share": dash_share(now["carer_completed"],
                                              now["with_carer"])},
            "experience": self.experience(ev["answers"]),
            "contacts": {
                "person_days": ev["person_days"], "total": attended,
                "per_person_month": dash_per_month(attended, ev["person_days"]),
                "not_attended": ev["not_attended"],
                "by_mode": [{"mode": m, "n": ev["modes"].get(m, 0),
                             "per_person_month": dash_per_month(
                                 ev["modes"].get(m, 0), ev["person_days"])}
                            for m in DASH_MODES]},
        }

    def trend(self, teams, frm, to, at):
        """The contract's trend: one entry per calendar month of frm..to,
        oldest first, each cut to the period."""
        out = []
        for first, last in dash_months(frm, to):
            ev = self.events(teams, first, last, at)
            sat = self.experience(ev["answers"])[-1]
            contacts = sum(ev["modes"].values())
            out.append({
                "month": first.strftime("%Y-%m"), "from": first, "to": last,
                "referrals_received": ev["received"],
                "referrals_decided": len(ev["decided"]),
                "referrals_breached": sum(1 for r in ev["decided"]
                                          if r["breached"]),
                "reviews_held": ev["held"], "reviews_on_time": ev["on_time"],
                "reviews_on_time_share": dash_share(ev["on_time"], ev["held"]),
                "followups_due": ev["fu_due"], "followups_met": ev["fu_met"],
                "followups_met_share": dash_share(ev["fu_met"], ev["fu_due"]),
                "risk_approved": ev["approved"],
                "risk_discussed_user_share": dash_share(ev["discussed_user"],
                                                        ev["approved"]),
                "risk_discussed_carer_share": dash_share(ev["discussed_carer"],
                                                         ev["approved"]),
                "satisfaction_answers": sat["answers"],
                "satisfaction_share": sat["share"],
                "contacts": contacts,
                "contacts_per_person_month": dash_per_month(contacts,
                                                            ev["person_days"]),
                "caseload_end": ev["caseload_end"]})
        return out

    # --------------------------------------------------------- requests

    @staticmethod
    def page(c, path, frm=None, to=None, **params):
        """GET /api/v1<path> as c with the period (when given): the JSON
        body, after checking it answered 200."""
        if frm is not None:
            params["from"] = frm.isoformat()
        if to is not None:
            params["to"] = to.isoformat()
        r = c.get("/api/v1" + path, params=params)
        assert r.status_code == 200, describe(r)
        return json_of(r)

    @staticmethod
    def csv_rows(resp):
        """The rows of a CSV answer (header included)."""
        return list(csv.reader(io.StringIO(resp.content.decode("utf-8"),
                                           newline="")))


@pytest.fixture
def dash(db):
    return DashKit(db)


@pytest.fixture(scope="session")
def dash_kit():
    """dash_kit(db) -> a DashKit on another connection (anything with
    all, one and scalar, such as a transaction to be rolled back)."""
    return DashKit
