"""Cross-site request forgery defences: the session's synchronizer token on
every state change (header for JSON, field for forms) and the Origin
check.  Each refusal is 403 with nothing changed; a control request shows
the same change succeeds with the right token."""

from cpa_e2e import (HTML, describe, json_of, new_password, session_cookie_set,
                     staff_payload, unique_username, with_cookie)

EVIL = "http://evil.example"


def staff_names(admin):
    r = admin.get("/api/v1/staff")
    assert r.status_code == 200, describe(r)
    return {s["username"] for s in json_of(r)["staff"]}


def refused(r):
    assert r.status_code == 403, describe(r)


def test_json_post_without_token_changes_nothing(admin, sites, db):
    body = staff_payload(unique_username("csrf-none"), sites["north"]["id"])
    r = admin.post("/api/v1/staff", json=body, csrf=False)
    refused(r)
    assert isinstance(json_of(r)["error"], str)
    assert db.staff_count(body["username"]) == 0
    assert body["username"] not in staff_names(admin)

    r = admin.post("/api/v1/staff", json=body)
    assert r.status_code == 201, describe(r)
    assert db.staff_count(body["username"]) == 1


def test_wrong_or_foreign_token_is_refused(admin, as_demo, sites, db):
    other = as_demo("admin.north")
    assert other.csrf != admin.csrf
    body = staff_payload(unique_username("csrf-wrong"), sites["north"]["id"])
    for token in ("x" * 43, admin.csrf[:-1], other.csrf, admin.csrf + "x"):
        refused(admin.post("/api/v1/staff", json=body, csrf=token))
    assert db.staff_count(body["username"]) == 0


def test_right_token_from_a_foreign_origin_is_refused(admin, sites, db):
    body = staff_payload(unique_username("csrf-origin"), sites["north"]["id"])
    for origin in (EVIL, "null", admin.origin + ".evil.example",
                   admin.origin.replace("http://", "https://")):
        refused(admin.post("/api/v1/staff", json=body, origin=origin))
    assert db.staff_count(body["username"]) == 0


def test_signout_needs_the_token(env, as_demo):
    c = as_demo("coord.north")
    refused(c.delete("/api/v1/session", csrf=False))
    refused(c.delete("/api/v1/sessions", csrf="x" * 43))
    refused(c.delete("/api/v1/session", origin=EVIL))
    r = with_cookie(env.base, c.cookie).get("/api/v1/session")
    assert r.status_code == 200, "a refused sign-out leaves the session alive"


def test_form_posts_need_the_csrf_field(env, admin, sites, db):
    refused(admin.post("/signout", headers=HTML, data={}, csrf=False))
    refused(admin.post("/signout", headers=HTML,
                       data={"csrf_token": "x" * 43}, csrf=False))
    assert with_cookie(env.base, admin.cookie).get(
        "/api/v1/session").status_code == 200

    body = staff_payload(unique_username("csrf-form"), sites["north"]["id"])
    refused(admin.post("/admin/staff", headers=HTML, data=body, csrf=False))
    assert db.staff_count(body["username"]) == 0

    r = admin.post("/admin/staff", headers=HTML, csrf=False,
                   data=dict(body, csrf_token=admin.csrf))
    assert r.status_code == 303, describe(r)
    assert db.staff_count(body["username"]) == 1


def test_password_change_needs_the_token(make_staff, signin):
    who = make_staff("csrf-pw")
    c = signin(who["username"], who["password"])
    refused(c.put("/api/v1/me/password", csrf=False,
                  json={"current_password": who["password"],
                        "new_password": new_password()}))
    signin(who["username"], who["password"])


def test_signin_from_a_foreign_origin_is_refused(client, demo):
    c = client()
    r = c.post("/api/v1/session", origin=EVIL,
               json={"username": "coord.north",
                     "password": demo["coord.north"][1]})
    refused(r)
    assert session_cookie_set(r) is None
