/*
 * contacts.c - contacts with the person, recorded in seconds: when, how
 * long, who saw them, how (face to face, phone, video, home visit),
 * whether they attended, a carer there, a crisis, a short note; and a
 * person's contacts with their open 72-hour follow-ups.
 *
 * Recording is one statement: the idempotency look-up (the same key
 * answers the first contact again), the choice of episode, the checks and
 * the insert.  What a contact sets off (meeting a follow-up, bringing the
 * review forward after a crisis, asking for an early risk review) is done
 * by 005's trigger on contact; a second statement of the same transaction
 * reads the contact back with whether it met a follow-up.  Row-level
 * security hides other sites' people (404); recording or reading needs a
 * clinical role covering the episode's team (403, audited).
 */
#include <string.h>

#include "reviews.h"

/* A contact as JSON, from a contact row aliased X. */
#define CONTACT_JSON(X) \
	"json_build_object('id', " X ".id, 'service_user_id', " X ".service_user_id," \
	" 'episode_id', " X ".episode_id, 'at', " X ".at," \
	" 'duration_minutes', " X ".duration_minutes, 'staff_id', " X ".staff_id," \
	" 'staff_name', (SELECT cs.display_name FROM staff cs WHERE cs.id = " X ".staff_id)," \
	" 'mode', " X ".mode, 'attended', " X ".attended," \
	" 'carer_present', " X ".carer_present, 'crisis', " X ".crisis," \
	" 'note', " X ".note, 'recorded_by', " X ".recorded_by," \
	" 'recorded_by_name', (SELECT cr.display_name FROM staff cr" \
	"   WHERE cr.id = " X ".recorded_by)," \
	" 'recorded_at', " X ".recorded_at)"

/* Recording a contact in one statement.  $1 person, $2 episode or NULL,
 * $3 idempotency key or NULL, $4 at or NULL (now), $5 duration, $6 staff
 * or NULL (the caller), $7 mode, $8 attended, $9 carer present, $10
 * crisis, $11 note, $12 the carer there (a carer link) or NULL: a current
 * carer of the person, and only with $9.  A contact this caller recorded under the same key is
 * answered again (replay) and nothing is written.  Otherwise the episode
 * is the one named, else the person's open episode in a team the caller
 * covers (another team's: denied).  The episode's start counts to the
 * minute, as the page's time input does.  One row, or none when the person
 * is not at the caller's sites. */
static const struct cpa_stmt q_create = {
	"contact_create",
	"WITH prior AS (SELECT c.id, c.service_user_id, c.site_id FROM contact c"
	"  WHERE $3::text IS NOT NULL AND c.recorded_by = cpa_user_id()"
	"  AND c.idempotency_key = $3::text ORDER BY c.id LIMIT 1),"
	" su AS (SELECT id, site_id FROM service_user WHERE id = $1::bigint"
	"  AND NOT EXISTS (SELECT 1 FROM prior)),"
	" ep AS (" EPISODE_PICK(OPEN_EPISODE) "),"
	" chk AS (SELECT su.id AS service_user_id, su.site_id, ep.id AS episode_id,"
	"  coalesce($4::timestamptz, now()) AS at,"
	"  coalesce($6::bigint, cpa_user_id()) AS staff_id,"
	"  CASE WHEN ep.id IS NULL AND $2::bigint IS NOT NULL THEN 'episode'"
	"  WHEN ep.id IS NULL THEN 'no_episode' WHEN NOT ep.covered THEN 'denied'"
	"  END AS conflict,"
	"  ARRAY(SELECT v.f FROM (VALUES"
	"   (1, CASE WHEN coalesce($4::timestamptz, now()) > now() + interval '5 minutes'"
	"    THEN 'at_future' WHEN coalesce($4::timestamptz, now())"
	"    < date_trunc('minute', ep.started_at)"
	"    THEN 'at_early' END),"
	"   (2, CASE WHEN ep.id IS NOT NULL AND NOT "
	CLINICIAN_COVERS("coalesce($6::bigint, cpa_user_id())", "t") " THEN 'staff' END),"
	"   (3, CASE WHEN $12::bigint IS NULL THEN NULL"
	"    WHEN NOT coalesce($9::boolean, false) THEN 'carer_absent'"
	"    WHEN NOT EXISTS (SELECT 1 FROM carer_link cl WHERE cl.id = $12::bigint"
	"     AND cl.service_user_id = su.id AND cl.ended_on IS NULL)"
	"    THEN 'carer_link' END))"
	"   v(o, f) WHERE v.f IS NOT NULL ORDER BY v.o) AS invalid"
	"  FROM su LEFT JOIN ep ON true LEFT JOIN team t ON t.id = ep.team_id),"
	" made AS (INSERT INTO contact (site_id, service_user_id, episode_id, at,"
	"  duration_minutes, staff_id, mode, attended, carer_present, crisis, note,"
	"  recorded_by, idempotency_key, carer_link_id)"
	"  SELECT chk.site_id, chk.service_user_id, chk.episode_id, chk.at, $5::int,"
	"  chk.staff_id, $7::text, $8::boolean, coalesce($9::boolean, false),"
	"  coalesce($10::boolean, false), $11::text, cpa_user_id(), $3::text, $12::bigint"
	"  FROM chk WHERE chk.conflict IS NULL AND cardinality(chk.invalid) = 0"
	"  RETURNING id)"
	" SELECT false AS replay, chk.conflict, to_json(chk.invalid) AS invalid,"
	" chk.service_user_id, chk.site_id, m.id AS contact_id"
	" FROM chk LEFT JOIN made m ON true"
	" UNION ALL SELECT true, NULL, '[]'::json, p.service_user_id, p.site_id, p.id"
	" FROM prior p",
	12
};

/* $1 contact: read back after the triggers ran. */
static const struct cpa_stmt q_contact = {
	"contact_get",
	"SELECT c.service_user_id, c.site_id, " CONTACT_JSON("c") " AS contact,"
	" EXISTS (SELECT 1 FROM followup f WHERE f.met_by_contact_id = c.id)"
	"  AS followup_met"
	" FROM contact c WHERE c.id = $1::bigint",
	1
};

/* $1 person, $2 true: also what the page's form offers (the staff who
 * may have seen them, the person's current carers).  The contacts
 * (the latest 100) and open follow-ups of the person's episodes in teams
 * the caller covers.  No row: no such person at the caller's sites. */
static const struct cpa_stmt q_list = {
	"contact_list",
	"WITH su AS (SELECT * FROM service_user WHERE id = $1::bigint),"
	" eps AS (SELECT e.id, e.team_id, e.started_at, e.ended_at,"
	"  " CALLER_COVERS("e.team_id") " AS covered FROM episode e, su"
	"  WHERE e.service_user_id = su.id),"
	" mine AS (SELECT id FROM eps WHERE covered),"
	" open_ep AS (SELECT eps.* FROM eps WHERE covered AND ended_at IS NULL"
	"  ORDER BY started_at DESC, id DESC LIMIT 1)"
	" SELECT su.id AS service_user_id, su.site_id, " PERSON_SUMMARY_JSON " AS service_user,"
	" EXISTS (SELECT 1 FROM eps) AS has_episode,"
	" EXISTS (SELECT 1 FROM mine) AS covered,"
	" (SELECT coalesce(json_agg(x.j ORDER BY x.at DESC, x.id DESC), '[]')"
	"  FROM (SELECT c.id, c.at, " CONTACT_JSON("c") " AS j FROM contact c"
	"   WHERE c.episode_id IN (SELECT id FROM mine)"
	"   ORDER BY c.at DESC, c.id DESC LIMIT 100) x) AS contacts,"
	" (SELECT coalesce(json_agg(" FOLLOWUP_JSON("f") " ORDER BY f.due_at, f.id), '[]')"
	"  FROM followup f WHERE f.episode_id IN (SELECT id FROM mine)"
	"  AND f.status = 'open') AS followups,"
	" CASE WHEN $2::boolean THEN json_build_object("
	"  'now', to_char(now(), 'YYYY-MM-DD\"T\"HH24:MI'),"
	"  'episode_id', (SELECT id FROM open_ep),"
	"  'staff', (SELECT coalesce(json_agg(json_build_object('id', st.id,"
	"    'display_name', st.display_name) ORDER BY st.display_name, st.id), '[]')"
	"    FROM staff st, open_ep JOIN team t ON t.id = open_ep.team_id"
	"    WHERE " CLINICIAN_COVERS("st.id", "t") "),"
	"  'carers', " CURRENT_CARERS_JSON("su.id") ")"
	" END AS form"
	" FROM su",
	2
};

/* ------------------------------------------------------------ input */

static const char *const mode_codes[] = {
	"face_to_face", "phone", "video", "home_visit", NULL
};
static const char *const mode_labels[] = {
	"Face to face", "Phone", "Video", "Home visit", NULL
};

enum {
	CF_EPISODE, CF_AT, CF_DURATION, CF_STAFF, CF_MODE, CF_ATTENDED,
	CF_CARER, CF_CARER_LINK, CF_CRISIS, CF_NOTE, CF_KEY
};
static const struct cpa_field create_fields[] = {
	{ "episode_id", "Episode", CPA_FT_ID, 0, 0, 0, NULL },
	{ "at", "Date and time", CPA_FT_TIMESTAMP, 0, 0, 0, NULL },
	{ "duration_minutes", "Duration in minutes", CPA_FT_INT, CPA_FF_REQUIRED, 1,
	    720, NULL },
	{ "staff_id", "Who saw them", CPA_FT_ID, 0, 0, 0, NULL },
	{ "mode", "How the contact was made", CPA_FT_ENUM, CPA_FF_REQUIRED, 0, 0,
	    mode_codes },
	{ "attended", "Whether they attended", CPA_FT_BOOL, CPA_FF_REQUIRED, 0, 0, NULL },
	{ "carer_present", "Whether a carer was there", CPA_FT_BOOL, 0, 0, 0, NULL },
	{ "carer_link_id", "Which carer was there", CPA_FT_ID, 0, 0, 0, NULL },
	{ "crisis", "Whether it was a crisis contact", CPA_FT_BOOL, 0, 0, 0, NULL },
	{ "note", "Note", CPA_FT_TEXT, 0, 1, 2000, NULL },
	{ "idempotency_key", "Idempotency key", CPA_FT_LINE, 0, 8, 200, NULL },
};

/* What a refusal means: a conflict (field NULL) or a 422 at a field. */
static const struct cpa_problem problems[] = {
	{ "denied", 403, NULL, "You can only record contacts with people in your teams" },
	{ "no_episode", 409, NULL, CPA_NO_EPISODE_MESSAGE },
	{ "episode", 422, "episode_id",
	    "Select an open episode of this person in one of your teams" },
	{ "at_future", 422, "at", "Date and time must not be in the future" },
	{ "at_early", 422, "at", "Date and time must not be before the episode started" },
	{ "staff", 422, "staff_id", "Select someone who works in the person's team" },
	{ "carer_absent", 422, "carer_link_id",
	    "Select \"A carer was there\" to name the carer who was there" },
	{ "carer_link", 422, "carer_link_id", "Choose a carer of this person" },
};

#define NPROBLEMS (sizeof(problems) / sizeof(problems[0]))

/* ------------------------------------------------------------ helpers */

/* For HTML only: "mode_label" beside modes and "<key>_text" beside
 * dates. */
static void
present_member(json_t *add, const char *key, const json_t *value, void *arg)
{
	const char *label;

	if (strcmp(key, "mode") == 0) {
		label = cpa_label(mode_codes, mode_labels, json_string_value(value));
		json_object_set_new(add, "mode_label", label != NULL ? json_string(label) :
		    json_null());
	}
	cpa_date_words(add, key, value, arg);
}

static int
same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* The form's values: what was typed (in, when shown again), else the
 * defaults: now, 30 minutes, face to face, attended, by the caller; a
 * fresh idempotency key unless the form is shown again.  form is what
 * the database offered (now, staff). */
static json_t *
contact_form(struct cpa_ctx *ctx, const json_t *form, const struct cpa_input *in)
{
	char fresh[CPA_TOKEN_LEN + 1];
	const struct cpa_value *v = in != NULL ? in->values : NULL;
	const char *mode = v != NULL && v[CF_MODE].present ? v[CF_MODE].str :
	    in == NULL ? "face_to_face" : NULL;
	long long me = ctx->session != NULL ? ctx->session->user_id : 0, who;
	json_t *f = json_object(), *list, *c;
	size_t i;
	int attended;

	json_object_set_new(f, "at", json_string(v != NULL && v[CF_AT].present ?
	    v[CF_AT].str : json_string_value(json_object_get(form, "now")) != NULL ?
	    json_string_value(json_object_get(form, "now")) : ""));
	json_object_set_new(f, "duration_minutes", json_string(v != NULL &&
	    v[CF_DURATION].present ? v[CF_DURATION].str : "30"));
	json_object_set_new(f, "note", v != NULL && v[CF_NOTE].present ?
	    json_string(v[CF_NOTE].str) : json_null());
	json_object_set_new(f, "carer_present", json_boolean(v != NULL &&
	    v[CF_CARER].present && v[CF_CARER].num));
	json_object_set_new(f, "crisis", json_boolean(v != NULL &&
	    v[CF_CRISIS].present && v[CF_CRISIS].num));
	attended = v == NULL ? 1 : v[CF_ATTENDED].present ? (int)v[CF_ATTENDED].num : -1;
	json_object_set_new(f, "attended_yes", json_boolean(attended == 1));
	json_object_set_new(f, "attended_no", json_boolean(attended == 0));
	list = json_array();
	for (i = 0; mode_codes[i] != NULL; i++)
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:b}", "value",
		    mode_codes[i], "label", mode_labels[i], "id", i == 0 ?
		    "mode" : cpa_sprintf(ctx->arena, "mode-%s", mode_codes[i]),
		    "selected", same(mode, mode_codes[i])));
	json_object_set_new(f, "modes", list);
	who = v != NULL ? (v[CF_STAFF].present ? v[CF_STAFF].num : 0) : me;
	list = json_array();
	json_array_foreach(json_object_get(form, "staff"), i, c) {
		json_t *item = json_deep_copy(c);

		json_object_set_new(item, "selected", json_boolean(
		    json_integer_value(json_object_get(c, "id")) == who));
		json_array_append_new(list, item);
	}
	json_object_set_new(f, "staff", list);
	who = v != NULL && v[CF_CARER_LINK].present ? v[CF_CARER_LINK].num : 0;
	list = json_array();
	json_array_foreach(json_object_get(form, "carers"), i, c)
		json_array_append_new(list, json_pack("{s:O,s:O,s:b}", "value",
		    json_object_get(c, "carer_link_id"), "name", json_object_get(c, "name"),
		    "selected", json_integer_value(json_object_get(c,
		    "carer_link_id")) == who));
	json_object_set_new(f, "carers", list);
	if (v != NULL && v[CF_KEY].present)
		json_object_set_new(f, "idempotency_key", json_string(v[CF_KEY].str));
	else if (cpa_random_token(fresh) == CPA_OK)
		json_object_set_new(f, "idempotency_key", json_string(fresh));
	json_object_set(f, "episode_id", json_object_get(form, "episode_id"));
	return f;
}

/* ------------------------------------------------------------ reading */

static const struct person_page contacts_page = {
	&q_list, "contacts", "contact", "open follow-ups", "Contacts"
};

/* The contacts page's model (for JSON: {contacts, followups}), with in's
 * values in the form when it is shown again; as person_page_model. */
static json_t *
list_model(struct cpa_ctx *ctx, long long id, int audit, const struct cpa_input *in)
{
	json_t *m, *form;

	if ((m = person_page_model(ctx, &contacts_page, id, audit, &form)) == NULL ||
	    ctx->req.wants_json)
		return m;
	if (form != NULL && json_is_integer(json_object_get(form, "episode_id")))
		json_object_set_new(m, "form", contact_form(ctx, form, in));
	else
		json_object_set_new(m, "form", json_null());
	cpa_json_annotate(m, present_member, NULL);
	return m;
}

int
contact_list(struct cpa_ctx *ctx)
{
	json_t *m;

	cpa_db_begin(ctx);
	if ((m = list_model(ctx, cpa_param_id(&ctx->req, "id"), 1, NULL)) == NULL)
		return CPA_OK;
	cpa_commit_render(ctx, 200, "contact_list", m);
	return CPA_OK;
}

/* ------------------------------------------------------------ recording */

/* Refused input: JSON 422, or the page again with what was typed (a read,
 * audited).  Nothing of the refused request is kept. */
static void
create_invalid(struct cpa_ctx *ctx, long long id, const struct cpa_input *in,
    int status)
{
	json_t *m = NULL;

	cpa_db_rollback(ctx);
	if (!ctx->req.wants_json) {
		cpa_db_begin(ctx);
		if ((m = list_model(ctx, id, 1, in)) == NULL ||
		    cpa_commit_or_fail(ctx, m) != CPA_OK)
			return;
	}
	cpa_render_invalid(ctx, "contact_list", m, in);
	ctx->resp.status = status;
}

int
contact_create(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	const char *params[12], *code;
	const struct cpa_problem *p;
	struct cpa_input in;
	json_t *contact;
	PGresult *r;
	int replay;

	if (cpa_input_read(ctx, create_fields, CPA_NFIELDS(create_fields), &in) != CPA_OK)
		return CPA_OK;
	if (id == 0) {
		cpa_db_begin(ctx);
		cpa_not_found(ctx, "service_user", cpa_param(&ctx->req, "id"));
		return CPA_OK;
	}
	if (cpa_idempotency_key(&ctx->req, &in.values[CF_KEY], 200) != CPA_OK)
		cpa_input_add_error(ctx->arena, &in, "idempotency_key",
		    "Idempotency key must be 8 to 200 characters");
	if (in.nerrors > 0) {
		create_invalid(ctx, id, &in, 422);
		return CPA_OK;
	}
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = cpa_value_or_null(&in.values[CF_EPISODE]);
	params[2] = cpa_value_or_null(&in.values[CF_KEY]);
	params[3] = cpa_value_or_null(&in.values[CF_AT]);
	params[4] = in.values[CF_DURATION].str;
	params[5] = cpa_value_or_null(&in.values[CF_STAFF]);
	params[6] = in.values[CF_MODE].str;
	params[7] = in.values[CF_ATTENDED].str;
	params[8] = cpa_value_or_null(&in.values[CF_CARER]);
	params[9] = cpa_value_or_null(&in.values[CF_CRISIS]);
	params[10] = cpa_value_or_null(&in.values[CF_NOTE]);
	params[11] = cpa_value_or_null(&in.values[CF_CARER_LINK]);
	if ((r = cpa_db_exec_keyed(ctx, &q_create, params)) == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	if (PQntuples(r) == 0) {
		cpa_not_found(ctx, "service_user", params[0]);
		return CPA_OK;
	}
	replay = cpa_db_flag(r, 0, "replay");
	if ((code = cpa_db_get(r, 0, "conflict")) != NULL) {
		p = cpa_problem_find(problems, NPROBLEMS, code, "no_episode");
		if (p->status == 403)
			cpa_deny(ctx, 403, p->message, "service_user", params[0], id,
			    cpa_db_ll(r, 0, "site_id"), "contact_recorded");
		else if (p->field != NULL) {
			cpa_input_add_error(ctx->arena, &in, p->field, p->message);
			create_invalid(ctx, id, &in, p->status);
		} else {
			cpa_db_rollback(ctx);
			cpa_error(ctx, p->status, p->message);
		}
		return CPA_OK;
	}
	cpa_invalid_add(ctx, &in, r, problems, NPROBLEMS);
	if (in.nerrors > 0) {
		create_invalid(ctx, id, &in, 422);
		return CPA_OK;
	}
	if (cpa_db_get(r, 0, "contact_id") == NULL) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	params[0] = cpa_db_get(r, 0, "contact_id");
	if ((r = cpa_db_exec(ctx, &q_contact, params)) == NULL || PQntuples(r) == 0 ||
	    (contact = cpa_db_json(ctx->arena, r, 0, "contact")) == NULL) {
		cpa_error_rc(ctx, r == NULL ? ctx->db_rc : CPA_ERR);
		return CPA_OK;
	}
	cpa_audit(ctx, replay ? "read" : "contact_recorded", "contact", params[0],
	    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"),
	    replay ? "repeated submission" : cpa_sprintf(ctx->arena, "%s, %s minutes, %s%s%s",
	    in.values[CF_MODE].str, in.values[CF_DURATION].str,
	    in.values[CF_ATTENDED].num ? "attended" : "did not attend",
	    in.values[CF_CRISIS].present && in.values[CF_CRISIS].num ? ", crisis" : "",
	    cpa_db_flag(r, 0, "followup_met") ? ", met a follow-up" : ""));
	cpa_answer_recorded(ctx, replay ? 200 : 201, cpa_sprintf(ctx->arena,
	    "/service-users/%lld/contacts", cpa_db_ll(r, 0, "service_user_id")),
	    json_pack("{s:O,s:b}", "contact", contact, "followup_met",
	    cpa_db_flag(r, 0, "followup_met")));
	return CPA_OK;
}
