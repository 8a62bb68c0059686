/*
 * audit.c - audit_event rows for every read or change of protected data and
 * every security decision worth reviewing (sign-ins, denials).  Rows are
 * written in the request's own transaction, sent together with COMMIT, so
 * a change is never committed without its audit row and vice versa.
 */
#include <string.h>

#include "cpa.h"

static const struct cpa_stmt insert_audit = {
	"audit_insert",
	"INSERT INTO audit_event (staff_id, username, action, entity_type,"
	" entity_id, service_user_id, site_id, remote_addr, request_id, detail)"
	" VALUES ($1::bigint, $2, $3, $4, $5, $6::bigint, $7::bigint, $8, $9, $10)",
	10
};

char *
cpa_audit_sanitise(cpa_arena *a, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	struct cpa_buf b;
	const unsigned char *p;

	if (s == NULL)
		return NULL;
	cpa_buf_init(&b, a);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\') {
			cpa_buf_puts(&b, "\\x");
			cpa_buf_putc(&b, hex[*p >> 4]);
			cpa_buf_putc(&b, hex[*p & 15]);
		} else
			cpa_buf_putc(&b, (char)*p);
	}
	return b.data;
}

static const char *
id_or_null(cpa_arena *a, long long id)
{
	return id > 0 ? cpa_sprintf(a, "%lld", id) : NULL;
}

int
cpa_audit(struct cpa_ctx *ctx, const char *action, const char *entity,
    const char *entity_id, long long service_user_id, long long site_id,
    const char *detail)
{
	const struct cpa_session *s = ctx->session;
	const char *params[10];

	params[0] = id_or_null(ctx->arena, s != NULL ? s->user_id : ctx->actor_id);
	params[1] = cpa_audit_sanitise(ctx->arena, s != NULL ? s->username : ctx->actor_name);
	params[2] = action;
	params[3] = entity;
	params[4] = cpa_audit_sanitise(ctx->arena, entity_id);
	params[5] = id_or_null(ctx->arena, service_user_id);
	params[6] = id_or_null(ctx->arena, site_id);
	params[7] = ctx->req.remote_addr;
	params[8] = ctx->req.request_id;
	params[9] = cpa_audit_sanitise(ctx->arena, detail);
	cpa_db_queue(ctx, &insert_audit, params);
	return CPA_OK;
}

void
cpa_not_found(struct cpa_ctx *ctx, const char *entity, const char *id)
{
	cpa_deny(ctx, 404, NULL, entity, id, 0, 0, "not found or another site");
}

PGresult *
cpa_fetch(struct cpa_ctx *ctx, const struct cpa_stmt *st, const char *const *params,
    const char *entity)
{
	PGresult *r;

	if ((r = cpa_db_exec(ctx, st, params)) == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return NULL;
	}
	if (PQntuples(r) == 0) {
		cpa_not_found(ctx, entity, params[0]);
		return NULL;
	}
	return r;
}

PGresult *
cpa_fetch_one(struct cpa_ctx *ctx, const struct cpa_stmt *st, long long id,
    const char *entity)
{
	const char *params[1];

	if (id <= 0) {
		cpa_not_found(ctx, entity, cpa_param(&ctx->req, "id"));
		return NULL;
	}
	params[0] = cpa_id_param(ctx->arena, id);
	return cpa_fetch(ctx, st, params, entity);
}

PGresult *
cpa_run_change(struct cpa_ctx *ctx, const struct cpa_stmt *st,
    const char *const *params, const char *entity, const char *race,
    const char **code)
{
	PGresult *r;

	*code = NULL;
	cpa_db_begin(ctx);
	if ((r = cpa_db_exec(ctx, st, params)) == NULL) {
		if (ctx->db_rc == CPA_ECONFLICT)
			*code = race;
		else
			cpa_error_rc(ctx, ctx->db_rc);
		return NULL;
	}
	if (PQntuples(r) == 0) {
		cpa_not_found(ctx, entity, params[0]);
		return NULL;
	}
	*code = cpa_db_get(r, 0, "problem");
	if (*code == NULL && !cpa_db_flag(r, 0, "done"))
		*code = "stale";
	return r;
}

int
cpa_commit_or_fail(struct cpa_ctx *ctx, json_t *model)
{
	int rc;

	if ((rc = cpa_db_commit(ctx)) != CPA_OK) {
		json_decref(model);
		cpa_error_rc(ctx, rc);
	}
	return rc;
}

void
cpa_deny(struct cpa_ctx *ctx, int status, const char *message,
    const char *entity, const char *id, long long service_user_id,
    long long site_id, const char *detail)
{
	cpa_audit(ctx, "access_denied", entity, id, service_user_id, site_id, detail);
	if (cpa_commit_or_fail(ctx, NULL) == CPA_OK)
		cpa_error(ctx, status, message);
}

void
cpa_commit_render(struct cpa_ctx *ctx, int status, const char *tmpl, json_t *model)
{
	if (cpa_commit_or_fail(ctx, model) == CPA_OK)
		cpa_render(ctx, status, tmpl, model);
}

void
cpa_commit_redirect(struct cpa_ctx *ctx, const char *path)
{
	if (cpa_db_commit(ctx) != CPA_OK)
		cpa_error_rc(ctx, ctx->db_rc);
	else
		cpa_redirect(ctx, path);
}
