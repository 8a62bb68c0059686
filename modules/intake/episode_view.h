/*
 * episode_view.h - what episodes.c and caseload.c share: the SQL that
 * scopes staff to teams, and the display helper their pages use.
 */
#ifndef CPA_EPISODE_VIEW_H
#define CPA_EPISODE_VIEW_H

#include "cpa.h"

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

/* For HTML only: walk model (borrowed, changed in place) and give every
 * object words for its codes and dates: "<key>_label" beside level,
 * end_reason, kind, status, from_value and to_value ("Non-CPA" for
 * non_cpa; null when there is no label), "<key>_text" beside at, *_at and
 * date_of_birth ("27 March 2025 14:05"; null when null), and
 * "level_choices" [{value, label}] beside a "levels" array of codes.
 * JSON answers never pass through it. */
void episode_view(json_t *model);

#endif
