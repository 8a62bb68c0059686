-- intake_rows.sql - turns planned people into consistent intake rows:
-- service_user, referral, episode, coordinator_assignment, episode_event.
-- Shared by sql/demo/intake_demo.sql and sql/scale/generate.sql, which
-- include it with \ir inside their transaction, after vocabulary.sql.
--
-- Input: the temporary table gen_person, one row per person to create:
--
--   id             the new service_user id, taken from its identity sequence
--   site_id, team_id
--                  the person's site and the team the referral goes to
--   nhs_number .. communication_needs
--                  the service_user columns of the same names
--   outcome        'awaiting' (referral awaiting triage), 'signposted',
--                  'declined', 'closed' (accepted, episode since closed) or
--                  'open' (accepted, episode open)
--   urgency        emergency, urgent or routine
--   triage         for 'awaiting': 'breached' (deadline passed), 'near'
--                  (under a quarter of the response window left) or 'fresh'
--   history        also an older referral to the same team, accepted, its
--                  episode closed before the current referral came in
--   level_change, coord_change
--                  the episode changed level / care coordinator once
--   k              a non-negative integer, u1 u2 u3 uniform in [0, 1): the
--                  person's own random numbers for the choices below
--
-- Every team named must have at least one active coordinator (a
-- coordinator role covering it by team, district or site).  Open episodes
-- are spread evenly over a team's coordinators; decisions and closed
-- episodes go to one of them at random.  Times are relative to now(), the
-- start of the caller's transaction.
--
-- Output: the rows, and the temporary table gen_ref (one row per referral
-- made, with its episode's columns when it was accepted) for the caller's
-- own additions.

ANALYZE gen_person;

-- The coordinators of every team that gets a referral.
CREATE TEMPORARY TABLE gen_team AS
SELECT t.id AS team_id, t.site_id,
	array_agg(DISTINCT r.staff_id ORDER BY r.staff_id) AS coords
FROM team t
JOIN staff_role r ON r.role = 'coordinator' AND r.site_id = t.site_id
	AND (r.district_id IS NULL OR r.district_id = t.district_id)
	AND (r.team_id IS NULL OR r.team_id = t.id)
JOIN staff s ON s.id = r.staff_id AND s.active
WHERE t.id IN (SELECT DISTINCT team_id FROM gen_person)
GROUP BY t.id, t.site_id;

DO $$
DECLARE
	missing text;
BEGIN
	SELECT string_agg(DISTINCT p.team_id::text, ', ') INTO missing
	FROM gen_person p LEFT JOIN gen_team t USING (team_id)
	WHERE t.team_id IS NULL;
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION 'intake_rows.sql: no active coordinator for team(s) %', missing;
	END IF;
END
$$;

-- Open episodes are dealt out so that a team's coordinators end up with
-- caseloads as even as can be, counting what they hold already: each
-- coordinator has a slot for every caseload level from their current one
-- up to just above the team's new average, and the team's new open
-- episodes take the slots lowest level first.
CREATE TEMPORARY TABLE gen_slot AS
WITH caseload AS (
	SELECT t.team_id, c.staff_id,
		(SELECT count(*) FROM episode e
			WHERE e.coordinator_id = c.staff_id AND e.ended_at IS NULL) AS open_now
	FROM gen_team t CROSS JOIN LATERAL unnest(t.coords) AS c (staff_id)
),
target AS (
	SELECT c.team_id,
		ceil((sum(c.open_now) + p.planned) / count(*)::numeric)::bigint + 1 AS level
	FROM caseload c
	JOIN (SELECT team_id, count(*) AS planned FROM gen_person
		WHERE outcome = 'open' GROUP BY team_id) p USING (team_id)
	GROUP BY c.team_id, p.planned
)
SELECT c.team_id, c.staff_id,
	row_number() OVER (PARTITION BY c.team_id ORDER BY l.level, c.staff_id) AS slot
FROM caseload c
JOIN target t USING (team_id)
CROSS JOIN LATERAL generate_series(c.open_now + 1, t.level) AS l (level);
ANALYZE gen_slot;

SELECT pg_get_serial_sequence('referral', 'id') AS gen_referral_seq,
	pg_get_serial_sequence('episode', 'id') AS gen_episode_seq \gset

-- Each person's referrals: the current one, and for some an older one.
-- Per referral: its response window (the site's deadline for the urgency),
-- and for accepted ones the episode with its level, coordinators and dates.
--
-- A big team's coordinator array is stored compressed in gen_team; the
-- MATERIALIZED copy (t) holds it unpacked, so picking from it row by row
-- is cheap.  It is joined after the window, which would otherwise sort
-- and spool the arrays along with every row.
CREATE TEMPORARY TABLE gen_ref AS
WITH t AS MATERIALIZED (
	SELECT team_id, coords || '{}'::bigint[] AS coords,
		cardinality(coords) AS ncoords
	FROM gen_team
),
p AS (
	SELECT p.id, p.site_id, p.team_id, p.gp_practice, p.outcome, p.urgency,
		p.triage, p.level_change, p.coord_change, p.k, p.u1, p.u2, p.u3,
		s.episode_levels AS levels,
		cardinality(s.episode_levels) AS nlevels,
		CASE p.urgency
			WHEN 'emergency' THEN s.deadline_emergency
			WHEN 'urgent' THEN s.deadline_urgent
			ELSE s.deadline_routine
		END AS win,
		-- Source code (1..7), chosen by weight: GP referrals most often.
		CASE
			WHEN p.k % 20 < 8 THEN 1	-- gp
			WHEN p.k % 20 < 10 THEN 2	-- ae_liaison
			WHEN p.k % 20 < 12 THEN 3	-- self
			WHEN p.k % 20 < 14 THEN 4	-- inpatient_ward
			WHEN p.k % 20 < 15 THEN 5	-- police_cjs
			WHEN p.k % 20 < 18 THEN 6	-- social_care
			ELSE 7				-- other
		END AS src,
		-- An open episode's slot (see gen_slot).
		row_number() OVER (PARTITION BY p.team_id, p.outcome ORDER BY p.id) AS turn
	FROM gen_person p
	JOIN site s ON s.id = p.site_id
),
current_ref AS (
	SELECT p.*,
		CASE p.outcome
			WHEN 'awaiting' THEN now() - p.win * CASE p.triage
				WHEN 'breached' THEN 1.1 + 0.5 * p.u1
				WHEN 'near' THEN 0.78 + 0.17 * p.u1
				ELSE 0.02 + 0.55 * p.u1
			END
			ELSE now() - interval '2 days' - p.u1 * interval '3 years'
		END AS received_at
	FROM p
),
current_dec AS (
	SELECT c.*,
		CASE WHEN c.outcome <> 'awaiting' THEN
			least(c.received_at + c.win * (0.05 + 0.6 * c.u2),
				now() - interval '1 hour')
		END AS decided_at
	FROM current_ref c
),
coordinated AS (
	SELECT c.*, t.coords, t.ncoords,
		CASE c.outcome
			WHEN 'open' THEN sl.staff_id
			ELSE t.coords[1 + c.k / 13 % t.ncoords]
		END AS coordinator_id,
		t.coords[1 + c.k / 37 % t.ncoords] AS other
	FROM current_dec c
	JOIN t USING (team_id)
	LEFT JOIN gen_slot sl ON c.outcome = 'open' AND sl.team_id = c.team_id
		AND sl.slot = c.turn
)
SELECT
	CASE WHEN c.outcome IN ('open', 'closed') THEN nextval(:'gen_episode_seq') END
		AS episode_id,
	nextval(:'gen_referral_seq') AS ref_id,
	false AS is_history,
	c.id AS service_user_id, c.site_id, c.team_id,
	v.source[c.src] AS source,
	CASE WHEN c.src = 1 THEN c.gp_practice ELSE v.source_detail[c.src] END
		AS source_detail,
	c.urgency, c.received_at, c.received_at + c.win AS deadline_at,
	v.reason[c.src + 7 * (c.k / 20 % 2)] AS reason,
	CASE c.outcome
		WHEN 'awaiting' THEN 'awaiting_triage'
		WHEN 'signposted' THEN 'signposted'
		WHEN 'declined' THEN 'declined'
		ELSE 'accepted'
	END AS status,
	c.decided_at,
	CASE WHEN c.outcome <> 'awaiting' THEN c.coords[1 + c.k / 7 % c.ncoords] END
		AS decided_by,
	CASE c.outcome
		WHEN 'signposted' THEN 'Needs better met by ' || v.signpost[1 + c.k / 3 % cardinality(v.signpost)]
		WHEN 'declined' THEN v.decline[1 + c.k / 3 % cardinality(v.decline)]
		WHEN 'awaiting' THEN NULL
		ELSE 'Meets criteria for secondary care; accepted'
	END AS decision_reason,
	CASE WHEN c.outcome = 'signposted' THEN v.signpost[1 + c.k / 3 % cardinality(v.signpost)] END
		AS signposted_to,
	c.coords[1 + c.k / 5 % c.ncoords] AS created_by,
	-- The episode, when accepted.
	c.levels[1 + c.k / 11 % c.nlevels] AS level,
	CASE WHEN c.level_change AND c.nlevels > 1 THEN
		c.levels[1 + (c.k / 11 + 1) % c.nlevels] END AS first_level,
	c.coordinator_id,
	CASE WHEN c.coord_change AND c.ncoords > 1 THEN
		CASE WHEN c.other <> c.coordinator_id THEN c.other
			ELSE c.coords[1 + (c.k / 37 + 1) % c.ncoords] END
	END AS first_coordinator_id,
	c.decided_at AS started_at,
	CASE WHEN c.outcome = 'closed' THEN
		c.decided_at + (now() - c.decided_at) * (0.15 + 0.8 * c.u3) END AS ended_at,
	CASE WHEN c.outcome = 'closed' THEN
		-- discharged to GP 60 %, moved away 10 %, declined contact 15 %,
		-- other 10 %, died 5 %.
		1 + (c.k / 17 % 20 >= 12)::int + (c.k / 17 % 20 >= 14)::int
			+ (c.k / 17 % 20 >= 17)::int + (c.k / 17 % 20 >= 19)::int
	END AS end_idx,
	c.u2, c.u3
FROM coordinated c
CROSS JOIN intake_vocab v;

ANALYZE gen_ref;

-- The older referrals of people with a history: routine, accepted at the
-- same team, the episode closed (discharged to the GP) at least a month
-- before the current referral arrived.
WITH t AS MATERIALIZED (
	SELECT team_id, coords || '{}'::bigint[] AS coords FROM gen_team
)
INSERT INTO gen_ref
SELECT nextval(:'gen_episode_seq'), nextval(:'gen_referral_seq'), true,
	p.id, p.site_id, p.team_id, 'gp', p.gp_practice, 'routine',
	o.received_at, o.received_at + s.deadline_routine,
	v.reason[1 + 7 * (p.k / 40 % 2)], 'accepted',
	o.received_at + s.deadline_routine * 0.3,
	t.coords[1 + p.k / 19 % cardinality(t.coords)],
	'Meets criteria for secondary care; accepted', NULL,
	t.coords[1 + p.k / 23 % cardinality(t.coords)],
	s.episode_levels[1 + p.k / 29 % cardinality(s.episode_levels)], NULL,
	t.coords[1 + p.k / 31 % cardinality(t.coords)], NULL,
	o.received_at + s.deadline_routine * 0.3,
	o.received_at + s.deadline_routine * 0.3
		+ (r.received_at - interval '1 month'
			- (o.received_at + s.deadline_routine * 0.3)) * (0.3 + 0.6 * p.u2),
	1, p.u2, p.u3
FROM gen_person p
JOIN gen_ref r ON r.service_user_id = p.id AND NOT r.is_history
JOIN site s ON s.id = p.site_id
JOIN t ON t.team_id = p.team_id
CROSS JOIN intake_vocab v
CROSS JOIN LATERAL (SELECT r.received_at - interval '6 months'
	- p.u3 * interval '3 years' AS received_at) o
WHERE p.history;

-- ------------------------------------------------------------ the rows

INSERT INTO service_user (id, site_id, nhs_number, given_name, family_name,
	other_names, date_of_birth, address, postcode, phone, email, gp_practice,
	preferred_language, interpreter_needed, communication_needs,
	created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT p.id, p.site_id, p.nhs_number, p.given_name, p.family_name,
	p.other_names, p.date_of_birth, p.address, p.postcode, p.phone, p.email,
	p.gp_practice, p.preferred_language, p.interpreter_needed,
	p.communication_needs, r.received_at, r.received_at
FROM gen_person p
JOIN (SELECT service_user_id, min(received_at) AS received_at
	FROM gen_ref GROUP BY service_user_id) r ON r.service_user_id = p.id;

-- A referral and its episode point at each other; inserted by one
-- statement, so both foreign keys are checked when both rows exist.  The
-- version counts the changes made after the episode opened.
WITH e AS (
	INSERT INTO episode (id, site_id, service_user_id, team_id, referral_id,
		level, coordinator_id, started_at, ended_at, end_reason, end_detail,
		version)
	OVERRIDING SYSTEM VALUE
	SELECT r.episode_id, r.site_id, r.service_user_id, r.team_id, r.ref_id,
		r.level, r.coordinator_id, r.started_at, r.ended_at,
		v.end_reason[r.end_idx], v.end_detail[r.end_idx],
		1 + (r.first_level IS NOT NULL)::int
			+ (r.first_coordinator_id IS NOT NULL)::int
			+ (r.ended_at IS NOT NULL)::int
	FROM gen_ref r CROSS JOIN intake_vocab v
	WHERE r.episode_id IS NOT NULL
)
INSERT INTO referral (id, site_id, service_user_id, team_id, source,
	source_detail, urgency, received_at, deadline_at, reason, status,
	decided_at, decided_by, decision_reason, signposted_to, episode_id,
	created_by, created_at)
OVERRIDING SYSTEM VALUE
SELECT r.ref_id, r.site_id, r.service_user_id, r.team_id, r.source,
	r.source_detail, r.urgency, r.received_at, r.deadline_at, r.reason,
	r.status, r.decided_at, r.decided_by, r.decision_reason, r.signposted_to,
	r.episode_id, r.created_by, r.received_at
FROM gen_ref r;

-- When the coordinator changed, and when the level changed: within the
-- episode's span (up to now for open episodes).
ALTER TABLE gen_ref ADD COLUMN coordinator_changed_at timestamptz,
	ADD COLUMN level_changed_at timestamptz;
UPDATE gen_ref SET
	coordinator_changed_at = CASE WHEN first_coordinator_id IS NOT NULL THEN
		started_at + (coalesce(ended_at, now()) - started_at) * (0.4 + 0.3 * u2) END,
	level_changed_at = CASE WHEN first_level IS NOT NULL THEN
		started_at + (coalesce(ended_at, now()) - started_at) * (0.1 + 0.25 * u3) END
WHERE episode_id IS NOT NULL
	AND (first_coordinator_id IS NOT NULL OR first_level IS NOT NULL);

-- Care coordination: one assignment, or two around the change.
INSERT INTO coordinator_assignment (site_id, episode_id, staff_id, started_at, ended_at)
SELECT r.site_id, r.episode_id, a.staff_id, a.started_at, a.ended_at
FROM gen_ref r
CROSS JOIN LATERAL (VALUES
	(r.first_coordinator_id, r.started_at, r.coordinator_changed_at),
	(r.coordinator_id, coalesce(r.coordinator_changed_at, r.started_at), r.ended_at)
) AS a (staff_id, started_at, ended_at)
WHERE r.episode_id IS NOT NULL AND a.staff_id IS NOT NULL;

-- The episodes' histories: opened, level and coordinator changes, closed,
-- with values as cpa-intake records them: levels and end reasons by code,
-- coordinators by display name.
INSERT INTO episode_event (site_id, episode_id, kind, from_value, to_value,
	reason, at, by_staff_id)
SELECT r.site_id, r.episode_id, ev.kind, ev.from_value, ev.to_value,
	ev.reason, ev.at, ev.by_staff_id
FROM gen_ref r
CROSS JOIN intake_vocab v
LEFT JOIN staff fc ON fc.id = r.first_coordinator_id
LEFT JOIN staff cc ON cc.id = r.coordinator_id AND r.first_coordinator_id IS NOT NULL
CROSS JOIN LATERAL (VALUES
	('opened', NULL, coalesce(r.first_level, r.level),
		r.decision_reason, r.started_at, r.decided_by),
	(CASE WHEN r.first_level IS NOT NULL THEN 'level_changed' END,
		r.first_level, r.level, 'Needs reviewed at CPA review',
		r.level_changed_at, r.coordinator_id),
	(CASE WHEN r.first_coordinator_id IS NOT NULL THEN 'coordinator_changed' END,
		fc.display_name, cc.display_name,
		'Caseload balancing within the team', r.coordinator_changed_at,
		r.decided_by),
	(CASE WHEN r.ended_at IS NOT NULL THEN 'closed' END,
		NULL, v.end_reason[r.end_idx], v.end_detail[r.end_idx], r.ended_at,
		r.coordinator_id)
) AS ev (kind, from_value, to_value, reason, at, by_staff_id)
WHERE r.episode_id IS NOT NULL AND ev.kind IS NOT NULL;
