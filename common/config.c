/*
 * config.c - settings: the one parser for every program's settings file
 * (cpa_settings_load, over a table the program declares) and the workers'
 * own table behind cpa_config_load.  Values come from the defaults, then
 * the config file ("key = value" lines, '#' comment lines, blank lines),
 * then CPA_<KEY> environment variables; all three go through the same
 * validator, so a default is held to the same rules as a typed value.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
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

/* ------------------------------------------------------ the generic loader */

static int
is_text_type(enum cpa_setting_type t)
{
	return t != CPA_SET_INT && t != CPA_SET_BOOL;
}

static char **
slot_str(void *obj, const struct cpa_setting *s)
{
	return (char **)(void *)((char *)obj + s->offset);
}

static int *
slot_int(void *obj, const struct cpa_setting *s)
{
	return (int *)(void *)((char *)obj + s->offset);
}

static const struct cpa_setting *
setting_find(const struct cpa_setting *table, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(table[i].key, key) == 0)
			return &table[i];
	return NULL;
}

/* unix:/absolute/path (fits sun_path) or host:port; "" means fd 0. */
static int
listen_ok(const char *v)
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
level_ok(const char *v)
{
	enum cpa_log_level lvl;

	return cpa_log_level_parse(v, &lvl) == CPA_OK;
}

/* The rule each checked text type brings with it. */
static const struct {
	enum cpa_setting_type type;
	struct cpa_setting_rule rule;
} type_rules[] = {
	{ CPA_SET_LOG_LEVEL, { level_ok, "one of debug, info, warn, error" } },
	{ CPA_SET_LISTEN, { listen_ok, "unix:/absolute/path or host:port" } },
};

#define NTYPE_RULES (sizeof(type_rules) / sizeof(type_rules[0]))

static int
has_control(const char *v)
{
	for (; *v != '\0'; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 1;
	return 0;
}

/* NULL when v passes rule (which may be NULL), else what v must be. */
static const char *
rule_check(const struct cpa_setting_rule *rule, const char *v)
{
	if (rule == NULL || rule->ok == NULL || rule->ok(v))
		return NULL;
	return rule->must != NULL ? rule->must : "valid";
}

/* NULL when the text v suits s's type and s's own rule, else what v must be. */
static const char *
text_check(const struct cpa_setting *s, const char *v)
{
	const char *must;
	size_t i;

	for (i = 0; i < NTYPE_RULES; i++)
		if (type_rules[i].type == s->type &&
		    (must = rule_check(&type_rules[i].rule, v)) != NULL)
			return must;
	return rule_check(s->rule, v);
}

/*
 * Validate v for s and store it in obj.  On failure writes the reason,
 * naming the setting, to why and leaves obj unchanged.
 */
static int
setting_apply(void *obj, const struct cpa_setting *s, const char *v,
    char *why, size_t whylen)
{
	const char *must;
	char **sp;
	long long n;
	char *copy;

	if (is_text_type(s->type)) {
		if (has_control(v) || strlen(v) > CPA_SETTING_TEXT_MAX) {
			snprintf(why, whylen, "%s must be text of at most %d characters "
			    "without control characters", s->key, CPA_SETTING_TEXT_MAX);
			return CPA_EINPUT;
		}
		if ((must = text_check(s, v)) != NULL) {
			snprintf(why, whylen, "%s must be %s", s->key, must);
			return CPA_EINPUT;
		}
		if ((copy = strdup(v)) == NULL) {
			fputs("cpa: out of memory\n", stderr);
			abort();
		}
		sp = slot_str(obj, s);
		if (*sp != NULL)
			cpa_secret_wipe(*sp, strlen(*sp));
		free(*sp);
		*sp = copy;
		return CPA_OK;
	}
	if (cpa_parse_ll(v, s->min, s->max, &n) != CPA_OK) {
		if (s->type == CPA_SET_BOOL)
			snprintf(why, whylen, "%s must be 0 or 1", s->key);
		else
			snprintf(why, whylen, "%s must be a whole number from %lld to %lld",
			    s->key, s->min, s->max);
		return CPA_EINPUT;
	}
	*slot_int(obj, s) = (int)n;
	return CPA_OK;
}

/* Each setting's default, after checking that its bounds fit its int. */
static int
settings_defaults(void *obj, const struct cpa_setting *table, size_t n,
    char *err, size_t errlen)
{
	const struct cpa_setting *s;
	char why[256];
	size_t i;

	for (i = 0; i < n; i++) {
		s = &table[i];
		if (!is_text_type(s->type) && (s->min < INT_MIN || s->max > INT_MAX)) {
			snprintf(err, errlen, "built-in default: %s has bounds "
			    "beyond an int", s->key);
			return CPA_EINPUT;
		}
		if (setting_apply(obj, s, s->def != NULL ? s->def : "",
		    why, sizeof(why)) != CPA_OK) {
			snprintf(err, errlen, "built-in default: %s", why);
			return CPA_EINPUT;
		}
	}
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
settings_file(void *obj, const struct cpa_setting *table, size_t n,
    const char *path, char *err, size_t errlen)
{
	const struct cpa_setting *s;
	unsigned *seen;			/* line each setting was set on, 0 = not yet */
	char why[256];
	char *line = NULL, *p, *eq, *key, *val;
	size_t cap = 0, vlen;
	unsigned lineno = 0;
	ssize_t len;
	FILE *f;
	int rc = CPA_EINPUT;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return CPA_EINPUT;
	}
	if ((seen = calloc(n + 1, sizeof(*seen))) == NULL) {
		fputs("cpa: out of memory\n", stderr);
		abort();
	}
	while ((len = getline(&line, &cap, f)) != -1) {
		lineno++;
		if (len > CFG_LINE_MAX || strlen(line) != (size_t)len) {
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
		if ((s = setting_find(table, n, key)) == NULL) {
			snprintf(err, errlen, "%s:%u: unknown setting '%.64s'", path, lineno,
			    has_control(key) ? "?" : key);
			goto out;
		}
		if (seen[s - table] != 0) {
			snprintf(err, errlen, "%s:%u: %s is already set on line %u",
			    path, lineno, s->key, seen[s - table]);
			goto out;
		}
		seen[s - table] = lineno;
		vlen = strlen(val);
		if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
			val[vlen - 1] = '\0';
			val++;
		}
		if (setting_apply(obj, s, val, why, sizeof(why)) != CPA_OK) {
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
		cpa_secret_wipe(line, cap);	/* may hold a password */
	free(line);
	free(seen);
	fclose(f);
	return rc;
}

static int
settings_env(void *obj, const struct cpa_setting *table, size_t n,
    char *err, size_t errlen)
{
	char name[64], why[256];
	const char *v;
	size_t i, k;

	for (i = 0; i < n; i++) {
		memcpy(name, "CPA_", 4);
		for (k = 0; table[i].key[k] != '\0' && 4 + k + 1 < sizeof(name); k++)
			name[4 + k] = (char)toupper((unsigned char)table[i].key[k]);
		name[4 + k] = '\0';
		if ((v = getenv(name)) == NULL)
			continue;
		if (setting_apply(obj, &table[i], v, why, sizeof(why)) != CPA_OK) {
			snprintf(err, errlen, "%s: %s", name, why);
			return CPA_EINPUT;
		}
	}
	return CPA_OK;
}

int
cpa_settings_load(void *obj, const struct cpa_setting *table, size_t n,
    const char *path, char *err, size_t errlen)
{
	size_t i;
	int rc;

	if (errlen > 0)
		err[0] = '\0';
	for (i = 0; i < n; i++) {
		if (is_text_type(table[i].type))
			*slot_str(obj, &table[i]) = NULL;
		else
			*slot_int(obj, &table[i]) = 0;
	}
	if ((rc = settings_defaults(obj, table, n, err, errlen)) != CPA_OK)
		goto out;
	if (path != NULL && (rc = settings_file(obj, table, n, path, err, errlen)) != CPA_OK)
		goto out;
	rc = settings_env(obj, table, n, err, errlen);
out:
	if (rc != CPA_OK)
		cpa_settings_free(obj, table, n);
	return rc;
}

void
cpa_settings_free(void *obj, const struct cpa_setting *table, size_t n)
{
	char **sp;
	size_t i;

	if (obj == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (!is_text_type(table[i].type)) {
			*slot_int(obj, &table[i]) = 0;
			continue;
		}
		sp = slot_str(obj, &table[i]);
		if (*sp != NULL)
			cpa_secret_wipe(*sp, strlen(*sp));
		free(*sp);
		*sp = NULL;
	}
}

/* ------------------------------------------------------ the workers' table */

#define OFF(f) offsetof(struct cpa_config, f)

static const struct cpa_setting settings[] = {
	{ "listen", CPA_SET_LISTEN, OFF(listen), "", 0, 0, NULL },
	{ "workers", CPA_SET_INT, OFF(workers), "4", 1, 256, NULL },
	{ "db_conninfo", CPA_SET_TEXT, OFF(db_conninfo), "dbname=cpa user=cpa_app", 0, 0, NULL },
	{ "db_statement_timeout_ms", CPA_SET_INT, OFF(db_statement_timeout_ms), "5000",
	    100, 600000, NULL },
	{ "redis_host", CPA_SET_TEXT, OFF(redis_host), "127.0.0.1", 0, 0, NULL },
	{ "redis_port", CPA_SET_INT, OFF(redis_port), "6379", 1, 65535, NULL },
	{ "redis_socket", CPA_SET_TEXT, OFF(redis_socket), "", 0, 0, NULL },
	{ "redis_timeout_ms", CPA_SET_INT, OFF(redis_timeout_ms), "1000", 10, 60000, NULL },
	{ "session_idle_seconds", CPA_SET_INT, OFF(session_idle_seconds), "1800",
	    1, 86400, NULL },
	{ "session_absolute_seconds", CPA_SET_INT, OFF(session_absolute_seconds), "43200",
	    1, 604800, NULL },
	{ "cookie_secure", CPA_SET_BOOL, OFF(cookie_secure), "1", 0, 1, NULL },
	{ "origin", CPA_SET_TEXT, OFF(origin), "", 0, 0, NULL },
	{ "template_dir", CPA_SET_TEXT, OFF(template_dir), CPA_DEFAULT_TEMPLATE_DIR, 0, 0, NULL },
	{ "max_body_bytes", CPA_SET_INT, OFF(max_body_bytes), "1048576", 1024, 67108864, NULL },
	{ "login_max_failures_user", CPA_SET_INT, OFF(login_max_failures_user), "5",
	    1, 1000, NULL },
	{ "login_max_failures_addr", CPA_SET_INT, OFF(login_max_failures_addr), "20",
	    1, 100000, NULL },
	{ "login_window_seconds", CPA_SET_INT, OFF(login_window_seconds), "900",
	    1, 86400, NULL },
	{ "log_level", CPA_SET_LOG_LEVEL, OFF(log_level), "info", 0, 0, NULL },
};

/* c is overwritten (its previous strings are not freed). */
int
cpa_config_load(struct cpa_config *c, const char *path, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	return cpa_settings_load(c, settings, CPA_NSETTINGS(settings), path, err, errlen);
}

void
cpa_config_free(struct cpa_config *c)
{
	if (c == NULL)
		return;
	cpa_settings_free(c, settings, CPA_NSETTINGS(settings));
	memset(c, 0, sizeof(*c));
}
