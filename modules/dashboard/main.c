/*
 * main.c - cpa-dashboard: district and team dashboards for managers,
 * trust admins and auditors (figures now and over a period, monthly
 * trends, districts compared), the drill-down from a team's figure to
 * the people behind it, and CSV downloads of every page.  The route
 * table is the whole of the worker's surface; the handlers decide which
 * teams the caller sees, and who may see names.
 */
#include "dashboard.h"

#define DASH DASH_ROLES

static const struct cpa_route routes[] = {
	/* pages (?format=csv: the page as CSV) */
	{ "GET", "/dashboard", dash_trust, DASH, 0 },
	{ "GET", "/dashboard/compare", dash_compare, DASH, 0 },
	{ "GET", "/dashboard/sites/{id}", dash_site, DASH, 0 },
	{ "GET", "/dashboard/districts/{id}", dash_district, DASH, 0 },
	{ "GET", "/dashboard/teams/{id}", dash_team, DASH, 0 },
	{ "GET", "/dashboard/teams/{id}/people", dash_people, DASH, 0 },
	/* JSON */
	{ "GET", "/api/v1/dashboard", dash_trust, DASH, 0 },
	{ "GET", "/api/v1/dashboard/compare", dash_compare, DASH, 0 },
	{ "GET", "/api/v1/dashboard/sites/{id}", dash_site, DASH, 0 },
	{ "GET", "/api/v1/dashboard/districts/{id}", dash_district, DASH, 0 },
	{ "GET", "/api/v1/dashboard/teams/{id}", dash_team, DASH, 0 },
	{ "GET", "/api/v1/dashboard/teams/{id}/people", dash_people, DASH, 0 },
};

static const struct cpa_module module = {
	"dashboard", routes, sizeof(routes) / sizeof(routes[0])
};

int
main(int argc, char **argv)
{
	return cpa_main(argc, argv, &module);
}
