/*
 * caseload.c - the carers of a care coordinator's caseload (or a
 * manager's teams): for each person with an open episode, how many carers
 * they have and which are young, and what is missing: no carer recorded,
 * a carer with no consent decision, a consent due for review, a carer
 * never offered an assessment, an offer not acted on in time.
 *
 * One statement per scope reads every person of the scope with what is
 * missing, the list (filtered by "show") and the counts (over the whole
 * scope, so the page's filters can say how many each would show).  The
 * read is audited once, with the counts.
 */
#include <string.h>

#include "carers.h"

/* The people of the open episodes named by WHERE (a condition on e), by
 * family name, shown when $1 (all, no_carer, consent_due, never_offered)
 * lets them, and the counts over all of them.  lk is their current
 * carers, one row each; agg and ov gather them by person (one pass each,
 * not a look-up per person, so a district's list stays cheap). */
#define CASELOAD(WHERE) \
	"WITH ep AS (SELECT e.id, e.service_user_id, e.team_id, e.coordinator_id" \
	"  FROM episode e WHERE e.ended_at IS NULL AND " WHERE ")," \
	" lk AS (SELECT l.id, l.service_user_id, l.current_consent_id IS NULL AS missing," \
	"  c.given_name || ' ' || c.family_name AS carer_name," \
	"  carer_is_young(c.date_of_birth, c.young_carer) AS young, cc.review_on," \
	"  cc.scope <> 'none' AND cc.review_on <= current_date AS review_due," \
	"  NOT EXISTS (SELECT 1 FROM carer_assessment a" \
	"   WHERE a.service_user_id = l.service_user_id AND a.carer_link_id = l.id)" \
	"   AS never_offered" \
	"  FROM carer_link l JOIN carer c ON c.id = l.carer_id" \
	"  LEFT JOIN carer_consent cc ON cc.id = l.current_consent_id" \
	"  WHERE l.ended_on IS NULL" \
	"  AND l.service_user_id IN (SELECT ep.service_user_id FROM ep))," \
	" agg AS (SELECT lk.service_user_id, count(*) AS carers," \
	"  count(*) FILTER (WHERE lk.young) AS young_carers," \
	"  json_agg(json_build_object('carer_link_id', lk.id, 'carer_name', lk.carer_name)" \
	"   ORDER BY lk.carer_name, lk.id) FILTER (WHERE lk.missing) AS consent_missing," \
	"  json_agg(json_build_object('carer_link_id', lk.id, 'carer_name', lk.carer_name," \
	"   'review_on', lk.review_on) ORDER BY lk.review_on, lk.id)" \
	"   FILTER (WHERE lk.review_due) AS consent_review_due," \
	"  json_agg(json_build_object('carer_link_id', lk.id, 'carer_name', lk.carer_name)" \
	"   ORDER BY lk.carer_name, lk.id) FILTER (WHERE lk.never_offered) AS never_offered" \
	"  FROM lk GROUP BY lk.service_user_id)," \
	" ov AS (SELECT a.service_user_id, count(*) AS n FROM carer_assessment a" \
	"  JOIN site s ON s.id = a.site_id WHERE a.status IN ('offered', 'accepted')" \
	"  AND a.offered_on + s.carer_assessment_act_within < current_date" \
	"  AND a.service_user_id IN (SELECT ep.service_user_id FROM ep)" \
	"  GROUP BY a.service_user_id)," \
	" f AS (SELECT ep.*, su.given_name, su.family_name, " PERSON_SUMMARY_JSON " AS su_json," \
	"  t.name AS team_name, co.display_name AS coordinator_name," \
	"  coalesce(agg.carers, 0) AS carers, coalesce(agg.young_carers, 0) AS young_carers," \
	"  coalesce(agg.consent_missing, '[]') AS consent_missing," \
	"  coalesce(agg.consent_review_due, '[]') AS consent_review_due," \
	"  coalesce(agg.never_offered, '[]') AS never_offered," \
	"  coalesce(ov.n, 0) AS assessments_overdue, agg.carers IS NULL AS no_carer," \
	"  agg.consent_missing IS NOT NULL AS any_missing," \
	"  agg.consent_review_due IS NOT NULL AS any_due," \
	"  agg.never_offered IS NOT NULL AS any_never" \
	"  FROM ep JOIN service_user su ON su.id = ep.service_user_id" \
	"  JOIN team t ON t.id = ep.team_id LEFT JOIN staff co ON co.id = ep.coordinator_id" \
	"  LEFT JOIN agg ON agg.service_user_id = ep.service_user_id" \
	"  LEFT JOIN ov ON ov.service_user_id = ep.service_user_id)" \
	" SELECT coalesce(json_agg(json_build_object('service_user', f.su_json," \
	"  'episode_id', f.id, 'team_name', f.team_name," \
	"  'coordinator', CASE WHEN f.coordinator_id IS NOT NULL THEN json_build_object(" \
	"   'id', f.coordinator_id, 'display_name', f.coordinator_name) END," \
	"  'carers', f.carers, 'young_carers', f.young_carers, 'no_carer', f.no_carer," \
	"  'consent_missing', f.consent_missing, 'consent_review_due', f.consent_review_due," \
	"  'never_offered', f.never_offered, 'assessments_overdue', f.assessments_overdue)" \
	"  ORDER BY lower(f.family_name), lower(f.given_name), f.service_user_id, f.id)" \
	"  FILTER (WHERE $1::text = 'all' OR ($1::text = 'no_carer' AND f.no_carer)" \
	"  OR ($1::text = 'consent_due' AND f.any_due)" \
	"  OR ($1::text = 'never_offered' AND f.any_never)), '[]') AS people," \
	" json_build_object('people', count(*)," \
	"  'no_carer', count(*) FILTER (WHERE f.no_carer)," \
	"  'consent_missing', count(*) FILTER (WHERE f.any_missing)," \
	"  'consent_review_due', count(*) FILTER (WHERE f.any_due)," \
	"  'never_offered', count(*) FILTER (WHERE f.any_never)) AS counts," \
	" coalesce(sum(f.assessments_overdue), 0) AS overdue" \
	" FROM f"

static const struct cpa_stmt q_mine = {
	"carers_caseload_mine",
	CASELOAD("e.coordinator_id = cpa_user_id()"),
	1
};

static const struct cpa_stmt q_team = {
	"carers_caseload_team",
	CASELOAD("e.team_id IN " CALLER_MANAGED_TEAMS),
	1
};

/* ------------------------------------------------------------ input */

static const char *const scope_codes[] = { "mine", "team", NULL };
static const char *const show_codes[] = {
	"all", "no_carer", "consent_due", "never_offered", NULL
};
/* The page's filter links, parallel to show_codes. */
static const char *const show_labels[] = {
	"Everyone", "No carer recorded", "Consent due for review",
	"Carer never offered an assessment", NULL
};
/* The count each filter shows beside it, parallel to show_codes. */
static const char *const show_counts[] = {
	"people", "no_carer", "consent_review_due", "never_offered", NULL
};

enum { LF_SCOPE, LF_SHOW };
static const struct cpa_field list_fields[] = {
	{ "scope", "Scope", CPA_FT_ENUM, 0, 0, 0, scope_codes },
	{ "show", "Filter", CPA_FT_ENUM, 0, 0, 0, show_codes },
};

/* ------------------------------------------------------------ the page */

/* For HTML only: beside each count a template shows only when it is not
 * zero, "<key>_any" and "<key>_many" (more than one); dates in words. */
static void
present_member(json_t *add, const char *key, const json_t *value, void *arg)
{
	static const char *const counted[] = {
		"young_carers", "assessments_overdue", NULL
	};
	size_t i;

	for (i = 0; counted[i] != NULL; i++)
		if (strcmp(key, counted[i]) == 0) {
			cpa_json_beside(add, key, "_any",
			    json_boolean(json_integer_value(value) > 0));
			cpa_json_beside(add, key, "_many",
			    json_boolean(json_integer_value(value) > 1));
		}
	cpa_date_words(add, key, value, arg);
}

/* The page's filters: {value, label, count, current, href} for each. */
static json_t *
show_filters(struct cpa_ctx *ctx, const char *scope, const char *show,
    const json_t *counts)
{
	json_t *list = json_array();
	size_t i;

	for (i = 0; show_codes[i] != NULL; i++)
		json_array_append_new(list, json_pack("{s:s,s:s,s:O,s:b,s:s}",
		    "value", show_codes[i], "label", show_labels[i], "count",
		    json_object_get(counts, show_counts[i]), "current",
		    strcmp(show, show_codes[i]) == 0, "href", cpa_sprintf(ctx->arena,
		    "/carers?scope=%s&show=%s", scope, show_codes[i])));
	return list;
}

int
carers_caseload(struct cpa_ctx *ctx)
{
	const char *params[1], *scope, *show;
	struct cpa_input in;
	json_t *people, *counts, *m;
	long long overdue;
	int manager;
	PGresult *r;

	if (cpa_query_read(ctx, list_fields, CPA_NFIELDS(list_fields), &in) != CPA_OK)
		return CPA_OK;
	show = in.values[LF_SHOW].present ? in.values[LF_SHOW].str : "all";
	cpa_db_begin(ctx);
	if ((scope = cpa_list_scope(ctx, &in.values[LF_SCOPE], "carer_list", "carers",
	    &manager)) == NULL)
		return CPA_OK;
	params[0] = show;
	r = cpa_db_exec(ctx, strcmp(scope, "team") == 0 ? &q_team : &q_mine, params);
	if (r == NULL || PQntuples(r) != 1 ||
	    (people = cpa_db_json(ctx->arena, r, 0, "people")) == NULL ||
	    (counts = cpa_db_json(ctx->arena, r, 0, "counts")) == NULL) {
		cpa_error_rc(ctx, r == NULL ? ctx->db_rc : CPA_ERR);
		return CPA_OK;
	}
	overdue = cpa_db_ll(r, 0, "overdue");
	cpa_audit(ctx, "read", "carer_list", NULL, 0, 0, cpa_sprintf(ctx->arena,
	    "scope %s, show %s: %zu shown; %lld people, %lld no carer, %lld consent missing,"
	    " %lld consent review due, %lld never offered", scope, show,
	    json_array_size(people),
	    (long long)json_integer_value(json_object_get(counts, "people")),
	    (long long)json_integer_value(json_object_get(counts, "no_carer")),
	    (long long)json_integer_value(json_object_get(counts, "consent_missing")),
	    (long long)json_integer_value(json_object_get(counts, "consent_review_due")),
	    (long long)json_integer_value(json_object_get(counts, "never_offered"))));
	m = json_pack("{s:s,s:s,s:O,s:O}", "scope", scope, "show", show, "people", people,
	    "counts", counts);
	if (!ctx->req.wants_json) {
		cpa_list_page(m, scope, manager, overdue, "Carers in your teams",
		    "Carers of the people you coordinate");
		json_object_set_new(m, "filters", show_filters(ctx, scope, show, counts));
		json_object_set_new(m, "overdue_count", json_integer(overdue));
		json_object_set_new(m, "filtered", json_boolean(strcmp(show, "all") != 0));
		json_object_set_new(m, "show_label", json_string(cpa_label(show_codes,
		    show_labels, show)));
		cpa_json_annotate(m, present_member, NULL);
	}
	cpa_commit_render(ctx, 200, "carers_caseload", m);
	return CPA_OK;
}
