"""HTML pages for people: redirects when signed out, the home page with the
user's name and sites (escaped), JSON by suffix, no caching."""

from urllib.parse import urlsplit

from cpa_e2e import (HTML, JSON_ACCEPT, SIGN_IN_TO_CONTINUE, describe,
                     html_text, is_html, json_of, new_password,
                     session_cookie_set)


def test_signed_out_pages_redirect_to_signin(client):
    c = client()
    for path in ("/", "/admin/staff", "/account/password"):
        r = c.get(path, headers=HTML)
        assert r.status_code == 303, describe(r)
        assert urlsplit(r.headers["Location"]).path == "/signin"
    r = c.get("/admin/staff", headers=JSON_ACCEPT)
    assert r.status_code == 401, describe(r)
    assert json_of(r) == SIGN_IN_TO_CONTINUE
    r = c.get("/admin/staff.json")
    assert r.status_code == 401, describe(r)


def test_home_shows_name_and_sites_escaped(make_staff, signin):
    name = "Dr <b>Bold</b> & O'Neil"
    who = make_staff("home", display_name=name)
    c = signin(who["username"], who["password"])
    r = c.get("/", headers=HTML)
    assert r.status_code == 200, describe(r)
    assert is_html(r)
    assert "<b>Bold</b>" not in r.text, "markup in a name must be escaped"
    assert name in html_text(r)
    assert "North site" in html_text(r)
    assert "South site" not in html_text(r)
    assert "no-store" in r.headers.get("Cache-Control", "")


def test_home_for_demo_user(as_demo):
    c = as_demo("coord.north")
    r = c.get("/", headers=HTML)
    assert r.status_code == 200, describe(r)
    assert c.user["display_name"] in html_text(r)
    assert "North site" in html_text(r)


def test_home_links_admins_to_their_sites_reminder_policy(as_demo):
    admin = as_demo("admin.north")
    r = admin.get("/", headers=HTML)
    assert r.status_code == 200, describe(r)
    sites = {s["code"]: s for s in json_of(admin.get("/", headers=JSON_ACCEPT))["sites"]}
    assert sites["north"]["administer"] is True
    north = sites["north"]["id"]
    assert f'href="/reminder-policy/{north}"' in r.text, r.text
    assert "Reminder lead times and escalations at North site" in html_text(r)
    assert r.text.count('href="/reminder-policy/') == 1, "only the site they administer"
    assert admin.get(f"/reminder-policy/{north}", headers=HTML).status_code == 200
    coordinator = as_demo("coord.north")
    r = coordinator.get("/", headers=HTML)
    assert r.status_code == 200, describe(r)
    assert "/reminder-policy/" not in r.text


def test_json_suffix_and_accept_answer_json(admin):
    api = admin.get("/api/v1/staff")
    assert api.status_code == 200, describe(api)
    suffixed = admin.get("/admin/staff.json")
    assert suffixed.status_code == 200, describe(suffixed)
    assert json_of(suffixed) == json_of(api)
    accepted = admin.get("/admin/staff", headers=JSON_ACCEPT)
    assert accepted.status_code == 200, describe(accepted)
    assert json_of(accepted) == json_of(api)
    page = admin.get("/admin/staff", headers=HTML)
    assert page.status_code == 200 and is_html(page), describe(page)


def test_pages_are_not_cached(admin):
    for path in ("/", "/admin/staff", "/admin/staff/new", "/account/password"):
        r = admin.get(path, headers=HTML)
        assert r.status_code == 200, describe(r)
        assert "no-store" in r.headers.get("Cache-Control", ""), path


def test_account_password_form(as_demo):
    c = as_demo("auditor.north")
    r = c.get("/account/password", headers=HTML)
    assert r.status_code == 200, describe(r)
    assert is_html(r)
    for name in ("current_password", "new_password", "csrf_token"):
        assert f'name="{name}"' in r.text, name
    assert c.csrf in r.text


def test_account_password_form_post(make_staff, signin, fresh_addr):
    who = make_staff("formpw")
    c = signin(who["username"], who["password"], source=fresh_addr())
    old = c.cookie
    r = c.post("/account/password", headers=HTML, csrf=False,
               data={"current_password": "not-" + who["password"],
                     "new_password": new_password(), "csrf_token": c.csrf})
    assert r.status_code == 422, describe(r)
    assert is_html(r)
    new = new_password()
    r = c.post("/account/password", headers=HTML, csrf=False,
               data={"current_password": who["password"],
                     "new_password": new, "csrf_token": c.csrf})
    # Either a confirmation page or a redirect to one; a new session either way.
    assert r.status_code in (200, 303), describe(r)
    assert session_cookie_set(r) not in (None, old)
    assert c.cookie == session_cookie_set(r)
    signin(who["username"], new)
