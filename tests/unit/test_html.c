/*
 * test_html.c - the template engine (html.c): escaping, values, sections,
 * inverted sections, dotted and outer-context lookups, partials and their
 * recursion guard, compile errors with template name and line, loading
 * directories, full renders of the real page templates from the source
 * tree with sample models, and the words pages show for values (labels,
 * dates, names).
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cpa.h"

/* Compile src as template name and put it in the process set. */
static void
add(const char *name, const char *src)
{
	char err[256] = "";
	struct cpa_tmpl *t = cpa_tmpl_compile(name, src, strlen(src), err,
	    sizeof(err));

	if (t == NULL)
		fail_msg("compile %s: %s", name, err);
	cpa_templates_add(t);
}

static json_t *
model(const char *js)
{
	json_error_t e;
	json_t *m = json_loads(js, 0, &e);

	if (m == NULL)
		fail_msg("bad test model: %s", e.text);
	return m;
}

/* Render src against the JSON text js; the result lives in arena a. */
static const char *
render(cpa_arena *a, const char *src, const char *js)
{
	struct cpa_buf out;
	json_t *m = model(js);
	int rc;

	add("t", src);
	cpa_buf_init(&out, a);
	rc = cpa_template_render("t", m, &out);
	json_decref(m);
	assert_int_equal(rc, CPA_OK);
	return out.data;
}

/* The compile error for src, or fail when it compiles. */
static const char *
compile_error(const char *name, const char *src)
{
	static char err[256];
	struct cpa_tmpl *t;

	err[0] = '\0';
	t = cpa_tmpl_compile(name, src, strlen(src), err, sizeof(err));
	if (t != NULL) {
		cpa_tmpl_free(t);
		fail_msg("%s compiled but should not", src);
	}
	assert_true(err[0] != '\0');
	return err;
}

static void
test_escape_every_special(void **state)
{
	cpa_arena *a = cpa_arena_new();
	struct cpa_buf b;
	const char nul[] = "a\0b";

	(void)state;
	cpa_buf_init(&b, a);
	cpa_html_escape(&b, "&<>\"'", 5);
	assert_string_equal(b.data, "&amp;&lt;&gt;&quot;&#39;");

	cpa_buf_init(&b, a);
	cpa_html_escape(&b, "plain text, no change", 21);
	assert_string_equal(b.data, "plain text, no change");

	cpa_buf_init(&b, a);
	cpa_html_escape(&b, nul, 3);
	assert_string_equal(b.data, "a&#xFFFD;b");

	assert_string_equal(render(a, "<p title=\"{{v}}\">{{v}}</p>",
	    "{\"v\": \"x&y <b> \\\"q\\\" 'a'\"}"),
	    "<p title=\"x&amp;y &lt;b&gt; &quot;q&quot; &#39;a&#39;\">"
	    "x&amp;y &lt;b&gt; &quot;q&quot; &#39;a&#39;</p>");
	/* Raw output is the only way to get markup through. */
	assert_string_equal(render(a, "{{&v}}|{{& v }}", "{\"v\": \"<i>\"}"),
	    "<i>|<i>");
	/* UTF-8 passes through untouched. */
	assert_string_equal(render(a, "{{v}}", "{\"v\": \"Ní Bhriain\"}"),
	    "Ní Bhriain");
	cpa_arena_free(a);
}

static void
test_values(void **state)
{
	cpa_arena *a = cpa_arena_new();

	(void)state;
	assert_string_equal(render(a,
	    "[{{i}}][{{n}}][{{r}}][{{h}}][{{t}}][{{f}}][{{z}}][{{o}}][{{l}}][{{missing}}]",
	    "{\"i\": 42, \"n\": -9007199254740993, \"r\": 1.5, \"h\": 0.1,"
	    " \"t\": true, \"f\": false, \"z\": null, \"o\": {\"a\": 1},"
	    " \"l\": [1, 2]}"),
	    "[42][-9007199254740993][1.5][0.1][true][][][][][]");
	assert_string_equal(render(a, "a {{! a comment }}b", "{}"), "a b");
	assert_string_equal(render(a, "no tags at all", "{}"), "no tags at all");
	assert_string_equal(render(a, "", "{}"), "");
	assert_string_equal(render(a, "{{ spaced }}", "{\"spaced\": \"ok\"}"), "ok");
	cpa_arena_free(a);
}

static void
test_sections_arrays(void **state)
{
	cpa_arena *a = cpa_arena_new();

	(void)state;
	assert_string_equal(render(a, "{{#items}}[{{name}}]{{/items}}",
	    "{\"items\": [{\"name\": \"a\"}, {\"name\": \"<b>\"}]}"),
	    "[a][&lt;b&gt;]");
	assert_string_equal(render(a, "x{{#items}}[{{.}}]{{/items}}y",
	    "{\"items\": []}"), "xy");
	assert_string_equal(render(a, "{{#items}}{{.}},{{/items}}",
	    "{\"items\": [1, \"two\", true]}"), "1,two,true,");
	/* Nested arrays: each level pushes its item. */
	assert_string_equal(render(a,
	    "{{#rows}}<{{#cells}}{{.}}{{/cells}}>{{/rows}}",
	    "{\"rows\": [{\"cells\": [1, 2]}, {\"cells\": [3]}]}"),
	    "<12><3>");
	cpa_arena_free(a);
}

static void
test_sections_objects_and_bools(void **state)
{
	cpa_arena *a = cpa_arena_new();

	(void)state;
	assert_string_equal(render(a, "{{#user}}Hi {{name}}{{/user}}",
	    "{\"user\": {\"name\": \"Ann\"}}"), "Hi Ann");
	assert_string_equal(render(a, "{{#user}}Hi{{/user}}", "{\"user\": {}}"),
	    "Hi");
	assert_string_equal(render(a, "{{#t}}T{{/t}}{{#f}}F{{/f}}{{#z}}Z{{/z}}"
	    "{{#e}}E{{/e}}{{#s}}S{{/s}}{{#n}}N{{/n}}{{#m}}M{{/m}}",
	    "{\"t\": true, \"f\": false, \"z\": null, \"e\": \"\","
	    " \"s\": \"x\", \"n\": 0}"),
	    "TSN");
	/* A truthy scalar is pushed, so {{.}} shows it. */
	assert_string_equal(render(a, "{{#s}}<{{.}}>{{/s}}", "{\"s\": \"v\"}"),
	    "<v>");
	cpa_arena_free(a);
}

static void
test_inverted(void **state)
{
	cpa_arena *a = cpa_arena_new();

	(void)state;
	assert_string_equal(render(a,
	    "{{^f}}f{{/f}}{{^z}}z{{/z}}{{^e}}e{{/e}}{{^l}}l{{/l}}{{^m}}m{{/m}}"
	    "{{^t}}T{{/t}}{{^s}}S{{/s}}{{^a}}A{{/a}}{{^o}}O{{/o}}",
	    "{\"f\": false, \"z\": null, \"e\": \"\", \"l\": [], \"t\": true,"
	    " \"s\": \"x\", \"a\": [1], \"o\": {}}"),
	    "fzelm");
	/* The inverted body sees the same context, nothing pushed. */
	assert_string_equal(render(a, "{{^none}}{{name}}{{/none}}",
	    "{\"name\": \"n\"}"), "n");
	cpa_arena_free(a);
}

static void
test_dotted(void **state)
{
	cpa_arena *a = cpa_arena_new();

	(void)state;
	assert_string_equal(render(a, "{{a.b.c}}|{{a.x}}|{{a.b.c.d}}|{{q.r}}",
	    "{\"a\": {\"b\": {\"c\": \"deep\"}}}"), "deep|||");
	assert_string_equal(render(a, "{{#a.b}}[{{c}}]{{/a.b}}",
	    "{\"a\": {\"b\": {\"c\": 1}}}"), "[1]");
	/* Numeric segments index arrays; out of range is missing. */
	assert_string_equal(render(a,
	    "{{l.0}}{{l.2.v}}{{l.9}}{{#l.0}}<{{.}}>{{/l.0}}{{#e.0}}E{{/e.0}}"
	    "{{^e.0}}empty{{/e.0}}",
	    "{\"l\": [\"a\", 1, {\"v\": \"c\"}], \"e\": []}"),
	    "ac<a>empty");
	/* Only the first segment looks outwards. */
	assert_string_equal(render(a, "{{#in}}[{{a.b}}]{{/in}}",
	    "{\"a\": {\"b\": \"outer\"}, \"in\": {\"a\": {\"x\": 1}}}"), "[]");
	cpa_arena_free(a);
}

static void
test_outer_context(void **state)
{
	cpa_arena *a = cpa_arena_new();

	(void)state;
	assert_string_equal(render(a,
	    "{{#people}}{{name}}@{{site}}/{{csrf}};{{/people}}",
	    "{\"site\": \"North\", \"csrf\": \"tok\","
	    " \"people\": [{\"name\": \"a\"}, {\"name\": \"b\", \"site\": \"South\"}]}"),
	    "a@North/tok;b@South/tok;");
	/* A key present with null in an inner context hides the outer one. */
	assert_string_equal(render(a, "{{#in}}[{{v}}]{{/in}}",
	    "{\"v\": \"outer\", \"in\": {\"v\": null}}"), "[]");
	assert_string_equal(render(a, "{{#o}}{{#i}}{{a}}{{b}}{{c}}{{/i}}{{/o}}",
	    "{\"a\": 1, \"o\": {\"b\": 2, \"i\": {\"c\": 3}}}"), "123");
	cpa_arena_free(a);
}

static void
test_standalone_lines(void **state)
{
	cpa_arena *a = cpa_arena_new();

	(void)state;
	assert_string_equal(render(a,
	    "<ul>\n  {{#l}}\n  <li>{{.}}</li>\n  {{/l}}\n  {{! note }}\n</ul>\n",
	    "{\"l\": [1, 2]}"),
	    "<ul>\n  <li>1</li>\n  <li>2</li>\n</ul>\n");
	/* Variables never take their line with them; inline tags keep it. */
	assert_string_equal(render(a, "  {{v}}\nx {{#t}}y{{/t}}\n",
	    "{\"v\": 1, \"t\": true}"), "  1\nx y\n");
	/* CRLF line ends and a tag on the last line without a newline. */
	assert_string_equal(render(a, "a\r\n{{#t}}\r\nb\r\n{{/t}}",
	    "{\"t\": true}"), "a\r\nb\r\n");
	cpa_arena_free(a);
}

static void
test_partials(void **state)
{
	cpa_arena *a = cpa_arena_new();
	struct cpa_buf out;
	json_t *m;

	(void)state;
	add("item", "<li>{{name}}</li>");
	assert_string_equal(render(a, "<ul>{{#l}}{{> item}}{{/l}}</ul>",
	    "{\"l\": [{\"name\": \"a\"}, {\"name\": \"&\"}]}"),
	    "<ul><li>a</li><li>&amp;</li></ul>");

	/* Recursion over a tree of depth < 16 is fine.  Leaves need their
	 * own empty "kids": a missing name is looked up outwards. */
	add("node", "({{v}}{{#kids}}{{> node}}{{/kids}})");
	assert_string_equal(render(a, "{{> node}}",
	    "{\"v\": 1, \"kids\": [{\"v\": 2, \"kids\": [{\"v\": 3,"
	    " \"kids\": []}]}, {\"v\": 4, \"kids\": null}]}"), "(1(2(3))(4))");

	/* A partial missing from the set fails the render. */
	add("t", "x{{> nosuch}}");
	m = model("{}");
	cpa_buf_init(&out, a);
	cpa_buf_puts(&out, "keep");
	assert_int_equal(cpa_template_render("t", m, &out), CPA_ERR);
	assert_string_equal(out.data, "keep");
	json_decref(m);
	cpa_arena_free(a);
}

static void
test_recursion_guard(void **state)
{
	cpa_arena *a = cpa_arena_new();
	struct cpa_buf out;
	json_t *m = model("{}");
	size_t i, depth = 0;

	(void)state;
	add("loop", "x{{> loop}}");
	cpa_buf_init(&out, a);
	cpa_buf_puts(&out, "before|");
	assert_int_equal(cpa_template_render("loop", m, &out), CPA_ERR);
	/* Nothing half-rendered is left behind. */
	assert_string_equal(out.data, "before|");

	/* Mutual recursion is caught the same way. */
	add("ping", "{{> pong}}");
	add("pong", "{{> ping}}");
	assert_int_equal(cpa_template_render("ping", m, &out), CPA_ERR);
	assert_string_equal(out.data, "before|");

	/* Partials 16 deep render; one more does not. */
	add("d16", "{{#kids}}{{> d16}}{{/kids}}.");
	json_decref(m);
	m = json_pack("{s:[]}", "kids");
	for (i = 0; i < 16; i++)
		m = json_pack("{s:[o]}", "kids", m);
	cpa_buf_init(&out, a);
	assert_int_equal(cpa_template_render("d16", m, &out), CPA_OK);
	for (i = 0; i < out.len; i++)
		depth += out.data[i] == '.';
	assert_int_equal(depth, 17);
	add("d17", "{{> d16}}");
	cpa_buf_init(&out, a);
	assert_int_equal(cpa_template_render("d17", m, &out), CPA_ERR);
	assert_int_equal(out.len, 0);
	json_decref(m);
	cpa_arena_free(a);
}

static void
test_compile_errors(void **state)
{
	const char *e;

	(void)state;
	e = compile_error("page", "a\n{{#open}}\nb\n");
	assert_non_null(strstr(e, "\"page\""));
	assert_non_null(strstr(e, "line 2"));
	assert_non_null(strstr(e, "unclosed section \"open\""));

	e = compile_error("page", "line 1\n{{#a}}\n{{#b}}\n\n{{/a}}\n{{/b}}");
	assert_non_null(strstr(e, "line 5"));
	assert_non_null(strstr(e, "\"a\" closes section \"b\""));

	e = compile_error("other", "ok\nok {{name\nmore");
	assert_non_null(strstr(e, "\"other\""));
	assert_non_null(strstr(e, "line 2"));
	assert_non_null(strstr(e, "unterminated tag"));

	e = compile_error("page", "{{/stray}}");
	assert_non_null(strstr(e, "line 1"));
	assert_non_null(strstr(e, "\"stray\" closes no section"));

	/* Triple mustaches, delimiter changes and junk names are refused. */
	assert_non_null(strstr(compile_error("p", "{{{raw}}}"), "bad tag"));
	assert_non_null(strstr(compile_error("p", "{{=<% %>=}}"), "bad tag"));
	assert_non_null(strstr(compile_error("p", "{{a b}}"), "bad tag"));
	assert_non_null(strstr(compile_error("p", "{{a..b}}"), "bad tag"));
	assert_non_null(strstr(compile_error("p", "{{}}"), "bad tag"));
	assert_non_null(strstr(compile_error("p", "{{#}}{{/}}"), "bad tag"));
	assert_non_null(strstr(compile_error("p", "{{> }}"), "bad tag"));

	e = compile_error("deep", "{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}"
	    "{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}"
	    "{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}"
	    "{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}");
	assert_non_null(strstr(e, "nested deeper"));

	/* A NULL err buffer is allowed. */
	assert_null(cpa_tmpl_compile("p", "{{#x}}", 6, NULL, 0));
}

static void
test_not_found(void **state)
{
	cpa_arena *a = cpa_arena_new();
	struct cpa_buf out;
	json_t *m = model("{}");

	(void)state;
	cpa_buf_init(&out, a);
	assert_int_equal(cpa_template_render("no-such-page", m, &out),
	    CPA_ENOTFOUND);
	assert_int_equal(out.len, 0);
	json_decref(m);
	cpa_arena_free(a);
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
remove_tree(const char *dir, const char *const *names)
{
	char path[512];

	for (; *names != NULL; names++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *names);
		unlink(path);
	}
	rmdir(dir);
}

static void
test_load_dirs(void **state)
{
	char d1[] = "/tmp/cpa-test-html-XXXXXX", d2[] = "/tmp/cpa-test-html-XXXXXX";
	static const char *const f1[] = { "page.html", "shared.html",
	    "notes.txt", "broken.html", NULL };
	static const char *const f2[] = { "shared.html", NULL };
	const char *dirs[2];
	char err[256];
	cpa_arena *a = cpa_arena_new();
	struct cpa_buf out;
	json_t *m = model("{\"v\": \"<v>\"}");

	(void)state;
	assert_non_null(mkdtemp(d1));
	assert_non_null(mkdtemp(d2));
	dirs[0] = d1;
	dirs[1] = d2;
	write_file(d1, "page.html", "[{{> shared}}]");
	write_file(d1, "shared.html", "first {{v}}");
	write_file(d1, "notes.txt", "{{#not a template");
	write_file(d2, "shared.html", "second {{v}}");

	/* Later directories win; non-.html files are ignored. */
	assert_int_equal(cpa_templates_load(dirs, 2, err, sizeof(err)), CPA_OK);
	cpa_buf_init(&out, a);
	assert_int_equal(cpa_template_render("page", m, &out), CPA_OK);
	assert_string_equal(out.data, "[second &lt;v&gt;]");
	/* Loading replaced the whole set: earlier test templates are gone. */
	assert_int_equal(cpa_template_render("item", m, &out), CPA_ENOTFOUND);

	/* A broken file fails the load, names the file and line, and keeps
	 * the set that was loaded before. */
	write_file(d1, "broken.html", "one\ntwo {{#open}}\n");
	assert_int_equal(cpa_templates_load(dirs, 2, err, sizeof(err)), CPA_ERR);
	assert_non_null(strstr(err, "\"broken\""));
	assert_non_null(strstr(err, "line 2"));
	cpa_buf_init(&out, a);
	assert_int_equal(cpa_template_render("page", m, &out), CPA_OK);
	assert_string_equal(out.data, "[second &lt;v&gt;]");

	/* A partial that names no template is found at load time. */
	write_file(d1, "broken.html", "a\nb\n{{> missing}}");
	assert_int_equal(cpa_templates_load(dirs, 2, err, sizeof(err)), CPA_ERR);
	assert_non_null(strstr(err, "\"missing\""));
	assert_non_null(strstr(err, "line 3"));

	/* A directory that does not exist is an error, not an empty set. */
	dirs[1] = "/nonexistent/cpa-templates";
	assert_int_equal(cpa_templates_load(dirs, 2, err, sizeof(err)), CPA_ERR);
	assert_non_null(strstr(err, "/nonexistent/cpa-templates"));

	remove_tree(d1, f1);
	remove_tree(d2, f2);
	json_decref(m);
	cpa_arena_free(a);
}

/* ------------------------------------------------ the real page templates */

static void
load_real(void)
{
	const char *dirs[] = {
		CPA_DEFAULT_TEMPLATE_DIR "/common/templates",
		CPA_DEFAULT_TEMPLATE_DIR "/modules/auth/templates",
	};
	char err[256] = "";

	if (cpa_templates_load(dirs, 2, err, sizeof(err)) != CPA_OK)
		fail_msg("loading the real templates: %s", err);
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* Every element that must be closed is closed as often as it is opened. */
static void
assert_balanced(const char *page, const char *html)
{
	static const char *const tags[] = { "html", "head", "body", "header",
	    "main", "footer", "nav", "div", "form", "ul", "li", "table",
	    "caption", "thead", "tbody", "tr", "th", "td", "dl", "dt", "dd",
	    "select", "optgroup", "option", "fieldset", "legend", "label", "a",
	    "button", "span", "strong", "h1", "h2", "h3", "p", "svg", "title",
	    "script", NULL };
	const char *const *t;
	char open1[32], open2[32], close[32];
	size_t opens, closes;

	for (t = tags; *t != NULL; t++) {
		snprintf(open1, sizeof(open1), "<%s ", *t);
		snprintf(open2, sizeof(open2), "<%s>", *t);
		snprintf(close, sizeof(close), "</%s>", *t);
		opens = count(html, open1) + count(html, open2);
		closes = count(html, close);
		if (opens != closes)
			fail_msg("%s: <%s> opened %zu times, closed %zu times",
			    page, *t, opens, closes);
	}
	assert_int_equal(count(html, "<h1"), 1);
	assert_int_equal(count(html, "<main "), 1);
	assert_non_null(strstr(html, "<html lang=\"en\">"));
	assert_non_null(strstr(html, "id=\"maincontent\""));
	assert_null(strstr(html, "{{"));
	/* No inline script, style or event handler (the CSP forbids them). */
	assert_null(strstr(html, "<script>"));
	assert_null(strstr(html, "style="));
	assert_null(strstr(html, "<style"));
	assert_null(strstr(html, " onclick="));
	assert_null(strstr(html, " onload="));
}

static const char *
render_page(cpa_arena *a, const char *name, json_t *m)
{
	struct cpa_buf out;
	int rc;

	cpa_buf_init(&out, a);
	rc = cpa_template_render(name, m, &out);
	json_decref(m);
	if (rc != CPA_OK)
		fail_msg("rendering %s: %d", name, rc);
	assert_balanced(name, out.data);
	return out.data;
}

#define EVIL "<script>alert(1)</script>"
#define EVIL_ESCAPED "&lt;script&gt;alert(1)&lt;/script&gt;"

static json_t *
user_json(void)
{
	return json_pack("{s:I, s:s, s:s, s:[{s:I, s:s, s:I, s:s, s:s, s:I,"
	    " s:s, s:n, s:n}, {s:I, s:s, s:I, s:s, s:s, s:I, s:s, s:I, s:s}],"
	    " s:[{s:I, s:s, s:s}]}",
	    "id", (json_int_t)3, "username", "coord.north",
	    "display_name", EVIL,
	    "roles",
	    "id", (json_int_t)10, "role", "coordinator", "site_id", (json_int_t)1,
	    "site_code", "north", "site_name", "North site",
	    "district_id", (json_int_t)4, "district_name", "Riverside",
	    "team_id", "team_name",
	    "id", (json_int_t)11, "role", "practitioner", "site_id", (json_int_t)1,
	    "site_code", "north", "site_name", "North site",
	    "district_id", (json_int_t)4, "district_name", "Riverside",
	    "team_id", (json_int_t)7, "team_name", "Early intervention",
	    "sites", "id", (json_int_t)1, "code", "north", "name", "North site");
}

static void
test_page_signin(void **state)
{
	cpa_arena *a = cpa_arena_new();
	const char *h;

	(void)state;
	load_real();
	h = render_page(a, "signin", json_pack("{s:s, s:{s:s}}", "title",
	    "Sign in", "form", "username", "\"><b>x"));
	assert_non_null(strstr(h, "<title>Sign in - CPA suite</title>"));
	assert_non_null(strstr(h, "action=\"/signin\""));
	assert_non_null(strstr(h, "value=\"&quot;&gt;&lt;b&gt;x\""));
	assert_non_null(strstr(h, "autocomplete=\"username\""));
	assert_non_null(strstr(h, "autocomplete=\"current-password\""));
	assert_non_null(strstr(h, "<label class=\"nhsuk-label\" for=\"username\">"));
	assert_non_null(strstr(h, "<label class=\"nhsuk-label\" for=\"password\">"));
	/* Not signed in: no error summary, no account menu, no token. */
	assert_null(strstr(h, "nhsuk-error-summary\""));
	assert_null(strstr(h, "nhsuk-form-group--error"));
	assert_null(strstr(h, "/signout"));
	assert_null(strstr(h, "csrf_token"));
	assert_non_null(strstr(h, "/assets/nhsuk/nhsuk/nhsuk-frontend.min.css"));
	assert_non_null(strstr(h,
	    "<script type=\"module\" src=\"/assets/app/app.js\"></script>"));

	h = render_page(a, "signin", json_pack("{s:s, s:{s:s}, s:[{s:s, s:s}],"
	    " s:s}", "title", "Sign in", "form", "username", "coord.north",
	    "errors", "field", "password", "message", "Enter your <password>",
	    "error_password", "Enter your <password>"));
	assert_non_null(strstr(h, "class=\"nhsuk-error-summary\""));
	assert_non_null(strstr(h, "role=\"alert\""));
	assert_non_null(strstr(h, "tabindex=\"-1\""));
	assert_non_null(strstr(h,
	    "<a href=\"#password\">Enter your &lt;password&gt;</a>"));
	assert_int_equal(count(h, "nhsuk-form-group--error"), 1);
	assert_non_null(strstr(h, "<span class=\"nhsuk-error-message\" "
	    "id=\"password-error\"><span class=\"nhsuk-u-visually-hidden\">"
	    "Error: </span>Enter your &lt;password&gt;</span>"));
	assert_non_null(strstr(h, "aria-describedby=\"password-error\""));
	assert_null(strstr(h, "username-error"));
	assert_non_null(strstr(h, "<title>Sign in - CPA suite</title>"));
	cpa_arena_free(a);
}

static void
test_page_home(void **state)
{
	cpa_arena *a = cpa_arena_new();
	json_t *m;
	const char *h;

	(void)state;
	load_real();
	m = json_pack("{s:s, s:o, s:s, s:b, s:[{s:I, s:s, s:s, s:[{s:I, s:s,"
	    " s:b, s:b, s:[{s:I, s:s}]}, {s:I, s:s, s:b, s:b, s:[]}]}]}",
	    "title", "Home", "user", user_json(), "csrf_token", "tok&en",
	    "is_admin", 0,
	    "sites", "id", (json_int_t)1, "code", "north", "name", "North <site>",
	    "districts",
	    "id", (json_int_t)4, "name", "Riverside", "integrated", 1,
	    "inclusive", 0, "teams", "id", (json_int_t)7, "name", "Early intervention",
	    "id", (json_int_t)5, "name", "Hillside", "integrated", 0,
	    "inclusive", 1, "teams");
	h = render_page(a, "home", m);
	/* The display name is escaped everywhere it appears. */
	assert_null(strstr(h, "<script>alert"));
	assert_int_equal(count(h, EVIL_ESCAPED), 2);
	assert_non_null(strstr(h, "Signed in as"));
	assert_non_null(strstr(h, "North &lt;site&gt;"));
	/* Header sign-out form carries the (escaped) CSRF token. */
	assert_non_null(strstr(h, "action=\"/signout\""));
	assert_non_null(strstr(h, "action=\"/signout-everywhere\""));
	assert_int_equal(count(h,
	    "<input type=\"hidden\" name=\"csrf_token\" value=\"tok&amp;en\">"), 2);
	assert_non_null(strstr(h, "District: Riverside"));
	assert_non_null(strstr(h, "District: Riverside, Team: Early intervention"));
	assert_int_equal(count(h, "Integrated health and social care"), 1);
	assert_int_equal(count(h, "Targeted eligibility"), 1);
	assert_int_equal(count(h, "Inclusive eligibility"), 1);
	assert_non_null(strstr(h, "No teams"));
	assert_non_null(strstr(h, "href=\"/account/password\""));
	assert_null(strstr(h, "href=\"/admin/staff\""));

	m = json_pack("{s:s, s:o, s:s, s:b, s:[]}", "title", "Home", "user",
	    user_json(), "csrf_token", "t", "is_admin", 1, "sites");
	h = render_page(a, "home", m);
	assert_non_null(strstr(h, "href=\"/admin/staff\""));
	assert_non_null(strstr(h, "You cannot see any site yet."));
	cpa_arena_free(a);
}

static void
test_page_password(void **state)
{
	cpa_arena *a = cpa_arena_new();
	const char *h;

	(void)state;
	load_real();
	h = render_page(a, "password", json_pack("{s:s, s:o, s:s, s:[{s:s, s:s}],"
	    " s:s}", "title", "Change your password", "user", user_json(),
	    "csrf_token", "tok", "errors", "field", "current_password", "message",
	    "Your current password is wrong", "error_current_password",
	    "Your current password is wrong"));
	assert_non_null(strstr(h, "action=\"/account/password\""));
	assert_non_null(strstr(h, "autocomplete=\"current-password\""));
	assert_non_null(strstr(h, "autocomplete=\"new-password\""));
	assert_non_null(strstr(h, "At least 12 characters, up to 128"));
	assert_non_null(strstr(h, "href=\"#current_password\""));
	assert_non_null(strstr(h, "aria-describedby=\"current_password-error\""));
	assert_non_null(strstr(h, "aria-describedby=\"new_password-hint\""));
	assert_int_equal(count(h, "name=\"csrf_token\" value=\"tok\""), 2);
	assert_null(strstr(h, "Password changed"));

	h = render_page(a, "password", json_pack("{s:s, s:o, s:s, s:b}",
	    "title", "Password changed", "user", user_json(), "csrf_token", "tok",
	    "done", 1));
	assert_non_null(strstr(h, "Password changed"));
	assert_null(strstr(h, "action=\"/account/password\""));
	cpa_arena_free(a);
}

static void
test_page_staff(void **state)
{
	cpa_arena *a = cpa_arena_new();
	const char *h;
	json_t *staff;

	(void)state;
	load_real();
	staff = json_pack("{s:I, s:s, s:s, s:s, s:s, s:b, s:s, s:[{s:I, s:s, s:s,"
	    " s:n, s:n}, {s:I, s:s, s:s, s:s, s:s}]}",
	    "id", (json_int_t)12, "username", "prac.north", "display_name", EVIL,
	    "professional_role", "Nurse & therapist", "email", "p@example.nhs.uk",
	    "active", 0, "home_site_name", "North site", "roles",
	    "id", (json_int_t)30, "role", "practitioner", "site_name", "North site",
	    "district_name", "team_name",
	    "id", (json_int_t)31, "role", "coordinator", "site_name", "North site",
	    "district_name", "Riverside", "team_name", "Crisis");

	h = render_page(a, "staff_list", json_pack("{s:s, s:o, s:s, s:[O]}",
	    "title", "Staff", "user", user_json(), "csrf_token", "tok", "staff",
	    staff));
	assert_non_null(strstr(h, "<a href=\"/admin/staff/12\">" EVIL_ESCAPED "</a>"));
	assert_non_null(strstr(h, "href=\"/admin/staff/new\""));
	assert_non_null(strstr(h, "Add a staff member"));
	assert_non_null(strstr(h, "Nurse &amp; therapist"));
	assert_non_null(strstr(h, "coordinator, North site, Riverside, Crisis"));
	assert_non_null(strstr(h, "Deactivated"));
	assert_null(strstr(h, "<script>alert"));

	h = render_page(a, "staff_list", json_pack("{s:s, s:o, s:s, s:[]}",
	    "title", "Staff", "user", user_json(), "csrf_token", "tok", "staff"));
	assert_null(strstr(h, "<table"));
	assert_non_null(strstr(h, "No staff work at your sites yet."));

	h = render_page(a, "staff_detail", json_pack("{s:s, s:o, s:s, s:O,"
	    " s:[{s:s, s:s}, {s:s, s:s}], s:[{s:I, s:s, s:[{s:I, s:s,"
	    " s:[{s:I, s:s}]}]}, {s:I, s:s, s:[]}], s:[{s:s, s:s}], s:s}",
	    "title", "Staff member", "user", user_json(), "csrf_token", "tok",
	    "staff", staff, "role_choices", "value", "coordinator", "label",
	    "Care coordinator", "value", "auditor", "label", "Auditor", "sites",
	    "id", (json_int_t)1, "name", "North site", "districts", "id",
	    (json_int_t)4, "name", "Riverside", "teams", "id", (json_int_t)7,
	    "name", "Crisis <team>", "id", (json_int_t)2, "name", "South site",
	    "districts", "errors", "field", "team_id", "message",
	    "Choose a team in that site", "error_team_id",
	    "Choose a team in that site"));
	assert_null(strstr(h, "<script>alert"));
	assert_non_null(strstr(h, "action=\"/admin/staff/12/roles/30/delete\""));
	assert_non_null(strstr(h, "action=\"/admin/staff/12/roles/31/delete\""));
	assert_non_null(strstr(h, "action=\"/admin/staff/12/roles\""));
	assert_int_equal(count(h, "name=\"csrf_token\" value=\"tok\""), 4);
	assert_non_null(strstr(h, "<option value=\"coordinator\">Care coordinator</option>"));
	assert_non_null(strstr(h, "<optgroup label=\"North site\">"));
	assert_int_equal(count(h, "<optgroup label=\"South site\">"), 2);
	assert_non_null(strstr(h, "<option value=\"7\">Crisis &lt;team&gt;</option>"));
	assert_non_null(strstr(h, "<option value=\"4\">Riverside</option>"));
	assert_non_null(strstr(h, "href=\"#team_id\""));
	assert_non_null(strstr(h, "aria-describedby=\"team_id-hint team_id-error\""));
	assert_non_null(strstr(h, "nhsuk-summary-list"));

	h = render_page(a, "staff_new", json_pack("{s:s, s:o, s:s, s:{s:s, s:s,"
	    " s:s, s:s}, s:[{s:I, s:s, s:b}, {s:I, s:s, s:b}], s:[{s:s, s:s}],"
	    " s:s}", "title", "Add a staff member", "user", user_json(),
	    "csrf_token", "tok", "form", "username", "new.person",
	    "display_name", EVIL, "professional_role", "Nurse", "email",
	    "not-an-email", "sites", "id", (json_int_t)1, "name", "North site",
	    "selected", 0, "id", (json_int_t)2, "name", "South site", "selected", 1,
	    "errors", "field", "email", "message", "Enter a valid email address",
	    "error_email", "Enter a valid email address"));
	assert_null(strstr(h, "<script>alert"));
	assert_non_null(strstr(h, "value=\"" EVIL_ESCAPED "\""));
	assert_non_null(strstr(h, "value=\"new.person\""));
	assert_non_null(strstr(h, "<option value=\"2\" selected>South site</option>"));
	assert_non_null(strstr(h, "<option value=\"1\">North site</option>"));
	assert_non_null(strstr(h, "name=\"password\" type=\"password\""));
	assert_non_null(strstr(h, "<label class=\"nhsuk-label\" for=\"site_id\">Employing site</label>"));
	assert_int_equal(count(h, "nhsuk-form-group--error"), 1);
	assert_non_null(strstr(h, "nhsuk-input--error\" id=\"email\""));
	json_decref(staff);
	cpa_arena_free(a);
}

static void
test_page_error(void **state)
{
	cpa_arena *a = cpa_arena_new();
	const char *h;

	(void)state;
	load_real();
	h = render_page(a, "error", json_pack("{s:i, s:s, s:s}", "status", 500,
	    "message", "Something went wrong", "incident", "a1<b2"));
	assert_non_null(strstr(h, "<title>Something went wrong - CPA suite</title>"));
	assert_non_null(strstr(h, "Quote incident a1&lt;b2 if you contact the service desk"));
	assert_non_null(strstr(h, "Error 500"));

	h = render_page(a, "error", json_pack("{s:i, s:s, s:o, s:s}", "status",
	    404, "message", "Page not found", "user", user_json(), "csrf_token",
	    "tok"));
	assert_null(strstr(h, "Quote incident"));
	assert_non_null(strstr(h, "Page not found"));
	assert_non_null(strstr(h, "action=\"/signout\""));
	cpa_arena_free(a);
}

/* ------------------------------------------------------- words for pages */

static const char *const level_codes[] = { "none", "low", "high", NULL };
static const char *const level_labels[] = { "None", "Low", "High", NULL };

static void
test_label(void **state)
{
	(void)state;
	assert_string_equal(cpa_label(level_codes, level_labels, "none"), "None");
	assert_string_equal(cpa_label(level_codes, level_labels, "high"), "High");
	assert_null(cpa_label(level_codes, level_labels, "medium"));
	assert_null(cpa_label(level_codes, level_labels, "High"));
	assert_null(cpa_label(level_codes, level_labels, ""));
	assert_null(cpa_label(level_codes, level_labels, NULL));
}

/* s in words with time_sep, as a C string ("(null)" for JSON null). */
static void
check_date(const char *s, const char *time_sep, const char *want)
{
	json_t *v = cpa_date_text(s, time_sep);

	if (want == NULL) {
		if (!json_is_null(v))
			fail_msg("\"%s\": got \"%s\", want null", s, json_string_value(v));
	} else if (!json_is_string(v) || strcmp(json_string_value(v), want) != 0)
		fail_msg("\"%s\": got \"%s\", want \"%s\"", s,
		    json_is_string(v) ? json_string_value(v) : "(null)", want);
	json_decref(v);
}

static void
test_date_text(void **state)
{
	(void)state;
	check_date("2025-03-27", ", ", "27 March 2025");
	check_date("2025-01-01", NULL, "1 January 2025");
	check_date("2024-12-31", " ", "31 December 2024");
	check_date("2025-03-27T14:05:09.123+00:00", ", ", "27 March 2025, 14:05");
	check_date("2025-03-27T14:05:09.123+00:00", " ", "27 March 2025 14:05");
	check_date("2025-03-27 09:30", " at ", "27 March 2025 at 09:30");
	check_date("2025-03-27T14:05:09", NULL, "27 March 2025");
	/* A time of day must look like one; the date is still words. */
	check_date("2025-03-27T1:05", ", ", "27 March 2025");
	check_date("2025-03-27T14", ", ", "27 March 2025");
	/* Not a date: null. */
	check_date("2025-02-29", ", ", NULL);
	check_date("2025-3-27", ", ", NULL);
	check_date("27/03/2025", ", ", NULL);
	check_date("", ", ", NULL);
	check_date(NULL, ", ", NULL);
}

static void
test_person_name(void **state)
{
	cpa_arena *a = cpa_arena_new();
	json_t *p = json_pack("{s:s,s:s}", "given_name", "Ann", "family_name", "Lee");

	(void)state;
	assert_string_equal(cpa_person_name(a, p), "Ann Lee");
	json_object_del(p, "family_name");
	assert_string_equal(cpa_person_name(a, p), "Ann ");
	json_object_set_new(p, "given_name", json_null());
	assert_string_equal(cpa_person_name(a, p), " ");
	assert_string_equal(cpa_person_name(a, NULL), " ");
	json_decref(p);
	cpa_arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_every_special),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_sections_arrays),
		cmocka_unit_test(test_sections_objects_and_bools),
		cmocka_unit_test(test_inverted),
		cmocka_unit_test(test_dotted),
		cmocka_unit_test(test_outer_context),
		cmocka_unit_test(test_standalone_lines),
		cmocka_unit_test(test_partials),
		cmocka_unit_test(test_recursion_guard),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_load_dirs),
		cmocka_unit_test(test_page_signin),
		cmocka_unit_test(test_page_home),
		cmocka_unit_test(test_page_password),
		cmocka_unit_test(test_page_staff),
		cmocka_unit_test(test_page_error),
		cmocka_unit_test(test_label),
		cmocka_unit_test(test_date_text),
		cmocka_unit_test(test_person_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
