"""The dashboard's figures (cpa-dashboard, sql/011_dashboard.sql) are what
the base tables say: every figure of every scope a trust admin sees (the
trust, the site, each district, each team; their children; the monthly
trend) for the default twelve months and for a short period equals the
same figure computed again, independently, from referrals, episodes,
reviews, follow-ups, risk assessments, care plans, carers and contacts
(conftest's DashKit: plain SQL from the contract's definitions, never a
dash_* function or summary table).  The SQL functions themselves are
checked the same way as the application's database role, under row-level
security, so a wrong figure can be told from a wrong worker; and with every
site's teams asked for, another site's people are never counted.

The summaries are refreshed (dash_refresh, as cpa-remindd does) before
each comparison, with the stack's own cpa-remindd stopped so that nothing
else refreshes them meanwhile; "now" figures are compared as of the
refresh's clock (dash_state.refreshed_at), the rest over the UK days of
the period."""

import datetime

import psycopg2
import psycopg2.extras
import pytest

from cpa_e2e import parse_ts

pytestmark = pytest.mark.usefixtures("dash_quiet")

GROUPINGS = ("all", "site", "district", "team", "integrated", "inclusive")


@pytest.fixture(scope="module")
def admin_north(as_demo, dashboard_up):
    c = as_demo("admin.north")
    yield c
    c.delete("/api/v1/session")


@pytest.fixture
def periods(dash):
    """The default period (None: no query) and a short one that ends
    before today and crosses a month's end."""
    today = dash.today()
    to = today - datetime.timedelta(days=2)
    return [None, (to - datetime.timedelta(days=45), to)]


class AppDb:
    """The application's database role (cpa_app) in one transaction per
    call, with app.site_ids set as a worker sets it: row-level security
    applies."""

    def __init__(self, dsn):
        self.conn = psycopg2.connect(dsn, connect_timeout=10)

    def all(self, site_ids, sql, params=()):
        try:
            with self.conn.cursor(
                    cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                cur.execute("SELECT set_config('app.site_ids', %s, true)",
                            (",".join(str(s) for s in site_ids),))
                cur.execute(sql, params)
                return [dict(r) for r in cur.fetchall()]
        finally:
            self.conn.rollback()

    def close(self):
        self.conn.close()


@pytest.fixture
def app_db(env):
    d = AppDb(env.pg_app_dsn)
    yield d
    d.close()


def group_of(team, by):
    return {"all": 0, "site": team["site_id"], "district": team["district_id"],
            "team": team["id"], "integrated": int(team["integrated"]),
            "inclusive": int(team["inclusive"])}[by]


# ------------------------------------------------------------ the SQL side

def test_sql_figures_match_base_tables(dash, app_db):
    """dash_figures by every grouping, dash_trend and the per-coordinator
    summary, read as cpa_app with north's site, equal the independent
    figures of north's teams: asked for every site's teams, the south's
    are left out by row-level security."""
    at = dash.refresh()
    north = dash.site_id("north")
    teams = dash.team_rows()
    north_teams = [t for t in teams if t["site_id"] == north]
    assert len(north_teams) >= 4 and len(north_teams) < len(teams), teams
    all_ids = [t["id"] for t in teams]
    frm, to = dash.default_period()
    short = (to - datetime.timedelta(days=47), to - datetime.timedelta(days=2))
    for p_from, p_to in ((frm, to), short):
        for by in GROUPINGS:
            rows = app_db.all([north], "SELECT group_id, figures FROM "
                              "dash_figures(%s::bigint[], %s, %s, %s)",
                              (all_ids, p_from, p_to, by))
            groups = {}
            for t in north_teams:
                groups.setdefault(group_of(t, by), []).append(t["id"])
            assert sorted(r["group_id"] for r in rows) == sorted(groups), \
                (by, rows)
            for r in rows:
                dash.assert_same(
                    r["figures"],
                    dash.figures(groups[r["group_id"]], p_from, p_to, at),
                    f"dash_figures by {by}, group {r['group_id']}, "
                    f"{p_from}..{p_to}")
        trend = app_db.all([north], "SELECT dash_trend(%s::bigint[], %s, %s) AS t",
                           (all_ids, p_from, p_to))[0]["t"]
        dash.assert_same(trend, dash.trend([t["id"] for t in north_teams],
                                           p_from, p_to, at),
                         f"dash_trend {p_from}..{p_to}")
    rows = app_db.all([north], "SELECT * FROM dash_coordinator_now")
    assert {r["site_id"] for r in rows} == {north}, rows
    for t in north_teams:
        want = dash.coordinators(t["id"], at)
        got = {r["coordinator_id"]: r for r in rows if r["team_id"] == t["id"]}
        assert set(got) == set(want), (t["name"], sorted(got), sorted(want))
        for cid, w in want.items():
            dash.assert_same({k: got[cid][k] for k in w if k != "name"},
                             {k: v for k, v in w.items() if k != "name"},
                             f"dash_coordinator_now of {t['name']}, {cid}")


def test_sql_people_match_base_tables(dash, app_db):
    """dash_people, live, lists exactly the open episodes behind each
    figure (whole team and one coordinator), and nothing of another site."""
    north, south = dash.site_id("north"), dash.site_id("south")
    for t in dash.team_rows(site=north):
        coords = sorted(dash.coordinators(t["id"], dash.as_of()))
        for coordinator in [None] + coords[:1]:
            for figure in dash.FIGURES:
                got = app_db.all([north], "SELECT dash_people(%s, %s, %s) AS p",
                                 (t["id"], coordinator, figure))[0]["p"]
                dash.assert_same(got, dash.people(t["id"], coordinator, figure),
                                 f"dash_people({t['name']}, {coordinator}, "
                                 f"{figure})")
    south_team = dash.team_rows(site=south)[0]
    assert dash.people(south_team["id"], None, "caseload"), \
        "the south's team should have people for this check to mean anything"
    got = app_db.all([north], "SELECT dash_people(%s, NULL, 'caseload') AS p",
                     (south_team["id"],))[0]["p"]
    assert got == [], got


# ----------------------------------------------------------- the pages

def check_children(dash, body, kind, expected, frm, to, at):
    """The children of a scope page: exactly expected ({id: (name,
    teams)}), each of kind with its link and its figures."""
    children = body["children"]
    assert sorted(ch["id"] for ch in children) == sorted(expected), \
        (kind, [(ch.get("kind"), ch.get("id")) for ch in children])
    for ch in children:
        name, teams = expected[ch["id"]]
        assert ch["kind"] == kind and ch["name"] == name, ch
        assert dash.href_path(ch["href"]) == f"/dashboard/{kind}s/{ch['id']}", ch
        dash.assert_same(ch["figures"],
                         dash.timeless(dash.figures(teams, frm, to, at)),
                         f"child {kind} {name}")


def check_coordinators(dash, body, team, at):
    """A team page's children: its care coordinators with their "now"
    figures."""
    want = dash.coordinators(team, at)
    children = body["children"]
    assert sorted(ch["id"] for ch in children) == sorted(want), \
        [(ch.get("kind"), ch.get("id")) for ch in children]
    for ch in children:
        w = want[ch["id"]]
        assert ch["kind"] == "coordinator" and ch["name"] == w["name"], ch
        missing = [k for k in ("caseload", "review_overdue", "risk_in_date",
                               "plan_current", "with_carer") if k not in ch]
        assert not missing, (ch, missing)
        shown = {k: ch[k] for k in w if k in ch and k != "name"}
        dash.assert_same(shown, {k: w[k] for k in shown},
                         f"coordinator {w['name']} of team {team}")


def check_page(dash, c, path, kind, scope_id, teams, period, at):
    """Scope page path (as c) for period: its scope, period, as_of,
    figures and trend; returns the body."""
    frm, to = period or dash.default_period()
    body = dash.page(c, path, *(period or ()))
    assert body["from"] == frm.isoformat() and body["to"] == to.isoformat(), \
        (path, body["from"], body["to"])
    assert parse_ts(body["as_of"]) == at, (path, body["as_of"], at)
    scope = body["scope"]
    assert scope["kind"] == kind, (path, scope)
    if scope_id is not None:
        assert scope["id"] == scope_id, (path, scope)
    dash.assert_same(body["figures"], dash.figures(teams, frm, to, at),
                     f"{path} {frm}..{to}")
    dash.assert_same(body["trend"], dash.trend(teams, frm, to, at),
                     f"{path} trend {frm}..{to}")
    return body


def test_every_scope_of_a_trust_admin(dash, admin_north, periods):
    at = dash.refresh()
    north = dash.site_id("north")
    mine = set(dash.visible(admin_north.user["id"]))
    teams = dash.team_rows(site=north)
    assert {t["id"] for t in teams} == mine, (teams, mine)
    districts = {}
    for t in teams:
        districts.setdefault(t["district_id"], []).append(t)
    for period in periods:
        frm, to = period or dash.default_period()
        body = check_page(dash, admin_north, "/dashboard", "trust", None,
                          sorted(mine), period, at)
        # One site: its districts are the children.
        check_children(dash, body, "district",
                       {d: (ts[0]["district_name"], [t["id"] for t in ts])
                        for d, ts in districts.items()}, frm, to, at)

        body = check_page(dash, admin_north, f"/dashboard/sites/{north}", "site",
                          north, sorted(mine), period, at)
        assert body["scope"]["name"] == teams[0]["site_name"], body["scope"]
        check_children(dash, body, "district",
                       {d: (ts[0]["district_name"], [t["id"] for t in ts])
                        for d, ts in districts.items()}, frm, to, at)

        for d, ts in districts.items():
            body = check_page(dash, admin_north, f"/dashboard/districts/{d}",
                              "district", d, [t["id"] for t in ts], period, at)
            scope = body["scope"]
            assert scope["name"] == ts[0]["district_name"], scope
            assert scope["site"] == {"id": north, "name": ts[0]["site_name"]}, \
                scope
            assert scope["integrated"] is ts[0]["integrated"], scope
            assert scope["inclusive"] is ts[0]["inclusive"], scope
            check_children(dash, body, "team",
                           {t["id"]: (t["name"], [t["id"]]) for t in ts},
                           frm, to, at)

        for t in teams:
            body = check_page(dash, admin_north, f"/dashboard/teams/{t['id']}",
                              "team", t["id"], [t["id"]], period, at)
            assert body["scope"]["name"] == t["name"], body["scope"]
            assert body["scope"]["site"] == {"id": north,
                                             "name": t["site_name"]}, body["scope"]
            check_coordinators(dash, body, t["id"], at)


def test_compare_districts_and_kinds(dash, admin_north):
    """/dashboard/compare: each district's figures side by side with its
    kind, and the figures of integrated against separate districts and of
    inclusive against targeted ones.  (The contract leaves the JSON's
    shape open; the worker's is {districts: [{id, name, site, integrated,
    inclusive, figures}], by_integrated: [{integrated, figures}],
    by_inclusive: [{inclusive, figures}]}.)"""
    at = dash.refresh()
    north = dash.site_id("north")
    teams = dash.team_rows(site=north)
    frm, to = dash.default_period()
    for params in ({}, {"site": north}):
        body = dash.page(admin_north, "/dashboard/compare", **params)
        assert body["from"] == frm.isoformat() and body["to"] == to.isoformat()
        assert parse_ts(body["as_of"]) == at
        districts = {d["id"]: d for d in body["districts"]}
        want = {}
        for t in teams:
            want.setdefault(t["district_id"], []).append(t)
        assert set(districts) == set(want), (sorted(districts), sorted(want))
        for d, ts in want.items():
            got = districts[d]
            assert got["name"] == ts[0]["district_name"], got
            assert got["integrated"] is ts[0]["integrated"], got
            assert got["inclusive"] is ts[0]["inclusive"], got
            dash.assert_same(got["figures"],
                             dash.timeless(dash.figures([t["id"] for t in ts],
                                                        frm, to, at)),
                             f"compare: district {got['name']}")
        for kind in ("integrated", "inclusive"):
            groups = {g[kind]: g for g in body["by_" + kind]}
            want_kind = {}
            for t in teams:
                want_kind.setdefault(t[kind], []).append(t["id"])
            assert set(groups) == set(want_kind), (kind, sorted(groups))
            for g, ids in want_kind.items():
                dash.assert_same(groups[g]["figures"],
                                 dash.timeless(dash.figures(ids, frm, to, at)),
                                 f"compare: {kind} = {g}")
