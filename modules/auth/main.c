/*
 * main.c - cpa-auth: sign-in, sessions, the signed-in user, sites and staff
 * administration.  The route table is the whole of the worker's surface.
 */
#include "auth.h"

#define ADMIN CPA_ROLE_TRUST_ADMIN

static const struct cpa_route routes[] = {
	/* pages */
	{ "GET", "/signin", signin_page, CPA_ROLE_ANY, CPA_RF_PUBLIC },
	{ "POST", "/signin", signin_submit, CPA_ROLE_ANY, CPA_RF_PUBLIC | CPA_RF_NO_CSRF },
	{ "POST", "/signout", session_end, CPA_ROLE_ANY, 0 },
	{ "POST", "/signout-everywhere", session_end_everywhere, CPA_ROLE_ANY, 0 },
	{ "GET", "/", home_page, CPA_ROLE_ANY, 0 },
	{ "GET", "/account/password", password_page, CPA_ROLE_ANY, 0 },
	{ "POST", "/account/password", password_change, CPA_ROLE_ANY, 0 },
	{ "GET", "/admin/staff", staff_list, ADMIN, 0 },
	{ "GET", "/admin/staff/new", staff_new_page, ADMIN, 0 },
	{ "POST", "/admin/staff", staff_create, ADMIN, 0 },
	{ "GET", "/admin/staff/{id}", staff_show, ADMIN, 0 },
	{ "POST", "/admin/staff/{id}/roles", staff_role_grant, ADMIN, 0 },
	{ "POST", "/admin/staff/{id}/roles/{role_id}/delete", staff_role_revoke, ADMIN, 0 },
	/* JSON API */
	{ "POST", "/api/v1/session", signin_submit, CPA_ROLE_ANY, CPA_RF_PUBLIC | CPA_RF_NO_CSRF },
	{ "GET", "/api/v1/session", session_show, CPA_ROLE_ANY, 0 },
	{ "DELETE", "/api/v1/session", session_end, CPA_ROLE_ANY, 0 },
	{ "DELETE", "/api/v1/sessions", session_end_everywhere, CPA_ROLE_ANY, 0 },
	{ "GET", "/api/v1/me", me_show, CPA_ROLE_ANY, 0 },
	{ "PUT", "/api/v1/me/password", password_change, CPA_ROLE_ANY, 0 },
	{ "GET", "/api/v1/sites", sites_list, CPA_ROLE_ANY, 0 },
	{ "GET", "/api/v1/sites/{id}", site_show, CPA_ROLE_ANY, 0 },
	{ "GET", "/api/v1/staff", staff_list, ADMIN, 0 },
	{ "POST", "/api/v1/staff", staff_create, ADMIN, 0 },
	{ "GET", "/api/v1/staff/{id}", staff_show, ADMIN, 0 },
	{ "PATCH", "/api/v1/staff/{id}", staff_update, ADMIN, 0 },
	{ "POST", "/api/v1/staff/{id}/roles", staff_role_grant, ADMIN, 0 },
	{ "DELETE", "/api/v1/staff/{id}/roles/{role_id}", staff_role_revoke, ADMIN, 0 },
};

static const struct cpa_module module = {
	"auth", routes, sizeof(routes) / sizeof(routes[0])
};

int
main(int argc, char **argv)
{
	return cpa_main(argc, argv, &module);
}
