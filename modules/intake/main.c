/*
 * main.c - cpa-intake: how a person enters the service and gets a named
 * care coordinator.  Referrals and their triage, service user records,
 * CPA episodes and transfers, caseloads.  The route table is the whole of
 * the worker's surface; every route needs a clinical role except the
 * audit trail.
 */
#include "intake.h"

#define CLIN CPA_ROLES_CLINICAL
#define AUDIT (CPA_ROLE_AUDITOR | CPA_ROLES_MANAGER)

static const struct cpa_route routes[] = {
	/* pages */
	{ "GET", "/referrals/new", referral_new_page, CLIN, 0 },
	{ "POST", "/referrals", referral_create, CLIN, 0 },
	{ "GET", "/referrals", referral_list, CLIN, 0 },
	{ "GET", "/referrals/{id}", referral_show, CLIN, 0 },
	{ "POST", "/referrals/{id}/decision", referral_decide, CLIN, 0 },
	{ "GET", "/service-users/search", person_search_page, CLIN, 0 },
	{ "POST", "/service-users/search", person_search, CLIN, 0 },
	{ "GET", "/service-users/{id}", person_show, CLIN, 0 },
	{ "POST", "/service-users/{id}", person_update, CLIN, 0 },
	{ "GET", "/service-users/{id}/audit", person_audit, AUDIT, 0 },
	{ "GET", "/episodes/{id}", episode_show, CLIN, 0 },
	{ "POST", "/episodes/{id}/level", episode_change_level, CLIN, 0 },
	{ "POST", "/episodes/{id}/coordinator", episode_change_coordinator, CLIN, 0 },
	{ "POST", "/episodes/{id}/close", episode_close, CLIN, 0 },
	{ "POST", "/episodes/{id}/transfer", episode_transfer, CLIN, 0 },
	{ "GET", "/transfers", transfer_list, CLIN, 0 },
	{ "POST", "/transfers/{id}/decision", transfer_decide, CLIN, 0 },
	{ "GET", "/caseload", caseload_show, CLIN, 0 },
	/* JSON API */
	{ "POST", "/api/v1/referrals", referral_create, CLIN, 0 },
	{ "GET", "/api/v1/referrals", referral_list, CLIN, 0 },
	{ "GET", "/api/v1/referrals/{id}", referral_show, CLIN, 0 },
	{ "POST", "/api/v1/referrals/{id}/decision", referral_decide, CLIN, 0 },
	{ "POST", "/api/v1/service-users/search", person_search, CLIN, 0 },
	{ "GET", "/api/v1/service-users/{id}", person_show, CLIN, 0 },
	{ "PUT", "/api/v1/service-users/{id}", person_update, CLIN, 0 },
	{ "GET", "/api/v1/service-users/{id}/audit", person_audit, AUDIT, 0 },
	{ "GET", "/api/v1/episodes/{id}", episode_show, CLIN, 0 },
	{ "POST", "/api/v1/episodes/{id}/level", episode_change_level, CLIN, 0 },
	{ "POST", "/api/v1/episodes/{id}/coordinator", episode_change_coordinator, CLIN, 0 },
	{ "POST", "/api/v1/episodes/{id}/close", episode_close, CLIN, 0 },
	{ "POST", "/api/v1/episodes/{id}/transfer", episode_transfer, CLIN, 0 },
	{ "GET", "/api/v1/teams", team_list, CLIN, 0 },
	{ "GET", "/api/v1/transfers", transfer_list, CLIN, 0 },
	{ "POST", "/api/v1/transfers/{id}/decision", transfer_decide, CLIN, 0 },
	{ "GET", "/api/v1/caseload", caseload_show, CLIN, 0 },
};

static const struct cpa_module module = {
	"intake", routes, sizeof(routes) / sizeof(routes[0])
};

int
main(int argc, char **argv)
{
	return cpa_main(argc, argv, &module);
}
