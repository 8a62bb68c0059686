"""Sites are kept apart: another site's records answer 404 (as if absent),
and each refusal leaves an access_denied audit row naming the caller."""

from cpa_e2e import describe, json_of


def staff_by_username(admin, username):
    r = admin.get("/api/v1/staff")
    assert r.status_code == 200, describe(r)
    for s in json_of(r)["staff"]:
        if s["username"] == username:
            return s
    raise AssertionError(f"{username} not in the staff list")


def test_coordinator_sees_only_their_sites(as_demo, sites):
    c = as_demo("coord.north")
    r = c.get("/api/v1/sites")
    assert r.status_code == 200, describe(r)
    listed = json_of(r)["sites"]
    assert [s["code"] for s in listed] == ["north"]
    north = listed[0]
    assert north["id"] == sites["north"]["id"] and north["name"] == "North site"
    assert north["districts"], "the demo site has districts"
    for d in north["districts"]:
        assert {"id", "name", "integrated", "inclusive", "teams"} <= set(d), d
        assert isinstance(d["integrated"], bool) and isinstance(d["inclusive"], bool)
        for t in d["teams"]:
            assert {"id", "name"} <= set(t), t

    r = c.get(f"/api/v1/sites/{sites['north']['id']}")
    assert r.status_code == 200, describe(r)
    assert json_of(r)["site"]["code"] == "north"


def test_other_sites_record_is_404_and_audited(as_demo, sites, audit):
    c = as_demo("coord.north")
    south_id = sites["south"]["id"]
    mark = audit.mark()
    r = c.get(f"/api/v1/sites/{south_id}")
    assert r.status_code == 404, describe(r)
    assert "South" not in r.text and "south" not in r.text
    rows = audit.since(mark, action="access_denied", entity_type="site",
                       entity_id=south_id)
    assert len(rows) == 1, rows
    assert rows[0]["username"] == "coord.north"
    assert rows[0]["staff_id"] == c.user["id"]

    missing = 2 ** 62
    r = c.get(f"/api/v1/sites/{missing}")
    assert r.status_code == 404, describe(r)
    assert json_of(r).keys() == json_of(c.get(f"/api/v1/sites/{south_id}")).keys()


def test_admin_cannot_read_another_sites_staff(admin, admin_south, audit):
    coord_south = staff_by_username(admin_south, "coord.south")
    mark = audit.mark()
    r = admin.get(f"/api/v1/staff/{coord_south['id']}")
    assert r.status_code == 404, describe(r)
    assert "coord.south" not in r.text
    rows = audit.since(mark, action="access_denied", entity_type="staff",
                       entity_id=coord_south["id"])
    assert len(rows) == 1, rows
    assert rows[0]["username"] == "admin.north"

    r = admin.patch(f"/api/v1/staff/{coord_south['id']}",
                    json={"display_name": "Taken over"})
    assert r.status_code == 404, describe(r)
    assert staff_by_username(admin_south, "coord.south")["display_name"] == \
        coord_south["display_name"]


def test_admin_staff_list_holds_no_other_site_staff(admin, sites):
    north = sites["north"]["id"]
    r = admin.get("/api/v1/staff")
    assert r.status_code == 200, describe(r)
    staff = json_of(r)["staff"]
    names = {s["username"] for s in staff}
    assert not names & {"admin.south", "coord.south"}, names
    for s in staff:
        assert s["home_site_id"] == north or \
            any(g["site_id"] == north for g in s["roles"]), s
