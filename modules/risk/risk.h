/*
 * risk.h - the cpa-risk worker's handlers.
 * assessments.c: structured risk assessments with their safety plans, the
 * draft -> submitted -> approved | returned workflow, the manager queue.
 * changes.c: what changed between two versions of a person's assessment.
 * safety_plan.c: the safety plan in plain language, for printing.
 * reviews.c: early review requests and the list of reviews due.
 */
#ifndef CPA_RISK_H
#define CPA_RISK_H

#include "cpa.h"
#include "cpa_sql.h"

/* The levels of risk (risk_domain.level, overall_level), lowest first,
 * NULL-terminated; and their words, in that order (assessments.c). */
extern const char *const risk_levels[];
extern const char *const risk_level_labels[];

/* assessments.c */
int risk_person_list(struct cpa_ctx *ctx);
int risk_create(struct cpa_ctx *ctx);
int risk_show(struct cpa_ctx *ctx);
int risk_save(struct cpa_ctx *ctx);
int risk_submit(struct cpa_ctx *ctx);
int risk_approve(struct cpa_ctx *ctx);
int risk_return(struct cpa_ctx *ctx);
int risk_queue(struct cpa_ctx *ctx);

/* changes.c */
int risk_changes(struct cpa_ctx *ctx);

/* safety_plan.c */
int risk_safety_plan(struct cpa_ctx *ctx);

/* reviews.c */
int risk_review_request(struct cpa_ctx *ctx);
int risk_reviews(struct cpa_ctx *ctx);

#endif
