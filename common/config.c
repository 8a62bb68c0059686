/*
 * config.c - worker settings.  Each setting is declared once in the table
 * below with its type, default and bounds.  Values come from the defaults,
 * then the config file ("key = value" lines, '#' comment lines, blank
 * lines), then CPA_<KEY> environment variables; all three go through the
 * same validator, so a default is held to the same rules as a typed value.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "cpa.h"

#ifndef CPA_DEFAULT_TEMPLATE_DIR
#define CPA_DEFAULT_TEMPLATE_DIR "/usr/share/cpa-suite"
#endif

#define CFG_LINE_MAX 8192	/* longest config file line */
#define CFG_VALUE_MAX 4096	/* longest string value */

enum cfg_type {
	CFG_STR,		/* any text without control characters */
	CFG_INT,		/* whole number in [min, max] */
	CFG_BOOL,		/* 0 or 1 */
	CFG_LEVEL,		/* a log level name */
	CFG_LISTEN		/* "", unix:/absolute/path or host:port */
};

struct setting {
	const char *key;
	enum cfg_type type;
	size_t offset;		/* of a char * (text types) or an int */
	const char *def;
	long long min;
	long long max;
};

#define OFF(f) offsetof(struct cpa_config, f)

static const struct setting settings[] = {
	{ "listen", CFG_LISTEN, OFF(listen), "", 0, 0 },
	{ "workers", CFG_INT, OFF(workers), "4", 1, 256 },
	{ "db_conninfo", CFG_STR, OFF(db_conninfo), "dbname=cpa user=cpa_app", 0, 0 },
	{ "db_statement_timeout_ms", CFG_INT, OFF(db_statement_timeout_ms), "5000", 100, 600000 },
	{ "redis_host", CFG_STR, OFF(redis_host), "127.0.0.1", 0, 0 },
	{ "redis_port", CFG_INT, OFF(redis_port), "6379", 1, 65535 },
	{ "redis_socket", CFG_STR, OFF(redis_socket), "", 0, 0 },
	{ "redis_timeout_ms", CFG_INT, OFF(redis_timeout_ms), "1000", 10, 60000 },
	{ "session_idle_seconds", CFG_INT, OFF(session_idle_seconds), "1800", 1, 86400 },
	{ "session_absolute_seconds", CFG_INT, OFF(session_absolute_seconds), "43200", 1, 604800 },
	{ "cookie_secure", CFG_BOOL, OFF(cookie_secure), "1", 0, 1 },
	{ "origin", CFG_STR, OFF(origin), "", 0, 0 },
	{ "template_dir", CFG_STR, OFF(template_dir), CPA_DEFAULT_TEMPLATE_DIR, 0, 0 },
	{ "max_body_bytes", CFG_INT, OFF(max_body_bytes), "1048576", 1024, 67108864 },
	{ "login_max_failures_user", CFG_INT, OFF(login_max_failures_user), "5", 1, 1000 },
	{ "login_max_failures_addr", CFG_INT, OFF(login_max_failures_addr), "20", 1, 100000 },
	{ "login_window_seconds", CFG_INT, OFF(login_window_seconds), "900", 1, 86400 },
	{ "log_level", CFG_LEVEL, OFF(log_level), "info", 0, 0 },
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static int
is_text_type(enum cfg_type t)
{
	return t != CFG_INT && t != CFG_BOOL;
}

static char **
slot_str(struct cpa_config *c, const struct setting *s)
{
	return (char **)(void *)((char *)c + s->offset);
}

static int *
slot_int(struct cpa_config *c, const struct setting *s)
{
	return (int *)(void *)((char *)c + s->offset);
}

static const struct setting *
setting_find(const char *key)
{
	size_t i;

	for (i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].key, key) == 0)
			return &settings[i];
	return NULL;
}

/* unix:/absolute/path (fits sun_path) or host:port; "" means fd 0. */
static int
listen_valid(const char *v)
{
	struct sockaddr_un sun;
	const char *colon;
	long long port;

	if (v[0] == '\0')
		return 1;
	if (strncmp(v, "unix:", 5) == 0)
		return v[5] == '/' && strlen(v + 5) < sizeof(sun.sun_path);
	if ((colon = strrchr(v, ':')) == NULL || colon == v)
		return 0;
	if (strcspn(v, " ") < (size_t)(colon - v))
		return 0;
	return cpa_parse_ll(colon + 1, 1, 65535, &port) == CPA_OK;
}

static int
has_control(const char *v)
{
	for (; *v != '\0'; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 1;
	return 0;
}

/*
 * Validate v for s and store it in c.  On failure writes the reason,
 * naming the setting, to why and leaves c unchanged.
 */
static int
setting_apply(struct cpa_config *c, const struct setting *s, const char *v,
    char *why, size_t whylen)
{
	enum cpa_log_level lvl;
	char **sp;
	long long n;
	char *copy;

	if (is_text_type(s->type)) {
		if (has_control(v) || strlen(v) > CFG_VALUE_MAX) {
			snprintf(why, whylen, "%s must be text of at most %d characters "
			    "without control characters", s->key, CFG_VALUE_MAX);
			return CPA_EINPUT;
		}
		if (s->type == CFG_LEVEL && cpa_log_level_parse(v, &lvl) != CPA_OK) {
			snprintf(why, whylen, "%s must be one of debug, info, warn, error", s->key);
			return CPA_EINPUT;
		}
		if (s->type == CFG_LISTEN && !listen_valid(v)) {
			snprintf(why, whylen, "%s must be unix:/absolute/path or host:port", s->key);
			return CPA_EINPUT;
		}
		if ((copy = strdup(v)) == NULL) {
			fputs("cpa: out of memory\n", stderr);
			abort();
		}
		sp = slot_str(c, s);
		if (*sp != NULL)
			cpa_secret_wipe(*sp, strlen(*sp));
		free(*sp);
		*sp = copy;
		return CPA_OK;
	}
	if (cpa_parse_ll(v, s->min, s->max, &n) != CPA_OK) {
		if (s->type == CFG_BOOL)
			snprintf(why, whylen, "%s must be 0 or 1", s->key);
		else
			snprintf(why, whylen, "%s must be a whole number from %lld to %lld",
			    s->key, s->min, s->max);
		return CPA_EINPUT;
	}
	*slot_int(c, s) = (int)n;
	return CPA_OK;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/*
 * Read path line by line.  A value may be wrapped in double quotes, which
 * are removed ("" is the empty string); '#' starts a comment only at the
 * beginning of a line, so it may appear inside values such as conninfo
 * passwords.  A key set twice is an error.
 */
static int
config_file(struct cpa_config *c, const char *path, char *err, size_t errlen)
{
	unsigned seen[NSETTINGS] = { 0 };
	const struct setting *s;
	char why[256];
	char *line = NULL, *p, *eq, *key, *val;
	size_t cap = 0, vlen;
	unsigned lineno = 0;
	ssize_t n;
	FILE *f;
	int rc = CPA_EINPUT;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return CPA_EINPUT;
	}
	while ((n = getline(&line, &cap, f)) != -1) {
		lineno++;
		if (n > CFG_LINE_MAX || strlen(line) != (size_t)n) {
			snprintf(err, errlen, "%s:%u: line too long or holds a NUL byte",
			    path, lineno);
			goto out;
		}
		p = trim(line);
		if (*p == '\0' || *p == '#')
			continue;
		if ((eq = strchr(p, '=')) == NULL) {
			snprintf(err, errlen, "%s:%u: expected 'key = value'", path, lineno);
			goto out;
		}
		*eq = '\0';
		key = trim(p);
		val = trim(eq + 1);
		if ((s = setting_find(key)) == NULL) {
			snprintf(err, errlen, "%s:%u: unknown setting '%.64s'", path, lineno,
			    has_control(key) ? "?" : key);
			goto out;
		}
		if (seen[s - settings] != 0) {
			snprintf(err, errlen, "%s:%u: %s is already set on line %u",
			    path, lineno, s->key, seen[s - settings]);
			goto out;
		}
		seen[s - settings] = lineno;
		vlen = strlen(val);
		if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
			val[vlen - 1] = '\0';
			val++;
		}
		if (setting_apply(c, s, val, why, sizeof(why)) != CPA_OK) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	rc = CPA_OK;
out:
	if (line != NULL)
		cpa_secret_wipe(line, cap);	/* may hold a conninfo password */
	free(line);
	fclose(f);
	return rc;
}

static int
config_env(struct cpa_config *c, char *err, size_t errlen)
{
	char name[64], why[256];
	const char *v;
	size_t i, k;

	for (i = 0; i < NSETTINGS; i++) {
		memcpy(name, "CPA_", 4);
		for (k = 0; settings[i].key[k] != '\0' && 4 + k + 1 < sizeof(name); k++)
			name[4 + k] = (char)toupper((unsigned char)settings[i].key[k]);
		name[4 + k] = '\0';
		if ((v = getenv(name)) == NULL)
			continue;
		if (setting_apply(c, &settings[i], v, why, sizeof(why)) != CPA_OK) {
			snprintf(err, errlen, "%s: %s", name, why);
			return CPA_EINPUT;
		}
	}
	return CPA_OK;
}

/*
 * c is overwritten (its previous strings are not freed).  On success the
 * caller owns the strings and releases them with cpa_config_free; on
 * failure c is left zeroed, so cpa_config_free on it is harmless.
 */
int
cpa_config_load(struct cpa_config *c, const char *path, char *err, size_t errlen)
{
	char why[256];
	size_t i;
	int rc = CPA_EINPUT;

	memset(c, 0, sizeof(*c));
	if (errlen > 0)
		err[0] = '\0';
	for (i = 0; i < NSETTINGS; i++)
		if (setting_apply(c, &settings[i], settings[i].def, why, sizeof(why)) != CPA_OK) {
			snprintf(err, errlen, "built-in default: %s", why);
			goto out;
		}
	if (path != NULL && (rc = config_file(c, path, err, errlen)) != CPA_OK)
		goto out;
	rc = config_env(c, err, errlen);
out:
	if (rc != CPA_OK)
		cpa_config_free(c);
	return rc;
}

/* Frees every string and zeroes c; safe to call twice. */
void
cpa_config_free(struct cpa_config *c)
{
	char **sp;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < NSETTINGS; i++) {
		if (!is_text_type(settings[i].type))
			continue;
		sp = slot_str(c, &settings[i]);
		if (*sp != NULL)
			cpa_secret_wipe(*sp, strlen(*sp));
		free(*sp);
	}
	memset(c, 0, sizeof(*c));
}
