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
