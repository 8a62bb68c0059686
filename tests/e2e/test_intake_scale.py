"""The intake demo (sql/demo/intake_demo.sql) and the scale generator
(sql/scale/generate.sql) make consistent data.  A throwaway database is
prepared like the stack's (test_migrate.Migrations: bootstrap.sql, then
cpa-migrate), given demo.sql and intake_demo.sql, then the generator runs
twice with people=2000; it is dropped at the end.  The checks hold for every
row, the demo's included: each referral and episode at its team's site, one
open episode per person per team, exactly one current care coordinator per
open episode (holding a coordinator role for that team), histories that
match, and valid NHS numbers."""

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
           "episode_event", "episode_transfer", "staff", "team")


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
        WHERE f.status = 'open' AND d.id IS NULL""")
    assert missing == [], missing[:10]
    stray = rows(scaled, """
        SELECT d.id, d.kind, d.source_id FROM due_item d WHERE d.open AND NOT CASE d.kind
            WHEN 'cpa_review' THEN EXISTS (SELECT 1 FROM cpa_review r
                WHERE r.id = d.source_id AND r.status = 'due')
            WHEN 'risk_review' THEN EXISTS (SELECT 1 FROM risk_assessment a
                WHERE a.id = d.source_id AND a.status = 'approved')
            WHEN 'followup' THEN EXISTS (SELECT 1 FROM followup f
                WHERE f.id = d.source_id AND f.status = 'open')
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
    assert set(kinds) == {"cpa_review", "risk_review", "followup"}, kinds
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
           OR (a.needs_manager_approval AND NOT EXISTS (SELECT 1 FROM staff_role r
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
        WHERE NOT EXISTS (SELECT 1 FROM risk_event ev WHERE ev.assessment_id = a.id
            AND ev.kind = 'approved' AND ev.at = a.approved_at)""")
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
               AND x.at >= f.discharged_at))""")
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
