"""NHS numbers at intake: 10 digits (spaces allowed in input), modulus 11
checked; anything else is a 422 naming nhs_number, and nothing is stored."""

import pytest

from cpa_e2e import (NHS_MUST_BE_10_DIGITS, NHS_NOT_VALID, bad_checksum,
                     describe, json_of, new_idempotency_key, new_nhs_number,
                     nine_digits_without_check_digit, person_fields,
                     referral_body, spaced)


def stored(db, body):
    """(people, referrals) stored for a referral body: rows with its
    family name, rows with its reason."""
    people = db.scalar("SELECT count(*) FROM service_user WHERE family_name = %s",
                       (body["family_name"],))
    referrals = db.scalar("SELECT count(*) FROM referral WHERE reason = %s",
                          (body["reason"],))
    return people, referrals


def post(c, body):
    return c.post("/api/v1/referrals", json=body,
                  headers={"Idempotency-Key": new_idempotency_key()})


@pytest.mark.parametrize("write", (lambda n: n, spaced,
                                   lambda n: f" {n[:3]} {n[3:6]}  {n[6:]} "),
                         ids=("plain", "spaced", "extra-spaces"))
def test_valid_numbers_are_stored_as_digits(write, staff, teams, db):
    c = staff("coord.north")
    nhs = new_nhs_number()
    body = referral_body(teams["north_riverside_cmht"]["id"],
                         person_fields(nhs_number=write(nhs)))
    r = post(c, body)
    assert r.status_code == 201, describe(r)
    su = json_of(r)["service_user"]
    assert su["nhs_number"] == nhs
    assert db.scalar("SELECT nhs_number FROM service_user WHERE id = %s",
                     (su["id"],)) == nhs
    assert stored(db, body) == (1, 1)


def test_nhs_number_is_optional(staff, teams, db):
    c = staff("coord.north")
    body = referral_body(teams["north_riverside_cmht"]["id"],
                         person_fields(nhs=False))
    r = post(c, body)
    assert r.status_code == 201, describe(r)
    assert json_of(r)["service_user"]["nhs_number"] is None
    assert stored(db, body) == (1, 1)


def bad_numbers():
    good = new_nhs_number()
    nine = nine_digits_without_check_digit()
    return (
        ("bad-checksum", bad_checksum(good), NHS_NOT_VALID),
        ("bad-checksum-spaced", spaced(bad_checksum(good)), NHS_NOT_VALID),
        ("check-digit-10", nine + "0", NHS_NOT_VALID),
        ("nine-digits", good[:9], NHS_MUST_BE_10_DIGITS),
        ("eleven-digits", good + "1", NHS_MUST_BE_10_DIGITS),
        ("letters", good[:4] + "AB" + good[6:], NHS_MUST_BE_10_DIGITS),
        ("letter-o-for-zero", "O" + good[1:], NHS_MUST_BE_10_DIGITS),
        ("punctuation", f"{good[:3]}-{good[3:6]}-{good[6:]}",
         NHS_MUST_BE_10_DIGITS),
    )


BAD = bad_numbers()


@pytest.mark.parametrize("nhs,message", [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_invalid_number_422_and_nothing_stored(nhs, message, staff, teams, db):
    c = staff("coord.north")
    body = referral_body(teams["north_riverside_cmht"]["id"],
                         person_fields(nhs_number=nhs))
    r = post(c, body)
    assert r.status_code == 422, describe(r)
    got = json_of(r)
    assert got["errors"]["nhs_number"] == message, got
    assert isinstance(got["error"], str) and got["error"]
    assert stored(db, body) == (0, 0)


def test_edit_with_an_invalid_number_changes_nothing(staff, teams, refer, db):
    c = staff("coord.north")
    made = refer(c, teams["north_riverside_cmht"]["id"])
    su = made["service_user"]
    for nhs, message in ((bad_checksum(su["nhs_number"]), NHS_NOT_VALID),
                         ("12345", NHS_MUST_BE_10_DIGITS)):
        r = c.put(f"/api/v1/service-users/{su['id']}",
                  json={"nhs_number": nhs, "version": su["version"]})
        assert r.status_code == 422, describe(r)
        assert json_of(r)["errors"]["nhs_number"] == message
    row = db.one("SELECT nhs_number, version FROM service_user WHERE id = %s",
                 (su["id"],))
    assert row == {"nhs_number": su["nhs_number"], "version": su["version"]}
