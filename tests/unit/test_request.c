/*
 * test_request.c - request.c: what cpa_request_parse takes from the FastCGI
 * parameters (method, path, query, media type, JSON preference, session
 * cookie, copied headers) and what it refuses (control characters, bad
 * methods and paths, sizes beyond CPA_MAX_PATH and CPA_MAX_HEADER, invalid
 * UTF-8); cpa_request_env and cpa_param lookups.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cpa.h"
#include "unit.h"

/* Parse envp with the development cookie name and no body. */
static int
parse(cpa_arena *a, char *const *envp, struct cpa_request *r)
{
	return cpa_request_parse(a, envp, NULL, 0, "cpa_session", r);
}

/* A NULL-terminated envp in the arena: "NAME=" + value, with value of any
 * length (for the size limits). */
static char *
entry(cpa_arena *a, const char *name, char fill, size_t n)
{
	size_t nl = strlen(name);
	char *e = cpa_alloc(a, nl + 1 + n + 1);

	memcpy(e, name, nl);
	e[nl] = '=';
	memset(e + nl + 1, fill, n);
	return e;
}

static void
test_basic_fields(void **state)
{
	cpa_arena *a = *state;
	char *env[] = {
		"REQUEST_METHOD=POST",
		"REQUEST_URI=/admin/staff?page=2&sort=name",
		"DOCUMENT_URI=/admin/staff",
		"QUERY_STRING=page=2&sort=name",
		"CONTENT_TYPE=Application/X-WWW-Form-Urlencoded ; charset=UTF-8",
		"CONTENT_LENGTH=20",
		"REMOTE_ADDR=127.0.0.1",
		"HTTPS=on",
		NULL
	};
	static const char body[] = "username=a\0b&x=1";
	struct cpa_request r;

	assert_int_equal(cpa_request_parse(a, env, body, sizeof(body) - 1,
	    "cpa_session", &r), CPA_OK);
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.path, "/admin/staff");
	assert_string_equal(r.query, "page=2&sort=name");
	assert_string_equal(r.content_type, "application/x-www-form-urlencoded");
	assert_string_equal(r.remote_addr, "127.0.0.1");
	assert_int_equal(r.https, 1);
	assert_int_equal(r.wants_json, 0);
	assert_int_equal(r.body_len, sizeof(body) - 1);
	assert_ptr_not_equal(r.body, body);
	assert_memory_equal(r.body, body, sizeof(body));
	assert_null(r.session_cookie);
	assert_null(r.origin);
	assert_null(r.csrf_header);
	assert_int_equal(r.nparams, 0);
}

static void
test_defaults(void **state)
{
	cpa_arena *a = *state;
	char *env[] = { "REQUEST_METHOD=GET", "DOCUMENT_URI=/", NULL };
	struct cpa_request r;

	assert_int_equal(parse(a, env, &r), CPA_OK);
	assert_string_equal(r.path, "/");
	assert_string_equal(r.query, "");
	assert_string_equal(r.content_type, "");
	assert_string_equal(r.remote_addr, "");
	assert_int_equal(r.https, 0);
	assert_non_null(r.body);
	assert_int_equal(r.body_len, 0);
	assert_null(r.host);
	assert_null(r.accept);
	assert_null(r.request_id);
}

static void
test_content_type(void **state)
{
	static const struct {
		const char *env;
		const char *want;
	} cases[] = {
		{ "CONTENT_TYPE=application/json", "application/json" },
		{ "CONTENT_TYPE=APPLICATION/JSON; charset=utf-8", "application/json" },
		{ "CONTENT_TYPE=text/plain;charset=utf-8", "text/plain" },
		{ "CONTENT_TYPE=multipart/form-data; boundary=XyZ", "multipart/form-data" },
		{ "CONTENT_TYPE=", "" },
	};
	cpa_arena *a = *state;
	struct cpa_request r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *env[] = { "REQUEST_METHOD=POST", "DOCUMENT_URI=/x",
		    (char *)(uintptr_t)cases[i].env, NULL };

		assert_int_equal(parse(a, env, &r), CPA_OK);
		assert_string_equal(r.content_type, cases[i].want);
	}
}

static void
test_document_uri_preferred(void **state)
{
	cpa_arena *a = *state;
	char *env[] = {
		"REQUEST_METHOD=GET",
		"REQUEST_URI=/admin/../etc/%70asswd?x=1",
		"DOCUMENT_URI=/etc/passwd",
		NULL
	};
	struct cpa_request r;

	assert_int_equal(parse(a, env, &r), CPA_OK);
	assert_string_equal(r.path, "/etc/passwd");
	/* No QUERY_STRING: the query comes from REQUEST_URI. */
	assert_string_equal(r.query, "x=1");
}

static void
test_request_uri_decoded(void **state)
{
	cpa_arena *a = *state;
	char *env[] = {
		"REQUEST_METHOD=GET",
		"REQUEST_URI=/admin/st%61ff/caf%C3%A9+x?q=a%20b",
		NULL
	};
	char *bad_escape[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/a%zz", NULL };
	char *short_escape[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/a%4", NULL };
	char *nul[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/a%00b", NULL };
	char *crlf[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/a%0d%0aSet-Cookie:x", NULL };
	char *bad_utf8[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/a%C3", NULL };
	struct cpa_request r;

	assert_int_equal(parse(a, env, &r), CPA_OK);
	/* Path decoding is not form decoding: '+' stays. */
	assert_string_equal(r.path, "/admin/staff/caf\xc3\xa9+x");
	assert_string_equal(r.query, "q=a%20b");

	assert_int_equal(parse(a, bad_escape, &r), 400);
	assert_int_equal(parse(a, short_escape, &r), 400);
	assert_int_equal(parse(a, nul, &r), 400);
	assert_int_equal(parse(a, crlf, &r), 400);
	assert_int_equal(parse(a, bad_utf8, &r), 400);
}

static void
test_json_suffix(void **state)
{
	cpa_arena *a = *state;
	char *env[] = { "REQUEST_METHOD=GET", "DOCUMENT_URI=/admin/staff/12.json", NULL };
	char *plain[] = { "REQUEST_METHOD=GET", "DOCUMENT_URI=/admin/staff/12", NULL };
	char *inner[] = { "REQUEST_METHOD=GET", "DOCUMENT_URI=/a.json/b", NULL };
	struct cpa_request r;

	assert_int_equal(parse(a, env, &r), CPA_OK);
	assert_string_equal(r.path, "/admin/staff/12");
	assert_int_equal(r.wants_json, 1);

	assert_int_equal(parse(a, plain, &r), CPA_OK);
	assert_string_equal(r.path, "/admin/staff/12");
	assert_int_equal(r.wants_json, 0);

	assert_int_equal(parse(a, inner, &r), CPA_OK);
	assert_string_equal(r.path, "/a.json/b");
	assert_int_equal(r.wants_json, 0);
}

static void
test_wants_json(void **state)
{
	static const struct {
		const char *path;
		const char *accept;	/* an HTTP_ACCEPT entry, or NULL */
		int want;
	} cases[] = {
		{ "DOCUMENT_URI=/api/v1/session", NULL, 1 },
		{ "DOCUMENT_URI=/api/v1/staff/3", "HTTP_ACCEPT=text/html", 1 },
		{ "DOCUMENT_URI=/apiary", NULL, 0 },
		{ "DOCUMENT_URI=/admin/api/x", NULL, 0 },
		{ "DOCUMENT_URI=/account/password", NULL, 0 },
		{ "DOCUMENT_URI=/account/password", "HTTP_ACCEPT=application/json", 1 },
		{ "DOCUMENT_URI=/", "HTTP_ACCEPT=application/json, */*;q=0.5", 1 },
		{ "DOCUMENT_URI=/", "HTTP_ACCEPT=text/html,application/xhtml+xml,"
		    "application/xml;q=0.9,*/*;q=0.8", 0 },
		{ "DOCUMENT_URI=/", "HTTP_ACCEPT=text/html,application/json;q=0.9", 0 },
		{ "DOCUMENT_URI=/", "HTTP_ACCEPT=*/*", 0 },
	};
	cpa_arena *a = *state;
	struct cpa_request r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *env[] = { "REQUEST_METHOD=GET",
		    (char *)(uintptr_t)cases[i].path,
		    (char *)(uintptr_t)cases[i].accept, NULL };

		assert_int_equal(parse(a, env, &r), CPA_OK);
		if (r.wants_json != cases[i].want)
			fail_msg("case %zu (%s, %s): wants_json %d", i,
			    cases[i].path, cases[i].accept ? cases[i].accept : "-",
			    r.wants_json);
	}
}

static void
test_session_cookie(void **state)
{
	static const struct {
		const char *cookie;
		const char *name;
		const char *want;	/* NULL: no session cookie */
	} cases[] = {
		{ "HTTP_COOKIE=cpa_session=tok1", "cpa_session", "tok1" },
		{ "HTTP_COOKIE=theme=dark; cpa_session_old=zzz; cpa_session=tok2; other=1",
		    "cpa_session", "tok2" },
		{ "HTTP_COOKIE=xcpa_session=evil; a=b", "cpa_session", NULL },
		{ "HTTP_COOKIE=a=cpa_session=evil", "cpa_session", NULL },
		{ "HTTP_COOKIE=cpa_session=dev; __Host-cpa_session=prod",
		    "__Host-cpa_session", "prod" },
		{ "HTTP_COOKIE=__Host-cpa_session=prod; cpa_session=dev",
		    "cpa_session", "dev" },
		{ "HTTP_COOKIE=a=1;cpa_session=tok3 ;b=2", "cpa_session", "tok3" },
		{ "HTTP_COOKIE=theme=dark", "cpa_session", NULL },
		{ "HTTP_ACCEPT=*/*", "cpa_session", NULL },
	};
	cpa_arena *a = *state;
	struct cpa_request r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *env[] = { "REQUEST_METHOD=GET", "DOCUMENT_URI=/",
		    (char *)(uintptr_t)cases[i].cookie, NULL };

		assert_int_equal(cpa_request_parse(a, env, NULL, 0, cases[i].name, &r),
		    CPA_OK);
		if (cases[i].want == NULL) {
			if (r.session_cookie != NULL)
				fail_msg("case %zu: got cookie %s", i, r.session_cookie);
		} else {
			assert_non_null(r.session_cookie);
			assert_string_equal(r.session_cookie, cases[i].want);
		}
	}
}

static void
test_headers_copied(void **state)
{
	cpa_arena *a = *state;
	char *env[] = {
		"REQUEST_METHOD=DELETE",
		"DOCUMENT_URI=/api/v1/session",
		"HTTP_HOST=127.0.0.1:8080",
		"HTTP_HOSTNAME=wrong",
		"HTTP_ORIGIN=http://127.0.0.1:8080",
		"HTTP_X_CSRF_TOKEN=abcDEF-_123",
		"HTTP_X_REQUEST_ID=req-42",
		"HTTP_ACCEPT=application/json",
		"HTTP_USER_AGENT=Mozilla/5.0\t(X11)",
		NULL
	};
	struct cpa_request r;

	assert_int_equal(parse(a, env, &r), CPA_OK);
	assert_string_equal(r.method, "DELETE");
	assert_string_equal(r.host, "127.0.0.1:8080");
	assert_string_equal(r.origin, "http://127.0.0.1:8080");
	assert_string_equal(r.csrf_header, "abcDEF-_123");
	assert_string_equal(r.request_id, "req-42");
	assert_string_equal(r.accept, "application/json");
	assert_string_equal(r.user_agent, "Mozilla/5.0\t(X11)");
	/* Copies in the arena, not pointers into envp. */
	assert_ptr_not_equal(r.host, env[2] + strlen("HTTP_HOST="));
	assert_ptr_not_equal(r.origin, env[4] + strlen("HTTP_ORIGIN="));
}

static void
test_header_control_chars(void **state)
{
	static const char *const bad[] = {
		"HTTP_X_FORWARDED=a\r\nSet-Cookie: x=1",
		"HTTP_ORIGIN=http://a\n",
		"HTTP_X_CSRF_TOKEN=abc\rdef",
		"HTTP_USER_AGENT=a\x01z",
		"HTTP_COOKIE=cpa_session=a\x7f",
		"HTTP_HOST=\x1b[31m",
	};
	cpa_arena *a = *state;
	struct cpa_request r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *env[] = { "REQUEST_METHOD=GET", "DOCUMENT_URI=/",
		    (char *)(uintptr_t)bad[i], NULL };

		if (parse(a, env, &r) != 400)
			fail_msg("accepted header %zu", i);
	}
}

static void
test_bad_method(void **state)
{
	static const char *const bad[] = {
		"REQUEST_METHOD=get",
		"REQUEST_METHOD=Post",
		"REQUEST_METHOD=",
		"REQUEST_METHOD=GET ",
		"REQUEST_METHOD=G\x01T",
		"REQUEST_METHOD=AVERYLONGMETHODNAMEINDEED",
		"NO_METHOD=GET",
	};
	cpa_arena *a = *state;
	struct cpa_request r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *env[] = { (char *)(uintptr_t)bad[i], "DOCUMENT_URI=/", NULL };

		if (parse(a, env, &r) != 400)
			fail_msg("accepted method %zu (%s)", i, bad[i]);
	}
}

static void
test_bad_path(void **state)
{
	static const char *const bad[] = {
		"DOCUMENT_URI=admin/staff",
		"DOCUMENT_URI=",
		"DOCUMENT_URI=*",
		"DOCUMENT_URI=http://evil.example/",
		"DOCUMENT_URI=/caf\xc3",		/* truncated sequence */
		"DOCUMENT_URI=/\xc0\xaf",		/* overlong '/' */
		"DOCUMENT_URI=/\xed\xa0\x80",		/* surrogate */
		"DOCUMENT_URI=/\xff",
		"DOCUMENT_URI=/a\r\nb",
		"NO_URI=/",
	};
	cpa_arena *a = *state;
	char *ok[] = { "REQUEST_METHOD=GET", "DOCUMENT_URI=/caf\xc3\xa9", NULL };
	struct cpa_request r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *env[] = { "REQUEST_METHOD=GET", (char *)(uintptr_t)bad[i], NULL };

		if (parse(a, env, &r) != 400)
			fail_msg("accepted path %zu", i);
	}
	assert_int_equal(parse(a, ok, &r), CPA_OK);
	assert_string_equal(r.path, "/caf\xc3\xa9");
}

static void
test_sizes(void **state)
{
	cpa_arena *a = *state;
	char *env[4] = { "REQUEST_METHOD=GET", NULL, NULL, NULL };
	struct cpa_request r;

	/* A path of exactly CPA_MAX_PATH is fine; one more byte is 414. */
	env[1] = entry(a, "DOCUMENT_URI", 'a', CPA_MAX_PATH);
	env[1][strlen("DOCUMENT_URI=")] = '/';
	assert_int_equal(parse(a, env, &r), CPA_OK);
	assert_int_equal(strlen(r.path), CPA_MAX_PATH);

	env[1] = entry(a, "DOCUMENT_URI", 'a', CPA_MAX_PATH + 1);
	env[1][strlen("DOCUMENT_URI=")] = '/';
	assert_int_equal(parse(a, env, &r), 414);

	/* The same through REQUEST_URI. */
	env[1] = entry(a, "REQUEST_URI", 'b', CPA_MAX_PATH + 1);
	env[1][strlen("REQUEST_URI=")] = '/';
	assert_int_equal(parse(a, env, &r), 414);

	/* A query string beyond the limit. */
	env[1] = "DOCUMENT_URI=/";
	env[2] = entry(a, "QUERY_STRING", 'q', CPA_MAX_PATH + 1);
	assert_int_equal(parse(a, env, &r), 414);

	/* Any parameter beyond CPA_MAX_HEADER: 431, whatever its name. */
	env[2] = entry(a, "HTTP_COOKIE", 'c', CPA_MAX_HEADER);
	assert_int_equal(parse(a, env, &r), 431);
	env[2] = entry(a, "HTTP_X_PADDING", 'p', CPA_MAX_HEADER + 100);
	assert_int_equal(parse(a, env, &r), 431);
	env[2] = entry(a, "SOMETHING_ELSE", 'p', CPA_MAX_HEADER + 100);
	assert_int_equal(parse(a, env, &r), 431);
	/* Just under the limit is accepted. */
	env[2] = entry(a, "HTTP_X_PADDING", 'p', CPA_MAX_HEADER - strlen("HTTP_X_PADDING="));
	assert_int_equal(parse(a, env, &r), CPA_OK);
}

static void
test_request_env(void **state)
{
	char *env[] = { "HTTP_HOSTNAME=wrong", "HTTP_HOST=right", "EMPTY=", NULL };

	(void)state;
	assert_string_equal(cpa_request_env(env, "HTTP_HOST"), "right");
	assert_string_equal(cpa_request_env(env, "EMPTY"), "");
	assert_null(cpa_request_env(env, "HTTP_HOS"));
	assert_null(cpa_request_env(env, "MISSING"));
	assert_null(cpa_request_env(NULL, "HTTP_HOST"));
}

static void
test_param(void **state)
{
	struct cpa_kv kv[] = { { "id", "42" }, { "role_id", "7" } };
	struct cpa_request r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_null(cpa_param(&r, "id"));
	r.params = kv;
	r.nparams = 2;
	assert_string_equal(cpa_param(&r, "id"), "42");
	assert_string_equal(cpa_param(&r, "role_id"), "7");
	assert_null(cpa_param(&r, "role"));
	assert_null(cpa_param(&r, "ID"));
	r.nparams = 1;
	assert_null(cpa_param(&r, "role_id"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basic_fields, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_defaults, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_content_type, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_document_uri_preferred, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_request_uri_decoded, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_json_suffix, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_wants_json, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_session_cookie, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_headers_copied, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_header_control_chars, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_bad_method, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_bad_path, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_sizes, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test(test_request_env),
		cmocka_unit_test(test_param),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
