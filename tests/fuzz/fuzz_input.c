/*
 * fuzz_input.c - libFuzzer target for everything that reads untrusted
 * request input: cpa_request_parse (FastCGI parameters and body),
 * cpa_input_parse (query strings, urlencoded forms and JSON against a
 * field table with every type), cpa_form_lookup, cpa_json_parse and
 * cpa_json_write, and the validators.  Besides the sanitizers it checks
 * the contracts in cpa.h and aborts when one is broken.
 *
 * Input layout:
 *   byte 0        method selector
 *   byte 1        content type selector
 *   up to "\n\n"  extra FastCGI parameters, one "NAME=value" per line
 *   the rest      the body (any bytes, NUL included)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NITEMS(x) (sizeof(x) / sizeof((x)[0]))
#define MAX_PARAMS 64

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: contract broken: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

static const char *const methods[] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "get", "",
};

static const char *const content_types[] = {
	"application/x-www-form-urlencoded",
	"application/json",
	"",
	"application/json; charset=utf-8",
	"Application/X-WWW-Form-Urlencoded",
	"multipart/form-data; boundary=x",
	"text/plain",
};

static const char *const colours[] = { "red", "green", "blue", NULL };

static const struct cpa_field fields[] = {
	{ "line", "Full name", CPA_FT_LINE, CPA_FF_REQUIRED, 2, 40, NULL },
	{ "text", "Notes", CPA_FT_TEXT, 0, 0, 0, NULL },
	{ "int", "Age", CPA_FT_INT, 0, -5, 130, NULL },
	{ "id", "Team", CPA_FT_ID, CPA_FF_REQUIRED, 0, 0, NULL },
	{ "bool", "Consent", CPA_FT_BOOL, 0, 0, 0, NULL },
	{ "date", "Date of birth", CPA_FT_DATE, 0, 0, 0, NULL },
	{ "enum", "Colour", CPA_FT_ENUM, CPA_FF_REQUIRED, 0, 0, colours },
	{ "nhs", "NHS number", CPA_FT_NHS_NUMBER, 0, 0, 0, NULL },
	{ "user", "Username", CPA_FT_USERNAME, 0, 0, 0, NULL },
	{ "pw", "Password", CPA_FT_PASSWORD, 0, 12, 128, NULL },
	{ "email", "Email address", CPA_FT_EMAIL, 0, 0, 0, NULL },
};

/* What every successful cpa_input_parse must give. */
static void
check_input(const struct cpa_input *in)
{
	size_t i, e = 0;

	CHECK(in->nfields == NITEMS(fields));
	CHECK(in->nerrors <= in->nfields);
	for (i = 0; i < in->nfields; i++) {
		const struct cpa_value *v = &in->values[i];

		/* Errors come one per field, in field order. */
		if (e < in->nerrors && strcmp(in->errors[e].field, fields[i].name) == 0) {
			CHECK(!v->present);
			CHECK(in->errors[e].message != NULL &&
			    in->errors[e].message[0] != '\0');
			e++;
			continue;
		}
		if (!v->present) {
			CHECK(!(fields[i].flags & CPA_FF_REQUIRED));
			continue;
		}
		CHECK(v->str != NULL && strlen(v->str) == v->len);
		CHECK(cpa_utf8_valid(v->str, v->len));
		switch (fields[i].type) {
		case CPA_FT_INT:
			CHECK(v->num >= fields[i].min && v->num <= fields[i].max);
			break;
		case CPA_FT_ID:
			CHECK(v->num >= 1);
			break;
		case CPA_FT_BOOL:
			CHECK(v->num == 0 || v->num == 1);
			break;
		case CPA_FT_NHS_NUMBER:
			CHECK(v->len == 10 && cpa_nhs_number_valid(v->str, NULL));
			break;
		case CPA_FT_DATE:
			CHECK(cpa_date_valid(v->str, NULL, NULL, NULL));
			break;
		case CPA_FT_LINE:
		case CPA_FT_PASSWORD:
			CHECK(cpa_text_valid(v->str, v->len, 0));
			break;
		default:
			break;
		}
	}
	CHECK(e == in->nerrors);
}

static void
fuzz_input(cpa_arena *a, const struct cpa_request *r)
{
	struct cpa_input in;
	struct cpa_buf b;
	json_t *errs;
	int rc;

	rc = cpa_input_parse(a, r, fields, NITEMS(fields), &in);
	CHECK(rc == CPA_OK || rc == 400 || rc == 415);
	if (rc != CPA_OK)
		return;
	check_input(&in);
	errs = cpa_json_keep(a, cpa_input_errors_json(&in));
	CHECK(json_object_size(errs) == in.nerrors);
	cpa_buf_init(&b, a);
	cpa_json_write(&b, errs);
}

/* JSON: whatever parses must write as ASCII and read back equal. */
static void
fuzz_json(cpa_arena *a, const char *s, size_t n)
{
	struct cpa_buf b;
	char err[128];
	json_t *v, *w;
	size_t i;

	err[0] = '\0';
	v = cpa_json_keep(a, cpa_json_parse(s, n, err, sizeof(err)));
	if (v == NULL) {
		CHECK(err[0] != '\0');
		return;
	}
	cpa_buf_init(&b, a);
	cpa_json_write(&b, v);
	CHECK(strlen(b.data) == b.len);
	for (i = 0; i < b.len; i++)
		CHECK((unsigned char)b.data[i] >= 0x20 && (unsigned char)b.data[i] <= 0x7f);
	CHECK(strstr(b.data, "</") == NULL);
	w = cpa_json_keep(a, cpa_json_parse(b.data, b.len, err, sizeof(err)));
	CHECK(w != NULL);
	CHECK(json_equal(v, w));
}

static void
fuzz_validators(cpa_arena *a, const char *s, size_t n)
{
	char *z = cpa_strndup(a, s, n);	/* stops at the first NUL */
	size_t zl = strlen(z), dl;
	char nhs[11];
	long long ll;
	int y, m, d;
	char *dec;

	if (cpa_utf8_valid(s, n))
		CHECK(cpa_utf8_len(s, n) <= n);
	if (cpa_text_valid(s, n, 0))
		CHECK(cpa_text_valid(s, n, 1));
	if (cpa_nhs_number_valid(z, nhs))
		CHECK(strlen(nhs) == 10);
	if (cpa_date_valid(z, &y, &m, &d))
		CHECK(y >= 1900 && y <= 2199 && m >= 1 && m <= 12 && d >= 1 && d <= 31);
	if (cpa_username_valid(z))
		CHECK(zl >= 3 && zl <= 64);
	if (cpa_email_valid(z))
		CHECK(zl <= 254 && strchr(z, '@') != NULL);
	if (cpa_parse_ll(z, -1000, 1000, &ll) == CPA_OK)
		CHECK(ll >= -1000 && ll <= 1000);
	if ((dec = cpa_url_decode(a, s, n, 1, &dl)) != NULL)
		CHECK(dl <= n && strlen(dec) == dl);
	(void)cpa_form_lookup(a, s, n, "csrf_token");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end, *sep, *body;
	char *envp[MAX_PARAMS + 8];
	struct cpa_request r;
	size_t nenv = 0, body_len;
	cpa_arena *a;
	int rc;

	if (size < 2)
		return 0;
	a = cpa_arena_new();
	end = p + size;
	r = (struct cpa_request){ 0 };
	r.method = methods[data[0] % NITEMS(methods)];
	r.content_type = content_types[data[1] % NITEMS(content_types)];
	p += 2;

	/* Parameters from the input first, so they can override ours. */
	sep = memmem(p, (size_t)(end - p), "\n\n", 2);
	body = sep != NULL ? sep + 2 : p;
	while (sep != NULL && p < sep && nenv < MAX_PARAMS) {
		const char *nl = memchr(p, '\n', (size_t)(sep - p));
		const char *le = nl != NULL ? nl : sep;

		envp[nenv++] = cpa_strndup(a, p, (size_t)(le - p));
		p = le + 1;
	}
	body_len = (size_t)(end - body);
	envp[nenv++] = cpa_sprintf(a, "REQUEST_METHOD=%s", r.method);
	envp[nenv++] = cpa_sprintf(a, "CONTENT_TYPE=%s", r.content_type);
	envp[nenv++] = cpa_strdup(a, "REQUEST_URI=/api/v1/fuzz?a=1&b=%41");
	envp[nenv++] = cpa_strdup(a, "QUERY_STRING=line=Fuzz&id=1&enum=red");
	envp[nenv++] = cpa_strdup(a, "REMOTE_ADDR=127.0.0.1");
	envp[nenv] = NULL;

	/* The whole pipeline: FastCGI parameters, then the fields. */
	{
		struct cpa_request pr;

		rc = cpa_request_parse(a, envp, body, body_len, "cpa_session", &pr);
		CHECK(rc == CPA_OK || (rc >= 400 && rc <= 499));
		if (rc == CPA_OK) {
			CHECK(pr.method != NULL && pr.path != NULL && pr.query != NULL);
			CHECK(pr.content_type != NULL && pr.body != NULL);
			CHECK(pr.body_len == body_len);
			CHECK(pr.path[0] == '/' && cpa_utf8_valid(pr.path, strlen(pr.path)));
			fuzz_input(a, &pr);
		}
	}

	/* The body straight into the input parser, the JSON reader and the
	 * validators, whatever the FastCGI layer thought of it. */
	r.body = cpa_strndup(a, body, body_len);
	r.body_len = body_len;
	r.query = cpa_strndup(a, body, body_len);
	fuzz_input(a, &r);
	fuzz_json(a, body, body_len);
	fuzz_validators(a, body, body_len);

	cpa_arena_free(a);
	return 0;
}
