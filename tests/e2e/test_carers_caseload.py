"""The carers of a caseload (cpa-carers, caseload.c: GET /carers and
/api/v1/carers): for a coordinator's own people (scope mine) or a team
manager's teams (scope team), who has no carer, whose carers have no
consent decision, whose consent is due for review, whose carers were never
offered an assessment, young carers and overdue assessments, with counts;
the show filters; team scope refused without a manager role; the list
read audited once; the page links to each person's carers page."""

import pytest

from cpa_e2e import HTML, describe, get_json, html_text, is_html, json_of

pytestmark = pytest.mark.usefixtures("carers_up")

PEOPLE_KEYS = {"service_user", "episode_id", "team_name", "coordinator",
               "carers", "young_carers", "no_carer", "consent_missing",
               "consent_review_due", "never_offered", "assessments_overdue"}
COUNT_KEYS = {"people", "no_carer", "consent_missing", "consent_review_due",
              "never_offered"}


@pytest.fixture
def caseload(case, kit, team_member):
    """A new coordinator with three people: "none" with no carer, "bare"
    with one carer and nothing recorded about them, "done" with a young
    carer whose consent is due for review and whose assessment offer is
    overdue, and an ended carer (who counts for nothing)."""
    coord = team_member()
    made = {k: case(coordinator=coord) for k in ("none", "bare", "done")}
    bare = kit.added(coord, made["bare"]["person"]["id"])
    done = kit.added(coord, made["done"]["person"]["id"], young_carer=True,
                     started_on=kit.day(-60))
    kit.consented(coord, done["id"], "full", given_on=kit.day(-400))
    kit.offered(coord, done["id"], offered_on=kit.day(-40))
    gone = kit.added(coord, made["done"]["person"]["id"])
    kit.ended(coord, gone)
    return {"coord": coord, "made": made, "bare": bare, "done": done}


def entries(body):
    return {p["service_user"]["id"]: p for p in body["people"]}


def test_mine_shows_what_is_missing(caseload, kit, db, audit):
    coord, made = caseload["coord"], caseload["made"]
    ids = {k: m["person"]["id"] for k, m in made.items()}
    mark = audit.mark()
    body = get_json(coord, "/api/v1/carers")
    assert body["scope"] == "mine" and body["show"] == "all", body
    rows = audit.since(mark, username=coord.user["username"])
    assert [(x["action"], x["entity_type"]) for x in rows] == \
        [("read", "carer_list")], rows
    people = entries(body)
    assert set(people) == set(ids.values()), people
    for p in people.values():
        assert set(p) == PEOPLE_KEYS, set(p) ^ PEOPLE_KEYS
        assert p["coordinator"]["id"] == coord.staff_id
        assert p["team_name"] == "Riverside Community Mental Health Team"
    names = [p["service_user"]["family_name"].lower() for p in body["people"]]
    assert names == sorted(names)

    none, bare, done = (people[ids[k]] for k in ("none", "bare", "done"))
    assert none["episode_id"] == made["none"]["episode"]["id"]
    assert (none["no_carer"], none["carers"], none["young_carers"]) == \
        (True, 0, 0)
    assert none["consent_missing"] == [] and none["never_offered"] == []

    b = caseload["bare"]
    assert (bare["no_carer"], bare["carers"], bare["young_carers"]) == \
        (False, 1, 0)
    assert [x["carer_link_id"] for x in bare["consent_missing"]] == [b["id"]]
    assert b["carer"]["family_name"] in bare["consent_missing"][0]["carer_name"]
    assert [x["carer_link_id"] for x in bare["never_offered"]] == [b["id"]]
    assert bare["consent_review_due"] == [] and bare["assessments_overdue"] == 0

    d = caseload["done"]
    assert (done["no_carer"], done["carers"], done["young_carers"]) == \
        (False, 1, 1)
    assert done["consent_missing"] == [] and done["never_offered"] == []
    assert [(x["carer_link_id"], x["review_on"])
            for x in done["consent_review_due"]] == \
        [(d["id"], d["consent"]["review_on"] if d["consent"] else
          kit.link(coord, ids["done"], d["id"])["consent"]["review_on"])]
    assert done["assessments_overdue"] == 1

    assert body["counts"] == {"people": 3, "no_carer": 1,
                              "consent_missing": 1, "consent_review_due": 1,
                              "never_offered": 1}, body["counts"]


@pytest.mark.parametrize("show,who", [("no_carer", "none"),
                                      ("consent_due", "done"),
                                      ("never_offered", "bare"),
                                      ("all", None)])
def test_show_filters(caseload, show, who):
    coord, made = caseload["coord"], caseload["made"]
    body = get_json(coord, "/api/v1/carers", params={"show": show})
    assert body["show"] == show
    got = {p["service_user"]["id"] for p in body["people"]}
    if who is None:
        assert got == {m["person"]["id"] for m in made.values()}
    else:
        assert got == {made[who]["person"]["id"]}, body["people"]


def test_bad_scope_or_show_is_422(caseload):
    coord = caseload["coord"]
    for params, field in (({"show": "everyone"}, "show"),
                          ({"scope": "world"}, "scope")):
        r = coord.get("/api/v1/carers", params=params)
        assert r.status_code == 422, describe(r)
        assert field in json_of(r)["errors"]


def test_team_scope_needs_a_manager(caseload, team_member, audit):
    coord, made = caseload["coord"], caseload["made"]
    r = coord.get("/api/v1/carers", params={"scope": "team"})
    assert r.status_code == 403, describe(r)
    tm = team_member("team_manager")
    body = get_json(tm, "/api/v1/carers")
    assert body["scope"] == "team"
    got = entries(body)
    for m in made.values():
        assert m["person"]["id"] in got
    # Only Riverside's people.
    assert {p["team_name"] for p in body["people"]} == \
        {"Riverside Community Mental Health Team"}
    body = get_json(tm, "/api/v1/carers", params={"scope": "mine"})
    assert body["people"] == [] and body["counts"]["people"] == 0
    # Another team's manager sees none of them.
    other = team_member("team_manager", team="north_moorland_cmht")
    got = entries(get_json(other, "/api/v1/carers", params={"scope": "team"}))
    assert not ({m["person"]["id"] for m in made.values()} & set(got))


def test_page_table_and_filters(caseload):
    coord, made = caseload["coord"], caseload["made"]
    r = coord.get("/carers", headers=HTML)
    assert r.status_code == 200 and is_html(r), describe(r)
    for m in made.values():
        assert f'href="/service-users/{m["person"]["id"]}/carers"' in r.text
    for show in ("no_carer", "consent_due", "never_offered"):
        assert f"show={show}" in r.text, show
    r = coord.get("/carers?show=no_carer", headers=HTML)
    assert r.status_code == 200, describe(r)
    text = html_text(r)
    assert made["none"]["person"]["family_name"] in text
    assert made["bare"]["person"]["family_name"] not in text
    r = coord.get("/carers.json")
    assert r.status_code == 200 and json_of(r)["scope"] == "mine"
