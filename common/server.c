/*
 * server.c - the worker program: options, the prefork master and the
 * FastCGI request loop, and the pipeline every request goes through.
 *
 * Master: opens the listening socket, forks --workers children, respawns a
 * child that dies, on SIGHUP re-reads the config and templates and replaces
 * the children gracefully, on SIGTERM/SIGINT lets children finish the
 * request in hand and exits.  Children accept FastCGI requests one at a
 * time; each request gets an arena that is freed when it is answered.
 *
 * Pipeline (cpa_dispatch): route -> session (one Redis round trip) ->
 * signed in? -> role -> Origin and CSRF for state changes -> handler ->
 * roll back anything left open.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <fcgiapp.h>
#include <hiredis/hiredis.h>

#include "cpa.h"

#define MAX_WORKERS 256
#define DRAIN_SECONDS 30

static volatile sig_atomic_t got_term, got_hup, got_chld;
static char program[64];			/* "cpa-auth" */

struct master {
	const struct cpa_module *module;
	struct cpa_config cfg;
	const char *config_path;
	const char *listen_arg;
	int workers_arg;
	int fd;
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pid_t children[MAX_WORKERS];
	int nchildren;
};

/* ------------------------------------------------------------ pipeline */

static int
is_state_change(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	    strcmp(method, "OPTIONS") != 0;
}

/* The Origin a browser on our own pages sends. */
static int
origin_allowed(const struct cpa_ctx *ctx)
{
	const char *origin = ctx->req.origin;
	char *own;

	if (origin == NULL)
		return 1;	/* not a browser cross-site request; the token decides */
	if (ctx->cfg->origin != NULL && ctx->cfg->origin[0] != '\0')
		return strcmp(origin, ctx->cfg->origin) == 0;
	if (ctx->req.host == NULL)
		return 0;
	own = cpa_sprintf(ctx->arena, "%s://%s", ctx->req.https ? "https" : "http",
	    ctx->req.host);
	return strcmp(origin, own) == 0;
}

static const char *
csrf_token_sent(struct cpa_ctx *ctx)
{
	if (ctx->req.csrf_header != NULL)
		return ctx->req.csrf_header;
	if (strcmp(ctx->req.content_type, "application/x-www-form-urlencoded") == 0)
		return cpa_form_lookup(ctx->arena, ctx->req.body, ctx->req.body_len,
		    "csrf_token");
	return NULL;
}

static void
healthz(struct cpa_ctx *ctx, const struct cpa_module *m)
{
	const char *argv[1] = { "PING" };
	size_t lens[1] = { 4 };
	struct redisReply *r;
	int db, redis;

	db = cpa_db_ping() == CPA_OK;
	r = cpa_redis(ctx->arena, 1, argv, lens);
	redis = r != NULL && r->type == REDIS_REPLY_STATUS;
	ctx->req.wants_json = 1;
	cpa_render(ctx, db && redis ? 200 : 503, NULL, json_pack("{s:s,s:s,s:s,s:s}",
	    "status", db && redis ? "ok" : "unavailable", "worker", m->name,
	    "postgres", db ? "ok" : "unavailable", "redis", redis ? "ok" : "unavailable"));
}

static void
deny(struct cpa_ctx *ctx, const char *why)
{
	cpa_audit(ctx, "access_denied", "route", ctx->req.path, 0, 0, why);
	if (cpa_db_commit(ctx) != CPA_OK)
		cpa_log(CPA_LOG_WARN, "audit", "could not record a denial");
	cpa_error(ctx, 403, NULL);
}

void
cpa_dispatch(struct cpa_ctx *ctx, const struct cpa_module *m)
{
	const struct cpa_route *route;
	const char *allow;
	int status, rc;

	if (strcmp(ctx->req.path, "/healthz") == 0 && strcmp(ctx->req.method, "GET") == 0) {
		healthz(ctx, m);
		return;
	}
	route = cpa_route_match(ctx->arena, m->routes, m->nroutes, &ctx->req, &status, &allow);
	if (route == NULL) {
		if (allow != NULL)
			cpa_header(ctx, "Allow", allow);
		cpa_error(ctx, status, NULL);
		return;
	}
	ctx->route = route;

	rc = cpa_session_load(ctx);
	if (rc != CPA_OK) {
		cpa_error(ctx, 503, NULL);
		return;
	}
	if (!(route->flags & CPA_RF_PUBLIC) && ctx->session == NULL) {
		if (!ctx->req.wants_json && strcmp(ctx->req.method, "GET") == 0)
			cpa_redirect(ctx, "/signin");
		else
			cpa_error(ctx, 401, "Sign in to continue");
		return;
	}
	if (route->roles != CPA_ROLE_ANY &&
	    (ctx->session == NULL || (ctx->session->roles & route->roles) == 0)) {
		deny(ctx, "role");
		return;
	}
	if (is_state_change(ctx->req.method)) {
		if (!origin_allowed(ctx)) {
			deny(ctx, "origin");
			return;
		}
		if (!(route->flags & CPA_RF_NO_CSRF) && ctx->session != NULL &&
		    !cpa_secret_eq(csrf_token_sent(ctx), ctx->session->csrf)) {
			cpa_audit(ctx, "access_denied", "route", ctx->req.path, 0, 0, "csrf");
			(void)cpa_db_commit(ctx);
			cpa_error(ctx, 403, ctx->req.wants_json ?
			    "Missing or wrong CSRF token" :
			    "This form has expired. Go back, reload the page and try again.");
			return;
		}
	}
	route->handler(ctx);
	cpa_db_rollback(ctx);
	if (ctx->resp.status == 0) {
		cpa_log(CPA_LOG_ERROR, "handler", "%s %s gave no response",
		    ctx->req.method, ctx->req.path);
		cpa_error(ctx, 500, NULL);
	}
}

/* ---------------------------------------------------------- one request */

static const char *
request_id(cpa_arena *a, const char *given)
{
	char token[CPA_TOKEN_LEN + 1];
	const char *p;

	if (given != NULL && *given != '\0' && strlen(given) <= 64) {
		for (p = given; *p != '\0'; p++)
			if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
			    (*p >= 'A' && *p <= 'Z') || *p == '-'))
				break;
		if (*p == '\0')
			return given;
	}
	if (cpa_random_token(token) != CPA_OK)
		return "unknown";
	return cpa_strndup(a, token, 16);
}

static void
handle(FCGX_Request *fr, const struct cpa_config *cfg, const struct cpa_module *m)
{
	struct timespec t0, t1;
	struct cpa_ctx ctx;
	struct cpa_buf out;
	const char *cl;
	long long len = 0;
	char *body = NULL;
	int status = CPA_OK;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&ctx, 0, sizeof(ctx));
	ctx.arena = cpa_arena_new();
	ctx.cfg = cfg;
	cpa_buf_init(&ctx.resp.headers, ctx.arena);
	cpa_buf_init(&ctx.resp.body, ctx.arena);
	cpa_buf_init(&out, ctx.arena);

	cl = FCGX_GetParam("CONTENT_LENGTH", fr->envp);
	if (cl != NULL && *cl != '\0' &&
	    cpa_parse_ll(cl, 0, 1LL << 40, &len) != CPA_OK)
		status = 400;
	else if (len > cfg->max_body_bytes)
		status = 413;
	else if (len > 0) {
		body = cpa_alloc(ctx.arena, (size_t)len + 1);
		if (FCGX_GetStr(body, (int)len, fr->in) != (int)len)
			status = 400;
	}
	if (status == CPA_OK)
		status = cpa_request_parse(ctx.arena, fr->envp, body, (size_t)len,
		    cpa_cookie_name(cfg), &ctx.req);
	if (status != CPA_OK) {
		/* Enough of a request to answer it. */
		const char *method = FCGX_GetParam("REQUEST_METHOD", fr->envp);

		memset(&ctx.req, 0, sizeof(ctx.req));
		ctx.req.method = method != NULL && strcmp(method, "HEAD") == 0 ? "HEAD" : "GET";
		ctx.req.path = "";
		ctx.req.wants_json = 1;
	}
	ctx.req.request_id = request_id(ctx.arena, ctx.req.request_id);
	if (status != CPA_OK)
		cpa_error(&ctx, status, NULL);
	else
		cpa_dispatch(&ctx, m);
	cpa_db_rollback(&ctx);

	cpa_response_compose(&ctx, &out);
	FCGX_PutStr(out.data, (int)out.len, fr->out);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cpa_log(CPA_LOG_INFO, "request", "%s %s %d %.1fms user=%lld id=%s",
	    ctx.req.method, ctx.req.path, ctx.resp.status,
	    (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
	    ctx.session != NULL ? ctx.session->user_id : 0LL, ctx.req.request_id);
	cpa_arena_free(ctx.arena);
}

/* ---------------------------------------------------------------- child */

static void
child_term(int sig)
{
	(void)sig;
	got_term = 1;
}

/*
 * SIGTERM is blocked except while the child waits in ppoll() for a
 * connection, so it never lands between accept() and the answer.  The
 * listening socket is non-blocking: children that lose the race for a
 * connection go back to ppoll() instead of sleeping in accept().
 */
static void
child_main(struct master *ms)
{
	struct sigaction sa;
	struct pollfd pfd;
	FCGX_Request fr;
	sigset_t none, term;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = child_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&none);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigprocmask(SIG_SETMASK, &term, NULL);

	cpa_db_configure(&ms->cfg);
	cpa_redis_configure(&ms->cfg);
	if (fcntl(ms->fd, F_SETFL, fcntl(ms->fd, F_GETFL) | O_NONBLOCK) != 0 ||
	    FCGX_InitRequest(&fr, ms->fd, 0) != 0)
		_exit(1);
	while (!got_term) {
		pfd.fd = ms->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (ppoll(&pfd, 1, NULL, &none) != 1 || got_term)
			continue;
		rc = FCGX_Accept_r(&fr);
		if (rc == -EAGAIN || rc == -EWOULDBLOCK)
			continue;
		if (rc < 0)
			break;
		handle(&fr, &ms->cfg, ms->module);
		FCGX_Finish_r(&fr);
	}
	cpa_db_disconnect();
	cpa_redis_disconnect();
	_exit(0);
}

/* --------------------------------------------------------------- master */

static void
master_signal(int sig)
{
	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
}

static int
open_listener(struct master *ms, const char *listen_spec)
{
	int fd = -1, one = 1;

	if (listen_spec == NULL || *listen_spec == '\0')
		return 0;	/* FastCGI socket inherited on fd 0 */
	if (strncmp(listen_spec, "unix:", 5) == 0) {
		struct sockaddr_un sun;
		const char *path = listen_spec + 5;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(path) >= sizeof(sun.sun_path) || path[0] != '/') {
			fprintf(stderr, "listen: unix socket path must be absolute and short: %s\n", path);
			return -1;
		}
		strcpy(sun.sun_path, path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0)
			goto fail;
		unlink(path);
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
			goto fail;
		/* nginx only: the owner and its group. */
		if (chmod(path, 0660) != 0)
			goto fail;
		strcpy(ms->unix_path, path);
	} else {
		struct addrinfo hints, *ai = NULL;
		char host[256];
		const char *colon = strrchr(listen_spec, ':');
		size_t hlen;

		if (colon == NULL || (hlen = (size_t)(colon - listen_spec)) >= sizeof(host)) {
			fprintf(stderr, "listen: expected unix:/path or host:port, got %s\n", listen_spec);
			return -1;
		}
		memcpy(host, listen_spec, hlen);
		host[hlen] = '\0';
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
		if (getaddrinfo(hlen > 0 ? host : "127.0.0.1", colon + 1, &hints, &ai) != 0) {
			fprintf(stderr, "listen: cannot use address %s\n", listen_spec);
			return -1;
		}
		fd = socket(ai->ai_family, SOCK_STREAM, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
		    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			freeaddrinfo(ai);
			goto fail;
		}
		freeaddrinfo(ai);
	}
	if (listen(fd, 1024) != 0)
		goto fail;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
fail:
	fprintf(stderr, "listen %s: %s\n", listen_spec, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int
load_config(struct master *ms, struct cpa_config *out)
{
	char err[256];
	const char *dirs[2];
	char *d0, *d1;
	enum cpa_log_level lvl = CPA_LOG_INFO;
	int rc;

	memset(out, 0, sizeof(*out));
	if (cpa_config_load(out, ms->config_path, err, sizeof(err)) != CPA_OK) {
		fprintf(stderr, "cpa-%s: %s\n", ms->module->name, err);
		cpa_config_free(out);
		return CPA_EINPUT;
	}
	if (ms->listen_arg != NULL) {
		free(out->listen);
		out->listen = strdup(ms->listen_arg);
	}
	if (ms->workers_arg > 0)
		out->workers = ms->workers_arg;
	if (cpa_log_level_parse(out->log_level, &lvl) != CPA_OK)
		lvl = CPA_LOG_INFO;
	cpa_log_init(program, lvl);

	if (asprintf(&d0, "%s/common/templates", out->template_dir) < 0 ||
	    asprintf(&d1, "%s/modules/%s/templates", out->template_dir, ms->module->name) < 0)
		abort();
	dirs[0] = d0;
	dirs[1] = d1;
	rc = cpa_templates_load(dirs, 2, err, sizeof(err));
	free(d0);
	free(d1);
	if (rc != CPA_OK) {
		fprintf(stderr, "cpa-%s: templates: %s\n", ms->module->name, err);
		cpa_config_free(out);
		return CPA_EINPUT;
	}
	return CPA_OK;
}

static int
child_index(const struct master *ms, pid_t pid)
{
	int i;

	for (i = 0; i < ms->nchildren; i++)
		if (ms->children[i] == pid)
			return i;
	return -1;
}

static void
spawn(struct master *ms, int slot)
{
	pid_t pid = fork();

	if (pid < 0) {
		cpa_log(CPA_LOG_ERROR, "fork", "%s", strerror(errno));
		ms->children[slot] = 0;
		return;
	}
	if (pid == 0)
		child_main(ms);
	ms->children[slot] = pid;
}

/* Tell every child to finish and wait up to DRAIN_SECONDS for them. */
static void
stop_children(pid_t *pids, int n)
{
	time_t deadline = time(NULL) + DRAIN_SECONDS;
	int i, left;

	for (i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	do {
		left = 0;
		for (i = 0; i < n; i++) {
			if (pids[i] <= 0)
				continue;
			pid_t w = waitpid(pids[i], NULL, WNOHANG);

			if (w == pids[i] || (w < 0 && errno == ECHILD))
				pids[i] = 0;
			else
				left++;
		}
		if (left > 0)
			usleep(20000);
	} while (left > 0 && time(NULL) < deadline);
	for (i = 0; i < n; i++)
		if (pids[i] > 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
}

static void
reap(struct master *ms)
{
	static time_t window;
	static int respawns;
	pid_t pid;
	int status, slot;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		slot = child_index(ms, pid);
		if (slot < 0)
			continue;	/* a child of an earlier generation */
		cpa_log(CPA_LOG_WARN, "child_exit", "child %d exited (%s %d); respawning",
		    (int)pid, WIFSIGNALED(status) ? "signal" : "status",
		    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		if (time(NULL) != window) {
			window = time(NULL);
			respawns = 0;
		}
		if (++respawns > ms->nchildren * 4)
			sleep(1);	/* a crash loop must not become a fork loop */
		spawn(ms, slot);
	}
}

static void
reload(struct master *ms)
{
	struct cpa_config fresh;
	pid_t old[MAX_WORKERS];
	int i, n = ms->nchildren;

	if (load_config(ms, &fresh) != CPA_OK) {
		cpa_log(CPA_LOG_ERROR, "reload", "configuration not reloaded: keeping the old one");
		return;
	}
	cpa_config_free(&ms->cfg);
	ms->cfg = fresh;
	memcpy(old, ms->children, sizeof(pid_t) * (size_t)n);
	ms->nchildren = ms->cfg.workers < MAX_WORKERS ? ms->cfg.workers : MAX_WORKERS;
	for (i = 0; i < ms->nchildren; i++)
		spawn(ms, i);
	/* The old generation finishes what it holds, then exits. */
	stop_children(old, n);
	cpa_log(CPA_LOG_INFO, "reload", "configuration reloaded, %d workers", ms->nchildren);
}

static void
usage(const char *name)
{
	fprintf(stderr, "usage: cpa-%s [--config FILE] [--listen unix:/path | host:port] "
	    "[--workers N]\n", name);
}

int
cpa_main(int argc, char **argv, const struct cpa_module *m)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct master ms;
	struct sigaction sa;
	sigset_t block, none;
	long long n;
	int c, i;

	memset(&ms, 0, sizeof(ms));
	ms.module = m;
	snprintf(program, sizeof(program), "cpa-%s", m->name);
	ms.config_path = getenv("CPA_CONFIG");
	while ((c = getopt_long(argc, argv, "c:l:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ms.config_path = optarg;
			break;
		case 'l':
			ms.listen_arg = optarg;
			break;
		case 'w':
			if (cpa_parse_ll(optarg, 1, MAX_WORKERS, &n) != CPA_OK) {
				fprintf(stderr, "--workers must be a whole number from 1 to %d\n",
				    MAX_WORKERS);
				return 2;
			}
			ms.workers_arg = (int)n;
			break;
		default:
			usage(m->name);
			return c == 'h' ? 0 : 2;
		}
	}
	if (load_config(&ms, &ms.cfg) != CPA_OK)
		return 1;
	cpa_db_set_program(program);
	if (FCGX_Init() != 0) {
		fprintf(stderr, "cpa-%s: FastCGI library failed to start\n", m->name);
		return 1;
	}
	ms.fd = open_listener(&ms, ms.cfg.listen);
	if (ms.fd < 0) {
		cpa_config_free(&ms.cfg);
		return 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = master_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&none);

	ms.nchildren = ms.cfg.workers < MAX_WORKERS ? ms.cfg.workers : MAX_WORKERS;
	for (i = 0; i < ms.nchildren; i++)
		spawn(&ms, i);
	cpa_log(CPA_LOG_INFO, "start", "listening on %s with %d workers",
	    ms.cfg.listen[0] != '\0' ? ms.cfg.listen : "fd 0", ms.nchildren);

	while (!got_term) {
		sigsuspend(&none);
		if (got_chld) {
			got_chld = 0;
			reap(&ms);
		}
		if (got_hup) {
			got_hup = 0;
			reload(&ms);
		}
	}
	cpa_log(CPA_LOG_INFO, "stop", "draining %d workers", ms.nchildren);
	stop_children(ms.children, ms.nchildren);
	if (ms.unix_path[0] != '\0')
		unlink(ms.unix_path);
	cpa_config_free(&ms.cfg);
	return 0;
}
