/*
 * redis.c - the process's one Redis connection.  Commands go as argv
 * (binary safe, never formatted into a string).  A connection that reports
 * an error is dropped and made again on the next call, so one Redis restart
 * costs the requests in flight a 503 and nothing more.
 */
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "cpa.h"

static redisContext *conn;
static const struct cpa_config *config;

void
cpa_redis_configure(const struct cpa_config *cfg)
{
	config = cfg;
	cpa_redis_disconnect();
}

void
cpa_redis_disconnect(void)
{
	if (conn != NULL)
		redisFree(conn);
	conn = NULL;
}

static redisContext *
connection(void)
{
	struct timeval tv;

	if (conn != NULL)
		return conn;
	if (config == NULL)
		return NULL;
	tv.tv_sec = config->redis_timeout_ms / 1000;
	tv.tv_usec = (config->redis_timeout_ms % 1000) * 1000;
	if (config->redis_socket != NULL && config->redis_socket[0] != '\0')
		conn = redisConnectUnixWithTimeout(config->redis_socket, tv);
	else
		conn = redisConnectWithTimeout(config->redis_host, config->redis_port, tv);
	if (conn == NULL || conn->err) {
		cpa_log(CPA_LOG_WARN, "redis_unavailable", "cannot connect: %s",
		    conn != NULL ? conn->errstr : "out of memory");
		cpa_redis_disconnect();
		return NULL;
	}
	redisSetTimeout(conn, tv);
	return conn;
}

static void
free_reply(void *r)
{
	freeReplyObject(r);
}

struct redisReply *
cpa_redis(cpa_arena *a, int argc, const char **argv, const size_t *lens)
{
	const char *const *argvs[1] = { argv };
	const size_t *const lensv[1] = { lens };
	struct redisReply *reply;

	if (cpa_redis_pipeline(a, 1, &argc, argvs, lensv, &reply) != CPA_OK)
		return NULL;
	return reply;
}

/* Send the commands and read every reply on the current connection. */
static int
pipeline_once(redisContext *c, cpa_arena *a, int ncmd, const int *argcs,
    const char *const *const *argvs, const size_t *const *lens,
    struct redisReply **replies)
{
	int i;

	for (i = 0; i < ncmd; i++)
		if (redisAppendCommandArgv(c, argcs[i], (const char **)(uintptr_t)argvs[i],
		    lens[i]) != REDIS_OK)
			return CPA_EUNAVAIL;
	for (i = 0; i < ncmd; i++) {
		void *r = NULL;

		if (redisGetReply(c, &r) != REDIS_OK || r == NULL)
			return CPA_EUNAVAIL;
		cpa_arena_defer(a, free_reply, r);
		replies[i] = r;
	}
	return CPA_OK;
}

int
cpa_redis_pipeline(cpa_arena *a, int ncmd, const int *argcs,
    const char *const *const *argvs, const size_t *const *lens,
    struct redisReply **replies)
{
	redisContext *c;
	int i, attempt, fresh;

	/* A connection Redis closed (a restart) is only found out on use: then
	 * one retry on a new connection.  A new connection that fails means
	 * Redis is down. */
	for (attempt = 0; attempt < 2; attempt++) {
		for (i = 0; i < ncmd; i++)
			replies[i] = NULL;
		fresh = conn == NULL;
		if ((c = connection()) == NULL)
			return CPA_EUNAVAIL;
		if (pipeline_once(c, a, ncmd, argcs, argvs, lens, replies) == CPA_OK)
			return CPA_OK;
		cpa_log(CPA_LOG_WARN, "redis_unavailable", "command failed: %s", c->errstr);
		cpa_redis_disconnect();
		if (fresh)
			break;
	}
	for (i = 0; i < ncmd; i++)
		replies[i] = NULL;
	return CPA_EUNAVAIL;
}
