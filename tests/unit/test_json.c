/*
 * test_json.c - json.c: what cpa_json_parse refuses (duplicates, invalid
 * UTF-8, NUL, depth beyond 32, trailing data), what cpa_json_write escapes
 * (non-ASCII, U+2028/2029, '/', control characters), and the walk that
 * adds words beside a model's values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cpa.h"
#include "unit.h"

/* Parse a literal; returns the value (kept in the arena) or NULL with err. */
static json_t *
parse(cpa_arena *a, const char *s, size_t n, char *err, size_t errlen)
{
	return cpa_json_keep(a, cpa_json_parse(s, n, err, errlen));
}

#define PARSE(lit) parse(a, lit, sizeof(lit) - 1, err, sizeof(err))

static void
test_parse_ok(void **state)
{
	cpa_arena *a = *state;
	char err[128];
	json_t *v;

	v = PARSE("{\"username\":\"admin.north\",\"n\":5,\"ok\":true,\"x\":null}");
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "username")),
	    "admin.north");
	assert_int_equal(json_integer_value(json_object_get(v, "n")), 5);
	assert_true(json_is_true(json_object_get(v, "ok")));
	assert_true(json_is_null(json_object_get(v, "x")));
	v = PARSE("[1,2,3]");
	assert_true(json_is_array(v));
	v = PARSE("\"caf\\u00E9 \xe2\x82\xac\"");
	assert_string_equal(json_string_value(v), "caf\xc3\xa9 \xe2\x82\xac");
	v = PARSE(" 42 ");
	assert_int_equal(json_integer_value(v), 42);
}

static void
test_parse_refused(void **state)
{
	static const struct {
		const char *text;
		size_t len;
		const char *why;
	} bad[] = {
#define BAD(lit, why) { lit, sizeof(lit) - 1, why }
		BAD("", "end of input"),
		BAD("{", "end of input"),
		BAD("{\"a\":1,}", "syntax"),
		BAD("{'a':1}", "syntax"),
		BAD("{\"a\":1} x", "after the value"),
		BAD("{\"a\":1}{}", "after the value"),
		BAD("{\"a\":1,\"a\":2}", "duplicate key"),
		BAD("{\"o\":{\"k\":1,\"k\":1}}", "duplicate key"),
		BAD("\"\xc0\x80\"", "UTF-8"),
		BAD("\"\xed\xa0\x80\"", "UTF-8"),
		BAD("\"\xf4\x90\x80\x80\"", "UTF-8"),
		BAD("\"\xe2\x82\"", "UTF-8"),
		BAD("{\"k\xff\":1}", "UTF-8"),
		BAD("\"a\\u0000b\"", "NUL"),
		BAD("{\"a\\u0000\":1}", "NUL"),
		BAD("\"a\x00" "b\"", ""),
		BAD("{\"a\":1}\x00", ""),
		BAD("\"tab\there\"", ""),
		BAD("123456789012345678901234567890", "out of range"),
		BAD("1e400", "out of range"),
		BAD("NaN", ""),
#undef BAD
	};
	cpa_arena *a = *state;
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (parse(a, bad[i].text, bad[i].len, err, sizeof(err)) != NULL)
			fail_msg("accepted case %zu", i);
		if (strstr(err, "position") == NULL || strstr(err, bad[i].why) == NULL)
			fail_msg("case %zu: message \"%s\", wanted \"%s\"", i, err,
			    bad[i].why);
	}
	/* A NULL err is allowed. */
	assert_null(cpa_json_parse("{", 1, NULL, 0));
}

/* n nested arrays around 0: depth n. */
static char *
nested(cpa_arena *a, int n)
{
	char *s = cpa_alloc(a, (size_t)n * 2 + 2);
	int i;

	for (i = 0; i < n; i++) {
		s[i] = '[';
		s[n + 1 + i] = ']';
	}
	s[n] = '0';
	return s;
}

static void
test_parse_depth(void **state)
{
	cpa_arena *a = *state;
	char err[128], *s;

	s = nested(a, 32);
	assert_non_null(parse(a, s, strlen(s), err, sizeof(err)));
	s = nested(a, 33);
	assert_null(parse(a, s, strlen(s), err, sizeof(err)));
	assert_non_null(strstr(err, "32"));
	/* Far deeper than our limit, and beyond jansson's own. */
	s = nested(a, 5000);
	assert_null(parse(a, s, strlen(s), err, sizeof(err)));
	/* Objects count too, and scalars add no depth. */
	{
		struct cpa_buf b;
		int i;

		cpa_buf_init(&b, a);
		for (i = 0; i < 32; i++)
			cpa_buf_puts(&b, "{\"a\":");
		cpa_buf_puts(&b, "\"deep\"");
		for (i = 0; i < 32; i++)
			cpa_buf_putc(&b, '}');
		assert_non_null(parse(a, b.data, b.len, err, sizeof(err)));
		cpa_buf_init(&b, a);
		for (i = 0; i < 16; i++)
			cpa_buf_puts(&b, "{\"a\":[");
		cpa_buf_puts(&b, "{}");
		for (i = 0; i < 16; i++)
			cpa_buf_puts(&b, "]}");
		assert_null(parse(a, b.data, b.len, err, sizeof(err)));
	}
}

static const char *
write_json(cpa_arena *a, const json_t *v)
{
	struct cpa_buf b;

	cpa_buf_init(&b, a);
	cpa_json_write(&b, v);
	assert_int_equal(strlen(b.data), b.len);
	return b.data;
}

static void
test_write_escapes(void **state)
{
	cpa_arena *a = *state;
	json_t *o;

	o = cpa_json_keep(a, json_object());
	json_object_set_new(o, "s", json_string("</script><b>caf\xc3\xa9</b>"));
	json_object_set_new(o, "ls", json_string("a\xe2\x80\xa8" "b\xe2\x80\xa9" "c"));
	json_object_set_new(o, "c", json_string("\x01\t\n\"\\"));
	json_object_set_new(o, "e", json_string("\xf0\x9f\x98\x80"));
	assert_string_equal(write_json(a, o),
	    "{\"s\":\"<\\/script><b>caf\\u00E9<\\/b>\","
	    "\"ls\":\"a\\u2028b\\u2029c\","
	    "\"c\":\"\\u0001\\t\\n\\\"\\\\\","
	    "\"e\":\"\\uD83D\\uDE00\"}");
}

static void
test_write_order_and_types(void **state)
{
	cpa_arena *a = *state;
	json_t *o;

	/* Insertion order, not sorted. */
	o = cpa_json_keep(a, json_pack("{s:i, s:b, s:n, s:[i,s], s:{}}",
	    "zeta", -3, "alpha", 1, "mid", "list", 1, "x", "obj"));
	assert_non_null(o);
	assert_string_equal(write_json(a, o),
	    "{\"zeta\":-3,\"alpha\":true,\"mid\":null,\"list\":[1,\"x\"],\"obj\":{}}");
	/* Scalars at the top level and NULL. */
	assert_string_equal(write_json(a, cpa_json_keep(a, json_integer(7))), "7");
	assert_string_equal(write_json(a, cpa_json_keep(a, json_string("x/y"))),
	    "\"x\\/y\"");
	assert_string_equal(write_json(a, NULL), "null");
}

static void
test_write_appends(void **state)
{
	cpa_arena *a = *state;
	struct cpa_buf b;
	json_t *v = cpa_json_keep(a, json_pack("[i]", 1));
	json_t *cyc, *inner;

	cpa_buf_init(&b, a);
	cpa_buf_puts(&b, "var m = ");
	cpa_json_write(&b, v);
	cpa_buf_putc(&b, ';');
	assert_string_equal(b.data, "var m = [1];");

	/* A value jansson cannot write (a cycle through two arrays) leaves
	 * "null", not a partial document. */
	cyc = cpa_json_keep(a, json_pack("[i]", 2));
	inner = json_pack("[i]", 3);
	json_array_append_new(cyc, inner);
	json_array_append(inner, cyc);
	cpa_buf_init(&b, a);
	cpa_buf_puts(&b, "x=");
	cpa_json_write(&b, cyc);
	assert_string_equal(b.data, "x=null");
	json_array_remove(inner, 1);	/* break the cycle so it is freed */
}

static void
test_round_trip(void **state)
{
	cpa_arena *a = *state;
	const char *in = "{\"name\":\"Zo\xc3\xab \xe2\x80\xa8 </x>\",\"n\":[1,2,{\"k\":false}]}";
	const char *out;
	char err[128];
	json_t *v, *w;

	v = parse(a, in, strlen(in), err, sizeof(err));
	assert_non_null(v);
	out = write_json(a, v);
	w = parse(a, out, strlen(out), err, sizeof(err));
	assert_non_null(w);
	assert_true(json_equal(v, w));
}

static int refs_released;

static void
count_release(void *p)
{
	(void)p;
	refs_released++;
}

static void
test_keep_releases(void **state)
{
	cpa_arena *a = cpa_arena_new();
	json_t *v = json_string("kept");

	(void)state;
	/* Hold an extra reference to watch the arena drop its own. */
	json_incref(v);
	assert_ptr_equal(cpa_json_keep(a, v), v);
	assert_null(cpa_json_keep(a, NULL));
	cpa_arena_defer(a, count_release, NULL);
	assert_int_equal(v->refcount, 2);
	cpa_arena_free(a);
	assert_int_equal(refs_released, 1);
	assert_int_equal(v->refcount, 1);
	json_decref(v);
}

/* Beside every "level" its label, and beside every key ending "_at" the
 * count of calls so far (arg). */
static void
annotate_member(json_t *add, const char *key, const json_t *value, void *arg)
{
	int *calls = arg;
	size_t n = strlen(key);

	(*calls)++;
	if (strcmp(key, "level") == 0)
		cpa_json_beside(add, key, "_label", json_string(json_is_string(value) ?
		    "a level" : "none"));
	if (n > 3 && strcmp(key + n - 3, "_at") == 0)
		cpa_json_beside(add, key, "_seen", json_integer(*calls));
}

static void
test_annotate(void **state)
{
	cpa_arena *a = *state;
	char err[128];
	json_t *v, *deep;
	int calls = 0, i;

	v = PARSE("{\"level\": \"high\", \"items\": [{\"level\": null,"
	    " \"made_at\": \"x\"}, 3, [{\"level\": \"low\"}]],"
	    " \"person\": {\"name\": \"Ann\"}}");
	assert_non_null(v);
	cpa_json_annotate(v, annotate_member, &calls);
	/* Seven members in all: the walk never sees what it added. */
	assert_int_equal(calls, 7);
	assert_string_equal(json_string_value(json_object_get(v, "level_label")), "a level");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(v, "items"), 0), "level_label")), "none");
	assert_true(json_is_integer(json_object_get(json_array_get(
	    json_object_get(v, "items"), 0), "made_at_seen")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_array_get(json_object_get(v, "items"), 2), 0), "level_label")),
	    "a level");
	assert_int_equal(json_object_size(json_object_get(v, "person")), 1);
	assert_int_equal(json_object_size(v), 4);

	/* The top and 16 levels below it. */
	deep = v = json_object();
	for (i = 0; i < 20; i++) {
		json_object_set_new(deep, "level", json_string("x"));
		json_object_set_new(deep, "next", json_object());
		deep = json_object_get(deep, "next");
	}
	cpa_json_keep(a, v);
	cpa_json_annotate(v, annotate_member, &calls);
	for (deep = v, i = 0; i < 20; i++, deep = json_object_get(deep, "next"))
		if ((json_object_get(deep, "level_label") != NULL) != (i <= 16))
			fail_msg("level %d: label %s", i, i <= 16 ? "missing" : "added");
}

static void
test_beside(void **state)
{
	char key[200];
	json_t *add = json_object();

	(void)state;
	cpa_json_beside(add, "due_at", "_text", json_string("27 March 2025"));
	assert_string_equal(json_string_value(json_object_get(add, "due_at_text")),
	    "27 March 2025");
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	cpa_json_beside(add, key, "_text", json_string("too long"));
	key[127 - 5] = '\0';
	cpa_json_beside(add, key, "_text", json_string("fits"));
	assert_int_equal(json_object_size(add), 2);
	json_decref(add);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_parse_ok, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_parse_refused, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_parse_depth, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_write_escapes, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_write_order_and_types, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_write_appends, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test(test_keep_releases),
		cmocka_unit_test_setup_teardown(test_annotate, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test(test_beside),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
