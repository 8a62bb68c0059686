/*
 * chart.c - the geometry of the dashboard's monthly charts: bars or lines
 * over months, scaled into a fixed viewBox, with a y axis of nice steps
 * (1, 2, 2.5 or 5 times a power of ten) and month labels thinned to fit.
 * The result is a JSON model of numbers and plain text; the template
 * (dashboard_chart.html) writes the SVG and escapes every label, so no
 * markup is ever built here.
 *
 * Missing values (NaN: a share with no denominator) leave a gap: a line
 * is drawn as separate segments and a bar is left out.  No months, or no
 * value at all, give an empty plot that says so.
 */
#include <stdio.h>
#include <string.h>

#include "dashboard.h"

/* The plot area inside the viewBox: room for tick labels on the left,
 * month labels and years below, the legend above. */
#define PLOT_LEFT 64.0
#define PLOT_RIGHT (CHART_WIDTH - 16.0)
#define PLOT_TOP 36.0
#define PLOT_BOTTOM (CHART_HEIGHT - 52.0)
#define TARGET_TICKS 5
#define MAX_X_LABELS 12
#define BAR_MAX_WIDTH 40.0
#define LEGEND_STEP 240.0	/* between legend entries */
#define VALUE_LABELS_UP_TO 13	/* months: above that, bars carry no value text */

/* Series colours and dash patterns: told apart without colour as well. */
static const char *const colours[] = { "#005eb8", "#330072", "#007f3b", "#8a1538" };
static const char *const dashes[] = { "none", "6 4", "2 3", "8 3 2 3" };
static const char *const month_abbr[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
	"Nov", "Dec"
};
static const char *const month_names[] = {
	"January", "February", "March", "April", "May", "June", "July", "August",
	"September", "October", "November", "December"
};

static int
is_nan(double v)
{
	return v != v;
}

/* Rounded to a tenth, as the SVG's coordinates are written. */
static double
tenth(double v)
{
	long long t = (long long)(v * 10.0 + (v >= 0 ? 0.5 : -0.5));

	return (double)t / 10.0;
}

void
chart_scale(double max, int integer, double *top, double *step)
{
	static const double nice[] = { 1.0, 2.0, 2.5, 5.0, 10.0 };
	double raw, mag = 1.0, s = 1.0;
	long long k;
	size_t i;

	if (!(max > 0) || max > 1e15) {
		*step = 1.0;
		*top = 1.0;
		return;
	}
	raw = max / TARGET_TICKS;
	while (raw >= 10.0) {
		raw /= 10.0;
		mag *= 10.0;
	}
	while (raw < 1.0) {
		raw *= 10.0;
		mag /= 10.0;
	}
	for (i = 0; i < sizeof(nice) / sizeof(nice[0]); i++) {
		s = nice[i] * mag;
		if (integer && (s < 1.0 || (nice[i] == 2.5 && mag < 10.0)))
			continue;
		if (nice[i] >= raw - 1e-9)
			break;
	}
	if (integer && s < 1.0)
		s = 1.0;
	k = (long long)(max / s);
	if ((double)k * s < max - s * 1e-9)
		k++;
	if (k < 1)
		k = 1;
	*step = s;
	*top = (double)k * s;
}

/* Tick text: as few decimals as the step needs. */
static const char *
tick_text(char *buf, size_t len, double v, double step, int percent)
{
	int dec = 0;
	double s = step;

	while (dec < 4 && s - (double)(long long)s > 1e-9) {
		s *= 10.0;
		dec++;
	}
	snprintf(buf, len, "%.*f%s", dec, v, percent ? "%" : "");
	return buf;
}

static int
month_of(const char *s, int *y, int *m)
{
	long long yy, mm;
	char ybuf[5], mbuf[3];

	if (s == NULL || strlen(s) != 7 || s[4] != '-')
		return 0;
	memcpy(ybuf, s, 4);
	ybuf[4] = '\0';
	memcpy(mbuf, s + 5, 2);
	mbuf[2] = '\0';
	if (cpa_parse_ll(ybuf, 1900, 2199, &yy) != CPA_OK ||
	    cpa_parse_ll(mbuf, 1, 12, &mm) != CPA_OK)
		return 0;
	*y = (int)yy;
	*m = (int)mm;
	return 1;
}

const char *
chart_month_words(cpa_arena *a, const char *s)
{
	int y, m;

	if (!month_of(s, &y, &m))
		return s != NULL ? s : "";
	return cpa_sprintf(a, "%s %d", month_names[m - 1], y);
}

const char *
chart_month_abbr(cpa_arena *a, const char *s, const char *space)
{
	int y, m;

	if (!month_of(s, &y, &m))
		return s != NULL ? s : "";
	return cpa_sprintf(a, "%s%s%d", month_abbr[m - 1], space, y);
}

static double
plot_y(double v, double top)
{
	return tenth(PLOT_BOTTOM - v / top * (PLOT_BOTTOM - PLOT_TOP));
}

/* The x axis: a tick per shown month ("Nov", and the year under January
 * and under the first month). */
static json_t *
x_ticks(const struct chart_spec *sp, double band)
{
	json_t *list = json_array();
	size_t i, every = (sp->n + MAX_X_LABELS - 1) / MAX_X_LABELS;
	char year[8];
	int y, m;

	if (every == 0)
		every = 1;
	for (i = 0; i < sp->n; i += every) {
		year[0] = '\0';
		if (month_of(sp->x_labels[i], &y, &m)) {
			if (m == 1 || i == 0)
				snprintf(year, sizeof(year), "%d", y);
		}
		json_array_append_new(list, json_pack("{s:f,s:f,s:f,s:s,s:s}",
		    "x", tenth(PLOT_LEFT + band * ((double)i + 0.5)),
		    "y", PLOT_BOTTOM + 18.0, "y_year", PLOT_BOTTOM + 34.0,
		    "label", month_of(sp->x_labels[i], &y, &m) ? month_abbr[m - 1] :
		    sp->x_labels[i], "year", year));
	}
	return list;
}

static json_t *
y_ticks(double top, double step, int percent)
{
	json_t *list = json_array();
	char buf[32];
	long long i, n = (long long)(top / step + 0.5);

	for (i = 0; i <= n; i++)
		json_array_append_new(list, json_pack("{s:f,s:f,s:f,s:s}",
		    "y", plot_y((double)i * step, top), "ty",
		    plot_y((double)i * step, top) + 4.0, "x", PLOT_LEFT - 6.0,
		    "label", tick_text(buf, sizeof(buf), (double)i * step, step, percent)));
	return list;
}

static const char *
value_text(char *buf, size_t len, double v, int percent)
{
	if (percent)
		snprintf(buf, len, "%.1f%%", v);
	else if (v == (double)(long long)v)
		snprintf(buf, len, "%lld", (long long)v);
	else
		snprintf(buf, len, "%.2f", v);
	return buf;
}

static json_t *
bars(const struct chart_spec *sp, const struct chart_series *s, double top,
    double band)
{
	json_t *list = json_array();
	double w = band * 0.6, x, y;
	char buf[64], tip[160];
	size_t i;

	if (w > BAR_MAX_WIDTH)
		w = BAR_MAX_WIDTH;
	for (i = 0; i < sp->n; i++) {
		if (is_nan(s->values[i]))
			continue;
		x = PLOT_LEFT + band * ((double)i + 0.5) - w / 2.0;
		y = plot_y(s->values[i] < 0 ? 0 : s->values[i], top);
		value_text(buf, sizeof(buf), s->values[i], sp->percent);
		snprintf(tip, sizeof(tip), "%s: %s", sp->x_labels[i], buf);
		json_array_append_new(list, json_pack("{s:f,s:f,s:f,s:f,s:s,s:s,s:f,s:f,s:b}",
		    "x", tenth(x), "y", y, "w", tenth(w), "h", tenth(PLOT_BOTTOM - y),
		    "tip", tip, "value", buf, "tx", tenth(x + w / 2.0), "ty", y - 4.0,
		    "show_value", sp->n <= VALUE_LABELS_UP_TO));
	}
	return list;
}

/* A line as segments between gaps, and a marker on every value. */
static json_t *
line(cpa_arena *a, const struct chart_spec *sp, size_t k, double top, double band)
{
	const struct chart_series *s = &sp->series[k];
	struct cpa_buf pts;
	json_t *segs = json_array(), *marks = json_array();
	char buf[64], tip[160];
	double x, y;
	size_t i;

	cpa_buf_init(&pts, a);
	for (i = 0; i <= sp->n; i++) {
		if (i == sp->n || is_nan(s->values[i])) {
			if (pts.len > 0)
				json_array_append_new(segs, json_pack("{s:s}", "points",
				    pts.data));
			pts.len = 0;
			pts.data[0] = '\0';
			continue;
		}
		x = tenth(PLOT_LEFT + band * ((double)i + 0.5));
		y = plot_y(s->values[i] < 0 ? 0 : s->values[i], top);
		cpa_buf_printf(&pts, "%s%.1f,%.1f", pts.len > 0 ? " " : "", x, y);
		value_text(buf, sizeof(buf), s->values[i], sp->percent);
		snprintf(tip, sizeof(tip), "%s, %s: %s", s->name, sp->x_labels[i], buf);
		json_array_append_new(marks, json_pack("{s:f,s:f,s:s}", "x", x, "y", y,
		    "tip", tip));
	}
	return json_pack("{s:s,s:s,s:s,s:o,s:o}", "name", s->name, "colour",
	    colours[k % 4], "dash", dashes[k % 4], "segments", segs, "markers", marks);
}

/* The sentence under the title: what is shown, over which months, and
 * each series' lowest and highest value. */
static const char *
describe(cpa_arena *a, const struct chart_spec *sp, int any)
{
	struct cpa_buf b;
	char lo_t[64], hi_t[64];
	double lo, hi;
	size_t i, k;
	int seen;

	cpa_buf_init(&b, a);
	if (sp->n == 0) {
		cpa_buf_printf(&b, "%s: no months in this period.", sp->title);
		return b.data;
	}
	cpa_buf_printf(&b, "%s chart of %s by month, %s to %s.",
	    sp->kind == CHART_BARS ? "Bar" : "Line", sp->title,
	    chart_month_words(a, sp->x_labels[0]),
	    chart_month_words(a, sp->x_labels[sp->n - 1]));
	if (!any) {
		cpa_buf_puts(&b, " No data.");
		return b.data;
	}
	for (k = 0; k < sp->nseries; k++) {
		seen = 0;
		lo = hi = 0;
		for (i = 0; i < sp->n; i++) {
			if (is_nan(sp->series[k].values[i]))
				continue;
			if (!seen || sp->series[k].values[i] < lo)
				lo = sp->series[k].values[i];
			if (!seen || sp->series[k].values[i] > hi)
				hi = sp->series[k].values[i];
			seen = 1;
		}
		if (seen)
			cpa_buf_printf(&b, " %s: lowest %s, highest %s.", sp->series[k].name,
			    value_text(lo_t, sizeof(lo_t), lo, sp->percent),
			    value_text(hi_t, sizeof(hi_t), hi, sp->percent));
		else
			cpa_buf_printf(&b, " %s: no data.", sp->series[k].name);
	}
	return b.data;
}

json_t *
chart_model(const struct chart_spec *sp)
{
	cpa_arena *a = cpa_arena_new();
	json_t *m, *series = json_array(), *legend = json_array();
	double max = 0, top, step, band;
	size_t i, k;
	int any = 0;

	for (k = 0; k < sp->nseries; k++)
		for (i = 0; i < sp->n; i++)
			if (!is_nan(sp->series[k].values[i])) {
				any = 1;
				if (sp->series[k].values[i] > max)
					max = sp->series[k].values[i];
			}
	if (sp->percent) {
		top = 100.0;
		step = 20.0;
	} else
		chart_scale(max, sp->integer, &top, &step);
	band = sp->n > 0 ? (PLOT_RIGHT - PLOT_LEFT) / (double)sp->n : 0;
	for (k = 0; k < sp->nseries && sp->n > 0; k++) {
		if (sp->kind == CHART_BARS)
			json_array_append_new(series, json_pack("{s:s,s:s,s:o}", "name",
			    sp->series[k].name, "colour", colours[k % 4], "rects",
			    bars(sp, &sp->series[k], top, band)));
		else
			json_array_append_new(series, line(a, sp, k, top, band));
	}
	for (k = 0; k < sp->nseries && sp->nseries > 1; k++)
		json_array_append_new(legend, json_pack("{s:s,s:s,s:s,s:f,s:f,s:f,s:f,s:f}",
		    "name", sp->series[k].name, "colour", colours[k % 4], "dash",
		    dashes[k % 4], "x1", PLOT_LEFT + LEGEND_STEP * (double)k, "x2",
		    PLOT_LEFT + LEGEND_STEP * (double)k + 24.0, "tx",
		    PLOT_LEFT + LEGEND_STEP * (double)k + 30.0, "y", 14.0, "ty", 18.0));
	m = json_pack("{s:s,s:s,s:s,s:i,s:i,s:s,s:f,s:f,s:{s:f,s:f,s:f,s:f},"
	    "s:o,s:o,s:o,s:o,s:b,s:b,s:b,s:b,s:f,s:f}",
	    "id", sp->id, "title", sp->title, "desc", describe(a, sp, any),
	    "width", CHART_WIDTH, "height", CHART_HEIGHT, "y_label", sp->y_label,
	    "y_label_x", -tenth((PLOT_TOP + PLOT_BOTTOM) / 2.0), "y_label_y", 16.0,
	    "plot", "x0", PLOT_LEFT, "x1", PLOT_RIGHT, "y0", PLOT_TOP, "y1", PLOT_BOTTOM,
	    "yticks", y_ticks(top, step, sp->percent), "xticks",
	    sp->n > 0 ? x_ticks(sp, band) : json_array(), "series", series,
	    "legend", legend, "kind_bars", sp->kind == CHART_BARS, "kind_lines",
	    sp->kind == CHART_LINES, "empty", sp->n == 0, "no_data", sp->n > 0 && !any,
	    "cx", tenth((PLOT_LEFT + PLOT_RIGHT) / 2.0), "cy",
	    tenth((PLOT_TOP + PLOT_BOTTOM) / 2.0));
	json_object_set_new(m, "top", json_real(top));
	json_object_set_new(m, "step", json_real(step));
	cpa_arena_free(a);
	return m;
}
