/*
 * migrate.c - cpa-migrate: applies the schema migrations sql/NNN_name.sql
 * in order, each exactly once and each in its own transaction, recording
 * the file's sha256 in schema_migration.
 *
 *   cpa-migrate [--conninfo STR] [--dir DIR] [--status]
 *
 * A session advisory lock serialises concurrent runs (several hosts may
 * start at once).  Every recorded file is checked before anything is
 * applied: an applied file whose bytes changed stops the run, because the
 * database no longer matches what the file says; the change belongs in a
 * new file.  Exit status: 0 done, 1 failure, 2 usage.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpa.h"

#ifndef CPA_DEFAULT_TEMPLATE_DIR
#define CPA_DEFAULT_TEMPLATE_DIR "/usr/share/cpa-suite"
#endif

#define DEFAULT_CONNINFO "dbname=cpa user=cpa_owner"
#define LOCK_KEY "4846215734110021"	/* pg_advisory_lock key of cpa-migrate */
#define FILE_MAX (16L * 1024 * 1024)	/* largest migration file */
#define NAME_MAX_LEN 128

enum mstate { M_PENDING, M_APPLIED, M_CHANGED };
static const char *const mstate_names[] = { "pending", "applied", "changed" };

/* One migration file.  sql is a heap copy owned by the list. */
struct migration {
	int version;
	char name[NAME_MAX_LEN + 1];
	char *sql;
	char checksum[CPA_SHA256_HEX + 1];
	enum mstate state;
	char recorded[CPA_SHA256_HEX + 1];	/* checksum on record, for messages */
};

struct mlist {
	struct migration *m;
	size_t n;
};

static const char *const create_table_sql =
    "CREATE TABLE IF NOT EXISTS public.schema_migration ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now());"
    /* Like every table, forced row-level security: only the migration
     * role sees it (cpa_app has no privileges on it either). */
    "ALTER TABLE public.schema_migration ENABLE ROW LEVEL SECURITY;"
    "ALTER TABLE public.schema_migration FORCE ROW LEVEL SECURITY;"
    "DO $$ BEGIN"
    " IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'"
    "   AND tablename = 'schema_migration' AND policyname = 'schema_migration_owner') THEN"
    "  CREATE POLICY schema_migration_owner ON public.schema_migration"
    "   TO cpa_owner USING (true) WITH CHECK (true);"
    " END IF; END $$";

static const char *const recorded_sql =
    "SELECT version, name, checksum FROM public.schema_migration ORDER BY version";

static const char *const record_sql =
    "INSERT INTO public.schema_migration (version, name, checksum) VALUES ($1, $2, $3)";

static void
usage(FILE *f)
{
	fputs("usage: cpa-migrate [--conninfo STR] [--dir DIR] [--status]\n"
	    "  --conninfo  libpq connection string (default: $CPA_MIGRATE_CONNINFO,\n"
	    "              else \"" DEFAULT_CONNINFO "\")\n"
	    "  --dir       directory of NNN_name.sql files (default: "
	    CPA_DEFAULT_TEMPLATE_DIR "/sql)\n"
	    "  --status    list each file as applied, pending or changed; apply nothing\n"
	    "              (exit status 1 when an applied file has changed)\n",
	    f);
}

/* ^[0-9]{3}_[a-z0-9_]+\.sql$; the version is the three digits. */
static int
name_valid(const char *name, int *version)
{
	size_t len = strlen(name), i;

	if (len < 9 || len > NAME_MAX_LEN || strcmp(name + len - 4, ".sql") != 0)
		return 0;
	for (i = 0; i < 3; i++)
		if (name[i] < '0' || name[i] > '9')
			return 0;
	if (name[3] != '_')
		return 0;
	for (i = 4; i < len - 4; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return 0;
	*version = (name[0] - '0') * 100 + (name[1] - '0') * 10 + (name[2] - '0');
	return 1;
}

static int
migration_cmp(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Read dir/m->name whole into m->sql and checksum it. */
static int
migration_read(const char *dir, struct migration *m)
{
	char path[4096];
	struct stat st;
	ssize_t got;
	size_t off = 0;
	int fd, rc = CPA_ERR;

	snprintf(path, sizeof(path), "%s/%s", dir, m->name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "cpa-migrate: %s: %s\n", path, strerror(errno));
		return CPA_ERR;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > FILE_MAX) {
		fprintf(stderr, "cpa-migrate: %s: not a regular file of at most %ld bytes\n",
		    path, FILE_MAX);
		goto out;
	}
	if ((m->sql = malloc((size_t)st.st_size + 1)) == NULL) {
		fputs("cpa-migrate: out of memory\n", stderr);
		goto out;
	}
	while (off < (size_t)st.st_size) {
		got = read(fd, m->sql + off, (size_t)st.st_size - off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			fprintf(stderr, "cpa-migrate: %s: short read\n", path);
			goto out;
		}
		off += (size_t)got;
	}
	m->sql[off] = '\0';
	if (strlen(m->sql) != off) {
		fprintf(stderr, "cpa-migrate: %s: contains a NUL byte\n", path);
		goto out;
	}
	cpa_sha256_hex(m->sql, off, m->checksum);
	rc = CPA_OK;
out:
	close(fd);
	return rc;
}

static void
mlist_free(struct mlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->m[i].sql);
	free(l->m);
	l->m = NULL;
	l->n = 0;
}

/* Every migration file of dir, read and sorted by name. */
static int
mlist_load(const char *dir, struct mlist *l)
{
	struct migration *grown;
	struct dirent *de;
	size_t cap = 0, i;
	DIR *d;
	int version, rc = CPA_ERR;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "cpa-migrate: %s: %s\n", dir, strerror(errno));
		return CPA_ERR;
	}
	while ((de = readdir(d)) != NULL) {
		if (!name_valid(de->d_name, &version)) {
			if (de->d_name[0] >= '0' && de->d_name[0] <= '9')
				fprintf(stderr, "cpa-migrate: ignoring %s: migration files "
				    "are named NNN_lower_case_name.sql\n", de->d_name);
			continue;
		}
		if (l->n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((grown = realloc(l->m, cap * sizeof(*grown))) == NULL) {
				fputs("cpa-migrate: out of memory\n", stderr);
				goto out;
			}
			l->m = grown;
		}
		memset(&l->m[l->n], 0, sizeof(l->m[l->n]));
		l->m[l->n].version = version;
		snprintf(l->m[l->n].name, sizeof(l->m[l->n].name), "%s", de->d_name);
		l->n++;
	}
	if (l->n > 0)
		qsort(l->m, l->n, sizeof(l->m[0]), migration_cmp);
	for (i = 0; i < l->n; i++) {
		if (i > 0 && l->m[i].version == l->m[i - 1].version) {
			fprintf(stderr, "cpa-migrate: %s and %s have the same version\n",
			    l->m[i - 1].name, l->m[i].name);
			goto out;
		}
		if (migration_read(dir, &l->m[i]) != CPA_OK)
			goto out;
	}
	rc = CPA_OK;
out:
	closedir(d);
	return rc;
}

/* Run sql expecting want; prints the server's message on failure. */
static int
db_run(PGconn *conn, const char *sql, ExecStatusType want, const char *what)
{
	PGresult *r = PQexec(conn, sql);
	int rc = CPA_OK;

	if (PQresultStatus(r) != want) {
		fprintf(stderr, "cpa-migrate: %s: %s", what, PQresultErrorMessage(r));
		rc = CPA_ERR;
	}
	PQclear(r);
	return rc;
}

static int
db_setup(PGconn *conn)
{
	PGresult *r;
	int rc;

	if (db_run(conn, "SET client_min_messages = warning", PGRES_COMMAND_OK, "setup") != CPA_OK ||
	    db_run(conn, "SET statement_timeout = 0", PGRES_COMMAND_OK, "setup") != CPA_OK ||
	    db_run(conn, "SET search_path = public", PGRES_COMMAND_OK, "setup") != CPA_OK)
		return CPA_ERR;
	r = PQexec(conn, "SELECT current_setting('is_superuser')");
	rc = PQresultStatus(r) == PGRES_TUPLES_OK ? CPA_OK : CPA_ERR;
	if (rc == CPA_OK && strcmp(PQgetvalue(r, 0, 0), "on") == 0)
		fputs("cpa-migrate: warning: connected as a superuser; tables will be "
		    "owned by it.  Run migrations as cpa_owner.\n", stderr);
	PQclear(r);
	return rc;
}

static int
db_lock(PGconn *conn)
{
	const char *params[1] = { LOCK_KEY };
	PGresult *r;
	int rc = CPA_ERR;

	r = PQexecParams(conn, "SELECT pg_try_advisory_lock($1::bigint)", 1, NULL,
	    params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "cpa-migrate: lock: %s", PQresultErrorMessage(r));
		goto out;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
		fputs("cpa-migrate: waiting for another cpa-migrate to finish\n", stdout);
		fflush(stdout);
		PQclear(r);
		r = PQexecParams(conn, "SELECT pg_advisory_lock($1::bigint)", 1, NULL,
		    params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			fprintf(stderr, "cpa-migrate: lock: %s", PQresultErrorMessage(r));
			goto out;
		}
	}
	rc = CPA_OK;
out:
	PQclear(r);
	return rc;
}

/*
 * Mark each file applied, changed or pending from what is on record.  With
 * create == 0 a missing schema_migration means nothing is applied.
 * Returns CPA_OK, CPA_ECONFLICT when a recorded file changed, or CPA_ERR.
 */
static int
mlist_compare(PGconn *conn, struct mlist *l, int create)
{
	const char *rversion, *rname, *rsum;
	char version[16];
	PGresult *r = NULL;
	size_t i;
	int row, found, changed = 0, rc = CPA_ERR;

	if (create) {
		if (db_run(conn, create_table_sql, PGRES_COMMAND_OK, "schema_migration") != CPA_OK)
			return CPA_ERR;
	} else {
		r = PQexec(conn, "SELECT to_regclass('public.schema_migration') IS NOT NULL");
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			fprintf(stderr, "cpa-migrate: %s", PQresultErrorMessage(r));
			goto out;
		}
		if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
			rc = CPA_OK;
			goto out;
		}
		PQclear(r);
	}
	r = PQexec(conn, recorded_sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "cpa-migrate: schema_migration: %s", PQresultErrorMessage(r));
		goto out;
	}
	for (row = 0; row < PQntuples(r); row++) {
		rversion = PQgetvalue(r, row, 0);
		rname = PQgetvalue(r, row, 1);
		rsum = PQgetvalue(r, row, 2);
		found = 0;
		for (i = 0; i < l->n; i++) {
			snprintf(version, sizeof(version), "%d", l->m[i].version);
			if (strcmp(version, rversion) != 0)
				continue;
			found = 1;
			snprintf(l->m[i].recorded, sizeof(l->m[i].recorded), "%s", rsum);
			if (strcmp(l->m[i].name, rname) == 0 &&
			    strcmp(l->m[i].checksum, rsum) == 0) {
				l->m[i].state = M_APPLIED;
				continue;
			}
			l->m[i].state = M_CHANGED;
			changed = 1;
			if (strcmp(l->m[i].name, rname) != 0)
				fprintf(stderr, "cpa-migrate: %s: version %s was applied "
				    "from %s; the file was renamed or replaced\n",
				    l->m[i].name, rversion, rname);
			else
				fprintf(stderr, "cpa-migrate: %s: changed since it was "
				    "applied (sha256 on record %.12s..., file %.12s...); "
				    "restore it and put the change in a new migration\n",
				    l->m[i].name, rsum, l->m[i].checksum);
		}
		if (!found)
			fprintf(stderr, "cpa-migrate: warning: %s is applied but not in "
			    "this directory\n", rname);
	}
	rc = changed ? CPA_ECONFLICT : CPA_OK;
out:
	PQclear(r);
	return rc;
}

/* BEGIN; the file; its record; COMMIT.  Rolls back on any error. */
static int
migration_apply(PGconn *conn, const struct migration *m)
{
	char version[16];
	const char *params[3] = { version, m->name, m->checksum };
	PGresult *r = NULL;
	int rc = CPA_ERR;

	snprintf(version, sizeof(version), "%d", m->version);
	if (db_run(conn, "BEGIN", PGRES_COMMAND_OK, m->name) != CPA_OK)
		return CPA_ERR;
	r = PQexec(conn, m->sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK &&
	    PQresultStatus(r) != PGRES_EMPTY_QUERY) {
		fprintf(stderr, "cpa-migrate: %s: %s", m->name, PQresultErrorMessage(r));
		goto out;
	}
	if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
		fprintf(stderr, "cpa-migrate: %s: ended the transaction itself, so part "
		    "of it may be committed without a record; migration files must not "
		    "contain BEGIN, COMMIT or ROLLBACK\n", m->name);
		goto out;
	}
	PQclear(r);
	r = PQexecParams(conn, record_sql, 3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "cpa-migrate: %s: recording: %s", m->name,
		    PQresultErrorMessage(r));
		goto out;
	}
	PQclear(r);
	r = PQexec(conn, "COMMIT");
	if (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		fprintf(stderr, "cpa-migrate: %s: commit failed: %s", m->name,
		    PQresultErrorMessage(r));
		goto out;
	}
	rc = CPA_OK;
out:
	PQclear(r);
	if (rc != CPA_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexec(conn, "ROLLBACK"));
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "conninfo", required_argument, NULL, 'c' },
		{ "dir", required_argument, NULL, 'd' },
		{ "status", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct mlist l = { NULL, 0 };
	const char *conninfo, *dir = CPA_DEFAULT_TEMPLATE_DIR "/sql";
	PGconn *conn = NULL;
	size_t i, applied = 0, done = 0;
	int ch, status = 0, rc, ex = 1;

	if ((conninfo = getenv("CPA_MIGRATE_CONNINFO")) == NULL || conninfo[0] == '\0')
		conninfo = DEFAULT_CONNINFO;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'c')
			conninfo = optarg;
		else if (ch == 'd')
			dir = optarg;
		else if (ch == 's')
			status = 1;
		else {
			usage(ch == 'h' ? stdout : stderr);
			return ch == 'h' ? 0 : 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	if (mlist_load(dir, &l) != CPA_OK)
		goto out;
	conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "cpa-migrate: cannot connect: %s", PQerrorMessage(conn));
		goto out;
	}
	if (db_setup(conn) != CPA_OK)
		goto out;

	if (status) {
		if ((rc = mlist_compare(conn, &l, 0)) == CPA_ERR)
			goto out;
		for (i = 0; i < l.n; i++)
			printf("%-8s %s\n", mstate_names[l.m[i].state], l.m[i].name);
		ex = rc == CPA_OK ? 0 : 1;
		goto out;
	}

	if (db_lock(conn) != CPA_OK)
		goto out;
	if ((rc = mlist_compare(conn, &l, 1)) != CPA_OK) {
		if (rc == CPA_ECONFLICT)
			fputs("cpa-migrate: nothing applied\n", stderr);
		goto out;
	}
	for (i = 0; i < l.n; i++) {
		if (l.m[i].state == M_APPLIED) {
			applied++;
			continue;
		}
		if (migration_apply(conn, &l.m[i]) != CPA_OK) {
			fprintf(stderr, "cpa-migrate: stopped at %s (rolled back); "
			    "%zu applied in this run\n", l.m[i].name, done);
			goto out;
		}
		done++;
		printf("cpa-migrate: applied %s\n", l.m[i].name);
		fflush(stdout);
	}
	if (done == 0)
		printf("cpa-migrate: up to date (%zu migrations already applied)\n", applied);
	else
		printf("cpa-migrate: applied %zu, %zu already applied\n", done, applied);
	ex = 0;
out:
	/* Closing the connection also releases the advisory lock. */
	if (conn != NULL)
		PQfinish(conn);
	mlist_free(&l);
	return ex;
}
