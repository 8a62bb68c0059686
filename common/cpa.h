/*
 * cpa.h - the public interface of libcpacommon, the library every cpa-suite
 * worker is built on.  One section per source file in common/; each section
 * states ownership and lifetime.  Names exported from here carry the cpa_
 * prefix; everything else in common/ is static.
 *
 * Memory policy: allocation failure aborts the process (the prefork master
 * respawns the child).  Everything a request allocates hangs off its arena
 * (struct cpa_ctx.arena) and is released, and zeroed, in one call at the end
 * of the request.
 */
#ifndef CPA_H
#define CPA_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

#define CPA_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Small result codes shared by the library.  Functions that can also reject a
 * request return an HTTP status (>= 400) instead; the comment says which. */
enum cpa_rc {
	CPA_OK = 0,
	CPA_ERR = -1,		/* internal fault: 500 */
	CPA_EINPUT = -2,	/* caller's input is bad: 400/422 */
	CPA_EUNAVAIL = -3,	/* PostgreSQL or Redis unreachable or timed out: 503 */
	CPA_ENOTFOUND = -4,	/* no such row (or hidden by row-level security): 404 */
	CPA_ECONFLICT = -5,	/* unique or version conflict: 409 */
	CPA_EDENIED = -6	/* not allowed: 403 */
};

/* ------------------------------------------------------------------ arena.c */

typedef struct cpa_arena cpa_arena;

/* A region allocator.  cpa_arena_free() runs the deferred cleanups in reverse
 * order of registration, zeroes every block (secrets included) and releases
 * them.  All pointers handed out become invalid at that point. */
cpa_arena *cpa_arena_new(void);
void cpa_arena_free(cpa_arena *a);
void *cpa_alloc(cpa_arena *a, size_t n);	/* zeroed, 16-byte aligned */
char *cpa_strdup(cpa_arena *a, const char *s);
char *cpa_strndup(cpa_arena *a, const char *s, size_t n);
char *cpa_sprintf(cpa_arena *a, const char *fmt, ...) CPA_PRINTF(2, 3);
/* Run fn(arg) when the arena is freed (PGresult, redisReply, json_t ...). */
void cpa_arena_defer(cpa_arena *a, void (*fn)(void *), void *arg);

/* A growable byte string whose storage lives in an arena.  data is always
 * NUL-terminated; len excludes the NUL. */
struct cpa_buf {
	cpa_arena *arena;
	char *data;
	size_t len;
	size_t cap;
};
void cpa_buf_init(struct cpa_buf *b, cpa_arena *a);
void cpa_buf_add(struct cpa_buf *b, const void *p, size_t n);
void cpa_buf_puts(struct cpa_buf *b, const char *s);
void cpa_buf_putc(struct cpa_buf *b, char c);
void cpa_buf_printf(struct cpa_buf *b, const char *fmt, ...) CPA_PRINTF(2, 3);

/* ------------------------------------------------------------------- log.c */

enum cpa_log_level { CPA_LOG_DEBUG, CPA_LOG_INFO, CPA_LOG_WARN, CPA_LOG_ERROR };

/* Structured logs: one JSON object per line on stderr with ts, level,
 * program, pid, event and msg.  Control characters in msg are escaped by the
 * JSON writer, so untrusted text cannot forge log lines.  Never pass
 * passwords, tokens or cookies. */
void cpa_log_init(const char *program, enum cpa_log_level min);
void cpa_log(enum cpa_log_level lvl, const char *event, const char *fmt, ...)
    CPA_PRINTF(3, 4);
int cpa_log_level_parse(const char *s, enum cpa_log_level *out);

/* ---------------------------------------------------------------- config.c */

/* The one settings parser, for any program's settings struct described by
 * a table.  Values come from each setting's default, then the config file,
 * then the environment (CPA_<KEY in upper case>); every value, defaults
 * included, passes the same checks.  The file: "key = value" lines, blank
 * lines, '#' comment lines ('#' starts a comment only at the start of a
 * line, so values may hold it); a value wrapped in double quotes loses them
 * ("" is the empty string); lines of at most 8192 bytes; an unknown key or
 * a key set twice is an error. */
enum cpa_setting_type {
	CPA_SET_TEXT,		/* any text; every text type: no control characters,
				 * at most CPA_SETTING_TEXT_MAX bytes */
	CPA_SET_INT,		/* whole number in [min, max], stored in an int */
	CPA_SET_BOOL,		/* 0 or 1 (min 0, max 1), stored in an int */
	CPA_SET_LOG_LEVEL,	/* text: debug, info, warn or error */
	CPA_SET_LISTEN		/* text: unix:/absolute/path, host:port or "" (fd 0) */
};

#define CPA_SETTING_TEXT_MAX 4096	/* longest text value, in bytes */
#define CPA_NSETTINGS(t) (sizeof(t) / sizeof((t)[0]))

/* A program's own check on a text value: ok returns 1 when v suits;
 * otherwise the error reads "<key> must be <must>". */
struct cpa_setting_rule {
	int (*ok)(const char *v);
	const char *must;
};

/* One setting.  offset (offsetof) locates a char * for the text types and
 * an int for INT and BOOL, whose min and max lie within int.  def is the
 * default as it would be written in the file (NULL reads as "").  rule,
 * when not NULL, is checked on a text value after its type's own check. */
struct cpa_setting {
	const char *key;		/* lower case; the variable is CPA_<KEY> */
	enum cpa_setting_type type;
	size_t offset;
	const char *def;
	long long min;
	long long max;
	const struct cpa_setting_rule *rule;
};

/* Fill the slots of obj that table's n settings name; they are overwritten
 * (strings held there are not freed) and nothing else in obj is touched.
 * path may be NULL (no file).  CPA_OK: the strings are heap copies obj owns
 * until cpa_settings_free.  CPA_EINPUT: err says why, naming the setting
 * and "path:line", the variable ("CPA_WORKERS: ...") or "built-in default";
 * every slot is then NULL or 0. */
int cpa_settings_load(void *obj, const struct cpa_setting *table, size_t n,
    const char *path, char *err, size_t errlen);
/* Wipe and free the strings of obj's slots and zero the slots; safe to call
 * twice, and on what a failed load left. */
void cpa_settings_free(void *obj, const struct cpa_setting *table, size_t n);

/* The workers' settings (the table is in config.c); the command line
 * (--listen, --workers) comes after the environment.  Strings are heap
 * copies owned by the struct. */
struct cpa_config {
	char *listen;			/* unix:/path | host:port | "" = fd 0 */
	int workers;
	char *db_conninfo;
	int db_statement_timeout_ms;
	char *redis_host;
	int redis_port;
	char *redis_socket;		/* preferred when set */
	int redis_timeout_ms;
	int session_idle_seconds;
	int session_absolute_seconds;
	int cookie_secure;		/* 0 only for plain-http localhost */
	char *origin;			/* allowed Origin, e.g. https://cpa.example.nhs.uk; "" = from Host */
	char *template_dir;		/* root holding common/templates and modules/x/templates */
	int max_body_bytes;
	int login_max_failures_user;	/* per account per window */
	int login_max_failures_addr;	/* per client address per window */
	int login_window_seconds;
	char *log_level;
};
/* cpa_settings_load over the workers' table; c is zeroed first, and left
 * zeroed on failure. */
int cpa_config_load(struct cpa_config *c, const char *path, char *err, size_t errlen);
/* Frees every string and zeroes c; safe to call twice, and with NULL. */
void cpa_config_free(struct cpa_config *c);

/* ---------------------------------------------------------------- crypto.c */

#define CPA_TOKEN_LEN 43	/* base64url of 32 random bytes, no padding */
#define CPA_SHA256_HEX 64

/* out must hold CPA_TOKEN_LEN + 1 bytes.  Returns CPA_OK or CPA_ERR when the
 * OpenSSL random generator fails (the caller must then refuse the request). */
int cpa_random_token(char *out);
void cpa_sha256_hex(const void *p, size_t n, char out[CPA_SHA256_HEX + 1]);
/* Constant-time comparison of two NUL-terminated strings; 1 when equal. */
int cpa_secret_eq(const char *a, const char *b);
void cpa_secret_wipe(void *p, size_t n);

/* --------------------------------------------------------------- request.c */

struct cpa_kv {
	const char *name;
	const char *value;
};

/* A parsed request.  Every pointer lives in the request arena. */
struct cpa_request {
	const char *method;		/* upper case */
	const char *path;		/* percent-decoded, no query; never contains NUL */
	const char *query;		/* raw query string ("" when none) */
	const char *content_type;	/* media type, lower case, parameters removed; "" when none */
	const char *body;		/* NUL-terminated copy; may contain NUL bytes before body_len */
	size_t body_len;
	const char *remote_addr;
	const char *host;
	const char *origin;		/* Origin header or NULL */
	const char *accept;
	const char *user_agent;
	const char *csrf_header;	/* X-CSRF-Token or NULL */
	const char *session_cookie;	/* value of the session cookie or NULL */
	const char *request_id;		/* X-Request-Id from nginx or generated */
	const char *idempotency_key;	/* Idempotency-Key header or NULL */
	int https;
	int wants_json;			/* /api/..., *.json, or Accept prefers JSON */
	struct cpa_kv *params;		/* route parameters, filled by the router */
	size_t nparams;
};

/* Limits on what we accept even before nginx's own. */
#define CPA_MAX_PATH 2048
#define CPA_MAX_HEADER 8192
#define CPA_MAX_COOKIES 32

/* Parse the FastCGI parameters (envp: NULL-terminated "NAME=value" strings)
 * and the body already read.  cookie_name is the session cookie's name.
 * Returns CPA_OK or an HTTP status to refuse with: 400 (malformed path,
 * control characters in headers), 414 (path too long), 431 (header too
 * large). */
int cpa_request_parse(cpa_arena *a, char *const *envp, const char *body,
    size_t body_len, const char *cookie_name, struct cpa_request *r);
const char *cpa_request_env(char *const *envp, const char *name);
/* Route parameter by name, or NULL. */
const char *cpa_param(const struct cpa_request *r, const char *name);
/* Route parameter as a positive id, or 0 when absent or not one. */
long long cpa_param_id(const struct cpa_request *r, const char *name);
/* Percent-decode (and '+' -> space when form != 0) into the arena; returns
 * NULL when the escape is malformed or decodes to a NUL byte. */
char *cpa_url_decode(cpa_arena *a, const char *s, size_t n, int form, size_t *outlen);

/* -------------------------------------------------------------- validate.c */

/* UTF-8 well-formedness (no overlongs, no surrogates, <= U+10FFFF). */
int cpa_utf8_valid(const char *s, size_t n);
/* Number of code points in valid UTF-8. */
size_t cpa_utf8_len(const char *s, size_t n);
/* Valid UTF-8 with no control characters (tab, CR and LF allowed only when
 * multiline). */
int cpa_text_valid(const char *s, size_t n, int multiline);
/* NHS number: ten digits (spaces allowed in input) passing modulus 11.
 * On success writes the ten digits to out (11 bytes). */
int cpa_nhs_number_valid(const char *s, char out[11]);
/* Calendar date YYYY-MM-DD between 1900-01-01 and 2199-12-31. */
int cpa_date_valid(const char *s, int *y, int *m, int *d);
/* A date and time as ISO 8601 writes it, so that PostgreSQL reads it
 * without complaint: YYYY-MM-DD (as cpa_date_valid), 'T' or a space, HH:MM,
 * then optionally :SS and a fraction of 1 to 6 digits, then optionally a
 * zone (Z, +HH, +HHMM, +HH:MM); 16 to 40 characters.  *zone, when not NULL,
 * is set to whether s names its zone: without one it is the database's
 * local time, which is what a page's datetime-local input sends. */
int cpa_timestamp_valid(const char *s, int *zone);
/* The levels of care an episode may have (episode.level; each site uses
 * some of them, site.episode_levels), NULL-terminated, for CPA_FT_ENUM. */
extern const char *const cpa_episode_levels[];
/* Usernames: 3-64 of [a-z0-9._-], starting with a letter. */
int cpa_username_valid(const char *s);
int cpa_email_valid(const char *s);
/* Parse a decimal integer with explicit bounds; no trailing junk.
 * Returns CPA_OK and sets *out when s is such a number, else CPA_EINPUT. */
int cpa_parse_ll(const char *s, long long min, long long max, long long *out);

/* ------------------------------------------------------------------ form.c */

enum cpa_ftype {
	CPA_FT_LINE,		/* single-line text */
	CPA_FT_TEXT,		/* multi-line free text */
	CPA_FT_INT,		/* integer within [min, max] */
	CPA_FT_ID,		/* positive 64-bit id */
	CPA_FT_BOOL,
	CPA_FT_DATE,		/* YYYY-MM-DD */
	CPA_FT_ENUM,		/* one of choices */
	CPA_FT_NHS_NUMBER,
	CPA_FT_USERNAME,
	CPA_FT_PASSWORD,	/* any UTF-8 without control characters, [min, max] chars */
	CPA_FT_EMAIL,
	CPA_FT_TIMESTAMP	/* date and time (cpa_timestamp_valid) */
};

#define CPA_FF_REQUIRED 0x1
#define CPA_NFIELDS(f) (sizeof(f) / sizeof((f)[0]))

/* One declared input field (kcgi's kvalid table).  min/max are lengths in
 * characters for text types and the value range for INT. */
struct cpa_field {
	const char *name;
	const char *label;		/* used in messages: "Enter your <label>" */
	enum cpa_ftype type;
	unsigned flags;
	long long min;
	long long max;
	const char *const *choices;	/* NULL-terminated, for CPA_FT_ENUM */
};

struct cpa_value {
	int present;			/* supplied and valid */
	const char *str;		/* normalised text (NHS number: 10 digits) */
	size_t len;
	long long num;			/* INT, ID, BOOL (0/1) */
};

struct cpa_field_error {
	const char *field;
	const char *message;
};

struct cpa_input {
	const struct cpa_field *fields;
	size_t nfields;
	struct cpa_value *values;	/* nfields entries, in field order */
	struct cpa_field_error *errors;	/* one per failing field, in field order */
	size_t nerrors;
};

/* Parse the query string (GET, HEAD) or the body (urlencoded form or JSON
 * object) against the field table.  Undeclared fields are dropped.
 * Returns CPA_OK (then check in->nerrors), or an HTTP status: 400 for a
 * malformed body (bad JSON, bad escapes, invalid UTF-8), 415 for a content
 * type other than form or JSON. */
int cpa_input_parse(cpa_arena *a, const struct cpa_request *r,
    const struct cpa_field *fields, size_t nfields, struct cpa_input *in);
/* A field's normalised string, or NULL when it was not given: the form a
 * nullable SQL parameter wants. */
const char *cpa_value_or_null(const struct cpa_value *v);
/* Raw value of one urlencoded field, or NULL. */
const char *cpa_form_lookup(cpa_arena *a, const char *body, size_t len, const char *name);
/* The input errors as a JSON object {field: message}; new reference. */
json_t *cpa_input_errors_json(const struct cpa_input *in);
/* Append an error to in.  in->errors becomes a new array in the arena (the
 * old one is left as it was, so a copy of in sharing it keeps its own
 * errors); field and message are borrowed and must outlive in. */
void cpa_input_add_error(cpa_arena *a, struct cpa_input *in, const char *field,
    const char *message);
/* The message of field's error, or NULL when it has none. */
const char *cpa_input_error(const struct cpa_input *in, const char *field);
/* A copy of in whose errors name "<prefix><field>" (arena memory): the ids
 * of a page's inputs when the page holds several forms. */
struct cpa_input cpa_input_prefixed(cpa_arena *a, const struct cpa_input *in,
    const char *prefix);
/* What was given, as a form shows it again: a new object {name: normalised
 * text} of the present values; {} when in is NULL. */
json_t *cpa_input_typed(const struct cpa_input *in);
/* The request's Idempotency-Key header, which wins over a form's own key
 * field: v, that field's value, is set from it (borrowed from the
 * request).  CPA_OK (v untouched when there is no header), or CPA_EINPUT
 * when the header is not 8 to max characters of text. */
int cpa_idempotency_key(const struct cpa_request *r, struct cpa_value *v, size_t max);

/* ------------------------------------------------------------------ json.c */

/* Parse a JSON document (objects with duplicate keys, invalid UTF-8 and
 * nesting deeper than 32 are refused).  Returns a new reference or NULL with
 * a message in err. */
json_t *cpa_json_parse(const char *s, size_t n, char *err, size_t errlen);
/* Serialise compactly with every non-ASCII character (U+2028/2029 included)
 * and '/' escaped, so the output is safe inside HTML too. */
void cpa_json_write(struct cpa_buf *out, const json_t *v);
/* Keep v alive until the arena is freed; returns v. */
json_t *cpa_json_keep(cpa_arena *a, json_t *v);
/* For HTML models: walk v (borrowed, changed in place) through arrays and
 * objects, 16 levels deep at most; for every member of every object call
 * fn with an empty object add, whose members are merged into that object
 * once all its members were seen (fn never sees what it added). */
typedef void (*cpa_annotate_fn)(json_t *add, const char *key, const json_t *value,
    void *arg);
void cpa_json_annotate(json_t *v, cpa_annotate_fn fn, void *arg);
/* add["<key><suffix>"] = value (stolen; released instead when the name
 * would be longer than 127 bytes). */
void cpa_json_beside(json_t *add, const char *key, const char *suffix, json_t *value);

/* ----------------------------------------------------------------- inbox.c */

/* How many reminders wait unread in the signed-in person's inbox, for the
 * header of every HTML page; -1 when it cannot be known (no session, the
 * database unavailable): the page then renders without it.  Runs its own
 * short read-only transaction after the request's own has ended. */
struct cpa_ctx;
long long cpa_inbox_unread(struct cpa_ctx *ctx);

/* ------------------------------------------------------------------ diff.c */

/* What changed between two texts, word by word, for readable what-changed
 * views: a new JSON array of segments {"op": "same" | "removed" | "added",
 * "text": "..."} that, joined, give before (same + removed) and after
 * (same + added).  Words keep their following whitespace; adjacent
 * segments of one op are merged.  NULL reads as "".  Texts too different
 * to align cheaply come back as one removed and one added segment.
 * Returns NULL only when out of memory. */
json_t *cpa_diff_words(const char *before, const char *after);

/* ------------------------------------------------------------------ html.c */

/* Templates are a small Mustache dialect rendered against a JSON model:
 *   {{name}} {{a.b}} {{.}}  value, HTML-escaped
 *   {{#name}}..{{/name}}     section: once if truthy, per item if an array
 *   {{^name}}..{{/name}}     inverted section
 *   {{> partial}}            another template by name
 *   {{! comment}}
 *   {{&name}}                raw, unescaped: for pre-escaped markup only
 * Names resolve in the innermost context first, then outwards. */
struct cpa_tmpl;
struct cpa_tmpl *cpa_tmpl_compile(const char *name, const char *src, size_t len,
    char *err, size_t errlen);
void cpa_tmpl_free(struct cpa_tmpl *t);
/* Load every *.html under each directory (later directories win), replacing
 * the process's template set.  Names are file names without ".html". */
int cpa_templates_load(const char *const *dirs, size_t ndirs, char *err, size_t errlen);
/* Register an already compiled template in the process set (tests). */
void cpa_templates_add(struct cpa_tmpl *t);
/* Render a named template from the process set.  CPA_ENOTFOUND if none. */
int cpa_template_render(const char *name, const json_t *model, struct cpa_buf *out);
void cpa_html_escape(struct cpa_buf *out, const char *s, size_t n);

/* Words for pages.  The label of code in labels, the array parallel to
 * the NULL-terminated codes; NULL for NULL or an unknown code. */
const char *cpa_label(const char *const *codes, const char *const *labels,
    const char *code);
/* The words for cpa_episode_levels, in its order. */
extern const char *const cpa_episode_level_labels[];
/* A carer's relationship to the person (carer_link.relationship), codes
 * NULL-terminated for CPA_FT_ENUM, and their words in the same order. */
extern const char *const cpa_carer_relationships[];
extern const char *const cpa_carer_relationship_labels[];
/* A date, or a date and time as PostgreSQL writes them in JSON, in words:
 * "27 March 2025"; when a time of day follows the date ('T' or a space,
 * then HH:MM) and time_sep is not NULL, the date, time_sep and "14:05" (as
 * written: the database's time zone).  A new string, or JSON null when s
 * (may be NULL) does not start with a date. */
json_t *cpa_date_text(const char *s, const char *time_sep);
/* "<given name> <family name>" of a person object (its summary), either
 * name empty when missing; arena memory. */
const char *cpa_person_name(cpa_arena *a, const json_t *person);

/* ------------------------------------------------------------ roles (auth.c) */

enum cpa_role {
	CPA_ROLE_COORDINATOR = 1u << 0,
	CPA_ROLE_PRACTITIONER = 1u << 1,
	CPA_ROLE_TEAM_MANAGER = 1u << 2,
	CPA_ROLE_DISTRICT_MANAGER = 1u << 3,
	CPA_ROLE_TRUST_ADMIN = 1u << 4,
	CPA_ROLE_AUDITOR = 1u << 5
};
#define CPA_ROLE_ANY 0u		/* any signed-in user */
/* Staff who work with service users' records. */
#define CPA_ROLES_CLINICAL (CPA_ROLE_COORDINATOR | CPA_ROLE_PRACTITIONER | \
	CPA_ROLE_TEAM_MANAGER | CPA_ROLE_DISTRICT_MANAGER)
#define CPA_ROLES_MANAGER (CPA_ROLE_TEAM_MANAGER | CPA_ROLE_DISTRICT_MANAGER)
const char *cpa_role_name(unsigned role);	/* "coordinator", ... */
unsigned cpa_role_parse(const char *name);	/* 0 when unknown */
extern const char *const cpa_role_names[];	/* NULL-terminated, for CPA_FT_ENUM */

/* Passwords: argon2id, m = 19 MiB, t = 2, p = 1, 16-byte salt. */
#define CPA_PASSWORD_MIN 12
#define CPA_PASSWORD_MAX 128
#define CPA_PASSWORD_HASH_MAX 128
int cpa_password_hash(const char *pw, size_t len, char out[CPA_PASSWORD_HASH_MAX]);
/* 1 when pw matches encoded; 0 otherwise (also for a malformed hash).  With
 * encoded == NULL it still spends the same time, so unknown users cost the
 * same as wrong passwords. */
int cpa_password_verify(const char *encoded, const char *pw, size_t len);

/* --------------------------------------------------------------- redis.c */

struct redisReply;
/* One command by argv (binary safe, never formatted).  The reply is freed
 * with the arena.  Returns NULL when Redis is unreachable (the connection is
 * then dropped and re-made next time). */
struct redisReply *cpa_redis(cpa_arena *a, int argc, const char **argv, const size_t *lens);
/* Several commands in one round trip.  replies[i] freed with the arena.
 * Returns CPA_OK or CPA_EUNAVAIL. */
int cpa_redis_pipeline(cpa_arena *a, int ncmd, const int *argcs,
    const char *const *const *argvs, const size_t *const *lens,
    struct redisReply **replies);
void cpa_redis_configure(const struct cpa_config *cfg);
void cpa_redis_disconnect(void);

/* ------------------------------------------------------------- session.c */

/* One grant of a role, scoped to a site and optionally a district or team
 * (0 = whole site). */
struct cpa_grant {
	long long id;
	unsigned role;
	long long site_id;
	long long district_id;
	long long team_id;
};

struct cpa_session {
	char key[CPA_SHA256_HEX + 1];	/* sha256(token): the Redis key suffix, never the token */
	long long user_id;
	const char *username;
	const char *display_name;
	char csrf[CPA_TOKEN_LEN + 1];
	long long created;		/* unix seconds */
	unsigned roles;			/* union of role bits */
	struct cpa_grant *grants;
	size_t ngrants;
	const char *site_ids;		/* "1,2": the value of app.site_ids */
	json_t *user;			/* the user object clients see (auth_profile); kept by the arena */
};

struct cpa_ctx;
/* Look up the session named by the request cookie: one Redis round trip that
 * also slides the idle expiry.  Sets ctx->session (NULL when there is no
 * valid session).  Returns CPA_OK or CPA_EUNAVAIL (Redis down: fail closed). */
int cpa_session_load(struct cpa_ctx *ctx);
/* Start a new session for the user described by user (the JSON object the
 * auth_profile() SQL function returns: id, username, display_name, roles,
 * sites; borrowed): new random token and CSRF token, the request's old
 * session destroyed, the cookie set, ctx->session pointed at it. */
int cpa_session_start(struct cpa_ctx *ctx, json_t *user);
/* Destroy the current session and clear the cookie. */
int cpa_session_end(struct cpa_ctx *ctx);
/* Destroy every session of a user (sign-out everywhere, password or role
 * change). */
int cpa_session_end_all(struct cpa_ctx *ctx, long long user_id);
/* 1 when the session holds any of roles (any site when site_id == 0). */
int cpa_session_has_role(const struct cpa_session *s, unsigned roles, long long site_id);
/* Serialise / parse the stored form (exposed for unit tests).  Decoding
 * checks the shape and fills every field of s from data. */
char *cpa_session_encode(cpa_arena *a, const struct cpa_session *s);
int cpa_session_decode(cpa_arena *a, const char *data, size_t len, struct cpa_session *s);
/* Fill s's user fields, grants, roles and site_ids from a user object. */
int cpa_session_from_user(cpa_arena *a, json_t *user, struct cpa_session *s);
/* The session's "user" object shown to clients: a new reference. */
json_t *cpa_session_user_json(const struct cpa_session *s);

/* Sign-in throttling (Redis counters per account and per address).
 * cpa_throttle_check returns 0 when allowed, or the seconds to wait. */
int cpa_throttle_check(struct cpa_ctx *ctx, const char *username, int *retry_after);
void cpa_throttle_failure(struct cpa_ctx *ctx, const char *username);
void cpa_throttle_clear(struct cpa_ctx *ctx, const char *username);

/* -------------------------------------------------------------------- db.c */

/* A statement declared next to the handler that uses it.  It is prepared on
 * first use on each connection and reused after. */
struct cpa_stmt {
	const char *name;
	const char *sql;
	int nparams;
};

void cpa_db_configure(const struct cpa_config *cfg);
void cpa_db_set_program(const char *name);	/* application_name */
void cpa_db_disconnect(void);
/* Open the request's transaction with app.user_id and app.site_ids taken
 * from ctx->session (empty when anonymous, so row-level security shows no
 * rows).  The BEGIN is sent together with the first statement, in one round
 * trip.  Returns CPA_OK or CPA_EUNAVAIL. */
int cpa_db_begin(struct cpa_ctx *ctx);
/* Run a prepared statement inside the transaction.  params may hold NULL for
 * SQL NULL.  Returns the result (freed with the arena) or NULL; then
 * ctx->db_rc says why (CPA_EUNAVAIL, CPA_ECONFLICT for unique or exclusion
 * violations, CPA_EINPUT for check or foreign-key violations, CPA_ERR) and
 * the transaction is aborted. */
PGresult *cpa_db_exec(struct cpa_ctx *ctx, const struct cpa_stmt *st, const char *const *params);
/* Queue a write to be sent with COMMIT, in the same round trip (audit rows).
 * params are copied.  A failure of a queued write fails the commit. */
void cpa_db_queue(struct cpa_ctx *ctx, const struct cpa_stmt *st, const char *const *params);
/* Commit: CPA_OK, or the failure code (nothing committed). */
int cpa_db_commit(struct cpa_ctx *ctx);
/* Begin the request's transaction and run st, a write that finds its own
 * earlier result by an idempotency key.  When it fails on a unique
 * violation (a concurrent twin under the same key committed first) it is
 * rolled back and run once more, in a new transaction that finds the
 * twin.  Returns as cpa_db_exec. */
PGresult *cpa_db_exec_keyed(struct cpa_ctx *ctx, const struct cpa_stmt *st,
    const char *const *params);
/* Roll back if a transaction is open.  Called for every request at the end. */
void cpa_db_rollback(struct cpa_ctx *ctx);
/* Health check: CPA_OK when "SELECT 1" succeeds. */
int cpa_db_ping(void);
/* Field helpers: NULL for SQL NULL. */
const char *cpa_db_get(const PGresult *r, int row, const char *col);
long long cpa_db_ll(const PGresult *r, int row, const char *col);
/* A boolean column: 1 when it holds true, 0 for false and SQL NULL. */
int cpa_db_flag(const PGresult *r, int row, const char *col);
/* An id as a statement parameter: its decimal text in the arena, or NULL
 * (SQL NULL) when id <= 0. */
const char *cpa_id_param(cpa_arena *a, long long id);
/* A json/jsonb column parsed; kept by the arena.  NULL for SQL NULL. */
json_t *cpa_db_json(cpa_arena *a, const PGresult *r, int row, const char *col);

/* ----------------------------------------------------------------- audit.c */

/* Append an audit row to the request's transaction (begun if not yet); it
 * is sent with COMMIT, so cpa_db_commit() reports its failure.  The actor is
 * the session's user, else ctx->actor_id/actor_name (sign-in attempts).
 * service_user_id and site_id may be 0 when not applicable; entity_id and
 * detail may be NULL; control characters are escaped before storage. */
int cpa_audit(struct cpa_ctx *ctx, const char *action, const char *entity,
    const char *entity_id, long long service_user_id, long long site_id,
    const char *detail);
/* Run st for a handler, params[0] naming the record it reads.  Returns
 * the result (at least one row), or NULL with the response written: the
 * database's failure, or 404 through cpa_not_found (entity, params[0])
 * when no row is visible. */
PGresult *cpa_fetch(struct cpa_ctx *ctx, const struct cpa_stmt *st,
    const char *const *params, const char *entity);
/* Fetch one record for a handler: run st with the id as its only parameter.
 * Returns the result (at least one row), or NULL with the response already
 * written: 404 through cpa_not_found (entity, id) when the id is 0 or no
 * row is visible, the database's failure otherwise. */
PGresult *cpa_fetch_one(struct cpa_ctx *ctx, const struct cpa_stmt *st, long long id,
    const char *entity);
/* Begin the request's transaction and run st, a change whose one row
 * tells "problem" (what was wrong, NULL when nothing) and "done" (whether
 * the change was made).  Returns the row, with *code NULL when the change
 * was made, else the problem ("stale" when nothing changed for no stated
 * reason).  NULL with *code = race when st failed on a unique or exclusion
 * violation (a racing change won).  NULL with *code NULL when the response
 * is written: the database's failure, or 404 (cpa_not_found for entity
 * and params[0]) when st found no row. */
PGresult *cpa_run_change(struct cpa_ctx *ctx, const struct cpa_stmt *st,
    const char *const *params, const char *entity, const char *race,
    const char **code);
/* End a handler that has written something: commit, then render model
 * (stolen) as cpa_render does, or answer the commit's failure (503 and
 * the like) and show nothing. */
void cpa_commit_render(struct cpa_ctx *ctx, int status, const char *tmpl, json_t *model);
/* The same for a form that ends in a 303 to path. */
void cpa_commit_redirect(struct cpa_ctx *ctx, const char *path);
/* Commit before answering with model: CPA_OK, or the commit's failure
 * after answering it (503 and the like) and releasing model (may be
 * NULL). */
int cpa_commit_or_fail(struct cpa_ctx *ctx, json_t *model);
/* Refuse access: an access_denied audit row (entity, id, service_user_id,
 * site_id and detail as cpa_audit takes them) committed, then status (403,
 * or 404 where the caller may not learn more) with message; when the
 * commit fails, its failure (503 and the like) instead. */
void cpa_deny(struct cpa_ctx *ctx, int status, const char *message,
    const char *entity, const char *id, long long service_user_id,
    long long site_id, const char *detail);
/* Answer 404 for a record that does not exist or that row-level security
 * hides (another site: the caller cannot tell which), auditing the attempt
 * as access_denied with the entity and id asked for. */
void cpa_not_found(struct cpa_ctx *ctx, const char *entity, const char *id);
/* Escape control characters as \xHH (exposed for unit tests). */
char *cpa_audit_sanitise(cpa_arena *a, const char *s);

/* ---------------------------------------------------------------- router.c */

typedef int (*cpa_handler)(struct cpa_ctx *ctx);

#define CPA_RF_PUBLIC 0x1	/* no session needed */
#define CPA_RF_NO_CSRF 0x2	/* state change without a session token (sign-in): Origin still checked */

/* One route.  pattern segments are literal or "{name}" (one segment). */
struct cpa_route {
	const char *method;
	const char *pattern;
	cpa_handler handler;
	unsigned roles;			/* CPA_ROLE_ANY or a mask of enum cpa_role */
	unsigned flags;
};

/* Find the route for method and r->path; fills r->params.  HEAD matches GET
 * routes.  Returns the route, or NULL with *status = 404 or 405 (then allow
 * lists the allowed methods, comma separated). */
const struct cpa_route *cpa_route_match(cpa_arena *a, const struct cpa_route *routes,
    size_t nroutes, struct cpa_request *r, int *status, const char **allow);

/* -------------------------------------------------------------- response.c */

struct cpa_response {
	int status;
	struct cpa_buf headers;		/* "Name: value\r\n" lines */
	struct cpa_buf body;
	const char *content_type;
};

/* Set a header.  Refuses (CPA_EINPUT) names or values with CR, LF or NUL,
 * so nothing a user typed can split a response. */
int cpa_header(struct cpa_ctx *ctx, const char *name, const char *value);
/* Session cookie (name from the config).  max_age < 0: session cookie;
 * 0: delete. */
void cpa_cookie(struct cpa_ctx *ctx, const char *value, int max_age);
const char *cpa_cookie_name(const struct cpa_config *cfg);
/* 303 See Other to a local path (anything else becomes "/"). */
void cpa_redirect(struct cpa_ctx *ctx, const char *path);
/* A plain error: JSON {"error": message, "incident": id} or the error page.
 * 5xx messages always carry the incident id and never internals. */
void cpa_error(struct cpa_ctx *ctx, int status, const char *message);
/* Map a library result code to an error response. */
void cpa_error_rc(struct cpa_ctx *ctx, int rc);
/* Render model (stolen) as JSON, or as HTML through template.  For HTML the
 * model gets "user" and "csrf_token" from the session added for the layout;
 * JSON leaves out the page's "title". */
void cpa_render(struct cpa_ctx *ctx, int status, const char *tmpl, json_t *model);
/* A created resource: JSON 201 with Location and model; HTML 303 to location. */
void cpa_render_created(struct cpa_ctx *ctx, const char *location, json_t *model);
/* Validation failure: JSON 422 {"error","errors":{name: message}}; HTML 422
 * re-rendering tmpl with "errors" (for the error summary) and per-field
 * "error_<name>" added to model (stolen). */
void cpa_render_invalid(struct cpa_ctx *ctx, const char *tmpl, json_t *model,
    const struct cpa_input *in);
/* cpa_input_parse on the context's request for a handler: a malformed
 * body is answered here (400 or 415) and that status returned; CPA_OK means
 * in is filled (the caller still checks in->nerrors). */
int cpa_input_read(struct cpa_ctx *ctx, const struct cpa_field *fields,
    size_t nfields, struct cpa_input *in);
/* cpa_input_read for a page's query string: CPA_OK when every field is
 * valid; otherwise the refusal is answered, JSON naming every field (422)
 * and a page saying what is wrong with the first, and its status
 * returned. */
int cpa_query_read(struct cpa_ctx *ctx, const struct cpa_field *fields,
    size_t nfields, struct cpa_input *in);
/* How a handler shows its page again after a refusal: the page of record
 * id with in's values and errors, answered with status. */
typedef void (*cpa_again_fn)(struct cpa_ctx *ctx, long long id,
    const struct cpa_input *in, int status);
/* When in has errors, refuse the request and return 1: JSON gets 422
 * naming the fields (cpa_render_invalid), a page is shown again by
 * again(ctx, id, in, 422).  0, answering nothing, when in has none. */
int cpa_input_refused(struct cpa_ctx *ctx, const struct cpa_input *in,
    cpa_again_fn again, long long id);
/* The request's JSON body as a document, for a handler that reads more
 * from it than its fields: kept by the arena, or NULL after answering 400
 * (cpa_input_read has already refused a malformed one). */
json_t *cpa_body_json(struct cpa_ctx *ctx);
/* A validation failure found after parsing (by the database: a taken name,
 * a team of another site): like cpa_render_invalid with one field error,
 * answered with status (409, 422). */
void cpa_render_field_error(struct cpa_ctx *ctx, int status, const char *tmpl,
    json_t *model, const char *field, const char *message);
/* What a statement's problem code means, in a table per handler file:
 * the answer's status and message, and the input field it is about (NULL:
 * a conflict or a denial, no field's fault). */
struct cpa_problem {
	const char *code;
	int status;
	const char *field;
	const char *message;
};
/* The entry of t (n entries) for code; for NULL or an unknown code the
 * entry for fallback (which must be in t), or NULL when fallback is. */
const struct cpa_problem *cpa_problem_find(const struct cpa_problem *t, size_t n,
    const char *code, const char *fallback);
/* Answer p with message (p->message when NULL): to a JSON client, when p
 * names a field, as that field's error (cpa_render_field_error); else as a
 * plain error (cpa_error). */
void cpa_problem_error(struct cpa_ctx *ctx, const struct cpa_problem *p,
    const char *message);

/* ------------------------------------------------------------------ page.c */

/* What handlers of a person's records share, in every worker. */
#define CPA_NO_EPISODE_MESSAGE "This person has no open episode in your teams"
/* Run st ($1 the person id, $2 param) for a person's page; its row says
 * has_episode and covered, with service_user_id and site_id.  Returns the
 * row, or NULL with the response written: 404 (no such person at the
 * caller's sites), 409 (no episode), 403 audited (only other teams'
 * episodes); what names the records in the messages ("contacts"). */
PGresult *cpa_person_page_load(struct cpa_ctx *ctx, const struct cpa_stmt *st,
    long long id, const char *param, const char *what);
/* The scope of a list of what falls due: the one asked for (v), else
 * "team" for a manager and "mine" for anyone else; *manager says which.
 * NULL after answering 403, audited on entity, when someone who manages no
 * team asks for "team"; what names the items ("reviews"). */
const char *cpa_list_scope(struct cpa_ctx *ctx, const struct cpa_value *v,
    const char *entity, const char *what, int *manager);
/* For a list's page: its title for the scope, whether it is the team's,
 * whether the reader manages, whether any item is overdue. */
void cpa_list_page(json_t *m, const char *scope, int manager, long long overdue,
    const char *team_title, const char *mine_title);
/* The codes in r's "invalid" (a JSON array) that t (n entries) puts at a
 * field, appended to in's errors in that order. */
void cpa_invalid_add(struct cpa_ctx *ctx, struct cpa_input *in, const PGresult *r,
    const struct cpa_problem *t, size_t n);
/* End a handler that recorded something: commit, then a page goes to path
 * (303), and JSON gets status, the Location of path under /api/v1 and
 * model (stolen). */
void cpa_answer_recorded(struct cpa_ctx *ctx, int status, const char *path, json_t *model);
/* A cpa_annotate_fn for pages: "<key>_text" in words beside every date
 * and time (date_of_birth, today, at, *_at, *_on, *_date). */
void cpa_date_words(json_t *add, const char *key, const json_t *value, void *arg);


/* Compose the FastCGI response (status line, security headers, headers,
 * body) into out.  Exposed for unit tests. */
void cpa_response_compose(struct cpa_ctx *ctx, struct cpa_buf *out);

/* ---------------------------------------------------------------- server.c */

/* Everything one request needs.  Lives for one request. */
struct cpa_ctx {
	cpa_arena *arena;
	const struct cpa_config *cfg;
	struct cpa_request req;
	struct cpa_session *session;	/* NULL when anonymous */
	const struct cpa_route *route;
	struct cpa_response resp;
	int txn;			/* 0 none, 1 begun (pending), 2 open on the server, 3 failed */
	int db_rc;			/* why the last cpa_db_exec failed */
	void *db_queue;			/* writes to send with COMMIT (db.c) */
	long long actor_id;		/* who audit rows name when there is no session yet */
	const char *actor_name;		/* (sign-in attempts) */
};

/* What a worker program declares. */
struct cpa_module {
	const char *name;		/* "auth": program cpa-auth, templates modules/auth/templates */
	const struct cpa_route *routes;
	size_t nroutes;
};

/* The whole worker: options, config, listening socket, prefork master with
 * respawn, SIGTERM drain, SIGHUP reload, and the request loop.  Every worker
 * also answers GET /healthz.  Returns the process exit status. */
int cpa_main(int argc, char **argv, const struct cpa_module *m);
/* Run one request through the pipeline (session, route, access, CSRF,
 * handler) with ctx->req already parsed.  Exposed for tests and fuzzing. */
void cpa_dispatch(struct cpa_ctx *ctx, const struct cpa_module *m);

#endif
