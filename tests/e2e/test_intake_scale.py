"""The intake demo (sql/demo/intake_demo.sql) and the scale generator
(sql/scale/generate.sql) make consistent data.  A throwaway database is
prepared like the stack's (test_migrate.Migrations: bootstrap.sql, then
cpa-migrate), given demo.sql and intake_demo.sql, then the generator runs
twice with people=2000; it is dropped at the end.  The checks hold for every
row, the demo's included: each referral and episode at its team's site, one
open episode per person per team, exactly one current care coordinator per
open episode (holding a coordinator role for that team), histories that
match, and valid NHS numbers; and what the triggers of 005, 007 and 010
would have written for the generator's reviews, risk assessments, carers,
care plans and contacts, with the proportions its header promises."""

import os
import shutil
import subprocess

import psycopg2.extensions
import pytest

from cpa_e2e import nhs_check_digit
from test_migrate import PGBIN, Migrations

PEOPLE = 2000
TEAMS_PER_SITE = 10
RUN_TIMEOUT = 300
DEMO_USERS = ("admin.north", "admin.south", "coord.north", "coord.south",
              "prac.north", "tm.north", "dm.north", "auditor.north")
# demo.sql wants argon2id encodings; this one never verifies.
NO_PASSWORD = "$argon2id$v=19$m=19456,t=2,p=1$bm90LWEtc2FsdA$bm90LWEtaGFzaA"
COUNTED = ("service_user", "referral", "episode", "coordinator_assignment",
           "episode_event", "episode_transfer", "staff", "team", "carer_link",
           "care_plan", "contact", "carer_involvement")
# The open episodes of the generator's people (their referrals were made by
# its coordinators); the demo's are made through the triggers.
SCALE_OPEN = """SELECT e.id FROM episode e JOIN referral r ON r.id = e.referral_id
    JOIN staff s ON s.id = r.created_by
    WHERE e.ended_at IS NULL AND s.username LIKE 'scale.%%'"""
# A carer link of person P current on day D, as 010's triggers see it when
# they run that day.
LINK_ON = """l.service_user_id = {p} AND l.started_on <= {d}
    AND (l.ended_on IS NULL OR l.ended_on > {d})"""
# A consent decision that allows the carer a copy of the plan.
ALLOWS_PLAN = """({c}.scope = 'full' OR ({c}.scope = 'limited'
    AND {c}.topics && ARRAY['care_plan', 'crisis_plan', 'medication']))"""


class Scaled:
    """The throwaway database and what each step added."""

    def __init__(self, mig, sql_dir):
        self.mig = mig
        self.db = mig.db
        self.sql_dir = sql_dir
        self.dsn = psycopg2.extensions.make_dsn(mig.super_dsn,
                                                dbname=mig.name)
        self.psql_bin = os.path.join(PGBIN, "psql")
        if not os.access(self.psql_bin, os.X_OK):
            self.psql_bin = shutil.which("psql")
        self.counts = {}

    def psql(self, *args):
        return subprocess.run([self.psql_bin, "-X", "-q", "-v", "ON_ERROR_STOP=1",
                               "-d", self.dsn, *args], capture_output=True,
                              text=True, timeout=RUN_TIMEOUT)

    def load(self, *args):
        p = self.psql(*args)
        assert p.returncode == 0, f"psql {' '.join(args)}: {p.stderr}"
        return p

    def count(self):
        return {t: self.db.scalar(f"SELECT count(*) FROM {t}") for t in COUNTED}

    def generate(self):
        return self.load("-v", f"people={PEOPLE}",
                         "-v", f"teams_per_site={TEAMS_PER_SITE}",
                         "-f", os.path.join(self.sql_dir, "scale", "generate.sql"))


@pytest.fixture(scope="module")
def scaled(env):
    missing = [v for v in ("CPA_BUILD_DIR", "CPA_SQL_DIR") if not os.environ.get(v)]
    if missing:
        pytest.fail(f"{', '.join(missing)} not set (./dev test exports them)",
                    pytrace=False)
    sql_dir = os.environ["CPA_SQL_DIR"]
    mig = Migrations(env, os.environ["CPA_BUILD_DIR"], sql_dir)
    try:
        mig.ok()
        s = Scaled(mig, sql_dir)
        hashes = []
        for user in DEMO_USERS:
            hashes += ["-v", f"hash_{user.replace('.', '_')}={NO_PASSWORD}"]
        s.load(*hashes, "-f", os.path.join(sql_dir, "demo", "demo.sql"))
        s.counts["demo"] = s.count()
        s.load("-f", os.path.join(sql_dir, "demo", "intake_demo.sql"))
        s.counts["intake_demo"] = s.count()
        s.load("-f", os.path.join(sql_dir, "demo", "intake_demo.sql"))
        s.counts["intake_demo_again"] = s.count()
        s.generate()
        s.counts["first"] = s.count()
        s.generate()
        s.counts["second"] = s.count()
        yield s
    finally:
        mig.drop()


def rows(s, sql, params=()):
    return s.db.all(sql, params)


# ------------------------------------------------------------------ counts

def test_demo_loads_once(scaled):
    demo, intake = scaled.counts["demo"], scaled.counts["intake_demo"]
    assert demo["service_user"] == 0
    assert 500 <= intake["service_user"] <= 600, intake
    assert intake["referral"] > intake["service_user"]
    assert intake["episode_transfer"] == 3, intake
    assert scaled.counts["intake_demo_again"] == intake, \
        "a second run of intake_demo.sql changed something"


def test_each_run_adds_the_people_asked_for(scaled):
    c = scaled.counts
    for before, after in (("intake_demo", "first"), ("first", "second")):
        added = {t: c[after][t] - c[before][t] for t in COUNTED}
        assert added["service_user"] == PEOPLE, added
        # 15 % have an older referral too; accepted ones have an episode.
        assert 1.10 * PEOPLE <= added["referral"] <= 1.20 * PEOPLE, added
        assert 0.95 * PEOPLE <= added["episode"] <= 1.10 * PEOPLE, added
        assert added["coordinator_assignment"] >= added["episode"], added
        assert added["episode_event"] >= added["episode"] * 1.2, added
        # About 69 % of the people have an open episode: most of them a
        # care plan, 0.75 carers each, a contact or two a month.
        assert 0.55 * PEOPLE <= added["care_plan"] <= 0.75 * PEOPLE, added
        assert 0.40 * PEOPLE <= added["carer_link"] <= 0.65 * PEOPLE, added
        assert 5 * PEOPLE <= added["contact"] <= 11 * PEOPLE, added
        assert added["carer_involvement"] > 0.5 * PEOPLE, added
    # Districts and teams are made once; staff only as caseloads grow.
    assert c["first"]["team"] > c["intake_demo"]["team"]
    assert c["second"]["team"] == c["first"]["team"]
    assert c["first"]["staff"] > c["intake_demo"]["staff"]


def test_referral_mix(scaled):
    by = {(r["status"], r["urgency"]): r["n"] for r in rows(
        scaled, "SELECT status, urgency, count(*) AS n FROM referral "
        "GROUP BY status, urgency")}
    for status in ("awaiting_triage", "accepted", "signposted", "declined"):
        for urgency in ("emergency", "urgent", "routine"):
            assert by.get((status, urgency), 0) > 0, (status, urgency, by)
    sources = {r["source"] for r in rows(scaled, "SELECT DISTINCT source FROM referral")}
    assert sources == {"gp", "ae_liaison", "self", "inpatient_ward",
                       "police_cjs", "social_care", "other"}
    queue = scaled.db.one(
        "SELECT count(*) FILTER (WHERE deadline_at < now()) AS breached, "
        "count(*) FILTER (WHERE deadline_at >= now() AND "
        "  deadline_at - now() < (deadline_at - received_at) / 4) AS near, "
        "count(*) FILTER (WHERE deadline_at - now() >= "
        "  (deadline_at - received_at) / 4) AS fresh "
        "FROM referral WHERE status = 'awaiting_triage'")
    assert all(queue[k] > 0 for k in ("breached", "near", "fresh")), queue


def test_every_site_has_its_teams(scaled):
    for r in rows(scaled, "SELECT s.code, count(t.id) AS n FROM site s "
                  "JOIN team t ON t.site_id = s.id GROUP BY s.code"):
        assert r["n"] >= TEAMS_PER_SITE, r


# ------------------------------------------------------------- consistency

def test_referrals_and_episodes_belong_to_their_team_site(scaled):
    bad = rows(scaled, """
        SELECT 'referral' AS what, r.id FROM referral r
        JOIN team t ON t.id = r.team_id JOIN service_user su ON su.id = r.service_user_id
        WHERE t.site_id <> r.site_id OR su.site_id <> r.site_id
        UNION ALL
        SELECT 'episode', e.id FROM episode e
        JOIN team t ON t.id = e.team_id JOIN service_user su ON su.id = e.service_user_id
        WHERE t.site_id <> e.site_id OR su.site_id <> e.site_id
        UNION ALL
        SELECT 'event', ev.id FROM episode_event ev JOIN episode e ON e.id = ev.episode_id
        WHERE ev.site_id <> e.site_id
        UNION ALL
        SELECT 'assignment', a.id FROM coordinator_assignment a
        JOIN episode e ON e.id = a.episode_id WHERE a.site_id <> e.site_id""")
    assert bad == [], bad[:10]


def test_accepted_referrals_and_their_episodes_point_at_each_other(scaled):
    bad = rows(scaled, """
        SELECT r.id, r.status, r.episode_id FROM referral r
        LEFT JOIN episode e ON e.id = r.episode_id
        WHERE (r.status = 'accepted') <> (r.episode_id IS NOT NULL)
           OR e.referral_id IS DISTINCT FROM CASE WHEN r.episode_id IS NOT NULL THEN r.id END
           OR e.service_user_id <> r.service_user_id OR e.team_id <> r.team_id
           OR e.started_at < r.received_at
           OR (r.status = 'signposted') <> (r.signposted_to IS NOT NULL)""")
    assert bad == [], bad[:10]
    orphans = scaled.db.scalar(
        "SELECT count(*) FROM episode e WHERE e.referral_id IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM episode_transfer x WHERE x.new_episode_id = e.id)")
    assert orphans == 0, "episodes with neither a referral nor a transfer"


def test_deadlines_follow_the_site_policy(scaled):
    bad = rows(scaled, """
        SELECT r.id FROM referral r JOIN site s ON s.id = r.site_id
        WHERE r.deadline_at <> r.received_at + CASE r.urgency
            WHEN 'emergency' THEN s.deadline_emergency
            WHEN 'urgent' THEN s.deadline_urgent ELSE s.deadline_routine END
           OR r.received_at > now() OR r.decided_at > now()
           OR r.decided_at < r.received_at""")
    assert bad == [], bad[:10]


def test_levels_are_the_sites_own(scaled):
    levels = {r["code"]: r["episode_levels"] for r in rows(
        scaled, "SELECT code, episode_levels FROM site")}
    assert levels["north"] == ["standard", "enhanced", "non_cpa"]
    assert levels["south"] == ["complex", "non_cpa"]
    bad = rows(scaled, "SELECT e.id, e.level FROM episode e JOIN site s ON "
               "s.id = e.site_id WHERE NOT e.level = ANY (s.episode_levels)")
    assert bad == [], bad[:10]
    used = rows(scaled, "SELECT s.code, array_agg(DISTINCT e.level ORDER BY e.level) "
                "AS levels FROM episode e JOIN site s ON s.id = e.site_id GROUP BY s.code")
    assert {r["code"]: r["levels"] for r in used} == {
        "north": ["enhanced", "non_cpa", "standard"],
        "south": ["complex", "non_cpa"]}


def test_one_open_episode_per_person_per_team(scaled):
    bad = rows(scaled, "SELECT service_user_id, team_id, count(*) AS n "
               "FROM episode WHERE ended_at IS NULL "
               "GROUP BY service_user_id, team_id HAVING count(*) > 1")
    assert bad == [], bad[:10]


def test_open_episodes_have_exactly_one_current_coordinator(scaled):
    bad = rows(scaled, """
        SELECT e.id, e.ended_at, e.coordinator_id,
            array_agg(a.staff_id) FILTER (WHERE a.ended_at IS NULL) AS current
        FROM episode e LEFT JOIN coordinator_assignment a ON a.episode_id = e.id
        GROUP BY e.id
        HAVING CASE WHEN e.ended_at IS NULL
            THEN count(a.id) FILTER (WHERE a.ended_at IS NULL) <> 1
              OR max(a.staff_id) FILTER (WHERE a.ended_at IS NULL) <> e.coordinator_id
            ELSE count(a.id) FILTER (WHERE a.ended_at IS NULL) <> 0
              OR count(a.id) = 0 END""")
    assert bad == [], bad[:10]


def test_assignments_cover_the_episode_without_gaps(scaled):
    bad = rows(scaled, """
        WITH a AS (
            SELECT a.*, lag(a.ended_at) OVER w AS prev_end,
                row_number() OVER w AS nth, count(*) OVER (PARTITION BY a.episode_id) AS total
            FROM coordinator_assignment a
            WINDOW w AS (PARTITION BY a.episode_id ORDER BY a.started_at, a.id))
        SELECT a.episode_id FROM a JOIN episode e ON e.id = a.episode_id
        WHERE (a.nth = 1 AND a.started_at <> e.started_at)
           OR (a.nth > 1 AND a.started_at <> a.prev_end)
           OR (a.nth = a.total AND a.ended_at IS DISTINCT FROM e.ended_at)""")
    assert bad == [], bad[:10]


def test_coordinators_hold_the_role_for_the_team(scaled):
    bad = rows(scaled, """
        SELECT a.id, a.staff_id, e.team_id FROM coordinator_assignment a
        JOIN episode e ON e.id = a.episode_id JOIN team t ON t.id = e.team_id
        WHERE NOT EXISTS (SELECT 1 FROM staff_role r WHERE r.staff_id = a.staff_id
            AND r.role = 'coordinator' AND r.site_id = t.site_id
            AND (r.district_id IS NULL OR r.district_id = t.district_id)
            AND (r.team_id IS NULL OR r.team_id = t.id))""")
    assert bad == [], bad[:10]
    # One coordinator per 30 open episodes of a team, at least.
    crowded = rows(scaled, """
        SELECT t.id, count(DISTINCT e.id) AS open_episodes,
            count(DISTINCT r.staff_id) AS coordinators
        FROM team t JOIN episode e ON e.team_id = t.id AND e.ended_at IS NULL
        LEFT JOIN staff_role r ON r.role = 'coordinator' AND r.site_id = t.site_id
            AND (r.district_id IS NULL OR r.district_id = t.district_id)
            AND (r.team_id IS NULL OR r.team_id = t.id)
        GROUP BY t.id HAVING count(DISTINCT e.id) > 30 * count(DISTINCT r.staff_id)""")
    assert crowded == [], crowded
    # Dealt out evenly, earlier caseloads counted: nobody far above 30.
    busiest = scaled.db.scalar("SELECT max(n) FROM (SELECT count(*) AS n FROM "
                               "episode WHERE ended_at IS NULL "
                               "GROUP BY coordinator_id) c")
    assert 20 <= busiest <= 31, busiest


def test_new_staff_cannot_sign_in(scaled):
    hashes = rows(scaled, "SELECT username, password_hash FROM staff "
                  "WHERE username NOT IN %s", (DEMO_USERS,))
    assert hashes, "no staff besides the demo users"
    assert {h["password_hash"] for h in hashes} == {"!"}, \
        [h["username"] for h in hashes if h["password_hash"] != "!"][:10]


def test_histories_match_the_episodes(scaled):
    bad = rows(scaled, """
        SELECT e.id FROM episode e
        LEFT JOIN LATERAL (SELECT
            count(*) FILTER (WHERE kind IN ('opened', 'transfer_accepted')) AS opened,
            count(*) FILTER (WHERE kind = 'closed') AS closed,
            max(at) FILTER (WHERE kind = 'closed') AS closed_at,
            min(at) AS first_at,
            count(*) FILTER (WHERE kind = 'coordinator_changed') AS coord_changes
            FROM episode_event ev WHERE ev.episode_id = e.id) ev ON true
        LEFT JOIN LATERAL (SELECT count(*) AS n FROM coordinator_assignment a
            WHERE a.episode_id = e.id) a ON true
        WHERE ev.opened <> 1 OR ev.first_at <> e.started_at
           OR ev.closed <> (e.ended_at IS NOT NULL)::int
           OR ev.closed_at IS DISTINCT FROM e.ended_at
           OR ev.coord_changes <> a.n - 1""")
    assert bad == [], bad[:10]
    level = rows(scaled, """
        SELECT e.id FROM episode e
        JOIN LATERAL (SELECT to_value FROM episode_event ev WHERE ev.episode_id = e.id
            AND ev.kind IN ('opened', 'level_changed', 'transfer_accepted')
            ORDER BY ev.at DESC, ev.id DESC LIMIT 1) last ON true
        WHERE last.to_value <> e.level""")
    assert level == [], level[:10]


def test_dates_are_in_order(scaled):
    bad = rows(scaled, """
        SELECT 'person' AS what, id FROM service_user
        WHERE date_of_birth NOT BETWEEN '1940-01-01' AND '2006-12-31'
        UNION ALL
        SELECT 'episode', id FROM episode
        WHERE started_at > now() OR ended_at > now() OR ended_at < started_at
        UNION ALL
        SELECT 'event', ev.id FROM episode_event ev JOIN episode e ON e.id = ev.episode_id
        WHERE ev.at < e.started_at OR ev.at > coalesce(e.ended_at, now())""")
    assert bad == [], bad[:10]


def test_nhs_numbers_are_valid_and_unique(scaled):
    numbers = [r["nhs_number"] for r in rows(
        scaled, "SELECT nhs_number FROM service_user WHERE nhs_number IS NOT NULL")]
    total = scaled.db.scalar("SELECT count(*) FROM service_user")
    assert 0.85 * total <= len(numbers) < total, (len(numbers), total)
    invalid = [n for n in numbers if len(n) != 10 or not n.isdigit()
               or nhs_check_digit(n[:9]) != int(n[9])]
    assert invalid == [], invalid[:10]
    assert len(set(numbers)) == len(numbers), "an NHS number is used twice"
    assert all(n.startswith("999") for n in numbers), \
        "synthetic people must have NHS numbers from the 999 test range"


def test_pending_transfers_are_of_open_episodes(scaled):
    pending = rows(scaled, """
        SELECT x.id, x.site_id, x.to_site_id, x.to_team_id, e.ended_at, e.team_id
        FROM episode_transfer x JOIN episode e ON e.id = x.episode_id
        WHERE x.status = 'pending'""")
    assert len(pending) >= 2, pending
    for x in pending:
        assert x["ended_at"] is None, x
        assert x["to_team_id"] != x["team_id"], x
    assert any(x["to_site_id"] != x["site_id"] for x in pending)


def test_bad_parameters_are_refused(scaled):
    before = scaled.count()
    for value in ("abc", "0", "-5", "1;DROP TABLE referral"):
        p = scaled.psql("-v", f"people={value}", "-f",
                        os.path.join(scaled.sql_dir, "scale", "generate.sql"))
        assert p.returncode != 0, f"people={value} was accepted"
        assert "people must be a whole number" in p.stderr, p.stderr
    assert scaled.count() == before



# ------------------------------------------- reviews, risk, admissions, items
#
# The generator writes with triggers off (session_replication_role =
# replica), so it must write what the triggers of 005 and 007 would have:
# these checks hold for its rows and for the demo's, which the triggers
# made.

def test_every_open_episode_has_one_review_due(scaled):
    bad = rows(scaled, """
        SELECT e.id, e.ended_at, r.due, r.cancelled FROM episode e
        CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE status = 'due') AS due,
            count(*) FILTER (WHERE status = 'cancelled') AS cancelled
            FROM cpa_review r WHERE r.episode_id = e.id) r
        WHERE r.due <> (e.ended_at IS NULL)::int OR r.cancelled > 1""")
    assert bad == [], bad[:10]
    bad = rows(scaled, """
        SELECT r.id FROM cpa_review r JOIN episode e ON e.id = r.episode_id
        WHERE r.site_id <> e.site_id OR r.service_user_id <> e.service_user_id
           OR (r.status = 'cancelled' AND NOT r.cancelled_at >= e.ended_at)""")
    assert bad == [], bad[:10]


def test_reviews_follow_the_sites_policy(scaled):
    # Held reviews, in order, inside their episode; each due by policy from
    # the one before (or the start); the one due after the last, unless
    # something brought it forward.
    bad = rows(scaled, """
        WITH r AS (
            SELECT r.*, e.site_id AS e_site, e.level, e.started_at, e.ended_at,
                coalesce(lag(r.held_on) OVER w, e.started_at::date) AS prev
            FROM cpa_review r JOIN episode e ON e.id = r.episode_id
            WINDOW w AS (PARTITION BY r.episode_id ORDER BY r.status = 'held' DESC,
                r.held_on, r.id))
        SELECT r.id, r.status, r.due_reason, r.due_date, r.prev, r.held_on FROM r
        WHERE (r.due_reason IN ('first', 'policy')
               AND r.due_date <> review_due_from(r.site_id, r.level, r.prev))
           OR (r.due_reason NOT IN ('first', 'policy')
               AND r.due_date >= review_due_from(r.site_id, r.level, r.prev))
           OR (r.due_reason IN ('first', 'policy')
               AND (r.due_reason = 'first') <> (r.prev = r.started_at::date))
           OR (r.status = 'held' AND (r.held_on < r.started_at::date
               OR r.held_on >= coalesce(r.ended_at::date, current_date)
               OR r.recorded_at > now() OR r.recorded_at < r.started_at
               OR r.next_due_date <= r.held_on OR r.outcome IS NULL
               OR r.recorded_by IS NULL))""")
    assert bad == [], bad[:10]
    held = scaled.db.scalar("SELECT count(*) FROM cpa_review WHERE status = 'held'")
    assert held > scaled.db.scalar("SELECT count(*) FROM episode"), "too few reviews held"


def test_reviews_due_are_spread_with_some_overdue(scaled):
    due = scaled.db.one("""
        SELECT count(*) AS n,
            count(*) FILTER (WHERE due_date < current_date - 28) AS long_overdue,
            count(*) FILTER (WHERE due_date BETWEEN current_date - 28
                AND current_date - 1) AS overdue,
            count(*) FILTER (WHERE due_date BETWEEN current_date
                AND current_date + 14) AS soon,
            count(*) FILTER (WHERE due_date > current_date + 90) AS later
        FROM cpa_review r JOIN episode e ON e.id = r.episode_id
        WHERE r.status = 'due' AND e.referral_id IN
            (SELECT id FROM referral WHERE created_by IN
                (SELECT id FROM staff WHERE username LIKE 'scale.%%'))""")
    assert due["n"] > PEOPLE, due
    for k in ("long_overdue", "overdue", "soon", "later"):
        assert due[k] > 0, due
    assert due["long_overdue"] + due["overdue"] < 0.2 * due["n"], due


def test_due_items_mirror_what_is_due(scaled):
    # One open item per review due, approved assessment of a person in
    # care, open follow-up, as 007's triggers make them; nothing else open.
    missing = rows(scaled, """
        SELECT 'cpa_review' AS kind, r.id FROM cpa_review r
        LEFT JOIN due_item d ON d.kind = 'cpa_review' AND d.source_id = r.id AND d.open
            AND d.due_at = due_at_of(r.due_date) AND d.episode_id = r.episode_id
            AND d.site_id = r.site_id AND d.service_user_id = r.service_user_id
        WHERE r.status = 'due' AND d.id IS NULL
        UNION ALL
        SELECT 'risk_review', a.id FROM risk_assessment a
        JOIN episode e ON e.id = a.episode_id AND e.ended_at IS NULL
        LEFT JOIN due_item d ON d.kind = 'risk_review' AND d.source_id = a.id AND d.open
            AND d.due_at = due_at_of(a.next_review_due) AND d.episode_id = a.episode_id
        WHERE a.status = 'approved' AND d.id IS NULL
        UNION ALL
        SELECT 'followup', f.id FROM followup f
        LEFT JOIN due_item d ON d.kind = 'followup' AND d.source_id = f.id AND d.open
            AND d.due_at = f.due_at AND d.episode_id = f.episode_id
        WHERE f.status = 'open' AND d.id IS NULL
        UNION ALL
        SELECT 'carer_assessment', a.id FROM carer_assessment a
        JOIN site s ON s.id = a.site_id
        JOIN LATERAL (SELECT e.id FROM episode e WHERE e.service_user_id = a.service_user_id
            AND e.site_id = a.site_id AND e.ended_at IS NULL
            ORDER BY e.started_at DESC, e.id DESC LIMIT 1) e ON true
        LEFT JOIN due_item d ON d.kind = 'carer_assessment' AND d.source_id = a.id
            AND d.open AND d.episode_id = e.id AND d.site_id = a.site_id
            AND d.service_user_id = a.service_user_id
            AND d.due_at = due_at_of((a.offered_on + s.carer_assessment_act_within)::date)
        WHERE a.status IN ('offered', 'accepted') AND d.id IS NULL""")
    assert missing == [], missing[:10]
    stray = rows(scaled, """
        SELECT d.id, d.kind, d.source_id FROM due_item d WHERE d.open AND NOT CASE d.kind
            WHEN 'cpa_review' THEN EXISTS (SELECT 1 FROM cpa_review r
                WHERE r.id = d.source_id AND r.status = 'due')
            WHEN 'risk_review' THEN EXISTS (SELECT 1 FROM risk_assessment a
                WHERE a.id = d.source_id AND a.status = 'approved')
            WHEN 'followup' THEN EXISTS (SELECT 1 FROM followup f
                WHERE f.id = d.source_id AND f.status = 'open')
            WHEN 'carer_assessment' THEN EXISTS (SELECT 1 FROM carer_assessment a
                WHERE a.id = d.source_id AND a.status IN ('offered', 'accepted'))
            ELSE false END""")
    assert stray == [], stray[:10]
    # No sweep has run: every item waits for its first step.
    steps = rows(scaled, """
        SELECT d.id FROM due_item d
        WHERE d.open AND (d.steps_done <> 0 OR d.next_step_at IS DISTINCT FROM
            (SELECT s.at FROM remind_step_after(d.site_id, d.kind, d.due_at,
                0::smallint) s))""")
    assert steps == [], steps[:10]
    kinds = {r["kind"]: r["n"] for r in rows(
        scaled, "SELECT kind, count(*) AS n FROM due_item WHERE open GROUP BY kind")}
    assert set(kinds) == {"cpa_review", "risk_review", "followup",
                          "carer_assessment"}, kinds
    assert scaled.db.scalar("SELECT count(*) FROM reminder") == 0


def test_risk_assessments_are_whole(scaled):
    bad = rows(scaled, """
        SELECT a.id FROM risk_assessment a
        JOIN episode e ON e.id = a.episode_id
        LEFT JOIN LATERAL (SELECT count(*) AS n,
            max(array_position(ARRAY['none', 'low', 'medium', 'high'], d.level)) AS top
            FROM risk_domain d WHERE d.assessment_id = a.id) d ON true
        WHERE e.service_user_id <> a.service_user_id OR e.site_id <> a.site_id
           OR d.n <> 6 OR d.top <> array_position(ARRAY['none', 'low', 'medium', 'high'],
               a.overall_level)
           OR a.approved_at < e.started_at OR a.approved_at > now()
           OR a.decided_by = a.author_id
           OR (a.needs_manager_approval AND a.status IN ('approved', 'superseded')
               AND NOT EXISTS (SELECT 1 FROM staff_role r
               JOIN team t ON t.id = e.team_id WHERE r.staff_id = a.decided_by
               AND r.role = 'team_manager' AND r.site_id = t.site_id
               AND (r.district_id IS NULL OR r.district_id = t.district_id)
               AND (r.team_id IS NULL OR r.team_id = t.id)))
           OR (a.review_requested_at IS NOT NULL AND (a.review_trigger IS NULL
               OR a.next_review_due > a.review_requested_at::date))""")
    assert bad == [], bad[:10]
    bad = rows(scaled, """
        SELECT o.id FROM risk_assessment o
        LEFT JOIN risk_assessment n ON n.supersedes_id = o.id
        WHERE o.status = 'superseded' AND (n.id IS NULL
            OR n.service_user_id <> o.service_user_id
            OR o.superseded_at IS DISTINCT FROM n.approved_at)""")
    assert bad == [], bad[:10]
    events = rows(scaled, """
        SELECT a.id FROM risk_assessment a
        WHERE a.approved_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM risk_event ev
            WHERE ev.assessment_id = a.id AND ev.kind = 'approved'
            AND ev.at = a.approved_at)""")
    assert events == [], events[:10]
    mix = {r["overall_level"]: r["n"] for r in rows(
        scaled, "SELECT overall_level, count(*) AS n FROM risk_assessment "
        "WHERE status = 'approved' GROUP BY 1")}
    assert set(mix) == {"none", "low", "medium", "high"}, mix
    assert scaled.db.scalar("SELECT count(*) FROM risk_assessment "
                            "WHERE status = 'superseded'") > 0


def test_discharges_owe_a_followup_met_by_a_contact(scaled):
    bad = rows(scaled, """
        SELECT a.id FROM admission a JOIN episode e ON e.id = a.episode_id
        JOIN site s ON s.id = a.site_id
        LEFT JOIN followup f ON f.admission_id = a.id
        WHERE a.admitted_at < e.started_at OR a.discharged_at > now()
           OR a.service_user_id <> e.service_user_id
           OR (a.discharged_at IS NULL) <> (f.id IS NULL)
           OR f.discharged_at <> a.discharged_at
           OR f.due_at <> a.discharged_at + s.followup_window""")
    assert bad == [], bad[:10]
    bad = rows(scaled, """
        SELECT f.id, f.status FROM followup f
        LEFT JOIN contact c ON c.id = f.met_by_contact_id
        WHERE (f.status = 'met' AND (NOT c.attended OR c.at < f.discharged_at
               OR c.at <> f.met_at OR c.service_user_id <> f.service_user_id))
           OR (f.status = 'open' AND EXISTS (SELECT 1 FROM contact x
               WHERE x.service_user_id = f.service_user_id AND x.attended
               AND x.at >= f.discharged_at))
           OR (f.status = 'met' AND EXISTS (SELECT 1 FROM contact x
               WHERE x.service_user_id = f.service_user_id AND x.attended
               AND x.at >= f.discharged_at AND x.at < f.met_at))""")
    assert bad == [], bad[:10]
    got = scaled.db.one("""
        SELECT count(*) FILTER (WHERE status = 'open') AS open,
            count(*) FILTER (WHERE status = 'met' AND met_at <= due_at) AS in_time,
            count(*) FILTER (WHERE status = 'met' AND met_at > due_at) AS late,
            (SELECT count(*) FROM admission WHERE discharged_at IS NULL) AS on_ward
        FROM followup""")
    assert all(v > 0 for v in got.values()), got


def test_every_foreign_key_holds(scaled):
    """The generator runs without foreign-key checks: every key must still
    find its row."""
    fks = rows(scaled, """
        SELECT c.conname, c.conrelid::regclass::text AS child,
            c.confrelid::regclass::text AS parent,
            ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k (att, n)
                JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.att
                ORDER BY k.n) AS cols,
            ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k (att, n)
                JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.att
                ORDER BY k.n) AS pcols
        FROM pg_constraint c
        WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace""")
    assert len(fks) > 30, fks
    broken = {}
    for fk in fks:
        given = " AND ".join(f'c."{col}" IS NOT NULL' for col in fk["cols"])
        match = " AND ".join(f'p."{pc}" = c."{col}"'
                             for col, pc in zip(fk["cols"], fk["pcols"]))
        n = scaled.db.scalar(
            f'SELECT count(*) FROM "{fk["child"]}" c WHERE {given} AND NOT EXISTS '
            f'(SELECT 1 FROM "{fk["parent"]}" p WHERE {match})')
        if n:
            broken[fk["conname"]] = n
    assert broken == {}, broken


# ------------------------------------------------- carers, plans, contacts
#
# care_rows.sql, with the triggers of 005, 007 and 010 off: carers with
# their consent and assessments, care plans and copies, routine contacts,
# risk assessments awaiting approval, and the carer involvement all of
# these record.

def fraction(part, whole):
    assert whole > 0, (part, whole)
    return part / whole


def test_carer_links_keep_their_latest_consent(scaled):
    bad = rows(scaled, """
        SELECT l.id, l.current_consent_id, s.id AS latest FROM carer_link l
        JOIN carer c ON c.id = l.carer_id
        LEFT JOIN LATERAL (SELECT s.id FROM carer_consent s WHERE s.carer_link_id = l.id
            ORDER BY s.recorded_at DESC, s.id DESC LIMIT 1) s ON true
        WHERE l.current_consent_id IS DISTINCT FROM s.id OR c.site_id <> l.site_id
           OR l.started_on > current_date OR l.ended_on > current_date
           OR l.created_at > now()
           OR l.version <> 1 + (SELECT count(*) FROM carer_consent s
               WHERE s.carer_link_id = l.id) + (l.ended_on IS NOT NULL)::int
           OR NOT EXISTS (SELECT 1 FROM episode e WHERE e.service_user_id = l.service_user_id
               AND e.site_id = l.site_id AND e.started_at::date <= l.started_on)""")
    assert bad == [], bad[:10]
    bad = rows(scaled, """
        SELECT s.id FROM carer_consent s JOIN carer_link l ON l.id = s.carer_link_id
        WHERE s.site_id <> l.site_id OR s.given_on < l.started_on
           OR s.given_on > coalesce(l.ended_on, current_date)
           OR s.recorded_at > now() OR s.recorded_at < l.created_at
           OR (s.withdrawal AND NOT EXISTS (SELECT 1 FROM carer_consent o
               WHERE o.carer_link_id = s.carer_link_id AND o.recorded_at < s.recorded_at
               AND o.scope <> 'none'))""")
    assert bad == [], bad[:10]
    bad = rows(scaled, "SELECT id FROM carer "
               "WHERE young_carer <> carer_is_young(date_of_birth, young_carer)")
    assert bad == [], bad[:10]


def test_carers_in_proportion(scaled):
    people = scaled.db.one(f"""
        SELECT count(*) AS n,
            count(*) FILTER (WHERE k.links >= 1) AS with_one,
            count(*) FILTER (WHERE k.links >= 2) AS with_two
        FROM episode e
        CROSS JOIN LATERAL (SELECT count(*) AS links FROM carer_link l
            WHERE l.service_user_id = e.service_user_id) k
        WHERE e.id IN ({SCALE_OPEN})""")
    assert 0.58 <= fraction(people["with_one"], people["n"]) <= 0.72, people
    assert 0.06 <= fraction(people["with_two"], people["n"]) <= 0.14, people
    links = scaled.db.one("""
        SELECT count(*) AS n, count(*) FILTER (WHERE l.ended_on IS NOT NULL) AS ended,
            count(*) FILTER (WHERE l.lives_with) AS lives_with,
            count(DISTINCT l.relationship) AS relationships,
            count(*) FILTER (WHERE carer_is_young(c.date_of_birth, c.young_carer)) AS young,
            count(s.id) AS decided,
            count(*) FILTER (WHERE s.scope = 'full') AS full,
            count(*) FILTER (WHERE s.scope = 'limited') AS limited,
            count(*) FILTER (WHERE s.scope = 'none') AS refused,
            count(*) FILTER (WHERE s.withdrawal) AS withdrawn,
            count(*) FILTER (WHERE s.review_on < current_date
                AND l.ended_on IS NULL) AS review_past,
            count(*) FILTER (WHERE s.scope <> 'none' AND l.ended_on IS NULL)
                AS to_review,
            count(*) FILTER (WHERE (SELECT count(*) FROM carer_consent o
                WHERE o.carer_link_id = l.id) > 1) AS with_history
        FROM carer_link l JOIN carer c ON c.id = l.carer_id
        LEFT JOIN carer_consent s ON s.id = l.current_consent_id""")
    n = links["n"]
    assert 0.02 <= fraction(links["ended"], n) <= 0.09, links
    assert 0.01 <= fraction(links["young"], n) <= 0.06, links
    assert 0.2 <= fraction(links["lives_with"], n) <= 0.7, links
    assert links["relationships"] >= 7, links
    assert 0.72 <= fraction(links["decided"], n) <= 0.88, links
    decided = links["decided"]
    assert 0.35 <= fraction(links["full"], decided) <= 0.55, links
    assert 0.27 <= fraction(links["limited"], decided) <= 0.43, links
    assert 0.13 <= fraction(links["refused"], decided) <= 0.27, links
    assert links["withdrawn"] > 0, links
    # Most reviews due were held: some are overdue.
    assert 0.03 <= fraction(links["review_past"], links["to_review"]) <= 0.35, links
    assert 0.35 <= fraction(links["with_history"], decided) <= 0.75, links


def test_carer_assessments_follow_their_link(scaled):
    bad = rows(scaled, """
        SELECT a.id FROM carer_assessment a JOIN carer_link l ON l.id = a.carer_link_id
        WHERE a.carer_id <> l.carer_id OR a.service_user_id <> l.service_user_id
           OR a.site_id <> l.site_id OR a.offered_on < l.started_on
           OR greatest(a.offered_on, a.responded_on, a.referred_on, a.completed_on)
               > current_date
           OR (a.status IN ('offered', 'accepted', 'referred') AND l.ended_on IS NOT NULL)
           OR (a.referred_on IS NULL) <> (a.la_reference IS NULL)
           OR a.updated_at > now()
           OR a.version <> 1 + (a.responded_on IS NOT NULL)::int
               + (a.referred_on IS NOT NULL)::int + (a.completed_on IS NOT NULL)::int""")
    assert bad == [], bad[:10]
    mix = {r["status"]: r["n"] for r in rows(
        scaled, "SELECT status, count(*) AS n FROM carer_assessment GROUP BY status")}
    total = sum(mix.values())
    current = scaled.db.scalar("SELECT count(*) FROM carer_link WHERE ended_on IS NULL")
    assert 0.35 <= fraction(total, current) <= 0.55, (mix, current)
    for status, lo, hi in (("completed", 0.35, 0.55), ("declined", 0.08, 0.22),
                           ("referred", 0.05, 0.16), ("accepted", 0.05, 0.16),
                           ("offered", 0.13, 0.28)):
        assert lo <= fraction(mix.get(status, 0), total) <= hi, (status, mix)
    overdue = scaled.db.one("""
        SELECT count(*) FILTER (WHERE a.offered_on + s.carer_assessment_act_within
            < current_date) AS overdue,
            count(*) FILTER (WHERE a.offered_on + s.carer_assessment_act_within
            >= current_date) AS in_time
        FROM carer_assessment a JOIN site s ON s.id = a.site_id
        WHERE a.status = 'offered'""")
    assert overdue["overdue"] > 0 and overdue["in_time"] > 0, overdue
    via_la = scaled.db.scalar("SELECT count(*) FROM carer_assessment "
                              "WHERE status = 'completed' AND referred_on IS NOT NULL")
    assert via_la > 0


def test_care_plans_point_at_their_latest_version(scaled):
    bad = rows(scaled, """
        SELECT p.id, p.current_version_id, p.version, v.latest, v.n, v.c
        FROM care_plan p
        JOIN episode e ON e.id = p.episode_id
        CROSS JOIN LATERAL (SELECT count(*) AS c, max(v.number) AS n,
            (array_agg(v.id ORDER BY v.number DESC))[1] AS latest,
            bool_and(v.created_at >= e.started_at AND v.created_at <= now()
                AND v.created_at <= coalesce(e.ended_at, now())
                AND v.site_id = p.site_id) AS inside,
            min(v.created_at) AS first_at
            FROM care_plan_version v WHERE v.care_plan_id = p.id) v
        WHERE p.current_version_id IS DISTINCT FROM v.latest OR p.version <> v.n
           OR v.c <> v.n OR NOT v.inside OR p.created_at <> v.first_at
           OR p.service_user_id <> e.service_user_id OR p.site_id <> e.site_id""")
    assert bad == [], bad[:10]
    bad = rows(scaled, """
        SELECT v.id FROM (SELECT v.*, lag(v.created_at) OVER (PARTITION BY v.care_plan_id
            ORDER BY v.number) AS before FROM care_plan_version v) v
        WHERE v.created_at <= v.before""")
    assert bad == [], bad[:10]
    # A version made at a review: a review of the episode, held that day,
    # which names the version as its plan.
    bad = rows(scaled, """
        SELECT v.id FROM care_plan_version v JOIN care_plan p ON p.id = v.care_plan_id
        JOIN cpa_review r ON r.id = v.review_id
        WHERE r.episode_id <> p.episode_id OR r.status <> 'held'
           OR r.held_on <> v.created_at::date
           OR r.care_plan_version_id IS DISTINCT FROM v.id""")
    assert bad == [], bad[:10]
    # took_part_carer only where a carer was linked that day.
    bad = rows(scaled, f"""
        SELECT v.id FROM care_plan_version v JOIN care_plan p ON p.id = v.care_plan_id
        WHERE v.took_part_carer AND NOT EXISTS (SELECT 1 FROM carer_link l
            WHERE {LINK_ON.format(p="p.service_user_id", d="v.created_at::date")})""")
    assert bad == [], bad[:10]


def test_care_plans_in_proportion(scaled):
    got = scaled.db.one(f"""
        SELECT count(*) AS open,
            count(p.id) FILTER (WHERE e.started_at >= now() - interval '14 days')
                AS too_new,
            count(*) FILTER (WHERE p.id IS NULL) AS without,
            count(*) FILTER (WHERE p.version = 1) AS v1,
            count(*) FILTER (WHERE p.version = 2) AS v2,
            count(*) FILTER (WHERE p.version = 3) AS v3,
            count(*) FILTER (WHERE p.version > 3) AS more
        FROM episode e LEFT JOIN care_plan p ON p.episode_id = e.id
        WHERE e.id IN ({SCALE_OPEN})""")
    assert got["too_new"] == 0, got
    assert 0.03 <= fraction(got["without"], got["open"]) <= 0.10, got
    assert got["v1"] > 0 and got["v2"] > 0 and got["v3"] > 0 and got["more"] == 0, got
    v = scaled.db.one(f"""
        SELECT count(*) AS n,
            count(*) FILTER (WHERE v.took_part_user) AS user_took_part,
            count(*) FILTER (WHERE v.medication_info_given) AS medication_info,
            count(*) FILTER (WHERE v.user_agreed) AS agreed,
            count(*) FILTER (WHERE v.review_id IS NOT NULL) AS at_review,
            count(*) FILTER (WHERE x.carer) AS could,
            count(*) FILTER (WHERE x.carer AND v.took_part_carer) AS carer_took_part,
            count(*) FILTER (WHERE v.needs_goals IS NULL OR v.crisis_contingency IS NULL
                OR v.medication IS NULL) AS unfilled
        FROM care_plan_version v JOIN care_plan p ON p.id = v.care_plan_id
        CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM carer_link l WHERE
            {LINK_ON.format(p="p.service_user_id", d="v.created_at::date")}) AS carer) x
        WHERE p.episode_id IN ({SCALE_OPEN})""")
    assert fraction(v["user_took_part"], v["n"]) >= 0.8, v
    assert fraction(v["medication_info"], v["n"]) >= 0.75, v
    assert fraction(v["agreed"], v["n"]) >= 0.7, v
    assert v["at_review"] > 0 and v["unfilled"] == 0, v
    assert 0.35 <= fraction(v["carer_took_part"], v["could"]) <= 0.65, v


def test_copies_go_to_carers_only_with_consent(scaled):
    bad = rows(scaled, f"""
        SELECT k.id, k.recipient, s.scope, s.topics FROM care_plan_copy k
        JOIN care_plan_version v ON v.id = k.care_plan_version_id
        JOIN care_plan p ON p.id = v.care_plan_id
        LEFT JOIN carer_link l ON l.id = k.carer_link_id
        LEFT JOIN carer c ON c.id = l.carer_id
        LEFT JOIN LATERAL (SELECT s.scope, s.topics FROM carer_consent s
            WHERE s.carer_link_id = l.id AND s.recorded_at <= k.recorded_at
            ORDER BY s.recorded_at DESC, s.id DESC LIMIT 1) s ON true
        WHERE k.given_on < v.created_at::date OR k.given_on > current_date
           OR k.recorded_at < v.created_at OR k.recorded_at > now()
           OR k.site_id <> v.site_id
           OR (k.recipient = 'carer') <> (k.carer_link_id IS NOT NULL)
           OR (k.recipient = 'carer' AND (l.service_user_id <> p.service_user_id
               OR l.started_on > k.given_on OR l.ended_on <= k.recorded_at::date
               OR k.recipient_name IS DISTINCT FROM c.given_name || ' ' || c.family_name
               OR s.scope IS NULL OR NOT {ALLOWS_PLAN.format(c="s")}))""")
    assert bad == [], bad[:10]
    got = scaled.db.one(f"""
        WITH p AS (
            SELECT p.*, EXISTS (SELECT 1 FROM carer_link l
                JOIN carer_consent s ON s.id = l.current_consent_id
                WHERE l.service_user_id = p.service_user_id AND l.ended_on IS NULL
                AND {ALLOWS_PLAN.format(c="s")}) AS may
            FROM care_plan p WHERE p.episode_id IN ({SCALE_OPEN}))
        SELECT count(*) AS plans, count(*) FILTER (WHERE p.may) AS may,
            count(*) FILTER (WHERE k.to_user) AS to_user,
            count(*) FILTER (WHERE k.to_gp) AS to_gp,
            count(*) FILTER (WHERE p.may AND k.to_carer) AS to_carer
        FROM p CROSS JOIN LATERAL (SELECT
            bool_or(k.recipient = 'service_user') AS to_user,
            bool_or(k.recipient = 'gp') AS to_gp,
            bool_or(k.recipient = 'carer') AS to_carer
            FROM care_plan_copy k WHERE k.care_plan_version_id = p.current_version_id) k""")
    assert 0.62 <= fraction(got["to_user"], got["plans"]) <= 0.82, got
    assert 0.08 <= fraction(got["to_gp"], got["plans"]) <= 0.22, got
    assert 0.35 <= fraction(got["to_carer"], got["may"]) <= 0.65, got
    methods = {r["method"] for r in rows(scaled, "SELECT DISTINCT method FROM care_plan_copy")}
    assert methods == {"in_person", "post", "email", "secure_message"}, methods


def test_contacts_inside_their_episode(scaled):
    bad = rows(scaled, f"""
        SELECT c.id FROM contact c JOIN episode e ON e.id = c.episode_id
        WHERE c.at < e.started_at OR c.at > coalesce(e.ended_at, now())
           OR c.recorded_at < c.at OR c.recorded_at > now()
           OR c.service_user_id <> e.service_user_id OR c.site_id <> e.site_id
           OR (NOT c.attended AND (c.carer_present OR c.crisis))
           OR (c.carer_present AND NOT EXISTS (SELECT 1 FROM carer_link l
               WHERE {LINK_ON.format(p="c.service_user_id", d="c.at::date")}
               AND (c.carer_link_id IS NULL OR l.id = c.carer_link_id)))""")
    assert bad == [], bad[:10]
    # Routine ones (not those meeting a follow-up): the last 12 months, by
    # whoever coordinated the care that day.
    bad = rows(scaled, """
        SELECT c.id FROM contact c
        WHERE NOT EXISTS (SELECT 1 FROM followup f WHERE f.met_by_contact_id = c.id)
          AND (c.at < now() - interval '12 months'
           OR extract(isodow FROM c.at) >= 6
           OR c.duration_minutes NOT BETWEEN 15 AND 90 OR c.recorded_by <> c.staff_id
           OR NOT EXISTS (SELECT 1 FROM coordinator_assignment a
               WHERE a.episode_id = c.episode_id AND a.staff_id = c.staff_id
               AND a.started_at <= c.at AND (a.ended_at IS NULL OR a.ended_at > c.at)))""")
    assert bad == [], bad[:10]


def test_crisis_contacts_change_nothing_the_triggers_would(scaled):
    """A crisis contact brings the review due forward and asks for an early
    risk review (005, 004); the generator places them only where neither
    would change anything."""
    bad = rows(scaled, """
        SELECT c.id FROM contact c JOIN site s ON s.id = c.site_id
        WHERE c.crisis AND (EXISTS (SELECT 1 FROM risk_assessment a
               WHERE a.service_user_id = c.service_user_id AND a.approved_at <= c.recorded_at)
           OR NOT coalesce((SELECT r.due_date <= (c.recorded_at::date
                   + s.early_review_within)::date
               FROM cpa_review r WHERE r.episode_id = c.episode_id
               AND (r.status = 'due' OR (r.status = 'held' AND r.recorded_at > c.recorded_at))
               ORDER BY r.status = 'held' DESC, r.held_on LIMIT 1), false))""")
    assert bad == [], bad[:10]


def test_contacts_in_proportion(scaled):
    by_rate = rows(scaled, f"""
        WITH ep AS (
            SELECT e.id, CASE WHEN e.level IN ('enhanced', 'complex') THEN 2.0
                WHEN e.level = 'standard' THEN 1.0 ELSE 0.5 END AS per_month,
                extract(epoch FROM now() - greatest(e.started_at, now() - interval '12 months'))
                    / (86400 * 30.44) AS months
            FROM episode e WHERE e.id IN ({SCALE_OPEN})),
        n AS (SELECT ep.id, count(c.id) AS n FROM ep
            LEFT JOIN contact c ON c.episode_id = ep.id AND NOT EXISTS (SELECT 1
                FROM followup f WHERE f.met_by_contact_id = c.id)
            GROUP BY ep.id)
        SELECT ep.per_month, sum(n.n) / sum(ep.months) AS rate
        FROM ep JOIN n ON n.id = ep.id GROUP BY ep.per_month""")
    assert len(by_rate) == 3, by_rate
    for r in by_rate:
        assert 0.8 * float(r["per_month"]) <= r["rate"] <= 1.1 * float(r["per_month"]), by_rate
    got = scaled.db.one(f"""
        SELECT count(*) AS n, count(*) FILTER (WHERE NOT c.attended) AS missed,
            count(*) FILTER (WHERE c.crisis) AS crisis,
            count(*) FILTER (WHERE c.attended AND x.carer) AS could,
            count(*) FILTER (WHERE c.carer_present AND x.carer) AS carer_there,
            count(DISTINCT c.mode) AS modes
        FROM contact c
        CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM carer_link l WHERE
            {LINK_ON.format(p="c.service_user_id", d="c.at::date")}) AS carer) x
        WHERE c.episode_id IN ({SCALE_OPEN})""")
    assert 0.05 <= fraction(got["missed"], got["n"]) <= 0.11, got
    assert 0.003 <= fraction(got["crisis"], got["n"]) <= 0.02, got
    assert 0.10 <= fraction(got["carer_there"], got["could"]) <= 0.21, got
    assert got["modes"] == 4, got


def test_risk_assessments_awaiting_approval(scaled):
    bad = rows(scaled, """
        SELECT a.id FROM risk_assessment a JOIN episode e ON e.id = a.episode_id
        WHERE a.status = 'submitted' AND (NOT a.needs_manager_approval
           OR a.decided_by IS NOT NULL OR a.approved_at IS NOT NULL
           OR a.submitted_at < now() - interval '10 days' OR a.submitted_at > now()
           OR a.submitted_at < e.started_at OR a.created_at > a.submitted_at
           OR e.ended_at IS NOT NULL
           OR NOT (a.overall_level = 'high' OR e.level IN ('enhanced', 'complex'))
           OR NOT EXISTS (SELECT 1 FROM risk_event ev WHERE ev.assessment_id = a.id
               AND ev.kind = 'submitted' AND ev.at = a.submitted_at)
           OR NOT EXISTS (SELECT 1 FROM coordinator_assignment x
               WHERE x.episode_id = e.id AND x.staff_id = a.author_id
               AND x.started_at <= a.created_at
               AND (x.ended_at IS NULL OR x.ended_at > a.created_at)))""")
    assert bad == [], bad[:10]
    twice = rows(scaled, """
        SELECT service_user_id FROM risk_assessment
        WHERE status IN ('draft', 'submitted', 'returned')
        GROUP BY service_user_id HAVING count(*) > 1""")
    assert twice == [], twice[:10]
    got = scaled.db.one(f"""
        SELECT count(*) AS open,
            count(a.id) AS submitted,
            count(a.id) FILTER (WHERE EXISTS (SELECT 1 FROM risk_assessment o
                WHERE o.service_user_id = a.service_user_id AND o.status = 'approved'))
                AS besides_approved
        FROM episode e LEFT JOIN risk_assessment a ON a.episode_id = e.id
            AND a.status = 'submitted'
        WHERE e.id IN ({SCALE_OPEN})""")
    assert 0.01 <= fraction(got["submitted"], got["open"]) <= 0.035, got
    assert got["besides_approved"] > 0, got


def test_involvement_is_recorded_as_the_triggers_do(scaled):
    """What 010's triggers record for the versions, copies, contacts and
    submitted assessments (the generator leaves out the involvement of the
    reviews and approved assessments review_rows.sql makes, and says so):
    one row per source row, attributed to the carer named, else the
    person's only carer that day."""
    want = f"""
        WITH want AS (
            SELECT 'care_plan_version' AS source, v.id AS source_id,
                'care_plan_writing' AS kind, p.site_id, p.service_user_id,
                NULL::bigint AS named, v.created_at::date AS day, v.created_by AS by
            FROM care_plan_version v JOIN care_plan p ON p.id = v.care_plan_id
            WHERE v.took_part_carer
            UNION ALL
            SELECT 'care_plan_copy', k.id, 'care_plan_copy', k.site_id, p.service_user_id,
                k.carer_link_id, k.given_on, k.recorded_by
            FROM care_plan_copy k JOIN care_plan_version v ON v.id = k.care_plan_version_id
            JOIN care_plan p ON p.id = v.care_plan_id WHERE k.recipient = 'carer'
            UNION ALL
            SELECT 'contact', c.id, 'contact', c.site_id, c.service_user_id, c.carer_link_id,
                c.at::date, c.recorded_by
            FROM contact c WHERE c.carer_present
            UNION ALL
            SELECT 'risk_assessment', a.id, 'risk_discussion', a.site_id, a.service_user_id,
                NULL, coalesce(a.submitted_at, a.updated_at)::date, a.author_id
            FROM risk_assessment a WHERE a.status = 'submitted' AND a.discussed_with_carer),
        w AS (SELECT want.*, coalesce(want.named, (SELECT min(l.id) FROM carer_link l
            WHERE {LINK_ON.format(p="want.service_user_id", d="want.day")}
            HAVING count(*) = 1)) AS link FROM want)"""
    bad = rows(scaled, want + """
        SELECT w.source, w.source_id, i.id FROM w
        LEFT JOIN carer_involvement i ON i.source = w.source
            AND i.source_id = w.source_id AND i.kind = w.kind
        WHERE i.id IS NULL OR i.site_id <> w.site_id
           OR i.service_user_id <> w.service_user_id
           OR i.carer_link_id IS DISTINCT FROM w.link OR i.occurred_on <> w.day
           OR i.recorded_by <> w.by""")
    assert bad == [], bad[:10]
    expected = scaled.db.scalar(want + " SELECT count(*) FROM w")
    assert scaled.db.scalar("SELECT count(*) FROM carer_involvement") == expected
    kinds = {r["kind"]: r["n"] for r in rows(
        scaled, "SELECT kind, count(*) AS n FROM carer_involvement GROUP BY kind")}
    assert set(kinds) == {"care_plan_writing", "care_plan_copy", "contact",
                          "risk_discussion"}, kinds
    unnamed = scaled.db.scalar("SELECT count(*) FROM carer_involvement "
                               "WHERE carer_link_id IS NULL")
    assert 0 < unnamed < kinds["care_plan_writing"], (unnamed, kinds)


def test_dashboard_is_rebuilt_after_the_load(scaled):
    """The generator writes with 011's triggers off, then rebuilds the
    summaries: they count what is there now."""
    dash = scaled.db.one("""
        SELECT sum(caseload) AS caseload, sum(plan_current) AS plans,
            sum(with_carer) AS carers, sum(risk_awaiting) AS awaiting
        FROM dash_coordinator_now""")
    now = scaled.db.one("""
        SELECT count(*) AS caseload,
            count(*) FILTER (WHERE EXISTS (SELECT 1 FROM care_plan p
                WHERE p.episode_id = e.id AND p.current_version_id IS NOT NULL)) AS plans,
            count(*) FILTER (WHERE EXISTS (SELECT 1 FROM carer_link l
                WHERE l.service_user_id = e.service_user_id AND l.ended_on IS NULL))
                AS carers,
            count(*) FILTER (WHERE EXISTS (SELECT 1 FROM risk_assessment a
                WHERE a.episode_id = e.id AND a.status = 'submitted')) AS awaiting
        FROM episode e WHERE e.ended_at IS NULL""")
    assert dash == now, (dash, now)
    assert now["plans"] > 0 and now["carers"] > 0 and now["awaiting"] > 0, now
