/*
 * main.c - cpa-risk: risk assessments and safety plans for people with an
 * open CPA episode, written by their clinicians and approved by the
 * managers of their team.  The route table is the whole of the worker's
 * surface; every route needs a clinical role (the handlers check the
 * team, and for approval the manager role).
 */
#include "risk.h"

#define CLIN CPA_ROLES_CLINICAL

static const struct cpa_route routes[] = {
	/* pages */
	{ "GET", "/service-users/{id}/risk", risk_person_list, CLIN, 0 },
	{ "POST", "/service-users/{id}/risk-assessments", risk_create, CLIN, 0 },
	{ "GET", "/risk-assessments", risk_queue, CLIN, 0 },
	{ "GET", "/risk-assessments/{id}", risk_show, CLIN, 0 },
	{ "POST", "/risk-assessments/{id}", risk_save, CLIN, 0 },
	{ "POST", "/risk-assessments/{id}/submit", risk_submit, CLIN, 0 },
	{ "POST", "/risk-assessments/{id}/approve", risk_approve, CLIN, 0 },
	{ "POST", "/risk-assessments/{id}/return", risk_return, CLIN, 0 },
	{ "GET", "/risk-assessments/{id}/changes", risk_changes, CLIN, 0 },
	{ "GET", "/risk-assessments/{id}/safety-plan", risk_safety_plan, CLIN, 0 },
	{ "POST", "/service-users/{id}/risk-review-requests", risk_review_request, CLIN, 0 },
	{ "GET", "/risk-reviews", risk_reviews, CLIN, 0 },
	/* JSON API */
	{ "GET", "/api/v1/service-users/{id}/risk-assessments", risk_person_list, CLIN, 0 },
	{ "POST", "/api/v1/service-users/{id}/risk-assessments", risk_create, CLIN, 0 },
	{ "GET", "/api/v1/risk-assessments", risk_queue, CLIN, 0 },
	{ "GET", "/api/v1/risk-assessments/{id}", risk_show, CLIN, 0 },
	{ "PUT", "/api/v1/risk-assessments/{id}", risk_save, CLIN, 0 },
	{ "POST", "/api/v1/risk-assessments/{id}/submit", risk_submit, CLIN, 0 },
	{ "POST", "/api/v1/risk-assessments/{id}/approve", risk_approve, CLIN, 0 },
	{ "POST", "/api/v1/risk-assessments/{id}/return", risk_return, CLIN, 0 },
	{ "GET", "/api/v1/risk-assessments/{id}/changes", risk_changes, CLIN, 0 },
	{ "GET", "/api/v1/risk-assessments/{id}/safety-plan", risk_safety_plan, CLIN, 0 },
	{ "POST", "/api/v1/service-users/{id}/risk-review-requests", risk_review_request, CLIN, 0 },
	{ "GET", "/api/v1/risk-reviews", risk_reviews, CLIN, 0 },
};

static const struct cpa_module module = {
	"risk", routes, sizeof(routes) / sizeof(routes[0])
};

int
main(int argc, char **argv)
{
	return cpa_main(argc, argv, &module);
}
