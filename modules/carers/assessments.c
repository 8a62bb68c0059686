/*
 * assessments.c - the carer's assessment: the carer's own right to have
 * their needs assessed.  Offered (a date), then accepted or declined;
 * once accepted, referred to the local authority or completed with an
 * outcome; once referred, completed.
 *
 * Offering and each later step is one statement: CTEs lock the row,
 * check access (a clinical role covering the person's open episode's
 * team), the state, the version and the dates, make the change and read
 * the assessment back.  The statement names one "problem" (403, 409, or
 * "invalid" with the fields at fault, 422) and the table here turns codes
 * into answers.  Reminders of offers not acted on are 010's triggers on
 * carer_assessment (due_item), nothing here.  Row-level security hides
 * other sites' rows (404, audited).
 */
#include <limits.h>
#include <string.h>

#include "carers.h"

/* The access flags of a person's carer records, for person P. */
#define PERSON_ACCESS(P) \
	CARERS_HAS_EPISODE(P) " AS has_episode, " CARERS_COVERED(P) " AS covered"

/* Offering link $1 an assessment: $2 offered on (NULL: today), $3 note.
 * The link is locked, so of two offers at once the second finds the
 * first in hand.  No row: no such link at the caller's sites. */
static const struct cpa_stmt q_offer = {
	"carer_assessment_offer",
	"WITH cur AS (SELECT l.id, l.site_id, l.carer_id, l.service_user_id,"
	"  l.started_on, l.ended_on, " PERSON_ACCESS("l.service_user_id")
	"  FROM carer_link l WHERE l.id = $1::bigint FOR UPDATE OF l),"
	" chk AS (SELECT cur.*, coalesce($2::date, current_date) AS on_date,"
	"  ARRAY(SELECT v.f FROM (VALUES"
	"   (1, CASE WHEN $2::date > current_date THEN 'offered_future'"
	"    WHEN $2::date < cur.started_on THEN 'offered_early' END))"
	"   v(o, f) WHERE v.f IS NOT NULL ORDER BY v.o) AS invalid FROM cur),"
	" chk2 AS (SELECT chk.*, CASE WHEN NOT chk.has_episode THEN 'no_episode'"
	"  WHEN NOT chk.covered THEN 'denied' WHEN chk.ended_on IS NOT NULL THEN 'ended'"
	"  WHEN EXISTS (SELECT 1 FROM carer_assessment a WHERE a.carer_link_id = chk.id"
	"   AND a.status IN ('offered', 'accepted', 'referred')) THEN 'in_hand'"
	"  WHEN cardinality(chk.invalid) > 0 THEN 'invalid' END AS problem FROM chk),"
	" a AS (INSERT INTO carer_assessment (site_id, carer_link_id, carer_id,"
	"  service_user_id, offered_on, offered_by, note, updated_by)"
	"  SELECT c.site_id, c.id, c.carer_id, c.service_user_id, c.on_date, cpa_user_id(),"
	"  $3::text, cpa_user_id() FROM chk2 c WHERE c.problem IS NULL RETURNING *)"
	" SELECT c.problem, to_json(c.invalid) AS invalid, c.service_user_id, c.site_id,"
	" a.id AS assessment_id, a.id IS NOT NULL AS done,"
	" CASE WHEN a.id IS NOT NULL THEN " CARER_ASSESSMENT_JSON("a") " END AS assessment"
	" FROM chk2 c LEFT JOIN a ON true",
	3
};

/* What each action does: from which states, to which.  The statement
 * below reads it as an SQL VALUES list, so the two never disagree. */
#define TRANSITIONS_SQL \
	"(VALUES ('accept', 'offered', 'accepted'), ('decline', 'offered', 'declined')," \
	" ('refer', 'accepted', 'referred'), ('complete', 'accepted', 'completed')," \
	" ('complete', 'referred', 'completed'))"

/* Changing assessment $1: $2 version, $3 action, $4 on (NULL: today),
 * $5 local authority reference (refer), $6 outcome (complete), $7 note
 * (NULL keeps the old one).  The dates of an assessment never go back:
 * the day must not be before its latest date so far.  current is the
 * assessment as it is now (for a stale answer).  No row: no such
 * assessment at the caller's sites. */
static const struct cpa_stmt q_change = {
	"carer_assessment_change",
	"WITH cur AS (SELECT a.*, " PERSON_ACCESS("a.service_user_id")
	"  FROM carer_assessment a WHERE a.id = $1::bigint FOR UPDATE OF a),"
	" t(action, from_status, to_status) AS " TRANSITIONS_SQL ","
	" chk AS (SELECT cur.*, coalesce($4::date, current_date) AS on_date,"
	"  greatest(cur.offered_on, cur.responded_on, cur.referred_on) AS last_on,"
	"  (SELECT t.to_status FROM t WHERE t.action = $3::text"
	"   AND t.from_status = cur.status) AS to_status FROM cur),"
	" chk2 AS (SELECT chk.*, ARRAY(SELECT v.f FROM (VALUES"
	"   (1, CASE WHEN chk.on_date > current_date THEN 'on_future'"
	"    WHEN chk.on_date < chk.last_on THEN 'on_early' END))"
	"   v(o, f) WHERE v.f IS NOT NULL ORDER BY v.o) AS invalid FROM chk),"
	" chk3 AS (SELECT chk2.*, CASE WHEN NOT chk2.has_episode THEN 'no_episode'"
	"  WHEN NOT chk2.covered THEN 'denied' WHEN chk2.to_status IS NULL THEN 'state'"
	"  WHEN chk2.version <> $2::int THEN 'stale'"
	"  WHEN cardinality(chk2.invalid) > 0 THEN 'invalid' END AS problem FROM chk2),"
	" u AS (UPDATE carer_assessment a SET status = c.to_status,"
	"  responded_on = CASE WHEN $3::text IN ('accept', 'decline') THEN c.on_date"
	"   ELSE a.responded_on END,"
	"  referred_on = CASE WHEN $3::text = 'refer' THEN c.on_date ELSE a.referred_on END,"
	"  la_reference = CASE WHEN $3::text = 'refer' THEN $5::text ELSE a.la_reference END,"
	"  completed_on = CASE WHEN $3::text = 'complete' THEN c.on_date"
	"   ELSE a.completed_on END,"
	"  outcome = CASE WHEN $3::text = 'complete' THEN $6::text ELSE a.outcome END,"
	"  note = coalesce($7::text, a.note), updated_by = cpa_user_id(), updated_at = now(),"
	"  version = a.version + 1"
	"  FROM chk3 c WHERE a.id = c.id AND c.problem IS NULL AND a.version = $2::int"
	"  RETURNING a.*)"
	" SELECT c.problem, to_json(c.invalid) AS invalid, c.status, c.service_user_id,"
	" c.site_id, u.id IS NOT NULL AS done,"
	" CASE WHEN u.id IS NOT NULL THEN " CARER_ASSESSMENT_JSON("u") " END AS assessment,"
	" " CARER_ASSESSMENT_JSON("c") " AS current"
	" FROM chk3 c LEFT JOIN u ON true",
	7
};

/* The person whose carers page shows link $1, or assessment $1: for a
 * page form shown again before any change was tried. */
static const struct cpa_stmt q_link_person = {
	"carer_link_person",
	"SELECT l.service_user_id, l.site_id FROM carer_link l WHERE l.id = $1::bigint",
	1
};
static const struct cpa_stmt q_assessment_person = {
	"carer_assessment_person",
	"SELECT a.service_user_id, a.site_id FROM carer_assessment a WHERE a.id = $1::bigint",
	1
};

/* ------------------------------------------------------------ input */

/* What each action records (the audit action's end); parallel to
 * carer_actions. */
static const char *const action_done[] = {
	"accepted", "declined", "referred", "completed", NULL
};

enum { OF_OFFERED_ON, OF_NOTE };
static const struct cpa_field offer_fields[] = {
	{ "offered_on", "Date offered", CPA_FT_DATE, 0, 0, 0, NULL },
	{ "note", "Note", CPA_FT_TEXT, 0, 1, 2000, NULL },
};

enum { CF_VERSION, CF_ACTION, CF_ON, CF_LA_REFERENCE, CF_OUTCOME, CF_NOTE };
static const struct cpa_field change_fields[] = {
	{ "version", "Version", CPA_FT_INT, CPA_FF_REQUIRED, 1, INT_MAX, NULL },
	{ "action", "Action", CPA_FT_ENUM, CPA_FF_REQUIRED, 0, 0, carer_actions },
	{ "on", "Date", CPA_FT_DATE, 0, 0, 0, NULL },
	{ "la_reference", "Local authority reference", CPA_FT_LINE, 0, 1, 100, NULL },
	{ "outcome", "Outcome", CPA_FT_TEXT, 0, 1, 5000, NULL },
	{ "note", "Note", CPA_FT_TEXT, 0, 1, 2000, NULL },
};

/* What a statement's problem means: a conflict or denial (field NULL),
 * or a 422 at a field ("invalid" lists those codes). */
static const struct cpa_problem problems[] = {
	{ "denied", 403, NULL,
	    "You can only change carers' assessments of people in your teams" },
	{ "no_episode", 409, NULL, CPA_NO_EPISODE_MESSAGE },
	{ "ended", 409, NULL, "This carer no longer supports the person: "
	    "an assessment cannot be offered" },
	{ "in_hand", 409, NULL, "This carer already has an assessment in hand" },
	{ "state", 409, NULL, NULL },
	{ "stale", 409, NULL,
	    "Someone else changed this assessment: look at it again and retry" },
	{ "offered_future", 422, "offered_on", "Date offered must be today or in the past" },
	{ "offered_early", 422, "offered_on",
	    "Date offered must not be before the carer started supporting this person" },
	{ "on_future", 422, "on", "Date must be today or in the past" },
	{ "on_early", 422, "on",
	    "Date must not be before the assessment's latest date so far" },
};

#define NPROBLEMS (sizeof(problems) / sizeof(problems[0]))

/* ------------------------------------------------------------ refusals */

/* Refuse in for the link or assessment id (found by st): 404 (audited)
 * when there is none at the caller's sites, else the carers page of its
 * person again with in's errors at form "<prefix><id>", answered with
 * status (JSON clients get in's errors).  What was tried is rolled
 * back. */
static void
refuse_on_page(struct cpa_ctx *ctx, const struct cpa_stmt *st, const char *entity,
    const char *prefix, long long id, const struct cpa_input *in, int status)
{
	const char *params[1];
	long long person;
	PGresult *r;

	cpa_db_rollback(ctx);
	params[0] = cpa_id_param(ctx->arena, id);
	if ((r = cpa_fetch(ctx, st, params, entity)) == NULL)
		return;
	person = cpa_db_ll(r, 0, "service_user_id");
	carers_page_again(ctx, person, cpa_sprintf(ctx->arena, "%s%lld", prefix, id),
	    in, status);
}

static void
offer_again(struct cpa_ctx *ctx, long long id, const struct cpa_input *in, int status)
{
	refuse_on_page(ctx, &q_link_person, "carer_link", "assessment-", id, in, status);
}

static void
change_again(struct cpa_ctx *ctx, long long id, const struct cpa_input *in, int status)
{
	refuse_on_page(ctx, &q_assessment_person, "carer_assessment",
	    "assessment-change-", id, in, status);
}

/* Answer the statement's problem code for record id (r its row, NULL
 * after a racing change): 403 audited; 409 as {"error"} (JSON; with the
 * assessment as it is now when r has it) or the page again with the
 * message at field; 422 naming the fields. */
static void
problem_answer(struct cpa_ctx *ctx, const char *code, const PGresult *r,
    struct cpa_input *in, const char *entity, const char *audit_action,
    const char *field, const char *message, cpa_again_fn again, long long id)
{
	const struct cpa_problem *p = cpa_problem_find(problems, NPROBLEMS, code, "stale");
	struct cpa_input one;
	json_t *current;

	if (message == NULL)
		message = p->message;
	if (strcmp(code, "invalid") == 0) {
		in->nerrors = 0;
		cpa_invalid_add(ctx, in, r, problems, NPROBLEMS);
		again(ctx, id, in, 422);
		return;
	}
	if (p->status == 403) {
		cpa_deny(ctx, 403, message, entity, cpa_id_param(ctx->arena, id),
		    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"),
		    audit_action);
		return;
	}
	if (strcmp(code, "no_episode") == 0) {
		cpa_error(ctx, p->status, message);
		return;
	}
	if (ctx->req.wants_json) {
		current = r != NULL ? cpa_db_json(ctx->arena, r, 0, "current") : NULL;
		cpa_db_rollback(ctx);
		if (current != NULL)
			cpa_render(ctx, p->status, NULL, json_pack("{s:s,s:O}", "error",
			    message, "carer_assessment", current));
		else
			cpa_error(ctx, p->status, message);
		return;
	}
	one = *in;
	one.nerrors = 0;
	cpa_input_add_error(ctx->arena, &one, field, message);
	again(ctx, id, &one, p->status);
}

/* Answer status with the assessment that the change answering r wrote
 * (assessment, service_user_id, site_id), audited as action on the
 * assessment id with the detail "<what> on <its date at key><more>". */
static void
assessment_answer(struct cpa_ctx *ctx, PGresult *r, int status, const char *action,
    const char *id, const char *what, const char *key, const char *more)
{
	json_t *assessment;

	if ((assessment = cpa_db_json(ctx->arena, r, 0, "assessment")) == NULL) {
		cpa_error(ctx, 500, NULL);
		return;
	}
	cpa_audit(ctx, action, "carer_assessment", id, cpa_db_ll(r, 0, "service_user_id"),
	    cpa_db_ll(r, 0, "site_id"), cpa_sprintf(ctx->arena, "%s on %s%s", what,
	    json_string_value(json_object_get(assessment, key)), more));
	cpa_answer_recorded(ctx, status, cpa_sprintf(ctx->arena, "/service-users/%lld/carers",
	    cpa_db_ll(r, 0, "service_user_id")), json_pack("{s:O}", "carer_assessment",
	    assessment));
}

/* ------------------------------------------------------------ offering */

int
assessment_offer(struct cpa_ctx *ctx)
{
	long long id;
	const char *params[3], *code;
	struct cpa_input in;
	PGresult *r;

	if ((id = carers_form_id(ctx, "carer_link",
	    offer_fields, CPA_NFIELDS(offer_fields), &in)) == 0)
		return CPA_OK;
	if (in.nerrors > 0) {
		offer_again(ctx, id, &in, 422);
		return CPA_OK;
	}
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = cpa_value_or_null(&in.values[OF_OFFERED_ON]);
	params[2] = cpa_value_or_null(&in.values[OF_NOTE]);
	r = cpa_run_change(ctx, &q_offer, params, "carer_link", "in_hand", &code);
	if (code != NULL) {
		problem_answer(ctx, code, r, &in, "carer_link", "carer_assessment_offered",
		    "offered_on", NULL, offer_again, id);
		return CPA_OK;
	}
	if (r == NULL)
		return CPA_OK;
	assessment_answer(ctx, r, 201, "carer_assessment_offered",
	    cpa_db_get(r, 0, "assessment_id"), cpa_sprintf(ctx->arena,
	    "carer link %s, offered", params[0]), "offered_on", "");
	return CPA_OK;
}

/* ------------------------------------------------------------ answering */

/* Checks that need no database: what the action requires, and (from
 * JSON clients) nothing it does not take.  A page's form posts every
 * control, so there the fields the action does not use are dropped. */
static void
change_check(struct cpa_ctx *ctx, struct cpa_input *in)
{
	static const struct {
		int field;
		const char *action;
		const char *missing;	/* NULL: optional */
		const char *unwanted;
	} rules[] = {
		{ CF_LA_REFERENCE, "refer", NULL,
		    "Leave out the local authority reference unless the carer is referred" },
		{ CF_OUTCOME, "complete", "Enter the outcome of the assessment",
		    "Leave out the outcome unless the assessment is completed" },
	};
	const struct cpa_value *a = &in->values[CF_ACTION];
	struct cpa_value *v;
	const char *name;
	size_t i;
	int wanted;

	if (!a->present)
		return;
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		v = &in->values[rules[i].field];
		name = change_fields[rules[i].field].name;
		wanted = strcmp(a->str, rules[i].action) == 0;
		if (wanted && !v->present && rules[i].missing != NULL &&
		    cpa_input_error(in, name) == NULL)
			cpa_input_add_error(ctx->arena, in, name, rules[i].missing);
		else if (!wanted && v->present && ctx->req.wants_json)
			cpa_input_add_error(ctx->arena, in, name, rules[i].unwanted);
		else if (!wanted)
			v->present = 0;
	}
}

/* The index of the action in carer_actions (it was validated). */
static size_t
action_index(const char *action)
{
	size_t i;

	for (i = 0; carer_actions[i + 1] != NULL; i++)
		if (strcmp(carer_actions[i], action) == 0)
			break;
	return i;
}

int
assessment_change(struct cpa_ctx *ctx)
{
	long long id;
	const char *params[7], *code, *action, *message = NULL;
	struct cpa_input in;
	PGresult *r;
	size_t i, k;

	if ((id = carers_form_id(ctx, "carer_assessment",
	    change_fields, CPA_NFIELDS(change_fields), &in)) == 0)
		return CPA_OK;
	change_check(ctx, &in);
	if (in.nerrors > 0) {
		change_again(ctx, id, &in, 422);
		return CPA_OK;
	}
	action = in.values[CF_ACTION].str;
	params[0] = cpa_id_param(ctx->arena, id);
	for (i = 0; i < CPA_NFIELDS(change_fields); i++)
		params[i + 1] = cpa_value_or_null(&in.values[i]);
	k = action_index(action);
	r = cpa_run_change(ctx, &q_change, params, "carer_assessment", "stale", &code);
	if (code != NULL) {
		if (strcmp(code, "state") == 0)
			message = cpa_sprintf(ctx->arena, "Cannot %s: the carer's assessment is %s",
			    action, cpa_db_get(r, 0, "status"));
		problem_answer(ctx, code, r, &in, "carer_assessment",
		    cpa_sprintf(ctx->arena, "carer_assessment_%s", action_done[k]),
		    "action", message, change_again, id);
		return CPA_OK;
	}
	if (r == NULL)
		return CPA_OK;
	assessment_answer(ctx, r, 200, cpa_sprintf(ctx->arena, "carer_assessment_%s",
	    action_done[k]), params[0], action_done[k], strcmp(action, "refer") == 0 ?
	    "referred_on" : strcmp(action, "complete") == 0 ? "completed_on" :
	    "responded_on", params[4] != NULL ? cpa_sprintf(ctx->arena,
	    ", local authority reference %s", params[4]) : "");
	return CPA_OK;
}
