"""Every read and change of a person's record leaves an audit_event row
with service_user_id and site_id, written in the same transaction; the
auditor and managers can list a person's trail (which is itself audited),
a coordinator cannot; audit details name fields and criteria, never the
values."""

import pytest

from cpa_e2e import (HTML, describe, ids_of, json_of, new_dob, parse_ts,
                     unique_family_name)


@pytest.fixture(scope="module")
def record(staff, teams, refer, accept):
    """A north person with a referral and an open episode."""
    c = staff("coord.north")
    made = refer(c, teams["north_riverside_cmht"]["id"])
    episode = accept(c, made["referral"]["id"], c.user["id"])
    return {"person": made["service_user"], "referral": made["referral"],
            "episode": episode, "site_id": teams["north_riverside_cmht"]["site_id"]}


def rows_for(audit, mark, record, username):
    return audit.since(mark, username=username,
                       service_user_id=record["person"]["id"])


def assert_audited(audit, mark, record, c, action=None):
    rows = rows_for(audit, mark, record, c.user["username"])
    if action:
        rows = [r for r in rows if r["action"] == action]
    assert rows, f"no audit row for {c.user['username']} ({action or 'any'})"
    for row in rows:
        assert row["site_id"] == record["site_id"], row
        assert row["staff_id"] == c.user["id"], row
    return rows


def test_creating_and_accepting_are_audited(staff, teams, refer, accept,
                                            audit):
    c = staff("coord.north")
    mark = audit.mark()
    made = refer(c, teams["north_riverside_cmht"]["id"])
    rec = {"person": made["service_user"],
           "site_id": teams["north_riverside_cmht"]["site_id"]}
    assert_audited(audit, mark, rec, c)
    mark = audit.mark()
    accept(c, made["referral"]["id"], c.user["id"])
    assert_audited(audit, mark, rec, c)


@pytest.mark.parametrize("what", ("service-users", "referrals", "episodes"))
def test_reading_a_record_is_audited(what, staff, record, audit):
    c = staff("coord.north")
    target = {"service-users": record["person"]["id"],
              "referrals": record["referral"]["id"],
              "episodes": record["episode"]["id"]}[what]
    mark = audit.mark()
    r = c.get(f"/api/v1/{what}/{target}")
    assert r.status_code == 200, describe(r)
    rows = assert_audited(audit, mark, record, c,
                          "read" if what == "service-users" else None)
    assert any(row["request_id"] for row in rows), rows


def test_search_is_audited_without_its_values(staff, record, audit):
    c = staff("coord.north")
    person = record["person"]
    for criteria in ({"nhs_number": person["nhs_number"]},
                     {"family_name": person["family_name"],
                      "date_of_birth": person["date_of_birth"]}):
        mark = audit.mark()
        r = c.post("/api/v1/service-users/search", json=criteria)
        assert r.status_code == 200, describe(r)
        found = [p for p in json_of(r)["results"] if p["id"] == person["id"]]
        assert len(found) == 1, json_of(r)
        assert found[0]["open_episodes"] == 1
        rows = audit.since(mark, action="search", username="coord.north")
        assert rows, "no search audit row"
        for row in rows:
            detail = str(row["detail"])
            for name, value in criteria.items():
                assert name in detail, (name, detail)
                assert value not in detail, f"{name}'s value in {detail!r}"
            assert person["given_name"] not in detail


def test_search_needs_a_criterion(staff):
    r = staff("coord.north").post("/api/v1/service-users/search", json={})
    assert r.status_code == 422, describe(r)


def test_edit_is_audited_with_field_names_only(staff, record, audit, db):
    c = staff("coord.north")
    person = record["person"]
    version = db.scalar("SELECT version FROM service_user WHERE id = %s",
                        (person["id"],))
    edit = {"phone": "07700 900123", "address": "12 Quayside, Whitby",
            "version": version}
    mark = audit.mark()
    r = c.put(f"/api/v1/service-users/{person['id']}", json=edit)
    assert r.status_code == 200, describe(r)
    rows = assert_audited(audit, mark, record, c, "update")
    assert len(rows) == 1, rows
    detail = str(rows[0]["detail"])
    assert "phone" in detail and "address" in detail, detail
    assert "given_name" not in detail and "family_name" not in detail, detail
    for value in ("07700", "900123", "Quayside", "Whitby"):
        assert value not in detail, detail
    assert rows[0]["entity_id"] in (None, str(person["id"]))


@pytest.mark.parametrize("username", ("auditor.north", "tm.north", "dm.north"))
def test_auditor_and_managers_list_the_trail(username, staff, record, audit):
    # Make sure there is a read and an update to list.
    cn = staff("coord.north")
    person = record["person"]
    assert cn.get(f"/api/v1/service-users/{person['id']}").status_code == 200
    current = json_of(cn.get(f"/api/v1/service-users/{person['id']}"))
    r = cn.put(f"/api/v1/service-users/{person['id']}",
               json={"postcode": "YO21 1AA",
                     "version": current["service_user"]["version"]})
    assert r.status_code == 200, describe(r)

    c = staff(username)
    mark = audit.mark()
    r = c.get(f"/api/v1/service-users/{person['id']}/audit")
    assert r.status_code == 200, describe(r)
    events = json_of(r)["events"]
    assert events, "the trail is empty"
    for e in events:
        assert {"at", "username", "action", "entity_type", "entity_id",
                "detail", "remote_addr"} <= set(e), e
        assert "YO21" not in str(e.get("detail"))
    times = [parse_ts(e["at"]) for e in events]
    assert times == sorted(times, reverse=True), "newest first"
    actions = {(e["username"], e["action"]) for e in events}
    assert ("coord.north", "read") in actions
    assert ("coord.north", "update") in actions
    expected = db_count(audit, person["id"], mark)
    assert len(events) >= expected
    # Reading the trail is itself audited.
    rows = assert_audited(audit, mark, record, c)
    assert rows


def db_count(audit, service_user_id, before):
    return audit.db.scalar("SELECT count(*) FROM audit_event WHERE "
                           "service_user_id = %s AND id <= %s",
                           (service_user_id, before))


@pytest.mark.parametrize("username", ("coord.north", "prac.north",
                                      "admin.north"))
def test_others_may_not_list_the_trail(username, staff, record, audit):
    c = staff(username)
    mark = audit.mark()
    r = c.get(f"/api/v1/service-users/{record['person']['id']}/audit")
    assert r.status_code == 403, describe(r)
    assert "events" not in json_of(r)
    assert not [row for row in rows_for(audit, mark, record, username)
                if row["action"] != "access_denied"]


def test_reading_a_caseload_is_audited(staff, audit):
    c = staff("coord.north")
    mark = audit.mark()
    r = c.get("/api/v1/caseload")
    assert r.status_code == 200, describe(r)
    body = json_of(r)
    rows = audit.since(mark, username="coord.north", action="read",
                       entity_type="caseload")
    assert len(rows) == 1, rows
    assert rows[0]["entity_id"] == str(c.user["id"])
    assert rows[0]["detail"] == \
        f"{len(body['caseload'])} open episodes, {len(body['teams'])} teams"

    # A manager's look at a coordinator's list names that coordinator.
    tm = staff("tm.north")
    mark = audit.mark()
    r = tm.get(f"/api/v1/caseload?coordinator_id={c.user['id']}")
    assert r.status_code == 200, describe(r)
    rows = audit.since(mark, username="tm.north", action="read",
                       entity_type="caseload")
    assert len(rows) == 1, rows
    assert rows[0]["entity_id"] == str(c.user["id"])
    assert str(len(json_of(r)["caseload"])) + " open episodes" in rows[0]["detail"]


def test_a_stale_edit_shows_the_record_audited(staff, teams, refer, audit):
    c = staff("coord.north")
    su = refer(c, teams["north_riverside_cmht"]["id"])["service_user"]
    r = c.put(f"/api/v1/service-users/{su['id']}",
              json={"phone": "0113 496 0505", "version": su["version"]})
    assert r.status_code == 200, describe(r)
    mark = audit.mark()
    r = staff("tm.north").put(f"/api/v1/service-users/{su['id']}",
                              json={"phone": "0113 496 0606",
                                    "version": su["version"]})
    assert r.status_code == 409, describe(r)
    assert json_of(r)["current"]["phone"] == "0113 496 0505"
    rows = audit.since(mark, username="tm.north", service_user_id=su["id"])
    assert [(row["action"], row["site_id"]) for row in rows] == \
        [("read", teams["north_riverside_cmht"]["site_id"])], rows


def test_possible_duplicates_shown_are_audited(staff, teams, refer, audit):
    c = staff("coord.north")
    team = teams["north_riverside_cmht"]["id"]
    family, dob = unique_family_name("Eze"), new_dob()
    first = refer(c, team, person={"given_name": "Chiamaka",
                                   "family_name": family, "date_of_birth": dob})
    mark = audit.mark()
    second = refer(c, team, person={"given_name": "Chiamakah",
                                    "family_name": family, "date_of_birth": dob})
    dups = ids_of(second["possible_duplicates"])
    assert first["service_user"]["id"] in dups, second["possible_duplicates"]
    listed = "possible duplicates: " + ",".join(str(d) for d in dups)
    rows = audit.since(mark, username="coord.north", action="create",
                       entity_type="referral")
    assert len(rows) == 1, rows
    assert rows[0]["detail"] == "new person; " + listed

    # The referral page shows them too; the JSON answer does not.
    referral = second["referral"]["id"]
    mark = audit.mark()
    r = c.get(f"/referrals/{referral}", headers=HTML)
    assert r.status_code == 200, describe(r)
    r = c.get(f"/api/v1/referrals/{referral}")
    assert r.status_code == 200, describe(r)
    rows = audit.since(mark, username="coord.north", action="read",
                       entity_type="referral", entity_id=referral)
    assert [row["detail"] for row in rows] == [listed, None], rows
