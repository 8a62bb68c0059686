"""Transfers and the audit trail: the transfers list (people's names, NHS
numbers and dates of birth) is audited as a read; a decision is audited at
the receiving site and, across sites, at the sending site with the person
recorded there, which the receiving side cannot see.  intake_accept_transfer()
refuses on its own (NULL, nothing changed) what the handler checks first."""

import psycopg2
import pytest

from cpa_e2e import HTML, describe, json_of, unique_reason


def open_episode(c, teams, refer, accept):
    """A new north person with an open episode in Riverside CMHT."""
    made = refer(c, teams["north_riverside_cmht"]["id"])
    episode = accept(c, made["referral"]["id"], c.user["id"])
    return made["service_user"], episode


def request_transfer(c, episode_id, team):
    r = c.post(f"/api/v1/episodes/{episode_id}/transfer",
               json={"to_team_id": team["id"],
                     "reason": unique_reason("Moving")})
    assert r.status_code == 201, describe(r)
    return json_of(r)["transfer"]


def decide(c, transfer_id, **body):
    body.setdefault("reason", unique_reason("Decided"))
    return c.post(f"/api/v1/transfers/{transfer_id}/decision", json=body)


@pytest.fixture
def pending(staff, teams, refer, accept):
    """A north person whose episode waits for south's Harbour CMHT."""
    cn = staff("coord.north")
    person, episode = open_episode(cn, teams, refer, accept)
    transfer = request_transfer(cn, episode["id"], teams["south_harbour_cmht"])
    return {"person": person, "episode": episode, "transfer": transfer}


@pytest.mark.parametrize("username", ("coord.north", "coord.south"))
def test_the_transfers_list_is_audited(username, staff, pending, audit):
    c = staff(username)
    mark = audit.mark()
    r = c.get("/api/v1/transfers")
    assert r.status_code == 200, describe(r)
    body = json_of(r)
    rows = audit.since(mark, username=username, action="read",
                       entity_type="episode_transfer")
    assert len(rows) == 1, rows
    assert rows[0]["detail"] == \
        f"{len(body['incoming'])} incoming, {len(body['outgoing'])} outgoing"
    assert rows[0]["staff_id"] == c.user["id"]

    mark = audit.mark()
    r = c.get("/transfers", headers=HTML)
    assert r.status_code == 200, describe(r)
    assert len(audit.since(mark, username=username, action="read",
                           entity_type="episode_transfer")) == 1


def test_the_transfers_page_shown_again_is_audited(staff, pending, audit):
    cs = staff("coord.south")
    mark = audit.mark()
    r = cs.post(f"/transfers/{pending['transfer']['id']}/decision",
                data={"decision": "decline", "csrf_token": cs.csrf},
                headers=HTML)
    assert r.status_code == 422, describe(r)
    assert pending["person"]["family_name"] in r.text
    rows = audit.since(mark, username="coord.south", action="read",
                       entity_type="episode_transfer")
    assert len(rows) == 1, rows


def test_accept_across_sites_is_audited_at_both_sites(staff, pending, teams,
                                                      audit):
    cs = staff("coord.south")
    north, south = (teams["north_riverside_cmht"]["site_id"],
                    teams["south_harbour_cmht"]["site_id"])
    mark = audit.mark()
    r = decide(cs, pending["transfer"]["id"], decision="accept",
               level="complex", coordinator_id=cs.user["id"])
    assert r.status_code == 200, describe(r)
    new_episode = json_of(r)["episode"]
    rows = audit.since(mark, username="coord.south", action="transfer_accepted")
    by_entity = {row["entity_type"]: row for row in rows}
    assert len(rows) == 2 and set(by_entity) == {"episode_transfer", "episode"}, rows
    here = by_entity["episode_transfer"]
    assert (here["site_id"], here["service_user_id"]) == \
        (south, new_episode["service_user"]["id"])
    assert here["entity_id"] == str(pending["transfer"]["id"])
    there = by_entity["episode"]
    assert (there["site_id"], there["service_user_id"]) == \
        (north, pending["person"]["id"])
    assert there["entity_id"] == str(pending["episode"]["id"])


def test_decline_across_sites_is_audited_at_both_sites(staff, pending, teams,
                                                       audit):
    cs = staff("coord.south")
    north, south = (teams["north_riverside_cmht"]["site_id"],
                    teams["south_harbour_cmht"]["site_id"])
    mark = audit.mark()
    r = decide(cs, pending["transfer"]["id"], decision="decline")
    assert r.status_code == 200, describe(r)
    rows = audit.since(mark, username="coord.south", action="transfer_declined")
    by_entity = {row["entity_type"]: row for row in rows}
    assert len(rows) == 2 and set(by_entity) == {"episode_transfer", "episode"}, rows
    # South has no record of the person: the row there names nobody.
    here = by_entity["episode_transfer"]
    assert (here["site_id"], here["service_user_id"]) == (south, None)
    there = by_entity["episode"]
    assert (there["site_id"], there["service_user_id"]) == \
        (north, pending["person"]["id"])
    assert there["entity_id"] == str(pending["episode"]["id"])


def test_decline_within_a_site_names_the_person(staff, teams, refer, accept,
                                                audit):
    cn = staff("coord.north")
    person, episode = open_episode(cn, teams, refer, accept)
    transfer = request_transfer(cn, episode["id"], teams["north_moorland_cmht"])
    # prac.north's role covers every north team, Moorland's included.
    pn = staff("prac.north")
    mark = audit.mark()
    r = decide(pn, transfer["id"], decision="decline")
    assert r.status_code == 200, describe(r)
    rows = audit.since(mark, username="prac.north", action="transfer_declined")
    assert len(rows) == 1, rows
    assert (rows[0]["entity_type"], rows[0]["site_id"],
            rows[0]["service_user_id"]) == \
        ("episode_transfer", teams["north_riverside_cmht"]["site_id"],
         person["id"])


# ------------------------------------------------- the function on its own

@pytest.fixture
def app_db(env):
    """A connection as cpa_app; its one transaction is rolled back."""
    conn = psycopg2.connect(env.pg_app_dsn, connect_timeout=10)
    yield conn
    conn.rollback()
    conn.close()


def accept_as(cur, user_id, site_ids, transfer_id, level, coordinator_id):
    """intake_accept_transfer() as user_id at site_ids, inside a savepoint
    undone afterwards; returns its row."""
    cur.execute("SAVEPOINT attempt")
    try:
        cur.execute("SELECT set_config('app.user_id', %s, true),"
                    " set_config('app.site_ids', %s, true)",
                    (str(user_id), ",".join(str(s) for s in site_ids)))
        cur.execute("SELECT * FROM intake_accept_transfer(%s, %s, %s, %s)",
                    (transfer_id, level, coordinator_id, "e2e"))
        return cur.fetchone()
    finally:
        cur.execute("ROLLBACK TO SAVEPOINT attempt")


def test_the_function_checks_for_itself(staff, pending, sites, app_db, db):
    cs = staff("coord.south")
    north, south = sites["north"]["id"], sites["south"]["id"]
    admin_south = db.scalar("SELECT id FROM staff WHERE username = 'admin.south'")
    x = pending["transfer"]["id"]
    nothing = (None, None, None)
    with app_db.cursor() as cur:
        # No clinical role covering the receiving team.
        assert accept_as(cur, admin_south, [south], x, "complex",
                         cs.user["id"]) == nothing
        # A level the receiving site does not use.
        assert accept_as(cur, cs.user["id"], [south], x, "standard",
                         cs.user["id"]) == nothing
        # A coordinator who is not one of the receiving team's.
        assert accept_as(cur, cs.user["id"], [south], x, "complex",
                         staff("coord.north").user["id"]) == nothing
        # The episode closed meanwhile.
        cur.execute("SAVEPOINT closing")
        cur.execute("SELECT set_config('app.site_ids', %s, true)",
                    (f"{north},{south}",))
        cur.execute("UPDATE episode SET ended_at = now(), end_reason = 'other'"
                    " WHERE id = %s", (pending["episode"]["id"],))
        assert cur.rowcount == 1
        assert accept_as(cur, cs.user["id"], [north, south], x, "complex",
                         cs.user["id"]) == nothing
        cur.execute("ROLLBACK TO SAVEPOINT closing")
        # Everything right: the new episode, and the sending side's person
        # and site for its audit row.
        new_episode, old_person, old_site = accept_as(
            cur, cs.user["id"], [south], x, "complex", cs.user["id"])
        assert new_episode is not None
        assert (old_person, old_site) == (pending["person"]["id"], north)
    assert db.one("SELECT status, new_episode_id FROM episode_transfer"
                  " WHERE id = %s", (x,)) == {"status": "pending",
                                             "new_episode_id": None}
    assert db.scalar("SELECT ended_at FROM episode WHERE id = %s",
                     (pending["episode"]["id"],)) is None
