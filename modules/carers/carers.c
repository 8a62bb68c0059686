/*
 * carers.c - a person's carers page, adding a carer (a new one, or one
 * who already supports another of the caller's people), a carer's own
 * record and its changes, and ending a link when the carer no longer
 * supports the person.
 *
 * Each change is one statement: CTEs check access (a clinical role
 * covering the person's open episode: 409 without one, 403 audited for
 * another team's), the state and the fields only the database can judge
 * (dates against today), then write; the row names the problem and the
 * fields at fault, which the tables here turn into answers.  A link is
 * read back in a second statement of the same transaction, so what the
 * carer may be told (carer_may_know) reflects the change.  Row-level
 * security hides other sites' people and carers (404).
 */
#include <ctype.h>
#include <limits.h>
#include <string.h>

#include "carers.h"

/* ------------------------------------------------------------ SQL */

/* Adding a carer in one statement.  $1 person, $2 existing carer or NULL,
 * $3..$11 the new carer's details (NULL when linking one), $12
 * relationship, $13 its detail, $14 lives with, $15 started on.  The
 * carer is already current ("linked") when $2 is, or when a current carer
 * has the same names (and no other date of birth).  An existing carer must
 * be of the person's site and support another person the caller covers. */
static const struct cpa_stmt q_add = {
	"carer_add",
	"WITH su AS (SELECT s.id, s.site_id FROM service_user s WHERE s.id = $1::bigint),"
	" ex AS (SELECT c.* FROM carer c JOIN su ON c.site_id = su.site_id"
	"  WHERE c.id = $2::bigint),"
	" dup AS (SELECT c.given_name || ' ' || c.family_name AS name"
	"  FROM carer_link l JOIN carer c ON c.id = l.carer_id JOIN su ON true"
	"  WHERE l.service_user_id = su.id AND l.ended_on IS NULL"
	"  AND (l.carer_id = $2::bigint OR ($2::bigint IS NULL"
	"  AND lower(c.given_name) = lower($3::text)"
	"  AND lower(c.family_name) = lower($4::text)"
	"  AND (c.date_of_birth IS NULL OR $5::date IS NULL OR c.date_of_birth = $5::date)))"
	"  LIMIT 1),"
	" chk AS (SELECT su.id AS service_user_id, su.site_id, ex.id AS existing_id,"
	"  CASE WHEN NOT " CARERS_HAS_EPISODE("su.id") " THEN 'no_episode'"
	"  WHEN NOT " CARERS_COVERED("su.id") " THEN 'denied'"
	"  WHEN EXISTS (SELECT 1 FROM dup) THEN 'linked' END AS problem,"
	"  (SELECT name FROM dup) AS linked_name,"
	"  ARRAY(SELECT v.f FROM (VALUES"
	"   (1, CASE WHEN $2::bigint IS NOT NULL AND (ex.id IS NULL OR NOT EXISTS ("
	"    SELECT 1 FROM carer_link o WHERE o.carer_id = ex.id AND o.service_user_id <> su.id"
	"    AND " CARERS_COVERED("o.service_user_id") ")) THEN 'carer_id' END),"
	"   (2, CASE WHEN $5::date > current_date THEN 'dob_future'"
	"    WHEN $5::date < current_date - interval '120 years' THEN 'dob_old' END),"
	"   (3, CASE WHEN $15::date > current_date THEN 'started_future' END))"
	"   v(o, f) WHERE v.f IS NOT NULL ORDER BY v.o) AS invalid"
	"  FROM su LEFT JOIN ex ON true),"
	" ok AS (SELECT * FROM chk WHERE chk.problem IS NULL AND cardinality(chk.invalid) = 0),"
	" nc AS (INSERT INTO carer (site_id, given_name, family_name, date_of_birth,"
	"  young_carer, phone, email, address, postcode, preferred_contact, created_by)"
	"  SELECT ok.site_id, $3::text, $4::text, $5::date, coalesce($6::boolean, false),"
	"  $7::text, $8::text, $9::text, $10::text, coalesce($11::text, 'phone'), cpa_user_id()"
	"  FROM ok WHERE ok.existing_id IS NULL RETURNING id),"
	" nl AS (INSERT INTO carer_link (site_id, carer_id, service_user_id, relationship,"
	"  relationship_detail, lives_with, started_on, created_by)"
	"  SELECT ok.site_id, coalesce(ok.existing_id, nc.id), ok.service_user_id, $12::text,"
	"  $13::text, coalesce($14::boolean, false), coalesce($15::date, current_date),"
	"  cpa_user_id() FROM ok LEFT JOIN nc ON true"
	"  WHERE ok.existing_id IS NOT NULL OR nc.id IS NOT NULL RETURNING id, carer_id)"
	" SELECT chk.problem, chk.linked_name, to_json(chk.invalid) AS invalid,"
	" chk.service_user_id, chk.site_id, nl.id AS link_id, nl.carer_id,"
	" nl.id IS NOT NULL AS done"
	" FROM chk LEFT JOIN nl ON true",
	15
};

/* Whether the caller covers a person the carer row X supports (a current
 * or ended link): who may see and change the carer. */
#define CARER_VISIBLE(X) \
	"EXISTS (SELECT 1 FROM carer_link vl WHERE vl.carer_id = " X ".id" \
	" AND " CARERS_COVERED("vl.service_user_id") ")"

/* $1 carer.  The people the carer supports whom the caller covers, and
 * how many others. */
static const struct cpa_stmt q_show = {
	"carer_show",
	"SELECT c.id, c.site_id, " CARER_JSON("c") " AS carer,"
	" (SELECT coalesce(json_agg(json_build_object('id', l.id,"
	"   'relationship', l.relationship, 'started_on', l.started_on,"
	"   'ended_on', l.ended_on, 'service_user', " PERSON_SUMMARY_JSON ")"
	"   ORDER BY l.ended_on IS NOT NULL, lower(su.family_name), lower(su.given_name),"
	"   l.id), '[]')"
	"  FROM carer_link l JOIN service_user su ON su.id = l.service_user_id"
	"  WHERE l.carer_id = c.id AND " CARERS_COVERED("l.service_user_id") ") AS supports,"
	" (SELECT count(*) FROM carer_link l WHERE l.carer_id = c.id"
	"  AND NOT " CARERS_COVERED("l.service_user_id") ") AS others"
	" FROM carer c WHERE c.id = $1::bigint",
	1
};

/* $1 carer, $2 version, $3..$11 the details in detail_fields order.  The
 * row is locked, so of two editors the second sees the first's version;
 * a refused change answers with the carer as it is. */
static const struct cpa_stmt q_update = {
	"carer_update",
	"WITH cur AS (SELECT c.* FROM carer c WHERE c.id = $1::bigint FOR UPDATE),"
	" chk AS (SELECT cur.*, CASE WHEN NOT " CARER_VISIBLE("cur") " THEN 'denied'"
	"  WHEN cur.version <> $2::int THEN 'stale' END AS problem,"
	"  ARRAY(SELECT v.f FROM (VALUES"
	"   (1, CASE WHEN $5::date > current_date THEN 'dob_future'"
	"    WHEN $5::date < current_date - interval '120 years' THEN 'dob_old' END))"
	"   v(o, f) WHERE v.f IS NOT NULL ORDER BY v.o) AS invalid FROM cur),"
	" up AS (UPDATE carer c SET given_name = $3::text, family_name = $4::text,"
	"  date_of_birth = $5::date, young_carer = coalesce($6::boolean, false),"
	"  phone = $7::text, email = $8::text, address = $9::text, postcode = $10::text,"
	"  preferred_contact = coalesce($11::text, 'phone'), updated_at = now(),"
	"  version = c.version + 1"
	"  FROM chk WHERE c.id = chk.id AND chk.problem IS NULL"
	"  AND cardinality(chk.invalid) = 0 RETURNING c.*)"
	" SELECT chk.problem, to_json(chk.invalid) AS invalid, chk.site_id,"
	" up.id IS NOT NULL AS done,"
	" CASE WHEN up.id IS NOT NULL THEN " CARER_JSON("up") " ELSE " CARER_JSON("chk")
	" END AS carer"
	" FROM chk LEFT JOIN up ON true",
	11
};

/* $1 link, $2 version, $3 ended on or NULL (today), $4 reason. */
static const struct cpa_stmt q_end = {
	"carer_link_end",
	"WITH cur AS (SELECT l.* FROM carer_link l WHERE l.id = $1::bigint FOR UPDATE),"
	" chk AS (SELECT cur.id, cur.service_user_id, cur.site_id, cur.started_on,"
	"  CASE WHEN NOT " CARERS_HAS_EPISODE("cur.service_user_id") " THEN 'no_episode'"
	"  WHEN NOT " CARERS_COVERED("cur.service_user_id") " THEN 'denied'"
	"  WHEN cur.ended_on IS NOT NULL THEN 'ended'"
	"  WHEN cur.version <> $2::int THEN 'stale' END AS problem,"
	"  ARRAY(SELECT v.f FROM (VALUES"
	"   (1, CASE WHEN coalesce($3::date, current_date) > current_date THEN 'ended_future'"
	"    WHEN coalesce($3::date, current_date) < cur.started_on THEN 'ended_early' END))"
	"   v(o, f) WHERE v.f IS NOT NULL ORDER BY v.o) AS invalid FROM cur),"
	" up AS (UPDATE carer_link l SET ended_on = coalesce($3::date, current_date),"
	"  end_reason = $4::text, version = l.version + 1"
	"  FROM chk WHERE l.id = chk.id AND chk.problem IS NULL"
	"  AND cardinality(chk.invalid) = 0 RETURNING l.id)"
	" SELECT chk.problem, to_json(chk.invalid) AS invalid, chk.service_user_id,"
	" chk.site_id, chk.started_on, EXISTS (SELECT 1 FROM up) AS done FROM chk",
	4
};

/* ------------------------------------------------------------ input */

/* A carer's details: the first fields of both tables below, in the order
 * of the statements' parameters. */
enum {
	D_GIVEN, D_FAMILY, D_DOB, D_YOUNG, D_PHONE, D_EMAIL, D_ADDRESS, D_POSTCODE,
	D_CONTACT, D_COUNT
};
#define DETAIL_FIELDS \
	{ "given_name", "The carer's given name", CPA_FT_LINE, 0, 1, 100, NULL }, \
	{ "family_name", "The carer's family name", CPA_FT_LINE, 0, 1, 100, NULL }, \
	{ "date_of_birth", "Date of birth", CPA_FT_DATE, 0, 0, 0, NULL }, \
	{ "young_carer", "Whether they are a young carer", CPA_FT_BOOL, 0, 0, 0, NULL }, \
	{ "phone", "Phone number", CPA_FT_LINE, 0, 1, 40, NULL }, \
	{ "email", "Email address", CPA_FT_EMAIL, 0, 1, 254, NULL }, \
	{ "address", "Address", CPA_FT_TEXT, 0, 1, 500, NULL }, \
	{ "postcode", "Postcode", CPA_FT_LINE, 0, 1, 10, NULL }, \
	{ "preferred_contact", "How they prefer to be contacted", CPA_FT_ENUM, 0, 0, 0, \
	    carer_contacts }

enum { AF_CARER = D_COUNT, AF_RELATIONSHIP, AF_DETAIL, AF_LIVES, AF_STARTED, AF_COUNT };
static const struct cpa_field add_fields[] = {
	DETAIL_FIELDS,
	{ "carer_id", "Carer", CPA_FT_ID, 0, 0, 0, NULL },
	{ "relationship", "Their relationship to the person", CPA_FT_ENUM, CPA_FF_REQUIRED,
	    0, 0, cpa_carer_relationships },
	{ "relationship_detail", "How they are related", CPA_FT_LINE, 0, 1, 100, NULL },
	{ "lives_with", "Whether they live with the person", CPA_FT_BOOL, 0, 0, 0, NULL },
	{ "started_on", "Date they started caring", CPA_FT_DATE, 0, 0, 0, NULL },
};
_Static_assert(CPA_NFIELDS(add_fields) == AF_COUNT, "add_fields and AF_ disagree");

enum { UF_VERSION = D_COUNT, UF_COUNT };
static const struct cpa_field update_fields[] = {
	DETAIL_FIELDS,
	{ "version", "Version", CPA_FT_INT, CPA_FF_REQUIRED, 1, INT_MAX, NULL },
};
_Static_assert(CPA_NFIELDS(update_fields) == UF_COUNT, "update_fields and UF_ disagree");

enum { EF_VERSION, EF_ENDED, EF_REASON };
static const struct cpa_field end_fields[] = {
	{ "version", "Version", CPA_FT_INT, CPA_FF_REQUIRED, 1, INT_MAX, NULL },
	{ "ended_on", "Date they stopped caring", CPA_FT_DATE, 0, 0, 0, NULL },
	{ "end_reason", "Why they no longer care for the person", CPA_FT_TEXT,
	    CPA_FF_REQUIRED, 1, 500, NULL },
};

/* What a statement's problem means: a conflict or denial (field NULL), or
 * a 422 at a field. */
static const struct cpa_problem problems[] = {
	{ "no_episode", 409, NULL, CPA_NO_EPISODE_MESSAGE },
	{ "denied", 403, NULL, "You can only see and change carers of people in your teams" },
	{ "linked", 409, NULL, "This carer is already recorded as a carer of this person" },
	{ "ended", 409, NULL, "This carer no longer supports the person: the link has ended" },
	{ "stale", 409, NULL,
	    "Someone else has changed this record: look at it again and retry" },
	{ "carer_id", 422, "carer_id", "Select a carer who supports someone in your teams" },
	{ "dob_future", 422, "date_of_birth", "Date of birth must be in the past" },
	{ "dob_old", 422, "date_of_birth",
	    "Date of birth must be no more than 120 years ago" },
	{ "started_future", 422, "started_on",
	    "Date they started caring must be today or in the past" },
	{ "ended_future", 422, "ended_on",
	    "Date they stopped caring must be today or in the past" },
	{ "ended_early", 422, "ended_on",
	    "Date they stopped caring must not be before they started" },
};

#define NPROBLEMS (sizeof(problems) / sizeof(problems[0]))

static const struct cpa_problem *
problem_of(const char *code)
{
	return cpa_problem_find(problems, NPROBLEMS, code, "stale");
}

/* ------------------------------------------------------------ checks */

/* A UK postcode's shape: outward code A9, A99, AA9, AA99, A9A or AA9A,
 * then 9AA.  s is the postcode without spaces, in upper case. */
static int
postcode_shape(const char *s)
{
	size_t n = strlen(s), out, i = 0;

	if (n < 5 || n > 7)
		return 0;
	out = n - 3;
	if (!isupper((unsigned char)s[n - 2]) || !isupper((unsigned char)s[n - 1]) ||
	    !isdigit((unsigned char)s[n - 3]))
		return 0;
	if (!isupper((unsigned char)s[i++]))
		return 0;
	if (i < out && isupper((unsigned char)s[i]))
		i++;
	if (i >= out || !isdigit((unsigned char)s[i++]))
		return 0;
	if (i < out && isalnum((unsigned char)s[i]))
		i++;
	return i == out;
}

/* The details' checks that need no database: names unless linking
 * (linking set), the postcode (normalised: upper case, one space), and
 * the way to contact them, when chosen, needs what it uses (the default,
 * phone, is not a choice: a carer may have no phone yet). */
static void
details_check(struct cpa_ctx *ctx, struct cpa_input *in, int linking)
{
	static const struct {
		const char *contact;
		int field;
		const char *message;
	} needs[] = {
		{ "phone", D_PHONE, "Enter a phone number to contact them by phone" },
		{ "text", D_PHONE, "Enter a phone number to contact them by text message" },
		{ "email", D_EMAIL, "Enter an email address to contact them by email" },
		{ "post", D_ADDRESS, "Enter an address to contact them by letter" },
	};
	struct cpa_value *v = in->values;
	const char *contact;
	char *pc;
	size_t i, k;

	if (linking)
		return;
	if (!v[D_GIVEN].present && cpa_input_error(in, "given_name") == NULL)
		cpa_input_add_error(ctx->arena, in, "given_name",
		    "Enter the carer's given name");
	if (!v[D_FAMILY].present && cpa_input_error(in, "family_name") == NULL)
		cpa_input_add_error(ctx->arena, in, "family_name",
		    "Enter the carer's family name");
	if (v[D_POSTCODE].present) {
		pc = cpa_alloc(ctx->arena, v[D_POSTCODE].len + 2);
		for (i = k = 0; i < v[D_POSTCODE].len; i++)
			if (v[D_POSTCODE].str[i] != ' ')
				pc[k++] = (char)toupper((unsigned char)v[D_POSTCODE].str[i]);
		pc[k] = '\0';
		if (!postcode_shape(pc)) {
			v[D_POSTCODE].present = 0;
			cpa_input_add_error(ctx->arena, in, "postcode",
			    "Enter a real postcode, like LS1 4AP");
		} else {
			v[D_POSTCODE].str = cpa_sprintf(ctx->arena, "%.*s %s", (int)(k - 3), pc,
			    pc + k - 3);
			v[D_POSTCODE].len = k + 1;
		}
	}
	contact = v[D_CONTACT].present ? v[D_CONTACT].str : "";
	for (i = 0; i < sizeof(needs) / sizeof(needs[0]); i++)
		if (strcmp(needs[i].contact, contact) == 0 && !v[needs[i].field].present &&
		    cpa_input_error(in, "preferred_contact") == NULL &&
		    cpa_input_error(in, in->fields[needs[i].field].name) == NULL)
			cpa_input_add_error(ctx->arena, in, "preferred_contact",
			    needs[i].message);
}

/* ------------------------------------------------------------ a person's */

int
carers_person(struct cpa_ctx *ctx)
{
	json_t *m;

	cpa_db_begin(ctx);
	if ((m = carers_person_model(ctx, cpa_param_id(&ctx->req, "id"), NULL, NULL,
	    NULL)) == NULL)
		return CPA_OK;
	cpa_commit_render(ctx, 200, "carers_person", m);
	return CPA_OK;
}

int
carer_add(struct cpa_ctx *ctx)
{
	long long id;
	const char *params[15], *code, *link_id;
	struct cpa_input in;
	json_t *link;
	PGresult *r;
	size_t i;
	int linking;

	if ((id = carers_form_id(ctx, "service_user",
	    add_fields, AF_COUNT, &in)) == 0)
		return CPA_OK;
	linking = in.values[AF_CARER].present;
	details_check(ctx, &in, linking);
	if (in.values[AF_RELATIONSHIP].present &&
	    strcmp(in.values[AF_RELATIONSHIP].str, "other") == 0 &&
	    !in.values[AF_DETAIL].present && cpa_input_error(&in, "relationship_detail") == NULL)
		cpa_input_add_error(ctx->arena, &in, "relationship_detail",
		    "Enter how they are related to the person");
	if (in.nerrors > 0) {
		carers_page_again(ctx, id, "add", &in, 422);
		return CPA_OK;
	}
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = cpa_value_or_null(&in.values[AF_CARER]);
	for (i = 0; i < D_COUNT; i++)
		params[2 + i] = linking ? NULL : cpa_value_or_null(&in.values[i]);
	params[11] = in.values[AF_RELATIONSHIP].str;
	params[12] = cpa_value_or_null(&in.values[AF_DETAIL]);
	params[13] = cpa_value_or_null(&in.values[AF_LIVES]);
	params[14] = cpa_value_or_null(&in.values[AF_STARTED]);
	cpa_db_begin(ctx);
	if ((r = cpa_fetch(ctx, &q_add, params, "service_user")) == NULL)
		return CPA_OK;
	if ((code = cpa_db_get(r, 0, "problem")) != NULL) {
		carers_refuse(ctx, problem_of(code), strcmp(code, "linked") == 0 ?
		    cpa_sprintf(ctx->arena, "%s is already recorded as a carer of this person",
		    cpa_db_get(r, 0, "linked_name")) : NULL, id, cpa_db_ll(r, 0, "site_id"),
		    "service_user", params[0], "carer_added", "add", &in);
		return CPA_OK;
	}
	cpa_invalid_add(ctx, &in, r, problems, NPROBLEMS);
	if (in.nerrors > 0) {
		carers_page_again(ctx, id, "add", &in, 422);
		return CPA_OK;
	}
	if ((link_id = cpa_db_get(r, 0, "link_id")) == NULL) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	if ((link = carers_link_json(ctx, link_id)) == NULL)
		return CPA_OK;
	cpa_audit(ctx, "carer_added", "carer_link", link_id, id, cpa_db_ll(r, 0, "site_id"),
	    cpa_sprintf(ctx->arena, "carer %s, %s, %s", cpa_db_get(r, 0, "carer_id"),
	    in.values[AF_RELATIONSHIP].str, linking ? "an existing carer" : "a new carer"));
	cpa_answer_recorded(ctx, 201, cpa_sprintf(ctx->arena, "/service-users/%lld/carers",
	    id), json_pack("{s:O}", "carer_link", link));
	return CPA_OK;
}

/* ------------------------------------------------------------ a carer */

/* For HTML: the edit form of page m, from the carer or from what was
 * typed (values, stolen, with in's errors). */
static void
edit_form(struct cpa_ctx *ctx, json_t *m, json_t *values, const struct cpa_input *in)
{
	json_t *f;
	size_t i;

	if (values == NULL)
		f = json_deep_copy(json_object_get(m, "carer"));
	else
		f = values;
	for (i = 0; in != NULL && i < in->nerrors; i++)
		json_object_set_new(f, cpa_sprintf(ctx->arena, "error_%s", in->errors[i].field),
		    json_string(in->errors[i].message));
	json_object_set_new(f, "prefix", json_string(""));
	json_object_set_new(f, "contacts", carers_radios(ctx, f, "preferred_contact", 1,
	    carer_contacts, carer_contact_labels, NULL));
	json_object_set_new(f, "contact_optional", json_false());
	json_object_set_new(f, "young_checked", json_boolean(json_is_true(json_object_get(f,
	    "young_carer")) || (json_is_string(json_object_get(f, "young_carer")) &&
	    strcmp(json_string_value(json_object_get(f, "young_carer")), "true") == 0)));
	json_object_set_new(m, "form", f);
}

/* The carer's page model (JSON: {carer, supports, others}); the read is
 * audited.  values and in as edit_form takes them (both NULL: a fresh
 * page).  NULL with the response written: 404 (no such carer at the
 * caller's sites), 403 audited (supports no one the caller covers). */
static json_t *
carer_model(struct cpa_ctx *ctx, long long id, json_t *values, const struct cpa_input *in)
{
	const char *param = cpa_id_param(ctx->arena, id);
	json_t *m = NULL, *carer, *supports;
	PGresult *r;

	if ((r = cpa_fetch_one(ctx, &q_show, id, "carer")) == NULL)
		goto out;
	carer = cpa_db_json(ctx->arena, r, 0, "carer");
	supports = cpa_db_json(ctx->arena, r, 0, "supports");
	if (carer == NULL || supports == NULL) {
		cpa_error(ctx, 500, NULL);
		goto out;
	}
	if (json_array_size(supports) == 0) {
		cpa_deny(ctx, 403, "You can only see carers of people in your teams", "carer",
		    param, 0, cpa_db_ll(r, 0, "site_id"), "carer of no one in the caller's teams");
		goto out;
	}
	cpa_audit(ctx, "read", "carer", param, 0, cpa_db_ll(r, 0, "site_id"),
	    cpa_sprintf(ctx->arena, "supports %zu of the caller's people, %s others",
	    json_array_size(supports), cpa_db_get(r, 0, "others")));
	m = json_pack("{s:O,s:O,s:I}", "carer", carer, "supports", supports, "others",
	    (json_int_t)cpa_db_ll(r, 0, "others"));
	if (ctx->req.wants_json)
		goto out;
	edit_form(ctx, m, values, in);
	values = NULL;
	carers_page_words(m, cpa_sprintf(ctx->arena, "Carer: %s",
	    cpa_person_name(ctx->arena, carer)));
out:
	json_decref(values);
	return m;
}

int
carer_show(struct cpa_ctx *ctx)
{
	json_t *m;

	cpa_db_begin(ctx);
	if ((m = carer_model(ctx, cpa_param_id(&ctx->req, "id"), NULL, NULL)) == NULL)
		return CPA_OK;
	cpa_commit_render(ctx, 200, "carer_show", m);
	return CPA_OK;
}

/* The carer's page again with what was typed and in's errors, answered
 * with status (JSON: 422 naming the fields). */
static void
carer_again(struct cpa_ctx *ctx, long long id, const struct cpa_input *in, int status)
{
	json_t *m;

	cpa_db_rollback(ctx);
	if (ctx->req.wants_json) {
		cpa_render_invalid(ctx, NULL, NULL, in);
		ctx->resp.status = status;
		return;
	}
	cpa_db_begin(ctx);
	if ((m = carer_model(ctx, id, cpa_input_typed(in), in)) == NULL ||
	    cpa_commit_or_fail(ctx, m) != CPA_OK)
		return;
	cpa_render_invalid(ctx, "carer_show", m, in);
	ctx->resp.status = status;
}

int
carer_update(struct cpa_ctx *ctx)
{
	long long id;
	const char *params[11], *code;
	const struct cpa_problem *p;
	struct cpa_input in, one;
	json_t *carer;
	PGresult *r;
	size_t i;

	if ((id = carers_form_id(ctx, "carer",
	    update_fields, UF_COUNT, &in)) == 0)
		return CPA_OK;
	details_check(ctx, &in, 0);
	if (cpa_input_refused(ctx, &in, carer_again, id))
		return CPA_OK;
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = in.values[UF_VERSION].str;
	for (i = 0; i < D_COUNT; i++)
		params[2 + i] = cpa_value_or_null(&in.values[i]);
	cpa_db_begin(ctx);
	if ((r = cpa_fetch(ctx, &q_update, params, "carer")) == NULL)
		return CPA_OK;
	carer = cpa_db_json(ctx->arena, r, 0, "carer");
	if ((code = cpa_db_get(r, 0, "problem")) != NULL) {
		p = problem_of(code);
		if (p->status == 403) {
			cpa_deny(ctx, 403, p->message, "carer", params[0], 0,
			    cpa_db_ll(r, 0, "site_id"), "carer_updated");
			return CPA_OK;
		}
		cpa_db_rollback(ctx);
		if (ctx->req.wants_json) {
			cpa_render(ctx, p->status, NULL, json_pack("{s:s,s:O?}", "error",
			    p->message, "carer", carer));
			return CPA_OK;
		}
		one = in;
		one.errors = NULL;
		one.nerrors = 0;
		cpa_input_add_error(ctx->arena, &one, "given_name", p->message);
		carer_again(ctx, id, &one, p->status);
		return CPA_OK;
	}
	cpa_invalid_add(ctx, &in, r, problems, NPROBLEMS);
	if (cpa_input_refused(ctx, &in, carer_again, id))
		return CPA_OK;
	if (carer == NULL) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	cpa_audit(ctx, "carer_updated", "carer", params[0], 0, cpa_db_ll(r, 0, "site_id"),
	    cpa_sprintf(ctx->arena, "version %s", in.values[UF_VERSION].str));
	if (!ctx->req.wants_json) {
		cpa_commit_redirect(ctx, cpa_sprintf(ctx->arena, "/carers/%lld", id));
		return CPA_OK;
	}
	cpa_commit_render(ctx, 200, NULL, json_pack("{s:O}", "carer", carer));
	return CPA_OK;
}

/* ------------------------------------------------------------ ending */

int
carer_link_end(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	const char *params[4], *code, *form;
	struct cpa_input in;
	long long su;
	json_t *link;
	PGresult *r;

	if (cpa_input_read(ctx, end_fields, CPA_NFIELDS(end_fields), &in) != CPA_OK)
		return CPA_OK;
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = in.values[EF_VERSION].str;
	params[2] = cpa_value_or_null(&in.values[EF_ENDED]);
	params[3] = in.values[EF_REASON].str;
	form = cpa_sprintf(ctx->arena, "end-%lld", id);
	cpa_db_begin(ctx);
	if (id == 0) {
		cpa_not_found(ctx, "carer_link", cpa_param(&ctx->req, "id"));
		return CPA_OK;
	}
	if (in.nerrors > 0) {
		if ((su = carers_link_person(ctx, params[0])) != 0)
			carers_page_again(ctx, su, form, &in, 422);
		return CPA_OK;
	}
	if ((r = cpa_fetch(ctx, &q_end, params, "carer_link")) == NULL)
		return CPA_OK;
	su = cpa_db_ll(r, 0, "service_user_id");
	if ((code = cpa_db_get(r, 0, "problem")) != NULL) {
		carers_refuse(ctx, problem_of(code), NULL, su, cpa_db_ll(r, 0, "site_id"),
		    "carer_link", params[0], "carer_link_ended", form, &in);
		return CPA_OK;
	}
	cpa_invalid_add(ctx, &in, r, problems, NPROBLEMS);
	if (in.nerrors > 0) {
		carers_page_again(ctx, su, form, &in, 422);
		return CPA_OK;
	}
	if ((link = carers_link_json(ctx, params[0])) == NULL)
		return CPA_OK;
	cpa_audit(ctx, "carer_link_ended", "carer_link", params[0], su,
	    cpa_db_ll(r, 0, "site_id"), cpa_sprintf(ctx->arena, "ended on %s",
	    params[2] != NULL ? params[2] : "today"));
	cpa_answer_recorded(ctx, 200, cpa_sprintf(ctx->arena, "/service-users/%lld/carers",
	    su), json_pack("{s:O}", "carer_link", link));
	return CPA_OK;
}
