/*
 * router.c - match a method and path against a module's route table.
 * Patterns are "/"-separated segments; "{name}" matches one non-empty
 * segment and becomes a route parameter.
 */
#include <string.h>

#include "cpa.h"

#define MAX_SEGMENTS 16

/* Match path against pattern.  On success fills params (at most
 * MAX_SEGMENTS) and returns 1. */
static int
path_match(cpa_arena *a, const char *pattern, const char *path,
    struct cpa_kv *params, size_t *nparams)
{
	const char *p = pattern, *s = path;
	size_t n = 0;

	while (*p != '\0' && *s != '\0') {
		size_t plen, slen;

		if (*p != '/' || *s != '/')
			return 0;
		p++;
		s++;
		plen = strcspn(p, "/");
		slen = strcspn(s, "/");
		if (plen > 2 && p[0] == '{' && p[plen - 1] == '}') {
			if (slen == 0 || n == MAX_SEGMENTS)
				return 0;
			if (params != NULL) {
				params[n].name = cpa_strndup(a, p + 1, plen - 2);
				params[n].value = cpa_strndup(a, s, slen);
			}
			n++;
		} else if (plen != slen || strncmp(p, s, plen) != 0)
			return 0;
		p += plen;
		s += slen;
	}
	if (*p != '\0' || *s != '\0')
		return 0;
	*nparams = n;
	return 1;
}

static int
method_match(const char *route_method, const char *method)
{
	if (strcmp(route_method, method) == 0)
		return 1;
	return strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0;
}

const struct cpa_route *
cpa_route_match(cpa_arena *a, const struct cpa_route *routes, size_t nroutes,
    struct cpa_request *r, int *status, const char **allow)
{
	struct cpa_buf methods;
	size_t i, n;

	*status = 404;
	*allow = NULL;
	cpa_buf_init(&methods, a);
	for (i = 0; i < nroutes; i++) {
		if (!path_match(a, routes[i].pattern, r->path, NULL, &n))
			continue;
		if (method_match(routes[i].method, r->method)) {
			r->params = cpa_alloc(a, sizeof(*r->params) * MAX_SEGMENTS);
			path_match(a, routes[i].pattern, r->path, r->params, &n);
			r->nparams = n;
			return &routes[i];
		}
		/* The path exists with another method: 405, with Allow. */
		if (strstr(methods.data, routes[i].method) == NULL) {
			if (methods.len > 0)
				cpa_buf_puts(&methods, ", ");
			cpa_buf_puts(&methods, routes[i].method);
			if (strcmp(routes[i].method, "GET") == 0)
				cpa_buf_puts(&methods, ", HEAD");
		}
	}
	if (methods.len > 0) {
		*status = 405;
		*allow = methods.data;
	}
	return NULL;
}
