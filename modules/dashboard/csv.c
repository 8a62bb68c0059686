/*
 * csv.c - the dashboard's CSV downloads, flattened generically from the
 * same JSON model the API answers with, so the two never disagree: one
 * row per leaf, "scope,group_kind,group_id,group_name,figure,value".
 *
 * Fields follow RFC 4180 (CRLF line ends; quoted when they hold a comma,
 * a double quote, CR or LF, quotes doubled).  Text that a spreadsheet
 * would take for a formula (starting with = + - @, tab or CR) gets a
 * leading apostrophe; numbers are left as they are.
 */
#include <string.h>

#include "dashboard.h"

#define PATH_MAX_DEPTH 16

void
dash_csv_field(struct cpa_buf *b, const char *s, int text)
{
	int quote;

	if (s == NULL)
		s = "";
	quote = strpbrk(s, ",\"\r\n") != NULL;
	if (quote)
		cpa_buf_putc(b, '"');
	if (text && s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL)
		cpa_buf_putc(b, '\'');
	for (; *s != '\0'; s++) {
		if (*s == '"')
			cpa_buf_putc(b, '"');
		cpa_buf_putc(b, *s);
	}
	if (quote)
		cpa_buf_putc(b, '"');
}

void
dash_csv_header(struct cpa_buf *b)
{
	cpa_buf_puts(b, "scope,group_kind,group_id,group_name,figure,value\r\n");
}

/* The first four fields of every row of a group. */
struct head {
	const char *scope;
	const char *kind;
	const json_t *id;
	const char *name;
};

/* A scalar: text as it is, null empty, anything else as the JSON prints
 * it.  Returns whether it is text. */
static const char *
scalar_text(cpa_arena *a, const json_t *v, int *text)
{
	struct cpa_buf b;

	*text = json_is_string(v);
	if (v == NULL || json_is_null(v))
		return "";
	if (json_is_string(v))
		return json_string_value(v);
	cpa_buf_init(&b, a);
	cpa_json_write(&b, v);
	return b.data;
}

static void
row(struct cpa_buf *b, const struct head *h, const char *figure, const json_t *v)
{
	const char *s;
	int text;

	dash_csv_field(b, h->scope, 1);
	cpa_buf_putc(b, ',');
	dash_csv_field(b, h->kind, 1);
	cpa_buf_putc(b, ',');
	s = scalar_text(b->arena, h->id, &text);
	dash_csv_field(b, s, text);
	cpa_buf_putc(b, ',');
	dash_csv_field(b, h->name, 1);
	cpa_buf_putc(b, ',');
	dash_csv_field(b, figure, 1);
	cpa_buf_putc(b, ',');
	s = scalar_text(b->arena, v, &text);
	dash_csv_field(b, s, text);
	cpa_buf_puts(b, "\r\n");
}

static int
listed(const char *const *list, const char *key)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(*list, key) == 0)
			return 1;
	return 0;
}

/* The member naming an object in an array: its first text member. */
static const char *
name_key(const json_t *o)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)(uintptr_t)o, key, v)
		if (json_is_string(v))
			return key;
	return NULL;
}

static const char *
join(cpa_arena *a, const char *path, const char *seg)
{
	char *s = path[0] != '\0' ? cpa_sprintf(a, "%s.%s", path, seg) :
	    cpa_strdup(a, seg);
	char *p;

	for (p = s + strlen(path); *p != '\0'; p++)
		if (*p == ' ')
			*p = '_';
	return s;
}

static void
flatten(struct cpa_buf *b, const struct head *h, const char *path, const json_t *v,
    const char *const *skip, int depth)
{
	const char *key, *nk;
	json_t *child;
	size_t i;

	if (depth > PATH_MAX_DEPTH)
		return;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)(uintptr_t)v, key, child)
			if (!listed(skip, key))
				flatten(b, h, join(b->arena, path, key), child, NULL,
				    depth + 1);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child) {
			if (json_is_object(child) && (nk = name_key(child)) != NULL) {
				const char *only[2] = { nk, NULL };

				flatten(b, h, join(b->arena, path, json_string_value(
				    json_object_get(child, nk))), child, only, depth + 1);
			} else
				flatten(b, h, join(b->arena, path, cpa_sprintf(b->arena,
				    "%zu", i)), child, NULL, depth + 1);
		}
	} else
		row(b, h, path, v);
}

void
dash_csv_group(struct cpa_buf *b, const char *scope, const char *kind,
    const json_t *id, const char *name, const json_t *v, const char *const *skip)
{
	struct head h = { scope, kind, id, name };

	if (v == NULL || json_is_null(v))
		return;
	flatten(b, &h, "", v, skip, 0);
}

void
dash_csv_groups(struct cpa_buf *b, const char *scope, const char *default_kind,
    const json_t *groups)
{
	static const char *const identity[] = { "kind", "id", "name", "href", NULL };
	const json_t *g, *figs;
	const char *kind;
	size_t i;

	json_array_foreach(groups, i, g) {
		kind = json_string_value(json_object_get(g, "kind"));
		if (kind == NULL)
			kind = default_kind;
		figs = json_object_get(g, "figures");
		dash_csv_group(b, scope, kind, json_object_get(g, "id"),
		    json_string_value(json_object_get(g, "name")),
		    figs != NULL ? figs : g, figs != NULL ? NULL : identity);
	}
}
