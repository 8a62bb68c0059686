/*
 * people.c - the drill-down from a figure of a team (or of one of its
 * care coordinators) to the people behind it, now: everyone with an
 * overdue review, a risk assessment not in date, no current care plan,
 * no carer recorded and so on (dash_people, read live, not from the
 * summaries).
 *
 * Names are patient data: the team must be one the caller sees on
 * dashboards (403 otherwise) and a clinical role of the caller must cover
 * it (team and district managers; trust admins and auditors see figures
 * but not names: 403 saying so).  Every list shown is audited with what
 * it showed.
 */
#include <string.h>

#include "dashboard.h"

#define NAMES_MESSAGE \
	"Names are shown only to clinical staff of the team, such as its team " \
	"and district managers; trust admins and auditors see the figures only"

/* $1 the team, $2 the coordinator or NULL (the whole team), $3 the
 * figure.  The people are read only when the caller may see them. */
static const struct cpa_stmt q_people = {
	"dash_people_list",
	"WITH " DASH_VISIBLE ","
	" sc AS (SELECT t.id, t.name, t.site_id, s.name AS site_name,"
	"  t.district_id, d.name AS district_name FROM team t"
	"  JOIN district d ON d.id = t.district_id JOIN site s ON s.id = t.site_id"
	"  WHERE t.id = $1::bigint),"
	" co AS (SELECT st.id, st.display_name FROM staff st WHERE st.id = $2::bigint),"
	" ok AS (SELECT EXISTS (SELECT 1 FROM sc) AS found,"
	"  EXISTS (SELECT 1 FROM vis v WHERE v.team_id = $1::bigint) AS allowed,"
	"  " CALLER_COVERS("$1::bigint") " AS names,"
	"  $2::bigint IS NULL OR EXISTS (SELECT 1 FROM co) AS coordinator_found)"
	" SELECT ok.found, ok.allowed, ok.names, ok.coordinator_found,"
	"  (SELECT sc.site_id FROM sc) AS site_id,"
	"  (SELECT json_build_object('id', sc.id, 'name', sc.name) FROM sc) AS team,"
	"  (SELECT json_build_object('id', co.id, 'name', co.display_name) FROM co)"
	"   AS coordinator,"
	"  (SELECT json_build_array(json_build_object('kind', 'site', 'id', sc.site_id,"
	"   'name', sc.site_name), json_build_object('kind', 'district',"
	"   'id', sc.district_id, 'name', sc.district_name)) FROM sc) AS crumbs,"
	"  CASE WHEN ok.found AND ok.allowed AND ok.names AND ok.coordinator_found"
	"   THEN dash_people($1::bigint, $2::bigint, $3::text) END AS people"
	" FROM ok",
	3
};

enum { PF_FIGURE = DF_NEXT, PF_COORDINATOR };
static const struct cpa_field people_fields[] = {
	DASH_PERIOD_FIELDS,
	{ "figure", "Figure", CPA_FT_ENUM, CPA_FF_REQUIRED, 0, 0, dash_people_figures },
	{ "coordinator", "Care coordinator", CPA_FT_ID, 0, 0, 0, NULL },
};

/* ------------------------------------------------------------ the page */

/* What is missing for one person, as the page's tags say it. */
static json_t *
missing(const json_t *p, const char *today, const char *figure)
{
	const char *review = json_string_value(json_object_get(p, "review_due_date"));
	const char *risk = json_string_value(json_object_get(p, "risk_review_due"));
	int carer = json_is_true(json_object_get(p, "with_carer"));
	int plan = json_is_true(json_object_get(p, "plan_current"));
	json_t *list = json_array();
	const struct {
		int when;
		const char *text;
	} tags[] = {
		{ review != NULL && strcmp(review, today) < 0, "CPA review overdue" },
		{ risk == NULL || strcmp(risk, today) < 0, "Risk assessment not in date" },
		{ json_is_true(json_object_get(p, "risk_awaiting")),
		    "Risk assessment waiting for approval" },
		{ !plan, "No current care plan" },
		{ plan && !json_is_true(json_object_get(p, "plan_copy_user")),
		    "Plan not given to the person" },
		{ strcmp(figure, "no_copy_carer") == 0, "Plan not given to their carer" },
		{ !carer, "No carer recorded" },
		{ carer && !json_is_true(json_object_get(p, "carer_consent")),
		    "No consent decision for their carer" },
		{ carer && !json_is_true(json_object_get(p, "carer_offered")),
		    "Carer not offered an assessment" },
	};
	size_t i;

	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (tags[i].when)
			json_array_append_new(list, json_string(tags[i].text));
	return list;
}

/* A text member of o, "" when it has none. */
static const char *
member_text(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static const char *
nhs_number_text(cpa_arena *a, const char *s)
{
	if (s == NULL || strlen(s) != 10)
		return s != NULL ? s : "Not recorded";
	return cpa_sprintf(a, "%.3s %.3s %.4s", s, s + 3, s + 6);
}

static const char *
date_or(const json_t *v, const char *none, cpa_arena *a)
{
	json_t *t = cpa_date_text(json_string_value(v), NULL);
	const char *s = json_is_string(t) ? cpa_strdup(a, json_string_value(t)) : none;

	json_decref(t);
	return s;
}

static json_t *
html_model(struct cpa_ctx *ctx, const struct dash_query *q, const json_t *model,
    const json_t *crumb_list, const char *figure)
{
	cpa_arena *a = ctx->arena;
	const json_t *team = json_object_get(model, "team");
	const json_t *co = json_object_get(model, "coordinator");
	const json_t *people = json_object_get(model, "people"), *p, *su, *c;
	long long team_id = json_integer_value(json_object_get(team, "id"));
	const char *label = json_string_value(json_object_get(model, "figure_label"));
	const char *level;
	json_t *rows = json_array(), *crumbs = json_array();
	size_t i;

	json_array_foreach(people, i, p) {
		su = json_object_get(p, "service_user");
		level = cpa_label(cpa_episode_levels, cpa_episode_level_labels,
		    json_string_value(json_object_get(p, "level")));
		json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o}",
		    "href", cpa_sprintf(a, "/service-users/%lld",
		    (long long)json_integer_value(json_object_get(su, "id"))),
		    "name", cpa_sprintf(a, "%s, %s",
		    member_text(su, "family_name"), member_text(su, "given_name")),
		    "nhs_number", nhs_number_text(a, json_string_value(json_object_get(su,
		    "nhs_number"))),
		    "level", level != NULL ? level : "Not set",
		    "review_due", date_or(json_object_get(p, "review_due_date"), "none due", a),
		    "risk_review_due", date_or(json_object_get(p, "risk_review_due"),
		    "no approved assessment", a),
		    "missing", missing(p, q->today, figure)));
	}
	json_array_append_new(crumbs, json_pack("{s:s,s:s}", "name", DASH_TRUST_NAME,
	    "href", cpa_sprintf(a, "/dashboard?%s", q->period)));
	json_array_foreach(crumb_list, i, c)
		json_array_append_new(crumbs, json_pack("{s:O,s:s}", "name",
		    json_object_get(c, "name"), "href", cpa_sprintf(a, "/dashboard/%ss/%lld?%s",
		    json_string_value(json_object_get(c, "kind")),
		    (long long)json_integer_value(json_object_get(c, "id")), q->period)));
	json_array_append_new(crumbs, json_pack("{s:O,s:s}", "name",
	    json_object_get(team, "name"), "href", cpa_sprintf(a,
	    "/dashboard/teams/%lld?%s", team_id, q->period)));
	return json_pack("{s:s,s:s,s:O,s:o,s:i,s:o,s:o,s:s,s:s}",
	    "title", cpa_sprintf(a, "%s: %s", label, json_string_value(json_object_get(team,
	    "name"))), "figure_label", label, "team_name", json_object_get(team, "name"),
	    "coordinator_name", json_is_object(co) ? json_incref(json_object_get(co, "name")) :
	    json_null(), "count", (int)json_array_size(people), "people", rows,
	    "crumbs", crumbs, "back_href", cpa_sprintf(a, "/dashboard/teams/%lld?%s",
	    team_id, q->period), "csv_href", cpa_sprintf(a,
	    "/dashboard/teams/%lld/people?%s&figure=%s%s&format=csv", team_id, q->period,
	    figure, json_is_object(co) ? cpa_sprintf(a, "&coordinator=%lld",
	    (long long)json_integer_value(json_object_get(co, "id"))) : ""));
}

static void
send_csv(struct cpa_ctx *ctx, long long team_id, long long co_id, const char *figure,
    const json_t *model)
{
	const char *team = json_string_value(json_object_get(json_object_get(model, "team"),
	    "name"));
	const json_t *p, *su;
	struct cpa_buf b;
	size_t i;

	cpa_buf_init(&b, ctx->arena);
	dash_csv_header(&b);
	json_array_foreach(json_object_get(model, "people"), i, p) {
		su = json_object_get(p, "service_user");
		dash_csv_group(&b, team, "service_user", json_object_get(su, "id"),
		    cpa_sprintf(ctx->arena, "%s %s",
		    member_text(su, "given_name"), member_text(su, "family_name")), p, NULL);
	}
	dash_send_csv(ctx, &b, co_id > 0 ? cpa_sprintf(ctx->arena,
	    "dashboard-people-%lld-%lld-%s.csv", team_id, co_id, figure) :
	    cpa_sprintf(ctx->arena, "dashboard-people-%lld-%s.csv", team_id, figure));
}

int
dash_people(struct cpa_ctx *ctx)
{
	const char *params[3], *figure, *label;
	struct dash_query q;
	json_t *model, *people, *crumb_list;
	long long id, co_id, site_id;
	PGresult *r;

	if (dash_query_read(ctx, people_fields, CPA_NFIELDS(people_fields), &q) != CPA_OK)
		return CPA_OK;
	if ((id = cpa_param_id(&ctx->req, "id")) <= 0) {
		cpa_not_found(ctx, "team", cpa_param(&ctx->req, "id"));
		return CPA_OK;
	}
	figure = q.in.values[PF_FIGURE].str;
	co_id = q.in.values[PF_COORDINATOR].present ? q.in.values[PF_COORDINATOR].num : 0;
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = cpa_id_param(ctx->arena, co_id);
	params[2] = figure;
	cpa_db_begin(ctx);
	if ((r = cpa_db_exec(ctx, &q_people, params)) == NULL || PQntuples(r) != 1) {
		cpa_error_rc(ctx, r == NULL ? ctx->db_rc : CPA_ERR);
		return CPA_OK;
	}
	site_id = cpa_db_ll(r, 0, "site_id");
	if (!cpa_db_flag(r, 0, "found")) {
		cpa_not_found(ctx, "team", params[0]);
		return CPA_OK;
	}
	if (!cpa_db_flag(r, 0, "allowed")) {
		cpa_deny(ctx, 403, DASH_DENY_MESSAGE, "dashboard_people", params[0], 0,
		    site_id, cpa_sprintf(ctx->arena, "people of team %s, a team not managed",
		    params[0]));
		return CPA_OK;
	}
	if (!cpa_db_flag(r, 0, "names")) {
		cpa_deny(ctx, 403, NAMES_MESSAGE, "dashboard_people", params[0], 0, site_id,
		    cpa_sprintf(ctx->arena, "people of team %s, figure %s, without a "
		    "clinical role in the team", params[0], figure));
		return CPA_OK;
	}
	if (!cpa_db_flag(r, 0, "coordinator_found")) {
		cpa_not_found(ctx, "staff", params[1]);
		return CPA_OK;
	}
	if ((people = cpa_db_json(ctx->arena, r, 0, "people")) == NULL ||
	    (crumb_list = cpa_db_json(ctx->arena, r, 0, "crumbs")) == NULL) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	label = cpa_label(dash_people_figures, dash_people_labels, figure);
	model = json_pack("{s:O,s:o,s:s,s:s,s:O}", "team",
	    cpa_db_json(ctx->arena, r, 0, "team"), "coordinator",
	    co_id > 0 ? json_incref(cpa_db_json(ctx->arena, r, 0, "coordinator")) :
	    json_null(), "figure", figure, "figure_label", label, "people", people);
	if (model == NULL) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	cpa_json_keep(ctx->arena, model);
	cpa_audit(ctx, "read", "dashboard_people", params[0], 0, site_id,
	    cpa_sprintf(ctx->arena, "team %s, coordinator %s, figure %s: %zu shown, %s",
	    params[0], params[1] != NULL ? params[1] : "all", figure,
	    json_array_size(people), q.csv ? "csv" : ctx->req.wants_json ? "json" :
	    "page"));
	if (cpa_commit_or_fail(ctx, NULL) != CPA_OK)
		return CPA_OK;
	if (q.csv)
		send_csv(ctx, id, co_id, figure, model);
	else if (ctx->req.wants_json)
		dash_send_json(ctx, model);
	else
		cpa_render(ctx, 200, "dashboard_people", html_model(ctx, &q, model,
		    crumb_list, figure));
	return CPA_OK;
}
