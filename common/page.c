/*
 * page.c - what the handlers of a person's records share, whichever
 * worker holds them: loading a person's page with its access checks, the
 * scope of a list of what falls due, the fields a statement found at
 * fault, the answer to a recorded change, and dates in words.
 */
#include <string.h>

#include "cpa.h"

PGresult *
cpa_person_page_load(struct cpa_ctx *ctx, const struct cpa_stmt *st, long long id,
    const char *param, const char *what)
{
	const char *params[2];
	PGresult *r;

	if (id <= 0) {
		cpa_not_found(ctx, "service_user", cpa_param(&ctx->req, "id"));
		return NULL;
	}
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = param;
	if ((r = cpa_fetch(ctx, st, params, "service_user")) == NULL)
		return NULL;
	if (!cpa_db_flag(r, 0, "has_episode")) {
		cpa_error(ctx, 409, CPA_NO_EPISODE_MESSAGE);
		return NULL;
	}
	if (!cpa_db_flag(r, 0, "covered")) {
		cpa_deny(ctx, 403, cpa_sprintf(ctx->arena,
		    "You can only see %s of people in your teams", what),
		    "service_user", params[0], id, cpa_db_ll(r, 0, "site_id"),
		    cpa_sprintf(ctx->arena, "%s of a team the caller does not work in", what));
		return NULL;
	}
	return r;
}

const char *
cpa_list_scope(struct cpa_ctx *ctx, const struct cpa_value *v, const char *entity,
    const char *what, int *manager)
{
	const char *scope;

	*manager = cpa_session_has_role(ctx->session, CPA_ROLES_MANAGER, 0);
	scope = v->present ? v->str : *manager ? "team" : "mine";
	if (strcmp(scope, "team") == 0 && !*manager) {
		cpa_deny(ctx, 403, cpa_sprintf(ctx->arena, "Only team and district "
		    "managers can list their teams' %s", what), entity, NULL, 0, 0,
		    cpa_sprintf(ctx->arena, "team %s without a manager role", what));
		return NULL;
	}
	return scope;
}

void
cpa_list_page(json_t *m, const char *scope, int manager, long long overdue,
    const char *team_title, const char *mine_title)
{
	int team = strcmp(scope, "team") == 0;

	json_object_set_new(m, "title", json_string(team ? team_title : mine_title));
	json_object_set_new(m, "team", json_boolean(team));
	json_object_set_new(m, "manager", json_boolean(manager));
	json_object_set_new(m, "any_overdue", json_boolean(overdue > 0));
}

void
cpa_invalid_add(struct cpa_ctx *ctx, struct cpa_input *in, const PGresult *r,
    const struct cpa_problem *t, size_t n)
{
	json_t *list = cpa_db_json(ctx->arena, r, 0, "invalid"), *item;
	const struct cpa_problem *p;
	size_t i;

	json_array_foreach(list, i, item)
		if ((p = cpa_problem_find(t, n, json_string_value(item), NULL)) != NULL &&
		    p->field != NULL)
			cpa_input_add_error(ctx->arena, in, p->field, p->message);
}

void
cpa_answer_recorded(struct cpa_ctx *ctx, int status, const char *path, json_t *model)
{
	if (!ctx->req.wants_json) {
		json_decref(model);
		cpa_commit_redirect(ctx, path);
		return;
	}
	if (cpa_commit_or_fail(ctx, model) != CPA_OK)
		return;
	cpa_header(ctx, "Location", cpa_sprintf(ctx->arena, "/api/v1%s", path));
	cpa_render(ctx, status, NULL, model);
}

void
cpa_date_words(json_t *add, const char *key, const json_t *value, void *arg)
{
	static const char *const suffixes[] = { "_at", "_on", "_date", NULL };
	size_t n = strlen(key), k;
	int date = strcmp(key, "at") == 0 || strcmp(key, "today") == 0 ||
	    strcmp(key, "date_of_birth") == 0;

	(void)arg;
	for (k = 0; !date && suffixes[k] != NULL; k++)
		date = n > strlen(suffixes[k]) &&
		    strcmp(key + n - strlen(suffixes[k]), suffixes[k]) == 0;
	if (date)
		cpa_json_beside(add, key, "_text", cpa_date_text(json_string_value(value),
		    ", "));
}
