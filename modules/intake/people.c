/*
 * people.c - placeholder: not implemented yet (answers 501).
 */
#include "intake.h"

int
person_show(struct cpa_ctx *ctx)
{
	cpa_error(ctx, 501, "Not implemented yet");
	return CPA_OK;
}

int
person_update(struct cpa_ctx *ctx)
{
	cpa_error(ctx, 501, "Not implemented yet");
	return CPA_OK;
}

int
person_search_page(struct cpa_ctx *ctx)
{
	cpa_error(ctx, 501, "Not implemented yet");
	return CPA_OK;
}

int
person_search(struct cpa_ctx *ctx)
{
	cpa_error(ctx, 501, "Not implemented yet");
	return CPA_OK;
}

int
person_audit(struct cpa_ctx *ctx)
{
	cpa_error(ctx, 501, "Not implemented yet");
	return CPA_OK;
}
