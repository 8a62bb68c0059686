"""Sites are kept apart in intake: for every endpoint that takes an id, a
south coordinator naming north's referral, person, episode or transfer gets
404 (as if absent; never the data, never a change) and an access_denied
audit row names them; south's searches, queue, caseload and transfer lists
never show north's people."""

import pytest

from cpa_e2e import (HTML, MISSING_ID, describe, ids_of, is_html, json_of,
                     unique_reason)

# What kind of record each id names, and the entity_type an access_denied
# row may give it.
ENTITY_TYPES = {
    "referral": {"referral"},
    "person": {"service_user"},
    "episode": {"episode"},
    "transfer": {"transfer", "episode_transfer"},
}


@pytest.fixture(scope="module")
def north(staff, teams, refer, accept):
    """North's records: an awaiting referral (person), an accepted one
    (person2, episode) and a pending transfer of that episode to another
    north team."""
    c = staff("coord.north")
    team = teams["north_riverside_cmht"]
    waiting = refer(c, team["id"])
    taken = refer(c, team["id"])
    episode = accept(c, taken["referral"]["id"], c.user["id"])
    r = c.post(f"/api/v1/episodes/{episode['id']}/transfer",
               json={"to_team_id": teams["north_moorland_cmht"]["id"],
                     "reason": unique_reason("Moving within north")})
    assert r.status_code == 201, describe(r)
    return {
        "referral": waiting["referral"]["id"],
        "person": waiting["service_user"]["id"],
        "person_version": waiting["service_user"]["version"],
        "nhs_number": waiting["service_user"]["nhs_number"],
        "family_names": [waiting["service_user"]["family_name"],
                         taken["service_user"]["family_name"]],
        "referral2": taken["referral"]["id"],
        "person2": taken["service_user"]["id"],
        "episode": episode["id"],
        "episode_version": episode["version"],
        "transfer": json_of(r)["transfer"]["id"],
        "coordinator": c.user["id"],
    }


def state(db, n):
    """Everything the refused requests could have changed."""
    return (
        db.all("SELECT id, status, decided_by, episode_id FROM referral "
               "WHERE id IN (%s, %s) ORDER BY id", (n["referral"], n["referral2"])),
        db.all("SELECT id, given_name, phone, version FROM service_user "
               "WHERE id IN (%s, %s) ORDER BY id", (n["person"], n["person2"])),
        db.all("SELECT level, coordinator_id, ended_at, version FROM episode "
               "WHERE service_user_id = %s", (n["person2"],)),
        db.all("SELECT id, status, to_team_id FROM episode_transfer "
               "WHERE episode_id = %s ORDER BY id", (n["episode"],)),
        db.scalar("SELECT count(*) FROM episode_event WHERE episode_id = %s",
                  (n["episode"],)),
    )


def bodies(n, teams):
    """Request bodies that would succeed for north's own staff."""
    return {
        "decision": {"decision": "decline", "reason": "Taken over"},
        "person": {"given_name": "Taken", "phone": "0000",
                   "version": n["person_version"]},
        "level": {"level": "enhanced", "reason": "Taken over",
                  "version": n["episode_version"]},
        "coordinator": {"coordinator_id": n["coordinator"],
                        "reason": "Taken over",
                        "version": n["episode_version"]},
        "close": {"end_reason": "other", "end_detail": "Taken over",
                  "version": n["episode_version"]},
        "transfer": {"to_team_id": teams["south_harbour_cmht"]["id"],
                     "reason": "Taken over"},
        "transfer_decision": {"decision": "decline", "reason": "Taken over"},
    }


# (method, path, kind of id, body name or None)
API = (
    ("GET", "/api/v1/referrals/{}", "referral", None),
    ("POST", "/api/v1/referrals/{}/decision", "referral", "decision"),
    ("GET", "/api/v1/service-users/{}", "person", None),
    ("PUT", "/api/v1/service-users/{}", "person", "person"),
    ("GET", "/api/v1/episodes/{}", "episode", None),
    ("POST", "/api/v1/episodes/{}/level", "episode", "level"),
    ("POST", "/api/v1/episodes/{}/coordinator", "episode", "coordinator"),
    ("POST", "/api/v1/episodes/{}/close", "episode", "close"),
    ("POST", "/api/v1/episodes/{}/transfer", "episode", "transfer"),
    ("POST", "/api/v1/transfers/{}/decision", "transfer", "transfer_decision"),
)
PAGES = (
    ("GET", "/referrals/{}", "referral", None),
    ("GET", "/referrals/{}.json", "referral", None),
    ("POST", "/referrals/{}/decision", "referral", "decision"),
    ("GET", "/service-users/{}", "person", None),
    ("GET", "/service-users/{}.json", "person", None),
    ("POST", "/service-users/{}", "person", "person"),
    ("GET", "/episodes/{}", "episode", None),
    ("GET", "/episodes/{}.json", "episode", None),
    ("POST", "/episodes/{}/level", "episode", "level"),
    ("POST", "/episodes/{}/coordinator", "episode", "coordinator"),
    ("POST", "/episodes/{}/transfer", "episode", "transfer"),
    ("POST", "/episodes/{}/close", "episode", "close"),
    ("POST", "/transfers/{}/decision", "transfer", "transfer_decision"),
)


def send(c, method, path, body, page):
    if page:
        if method == "GET":
            return c.get(path, headers=HTML)
        return c.post(path, headers=HTML,
                      data=dict(body, csrf_token=c.csrf))
    return c.request(method, path, json=body)


def refused_as_absent(r, n):
    assert r.status_code == 404, describe(r)
    for secret in n["family_names"] + [n["nhs_number"]]:
        assert secret not in r.text, f"{secret!r} leaked: {describe(r)}"


@pytest.mark.parametrize("method,path,kind,body", API + PAGES,
                         ids=[f"{m} {p}" for m, p, _, _ in API + PAGES])
def test_south_gets_404_for_norths_records(method, path, kind, body, staff,
                                          teams, north, db, audit):
    c = staff("coord.south")
    target = north[kind]
    page = not path.startswith("/api/")
    before = state(db, north)
    mark = audit.mark()
    r = send(c, method, path.format(target),
             bodies(north, teams)[body] if body else None, page)
    refused_as_absent(r, north)
    if page and not path.endswith(".json"):
        assert is_html(r), describe(r)
    else:
        assert isinstance(json_of(r)["error"], str)
    assert state(db, north) == before, "a refused request changed something"
    rows = [row for row in audit.since(mark, action="access_denied",
                                       username="coord.south")
            if row["entity_id"] == str(target)]
    assert rows, f"no access_denied audit row for {kind} {target}"
    assert rows[0]["staff_id"] == c.user["id"]
    assert rows[0]["entity_type"] in ENTITY_TYPES[kind], rows[0]


def test_missing_and_hidden_look_alike(staff, north):
    c = staff("coord.south")
    for path in ("/api/v1/referrals/{}", "/api/v1/service-users/{}",
                 "/api/v1/episodes/{}"):
        kind = {"referrals": "referral", "service-users": "person",
                "episodes": "episode"}[path.split("/")[3]]
        hidden = c.get(path.format(north[kind]))
        missing = c.get(path.format(MISSING_ID))
        assert hidden.status_code == missing.status_code == 404
        assert json_of(hidden).keys() == json_of(missing).keys()


def test_audit_trail_of_a_north_person_is_404_for_a_south_manager(
        make_team_staff, signin, north, audit):
    mgr = make_team_staff("south-tm", "team_manager", None, site="south")
    c = signin(mgr["username"], mgr["password"])
    mark = audit.mark()
    r = c.get(f"/api/v1/service-users/{north['person']}/audit")
    refused_as_absent(r, north)
    rows = [row for row in audit.since(mark, action="access_denied",
                                       username=mgr["username"])
            if row["entity_id"] == str(north["person"])]
    assert rows, "no access_denied audit row"
    c.delete("/api/v1/session")


def test_a_transfer_to_another_team_of_my_site_is_404(staff, teams, refer,
                                                      accept, db):
    cn, cs = staff("coord.north"), staff("coord.south")
    ref = refer(cn, teams["north_riverside_cmht"]["id"])["referral"]
    episode = accept(cn, ref["id"], cn.user["id"])
    r = cn.post(f"/api/v1/episodes/{episode['id']}/transfer",
                json={"to_team_id": teams["south_vale_cmht"]["id"],
                      "reason": unique_reason("To Vale")})
    assert r.status_code == 201, describe(r)
    transfer = json_of(r)["transfer"]["id"]
    # coord.south works in Harbour, not Vale.
    r = cs.get("/api/v1/transfers")
    assert r.status_code == 200, describe(r)
    assert transfer not in ids_of(json_of(r)["incoming"], "transfer_id")
    r = cs.post(f"/api/v1/transfers/{transfer}/decision",
                json={"decision": "accept", "reason": "Not ours",
                      "level": "complex", "coordinator_id": cs.user["id"]})
    assert r.status_code == 404, describe(r)
    assert db.scalar("SELECT status FROM episode_transfer WHERE id = %s",
                     (transfer,)) == "pending"
    assert db.scalar("SELECT ended_at FROM episode WHERE id = %s",
                     (episode["id"],)) is None


def test_search_from_south_finds_no_north_person(staff, north, teams):
    cn, cs = staff("coord.north"), staff("coord.south")
    family = north["family_names"][0]
    for criteria in ({"nhs_number": north["nhs_number"]},
                     {"family_name": family}):
        r = cn.post("/api/v1/service-users/search", json=criteria)
        assert r.status_code == 200, describe(r)
        assert north["person"] in ids_of(json_of(r)["results"]), \
            f"north's own search by {sorted(criteria)} must find the person"
        r = cs.post("/api/v1/service-users/search", json=criteria)
        assert r.status_code == 200, describe(r)
        # South may hold people with similar names (its own copies made by
        # transfers): what matters is that no north record comes back.
        results = json_of(r)["results"]
        assert north["person"] not in ids_of(results), describe(r)
        north_site = teams["north_riverside_cmht"]["site_id"]
        assert all(p.get("site_id") != north_site for p in results), describe(r)
        if "nhs_number" in criteria:
            assert results == [], describe(r)
    r = cs.post("/service-users/search", headers=HTML,
                data={"nhs_number": north["nhs_number"], "csrf_token": cs.csrf})
    assert r.status_code == 200, describe(r)
    assert family not in r.text


def test_south_lists_never_show_north(staff, teams, north):
    c = staff("coord.south")
    north_site = teams["north_riverside_cmht"]["site_id"]
    north_people = {north["person"], north["person2"]}
    for query in ("", "?status=all", "?status=accepted",
                  f"?team_id={teams['north_riverside_cmht']['id']}"):
        r = c.get("/api/v1/referrals" + query)
        if query.startswith("?team_id") and r.status_code != 200:
            continue    # refusing another site's team outright is fine too
        assert r.status_code == 200, describe(r)
        for ref in json_of(r)["referrals"]:
            assert ref["site_id"] != north_site, ref
            assert ref["service_user"]["id"] not in north_people, ref
    r = c.get("/api/v1/caseload")
    assert r.status_code == 200, describe(r)
    for entry in json_of(r)["caseload"]:
        assert entry["service_user"]["id"] not in north_people, entry
        assert entry["episode_id"] != north["episode"], entry
    r = c.get("/api/v1/transfers")
    assert r.status_code == 200, describe(r)
    body = json_of(r)
    assert north["transfer"] not in ids_of(body["incoming"], "transfer_id")
    assert north["transfer"] not in [t.get("id", t.get("transfer_id"))
                                     for t in body["outgoing"]]
    for path in ("/referrals", "/caseload", "/transfers"):
        r = c.get(path, headers=HTML)
        assert r.status_code == 200, describe(r)
        for secret in north["family_names"]:
            assert secret not in r.text, path
