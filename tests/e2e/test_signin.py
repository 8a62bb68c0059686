"""Sign-in through the JSON API and the HTML form: the session cookie's
attributes, the user object, uniform failures, input errors."""

from urllib.parse import urlsplit

from cpa_e2e import (BAD_CREDENTIALS, COOKIE, HTML, ROLE_KEYS,
                      SIGN_IN_TO_CONTINUE, addr_of, describe, is_html,
                      json_of, new_password, session_cookie_set, set_cookies)


def test_good_signin_returns_user_csrf_and_session_cookie(client, demo, audit):
    role, password, site = demo["coord.north"]
    mark = audit.mark()
    c = client()
    r = c.post("/api/v1/session",
               json={"username": "coord.north", "password": password})
    assert r.status_code == 200, describe(r)
    body = json_of(r)

    user = body["user"]
    assert user["username"] == "coord.north"
    assert isinstance(user["id"], int) and user["id"] > 0
    assert isinstance(user["display_name"], str) and user["display_name"]
    assert user["roles"], "a coordinator has at least one role"
    for grant in user["roles"]:
        assert ROLE_KEYS <= set(grant), grant
    assert any(g["role"] == "coordinator" and g["site_code"] == "north"
               and g["site_name"] == "North site" for g in user["roles"]), user
    assert [(s["code"], s["name"]) for s in user["sites"]] == \
        [("north", "North site")]

    token = body["csrf_token"]
    assert isinstance(token, str) and len(token) >= 32

    cookies = [c_ for c_ in set_cookies(r) if c_[0] == COOKIE]
    assert len(cookies) == 1, set_cookies(r)
    _, value, attrs = cookies[0]
    assert len(value) >= 43, "256 random bits, base64url"
    assert value != token
    assert "httponly" in attrs
    assert attrs.get("samesite", "").lower() == "strict"
    assert attrs.get("path") == "/"
    assert "secure" not in attrs, "the test stack is plain http (cookie_secure=0)"
    assert "domain" not in attrs
    assert not any(n == "__Host-" + COOKIE for n, _, _ in set_cookies(r))

    me = c.get("/api/v1/me")
    assert me.status_code == 200, describe(me)
    assert json_of(me)["user"]["id"] == user["id"]

    rows = audit.since(mark, action="signin", username="coord.north")
    assert len(rows) == 1, rows
    assert rows[0]["staff_id"] == user["id"]
    assert value not in str(rows[0]) and password not in str(rows[0])


def test_wrong_password_and_unknown_user_look_the_same(client, fresh_addr,
                                                       make_staff, audit):
    who = make_staff("wrongpw")
    mark = audit.mark()
    addr = fresh_addr()
    wrong = client(source=addr).post(
        "/api/v1/session",
        json={"username": who["username"], "password": new_password()})
    unknown = client(source=fresh_addr()).post(
        "/api/v1/session",
        json={"username": who["username"] + "-nobody", "password": new_password()})

    for r in (wrong, unknown):
        assert r.status_code == 401, describe(r)
        assert json_of(r) == BAD_CREDENTIALS
        assert session_cookie_set(r) is None, set_cookies(r)
    assert wrong.text == unknown.text

    rows = audit.since(mark, action="signin_failed", username=who["username"])
    assert len(rows) == 1, rows
    assert addr_of(rows[0]["remote_addr"]) == addr


def test_deactivated_user_gets_the_same_401(client, fresh_addr, make_staff,
                                            admin, signin):
    who = make_staff("deact")
    signin(who["username"], who["password"])
    r = admin.patch(f"/api/v1/staff/{who['id']}", json={"active": False})
    assert r.status_code == 200, describe(r)

    r = client(source=fresh_addr()).post(
        "/api/v1/session",
        json={"username": who["username"], "password": who["password"]})
    assert r.status_code == 401, describe(r)
    assert json_of(r) == BAD_CREDENTIALS
    assert session_cookie_set(r) is None


def test_missing_fields_give_422_per_field(client, fresh_addr):
    c = client(source=fresh_addr())
    cases = (
        ({"username": "coord.north"}, {"password"}),
        ({"password": new_password()}, {"username"}),
        ({}, {"username", "password"}),
        ({"username": "", "password": ""}, {"username", "password"}),
    )
    for payload, fields in cases:
        r = c.post("/api/v1/session", json=payload)
        assert r.status_code == 422, f"{payload}: {describe(r)}"
        body = json_of(r)
        assert isinstance(body.get("error"), str) and body["error"]
        assert set(body["errors"]) == fields, body
        for msg in body["errors"].values():
            assert isinstance(msg, str) and msg
        assert session_cookie_set(r) is None


def test_html_signin_form_redirects_home_with_cookie(client, demo):
    c = client()
    form = c.get("/signin", headers=HTML)
    assert form.status_code == 200, describe(form)
    assert is_html(form)
    assert 'name="username"' in form.text and 'name="password"' in form.text

    r = c.post("/signin", headers=HTML,
               data={"username": "prac.north", "password": demo["prac.north"][1]})
    assert r.status_code == 303, describe(r)
    assert urlsplit(r.headers["Location"]).path == "/"
    value = session_cookie_set(r)
    assert value, set_cookies(r)
    attrs = [a for n, _, a in set_cookies(r) if n == COOKIE][0]
    assert "httponly" in attrs and attrs.get("samesite", "").lower() == "strict"

    home = c.get("/", headers=HTML)
    assert home.status_code == 200, describe(home)
    assert is_html(home)


def test_failed_form_signin_rerenders_with_error(client, fresh_addr, make_staff):
    who = make_staff("formfail")
    c = client(source=fresh_addr())
    r = c.post("/signin", headers=HTML,
               data={"username": who["username"], "password": new_password()})
    assert r.status_code in (401, 422), describe(r)
    assert is_html(r)
    assert "Incorrect username or password" in r.text
    assert 'name="username"' in r.text and 'name="password"' in r.text
    assert session_cookie_set(r) is None
    assert c.get("/api/v1/session").status_code == 401


def test_get_session_with_and_without_cookie(client, as_demo):
    anon = client().get("/api/v1/session")
    assert anon.status_code == 401, describe(anon)
    assert json_of(anon) == SIGN_IN_TO_CONTINUE

    c = as_demo("auditor.north")
    r = c.get("/api/v1/session")
    assert r.status_code == 200, describe(r)
    body = json_of(r)
    assert body["user"]["username"] == "auditor.north"
    assert body["user"]["id"] == c.user["id"]
    assert body["csrf_token"] == c.csrf

    forged = client()
    forged.set_cookie("A" * 43)
    r = forged.get("/api/v1/session")
    assert r.status_code == 401, describe(r)
    assert json_of(r) == SIGN_IN_TO_CONTINUE
