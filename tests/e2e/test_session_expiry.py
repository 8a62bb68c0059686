"""Session lifetimes enforced by the server, on the short-timeout stack
(CPA_SHORT_BASE_URL: idle CPA_SHORT_IDLE_SECONDS, absolute
CPA_SHORT_ABSOLUTE_SECONDS).  Time is the behaviour here, so these tests
sleep."""

import time
from urllib.parse import urlsplit

from cpa_e2e import HTML, SIGN_IN_TO_CONTINUE, describe, json_of


def test_idle_timeout(env, as_demo):
    assert env.short_idle + 1 < env.short_absolute, \
        "the short stack's idle timeout must be well under its absolute one"
    c = as_demo("coord.north", base=env.short_base)
    started = time.monotonic()
    r = c.get("/api/v1/session")
    assert r.status_code == 200, describe(r)

    time.sleep(env.short_idle + 1)
    assert time.monotonic() - started < env.short_absolute - 1
    r = c.get("/api/v1/session")
    assert r.status_code == 401, describe(r)
    assert json_of(r) == SIGN_IN_TO_CONTINUE

    page = c.get("/", headers=HTML)
    assert page.status_code == 303, describe(page)
    assert urlsplit(page.headers["Location"]).path == "/signin"


def test_absolute_timeout_even_when_never_idle(env, as_demo):
    c = as_demo("prac.north", base=env.short_base)
    started = time.monotonic()
    # Touch well inside the idle window so idleness never ends the session.
    interval = min(1.0, env.short_idle / 2) * 0.9
    seen = []
    while True:
        time.sleep(interval)
        elapsed = time.monotonic() - started
        r = c.get("/api/v1/session")
        assert r.status_code in (200, 401), describe(r)
        seen.append((round(elapsed, 2), r.status_code))
        if elapsed < env.short_absolute - 1.5:
            assert r.status_code == 200, f"expired too early: {seen}"
        if elapsed >= env.short_absolute + 1:
            assert r.status_code == 401, f"outlived the absolute limit: {seen}"
            break
    # Alive past the idle limit only because it was touched: sliding expiry.
    assert any(s == 200 and t > env.short_idle for t, s in seen), seen
    # Once expired it stays expired.
    first_dead = next(i for i, (_, s) in enumerate(seen) if s == 401)
    assert all(s == 401 for _, s in seen[first_dead:]), seen
