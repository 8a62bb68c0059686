/*
 * policy.c - a site's reminder policy: for each kind of item (CPA review,
 * risk review, 72-hour follow-up, carer's assessment) the steps of
 * reminding, each an offset from the due time (before it: a lead time;
 * after it: an escalation) and to whom.  A site either has its own steps
 * for a kind or uses the trust's defaults (reminder_step rows with no
 * site, 006).  Only a trust_admin of the site sees and changes it (403;
 * another site's is not found, 404).
 *
 * A change replaces the site's steps of one kind in one statement (delete
 * and insert, or delete only to go back to the defaults), then asks 007's
 * remind_reschedule() to move the site's open items of that kind to the
 * new steps, in the same transaction.  Offsets are whole days (calendar
 * days, UK time) or hours, strictly rising from step to step.
 */
#include <stdint.h>
#include <string.h>

#include "reviews.h"

#define MAX_STEPS 9
#define MAX_DAYS 365
#define MAX_HOURS (MAX_DAYS * 24)

static const char *const kind_labels[] = {	/* of reminder_kinds */
	"CPA reviews", "Risk reviews", "72-hour follow-ups after discharge",
	"Carer's assessments offered but not done", NULL
};
static const char *const recipient_codes[] = {
	"coordinator", "team_manager", "district_manager", NULL
};
static const char *const recipient_labels[] = {
	"Care coordinator", "Team manager", "District manager", NULL
};
static const char *const unit_codes[] = { "days", "hours", NULL };

/* A step as JSON from reminder_step x: whole days as offset_days, else
 * hours as offset_hours. */
#define STEP_JSON \
	"CASE WHEN date_trunc('day', x.offset_by) = x.offset_by" \
	" THEN json_build_object('step', x.step, 'offset_days'," \
	"  round(extract(epoch FROM x.offset_by) / 86400)::integer, 'recipient', x.recipient)" \
	" ELSE json_build_object('step', x.step, 'offset_hours'," \
	"  round(extract(epoch FROM x.offset_by) / 3600)::integer, 'recipient', x.recipient)" \
	" END"

/* Whether the caller is a trust_admin of site S (an SQL expression). */
#define SITE_ADMIN(S) \
	"EXISTS (SELECT 1 FROM staff_role r WHERE r.staff_id = cpa_user_id()" \
	" AND r.role = 'trust_admin' AND r.site_id = " S ")"

/* $1 site.  Per kind: whose steps are in force ("site" or "defaults"),
 * those steps and the trust's defaults. */
static const struct cpa_stmt q_policy = {
	"policy_show",
	"SELECT s.id, s.name, " SITE_ADMIN("s.id") " AS admin,"
	" (SELECT json_agg(json_build_object('kind', k.kind,"
	"   'uses', CASE WHEN EXISTS (SELECT 1 FROM reminder_step o WHERE o.site_id = s.id"
	"     AND o.kind = k.kind) THEN 'site' ELSE 'defaults' END,"
	"   'steps', (SELECT coalesce(json_agg(" STEP_JSON " ORDER BY x.step), '[]')"
	"     FROM reminder_step x WHERE x.kind = k.kind"
	"     AND x.site_id IS NOT DISTINCT FROM (SELECT o.site_id FROM reminder_step o"
	"       WHERE o.site_id = s.id AND o.kind = k.kind LIMIT 1)),"
	"   'defaults', (SELECT coalesce(json_agg(" STEP_JSON " ORDER BY x.step), '[]')"
	"     FROM reminder_step x WHERE x.kind = k.kind AND x.site_id IS NULL))"
	"   ORDER BY k.o)"
	"  FROM (VALUES (1, 'cpa_review'), (2, 'risk_review'), (3, 'followup'),"
	"   (4, 'carer_assessment')) AS k(o, kind)) AS kinds"
	" FROM site s WHERE s.id = $1::bigint",
	1
};

/* $1 site, $2 kind, $3 the new steps as a JSON array of {step, days,
 * hours, recipient} (NULL: back to the defaults).  The insert reads the
 * delete's count, so it runs after it and the unique key sees the old
 * rows gone.  Nothing changes unless the caller is the site's admin. */
static const struct cpa_stmt q_policy_set = {
	"policy_set",
	"WITH chk AS (SELECT s.id, " SITE_ADMIN("s.id") " AS admin FROM site s"
	"  WHERE s.id = $1::bigint),"
	" del AS (DELETE FROM reminder_step x USING chk WHERE chk.admin"
	"  AND x.site_id = chk.id AND x.kind = $2::text RETURNING 1),"
	" ins AS (INSERT INTO reminder_step (site_id, kind, step, offset_by, recipient)"
	"  SELECT chk.id, $2::text, j.step, make_interval(days => coalesce(j.days, 0),"
	"  hours => coalesce(j.hours, 0)), j.recipient"
	"  FROM chk, json_to_recordset(coalesce($3::json, '[]')) AS j(step smallint,"
	"  days integer, hours integer, recipient text)"
	"  WHERE chk.admin AND (SELECT count(*) FROM del) >= 0 RETURNING 1)"
	" SELECT chk.id, chk.admin, (SELECT count(*) FROM del) AS removed,"
	" (SELECT count(*) FROM ins) AS added FROM chk",
	3
};

/* $1 site, $2 kind. */
static const struct cpa_stmt q_reschedule = {
	"policy_reschedule",
	"SELECT remind_reschedule($1::bigint, $2::text) AS changed",
	2
};

/* ------------------------------------------------------------ input */

enum { PS_KIND, PS_DEFAULTS, PS_ROWS };
#define ROW_FIELDS(N) \
	{ "steps." #N ".offset", "Step " #N " offset", CPA_FT_INT, 0, -MAX_HOURS, \
	    MAX_HOURS, NULL }, \
	{ "steps." #N ".unit", "Step " #N " unit", CPA_FT_ENUM, 0, 0, 0, unit_codes }, \
	{ "steps." #N ".recipient", "Step " #N " recipient", CPA_FT_ENUM, 0, 0, 0, \
	    recipient_codes }
#define ROW_OFFSET 0
#define ROW_UNIT 1
#define ROW_RECIPIENT 2
#define ROW_NFIELDS 3

/* JSON gives kind, use_defaults and a "steps" array (read from the
 * document); a form gives these and MAX_STEPS rows, blank rows ignored. */
static const struct cpa_field set_fields[] = {
	{ "kind", "Kind of reminder", CPA_FT_ENUM, CPA_FF_REQUIRED, 0, 0, reminder_kinds },
	{ "use_defaults", "Whether to use the trust's defaults", CPA_FT_BOOL, 0, 0, 0, NULL },
	ROW_FIELDS(1), ROW_FIELDS(2), ROW_FIELDS(3), ROW_FIELDS(4), ROW_FIELDS(5),
	ROW_FIELDS(6), ROW_FIELDS(7), ROW_FIELDS(8), ROW_FIELDS(9),
};

static const struct cpa_field show_fields[] = {
	{ "kind", "Kind of reminder", CPA_FT_ENUM, 0, 0, 0, reminder_kinds },
};

/* One step of a new policy; n is its number as the request named it (the
 * array position from 1, or the form's row). */
struct step {
	int n;
	long long days;
	long long hours;
	int in_hours;
	const char *recipient;
};

/* ------------------------------------------------------------ helpers */

/* "14 days before", "1 day after", "48 hours before", "at the due time". */
static const char *
offset_text(struct cpa_ctx *ctx, const json_t *step)
{
	const json_t *d = json_object_get(step, "offset_days");
	long long v = json_integer_value(d != NULL ? d :
	    json_object_get(step, "offset_hours"));
	const char *unit = d != NULL ? "day" : "hour";

	if (v == 0)
		return "At the due time";
	return cpa_sprintf(ctx->arena, "%lld %s%s %s", v < 0 ? -v : v, unit,
	    v == 1 || v == -1 ? "" : "s", v < 0 ? "before" : "after");
}

/* The steps of raw JSON (the "steps" array of doc) into out; errors named
 * steps, steps.N.offset, steps.N.recipient appended to in. */
static size_t
steps_from_json(struct cpa_ctx *ctx, const json_t *doc, struct cpa_input *in,
    struct step *out)
{
	const json_t *steps = json_object_get(doc, "steps"), *s, *d, *h;
	size_t i, n = 0;
	const char *field, *rc;

	if (!json_is_array(steps) || json_array_size(steps) < 1 ||
	    json_array_size(steps) > MAX_STEPS) {
		cpa_input_add_error(ctx->arena, in, "steps", "Give from 1 to 9 steps");
		return 0;
	}
	json_array_foreach(steps, i, s) {
		field = cpa_sprintf(ctx->arena, "steps.%zu.offset", i + 1);
		d = json_object_get(s, "offset_days");
		h = json_object_get(s, "offset_hours");
		if (!json_is_object(s) || (d == NULL) == (h == NULL)) {
			cpa_input_add_error(ctx->arena, in, field,
			    "Give the step's offset_days or its offset_hours, not both");
			continue;
		}
		if (!json_is_integer(d != NULL ? d : h)) {
			cpa_input_add_error(ctx->arena, in, field,
			    "The offset must be a whole number");
			continue;
		}
		out[n].n = (int)i + 1;
		out[n].in_hours = h != NULL;
		out[n].days = d != NULL ? json_integer_value(d) : 0;
		out[n].hours = h != NULL ? json_integer_value(h) : 0;
		rc = json_string_value(json_object_get(s, "recipient"));
		if (cpa_label(recipient_codes, recipient_labels, rc) == NULL) {
			cpa_input_add_error(ctx->arena, in, cpa_sprintf(ctx->arena,
			    "steps.%zu.recipient", i + 1), "Select who is reminded: "
			    "coordinator, team_manager or district_manager");
			continue;
		}
		out[n++].recipient = rc;
	}
	return n;
}

/* The steps of a form's rows (those with an offset) into out. */
static size_t
steps_from_form(struct cpa_ctx *ctx, struct cpa_input *in, struct step *out)
{
	const struct cpa_value *v;
	size_t i, n = 0;

	for (i = 0; i < MAX_STEPS; i++) {
		v = &in->values[PS_ROWS + i * ROW_NFIELDS];
		if (!v[ROW_OFFSET].present)
			continue;
		out[n].n = (int)i + 1;
		out[n].in_hours = v[ROW_UNIT].present &&
		    strcmp(v[ROW_UNIT].str, "hours") == 0;
		out[n].days = out[n].in_hours ? 0 : v[ROW_OFFSET].num;
		out[n].hours = out[n].in_hours ? v[ROW_OFFSET].num : 0;
		if (!v[ROW_RECIPIENT].present) {
			cpa_input_add_error(ctx->arena, in, cpa_sprintf(ctx->arena,
			    "steps.%zu.recipient", i + 1), cpa_sprintf(ctx->arena,
			    "Select who step %zu reminds", i + 1));
			continue;
		}
		out[n++].recipient = v[ROW_RECIPIENT].str;
	}
	if (n == 0 && in->nerrors == 0)
		cpa_input_add_error(ctx->arena, in, "steps.1.offset",
		    "Give at least one step: its offset in days or hours");
	return n;
}

/* Ranges, and offsets strictly rising (a day counts as 24 hours). */
static void
steps_check(struct cpa_ctx *ctx, struct cpa_input *in, const struct step *s,
    size_t n)
{
	long long prev = 0, at;
	size_t i;

	for (i = 0; i < n; i++) {
		const char *field = cpa_sprintf(ctx->arena, "steps.%d.offset", s[i].n);

		if (s[i].in_hours ? (s[i].hours < -MAX_HOURS || s[i].hours > MAX_HOURS) :
		    (s[i].days < -MAX_DAYS || s[i].days > MAX_DAYS)) {
			cpa_input_add_error(ctx->arena, in, field, s[i].in_hours ?
			    "The offset must be from -8760 to 8760 hours" :
			    "The offset must be from -365 to 365 days");
			continue;
		}
		at = s[i].in_hours ? s[i].hours : s[i].days * 24;
		if (i > 0 && at <= prev)
			cpa_input_add_error(ctx->arena, in, field,
			    "Each step must come later than the one before it");
		prev = at;
	}
}

/* The steps as q_policy_set's JSON, numbered 1..n; and in words for the
 * audit trail. */
static const char *
steps_json(struct cpa_ctx *ctx, const struct step *s, size_t n, const char **words)
{
	struct cpa_buf b, w;
	json_t *a = json_array();
	size_t i;

	cpa_buf_init(&w, ctx->arena);
	for (i = 0; i < n; i++) {
		json_array_append_new(a, json_pack("{s:I,s:o,s:o,s:s}", "step",
		    (json_int_t)(i + 1), "days", s[i].in_hours ? json_null() :
		    json_integer(s[i].days), "hours", s[i].in_hours ?
		    json_integer(s[i].hours) : json_null(), "recipient", s[i].recipient));
		cpa_buf_printf(&w, "%s%lld %s %s", i > 0 ? ", " : "",
		    s[i].in_hours ? s[i].hours : s[i].days, s[i].in_hours ? "hours" : "days",
		    s[i].recipient);
	}
	cpa_buf_init(&b, ctx->arena);
	cpa_json_write(&b, a);
	json_decref(a);
	*words = w.data;
	return b.data;
}

/* ------------------------------------------------------------ display */

/* The edit form's rows for kind k of the model: the values posted (in,
 * after a refusal) or the steps in force, then blank rows up to
 * MAX_STEPS. */
static json_t *
edit_rows(struct cpa_ctx *ctx, const json_t *k, const struct cpa_input *in)
{
	json_t *rows = json_array(), *row, *choices, *steps = json_object_get(k, "steps");
	const json_t *step, *d;
	const char *offset, *unit, *recipient;
	size_t i, c;

	for (i = 0; i < MAX_STEPS; i++) {
		offset = unit = recipient = NULL;
		if (in != NULL) {
			const struct cpa_value *v = &in->values[PS_ROWS + i * ROW_NFIELDS];

			offset = v[ROW_OFFSET].present ? v[ROW_OFFSET].str : NULL;
			unit = v[ROW_UNIT].present ? v[ROW_UNIT].str : NULL;
			recipient = v[ROW_RECIPIENT].present ? v[ROW_RECIPIENT].str : NULL;
		} else if ((step = json_array_get(steps, i)) != NULL) {
			d = json_object_get(step, "offset_days");
			offset = cpa_sprintf(ctx->arena, "%" JSON_INTEGER_FORMAT,
			    json_integer_value(d != NULL ? d : json_object_get(step,
			    "offset_hours")));
			unit = d != NULL ? "days" : "hours";
			recipient = json_string_value(json_object_get(step, "recipient"));
		}
		row = json_pack("{s:I,s:s,s:b,s:b}", "n", (json_int_t)(i + 1),
		    "offset", offset != NULL ? offset : "",
		    "days", unit == NULL || strcmp(unit, "days") == 0,
		    "hours", unit != NULL && strcmp(unit, "hours") == 0);
		choices = json_array();
		for (c = 0; recipient_codes[c] != NULL; c++)
			json_array_append_new(choices, json_pack("{s:s,s:s,s:b}", "value",
			    recipient_codes[c], "label", recipient_labels[c], "selected",
			    recipient != NULL && strcmp(recipient, recipient_codes[c]) == 0));
		json_object_set_new(row, "recipients", choices);
		if (in != NULL)
			for (c = 0; c < in->nerrors; c++) {
				const char *f = in->errors[c].field, *want;

				want = cpa_sprintf(ctx->arena, "steps.%zu.", i + 1);
				if (strncmp(f, want, strlen(want)) == 0)
					json_object_set_new(row, cpa_sprintf(ctx->arena, "error_%s",
					    f + strlen(want)), json_string(in->errors[c].message));
			}
		json_array_append_new(rows, row);
	}
	return rows;
}

/* Words for each kind and step, and the edit form for kind edit (NULL:
 * none), with in's values and errors after a refusal. */
static void
policy_view(struct cpa_ctx *ctx, json_t *m, const char *edit,
    const struct cpa_input *in)
{
	json_t *k, *s;
	const char *code;
	size_t i, j;

	json_array_foreach(json_object_get(m, "kinds"), i, k) {
		code = json_string_value(json_object_get(k, "kind"));
		json_object_set_new(k, "label", json_string(cpa_label(reminder_kinds,
		    kind_labels, code)));
		json_object_set_new(k, "uses_site", json_boolean(strcmp(json_string_value(
		    json_object_get(k, "uses")), "site") == 0));
		json_array_foreach(json_object_get(k, "steps"), j, s) {
			json_object_set_new(s, "when", json_string(offset_text(ctx, s)));
			json_object_set_new(s, "who", json_string(cpa_label(recipient_codes,
			    recipient_labels, json_string_value(json_object_get(s,
			    "recipient")))));
		}
		if (edit == NULL || strcmp(edit, code) != 0)
			continue;
		json_object_set_new(m, "edit", json_pack("{s:s,s:s,s:O,s:o}", "kind", code,
		    "label", cpa_label(reminder_kinds, kind_labels, code),
		    "uses_site", json_object_get(k, "uses_site"),
		    "rows", edit_rows(ctx, k, in)));
		if (in != NULL)
			json_object_set_new(json_object_get(m, "edit"), "uses_site",
			    json_boolean(!(in->values[PS_DEFAULTS].present &&
			    in->values[PS_DEFAULTS].num)));
	}
}

/* 403 for a caller who is not site id's trust_admin, audited. */
static void
deny(struct cpa_ctx *ctx, long long id, const char *action)
{
	cpa_deny(ctx, 403, "Only a trust administrator of this site can see or "
	    "change its reminder policy", "reminder_policy", cpa_id_param(ctx->arena, id),
	    0, id, action);
}

/*
 * The policy of site id for the caller, or NULL with the response written:
 * 404 (audited) when the site is not one of theirs, 403 (audited) when
 * they are not its trust_admin.  The transaction stays open.
 */
static json_t *
policy_model(struct cpa_ctx *ctx, long long id, const char *action)
{
	json_t *kinds;
	PGresult *r;

	cpa_db_begin(ctx);
	if ((r = cpa_fetch_one(ctx, &q_policy, id, "site")) == NULL)
		return NULL;
	if (!cpa_db_flag(r, 0, "admin")) {
		deny(ctx, id, action);
		return NULL;
	}
	if ((kinds = cpa_db_json(ctx->arena, r, 0, "kinds")) == NULL) {
		cpa_error(ctx, 500, NULL);
		return NULL;
	}
	return json_pack("{s:{s:I,s:s},s:O}", "site", "id", (json_int_t)id, "name",
	    cpa_db_get(r, 0, "name"), "kinds", kinds);
}

int
policy_show(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	struct cpa_input in;
	json_t *m;

	if (cpa_input_read(ctx, show_fields, CPA_NFIELDS(show_fields), &in) != CPA_OK)
		return CPA_OK;
	if ((m = policy_model(ctx, id, "read")) == NULL)
		return CPA_OK;
	if (!ctx->req.wants_json) {
		json_object_set_new(m, "title", json_string("Reminder policy"));
		policy_view(ctx, m, in.values[0].present ? in.values[0].str : NULL, NULL);
	}
	cpa_commit_render(ctx, 200, "reminder_policy", m);
	return CPA_OK;
}

/* A refused change: JSON gets the errors; the page comes back with the
 * kind's form as it was sent. */
static void
policy_invalid(struct cpa_ctx *ctx, long long id, struct cpa_input *in)
{
	json_t *m;

	cpa_db_rollback(ctx);
	if ((m = policy_model(ctx, id, "reminder_policy_changed")) == NULL ||
	    cpa_commit_or_fail(ctx, m) != CPA_OK)
		return;
	if (ctx->req.wants_json) {
		json_decref(m);
		cpa_render_invalid(ctx, NULL, NULL, in);
		return;
	}
	json_object_set_new(m, "title", json_string("Reminder policy"));
	policy_view(ctx, m, in->values[PS_KIND].present ? in->values[PS_KIND].str :
	    NULL, in->nfields == CPA_NFIELDS(set_fields) ? in : NULL);
	cpa_render_invalid(ctx, "reminder_policy", m, in);
}

int
policy_update(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	struct step steps[MAX_STEPS];
	struct cpa_input in;
	const char *params[3], *words = "trust defaults";
	long long changed;
	int is_json = strcmp(ctx->req.content_type, "application/json") == 0;
	int defaults;
	json_t *doc = NULL, *m;
	size_t n = 0;
	PGresult *r;

	if (cpa_input_read(ctx, set_fields, is_json ? PS_ROWS : CPA_NFIELDS(set_fields),
	    &in) != CPA_OK)
		return CPA_OK;
	defaults = in.values[PS_DEFAULTS].present && in.values[PS_DEFAULTS].num;
	if (is_json) {
		if ((doc = cpa_body_json(ctx)) == NULL)
			return CPA_OK;
		if (defaults && json_object_get(doc, "steps") != NULL &&
		    !json_is_null(json_object_get(doc, "steps")))
			cpa_input_add_error(ctx->arena, &in, "steps",
			    "Give either steps or use_defaults, not both");
		else if (!defaults)
			n = steps_from_json(ctx, doc, &in, steps);
	} else if (!defaults)
		n = steps_from_form(ctx, &in, steps);
	if (!defaults)
		steps_check(ctx, &in, steps, n);
	if (in.nerrors > 0) {
		policy_invalid(ctx, id, &in);
		return CPA_OK;
	}
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = in.values[PS_KIND].str;
	params[2] = defaults ? NULL : steps_json(ctx, steps, n, &words);
	cpa_db_begin(ctx);
	if (id <= 0) {
		cpa_not_found(ctx, "site", cpa_param(&ctx->req, "id"));
		return CPA_OK;
	}
	if ((r = cpa_fetch(ctx, &q_policy_set, params, "site")) == NULL)
		return CPA_OK;
	if (!cpa_db_flag(r, 0, "admin")) {
		deny(ctx, id, "reminder_policy_changed");
		return CPA_OK;
	}
	if ((r = cpa_db_exec(ctx, &q_reschedule, params)) == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	changed = cpa_db_ll(r, 0, "changed");
	cpa_audit(ctx, "reminder_policy_changed", "reminder_policy", params[0], 0, id,
	    cpa_sprintf(ctx->arena, "%s: %s; %lld open items rescheduled", params[1],
	    words, changed));
	if (!ctx->req.wants_json) {
		cpa_commit_redirect(ctx, cpa_sprintf(ctx->arena, "/reminder-policy/%lld", id));
		return CPA_OK;
	}
	if ((m = policy_model(ctx, id, "reminder_policy_changed")) == NULL)
		return CPA_OK;
	json_object_set_new(m, "rescheduled", json_integer(changed));
	cpa_commit_render(ctx, 200, NULL, m);
	return CPA_OK;
}
