/*
 * intake.h - the cpa-intake worker's handlers, shared between its files.
 * referrals.c: referral intake, the triage queue and decisions.
 * people.c:    service user records, edits, search, a person's audit trail.
 * episodes.c:  CPA episodes (level, coordinator, closure), transfers, teams.
 * caseload.c:  coordinators' and managers' caseloads.
 */
#ifndef CPA_INTAKE_H
#define CPA_INTAKE_H

#include "cpa.h"

/* referrals.c */
int referral_new_page(struct cpa_ctx *ctx);
int referral_create(struct cpa_ctx *ctx);
int referral_list(struct cpa_ctx *ctx);
int referral_show(struct cpa_ctx *ctx);
int referral_decide(struct cpa_ctx *ctx);

/* people.c */
int person_show(struct cpa_ctx *ctx);
int person_update(struct cpa_ctx *ctx);
int person_search_page(struct cpa_ctx *ctx);
int person_search(struct cpa_ctx *ctx);
int person_audit(struct cpa_ctx *ctx);

/* episodes.c */
int episode_show(struct cpa_ctx *ctx);
int episode_change_level(struct cpa_ctx *ctx);
int episode_change_coordinator(struct cpa_ctx *ctx);
int episode_close(struct cpa_ctx *ctx);
int episode_transfer(struct cpa_ctx *ctx);
int transfer_list(struct cpa_ctx *ctx);
int transfer_decide(struct cpa_ctx *ctx);
int team_list(struct cpa_ctx *ctx);

/* caseload.c */
int caseload_show(struct cpa_ctx *ctx);

/* Role names as SQL lists, for my_team.role. */
#define CLINICAL_ROLES_SQL \
	"('coordinator', 'practitioner', 'team_manager', 'district_manager')"
#define MANAGER_ROLES_SQL "('team_manager', 'district_manager')"

/* True when staff member STAFF (an SQL bigint expression) is active and
 * holds the coordinator role with a scope covering team row T (an alias with
 * id, site_id, district_id): the whole site, T's district, or T itself. */
#define COORDINATOR_COVERS(STAFF, T) \
	"EXISTS (SELECT 1 FROM staff_role r JOIN staff rs ON rs.id = r.staff_id" \
	" AND rs.active WHERE r.staff_id = " STAFF " AND r.role = 'coordinator'" \
	" AND r.site_id = " T ".site_id" \
	" AND (r.district_id IS NULL OR r.district_id = " T ".district_id)" \
	" AND (r.team_id IS NULL OR r.team_id = " T ".id))"

/* A person's summary as JSON, from a service_user row aliased "su". */
#define PERSON_SUMMARY_JSON \
	"json_build_object('id', su.id, 'nhs_number', su.nhs_number," \
	" 'given_name', su.given_name, 'family_name', su.family_name," \
	" 'date_of_birth', su.date_of_birth)"

#endif
