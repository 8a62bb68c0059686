"""Who sees which dashboard (cpa-dashboard): a team manager sees their team
(a district or site of theirs shows only that team), a district manager
their district, a trust admin or auditor the whole site; a district or team
of their site they do not manage is 403 with a plain message, another
site's is 404, both audited; clinical staff without a dashboard role get
403.  Figures never count another site's people.  Drill-down to names
needs a clinical role over the team (team and district managers, not trust
admins or auditors); it lists exactly the team's people behind the figure
and is audited with what was shown, as is every page read.  Bad query
input is 422 naming the field, and reads nothing."""

import datetime

import pytest

from cpa_e2e import (HTML, assert_denied, describe, html_text, is_html,
                     json_of, spaced)

pytestmark = pytest.mark.usefixtures("dashboard_up", "dash_quiet")

NOT_YOURS = "You can see dashboards only for the teams and districts you manage"


@pytest.fixture(scope="module")
def who(as_demo):
    """who(username) -> that demo user's Client, signed in once for the
    module and signed out at its end."""
    clients = {}

    def get(username):
        if username not in clients:
            clients[username] = as_demo(username)
        return clients[username]
    yield get
    for c in clients.values():
        c.delete("/api/v1/session")


@pytest.fixture
def org(dash, teams):
    """Ids of the demo organisation: sites, districts and teams."""
    t = {k: v["id"] for k, v in teams.items()}
    return {"north": dash.site_id("north"), "south": dash.site_id("south"),
            "riverside": teams["north_riverside_cmht"]["district_id"],
            "moorland": teams["north_moorland_cmht"]["district_id"],
            "harbour": teams["south_harbour_cmht"]["district_id"],
            "cmht": t["north_riverside_cmht"], "eit": t["north_riverside_eit"],
            "moor": t["north_moorland_cmht"],
            "harbour_cmht": t["south_harbour_cmht"]}


def assert_figures_of(dash, body, team_ids, at, what):
    frm, to = datetime.date.fromisoformat(body["from"]), \
        datetime.date.fromisoformat(body["to"])
    dash.assert_same(body["figures"], dash.figures(team_ids, frm, to, at), what)


def child_ids(body):
    return sorted((ch["kind"], ch["id"]) for ch in body["children"])


# ------------------------------------------------------------ who sees what

def test_team_manager_sees_their_team_only(dash, who, org, audit):
    tm = who("tm.north")
    at = dash.refresh()
    assert dash.visible(tm.user["id"]) == [org["cmht"]]
    body = dash.page(tm, "/dashboard")
    assert body["scope"]["kind"] == "trust"
    assert_figures_of(dash, body, [org["cmht"]], at, "tm.north's dashboard")
    assert child_ids(body) == [("district", org["riverside"])], body["children"]

    for path, kids in ((f"/dashboard/sites/{org['north']}",
                        [("district", org["riverside"])]),
                       (f"/dashboard/districts/{org['riverside']}",
                        [("team", org["cmht"])])):
        body = dash.page(tm, path)
        assert_figures_of(dash, body, [org["cmht"]], at, f"{path} as tm.north")
        assert child_ids(body) == kids, (path, body["children"])
    body = dash.page(tm, f"/dashboard/teams/{org['cmht']}")
    assert_figures_of(dash, body, [org["cmht"]], at, "tm.north's team")

    for path in (f"/dashboard/teams/{org['eit']}",
                 f"/dashboard/teams/{org['moor']}",
                 f"/dashboard/districts/{org['moorland']}"):
        for api in ("/api/v1", ""):
            r = tm.get(api + path, headers={} if api else HTML)
            assert r.status_code == 403, describe(r)
            if api:
                assert json_of(r)["error"] == NOT_YOURS, describe(r)
            else:
                assert is_html(r) and NOT_YOURS in html_text(r), describe(r)
    assert_denied(audit, tm, 403, [
        ("GET", f"/api/v1/dashboard/teams/{org['moor']}", None, None),
        ("GET", f"/api/v1/dashboard/districts/{org['moorland']}", None, None)])
    assert_denied(audit, tm, 404, [
        ("GET", f"/api/v1/dashboard/teams/{org['harbour_cmht']}", None, None),
        ("GET", f"/api/v1/dashboard/districts/{org['harbour']}", None, None),
        ("GET", f"/api/v1/dashboard/sites/{org['south']}", None, None)])


def test_district_manager_sees_their_district(dash, who, org, audit):
    dm = who("dm.north")
    at = dash.refresh()
    mine = sorted([org["cmht"], org["eit"]])
    assert dash.visible(dm.user["id"]) == mine
    body = dash.page(dm, "/dashboard")
    assert_figures_of(dash, body, mine, at, "dm.north's dashboard")
    assert child_ids(body) == [("district", org["riverside"])], body["children"]
    body = dash.page(dm, f"/dashboard/districts/{org['riverside']}")
    assert_figures_of(dash, body, mine, at, "Riverside as dm.north")
    assert child_ids(body) == sorted(("team", t) for t in mine)
    body = dash.page(dm, f"/dashboard/sites/{org['north']}")
    assert_figures_of(dash, body, mine, at, "north as dm.north")
    assert child_ids(body) == [("district", org["riverside"])]
    for t in mine:
        dash.page(dm, f"/dashboard/teams/{t}")
    assert_denied(audit, dm, 403, [
        ("GET", f"/api/v1/dashboard/districts/{org['moorland']}", None, None),
        ("GET", f"/api/v1/dashboard/teams/{org['moor']}", None, None),
        ("GET", f"/api/v1/dashboard/teams/{org['moor']}/people?figure=caseload",
         None, None)])
    assert_denied(audit, dm, 404, [
        ("GET", f"/api/v1/dashboard/districts/{org['harbour']}", None, None),
        ("GET", f"/api/v1/dashboard/teams/{org['harbour_cmht']}", None, None),
        ("GET", f"/api/v1/dashboard/sites/{org['south']}", None, None),
        ("GET", f"/api/v1/dashboard/teams/{org['harbour_cmht']}/people"
         "?figure=caseload", None, None)])


@pytest.mark.parametrize("username", ["admin.north", "auditor.north"])
def test_whole_site_never_another_sites_people(dash, who, org, username):
    c = who(username)
    at = dash.refresh()
    north = [t["id"] for t in dash.team_rows(site=org["north"])]
    south = [t["id"] for t in dash.team_rows(site=org["south"])]
    assert dash.visible(c.user["id"]) == sorted(north)
    body = dash.page(c, "/dashboard")
    frm, to = dash.default_period()
    want = dash.figures(north, frm, to, at)
    both = dash.figures(north + south, frm, to, at)
    # The south has people of its own, so counting them would show.
    assert both["caseload"]["total"] > want["caseload"]["total"]
    assert both["referrals"]["received"] > want["referrals"]["received"]
    dash.assert_same(body["figures"], want, f"{username}'s dashboard")
    districts = {t["district_id"] for t in dash.team_rows(site=org["north"])}
    assert child_ids(body) == sorted(("district", d) for d in districts)
    body = dash.page(c, f"/dashboard/sites/{org['north']}")
    dash.assert_same(body["figures"], want, f"north as {username}")
    r = c.get(f"/api/v1/dashboard/sites/{org['south']}")
    assert r.status_code == 404, describe(r)
    r = c.get("/api/v1/dashboard/compare", params={"site": org["south"]})
    assert r.status_code == 404, describe(r)


def test_other_sites_admin_sees_only_theirs(dash, who, org):
    c = who("admin.south")
    at = dash.refresh()
    south = [t["id"] for t in dash.team_rows(site=org["south"])]
    body = dash.page(c, "/dashboard")
    assert_figures_of(dash, body, south, at, "admin.south's dashboard")
    for path in (f"/api/v1/dashboard/sites/{org['north']}",
                 f"/api/v1/dashboard/districts/{org['riverside']}",
                 f"/api/v1/dashboard/teams/{org['cmht']}",
                 f"/api/v1/dashboard/teams/{org['cmht']}/people?figure=caseload"):
        r = c.get(path)
        assert r.status_code == 404, describe(r)


@pytest.mark.parametrize("username", ["coord.north", "prac.north"])
def test_clinical_staff_without_a_dashboard_role(who, org, username, audit):
    c = who(username)
    for path in ("/dashboard", "/dashboard/compare",
                 f"/dashboard/teams/{org['cmht']}",
                 f"/dashboard/districts/{org['riverside']}",
                 f"/dashboard/teams/{org['cmht']}/people?figure=caseload"):
        r = c.get("/api/v1" + path)
        assert r.status_code == 403, describe(r)
        r = c.get(path, headers=HTML)
        assert r.status_code == 403 and is_html(r), describe(r)
    assert_denied(audit, c, 403, [("GET", "/api/v1/dashboard", None, None)])


def test_compare_shows_only_what_the_caller_manages(dash, who, org):
    at = dash.refresh()
    frm, to = dash.default_period()
    for username, teams in (("tm.north", [org["cmht"]]),
                            ("dm.north", [org["cmht"], org["eit"]])):
        body = dash.page(who(username), "/dashboard/compare")
        assert [d["id"] for d in body["districts"]] == [org["riverside"]], \
            (username, body["districts"])
        dash.assert_same(body["districts"][0]["figures"],
                         dash.timeless(dash.figures(teams, frm, to, at)),
                         f"compare as {username}")
        # Riverside is integrated and inclusive: one group each.
        for kind in ("integrated", "inclusive"):
            assert [g[kind] for g in body["by_" + kind]] == [True], \
                (kind, body["by_" + kind])


# -------------------------------------------------------------- drill-down

@pytest.mark.parametrize("username", ["admin.north", "auditor.north"])
def test_names_need_a_clinical_role(dash, who, org, username):
    c = who(username)
    # Who the people are: full names and NHS numbers (a family name alone
    # may be a coordinator's too).
    names = []
    for p in dash.people(org["cmht"], None, "caseload"):
        su = p["service_user"]
        names.append(f"{su['given_name']} {su['family_name']}")
        if su["nhs_number"]:
            names += [su["nhs_number"], spaced(su["nhs_number"])]
    assert names, "Riverside CMHT should have people for this check"
    for path, headers in (
            (f"/api/v1/dashboard/teams/{org['cmht']}/people", {}),
            (f"/dashboard/teams/{org['cmht']}/people", HTML)):
        r = c.get(path, params={"figure": "caseload"}, headers=headers)
        assert r.status_code == 403, describe(r)
        assert not [n for n in names if n in html_text(r)], describe(r)
    body = json_of(c.get(f"/api/v1/dashboard/teams/{org['cmht']}/people",
                         params={"figure": "caseload"}))
    assert isinstance(body.get("error"), str) and body["error"], body
    # The team page shows figures but no way to the names.
    r = c.get(f"/dashboard/teams/{org['cmht']}", headers=HTML)
    assert r.status_code == 200 and is_html(r), describe(r)
    assert "/people?" not in r.text, "links to names for a non-clinical role"
    assert not [n for n in names if n in html_text(r)]


def test_drill_down_lists_the_teams_people_and_is_audited(dash, who, org,
                                                          audit):
    tm = who("tm.north")
    coords = sorted(dash.coordinators(org["cmht"], dash.as_of()))
    assert coords, "Riverside CMHT should have care coordinators"
    for coordinator in (None, coords[0]):
        for figure in dash.FIGURES:
            params = {"figure": figure}
            if coordinator is not None:
                params["coordinator"] = coordinator
            mark = audit.mark()
            r = tm.get(f"/api/v1/dashboard/teams/{org['cmht']}/people",
                       params=params)
            assert r.status_code == 200, describe(r)
            got = dash.people_of(json_of(r))
            want = dash.people(org["cmht"], coordinator, figure)
            dash.assert_same(got, want, f"people {params}")
            rows = audit.since(mark, username="tm.north")
            assert [(x["action"], x["entity_type"]) for x in rows] == \
                [("read", "dashboard_people")], rows
            detail = rows[0]["detail"] or ""
            for part in (str(org["cmht"]), figure, str(len(want))):
                assert part in detail, (part, detail)
            if coordinator is not None:
                assert str(coordinator) in detail, detail
            assert rows[0]["site_id"] == org["north"], rows

    # The page: each person a link to their record.
    want = dash.people(org["cmht"], None, "caseload")
    r = tm.get(f"/dashboard/teams/{org['cmht']}/people",
               params={"figure": "caseload"}, headers=HTML)
    assert r.status_code == 200 and is_html(r), describe(r)
    assert "no-store" in r.headers.get("Cache-Control", ""), r.headers
    for p in want:
        assert f'href="/service-users/{p["service_user"]["id"]}"' in r.text, \
            p["service_user"]
    # Another team of the same district: not tm.north's.
    r = tm.get(f"/api/v1/dashboard/teams/{org['eit']}/people",
               params={"figure": "caseload"})
    assert r.status_code == 403, describe(r)
    # A district manager is clinical over both of the district's teams.
    body = dash.page(who("dm.north"), f"/dashboard/teams/{org['eit']}/people",
                     figure="caseload")
    dash.assert_same(dash.people_of(body),
                     dash.people(org["eit"], None, "caseload"), "EIT as dm.north")


def test_team_page_links_coordinators_to_their_people(dash, who, org):
    tm = who("tm.north")
    dash.refresh()
    coords = sorted(dash.coordinators(org["cmht"], dash.as_of()))
    r = tm.get(f"/dashboard/teams/{org['cmht']}", headers=HTML)
    assert r.status_code == 200 and is_html(r), describe(r)
    for cid in coords:
        assert f"coordinator={cid}" in r.text, cid
    assert "/people?" in r.text


def test_page_reads_are_audited(dash, who, org, audit):
    tm = who("tm.north")
    frm, to = dash.default_period()
    for path, kind in (("/dashboard", "trust"),
                       (f"/dashboard/teams/{org['cmht']}", "team"),
                       (f"/dashboard/districts/{org['riverside']}", "district")):
        mark = audit.mark()
        dash.page(tm, path)
        rows = audit.since(mark, username="tm.north")
        assert [(x["action"], x["entity_type"]) for x in rows] == \
            [("read", "dashboard")], (path, rows)
        detail = rows[0]["detail"] or ""
        assert kind in detail and frm.isoformat() in detail \
            and to.isoformat() in detail, (path, detail)


# --------------------------------------------------------------- bad input

def test_bad_input_is_422_naming_the_field(dash, who, org, audit):
    tm = who("tm.north")
    today = dash.today()
    day = datetime.timedelta(days=1)
    # The longest period allowed: five years to the day.
    five_years = dash.db.scalar(
        "SELECT (%s::date - interval '5 years')::date + 1", (today,))
    page_cases = [
        ({"from": today.isoformat(), "to": (today - day).isoformat()},
         {"from"}, "must be on or before to"),
        ({"to": (today + day).isoformat()}, {"to"}, None),
        ({"from": (five_years - 400 * day).isoformat(), "to": today.isoformat()},
         {"from", "to"}, None),
        ({"from": "2025-02-30"}, {"from"}, None),
        ({"from": "yesterday"}, {"from"}, None),
        ({"to": "2025-13-01"}, {"to"}, None),
        ({"to": "1 Jan 2025"}, {"to"}, None),
    ]
    people = f"/api/v1/dashboard/teams/{org['cmht']}/people"
    people_cases = [
        ({"figure": "everyone"}, {"figure"}, None),
        ({"figure": "caseload", "coordinator": "abc"}, {"coordinator"}, None),
        ({"figure": "caseload", "coordinator": "1.5"}, {"coordinator"}, None),
    ]
    mark = audit.mark()
    for path, cases in ((["/api/v1/dashboard",
                          f"/api/v1/dashboard/teams/{org['cmht']}"], page_cases),
                        ([people], people_cases)):
        for p in path:
            for params, fields, message in cases:
                r = tm.get(p, params=params)
                assert r.status_code == 422, (params, describe(r))
                errors = json_of(r)["errors"]
                named = set(errors) & fields
                assert named, (params, errors)
                if message:
                    assert message in str(errors[named.pop()]), errors
    r = tm.get("/dashboard", params={"from": "2025-02-30"}, headers=HTML)
    assert r.status_code == 422 and is_html(r), describe(r)
    r = tm.get("/dashboard", params={"from": "2025-02-30", "format": "csv"})
    assert r.status_code == 422, describe(r)
    rows = [x for x in audit.since(mark, username="tm.north")
            if x["action"] == "read"]
    assert rows == [], "a refused query was audited as read"
    # Exactly five years is allowed.
    body = dash.page(tm, "/dashboard", frm=five_years, to=today)
    assert body["from"] == five_years.isoformat()
