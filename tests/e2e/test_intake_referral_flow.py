"""The whole intake path through nginx: a referral for a new person, the
triage queue, acceptance into a CPA episode, the coordinator's caseload, a
change of level and of coordinator, a transfer to a team at the other site
accepted there, and the closing of the new episode."""

import datetime
from urllib.parse import urlsplit

from cpa_e2e import (EPISODE_KEYS, PERSON_KEYS, PERSON_SUMMARY_KEYS,
                     REFERRAL_KEYS, describe, get_json, ids_of, json_of,
                     new_idempotency_key, parse_ts, person_fields,
                     referral_body, unique_reason)


def referral_ids(c, status=None):
    path = "/api/v1/referrals" + (f"?status={status}" if status else "")
    return ids_of(get_json(c, path)["referrals"])


def caseload_episodes(c, coordinator_id=None):
    path = "/api/v1/caseload"
    if coordinator_id is not None:
        path += f"?coordinator_id={coordinator_id}"
    return get_json(c, path)["caseload"]


def transfer_ids(items):
    """Ids of transfer rows, whichever key ("id" or "transfer_id") they use."""
    return [t["id"] if "id" in t else t["transfer_id"] for t in items]


def get_episode(c, episode_id):
    r = c.get(f"/api/v1/episodes/{episode_id}")
    assert r.status_code == 200, describe(r)
    episode = json_of(r)["episode"]
    assert EPISODE_KEYS <= set(episode), sorted(episode)
    return episode


def test_deadlines_by_urgency(staff, teams, refer, db):
    c = staff("coord.north")
    team = teams["north_riverside_cmht"]
    for urgency, window in (("routine", datetime.timedelta(days=28)),
                            ("urgent", datetime.timedelta(hours=24)),
                            ("emergency", datetime.timedelta(hours=4))):
        ref = refer(c, team["id"], urgency=urgency)["referral"]
        assert ref["urgency"] == urgency
        received = parse_ts(ref["received_at"])
        assert parse_ts(ref["deadline_at"]) - received == window, ref
        now = datetime.datetime.now(datetime.timezone.utc)
        assert abs(now - received) < datetime.timedelta(minutes=5), \
            f"received_at {ref['received_at']} is not the time of the request"
        assert ref["breached"] is False and ref["near_breach"] is False, ref
        stored = db.one("SELECT deadline_at - received_at AS w FROM referral "
                        "WHERE id = %s", (ref["id"],))
        assert stored["w"] == window


def test_referral_to_transfer_and_close(staff, teams, refer, coord2, signin,
                                        db):
    cn = staff("coord.north")
    north_team = teams["north_riverside_cmht"]
    south_team = teams["south_harbour_cmht"]
    me = cn.user

    # A referral for someone the service has never seen.
    person = person_fields(given_name="Chidinma", other_names="Ada",
                           postcode="LS1 4AP", phone="0113 496 0000",
                           preferred_language="Igbo", interpreter_needed=True)
    body = referral_body(north_team["id"], person, urgency="routine",
                         source="self", source_detail="Walked in")
    r = cn.post("/api/v1/referrals", json=body,
                headers={"Idempotency-Key": new_idempotency_key()})
    assert r.status_code == 201, describe(r)
    created = json_of(r)
    ref, su = created["referral"], created["service_user"]
    assert REFERRAL_KEYS <= set(ref), sorted(ref)
    assert PERSON_KEYS <= set(su), sorted(su)
    assert urlsplit(r.headers["Location"]).path == f"/api/v1/referrals/{ref['id']}"
    assert created.get("matched_existing") is not True
    assert created["possible_duplicates"] == []
    for key in ("given_name", "family_name", "date_of_birth", "nhs_number",
                "other_names", "postcode", "phone", "preferred_language"):
        assert su[key] == person[key], key
    assert su["interpreter_needed"] is True
    assert su["site_id"] == north_team["site_id"] and su["version"] >= 1
    assert ref["service_user_id"] == su["id"]
    assert ref["site_id"] == north_team["site_id"]
    assert ref["team_id"] == north_team["id"]
    assert ref["team_name"] == north_team["name"]
    assert (ref["source"], ref["source_detail"], ref["urgency"]) == \
        ("self", "Walked in", "routine")
    assert ref["reason"] == body["reason"]
    assert ref["status"] == "awaiting_triage"
    assert ref["decided_at"] is None and ref["decided_by"] is None
    assert ref["episode_id"] is None
    assert parse_ts(ref["deadline_at"]) - parse_ts(ref["received_at"]) == \
        datetime.timedelta(days=28)
    row = db.one("SELECT site_id, nhs_number, family_name FROM service_user "
                 "WHERE id = %s", (su["id"],))
    assert row == {"site_id": north_team["site_id"],
                   "nhs_number": person["nhs_number"],
                   "family_name": person["family_name"]}

    got = cn.get(r.headers["Location"])
    assert got.status_code == 200, describe(got)
    assert json_of(got)["referral"] == ref
    assert json_of(got)["service_user"]["id"] == su["id"]

    # The triage queue of the team's coordinator and manager.
    tm = staff("tm.north")
    for c in (cn, tm):
        r = c.get("/api/v1/referrals")
        assert r.status_code == 200, describe(r)
        queued = {q["id"]: q for q in json_of(r)["referrals"]}
        assert ref["id"] in queued, c.user["username"]
        item = queued[ref["id"]]
        assert PERSON_SUMMARY_KEYS <= set(item["service_user"])
        assert item["service_user"]["id"] == su["id"]
        assert item["service_user"]["family_name"] == person["family_name"]
        assert item["status"] == "awaiting_triage"

    # Accepted into a standard CPA episode with coord.north as coordinator.
    decision_reason = unique_reason("Meets CMHT criteria")
    r = cn.post(f"/api/v1/referrals/{ref['id']}/decision",
                json={"decision": "accept", "reason": decision_reason,
                      "level": "standard", "coordinator_id": me["id"]})
    assert r.status_code == 200, describe(r)
    decided = json_of(r)
    ref2, episode = decided["referral"], decided["episode"]
    assert ref2["status"] == "accepted"
    assert ref2["decided_by"] == me["id"]
    assert ref2["decided_by_name"] == me["display_name"]
    assert ref2["decision_reason"] == decision_reason
    assert ref2["decided_at"] is not None
    assert ref2["episode_id"] == episode["id"]
    assert episode["level"] == "standard"
    assert episode["coordinator"]["id"] == me["id"]
    assert episode["team_id"] == north_team["id"]
    assert episode["ended_at"] is None

    episode = get_episode(cn, episode["id"])
    assert episode["service_user"]["id"] == su["id"]
    assert episode["referral_id"] == ref["id"]
    assert episode["site_id"] == north_team["site_id"]
    assert (episode["coordinator"]["id"],
            episode["coordinator"]["display_name"]) == \
        (me["id"], me["display_name"])
    assert "opened" in [e["kind"] for e in episode["events"]]
    assert [(a["staff_id"], a["ended_at"]) for a in episode["coordinators"]] == \
        [(me["id"], None)]
    assert episode["transfers"] == []

    assert ref["id"] not in referral_ids(cn)
    assert ref["id"] in referral_ids(cn, "accepted")
    assert ref["id"] in referral_ids(cn, "all")
    assert ref["id"] not in referral_ids(cn, "declined")

    mine = caseload_episodes(cn)
    entry = [e for e in mine if e["episode_id"] == episode["id"]]
    assert len(entry) == 1, mine
    assert entry[0]["service_user"]["id"] == su["id"]
    assert entry[0]["service_user"]["nhs_number"] == person["nhs_number"]
    assert entry[0]["level"] == "standard"
    assert entry[0]["team_id"] == north_team["id"]
    assert entry[0]["next_review_due"] is None
    assert entry[0]["risk_status"] is None

    # Level: standard -> enhanced, kept in the history.
    r = cn.post(f"/api/v1/episodes/{episode['id']}/level",
                json={"level": "enhanced", "reason": "Risk increased",
                      "version": episode["version"]})
    assert r.status_code == 200, describe(r)
    changed = json_of(r)["episode"]
    assert changed["level"] == "enhanced"
    assert changed["version"] > episode["version"]
    episode = get_episode(cn, episode["id"])
    assert episode["level"] == "enhanced"
    level_events = [e for e in episode["events"] if e["kind"] == "level_changed"]
    assert len(level_events) == 1, episode["events"]
    ev = level_events[0]
    assert (ev["from_value"], ev["to_value"], ev["reason"]) == \
        ("standard", "enhanced", "Risk increased")
    assert ev["by_name"] == me["display_name"]

    # Coordinator: coord.north -> coord2; the caseload moves with it.
    r = cn.post(f"/api/v1/episodes/{episode['id']}/coordinator",
                json={"coordinator_id": coord2["id"],
                      "reason": "Caseload balancing",
                      "version": episode["version"]})
    assert r.status_code == 200, describe(r)
    episode = get_episode(cn, episode["id"])
    assert episode["coordinator"]["id"] == coord2["id"]
    history = {a["staff_id"]: a for a in episode["coordinators"]}
    assert set(history) == {me["id"], coord2["id"]}, episode["coordinators"]
    assert history[me["id"]]["ended_at"] is not None
    assert history[coord2["id"]]["ended_at"] is None
    assert parse_ts(history[coord2["id"]]["started_at"]) >= \
        parse_ts(history[me["id"]]["started_at"])
    assert "coordinator_changed" in [e["kind"] for e in episode["events"]]
    rows = db.all("SELECT staff_id, ended_at FROM coordinator_assignment "
                  "WHERE episode_id = %s ORDER BY id", (episode["id"],))
    assert [r_["staff_id"] for r_ in rows] == [me["id"], coord2["id"]]
    assert rows[0]["ended_at"] is not None and rows[1]["ended_at"] is None

    assert episode["id"] not in ids_of(caseload_episodes(cn), "episode_id")
    assert episode["id"] in ids_of(caseload_episodes(tm, coord2["id"]),
                                   "episode_id")
    c2 = signin(coord2["username"], coord2["password"])
    assert episode["id"] in ids_of(caseload_episodes(c2), "episode_id")
    c2.delete("/api/v1/session")

    # Transfer to the south site's Harbour team, chosen from /api/v1/teams.
    r = cn.get("/api/v1/teams")
    assert r.status_code == 200, describe(r)
    listed = {t["team_id"]: t for t in json_of(r)["teams"]}
    assert south_team["id"] in listed, "every team of the trust is listed"
    assert listed[south_team["id"]]["site_id"] == south_team["site_id"]
    assert listed[south_team["id"]]["team_name"] == south_team["name"]
    move_reason = unique_reason("Moved to the coast")
    r = cn.post(f"/api/v1/episodes/{episode['id']}/transfer",
                json={"to_team_id": south_team["id"], "reason": move_reason})
    assert r.status_code == 201, describe(r)
    transfer = json_of(r)["transfer"]
    assert transfer["status"] == "pending"
    assert transfer["to_team_id"] == south_team["id"]
    assert transfer["to_site_id"] == south_team["site_id"]
    episode = get_episode(cn, episode["id"])
    assert [t["id"] for t in episode["transfers"]] == [transfer["id"]]
    assert episode["transfers"][0]["status"] == "pending"
    assert episode["ended_at"] is None, "open until the other team accepts"

    r = cn.get("/api/v1/transfers")
    assert r.status_code == 200, describe(r)
    assert transfer["id"] in transfer_ids(json_of(r)["outgoing"])

    cs = staff("coord.south")
    r = cs.get("/api/v1/transfers")
    assert r.status_code == 200, describe(r)
    incoming = {t["transfer_id"]: t for t in json_of(r)["incoming"]}
    assert transfer["id"] in incoming, json_of(r)
    seen = incoming[transfer["id"]]
    assert (seen["nhs_number"], seen["given_name"], seen["family_name"]) == \
        (person["nhs_number"], person["given_name"], person["family_name"])
    assert seen["to_team_id"] == south_team["id"]
    assert seen["reason"] == move_reason
    assert seen["from_site_name"] == "North site"

    # South accepts: north's episode ends "transferred", south opens one
    # for its own copy of the person.
    r = cs.post(f"/api/v1/transfers/{transfer['id']}/decision",
                json={"decision": "accept", "reason": "Accepted by Harbour",
                      "level": "complex", "coordinator_id": cs.user["id"]})
    assert r.status_code == 200, describe(r)
    done = json_of(r)
    assert done["transfer"]["status"] == "accepted"
    new_ep = done["episode"]
    assert new_ep and new_ep["id"] != episode["id"]
    new_ep = get_episode(cs, new_ep["id"])
    assert new_ep["site_id"] == south_team["site_id"]
    assert new_ep["team_id"] == south_team["id"]
    assert new_ep["level"] == "complex"
    assert new_ep["coordinator"]["id"] == cs.user["id"]
    assert new_ep["ended_at"] is None
    copy = new_ep["service_user"]
    assert copy["id"] != su["id"]
    assert (copy["nhs_number"], copy["given_name"], copy["family_name"],
            copy["date_of_birth"]) == (person["nhs_number"],
                                       person["given_name"],
                                       person["family_name"],
                                       person["date_of_birth"])
    stored = db.one("SELECT site_id, phone, preferred_language FROM "
                    "service_user WHERE id = %s", (copy["id"],))
    assert stored == {"site_id": south_team["site_id"], "phone": person["phone"],
                      "preferred_language": "Igbo"}
    r = cs.get(f"/api/v1/service-users/{copy['id']}")
    assert r.status_code == 200, describe(r)
    assert json_of(r)["service_user"]["site_id"] == south_team["site_id"]

    old = get_episode(cn, episode["id"])
    assert old["ended_at"] is not None
    assert old["end_reason"] == "transferred"
    assert old["transfers"][0]["status"] == "accepted"
    assert all(a["ended_at"] is not None for a in old["coordinators"])
    assert episode["id"] not in ids_of(caseload_episodes(tm, coord2["id"]),
                                       "episode_id")
    assert new_ep["id"] in ids_of(caseload_episodes(cs), "episode_id")
    r = cs.get("/api/v1/transfers")
    assert transfer["id"] not in ids_of(json_of(r)["incoming"], "transfer_id")
    # The north record still shows the whole history.
    r = cn.get(f"/api/v1/service-users/{su['id']}")
    assert r.status_code == 200, describe(r)
    record = json_of(r)
    assert [(e["id"], e["end_reason"]) for e in record["episodes"]] == \
        [(episode["id"], "transferred")]
    assert ref["id"] in ids_of(record["referrals"])

    # South closes its episode; closing it again is a conflict.
    r = cs.post(f"/api/v1/episodes/{new_ep['id']}/close",
                json={"end_reason": "discharged_to_gp",
                      "end_detail": "Stable, back to GP care",
                      "version": new_ep["version"]})
    assert r.status_code == 200, describe(r)
    closed = json_of(r)["episode"]
    assert closed["end_reason"] == "discharged_to_gp"
    assert closed["end_detail"] == "Stable, back to GP care"
    assert closed["ended_at"] is not None
    closed = get_episode(cs, new_ep["id"])
    assert closed["ended_at"] is not None
    assert "closed" in [e["kind"] for e in closed["events"]]
    assert new_ep["id"] not in ids_of(caseload_episodes(cs), "episode_id")
    r = cs.post(f"/api/v1/episodes/{new_ep['id']}/close",
                json={"end_reason": "other", "version": closed["version"]})
    assert r.status_code == 409, describe(r)
    row = db.one("SELECT end_reason FROM episode WHERE id = %s", (new_ep["id"],))
    assert row["end_reason"] == "discharged_to_gp"
