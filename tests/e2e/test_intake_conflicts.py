"""Conflicts are 409 and change nothing: a second triage decision, a stale
edit of a person or of an episode's level, a second open episode for the
same person in the same team."""

from cpa_e2e import describe, json_of, unique_reason


def decide(c, referral_id, decision, **more):
    body = {"decision": decision, "reason": unique_reason("Triage")}
    body.update(more)
    return c.post(f"/api/v1/referrals/{referral_id}/decision", json=body)


def test_second_decision_409(staff, teams, refer, db):
    c = staff("coord.north")
    ref = refer(c, teams["north_riverside_cmht"]["id"])["referral"]
    r = decide(c, ref["id"], "signpost", signposted_to="Talking therapies")
    assert r.status_code == 200, describe(r)
    assert json_of(r)["referral"]["status"] == "signposted"
    assert json_of(r)["referral"]["signposted_to"] == "Talking therapies"
    assert json_of(r)["episode"] is None
    before = db.one("SELECT status, decided_at, decision_reason, episode_id "
                    "FROM referral WHERE id = %s", (ref["id"],))

    for decision, more in (("decline", {}),
                           ("signpost", {"signposted_to": "Elsewhere"}),
                           ("accept", {"level": "standard",
                                       "coordinator_id": c.user["id"]})):
        r = decide(staff("tm.north"), ref["id"], decision, **more)
        assert r.status_code == 409, describe(r)
        assert isinstance(json_of(r)["error"], str)
    assert db.one("SELECT status, decided_at, decision_reason, episode_id "
                  "FROM referral WHERE id = %s", (ref["id"],)) == before
    assert db.scalar("SELECT count(*) FROM episode WHERE referral_id = %s",
                     (ref["id"],)) == 0


def test_stale_person_edit_409(staff, teams, refer, db):
    c = staff("coord.north")
    su = refer(c, teams["north_riverside_cmht"]["id"])["service_user"]
    version = su["version"]
    first = {"phone": "0113 496 0101", "address": "1 First Street, Leeds",
             "version": version}
    r = c.put(f"/api/v1/service-users/{su['id']}", json=first)
    assert r.status_code == 200, describe(r)
    edited = json_of(r)["service_user"]
    assert (edited["phone"], edited["address"]) == \
        (first["phone"], first["address"])
    assert edited["version"] > version

    # A colleague who loaded the record before that edit.
    second = {"phone": "0113 496 0202", "postcode": "LS2 9JT",
              "version": version}
    r = staff("tm.north").put(f"/api/v1/service-users/{su['id']}", json=second)
    assert r.status_code == 409, describe(r)
    body = json_of(r)
    assert isinstance(body["error"], str)
    assert body["current"]["id"] == su["id"]
    assert body["current"]["phone"] == first["phone"]
    assert body["current"]["version"] == edited["version"]
    row = db.one("SELECT phone, address, postcode, version FROM service_user "
                 "WHERE id = %s", (su["id"],))
    assert row == {"phone": first["phone"], "address": first["address"],
                   "postcode": su["postcode"], "version": edited["version"]}

    # Editing on top of what is current works.
    r = staff("tm.north").put(f"/api/v1/service-users/{su['id']}",
                              json=dict(second, version=edited["version"]))
    assert r.status_code == 200, describe(r)
    assert json_of(r)["service_user"]["phone"] == second["phone"]


def test_stale_episode_level_409(staff, teams, refer, accept, coord2, db):
    c = staff("coord.north")
    ref = refer(c, teams["north_riverside_cmht"]["id"])["referral"]
    episode = accept(c, ref["id"], c.user["id"], "standard")
    version = episode["version"]
    r = c.post(f"/api/v1/episodes/{episode['id']}/level",
               json={"level": "enhanced", "reason": "More support needed",
                     "version": version})
    assert r.status_code == 200, describe(r)
    r = staff("tm.north").post(f"/api/v1/episodes/{episode['id']}/level",
                               json={"level": "non_cpa", "reason": "Stale",
                                     "version": version})
    assert r.status_code == 409, describe(r)
    row = db.one("SELECT level FROM episode WHERE id = %s", (episode["id"],))
    assert row["level"] == "enhanced"
    assert db.scalar("SELECT count(*) FROM episode_event WHERE episode_id = %s "
                     "AND kind = 'level_changed'", (episode["id"],)) == 1

    r = c.post(f"/api/v1/episodes/{episode['id']}/coordinator",
               json={"coordinator_id": coord2["id"], "reason": "Stale",
                     "version": version})
    assert r.status_code == 409, describe(r)
    r = c.post(f"/api/v1/episodes/{episode['id']}/close",
               json={"end_reason": "other", "version": version})
    assert r.status_code == 409, describe(r)
    assert db.one("SELECT ended_at, coordinator_id FROM episode WHERE id = %s",
                  (episode["id"],)) == {"ended_at": None,
                                        "coordinator_id": c.user["id"]}


def test_second_open_episode_in_the_same_team_409(staff, teams, refer, accept,
                                                  db):
    c = staff("coord.north")
    team = teams["north_riverside_cmht"]["id"]
    first = refer(c, team)
    su = first["service_user"]
    second = refer(c, team, service_user_id=su["id"])
    assert second["service_user"]["id"] == su["id"]
    assert second["referral"]["service_user_id"] == su["id"]
    accept(c, first["referral"]["id"], c.user["id"])

    r = decide(c, second["referral"]["id"], "accept", level="standard",
               coordinator_id=c.user["id"])
    assert r.status_code == 409, describe(r)
    assert db.scalar("SELECT status FROM referral WHERE id = %s",
                     (second["referral"]["id"],)) == "awaiting_triage"
    assert db.scalar("SELECT count(*) FROM episode WHERE service_user_id = %s",
                     (su["id"],)) == 1
    # Declining it instead is fine.
    r = decide(c, second["referral"]["id"], "decline")
    assert r.status_code == 200, describe(r)
    assert json_of(r)["referral"]["status"] == "declined"
