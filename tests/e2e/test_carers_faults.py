"""Faults around the carers worker: with PostgreSQL stopped, adding a carer,
recording consent and offering an assessment answer 503 and write nothing,
and work again once it is back; with cpa-carers stopped, nginx answers 503,
the sessions survive and nothing recorded before is lost."""

import re

import pytest

from cpa_e2e import HTML, Db, describe, wait_healthy
from test_faults import check_503_json, check_503_page, recovered, restore

pytestmark = pytest.mark.usefixtures("carers_up")

# Consecutive answers a recovery needs: more than one per worker process,
# each of which may answer one 503 on its stale connection.
STREAK = 10


def carer_rows(env, su):
    """(links, consent decisions, assessments) of person su, counted by
    the superuser on a connection of its own (one made before a restart
    of PostgreSQL is gone)."""
    db = Db(env.pg_super_dsn)
    try:
        return db.one(
            "SELECT (SELECT count(*) FROM carer_link WHERE service_user_id = %s)"
            " AS links, (SELECT count(*) FROM carer_consent co JOIN carer_link l"
            "   ON l.id = co.carer_link_id WHERE l.service_user_id = %s) AS consents,"
            " (SELECT count(*) FROM carer_assessment WHERE service_user_id = %s)"
            " AS assessments", (su, su, su))
    finally:
        db.close()


def test_postgres_down_writes_nothing_then_recovers(env, ctl, case, kit):
    k = case()
    c, su = k["c"], k["person"]["id"]
    link = kit.added(c, su)
    before = carer_rows(env, su)
    assert (before["links"], before["consents"], before["assessments"]) == (1, 0, 0)
    ctl("stop", "postgres")
    try:
        check_503_json(kit.add(c, su))
        check_503_json(kit.consent(c, link["id"], scope="full"))
        check_503_json(kit.offer(c, link["id"]))
        check_503_page(c.get(f"/service-users/{su}/carers", headers=HTML))
    finally:
        restore(env, ctl, "postgres")
    recovered(lambda: c.get(f"/api/v1/service-users/{su}/carers"),
              "the carers page after PostgreSQL restart", STREAK)
    after = carer_rows(env, su)
    assert after == before, f"a write survived the outage: {after} != {before}"
    kit.added(c, su)
    kit.consented(c, link["id"], "full")
    kit.offered(c, link["id"])
    done = carer_rows(env, su)
    assert (done["links"], done["consents"], done["assessments"]) == (2, 1, 1)


def test_carers_worker_down_is_503_and_nothing_is_lost(env, ctl, case, kit):
    k = case()
    c, su = k["c"], k["person"]["id"]
    link = kit.added(c, su)
    kit.consented(c, link["id"], "limited", topics=("crisis_plan",))
    ctl("stop", "carers")
    try:
        r = c.get(f"/api/v1/service-users/{su}/carers")
        assert r.status_code == 503, describe(r)
        assert re.search(r"(?i)service (is )?unavailable", r.text), r.text
        assert c.get("/healthz/carers").status_code == 503
        r = c.get("/api/v1/session")
        assert r.status_code == 200, "the other workers answer"
    finally:
        ctl("start", "carers")
        wait_healthy(env.base)
    recovered(lambda: c.get(f"/api/v1/service-users/{su}/carers"),
              "the carers page after cpa-carers restart", STREAK)
    again = kit.link(c, su, link["id"])
    assert again["consent"]["scope"] == "limited"
    assert again["consent"]["topics"] == ["crisis_plan"]
    assert again["may_know"] == {"care_plan": False, "crisis_plan": True,
                                 "medication": False, "appointments": False}
