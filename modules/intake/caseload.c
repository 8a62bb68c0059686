/*
 * caseload.c - who a care coordinator looks after, and for managers how
 * the work is shared out in their teams.  A coordinator sees their own
 * open episodes; a team or district manager also sees, for each team they
 * manage, its coordinators with the size of each one's caseload there and
 * the team's open episodes, and may open any of those coordinators'
 * lists (limited to the teams the manager covers).  One statement answers
 * the page, counting with GROUP BY; the read is audited, naming whose
 * caseload it was.
 */
#include <string.h>

#include "intake.h"
#include "episode_view.h"

/* $1 whose caseload, $2 limit it to the caller's managed teams, $3 the
 * caller is a manager (else no teams).  "covered": $1 is a coordinator of
 * one of those teams, by role or by an open episode there. */
static const struct cpa_stmt q_caseload = {
	"intake_caseload",
	"WITH mt AS (SELECT DISTINCT m.team_id FROM my_team m"
	"  WHERE $3::boolean AND m.role IN " MANAGER_ROLES_SQL "),"
	" cs AS (SELECT mt.team_id, r.staff_id FROM mt JOIN team t ON t.id = mt.team_id"
	"  JOIN staff_role r ON r.role = 'coordinator' AND r.site_id = t.site_id"
	"  AND (r.district_id IS NULL OR r.district_id = t.district_id)"
	"  AND (r.team_id IS NULL OR r.team_id = t.id)"
	"  JOIN staff c ON c.id = r.staff_id AND c.active"
	"  UNION SELECT e.team_id, e.coordinator_id FROM episode e"
	"  JOIN mt ON mt.team_id = e.team_id WHERE e.ended_at IS NULL),"
	" sizes AS (SELECT cs.team_id, cs.staff_id, count(e.id) AS n FROM cs"
	"  LEFT JOIN episode e ON e.team_id = cs.team_id AND e.coordinator_id = cs.staff_id"
	"  AND e.ended_at IS NULL GROUP BY cs.team_id, cs.staff_id),"
	" coords AS (SELECT z.team_id, json_agg(json_build_object('id', s.id,"
	"  'display_name', s.display_name, 'caseload_size', z.n)"
	"  ORDER BY s.display_name, s.id) AS list"
	"  FROM sizes z JOIN staff s ON s.id = z.staff_id GROUP BY z.team_id),"
	" opened AS (SELECT e.team_id, count(*) AS n FROM episode e"
	"  JOIN mt ON mt.team_id = e.team_id WHERE e.ended_at IS NULL GROUP BY e.team_id)"
	" SELECT (SELECT coalesce(json_agg(json_build_object('episode_id', e.id,"
	"  'service_user', " PERSON_SUMMARY_JSON ", 'team_id', e.team_id,"
	"  'team_name', t.name, 'level', e.level, 'started_at', e.started_at,"
	"  'next_review_due', NULL, 'risk_status', CASE WHEN ra.id IS NOT NULL THEN"
	"   json_build_object('assessment_id', ra.id, 'level', ra.overall_level,"
	"   'review_due', ra.next_review_due, 'overdue', ra.next_review_due < current_date,"
	"   'review_requested', ra.review_requested_at IS NOT NULL,"
	"   'review_trigger', ra.review_trigger)"
	"   END)"
	"  ORDER BY su.family_name, su.given_name, e.id), '[]')"
	"  FROM episode e JOIN service_user su ON su.id = e.service_user_id"
	"  JOIN team t ON t.id = e.team_id"
	/* The person's current (approved) risk assessment: at most one. */
	"  LEFT JOIN risk_assessment ra ON ra.service_user_id = su.id"
	"  AND ra.status = 'approved'"
	"  WHERE e.coordinator_id = $1::bigint AND e.ended_at IS NULL"
	"  AND (NOT $2::boolean OR e.team_id IN (SELECT team_id FROM mt))) AS caseload,"
	" (SELECT coalesce(json_agg(json_build_object('team_id', t.id, 'team_name', t.name,"
	"  'coordinators', coalesce(c.list, '[]'), 'open_episodes', coalesce(o.n, 0))"
	"  ORDER BY t.name, t.id), '[]')"
	"  FROM mt JOIN team t ON t.id = mt.team_id"
	"  LEFT JOIN coords c ON c.team_id = t.id"
	"  LEFT JOIN opened o ON o.team_id = t.id) AS teams,"
	" (SELECT json_build_object('id', s.id, 'display_name', s.display_name)"
	"  FROM staff s WHERE s.id = $1::bigint) AS coordinator,"
	" EXISTS (SELECT 1 FROM cs WHERE cs.staff_id = $1::bigint) AS covered",
	3
};

enum { CL_COORDINATOR };
static const struct cpa_field caseload_fields[] = {
	{ "coordinator_id", "Care coordinator", CPA_FT_ID, 0, 0, 0, NULL },
};

/* For the page only: each early review's trigger in words inside a
 * sentence, "crisis contact" for crisis_contact (the codes of
 * sql/004_risk_reviews.sql read as words). */
static void
caseload_triggers(struct cpa_ctx *ctx, json_t *caseload)
{
	json_t *row, *status;
	const char *code;
	char *text, *p;
	size_t i;

	json_array_foreach(caseload, i, row) {
		status = json_object_get(row, "risk_status");
		if ((code = json_string_value(json_object_get(status, "review_trigger"))) == NULL)
			continue;
		text = cpa_strdup(ctx->arena, code);
		for (p = text; *p != '\0'; p++)
			if (*p == '_')
				*p = ' ';
		json_object_set_new(status, "review_trigger_text", json_string(text));
	}
}

int
caseload_show(struct cpa_ctx *ctx)
{
	const struct cpa_session *s = ctx->session;
	long long target = s->user_id;
	int manager = cpa_session_has_role(s, CPA_ROLES_MANAGER, 0), other;
	const char *params[3], *name;
	json_t *caseload, *teams, *who, *m;
	struct cpa_input in;
	PGresult *r;

	if (cpa_query_read(ctx, caseload_fields, CPA_NFIELDS(caseload_fields), &in) != CPA_OK)
		return CPA_OK;
	if (in.values[CL_COORDINATOR].present)
		target = in.values[CL_COORDINATOR].num;
	other = target != s->user_id;
	cpa_db_begin(ctx);
	if (other && !manager) {
		cpa_deny(ctx, 403, "Only team and district managers can see another "
		    "coordinator's caseload", "caseload", in.values[CL_COORDINATOR].str,
		    0, 0, "not a manager");
		return CPA_OK;
	}
	params[0] = cpa_sprintf(ctx->arena, "%lld", target);
	params[1] = other ? "true" : "false";
	params[2] = manager ? "true" : "false";
	if ((r = cpa_db_exec(ctx, &q_caseload, params)) == NULL) {
		cpa_error_rc(ctx, ctx->db_rc);
		return CPA_OK;
	}
	if (other && !cpa_db_flag(r, 0, "covered")) {
		cpa_not_found(ctx, "caseload", params[0]);
		return CPA_OK;
	}
	caseload = cpa_db_json(ctx->arena, r, 0, "caseload");
	teams = cpa_db_json(ctx->arena, r, 0, "teams");
	who = cpa_db_json(ctx->arena, r, 0, "coordinator");
	if (caseload == NULL || teams == NULL) {
		cpa_error_rc(ctx, CPA_ERR);
		return CPA_OK;
	}
	cpa_audit(ctx, "read", "caseload", params[0], 0, 0, cpa_sprintf(ctx->arena,
	    "%zu open episodes, %zu teams", json_array_size(caseload),
	    json_array_size(teams)));
	if (cpa_commit_or_fail(ctx, NULL) != CPA_OK)
		return CPA_OK;
	m = json_pack("{s:O,s:O,s:O}", "caseload", caseload, "teams", teams,
	    "coordinator", who != NULL ? who : json_null());
	if (!ctx->req.wants_json) {
		name = json_string_value(json_object_get(who, "display_name"));
		json_object_set_new(m, "title", json_string(!other ? "My caseload" :
		    name != NULL ? cpa_sprintf(ctx->arena, "Caseload: %s", name) : "Caseload"));
		json_object_set_new(m, "own", json_boolean(!other));
		json_object_set_new(m, "manager", json_boolean(manager));
		episode_view(m);
		caseload_triggers(ctx, caseload);
	}
	cpa_render(ctx, 200, "caseload", m);
	return CPA_OK;
}
