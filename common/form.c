/*
 * form.c - one validated-input API over query strings, urlencoded forms and
 * JSON bodies.  A handler declares its fields in a table (struct cpa_field,
 * like kcgi's kvalid) and gets back normalised, typed values plus at most
 * one plain-English message per failing field; names it did not declare
 * never reach it.  A body that is malformed as a whole (bad escapes, NUL
 * bytes, invalid UTF-8, bad JSON, too many pairs) is refused with 400
 * before any field is looked at.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cpa.h"

#define MAX_PAIRS 256
#define LINE_MAX_DEFAULT 200
#define TEXT_MAX_DEFAULT 10000

#define FORM_TYPE "application/x-www-form-urlencoded"
#define JSON_TYPE "application/json"

/* One decoded name=value pair; both NUL-terminated arena copies. */
struct pair {
	const char *name;
	const char *value;
	size_t vlen;
};

/* What the client sent for one field: a string (form value, or JSON
 * string), or a JSON value of another type.  Both NULL when absent. */
struct raw {
	const char *s;
	size_t len;
	const json_t *j;
	int json;		/* came from a JSON body */
};

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
cpa_url_decode(cpa_arena *a, const char *s, size_t n, int form, size_t *outlen)
{
	char *out = cpa_alloc(a, n + 1);
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (n - i < 3 ||
			    (hi = hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)s[i + 2])) < 0)
				return NULL;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && form)
			c = ' ';
		if (c == '\0')
			return NULL;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return out;
}

/* Length of the segment at s (n bytes left) up to the next '&'. */
static size_t
segment(const char *s, size_t n)
{
	const char *amp = memchr(s, '&', n);

	return amp != NULL ? (size_t)(amp - s) : n;
}

/* Decode every pair of an urlencoded string (empty segments skipped, a
 * segment without '=' has the value "").  Returns CPA_OK with *pairs in the
 * arena, or 400 for a malformed escape, a NUL byte, invalid UTF-8 or more
 * than MAX_PAIRS pairs. */
static int
urlencoded_parse(cpa_arena *a, const char *s, size_t n, struct pair **pairs,
    size_t *npairs)
{
	struct pair *p;
	size_t i, count = 0, seg;

	*pairs = NULL;
	*npairs = 0;
	for (i = 0; i < n; i += seg + 1)
		if ((seg = segment(s + i, n - i)) > 0 && ++count > MAX_PAIRS)
			return 400;
	if (count == 0)
		return CPA_OK;
	p = cpa_alloc(a, count * sizeof(*p));
	for (i = 0; i < n; i += seg + 1) {
		struct pair *pp = &p[*npairs];
		const char *eq;
		size_t rawname, nlen;

		if ((seg = segment(s + i, n - i)) == 0)
			continue;
		eq = memchr(s + i, '=', seg);
		rawname = eq != NULL ? (size_t)(eq - (s + i)) : seg;
		pp->name = cpa_url_decode(a, s + i, rawname, 1, &nlen);
		if (eq != NULL)
			pp->value = cpa_url_decode(a, eq + 1, seg - rawname - 1,
			    1, &pp->vlen);
		else
			pp->value = cpa_strdup(a, "");
		if (pp->name == NULL || pp->value == NULL ||
		    !cpa_utf8_valid(pp->name, nlen) ||
		    !cpa_utf8_valid(pp->value, pp->vlen))
			return 400;
		(*npairs)++;
	}
	*pairs = p;
	return CPA_OK;
}

const char *
cpa_form_lookup(cpa_arena *a, const char *body, size_t len, const char *name)
{
	struct pair *pairs;
	size_t i, npairs;

	if (body == NULL || name == NULL ||
	    urlencoded_parse(a, body, len, &pairs, &npairs) != CPA_OK)
		return NULL;
	for (i = 0; i < npairs; i++)
		if (strcmp(pairs[i].name, name) == 0)
			return pairs[i].value;
	return NULL;
}

/* ------------------------------------------------------------ messages */

/* The label as it starts a sentence: first letter upper case. */
static const char *
label_start(cpa_arena *a, const char *label)
{
	char *s = cpa_strdup(a, label != NULL ? label : "Value");

	if (s[0] >= 'a' && s[0] <= 'z')
		s[0] = (char)(s[0] - 'a' + 'A');
	return s;
}

/* The label inside a sentence: first letter lower case, unless the label
 * starts with an abbreviation ("NHS number"). */
static const char *
label_inner(cpa_arena *a, const char *label)
{
	char *s = cpa_strdup(a, label != NULL ? label : "value");

	if (s[0] >= 'A' && s[0] <= 'Z' && !(s[1] >= 'A' && s[1] <= 'Z'))
		s[0] = (char)(s[0] - 'A' + 'a');
	return s;
}

/* "<Label> <rest>" */
static const char *
msg_after(cpa_arena *a, const struct cpa_field *f, const char *rest)
{
	return cpa_sprintf(a, "%s %s", label_start(a, f->label), rest);
}

static const char *
msg_length(cpa_arena *a, const struct cpa_field *f, const char *s, size_t len,
    long long defmax)
{
	long long max = f->max > 0 ? f->max : defmax;
	size_t chars = cpa_utf8_len(s, len);

	if (max > 0 && chars > (unsigned long long)max)
		return cpa_sprintf(a, "%s must be %lld characters or fewer",
		    label_start(a, f->label), max);
	if (f->min > 0 && chars < (unsigned long long)f->min)
		return cpa_sprintf(a, "%s must be at least %lld characters",
		    label_start(a, f->label), f->min);
	return NULL;
}

/* -------------------------------------------------------------- checks */

/* Each check gets a present value (a non-empty string, or a JSON value of
 * a type the table says it accepts) and returns NULL after filling v, or
 * the message for the field. */
typedef const char *(*field_check)(cpa_arena *, const struct cpa_field *,
    const struct raw *, struct cpa_value *);

static const char *
check_line(cpa_arena *a, const struct cpa_field *f, const struct raw *r,
    struct cpa_value *v)
{
	(void)v;
	if (!cpa_text_valid(r->s, r->len, 0))
		return msg_after(a, f, "must not contain control characters");
	return msg_length(a, f, r->s, r->len, LINE_MAX_DEFAULT);
}

static const char *
check_text(cpa_arena *a, const struct cpa_field *f, const struct raw *r,
    struct cpa_value *v)
{
	(void)v;
	if (!cpa_text_valid(r->s, r->len, 1))
		return msg_after(a, f, "must not contain control characters");
	return msg_length(a, f, r->s, r->len, TEXT_MAX_DEFAULT);
}

/* Without a declared max a password is still bounded by the policy's. */
static const char *
check_password(cpa_arena *a, const struct cpa_field *f, const struct raw *r,
    struct cpa_value *v)
{
	(void)v;
	if (!cpa_text_valid(r->s, r->len, 0))
		return msg_after(a, f, "must not contain control characters");
	return msg_length(a, f, r->s, r->len, CPA_PASSWORD_MAX);
}

static const char *
check_int(cpa_arena *a, const struct cpa_field *f, const struct raw *r,
    struct cpa_value *v)
{
	long long n = 0;
	int ok;

	if (r->j != NULL) {
		if (!json_is_integer(r->j))
			return msg_after(a, f, "must be a whole number");
		n = json_integer_value(r->j);
		ok = n >= f->min && n <= f->max;
	} else
		ok = cpa_parse_ll(r->s, f->min, f->max, &n) == CPA_OK;
	if (!ok)
		return cpa_sprintf(a, "%s must be a whole number from %lld to %lld",
		    label_start(a, f->label), f->min, f->max);
	v->num = n;
	v->str = cpa_sprintf(a, "%lld", n);
	v->len = strlen(v->str);
	return NULL;
}

static const char *
check_id(cpa_arena *a, const struct cpa_field *f, const struct raw *r,
    struct cpa_value *v)
{
	long long n;

	if (r->j != NULL) {
		if (!json_is_integer(r->j))
			return msg_after(a, f, "must be a whole number");
		n = json_integer_value(r->j);
		if (n < 1)
			return msg_after(a, f, "must be a valid identifier");
	} else if (cpa_parse_ll(r->s, 1, LLONG_MAX, &n) != CPA_OK)
		return msg_after(a, f, "must be a valid identifier");
	v->num = n;
	v->str = cpa_sprintf(a, "%lld", n);
	v->len = strlen(v->str);
	return NULL;
}

static const char *
check_bool(cpa_arena *a, const struct cpa_field *f, const struct raw *r,
    struct cpa_value *v)
{
	static const struct {
		const char *word;
		int value;
	} words[] = {
		{ "on", 1 }, { "true", 1 }, { "1", 1 }, { "yes", 1 },
		{ "", 0 }, { "false", 0 }, { "0", 0 }, { "no", 0 }, { "off", 0 },
	};
	size_t i;
	int b = -1;

	if (r->j != NULL) {
		if (json_is_boolean(r->j))
			b = json_is_true(r->j);
	} else {
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strcasecmp(r->s, words[i].word) == 0) {
				b = words[i].value;
				break;
			}
	}
	if (b < 0)
		return msg_after(a, f, "must be true or false");
	v->num = b;
	v->str = b ? "true" : "false";
	v->len = strlen(v->str);
	return NULL;
}

static const char *
check_date(cpa_arena *a, const struct cpa_field *f, const struct raw *r,
    struct cpa_value *v)
{
	(void)v;
	if (!cpa_date_valid(r->s, NULL, NULL, NULL))
		return msg_after(a, f, "must be a real date, like 2025-03-27");
	return NULL;
}

static const char *
check_timestamp(cpa_arena *a, const struct cpa_field *f, const struct raw *r,
    struct cpa_value *v)
{
	(void)v;
	if (!cpa_timestamp_valid(r->s, NULL))
		return msg_after(a, f, "must be a real date and time, like 2025-03-27T14:05");
	return NULL;
}

static const char *
check_enum(cpa_arena *a, const struct cpa_field *f, const struct raw *r,
    struct cpa_value *v)
{
	const char *const *c;

	(void)v;
	for (c = f->choices; c != NULL && *c != NULL; c++)
		if (strcmp(*c, r->s) == 0)
			return NULL;
	return cpa_sprintf(a, "Select a valid %s", label_inner(a, f->label));
}

static const char *
check_nhs_number(cpa_arena *a, const struct cpa_field *f, const struct raw *r,
    struct cpa_value *v)
{
	char digits[11];
	size_t i, nd = 0;

	for (i = 0; i < r->len; i++) {
		if (r->s[i] >= '0' && r->s[i] <= '9')
			nd++;
		else if (r->s[i] != ' ')
			return msg_after(a, f, "must be 10 digits");
	}
	if (nd != 10)
		return msg_after(a, f, "must be 10 digits");
	if (!cpa_nhs_number_valid(r->s, digits))
		return msg_after(a, f, "is not a valid NHS number");
	v->str = cpa_strndup(a, digits, 10);
	v->len = 10;
	return NULL;
}

static const char *
check_username(cpa_arena *a, const struct cpa_field *f, const struct raw *r,
    struct cpa_value *v)
{
	(void)v;
	if (!cpa_username_valid(r->s))
		return msg_after(a, f, "must be 3 to 64 characters: lower-case "
		    "letters, digits, dots, hyphens or underscores, starting "
		    "with a letter");
	return NULL;
}

static const char *
check_email(cpa_arena *a, const struct cpa_field *f, const struct raw *r,
    struct cpa_value *v)
{
	(void)v;
	if (!cpa_email_valid(r->s))
		return cpa_sprintf(a, "Enter %s in the correct format, like "
		    "name@example.nhs.uk", label_inner(a, f->label));
	return msg_length(a, f, r->s, r->len, 0);
}

/* Per type: the check, whether surrounding whitespace is trimmed, the verb
 * for a missing required value, which JSON types it takes (strings, other
 * types: the check then sorts out which), and what a value of the wrong
 * JSON type is told. */
static const struct ftype_rule {
	field_check check;
	int trim;
	const char *missing;
	int json_string;
	int json_other;
	const char *wrong_type;
} ftype_rules[] = {
	[CPA_FT_LINE] = { check_line, 1, "Enter", 1, 0, "must be text" },
	[CPA_FT_TEXT] = { check_text, 1, "Enter", 1, 0, "must be text" },
	[CPA_FT_INT] = { check_int, 1, "Enter", 1, 1, "must be a whole number" },
	[CPA_FT_ID] = { check_id, 1, "Enter", 1, 1, "must be a whole number" },
	[CPA_FT_BOOL] = { check_bool, 1, "Enter", 0, 1, "must be true or false" },
	[CPA_FT_DATE] = { check_date, 1, "Enter", 1, 0, "must be text" },
	[CPA_FT_ENUM] = { check_enum, 1, "Select", 1, 0, "must be text" },
	[CPA_FT_NHS_NUMBER] = { check_nhs_number, 1, "Enter", 1, 0, "must be text" },
	[CPA_FT_USERNAME] = { check_username, 1, "Enter", 1, 0, "must be text" },
	[CPA_FT_PASSWORD] = { check_password, 0, "Enter", 1, 0, "must be text" },
	[CPA_FT_EMAIL] = { check_email, 1, "Enter", 1, 0, "must be text" },
	[CPA_FT_TIMESTAMP] = { check_timestamp, 1, "Enter", 1, 0, "must be text" },
};

static int
ascii_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

/* Validate one field's raw value into v.  Returns NULL or the message. */
static const char *
field_validate(cpa_arena *a, const struct cpa_field *f, struct raw *r,
    struct cpa_value *v)
{
	const struct ftype_rule *rule = &ftype_rules[f->type];
	const char *msg;

	if ((r->j != NULL && !rule->json_other) ||
	    (r->s != NULL && r->json && !rule->json_string))
		return msg_after(a, f, rule->wrong_type);
	if (r->s != NULL) {
		const char *s = r->s;
		size_t n = r->len;

		if (rule->trim) {
			while (n > 0 && ascii_space(*s)) {
				s++;
				n--;
			}
			while (n > 0 && ascii_space(s[n - 1]))
				n--;
		}
		/* An unticked checkbox may come as "": that is "false". */
		if (n == 0 && f->type != CPA_FT_BOOL)
			r->s = NULL;
		else {
			r->s = cpa_strndup(a, s, n);
			r->len = n;
		}
	}
	if (r->s == NULL && r->j == NULL) {
		if (f->flags & CPA_FF_REQUIRED)
			return cpa_sprintf(a, "%s %s", rule->missing,
			    label_inner(a, f->label));
		return NULL;
	}
	if ((msg = rule->check(a, f, r, v)) != NULL)
		return msg;
	if (v->str == NULL) {
		v->str = r->s;
		v->len = r->len;
	}
	v->present = 1;
	return NULL;
}

/* The raw value of every field from urlencoded text: the first pair with
 * the field's name. */
static int
raw_from_urlencoded(cpa_arena *a, const char *s, size_t n,
    const struct cpa_field *fields, size_t nfields, struct raw *raws)
{
	struct pair *pairs;
	size_t i, k, npairs;
	int rc;

	if ((rc = urlencoded_parse(a, s, n, &pairs, &npairs)) != CPA_OK)
		return rc;
	for (i = 0; i < nfields; i++)
		for (k = 0; k < npairs; k++)
			if (strcmp(pairs[k].name, fields[i].name) == 0) {
				raws[i].s = pairs[k].value;
				raws[i].len = pairs[k].vlen;
				break;
			}
	return CPA_OK;
}

/* Zero every string in a parsed body before releasing it, so passwords do
 * not linger in freed heap memory.  The document passed cpa_json_parse, so
 * the recursion is at most 32 deep. */
static void
json_wipe(json_t *v)
{
	const char *key;
	json_t *child;
	size_t i;

	if (json_is_string(v))
		cpa_secret_wipe((char *)(uintptr_t)json_string_value(v),
		    json_string_length(v));
	else if (json_is_array(v)) {
		json_array_foreach(v, i, child)
			json_wipe(child);
	} else if (json_is_object(v)) {
		json_object_foreach(v, key, child)
			json_wipe(child);
	}
}

static void
json_wipe_release(void *v)
{
	json_wipe(v);
	json_decref(v);
}

/* The raw value of every field from a JSON object; null counts as absent.
 * The parsed document lives until the arena is freed (raws point into it)
 * and its strings are zeroed then. */
static int
raw_from_json(cpa_arena *a, const char *s, size_t n,
    const struct cpa_field *fields, size_t nfields, struct raw *raws)
{
	char err[128];
	json_t *doc, *v;
	size_t i;

	if ((doc = cpa_json_parse(s, n, err, sizeof(err))) == NULL)
		return 400;
	cpa_arena_defer(a, json_wipe_release, doc);
	if (!json_is_object(doc))
		return 400;
	for (i = 0; i < nfields; i++) {
		v = json_object_get(doc, fields[i].name);
		if (v == NULL || json_is_null(v))
			continue;
		raws[i].json = 1;
		if (json_is_string(v)) {
			raws[i].s = json_string_value(v);
			raws[i].len = json_string_length(v);
		} else
			raws[i].j = v;
	}
	return CPA_OK;
}

int
cpa_input_parse(cpa_arena *a, const struct cpa_request *r,
    const struct cpa_field *fields, size_t nfields, struct cpa_input *in)
{
	const char *method = r->method != NULL ? r->method : "GET";
	const char *ctype = r->content_type != NULL ? r->content_type : "";
	const char *body = r->body != NULL ? r->body : "";
	size_t body_len = r->body != NULL ? r->body_len : 0;
	struct raw *raws;
	const char *msg;
	size_t i;
	int rc;

	memset(in, 0, sizeof(*in));
	in->fields = fields;
	in->nfields = nfields;
	in->values = cpa_alloc(a, (nfields + 1) * sizeof(*in->values));
	in->errors = cpa_alloc(a, (nfields + 1) * sizeof(*in->errors));
	raws = cpa_alloc(a, (nfields + 1) * sizeof(*raws));
	for (i = 0; i < nfields; i++)
		if ((unsigned)fields[i].type >= sizeof(ftype_rules) / sizeof(ftype_rules[0]) ||
		    ftype_rules[fields[i].type].check == NULL)
			return 500;

	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
		const char *q = r->query != NULL ? r->query : "";

		rc = raw_from_urlencoded(a, q, strlen(q), fields, nfields, raws);
	} else if (strcmp(ctype, FORM_TYPE) == 0)
		rc = raw_from_urlencoded(a, body, body_len, fields, nfields, raws);
	else if (strcmp(ctype, JSON_TYPE) == 0)
		rc = raw_from_json(a, body, body_len, fields, nfields, raws);
	else if (ctype[0] == '\0' && body_len == 0)
		rc = CPA_OK;
	else
		rc = 415;
	if (rc != CPA_OK)
		return rc;

	for (i = 0; i < nfields; i++) {
		if ((msg = field_validate(a, &fields[i], &raws[i], &in->values[i])) == NULL)
			continue;
		in->values[i] = (struct cpa_value){ 0 };
		in->errors[in->nerrors].field = fields[i].name;
		in->errors[in->nerrors].message = msg;
		in->nerrors++;
	}
	return CPA_OK;
}

json_t *
cpa_input_errors_json(const struct cpa_input *in)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < in->nerrors; i++)
		json_object_set_new(o, in->errors[i].field,
		    json_string(in->errors[i].message));
	return o;
}

const char *
cpa_value_or_null(const struct cpa_value *v)
{
	return v->present ? v->str : NULL;
}

void
cpa_input_add_error(cpa_arena *a, struct cpa_input *in, const char *field,
    const char *message)
{
	struct cpa_field_error *e;

	e = cpa_alloc(a, sizeof(*e) * (in->nerrors + 1));
	if (in->nerrors > 0)
		memcpy(e, in->errors, sizeof(*e) * in->nerrors);
	e[in->nerrors].field = field;
	e[in->nerrors].message = message;
	in->errors = e;
	in->nerrors++;
}

const char *
cpa_input_error(const struct cpa_input *in, const char *field)
{
	size_t i;

	for (i = 0; i < in->nerrors; i++)
		if (strcmp(in->errors[i].field, field) == 0)
			return in->errors[i].message;
	return NULL;
}

struct cpa_input
cpa_input_prefixed(cpa_arena *a, const struct cpa_input *in, const char *prefix)
{
	struct cpa_input p = *in;
	struct cpa_field_error *e;
	size_t i;

	e = cpa_alloc(a, sizeof(*e) * (in->nerrors + 1));
	for (i = 0; i < in->nerrors; i++) {
		e[i].field = cpa_sprintf(a, "%s%s", prefix, in->errors[i].field);
		e[i].message = in->errors[i].message;
	}
	p.errors = e;
	return p;
}

json_t *
cpa_input_typed(const struct cpa_input *in)
{
	json_t *f = json_object();
	size_t i;

	for (i = 0; in != NULL && i < in->nfields; i++)
		if (in->values[i].present)
			json_object_set_new(f, in->fields[i].name,
			    json_string(in->values[i].str));
	return f;
}

int
cpa_idempotency_key(const struct cpa_request *r, struct cpa_value *v, size_t max)
{
	const char *hdr = r->idempotency_key;
	size_t n;

	if (hdr == NULL)
		return CPA_OK;
	n = strlen(hdr);
	if (!cpa_text_valid(hdr, n, 0) || cpa_utf8_len(hdr, n) < 8 ||
	    cpa_utf8_len(hdr, n) > max)
		return CPA_EINPUT;
	v->present = 1;
	v->str = hdr;
	v->len = n;
	return CPA_OK;
}
