/*
 * test_form.c - form.c: percent-decoding, the urlencoded and JSON readers,
 * every field type and every message, the same answers for a form and for
 * JSON, the 400/415 refusals, the helpers handlers use on a parsed input,
 * and the Idempotency-Key header.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cpa.h"
#include "unit.h"

#define NITEMS(x) (sizeof(x) / sizeof((x)[0]))

static const char *const urgency_choices[] = { "emergency", "urgent", "routine", NULL };

/* One field of every type; indexes below follow this order. */
enum { F_NAME, F_NOTES, F_AGE, F_TEAM, F_CONSENT, F_DOB, F_URGENCY, F_NHS,
    F_USERNAME, F_PASSWORD, F_EMAIL, F_COUNT };

static const struct cpa_field all_fields[] = {
	{ "name", "Full name", CPA_FT_LINE, CPA_FF_REQUIRED, 2, 20, NULL },
	{ "notes", "Notes", CPA_FT_TEXT, 0, 0, 30, NULL },
	{ "age", "Age", CPA_FT_INT, 0, 0, 130, NULL },
	{ "team_id", "Team", CPA_FT_ID, 0, 0, 0, NULL },
	{ "consent", "Consent", CPA_FT_BOOL, 0, 0, 0, NULL },
	{ "dob", "Date of birth", CPA_FT_DATE, 0, 0, 0, NULL },
	{ "urgency", "Urgency", CPA_FT_ENUM, CPA_FF_REQUIRED, 0, 0, urgency_choices },
	{ "nhs_number", "NHS number", CPA_FT_NHS_NUMBER, 0, 0, 0, NULL },
	{ "username", "Username", CPA_FT_USERNAME, 0, 0, 0, NULL },
	{ "password", "Password", CPA_FT_PASSWORD, 0, 12, 128, NULL },
	{ "email", "Email address", CPA_FT_EMAIL, 0, 0, 0, NULL },
};

static struct cpa_request
req(const char *method, const char *ctype, const char *body, size_t len,
    const char *query)
{
	struct cpa_request r;

	memset(&r, 0, sizeof(r));
	r.method = method;
	r.content_type = ctype;
	r.body = body;
	r.body_len = len;
	r.query = query;
	return r;
}

static int
parse_form(cpa_arena *a, const char *body, const struct cpa_field *f, size_t nf,
    struct cpa_input *in)
{
	struct cpa_request r = req("POST", "application/x-www-form-urlencoded",
	    body, strlen(body), "");

	return cpa_input_parse(a, &r, f, nf, in);
}

static int
parse_json(cpa_arena *a, const char *body, const struct cpa_field *f, size_t nf,
    struct cpa_input *in)
{
	struct cpa_request r = req("POST", "application/json", body, strlen(body), "");

	return cpa_input_parse(a, &r, f, nf, in);
}

/* ------------------------------------------------------------ decoding */

static void
test_url_decode(void **state)
{
	cpa_arena *a = *state;
	size_t n = 99;
	char *s;

	s = cpa_url_decode(a, "a%20b+c%2Bd%2fe", 15, 1, &n);
	assert_string_equal(s, "a b c+d/e");
	assert_int_equal(n, 9);
	s = cpa_url_decode(a, "a+b", 3, 0, &n);
	assert_string_equal(s, "a+b");
	s = cpa_url_decode(a, "%C3%A9%c3%a9", 12, 1, &n);
	assert_string_equal(s, "\xc3\xa9\xc3\xa9");
	assert_int_equal(n, 4);
	/* Only n bytes are read. */
	s = cpa_url_decode(a, "abc%41", 3, 1, &n);
	assert_string_equal(s, "abc");
	assert_non_null(cpa_url_decode(a, "", 0, 1, NULL));

	assert_null(cpa_url_decode(a, "%", 1, 1, &n));
	assert_null(cpa_url_decode(a, "a%4", 3, 1, &n));
	assert_null(cpa_url_decode(a, "%4g", 3, 1, &n));
	assert_null(cpa_url_decode(a, "%g4", 3, 1, &n));
	assert_null(cpa_url_decode(a, "%%41", 4, 1, &n));
	assert_null(cpa_url_decode(a, "a%00b", 5, 1, &n));
	assert_null(cpa_url_decode(a, "a\0b", 3, 1, &n));
	/* "%4" at the end of the given length, though more follows. */
	assert_null(cpa_url_decode(a, "%41%4142", 5, 1, &n));
}

static void
test_form_lookup(void **state)
{
	cpa_arena *a = *state;
	const char *body = "username=a&csrf_token=t%2Bk+1&csrf_token=second&flag";

	assert_string_equal(cpa_form_lookup(a, body, strlen(body), "csrf_token"), "t+k 1");
	assert_string_equal(cpa_form_lookup(a, body, strlen(body), "username"), "a");
	assert_string_equal(cpa_form_lookup(a, body, strlen(body), "flag"), "");
	assert_null(cpa_form_lookup(a, body, strlen(body), "missing"));
	assert_null(cpa_form_lookup(a, body, strlen(body), "csrf"));
	/* Names are compared decoded. */
	assert_string_equal(cpa_form_lookup(a, "csrf%5Ftoken=x", 14, "csrf_token"), "x");
	/* Malformed bodies give NULL. */
	assert_null(cpa_form_lookup(a, "csrf_token=x&y=%zz", 18, "csrf_token"));
	assert_null(cpa_form_lookup(a, "csrf_token=%ff", 14, "csrf_token"));
	assert_null(cpa_form_lookup(a, "csrf_token=a%00", 15, "csrf_token"));
	assert_null(cpa_form_lookup(a, NULL, 0, "csrf_token"));
	assert_null(cpa_form_lookup(a, "", 0, "csrf_token"));
}

/* ----------------------------------------------------- refused bodies */

static void
test_content_types(void **state)
{
	static const struct cpa_field f[] = {
		{ "a", "A", CPA_FT_LINE, 0, 0, 0, NULL },
	};
	cpa_arena *a = *state;
	struct cpa_input in;
	struct cpa_request r;

	r = req("POST", "multipart/form-data", "--x\r\n", 5, "");
	assert_int_equal(cpa_input_parse(a, &r, f, 1, &in), 415);
	r = req("POST", "text/plain", "a=1", 3, "");
	assert_int_equal(cpa_input_parse(a, &r, f, 1, &in), 415);
	r = req("PUT", "text/plain", "", 0, "");
	assert_int_equal(cpa_input_parse(a, &r, f, 1, &in), 415);
	r = req("POST", "", "a=1", 3, "");
	assert_int_equal(cpa_input_parse(a, &r, f, 1, &in), 415);
	/* Empty body without a type: no fields. */
	r = req("DELETE", "", "", 0, "a=from-query");
	assert_int_equal(cpa_input_parse(a, &r, f, 1, &in), CPA_OK);
	assert_false(in.values[0].present);
	assert_int_equal(in.nerrors, 0);
	/* A POST never reads the query string. */
	r = req("POST", "application/x-www-form-urlencoded", "", 0, "a=q");
	assert_int_equal(cpa_input_parse(a, &r, f, 1, &in), CPA_OK);
	assert_false(in.values[0].present);
	/* GET and HEAD read only the query string, whatever the body. */
	r = req("GET", "text/plain", "a=body", 6, "a=query");
	assert_int_equal(cpa_input_parse(a, &r, f, 1, &in), CPA_OK);
	assert_string_equal(in.values[0].str, "query");
	r = req("HEAD", "", "", 0, "a=h%C3%A9");
	assert_int_equal(cpa_input_parse(a, &r, f, 1, &in), CPA_OK);
	assert_string_equal(in.values[0].str, "h\xc3\xa9");
	/* Missing pointers count as empty. */
	r = req("GET", NULL, NULL, 0, NULL);
	assert_int_equal(cpa_input_parse(a, &r, f, 1, &in), CPA_OK);
	assert_false(in.values[0].present);
}

static void
test_malformed_urlencoded(void **state)
{
	static const struct cpa_field f[] = {
		{ "a", "A", CPA_FT_LINE, 0, 0, 0, NULL },
	};
	static const char *const bad[] = {
		"a=%", "a=%4", "a=%zz", "a=1&b=%G0", "a=%00", "a%00=1",
		"a=%ff", "a=%c3", "a=%c0%80", "a=%ed%a0%80", "a=%f4%90%80%80",
		"undeclared=%e2%82", "%=x",
	};
	cpa_arena *a = *state;
	struct cpa_input in;
	struct cpa_request r;
	size_t i;

	for (i = 0; i < NITEMS(bad); i++) {
		if (parse_form(a, bad[i], f, 1, &in) != 400)
			fail_msg("form \"%s\" not refused", bad[i]);
		r = req("GET", "", "", 0, bad[i]);
		if (cpa_input_parse(a, &r, f, 1, &in) != 400)
			fail_msg("query \"%s\" not refused", bad[i]);
	}
	/* A raw NUL or invalid byte inside the body. */
	r = req("POST", "application/x-www-form-urlencoded", "a=1\0b=2", 7, "");
	assert_int_equal(cpa_input_parse(a, &r, f, 1, &in), 400);
	r = req("POST", "application/x-www-form-urlencoded", "a=\xff", 3, "");
	assert_int_equal(cpa_input_parse(a, &r, f, 1, &in), 400);
}

static void
test_pair_limit(void **state)
{
	static const struct cpa_field f[] = {
		{ "k", "K", CPA_FT_LINE, 0, 0, 0, NULL },
	};
	cpa_arena *a = *state;
	struct cpa_input in;
	struct cpa_buf b;
	int i;

	cpa_buf_init(&b, a);
	for (i = 0; i < 256; i++)
		cpa_buf_printf(&b, "%sx%d=%d", i ? "&" : "", i, i);
	cpa_buf_puts(&b, "&&&");	/* empty segments are not pairs */
	assert_int_equal(parse_form(a, b.data, f, 1, &in), CPA_OK);
	cpa_buf_puts(&b, "&k=257");
	assert_int_equal(parse_form(a, b.data, f, 1, &in), 400);
}

static void
test_malformed_json(void **state)
{
	static const struct cpa_field f[] = {
		{ "a", "A", CPA_FT_LINE, 0, 0, 0, NULL },
	};
	static const char *const bad[] = {
		"", "{", "{\"a\":}", "[]", "[{\"a\":\"x\"}]", "\"a\"", "42", "null",
		"{\"a\":\"x\",\"a\":\"y\"}", "{\"b\":1,\"b\":1}", "{\"a\":\"x\"} {}",
		"{\"a\":\"\\u0000\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\xc0\x80\"}",
		"{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	};
	cpa_arena *a = *state;
	struct cpa_input in;
	size_t i;

	for (i = 0; i < NITEMS(bad); i++)
		if (parse_json(a, bad[i], f, 1, &in) != 400)
			fail_msg("JSON \"%s\" not refused", bad[i]);
	/* 31 levels under the top object are allowed. */
	assert_int_equal(parse_json(a,
	    "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	    f, 1, &in), CPA_OK);
	assert_string_equal(cpa_input_error(&in, "a"), "A must be text");
}

/* ------------------------------------------------- values and messages */

static void
test_valid_everything(void **state)
{
	const char *form =
	    "name=+Ada+Lovelace%09&notes=line+1%0D%0Aline%092&age=036&team_id=12"
	    "&consent=on&dob=1815-12-10&urgency=urgent&nhs_number=943+476+5919"
	    "&username=ada.l&password=+correct+horse+&email=ada%40example.nhs.uk"
	    "&ignored=1";
	const char *json =
	    "{\"name\":\" Ada Lovelace\\t\",\"notes\":\"line 1\\r\\nline\\t2\","
	    "\"age\":36,\"team_id\":\"12\",\"consent\":true,\"dob\":\"1815-12-10\","
	    "\"urgency\":\"urgent\",\"nhs_number\":\"943 476 5919\","
	    "\"username\":\"ada.l\",\"password\":\" correct horse \","
	    "\"email\":\"ada@example.nhs.uk\",\"ignored\":{\"x\":[1]}}";
	cpa_arena *a = *state;
	struct cpa_input in[2];
	int k;

	/* The 1815 date is outside the accepted range: use it to check
	 * that everything else still validates, then fix it. */
	assert_int_equal(parse_form(a, form, all_fields, F_COUNT, &in[0]), CPA_OK);
	assert_int_equal(in[0].nerrors, 1);
	assert_string_equal(in[0].errors[0].field, "dob");

	form = cpa_sprintf(a, "%s", form);
	memcpy(strstr(form, "1815"), "1915", 4);
	json = cpa_sprintf(a, "%s", json);
	memcpy(strstr(json, "1815"), "1915", 4);
	assert_int_equal(parse_form(a, form, all_fields, F_COUNT, &in[0]), CPA_OK);
	assert_int_equal(parse_json(a, json, all_fields, F_COUNT, &in[1]), CPA_OK);
	for (k = 0; k < 2; k++) {
		const struct cpa_value *v = in[k].values;
		size_t i;

		assert_int_equal(in[k].nerrors, 0);
		assert_ptr_equal(in[k].fields, all_fields);
		assert_int_equal(in[k].nfields, F_COUNT);
		for (i = 0; i < F_COUNT; i++)
			if (!v[i].present || strlen(v[i].str) != v[i].len)
				fail_msg("field %zu not present or bad length", i);
		assert_string_equal(v[F_NAME].str, "Ada Lovelace");
		assert_int_equal(v[F_NAME].len, 12);
		assert_string_equal(v[F_NOTES].str, "line 1\r\nline\t2");
		assert_int_equal(v[F_AGE].num, 36);
		assert_string_equal(v[F_AGE].str, "36");
		assert_int_equal(v[F_TEAM].num, 12);
		assert_string_equal(v[F_TEAM].str, "12");
		assert_int_equal(v[F_CONSENT].num, 1);
		assert_string_equal(v[F_DOB].str, "1915-12-10");
		assert_string_equal(v[F_URGENCY].str, "urgent");
		assert_string_equal(v[F_NHS].str, "9434765919");
		assert_int_equal(v[F_NHS].len, 10);
		assert_string_equal(v[F_USERNAME].str, "ada.l");
		/* Passwords are taken exactly as typed. */
		assert_string_equal(v[F_PASSWORD].str, " correct horse ");
		assert_string_equal(v[F_EMAIL].str, "ada@example.nhs.uk");
	}
}

static void
test_required_messages(void **state)
{
	cpa_arena *a = *state;
	struct cpa_input in;

	/* Absent, empty, or only whitespace: all "missing". */
	assert_int_equal(parse_form(a, "", all_fields, F_COUNT, &in), CPA_OK);
	assert_int_equal(in.nerrors, 2);
	assert_string_equal(in.errors[0].field, "name");
	assert_string_equal(in.errors[0].message, "Enter full name");
	assert_string_equal(in.errors[1].field, "urgency");
	assert_string_equal(in.errors[1].message, "Select urgency");
	assert_int_equal(parse_form(a, "name=+%20%09&urgency=", all_fields,
	    F_COUNT, &in), CPA_OK);
	assert_int_equal(in.nerrors, 2);
	assert_string_equal(cpa_input_error(&in, "name"), "Enter full name");
	assert_int_equal(parse_json(a, "{\"name\":\"  \",\"urgency\":null}",
	    all_fields, F_COUNT, &in), CPA_OK);
	assert_int_equal(in.nerrors, 2);
	assert_string_equal(cpa_input_error(&in, "urgency"), "Select urgency");
	/* Optional fields left out are simply not present. */
	assert_false(in.values[F_AGE].present);
	assert_false(in.values[F_EMAIL].present);
	assert_null(in.values[F_EMAIL].str);
}

static void
test_label_case(void **state)
{
	static const struct cpa_field f[] = {
		{ "a", "Username", CPA_FT_LINE, CPA_FF_REQUIRED, 0, 0, NULL },
		{ "b", "NHS number", CPA_FT_NHS_NUMBER, CPA_FF_REQUIRED, 0, 0, NULL },
		{ "c", "GP practice", CPA_FT_ENUM, CPA_FF_REQUIRED, 0, 0, urgency_choices },
		{ "d", "date of review", CPA_FT_DATE, CPA_FF_REQUIRED, 0, 0, NULL },
		{ "e", "X", CPA_FT_LINE, CPA_FF_REQUIRED, 0, 0, NULL },
		{ "f", "email", CPA_FT_EMAIL, 0, 0, 0, NULL },
		{ "g", "Site", CPA_FT_ENUM, 0, 0, 0, urgency_choices },
		{ "h", "date of review", CPA_FT_DATE, 0, 0, 0, NULL },
	};
	cpa_arena *a = *state;
	struct cpa_input in;

	assert_int_equal(parse_form(a, "f=x&g=x&h=x", f, NITEMS(f), &in), CPA_OK);
	assert_int_equal(in.nerrors, 8);
	assert_string_equal(in.errors[0].message, "Enter username");
	assert_string_equal(in.errors[1].message, "Enter NHS number");
	assert_string_equal(in.errors[2].message, "Select GP practice");
	assert_string_equal(in.errors[3].message, "Enter date of review");
	assert_string_equal(in.errors[4].message, "Enter x");
	assert_string_equal(in.errors[5].message,
	    "Enter email in the correct format, like name@example.nhs.uk");
	assert_string_equal(in.errors[6].message, "Select a valid site");
	/* A label written in lower case still starts its sentence upper case. */
	assert_string_equal(in.errors[7].message,
	    "Date of review must be a real date, like 2025-03-27");
}

/* One case: a form body, the JSON body meaning the same, the field and the
 * message expected from both. */
struct msg_case {
	const char *form;
	const char *json;
	const char *field;
	const char *message;
};

static size_t
field_index(const char *name)
{
	size_t i;

	for (i = 0; i < F_COUNT; i++)
		if (strcmp(all_fields[i].name, name) == 0)
			return i;
	fail_msg("no field %s", name);
	return 0;
}

static void
check_cases(cpa_arena *a, const struct msg_case *c, size_t n)
{
	struct cpa_input in;
	const char *got;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < 2; k++) {
			const char *body = k == 0 ? c[i].form : c[i].json;
			int rc, present;

			if (body == NULL)
				continue;
			rc = k == 0 ? parse_form(a, body, all_fields, F_COUNT, &in) :
			    parse_json(a, body, all_fields, F_COUNT, &in);
			if (rc != CPA_OK)
				fail_msg("%s: rc %d", body, rc);
			got = cpa_input_error(&in, c[i].field);
			present = in.values[field_index(c[i].field)].present;
			if (c[i].message == NULL) {
				if (got != NULL || !present)
					fail_msg("%s: unexpected \"%s\"", body,
					    got ? got : "(not present)");
				continue;
			}
			if (got == NULL || strcmp(got, c[i].message) != 0)
				fail_msg("%s: got \"%s\", wanted \"%s\"", body,
				    got ? got : "(none)", c[i].message);
			/* A field with an error is never present. */
			if (present)
				fail_msg("%s: failing field present", body);
		}
	}
}

#define BASE_F "urgency=routine&name=Al&"
#define BASE_J "{\"urgency\":\"routine\",\"name\":\"Al\","

static void
test_text_messages(void **state)
{
	static const struct msg_case cases[] = {
		{ "urgency=routine&name=A", "{\"urgency\":\"routine\",\"name\":\"A\"}",
		    "name", "Full name must be at least 2 characters" },
		{ "urgency=routine&name=abcdefghijklmnopqrstu",
		    "{\"urgency\":\"routine\",\"name\":\"abcdefghijklmnopqrstu\"}",
		    "name", "Full name must be 20 characters or fewer" },
		{ "urgency=routine&name=a%09b", "{\"urgency\":\"routine\",\"name\":\"a\\tb\"}",
		    "name", "Full name must not contain control characters" },
		{ "urgency=routine&name=a%0Ab", "{\"urgency\":\"routine\",\"name\":\"a\\nb\"}",
		    "name", "Full name must not contain control characters" },
		{ "urgency=routine&name=a%C2%85b", "{\"urgency\":\"routine\",\"name\":\"a\\u0085b\"}",
		    "name", "Full name must not contain control characters" },
		{ "urgency=routine&name=a%7Fb", "{\"urgency\":\"routine\",\"name\":\"a\\u007fb\"}",
		    "name", "Full name must not contain control characters" },
		{ NULL, "{\"urgency\":\"routine\",\"name\":5}", "name", "Full name must be text" },
		{ NULL, "{\"urgency\":\"routine\",\"name\":[\"a\"]}", "name", "Full name must be text" },
		{ NULL, "{\"urgency\":\"routine\",\"name\":true}", "name", "Full name must be text" },
		{ NULL, "{\"urgency\":1,\"name\":\"Al\"}", "urgency", "Urgency must be text" },
		/* Twenty characters of two bytes each: counted as characters. */
		{ "urgency=routine&name=%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
		  "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
		  "%C3%A9%C3%A9",
		  "{\"urgency\":\"routine\",\"name\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
		  "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
		  "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}", "name", NULL },
		{ BASE_F "notes=a%0D%0Ab%09c", BASE_J "\"notes\":\"a\\r\\nb\\tc\"}", "notes", NULL },
		{ BASE_F "notes=a%07b", BASE_J "\"notes\":\"a\\u0007b\"}",
		    "notes", "Notes must not contain control characters" },
		{ BASE_F "notes=0123456789012345678901234567890",
		  BASE_J "\"notes\":\"0123456789012345678901234567890\"}",
		    "notes", "Notes must be 30 characters or fewer" },
		{ BASE_F "urgency=later", NULL, "urgency", NULL },	/* first one wins */
		{ "urgency=later&name=Al", "{\"urgency\":\"later\",\"name\":\"Al\"}",
		    "urgency", "Select a valid urgency" },
		{ "urgency=Urgent&name=Al", "{\"urgency\":\"Urgent\",\"name\":\"Al\"}",
		    "urgency", "Select a valid urgency" },
		{ "urgency=+urgent+&name=Al", "{\"urgency\":\" urgent \",\"name\":\"Al\"}",
		    "urgency", NULL },
	};

	(void)state;
	check_cases(*state, cases, NITEMS(cases));
}

static void
test_number_messages(void **state)
{
	static const struct msg_case cases[] = {
		{ BASE_F "age=0", BASE_J "\"age\":0}", "age", NULL },
		{ BASE_F "age=130", BASE_J "\"age\":130}", "age", NULL },
		{ BASE_F "age=+130+", BASE_J "\"age\":\" 130 \"}", "age", NULL },
		{ BASE_F "age=131", BASE_J "\"age\":131}",
		    "age", "Age must be a whole number from 0 to 130" },
		{ BASE_F "age=-1", BASE_J "\"age\":-1}",
		    "age", "Age must be a whole number from 0 to 130" },
		{ BASE_F "age=ten", BASE_J "\"age\":\"ten\"}",
		    "age", "Age must be a whole number from 0 to 130" },
		{ BASE_F "age=%2B5", BASE_J "\"age\":\"+5\"}",
		    "age", "Age must be a whole number from 0 to 130" },
		{ BASE_F "age=5.5", BASE_J "\"age\":\"5.5\"}",
		    "age", "Age must be a whole number from 0 to 130" },
		{ BASE_F "age=99999999999999999999", BASE_J "\"age\":\"99999999999999999999\"}",
		    "age", "Age must be a whole number from 0 to 130" },
		{ NULL, BASE_J "\"age\":5.0}", "age", "Age must be a whole number" },
		{ NULL, BASE_J "\"age\":true}", "age", "Age must be a whole number" },
		{ NULL, BASE_J "\"age\":{}}", "age", "Age must be a whole number" },
		{ BASE_F "team_id=1", BASE_J "\"team_id\":1}", "team_id", NULL },
		{ BASE_F "team_id=9223372036854775807", BASE_J "\"team_id\":9223372036854775807}",
		    "team_id", NULL },
		{ BASE_F "team_id=0", BASE_J "\"team_id\":0}",
		    "team_id", "Team must be a valid identifier" },
		{ BASE_F "team_id=-4", BASE_J "\"team_id\":-4}",
		    "team_id", "Team must be a valid identifier" },
		{ BASE_F "team_id=9223372036854775808", BASE_J "\"team_id\":\"9223372036854775808\"}",
		    "team_id", "Team must be a valid identifier" },
		{ BASE_F "team_id=12abc", BASE_J "\"team_id\":\"12abc\"}",
		    "team_id", "Team must be a valid identifier" },
		{ NULL, BASE_J "\"team_id\":[12]}", "team_id", "Team must be a whole number" },
		{ NULL, BASE_J "\"team_id\":1.5}", "team_id", "Team must be a whole number" },
		{ BASE_F "consent=maybe", BASE_J "\"consent\":\"maybe\"}",
		    "consent", "Consent must be true or false" },
		{ NULL, BASE_J "\"consent\":1}", "consent", "Consent must be true or false" },
		{ NULL, BASE_J "\"consent\":\"true\"}", "consent", "Consent must be true or false" },
		{ NULL, BASE_J "\"consent\":\"\"}", "consent", "Consent must be true or false" },
		{ BASE_F "consent=no", BASE_J "\"consent\":false}", "consent", NULL },
	};

	(void)state;
	check_cases(*state, cases, NITEMS(cases));
}

static void
test_format_messages(void **state)
{
	static const struct msg_case cases[] = {
		{ BASE_F "dob=2024-02-29", BASE_J "\"dob\":\"2024-02-29\"}", "dob", NULL },
		{ BASE_F "dob=2023-02-29", BASE_J "\"dob\":\"2023-02-29\"}",
		    "dob", "Date of birth must be a real date, like 2025-03-27" },
		{ BASE_F "dob=2023-13-01", BASE_J "\"dob\":\"2023-13-01\"}",
		    "dob", "Date of birth must be a real date, like 2025-03-27" },
		{ BASE_F "dob=2023-1-1", BASE_J "\"dob\":\"2023-1-1\"}",
		    "dob", "Date of birth must be a real date, like 2025-03-27" },
		{ BASE_F "dob=27%2F03%2F2025", BASE_J "\"dob\":\"27/03/2025\"}",
		    "dob", "Date of birth must be a real date, like 2025-03-27" },
		{ NULL, BASE_J "\"dob\":20230101}", "dob", "Date of birth must be text" },
		{ BASE_F "nhs_number=9434765919", BASE_J "\"nhs_number\":\"9434765919\"}",
		    "nhs_number", NULL },
		{ BASE_F "nhs_number=9434765918", BASE_J "\"nhs_number\":\"9434765918\"}",
		    "nhs_number", "NHS number is not a valid NHS number" },
		{ BASE_F "nhs_number=1000000010", BASE_J "\"nhs_number\":\"1000000010\"}",
		    "nhs_number", "NHS number is not a valid NHS number" },
		{ BASE_F "nhs_number=943476591", BASE_J "\"nhs_number\":\"943476591\"}",
		    "nhs_number", "NHS number must be 10 digits" },
		{ BASE_F "nhs_number=94347659190", BASE_J "\"nhs_number\":\"94347659190\"}",
		    "nhs_number", "NHS number must be 10 digits" },
		{ BASE_F "nhs_number=943-476-5919", BASE_J "\"nhs_number\":\"943-476-5919\"}",
		    "nhs_number", "NHS number must be 10 digits" },
		{ NULL, BASE_J "\"nhs_number\":9434765919}", "nhs_number", "NHS number must be text" },
		{ BASE_F "username=Ada", BASE_J "\"username\":\"Ada\"}", "username",
		    "Username must be 3 to 64 characters: lower-case letters, digits, "
		    "dots, hyphens or underscores, starting with a letter" },
		{ BASE_F "username=ab", BASE_J "\"username\":\"ab\"}", "username",
		    "Username must be 3 to 64 characters: lower-case letters, digits, "
		    "dots, hyphens or underscores, starting with a letter" },
		{ BASE_F "email=ada", BASE_J "\"email\":\"ada\"}", "email",
		    "Enter email address in the correct format, like name@example.nhs.uk" },
		{ BASE_F "email=a%40b", BASE_J "\"email\":\"a@b\"}", "email",
		    "Enter email address in the correct format, like name@example.nhs.uk" },
	};

	(void)state;
	check_cases(*state, cases, NITEMS(cases));
}

static void
test_password_messages(void **state)
{
	static const struct msg_case cases[] = {
		{ BASE_F "password=twelve+chars", BASE_J "\"password\":\"twelve chars\"}",
		    "password", NULL },
		{ BASE_F "password=eleven+char", BASE_J "\"password\":\"eleven char\"}",
		    "password", "Password must be at least 12 characters" },
		/* Not trimmed: the spaces count. */
		{ BASE_F "password=+eleven+char", BASE_J "\"password\":\" eleven char\"}",
		    "password", NULL },
		/* Characters, not bytes: 11 two-byte characters are too few. */
		{ BASE_F "password=%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
		  "%C3%A9%C3%A9", BASE_J "\"password\":\"\\u00e9\\u00e9\\u00e9\\u00e9"
		  "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}",
		    "password", "Password must be at least 12 characters" },
		{ BASE_F "password=twelve%09chars", BASE_J "\"password\":\"twelve\\tchars\"}",
		    "password", "Password must not contain control characters" },
		{ NULL, BASE_J "\"password\":123456789012}", "password", "Password must be text" },
	};
	cpa_arena *a = *state;
	struct cpa_input in;
	struct cpa_buf b;
	int i;

	check_cases(a, cases, NITEMS(cases));
	/* 128 accepted, 129 refused. */
	cpa_buf_init(&b, a);
	cpa_buf_puts(&b, BASE_F "password=");
	for (i = 0; i < 128; i++)
		cpa_buf_putc(&b, 'p');
	assert_int_equal(parse_form(a, b.data, all_fields, F_COUNT, &in), CPA_OK);
	assert_int_equal(in.nerrors, 0);
	assert_int_equal(in.values[F_PASSWORD].len, 128);
	cpa_buf_putc(&b, 'p');
	assert_int_equal(parse_form(a, b.data, all_fields, F_COUNT, &in), CPA_OK);
	assert_string_equal(cpa_input_error(&in, "password"),
	    "Password must be 128 characters or fewer");
	/* An empty password is a missing one. */
	assert_int_equal(parse_form(a, BASE_F "password=", all_fields, F_COUNT, &in), CPA_OK);
	assert_int_equal(in.nerrors, 0);
	assert_false(in.values[F_PASSWORD].present);
}

static void
test_bool_words(void **state)
{
	static const struct {
		const char *form;
		long long want;
	} cases[] = {
		{ "c=on", 1 }, { "c=true", 1 }, { "c=1", 1 }, { "c=yes", 1 },
		{ "c=ON", 1 }, { "c=+yes+", 1 },
		{ "c=", 0 }, { "c=false", 0 }, { "c=0", 0 }, { "c=no", 0 },
		{ "c=off", 0 }, { "c=+", 0 }, { "c", 0 },
	};
	static const struct cpa_field f[] = {
		{ "c", "Consent", CPA_FT_BOOL, 0, 0, 0, NULL },
	};
	cpa_arena *a = *state;
	struct cpa_input in;
	size_t i;

	for (i = 0; i < NITEMS(cases); i++) {
		assert_int_equal(parse_form(a, cases[i].form, f, 1, &in), CPA_OK);
		if (in.nerrors != 0 || !in.values[0].present ||
		    in.values[0].num != cases[i].want)
			fail_msg("\"%s\" did not give %lld", cases[i].form, cases[i].want);
	}
	assert_int_equal(parse_json(a, "{\"c\":false}", f, 1, &in), CPA_OK);
	assert_true(in.values[0].present);
	assert_int_equal(in.values[0].num, 0);
	assert_string_equal(in.values[0].str, "false");
	assert_int_equal(parse_json(a, "{\"c\":true}", f, 1, &in), CPA_OK);
	assert_int_equal(in.values[0].num, 1);
	assert_string_equal(in.values[0].str, "true");
	/* Unticked checkbox not sent at all: absent. */
	assert_int_equal(parse_form(a, "x=1", f, 1, &in), CPA_OK);
	assert_false(in.values[0].present);
	assert_int_equal(in.values[0].num, 0);
}

static void
test_default_lengths(void **state)
{
	static const struct cpa_field f[] = {
		{ "l", "Line", CPA_FT_LINE, 0, 0, 0, NULL },
		{ "t", "Text", CPA_FT_TEXT, 0, 0, 0, NULL },
	};
	cpa_arena *a = *state;
	struct cpa_input in;
	struct cpa_buf b;
	int i;

	cpa_buf_init(&b, a);
	cpa_buf_puts(&b, "t=");
	for (i = 0; i < 10000; i++)
		cpa_buf_putc(&b, 'x');
	cpa_buf_puts(&b, "&l=");
	for (i = 0; i < 200; i++)
		cpa_buf_putc(&b, 'y');
	assert_int_equal(parse_form(a, b.data, f, 2, &in), CPA_OK);
	assert_int_equal(in.nerrors, 0);
	assert_int_equal(in.values[0].len, 200);
	assert_int_equal(in.values[1].len, 10000);
	cpa_buf_puts(&b, "y&t=ignored");	/* 201; second t ignored */
	assert_int_equal(parse_form(a, b.data, f, 2, &in), CPA_OK);
	assert_int_equal(in.nerrors, 1);
	assert_string_equal(in.errors[0].message, "Line must be 200 characters or fewer");

	cpa_buf_init(&b, a);
	cpa_buf_puts(&b, "l=a&t=");
	for (i = 0; i < 10001; i++)
		cpa_buf_putc(&b, 'x');
	assert_int_equal(parse_form(a, b.data, f, 2, &in), CPA_OK);
	assert_int_equal(in.nerrors, 1);
	assert_string_equal(cpa_input_error(&in, "t"), "Text must be 10000 characters or fewer");
}

static void
test_repeated_and_undeclared(void **state)
{
	static const struct cpa_field f[] = {
		{ "a", "A", CPA_FT_LINE, 0, 0, 0, NULL },
		{ "b", "B", CPA_FT_INT, 0, 0, 9, NULL },
	};
	cpa_arena *a = *state;
	struct cpa_input in;

	assert_int_equal(parse_form(a, "a=first&a=second&b=1&b=x", f, 2, &in), CPA_OK);
	assert_int_equal(in.nerrors, 0);
	assert_string_equal(in.values[0].str, "first");
	assert_int_equal(in.values[1].num, 1);
	/* The first occurrence wins even when it is empty. */
	assert_int_equal(parse_form(a, "a=&a=second", f, 2, &in), CPA_OK);
	assert_false(in.values[0].present);
	/* Names are decoded before matching; '+' is a space in values. */
	assert_int_equal(parse_form(a, "%61=x+y%2By&c=3", f, 2, &in), CPA_OK);
	assert_string_equal(in.values[0].str, "x y+y");
	/* Unknown JSON keys of any type are ignored. */
	assert_int_equal(parse_json(a, "{\"zz\":[1,{\"q\":null}],\"a\":\"v\",\"B\":3}",
	    f, 2, &in), CPA_OK);
	assert_int_equal(in.nerrors, 0);
	assert_string_equal(in.values[0].str, "v");
	assert_false(in.values[1].present);
}

static void
test_one_error_per_field_in_order(void **state)
{
	cpa_arena *a = *state;
	struct cpa_input in;
	json_t *o;
	const char *keys[] = { "name", "age", "dob", "urgency", "nhs_number", "email" };
	size_t i;

	assert_int_equal(parse_form(a, "email=x&nhs_number=1&urgency=x&dob=x&age=x&name=%01",
	    all_fields, F_COUNT, &in), CPA_OK);
	assert_int_equal(in.nerrors, NITEMS(keys));
	for (i = 0; i < NITEMS(keys); i++)
		assert_string_equal(in.errors[i].field, keys[i]);
	for (i = 0; i < F_COUNT; i++)
		if (cpa_input_error(&in, all_fields[i].name) != NULL)
			assert_false(in.values[i].present);

	o = cpa_json_keep(a, cpa_input_errors_json(&in));
	assert_int_equal(json_object_size(o), NITEMS(keys));
	assert_string_equal(json_string_value(json_object_get(o, "name")),
	    "Full name must not contain control characters");
	assert_string_equal(json_string_value(json_object_get(o, "nhs_number")),
	    "NHS number must be 10 digits");
	o = cpa_json_keep(a, cpa_input_errors_json(&(struct cpa_input){ 0 }));
	assert_int_equal(json_object_size(o), 0);
}

static void
test_strings_in_arena(void **state)
{
	static const struct cpa_field f[] = {
		{ "a", "A", CPA_FT_LINE, 0, 0, 0, NULL },
		{ "p", "P", CPA_FT_PASSWORD, 0, 0, 0, NULL },
	};
	cpa_arena *a = *state;
	struct cpa_input in;
	char body[] = "a=abc&p=secret";
	char json[] = "{\"a\":\"abc\",\"p\":\"secret\"}";

	assert_int_equal(parse_form(a, body, f, 2, &in), CPA_OK);
	memset(body, 'z', sizeof(body) - 1);
	assert_string_equal(in.values[0].str, "abc");
	assert_string_equal(in.values[1].str, "secret");
	assert_int_equal(parse_json(a, json, f, 2, &in), CPA_OK);
	memset(json, 'z', sizeof(json) - 1);
	assert_string_equal(in.values[0].str, "abc");
	/* Without a declared max a password is bounded by the policy. */
	{
		struct cpa_buf b;
		int i;

		cpa_buf_init(&b, a);
		cpa_buf_puts(&b, "p=");
		for (i = 0; i < CPA_PASSWORD_MAX + 1; i++)
			cpa_buf_putc(&b, 'x');
		assert_int_equal(parse_form(a, b.data, f, 2, &in), CPA_OK);
		assert_string_equal(cpa_input_error(&in, "p"), "P must be 128 characters or fewer");
	}
}

/* ------------------------------------------------------------ timestamps */

static const struct cpa_field time_fields[] = {
	{ "at", "Date and time", CPA_FT_TIMESTAMP, CPA_FF_REQUIRED, 0, 0, NULL },
	{ "until", "Date and time of discharge", CPA_FT_TIMESTAMP, 0, 0, 0, NULL },
};

static void
test_timestamp_field(void **state)
{
	cpa_arena *a = *state;
	struct cpa_input in;

	assert_int_equal(parse_form(a, "at=+2025-03-27T14%3A05+&until=2025-03-27+14%3A05%3A09Z",
	    time_fields, NITEMS(time_fields), &in), CPA_OK);
	assert_int_equal(in.nerrors, 0);
	assert_true(in.values[0].present);
	assert_string_equal(in.values[0].str, "2025-03-27T14:05");
	assert_string_equal(in.values[1].str, "2025-03-27 14:05:09Z");

	assert_int_equal(parse_form(a, "at=2025-13-01T10%3A00&until=soon", time_fields,
	    NITEMS(time_fields), &in), CPA_OK);
	assert_int_equal(in.nerrors, 2);
	assert_false(in.values[0].present);
	assert_string_equal(cpa_input_error(&in, "at"),
	    "Date and time must be a real date and time, like 2025-03-27T14:05");
	assert_string_equal(cpa_input_error(&in, "until"),
	    "Date and time of discharge must be a real date and time, like "
	    "2025-03-27T14:05");

	assert_int_equal(parse_json(a, "{\"until\": 20250327}", time_fields,
	    NITEMS(time_fields), &in), CPA_OK);
	assert_string_equal(cpa_input_error(&in, "at"), "Enter date and time");
	assert_string_equal(cpa_input_error(&in, "until"),
	    "Date and time of discharge must be text");
	assert_int_equal(parse_json(a, "{\"at\": \"2025-03-27T14:05:00+01:00\"}",
	    time_fields, NITEMS(time_fields), &in), CPA_OK);
	assert_int_equal(in.nerrors, 0);
	assert_false(in.values[1].present);
}

/* ------------------------------------------------------------ helpers */

static void
test_input_errors(void **state)
{
	cpa_arena *a = *state;
	struct cpa_input in, copy, p;

	assert_int_equal(parse_form(a, "name=x&urgency=soon", all_fields, F_COUNT, &in),
	    CPA_OK);
	assert_int_equal(in.nerrors, 2);
	copy = in;
	cpa_input_add_error(a, &in, "name", "Second message");
	cpa_input_add_error(a, &in, "team_id", "Select a team at your site");
	assert_int_equal(in.nerrors, 4);
	assert_string_equal(in.errors[0].field, "name");
	assert_string_equal(in.errors[1].field, "urgency");
	assert_string_equal(in.errors[3].message, "Select a team at your site");
	/* A copy made before keeps its own errors. */
	assert_int_equal(copy.nerrors, 2);
	assert_string_equal(copy.errors[1].field, "urgency");

	/* The first error of a field is its message. */
	assert_string_equal(cpa_input_error(&in, "name"),
	    "Full name must be at least 2 characters");
	assert_string_equal(cpa_input_error(&in, "team_id"), "Select a team at your site");
	assert_null(cpa_input_error(&in, "notes"));

	p = cpa_input_prefixed(a, &in, "t12_");
	assert_int_equal(p.nerrors, 4);
	assert_string_equal(p.errors[1].field, "t12_urgency");
	assert_string_equal(p.errors[1].message, in.errors[1].message);
	assert_string_equal(in.errors[1].field, "urgency");
	assert_ptr_equal(p.values, in.values);

	/* From nothing: a new array. */
	memset(&in, 0, sizeof(in));
	cpa_input_add_error(a, &in, "held_on", "Conflict");
	assert_int_equal(in.nerrors, 1);
	assert_string_equal(cpa_input_error(&in, "held_on"), "Conflict");
}

static void
test_input_typed(void **state)
{
	cpa_arena *a = *state;
	struct cpa_input in;
	json_t *t;

	assert_int_equal(parse_form(a, "name=+Ann+Lee+&age=42&consent=&urgency=soon",
	    all_fields, F_COUNT, &in), CPA_OK);
	t = cpa_json_keep(a, cpa_input_typed(&in));
	assert_int_equal(json_object_size(t), 3);
	assert_string_equal(json_string_value(json_object_get(t, "name")), "Ann Lee");
	assert_string_equal(json_string_value(json_object_get(t, "age")), "42");
	assert_string_equal(json_string_value(json_object_get(t, "consent")), "false");
	assert_null(json_object_get(t, "urgency"));	/* refused: not shown */
	t = cpa_json_keep(a, cpa_input_typed(NULL));
	assert_true(json_is_object(t));
	assert_int_equal(json_object_size(t), 0);
}

static void
test_idempotency_key(void **state)
{
	struct cpa_request r;
	struct cpa_value v;

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(&v, 0, sizeof(v));
	v.present = 1;
	v.str = "from-the-form";
	assert_int_equal(cpa_idempotency_key(&r, &v, 100), CPA_OK);
	assert_string_equal(v.str, "from-the-form");	/* no header: the field stays */

	r.idempotency_key = "k-\xc3\xa9-12345";
	assert_int_equal(cpa_idempotency_key(&r, &v, 100), CPA_OK);
	assert_true(v.present);
	assert_ptr_equal(v.str, r.idempotency_key);
	assert_int_equal(v.len, strlen(r.idempotency_key));

	memset(&v, 0, sizeof(v));
	r.idempotency_key = "1234567";
	assert_int_equal(cpa_idempotency_key(&r, &v, 100), CPA_EINPUT);
	r.idempotency_key = "12345678\x01";
	assert_int_equal(cpa_idempotency_key(&r, &v, 100), CPA_EINPUT);
	r.idempotency_key = "123456789";
	assert_int_equal(cpa_idempotency_key(&r, &v, 8), CPA_EINPUT);
	assert_false(v.present);
	assert_int_equal(cpa_idempotency_key(&r, &v, 9), CPA_OK);
	assert_true(v.present);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, unit_arena_setup, unit_arena_teardown)
	const struct CMUnitTest tests[] = {
		T(test_url_decode),
		T(test_form_lookup),
		T(test_content_types),
		T(test_malformed_urlencoded),
		T(test_pair_limit),
		T(test_malformed_json),
		T(test_valid_everything),
		T(test_required_messages),
		T(test_label_case),
		T(test_text_messages),
		T(test_number_messages),
		T(test_format_messages),
		T(test_password_messages),
		T(test_bool_words),
		T(test_default_lengths),
		T(test_repeated_and_undeclared),
		T(test_one_error_per_field_in_order),
		T(test_strings_in_arena),
		T(test_timestamp_field),
		T(test_input_errors),
		T(test_input_typed),
		T(test_idempotency_key),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
