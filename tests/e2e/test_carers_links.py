"""Carers and their links to the people they support (cpa-carers,
carers.c): adding a carer with few fields (defaults: today, phone), the
young carer flag from the date of birth when known and from the recorded
flag otherwise (always carer_is_young, never the column alone), one carer
supporting two people (and a third person the caller does not cover,
counted but not shown), the same carer twice refused, a carer's record
changed with optimistic concurrency, a link ended, bad input answered 422
naming every field, reads and changes audited, and the person's page with
its forms, tags and escaping, used as a browser would."""

import datetime

import pytest

from cpa_e2e import (HTML, PERSON_SUMMARY_KEYS, browser_body, describe,
                     form_of, get_json, html_text, is_html, json_of,
                     unique_family_name)

pytestmark = pytest.mark.usefixtures("carers_up")


def years_ago(db, years, plus_days=0):
    return db.scalar("SELECT ((current_date - %s * interval '1 year')::date"
                     " + %s)::text", (years, plus_days))


def not_covered(db, made):
    """Move made's episode to Moorland's team, which coord.north does not
    cover."""
    db.all("UPDATE episode SET team_id = (SELECT id FROM team WHERE name ="
           " 'Moorland Community Mental Health Team' AND site_id = %s)"
           " WHERE id = %s RETURNING id",
           (made["person"]["site_id"], made["episode"]["id"]))
    return made


def carer_rows(db, su):
    return db.all("SELECT l.id AS link_id, l.ended_on, c.* FROM carer_link l"
                  " JOIN carer c ON c.id = l.carer_id"
                  " WHERE l.service_user_id = %s ORDER BY l.id", (su,))


# ------------------------------------------------------------------ adding

def test_add_with_defaults_and_audit(case, kit, audit):
    made = case()
    c, su = made["c"], made["person"]
    mark = audit.mark()
    family = unique_family_name("Pengelly")
    r = kit.add(c, su["id"], given_name="Ros", family_name=family,
                relationship="sibling", phone="07700 900111")
    assert r.status_code == 201, describe(r)
    link = kit.check_link(json_of(r)["carer_link"])
    carer = link["carer"]
    assert (carer["given_name"], carer["family_name"]) == ("Ros", family)
    assert carer["phone"] == "07700 900111"
    assert carer["preferred_contact"] == "phone"
    assert carer["young_carer"] is False and carer["date_of_birth"] is None
    assert carer["version"] >= 1
    assert link["relationship"] == "sibling"
    assert link["lives_with"] is False
    assert link["started_on"] == kit.today().isoformat()
    assert link["ended_on"] is None and link["end_reason"] is None
    assert link["consent"] is None
    assert link["may_know"] == {t: False for t in kit.TOPICS}
    assert link["assessments"] == []
    rows = audit.since(mark, username="coord.north")
    assert [x["action"] for x in rows] == ["carer_added"], rows
    assert rows[0]["service_user_id"] == su["id"]
    assert rows[0]["site_id"] == su["site_id"]

    mark = audit.mark()
    body = kit.person(c, su["id"])
    assert set(PERSON_SUMMARY_KEYS) <= set(body["service_user"])
    assert body["service_user"]["id"] == su["id"]
    assert body["no_carer"] is False
    assert [x["id"] for x in body["carers"]] == [link["id"]]
    assert body["carers"][0] == link
    assert body["involvement"] == []
    rows = audit.since(mark, username="coord.north")
    assert [(x["action"], x["entity_type"]) for x in rows] == \
        [("read", "carer_link")], rows
    assert rows[0]["service_user_id"] == su["id"]
    assert rows[0]["site_id"] == su["site_id"]
    # The page's address with ".json" answers the same.
    r = c.get(f"/service-users/{su['id']}/carers.json")
    assert r.status_code == 200, describe(r)
    assert json_of(r)["carers"] == body["carers"]


def test_no_carer_yet(case, kit):
    made = case()
    body = kit.person(made["c"], made["person"]["id"])
    assert body["carers"] == [] and body["no_carer"] is True
    assert body["involvement"] == []


def test_every_field_stored_and_normalised(case, kit, db):
    made = case()
    c, su = made["c"], made["person"]["id"]
    link = kit.added(c, su, given_name="Tomasz", family_name="Nowak-Lee",
                     date_of_birth="1961-04-09", email="t.nowak@example.org",
                     address="4 Mill Lane\nRiverside", postcode="ls6  2ab",
                     preferred_contact="post", relationship="other",
                     relationship_detail="Ex-partner", lives_with=True,
                     started_on=kit.day(-30))
    carer = link["carer"]
    assert carer["postcode"] == "LS6 2AB"
    assert carer["email"] == "t.nowak@example.org"
    assert carer["address"] == "4 Mill Lane\nRiverside"
    assert carer["preferred_contact"] == "post"
    assert carer["date_of_birth"] == "1961-04-09"
    assert link["relationship_detail"] == "Ex-partner"
    assert link["lives_with"] is True
    assert link["started_on"] == kit.day(-30)
    (row,) = carer_rows(db, su)
    assert row["postcode"] == "LS6 2AB" and row["preferred_contact"] == "post"


# -------------------------------------------------------------- young carers

def test_young_carer_by_date_of_birth_and_by_flag(case, kit, db):
    made = case()
    c, su = made["c"], made["person"]["id"]
    seventeen = years_ago(db, 17)
    eighteen_today = years_ago(db, 18)
    eighteen_tomorrow = years_ago(db, 18, 1)
    cases = [
        # (date_of_birth, young_carer flag, expected)
        (seventeen, False, True),            # the age wins over the flag
        (eighteen_tomorrow, False, True),    # 18 tomorrow: still young
        (eighteen_today, True, False),       # 18 today: an adult
        ("1970-01-01", True, False),
        (None, True, True),                  # no date: as recorded
        (None, False, False),
    ]
    made_links = []
    for dob, flag, expected in cases:
        over = {"young_carer": flag}
        if dob:
            over["date_of_birth"] = dob
        link = kit.added(c, su, **over)
        assert link["carer"]["young_carer"] is expected, (dob, flag, link)
        made_links.append((link, expected))
    # The person's page says the same, and so does the database's rule.
    page = {x["id"]: x for x in kit.person(c, su)["carers"]}
    for link, expected in made_links:
        assert page[link["id"]]["carer"]["young_carer"] is expected
        assert db.scalar("SELECT carer_is_young(date_of_birth, young_carer)"
                         " FROM carer WHERE id = %s",
                         (link["carer"]["id"],)) is expected
    # GET /carers/{id} too.
    link, _ = made_links[0]
    body = get_json(c, f"/api/v1/carers/{link['carer']['id']}")
    assert body["carer"]["young_carer"] is True
    # The page tags each young carer: three more mentions than on the page
    # of a person whose only carer is an adult.
    other = case()
    kit.added(c, other["person"]["id"], date_of_birth="1970-01-01")
    r = c.get(f"/service-users/{su}/carers", headers=HTML)
    assert r.status_code == 200 and is_html(r), describe(r)
    base = c.get(f"/service-users/{other['person']['id']}/carers",
                 headers=HTML)
    assert html_text(r).lower().count("young carer") >= \
        html_text(base).lower().count("young carer") + 3


# --------------------------------------------------- one carer, two people

def test_one_carer_supports_two_people(case, kit, db, audit, teams):
    a = case()
    c = a["c"]
    b = case()
    link_a = kit.added(c, a["person"]["id"], relationship="partner")
    carer = link_a["carer"]

    mark = audit.mark()
    r = c.post(f"/api/v1/service-users/{b['person']['id']}/carers",
               json={"carer_id": carer["id"], "relationship": "parent"})
    assert r.status_code == 201, describe(r)
    link_b = kit.check_link(json_of(r)["carer_link"])
    assert link_b["carer"] == carer
    assert link_b["relationship"] == "parent"
    assert link_b["id"] != link_a["id"]
    rows = audit.since(mark, action="carer_added")
    assert len(rows) == 1 and rows[0]["service_user_id"] == b["person"]["id"]

    # The same carer again, while the link stands: 409 naming them.
    r = c.post(f"/api/v1/service-users/{b['person']['id']}/carers",
               json={"carer_id": carer["id"], "relationship": "friend"})
    assert r.status_code == 409, describe(r)
    err = json_of(r)["error"]
    assert "is already recorded as a carer of this person" in err, err
    assert carer["given_name"] in err and carer["family_name"] in err, err
    assert db.scalar("SELECT count(*) FROM carer_link WHERE carer_id = %s",
                     (carer["id"],)) == 2

    # A third person, at Moorland (not covered by coord.north).
    moor = case()
    db.scalar("INSERT INTO carer_link (site_id, carer_id, service_user_id,"
              " relationship, created_by) VALUES (%s, %s, %s, 'friend', %s)"
              " RETURNING id", (moor["person"]["site_id"], carer["id"],
                                moor["person"]["id"], c.user["id"]))
    not_covered(db, moor)

    mark = audit.mark()
    r = c.get(f"/api/v1/carers/{carer['id']}")
    assert r.status_code == 200, describe(r)
    assert moor["person"]["family_name"] not in r.text
    body = json_of(r)
    assert body["carer"] == carer
    supports = sorted(body["supports"], key=lambda s: s["id"])
    assert [s["id"] for s in supports] == [link_a["id"], link_b["id"]]
    assert [s["service_user"]["id"] for s in supports] == \
        [a["person"]["id"], b["person"]["id"]]
    assert [s["relationship"] for s in supports] == ["partner", "parent"]
    assert all(s["ended_on"] is None and s["started_on"] for s in supports)
    assert set(PERSON_SUMMARY_KEYS) <= set(supports[0]["service_user"])
    assert body["others"] == 1
    rows = audit.since(mark, username="coord.north")
    assert [(x["action"], x["entity_type"], str(x["entity_id"]))
            for x in rows] == [("read", "carer", str(carer["id"]))], rows

    # The page shows both people, links to their pages and never the third.
    r = c.get(f"/carers/{carer['id']}", headers=HTML)
    assert r.status_code == 200 and is_html(r), describe(r)
    for p in (a, b):
        assert f'href="/service-users/{p["person"]["id"]}/carers"' in r.text
    assert moor["person"]["family_name"] not in html_text(r)


def test_link_carer_of_a_person_not_covered_is_refused(case, kit, db):
    moor = case()
    c = moor["c"]
    # The carer of a person now at Moorland is not one coord.north may pick.
    link = kit.added(c, moor["person"]["id"])
    not_covered(db, moor)
    mine = case()
    r = c.post(f"/api/v1/service-users/{mine['person']['id']}/carers",
               json={"carer_id": link["carer"]["id"], "relationship": "friend"})
    assert r.status_code == 422, describe(r)
    assert "carer_id" in json_of(r)["errors"]
    assert carer_rows(db, mine["person"]["id"]) == []


# ------------------------------------------------------------------ updates

def test_update_carer_and_stale_version(case, kit, db, audit):
    made = case()
    c, su = made["c"], made["person"]
    carer = kit.added(c, su["id"])["carer"]
    body = {"version": carer["version"], "given_name": "Morwenna",
            "family_name": carer["family_name"], "phone": "07700 900999",
            "email": "m.t@example.org", "preferred_contact": "email",
            "postcode": "ls1 4ap"}
    mark = audit.mark()
    r = c.put(f"/api/v1/carers/{carer['id']}", json=body)
    assert r.status_code == 200, describe(r)
    new = json_of(r)["carer"]
    assert set(new) == kit.CARER_KEYS
    assert new["version"] > carer["version"]
    assert (new["phone"], new["email"], new["preferred_contact"],
            new["postcode"]) == ("07700 900999", "m.t@example.org", "email",
                                 "LS1 4AP")
    rows = audit.since(mark, username="coord.north")
    assert [x["action"] for x in rows] == ["carer_updated"], rows
    # A carer may support several people: the row names the site, and the
    # person only when it names one.
    assert rows[0]["service_user_id"] in (None, su["id"]), rows
    assert rows[0]["site_id"] == su["site_id"]
    assert rows[0]["entity_id"] == str(carer["id"]), rows

    # The old version again: 409 with the carer as it is now.
    r = c.put(f"/api/v1/carers/{carer['id']}",
              json=dict(body, phone="01132 000000"))
    assert r.status_code == 409, describe(r)
    out = json_of(r)
    assert out["error"] and out["carer"] == new
    assert db.scalar("SELECT phone FROM carer WHERE id = %s",
                     (carer["id"],)) == "07700 900999"

    # The page's edit form posts to /carers/{id}.
    page = c.get(f"/carers/{carer['id']}", headers=HTML)
    assert page.status_code == 200, describe(page)
    form = form_of(page.text, f"/carers/{carer['id']}")
    sent = browser_body(form, {"given_name": "Wenna"})
    assert sent["csrf_token"] and sent["version"] == str(new["version"])
    r = c.post(f"/carers/{carer['id']}", data=sent, headers=HTML)
    assert r.status_code == 303, describe(r)
    assert db.scalar("SELECT given_name FROM carer WHERE id = %s",
                     (carer["id"],)) == "Wenna"


# --------------------------------------------------------------- ending

def test_end_link(case, kit, db, audit):
    made = case()
    c, su = made["c"], made["person"]
    first = kit.added(c, su["id"], started_on=kit.day(-10))
    kit.consented(c, first["id"], "full")
    second = kit.added(c, su["id"])
    url = f"/api/v1/carer-links/{first['id']}/end"
    current = kit.link(c, su["id"], first["id"])

    # Not before it started, not in the future, with a reason.
    for bad, field in (({"ended_on": kit.day(-11)}, "ended_on"),
                       ({"ended_on": kit.day(1)}, "ended_on"),
                       ({"end_reason": ""}, "end_reason")):
        body = dict({"version": current["version"], "end_reason": "Moved away"},
                    **bad)
        r = c.post(url, json=body)
        assert r.status_code == 422, (bad, describe(r))
        assert set(json_of(r)["errors"]) == {field}, (bad, r.text)

    mark = audit.mark()
    r = c.post(url, json={"version": current["version"],
                          "end_reason": "Moved to Scotland"})
    assert r.status_code == 200, describe(r)
    ended = kit.check_link(json_of(r)["carer_link"])
    assert ended["ended_on"] == kit.today().isoformat()
    assert ended["end_reason"] == "Moved to Scotland"
    assert ended["may_know"] == {t: False for t in kit.TOPICS}
    rows = audit.since(mark, username="coord.north")
    assert [x["action"] for x in rows] == ["carer_link_ended"], rows
    assert rows[0]["service_user_id"] == su["id"]

    # Ended twice: 409.  A stale version: 409.
    r = c.post(url, json={"version": ended["version"], "end_reason": "Again"})
    assert r.status_code == 409, describe(r)
    r = c.post(f"/api/v1/carer-links/{second['id']}/end",
               json={"version": second["version"] + 5, "end_reason": "x"})
    assert r.status_code == 409, describe(r)
    assert db.scalar("SELECT ended_on FROM carer_link WHERE id = %s",
                     (second["id"],)) is None

    # Current first, then ended; the person still has a carer.
    body = kit.person(c, su["id"])
    assert [x["id"] for x in body["carers"]] == [second["id"], first["id"]]
    assert body["no_carer"] is False


def test_only_ended_links_is_no_carer(case, kit):
    made = case()
    c, su = made["c"], made["person"]["id"]
    link = kit.added(c, su)
    kit.ended(c, link, "Died")
    body = kit.person(c, su)
    assert body["no_carer"] is True
    assert [x["id"] for x in body["carers"]] == [link["id"]]


# ------------------------------------------------------------- bad input

ADD_BAD = [
    ({"given_name": None}, {"given_name"}),
    ({"family_name": "  "}, {"family_name"}),
    ({"given_name": "x" * 101}, {"given_name"}),
    ({"relationship": None}, {"relationship"}),
    ({"relationship": "cousin"}, {"relationship"}),
    ({"relationship": "other"}, {"relationship_detail"}),
    ({"date_of_birth": "+1"}, {"date_of_birth"}),
    ({"date_of_birth": "1890-01-01"}, {"date_of_birth"}),
    ({"date_of_birth": "2001-02-30"}, {"date_of_birth"}),
    ({"email": "not-an-address", "preferred_contact": "phone"}, {"email"}),
    ({"postcode": "12345"}, {"postcode"}),
    ({"postcode": "LS1 4APX"}, {"postcode"}),
    ({"preferred_contact": "pigeon"}, {"preferred_contact"}),
    ({"preferred_contact": "email"}, {"preferred_contact"}),
    ({"preferred_contact": "text", "phone": None}, {"preferred_contact"}),
    ({"preferred_contact": "phone", "phone": None}, {"preferred_contact"}),
    ({"preferred_contact": "post"}, {"preferred_contact"}),
    ({"started_on": "+1"}, {"started_on"}),
    ({"started_on": "soon"}, {"started_on"}),
    ({"lives_with": "perhaps"}, {"lives_with"}),
    ({"young_carer": "perhaps"}, {"young_carer"}),
    ({"carer_id": "abc"}, {"carer_id"}),
]


def future(kit, value):
    return kit.day(int(value[1:])) if value.startswith("+") else value


@pytest.mark.parametrize("bad,fields", ADD_BAD)
def test_add_bad_input_is_422_naming_fields(case, kit, db, bad, fields):
    made = case()
    c, su = made["c"], made["person"]["id"]
    bad = {k: future(kit, v) if isinstance(v, str) else v
           for k, v in bad.items()}
    r = kit.add(c, su, **bad)
    assert r.status_code == 422, describe(r)
    out = json_of(r)
    assert out["error"] and set(out["errors"]) == fields, out
    assert all(isinstance(m, str) and m for m in out["errors"].values())
    assert carer_rows(db, su) == []


def test_add_messages_in_nhs_style(case, kit):
    made = case()
    r = kit.add(made["c"], made["person"]["id"], family_name="")
    assert r.status_code == 422, describe(r)
    errors = json_of(r)["errors"]
    assert errors == {"family_name": "Enter the carer's family name"}, errors
    r = kit.add(made["c"], made["person"]["id"], given_name=" ")
    assert json_of(r)["errors"] == {
        "given_name": "Enter the carer's given name"}, r.text


def test_update_bad_input_is_422(case, kit, db):
    made = case()
    c = made["c"]
    carer = kit.added(c, made["person"]["id"])["carer"]
    base = {"version": carer["version"], "given_name": "A", "family_name": "B",
            "phone": "07700 900456"}
    for bad, fields in [({"version": None}, {"version"}),
                        ({"family_name": ""}, {"family_name"}),
                        ({"email": "x@"}, {"email"}),
                        ({"postcode": "NOPE"}, {"postcode"}),
                        ({"date_of_birth": kit.day(1)}, {"date_of_birth"}),
                        ({"preferred_contact": "email"}, {"preferred_contact"})]:
        body = {k: v for k, v in dict(base, **bad).items() if v is not None}
        r = c.put(f"/api/v1/carers/{carer['id']}", json=body)
        assert r.status_code == 422, (bad, describe(r))
        assert set(json_of(r)["errors"]) == fields, (bad, r.text)
    assert db.scalar("SELECT version FROM carer WHERE id = %s",
                     (carer["id"],)) == carer["version"]


def test_unknown_ids_are_404(case, kit):
    made = case()
    c = made["c"]
    for method, path, body in [
            ("GET", "/api/v1/carers/999999999", None),
            ("PUT", "/api/v1/carers/999999999",
             {"version": 1, "given_name": "A", "family_name": "B",
              "phone": "07700 900456"}),
            ("POST", "/api/v1/carer-links/999999999/end",
             {"version": 1, "end_reason": "x"}),
            ("GET", "/api/v1/service-users/999999999/carers", None)]:
        r = c.request(method, path, json=body)
        assert r.status_code == 404, (path, describe(r))
        assert json_of(r)["error"]


# ------------------------------------------------------------ the page

def test_person_page_forms_and_escaping(case, kit):
    made = case()
    c, su = made["c"], made["person"]["id"]
    link = kit.added(c, su, given_name="<b>Bold</b>", relationship="friend",
                     date_of_birth=None, young_carer=True)
    r = c.get(f"/service-users/{su}/carers", headers=HTML)
    assert r.status_code == 200 and is_html(r), describe(r)
    assert r.headers.get("Cache-Control", "").startswith("no-store")
    assert "<b>Bold</b>" not in r.text
    assert "&lt;b&gt;Bold&lt;/b&gt;" in r.text
    text = html_text(r)
    assert "Friend" in text and "Young carer".lower() in text.lower()
    for action in (f"/service-users/{su}/carers",
                   f"/carer-links/{link['id']}/consent",
                   f"/carer-links/{link['id']}/assessments",
                   f"/service-users/{su}/involvement"):
        form = form_of(r.text, action)
        assert [f for f in form["fields"]
                if f[0] == "csrf_token" and f[1] == "hidden" and f[2]], action
    form = form_of(r.text, f"/carer-links/{link['id']}/assessments")
    assert dict((f[0], f[2]) for f in form["fields"])["offered_on"] == \
        kit.today().isoformat()


def test_browser_adds_carer_with_limited_consent_and_offers(case, kit, db):
    """As a browser: the add form, then the consent form with two topic
    checkboxes, then the offer of an assessment, each redirecting back to
    the page, which then shows what the carer may be told."""
    made = case()
    c, su = made["c"], made["person"]["id"]
    page = f"/service-users/{su}/carers"
    r = c.get(page, headers=HTML)
    family = unique_family_name("Hocking")
    body = browser_body(form_of(r.text, page),
                        {"given_name": "Jory", "family_name": family,
                         "relationship": "partner", "phone": "07700 900321"})
    r = c.post(page, data=body, headers=HTML)
    assert r.status_code == 303, describe(r)
    assert r.headers["Location"].startswith(page)
    (row,) = carer_rows(db, su)
    assert (row["given_name"], row["family_name"]) == ("Jory", family)
    link_id = row["link_id"]

    r = c.get(page, headers=HTML)
    form = form_of(r.text, f"/carer-links/{link_id}/consent")
    body = browser_body(form, {"scope": "limited"})
    body.pop("topics", None)
    assert body["given_on"] == kit.today().isoformat()
    pairs = list(body.items()) + [("topics", "care_plan"),
                                  ("topics", "appointments")]
    r = c.post(f"/carer-links/{link_id}/consent", data=pairs, headers=HTML)
    assert r.status_code == 303, describe(r)
    k = db.one("SELECT k.scope, k.topics, k.given_on, k.review_on"
               " FROM carer_link l JOIN carer_consent k"
               " ON k.id = l.current_consent_id WHERE l.id = %s", (link_id,))
    assert k["scope"] == "limited"
    assert sorted(k["topics"]) == ["appointments", "care_plan"]
    assert k["given_on"] == kit.today()
    assert k["review_on"] == db.scalar(
        "SELECT (current_date + carer_consent_review)::date FROM site"
        " WHERE id = %s", (made["person"]["site_id"],))

    r = c.get(page, headers=HTML)
    body = browser_body(form_of(r.text, f"/carer-links/{link_id}/assessments"))
    r = c.post(f"/carer-links/{link_id}/assessments", data=body, headers=HTML)
    assert r.status_code == 303, describe(r)
    assert db.scalar("SELECT status FROM carer_assessment"
                     " WHERE carer_link_id = %s", (link_id,)) == "offered"

    r = c.get(page, headers=HTML)
    text = html_text(r)
    assert "Their care plan" in text
    assert "Dates of their reviews and appointments" in text
    assert "Partner or spouse" in text


def test_page_add_form_refused_keeps_what_was_typed(case, kit, db):
    made = case()
    c, su = made["c"], made["person"]["id"]
    page = f"/service-users/{su}/carers"
    r = c.get(page, headers=HTML)
    body = browser_body(form_of(r.text, page),
                        {"given_name": "Kerensa", "family_name": "",
                         "relationship": "parent", "email": "bad-address"})
    r = c.post(page, data=body, headers=HTML)
    assert r.status_code == 422, describe(r)
    assert is_html(r)
    assert 'href="#add-family_name"' in r.text or 'href="#family_name"' in r.text
    assert "Enter the carer's family name" in html_text(r)
    again = form_of(r.text, page)
    assert ("given_name", "text", "Kerensa", False) in again["fields"]
    assert carer_rows(db, su) == []


def test_started_on_cannot_be_in_the_future(case, kit):
    made = case()
    r = kit.add(made["c"], made["person"]["id"],
                started_on=(kit.today() + datetime.timedelta(days=1)).isoformat())
    assert r.status_code == 422 and "started_on" in json_of(r)["errors"]
