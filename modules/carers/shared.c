/*
 * shared.c - what the cpa-carers handlers have in common: the vocabulary
 * and its words, and a person's carers page, which every form of the
 * worker posts from and is shown again by when it refuses its input.
 *
 * The page is one statement: the person with the access flags
 * cpa_person_page_load wants, their carers (current first, then ended)
 * with consent, what each may be told (carer_may_know) and assessments,
 * the involvement timeline, and for a page the carers of the caller's
 * other people who could be linked.  The forms are built here, in C,
 * from defaults (today, the only carer) or from what was typed.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "carers.h"

const char *const carer_contacts[] = {
	"phone", "text", "email", "post", "in_person", NULL
};
const char *const carer_contact_labels[] = {
	"Phone call", "Text message", "Email", "Letter", "In person", NULL
};
const char *const carer_scopes[] = { "full", "limited", "none", NULL };
const char *const carer_scope_labels[] = {
	"Everything about their care", "Only some things", "Nothing", NULL
};
const char *const carer_topics[] = {
	"care_plan", "crisis_plan", "medication", "appointments", NULL
};
const char *const carer_topic_labels[] = {
	"Their care plan", "Their crisis plan and safety plan", "Their medication",
	"Dates of their reviews and appointments", NULL
};
const char *const carer_statuses[] = {
	"offered", "accepted", "declined", "referred", "completed", NULL
};
const char *const carer_status_labels[] = {
	"Offered", "Accepted", "Declined", "Referred to the local authority",
	"Completed", NULL
};
const char *const carer_actions[] = {
	"accept", "decline", "refer", "complete", NULL
};
const char *const carer_action_labels[] = {
	"They accepted", "They declined", "Referred to the local authority",
	"Completed", NULL
};
const char *const carer_kinds[] = {
	"review", "care_plan_writing", "care_plan_copy", "risk_discussion",
	"medication_info", "complaints_info", "contact", "other", NULL
};
const char *const carer_kind_labels[] = {
	"Took part in a CPA review", "Helped write the care plan",
	"Was given a copy of the care plan",
	"Took part in a risk and safety plan discussion",
	"Was given information about medication", "Was told how to complain",
	"Was at a contact with the team", "Other", NULL
};
const char *const carer_manual_kinds[] = {
	"medication_info", "complaints_info", "contact", "other", NULL
};

/* The actions an assessment in hand may take next, by its status. */
static const struct {
	const char *status;
	const char *actions[3];
} next_actions[] = {
	{ "offered", { "accept", "decline", NULL } },
	{ "accepted", { "refer", "complete", NULL } },
	{ "referred", { "complete", NULL, NULL } },
};

/* $1 person, $2 true: also what the page's forms offer (the carers of
 * the caller's other people, who could be linked).  The records only when
 * the caller covers the person's open episode.  No row: no such person at
 * the caller's sites. */
static const struct cpa_stmt q_person = {
	"carers_person",
	"WITH su AS (SELECT * FROM service_user WHERE id = $1::bigint),"
	" k AS (SELECT " CARERS_HAS_EPISODE("su.id") " AS has_episode,"
	"  " CARERS_COVERED("su.id") " AS covered FROM su)"
	" SELECT su.id AS service_user_id, su.site_id, k.has_episode, k.covered,"
	" " PERSON_SUMMARY_JSON " AS service_user,"
	" CASE WHEN k.covered THEN (SELECT coalesce(json_agg(" CARER_LINK_JSON("l")
	"  ORDER BY l.ended_on IS NOT NULL, l.ended_on DESC, l.started_on, l.id), '[]')"
	"  FROM carer_link l WHERE l.service_user_id = su.id) END AS carers,"
	" CASE WHEN k.covered THEN " CARER_INVOLVEMENT_JSON("su.id", "200") " END"
	"  AS involvement,"
	" NOT EXISTS (SELECT 1 FROM carer_link l WHERE l.service_user_id = su.id"
	"  AND l.ended_on IS NULL) AS no_carer,"
	" (extract(year FROM s.carer_consent_review) * 12"
	"  + extract(month FROM s.carer_consent_review))::int AS consent_review_months,"
	" (extract(epoch FROM s.carer_assessment_act_within) / 86400)::int"
	"  AS assessment_act_within_days,"
	" current_date AS today,"
	" CASE WHEN $2::boolean AND k.covered THEN (SELECT coalesce(json_agg("
	"   json_build_object('id', x.id, 'name', x.given_name || ' ' || x.family_name)"
	"   ORDER BY lower(x.family_name), lower(x.given_name), x.id), '[]')"
	"  FROM (SELECT c.* FROM carer c WHERE c.site_id = su.site_id"
	"   AND EXISTS (SELECT 1 FROM carer_link o WHERE o.carer_id = c.id"
	"    AND o.service_user_id <> su.id AND o.ended_on IS NULL"
	"    AND " CARERS_COVERED("o.service_user_id") ")"
	"   AND NOT EXISTS (SELECT 1 FROM carer_link y WHERE y.carer_id = c.id"
	"    AND y.service_user_id = su.id AND y.ended_on IS NULL)"
	"   ORDER BY lower(c.family_name), lower(c.given_name), c.id LIMIT 200) x)"
	" END AS existing"
	" FROM su CROSS JOIN k JOIN site s ON s.id = su.site_id",
	2
};

/* $1 link: read back after a change, in a statement of its own so that
 * carer_may_know sees the change. */
static const struct cpa_stmt q_link = {
	"carers_link",
	"SELECT l.service_user_id, l.site_id, " CARER_LINK_JSON("l") " AS carer_link"
	" FROM carer_link l WHERE l.id = $1::bigint",
	1
};

/* $1 link: its person. */
static const struct cpa_stmt q_link_person = {
	"carers_link_person",
	"SELECT l.service_user_id FROM carer_link l WHERE l.id = $1::bigint",
	1
};

/* ------------------------------------------------------------ words */

static const struct {
	const char *key;
	const char *const *codes;
	const char *const *labels;
} vocab[] = {
	{ "relationship", cpa_carer_relationships, cpa_carer_relationship_labels },
	{ "preferred_contact", carer_contacts, carer_contact_labels },
	{ "scope", carer_scopes, carer_scope_labels },
	{ "status", carer_statuses, carer_status_labels },
	{ "kind", carer_kinds, carer_kind_labels },
};

void
carers_present(json_t *add, const char *key, const json_t *value, void *arg)
{
	const char *label;
	json_t *list, *t;
	size_t i;

	for (i = 0; i < sizeof(vocab) / sizeof(vocab[0]); i++)
		if (strcmp(vocab[i].key, key) == 0 && json_is_string(value)) {
			label = cpa_label(vocab[i].codes, vocab[i].labels,
			    json_string_value(value));
			cpa_json_beside(add, key, "_label", label != NULL ?
			    json_string(label) : json_null());
		}
	if (strcmp(key, "topics") == 0 && json_is_array(value)) {
		list = json_array();
		json_array_foreach(value, i, t)
			if ((label = cpa_label(carer_topics, carer_topic_labels,
			    json_string_value(t))) != NULL)
				json_array_append_new(list, json_string(label));
		cpa_json_beside(add, key, "_labels", list);
	}
	cpa_date_words(add, key, value, arg);
}

/* ------------------------------------------------------------ forms */

/* Whether chosen (a string, or an array of them) holds code. */
static int
chosen_has(const json_t *chosen, const char *code)
{
	const json_t *c;
	size_t i;

	if (json_is_string(chosen))
		return strcmp(json_string_value(chosen), code) == 0;
	json_array_foreach(chosen, i, c)
		if (json_is_string(c) && strcmp(json_string_value(c), code) == 0)
			return 1;
	return 0;
}

json_t *
carers_choices(struct cpa_ctx *ctx, const char *base, const char *const *codes,
    const char *const *labels, const char *const *only, const json_t *chosen)
{
	json_t *out = json_array();
	size_t i, k;
	int ok;

	for (i = 0; codes[i] != NULL; i++) {
		for (ok = only == NULL, k = 0; !ok && only[k] != NULL; k++)
			ok = strcmp(only[k], codes[i]) == 0;
		if (!ok)
			continue;
		json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:b}", "value", codes[i],
		    "label", labels[i], "id", json_array_size(out) == 0 ?
		    cpa_sprintf(ctx->arena, "%s", base) :
		    cpa_sprintf(ctx->arena, "%s-%s", base, codes[i]),
		    "checked", chosen_has(chosen, codes[i])));
	}
	return out;
}

/* The values of the form named name: when it is the one shown again
 * (again), values (borrowed) with in's errors as "error_<field>";
 * otherwise defaults (stolen).  A new object, with "prefix" (the ids of
 * its inputs start with it). */
static json_t *
form_state(struct cpa_ctx *ctx, const char *name, json_t *defaults, const char *again,
    const json_t *values, const struct cpa_input *in)
{
	json_t *f;
	size_t i;

	if (again == NULL || strcmp(again, name) != 0) {
		f = defaults;
		json_object_set_new(f, "shown_again", json_false());
	} else {
		json_decref(defaults);
		f = json_deep_copy(values);
		if (f == NULL)
			f = json_object();
		for (i = 0; in != NULL && i < in->nerrors; i++)
			json_object_set_new(f, cpa_sprintf(ctx->arena, "error_%s",
			    in->errors[i].field), json_string(in->errors[i].message));
		json_object_set_new(f, "shown_again", json_true());
	}
	json_object_set_new(f, "prefix", json_string(cpa_sprintf(ctx->arena, "%s-", name)));
	return f;
}

/* The forms of one carer link (l, changed in place): consent, ending the
 * link, offering an assessment, and the next action of the one in hand. */
static void
link_forms(struct cpa_ctx *ctx, json_t *l, const char *today, const char *again,
    const json_t *values, const struct cpa_input *in)
{
	long long id = json_integer_value(json_object_get(l, "id"));
	json_t *f, *a, *in_hand = NULL, *words;
	const char *name, *status;
	size_t i, k;

	words = json_array();
	for (i = 0; carer_topics[i] != NULL; i++)
		if (json_is_true(json_object_get(json_object_get(l, "may_know"),
		    carer_topics[i])))
			json_array_append_new(words, json_string(carer_topic_labels[i]));
	json_object_set_new(l, "may_know_words", words);
	json_object_set_new(l, "current", json_boolean(json_is_null(json_object_get(l,
	    "ended_on"))));
	if (!json_is_null(json_object_get(l, "ended_on")))
		return;

	name = cpa_sprintf(ctx->arena, "consent-%lld", id);
	f = form_state(ctx, name, json_pack("{s:s}", "given_on", today), again, values, in);
	json_object_set_new(f, "scopes", carers_radios(ctx, f, "scope", 0, carer_scopes,
	    carer_scope_labels, NULL));
	json_object_set_new(f, "topic_choices", carers_choices(ctx, cpa_sprintf(ctx->arena,
	    "%stopics", json_string_value(json_object_get(f, "prefix"))), carer_topics,
	    carer_topic_labels, NULL, json_object_get(f, "topics")));
	json_object_set_new(l, "consent_form", f);

	if (json_is_object(json_object_get(l, "consent")) && strcmp(json_string_value(
	    json_object_get(json_object_get(l, "consent"), "scope")), "none") != 0)
		json_object_set_new(l, "withdraw_form", form_state(ctx, cpa_sprintf(ctx->arena,
		    "withdraw-%lld", id), json_object(), again, values, in));

	name = cpa_sprintf(ctx->arena, "end-%lld", id);
	json_object_set_new(l, "end_form", form_state(ctx, name, json_pack("{s:s,s:O}",
	    "ended_on", today, "version", json_object_get(l, "version")), again,
	    values, in));

	json_array_foreach(json_object_get(l, "assessments"), i, a) {
		status = json_string_value(json_object_get(a, "status"));
		for (k = 0; status != NULL && k < sizeof(next_actions) /
		    sizeof(next_actions[0]); k++)
			if (strcmp(next_actions[k].status, status) == 0)
				break;
		if (status == NULL || k == sizeof(next_actions) / sizeof(next_actions[0]))
			continue;
		in_hand = json_deep_copy(a);
		name = cpa_sprintf(ctx->arena, "assessment-change-%lld",
		    (long long)json_integer_value(json_object_get(a, "id")));
		f = form_state(ctx, name, json_pack("{s:s,s:O}", "on", today, "version",
		    json_object_get(a, "version")), again, values, in);
		json_object_set_new(f, "actions", carers_radios(ctx, f, "action", 0,
		    carer_actions, carer_action_labels, next_actions[k].actions));
		json_object_set_new(f, "can_refer", json_boolean(strcmp(status,
		    "accepted") == 0));
		json_object_set_new(f, "can_complete", json_boolean(strcmp(status,
		    "offered") != 0));
		json_object_set_new(in_hand, "change_form", f);
		break;
	}
	if (in_hand != NULL) {
		json_object_set_new(l, "in_hand", in_hand);
		return;
	}
	name = cpa_sprintf(ctx->arena, "assessment-%lld", id);
	json_object_set_new(l, "offer_form", form_state(ctx, name, json_pack("{s:s}",
	    "offered_on", today), again, values, in));
}

/* The page's own forms: adding a carer and recording involvement. */
static void
page_forms(struct cpa_ctx *ctx, json_t *m, const json_t *existing, const char *today,
    const char *again, const json_t *values, const struct cpa_input *in)
{
	json_t *f, *current = json_array(), *l, *list, *c;
	const json_t *chosen;
	size_t i;

	f = form_state(ctx, "add", json_pack("{s:s}", "started_on", today), again,
	    values, in);
	json_object_set_new(f, "relationships", carers_radios(ctx, f, "relationship", 0,
	    cpa_carer_relationships, cpa_carer_relationship_labels, NULL));
	json_object_set_new(f, "contacts", carers_radios(ctx, f, "preferred_contact", 1,
	    carer_contacts, carer_contact_labels, NULL));
	json_object_set_new(f, "contact_optional", json_true());
	list = json_array();
	chosen = json_object_get(f, "carer_id");
	json_array_foreach(existing, i, c)
		json_array_append_new(list, json_pack("{s:O,s:O,s:b}", "id",
		    json_object_get(c, "id"), "name", json_object_get(c, "name"),
		    "selected", json_is_string(chosen) && json_integer_value(json_object_get(c,
		    "id")) == strtoll(json_string_value(chosen), NULL, 10)));
	json_object_set_new(f, "existing", list);
	json_object_set_new(m, "add_form", f);

	json_array_foreach(json_object_get(m, "carers"), i, l)
		if (json_is_true(json_object_get(l, "current")))
			json_array_append_new(current, json_pack("{s:O,s:s}", "id",
			    json_object_get(l, "id"), "name", cpa_person_name(ctx->arena,
			    json_object_get(l, "carer"))));
	f = form_state(ctx, "involvement", json_pack("{s:s}", "occurred_on", today),
	    again, values, in);
	chosen = json_object_get(f, "carer_link_id");
	json_array_foreach(current, i, c)
		json_object_set_new(c, "selected", json_boolean(json_array_size(current) == 1 ||
		    (json_is_string(chosen) && json_integer_value(json_object_get(c, "id")) ==
		    strtoll(json_string_value(chosen), NULL, 10))));
	json_object_set_new(f, "carers", current);
	json_object_set_new(f, "kinds", carers_radios(ctx, f, "kind", 0, carer_kinds,
	    carer_kind_labels, carer_manual_kinds));
	json_object_set_new(m, "involvement_form", f);
}

/* ------------------------------------------------------------ the page */

json_t *
carers_person_model(struct cpa_ctx *ctx, long long id, const char *form, json_t *values,
    const struct cpa_input *in)
{
	json_t *m = NULL, *carers, *involvement, *su, *existing, *l;
	const char *today;
	size_t i, current = 0, ended = 0;
	PGresult *r;

	if ((r = cpa_person_page_load(ctx, &q_person, id, ctx->req.wants_json ? "false" :
	    "true", "carers")) == NULL)
		goto out;
	if (carers_row_json(ctx, r, "carers", &carers, "involvement", &involvement,
	    "service_user", &su, (const char *)NULL) != 0)
		goto out;
	json_array_foreach(carers, i, l)
		if (json_is_null(json_object_get(l, "ended_on")))
			current++;
		else
			ended++;
	cpa_audit(ctx, "read", "carer_link", NULL, id, cpa_db_ll(r, 0, "site_id"),
	    cpa_sprintf(ctx->arena, "%zu current carers, %zu ended, %zu involvement events",
	    current, ended, json_array_size(involvement)));
	m = json_pack("{s:O,s:O,s:O,s:b,s:I,s:I}", "service_user", su, "carers", carers,
	    "involvement", involvement, "no_carer", cpa_db_flag(r, 0, "no_carer"),
	    "consent_review_months", (json_int_t)cpa_db_ll(r, 0, "consent_review_months"),
	    "assessment_act_within_days",
	    (json_int_t)cpa_db_ll(r, 0, "assessment_act_within_days"));
	if (ctx->req.wants_json)
		goto out;
	today = cpa_db_get(r, 0, "today");
	existing = cpa_db_json(ctx->arena, r, 0, "existing");
	json_array_foreach(carers, i, l)
		link_forms(ctx, l, today, form, values, in);
	page_forms(ctx, m, existing, today, form, values, in);
	json_object_set_new(m, "today", json_string(today));
	json_object_set_new(m, "former", json_boolean(ended > 0));
	carers_page_words(m, cpa_sprintf(ctx->arena, "Carers: %s",
	    cpa_person_name(ctx->arena, su)));
out:
	json_decref(values);
	return m;
}

void
carers_page_again_with(struct cpa_ctx *ctx, long long service_user_id, const char *form,
    const struct cpa_input *in, json_t *values, int status)
{
	struct cpa_input shown;
	json_t *m;

	cpa_db_rollback(ctx);
	if (ctx->req.wants_json) {
		json_decref(values);
		cpa_render_invalid(ctx, NULL, NULL, in);
		ctx->resp.status = status;
		return;
	}
	if (values == NULL)
		values = cpa_input_typed(in);
	cpa_db_begin(ctx);
	if ((m = carers_person_model(ctx, service_user_id, form, values, in)) == NULL ||
	    cpa_commit_or_fail(ctx, m) != CPA_OK)
		return;
	shown = cpa_input_prefixed(ctx->arena, in, cpa_sprintf(ctx->arena, "%s-", form));
	cpa_render_invalid(ctx, "carers_person", m, &shown);
	ctx->resp.status = status;
}

void
carers_page_again(struct cpa_ctx *ctx, long long service_user_id, const char *form,
    const struct cpa_input *in, int status)
{
	carers_page_again_with(ctx, service_user_id, form, in, NULL, status);
}

void
carers_refuse(struct cpa_ctx *ctx, const struct cpa_problem *p, const char *message,
    long long service_user_id, long long site_id, const char *entity, const char *id,
    const char *attempt, const char *form, const struct cpa_input *in)
{
	struct cpa_input one;

	if (message == NULL)
		message = p->message;
	if (p->status == 403) {
		cpa_db_rollback(ctx);
		cpa_db_begin(ctx);
		cpa_deny(ctx, 403, message, entity, id, service_user_id, site_id, attempt);
		return;
	}
	cpa_db_rollback(ctx);
	if (p->field == NULL || form == NULL) {
		cpa_error(ctx, p->status, message);
		return;
	}
	one = *in;
	one.errors = NULL;
	one.nerrors = 0;
	cpa_input_add_error(ctx->arena, &one, p->field, message);
	carers_page_again(ctx, service_user_id, form, &one, p->status);
}

json_t *
carers_link_json(struct cpa_ctx *ctx, const char *link_id)
{
	const char *params[1] = { link_id };
	json_t *link;
	PGresult *r;

	if ((r = cpa_fetch(ctx, &q_link, params, "carer_link")) == NULL)
		return NULL;
	if ((link = cpa_db_json(ctx->arena, r, 0, "carer_link")) == NULL)
		cpa_error(ctx, 500, NULL);
	return link;
}

long long
carers_link_person(struct cpa_ctx *ctx, const char *link_id)
{
	const char *params[1] = { link_id };
	PGresult *r;

	if (ctx->req.wants_json)
		return -1;
	cpa_db_begin(ctx);
	if ((r = cpa_fetch(ctx, &q_link_person, params, "carer_link")) == NULL)
		return 0;
	return cpa_db_ll(r, 0, "service_user_id");
}

json_t *
carers_radios(struct cpa_ctx *ctx, const json_t *f, const char *name, int inline_,
    const char *const *codes, const char *const *labels, const char *const *only)
{
	const char *prefix = json_string_value(json_object_get(f, "prefix"));

	return json_pack("{s:s,s:O?,s:b,s:o}", "name", name, "error",
	    json_object_get(f, cpa_sprintf(ctx->arena, "error_%s", name)), "inline",
	    inline_, "items", carers_choices(ctx, cpa_sprintf(ctx->arena, "%s%s",
	    prefix != NULL ? prefix : "", name), codes, labels, only,
	    json_object_get(f, name)));
}

long long
carers_form_id(struct cpa_ctx *ctx, const char *entity, const struct cpa_field *fields,
    size_t nfields, struct cpa_input *in)
{
	long long id;

	if (cpa_input_read(ctx, fields, nfields, in) != CPA_OK)
		return 0;
	if ((id = cpa_param_id(&ctx->req, "id")) == 0) {
		cpa_db_begin(ctx);
		cpa_not_found(ctx, entity, cpa_param(&ctx->req, "id"));
	}
	return id;
}

void
carers_page_words(json_t *m, const char *title)
{
	json_object_set_new(m, "title", json_string(title));
	cpa_json_annotate(m, carers_present, NULL);
}

int
carers_row_json(struct cpa_ctx *ctx, const PGresult *r, ...)
{
	va_list ap;
	const char *col;
	json_t **out;
	int rc = 0;

	va_start(ap, r);
	while ((col = va_arg(ap, const char *)) != NULL) {
		out = va_arg(ap, json_t **);
		if ((*out = cpa_db_json(ctx->arena, r, 0, col)) == NULL)
			rc = -1;
	}
	va_end(ap);
	if (rc != 0)
		cpa_error(ctx, 500, NULL);
	return rc;
}
