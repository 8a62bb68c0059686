/*
 * db.c - PostgreSQL access for request handlers.
 *
 * One connection per worker process, made lazily and remade after any
 * failure.  Each request runs in one transaction whose first round trip
 * carries BEGIN, the row-level-security context (app.user_id and
 * app.site_ids, transaction-local so nothing leaks to the next request on
 * the connection) and the first statement, using libpq's pipeline mode.
 * Statements are prepared on first use per connection.  Writes queued with
 * cpa_db_queue() (audit rows) travel with COMMIT in one more round trip.
 */
#include <stdio.h>
#include <string.h>

#include "cpa.h"

#define MAX_PREPARED 256

struct queued {
	struct queued *next;
	const struct cpa_stmt *st;
	const char **params;
};

static PGconn *conn;
static const struct cpa_config *config;
static const char *program_name = "cpa";
/* Statements prepared on the current connection, by address. */
static const struct cpa_stmt *prepared[MAX_PREPARED];
static size_t nprepared;

static const char set_context_sql[] =
    "SELECT set_config('app.user_id', $1, true), "
    "set_config('app.site_ids', $2, true)";

void
cpa_db_configure(const struct cpa_config *cfg)
{
	config = cfg;
	cpa_db_disconnect();
}

void
cpa_db_set_program(const char *name)
{
	program_name = name;
}

void
cpa_db_disconnect(void)
{
	if (conn != NULL)
		PQfinish(conn);
	conn = NULL;
	nprepared = 0;
}

static PGconn *
connection(void)
{
	const char *keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *values[4];
	char sql[128];
	PGresult *r;

	if (conn != NULL && PQstatus(conn) == CONNECTION_OK)
		return conn;
	cpa_db_disconnect();
	if (config == NULL)
		return NULL;
	values[0] = "3";
	values[1] = program_name;
	values[2] = config->db_conninfo;
	values[3] = NULL;
	/* expand_dbname: the conninfo string may override the defaults. */
	conn = PQconnectdbParams(keys, values, 1);
	if (PQstatus(conn) != CONNECTION_OK) {
		cpa_log(CPA_LOG_WARN, "db_unavailable", "cannot connect: %s",
		    PQerrorMessage(conn));
		cpa_db_disconnect();
		return NULL;
	}
	/* A stuck query gives a 503, not a hung worker. */
	snprintf(sql, sizeof(sql), "SET statement_timeout = %d; "
	    "SET idle_in_transaction_session_timeout = %d",
	    config->db_statement_timeout_ms, config->db_statement_timeout_ms * 4);
	r = PQexec(conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		cpa_log(CPA_LOG_ERROR, "db_setup", "%s", PQerrorMessage(conn));
		PQclear(r);
		cpa_db_disconnect();
		return NULL;
	}
	PQclear(r);
	return conn;
}

static int
is_prepared(const struct cpa_stmt *st)
{
	size_t i;

	for (i = 0; i < nprepared; i++)
		if (prepared[i] == st)
			return 1;
	return 0;
}

static void
clear_result(void *r)
{
	PQclear(r);
}

/* Map a failed result to a library code. */
static int
failure_rc(const PGresult *r)
{
	static const struct {
		const char *prefix;
		int rc;
	} map[] = {
		{ "08", CPA_EUNAVAIL },		/* connection exceptions */
		{ "57", CPA_EUNAVAIL },		/* cancelled: statement_timeout, shutdown */
		{ "53", CPA_EUNAVAIL },		/* insufficient resources */
		{ "23505", CPA_ECONFLICT },	/* unique */
		{ "23P01", CPA_ECONFLICT },	/* exclusion */
		{ "40", CPA_ECONFLICT },	/* serialization, deadlock */
		{ "23", CPA_EINPUT },		/* foreign key, check, not null */
		{ "22", CPA_EINPUT },		/* data exceptions */
		{ "42501", CPA_EDENIED },	/* insufficient privilege / RLS */
	};
	const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	size_t i;

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK || state == NULL)
		return CPA_EUNAVAIL;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strncmp(state, map[i].prefix, strlen(map[i].prefix)) == 0)
			return map[i].rc;
	return CPA_ERR;
}

int
cpa_db_begin(struct cpa_ctx *ctx)
{
	if (ctx->txn == 0)
		ctx->txn = 1;
	return CPA_OK;
}

/* What one pipeline sends, so the replies can be matched up. */
enum sent { SENT_BEGIN, SENT_CONTEXT, SENT_PREPARE, SENT_QUERY, SENT_COMMIT };

struct pipeline {
	enum sent what[2 * MAX_PREPARED];
	const struct cpa_stmt *stmt[2 * MAX_PREPARED];
	size_t n;
};

/* Is st's Prepare already in this pipeline (a statement queued twice)? */
static int
preparing(const struct pipeline *p, const struct cpa_stmt *st)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->what[i] == SENT_PREPARE && p->stmt[i] == st)
			return 1;
	return 0;
}

static int
send_stmt(struct pipeline *p, const struct cpa_stmt *st, const char *const *params)
{
	if (p->n + 2 > sizeof(p->what) / sizeof(p->what[0]))
		return 0;
	if (!is_prepared(st) && !preparing(p, st)) {
		if (!PQsendPrepare(conn, st->name, st->sql, st->nparams, NULL))
			return 0;
		p->what[p->n] = SENT_PREPARE;
		p->stmt[p->n++] = st;
	}
	if (!PQsendQueryPrepared(conn, st->name, st->nparams, params, NULL, NULL, 0))
		return 0;
	p->what[p->n] = SENT_QUERY;
	p->stmt[p->n++] = st;
	return 1;
}

static int
send_begin(struct cpa_ctx *ctx, struct pipeline *p)
{
	const char *params[2];

	params[0] = ctx->session != NULL ?
	    cpa_sprintf(ctx->arena, "%lld", ctx->session->user_id) : "";
	params[1] = ctx->session != NULL ? ctx->session->site_ids : "";
	if (!PQsendQueryParams(conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0))
		return 0;
	p->what[p->n++] = SENT_BEGIN;
	if (!PQsendQueryParams(conn, set_context_sql, 2, NULL, params, NULL, NULL, 0))
		return 0;
	p->what[p->n++] = SENT_CONTEXT;
	return 1;
}

/* Sync the pipeline and read every reply.  Returns CPA_OK with *last set to
 * the last query's result (kept by the arena), or a failure code. */
static int
run_pipeline(struct cpa_ctx *ctx, struct pipeline *p, PGresult **last)
{
	PGresult *r, *failed = NULL;
	size_t i;
	int rc = CPA_OK;

	*last = NULL;
	if (PQpipelineSync(conn) != 1)
		return CPA_EUNAVAIL;
	for (i = 0; i < p->n; i++) {
		r = PQgetResult(conn);
		if (r == NULL) {
			rc = CPA_EUNAVAIL;
			break;
		}
		switch (PQresultStatus(r)) {
		case PGRES_COMMAND_OK:
		case PGRES_TUPLES_OK:
			if (p->what[i] == SENT_PREPARE && nprepared < MAX_PREPARED)
				prepared[nprepared++] = p->stmt[i];
			if (p->what[i] == SENT_QUERY) {
				cpa_arena_defer(ctx->arena, clear_result, r);
				*last = r;
				r = NULL;
			}
			break;
		case PGRES_PIPELINE_ABORTED:
			break;
		default:
			if (failed == NULL) {
				rc = failure_rc(r);
				cpa_log(rc == CPA_ERR ? CPA_LOG_ERROR : CPA_LOG_INFO,
				    "db_error", "%s: %s",
				    p->stmt[i] != NULL ? p->stmt[i]->name : "transaction",
				    PQresultErrorMessage(r));
				failed = r;
				r = NULL;
			}
			break;
		}
		if (r != NULL)
			PQclear(r);
		/* Each command's results end with a NULL. */
		while ((r = PQgetResult(conn)) != NULL)
			PQclear(r);
	}
	/* The sync point. */
	if (rc != CPA_EUNAVAIL) {
		r = PQgetResult(conn);
		if (r == NULL || PQresultStatus(r) != PGRES_PIPELINE_SYNC)
			rc = CPA_EUNAVAIL;
		PQclear(r);
	}
	if (failed != NULL)
		PQclear(failed);
	if (rc != CPA_EUNAVAIL && PQexitPipelineMode(conn) != 1)
		rc = CPA_EUNAVAIL;
	/* A connection in an unknown state is never reused. */
	if (rc == CPA_EUNAVAIL)
		cpa_db_disconnect();
	return rc;
}

/* One round trip: BEGIN and the context if the transaction is not open
 * yet, then either st or (st == NULL) the queued writes and COMMIT.  On
 * CPA_EUNAVAIL the connection has been dropped. */
static int
round_trip(struct cpa_ctx *ctx, const struct cpa_stmt *st, const char *const *params,
    PGresult **res)
{
	struct pipeline p;
	struct queued *q;

	memset(&p, 0, sizeof(p));
	*res = NULL;
	if (connection() == NULL)
		return CPA_EUNAVAIL;
	if (PQenterPipelineMode(conn) != 1)
		goto unavailable;
	if (ctx->txn == 1 && !send_begin(ctx, &p))
		goto unavailable;
	if (st != NULL) {
		if (!send_stmt(&p, st, params))
			goto unavailable;
	} else {
		for (q = ctx->db_queue; q != NULL; q = q->next)
			if (!send_stmt(&p, q->st, q->params))
				goto unavailable;
		if (!PQsendQueryParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0))
			goto unavailable;
		p.what[p.n++] = SENT_COMMIT;
	}
	return run_pipeline(ctx, &p, res);
unavailable:
	cpa_log(CPA_LOG_WARN, "db_unavailable", "%s", PQerrorMessage(conn));
	cpa_db_disconnect();
	return CPA_EUNAVAIL;
}

/* round_trip, retried once on a new connection when the old one turned out
 * to be dead (a database restart is only noticed on use) and the failed
 * attempt opened the transaction, so nothing of it reached the server. */
static int
round_trip_retry(struct cpa_ctx *ctx, const struct cpa_stmt *st, const char *const *params,
    PGresult **res)
{
	int fresh = conn == NULL || PQstatus(conn) != CONNECTION_OK;
	int rc = round_trip(ctx, st, params, res);

	if (rc == CPA_EUNAVAIL && ctx->txn == 1 && !fresh)
		rc = round_trip(ctx, st, params, res);
	return rc;
}

PGresult *
cpa_db_exec(struct cpa_ctx *ctx, const struct cpa_stmt *st, const char *const *params)
{
	PGresult *res;
	int rc;

	if (ctx->txn == 3) {
		ctx->db_rc = ctx->db_rc != CPA_OK ? ctx->db_rc : CPA_ERR;
		return NULL;
	}
	if (ctx->txn == 0)
		ctx->txn = 1;
	rc = round_trip_retry(ctx, st, params, &res);
	if (rc != CPA_OK) {
		/* The transaction is aborted; cpa_db_rollback() ends it. */
		ctx->db_rc = rc;
		ctx->txn = 3;
		return NULL;
	}
	ctx->txn = 2;
	ctx->db_rc = CPA_OK;
	return res;
}

void
cpa_db_queue(struct cpa_ctx *ctx, const struct cpa_stmt *st, const char *const *params)
{
	struct queued *q = cpa_alloc(ctx->arena, sizeof(*q)), **tail;
	int i;

	q->st = st;
	q->params = cpa_alloc(ctx->arena, sizeof(*q->params) * (size_t)(st->nparams + 1));
	for (i = 0; i < st->nparams; i++)
		q->params[i] = params[i] != NULL ? cpa_strdup(ctx->arena, params[i]) : NULL;
	for (tail = (struct queued **)&ctx->db_queue; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = q;
	if (ctx->txn == 0)
		ctx->txn = 1;
}

int
cpa_db_commit(struct cpa_ctx *ctx)
{
	PGresult *last;
	int rc;

	if (ctx->txn == 3)
		return ctx->db_rc != CPA_OK ? ctx->db_rc : CPA_ERR;
	if (ctx->txn == 0 || (ctx->txn == 1 && ctx->db_queue == NULL)) {
		ctx->txn = 0;
		return CPA_OK;
	}
	rc = round_trip_retry(ctx, NULL, NULL, &last);
	ctx->db_queue = NULL;
	if (rc != CPA_OK) {
		ctx->txn = 3;
		return ctx->db_rc = rc;
	}
	ctx->txn = 0;
	return CPA_OK;
}

PGresult *
cpa_db_exec_keyed(struct cpa_ctx *ctx, const struct cpa_stmt *st,
    const char *const *params)
{
	PGresult *r = NULL;
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		cpa_db_begin(ctx);
		if ((r = cpa_db_exec(ctx, st, params)) != NULL ||
		    ctx->db_rc != CPA_ECONFLICT)
			break;
		cpa_db_rollback(ctx);
	}
	return r;
}

void
cpa_db_rollback(struct cpa_ctx *ctx)
{
	PGresult *r;
	int txn = ctx->txn;

	ctx->txn = 0;
	ctx->db_queue = NULL;
	if (txn == 0 || txn == 1 || conn == NULL)
		return;
	r = PQexec(conn, "ROLLBACK");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		cpa_db_disconnect();
	PQclear(r);
}

int
cpa_db_ping(void)
{
	PGresult *r;
	int attempt, fresh, rc = CPA_EUNAVAIL;

	/* As requests do (round_trip_retry): a connection found dead on use
	 * (the database restarted) gets one more try on a new one. */
	for (attempt = 0; attempt < 2; attempt++) {
		fresh = conn == NULL || PQstatus(conn) != CONNECTION_OK;
		if (connection() == NULL)
			return CPA_EUNAVAIL;
		r = PQexec(conn, "SELECT 1");
		rc = PQresultStatus(r) == PGRES_TUPLES_OK ? CPA_OK : CPA_EUNAVAIL;
		PQclear(r);
		if (rc == CPA_OK)
			break;
		cpa_db_disconnect();
		if (fresh)
			break;
	}
	return rc;
}

const char *
cpa_db_get(const PGresult *r, int row, const char *col)
{
	int c = PQfnumber(r, col);

	if (c < 0 || row >= PQntuples(r) || PQgetisnull(r, row, c))
		return NULL;
	return PQgetvalue(r, row, c);
}

long long
cpa_db_ll(const PGresult *r, int row, const char *col)
{
	const char *v = cpa_db_get(r, row, col);
	long long n = 0;

	if (v == NULL || cpa_parse_ll(v, -(1LL << 62), 1LL << 62, &n) != CPA_OK)
		return 0;
	return n;
}

int
cpa_db_flag(const PGresult *r, int row, const char *col)
{
	const char *v = cpa_db_get(r, row, col);

	return v != NULL && strcmp(v, "t") == 0;
}

json_t *
cpa_db_json(cpa_arena *a, const PGresult *r, int row, const char *col)
{
	const char *v = cpa_db_get(r, row, col);
	char err[128];
	json_t *j;

	if (v == NULL)
		return NULL;
	j = cpa_json_parse(v, strlen(v), err, sizeof(err));
	if (j == NULL) {
		cpa_log(CPA_LOG_ERROR, "db_json", "column %s: %s", col, err);
		return NULL;
	}
	return cpa_json_keep(a, j);
}

const char *
cpa_id_param(cpa_arena *a, long long id)
{
	return id > 0 ? cpa_sprintf(a, "%lld", id) : NULL;
}
