/*
 * people.c - service user records: reading one (with their episodes and
 * referrals), editing it under optimistic concurrency, finding people, and
 * the audit trail of a record for auditors and managers.
 *
 * Every read and change is audited in the same transaction, with the
 * person and their site; details name fields and criteria, never values.
 * Search is a POST so that nothing identifying goes into a URL.
 * Row-level security keeps every query to the caller's sites, so a person
 * of another site is "not found" like one that does not exist.
 */
#include <string.h>

#include "people.h"

#define SEARCH_LIMIT 50
#define AUDIT_LIMIT 2000

/* How many involvement events of a person's carers the record shows. */
#define RECORD_INVOLVEMENT "5"

/* A person's record: the person, their episodes and their referrals,
 * newest first; their carers (how many now, the latest involvement) only
 * when the caller covers the team of the person's open episode, as the
 * carers' own pages require. */
static const struct cpa_stmt q_show = {
	"intake_person_show",
	"SELECT su.id, su.site_id, " PERSON_JSON_OF("su") " AS service_user,"
	" (SELECT coalesce(json_agg(json_build_object('id', e.id, 'team_id', e.team_id,"
	"   'team_name', t.name, 'level', e.level, 'coordinator_name', c.display_name,"
	"   'started_at', e.started_at, 'ended_at', e.ended_at, 'end_reason', e.end_reason)"
	"   ORDER BY e.started_at DESC, e.id DESC), '[]')"
	"  FROM episode e JOIN team t ON t.id = e.team_id"
	"  LEFT JOIN staff c ON c.id = e.coordinator_id"
	"  WHERE e.service_user_id = su.id) AS episodes,"
	" (SELECT coalesce(json_agg(json_build_object('id', r.id, 'team_name', t.name,"
	"   'source', r.source, 'urgency', r.urgency, 'received_at', r.received_at,"
	"   'status', r.status) ORDER BY r.received_at DESC, r.id DESC), '[]')"
	"  FROM referral r JOIN team t ON t.id = r.team_id"
	"  WHERE r.service_user_id = su.id) AS referrals,"
	" CASE WHEN EXISTS (SELECT 1 FROM episode e WHERE e.service_user_id = su.id"
	"  AND e.ended_at IS NULL AND " CALLER_COVERS("e.team_id") ")"
	" THEN json_build_object('current', (SELECT count(*) FROM carer_link l"
	"   WHERE l.service_user_id = su.id AND l.ended_on IS NULL),"
	"  'involvement', " CARER_INVOLVEMENT_JSON("su.id", RECORD_INVOLVEMENT) ")"
	" END AS carers"
	" FROM service_user su WHERE su.id = $1::bigint",
	1
};

/* Only the person's existence and site: for refusing bad input to a record
 * the caller cannot see with 404 rather than 422. */
static const struct cpa_stmt q_exists = {
	"intake_person_exists",
	"SELECT su.id, su.site_id FROM service_user su WHERE su.id = $1::bigint",
	1
};

/* Which of a person's fields differ between rows a and b (string
 * literals), as "phone,address": the audit detail of an edit. */
#define CHANGED_OF(a, b) \
	"concat_ws(',', " \
	"CASE WHEN " a ".nhs_number IS DISTINCT FROM " b ".nhs_number THEN 'nhs_number' END," \
	"CASE WHEN " a ".given_name IS DISTINCT FROM " b ".given_name THEN 'given_name' END," \
	"CASE WHEN " a ".family_name IS DISTINCT FROM " b ".family_name THEN 'family_name' END," \
	"CASE WHEN " a ".other_names IS DISTINCT FROM " b ".other_names THEN 'other_names' END," \
	"CASE WHEN " a ".date_of_birth IS DISTINCT FROM " b ".date_of_birth THEN 'date_of_birth' END," \
	"CASE WHEN " a ".address IS DISTINCT FROM " b ".address THEN 'address' END," \
	"CASE WHEN " a ".postcode IS DISTINCT FROM " b ".postcode THEN 'postcode' END," \
	"CASE WHEN " a ".phone IS DISTINCT FROM " b ".phone THEN 'phone' END," \
	"CASE WHEN " a ".email IS DISTINCT FROM " b ".email THEN 'email' END," \
	"CASE WHEN " a ".gp_practice IS DISTINCT FROM " b ".gp_practice THEN 'gp_practice' END," \
	"CASE WHEN " a ".preferred_language IS DISTINCT FROM " b ".preferred_language" \
	" THEN 'preferred_language' END," \
	"CASE WHEN " a ".interpreter_needed IS DISTINCT FROM " b ".interpreter_needed" \
	" THEN 'interpreter_needed' END," \
	"CASE WHEN " a ".communication_needs IS DISTINCT FROM " b ".communication_needs" \
	" THEN 'communication_needs' END)"

/* An optional field: with $3 (replace: a whole form was posted) a missing
 * value clears it, otherwise it keeps what is stored. */
#define KEEP_OR_SET(col, p) \
	col " = CASE WHEN $3::boolean THEN " p " ELSE coalesce(" p ", su." col ") END"

/* The edit in one statement: $1 person, $2 version the client read, $3
 * replace, $4..$16 the fields (enum person_field order).  The old row is
 * locked and read, so a stale version (updated false, the current record
 * returned) is told from a missing person (no row). */
static const struct cpa_stmt q_update = {
	"intake_person_update",
	"WITH old AS (SELECT * FROM service_user WHERE id = $1::bigint FOR UPDATE),"
	" upd AS (UPDATE service_user su SET "
	KEEP_OR_SET("nhs_number", "$4::text") ","
	" given_name = coalesce($5::text, su.given_name),"
	" family_name = coalesce($6::text, su.family_name), "
	KEEP_OR_SET("other_names", "$7::text") ","
	" date_of_birth = coalesce($8::date, su.date_of_birth), "
	KEEP_OR_SET("address", "$9::text") ", "
	KEEP_OR_SET("postcode", "$10::text") ", "
	KEEP_OR_SET("phone", "$11::text") ", "
	KEEP_OR_SET("email", "$12::text") ", "
	KEEP_OR_SET("gp_practice", "$13::text") ", "
	KEEP_OR_SET("preferred_language", "$14::text") ","
	" interpreter_needed = CASE WHEN $3::boolean THEN coalesce($15::boolean, false)"
	"  ELSE coalesce($15::boolean, su.interpreter_needed) END, "
	KEEP_OR_SET("communication_needs", "$16::text") ","
	" updated_at = now(), version = su.version + 1"
	" FROM old WHERE su.id = old.id AND su.version = $2::integer RETURNING su.*)"
	" SELECT old.id, old.site_id, upd.id IS NOT NULL AS updated,"
	" " CHANGED_OF("old", "upd") " AS changed,"
	" CASE WHEN upd.id IS NULL THEN " PERSON_JSON_OF("old")
	"  ELSE " PERSON_JSON_OF("upd") " END AS service_user"
	" FROM old LEFT JOIN upd ON true",
	16
};

/* Search: every criterion given must hold.  NHS number and date of birth
 * exactly; names by prefix or trigram similarity, best matches first.
 * LIKE's own characters in a name are escaped. */
#define NAME_MATCH(col, p) \
	"(" p "::text IS NULL OR lower(su." col ") LIKE replace(replace(replace(" \
	"lower(" p "::text), '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'" \
	" OR similarity(lower(su." col "), lower(" p "::text)) >= 0.3)"
static const struct cpa_stmt q_search = {
	"intake_person_search",
	"SELECT coalesce(json_agg(x.person ORDER BY x.rank DESC, x.family, x.given, x.id),"
	" '[]') AS results FROM (SELECT su.id, lower(su.family_name) AS family,"
	"  lower(su.given_name) AS given,"
	"  coalesce(similarity(lower(su.family_name), lower($3::text)), 0)"
	"  + coalesce(similarity(lower(su.given_name), lower($4::text)), 0) AS rank,"
	"  json_build_object('id', su.id, 'site_id', su.site_id,"
	"   'nhs_number', su.nhs_number, 'given_name', su.given_name,"
	"   'family_name', su.family_name, 'date_of_birth', su.date_of_birth,"
	"   'open_episodes', (SELECT count(*) FROM episode e"
	"    WHERE e.service_user_id = su.id AND e.ended_at IS NULL)) AS person"
	"  FROM service_user su"
	"  WHERE ($1::text IS NULL OR su.nhs_number = $1::text)"
	"  AND ($2::date IS NULL OR su.date_of_birth = $2::date)"
	"  AND " NAME_MATCH("family_name", "$3") " AND " NAME_MATCH("given_name", "$4")
	"  ORDER BY rank DESC, family, given, su.id LIMIT $5::integer) x",
	5
};

/* A person's audit trail, newest first. */
static const struct cpa_stmt q_audit = {
	"intake_person_audit",
	"SELECT su.id, su.site_id, " PERSON_SUMMARY_JSON " AS service_user,"
	" (SELECT coalesce(json_agg(json_build_object('at', a.at, 'username', a.username,"
	"   'action', a.action, 'entity_type', a.entity_type, 'entity_id', a.entity_id,"
	"   'detail', a.detail, 'remote_addr', a.remote_addr) ORDER BY a.at DESC, a.id DESC),"
	"   '[]')"
	"  FROM (SELECT * FROM audit_event ae WHERE ae.service_user_id = su.id"
	"   ORDER BY ae.at DESC, ae.id DESC LIMIT $2::integer) a) AS events"
	" FROM service_user su WHERE su.id = $1::bigint",
	2
};

enum { UF_VERSION = PF_COUNT };
static const struct cpa_field update_fields[] = {
	PERSON_FIELDS,
	{ "version", "Version", CPA_FT_INT, CPA_FF_REQUIRED, 1, 2147483647, NULL },
};

enum { SF_NHS, SF_FAMILY, SF_GIVEN, SF_DOB };
static const struct cpa_field search_fields[] = {
	{ "nhs_number", "NHS number", CPA_FT_NHS_NUMBER, 0, 0, 0, NULL },
	{ "family_name", "Family name", CPA_FT_LINE, 0, 1, 100, NULL },
	{ "given_name", "Given name", CPA_FT_LINE, 0, 1, 100, NULL },
	{ "date_of_birth", "Date of birth", CPA_FT_DATE, 0, 0, 0, NULL },
};

/* An edit may leave out what it does not change, but not clear what every
 * record must have.  The input API reports a field sent empty as not
 * given, so for a JSON edit the body is looked at once more for these
 * fields sent as strings: only whether each is there, never its value.
 * (A form edit sends every field; person_check() requires them there.) */
static void
person_keep_required(struct cpa_ctx *ctx, struct cpa_input *in)
{
	static const size_t required[] = { PF_GIVEN, PF_FAMILY, PF_DOB };
	char err[64];
	json_t *doc;
	size_t i, k, f;

	if (strcmp(ctx->req.content_type, "application/json") != 0 ||
	    (doc = cpa_json_parse(ctx->req.body, ctx->req.body_len, err,
	    sizeof(err))) == NULL)
		return;
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		f = required[i];
		for (k = 0; k < in->nerrors; k++)
			if (in->errors[k].field == in->fields[f].name)
				break;
		if (k == in->nerrors && !in->values[f].present &&
		    json_is_string(json_object_get(doc, in->fields[f].name)))
			input_error(in, f, cpa_sprintf(ctx->arena, "Enter %s",
			    f == PF_DOB ? "date of birth" : f == PF_GIVEN ?
			    "given name" : "family name"));
	}
	json_decref(doc);
}

/* ---------------------------------------------------------- the record */

/* Read a person's record (audited as "read").  Returns the row, or NULL
 * with the response written (404 outside the caller's sites). */
static PGresult *
person_fetch(struct cpa_ctx *ctx, long long id)
{
	PGresult *r = cpa_fetch_one(ctx, &q_show, id, "service_user");

	if (r == NULL)
		return NULL;
	cpa_audit(ctx, "read", "service_user", cpa_id_param(ctx->arena, id), id,
	    cpa_db_ll(r, 0, "site_id"), cpa_db_get(r, 0, "carers") != NULL ?
	    "with carers and their latest involvement" : NULL);
	return r;
}

/* The row's carers ({current, involvement}), or JSON null when the
 * caller may not see them; a new reference. */
static json_t *
carers_of(struct cpa_ctx *ctx, const PGresult *r)
{
	json_t *c = cpa_db_json(ctx->arena, r, 0, "carers");

	return c != NULL ? json_incref(c) : json_null();
}

/* The record page.  form holds the edit form's values (the record itself
 * unless a submitted form is shown again); stolen. */
static json_t *
detail_model(struct cpa_ctx *ctx, const PGresult *r, json_t *person, json_t *form)
{
	json_t *m, *carers, *ev;
	size_t i;

	m = json_pack("{s:s,s:O,s:O,s:O,s:o,s:b}", "title", "Service user record",
	    "service_user", person,
	    "episodes", cpa_db_json(ctx->arena, r, 0, "episodes"),
	    "referrals", cpa_db_json(ctx->arena, r, 0, "referrals"),
	    "form", form != NULL ? form : json_deep_copy(person),
	    "can_audit", cpa_session_has_role(ctx->session,
	    CPA_ROLE_AUDITOR | CPA_ROLES_MANAGER, cpa_db_ll(r, 0, "site_id")));
	present(m);
	carers = carers_of(ctx, r);
	json_array_foreach(json_object_get(carers, "involvement"), i, ev)
		json_object_set_new(ev, "occurred_on_text", cpa_date_text(
		    json_string_value(json_object_get(ev, "occurred_on")), ", "));
	json_object_set_new(m, "carers", carers);
	return m;
}

int
person_show(struct cpa_ctx *ctx)
{
	json_t *person;
	PGresult *r;

	cpa_db_begin(ctx);
	if ((r = person_fetch(ctx, cpa_param_id(&ctx->req, "id"))) == NULL)
		return CPA_OK;
	if (cpa_commit_or_fail(ctx, NULL) != CPA_OK)
		return CPA_OK;
	person = cpa_db_json(ctx->arena, r, 0, "service_user");
	if (ctx->req.wants_json) {
		cpa_render(ctx, 200, NULL, json_pack("{s:O,s:O,s:O,s:o}", "service_user",
		    person, "episodes", cpa_db_json(ctx->arena, r, 0, "episodes"),
		    "referrals", cpa_db_json(ctx->arena, r, 0, "referrals"),
		    "carers", carers_of(ctx, r)));
		return CPA_OK;
	}
	cpa_render(ctx, 200, "person_detail", detail_model(ctx, r, person, NULL));
	return CPA_OK;
}

/* A refused edit: nothing is kept.  The record page again with the errors
 * and what was typed (status), or JSON; either way only after making sure
 * the caller may see the record, so another site's id stays a 404.  A
 * stale edit shows the current record (current), so it is audited as a
 * read, and nothing is shown unless that row is committed. */
static void
update_refused(struct cpa_ctx *ctx, long long id, struct cpa_input *in, int status,
    json_t *current)
{
	const char *params[1];
	PGresult *r;
	json_t *form;

	cpa_db_rollback(ctx);
	cpa_db_begin(ctx);
	if (ctx->req.wants_json) {
		params[0] = cpa_id_param(ctx->arena, id);
		r = id == 0 ? NULL : cpa_db_exec(ctx, &q_exists, params);
		if (id != 0 && r == NULL) {
			cpa_error_rc(ctx, ctx->db_rc);
			return;
		}
		if (r == NULL || PQntuples(r) == 0) {
			cpa_not_found(ctx, "service_user", cpa_param(&ctx->req, "id"));
			return;
		}
		if (current != NULL)
			cpa_audit(ctx, "read", "service_user", params[0], id,
			    cpa_db_ll(r, 0, "site_id"), "stale edit");
		if (cpa_commit_or_fail(ctx, NULL) != CPA_OK)
			return;
		if (current != NULL) {
			cpa_render(ctx, status, NULL, json_pack("{s:s,s:O}", "error",
			    "Someone else changed this record since you opened it. "
			    "Check the current record and make your change again.",
			    "current", current));
			return;
		}
		cpa_render_invalid(ctx, NULL, NULL, in);
		ctx->resp.status = status;
		return;
	}
	if ((r = person_fetch(ctx, id)) == NULL)
		return;
	if (cpa_commit_or_fail(ctx, NULL) != CPA_OK)
		return;
	if (current != NULL) {
		json_t *m = detail_model(ctx, r, current, NULL);

		json_object_set_new(m, "stale", json_true());
		cpa_render(ctx, status, "person_detail", m);
		return;
	}
	form = form_json(in);
	if (json_object_get(form, "version") == NULL)
		json_object_set(form, "version", json_object_get(
		    cpa_db_json(ctx->arena, r, 0, "service_user"), "version"));
	cpa_render_invalid(ctx, "person_detail", detail_model(ctx, r,
	    cpa_db_json(ctx->arena, r, 0, "service_user"), form), in);
	ctx->resp.status = status;
}

int
person_update(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	const char *params[16];
	struct cpa_input in;
	int replace = strcmp(ctx->req.content_type, "application/json") != 0;
	PGresult *r;

	if (cpa_input_read(ctx, update_fields, CPA_NFIELDS(update_fields), &in) != CPA_OK)
		return CPA_OK;
	/* A whole form must keep what every record has. */
	person_check(&in, replace);
	person_keep_required(ctx, &in);
	if (in.nerrors > 0 || id == 0) {
		update_refused(ctx, id, &in, 422, NULL);
		return CPA_OK;
	}
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = in.values[UF_VERSION].str;
	params[2] = replace ? "true" : "false";
	person_params(&in, &params[3]);
	cpa_db_begin(ctx);
	r = cpa_db_exec(ctx, &q_update, params);
	if (r == NULL && ctx->db_rc == CPA_ECONFLICT) {
		input_error(&in, PF_NHS, "Another person at this site has this NHS number");
		update_refused(ctx, id, &in, 409, NULL);
		return CPA_OK;
	}
	if (r == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	if (PQntuples(r) == 0) {
		cpa_not_found(ctx, "service_user", params[0]);
		return CPA_OK;
	}
	if (!cpa_db_flag(r, 0, "updated")) {
		update_refused(ctx, id, &in, 409, cpa_db_json(ctx->arena, r, 0, "service_user"));
		return CPA_OK;
	}
	cpa_audit(ctx, "update", "service_user", params[0], id, cpa_db_ll(r, 0, "site_id"),
	    cpa_db_get(r, 0, "changed"));
	if (cpa_commit_or_fail(ctx, NULL) != CPA_OK)
		return CPA_OK;
	if (!ctx->req.wants_json) {
		cpa_redirect(ctx, record_path(ctx, "service-users", params[0]));
		return CPA_OK;
	}
	cpa_render(ctx, 200, NULL, json_pack("{s:O}", "service_user",
	    cpa_db_json(ctx->arena, r, 0, "service_user")));
	return CPA_OK;
}

/* -------------------------------------------------------------- search */

static json_t *
search_model(const struct cpa_input *in)
{
	return json_pack("{s:s,s:o}", "title", "Find a person",
	    "form", in != NULL ? form_json(in) : json_object());
}

int
person_search_page(struct cpa_ctx *ctx)
{
	cpa_render(ctx, 200, "person_search", search_model(NULL));
	return CPA_OK;
}

int
person_search(struct cpa_ctx *ctx)
{
	const char *params[5];
	struct cpa_buf criteria;
	struct cpa_input in;
	json_t *results, *m;
	PGresult *r;
	size_t i;

	if (cpa_input_read(ctx, search_fields, CPA_NFIELDS(search_fields), &in) != CPA_OK)
		return CPA_OK;
	cpa_buf_init(&criteria, ctx->arena);
	for (i = 0; i < in.nfields; i++)
		if (in.values[i].present)
			cpa_buf_printf(&criteria, "%s%s", criteria.len > 0 ? "," : "",
			    in.fields[i].name);
	if (in.nerrors == 0 && criteria.len == 0)
		input_error(&in, SF_NHS, "Enter an NHS number, a name or a date of birth");
	if (in.nerrors > 0) {
		cpa_render_invalid(ctx, "person_search", search_model(&in), &in);
		return CPA_OK;
	}
	params[0] = cpa_value_or_null(&in.values[SF_NHS]);
	params[1] = cpa_value_or_null(&in.values[SF_DOB]);
	params[2] = cpa_value_or_null(&in.values[SF_FAMILY]);
	params[3] = cpa_value_or_null(&in.values[SF_GIVEN]);
	params[4] = cpa_sprintf(ctx->arena, "%d", SEARCH_LIMIT);
	cpa_db_begin(ctx);
	r = cpa_db_exec(ctx, &q_search, params);
	if (r == NULL || (results = cpa_db_json(ctx->arena, r, 0, "results")) == NULL) {
		cpa_error_rc(ctx, r == NULL ? ctx->db_rc : CPA_ERR);
		return CPA_OK;
	}
	cpa_audit(ctx, "search", "service_user", NULL, 0, 0,
	    cpa_sprintf(ctx->arena, "criteria: %s; results: %zu", criteria.data,
	    json_array_size(results)));
	if (cpa_commit_or_fail(ctx, NULL) != CPA_OK)
		return CPA_OK;
	if (ctx->req.wants_json) {
		cpa_render(ctx, 200, NULL, json_pack("{s:O}", "results", results));
		return CPA_OK;
	}
	m = search_model(&in);
	json_object_set(m, "results", results);
	json_object_set_new(m, "searched", json_true());
	present(m);
	cpa_render(ctx, 200, "person_search", m);
	return CPA_OK;
}

/* --------------------------------------------------------- audit trail */

int
person_audit(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	const char *params[2];
	json_t *events, *m;
	PGresult *r;

	if (id == 0) {
		cpa_not_found(ctx, "service_user", cpa_param(&ctx->req, "id"));
		return CPA_OK;
	}
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = cpa_sprintf(ctx->arena, "%d", AUDIT_LIMIT);
	cpa_db_begin(ctx);
	if ((r = cpa_fetch(ctx, &q_audit, params, "service_user")) == NULL)
		return CPA_OK;
	/* The route admits auditors and managers; the role must be held at
	 * the person's own site. */
	if (!cpa_session_has_role(ctx->session, CPA_ROLE_AUDITOR | CPA_ROLES_MANAGER,
	    cpa_db_ll(r, 0, "site_id"))) {
		cpa_deny(ctx, 403, NULL, "service_user", params[0], id,
		    cpa_db_ll(r, 0, "site_id"), "audit trail without the role at this site");
		return CPA_OK;
	}
	events = cpa_db_json(ctx->arena, r, 0, "events");
	cpa_audit(ctx, "audit_read", "service_user", params[0], id,
	    cpa_db_ll(r, 0, "site_id"), NULL);
	if (events == NULL || cpa_db_commit(ctx) != CPA_OK) {
		cpa_error_rc(ctx, events == NULL ? CPA_ERR : ctx->db_rc);
		return CPA_OK;
	}
	if (ctx->req.wants_json) {
		cpa_render(ctx, 200, NULL, json_pack("{s:O}", "events", events));
		return CPA_OK;
	}
	m = json_pack("{s:s,s:O,s:O}", "title", "Audit trail", "service_user",
	    cpa_db_json(ctx->arena, r, 0, "service_user"), "events", events);
	present(m);
	cpa_render(ctx, 200, "intake_person_audit", m);
	return CPA_OK;
}
