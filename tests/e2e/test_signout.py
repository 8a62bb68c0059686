"""Signing out: one session (API and form), every session of a user, and a
password change ending the user's other sessions."""

from urllib.parse import urlsplit

from cpa_e2e import (HTML, cookie_cleared, describe, json_of, new_password,
                     session_cookie_set, with_cookie)


def alive(env, cookie):
    r = with_cookie(env.base, cookie).get("/api/v1/session")
    assert r.status_code in (200, 401), describe(r)
    return r.status_code == 200


def test_delete_session_kills_the_cookie_everywhere(env, as_demo, audit):
    c = as_demo("coord.north")
    old = c.cookie
    assert alive(env, old)
    mark = audit.mark()

    r = c.delete("/api/v1/session")
    assert r.status_code == 204, describe(r)
    assert r.content == b""
    assert cookie_cleared(r), r.raw.headers.getlist("Set-Cookie")

    assert not alive(env, old)
    r = with_cookie(env.base, old).get("/api/v1/me")
    assert r.status_code == 401, describe(r)
    rows = audit.since(mark, action="signout", username="coord.north")
    assert len(rows) == 1, rows


def test_form_signout(env, as_demo):
    c = as_demo("prac.north")
    old = c.cookie
    r = c.post("/signout", headers=HTML, data={"csrf_token": c.csrf})
    assert r.status_code == 303, describe(r)
    assert urlsplit(r.headers["Location"]).path in ("/signin", "/")
    assert cookie_cleared(r)
    assert not alive(env, old)


def test_signout_everywhere_ends_every_session_of_the_user(env, make_staff,
                                                           signin, as_demo,
                                                           audit):
    who = make_staff("everywhere")
    a = signin(who["username"], who["password"])
    b = signin(who["username"], who["password"])
    bystander = as_demo("auditor.north")
    assert a.cookie != b.cookie
    assert alive(env, a.cookie) and alive(env, b.cookie)
    old_a = a.cookie
    mark = audit.mark()

    r = a.delete("/api/v1/sessions")
    assert r.status_code == 204, describe(r)
    assert not alive(env, old_a)
    assert not alive(env, b.cookie)
    assert alive(env, bystander.cookie), "another user's session must survive"
    rows = audit.since(mark, action="signout_all", username=who["username"])
    assert len(rows) == 1, rows


def test_form_signout_everywhere(env, make_staff, signin):
    who = make_staff("everywhere-form")
    a = signin(who["username"], who["password"])
    b = signin(who["username"], who["password"])
    old_a = a.cookie
    r = a.post("/signout-everywhere", headers=HTML,
               data={"csrf_token": a.csrf})
    assert r.status_code == 303, describe(r)
    assert not alive(env, old_a)
    assert not alive(env, b.cookie)


def test_password_change_ends_other_sessions(env, make_staff, signin, client,
                                            fresh_addr, audit):
    who = make_staff("pwchange")
    a = signin(who["username"], who["password"])
    b = signin(who["username"], who["password"])
    old_a, old_csrf = a.cookie, a.csrf
    new = new_password()
    mark = audit.mark()

    r = a.put("/api/v1/me/password",
              json={"current_password": who["password"], "new_password": new})
    assert r.status_code == 200, describe(r)
    body = json_of(r)
    assert body["user"]["username"] == who["username"]
    assert body["csrf_token"] and body["csrf_token"] != old_csrf
    fresh = session_cookie_set(r)
    assert fresh and fresh != old_a
    assert a.cookie == fresh

    assert alive(env, fresh)
    assert not alive(env, old_a)
    assert not alive(env, b.cookie)
    rows = audit.since(mark, action="password_changed", username=who["username"])
    assert len(rows) == 1, rows
    assert who["password"] not in str(rows[0]) and new not in str(rows[0])

    r = client(source=fresh_addr()).post(
        "/api/v1/session",
        json={"username": who["username"], "password": who["password"]})
    assert r.status_code == 401, describe(r)
    signin(who["username"], new)


def test_password_change_validation(env, make_staff, signin, fresh_addr):
    who = make_staff("pwcheck")
    # A wrong current password may count as a failed sign-in: own address.
    a = signin(who["username"], who["password"], source=fresh_addr())

    r = a.put("/api/v1/me/password",
              json={"current_password": new_password(),
                    "new_password": new_password()})
    assert r.status_code == 422, describe(r)
    assert "current_password" in json_of(r)["errors"]

    for weak in ("short-pw", "x" * 129):
        r = a.put("/api/v1/me/password",
                  json={"current_password": who["password"],
                        "new_password": weak})
        assert r.status_code == 422, describe(r)
        assert "new_password" in json_of(r)["errors"]

    assert alive(env, a.cookie), "a refused change keeps the session"
    signin(who["username"], who["password"])
