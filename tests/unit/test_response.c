/*
 * test_response.c - response.c on a hand-built struct cpa_ctx: the composed
 * FastCGI response (status line, security headers, Content-Length, no body
 * for 204 and HEAD), header injection refused, cookie attributes, local-only
 * redirects, JSON and HTML errors (5xx: incident id, never the caller's
 * text), validation failures and rendering with the real templates, a
 * page's query string and a JSON body read for a handler, refused input
 * sent back to its page, and the answers to a statement's problem codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "cpa.h"
#include "unit.h"

#define REQUEST_ID "inc-7f3a9"
#define CSRF "csrfcsrfcsrfcsrfcsrfcsrfcsrfcsrfcsrfcsrfcsr"

static struct cpa_config dev_cfg = { .cookie_secure = 0 };
static struct cpa_config prod_cfg = { .cookie_secure = 1 };

/* A response split into its header block (ending in one CRLF) and body. */
struct composed {
	const char *head;
	const char *body;
	size_t bodylen;
};

static int
load_templates(void **state)
{
	const char *dirs[] = {
		CPA_DEFAULT_TEMPLATE_DIR "/common/templates",
		CPA_DEFAULT_TEMPLATE_DIR "/modules/auth/templates",
	};
	char err[256] = "";

	(void)state;
	if (cpa_templates_load(dirs, 2, err, sizeof(err)) != CPA_OK) {
		fprintf(stderr, "cannot load templates: %s\n", err);
		return -1;
	}
	return 0;
}

static struct cpa_ctx *
ctx_new(cpa_arena *a, const struct cpa_config *cfg, const char *method,
    const char *path, int wants_json)
{
	struct cpa_ctx *c = cpa_alloc(a, sizeof(*c));

	c->arena = a;
	c->cfg = cfg;
	c->req.method = method;
	c->req.path = path;
	c->req.query = "";
	c->req.content_type = "";
	c->req.request_id = REQUEST_ID;
	c->req.wants_json = wants_json;
	cpa_buf_init(&c->resp.headers, a);
	cpa_buf_init(&c->resp.body, a);
	return c;
}

/* A signed-in session with a display name that needs escaping. */
static struct cpa_session *
session_new(cpa_arena *a)
{
	struct cpa_session *s = cpa_alloc(a, sizeof(*s));

	s->user_id = 3;
	s->username = "coord.north";
	s->display_name = "Casey <Coord>";
	memcpy(s->csrf, CSRF, CPA_TOKEN_LEN + 1);
	s->user = cpa_json_keep(a, json_pack("{s:i,s:s,s:s,s:[],s:[]}", "id", 3,
	    "username", "coord.north", "display_name", "Casey <Coord>",
	    "roles", "sites"));
	return s;
}

static void
compose(struct cpa_ctx *c, struct composed *out)
{
	struct cpa_buf b;
	const char *end;

	cpa_buf_init(&b, c->arena);
	cpa_response_compose(c, &b);
	assert_int_equal(strlen(b.data), b.len);
	end = strstr(b.data, "\r\n\r\n");
	assert_non_null(end);
	out->head = cpa_strndup(c->arena, b.data, (size_t)(end - b.data) + 2);
	out->body = end + 4;
	out->bodylen = b.len - (size_t)(out->body - b.data);
}

/* Number of header lines named name (case-insensitive); *value gets the
 * first one's value. */
static int
header_count(cpa_arena *a, const char *head, const char *name, const char **value)
{
	size_t nlen = strlen(name);
	const char *line, *eol;
	int n = 0;

	if (value != NULL)
		*value = NULL;
	for (line = head; *line != '\0'; line = eol + 2) {
		eol = strstr(line, "\r\n");
		assert_non_null(eol);
		if ((size_t)(eol - line) > nlen + 1 &&
		    strncasecmp(line, name, nlen) == 0 && line[nlen] == ':' &&
		    line[nlen + 1] == ' ') {
			if (n++ == 0 && value != NULL)
				*value = cpa_strndup(a, line + nlen + 2,
				    (size_t)(eol - line) - nlen - 2);
		}
	}
	return n;
}

static const char *
header(cpa_arena *a, const char *head, const char *name)
{
	const char *v;

	if (header_count(a, head, name, &v) != 1)
		fail_msg("want exactly one %s header in:\n%s", name, head);
	return v;
}

/* The response body parsed as JSON, kept by the arena. */
static json_t *
body_json(struct cpa_ctx *c)
{
	json_error_t jerr;
	json_t *v;

	assert_string_equal(c->resp.content_type, "application/json");
	v = json_loadb(c->resp.body.data, c->resp.body.len, 0, &jerr);
	if (v == NULL)
		fail_msg("body is not JSON: %s", c->resp.body.data);
	return cpa_json_keep(c->arena, v);
}

static const char *
jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void
check_security_headers(cpa_arena *a, const char *head)
{
	const char *csp;

	assert_string_equal(header(a, head, "Cache-Control"), "no-store");
	assert_string_equal(header(a, head, "X-Content-Type-Options"), "nosniff");
	assert_string_equal(header(a, head, "X-Frame-Options"), "DENY");
	assert_non_null(header(a, head, "Referrer-Policy"));
	csp = header(a, head, "Content-Security-Policy");
	assert_non_null(strstr(csp, "default-src 'self'"));
	assert_non_null(strstr(csp, "frame-ancestors 'none'"));
	assert_null(strstr(csp, "unsafe-inline"));
}

static void
test_compose_ok(void **state)
{
	cpa_arena *a = *state;
	struct cpa_ctx *c = ctx_new(a, &dev_cfg, "GET", "/", 0);
	struct composed r;
	unsigned long long cl;

	c->resp.content_type = "text/html; charset=utf-8";
	cpa_buf_puts(&c->resp.body, "<p>hello</p>");
	assert_int_equal(cpa_header(c, "X-Extra", "one\ttwo"), CPA_OK);
	compose(c, &r);

	assert_true(strncmp(r.head, "Status: 200 OK\r\n", 16) == 0);
	check_security_headers(a, r.head);
	assert_string_equal(header(a, r.head, "Content-Type"), "text/html; charset=utf-8");
	assert_string_equal(header(a, r.head, "X-Request-Id"), REQUEST_ID);
	assert_string_equal(header(a, r.head, "X-Extra"), "one\ttwo");
	assert_int_equal(header_count(a, r.head, "Strict-Transport-Security", NULL), 0);
	assert_int_equal(sscanf(header(a, r.head, "Content-Length"), "%llu", &cl), 1);
	assert_int_equal(cl, r.bodylen);
	assert_int_equal(r.bodylen, strlen("<p>hello</p>"));
	assert_memory_equal(r.body, "<p>hello</p>", r.bodylen);
}

static void
test_compose_statuses(void **state)
{
	static const struct {
		int status;
		const char *line;
	} cases[] = {
		{ 201, "Status: 201 Created\r\n" },
		{ 303, "Status: 303 See Other\r\n" },
		{ 401, "Status: 401 Unauthorized\r\n" },
		{ 403, "Status: 403 Forbidden\r\n" },
		{ 404, "Status: 404 Not Found\r\n" },
		{ 405, "Status: 405 Method Not Allowed\r\n" },
		{ 409, "Status: 409 Conflict\r\n" },
		{ 422, "Status: 422 Unprocessable Content\r\n" },
		{ 429, "Status: 429 Too Many Requests\r\n" },
		{ 500, "Status: 500 Internal Server Error\r\n" },
		{ 503, "Status: 503 Service Unavailable\r\n" },
	};
	cpa_arena *a = *state;
	struct composed r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cpa_ctx *c = ctx_new(a, &dev_cfg, "POST", "/x", 1);

		c->resp.status = cases[i].status;
		c->resp.content_type = "application/json";
		cpa_buf_puts(&c->resp.body, "{}");
		compose(c, &r);
		assert_true(strncmp(r.head, cases[i].line, strlen(cases[i].line)) == 0);
		check_security_headers(a, r.head);
		assert_string_equal(header(a, r.head, "Content-Length"), "2");
		assert_int_equal(r.bodylen, 2);
	}
}

static void
test_compose_no_body(void **state)
{
	cpa_arena *a = *state;
	struct cpa_ctx *c;
	struct composed r;

	/* 204: the stray body is not sent. */
	c = ctx_new(a, &dev_cfg, "DELETE", "/api/v1/session", 1);
	c->resp.status = 204;
	c->resp.content_type = "application/json";
	cpa_buf_puts(&c->resp.body, "{\"x\":1}");
	compose(c, &r);
	assert_true(strncmp(r.head, "Status: 204 No Content\r\n", 24) == 0);
	check_security_headers(a, r.head);
	assert_int_equal(r.bodylen, 0);
	assert_int_equal(header_count(a, r.head, "Content-Type", NULL), 0);

	/* HEAD: headers of the GET, no body. */
	c = ctx_new(a, &dev_cfg, "HEAD", "/", 0);
	c->resp.status = 200;
	c->resp.content_type = "text/html; charset=utf-8";
	cpa_buf_puts(&c->resp.body, "<p>page</p>");
	compose(c, &r);
	assert_true(strncmp(r.head, "Status: 200 OK\r\n", 16) == 0);
	check_security_headers(a, r.head);
	assert_int_equal(r.bodylen, 0);
}

static void
test_compose_https(void **state)
{
	cpa_arena *a = *state;
	struct cpa_ctx *c = ctx_new(a, &prod_cfg, "GET", "/", 0);
	struct composed r;

	c->req.https = 1;
	c->resp.status = 200;
	compose(c, &r);
	assert_non_null(strstr(header(a, r.head, "Strict-Transport-Security"), "max-age="));
	assert_string_equal(header(a, r.head, "Content-Length"), "0");
}

static void
test_header_refused(void **state)
{
	static const struct {
		const char *name;
		const char *value;
	} bad[] = {
		{ "Location", "/a\r\nSet-Cookie: x=1" },
		{ "Location", "/a\nSet-Cookie: x=1" },
		{ "Location", "/a\rb" },
		{ "X-Note", "bell\x07" },
		{ "X-Note", "del\x7f" },
		{ "X-Bad\r\nSet-Cookie", "x" },
		{ "X-Bad\n", "x" },
		{ "Set-Cookie: evil=1; X", "y" },
		{ "X-A:B", "y" },
		{ "", "y" },
	};
	cpa_arena *a = *state;
	struct cpa_ctx *c = ctx_new(a, &dev_cfg, "GET", "/", 0);
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cpa_header(c, bad[i].name, bad[i].value) != CPA_EINPUT)
			fail_msg("header %zu accepted", i);
	assert_int_equal(c->resp.headers.len, 0);
	assert_int_equal(cpa_header(c, "X-Ok", "fine: value; a=b"), CPA_OK);
	assert_string_equal(c->resp.headers.data, "X-Ok: fine: value; a=b\r\n");
}

static void
test_cookie(void **state)
{
	cpa_arena *a = *state;
	struct cpa_ctx *c;
	const char *v;

	assert_string_equal(cpa_cookie_name(&dev_cfg), "cpa_session");
	assert_string_equal(cpa_cookie_name(&prod_cfg), "__Host-cpa_session");

	/* Development: no Secure, no prefix. */
	c = ctx_new(a, &dev_cfg, "POST", "/signin", 0);
	cpa_cookie(c, "tok123", -1);
	v = header(a, c->resp.headers.data, "Set-Cookie");
	assert_true(strncmp(v, "cpa_session=tok123;", 19) == 0);
	assert_non_null(strstr(v, "; HttpOnly"));
	assert_non_null(strstr(v, "; SameSite=Strict"));
	assert_non_null(strstr(v, "; Path=/"));
	assert_null(strstr(v, "Secure;"));
	assert_null(strstr(v, "; Secure"));
	assert_null(strstr(v, "Max-Age"));
	assert_null(strstr(v, "Expires"));
	assert_null(strstr(v, "Domain"));

	/* Production: __Host- prefix, which needs Secure, Path=/ and no Domain. */
	c = ctx_new(a, &prod_cfg, "POST", "/signin", 0);
	cpa_cookie(c, "tok456", 3600);
	v = header(a, c->resp.headers.data, "Set-Cookie");
	assert_true(strncmp(v, "__Host-cpa_session=tok456;", 26) == 0);
	assert_non_null(strstr(v, "; Secure"));
	assert_non_null(strstr(v, "; HttpOnly"));
	assert_non_null(strstr(v, "; SameSite=Strict"));
	assert_non_null(strstr(v, "; Path=/"));
	assert_non_null(strstr(v, "; Max-Age=3600"));
	assert_null(strstr(v, "Domain"));

	/* Deleting: empty value, Max-Age=0, same attributes. */
	c = ctx_new(a, &prod_cfg, "POST", "/signout", 0);
	cpa_cookie(c, "tok456", 0);
	v = header(a, c->resp.headers.data, "Set-Cookie");
	assert_true(strncmp(v, "__Host-cpa_session=;", 20) == 0);
	assert_non_null(strstr(v, "; Max-Age=0"));
	assert_non_null(strstr(v, "; Secure"));
	assert_non_null(strstr(v, "; Path=/"));
	assert_null(strstr(v, "tok456"));

	c = ctx_new(a, &dev_cfg, "POST", "/signout", 0);
	cpa_cookie(c, "", 0);
	v = header(a, c->resp.headers.data, "Set-Cookie");
	assert_true(strncmp(v, "cpa_session=;", 13) == 0);
	assert_non_null(strstr(v, "; Max-Age=0"));
}

static void
test_redirect(void **state)
{
	static const struct {
		const char *to;
		const char *location;
	} cases[] = {
		{ "/admin/staff/12", "/admin/staff/12" },
		{ "/", "/" },
		{ "/account/password?done=1", "/account/password?done=1" },
		{ "//evil.example", "/" },
		{ "//evil.example/admin", "/" },
		{ "/\\evil.example", "/" },
		{ "/\t/evil.example", "/" },
		{ "/a\\b", "/" },
		{ "http://evil.example/", "/" },
		{ "https://evil.example/", "/" },
		{ "javascript:alert(1)", "/" },
		{ "evil.example", "/" },
		{ "", "/" },
		{ NULL, "/" },
		{ "/a\r\nSet-Cookie: x=1", "/" },
	};
	cpa_arena *a = *state;
	struct composed r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cpa_ctx *c = ctx_new(a, &dev_cfg, "POST", "/signin", 0);
		const char *loc;

		c->resp.content_type = "text/html; charset=utf-8";
		cpa_buf_puts(&c->resp.body, "old body");
		cpa_redirect(c, cases[i].to);
		assert_int_equal(c->resp.status, 303);
		compose(c, &r);
		assert_true(strncmp(r.head, "Status: 303 See Other\r\n", 23) == 0);
		loc = header(a, r.head, "Location");
		if (strcmp(loc, cases[i].location) != 0)
			fail_msg("redirect %zu: Location %s, want %s", i, loc,
			    cases[i].location);
		assert_int_equal(header_count(a, r.head, "Set-Cookie", NULL), 0);
		assert_int_equal(r.bodylen, 0);
	}
}

static void
test_error_json(void **state)
{
	cpa_arena *a = *state;
	struct cpa_ctx *c;
	json_t *v;

	c = ctx_new(a, &dev_cfg, "GET", "/api/v1/staff/9", 1);
	cpa_error(c, 404, "No such staff member");
	assert_int_equal(c->resp.status, 404);
	v = body_json(c);
	assert_string_equal(jstr(v, "error"), "No such staff member");
	assert_null(json_object_get(v, "incident"));
	assert_int_equal(json_object_size(v), 1);

	c = ctx_new(a, &dev_cfg, "GET", "/api/v1/me", 1);
	cpa_error(c, 401, NULL);
	assert_int_equal(c->resp.status, 401);
	assert_string_equal(jstr(body_json(c), "error"), "Sign in to continue");

	/* 5xx: the caller's text (internals) never reaches the client; the
	 * incident id does. */
	c = ctx_new(a, &dev_cfg, "POST", "/api/v1/staff", 1);
	cpa_error(c, 500, "PQexec: relation staff password=hunter2");
	assert_int_equal(c->resp.status, 500);
	v = body_json(c);
	assert_string_equal(jstr(v, "incident"), REQUEST_ID);
	assert_non_null(jstr(v, "error"));
	assert_null(strstr(c->resp.body.data, "hunter2"));
	assert_null(strstr(c->resp.body.data, "PQexec"));

	c = ctx_new(a, &dev_cfg, "GET", "/api/v1/session", 1);
	cpa_error(c, 503, "redis: connection refused");
	assert_int_equal(c->resp.status, 503);
	v = body_json(c);
	assert_string_equal(jstr(v, "incident"), REQUEST_ID);
	assert_null(strstr(c->resp.body.data, "redis"));
}

static void
test_error_rc(void **state)
{
	static const struct {
		int rc;
		int status;
	} cases[] = {
		{ CPA_EINPUT, 400 }, { CPA_EDENIED, 403 }, { CPA_ENOTFOUND, 404 },
		{ CPA_ECONFLICT, 409 }, { CPA_EUNAVAIL, 503 }, { CPA_ERR, 500 },
		{ 12345, 500 },
	};
	cpa_arena *a = *state;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cpa_ctx *c = ctx_new(a, &dev_cfg, "GET", "/api/v1/x", 1);
		json_t *v;

		cpa_error_rc(c, cases[i].rc);
		assert_int_equal(c->resp.status, cases[i].status);
		v = body_json(c);
		assert_non_null(jstr(v, "error"));
		if (cases[i].status >= 500)
			assert_string_equal(jstr(v, "incident"), REQUEST_ID);
		else
			assert_null(json_object_get(v, "incident"));
	}
}

static void
test_render_json(void **state)
{
	cpa_arena *a = *state;
	struct cpa_ctx *c = ctx_new(a, &dev_cfg, "GET", "/admin/staff", 1);
	json_t *v;

	cpa_render(c, 200, "staff_list", json_pack("{s:s,s:[{s:i}]}",
	    "title", "Staff", "staff", "id", 4));
	assert_int_equal(c->resp.status, 200);
	v = body_json(c);
	assert_null(json_object_get(v, "title"));
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(json_object_get(v, "staff"), 0), "id")), 4);

	/* No template: JSON whatever the request asked for. */
	c = ctx_new(a, &dev_cfg, "GET", "/", 0);
	cpa_render(c, 200, NULL, json_pack("{s:s}", "status", "ok"));
	assert_string_equal(jstr(body_json(c), "status"), "ok");

	/* A session does not leak into JSON output. */
	c = ctx_new(a, &dev_cfg, "GET", "/api/v1/sites", 1);
	c->session = session_new(a);
	cpa_render(c, 200, "home", json_pack("{s:[]}", "sites"));
	v = body_json(c);
	assert_null(json_object_get(v, "csrf_token"));
	assert_null(json_object_get(v, "user"));
}

static void
test_render_created(void **state)
{
	cpa_arena *a = *state;
	struct cpa_ctx *c;
	struct composed r;

	c = ctx_new(a, &dev_cfg, "POST", "/api/v1/staff", 1);
	cpa_render_created(c, "/api/v1/staff/12", json_pack("{s:{s:i}}",
	    "staff", "id", 12));
	assert_int_equal(c->resp.status, 201);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    body_json(c), "staff"), "id")), 12);
	compose(c, &r);
	assert_string_equal(header(a, r.head, "Location"), "/api/v1/staff/12");

	c = ctx_new(a, &dev_cfg, "POST", "/admin/staff", 0);
	cpa_render_created(c, "/admin/staff/12", json_pack("{s:{s:i}}",
	    "staff", "id", 12));
	assert_int_equal(c->resp.status, 303);
	compose(c, &r);
	assert_string_equal(header(a, r.head, "Location"), "/admin/staff/12");
	assert_int_equal(r.bodylen, 0);
}

/* Two field errors, in field order. */
static const struct cpa_field_error two_errors[] = {
	{ "current_password", "Your current password is wrong" },
	{ "new_password", "Enter a password of at least 12 characters" },
};

static void
test_render_invalid_json(void **state)
{
	cpa_arena *a = *state;
	struct cpa_ctx *c = ctx_new(a, &dev_cfg, "PUT", "/api/v1/me/password", 1);
	struct cpa_input in;
	json_t *v, *fields;

	memset(&in, 0, sizeof(in));
	in.errors = (struct cpa_field_error *)(uintptr_t)two_errors;
	in.nerrors = 2;
	cpa_render_invalid(c, "password", json_pack("{s:s}", "title", "Change"), &in);
	assert_int_equal(c->resp.status, 422);
	v = body_json(c);
	assert_non_null(jstr(v, "error"));
	assert_null(json_object_get(v, "title"));
	fields = json_object_get(v, "errors");
	assert_true(json_is_object(fields));
	assert_int_equal(json_object_size(fields), 2);
	assert_string_equal(jstr(fields, "current_password"),
	    "Your current password is wrong");
	assert_string_equal(jstr(fields, "new_password"),
	    "Enter a password of at least 12 characters");
}

static void
test_render_html(void **state)
{
	cpa_arena *a = *state;
	struct cpa_ctx *c = ctx_new(a, &dev_cfg, "GET", "/account/password", 0);
	struct composed r;
	const char *body;

	c->session = session_new(a);
	cpa_render(c, 200, "password", json_pack("{s:s}", "title",
	    "Change your password"));
	assert_int_equal(c->resp.status, 200);
	assert_string_equal(c->resp.content_type, "text/html; charset=utf-8");
	body = c->resp.body.data;
	assert_non_null(strstr(body, "<!DOCTYPE html>"));
	assert_non_null(strstr(body, "<title>Change your password"));
	/* The layout got the session's user (escaped) and CSRF token. */
	assert_non_null(strstr(body, "Casey &lt;Coord&gt;"));
	assert_null(strstr(body, "Casey <Coord>"));
	assert_non_null(strstr(body, "value=\"" CSRF "\""));
	compose(c, &r);
	assert_string_equal(header(a, r.head, "Content-Type"), "text/html; charset=utf-8");
	check_security_headers(a, r.head);
	assert_int_equal(r.bodylen, c->resp.body.len);
}

static void
test_render_missing_template(void **state)
{
	cpa_arena *a = *state;
	struct cpa_ctx *c = ctx_new(a, &dev_cfg, "GET", "/", 0);

	cpa_render(c, 200, "no_such_template", json_pack("{s:s}", "title", "x"));
	assert_int_equal(c->resp.status, 500);
	assert_non_null(strstr(c->resp.body.data, REQUEST_ID));
}

static void
test_render_invalid_html(void **state)
{
	cpa_arena *a = *state;
	struct cpa_ctx *c = ctx_new(a, &dev_cfg, "POST", "/account/password", 0);
	struct cpa_input in;
	const char *body;

	c->session = session_new(a);
	memset(&in, 0, sizeof(in));
	in.errors = (struct cpa_field_error *)(uintptr_t)two_errors;
	in.nerrors = 2;
	cpa_render_invalid(c, "password", json_pack("{s:s}", "title",
	    "Error: Change your password"), &in);
	assert_int_equal(c->resp.status, 422);
	assert_string_equal(c->resp.content_type, "text/html; charset=utf-8");
	body = c->resp.body.data;
	/* The error summary links to each field; each field shows its error. */
	assert_non_null(strstr(body, "There is a problem"));
	assert_non_null(strstr(body, "href=\"#current_password\""));
	assert_non_null(strstr(body, "href=\"#new_password\""));
	assert_non_null(strstr(body, "id=\"current_password-error\""));
	assert_non_null(strstr(body, "id=\"new_password-error\""));
	assert_non_null(strstr(body, "Your current password is wrong"));
	assert_non_null(strstr(body, "nhsuk-form-group--error"));
}

static void
test_error_html(void **state)
{
	cpa_arena *a = *state;
	struct cpa_ctx *c;
	const char *body;

	c = ctx_new(a, &dev_cfg, "GET", "/admin/staff/99", 0);
	cpa_error(c, 404, "No staff member <b>99</b>");
	assert_int_equal(c->resp.status, 404);
	assert_string_equal(c->resp.content_type, "text/html; charset=utf-8");
	body = c->resp.body.data;
	assert_non_null(strstr(body, "<!DOCTYPE html>"));
	assert_non_null(strstr(body, "No staff member &lt;b&gt;99&lt;/b&gt;"));
	assert_null(strstr(body, "<b>99"));
	assert_null(strstr(body, REQUEST_ID));

	c = ctx_new(a, &dev_cfg, "GET", "/", 0);
	cpa_error(c, 500, "segfault in staff.c line 12");
	assert_int_equal(c->resp.status, 500);
	body = c->resp.body.data;
	assert_non_null(strstr(body, "<!DOCTYPE html>"));
	assert_non_null(strstr(body, REQUEST_ID));
	assert_null(strstr(body, "segfault"));
	assert_null(strstr(body, "staff.c"));
}

static const struct cpa_problem problems[] = {
	{ "denied", 403, NULL, "You can only see your own teams' people" },
	{ "stale", 409, NULL, "Someone else changed this: look at it again" },
	{ "held_on_future", 422, "held_on", "Date held must be today or in the past" },
};
#define NPROBLEMS (sizeof(problems) / sizeof(problems[0]))

static void
test_problem_find(void **state)
{
	(void)state;
	assert_ptr_equal(cpa_problem_find(problems, NPROBLEMS, "denied", "stale"),
	    &problems[0]);
	assert_ptr_equal(cpa_problem_find(problems, NPROBLEMS, "held_on_future", NULL),
	    &problems[2]);
	/* Unknown or no code: the fallback's entry, or nothing. */
	assert_ptr_equal(cpa_problem_find(problems, NPROBLEMS, "closed", "stale"),
	    &problems[1]);
	assert_ptr_equal(cpa_problem_find(problems, NPROBLEMS, NULL, "stale"),
	    &problems[1]);
	assert_null(cpa_problem_find(problems, NPROBLEMS, "closed", NULL));
	assert_null(cpa_problem_find(problems, NPROBLEMS, NULL, NULL));
	assert_null(cpa_problem_find(problems, NPROBLEMS, "Denied", NULL));
}

static void
test_problem_error(void **state)
{
	cpa_arena *a = *state;
	struct cpa_ctx *c;
	json_t *v;

	/* JSON, a field's problem: the field's error. */
	c = ctx_new(a, &dev_cfg, "POST", "/api/v1/reviews/4/hold", 1);
	cpa_problem_error(c, &problems[2], NULL);
	assert_int_equal(c->resp.status, 422);
	v = body_json(c);
	assert_string_equal(jstr(v, "error"), problems[2].message);
	assert_string_equal(jstr(json_object_get(v, "errors"), "held_on"),
	    problems[2].message);

	/* JSON, a conflict, with the caller's own words. */
	c = ctx_new(a, &dev_cfg, "POST", "/api/v1/reviews/4/hold", 1);
	cpa_problem_error(c, &problems[1], "Cannot hold: the review is held");
	assert_int_equal(c->resp.status, 409);
	v = body_json(c);
	assert_string_equal(jstr(v, "error"), "Cannot hold: the review is held");
	assert_null(json_object_get(v, "errors"));

	/* A page: a plain error, even for a field's problem. */
	c = ctx_new(a, &dev_cfg, "POST", "/reviews/4/hold", 0);
	cpa_problem_error(c, &problems[2], NULL);
	assert_int_equal(c->resp.status, 422);
	assert_string_equal(c->resp.content_type, "text/html; charset=utf-8");
	assert_non_null(strstr(c->resp.body.data, "Date held must be today or in the past"));
	c = ctx_new(a, &dev_cfg, "POST", "/reviews/4/hold", 0);
	cpa_problem_error(c, &problems[0], NULL);
	assert_int_equal(c->resp.status, 403);
	assert_non_null(strstr(c->resp.body.data, "You can only see your own teams"));
}

static const char *const scopes[] = { "mine", "team", NULL };
static const struct cpa_field list_fields[] = {
	{ "scope", "Scope", CPA_FT_ENUM, 0, 0, 0, scopes },
	{ "within", "Days ahead", CPA_FT_INT, 0, 0, 365, NULL },
};

static void
test_query_read(void **state)
{
	cpa_arena *a = *state;
	struct cpa_ctx *c;
	struct cpa_input in;
	json_t *v;

	c = ctx_new(a, &dev_cfg, "GET", "/api/v1/reviews", 1);
	c->req.query = "scope=team&within=14";
	assert_int_equal(cpa_query_read(c, list_fields, 2, &in), CPA_OK);
	assert_int_equal(c->resp.status, 0);		/* nothing answered */
	assert_int_equal(in.values[1].num, 14);

	c = ctx_new(a, &dev_cfg, "GET", "/api/v1/reviews", 1);
	c->req.query = "scope=all&within=999";
	assert_int_equal(cpa_query_read(c, list_fields, 2, &in), 422);
	assert_int_equal(c->resp.status, 422);
	v = body_json(c);
	assert_int_equal(json_object_size(json_object_get(v, "errors")), 2);
	assert_string_equal(jstr(v, "error"), "Select a valid scope");

	/* A page says what is wrong with the first field. */
	c = ctx_new(a, &dev_cfg, "GET", "/reviews", 0);
	c->req.query = "scope=all&within=999";
	assert_int_equal(cpa_query_read(c, list_fields, 2, &in), 422);
	assert_int_equal(c->resp.status, 422);
	assert_string_equal(c->resp.content_type, "text/html; charset=utf-8");
	assert_non_null(strstr(c->resp.body.data, "Select a valid scope"));
	assert_null(strstr(c->resp.body.data, "Days ahead"));

	/* A malformed query string: 400, as cpa_input_read answers it. */
	c = ctx_new(a, &dev_cfg, "GET", "/api/v1/reviews", 1);
	c->req.query = "within=%zz";
	assert_int_equal(cpa_query_read(c, list_fields, 2, &in), 400);
	assert_int_equal(c->resp.status, 400);
}

/* A page shown again: what cpa_input_refused passed on. */
static struct {
	int calls;
	long long id;
	int status;
	size_t nerrors;
} again_seen;

static void
again(struct cpa_ctx *ctx, long long id, const struct cpa_input *in, int status)
{
	(void)ctx;
	again_seen.calls++;
	again_seen.id = id;
	again_seen.status = status;
	again_seen.nerrors = in->nerrors;
}

static void
test_input_refused(void **state)
{
	cpa_arena *a = *state;
	struct cpa_ctx *c;
	struct cpa_input in;

	memset(&again_seen, 0, sizeof(again_seen));
	memset(&in, 0, sizeof(in));
	c = ctx_new(a, &dev_cfg, "POST", "/reviews/7/hold", 0);
	assert_int_equal(cpa_input_refused(c, &in, again, 7), 0);
	assert_int_equal(c->resp.status, 0);
	assert_int_equal(again_seen.calls, 0);

	in.errors = (struct cpa_field_error *)(uintptr_t)two_errors;
	in.nerrors = 2;
	assert_int_equal(cpa_input_refused(c, &in, again, 7), 1);
	assert_int_equal(again_seen.calls, 1);
	assert_int_equal(again_seen.id, 7);
	assert_int_equal(again_seen.status, 422);
	assert_int_equal(again_seen.nerrors, 2);

	c = ctx_new(a, &dev_cfg, "POST", "/api/v1/reviews/7/hold", 1);
	assert_int_equal(cpa_input_refused(c, &in, again, 7), 1);
	assert_int_equal(again_seen.calls, 1);		/* JSON: no page */
	assert_int_equal(c->resp.status, 422);
	assert_int_equal(json_object_size(json_object_get(body_json(c), "errors")), 2);
}

static void
test_body_json(void **state)
{
	cpa_arena *a = *state;
	struct cpa_ctx *c;
	json_t *doc;

	c = ctx_new(a, &dev_cfg, "PUT", "/api/v1/reminder-policy/1", 1);
	c->req.body = "{\"steps\": [1, 2]}";
	c->req.body_len = strlen(c->req.body);
	doc = cpa_body_json(c);
	assert_non_null(doc);
	assert_int_equal(json_array_size(json_object_get(doc, "steps")), 2);
	assert_int_equal(c->resp.status, 0);

	c = ctx_new(a, &dev_cfg, "PUT", "/api/v1/reminder-policy/1", 1);
	c->req.body = "{\"steps\": [1, 2]";
	c->req.body_len = strlen(c->req.body);
	assert_null(cpa_body_json(c));
	assert_int_equal(c->resp.status, 400);
	assert_non_null(jstr(body_json(c), "error"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_compose_ok, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_compose_statuses, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_compose_no_body, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_compose_https, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_header_refused, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_cookie, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_redirect, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_error_json, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_error_rc, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_render_json, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_render_created, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_render_invalid_json, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_render_html, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_render_missing_template, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_render_invalid_html, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_error_html, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_problem_find, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_problem_error, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_query_read, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_input_refused, unit_arena_setup,
		    unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_body_json, unit_arena_setup, unit_arena_teardown),
	};

	cpa_log_init("test_response", CPA_LOG_ERROR);
	return cmocka_run_group_tests(tests, load_templates, NULL);
}
