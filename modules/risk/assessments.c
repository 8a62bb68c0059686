/*
 * assessments.c - risk assessments: starting one for a person with an open
 * episode, saving it as it is written, submitting it, a manager's approval
 * or return, the person's current, in-progress and past assessments, and
 * the managers' queue.
 *
 * Every change is one statement: CTEs read the assessment and the checks,
 * the UPDATE runs only when they pass (guarded again by the version or the
 * status it expects, so of two racing decisions one wins), and the
 * risk_event row is written beside it.  The statement says what was wrong
 * ("problem") and a table here turns that into the answer.  The answer is
 * read back by a second statement of the same transaction.  Row-level
 * security hides other sites' assessments (404); writing needs a clinical
 * role covering the episode's team, deciding a manager role (403).
 */
#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "risk.h"

static const char *const domain_codes[] = {
	"suicide_self_harm", "harm_to_others", "self_neglect",
	"exploitation_vulnerability", "substance_misuse", "other", NULL
};
static const char *const domain_labels[] = {
	"Suicide and self-harm", "Harm to others", "Self-neglect",
	"Exploitation and vulnerability", "Substance misuse", "Other risks", NULL
};
const char *const risk_levels[] = { "none", "low", "medium", "high", NULL };
const char *const risk_level_labels[] = { "None", "Low", "Medium", "High", NULL };
static const char *const status_codes[] = {
	"submitted", "draft", "returned", "approved", "superseded", "all", NULL
};

#define DOMAINS_SQL_ARRAY \
	"ARRAY['suicide_self_harm', 'harm_to_others', 'self_neglect'," \
	" 'exploitation_vulnerability', 'substance_misuse', 'other']"

/* An assessment as JSON, from risk_assessment row "a". */
#define ASSESSMENT_JSON \
	"json_build_object('id', a.id, 'site_id', a.site_id," \
	" 'service_user_id', a.service_user_id, 'episode_id', a.episode_id," \
	" 'status', a.status, 'overall_level', a.overall_level," \
	" 'domains', (SELECT coalesce(json_object_agg(d.domain, json_build_object(" \
	"   'level', d.level, 'history', d.history, 'current_factors', d.current_factors," \
	"   'protective_factors', d.protective_factors)), '{}')" \
	"   FROM risk_domain d WHERE d.assessment_id = a.id)," \
	" 'warning_signs', a.warning_signs, 'what_helps', a.what_helps," \
	" 'contacts', a.contacts, 'crisis_numbers', a.crisis_numbers," \
	" 'means_restriction', a.means_restriction," \
	" 'discussed_with_user', a.discussed_with_user," \
	" 'not_discussed_user_reason', a.not_discussed_user_reason," \
	" 'discussed_with_carer', a.discussed_with_carer," \
	" 'not_discussed_carer_reason', a.not_discussed_carer_reason," \
	" 'user_view', a.user_view, 'needs_manager_approval', a.needs_manager_approval," \
	" 'author_id', a.author_id," \
	" 'author_name', (SELECT s.display_name FROM staff s WHERE s.id = a.author_id)," \
	" 'submitted_at', a.submitted_at, 'decided_by', a.decided_by," \
	" 'decided_by_name', (SELECT s.display_name FROM staff s WHERE s.id = a.decided_by)," \
	" 'decided_at', a.decided_at, 'return_comments', a.return_comments," \
	" 'approved_at', a.approved_at, 'next_review_due', a.next_review_due," \
	" 'supersedes_id', a.supersedes_id, 'version', a.version," \
	" 'events', (SELECT coalesce(json_agg(json_build_object('kind', ev.kind," \
	"   'comments', ev.comments, 'at', ev.at, 'by_name', es.display_name)" \
	"   ORDER BY ev.at, ev.id), '[]') FROM risk_event ev" \
	"   LEFT JOIN staff es ON es.id = ev.by_staff_id WHERE ev.assessment_id = a.id))"

/* The assessment $1 as the caller sees it, with whether a clinical or a
 * manager role of theirs covers its episode's team; "cur" below. */
#define ASSESSMENT_CURRENT \
	"SELECT a.id, a.site_id, a.service_user_id, a.episode_id, a.status," \
	" a.version, a.author_id, a.overall_level, e.team_id, e.level AS episode_level," \
	" " CALLER_COVERS("e.team_id") " AS covered," \
	" " CALLER_MANAGES("e.team_id") " AS manager" \
	" FROM risk_assessment a JOIN episode e ON e.id = a.episode_id" \
	" WHERE a.id = $1::bigint"

/* How long until review: sooner when anything is rated high, then by the
 * episode's level.  From "cur" joined with its site "s". */
#define REVIEW_INTERVAL \
	"CASE WHEN cur.overall_level = 'high' OR EXISTS (SELECT 1 FROM risk_domain d" \
	"   WHERE d.assessment_id = cur.id AND d.level = 'high') THEN s.risk_review_high" \
	" WHEN cur.episode_level IN ('enhanced', 'complex') THEN s.risk_review_enhanced" \
	" ELSE s.risk_review_standard END"

/* Whether a manager must approve: anything high, or an enhanced or complex
 * episode. */
#define NEEDS_MANAGER \
	"(cur.overall_level = 'high' OR EXISTS (SELECT 1 FROM risk_domain d" \
	"   WHERE d.assessment_id = cur.id AND d.level = 'high')" \
	" OR cur.episode_level IN ('enhanced', 'complex'))"

/* The person's approved assessment, superseded when chk's becomes the
 * approved one (run before that UPDATE: one approved per person). */
#define SUPERSEDE(COND) \
	" sup AS (UPDATE risk_assessment p SET status = 'superseded'," \
	"  superseded_at = now(), version = p.version + 1 FROM chk" \
	"  WHERE chk.problem IS NULL AND " COND " AND p.service_user_id = chk.service_user_id" \
	"  AND p.status = 'approved' AND p.id <> chk.id RETURNING p.id, p.site_id)," \
	" sev AS (INSERT INTO risk_event (site_id, assessment_id, kind, by_staff_id)" \
	"  SELECT sup.site_id, sup.id, 'superseded', cpa_user_id() FROM sup RETURNING 1),"

/* $1 assessment. */
static const struct cpa_stmt q_assessment = {
	"risk_assessment",
	"SELECT a.service_user_id, a.site_id, " ASSESSMENT_JSON " AS assessment,"
	" " PERSON_SUMMARY_JSON " AS person, e.team_id,"
	" (SELECT t.name FROM team t WHERE t.id = e.team_id) AS team_name,"
	" " CALLER_COVERS("e.team_id") " AS covered,"
	" " CALLER_MANAGES("e.team_id") " AS manager,"
	" a.author_id = cpa_user_id() AS own"
	" FROM risk_assessment a JOIN episode e ON e.id = a.episode_id"
	" JOIN service_user su ON su.id = a.service_user_id WHERE a.id = $1::bigint",
	1
};

/* $1 person.  history: every assessment of theirs, newest first. */
static const struct cpa_stmt q_person_risk = {
	"risk_person",
	"SELECT su.id AS service_user_id, su.site_id, " PERSON_SUMMARY_JSON " AS person,"
	" (SELECT " ASSESSMENT_JSON " FROM risk_assessment a"
	"   WHERE a.service_user_id = su.id AND a.status = 'approved') AS current,"
	" (SELECT " ASSESSMENT_JSON " FROM risk_assessment a"
	"   WHERE a.service_user_id = su.id"
	"   AND a.status IN ('draft', 'submitted', 'returned')) AS in_progress,"
	" (SELECT coalesce(json_agg(json_build_object('id', a.id, 'status', a.status,"
	"   'overall_level', a.overall_level, 'approved_at', a.approved_at,"
	"   'next_review_due', a.next_review_due, 'author_name', s.display_name)"
	"   ORDER BY a.created_at DESC, a.id DESC), '[]')"
	"   FROM risk_assessment a LEFT JOIN staff s ON s.id = a.author_id"
	"   WHERE a.service_user_id = su.id) AS history,"
	" EXISTS (SELECT 1 FROM episode e JOIN my_team m ON m.team_id = e.team_id"
	"   WHERE e.service_user_id = su.id AND e.ended_at IS NULL"
	"   AND m.role IN " CLINICAL_ROLES_SQL ") AS can_start"
	" FROM service_user su WHERE su.id = $1::bigint",
	1
};

/* $1 person, $2 episode or NULL: then the person's open episode in one of
 * the caller's teams (the latest). */
static const struct cpa_stmt q_create = {
	"risk_create",
	"WITH su AS (SELECT id, site_id FROM service_user WHERE id = $1::bigint),"
	" ep AS (SELECT e.id, e.team_id FROM episode e, su"
	"  WHERE e.service_user_id = su.id AND e.ended_at IS NULL"
	"  AND ($2::bigint IS NULL OR e.id = $2::bigint)"
	"  AND ($2::bigint IS NOT NULL OR e.team_id IN " CALLER_TEAMS ")"
	"  ORDER BY e.started_at DESC, e.id DESC LIMIT 1),"
	" prog AS (SELECT r.id FROM risk_assessment r, su WHERE r.service_user_id = su.id"
	"  AND r.status IN ('draft', 'submitted', 'returned')),"
	" chk AS (SELECT su.id AS service_user_id, su.site_id, ep.id AS episode_id,"
	"  CASE WHEN ep.id IS NULL THEN 'episode'"
	"  WHEN NOT " CALLER_COVERS("ep.team_id") " THEN 'denied'"
	"  WHEN EXISTS (SELECT 1 FROM prog) THEN 'in_progress' END AS problem,"
	"  (SELECT min(prog.id) FROM prog) AS in_progress_id"
	"  FROM su LEFT JOIN ep ON true),"
	" a AS (INSERT INTO risk_assessment (site_id, service_user_id, episode_id, author_id)"
	"  SELECT chk.site_id, chk.service_user_id, chk.episode_id, cpa_user_id() FROM chk"
	"  WHERE chk.problem IS NULL RETURNING id, site_id),"
	" ev AS (INSERT INTO risk_event (site_id, assessment_id, kind, by_staff_id)"
	"  SELECT a.site_id, a.id, 'created', cpa_user_id() FROM a RETURNING 1)"
	" SELECT chk.problem, chk.service_user_id, chk.site_id, chk.in_progress_id,"
	" a.id AS assessment_id, a.id IS NOT NULL AS done"
	" FROM chk LEFT JOIN a ON true",
	2
};

/* $1 assessment, $2 version, $3 the names of the fields given (text[]),
 * $4.. their values in save_columns order, $15 the domains given as a JSON
 * array of {domain, level, history, current_factors, protective_factors}. */
#define SET_IF_GIVEN(COL, N, TYPE) \
	" " COL " = CASE WHEN '" COL "' = ANY ($3::text[]) THEN $" N "::" TYPE \
	" ELSE r." COL " END,"
static const struct cpa_stmt q_save = {
	"risk_save",
	"WITH cur AS (" ASSESSMENT_CURRENT "),"
	" chk AS (SELECT cur.*, CASE WHEN NOT cur.covered THEN 'denied'"
	"  WHEN cur.status NOT IN ('draft', 'returned') THEN 'state'"
	"  WHEN cur.version <> $2::int THEN 'stale' END AS problem FROM cur),"
	" u AS (UPDATE risk_assessment r SET"
	SET_IF_GIVEN("overall_level", "4", "text")
	SET_IF_GIVEN("warning_signs", "5", "text")
	SET_IF_GIVEN("what_helps", "6", "text")
	SET_IF_GIVEN("contacts", "7", "text")
	SET_IF_GIVEN("crisis_numbers", "8", "text")
	SET_IF_GIVEN("means_restriction", "9", "text")
	SET_IF_GIVEN("discussed_with_user", "10", "boolean")
	SET_IF_GIVEN("not_discussed_user_reason", "11", "text")
	SET_IF_GIVEN("discussed_with_carer", "12", "boolean")
	SET_IF_GIVEN("not_discussed_carer_reason", "13", "text")
	SET_IF_GIVEN("user_view", "14", "text")
	"  version = r.version + 1, updated_at = now() FROM chk"
	"  WHERE r.id = chk.id AND chk.problem IS NULL AND r.version = $2::int"
	"  AND r.status IN ('draft', 'returned') RETURNING r.id, r.site_id),"
	" dom AS (INSERT INTO risk_domain (assessment_id, site_id, domain, level, history,"
	"  current_factors, protective_factors) SELECT u.id, u.site_id, x.domain, x.level,"
	"  x.history, x.current_factors, x.protective_factors FROM u,"
	"  json_to_recordset($15::json) AS x(domain text, level text, history text,"
	"  current_factors text, protective_factors text)"
	"  ON CONFLICT (assessment_id, domain) DO UPDATE SET level = EXCLUDED.level,"
	"  history = EXCLUDED.history, current_factors = EXCLUDED.current_factors,"
	"  protective_factors = EXCLUDED.protective_factors RETURNING 1),"
	" ev AS (INSERT INTO risk_event (site_id, assessment_id, kind, by_staff_id)"
	"  SELECT u.site_id, u.id, 'saved', cpa_user_id() FROM u RETURNING 1)"
	" SELECT chk.problem, chk.status, chk.service_user_id, chk.site_id,"
	" u.id IS NOT NULL AS done, (SELECT count(*) FROM dom) AS domains_saved"
	" FROM chk LEFT JOIN u ON true",
	15
};

/* $1 assessment, $2 version.  missing: what submission still needs, named
 * as the answer's errors name them. */
static const struct cpa_stmt q_submit = {
	"risk_submit",
	"WITH cur AS (" ASSESSMENT_CURRENT "),"
	" chk AS (SELECT cur.*, " NEEDS_MANAGER " AS needs,"
	"  (current_date + " REVIEW_INTERVAL ")::date AS review_due,"
	"  ARRAY(SELECT v.f FROM (VALUES"
	"   (1, CASE WHEN r.overall_level IS NULL THEN 'overall_level' END),"
	"   (3, CASE WHEN coalesce(btrim(r.warning_signs), '') = '' THEN 'warning_signs' END),"
	"   (4, CASE WHEN coalesce(btrim(r.what_helps), '') = '' THEN 'what_helps' END),"
	"   (5, CASE WHEN coalesce(btrim(r.crisis_numbers), '') = '' THEN 'crisis_numbers' END),"
	"   (6, CASE WHEN r.discussed_with_user IS NULL THEN 'discussed_with_user' END),"
	"   (7, CASE WHEN r.discussed_with_user = false AND"
	"     coalesce(btrim(r.not_discussed_user_reason), '') = ''"
	"     THEN 'not_discussed_user_reason' END),"
	"   (8, CASE WHEN r.discussed_with_carer IS NULL THEN 'discussed_with_carer' END),"
	"   (9, CASE WHEN r.discussed_with_carer = false AND"
	"     coalesce(btrim(r.not_discussed_carer_reason), '') = ''"
	"     THEN 'not_discussed_carer_reason' END)"
	"   UNION ALL SELECT 2, 'domains.' || x.dn || '.level'"
	"   FROM unnest(" DOMAINS_SQL_ARRAY ") AS x(dn)"
	"   WHERE NOT EXISTS (SELECT 1 FROM risk_domain d WHERE d.assessment_id = cur.id"
	"     AND d.domain = x.dn)) v(o, f) WHERE v.f IS NOT NULL ORDER BY v.o, v.f) AS missing"
	"  FROM cur JOIN risk_assessment r ON r.id = cur.id JOIN site s ON s.id = cur.site_id),"
	" chk2 AS (SELECT chk.*, CASE WHEN NOT chk.covered THEN 'denied'"
	"  WHEN chk.status NOT IN ('draft', 'returned') THEN 'state'"
	"  WHEN chk.version <> $2::int THEN 'stale'"
	"  WHEN cardinality(chk.missing) > 0 THEN 'incomplete' END AS problem FROM chk),"
	" sup AS (UPDATE risk_assessment p SET status = 'superseded',"
	"  superseded_at = now(), version = p.version + 1 FROM chk2"
	"  WHERE chk2.problem IS NULL AND NOT chk2.needs"
	"  AND p.service_user_id = chk2.service_user_id"
	"  AND p.status = 'approved' AND p.id <> chk2.id RETURNING p.id, p.site_id),"
	" sev AS (INSERT INTO risk_event (site_id, assessment_id, kind, by_staff_id)"
	"  SELECT sup.site_id, sup.id, 'superseded', cpa_user_id() FROM sup RETURNING 1),"
	" u AS (UPDATE risk_assessment r SET"
	"  status = CASE WHEN chk2.needs THEN 'submitted' ELSE 'approved' END,"
	"  needs_manager_approval = chk2.needs, submitted_at = now(), decided_by = NULL,"
	"  decided_at = CASE WHEN chk2.needs THEN NULL ELSE now() END,"
	"  approved_at = CASE WHEN chk2.needs THEN NULL ELSE now() END,"
	"  next_review_due = CASE WHEN chk2.needs THEN NULL ELSE chk2.review_due END,"
	"  supersedes_id = CASE WHEN chk2.needs THEN r.supersedes_id"
	"    ELSE (SELECT max(sup.id) FROM sup) END,"
	"  version = r.version + 1, updated_at = now()"
	"  FROM chk2, (SELECT count(*) FROM sup) n"
	"  WHERE r.id = chk2.id AND chk2.problem IS NULL AND r.version = $2::int"
	"  AND r.status IN ('draft', 'returned') RETURNING r.*),"
	" ev AS (INSERT INTO risk_event (site_id, assessment_id, kind, by_staff_id)"
	"  SELECT u.site_id, u.id, k.kind, cpa_user_id() FROM u,"
	"  (VALUES (1, 'submitted'), (2, 'approved')) k(o, kind)"
	"  WHERE k.kind = 'submitted' OR u.status = 'approved' ORDER BY k.o RETURNING 1)"
	" SELECT chk2.problem, chk2.status, chk2.service_user_id, chk2.site_id,"
	" to_json(chk2.missing) AS missing, u.id IS NOT NULL AS done,"
	" 'status ' || u.status AS detail, (SELECT count(*) FROM ev) + (SELECT count(*) FROM sev) AS events"
	" FROM chk2 LEFT JOIN u ON true",
	2
};

/* The checks of a manager's decision, in order. */
#define DECISION_CHECKS \
	"WITH cur AS (" ASSESSMENT_CURRENT ")," \
	" chk AS (SELECT cur.*, (current_date + " REVIEW_INTERVAL ")::date AS review_due," \
	"  CASE WHEN cur.author_id = cpa_user_id() THEN 'own'" \
	"  WHEN NOT cur.manager THEN 'not_manager'" \
	"  WHEN cur.status <> 'submitted' THEN 'state' END AS problem" \
	"  FROM cur JOIN site s ON s.id = cur.site_id),"

/* $1 assessment, $2 comments. */
static const struct cpa_stmt q_approve = {
	"risk_approve",
	DECISION_CHECKS
	SUPERSEDE("true")
	" u AS (UPDATE risk_assessment r SET status = 'approved',"
	"  decided_by = cpa_user_id(), decided_at = now(), approved_at = now(),"
	"  next_review_due = chk.review_due, supersedes_id = (SELECT max(sup.id) FROM sup),"
	"  version = r.version + 1, updated_at = now()"
	"  FROM chk, (SELECT count(*) FROM sup) n"
	"  WHERE r.id = chk.id AND chk.problem IS NULL AND r.status = 'submitted'"
	"  RETURNING r.*),"
	" ev AS (INSERT INTO risk_event (site_id, assessment_id, kind, comments, by_staff_id)"
	"  SELECT u.site_id, u.id, 'approved', $2::text, cpa_user_id() FROM u RETURNING 1)"
	" SELECT chk.problem, chk.status, chk.service_user_id, chk.site_id,"
	" u.id IS NOT NULL AS done, 'next review ' || u.next_review_due AS detail,"
	" (SELECT count(*) FROM ev) + (SELECT count(*) FROM sev) AS events"
	" FROM chk LEFT JOIN u ON true",
	2
};

/* $1 assessment, $2 comments. */
static const struct cpa_stmt q_return = {
	"risk_return",
	DECISION_CHECKS
	" u AS (UPDATE risk_assessment r SET status = 'returned', return_comments = $2::text,"
	"  decided_by = cpa_user_id(), decided_at = now(),"
	"  version = r.version + 1, updated_at = now() FROM chk"
	"  WHERE r.id = chk.id AND chk.problem IS NULL AND r.status = 'submitted'"
	"  RETURNING r.*),"
	" ev AS (INSERT INTO risk_event (site_id, assessment_id, kind, comments, by_staff_id)"
	"  SELECT u.site_id, u.id, 'returned', $2::text, cpa_user_id() FROM u RETURNING 1)"
	" SELECT chk.problem, chk.status, chk.service_user_id, chk.site_id,"
	" u.id IS NOT NULL AS done, NULL::text AS detail, (SELECT count(*) FROM ev) AS events"
	" FROM chk LEFT JOIN u ON true",
	2
};

/* $1 status, NULL for all.  Assessments of the caller's teams, oldest
 * submitted first. */
static const struct cpa_stmt q_queue = {
	"risk_queue",
	"SELECT coalesce(json_agg(json_build_object('id', a.id, 'status', a.status,"
	" 'service_user', " PERSON_SUMMARY_JSON ", 'episode_id', a.episode_id,"
	" 'team_id', e.team_id, 'team_name', t.name, 'author_name', s.display_name,"
	" 'submitted_at', a.submitted_at, 'overall_level', a.overall_level,"
	" 'needs_manager_approval', a.needs_manager_approval)"
	" ORDER BY a.submitted_at NULLS LAST, a.id), '[]') AS assessments"
	" FROM risk_assessment a JOIN episode e ON e.id = a.episode_id"
	" JOIN team t ON t.id = e.team_id"
	" JOIN service_user su ON su.id = a.service_user_id"
	" LEFT JOIN staff s ON s.id = a.author_id"
	" WHERE ($1::text IS NULL OR a.status = $1::text)"
	" AND e.team_id IN " CALLER_TEAMS,
	1
};

/* ------------------------------------------------------------ input */

enum { CR_EPISODE };
static const struct cpa_field create_fields[] = {
	{ "episode_id", "Episode", CPA_FT_ID, 0, 0, 0, NULL },
};

/* The flat fields of a save; a form names a domain's fields
 * <domain>_<field>, JSON puts them under "domains". */
#define DOMAIN_FIELDS(D, L) \
	{ D "_level", L ": level of risk", CPA_FT_ENUM, 0, 0, 0, risk_levels }, \
	{ D "_history", L ": history", CPA_FT_TEXT, 0, 1, 5000, NULL }, \
	{ D "_current_factors", L ": current factors", CPA_FT_TEXT, 0, 1, 5000, NULL }, \
	{ D "_protective_factors", L ": protective factors", CPA_FT_TEXT, 0, 1, 5000, NULL }

enum {
	SV_VERSION, SV_OVERALL, SV_WARNING, SV_HELPS, SV_CONTACTS, SV_CRISIS,
	SV_MEANS, SV_DUSER, SV_DUSER_WHY, SV_DCARER, SV_DCARER_WHY, SV_VIEW,
	SV_DOMAINS
};
#define SV_PER_DOMAIN 4
static const struct cpa_field save_fields[] = {
	{ "version", "Version", CPA_FT_INT, CPA_FF_REQUIRED, 1, INT_MAX, NULL },
	{ "overall_level", "Overall level of risk", CPA_FT_ENUM, 0, 0, 0, risk_levels },
	{ "warning_signs", "Warning signs", CPA_FT_TEXT, 0, 1, 5000, NULL },
	{ "what_helps", "What helps", CPA_FT_TEXT, 0, 1, 5000, NULL },
	{ "contacts", "Contacts", CPA_FT_TEXT, 0, 1, 5000, NULL },
	{ "crisis_numbers", "Crisis numbers", CPA_FT_TEXT, 0, 1, 2000, NULL },
	{ "means_restriction", "Means restriction", CPA_FT_TEXT, 0, 1, 5000, NULL },
	{ "discussed_with_user", "Whether risk was discussed with the person",
	    CPA_FT_BOOL, 0, 0, 0, NULL },
	{ "not_discussed_user_reason", "Why risk was not discussed with the person",
	    CPA_FT_TEXT, 0, 1, 2000, NULL },
	{ "discussed_with_carer", "Whether risk was discussed with the carer",
	    CPA_FT_BOOL, 0, 0, 0, NULL },
	{ "not_discussed_carer_reason", "Why risk was not discussed with the carer",
	    CPA_FT_TEXT, 0, 1, 2000, NULL },
	{ "user_view", "The person's view", CPA_FT_TEXT, 0, 1, 5000, NULL },
	DOMAIN_FIELDS("suicide_self_harm", "Suicide and self-harm"),
	DOMAIN_FIELDS("harm_to_others", "Harm to others"),
	DOMAIN_FIELDS("self_neglect", "Self-neglect"),
	DOMAIN_FIELDS("exploitation_vulnerability", "Exploitation and vulnerability"),
	DOMAIN_FIELDS("substance_misuse", "Substance misuse"),
	DOMAIN_FIELDS("other", "Other risks"),
};

/* The domain sub-fields, in the order of DOMAIN_FIELDS. */
static const char *const domain_parts[SV_PER_DOMAIN] = {
	"level", "history", "current_factors", "protective_factors"
};
static const size_t domain_part_max[SV_PER_DOMAIN] = { 0, 5000, 5000, 5000 };

static const struct cpa_field submit_fields[] = {
	{ "version", "Version", CPA_FT_INT, CPA_FF_REQUIRED, 1, INT_MAX, NULL },
};
static const struct cpa_field approve_fields[] = {
	{ "comments", "Comments", CPA_FT_TEXT, 0, 1, 5000, NULL },
};
static const struct cpa_field return_fields[] = {
	{ "comments", "Comments", CPA_FT_TEXT, CPA_FF_REQUIRED, 1, 5000, NULL },
};
static const struct cpa_field queue_fields[] = {
	{ "status", "Status", CPA_FT_ENUM, 0, 0, 0, status_codes },
};

/* What a statement's "problem" means. */
static const struct cpa_problem problems[] = {
	{ "denied", 403, NULL,
	    "You can only change risk assessments of your own teams' people" },
	{ "own", 403, NULL, "You cannot " },
	{ "not_manager", 403, NULL, "Only a manager of the person's team can " },
	{ "state", 409, NULL, "Cannot " },
	{ "stale", 409, NULL,
	    "Someone else changed this assessment: look at it again and retry" },
	{ "in_progress", 409, NULL,
	    "This person already has a risk assessment in progress" },
	{ "episode", 422, "episode_id",
	    "Select an open episode of this person in one of your teams" },
	{ "incomplete", 422, NULL, "The assessment is not complete" },
};
/* The problems whose message goes on with the change's verb, then this
 * (and for "state" the state). */
static const struct cpa_problem verb_problems[] = {
	{ "own", 0, NULL, " your own assessment" },
	{ "not_manager", 0, NULL, " this assessment" },
	{ "state", 0, NULL, ": the assessment is " },
};

static const struct cpa_problem *
problem_of(const char *code)
{
	return cpa_problem_find(problems, sizeof(problems) / sizeof(problems[0]), code,
	    "stale");
}

/* ------------------------------------------------------------ helpers */

/* A page shows "domains.<d>.<part>" at the input <d>_<part>. */
static const char *
page_field(struct cpa_ctx *ctx, const char *field)
{
	const char *dot;

	if (strncmp(field, "domains.", 8) != 0)
		return field;
	field += 8;
	if ((dot = strchr(field, '.')) == NULL)
		return cpa_sprintf(ctx->arena, "%s_level", field);
	return cpa_sprintf(ctx->arena, "%.*s_%s", (int)(dot - field), field, dot + 1);
}

/* ------------------------------------------------------------ display */

/* The page's view of an assessment: labels, one row per domain with its
 * level choices, what the reader may do. */
static void
assessment_view(json_t *m)
{
	json_t *a = json_object_get(m, "assessment"), *domains, *d, *rows, *row, *choices;
	const char *lv;
	size_t i, k;

	if (!json_is_object(a))
		return;
	domains = json_object_get(a, "domains");
	rows = json_array();
	for (i = 0; domain_codes[i] != NULL; i++) {
		d = json_object_get(domains, domain_codes[i]);
		lv = json_string_value(json_object_get(d, "level"));
		row = json_pack("{s:s,s:s}", "code", domain_codes[i], "label", domain_labels[i]);
		json_object_set(row, "level", lv != NULL ? json_object_get(d, "level") : json_null());
		json_object_set_new(row, "level_label", lv != NULL ?
		    json_string(cpa_label(risk_levels, risk_level_labels, lv)) : json_null());
		for (k = 1; k < SV_PER_DOMAIN; k++) {
			json_t *v = json_object_get(d, domain_parts[k]);

			json_object_set(row, domain_parts[k], v != NULL ? v : json_null());
		}
		choices = json_array();
		for (k = 0; risk_levels[k] != NULL; k++)
			json_array_append_new(choices, json_pack("{s:s,s:s,s:b}", "value",
			    risk_levels[k], "label", risk_level_labels[k], "selected",
			    lv != NULL && strcmp(lv, risk_levels[k]) == 0));
		json_object_set_new(row, "level_choices", choices);
		json_array_append_new(rows, row);
	}
	json_object_set_new(m, "domain_rows", rows);
	lv = json_string_value(json_object_get(a, "overall_level"));
	choices = json_array();
	for (k = 0; risk_levels[k] != NULL; k++)
		json_array_append_new(choices, json_pack("{s:s,s:s,s:b}", "value",
		    risk_levels[k], "label", risk_level_labels[k], "selected",
		    lv != NULL && strcmp(lv, risk_levels[k]) == 0));
	json_object_set_new(m, "overall_choices", choices);
	json_object_set_new(a, "overall_level_label", lv != NULL ?
	    json_string(cpa_label(risk_levels, risk_level_labels, lv)) : json_null());
	json_object_set_new(m, "user_yes", json_boolean(json_is_true(
	    json_object_get(a, "discussed_with_user"))));
	json_object_set_new(m, "user_no", json_boolean(json_is_false(
	    json_object_get(a, "discussed_with_user"))));
	json_object_set_new(m, "carer_yes", json_boolean(json_is_true(
	    json_object_get(a, "discussed_with_carer"))));
	json_object_set_new(m, "carer_no", json_boolean(json_is_false(
	    json_object_get(a, "discussed_with_carer"))));
}

/* Per-domain error messages on the domain rows, where the template finds
 * them. */
static void
assessment_view_errors(json_t *m, const struct cpa_input *in)
{
	json_t *row;
	const char *code, *f;
	size_t i, k, n;

	json_array_foreach(json_object_get(m, "domain_rows"), i, row) {
		code = json_string_value(json_object_get(row, "code"));
		n = strlen(code);
		for (k = 0; k < in->nerrors; k++) {
			f = in->errors[k].field;
			if (strncmp(f, code, n) == 0 && f[n] == '_' &&
			    strcmp(f + n + 1, "level") == 0)
				json_object_set_new(row, "error_level",
				    json_string(in->errors[k].message));
			else if (strncmp(f, code, n) == 0 && f[n] == '_')
				json_object_set_new(row, "error_text",
				    json_string(in->errors[k].message));
		}
	}
}

/* ------------------------------------------------------------ reading */

/* The assessment page's model (for JSON: the answer, {"assessment"}).
 * Queues a "read" audit row when audit is set.  NULL when the response is
 * written (no such assessment at the caller's sites, failure). */
static json_t *
assessment_model(struct cpa_ctx *ctx, long long id, int audit)
{
	const char *param = cpa_id_param(ctx->arena, id), *status;
	json_t *a, *m, *person;
	PGresult *r;
	int own, manager, covered;

	if ((r = cpa_fetch(ctx, &q_assessment, &param, "risk_assessment")) == NULL)
		return NULL;
	if ((a = cpa_db_json(ctx->arena, r, 0, "assessment")) == NULL) {
		cpa_error(ctx, 500, NULL);
		return NULL;
	}
	if (audit)
		cpa_audit(ctx, "read", "risk_assessment", param,
		    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"), NULL);
	m = json_pack("{s:O}", "assessment", a);
	if (ctx->req.wants_json)
		return m;
	person = cpa_db_json(ctx->arena, r, 0, "person");
	json_object_set(m, "person", person != NULL ? person : json_null());
	json_object_set_new(m, "team_name", json_string(cpa_db_get(r, 0, "team_name")));
	status = json_string_value(json_object_get(a, "status"));
	own = cpa_db_flag(r, 0, "own");
	manager = cpa_db_flag(r, 0, "manager");
	covered = cpa_db_flag(r, 0, "covered");
	json_object_set_new(m, "status_label", json_string(status));
	json_object_set_new(m, "can_edit", json_boolean(covered && status != NULL &&
	    (strcmp(status, "draft") == 0 || strcmp(status, "returned") == 0)));
	json_object_set_new(m, "can_decide", json_boolean(manager && !own &&
	    status != NULL && strcmp(status, "submitted") == 0));
	json_object_set_new(m, "title", json_string(cpa_sprintf(ctx->arena,
	    "Risk assessment: %s", cpa_person_name(ctx->arena, person))));
	assessment_view(m);
	return m;
}

int
risk_show(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	json_t *m;

	if (id == 0) {
		cpa_error(ctx, 404, NULL);
		return CPA_OK;
	}
	cpa_db_begin(ctx);
	if ((m = assessment_model(ctx, id, 1)) == NULL)
		return CPA_OK;
	cpa_commit_render(ctx, 200, "risk_assessment", m);
	return CPA_OK;
}

int
risk_person_list(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	const char *param;
	json_t *m, *cur, *prog, *hist, *person;
	PGresult *r;

	if (id == 0) {
		cpa_error(ctx, 404, NULL);
		return CPA_OK;
	}
	param = cpa_id_param(ctx->arena, id);
	cpa_db_begin(ctx);
	if ((r = cpa_fetch(ctx, &q_person_risk, &param, "service_user")) == NULL)
		return CPA_OK;
	cur = cpa_db_json(ctx->arena, r, 0, "current");
	prog = cpa_db_json(ctx->arena, r, 0, "in_progress");
	hist = cpa_db_json(ctx->arena, r, 0, "history");
	cpa_audit(ctx, "read", "risk_assessments", param, id,
	    cpa_db_ll(r, 0, "site_id"), NULL);
	if (cpa_commit_or_fail(ctx, NULL) != CPA_OK)
		return CPA_OK;
	m = json_pack("{s:O,s:O,s:O}", "current", cur != NULL ? cur : json_null(),
	    "in_progress", prog != NULL ? prog : json_null(),
	    "history", hist != NULL ? hist : json_array());
	if (!ctx->req.wants_json) {
		person = cpa_db_json(ctx->arena, r, 0, "person");
		json_object_set(m, "person", person);
		json_object_set_new(m, "can_start", json_boolean(cpa_db_flag(r, 0,
		    "can_start") &&
		    prog == NULL));
		json_object_set_new(m, "title", json_string(cpa_sprintf(ctx->arena,
		    "Risk: %s", cpa_person_name(ctx->arena, person))));
	}
	cpa_render(ctx, 200, "risk_person", m);
	return CPA_OK;
}

int
risk_queue(struct cpa_ctx *ctx)
{
	const char *status = "submitted";
	struct cpa_input in;
	json_t *list;
	PGresult *r;

	if (cpa_input_read(ctx, queue_fields, CPA_NFIELDS(queue_fields), &in) != CPA_OK)
		return CPA_OK;
	if (in.nerrors > 0) {
		cpa_render_invalid(ctx, NULL, NULL, &in);
		return CPA_OK;
	}
	if (in.values[0].present)
		status = strcmp(in.values[0].str, "all") == 0 ? NULL : in.values[0].str;
	cpa_db_begin(ctx);
	if ((r = cpa_db_exec(ctx, &q_queue, &status)) == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	if ((list = cpa_db_json(ctx->arena, r, 0, "assessments")) == NULL) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	cpa_audit(ctx, "read", "risk_queue", NULL, 0, 0,
	    cpa_sprintf(ctx->arena, "status %s", status != NULL ? status : "all"));
	if (cpa_commit_or_fail(ctx, NULL) != CPA_OK)
		return CPA_OK;
	cpa_render(ctx, 200, "risk_queue", json_pack("{s:O,s:s}", "assessments", list,
	    "title", "Risk assessments waiting for approval"));
	return CPA_OK;
}

/* ------------------------------------------------------------ changes */

/* One change to an assessment: its statement, and how the answer and the
 * audit trail name it. */
struct change {
	const char *verb;		/* "submit", in messages */
	const char *action;		/* audit action */
};

static const struct change change_save = { "save", "risk_saved" };
static const struct change change_submit = { "submit", "risk_submitted" };
static const struct change change_approve = { "approve", "risk_approved" };
static const struct change change_return = { "return", "risk_returned" };

/* The assessment page again with in's errors (named as the page's inputs),
 * answered with status. */
static void
assessment_page_invalid(struct cpa_ctx *ctx, long long id, const struct cpa_input *in,
    int status)
{
	struct cpa_input p = *in;
	json_t *m;
	size_t i;

	p.errors = cpa_alloc(ctx->arena, sizeof(*p.errors) * (in->nerrors + 1));
	for (i = 0; i < in->nerrors; i++) {
		p.errors[i].field = page_field(ctx, in->errors[i].field);
		p.errors[i].message = in->errors[i].message;
	}
	cpa_db_rollback(ctx);
	cpa_db_begin(ctx);
	if ((m = assessment_model(ctx, id, 0)) == NULL ||
	    cpa_commit_or_fail(ctx, m) != CPA_OK)
		return;
	assessment_view_errors(m, &p);
	cpa_render_invalid(ctx, "risk_assessment", m, &p);
	ctx->resp.status = status;
}

/* What problem p tells about change c: its message, or for some the
 * message, the change's verb, then more (and for "state" the state). */
static const char *
problem_message(struct cpa_ctx *ctx, const struct change *c,
    const struct cpa_problem *p, const char *state)
{
	const struct cpa_problem *v = cpa_problem_find(verb_problems,
	    sizeof(verb_problems) / sizeof(verb_problems[0]), p->code, NULL);

	if (v == NULL)
		return p->message;
	return cpa_sprintf(ctx->arena, "%s%s%s%s", p->message, c->verb, v->message,
	    strcmp(p->code, "state") == 0 && state != NULL ? state : "");
}

/* Answer a refusal with msg: JSON gets the error (with fields for 422); a
 * page is shown again with the message, unless access was refused. */
static void
refuse(struct cpa_ctx *ctx, long long id, const struct cpa_problem *p,
    const char *msg, struct cpa_input *fields)
{
	struct cpa_input one;

	if (fields != NULL && fields->nerrors > 0) {
		if (ctx->req.wants_json)
			cpa_render_invalid(ctx, NULL, NULL, fields);
		else
			assessment_page_invalid(ctx, id, fields, p->status);
		return;
	}
	if (ctx->req.wants_json || p->status == 403) {
		cpa_error(ctx, p->status, msg);
		return;
	}
	memset(&one, 0, sizeof(one));
	cpa_input_add_error(ctx->arena, &one, p->field != NULL ? p->field : "version",
	    msg);
	assessment_page_invalid(ctx, id, &one, p->status);
}

/* What to tell a person about a field submit found missing (its name as
 * the statement reports it: a save field, or "domains.<domain>.level"),
 * naming the field by its label.  The message lives in the arena. */
static const char *
missing_message(struct cpa_ctx *ctx, const char *name)
{
	const struct cpa_field *f = NULL;
	const char *dot, *label, *colon;
	char key[64];
	size_t i;

	if (strncmp(name, "domains.", 8) == 0 && (dot = strchr(name + 8, '.')) != NULL &&
	    (size_t)(dot - (name + 8)) < sizeof(key) - sizeof("_level")) {
		snprintf(key, sizeof(key), "%.*s_level", (int)(dot - (name + 8)), name + 8);
		name = key;
	}
	for (i = 0; i < CPA_NFIELDS(save_fields); i++)
		if (strcmp(save_fields[i].name, name) == 0)
			f = &save_fields[i];
	if (f == NULL)
		return "Complete this before submitting";
	label = f->label;
	if ((colon = strchr(label, ':')) != NULL)
		return cpa_sprintf(ctx->arena, "Select the level of risk for %.*s",
		    (int)(colon - label), label);
	if (f->type == CPA_FT_ENUM)
		return cpa_sprintf(ctx->arena, "Select the %c%s", tolower((unsigned char)label[0]),
		    label + 1);
	return cpa_sprintf(ctx->arena, "%s %c%s before submitting",
	    f->type == CPA_FT_BOOL ? "Say" : "Enter", tolower((unsigned char)label[0]),
	    label + 1);
}

/* Run a change's statement (params[0] the assessment).  Returns its row
 * when the change was made (the transaction still open), or NULL with the
 * response written. */
static PGresult *
change_run(struct cpa_ctx *ctx, const struct change *c, const struct cpa_stmt *st,
    long long id, const char *const *params)
{
	const struct cpa_problem *p;
	struct cpa_input missing;
	const char *code, *msg;
	json_t *list, *item;
	PGresult *r;
	size_t i;

	if ((r = cpa_run_change(ctx, st, params, "risk_assessment", "stale",
	    &code)) != NULL && code == NULL)
		return r;
	if (code == NULL)
		return NULL;
	p = problem_of(code);
	msg = problem_message(ctx, c, p, r != NULL ? cpa_db_get(r, 0, "status") : NULL);
	if (p->status == 403) {
		cpa_deny(ctx, 403, msg, "risk_assessment", params[0],
		    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"),
		    c->action);
		return NULL;
	}
	memset(&missing, 0, sizeof(missing));
	if (strcmp(code, "incomplete") == 0 &&
	    (list = cpa_db_json(ctx->arena, r, 0, "missing")) != NULL)
		json_array_foreach(list, i, item)
			if (json_is_string(item))
				cpa_input_add_error(ctx->arena, &missing,
				    cpa_strdup(ctx->arena, json_string_value(item)),
				    missing_message(ctx, json_string_value(item)));
	refuse(ctx, id, p, msg, &missing);
	return NULL;
}

/* After a change: audit it, read the assessment back, commit, answer. */
static int
change_finish(struct cpa_ctx *ctx, const struct change *c, long long id, PGresult *r)
{
	const char *param = cpa_id_param(ctx->arena, id);
	json_t *m;

	cpa_audit(ctx, c->action, "risk_assessment", param,
	    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"),
	    cpa_db_get(r, 0, "detail"));
	if (!ctx->req.wants_json) {
		cpa_commit_redirect(ctx, cpa_sprintf(ctx->arena, "/risk-assessments/%lld", id));
		return CPA_OK;
	}
	if ((m = assessment_model(ctx, id, 0)) == NULL)
		return CPA_OK;
	cpa_commit_render(ctx, 200, NULL, m);
	return CPA_OK;
}

int
risk_create(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id"), aid;
	const char *params[2], *code;
	struct cpa_input in;
	const struct cpa_problem *p;
	json_t *m;
	PGresult *r;

	if (cpa_input_read(ctx, create_fields, CPA_NFIELDS(create_fields), &in) != CPA_OK)
		return CPA_OK;
	if (id == 0) {
		cpa_error(ctx, 404, NULL);
		return CPA_OK;
	}
	if (in.nerrors > 0) {
		cpa_render_invalid(ctx, NULL, NULL, &in);
		return CPA_OK;
	}
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = cpa_value_or_null(&in.values[CR_EPISODE]);
	r = cpa_run_change(ctx, &q_create, params, "service_user", "in_progress", &code);
	if (r == NULL) {
		/* A racing start won: its id is not known here. */
		if (code != NULL)
			cpa_error(ctx, 409, problem_of(code)->message);
		return CPA_OK;
	}
	if (code != NULL) {
		p = problem_of(code);
		if (p->status == 403)
			cpa_deny(ctx, 403, p->message, "service_user", params[0], id,
			    cpa_db_ll(r, 0, "site_id"), "risk_created");
		else if (strcmp(p->code, "in_progress") == 0 && !ctx->req.wants_json)
			cpa_redirect(ctx, cpa_sprintf(ctx->arena, "/risk-assessments/%s",
			    cpa_db_get(r, 0, "in_progress_id")));
		else if (strcmp(p->code, "in_progress") == 0)
			cpa_render(ctx, 409, NULL, json_pack("{s:s,s:I}", "error", p->message,
			    "assessment_id", (json_int_t)cpa_db_ll(r, 0, "in_progress_id")));
		else if (p->field != NULL)
			cpa_render_field_error(ctx, p->status, NULL, NULL, p->field, p->message);
		else
			cpa_error(ctx, p->status, p->message);
		return CPA_OK;
	}
	aid = cpa_db_ll(r, 0, "assessment_id");
	cpa_audit(ctx, "risk_created", "risk_assessment", cpa_db_get(r, 0, "assessment_id"),
	    id, cpa_db_ll(r, 0, "site_id"), NULL);
	if (!ctx->req.wants_json) {
		cpa_commit_redirect(ctx, cpa_sprintf(ctx->arena, "/risk-assessments/%lld", aid));
		return CPA_OK;
	}
	if ((m = assessment_model(ctx, aid, 0)) == NULL ||
	    cpa_commit_or_fail(ctx, m) != CPA_OK)
		return CPA_OK;
	cpa_render_created(ctx, cpa_sprintf(ctx->arena,
	    "/api/v1/risk-assessments/%lld", aid), m);
	return CPA_OK;
}

/* Text of a domain part from JSON: NULL when absent or null; *bad set
 * when it is not acceptable text within max characters. */
static const char *
domain_text(const json_t *v, size_t max, int *bad)
{
	const char *s;
	size_t n;

	*bad = 0;
	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*bad = 1;
		return NULL;
	}
	s = json_string_value(v);
	n = json_string_length(v);
	if (!cpa_text_valid(s, n, 1) || cpa_utf8_len(s, n) > max) {
		*bad = 1;
		return NULL;
	}
	return n > 0 ? s : NULL;
}

/* The domains given by a JSON body ("domains": {name: {...}}), as the
 * JSON array q_save takes; errors appended to in. */
static json_t *
domains_from_json(struct cpa_ctx *ctx, const json_t *doc, struct cpa_input *in)
{
	const json_t *domains = json_object_get(doc, "domains"), *d;
	json_t *out = json_array(), *row;
	const char *name, *lv, *s;
	size_t k;
	int bad;

	if (domains == NULL || json_is_null(domains))
		return out;
	if (!json_is_object(domains)) {
		cpa_input_add_error(ctx->arena, in, "domains", "Domains must be an object");
		return out;
	}
	json_object_foreach((json_t *)(uintptr_t)domains, name, d) {
		if (cpa_label(domain_codes, domain_labels, name) == NULL) {
			cpa_input_add_error(ctx->arena, in, cpa_sprintf(ctx->arena,
			    "domains.%s", name), "Unknown risk domain");
			continue;
		}
		if (!json_is_object(d)) {
			cpa_input_add_error(ctx->arena, in, cpa_sprintf(ctx->arena,
			    "domains.%s.level", name), "Select a level of risk for this domain");
			continue;
		}
		lv = json_string_value(json_object_get(d, "level"));
		if (lv == NULL || cpa_label(risk_levels, risk_level_labels, lv) == NULL) {
			cpa_input_add_error(ctx->arena, in, cpa_sprintf(ctx->arena,
			    "domains.%s.level", name),
			    "Select a level of risk: none, low, medium or high");
			continue;
		}
		row = json_pack("{s:s,s:s}", "domain", name, "level", lv);
		for (k = 1; k < SV_PER_DOMAIN; k++) {
			s = domain_text(json_object_get(d, domain_parts[k]), domain_part_max[k], &bad);
			if (bad)
				cpa_input_add_error(ctx->arena, in, cpa_sprintf(ctx->arena,
				    "domains.%s.%s", name, domain_parts[k]), cpa_sprintf(ctx->arena,
				    "Enter text of %zu characters or fewer", domain_part_max[k]));
			json_object_set_new(row, domain_parts[k], s != NULL ? json_string(s) : json_null());
		}
		json_array_append_new(out, row);
	}
	return out;
}

/* The domains given by a form: those whose level or text was filled in. */
static json_t *
domains_from_form(struct cpa_ctx *ctx, struct cpa_input *in)
{
	json_t *out = json_array(), *row;
	const struct cpa_value *v;
	size_t i, k;
	int any;

	for (i = 0; domain_codes[i] != NULL; i++) {
		v = &in->values[SV_DOMAINS + i * SV_PER_DOMAIN];
		for (any = 0, k = 0; k < SV_PER_DOMAIN; k++)
			any |= v[k].present;
		if (!any)
			continue;
		if (!v[0].present) {
			cpa_input_add_error(ctx->arena, in, cpa_sprintf(ctx->arena,
			    "domains.%s.level", domain_codes[i]),
			    "Select a level of risk for this domain");
			continue;
		}
		row = json_pack("{s:s,s:s}", "domain", domain_codes[i], "level", v[0].str);
		for (k = 1; k < SV_PER_DOMAIN; k++)
			json_object_set_new(row, domain_parts[k], v[k].present ?
			    json_string(v[k].str) : json_null());
		json_array_append_new(out, row);
	}
	return out;
}

int
risk_save(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	const char *params[15];
	struct cpa_input in;
	struct cpa_buf given, dbuf;
	json_t *doc = NULL, *domains;
	int is_json = strcmp(ctx->req.content_type, "application/json") == 0, first = 1;
	size_t i;
	PGresult *r;

	if (cpa_input_read(ctx, save_fields, CPA_NFIELDS(save_fields), &in) != CPA_OK)
		return CPA_OK;
	if (id == 0) {
		cpa_error(ctx, 404, NULL);
		return CPA_OK;
	}
	if (is_json) {
		if ((doc = cpa_body_json(ctx)) == NULL)
			return CPA_OK;
		domains = domains_from_json(ctx, doc, &in);
	} else
		domains = domains_from_form(ctx, &in);
	cpa_json_keep(ctx->arena, domains);
	if (cpa_input_refused(ctx, &in, assessment_page_invalid, id))
		return CPA_OK;
	/* A form posts every field (empty ones clear); JSON replaces only
	 * the keys it has. */
	cpa_buf_init(&given, ctx->arena);
	cpa_buf_putc(&given, '{');
	for (i = SV_OVERALL; i < SV_DOMAINS; i++) {
		if (is_json && json_object_get(doc, save_fields[i].name) == NULL)
			continue;
		if (!is_json && !in.values[i].present &&
		    (i == SV_DUSER || i == SV_DCARER))
			continue;
		cpa_buf_printf(&given, "%s%s", first ? "" : ",", save_fields[i].name);
		first = 0;
	}
	cpa_buf_putc(&given, '}');
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = in.values[SV_VERSION].str;
	params[2] = given.data;
	for (i = SV_OVERALL; i < SV_DOMAINS; i++) {
		if (i == SV_DUSER || i == SV_DCARER)
			params[i + 2] = !in.values[i].present ? NULL :
			    in.values[i].num ? "true" : "false";
		else
			params[i + 2] = cpa_value_or_null(&in.values[i]);
	}
	cpa_buf_init(&dbuf, ctx->arena);
	cpa_json_write(&dbuf, domains);
	params[14] = dbuf.data;
	if ((r = change_run(ctx, &change_save, &q_save, id, params)) == NULL)
		return CPA_OK;
	return change_finish(ctx, &change_save, id, r);
}

/* A change whose input is one field, its statement's $2 (submit: the
 * version; approve and return: comments). */
static int
risk_change(struct cpa_ctx *ctx, const struct change *c, const struct cpa_stmt *st,
    const struct cpa_field *fields, size_t nfields)
{
	long long id = cpa_param_id(&ctx->req, "id");
	const char *params[2];
	struct cpa_input in;
	PGresult *r;

	if (cpa_input_read(ctx, fields, nfields, &in) != CPA_OK)
		return CPA_OK;
	if (id == 0) {
		cpa_error(ctx, 404, NULL);
		return CPA_OK;
	}
	if (cpa_input_refused(ctx, &in, assessment_page_invalid, id))
		return CPA_OK;
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = cpa_value_or_null(&in.values[0]);
	if ((r = change_run(ctx, c, st, id, params)) == NULL)
		return CPA_OK;
	return change_finish(ctx, c, id, r);
}

int
risk_submit(struct cpa_ctx *ctx)
{
	return risk_change(ctx, &change_submit, &q_submit, submit_fields,
	    CPA_NFIELDS(submit_fields));
}

int
risk_approve(struct cpa_ctx *ctx)
{
	return risk_change(ctx, &change_approve, &q_approve, approve_fields,
	    CPA_NFIELDS(approve_fields));
}

int
risk_return(struct cpa_ctx *ctx)
{
	return risk_change(ctx, &change_return, &q_return, return_fields,
	    CPA_NFIELDS(return_fields));
}
