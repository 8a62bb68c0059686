/*
 * log.c - structured logs: one JSON object per line on stderr, written with
 * a single write(2) so lines from the prefork children never interleave.
 * The line is serialised by jansson with every non-ASCII and control
 * character escaped, so untrusted text inside a message cannot start a new
 * line or forge fields.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpa.h"

#define LOG_MSG_MAX 4096	/* longer messages are cut, marked with "..." */
#define LOG_LINE_STACK 2048	/* lines longer than this go through the heap */

/* In enum order: levels[lvl].name is the name of lvl. */
static const struct {
	const char *name;
	enum cpa_log_level level;
} levels[] = {
	{ "debug", CPA_LOG_DEBUG },
	{ "info", CPA_LOG_INFO },
	{ "warn", CPA_LOG_WARN },
	{ "error", CPA_LOG_ERROR },
};

#define NLEVELS (sizeof(levels) / sizeof(levels[0]))

static char log_program[64] = "cpa";
static enum cpa_log_level log_min = CPA_LOG_INFO;

void
cpa_log_init(const char *program, enum cpa_log_level min)
{
	if (program != NULL)
		snprintf(log_program, sizeof(log_program), "%s", program);
	log_min = min;
}

int
cpa_log_level_parse(const char *s, enum cpa_log_level *out)
{
	size_t i;

	if (s == NULL)
		return CPA_EINPUT;
	for (i = 0; i < NLEVELS; i++)
		if (strcmp(s, levels[i].name) == 0) {
			*out = levels[i].level;
			return CPA_OK;
		}
	return CPA_EINPUT;
}

/*
 * A JSON string for s.  jansson refuses invalid UTF-8; such text (a
 * truncated multibyte character, bytes from a client) is kept readable by
 * replacing every non-ASCII byte with '?'.  Returns a new reference or NULL
 * when out of memory.
 */
static json_t *
log_string(const char *s)
{
	json_t *v;
	char *copy;
	size_t i;

	if ((v = json_string(s)) != NULL)
		return v;
	if ((copy = strdup(s)) == NULL)
		return NULL;
	for (i = 0; copy[i] != '\0'; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	v = json_string(copy);
	free(copy);
	return v;
}

/* "2026-11-23T05:00:00.123Z"; buf holds at least 32 bytes. */
static void
log_timestamp(char buf[static 32])
{
	struct timespec ts;
	struct tm tm;
	size_t n;
	unsigned ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	ms = (unsigned)(ts.tv_nsec / 1000000L) % 1000u;
	buf[n++] = '.';
	buf[n++] = (char)('0' + ms / 100);
	buf[n++] = (char)('0' + ms / 10 % 10);
	buf[n++] = (char)('0' + ms % 10);
	buf[n++] = 'Z';
	buf[n] = '\0';
}

/* One write; a line that cannot be written whole is lost, never split. */
static void
log_write(const char *line, size_t len)
{
	ssize_t n;

	do
		n = write(STDERR_FILENO, line, len);
	while (n < 0 && errno == EINTR);
}

void
cpa_log(enum cpa_log_level lvl, const char *event, const char *fmt, ...)
{
	char msg[LOG_MSG_MAX], ts[40], stackline[LOG_LINE_STACK];
	char *line = stackline;
	json_t *o = NULL;
	va_list ap;
	size_t n;
	int saved = errno, len;

	if ((unsigned)lvl >= NLEVELS || lvl < log_min)
		goto out;
	va_start(ap, fmt);
	len = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (len < 0)
		snprintf(msg, sizeof(msg), "(unformattable message)");
	else if ((size_t)len >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	log_timestamp(ts);

	if ((o = json_object()) == NULL)
		goto out;
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "level", json_string(levels[lvl].name));
	json_object_set_new(o, "program", log_string(log_program));
	json_object_set_new(o, "pid", json_integer((json_int_t)getpid()));
	json_object_set_new(o, "event", log_string(event != NULL ? event : ""));
	json_object_set_new(o, "msg", log_string(msg));

	/* json_dumpb reports the size it needs; one byte is kept for '\n'. */
	n = json_dumpb(o, stackline, sizeof(stackline) - 1, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (n == 0)
		goto out;
	if (n > sizeof(stackline) - 1) {
		if ((line = malloc(n + 1)) == NULL)
			goto out;
		if (json_dumpb(o, line, n, JSON_COMPACT | JSON_ENSURE_ASCII) != n)
			goto out;
	}
	line[n] = '\n';
	log_write(line, n + 1);
out:
	if (line != stackline)
		free(line);
	json_decref(o);
	errno = saved;
}
