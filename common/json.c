/*
 * json.c - JSON in and out on jansson.  Input is refused when it has
 * duplicate keys, invalid UTF-8, NUL characters or more than MAX_DEPTH
 * levels of nesting; output is compact ASCII with '/' escaped, so it can be
 * embedded in HTML and cannot end a <script> element.  Pages walk their
 * models with cpa_json_annotate to add words beside the raw values.
 */
#include <stdio.h>

#include "cpa.h"

#define MAX_DEPTH 32

/* Messages for the parse failures a client can cause; jansson's own texts
 * quote the input and are not shown. */
static const struct {
	enum json_error_code code;
	const char *message;
} parse_errors[] = {
	{ json_error_invalid_utf8, "invalid UTF-8" },
	{ json_error_premature_end_of_input, "unexpected end of input" },
	{ json_error_end_of_input_expected, "unexpected data after the value" },
	{ json_error_invalid_syntax, "invalid syntax" },
	{ json_error_null_character, "NUL character in a string" },
	{ json_error_null_byte_in_key, "NUL character in a key" },
	{ json_error_duplicate_key, "duplicate key" },
	{ json_error_numeric_overflow, "number out of range" },
	{ json_error_stack_overflow, "nested too deeply" },
};

/* 1 when v and everything inside it stays within MAX_DEPTH levels of
 * arrays and objects, counting v's own level as depth.  Recursion stops
 * at MAX_DEPTH + 1, so its depth is bounded whatever the input. */
static int
depth_ok(const json_t *v, int depth)
{
	const char *key;
	json_t *child;
	size_t i;

	if (!json_is_object(v) && !json_is_array(v))
		return 1;
	if (depth > MAX_DEPTH)
		return 0;
	if (json_is_array(v)) {
		json_array_foreach(v, i, child)
			if (!depth_ok(child, depth + 1))
				return 0;
	} else {
		json_object_foreach((json_t *)(uintptr_t)v, key, child)
			if (!depth_ok(child, depth + 1))
				return 0;
	}
	return 1;
}

json_t *
cpa_json_parse(const char *s, size_t n, char *err, size_t errlen)
{
	const char *msg = "invalid JSON";
	json_error_t jerr;
	json_t *v;
	size_t i;

	v = json_loadb(s, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (v == NULL) {
		for (i = 0; i < sizeof(parse_errors) / sizeof(parse_errors[0]); i++)
			if (parse_errors[i].code == json_error_code(&jerr))
				msg = parse_errors[i].message;
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "JSON %s at position %d", msg,
			    jerr.position);
		return NULL;
	}
	if (!depth_ok(v, 1)) {
		json_decref(v);
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "JSON nested more than %d levels deep",
			    MAX_DEPTH);
		return NULL;
	}
	return v;
}

static int
buf_append(const char *p, size_t n, void *arg)
{
	cpa_buf_add(arg, p, n);
	return 0;
}

void
cpa_json_write(struct cpa_buf *out, const json_t *v)
{
	/* Reals with 15 significant digits: 0.72, not 0.71999999999999997. */
	const size_t flags = JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH |
	    JSON_ENCODE_ANY | JSON_REAL_PRECISION(15);
	size_t start = out->len;

	/* jansson fails only on values it cannot represent (a reference
	 * cycle); whatever it wrote before failing is taken back. */
	if (v == NULL || json_dump_callback(v, buf_append, out, flags) != 0) {
		out->len = start;
		out->data[start] = '\0';
		cpa_buf_puts(out, "null");
	}
}

static void
json_release(void *v)
{
	json_decref(v);
}

json_t *
cpa_json_keep(cpa_arena *a, json_t *v)
{
	if (v != NULL)
		cpa_arena_defer(a, json_release, v);
	return v;
}

/* Members are added once the object's walk is done: adding while jansson
 * iterates the object is not allowed. */
static void
annotate(json_t *v, cpa_annotate_fn fn, void *arg, int depth)
{
	const char *key;
	json_t *item, *add;
	size_t i;

	if (depth > 16)
		return;
	if (json_is_array(v)) {
		json_array_foreach(v, i, item)
			annotate(item, fn, arg, depth + 1);
		return;
	}
	if (!json_is_object(v))
		return;
	add = json_object();
	json_object_foreach(v, key, item) {
		fn(add, key, item, arg);
		annotate(item, fn, arg, depth + 1);
	}
	json_object_update(v, add);
	json_decref(add);
}

void
cpa_json_annotate(json_t *v, cpa_annotate_fn fn, void *arg)
{
	annotate(v, fn, arg, 0);
}

void
cpa_json_beside(json_t *add, const char *key, const char *suffix, json_t *value)
{
	char name[128];
	int n = snprintf(name, sizeof(name), "%s%s", key, suffix);

	if (n < 0 || (size_t)n >= sizeof(name)) {
		json_decref(value);
		return;
	}
	json_object_set_new(add, name, value);
}
