/*
 * main.c - cpa-remindd, the reminder daemon: a loop around the functions of
 * sql/007_remindd.sql, which hold every rule.
 *
 *   cpa-remindd [--config FILE] [--once] [--now 'YYYY-MM-DD HH:MM:SS+00']
 *
 * Each wake queues the reminders that have fallen due (remind_sweep,
 * repeated while it fills a batch), then delivers the email outbox: claim a
 * batch with a lease (remind_claim_email), send each message through the
 * SMTP relay (mail.c), report each outcome (remind_email_result); then,
 * every dashboard_refresh_interval, bring the dashboard's summaries up to
 * date (dash_refresh, sql/011_dashboard.sql).  Between
 * wakes the daemon LISTENs on cpa_due and sleeps in ppoll() on the
 * connection's socket until a notification, the next time something falls
 * due (remind_next_wake) or sweep_interval, whichever comes first.
 *
 * Any number of instances may run against one database: the sweep skips
 * items another instance holds, reminders have a unique key, and an email
 * claim names its holder (hostname:pid) until its lease ends.  A crash loses
 * nothing: an uncommitted sweep is rolled back, an unreported email is sent
 * again once its lease ends (same Message-ID).
 *
 * The clock: every function takes p_now.  It is the real time, or with
 * --now a clock set to that instant that then runs on (tests).
 *
 * SIGTERM/SIGINT: finish the message being sent, report it, exit 0.  SIGHUP:
 * re-read the settings and reconnect.  PostgreSQL lost: reconnect with
 * back-off.  Exit status: 0 stopped (or --once completed), 1 failure (--once
 * could not complete its wake), 2 usage or settings.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libpq-fe.h>

#include "remindd.h"

#define PROGRAM "cpa-remindd"
#define MIN_WAIT_MS 1000	/* never wake more often than this when idle */
#define RECONNECT_MAX 30	/* seconds between connection attempts, at most */

/* --------------------------------------------------------------- settings */

/* Printable ASCII without spaces, after one of schemes, at least one
 * character, not starting with '/'. */
static int
url_valid(const char *v, const char *const *schemes)
{
	const char *p = NULL;
	size_t i;

	for (i = 0; schemes[i] != NULL; i++)
		if (strncmp(v, schemes[i], strlen(schemes[i])) == 0)
			p = v + strlen(schemes[i]);
	if (p == NULL || *p == '\0' || *p == '/')
		return 0;
	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return 0;
	return 1;
}

static int
smtp_url_ok(const char *v)
{
	static const char *const schemes[] = { "smtp://", "smtps://", NULL };

	return url_valid(v, schemes);
}

static int
base_url_ok(const char *v)
{
	static const char *const schemes[] = { "http://", "https://", NULL };

	return url_valid(v, schemes);
}

/* An address that can go in a header and an SMTP command as it is. */
static int
address_ok(const char *v)
{
	return cpa_email_valid(v) && strpbrk(v, "<>\"(),;\\ ") == NULL;
}

static const struct cpa_setting_rule smtp_url_rule =
    { smtp_url_ok, "smtp://host:port or smtps://host:port" };
static const struct cpa_setting_rule address_rule =
    { address_ok, "an email address" };
static const struct cpa_setting_rule base_url_rule =
    { base_url_ok, "http://host[:port][/path] or https://... without spaces" };

#define OFF(f) offsetof(struct remindd_conf, f)

static const struct cpa_setting settings[] = {
	{ "db_conninfo", CPA_SET_TEXT, OFF(db_conninfo), "dbname=cpa user=cpa_app",
	    0, 0, NULL },
	{ "db_statement_timeout_ms", CPA_SET_INT, OFF(db_statement_timeout_ms), "60000",
	    100, 3600000, NULL },
	{ "log_level", CPA_SET_LOG_LEVEL, OFF(log_level), "info", 0, 0, NULL },
	{ "smtp_url", CPA_SET_TEXT, OFF(smtp_url), "smtp://127.0.0.1:25", 0, 0,
	    &smtp_url_rule },
	{ "smtp_starttls", CPA_SET_BOOL, OFF(smtp_starttls), "0", 0, 1, NULL },
	{ "smtp_from", CPA_SET_TEXT, OFF(smtp_from), "cpa-suite@reminders.invalid", 0, 0,
	    &address_rule },
	{ "smtp_user", CPA_SET_TEXT, OFF(smtp_user), "", 0, 0, NULL },
	{ "smtp_password", CPA_SET_TEXT, OFF(smtp_password), "", 0, 0, NULL },
	{ "smtp_timeout_seconds", CPA_SET_INT, OFF(smtp_timeout_seconds), "30", 1, 600, NULL },
	{ "base_url", CPA_SET_TEXT, OFF(base_url), "http://127.0.0.1", 0, 0, &base_url_rule },
	{ "sweep_interval", CPA_SET_INT, OFF(sweep_interval), "60", 1, 86400, NULL },
	{ "batch_size", CPA_SET_INT, OFF(batch_size), "20000", 1, 1000000, NULL },
	{ "email_batch", CPA_SET_INT, OFF(email_batch), "50", 1, 10000, NULL },
	{ "lease_seconds", CPA_SET_INT, OFF(lease_seconds), "300", 2, 86400, NULL },
	{ "dashboard_refresh_interval", CPA_SET_INT, OFF(dashboard_refresh_interval), "300",
	    0, 86400, NULL },
};

/* Frees every string (wiped first) and zeroes c; safe to call twice. */
static void
remindd_conf_free(struct remindd_conf *c)
{
	cpa_settings_free(c, settings, CPA_NSETTINGS(settings));
	memset(c, 0, sizeof(*c));
}

/* Defaults, then path (may be NULL), then the environment, through the
 * shared loader; then the rules that tie settings together.  On failure c
 * is left zeroed with the reason in err. */
static int
remindd_conf_load(struct remindd_conf *c, const char *path, char *err, size_t errlen)
{
	size_t len;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = cpa_settings_load(c, settings, CPA_NSETTINGS(settings), path, err, errlen);
	if (rc != CPA_OK)
		goto out;
	/* Links are made as base_url + "/inbox". */
	len = strlen(c->base_url);
	while (len > 0 && c->base_url[len - 1] == '/')
		c->base_url[--len] = '\0';
	/* A message is started only while its claim has a whole SMTP timeout
	 * left, so the lease must be longer than one. */
	if (c->lease_seconds <= c->smtp_timeout_seconds) {
		snprintf(err, errlen, "lease_seconds (%d) must be greater than "
		    "smtp_timeout_seconds (%d)", c->lease_seconds, c->smtp_timeout_seconds);
		rc = CPA_EINPUT;
	}
out:
	if (rc != CPA_OK)
		remindd_conf_free(c);
	return rc;
}

/* ------------------------------------------------------------------ clock */

/* Real time, or a fixed start (--now) that then runs on with the
 * monotonic clock. */
static struct {
	int fixed;
	double start;			/* unix seconds at mono_start */
	double mono_start;
} clk;

static double
mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
clock_now(void)
{
	struct timespec ts;

	if (clk.fixed)
		return clk.start + (mono_seconds() - clk.mono_start);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* t as a timestamptz literal PostgreSQL reads whatever its TimeZone:
 * "2026-11-23 05:00:00.123456+00".  buf holds 40 bytes. */
static void
clock_text(double t, char buf[static 40])
{
	struct tm tm;
	time_t s = (time_t)t;		/* t > 0: truncation is floor */
	long us = (long)((t - (double)s) * 1e6 + 0.5);
	size_t n;

	if (us >= 1000000) {
		s++;
		us -= 1000000;
	}
	gmtime_r(&s, &tm);
	n = strftime(buf, 40, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf + n, 40 - n, ".%06ld+00", us);
}

/* n digits at s as a number in [min, max]. */
static int
digits(const char *s, int n, int min, int max, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return 0;
	*out = v;
	return 1;
}

/*
 * "YYYY-MM-DD HH:MM:SS" ('T' allowed for the space) followed by a zone:
 * "Z", "+HH", "+HH:MM" or "+HHMM" (or '-').  Sets *out to unix seconds.
 */
static int
clock_parse(const char *s, double *out)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, zh = 0, zm = 0, sign = 1;
	const char *z;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) < 19 || !digits(s, 4, 1970, 2199, &y) || s[4] != '-' ||
	    !digits(s + 5, 2, 1, 12, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, 1, 31, &d) || (s[10] != ' ' && s[10] != 'T') ||
	    !digits(s + 11, 2, 0, 23, &h) || s[13] != ':' ||
	    !digits(s + 14, 2, 0, 59, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, 0, 59, &sec))
		return 0;
	z = s + 19;
	if (strcmp(z, "Z") != 0) {
		if (*z != '+' && *z != '-')
			return 0;
		sign = *z == '-' ? -1 : 1;
		if (!digits(z + 1, 2, 0, 15, &zh))
			return 0;
		z += 3;
		if (*z == ':')
			z++;
		if (*z != '\0' && (!digits(z, 2, 0, 59, &zm) || z[2] != '\0'))
			return 0;
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm normalises 31 February into March: refuse such dates. */
	if (tm.tm_mday != d || tm.tm_mon != mo - 1)
		return 0;
	*out = (double)t - sign * (zh * 3600.0 + zm * 60.0);
	return 1;
}

/* ---------------------------------------------------------------- signals */

static volatile sig_atomic_t got_stop;
static volatile sig_atomic_t got_reload;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_reload = 1;
	else
		got_stop = 1;
}

/* ----------------------------------------------------------------- daemon */

/* The SQL the daemon runs: calls of 007's functions, prepared once per
 * connection.  claim formats the due time for the message in UK time and
 * counts the days from today (by the daemon's clock) to it. */
enum stmt_id { ST_SWEEP, ST_CLAIM, ST_RESULT, ST_WAKE, ST_TIMEOUT, ST_DASH };

static const struct cpa_stmt stmts[] = {
	[ST_SWEEP] = { "remindd_sweep", "SELECT remind_sweep($1, $2)", 2 },
	[ST_CLAIM] = { "remindd_claim",
	    "SELECT c.reminder_id, c.email, c.kind, c.escalation, c.step,"
	    " to_char(c.due_at AT TIME ZONE 'Europe/London', 'YYYY-MM-DD') AS due_date,"
	    " to_char(c.due_at AT TIME ZONE 'Europe/London', 'HH24:MI') AS due_time,"
	    " (c.due_at AT TIME ZONE 'Europe/London')::date"
	    "   - ($1::timestamptz AT TIME ZONE 'Europe/London')::date AS days"
	    " FROM remind_claim_email($1, $2, $3, make_interval(secs => $4)) c"
	    " ORDER BY c.reminder_id", 4 },
	[ST_RESULT] = { "remindd_result",
	    "SELECT remind_email_result($1, $2, $3, $4, $5)", 5 },
	[ST_WAKE] = { "remindd_wake",
	    "SELECT extract(epoch FROM remind_next_wake($1))::float8 AS next_wake", 1 },
	[ST_TIMEOUT] = { "remindd_timeout",
	    "SELECT set_config('statement_timeout', $1, false)", 1 },
	[ST_DASH] = { "remindd_dashboard",
	    "SELECT dash_refresh($1, make_interval(secs => $2))::text AS result", 2 },
};

#define NSTMTS (sizeof(stmts) / sizeof(stmts[0]))

struct daemon {
	struct remindd_conf conf;
	const char *config_path;	/* NULL: defaults and environment only */
	struct mailer *mailer;
	PGconn *db;			/* NULL while disconnected */
	char instance[300];		/* hostname:pid, names our email claims */
	int once;
	int reconnect_wait;		/* seconds before the next attempt */
};

/* Sleep up to ms, returning early on a signal.  Signals are blocked while
 * the flags are checked, so none is lost between the check and ppoll. */
static int
wait_fd(int fd, int ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	struct timespec ts;
	sigset_t block, orig;
	int n;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &orig);
	if (got_stop || got_reload) {
		sigprocmask(SIG_SETMASK, &orig, NULL);
		return 0;
	}
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	n = ppoll(&pfd, fd >= 0 ? 1 : 0, &ts, &orig);
	sigprocmask(SIG_SETMASK, &orig, NULL);
	return n > 0;
}

static void
db_close(struct daemon *d)
{
	if (d->db != NULL)
		PQfinish(d->db);
	d->db = NULL;
}

/* Lost or failed: whether the connection is gone (then it is closed). */
static int
db_lost(struct daemon *d)
{
	if (d->db != NULL && PQstatus(d->db) == CONNECTION_OK)
		return 0;
	cpa_log(CPA_LOG_WARN, "db_lost", "connection to PostgreSQL lost; reconnecting");
	db_close(d);
	return 1;
}

/* Run a prepared statement; NULL (logged) on failure.  The caller clears
 * the result. */
static PGresult *
db_run(struct daemon *d, enum stmt_id id, const char *const *params)
{
	PGresult *r;

	r = PQexecPrepared(d->db, stmts[id].name, stmts[id].nparams, params, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		return r;
	if (PQstatus(d->db) == CONNECTION_OK)
		cpa_log(CPA_LOG_ERROR, "db_error", "%s: %s", stmts[id].name,
		    PQresultErrorMessage(r));
	PQclear(r);
	return NULL;
}

/*
 * Connect, set the statement timeout, LISTEN cpa_due and prepare the
 * statements.  CPA_OK, or CPA_EUNAVAIL with nothing left open.
 */
static int
db_connect(struct daemon *d)
{
	const char *keys[] = { "dbname", "fallback_application_name", NULL };
	const char *vals[] = { d->conf.db_conninfo, PROGRAM, NULL };
	const char *params[1];
	char ms[32];
	PGresult *r = NULL;
	size_t i;
	int rc = CPA_EUNAVAIL;

	d->db = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(d->db) != CONNECTION_OK) {
		cpa_log(CPA_LOG_ERROR, "db_unavailable", "cannot connect: %s",
		    PQerrorMessage(d->db));
		goto out;
	}
	for (i = 0; i < NSTMTS; i++) {
		r = PQprepare(d->db, stmts[i].name, stmts[i].sql, stmts[i].nparams, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			cpa_log(CPA_LOG_ERROR, "db_error", "preparing %s: %s", stmts[i].name,
			    PQresultErrorMessage(r));
			goto out;
		}
		PQclear(r);
		r = NULL;
	}
	snprintf(ms, sizeof(ms), "%d", d->conf.db_statement_timeout_ms);
	params[0] = ms;
	if ((r = db_run(d, ST_TIMEOUT, params)) == NULL)
		goto out;
	PQclear(r);
	r = PQexec(d->db, "LISTEN cpa_due");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		cpa_log(CPA_LOG_ERROR, "db_error", "LISTEN cpa_due: %s", PQresultErrorMessage(r));
		goto out;
	}
	cpa_log(CPA_LOG_INFO, "db_connected", "connected; listening on cpa_due");
	d->reconnect_wait = 0;
	rc = CPA_OK;
out:
	PQclear(r);
	if (rc != CPA_OK)
		db_close(d);
	return rc;
}

/* Drop every notification libpq has read; whether there was one. */
static int
notifies_drain(struct daemon *d)
{
	PGnotify *n;
	int any = 0;

	while ((n = PQnotifies(d->db)) != NULL) {
		PQfreemem(n);
		any = 1;
	}
	return any;
}

/* remind_sweep until a call advances fewer items than a batch.  Returns
 * CPA_OK or CPA_ERR (the connection may be gone). */
static int
sweep(struct daemon *d)
{
	char now[40], limit[24];
	const char *params[2] = { now, limit };
	long long n, total = 0;
	PGresult *r;

	snprintf(limit, sizeof(limit), "%d", d->conf.batch_size);
	do {
		clock_text(clock_now(), now);
		if ((r = db_run(d, ST_SWEEP, params)) == NULL)
			return CPA_ERR;
		if (PQntuples(r) != 1 || cpa_parse_ll(PQgetvalue(r, 0, 0), 0,
		    d->conf.batch_size, &n) != CPA_OK) {
			cpa_log(CPA_LOG_ERROR, "db_error", "remind_sweep answered '%s'",
			    PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "no row");
			PQclear(r);
			return CPA_ERR;
		}
		PQclear(r);
		total += n;
	} while (n == d->conf.batch_size && !got_stop);
	cpa_log(total > 0 ? CPA_LOG_INFO : CPA_LOG_DEBUG, "sweep",
	    "%lld due items advanced at %s", total, now);
	return CPA_OK;
}

/* Report one message's outcome; CPA_ERR when the database failed. */
static int
email_report(struct daemon *d, long long id, int ok, const char *error)
{
	char sid[24], now[40];
	const char *params[5] = { sid, d->instance, ok ? "t" : "f", ok ? NULL : error, now };
	PGresult *r;

	snprintf(sid, sizeof(sid), "%lld", id);
	clock_text(clock_now(), now);
	if ((r = db_run(d, ST_RESULT, params)) == NULL)
		return CPA_ERR;
	if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 0), "t") != 0)
		cpa_log(CPA_LOG_WARN, "email_claim_lost", "reminder %lld: the claim had "
		    "ended before the outcome was reported (another instance may send "
		    "it again)", id);
	PQclear(r);
	return CPA_OK;
}

/*
 * One claimed batch: send and report each message.  A message is started
 * only while the claim still has a whole SMTP timeout to run, so no other
 * instance can take it over mid-send; what is left when that runs out, or
 * when a stop is asked for, waits for its lease to end.  *claimed is the
 * batch's size.  CPA_OK or CPA_ERR (database).
 */
static int
email_batch(struct daemon *d, int *claimed)
{
	char now[40], limit[24], lease[24], err[512];
	const char *params[4] = { now, d->instance, limit, lease };
	struct reminder_mail m;
	long long v;
	double claimed_at;
	PGresult *r;
	int i, n, rc = CPA_OK, sent = 0, failed = 0;

	*claimed = 0;
	snprintf(limit, sizeof(limit), "%d", d->conf.email_batch);
	snprintf(lease, sizeof(lease), "%d", d->conf.lease_seconds);
	clock_text(clock_now(), now);
	claimed_at = mono_seconds();
	if ((r = db_run(d, ST_CLAIM, params)) == NULL)
		return CPA_ERR;
	*claimed = n = PQntuples(r);
	for (i = 0; i < n; i++) {
		if (got_stop) {
			cpa_log(CPA_LOG_INFO, "email_left", "stopping: %d claimed messages "
			    "left for when their lease ends", n - i);
			break;
		}
		if (mono_seconds() - claimed_at + d->conf.smtp_timeout_seconds >=
		    d->conf.lease_seconds) {
			cpa_log(CPA_LOG_WARN, "email_lease_short", "%d claimed messages left "
			    "for when their lease ends: the relay is slow for lease_seconds %d",
			    n - i, d->conf.lease_seconds);
			break;
		}
		memset(&m, 0, sizeof(m));
		if (cpa_parse_ll(cpa_db_get(r, i, "reminder_id"), 1, LLONG_MAX, &m.id) != CPA_OK ||
		    cpa_parse_ll(cpa_db_get(r, i, "days"), -1000000, 1000000, &m.days) != CPA_OK ||
		    cpa_parse_ll(cpa_db_get(r, i, "step"), 0, 100, &v) != CPA_OK) {
			cpa_log(CPA_LOG_ERROR, "db_error", "remind_claim_email: malformed row");
			rc = CPA_ERR;
			break;
		}
		m.step = (int)v;
		m.to = cpa_db_get(r, i, "email");
		m.kind = cpa_db_get(r, i, "kind") != NULL ? cpa_db_get(r, i, "kind") : "";
		m.due_date = cpa_db_get(r, i, "due_date") != NULL ? cpa_db_get(r, i, "due_date") : "";
		m.due_time = cpa_db_get(r, i, "due_time") != NULL ? cpa_db_get(r, i, "due_time") : "";
		m.escalation = cpa_db_get(r, i, "escalation") != NULL &&
		    strcmp(cpa_db_get(r, i, "escalation"), "t") == 0;
		if (mailer_send(d->mailer, &m, err, sizeof(err)) == CPA_OK) {
			sent++;
			cpa_log(CPA_LOG_INFO, "email_sent", "reminder %lld sent (step %d)",
			    m.id, m.step);
			rc = email_report(d, m.id, 1, NULL);
		} else {
			failed++;
			cpa_log(CPA_LOG_WARN, "email_failed", "reminder %lld: %s", m.id, err);
			rc = email_report(d, m.id, 0, err);
		}
		if (rc != CPA_OK)
			break;
	}
	PQclear(r);
	if (n > 0)
		cpa_log(CPA_LOG_INFO, "email_batch", "%d claimed, %d sent, %d failed",
		    n, sent, failed);
	return rc;
}

/* The dashboard's summaries (sql/011_dashboard.sql), when the last refresh
 * is dashboard_refresh_interval old (0: never), or at once with --once;
 * never on a clock set by --now (figures are "as of" the real time).
 * dash_refresh decides and commits by itself; a failure is logged and the
 * reminders go on. */
static int
dashboard_refresh(struct daemon *d)
{
	char now[40], age[24];
	const char *params[2] = { now, age };
	PGresult *r;

	if (d->conf.dashboard_refresh_interval == 0 || clk.fixed)
		return CPA_OK;
	clock_text(clock_now(), now);
	snprintf(age, sizeof(age), "%d", d->once ? 0 : d->conf.dashboard_refresh_interval);
	if ((r = db_run(d, ST_DASH, params)) == NULL)
		return CPA_ERR;
	cpa_log(CPA_LOG_DEBUG, "dashboard", "%s", PQntuples(r) == 1 ?
	    cpa_db_get(r, 0, "result") : "?");
	PQclear(r);
	return CPA_OK;
}

/* One wake: the sweep, then the outbox until a claim comes back short,
 * then the dashboard's summaries when they are due. */
static int
wake(struct daemon *d)
{
	int claimed;

	notifies_drain(d);
	if (sweep(d) != CPA_OK)
		return CPA_ERR;
	do {
		if (email_batch(d, &claimed) != CPA_OK)
			return CPA_ERR;
	} while (claimed == d->conf.email_batch && !got_stop);
	return dashboard_refresh(d);
}

/* Milliseconds until the next wake: the earliest thing remind_next_wake
 * knows of, at most sweep_interval, at least MIN_WAIT_MS (an item another
 * instance holds is due "now" until it lets go).  -1: database failure. */
static long
next_wait_ms(struct daemon *d)
{
	char now[40];
	const char *params[1] = { now };
	long ms = (long)d->conf.sweep_interval * 1000;
	double t = clock_now(), next;
	const char *v;
	char *end;
	PGresult *r;

	clock_text(t, now);
	if ((r = db_run(d, ST_WAKE, params)) == NULL)
		return -1;
	if (PQntuples(r) == 1 && (v = cpa_db_get(r, 0, "next_wake")) != NULL) {
		errno = 0;
		next = strtod(v, &end);
		if (errno == 0 && *end == '\0' && end != v && next - t < ms / 1000.0)
			ms = next <= t ? 0 : (long)((next - t) * 1000.0) + 1;
	}
	PQclear(r);
	return ms < MIN_WAIT_MS ? MIN_WAIT_MS : ms;
}

/*
 * Sleep until a cpa_due notification, ms milliseconds, or a signal.
 * Notifications read while a wake ran count too.  CPA_OK, or CPA_ERR when
 * the connection failed.
 */
static int
wait_work(struct daemon *d, long ms)
{
	double until = mono_seconds() + ms / 1000.0, left;

	for (;;) {
		if (PQconsumeInput(d->db) == 0)
			return CPA_ERR;
		if (notifies_drain(d)) {
			cpa_log(CPA_LOG_DEBUG, "notified", "cpa_due");
			return CPA_OK;
		}
		left = until - mono_seconds();
		if (left <= 0 || got_stop || got_reload)
			return CPA_OK;
		wait_fd(PQsocket(d->db), (int)(left * 1000.0) + 1);
	}
}

static int
reload(struct daemon *d)
{
	struct remindd_conf c;
	struct mailer *m;
	enum cpa_log_level lvl = CPA_LOG_INFO;
	char err[512];

	got_reload = 0;
	if (remindd_conf_load(&c, d->config_path, err, sizeof(err)) != CPA_OK) {
		cpa_log(CPA_LOG_ERROR, "reload_failed", "keeping the settings in use: %s", err);
		return CPA_ERR;
	}
	if ((m = mailer_new(&c)) == NULL) {
		cpa_log(CPA_LOG_ERROR, "reload_failed", "cannot set up libcurl");
		remindd_conf_free(&c);
		return CPA_ERR;
	}
	mailer_free(d->mailer);
	remindd_conf_free(&d->conf);
	d->conf = c;
	d->mailer = m;
	cpa_log_level_parse(d->conf.log_level, &lvl);
	cpa_log_init(PROGRAM, lvl);
	db_close(d);
	cpa_log(CPA_LOG_INFO, "reloaded", "settings re-read; reconnecting");
	return CPA_OK;
}

/* The daemon's loop; returns the exit status. */
static int
run(struct daemon *d)
{
	long ms;

	while (!got_stop) {
		if (got_reload)
			reload(d);
		if (d->db == NULL && db_connect(d) != CPA_OK) {
			if (d->once)
				return 1;
			d->reconnect_wait = d->reconnect_wait == 0 ? 1 :
			    d->reconnect_wait * 2 > RECONNECT_MAX ? RECONNECT_MAX :
			    d->reconnect_wait * 2;
			cpa_log(CPA_LOG_INFO, "db_retry", "next attempt in %d s",
			    d->reconnect_wait);
			wait_fd(-1, d->reconnect_wait * 1000);
			continue;
		}
		if (wake(d) != CPA_OK) {
			if (d->once)
				return 1;
			if (!db_lost(d))
				wait_fd(-1, d->conf.sweep_interval * 1000);
			continue;
		}
		if (d->once)
			return 0;
		if ((ms = next_wait_ms(d)) < 0 || wait_work(d, ms) != CPA_OK) {
			if (!db_lost(d))
				wait_fd(-1, d->conf.sweep_interval * 1000);
		}
	}
	return 0;
}

static void
usage(FILE *f)
{
	fputs("usage: " PROGRAM " [--config FILE] [--once] [--now 'YYYY-MM-DD HH:MM:SS+00']\n"
	    "  --config FILE  settings (key = value); CPA_<KEY> environment variables win\n"
	    "  --once         one wake (sweep, then the email outbox), then exit\n"
	    "  --now TIME     the clock starts at TIME instead of the real time (tests)\n",
	    f);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'o' },
		{ "now", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct daemon d;
	struct sigaction sa;
	enum cpa_log_level lvl = CPA_LOG_INFO;
	char host[256], err[512];
	int ch, ex = 2;

	memset(&d, 0, sizeof(d));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'c')
			d.config_path = optarg;
		else if (ch == 'o')
			d.once = 1;
		else if (ch == 'n') {
			if (!clock_parse(optarg, &clk.start)) {
				fprintf(stderr, PROGRAM ": --now: expected 'YYYY-MM-DD "
				    "HH:MM:SS+00' (a zone is required)\n");
				return 2;
			}
			clk.fixed = 1;
			clk.mono_start = mono_seconds();
		} else {
			usage(ch == 'h' ? stdout : stderr);
			return ch == 'h' ? 0 : 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (remindd_conf_load(&d.conf, d.config_path, err, sizeof(err)) != CPA_OK) {
		fprintf(stderr, PROGRAM ": %s\n", err);
		return 2;
	}
	cpa_log_level_parse(d.conf.log_level, &lvl);
	cpa_log_init(PROGRAM, lvl);
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(d.instance, sizeof(d.instance), "%.200s:%ld", host, (long)getpid());

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, PROGRAM ": cannot initialise libcurl\n");
		goto out;
	}
	if ((d.mailer = mailer_new(&d.conf)) == NULL) {
		fprintf(stderr, PROGRAM ": cannot set up libcurl\n");
		ex = 1;
		goto out_curl;
	}
	cpa_log(CPA_LOG_INFO, "start", "instance %s%s%s", d.instance,
	    d.once ? ", one wake" : "", clk.fixed ? ", clock set by --now" : "");
	ex = run(&d);
	cpa_log(CPA_LOG_INFO, "stop", "exiting with status %d", ex);
	db_close(&d);
	mailer_free(d.mailer);
out_curl:
	curl_global_cleanup();
out:
	remindd_conf_free(&d.conf);
	return ex;
}

