/*
 * risk.h - the cpa-risk worker's handlers.
 * assessments.c: structured risk assessments with their safety plans, the
 * draft -> submitted -> approved | returned workflow, the manager queue.
 */
#ifndef CPA_RISK_H
#define CPA_RISK_H

#include "cpa.h"
#include "cpa_sql.h"

/* assessments.c */
int risk_person_list(struct cpa_ctx *ctx);
int risk_create(struct cpa_ctx *ctx);
int risk_show(struct cpa_ctx *ctx);
int risk_save(struct cpa_ctx *ctx);
int risk_submit(struct cpa_ctx *ctx);
int risk_approve(struct cpa_ctx *ctx);
int risk_return(struct cpa_ctx *ctx);
int risk_queue(struct cpa_ctx *ctx);

#endif
