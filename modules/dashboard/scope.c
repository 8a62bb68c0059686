/*
 * scope.c - the dashboard of a scope: the caller's whole area ("trust":
 * every team they may see, across their sites), a site, a district or a
 * team.  Each page shows the scope's figures (dash_figures 'all'), its
 * children (sites or districts, districts, teams, or a team's care
 * coordinators from dash_coordinator_now) and the monthly trend
 * (dash_trend), as HTML with SVG charts, as JSON, or as CSV.
 *
 * One statement per kind of scope finds the scope (row-level security
 * hides other sites: 404), the teams of it the caller may see on
 * dashboards (none: 403), and reads everything in the same round trip.
 * Only those teams ever reach dash_figures, so no figure counts anyone
 * outside them.  Every read is audited.
 */
#include <math.h>
#include <string.h>

#include "dashboard.h"

/* The figures of tm.ids for the period F..T (SQL parameters), the trend
 * and when the summaries were made. */
#define SCOPE_FIGURES(F, T) \
	" (SELECT f.figures FROM tm CROSS JOIN LATERAL dash_figures(tm.ids, " F "::date," \
	"  " T "::date, 'all') f) AS figures," \
	" (SELECT dash_trend(tm.ids, " F "::date, " T "::date) FROM tm) AS trend," \
	" " DASH_AS_OF " AS as_of"

/* The children of kind KIND (a table of that name) grouped BY. */
#define SCOPE_CHILDREN(KIND, BY, F, T) \
	" (SELECT coalesce(json_agg(json_build_object('kind', '" KIND "', 'id', g.id," \
	"  'name', g.name, 'href', '/dashboard/" KIND "s/' || g.id, 'figures', f.figures)" \
	"  ORDER BY g.name, g.id), '[]')" \
	"  FROM tm CROSS JOIN LATERAL dash_figures(tm.ids, " F "::date, " T "::date," \
	"  '" BY "') f JOIN " KIND " g ON g.id = f.group_id) AS children"

/* $1 from, $2 to.  The children are the sites when the caller sees more
 * than one, else the districts of the one. */
static const struct cpa_stmt q_trust = {
	"dash_scope_trust",
	"WITH " DASH_VISIBLE ","
	" tm AS (SELECT coalesce(array_agg(v.team_id ORDER BY v.team_id), '{}') AS ids,"
	"  count(DISTINCT v.site_id) AS nsites, min(v.site_id) AS site_id FROM vis v)"
	" SELECT true AS found, true AS allowed,"
	"  CASE WHEN tm.nsites = 1 THEN tm.site_id END AS site_id,"
	"  json_build_object('kind', 'trust', 'id', 0, 'name', '" DASH_TRUST_NAME "',"
	"   'site', (SELECT json_build_object('id', s.id, 'name', s.name) FROM site s"
	"   WHERE tm.nsites = 1 AND s.id = tm.site_id)) AS scope,"
	"  '[]'::json AS crumbs, false AS names,"
	"  (SELECT coalesce(json_agg(json_build_object('kind', g.kind, 'id', g.id,"
	"   'name', g.name, 'href', '/dashboard/' || g.kind || 's/' || g.id,"
	"   'figures', f.figures) ORDER BY g.name, g.id), '[]')"
	"   FROM dash_figures(tm.ids, $1::date, $2::date,"
	"   CASE WHEN tm.nsites > 1 THEN 'site' ELSE 'district' END) f"
	"   JOIN (SELECT 'site' AS kind, s.id, s.name FROM site s WHERE tm.nsites > 1"
	"   UNION ALL SELECT 'district', d.id, d.name FROM district d"
	"   WHERE tm.nsites <= 1) g ON g.id = f.group_id) AS children,"
	SCOPE_FIGURES("$1", "$2")
	" FROM tm",
	2
};

/* $1 the site, $2 from, $3 to. */
static const struct cpa_stmt q_site = {
	"dash_scope_site",
	"WITH " DASH_VISIBLE ","
	" sc AS (SELECT s.id, s.name FROM site s WHERE s.id = $1::bigint),"
	" tm AS (SELECT coalesce(array_agg(v.team_id ORDER BY v.team_id), '{}') AS ids"
	"  FROM vis v WHERE v.site_id IN (SELECT sc.id FROM sc))"
	" SELECT EXISTS (SELECT 1 FROM sc) AS found, cardinality(tm.ids) > 0 AS allowed,"
	"  (SELECT sc.id FROM sc) AS site_id,"
	"  (SELECT json_build_object('kind', 'site', 'id', sc.id, 'name', sc.name) FROM sc)"
	"   AS scope,"
	"  '[]'::json AS crumbs, false AS names,"
	SCOPE_CHILDREN("district", "district", "$2", "$3") ","
	SCOPE_FIGURES("$2", "$3")
	" FROM tm",
	3
};

/* $1 the district, $2 from, $3 to. */
static const struct cpa_stmt q_district = {
	"dash_scope_district",
	"WITH " DASH_VISIBLE ","
	" sc AS (SELECT d.id, d.name, d.integrated, d.inclusive, s.id AS site_id,"
	"  s.name AS site_name FROM district d JOIN site s ON s.id = d.site_id"
	"  WHERE d.id = $1::bigint),"
	" tm AS (SELECT coalesce(array_agg(v.team_id ORDER BY v.team_id), '{}') AS ids"
	"  FROM vis v WHERE v.district_id IN (SELECT sc.id FROM sc))"
	" SELECT EXISTS (SELECT 1 FROM sc) AS found, cardinality(tm.ids) > 0 AS allowed,"
	"  (SELECT sc.site_id FROM sc) AS site_id,"
	"  (SELECT json_build_object('kind', 'district', 'id', sc.id, 'name', sc.name,"
	"   'site', json_build_object('id', sc.site_id, 'name', sc.site_name),"
	"   'integrated', sc.integrated, 'inclusive', sc.inclusive) FROM sc) AS scope,"
	"  (SELECT json_build_array(json_build_object('kind', 'site', 'id', sc.site_id,"
	"   'name', sc.site_name)) FROM sc) AS crumbs, false AS names,"
	SCOPE_CHILDREN("team", "team", "$2", "$3") ","
	SCOPE_FIGURES("$2", "$3")
	" FROM tm",
	3
};

/* $1 the team, $2 from, $3 to.  The children are the team's care
 * coordinators, with their figures now; names: the caller may see the
 * people behind them. */
static const struct cpa_stmt q_team = {
	"dash_scope_team",
	"WITH " DASH_VISIBLE ","
	" sc AS (SELECT t.id, t.name, d.id AS district_id, d.name AS district_name,"
	"  s.id AS site_id, s.name AS site_name FROM team t"
	"  JOIN district d ON d.id = t.district_id JOIN site s ON s.id = t.site_id"
	"  WHERE t.id = $1::bigint),"
	" tm AS (SELECT coalesce(array_agg(v.team_id), '{}') AS ids"
	"  FROM vis v WHERE v.team_id IN (SELECT sc.id FROM sc))"
	" SELECT EXISTS (SELECT 1 FROM sc) AS found, cardinality(tm.ids) > 0 AS allowed,"
	"  (SELECT sc.site_id FROM sc) AS site_id,"
	"  (SELECT json_build_object('kind', 'team', 'id', sc.id, 'name', sc.name,"
	"   'site', json_build_object('id', sc.site_id, 'name', sc.site_name)) FROM sc)"
	"   AS scope,"
	"  (SELECT json_build_array(json_build_object('kind', 'site', 'id', sc.site_id,"
	"   'name', sc.site_name), json_build_object('kind', 'district',"
	"   'id', sc.district_id, 'name', sc.district_name)) FROM sc) AS crumbs,"
	"  " CALLER_COVERS("$1::bigint") " AS names,"
	"  (SELECT coalesce(json_agg(json_build_object('kind', 'coordinator',"
	"   'id', c.coordinator_id,"
	"   'name', coalesce(st.display_name, 'Care coordinator ' || c.coordinator_id),"
	"   'caseload', c.caseload, 'level_standard', c.level_standard,"
	"   'level_enhanced', c.level_enhanced, 'level_complex', c.level_complex,"
	"   'level_non_cpa', c.level_non_cpa, 'level_personalised', c.level_personalised,"
	"   'review_overdue', c.review_overdue, 'review_oldest_due', c.review_oldest_due,"
	"   'risk_in_date', c.risk_in_date, 'risk_awaiting', c.risk_awaiting,"
	"   'plan_current', c.plan_current, 'plan_copy_user', c.plan_copy_user,"
	"   'carer_may_have_plan', c.carer_may_have_plan,"
	"   'plan_copy_carer', c.plan_copy_carer, 'with_carer', c.with_carer,"
	"   'carer_consent', c.carer_consent, 'carer_offered', c.carer_offered,"
	"   'carer_completed', c.carer_completed)"
	"   ORDER BY lower(coalesce(st.display_name, '')), c.coordinator_id), '[]')"
	"   FROM dash_coordinator_now c LEFT JOIN staff st ON st.id = c.coordinator_id"
	"   WHERE c.team_id = ANY (tm.ids)) AS children,"
	SCOPE_FIGURES("$2", "$3")
	" FROM tm",
	3
};

/* What differs between the kinds of scope. */
struct scope_kind {
	const char *kind;
	const struct cpa_stmt *stmt;
	const char *path;		/* the page, less its id */
	const char *kind_text;		/* what the heading's caption says */
	const char *children_heading;
	const char *first_column;
};

static const struct scope_kind trust_kind = {
	"trust", &q_trust, "/dashboard", NULL, NULL, NULL
};
static const struct scope_kind site_kind = {
	"site", &q_site, "/dashboard/sites/", "Site", "Districts", "District"
};
static const struct scope_kind district_kind = {
	"district", &q_district, "/dashboard/districts/", "District", "Teams", "Team"
};
static const struct scope_kind team_kind = {
	"team", &q_team, "/dashboard/teams/", "Team", "Care coordinators",
	"Care coordinator"
};

static const struct cpa_field scope_fields[] = {
	DASH_PERIOD_FIELDS,
};

/* ------------------------------------------------------------ the trend */

/* The values at key of each month, times scale; NaN for null. */
static double *
trend_values(cpa_arena *a, const json_t *trend, const char *key, double scale)
{
	size_t n = json_array_size(trend), i;
	double *v = cpa_alloc(a, (n + 1) * sizeof(*v));
	const json_t *x;

	for (i = 0; i < n; i++) {
		x = json_object_get(json_array_get(trend, i), key);
		v[i] = json_is_number(x) ? json_number_value(x) * scale : NAN;
	}
	return v;
}

/* A column of the table beside a chart: the trend key shown under head;
 * when num is set, key is a share, shown as a percentage with "num of
 * den" (trend keys too) under it. */
struct trend_column {
	const char *head;
	const char *key;
	const char *num;
	const char *den;
};

static json_t *
trend_table(cpa_arena *a, const char *caption, const json_t *trend,
    const struct trend_column *cols, size_t ncols)
{
	const char *head[8];
	json_t *t, *cells;
	const json_t *mo, *v, *num;
	size_t i, k;

	head[0] = "Month";
	for (k = 0; k < ncols && k < 7; k++)
		head[k + 1] = cols[k].head;
	t = dash_table(caption, head, k + 1);
	json_object_set_new(t, "small", json_true());
	json_array_foreach(trend, i, mo) {
		cells = dash_table_row(t, chart_month_abbr(a,
		    json_string_value(json_object_get(mo, "month")), "\xc2\xa0"), NULL);
		for (k = 0; k < ncols && k < 7; k++) {
			v = json_object_get(mo, cols[k].key);
			if (cols[k].num == NULL) {
				dash_table_cell(cells, dash_num_text(a, v), NULL, NULL);
				continue;
			}
			num = json_object_get(mo, cols[k].num);
			dash_table_cell(cells, dash_pct(a, v), json_is_number(v) ?
			    cpa_sprintf(a, "%s of %s", dash_num_text(a, num),
			    dash_num_text(a, json_object_get(mo, cols[k].den))) : NULL, NULL);
		}
	}
	return t;
}

static json_t *
trend_charts(cpa_arena *a, const json_t *trend)
{
	static const struct trend_column referral_cols[] = {
		{ "Received", "referrals_received", NULL, NULL },
		{ "Decided late", "referrals_breached", NULL, NULL },
	};
	static const struct trend_column review_cols[] = {
		{ "Reviews on time", "reviews_on_time_share", "reviews_on_time",
		    "reviews_held" },
		{ "Follow-ups in 72 hours", "followups_met_share", "followups_met",
		    "followups_due" },
	};
	static const struct trend_column contact_cols[] = {
		{ "Contacts", "contacts", NULL, NULL },
		{ "Per person per month", "contacts_per_person_month", NULL, NULL },
	};
	static const struct trend_column caseload_cols[] = {
		{ "Caseload", "caseload_end", NULL, NULL },
	};
	size_t n = json_array_size(trend), i;
	const char **labels = cpa_alloc(a, (n + 1) * sizeof(*labels));
	struct chart_series received[1], reviews[2], contacts[1], caseload[1];
	struct chart_spec sp[4];
	json_t *list = json_array();

	for (i = 0; i < n; i++) {
		labels[i] = json_string_value(json_object_get(json_array_get(trend, i),
		    "month"));
		if (labels[i] == NULL)
			labels[i] = "";
	}
	received[0] = (struct chart_series){ "Referrals received",
	    trend_values(a, trend, "referrals_received", 1) };
	reviews[0] = (struct chart_series){ "Reviews held on time",
	    trend_values(a, trend, "reviews_on_time_share", 100) };
	reviews[1] = (struct chart_series){ "Followed up within 72 hours",
	    trend_values(a, trend, "followups_met_share", 100) };
	contacts[0] = (struct chart_series){ "Contacts per person per month",
	    trend_values(a, trend, "contacts_per_person_month", 1) };
	caseload[0] = (struct chart_series){ "Caseload at the end of the month",
	    trend_values(a, trend, "caseload_end", 1) };
	sp[0] = (struct chart_spec){ "chart-referrals", "Referrals received",
	    "Referrals", CHART_BARS, 0, 1, labels, n, received, 1 };
	sp[1] = (struct chart_spec){ "chart-reviews",
	    "Reviews held on time and follow-ups within 72 hours",
	    "Per cent", CHART_LINES, 1, 0, labels, n, reviews, 2 };
	sp[2] = (struct chart_spec){ "chart-contacts", "Contacts per person per month",
	    "Contacts per person", CHART_LINES, 0, 0, labels, n, contacts, 1 };
	sp[3] = (struct chart_spec){ "chart-caseload", "Caseload at the end of each month",
	    "People", CHART_LINES, 0, 1, labels, n, caseload, 1 };
	json_array_append_new(list, json_pack("{s:o,s:o}", "chart", chart_model(&sp[0]),
	    "table", trend_table(a, "Referrals by month (decided late: after the deadline)",
	    trend, referral_cols, 2)));
	json_array_append_new(list, json_pack("{s:o,s:o}", "chart", chart_model(&sp[1]),
	    "table", trend_table(a, "Reviews on time and follow-ups within 72 hours by "
	    "month", trend, review_cols, 2)));
	json_array_append_new(list, json_pack("{s:o,s:o}", "chart", chart_model(&sp[2]),
	    "table", trend_table(a, "Contacts by month", trend, contact_cols, 2)));
	json_array_append_new(list, json_pack("{s:o,s:o}", "chart", chart_model(&sp[3]),
	    "table", trend_table(a, "Caseload at the end of each month", trend,
	    caseload_cols, 1)));
	return list;
}

/* ------------------------------------------------------------ coordinators */

/* A column of the team's coordinators table: the count shown is value,
 * or of_total less value when of_total is set (those without); it links
 * to the drill-down list figure. */
static const struct {
	const char *head;
	const char *value;
	const char *of_total;
	const char *figure;
} coordinator_columns[] = {
	{ "Caseload", "caseload", NULL, "caseload" },
	{ "Review overdue", "review_overdue", NULL, "review_overdue" },
	{ "Risk not in date", "risk_in_date", "caseload", "risk_not_in_date" },
	{ "Risk awaiting approval", "risk_awaiting", NULL, "risk_awaiting" },
	{ "No current plan", "plan_current", "caseload", "no_plan" },
	{ "Plan not given to person", "plan_copy_user", "plan_current", "no_copy_user" },
	{ "Plan not given to carer", "plan_copy_carer", "carer_may_have_plan",
	    "no_copy_carer" },
	{ "No carer", "with_carer", "caseload", "no_carer" },
	{ "Carer: no consent decision", "carer_consent", "with_carer",
	    "carer_no_consent" },
	{ "Carer not offered assessment", "carer_offered", "with_carer",
	    "carer_not_offered" },
};
#define NCOORD (sizeof(coordinator_columns) / sizeof(coordinator_columns[0]))

/* people_base: the drill-down URL with its query begun, or NULL when the
 * caller may not see names. */
static json_t *
coordinators_table(cpa_arena *a, const json_t *children, const char *people_base)
{
	const char *head[NCOORD + 1];
	json_t *t, *cells;
	const json_t *c;
	long long n;
	size_t i, k;

	head[0] = "Care coordinator";
	for (k = 0; k < NCOORD; k++)
		head[k + 1] = coordinator_columns[k].head;
	t = dash_table("Care coordinators now: how many of their people each column "
	    "counts", head, NCOORD + 1);
	json_object_set_new(t, "small", json_true());
	json_array_foreach(children, i, c) {
		cells = dash_table_row(t, json_string_value(json_object_get(c, "name")),
		    NULL);
		for (k = 0; k < NCOORD; k++) {
			n = json_integer_value(json_object_get(c, coordinator_columns[k].value));
			if (coordinator_columns[k].of_total != NULL)
				n = json_integer_value(json_object_get(c,
				    coordinator_columns[k].of_total)) - n;
			dash_table_cell(cells, cpa_sprintf(a, "%lld", n), NULL,
			    people_base != NULL && n > 0 ? cpa_sprintf(a,
			    "%s&figure=%s&coordinator=%lld", people_base,
			    coordinator_columns[k].figure,
			    (long long)json_integer_value(json_object_get(c, "id"))) : NULL);
		}
	}
	return t;
}

/* ------------------------------------------------------------ the page */

/* The breadcrumb: the whole area, then the scope's site and district
 * (list: [{kind, id, name}]). */
static json_t *
crumbs(struct cpa_ctx *ctx, const json_t *list, const char *period)
{
	json_t *out = json_array();
	const json_t *c;
	size_t i;

	json_array_append_new(out, json_pack("{s:s,s:s}", "name", DASH_TRUST_NAME, "href",
	    cpa_sprintf(ctx->arena, "/dashboard?%s", period)));
	json_array_foreach(list, i, c)
		json_array_append_new(out, json_pack("{s:O,s:s}", "name",
		    json_object_get(c, "name"), "href", cpa_sprintf(ctx->arena,
		    "/dashboard/%ss/%lld?%s", json_string_value(json_object_get(c, "kind")),
		    (long long)json_integer_value(json_object_get(c, "id")), period)));
	return out;
}

/* The period form and the page's links (shared with the compare page's
 * template through dashboard_period.html). */
static json_t *
period_model(struct cpa_ctx *ctx, const struct dash_query *q, const char *path,
    const char *compare, const char *as_of)
{
	json_t *from = cpa_date_text(q->from, NULL), *to = cpa_date_text(q->to, NULL);
	json_t *m;

	m = json_pack("{s:s,s:s,s:o,s:o,s:s,s:s,s:s,s:o,s:o,s:n}", "from", q->from, "to",
	    q->to, "from_text", from, "to_text", to, "action", path, "csv_href",
	    cpa_sprintf(ctx->arena, "%s?%s&format=csv", path, q->period), "json_href",
	    cpa_sprintf(ctx->arena, "/api/v1%s?%s", path, q->period), "compare_href",
	    compare != NULL ? json_string(cpa_sprintf(ctx->arena, "%s%s%s", compare,
	    strchr(compare, '?') != NULL ? "&" : "?", q->period)) : json_null(),
	    "as_of_text", dash_as_of_text(as_of), "site_id");
	return m;
}

/* The heading of the children's table and its first column. */
static void
children_words(const struct scope_kind *k, const json_t *children, const char **heading,
    const char **first)
{
	const char *kind = json_string_value(json_object_get(json_array_get(children, 0),
	    "kind"));

	*heading = k->children_heading;
	*first = k->first_column;
	if (*heading == NULL) {
		*heading = kind != NULL && strcmp(kind, "site") == 0 ? "Sites" : "Districts";
		*first = kind != NULL && strcmp(kind, "site") == 0 ? "Site" : "District";
	}
}

static json_t *
html_model(struct cpa_ctx *ctx, const struct scope_kind *k, const struct dash_query *q,
    const json_t *model, const json_t *crumb_list, const char *path, long long site_id,
    int names)
{
	cpa_arena *a = ctx->arena;
	const json_t *scope = json_object_get(model, "scope");
	const json_t *figures = json_object_get(model, "figures");
	const json_t *children = json_object_get(model, "children");
	const char *name = json_string_value(json_object_get(scope, "name"));
	const char *people_base = NULL, *heading, *first;
	json_t *m, *tags = json_array(), *lists = json_null(), *table;
	long long id = json_integer_value(json_object_get(scope, "id"));
	int team = strcmp(k->kind, "team") == 0;
	size_t i;

	if (strcmp(k->kind, "district") == 0) {
		json_array_append_new(tags, json_string(json_is_true(json_object_get(scope,
		    "integrated")) ? "Integrated health and social care" :
		    "Separate health and social care"));
		json_array_append_new(tags, json_string(json_is_true(json_object_get(scope,
		    "inclusive")) ? "Inclusive eligibility" : "Targeted eligibility"));
	}
	if (team && names) {
		people_base = cpa_sprintf(a, "/dashboard/teams/%lld/people?%s", id, q->period);
		lists = json_array();
		for (i = 0; dash_people_figures[i] != NULL; i++)
			json_array_append_new(lists, json_pack("{s:s,s:s}", "label",
			    dash_people_labels[i], "href", cpa_sprintf(a, "%s&figure=%s",
			    people_base, dash_people_figures[i])));
	}
	children_words(k, children, &heading, &first);
	if (json_array_size(children) == 0)
		table = json_null();
	else if (team)
		table = coordinators_table(a, children, people_base);
	else
		table = dash_groups_table(a, k->stmt == &q_trust ? cpa_sprintf(a,
		    "%s: key figures", heading) : cpa_sprintf(a, "%s of %s: key figures",
		    heading, name), first, children, q->period);
	m = json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:b,s:o,s:o,s:o,s:s,s:b,s:b,s:o}",
	    "title", cpa_sprintf(a, "Dashboard: %s", name), "name", name,
	    "kind_text", k->kind_text != NULL ? json_string(k->kind_text) : json_null(),
	    "tags", tags, "crumbs", k->stmt == &q_trust ? json_array() :
	    crumbs(ctx, crumb_list, q->period),
	    "period", period_model(ctx, q, path, site_id > 0 ? cpa_sprintf(a,
	    "/dashboard/compare?site=%lld", site_id) : "/dashboard/compare",
	    json_string_value(json_object_get(model, "as_of"))),
	    "has_figures", json_is_object(figures),
	    "sections", json_is_object(figures) ? dash_sections(a, figures, people_base) :
	    json_array(), "children_table", table, "lists", lists,
	    "children_heading", heading, "is_team", team,
	    "names_hidden", team && !names,
	    "charts", trend_charts(a, json_object_get(model, "trend")));
	return m;
}

static void
send_csv(struct cpa_ctx *ctx, const char *kind, long long id, const struct dash_query *q,
    const json_t *model)
{
	static const char *const month_key[] = { "month", NULL };
	const json_t *scope = json_object_get(model, "scope"), *mo;
	const char *name = json_string_value(json_object_get(scope, "name"));
	struct cpa_buf b;
	size_t i;

	cpa_buf_init(&b, ctx->arena);
	dash_csv_header(&b);
	dash_csv_group(&b, name, kind, json_object_get(scope, "id"), name,
	    json_object_get(model, "figures"), NULL);
	dash_csv_groups(&b, name, NULL, json_object_get(model, "children"));
	json_array_foreach(json_object_get(model, "trend"), i, mo)
		dash_csv_group(&b, name, "month", json_object_get(mo, "month"),
		    json_string_value(json_object_get(mo, "month")), mo, month_key);
	dash_send_csv(ctx, &b, cpa_sprintf(ctx->arena, "dashboard-%s-%lld-%s-%s.csv", kind,
	    id, q->from, q->to));
}

/* Column col of r's row as JSON (a new reference), or fallback (stolen)
 * when it is SQL NULL. */
static json_t *
column_json(struct cpa_ctx *ctx, const PGresult *r, const char *col, json_t *fallback)
{
	json_t *v = cpa_db_json(ctx->arena, r, 0, col);

	if (v == NULL)
		return fallback;
	json_decref(fallback);
	return json_incref(v);
}

static int
scope_page(struct cpa_ctx *ctx, const struct scope_kind *k)
{
	const char *params[3], *idtext = NULL, *path;
	json_t *model, *scope, *crumb_list;
	struct dash_query q;
	long long id = 0, site_id;
	int trust = k->stmt == &q_trust, names;
	PGresult *r;
	size_t np = 0;

	if (dash_query_read(ctx, scope_fields, CPA_NFIELDS(scope_fields), &q) != CPA_OK)
		return CPA_OK;
	if (!trust) {
		idtext = cpa_param(&ctx->req, "id");
		if ((id = cpa_param_id(&ctx->req, "id")) <= 0) {
			cpa_not_found(ctx, k->kind, idtext);
			return CPA_OK;
		}
		params[np++] = cpa_id_param(ctx->arena, id);
		idtext = params[0];
	}
	params[np++] = q.from;
	params[np++] = q.to;
	cpa_db_begin(ctx);
	if ((r = cpa_db_exec(ctx, k->stmt, params)) == NULL || PQntuples(r) != 1) {
		cpa_error_rc(ctx, r == NULL ? ctx->db_rc : CPA_ERR);
		return CPA_OK;
	}
	if (!cpa_db_flag(r, 0, "found")) {
		cpa_not_found(ctx, k->kind, idtext);
		return CPA_OK;
	}
	site_id = cpa_db_ll(r, 0, "site_id");
	if (!cpa_db_flag(r, 0, "allowed")) {
		cpa_deny(ctx, 403, DASH_DENY_MESSAGE, k->kind, idtext, 0, site_id,
		    cpa_sprintf(ctx->arena, "dashboard of %s %s, no team of it managed",
		    k->kind, idtext));
		return CPA_OK;
	}
	if ((scope = cpa_db_json(ctx->arena, r, 0, "scope")) == NULL ||
	    (crumb_list = cpa_db_json(ctx->arena, r, 0, "crumbs")) == NULL) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	if (json_is_null(json_object_get(scope, "site")))
		json_object_del(scope, "site");
	names = cpa_db_flag(r, 0, "names");
	model = json_pack("{s:O,s:s,s:s,s:o,s:o,s:o,s:o}", "scope", scope, "from", q.from,
	    "to", q.to, "as_of", cpa_db_get(r, 0, "as_of") != NULL ?
	    json_string(cpa_db_get(r, 0, "as_of")) : json_null(),
	    "figures", column_json(ctx, r, "figures", json_null()),
	    "children", column_json(ctx, r, "children", json_array()),
	    "trend", column_json(ctx, r, "trend", json_array()));
	cpa_json_keep(ctx->arena, model);
	cpa_audit(ctx, "read", "dashboard", trust ? "trust" : idtext, 0, site_id,
	    cpa_sprintf(ctx->arena, "scope %s %lld, period %s to %s, %s", k->kind, id,
	    q.from, q.to, q.csv ? "csv" : ctx->req.wants_json ? "json" : "page"));
	if (cpa_commit_or_fail(ctx, NULL) != CPA_OK)
		return CPA_OK;
	if (q.csv)
		send_csv(ctx, k->kind, id, &q, model);
	else if (ctx->req.wants_json)
		dash_send_json(ctx, model);
	else {
		path = trust ? k->path : cpa_sprintf(ctx->arena, "%s%lld", k->path, id);
		cpa_render(ctx, 200, "dashboard_scope", html_model(ctx, k, &q, model,
		    crumb_list, path, site_id, names));
	}
	return CPA_OK;
}

int
dash_trust(struct cpa_ctx *ctx)
{
	return scope_page(ctx, &trust_kind);
}

int
dash_site(struct cpa_ctx *ctx)
{
	return scope_page(ctx, &site_kind);
}

int
dash_district(struct cpa_ctx *ctx)
{
	return scope_page(ctx, &district_kind);
}

int
dash_team(struct cpa_ctx *ctx)
{
	return scope_page(ctx, &team_kind);
}
