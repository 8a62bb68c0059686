/*
 * caseload.c - placeholder: not implemented yet (answers 501).
 */
#include "intake.h"

int
caseload_show(struct cpa_ctx *ctx)
{
	cpa_error(ctx, 501, "Not implemented yet");
	return CPA_OK;
}
