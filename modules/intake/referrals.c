/*
 * referrals.c - how a person comes to the service: recording a referral
 * (for a known person, or a new one), the triage queue of the caller's
 * teams, and the triage decision.  Accepting opens the CPA episode with its
 * named care coordinator.
 *
 * Each handler is one transaction and, where it can be, one statement:
 * the referral insert carries the idempotency look-up, the NHS number
 * match, the new person, the deadline from the site's policy and the
 * possible duplicates; the decision carries its checks, the episode, the
 * coordinator assignment, the 'opened' event and the referral update.
 * Row-level security keeps every query to the caller's sites.
 */
#include <string.h>

#include "people.h"

static const char *const sources[] = { "gp", "ae_liaison", "self",
    "inpatient_ward", "police_cjs", "social_care", "other", NULL };
static const char *const urgencies[] = { "emergency", "urgent", "routine", NULL };
static const char *const statuses[] = { "awaiting_triage", "accepted",
    "signposted", "declined", "all", NULL };
static const char *const decisions[] = { "accept", "signpost", "decline", NULL };
static const char *const levels[] = { "standard", "enhanced", "complex",
    "non_cpa", "personalised", NULL };

/* A referral's JSON keys and values, from a referral row aliased r; inside
 * json_build_object(...), so a caller may append keys. */
#define REFERRAL_FIELDS \
	"'id', r.id, 'site_id', r.site_id, 'service_user_id', r.service_user_id," \
	" 'team_id', r.team_id, 'team_name', (SELECT rt.name FROM team rt WHERE rt.id = r.team_id)," \
	" 'source', r.source, 'source_detail', r.source_detail, 'urgency', r.urgency," \
	" 'received_at', r.received_at, 'deadline_at', r.deadline_at, 'reason', r.reason," \
	" 'status', r.status, 'decided_at', r.decided_at, 'decided_by', r.decided_by," \
	" 'decided_by_name', (SELECT ds.display_name FROM staff ds WHERE ds.id = r.decided_by)," \
	" 'decision_reason', r.decision_reason, 'signposted_to', r.signposted_to," \
	" 'episode_id', r.episode_id," \
	" 'breached', r.status = 'awaiting_triage' AND r.deadline_at <= now()," \
	" 'near_breach', r.status = 'awaiting_triage' AND r.deadline_at > now()" \
	"   AND r.deadline_at - now() < (r.deadline_at - r.received_at) / 4"

/* Other people at the caller's sites who may be the person aliased su: the
 * same NHS number, or the same date of birth and a similar name (each arm
 * on its own index).  Trigram
 * similarity compares sets of word trigrams, so given and family names
 * typed the other way round match too. */
#define DUPLICATES_JSON \
	"(SELECT coalesce(json_agg(json_build_object('id', o.id," \
	"  'nhs_number', o.nhs_number, 'given_name', o.given_name," \
	"  'family_name', o.family_name, 'date_of_birth', o.date_of_birth," \
	"  'match', CASE WHEN o.nhs_number = su.nhs_number THEN 'nhs_number'" \
	"   ELSE 'name_and_date_of_birth' END) ORDER BY o.id), '[]')" \
	" FROM (SELECT * FROM service_user d WHERE d.site_id = ANY (cpa_site_ids())" \
	"   AND d.nhs_number = su.nhs_number" \
	"  UNION SELECT * FROM service_user d WHERE d.site_id = ANY (cpa_site_ids())" \
	"   AND d.date_of_birth = su.date_of_birth" \
	"   AND similarity(lower(d.given_name || ' ' || d.family_name)," \
	"    lower(su.given_name || ' ' || su.family_name)) >= 0.3) o" \
	" WHERE o.id <> su.id)"

/* The episode an accepted referral opened, from an episode row aliased e. */
#define EPISODE_JSON \
	"json_build_object('id', e.id, 'site_id', e.site_id," \
	" 'service_user_id', e.service_user_id, 'team_id', e.team_id," \
	" 'team_name', (SELECT et.name FROM team et WHERE et.id = e.team_id)," \
	" 'level', e.level, 'coordinator', (SELECT json_build_object('id', c.id," \
	"  'display_name', c.display_name) FROM staff c WHERE c.id = e.coordinator_id)," \
	" 'started_at', e.started_at, 'ended_at', e.ended_at, 'end_reason', e.end_reason," \
	" 'end_detail', e.end_detail, 'referral_id', e.referral_id, 'version', e.version)"

/* The caller's teams (the view my_team, clinical roles only) for choosing
 * one, with the one given by parameter p (a string literal: "$1") marked. */
#define MY_TEAMS_JSON(p) \
	"(SELECT coalesce(json_agg(json_build_object('team_id', t.id," \
	"  'team_name', t.name, 'site_name', s.name, 'selected', t.id = " p "::bigint)" \
	"  ORDER BY s.name, t.name), '[]')" \
	" FROM team t JOIN site s ON s.id = t.site_id WHERE t.id IN (SELECT m.team_id" \
	"  FROM my_team m WHERE m.role NOT IN ('trust_admin', 'auditor')))"

/* The form's choices ($1: team to mark), and the person a referral is
 * being recorded for when the form was opened from their record ($2). */
static const struct cpa_stmt q_new_form = {
	"intake_referral_new_form",
	"SELECT " MY_TEAMS_JSON("$1") " AS teams,"
	" (SELECT " PERSON_SUMMARY_JSON " FROM service_user su WHERE su.id = $2::bigint)"
	"  AS person,"
	" (SELECT su.site_id FROM service_user su WHERE su.id = $2::bigint) AS person_site_id",
	2
};

/* Record a referral in one statement.  $1 idempotency key, $2 team,
 * $3 known person or NULL, $4..$16 the person's fields (enum person_field
 * order), $17 source, $18 source detail, $19 urgency, $20 reason.
 * An earlier referral of this user under the same key is answered again
 * (replay); otherwise a known person is the one named, or at the team's
 * site the one with that NHS number, or a new one.  The deadline is the
 * site's window for the urgency, counted in UTC so a clock change does not
 * stretch it.  One row always: team_ok false when the team is not at one
 * of the caller's sites; no referral when the named person is not there. */
static const struct cpa_stmt q_create = {
	"intake_referral_create",
	"WITH prior AS (SELECT r.* FROM referral r WHERE $1::text IS NOT NULL"
	"  AND r.created_by = cpa_user_id() AND r.idempotency_key = $1::text),"
	" tm AS (SELECT t.id, t.site_id FROM team t WHERE t.id = $2::bigint"
	"  AND NOT EXISTS (SELECT 1 FROM prior)),"
	" known AS (SELECT su.* FROM service_user su JOIN tm ON su.site_id = tm.site_id"
	"  WHERE CASE WHEN $3::bigint IS NULL THEN su.nhs_number = $4::text"
	"   ELSE su.id = $3::bigint END),"
	" new_su AS (INSERT INTO service_user (site_id, nhs_number, given_name, family_name,"
	"  other_names, date_of_birth, address, postcode, phone, email, gp_practice,"
	"  preferred_language, interpreter_needed, communication_needs)"
	"  SELECT tm.site_id, $4::text, $5::text, $6::text, $7::text, $8::date, $9::text,"
	"  $10::text, $11::text, $12::text, $13::text, $14::text, coalesce($15::boolean, false),"
	"  $16::text FROM tm WHERE $3::bigint IS NULL AND NOT EXISTS (SELECT 1 FROM known)"
	"  RETURNING *),"
	" person AS (SELECT * FROM known UNION ALL SELECT * FROM new_su),"
	" made AS (INSERT INTO referral (site_id, service_user_id, team_id, source,"
	"  source_detail, urgency, deadline_at, reason, created_by, idempotency_key)"
	"  SELECT tm.site_id, p.id, tm.id, $17::text, $18::text, $19::text,"
	"  (now() AT TIME ZONE 'UTC' + CASE $19::text WHEN 'emergency' THEN s.deadline_emergency"
	"   WHEN 'urgent' THEN s.deadline_urgent ELSE s.deadline_routine END) AT TIME ZONE 'UTC',"
	"  $20::text, cpa_user_id(), $1::text"
	"  FROM tm JOIN site s ON s.id = tm.site_id CROSS JOIN person p RETURNING *),"
	" answer AS (SELECT false AS replay,"
	"  $3::bigint IS NULL AND EXISTS (SELECT 1 FROM known) AS matched_existing,"
	"  NOT EXISTS (SELECT 1 FROM known) AS new_person,"
	"  r.id, r.site_id, r.service_user_id,"
	"  json_build_object(" REFERRAL_FIELDS ") AS referral,"
	"  " PERSON_JSON_OF("su") " AS service_user,"
	"  " DUPLICATES_JSON " AS possible_duplicates"
	"  FROM made r JOIN person su ON su.id = r.service_user_id"
	"  UNION ALL SELECT true, false, false, r.id, r.site_id, r.service_user_id,"
	"  json_build_object(" REFERRAL_FIELDS "), " PERSON_JSON_OF("su") ","
	"  " DUPLICATES_JSON
	"  FROM prior r JOIN service_user su ON su.id = r.service_user_id)"
	" SELECT EXISTS (SELECT 1 FROM tm) AS team_ok, a.*"
	" FROM (SELECT 1) one LEFT JOIN answer a ON true",
	20
};

/* The triage queue: $1 status or 'all', $2 team or NULL; the caller's
 * teams only, soonest deadline first.  Also the teams for the filter. */
static const struct cpa_stmt q_list = {
	"intake_referral_list",
	"SELECT (SELECT coalesce(json_agg(json_build_object(" REFERRAL_FIELDS ","
	"  'service_user', " PERSON_SUMMARY_JSON ") ORDER BY r.deadline_at, r.id), '[]')"
	"  FROM referral r JOIN service_user su ON su.id = r.service_user_id"
	"  WHERE r.team_id IN (SELECT m.team_id FROM my_team m"
	"   WHERE m.role NOT IN ('trust_admin', 'auditor'))"
	"  AND ($1::text = 'all' OR r.status = $1::text)"
	"  AND ($2::bigint IS NULL OR r.team_id = $2::bigint)) AS referrals,"
	" " MY_TEAMS_JSON("$2") " AS teams",
	2
};

/* One referral with its person, and what the decision form offers: the
 * site's levels and the coordinators whose role covers the team. */
static const struct cpa_stmt q_show = {
	"intake_referral_show",
	"SELECT r.id, r.site_id, r.service_user_id,"
	" json_build_object(" REFERRAL_FIELDS ") AS referral,"
	" " PERSON_JSON_OF("su") " AS service_user,"
	" " DUPLICATES_JSON " AS possible_duplicates,"
	" to_json(s.episode_levels) AS levels,"
	" (SELECT coalesce(json_agg(json_build_object('id', st.id,"
	"   'display_name', st.display_name) ORDER BY st.display_name, st.id), '[]')"
	"  FROM staff st WHERE st.active AND EXISTS (SELECT 1 FROM staff_role sr"
	"   WHERE sr.staff_id = st.id AND sr.role = 'coordinator' AND sr.site_id = t.site_id"
	"   AND (sr.district_id IS NULL OR sr.district_id = t.district_id)"
	"   AND (sr.team_id IS NULL OR sr.team_id = t.id))) AS coordinators"
	" FROM referral r JOIN service_user su ON su.id = r.service_user_id"
	" JOIN team t ON t.id = r.team_id JOIN site s ON s.id = r.site_id"
	" WHERE r.id = $1::bigint",
	1
};

/* The triage decision in one statement: $1 referral, $2 decision, $3
 * reason, $4 signposted to, $5 level, $6 coordinator.  The referral row is
 * locked, so of two deciders the second sees the first's decision.  An
 * acceptance opens the episode, its coordinator assignment and its
 * 'opened' event, and links the referral to it; nothing is written unless
 * every check passes.  No row: no such referral at the caller's sites. */
static const struct cpa_stmt q_decide = {
	"intake_referral_decide",
	"WITH r0 AS (SELECT r.id, r.site_id, r.service_user_id, r.team_id, r.status"
	"  FROM referral r WHERE r.id = $1::bigint FOR UPDATE),"
	" chk AS (SELECT r0.*,"
	"  $2::text <> 'accept' OR $5::text = ANY (s.episode_levels) AS level_ok,"
	"  EXISTS (SELECT 1 FROM my_team m WHERE m.team_id = r0.team_id"
	"   AND m.role IN " CLINICAL_ROLES_SQL ") AS team_ok,"
	"  $2::text <> 'accept' OR " COORDINATOR_COVERS("$6::bigint", "t") " AS coordinator_ok,"
	"  $2::text <> 'accept' OR NOT EXISTS (SELECT 1 FROM episode oe"
	"   WHERE oe.service_user_id = r0.service_user_id AND oe.team_id = r0.team_id"
	"   AND oe.ended_at IS NULL) AS no_open_episode"
	"  FROM r0 JOIN site s ON s.id = r0.site_id JOIN team t ON t.id = r0.team_id),"
	" go AS (SELECT * FROM chk WHERE team_ok AND status = 'awaiting_triage' AND level_ok"
	"  AND coordinator_ok AND no_open_episode),"
	" ep AS (INSERT INTO episode (site_id, service_user_id, team_id, referral_id, level,"
	"  coordinator_id) SELECT go.site_id, go.service_user_id, go.team_id, go.id, $5::text,"
	"  $6::bigint FROM go WHERE $2::text = 'accept' RETURNING *),"
	" ca AS (INSERT INTO coordinator_assignment (site_id, episode_id, staff_id, started_at)"
	"  SELECT ep.site_id, ep.id, ep.coordinator_id, ep.started_at FROM ep),"
	" ev AS (INSERT INTO episode_event (site_id, episode_id, kind, to_value, reason,"
	"  by_staff_id) SELECT ep.site_id, ep.id, 'opened', ep.level, $3::text, cpa_user_id()"
	"  FROM ep),"
	" upd AS (UPDATE referral u SET status = CASE $2::text WHEN 'accept' THEN 'accepted'"
	"   WHEN 'signpost' THEN 'signposted' ELSE 'declined' END,"
	"  decided_at = now(), decided_by = cpa_user_id(), decision_reason = $3::text,"
	"  signposted_to = $4::text, episode_id = (SELECT ep.id FROM ep)"
	"  FROM go WHERE u.id = go.id AND ($2::text <> 'accept' OR EXISTS (SELECT 1 FROM ep))"
	"  RETURNING u.*)"
	" SELECT chk.team_ok, chk.status, chk.level_ok, chk.coordinator_ok, chk.no_open_episode,"
	" chk.site_id, chk.service_user_id, r.id AS decided, e.id AS episode_id,"
	" CASE WHEN r.id IS NOT NULL THEN json_build_object(" REFERRAL_FIELDS ") END AS referral,"
	" CASE WHEN e.id IS NOT NULL THEN " EPISODE_JSON " END AS episode"
	" FROM chk LEFT JOIN upd r ON true LEFT JOIN ep e ON true",
	6
};

enum { RF_SU = PF_COUNT, RF_TEAM, RF_SOURCE, RF_DETAIL, RF_URGENCY, RF_REASON, RF_KEY };
static const struct cpa_field create_fields[] = {
	PERSON_FIELDS,
	{ "service_user_id", "Person", CPA_FT_ID, 0, 0, 0, NULL },
	{ "team_id", "Team", CPA_FT_ID, CPA_FF_REQUIRED, 0, 0, NULL },
	{ "source", "Source of the referral", CPA_FT_ENUM, CPA_FF_REQUIRED, 0, 0, sources },
	{ "source_detail", "Referrer's details", CPA_FT_LINE, 0, 1, 200, NULL },
	{ "urgency", "Urgency", CPA_FT_ENUM, CPA_FF_REQUIRED, 0, 0, urgencies },
	{ "reason", "Reason for the referral", CPA_FT_TEXT, CPA_FF_REQUIRED, 1, 5000, NULL },
	{ "idempotency_key", "Idempotency key", CPA_FT_LINE, 0, 8, 100, NULL },
};

enum { NF_SU };
static const struct cpa_field new_fields[] = {
	{ "service_user_id", "Person", CPA_FT_ID, 0, 0, 0, NULL },
};

enum { LF_STATUS, LF_TEAM };
static const struct cpa_field list_fields[] = {
	{ "status", "Status", CPA_FT_ENUM, 0, 0, 0, statuses },
	{ "team_id", "Team", CPA_FT_ID, 0, 0, 0, NULL },
};

enum { DF_DECISION, DF_REASON, DF_SIGNPOST, DF_LEVEL, DF_COORDINATOR };
static const struct cpa_field decide_fields[] = {
	{ "decision", "Decision", CPA_FT_ENUM, CPA_FF_REQUIRED, 0, 0, decisions },
	{ "reason", "Reason for the decision", CPA_FT_TEXT, CPA_FF_REQUIRED, 1, 2000, NULL },
	{ "signposted_to", "Where they were signposted to", CPA_FT_LINE, 0, 1, 200, NULL },
	{ "level", "Level", CPA_FT_ENUM, 0, 0, 0, levels },
	{ "coordinator_id", "Care coordinator", CPA_FT_ID, 0, 0, 0, NULL },
};

/* The ids of the possible duplicates in r's column possible_duplicates as
 * "12,15" (arena memory), or NULL when there are none: audit details
 * record whom an answer showed. */
static const char *
duplicate_ids(struct cpa_ctx *ctx, const PGresult *r)
{
	json_t *list = cpa_db_json(ctx->arena, r, 0, "possible_duplicates"), *d;
	struct cpa_buf b;
	size_t i;

	if (json_array_size(list) == 0)
		return NULL;
	cpa_buf_init(&b, ctx->arena);
	json_array_foreach(list, i, d)
		cpa_buf_printf(&b, "%s%lld", i > 0 ? "," : "",
		    (long long)json_integer_value(json_object_get(d, "id")));
	return b.data;
}

/* ------------------------------------------------------------ the form */

/* The referral form's model: the caller's teams, sources and urgencies
 * with the submitted ones selected, the person when the form is for a
 * known one, and the idempotency key (a fresh one unless the form is being
 * shown again).  NULL with the response written when the database fails. */
static json_t *
new_model(struct cpa_ctx *ctx, const struct cpa_input *in, long long su_id)
{
	char fresh[CPA_TOKEN_LEN + 1];
	const char *params[2], *key = NULL;
	json_t *m, *form, *teams, *person;
	PGresult *r;

	params[0] = in != NULL ? cpa_value_or_null(&in->values[RF_TEAM]) : NULL;
	params[1] = cpa_id_param(ctx->arena, su_id);
	r = cpa_db_exec(ctx, &q_new_form, params);
	if (r == NULL || (teams = cpa_db_json(ctx->arena, r, 0, "teams")) == NULL) {
		cpa_error_rc(ctx, r == NULL ? ctx->db_rc : CPA_ERR);
		return NULL;
	}
	if (in != NULL && in->values[RF_KEY].present)
		key = in->values[RF_KEY].str;
	else if (cpa_random_token(fresh) == CPA_OK)
		key = fresh;
	else {
		cpa_error(ctx, 500, NULL);
		return NULL;
	}
	person = cpa_db_json(ctx->arena, r, 0, "person");
	if (person != NULL)
		cpa_audit(ctx, "read", "service_user", params[1], su_id,
		    cpa_db_ll(r, 0, "person_site_id"), "referral form");
	form = in != NULL ? form_json(in) : json_object();
	m = json_pack("{s:s,s:o,s:O,s:o,s:o,s:s}", "title", "Record a referral",
	    "form", form, "teams", teams,
	    "sources", choices_json(sources, json_string_value(json_object_get(form, "source"))),
	    "urgencies", choices_json(urgencies,
	    json_string_value(json_object_get(form, "urgency"))),
	    "idempotency_key", key);
	json_object_set(m, "person", person != NULL ? person : json_null());
	present(m);
	return m;
}

int
referral_new_page(struct cpa_ctx *ctx)
{
	struct cpa_input in;
	json_t *m;

	if (cpa_input_read(ctx, new_fields, CPA_NFIELDS(new_fields), &in) != CPA_OK)
		return CPA_OK;
	cpa_db_begin(ctx);
	m = new_model(ctx, NULL, in.values[NF_SU].present ? in.values[NF_SU].num : 0);
	if (m == NULL)
		return CPA_OK;
	if (in.values[NF_SU].present && json_is_null(json_object_get(m, "person"))) {
		json_decref(m);
		cpa_not_found(ctx, "service_user", in.values[NF_SU].str);
		return CPA_OK;
	}
	cpa_commit_render(ctx, 200, "referral_new", m);
	return CPA_OK;
}

/* -------------------------------------------------------------- create */

/* Refuse the submission with the form (or JSON errors).  The transaction
 * is rolled back first: nothing of it is kept. */
static void
create_invalid(struct cpa_ctx *ctx, struct cpa_input *in)
{
	json_t *m = NULL;

	cpa_db_rollback(ctx);
	if (!ctx->req.wants_json) {
		cpa_db_begin(ctx);
		m = new_model(ctx, in, in->values[RF_SU].present ? in->values[RF_SU].num : 0);
		if (m == NULL)
			return;
		if (cpa_commit_or_fail(ctx, m) != CPA_OK)
			return;
	}
	cpa_render_invalid(ctx, "referral_new", m, in);
}

int
referral_create(struct cpa_ctx *ctx)
{
	const char *params[20], *detail, *dups;
	struct cpa_input in;
	json_t *model;
	PGresult *r;
	int replay;

	if (cpa_input_read(ctx, create_fields, CPA_NFIELDS(create_fields), &in) != CPA_OK)
		return CPA_OK;
	/* The header wins over the form field; both are held to 8..100. */
	if (cpa_idempotency_key(&ctx->req, &in.values[RF_KEY], 100) != CPA_OK)
		input_error(&in, RF_KEY, "Idempotency key must be 8 to 100 characters");
	person_check(&in, !in.values[RF_SU].present);
	if (in.nerrors > 0) {
		create_invalid(ctx, &in);
		return CPA_OK;
	}

	params[0] = cpa_value_or_null(&in.values[RF_KEY]);
	params[1] = in.values[RF_TEAM].str;
	params[2] = cpa_value_or_null(&in.values[RF_SU]);
	person_params(&in, &params[3]);
	params[16] = in.values[RF_SOURCE].str;
	params[17] = cpa_value_or_null(&in.values[RF_DETAIL]);
	params[18] = in.values[RF_URGENCY].str;
	params[19] = in.values[RF_REASON].str;
	/* A unique violation means a concurrent twin (same key, or a new
	 * person with the same NHS number) committed first: start again, and
	 * the statement finds the twin's referral or person. */
	if ((r = cpa_db_exec_keyed(ctx, &q_create, params)) == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	if (!cpa_db_flag(r, 0, "team_ok") &&
	    cpa_db_get(r, 0, "id") == NULL) {
		input_error(&in, RF_TEAM, "Select one of the teams at your sites");
		create_invalid(ctx, &in);
		return CPA_OK;
	}
	if (cpa_db_get(r, 0, "id") == NULL) {
		input_error(&in, RF_SU, "Select a person known at the team's site");
		create_invalid(ctx, &in);
		return CPA_OK;
	}
	replay = cpa_db_flag(r, 0, "replay");
	detail = replay ? "repeated submission" :
	    cpa_db_flag(r, 0, "new_person") ? "new person" :
	    cpa_db_flag(r, 0, "matched_existing") ?
	    "existing person, matched by NHS number" : "existing person";
	if ((dups = duplicate_ids(ctx, r)) != NULL)
		detail = cpa_sprintf(ctx->arena, "%s; possible duplicates: %s", detail, dups);
	cpa_audit(ctx, replay ? "read" : "create", "referral", cpa_db_get(r, 0, "id"),
	    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"), detail);
	if (cpa_commit_or_fail(ctx, NULL) != CPA_OK)
		return CPA_OK;
	model = json_pack("{s:O,s:O,s:O,s:b}",
	    "referral", cpa_db_json(ctx->arena, r, 0, "referral"),
	    "service_user", cpa_db_json(ctx->arena, r, 0, "service_user"),
	    "possible_duplicates", cpa_db_json(ctx->arena, r, 0, "possible_duplicates"),
	    "matched_existing", cpa_db_flag(r, 0, "matched_existing"));
	if (model == NULL) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	if (replay) {
		if (!ctx->req.wants_json) {
			json_decref(model);
			cpa_redirect(ctx, record_path(ctx, "referrals", cpa_db_get(r, 0, "id")));
			return CPA_OK;
		}
		cpa_header(ctx, "Location", record_path(ctx, "referrals", cpa_db_get(r, 0, "id")));
		cpa_render(ctx, 200, NULL, model);
		return CPA_OK;
	}
	cpa_render_created(ctx, record_path(ctx, "referrals", cpa_db_get(r, 0, "id")), model);
	return CPA_OK;
}

/* ---------------------------------------------------------------- list */

int
referral_list(struct cpa_ctx *ctx)
{
	const char *params[2];
	struct cpa_input in;
	json_t *referrals, *teams, *m;
	PGresult *r;

	if (cpa_query_read(ctx, list_fields, CPA_NFIELDS(list_fields), &in) != CPA_OK)
		return CPA_OK;
	params[0] = in.values[LF_STATUS].present ? in.values[LF_STATUS].str : "awaiting_triage";
	params[1] = cpa_value_or_null(&in.values[LF_TEAM]);
	cpa_db_begin(ctx);
	r = cpa_db_exec(ctx, &q_list, params);
	if (r == NULL || (referrals = cpa_db_json(ctx->arena, r, 0, "referrals")) == NULL ||
	    (teams = cpa_db_json(ctx->arena, r, 0, "teams")) == NULL) {
		cpa_error_rc(ctx, r == NULL ? ctx->db_rc : CPA_ERR);
		return CPA_OK;
	}
	cpa_audit(ctx, "read", "referral", NULL, 0, 0,
	    cpa_sprintf(ctx->arena, "triage queue: %zu referrals", json_array_size(referrals)));
	if (cpa_commit_or_fail(ctx, NULL) != CPA_OK)
		return CPA_OK;
	if (ctx->req.wants_json) {
		cpa_render(ctx, 200, NULL, json_pack("{s:O}", "referrals", referrals));
		return CPA_OK;
	}
	m = json_pack("{s:s,s:O,s:O,s:o,s:b}", "title", "Referrals",
	    "referrals", referrals, "teams", teams, "statuses",
	    choices_json(statuses, params[0]), "awaiting",
	    strcmp(params[0], "awaiting_triage") == 0);
	present(m);
	cpa_render(ctx, 200, "referral_list", m);
	return CPA_OK;
}

/* ---------------------------------------------------------- one referral */

/* Read one referral for its page (audited, with the possible duplicates
 * the page shows).  NULL with the response written (404 for ids outside
 * the caller's sites).  *res gets the row. */
static json_t *
referral_fetch(struct cpa_ctx *ctx, long long id, PGresult **res)
{
	PGresult *r = cpa_fetch_one(ctx, &q_show, id, "referral");
	const char *dups;

	if (r == NULL)
		return NULL;
	dups = ctx->req.wants_json ? NULL : duplicate_ids(ctx, r);
	cpa_audit(ctx, "read", "referral", cpa_id_param(ctx->arena, id),
	    cpa_db_ll(r, 0, "service_user_id"),
	    cpa_db_ll(r, 0, "site_id"), dups != NULL ? cpa_sprintf(ctx->arena,
	    "possible duplicates: %s", dups) : NULL);
	*res = r;
	return cpa_db_json(ctx->arena, r, 0, "referral");
}

/* The referral page: the referral, the person, possible duplicates and the
 * decision form (the site's levels, the team's coordinators, what was
 * typed when it is shown again). */
static json_t *
detail_model(struct cpa_ctx *ctx, const PGresult *r, const struct cpa_input *in)
{
	json_t *referral = cpa_db_json(ctx->arena, r, 0, "referral");
	json_t *lv = cpa_db_json(ctx->arena, r, 0, "levels");
	json_t *coordinators = cpa_db_json(ctx->arena, r, 0, "coordinators");
	json_t *form = in != NULL ? form_json(in) : json_object(), *choices, *c, *m;
	const char *site_levels[8];
	long long chosen = 0;
	size_t i, n = 0;

	json_array_foreach(lv, i, c)
		if (n + 1 < sizeof(site_levels) / sizeof(site_levels[0]) && json_is_string(c))
			site_levels[n++] = json_string_value(c);
	site_levels[n] = NULL;
	if (in != NULL && in->values[DF_COORDINATOR].present)
		chosen = in->values[DF_COORDINATOR].num;
	choices = json_array();
	json_array_foreach(coordinators, i, c) {
		c = json_deep_copy(c);
		json_object_set_new(c, "selected", json_boolean(
		    json_integer_value(json_object_get(c, "id")) == chosen));
		json_array_append_new(choices, c);
	}
	m = json_pack("{s:s,s:O,s:O,s:O,s:o,s:o,s:o,s:o,s:b}",
	    "title", "Referral",
	    "referral", referral,
	    "service_user", cpa_db_json(ctx->arena, r, 0, "service_user"),
	    "possible_duplicates", cpa_db_json(ctx->arena, r, 0, "possible_duplicates"),
	    "form", form,
	    "decisions", choices_json(decisions, json_string_value(json_object_get(form,
	    "decision"))),
	    "levels", choices_json(site_levels, json_string_value(json_object_get(form,
	    "level"))),
	    "coordinators", choices,
	    "awaiting", strcmp(json_string_value(json_object_get(referral, "status")),
	    "awaiting_triage") == 0);
	present(m);
	return m;
}

int
referral_show(struct cpa_ctx *ctx)
{
	PGresult *r = NULL;
	json_t *referral;

	cpa_db_begin(ctx);
	referral = referral_fetch(ctx, cpa_param_id(&ctx->req, "id"), &r);
	if (referral == NULL)
		return CPA_OK;
	if (cpa_commit_or_fail(ctx, NULL) != CPA_OK)
		return CPA_OK;
	if (ctx->req.wants_json) {
		cpa_render(ctx, 200, NULL, json_pack("{s:O,s:O}", "referral", referral,
		    "service_user", cpa_db_json(ctx->arena, r, 0, "service_user")));
		return CPA_OK;
	}
	cpa_render(ctx, 200, "referral_detail", detail_model(ctx, r, NULL));
	return CPA_OK;
}

/* A refused decision: the page again with the errors (after checking the
 * referral is the caller's to see), or JSON 422.  Nothing is kept. */
static void
decide_invalid(struct cpa_ctx *ctx, long long id, struct cpa_input *in)
{
	PGresult *r = NULL;

	cpa_db_rollback(ctx);
	cpa_db_begin(ctx);
	if (referral_fetch(ctx, id, &r) == NULL)
		return;
	if (cpa_commit_or_fail(ctx, NULL) != CPA_OK)
		return;
	cpa_render_invalid(ctx, "referral_detail", ctx->req.wants_json ? NULL :
	    detail_model(ctx, r, in), in);
}

/* Conflicts with what is recorded: 409 with the reason. */
static void
decide_conflict(struct cpa_ctx *ctx, const char *message)
{
	cpa_db_rollback(ctx);
	cpa_error(ctx, 409, message);
}

int
referral_decide(struct cpa_ctx *ctx)
{
	static const char open_episode[] = "This person already has an open episode "
	    "with this team";
	long long id = cpa_param_id(&ctx->req, "id");
	const char *params[6], *decision;
	struct cpa_input in;
	PGresult *r;

	if (cpa_input_read(ctx, decide_fields, CPA_NFIELDS(decide_fields), &in) != CPA_OK)
		return CPA_OK;
	decision = in.values[DF_DECISION].present ? in.values[DF_DECISION].str : "";
	if (strcmp(decision, "signpost") == 0 && !in.values[DF_SIGNPOST].present)
		input_error(&in, DF_SIGNPOST, "Enter where they were signposted to");
	if (strcmp(decision, "accept") == 0 && !in.values[DF_LEVEL].present)
		input_error(&in, DF_LEVEL, "Select a level");
	if (strcmp(decision, "accept") == 0 && !in.values[DF_COORDINATOR].present)
		input_error(&in, DF_COORDINATOR, "Select a care coordinator");
	if (in.nerrors > 0 || id == 0) {
		decide_invalid(ctx, id, &in);
		return CPA_OK;
	}

	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = decision;
	params[2] = in.values[DF_REASON].str;
	params[3] = strcmp(decision, "signpost") == 0 ?
	    in.values[DF_SIGNPOST].str : NULL;
	params[4] = strcmp(decision, "accept") == 0 ? in.values[DF_LEVEL].str : NULL;
	params[5] = strcmp(decision, "accept") == 0 ? in.values[DF_COORDINATOR].str : NULL;
	cpa_db_begin(ctx);
	r = cpa_db_exec(ctx, &q_decide, params);
	if (r == NULL && ctx->db_rc == CPA_ECONFLICT) {
		/* episode_one_open_per_team_idx: a twin opened concurrently. */
		decide_conflict(ctx, open_episode);
		return CPA_OK;
	}
	if (r == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	if (PQntuples(r) == 0) {
		cpa_not_found(ctx, "referral", params[0]);
		return CPA_OK;
	}
	if (!cpa_db_flag(r, 0, "team_ok")) {
		/* Triage belongs to the team the referral was made to. */
		cpa_deny(ctx, 403, "Only staff of the team this referral was made to "
		    "can decide it", "referral", params[0],
		    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"),
		    "decision for a team the caller does not work in");
		return CPA_OK;
	}
	if (strcmp(cpa_db_get(r, 0, "status"), "awaiting_triage") != 0) {
		decide_conflict(ctx, "This referral has already been decided");
		return CPA_OK;
	}
	if (!cpa_db_flag(r, 0, "level_ok")) {
		input_error(&in, DF_LEVEL, "Select a level this site uses");
		decide_invalid(ctx, id, &in);
		return CPA_OK;
	}
	if (!cpa_db_flag(r, 0, "coordinator_ok")) {
		input_error(&in, DF_COORDINATOR, "Select a care coordinator of this team");
		decide_invalid(ctx, id, &in);
		return CPA_OK;
	}
	if (!cpa_db_flag(r, 0, "no_open_episode") ||
	    cpa_db_get(r, 0, "decided") == NULL) {
		decide_conflict(ctx, open_episode);
		return CPA_OK;
	}
	cpa_audit(ctx, "decide", "referral", params[0], cpa_db_ll(r, 0, "service_user_id"),
	    cpa_db_ll(r, 0, "site_id"), cpa_db_get(r, 0, "episode_id") != NULL ?
	    cpa_sprintf(ctx->arena, "%s episode=%s level=%s", decision,
	    cpa_db_get(r, 0, "episode_id"), params[4]) : decision);
	if (cpa_commit_or_fail(ctx, NULL) != CPA_OK)
		return CPA_OK;
	if (!ctx->req.wants_json) {
		cpa_redirect(ctx, record_path(ctx, "referrals", params[0]));
		return CPA_OK;
	}
	cpa_render(ctx, 200, NULL, json_pack("{s:O,s:O}", "referral",
	    cpa_db_json(ctx->arena, r, 0, "referral"),
	    "episode", cpa_db_get(r, 0, "episode") != NULL ?
	    cpa_db_json(ctx->arena, r, 0, "episode") : json_null()));
	return CPA_OK;
}
