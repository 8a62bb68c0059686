"""A read that cannot be audited shows nothing: every intake answer that
shows people's details commits its audit row first, and when that commit
fails the answer is the database's error (503, as for a timeout), never the
data.  For each test a trigger on audit_event refuses the chosen rows as a
statement timeout would; it is removed when the test ends."""

import contextlib

import pytest

from cpa_e2e import HTML, describe, is_html, json_of, unique_reason

REFUSE = """
CREATE FUNCTION e2e_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.username = TG_ARGV[0] AND NEW.entity_type = TG_ARGV[1]
	    AND NEW.action = TG_ARGV[2] THEN
		RAISE EXCEPTION 'e2e: audit row refused' USING ERRCODE = 'query_canceled';
	END IF;
	RETURN NEW;
END
$$"""
UNDO = ("DROP TRIGGER IF EXISTS e2e_refuse_audit ON audit_event;"
        " DROP FUNCTION IF EXISTS e2e_refuse_audit()")


@pytest.fixture
def refused(db):
    """refused(username, entity_type, action="read") -> a context inside
    which those audit rows cannot be written."""
    @contextlib.contextmanager
    def make(username, entity_type, action="read"):
        with db.conn.cursor() as cur:
            cur.execute(UNDO)
            cur.execute(REFUSE)
            try:
                cur.execute("CREATE TRIGGER e2e_refuse_audit BEFORE INSERT ON"
                            " audit_event FOR EACH ROW EXECUTE FUNCTION"
                            " e2e_refuse_audit(%s, %s, %s)",
                            (username, entity_type, action))
                yield
            finally:
                cur.execute(UNDO)
    return make


def unavailable(r, *secrets):
    """r is a plain 503 (JSON or page) showing none of secrets."""
    assert r.status_code == 503, describe(r)
    if not is_html(r):
        body = json_of(r)
        assert set(body) <= {"error", "incident"}, body
    for s in secrets:
        assert str(s) not in r.text, f"{s!r} shown: {describe(r)}"


@pytest.fixture
def incoming(staff, teams, refer, accept):
    """A north person whose episode waits for south's Harbour CMHT."""
    cn = staff("coord.north")
    made = refer(cn, teams["north_riverside_cmht"]["id"])
    episode = accept(cn, made["referral"]["id"], cn.user["id"])
    r = cn.post(f"/api/v1/episodes/{episode['id']}/transfer",
                json={"to_team_id": teams["south_harbour_cmht"]["id"],
                      "reason": unique_reason("Moving")})
    assert r.status_code == 201, describe(r)
    return {"person": made["service_user"], "transfer": json_of(r)["transfer"]}


def test_transfers(staff, incoming, refused, audit):
    cs = staff("coord.south")
    person = incoming["person"]
    secrets = (person["family_name"], person["nhs_number"])
    mark = audit.mark()
    with refused("coord.south", "episode_transfer"):
        unavailable(cs.get("/api/v1/transfers"), *secrets)
        unavailable(cs.get("/transfers", headers=HTML), *secrets)
        # The page shown again with a refused decision's errors.
        unavailable(cs.post(f"/transfers/{incoming['transfer']['id']}/decision",
                            data={"decision": "decline", "csrf_token": cs.csrf},
                            headers=HTML), *secrets)
    assert audit.since(mark, username="coord.south",
                       entity_type="episode_transfer") == []
    r = cs.get("/api/v1/transfers")
    assert r.status_code == 200, describe(r)
    assert person["family_name"] in r.text


def test_caseload(staff, refused):
    c = staff("coord.north")
    r = c.get("/api/v1/caseload")
    assert r.status_code == 200, describe(r)
    shown = json_of(r)["caseload"]
    assert shown, "coord.north has no caseload to show"
    # NHS numbers, and family names other than the layout's own user's.
    secrets = [e["service_user"]["nhs_number"] for e in shown
               if e["service_user"]["nhs_number"]]
    secrets += [e["service_user"]["family_name"] for e in shown
                if e["service_user"]["family_name"] not in c.user["display_name"]]
    with refused("coord.north", "caseload"):
        unavailable(c.get("/api/v1/caseload"), *secrets)
        unavailable(c.get("/caseload", headers=HTML), *secrets)
    # A manager opening that coordinator's list.
    with refused("tm.north", "caseload"):
        unavailable(staff("tm.north").get(
            f"/api/v1/caseload?coordinator_id={c.user['id']}"), *secrets)


def test_stale_edit(staff, teams, refer, refused, db):
    c = staff("coord.north")
    su = refer(c, teams["north_riverside_cmht"]["id"])["service_user"]
    r = c.put(f"/api/v1/service-users/{su['id']}",
              json={"phone": "0113 496 0303", "version": su["version"]})
    assert r.status_code == 200, describe(r)
    with refused("tm.north", "service_user"):
        r = staff("tm.north").put(f"/api/v1/service-users/{su['id']}",
                                  json={"phone": "0113 496 0404",
                                        "version": su["version"]})
        unavailable(r, "0113 496 0303", su["family_name"])
    assert db.scalar("SELECT phone FROM service_user WHERE id = %s",
                     (su["id"],)) == "0113 496 0303"


def test_refused_decision(staff, teams, refer, refused):
    c = staff("coord.north")
    made = refer(c, teams["north_riverside_cmht"]["id"])
    path = f"/referrals/{made['referral']['id']}/decision"
    family = made["service_user"]["family_name"]
    # Accepting without a level: the referral page again, with the person.
    form = {"decision": "accept", "reason": "Meets criteria",
            "coordinator_id": c.user["id"], "csrf_token": c.csrf}
    r = c.post(path, data=form, headers=HTML)
    assert r.status_code == 422 and family in r.text, describe(r)
    with refused("coord.north", "referral"):
        unavailable(c.post(path, data=form, headers=HTML), family)
        unavailable(c.post("/api/v1" + path, json={
            "decision": "accept", "reason": "Meets criteria",
            "coordinator_id": c.user["id"]}), family)


def test_refused_referral_form(staff, teams, refer, refused):
    c = staff("coord.north")
    su = refer(c, teams["north_riverside_cmht"]["id"])["service_user"]
    # A referral for a known person without a reason: the form again,
    # naming the person.
    form = {"service_user_id": su["id"],
            "team_id": teams["north_riverside_cmht"]["id"], "source": "gp",
            "urgency": "routine", "csrf_token": c.csrf}
    r = c.post("/referrals", data=form, headers=HTML)
    assert r.status_code == 422 and su["family_name"] in r.text, describe(r)
    with refused("coord.north", "service_user"):
        unavailable(c.post("/referrals", data=form, headers=HTML),
                    su["family_name"])
