"""The triage queue: referrals awaiting triage in the caller's teams only,
soonest deadline first, with breached and near-breach ones flagged (in JSON
and as tags on the page)."""

import html
import re

import pytest

from cpa_e2e import (HTML, Db, describe, get_json, html_text, ids_of, json_of,
                     new_dob, parse_ts, unique_family_name, unique_reason)


def queue(c, query=""):
    return get_json(c, "/api/v1/referrals" + query)["referrals"]


def insert_referral(db, team, created_by, urgency, received, deadline):
    """A referral (and its new person) written straight into the database
    with received_at = now() - received and deadline_at = now() + deadline
    (SQL intervals), as if it had waited that long."""
    family = unique_family_name("Waite")
    su = db.scalar(
        "INSERT INTO service_user (site_id, given_name, family_name, "
        "date_of_birth) VALUES (%s, 'Imogen', %s, %s) RETURNING id",
        (team["site_id"], family, new_dob()))
    ref = db.scalar(
        "INSERT INTO referral (site_id, service_user_id, team_id, source, "
        "urgency, received_at, deadline_at, reason, created_by) VALUES "
        "(%s, %s, %s, 'gp', %s, now() - %s::interval, now() + %s::interval, "
        "%s, %s) RETURNING id",
        (team["site_id"], su, team["id"], urgency, received, deadline,
         unique_reason(), created_by))
    return {"id": ref, "service_user_id": su, "family_name": family}


@pytest.fixture(scope="module")
def db_module(env):
    d = Db(env.pg_super_dsn)
    yield d
    d.close()


@pytest.fixture(scope="module")
def waiting(staff, teams, refer, db_module):
    """Six referrals awaiting triage at north's Riverside community team,
    by expected queue position: breached, near breach, emergency (fresh),
    urgent with time to spare, urgent (fresh), routine (fresh)."""
    c = staff("coord.north")
    team = teams["north_riverside_cmht"]
    me = c.user["id"]
    breached = insert_referral(db_module, team, me, "routine", "30 days",
                               "-2 days")
    near = insert_referral(db_module, team, me, "urgent", "21 hours",
                           "3 hours")
    spare = insert_referral(db_module, team, me, "urgent", "10 hours",
                            "14 hours")
    fresh = {}
    for urgency in ("routine", "urgent", "emergency"):
        made = refer(c, team["id"], urgency=urgency)
        fresh[urgency] = {"id": made["referral"]["id"],
                          "service_user_id": made["service_user"]["id"],
                          "family_name": made["service_user"]["family_name"]}
    return [breached, near, fresh["emergency"], spare, fresh["urgent"],
            fresh["routine"]]


def test_soonest_deadline_first(staff, waiting):
    for username in ("coord.north", "tm.north", "dm.north"):
        listed = queue(staff(username))
        keys = [(parse_ts(q["deadline_at"]), q["id"]) for q in listed]
        assert keys == sorted(keys), f"{username}: not in deadline order"
        mine = [i for i in ids_of(listed) if i in ids_of(waiting)]
        assert mine == ids_of(waiting), username
        assert all(q["status"] == "awaiting_triage" for q in listed)


def test_team_filter(staff, teams, waiting):
    c = staff("dm.north")
    cmht = teams["north_riverside_cmht"]["id"]
    listed = queue(c, f"?team_id={cmht}")
    assert {q["team_id"] for q in listed} == {cmht}
    assert [i for i in ids_of(listed) if i in ids_of(waiting)] == ids_of(waiting)
    eit = teams["north_riverside_eit"]["id"]
    assert not set(ids_of(queue(c, f"?team_id={eit}"))) & set(ids_of(waiting))


def test_breach_flags(staff, waiting):
    listed = {q["id"]: q for q in queue(staff("coord.north"))}
    flags = [(listed[w["id"]]["breached"], listed[w["id"]]["near_breach"])
             for w in waiting]
    assert flags == [(True, False), (False, True), (False, False),
                     (False, False), (False, False), (False, False)]
    breached = listed[waiting[0]["id"]]
    assert breached["service_user"]["id"] == waiting[0]["service_user_id"]
    assert breached["service_user"]["family_name"] == waiting[0]["family_name"]


def row_of(page, name):
    """The table row (or list item) of the page that names name."""
    for chunk in re.split(r"<tr[\s>]|<li[\s>]", page)[1:]:
        if name in html_text_of(chunk):
            return chunk
    raise AssertionError(f"no row names {name!r}")


def html_text_of(fragment):
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


def test_breaches_are_tagged_on_the_page(staff, waiting):
    r = staff("coord.north").get("/referrals", headers=HTML)
    assert r.status_code == 200, describe(r)
    text = html_text(r)
    for w in waiting:
        assert w["family_name"] in text, w
    breached = row_of(r.text, waiting[0]["family_name"])
    near = row_of(r.text, waiting[1]["family_name"])
    fresh = row_of(r.text, waiting[5]["family_name"])
    for row in (breached, near):
        assert "nhsuk-tag" in row, row
    assert re.search(r"breach", html_text_of(breached), re.I), breached
    assert re.search(r"near|due soon", html_text_of(near), re.I), near
    assert not re.search(r"breach|near|due soon", html_text_of(fresh), re.I), fresh
    assert text.index(waiting[0]["family_name"]) < \
        text.index(waiting[5]["family_name"]), "soonest deadline first"


def test_only_the_callers_teams(staff, teams, refer):
    cn, dm, tm = staff("coord.north"), staff("dm.north"), staff("tm.north")
    # Riverside EIT: dm.north covers the whole district, coord.north and
    # tm.north only the community team.
    eit = refer(dm, teams["north_riverside_eit"]["id"])["referral"]
    # Moorland: a team of north nobody of these three works in.
    moor = refer(cn, teams["north_moorland_cmht"]["id"])["referral"]
    assert eit["id"] in ids_of(queue(dm))
    for c in (cn, tm):
        assert eit["id"] not in ids_of(queue(c)), c.user["username"]
        assert eit["id"] not in ids_of(queue(c, "?status=all"))
    for c in (cn, tm, dm):
        assert moor["id"] not in ids_of(queue(c)), c.user["username"]
        assert moor["id"] not in ids_of(queue(c, "?status=all"))
        r = c.get(f"/api/v1/referrals?team_id={teams['north_moorland_cmht']['id']}")
        assert r.status_code != 200 or moor["id"] not in ids_of(
            json_of(r)["referrals"]), describe(r)
    south = staff("coord.south")
    assert not set(ids_of(queue(south, "?status=all"))) & {eit["id"], moor["id"]}
