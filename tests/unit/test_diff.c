/*
 * test_diff.c - diff.c: cpa_diff_words gives the words kept, removed and
 * added between two texts, keeps whitespace and line breaks, never splits
 * a multibyte character, and always joins back to both texts (checked over
 * fixed pairs and pseudo-random edits); a middle too big to align comes
 * back as one removed and one added segment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cpa.h"
#include "unit.h"

/* Expected segments: op, text pairs ending with NULL. */
static void
expect(json_t *d, ...)
{
	const char *op, *text;
	json_t *seg;
	va_list ap;
	size_t i = 0;

	assert_non_null(d);
	assert_true(json_is_array(d));
	va_start(ap, d);
	while ((op = va_arg(ap, const char *)) != NULL) {
		text = va_arg(ap, const char *);
		seg = json_array_get(d, i);
		if (seg == NULL)
			fail_msg("segment %zu missing: expected %s \"%s\"", i, op, text);
		assert_string_equal(json_string_value(json_object_get(seg, "op")), op);
		assert_string_equal(json_string_value(json_object_get(seg, "text")), text);
		i++;
	}
	va_end(ap);
	assert_int_equal(json_array_size(d), i);
	json_decref(d);
}

/* The segments of d whose op is not skip, joined (arena memory). */
static const char *
joined(cpa_arena *a, const json_t *d, const char *skip)
{
	struct cpa_buf b;
	json_t *seg;
	size_t i;

	cpa_buf_init(&b, a);
	json_array_foreach(d, i, seg)
		if (strcmp(json_string_value(json_object_get(seg, "op")), skip) != 0)
			cpa_buf_puts(&b, json_string_value(json_object_get(seg, "text")));
	return b.data;
}

/* What every answer must satisfy: known ops, no empty text, no two
 * neighbours with one op, removed never right after added, and the
 * segments joining back to before and to after. */
static void
check_props(cpa_arena *a, const char *before, const char *after)
{
	json_t *d = cpa_diff_words(before, after), *seg;
	const char *op, *prev = "", *text;
	size_t i;

	assert_non_null(d);
	json_array_foreach(d, i, seg) {
		op = json_string_value(json_object_get(seg, "op"));
		text = json_string_value(json_object_get(seg, "text"));
		assert_non_null(op);
		assert_non_null(text);
		assert_true(strcmp(op, "same") == 0 || strcmp(op, "removed") == 0 ||
		    strcmp(op, "added") == 0);
		assert_true(text[0] != '\0');
		assert_true(cpa_utf8_valid(text, strlen(text)));
		assert_string_not_equal(op, prev);
		assert_false(strcmp(prev, "added") == 0 && strcmp(op, "removed") == 0);
		prev = op;
	}
	assert_string_equal(joined(a, d, "added"), before != NULL ? before : "");
	assert_string_equal(joined(a, d, "removed"), after != NULL ? after : "");
	if (before != NULL && after != NULL && strcmp(before, after) == 0 &&
	    before[0] != '\0') {
		assert_int_equal(json_array_size(d), 1);
		assert_string_equal(json_string_value(json_object_get(
		    json_array_get(d, 0), "op")), "same");
	}
	json_decref(d);
}

static void
test_identical(void **state)
{
	(void)state;
	expect(cpa_diff_words("Walking the dog\nevery morning",
	    "Walking the dog\nevery morning"),
	    "same", "Walking the dog\nevery morning", NULL);
	expect(cpa_diff_words("  indented  ", "  indented  "),
	    "same", "  indented  ", NULL);
}

static void
test_null_and_empty(void **state)
{
	(void)state;
	expect(cpa_diff_words(NULL, NULL), NULL);
	expect(cpa_diff_words("", ""), NULL);
	expect(cpa_diff_words(NULL, ""), NULL);
	expect(cpa_diff_words(NULL, "Sister: 07700 900123"),
	    "added", "Sister: 07700 900123", NULL);
	expect(cpa_diff_words("", "new"), "added", "new", NULL);
	expect(cpa_diff_words("Medication held by sister", NULL),
	    "removed", "Medication held by sister", NULL);
	expect(cpa_diff_words("old", ""), "removed", "old", NULL);
}

static void
test_insert_delete_replace(void **state)
{
	(void)state;
	expect(cpa_diff_words("the cat sat", "the black cat sat"),
	    "same", "the ", "added", "black ", "same", "cat sat", NULL);
	expect(cpa_diff_words("the black cat sat", "the cat sat"),
	    "same", "the ", "removed", "black ", "same", "cat sat", NULL);
	expect(cpa_diff_words("the cat sat", "the dog sat"),
	    "same", "the ", "removed", "cat ", "added", "dog ", "same", "sat", NULL);
	/* Several words replaced by several: removed first, then added. */
	expect(cpa_diff_words("calls his sister every day",
	    "texts his brother most weeks"),
	    "removed", "calls ", "added", "texts ", "same", "his ",
	    "removed", "sister every day", "added", "brother most weeks", NULL);
	/* At the ends. */
	expect(cpa_diff_words("sleeps all day", "sleeps all day and night"),
	    "same", "sleeps all day", "added", " and night", NULL);
	expect(cpa_diff_words("sleeps all day", "often sleeps all day"),
	    "added", "often ", "same", "sleeps all day", NULL);
	expect(cpa_diff_words("often sleeps", "sleeps"),
	    "removed", "often ", "same", "sleeps", NULL);
}

static void
test_multibyte(void **state)
{
	(void)state;
	expect(cpa_diff_words("naïve résumé ok", "naïve résume ok"),
	    "same", "naïve ", "removed", "résumé ", "added", "résume ", "same", "ok",
	    NULL);
	/* A no-break space (U+00A0, two bytes) is part of its word. */
	expect(cpa_diff_words("a\xc2\xa0" "b c", "a\xc2\xa0" "d c"),
	    "removed", "a\xc2\xa0" "b ", "added", "a\xc2\xa0" "d ", "same", "c", NULL);
	expect(cpa_diff_words("日本語 テキスト 😀", "日本語 テキスト 🙂 😀"),
	    "same", "日本語 テキスト ", "added", "🙂 ", "same", "😀", NULL);
}

static void
test_whitespace_kept(void **state)
{
	(void)state;
	expect(cpa_diff_words("one two\nthree", "one two\n\nthree four"),
	    "same", "one two", "removed", "\n", "added", "\n\n", "same", "three",
	    "added", " four", NULL);
	expect(cpa_diff_words("  x", "x"), "removed", "  ", "same", "x", NULL);
	expect(cpa_diff_words("line one\r\nline two", "line one\r\nline 2"),
	    "same", "line one\r\nline ", "removed", "two", "added", "2", NULL);
	expect(cpa_diff_words("a\tb", "a b"),
	    "same", "a", "removed", "\t", "added", " ", "same", "b", NULL);
}

static const char *const fixed_pairs[][2] = {
	{ "", "" },
	{ "a", "" },
	{ "", "a" },
	{ " ", "  " },
	{ "\n", "" },
	{ "a b c", "c b a" },
	{ "a a a a", "a a" },
	{ "x y z", "x\ny\nz\n" },
	{ "  lead and trail  ", "lead and trail" },
	{ "Crisis team 0113 496 0000; NHS 111 option 2",
	  "Crisis team 0113 496 0001; NHS 111 option 2; Samaritans 116 123" },
	{ "é é é", "é è é" },
	{ "same words\r\n", "same words\n" },
};

static void
test_joins_back_fixed(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(fixed_pairs) / sizeof(fixed_pairs[0]); i++) {
		check_props(*state, fixed_pairs[i][0], fixed_pairs[i][1]);
		check_props(*state, fixed_pairs[i][1], fixed_pairs[i][0]);
		check_props(*state, fixed_pairs[i][0], fixed_pairs[i][0]);
	}
	check_props(*state, NULL, "x");
	check_props(*state, "x", NULL);
	check_props(*state, NULL, NULL);
}

/* xorshift64*: the same sequence on every run. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static const char *const words[] = {
	"sister", "dog", "walk", "sleep", "café", "naïve", "日本", "😀", "a",
	"the", "111", "Samaritans", "crisis", "—", "ok", "x"
};
static const char *const spaces[] = { " ", " ", " ", "  ", "\n", "\r\n", "\t", "\n\n" };

static void
random_text(struct cpa_buf *b, uint64_t *s, size_t nwords)
{
	size_t i;

	if (rnd(s) % 8 == 0)
		cpa_buf_puts(b, spaces[rnd(s) % 8]);
	for (i = 0; i < nwords; i++) {
		cpa_buf_puts(b, words[rnd(s) % 16]);
		if (i + 1 < nwords || rnd(s) % 4 == 0)
			cpa_buf_puts(b, spaces[rnd(s) % 8]);
	}
}

/* b with a few words deleted, inserted, replaced or re-spaced. */
static void
mutate(struct cpa_buf *out, const char *b, uint64_t *s)
{
	const char *p = b, *w;
	size_t n;

	while (*p != '\0') {
		w = p;
		while (*p != '\0' && strchr(" \t\r\n", *p) == NULL)
			p++;
		n = (size_t)(p - w);
		switch (rnd(s) % 10) {
		case 0:			/* delete */
			break;
		case 1:			/* insert before */
			cpa_buf_puts(out, words[rnd(s) % 16]);
			cpa_buf_puts(out, " ");
			cpa_buf_add(out, w, n);
			break;
		case 2:			/* replace */
			cpa_buf_puts(out, words[rnd(s) % 16]);
			break;
		default:
			cpa_buf_add(out, w, n);
		}
		w = p;
		while (*p != '\0' && strchr(" \t\r\n", *p) != NULL)
			p++;
		if (rnd(s) % 12 == 0)
			cpa_buf_puts(out, spaces[rnd(s) % 8]);
		else
			cpa_buf_add(out, w, (size_t)(p - w));
	}
}

static void
test_joins_back_random(void **state)
{
	cpa_arena *a = *state;
	struct cpa_buf before, after;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	int i;

	for (i = 0; i < 400; i++) {
		cpa_buf_init(&before, a);
		cpa_buf_init(&after, a);
		random_text(&before, &seed, (size_t)(rnd(&seed) % 60));
		if (i % 5 == 0)
			random_text(&after, &seed, (size_t)(rnd(&seed) % 60));
		else
			mutate(&after, before.data, &seed);
		check_props(a, before.data, after.data);
		check_props(a, after.data, before.data);
	}
}

/* "start w0 a0 w1 a1 ... end" (tag 'a') and the same with tag 'b'. */
static const char *
numbered(cpa_arena *a, char tag, int n)
{
	struct cpa_buf b;
	int i;

	cpa_buf_init(&b, a);
	cpa_buf_puts(&b, "start ");
	for (i = 0; i < n; i++)
		cpa_buf_printf(&b, "w%d %c%d ", i, tag, i);
	cpa_buf_puts(&b, "end");
	return b.data;
}

/* The middle words from "<tag>0 w1 <tag>1 ..." to "<tag>(n-1) ". */
static const char *
middle(cpa_arena *a, char tag, int n)
{
	struct cpa_buf b;
	int i;

	cpa_buf_init(&b, a);
	cpa_buf_printf(&b, "%c0 ", tag);
	for (i = 1; i < n; i++)
		cpa_buf_printf(&b, "w%d %c%d ", i, tag, i);
	return b.data;
}

static void
test_big_middle_falls_back(void **state)
{
	cpa_arena *a = *state;
	const char *before, *after;
	json_t *d, *seg;
	size_t i;
	int found = 0;

	/* 1999 x 1999 middle tokens: too many cells to align. */
	before = numbered(a, 'a', 1000);
	after = numbered(a, 'b', 1000);
	expect(cpa_diff_words(before, after), "same", "start w0 ",
	    "removed", middle(a, 'a', 1000), "added", middle(a, 'b', 1000),
	    "same", "end", NULL);
	check_props(a, before, after);

	/* 299 x 299: aligned, so the shared words in the middle stay. */
	before = numbered(a, 'a', 150);
	after = numbered(a, 'b', 150);
	d = cpa_diff_words(before, after);
	assert_non_null(d);
	assert_true(json_array_size(d) > 4);
	json_array_foreach(d, i, seg)
		if (strcmp(json_string_value(json_object_get(seg, "op")), "same") == 0 &&
		    strcmp(json_string_value(json_object_get(seg, "text")), "w75 ") == 0)
			found = 1;
	assert_true(found);
	json_decref(d);
	check_props(a, before, after);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical),
		cmocka_unit_test(test_null_and_empty),
		cmocka_unit_test(test_insert_delete_replace),
		cmocka_unit_test(test_multibyte),
		cmocka_unit_test(test_whitespace_kept),
		cmocka_unit_test_setup_teardown(test_joins_back_fixed,
		    unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_joins_back_random,
		    unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_big_middle_falls_back,
		    unit_arena_setup, unit_arena_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
