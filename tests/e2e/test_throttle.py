"""Failed sign-ins are throttled per account and per client address
(CPA_LOGIN_MAX_FAILURES_USER / CPA_LOGIN_MAX_FAILURES_ADDR within the
window); a throttled attempt is 429 with Retry-After even with the right
password."""

from cpa_e2e import (BAD_CREDENTIALS, describe, json_of, new_password,
                     session_cookie_set, unique_username)

WINDOW_MAX = 900


def retry_after(r):
    value = r.headers.get("Retry-After", "")
    assert value.isdigit(), f"Retry-After {value!r}: {describe(r)}"
    seconds = int(value)
    assert 0 < seconds <= WINDOW_MAX, seconds
    return seconds


def test_per_account_lockout(env, make_staff, client, fresh_addr, signin):
    who = make_staff("lockout")
    # Each attempt from its own address, so only the account counter counts.
    for n in range(env.max_fail_user):
        r = client(source=fresh_addr()).post(
            "/api/v1/session",
            json={"username": who["username"], "password": new_password()})
        assert r.status_code == 401, f"failure {n + 1}: {describe(r)}"
        assert json_of(r) == BAD_CREDENTIALS

    r = client(source=fresh_addr()).post(
        "/api/v1/session",
        json={"username": who["username"], "password": who["password"]})
    assert r.status_code == 429, describe(r)
    retry_after(r)
    assert isinstance(json_of(r)["error"], str)
    assert session_cookie_set(r) is None

    # Other accounts are not affected.
    other = make_staff("lockout-bystander")
    signin(other["username"], other["password"], source=fresh_addr())


def test_per_address_throttle(env, client, fresh_addr, make_staff, signin):
    who = make_staff("addr-victim")
    attacker = client(source=fresh_addr())
    for n in range(env.max_fail_addr):
        r = attacker.post("/api/v1/session",
                          json={"username": unique_username("spray"),
                                "password": new_password()})
        assert r.status_code == 401, f"failure {n + 1}: {describe(r)}"

    r = attacker.post("/api/v1/session",
                      json={"username": unique_username("spray"),
                            "password": new_password()})
    assert r.status_code == 429, describe(r)
    retry_after(r)

    r = attacker.post("/api/v1/session",
                      json={"username": who["username"],
                            "password": who["password"]})
    assert r.status_code == 429, "the right password from a throttled address"
    assert session_cookie_set(r) is None

    signin(who["username"], who["password"], source=fresh_addr())
