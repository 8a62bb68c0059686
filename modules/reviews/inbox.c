/*
 * inbox.c - a person's reminders: the inbox (what waits for them, newest
 * first, and what they snoozed), acknowledging a reminder, and snoozing
 * one until a time within 30 days, with a reason.
 *
 * Reminders are queued by cpa-remindd (007's remind_sweep) and row-level
 * security (006) shows each to its recipient alone, so another person's
 * reminder is simply not found (404, audited).  A reminder is shown while
 * it is not acknowledged, not cleared (its item met, held or cancelled),
 * its item is still open and it is not snoozed; viewing the inbox marks
 * what it shows read.  The unread count of every page's header
 * (common/inbox.c) counts by the same rules.  Each change is one
 * statement that checks, changes and reads the reminder back.
 */
#include <string.h>

#include "reviews.h"

/* The most reminders one view shows. */
#define INBOX_LIMIT "500"

/* A reminder as JSON, from reminder r joined with its person su and the
 * episode's team t.  display holds texts for the page (the answer to JSON
 * leaves it out). */
#define REMINDER_JSON \
	"json_build_object('id', r.id, 'kind', r.kind, 'due_at', r.due_at," \
	" 'step', r.step, 'escalation', r.escalation," \
	" 'recipient_role', r.recipient_role, 'created_at', r.created_at," \
	" 'read_at', r.read_at, 'acknowledged_at', r.acknowledged_at," \
	" 'snoozed_until', r.snoozed_until, 'snooze_reason', r.snooze_reason," \
	" 'service_user', " PERSON_SUMMARY_JSON ", 'episode_id', r.episode_id," \
	" 'team_name', t.name, 'link', due_item_link(r.kind, r.service_user_id)," \
	" 'overdue', r.due_at < now()," \
	" 'display', json_build_object(" \
	"   'due_on', to_char(r.due_at AT TIME ZONE 'Europe/London', 'FMDD FMMonth YYYY')," \
	"   'created_at', to_char(r.created_at AT TIME ZONE 'Europe/London'," \
	"     'FMDD FMMonth YYYY, HH24:MI')," \
	"   'snoozed_until', to_char(r.snoozed_until AT TIME ZONE 'Europe/London'," \
	"     'FMDD FMMonth YYYY, HH24:MI')))"

#define REMINDER_JOINS \
	" JOIN service_user su ON su.id = r.service_user_id" \
	" JOIN episode e ON e.id = r.episode_id JOIN team t ON t.id = e.team_id"

/* The caller's inbox: shown reminders newest first, snoozed ones by the
 * end of their snooze.  Those shown unread become read (the joins read
 * the rows as they were, so read_at says what was new).  unread: how many
 * were; site_id: the one site of everything listed, else NULL; tomorrow:
 * the snooze form's default. */
static const struct cpa_stmt q_inbox = {
	"inbox_list",
	"WITH mine AS (SELECT r.id, r.site_id, coalesce(r.snoozed_until > now(), false)"
	"  AS snoozed, r.read_at IS NULL AS unread FROM reminder r"
	"  WHERE r.recipient_id = cpa_user_id() AND r.acknowledged_at IS NULL"
	"  AND r.cleared_at IS NULL"
	"  AND EXISTS (SELECT 1 FROM due_item d WHERE d.id = r.due_item_id AND d.open)"
	"  ORDER BY r.created_at DESC, r.id DESC LIMIT " INBOX_LIMIT "),"
	" seen AS (UPDATE reminder r SET read_at = now() FROM mine m"
	"  WHERE r.id = m.id AND m.unread AND NOT m.snoozed RETURNING r.id),"
	" listed AS (SELECT m.snoozed, r.created_at, r.id, r.snoozed_until,"
	"  " REMINDER_JSON " AS j FROM mine m JOIN reminder r ON r.id = m.id"
	REMINDER_JOINS ")"
	" SELECT (SELECT coalesce(json_agg(l.j ORDER BY l.created_at DESC, l.id DESC), '[]')"
	"  FROM listed l WHERE NOT l.snoozed) AS reminders,"
	" (SELECT coalesce(json_agg(l.j ORDER BY l.snoozed_until, l.id), '[]')"
	"  FROM listed l WHERE l.snoozed) AS snoozed,"
	" (SELECT count(*) FROM seen) AS unread,"
	" (SELECT CASE WHEN count(DISTINCT m.site_id) = 1 THEN min(m.site_id) END"
	"  FROM mine m) AS site_id,"
	" (SELECT count(*) FROM mine) AS listed,"
	" to_char((now() AT TIME ZONE 'Europe/London')::date + 1, 'YYYY-MM-DD') AS tomorrow",
	0
};

/* $1 reminder, $2 note.  Acknowledging one already acknowledged changes
 * nothing (done false). */
static const struct cpa_stmt q_acknowledge = {
	"inbox_acknowledge",
	"WITH cur AS (SELECT r.* FROM reminder r WHERE r.id = $1::bigint),"
	" u AS (UPDATE reminder r SET acknowledged_at = now(), acknowledged_note = $2::text"
	"  FROM cur WHERE r.id = cur.id AND r.acknowledged_at IS NULL RETURNING r.*),"
	" now_row AS (SELECT * FROM u UNION ALL"
	"  SELECT * FROM cur WHERE NOT EXISTS (SELECT 1 FROM u))"
	" SELECT cur.id, cur.site_id, cur.service_user_id, u.id IS NOT NULL AS done,"
	" (SELECT " REMINDER_JSON " FROM now_row r" REMINDER_JOINS ") AS reminder"
	" FROM cur LEFT JOIN u ON true",
	2
};

/* $1 reminder; until as exactly one of $2 a date (09:00 UK time that
 * day), $3 a UK local time, $4 a time with its zone; $5 the reason.  The
 * snooze ends after now and within 30 days (a date: within 30 days of
 * today); it clears read_at, so the reminder counts as new again when it
 * comes back. */
static const struct cpa_stmt q_snooze = {
	"inbox_snooze",
	"WITH cur AS (SELECT r.*, coalesce(due_at_of($2::date),"
	"  $3::timestamp AT TIME ZONE 'Europe/London', $4::timestamptz) AS until,"
	"  EXISTS (SELECT 1 FROM due_item d WHERE d.id = r.due_item_id AND d.open) AS item_open"
	"  FROM reminder r WHERE r.id = $1::bigint),"
	" chk AS (SELECT cur.*, CASE WHEN cur.acknowledged_at IS NOT NULL THEN 'acknowledged'"
	"  WHEN cur.cleared_at IS NOT NULL OR NOT cur.item_open THEN 'cleared'"
	"  WHEN cur.until <= now() THEN 'past'"
	"  WHEN $2::date > (now() AT TIME ZONE 'Europe/London')::date + 30"
	"   OR ($2::date IS NULL AND cur.until > now() + interval '30 days') THEN 'far'"
	"  END AS problem FROM cur),"
	" u AS (UPDATE reminder r SET snoozed_until = chk.until, snooze_reason = $5::text,"
	"  read_at = NULL FROM chk WHERE r.id = chk.id AND chk.problem IS NULL"
	"  AND r.acknowledged_at IS NULL RETURNING r.*)"
	" SELECT chk.id, chk.site_id, chk.service_user_id, chk.problem,"
	" u.id IS NOT NULL AS done, to_json(chk.until) #>> '{}' AS until,"
	" (SELECT " REMINDER_JSON " FROM u r" REMINDER_JOINS ") AS reminder"
	" FROM chk LEFT JOIN u ON true",
	5
};

/* ------------------------------------------------------------ input */

enum { AK_NOTE };
static const struct cpa_field ack_fields[] = {
	{ "note", "Note", CPA_FT_TEXT, 0, 1, 1000, NULL },
};

enum { SZ_UNTIL, SZ_REASON };
static const struct cpa_field snooze_fields[] = {
	{ "until", "Date to snooze until", CPA_FT_LINE, CPA_FF_REQUIRED, 1, 40, NULL },
	{ "reason", "Reason for snoozing", CPA_FT_TEXT, CPA_FF_REQUIRED, 1, 1000, NULL },
};

/* What a snooze statement's problem means. */
static const struct cpa_problem problems[] = {
	{ "acknowledged", 409, NULL, "Cannot snooze: the reminder is acknowledged" },
	{ "cleared", 409, NULL, "This reminder no longer needs action" },
	{ "past", 422, "until", "Snooze until a time after now" },
	{ "far", 422, "until", "Snooze for 30 days at most" },
};

static const struct cpa_problem *
problem_of(const char *code)
{
	return cpa_problem_find(problems, sizeof(problems) / sizeof(problems[0]), code,
	    "cleared");
}

/* Words for the page. */
static const char *const kind_labels[] = {	/* of reminder_kinds */
	"CPA review", "Risk review", "72-hour follow-up", "Carer's assessment", NULL
};
static const char *const role_codes[] = {
	"coordinator", "team_manager", "district_manager", NULL
};
static const char *const role_labels[] = {
	"as care coordinator", "as team manager", "as district manager", NULL
};

/* The label of the code v, or the code when it has none. */
static json_t *
label_json(const char *const *codes, const char *const *labels, const json_t *v)
{
	const char *code = json_string_value(v), *label = cpa_label(codes, labels, code);

	return json_string(label != NULL ? label : code);
}

/*
 * Sort a snooze's "until" into the one of out[3] its form needs: [0] a
 * date YYYY-MM-DD, [1] a UK local time (cpa_timestamp_valid without a
 * zone), [2] a time with its zone.  The shapes and ranges are checked
 * here, so PostgreSQL's casts cannot fail.  Returns 0 when s is none of
 * these.
 */
static int
until_parse(const char *s, const char *out[3])
{
	int zone;

	out[0] = out[1] = out[2] = NULL;
	if (cpa_date_valid(s, NULL, NULL, NULL))
		out[0] = s;
	else if (cpa_timestamp_valid(s, &zone))
		out[zone ? 2 : 1] = s;
	else
		return 0;
	return 1;
}

/* ------------------------------------------------------------ display */

/* Labels on each reminder of list for the page, or for JSON the display
 * texts taken off. */
static void
reminders_view(struct cpa_ctx *ctx, json_t *list)
{
	json_t *item;
	size_t i;

	json_array_foreach(list, i, item) {
		if (ctx->req.wants_json) {
			json_object_del(item, "display");
			continue;
		}
		json_object_set_new(item, "kind_label", label_json(reminder_kinds,
		    kind_labels, json_object_get(item, "kind")));
		json_object_set_new(item, "role_label", label_json(role_codes, role_labels,
		    json_object_get(item, "recipient_role")));
		json_object_set_new(item, "new", json_boolean(json_is_null(
		    json_object_get(item, "read_at"))));
	}
}

/* The inbox, marking what it shows read, with its "read" audit row
 * queued.  Returns the model ({"reminders", "unread", "snoozed"}, with
 * the page's extras for HTML) or NULL with the response written. */
static json_t *
inbox_model(struct cpa_ctx *ctx)
{
	json_t *list, *snoozed, *m;
	PGresult *r;

	if ((r = cpa_db_exec(ctx, &q_inbox, NULL)) == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return NULL;
	}
	list = cpa_db_json(ctx->arena, r, 0, "reminders");
	snoozed = cpa_db_json(ctx->arena, r, 0, "snoozed");
	if (list == NULL || snoozed == NULL) {
		cpa_error(ctx, 500, NULL);
		return NULL;
	}
	cpa_audit(ctx, "read", "inbox", NULL, 0, cpa_db_ll(r, 0, "site_id"),
	    cpa_sprintf(ctx->arena, "%s reminders, %s newly read",
	    cpa_db_get(r, 0, "listed"), cpa_db_get(r, 0, "unread")));
	reminders_view(ctx, list);
	reminders_view(ctx, snoozed);
	m = json_pack("{s:O,s:I,s:O}", "reminders", list,
	    "unread", (json_int_t)cpa_db_ll(r, 0, "unread"), "snoozed", snoozed);
	if (!ctx->req.wants_json) {
		json_object_set_new(m, "title", json_string("Inbox"));
		json_object_set_new(m, "tomorrow", json_string(cpa_db_get(r, 0, "tomorrow")));
	}
	return m;
}

int
inbox_show(struct cpa_ctx *ctx)
{
	json_t *m;

	cpa_db_begin(ctx);
	if ((m = inbox_model(ctx)) == NULL)
		return CPA_OK;
	cpa_commit_render(ctx, 200, "inbox", m);
	return CPA_OK;
}

/*
 * The inbox page again after a refused snooze of reminder id: the errors
 * (named as the API names them) go on that reminder, with what was typed,
 * and into the error summary as the ids of its inputs (r<id>-<field>).
 */
static void
inbox_invalid(struct cpa_ctx *ctx, long long id, const struct cpa_input *in,
    int status)
{
	struct cpa_input p;
	json_t *m, *item;
	size_t i, k;

	cpa_db_rollback(ctx);
	cpa_db_begin(ctx);
	if ((m = inbox_model(ctx)) == NULL || cpa_commit_or_fail(ctx, m) != CPA_OK)
		return;
	p = cpa_input_prefixed(ctx->arena, in, cpa_sprintf(ctx->arena, "r%lld-", id));
	json_array_foreach(json_object_get(m, "reminders"), k, item) {
		if (json_integer_value(json_object_get(item, "id")) != id)
			continue;
		json_object_set_new(item, "snooze_open", json_true());
		for (i = 0; i < in->nerrors; i++)
			json_object_set_new(item, cpa_sprintf(ctx->arena, "error_%s",
			    in->errors[i].field), json_string(in->errors[i].message));
		for (i = 0; i < in->nfields; i++)
			if (in->values[i].present)
				json_object_set_new(item, cpa_sprintf(ctx->arena, "%s_value",
				    in->fields[i].name), json_string(in->values[i].str));
	}
	cpa_render_invalid(ctx, "inbox", m, &p);
	ctx->resp.status = status;
}

/* Run a change's statement on reminder id (params[0]).  Returns its row,
 * or NULL with the response written: 404 (audited) for a reminder that is
 * not the caller's or does not exist. */
static PGresult *
change_run(struct cpa_ctx *ctx, const struct cpa_stmt *st, long long id,
    const char *const *params)
{
	PGresult *r;

	cpa_db_begin(ctx);
	if (id <= 0) {
		cpa_not_found(ctx, "reminder", cpa_param(&ctx->req, "id"));
		return NULL;
	}
	if ((r = cpa_fetch(ctx, st, params, "reminder")) == NULL)
		return NULL;
	return r;
}

/* After a change: commit and answer {"reminder"} to JSON, or send the page
 * back to the inbox. */
static void
change_answer(struct cpa_ctx *ctx, PGresult *r)
{
	json_t *rem, *list;

	if (!ctx->req.wants_json) {
		cpa_commit_redirect(ctx, "/inbox");
		return;
	}
	if ((rem = cpa_db_json(ctx->arena, r, 0, "reminder")) == NULL) {
		cpa_error(ctx, 500, NULL);
		return;
	}
	list = json_pack("[O]", rem);
	reminders_view(ctx, list);
	cpa_commit_render(ctx, 200, NULL, json_pack("{s:O}", "reminder",
	    json_array_get(list, 0)));
	json_decref(list);
}

int
reminder_acknowledge(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	const char *params[2];
	struct cpa_input in;
	PGresult *r;

	if (cpa_input_read(ctx, ack_fields, CPA_NFIELDS(ack_fields), &in) != CPA_OK)
		return CPA_OK;
	if (cpa_input_refused(ctx, &in, inbox_invalid, id))
		return CPA_OK;
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = cpa_value_or_null(&in.values[AK_NOTE]);
	if ((r = change_run(ctx, &q_acknowledge, id, params)) == NULL)
		return CPA_OK;
	if (cpa_db_flag(r, 0, "done"))
		cpa_audit(ctx, "reminder_acknowledged", "reminder", params[0],
		    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"), NULL);
	change_answer(ctx, r);
	return CPA_OK;
}

int
reminder_snooze(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	const char *params[5], *until[3] = { NULL, NULL, NULL }, *code;
	const struct cpa_problem *p;
	struct cpa_input in, one;
	PGresult *r;

	if (cpa_input_read(ctx, snooze_fields, CPA_NFIELDS(snooze_fields), &in) != CPA_OK)
		return CPA_OK;
	if (in.values[SZ_UNTIL].present && !until_parse(in.values[SZ_UNTIL].str, until)) {
		in.values[SZ_UNTIL].present = 0;
		memmove(in.errors + 1, in.errors, sizeof(*in.errors) * in.nerrors);
		in.errors[0].field = "until";
		in.errors[0].message = "Enter a date like 2025-03-27, or a date and time "
		    "like 2025-03-27T14:30";
		in.nerrors++;
	}
	if (cpa_input_refused(ctx, &in, inbox_invalid, id))
		return CPA_OK;
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = until[0];
	params[2] = until[1];
	params[3] = until[2];
	params[4] = in.values[SZ_REASON].str;
	if ((r = change_run(ctx, &q_snooze, id, params)) == NULL)
		return CPA_OK;
	if ((code = cpa_db_get(r, 0, "problem")) != NULL || !cpa_db_flag(r, 0, "done")) {
		p = problem_of(code);
		if (p->field == NULL || ctx->req.wants_json) {
			cpa_problem_error(ctx, p, NULL);
			return CPA_OK;
		}
		one = in;
		one.nerrors = 0;
		cpa_input_add_error(ctx->arena, &one, p->field, p->message);
		inbox_invalid(ctx, id, &one, p->status);
		return CPA_OK;
	}
	cpa_audit(ctx, "reminder_snoozed", "reminder", params[0],
	    cpa_db_ll(r, 0, "service_user_id"), cpa_db_ll(r, 0, "site_id"),
	    cpa_sprintf(ctx->arena, "until %s", cpa_db_get(r, 0, "until")));
	change_answer(ctx, r);
	return CPA_OK;
}
