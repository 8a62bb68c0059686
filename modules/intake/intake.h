/*
 * intake.h - the cpa-intake worker's handlers, shared between its files.
 * referrals.c: referral intake, the triage queue and decisions.
 * people.c:    service user records, edits, search, a person's audit trail.
 * episodes.c:  CPA episodes (level, coordinator, closure), transfers, teams.
 * caseload.c:  coordinators' and managers' caseloads.
 */
#ifndef CPA_INTAKE_H
#define CPA_INTAKE_H

#include "cpa.h"
#include "cpa_sql.h"

/* referrals.c */
int referral_new_page(struct cpa_ctx *ctx);
int referral_create(struct cpa_ctx *ctx);
int referral_list(struct cpa_ctx *ctx);
int referral_show(struct cpa_ctx *ctx);
int referral_decide(struct cpa_ctx *ctx);

/* people.c */
int person_show(struct cpa_ctx *ctx);
int person_update(struct cpa_ctx *ctx);
int person_search_page(struct cpa_ctx *ctx);
int person_search(struct cpa_ctx *ctx);
int person_audit(struct cpa_ctx *ctx);

/* episodes.c */
int episode_show(struct cpa_ctx *ctx);
int episode_change_level(struct cpa_ctx *ctx);
int episode_change_coordinator(struct cpa_ctx *ctx);
int episode_close(struct cpa_ctx *ctx);
int episode_transfer(struct cpa_ctx *ctx);
int transfer_list(struct cpa_ctx *ctx);
int transfer_decide(struct cpa_ctx *ctx);
int team_list(struct cpa_ctx *ctx);

/* caseload.c */
int caseload_show(struct cpa_ctx *ctx);

#endif
