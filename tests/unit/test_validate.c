/*
 * test_validate.c - the value checks of validate.c: UTF-8 edge cases,
 * control characters, NHS numbers, dates, timestamps, usernames, e-mail
 * addresses and bounded integer parsing.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cpa.h"

#define UTF8_OK(lit) assert_true(cpa_utf8_valid(lit, sizeof(lit) - 1))
#define UTF8_BAD(lit) assert_false(cpa_utf8_valid(lit, sizeof(lit) - 1))

static void
test_utf8_well_formed(void **state)
{
	(void)state;
	UTF8_OK("");
	UTF8_OK("plain ASCII");
	UTF8_OK("\x00");			/* NUL is well formed; text checks refuse it */
	UTF8_OK("\xc2\x80");			/* U+0080, smallest two-byte */
	UTF8_OK("caf\xc3\xa9");
	UTF8_OK("\xdf\xbf");			/* U+07FF */
	UTF8_OK("\xe0\xa0\x80");		/* U+0800, smallest three-byte */
	UTF8_OK("\xed\x9f\xbf");		/* U+D7FF, just below the surrogates */
	UTF8_OK("\xee\x80\x80");		/* U+E000, just above them */
	UTF8_OK("\xef\xbf\xbf");		/* U+FFFF */
	UTF8_OK("\xf0\x90\x80\x80");		/* U+10000, smallest four-byte */
	UTF8_OK("\xf0\x9f\x98\x80");		/* an emoji */
	UTF8_OK("\xf4\x8f\xbf\xbf");		/* U+10FFFF, the last code point */
}

static void
test_utf8_overlong(void **state)
{
	(void)state;
	UTF8_BAD("\xc0\x80");			/* overlong NUL */
	UTF8_BAD("\xc0\xaf");			/* overlong '/' */
	UTF8_BAD("\xc1\xbf");
	UTF8_BAD("\xe0\x80\x80");
	UTF8_BAD("\xe0\x9f\xbf");		/* overlong U+07FF */
	UTF8_BAD("\xf0\x80\x80\x80");
	UTF8_BAD("\xf0\x8f\xbf\xbf");		/* overlong U+FFFF */
}

static void
test_utf8_surrogates_and_range(void **state)
{
	(void)state;
	UTF8_BAD("\xed\xa0\x80");		/* U+D800 */
	UTF8_BAD("\xed\xbf\xbf");		/* U+DFFF */
	UTF8_BAD("\xed\xa0\xbd\xed\xb8\x80");	/* CESU-8 surrogate pair */
	UTF8_BAD("\xf4\x90\x80\x80");		/* U+110000 */
	UTF8_BAD("\xf5\x80\x80\x80");
	UTF8_BAD("\xf8\x88\x80\x80\x80");	/* old five-byte form */
	UTF8_BAD("\xff");
	UTF8_BAD("\xfe");
}

static void
test_utf8_truncated_and_stray(void **state)
{
	(void)state;
	UTF8_BAD("\xc3");
	UTF8_BAD("abc\xc3");
	UTF8_BAD("\xe2\x82");			/* euro sign missing its last byte */
	UTF8_BAD("\xf0\x9f\x98");
	UTF8_BAD("\x80");			/* continuation without a lead */
	UTF8_BAD("a\xbf" "b");
	UTF8_BAD("\xc3(");			/* lead followed by ASCII */
	UTF8_BAD("\xe2(\xa1");
	/* A valid sequence cut by the length argument. */
	assert_false(cpa_utf8_valid("\xc3\xa9", 1));
	assert_true(cpa_utf8_valid("\xc3\xa9", 2));
}

static void
test_utf8_len(void **state)
{
	(void)state;
	assert_int_equal(cpa_utf8_len("", 0), 0);
	assert_int_equal(cpa_utf8_len("abc", 3), 3);
	assert_int_equal(cpa_utf8_len("caf\xc3\xa9", 5), 4);
	assert_int_equal(cpa_utf8_len("\xe2\x82\xac\xf0\x9f\x98\x80", 7), 2);
}

static void
test_text_valid(void **state)
{
	(void)state;
	assert_true(cpa_text_valid("Ward 7, bed 3", 13, 0));
	assert_true(cpa_text_valid("caf\xc3\xa9 \xe2\x80\xa8", 9, 0));
	assert_false(cpa_text_valid("tab\there", 8, 0));
	assert_true(cpa_text_valid("tab\there", 8, 1));
	assert_false(cpa_text_valid("a\nb", 3, 0));
	assert_true(cpa_text_valid("a\r\nb", 4, 1));
	assert_false(cpa_text_valid("a\x00" "b", 3, 1));
	assert_false(cpa_text_valid("bell\x07", 5, 1));
	assert_false(cpa_text_valid("esc\x1b[2J", 7, 1));
	assert_false(cpa_text_valid("del\x7f", 4, 1));
	assert_false(cpa_text_valid("c1\xc2\x85", 4, 1));	/* U+0085 NEL */
	assert_false(cpa_text_valid("c1\xc2\x9f", 4, 0));
	assert_true(cpa_text_valid("\xc2\xa0", 2, 0));		/* U+00A0 is text */
	assert_false(cpa_text_valid("\xc3", 1, 1));		/* invalid UTF-8 */
}

static void
test_nhs_number_valid(void **state)
{
	char out[11];

	(void)state;
	memset(out, 'x', sizeof(out));
	assert_true(cpa_nhs_number_valid("9434765919", out));
	assert_string_equal(out, "9434765919");
	memset(out, 'x', sizeof(out));
	assert_true(cpa_nhs_number_valid("943 476 5919", out));
	assert_string_equal(out, "9434765919");
	assert_true(cpa_nhs_number_valid("4010232137", out));
	assert_string_equal(out, "4010232137");
	assert_true(cpa_nhs_number_valid("1000000001", out));
	/* 10 + 6 * 2 = 22: 11 - 0 = 11, which means check digit 0. */
	assert_true(cpa_nhs_number_valid("1000000060", out));
	assert_string_equal(out, "1000000060");
	assert_true(cpa_nhs_number_valid("9434765919", NULL));
}

static void
test_nhs_number_invalid(void **state)
{
	char out[11];

	(void)state;
	assert_false(cpa_nhs_number_valid("9434765918", out));	/* wrong check digit */
	assert_false(cpa_nhs_number_valid("9434765910", out));
	assert_false(cpa_nhs_number_valid("1000000000", out));	/* needs 1 */
	assert_false(cpa_nhs_number_valid("1000000061", out));	/* 11 -> 0, not 1 */
	/* 10 + 1 * 2 = 12: 11 - 1 = 10, so no check digit is valid. */
	assert_false(cpa_nhs_number_valid("1000000010", out));
	assert_false(cpa_nhs_number_valid("1000000011", out));
	assert_false(cpa_nhs_number_valid("1000000019", out));
	assert_false(cpa_nhs_number_valid("943476591", out));	/* nine digits */
	assert_false(cpa_nhs_number_valid("94347659190", out));	/* eleven digits */
	assert_false(cpa_nhs_number_valid("943-476-5919", out));
	assert_false(cpa_nhs_number_valid("943476591X", out));
	assert_false(cpa_nhs_number_valid("+9434765919", out));
	assert_false(cpa_nhs_number_valid("", out));
	assert_false(cpa_nhs_number_valid("          ", out));
	assert_false(cpa_nhs_number_valid(NULL, out));
}

static void
test_date_valid(void **state)
{
	int y = 0, m = 0, d = 0;

	(void)state;
	assert_true(cpa_date_valid("2024-02-29", &y, &m, &d));
	assert_int_equal(y, 2024);
	assert_int_equal(m, 2);
	assert_int_equal(d, 29);
	assert_true(cpa_date_valid("2000-02-29", NULL, NULL, NULL));	/* 400-year leap */
	assert_true(cpa_date_valid("1900-01-01", NULL, NULL, NULL));
	assert_true(cpa_date_valid("2199-12-31", NULL, NULL, NULL));
	assert_true(cpa_date_valid("2025-03-27", NULL, NULL, NULL));
	assert_true(cpa_date_valid("2023-04-30", NULL, NULL, NULL));
}

static void
test_date_invalid(void **state)
{
	static const char *const bad[] = {
		"2023-02-29", "1900-02-29", "2023-13-01", "2023-00-10",
		"2023-01-00", "2023-01-32", "2023-04-31", "2023-1-1",
		"23-01-01", "2023/01/01", "2023-01-01 ", " 2023-01-01",
		"2023-01-01T00:00", "1899-12-31", "2200-01-01", "+023-01-01",
		"2023-0a-01", "", "20230101", "2023--1-01",
	};
	int y = 7;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cpa_date_valid(bad[i], &y, NULL, NULL))
			fail_msg("accepted bad date \"%s\"", bad[i]);
	}
	assert_int_equal(y, 7);		/* outputs untouched on failure */
	assert_false(cpa_date_valid(NULL, NULL, NULL, NULL));
}

static void
test_timestamp_valid(void **state)
{
	static const struct {
		const char *s;
		int zone;
	} good[] = {
		{ "2025-03-27T14:05", 0 },
		{ "2025-03-27 14:05", 0 },		/* a space for the 'T' */
		{ "2024-02-29T00:00", 0 },
		{ "2025-03-27T23:59:59", 0 },
		{ "2025-03-27T14:05:09.5", 0 },
		{ "2025-03-27T14:05:09.123456", 0 },	/* six fraction digits */
		{ "2025-03-27T14:05Z", 1 },
		{ "2025-03-27T14:05:00Z", 1 },
		{ "2025-03-27T14:05+01", 1 },
		{ "2025-03-27T14:05+0100", 1 },
		{ "2025-03-27T14:05:00.25+01:00", 1 },
		{ "2025-03-27T14:05-14:59", 1 },
		{ "2025-03-27T14:05:09.123456+05:30", 1 },
	};
	size_t i;
	int zone;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		zone = -1;
		if (!cpa_timestamp_valid(good[i].s, &zone))
			fail_msg("refused timestamp \"%s\"", good[i].s);
		if (zone != good[i].zone)
			fail_msg("\"%s\": zone %d, want %d", good[i].s, zone, good[i].zone);
	}
	assert_true(cpa_timestamp_valid("2025-03-27T14:05", NULL));
}

static void
test_timestamp_invalid(void **state)
{
	static const char *const bad[] = {
		"2025-03-27",				/* a date alone */
		"2025-03-27T14",
		"2025-03-27T14:5",
		"2025-02-29T10:00",			/* no such day */
		"2025-13-01T10:00",
		"2025-03-27X14:05",
		"2025-03-27T24:00",
		"2025-03-27T14:60",
		"2025-03-27T14:05:60",
		"2025-03-27T14:05:9",
		"2025-03-27T14:05:09.",			/* a point and no digits */
		"2025-03-27T14:05:09.1234567",		/* seven fraction digits */
		"2025-03-27T14:05.5",			/* a fraction without seconds */
		"2025-03-27T14:05+15",
		"2025-03-27T14:05+1",
		"2025-03-27T14:05+01:60",
		"2025-03-27T14:05+01:000",
		"2025-03-27T14:05Z+01",
		"2025-03-27T14:05 ",
		"2025-03-27T14:05:00.000000+01:00:00:00",	/* more after the zone */
		"2025-03-27T14:05:00.000000+01:0000000000000000",
		" 2025-03-27T14:05",
		"yesterday",
		"",
	};
	size_t i;
	int zone = 7;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cpa_timestamp_valid(bad[i], &zone))
			fail_msg("accepted bad timestamp \"%s\"", bad[i]);
	assert_false(cpa_timestamp_valid(NULL, &zone));
}

static void
test_username(void **state)
{
	char longest[66];

	(void)state;
	assert_true(cpa_username_valid("admin.north"));
	assert_true(cpa_username_valid("abc"));
	assert_true(cpa_username_valid("j_smith-2"));
	assert_false(cpa_username_valid("ab"));
	assert_false(cpa_username_valid("Admin.north"));
	assert_false(cpa_username_valid("1admin"));
	assert_false(cpa_username_valid(".admin"));
	assert_false(cpa_username_valid("ad min"));
	assert_false(cpa_username_valid("admin@north"));
	assert_false(cpa_username_valid("adm\xc3\xadn"));
	assert_false(cpa_username_valid(""));
	assert_false(cpa_username_valid(NULL));
	memset(longest, 'a', 64);
	longest[64] = '\0';
	assert_true(cpa_username_valid(longest));
	longest[64] = 'a';
	longest[65] = '\0';
	assert_false(cpa_username_valid(longest));
}

static void
test_email(void **state)
{
	static const char *const good[] = {
		"name@example.nhs.uk", "first.last@nhs.net", "a+tag@b.co",
		"o'brien@example.org", "x@a-b.example",
	};
	static const char *const bad[] = {
		"", "name", "@example.nhs.uk", "name@", "name@localhost",
		"name@@example.com", "na me@example.com", ".name@example.com",
		"name.@example.com", "na..me@example.com", "name@example..com",
		"name@-example.com", "name@example-.com", "name@.example.com",
		"name@example.com.", "n\xc3\xa9@example.com", "name@exa_mple.com",
		"name@example.com\n", "a@b@c.com", "<a>@example.com",
	};
	char buf[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!cpa_email_valid(good[i]))
			fail_msg("refused \"%s\"", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cpa_email_valid(bad[i]))
			fail_msg("accepted \"%s\"", bad[i]);
	assert_false(cpa_email_valid(NULL));
	/* Local part: 64 allowed, 65 not. */
	memset(buf, 'a', 64);
	strcpy(buf + 64, "@example.com");
	assert_true(cpa_email_valid(buf));
	memset(buf, 'a', 65);
	strcpy(buf + 65, "@example.com");
	assert_false(cpa_email_valid(buf));
	/* Whole address: at most 254. */
	memset(buf, 0, sizeof(buf));
	strcpy(buf, "a@");
	for (i = 0; i < 4; i++)
		strcat(buf, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.");
	strcat(buf, "uk");
	assert_int_equal(strlen(buf), 256);
	assert_false(cpa_email_valid(buf));
}

static void
test_parse_ll(void **state)
{
	long long v = 99;

	(void)state;
	assert_int_equal(cpa_parse_ll("0", 0, 10, &v), CPA_OK);
	assert_int_equal(v, 0);
	assert_int_equal(cpa_parse_ll("10", 0, 10, &v), CPA_OK);
	assert_int_equal(v, 10);
	assert_int_equal(cpa_parse_ll("-5", -10, 10, &v), CPA_OK);
	assert_int_equal(v, -5);
	assert_int_equal(cpa_parse_ll("007", 0, 10, &v), CPA_OK);
	assert_int_equal(v, 7);
	assert_int_equal(cpa_parse_ll("9223372036854775807", 0, LLONG_MAX, &v), CPA_OK);
	assert_true(v == LLONG_MAX);
	assert_int_equal(cpa_parse_ll("-9223372036854775808", LLONG_MIN, 0, &v), CPA_OK);
	assert_true(v == LLONG_MIN);

	v = 99;
	assert_int_equal(cpa_parse_ll("11", 0, 10, &v), CPA_EINPUT);
	assert_int_equal(cpa_parse_ll("-1", 0, 10, &v), CPA_EINPUT);
	assert_int_equal(cpa_parse_ll("9223372036854775808", 0, LLONG_MAX, &v), CPA_EINPUT);
	assert_int_equal(cpa_parse_ll("-9223372036854775809", LLONG_MIN, 0, &v), CPA_EINPUT);
	assert_int_equal(cpa_parse_ll("", 0, 10, &v), CPA_EINPUT);
	assert_int_equal(cpa_parse_ll("-", -10, 10, &v), CPA_EINPUT);
	assert_int_equal(cpa_parse_ll("+5", 0, 10, &v), CPA_EINPUT);
	assert_int_equal(cpa_parse_ll(" 5", 0, 10, &v), CPA_EINPUT);
	assert_int_equal(cpa_parse_ll("\t5", 0, 10, &v), CPA_EINPUT);
	assert_int_equal(cpa_parse_ll("5 ", 0, 10, &v), CPA_EINPUT);
	assert_int_equal(cpa_parse_ll("5x", 0, 10, &v), CPA_EINPUT);
	assert_int_equal(cpa_parse_ll("0x5", 0, 10, &v), CPA_EINPUT);
	assert_int_equal(cpa_parse_ll("1e3", 0, 10000, &v), CPA_EINPUT);
	assert_int_equal(cpa_parse_ll("5.0", 0, 10, &v), CPA_EINPUT);
	assert_int_equal(cpa_parse_ll("--5", -10, 10, &v), CPA_EINPUT);
	assert_int_equal(cpa_parse_ll("- 5", -10, 10, &v), CPA_EINPUT);
	assert_int_equal(cpa_parse_ll(NULL, 0, 10, &v), CPA_EINPUT);
	assert_int_equal(v, 99);	/* untouched on failure */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_well_formed),
		cmocka_unit_test(test_utf8_overlong),
		cmocka_unit_test(test_utf8_surrogates_and_range),
		cmocka_unit_test(test_utf8_truncated_and_stray),
		cmocka_unit_test(test_utf8_len),
		cmocka_unit_test(test_text_valid),
		cmocka_unit_test(test_nhs_number_valid),
		cmocka_unit_test(test_nhs_number_invalid),
		cmocka_unit_test(test_date_valid),
		cmocka_unit_test(test_date_invalid),
		cmocka_unit_test(test_timestamp_valid),
		cmocka_unit_test(test_timestamp_invalid),
		cmocka_unit_test(test_username),
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_parse_ll),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
