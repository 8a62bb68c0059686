/*
 * cpa_sql.h - SQL fragments the domain workers share, as string macros to
 * paste into their named statements (compile-time constants: never a
 * place for request data).
 */
#ifndef CPA_SQL_H
#define CPA_SQL_H

/* Role names as SQL lists, for my_team.role. */
#define CLINICAL_ROLES_SQL \
	"('coordinator', 'practitioner', 'team_manager', 'district_manager')"
#define MANAGER_ROLES_SQL "('team_manager', 'district_manager')"

/* Whether a clinical role of the caller covers team T (an SQL bigint
 * expression): my_team is the caller's teams with their roles. */
#define CALLER_COVERS(T) \
	"EXISTS (SELECT 1 FROM my_team m WHERE m.team_id = " T \
	" AND m.role IN " CLINICAL_ROLES_SQL ")"
/* The same for a manager role. */
#define CALLER_MANAGES(T) \
	"EXISTS (SELECT 1 FROM my_team m WHERE m.team_id = " T \
	" AND m.role IN " MANAGER_ROLES_SQL ")"

/* The teams where the caller holds a clinical role, and a manager role:
 * subqueries for "team_id IN ...". */
#define CALLER_TEAMS \
	"(SELECT m.team_id FROM my_team m WHERE m.role IN " CLINICAL_ROLES_SQL ")"
#define CALLER_MANAGED_TEAMS \
	"(SELECT m.team_id FROM my_team m WHERE m.role IN " MANAGER_ROLES_SQL ")"

/* True when staff member STAFF (an SQL bigint expression) is active and
 * holds a role matching ROLE (the rest of a condition on r.role) with a
 * scope covering team row T (an alias with id, site_id, district_id): the
 * whole site, T's district, or T itself. */
#define STAFF_COVERS(STAFF, T, ROLE) \
	"EXISTS (SELECT 1 FROM staff_role r JOIN staff rs ON rs.id = r.staff_id" \
	" AND rs.active WHERE r.staff_id = " STAFF " AND r.role " ROLE \
	" AND r.site_id = " T ".site_id" \
	" AND (r.district_id IS NULL OR r.district_id = " T ".district_id)" \
	" AND (r.team_id IS NULL OR r.team_id = " T ".id))"
/* ... as a care coordinator; with any clinical role. */
#define COORDINATOR_COVERS(STAFF, T) STAFF_COVERS(STAFF, T, "= 'coordinator'")
#define CLINICIAN_COVERS(STAFF, T) STAFF_COVERS(STAFF, T, "IN " CLINICAL_ROLES_SQL)

/* A person's summary as JSON, from a service_user row aliased "su". */
#define PERSON_SUMMARY_JSON \
	"json_build_object('id', su.id, 'nhs_number', su.nhs_number," \
	" 'given_name', su.given_name, 'family_name', su.family_name," \
	" 'date_of_birth', su.date_of_birth)"

#endif
