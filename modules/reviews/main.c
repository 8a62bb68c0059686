/*
 * main.c - cpa-reviews: written care plans, CPA reviews, contacts,
 * admissions with their 72-hour follow-ups, and the pages of reminders
 * (inbox, calendar feed, policy).  The route table is the whole of the
 * worker's surface; the handlers check the team, the site and ownership.
 */
#include "reviews.h"

#define CLIN CPA_ROLES_CLINICAL
#define ADMIN CPA_ROLE_TRUST_ADMIN

static const struct cpa_route routes[] = {
	/* pages */
	{ "GET", "/service-users/{id}/care-plan", careplan_show, CLIN, 0 },
	{ "GET", "/service-users/{id}/care-plan/new", careplan_new_page, CLIN, 0 },
	{ "POST", "/service-users/{id}/care-plan", careplan_version_create, CLIN, 0 },
	{ "GET", "/care-plan-versions/{id}", careplan_version_show, CLIN, 0 },
	{ "POST", "/care-plan-versions/{id}/copies", careplan_copy_add, CLIN, 0 },
	{ "GET", "/care-plan-versions/{id}/print", careplan_print, CLIN, 0 },
	{ "GET", "/service-users/{id}/reviews", review_person, CLIN, 0 },
	{ "GET", "/reviews", review_list, CLIN, 0 },
	{ "GET", "/reviews/{id}", review_show, CLIN, 0 },
	{ "POST", "/reviews/{id}/hold", review_hold, CLIN, 0 },
	{ "GET", "/service-users/{id}/contacts", contact_list, CLIN, 0 },
	{ "POST", "/service-users/{id}/contacts", contact_create, CLIN, 0 },
	{ "GET", "/service-users/{id}/admissions", admission_list, CLIN, 0 },
	{ "POST", "/service-users/{id}/admissions", admission_create, CLIN, 0 },
	{ "POST", "/admissions/{id}/discharge", admission_discharge, CLIN, 0 },
	{ "GET", "/followups", followup_list, CLIN, 0 },
	{ "GET", "/inbox", inbox_show, CPA_ROLE_ANY, 0 },
	{ "POST", "/reminders/{id}/acknowledge", reminder_acknowledge, CPA_ROLE_ANY, 0 },
	{ "POST", "/reminders/{id}/snooze", reminder_snooze, CPA_ROLE_ANY, 0 },
	{ "GET", "/calendar-feed", calendar_feed_page, CLIN, 0 },
	{ "POST", "/calendar-feed", calendar_feed_create, CLIN, 0 },
	{ "POST", "/calendar-feed/revoke", calendar_feed_revoke, CLIN, 0 },
	{ "GET", "/calendar/{token}", calendar_ics, CPA_ROLE_ANY, CPA_RF_PUBLIC },
	{ "GET", "/reminder-policy/{id}", policy_show, ADMIN, 0 },
	{ "POST", "/reminder-policy/{id}", policy_update, ADMIN, 0 },
	/* JSON API */
	{ "GET", "/api/v1/service-users/{id}/care-plan", careplan_show, CLIN, 0 },
	{ "POST", "/api/v1/service-users/{id}/care-plan/versions", careplan_version_create, CLIN, 0 },
	{ "GET", "/api/v1/care-plan-versions/{id}", careplan_version_show, CLIN, 0 },
	{ "POST", "/api/v1/care-plan-versions/{id}/copies", careplan_copy_add, CLIN, 0 },
	{ "GET", "/api/v1/service-users/{id}/reviews", review_person, CLIN, 0 },
	{ "GET", "/api/v1/reviews", review_list, CLIN, 0 },
	{ "GET", "/api/v1/reviews/{id}", review_show, CLIN, 0 },
	{ "POST", "/api/v1/reviews/{id}/hold", review_hold, CLIN, 0 },
	{ "GET", "/api/v1/service-users/{id}/contacts", contact_list, CLIN, 0 },
	{ "POST", "/api/v1/service-users/{id}/contacts", contact_create, CLIN, 0 },
	{ "GET", "/api/v1/service-users/{id}/admissions", admission_list, CLIN, 0 },
	{ "POST", "/api/v1/service-users/{id}/admissions", admission_create, CLIN, 0 },
	{ "POST", "/api/v1/admissions/{id}/discharge", admission_discharge, CLIN, 0 },
	{ "POST", "/api/v1/admissions", admission_ward_post, CLIN, 0 },
	{ "GET", "/api/v1/followups", followup_list, CLIN, 0 },
	{ "GET", "/api/v1/inbox", inbox_show, CPA_ROLE_ANY, 0 },
	{ "POST", "/api/v1/reminders/{id}/acknowledge", reminder_acknowledge, CPA_ROLE_ANY, 0 },
	{ "POST", "/api/v1/reminders/{id}/snooze", reminder_snooze, CPA_ROLE_ANY, 0 },
	{ "GET", "/api/v1/calendar-feed", calendar_feed_page, CLIN, 0 },
	{ "POST", "/api/v1/calendar-feed", calendar_feed_create, CLIN, 0 },
	{ "POST", "/api/v1/calendar-feed/revoke", calendar_feed_revoke, CLIN, 0 },
	{ "GET", "/api/v1/reminder-policy/{id}", policy_show, ADMIN, 0 },
	{ "PUT", "/api/v1/reminder-policy/{id}", policy_update, ADMIN, 0 },
};

static const struct cpa_module module = {
	"reviews", routes, sizeof(routes) / sizeof(routes[0])
};

int
main(int argc, char **argv)
{
	return cpa_main(argc, argv, &module);
}
