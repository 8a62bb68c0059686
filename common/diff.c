/*
 * diff.c - what changed between two texts, word by word, for the
 * what-changed views of versioned records.
 *
 * A text is cut into tokens: a run of non-space bytes (the word) followed
 * by the whitespace after it; a text that starts with whitespace has a
 * first token with an empty word.  Only ASCII whitespace separates tokens,
 * so a multibyte UTF-8 character is never split.  Two tokens match when
 * their words are equal; a matched pair whose whitespace differs (a space
 * that became a line break) comes out as the word unchanged and the
 * whitespace removed and added.
 *
 * The common leading and trailing tokens are matched first; the middle is
 * aligned by a longest common subsequence over a table of at most
 * DIFF_MAX_CELLS cells.  A larger middle is shown as all removed, then all
 * added.  Within each run of changes the removed text comes before the
 * added, and adjacent segments of one op are merged, so joining the "same"
 * and "removed" texts gives before back and "same" and "added" gives after.
 *
 * Memory: tokens and the table are malloc'd and freed before returning;
 * the result is a new jansson reference owned by the caller.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpa.h"

#define DIFF_MAX_CELLS 1000000

/* One token: word of wlen bytes at p, then whitespace up to len. */
struct tok {
	const char *p;
	size_t wlen;
	size_t len;
};

/* A growable byte string (malloc'd). */
struct text {
	char *p;
	size_t len;
	size_t cap;
};

/* The segments built so far, with the text not yet written out: either a
 * run of same text, or a run of removed and added text, never both. */
struct emit {
	json_t *out;
	struct text same;
	struct text removed;
	struct text added;
	int failed;		/* out of memory, or not UTF-8 */
};

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

/* The tokens of s in *out (malloc'd; NULL when there are none).  Returns
 * the count, or (size_t)-1 when out of memory. */
static size_t
tokenize(const char *s, struct tok **out)
{
	struct tok *t;
	size_t i, n = 0, k;

	*out = NULL;
	for (i = 0; s[i] != '\0'; n++) {
		while (s[i] != '\0' && !is_space((unsigned char)s[i]))
			i++;
		while (s[i] != '\0' && is_space((unsigned char)s[i]))
			i++;
	}
	if (n == 0)
		return 0;
	if ((t = calloc(n, sizeof(*t))) == NULL)
		return (size_t)-1;
	for (i = 0, k = 0; k < n; k++) {
		t[k].p = s + i;
		while (s[i] != '\0' && !is_space((unsigned char)s[i]))
			i++;
		t[k].wlen = (size_t)(s + i - t[k].p);
		while (s[i] != '\0' && is_space((unsigned char)s[i]))
			i++;
		t[k].len = (size_t)(s + i - t[k].p);
	}
	*out = t;
	return n;
}

static int
tok_eq(const struct tok *a, const struct tok *b)
{
	return a->wlen == b->wlen && memcmp(a->p, b->p, a->wlen) == 0;
}

static void
text_add(struct emit *e, struct text *t, const char *p, size_t n)
{
	char *np;
	size_t cap;

	if (n == 0 || e->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		cap = t->cap > 0 ? t->cap : 64;
		while (cap < t->len + n + 1)
			cap *= 2;
		if ((np = realloc(t->p, cap)) == NULL) {
			e->failed = 1;
			return;
		}
		t->p = np;
		t->cap = cap;
	}
	memcpy(t->p + t->len, p, n);
	t->len += n;
}

/* Append {"op", "text"} for t's text, if any, and empty t. */
static void
segment_put(struct emit *e, const char *op, struct text *t)
{
	json_t *s, *seg;

	if (t->len == 0 || e->failed)
		return;
	if ((s = json_stringn(t->p, t->len)) == NULL ||
	    (seg = json_pack("{s:s,s:o}", "op", op, "text", s)) == NULL ||
	    json_array_append_new(e->out, seg) != 0)
		e->failed = 1;
	t->len = 0;
}

static void
changes_flush(struct emit *e)
{
	segment_put(e, "removed", &e->removed);
	segment_put(e, "added", &e->added);
}

static void
put_same(struct emit *e, const char *p, size_t n)
{
	if (n == 0)
		return;
	changes_flush(e);
	text_add(e, &e->same, p, n);
}

static void
put_removed(struct emit *e, const char *p, size_t n)
{
	if (n == 0)
		return;
	segment_put(e, "same", &e->same);
	text_add(e, &e->removed, p, n);
}

static void
put_added(struct emit *e, const char *p, size_t n)
{
	if (n == 0)
		return;
	segment_put(e, "same", &e->same);
	text_add(e, &e->added, p, n);
}

/* A matched pair: the word is the same; differing whitespace is a change. */
static void
put_match(struct emit *e, const struct tok *a, const struct tok *b)
{
	if (a->len == b->len && memcmp(a->p, b->p, a->len) == 0) {
		put_same(e, a->p, a->len);
		return;
	}
	put_same(e, a->p, a->wlen);
	put_removed(e, a->p + a->wlen, a->len - a->wlen);
	put_added(e, b->p + b->wlen, b->len - b->wlen);
}

/* The middle a[0..n) against b[0..m) (their common ends already matched):
 * along a longest common subsequence when its table is small enough, else
 * all of a removed and all of b added. */
static void
align(struct emit *e, const struct tok *a, size_t n, const struct tok *b, size_t m)
{
	uint32_t *lcs = NULL;
	size_t i, j, w = m + 1;

	if (n > 0 && m > 0 && (n + 1) <= DIFF_MAX_CELLS / w)
		lcs = calloc((n + 1) * w, sizeof(*lcs));
	if (lcs != NULL) {
		/* lcs[i * w + j]: the longest common subsequence of a[i..]
		 * and b[j..]. */
		for (i = n; i-- > 0;)
			for (j = m; j-- > 0;) {
				if (tok_eq(&a[i], &b[j]))
					lcs[i * w + j] = lcs[(i + 1) * w + j + 1] + 1;
				else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])
					lcs[i * w + j] = lcs[(i + 1) * w + j];
				else
					lcs[i * w + j] = lcs[i * w + j + 1];
			}
		for (i = 0, j = 0; i < n && j < m;) {
			if (tok_eq(&a[i], &b[j])) {
				put_match(e, &a[i], &b[j]);
				i++;
				j++;
			} else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
				put_removed(e, a[i].p, a[i].len);
				i++;
			} else {
				put_added(e, b[j].p, b[j].len);
				j++;
			}
		}
		free(lcs);
	} else
		i = j = 0;
	for (; i < n; i++)
		put_removed(e, a[i].p, a[i].len);
	for (; j < m; j++)
		put_added(e, b[j].p, b[j].len);
}

json_t *
cpa_diff_words(const char *before, const char *after)
{
	struct tok *a = NULL, *b = NULL;
	struct emit e;
	size_t n, m, pre, suf, i;

	memset(&e, 0, sizeof(e));
	if ((e.out = json_array()) == NULL)
		return NULL;
	n = tokenize(before != NULL ? before : "", &a);
	m = tokenize(after != NULL ? after : "", &b);
	if (n == (size_t)-1 || m == (size_t)-1) {
		e.failed = 1;
		goto out;
	}
	for (pre = 0; pre < n && pre < m && tok_eq(&a[pre], &b[pre]); pre++)
		;
	for (suf = 0; suf < n - pre && suf < m - pre &&
	    tok_eq(&a[n - 1 - suf], &b[m - 1 - suf]); suf++)
		;
	for (i = 0; i < pre; i++)
		put_match(&e, &a[i], &b[i]);
	align(&e, a + pre, n - pre - suf, b + pre, m - pre - suf);
	for (i = suf; i > 0; i--)
		put_match(&e, &a[n - i], &b[m - i]);
	segment_put(&e, "same", &e.same);
	changes_flush(&e);
out:
	free(a);
	free(b);
	free(e.same.p);
	free(e.removed.p);
	free(e.added.p);
	if (e.failed) {
		json_decref(e.out);
		return NULL;
	}
	return e.out;
}
