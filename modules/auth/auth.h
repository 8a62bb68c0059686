/*
 * auth.h - the cpa-auth worker's handlers, shared between its files.
 * signin.c: sessions, the signed-in user, passwords, the home page.
 * staff.c:  sites, and staff administration for trust admins.
 */
#ifndef CPA_AUTH_H
#define CPA_AUTH_H

#include "cpa.h"

int signin_page(struct cpa_ctx *ctx);
int signin_submit(struct cpa_ctx *ctx);
int session_show(struct cpa_ctx *ctx);
int session_end(struct cpa_ctx *ctx);
int session_end_everywhere(struct cpa_ctx *ctx);
int me_show(struct cpa_ctx *ctx);
int password_page(struct cpa_ctx *ctx);
int password_change(struct cpa_ctx *ctx);
int home_page(struct cpa_ctx *ctx);

int sites_list(struct cpa_ctx *ctx);
int site_show(struct cpa_ctx *ctx);
int staff_list(struct cpa_ctx *ctx);
int staff_new_page(struct cpa_ctx *ctx);
int staff_create(struct cpa_ctx *ctx);
int staff_show(struct cpa_ctx *ctx);
int staff_update(struct cpa_ctx *ctx);
int staff_role_grant(struct cpa_ctx *ctx);
int staff_role_revoke(struct cpa_ctx *ctx);

/* Sites visible to the caller as a JSON array (districts and teams nested);
 * site_id > 0 narrows to one.  NULL on failure, with ctx->db_rc set.  The
 * result is kept by the request arena. */
json_t *sites_json(struct cpa_ctx *ctx, long long site_id);

#endif
