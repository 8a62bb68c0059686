"""Staff administration by a trust_admin: create, validate, grant and revoke
roles, deactivate; every change audited; the HTML pages render with every
value escaped."""

from urllib.parse import urlsplit

import pytest

from cpa_e2e import (HTML, STAFF_KEYS, describe, first_team, html_text,
                     is_html, json_of, staff_payload, unique_username,
                     with_cookie)

XSS = "<script>alert(1)</script>"


def test_create_staff(admin, sites, db, audit):
    north = sites["north"]
    body = staff_payload(unique_username("create"), north["id"])
    mark = audit.mark()
    r = admin.post("/api/v1/staff", json=body)
    assert r.status_code == 201, describe(r)
    staff = json_of(r)["staff"]
    assert STAFF_KEYS <= set(staff), staff
    assert isinstance(staff["id"], int) and staff["id"] > 0
    assert urlsplit(r.headers["Location"]).path == f"/api/v1/staff/{staff['id']}"
    for key in ("username", "display_name", "professional_role", "email"):
        assert staff[key] == body[key], key
    assert staff["active"] is True
    assert staff["home_site_id"] == north["id"]
    assert staff["home_site_name"] == "North site"
    assert staff["roles"] == []
    assert body["password"] not in r.text and "argon2" not in r.text

    got = admin.get(r.headers["Location"])
    assert got.status_code == 200, describe(got)
    assert json_of(got)["staff"] == staff

    stored = db.scalar("SELECT row_to_json(s)::text FROM staff s "
                       "WHERE username = %s", (body["username"],))
    assert body["password"] not in stored
    assert "$argon2id$" in stored, "the password is kept as an argon2id hash"

    rows = audit.since(mark, action="staff_created", username="admin.north",
                       entity_id=staff["id"])
    assert len(rows) == 1, rows
    assert rows[0]["entity_type"] == "staff"
    assert body["password"] not in str(rows[0])


def test_duplicate_username_409(admin, sites, db):
    body = staff_payload(unique_username("dup"), sites["north"]["id"])
    assert admin.post("/api/v1/staff", json=body).status_code == 201
    again = dict(body, email="other." + body["email"])
    r = admin.post("/api/v1/staff", json=again)
    assert r.status_code == 409, describe(r)
    assert "username" in json_of(r)["errors"]
    assert db.staff_count(body["username"]) == 1


@pytest.mark.parametrize("field,over", (
    ("username", {"username": "Bad User!"}),
    ("username", {"username": "9starts-with-digit"}),
    ("username", {"username": "ab"}),
    ("password", {"password": "short"}),
    ("password", {"password": "p" * 129}),
    ("display_name", {"display_name": ""}),
    ("display_name", {"display_name": None}),
    ("email", {"email": "not-an-email"}),
))
def test_validation_422_per_field(field, over, admin, sites, db):
    body = staff_payload(unique_username("invalid"), sites["north"]["id"])
    body.update(over)
    if over.get(field, "") is None:
        del body[field]
    r = admin.post("/api/v1/staff", json=body)
    assert r.status_code == 422, describe(r)
    got = json_of(r)
    assert isinstance(got["error"], str) and got["error"]
    assert list(got["errors"]) == [field], got
    assert isinstance(got["errors"][field], str) and got["errors"][field]
    if isinstance(body.get("username"), str):
        assert db.staff_count(body["username"]) == 0


def test_every_invalid_field_is_reported_at_once(admin, sites):
    body = staff_payload("Bad User!", sites["north"]["id"], password="short")
    del body["display_name"]
    r = admin.post("/api/v1/staff", json=body)
    assert r.status_code == 422, describe(r)
    assert {"username", "password", "display_name"} <= set(json_of(r)["errors"])


def test_grant_role_with_district_and_team(admin, make_staff, sites, signin,
                                           audit):
    who = make_staff("teamrole", role=None)
    district, team = first_team(sites["north"])
    grant = {"role": "practitioner", "site_id": sites["north"]["id"],
             "district_id": district["id"], "team_id": team["id"]}
    mark = audit.mark()
    r = admin.post(f"/api/v1/staff/{who['id']}/roles", json=grant)
    assert r.status_code == 201, describe(r)
    role = json_of(r)["role"]
    for key, value in grant.items():
        assert role[key] == value, (key, role)

    r = admin.get(f"/api/v1/staff/{who['id']}")
    held = json_of(r)["staff"]["roles"]
    assert [g["id"] for g in held] == [role["id"]]
    assert held[0]["team_name"] == team["name"]
    assert held[0]["district_name"] == district["name"]

    r = admin.post(f"/api/v1/staff/{who['id']}/roles", json=grant)
    assert r.status_code == 409, describe(r)

    rows = audit.since(mark, action="role_granted", username="admin.north")
    assert len(rows) == 1, rows
    assert str(rows[0]["entity_id"]) in (str(who["id"]), str(role["id"]))

    user = signin(who["username"], who["password"]).user
    assert [(g["role"], g["team_id"]) for g in user["roles"]] == \
        [("practitioner", team["id"])]


def test_mismatched_district_or_team_422(admin, make_staff, sites, db):
    who = make_staff("mismatch", role=None)
    south_district, south_team = first_team(sites["south"])
    north_district, _ = first_team(sites["north"])
    north = sites["north"]["id"]
    for grant in (
        {"role": "coordinator", "site_id": north, "team_id": south_team["id"]},
        {"role": "coordinator", "site_id": north,
         "district_id": south_district["id"]},
        {"role": "coordinator", "site_id": north,
         "district_id": north_district["id"], "team_id": south_team["id"]},
    ):
        r = admin.post(f"/api/v1/staff/{who['id']}/roles", json=grant)
        assert r.status_code == 422, f"{grant}: {describe(r)}"
        assert json_of(r)["errors"], r.text
    r = admin.post(f"/api/v1/staff/{who['id']}/roles",
                   json={"role": "overlord", "site_id": north})
    assert r.status_code == 422, describe(r)
    assert "role" in json_of(r)["errors"]
    assert json_of(admin.get(f"/api/v1/staff/{who['id']}"))["staff"]["roles"] == []


def test_revoke_role(admin, make_staff, audit):
    who = make_staff("revoke-admin")
    role_id = who["role"]["id"]
    mark = audit.mark()
    r = admin.delete(f"/api/v1/staff/{who['id']}/roles/{role_id}")
    assert r.status_code == 204, describe(r)
    assert json_of(admin.get(f"/api/v1/staff/{who['id']}"))["staff"]["roles"] == []
    r = admin.delete(f"/api/v1/staff/{who['id']}/roles/{role_id}")
    assert r.status_code == 404, describe(r)
    rows = audit.since(mark, action="role_revoked", username="admin.north")
    assert len(rows) == 1, rows


def test_patch_and_deactivate(env, admin, make_staff, signin, client,
                              fresh_addr, audit):
    who = make_staff("patch")
    s = signin(who["username"], who["password"])
    mark = audit.mark()

    r = admin.patch(f"/api/v1/staff/{who['id']}",
                    json={"display_name": "Renamed Person",
                          "professional_role": "Social worker"})
    assert r.status_code == 200, describe(r)
    staff = json_of(r)["staff"]
    assert staff["display_name"] == "Renamed Person"
    assert staff["professional_role"] == "Social worker"
    assert staff["active"] is True

    r = admin.patch(f"/api/v1/staff/{who['id']}", json={"active": False})
    assert r.status_code == 200, describe(r)
    assert json_of(r)["staff"]["active"] is False
    assert with_cookie(env.base, s.cookie).get(
        "/api/v1/session").status_code == 401, "deactivation ends sessions"
    r = client(source=fresh_addr()).post(
        "/api/v1/session",
        json={"username": who["username"], "password": who["password"]})
    assert r.status_code == 401, describe(r)

    rows = audit.since(mark, action="staff_updated", username="admin.north",
                       entity_id=who["id"])
    assert len(rows) == 2, rows

    r = admin.patch(f"/api/v1/staff/{who['id']}", json={"active": True})
    assert r.status_code == 200, describe(r)
    signin(who["username"], who["password"])


def test_html_admin_pages_render(admin, make_staff):
    who = make_staff("htmlpage")
    listing = admin.get("/admin/staff", headers=HTML)
    assert listing.status_code == 200, describe(listing)
    assert is_html(listing)
    shown = html_text(listing)
    staff = json_of(admin.get("/api/v1/staff"))["staff"]
    assert who["username"] in {s["username"] for s in staff}
    for s in staff:
        if not s["username"].startswith("e2e-") or s["username"] == who["username"]:
            assert s["display_name"] in shown, s["display_name"]

    new = admin.get("/admin/staff/new", headers=HTML)
    assert new.status_code == 200, describe(new)
    assert is_html(new)
    for name in ("username", "display_name", "password", "site_id",
                 "csrf_token"):
        assert f'name="{name}"' in new.text, name
    assert admin.csrf in new.text

    page = admin.get(f"/admin/staff/{who['id']}", headers=HTML)
    assert page.status_code == 200, describe(page)
    assert is_html(page)
    assert who["username"] in page.text
    assert who["staff"]["display_name"] in html_text(page)


def test_html_forms_create_grant_and_revoke(admin, sites, db):
    north = sites["north"]
    body = staff_payload(unique_username("htmlform"), north["id"])
    r = admin.post("/admin/staff", headers=HTML, csrf=False,
                   data=dict(body, csrf_token=admin.csrf))
    assert r.status_code == 303, describe(r)
    staff_id = db.scalar("SELECT id FROM staff WHERE username = %s",
                         (body["username"],))
    assert urlsplit(r.headers["Location"]).path == f"/admin/staff/{staff_id}"

    r = admin.post(f"/admin/staff/{staff_id}/roles", headers=HTML, csrf=False,
                   data={"role": "auditor", "site_id": north["id"],
                         "csrf_token": admin.csrf})
    assert r.status_code == 303, describe(r)
    roles = json_of(admin.get(f"/api/v1/staff/{staff_id}"))["staff"]["roles"]
    assert [g["role"] for g in roles] == ["auditor"]

    r = admin.post(f"/admin/staff/{staff_id}/roles/{roles[0]['id']}/delete",
                   headers=HTML, csrf=False, data={"csrf_token": admin.csrf})
    assert r.status_code == 303, describe(r)
    assert json_of(admin.get(f"/api/v1/staff/{staff_id}"))["staff"]["roles"] == []

    bad = dict(body, username="Bad User!", csrf_token=admin.csrf)
    r = admin.post("/admin/staff", headers=HTML, csrf=False, data=bad)
    assert r.status_code == 422, describe(r)
    assert is_html(r)
    assert 'name="username"' in r.text


def test_markup_in_names_is_escaped_in_html_and_intact_in_json(admin, sites):
    name = f"Eve {XSS} & \"quotes\" 'too'"
    body = staff_payload(unique_username("xss"), sites["north"]["id"],
                         display_name=name)
    r = admin.post("/api/v1/staff", json=body)
    assert r.status_code == 201, describe(r)
    staff = json_of(r)["staff"]
    assert staff["display_name"] == name
    assert json_of(admin.get(f"/api/v1/staff/{staff['id']}"))["staff"][
        "display_name"] == name

    for path in ("/admin/staff", f"/admin/staff/{staff['id']}"):
        page = admin.get(path, headers=HTML)
        assert page.status_code == 200, describe(page)
        assert XSS not in page.text, f"{path} echoes markup unescaped"
        assert "<script>alert" not in page.text
        assert name in html_text(page), f"{path} does not show the name"
