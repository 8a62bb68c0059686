/*
 * inbox.c - the unread count of the signed-in person's reminder inbox,
 * shown in the header of every HTML page (response.c asks for it).  The
 * inbox itself is cpa-reviews' (modules/reviews/inbox.c); what counts as
 * shown there and what counts here must agree: not acknowledged, not
 * cleared, not snoozed, the item still open.
 */
#include "cpa.h"

/* The caller's unread reminders; row-level security limits reminder to
 * the caller's own at the request's sites.  The partial index
 * reminder_recipient_idx (009) holds the uncleared ones by recipient
 * (the few acknowledged ones are filtered). */
static const struct cpa_stmt q_unread = {
	"common_inbox_unread",
	"SELECT count(*) AS n FROM reminder r"
	" WHERE r.recipient_id = cpa_user_id() AND r.acknowledged_at IS NULL"
	" AND r.cleared_at IS NULL AND r.read_at IS NULL"
	" AND (r.snoozed_until IS NULL OR r.snoozed_until <= now())"
	" AND EXISTS (SELECT 1 FROM due_item d WHERE d.id = r.due_item_id AND d.open)",
	0
};

long long
cpa_inbox_unread(struct cpa_ctx *ctx)
{
	PGresult *r;
	long long n = -1;

	/* Only between transactions: a handler's open or failed one, or
	 * writes still queued for its commit, are never touched. */
	if (ctx->session == NULL || ctx->txn > 1 ||
	    (ctx->txn == 1 && ctx->db_queue != NULL) || ctx->db_rc == CPA_EUNAVAIL)
		return -1;
	ctx->txn = 1;
	r = cpa_db_exec(ctx, &q_unread, NULL);
	if (r != NULL && PQntuples(r) == 1 && cpa_db_get(r, 0, "n") != NULL)
		n = cpa_db_ll(r, 0, "n");
	cpa_db_rollback(ctx);
	return n;
}
