/*
 * compare.c - districts side by side: the key figures of every district
 * the caller may see (or those of one site, ?site=ID), each with its kind
 * (integrated or separate health and social care; inclusive or targeted
 * eligibility), then the same figures by kind of district: integrated
 * against separate, inclusive against targeted.  HTML, JSON or CSV.
 *
 * One statement reads it all over the caller's teams (intersected with
 * the site's), so a district counts only the teams the caller manages.
 */
#include <string.h>

#include "dashboard.h"

/* $1 the site or NULL (every site), $2 from, $3 to. */
static const struct cpa_stmt q_compare = {
	"dash_compare",
	"WITH " DASH_VISIBLE ","
	" sc AS (SELECT s.id, s.name FROM site s WHERE s.id = $1::bigint),"
	" tm AS (SELECT coalesce(array_agg(v.team_id ORDER BY v.team_id), '{}') AS ids"
	"  FROM vis v WHERE $1::bigint IS NULL OR v.site_id IN (SELECT sc.id FROM sc))"
	" SELECT $1::bigint IS NULL OR EXISTS (SELECT 1 FROM sc) AS found,"
	"  $1::bigint IS NULL OR cardinality(tm.ids) > 0 AS allowed,"
	"  (SELECT json_build_object('id', sc.id, 'name', sc.name) FROM sc) AS site,"
	"  " DASH_AS_OF " AS as_of,"
	"  (SELECT coalesce(json_agg(json_build_object('id', d.id, 'name', d.name,"
	"   'site', json_build_object('id', s.id, 'name', s.name),"
	"   'integrated', d.integrated, 'inclusive', d.inclusive, 'figures', f.figures)"
	"   ORDER BY s.name, s.id, d.name, d.id), '[]')"
	"   FROM dash_figures(tm.ids, $2::date, $3::date, 'district') f"
	"   JOIN district d ON d.id = f.group_id JOIN site s ON s.id = d.site_id)"
	"   AS districts,"
	"  (SELECT coalesce(json_agg(json_build_object('integrated', f.group_id = 1,"
	"   'figures', f.figures) ORDER BY f.group_id DESC), '[]')"
	"   FROM dash_figures(tm.ids, $2::date, $3::date, 'integrated') f) AS by_integrated,"
	"  (SELECT coalesce(json_agg(json_build_object('inclusive', f.group_id = 1,"
	"   'figures', f.figures) ORDER BY f.group_id DESC), '[]')"
	"   FROM dash_figures(tm.ids, $2::date, $3::date, 'inclusive') f) AS by_inclusive"
	" FROM tm",
	3
};

enum { CF_SITE = DF_NEXT };
static const struct cpa_field compare_fields[] = {
	DASH_PERIOD_FIELDS,
	{ "site", "Site", CPA_FT_ID, 0, 0, 0, NULL },
};

/* A kind of district: its member in by_<kind> and the words for yes and
 * no. */
struct district_kind {
	const char *key;
	const char *yes;
	const char *no;
};

static const struct district_kind kinds[] = {
	{ "integrated", "Integrated health and social care",
	    "Separate health and social care" },
	{ "inclusive", "Inclusive eligibility", "Targeted eligibility" },
};

static const char *
kind_words(const struct district_kind *k, const json_t *o)
{
	return json_is_true(json_object_get(o, k->key)) ? k->yes : k->no;
}

/* ------------------------------------------------------------ CSV */

static void
send_csv(struct cpa_ctx *ctx, const struct dash_query *q, long long site_id,
    const json_t *model)
{
	static const char *scope = "Districts compared";
	const json_t *g;
	struct cpa_buf b;
	json_t *id;
	size_t i, k;

	cpa_buf_init(&b, ctx->arena);
	dash_csv_header(&b);
	json_array_foreach(json_object_get(model, "districts"), i, g)
		dash_csv_group(&b, scope, "district", json_object_get(g, "id"),
		    json_string_value(json_object_get(g, "name")),
		    json_object_get(g, "figures"), NULL);
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		json_array_foreach(json_object_get(model, cpa_sprintf(ctx->arena, "by_%s",
		    kinds[k].key)), i, g) {
			id = json_integer(json_is_true(json_object_get(g, kinds[k].key)));
			dash_csv_group(&b, scope, kinds[k].key, id, kind_words(&kinds[k], g),
			    json_object_get(g, "figures"), NULL);
			json_decref(id);
		}
	dash_send_csv(ctx, &b, cpa_sprintf(ctx->arena, "dashboard-compare-%lld-%s-%s.csv",
	    site_id, q->from, q->to));
}

/* ------------------------------------------------------------ the page */

/* The key figures of the groups of by (by_integrated or by_inclusive)
 * side by side, or null when there are none. */
static json_t *
kind_matrix(cpa_arena *a, const struct district_kind *k, const json_t *by,
    const char *caption)
{
	const char *names[2];
	const json_t *figs[2], *g;
	size_t i, n = 0;

	json_array_foreach(by, i, g) {
		if (n == 2)
			break;
		names[n] = kind_words(k, g);
		figs[n++] = json_object_get(g, "figures");
	}
	return n > 0 ? dash_matrix(a, caption, names, figs, n) : json_null();
}

static json_t *
html_model(struct cpa_ctx *ctx, const struct dash_query *q, const json_t *model,
    const json_t *site)
{
	cpa_arena *a = ctx->arena;
	const json_t *districts = json_object_get(model, "districts"), *g;
	size_t n = json_array_size(districts), i;
	const char **names = cpa_alloc(a, (n + 1) * sizeof(*names));
	const json_t **figs = cpa_alloc(a, (n + 1) * sizeof(*figs));
	const char *site_name = json_string_value(json_object_get(site, "name"));
	long long site_id = json_integer_value(json_object_get(site, "id"));
	const char *path = site_name != NULL ? cpa_sprintf(a, "/dashboard/compare?site=%lld",
	    site_id) : "/dashboard/compare";
	json_t *cols = json_array(), *period;

	json_array_foreach(districts, i, g) {
		names[i] = json_string_value(json_object_get(g, "name"));
		figs[i] = json_object_get(g, "figures");
		json_array_append_new(cols, json_pack("{s:O,s:s,s:s,s:s,s:s}", "name",
		    json_object_get(g, "name"), "site", json_string_value(json_object_get(
		    json_object_get(g, "site"), "name")), "integrated",
		    kind_words(&kinds[0], g), "inclusive", kind_words(&kinds[1], g),
		    "href", cpa_sprintf(a, "/dashboard/districts/%lld?%s",
		    (long long)json_integer_value(json_object_get(g, "id")), q->period)));
	}
	period = json_pack("{s:s,s:s,s:o,s:o,s:s,s:s,s:s,s:n,s:o,s:o}", "from", q->from,
	    "to", q->to, "from_text", cpa_date_text(q->from, NULL), "to_text",
	    cpa_date_text(q->to, NULL), "action", "/dashboard/compare", "csv_href",
	    cpa_sprintf(a, "%s%s%s&format=csv", path, site_name != NULL ? "&" : "?",
	    q->period), "json_href", cpa_sprintf(a, "/api/v1%s%s%s", path,
	    site_name != NULL ? "&" : "?", q->period), "compare_href",
	    "as_of_text", dash_as_of_text(json_string_value(json_object_get(model, "as_of"))),
	    "site_id", site_name != NULL ? json_integer(site_id) : json_null());
	return json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:s,s:s}",
	    "title", site_name != NULL ? cpa_sprintf(a, "Districts compared: %s",
	    site_name) : "Districts compared",
	    "site", site_name != NULL ? json_string(site_name) : json_null(),
	    "districts", cols,
	    "matrix", n > 0 ? dash_matrix(a, "Key figures of each district", names, figs,
	    n) : json_null(),
	    "by_integrated", kind_matrix(a, &kinds[0], json_object_get(model,
	    "by_integrated"), "Key figures: integrated against separate health and "
	    "social care"),
	    "by_inclusive", kind_matrix(a, &kinds[1], json_object_get(model,
	    "by_inclusive"), "Key figures: inclusive against targeted eligibility"),
	    "period", period,
	    "back_href", cpa_sprintf(a, "%s?%s", site_name != NULL ? cpa_sprintf(a,
	    "/dashboard/sites/%lld", site_id) : "/dashboard", q->period),
	    "back_text", site_name != NULL ? site_name : DASH_TRUST_NAME);
}

int
dash_compare(struct cpa_ctx *ctx)
{
	const char *params[3];
	struct dash_query q;
	json_t *model, *site;
	long long site_id;
	PGresult *r;

	if (dash_query_read(ctx, compare_fields, CPA_NFIELDS(compare_fields), &q) != CPA_OK)
		return CPA_OK;
	site_id = q.in.values[CF_SITE].present ? q.in.values[CF_SITE].num : 0;
	params[0] = cpa_id_param(ctx->arena, site_id);
	params[1] = q.from;
	params[2] = q.to;
	cpa_db_begin(ctx);
	if ((r = cpa_db_exec(ctx, &q_compare, params)) == NULL || PQntuples(r) != 1) {
		cpa_error_rc(ctx, r == NULL ? ctx->db_rc : CPA_ERR);
		return CPA_OK;
	}
	if (!cpa_db_flag(r, 0, "found")) {
		cpa_not_found(ctx, "site", params[0]);
		return CPA_OK;
	}
	if (!cpa_db_flag(r, 0, "allowed")) {
		cpa_deny(ctx, 403, DASH_DENY_MESSAGE, "site", params[0], 0, site_id,
		    cpa_sprintf(ctx->arena, "districts compared at site %lld, no team of it "
		    "managed", site_id));
		return CPA_OK;
	}
	site = cpa_db_json(ctx->arena, r, 0, "site");
	model = json_pack("{s:s,s:s,s:o,s:O,s:O,s:O}", "from", q.from, "to", q.to,
	    "as_of", cpa_db_get(r, 0, "as_of") != NULL ?
	    json_string(cpa_db_get(r, 0, "as_of")) : json_null(),
	    "districts", cpa_db_json(ctx->arena, r, 0, "districts"),
	    "by_integrated", cpa_db_json(ctx->arena, r, 0, "by_integrated"),
	    "by_inclusive", cpa_db_json(ctx->arena, r, 0, "by_inclusive"));
	if (model == NULL) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	cpa_json_keep(ctx->arena, model);
	cpa_audit(ctx, "read", "dashboard", "compare", 0, site_id, cpa_sprintf(ctx->arena,
	    "districts compared, site %s, period %s to %s, %s", params[0] != NULL ?
	    params[0] : "all", q.from, q.to, q.csv ? "csv" : ctx->req.wants_json ? "json" :
	    "page"));
	if (cpa_commit_or_fail(ctx, NULL) != CPA_OK)
		return CPA_OK;
	if (q.csv)
		send_csv(ctx, &q, site_id, model);
	else if (ctx->req.wants_json)
		dash_send_json(ctx, model);
	else
		cpa_render(ctx, 200, "dashboard_compare", html_model(ctx, &q, model, site));
	return CPA_OK;
}
