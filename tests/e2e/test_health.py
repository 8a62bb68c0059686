"""The auth worker's health check, through nginx."""

from cpa_e2e import describe, json_of

HEALTHY = {"status": "ok", "worker": "auth", "postgres": "ok", "redis": "ok"}


def test_health_ok(client):
    r = client().get("/healthz/auth")
    assert r.status_code == 200, describe(r)
    body = json_of(r)
    assert {k: body.get(k) for k in HEALTHY} == HEALTHY, body
    assert "no-store" in r.headers.get("Cache-Control", "")


def test_short_stack_health_ok(env, client):
    r = client(base=env.short_base).get("/healthz/auth")
    assert r.status_code == 200, describe(r)
    assert {k: json_of(r).get(k) for k in HEALTHY} == HEALTHY


def test_health_needs_no_session_and_sets_none(client):
    r = client().get("/healthz/auth")
    assert r.status_code == 200
    assert "Set-Cookie" not in r.headers
