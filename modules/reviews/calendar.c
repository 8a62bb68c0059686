/*
 * calendar.c - the per-person iCalendar feed of what falls due: the page
 * that makes, replaces and revokes its secret URL, and the feed itself,
 * which a calendar program (Outlook) fetches with no session.
 *
 * The URL carries a token of 32 random bytes (cpa_random_token); only its
 * SHA-256 is stored, and the URL is shown once, when it is made.  A new
 * token replaces the old one, so the old URL stops working.  The feed is
 * read through calendar_feed_read() (sql/008_inbox.sql), the one narrow
 * way past row-level security without a session: it finds the owner by
 * the hash, records the fetch (last_used_at and an audit row in the
 * owner's name) and returns for each item only its kind, date, the
 * person's initials and the page to act on, since a calendar leaves the
 * trust's systems: no NHS number, no name, no date of birth.
 *
 * The feed follows RFC 5545: CRLF line ends, lines folded at 75 octets
 * (never inside a UTF-8 sequence), TEXT values escaped.
 */
#include <string.h>
#include <time.h>

#include "reviews.h"

#define FEED_MAX_EVENTS "2000"
#define ICS_LINE_OCTETS 75

/* The caller's feed: NULL when they never had one. */
#define FEED_JSON \
	"json_build_object('active', f.token_hash IS NOT NULL," \
	" 'created_at', f.created_at, 'last_used_at', f.last_used_at," \
	" 'revoked_at', f.revoked_at," \
	" 'display', json_build_object(" \
	"   'created_at', to_char(f.created_at AT TIME ZONE 'Europe/London'," \
	"     'FMDD FMMonth YYYY, HH24:MI')," \
	"   'last_used_at', to_char(f.last_used_at AT TIME ZONE 'Europe/London'," \
	"     'FMDD FMMonth YYYY, HH24:MI')," \
	"   'revoked_at', to_char(f.revoked_at AT TIME ZONE 'Europe/London'," \
	"     'FMDD FMMonth YYYY, HH24:MI')))"

static const struct cpa_stmt q_feed = {
	"calfeed_show",
	"SELECT (SELECT " FEED_JSON " FROM calendar_feed f"
	" WHERE f.staff_id = cpa_user_id()) AS feed",
	0
};

/* $1 the new token's SHA-256 in hex.  replaced: a working token existed. */
static const struct cpa_stmt q_feed_create = {
	"calfeed_create",
	"WITH prev AS (SELECT f.token_hash IS NOT NULL AS had FROM calendar_feed f"
	"  WHERE f.staff_id = cpa_user_id()),"
	" f AS (INSERT INTO calendar_feed AS c (staff_id, token_hash)"
	"  VALUES (cpa_user_id(), decode($1::text, 'hex'))"
	"  ON CONFLICT (staff_id) DO UPDATE SET token_hash = excluded.token_hash,"
	"  created_at = now(), revoked_at = NULL, last_used_at = NULL RETURNING c.*)"
	" SELECT " FEED_JSON " AS feed, coalesce((SELECT had FROM prev), false) AS replaced"
	" FROM f",
	1
};

/* done: a working token was revoked.  feed: the feed as it is now (the
 * statement's other reads see it as it was). */
static const struct cpa_stmt q_feed_revoke = {
	"calfeed_revoke",
	"WITH u AS (UPDATE calendar_feed c SET token_hash = NULL, revoked_at = now()"
	"  WHERE c.staff_id = cpa_user_id() AND c.revoked_at IS NULL RETURNING c.*)"
	" SELECT coalesce((SELECT " FEED_JSON " FROM u f),"
	" (SELECT " FEED_JSON " FROM calendar_feed f WHERE f.staff_id = cpa_user_id())) AS feed,"
	" EXISTS (SELECT 1 FROM u) AS done",
	0
};

/* $1 the token's SHA-256 in hex, $2 remote address, $3 request id. */
static const struct cpa_stmt q_feed_read = {
	"calfeed_read",
	"SELECT calendar_feed_read(decode($1::text, 'hex'), " FEED_MAX_EVENTS ","
	" $2::text, $3::text) AS feed",
	3
};

/* What a calendar entry says an item is, by kind (reminder_kinds). */
static const char *const summaries[] = {
	"CPA review due", "Risk review due", "72-hour follow-up due",
	"Carer's assessment due", NULL
};

static const char *
summary_of(const char *kind)
{
	const char *s = cpa_label(reminder_kinds, summaries, kind);

	return s != NULL ? s : "Due";
}

/* Where links point: the configured origin, else the scheme and host the
 * request came with. */
static const char *
base_url(struct cpa_ctx *ctx)
{
	if (ctx->cfg->origin != NULL && ctx->cfg->origin[0] != '\0')
		return ctx->cfg->origin;
	return cpa_sprintf(ctx->arena, "%s://%s", ctx->req.https ? "https" : "http",
	    ctx->req.host != NULL ? ctx->req.host : "localhost");
}

/* ------------------------------------------------------------ the page */

/* The page's (or the answer's) model around feed, which may be NULL. */
static json_t *
feed_model(struct cpa_ctx *ctx, json_t *feed)
{
	json_t *m;

	if (feed == NULL)
		feed = json_pack("{s:b,s:n,s:n,s:n}", "active", 0, "created_at",
		    "last_used_at", "revoked_at");
	else
		json_incref(feed);
	if (ctx->req.wants_json)
		json_object_del(feed, "display");
	m = json_pack("{s:o}", "calendar_feed", feed);
	if (!ctx->req.wants_json)
		json_object_set_new(m, "title", json_string("Calendar feed"));
	return m;
}

int
calendar_feed_page(struct cpa_ctx *ctx)
{
	PGresult *r;

	cpa_db_begin(ctx);
	if ((r = cpa_db_exec(ctx, &q_feed, NULL)) == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	cpa_commit_render(ctx, 200, "calendar_feed",
	    feed_model(ctx, cpa_db_json(ctx->arena, r, 0, "feed")));
	return CPA_OK;
}

int
calendar_feed_create(struct cpa_ctx *ctx)
{
	char token[CPA_TOKEN_LEN + 1], hash[CPA_SHA256_HEX + 1];
	const char *params[1];
	json_t *m, *feed;
	PGresult *r;

	if (cpa_random_token(token) != CPA_OK) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	cpa_sha256_hex(token, strlen(token), hash);
	params[0] = hash;
	cpa_db_begin(ctx);
	if ((r = cpa_db_exec(ctx, &q_feed_create, params)) == NULL ||
	    (feed = cpa_db_json(ctx->arena, r, 0, "feed")) == NULL) {
		cpa_secret_wipe(token, sizeof(token));
		cpa_error_rc(ctx, r == NULL ? ctx->db_rc : CPA_ERR);
		return CPA_OK;
	}
	cpa_audit(ctx, "calendar_feed_created", "calendar_feed",
	    cpa_sprintf(ctx->arena, "%lld", ctx->session->user_id), 0, 0,
	    cpa_db_flag(r, 0, "replaced") ? "replaced the old token" : "new token");
	m = feed_model(ctx, feed);
	json_object_set_new(m, "url", json_string(cpa_sprintf(ctx->arena,
	    "%s/calendar/%s.ics", base_url(ctx), token)));
	cpa_secret_wipe(token, sizeof(token));
	cpa_commit_render(ctx, ctx->req.wants_json ? 201 : 200, "calendar_feed", m);
	return CPA_OK;
}

int
calendar_feed_revoke(struct cpa_ctx *ctx)
{
	PGresult *r;

	cpa_db_begin(ctx);
	if ((r = cpa_db_exec(ctx, &q_feed_revoke, NULL)) == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	if (cpa_db_flag(r, 0, "done"))
		cpa_audit(ctx, "calendar_feed_revoked", "calendar_feed",
		    cpa_sprintf(ctx->arena, "%lld", ctx->session->user_id), 0, 0, NULL);
	if (!ctx->req.wants_json) {
		cpa_commit_redirect(ctx, "/calendar-feed");
		return CPA_OK;
	}
	cpa_commit_render(ctx, 200, NULL, feed_model(ctx,
	    cpa_db_json(ctx->arena, r, 0, "feed")));
	return CPA_OK;
}

/* ------------------------------------------------------------ the feed */

/* Bytes in the UTF-8 sequence that starts with c (1 for anything else, so
 * a stray byte never stalls the folding). */
static size_t
utf8_seq_len(unsigned char c)
{
	if (c >= 0xf0 && c < 0xf8)
		return 4;
	if (c >= 0xe0)
		return c < 0xf0 ? 3 : 1;
	if (c >= 0xc0)
		return 2;
	return 1;
}

/*
 * One content line "name:value" into b, the value TEXT-escaped when text
 * is set (backslash, semicolon, comma, newline; other control characters
 * dropped), folded so that no line exceeds ICS_LINE_OCTETS octets before
 * its CRLF: a fold is CRLF and one space, and never splits a UTF-8
 * sequence.
 */
static void
ics_line(struct cpa_buf *b, const char *name, const char *value, int text)
{
	struct cpa_buf v;
	const unsigned char *p;
	size_t col, n, k;

	cpa_buf_init(&v, b->arena);
	cpa_buf_puts(&v, name);
	cpa_buf_putc(&v, ':');
	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (text && (*p == '\\' || *p == ';' || *p == ',')) {
			cpa_buf_putc(&v, '\\');
			cpa_buf_putc(&v, (char)*p);
		} else if (text && *p == '\n')
			cpa_buf_puts(&v, "\\n");
		else if (*p >= 0x20 && *p != 0x7f)
			cpa_buf_putc(&v, (char)*p);
	}
	col = 0;
	for (k = 0; k < v.len; k += n) {
		n = utf8_seq_len((unsigned char)v.data[k]);
		if (k + n > v.len)
			n = v.len - k;
		if (col + n > ICS_LINE_OCTETS) {
			cpa_buf_puts(b, "\r\n ");
			col = 1;
		}
		cpa_buf_add(b, v.data + k, n);
		col += n;
	}
	cpa_buf_puts(b, "\r\n");
}

/* Only dates the database wrote: eight digits. */
static int
ics_date(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 8)
		return 0;
	for (i = 0; i < 8; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* The calendar of events (the "events" array of calendar_feed_read). */
static void
ics_write(struct cpa_ctx *ctx, const json_t *events, struct cpa_buf *b)
{
	const char *base = base_url(ctx), *due, *end, *link;
	char stamp[32];
	json_t *ev;
	struct tm tm;
	time_t now = time(NULL);
	size_t i;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	ics_line(b, "BEGIN", "VCALENDAR", 0);
	ics_line(b, "VERSION", "2.0", 0);
	ics_line(b, "PRODID", "-//cpa-suite//Reminders//EN", 0);
	ics_line(b, "CALSCALE", "GREGORIAN", 0);
	ics_line(b, "METHOD", "PUBLISH", 0);
	ics_line(b, "X-WR-CALNAME", "CPA suite: what is due", 1);
	ics_line(b, "REFRESH-INTERVAL;VALUE=DURATION", "PT1H", 0);
	ics_line(b, "X-PUBLISHED-TTL", "PT1H", 0);
	json_array_foreach(events, i, ev) {
		due = json_string_value(json_object_get(ev, "due_on"));
		end = json_string_value(json_object_get(ev, "end_on"));
		link = cpa_sprintf(ctx->arena, "%s%s", base,
		    json_string_value(json_object_get(ev, "link")) != NULL ?
		    json_string_value(json_object_get(ev, "link")) : "/");
		if (!ics_date(due) || !ics_date(end))
			continue;
		ics_line(b, "BEGIN", "VEVENT", 0);
		ics_line(b, "UID", cpa_sprintf(ctx->arena, "%" JSON_INTEGER_FORMAT "@cpa-suite",
		    json_integer_value(json_object_get(ev, "id"))), 0);
		ics_line(b, "DTSTAMP", stamp, 0);
		ics_line(b, "DTSTART;VALUE=DATE", due, 0);
		ics_line(b, "DTEND;VALUE=DATE", end, 0);
		ics_line(b, "SUMMARY", cpa_sprintf(ctx->arena, "%s: %s%s",
		    summary_of(json_string_value(json_object_get(ev, "kind"))),
		    json_string_value(json_object_get(ev, "initials")) != NULL ?
		    json_string_value(json_object_get(ev, "initials")) : "",
		    json_is_true(json_object_get(ev, "overdue")) ? " (overdue)" : ""), 1);
		ics_line(b, "DESCRIPTION", cpa_sprintf(ctx->arena,
		    "Open the record in CPA suite to act on it: %s", link), 1);
		ics_line(b, "URL", link, 0);
		ics_line(b, "TRANSP", "TRANSPARENT", 0);
		ics_line(b, "END", "VEVENT", 0);
	}
	ics_line(b, "END", "VCALENDAR", 0);
}

/* A token as cpa_random_token writes it: 43 characters of base64url. */
static int
token_valid(const char *s, size_t n)
{
	size_t i;

	if (n != CPA_TOKEN_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

/* Unknown, malformed and revoked tokens alike: 404 and nothing else. */
static void
feed_not_found(struct cpa_ctx *ctx)
{
	ctx->resp.status = 404;
	ctx->resp.content_type = "text/plain; charset=utf-8";
	ctx->resp.body.len = 0;
	cpa_buf_puts(&ctx->resp.body, "Not found\n");
}

int
calendar_ics(struct cpa_ctx *ctx)
{
	const char *token = cpa_param(&ctx->req, "token"), *params[3];
	char hash[CPA_SHA256_HEX + 1];
	size_t n = token != NULL ? strlen(token) : 0;
	json_t *feed, *events;
	PGresult *r;

	if (n > 4 && strcmp(token + n - 4, ".ics") == 0)
		n -= 4;
	if (token == NULL || !token_valid(token, n)) {
		feed_not_found(ctx);
		return CPA_OK;
	}
	cpa_sha256_hex(token, n, hash);
	params[0] = hash;
	params[1] = cpa_audit_sanitise(ctx->arena, ctx->req.remote_addr);
	params[2] = cpa_audit_sanitise(ctx->arena, ctx->req.request_id);
	cpa_db_begin(ctx);
	if ((r = cpa_db_exec(ctx, &q_feed_read, params)) == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	if (cpa_db_get(r, 0, "feed") == NULL) {
		feed_not_found(ctx);
		return CPA_OK;
	}
	if ((feed = cpa_db_json(ctx->arena, r, 0, "feed")) == NULL ||
	    !json_is_array(events = json_object_get(feed, "events"))) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	if (cpa_commit_or_fail(ctx, NULL) != CPA_OK)
		return CPA_OK;
	ctx->resp.body.len = 0;
	ics_write(ctx, events, &ctx->resp.body);
	ctx->resp.status = 200;
	ctx->resp.content_type = "text/calendar; charset=utf-8";
	cpa_header(ctx, "Content-Disposition", "inline; filename=\"cpa-suite.ics\"");
	return CPA_OK;
}
