/*
 * html.c - HTML templates: a small Mustache dialect compiled once into a flat
 * node list and rendered against a jansson model, escaping every value unless
 * the template says {{&name}}.  The process holds one template set, loaded
 * from directories at start-up (and again on SIGHUP); partials are looked up
 * in that set when a page is rendered.  Templates live for the process (or
 * until the next load) in malloc'd memory; rendering allocates only in the
 * output buffer's arena.
 *
 * Dialect: {{name}} {{a.b}} {{.}} {{#name}}..{{/name}} {{^name}}..{{/name}}
 * {{> partial}} {{! comment}} {{&name}}.  A numeric segment indexes an
 * array, so {{#errors.0}}..{{/errors.0}} shows a block once when the list is
 * not empty.  A section, inverted section, comment or partial tag alone on
 * its line takes the whole line with it, so templates can be indented
 * freely.  No delimiter changes, no lambdas, no triple mustaches.
 *
 * As in Mustache, a name an item lacks is looked up in the outer contexts:
 * models should give list items every key their section uses (null when
 * empty), or an item inherits its parent's value.
 *
 * At the end, the words pages show for values: labels of codes, dates in
 * words, a person's name.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpa.h"

#define TMPL_MAX_BYTES	(1024 * 1024)	/* one template file */
#define TMPL_MAX_NEST	32		/* sections inside sections, per template */
#define PARTIAL_MAX_DEPTH 16		/* partials inside partials, per render */
/* How much of an offending tag an error message quotes. */
#define TAG_SHOW(n)	((int)((n) > 40 ? 40 : (n)))

enum ntype {
	N_TEXT,		/* literal text: text, len */
	N_VAR,		/* escaped value of name */
	N_RAW,		/* unescaped value of name */
	N_SECTION,	/* nodes up to end, if name is truthy (per item for arrays) */
	N_INVERTED,	/* nodes up to end, if name is falsy */
	N_PARTIAL	/* the template called name */
};

/* Text nodes point into the template's own copy of its source; names are
 * NUL-terminated copies owned by the template. */
struct node {
	enum ntype type;
	unsigned line;
	const char *text;
	size_t len;
	char *name;
	size_t end;	/* sections: index of the first node after the section */
};

/* A compiled template.  Owns name, src and nodes; freed by cpa_tmpl_free. */
struct cpa_tmpl {
	char *name;
	char *src;
	struct node *nodes;
	size_t nnodes;
	size_t cap;
};

/* One level of the render context: innermost first, up leads outwards. */
struct frame {
	const json_t *v;
	const struct frame *up;
};

/* The process's template set.  Owned here; replaced whole by
 * cpa_templates_load, extended by cpa_templates_add. */
static struct cpa_tmpl **tset;
static size_t ntset;

/*
 * HTML escapes: every byte that needs one maps to its entity.  A NUL byte,
 * which jansson strings may carry, becomes U+FFFD as an HTML parser would.
 */
static const char *const escapes[256] = {
	['\0'] = "&#xFFFD;",
	['&'] = "&amp;",
	['<'] = "&lt;",
	['>'] = "&gt;",
	['"'] = "&quot;",
	['\''] = "&#39;",
};

static void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (q == NULL) {
		fputs("cpa: out of memory\n", stderr);
		abort();
	}
	return q;
}

static char *
xstrndup(const char *s, size_t n)
{
	char *p = xrealloc(NULL, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
cpa_html_escape(struct cpa_buf *out, const char *s, size_t n)
{
	size_t i, run = 0;
	const char *e;

	for (i = 0; i < n; i++) {
		e = escapes[(unsigned char)s[i]];
		if (e == NULL)
			continue;
		cpa_buf_add(out, s + run, i - run);
		cpa_buf_puts(out, e);
		run = i + 1;
	}
	cpa_buf_add(out, s + run, n - run);
}

/* ------------------------------------------------------------- compiling */

/* The line number at pos, counting on from an earlier (*lpos, *line) so a
 * whole compile scans the source once. */
static unsigned
line_at(const char *src, size_t pos, size_t *lpos, unsigned *line)
{
	for (; *lpos < pos; (*lpos)++)
		if (src[*lpos] == '\n')
			(*line)++;
	return *line;
}

/* Names are "." or dot-separated segments of [A-Za-z0-9_-]. */
static int
name_valid(const char *s, size_t n)
{
	size_t i;
	int seglen = 0;

	if (n == 1 && s[0] == '.')
		return 1;
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (seglen == 0)
				return 0;
			seglen = 0;
		} else if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-')
			seglen++;
		else
			return 0;
	}
	return seglen > 0;
}

static struct node *
node_add(struct cpa_tmpl *t, enum ntype type, unsigned line)
{
	struct node *n;

	if (t->nnodes == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		t->nodes = xrealloc(t->nodes, t->cap * sizeof(*t->nodes));
	}
	n = &t->nodes[t->nnodes++];
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->line = line;
	return n;
}

static void
text_add(struct cpa_tmpl *t, const char *p, size_t n)
{
	struct node *nd;

	if (n == 0)
		return;
	nd = node_add(t, N_TEXT, 0);
	nd->text = p;
	nd->len = n;
}

/*
 * A tag standing alone on its line (only blanks around it) removes the whole
 * line: *lstart is where the line's blanks begin, *rend is just past the
 * line's newline (or the end of the source).  pos is where the pending text
 * starts; blanks before it belong to an earlier standalone tag's line.
 */
static int
standalone(const char *src, size_t len, size_t pos, size_t tstart, size_t tend,
    size_t *lstart, size_t *rend)
{
	size_t l = tstart, r = tend;

	while (l > pos && (src[l - 1] == ' ' || src[l - 1] == '\t'))
		l--;
	if (l > 0 && src[l - 1] != '\n')
		return 0;
	while (r < len && (src[r] == ' ' || src[r] == '\t' || src[r] == '\r'))
		r++;
	if (r < len && src[r] != '\n')
		return 0;
	*lstart = l;
	*rend = r < len ? r + 1 : r;
	return 1;
}

static void errorf(char *, size_t, const char *, unsigned, const char *, ...)
    CPA_PRINTF(5, 6);

/* "template "NAME", line N: message" into err (which may be NULL). */
static void
errorf(char *err, size_t errlen, const char *name, unsigned line,
    const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL || errlen == 0)
		return;
	n = snprintf(err, errlen, "template \"%s\", line %u: ", name, line);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Which tag a sigil starts; a name with no sigil is an escaped variable. */
#define T_COMMENT	(-1)
#define T_CLOSE		(-2)
static const struct {
	char sigil;
	int type;	/* enum ntype, T_COMMENT or T_CLOSE */
} sigils[] = {
	{ '#', N_SECTION },
	{ '^', N_INVERTED },
	{ '>', N_PARTIAL },
	{ '&', N_RAW },
	{ '!', T_COMMENT },
	{ '/', T_CLOSE },
};

/* Split the tag src[tstart, tend) ("{{" .. "}}") into its type and its name
 * with surrounding blanks removed. */
static int
tag_parse(const char *src, size_t tstart, size_t tend, const char **name,
    size_t *namelen)
{
	size_t i, in = tstart + 2, end = tend - 2;
	int type = N_VAR;

	for (i = 0; i < sizeof(sigils) / sizeof(sigils[0]); i++)
		if (in < end && src[in] == sigils[i].sigil) {
			type = sigils[i].type;
			in++;
			break;
		}
	while (in < end && (src[in] == ' ' || src[in] == '\t'))
		in++;
	while (end > in && (src[end - 1] == ' ' || src[end - 1] == '\t'))
		end--;
	*name = src + in;
	*namelen = end - in;
	return type;
}

/* Returns a template the caller owns (free with cpa_tmpl_free, or hand it to
 * cpa_templates_add), or NULL with "template "NAME", line N: why" in err. */
struct cpa_tmpl *
cpa_tmpl_compile(const char *name, const char *src, size_t len, char *err,
    size_t errlen)
{
	struct cpa_tmpl *t;
	struct node *nd;
	size_t open[TMPL_MAX_NEST];
	size_t nopen = 0, pos = 0, lpos = 0, tstart, tend, taglen, ls, re;
	unsigned line = 1, tline;
	const char *p, *tag;
	int type;

	t = xrealloc(NULL, sizeof(*t));
	memset(t, 0, sizeof(*t));
	t->name = xstrndup(name, strlen(name));
	t->src = xstrndup(src, len);
	src = t->src;

	while (pos < len) {
		if ((p = memmem(src + pos, len - pos, "{{", 2)) == NULL) {
			text_add(t, src + pos, len - pos);
			break;
		}
		tstart = (size_t)(p - src);
		tline = line_at(src, tstart, &lpos, &line);
		if ((p = memmem(p + 2, len - tstart - 2, "}}", 2)) == NULL) {
			errorf(err, errlen, name, tline, "unterminated tag");
			goto fail;
		}
		tend = (size_t)(p - src) + 2;
		type = tag_parse(src, tstart, tend, &tag, &taglen);
		if (type != T_COMMENT && !name_valid(tag, taglen)) {
			errorf(err, errlen, name, tline, "bad tag \"%.*s\"",
			    TAG_SHOW(tend - tstart), src + tstart);
			goto fail;
		}
		if (type != N_VAR && type != N_RAW &&
		    standalone(src, len, pos, tstart, tend, &ls, &re)) {
			text_add(t, src + pos, ls - pos);
			pos = re;
		} else {
			text_add(t, src + pos, tstart - pos);
			pos = tend;
		}

		if (type == T_COMMENT)
			continue;
		if (type == T_CLOSE) {
			if (nopen == 0) {
				errorf(err, errlen, name, tline,
				    "\"%.*s\" closes no section",
				    TAG_SHOW(taglen), tag);
				goto fail;
			}
			nd = &t->nodes[open[--nopen]];
			if (strlen(nd->name) != taglen ||
			    memcmp(nd->name, tag, taglen) != 0) {
				errorf(err, errlen, name, tline,
				    "\"%.*s\" closes section \"%s\" (line %u)",
				    TAG_SHOW(taglen), tag, nd->name, nd->line);
				goto fail;
			}
			nd->end = t->nnodes;
			continue;
		}
		nd = node_add(t, (enum ntype)type, tline);
		nd->name = xstrndup(tag, taglen);
		if (type == N_SECTION || type == N_INVERTED) {
			if (nopen == TMPL_MAX_NEST) {
				errorf(err, errlen, name, tline,
				    "sections nested deeper than %d",
				    TMPL_MAX_NEST);
				goto fail;
			}
			open[nopen++] = t->nnodes - 1;
		}
	}
	if (nopen > 0) {
		nd = &t->nodes[open[nopen - 1]];
		errorf(err, errlen, name, nd->line, "unclosed section \"%s\"",
		    nd->name);
		goto fail;
	}
	return t;
fail:
	cpa_tmpl_free(t);
	return NULL;
}

void
cpa_tmpl_free(struct cpa_tmpl *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nnodes; i++)
		free(t->nodes[i].name);
	free(t->nodes);
	free(t->src);
	free(t->name);
	free(t);
}

/* ------------------------------------------------------------ the set */

static struct cpa_tmpl *
set_find(struct cpa_tmpl *const *set, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(set[i]->name, name) == 0)
			return set[i];
	return NULL;
}

/* Put t in the set, replacing (and freeing) a template of the same name.
 * The set takes ownership of t. */
static void
set_put(struct cpa_tmpl ***set, size_t *n, struct cpa_tmpl *t)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*set)[i]->name, t->name) == 0) {
			cpa_tmpl_free((*set)[i]);
			(*set)[i] = t;
			return;
		}
	*set = xrealloc(*set, (*n + 1) * sizeof(**set));
	(*set)[(*n)++] = t;
}

static void
set_free(struct cpa_tmpl **set, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		cpa_tmpl_free(set[i]);
	free(set);
}

/* The set takes t over; a template of the same name is freed.  Pointers to
 * templates are never handed out, so replacing one cannot dangle. */
void
cpa_templates_add(struct cpa_tmpl *t)
{
	set_put(&tset, &ntset, t);
}

/* Read a whole regular file of at most TMPL_MAX_BYTES.  Returns a malloc'd
 * buffer the caller frees, or NULL with a message in err. */
static char *
file_read(const char *path, size_t *lenp, char *err, size_t errlen)
{
	FILE *f;
	struct stat st;
	char *buf = NULL;
	size_t len;

	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > TMPL_MAX_BYTES) {
		snprintf(err, errlen, "%s: not a regular file of at most %d bytes",
		    path, TMPL_MAX_BYTES);
		goto out;
	}
	buf = xrealloc(NULL, (size_t)st.st_size + 1);
	len = fread(buf, 1, (size_t)st.st_size + 1, f);
	if (ferror(f) || len != (size_t)st.st_size) {
		snprintf(err, errlen, "%s: read error or file changed", path);
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[len] = '\0';
	*lenp = len;
out:
	fclose(f);
	return buf;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Compile every *.html directly in dir into *set (later files win). */
static int
dir_load(const char *dir, struct cpa_tmpl ***set, size_t *n, char *err,
    size_t errlen)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL, *path = NULL, *src;
	size_t nnames = 0, i, len, srclen;
	struct cpa_tmpl *t;
	int rc = CPA_ERR;

	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return CPA_ERR;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 5 || de->d_name[0] == '.' ||
		    strcmp(de->d_name + len - 5, ".html") != 0)
			continue;
		names = xrealloc(names, (nnames + 1) * sizeof(*names));
		names[nnames++] = xstrndup(de->d_name, len - 5);
	}
	closedir(d);
	/* Sorted, so a load reports the same first error every time. */
	if (nnames > 0)
		qsort(names, nnames, sizeof(*names), name_cmp);
	for (i = 0; i < nnames; i++) {
		len = strlen(dir) + strlen(names[i]) + 7;
		path = xrealloc(path, len);
		snprintf(path, len, "%s/%s.html", dir, names[i]);
		if ((src = file_read(path, &srclen, err, errlen)) == NULL)
			goto out;
		t = cpa_tmpl_compile(names[i], src, srclen, err, errlen);
		free(src);
		if (t == NULL)
			goto out;
		set_put(set, n, t);
	}
	rc = CPA_OK;
out:
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(path);
	return rc;
}

int
cpa_templates_load(const char *const *dirs, size_t ndirs, char *err,
    size_t errlen)
{
	struct cpa_tmpl **set = NULL, *t;
	size_t n = 0, i, j;
	char dummy[1];
	int rc = CPA_ERR;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	for (i = 0; i < ndirs; i++)
		if (dir_load(dirs[i], &set, &n, err, errlen) != CPA_OK)
			goto out;
	/* Every partial must exist now, not when a page first needs it. */
	for (i = 0; i < n; i++) {
		t = set[i];
		for (j = 0; j < t->nnodes; j++)
			if (t->nodes[j].type == N_PARTIAL &&
			    set_find(set, n, t->nodes[j].name) == NULL) {
				errorf(err, errlen, t->name, t->nodes[j].line,
				    "no template \"%s\" for the partial",
				    t->nodes[j].name);
				goto out;
			}
	}
	set_free(tset, ntset);
	tset = set;
	ntset = n;
	set = NULL;
	n = 0;
	rc = CPA_OK;
out:
	set_free(set, n);
	return rc;
}

/* ------------------------------------------------------------ rendering */

/* A path segment of at most 6 digits indexes an array ("errors.0"). */
static const json_t *
segment_get(const json_t *v, const char *seg, size_t n)
{
	size_t i, idx = 0;

	if (json_is_object(v))
		return json_object_getn(v, seg, n);
	if (!json_is_array(v) || n == 0 || n > 6)
		return NULL;
	for (i = 0; i < n; i++) {
		if (seg[i] < '0' || seg[i] > '9')
			return NULL;
		idx = idx * 10 + (size_t)(seg[i] - '0');
	}
	return json_array_get(v, idx);
}

/* Resolve name: "." is the innermost value; otherwise the first segment is
 * looked up from the innermost context outwards (the first object holding
 * the key wins, even if its value is null), the rest inside that value.
 * Returns NULL when nothing matches. */
static const json_t *
lookup(const struct frame *f, const char *name)
{
	const char *seg = name, *dot;
	const json_t *v = NULL;
	size_t n;

	if (strcmp(name, ".") == 0)
		return f != NULL ? f->v : NULL;
	dot = strchr(seg, '.');
	n = dot != NULL ? (size_t)(dot - seg) : strlen(seg);
	for (; f != NULL; f = f->up)
		if (json_is_object(f->v) &&
		    (v = json_object_getn(f->v, seg, n)) != NULL)
			break;
	while (v != NULL && dot != NULL) {
		seg = dot + 1;
		dot = strchr(seg, '.');
		n = dot != NULL ? (size_t)(dot - seg) : strlen(seg);
		v = segment_get(v, seg, n);
	}
	return v;
}

static int
truthy(const json_t *v)
{
	if (v == NULL || json_is_null(v) || json_is_false(v))
		return 0;
	if (json_is_array(v))
		return json_array_size(v) > 0;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	return 1;
}

/* Reals in the shortest form that reads back to the same double. */
static void
put_real(struct cpa_buf *out, double d)
{
	char s[32];

	snprintf(s, sizeof(s), "%.15g", d);
	if (strtod(s, NULL) != d)
		snprintf(s, sizeof(s), "%.17g", d);
	cpa_buf_puts(out, s);
}

static void
put_value(struct cpa_buf *out, const json_t *v, int raw)
{
	if (json_is_string(v)) {
		if (raw)
			cpa_buf_add(out, json_string_value(v),
			    json_string_length(v));
		else
			cpa_html_escape(out, json_string_value(v),
			    json_string_length(v));
	} else if (json_is_integer(v))
		cpa_buf_printf(out, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	else if (json_is_real(v))
		put_real(out, json_real_value(v));
	else if (json_is_true(v))
		cpa_buf_puts(out, "true");
	/* false, null, objects, arrays and missing names print nothing */
}

static int render_nodes(const struct cpa_tmpl *, size_t, size_t,
    const struct frame *, int, struct cpa_buf *);

static int
render_section(const struct cpa_tmpl *t, size_t i, const json_t *v,
    const struct frame *f, int depth, struct cpa_buf *out)
{
	const struct node *nd = &t->nodes[i];
	struct frame inner;
	size_t k;
	int rc;

	inner.up = f;
	if (!json_is_array(v)) {
		inner.v = v;
		return render_nodes(t, i + 1, nd->end, &inner, depth, out);
	}
	for (k = 0; k < json_array_size(v); k++) {
		inner.v = json_array_get(v, k);
		if ((rc = render_nodes(t, i + 1, nd->end, &inner, depth, out)) != CPA_OK)
			return rc;
	}
	return CPA_OK;
}

/* Render nodes [from, to) of t.  depth counts the partials entered. */
static int
render_nodes(const struct cpa_tmpl *t, size_t from, size_t to,
    const struct frame *f, int depth, struct cpa_buf *out)
{
	const struct node *nd;
	const struct cpa_tmpl *p;
	const json_t *v;
	size_t i = from;
	int rc;

	while (i < to) {
		nd = &t->nodes[i];
		switch (nd->type) {
		case N_TEXT:
			cpa_buf_add(out, nd->text, nd->len);
			break;
		case N_VAR:
		case N_RAW:
			if ((v = lookup(f, nd->name)) != NULL)
				put_value(out, v, nd->type == N_RAW);
			break;
		case N_SECTION:
			v = lookup(f, nd->name);
			if (truthy(v) &&
			    (rc = render_section(t, i, v, f, depth, out)) != CPA_OK)
				return rc;
			i = nd->end;
			continue;
		case N_INVERTED:
			v = lookup(f, nd->name);
			if (!truthy(v) &&
			    (rc = render_nodes(t, i + 1, nd->end, f, depth, out)) != CPA_OK)
				return rc;
			i = nd->end;
			continue;
		case N_PARTIAL:
			if (depth >= PARTIAL_MAX_DEPTH ||
			    (p = set_find(tset, ntset, nd->name)) == NULL)
				return CPA_ERR;
			if ((rc = render_nodes(p, 0, p->nnodes, f, depth + 1, out)) != CPA_OK)
				return rc;
			break;
		}
		i++;
	}
	return CPA_OK;
}

/* On failure (a partial missing or nested deeper than PARTIAL_MAX_DEPTH)
 * returns CPA_ERR with out as it was before the call. */
int
cpa_template_render(const char *name, const json_t *model, struct cpa_buf *out)
{
	const struct cpa_tmpl *t;
	struct frame root;
	size_t mark = out->len;
	int rc;

	if ((t = set_find(tset, ntset, name)) == NULL)
		return CPA_ENOTFOUND;
	root.v = model;
	root.up = NULL;
	if ((rc = render_nodes(t, 0, t->nnodes, &root, 0, out)) != CPA_OK) {
		out->len = mark;
		out->data[mark] = '\0';
	}
	return rc;
}

/* ------------------------------------------------------- words for pages */

const char *const cpa_episode_level_labels[] = {
	"Standard", "Enhanced", "Complex", "Non-CPA", "Personalised care", NULL
};

const char *const cpa_carer_relationships[] = {
	"partner", "parent", "child", "sibling", "other_relative", "friend",
	"neighbour", "other", NULL
};
const char *const cpa_carer_relationship_labels[] = {
	"Partner or spouse", "Parent", "Son or daughter", "Brother or sister",
	"Other relative", "Friend", "Neighbour", "Other", NULL
};

const char *
cpa_label(const char *const *codes, const char *const *labels, const char *code)
{
	size_t i;

	for (i = 0; code != NULL && codes[i] != NULL; i++)
		if (strcmp(codes[i], code) == 0)
			return labels[i];
	return NULL;
}

/* The time of day counts only as two digits, ':' and two digits. */
json_t *
cpa_date_text(const char *s, const char *time_sep)
{
	static const char *const months[] = { "January", "February", "March",
	    "April", "May", "June", "July", "August", "September", "October",
	    "November", "December" };
	char day[11];
	int y, m, d;

	if (s == NULL || strlen(s) < 10)
		return json_null();
	memcpy(day, s, 10);
	day[10] = '\0';
	if (!cpa_date_valid(day, &y, &m, &d))
		return json_null();
	if (time_sep != NULL && (s[10] == 'T' || s[10] == ' ') &&
	    strspn(s + 11, "0123456789") >= 2 && s[13] == ':' &&
	    strspn(s + 14, "0123456789") >= 2)
		return json_sprintf("%d %s %d%s%.5s", d, months[m - 1], y, time_sep,
		    s + 11);
	return json_sprintf("%d %s %d", d, months[m - 1], y);
}

const char *
cpa_person_name(cpa_arena *a, const json_t *person)
{
	const char *g = json_string_value(json_object_get(person, "given_name"));
	const char *f = json_string_value(json_object_get(person, "family_name"));

	return cpa_sprintf(a, "%s %s", g != NULL ? g : "", f != NULL ? f : "");
}
