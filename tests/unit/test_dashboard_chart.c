/*
 * test_dashboard_chart.c - modules/dashboard/chart.c: nice axis steps
 * (1, 2, 2.5 or 5 times a power of ten, whole on count axes, the top at
 * or above the largest value), and chart models that keep every
 * coordinate inside the viewBox and never break: no months, one month,
 * all zero, all missing, gaps in a line, five years of months.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dashboard.h"
#include "unit.h"

static const char *const months[] = {
	"2025-11", "2025-12", "2026-01", "2026-02", "2026-03", "2026-04"
};

/* fabs without libm. */
static double
absd(double v)
{
	return v < 0 ? -v : v;
}

/* 1 when step is 1, 2, 2.5 or 5 times a power of ten. */
static int
nice_step(double step)
{
	double m = step;

	while (m >= 10.0 - 1e-9)
		m /= 10.0;
	while (m < 1.0 - 1e-9)
		m *= 10.0;
	return absd(m - 1) < 1e-6 || absd(m - 2) < 1e-6 || absd(m - 2.5) < 1e-6 ||
	    absd(m - 5) < 1e-6;
}

static void
test_scale_examples(void **state)
{
	static const struct {
		double max;
		int integer;
		double top;
		double step;
	} cases[] = {
		{ 0, 1, 1, 1 }, { 0, 0, 1, 1 }, { 1, 1, 1, 1 }, { 7, 1, 8, 2 },
		{ 16, 1, 20, 5 }, { 12, 1, 15, 5 }, { 120, 1, 125, 25 },
		{ 0.07, 0, 0.08, 0.02 }, { 0.45, 0, 0.5, 0.1 }, { 3.3, 0, 4, 1 },
		{ 1000, 1, 1000, 200 }, { -5, 1, 1, 1 },
	};
	double top, step;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		chart_scale(cases[i].max, cases[i].integer, &top, &step);
		if (absd(top - cases[i].top) > 1e-9 || absd(step - cases[i].step) > 1e-9)
			fail_msg("max %g: top %g step %g, expected %g %g", cases[i].max, top,
			    step, cases[i].top, cases[i].step);
	}
	chart_scale(NAN, 0, &top, &step);
	assert_true(top == 1 && step == 1);
	chart_scale(INFINITY, 1, &top, &step);
	assert_true(top == 1 && step == 1);
}

static void
test_scale_properties(void **state)
{
	double max, top, step;
	int integer, k;

	(void)state;
	for (integer = 0; integer <= 1; integer++)
		for (k = 1; k < 4000; k += 7) {
			max = (double)k * (k % 3 == 0 ? 0.013 : k % 3 == 1 ? 1.7 : 97.0);
			chart_scale(max, integer, &top, &step);
			if (top < max - 1e-9 || !nice_step(step) || top / step > 10.0 + 1e-9 ||
			    top / step < 1.0 - 1e-9 || (integer && step < 1.0) ||
			    (integer && absd(step - (double)(long long)step) > 1e-9))
				fail_msg("max %g (integer %d): top %g step %g", max, integer, top,
				    step);
		}
}

/* Every coordinate of the model lies inside the viewBox. */
static void
inside(const json_t *v)
{
	static const char *const xs[] = { "x", "x1", "x2", "tx", "cx", "x0", NULL };
	static const char *const ys[] = { "y", "y0", "y1", "ty", "cy", "y_year", NULL };
	const char *key;
	json_t *child;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach(v, i, child)
			inside(child);
		return;
	}
	if (!json_is_object(v))
		return;
	json_object_foreach((json_t *)(uintptr_t)v, key, child) {
		for (i = 0; xs[i] != NULL; i++)
			if (strcmp(key, xs[i]) == 0 && (json_number_value(child) < 0 ||
			    json_number_value(child) > CHART_WIDTH))
				fail_msg("%s = %g outside the viewBox", key,
				    json_number_value(child));
		for (i = 0; ys[i] != NULL; i++)
			if (strcmp(key, ys[i]) == 0 && (json_number_value(child) < 0 ||
			    json_number_value(child) > CHART_HEIGHT))
				fail_msg("%s = %g outside the viewBox", key,
				    json_number_value(child));
		if (strcmp(key, "h") == 0 || strcmp(key, "w") == 0)
			assert_true(json_number_value(child) >= 0);
		inside(child);
	}
}

static json_t *
model(enum chart_kind kind, int percent, const double *a, const double *b, size_t n)
{
	struct chart_series s[2] = { { "First", a }, { "Second", b } };
	struct chart_spec sp = { "chart-t", "Test <chart>", "Count", kind, percent,
	    !percent, months, n, s, b != NULL ? 2 : 1 };
	json_t *m = chart_model(&sp);

	assert_non_null(m);
	assert_int_equal(json_integer_value(json_object_get(m, "width")), CHART_WIDTH);
	assert_int_equal(json_integer_value(json_object_get(m, "height")), CHART_HEIGHT);
	inside(m);
	return m;
}

static const json_t *
series(const json_t *m, size_t i)
{
	return json_array_get(json_object_get(m, "series"), i);
}

static void
test_no_months(void **state)
{
	double none[1] = { 0 };
	json_t *m;

	(void)state;
	m = model(CHART_BARS, 0, none, NULL, 0);
	assert_true(json_is_true(json_object_get(m, "empty")));
	assert_false(json_is_true(json_object_get(m, "no_data")));
	assert_int_equal(json_array_size(json_object_get(m, "xticks")), 0);
	assert_int_equal(json_array_size(json_object_get(m, "series")), 0);
	assert_non_null(strstr(json_string_value(json_object_get(m, "desc")), "no months"));
	json_decref(m);
	m = model(CHART_LINES, 1, none, none, 0);
	assert_true(json_is_true(json_object_get(m, "empty")));
	json_decref(m);
}

static void
test_one_month(void **state)
{
	double v[1] = { 5 }, p[1] = { 72.5 };
	const json_t *rect, *mark;
	json_t *m;

	(void)state;
	m = model(CHART_BARS, 0, v, NULL, 1);
	assert_int_equal(json_array_size(json_object_get(series(m, 0), "rects")), 1);
	rect = json_array_get(json_object_get(series(m, 0), "rects"), 0);
	/* centred in the plot */
	assert_true(absd(json_number_value(json_object_get(rect, "x")) +
	    json_number_value(json_object_get(rect, "w")) / 2 - (64.0 + CHART_WIDTH - 16.0) /
	    2) < 0.2);
	assert_string_equal(json_string_value(json_object_get(rect, "value")), "5");
	assert_int_equal(json_array_size(json_object_get(m, "xticks")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(m, "xticks"), 0), "year")), "2025");
	json_decref(m);

	m = model(CHART_LINES, 1, p, NULL, 1);
	assert_int_equal(json_array_size(json_object_get(series(m, 0), "segments")), 1);
	assert_int_equal(json_array_size(json_object_get(series(m, 0), "markers")), 1);
	mark = json_array_get(json_object_get(series(m, 0), "markers"), 0);
	assert_string_equal(json_string_value(json_object_get(mark, "tip")),
	    "First, 2025-11: 72.5%");
	json_decref(m);
}

static void
test_all_zero_and_all_missing(void **state)
{
	double zero[6] = { 0, 0, 0, 0, 0, 0 };
	double gone[6] = { NAN, NAN, NAN, NAN, NAN, NAN };
	const json_t *rect, *ticks;
	json_t *m;
	size_t i;

	(void)state;
	m = model(CHART_BARS, 0, zero, NULL, 6);
	assert_false(json_is_true(json_object_get(m, "no_data")));
	ticks = json_object_get(m, "yticks");
	assert_int_equal(json_array_size(ticks), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ticks, 1),
	    "label")), "1");
	json_array_foreach(json_object_get(series(m, 0), "rects"), i, rect)
		assert_true(json_number_value(json_object_get(rect, "h")) == 0);
	json_decref(m);

	m = model(CHART_LINES, 1, gone, gone, 6);
	assert_true(json_is_true(json_object_get(m, "no_data")));
	assert_int_equal(json_array_size(json_object_get(series(m, 0), "segments")), 0);
	assert_int_equal(json_array_size(json_object_get(series(m, 1), "markers")), 0);
	assert_non_null(strstr(json_string_value(json_object_get(m, "desc")), "No data"));
	assert_int_equal(json_array_size(json_object_get(m, "legend")), 2);
	json_decref(m);

	m = model(CHART_BARS, 0, gone, NULL, 6);
	assert_int_equal(json_array_size(json_object_get(series(m, 0), "rects")), 0);
	json_decref(m);
}

static void
test_gaps_and_scale(void **state)
{
	double a[6] = { 10, NAN, 30, 40, NAN, 55.5 };
	double b[6] = { 100, 0, NAN, NAN, NAN, NAN };
	const json_t *segs, *ticks;
	json_t *m;

	(void)state;
	m = model(CHART_LINES, 1, a, b, 6);
	segs = json_object_get(series(m, 0), "segments");
	assert_int_equal(json_array_size(segs), 3);
	assert_null(strchr(json_string_value(json_object_get(json_array_get(segs, 0),
	    "points")), ' '));
	assert_non_null(strchr(json_string_value(json_object_get(json_array_get(segs, 1),
	    "points")), ' '));
	assert_int_equal(json_array_size(json_object_get(series(m, 0), "markers")), 4);
	assert_int_equal(json_array_size(json_object_get(series(m, 1), "segments")), 1);
	ticks = json_object_get(m, "yticks");
	assert_int_equal(json_array_size(ticks), 6);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ticks, 5),
	    "label")), "100%");
	/* 100% sits on the top of the plot, 0% on its bottom */
	assert_true(json_number_value(json_object_get(json_array_get(ticks, 5), "y")) <
	    json_number_value(json_object_get(json_array_get(ticks, 0), "y")));
	assert_non_null(strstr(json_string_value(json_object_get(m, "desc")),
	    "First: lowest 10.0%, highest 55.5%."));
	assert_string_equal(json_string_value(json_object_get(m, "title")), "Test <chart>");
	json_decref(m);
}

static void
test_many_months(void **state)
{
	static char labels[60][8];
	const char *names[60];
	double v[60];
	struct chart_series s = { "Referrals", v };
	struct chart_spec sp = { "c", "Many", "n", CHART_BARS, 0, 1, names, 60, &s, 1 };
	const json_t *t;
	json_t *m;
	size_t i;

	(void)state;
	for (i = 0; i < 60; i++) {
		snprintf(labels[i], sizeof(labels[i]), "%04zu-%02zu", 2021 + (i + 10) / 12,
		    (i + 10) % 12 + 1);
		names[i] = labels[i];
		v[i] = (double)(i * 37 % 101);
	}
	m = chart_model(&sp);
	inside(m);
	assert_true(json_array_size(json_object_get(m, "xticks")) <= 12);
	assert_int_equal(json_array_size(json_object_get(series(m, 0), "rects")), 60);
	json_array_foreach(json_object_get(series(m, 0), "rects"), i, t)
		assert_false(json_is_true(json_object_get(t, "show_value")));
	json_decref(m);
}

static void
test_month_words(void **state)
{
	cpa_arena *a = *state;

	assert_string_equal(chart_month_words(a, "2025-11"), "November 2025");
	assert_string_equal(chart_month_abbr(a, "2026-01", " "), "Jan 2026");
	assert_string_equal(chart_month_words(a, "2025-13"), "2025-13");
	assert_string_equal(chart_month_words(a, "x"), "x");
	assert_string_equal(chart_month_words(a, NULL), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scale_examples),
		cmocka_unit_test(test_scale_properties),
		cmocka_unit_test(test_no_months),
		cmocka_unit_test(test_one_month),
		cmocka_unit_test(test_all_zero_and_all_missing),
		cmocka_unit_test(test_gaps_and_scale),
		cmocka_unit_test(test_many_months),
		cmocka_unit_test_setup_teardown(test_month_words, unit_arena_setup,
		    unit_arena_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
