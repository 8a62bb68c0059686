/*
 * session.c - sessions in Redis, shared by every worker, and sign-in
 * throttling.
 *
 * The browser holds a 256-bit random token; Redis holds the session under
 * "cpa:s:" + sha256(token), so a copy of Redis reveals no usable token.  The
 * key's time to live is the idle timeout and is slid on every request in
 * the same round trip as the read; the absolute timeout is checked here
 * against the creation time stored in the value.  "cpa:u:<user id>" holds
 * the keys of a user's sessions so they can all be ended at once.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "cpa.h"

#define SESSION_PREFIX "cpa:s:"
#define USER_PREFIX "cpa:u:"

static char *
session_key(cpa_arena *a, const char *hash)
{
	return cpa_sprintf(a, SESSION_PREFIX "%s", hash);
}

static char *
user_key(cpa_arena *a, long long user_id)
{
	return cpa_sprintf(a, USER_PREFIX "%lld", user_id);
}

static long long
json_ll(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

int
cpa_session_from_user(cpa_arena *a, json_t *user, struct cpa_session *s)
{
	json_t *roles, *sites, *g, *site;
	struct cpa_buf ids;
	size_t i;

	if (!json_is_object(user))
		return CPA_EINPUT;
	roles = json_object_get(user, "roles");
	sites = json_object_get(user, "sites");
	s->user_id = json_ll(user, "id");
	s->username = json_string_value(json_object_get(user, "username"));
	s->display_name = json_string_value(json_object_get(user, "display_name"));
	if (s->user_id <= 0 || s->username == NULL || s->display_name == NULL ||
	    !json_is_array(roles) || !json_is_array(sites))
		return CPA_EINPUT;
	s->ngrants = json_array_size(roles);
	s->grants = cpa_alloc(a, sizeof(*s->grants) * (s->ngrants + 1));
	s->roles = 0;
	json_array_foreach(roles, i, g) {
		s->grants[i].id = json_ll(g, "id");
		s->grants[i].role = cpa_role_parse(json_string_value(json_object_get(g, "role")));
		s->grants[i].site_id = json_ll(g, "site_id");
		s->grants[i].district_id = json_ll(g, "district_id");
		s->grants[i].team_id = json_ll(g, "team_id");
		s->roles |= s->grants[i].role;
	}
	cpa_buf_init(&ids, a);
	json_array_foreach(sites, i, site)
		cpa_buf_printf(&ids, "%s%lld", i > 0 ? "," : "", json_ll(site, "id"));
	s->site_ids = ids.data;
	s->user = cpa_json_keep(a, json_incref(user));
	return CPA_OK;
}

char *
cpa_session_encode(cpa_arena *a, const struct cpa_session *s)
{
	struct cpa_buf b;
	json_t *o;

	o = json_pack("{s:i,s:O,s:s,s:I}", "v", 1, "user", s->user,
	    "csrf", s->csrf, "created", (json_int_t)s->created);
	cpa_buf_init(&b, a);
	cpa_json_write(&b, o);
	json_decref(o);
	return b.data;
}

int
cpa_session_decode(cpa_arena *a, const char *data, size_t len, struct cpa_session *s)
{
	char err[128];
	json_t *o, *user;
	const char *csrf;
	int rc = CPA_EINPUT;

	o = cpa_json_parse(data, len, err, sizeof(err));
	if (o == NULL)
		return CPA_EINPUT;
	cpa_json_keep(a, o);
	user = json_object_get(o, "user");
	csrf = json_string_value(json_object_get(o, "csrf"));
	if (json_ll(o, "v") != 1 || csrf == NULL || strlen(csrf) != CPA_TOKEN_LEN)
		goto out;
	memcpy(s->csrf, csrf, CPA_TOKEN_LEN + 1);
	s->created = json_ll(o, "created");
	rc = cpa_session_from_user(a, user, s);
out:
	return rc;
}

json_t *
cpa_session_user_json(const struct cpa_session *s)
{
	return json_deep_copy(s->user);
}

int
cpa_session_has_role(const struct cpa_session *s, unsigned roles, long long site_id)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < s->ngrants; i++)
		if ((s->grants[i].role & roles) != 0 &&
		    (site_id == 0 || s->grants[i].site_id == site_id))
			return 1;
	return 0;
}

static int
reply_ok(const redisReply *r)
{
	return r != NULL && r->type != REDIS_REPLY_ERROR;
}

int
cpa_session_load(struct cpa_ctx *ctx)
{
	const struct cpa_config *cfg = ctx->cfg;
	const char *token = ctx->req.session_cookie;
	char hash[CPA_SHA256_HEX + 1], idle_ms[32];
	redisReply *replies[2];
	struct cpa_session *s;
	const char *key;
	int argcs[2] = { 2, 3 };
	const char *get[2], *pexpire[3];
	size_t getl[2], pexpirel[3];
	const char *const *argvs[2] = { get, pexpire };
	const size_t *const lens[2] = { getl, pexpirel };

	ctx->session = NULL;
	if (token == NULL || strlen(token) != CPA_TOKEN_LEN)
		return CPA_OK;
	cpa_sha256_hex(token, CPA_TOKEN_LEN, hash);
	key = session_key(ctx->arena, hash);
	snprintf(idle_ms, sizeof(idle_ms), "%lld", (long long)cfg->session_idle_seconds * 1000);
	get[0] = "GET";
	get[1] = key;
	pexpire[0] = "PEXPIRE";
	pexpire[1] = key;
	pexpire[2] = idle_ms;
	getl[0] = 3;
	getl[1] = pexpirel[1] = strlen(key);
	pexpirel[0] = 7;
	pexpirel[2] = strlen(idle_ms);
	/* One round trip: read the session and slide its idle expiry. */
	if (cpa_redis_pipeline(ctx->arena, 2, argcs, argvs, lens, replies) != CPA_OK)
		return CPA_EUNAVAIL;
	if (!reply_ok(replies[0]) || !reply_ok(replies[1]))
		return CPA_EUNAVAIL;
	if (replies[0]->type != REDIS_REPLY_STRING)
		return CPA_OK;
	s = cpa_alloc(ctx->arena, sizeof(*s));
	if (cpa_session_decode(ctx->arena, replies[0]->str, replies[0]->len, s) != CPA_OK) {
		cpa_log(CPA_LOG_WARN, "session_corrupt", "unreadable session dropped");
		return CPA_OK;
	}
	memcpy(s->key, hash, sizeof(s->key));
	if ((long long)time(NULL) - s->created >= cfg->session_absolute_seconds) {
		/* Past the absolute lifetime: gone, however active. */
		ctx->session = s;
		cpa_session_end(ctx);
		ctx->session = NULL;
		return CPA_OK;
	}
	ctx->session = s;
	return CPA_OK;
}

/* Delete session keys (and their entries in the user's set). */
static int
delete_sessions(struct cpa_ctx *ctx, long long user_id, const char *const *hashes, size_t n)
{
	const char **del, **srem;
	size_t *dell, *sreml, i;
	redisReply *replies[2];
	int argcs[2];
	const char *const *argvs[2];
	const size_t *lens[2];
	const char *ukey = user_key(ctx->arena, user_id);

	if (n == 0)
		return CPA_OK;
	del = cpa_alloc(ctx->arena, sizeof(*del) * (n + 1));
	dell = cpa_alloc(ctx->arena, sizeof(*dell) * (n + 1));
	srem = cpa_alloc(ctx->arena, sizeof(*srem) * (n + 2));
	sreml = cpa_alloc(ctx->arena, sizeof(*sreml) * (n + 2));
	del[0] = "DEL";
	dell[0] = 3;
	srem[0] = "SREM";
	sreml[0] = 4;
	srem[1] = ukey;
	sreml[1] = strlen(ukey);
	for (i = 0; i < n; i++) {
		del[i + 1] = session_key(ctx->arena, hashes[i]);
		dell[i + 1] = strlen(del[i + 1]);
		srem[i + 2] = hashes[i];
		sreml[i + 2] = strlen(hashes[i]);
	}
	argcs[0] = (int)n + 1;
	argcs[1] = (int)n + 2;
	argvs[0] = del;
	argvs[1] = srem;
	lens[0] = dell;
	lens[1] = sreml;
	if (cpa_redis_pipeline(ctx->arena, 2, argcs, argvs, lens, replies) != CPA_OK ||
	    !reply_ok(replies[0]) || !reply_ok(replies[1]))
		return CPA_EUNAVAIL;
	return CPA_OK;
}

int
cpa_session_start(struct cpa_ctx *ctx, json_t *user)
{
	const struct cpa_config *cfg = ctx->cfg;
	char token[CPA_TOKEN_LEN + 1], idle_ms[32], abs_s[32];
	struct cpa_session *s;
	const char *key, *ukey, *value;
	redisReply *replies[4];
	int argcs[4] = { 5, 3, 3, 2 };
	const char *set[5], *sadd[3], *expire[3], *del[2];
	size_t setl[5], saddl[3], expirel[3], dell[2];
	const char *const *argvs[4] = { set, sadd, expire, del };
	const size_t *const lens[4] = { setl, saddl, expirel, dell };
	int ncmd = 3, rc = CPA_EUNAVAIL;
	char old_hash[CPA_SHA256_HEX + 1];

	s = cpa_alloc(ctx->arena, sizeof(*s));
	if (cpa_session_from_user(ctx->arena, user, s) != CPA_OK)
		return CPA_ERR;
	if (cpa_random_token(token) != CPA_OK || cpa_random_token(s->csrf) != CPA_OK)
		return CPA_ERR;
	cpa_sha256_hex(token, CPA_TOKEN_LEN, s->key);
	s->created = (long long)time(NULL);

	key = session_key(ctx->arena, s->key);
	ukey = user_key(ctx->arena, s->user_id);
	value = cpa_session_encode(ctx->arena, s);
	snprintf(idle_ms, sizeof(idle_ms), "%lld", (long long)cfg->session_idle_seconds * 1000);
	snprintf(abs_s, sizeof(abs_s), "%d", cfg->session_absolute_seconds);
	set[0] = "SET"; set[1] = key; set[2] = value; set[3] = "PX"; set[4] = idle_ms;
	sadd[0] = "SADD"; sadd[1] = ukey; sadd[2] = s->key;
	expire[0] = "EXPIRE"; expire[1] = ukey; expire[2] = abs_s;
	setl[0] = 3; setl[1] = strlen(key); setl[2] = strlen(value); setl[3] = 2;
	setl[4] = strlen(idle_ms);
	saddl[0] = 4; saddl[1] = strlen(ukey); saddl[2] = CPA_SHA256_HEX;
	expirel[0] = 6; expirel[1] = strlen(ukey); expirel[2] = strlen(abs_s);
	/* Never promote the token the browser arrived with: the old session,
	 * from the cookie whether valid or not, is destroyed. */
	if (ctx->req.session_cookie != NULL && strlen(ctx->req.session_cookie) == CPA_TOKEN_LEN) {
		cpa_sha256_hex(ctx->req.session_cookie, CPA_TOKEN_LEN, old_hash);
		del[0] = "DEL";
		del[1] = session_key(ctx->arena, old_hash);
		dell[0] = 3;
		dell[1] = strlen(del[1]);
		ncmd = 4;
	}
	if (cpa_redis_pipeline(ctx->arena, ncmd, argcs, argvs, lens, replies) != CPA_OK)
		goto out;
	if (!reply_ok(replies[0]) || !reply_ok(replies[1]) || !reply_ok(replies[2]))
		goto out;
	cpa_cookie(ctx, token, -1);
	ctx->session = s;
	rc = CPA_OK;
out:
	cpa_secret_wipe(token, sizeof(token));
	return rc;
}

int
cpa_session_end(struct cpa_ctx *ctx)
{
	const char *hash[1];
	int rc;

	cpa_cookie(ctx, "", 0);
	if (ctx->session == NULL)
		return CPA_OK;
	hash[0] = ctx->session->key;
	rc = delete_sessions(ctx, ctx->session->user_id, hash, 1);
	ctx->session = NULL;
	return rc;
}

int
cpa_session_end_all(struct cpa_ctx *ctx, long long user_id)
{
	const char *argv[2];
	size_t lens[2], i, n;
	const char **hashes;
	redisReply *r;

	argv[0] = "SMEMBERS";
	argv[1] = user_key(ctx->arena, user_id);
	lens[0] = 8;
	lens[1] = strlen(argv[1]);
	r = cpa_redis(ctx->arena, 2, argv, lens);
	if (!reply_ok(r) || r->type != REDIS_REPLY_ARRAY)
		return CPA_EUNAVAIL;
	n = r->elements;
	hashes = cpa_alloc(ctx->arena, sizeof(*hashes) * (n + 1));
	for (i = 0; i < n; i++) {
		if (r->element[i]->type != REDIS_REPLY_STRING)
			return CPA_ERR;
		hashes[i] = cpa_strndup(ctx->arena, r->element[i]->str, r->element[i]->len);
	}
	if (ctx->session != NULL && ctx->session->user_id == user_id) {
		cpa_cookie(ctx, "", 0);
		ctx->session = NULL;
	}
	return delete_sessions(ctx, user_id, hashes, n);
}

/* ---- sign-in throttling ---- */

static const char *
throttle_user_key(cpa_arena *a, const char *username)
{
	char hash[CPA_SHA256_HEX + 1];

	cpa_sha256_hex(username, strlen(username), hash);
	return cpa_sprintf(a, "cpa:tf:u:%s", hash);
}

static const char *
throttle_addr_key(cpa_arena *a, const char *addr)
{
	return cpa_sprintf(a, "cpa:tf:a:%s", addr);
}

int
cpa_throttle_check(struct cpa_ctx *ctx, const char *username, int *retry_after)
{
	const char *ukey = throttle_user_key(ctx->arena, username);
	const char *akey = throttle_addr_key(ctx->arena, ctx->req.remote_addr);
	const char *c0[2] = { "GET", ukey }, *c1[2] = { "TTL", ukey };
	const char *c2[2] = { "GET", akey }, *c3[2] = { "TTL", akey };
	size_t l0[2] = { 3, strlen(ukey) }, l2[2] = { 3, strlen(akey) };
	int argcs[4] = { 2, 2, 2, 2 };
	const char *const *argvs[4] = { c0, c1, c2, c3 };
	const size_t *const lens[4] = { l0, l0, l2, l2 };
	redisReply *r[4];
	long long ufail = 0, afail = 0;
	int wait = 0;

	*retry_after = 0;
	if (cpa_redis_pipeline(ctx->arena, 4, argcs, argvs, lens, r) != CPA_OK)
		return CPA_EUNAVAIL;
	if (r[0]->type == REDIS_REPLY_STRING)
		cpa_parse_ll(r[0]->str, 0, 1LL << 40, &ufail);
	if (r[2]->type == REDIS_REPLY_STRING)
		cpa_parse_ll(r[2]->str, 0, 1LL << 40, &afail);
	if (ufail >= ctx->cfg->login_max_failures_user && r[1]->type == REDIS_REPLY_INTEGER)
		wait = (int)r[1]->integer;
	if (afail >= ctx->cfg->login_max_failures_addr && r[3]->type == REDIS_REPLY_INTEGER &&
	    r[3]->integer > wait)
		wait = (int)r[3]->integer;
	if (wait != 0)
		*retry_after = wait > 0 ? wait : ctx->cfg->login_window_seconds;
	return CPA_OK;
}

void
cpa_throttle_failure(struct cpa_ctx *ctx, const char *username)
{
	const char *ukey = throttle_user_key(ctx->arena, username);
	const char *akey = throttle_addr_key(ctx->arena, ctx->req.remote_addr);
	char window[32];
	const char *c0[2] = { "INCR", ukey }, *c1[4] = { "EXPIRE", ukey, window, "NX" };
	const char *c2[2] = { "INCR", akey }, *c3[4] = { "EXPIRE", akey, window, "NX" };
	size_t l0[2] = { 4, strlen(ukey) }, l2[2] = { 4, strlen(akey) };
	size_t l1[4] = { 6, strlen(ukey), 0, 2 }, l3[4] = { 6, strlen(akey), 0, 2 };
	int argcs[4] = { 2, 4, 2, 4 };
	const char *const *argvs[4] = { c0, c1, c2, c3 };
	const size_t *const lens[4] = { l0, l1, l2, l3 };
	redisReply *r[4];

	snprintf(window, sizeof(window), "%d", ctx->cfg->login_window_seconds);
	l1[2] = l3[2] = strlen(window);
	if (cpa_redis_pipeline(ctx->arena, 4, argcs, argvs, lens, r) != CPA_OK)
		cpa_log(CPA_LOG_WARN, "throttle", "could not count a failed sign-in");
}

void
cpa_throttle_clear(struct cpa_ctx *ctx, const char *username)
{
	const char *ukey = throttle_user_key(ctx->arena, username);
	const char *argv[2] = { "DEL", ukey };
	size_t lens[2] = { 3, strlen(ukey) };

	(void)cpa_redis(ctx->arena, 2, argv, lens);
}
