/*
 * changes.c - what changed between two versions of a person's risk
 * assessment: the level that was raised or lowered, the yes/no answers
 * that changed, and each text word by word (cpa_diff_words).
 *
 * One statement reads the assessment, the version it is compared with
 * (the one asked for, else the one it replaced, else the person's current
 * approved one, else the latest approved before it), whether the reader's
 * team covers it, and what the page needs.  The comparison itself is a
 * table walked here, in the order of the assessment form.  Row-level
 * security hides other sites' assessments (404); reading needs a clinical
 * role covering the episode's team (403).
 */
#include <string.h>

#include "risk.h"

/* A version of an assessment as JSON, from risk_assessment row "x": what
 * the answer shows of it, then everything compared. */
#define VERSION_JSON \
	"json_build_object('id', x.id, 'status', x.status, 'version', x.version," \
	" 'overall_level', x.overall_level, 'approved_at', x.approved_at," \
	" 'author_name', (SELECT s.display_name FROM staff s WHERE s.id = x.author_id)," \
	" 'domains', (SELECT coalesce(json_object_agg(d.domain, json_build_object(" \
	"   'level', d.level, 'history', d.history, 'current_factors', d.current_factors," \
	"   'protective_factors', d.protective_factors)), '{}')" \
	"   FROM risk_domain d WHERE d.assessment_id = x.id)," \
	" 'warning_signs', x.warning_signs, 'what_helps', x.what_helps," \
	" 'contacts', x.contacts, 'crisis_numbers', x.crisis_numbers," \
	" 'means_restriction', x.means_restriction," \
	" 'discussed_with_user', x.discussed_with_user," \
	" 'not_discussed_user_reason', x.not_discussed_user_reason," \
	" 'discussed_with_carer', x.discussed_with_carer," \
	" 'not_discussed_carer_reason', x.not_discussed_carer_reason," \
	" 'user_view', x.user_view)"

/* $1 assessment, $2 the version to compare it with, or NULL for the
 * default.  problem "against": $2 is not another assessment of the same
 * person (then "against" is the default). */
static const struct cpa_stmt q_changes = {
	"risk_changes",
	"WITH a AS (SELECT r.id, r.site_id, r.service_user_id, r.status,"
	"  r.supersedes_id, r.approved_at, e.team_id"
	"  FROM risk_assessment r JOIN episode e ON e.id = r.episode_id"
	"  WHERE r.id = $1::bigint),"
	" given AS (SELECT o.id FROM risk_assessment o JOIN a"
	"  ON o.service_user_id = a.service_user_id AND o.id <> a.id"
	"  WHERE o.id = $2::bigint),"
	" dflt AS (SELECT coalesce(a.supersedes_id,"
	"  (SELECT c.id FROM risk_assessment c WHERE c.service_user_id = a.service_user_id"
	"    AND c.status = 'approved' AND c.id <> a.id AND a.status <> 'superseded'),"
	"  (SELECT p.id FROM risk_assessment p WHERE p.service_user_id = a.service_user_id"
	"    AND p.id <> a.id AND p.status IN ('approved', 'superseded')"
	"    AND p.approved_at < coalesce(a.approved_at, 'infinity')"
	"    ORDER BY p.approved_at DESC, p.id DESC LIMIT 1)) AS id FROM a),"
	" b AS (SELECT coalesce((SELECT id FROM given), (SELECT id FROM dflt)) AS id)"
	" SELECT a.id, a.service_user_id, a.site_id,"
	" " CALLER_COVERS("a.team_id") " AS covered,"
	" CASE WHEN $2::bigint IS NOT NULL AND NOT EXISTS (SELECT 1 FROM given)"
	"   THEN 'against' END AS problem,"
	" (SELECT " VERSION_JSON " FROM risk_assessment x WHERE x.id = a.id) AS assessment,"
	" (SELECT " VERSION_JSON " FROM risk_assessment x JOIN b ON x.id = b.id) AS against,"
	" (SELECT coalesce(json_agg(json_build_object('id', x.id, 'status', x.status,"
	"   'approved_at', x.approved_at) ORDER BY x.created_at DESC, x.id DESC), '[]')"
	"   FROM risk_assessment x WHERE x.service_user_id = a.service_user_id"
	"   AND x.id <> a.id) AS versions,"
	" (SELECT " PERSON_SUMMARY_JSON " FROM service_user su"
	"   WHERE su.id = a.service_user_id) AS person"
	" FROM a",
	2
};

enum { CH_AGAINST };
static const struct cpa_field changes_fields[] = {
	{ "against", "Version to compare with", CPA_FT_ID, 0, 0, 0, NULL },
};

#define AGAINST_INVALID "Choose another version of this person's assessment"

/* What the answer shows of each version. */
static const char *const summary_keys[] = {
	"id", "status", "version", "overall_level", "approved_at", "author_name", NULL
};


enum kind { K_LEVEL, K_YESNO, K_TEXT };

/* One compared field, in form order: its name in the answer, its label,
 * its kind, and where a version holds it (domains.<domain>.<key>, or
 * <key> when domain is NULL). */
static const struct compared {
	const char *field;
	const char *label;
	enum kind kind;
	const char *domain;
	const char *key;
} compared[] = {
#define DOMAIN_ROWS(D, L) \
	{ "domains." D ".level", L ": level", K_LEVEL, D, "level" }, \
	{ "domains." D ".history", L ": history", K_TEXT, D, "history" }, \
	{ "domains." D ".current_factors", L ": current factors", K_TEXT, D, \
	    "current_factors" }, \
	{ "domains." D ".protective_factors", L ": protective factors", K_TEXT, D, \
	    "protective_factors" }
	{ "overall_level", "Overall risk", K_LEVEL, NULL, "overall_level" },
	DOMAIN_ROWS("suicide_self_harm", "Suicide and self-harm"),
	DOMAIN_ROWS("harm_to_others", "Harm to others"),
	DOMAIN_ROWS("self_neglect", "Self-neglect"),
	DOMAIN_ROWS("exploitation_vulnerability", "Exploitation and vulnerability"),
	DOMAIN_ROWS("substance_misuse", "Substance misuse"),
	DOMAIN_ROWS("other", "Other risks"),
#undef DOMAIN_ROWS
	{ "warning_signs", "Warning signs", K_TEXT, NULL, "warning_signs" },
	{ "what_helps", "What helps", K_TEXT, NULL, "what_helps" },
	{ "contacts", "Contacts", K_TEXT, NULL, "contacts" },
	{ "crisis_numbers", "Crisis numbers", K_TEXT, NULL, "crisis_numbers" },
	{ "means_restriction", "Means restriction", K_TEXT, NULL, "means_restriction" },
	{ "discussed_with_user", "Discussed with the person", K_YESNO, NULL,
	    "discussed_with_user" },
	{ "not_discussed_user_reason", "Why not discussed with the person", K_TEXT,
	    NULL, "not_discussed_user_reason" },
	{ "discussed_with_carer", "Discussed with the carer", K_YESNO, NULL,
	    "discussed_with_carer" },
	{ "not_discussed_carer_reason", "Why not discussed with the carer", K_TEXT,
	    NULL, "not_discussed_carer_reason" },
	{ "user_view", "The person's view, in their words", K_TEXT, NULL, "user_view" },
};
#define NCOMPARED (sizeof(compared) / sizeof(compared[0]))

/* A field's change from before to after (the values the versions hold,
 * NULL when absent): 0 when nothing changed, else 1 with "before",
 * "after" and the kind's own keys added to c (with view set, the page's
 * extras too). */
typedef int (*change_fn)(struct cpa_ctx *, json_t *, const json_t *, const json_t *,
    int);

static int level_change(struct cpa_ctx *, json_t *, const json_t *, const json_t *, int);
static int yesno_change(struct cpa_ctx *, json_t *, const json_t *, const json_t *, int);
static int text_change(struct cpa_ctx *, json_t *, const json_t *, const json_t *, int);

static const struct kind_rule {
	const char *name;
	change_fn change;
} kinds[] = {
	[K_LEVEL] = { "level", level_change },
	[K_YESNO] = { "yesno", yesno_change },
	[K_TEXT] = { "text", text_change },
};

/* Both NULL, or equal strings. */
static int
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* ------------------------------------------------------------ comparing */

static int
level_rank(const char *s)
{
	int i;

	for (i = 0; s != NULL && risk_levels[i] != NULL; i++)
		if (strcmp(risk_levels[i], s) == 0)
			return i;
	return -1;
}

static int
level_change(struct cpa_ctx *ctx, json_t *c, const json_t *bv, const json_t *av,
    int view)
{
	const char *b = json_string_value(bv), *a = json_string_value(av), *dir;
	const char *summary;

	if (same_str(a, b))
		return 0;
	if (b == NULL) {
		dir = "set";
		summary = cpa_sprintf(ctx->arena, "Set to %s", a);
	} else if (a == NULL) {
		dir = "cleared";
		summary = cpa_sprintf(ctx->arena, "Cleared (it was %s)", b);
	} else if (level_rank(a) > level_rank(b)) {
		dir = "raised";
		summary = cpa_sprintf(ctx->arena, "Raised from %s to %s", b, a);
	} else {
		dir = "lowered";
		summary = cpa_sprintf(ctx->arena, "Lowered from %s to %s", b, a);
	}
	json_object_set_new(c, "before", str_or_null(b));
	json_object_set_new(c, "after", str_or_null(a));
	json_object_set_new(c, "direction", json_string(dir));
	if (view)
		json_object_set_new(c, "summary", json_string(summary));
	return 1;
}

static const char *
yesno_word(const json_t *v)
{
	return json_is_true(v) ? "yes" : json_is_false(v) ? "no" : NULL;
}

static int
yesno_change(struct cpa_ctx *ctx, json_t *c, const json_t *bv, const json_t *av,
    int view)
{
	const char *b = yesno_word(bv), *a = yesno_word(av), *summary;

	if (same_str(a, b))
		return 0;
	json_object_set_new(c, "before", b != NULL ? json_boolean(*b == 'y') : json_null());
	json_object_set_new(c, "after", a != NULL ? json_boolean(*a == 'y') : json_null());
	if (view) {
		if (b == NULL)
			summary = cpa_sprintf(ctx->arena, "Answered %s", a);
		else if (a == NULL)
			summary = cpa_sprintf(ctx->arena, "No longer answered (it was %s)", b);
		else
			summary = cpa_sprintf(ctx->arena, "Changed from %s to %s", b, a);
		json_object_set_new(c, "summary", json_string(summary));
	}
	return 1;
}

/* A text as compared: NULL when absent or empty; line ends as LF, so a
 * version saved from a browser (CRLF) and one from the API (LF) do not
 * differ by line ends alone.  Arena memory. */
static const char *
text_of(struct cpa_ctx *ctx, const json_t *v)
{
	const char *s = json_string_value(v);
	char *out, *o;

	if (s == NULL || *s == '\0')
		return NULL;
	if (strchr(s, '\r') == NULL)
		return s;
	o = out = cpa_strdup(ctx->arena, s);
	for (; *s != '\0'; s++)
		if (!(s[0] == '\r' && s[1] == '\n'))
			*o++ = *s;
	*o = '\0';
	return out;
}

static int
text_change(struct cpa_ctx *ctx, json_t *c, const json_t *bv, const json_t *av,
    int view)
{
	const char *b = text_of(ctx, bv), *a = text_of(ctx, av);
	json_t *diff, *seg;
	size_t i;

	if (same_str(a, b))
		return 0;
	json_object_set_new(c, "before", str_or_null(b));
	json_object_set_new(c, "after", str_or_null(a));
	if ((diff = cpa_diff_words(b, a)) == NULL) {
		json_object_set_new(c, "diff", json_null());
		return 1;
	}
	if (view)
		json_array_foreach(diff, i, seg) {
			const char *op = json_string_value(json_object_get(seg, "op"));

			json_object_set_new(seg, "is_same", json_boolean(strcmp(op, "same") == 0));
			json_object_set_new(seg, "is_removed",
			    json_boolean(strcmp(op, "removed") == 0));
			json_object_set_new(seg, "is_added", json_boolean(strcmp(op, "added") == 0));
		}
	json_object_set_new(c, "diff", diff);
	return 1;
}

/* Where version v holds field c, or NULL. */
static const json_t *
value_of(const json_t *v, const struct compared *c)
{
	if (c->domain != NULL)
		v = json_object_get(json_object_get(json_object_get(v, "domains"),
		    c->domain), c->key);
	else
		v = json_object_get(v, c->key);
	return v;
}

/* The changes from version b to version a, in form order; *unchanged
 * counts the fields that stayed the same. */
static json_t *
changes_list(struct cpa_ctx *ctx, const json_t *b, const json_t *a, int view,
    size_t *unchanged)
{
	const struct kind_rule *k;
	json_t *out = json_array(), *c;
	size_t i;

	*unchanged = 0;
	for (i = 0; i < NCOMPARED; i++) {
		k = &kinds[compared[i].kind];
		c = json_pack("{s:s,s:s,s:s}", "field", compared[i].field,
		    "label", compared[i].label, "kind", k->name);
		if (!k->change(ctx, c, value_of(b, &compared[i]),
		    value_of(a, &compared[i]), view)) {
			json_decref(c);
			(*unchanged)++;
			continue;
		}
		if (view)
			json_object_set_new(c, cpa_sprintf(ctx->arena, "is_%s", k->name),
			    json_true());
		json_array_append_new(out, c);
	}
	return out;
}

/* ------------------------------------------------------------ display */

/* The day version v was approved, in words ("27 March 2025"); null when
 * it was not. */
static json_t *
approved_on(const json_t *v)
{
	return cpa_date_text(json_string_value(json_object_get(v, "approved_at")), NULL);
}

/* What the answer shows of version v: a new object, or null. */
static json_t *
version_summary(const json_t *v, int view)
{
	json_t *s, *x;
	size_t i;

	if (!json_is_object(v))
		return json_null();
	s = json_object();
	for (i = 0; summary_keys[i] != NULL; i++) {
		x = json_object_get(v, summary_keys[i]);
		json_object_set(s, summary_keys[i], x != NULL ? x : json_null());
	}
	if (view)
		json_object_set_new(s, "approved_at_text", approved_on(v));
	return s;
}

/* The choices of the compare-with select: every other version, the one
 * compared with selected. */
static json_t *
version_choices(struct cpa_ctx *ctx, const json_t *versions, json_int_t against)
{
	json_t *out = json_array(), *v, *when;
	const char *status;
	json_int_t id;
	size_t i;

	json_array_foreach(versions, i, v) {
		id = json_integer_value(json_object_get(v, "id"));
		status = json_string_value(json_object_get(v, "status"));
		when = approved_on(v);
		json_array_append_new(out, json_pack("{s:I,s:s,s:b}", "id", id, "label",
		    json_is_string(when) ? cpa_sprintf(ctx->arena,
		    "Assessment %lld, %s, approved %s", (long long)id, status,
		    json_string_value(when)) : cpa_sprintf(ctx->arena,
		    "Assessment %lld, %s", (long long)id, status),
		    "selected", id == against));
		json_decref(when);
	}
	return out;
}

/* ------------------------------------------------------------ handler */

int
risk_changes(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id"), su, site;
	const char *params[2], *bad = NULL;
	struct cpa_input in;
	json_t *a, *b, *m, *changes, *person, *versions;
	size_t unchanged = 0;
	int view = !ctx->req.wants_json;
	PGresult *r;

	if (cpa_input_read(ctx, changes_fields, CPA_NFIELDS(changes_fields), &in) != CPA_OK)
		return CPA_OK;
	if (id == 0) {
		cpa_error(ctx, 404, NULL);
		return CPA_OK;
	}
	if (in.nerrors > 0 && !view) {
		cpa_render_invalid(ctx, NULL, NULL, &in);
		return CPA_OK;
	}
	/* A page asked for a bad version shows the default comparison with
	 * the error. */
	if (in.nerrors > 0)
		bad = in.errors[0].message;
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = cpa_value_or_null(&in.values[CH_AGAINST]);
	cpa_db_begin(ctx);
	if ((r = cpa_fetch(ctx, &q_changes, params, "risk_assessment")) == NULL)
		return CPA_OK;
	su = cpa_db_ll(r, 0, "service_user_id");
	site = cpa_db_ll(r, 0, "site_id");
	if (!cpa_db_flag(r, 0, "covered")) {
		cpa_deny(ctx, 403, "You can only see risk assessments of your own teams' "
		    "people", "risk_assessment", params[0], su, site,
		    "risk_assessment_changes");
		return CPA_OK;
	}
	if (cpa_db_get(r, 0, "problem") != NULL) {
		if (!view) {
			cpa_render_field_error(ctx, 422, NULL, NULL, "against",
			    AGAINST_INVALID);
			return CPA_OK;
		}
		bad = AGAINST_INVALID;
	}
	if ((a = cpa_db_json(ctx->arena, r, 0, "assessment")) == NULL) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	b = cpa_db_json(ctx->arena, r, 0, "against");
	changes = b != NULL ? changes_list(ctx, b, a, view, &unchanged) : json_array();
	m = json_pack("{s:o,s:o,s:o,s:I}", "assessment", version_summary(a, view),
	    "against", version_summary(b, view), "changes", changes,
	    "unchanged_count", (json_int_t)unchanged);
	cpa_audit(ctx, "read", "risk_assessment_changes", params[0], su, site,
	    b != NULL ? cpa_sprintf(ctx->arena, "against %lld",
	    (long long)json_integer_value(json_object_get(b, "id"))) : NULL);
	if (!view) {
		cpa_commit_render(ctx, 200, NULL, m);
		return CPA_OK;
	}
	person = cpa_db_json(ctx->arena, r, 0, "person");
	versions = cpa_db_json(ctx->arena, r, 0, "versions");
	json_object_set(m, "person", person != NULL ? person : json_null());
	json_object_set_new(m, "versions", version_choices(ctx, versions,
	    b != NULL ? json_integer_value(json_object_get(b, "id")) : 0));
	json_object_set_new(m, "no_changes", json_boolean(b != NULL &&
	    json_array_size(changes) == 0));
	json_object_set_new(m, "title", json_string(cpa_sprintf(ctx->arena,
	    "What changed: risk assessment of %s", cpa_person_name(ctx->arena, person))));
	if (bad != NULL) {
		json_object_set_new(m, "errors", json_pack("[{s:s,s:s}]", "field", "against",
		    "message", bad));
		json_object_set_new(m, "error_against", json_string(bad));
	}
	cpa_commit_render(ctx, bad != NULL ? 422 : 200, "risk_changes", m);
	return CPA_OK;
}
