/*
 * staff.c - sites, and staff administration by trust admins.  Row-level
 * security limits every query to the caller's sites; on top of that a trust
 * admin may create staff, and grant or remove roles, only at sites where
 * they hold trust_admin.  Any change of someone's roles or status ends that
 * person's sessions, so their next request runs with what they now hold.
 */
#include <string.h>

#include "auth.h"

static const struct cpa_stmt q_sites = {
	"auth_sites",
	"SELECT coalesce(json_agg(json_build_object("
	"  'id', s.id, 'code', s.code, 'name', s.name,"
	"  'districts', (SELECT coalesce(json_agg(json_build_object("
	"      'id', d.id, 'name', d.name, 'integrated', d.integrated,"
	"      'inclusive', d.inclusive,"
	"      'teams', (SELECT coalesce(json_agg(json_build_object("
	"          'id', t.id, 'name', t.name) ORDER BY t.name), '[]')"
	"        FROM team t WHERE t.district_id = d.id)"
	"    ) ORDER BY d.name), '[]') FROM district d WHERE d.site_id = s.id)"
	") ORDER BY s.name), '[]') AS sites"
	" FROM site s WHERE $1::bigint IS NULL OR s.id = $1::bigint",
	1
};

/* One staff member as JSON, with roles; "st" is the staff row. */
#define STAFF_JSON \
	"json_build_object('id', st.id, 'username', st.username," \
	" 'display_name', st.display_name, 'professional_role', st.professional_role," \
	" 'email', st.email, 'active', st.active, 'home_site_id', st.home_site_id," \
	" 'home_site_name', (SELECT hs.name FROM site hs WHERE hs.id = st.home_site_id)," \
	" 'version', st.version," \
	" 'roles', (SELECT coalesce(json_agg(json_build_object('id', r.id, 'role', r.role," \
	"   'site_id', r.site_id, 'site_name', rs.name, 'district_id', r.district_id," \
	"   'district_name', d.name, 'team_id', r.team_id, 'team_name', t.name)" \
	"   ORDER BY rs.name, r.role), '[]')" \
	"   FROM staff_role r JOIN site rs ON rs.id = r.site_id" \
	"   LEFT JOIN district d ON d.id = r.district_id" \
	"   LEFT JOIN team t ON t.id = r.team_id WHERE r.staff_id = st.id))"

static const struct cpa_stmt q_staff_list = {
	"auth_staff_list",
	"SELECT coalesce(json_agg(" STAFF_JSON " ORDER BY st.display_name), '[]') AS staff"
	" FROM staff st",
	0
};

static const struct cpa_stmt q_staff_one = {
	"auth_staff_one",
	"SELECT " STAFF_JSON " AS staff FROM staff st WHERE st.id = $1::bigint",
	1
};

static const struct cpa_stmt q_staff_insert = {
	"auth_staff_insert",
	"WITH st AS (INSERT INTO staff (username, display_name, professional_role, email,"
	"  password_hash, home_site_id) VALUES ($1, $2, $3, $4, $5, $6::bigint) RETURNING *)"
	" SELECT st.id, " STAFF_JSON " AS staff FROM st",
	6
};

/* Only staff employed at one of the admin's trust_admin sites ($6). */
static const struct cpa_stmt q_staff_update = {
	"auth_staff_update",
	"UPDATE staff SET display_name = coalesce($2, display_name),"
	" professional_role = coalesce($3, professional_role),"
	" email = coalesce($4, email), active = coalesce($5::boolean, active),"
	" updated_at = now(), version = version + 1"
	" WHERE id = $1::bigint AND home_site_id = ANY (string_to_array($6, ',')::bigint[])"
	" RETURNING id, home_site_id, active",
	6
};

/* Checks and insert in one statement: the district and team must belong to
 * the site, and the staff member must be visible to the caller. */
static const struct cpa_stmt q_role_insert = {
	"auth_role_insert",
	"WITH chk AS (SELECT"
	"  ($4::bigint IS NULL OR EXISTS (SELECT 1 FROM district"
	"     WHERE id = $4::bigint AND site_id = $3::bigint)) AS district_ok,"
	"  ($5::bigint IS NULL OR EXISTS (SELECT 1 FROM team WHERE id = $5::bigint"
	"     AND site_id = $3::bigint AND ($4::bigint IS NULL OR district_id = $4::bigint)))"
	"     AS team_ok,"
	"  EXISTS (SELECT 1 FROM staff WHERE id = $1::bigint) AS staff_ok),"
	" ins AS (INSERT INTO staff_role (staff_id, role, site_id, district_id, team_id,"
	"  granted_by) SELECT $1::bigint, $2, $3::bigint, $4::bigint, $5::bigint, $6::bigint"
	"  FROM chk WHERE district_ok AND team_ok AND staff_ok RETURNING *)"
	" SELECT chk.district_ok, chk.team_ok, chk.staff_ok, ins.id, json_build_object("
	"  'id', ins.id, 'staff_id', ins.staff_id, 'role', ins.role, 'site_id', ins.site_id,"
	"  'district_id', ins.district_id, 'team_id', ins.team_id) AS role"
	" FROM chk LEFT JOIN ins ON true",
	6
};

static const struct cpa_stmt q_role_delete = {
	"auth_role_delete",
	"DELETE FROM staff_role WHERE id = $2::bigint AND staff_id = $1::bigint"
	" AND site_id = ANY (string_to_array($3, ',')::bigint[]) RETURNING site_id",
	3
};

enum { NS_USERNAME, NS_DISPLAY, NS_PROF, NS_EMAIL, NS_PASSWORD, NS_SITE };
static const struct cpa_field staff_fields[] = {
	{ "username", "Username", CPA_FT_USERNAME, CPA_FF_REQUIRED, 3, 64, NULL },
	{ "display_name", "Full name", CPA_FT_LINE, CPA_FF_REQUIRED, 1, 120, NULL },
	{ "professional_role", "Professional role", CPA_FT_LINE, 0, 1, 80, NULL },
	{ "email", "Email address", CPA_FT_EMAIL, 0, 3, 254, NULL },
	{ "password", "Initial password", CPA_FT_PASSWORD, CPA_FF_REQUIRED,
	    CPA_PASSWORD_MIN, CPA_PASSWORD_MAX, NULL },
	{ "site_id", "Employing site", CPA_FT_ID, CPA_FF_REQUIRED, 0, 0, NULL },
};

enum { UP_DISPLAY, UP_PROF, UP_EMAIL, UP_ACTIVE };
static const struct cpa_field update_fields[] = {
	{ "display_name", "Full name", CPA_FT_LINE, 0, 1, 120, NULL },
	{ "professional_role", "Professional role", CPA_FT_LINE, 0, 1, 80, NULL },
	{ "email", "Email address", CPA_FT_EMAIL, 0, 3, 254, NULL },
	{ "active", "Active", CPA_FT_BOOL, 0, 0, 0, NULL },
};

enum { GR_ROLE, GR_SITE, GR_DISTRICT, GR_TEAM };
static const struct cpa_field grant_fields[] = {
	{ "role", "Role", CPA_FT_ENUM, CPA_FF_REQUIRED, 0, 0, cpa_role_names },
	{ "site_id", "Site", CPA_FT_ID, CPA_FF_REQUIRED, 0, 0, NULL },
	{ "district_id", "District", CPA_FT_ID, 0, 0, 0, NULL },
	{ "team_id", "Team", CPA_FT_ID, 0, 0, 0, NULL },
};

/* ------------------------------------------------------------- helpers */

/* "1,2": the sites where the caller is a trust admin. */
static const char *
admin_site_ids(struct cpa_ctx *ctx)
{
	struct cpa_buf b;
	size_t i;

	cpa_buf_init(&b, ctx->arena);
	for (i = 0; i < ctx->session->ngrants; i++)
		if (ctx->session->grants[i].role == CPA_ROLE_TRUST_ADMIN)
			cpa_buf_printf(&b, "%s%lld", b.len > 0 ? "," : "",
			    ctx->session->grants[i].site_id);
	return b.data;
}

json_t *
sites_json(struct cpa_ctx *ctx, long long site_id)
{
	const char *params[1];
	PGresult *r;

	params[0] = cpa_id_param(ctx->arena, site_id);
	r = cpa_db_exec(ctx, &q_sites, params);
	if (r == NULL)
		return NULL;
	return cpa_db_json(ctx->arena, r, 0, "sites");
}

/* The sites a trust admin administers, for the forms' site choices. */
static json_t *
admin_sites(struct cpa_ctx *ctx, json_t *sites, long long selected)
{
	json_t *out = json_array(), *s;
	size_t i;

	json_array_foreach(sites, i, s) {
		long long id = (long long)json_integer_value(json_object_get(s, "id"));

		if (!cpa_session_has_role(ctx->session, CPA_ROLE_TRUST_ADMIN, id))
			continue;
		s = json_deep_copy(s);
		json_object_set_new(s, "selected", json_boolean(id == selected));
		json_array_append_new(out, s);
	}
	return out;
}

/* --------------------------------------------------------------- sites */

int
sites_list(struct cpa_ctx *ctx)
{
	json_t *sites;

	cpa_db_begin(ctx);
	sites = sites_json(ctx, 0);
	if (sites == NULL || cpa_db_commit(ctx) != CPA_OK) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	cpa_render(ctx, 200, NULL, json_pack("{s:O}", "sites", sites));
	return CPA_OK;
}

int
site_show(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	json_t *sites;

	if (id == 0) {
		cpa_error(ctx, 404, NULL);
		return CPA_OK;
	}
	cpa_db_begin(ctx);
	sites = sites_json(ctx, id);
	if (sites == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	if (json_array_size(sites) == 0) {
		cpa_not_found(ctx, "site", cpa_param(&ctx->req, "id"));
		return CPA_OK;
	}
	if (cpa_db_commit(ctx) != CPA_OK) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	cpa_render(ctx, 200, NULL, json_pack("{s:O}", "site", json_array_get(sites, 0)));
	return CPA_OK;
}

/* --------------------------------------------------------------- staff */

int
staff_list(struct cpa_ctx *ctx)
{
	json_t *staff;
	PGresult *r;

	cpa_db_begin(ctx);
	r = cpa_db_exec(ctx, &q_staff_list, NULL);
	if (r == NULL || (staff = cpa_db_json(ctx->arena, r, 0, "staff")) == NULL ||
	    cpa_db_commit(ctx) != CPA_OK) {
		cpa_error_rc(ctx, r == NULL ? ctx->db_rc : CPA_ERR);
		return CPA_OK;
	}
	cpa_render(ctx, 200, "staff_list", json_pack("{s:s,s:O}", "title", "Staff",
	    "staff", staff));
	return CPA_OK;
}

static json_t *
staff_new_model(struct cpa_ctx *ctx, const struct cpa_input *in)
{
	json_t *sites = sites_json(ctx, 0), *form = json_object(), *m;
	long long selected = 0;
	size_t i;

	if (in != NULL) {
		for (i = 0; i < in->nfields; i++)
			if (in->values[i].present && i != NS_PASSWORD)
				json_object_set_new(form, in->fields[i].name,
				    json_string(in->values[i].str));
		selected = in->values[NS_SITE].present ? in->values[NS_SITE].num : 0;
	}
	m = json_pack("{s:s,s:o}", "title", "Add a staff member", "form", form);
	json_object_set_new(m, "sites", admin_sites(ctx, sites != NULL ? sites :
	    cpa_json_keep(ctx->arena, json_array()), selected));
	return m;
}

int
staff_new_page(struct cpa_ctx *ctx)
{
	json_t *m;

	cpa_db_begin(ctx);
	m = staff_new_model(ctx, NULL);
	if (ctx->db_rc != CPA_OK) {
		json_decref(m);
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	cpa_render(ctx, 200, "staff_new", m);
	return CPA_OK;
}

int
staff_create(struct cpa_ctx *ctx)
{
	char hash[CPA_PASSWORD_HASH_MAX];
	const char *params[6];
	struct cpa_input in;
	json_t *staff;
	PGresult *r;

	if (cpa_input_read(ctx, staff_fields, CPA_NFIELDS(staff_fields), &in) != CPA_OK)
		return CPA_OK;
	if (in.nerrors > 0) {
		cpa_db_begin(ctx);
		cpa_render_invalid(ctx, "staff_new", staff_new_model(ctx, &in), &in);
		return CPA_OK;
	}
	if (!cpa_session_has_role(ctx->session, CPA_ROLE_TRUST_ADMIN, in.values[NS_SITE].num)) {
		cpa_audit(ctx, "access_denied", "site", in.values[NS_SITE].str, 0, 0,
		    "staff_create at a site the caller does not administer");
		(void)cpa_db_commit(ctx);
		cpa_error(ctx, 403, "You can only add staff at sites you administer");
		return CPA_OK;
	}
	if (cpa_password_hash(in.values[NS_PASSWORD].str, in.values[NS_PASSWORD].len,
	    hash) != CPA_OK) {
		cpa_error(ctx, 500, NULL);
		return CPA_OK;
	}
	cpa_db_begin(ctx);
	params[0] = in.values[NS_USERNAME].str;
	params[1] = in.values[NS_DISPLAY].str;
	params[2] = cpa_value_or_null(&in.values[NS_PROF]);
	params[3] = cpa_value_or_null(&in.values[NS_EMAIL]);
	params[4] = hash;
	params[5] = in.values[NS_SITE].str;
	r = cpa_db_exec(ctx, &q_staff_insert, params);
	cpa_secret_wipe(hash, sizeof(hash));
	if (r == NULL && ctx->db_rc == CPA_ECONFLICT) {
		cpa_db_rollback(ctx);
		cpa_db_begin(ctx);
		cpa_render_field_error(ctx, 409, "staff_new", staff_new_model(ctx, &in),
		    "username", "That username is already taken");
		return CPA_OK;
	}
	if (r == NULL || (staff = cpa_db_json(ctx->arena, r, 0, "staff")) == NULL) {
		cpa_error_rc(ctx, r == NULL ? ctx->db_rc : CPA_ERR);
		return CPA_OK;
	}
	cpa_audit(ctx, "staff_created", "staff", cpa_db_get(r, 0, "id"), 0,
	    in.values[NS_SITE].num, in.values[NS_USERNAME].str);
	if (cpa_db_commit(ctx) != CPA_OK) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	cpa_render_created(ctx, cpa_sprintf(ctx->arena, ctx->req.wants_json ?
	    "/api/v1/staff/%s" : "/admin/staff/%s", cpa_db_get(r, 0, "id")),
	    json_pack("{s:O}", "staff", staff));
	return CPA_OK;
}

/* Everything the staff page shows: the person, and the choices for the
 * add-a-role form. */
static json_t *
staff_detail_model(struct cpa_ctx *ctx, json_t *staff)
{
	json_t *choices = json_array(), *sites;
	size_t i;

	for (i = 0; cpa_role_names[i] != NULL; i++)
		json_array_append_new(choices, json_pack("{s:s,s:s}", "value",
		    cpa_role_names[i], "label", cpa_role_names[i]));
	sites = sites_json(ctx, 0);
	return json_pack("{s:s,s:O,s:o,s:o}", "title",
	    json_string_value(json_object_get(staff, "display_name")), "staff", staff,
	    "role_choices", choices, "sites", admin_sites(ctx, sites != NULL ? sites :
	    cpa_json_keep(ctx->arena, json_array()), 0));
}

/* Fetch one staff member; on failure the response is already written. */
static json_t *
staff_fetch(struct cpa_ctx *ctx, long long id)
{
	PGresult *r = cpa_fetch_one(ctx, &q_staff_one, id, "staff");

	return r != NULL ? cpa_db_json(ctx->arena, r, 0, "staff") : NULL;
}

int
staff_show(struct cpa_ctx *ctx)
{
	json_t *staff;

	cpa_db_begin(ctx);
	staff = staff_fetch(ctx, cpa_param_id(&ctx->req, "id"));
	if (staff == NULL)
		return CPA_OK;
	if (ctx->req.wants_json) {
		cpa_render(ctx, 200, NULL, json_pack("{s:O}", "staff", staff));
		return CPA_OK;
	}
	cpa_render(ctx, 200, "staff_detail", staff_detail_model(ctx, staff));
	return CPA_OK;
}

/* After a change to someone's roles or status: end their sessions and
 * answer with their record as it now is. */
static void
staff_changed(struct cpa_ctx *ctx, long long staff_id, int status, json_t *extra)
{
	json_t *staff;

	if (cpa_db_commit(ctx) != CPA_OK) {
		json_decref(extra);
		cpa_error_rc(ctx, ctx->db_rc);
		return;
	}
	if (cpa_session_end_all(ctx, staff_id) != CPA_OK)
		cpa_log(CPA_LOG_ERROR, "session", "could not end sessions of staff %lld",
		    staff_id);
	if (!ctx->req.wants_json) {
		json_decref(extra);
		cpa_redirect(ctx, cpa_sprintf(ctx->arena, "/admin/staff/%lld", staff_id));
		return;
	}
	if (status == 204) {
		json_decref(extra);
		ctx->resp.status = 204;
		return;
	}
	if (extra != NULL) {
		cpa_header(ctx, "Location", cpa_sprintf(ctx->arena, "/api/v1/staff/%lld",
		    staff_id));
		cpa_render(ctx, status, NULL, extra);
		return;
	}
	cpa_db_begin(ctx);
	staff = staff_fetch(ctx, staff_id);
	if (staff == NULL)
		return;
	cpa_db_commit(ctx);
	cpa_render(ctx, status, NULL, json_pack("{s:O}", "staff", staff));
}

int
staff_update(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	const char *params[6];
	struct cpa_input in;
	PGresult *r;

	if (cpa_input_read(ctx, update_fields, CPA_NFIELDS(update_fields), &in) != CPA_OK)
		return CPA_OK;
	if (in.nerrors > 0) {
		cpa_render_invalid(ctx, NULL, NULL, &in);
		return CPA_OK;
	}
	if (id == 0) {
		cpa_error(ctx, 404, NULL);
		return CPA_OK;
	}
	cpa_db_begin(ctx);
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = cpa_value_or_null(&in.values[UP_DISPLAY]);
	params[2] = cpa_value_or_null(&in.values[UP_PROF]);
	params[3] = cpa_value_or_null(&in.values[UP_EMAIL]);
	params[4] = in.values[UP_ACTIVE].present ?
	    (in.values[UP_ACTIVE].num ? "true" : "false") : NULL;
	params[5] = admin_site_ids(ctx);
	r = cpa_db_exec(ctx, &q_staff_update, params);
	if (r == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	if (PQntuples(r) == 0) {
		cpa_not_found(ctx, "staff", params[0]);
		return CPA_OK;
	}
	cpa_audit(ctx, "staff_updated", "staff", params[0], 0,
	    cpa_db_ll(r, 0, "home_site_id"), params[4] != NULL ?
	    cpa_sprintf(ctx->arena, "active=%s", params[4]) : NULL);
	staff_changed(ctx, id, 200, NULL);
	return CPA_OK;
}

int
staff_role_grant(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id");
	const char *params[6];
	struct cpa_input in;
	json_t *staff = NULL, *role;
	PGresult *r;

	if (cpa_input_read(ctx, grant_fields, CPA_NFIELDS(grant_fields), &in) != CPA_OK)
		return CPA_OK;
	cpa_db_begin(ctx);
	if (in.nerrors > 0) {
		if (ctx->req.wants_json || (staff = staff_fetch(ctx, id)) != NULL)
			cpa_render_invalid(ctx, "staff_detail", ctx->req.wants_json ? NULL :
			    staff_detail_model(ctx, staff), &in);
		return CPA_OK;
	}
	if (!cpa_session_has_role(ctx->session, CPA_ROLE_TRUST_ADMIN, in.values[GR_SITE].num)) {
		cpa_audit(ctx, "access_denied", "site", in.values[GR_SITE].str, 0, 0,
		    "role grant at a site the caller does not administer");
		(void)cpa_db_commit(ctx);
		cpa_error(ctx, 403, "You can only grant roles at sites you administer");
		return CPA_OK;
	}
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = in.values[GR_ROLE].str;
	params[2] = in.values[GR_SITE].str;
	params[3] = cpa_value_or_null(&in.values[GR_DISTRICT]);
	params[4] = cpa_value_or_null(&in.values[GR_TEAM]);
	params[5] = cpa_id_param(ctx->arena, ctx->session->user_id);
	r = id == 0 ? NULL : cpa_db_exec(ctx, &q_role_insert, params);
	if (r == NULL && id != 0 && ctx->db_rc == CPA_ECONFLICT) {
		cpa_error(ctx, 409, "That person already has that role");
		return CPA_OK;
	}
	if (r == NULL && id != 0) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	if (id == 0 || strcmp(cpa_db_get(r, 0, "staff_ok"), "t") != 0) {
		cpa_not_found(ctx, "staff", cpa_param(&ctx->req, "id"));
		return CPA_OK;
	}
	if (strcmp(cpa_db_get(r, 0, "district_ok"), "t") != 0 ||
	    strcmp(cpa_db_get(r, 0, "team_ok"), "t") != 0) {
		int district = strcmp(cpa_db_get(r, 0, "district_ok"), "t") != 0;

		cpa_db_rollback(ctx);
		cpa_db_begin(ctx);
		staff = ctx->req.wants_json ? NULL : staff_fetch(ctx, id);
		if (!ctx->req.wants_json && staff == NULL)
			return CPA_OK;
		cpa_render_field_error(ctx, 422, "staff_detail", staff != NULL ?
		    staff_detail_model(ctx, staff) : NULL,
		    district ? "district_id" : "team_id", district ?
		    "Select a district in the chosen site" :
		    "Select a team in the chosen site and district");
		return CPA_OK;
	}
	role = cpa_db_json(ctx->arena, r, 0, "role");
	cpa_audit(ctx, "role_granted", "staff_role", cpa_db_get(r, 0, "id"), 0,
	    in.values[GR_SITE].num, cpa_sprintf(ctx->arena, "staff=%lld role=%s", id,
	    in.values[GR_ROLE].str));
	staff_changed(ctx, id, 201, json_pack("{s:O}", "role", role));
	return CPA_OK;
}

int
staff_role_revoke(struct cpa_ctx *ctx)
{
	long long id = cpa_param_id(&ctx->req, "id"), role_id = cpa_param_id(&ctx->req, "role_id");
	const char *params[3];
	PGresult *r;

	if (id == 0 || role_id == 0) {
		cpa_error(ctx, 404, NULL);
		return CPA_OK;
	}
	cpa_db_begin(ctx);
	params[0] = cpa_id_param(ctx->arena, id);
	params[1] = cpa_id_param(ctx->arena, role_id);
	params[2] = admin_site_ids(ctx);
	r = cpa_db_exec(ctx, &q_role_delete, params);
	if (r == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	if (PQntuples(r) == 0) {
		cpa_not_found(ctx, "staff_role", params[1]);
		return CPA_OK;
	}
	cpa_audit(ctx, "role_revoked", "staff_role", params[1], 0,
	    cpa_db_ll(r, 0, "site_id"), cpa_sprintf(ctx->arena, "staff=%lld", id));
	staff_changed(ctx, id, 204, NULL);
	return CPA_OK;
}
