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
