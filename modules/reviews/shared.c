/*
 * shared.c - what the cpa-reviews handlers have in common: the kinds of
 * reminder, and the model of a person's page listing records with
 * follow-ups (contacts, admissions).  What other workers share too (a
 * person's page with its access checks, list scopes, answers) is in
 * common/page.c.
 */
#include "reviews.h"

const char *const reminder_kinds[] = {
	"cpa_review", "risk_review", "followup", "carer_assessment", NULL
};

json_t *
person_page_model(struct cpa_ctx *ctx, const struct person_page *p, long long id,
    int audit, json_t **form)
{
	json_t *m, *records, *followups, *su;
	PGresult *r;

	*form = NULL;
	if ((r = cpa_person_page_load(ctx, p->st, id, ctx->req.wants_json ? "false" : "true",
	    p->records)) == NULL)
		return NULL;
	records = cpa_db_json(ctx->arena, r, 0, p->records);
	followups = cpa_db_json(ctx->arena, r, 0, "followups");
	su = cpa_db_json(ctx->arena, r, 0, "service_user");
	if (records == NULL || followups == NULL || su == NULL) {
		cpa_error(ctx, 500, NULL);
		return NULL;
	}
	if (audit)
		cpa_audit(ctx, "read", p->entity, NULL, id, cpa_db_ll(r, 0, "site_id"),
		    cpa_sprintf(ctx->arena, "%zu %s, %zu %s", json_array_size(records),
		    p->records, json_array_size(followups), p->followups));
	m = json_pack("{s:O,s:O}", p->records, records, "followups", followups);
	if (ctx->req.wants_json)
		return m;
	json_object_set(m, "service_user", su);
	json_object_set_new(m, "title", json_string(cpa_sprintf(ctx->arena, "%s: %s",
	    p->title, cpa_person_name(ctx->arena, su))));
	*form = cpa_db_json(ctx->arena, r, 0, "form");
	return m;
}

