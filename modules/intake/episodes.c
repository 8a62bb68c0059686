/*
 * episodes.c - placeholder: not implemented yet (answers 501).
 */
#include "intake.h"

int
episode_show(struct cpa_ctx *ctx)
{
	cpa_error(ctx, 501, "Not implemented yet");
	return CPA_OK;
}

int
episode_change_level(struct cpa_ctx *ctx)
{
	cpa_error(ctx, 501, "Not implemented yet");
	return CPA_OK;
}

int
episode_change_coordinator(struct cpa_ctx *ctx)
{
	cpa_error(ctx, 501, "Not implemented yet");
	return CPA_OK;
}

int
episode_close(struct cpa_ctx *ctx)
{
	cpa_error(ctx, 501, "Not implemented yet");
	return CPA_OK;
}

int
episode_transfer(struct cpa_ctx *ctx)
{
	cpa_error(ctx, 501, "Not implemented yet");
	return CPA_OK;
}

int
transfer_list(struct cpa_ctx *ctx)
{
	cpa_error(ctx, 501, "Not implemented yet");
	return CPA_OK;
}

int
transfer_decide(struct cpa_ctx *ctx)
{
	cpa_error(ctx, 501, "Not implemented yet");
	return CPA_OK;
}

int
team_list(struct cpa_ctx *ctx)
{
	cpa_error(ctx, 501, "Not implemented yet");
	return CPA_OK;
}
