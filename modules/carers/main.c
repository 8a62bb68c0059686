/*
 * main.c - cpa-carers: the family and friends who support a person: who
 * they are, what the person agrees they may be told, the carer's own
 * assessment, and each time they were involved.  The route table is the
 * whole of the worker's surface; the handlers check the team, the site
 * and the consent.
 */
#include "carers.h"

#define CLIN CPA_ROLES_CLINICAL

static const struct cpa_route routes[] = {
	/* pages */
	{ "GET", "/service-users/{id}/carers", carers_person, CLIN, 0 },
	{ "POST", "/service-users/{id}/carers", carer_add, CLIN, 0 },
	{ "POST", "/service-users/{id}/involvement", involvement_add, CLIN, 0 },
	{ "GET", "/carers", carers_caseload, CLIN, 0 },
	{ "GET", "/carers/{id}", carer_show, CLIN, 0 },
	{ "POST", "/carers/{id}", carer_update, CLIN, 0 },
	{ "POST", "/carer-links/{id}/end", carer_link_end, CLIN, 0 },
	{ "POST", "/carer-links/{id}/consent", consent_record, CLIN, 0 },
	{ "POST", "/carer-links/{id}/consent/withdraw", consent_withdraw, CLIN, 0 },
	{ "GET", "/carer-links/{id}/care-plan", carer_copy_care_plan, CLIN, 0 },
	{ "GET", "/carer-links/{id}/safety-plan", carer_copy_safety_plan, CLIN, 0 },
	{ "POST", "/carer-links/{id}/assessments", assessment_offer, CLIN, 0 },
	{ "POST", "/carer-assessments/{id}", assessment_change, CLIN, 0 },
	/* JSON */
	{ "GET", "/api/v1/service-users/{id}/carers", carers_person, CLIN, 0 },
	{ "POST", "/api/v1/service-users/{id}/carers", carer_add, CLIN, 0 },
	{ "GET", "/api/v1/service-users/{id}/involvement", involvement_list, CLIN, 0 },
	{ "POST", "/api/v1/service-users/{id}/involvement", involvement_add, CLIN, 0 },
	{ "GET", "/api/v1/carers", carers_caseload, CLIN, 0 },
	{ "GET", "/api/v1/carers/{id}", carer_show, CLIN, 0 },
	{ "PUT", "/api/v1/carers/{id}", carer_update, CLIN, 0 },
	{ "POST", "/api/v1/carer-links/{id}/end", carer_link_end, CLIN, 0 },
	{ "POST", "/api/v1/carer-links/{id}/consent", consent_record, CLIN, 0 },
	{ "POST", "/api/v1/carer-links/{id}/consent/withdraw", consent_withdraw, CLIN, 0 },
	{ "GET", "/api/v1/carer-links/{id}/care-plan", carer_copy_care_plan, CLIN, 0 },
	{ "GET", "/api/v1/carer-links/{id}/safety-plan", carer_copy_safety_plan, CLIN, 0 },
	{ "POST", "/api/v1/carer-links/{id}/assessments", assessment_offer, CLIN, 0 },
	{ "POST", "/api/v1/carer-assessments/{id}", assessment_change, CLIN, 0 },
};

static const struct cpa_module module = {
	"carers", routes, sizeof(routes) / sizeof(routes[0])
};

int
main(int argc, char **argv)
{
	return cpa_main(argc, argv, &module);
}
