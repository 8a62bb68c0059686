"""Who may see and change carers (cpa-carers): another site's person,
carer, link or assessment is 404 with an access_denied audit row and no
change; a person of another team is 403, audited with the person's id; a
carer supporting only people the caller does not cover is 403 too; auditors
and trust admins hold no clinical role and get 403; a person without an
open episode is 409."""

import pytest

from cpa_e2e import HTML, assert_denied, describe, json_of

pytestmark = pytest.mark.usefixtures("carers_up")


@pytest.fixture
def north(case, kit):
    """A Riverside person with a carer (full consent, an assessment
    offered) and a care plan; every id a request might name."""
    made = case()
    c, su = made["c"], made["person"]
    r = c.post(f"/api/v1/service-users/{su['id']}/care-plan/versions",
               json={"based_on": 0, "needs_goals": "North secret goals",
                     "took_part_user": True, "user_agreed": True})
    assert r.status_code == 201, describe(r)
    link = kit.added(c, su["id"], given_name="Secretcarer")
    kit.consented(c, link["id"], "full")
    a = kit.offered(c, link["id"])
    return {"c": c, "person": su, "link": link, "assessment": a,
            "carer": link["carer"]}


def attempts(n, kit):
    su, link, a, carer = (n["person"]["id"], n["link"], n["assessment"],
                          n["carer"])
    L = link["id"]
    return [
        ("GET", f"/api/v1/service-users/{su}/carers", None, su),
        ("GET", f"/service-users/{su}/carers", None, su),
        ("POST", f"/api/v1/service-users/{su}/carers",
         kit.carer_body(), su),
        ("GET", f"/api/v1/service-users/{su}/involvement", None, su),
        ("POST", f"/api/v1/service-users/{su}/involvement",
         {"kind": "contact"}, su),
        ("GET", f"/api/v1/carers/{carer['id']}", None, carer["id"]),
        ("PUT", f"/api/v1/carers/{carer['id']}",
         {"version": carer["version"], "given_name": "Intruder",
          "family_name": "X", "phone": "1"}, carer["id"]),
        ("POST", f"/api/v1/carer-links/{L}/end",
         {"version": link["version"] + 2, "end_reason": "Intruder"}, L),
        ("POST", f"/api/v1/carer-links/{L}/consent", {"scope": "none"}, L),
        ("POST", f"/api/v1/carer-links/{L}/consent/withdraw", {}, L),
        ("GET", f"/api/v1/carer-links/{L}/care-plan", None, L),
        ("GET", f"/api/v1/carer-links/{L}/safety-plan", None, L),
        ("POST", f"/api/v1/carer-links/{L}/assessments", {}, L),
        ("POST", f"/api/v1/carer-assessments/{a['id']}",
         {"version": a["version"], "action": "decline"}, a["id"]),
    ]


def state(db, n):
    return (db.all("SELECT * FROM carer WHERE id = %s", (n["carer"]["id"],)),
            db.all("SELECT * FROM carer_link WHERE id = %s", (n["link"]["id"],)),
            db.all("SELECT * FROM carer_consent WHERE carer_link_id = %s",
                   (n["link"]["id"],)),
            db.all("SELECT * FROM carer_assessment WHERE carer_link_id = %s",
                   (n["link"]["id"],)),
            db.all("SELECT * FROM carer_involvement WHERE service_user_id = %s",
                   (n["person"]["id"],)))


def test_other_site_gets_404_audited(north, kit, db, audit, staff):
    south = staff("coord.south")
    before = state(db, north)
    for method, path, body, entity in attempts(north, kit):
        mark = audit.mark()
        r = south.request(method, path, json=body)
        assert r.status_code == 404, (method, path, describe(r))
        assert "Secretcarer" not in r.text and "North secret" not in r.text
        assert north["person"]["family_name"] not in r.text
        rows = audit.since(mark, username="coord.south")
        assert [x["action"] for x in rows] == ["access_denied"], (path, rows)
        assert str(entity) in {x["entity_id"] for x in rows}, (path, rows)
    assert state(db, north) == before


def test_other_team_gets_403_audited(north, kit, db, audit, team_member):
    moor = team_member(team="north_moorland_cmht")
    before = state(db, north)
    for method, path, body, entity in attempts(north, kit):
        mark = audit.mark()
        r = moor.request(method, path, json=body)
        assert r.status_code == 403, (method, path, describe(r))
        assert "Secretcarer" not in r.text and "North secret" not in r.text
        rows = audit.since(mark, username=moor.user["username"])
        assert [x["action"] for x in rows] == ["access_denied"], (path, rows)
        assert rows[0]["site_id"] == north["person"]["site_id"], rows
        if "/carers/" not in path:   # a carer's record: no one person
            assert rows[0]["service_user_id"] == north["person"]["id"], \
                (path, rows)
    assert state(db, north) == before


def test_carer_of_a_person_covered_only_through_ended_link(north, kit, db,
                                                          case):
    """A carer's record is visible while the caller covers someone they
    support or supported (an ended link counts)."""
    c = north["c"]
    link = kit.link(c, north["person"]["id"], north["link"]["id"])
    kit.ended(c, link)
    r = c.get(f"/api/v1/carers/{north['carer']['id']}")
    assert r.status_code == 200, describe(r)
    assert [s["ended_on"] is not None for s in json_of(r)["supports"]] == [True]


@pytest.mark.parametrize("who", ["auditor.north", "admin.north"])
def test_auditors_and_admins_get_403(north, kit, as_demo, who):
    c = as_demo(who)
    su, L = north["person"]["id"], north["link"]["id"]
    for method, path, body in [
            ("GET", f"/api/v1/service-users/{su}/carers", None),
            ("GET", f"/service-users/{su}/carers", None),
            ("GET", "/api/v1/carers", None),
            ("GET", f"/api/v1/carers/{north['carer']['id']}", None),
            ("GET", f"/api/v1/carer-links/{L}/care-plan", None),
            ("POST", f"/api/v1/service-users/{su}/carers", kit.carer_body()),
            ("POST", f"/api/v1/carer-links/{L}/consent/withdraw", {})]:
        r = c.request(method, path, json=body)
        assert r.status_code == 403, (who, path, describe(r))
        assert "Secretcarer" not in r.text
    c.delete("/api/v1/session")


def test_denied_audit_rows_name_the_person(north, kit, audit, team_member):
    moor = team_member(team="north_moorland_cmht")
    su = north["person"]["id"]
    assert_denied(audit, moor, 403, [
        ("GET", f"/api/v1/service-users/{su}/carers", None, su),
        ("GET", f"/api/v1/carer-links/{north['link']['id']}/care-plan", None,
         None)], service_user_id=su)


def test_no_open_episode_is_409(north, kit, db):
    c, su = north["c"], north["person"]
    db.all("UPDATE episode SET ended_at = now(), end_reason = 'other'"
           " WHERE service_user_id = %s AND ended_at IS NULL RETURNING id",
           (su["id"],))
    r = c.get(f"/api/v1/service-users/{su['id']}/carers")
    assert r.status_code == 409, describe(r)
    r = kit.add(c, su["id"])
    assert r.status_code == 409, describe(r)
    r = c.get(f"/service-users/{su['id']}/carers", headers=HTML)
    assert r.status_code == 409, describe(r)
