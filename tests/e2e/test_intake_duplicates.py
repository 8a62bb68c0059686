"""Duplicate people at intake: a known NHS number attaches the referral to
the person already recorded at that site; a similar name with the same date
of birth is offered as a possible duplicate, and nothing else is."""

from cpa_e2e import (PERSON_SUMMARY_KEYS, describe, ids_of, json_of, new_dob,
                     new_idempotency_key, new_nhs_number, referral_body)


def post(c, body):
    r = c.post("/api/v1/referrals", json=body,
               headers={"Idempotency-Key": new_idempotency_key()})
    assert r.status_code == 201, describe(r)
    return json_of(r)


def person(given, family, dob, nhs=None):
    body = {"given_name": given, "family_name": family, "date_of_birth": dob}
    if nhs:
        body["nhs_number"] = nhs
    return body


def test_known_nhs_number_attaches_to_the_existing_person(staff, teams, db):
    c = staff("coord.north")
    team = teams["north_riverside_cmht"]["id"]
    nhs, dob = new_nhs_number(), new_dob()
    first = post(c, referral_body(team, person("Grace", "Mbeki", dob, nhs)))
    original = first["service_user"]
    assert first.get("matched_existing") is not True

    # Same number, written with spaces and a name typed differently.
    spaced = f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"
    again = post(c, referral_body(team, person("Gracie", "Mbeky", dob, spaced),
                                  urgency="urgent"))
    assert again["matched_existing"] is True
    assert again["service_user"]["id"] == original["id"]
    assert again["referral"]["service_user_id"] == original["id"]
    assert again["referral"]["id"] != first["referral"]["id"]
    assert original["id"] not in ids_of(again["possible_duplicates"])
    # The record is not overwritten by what the second referrer typed.
    assert again["service_user"]["given_name"] == "Grace"
    rows = db.all("SELECT id, given_name FROM service_user "
                  "WHERE nhs_number = %s", (nhs,))
    assert rows == [{"id": original["id"], "given_name": "Grace"}]
    assert db.scalar("SELECT count(*) FROM referral WHERE service_user_id = %s",
                     (original["id"],)) == 2


def test_the_same_nhs_number_at_another_site_is_another_record(staff, teams,
                                                                db):
    nhs, dob = new_nhs_number(), new_dob()
    north = post(staff("coord.north"),
                 referral_body(teams["north_riverside_cmht"]["id"],
                               person("Kwame", "Asante", dob, nhs)))
    south = post(staff("coord.south"),
                 referral_body(teams["south_harbour_cmht"]["id"],
                               person("Kwame", "Asante", dob, nhs)))
    assert south.get("matched_existing") is not True
    assert south["service_user"]["id"] != north["service_user"]["id"]
    assert south["service_user"]["site_id"] == teams["south_harbour_cmht"]["site_id"]
    assert north["service_user"]["id"] not in ids_of(south["possible_duplicates"])
    sites = db.all("SELECT site_id FROM service_user WHERE nhs_number = %s "
                   "ORDER BY id", (nhs,))
    assert [s["site_id"] for s in sites] == \
        [teams["north_riverside_cmht"]["site_id"],
         teams["south_harbour_cmht"]["site_id"]]


def test_similar_names_with_the_same_birth_date_are_flagged(staff, teams, db):
    c = staff("coord.north")
    team = teams["north_riverside_cmht"]["id"]
    dob, other_dob = new_dob(), new_dob()

    # The same person at the other site must never be offered to north.
    elsewhere = post(staff("coord.south"),
                     referral_body(teams["south_harbour_cmht"]["id"],
                                   person("John", "Smith", dob)))
    john = post(c, referral_body(team, person("John", "Smith", dob)))
    john_id = john["service_user"]["id"]
    assert john_id not in ids_of(john["possible_duplicates"])

    # A spelling variant: flagged, but still recorded as a new person.
    jon = post(c, referral_body(team, person("Jon", "Smyth", dob)))
    assert jon.get("matched_existing") is not True
    assert jon["service_user"]["id"] != john_id
    flagged = {d["id"]: d for d in jon["possible_duplicates"]}
    assert john_id in flagged, jon["possible_duplicates"]
    d = flagged[john_id]
    assert PERSON_SUMMARY_KEYS <= set(d), d
    assert d["match"] == "name_and_date_of_birth"
    assert (d["given_name"], d["family_name"], d["date_of_birth"]) == \
        ("John", "Smith", dob)
    assert jon["service_user"]["id"] not in flagged
    assert elsewhere["service_user"]["id"] not in flagged

    # Given and family names swapped.
    swapped = post(c, referral_body(team, person("Smith", "John", dob)))
    flagged = {d["id"]: d for d in swapped["possible_duplicates"]}
    assert john_id in flagged, swapped["possible_duplicates"]
    assert flagged[john_id]["match"] == "name_and_date_of_birth"
    assert swapped["service_user"]["id"] not in flagged
    assert elsewhere["service_user"]["id"] not in flagged

    # The same name born on another day is someone else.
    other = post(c, referral_body(team, person("John", "Smith", other_dob)))
    unflagged = ids_of(other["possible_duplicates"])
    for known in (john_id, jon["service_user"]["id"],
                  swapped["service_user"]["id"]):
        assert known not in unflagged, other["possible_duplicates"]

    # Nobody was merged: four people at north with these names and dates.
    assert db.scalar(
        "SELECT count(*) FROM service_user WHERE site_id = %s AND "
        "date_of_birth IN (%s, %s) AND id IN (%s, %s, %s, %s)",
        (teams["north_riverside_cmht"]["site_id"], dob, other_dob, john_id,
         jon["service_user"]["id"], swapped["service_user"]["id"],
         other["service_user"]["id"])) == 4


def test_an_unrelated_person_is_not_flagged(staff, teams):
    c = staff("coord.north")
    team = teams["north_riverside_cmht"]["id"]
    dob = new_dob()
    first = post(c, referral_body(team, person("Olusegun", "Bankole", dob)))
    other = post(c, referral_body(team, person("Wilhelmina", "Featherstone",
                                                dob)))
    assert first["service_user"]["id"] not in ids_of(other["possible_duplicates"])
