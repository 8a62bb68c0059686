"""Who may do what in intake: clinical roles record and triage referrals;
trust_admin and auditor are refused clinical work; a manager sees the
caseload of each coordinator of their teams, a coordinator only their own."""

import pytest

from cpa_e2e import (HTML, describe, ids_of, json_of, new_idempotency_key,
                     referral_body)


@pytest.mark.parametrize("username", ("admin.north", "auditor.north"))
def test_non_clinical_roles_are_refused(username, staff, teams, db):
    c = staff(username)
    body = referral_body(teams["north_riverside_cmht"]["id"])
    r = c.post("/api/v1/referrals", json=body,
               headers={"Idempotency-Key": new_idempotency_key()})
    assert r.status_code == 403, describe(r)
    assert isinstance(json_of(r)["error"], str)
    assert db.scalar("SELECT count(*) FROM referral WHERE reason = %s",
                     (body["reason"],)) == 0
    assert db.scalar("SELECT count(*) FROM service_user WHERE family_name = %s",
                     (body["family_name"],)) == 0
    for path in ("/api/v1/caseload", "/api/v1/referrals", "/api/v1/transfers"):
        r = c.get(path)
        assert r.status_code == 403, describe(r)
        assert set(json_of(r)) == {"error"}, describe(r)
    r = c.post("/api/v1/service-users/search",
               json={"family_name": body["family_name"]})
    assert r.status_code == 403, describe(r)
    for path in ("/caseload", "/referrals", "/referrals/new"):
        assert c.get(path, headers=HTML).status_code == 403, path


@pytest.mark.parametrize("username", ("coord.north", "prac.north", "tm.north",
                                      "dm.north"))
def test_clinical_roles_may_refer(username, staff, teams, refer):
    made = refer(staff(username), teams["north_riverside_cmht"]["id"])
    assert made["referral"]["status"] == "awaiting_triage"


def test_signed_out_is_401(client, intake_up):
    c = client()
    r = c.get("/api/v1/caseload")
    assert r.status_code == 401, describe(r)
    assert json_of(r) == {"error": "Sign in to continue"}
    r = c.post("/api/v1/referrals", json={})
    assert r.status_code in (401, 403), describe(r)


def caseload(c, coordinator_id=None):
    path = "/api/v1/caseload"
    if coordinator_id is not None:
        path += f"?coordinator_id={coordinator_id}"
    return c.get(path)


def team_entry(body, team_id):
    teams = [t for t in body.get("teams") or [] if t["team_id"] == team_id]
    assert len(teams) == 1, body.get("teams")
    return teams[0]


def test_manager_sees_caseload_sizes(staff, teams, refer, accept, coord2, db):
    tm = staff("tm.north")
    cn = staff("coord.north")
    team = teams["north_riverside_cmht"]
    open_sql = ("SELECT count(*) FROM episode WHERE team_id = %s "
                "AND ended_at IS NULL")
    size_sql = open_sql + " AND coordinator_id = %s"

    r = caseload(tm)
    assert r.status_code == 200, describe(r)
    before = team_entry(json_of(r), team["id"])
    sizes = {co["id"]: co["caseload_size"] for co in before["coordinators"]}
    for co in before["coordinators"]:
        assert {"id", "display_name", "caseload_size"} <= set(co), co
        assert co["caseload_size"] == db.scalar(size_sql, (team["id"], co["id"]))
    # Coordinators with nobody yet may be listed with 0 or left out.
    sizes.setdefault(coord2["id"], 0)
    assert sizes.get(cn.user["id"], 0) == db.scalar(size_sql,
                                                    (team["id"], cn.user["id"]))
    assert before["open_episodes"] == db.scalar(open_sql, (team["id"],))
    assert before["team_name"] == team["name"]
    # A manager's "teams" are theirs only: tm.north manages Riverside CMHT.
    assert {t["team_id"] for t in json_of(r)["teams"]} == {team["id"]}

    for _ in range(2):
        ref = refer(cn, team["id"])["referral"]
        accept(cn, ref["id"], coord2["id"])
    after = team_entry(json_of(caseload(tm)), team["id"])
    sizes_after = {co["id"]: co["caseload_size"] for co in after["coordinators"]}
    assert sizes_after[coord2["id"]] == sizes[coord2["id"]] + 2
    assert sizes_after.get(cn.user["id"], 0) == sizes.get(cn.user["id"], 0)
    assert after["open_episodes"] == before["open_episodes"] + 2

    # The manager opens one coordinator's caseload.
    r = caseload(tm, coord2["id"])
    assert r.status_code == 200, describe(r)
    theirs = json_of(r)["caseload"]
    assert len(theirs) == sizes_after[coord2["id"]]
    mine = db.all("SELECT id FROM episode WHERE coordinator_id = %s AND "
                  "ended_at IS NULL", (coord2["id"],))
    assert sorted(ids_of(theirs, "episode_id")) == sorted(ids_of(mine))

    # dm.north manages the whole Riverside district: both its teams.
    r = caseload(staff("dm.north"))
    assert r.status_code == 200, describe(r)
    assert {t["team_id"] for t in json_of(r)["teams"]} == \
        {teams["north_riverside_cmht"]["id"], teams["north_riverside_eit"]["id"]}


def test_coordinator_sees_only_their_own_caseload(staff, coord2, db):
    cn = staff("coord.north")
    r = caseload(cn)
    assert r.status_code == 200, describe(r)
    body = json_of(r)
    assert not body.get("teams"), "team figures are for managers"
    expected = db.all("SELECT id FROM episode WHERE coordinator_id = %s AND "
                      "ended_at IS NULL", (cn.user["id"],))
    assert sorted(ids_of(body["caseload"], "episode_id")) == \
        sorted(ids_of(expected))
    theirs = {e["id"] for e in db.all(
        "SELECT id FROM episode WHERE coordinator_id = %s AND ended_at IS NULL",
        (coord2["id"],))}
    r = caseload(cn, coord2["id"])
    if r.status_code == 200:
        assert not theirs & set(ids_of(json_of(r)["caseload"], "episode_id"))
    else:
        assert r.status_code == 403, describe(r)


def test_only_the_referred_teams_staff_may_triage(make_team_staff, signin, staff,
                                                  teams, refer, db, audit):
    """A coordinator of another team at the same site sees the referral's
    site but may not decide it: 403, audited, and the referral still waits."""
    other = make_team_staff("moorland", "coordinator", teams["north_moorland_cmht"])
    c = signin(other["username"], other["password"])
    made = refer(staff("coord.north"), teams["north_riverside_cmht"]["id"])
    rid = made["referral"]["id"]
    mark = audit.mark()
    r = c.post(f"/api/v1/referrals/{rid}/decision",
               json={"decision": "decline", "reason": "Not for us"})
    assert r.status_code == 403, describe(r)
    assert db.scalar("SELECT status FROM referral WHERE id = %s", (rid,)) == \
        "awaiting_triage"
    rows = audit.since(mark, action="access_denied", entity_type="referral",
                       entity_id=str(rid))
    assert [row["username"] for row in rows] == [other["username"]], rows
    # The referral's own team may.
    r = staff("tm.north").post(f"/api/v1/referrals/{rid}/decision",
                               json={"decision": "decline", "reason": "Not for us"})
    assert r.status_code == 200, describe(r)
