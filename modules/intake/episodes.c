/*
 * episodes.c - CPA episodes once a referral is accepted: the level of care,
 * the named care coordinator, closing, transfers to another team of the
 * trust (at this site or another) and their decision by the receiving
 * team, and the list of the trust's teams transfers are addressed to.
 *
 * Every change is one statement: CTEs read the episode and the checks, the
 * UPDATE runs only when they pass (and the version still matches), and the
 * episode_event and coordinator_assignment rows are written beside it, so
 * state and history never disagree.  The statement says what was wrong
 * ("problem"), and a table here turns that into the answer.  Row-level
 * security hides other sites' episodes (404); changing an episode also
 * needs a clinical role covering its team (403).
 */
#include <limits.h>
#include <string.h>

#include "intake.h"
#include "episode_view.h"

/* A transfer as JSON, from episode_transfer row X and the trust_teams()
 * row "tt" of its receiving team (another site's team is hidden from the
 * team table). */
#define TRANSFER_JSON(X) \
	"json_build_object('id', " X ".id, 'episode_id', " X ".episode_id," \
	" 'to_team_id', " X ".to_team_id, 'to_team_name', tt.team_name," \
	" 'to_site_id', " X ".to_site_id, 'to_site_name', tt.site_name," \
	" 'status', " X ".status, 'reason', " X ".reason," \
	" 'requested_at', " X ".requested_at, 'decided_at', " X ".decided_at," \
	" 'decision_reason', " X ".decision_reason," \
	" 'new_episode_id', " X ".new_episode_id)"

/* An episode as JSON, from episode row "e".  EV and CA are the relations
 * holding its events and coordinator assignments: the tables, or, in a
 * statement that has just written some, the tables joined with what the
 * statement's CTEs returned (a statement does not see its own writes). */
#define EPISODE_JSON(EV, CA) \
	"json_build_object('id', e.id, 'site_id', e.site_id," \
	" 'service_user', (SELECT " PERSON_SUMMARY_JSON " FROM service_user su" \
	"   WHERE su.id = e.service_user_id)," \
	" 'team_id', e.team_id," \
	" 'team_name', (SELECT et.name FROM team et WHERE et.id = e.team_id)," \
	" 'level', e.level," \
	" 'coordinator', (SELECT json_build_object('id', ec.id," \
	"   'display_name', ec.display_name) FROM staff ec WHERE ec.id = e.coordinator_id)," \
	" 'started_at', e.started_at, 'ended_at', e.ended_at," \
	" 'end_reason', e.end_reason, 'end_detail', e.end_detail," \
	" 'referral_id', e.referral_id, 'version', e.version," \
	" 'events', (SELECT coalesce(json_agg(json_build_object('kind', xe.kind," \
	"   'from_value', xe.from_value, 'to_value', xe.to_value, 'reason', xe.reason," \
	"   'at', xe.at, 'by_name', xs.display_name) ORDER BY xe.at, xe.id), '[]')" \
	"   FROM " EV " xe LEFT JOIN staff xs ON xs.id = xe.by_staff_id" \
	"   WHERE xe.episode_id = e.id)," \
	" 'coordinators', (SELECT coalesce(json_agg(json_build_object(" \
	"   'staff_id', xa.staff_id, 'display_name', xas.display_name," \
	"   'started_at', xa.started_at, 'ended_at', xa.ended_at)" \
	"   ORDER BY xa.started_at, xa.id), '[]')" \
	"   FROM " CA " xa LEFT JOIN staff xas ON xas.id = xa.staff_id" \
	"   WHERE xa.episode_id = e.id)," \
	" 'transfers', (SELECT coalesce(json_agg(json_build_object('id', x.id," \
	"   'to_team_id', x.to_team_id, 'to_team_name', tt.team_name," \
	"   'to_site_id', x.to_site_id, 'status', x.status, 'reason', x.reason," \
	"   'requested_at', x.requested_at, 'decided_at', x.decided_at)" \
	"   ORDER BY x.requested_at, x.id), '[]')" \
	"   FROM episode_transfer x LEFT JOIN trust_teams() tt ON tt.team_id = x.to_team_id" \
	"   WHERE x.episode_id = e.id))"

#define EVENTS_WITH_NEW "(SELECT * FROM episode_event UNION ALL SELECT * FROM new_ev)"
#define ASSIGNMENTS_ENDED \
	"(SELECT * FROM coordinator_assignment WHERE id NOT IN (SELECT id FROM ca_end)" \
	" UNION ALL SELECT * FROM ca_end)"
#define ASSIGNMENTS_CHANGED \
	"(SELECT * FROM coordinator_assignment WHERE id NOT IN (SELECT id FROM ca_end)" \
	" UNION ALL SELECT * FROM ca_end UNION ALL SELECT * FROM ca_new)"

/* The episode $1 as the caller sees it, with whether a clinical role of
 * theirs covers its team; "cur" in the change statements. */
#define EPISODE_CURRENT \
	"SELECT e.id, e.site_id, e.service_user_id, e.team_id, e.level," \
	" e.coordinator_id, e.version, e.ended_at IS NOT NULL AS closed," \
	" " CALLER_COVERS("e.team_id") " AS covered," \
	" EXISTS (SELECT 1 FROM episode_transfer p WHERE p.episode_id = e.id" \
	"   AND p.status = 'pending') AS pending" \
	" FROM episode e WHERE e.id = $1::bigint"

/* The checks every change of an open episode starts with, in order. */
#define EPISODE_PROBLEM(VERSION) \
	"WHEN NOT cur.covered THEN 'denied' WHEN cur.closed THEN 'closed'" \
	" WHEN cur.version <> " VERSION " THEN 'stale'"

/* $2 true: also what the page's forms offer. */
static const struct cpa_stmt q_episode = {
	"intake_episode",
	"SELECT e.service_user_id, e.site_id, " EPISODE_JSON("episode_event",
	"coordinator_assignment") " AS episode,"
	" CASE WHEN $2::boolean THEN json_build_object("
	"  'levels', (SELECT to_json(s.episode_levels) FROM site s WHERE s.id = e.site_id),"
	"  'coordinator_choices', (SELECT coalesce(json_agg(json_build_object("
	"     'id', c.id, 'display_name', c.display_name) ORDER BY c.display_name, c.id), '[]')"
	"     FROM staff c JOIN team t ON t.id = e.team_id"
	"     WHERE c.id <> e.coordinator_id AND " COORDINATOR_COVERS("c.id", "t") "),"
	"  'team_groups', (SELECT coalesce(json_agg(json_build_object('site_id', g.site_id,"
	"     'site_name', g.site_name, 'teams', g.teams) ORDER BY g.site_name, g.site_id), '[]')"
	"     FROM (SELECT tt.site_id, tt.site_name, json_agg(json_build_object("
	"       'team_id', tt.team_id, 'team_name', tt.team_name,"
	"       'district_name', tt.district_name)"
	"       ORDER BY tt.district_name, tt.team_name) AS teams"
	"       FROM trust_teams() tt WHERE tt.team_id <> e.team_id"
	"       GROUP BY tt.site_id, tt.site_name) g),"
	"  'can_change', e.ended_at IS NULL AND " CALLER_COVERS("e.team_id") ")"
	" END AS choices"
	" FROM episode e WHERE e.id = $1::bigint",
	2
};

/* $1 episode, $2 level, $3 version, $4 reason. */
static const struct cpa_stmt q_change_level = {
	"intake_episode_level",
	"WITH cur AS (" EPISODE_CURRENT "),"
	" chk AS (SELECT cur.*, CASE " EPISODE_PROBLEM("$3::int")
	"  WHEN NOT EXISTS (SELECT 1 FROM site s WHERE s.id = cur.site_id"
	"    AND $2::text = ANY (s.episode_levels)) THEN 'level'"
	"  WHEN cur.level = $2::text THEN 'same_level' END AS problem FROM cur),"
	" e AS (UPDATE episode u SET level = $2::text, version = u.version + 1 FROM chk"
	"  WHERE u.id = chk.id AND chk.problem IS NULL AND u.version = $3::int"
	"  AND u.ended_at IS NULL RETURNING u.*),"
	" new_ev AS (INSERT INTO episode_event (site_id, episode_id, kind, from_value,"
	"  to_value, reason, by_staff_id) SELECT e.site_id, e.id, 'level_changed',"
	"  chk.level, e.level, $4::text, cpa_user_id() FROM e, chk RETURNING *)"
	" SELECT chk.problem, chk.service_user_id, chk.site_id, e.id IS NOT NULL AS done,"
	" 'level ' || chk.level || ' -> ' || $2::text AS detail,"
	" CASE WHEN e.id IS NOT NULL THEN " EPISODE_JSON(EVENTS_WITH_NEW,
	"coordinator_assignment") " END AS episode"
	" FROM chk LEFT JOIN e ON true",
	4
};

/* $1 episode, $2 new coordinator, $3 version, $4 reason.  The current
 * assignment ends and the new one starts at the same instant; counting
 * ca_end first makes the ending happen before the insert, which the
 * one-current-assignment index needs. */
static const struct cpa_stmt q_change_coordinator = {
	"intake_episode_coordinator",
	"WITH cur AS (" EPISODE_CURRENT "),"
	" chk AS (SELECT cur.*, CASE " EPISODE_PROBLEM("$3::int")
	"  WHEN NOT EXISTS (SELECT 1 FROM team t WHERE t.id = cur.team_id"
	"    AND " COORDINATOR_COVERS("$2::bigint", "t") ") THEN 'coordinator'"
	"  WHEN cur.coordinator_id = $2::bigint THEN 'same_coordinator' END AS problem"
	"  FROM cur),"
	" e AS (UPDATE episode u SET coordinator_id = $2::bigint, version = u.version + 1"
	"  FROM chk WHERE u.id = chk.id AND chk.problem IS NULL AND u.version = $3::int"
	"  AND u.ended_at IS NULL RETURNING u.*),"
	" ca_end AS (UPDATE coordinator_assignment a SET ended_at = now() FROM e"
	"  WHERE a.episode_id = e.id AND a.ended_at IS NULL RETURNING a.*),"
	" ca_new AS (INSERT INTO coordinator_assignment (site_id, episode_id, staff_id)"
	"  SELECT e.site_id, e.id, e.coordinator_id FROM e, (SELECT count(*) FROM ca_end) n"
	"  RETURNING *),"
	" new_ev AS (INSERT INTO episode_event (site_id, episode_id, kind, from_value,"
	"  to_value, reason, by_staff_id) SELECT e.site_id, e.id, 'coordinator_changed',"
	"  (SELECT s.display_name FROM staff s WHERE s.id = chk.coordinator_id),"
	"  (SELECT s.display_name FROM staff s WHERE s.id = e.coordinator_id),"
	"  $4::text, cpa_user_id() FROM e, chk RETURNING *)"
	" SELECT chk.problem, chk.service_user_id, chk.site_id, e.id IS NOT NULL AS done,"
	" 'coordinator ' || chk.coordinator_id || ' -> ' || $2::bigint AS detail,"
	" CASE WHEN e.id IS NOT NULL THEN " EPISODE_JSON(EVENTS_WITH_NEW,
	ASSIGNMENTS_CHANGED) " END AS episode"
	" FROM chk LEFT JOIN e ON true",
	4
};

/* $1 episode, $2 end_reason, $3 end_detail, $4 version.  A pending transfer
 * must be decided first: accepting it would close the episode again. */
static const struct cpa_stmt q_close = {
	"intake_episode_close",
	"WITH cur AS (" EPISODE_CURRENT "),"
	" chk AS (SELECT cur.*, CASE " EPISODE_PROBLEM("$4::int")
	"  WHEN cur.pending THEN 'pending' END AS problem FROM cur),"
	" e AS (UPDATE episode u SET ended_at = now(), end_reason = $2::text,"
	"  end_detail = $3::text, version = u.version + 1 FROM chk"
	"  WHERE u.id = chk.id AND chk.problem IS NULL AND u.version = $4::int"
	"  AND u.ended_at IS NULL RETURNING u.*),"
	" ca_end AS (UPDATE coordinator_assignment a SET ended_at = now() FROM e"
	"  WHERE a.episode_id = e.id AND a.ended_at IS NULL RETURNING a.*),"
	" new_ev AS (INSERT INTO episode_event (site_id, episode_id, kind, to_value,"
	"  reason, by_staff_id) SELECT e.site_id, e.id, 'closed', e.end_reason,"
	"  e.end_detail, cpa_user_id() FROM e RETURNING *)"
	" SELECT chk.problem, chk.service_user_id, chk.site_id, e.id IS NOT NULL AS done,"
	" 'end_reason ' || $2::text AS detail,"
	" CASE WHEN e.id IS NOT NULL THEN " EPISODE_JSON(EVENTS_WITH_NEW,
	ASSIGNMENTS_ENDED) " END AS episode"
	" FROM chk LEFT JOIN e ON true",
	4
};

/* $1 episode, $2 receiving team (any team of the trust), $3 reason. */
static const struct cpa_stmt q_transfer_request = {
	"intake_transfer_request",
	"WITH cur AS (" EPISODE_CURRENT "),"
	" tt AS (SELECT * FROM trust_teams() WHERE team_id = $2::bigint),"
	" chk AS (SELECT cur.*, CASE WHEN NOT cur.covered THEN 'denied'"
	"  WHEN cur.closed THEN 'closed' WHEN cur.pending THEN 'pending'"
	"  WHEN NOT EXISTS (SELECT 1 FROM tt) THEN 'team'"
	"  WHEN cur.team_id = $2::bigint THEN 'same_team' END AS problem FROM cur),"
	" x AS (INSERT INTO episode_transfer (site_id, episode_id, to_site_id, to_team_id,"
	"  reason, requested_by) SELECT chk.site_id, chk.id, tt.site_id, tt.team_id,"
	"  $3::text, cpa_user_id() FROM chk, tt WHERE chk.problem IS NULL RETURNING *),"
	" new_ev AS (INSERT INTO episode_event (site_id, episode_id, kind, from_value,"
	"  to_value, reason, by_staff_id) SELECT x.site_id, x.episode_id,"
	"  'transfer_requested', (SELECT t.name FROM team t WHERE t.id = chk.team_id),"
	"  tt.team_name || ' (' || tt.site_name || ')', x.reason, cpa_user_id()"
	"  FROM x, chk, tt RETURNING id)"
	" SELECT chk.problem, chk.service_user_id, chk.site_id, x.id IS NOT NULL AS done,"
	" 'transfer ' || x.id || ' to team ' || $2::bigint AS detail, x.id AS transfer_id,"
	" CASE WHEN x.id IS NOT NULL THEN " TRANSFER_JSON("x") " END AS transfer"
	" FROM chk LEFT JOIN x ON true LEFT JOIN tt ON true",
	3
};

/* The pending-or-decided transfer $1 addressed to a team the caller covers
 * with a clinical role; no row otherwise (404). */
#define TRANSFER_TO_ME \
	"SELECT x.id, x.status, x.site_id, x.episode_id, x.to_site_id, x.to_team_id" \
	" FROM episode_transfer x WHERE x.id = $1::bigint" \
	" AND x.to_site_id = ANY (cpa_site_ids())" \
	" AND " CALLER_COVERS("x.to_team_id")

/* $1 transfer, $2 level, $3 coordinator, $4 reason.  The checks here name
 * the field at fault; intake_accept_transfer() (002_intake.sql) makes them
 * again, does the work and returns the new episode with the person and
 * site of the episode it closed (the sending side, which row-level
 * security hides from a receiving site elsewhere), or NULLs when the
 * transfer, its episode or the coordinator changed first.  acc is
 * materialised so the function runs once. */
static const struct cpa_stmt q_transfer_accept = {
	"intake_transfer_accept",
	"WITH x AS (" TRANSFER_TO_ME "),"
	" chk AS (SELECT x.*, CASE WHEN x.status <> 'pending' THEN 'not_pending'"
	"  WHEN NOT EXISTS (SELECT 1 FROM site s WHERE s.id = x.to_site_id"
	"    AND $2::text = ANY (s.episode_levels)) THEN 'level'"
	"  WHEN NOT EXISTS (SELECT 1 FROM team t WHERE t.id = x.to_team_id"
	"    AND " COORDINATOR_COVERS("$3::bigint", "t") ") THEN 'coordinator'"
	"  END AS problem FROM x),"
	" acc AS MATERIALIZED (SELECT chk.problem, CASE WHEN chk.problem IS NULL THEN"
	"  intake_accept_transfer(chk.id, $2::text, $3::bigint, $4::text) END AS a FROM chk)"
	" SELECT acc.problem, (acc.a).new_episode_id,"
	" (acc.a).old_service_user_id AS from_service_user_id,"
	" (acc.a).old_site_id AS from_site_id FROM acc",
	4
};

/* $1 transfer, $2 reason.  The declined event goes on the episode only when
 * it is at one of the caller's sites (row-level security keeps the other
 * site's history out of reach); the transfer row records who and why.
 * The person at the sending site, for the audit row there, comes from
 * intake_incoming_transfers(), which runs on this statement's snapshot:
 * the transfer is still pending in it. */
static const struct cpa_stmt q_transfer_decline = {
	"intake_transfer_decline",
	"WITH x AS (" TRANSFER_TO_ME "),"
	" d AS (UPDATE episode_transfer u SET status = 'declined', decided_by = cpa_user_id(),"
	"  decided_at = now(), decision_reason = $2::text FROM x"
	"  WHERE u.id = x.id AND u.status = 'pending' RETURNING u.*),"
	" new_ev AS (INSERT INTO episode_event (site_id, episode_id, kind, to_value,"
	"  reason, by_staff_id) SELECT d.site_id, d.episode_id, 'transfer_declined',"
	"  (SELECT t.name FROM team t WHERE t.id = d.to_team_id), d.decision_reason,"
	"  cpa_user_id() FROM d WHERE d.site_id = ANY (cpa_site_ids()) RETURNING id)"
	" SELECT CASE WHEN x.status <> 'pending' THEN 'not_pending' END AS problem,"
	" d.id IS NOT NULL AS done, x.site_id AS from_site_id, x.to_site_id,"
	" x.episode_id AS from_episode_id,"
	" (SELECT i.from_service_user_id FROM intake_incoming_transfers() i"
	"   WHERE i.transfer_id = x.id) AS from_service_user_id,"
	" CASE WHEN d.id IS NOT NULL THEN " TRANSFER_JSON("d") " END AS transfer"
	" FROM x LEFT JOIN d ON true LEFT JOIN trust_teams() tt ON tt.team_id = x.to_team_id",
	2
};

/* After an accept: the transfer and the episode it opened. */
static const struct cpa_stmt q_transfer_result = {
	"intake_transfer_result",
	"SELECT " TRANSFER_JSON("x") " AS transfer,"
	" x.episode_id AS from_episode_id, x.to_site_id, e.service_user_id,"
	" CASE WHEN e.id IS NOT NULL THEN " EPISODE_JSON("episode_event",
	"coordinator_assignment") " END AS episode"
	" FROM episode_transfer x LEFT JOIN trust_teams() tt ON tt.team_id = x.to_team_id"
	" LEFT JOIN episode e ON e.id = x.new_episode_id WHERE x.id = $1::bigint",
	1
};

/* Incoming: pending transfers to the caller's teams, with what deciding
 * needs (the receiving site's levels, the receiving team's coordinators).
 * Outgoing: pending transfers from the caller's sites. */
static const struct cpa_stmt q_transfers = {
	"intake_transfers",
	"SELECT (SELECT coalesce(json_agg(json_build_object("
	"  'transfer_id', i.transfer_id, 'to_team_id', i.to_team_id, 'to_team_name', t.name,"
	"  'to_site_id', i.to_site_id, 'from_team_name', i.from_team_name,"
	"  'from_site_name', i.from_site_name, 'reason', i.reason,"
	"  'requested_at', i.requested_at, 'requested_by_name', i.requested_by_name,"
	"  'nhs_number', i.nhs_number, 'given_name', i.given_name,"
	"  'family_name', i.family_name, 'date_of_birth', i.date_of_birth,"
	"  'level', i.level, 'levels', to_json(s.episode_levels),"
	"  'coordinators', (SELECT coalesce(json_agg(json_build_object('id', c.id,"
	"     'display_name', c.display_name) ORDER BY c.display_name, c.id), '[]')"
	"     FROM staff c WHERE " COORDINATOR_COVERS("c.id", "t") "))"
	"  ORDER BY i.requested_at, i.transfer_id), '[]')"
	"  FROM intake_incoming_transfers() i JOIN team t ON t.id = i.to_team_id"
	"  JOIN site s ON s.id = i.to_site_id"
	"  WHERE i.to_team_id IN " CALLER_TEAMS ") AS incoming,"
	" (SELECT coalesce(json_agg(json_build_object('id', x.id, 'episode_id', x.episode_id,"
	"  'service_user', " PERSON_SUMMARY_JSON ","
	"  'from_team_id', e.team_id, 'from_team_name', ft.name,"
	"  'to_team_id', x.to_team_id, 'to_team_name', tt.team_name,"
	"  'to_site_id', x.to_site_id, 'to_site_name', tt.site_name,"
	"  'status', x.status, 'reason', x.reason, 'requested_at', x.requested_at,"
	"  'requested_by_name', rb.display_name)"
	"  ORDER BY x.requested_at, x.id), '[]')"
	"  FROM episode_transfer x JOIN episode e ON e.id = x.episode_id"
	"  JOIN service_user su ON su.id = e.service_user_id"
	"  JOIN team ft ON ft.id = e.team_id"
	"  LEFT JOIN trust_teams() tt ON tt.team_id = x.to_team_id"
	"  LEFT JOIN staff rb ON rb.id = x.requested_by"
	"  WHERE x.status = 'pending' AND x.site_id = ANY (cpa_site_ids())) AS outgoing",
	0
};

static const struct cpa_stmt q_teams = {
	"intake_teams",
	"SELECT coalesce(json_agg(json_build_object('team_id', tt.team_id,"
	" 'team_name', tt.team_name, 'district_id', tt.district_id,"
	" 'district_name', tt.district_name, 'site_id', tt.site_id,"
	" 'site_name', tt.site_name)"
	" ORDER BY tt.site_name, tt.district_name, tt.team_name, tt.team_id), '[]') AS teams"
	" FROM trust_teams() tt",
	0
};

/* ------------------------------------------------------------ input */

static const char *const end_reason_codes[] = {
	"discharged_to_gp", "moved_away", "died", "declined_contact", "other", NULL
};
static const char *const decision_codes[] = { "accept", "decline", NULL };

enum { LV_LEVEL, LV_REASON, LV_VERSION };
static const struct cpa_field level_fields[] = {
	{ "level", "Level of care", CPA_FT_ENUM, CPA_FF_REQUIRED, 0, 0, cpa_episode_levels },
	{ "reason", "Reason", CPA_FT_TEXT, CPA_FF_REQUIRED, 1, 2000, NULL },
	{ "version", "Version", CPA_FT_INT, CPA_FF_REQUIRED, 1, INT_MAX, NULL },
};

enum { CO_COORDINATOR, CO_REASON, CO_VERSION };
static const struct cpa_field coordinator_fields[] = {
	{ "coordinator_id", "Care coordinator", CPA_FT_ID, CPA_FF_REQUIRED, 0, 0, NULL },
	{ "reason", "Reason", CPA_FT_TEXT, CPA_FF_REQUIRED, 1, 2000, NULL },
	{ "version", "Version", CPA_FT_INT, CPA_FF_REQUIRED, 1, INT_MAX, NULL },
};

enum { CL_END_REASON, CL_END_DETAIL, CL_VERSION };
static const struct cpa_field close_fields[] = {
	{ "end_reason", "Reason for closing", CPA_FT_ENUM, CPA_FF_REQUIRED, 0, 0,
	    end_reason_codes },
	{ "end_detail", "Details", CPA_FT_TEXT, 0, 1, 2000, NULL },
	{ "version", "Version", CPA_FT_INT, CPA_FF_REQUIRED, 1, INT_MAX, NULL },
};

enum { TR_TEAM, TR_REASON };
static const struct cpa_field transfer_fields[] = {
	{ "to_team_id", "Receiving team", CPA_FT_ID, CPA_FF_REQUIRED, 0, 0, NULL },
	{ "reason", "Reason", CPA_FT_TEXT, CPA_FF_REQUIRED, 1, 2000, NULL },
};

enum { TD_DECISION, TD_REASON, TD_LEVEL, TD_COORDINATOR };
static const struct cpa_field decide_fields[] = {
	{ "decision", "Decision", CPA_FT_ENUM, CPA_FF_REQUIRED, 0, 0, decision_codes },
	{ "reason", "Reason", CPA_FT_TEXT, CPA_FF_REQUIRED, 1, 2000, NULL },
	{ "level", "Level of care", CPA_FT_ENUM, 0, 0, 0, cpa_episode_levels },
	{ "coordinator_id", "Care coordinator", CPA_FT_ID, 0, 0, 0, NULL },
};

/* What a statement's "problem" means for the caller.  field NULL: a plain
 * error, shown on a page at the form's first field. */
static const struct cpa_problem problems[] = {
	{ "denied", 403, NULL, "You can only change episodes of your own teams" },
	{ "closed", 409, NULL, "This episode is closed" },
	{ "stale", 409, NULL,
	    "Someone else changed this episode: look at it again and retry" },
	{ "pending", 409, NULL, "This episode already has a transfer waiting for a decision" },
	{ "open_episode", 409, NULL,
	    "This person already has an open episode with the receiving team" },
	{ "not_pending", 409, NULL, "This transfer has already been decided" },
	{ "changed", 409, NULL,
	    "This transfer or its episode changed while you decided: look at it again" },
	{ "level", 422, "level", "Select a level of care this site uses" },
	{ "same_level", 422, "level", "The episode is already at that level" },
	{ "coordinator", 422, "coordinator_id", "Select a care coordinator of the team" },
	{ "same_coordinator", 422, "coordinator_id",
	    "That person is already the care coordinator" },
	{ "team", 422, "to_team_id", "Select a team of the trust" },
	{ "same_team", 422, "to_team_id", "Select a team other than the episode's own" },
};

/* The entry for code; the statements name no other codes, but anything
 * unknown is answered like a stale version: nothing was changed. */
static const struct cpa_problem *
problem_of(const char *code)
{
	return cpa_problem_find(problems, sizeof(problems) / sizeof(problems[0]), code,
	    "stale");
}

/* One kind of change to an episode: its input, its statement (params[i]
 * is $(i + 2), $1 being the episode), and how the page, the answer and the
 * audit trail name it. */
struct change {
	const struct cpa_field *fields;
	size_t nfields;
	const struct cpa_stmt *st;
	int params[3];
	size_t nparams;
	const char *form;		/* the page's form: prefix of its field ids */
	const char *first_field;	/* where a conflict is shown on the page */
	const char *action;		/* audit action */
	const char *entity;		/* audit entity, its id in column id_column */
	const char *id_column;		/* NULL: the episode's id */
	const char *conflict;		/* problem of a unique violation (a race) */
	const char *result;		/* the answer's key and column */
	int status;
};

static const struct change change_level = {
	level_fields, CPA_NFIELDS(level_fields), &q_change_level,
	{ LV_LEVEL, LV_VERSION, LV_REASON }, 3,
	"level", "level", "level_changed", "episode", NULL, "stale", "episode", 200
};
static const struct change change_coordinator = {
	coordinator_fields, CPA_NFIELDS(coordinator_fields), &q_change_coordinator,
	{ CO_COORDINATOR, CO_VERSION, CO_REASON }, 3,
	"coordinator", "coordinator_id", "coordinator_changed", "episode", NULL,
	"stale", "episode", 200
};
static const struct change change_close = {
	close_fields, CPA_NFIELDS(close_fields), &q_close,
	{ CL_END_REASON, CL_END_DETAIL, CL_VERSION }, 3,
	"close", "end_reason", "closed", "episode", NULL, "stale", "episode", 200
};
static const struct change change_transfer = {
	transfer_fields, CPA_NFIELDS(transfer_fields), &q_transfer_request,
	{ TR_TEAM, TR_REASON, 0 }, 2,
	"transfer", "to_team_id", "transfer_requested", "episode_transfer",
	"transfer_id", "pending", "transfer", 201
};

/* ------------------------------------------------------------ display */

/* Words for codes, by the table they belong to. */
static const struct label {
	const char *table;
	const char *code;
	const char *text;
} labels[] = {
	{ "level", "standard", "Standard" },
	{ "level", "enhanced", "Enhanced" },
	{ "level", "complex", "Complex" },
	{ "level", "non_cpa", "Non-CPA" },
	{ "level", "personalised", "Personalised care" },
	{ "end_reason", "discharged_to_gp", "Discharged to GP care" },
	{ "end_reason", "moved_away", "Moved away" },
	{ "end_reason", "died", "Died" },
	{ "end_reason", "declined_contact", "Declined contact" },
	{ "end_reason", "transferred", "Transferred" },
	{ "end_reason", "other", "Other" },
	{ "kind", "opened", "Opened" },
	{ "kind", "level_changed", "Level changed" },
	{ "kind", "coordinator_changed", "Care coordinator changed" },
	{ "kind", "transfer_requested", "Transfer requested" },
	{ "kind", "transfer_accepted", "Transfer accepted" },
	{ "kind", "transfer_declined", "Transfer declined" },
	{ "kind", "closed", "Closed" },
	{ "status", "pending", "Waiting for a decision" },
	{ "status", "accepted", "Accepted" },
	{ "status", "declined", "Declined" },
};

/* Which JSON keys carry codes, and from which table (NULL: any). */
static const struct {
	const char *key;
	const char *table;
} labelled[] = {
	{ "level", "level" },
	{ "end_reason", "end_reason" },
	{ "kind", "kind" },
	{ "status", "status" },
	{ "from_value", NULL },
	{ "to_value", NULL },
};

static const char *
label_of(const char *table, const char *code)
{
	size_t i;

	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if ((table == NULL || strcmp(labels[i].table, table) == 0) &&
		    strcmp(labels[i].code, code) == 0)
			return labels[i].text;
	return NULL;
}

static json_t *
level_choices(const json_t *codes)
{
	json_t *out = json_array(), *c;
	const char *text;
	size_t i;

	json_array_foreach(codes, i, c) {
		if (!json_is_string(c))
			continue;
		text = label_of("level", json_string_value(c));
		json_array_append_new(out, json_pack("{s:s,s:s}", "value",
		    json_string_value(c), "label", text != NULL ? text :
		    json_string_value(c)));
	}
	return out;
}

/* The words of one member: its label, its date in words ("27 March 2025
 * 14:05"), the choices of a "levels" array. */
static void
view_member(json_t *add, const char *key, const json_t *value, void *arg)
{
	const char *text;
	size_t i, n = strlen(key);

	(void)arg;
	for (i = 0; i < sizeof(labelled) / sizeof(labelled[0]); i++)
		if (strcmp(labelled[i].key, key) == 0) {
			text = json_is_string(value) ? label_of(labelled[i].table,
			    json_string_value(value)) : NULL;
			cpa_json_beside(add, key, "_label", text != NULL ?
			    json_string(text) : json_null());
		}
	if (strcmp(key, "at") == 0 || strcmp(key, "date_of_birth") == 0 ||
	    (n > 3 && strcmp(key + n - 3, "_at") == 0))
		cpa_json_beside(add, key, "_text", cpa_date_text(json_string_value(value),
		    " "));
	if (strcmp(key, "levels") == 0 && json_is_array(value))
		json_object_set_new(add, "level_choices", level_choices(value));
}

void
episode_view(json_t *model)
{
	cpa_json_annotate(model, view_member, NULL);
}

/* ------------------------------------------------------------ helpers */

/* Give every choice in array choices "selected": whether its key equals
 * value (a string as typed; NULL selects nothing). */
static void
mark_selected(json_t *choices, const char *key, const char *value)
{
	long long n = 0;
	json_t *c, *v;
	size_t i;
	int is_num = value != NULL && cpa_parse_ll(value, 1, LLONG_MAX, &n) == CPA_OK;

	json_array_foreach(choices, i, c) {
		v = json_object_get(c, key);
		json_object_set_new(c, "selected", json_boolean(value != NULL &&
		    ((json_is_string(v) && strcmp(json_string_value(v), value) == 0) ||
		    (json_is_integer(v) && is_num && json_integer_value(v) == n))));
	}
}

/* The typed value of field in form object form ("form_level" ...), or NULL. */
static const char *
typed_value(const json_t *m, const char *form, const char *field)
{
	return json_string_value(json_object_get(json_object_get(m, form), field));
}

/* The episode page's selects show what was chosen before a refusal. */
static void
episode_page_marks(json_t *m)
{
	json_t *g;
	size_t i;

	mark_selected(json_object_get(m, "level_choices"), "value",
	    typed_value(m, "form_level", "level"));
	mark_selected(json_object_get(m, "coordinator_choices"), "id",
	    typed_value(m, "form_coordinator", "coordinator_id"));
	mark_selected(json_object_get(m, "end_reasons"), "value",
	    typed_value(m, "form_close", "end_reason"));
	json_array_foreach(json_object_get(m, "team_groups"), i, g)
		mark_selected(json_object_get(g, "teams"), "team_id",
		    typed_value(m, "form_transfer", "to_team_id"));
}

/* The same for each incoming transfer's decision form (its "form"). */
static void
transfers_page_marks(json_t *m)
{
	const char *decision;
	json_t *item;
	size_t i;

	json_array_foreach(json_object_get(m, "incoming"), i, item) {
		decision = typed_value(item, "form", "decision");
		mark_selected(json_object_get(item, "level_choices"), "value",
		    typed_value(item, "form", "level"));
		mark_selected(json_object_get(item, "coordinators"), "id",
		    typed_value(item, "form", "coordinator_id"));
		json_object_set_new(item, "accept_checked", json_boolean(decision != NULL &&
		    strcmp(decision, "accept") == 0));
		json_object_set_new(item, "decline_checked", json_boolean(decision != NULL &&
		    strcmp(decision, "decline") == 0));
	}
}

/* ------------------------------------------------------------ episodes */

/* The episode page's model (for JSON, the answer): the episode and, for
 * HTML, what its forms offer.  Queues the "read" audit row.  NULL when the
 * response is written (no such episode at the caller's sites, failure). */
static json_t *
episode_model(struct cpa_ctx *ctx, long long id)
{
	const char *params[2], *given, *family;
	json_t *episode, *choices, *m, *reasons, *su;
	PGresult *r;
	size_t i;

	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = ctx->req.wants_json ? "false" : "true";
	if ((r = cpa_fetch(ctx, &q_episode, params, "episode")) == NULL)
		return NULL;
	if ((episode = cpa_db_json(ctx->arena, r, 0, "episode")) == NULL) {
		cpa_error(ctx, 500, NULL);
		return NULL;
	}
	cpa_audit(ctx, "read", "episode", params[0], cpa_db_ll(r, 0, "service_user_id"),
	    cpa_db_ll(r, 0, "site_id"), NULL);
	m = json_pack("{s:O}", "episode", episode);
	if ((choices = cpa_db_json(ctx->arena, r, 0, "choices")) == NULL)
		return m;
	json_object_update(m, choices);
	reasons = json_array();
	for (i = 0; end_reason_codes[i] != NULL; i++)
		json_array_append_new(reasons, json_pack("{s:s,s:s}", "value",
		    end_reason_codes[i], "label", label_of("end_reason", end_reason_codes[i])));
	json_object_set_new(m, "end_reasons", reasons);
	su = json_object_get(episode, "service_user");
	given = json_string_value(json_object_get(su, "given_name"));
	family = json_string_value(json_object_get(su, "family_name"));
	json_object_set_new(m, "title", json_string(given != NULL && family != NULL ?
	    cpa_sprintf(ctx->arena, "CPA episode: %s %s", given, family) : "CPA episode"));
	return m;
}

int
episode_show(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	json_t *m;

	if (id == 0) {
		cpa_error(ctx, 404, NULL);
		return CPA_OK;
	}
	cpa_db_begin(ctx);
	if ((m = episode_model(ctx, id)) == NULL || cpa_commit_or_fail(ctx, m) != CPA_OK)
		return CPA_OK;
	if (!ctx->req.wants_json) {
		episode_view(m);
		episode_page_marks(m);
	}
	cpa_render(ctx, 200, "episode_detail", m);
	return CPA_OK;
}

/* The episode page again, with what was typed in form and in's errors
 * (already named by the page's input ids), answered with status. */
static void
episode_page_invalid(struct cpa_ctx *ctx, long long id, const char *form,
    const struct cpa_input *in, int status)
{
	struct cpa_input p = cpa_input_prefixed(ctx->arena, in,
	    cpa_sprintf(ctx->arena, "%s_", form));
	json_t *m;

	cpa_db_rollback(ctx);
	cpa_db_begin(ctx);
	if ((m = episode_model(ctx, id)) == NULL || cpa_commit_or_fail(ctx, m) != CPA_OK)
		return;
	json_object_set_new(m, cpa_sprintf(ctx->arena, "form_%s", form),
	    cpa_input_typed(in));
	episode_view(m);
	episode_page_marks(m);
	cpa_render_invalid(ctx, "episode_detail", m, &p);
	ctx->resp.status = status;
}

/* Answer a refused change: JSON gets the plain or per-field error; the
 * page shows the message at the field (or the form's first field). */
static void
change_refused(struct cpa_ctx *ctx, const struct change *c, long long id,
    const struct cpa_input *in, const struct cpa_problem *p)
{
	struct cpa_input one;

	if (ctx->req.wants_json || p->status == 403) {
		cpa_problem_error(ctx, p, NULL);
		return;
	}
	one = *in;
	one.nerrors = 0;
	cpa_input_add_error(ctx->arena, &one, p->field != NULL ? p->field :
	    c->first_field, p->message);
	episode_page_invalid(ctx, id, c->form, &one, p->status);
}

/* Run a change's statement.  Returns its row when the change was made (the
 * transaction still open), or NULL with the response written. */
static PGresult *
change_run(struct cpa_ctx *ctx, const struct change *c, long long id,
    const char *const *params, const struct cpa_input *in)
{
	const char *code;
	PGresult *r;

	if ((r = cpa_run_change(ctx, c->st, params, "episode", c->conflict,
	    &code)) != NULL && code == NULL)
		return r;
	if (code != NULL && strcmp(code, "denied") == 0)
		cpa_deny(ctx, 403, problem_of(code)->message, "episode", params[0],
		    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"),
		    c->action);
	else if (code != NULL)
		change_refused(ctx, c, id, in, problem_of(code));
	return NULL;
}

static int
episode_change(struct cpa_ctx *ctx, const struct change *c)
{
	long long id = cpa_param_id(&ctx->req, "id");
	const char *params[4];
	struct cpa_input in;
	json_t *out;
	PGresult *r;
	size_t i;

	if (cpa_input_read(ctx, c->fields, c->nfields, &in) != CPA_OK)
		return CPA_OK;
	if (id == 0) {
		cpa_error(ctx, 404, NULL);
		return CPA_OK;
	}
	if (in.nerrors > 0) {
		if (ctx->req.wants_json)
			cpa_render_invalid(ctx, NULL, NULL, &in);
		else
			episode_page_invalid(ctx, id, c->form, &in, 422);
		return CPA_OK;
	}
	params[0] = cpa_id_param(ctx->arena, id);
	for (i = 0; i < c->nparams; i++)
		params[i + 1] = cpa_value_or_null(&in.values[c->params[i]]);
	if ((r = change_run(ctx, c, id, params, &in)) == NULL)
		return CPA_OK;
	if ((out = cpa_db_json(ctx->arena, r, 0, c->result)) == NULL) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	cpa_audit(ctx, c->action, c->entity, c->id_column != NULL ?
	    cpa_db_get(r, 0, c->id_column) : params[0],
	    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"),
	    cpa_db_get(r, 0, "detail"));
	if (!ctx->req.wants_json) {
		cpa_commit_redirect(ctx, cpa_sprintf(ctx->arena, "/episodes/%lld", id));
		return CPA_OK;
	}
	cpa_commit_render(ctx, c->status, NULL, json_pack("{s:O}", c->result, out));
	return CPA_OK;
}

int
episode_change_level(struct cpa_ctx *ctx)
{
	return episode_change(ctx, &change_level);
}

int
episode_change_coordinator(struct cpa_ctx *ctx)
{
	return episode_change(ctx, &change_coordinator);
}

int
episode_close(struct cpa_ctx *ctx)
{
	return episode_change(ctx, &change_close);
}

int
episode_transfer(struct cpa_ctx *ctx)
{
	return episode_change(ctx, &change_transfer);
}

/* ----------------------------------------------------------- transfers */

/* The transfers page's model (for JSON, the answer).  Queues the "read"
 * audit row (it shows people's names, NHS numbers and dates of birth).
 * NULL when the response is written. */
static json_t *
transfers_model(struct cpa_ctx *ctx)
{
	json_t *incoming, *outgoing;
	PGresult *r;

	r = cpa_db_exec(ctx, &q_transfers, NULL);
	if (r == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return NULL;
	}
	incoming = cpa_db_json(ctx->arena, r, 0, "incoming");
	outgoing = cpa_db_json(ctx->arena, r, 0, "outgoing");
	if (incoming == NULL || outgoing == NULL) {
		cpa_error(ctx, 500, NULL);
		return NULL;
	}
	cpa_audit(ctx, "read", "episode_transfer", NULL, 0, 0, cpa_sprintf(ctx->arena,
	    "%zu incoming, %zu outgoing", json_array_size(incoming),
	    json_array_size(outgoing)));
	return json_pack("{s:s,s:O,s:O}", "title", "Transfers", "incoming", incoming,
	    "outgoing", outgoing);
}

int
transfer_list(struct cpa_ctx *ctx)
{
	json_t *m;

	cpa_db_begin(ctx);
	if ((m = transfers_model(ctx)) == NULL || cpa_commit_or_fail(ctx, m) != CPA_OK)
		return CPA_OK;
	if (!ctx->req.wants_json) {
		episode_view(m);
		transfers_page_marks(m);
	}
	cpa_render(ctx, 200, "transfers", m);
	return CPA_OK;
}

/* The transfers page again, the errors shown at transfer id's decision
 * form (input ids "t<id>_<field>"); every other transfer gets the same
 * keys, empty.  A transfer no longer listed gets a plain error page. */
static void
transfers_page_invalid(struct cpa_ctx *ctx, long long id, const struct cpa_input *in,
    int status)
{
	struct cpa_input p = cpa_input_prefixed(ctx->arena, in,
	    cpa_sprintf(ctx->arena, "t%lld_", id));
	json_t *m, *item;
	size_t i, k;
	int found = 0;

	cpa_db_rollback(ctx);
	cpa_db_begin(ctx);
	if ((m = transfers_model(ctx)) == NULL || cpa_commit_or_fail(ctx, m) != CPA_OK)
		return;
	json_array_foreach(json_object_get(m, "incoming"), i, item) {
		int here = json_integer_value(json_object_get(item, "transfer_id")) == id;

		for (k = 0; k < CPA_NFIELDS(decide_fields); k++)
			json_object_set_new(item, cpa_sprintf(ctx->arena, "error_%s",
			    decide_fields[k].name), json_null());
		for (k = 0; here && k < in->nerrors; k++)
			json_object_set_new(item, cpa_sprintf(ctx->arena, "error_%s",
			    in->errors[k].field), json_string(in->errors[k].message));
		json_object_set_new(item, "form", here ? cpa_input_typed(in) : json_null());
		found |= here;
	}
	if (!found) {
		json_decref(m);
		cpa_error(ctx, status, in->nerrors > 0 ? in->errors[0].message : NULL);
		return;
	}
	episode_view(m);
	transfers_page_marks(m);
	cpa_render_invalid(ctx, "transfers", m, &p);
	ctx->resp.status = status;
}

static void
transfer_refused(struct cpa_ctx *ctx, long long id, const struct cpa_input *in,
    const char *code)
{
	const struct cpa_problem *p = problem_of(code);
	struct cpa_input one;

	if (ctx->req.wants_json) {
		cpa_problem_error(ctx, p, NULL);
		return;
	}
	one = *in;
	one.nerrors = 0;
	cpa_input_add_error(ctx->arena, &one, p->field != NULL ? p->field : "decision",
	    p->message);
	transfers_page_invalid(ctx, id, &one, p->status);
}

/* Accept: intake_accept_transfer() closes the old episode and opens the
 * new one; a second statement reads them back.  Audited at the receiving
 * site (the person's record there) and, across sites, at the sending site
 * with the person there (whom the receiving side cannot see: the function
 * names them). */
static void
transfer_accept(struct cpa_ctx *ctx, long long id, const struct cpa_input *in)
{
	const char *params[4], *code;
	long long from_su, from_site;
	json_t *transfer, *episode;
	PGresult *r;

	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = in->values[TD_LEVEL].str;
	params[2] = in->values[TD_COORDINATOR].str;
	params[3] = in->values[TD_REASON].str;
	r = cpa_db_exec(ctx, &q_transfer_accept, params);
	if (r == NULL && ctx->db_rc == CPA_ECONFLICT) {
		transfer_refused(ctx, id, in, "open_episode");
		return;
	}
	if (r == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return;
	}
	if (PQntuples(r) == 0) {
		cpa_not_found(ctx, "episode_transfer", params[0]);
		return;
	}
	code = cpa_db_get(r, 0, "problem");
	if (code == NULL && cpa_db_get(r, 0, "new_episode_id") == NULL)
		code = "changed";
	if (code != NULL) {
		transfer_refused(ctx, id, in, code);
		return;
	}
	from_su = cpa_db_ll(r, 0, "from_service_user_id");
	from_site = cpa_db_ll(r, 0, "from_site_id");
	if ((r = cpa_db_exec(ctx, &q_transfer_result, params)) == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return;
	}
	transfer = cpa_db_json(ctx->arena, r, 0, "transfer");
	episode = cpa_db_json(ctx->arena, r, 0, "episode");
	if (transfer == NULL || episode == NULL) {
		cpa_error(ctx, 500, NULL);
		return;
	}
	cpa_audit(ctx, "transfer_accepted", "episode_transfer", params[0],
	    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "to_site_id"),
	    cpa_sprintf(ctx->arena, "episode %s -> episode %lld",
	    cpa_db_get(r, 0, "from_episode_id"),
	    (long long)json_integer_value(json_object_get(episode, "id"))));
	if (from_site != cpa_db_ll(r, 0, "to_site_id"))
		cpa_audit(ctx, "transfer_accepted", "episode",
		    cpa_db_get(r, 0, "from_episode_id"), from_su, from_site,
		    cpa_sprintf(ctx->arena, "transfer %s", params[0]));
	if (!ctx->req.wants_json) {
		cpa_commit_redirect(ctx, cpa_sprintf(ctx->arena, "/episodes/%lld",
		    (long long)json_integer_value(json_object_get(episode, "id"))));
		return;
	}
	cpa_commit_render(ctx, 200, NULL, json_pack("{s:O,s:O}", "transfer", transfer,
	    "episode", episode));
}

/* Decline: audited like an accept, at the receiving site (with the person
 * only when the sending site is the same) and, across sites, at the
 * sending site with the person there. */
static void
transfer_decline(struct cpa_ctx *ctx, long long id, const struct cpa_input *in)
{
	const char *params[2], *code;
	long long from_su, from_site, to_site;
	json_t *transfer;
	PGresult *r;

	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = in->values[TD_REASON].str;
	if ((r = cpa_fetch(ctx, &q_transfer_decline, params, "episode_transfer")) == NULL)
		return;
	code = cpa_db_get(r, 0, "problem");
	if (code != NULL || !cpa_db_flag(r, 0, "done")) {
		transfer_refused(ctx, id, in, code != NULL ? code : "not_pending");
		return;
	}
	if ((transfer = cpa_db_json(ctx->arena, r, 0, "transfer")) == NULL) {
		cpa_error(ctx, 500, NULL);
		return;
	}
	from_su = cpa_db_ll(r, 0, "from_service_user_id");
	from_site = cpa_db_ll(r, 0, "from_site_id");
	to_site = cpa_db_ll(r, 0, "to_site_id");
	cpa_audit(ctx, "transfer_declined", "episode_transfer", params[0],
	    from_site == to_site ? from_su : 0, to_site,
	    cpa_sprintf(ctx->arena, "episode %s", cpa_db_get(r, 0, "from_episode_id")));
	if (from_site != to_site)
		cpa_audit(ctx, "transfer_declined", "episode",
		    cpa_db_get(r, 0, "from_episode_id"), from_su, from_site,
		    cpa_sprintf(ctx->arena, "transfer %s", params[0]));
	if (!ctx->req.wants_json) {
		cpa_commit_redirect(ctx, "/transfers");
		return;
	}
	cpa_commit_render(ctx, 200, NULL, json_pack("{s:O,s:n}", "transfer", transfer,
	    "episode"));
}

int
transfer_decide(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	struct cpa_input in;
	int accept;

	if (cpa_input_read(ctx, decide_fields, CPA_NFIELDS(decide_fields), &in) != CPA_OK)
		return CPA_OK;
	if (id == 0) {
		cpa_error(ctx, 404, NULL);
		return CPA_OK;
	}
	accept = in.values[TD_DECISION].present &&
	    strcmp(in.values[TD_DECISION].str, "accept") == 0;
	if (accept && !in.values[TD_LEVEL].present && cpa_input_error(&in, "level") == NULL)
		cpa_input_add_error(ctx->arena, &in, "level", "Select a level of care");
	if (accept && !in.values[TD_COORDINATOR].present &&
	    cpa_input_error(&in, "coordinator_id") == NULL)
		cpa_input_add_error(ctx->arena, &in, "coordinator_id",
		    "Select a care coordinator");
	if (cpa_input_refused(ctx, &in, transfers_page_invalid, id))
		return CPA_OK;
	cpa_db_begin(ctx);
	if (accept)
		transfer_accept(ctx, id, &in);
	else
		transfer_decline(ctx, id, &in);
	return CPA_OK;
}

/* --------------------------------------------------------------- teams */

int
team_list(struct cpa_ctx *ctx)
{
	json_t *teams;
	PGresult *r;

	cpa_db_begin(ctx);
	r = cpa_db_exec(ctx, &q_teams, NULL);
	if (r == NULL || (teams = cpa_db_json(ctx->arena, r, 0, "teams")) == NULL) {
		cpa_error_rc(ctx, r == NULL ? ctx->db_rc : CPA_ERR);
		return CPA_OK;
	}
	cpa_commit_render(ctx, 200, NULL, json_pack("{s:O}", "teams", teams));
	return CPA_OK;
}
