/*
 * admissions.c - inpatient admissions and discharges, recorded on the
 * person's page or posted by a ward system (found by NHS number, matched
 * again by the ward system's own reference), and the 72-hour follow-ups a
 * discharge owes: a person's, and the lists of those still open for a
 * care coordinator and for a manager's teams.
 *
 * Each change is one statement: CTEs choose the episode and check, then
 * insert or update the admission.  What a discharge sets off (the
 * follow-up due within the site's window, the review brought forward, the
 * early risk review an admission asks for) is done by 005's trigger on
 * admission; a second statement of the same transaction reads the
 * admission back with its follow-up.  Row-level security hides other
 * sites' rows (404); recording or reading needs a clinical role covering
 * the episode's team (403, audited).
 */
#include <string.h>

#include "reviews.h"

/* An admission as JSON, from an admission row aliased X, with the
 * follow-up its discharge made (null before). */
#define ADMISSION_JSON(X) \
	"json_build_object('id', " X ".id, 'service_user_id', " X ".service_user_id," \
	" 'episode_id', " X ".episode_id, 'admitted_at', " X ".admitted_at," \
	" 'hospital', " X ".hospital, 'ward', " X ".ward," \
	" 'discharged_at', " X ".discharged_at," \
	" 'discharge_destination', " X ".discharge_destination," \
	" 'source', " X ".source, 'external_ref', " X ".external_ref," \
	" 'recorded_by', " X ".recorded_by," \
	" 'recorded_by_name', (SELECT ar.display_name FROM staff ar" \
	"   WHERE ar.id = " X ".recorded_by)," \
	" 'recorded_at', " X ".recorded_at, 'version', " X ".version," \
	" 'followup', (SELECT " FOLLOWUP_JSON("af") " FROM followup af" \
	"   WHERE af.admission_id = " X ".id))"

/* The checks of an admission's times: $A admitted_at (NULL: not checked),
 * $D discharged_at, ADMITTED the admission time a discharge must follow. */
#define TIME_CHECKS(A, D, ADMITTED) \
	"ARRAY(SELECT v.f FROM (VALUES" \
	" (1, CASE WHEN " A " > now() + interval '5 minutes' THEN 'admitted_future' END)," \
	" (2, CASE WHEN " D " > now() + interval '5 minutes' THEN 'discharged_future'" \
	"  WHEN " D " < " ADMITTED " THEN 'discharged_early' END))" \
	" v(o, f) WHERE v.f IS NOT NULL ORDER BY v.o)"

/* Recording an admission from the person's page or the API.  $1 person,
 * $2 episode or NULL, $3 admitted_at, $4 hospital, $5 ward,
 * $6 discharged_at, $7 discharge destination.  The episode is the one
 * named, else the person's open episode in a team the caller covers.
 * One open admission per person.  One row, or none when the person is
 * not at the caller's sites. */
static const struct cpa_stmt q_create = {
	"admission_create",
	"WITH su AS (SELECT id, site_id FROM service_user WHERE id = $1::bigint),"
	" ep AS (" EPISODE_PICK(OPEN_EPISODE) "),"
	" chk AS (SELECT su.id AS service_user_id, su.site_id, ep.id AS episode_id,"
	"  CASE WHEN ep.id IS NULL AND $2::bigint IS NOT NULL THEN 'episode'"
	"  WHEN ep.id IS NULL THEN 'no_episode' WHEN NOT ep.covered THEN 'denied'"
	"  WHEN EXISTS (SELECT 1 FROM admission o WHERE o.service_user_id = su.id"
	"    AND o.discharged_at IS NULL) THEN 'open_admission' END AS conflict,"
	"  " TIME_CHECKS("$3::timestamptz", "$6::timestamptz", "$3::timestamptz") " AS invalid"
	"  FROM su LEFT JOIN ep ON true),"
	" made AS (INSERT INTO admission (site_id, service_user_id, episode_id, admitted_at,"
	"  hospital, ward, discharged_at, discharge_destination, source, recorded_by)"
	"  SELECT chk.site_id, chk.service_user_id, chk.episode_id, $3::timestamptz,"
	"  $4::text, $5::text, $6::timestamptz, $7::text, 'page', cpa_user_id()"
	"  FROM chk WHERE chk.conflict IS NULL AND cardinality(chk.invalid) = 0"
	"  RETURNING id)"
	" SELECT chk.conflict, to_json(chk.invalid) AS invalid, chk.service_user_id,"
	" chk.site_id, m.id AS admission_id FROM chk LEFT JOIN made m ON true",
	7
};

/* A ward system's post: $1 NHS number, $2 its reference, $3 admitted_at,
 * $4 hospital, $5 ward, $6 discharged_at, $7 destination.  The person is
 * the one at the caller's sites with that NHS number and an open episode
 * in a team the caller covers (the latest such episode); exactly one must
 * match.  The same reference at that site names the admission posted
 * before: only its discharge is updated.  Otherwise a new admission.
 * Always one row. */
static const struct cpa_stmt q_ward = {
	"admission_ward",
	"WITH who AS (SELECT su.id, su.site_id, x.episode_id FROM service_user su"
	"  CROSS JOIN LATERAL (SELECT e.id AS episode_id FROM episode e"
	"   WHERE e.service_user_id = su.id AND e.ended_at IS NULL"
	"   AND " CALLER_COVERS("e.team_id") " ORDER BY e.started_at DESC, e.id DESC LIMIT 1) x"
	"  WHERE su.site_id = ANY (cpa_site_ids()) AND su.nhs_number = $1::text),"
	" n AS (SELECT count(*) AS people FROM who),"
	" one AS (SELECT who.* FROM who, n WHERE n.people = 1),"
	" prev AS (SELECT a.id, a.service_user_id, a.admitted_at, a.discharged_at,"
	"  a.episode_id FROM admission a WHERE a.site_id = (SELECT site_id FROM one)"
	"  AND a.external_ref = $2::text FOR UPDATE OF a),"
	" chk AS (SELECT n.people, one.id AS service_user_id, one.site_id, one.episode_id,"
	"  prev.id AS prev_id, prev.discharged_at AS prev_discharged,"
	"  CASE WHEN n.people = 0 THEN 'no_person' WHEN n.people > 1 THEN 'several'"
	"  WHEN prev.id IS NOT NULL AND prev.service_user_id <> one.id THEN 'other_person'"
	"  WHEN prev.id IS NULL AND EXISTS (SELECT 1 FROM admission o"
	"    WHERE o.service_user_id = one.id AND o.discharged_at IS NULL)"
	"    THEN 'open_admission'"
	"  WHEN prev.id IS NOT NULL AND prev.discharged_at IS NULL"
	"    AND $6::timestamptz IS NOT NULL AND EXISTS (SELECT 1 FROM episode pe"
	"    WHERE pe.id = prev.episode_id AND pe.ended_at IS NOT NULL) THEN 'closed'"
	"  END AS conflict,"
	"  " TIME_CHECKS("CASE WHEN prev.id IS NULL THEN $3::timestamptz END",
	"$6::timestamptz", "coalesce(prev.admitted_at, $3::timestamptz)") " AS invalid"
	"  FROM n LEFT JOIN one ON true LEFT JOIN prev ON true),"
	" ins AS (INSERT INTO admission (site_id, service_user_id, episode_id, admitted_at,"
	"  hospital, ward, discharged_at, discharge_destination, source, external_ref,"
	"  recorded_by)"
	"  SELECT chk.site_id, chk.service_user_id, chk.episode_id, $3::timestamptz,"
	"  $4::text, $5::text, $6::timestamptz, $7::text, 'ward_system', $2::text,"
	"  cpa_user_id() FROM chk WHERE chk.conflict IS NULL"
	"  AND cardinality(chk.invalid) = 0 AND chk.prev_id IS NULL RETURNING id),"
	" upd AS (UPDATE admission a SET discharged_at = coalesce($6::timestamptz,"
	"  a.discharged_at), discharge_destination = coalesce($7::text,"
	"  a.discharge_destination), version = a.version + 1"
	"  FROM chk WHERE a.id = chk.prev_id AND chk.conflict IS NULL"
	"  AND cardinality(chk.invalid) = 0 RETURNING a.id)"
	" SELECT chk.conflict, to_json(chk.invalid) AS invalid, chk.service_user_id,"
	" chk.site_id, coalesce(i.id, u.id) AS admission_id, i.id IS NOT NULL AS created,"
	" $6::timestamptz IS NOT NULL AND chk.prev_discharged IS DISTINCT FROM"
	"  $6::timestamptz AS discharge_set"
	" FROM chk LEFT JOIN ins i ON true LEFT JOIN upd u ON true",
	7
};

/* $1 admission, $2 discharged_at, $3 destination.  The admission row is
 * locked: of two discharges the second finds it discharged. */
static const struct cpa_stmt q_discharge = {
	"admission_discharge",
	"WITH cur AS (SELECT a.id, a.site_id, a.service_user_id, a.admitted_at,"
	"  a.discharged_at IS NOT NULL AS discharged, e.ended_at IS NOT NULL AS closed,"
	"  " CALLER_COVERS("e.team_id") " AS covered"
	"  FROM admission a JOIN episode e ON e.id = a.episode_id"
	"  WHERE a.id = $1::bigint FOR UPDATE OF a),"
	" chk AS (SELECT cur.*, CASE WHEN NOT cur.covered THEN 'denied'"
	"  WHEN cur.discharged THEN 'discharged' WHEN cur.closed THEN 'closed' END AS conflict,"
	"  " TIME_CHECKS("NULL::timestamptz", "$2::timestamptz", "cur.admitted_at") " AS invalid"
	"  FROM cur),"
	" u AS (UPDATE admission a SET discharged_at = $2::timestamptz,"
	"  discharge_destination = $3::text, version = a.version + 1 FROM chk"
	"  WHERE a.id = chk.id AND chk.conflict IS NULL AND cardinality(chk.invalid) = 0"
	"  AND a.discharged_at IS NULL RETURNING a.id)"
	" SELECT chk.conflict, to_json(chk.invalid) AS invalid, chk.service_user_id,"
	" chk.site_id, u.id IS NOT NULL AS done FROM chk LEFT JOIN u ON true",
	3
};

/* $1 admission, read back after the triggers ran. */
static const struct cpa_stmt q_admission = {
	"admission_get",
	"SELECT a.service_user_id, a.site_id, " ADMISSION_JSON("a") " AS admission,"
	" (SELECT " FOLLOWUP_JSON("f") " FROM followup f WHERE f.admission_id = a.id)"
	"  AS followup"
	" FROM admission a WHERE a.id = $1::bigint",
	1
};

/* $1 person, $2 true: also what the page's forms need.  Admissions and
 * follow-ups of the person's episodes in teams the caller covers, newest
 * first.  No row: no such person at the caller's sites. */
static const struct cpa_stmt q_list = {
	"admission_list",
	"WITH su AS (SELECT * FROM service_user WHERE id = $1::bigint),"
	" eps AS (SELECT e.id, e.started_at, e.ended_at,"
	"  " CALLER_COVERS("e.team_id") " AS covered FROM episode e, su"
	"  WHERE e.service_user_id = su.id),"
	" mine AS (SELECT id FROM eps WHERE covered)"
	" SELECT su.id AS service_user_id, su.site_id, " PERSON_SUMMARY_JSON " AS service_user,"
	" EXISTS (SELECT 1 FROM eps) AS has_episode,"
	" EXISTS (SELECT 1 FROM mine) AS covered,"
	" (SELECT coalesce(json_agg(" ADMISSION_JSON("a") " ORDER BY a.admitted_at DESC,"
	"   a.id DESC), '[]') FROM admission a WHERE a.episode_id IN (SELECT id FROM mine))"
	"  AS admissions,"
	" (SELECT coalesce(json_agg(" FOLLOWUP_JSON("f") " ORDER BY f.due_at DESC,"
	"   f.id DESC), '[]') FROM followup f WHERE f.episode_id IN (SELECT id FROM mine))"
	"  AS followups,"
	" CASE WHEN $2::boolean THEN json_build_object("
	"  'now', to_char(now(), 'YYYY-MM-DD\"T\"HH24:MI'),"
	"  'episode_id', (SELECT e.id FROM eps e WHERE e.covered AND e.ended_at IS NULL"
	"    ORDER BY e.started_at DESC, e.id DESC LIMIT 1),"
	"  'open_admission', EXISTS (SELECT 1 FROM admission o"
	"    WHERE o.service_user_id = su.id AND o.discharged_at IS NULL))"
	" END AS form"
	" FROM su",
	2
};

/* Open follow-ups of open episodes, of the people named by WHERE (a
 * condition on e), soonest due first. */
#define FOLLOWUP_LIST(WHERE) \
	"SELECT coalesce(json_agg(json_build_object('id', f.id," \
	" 'admission_id', f.admission_id, 'discharged_at', f.discharged_at," \
	" 'due_at', f.due_at, 'overdue', f.due_at < now()," \
	" 'hours_left', floor(extract(epoch FROM f.due_at - now()) / 3600)::int," \
	" 'service_user', " PERSON_SUMMARY_JSON ", 'episode_id', e.id," \
	" 'team_id', e.team_id, 'team_name', t.name," \
	" 'coordinator', json_build_object('id', e.coordinator_id," \
	"   'display_name', c.display_name))" \
	" ORDER BY f.due_at, f.id), '[]') AS followups," \
	" count(*) FILTER (WHERE f.due_at < now()) AS overdue_count" \
	" FROM followup f JOIN episode e ON e.id = f.episode_id" \
	" JOIN service_user su ON su.id = f.service_user_id" \
	" JOIN team t ON t.id = e.team_id LEFT JOIN staff c ON c.id = e.coordinator_id" \
	" WHERE f.status = 'open' AND e.ended_at IS NULL AND " WHERE

static const struct cpa_stmt q_followups_mine = {
	"followup_list_mine",
	FOLLOWUP_LIST("e.coordinator_id = cpa_user_id()"),
	0
};

static const struct cpa_stmt q_followups_team = {
	"followup_list_team",
	FOLLOWUP_LIST("e.team_id IN " CALLER_MANAGED_TEAMS),
	0
};

/* ------------------------------------------------------------ input */

static const char *const scope_codes[] = { "mine", "team", NULL };

/* An admission's own fields, as initialisers, in the order the statements
 * take them ($3..$7); FLAGS say whether the discharge time is required. */
#define DESTINATION_FIELD \
	{ "discharge_destination", "Where they went on discharge", CPA_FT_LINE, 0, 1, \
	    200, NULL }
#define DISCHARGE_FIELD(FLAGS) \
	{ "discharged_at", "Date and time of discharge", CPA_FT_TIMESTAMP, FLAGS, 0, 0, \
	    NULL }
#define ADMISSION_FIELDS \
	{ "admitted_at", "Date and time of admission", CPA_FT_TIMESTAMP, \
	    CPA_FF_REQUIRED, 0, 0, NULL }, \
	{ "hospital", "Hospital", CPA_FT_LINE, 0, 1, 200, NULL }, \
	{ "ward", "Ward", CPA_FT_LINE, 0, 1, 200, NULL }, \
	DISCHARGE_FIELD(0), DESTINATION_FIELD

enum { AF_EPISODE, AF_ADMITTED, AF_HOSPITAL, AF_WARD, AF_DISCHARGED, AF_DEST };
static const struct cpa_field create_fields[] = {
	{ "episode_id", "Episode", CPA_FT_ID, 0, 0, 0, NULL },
	ADMISSION_FIELDS
};

enum { WF_NHS, WF_REF, WF_ADMITTED, WF_HOSPITAL, WF_WARD, WF_DISCHARGED, WF_DEST };
static const struct cpa_field ward_fields[] = {
	{ "nhs_number", "NHS number", CPA_FT_NHS_NUMBER, CPA_FF_REQUIRED, 0, 0, NULL },
	{ "external_ref", "Ward system reference", CPA_FT_LINE, CPA_FF_REQUIRED, 1,
	    100, NULL },
	ADMISSION_FIELDS
};

enum { DF_DISCHARGED, DF_DEST };
static const struct cpa_field discharge_fields[] = {
	DISCHARGE_FIELD(CPA_FF_REQUIRED), DESTINATION_FIELD
};

static const struct cpa_field followup_fields[] = {
	{ "scope", "Scope", CPA_FT_ENUM, 0, 0, 0, scope_codes },
};

/* What a refusal means: a conflict (field NULL) or a 422 at a field. */
static const struct cpa_problem problems[] = {
	{ "denied", 403, NULL, "You can only record admissions of people in your teams" },
	{ "no_episode", 409, NULL, CPA_NO_EPISODE_MESSAGE },
	{ "open_admission", 409, NULL, "This person already has an open admission: "
	    "record its discharge first" },
	{ "discharged", 409, NULL, "This admission has already been discharged" },
	{ "closed", 409, NULL, "The episode of this admission is closed" },
	{ "no_person", 404, NULL,
	    "No person with that NHS number has an open episode in your teams" },
	{ "several", 409, NULL, "Several people with that NHS number have an open "
	    "episode in your teams: record the admission on the person's page" },
	{ "other_person", 409, NULL,
	    "That ward system reference belongs to another person's admission" },
	{ "episode", 422, "episode_id",
	    "Select an open episode of this person in one of your teams" },
	{ "admitted_future", 422, "admitted_at",
	    "Date and time of admission must not be in the future" },
	{ "discharged_future", 422, "discharged_at",
	    "Date and time of discharge must not be in the future" },
	{ "discharged_early", 422, "discharged_at",
	    "Date and time of discharge must not be before the admission" },
};

static const struct cpa_problem *
problem_of(const char *code)
{
	return cpa_problem_find(problems, sizeof(problems) / sizeof(problems[0]), code,
	    "no_episode");
}

/* ------------------------------------------------------------ a person's */

static const struct person_page admissions_page = {
	&q_list, "admissions", "admission", "follow-ups", "Hospital admissions"
};

/* The admissions page's model (for JSON: {admissions, followups}); which
 * is "admission" or "discharge" when in holds that form's typed values.
 * As person_page_model. */
static json_t *
list_model(struct cpa_ctx *ctx, long long id, int audit, const char *which,
    const struct cpa_input *in)
{
	json_t *m, *form;

	if ((m = person_page_model(ctx, &admissions_page, id, audit, &form)) == NULL ||
	    ctx->req.wants_json)
		return m;
	json_object_set_new(m, "now", json_string(json_string_value(
	    json_object_get(form, "now")) != NULL ? json_string_value(json_object_get(form,
	    "now")) : ""));
	json_object_set_new(m, "can_admit", json_boolean(json_is_integer(
	    json_object_get(form, "episode_id")) && !json_is_true(json_object_get(form,
	    "open_admission"))));
	json_object_set(m, "episode_id", json_object_get(form, "episode_id") != NULL ?
	    json_object_get(form, "episode_id") : json_null());
	json_object_set_new(m, "form_admission", which != NULL &&
	    strcmp(which, "admission") == 0 ? cpa_input_typed(in) : json_object());
	json_object_set_new(m, "form_discharge", which != NULL &&
	    strcmp(which, "discharge") == 0 ? cpa_input_typed(in) : json_object());
	cpa_json_annotate(m, cpa_date_words, NULL);
	return m;
}

int
admission_list(struct cpa_ctx *ctx)
{
	json_t *m;

	cpa_db_begin(ctx);
	if ((m = list_model(ctx, cpa_param_id(&ctx->req, "id"), 1, NULL, NULL)) == NULL)
		return CPA_OK;
	cpa_commit_render(ctx, 200, "admission_list", m);
	return CPA_OK;
}

/* Refused input: JSON 422 (or status), or the person's page again with
 * what was typed in form which; the discharge form's errors are named
 * "discharge_<field>" there, as its inputs are; showing the page is a
 * read, audited.  Nothing of the refused request is kept. */
static void
refuse_invalid(struct cpa_ctx *ctx, long long su, const char *which,
    const struct cpa_input *in, int status)
{
	struct cpa_input shown = *in;
	json_t *m = NULL;

	cpa_db_rollback(ctx);
	if (!ctx->req.wants_json && su > 0) {
		cpa_db_begin(ctx);
		if ((m = list_model(ctx, su, 1, which, in)) == NULL ||
		    cpa_commit_or_fail(ctx, m) != CPA_OK)
			return;
		if (strcmp(which, "discharge") == 0)
			shown = cpa_input_prefixed(ctx->arena, in, "discharge_");
	} else if (!ctx->req.wants_json) {
		cpa_error(ctx, status, in->nerrors > 0 ? in->errors[0].message : NULL);
		return;
	}
	cpa_render_invalid(ctx, "admission_list", m, &shown);
	ctx->resp.status = status;
}

/* A conflict or denial found by a statement: 403 audited, 409/404 plain;
 * a field problem as refuse_invalid.  audit_entity/audit_id name what was
 * asked for in the access_denied row. */
static void
refuse(struct cpa_ctx *ctx, const PGresult *r, const char *code, long long su,
    const char *which, struct cpa_input *in, const char *audit_entity,
    const char *audit_id, const char *action)
{
	const struct cpa_problem *p = problem_of(code);

	if (p->status == 403 || p->status == 404)
		cpa_deny(ctx, p->status, p->message, audit_entity, audit_id,
		    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"), action);
	else if (p->field != NULL) {
		cpa_input_add_error(ctx->arena, in, p->field, p->message);
		refuse_invalid(ctx, su, which, in, p->status);
	} else {
		cpa_db_rollback(ctx);
		cpa_error(ctx, p->status, p->message);
	}
}

/* After a change: read the admission back, audit, commit, answer with
 * status (JSON) or a redirect to the person's admissions (pages). */
static void
answer(struct cpa_ctx *ctx, const char *admission_id, int status, const char *action,
    const char *detail)
{
	const char *params[1];
	json_t *admission, *followup;
	PGresult *r;

	params[0] = admission_id;
	if ((r = cpa_db_exec(ctx, &q_admission, params)) == NULL || PQntuples(r) == 0 ||
	    (admission = cpa_db_json(ctx->arena, r, 0, "admission")) == NULL) {
		cpa_error_rc(ctx, r == NULL ? ctx->db_rc : CPA_ERR);
		return;
	}
	followup = cpa_db_json(ctx->arena, r, 0, "followup");
	cpa_audit(ctx, action, "admission", admission_id, cpa_db_ll(r, 0, "service_user_id"),
	    cpa_db_ll(r, 0, "site_id"), detail);
	cpa_answer_recorded(ctx, status, cpa_sprintf(ctx->arena, "/service-users/%lld/admissions",
	    cpa_db_ll(r, 0, "service_user_id")), json_pack("{s:O,s:O}", "admission",
	    admission, "followup", followup != NULL ? followup : json_null()));
}

int
admission_create(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	const char *params[7], *code;
	struct cpa_input in;
	PGresult *r;
	size_t i;

	if (cpa_input_read(ctx, create_fields, CPA_NFIELDS(create_fields), &in) != CPA_OK)
		return CPA_OK;
	if (id == 0) {
		cpa_db_begin(ctx);
		cpa_not_found(ctx, "service_user", cpa_param(&ctx->req, "id"));
		return CPA_OK;
	}
	if (in.nerrors > 0) {
		refuse_invalid(ctx, id, "admission", &in, 422);
		return CPA_OK;
	}
	params[0] = cpa_id_param(ctx->arena, id);
	for (i = AF_EPISODE; i <= AF_DEST; i++)
		params[i + 1] = cpa_value_or_null(&in.values[i]);
	cpa_db_begin(ctx);
	r = cpa_db_exec(ctx, &q_create, params);
	if (r == NULL && ctx->db_rc == CPA_ECONFLICT) {
		/* admission_open_idx: an open admission recorded meanwhile. */
		cpa_db_rollback(ctx);
		cpa_error(ctx, 409, problem_of("open_admission")->message);
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
	if ((code = cpa_db_get(r, 0, "conflict")) != NULL) {
		refuse(ctx, r, code, id, "admission", &in, "service_user", params[0],
		    "admission_recorded");
		return CPA_OK;
	}
	cpa_invalid_add(ctx, &in, r, problems, sizeof(problems) / sizeof(problems[0]));
	if (in.nerrors > 0 || cpa_db_get(r, 0, "admission_id") == NULL) {
		refuse_invalid(ctx, id, "admission", &in, 422);
		return CPA_OK;
	}
	answer(ctx, cpa_db_get(r, 0, "admission_id"), 201, "admission_recorded",
	    in.values[AF_DISCHARGED].present ? "recorded on the page, with its discharge" :
	    "recorded on the page");
	return CPA_OK;
}

/* The person an admission belongs to, for showing their page again; 0
 * when it is not visible. */
static long long
admission_person(struct cpa_ctx *ctx, long long id)
{
	const char *params[1];
	PGresult *r;

	params[0] = cpa_id_param(ctx->arena, id);
	if (params[0] == NULL || (r = cpa_db_exec(ctx, &q_admission, params)) == NULL ||
	    PQntuples(r) == 0)
		return 0;
	return cpa_db_ll(r, 0, "service_user_id");
}

int
admission_discharge(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id"), su;
	const char *params[3], *code;
	struct cpa_input in;
	PGresult *r;

	if (cpa_input_read(ctx, discharge_fields, CPA_NFIELDS(discharge_fields),
	    &in) != CPA_OK)
		return CPA_OK;
	if (id == 0) {
		cpa_db_begin(ctx);
		cpa_not_found(ctx, "admission", cpa_param(&ctx->req, "id"));
		return CPA_OK;
	}
	if (in.nerrors > 0) {
		cpa_db_begin(ctx);
		su = ctx->req.wants_json ? 0 : admission_person(ctx, id);
		refuse_invalid(ctx, su, "discharge", &in, 422);
		return CPA_OK;
	}
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = in.values[DF_DISCHARGED].str;
	params[2] = cpa_value_or_null(&in.values[DF_DEST]);
	cpa_db_begin(ctx);
	if ((r = cpa_fetch(ctx, &q_discharge, params, "admission")) == NULL)
		return CPA_OK;
	su = cpa_db_ll(r, 0, "service_user_id");
	if ((code = cpa_db_get(r, 0, "conflict")) != NULL) {
		refuse(ctx, r, code, su, "discharge", &in, "admission", params[0],
		    "admission_discharged");
		return CPA_OK;
	}
	cpa_invalid_add(ctx, &in, r, problems, sizeof(problems) / sizeof(problems[0]));
	if (in.nerrors > 0) {
		refuse_invalid(ctx, su, "discharge", &in, 422);
		return CPA_OK;
	}
	if (!cpa_db_flag(r, 0, "done")) {
		cpa_db_rollback(ctx);
		cpa_error(ctx, 409, problem_of("discharged")->message);
		return CPA_OK;
	}
	answer(ctx, params[0], 200, "admission_discharged", "discharged on the page");
	return CPA_OK;
}

int
admission_ward_post(struct cpa_ctx *ctx)
{
	const char *params[7], *code, *detail, *action;
	struct cpa_input in;
	PGresult *r;
	size_t i;

	if (cpa_input_read(ctx, ward_fields, CPA_NFIELDS(ward_fields), &in) != CPA_OK)
		return CPA_OK;
	if (in.nerrors > 0) {
		cpa_render_invalid(ctx, NULL, NULL, &in);
		return CPA_OK;
	}
	for (i = WF_NHS; i <= WF_DEST; i++)
		params[i] = cpa_value_or_null(&in.values[i]);
	/* The reference is the idempotency key: a concurrent post of it that
	 * committed first is found on the second run. */
	r = cpa_db_exec_keyed(ctx, &q_ward, params);
	if (r == NULL && ctx->db_rc == CPA_ECONFLICT) {
		cpa_error(ctx, 409, problem_of("open_admission")->message);
		return CPA_OK;
	}
	if (r == NULL || PQntuples(r) == 0) {
		cpa_error_rc(ctx, r == NULL ? ctx->db_rc : CPA_ERR);
		return CPA_OK;
	}
	if ((code = cpa_db_get(r, 0, "conflict")) != NULL) {
		refuse(ctx, r, code, 0, "admission", &in, "admission", NULL,
		    "ward system admission: no person with that NHS number has an open "
		    "episode in the caller's teams");
		return CPA_OK;
	}
	cpa_invalid_add(ctx, &in, r, problems, sizeof(problems) / sizeof(problems[0]));
	if (in.nerrors > 0 || cpa_db_get(r, 0, "admission_id") == NULL) {
		refuse_invalid(ctx, 0, "admission", &in, 422);
		return CPA_OK;
	}
	if (cpa_db_flag(r, 0, "created")) {
		action = "admission_recorded";
		detail = cpa_sprintf(ctx->arena, "from the ward system, reference %s%s",
		    params[WF_REF], params[WF_DISCHARGED] != NULL ? ", with its discharge" : "");
	} else if (cpa_db_flag(r, 0, "discharge_set")) {
		action = "admission_discharged";
		detail = cpa_sprintf(ctx->arena, "from the ward system, reference %s",
		    params[WF_REF]);
	} else {
		action = "admission_recorded";
		detail = cpa_sprintf(ctx->arena, "repeated post from the ward system, "
		    "reference %s", params[WF_REF]);
	}
	answer(ctx, cpa_db_get(r, 0, "admission_id"), cpa_db_flag(r, 0, "created") ? 201 : 200,
	    action, detail);
	return CPA_OK;
}

/* ------------------------------------------------------------ follow-ups */

int
followup_list(struct cpa_ctx *ctx)
{
	const char *scope;
	struct cpa_input in;
	json_t *followups, *m;
	long long overdue;
	int manager;
	PGresult *r;

	if (cpa_query_read(ctx, followup_fields, CPA_NFIELDS(followup_fields), &in) != CPA_OK)
		return CPA_OK;
	cpa_db_begin(ctx);
	if ((scope = cpa_list_scope(ctx, &in.values[0], "followup_list", "follow-ups",
	    &manager)) == NULL)
		return CPA_OK;
	r = cpa_db_exec(ctx, strcmp(scope, "team") == 0 ? &q_followups_team :
	    &q_followups_mine, NULL);
	if (r == NULL || (followups = cpa_db_json(ctx->arena, r, 0, "followups")) == NULL) {
		cpa_error_rc(ctx, r == NULL ? ctx->db_rc : CPA_ERR);
		return CPA_OK;
	}
	overdue = cpa_db_ll(r, 0, "overdue_count");
	cpa_audit(ctx, "read", "followup_list", NULL, 0, 0, cpa_sprintf(ctx->arena,
	    "scope %s: %zu open follow-ups, %lld overdue", scope,
	    json_array_size(followups), overdue));
	m = json_pack("{s:s,s:O,s:I}", "scope", scope, "followups", followups,
	    "overdue_count", (json_int_t)overdue);
	if (!ctx->req.wants_json) {
		cpa_list_page(m, scope, manager, overdue, "Follow-ups after discharge in your teams",
		    "Your follow-ups after discharge");
		cpa_json_annotate(m, cpa_date_words, NULL);
	}
	cpa_commit_render(ctx, 200, "followup_list", m);
	return CPA_OK;
}
