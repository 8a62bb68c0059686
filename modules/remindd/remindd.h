/*
 * remindd.h - what the two halves of cpa-remindd share: its settings
 * (main.c reads them) and the mailer that delivers one reminder by SMTP
 * (mail.c).
 */
#ifndef REMINDD_H
#define REMINDD_H

#include <time.h>

#include "cpa.h"

/* The daemon's settings: defaults, then the config file, then CPA_<KEY>
 * environment variables (see main.c for the table).  Strings are heap
 * copies owned by the struct; remindd_conf_free() wipes and frees them. */
struct remindd_conf {
	char *db_conninfo;		/* libpq conninfo of cpa_app */
	int db_statement_timeout_ms;
	char *log_level;
	char *smtp_url;			/* smtp://host:port or smtps://host:port */
	int smtp_starttls;		/* 1: STARTTLS required on smtp:// */
	char *smtp_from;		/* envelope and header From */
	char *smtp_user;		/* "" = no authentication */
	char *smtp_password;
	int smtp_timeout_seconds;	/* whole SMTP transaction of one message */
	char *base_url;			/* links in messages: base_url/inbox */
	int sweep_interval;		/* seconds between wakes at the latest */
	int batch_size;			/* due items per remind_sweep call */
	int email_batch;		/* reminders per remind_claim_email call */
	int lease_seconds;		/* how long a claim on an email holds */
	int dashboard_refresh_interval;	/* seconds between dashboard refreshes; 0 never */
};

/* One reminder to email, as remind_claim_email() hands it over (strings
 * borrowed from the PGresult, valid until it is cleared).  The message
 * built from it names the kind of item and when it is due, never the
 * person it concerns. */
struct reminder_mail {
	long long id;
	const char *to;			/* the staff member's address */
	const char *kind;		/* cpa_review, risk_review, followup, carer_assessment */
	const char *due_date;		/* YYYY-MM-DD, Europe/London */
	const char *due_time;		/* HH:MM, Europe/London */
	long long days;			/* due date minus today (negative: overdue) */
	int escalation;
	int step;
};

struct mailer;

/* A mailer holds one libcurl handle, so consecutive messages reuse the
 * relay connection.  conf is borrowed and must outlive the mailer.
 * curl_global_init() must have been called. */
struct mailer *mailer_new(const struct remindd_conf *conf);
void mailer_free(struct mailer *m);
/* Send one message.  CPA_OK when the relay accepted it; otherwise
 * CPA_ERR with a one-line reason (no credentials) in err. */
int mailer_send(struct mailer *m, const struct reminder_mail *r, char *err, size_t errlen);
/* The whole message (headers and body, CRLF line ends) into out, with
 * now as its Date.  CPA_EINPUT when r->to cannot be put in a header. */
int mail_compose(struct cpa_buf *out, const struct remindd_conf *conf,
    const struct reminder_mail *r, time_t now);

#endif
