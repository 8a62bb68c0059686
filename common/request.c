/*
 * request.c - turn the FastCGI parameters nginx sends into a struct
 * cpa_request.  Sizes are bounded here too (not only in nginx), header
 * values with control characters are refused, and the path is taken from
 * nginx's normalised, decoded $document_uri.
 */
#include <string.h>
#include <strings.h>

#include "cpa.h"

const char *
cpa_request_env(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* Header values are visible ASCII, space and tab, or UTF-8 bytes; CR, LF,
 * NUL and other control characters mean someone is trying something. */
static int
header_ok(const char *v)
{
	const unsigned char *p;

	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return 0;
	return 1;
}

static const char *
media_type(cpa_arena *a, const char *ct)
{
	size_t n = strcspn(ct, ";");
	char *m;
	size_t i;

	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	m = cpa_strndup(a, ct, n);
	for (i = 0; i < n; i++)
		if (m[i] >= 'A' && m[i] <= 'Z')
			m[i] = (char)(m[i] - 'A' + 'a');
	return m;
}

/* Find one cookie's value in a Cookie header. */
static const char *
cookie_value(cpa_arena *a, const char *header, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = header;
	int count = 0;

	while (*p != '\0' && count++ < CPA_MAX_COOKIES) {
		size_t len;

		while (*p == ' ' || *p == ';')
			p++;
		len = strcspn(p, ";");
		if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			const char *v = p + nlen + 1;
			size_t vlen = len - nlen - 1;

			while (vlen > 0 && v[vlen - 1] == ' ')
				vlen--;
			return cpa_strndup(a, v, vlen);
		}
		p += len;
	}
	return NULL;
}

/* Does the Accept header rank application/json above text/html?  We only
 * need the common cases: an explicit JSON type without HTML. */
static int
accept_json(const char *accept)
{
	if (accept == NULL)
		return 0;
	if (strstr(accept, "application/json") == NULL)
		return 0;
	return strstr(accept, "text/html") == NULL;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int
cpa_request_parse(cpa_arena *a, char *const *envp, const char *body,
    size_t body_len, const char *cookie_name, struct cpa_request *r)
{
	static const struct {
		const char *env;
		size_t off;
	} headers[] = {
		{ "HTTP_HOST", offsetof(struct cpa_request, host) },
		{ "HTTP_ORIGIN", offsetof(struct cpa_request, origin) },
		{ "HTTP_ACCEPT", offsetof(struct cpa_request, accept) },
		{ "HTTP_USER_AGENT", offsetof(struct cpa_request, user_agent) },
		{ "HTTP_X_CSRF_TOKEN", offsetof(struct cpa_request, csrf_header) },
		{ "HTTP_X_REQUEST_ID", offsetof(struct cpa_request, request_id) },
		{ "HTTP_IDEMPOTENCY_KEY", offsetof(struct cpa_request, idempotency_key) },
	};
	const char *method, *uri, *path, *query, *ct, *cookie, *v;
	char *const *e;
	size_t i, plen;

	memset(r, 0, sizeof(*r));
	for (e = envp; e != NULL && *e != NULL; e++) {
		if (strlen(*e) > CPA_MAX_HEADER)
			return 431;
		if (strncmp(*e, "HTTP_", 5) == 0 && !header_ok(*e))
			return 400;
	}

	method = cpa_request_env(envp, "REQUEST_METHOD");
	if (method == NULL || *method == '\0' || strlen(method) > 16)
		return 400;
	for (v = method; *v != '\0'; v++)
		if (*v < 'A' || *v > 'Z')
			return 400;
	r->method = cpa_strdup(a, method);

	/* nginx's $document_uri is decoded and normalised ("..", "//"). */
	uri = cpa_request_env(envp, "REQUEST_URI");
	path = cpa_request_env(envp, "DOCUMENT_URI");
	if (path == NULL && uri != NULL) {
		size_t n = strcspn(uri, "?");

		path = cpa_url_decode(a, uri, n, 0, NULL);
		if (path == NULL)
			return 400;
	}
	if (path == NULL || path[0] != '/')
		return 400;
	plen = strlen(path);
	if (plen > CPA_MAX_PATH)
		return 414;
	if (!header_ok(path) || !cpa_utf8_valid(path, plen))
		return 400;
	/* "/x.json" is the JSON form of the page "/x". */
	if (plen > 5 && ends_with(path, ".json")) {
		plen -= 5;
		r->wants_json = 1;
	}
	r->path = cpa_strndup(a, path, plen);
	if (strncmp(r->path, "/api/", 5) == 0 || strcmp(r->path, "/healthz") == 0)
		r->wants_json = 1;

	query = cpa_request_env(envp, "QUERY_STRING");
	if (query == NULL && uri != NULL && strchr(uri, '?') != NULL)
		query = strchr(uri, '?') + 1;
	if (query != NULL && strlen(query) > CPA_MAX_PATH)
		return 414;
	r->query = cpa_strdup(a, query != NULL ? query : "");

	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		v = cpa_request_env(envp, headers[i].env);
		if (v != NULL)
			*(const char **)((char *)r + headers[i].off) = cpa_strdup(a, v);
	}
	if (accept_json(r->accept))
		r->wants_json = 1;

	ct = cpa_request_env(envp, "CONTENT_TYPE");
	r->content_type = media_type(a, ct != NULL ? ct : "");

	cookie = cpa_request_env(envp, "HTTP_COOKIE");
	if (cookie != NULL && cookie_name != NULL)
		r->session_cookie = cookie_value(a, cookie, cookie_name);

	v = cpa_request_env(envp, "REMOTE_ADDR");
	r->remote_addr = cpa_strdup(a, v != NULL ? v : "");
	v = cpa_request_env(envp, "HTTPS");
	r->https = v != NULL && (strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0);

	r->body = cpa_strndup(a, body != NULL ? body : "", body != NULL ? body_len : 0);
	r->body_len = body != NULL ? body_len : 0;
	return CPA_OK;
}

const char *
cpa_param(const struct cpa_request *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nparams; i++)
		if (strcmp(r->params[i].name, name) == 0)
			return r->params[i].value;
	return NULL;
}

long long
cpa_param_id(const struct cpa_request *r, const char *name)
{
	long long id;

	if (cpa_parse_ll(cpa_param(r, name), 1, INT64_MAX, &id) != CPA_OK)
		return 0;
	return id;
}
