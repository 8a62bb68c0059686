/*
 * test_db.c - db.c's column helpers on results built by hand (no server):
 * a column's text or SQL NULL, bounded integers, booleans, JSON columns
 * kept by the arena, and ids as statement parameters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cpa.h"
#include "unit.h"

#define TEXT_OID 25

static const char *const columns[] = { "done", "covered", "n", "j", NULL };

static void
clear(void *r)
{
	PQclear(r);
}

/* A result with columns above and rows of values (NULL: SQL NULL), freed
 * with the arena. */
static PGresult *
result(cpa_arena *a, const char *const rows[][4], int nrows)
{
	PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc att[4];
	int i, k;

	assert_non_null(r);
	memset(att, 0, sizeof(att));
	for (k = 0; k < 4; k++) {
		att[k].name = (char *)(uintptr_t)columns[k];
		att[k].typid = TEXT_OID;
		att[k].typlen = -1;
		att[k].atttypmod = -1;
	}
	assert_true(PQsetResultAttrs(r, 4, att));
	for (i = 0; i < nrows; i++)
		for (k = 0; k < 4; k++)
			assert_true(PQsetvalue(r, i, k, (char *)(uintptr_t)rows[i][k],
			    rows[i][k] != NULL ? (int)strlen(rows[i][k]) : -1));
	cpa_arena_defer(a, clear, r);
	return r;
}

static void
test_flag(void **state)
{
	static const char *const rows[][4] = {
		{ "t", "f", "12", "{}" },
		{ NULL, "true", "x", NULL },
	};
	PGresult *r = result(*state, rows, 2);

	assert_true(cpa_db_flag(r, 0, "done"));
	assert_false(cpa_db_flag(r, 0, "covered"));
	assert_false(cpa_db_flag(r, 1, "done"));	/* SQL NULL */
	assert_false(cpa_db_flag(r, 1, "covered"));	/* only "t" is true */
	assert_false(cpa_db_flag(r, 0, "no_such_column"));
	assert_false(cpa_db_flag(r, 2, "done"));	/* no such row */
}

static void
test_get_and_ll(void **state)
{
	static const char *const rows[][4] = {
		{ "t", "", "-42", "[1]" },
		{ NULL, NULL, "99999999999999999999", NULL },
	};
	cpa_arena *a = *state;
	PGresult *r = result(a, rows, 2);
	json_t *j;

	assert_string_equal(cpa_db_get(r, 0, "done"), "t");
	assert_string_equal(cpa_db_get(r, 0, "covered"), "");
	assert_null(cpa_db_get(r, 1, "done"));
	assert_null(cpa_db_get(r, 0, "nope"));
	assert_int_equal(cpa_db_ll(r, 0, "n"), -42);
	assert_int_equal(cpa_db_ll(r, 1, "n"), 0);	/* out of range */
	assert_int_equal(cpa_db_ll(r, 1, "done"), 0);	/* SQL NULL */
	j = cpa_db_json(a, r, 0, "j");
	assert_true(json_is_array(j));
	assert_int_equal(json_array_size(j), 1);
	assert_null(cpa_db_json(a, r, 1, "j"));
	assert_string_equal(cpa_id_param(a, 7), "7");
	assert_null(cpa_id_param(a, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flag, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_get_and_ll, unit_arena_setup,
		    unit_arena_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
