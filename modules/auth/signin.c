/*
 * signin.c - signing in and out, the signed-in user, password changes and
 * the home page.  Sign-in answers the same "Incorrect username or password"
 * whether the account exists, is deactivated or the password is wrong, and
 * spends the same argon2 time in each case.
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"

static const char bad_credentials[] = "Incorrect username or password";

/* One round trip: the stored hash and, for an active account, the profile
 * the session is built from. */
static const struct cpa_stmt q_credentials = {
	"auth_credentials",
	"SELECT c.staff_id, c.password_hash, c.active, auth_profile(c.staff_id) AS profile"
	" FROM auth_credentials($1) c",
	1
};

static const struct cpa_stmt q_set_password = {
	"auth_set_password",
	"SELECT auth_set_password($1::bigint, $2) AS changed, auth_profile($1::bigint) AS profile",
	2
};

enum { SIGNIN_USERNAME, SIGNIN_PASSWORD };
static const struct cpa_field signin_fields[] = {
	{ "username", "Username", CPA_FT_LINE, CPA_FF_REQUIRED, 1, 64, NULL },
	{ "password", "Password", CPA_FT_PASSWORD, CPA_FF_REQUIRED, 1, CPA_PASSWORD_MAX, NULL },
};

enum { PW_CURRENT, PW_NEW };
static const struct cpa_field password_fields[] = {
	{ "current_password", "Current password", CPA_FT_PASSWORD, CPA_FF_REQUIRED,
	    1, CPA_PASSWORD_MAX, NULL },
	{ "new_password", "New password", CPA_FT_PASSWORD, CPA_FF_REQUIRED,
	    CPA_PASSWORD_MIN, CPA_PASSWORD_MAX, NULL },
};

/* {"user": ..., "csrf_token": ...} for the current session. */
static json_t *
session_model(const struct cpa_ctx *ctx)
{
	return json_pack("{s:o,s:s}", "user", cpa_session_user_json(ctx->session),
	    "csrf_token", ctx->session->csrf);
}

static json_t *
signin_model(const struct cpa_input *in)
{
	json_t *m = json_pack("{s:s}", "title", "Sign in");

	if (in != NULL && in->values[SIGNIN_USERNAME].present)
		json_object_set_new(m, "form", json_pack("{s:s}", "username",
		    in->values[SIGNIN_USERNAME].str));
	return m;
}

int
signin_page(struct cpa_ctx *ctx)
{
	if (ctx->session != NULL && !ctx->req.wants_json) {
		cpa_redirect(ctx, "/");
		return CPA_OK;
	}
	cpa_render(ctx, 200, "signin", signin_model(NULL));
	return CPA_OK;
}

/* Wrong credentials: counted, audited, and answered with one message. */
static void
signin_refused(struct cpa_ctx *ctx, const struct cpa_input *in, const char *username)
{
	json_t *m;

	cpa_throttle_failure(ctx, username);
	ctx->actor_name = username;
	cpa_audit(ctx, "signin_failed", "staff", NULL, 0, 0, NULL);
	if (cpa_db_commit(ctx) != CPA_OK) {
		cpa_error(ctx, 503, NULL);
		return;
	}
	if (ctx->req.wants_json) {
		cpa_error(ctx, 401, bad_credentials);
		return;
	}
	m = signin_model(in);
	json_object_set_new(m, "errors", json_pack("[{s:s,s:s}]", "field", "username",
	    "message", bad_credentials));
	json_object_set_new(m, "error_username", json_string(bad_credentials));
	cpa_render(ctx, 401, "signin", m);
}

int
signin_submit(struct cpa_ctx *ctx)
{
	struct cpa_input in;
	const char *params[1], *username, *hash;
	const struct cpa_value *pw;
	json_t *profile;
	PGresult *r;
	int wait, ok;
	char retry[16];

	if (cpa_input_read(ctx, signin_fields, CPA_NFIELDS(signin_fields), &in) != CPA_OK)
		return CPA_OK;
	if (in.nerrors > 0) {
		cpa_render_invalid(ctx, "signin", signin_model(&in), &in);
		return CPA_OK;
	}
	username = in.values[SIGNIN_USERNAME].str;
	pw = &in.values[SIGNIN_PASSWORD];

	if (cpa_throttle_check(ctx, username, &wait) != CPA_OK) {
		cpa_error(ctx, 503, NULL);
		return CPA_OK;
	}
	if (wait > 0) {
		snprintf(retry, sizeof(retry), "%d", wait);
		cpa_header(ctx, "Retry-After", retry);
		cpa_error(ctx, 429, "Too many failed sign-in attempts. Wait a few minutes, "
		    "then try again.");
		return CPA_OK;
	}

	cpa_db_begin(ctx);
	params[0] = username;
	r = cpa_db_exec(ctx, &q_credentials, params);
	if (r == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	hash = PQntuples(r) == 1 ? cpa_db_get(r, 0, "password_hash") : NULL;
	/* Always verify, so unknown and deactivated accounts take as long. */
	ok = cpa_password_verify(hash, pw->str, pw->len);
	profile = PQntuples(r) == 1 ? cpa_db_json(ctx->arena, r, 0, "profile") : NULL;
	if (!ok || profile == NULL) {
		signin_refused(ctx, &in, username);
		return CPA_OK;
	}

	cpa_throttle_clear(ctx, username);
	ctx->actor_id = cpa_db_ll(r, 0, "staff_id");
	ctx->actor_name = username;
	cpa_audit(ctx, "signin", "staff", cpa_db_get(r, 0, "staff_id"), 0, 0, NULL);
	if (cpa_db_commit(ctx) != CPA_OK || cpa_session_start(ctx, profile) != CPA_OK) {
		cpa_error(ctx, 503, NULL);
		return CPA_OK;
	}
	if (!ctx->req.wants_json) {
		cpa_redirect(ctx, "/");
		return CPA_OK;
	}
	cpa_render(ctx, 200, NULL, session_model(ctx));
	return CPA_OK;
}

int
session_show(struct cpa_ctx *ctx)
{
	cpa_render(ctx, 200, NULL, session_model(ctx));
	return CPA_OK;
}

int
me_show(struct cpa_ctx *ctx)
{
	cpa_render(ctx, 200, NULL, json_pack("{s:o}", "user",
	    cpa_session_user_json(ctx->session)));
	return CPA_OK;
}

/* Sign-out must work even when the audit cannot be written: the session is
 * ended first and a failed audit only logged. */
static void
signed_out(struct cpa_ctx *ctx, int rc)
{
	if (cpa_db_commit(ctx) != CPA_OK)
		cpa_log(CPA_LOG_WARN, "audit", "sign-out not audited");
	if (rc != CPA_OK) {
		cpa_error(ctx, 503, NULL);
		return;
	}
	if (ctx->req.wants_json) {
		ctx->resp.status = 204;
		return;
	}
	cpa_redirect(ctx, "/signin");
}

int
session_end(struct cpa_ctx *ctx)
{
	cpa_audit(ctx, "signout", "staff", NULL, 0, 0, NULL);
	signed_out(ctx, cpa_session_end(ctx));
	return CPA_OK;
}

int
session_end_everywhere(struct cpa_ctx *ctx)
{
	cpa_audit(ctx, "signout_all", "staff", NULL, 0, 0, NULL);
	signed_out(ctx, cpa_session_end_all(ctx, ctx->session->user_id));
	return CPA_OK;
}

int
password_page(struct cpa_ctx *ctx)
{
	cpa_render(ctx, 200, "password", json_pack("{s:s}", "title", "Change your password"));
	return CPA_OK;
}

int
password_change(struct cpa_ctx *ctx)
{
	static const char title[] = "Change your password";
	char hash[CPA_PASSWORD_HASH_MAX];
	const char *params[2];
	struct cpa_input in;
	const struct cpa_value *cur, *pw;
	json_t *profile;
	PGresult *r;

	if (cpa_input_read(ctx, password_fields, CPA_NFIELDS(password_fields), &in) != CPA_OK)
		return CPA_OK;
	if (in.nerrors > 0) {
		cpa_render_invalid(ctx, "password", json_pack("{s:s}", "title", title), &in);
		return CPA_OK;
	}
	cur = &in.values[PW_CURRENT];
	pw = &in.values[PW_NEW];

	cpa_db_begin(ctx);
	params[0] = ctx->session->username;
	r = cpa_db_exec(ctx, &q_credentials, params);
	if (r == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	if (PQntuples(r) != 1 ||
	    !cpa_password_verify(cpa_db_get(r, 0, "password_hash"), cur->str, cur->len)) {
		static const struct cpa_field_error wrong = {
			"current_password", "Your current password is incorrect"
		};
		struct cpa_input bad = in;

		cpa_throttle_failure(ctx, ctx->session->username);
		bad.errors = (struct cpa_field_error *)(uintptr_t)&wrong;
		bad.nerrors = 1;
		cpa_render_invalid(ctx, "password", json_pack("{s:s}", "title", title), &bad);
		return CPA_OK;
	}
	if (cpa_password_hash(pw->str, pw->len, hash) != CPA_OK) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	params[0] = cpa_sprintf(ctx->arena, "%lld", ctx->session->user_id);
	params[1] = hash;
	r = cpa_db_exec(ctx, &q_set_password, params);
	cpa_secret_wipe(hash, sizeof(hash));
	if (r == NULL || PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
		cpa_error_rc(ctx, r == NULL ? ctx->db_rc : CPA_ERR);
		return CPA_OK;
	}
	profile = cpa_db_json(ctx->arena, r, 0, "profile");
	cpa_audit(ctx, "password_changed", "staff", params[0], 0, 0, NULL);
	if (cpa_db_commit(ctx) != CPA_OK) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	/* Every session of this user ends; this browser gets a fresh one. */
	if (profile == NULL || cpa_session_end_all(ctx, ctx->session->user_id) != CPA_OK ||
	    cpa_session_start(ctx, profile) != CPA_OK) {
		cpa_error(ctx, 503, NULL);
		return CPA_OK;
	}
	if (ctx->req.wants_json)
		cpa_render(ctx, 200, NULL, session_model(ctx));
	else
		cpa_render(ctx, 200, "password", json_pack("{s:s,s:b}", "title", title,
		    "done", 1));
	return CPA_OK;
}

int
home_page(struct cpa_ctx *ctx)
{
	json_t *sites, *site;
	size_t i;

	cpa_db_begin(ctx);
	sites = sites_json(ctx, 0);
	if (sites == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	cpa_db_commit(ctx);
	/* Each site says whether this user administers it (its reminder
	 * policy and staff are theirs to change). */
	json_array_foreach(sites, i, site)
		json_object_set_new(site, "administer", json_boolean(cpa_session_has_role(
		    ctx->session, CPA_ROLE_TRUST_ADMIN,
		    json_integer_value(json_object_get(site, "id")))));
	cpa_render(ctx, 200, "home", json_pack("{s:s,s:O,s:b,s:b,s:b}", "title",
	    "Your account", "sites", sites, "is_admin",
	    cpa_session_has_role(ctx->session, CPA_ROLE_TRUST_ADMIN, 0), "is_clinical",
	    cpa_session_has_role(ctx->session, CPA_ROLES_CLINICAL, 0), "sees_dashboards",
	    cpa_session_has_role(ctx->session, CPA_ROLE_TEAM_MANAGER |
	    CPA_ROLE_DISTRICT_MANAGER | CPA_ROLE_TRUST_ADMIN | CPA_ROLE_AUDITOR, 0)));
	return CPA_OK;
}
