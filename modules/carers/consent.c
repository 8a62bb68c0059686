/*
 * consent.c - the person's consent to share with a carer (each decision
 * recorded once, the latest in force at once; withdrawal is a decision
 * too) and the carer's copies of the care plan and the safety plan,
 * which show only what the consent allows.
 *
 * What a carer may be told is decided by carer_may_know (010_carers.sql)
 * and nowhere else: the copies' statements build their sections in SQL,
 * asking it for each topic, so text the carer may not see never leaves
 * the database.  Access is as for the person's carers page: a clinical
 * role covering the person's open episode (409 without one, 403 audited
 * for another team's, 404 for another site's or an unknown link).  Every
 * copy read is audited as carer_copy with the topics it showed; a copy
 * refused for want of consent is audited as carer_copy_refused.
 */
#include <string.h>

#include "carers.h"

/* ------------------------------------------------------------ SQL */

/* The access flags of carer_link row "cur", as columns. */
#define LINK_PROBLEM \
	"CASE WHEN NOT " CARERS_HAS_EPISODE("cur.service_user_id") " THEN 'no_episode'" \
	" WHEN NOT " CARERS_COVERED("cur.service_user_id") " THEN 'denied'"

/* $1 link, $2 scope, $3 topics (text[]), $4 given on or NULL (today), $5
 * review on or NULL (the site's review interval after given on; none for
 * scope none), $6 note.  The link is locked so that decisions on it are
 * recorded one after the other. */
static const struct cpa_stmt q_record = {
	"consent_record",
	"WITH cur AS (SELECT l.* FROM carer_link l WHERE l.id = $1::bigint FOR UPDATE),"
	" chk AS (SELECT cur.id, cur.service_user_id, cur.site_id,"
	"  coalesce($4::date, current_date) AS given_on, s.carer_consent_review,"
	"  " LINK_PROBLEM " WHEN cur.ended_on IS NOT NULL THEN 'ended' END AS problem,"
	"  ARRAY(SELECT v.f FROM (VALUES"
	"   (1, CASE WHEN coalesce($4::date, current_date) > current_date"
	"    THEN 'given_future' END),"
	"   (2, CASE WHEN $5::date <= coalesce($4::date, current_date)"
	"    THEN 'review_early' END))"
	"   v(o, f) WHERE v.f IS NOT NULL ORDER BY v.o) AS invalid"
	"  FROM cur JOIN site s ON s.id = cur.site_id),"
	" nc AS (INSERT INTO carer_consent (site_id, carer_link_id, scope, topics, given_on,"
	"  review_on, note, recorded_by)"
	"  SELECT chk.site_id, chk.id, $2::text,"
	"  CASE WHEN $2::text = 'limited' THEN $3::text[] ELSE '{}' END, chk.given_on,"
	"  CASE WHEN $2::text <> 'none' THEN coalesce($5::date,"
	"   (chk.given_on + chk.carer_consent_review)::date) END,"
	"  $6::text, cpa_user_id()"
	"  FROM chk WHERE chk.problem IS NULL AND cardinality(chk.invalid) = 0 RETURNING *)"
	" SELECT chk.problem, to_json(chk.invalid) AS invalid, chk.service_user_id,"
	" chk.site_id, nc.id AS consent_id,"
	" CASE WHEN nc.id IS NOT NULL THEN " CARER_CONSENT_JSON("nc") " END AS consent"
	" FROM chk LEFT JOIN nc ON true",
	6
};

/* $1 link, $2 note.  Withdrawal: a decision of scope none, given today. */
static const struct cpa_stmt q_withdraw = {
	"consent_withdraw",
	"WITH cur AS (SELECT l.* FROM carer_link l WHERE l.id = $1::bigint FOR UPDATE),"
	" chk AS (SELECT cur.id, cur.service_user_id, cur.site_id, k.scope AS was,"
	"  " LINK_PROBLEM " WHEN k.id IS NULL OR k.scope = 'none' THEN 'nothing' END AS problem"
	"  FROM cur LEFT JOIN carer_consent k ON k.id = cur.current_consent_id),"
	" nc AS (INSERT INTO carer_consent (site_id, carer_link_id, scope, given_on,"
	"  withdrawal, note, recorded_by)"
	"  SELECT chk.site_id, chk.id, 'none', current_date, true, $2::text, cpa_user_id()"
	"  FROM chk WHERE chk.problem IS NULL RETURNING *)"
	" SELECT chk.problem, chk.service_user_id, chk.site_id, chk.was, nc.id AS consent_id,"
	" CASE WHEN nc.id IS NOT NULL THEN " CARER_CONSENT_JSON("nc") " END AS consent"
	" FROM chk LEFT JOIN nc ON true",
	2
};

/* What every copy's statement starts with: the link "l" ($1), the
 * person's open episode in the caller's teams "ep", the access flags, the
 * carer and the person by name only, the coordinator to call. */
#define COPY_WITH \
	"WITH l AS (SELECT * FROM carer_link WHERE id = $1::bigint)," \
	" ep AS (SELECT e.* FROM episode e, l WHERE e.service_user_id = l.service_user_id" \
	"  AND e.ended_at IS NULL AND " CALLER_COVERS("e.team_id") \
	"  ORDER BY e.started_at DESC, e.id DESC LIMIT 1)"
#define COPY_COLUMNS \
	" l.id, l.service_user_id, l.site_id," \
	" " CARERS_HAS_EPISODE("l.service_user_id") " AS has_episode," \
	" EXISTS (SELECT 1 FROM ep) AS covered," \
	" json_build_object('id', c.id, 'given_name', c.given_name," \
	"  'family_name', c.family_name) AS carer," \
	" json_build_object('given_name', su.given_name, 'family_name', su.family_name)" \
	"  AS service_user," \
	" (SELECT json_build_object('display_name', st.display_name, 'team_name', t.name)" \
	"  FROM ep JOIN team t ON t.id = ep.team_id" \
	"  LEFT JOIN staff st ON st.id = ep.coordinator_id) AS coordinator," \
	" current_date AS today,"
#define COPY_FROM \
	" FROM l JOIN carer c ON c.id = l.carer_id" \
	" JOIN service_user su ON su.id = l.service_user_id"

/* One section of the care plan for a carer, from care_plan_version "v":
 * KEY its column, HEADING in words about the person, TOPIC the consent
 * topic that covers it. */
#define SECTION(O, KEY, HEADING, TOPIC) \
	"(" O ", '" KEY "', '" HEADING "', v." KEY ", '" TOPIC "')"

/* $1 link.  The sections of the current version of the care plan of the
 * person's open episode that carer_may_know allows; the next review date
 * only with appointments. */
static const struct cpa_stmt q_care_plan = {
	"carer_copy_care_plan",
	COPY_WITH ","
	" v AS (SELECT cv.* FROM care_plan cp JOIN ep ON cp.episode_id = ep.id"
	"  JOIN care_plan_version cv ON cv.id = cp.current_version_id)"
	" SELECT" COPY_COLUMNS
	" carer_may_know(l.id, 'care_plan') AS k_care_plan,"
	" carer_may_know(l.id, 'crisis_plan') AS k_crisis_plan,"
	" carer_may_know(l.id, 'medication') AS k_medication,"
	" carer_may_know(l.id, 'appointments') AS k_appointments,"
	" (SELECT v.id FROM v) AS care_plan_version_id, (SELECT v.number FROM v) AS number,"
	" (SELECT coalesce(json_agg(CASE WHEN s.key = 'medication'"
	"   THEN json_build_object('key', s.key, 'heading', s.heading, 'text', s.body,"
	"   'information_given', v.medication_info_given)"
	"   ELSE json_build_object('key', s.key, 'heading', s.heading, 'text', s.body) END"
	"   ORDER BY s.o), '[]')"
	"  FROM v CROSS JOIN LATERAL (VALUES"
	"  " SECTION("1", "needs_goals", "What they want to achieve", "care_plan") ","
	"  " SECTION("2", "mental_health", "Their mental health", "care_plan") ","
	"  " SECTION("3", "physical_health", "Their physical health", "care_plan") ","
	"  " SECTION("4", "medication", "Their medicines", "medication") ","
	"  " SECTION("5", "social_care", "Help and support with daily life", "care_plan") ","
	"  " SECTION("6", "housing", "Where they live", "care_plan") ","
	"  " SECTION("7", "employment_education", "Work, training and education",
	"care_plan") ","
	"  " SECTION("8", "finances", "Money", "care_plan") ","
	"  " SECTION("9", "domestic_support", "Help at home", "care_plan") ","
	"  " SECTION("10", "professionals_involved", "People and services who support them",
	"care_plan") ","
	"  " SECTION("11", "early_warning_signs", "If they start to become unwell",
	"crisis_plan") ","
	"  " SECTION("12", "crisis_contingency", "In a crisis", "crisis_plan")
	"  ) s(o, key, heading, body, topic)"
	"  WHERE carer_may_know(l.id, s.topic)) AS sections,"
	" CASE WHEN carer_may_know(l.id, 'appointments') THEN (SELECT r.due_date"
	"  FROM cpa_review r JOIN ep ON r.episode_id = ep.id WHERE r.status = 'due')"
	" END AS next_review_on"
	COPY_FROM,
	1
};

/* $1 link.  The person's approved risk assessment's safety plan when
 * carer_may_know allows the crisis plan; the means restriction only
 * when the consent in force is full. */
static const struct cpa_stmt q_safety_plan = {
	"carer_copy_safety_plan",
	COPY_WITH ","
	" ra AS (SELECT r.* FROM risk_assessment r, l"
	"  WHERE r.service_user_id = l.service_user_id AND r.status = 'approved')"
	" SELECT" COPY_COLUMNS
	" carer_may_know(l.id, 'crisis_plan') AS k_crisis_plan,"
	" EXISTS (SELECT 1 FROM ra) AS has_plan,"
	" CASE WHEN carer_may_know(l.id, 'crisis_plan') THEN (SELECT json_build_object("
	"  'assessment_id', ra.id, 'approved_at', ra.approved_at,"
	"  'warning_signs', ra.warning_signs, 'what_helps', ra.what_helps,"
	"  'contacts', ra.contacts, 'crisis_numbers', ra.crisis_numbers) FROM ra)"
	" END AS safety_plan,"
	" carer_may_know(l.id, 'crisis_plan') AND (SELECT k.scope FROM carer_consent k"
	"  WHERE k.id = l.current_consent_id) = 'full' AS full_scope,"
	" CASE WHEN carer_may_know(l.id, 'crisis_plan') AND (SELECT k.scope"
	"  FROM carer_consent k WHERE k.id = l.current_consent_id) = 'full'"
	"  THEN (SELECT ra.means_restriction FROM ra) END AS means_restriction"
	COPY_FROM,
	1
};

/* ------------------------------------------------------------ input */

enum { CF_SCOPE, CF_GIVEN, CF_REVIEW, CF_NOTE };
static const struct cpa_field record_fields[] = {
	{ "scope", "What the person agrees to share", CPA_FT_ENUM, CPA_FF_REQUIRED, 0, 0,
	    carer_scopes },
	{ "given_on", "Date given", CPA_FT_DATE, 0, 0, 0, NULL },
	{ "review_on", "Review date", CPA_FT_DATE, 0, 0, 0, NULL },
	{ "note", "Note", CPA_FT_TEXT, 0, 1, 2000, NULL },
};

enum { WF_NOTE };
static const struct cpa_field withdraw_fields[] = {
	{ "note", "Note", CPA_FT_TEXT, 0, 1, 2000, NULL },
};

static const struct cpa_problem problems[] = {
	{ "no_episode", 409, NULL, CPA_NO_EPISODE_MESSAGE },
	{ "denied", 403, NULL, "You can only see and change carers of people in your teams" },
	{ "ended", 409, NULL,
	    "This carer no longer supports the person: consent cannot be recorded" },
	{ "nothing", 409, NULL, "There is no consent to share in force to withdraw" },
	{ "given_future", 422, "given_on", "Date given must be today or in the past" },
	{ "review_early", 422, "review_on", "Review date must be after the date given" },
};

#define NPROBLEMS (sizeof(problems) / sizeof(problems[0]))

static const struct cpa_problem *
problem_of(const char *code)
{
	return cpa_problem_find(problems, NPROBLEMS, code, "denied");
}

/* ------------------------------------------------------------ topics */

/* Whether list holds the string s. */
static int
listed(const json_t *list, const char *s)
{
	const json_t *t;
	size_t i;

	json_array_foreach(list, i, t)
		if (json_is_string(t) && strcmp(json_string_value(t), s) == 0)
			return 1;
	return 0;
}

/* The topics given: a JSON body's "topics" (an array of strings), or a
 * form's "topics" checkboxes (every pair of that name).  Returns a new
 * array of the known codes, each once; errors are added to in.  NULL
 * after answering 400 (cannot happen once cpa_input_read took the body). */
static json_t *
topics_read(struct cpa_ctx *ctx, struct cpa_input *in)
{
	const char *p, *end, *amp, *eq, *name, *value;
	json_t *out, *doc = NULL, *list, *t;
	size_t i, n;
	int bad = 0;

	if (strcmp(ctx->req.content_type, "application/json") == 0 &&
	    (doc = cpa_body_json(ctx)) == NULL)
		return NULL;
	out = json_array();
	if (strcmp(ctx->req.content_type, "application/json") == 0) {
		list = json_object_get(doc, "topics");
		if (list != NULL && !json_is_null(list) && !json_is_array(list)) {
			cpa_input_add_error(ctx->arena, in, "topics",
			    "Topics must be a list, like [\"care_plan\"]");
			return out;
		}
		json_array_foreach(list, i, t) {
			value = json_string_value(t);
			if (cpa_label(carer_topics, carer_topics, value) == NULL)
				bad = 1;
			else if (!listed(out, value))
				json_array_append_new(out, json_string(value));
		}
	} else {
		p = ctx->req.body;
		end = p + ctx->req.body_len;
		for (; p < end; p = amp + 1) {
			if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
				amp = end;
			if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
				continue;
			name = cpa_url_decode(ctx->arena, p, (size_t)(eq - p), 1, &n);
			if (name == NULL || strcmp(name, "topics") != 0)
				continue;
			value = cpa_url_decode(ctx->arena, eq + 1, (size_t)(amp - eq - 1), 1, &n);
			if (value == NULL || cpa_label(carer_topics, carer_topics, value) == NULL)
				bad = 1;
			else if (!listed(out, value))
				json_array_append_new(out, json_string(value));
		}
	}
	if (bad)
		cpa_input_add_error(ctx->arena, in, "topics",
		    "Select what they may be told from the list");
	return out;
}

/* "care_plan, medication": the topics for an audit row. */
static const char *
topics_text(struct cpa_ctx *ctx, const json_t *topics)
{
	struct cpa_buf b;
	const json_t *t;
	size_t i;

	cpa_buf_init(&b, ctx->arena);
	json_array_foreach(topics, i, t)
		cpa_buf_printf(&b, "%s%s", i > 0 ? ", " : "", json_string_value(t));
	return b.data != NULL ? b.data : "";
}

/* {care_plan,medication}: topics as an SQL array (known codes only). */
static const char *
topics_param(struct cpa_ctx *ctx, const json_t *topics)
{
	struct cpa_buf b;
	const json_t *t;
	size_t i;

	cpa_buf_init(&b, ctx->arena);
	cpa_buf_putc(&b, '{');
	json_array_foreach(topics, i, t)
		cpa_buf_printf(&b, "%s%s", i > 0 ? "," : "", json_string_value(t));
	cpa_buf_putc(&b, '}');
	return b.data;
}

/* ------------------------------------------------------------ recording */

/* The page again after a refusal of form (a JSON client: 422 naming the
 * fields), the topics put back in the consent form. */
static void
consent_again(struct cpa_ctx *ctx, const char *link, const char *form,
    const struct cpa_input *in, const json_t *topics, int status)
{
	json_t *values;
	long long su;

	if ((su = carers_link_person(ctx, link)) == 0)
		return;
	values = cpa_input_typed(in);
	if (topics != NULL)
		json_object_set(values, "topics", (json_t *)(uintptr_t)topics);
	carers_page_again_with(ctx, su, form, in, values, status);
}

/* Whether the consent change action to link link_id, whose statement
 * answered r (a row with problem, service_user_id, site_id), was refused;
 * if so the refusal is answered (carers_refuse, with form and in). */
static int
consent_refused(struct cpa_ctx *ctx, PGresult *r, const char *link_id,
    const char *action, const char *form, const struct cpa_input *in)
{
	const char *code;

	if ((code = cpa_db_get(r, 0, "problem")) == NULL)
		return 0;
	carers_refuse(ctx, problem_of(code), NULL, cpa_db_ll(r, 0, "service_user_id"),
	    cpa_db_ll(r, 0, "site_id"), "carer_link", link_id, action, form, in);
	return 1;
}

/* Answer the consent change action to link link_id, done by the statement
 * that answered r (consent, consent_id, service_user_id, site_id): audited
 * with detail, 201 with the consent and the link read again. */
static void
consent_answer(struct cpa_ctx *ctx, PGresult *r, const char *link_id,
    const char *action, const char *detail)
{
	json_t *consent, *link;

	if ((consent = cpa_db_json(ctx->arena, r, 0, "consent")) == NULL) {
		cpa_error(ctx, 500, NULL);
		return;
	}
	if ((link = carers_link_json(ctx, link_id)) == NULL)
		return;
	cpa_audit(ctx, action, "carer_consent", cpa_db_get(r, 0, "consent_id"),
	    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"), detail);
	cpa_answer_recorded(ctx, 201, cpa_sprintf(ctx->arena, "/service-users/%lld/carers",
	    cpa_db_ll(r, 0, "service_user_id")), json_pack("{s:O,s:O}", "consent", consent,
	    "carer_link", link));
}

/* The checks that need no database: topics iff limited; from a JSON
 * client, nothing the scope does not take (a form's unused controls
 * are dropped instead). */
static void
record_check(struct cpa_ctx *ctx, struct cpa_input *in, json_t *topics)
{
	const char *scope = in->values[CF_SCOPE].present ? in->values[CF_SCOPE].str : NULL;
	int json = ctx->req.wants_json;

	if (scope == NULL)
		return;
	if (strcmp(scope, "limited") == 0) {
		if (json_array_size(topics) == 0 && cpa_input_error(in, "topics") == NULL)
			cpa_input_add_error(ctx->arena, in, "topics",
			    "Select what the carer may be told");
		return;
	}
	if (json_array_size(topics) > 0 && json)
		cpa_input_add_error(ctx->arena, in, "topics", "Leave out the topics "
		    "unless the person agrees to share only some things");
	json_array_clear(topics);
	if (strcmp(scope, "none") == 0 && in->values[CF_REVIEW].present) {
		if (json)
			cpa_input_add_error(ctx->arena, in, "review_on", "Leave out the "
			    "review date when the person does not agree to share");
		in->values[CF_REVIEW].present = 0;
	}
}

int
consent_record(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	const char *params[6], *form;
	struct cpa_input in, one;
	json_t *topics;
	PGresult *r;

	if (cpa_input_read(ctx, record_fields, CPA_NFIELDS(record_fields), &in) != CPA_OK)
		return CPA_OK;
	if ((topics = topics_read(ctx, &in)) == NULL)
		return CPA_OK;
	cpa_json_keep(ctx->arena, topics);
	if (id == 0) {
		cpa_db_begin(ctx);
		cpa_not_found(ctx, "carer_link", cpa_param(&ctx->req, "id"));
		return CPA_OK;
	}
	params[0] = cpa_id_param(ctx->arena, id);
	form = cpa_sprintf(ctx->arena, "consent-%lld", id);
	record_check(ctx, &in, topics);
	if (in.nerrors > 0) {
		consent_again(ctx, params[0], form, &in, topics, 422);
		return CPA_OK;
	}
	params[1] = in.values[CF_SCOPE].str;
	params[2] = topics_param(ctx, topics);
	params[3] = cpa_value_or_null(&in.values[CF_GIVEN]);
	params[4] = cpa_value_or_null(&in.values[CF_REVIEW]);
	params[5] = cpa_value_or_null(&in.values[CF_NOTE]);
	cpa_db_begin(ctx);
	if ((r = cpa_fetch(ctx, &q_record, params, "carer_link")) == NULL)
		return CPA_OK;
	if (consent_refused(ctx, r, params[0], "carer_consent_recorded", form, &in))
		return CPA_OK;
	memset(&one, 0, sizeof(one));
	one.fields = in.fields;
	one.nfields = in.nfields;
	one.values = in.values;
	cpa_invalid_add(ctx, &one, r, problems, NPROBLEMS);
	if (one.nerrors > 0) {
		cpa_db_rollback(ctx);
		consent_again(ctx, params[0], form, &one, topics, 422);
		return CPA_OK;
	}
	consent_answer(ctx, r, params[0], "carer_consent_recorded",
	    cpa_sprintf(ctx->arena, "carer link %s, scope %s%s%s", params[0], params[1],
	    json_array_size(topics) > 0 ? ": " : "", topics_text(ctx, topics)));
	return CPA_OK;
}

int
consent_withdraw(struct cpa_ctx *ctx)
{
	long long id;
	const char *params[2], *form;
	struct cpa_input in;
	PGresult *r;

	if ((id = carers_form_id(ctx, "carer_link",
	    withdraw_fields, CPA_NFIELDS(withdraw_fields), &in)) == 0)
		return CPA_OK;
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = cpa_value_or_null(&in.values[WF_NOTE]);
	form = cpa_sprintf(ctx->arena, "withdraw-%lld", id);
	if (in.nerrors > 0) {
		consent_again(ctx, params[0], form, &in, NULL, 422);
		return CPA_OK;
	}
	cpa_db_begin(ctx);
	if ((r = cpa_fetch(ctx, &q_withdraw, params, "carer_link")) == NULL)
		return CPA_OK;
	if (consent_refused(ctx, r, params[0], "carer_consent_withdrawn", form, &in))
		return CPA_OK;
	consent_answer(ctx, r, params[0], "carer_consent_withdrawn",
	    cpa_sprintf(ctx->arena, "carer link %s, was %s", params[0],
	    cpa_db_get(r, 0, "was")));
	return CPA_OK;
}

/* ------------------------------------------------------------ copies */

/* Run a copy's statement st for link id with the access checks.  The
 * row, or NULL with the response written: 404 (unknown link, or another
 * site's), 409 (no open episode), 403 audited (another team's). */
static PGresult *
copy_load(struct cpa_ctx *ctx, const struct cpa_stmt *st, long long id)
{
	PGresult *r;

	if ((r = cpa_fetch_one(ctx, st, id, "carer_link")) == NULL)
		return NULL;
	if (!cpa_db_flag(r, 0, "has_episode")) {
		cpa_error(ctx, 409, CPA_NO_EPISODE_MESSAGE);
		return NULL;
	}
	if (!cpa_db_flag(r, 0, "covered")) {
		cpa_deny(ctx, 403, problem_of("denied")->message, "carer_link",
		    cpa_db_get(r, 0, "id"), cpa_db_ll(r, 0, "service_user_id"),
		    cpa_db_ll(r, 0, "site_id"), "carer_copy of a team the caller does not work in");
		return NULL;
	}
	return r;
}

/* Refuse a copy the consent does not allow: audited, then 403 saying
 * the person has not agreed to share what (their care plan ...). */
static void
copy_refuse(struct cpa_ctx *ctx, const PGresult *r, const json_t *carer,
    const json_t *su, const char *what)
{
	cpa_audit(ctx, "carer_copy_refused", "carer_copy", cpa_db_get(r, 0, "id"),
	    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"),
	    cpa_sprintf(ctx->arena, "%s: no consent to share it", what));
	if (cpa_commit_or_fail(ctx, NULL) == CPA_OK)
		cpa_error(ctx, 403, cpa_sprintf(ctx->arena,
		    "%s has not agreed to share their %s with %s",
		    cpa_person_name(ctx->arena, su), what, cpa_person_name(ctx->arena, carer)));
}

static const char *const method_codes[] = {
	"in_person", "post", "email", "secure_message", NULL
};
static const char *const method_labels[] = {
	"In person", "By post", "By email", "By secure message", NULL
};

int
carer_copy_care_plan(struct cpa_ctx *ctx)
{
	static const char *const flags[] = {
		"k_care_plan", "k_crisis_plan", "k_medication", "k_appointments"
	};
	json_t *m, *carer, *su, *sections, *coordinator, *list;
	struct cpa_buf shown;
	const char *next;
	PGresult *r;
	size_t i;

	cpa_db_begin(ctx);
	if ((r = copy_load(ctx, &q_care_plan, cpa_param_id(&ctx->req, "id"))) == NULL)
		return CPA_OK;
	coordinator = cpa_db_json(ctx->arena, r, 0, "coordinator");
	if (carers_row_json(ctx, r, "carer", &carer, "service_user", &su, "sections",
	    &sections, (const char *)NULL) != 0)
		return CPA_OK;
	if (!cpa_db_flag(r, 0, "k_care_plan") && !cpa_db_flag(r, 0, "k_crisis_plan") &&
	    !cpa_db_flag(r, 0, "k_medication")) {
		copy_refuse(ctx, r, carer, su, "care plan");
		return CPA_OK;
	}
	if (cpa_db_get(r, 0, "care_plan_version_id") == NULL) {
		cpa_error(ctx, 404, cpa_sprintf(ctx->arena, "%s has no care plan yet",
		    cpa_person_name(ctx->arena, su)));
		return CPA_OK;
	}
	cpa_buf_init(&shown, ctx->arena);
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (cpa_db_flag(r, 0, flags[i]))
			cpa_buf_printf(&shown, "%s%s", shown.len > 0 ? ", " : "", flags[i] + 2);
	cpa_audit(ctx, "read", "carer_copy", cpa_db_get(r, 0, "id"),
	    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"),
	    cpa_sprintf(ctx->arena, "care plan version %s for the carer: %s",
	    cpa_db_get(r, 0, "care_plan_version_id"), shown.data));
	m = json_pack("{s:O,s:O,s:I,s:I,s:O,s:O}", "carer", carer, "service_user", su,
	    "care_plan_version_id", (json_int_t)cpa_db_ll(r, 0, "care_plan_version_id"),
	    "number", (json_int_t)cpa_db_ll(r, 0, "number"), "sections", sections,
	    "coordinator", coordinator != NULL ? coordinator : json_null());
	if (cpa_db_flag(r, 0, "k_appointments")) {
		next = cpa_db_get(r, 0, "next_review_on");
		json_object_set_new(m, "next_review_on", next != NULL ? json_string(next) :
		    json_null());
	}
	if (!ctx->req.wants_json) {
		list = json_array();
		for (i = 0; method_codes[i] != NULL; i++)
			json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:b}", "value",
			    method_codes[i], "label", method_labels[i], "id", i == 0 ?
			    "method" : cpa_sprintf(ctx->arena, "method-%s", method_codes[i]),
			    "checked", i == 0));
		json_object_set_new(m, "copy_form", json_pack("{s:s,s:s,s:s,s:o}",
		    "carer_link_id", cpa_db_get(r, 0, "id"), "recipient_name",
		    cpa_person_name(ctx->arena, carer), "given_on", cpa_db_get(r, 0, "today"),
		    "methods", list));
		json_object_set_new(m, "service_user_id",
		    json_integer(cpa_db_ll(r, 0, "service_user_id")));
		json_object_set_new(m, "appointments", json_boolean(cpa_db_flag(r, 0,
		    "k_appointments")));
		carers_page_words(m, cpa_sprintf(ctx->arena, "Care plan for %s about %s",
		    cpa_person_name(ctx->arena, carer), cpa_person_name(ctx->arena, su)));
	}
	cpa_commit_render(ctx, 200, "carer_copy_care_plan", m);
	return CPA_OK;
}

int
carer_copy_safety_plan(struct cpa_ctx *ctx)
{
	json_t *m, *carer, *su, *plan, *coordinator;
	const char *means;
	PGresult *r;
	int full;

	cpa_db_begin(ctx);
	if ((r = copy_load(ctx, &q_safety_plan, cpa_param_id(&ctx->req, "id"))) == NULL)
		return CPA_OK;
	coordinator = cpa_db_json(ctx->arena, r, 0, "coordinator");
	if (carers_row_json(ctx, r, "carer", &carer, "service_user", &su,
	    (const char *)NULL) != 0)
		return CPA_OK;
	if (!cpa_db_flag(r, 0, "k_crisis_plan")) {
		copy_refuse(ctx, r, carer, su, "safety plan");
		return CPA_OK;
	}
	if ((plan = cpa_db_json(ctx->arena, r, 0, "safety_plan")) == NULL) {
		cpa_error(ctx, 404, cpa_sprintf(ctx->arena, "%s has no agreed safety plan yet",
		    cpa_person_name(ctx->arena, su)));
		return CPA_OK;
	}
	full = cpa_db_flag(r, 0, "full_scope");
	if (full) {
		means = cpa_db_get(r, 0, "means_restriction");
		json_object_set_new(plan, "means_restriction", means != NULL ?
		    json_string(means) : json_null());
	}
	cpa_audit(ctx, "read", "carer_copy", cpa_db_get(r, 0, "id"),
	    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"),
	    cpa_sprintf(ctx->arena, "safety plan of risk assessment %lld for the carer: "
	    "crisis_plan%s", (long long)json_integer_value(json_object_get(plan,
	    "assessment_id")), full ? ", means restriction (full consent)" : ""));
	m = json_pack("{s:O,s:O,s:O,s:O}", "carer", carer, "service_user", su,
	    "safety_plan", plan, "coordinator", coordinator != NULL ? coordinator :
	    json_null());
	if (!ctx->req.wants_json) {
		json_object_set_new(m, "full", json_boolean(full));
		json_object_set_new(m, "service_user_id",
		    json_integer(cpa_db_ll(r, 0, "service_user_id")));
		carers_page_words(m, cpa_sprintf(ctx->arena, "Safety plan for %s about %s",
		    cpa_person_name(ctx->arena, carer), cpa_person_name(ctx->arena, su)));
	}
	cpa_commit_render(ctx, 200, "carer_copy_safety_plan", m);
	return CPA_OK;
}
