"""Role-based access: staff administration is for trust_admin only, and a
trust_admin administers only their own sites.  /api/v1/me reports each demo
user's roles and sites."""

import pytest

from cpa_e2e import (HTML, ROLE_KEYS, describe, json_of, staff_payload,
                     unique_username)

NOT_ADMINS = ("coord.north", "auditor.north", "prac.north", "tm.north",
              "dm.north")
SITE_NAMES = {"north": "North site", "south": "South site"}


@pytest.mark.parametrize("username", NOT_ADMINS)
def test_non_admins_are_refused_staff_administration(username, as_demo, sites,
                                                     db):
    c = as_demo(username)
    r = c.get("/api/v1/staff")
    assert r.status_code == 403, describe(r)
    assert isinstance(json_of(r)["error"], str)
    assert c.get("/admin/staff", headers=HTML).status_code == 403

    body = staff_payload(unique_username("byrole"), sites["north"]["id"])
    r = c.post("/api/v1/staff", json=body)
    assert r.status_code == 403, describe(r)
    assert db.staff_count(body["username"]) == 0

    r = c.get(f"/api/v1/staff/{c.user['id']}")
    assert r.status_code == 403, describe(r)


def test_trust_admin_may_list_staff(admin):
    r = admin.get("/api/v1/staff")
    assert r.status_code == 200, describe(r)
    names = {s["username"] for s in json_of(r)["staff"]}
    assert {"admin.north", "coord.north", "prac.north"} <= names


@pytest.mark.parametrize("username", ("admin.north", "admin.south",
                                      "coord.north", "coord.south",
                                      "prac.north", "tm.north", "dm.north",
                                      "auditor.north"))
def test_me_shows_roles_and_sites(username, as_demo, demo):
    role, _, site = demo[username]
    c = as_demo(username)
    r = c.get("/api/v1/me")
    assert r.status_code == 200, describe(r)
    user = json_of(r)["user"]
    assert user["username"] == username
    assert user["id"] == c.user["id"]
    for grant in user["roles"]:
        assert ROLE_KEYS <= set(grant), grant
    held = {(g["role"], g["site_code"], g["site_name"]) for g in user["roles"]}
    assert (role, site, SITE_NAMES[site]) in held, user["roles"]
    assert {g["site_code"] for g in user["roles"]} == {site}
    assert [(s["code"], s["name"]) for s in user["sites"]] == \
        [(site, SITE_NAMES[site])]


def test_admin_cannot_create_staff_at_another_site(admin, sites, db):
    body = staff_payload(unique_username("southward"), sites["south"]["id"])
    r = admin.post("/api/v1/staff", json=body)
    assert r.status_code == 403, describe(r)
    assert db.staff_count(body["username"]) == 0


def test_admin_cannot_grant_a_role_at_another_site(admin, make_staff, sites,
                                                   db):
    who = make_staff("grant-south", role=None)
    r = admin.post(f"/api/v1/staff/{who['id']}/roles",
                   json={"role": "coordinator", "site_id": sites["south"]["id"]})
    assert r.status_code == 403, describe(r)

    r = admin.get(f"/api/v1/staff/{who['id']}")
    assert r.status_code == 200, describe(r)
    assert json_of(r)["staff"]["roles"] == []
    assert db.scalar("SELECT count(*) FROM staff_role WHERE staff_id = %s",
                     (who["id"],)) == 0
