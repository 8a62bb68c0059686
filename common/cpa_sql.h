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

/* The words for a carer's involvement (carer_involvement.kind) K, an SQL
 * text expression: "Took part in a CPA review" ... (NULL for no kind). */
#define CARER_INVOLVEMENT_WORDS(K) \
	"CASE " K " WHEN 'review' THEN 'Took part in a CPA review'" \
	" WHEN 'care_plan_writing' THEN 'Helped write the care plan'" \
	" WHEN 'care_plan_copy' THEN 'Was given a copy of the care plan'" \
	" WHEN 'risk_discussion' THEN 'Took part in a risk and safety plan discussion'" \
	" WHEN 'medication_info' THEN 'Was given information about medication'" \
	" WHEN 'complaints_info' THEN 'Was told how to complain'" \
	" WHEN 'contact' THEN 'Was at a contact with the team'" \
	" WHEN 'other' THEN 'Other' END"

/* One involvement event as JSON, from a carer_involvement row aliased X:
 * id, kind, occurred_on, source, source_id, carer_link_id, carer_name
 * (NULL when the carer is not known: pages say "A carer"), note,
 * recorded_by_name, and kind_text (CARER_INVOLVEMENT_WORDS). */
#define CARER_EVENT_JSON(X) \
	"json_build_object('id', " X ".id, 'kind', " X ".kind," \
	" 'occurred_on', " X ".occurred_on, 'source', " X ".source," \
	" 'source_id', " X ".source_id, 'carer_link_id', " X ".carer_link_id," \
	" 'carer_name', (SELECT ec.given_name || ' ' || ec.family_name" \
	"   FROM carer_link el JOIN carer ec ON ec.id = el.carer_id" \
	"   WHERE el.id = " X ".carer_link_id)," \
	" 'note', " X ".note, 'recorded_by_name', (SELECT es.display_name" \
	"   FROM staff es WHERE es.id = " X ".recorded_by)," \
	" 'kind_text', " CARER_INVOLVEMENT_WORDS(X ".kind") ")"

/* The latest LIMIT (an SQL integer expression) involvement events of the
 * person PERSON (an SQL bigint expression), newest first, as a JSON array
 * of CARER_EVENT_JSON ('[]' when none). */
#define CARER_INVOLVEMENT_JSON(PERSON, LIMIT) \
	"(SELECT coalesce(json_agg(" CARER_EVENT_JSON("ei") \
	"   ORDER BY ei.occurred_on DESC, ei.id DESC), '[]')" \
	" FROM (SELECT * FROM carer_involvement ci WHERE ci.service_user_id = " PERSON \
	"  ORDER BY ci.occurred_on DESC, ci.id DESC LIMIT " LIMIT ") ei)"

/* The current carers of person PERSON (an SQL bigint expression) as a
 * JSON array, oldest link first: [{carer_link_id, carer_id, name,
 * relationship, may_have_plan}], for forms that name a carer. */
#define CURRENT_CARERS_JSON(PERSON) \
	"(SELECT coalesce(json_agg(json_build_object('carer_link_id', cl.id," \
	"   'carer_id', cc.id, 'name', cc.given_name || ' ' || cc.family_name," \
	"   'relationship', cl.relationship," \
	"   'may_have_plan', carer_may_have_plan(cl.id))" \
	"   ORDER BY cl.started_on, cl.id), '[]')" \
	" FROM carer_link cl JOIN carer cc ON cc.id = cl.carer_id" \
	" WHERE cl.service_user_id = " PERSON " AND cl.ended_on IS NULL)"

#endif
