/*
 * reviews.h - the cpa-reviews worker's handlers, and what its files share.
 * care_plans.c: written care plans, their immutable versions and copies.
 * reviews.c: CPA reviews: the one due, holding it, lists of reviews due.
 * contacts.c: contacts with the person, recorded in seconds.
 * admissions.c: inpatient admissions, discharges and 72-hour follow-ups.
 * inbox.c: a person's reminders: the inbox, acknowledging and snoozing.
 * calendar.c: the per-person iCalendar feed and its secret URL.
 * policy.c: a site's reminder policy (lead times and escalations).
 * shared.c: reminder kinds; a person's page of records with follow-ups.
 */
#ifndef CPA_REVIEWS_H
#define CPA_REVIEWS_H

#include "cpa.h"
#include "cpa_sql.h"

/* A follow-up as JSON, from a followup row aliased X: hours_left is whole
 * hours until it is due (negative once overdue), NULL unless open. */
#define FOLLOWUP_JSON(X) \
	"json_build_object('id', " X ".id, 'admission_id', " X ".admission_id," \
	" 'episode_id', " X ".episode_id, 'discharged_at', " X ".discharged_at," \
	" 'due_at', " X ".due_at, 'status', " X ".status, 'met_at', " X ".met_at," \
	" 'met_by_contact_id', " X ".met_by_contact_id," \
	" 'overdue', " X ".status = 'open' AND " X ".due_at < now()," \
	" 'hours_left', CASE WHEN " X ".status = 'open' THEN" \
	"   floor(extract(epoch FROM " X ".due_at - now()) / 3600)::int END)"

/* The episode of person $1 a request means, among those matching COND (a
 * condition on e that may name $2, the episode asked for): one in a team
 * the caller covers first, then the latest.  Its columns and "covered";
 * with "covered" false the checks refuse it. */
#define EPISODE_PICK(COND) \
	"SELECT e.*, " CALLER_COVERS("e.team_id") " AS covered FROM episode e" \
	" WHERE e.service_user_id = $1::bigint AND " COND \
	" ORDER BY covered DESC, e.started_at DESC, e.id DESC LIMIT 1"
/* An open episode: the one $2 names, or any. */
#define OPEN_EPISODE "e.ended_at IS NULL AND ($2::bigint IS NULL OR e.id = $2::bigint)"

/* shared.c */
/* The kinds of item a reminder is about (reminder.kind, 006), NULL-ended:
 * for the words the inbox, the calendar and the policy page give them. */
extern const char *const reminder_kinds[];
/* A person's page that lists their records (contacts, admissions) with
 * the follow-ups of the person's episodes in the caller's teams.  st is
 * run as cpa_person_page_load runs it ($2: whether a page's form is wanted);
 * its row also holds the records, followups, service_user and form. */
struct person_page {
	const struct cpa_stmt *st;
	const char *records;		/* their key and column; in messages ("contacts") */
	const char *entity;		/* the audit entity of a read ("contact") */
	const char *followups;		/* the follow-ups in the audit detail */
	const char *title;		/* the page's title, before the person's name */
};
/* The model of person id's page p (JSON: {records, followups}; a page:
 * also service_user and title), with the read audit row queued when audit
 * is set; *form gets the row's form for a page (kept by the arena; NULL
 * for JSON or when there is none).  NULL with the response written, as
 * cpa_person_page_load. */
json_t *person_page_model(struct cpa_ctx *ctx, const struct person_page *p,
    long long id, int audit, json_t **form);
/* care_plans.c */
int careplan_show(struct cpa_ctx *ctx);
int careplan_new_page(struct cpa_ctx *ctx);
int careplan_version_create(struct cpa_ctx *ctx);
int careplan_version_show(struct cpa_ctx *ctx);
int careplan_copy_add(struct cpa_ctx *ctx);
int careplan_print(struct cpa_ctx *ctx);

/* reviews.c */
int review_person(struct cpa_ctx *ctx);
int review_show(struct cpa_ctx *ctx);
int review_hold(struct cpa_ctx *ctx);
int review_list(struct cpa_ctx *ctx);

/* contacts.c */
int contact_list(struct cpa_ctx *ctx);
int contact_create(struct cpa_ctx *ctx);

/* admissions.c */
int admission_list(struct cpa_ctx *ctx);
int admission_create(struct cpa_ctx *ctx);
int admission_discharge(struct cpa_ctx *ctx);
int admission_ward_post(struct cpa_ctx *ctx);
int followup_list(struct cpa_ctx *ctx);

/* inbox.c */
int inbox_show(struct cpa_ctx *ctx);
int reminder_acknowledge(struct cpa_ctx *ctx);
int reminder_snooze(struct cpa_ctx *ctx);

/* calendar.c */
int calendar_feed_page(struct cpa_ctx *ctx);
int calendar_feed_create(struct cpa_ctx *ctx);
int calendar_feed_revoke(struct cpa_ctx *ctx);
int calendar_ics(struct cpa_ctx *ctx);

/* policy.c */
int policy_show(struct cpa_ctx *ctx);
int policy_update(struct cpa_ctx *ctx);

#endif
