"""Written care plans (cpa-reviews, care_plans.c): the first version and
the ones after it (sections not given are copied from the version in force;
the page's form comes filled in from it), versions never changed (not even
possible for the application's database role), a stale based_on refused
with the plan as it is now, who was given a copy and when (with its
checks), the plan printed in plain language with what people typed
escaped, other sites (404) and other teams (403) kept out and audited, and
bad input answered 422 naming the field."""

import datetime
import re
import threading

import psycopg2
import psycopg2.errors
import pytest

from cpa_e2e import (HTML, describe, fill_form, form_of, get_json, html_text,
                     is_html, json_of, unique_reason)

SECTIONS = ("needs_goals", "mental_health", "physical_health", "medication",
            "social_care", "housing", "employment_education", "finances",
            "domestic_support", "professionals_involved",
            "early_warning_signs", "crisis_contingency")
VERSION_KEYS = set(SECTIONS) | {
    "id", "care_plan_id", "number", "medication_info_given",
    "took_part_user", "took_part_carer", "took_part_others", "user_agreed",
    "user_comments", "change_reason", "review_id", "created_by",
    "created_by_name", "created_at", "copies"}
COPY_KEYS = {"id", "recipient", "recipient_name", "given_on", "method",
             "recorded_by_name", "recorded_at"}
NO_EPISODE = "This person has no open episode in your teams"


pytestmark = pytest.mark.usefixtures("reviews_up")


def plan_url(su, api=True):
    return f"{'/api/v1' if api else ''}/service-users/{su}/care-plan"


def get_plan(c, su, **params):
    return get_json(c, plan_url(su), params=params)


def post_version(c, su, **body):
    return c.post(f"/api/v1/service-users/{su}/care-plan/versions", json=body)


def created(r):
    assert r.status_code == 201, describe(r)
    v = json_of(r)["care_plan_version"]
    assert set(v) == VERSION_KEYS, set(v) ^ VERSION_KEYS
    assert r.headers.get("Location", "").endswith(
        f"/api/v1/care-plan-versions/{v['id']}"), r.headers
    return v


def get_version(c, vid):
    return get_json(c, f"/api/v1/care-plan-versions/{vid}")["care_plan_version"]


def add_copy(c, vid, **body):
    return c.post(f"/api/v1/care-plan-versions/{vid}/copies", json=body)


def version_rows(db, su):
    return db.all("SELECT v.* FROM care_plan_version v JOIN care_plan p "
                  "ON p.id = v.care_plan_id WHERE p.service_user_id = %s "
                  "ORDER BY v.id", (su,))


def field_value(form, name):
    """The value an input of a parsed form shows (text, date, hidden)."""
    values = [f[2] for f in form["fields"] if f[0] == name]
    assert len(values) == 1, (name, form["fields"])
    return values[0]


def db_today(db):
    return db.scalar("SELECT current_date")


def first_version(c, su, **over):
    body = {"based_on": 0, "needs_goals": "To get back to work part-time",
            "mental_health": "Low mood, improving",
            "medication": "Sertraline 100 mg each morning",
            "medication_info_given": True,
            "crisis_contingency": "Call the crisis team on 0113 496 0000",
            "took_part_user": True, "user_agreed": True,
            "user_comments": "I want to keep seeing the same nurse"}
    body.update(over)
    return created(post_version(c, su, **body))


# ------------------------------------------------------------- versions

def test_first_version_then_reads(staff, case, audit):
    c = staff("coord.north")
    made = case()
    su, ep = made["person"], made["episode"]

    mark = audit.mark()
    body = get_plan(c, su["id"])
    assert set(body) == {"care_plan", "service_user"}, body
    plan = body["care_plan"]
    assert plan == {"id": None, "episode_id": ep["id"], "version": 0,
                    "current": None, "versions": []}, plan
    assert body["service_user"]["id"] == su["id"]
    assert body["service_user"]["nhs_number"] == su["nhs_number"]
    rows = audit.since(mark, username="coord.north")
    assert [(x["action"], x["entity_type"]) for x in rows] == \
        [("read", "care_plan")], rows
    assert rows[0]["service_user_id"] == su["id"]
    assert rows[0]["site_id"] == su["site_id"]

    mark = audit.mark()
    v = first_version(c, su["id"], housing="")
    assert v["number"] == 1
    assert v["needs_goals"] == "To get back to work part-time"
    assert v["medication_info_given"] is True
    assert v["user_agreed"] is True and v["took_part_user"] is True
    assert v["took_part_carer"] is False
    assert v["housing"] is None and v["finances"] is None
    assert v["created_by"] == c.user["id"]
    assert v["created_by_name"] == c.user["display_name"]
    assert v["copies"] == [] and v["review_id"] is None
    datetime.datetime.fromisoformat(v["created_at"])
    rows = audit.since(mark, username="coord.north")
    assert [(x["action"], x["entity_type"], str(x["entity_id"]))
            for x in rows] == \
        [("care_plan_version_created", "care_plan_version", str(v["id"]))], rows
    assert rows[0]["service_user_id"] == su["id"]
    assert rows[0]["site_id"] == su["site_id"]

    plan = get_plan(c, su["id"])["care_plan"]
    assert plan["id"] == v["care_plan_id"] and plan["version"] == 1
    assert plan["current"] == v
    assert [(x["id"], x["number"], x["user_agreed"], x["review_id"],
             x["created_by_name"]) for x in plan["versions"]] == \
        [(v["id"], 1, True, None, c.user["display_name"])]

    mark = audit.mark()
    assert get_version(c, v["id"]) == v
    rows = audit.since(mark, username="coord.north")
    assert [(x["action"], x["entity_type"], str(x["entity_id"]))
            for x in rows] == [("read", "care_plan_version", str(v["id"]))]

    # The ".json" form of the page answers the same.
    r = c.get(f"/service-users/{su['id']}/care-plan.json")
    assert r.status_code == 200, describe(r)
    assert json_of(r)["care_plan"]["current"]["id"] == v["id"]


def test_new_version_copies_sections_not_given(staff, case, db):
    c = staff("coord.north")
    su = case()["person"]["id"]
    v1 = first_version(c, su, housing="Lives alone in a flat",
                       took_part_carer=True, took_part_others="Sister")
    r = post_version(c, su, based_on=1, mental_health="Mood much better",
                     housing=None, change_reason="Reviewed with Sam")
    v2 = created(r)
    assert v2["number"] == 2 and v2["id"] != v1["id"]
    assert v2["mental_health"] == "Mood much better"
    assert v2["housing"] is None, "a section given as null is cleared"
    for k in set(SECTIONS) - {"mental_health", "housing"}:
        assert v2[k] == v1[k], k
    assert v2["medication_info_given"] is True
    # Who took part and the agreement belong to each version.
    assert v2["took_part_user"] is False and v2["took_part_carer"] is False
    assert v2["took_part_others"] is None and v2["user_agreed"] is None
    assert v2["user_comments"] is None
    assert v2["change_reason"] == "Reviewed with Sam"

    # Sections may also come nested; the version before stays as written.
    v3 = created(post_version(c, su, based_on=2, sections={
        "finances": "Benefits review booked", "medication_info_given": False}))
    assert v3["number"] == 3 and v3["finances"] == "Benefits review booked"
    assert v3["medication_info_given"] is False
    assert v3["mental_health"] == "Mood much better"
    assert get_version(c, v1["id"]) == v1
    assert get_version(c, v2["id"]) == v2

    plan = get_plan(c, su)["care_plan"]
    assert plan["version"] == 3 and plan["current"]["id"] == v3["id"]
    assert [x["number"] for x in plan["versions"]] == [3, 2, 1]
    assert db.scalar("SELECT current_version_id FROM care_plan WHERE id = %s",
                     (v1["care_plan_id"],)) == v3["id"]


def test_form_is_filled_in_and_posts_every_section(staff, case):
    c = staff("coord.north")
    su = case()["person"]["id"]
    v1 = first_version(c, su, housing="Lives with her mother",
                       finances="Debt advice")
    page = c.get(f"/service-users/{su}/care-plan/new", headers=HTML)
    assert page.status_code == 200 and is_html(page), describe(page)
    for k in SECTIONS:
        if v1[k] is not None:
            assert re.search(rf'<textarea[^>]*name="{k}"[^>]*>{re.escape(v1[k])}'
                             rf'</textarea>', html_text(page)), k
    form = form_of(page.text, f"/service-users/{su}/care-plan")
    names = {f[0] for f in form["fields"]}
    assert {"csrf_token", "based_on", *SECTIONS, "medication_info_given",
            "took_part_user", "took_part_carer", "took_part_others",
            "user_agreed", "user_comments", "change_reason"} <= names, names
    body = fill_form(form, {})
    assert body["based_on"] == "1"
    assert body["medication_info_given"] == "true"
    # What the browser sends: every textarea with its text.
    for k in SECTIONS:
        body[k] = v1[k] or ""
    body.update(finances="", physical_health="Asthma <controlled>",
                took_part_user="true", user_agreed="")
    r = c.post(f"/service-users/{su}/care-plan", data=body, headers=HTML)
    assert r.status_code == 303, describe(r)
    vid = int(r.headers["Location"].rsplit("/", 1)[1])
    v2 = get_version(c, vid)
    assert v2["number"] == 2
    assert v2["finances"] is None, "an emptied section is cleared"
    assert v2["physical_health"] == "Asthma <controlled>"
    assert v2["housing"] == "Lives with her mother"
    assert v2["took_part_user"] is True and v2["took_part_carer"] is False
    assert v2["user_agreed"] is None, "'not asked yet' is not a no"
    assert v2["medication_info_given"] is True

    # The version page shows it, escaped, with the copy form.
    r = c.get(f"/care-plan-versions/{vid}", headers=HTML)
    assert r.status_code == 200, describe(r)
    assert "Asthma &lt;controlled&gt;" in r.text
    form_of(r.text, f"/care-plan-versions/{vid}/copies")
    r = c.get(plan_url(su, api=False), headers=HTML)
    assert r.status_code == 200, describe(r)
    assert f'href="/service-users/{su}"' in r.text
    assert f'href="/service-users/{su}/reviews"' in r.text
    assert f'href="/care-plan-versions/{vid}/print"' in r.text


def test_form_refused_keeps_what_was_typed(staff, case):
    c = staff("coord.north")
    su = case()["person"]["id"]
    page = c.get(f"/service-users/{su}/care-plan/new", headers=HTML)
    assert page.status_code == 200, describe(page)
    assert "Write the care plan" in html_text(page)
    body = fill_form(form_of(page.text, f"/service-users/{su}/care-plan"), {})
    assert body["based_on"] == "0"
    body.update(needs_goals="x" * 5001, housing="Keep this text")
    r = c.post(f"/service-users/{su}/care-plan", data=body, headers=HTML)
    assert r.status_code == 422, describe(r)
    text = html_text(r)
    assert "There is a problem" in text
    assert 'href="#needs_goals"' in r.text
    assert "must be 5000 characters or fewer" in text
    assert "Keep this text" in text
    assert get_plan(c, su)["care_plan"]["version"] == 0


def test_versions_cannot_be_changed_by_the_app_role(env, db, staff, case):
    for table in ("care_plan_version", "care_plan_copy"):
        for priv in ("UPDATE", "DELETE", "TRUNCATE"):
            assert db.scalar("SELECT has_table_privilege('cpa_app', %s, %s)",
                             (table, priv)) is False, (table, priv)
        assert db.scalar("SELECT has_table_privilege('cpa_app', %s, 'INSERT')",
                         (table,)) is True, table
    c = staff("coord.north")
    made = case()
    v = first_version(c, made["person"]["id"])
    conn = psycopg2.connect(env.pg_app_dsn, connect_timeout=10)
    try:
        for sql in ("UPDATE care_plan_version SET needs_goals = 'changed' "
                    "WHERE id = %s",
                    "DELETE FROM care_plan_version WHERE id = %s"):
            with conn.cursor() as cur:
                cur.execute("SELECT set_config('app.site_ids', %s, false)",
                            (str(made["person"]["site_id"]),))
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cur.execute(sql, (v["id"],))
            conn.rollback()
    finally:
        conn.close()
    assert get_version(c, v["id"])["needs_goals"] == v["needs_goals"]


def test_stale_based_on_is_409_with_the_plan(staff, case, db):
    c = staff("coord.north")
    su = case()["person"]["id"]
    v1 = first_version(c, su)
    created(post_version(c, su, based_on=1, housing="Moved flat"))
    before = version_rows(db, su)
    for based_on in (0, 1, 7):
        r = post_version(c, su, based_on=based_on, housing="Overwrite")
        assert r.status_code == 409, describe(r)
        body = json_of(r)
        assert body["error"] and "based_on" in body["errors"], body
        assert body["care_plan"]["version"] == 2, body
        assert body["care_plan"]["current"]["housing"] == "Moved flat"
        assert body["care_plan"]["current"]["needs_goals"] == v1["needs_goals"]
    assert version_rows(db, su) == before

    # The page shows the form again, what was typed kept, now based on 2.
    page = c.get(f"/service-users/{su}/care-plan/new", headers=HTML)
    body = fill_form(form_of(page.text, f"/service-users/{su}/care-plan"), {})
    body.update(based_on="1", housing="Typed while someone else saved")
    r = c.post(f"/service-users/{su}/care-plan", data=body, headers=HTML)
    assert r.status_code == 409, describe(r)
    assert "Typed while someone else saved" in html_text(r)
    again = fill_form(form_of(r.text, f"/service-users/{su}/care-plan"), {})
    assert again["based_on"] == "2"
    assert version_rows(db, su) == before


def test_racing_writers_one_wins(staff, case, db, make_team_staff, teams,
                                 signin):
    """Writers sending the same based_on at once: one version is made,
    every other writer gets 409, for the first version (the plan is created
    then) and for a later one."""
    su = case()["person"]["id"]
    writers = [make_team_staff(f"race{i}", "coordinator",
                               teams["north_riverside_cmht"]) for i in range(4)]
    clients = [signin(w["username"], w["password"]) for w in writers]
    for based_on in (0, 1):
        barrier = threading.Barrier(len(clients))
        results = [None] * len(clients)

        def write(i):
            barrier.wait()
            results[i] = post_version(clients[i], su, based_on=based_on,
                                      housing=f"Writer {i}")
        threads = [threading.Thread(target=write, args=(i,))
                   for i in range(len(clients))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        codes = sorted(r.status_code for r in results)
        assert codes == [201] + [409] * (len(clients) - 1), \
            [describe(r) for r in results]
        won = next(json_of(r)["care_plan_version"] for r in results
                   if r.status_code == 201)
        assert won["number"] == based_on + 1
        plan = get_plan(clients[0], su)["care_plan"]
        assert plan["version"] == based_on + 1
        assert plan["current"]["id"] == won["id"]
    assert [r["number"] for r in version_rows(db, su)] == [1, 2]
    for c in clients:
        c.delete("/api/v1/session")


def test_writer_waiting_on_another_gets_409(env, staff, case, db):
    """Another writer's version, not yet committed, of the same number (or
    the plan itself, for a first version): the request waits for it and,
    once it commits, is refused with 409 and the plan as it is then."""
    c = staff("coord.north")
    made = case()
    su, ep = made["person"], made["episode"]
    other = psycopg2.connect(env.pg_super_dsn, connect_timeout=10)
    try:
        for based_on in (0, 1):
            with other.cursor() as cur:
                if based_on == 0:
                    cur.execute(
                        "INSERT INTO care_plan (site_id, service_user_id, "
                        "episode_id, version) VALUES (%s, %s, %s, 1) "
                        "RETURNING id", (su["site_id"], su["id"], ep["id"]))
                    plan = cur.fetchone()[0]
                cur.execute(
                    "INSERT INTO care_plan_version (site_id, care_plan_id, "
                    "number, housing, created_by) VALUES (%s, %s, %s, "
                    "'Other writer', %s) RETURNING id",
                    (su["site_id"], plan, based_on + 1, c.user["id"]))
                vid = cur.fetchone()[0]
                cur.execute("UPDATE care_plan SET version = %s, "
                            "current_version_id = %s WHERE id = %s",
                            (based_on + 1, vid, plan))
            out = {}
            t = threading.Thread(target=lambda: out.update(r=post_version(
                c, su["id"], based_on=based_on, housing="Mine")))
            t.start()
            t.join(1.5)
            assert t.is_alive(), f"did not wait: {describe(out['r'])}"
            other.commit()
            t.join(30)
            r = out["r"]
            assert r.status_code == 409, describe(r)
            body = json_of(r)
            assert body["care_plan"]["version"] == based_on + 1, body
            assert body["care_plan"]["current"]["housing"] == "Other writer"
    finally:
        other.rollback()
        other.close()
    assert [(r["number"], r["housing"]) for r in version_rows(db, su["id"])] \
        == [(1, "Other writer"), (2, "Other writer")]


# --------------------------------------------------------------- copies

def test_copies_for_every_recipient(staff, case, db, audit):
    c = staff("coord.north")
    su = case()["person"]
    v = first_version(c, su["id"])
    today = db_today(db).isoformat()
    yesterday = (db_today(db) - datetime.timedelta(days=1)).isoformat()
    sent = [
        {"recipient": "service_user", "given_on": today, "method": "in_person"},
        {"recipient": "carer", "recipient_name": "Ann Lee",
         "given_on": today, "method": "post"},
        {"recipient": "gp", "given_on": today, "method": "secure_message"},
        {"recipient": "other", "recipient_name": "Housing officer",
         "given_on": today, "method": "email"},
    ]
    for body in sent:
        mark = audit.mark()
        r = add_copy(c, v["id"], **body)
        assert r.status_code == 201, describe(r)
        out = json_of(r)
        copy = out["care_plan_copy"]
        assert set(copy) == COPY_KEYS, copy
        assert {k: copy[k] for k in body} == body
        assert copy.get("recipient_name") == body.get("recipient_name")
        assert copy["recorded_by_name"] == c.user["display_name"]
        assert out["care_plan_version"]["copies"][-1] == copy
        rows = audit.since(mark, username="coord.north")
        assert [(x["action"], x["entity_type"], str(x["entity_id"]))
                for x in rows] == \
            [("care_plan_copy_recorded", "care_plan_copy", str(copy["id"]))]
        assert rows[0]["service_user_id"] == su["id"]
        assert rows[0]["site_id"] == su["site_id"]
    copies = get_version(c, v["id"])["copies"]
    assert [x["recipient"] for x in copies] == \
        ["service_user", "carer", "gp", "other"]
    # A copy of a version made today cannot have been given yesterday.
    r = add_copy(c, v["id"], recipient="gp", given_on=yesterday, method="post")
    assert r.status_code == 422, describe(r)
    assert set(json_of(r)["errors"]) == {"given_on"}

    # The page form records one too, with sensible defaults.
    page = c.get(f"/care-plan-versions/{v['id']}", headers=HTML)
    form = form_of(page.text, f"/care-plan-versions/{v['id']}/copies")
    body = fill_form(form, {})
    assert body["recipient"] == "service_user" and body["method"] == "in_person"
    assert field_value(form, "given_on") == today
    body["given_on"] = today
    r = c.post(f"/care-plan-versions/{v['id']}/copies", data=body, headers=HTML)
    assert r.status_code == 303, describe(r)
    assert r.headers["Location"].endswith(f"/care-plan-versions/{v['id']}")
    assert len(get_version(c, v["id"])["copies"]) == 5


def test_copy_validation(staff, case, db):
    c = staff("coord.north")
    su = case()["person"]["id"]
    v = first_version(c, su)
    today = db_today(db)
    tomorrow = (today + datetime.timedelta(days=1)).isoformat()
    bad = [
        ({"recipient": "carer", "given_on": today.isoformat(),
          "method": "post"}, {"recipient_name"}),
        ({"recipient": "other", "recipient_name": "  ",
          "given_on": today.isoformat(), "method": "post"}, {"recipient_name"}),
        ({"recipient": "gp", "given_on": tomorrow, "method": "post"},
         {"given_on"}),
        ({"recipient": "gp", "given_on": "2025-02-30", "method": "post"},
         {"given_on"}),
        ({"recipient": "neighbour", "given_on": today.isoformat(),
          "method": "post"}, {"recipient"}),
        ({"recipient": "gp", "given_on": today.isoformat(),
          "method": "pigeon"}, {"method"}),
        ({"recipient": "carer", "recipient_name": "x" * 201,
          "given_on": today.isoformat(), "method": "post"}, {"recipient_name"}),
        ({}, {"recipient", "given_on", "method"}),
    ]
    for body, fields in bad:
        r = add_copy(c, v["id"], **body)
        assert r.status_code == 422, (body, describe(r))
        out = json_of(r)
        assert set(out["errors"]) == fields, (body, out)
        assert out["error"]
    assert db.scalar("SELECT count(*) FROM care_plan_copy "
                     "WHERE care_plan_version_id = %s", (v["id"],)) == 0

    # The page says so next to the field and keeps what was typed.
    page = c.get(f"/care-plan-versions/{v['id']}", headers=HTML)
    body = fill_form(form_of(page.text, f"/care-plan-versions/{v['id']}/copies"),
                     {"recipient": "carer", "given_on": tomorrow})
    r = c.post(f"/care-plan-versions/{v['id']}/copies", data=body, headers=HTML)
    assert r.status_code == 422, describe(r)
    assert 'href="#recipient_name"' in r.text
    assert "Enter the carer&#39;s name" in r.text or \
        "Enter the carer's name" in html_text(r)
    again = form_of(r.text, f"/care-plan-versions/{v['id']}/copies")
    assert fill_form(again, {})["recipient"] == "carer"
    assert field_value(again, "given_on") == tomorrow


# ---------------------------------------------------------------- print

def test_print_in_plain_language_and_escaped(staff, case):
    c = staff("coord.north")
    made = case()
    su, ep = made["person"], made["episode"]
    evil = '<script>alert("plan")</script><b onmouseover="x()">bold</b>'
    v = first_version(c, su["id"], early_warning_signs=f"Stops eating {evil}",
                      needs_goals=f"Goal {evil}", user_agreed=False)
    created(post_version(c, su["id"], based_on=1, housing="A flat"))
    r = c.get(f"/care-plan-versions/{v['id']}/print", headers=HTML)
    assert r.status_code == 200 and is_html(r), describe(r)
    raw, text = r.text, html_text(r)
    for phrase in ("My care plan", "What I want to achieve",
                   "If I start to become unwell", "In a crisis",
                   "My medicines", "Who to contact",
                   "call Samaritans on 116 123", "version 1",
                   "No, I did not agree with this plan",
                   "This is an earlier plan"):
        assert phrase in text, phrase
    assert ep["coordinator"]["display_name"] in text
    assert ep["team_name"] in text
    assert f"{su['given_name']} {su['family_name']}" in text
    assert "<script>alert" not in raw and "<b onmouseover" not in raw
    assert "Stops eating &lt;script&gt;alert(" in raw
    assert f"Stops eating {evil}" in text
    assert "Where I live" not in text, "an empty section is left out"
    assert re.search(r"<button[^>]*data-app-print[^>]*>\s*Print this plan", raw)
    assert '<link rel="stylesheet" href="/assets/app/app.css">' in raw
    # The staff pages escape it too.
    for path in (f"/care-plan-versions/{v['id']}",
                 f"/service-users/{su['id']}/care-plan"):
        page = c.get(path, headers=HTML)
        assert page.status_code == 200, describe(page)
        assert "<script>alert" not in page.text, path
    # The current version prints without the "earlier plan" note.
    cur = get_plan(c, su["id"])["care_plan"]["current"]
    r = c.get(f"/care-plan-versions/{cur['id']}/print", headers=HTML)
    assert "This is an earlier plan" not in html_text(r)
    assert "Where I live" in html_text(r)


# ---------------------------------------------------------------- access

def attempts(su, ep, vid):
    return [
        ("GET", plan_url(su), None),
        ("GET", plan_url(su, api=False), None),
        ("GET", f"/service-users/{su}/care-plan/new", None),
        ("POST", f"/api/v1/service-users/{su}/care-plan/versions",
         {"based_on": 1, "housing": "Intruder was here"}),
        ("POST", f"/api/v1/service-users/{su}/care-plan/versions",
         {"based_on": 1, "episode_id": ep, "housing": "Intruder was here"}),
        ("GET", f"/api/v1/care-plan-versions/{vid}", None),
        ("GET", f"/care-plan-versions/{vid}/print", None),
        ("POST", f"/api/v1/care-plan-versions/{vid}/copies",
         {"recipient": "gp", "given_on": "2024-01-02", "method": "post"}),
    ]


def test_other_site_gets_404(staff, case, db, audit):
    c = staff("coord.north")
    made = case()
    su, ep = made["person"]["id"], made["episode"]["id"]
    v = first_version(c, su, housing="North secret")
    south = staff("coord.south")
    before = version_rows(db, su)
    for method, path, body in attempts(su, ep, v["id"]):
        mark = audit.mark()
        r = south.request(method, path, json=body)
        assert r.status_code == 404, (method, path, describe(r))
        assert "North secret" not in r.text
        assert made["person"]["family_name"] not in r.text
        rows = audit.since(mark, username="coord.south")
        assert [x["action"] for x in rows] == ["access_denied"], (path, rows)
        assert str(rows[0]["entity_id"]) in (str(su), str(v["id"])), rows
    assert version_rows(db, su) == before
    assert db.scalar("SELECT count(*) FROM care_plan_copy "
                     "WHERE care_plan_version_id = %s", (v["id"],)) == 0


def test_other_team_gets_403(staff, case, db, audit, make_team_staff, teams,
                             signin):
    c = staff("coord.north")
    made = case()
    su, ep = made["person"], made["episode"]["id"]
    v = first_version(c, su["id"], housing="Riverside only")
    moor = make_team_staff("moorcp", "coordinator",
                           teams["north_moorland_cmht"])
    m = signin(moor["username"], moor["password"])
    before = version_rows(db, su["id"])
    for method, path, body in attempts(su["id"], ep, v["id"]):
        mark = audit.mark()
        r = m.request(method, path, json=body)
        assert r.status_code == 403, (method, path, describe(r))
        assert "Riverside only" not in r.text
        rows = audit.since(mark, username=moor["username"])
        assert [x["action"] for x in rows] == ["access_denied"], (path, rows)
        assert rows[0]["service_user_id"] == su["id"], rows
        assert rows[0]["site_id"] == su["site_id"], rows
    assert version_rows(db, su["id"]) == before
    m.delete("/api/v1/session")


def test_no_open_episode_is_409(staff, teams, refer, case, db):
    c = staff("coord.north")
    made = refer(c, teams["north_riverside_cmht"]["id"])
    su = made["service_user"]["id"]
    r = c.get(plan_url(su))
    assert r.status_code == 409, describe(r)
    assert json_of(r)["error"] == NO_EPISODE
    r = post_version(c, su, based_on=0, housing="x")
    assert r.status_code == 409, describe(r)
    assert json_of(r)["error"] == NO_EPISODE

    # A closed episode's plan can still be read by naming the episode,
    # but no longer changed.
    case_ = case()
    su, ep = case_["person"]["id"], case_["episode"]
    v = first_version(c, su)
    r = c.post(f"/api/v1/episodes/{ep['id']}/close",
               json={"end_reason": "discharged_to_gp", "version": ep["version"],
                     "end_detail": unique_reason("Well")})
    assert r.status_code == 200, describe(r)
    r = c.get(plan_url(su))
    assert r.status_code == 409 and json_of(r)["error"] == NO_EPISODE
    plan = get_plan(c, su, episode_id=ep["id"])["care_plan"]
    assert plan["current"]["id"] == v["id"]
    r = post_version(c, su, based_on=1, episode_id=ep["id"], housing="Late")
    assert r.status_code == 409, describe(r)
    assert "closed" in json_of(r)["error"]
    assert len(version_rows(db, su)) == 1


def test_unknown_ids_are_404(staff, db):
    c = staff("coord.north")
    missing = db.scalar("SELECT coalesce(max(id), 0) + 1000000 "
                        "FROM care_plan_version")
    for path in (f"/api/v1/care-plan-versions/{missing}",
                 f"/care-plan-versions/{missing}/print",
                 "/api/v1/service-users/99999999/care-plan"):
        r = c.get(path)
        assert r.status_code == 404, describe(r)


# ------------------------------------------------------------- bad input

def test_bad_input_is_422_naming_the_field(staff, case, db):
    c = staff("coord.north")
    made = case()
    su = made["person"]["id"]
    other = case()
    review = db.scalar("SELECT id FROM cpa_review WHERE episode_id = %s "
                       "AND status = 'due'", (other["episode"]["id"],))
    bad = [
        ({}, {"based_on"}),
        ({"based_on": "one"}, {"based_on"}),
        ({"based_on": -1}, {"based_on"}),
        ({"based_on": 0, "needs_goals": "x" * 5001}, {"needs_goals"}),
        ({"based_on": 0, "crisis_contingency": "y" * 5001},
         {"crisis_contingency"}),
        ({"based_on": 0, "took_part_others": "z" * 1001}, {"took_part_others"}),
        ({"based_on": 0, "change_reason": "w" * 2001}, {"change_reason"}),
        ({"based_on": 0, "user_comments": "v" * 5001}, {"user_comments"}),
        ({"based_on": 0, "took_part_user": "maybe"}, {"took_part_user"}),
        ({"based_on": 0, "user_agreed": "yes"}, {"user_agreed"}),
        ({"based_on": 0, "housing": 12}, {"housing"}),
        ({"based_on": 0, "housing": "bell\x07"}, {"housing"}),
        ({"based_on": 0, "sections": ["housing"]}, {"sections"}),
        ({"based_on": 0, "sections": {"pets": "a cat"}}, {"sections.pets"}),
        ({"based_on": 0, "housing": "a", "sections": {"housing": "b"}},
         {"housing"}),
        ({"based_on": 0, "review_id": review}, {"review_id"}),
        ({"based_on": 0, "episode_id": other["episode"]["id"]}, {"episode_id"}),
    ]
    for body, fields in bad:
        r = post_version(c, su, **body)
        assert r.status_code == 422, (body, describe(r))
        out = json_of(r)
        assert set(out["errors"]) == fields, (body, out)
        assert out["error"]
    assert version_rows(db, su) == []
    # Exactly at the limits is fine, and the episode's own review is.
    own = db.scalar("SELECT id FROM cpa_review WHERE episode_id = %s "
                    "AND status = 'due'", (made["episode"]["id"],))
    v = created(post_version(c, su, based_on=0, needs_goals="é" * 5000,
                             change_reason="r" * 2000, review_id=own))
    assert len(v["needs_goals"]) == 5000 and v["review_id"] == own
    r = c.post(f"/api/v1/service-users/{su}/care-plan/versions",
               data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400, describe(r)
    r = c.get(plan_url(su), params={"episode_id": "abc"})
    assert r.status_code == 422 and "episode_id" in json_of(r)["errors"]
