/*
 * safety_plan.c - a risk assessment's safety plan as the person keeps it:
 * in plain language, with general crisis help always present, for reading
 * on screen and for printing (the print styles are in app.css).  A plan
 * not yet approved is shown as a draft.  Row-level security hides other
 * sites' assessments (404); reading needs a clinical role covering the
 * episode's team (403).  Every read is audited as a read of the
 * "safety_plan" with the assessment's id.
 */
#include <string.h>

#include "risk.h"

/* $1 assessment.  The plan, and the page's dates in words, only when a
 * clinical role of the caller covers the episode's team ("covered"). */
static const struct cpa_stmt q_safety_plan = {
	"risk_safety_plan",
	"SELECT a.service_user_id, a.site_id, k.covered,"
	" CASE WHEN k.covered THEN json_build_object('assessment_id', a.id,"
	"  'status', a.status, 'final', a.status IN ('approved', 'superseded'),"
	"  'approved_at', a.approved_at, 'next_review_due', a.next_review_due,"
	"  'service_user', json_build_object('given_name', su.given_name,"
	"   'family_name', su.family_name, 'nhs_number', su.nhs_number,"
	"   'date_of_birth', su.date_of_birth),"
	"  'team_name', t.name,"
	"  'coordinator', CASE WHEN c.id IS NOT NULL THEN"
	"   json_build_object('display_name', c.display_name) END,"
	"  'warning_signs', a.warning_signs, 'what_helps', a.what_helps,"
	"  'contacts', a.contacts, 'crisis_numbers', a.crisis_numbers,"
	"  'means_restriction', a.means_restriction, 'user_view', a.user_view)"
	" END AS safety_plan,"
	" CASE WHEN k.covered THEN json_build_object("
	"  'approved_on', to_char(a.approved_at, 'FMDD FMMonth YYYY'),"
	"  'review_by', to_char(a.next_review_due, 'FMDD FMMonth YYYY'),"
	"  'born_on', to_char(su.date_of_birth, 'FMDD FMMonth YYYY'),"
	"  'nhs_number', regexp_replace(su.nhs_number,"
	"   '^([0-9]{3})([0-9]{3})([0-9]{4})$', '\\1 \\2 \\3'))"
	" END AS display"
	" FROM risk_assessment a JOIN episode e ON e.id = a.episode_id"
	" JOIN service_user su ON su.id = a.service_user_id"
	" LEFT JOIN team t ON t.id = e.team_id"
	" LEFT JOIN staff c ON c.id = e.coordinator_id"
	" CROSS JOIN LATERAL (SELECT " CALLER_COVERS("e.team_id") " AS covered) k"
	" WHERE a.id = $1::bigint",
	1
};

/* What only the page needs: the title, the dates in words, and whether
 * a newer plan has replaced this one.  m is {"safety_plan"}. */
static void
plan_view(struct cpa_ctx *ctx, const PGresult *r, json_t *m)
{
	json_t *plan = json_object_get(m, "safety_plan"), *display;
	const char *status;

	status = json_string_value(json_object_get(plan, "status"));
	display = cpa_db_json(ctx->arena, r, 0, "display");
	json_object_set(m, "display", display != NULL ? display : json_object());
	json_object_set_new(m, "superseded", json_boolean(status != NULL &&
	    strcmp(status, "superseded") == 0));
	json_object_set_new(m, "title", json_string(cpa_sprintf(ctx->arena,
	    "Safety plan: %s", cpa_person_name(ctx->arena, json_object_get(plan,
	    "service_user")))));
}

int
risk_safety_plan(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id"), su, site;
	const char *param;
	json_t *plan, *m;
	PGresult *r;

	cpa_db_begin(ctx);
	if ((r = cpa_fetch_one(ctx, &q_safety_plan, id, "safety_plan")) == NULL)
		return CPA_OK;
	param = cpa_id_param(ctx->arena, id);
	su = cpa_db_ll(r, 0, "service_user_id");
	site = cpa_db_ll(r, 0, "site_id");
	if (!cpa_db_flag(r, 0, "covered")) {
		cpa_deny(ctx, 403, "You can only see safety plans of your own teams' people",
		    "safety_plan", param, su, site, NULL);
		return CPA_OK;
	}
	if ((plan = cpa_db_json(ctx->arena, r, 0, "safety_plan")) == NULL) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	cpa_audit(ctx, "read", "safety_plan", param, su, site, NULL);
	m = json_pack("{s:O}", "safety_plan", plan);
	if (!ctx->req.wants_json)
		plan_view(ctx, r, m);
	cpa_commit_render(ctx, 200, "risk_safety_plan", m);
	return CPA_OK;
}
