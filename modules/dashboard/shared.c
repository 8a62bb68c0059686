/*
 * shared.c - what every dashboard page shares: its query (the period of
 * UK days and the format), today's UK day, paths into the figures, and
 * the JSON and CSV answers.
 *
 * Dates are reckoned in whole days (days since 1970-01-01 of the
 * proleptic Gregorian calendar), so the period's rules need no time zone
 * but the UK clock for "today": GMT, or BST from 01:00 UTC on the last
 * Sunday of March to 01:00 UTC on the last Sunday of October.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dashboard.h"

#define PERIOD_MAX_YEARS 5

const char *const dash_formats[] = { "csv", "json", "html", NULL };

/* ------------------------------------------------------------ days */

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of y-m-d (H. Hinnant's algorithm). */
static long long
day_number(int y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
day_civil(long long z, int *y, int *m, int *d)
{
	long long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static void
day_text(long long z, char out[11])
{
	int y, m, d;

	day_civil(z, &y, &m, &d);
	snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

/* The day k years from y-m-d (29 February becomes the 28th). */
static long long
years_on(int y, int m, int d, int k)
{
	int days = month_days(y + k, m);

	return day_number(y + k, m, d > days ? days : d);
}

/* The day number of the last Sunday of month m of year y. */
static long long
last_sunday(int y, int m)
{
	long long z = day_number(y, m, month_days(y, m));

	/* 1970-01-01 was a Thursday: weekday 4 counting from Sunday. */
	return z - ((z % 7 + 7 + 4) % 7);
}

void
dash_uk_today(char out[11])
{
	long long t = (long long)time(NULL), day, start, end;
	int y, m, d;

	day = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	day_civil(day, &y, &m, &d);
	start = last_sunday(y, 3) * 86400 + 3600;
	end = last_sunday(y, 10) * 86400 + 3600;
	if (t >= start && t < end)
		t += 3600;
	day_text(t >= 0 ? t / 86400 : (t - 86399) / 86400, out);
}

/* ------------------------------------------------------------ query */

int
dash_query_read(struct cpa_ctx *ctx, const struct cpa_field *fields, size_t nfields,
    struct dash_query *q)
{
	struct cpa_input *in = &q->in;
	const struct cpa_value *v;
	int y, m, d, fy, fm, fd;
	long long to, from;
	int rc;

	memset(q, 0, sizeof(*q));
	if ((rc = cpa_input_read(ctx, fields, nfields, in)) != CPA_OK)
		return rc;
	v = in->values;
	if (v[DF_FORMAT].present && strcmp(v[DF_FORMAT].str, "json") == 0)
		ctx->req.wants_json = 1;
	q->csv = v[DF_FORMAT].present && strcmp(v[DF_FORMAT].str, "csv") == 0;
	dash_uk_today(q->today);
	if (in->nerrors == 0) {
		cpa_date_valid(v[DF_TO].present ? v[DF_TO].str : q->today, &y, &m, &d);
		to = day_number(y, m, d);
		from = years_on(y, m, d, -1) + 1;
		if (v[DF_FROM].present) {
			cpa_date_valid(v[DF_FROM].str, &fy, &fm, &fd);
			from = day_number(fy, fm, fd);
		}
		if (from > to)
			cpa_input_add_error(ctx->arena, in, "from",
			    "From must be on or before to");
		else if (from < years_on(y, m, d, -PERIOD_MAX_YEARS) + 1)
			cpa_input_add_error(ctx->arena, in, "from",
			    "From must be no more than 5 years before to");
		if (v[DF_TO].present && strcmp(v[DF_TO].str, q->today) > 0)
			cpa_input_add_error(ctx->arena, in, "to",
			    "To must be today or earlier");
		day_text(from, q->from);
		day_text(to, q->to);
	}
	if (in->nerrors > 0) {
		if (ctx->req.wants_json)
			cpa_render_invalid(ctx, NULL, NULL, in);
		else
			cpa_error(ctx, 422, in->errors[0].message);
		return 422;
	}
	q->period = cpa_sprintf(ctx->arena, "from=%s&to=%s", q->from, q->to);
	return CPA_OK;
}

/* ------------------------------------------------------------ figures */

const json_t *
dash_path(const json_t *v, const char *path)
{
	const char *seg = path, *dot;
	long long i;
	size_t n;
	char key[64];

	while (v != NULL && seg != NULL) {
		dot = strchr(seg, '.');
		n = dot != NULL ? (size_t)(dot - seg) : strlen(seg);
		if (n == 0 || n >= sizeof(key))
			return NULL;
		memcpy(key, seg, n);
		key[n] = '\0';
		if (json_is_array(v))
			v = cpa_parse_ll(key, 0, 1000000, &i) == CPA_OK ?
			    json_array_get(v, (size_t)i) : NULL;
		else
			v = json_object_get(v, key);
		seg = dot != NULL ? dot + 1 : NULL;
	}
	return v;
}

/* ------------------------------------------------------------ answers */

void
dash_send_json(struct cpa_ctx *ctx, const json_t *model)
{
	ctx->resp.status = 200;
	ctx->resp.content_type = "application/json";
	ctx->resp.body.len = 0;
	cpa_json_write(&ctx->resp.body, model);
}

void
dash_send_csv(struct cpa_ctx *ctx, const struct cpa_buf *csv, const char *filename)
{
	ctx->resp.status = 200;
	ctx->resp.content_type = "text/csv; charset=utf-8";
	ctx->resp.body.len = 0;
	cpa_buf_add(&ctx->resp.body, csv->data, csv->len);
	cpa_header(ctx, "Content-Disposition", cpa_sprintf(ctx->arena,
	    "attachment; filename=\"%s\"", filename));
}
