"""Idempotent referral submission: the same Idempotency-Key (or form field
idempotency_key) from the same user makes one referral and one person, also
when the retries race; another key, or another user, makes another."""

import re
import threading
from urllib.parse import urlsplit

from cpa_e2e import (HTML, Client, describe, fill_form, form_of, json_of,
                     new_idempotency_key, person_fields, referral_body,
                     unique_reason)


def post(c, body, key):
    return c.post("/api/v1/referrals", json=body,
                  headers={"Idempotency-Key": key})


def counts(db, key, family_name):
    return (db.scalar("SELECT count(*) FROM referral WHERE idempotency_key = %s",
                      (key,)),
            db.scalar("SELECT count(*) FROM service_user WHERE family_name = %s",
                      (family_name,)))


def test_same_key_twice_makes_one_referral(staff, teams, db):
    c = staff("coord.north")
    body = referral_body(teams["north_riverside_cmht"]["id"])
    key = new_idempotency_key()
    first = post(c, body, key)
    assert first.status_code == 201, describe(first)
    again = post(c, body, key)
    assert again.status_code == 200, describe(again)
    a, b = json_of(first), json_of(again)
    assert b["referral"]["id"] == a["referral"]["id"]
    assert b["service_user"]["id"] == a["service_user"]["id"]
    assert b["referral"]["received_at"] == a["referral"]["received_at"]
    assert counts(db, key, body["family_name"]) == (1, 1)
    row = db.one("SELECT created_by FROM referral WHERE idempotency_key = %s",
                 (key,))
    assert row["created_by"] == c.user["id"]


def race(env, signed_in, body, key, n):
    """n clients on warm connections post body under key at once."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def submit(i):
        c = Client(env.base)
        c.set_cookie(signed_in.cookie)
        c.csrf = signed_in.csrf
        try:
            # Connected and through nginx once before the start line, so
            # the posts leave together.
            c.get("/api/v1/teams")
            barrier.wait(timeout=20)
            results[i] = post(c, body, key)
        except Exception as e:      # reported by the caller, with the others
            results[i] = e

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_same_key_racing_makes_one_referral(env, staff, teams, db):
    signed_in = staff("coord.north")
    n = 8
    for _ in range(3):
        # No NHS number: only the key can tell the racers they are one.
        body = referral_body(teams["north_riverside_cmht"]["id"],
                             person_fields(nhs=False))
        key = new_idempotency_key()
        results = race(env, signed_in, body, key, n)
        problems = [r if isinstance(r, Exception) else describe(r)
                    for r in results
                    if isinstance(r, Exception) or r.status_code not in (200, 201)]
        assert not problems, problems
        codes = sorted(r.status_code for r in results)
        assert codes == [200] * (n - 1) + [201], codes
        assert len({json_of(r)["referral"]["id"] for r in results}) == 1
        assert len({json_of(r)["service_user"]["id"] for r in results}) == 1
        assert counts(db, key, body["family_name"]) == (1, 1)


def test_another_key_makes_another_referral(staff, teams, db):
    c = staff("coord.north")
    team = teams["north_riverside_cmht"]["id"]
    body = referral_body(team)
    r1 = post(c, body, new_idempotency_key())
    assert r1.status_code == 201, describe(r1)
    su = json_of(r1)["service_user"]
    # The same person, referred again on purpose under a new key.
    body2 = referral_body(team, service_user_id=su["id"], urgency="urgent")
    r2 = post(c, body2, new_idempotency_key())
    assert r2.status_code == 201, describe(r2)
    assert json_of(r2)["referral"]["id"] != json_of(r1)["referral"]["id"]
    assert json_of(r2)["service_user"]["id"] == su["id"]
    assert db.scalar("SELECT count(*) FROM referral WHERE service_user_id = %s",
                     (su["id"],)) == 2


def test_the_key_belongs_to_its_user(staff, teams, db):
    body = referral_body(teams["north_riverside_cmht"]["id"],
                         person_fields(nhs=False))
    key = new_idempotency_key()
    r1 = post(staff("coord.north"), body, key)
    assert r1.status_code == 201, describe(r1)
    r2 = post(staff("tm.north"), body, key)
    assert r2.status_code == 201, describe(r2)
    assert json_of(r2)["referral"]["id"] != json_of(r1)["referral"]["id"]
    assert db.scalar("SELECT count(*) FROM referral WHERE idempotency_key = %s",
                     (key,)) == 2


def test_bad_key_422(staff, teams, db):
    c = staff("coord.north")
    for key in ("short", "k" * 101):
        body = referral_body(teams["north_riverside_cmht"]["id"])
        r = post(c, body, key)
        assert r.status_code == 422, describe(r)
        assert counts(db, key, body["family_name"]) == (0, 0)


def test_resubmitted_form_makes_one_referral(staff, teams, db):
    c = staff("coord.north")
    r = c.get("/referrals/new", headers=HTML)
    assert r.status_code == 200, describe(r)
    form = form_of(r.text, "/referrals")
    hidden = {f[0]: f[2] for f in form["fields"] if f[1] == "hidden"}
    key = hidden.get("idempotency_key", "")
    assert 8 <= len(key) <= 100, f"hidden idempotency_key: {key!r}"
    assert hidden.get("csrf_token") == c.csrf
    again = c.get("/referrals/new", headers=HTML)
    assert again.status_code == 200, describe(again)
    other = {f[0]: f[2] for f in form_of(again.text, "/referrals")["fields"]}
    assert other["idempotency_key"] != key, "each form gets a fresh key"

    person = person_fields()
    values = dict(person, team_id=teams["north_riverside_cmht"]["id"],
                  source="gp", urgency="urgent",
                  reason=unique_reason())
    data = fill_form(form, values)
    first = c.post("/referrals", data=data, headers=HTML)
    assert first.status_code == 303, describe(first)
    location = urlsplit(first.headers["Location"]).path
    assert re.fullmatch(r"/referrals/\d+", location), location
    second = c.post("/referrals", data=data, headers=HTML)
    assert second.status_code == 303, describe(second)
    assert urlsplit(second.headers["Location"]).path == location
    assert counts(db, key, person["family_name"]) == (1, 1)
    row = db.one("SELECT r.id, s.nhs_number FROM referral r JOIN service_user s "
                 "ON s.id = r.service_user_id WHERE r.idempotency_key = %s",
                 (key,))
    assert location == f"/referrals/{row['id']}"
    assert row["nhs_number"] == person["nhs_number"]
