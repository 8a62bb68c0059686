"""The per-person iCalendar feed of cpa-reviews: its secret URL made,
replaced and revoked on the calendar feed page; the feed itself fetched
with no session, checked by a strict RFC 5545 reader written here (CRLF,
folding at 75 octets, BEGIN/END balance, required properties, TEXT
escaping), showing initials only; every fetch audited in the owner's
name."""

import hashlib
import re
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests

from cpa_e2e import (HTML, HTTP_TIMEOUT, describe, form_of, json_of,
                     person_fields, unique_family_name, wait_until)

LONDON = ZoneInfo("Europe/London")
TOKEN_URL = re.compile(r"^(https?://[^/]+)/calendar/([A-Za-z0-9_-]{43})\.ics$")


pytestmark = pytest.mark.usefixtures("reviews_up")


def due_item_of(db, episode_id):
    return db.one("SELECT d.* FROM due_item d JOIN cpa_review r ON r.id = d.source_id"
                  " WHERE d.kind = 'cpa_review' AND r.episode_id = %s AND d.open",
                  (episode_id,))


def new_feed(c):
    r = c.post("/api/v1/calendar-feed", json={})
    assert r.status_code == 201, describe(r)
    body = json_of(r)
    m = TOKEN_URL.match(body["url"])
    assert m, body["url"]
    assert body["calendar_feed"]["active"] is True
    return body["url"], m.group(2)


def fetch(url, **kw):
    """GET a feed URL as a calendar program would: no cookie, no session."""
    return requests.get(url, timeout=HTTP_TIMEOUT, allow_redirects=False, **kw)


# ------------------------------------------------------ a strict ICS reader

def parse_ics(body):
    """The calendar in body (bytes) as a list of components
    {"name", "props": [(name, params, value)], "children"}; fails on any
    breach of RFC 5545's syntax that matters to a calendar program."""
    assert body.endswith(b"\r\n"), "the calendar must end with CRLF"
    physical = body[:-2].split(b"\r\n")
    for n, line in enumerate(physical, 1):
        assert b"\n" not in line and b"\r" not in line, f"line {n}: bare CR or LF"
        assert len(line) <= 75, f"line {n} has {len(line)} octets: {line!r}"
        line.decode("utf-8")            # whole sequences on each line
    logical = []
    for line in physical:
        if line[:1] in (b" ", b"\t"):
            assert logical, "the calendar starts with a continuation line"
            logical[-1] += line[1:]
        else:
            logical.append(line)
    root = {"name": None, "props": [], "children": []}
    stack = [root]
    for raw in logical:
        text = raw.decode("utf-8")
        m = re.match(r"^([A-Za-z0-9-]+)((?:;[A-Za-z0-9-]+=[^;:]*)*):(.*)$", text)
        assert m, f"not a content line: {text!r}"
        name, params, value = m.group(1).upper(), m.group(2), m.group(3)
        if name == "BEGIN":
            comp = {"name": value, "props": [], "children": []}
            stack[-1]["children"].append(comp)
            stack.append(comp)
        elif name == "END":
            assert len(stack) > 1 and stack[-1]["name"] == value, \
                f"END:{value} does not close {stack[-1]['name']}"
            stack.pop()
        else:
            assert len(stack) > 1, f"property outside a component: {text!r}"
            stack[-1]["props"].append((name, params, value))
    assert len(stack) == 1, f"{stack[-1]['name']} is never closed"
    assert [c["name"] for c in root["children"]] == ["VCALENDAR"]
    cal = root["children"][0]
    assert one(cal, "VERSION") == "2.0"
    assert one(cal, "PRODID")
    for ev in cal["children"]:
        assert ev["name"] == "VEVENT", ev["name"]
        assert re.fullmatch(r"\d{8}T\d{6}Z", one(ev, "DTSTAMP"))
        one(ev, "UID")
        start = [p for p in ev["props"] if p[0] == "DTSTART"]
        assert len(start) == 1 and start[0][1] == ";VALUE=DATE" and \
            re.fullmatch(r"\d{8}", start[0][2]), start
        for p in ev["props"]:
            if p[0] in ("SUMMARY", "DESCRIPTION"):
                text_value(p[2])
    return cal


def one(comp, name):
    values = [v for n, _, v in comp["props"] if n == name]
    assert len(values) == 1, f"{comp['name']} must have one {name}: {values!r}"
    return values[0]


def text_value(v):
    """A TEXT value unescaped; fails on an unescaped , or ; or a stray
    backslash."""
    out, i = "", 0
    while i < len(v):
        ch = v[i]
        if ch == "\\":
            assert i + 1 < len(v) and v[i + 1] in "\\;,nN", f"bad escape in {v!r}"
            out += "\n" if v[i + 1] in "nN" else v[i + 1]
            i += 2
            continue
        assert ch not in ",;", f"unescaped {ch!r} in TEXT {v!r}"
        out += ch
        i += 1
    return out


def events_by_uid(cal):
    return {one(ev, "UID"): ev for ev in cal["children"]}


def test_the_checker_refuses_broken_calendars():
    good = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\n"
            b"END:VCALENDAR\r\n")
    parse_ics(good)
    for bad in (good.replace(b"\r\n", b"\n"),
                good.replace(b"END:VCALENDAR\r\n", b""),
                good.replace(b"PRODID:-//x//y//EN", b"PRODID:" + b"x" * 80),
                good.replace(b"VERSION:2.0\r\n", b"")):
        with pytest.raises(AssertionError):
            parse_ics(bad)
    with pytest.raises(AssertionError):
        text_value("a, b")


# ------------------------------------------------------------------ the feed

def test_feed_lists_what_is_due_with_initials_only(team_member, case, db, audit, env):
    c = team_member()
    made = case(coordinator=c, person=person_fields(
        given_name="Zainab", family_name=unique_family_name("Quigley")))
    person = made["person"]
    item = due_item_of(db, made["episode"]["id"])

    r = c.get("/api/v1/calendar-feed")
    assert r.status_code == 200, describe(r)
    assert json_of(r)["calendar_feed"]["active"] is False

    url, token = new_feed(c)
    assert urlsplit(url).netloc == urlsplit(env.base).netloc
    assert db.scalar("SELECT encode(token_hash, 'hex') FROM calendar_feed"
                     " WHERE staff_id = %s", (c.staff_id,)) == \
        hashlib.sha256(token.encode()).hexdigest()
    status = c.get("/api/v1/calendar-feed")
    assert token not in status.text and "url" not in json_of(status)

    mark = audit.mark()
    r = fetch(url)
    assert r.status_code == 200, describe(r)
    assert r.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert r.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in r.headers
    cal = parse_ics(r.content)
    events = events_by_uid(cal)
    ev = events[f"{item['id']}@cpa-suite"]
    due = item["due_at"].astimezone(LONDON).date()
    assert one(ev, "DTSTART") == due.strftime("%Y%m%d")
    assert text_value(one(ev, "SUMMARY")) == "CPA review due: Z.Q."
    link = f"{env.base}/service-users/{person['id']}/reviews"
    assert one(ev, "URL") == link
    assert link in text_value(one(ev, "DESCRIPTION"))

    unfolded = r.content.replace(b"\r\n ", b"").decode()
    for secret in (person["nhs_number"], person["family_name"], "Quigley",
                   person["given_name"], person["date_of_birth"],
                   person["date_of_birth"].replace("-", "")):
        assert secret not in unfolded, secret

    rows = audit.since(mark, action="read", entity_id=c.staff_id)
    assert [(x["entity_type"], x["staff_id"]) for x in rows] == \
        [("calendar_feed", c.staff_id)]
    assert db.scalar("SELECT last_used_at > now() - interval '1 minute'"
                     " FROM calendar_feed WHERE staff_id = %s", (c.staff_id,))
    assert json_of(c.get("/api/v1/calendar-feed"))["calendar_feed"]["last_used_at"]

    # The token works without ".ics" too; HEAD answers like GET.
    r = fetch(url[:-4])
    assert r.status_code == 200 and f"{item['id']}@cpa-suite" in r.text
    r = requests.head(url, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/calendar")


def test_feed_folds_long_lines_and_escapes_text(team_member, case, db):
    c = team_member()
    case(coordinator=c)
    url, _ = new_feed(c)
    r = fetch(url)
    assert r.status_code == 200, describe(r)
    raw = r.content
    assert b"\r\n " in raw, "the long DESCRIPTION lines must be folded"
    cal = parse_ics(raw)
    assert one(cal, "X-WR-CALNAME") == "CPA suite: what is due"
    for ev in cal["children"]:
        assert one(ev, "DTEND") > one(ev, "DTSTART")


def test_manager_feed_has_items_of_reminders_addressed_to_them(team_member, case, db):
    coord = team_member()
    tm = team_member("team_manager")
    made = case(coordinator=coord)
    item = due_item_of(db, made["episode"]["id"])
    url, _ = new_feed(tm)
    assert f"{item['id']}@cpa-suite" not in fetch(url).text

    db.scalar("UPDATE cpa_review SET due_date = (now() AT TIME ZONE 'Europe/London')::date - 2"
              " WHERE episode_id = %s AND status = 'due' RETURNING id",
              (made["episode"]["id"],))

    def queued():
        db.scalar("SELECT remind_sweep(now(), 10000)")
        return db.scalar("SELECT count(*) FROM reminder WHERE due_item_id = %s"
                         " AND recipient_id = %s", (item["id"], tm.staff_id))
    wait_until(queued, 10, "the team manager's reminder")
    cal = parse_ics(fetch(url).content)
    ev = events_by_uid(cal)[f"{item['id']}@cpa-suite"]
    assert text_value(one(ev, "SUMMARY")).endswith("(overdue)")


# ------------------------------------------------------- revoking, replacing

def test_revoke_and_replace(team_member, db, audit):
    c = team_member()
    first, _ = new_feed(c)
    assert fetch(first).status_code == 200

    mark = audit.mark()
    second, _ = new_feed(c)
    assert second != first
    r = fetch(first)
    assert r.status_code == 404 and r.text == "Not found\n", describe(r)
    assert fetch(second).status_code == 200
    created = audit.since(mark, action="calendar_feed_created")
    assert len(created) == 1 and created[0]["detail"] == "replaced the old token"

    mark = audit.mark()
    r = c.post("/api/v1/calendar-feed/revoke", json={})
    assert r.status_code == 200, describe(r)
    feed = json_of(r)["calendar_feed"]
    assert feed["active"] is False and feed["revoked_at"]
    r = fetch(second)
    assert r.status_code == 404 and r.text == "Not found\n", describe(r)
    assert len(audit.since(mark, action="calendar_feed_revoked")) == 1
    assert audit.since(mark, action="read", entity_id=c.staff_id) == []
    assert db.scalar("SELECT token_hash IS NULL FROM calendar_feed WHERE staff_id = %s",
                     (c.staff_id,))

    # Revoking again changes nothing; a new link works again.
    r = c.post("/api/v1/calendar-feed/revoke", json={})
    assert r.status_code == 200 and json_of(r)["calendar_feed"]["active"] is False
    third, _ = new_feed(c)
    assert fetch(third).status_code == 200


def test_unknown_and_malformed_tokens_are_404(env):
    for token in ("A" * 43 + ".ics", "A" * 43, "short.ics", "A" * 42 + "!.ics",
                  "A" * 44 + ".ics"):
        r = fetch(f"{env.base}/calendar/{token}")
        assert r.status_code == 404, (token, describe(r))
        assert r.text == "Not found\n", token


def test_inactive_owner_feed_is_404(team_member, db):
    c = team_member()
    url, _ = new_feed(c)
    assert fetch(url).status_code == 200
    db.scalar("UPDATE staff SET active = false WHERE id = %s RETURNING id",
              (c.staff_id,))
    assert fetch(url).status_code == 404


# ------------------------------------------------------------------ the page

def test_page_makes_the_link_and_shows_it_once(team_member):
    c = team_member()
    page = c.get("/calendar-feed", headers=HTML)
    assert page.status_code == 200, describe(page)
    assert "You do not have a calendar feed yet" in page.text
    form = form_of(page.text, "/calendar-feed")
    sent = {name: value for name, kind, value, _ in form["fields"]
            if kind == "hidden"}
    assert set(sent) == {"csrf_token"}

    r = c.post("/calendar-feed", data=sent, headers=HTML)
    assert r.status_code == 200, describe(r)
    m = re.search(r'id="feed-url" type="text" value="([^"]+)"', r.text)
    assert m and TOKEN_URL.match(m.group(1)), r.text[:2000]
    assert fetch(m.group(1)).status_code == 200

    page = c.get("/calendar-feed", headers=HTML)
    assert TOKEN_URL.match(m.group(1)).group(2) not in page.text
    assert "Active" in page.text
    form = form_of(page.text, "/calendar-feed/revoke")
    r = c.post("/calendar-feed/revoke", data={"csrf_token": c.csrf}, headers=HTML)
    assert r.status_code == 303 and r.headers["Location"] == "/calendar-feed"
    assert fetch(m.group(1)).status_code == 404


def test_feed_pages_need_a_clinical_role(as_demo, client):
    admin = as_demo("admin.north")
    for method, path in (("GET", "/api/v1/calendar-feed"),
                         ("POST", "/api/v1/calendar-feed"),
                         ("POST", "/api/v1/calendar-feed/revoke")):
        r = admin.request(method, path, json={} if method == "POST" else None)
        assert r.status_code == 403, describe(r)
    admin.delete("/api/v1/session")
    r = client().get("/api/v1/calendar-feed")
    assert r.status_code == 401, describe(r)
