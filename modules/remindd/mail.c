/*
 * mail.c - cpa-remindd's email: composes the message for one reminder and
 * hands it to the configured SMTP relay through libcurl.
 *
 * A message names the kind of item, when it is due, whether it is an
 * escalation and where to look (base_url/inbox); it never names the person
 * it concerns (no names, NHS numbers or dates of birth: email leaves the
 * trust's systems).  Its Message-ID is derived from the reminder id, so a
 * delivery retried after a crash is recognisable as the same message.
 * Messages are plain US-ASCII text with CRLF line ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "remindd.h"

#define SMTP_CONNECT_TIMEOUT 10	/* seconds, at most */
#define SMTP_ERROR_MAX 300	/* characters of a failure kept */

/* How each kind of item is named in a message.  with_time: the item is due
 * at a time of day (a follow-up), not on a date. */
static const struct kind_name {
	const char *kind;
	const char *label;		/* capitalised, for subjects */
	const char *noun;		/* after "A"/"An" in the body */
	const char *article;
	int with_time;
} kind_names[] = {
	{ "cpa_review", "CPA review", "CPA review", "A", 0 },
	{ "risk_review", "Risk assessment review", "risk assessment review", "A", 0 },
	{ "followup", "72-hour follow-up", "72-hour follow-up after discharge", "A", 1 },
	{ "carer_assessment", "Carer's assessment", "carer's assessment", "A", 0 },
};

#define NKINDS (sizeof(kind_names) / sizeof(kind_names[0]))

static const struct kind_name unknown_kind = { "", "Reminder", "item", "An", 0 };

struct mailer {
	const struct remindd_conf *conf;
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
};

/* The message being uploaded; libcurl reads it through read_cb. */
struct upload {
	const char *p;
	size_t left;
};

static const struct kind_name *
kind_find(const char *kind)
{
	size_t i;

	for (i = 0; i < NKINDS; i++)
		if (strcmp(kind_names[i].kind, kind) == 0)
			return &kind_names[i];
	return &unknown_kind;
}

/* An address that may go in a header and an SMTP command as it is:
 * printable ASCII without spaces, angle brackets, quotes or commas. */
static int
address_safe(const char *s)
{
	const char *p;

	if (s == NULL || !cpa_email_valid(s))
		return 0;
	for (p = s; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr("<>\"(),;\\", *p) != NULL)
			return 0;
	return 1;
}

/* "in 14 days", "tomorrow", "today", "overdue by 1 day" ... */
static void
when_words(struct cpa_buf *b, long long days)
{
	if (days > 1)
		cpa_buf_printf(b, "due in %lld days", days);
	else if (days == 1)
		cpa_buf_puts(b, "due tomorrow");
	else if (days == 0)
		cpa_buf_puts(b, "due today");
	else if (days == -1)
		cpa_buf_puts(b, "overdue by 1 day");
	else
		cpa_buf_printf(b, "overdue by %lld days", -days);
}

int
mail_compose(struct cpa_buf *out, const struct remindd_conf *conf,
    const struct reminder_mail *r, time_t now)
{
	const struct kind_name *k = kind_find(r->kind);
	char date[64];
	struct tm tm;

	if (!address_safe(r->to) || !address_safe(conf->smtp_from))
		return CPA_EINPUT;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);

	cpa_buf_printf(out, "Date: %s\r\n", date);
	cpa_buf_printf(out, "From: cpa-suite reminders <%s>\r\n", conf->smtp_from);
	cpa_buf_printf(out, "To: <%s>\r\n", r->to);
	cpa_buf_printf(out, "Message-ID: <reminder-%lld@cpa-suite>\r\n", r->id);
	cpa_buf_printf(out, "Subject: cpa-suite: %s ", k->label);
	when_words(out, r->days);
	cpa_buf_puts(out, r->escalation ? " (escalation)\r\n" : "\r\n");
	cpa_buf_puts(out, "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n"
	    "Auto-Submitted: auto-generated\r\n"
	    "\r\n");

	cpa_buf_puts(out, "Hello,\r\n\r\n");
	cpa_buf_printf(out, "%s %s on your list is ", k->article, k->noun);
	when_words(out, r->days);
	cpa_buf_printf(out, ",\r\n%s %s", r->days < 0 ? "it was due" : "due",
	    k->with_time ? "by" : "on");
	if (k->with_time)
		cpa_buf_printf(out, " %s at %s (UK time).\r\n", r->due_date, r->due_time);
	else
		cpa_buf_printf(out, " %s.\r\n", r->due_date);
	if (r->escalation)
		cpa_buf_puts(out, "\r\nThis is an escalation: the item is overdue, and you "
		    "are asked\r\nto make sure it is acted on.\r\n");
	cpa_buf_printf(out, "\r\nTo see who it concerns, and to acknowledge or snooze "
	    "this reminder,\r\nsign in to cpa-suite and open your inbox:\r\n\r\n"
	    "    %s/inbox\r\n\r\n", conf->base_url);
	cpa_buf_puts(out, "This email names no one on purpose: the details stay in "
	    "cpa-suite.\r\n\r\n");
	cpa_buf_printf(out, "Reminder reference %lld, step %d.\r\n", r->id, r->step);
	cpa_buf_puts(out, "-- \r\ncpa-suite (an automatic message: replies are not "
	    "read)\r\n");
	return CPA_OK;
}

static size_t
read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nmemb;

	if (n > u->left)
		n = u->left;
	memcpy(dst, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

struct mailer *
mailer_new(const struct remindd_conf *conf)
{
	struct mailer *m;
	CURL *c;
	long connect;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		abort();
	if ((c = curl_easy_init()) == NULL) {
		free(m);
		return NULL;
	}
	m->conf = conf;
	m->curl = c;
	connect = conf->smtp_timeout_seconds < SMTP_CONNECT_TIMEOUT ?
	    conf->smtp_timeout_seconds : SMTP_CONNECT_TIMEOUT;
	curl_easy_setopt(c, CURLOPT_URL, conf->smtp_url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, connect);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)conf->smtp_timeout_seconds);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, m->errbuf);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	if (conf->smtp_starttls)
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (conf->smtp_user[0] != '\0') {
		curl_easy_setopt(c, CURLOPT_USERNAME, conf->smtp_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, conf->smtp_password);
	}
	return m;
}

void
mailer_free(struct mailer *m)
{
	if (m == NULL)
		return;
	curl_easy_cleanup(m->curl);
	free(m);
}

/*
 * The relay's failure in err: libcurl's detailed message when it has one
 * (it quotes the server's reply, never our credentials), else the generic
 * text of the code, with the SMTP reply code when there was one.
 */
static void
send_error(struct mailer *m, CURLcode cc, char *err, size_t errlen)
{
	long reply = 0;
	const char *why = m->errbuf[0] != '\0' ? m->errbuf : curl_easy_strerror(cc);

	curl_easy_getinfo(m->curl, CURLINFO_RESPONSE_CODE, &reply);
	if (reply > 0)
		snprintf(err, errlen, "SMTP %ld: %.*s", reply, SMTP_ERROR_MAX, why);
	else
		snprintf(err, errlen, "%.*s", SMTP_ERROR_MAX, why);
}

int
mailer_send(struct mailer *m, const struct reminder_mail *r, char *err, size_t errlen)
{
	struct curl_slist *rcpt = NULL;
	struct upload up;
	struct cpa_buf msg;
	cpa_arena *a;
	CURLcode cc;
	int rc = CPA_ERR;

	a = cpa_arena_new();
	cpa_buf_init(&msg, a);
	if (mail_compose(&msg, m->conf, r, time(NULL)) != CPA_OK) {
		snprintf(err, errlen, "the recipient's address cannot be used in a message");
		goto out;
	}
	if ((rcpt = curl_slist_append(NULL, cpa_sprintf(a, "<%s>", r->to))) == NULL)
		abort();
	up.p = msg.data;
	up.left = msg.len;
	m->errbuf[0] = '\0';
	curl_easy_setopt(m->curl, CURLOPT_MAIL_FROM, cpa_sprintf(a, "<%s>", m->conf->smtp_from));
	curl_easy_setopt(m->curl, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(m->curl, CURLOPT_READDATA, &up);
	curl_easy_setopt(m->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)msg.len);
	if ((cc = curl_easy_perform(m->curl)) != CURLE_OK) {
		send_error(m, cc, err, errlen);
		goto out;
	}
	rc = CPA_OK;
out:
	/* The handle must not keep pointers into what is freed here. */
	curl_easy_setopt(m->curl, CURLOPT_MAIL_RCPT, NULL);
	curl_easy_setopt(m->curl, CURLOPT_READDATA, NULL);
	curl_slist_free_all(rcpt);
	cpa_arena_free(a);
	return rc;
}
