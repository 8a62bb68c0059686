/*
 * test_config.c - settings (config.c) and structured logging (log.c):
 * the generic loader over a table of the test's own (defaults, file then
 * environment, rules, bounds, bools, freeing) and the workers' table behind
 * cpa_config_load (defaults, file syntax, environment overrides, errors
 * naming the file line or the variable, bounds); log lines as single
 * escaped JSON objects.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpa.h"

static const char *const env_names[] = {
	"CPA_LISTEN", "CPA_WORKERS", "CPA_DB_CONNINFO", "CPA_DB_STATEMENT_TIMEOUT_MS",
	"CPA_REDIS_HOST", "CPA_REDIS_PORT", "CPA_REDIS_SOCKET", "CPA_REDIS_TIMEOUT_MS",
	"CPA_SESSION_IDLE_SECONDS", "CPA_SESSION_ABSOLUTE_SECONDS", "CPA_COOKIE_SECURE",
	"CPA_ORIGIN", "CPA_TEMPLATE_DIR", "CPA_MAX_BODY_BYTES",
	"CPA_LOGIN_MAX_FAILURES_USER", "CPA_LOGIN_MAX_FAILURES_ADDR",
	"CPA_LOGIN_WINDOW_SECONDS", "CPA_LOG_LEVEL",
	"CPA_DEMO_NAME", "CPA_DEMO_COUNT", "CPA_DEMO_FLAG", "CPA_DEMO_LEVEL",
	"CPA_DEMO_COLOUR", "CPA_DEMO_NOTE", "CPA_DEMO_LISTEN", NULL
};

/* Tests run in an environment that may itself set CPA_* (./dev test). */
static int
clear_env(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; env_names[i] != NULL; i++)
		unsetenv(env_names[i]);
	return 0;
}

/* Writes text to a new temporary file; the caller unlinks and frees the path. */
static char *
write_file(const char *text)
{
	char *path = strdup("/tmp/cpa-test-config-XXXXXX");
	size_t len = strlen(text);
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

/* Load text as a config file; returns the result code, err filled. */
static int
load_text(struct cpa_config *c, const char *text, char *err, size_t errlen,
    char **pathp)
{
	char *path = write_file(text);
	int rc;

	rc = cpa_config_load(c, path, err, errlen);
	unlink(path);
	if (pathp != NULL)
		*pathp = path;
	else
		free(path);
	return rc;
}

/* ------------------------------------------- the generic loader, own table */

/* A program's settings as cpa_settings_load sees them; other is no setting
 * and must come through every call untouched. */
struct demo {
	char *name;
	int count;
	int flag;
	char *level;
	char *colour;
	char *note;
	char *listen;
	int other;
};

static int
colour_ok(const char *v)
{
	return strcmp(v, "red") == 0 || strcmp(v, "green") == 0;
}

static const struct cpa_setting_rule colour_rule = { colour_ok, "red or green" };

#define DOFF(f) offsetof(struct demo, f)

static const struct cpa_setting demo_table[] = {
	{ "demo_name", CPA_SET_TEXT, DOFF(name), "anon", 0, 0, NULL },
	{ "demo_count", CPA_SET_INT, DOFF(count), "10", -5, 100, NULL },
	{ "demo_flag", CPA_SET_BOOL, DOFF(flag), "1", 0, 1, NULL },
	{ "demo_level", CPA_SET_LOG_LEVEL, DOFF(level), "warn", 0, 0, NULL },
	{ "demo_colour", CPA_SET_TEXT, DOFF(colour), "red", 0, 0, &colour_rule },
	{ "demo_note", CPA_SET_TEXT, DOFF(note), NULL, 0, 0, NULL },
	{ "demo_listen", CPA_SET_LISTEN, DOFF(listen), "", 0, 0, NULL },
};

#define NDEMO CPA_NSETTINGS(demo_table)

/* Load text (NULL: no file) into d through demo_table; *pathp as in load_text. */
static int
demo_load(struct demo *d, const char *text, char *err, size_t errlen, char **pathp)
{
	char *path = text != NULL ? write_file(text) : NULL;
	int rc;

	rc = cpa_settings_load(d, demo_table, NDEMO, path, err, errlen);
	if (path != NULL)
		unlink(path);
	if (pathp != NULL)
		*pathp = path;
	else
		free(path);
	return rc;
}

static void
assert_demo_zero(const struct demo *d)
{
	assert_null(d->name);
	assert_int_equal(d->count, 0);
	assert_int_equal(d->flag, 0);
	assert_null(d->level);
	assert_null(d->colour);
	assert_null(d->note);
	assert_null(d->listen);
}

static void
test_generic_defaults(void **state)
{
	struct demo d;
	char err[256];

	(void)state;
	memset(&d, 0xa5, sizeof(d));	/* the slots are set whatever they held */
	d.other = 77;
	strcpy(err, "stale");
	assert_int_equal(demo_load(&d, NULL, err, sizeof(err), NULL), CPA_OK);
	assert_string_equal(err, "");
	assert_string_equal(d.name, "anon");
	assert_int_equal(d.count, 10);
	assert_int_equal(d.flag, 1);
	assert_string_equal(d.level, "warn");
	assert_string_equal(d.colour, "red");
	assert_string_equal(d.note, "");	/* a NULL default reads as "" */
	assert_string_equal(d.listen, "");
	assert_int_equal(d.other, 77);
	cpa_settings_free(&d, demo_table, NDEMO);
	assert_demo_zero(&d);
	assert_int_equal(d.other, 77);
	cpa_settings_free(&d, demo_table, NDEMO);
	assert_demo_zero(&d);
	cpa_settings_free(NULL, demo_table, NDEMO);
}

static void
test_generic_precedence(void **state)
{
	struct demo d;
	char err[256];

	(void)state;
	/* The file over the defaults. */
	assert_int_equal(demo_load(&d,
	    "# demo\n"
	    "demo_name = \"from file\"\n"
	    "  demo_count=-5\n"
	    "demo_flag = 0\n"
	    "demo_colour = green\n"
	    "demo_note = a # is no comment here\n", err, sizeof(err), NULL), CPA_OK);
	assert_string_equal(d.name, "from file");
	assert_int_equal(d.count, -5);
	assert_int_equal(d.flag, 0);
	assert_string_equal(d.colour, "green");
	assert_string_equal(d.note, "a # is no comment here");
	assert_string_equal(d.level, "warn");
	cpa_settings_free(&d, demo_table, NDEMO);

	/* The environment over the file, setting by setting. */
	setenv("CPA_DEMO_COUNT", "100", 1);
	setenv("CPA_DEMO_NOTE", "", 1);
	setenv("CPA_DEMO_LISTEN", "127.0.0.1:9000", 1);
	assert_int_equal(demo_load(&d, "demo_count = 7\ndemo_note = x\ndemo_name = f\n",
	    err, sizeof(err), NULL), CPA_OK);
	assert_int_equal(d.count, 100);
	assert_string_equal(d.note, "");
	assert_string_equal(d.listen, "127.0.0.1:9000");
	assert_string_equal(d.name, "f");
	cpa_settings_free(&d, demo_table, NDEMO);

	/* The environment over the defaults, with no file. */
	assert_int_equal(demo_load(&d, NULL, err, sizeof(err), NULL), CPA_OK);
	assert_int_equal(d.count, 100);
	assert_string_equal(d.name, "anon");
	cpa_settings_free(&d, demo_table, NDEMO);
	clear_env(NULL);
}

static void
test_generic_file_errors(void **state)
{
	struct demo d;
	char err[256], want[400];
	char *path;

	(void)state;
	d.other = 5;
	assert_int_equal(demo_load(&d, "demo_name = x\n\ndemo_nam = y\n",
	    err, sizeof(err), &path), CPA_EINPUT);
	snprintf(want, sizeof(want), "%s:3: unknown setting 'demo_nam'", path);
	assert_string_equal(err, want);
	/* What the file set before the bad line is freed, not kept. */
	assert_demo_zero(&d);
	assert_int_equal(d.other, 5);
	free(path);

	/* A key of another program's table is unknown here. */
	assert_int_equal(demo_load(&d, "workers = 4\n", err, sizeof(err), &path),
	    CPA_EINPUT);
	snprintf(want, sizeof(want), "%s:1: unknown setting 'workers'", path);
	assert_string_equal(err, want);
	free(path);

	assert_int_equal(demo_load(&d, "demo_flag = 1\n#\ndemo_flag = 1\n",
	    err, sizeof(err), &path), CPA_EINPUT);
	snprintf(want, sizeof(want), "%s:3: demo_flag is already set on line 1", path);
	assert_string_equal(err, want);
	free(path);

	assert_int_equal(demo_load(&d, "demo_flag\n", err, sizeof(err), &path), CPA_EINPUT);
	snprintf(want, sizeof(want), "%s:1: expected 'key = value'", path);
	assert_string_equal(err, want);
	free(path);

	assert_int_equal(cpa_settings_load(&d, demo_table, NDEMO, "/nonexistent/demo.conf",
	    err, sizeof(err)), CPA_EINPUT);
	assert_string_equal(err, "/nonexistent/demo.conf: No such file or directory");
	assert_demo_zero(&d);
}

struct demo_case {
	const char *text;
	const char *why;	/* NULL: accepted; else the message after "path:1: " */
};

static void
test_generic_values(void **state)
{
	static const struct demo_case cases[] = {
		{ "demo_count = -5\n", NULL },
		{ "demo_count = 100\n", NULL },
		{ "demo_count = -6\n", "demo_count must be a whole number from -5 to 100" },
		{ "demo_count = 101\n", "demo_count must be a whole number from -5 to 100" },
		{ "demo_count = 1e2\n", "demo_count must be a whole number from -5 to 100" },
		{ "demo_count = \n", "demo_count must be a whole number from -5 to 100" },
		{ "demo_flag = 0\n", NULL },
		{ "demo_flag = \"1\"\n", NULL },
		{ "demo_flag = 2\n", "demo_flag must be 0 or 1" },
		{ "demo_flag = -1\n", "demo_flag must be 0 or 1" },
		{ "demo_flag = true\n", "demo_flag must be 0 or 1" },
		{ "demo_flag = yes\n", "demo_flag must be 0 or 1" },
		{ "demo_level = debug\n", NULL },
		{ "demo_level = Debug\n", "demo_level must be one of debug, info, warn, error" },
		{ "demo_colour = green\n", NULL },
		{ "demo_colour = blue\n", "demo_colour must be red or green" },
		{ "demo_listen = unix:/run/demo.sock\n", NULL },
		{ "demo_listen = localhost\n",
		  "demo_listen must be unix:/absolute/path or host:port" },
		{ "demo_name = a\x01z\n", "demo_name must be text of at most 4096 characters "
		  "without control characters" },
	};
	struct demo d;
	char err[256], want[400];
	char *path;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = demo_load(&d, cases[i].text, err, sizeof(err), &path);
		if (cases[i].why == NULL) {
			if (rc != CPA_OK)
				fail_msg("%s: refused (%s)", cases[i].text, err);
		} else {
			snprintf(want, sizeof(want), "%s:1: %s", path, cases[i].why);
			if (rc != CPA_EINPUT || strcmp(err, want) != 0)
				fail_msg("%s: got %d (%s)", cases[i].text, rc, err);
			assert_demo_zero(&d);
		}
		cpa_settings_free(&d, demo_table, NDEMO);
		free(path);
	}
}

static void
test_generic_text_limit(void **state)
{
	char value[CPA_SETTING_TEXT_MAX + 2];
	struct demo d;
	char err[256];

	(void)state;
	memset(value, 'x', CPA_SETTING_TEXT_MAX);
	value[CPA_SETTING_TEXT_MAX] = '\0';
	setenv("CPA_DEMO_NAME", value, 1);
	assert_int_equal(demo_load(&d, NULL, err, sizeof(err), NULL), CPA_OK);
	assert_int_equal(strlen(d.name), CPA_SETTING_TEXT_MAX);
	cpa_settings_free(&d, demo_table, NDEMO);

	value[CPA_SETTING_TEXT_MAX] = 'x';
	value[CPA_SETTING_TEXT_MAX + 1] = '\0';
	setenv("CPA_DEMO_NAME", value, 1);
	assert_int_equal(demo_load(&d, NULL, err, sizeof(err), NULL), CPA_EINPUT);
	assert_string_equal(err, "CPA_DEMO_NAME: demo_name must be text of at most 4096 "
	    "characters without control characters");
	assert_demo_zero(&d);

	/* The environment goes through the same rules as the file. */
	setenv("CPA_DEMO_NAME", "ok", 1);
	setenv("CPA_DEMO_COLOUR", "blue", 1);
	assert_int_equal(demo_load(&d, "demo_colour = green\n", err, sizeof(err), NULL),
	    CPA_EINPUT);
	assert_string_equal(err, "CPA_DEMO_COLOUR: demo_colour must be red or green");
	assert_demo_zero(&d);
	clear_env(NULL);
}

/* A table whose own default breaks its rules is refused before any file. */
static void
test_generic_bad_table(void **state)
{
	static const struct cpa_setting bad_default[] = {
		{ "demo_name", CPA_SET_TEXT, DOFF(name), "anon", 0, 0, NULL },
		{ "demo_count", CPA_SET_INT, DOFF(count), "500", 1, 100, NULL },
	};
	static const struct cpa_setting bad_rule_default[] = {
		{ "demo_colour", CPA_SET_TEXT, DOFF(colour), "blue", 0, 0, &colour_rule },
	};
	static const struct cpa_setting too_wide[] = {
		{ "demo_count", CPA_SET_INT, DOFF(count), "1", 0, 1LL << 40, NULL },
	};
	struct demo d;
	char err[256];

	(void)state;
	memset(&d, 0, sizeof(d));
	assert_int_equal(cpa_settings_load(&d, bad_default, CPA_NSETTINGS(bad_default),
	    "/nonexistent/demo.conf", err, sizeof(err)), CPA_EINPUT);
	assert_string_equal(err, "built-in default: demo_count must be a whole number "
	    "from 1 to 100");
	assert_null(d.name);
	assert_int_equal(cpa_settings_load(&d, bad_rule_default,
	    CPA_NSETTINGS(bad_rule_default), NULL, err, sizeof(err)), CPA_EINPUT);
	assert_string_equal(err, "built-in default: demo_colour must be red or green");
	assert_int_equal(cpa_settings_load(&d, too_wide, CPA_NSETTINGS(too_wide), NULL,
	    err, sizeof(err)), CPA_EINPUT);
	assert_string_equal(err, "built-in default: demo_count has bounds beyond an int");
}

/* ---------------------------------------------------------- the workers' table */

static void
test_defaults(void **state)
{
	struct cpa_config c;
	char err[256];

	(void)state;
	assert_int_equal(cpa_config_load(&c, NULL, err, sizeof(err)), CPA_OK);
	assert_string_equal(c.listen, "");
	assert_int_equal(c.workers, 4);
	assert_string_equal(c.db_conninfo, "dbname=cpa user=cpa_app");
	assert_int_equal(c.db_statement_timeout_ms, 5000);
	assert_string_equal(c.redis_host, "127.0.0.1");
	assert_int_equal(c.redis_port, 6379);
	assert_string_equal(c.redis_socket, "");
	assert_int_equal(c.redis_timeout_ms, 1000);
	assert_int_equal(c.session_idle_seconds, 1800);
	assert_int_equal(c.session_absolute_seconds, 43200);
	assert_int_equal(c.cookie_secure, 1);
	assert_string_equal(c.origin, "");
	assert_string_equal(c.template_dir, CPA_DEFAULT_TEMPLATE_DIR);
	assert_int_equal(c.max_body_bytes, 1048576);
	assert_int_equal(c.login_max_failures_user, 5);
	assert_int_equal(c.login_max_failures_addr, 20);
	assert_int_equal(c.login_window_seconds, 900);
	assert_string_equal(c.log_level, "info");
	cpa_config_free(&c);
	assert_null(c.listen);
	cpa_config_free(&c);
}

static void
test_file(void **state)
{
	struct cpa_config c;
	char err[256];

	(void)state;
	assert_int_equal(load_text(&c,
	    "# cpa-auth settings\n"
	    "\n"
	    "   # indented comment\n"
	    "listen = unix:/run/cpa/auth.sock\n"
	    "workers=8\n"
	    "\tdb_conninfo   =   host=/tmp/pg port=55432 dbname=cpa user=cpa_app password=a#b  \n"
	    "redis_port = 6380\r\n"
	    "cookie_secure = 0\n"
	    "origin = \"\"\n"
	    "redis_socket = \"/run/redis/redis.sock\"\n"
	    "log_level = debug\n"
	    "session_idle_seconds = 2\n"
	    "session_absolute_seconds = 6", err, sizeof(err), NULL), CPA_OK);
	assert_string_equal(err, "");
	assert_string_equal(c.listen, "unix:/run/cpa/auth.sock");
	assert_int_equal(c.workers, 8);
	assert_string_equal(c.db_conninfo,
	    "host=/tmp/pg port=55432 dbname=cpa user=cpa_app password=a#b");
	assert_int_equal(c.redis_port, 6380);
	assert_int_equal(c.cookie_secure, 0);
	assert_string_equal(c.origin, "");
	assert_string_equal(c.redis_socket, "/run/redis/redis.sock");
	assert_string_equal(c.log_level, "debug");
	assert_int_equal(c.session_idle_seconds, 2);
	assert_int_equal(c.session_absolute_seconds, 6);
	/* Untouched settings keep their defaults. */
	assert_int_equal(c.max_body_bytes, 1048576);
	assert_string_equal(c.redis_host, "127.0.0.1");
	cpa_config_free(&c);
}

static void
test_env_override(void **state)
{
	struct cpa_config c;
	char err[256];

	(void)state;
	setenv("CPA_WORKERS", "3", 1);
	setenv("CPA_ORIGIN", "http://127.0.0.1:8080", 1);
	setenv("CPA_LISTEN", "127.0.0.1:9001", 1);
	assert_int_equal(load_text(&c, "workers = 8\nlisten = unix:/tmp/x.sock\n",
	    err, sizeof(err), NULL), CPA_OK);
	assert_int_equal(c.workers, 3);
	assert_string_equal(c.origin, "http://127.0.0.1:8080");
	assert_string_equal(c.listen, "127.0.0.1:9001");
	cpa_config_free(&c);

	/* The environment alone, with no file. */
	setenv("CPA_COOKIE_SECURE", "0", 1);
	assert_int_equal(cpa_config_load(&c, NULL, err, sizeof(err)), CPA_OK);
	assert_int_equal(c.cookie_secure, 0);
	assert_int_equal(c.workers, 3);
	cpa_config_free(&c);
	clear_env(NULL);
}

static void
test_env_bad_value(void **state)
{
	struct cpa_config c;
	char err[256];

	(void)state;
	setenv("CPA_WORKERS", "many", 1);
	assert_int_equal(cpa_config_load(&c, NULL, err, sizeof(err)), CPA_EINPUT);
	assert_string_equal(err, "CPA_WORKERS: workers must be a whole number from 1 to 256");
	assert_null(c.db_conninfo);
	cpa_config_free(&c);

	setenv("CPA_WORKERS", "2", 1);
	setenv("CPA_LOG_LEVEL", "loud", 1);
	assert_int_equal(cpa_config_load(&c, NULL, err, sizeof(err)), CPA_EINPUT);
	assert_string_equal(err, "CPA_LOG_LEVEL: log_level must be one of debug, info, warn, error");

	setenv("CPA_LOG_LEVEL", "warn", 1);
	setenv("CPA_ORIGIN", "http://a\nb", 1);
	assert_int_equal(cpa_config_load(&c, NULL, err, sizeof(err)), CPA_EINPUT);
	assert_non_null(strstr(err, "CPA_ORIGIN: origin must be text"));
	clear_env(NULL);
}

static void
test_unknown_key(void **state)
{
	struct cpa_config c;
	char err[256], want[300];
	char *path;

	(void)state;
	assert_int_equal(load_text(&c, "workers = 2\n# fine\nworkerz = 3\n",
	    err, sizeof(err), &path), CPA_EINPUT);
	snprintf(want, sizeof(want), "%s:3: unknown setting 'workerz'", path);
	assert_string_equal(err, want);
	/* A failed load leaves nothing allocated. */
	assert_null(c.db_conninfo);
	assert_int_equal(c.workers, 0);
	cpa_config_free(&c);
	free(path);
}

static void
test_bad_number(void **state)
{
	struct cpa_config c;
	char err[256], want[300];
	char *path;

	(void)state;
	assert_int_equal(load_text(&c, "\nworkers = four\n", err, sizeof(err), &path),
	    CPA_EINPUT);
	snprintf(want, sizeof(want), "%s:2: workers must be a whole number from 1 to 256", path);
	assert_string_equal(err, want);
	free(path);

	/* Signs, spaces inside, hex and trailing junk are not whole numbers. */
	assert_int_equal(load_text(&c, "workers = -4\n", err, sizeof(err), NULL), CPA_EINPUT);
	assert_int_equal(load_text(&c, "workers = +4\n", err, sizeof(err), NULL), CPA_EINPUT);
	assert_int_equal(load_text(&c, "workers = 4 4\n", err, sizeof(err), NULL), CPA_EINPUT);
	assert_int_equal(load_text(&c, "workers = 0x4\n", err, sizeof(err), NULL), CPA_EINPUT);
	assert_int_equal(load_text(&c, "workers = 4k\n", err, sizeof(err), NULL), CPA_EINPUT);
	assert_int_equal(load_text(&c, "workers =\n", err, sizeof(err), NULL), CPA_EINPUT);
	assert_int_equal(load_text(&c, "workers = 99999999999999999999999\n",
	    err, sizeof(err), NULL), CPA_EINPUT);
}

struct bound_case {
	const char *text;
	int rc;
};

static void
test_bounds(void **state)
{
	static const struct bound_case cases[] = {
		{ "workers = 0\n", CPA_EINPUT },
		{ "workers = 1\n", CPA_OK },
		{ "workers = 256\n", CPA_OK },
		{ "workers = 257\n", CPA_EINPUT },
		{ "redis_port = 0\n", CPA_EINPUT },
		{ "redis_port = 65535\n", CPA_OK },
		{ "redis_port = 65536\n", CPA_EINPUT },
		{ "cookie_secure = 1\n", CPA_OK },
		{ "cookie_secure = 2\n", CPA_EINPUT },
		{ "cookie_secure = yes\n", CPA_EINPUT },
		{ "max_body_bytes = 1023\n", CPA_EINPUT },
		{ "max_body_bytes = 67108864\n", CPA_OK },
		{ "max_body_bytes = 67108865\n", CPA_EINPUT },
		{ "session_idle_seconds = 0\n", CPA_EINPUT },
		{ "db_statement_timeout_ms = 99\n", CPA_EINPUT },
		{ "login_window_seconds = 86400\n", CPA_OK },
		{ "login_window_seconds = 86401\n", CPA_EINPUT },
		{ "log_level = error\n", CPA_OK },
		{ "log_level = INFO\n", CPA_EINPUT },
		{ "listen = 127.0.0.1:8080\n", CPA_OK },
		{ "listen = 127.0.0.1:0\n", CPA_EINPUT },
		{ "listen = 127.0.0.1\n", CPA_EINPUT },
		{ "listen = unix:relative.sock\n", CPA_EINPUT },
		{ "listen = unix:/tmp/a-very-long-name-that-goes-on-and-on-and-on-and-on-"
		  "and-on-and-on-and-on-and-on-and-on-and-on-and-on.sock\n", CPA_EINPUT },
	};
	struct cpa_config c;
	char err[256];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = load_text(&c, cases[i].text, err, sizeof(err), NULL);
		if (rc != cases[i].rc)
			fail_msg("%s: got %d (%s)", cases[i].text, rc, err);
		cpa_config_free(&c);
	}
	assert_int_equal(load_text(&c, "cookie_secure = 7\n", err, sizeof(err), NULL), CPA_EINPUT);
	assert_non_null(strstr(err, ": cookie_secure must be 0 or 1"));
}

static void
test_syntax_errors(void **state)
{
	struct cpa_config c;
	char err[256];

	(void)state;
	assert_int_equal(load_text(&c, "workers 4\n", err, sizeof(err), NULL), CPA_EINPUT);
	assert_non_null(strstr(err, ":1: expected 'key = value'"));
	assert_int_equal(load_text(&c, "workers = 4\nworkers = 5\n", err, sizeof(err), NULL),
	    CPA_EINPUT);
	assert_non_null(strstr(err, ":2: workers is already set on line 1"));
	assert_int_equal(cpa_config_load(&c, "/nonexistent/cpa.conf", err, sizeof(err)),
	    CPA_EINPUT);
	assert_string_equal(err, "/nonexistent/cpa.conf: No such file or directory");
}

/* Run cpa_log with stderr sent to a pipe; returns what was written. */
static char *
capture_log(enum cpa_log_level lvl, const char *event, const char *msg)
{
	static char buf[8192];
	int fds[2], saved;
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
	close(fds[1]);
	cpa_log(lvl, event, "%s", msg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void
test_log(void **state)
{
	enum cpa_log_level lvl = CPA_LOG_DEBUG;
	json_error_t jerr;
	json_t *o;
	char *line, *nl;
	char longmsg[6000];

	(void)state;
	assert_int_equal(cpa_log_level_parse("warn", &lvl), CPA_OK);
	assert_int_equal(lvl, CPA_LOG_WARN);
	assert_int_equal(cpa_log_level_parse("verbose", &lvl), CPA_EINPUT);

	cpa_log_init("cpa-test", CPA_LOG_INFO);
	assert_string_equal(capture_log(CPA_LOG_DEBUG, "dropped", "below the minimum"), "");

	/* A forged second line stays inside one escaped JSON string. */
	line = capture_log(CPA_LOG_WARN, "signin_failed",
	    "user x\n{\"level\":\"error\"}\x1b[31m caf\xc3\xa9");
	nl = strchr(line, '\n');
	assert_non_null(nl);
	assert_string_equal(nl + 1, "");
	assert_null(strstr(line, "\x1b"));
	o = json_loadb(line, (size_t)(nl - line), 0, &jerr);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "level")), "warn");
	assert_string_equal(json_string_value(json_object_get(o, "program")), "cpa-test");
	assert_string_equal(json_string_value(json_object_get(o, "event")), "signin_failed");
	assert_string_equal(json_string_value(json_object_get(o, "msg")),
	    "user x\n{\"level\":\"error\"}\x1b[31m caf\xc3\xa9");
	assert_int_equal(json_integer_value(json_object_get(o, "pid")), getpid());
	assert_int_equal(strlen(json_string_value(json_object_get(o, "ts"))),
	    strlen("2026-11-23T05:00:00.123Z"));
	assert_non_null(strcasestr(line, "caf\\u00e9"));
	json_decref(o);

	/* Invalid UTF-8 still gives a line, with the bad bytes replaced. */
	line = capture_log(CPA_LOG_ERROR, "x", "bad \xff\xfe end");
	o = json_loads(line, 0, &jerr);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "msg")), "bad ?? end");
	json_decref(o);

	/* A long message is cut, and the line is still one JSON object. */
	memset(longmsg, 'a', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	line = capture_log(CPA_LOG_INFO, "long", longmsg);
	o = json_loads(line, 0, &jerr);
	assert_non_null(o);
	assert_true(strlen(json_string_value(json_object_get(o, "msg"))) < sizeof(longmsg) - 1);
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_generic_defaults, clear_env),
		cmocka_unit_test_setup(test_generic_precedence, clear_env),
		cmocka_unit_test_setup(test_generic_file_errors, clear_env),
		cmocka_unit_test_setup(test_generic_values, clear_env),
		cmocka_unit_test_setup(test_generic_text_limit, clear_env),
		cmocka_unit_test_setup(test_generic_bad_table, clear_env),
		cmocka_unit_test_setup(test_defaults, clear_env),
		cmocka_unit_test_setup(test_file, clear_env),
		cmocka_unit_test_setup(test_env_override, clear_env),
		cmocka_unit_test_setup(test_env_bad_value, clear_env),
		cmocka_unit_test_setup(test_unknown_key, clear_env),
		cmocka_unit_test_setup(test_bad_number, clear_env),
		cmocka_unit_test_setup(test_bounds, clear_env),
		cmocka_unit_test_setup(test_syntax_errors, clear_env),
		cmocka_unit_test(test_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
