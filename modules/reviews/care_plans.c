/*
 * care_plans.c - written care plans: the plan of a person's episode, its
 * versions (never changed once written; a new one starts as a copy of the
 * one in force), who was given a copy of a version and when, and a
 * version printed in plain language for the person.
 *
 * The episode is the person's open episode in one of the caller's teams
 * (or the one episode_id names).  Row-level security hides other sites'
 * people and plans (404); reading or writing needs a clinical role
 * covering the episode's team (403).  A new version names the plan's
 * version it was based on (optimistic concurrency): the statement that
 * writes it checks that, inserts the version with number = based_on + 1
 * (unique per plan, so of two racing writers one wins) and moves the
 * plan's pointer, all at once.  Every read and change is audited in the
 * same transaction.
 */
#include <limits.h>
#include <string.h>

#include "reviews.h"

/* ------------------------------------------------------------ SQL */

/* A copy of a version as JSON, from care_plan_copy row X. */
#define COPY_JSON(X) \
	"json_build_object('id', " X ".id, 'recipient', " X ".recipient," \
	" 'recipient_name', " X ".recipient_name, 'given_on', " X ".given_on," \
	" 'method', " X ".method, 'recorded_by_name', (SELECT cs.display_name" \
	"   FROM staff cs WHERE cs.id = " X ".recorded_by)," \
	" 'recorded_at', " X ".recorded_at)"

/* A version as JSON, from care_plan_version row "v".  COPIES is the
 * relation holding its copies: the table, or in a statement that has just
 * added one, the table with what its CTE returned. */
#define VERSION_JSON(COPIES) \
	"json_build_object('id', v.id, 'care_plan_id', v.care_plan_id, 'number', v.number," \
	" 'needs_goals', v.needs_goals, 'mental_health', v.mental_health," \
	" 'physical_health', v.physical_health, 'medication', v.medication," \
	" 'medication_info_given', v.medication_info_given," \
	" 'social_care', v.social_care, 'housing', v.housing," \
	" 'employment_education', v.employment_education, 'finances', v.finances," \
	" 'domestic_support', v.domestic_support," \
	" 'professionals_involved', v.professionals_involved," \
	" 'early_warning_signs', v.early_warning_signs," \
	" 'crisis_contingency', v.crisis_contingency," \
	" 'took_part_user', v.took_part_user, 'took_part_carer', v.took_part_carer," \
	" 'took_part_others', v.took_part_others, 'user_agreed', v.user_agreed," \
	" 'user_comments', v.user_comments, 'change_reason', v.change_reason," \
	" 'review_id', v.review_id, 'created_by', v.created_by," \
	" 'created_by_name', (SELECT vs.display_name FROM staff vs" \
	"   WHERE vs.id = v.created_by)," \
	" 'created_at', v.created_at," \
	" 'copies', (SELECT coalesce(json_agg(" COPY_JSON("c") \
	"   ORDER BY c.given_on, c.id), '[]')" \
	"   FROM " COPIES " c WHERE c.care_plan_version_id = v.id))"

/* An episode as the pages show it, from episode row E. */
#define EPISODE_JSON(E) \
	"json_build_object('id', " E ".id, 'level', " E ".level," \
	" 'team_name', (SELECT et.name FROM team et WHERE et.id = " E ".team_id)," \
	" 'coordinator', (SELECT json_build_object('id', ec.id, 'display_name'," \
	"   ec.display_name) FROM staff ec WHERE ec.id = " E ".coordinator_id)," \
	" 'started_at', " E ".started_at, 'ended_at', " E ".ended_at)"

/* The episode the caller means: the one $2 names (open or closed), else
 * the person's open episode in one of the caller's teams (the latest),
 * else an open one of another team, which the checks then refuse. */
#define PLAN_EPISODE \
	EPISODE_PICK("CASE WHEN $2::bigint IS NULL THEN e.ended_at IS NULL" \
	" ELSE e.id = $2::bigint END")

/* The plan of episode "ep" (care_plan row "cp", either may be NULL). */
#define PLAN_JSON \
	"json_build_object('id', cp.id, 'episode_id', ep.id," \
	" 'version', coalesce(cp.version, 0)," \
	" 'current', (SELECT " VERSION_JSON("care_plan_copy") " FROM care_plan_version v" \
	"   WHERE v.id = cp.current_version_id)," \
	" 'versions', (SELECT coalesce(json_agg(json_build_object('id', v.id," \
	"   'number', v.number, 'created_at', v.created_at," \
	"   'created_by_name', s.display_name, 'review_id', v.review_id," \
	"   'user_agreed', v.user_agreed) ORDER BY v.number DESC), '[]')" \
	"   FROM care_plan_version v LEFT JOIN staff s ON s.id = v.created_by" \
	"   WHERE v.care_plan_id = cp.id))"

/* $1 person, $2 episode or NULL.  No row: no such person at the caller's
 * sites.  The plan and the episode only when the caller's team holds
 * the episode. */
static const struct cpa_stmt q_plan = {
	"careplan_plan",
	"WITH ep AS (" PLAN_EPISODE ")"
	" SELECT su.id AS service_user_id, su.site_id, " PERSON_SUMMARY_JSON " AS person,"
	" ep.id AS episode_id, coalesce(ep.covered, false) AS covered,"
	" ep.ended_at IS NOT NULL AS closed, cp.id AS care_plan_id,"
	" CASE WHEN ep.covered THEN " PLAN_JSON " END AS care_plan,"
	" CASE WHEN ep.covered THEN " EPISODE_JSON("ep") " END AS episode"
	" FROM service_user su LEFT JOIN ep ON true"
	" LEFT JOIN care_plan cp ON cp.episode_id = ep.id"
	" WHERE su.id = $1::bigint",
	2
};

/* A section is taken from the request when named in $4 (text[]), else
 * from the version in force ("cur", NULL for a first version). */
#define GIVEN_OR_CURRENT(COL, N, TYPE) \
	" CASE WHEN '" COL "' = ANY ($4::text[]) THEN $" N "::" TYPE " ELSE cur." COL " END,"

/* $1 person, $2 episode or NULL, $3 based_on, $4 the sections given,
 * $5..$16 the text sections in version_fields order, $17
 * medication_info_given, $18 took_part_user, $19 took_part_carer, $20
 * took_part_others, $21 user_agreed, $22 user_comments, $23
 * change_reason, $24 review or NULL.  A first version also creates the
 * plan ("np"), whose pointer the caller then sets (a statement cannot
 * update a row it inserted); a later one moves the pointer here ("bump",
 * guarded by the version again).  done false with no problem: a racing
 * writer won. */
static const struct cpa_stmt q_version_create = {
	"careplan_version_create",
	"WITH ep AS (" PLAN_EPISODE "),"
	" su AS (SELECT su.id, su.site_id FROM service_user su WHERE su.id = $1::bigint),"
	" cp AS (SELECT p.* FROM care_plan p JOIN ep ON p.episode_id = ep.id),"
	" chk AS (SELECT su.id AS service_user_id, su.site_id, ep.id AS episode_id,"
	"  cp.id AS plan_id, cp.current_version_id,"
	"  CASE WHEN ep.id IS NULL AND $2::bigint IS NULL THEN 'no_episode'"
	"  WHEN ep.id IS NULL THEN 'episode'"
	"  WHEN NOT ep.covered THEN 'denied'"
	"  WHEN ep.ended_at IS NOT NULL THEN 'closed'"
	"  WHEN coalesce(cp.version, 0) <> $3::int THEN 'stale'"
	"  WHEN $24::bigint IS NOT NULL AND NOT EXISTS (SELECT 1 FROM cpa_review r"
	"    WHERE r.id = $24::bigint AND r.episode_id = ep.id) THEN 'review' END AS problem"
	"  FROM su LEFT JOIN ep ON true LEFT JOIN cp ON true),"
	" np AS (INSERT INTO care_plan (site_id, service_user_id, episode_id, version)"
	"  SELECT chk.site_id, chk.service_user_id, chk.episode_id, 1 FROM chk"
	"  WHERE chk.problem IS NULL AND chk.plan_id IS NULL"
	"  ON CONFLICT (episode_id) DO NOTHING RETURNING id),"
	" v AS (INSERT INTO care_plan_version (site_id, care_plan_id, number,"
	"  needs_goals, mental_health, physical_health, medication, social_care,"
	"  housing, employment_education, finances, domestic_support,"
	"  professionals_involved, early_warning_signs, crisis_contingency,"
	"  medication_info_given, took_part_user, took_part_carer, took_part_others,"
	"  user_agreed, user_comments, change_reason, review_id, created_by)"
	"  SELECT chk.site_id, coalesce(chk.plan_id, np.id), $3::int + 1,"
	GIVEN_OR_CURRENT("needs_goals", "5", "text")
	GIVEN_OR_CURRENT("mental_health", "6", "text")
	GIVEN_OR_CURRENT("physical_health", "7", "text")
	GIVEN_OR_CURRENT("medication", "8", "text")
	GIVEN_OR_CURRENT("social_care", "9", "text")
	GIVEN_OR_CURRENT("housing", "10", "text")
	GIVEN_OR_CURRENT("employment_education", "11", "text")
	GIVEN_OR_CURRENT("finances", "12", "text")
	GIVEN_OR_CURRENT("domestic_support", "13", "text")
	GIVEN_OR_CURRENT("professionals_involved", "14", "text")
	GIVEN_OR_CURRENT("early_warning_signs", "15", "text")
	GIVEN_OR_CURRENT("crisis_contingency", "16", "text")
	GIVEN_OR_CURRENT("medication_info_given", "17", "boolean")
	"  coalesce($18::boolean, false), coalesce($19::boolean, false), $20::text,"
	"  $21::boolean, $22::text, $23::text, $24::bigint, cpa_user_id()"
	"  FROM chk LEFT JOIN np ON true"
	"  LEFT JOIN care_plan_version cur ON cur.id = chk.current_version_id"
	"  WHERE chk.problem IS NULL AND (chk.plan_id IS NOT NULL OR np.id IS NOT NULL)"
	"  RETURNING *),"
	" bump AS (UPDATE care_plan p SET version = p.version + 1, current_version_id = v.id"
	"  FROM v, chk WHERE p.id = chk.plan_id AND p.version = $3::int RETURNING p.id)"
	" SELECT chk.problem, chk.service_user_id, chk.site_id, chk.episode_id,"
	" v.id AS version_id, v.number, np.id AS new_plan_id,"
	" v.id IS NOT NULL AND (np.id IS NOT NULL OR EXISTS (SELECT 1 FROM bump)) AS done,"
	" CASE WHEN v.id IS NOT NULL THEN " VERSION_JSON("care_plan_copy") " END"
	" AS care_plan_version"
	" FROM chk LEFT JOIN v ON true LEFT JOIN np ON true",
	24
};

/* $1 plan, $2 its first version: sent with COMMIT after a first version. */
static const struct cpa_stmt q_plan_point = {
	"careplan_plan_point",
	"UPDATE care_plan SET current_version_id = $2::bigint"
	" WHERE id = $1::bigint AND current_version_id IS NULL",
	2
};

/* $1 version.  Whether the caller's team holds its episode ("covered"),
 * the version, its plan's state, the person, the episode and the
 * person's current carers (for the copy form). */
static const struct cpa_stmt q_version = {
	"careplan_version",
	"SELECT p.service_user_id, v.site_id, k.covered,"
	" " VERSION_JSON("care_plan_copy") " AS care_plan_version,"
	" json_build_object('id', p.id, 'episode_id', p.episode_id, 'version', p.version,"
	"  'current_version_id', p.current_version_id) AS care_plan,"
	" " PERSON_SUMMARY_JSON " AS person, " EPISODE_JSON("e") " AS episode,"
	" current_date AS today, " CURRENT_CARERS_JSON("p.service_user_id") " AS carers"
	" FROM care_plan_version v JOIN care_plan p ON p.id = v.care_plan_id"
	" JOIN episode e ON e.id = p.episode_id"
	" JOIN service_user su ON su.id = p.service_user_id"
	" CROSS JOIN LATERAL (SELECT " CALLER_COVERS("e.team_id") " AS covered) k"
	" WHERE v.id = $1::bigint",
	1
};

/* $1 version, $2 recipient, $3 recipient_name, $4 given_on, $5 method,
 * $6 carer_link_id or NULL.  A copy is given on a day from the version's
 * making to today.  A named carer must be a current carer of the person
 * who may be given their copy of the plan (carer_may_have_plan: consent
 * covering some part of it): checked here so the
 * refusal names the field; 010's trigger carer_given_plan refuses the same
 * (SQLSTATE CP001, CP002) as a backstop.  The recipient's name defaults
 * to the named carer's. */
static const struct cpa_stmt q_copy_add = {
	"careplan_copy_add",
	"WITH cur AS (SELECT v.id, v.site_id, v.created_at, p.service_user_id,"
	"  " CALLER_COVERS("e.team_id") " AS covered,"
	"  su.given_name || ' ' || su.family_name AS person_name"
	"  FROM care_plan_version v JOIN care_plan p ON p.id = v.care_plan_id"
	"  JOIN episode e ON e.id = p.episode_id"
	"  JOIN service_user su ON su.id = p.service_user_id WHERE v.id = $1::bigint),"
	" cl AS (SELECT l.id, c.given_name || ' ' || c.family_name AS name"
	"  FROM carer_link l JOIN carer c ON c.id = l.carer_id, cur"
	"  WHERE l.id = $6::bigint AND l.service_user_id = cur.service_user_id"
	"  AND l.ended_on IS NULL),"
	" chk AS (SELECT cur.*, cl.name AS carer_name,"
	"  CASE WHEN NOT cur.covered THEN 'denied'"
	"  WHEN $6::bigint IS NOT NULL AND $2::text <> 'carer' THEN 'carer_recipient'"
	"  WHEN $6::bigint IS NOT NULL AND cl.id IS NULL THEN 'carer_link'"
	"  WHEN $6::bigint IS NOT NULL AND NOT carer_may_have_plan(cl.id)"
	"   THEN 'carer_consent'"
	"  WHEN $4::date > current_date THEN 'future'"
	"  WHEN $4::date < cur.created_at::date THEN 'before' END AS problem"
	"  FROM cur LEFT JOIN cl ON true),"
	" nc AS (INSERT INTO care_plan_copy (site_id, care_plan_version_id, recipient,"
	"  recipient_name, given_on, method, recorded_by, carer_link_id)"
	"  SELECT chk.site_id, chk.id, $2::text, coalesce($3::text, chk.carer_name),"
	"  $4::date, $5::text, cpa_user_id(), $6::bigint"
	"  FROM chk WHERE chk.problem IS NULL RETURNING *)"
	" SELECT chk.problem, chk.service_user_id, chk.site_id, chk.person_name,"
	" nc.id AS copy_id,"
	" CASE WHEN nc.id IS NOT NULL THEN " COPY_JSON("nc") " END AS care_plan_copy,"
	" CASE WHEN nc.id IS NOT NULL THEN (SELECT " VERSION_JSON(
	"(SELECT * FROM care_plan_copy UNION ALL SELECT * FROM nc)")
	"  FROM care_plan_version v WHERE v.id = chk.id) END AS care_plan_version"
	" FROM chk LEFT JOIN nc ON true",
	6
};

/* ------------------------------------------------------------ input */

enum {
	VF_BASED_ON, VF_EPISODE, VF_REVIEW,
	VF_SECTIONS,			/* the twelve text sections, in print order */
	VF_MEDICATION = VF_SECTIONS + 3,
	VF_MED_INFO = VF_SECTIONS + 12,
	VF_TOOK_USER, VF_TOOK_CARER, VF_TOOK_OTHERS, VF_AGREED, VF_COMMENTS,
	VF_REASON, VF_COUNT
};

#define SECTION_FIELD(NAME, LABEL) { NAME, LABEL, CPA_FT_TEXT, 0, 1, 5000, NULL }

/* From VF_SECTIONS on, in the order of q_version_create's $5... */
static const struct cpa_field version_fields[] = {
	{ "based_on", "The version the new one is based on", CPA_FT_INT,
	    CPA_FF_REQUIRED, 0, INT_MAX, NULL },
	{ "episode_id", "Episode", CPA_FT_ID, 0, 0, 0, NULL },
	{ "review_id", "Review", CPA_FT_ID, 0, 0, 0, NULL },
	SECTION_FIELD("needs_goals", "Needs and goals, in the person's own words"),
	SECTION_FIELD("mental_health", "Mental health"),
	SECTION_FIELD("physical_health", "Physical health"),
	SECTION_FIELD("medication", "Medication"),
	SECTION_FIELD("social_care", "Social care"),
	SECTION_FIELD("housing", "Housing"),
	SECTION_FIELD("employment_education", "Employment and education"),
	SECTION_FIELD("finances", "Finances"),
	SECTION_FIELD("domestic_support", "Domestic support"),
	SECTION_FIELD("professionals_involved", "Professionals and agencies involved"),
	SECTION_FIELD("early_warning_signs", "Early warning signs"),
	SECTION_FIELD("crisis_contingency", "Crisis and contingency plan"),
	{ "medication_info_given", "Whether information about the medication was given",
	    CPA_FT_BOOL, 0, 0, 0, NULL },
	{ "took_part_user", "Whether the person took part", CPA_FT_BOOL, 0, 0, 0, NULL },
	{ "took_part_carer", "Whether their carer took part", CPA_FT_BOOL, 0, 0, 0, NULL },
	{ "took_part_others", "Others who took part", CPA_FT_TEXT, 0, 1, 1000, NULL },
	{ "user_agreed", "Whether the person agreed", CPA_FT_BOOL, 0, 0, 0, NULL },
	{ "user_comments", "The person's comments", CPA_FT_TEXT, 0, 1, 5000, NULL },
	{ "change_reason", "What changed and why", CPA_FT_TEXT, 0, 1, 2000, NULL },
};
_Static_assert(sizeof(version_fields) / sizeof(version_fields[0]) == VF_COUNT,
    "version_fields and the VF_ indices disagree");

/* The fields a new version takes from the one in force when a JSON body
 * leaves them out: the sections, VF_SECTIONS up to VF_MED_INFO. */
#define IS_SECTION(i) ((i) >= VF_SECTIONS && (i) <= VF_MED_INFO)
/* Answers that may be "not asked": a form's empty choice means NULL. */
#define IS_TRISTATE(i) ((i) == VF_MED_INFO || (i) == VF_AGREED)

/* The text sections as pages show them. */
static const struct section {
	size_t field;			/* in version_fields: column, input and label */
	const char *hint;		/* on the form, or NULL */
	const char *heading;		/* on the printed plan, written to the person */
	int always;			/* printed even when nothing is written */
} sections[] = {
	{ VF_SECTIONS + 0, "What matters to the person and what they want to "
	    "achieve, written as they say it", "What I want to achieve", 1 },
	{ VF_SECTIONS + 1, NULL, "My mental health", 0 },
	{ VF_SECTIONS + 2, NULL, "My physical health", 0 },
	{ VF_SECTIONS + 3, NULL, "My medicines", 0 },
	{ VF_SECTIONS + 4, NULL, "Help and support with daily life", 0 },
	{ VF_SECTIONS + 5, NULL, "Where I live", 0 },
	{ VF_SECTIONS + 6, NULL, "Work, training and education", 0 },
	{ VF_SECTIONS + 7, NULL, "Money", 0 },
	{ VF_SECTIONS + 8, NULL, "Help at home", 0 },
	{ VF_SECTIONS + 9, "Including voluntary and private providers",
	    "People and services who support me", 0 },
	{ VF_SECTIONS + 10, "Signs that the person is becoming unwell, and what "
	    "to do then", "If I start to become unwell", 1 },
	{ VF_SECTIONS + 11, "Who to contact and what happens if the person is "
	    "in crisis", "In a crisis", 1 },
};
_Static_assert(sizeof(sections) / sizeof(sections[0]) == VF_MED_INFO - VF_SECTIONS,
    "one section row per text section");

enum { SF_EPISODE, SF_REVIEW };
static const struct cpa_field show_fields[] = {
	{ "episode_id", "Episode", CPA_FT_ID, 0, 0, 0, NULL },
	{ "review_id", "Review", CPA_FT_ID, 0, 0, 0, NULL },
};

static const char *const recipient_codes[] = {
	"service_user", "carer", "gp", "other", NULL
};
static const char *const recipient_labels[] = {
	"The person", "Their carer", "Their GP", "Someone else", NULL
};
static const char *const method_codes[] = {
	"in_person", "post", "email", "secure_message", NULL
};
static const char *const method_labels[] = {
	"In person", "By post", "By email", "By secure message", NULL
};
/* The same, inside a sentence of the printed plan. */
static const char *const method_words[] = {
	"in person", "by post", "by email", "by secure message", NULL
};

enum { CF_RECIPIENT, CF_CARER, CF_NAME, CF_GIVEN_ON, CF_METHOD };
static const struct cpa_field copy_fields[] = {
	{ "recipient", "Recipient", CPA_FT_ENUM, CPA_FF_REQUIRED, 0, 0, recipient_codes },
	{ "carer_link_id", "Which carer", CPA_FT_ID, 0, 0, 0, NULL },
	{ "recipient_name", "Name", CPA_FT_LINE, 0, 1, 200, NULL },
	{ "given_on", "The date the copy was given", CPA_FT_DATE, CPA_FF_REQUIRED,
	    0, 0, NULL },
	{ "method", "Method", CPA_FT_ENUM, CPA_FF_REQUIRED, 0, 0, method_codes },
};

/* What a statement's "problem" means. */
static const struct cpa_problem problems[] = {
	{ "no_episode", 409, NULL, CPA_NO_EPISODE_MESSAGE },
	{ "episode", 422, "episode_id", "Select an episode of this person" },
	{ "denied", 403, NULL,
	    "You can only see and change care plans of your own teams' people" },
	{ "closed", 409, NULL, "This episode is closed: its care plan cannot change" },
	{ "stale", 409, "based_on",
	    "Someone else has saved a new version of this care plan: check it, "
	    "then save yours again" },
	{ "review", 422, "review_id", "Select a review of this episode" },
	{ "future", 422, "given_on",
	    "The date the copy was given must be today or in the past" },
	{ "before", 422, "given_on",
	    "The date the copy was given must not be before this version was made" },
	{ "carer_recipient", 422, "carer_link_id",
	    "Select \"Their carer\" for a copy given to one of their carers" },
	{ "carer_link", 422, "carer_link_id", "Choose a carer of this person" },
	/* The message names the person: "<Person> has not agreed ..." */
	{ "carer_consent", 422, "carer_link_id",
	    "has not agreed to share their care plan with this carer" },
};

static const struct cpa_problem *
problem_of(const char *code)
{
	return cpa_problem_find(problems, sizeof(problems) / sizeof(problems[0]), code,
	    "stale");
}

/* ------------------------------------------------------------ helpers */


/* "2025-03-27" -> "27 March 2025"; "2025-03-27T14:05..." -> "27 March
 * 2025 14:05" (the database's time zone); JSON null for anything else. */
static json_t *
date_text(const json_t *v)
{
	return cpa_date_text(json_string_value(v), " ");
}

/* Choices for radios: [{value, label, checked, first}]. */
static json_t *
choices(const char *const *codes, const char *const *labels, const char *chosen)
{
	json_t *out = json_array();
	size_t i;

	for (i = 0; codes[i] != NULL; i++)
		json_array_append_new(out, json_pack("{s:s,s:s,s:b,s:b}", "value", codes[i],
		    "label", labels[i], "checked", chosen != NULL &&
		    strcmp(chosen, codes[i]) == 0, "first", i == 0));
	return out;
}

/* Flags for a yes / no / not recorded answer: <prefix>_yes, _no, _unknown. */
static void
tristate(struct cpa_ctx *ctx, json_t *o, const char *prefix, const json_t *v)
{
	json_object_set_new(o, cpa_sprintf(ctx->arena, "%s_yes", prefix),
	    json_boolean(json_is_true(v)));
	json_object_set_new(o, cpa_sprintf(ctx->arena, "%s_no", prefix),
	    json_boolean(json_is_false(v)));
	json_object_set_new(o, cpa_sprintf(ctx->arena, "%s_unknown", prefix),
	    json_boolean(!json_is_boolean(v)));
}

/* For HTML only: the words a page shows beside an episode's codes. */
static void
episode_view(json_t *ep)
{
	const char *lv;

	if (!json_is_object(ep))
		return;
	lv = json_string_value(json_object_get(ep, "level"));
	lv = cpa_label(cpa_episode_levels, cpa_episode_level_labels, lv);
	json_object_set_new(ep, "level_label", lv != NULL ? json_string(lv) : json_null());
	json_object_set_new(ep, "started_at_text",
	    date_text(json_object_get(ep, "started_at")));
}

/* For HTML only: a version (borrowed, changed in place) gets its
 * sections as rows [{code, label, hint, heading, text, shown}], dates in
 * words, flags for its answers and words for its copies. */
static void
version_view(struct cpa_ctx *ctx, json_t *v)
{
	const struct cpa_field *f;
	json_t *rows, *copy, *text, *day;
	const char *rcp, *name, *method, *when;
	size_t i;
	int med;

	if (!json_is_object(v))
		return;
	rows = json_array();
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		f = &version_fields[sections[i].field];
		text = json_object_get(v, f->name);
		med = sections[i].field == VF_MEDICATION;
		json_array_append_new(rows, json_pack("{s:s,s:s,s:s?,s:s,s:O,s:b,s:b}",
		    "code", f->name, "label", f->label, "hint", sections[i].hint,
		    "heading", sections[i].heading, "text", text != NULL ? text : json_null(),
		    "shown", sections[i].always || (json_is_string(text) &&
		    json_string_length(text) > 0) || (med && json_is_boolean(
		    json_object_get(v, "medication_info_given"))), "medication", med));
	}
	json_object_set_new(v, "sections", rows);
	json_object_set_new(v, "created_at_text",
	    date_text(json_object_get(v, "created_at")));
	when = json_string_value(json_object_get(v, "created_at"));
	day = json_stringn(when != NULL ? when : "",
	    when != NULL && strlen(when) >= 10 ? 10 : 0);
	json_object_set_new(v, "created_on_text", date_text(day));
	json_decref(day);
	tristate(ctx, v, "agreed", json_object_get(v, "user_agreed"));
	tristate(ctx, v, "med_info", json_object_get(v, "medication_info_given"));
	json_array_foreach(json_object_get(v, "copies"), i, copy) {
		rcp = json_string_value(json_object_get(copy, "recipient"));
		name = json_string_value(json_object_get(copy, "recipient_name"));
		method = json_string_value(json_object_get(copy, "method"));
		json_object_set_new(copy, "recipient_label", json_string(
		    cpa_label(recipient_codes, recipient_labels, rcp) != NULL ?
		    cpa_label(recipient_codes, recipient_labels, rcp) : ""));
		json_object_set_new(copy, "method_label", json_string(
		    cpa_label(method_codes, method_labels, method) != NULL ?
		    cpa_label(method_codes, method_labels, method) : ""));
		json_object_set_new(copy, "given_on_text",
		    date_text(json_object_get(copy, "given_on")));
		/* The printed plan speaks to the person: "My carer, Ann Lee". */
		when = json_string_value(json_object_get(copy, "given_on_text"));
		if (rcp != NULL && strcmp(rcp, "service_user") == 0)
			name = "Me";
		else if (rcp != NULL && strcmp(rcp, "carer") == 0)
			name = cpa_sprintf(ctx->arena, "My carer, %s",
			    name != NULL ? name : "");
		else if (rcp != NULL && strcmp(rcp, "gp") == 0)
			name = name != NULL ? cpa_sprintf(ctx->arena, "My GP, %s", name) :
			    "My GP";
		json_object_set_new(copy, "print_text", json_string(cpa_sprintf(ctx->arena,
		    "%s: %s, %s", name != NULL ? name : "", when != NULL ? when : "",
		    cpa_label(method_codes, method_words, method) != NULL ?
		    cpa_label(method_codes, method_words, method) : "")));
	}
}

/* The raw value of a form field as typed, or NULL (not a form, or not
 * sent): what a form shown again after a refusal puts back. */
static const char *
typed(struct cpa_ctx *ctx, const char *name)
{
	if (strcmp(ctx->req.content_type, "application/x-www-form-urlencoded") != 0)
		return NULL;
	return cpa_form_lookup(ctx->arena, ctx->req.body, ctx->req.body_len, name);
}

/* A typed yes / no / not recorded answer as JSON true, false or null
 * (borrowed singletons: nothing to release). */
static json_t *
typed_tristate(struct cpa_ctx *ctx, const char *name)
{
	const char *s = typed(ctx, name);

	if (s != NULL && strcmp(s, "true") == 0)
		return json_true();
	if (s != NULL && strcmp(s, "false") == 0)
		return json_false();
	return json_null();
}

/* ------------------------------------------------------------ the plan */

/* Run q_plan for person id and episode (NULL: the open one in the
 * caller's teams).  Returns the row when the caller's team holds the
 * episode, or NULL with the response written: 404 (no such person at the
 * caller's sites), 409 (no open episode), 422 (episode_id not theirs),
 * 403 audited as access_denied with attempt as its detail. */
static PGresult *
plan_load(struct cpa_ctx *ctx, long long id, const char *episode, const char *attempt)
{
	const char *params[2];
	PGresult *r;

	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = episode;
	if (id <= 0) {
		cpa_not_found(ctx, "service_user", cpa_param(&ctx->req, "id"));
		return NULL;
	}
	if ((r = cpa_fetch(ctx, &q_plan, params, "service_user")) == NULL)
		return NULL;
	if (cpa_db_get(r, 0, "episode_id") == NULL) {
		cpa_problem_error(ctx, problem_of(episode == NULL ? "no_episode" : "episode"),
		    NULL);
		return NULL;
	}
	if (!cpa_db_flag(r, 0, "covered")) {
		cpa_deny(ctx, 403, problem_of("denied")->message, "service_user", params[0],
		    id, cpa_db_ll(r, 0, "site_id"), attempt);
		return NULL;
	}
	return r;
}

/* {"care_plan", "service_user"} from a q_plan row, with the read audited
 * (detail says why it was read).  NULL after answering 500. */
static json_t *
plan_model(struct cpa_ctx *ctx, const PGresult *r, const char *detail)
{
	json_t *plan = cpa_db_json(ctx->arena, r, 0, "care_plan");
	json_t *person = cpa_db_json(ctx->arena, r, 0, "person");

	if (plan == NULL || person == NULL) {
		cpa_error(ctx, 500, NULL);
		return NULL;
	}
	cpa_audit(ctx, "read", "care_plan", cpa_db_get(r, 0, "care_plan_id"),
	    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"),
	    cpa_sprintf(ctx->arena, "episode %s%s%s", cpa_db_get(r, 0, "episode_id"),
	    detail != NULL ? ", " : "", detail != NULL ? detail : ""));
	return json_pack("{s:O,s:O}", "care_plan", plan, "service_user", person);
}

/* For HTML only: what the plan page shows besides the answer. */
static void
plan_view(struct cpa_ctx *ctx, const PGresult *r, json_t *m)
{
	json_t *plan = json_object_get(m, "care_plan"), *ep, *item;
	size_t i;

	ep = cpa_db_json(ctx->arena, r, 0, "episode");
	episode_view(ep);
	json_object_set(m, "episode", ep != NULL ? ep : json_null());
	version_view(ctx, json_object_get(plan, "current"));
	json_array_foreach(json_object_get(plan, "versions"), i, item) {
		json_object_set_new(item, "created_at_text",
		    date_text(json_object_get(item, "created_at")));
		tristate(ctx, item, "agreed", json_object_get(item, "user_agreed"));
	}
	json_object_set_new(m, "can_write", json_boolean(!cpa_db_flag(r, 0, "closed")));
	json_object_set_new(m, "title", json_string(cpa_sprintf(ctx->arena,
	    "Care plan: %s", cpa_person_name(ctx->arena, json_object_get(m, "service_user")))));
}

/* For HTML only: the new-version form of the plan page's model m.  With
 * in (a refused post), the values typed; else the version in force. */
static void
form_view(struct cpa_ctx *ctx, json_t *m, const struct cpa_input *in)
{
	json_t *plan = json_object_get(m, "care_plan"), *cur, *rows, *row, *text;
	const struct cpa_field *f;
	const char *s;
	size_t i;

	cur = json_object_get(plan, "current");
	rows = json_array();
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		f = &version_fields[sections[i].field];
		if (in != NULL)
			text = (s = typed(ctx, f->name)) != NULL ? json_string(s) :
			    json_null();
		else if ((text = json_object_get(cur, f->name)) != NULL)
			json_incref(text);
		else
			text = json_null();
		row = json_pack("{s:s,s:s,s:s?,s:o,s:s?,s:b}", "code", f->name,
		    "label", f->label, "hint", sections[i].hint, "text", text,
		    "error", in != NULL ? cpa_input_error(in, f->name) : NULL,
		    "medication", sections[i].field == VF_MEDICATION);
		if (sections[i].field == VF_MEDICATION)
			tristate(ctx, row, "med_info", in != NULL ?
			    typed_tristate(ctx, "medication_info_given") :
			    json_object_get(cur, "medication_info_given"));
		json_array_append_new(rows, row);
	}
	json_object_set_new(m, "rows", rows);
	json_object_set_new(m, "based_on", in != NULL &&
	    (s = typed(ctx, "based_on")) != NULL ? json_string(s) :
	    json_integer(json_integer_value(json_object_get(plan, "version"))));
	json_object_set_new(m, "took_part_user", json_boolean(in != NULL &&
	    in->values[VF_TOOK_USER].present && in->values[VF_TOOK_USER].num));
	json_object_set_new(m, "took_part_carer", json_boolean(in != NULL &&
	    in->values[VF_TOOK_CARER].present && in->values[VF_TOOK_CARER].num));
	json_object_set_new(m, "took_part_others", in != NULL &&
	    (s = typed(ctx, "took_part_others")) != NULL ? json_string(s) : json_null());
	tristate(ctx, m, "agreed", in != NULL ? typed_tristate(ctx, "user_agreed") :
	    json_null());
	json_object_set_new(m, "user_comments", in != NULL &&
	    (s = typed(ctx, "user_comments")) != NULL ? json_string(s) : json_null());
	json_object_set_new(m, "change_reason", in != NULL &&
	    (s = typed(ctx, "change_reason")) != NULL ? json_string(s) : json_null());
	json_object_set_new(m, "title", json_string(cpa_sprintf(ctx->arena, "%s: %s",
	    json_is_object(cur) ? "New version of the care plan" : "Write the care plan",
	    cpa_person_name(ctx->arena, json_object_get(m, "service_user")))));
}

/* The plan page, or with form set the page of its new-version form
 * (refused, 409, once the episode is closed). */
static int
plan_page(struct cpa_ctx *ctx, int form)
{
	long long id = cpa_param_id(&ctx->req, "id");
	struct cpa_input in;
	PGresult *r;
	json_t *m;

	if (cpa_query_read(ctx, show_fields, CPA_NFIELDS(show_fields), &in) != CPA_OK)
		return CPA_OK;
	cpa_db_begin(ctx);
	if ((r = plan_load(ctx, id, cpa_value_or_null(&in.values[SF_EPISODE]),
	    "care_plan read")) == NULL)
		return CPA_OK;
	if (form && cpa_db_flag(r, 0, "closed")) {
		cpa_error(ctx, 409, problem_of("closed")->message);
		return CPA_OK;
	}
	if ((m = plan_model(ctx, r, form ? "new version form" : NULL)) == NULL)
		return CPA_OK;
	if (!ctx->req.wants_json)
		plan_view(ctx, r, m);
	if (!ctx->req.wants_json && form) {
		form_view(ctx, m, NULL);
		json_object_set_new(m, "review_id", in.values[SF_REVIEW].present ?
		    json_integer(in.values[SF_REVIEW].num) : json_null());
	}
	cpa_commit_render(ctx, 200, form ? "careplan_new" : "careplan_show", m);
	return CPA_OK;
}

int
careplan_show(struct cpa_ctx *ctx)
{
	return plan_page(ctx, 0);
}

int
careplan_new_page(struct cpa_ctx *ctx)
{
	return plan_page(ctx, 1);
}

/* ------------------------------------------------------------ new version */

/* Read a new version's input into in.  A JSON body may nest the sections
 * in a "sections" object; they are moved to the top level before the
 * fields are read, and the flat document is left in *doc (kept by the
 * arena; NULL for a form) to tell which fields were given.  Returns
 * CPA_OK, or the status already answered. */
static int
version_input(struct cpa_ctx *ctx, struct cpa_input *in, json_t **doc)
{
	struct cpa_request flat;
	struct cpa_input extra;
	struct cpa_buf b;
	json_t *d, *nested, *val;
	const char *key;
	size_t i;
	int rc;

	*doc = NULL;
	if ((rc = cpa_input_read(ctx, version_fields, VF_COUNT, in)) != CPA_OK ||
	    strcmp(ctx->req.content_type, "application/json") != 0)
		return rc;
	if ((d = cpa_body_json(ctx)) == NULL)
		return 400;
	*doc = d;
	nested = json_object_get(d, "sections");
	if (nested == NULL || json_is_null(nested))
		return CPA_OK;
	if (!json_is_object(nested)) {
		cpa_input_add_error(ctx->arena, in, "sections",
		    "Sections must be an object");
		return CPA_OK;
	}
	memset(&extra, 0, sizeof(extra));
	json_object_foreach(nested, key, val) {
		for (i = VF_SECTIONS; i <= VF_MED_INFO; i++)
			if (strcmp(version_fields[i].name, key) == 0)
				break;
		if (i > VF_MED_INFO)
			cpa_input_add_error(ctx->arena, &extra, cpa_sprintf(ctx->arena,
			    "sections.%s", key), "Not a section of a care plan");
		else if (json_object_get(d, key) != NULL)
			cpa_input_add_error(ctx->arena, &extra, version_fields[i].name,
			    "Given twice: at the top level and in sections");
		else
			json_object_set(d, key, val);
	}
	json_object_del(d, "sections");
	cpa_buf_init(&b, ctx->arena);
	cpa_json_write(&b, d);
	flat = ctx->req;
	flat.body = b.data;
	flat.body_len = b.len;
	rc = cpa_input_parse(ctx->arena, &flat, version_fields, VF_COUNT, in);
	if (rc != CPA_OK) {
		cpa_error(ctx, rc, NULL);
		return rc;
	}
	for (i = 0; i < extra.nerrors; i++)
		cpa_input_add_error(ctx->arena, in, extra.errors[i].field,
		    extra.errors[i].message);
	return CPA_OK;
}

/* The value of field i as q_version_create's parameter.  A form's
 * empty choice for a yes / no answer is "not recorded" (NULL), not no. */
static const char *
version_param(struct cpa_ctx *ctx, const struct cpa_input *in, size_t i, int form)
{
	const char *s;

	if (form && IS_TRISTATE(i) && ((s = typed(ctx, version_fields[i].name)) == NULL ||
	    *s == '\0'))
		return NULL;
	return cpa_value_or_null(&in->values[i]);
}

/* The form of a refused post shown again with what was typed and in's
 * errors, answered with status; after a conflict (stale) based on the
 * version now in force. */
static void
version_form_again(struct cpa_ctx *ctx, long long id, const struct cpa_input *in,
    int status, int stale)
{
	json_t *m;
	PGresult *r;

	cpa_db_rollback(ctx);
	cpa_db_begin(ctx);
	if ((r = plan_load(ctx, id, cpa_value_or_null(&in->values[VF_EPISODE]),
	    "care_plan_version_created")) == NULL)
		return;
	if ((m = plan_model(ctx, r, stale ? "conflict" : "form shown again")) == NULL)
		return;
	plan_view(ctx, r, m);
	form_view(ctx, m, in);
	json_object_set_new(m, "review_id", in->values[VF_REVIEW].present ?
	    json_integer(in->values[VF_REVIEW].num) : json_null());
	if (stale)
		json_object_set(m, "based_on", json_object_get(json_object_get(m,
		    "care_plan"), "version"));
	if (cpa_commit_or_fail(ctx, m) != CPA_OK)
		return;
	cpa_render_invalid(ctx, "careplan_new", m, in);
	ctx->resp.status = status;
}

/* A new version refused: JSON gets the error (the current plan for a
 * conflict, the fields for 422); a page gets the form again, unless the
 * refusal leaves nothing to show it for. */
static void
version_refuse(struct cpa_ctx *ctx, long long id, const struct cpa_input *in,
    const PGresult *r, const char *code)
{
	const struct cpa_problem *p = problem_of(code);
	struct cpa_input one;
	json_t *m;
	PGresult *cur;

	if (p->status == 403) {
		cpa_deny(ctx, 403, p->message, "service_user", cpa_id_param(ctx->arena, id),
		    id, cpa_db_ll(r, 0, "site_id"), "care_plan_version_created");
		return;
	}
	if (p->field == NULL || (!ctx->req.wants_json && strcmp(code, "episode") == 0)) {
		cpa_error(ctx, p->status, p->message);
		return;
	}
	one = *in;
	one.errors = NULL;
	one.nerrors = 0;
	cpa_input_add_error(ctx->arena, &one, p->field, p->message);
	if (!ctx->req.wants_json) {
		version_form_again(ctx, id, &one, p->status, strcmp(code, "stale") == 0);
		return;
	}
	if (strcmp(code, "stale") != 0) {
		cpa_problem_error(ctx, p, NULL);
		return;
	}
	/* A conflict: nothing was written; answer with the plan as it is. */
	cpa_db_rollback(ctx);
	cpa_db_begin(ctx);
	if ((cur = plan_load(ctx, id, cpa_value_or_null(&in->values[VF_EPISODE]),
	    "care_plan_version_created")) == NULL)
		return;
	if ((m = plan_model(ctx, cur, "conflict")) == NULL)
		return;
	json_object_del(m, "service_user");
	json_object_set_new(m, "error", json_string(p->message));
	json_object_set_new(m, "errors", json_pack("{s:s}", p->field, p->message));
	cpa_commit_render(ctx, p->status, NULL, m);
}

int
careplan_version_create(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	const char *params[24], *code, *vid, *np;
	struct cpa_input in;
	struct cpa_buf given;
	json_t *doc, *v;
	PGresult *r;
	size_t i;

	if (version_input(ctx, &in, &doc) != CPA_OK)
		return CPA_OK;
	if (id == 0) {
		cpa_error(ctx, 404, NULL);
		return CPA_OK;
	}
	if (in.nerrors > 0) {
		if (ctx->req.wants_json)
			cpa_render_invalid(ctx, NULL, NULL, &in);
		else
			version_form_again(ctx, id, &in, 422, 0);
		return CPA_OK;
	}
	/* A form posts every section (an empty one clears it); JSON only
	 * those it names, the others come from the version in force. */
	cpa_buf_init(&given, ctx->arena);
	cpa_buf_putc(&given, '{');
	for (i = VF_SECTIONS; i <= VF_MED_INFO; i++)
		if (doc == NULL || json_object_get(doc, version_fields[i].name) != NULL)
			cpa_buf_printf(&given, "%s%s", given.len > 1 ? "," : "",
			    version_fields[i].name);
	cpa_buf_putc(&given, '}');
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = cpa_value_or_null(&in.values[VF_EPISODE]);
	params[2] = in.values[VF_BASED_ON].str;
	params[3] = given.data;
	for (i = VF_SECTIONS; i < VF_COUNT; i++)
		params[4 + i - VF_SECTIONS] = version_param(ctx, &in, i, doc == NULL);
	params[4 + VF_COUNT - VF_SECTIONS] = cpa_value_or_null(&in.values[VF_REVIEW]);

	r = cpa_run_change(ctx, &q_version_create, params, "service_user", "stale", &code);
	if (code != NULL) {
		version_refuse(ctx, id, &in, r, code);
		return CPA_OK;
	}
	if (r == NULL)
		return CPA_OK;
	vid = cpa_db_get(r, 0, "version_id");
	if ((np = cpa_db_get(r, 0, "new_plan_id")) != NULL) {
		const char *point[2] = { np, vid };

		cpa_db_queue(ctx, &q_plan_point, point);
	}
	cpa_audit(ctx, "care_plan_version_created", "care_plan_version", vid, id,
	    cpa_db_ll(r, 0, "site_id"), cpa_sprintf(ctx->arena, "episode %s, number %s",
	    cpa_db_get(r, 0, "episode_id"), cpa_db_get(r, 0, "number")));
	if (!ctx->req.wants_json) {
		cpa_commit_redirect(ctx, cpa_sprintf(ctx->arena, "/care-plan-versions/%s",
		    vid));
		return CPA_OK;
	}
	if ((v = cpa_db_json(ctx->arena, r, 0, "care_plan_version")) == NULL) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	if (cpa_commit_or_fail(ctx, NULL) != CPA_OK)
		return CPA_OK;
	cpa_render_created(ctx, cpa_sprintf(ctx->arena, "/api/v1/care-plan-versions/%s", vid),
	    json_pack("{s:O}", "care_plan_version", v));
	return CPA_OK;
}

/* ------------------------------------------------------------ one version */

/* "9434765919" -> "943 476 5919"; anything else as it is. */
static json_t *
nhs_text(struct cpa_ctx *ctx, const json_t *v)
{
	const char *s = json_string_value(v);

	if (s == NULL)
		return json_null();
	if (strlen(s) != 10 || strspn(s, "0123456789") != 10)
		return json_string(s);
	return json_string(cpa_sprintf(ctx->arena, "%.3s %.3s %.4s", s, s + 3, s + 6));
}

/* The copy form's choice of the person's current carers (carers, a
 * CURRENT_CARERS_JSON array): [{value, label, selected}], the one whose
 * link id is chosen (typed text, may be NULL) selected; a carer the
 * person has not agreed to share the care plan with is marked so. */
static json_t *
carer_choices(struct cpa_ctx *ctx, const json_t *carers, const char *chosen)
{
	json_t *out = json_array(), *c;
	const char *rel;
	long long link, want = 0;
	size_t i;

	if (chosen != NULL && cpa_parse_ll(chosen, 1, LLONG_MAX, &want) != CPA_OK)
		want = 0;
	json_array_foreach(carers, i, c) {
		link = json_integer_value(json_object_get(c, "carer_link_id"));
		rel = cpa_label(cpa_carer_relationships, cpa_carer_relationship_labels,
		    json_string_value(json_object_get(c, "relationship")));
		json_array_append_new(out, json_pack("{s:I,s:s,s:b}", "value",
		    (json_int_t)link, "label", cpa_sprintf(ctx->arena, "%s (%s)%s",
		    json_string_value(json_object_get(c, "name")) != NULL ?
		    json_string_value(json_object_get(c, "name")) : "",
		    rel != NULL ? rel : "carer",
		    json_is_true(json_object_get(c, "may_have_plan")) ? "" :
		    ": has not agreed to share the care plan"), "selected", link == want));
	}
	return out;
}

/* For HTML only: the version page's title and copy form, with what was
 * typed (in: a refused post) or the defaults (the person, today, in
 * person). */
static void
copy_form_view(struct cpa_ctx *ctx, json_t *m, const char *today,
    const struct cpa_input *in)
{
	const char *rcp = in != NULL ? typed(ctx, "recipient") : "service_user";
	const char *method = in != NULL ? typed(ctx, "method") : "in_person";
	const char *name = in != NULL ? typed(ctx, "recipient_name") : NULL;
	const char *given = in != NULL ? typed(ctx, "given_on") : today;

	json_object_set_new(m, "recipient_choices", choices(recipient_codes,
	    recipient_labels, rcp));
	json_object_set_new(m, "carer_choices", carer_choices(ctx,
	    json_object_get(m, "carers"), in != NULL ? typed(ctx, "carer_link_id") : NULL));
	json_object_set_new(m, "method_choices", choices(method_codes, method_labels,
	    method));
	json_object_set_new(m, "copy_form", json_pack("{s:s?,s:s?}",
	    "recipient_name", name, "given_on", given));
	json_object_set_new(m, "title", json_string(cpa_sprintf(ctx->arena,
	    "Care plan version %lld: %s", (long long)json_integer_value(
	    json_object_get(json_object_get(m, "care_plan_version"), "number")),
	    cpa_person_name(ctx->arena, json_object_get(m, "service_user")))));
}

/* The model of version id: {care_plan_version, care_plan, service_user}
 * and, for HTML, what its pages show besides.  The read is audited with
 * detail.  NULL with the response written when the version is not at the
 * caller's sites (404) or its episode not in their teams (403). */
static json_t *
version_model(struct cpa_ctx *ctx, long long id, const char *detail)
{
	const char *param = cpa_id_param(ctx->arena, id);
	json_t *v, *plan, *person, *ep, *m, *carers;
	long long su, site;
	PGresult *r;

	if ((r = cpa_fetch_one(ctx, &q_version, id, "care_plan_version")) == NULL)
		return NULL;
	su = cpa_db_ll(r, 0, "service_user_id");
	site = cpa_db_ll(r, 0, "site_id");
	if (!cpa_db_flag(r, 0, "covered")) {
		cpa_deny(ctx, 403, problem_of("denied")->message, "care_plan_version", param,
		    su, site, detail);
		return NULL;
	}
	v = cpa_db_json(ctx->arena, r, 0, "care_plan_version");
	plan = cpa_db_json(ctx->arena, r, 0, "care_plan");
	person = cpa_db_json(ctx->arena, r, 0, "person");
	ep = cpa_db_json(ctx->arena, r, 0, "episode");
	if (v == NULL || plan == NULL || person == NULL || ep == NULL) {
		cpa_error(ctx, 500, NULL);
		return NULL;
	}
	cpa_audit(ctx, "read", "care_plan_version", param, su, site, detail);
	m = json_pack("{s:O,s:O,s:O}", "care_plan_version", v, "care_plan", plan,
	    "service_user", person);
	if (ctx->req.wants_json)
		return m;
	episode_view(ep);
	version_view(ctx, v);
	json_object_set(m, "episode", ep);
	json_object_set_new(m, "is_current", json_boolean(json_integer_value(
	    json_object_get(plan, "current_version_id")) == id));
	json_object_set_new(m, "display", json_pack("{s:o,s:o}",
	    "born_on", date_text(json_object_get(person, "date_of_birth")),
	    "nhs_number", nhs_text(ctx, json_object_get(person, "nhs_number"))));
	json_object_set_new(m, "today", json_string(cpa_db_get(r, 0, "today")));
	carers = cpa_db_json(ctx->arena, r, 0, "carers");
	json_object_set_new(m, "carers", carers != NULL ? json_incref(carers) : json_array());
	return m;
}

/* A version's page, or with print set the plan printed for the person. */
static int
version_page(struct cpa_ctx *ctx, int print)
{
	long long id = cpa_param_id(&ctx->req, "id");
	json_t *m;

	cpa_db_begin(ctx);
	if ((m = version_model(ctx, id, print ? "print" : NULL)) == NULL)
		return CPA_OK;
	if (!ctx->req.wants_json && print)
		json_object_set_new(m, "title", json_string(cpa_sprintf(ctx->arena,
		    "My care plan: %s",
		    cpa_person_name(ctx->arena, json_object_get(m, "service_user")))));
	else if (!ctx->req.wants_json)
		copy_form_view(ctx, m, json_string_value(json_object_get(m, "today")), NULL);
	cpa_commit_render(ctx, 200, print ? "careplan_print" : "careplan_version", m);
	return CPA_OK;
}

int
careplan_version_show(struct cpa_ctx *ctx)
{
	return version_page(ctx, 0);
}

int
careplan_print(struct cpa_ctx *ctx)
{
	return version_page(ctx, 1);
}

/* ------------------------------------------------------------ copies */

/* A copy refused for its input: JSON names the fields; the version page
 * is shown again with what was typed. */
static void
copy_invalid(struct cpa_ctx *ctx, long long id, const struct cpa_input *in, int status)
{
	json_t *m;

	if (ctx->req.wants_json) {
		cpa_render_invalid(ctx, NULL, NULL, in);
		ctx->resp.status = status;
		return;
	}
	cpa_db_rollback(ctx);
	cpa_db_begin(ctx);
	if ((m = version_model(ctx, id, "copy form shown again")) == NULL)
		return;
	copy_form_view(ctx, m, NULL, in);
	if (cpa_commit_or_fail(ctx, m) != CPA_OK)
		return;
	cpa_render_invalid(ctx, "careplan_version", m, in);
	ctx->resp.status = status;
}

int
careplan_copy_add(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	const char *params[6], *rcp, *code, *cid, *msg;
	const struct cpa_problem *p;
	struct cpa_input in, one;
	json_t *copy, *v;
	PGresult *r;

	if (cpa_input_read(ctx, copy_fields, CPA_NFIELDS(copy_fields), &in) != CPA_OK)
		return CPA_OK;
	rcp = in.values[CF_RECIPIENT].str;
	if (in.values[CF_RECIPIENT].present && !in.values[CF_NAME].present &&
	    !in.values[CF_CARER].present &&
	    cpa_input_error(&in, "recipient_name") == NULL &&
	    (strcmp(rcp, "carer") == 0 || strcmp(rcp, "other") == 0))
		cpa_input_add_error(ctx->arena, &in, "recipient_name",
		    strcmp(rcp, "carer") == 0 ? "Enter the carer's name" :
		    "Enter the name of who was given the copy");
	if (id == 0) {
		cpa_db_begin(ctx);
		cpa_not_found(ctx, "care_plan_version", cpa_param(&ctx->req, "id"));
		return CPA_OK;
	}
	if (in.nerrors > 0) {
		copy_invalid(ctx, id, &in, 422);
		return CPA_OK;
	}
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = rcp;
	params[2] = cpa_value_or_null(&in.values[CF_NAME]);
	params[3] = in.values[CF_GIVEN_ON].str;
	params[4] = in.values[CF_METHOD].str;
	params[5] = cpa_value_or_null(&in.values[CF_CARER]);
	cpa_db_begin(ctx);
	if ((r = cpa_fetch(ctx, &q_copy_add, params, "care_plan_version")) == NULL)
		return CPA_OK;
	if ((code = cpa_db_get(r, 0, "problem")) != NULL) {
		p = problem_of(code);
		if (p->status == 403) {
			cpa_deny(ctx, 403, p->message, "care_plan_version", params[0],
			    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"),
			    "care_plan_copy_recorded");
			return CPA_OK;
		}
		msg = strcmp(code, "carer_consent") == 0 ? cpa_sprintf(ctx->arena, "%s %s",
		    cpa_db_get(r, 0, "person_name"), p->message) : p->message;
		memset(&one, 0, sizeof(one));
		one.fields = in.fields;
		one.nfields = in.nfields;
		one.values = in.values;
		cpa_input_add_error(ctx->arena, &one, p->field, msg);
		copy_invalid(ctx, id, &one, p->status);
		return CPA_OK;
	}
	cid = cpa_db_get(r, 0, "copy_id");
	cpa_audit(ctx, "care_plan_copy_recorded", "care_plan_copy", cid,
	    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"),
	    cpa_sprintf(ctx->arena, "version %s, %s%s%s", params[0], rcp,
	    params[5] != NULL ? ", carer link " : "", params[5] != NULL ? params[5] : ""));
	if (!ctx->req.wants_json) {
		cpa_commit_redirect(ctx, cpa_sprintf(ctx->arena, "/care-plan-versions/%s",
		    params[0]));
		return CPA_OK;
	}
	copy = cpa_db_json(ctx->arena, r, 0, "care_plan_copy");
	v = cpa_db_json(ctx->arena, r, 0, "care_plan_version");
	if (copy == NULL || v == NULL) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	if (cpa_commit_or_fail(ctx, NULL) != CPA_OK)
		return CPA_OK;
	cpa_render_created(ctx, cpa_sprintf(ctx->arena, "/api/v1/care-plan-versions/%s",
	    params[0]), json_pack("{s:O,s:O}", "care_plan_copy", copy,
	    "care_plan_version", v));
	return CPA_OK;
}
