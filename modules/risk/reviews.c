/*
 * reviews.c - risk reviews: asking for an early review of a person's
 * current (approved) assessment when something changed (a crisis contact,
 * an admission, ...), and the list of reviews due in the caller's scope.
 *
 * The early-review rule is the SQL function risk_request_review()
 * (sql/004_risk_reviews.sql), which the reviews worker calls too; here one
 * statement checks the caller's team and calls it, a second reads the
 * assessment back.  The list is one statement: for each open episode in
 * scope (the teams a manager manages, else the episodes the caller
 * coordinates), the person's current assessment when its review falls
 * within the days asked for, or the person when they have never had one
 * approved.
 */
#include <ctype.h>
#include <string.h>

#include "risk.h"

/* What prompted a request: codes as sql/004_risk_reviews.sql has them,
 * labels in the words risk_review_trigger_label() uses. */
static const char *const trigger_codes[] = {
	"crisis_contact", "admission", "discharge", "incident",
	"change_in_circumstances", "other", NULL
};
static const char *const trigger_labels[] = {
	"Crisis contact", "Admission", "Discharge", "Incident",
	"Change in circumstances", "Other", NULL
};

#define WITHIN_DEFAULT 14
#define NO_APPROVED_MESSAGE \
	"There is no approved risk assessment to review; start a new one"

/* ------------------------------------------------------------ statements */

/* $1 person, $2 trigger, $3 details or NULL.  covered: a clinical role of
 * the caller covers the team of one of the person's open episodes; only
 * then is the review asked for.  assessment_id NULL: no approved one. */
static const struct cpa_stmt q_request = {
	"risk_review_request",
	"WITH su AS (SELECT id, site_id FROM service_user WHERE id = $1::bigint),"
	" chk AS (SELECT su.id AS service_user_id, su.site_id,"
	"  EXISTS (SELECT 1 FROM episode e JOIN my_team m ON m.team_id = e.team_id"
	"   WHERE e.service_user_id = su.id AND e.ended_at IS NULL"
	"   AND m.role IN " CLINICAL_ROLES_SQL ") AS covered FROM su),"
	" req AS (SELECT risk_request_review(chk.service_user_id, $2::text, $3::text,"
	"  cpa_user_id()) AS assessment_id FROM chk WHERE chk.covered)"
	" SELECT chk.service_user_id, chk.site_id, chk.covered, req.assessment_id"
	" FROM chk LEFT JOIN req ON true",
	3
};

/* $1 assessment: the answer to a request, read after it. */
static const struct cpa_stmt q_requested = {
	"risk_review_requested",
	"SELECT json_build_object('id', a.id, 'next_review_due', a.next_review_due,"
	" 'review_requested_at', a.review_requested_at,"
	" 'review_trigger', a.review_trigger, 'review_reason', a.review_reason)"
	" AS assessment FROM risk_assessment a WHERE a.id = $1::bigint",
	1
};

/* $1 days ahead.  One row per open episode in scope whose person's
 * current assessment is due for review by current_date + $1, or who has
 * none; never assessed first, then the soonest due, then by name. */
static const struct cpa_stmt q_reviews = {
	"risk_reviews",
	"WITH ep AS (SELECT e.id, e.service_user_id, e.team_id, e.level, e.coordinator_id"
	"  FROM episode e WHERE e.ended_at IS NULL"
	"  AND (e.coordinator_id = cpa_user_id()"
	"   OR e.team_id IN " CALLER_MANAGED_TEAMS ")),"
	" due AS (SELECT ep.*, ra.id AS assessment_id, ra.overall_level, ra.approved_at,"
	"  ra.next_review_due, ra.review_requested_at, ra.review_trigger,"
	"  ra.next_review_due < current_date AS overdue"
	"  FROM ep LEFT JOIN risk_assessment ra ON ra.service_user_id = ep.service_user_id"
	"  AND ra.status = 'approved'"
	"  WHERE ra.id IS NULL OR ra.next_review_due <= current_date + $1::int)"
	" SELECT coalesce(json_agg(json_build_object("
	"  'service_user', " PERSON_SUMMARY_JSON ", 'episode_id', d.id,"
	"  'team_id', d.team_id, 'team_name', t.name, 'level', d.level,"
	"  'coordinator', CASE WHEN c.id IS NOT NULL THEN"
	"   json_build_object('id', c.id, 'display_name', c.display_name) END,"
	"  'assessment_id', d.assessment_id, 'overall_level', d.overall_level,"
	"  'approved_at', d.approved_at, 'next_review_due', d.next_review_due,"
	"  'overdue', coalesce(d.overdue, false),"
	"  'days_overdue', greatest(current_date - d.next_review_due, 0),"
	"  'due_in_days', CASE WHEN d.next_review_due IS NOT NULL THEN"
	"   greatest(d.next_review_due - current_date, 0) END,"
	"  'review_requested', d.review_requested_at IS NOT NULL,"
	"  'review_trigger', d.review_trigger,"
	"  'never_assessed', d.assessment_id IS NULL,"
	"  'in_progress', CASE WHEN ip.id IS NOT NULL THEN"
	"   json_build_object('id', ip.id, 'status', ip.status) END)"
	"  ORDER BY d.assessment_id IS NOT NULL, d.next_review_due,"
	"  su.family_name, su.given_name, d.id), '[]') AS reviews,"
	" count(*) FILTER (WHERE d.overdue) AS overdue_count,"
	" count(*) FILTER (WHERE d.assessment_id IS NULL) AS never_assessed_count"
	" FROM due d JOIN service_user su ON su.id = d.service_user_id"
	" JOIN team t ON t.id = d.team_id"
	" LEFT JOIN staff c ON c.id = d.coordinator_id"
	" LEFT JOIN risk_assessment ip ON ip.service_user_id = d.service_user_id"
	" AND ip.status IN ('draft', 'submitted', 'returned')",
	1
};

/* ------------------------------------------------------------ input */

enum { RQ_TRIGGER, RQ_DETAILS };
static const struct cpa_field request_fields[] = {
	{ "trigger", "Reason for the early review", CPA_FT_ENUM, CPA_FF_REQUIRED,
	    0, 0, trigger_codes },
	{ "details", "Details", CPA_FT_TEXT, 0, 1, 2000, NULL },
};

enum { RV_WITHIN };
static const struct cpa_field reviews_fields[] = {
	{ "within", "Days ahead", CPA_FT_INT, 0, 0, 365, NULL },
};

/* ------------------------------------------------------------ display */

/* obj[out] = the label of obj[key]'s code, or null. */
static void
set_label(json_t *obj, const char *key, const char *out, const char *const *codes,
    const char *const *labels)
{
	const char *l = cpa_label(codes, labels,
	    json_string_value(json_object_get(obj, key)));

	json_object_set_new(obj, out, l != NULL ? json_string(l) : json_null());
}

/* For the page only: each review's codes in words (the trigger as inside
 * a sentence: "crisis contact") and when it is due ("Overdue by 3 days",
 * "Due today", "Due in 1 day"). */
static void
reviews_view(struct cpa_ctx *ctx, json_t *list)
{
	json_t *row;
	json_int_t n;
	const char *due, *label;
	char *text;
	size_t i;

	json_array_foreach(list, i, row) {
		set_label(row, "level", "level_label", cpa_episode_levels,
		    cpa_episode_level_labels);
		set_label(row, "overall_level", "overall_level_label", risk_levels,
		    risk_level_labels);
		label = cpa_label(trigger_codes, trigger_labels,
		    json_string_value(json_object_get(row, "review_trigger")));
		text = label != NULL ? cpa_strdup(ctx->arena, label) : NULL;
		if (text != NULL)
			text[0] = (char)tolower((unsigned char)text[0]);
		json_object_set_new(row, "review_trigger_text", text != NULL ?
		    json_string(text) : json_null());
		due = NULL;
		if (json_is_true(json_object_get(row, "overdue"))) {
			n = json_integer_value(json_object_get(row, "days_overdue"));
			due = cpa_sprintf(ctx->arena, "Overdue by %lld day%s",
			    (long long)n, n == 1 ? "" : "s");
		} else if (!json_is_true(json_object_get(row, "never_assessed"))) {
			n = json_integer_value(json_object_get(row, "due_in_days"));
			due = n == 0 ? "Due today" : cpa_sprintf(ctx->arena,
			    "Due in %lld day%s", (long long)n, n == 1 ? "" : "s");
		}
		json_object_set_new(row, "due_text", due != NULL ? json_string(due) : json_null());
	}
}

/* The request form again (errors and the page's own model aside): the
 * trigger choices with the one given selected, the details typed. */
static json_t *
request_model(long long id, const struct cpa_input *in)
{
	const char *given = in->values[RQ_TRIGGER].present ? in->values[RQ_TRIGGER].str : NULL;
	json_t *m, *choices;
	size_t i;

	choices = json_array();
	for (i = 0; trigger_codes[i] != NULL; i++)
		json_array_append_new(choices, json_pack("{s:s,s:s,s:b}", "value",
		    trigger_codes[i], "label", trigger_labels[i], "selected",
		    given != NULL && strcmp(given, trigger_codes[i]) == 0));
	m = json_pack("{s:s,s:{s:I},s:o}", "title", "Ask for an early review",
	    "request", "service_user_id", (json_int_t)id, "triggers", choices);
	json_object_set_new(m, "details", in->values[RQ_DETAILS].present ?
	    json_string(in->values[RQ_DETAILS].str) : json_null());
	return m;
}

/* ------------------------------------------------------------ handlers */

int
risk_review_request(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id"), aid;
	const char *params[3], *aparam;
	struct cpa_input in;
	json_t *m, *a;
	PGresult *r;

	if (cpa_input_read(ctx, request_fields, CPA_NFIELDS(request_fields), &in) != CPA_OK)
		return CPA_OK;
	if (id == 0) {
		cpa_error(ctx, 404, NULL);
		return CPA_OK;
	}
	if (in.nerrors > 0) {
		cpa_render_invalid(ctx, "risk_reviews", ctx->req.wants_json ? NULL :
		    request_model(id, &in), &in);
		return CPA_OK;
	}
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = in.values[RQ_TRIGGER].str;
	params[2] = cpa_value_or_null(&in.values[RQ_DETAILS]);
	cpa_db_begin(ctx);
	if ((r = cpa_fetch(ctx, &q_request, params, "service_user")) == NULL)
		return CPA_OK;
	if (!cpa_db_flag(r, 0, "covered")) {
		cpa_deny(ctx, 403, "You can only ask for early reviews of your own teams' "
		    "people", "service_user", params[0], id, cpa_db_ll(r, 0, "site_id"),
		    "risk_review_requested");
		return CPA_OK;
	}
	if ((aparam = cpa_db_get(r, 0, "assessment_id")) == NULL) {
		cpa_db_rollback(ctx);
		if (ctx->req.wants_json) {
			cpa_error(ctx, 409, NO_APPROVED_MESSAGE);
			return CPA_OK;
		}
		m = request_model(id, &in);
		json_object_set_new(m, "errors", json_pack("[{s:s,s:s}]", "field",
		    "trigger", "message", NO_APPROVED_MESSAGE));
		cpa_render(ctx, 409, "risk_reviews", m);
		return CPA_OK;
	}
	aid = cpa_db_ll(r, 0, "assessment_id");
	cpa_audit(ctx, "risk_review_requested", "risk_assessment", aparam, id,
	    cpa_db_ll(r, 0, "site_id"), cpa_sprintf(ctx->arena, "trigger %s",
	    in.values[RQ_TRIGGER].str));
	if (!ctx->req.wants_json) {
		cpa_commit_redirect(ctx, cpa_sprintf(ctx->arena, "/service-users/%lld/risk", id));
		return CPA_OK;
	}
	if ((r = cpa_fetch_one(ctx, &q_requested, aid, "risk_assessment")) == NULL)
		return CPA_OK;
	if ((a = cpa_db_json(ctx->arena, r, 0, "assessment")) == NULL) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	cpa_commit_render(ctx, 200, NULL, json_pack("{s:O}", "assessment", a));
	return CPA_OK;
}

int
risk_reviews(struct cpa_ctx *ctx)
{
	long long within = WITHIN_DEFAULT;
	const char *param;
	struct cpa_input in;
	json_t *list, *m;
	PGresult *r;

	if (cpa_input_read(ctx, reviews_fields, CPA_NFIELDS(reviews_fields), &in) != CPA_OK)
		return CPA_OK;
	if (in.nerrors > 0) {
		cpa_render_invalid(ctx, "risk_reviews", ctx->req.wants_json ? NULL :
		    json_pack("{s:s,s:s?,s:[]}", "title", "Risk reviews due", "within",
		    cpa_form_lookup(ctx->arena, ctx->req.query, strlen(ctx->req.query),
		    "within"), "reviews"), &in);
		return CPA_OK;
	}
	if (in.values[RV_WITHIN].present)
		within = in.values[RV_WITHIN].num;
	param = cpa_sprintf(ctx->arena, "%lld", within);
	cpa_db_begin(ctx);
	if ((r = cpa_db_exec(ctx, &q_reviews, &param)) == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	if ((list = cpa_db_json(ctx->arena, r, 0, "reviews")) == NULL) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	cpa_audit(ctx, "read", "risk_review_list", NULL, 0, 0, cpa_sprintf(ctx->arena,
	    "within %lld days, %zu reviews", within, json_array_size(list)));
	m = json_pack("{s:I,s:O,s:I,s:I}", "within", (json_int_t)within,
	    "reviews", list,
	    "overdue_count", (json_int_t)cpa_db_ll(r, 0, "overdue_count"),
	    "never_assessed_count", (json_int_t)cpa_db_ll(r, 0, "never_assessed_count"));
	if (!ctx->req.wants_json) {
		reviews_view(ctx, list);
		json_object_set_new(m, "title", json_string("Risk reviews due"));
	}
	cpa_commit_render(ctx, 200, "risk_reviews", m);
	return CPA_OK;
}
