/*
 * referrals.c - placeholder: not implemented yet (answers 501).
 */
#include "intake.h"

int
referral_new_page(struct cpa_ctx *ctx)
{
	cpa_error(ctx, 501, "Not implemented yet");
	return CPA_OK;
}

int
referral_create(struct cpa_ctx *ctx)
{
	cpa_error(ctx, 501, "Not implemented yet");
	return CPA_OK;
}

int
referral_list(struct cpa_ctx *ctx)
{
	cpa_error(ctx, 501, "Not implemented yet");
	return CPA_OK;
}

int
referral_show(struct cpa_ctx *ctx)
{
	cpa_error(ctx, 501, "Not implemented yet");
	return CPA_OK;
}

int
referral_decide(struct cpa_ctx *ctx)
{
	cpa_error(ctx, 501, "Not implemented yet");
	return CPA_OK;
}
