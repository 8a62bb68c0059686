/*
 * dashboard.h - the cpa-dashboard worker's handlers, and what its files
 * share.
 * scope.c: the dashboard of the caller's whole area, a site, a district
 * and a team (figures, children, monthly trend).
 * compare.c: districts side by side, and by kind of district.
 * people.c: the drill-down from a team's (or a coordinator's) figure to
 * the people behind it.
 * figures.c: how pages show the figures: labels, percentages with their
 * counts, sections and tables.
 * chart.c: SVG charts as a model of numbers for a template.
 * csv.c: the CSV downloads, flattened from the JSON model.
 * shared.c: the query (period, format), UK days, JSON and CSV answers.
 *
 * The figures come from sql/011_dashboard.sql (dash_figures, dash_trend,
 * dash_people and the summary tables); who may see which teams is decided
 * here, in each handler's one statement, from my_team.
 */
#ifndef CPA_DASHBOARD_H
#define CPA_DASHBOARD_H

#include "cpa.h"
#include "cpa_sql.h"

/* The roles that see dashboards, as route roles and as an SQL list. */
#define DASH_ROLES (CPA_ROLE_TEAM_MANAGER | CPA_ROLE_DISTRICT_MANAGER | \
	CPA_ROLE_TRUST_ADMIN | CPA_ROLE_AUDITOR)
#define DASH_ROLES_SQL \
	"('team_manager', 'district_manager', 'trust_admin', 'auditor')"
/* The teams the caller may see on dashboards, a CTE named vis (one row
 * per team: team_id, site_id, district_id). */
#define DASH_VISIBLE \
	"vis AS (SELECT DISTINCT m.team_id, m.site_id, m.district_id FROM my_team m" \
	" WHERE m.role IN " DASH_ROLES_SQL ")"
/* When the summaries were last refreshed, as ISO 8601 text. */
#define DASH_AS_OF \
	"(SELECT to_json(ds.refreshed_at) #>> '{}' FROM dash_state ds)"

#define DASH_DENY_MESSAGE \
	"You can see dashboards only for the teams and districts you manage"
/* What the whole area is called (the scope of kind "trust"). */
#define DASH_TRUST_NAME "All your teams"

/* ------------------------------------------------------------ shared.c */

/* The query fields every page takes first, in this order. */
#define DASH_PERIOD_FIELDS \
	{ "from", "From", CPA_FT_DATE, 0, 0, 0, NULL }, \
	{ "to", "To", CPA_FT_DATE, 0, 0, 0, NULL }, \
	{ "format", "Format", CPA_FT_ENUM, 0, 0, 0, dash_formats }
enum { DF_FROM, DF_TO, DF_FORMAT, DF_NEXT };
extern const char *const dash_formats[];	/* csv, json, html */

/* A page's query, read and checked.  Strings live in the request arena. */
struct dash_query {
	struct cpa_input in;	/* every field of the page's table */
	char from[11];		/* the period's first and last UK days */
	char to[11];
	char today[11];		/* today's UK day */
	int csv;		/* ?format=csv */
	const char *period;	/* "from=...&to=...", for links */
};

/* Read the query against fields (DASH_PERIOD_FIELDS first) and settle
 * the period: to defaults to today, from to 12 months before to plus a
 * day.  format=json makes the answer JSON.  CPA_OK, or the 422 already
 * answered (JSON naming every field, a page the first problem): a
 * malformed value, from after to, to after today, a period over five
 * years. */
int dash_query_read(struct cpa_ctx *ctx, const struct cpa_field *fields,
    size_t nfields, struct dash_query *q);
/* Today's UK calendar day as YYYY-MM-DD in out (11 bytes). */
void dash_uk_today(char out[11]);

/* The member of v at a dotted path ("reviews.on_time_share"; a numeric
 * segment indexes an array), or NULL. */
const json_t *dash_path(const json_t *v, const char *path);

/* Answer 200 with model (borrowed) as JSON (cpa_json_write). */
void dash_send_json(struct cpa_ctx *ctx, const json_t *model);
/* Answer 200 with csv as a download named filename (only [A-Za-z0-9._-]
 * expected). */
void dash_send_csv(struct cpa_ctx *ctx, const struct cpa_buf *csv,
    const char *filename);

/* ----------------------------------------------------------- figures.c */

/* Words for a page, in the arena.  A share (0..1, 3 decimals) as
 * "72%" or "72.5%"; "no data" for NULL or JSON null. */
const char *dash_pct(cpa_arena *a, const json_t *share);
/* "72% (360 of 500)", or "no data" when share is null. */
const char *dash_share_text(cpa_arena *a, const json_t *share, const json_t *num,
    const json_t *den);
/* The same from counts alone ("no data" when den is 0). */
const char *dash_ratio_text(cpa_arena *a, long long num, long long den);
/* A number as the page shows it: integers as they are, reals with at
 * most two decimals and no trailing zeros; "no data" for null. */
const char *dash_num_text(cpa_arena *a, const json_t *v);

/* When the summaries were made, in words ("23 November 2026 at 14:16"),
 * or "not yet" when as_of is NULL: a new string. */
json_t *dash_as_of_text(const char *as_of);

/* A table for dashboard_table.html: {caption, small, head: [{text,
 * numeric}], rows: []} (small: in a smaller type).  Every item carries every key its template names (null
 * when empty), so nothing is inherited from outer contexts. */
json_t *dash_table(const char *caption, const char *const *head, size_t nhead);
/* Append a row {th, href, cells: []} to table; returns the row's cells. */
json_t *dash_table_row(json_t *table, const char *th, const char *href);
/* Append a cell {text, sub, href} to cells (sub, href may be NULL). */
void dash_table_cell(json_t *cells, const char *text, const char *sub, const char *href);

/* The sections of a scope page for figures (a dash_figures row) in the
 * contract's order: [{id, heading, when, rows: [{label, text, href,
 * link_text}], tables: [table]}].  people_base, when not NULL, is the
 * drill-down URL of a team ("/dashboard/teams/3/people?from=..&to=.."):
 * the figures that have a list of people link to it. */
json_t *dash_sections(cpa_arena *a, const json_t *figures, const char *people_base);
/* A table with one row per group (children of a scope page): key
 * figures, the group's name linking to href (query appended). */
json_t *dash_groups_table(cpa_arena *a, const char *caption, const char *first,
    const json_t *groups, const char *query);
/* A table with the key figures as rows and one column per group:
 * names[i] heads the column of figures[i]. */
json_t *dash_matrix(cpa_arena *a, const char *caption, const char *const *names,
    const json_t *const *figures, size_t n);
/* The drill-down lists, parallel NULL-terminated arrays: codes (the
 * contract's figure names), headings. */
extern const char *const dash_people_figures[];
extern const char *const dash_people_labels[];

/* ------------------------------------------------------------- chart.c */

#define CHART_WIDTH 640
#define CHART_HEIGHT 280

enum chart_kind { CHART_BARS, CHART_LINES };

/* One series: n values, NaN where there is no data. */
struct chart_series {
	const char *name;
	const double *values;
};

/* What a chart shows.  x_labels are months "YYYY-MM" (other text is
 * shown as it is).  percent: values are 0..100 and the axis is fixed at
 * 0..100; integer: ticks fall on whole numbers. */
struct chart_spec {
	const char *id;
	const char *title;
	const char *y_label;
	enum chart_kind kind;
	int percent;
	int integer;
	const char *const *x_labels;
	size_t n;
	const struct chart_series *series;
	size_t nseries;
};

/* A nice axis for values up to max: *step is 1, 2, 2.5 or 5 times a
 * power of ten (whole when integer), *top the least multiple of it at or
 * above max (one step when max <= 0 or not finite). */
void chart_scale(double max, int integer, double *top, double *step);
/* The model dashboard_chart.html draws (a new object): every coordinate
 * inside the CHART_WIDTH x CHART_HEIGHT viewBox, ticks and labels as
 * text, "desc" a sentence saying what the chart shows.  Never fails for
 * 0 or 1 months or no data (then "no_data" is true). */
json_t *chart_model(const struct chart_spec *spec);
/* "November 2025" for "2025-11" (arena); s itself when malformed. */
const char *chart_month_words(cpa_arena *a, const char *s);
/* "Nov 2025" for "2025-11", the same way, with space (UTF-8) between. */
const char *chart_month_abbr(cpa_arena *a, const char *s, const char *space);

/* --------------------------------------------------------------- csv.c */

/* The CSV of the dashboard: header "scope,group_kind,group_id,
 * group_name,figure,value" and rows written by dash_csv_group. */
void dash_csv_header(struct cpa_buf *b);
/* One field of RFC 4180: quoted when it holds a comma, a quote, CR or
 * LF; text (not a number) starting with = + - @, tab or CR gets a
 * leading ' first, so a spreadsheet never reads it as a formula. */
void dash_csv_field(struct cpa_buf *b, const char *s, int text);
/* One row per leaf of v (borrowed): figure is the leaf's dotted path,
 * an array's objects named by their first text member (spaces become
 * underscores; that member is not a row), other array items by index;
 * value as cpa_json_write prints it (text as it is, null empty).  skip:
 * NULL or a NULL-terminated list of v's own members to leave out.
 * id may be NULL (empty). */
void dash_csv_group(struct cpa_buf *b, const char *scope, const char *kind,
    const json_t *id, const char *name, const json_t *v,
    const char *const *skip);
/* dash_csv_group for each member of an array of groups ({kind, id, name,
 * figures} or flat like a coordinator's), kind from the group's own
 * "kind" or default_kind; a group's figures are its "figures" when it has
 * them, else its members but kind, id, name and href. */
void dash_csv_groups(struct cpa_buf *b, const char *scope, const char *default_kind,
    const json_t *groups);

/* ------------------------------------------------------------- scope.c */

int dash_trust(struct cpa_ctx *ctx);
int dash_site(struct cpa_ctx *ctx);
int dash_district(struct cpa_ctx *ctx);
int dash_team(struct cpa_ctx *ctx);

/* ----------------------------------------------------------- compare.c */

int dash_compare(struct cpa_ctx *ctx);

/* ------------------------------------------------------------ people.c */

int dash_people(struct cpa_ctx *ctx);

#endif
