/*
 * test_session.c - the Redis-free parts of session.c: a session built from
 * the auth_profile() user object (role bits, grants, site_ids), user objects
 * that must be refused, the stored form's round trip and what decoding
 * refuses, and role checks with and without a site.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cpa.h"
#include "unit.h"

#define CSRF "abcdefghijklmnopqrstuvwxyzABCDEFGHIJK-_0123"	/* 43 characters */

/* A district manager at the north site (id 1) who also coordinates in a
 * team there, administers the south site (id 2) and audits it. */
static const char user_text[] =
    "{\"id\":5,\"username\":\"dm.north\",\"display_name\":\"Dana Manager\","
    "\"roles\":["
    "{\"id\":11,\"role\":\"coordinator\",\"site_id\":1,\"site_code\":\"north\","
    "\"site_name\":\"North site\",\"district_id\":2,\"district_name\":\"East\","
    "\"team_id\":3,\"team_name\":\"Crisis\"},"
    "{\"id\":12,\"role\":\"district_manager\",\"site_id\":1,\"site_code\":\"north\","
    "\"site_name\":\"North site\",\"district_id\":2,\"district_name\":\"East\","
    "\"team_id\":null,\"team_name\":null},"
    "{\"id\":13,\"role\":\"trust_admin\",\"site_id\":2,\"site_code\":\"south\","
    "\"site_name\":\"South site\",\"district_id\":null,\"district_name\":null,"
    "\"team_id\":null,\"team_name\":null},"
    "{\"id\":14,\"role\":\"auditor\",\"site_id\":2,\"site_code\":\"south\","
    "\"site_name\":\"South site\",\"district_id\":null,\"district_name\":null,"
    "\"team_id\":null,\"team_name\":null}],"
    "\"sites\":[{\"id\":1,\"code\":\"north\",\"name\":\"North site\"},"
    "{\"id\":2,\"code\":\"south\",\"name\":\"South site\"}]}";

/* Parse JSON text into a value kept by the arena. */
static json_t *
j(cpa_arena *a, const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, 0, &err);

	if (v == NULL)
		fail_msg("bad test JSON (%s): %s", err.text, text);
	return cpa_json_keep(a, v);
}

static void
make_session(cpa_arena *a, struct cpa_session *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(cpa_session_from_user(a, j(a, user_text), s), CPA_OK);
	memcpy(s->csrf, CSRF, CPA_TOKEN_LEN + 1);
	s->created = 1767225600;
}

static void
test_from_user(void **state)
{
	static const struct cpa_grant want[] = {
		{ 11, CPA_ROLE_COORDINATOR, 1, 2, 3 },
		{ 12, CPA_ROLE_DISTRICT_MANAGER, 1, 2, 0 },
		{ 13, CPA_ROLE_TRUST_ADMIN, 2, 0, 0 },
		{ 14, CPA_ROLE_AUDITOR, 2, 0, 0 },
	};
	cpa_arena *a = *state;
	struct cpa_session s;
	json_t *copy;
	size_t i;

	make_session(a, &s);
	assert_int_equal(s.user_id, 5);
	assert_string_equal(s.username, "dm.north");
	assert_string_equal(s.display_name, "Dana Manager");
	assert_int_equal(s.roles, CPA_ROLE_COORDINATOR | CPA_ROLE_DISTRICT_MANAGER |
	    CPA_ROLE_TRUST_ADMIN | CPA_ROLE_AUDITOR);
	assert_string_equal(s.site_ids, "1,2");
	assert_int_equal(s.ngrants, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(s.grants[i].id, want[i].id);
		assert_int_equal(s.grants[i].role, want[i].role);
		assert_int_equal(s.grants[i].site_id, want[i].site_id);
		assert_int_equal(s.grants[i].district_id, want[i].district_id);
		assert_int_equal(s.grants[i].team_id, want[i].team_id);
	}

	/* What clients see is a copy of the user object. */
	copy = cpa_json_keep(a, cpa_session_user_json(&s));
	assert_true(json_equal(copy, j(a, user_text)));
	json_object_set_new(copy, "username", json_string("changed"));
	assert_string_equal(json_string_value(json_object_get(s.user, "username")),
	    "dm.north");
}

static void
test_from_user_single_site(void **state)
{
	cpa_arena *a = *state;
	struct cpa_session s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(cpa_session_from_user(a, j(a,
	    "{\"id\":9,\"username\":\"prac.north\",\"display_name\":\"P\","
	    "\"roles\":[{\"id\":1,\"role\":\"practitioner\",\"site_id\":1}],"
	    "\"sites\":[{\"id\":1}]}"), &s), CPA_OK);
	assert_int_equal(s.roles, CPA_ROLE_PRACTITIONER);
	assert_string_equal(s.site_ids, "1");

	/* No roles and no sites: a valid session that can see nothing. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(cpa_session_from_user(a, j(a,
	    "{\"id\":9,\"username\":\"x.y\",\"display_name\":\"X\","
	    "\"roles\":[],\"sites\":[]}"), &s), CPA_OK);
	assert_int_equal(s.roles, 0);
	assert_int_equal(s.ngrants, 0);
	assert_string_equal(s.site_ids, "");
	assert_int_equal(cpa_session_has_role(&s, CPA_ROLE_COORDINATOR |
	    CPA_ROLE_TRUST_ADMIN, 0), 0);
}

static void
test_unknown_role_grants_nothing(void **state)
{
	cpa_arena *a = *state;
	struct cpa_session s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(cpa_session_from_user(a, j(a,
	    "{\"id\":9,\"username\":\"x.y\",\"display_name\":\"X\","
	    "\"roles\":[{\"id\":1,\"role\":\"superuser\",\"site_id\":1},"
	    "{\"id\":2,\"role\":\"Trust_Admin\",\"site_id\":1}],"
	    "\"sites\":[{\"id\":1}]}"), &s), CPA_OK);
	assert_int_equal(s.roles, 0);
	assert_int_equal(cpa_session_has_role(&s, ~0u, 1), 0);
	assert_int_equal(cpa_session_has_role(&s, ~0u, 0), 0);
}

static void
test_from_user_refused(void **state)
{
	static const char *const bad[] = {
		"[]",
		"\"dm.north\"",
		"null",
		"{\"username\":\"a.b\",\"display_name\":\"A\",\"roles\":[],\"sites\":[]}",
		"{\"id\":0,\"username\":\"a.b\",\"display_name\":\"A\",\"roles\":[],\"sites\":[]}",
		"{\"id\":-3,\"username\":\"a.b\",\"display_name\":\"A\",\"roles\":[],\"sites\":[]}",
		"{\"id\":\"5\",\"username\":\"a.b\",\"display_name\":\"A\",\"roles\":[],\"sites\":[]}",
		"{\"id\":5,\"display_name\":\"A\",\"roles\":[],\"sites\":[]}",
		"{\"id\":5,\"username\":7,\"display_name\":\"A\",\"roles\":[],\"sites\":[]}",
		"{\"id\":5,\"username\":\"a.b\",\"roles\":[],\"sites\":[]}",
		"{\"id\":5,\"username\":\"a.b\",\"display_name\":null,\"roles\":[],\"sites\":[]}",
		"{\"id\":5,\"username\":\"a.b\",\"display_name\":\"A\",\"sites\":[]}",
		"{\"id\":5,\"username\":\"a.b\",\"display_name\":\"A\",\"roles\":{},\"sites\":[]}",
		"{\"id\":5,\"username\":\"a.b\",\"display_name\":\"A\",\"roles\":[]}",
		"{\"id\":5,\"username\":\"a.b\",\"display_name\":\"A\",\"roles\":[],\"sites\":\"1,2\"}",
	};
	cpa_arena *a = *state;
	struct cpa_session s;
	size_t i;

	assert_int_equal(cpa_session_from_user(a, NULL, &s), CPA_EINPUT);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *u = cpa_json_keep(a, json_loads(bad[i], JSON_DECODE_ANY, NULL));

		assert_non_null(u);
		memset(&s, 0, sizeof(s));
		if (cpa_session_from_user(a, u, &s) != CPA_EINPUT)
			fail_msg("accepted user %zu: %s", i, bad[i]);
	}
}

static void
test_round_trip(void **state)
{
	cpa_arena *a = *state;
	struct cpa_session s, d;
	const char *enc;
	size_t i;

	make_session(a, &s);
	enc = cpa_session_encode(a, &s);
	assert_non_null(enc);
	memset(&d, 0xa5, sizeof(d));
	assert_int_equal(cpa_session_decode(a, enc, strlen(enc), &d), CPA_OK);
	assert_string_equal(d.csrf, CSRF);
	assert_int_equal(d.created, 1767225600);
	assert_int_equal(d.user_id, 5);
	assert_string_equal(d.username, "dm.north");
	assert_string_equal(d.display_name, "Dana Manager");
	assert_int_equal(d.roles, s.roles);
	assert_string_equal(d.site_ids, "1,2");
	assert_int_equal(d.ngrants, s.ngrants);
	for (i = 0; i < s.ngrants; i++)
		assert_memory_equal(&d.grants[i], &s.grants[i], sizeof(s.grants[i]));
	assert_true(json_equal(d.user, s.user));

	/* Non-ASCII names survive the trip. */
	json_object_set_new(s.user, "display_name", json_string("Si\xc3\xa2n \xe2\x80\xa8"));
	enc = cpa_session_encode(a, &s);
	assert_int_equal(cpa_session_decode(a, enc, strlen(enc), &d), CPA_OK);
	assert_string_equal(d.display_name, "Si\xc3\xa2n \xe2\x80\xa8");
}

/* The stored form of the test session with one part replaced. */
static const char *
stored(cpa_arena *a, const char *v, const char *csrf, const char *user)
{
	return cpa_sprintf(a, "{%s%s%s\"created\":1767225600%s%s}",
	    v != NULL ? v : "", v != NULL ? "," : "",
	    csrf != NULL ? cpa_sprintf(a, "\"csrf\":%s,", csrf) : "",
	    user != NULL ? ",\"user\":" : "", user != NULL ? user : "");
}

static void
test_decode_refused(void **state)
{
	cpa_arena *a = *state;
	const char *good, *enc;
	const char *bad[20];
	struct cpa_session d;
	size_t n = 0, i;

	good = stored(a, "\"v\":1", "\"" CSRF "\"", user_text);
	memset(&d, 0, sizeof(d));
	assert_int_equal(cpa_session_decode(a, good, strlen(good), &d), CPA_OK);
	assert_string_equal(d.csrf, CSRF);

	bad[n++] = "";
	bad[n++] = "garbage";
	bad[n++] = "\x01\x02";
	bad[n++] = "[]";
	bad[n++] = "{}";
	bad[n++] = "null";
	bad[n++] = stored(a, NULL, "\"" CSRF "\"", user_text);
	bad[n++] = stored(a, "\"v\":2", "\"" CSRF "\"", user_text);
	bad[n++] = stored(a, "\"v\":0", "\"" CSRF "\"", user_text);
	bad[n++] = stored(a, "\"v\":\"1\"", "\"" CSRF "\"", user_text);
	bad[n++] = stored(a, "\"v\":1", NULL, user_text);
	bad[n++] = stored(a, "\"v\":1", "\"short\"", user_text);
	bad[n++] = stored(a, "\"v\":1", "\"" CSRF "x\"", user_text);
	bad[n++] = stored(a, "\"v\":1", "\"abcdefghijklmnopqrstuvwxyzABCDEFGHIJK-_012\"", user_text);
	bad[n++] = stored(a, "\"v\":1", "42", user_text);
	bad[n++] = stored(a, "\"v\":1", "\"" CSRF "\"", NULL);
	bad[n++] = stored(a, "\"v\":1", "\"" CSRF "\"", "{\"id\":5}");
	bad[n++] = stored(a, "\"v\":1", "\"" CSRF "\"", "\"dm.north\"");
	for (i = 0; i < n; i++) {
		memset(&d, 0, sizeof(d));
		if (cpa_session_decode(a, bad[i], strlen(bad[i]), &d) == CPA_OK)
			fail_msg("decoded %zu: %s", i, bad[i]);
	}

	/* A truncated value (cut short in Redis) is refused. */
	enc = good;
	for (i = 0; i < strlen(enc); i += 7) {
		memset(&d, 0, sizeof(d));
		if (cpa_session_decode(a, enc, i, &d) == CPA_OK)
			fail_msg("decoded the first %zu bytes", i);
	}
	/* Duplicate keys cannot smuggle a second csrf. */
	enc = cpa_sprintf(a, "{\"v\":1,\"csrf\":\"%s\",\"csrf\":\"%s\",\"created\":1,\"user\":%s}",
	    CSRF, CSRF, user_text);
	assert_int_not_equal(cpa_session_decode(a, enc, strlen(enc), &d), CPA_OK);
}

static void
test_has_role(void **state)
{
	cpa_arena *a = *state;
	struct cpa_session s;

	make_session(a, &s);
	/* Any site. */
	assert_true(cpa_session_has_role(&s, CPA_ROLE_TRUST_ADMIN, 0));
	assert_true(cpa_session_has_role(&s, CPA_ROLE_COORDINATOR, 0));
	assert_false(cpa_session_has_role(&s, CPA_ROLE_PRACTITIONER, 0));
	assert_false(cpa_session_has_role(&s, CPA_ROLE_TEAM_MANAGER, 0));
	assert_true(cpa_session_has_role(&s, CPA_ROLE_PRACTITIONER |
	    CPA_ROLE_AUDITOR, 0));
	/* Scoped to a site: the admin role is at south (2) only. */
	assert_true(cpa_session_has_role(&s, CPA_ROLE_TRUST_ADMIN, 2));
	assert_false(cpa_session_has_role(&s, CPA_ROLE_TRUST_ADMIN, 1));
	assert_true(cpa_session_has_role(&s, CPA_ROLE_DISTRICT_MANAGER, 1));
	assert_false(cpa_session_has_role(&s, CPA_ROLE_DISTRICT_MANAGER, 2));
	assert_true(cpa_session_has_role(&s, CPA_ROLE_TRUST_ADMIN |
	    CPA_ROLE_COORDINATOR, 1));
	assert_false(cpa_session_has_role(&s, CPA_ROLE_TRUST_ADMIN, 3));
	assert_false(cpa_session_has_role(&s, CPA_ROLE_PRACTITIONER, 1));
	/* No session: nothing. */
	assert_false(cpa_session_has_role(NULL, CPA_ROLE_TRUST_ADMIN, 0));
	assert_false(cpa_session_has_role(NULL, ~0u, 2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_from_user, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_from_user_single_site, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_role_grants_nothing, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_from_user_refused, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_decode_refused, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_has_role, unit_arena_setup, unit_arena_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
