/*
 * test_dashboard_csv.c - modules/dashboard/csv.c: RFC 4180 quoting, the
 * apostrophe before text a spreadsheet would take for a formula (never
 * before a number), and the generic flattening of the dashboard's JSON
 * into one row per leaf: dotted paths, array entries named by their
 * first text member (spaces to underscores), numbers exactly as the
 * dashboard's JSON prints them, null as an empty value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dashboard.h"
#include "unit.h"

static const char *
field(cpa_arena *a, const char *s, int text)
{
	struct cpa_buf b;

	cpa_buf_init(&b, a);
	dash_csv_field(&b, s, text);
	return b.data;
}

static void
test_field_quoting(void **state)
{
	cpa_arena *a = *state;

	assert_string_equal(field(a, "plain", 1), "plain");
	assert_string_equal(field(a, "", 1), "");
	assert_string_equal(field(a, NULL, 1), "");
	assert_string_equal(field(a, "a,b", 1), "\"a,b\"");
	assert_string_equal(field(a, "say \"hi\"", 1), "\"say \"\"hi\"\"\"");
	assert_string_equal(field(a, "two\r\nlines", 1), "\"two\r\nlines\"");
	assert_string_equal(field(a, "line\nfeed", 1), "\"line\nfeed\"");
	assert_string_equal(field(a, "O'Neil", 1), "O'Neil");
	assert_string_equal(field(a, "caf\xc3\xa9", 1), "caf\xc3\xa9");
}

static void
test_field_formula(void **state)
{
	cpa_arena *a = *state;

	assert_string_equal(field(a, "=SUM(A1:A9)", 1), "'=SUM(A1:A9)");
	assert_string_equal(field(a, "+44 1234", 1), "'+44 1234");
	assert_string_equal(field(a, "-x", 1), "'-x");
	assert_string_equal(field(a, "@cmd", 1), "'@cmd");
	assert_string_equal(field(a, "\tx", 1), "'\tx");
	assert_string_equal(field(a, "=1,2", 1), "\"'=1,2\"");
	assert_string_equal(field(a, "a=b", 1), "a=b");
	/* numbers are not text: a negative one keeps its sign alone */
	assert_string_equal(field(a, "-1.5", 0), "-1.5");
}

/* The CSV of v as one group, parsed back: "figure,value;" per row after
 * checking the first four fields of each (the group's name starts with
 * "=", so it is guarded). */
static const char *
rows_of(cpa_arena *a, const json_t *v, const char *const *skip)
{
	static const char prefix[] = "My scope,team,7,'=Team,";
	struct cpa_buf b, out;
	json_t *id = json_integer(7);
	char *line, *save = NULL;

	cpa_buf_init(&b, a);
	cpa_buf_init(&out, a);
	dash_csv_group(&b, "My scope", "team", id, "=Team", v, skip);
	json_decref(id);
	for (line = strtok_r(b.data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		assert_true(strlen(line) > 0 && line[strlen(line) - 1] == '\r');
		line[strlen(line) - 1] = '\0';
		assert_memory_equal(line, prefix, strlen(prefix));
		cpa_buf_puts(&out, line + strlen(prefix));
		cpa_buf_putc(&out, ';');
	}
	return out.data;
}

static void
test_flatten(void **state)
{
	cpa_arena *a = *state;
	json_error_t e;
	json_t *v = json_loads("{\"reviews\":{\"held\":10,\"on_time_share\":0.720,"
	    "\"oldest\":null,\"whole\":1.0,\"due\":\"2024-03-05\"},"
	    "\"by_urgency\":[{\"urgency\":\"routine\",\"median_hours\":203.6,\"n\":3}],"
	    "\"buckets\":[{\"label\":\"16 to 25\",\"n\":4}],"
	    "\"list\":[5,6],\"empty\":{},\"none\":[],\"flag\":true,"
	    "\"text\":\"-1, said \\\"x\\\"\"}", 0, &e);

	assert_non_null(v);
	assert_string_equal(rows_of(a, v, NULL),
	    "reviews.held,10;reviews.on_time_share,0.72;reviews.oldest,;"
	    "reviews.whole,1.0;reviews.due,2024-03-05;"
	    "by_urgency.routine.median_hours,203.6;by_urgency.routine.n,3;"
	    "buckets.16_to_25.n,4;list.0,5;list.1,6;flag,true;"
	    "text,\"'-1, said \"\"x\"\"\";");
	json_decref(v);
}

static void
test_flatten_skip_and_groups(void **state)
{
	static const char *const skip[] = { "month", NULL };
	cpa_arena *a = *state;
	json_error_t e;
	json_t *m = json_loads("{\"month\":\"2026-01\",\"from\":\"2026-01-01\","
	    "\"referrals_received\":8}", 0, &e);
	json_t *g = json_loads("[{\"kind\":\"district\",\"id\":2,\"name\":\"Moorland\","
	    "\"href\":\"/dashboard/districts/2\",\"figures\":{\"caseload\":{\"total\":5}}},"
	    "{\"kind\":\"coordinator\",\"id\":9,\"name\":\"A, B\",\"caseload\":28,"
	    "\"review_oldest_due\":null}]", 0, &e);
	struct cpa_buf b;

	assert_non_null(m);
	assert_non_null(g);
	assert_string_equal(rows_of(a, m, skip), "from,2026-01-01;referrals_received,8;");
	cpa_buf_init(&b, a);
	dash_csv_header(&b);
	dash_csv_groups(&b, "S", NULL, g);
	assert_string_equal(b.data,
	    "scope,group_kind,group_id,group_name,figure,value\r\n"
	    "S,district,2,Moorland,caseload.total,5\r\n"
	    "S,coordinator,9,\"A, B\",caseload,28\r\n"
	    "S,coordinator,9,\"A, B\",review_oldest_due,\r\n");
	json_decref(m);
	json_decref(g);
}

static void
test_json_put(void **state)
{
	cpa_arena *a = *state;
	struct cpa_buf b;
	json_error_t e;
	json_t *v = json_loads("{\"s\":0.333,\"t\":0.000,\"u\":\"/x\\u00e9\",\"n\":null}", 0,
	    &e);

	cpa_buf_init(&b, a);
	cpa_json_write(&b, v);
	assert_string_equal(b.data, "{\"s\":0.333,\"t\":0.0,\"u\":\"\\/x\\u00E9\",\"n\":null}");
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_field_quoting, unit_arena_setup,
		    unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_field_formula, unit_arena_setup,
		    unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_flatten, unit_arena_setup,
		    unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_flatten_skip_and_groups,
		    unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_json_put, unit_arena_setup,
		    unit_arena_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
