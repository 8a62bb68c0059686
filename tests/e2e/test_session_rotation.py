"""Session tokens rotate: a sign-in never keeps the token the browser came
with, and a change of roles ends the holder's sessions."""

from cpa_e2e import describe, with_cookie


def status(env, cookie):
    return with_cookie(env.base, cookie).get("/api/v1/session").status_code


def test_signing_in_again_replaces_the_token(env, as_demo, signin, demo):
    c = as_demo("tm.north")
    a, csrf_a = c.cookie, c.csrf
    assert status(env, a) == 200

    signin("tm.north", demo["tm.north"][1], client=c)
    b = c.cookie
    assert b and b != a
    assert c.csrf != csrf_a
    assert status(env, a) == 401, "the token held before sign-in must die"
    assert status(env, b) == 200


def test_planted_token_is_never_promoted(env, client, signin, demo):
    planted = "Q" * 43
    c = client()
    c.set_cookie(planted)
    signin("dm.north", demo["dm.north"][1], client=c)
    assert c.cookie != planted
    assert status(env, planted) == 401
    assert status(env, c.cookie) == 200


def test_role_grant_ends_the_grantees_sessions(env, make_staff, signin, admin,
                                               sites):
    who = make_staff("regrant", role="practitioner")
    s = signin(who["username"], who["password"])
    assert status(env, s.cookie) == 200

    r = admin.post(f"/api/v1/staff/{who['id']}/roles",
                   json={"role": "coordinator", "site_id": sites["north"]["id"]})
    assert r.status_code == 201, describe(r)
    assert status(env, s.cookie) == 401
    assert status(env, admin.cookie) == 200, "the granting admin stays signed in"

    again = signin(who["username"], who["password"])
    held = {(g["role"], g["site_code"]) for g in again.user["roles"]}
    assert held == {("practitioner", "north"), ("coordinator", "north")}


def test_role_revoke_ends_the_holders_sessions(env, make_staff, signin, admin):
    who = make_staff("revoke", role="practitioner")
    s = signin(who["username"], who["password"])
    r = admin.delete(f"/api/v1/staff/{who['id']}/roles/{who['role']['id']}")
    assert r.status_code == 204, describe(r)
    assert status(env, s.cookie) == 401
    assert status(env, admin.cookie) == 200
