/*
 * validate.c - the value checks every input goes through: strict UTF-8,
 * free text without control characters, NHS numbers (modulus 11), calendar
 * dates and times, usernames, e-mail addresses and bounded integers.  All
 * functions are pure: they read their arguments and allocate nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpa.h"

/* Well-formed UTF-8 byte sequences (Unicode 15, table 3-7): the lead byte
 * range, the sequence length and the range allowed for the second byte.
 * Later bytes are always 80..BF.  C0, C1 and F5..FF never appear, so
 * overlongs, surrogates (ED A0..BF) and code points above U+10FFFF are
 * refused by construction. */
static const struct utf8_lead {
	unsigned char lo, hi;
	unsigned char len;
	unsigned char second_lo, second_hi;
} utf8_leads[] = {
	{ 0x00, 0x7f, 1, 0, 0 },
	{ 0xc2, 0xdf, 2, 0x80, 0xbf },
	{ 0xe0, 0xe0, 3, 0xa0, 0xbf },
	{ 0xe1, 0xec, 3, 0x80, 0xbf },
	{ 0xed, 0xed, 3, 0x80, 0x9f },
	{ 0xee, 0xef, 3, 0x80, 0xbf },
	{ 0xf0, 0xf0, 4, 0x90, 0xbf },
	{ 0xf1, 0xf3, 4, 0x80, 0xbf },
	{ 0xf4, 0xf4, 4, 0x80, 0x8f },
};

/* Length of the well-formed sequence at p (at most n bytes), 0 if none. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	const struct utf8_lead *l = NULL;
	size_t i;

	for (i = 0; i < sizeof(utf8_leads) / sizeof(utf8_leads[0]); i++)
		if (p[0] >= utf8_leads[i].lo && p[0] <= utf8_leads[i].hi) {
			l = &utf8_leads[i];
			break;
		}
	if (l == NULL || n < l->len)
		return 0;
	if (l->len == 1)
		return 1;
	if (p[1] < l->second_lo || p[1] > l->second_hi)
		return 0;
	for (i = 2; i < l->len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return l->len;
}

int
cpa_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((k = utf8_seq(p + i, n - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

size_t
cpa_utf8_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, count = 0;

	for (i = 0; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			count++;
	return count;
}

/* Control characters are C0 (U+0000..U+001F), DEL and C1 (U+0080..U+009F,
 * encoded C2 80..C2 9F). */
int
cpa_text_valid(const char *s, size_t n, int multiline)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	if (!cpa_utf8_valid(s, n))
		return 0;
	for (i = 0; i < n; i++) {
		if (p[i] < 0x20) {
			if (multiline &&
			    (p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
				continue;
			return 0;
		}
		if (p[i] == 0x7f)
			return 0;
		if (p[i] == 0xc2 && i + 1 < n && p[i + 1] <= 0x9f)
			return 0;
	}
	return 1;
}

/* Modulus 11: weights 10..2 on the first nine digits; the check digit is
 * 11 - (sum mod 11), where 11 means 0 and 10 means no valid number. */
int
cpa_nhs_number_valid(const char *s, char out[11])
{
	char digits[11];
	size_t nd = 0;
	int sum = 0, check, i;

	if (s == NULL)
		return 0;
	for (; *s != '\0'; s++) {
		if (*s == ' ')
			continue;
		if (*s < '0' || *s > '9' || nd == 10)
			return 0;
		digits[nd++] = *s;
	}
	if (nd != 10)
		return 0;
	digits[10] = '\0';
	for (i = 0; i < 9; i++)
		sum += (digits[i] - '0') * (10 - i);
	check = 11 - sum % 11;
	if (check == 11)
		check = 0;
	if (check == 10 || check != digits[9] - '0')
		return 0;
	if (out != NULL)
		memcpy(out, digits, sizeof(digits));
	return 1;
}

static int
leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Exactly "YYYY-MM-DD": four, two and two digits; no signs or spaces. */
int
cpa_date_valid(const char *s, int *y, int *m, int *d)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	static const char shape[] = "dddd-dd-dd";
	int yy, mm, dd, max;
	size_t i;

	if (s == NULL || strlen(s) != sizeof(shape) - 1)
		return 0;
	for (i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == '-' ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return 0;
	}
	yy = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	mm = (s[5] - '0') * 10 + (s[6] - '0');
	dd = (s[8] - '0') * 10 + (s[9] - '0');
	if (yy < 1900 || yy > 2199 || mm < 1 || mm > 12 || dd < 1)
		return 0;
	max = mdays[mm - 1] + (mm == 2 && leap_year(yy));
	if (dd > max)
		return 0;
	if (y != NULL)
		*y = yy;
	if (m != NULL)
		*m = mm;
	if (d != NULL)
		*d = dd;
	return 1;
}

const char *const cpa_episode_levels[] = {
	"standard", "enhanced", "complex", "non_cpa", "personalised", NULL
};

/* The value of the n decimal digits at s; -1 when one is not a digit
 * (reading stops there, so a shorter string is safe). */
static int
digits_value(const char *s, size_t n)
{
	size_t i;
	int v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* The date, the time of day, then optional seconds, fraction and zone, as
 * cpa.h says; every part's digits in range. */
int
cpa_timestamp_valid(const char *s, int *zone)
{
	char day[11];
	size_t n, i, k;
	int v;

	if (s == NULL || (n = strlen(s)) < 16 || n > 40)
		return 0;
	memcpy(day, s, 10);
	day[10] = '\0';
	if (!cpa_date_valid(day, NULL, NULL, NULL) || (s[10] != 'T' && s[10] != ' '))
		return 0;
	if ((v = digits_value(s + 11, 2)) < 0 || v > 23 || s[13] != ':' ||
	    (v = digits_value(s + 14, 2)) < 0 || v > 59)
		return 0;
	i = 16;
	if (s[i] == ':') {
		if ((v = digits_value(s + i + 1, 2)) < 0 || v > 59)
			return 0;
		i += 3;
		if (s[i] == '.') {
			for (k = i + 1; s[k] >= '0' && s[k] <= '9'; k++)
				;
			if (k == i + 1 || k - i - 1 > 6)
				return 0;
			i = k;
		}
	}
	if (zone != NULL)
		*zone = s[i] != '\0';
	if (s[i] == 'Z')
		i++;
	else if (s[i] == '+' || s[i] == '-') {
		if ((v = digits_value(s + i + 1, 2)) < 0 || v > 14)
			return 0;
		i += 3;
		if (s[i] == ':')
			i++;
		if (s[i] != '\0') {
			if ((v = digits_value(s + i, 2)) < 0 || v > 59)
				return 0;
			i += 2;
		}
	}
	return s[i] == '\0';
}

int
cpa_username_valid(const char *s)
{
	size_t i, n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	if (n < 3 || n > 64 || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static int
ascii_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* The addresses people actually use: an unquoted local part of RFC 5322
 * atext and dots (no leading, trailing or doubled dot, at most 64
 * characters) and a domain name of at least two labels of letters, digits
 * and inner hyphens (at most 63 each).  At most 254 characters in all. */
int
cpa_email_valid(const char *s)
{
	static const char atext[] = "!#$%&'*+/=?^_`{|}~-";
	const char *at, *p, *label;
	size_t n, nlabels = 0;

	if (s == NULL || (n = strlen(s)) > 254 || (at = strchr(s, '@')) == NULL)
		return 0;
	if (at == s || at - s > 64 || s[0] == '.' || at[-1] == '.')
		return 0;
	for (p = s; p < at; p++) {
		if (*p == '.') {
			if (p[1] == '.')
				return 0;
		} else if (!ascii_alnum(*p) && strchr(atext, *p) == NULL)
			return 0;
	}
	for (label = p = at + 1;; p++) {
		if (*p == '.' || *p == '\0') {
			if (p == label || p - label > 63 || *label == '-' ||
			    p[-1] == '-')
				return 0;
			nlabels++;
			if (*p == '\0')
				break;
			label = p + 1;
		} else if (!ascii_alnum(*p) && *p != '-')
			return 0;
	}
	return nlabels >= 2;
}

/* Returns CPA_OK and sets *out, or CPA_EINPUT (out untouched) for anything
 * but an optional '-' and decimal digits whose value lies in [min, max]. */
int
cpa_parse_ll(const char *s, long long min, long long max, long long *out)
{
	const char *digits;
	char *end;
	long long v;

	if (s == NULL)
		return CPA_EINPUT;
	digits = s[0] == '-' ? s + 1 : s;
	if (*digits < '0' || *digits > '9')
		return CPA_EINPUT;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return CPA_EINPUT;
	if (out != NULL)
		*out = v;
	return CPA_OK;
}
