/*
 * reviews.c - CPA reviews: a person's review due and those held before it,
 * one review, holding a review (attendees, outcome, the person's
 * experience, the next due date), and the lists of reviews due for a care
 * coordinator and for a manager's teams.
 *
 * The rules that make a review due live in 005_reviews.sql (triggers);
 * holding one is a single statement here: CTEs lock the review and check
 * it, mark it held, open the next one by the site's policy (unless the
 * person is discharged) and apply the outcome to the episode (a new level,
 * or closing it as intake does), so the review, the episode and its
 * history never disagree.  The statement says what was wrong: one
 * "conflict" (403, 409) or the fields at fault (422), and the tables here
 * turn codes into answers.  Row-level security hides other sites' rows
 * (404); reading or writing needs a clinical role covering the episode's
 * team (403, audited).
 */
#include <limits.h>
#include <string.h>

#include "reviews.h"

/* A review as JSON, from a cpa_review row (or a CTE returning one)
 * aliased X. */
#define REVIEW_JSON(X) \
	"json_build_object('id', " X ".id, 'site_id', " X ".site_id," \
	" 'service_user_id', " X ".service_user_id, 'episode_id', " X ".episode_id," \
	" 'status', " X ".status, 'due_date', " X ".due_date," \
	" 'due_reason', " X ".due_reason, 'created_at', " X ".created_at," \
	" 'held_on', " X ".held_on, 'attended_user', " X ".attended_user," \
	" 'attended_carer', " X ".attended_carer," \
	" 'attended_coordinator', " X ".attended_coordinator," \
	" 'attended_others', " X ".attended_others, 'outcome', " X ".outcome," \
	" 'new_level', " X ".new_level, 'notes', " X ".notes," \
	" 'care_plan_version_id', " X ".care_plan_version_id," \
	" 'care_plan_version_number', (SELECT pv.number FROM care_plan_version pv" \
	"   WHERE pv.id = " X ".care_plan_version_id)," \
	" 'next_due_date', " X ".next_due_date, 'exp_involved', " X ".exp_involved," \
	" 'exp_choice', " X ".exp_choice, 'exp_knows_plan', " X ".exp_knows_plan," \
	" 'exp_knows_medication', " X ".exp_knows_medication," \
	" 'exp_knows_complain', " X ".exp_knows_complain," \
	" 'exp_satisfaction', " X ".exp_satisfaction, 'recorded_by', " X ".recorded_by," \
	" 'recorded_by_name', (SELECT rs.display_name FROM staff rs" \
	"   WHERE rs.id = " X ".recorded_by)," \
	" 'recorded_at', " X ".recorded_at, 'cancelled_at', " X ".cancelled_at," \
	" 'version', " X ".version," \
	" 'overdue', " X ".status = 'due' AND " X ".due_date < current_date," \
	" 'days_overdue', CASE WHEN " X ".status = 'due' AND " X ".due_date < current_date" \
	"   THEN current_date - " X ".due_date ELSE 0 END)"

/* The episode a review page speaks of, from an episode row aliased e. */
#define EPISODE_SUMMARY_JSON \
	"json_build_object('id', e.id, 'level', e.level, 'team_id', e.team_id," \
	" 'team_name', (SELECT t.name FROM team t WHERE t.id = e.team_id)," \
	" 'coordinator', (SELECT json_build_object('id', c.id, 'display_name'," \
	"   c.display_name) FROM staff c WHERE c.id = e.coordinator_id)," \
	" 'started_at', e.started_at, 'ended_at', e.ended_at)"

/* $1 review, $2 true: also what the hold form offers (the site's levels,
 * the policy date for each from today, the episode plan's versions). */
static const struct cpa_stmt q_review = {
	"review_show",
	"SELECT r.service_user_id, r.site_id, " REVIEW_JSON("r") " AS review,"
	" " PERSON_SUMMARY_JSON " AS service_user, " EPISODE_SUMMARY_JSON " AS episode,"
	" " CALLER_COVERS("e.team_id") " AS covered,"
	" CASE WHEN $2::boolean THEN json_build_object("
	"  'today', current_date, 'levels', to_json(s.episode_levels),"
	"  'policy_dates', (SELECT json_object_agg(l.level,"
	"     review_due_from(r.site_id, l.level, current_date))"
	"     FROM unnest(s.episode_levels) AS l(level)),"
	"  'current_plan_version_id', (SELECT p.current_version_id FROM care_plan p"
	"     WHERE p.episode_id = e.id),"
	"  'plan_versions', (SELECT coalesce(json_agg(json_build_object('id', v.id,"
	"     'number', v.number, 'created_at', v.created_at) ORDER BY v.number DESC), '[]')"
	"     FROM care_plan_version v JOIN care_plan p ON p.id = v.care_plan_id"
	"     WHERE p.episode_id = e.id))"
	" END AS form"
	" FROM cpa_review r JOIN episode e ON e.id = r.episode_id"
	" JOIN service_user su ON su.id = r.service_user_id JOIN site s ON s.id = r.site_id"
	" WHERE r.id = $1::bigint",
	2
};

/* $1 person, $2 episode or NULL.  The episode is the one named, else the
 * person's episode in a team the caller covers, open before closed, the
 * latest first; a person with episodes only in other teams gets one of
 * those with covered false (403).  No row: no such person at the caller's
 * sites. */
static const struct cpa_stmt q_person = {
	"review_person",
	"WITH su AS (SELECT * FROM service_user WHERE id = $1::bigint),"
	" ep AS (SELECT e.*, " CALLER_COVERS("e.team_id") " AS covered FROM episode e, su"
	"  WHERE e.service_user_id = su.id AND ($2::bigint IS NULL OR e.id = $2::bigint)"
	"  ORDER BY covered DESC, e.ended_at IS NULL DESC, e.started_at DESC, e.id DESC"
	"  LIMIT 1)"
	" SELECT su.id AS service_user_id, su.site_id, " PERSON_SUMMARY_JSON " AS service_user,"
	" e.id AS episode_id, e.id IS NOT NULL AS has_episode, e.covered,"
	" CASE WHEN e.id IS NOT NULL THEN " EPISODE_SUMMARY_JSON " END AS episode,"
	" (SELECT " REVIEW_JSON("r") " FROM cpa_review r WHERE r.episode_id = e.id"
	"   AND r.status = 'due') AS due,"
	" (SELECT coalesce(json_agg(" REVIEW_JSON("r") " ORDER BY r.held_on DESC, r.id DESC),"
	"   '[]') FROM cpa_review r WHERE r.episode_id = e.id AND r.status = 'held') AS held"
	" FROM su LEFT JOIN ep e ON true",
	2
};

/* Holding review $1 in one statement.  $2 version, $3 held_on,
 * $4..$6 attended user, carer, coordinator, $7 others, $8 outcome,
 * $9 new level, $10 end reason, $11 notes, $12 next due date,
 * $13..$17 experience answers, $18 satisfaction, $19 care plan version.
 * The review row is locked, so of two people holding it the second sees
 * the first's result.  The next review is due on $12 or by the site's
 * policy for the level after the review, counted from the day held;
 * review_due_from() is that policy.  The held row's recorded_at = now()
 * tells 005's triggers that the level change or closure here was decided
 * at this review, so they leave the new review where it is.  The new due
 * row is inserted after the old one stopped being due (counting held
 * first), which the one-due-review index needs. */
static const struct cpa_stmt q_hold = {
	"review_hold",
	"WITH cur AS (SELECT r.id, r.site_id, r.service_user_id, r.episode_id, r.status,"
	"  r.version, e.level, e.started_at::date AS started_on,"
	"  e.ended_at IS NOT NULL AS closed, s.episode_levels,"
	"  " CALLER_COVERS("e.team_id") " AS covered,"
	"  EXISTS (SELECT 1 FROM episode_transfer x WHERE x.episode_id = e.id"
	"    AND x.status = 'pending') AS pending,"
	"  (SELECT p.current_version_id FROM care_plan p WHERE p.episode_id = e.id)"
	"    AS plan_version"
	"  FROM cpa_review r JOIN episode e ON e.id = r.episode_id"
	"  JOIN site s ON s.id = r.site_id WHERE r.id = $1::bigint FOR UPDATE OF r),"
	" pol AS (SELECT cur.*, CASE WHEN $8::text = 'change_level' THEN $9::text"
	"  ELSE cur.level END AS level_after FROM cur),"
	" pol2 AS (SELECT pol.*, CASE WHEN $8::text <> 'discharge' THEN"
	"  review_due_from(pol.site_id, pol.level_after, $3::date) END AS policy_date FROM pol),"
	" chk AS (SELECT pol2.*, coalesce($12::date, pol2.policy_date) AS next_date,"
	"  CASE WHEN NOT pol2.covered THEN 'denied' WHEN pol2.status <> 'due' THEN 'state'"
	"  WHEN pol2.version <> $2::int THEN 'stale' WHEN pol2.closed THEN 'closed'"
	"  WHEN $8::text = 'discharge' AND pol2.pending THEN 'pending' END AS conflict,"
	"  ARRAY(SELECT v.f FROM (VALUES"
	"   (1, CASE WHEN $3::date > current_date THEN 'held_on_future'"
	"    WHEN $3::date < pol2.started_on THEN 'held_on_early' END),"
	"   (2, CASE WHEN $8::text <> 'change_level' THEN NULL"
	"    WHEN NOT ($9::text = ANY (pol2.episode_levels)) THEN 'new_level_site'"
	"    WHEN $9::text = pol2.level THEN 'new_level_same' END),"
	"   (3, CASE WHEN $12::date IS NULL THEN NULL"
	"    WHEN $12::date <= $3::date THEN 'next_early'"
	"    WHEN $12::date > pol2.policy_date THEN 'next_policy' END),"
	"   (4, CASE WHEN $19::bigint IS NOT NULL AND NOT EXISTS (SELECT 1"
	"    FROM care_plan_version v JOIN care_plan p ON p.id = v.care_plan_id"
	"    WHERE v.id = $19::bigint AND p.episode_id = pol2.episode_id)"
	"    THEN 'plan_version' END)) v(o, f) WHERE v.f IS NOT NULL ORDER BY v.o) AS invalid"
	"  FROM pol2),"
	" held AS (UPDATE cpa_review r SET status = 'held', held_on = $3::date,"
	"  attended_user = $4::boolean, attended_carer = $5::boolean,"
	"  attended_coordinator = $6::boolean, attended_others = $7::text,"
	"  outcome = $8::text,"
	"  new_level = CASE WHEN $8::text = 'change_level' THEN $9::text END,"
	"  notes = $11::text, care_plan_version_id = coalesce($19::bigint, chk.plan_version),"
	"  next_due_date = CASE WHEN $8::text <> 'discharge' THEN chk.next_date END,"
	"  exp_involved = $13::text, exp_choice = $14::text, exp_knows_plan = $15::text,"
	"  exp_knows_medication = $16::text, exp_knows_complain = $17::text,"
	"  exp_satisfaction = $18::smallint, recorded_by = cpa_user_id(),"
	"  recorded_at = now(), version = r.version + 1"
	"  FROM chk WHERE r.id = chk.id AND chk.conflict IS NULL"
	"  AND cardinality(chk.invalid) = 0 AND r.status = 'due' AND r.version = $2::int"
	"  RETURNING r.*),"
	" nxt AS (INSERT INTO cpa_review (site_id, service_user_id, episode_id, due_date,"
	"  due_reason) SELECT h.site_id, h.service_user_id, h.episode_id, h.next_due_date,"
	"  'policy' FROM held h, (SELECT count(*) FROM held) n"
	"  WHERE h.next_due_date IS NOT NULL RETURNING *),"
	" ep AS (UPDATE episode e SET"
	"  level = CASE WHEN h.outcome = 'change_level' THEN h.new_level ELSE e.level END,"
	"  ended_at = CASE WHEN h.outcome = 'discharge' THEN now() ELSE e.ended_at END,"
	"  end_reason = CASE WHEN h.outcome = 'discharge' THEN $10::text"
	"   ELSE e.end_reason END,"
	"  end_detail = CASE WHEN h.outcome = 'discharge' THEN 'Discharged at the CPA review"
	" held on ' || h.held_on ELSE e.end_detail END,"
	"  version = e.version + 1"
	"  FROM held h WHERE e.id = h.episode_id AND h.outcome IN ('change_level', 'discharge')"
	"  AND e.ended_at IS NULL RETURNING e.*),"
	" ca_end AS (UPDATE coordinator_assignment a SET ended_at = now() FROM ep"
	"  WHERE a.episode_id = ep.id AND ep.ended_at IS NOT NULL AND a.ended_at IS NULL"
	"  RETURNING a.id),"
	" ev AS (INSERT INTO episode_event (site_id, episode_id, kind, from_value, to_value,"
	"  reason, by_staff_id) SELECT ep.site_id, ep.id,"
	"  CASE WHEN ep.ended_at IS NOT NULL THEN 'closed' ELSE 'level_changed' END,"
	"  CASE WHEN ep.ended_at IS NULL THEN chk.level END,"
	"  CASE WHEN ep.ended_at IS NOT NULL THEN ep.end_reason ELSE ep.level END,"
	"  'Decided at the CPA review held on ' || $3::date, cpa_user_id() FROM ep, chk"
	"  RETURNING id)"
	" SELECT chk.conflict, to_json(chk.invalid) AS invalid, chk.status,"
	" chk.service_user_id, chk.site_id, chk.started_on, chk.policy_date, chk.level_after,"
	" h.id IS NOT NULL AS done,"
	" CASE WHEN h.id IS NOT NULL THEN " REVIEW_JSON("h") " END AS review,"
	" (SELECT " REVIEW_JSON("n") " FROM nxt n) AS next,"
	" (SELECT count(*) FROM ev) + (SELECT count(*) FROM ca_end) AS history"
	" FROM chk LEFT JOIN held h ON true",
	19
};

/* The reviews due by current_date + $1 days of open episodes, of the
 * people named by WHERE (a condition on e), soonest first. */
#define REVIEW_LIST(WHERE) \
	"SELECT coalesce(json_agg(json_build_object('id', r.id, 'due_date', r.due_date," \
	" 'due_reason', r.due_reason, 'overdue', r.due_date < current_date," \
	" 'days_overdue', greatest(current_date - r.due_date, 0)," \
	" 'service_user', " PERSON_SUMMARY_JSON ", 'episode_id', e.id, 'level', e.level," \
	" 'team_id', e.team_id, 'team_name', t.name," \
	" 'coordinator', json_build_object('id', e.coordinator_id," \
	"   'display_name', c.display_name))" \
	" ORDER BY r.due_date, su.family_name, su.given_name, r.id), '[]') AS reviews," \
	" count(*) FILTER (WHERE r.due_date < current_date) AS overdue_count" \
	" FROM cpa_review r JOIN episode e ON e.id = r.episode_id" \
	" JOIN service_user su ON su.id = r.service_user_id" \
	" JOIN team t ON t.id = e.team_id LEFT JOIN staff c ON c.id = e.coordinator_id" \
	" WHERE r.status = 'due' AND e.ended_at IS NULL" \
	" AND r.due_date <= current_date + $1::int AND " WHERE

static const struct cpa_stmt q_list_mine = {
	"review_list_mine",
	REVIEW_LIST("e.coordinator_id = cpa_user_id()"),
	1
};

static const struct cpa_stmt q_list_team = {
	"review_list_team",
	REVIEW_LIST("e.team_id IN " CALLER_MANAGED_TEAMS),
	1
};

/* ------------------------------------------------------------ input */

static const char *const outcome_codes[] = {
	"continue", "change_level", "transfer", "discharge", NULL
};
/* The episode's end reasons a review may give; transfers go through
 * intake's transfer, which closes the episode itself. */
static const char *const end_reason_codes[] = {
	"discharged_to_gp", "moved_away", "died", "declined_contact", "other", NULL
};
static const char *const answer_codes[] = { "yes", "partly", "no", "declined", NULL };
static const char *const scope_codes[] = { "mine", "team", NULL };

enum {
	HF_VERSION, HF_HELD_ON, HF_USER, HF_CARER, HF_COORDINATOR, HF_OTHERS,
	HF_OUTCOME, HF_NEW_LEVEL, HF_END_REASON, HF_NOTES, HF_NEXT_DUE,
	HF_INVOLVED, HF_CHOICE, HF_KNOWS_PLAN, HF_KNOWS_MEDICATION,
	HF_KNOWS_COMPLAIN, HF_SATISFACTION, HF_PLAN_VERSION
};
static const struct cpa_field hold_fields[] = {
	{ "version", "Version", CPA_FT_INT, CPA_FF_REQUIRED, 1, INT_MAX, NULL },
	{ "held_on", "Date held", CPA_FT_DATE, CPA_FF_REQUIRED, 0, 0, NULL },
	{ "attended_user", "Whether the person attended", CPA_FT_BOOL,
	    CPA_FF_REQUIRED, 0, 0, NULL },
	{ "attended_carer", "Whether a carer attended", CPA_FT_BOOL,
	    CPA_FF_REQUIRED, 0, 0, NULL },
	{ "attended_coordinator", "Whether the care coordinator attended",
	    CPA_FT_BOOL, CPA_FF_REQUIRED, 0, 0, NULL },
	{ "attended_others", "Others who attended", CPA_FT_TEXT, 0, 1, 1000, NULL },
	{ "outcome", "Outcome", CPA_FT_ENUM, CPA_FF_REQUIRED, 0, 0, outcome_codes },
	{ "new_level", "New level of care", CPA_FT_ENUM, 0, 0, 0, cpa_episode_levels },
	{ "end_reason", "Reason the episode ends", CPA_FT_ENUM, 0, 0, 0,
	    end_reason_codes },
	{ "notes", "Notes", CPA_FT_TEXT, 0, 1, 5000, NULL },
	{ "next_due_date", "Next review date", CPA_FT_DATE, 0, 0, 0, NULL },
	{ "exp_involved", "Felt involved in planning", CPA_FT_ENUM, 0, 0, 0,
	    answer_codes },
	{ "exp_choice", "Had a choice", CPA_FT_ENUM, 0, 0, 0, answer_codes },
	{ "exp_knows_plan", "Knows they have a written plan", CPA_FT_ENUM, 0, 0, 0,
	    answer_codes },
	{ "exp_knows_medication", "Knows about their medication", CPA_FT_ENUM, 0,
	    0, 0, answer_codes },
	{ "exp_knows_complain", "Knows how to complain", CPA_FT_ENUM, 0, 0, 0,
	    answer_codes },
	{ "exp_satisfaction", "Overall satisfaction", CPA_FT_INT, 0, 1, 5, NULL },
	{ "care_plan_version_id", "Care plan version", CPA_FT_ID, 0, 0, 0, NULL },
};

enum { PF_EPISODE };
static const struct cpa_field person_fields[] = {
	{ "episode_id", "Episode", CPA_FT_ID, 0, 0, 0, NULL },
};

enum { LF_SCOPE, LF_WITHIN };
static const struct cpa_field list_fields[] = {
	{ "scope", "Scope", CPA_FT_ENUM, 0, 0, 0, scope_codes },
	{ "within", "Days ahead", CPA_FT_INT, 0, 0, 365, NULL },
};

/* What a refusal means.  field NULL: a conflict (403, 409) answered as a
 * plain error; otherwise a 422 at that field. */
static const struct cpa_problem problems[] = {
	{ "denied", 403, NULL, "You can only record reviews of people in your teams" },
	{ "state", 409, NULL, "Cannot hold: the review is " },
	{ "stale", 409, NULL, "Someone else changed this review: look at it again and retry" },
	{ "closed", 409, NULL, "This episode is closed" },
	{ "pending", 409, NULL, "This episode has a transfer waiting for a decision: "
	    "decide it before discharging" },
	{ "held_on_future", 422, "held_on", "Date held must be today or in the past" },
	{ "held_on_early", 422, "held_on",
	    "Date held must not be before the episode started" },
	{ "new_level_site", 422, "new_level", "Select a level of care this site uses" },
	{ "new_level_same", 422, "new_level", "The episode is already at that level" },
	{ "next_early", 422, "next_due_date", "Next review date must be after the date held" },
	{ "next_policy", 422, "next_due_date", NULL },
	{ "plan_version", 422, "care_plan_version_id",
	    "Select a version of this episode's care plan" },
};

#define NPROBLEMS (sizeof(problems) / sizeof(problems[0]))

static const struct cpa_problem *
problem_of(const char *code)
{
	return cpa_problem_find(problems, NPROBLEMS, code, "stale");
}

/* ------------------------------------------------------------ display */

/* Words for codes, by the key that holds them. */
static const struct label {
	const char *key;
	const char *code;
	const char *text;
} labels[] = {
	{ "level", "standard", "Standard CPA" },
	{ "level", "enhanced", "Enhanced CPA" },
	{ "level", "complex", "CPA (single level)" },
	{ "level", "non_cpa", "Non-CPA" },
	{ "level", "personalised", "Personalised care and support" },
	{ "due_reason", "first", "First review" },
	{ "due_reason", "policy", "Regular review" },
	{ "due_reason", "level_change", "Level of care changed" },
	{ "due_reason", "high_risk", "High risk" },
	{ "due_reason", "crisis", "Crisis" },
	{ "due_reason", "admission", "Admission to hospital" },
	{ "due_reason", "discharge", "Discharge from hospital" },
	{ "due_reason", "requested", "Requested" },
	{ "status", "due", "Due" },
	{ "status", "held", "Held" },
	{ "status", "cancelled", "Cancelled" },
	{ "outcome", "continue", "Continue at the same level" },
	{ "outcome", "change_level", "Change the level of care" },
	{ "outcome", "transfer", "Transfer to another team" },
	{ "outcome", "discharge", "Discharge from the service" },
	{ "end_reason", "discharged_to_gp", "Discharged to GP care" },
	{ "end_reason", "moved_away", "Moved away" },
	{ "end_reason", "died", "Died" },
	{ "end_reason", "declined_contact", "Declined contact" },
	{ "end_reason", "other", "Other" },
	{ "answer", "yes", "Yes" },
	{ "answer", "partly", "Partly" },
	{ "answer", "no", "No" },
	{ "answer", "declined", "Declined to answer" },
};

/* The label table of a JSON key ("new_level" reads as "level", the
 * experience answers as "answer"), or NULL when its values are not codes. */
static const char *
label_table(const char *key)
{
	static const char *const keys[] = { "level", "due_reason", "status",
	    "outcome", "end_reason", NULL };
	size_t i;

	if (strcmp(key, "new_level") == 0)
		return "level";
	if (strncmp(key, "exp_", 4) == 0 && strcmp(key, "exp_satisfaction") != 0)
		return "answer";
	for (i = 0; keys[i] != NULL; i++)
		if (strcmp(keys[i], key) == 0)
			return keys[i];
	return NULL;
}

static const char *
label_of(const char *table, const char *code)
{
	size_t i;

	if (table == NULL || code == NULL)
		return NULL;
	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (strcmp(labels[i].key, table) == 0 && strcmp(labels[i].code, code) == 0)
			return labels[i].text;
	return NULL;
}

/* For HTML only: beside every coded value "<key>_label", beside every date
 * "<key>_text". */
static void
present_member(json_t *add, const char *key, const json_t *value, void *arg)
{
	const char *text;

	if (label_table(key) != NULL) {
		text = label_of(label_table(key), json_string_value(value));
		cpa_json_beside(add, key, "_label", text != NULL ? json_string(text) :
		    json_null());
	}
	cpa_date_words(add, key, value, arg);
}

/* ------------------------------------------------------------ helpers */

static int
value_is(const struct cpa_value *v, const char *s)
{
	return v->present && strcmp(v->str, s) == 0;
}

/* The level's name as a sentence uses it: "the site's policy for
 * enhanced CPA". */
static const char *
level_words(const char *code)
{
	static const struct {
		const char *code;
		const char *words;
	} w[] = {
		{ "standard", "standard CPA" }, { "enhanced", "enhanced CPA" },
		{ "complex", "CPA" }, { "non_cpa", "non-CPA care" },
		{ "personalised", "personalised care" },
	};
	size_t i;

	for (i = 0; code != NULL && i < sizeof(w) / sizeof(w[0]); i++)
		if (strcmp(w[i].code, code) == 0)
			return w[i].words;
	return code != NULL ? code : "this level";
}

/* Whether a (maybe NULL) equals b. */
static int
same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* The value typed for field i, or NULL (no input, or not given). */
static const char *
typed(const struct cpa_input *in, int i)
{
	return in != NULL && in->values[i].present ? in->values[i].str : NULL;
}

/* [{value, label, id, selected}] for codes (labels from table), ids
 * "<name>" for the first and "<name>-<value>" after, so the error summary
 * can link to the group. */
static json_t *
choices(struct cpa_ctx *ctx, const char *name, const char *table,
    const char *const *codes, const char *selected)
{
	json_t *out = json_array();
	size_t i;

	for (i = 0; codes[i] != NULL; i++)
		json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:b}",
		    "value", codes[i], "label", label_of(table, codes[i]) != NULL ?
		    label_of(table, codes[i]) : codes[i],
		    "id", i == 0 ? name : cpa_sprintf(ctx->arena, "%s-%s", name, codes[i]),
		    "selected", same(selected, codes[i])));
	return out;
}

/* ------------------------------------------------------------ one review */

/* The hold form's values: what was typed (in, when shown again), else
 * the defaults: held today, the person and the coordinator there, the
 * outcome "continue", the plan's current version. */
static json_t *
hold_form(struct cpa_ctx *ctx, const json_t *form, const struct cpa_input *in)
{
	static const struct {
		int field;
		const char *question;
	} questions[] = {
		{ HF_INVOLVED, "Did you feel involved in planning your care?" },
		{ HF_CHOICE, "Did you have a choice in the care and support you get?" },
		{ HF_KNOWS_PLAN, "Do you know you have a written care plan?" },
		{ HF_KNOWS_MEDICATION, "Do you know about your medication and what it is for?" },
		{ HF_KNOWS_COMPLAIN, "Do you know how to make a complaint?" },
	};
	static const struct {
		int field;
		const char *label;
		int dflt;
	} attendees[] = {
		{ HF_USER, "The person", 1 },
		{ HF_CARER, "A carer", 0 },
		{ HF_COORDINATOR, "The care coordinator", 1 },
	};
	static const char *const sat_codes[] = { "1", "2", "3", "4", "5", NULL };
	static const char *const sat_labels[] = { "1 (very dissatisfied)", "2", "3",
	    "4", "5 (very satisfied)" };
	const char *v, *outcome, *cur_level;
	json_t *f = json_object(), *list, *c, *item;
	long long plan = 0, chosen = 0;
	size_t i, k;

	v = typed(in, HF_HELD_ON);
	json_object_set_new(f, "held_on", v != NULL ? json_string(v) :
	    json_deep_copy(json_object_get(form, "today")));
	json_object_set_new(f, "attended_others", typed(in, HF_OTHERS) != NULL ?
	    json_string(typed(in, HF_OTHERS)) : json_null());
	json_object_set_new(f, "notes", typed(in, HF_NOTES) != NULL ?
	    json_string(typed(in, HF_NOTES)) : json_null());
	json_object_set_new(f, "next_due_date", typed(in, HF_NEXT_DUE) != NULL ?
	    json_string(typed(in, HF_NEXT_DUE)) : json_null());

	list = json_array();
	for (i = 0; i < sizeof(attendees) / sizeof(attendees[0]); i++) {
		int yes = attendees[i].dflt;
		const char *name = hold_fields[attendees[i].field].name;

		if (in != NULL && in->values[attendees[i].field].present)
			yes = in->values[attendees[i].field].num != 0;
		else if (in != NULL)
			yes = -1;
		json_array_append_new(list, json_pack("{s:s,s:s,s:b,s:b,s:n}", "name", name,
		    "label", attendees[i].label, "yes", yes == 1, "no", yes == 0, "error"));
	}
	json_object_set_new(f, "attendees", list);

	outcome = in != NULL ? typed(in, HF_OUTCOME) : "continue";
	json_object_set_new(f, "outcomes", choices(ctx, "outcome", "outcome",
	    outcome_codes, outcome));

	/* New levels: the site's, but not the episode's own. */
	cur_level = json_string_value(json_object_get(form, "level"));
	list = json_array();
	json_array_foreach(json_object_get(form, "levels"), i, c) {
		const char *code = json_string_value(c);

		if (code == NULL || (cur_level != NULL && strcmp(code, cur_level) == 0))
			continue;
		json_array_append_new(list, json_pack("{s:s,s:s,s:b}", "value", code,
		    "label", label_of("level", code) != NULL ? label_of("level", code) :
		    code, "selected", same(typed(in, HF_NEW_LEVEL), code)));
	}
	json_object_set_new(f, "new_levels", list);
	json_object_set_new(f, "end_reasons", choices(ctx, "end_reason", "end_reason",
	    end_reason_codes, typed(in, HF_END_REASON)));

	list = json_array();
	for (i = 0; i < sizeof(questions) / sizeof(questions[0]); i++) {
		const char *name = hold_fields[questions[i].field].name;

		item = json_pack("{s:s,s:s,s:o,s:n}", "name", name, "question",
		    questions[i].question, "answers", choices(ctx, name, "answer",
		    answer_codes, typed(in, questions[i].field)), "error");
		json_array_append_new(list, item);
	}
	json_object_set_new(f, "questions", list);
	list = json_array();
	for (k = 0; sat_codes[k] != NULL; k++)
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:b}", "value",
		    sat_codes[k], "label", sat_labels[k], "id", k == 0 ?
		    "exp_satisfaction" : cpa_sprintf(ctx->arena, "exp_satisfaction-%s",
		    sat_codes[k]), "selected", same(typed(in, HF_SATISFACTION), sat_codes[k])));
	json_object_set_new(f, "satisfaction", list);

	if (json_is_integer(json_object_get(form, "current_plan_version_id")))
		plan = json_integer_value(json_object_get(form, "current_plan_version_id"));
	chosen = in != NULL ? (in->values[HF_PLAN_VERSION].present ?
	    in->values[HF_PLAN_VERSION].num : 0) : plan;
	list = json_array();
	json_array_foreach(json_object_get(form, "plan_versions"), i, c) {
		long long id = json_integer_value(json_object_get(c, "id"));

		item = json_deep_copy(c);
		json_object_set_new(item, "selected", json_boolean(id == chosen));
		json_object_set_new(item, "current", json_boolean(id == plan));
		json_array_append_new(list, item);
	}
	json_object_set_new(f, "plan_versions", list);
	json_object_set_new(f, "no_plan_version", json_boolean(chosen == 0));
	return f;
}

/* The review page's model (for JSON: the answer, {review, service_user,
 * episode}).  Queues the read audit row when audit is set.  NULL when the
 * response is written: 404 (absent or another site), 403 (a team the
 * caller does not cover, audited). */
static json_t *
review_model(struct cpa_ctx *ctx, long long id, int audit, const struct cpa_input *in)
{
	const char *params[2], *status;
	json_t *m, *review, *form, *episode, *su;
	PGresult *r;

	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = ctx->req.wants_json ? "false" : "true";
	if (id <= 0) {
		cpa_not_found(ctx, "cpa_review", cpa_param(&ctx->req, "id"));
		return NULL;
	}
	if ((r = cpa_fetch(ctx, &q_review, params, "cpa_review")) == NULL)
		return NULL;
	if (!cpa_db_flag(r, 0, "covered")) {
		cpa_deny(ctx, 403, "You can only see reviews of people in your teams",
		    "cpa_review", params[0], cpa_db_ll(r, 0, "service_user_id"),
		    cpa_db_ll(r, 0, "site_id"), "review of a team the caller does not work in");
		return NULL;
	}
	review = cpa_db_json(ctx->arena, r, 0, "review");
	su = cpa_db_json(ctx->arena, r, 0, "service_user");
	episode = cpa_db_json(ctx->arena, r, 0, "episode");
	if (review == NULL || su == NULL || episode == NULL) {
		cpa_error(ctx, 500, NULL);
		return NULL;
	}
	if (audit)
		cpa_audit(ctx, "read", "cpa_review", params[0],
		    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"), NULL);
	m = json_pack("{s:O,s:O,s:O}", "review", review, "service_user", su,
	    "episode", episode);
	if (ctx->req.wants_json)
		return m;
	form = cpa_db_json(ctx->arena, r, 0, "form");
	status = json_string_value(json_object_get(review, "status"));
	if (form != NULL) {
		json_object_set(form, "level", json_object_get(episode, "level"));
		json_object_set_new(m, "form", hold_form(ctx, form, in));
		json_object_set(m, "policy_dates", json_object_get(form, "policy_dates"));
		json_object_set_new(m, "policy_date", json_deep_copy(json_object_get(
		    json_object_get(form, "policy_dates"),
		    json_string_value(json_object_get(episode, "level")))));
	}
	json_object_set_new(m, "can_hold", json_boolean(status != NULL &&
	    strcmp(status, "due") == 0));
	json_object_set_new(m, "title", json_string(cpa_sprintf(ctx->arena,
	    "CPA review: %s", cpa_person_name(ctx->arena, su))));
	cpa_json_annotate(m, present_member, NULL);
	return m;
}

int
review_show(struct cpa_ctx *ctx)
{
	json_t *m;

	cpa_db_begin(ctx);
	if ((m = review_model(ctx, cpa_param_id(&ctx->req, "id"), 1, NULL)) == NULL)
		return CPA_OK;
	cpa_commit_render(ctx, 200, "review_detail", m);
	return CPA_OK;
}

/* ------------------------------------------------------------ a person's */

int
review_person(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	struct cpa_input in;
	json_t *m, *due, *held, *episode, *su;
	PGresult *r;

	if (cpa_query_read(ctx, person_fields, CPA_NFIELDS(person_fields), &in) != CPA_OK)
		return CPA_OK;
	cpa_db_begin(ctx);
	if ((r = cpa_person_page_load(ctx, &q_person, id,
	    cpa_value_or_null(&in.values[PF_EPISODE]), "reviews")) == NULL)
		return CPA_OK;
	su = cpa_db_json(ctx->arena, r, 0, "service_user");
	episode = cpa_db_json(ctx->arena, r, 0, "episode");
	due = cpa_db_json(ctx->arena, r, 0, "due");
	held = cpa_db_json(ctx->arena, r, 0, "held");
	if (su == NULL || episode == NULL || held == NULL) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	cpa_audit(ctx, "read", "cpa_review", NULL, id, cpa_db_ll(r, 0, "site_id"),
	    cpa_sprintf(ctx->arena, "reviews of episode %s: %s due, %zu held",
	    cpa_db_get(r, 0, "episode_id"), due != NULL ? "1" : "none",
	    json_array_size(held)));
	m = json_pack("{s:O,s:O,s:O,s:O}", "due", due != NULL ? due : json_null(),
	    "held", held, "episode", episode, "service_user", su);
	if (!ctx->req.wants_json) {
		json_object_set_new(m, "title", json_string(cpa_sprintf(ctx->arena,
		    "CPA reviews: %s", cpa_person_name(ctx->arena, su))));
		cpa_json_annotate(m, present_member, NULL);
	}
	cpa_commit_render(ctx, 200, "review_person", m);
	return CPA_OK;
}

/* ------------------------------------------------------------ holding */

/* Each radio group in list (items with "name") gets its field's message
 * as "error", for the template to show inside the loop. */
static void
form_errors(json_t *list, const struct cpa_input *in)
{
	const char *name;
	json_t *item;
	size_t i, k;

	json_array_foreach(list, i, item) {
		name = json_string_value(json_object_get(item, "name"));
		for (k = 0; name != NULL && k < in->nerrors; k++)
			if (strcmp(in->errors[k].field, name) == 0)
				json_object_set_new(item, "error",
				    json_string(in->errors[k].message));
	}
}

/* The review page again with in's errors (or one message at held_on for
 * a conflict), answered with status.  Nothing of the refused request is
 * kept; showing the review again is audited as a read. */
static void
review_page_invalid(struct cpa_ctx *ctx, long long id, const struct cpa_input *in,
    int status)
{
	json_t *m;

	cpa_db_rollback(ctx);
	cpa_db_begin(ctx);
	if ((m = review_model(ctx, id, 1, in)) == NULL ||
	    cpa_commit_or_fail(ctx, m) != CPA_OK)
		return;
	form_errors(json_object_get(json_object_get(m, "form"), "attendees"), in);
	form_errors(json_object_get(json_object_get(m, "form"), "questions"), in);
	cpa_render_invalid(ctx, "review_detail", m, in);
	ctx->resp.status = status;
}

/* A conflict: JSON gets {"error"}; the page is shown again with the
 * message, except for 403. */
static void
hold_conflict(struct cpa_ctx *ctx, long long id, struct cpa_input *in, int status,
    const char *message)
{
	struct cpa_input one;

	if (ctx->req.wants_json || status == 403) {
		cpa_db_rollback(ctx);
		cpa_error(ctx, status, message);
		return;
	}
	one = *in;
	one.nerrors = 0;
	cpa_input_add_error(ctx->arena, &one, "held_on", message);
	review_page_invalid(ctx, id, &one, status);
}

/* Checks of the hold's fields that need no database: what the outcome
 * requires, and (from JSON clients) nothing it does not take.  A form
 * posts every control, so there fields the outcome does not use are
 * dropped instead. */
static void
hold_check(struct cpa_ctx *ctx, struct cpa_input *in)
{
	const struct cpa_value *o = &in->values[HF_OUTCOME];
	int change = value_is(o, "change_level"), discharge = value_is(o, "discharge");
	static const struct {
		int field;
		int when;		/* 1 change_level, 2 discharge */
		const char *missing;
		const char *unwanted;
	} rules[] = {
		{ HF_NEW_LEVEL, 1, "Select the new level of care",
		    "Leave out the new level unless the outcome is a change of level" },
		{ HF_END_REASON, 2, "Select the reason the episode ends",
		    "Leave out the reason the episode ends unless the outcome is discharge" },
	};
	size_t i;

	if (!o->present)
		return;
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		int wanted = rules[i].when == 1 ? change : discharge;
		struct cpa_value *v = &in->values[rules[i].field];
		const char *name = hold_fields[rules[i].field].name;

		if (wanted && !v->present && cpa_input_error(in, name) == NULL)
			cpa_input_add_error(ctx->arena, in, name, rules[i].missing);
		else if (!wanted && v->present && ctx->req.wants_json)
			cpa_input_add_error(ctx->arena, in, name, rules[i].unwanted);
		else if (!wanted)
			v->present = 0;
	}
	if (discharge && in->values[HF_NEXT_DUE].present) {
		if (ctx->req.wants_json)
			cpa_input_add_error(ctx->arena, in, "next_due_date",
			    "Leave out the next review date when the person is discharged");
		else
			in->values[HF_NEXT_DUE].present = 0;
	}
}

/* The fields the statement found at fault, as in's errors; the one
 * without a message in the table (next_policy) names the policy's date. */
static void
hold_invalid(struct cpa_ctx *ctx, struct cpa_input *in, const PGresult *r)
{
	size_t i;

	in->nerrors = 0;
	cpa_invalid_add(ctx, in, r, problems, NPROBLEMS);
	for (i = 0; i < in->nerrors; i++)
		if (in->errors[i].message == NULL)
			in->errors[i].message = cpa_sprintf(ctx->arena,
			    "Next review date must be no later than %s, the site's policy for %s",
			    cpa_db_get(r, 0, "policy_date"),
			    level_words(cpa_db_get(r, 0, "level_after")));
}

int
review_hold(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	const char *params[19], *code, *next_due;
	struct cpa_input in;
	json_t *review, *next;
	PGresult *r;
	size_t i;

	if (cpa_input_read(ctx, hold_fields, CPA_NFIELDS(hold_fields), &in) != CPA_OK)
		return CPA_OK;
	if (id == 0) {
		cpa_db_begin(ctx);
		cpa_not_found(ctx, "cpa_review", cpa_param(&ctx->req, "id"));
		return CPA_OK;
	}
	hold_check(ctx, &in);
	if (cpa_input_refused(ctx, &in, review_page_invalid, id))
		return CPA_OK;
	params[0] = cpa_id_param(ctx->arena, id);
	for (i = 0; i < CPA_NFIELDS(hold_fields); i++)
		params[i + 1] = cpa_value_or_null(&in.values[i]);
	cpa_db_begin(ctx);
	r = cpa_db_exec(ctx, &q_hold, params);
	if (r == NULL && ctx->db_rc == CPA_ECONFLICT) {
		hold_conflict(ctx, id, &in, 409, problem_of("stale")->message);
		return CPA_OK;
	}
	if (r == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	if (PQntuples(r) == 0) {
		cpa_not_found(ctx, "cpa_review", params[0]);
		return CPA_OK;
	}
	code = cpa_db_get(r, 0, "conflict");
	if (code != NULL && strcmp(code, "denied") == 0) {
		cpa_deny(ctx, 403, problem_of(code)->message, "cpa_review", params[0],
		    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"),
		    "review_held");
		return CPA_OK;
	}
	if (code != NULL) {
		const struct cpa_problem *p = problem_of(code);

		hold_conflict(ctx, id, &in, p->status, strcmp(code, "state") == 0 ?
		    cpa_sprintf(ctx->arena, "%s%s", p->message, cpa_db_get(r, 0, "status")) :
		    p->message);
		return CPA_OK;
	}
	hold_invalid(ctx, &in, r);
	if (in.nerrors > 0) {
		cpa_db_rollback(ctx);
		cpa_input_refused(ctx, &in, review_page_invalid, id);
		return CPA_OK;
	}
	if (!cpa_db_flag(r, 0, "done")) {
		hold_conflict(ctx, id, &in, 409, problem_of("stale")->message);
		return CPA_OK;
	}
	review = cpa_db_json(ctx->arena, r, 0, "review");
	next = cpa_db_json(ctx->arena, r, 0, "next");
	if (review == NULL) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	next_due = json_string_value(json_object_get(next, "due_date"));
	cpa_audit(ctx, "review_held", "cpa_review", params[0],
	    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"),
	    cpa_sprintf(ctx->arena, "outcome %s; held on %s; %s%s",
	    in.values[HF_OUTCOME].str, in.values[HF_HELD_ON].str,
	    next_due != NULL ? "next review due " : "no review due",
	    next_due != NULL ? next_due : ""));
	if (!ctx->req.wants_json) {
		cpa_commit_redirect(ctx, cpa_sprintf(ctx->arena, "/service-users/%lld/reviews",
		    cpa_db_ll(r, 0, "service_user_id")));
		return CPA_OK;
	}
	cpa_commit_render(ctx, 200, NULL, json_pack("{s:O,s:O}", "review", review,
	    "next", next != NULL ? next : json_null()));
	return CPA_OK;
}

/* ------------------------------------------------------------ lists */

int
review_list(struct cpa_ctx *ctx)
{
	const char *params[1], *scope;
	struct cpa_input in;
	json_t *reviews, *m;
	long long within = 28, overdue;
	int manager;
	PGresult *r;

	if (cpa_query_read(ctx, list_fields, CPA_NFIELDS(list_fields), &in) != CPA_OK)
		return CPA_OK;
	if (in.values[LF_WITHIN].present)
		within = in.values[LF_WITHIN].num;
	cpa_db_begin(ctx);
	if ((scope = cpa_list_scope(ctx, &in.values[LF_SCOPE], "review_list", "reviews",
	    &manager)) == NULL)
		return CPA_OK;
	params[0] = cpa_sprintf(ctx->arena, "%lld", within);
	r = cpa_db_exec(ctx, strcmp(scope, "team") == 0 ? &q_list_team : &q_list_mine,
	    params);
	if (r == NULL || (reviews = cpa_db_json(ctx->arena, r, 0, "reviews")) == NULL) {
		cpa_error_rc(ctx, r == NULL ? ctx->db_rc : CPA_ERR);
		return CPA_OK;
	}
	overdue = cpa_db_ll(r, 0, "overdue_count");
	cpa_audit(ctx, "read", "review_list", NULL, 0, 0, cpa_sprintf(ctx->arena,
	    "scope %s within %lld days: %zu reviews, %lld overdue", scope, within,
	    json_array_size(reviews), overdue));
	m = json_pack("{s:s,s:I,s:O,s:I}", "scope", scope, "within", (json_int_t)within,
	    "reviews", reviews, "overdue_count", (json_int_t)overdue);
	if (!ctx->req.wants_json) {
		cpa_list_page(m, scope, manager, overdue, "Reviews due in your teams",
		    "Your reviews due");
		cpa_json_annotate(m, present_member, NULL);
	}
	cpa_commit_render(ctx, 200, "review_list", m);
	return CPA_OK;
}
