"""Faults: Redis, PostgreSQL or the worker gone.  The stack must fail closed
with a plain 503 (never a 200 on trust, never internals), write nothing
half-done, and recover once the service is back.  Every test restarts what
it stopped and waits for health before it ends.  conftest.py runs this file
last."""

import os
import re
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from cpa_e2e import (COOKIE, HTML, HTTP_TIMEOUT, Db, children_of, describe,
                     health, is_html, json_of, session_cookie_set,
                     staff_payload, unique_username, wait_healthy, wait_until,
                     with_cookie)

INTERNALS = re.compile(r"(?i)libpq|hiredis|could not connect|connection "
                       r"refused|server closed|no such file|\.c:\d+|errno")


def check_503_json(r):
    assert r.status_code == 503, describe(r)
    body = json_of(r)
    assert isinstance(body.get("error"), str) and body["error"], body
    assert body.get("incident"), f"a 5xx carries an incident id: {body}"
    assert not INTERNALS.search(r.text), f"internals shown: {r.text!r}"


def check_503_page(r):
    assert r.status_code == 503, describe(r)
    assert is_html(r), describe(r)
    assert not INTERNALS.search(r.text), f"internals shown: {r.text[:500]!r}"


def check_health_503(env, failing):
    r = health(env.base)
    assert r.status_code == 503, describe(r)
    body = json_of(r)
    assert body.get(failing) == "unavailable", body
    other = "redis" if failing == "postgres" else "postgres"
    assert body.get(other) == "ok", body


def recovered(request, what, n):
    """Poll request() until n answers in a row are 200 (bounded); a stale
    connection may cost one 503 per worker process, anything else fails."""
    streak = [0]

    def ok():
        r = request()
        assert r.status_code in (200, 503), describe(r)
        streak[0] = streak[0] + 1 if r.status_code == 200 else 0
        return streak[0] >= n
    wait_until(ok, 30, what, interval=0.05)


def restore(env, ctl, service):
    ctl("start", service)
    wait_healthy(env.base)
    wait_healthy(env.short_base)


def test_redis_down_fails_closed(env, ctl, as_demo, demo, client, fresh_addr):
    c = as_demo("coord.north")
    old = c.cookie
    ctl("stop", "redis")
    try:
        check_503_json(c.get("/api/v1/session"))
        check_503_json(c.get("/api/v1/me"))
        check_503_page(c.get("/", headers=HTML))
        check_health_503(env, "redis")
        r = client(source=fresh_addr()).post(
            "/api/v1/session",
            json={"username": "coord.north", "password": demo["coord.north"][1]})
        check_503_json(r)
        assert session_cookie_set(r) is None
    finally:
        restore(env, ctl, "redis")

    recovered(lambda: client().get("/healthz/auth"), "health after Redis restart",
              env.auth_workers * 2)
    r = with_cookie(env.base, old).get("/api/v1/session")
    assert r.status_code in (200, 401), describe(r)
    fresh = as_demo("coord.north")
    recovered(lambda: fresh.get("/api/v1/me"), "/api/v1/me after Redis restart",
              env.auth_workers * 2)


def test_postgres_down_writes_nothing(env, ctl, as_demo, make_staff, sites,
                                      client, fresh_addr, signin):
    who = make_staff("pgdown")
    adm = as_demo("admin.north")
    body = staff_payload(unique_username("pgdown-new"), sites["north"]["id"])
    ctl("stop", "postgres")
    try:
        r = client(source=fresh_addr()).post(
            "/api/v1/session",
            json={"username": who["username"], "password": who["password"]})
        check_503_json(r)
        assert session_cookie_set(r) is None
        check_503_json(adm.post("/api/v1/staff", json=body))
        check_503_page(adm.get("/admin/staff", headers=HTML))
        check_health_503(env, "postgres")
    finally:
        restore(env, ctl, "postgres")

    recovered(lambda: adm.get("/api/v1/staff"),
              "/api/v1/staff after PostgreSQL restart", env.auth_workers * 2)
    db = Db(env.pg_super_dsn)
    try:
        assert db.staff_count(body["username"]) == 0, "a write survived the outage"
    finally:
        db.close()
    signin(who["username"], who["password"])
    r = adm.post("/api/v1/staff", json=body)
    assert r.status_code == 201, describe(r)


def test_worker_child_killed_under_load(env, ctl, as_demo):
    master = int(ctl("pid", "auth").strip())
    before = wait_until(
        lambda: (lambda k: k if len(k) == env.auth_workers else None)(
            children_of(master)),
        10, f"{env.auth_workers} children of the auth master {master}")
    c = as_demo("coord.north")
    cookie = c.cookie
    url = env.base + "/api/v1/session"
    victim = before[len(before) // 2]
    total, kill_after = 200, 50
    lock = threading.Lock()
    done = [0]
    killed = threading.Event()
    local = threading.local()

    def one(_):
        s = getattr(local, "s", None)
        if s is None:
            s = local.s = requests.Session()
        try:
            r = s.get(url, headers={"Cookie": f"{COOKIE}={cookie}"},
                      timeout=HTTP_TIMEOUT)
            result = r.status_code
        except requests.RequestException as e:
            result = repr(e)
        with lock:
            done[0] += 1
            if done[0] == kill_after:
                os.kill(victim, signal.SIGKILL)
                killed.set()
        return result

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(one, range(total)))
    assert killed.is_set()
    failed = [x for x in results if x != 200]
    assert len(failed) <= 1, f"{len(failed)} requests failed: {failed[:10]}"

    def respawned():
        kids = children_of(master)
        return len(kids) == env.auth_workers and victim not in kids
    wait_until(respawned, 10, "the master to replace the killed child")
    assert int(ctl("pid", "auth").strip()) == master, "the master itself died"

    for _ in range(20):
        r = with_cookie(env.base, cookie).get("/api/v1/session")
        assert r.status_code == 200, describe(r)


def test_worker_down_gives_plain_503_and_sessions_survive(env, ctl, as_demo,
                                                          client):
    c = as_demo("prac.north")
    ctl("stop", "auth")
    try:
        r = c.get("/api/v1/session")
        assert r.status_code == 503, describe(r)
        assert re.search(r"(?i)service (is )?unavailable", r.text), r.text
        assert client().get("/healthz/auth").status_code == 503
        r = c.get("/", headers=HTML)
        assert r.status_code == 503, describe(r)
    finally:
        ctl("start", "auth")
        wait_healthy(env.base)
    r = with_cookie(env.base, c.cookie).get("/api/v1/session")
    assert r.status_code == 200, "sessions live in Redis, not in the worker"
