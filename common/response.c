/*
 * response.c - status, headers, cookies, redirects, errors and rendering.
 * Every response gets the security headers; dynamic responses are never
 * cached.  Whether a handler's model becomes JSON or an HTML page is decided
 * here, once, from the request (see cpa_request.wants_json).
 */
#include <string.h>

#include "cpa.h"

static const struct {
	int status;
	const char *reason;
} reasons[] = {
	{ 200, "OK" }, { 201, "Created" }, { 204, "No Content" },
	{ 303, "See Other" }, { 304, "Not Modified" },
	{ 400, "Bad Request" }, { 401, "Unauthorized" }, { 403, "Forbidden" },
	{ 404, "Not Found" }, { 405, "Method Not Allowed" },
	{ 409, "Conflict" }, { 413, "Content Too Large" },
	{ 414, "URI Too Long" }, { 415, "Unsupported Media Type" },
	{ 422, "Unprocessable Content" }, { 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
	{ 503, "Service Unavailable" },
};

/* Plain-English messages for statuses a handler did not word itself. */
static const struct {
	int status;
	const char *message;
} default_messages[] = {
	{ 400, "The request could not be understood." },
	{ 401, "Sign in to continue" },
	{ 403, "You do not have permission to do that." },
	{ 404, "Page not found" },
	{ 405, "That method is not allowed here." },
	{ 409, "That conflicts with a change someone else made." },
	{ 413, "The request is too large." },
	{ 414, "The address is too long." },
	{ 415, "Send the request as a form or as JSON." },
	{ 422, "There is a problem with what you entered." },
	{ 429, "Too many attempts. Try again later." },
	{ 431, "The request headers are too large." },
	{ 500, "Sorry, there is a problem with the service." },
	{ 503, "Sorry, the service is unavailable. Try again in a few minutes." },
};

static const char csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'";

static const char *
reason_of(int status)
{
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "Unknown";
}

static const char *
message_of(int status)
{
	size_t i;

	for (i = 0; i < sizeof(default_messages) / sizeof(default_messages[0]); i++)
		if (default_messages[i].status == status)
			return default_messages[i].message;
	return status >= 500 ? "Sorry, there is a problem with the service." :
	    "The request could not be completed.";
}

static int
unsafe_header_text(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\r' || *s == '\n' || (unsigned char)*s < 0x20 || *s == 0x7f)
			if (*s != '\t')
				return 1;
	return 0;
}

int
cpa_header(struct cpa_ctx *ctx, const char *name, const char *value)
{
	if (unsafe_header_text(name) || unsafe_header_text(value) ||
	    strchr(name, ':') != NULL || *name == '\0') {
		cpa_log(CPA_LOG_WARN, "header_refused", "refused header %s", name);
		return CPA_EINPUT;
	}
	cpa_buf_printf(&ctx->resp.headers, "%s: %s\r\n", name, value);
	return CPA_OK;
}

const char *
cpa_cookie_name(const struct cpa_config *cfg)
{
	return cfg->cookie_secure ? "__Host-cpa_session" : "cpa_session";
}

void
cpa_cookie(struct cpa_ctx *ctx, const char *value, int max_age)
{
	struct cpa_buf c;

	cpa_buf_init(&c, ctx->arena);
	cpa_buf_printf(&c, "%s=%s; Path=/; HttpOnly; SameSite=Strict",
	    cpa_cookie_name(ctx->cfg), max_age == 0 ? "" : value);
	if (ctx->cfg->cookie_secure)
		cpa_buf_puts(&c, "; Secure");
	if (max_age == 0)
		cpa_buf_puts(&c, "; Max-Age=0");
	else if (max_age > 0)
		cpa_buf_printf(&c, "; Max-Age=%d", max_age);
	cpa_header(ctx, "Set-Cookie", c.data);
}

void
cpa_redirect(struct cpa_ctx *ctx, const char *path)
{
	/* Local paths only: "/x" but not "//host" or "/\host", nor anything
	 * with a backslash or control character a browser would strip or
	 * reinterpret ("/\t/host" becomes "//host"). */
	if (path == NULL || path[0] != '/' || path[1] == '/' ||
	    strpbrk(path, "\\\t\r\n") != NULL)
		path = "/";
	ctx->resp.status = 303;
	if (cpa_header(ctx, "Location", path) != CPA_OK)
		cpa_header(ctx, "Location", "/");
	ctx->resp.content_type = NULL;
	ctx->resp.body.len = 0;
}

static void
write_json(struct cpa_ctx *ctx, int status, json_t *model)
{
	ctx->resp.status = status;
	ctx->resp.content_type = "application/json";
	ctx->resp.body.len = 0;
	cpa_json_write(&ctx->resp.body, model);
	json_decref(model);
}

/* Last resort when even the error template cannot be rendered. */
static void
builtin_error_page(struct cpa_ctx *ctx, int status, const char *message)
{
	struct cpa_buf *b = &ctx->resp.body;

	b->len = 0;
	cpa_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<title>CPA suite</title></head><body><main><h1>");
	cpa_html_escape(b, message, strlen(message));
	cpa_buf_puts(b, "</h1>");
	if (status >= 500) {
		cpa_buf_puts(b, "<p>Quote incident ");
		const char *id = ctx->req.request_id != NULL ? ctx->req.request_id : "unknown";

		cpa_html_escape(b, id, strlen(id));
		cpa_buf_puts(b, " if you contact the service desk.</p>");
	}
	cpa_buf_puts(b, "</main></body></html>\n");
	ctx->resp.content_type = "text/html; charset=utf-8";
	ctx->resp.status = status;
}

/* What the layout of an HTML page shows a signed-in person: who they are,
 * the CSRF token for its forms and, unless the page reports a failure of
 * the service, how many reminders wait unread in their inbox (left out
 * when it cannot be known: the page never fails for it). */
static void
add_layout_model(struct cpa_ctx *ctx, json_t *model, int status)
{
	long long unread;

	if (ctx->session == NULL)
		return;
	json_object_set_new(model, "user", cpa_session_user_json(ctx->session));
	json_object_set_new(model, "csrf_token", json_string(ctx->session->csrf));
	if (status < 500 && (unread = cpa_inbox_unread(ctx)) >= 0)
		json_object_set_new(model, "inbox_unread", json_integer(unread));
}

void
cpa_render(struct cpa_ctx *ctx, int status, const char *tmpl, json_t *model)
{
	if (model == NULL)
		model = json_object();
	if (ctx->req.wants_json || tmpl == NULL) {
		json_object_del(model, "title");
		write_json(ctx, status, model);
		return;
	}
	add_layout_model(ctx, model, status);
	ctx->resp.body.len = 0;
	if (cpa_template_render(tmpl, model, &ctx->resp.body) != CPA_OK) {
		cpa_log(CPA_LOG_ERROR, "template", "cannot render %s", tmpl);
		json_decref(model);
		builtin_error_page(ctx, 500, message_of(500));
		return;
	}
	json_decref(model);
	ctx->resp.status = status;
	ctx->resp.content_type = "text/html; charset=utf-8";
}

void
cpa_error(struct cpa_ctx *ctx, int status, const char *message)
{
	json_t *m;

	if (message == NULL || status >= 500)
		message = message_of(status);
	if (status >= 500)
		cpa_log(CPA_LOG_ERROR, "incident", "status %d incident %s path %s",
		    status, ctx->req.request_id, ctx->req.path);
	m = json_pack("{s:s}", "error", message);
	if (status >= 500)
		json_object_set_new(m, "incident", json_string(ctx->req.request_id));
	if (ctx->req.wants_json) {
		write_json(ctx, status, m);
		return;
	}
	json_object_set_new(m, "title", json_string(message));
	json_object_set_new(m, "status", json_integer(status));
	json_object_set_new(m, "message", json_string(message));
	if (status >= 500)
		json_object_set_new(m, "incident", json_string(ctx->req.request_id));
	add_layout_model(ctx, m, status);
	ctx->resp.body.len = 0;
	if (cpa_template_render("error", m, &ctx->resp.body) != CPA_OK) {
		json_decref(m);
		builtin_error_page(ctx, status, message);
		return;
	}
	json_decref(m);
	ctx->resp.status = status;
	ctx->resp.content_type = "text/html; charset=utf-8";
}

void
cpa_error_rc(struct cpa_ctx *ctx, int rc)
{
	static const struct {
		int rc;
		int status;
	} map[] = {
		{ CPA_EINPUT, 400 }, { CPA_EUNAVAIL, 503 }, { CPA_ENOTFOUND, 404 },
		{ CPA_ECONFLICT, 409 }, { CPA_EDENIED, 403 },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].rc == rc) {
			cpa_error(ctx, map[i].status, NULL);
			return;
		}
	cpa_error(ctx, 500, NULL);
}

void
cpa_render_created(struct cpa_ctx *ctx, const char *location, json_t *model)
{
	if (!ctx->req.wants_json) {
		json_decref(model);
		cpa_redirect(ctx, location);
		return;
	}
	cpa_header(ctx, "Location", location);
	write_json(ctx, 201, model);
}

void
cpa_render_invalid(struct cpa_ctx *ctx, const char *tmpl, json_t *model,
    const struct cpa_input *in)
{
	json_t *errors;
	size_t i;

	if (model == NULL)
		model = json_object();
	if (ctx->req.wants_json) {
		json_decref(model);
		write_json(ctx, 422, json_pack("{s:s,s:o}",
		    "error", in->nerrors > 0 ? in->errors[0].message : message_of(422),
		    "errors", cpa_input_errors_json(in)));
		return;
	}
	errors = json_array();
	for (i = 0; i < in->nerrors; i++) {
		json_array_append_new(errors, json_pack("{s:s,s:s}",
		    "field", in->errors[i].field, "message", in->errors[i].message));
		json_object_set_new(model, cpa_sprintf(ctx->arena, "error_%s",
		    in->errors[i].field), json_string(in->errors[i].message));
	}
	json_object_set_new(model, "errors", errors);
	cpa_render(ctx, 422, tmpl, model);
}

int
cpa_input_read(struct cpa_ctx *ctx, const struct cpa_field *fields, size_t nfields,
    struct cpa_input *in)
{
	int rc = cpa_input_parse(ctx->arena, &ctx->req, fields, nfields, in);

	if (rc != CPA_OK)
		cpa_error(ctx, rc, NULL);
	return rc;
}

int
cpa_query_read(struct cpa_ctx *ctx, const struct cpa_field *fields, size_t nfields,
    struct cpa_input *in)
{
	int rc;

	if ((rc = cpa_input_read(ctx, fields, nfields, in)) != CPA_OK || in->nerrors == 0)
		return rc;
	if (ctx->req.wants_json)
		cpa_render_invalid(ctx, NULL, NULL, in);
	else
		cpa_error(ctx, 422, in->errors[0].message);
	return 422;
}

int
cpa_input_refused(struct cpa_ctx *ctx, const struct cpa_input *in,
    cpa_again_fn again, long long id)
{
	if (in->nerrors == 0)
		return 0;
	if (ctx->req.wants_json)
		cpa_render_invalid(ctx, NULL, NULL, in);
	else
		again(ctx, id, in, 422);
	return 1;
}

json_t *
cpa_body_json(struct cpa_ctx *ctx)
{
	char err[128];
	json_t *doc;

	if ((doc = cpa_json_parse(ctx->req.body, ctx->req.body_len, err,
	    sizeof(err))) == NULL) {
		cpa_error(ctx, 400, NULL);
		return NULL;
	}
	return cpa_json_keep(ctx->arena, doc);
}

void
cpa_render_field_error(struct cpa_ctx *ctx, int status, const char *tmpl,
    json_t *model, const char *field, const char *message)
{
	struct cpa_field_error e;
	struct cpa_input in;

	memset(&in, 0, sizeof(in));
	e.field = field;
	e.message = message;
	in.errors = &e;
	in.nerrors = 1;
	cpa_render_invalid(ctx, tmpl, model, &in);
	ctx->resp.status = status;
}

const struct cpa_problem *
cpa_problem_find(const struct cpa_problem *t, size_t n, const char *code,
    const char *fallback)
{
	size_t i;

	for (i = 0; code != NULL && i < n; i++)
		if (strcmp(t[i].code, code) == 0)
			return &t[i];
	return fallback != NULL ? cpa_problem_find(t, n, fallback, NULL) : NULL;
}

void
cpa_problem_error(struct cpa_ctx *ctx, const struct cpa_problem *p,
    const char *message)
{
	if (message == NULL)
		message = p->message;
	if (ctx->req.wants_json && p->field != NULL)
		cpa_render_field_error(ctx, p->status, NULL, NULL, p->field, message);
	else
		cpa_error(ctx, p->status, message);
}

void
cpa_response_compose(struct cpa_ctx *ctx, struct cpa_buf *out)
{
	struct cpa_response *resp = &ctx->resp;
	int status = resp->status != 0 ? resp->status : 200;

	cpa_buf_printf(out, "Status: %d %s\r\n", status, reason_of(status));
	if (resp->content_type != NULL && status != 204 && status != 304)
		cpa_buf_printf(out, "Content-Type: %s\r\n", resp->content_type);
	cpa_buf_puts(out,
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "X-Frame-Options: DENY\r\n"
	    "Referrer-Policy: same-origin\r\n"
	    "Cross-Origin-Opener-Policy: same-origin\r\n"
	    "Permissions-Policy: camera=(), microphone=(), geolocation=()\r\n");
	cpa_buf_printf(out, "Content-Security-Policy: %s\r\n", csp);
	if (ctx->req.https)
		cpa_buf_puts(out, "Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n");
	if (ctx->req.request_id != NULL)
		cpa_buf_printf(out, "X-Request-Id: %s\r\n", ctx->req.request_id);
	cpa_buf_add(out, resp->headers.data, resp->headers.len);
	if (status == 204 || status == 304 || strcmp(ctx->req.method, "HEAD") == 0) {
		cpa_buf_puts(out, "\r\n");
		return;
	}
	cpa_buf_printf(out, "Content-Length: %zu\r\n\r\n", resp->body.len);
	cpa_buf_add(out, resp->body.data, resp->body.len);
}
