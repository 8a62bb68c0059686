/*
 * test_router.c - router.c: literal and "{param}" segments, paths that must
 * not match (trailing slash, extra or missing segments, empty parameter),
 * 404 against 405 with the Allow list (a GET route also allows HEAD), HEAD
 * served by GET routes, and route parameters filled in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cpa.h"
#include "unit.h"

/* The handlers are never called: the router only returns the route. */
static int
h_dummy(struct cpa_ctx *ctx)
{
	(void)ctx;
	return 0;
}

static const struct cpa_route routes[] = {
	{ "GET", "/", h_dummy, CPA_ROLE_ANY, 0 },				/* 0 */
	{ "GET", "/signin", h_dummy, CPA_ROLE_ANY, CPA_RF_PUBLIC },		/* 1 */
	{ "POST", "/signin", h_dummy, CPA_ROLE_ANY, CPA_RF_PUBLIC },		/* 2 */
	{ "GET", "/admin/staff", h_dummy, CPA_ROLE_TRUST_ADMIN, 0 },		/* 3 */
	{ "POST", "/admin/staff", h_dummy, CPA_ROLE_TRUST_ADMIN, 0 },		/* 4 */
	{ "GET", "/admin/staff/new", h_dummy, CPA_ROLE_TRUST_ADMIN, 0 },	/* 5 */
	{ "GET", "/admin/staff/{id}", h_dummy, CPA_ROLE_TRUST_ADMIN, 0 },	/* 6 */
	{ "POST", "/admin/staff/{id}/roles/{role_id}/delete", h_dummy,
	    CPA_ROLE_TRUST_ADMIN, 0 },						/* 7 */
	{ "DELETE", "/api/v1/session", h_dummy, CPA_ROLE_ANY, 0 },		/* 8 */
	{ "GET", "/api/v1/session", h_dummy, CPA_ROLE_ANY, 0 },		/* 9 */
	{ "POST", "/api/v1/session", h_dummy, CPA_ROLE_ANY, CPA_RF_PUBLIC },	/* 10 */
	{ "PUT", "/api/v1/me/password", h_dummy, CPA_ROLE_ANY, 0 },		/* 11 */
	{ "PATCH", "/api/v1/staff/{id}", h_dummy, CPA_ROLE_TRUST_ADMIN, 0 },	/* 12 */
	{ "GET", "/api/v1/staff/{id}", h_dummy, CPA_ROLE_TRUST_ADMIN, 0 },	/* 13 */
	{ "DELETE", "/api/v1/staff/{id}/roles/{role_id}", h_dummy,
	    CPA_ROLE_TRUST_ADMIN, 0 },						/* 14 */
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

struct match {
	const struct cpa_route *route;
	struct cpa_request req;
	int status;
	const char *allow;
};

static void
route(cpa_arena *a, const char *method, const char *path, struct match *m)
{
	memset(m, 0, sizeof(*m));
	m->req.method = method;
	m->req.path = path;
	m->status = -1;
	m->allow = "unset";
	m->route = cpa_route_match(a, routes, NROUTES, &m->req, &m->status, &m->allow);
}

/* Expect method + path to select routes[index]. */
static void
expect_route(cpa_arena *a, const char *method, const char *path, size_t index,
    struct match *m)
{
	route(a, method, path, m);
	if (m->route != &routes[index])
		fail_msg("%s %s: got route %td, want %zu", method, path,
		    m->route != NULL ? m->route - routes : (ptrdiff_t)-1, index);
}

/* The methods of an Allow value as a set: each exactly once. */
static void
expect_allow(const char *allow, const char *const *want, size_t nwant)
{
	char copy[128], *tok, *save = NULL;
	size_t n = 0, i;
	int seen[8] = { 0 };

	assert_non_null(allow);
	assert_true(strlen(allow) < sizeof(copy));
	strcpy(copy, allow);
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save)) {
		for (i = 0; i < nwant; i++)
			if (strcmp(tok, want[i]) == 0)
				break;
		if (i == nwant)
			fail_msg("Allow \"%s\" has unexpected %s", allow, tok);
		if (seen[i]++)
			fail_msg("Allow \"%s\" repeats %s", allow, tok);
		n++;
	}
	if (n != nwant)
		fail_msg("Allow \"%s\": %zu methods, want %zu", allow, n, nwant);
}

static void
test_literal(void **state)
{
	cpa_arena *a = *state;
	struct match m;

	expect_route(a, "GET", "/", 0, &m);
	assert_int_equal(m.req.nparams, 0);
	expect_route(a, "GET", "/signin", 1, &m);
	expect_route(a, "POST", "/signin", 2, &m);
	expect_route(a, "GET", "/admin/staff", 3, &m);
	expect_route(a, "POST", "/admin/staff", 4, &m);
	expect_route(a, "DELETE", "/api/v1/session", 8, &m);
	expect_route(a, "GET", "/api/v1/session", 9, &m);
	expect_route(a, "POST", "/api/v1/session", 10, &m);
	expect_route(a, "PUT", "/api/v1/me/password", 11, &m);
	/* Table order decides between a literal and a parameter. */
	expect_route(a, "GET", "/admin/staff/new", 5, &m);
	assert_int_equal(m.req.nparams, 0);
}

static void
test_params(void **state)
{
	cpa_arena *a = *state;
	struct match m;

	expect_route(a, "GET", "/admin/staff/42", 6, &m);
	assert_int_equal(m.req.nparams, 1);
	assert_string_equal(cpa_param(&m.req, "id"), "42");

	expect_route(a, "POST", "/admin/staff/7/roles/19/delete", 7, &m);
	assert_int_equal(m.req.nparams, 2);
	assert_string_equal(cpa_param(&m.req, "id"), "7");
	assert_string_equal(cpa_param(&m.req, "role_id"), "19");
	assert_null(cpa_param(&m.req, "delete"));

	expect_route(a, "PATCH", "/api/v1/staff/abc", 12, &m);
	assert_string_equal(cpa_param(&m.req, "id"), "abc");

	expect_route(a, "DELETE", "/api/v1/staff/3/roles/4", 14, &m);
	assert_string_equal(cpa_param(&m.req, "id"), "3");
	assert_string_equal(cpa_param(&m.req, "role_id"), "4");

	/* A parameter takes the whole segment, whatever it holds. */
	expect_route(a, "GET", "/admin/staff/caf\xc3\xa9.x", 6, &m);
	assert_string_equal(cpa_param(&m.req, "id"), "caf\xc3\xa9.x");
}

static void
test_not_found(void **state)
{
	static const char *const paths[] = {
		"/admin/staff/",		/* trailing slash */
		"/signin/",
		"/admin/staff/42/",
		"/admin/staff/42/extra",	/* extra segment */
		"/admin/staff/7/roles/19",	/* missing segment */
		"/admin/staff/7/roles/19/delete/x",
		"/admin",
		"/admin/",
		"/admin/staff//roles/1/delete",	/* empty parameter */
		"/admin//staff",
		"//",
		"",
		"/api/v1/sessions",
		"/api/v1/sessio",
		"/api/v1/session/x",
		"/Admin/staff",
		"/signinx",
		"/{id}",
	};
	cpa_arena *a = *state;
	struct match m;
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		route(a, "GET", paths[i], &m);
		if (m.route != NULL)
			fail_msg("GET \"%s\" matched route %td", paths[i], m.route - routes);
		if (m.status != 404)
			fail_msg("GET \"%s\": status %d, want 404", paths[i], m.status);
		assert_null(m.allow);
	}
	/* Unknown method on an unknown path: still 404. */
	route(a, "DELETE", "/nowhere", &m);
	assert_null(m.route);
	assert_int_equal(m.status, 404);
}

static void
test_method_not_allowed(void **state)
{
	static const char *const get_post[] = { "GET", "HEAD", "POST" };
	static const char *const session[] = { "DELETE", "GET", "HEAD", "POST" };
	static const char *const post[] = { "POST" };
	static const char *const put[] = { "PUT" };
	static const char *const staff[] = { "PATCH", "GET", "HEAD" };
	cpa_arena *a = *state;
	struct match m;

	route(a, "DELETE", "/admin/staff", &m);
	assert_null(m.route);
	assert_int_equal(m.status, 405);
	expect_allow(m.allow, get_post, 3);

	route(a, "PUT", "/api/v1/session", &m);
	assert_int_equal(m.status, 405);
	expect_allow(m.allow, session, 4);

	/* A POST-only path: GET and HEAD are both refused, and Allow says
	 * POST alone. */
	route(a, "GET", "/admin/staff/1/roles/2/delete", &m);
	assert_int_equal(m.status, 405);
	expect_allow(m.allow, post, 1);
	route(a, "HEAD", "/admin/staff/1/roles/2/delete", &m);
	assert_null(m.route);
	assert_int_equal(m.status, 405);
	expect_allow(m.allow, post, 1);

	route(a, "GET", "/api/v1/me/password", &m);
	assert_int_equal(m.status, 405);
	expect_allow(m.allow, put, 1);

	route(a, "POST", "/api/v1/staff/5", &m);
	assert_int_equal(m.status, 405);
	expect_allow(m.allow, staff, 3);
}

static void
test_head(void **state)
{
	cpa_arena *a = *state;
	struct match m;

	expect_route(a, "HEAD", "/", 0, &m);
	expect_route(a, "HEAD", "/admin/staff", 3, &m);
	expect_route(a, "HEAD", "/admin/staff/9", 6, &m);
	assert_string_equal(cpa_param(&m.req, "id"), "9");
	expect_route(a, "HEAD", "/api/v1/session", 9, &m);
	/* HEAD does not stand in for other methods. */
	route(a, "HEAD", "/api/v1/me/password", &m);
	assert_null(m.route);
	assert_int_equal(m.status, 405);
	/* Methods are matched exactly. */
	route(a, "get", "/", &m);
	assert_null(m.route);
	assert_int_equal(m.status, 405);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_literal, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_params, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_not_found, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_method_not_allowed, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_head, unit_arena_setup, unit_arena_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
