"""Dashboard exports (cpa-dashboard, ?format=csv): for a district and a team
page, the CSV of the page URL and of its API URL is a download
(text/csv; charset=utf-8, attachment named dashboard-<kind>-<id>-<from>-
<to>.csv) with the header scope,group_kind,group_id,group_name,figure,value
and exactly the rows of the same page's JSON flattened: every figure leaf
of the scope and of each child (arrays' entries named by their key,
spaces as underscores), every month of the trend; values as the JSON
writes them, null as empty.  Names that a spreadsheet would run as a
formula get a leading quote, and fields with commas or quotes are quoted
per RFC 4180.  The HTML page shows the same key numbers."""

import re

import pytest

from cpa_e2e import HTML, describe, html_text, is_html

pytestmark = pytest.mark.usefixtures("dashboard_up", "dash_quiet")

IDENTITY = ("kind", "id", "name", "href")
TREND_PERIOD = ("from", "to")


@pytest.fixture(scope="module")
def who(as_demo):
    clients = {}

    def get(username):
        if username not in clients:
            clients[username] = as_demo(username)
        return clients[username]
    yield get
    for c in clients.values():
        c.delete("/api/v1/session")


@pytest.fixture
def odd_names(db, dash):
    """A district of north named like a formula, with teams whose names
    start with @, + and - and hold commas and quotes (made by SQL, as an
    administrator's loader would); removed again at the end."""
    north = dash.site_id("north")
    district = db.scalar(
        "INSERT INTO district (site_id, name, integrated, inclusive) "
        "VALUES (%s, %s, false, true) RETURNING id",
        (north, '=SUM(1,2) "Coastal"'))
    teams = [db.scalar("INSERT INTO team (site_id, district_id, name) "
                       "VALUES (%s, %s, %s) RETURNING id",
                       (north, district, name))
             for name in ('@Crisis, "Home" Team', "+Assertive Outreach",
                          "-Memory Service")]
    dash.refresh()
    yield district, teams
    db.all("DELETE FROM team WHERE id = ANY (%s) RETURNING id", (teams,))
    db.all("DELETE FROM district WHERE id = %s RETURNING id", (district,))


def safe(text):
    """A text field as the CSV writes it: a leading ' before = + - @."""
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def expected_rows(dash, body):
    """[(group_kind, group_id, group_name, figure, value)] of a page's JSON
    (parsed with dash.json_text), and the months' period rows that may be
    there too."""
    scope = body["scope"]
    rows = [(scope["kind"], str(scope["id"]), safe(scope["name"]), fig,
             dash.csv_value(v)) for fig, v in dash.leaves(body["figures"])]
    for ch in body["children"]:
        if "figures" in ch:
            leaves = dash.leaves(ch["figures"])
        else:
            leaves = dash.leaves({k: v for k, v in ch.items()
                                  if k not in IDENTITY})
        rows += [(ch["kind"], str(ch["id"]), safe(ch["name"]), fig,
                  dash.csv_value(v)) for fig, v in leaves]
    optional = []
    for m in body["trend"]:
        for k, v in m.items():
            if k == "month":
                continue
            row = ("month", m["month"], k, dash.csv_value(v))
            (optional if k in TREND_PERIOD else rows).append(row)
    return rows, optional


def check_csv(dash, c, path, body):
    """The CSV of page path (both URLs) against its JSON body."""
    scope = body["scope"]
    name = (f'dashboard-{scope["kind"]}-{scope["id"]}-{body["from"]}-'
            f'{body["to"]}.csv')
    answers = []
    for url in ("/api/v1" + path, path):
        r = c.get(url, params={"format": "csv", "from": body["from"],
                               "to": body["to"]})
        assert r.status_code == 200, describe(r)
        assert r.headers["Content-Type"].replace(" ", "").lower() == \
            "text/csv;charset=utf-8", r.headers
        disposition = r.headers.get("Content-Disposition", "")
        assert re.fullmatch(r'attachment;\s*filename="' + re.escape(name) + '"',
                            disposition), (disposition, name)
        answers.append(dash.csv_rows(r))
    assert answers[0] == answers[1], "page and API CSV differ"
    rows = answers[0]
    assert rows[0] == dash.CSV_HEADER, rows[0]
    assert all(len(r) == 6 for r in rows), [r for r in rows if len(r) != 6]
    scopes = {r[0] for r in rows[1:]}
    assert len(scopes) == 1 and "" not in scopes, scopes
    want, optional = expected_rows(dash, body)
    got = [tuple(r[1:]) for r in rows[1:]]
    months = [(g[0], g[2], g[3], g[4]) for g in got if g[0] == "month"]
    others = sorted(g for g in got if g[0] != "month")
    assert others == sorted(w for w in want if w[0] != "month"), \
        diff(others, sorted(w for w in want if w[0] != "month"))
    want_months = [w for w in want if w[0] == "month"]
    assert sorted(set(months) - set(optional)) == sorted(want_months), \
        diff(sorted(set(months) - set(optional)), sorted(want_months))
    assert len(months) == len(set(months)), "repeated month rows"
    return rows


def diff(got, want):
    g, w = set(got), set(want)
    return {"missing": sorted(w - g)[:15], "extra": sorted(g - w)[:15],
            "counts": (len(got), len(want))}


def page_json(dash, c, path, **params):
    r = c.get("/api/v1" + path, params=params)
    assert r.status_code == 200, describe(r)
    return dash.json_text(r)


def visible_text(resp):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", html_text(resp)))


def shows_number(text, n):
    n = str(n)
    forms = {n}
    if n.isdigit() and len(n) > 3:
        forms.add(f"{int(n):,}")
    return any(re.search(r"(?<![\d.,])" + re.escape(f) + r"(?![\d]|[.,]\d)", text)
               for f in forms)


def shows_percent(text, share):
    p = float(share) * 100
    forms = {f"{p:.1f}", f"{p:.0f}", f"{round(p)}"}
    return any(re.search(r"(?<![\d.])" + re.escape(f) + r"\s?%", text)
               for f in forms)


@pytest.mark.parametrize("username,kind", [("dm.north", "district"),
                                           ("tm.north", "team")])
def test_csv_is_the_pages_json(dash, who, teams, username, kind):
    team = teams["north_riverside_cmht"]
    c = who(username)
    dash.refresh()
    path = (f"/dashboard/districts/{team['district_id']}" if kind == "district"
            else f"/dashboard/teams/{team['id']}")
    body = page_json(dash, c, path)
    rows = check_csv(dash, c, path, body)
    # Every child and every month is there.
    assert {r[2] for r in rows[1:] if r[1] != "month"} >= \
        {str(ch["id"]) for ch in body["children"]}
    assert {r[3] for r in rows[1:] if r[1] == "month"} == \
        {m["month"] for m in body["trend"]}
    assert len(body["trend"]) >= 12 and body["children"]


def test_short_period_csv(dash, who, teams):
    team = teams["north_riverside_cmht"]
    c = who("dm.north")
    dash.refresh()
    to = dash.today()
    frm = to.replace(day=1)
    path = f"/dashboard/districts/{team['district_id']}"
    body = page_json(dash, c, path, **{"from": frm.isoformat(),
                                       "to": to.isoformat()})
    assert body["from"] == frm.isoformat() and body["to"] == to.isoformat()
    check_csv(dash, c, path, body)


def test_names_are_quoted_and_defused(dash, who, odd_names):
    district, teams = odd_names
    c = who("admin.north")
    path = f"/dashboard/districts/{district}"
    body = page_json(dash, c, path)
    rows = check_csv(dash, c, path, body)
    names = {r[3] for r in rows[1:]}
    assert {"'=SUM(1,2) \"Coastal\"", "'@Crisis, \"Home\" Team",
            "'+Assertive Outreach", "'-Memory Service"} <= names, names
    assert not [f for row in rows for f in row if f[:1] in ("=", "+", "-", "@")]
    r = c.get("/api/v1" + path, params={"format": "csv"})
    assert '"\'@Crisis, ""Home"" Team"' in r.content.decode("utf-8"), \
        r.text[:600]


@pytest.mark.parametrize("username,kind", [("dm.north", "district"),
                                           ("tm.north", "team")])
def test_html_page_shows_the_key_numbers(dash, who, teams, username, kind):
    team = teams["north_riverside_cmht"]
    c = who(username)
    dash.refresh()
    path = (f"/dashboard/districts/{team['district_id']}" if kind == "district"
            else f"/dashboard/teams/{team['id']}")
    body = dash.page(c, path)
    r = c.get(path, headers=HTML)
    assert r.status_code == 200 and is_html(r), describe(r)
    text = visible_text(r)
    f = body["figures"]
    for name, n in (("caseload.total", f["caseload"]["total"]),
                    ("reviews.overdue", f["reviews"]["overdue"]),
                    ("referrals.received", f["referrals"]["received"]),
                    ("referrals.awaiting_triage", f["referrals"]["awaiting_triage"])):
        assert shows_number(text, n), (name, n)
    shares = {"reviews.on_time_share": f["reviews"]["on_time_share"],
              "risk.in_date_share": f["risk"]["in_date_share"],
              "care_plans.current_share": f["care_plans"]["current_share"],
              "carers.with_carer_share": f["carers"]["with_carer_share"]}
    for name, share in shares.items():
        if share is not None:
            assert shows_percent(text, share), (name, share)
    for ch in body["children"]:
        assert ch["name"] in text, ch["name"]
    assert r.text.count("<svg") >= 1 and "<title" in r.text, "no chart"
    assert "<table" in r.text, "no table"
