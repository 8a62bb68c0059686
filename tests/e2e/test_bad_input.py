"""Hostile or malformed requests get a precise 4xx, never a 5xx, never a
half-done change, never an injected response header."""

import json

import pytest

from cpa_e2e import (HTML, describe, json_of, new_password, staff_payload,
                     unique_username)


def no_injected_headers(r):
    for name, value in r.raw.headers.items():
        assert "injected" not in name.lower(), (name, value)
        assert "\r" not in value and "\n" not in value, (name, value)
    assert not any(n == "evil" for n in r.cookies.keys())


def test_oversized_body_413_and_nothing_created(admin, sites, db):
    body = staff_payload(unique_username("huge"), sites["north"]["id"])
    body["professional_role"] = "x" * (2 * 1024 * 1024)
    r = admin.post("/api/v1/staff", data=json.dumps(body),
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 413, describe(r)
    assert db.staff_count(body["username"]) == 0


def test_body_just_over_the_worker_limit_is_refused(admin, sites, db):
    body = staff_payload(unique_username("big"), sites["north"]["id"],
                         professional_role="")
    body["professional_role"] = "x" * (1024 * 1024 + 1 - len(json.dumps(body)))
    data = json.dumps(body)
    assert len(data) == 1024 * 1024 + 1
    r = admin.post("/api/v1/staff", data=data,
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 413, describe(r)
    assert db.staff_count(body["username"]) == 0


@pytest.mark.parametrize("raw", (
    b'{"username": "coord.north", "password": ',
    b'{"username": "coord.north" "password": "x"}',
    b'["username", "password"]',
    b'',
    b'{"username": "a", "username": "b", "password": "cccccccccccc"}',
    b'{"a":' * 100 + b'1' + b'}' * 100,
))
def test_malformed_json_400(raw, client, fresh_addr):
    r = client(source=fresh_addr()).post(
        "/api/v1/session", data=raw,
        headers={"Content-Type": "application/json"})
    assert r.status_code == 400, describe(r)
    assert isinstance(json_of(r)["error"], str) and json_of(r)["error"]


def test_malformed_json_from_a_signed_in_admin_400(admin, db):
    r = admin.post("/api/v1/staff", data=b'{"username": "x",',
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 400, describe(r)
    assert json_of(r)["error"]


@pytest.mark.parametrize("ctype,data", (
    ("text/plain", b"username=coord.north&password=whatever-password"),
    ("multipart/form-data; boundary=XyZ",
     b"--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\n"
     b"coord.north\r\n--XyZ--\r\n"),
    ("application/xml", b"<signin/>"),
))
def test_wrong_content_type_415(ctype, data, client, fresh_addr):
    r = client(source=fresh_addr()).post(
        "/api/v1/session", data=data, headers={"Content-Type": ctype})
    assert r.status_code == 415, describe(r)


def test_invalid_utf8_in_json_400(client, fresh_addr):
    c = client(source=fresh_addr())
    for raw in (b'{"username": "co\xffrd", "password": "abcdefghijklmn"}',
                b'{"username": "\xc0\xaf", "password": "abcdefghijklmn"}',
                b'{"username": "\xed\xa0\x80", "password": "abcdefghijklmn"}'):
        r = c.post("/api/v1/session", data=raw,
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 400, describe(r)


def test_bad_percent_escape_in_form_400(client, fresh_addr):
    c = client(source=fresh_addr())
    for raw in (b"username=%zz&password=abcdefghijklmn",
                b"username=coord.north&password=abc%",
                b"username=a%00b&password=abcdefghijklmn"):
        r = c.post("/signin", data=raw, headers=dict(
            HTML, **{"Content-Type": "application/x-www-form-urlencoded"}))
        assert r.status_code == 400, describe(r)


def test_crlf_in_json_fields_injects_no_header(client, fresh_addr, admin,
                                               sites, db):
    evil = "x\r\nX-Injected: yes\r\nSet-Cookie: evil=1"
    r = client(source=fresh_addr()).post(
        "/api/v1/session", json={"username": evil, "password": evil + "-long"})
    assert r.status_code in (401, 422), describe(r)
    no_injected_headers(r)

    body = staff_payload(unique_username("crlf"), sites["north"]["id"],
                         display_name="Line\r\nX-Injected: yes")
    r = admin.post("/api/v1/staff", json=body)
    assert r.status_code in (201, 422), describe(r)
    no_injected_headers(r)
    if r.status_code == 201:
        assert "display_name" not in r.headers.get("Location", "")


@pytest.mark.parametrize("path", (
    "/api/v1/staff/1%0d%0aX-Injected:%20yes",
    "/admin/staff/1%0d%0aX-Injected:%20yes",
    "/signin%0d%0aX-Injected:%20yes",
    "/api/v1/sites/%0d%0aSet-Cookie:%20evil=1",
))
def test_crlf_in_url_injects_no_header(path, admin, client):
    for c in (admin, client()):
        r = c.get(path, headers=HTML)
        assert r.status_code < 500, describe(r)
        assert r.status_code in (303, 400, 401, 403, 404), describe(r)
        no_injected_headers(r)


def test_very_long_url_is_refused_without_5xx(client, admin):
    for c in (client(), admin):
        r = c.get("/api/v1/staff/" + "a" * 10240)
        assert r.status_code in (400, 414), describe(r)
        r = c.get("/api/v1/sites?q=" + "b" * 10240)
        assert r.status_code in (400, 414), describe(r)


UNKNOWN = ("/nope", "/api/v1/nope", "/api/v1/staff/1/nope",
           "/api/v1/sites/1/2/3", "/admin/nope")


def test_unknown_paths_404(client, admin):
    for path in UNKNOWN:
        r = admin.get(path)
        assert r.status_code == 404, describe(r)
    # Signed out, the worker may ask for a session before it looks the
    # path up; it must never show anything else.
    anon = client()
    for path in UNKNOWN:
        r = anon.get(path)
        assert r.status_code in (404, 401, 303), describe(r)
    assert anon.get("/nope").status_code == 404
    r = admin.get("/api/v1/staff/not-a-number")
    assert r.status_code in (400, 404), describe(r)


def test_wrong_method_405_with_allow(admin):
    for method, path, allowed in (("PUT", "/api/v1/sites", "GET"),
                                  ("POST", "/api/v1/me", "GET"),
                                  ("PATCH", "/api/v1/session", "GET"),
                                  ("DELETE", "/api/v1/staff", "GET")):
        r = admin.request(method, path, json={})
        assert r.status_code == 405, describe(r)
        allow = [m.strip() for m in r.headers.get("Allow", "").split(",")]
        assert allowed in allow, r.headers.get("Allow")
        assert method not in allow


def test_wrongly_typed_or_oversized_fields_are_not_5xx(client, fresh_addr):
    c = client(source=fresh_addr())
    nobody = unique_username("nobody")
    for body in ({"username": 5, "password": new_password()},
                 {"username": ["a"], "password": {"b": 1}},
                 {"username": None, "password": None},
                 {"username": nobody, "password": "p" * 5000},
                 {"username": "u" * 5000, "password": new_password()}):
        r = c.post("/api/v1/session", json=body)
        assert r.status_code in (400, 401, 422), describe(r)
