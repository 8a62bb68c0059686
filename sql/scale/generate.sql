-- generate.sql - a large synthetic trust, for benchmarks and for seeing how
-- queries behave at scale.  Never load it into a live trust database.
--
-- Run by the superuser on a database holding sql/demo/demo.sql (and
-- usually sql/demo/intake_demo.sql), or through ./dev scale:
--
--   psql -v ON_ERROR_STOP=1 -d cpa -v people=1000000 -f sql/scale/generate.sql
--
-- Variables: people (default 100000), teams_per_site (default 10).
--
-- Each run adds `people` people, 60 % at north and 40 % at south, and
-- whatever the trust needs to care for them:
--   - districts (two teams each: a Community Mental Health Team and an
--     Early Intervention Team) until each site has teams_per_site teams,
--     rounded up to whole districts; existing ones are kept;
--   - care coordinators, one per 30 open episodes of a team, and a team
--     manager for every team without one; all named scale.t<team>.*, all
--     with the password hash '!', which never verifies;
--   - for each person a referral: 4 % awaiting triage (a fifth of those
--     past their deadline, a fifth close to it), 4 % signposted, 3 %
--     declined, 20 % accepted with the episode since closed, 69 % accepted
--     and open; 15 % also have an older, closed episode with the same team;
--     8 % of episodes changed level, 10 % changed coordinator; 90 % of the
--     people have an NHS number (from the test range, see vocabulary.sql;
--     when that range runs out, people get none);
--   - a pending transfer to a team at the other site for 0.2 % of the new
--     open episodes;
--   - a district manager for every district without one;
--   - what the episodes accumulated after intake (review_rows.sql): CPA
--     reviews held and due, approved risk assessments, admissions with
--     their follow-ups, and 007's due items for everything now due;
--   - what the open episodes hold besides (care_rows.sql): carers with
--     their consent decisions and carer's assessments, care plans with
--     their versions and copies, routine contacts of the last 12 months,
--     risk assessments awaiting approval, the carer involvement all these
--     record, and the due items of the assessments offered.
-- Everything is made set-based (INSERT ... SELECT) in one transaction with
-- every constraint and index in place but no trigger firing
-- (session_replication_role = replica: neither the triggers of 005, 007,
-- 010 and 011 nor the foreign-key checks run), so the scripts write the
-- rows those triggers would have written themselves, and keep the keys
-- consistent; tests/e2e/test_intake_scale.py checks both.  Then the tables
-- are vacuumed and analysed, and the dashboard's summaries, which 011's
-- triggers would have marked for a refresh, are rebuilt (dash_rebuild).
--
-- Time on a 2-core development machine: see sql/scale/README.md.

\set ON_ERROR_STOP 1
SET client_encoding = 'UTF8';
SET client_min_messages = warning;
-- Room for the planning tables and the sorts over them (this session only).
SET temp_buffers = '1GB';
SET work_mem = '256MB';
SET maintenance_work_mem = '512MB';
-- Each statement runs once over wide expressions: compiling them (JIT)
-- costs more than it saves.
SET jit = off;

\if :{?people}
\else
\set people 100000
\endif
\if :{?teams_per_site}
\else
\set teams_per_site 10
\endif
-- Checked by pattern alone: a cast would fail on bad input before a CASE
-- could guard it.
SELECT :'people' ~ '^([1-9][0-9]{0,6}|10000000)$' AS gen_people_ok,
	:'teams_per_site' ~ '^([1-9][0-9]{0,2}|1000)$' AS gen_teams_ok \gset
\if :gen_people_ok
\else
\warn generate.sql: people must be a whole number from 1 to 10000000
DO $$ BEGIN RAISE EXCEPTION 'generate.sql: bad people'; END $$;
\endif
\if :gen_teams_ok
\else
\warn generate.sql: teams_per_site must be a whole number from 1 to 1000
DO $$ BEGIN RAISE EXCEPTION 'generate.sql: bad teams_per_site'; END $$;
\endif

BEGIN;

-- No trigger and no foreign-key check for this transaction (the
-- append-only guard of audit_event still runs: it is ENABLE ALWAYS).
SET LOCAL session_replication_role = replica;

DO $$
BEGIN
	IF (SELECT count(*) FROM site WHERE code IN ('north', 'south')) <> 2 THEN
		RAISE EXCEPTION 'generate.sql: load sql/demo/demo.sql first';
	END IF;
END
$$;

\ir vocabulary.sql

-- --------------------------------------------------- districts and teams

-- New districts take place names not yet used at the site (north the odd
-- entries of the list, south the even ones; numbered once the list runs
-- out).  Alternately integrated or not; two in three inclusive.
INSERT INTO district (site_id, name, integrated, inclusive)
SELECT s.id, c.name, c.g % 4 < 2, c.g % 3 <> 0
FROM site s
CROSS JOIN LATERAL (SELECT count(*) AS have FROM district d WHERE d.site_id = s.id) h
CROSS JOIN LATERAL (
	SELECT c.name, c.g FROM (
		SELECT g, v.place[1 + (g - 1) % cardinality(v.place)]
			|| CASE WHEN g > cardinality(v.place)
				THEN ' ' || ((g - 1) / cardinality(v.place) + 1) ELSE '' END AS name
		FROM intake_vocab v, generate_series(1, 4 * :teams_per_site + 40) AS g
		WHERE g % 2 = CASE s.code WHEN 'north' THEN 1 ELSE 0 END
	) c
	WHERE NOT EXISTS (SELECT 1 FROM district d WHERE d.site_id = s.id AND d.name = c.name)
	ORDER BY c.g
	LIMIT greatest(0, (:teams_per_site + 1) / 2 - h.have)
) c
WHERE s.code IN ('north', 'south');

INSERT INTO team (site_id, district_id, name)
SELECT d.site_id, d.id, d.name || k.suffix
FROM district d
JOIN site s ON s.id = d.site_id AND s.code IN ('north', 'south')
CROSS JOIN (VALUES (' Community Mental Health Team'), (' Early Intervention Team')) AS k (suffix)
WHERE NOT EXISTS (SELECT 1 FROM team t WHERE t.district_id = d.id)
ON CONFLICT (district_id, name) DO NOTHING;

-- ---------------------------------------------------------------- people

SELECT setseed(0.5) AS gen_seed \gset
SELECT pg_get_serial_sequence('service_user', 'id') AS gen_person_seq \gset

-- The plan: site, team (any of the site's teams), outcome and the person's
-- random numbers; nhs_ord numbers the people who get an NHS number.
CREATE TEMPORARY TABLE gen_plan AS
WITH p AS (
	SELECT g AS n, random() AS r, random() AS u1, random() AS u2, random() AS u3,
		floor(random() * 1000000000)::bigint AS k
	FROM generate_series(1, :people) AS g
)
SELECT p.*, s.id AS site_id, s.code AS site_code,
	s.teams[1 + p.k % cardinality(s.teams)] AS team_id,
	CASE WHEN p.k % 10 <> 9 THEN count(*) FILTER (WHERE p.k % 10 <> 9) OVER (ORDER BY p.n) END
		AS nhs_ord
FROM p
JOIN (SELECT s.id, s.code, array_agg(t.id ORDER BY t.id) AS teams
	FROM site s JOIN team t ON t.site_id = s.id
	WHERE s.code IN ('north', 'south') GROUP BY s.id, s.code) s
	ON s.code = CASE WHEN p.n % 10 < 6 THEN 'north' ELSE 'south' END;
CREATE TEMPORARY TABLE gen_nhs AS
SELECT * FROM pg_temp.nhs_numbers(pg_temp.nhs_next_base(),
	(SELECT count(nhs_ord) FROM gen_plan));
ANALYZE gen_plan, gen_nhs;

CREATE TEMPORARY TABLE gen_person AS
SELECT nextval(:'gen_person_seq') AS id, p.site_id, p.team_id, n.nhs_number,
	v.given[1 + p.k % cardinality(v.given)] AS given_name,
	v.family[1 + p.k / 1000 % cardinality(v.family)] AS family_name,
	CASE WHEN p.k % 4 = 0 THEN v.given[1 + p.k / 100000 % cardinality(v.given)] END
		AS other_names,
	date '1940-01-01' + (p.k / 7 % 24472)::integer AS date_of_birth,
	(1 + p.k % 180) || ' ' || v.street[1 + p.k / 13 % cardinality(v.street)] || ', '
		|| CASE p.site_code WHEN 'north' THEN 'Northfield' ELSE 'Southcliffe' END
		AS address,
	CASE p.site_code WHEN 'north' THEN 'NX' ELSE 'SX' END || (1 + p.k % 9) || ' '
		|| (p.k / 9 % 10)
		|| substr('ABDEFGHJLNPQRSTUWXYZ', 1 + (p.k / 90 % 20)::integer, 1)
		|| substr('ABDEFGHJLNPQRSTUWXYZ', 1 + (p.k / 1800 % 20)::integer, 1)
		AS postcode,
	CASE WHEN p.k % 10 <> 0 THEN '07700 900' || lpad((p.k / 10 % 1000)::text, 3, '0') END
		AS phone,
	CASE WHEN p.k % 3 = 0 THEN
		translate(lower(v.given[1 + p.k % cardinality(v.given)] || '.'
			|| v.family[1 + p.k / 1000 % cardinality(v.family)]),
			'áéíóúśñ'' ', 'aeiousn') || '.' || p.n || '@example.com' END
		AS email,
	v.gp[1 + p.k / 101 % cardinality(v.gp)] AS gp_practice,
	CASE
		WHEN p.k % 97 = 0 THEN 'British Sign Language'
		WHEN p.k % 25 < 22 THEN 'English'
		ELSE v.language[1 + p.k / 25 % cardinality(v.language)]
	END AS preferred_language,
	p.k % 97 = 0 OR (p.k % 25 >= 22 AND p.k % 3 <> 0) AS interpreter_needed,
	CASE
		WHEN p.k % 97 = 0 THEN 'BSL interpreter for every appointment'
		WHEN p.k % 10 = 3 THEN v.needs[1 + p.k / 10 % cardinality(v.needs)]
	END AS communication_needs,
	CASE
		WHEN p.r < 0.04 THEN 'awaiting'
		WHEN p.r < 0.08 THEN 'signposted'
		WHEN p.r < 0.11 THEN 'declined'
		WHEN p.r < 0.31 THEN 'closed'
		ELSE 'open'
	END AS outcome,
	CASE
		WHEN p.k % 20 < 2 THEN 'emergency'
		WHEN p.k % 20 < 6 THEN 'urgent'
		ELSE 'routine'
	END AS urgency,
	CASE WHEN p.r < 0.04 THEN
		CASE WHEN p.r < 0.008 THEN 'breached' WHEN p.r < 0.016 THEN 'near' ELSE 'fresh' END
	END AS triage,
	p.k / 7 % 100 < 15 AS history,
	p.k / 11 % 100 < 8 AS level_change,
	p.k / 13 % 100 < 10 AS coord_change,
	p.k, p.u1, p.u2, p.u3
FROM gen_plan p
CROSS JOIN intake_vocab v
LEFT JOIN gen_nhs n ON n.ord = p.nhs_ord
ORDER BY p.n;
ANALYZE gen_person;

-- ----------------------------------------------------------------- staff

SELECT count(*) AS gen_staff_before FROM staff \gset

-- Coordinators: a team that gets referrals needs one, and one per 30 open
-- episodes, counting those it has and those planned; the missing ones are
-- made.  Usernames number on from the team's earlier scale coordinators.
CREATE TEMPORARY TABLE gen_new_staff AS
WITH need AS (
	SELECT t.id AS team_id, t.site_id, t.district_id,
		greatest(1, ceil(((SELECT count(*) FROM episode e
			WHERE e.team_id = t.id AND e.ended_at IS NULL)
			+ coalesce(p.planned, 0)) / 30.0)::integer)
		- (SELECT count(DISTINCT r.staff_id) FROM staff_role r JOIN staff s ON s.id = r.staff_id
			WHERE s.active AND r.role = 'coordinator' AND r.site_id = t.site_id
			AND (r.district_id IS NULL OR r.district_id = t.district_id)
			AND (r.team_id IS NULL OR r.team_id = t.id)) AS missing,
		(SELECT count(*) FROM staff s WHERE s.username LIKE 'scale.t' || t.id || '.c%') AS made
	FROM team t
	LEFT JOIN (SELECT team_id, count(*) AS planned FROM gen_person
		WHERE outcome = 'open' GROUP BY team_id) p ON p.team_id = t.id
	WHERE t.id IN (SELECT team_id FROM gen_person)
)
SELECT n.team_id, n.site_id, n.district_id, 'coordinator' AS role,
	'scale.t' || n.team_id || '.c' || (n.made + g) AS username,
	(ARRAY['Community psychiatric nurse', 'Social worker', 'Occupational therapist',
		'Clinical psychologist'])[1 + g % 4] AS professional_role
FROM need n
CROSS JOIN LATERAL generate_series(1, greatest(n.missing, 0)) AS g;

-- A team manager for each team that has none.
INSERT INTO gen_new_staff
SELECT t.id, t.site_id, t.district_id, 'team_manager', 'scale.t' || t.id || '.tm',
	'Team manager'
FROM team t
JOIN site s ON s.id = t.site_id AND s.code IN ('north', 'south')
WHERE NOT EXISTS (SELECT 1 FROM staff_role r WHERE r.role = 'team_manager'
		AND r.site_id = t.site_id
		AND (r.district_id IS NULL OR r.district_id = t.district_id)
		AND (r.team_id IS NULL OR r.team_id = t.id))
	AND NOT EXISTS (SELECT 1 FROM staff x WHERE x.username = 'scale.t' || t.id || '.tm');

-- A district manager for each district that has none.
INSERT INTO gen_new_staff
SELECT NULL, d.site_id, d.id, 'district_manager', 'scale.d' || d.id || '.dm',
	'Service manager'
FROM district d
JOIN site s ON s.id = d.site_id AND s.code IN ('north', 'south')
WHERE NOT EXISTS (SELECT 1 FROM staff_role r WHERE r.role = 'district_manager'
		AND r.site_id = d.site_id AND (r.district_id IS NULL OR r.district_id = d.id))
	AND NOT EXISTS (SELECT 1 FROM staff x WHERE x.username = 'scale.d' || d.id || '.dm');

INSERT INTO staff (username, display_name, professional_role, email,
	password_hash, home_site_id)
SELECT n.username,
	v.given[1 + h % cardinality(v.given)] || ' '
		|| v.family[1 + h / 1000 % cardinality(v.family)],
	n.professional_role, n.username || '@' || s.code || '.example.org', '!', n.site_id
FROM gen_new_staff n
JOIN site s ON s.id = n.site_id
CROSS JOIN intake_vocab v
CROSS JOIN LATERAL (SELECT abs(hashtext(n.username))::bigint AS h) x;

INSERT INTO staff_role (staff_id, role, site_id, district_id, team_id, granted_by)
SELECT st.id, n.role, n.site_id, n.district_id, n.team_id, adm.id
FROM gen_new_staff n
JOIN staff st ON st.username = n.username
JOIN site s ON s.id = n.site_id
LEFT JOIN staff adm ON adm.username = 'admin.' || s.code;

-- ------------------------------------------------------------- the rows

\ir intake_rows.sql

-- Pending transfers: 0.2 % of the new open episodes, each to a team at the
-- other site, asked for by the coordinator in the last fortnight.
CREATE TEMPORARY TABLE gen_transfer AS
SELECT r.episode_id, r.site_id, r.coordinator_id, tt.id AS to_team_id,
	tt.site_id AS to_site_id, ft.name AS from_team_name,
	tt.name || ' (' || tt.site_name || ')' AS to_team_name,
	greatest(r.started_at, now() - r.u3 * interval '14 days') AS requested_at
FROM gen_ref r
JOIN gen_person p ON p.id = r.service_user_id
JOIN team ft ON ft.id = r.team_id
CROSS JOIN LATERAL (SELECT t.id, t.site_id, t.name, s.name AS site_name FROM team t
	JOIN site s ON s.id = t.site_id AND s.code IN ('north', 'south')
	WHERE t.site_id <> r.site_id
	ORDER BY t.id OFFSET p.k % 4 LIMIT 1) tt
WHERE p.outcome = 'open' AND NOT r.is_history AND p.u1 < 0.002;

INSERT INTO episode_transfer (site_id, episode_id, to_site_id, to_team_id,
	reason, requested_by, requested_at)
SELECT site_id, episode_id, to_site_id, to_team_id,
	'Moving to the other site''s area', coordinator_id, requested_at
FROM gen_transfer;

INSERT INTO episode_event (site_id, episode_id, kind, from_value, to_value,
	reason, at, by_staff_id)
SELECT site_id, episode_id, 'transfer_requested', from_team_name, to_team_name,
	'Moving to the other site''s area', requested_at, coordinator_id
FROM gen_transfer;

\ir review_rows.sql
\ir care_rows.sql

SELECT (SELECT count(*) FROM gen_person) AS people,
	(SELECT count(*) FROM gen_ref) AS referrals,
	(SELECT count(episode_id) FROM gen_ref) AS episodes,
	(SELECT count(*) FROM gen_new_staff) AS staff,
	(SELECT count(*) FROM gen_transfer) AS pending_transfers,
	(SELECT count(*) FROM gen_person WHERE nhs_number IS NULL) AS without_nhs_number,
	(SELECT count(*) FROM gen_held) AS reviews_held,
	(SELECT count(*) FROM gen_due WHERE open) AS reviews_due,
	(SELECT count(*) FROM gen_risk) AS risk_assessments,
	(SELECT count(*) FROM gen_adm) AS admissions,
	(SELECT count(*) FROM gen_fu WHERE contact_id IS NULL) AS followups_open,
	(SELECT count(*) FROM gen_link) AS carers,
	(SELECT count(*) FROM gen_consent) AS consent_decisions,
	(SELECT count(*) FROM gen_ca) AS carer_assessments,
	(SELECT count(*) FROM gen_cp) AS care_plans,
	(SELECT count(*) FROM gen_cpv) AS care_plan_versions,
	(SELECT count(*) FROM gen_copy) AS care_plan_copies,
	(SELECT count(*) FROM gen_con) AS routine_contacts,
	(SELECT count(*) FROM gen_sub) AS risk_awaiting_approval;

COMMIT;

-- Statistics for the planner; VACUUM also sets the visibility map and
-- merges the name index's pending entries, so the first searches and
-- reads after the load are as fast as later ones.
VACUUM (ANALYZE) district, team, staff, staff_role, service_user, referral,
	episode, episode_event, coordinator_assignment, episode_transfer, cpa_review,
	risk_assessment, risk_domain, risk_event, admission, followup, contact, due_item,
	carer, carer_link, carer_consent, carer_assessment, carer_involvement, care_plan,
	care_plan_version, care_plan_copy;

-- The dashboard's summaries, from the tables as they are now (011).
SELECT dash_rebuild(now());
