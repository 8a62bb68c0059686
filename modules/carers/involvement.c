/*
 * involvement.c - each time a carer was involved in the person's care:
 * the person's timeline, and what is recorded by hand (information about
 * medication or how to complain given, a contact, anything else).
 *
 * Most involvement is written where it happens, by 010's triggers (a
 * review held with the carer there, a care plan written with them or
 * copied to them, a risk discussion, a contact with them present); this
 * file only reads those rows.  Recording by hand is one statement: the
 * access checks, the choice of carer (the one named, else the person's
 * only current carer) and the insert.  Reading or recording needs a
 * clinical role covering the person's open episode's team (403,
 * audited); row-level security hides other sites' people (404).
 */
#include <string.h>

#include "carers.h"

/* The access flags of a person's carer records, for person P. */
#define PERSON_ACCESS(P) \
	CARERS_HAS_EPISODE(P) " AS has_episode, " CARERS_COVERED(P) " AS covered"

/* $1 person: their timeline, newest first (the latest 200), with what
 * cpa_person_page_load needs.  No row: no such person at the caller's
 * sites. */
static const struct cpa_stmt q_list = {
	"carer_involvement_list",
	"SELECT su.id AS service_user_id, su.site_id, " PERSON_ACCESS("su.id") ","
	" " CARER_INVOLVEMENT_JSON("su.id", "200") " AS involvement"
	" FROM service_user su WHERE su.id = $1::bigint",
	1
};

/* Recording involvement by hand in one statement.  $1 person, $2 kind,
 * $3 carer link or NULL (the person's only current carer), $4 occurred on
 * or NULL (today), $5 note.  No row: no such person at the caller's
 * sites. */
static const struct cpa_stmt q_add = {
	"carer_involvement_add",
	"WITH cur AS (SELECT su.id, su.site_id, " PERSON_ACCESS("su.id") ","
	"  (SELECT count(*) FROM carer_link l WHERE l.service_user_id = su.id"
	"   AND l.ended_on IS NULL) AS carers,"
	"  (SELECT min(l.id) FROM carer_link l WHERE l.service_user_id = su.id"
	"   AND l.ended_on IS NULL) AS first_link,"
	"  EXISTS (SELECT 1 FROM carer_link l WHERE l.id = $3::bigint"
	"   AND l.service_user_id = su.id AND l.ended_on IS NULL) AS link_ok"
	"  FROM service_user su WHERE su.id = $1::bigint),"
	" chk AS (SELECT cur.*, coalesce($3::bigint, CASE WHEN cur.carers = 1"
	"  THEN cur.first_link END) AS link_id, coalesce($4::date, current_date) AS on_date,"
	"  ARRAY(SELECT v.f FROM (VALUES"
	"   (1, CASE WHEN $3::bigint IS NOT NULL AND NOT cur.link_ok THEN 'link'"
	"    WHEN $3::bigint IS NULL AND cur.carers > 1 THEN 'link_choose' END),"
	"   (2, CASE WHEN $4::date > current_date THEN 'occurred_future' END))"
	"   v(o, f) WHERE v.f IS NOT NULL ORDER BY v.o) AS invalid FROM cur),"
	" chk2 AS (SELECT chk.*, CASE WHEN NOT chk.has_episode THEN 'no_episode'"
	"  WHEN NOT chk.covered THEN 'denied' WHEN chk.carers = 0 THEN 'no_carer'"
	"  WHEN cardinality(chk.invalid) > 0 THEN 'invalid' END AS problem FROM chk),"
	" m AS (INSERT INTO carer_involvement (site_id, service_user_id, carer_link_id,"
	"  kind, occurred_on, source, note, recorded_by)"
	"  SELECT c.site_id, c.id, c.link_id, $2::text, c.on_date, 'manual', $5::text,"
	"  cpa_user_id() FROM chk2 c WHERE c.problem IS NULL RETURNING *)"
	" SELECT c.problem, to_json(c.invalid) AS invalid, c.id AS service_user_id,"
	" c.site_id, m.id AS event_id, m.carer_link_id, m.id IS NOT NULL AS done,"
	" CASE WHEN m.id IS NOT NULL THEN " CARER_EVENT_JSON("m") " END AS event"
	" FROM chk2 c LEFT JOIN m ON true",
	5
};

/* ------------------------------------------------------------ input */

enum { IF_KIND, IF_LINK, IF_OCCURRED_ON, IF_NOTE };
static const struct cpa_field add_fields[] = {
	{ "kind", "Kind of involvement", CPA_FT_ENUM, CPA_FF_REQUIRED, 0, 0,
	    carer_manual_kinds },
	{ "carer_link_id", "Carer", CPA_FT_ID, 0, 0, 0, NULL },
	{ "occurred_on", "Date", CPA_FT_DATE, 0, 0, 0, NULL },
	{ "note", "Note", CPA_FT_TEXT, 0, 1, 2000, NULL },
};

static const struct cpa_problem problems[] = {
	{ "denied", 403, NULL,
	    "You can only record involvement of carers of people in your teams" },
	{ "no_episode", 409, NULL, CPA_NO_EPISODE_MESSAGE },
	{ "no_carer", 409, NULL, "Record a carer first" },
	{ "link", 422, "carer_link_id", "Select a current carer of this person" },
	{ "link_choose", 422, "carer_link_id", "Select which carer was involved" },
	{ "occurred_future", 422, "occurred_on", "Date must be today or in the past" },
};

#define NPROBLEMS (sizeof(problems) / sizeof(problems[0]))

/* ------------------------------------------------------------ reading */

int
involvement_list(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	json_t *events;
	PGresult *r;

	cpa_db_begin(ctx);
	if ((r = cpa_person_page_load(ctx, &q_list, id, NULL, "carers")) == NULL)
		return CPA_OK;
	if ((events = cpa_db_json(ctx->arena, r, 0, "involvement")) == NULL) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	cpa_audit(ctx, "read", "carer_involvement", NULL, id, cpa_db_ll(r, 0, "site_id"),
	    cpa_sprintf(ctx->arena, "%zu involvement events", json_array_size(events)));
	cpa_commit_render(ctx, 200, NULL, json_pack("{s:O}", "involvement", events));
	return CPA_OK;
}

/* ------------------------------------------------------------ recording */

/* $1 person: whether they are at the caller's sites. */
static const struct cpa_stmt q_person = {
	"carer_involvement_person",
	"SELECT su.id FROM service_user su WHERE su.id = $1::bigint",
	1
};

/* Refuse in: 404 (audited) for a person not at the caller's sites, else
 * the carers page again with in's errors in its involvement form,
 * answered with status (JSON clients get in's errors).  What was tried
 * is rolled back. */
static void
add_again(struct cpa_ctx *ctx, long long id, const struct cpa_input *in, int status)
{
	cpa_db_rollback(ctx);
	if (cpa_fetch_one(ctx, &q_person, id, "service_user") == NULL)
		return;
	carers_page_again(ctx, id, "involvement", in, status);
}

int
involvement_add(struct cpa_ctx *ctx)
{
	long long id;
	const char *params[5], *code;
	const struct cpa_problem *p;
	struct cpa_input in, one;
	json_t *event;
	PGresult *r;
	size_t i;

	if ((id = carers_form_id(ctx, "service_user",
	    add_fields, CPA_NFIELDS(add_fields), &in)) == 0)
		return CPA_OK;
	if (in.values[IF_KIND].present && strcmp(in.values[IF_KIND].str, "other") == 0 &&
	    !in.values[IF_NOTE].present && cpa_input_error(&in, "note") == NULL)
		cpa_input_add_error(ctx->arena, &in, "note",
		    "Enter a note saying how the carer was involved");
	if (in.nerrors > 0) {
		add_again(ctx, id, &in, 422);
		return CPA_OK;
	}
	params[0] = cpa_id_param(ctx->arena, id);
	for (i = 0; i < CPA_NFIELDS(add_fields); i++)
		params[i + 1] = cpa_value_or_null(&in.values[i]);
	r = cpa_run_change(ctx, &q_add, params, "service_user", "no_carer", &code);
	if (code != NULL && strcmp(code, "invalid") == 0) {
		in.nerrors = 0;
		cpa_invalid_add(ctx, &in, r, problems, NPROBLEMS);
		add_again(ctx, id, &in, 422);
		return CPA_OK;
	}
	if (code != NULL) {
		p = cpa_problem_find(problems, NPROBLEMS, code, "no_carer");
		if (p->status == 403)
			cpa_deny(ctx, 403, p->message, "service_user", params[0], id,
			    cpa_db_ll(r, 0, "site_id"), "carer_involvement_recorded");
		else if (ctx->req.wants_json || strcmp(code, "no_episode") == 0)
			cpa_error(ctx, p->status, p->message);
		else {
			one = in;
			one.nerrors = 0;
			cpa_input_add_error(ctx->arena, &one, "kind", p->message);
			add_again(ctx, id, &one, p->status);
		}
		return CPA_OK;
	}
	if (r == NULL)
		return CPA_OK;
	if ((event = cpa_db_json(ctx->arena, r, 0, "event")) == NULL) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	cpa_audit(ctx, "carer_involvement_recorded", "carer_involvement",
	    cpa_db_get(r, 0, "event_id"), id, cpa_db_ll(r, 0, "site_id"),
	    cpa_sprintf(ctx->arena, "%s on %s, carer link %s", in.values[IF_KIND].str,
	    json_string_value(json_object_get(event, "occurred_on")),
	    cpa_db_get(r, 0, "carer_link_id") != NULL ? cpa_db_get(r, 0, "carer_link_id") :
	    "not known"));
	cpa_answer_recorded(ctx, 201, cpa_sprintf(ctx->arena, "/service-users/%lld/carers",
	    id), json_pack("{s:O}", "event", event));
	return CPA_OK;
}
