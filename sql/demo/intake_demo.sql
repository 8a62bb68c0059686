-- intake_demo.sql - a demonstration trust at every stage of intake: people,
-- referrals awaiting triage (some past their deadline, some close to it),
-- signposted and declined referrals, open and closed CPA episodes spread
-- over each team's care coordinators, changes of level and of coordinator,
-- and transfers between teams and sites.  For development, tests and demos
-- only; never load it into a live trust database.
--
-- Run by the superuser after sql/demo/demo.sql (which makes the sites,
-- teams and demo staff it builds on):
--
--   psql -v ON_ERROR_STOP=1 -d cpa -f sql/demo/intake_demo.sql
--
-- Idempotent.  It always sets the demo sites' care levels (north:
-- standard/enhanced/non-CPA; south: the single "complex" level and
-- non-CPA); everything else is done only while no service_user exists.
--
-- About 520 people: 300 at north, 220 at south, on the teams of demo.sql
-- (the Community Mental Health Teams get most referrals).  Besides coord.north
-- (Riverside CMHT) and coord.south (Harbour CMHT) every team gets two or
-- three coordinators of its own; they cannot sign in (their password hash
-- is '!', which never verifies) until an administrator gives them a
-- password.  The people follow sql/scale/intake_rows.sql; on top of that:
-- two pending transfers between the sites, one accepted transfer within
-- north, and two pairs of possible duplicates (similar names, same date
-- of birth, one pair with given and family names swapped).

\set ON_ERROR_STOP 1
SET client_encoding = 'UTF8';

BEGIN;

DO $$
BEGIN
	IF (SELECT count(*) FROM site WHERE code IN ('north', 'south')) <> 2
	    OR (SELECT count(*) FROM staff
		WHERE username IN ('coord.north', 'coord.south', 'admin.north', 'admin.south')) <> 4 THEN
		RAISE EXCEPTION 'intake_demo.sql: load sql/demo/demo.sql first';
	END IF;
END
$$;

-- ---------------------------------------------------------- site policy

UPDATE site SET level_model = 'cpa', episode_levels = '{standard,enhanced,non_cpa}'
WHERE code = 'north'
	AND (level_model, episode_levels) IS DISTINCT FROM ('cpa', '{standard,enhanced,non_cpa}');
UPDATE site SET level_model = 'cpa_single', episode_levels = '{complex,non_cpa}'
WHERE code = 'south'
	AND (level_model, episode_levels) IS DISTINCT FROM ('cpa_single', '{complex,non_cpa}');

SELECT EXISTS (SELECT 1 FROM service_user) AS intake_demo_done \gset
\if :intake_demo_done
\echo intake_demo.sql: people exist already; nothing else to do
COMMIT;
\else

\ir ../scale/vocabulary.sql

-- ----------------------------------------------------------- coordinators

-- The extra coordinators; the team is given as district and kind ('cmht'
-- or 'eit').
CREATE TEMPORARY TABLE demo_coordinator (username text, display_name text,
	professional_role text, site_code text, district text, kind text);
INSERT INTO demo_coordinator VALUES
	('daniel.okoro', 'Daniel Okoro', 'Community psychiatric nurse', 'north', 'Riverside', 'cmht'),
	('hannah.price', 'Hannah Price', 'Social worker', 'north', 'Riverside', 'cmht'),
	('imran.qureshi', 'Imran Qureshi', 'Community psychiatric nurse', 'north', 'Riverside', 'eit'),
	('rosie.mcallister', 'Rosie McAllister', 'Occupational therapist', 'north', 'Riverside', 'eit'),
	('bronwen.pugh', 'Bronwen Pugh', 'Social worker', 'north', 'Moorland', 'cmht'),
	('kofi.asante', 'Kofi Asante', 'Community psychiatric nurse', 'north', 'Moorland', 'cmht'),
	('wei.li', 'Dr Wei Li', 'Clinical psychologist', 'north', 'Moorland', 'cmht'),
	('agata.zielinska', 'Agata Zielińska', 'Occupational therapist', 'north', 'Moorland', 'eit'),
	('samir.haddad', 'Samir Haddad', 'Community psychiatric nurse', 'north', 'Moorland', 'eit'),
	('fiona.mackenzie', 'Fiona MacKenzie', 'Community psychiatric nurse', 'south', 'Harbour', 'cmht'),
	('yaw.owusu', 'Yaw Owusu', 'Social worker', 'south', 'Harbour', 'cmht'),
	('nisha.varma', 'Nisha Varma', 'Community psychiatric nurse', 'south', 'Harbour', 'eit'),
	('callum.reid', 'Callum Reid', 'Occupational therapist', 'south', 'Harbour', 'eit'),
	('ruth.adebayo', 'Ruth Adebayo', 'Social worker', 'south', 'Vale', 'cmht'),
	('dylan.evans', 'Dylan Evans', 'Community psychiatric nurse', 'south', 'Vale', 'cmht'),
	('mariam.said', 'Mariam Said', 'Community psychiatric nurse', 'south', 'Vale', 'cmht'),
	('grace.lam', 'Dr Grace Lam', 'Clinical psychologist', 'south', 'Vale', 'eit'),
	('tomos.rees', 'Tomos Rees', 'Community psychiatric nurse', 'south', 'Vale', 'eit');

INSERT INTO staff (username, display_name, professional_role, email,
	password_hash, home_site_id)
SELECT c.username, c.display_name, c.professional_role,
	c.username || '@' || c.site_code || '.example.org', '!', s.id
FROM demo_coordinator c
JOIN site s ON s.code = c.site_code
ON CONFLICT (username) DO NOTHING;

-- The demo teams by site, district and kind.
CREATE TEMPORARY TABLE demo_team AS
SELECT t.id AS team_id, t.site_id, s.code AS site_code, t.district_id, d.name AS district,
	CASE WHEN t.name LIKE '%Community Mental Health Team' THEN 'cmht' ELSE 'eit' END AS kind,
	t.name AS team_name
FROM team t
JOIN district d ON d.id = t.district_id
JOIN site s ON s.id = t.site_id
WHERE s.code IN ('north', 'south')
	AND d.name IN ('Riverside', 'Moorland', 'Harbour', 'Vale')
	AND (t.name LIKE '%Community Mental Health Team'
		OR t.name LIKE '%Early Intervention Team');

INSERT INTO staff_role (staff_id, role, site_id, district_id, team_id, granted_by)
SELECT st.id, 'coordinator', t.site_id, t.district_id, t.team_id, adm.id
FROM demo_coordinator c
JOIN staff st ON st.username = c.username
JOIN demo_team t ON t.site_code = c.site_code AND t.district = c.district AND t.kind = c.kind
JOIN staff adm ON adm.username = 'admin.' || c.site_code
ON CONFLICT DO NOTHING;

-- ---------------------------------------------------------------- people

-- The same people every time: a fixed seed for random().
SELECT setseed(0.2024) AS demo_seed \gset

SELECT pg_get_serial_sequence('service_user', 'id') AS demo_person_seq \gset

-- Per person n at a site: the team (below), and the outcome by n mod 20:
--   0      awaiting triage: breached, near breach or fresh in turn, each
--          urgency in turn
--   1      awaiting triage, fresh
--   2, 3   signposted, declined
--   4-6    accepted, episode since closed
--   7-19   accepted, episode open
-- Every sixth person was with the team before; every ninth episode changed
-- level and every eighth changed coordinator.  One in fifteen people has
-- no NHS number yet.
CREATE TEMPORARY TABLE demo_plan AS
SELECT s.id AS site_id, s.code AS site_code, g.n,
	random() AS u1, random() AS u2, random() AS u3,
	floor(random() * 1000000000)::bigint AS k,
	(SELECT array_agg(t.team_id ORDER BY t.district, t.kind)
		FROM demo_team t WHERE t.site_id = s.id) AS teams
FROM site s
CROSS JOIN LATERAL generate_series(1, CASE s.code WHEN 'north' THEN 300 ELSE 220 END) AS g (n)
WHERE s.code IN ('north', 'south');

-- Teams: p.teams is (Moorland CMHT, Moorland EIT, Riverside CMHT,
-- Riverside EIT) at north and (Harbour CMHT, Harbour EIT, Vale CMHT, Vale
-- EIT) at south; the demo coordinators' teams (Riverside CMHT, Harbour
-- CMHT) get 3/7 of the referrals, the other CMHT 2/7, each EIT 1/7.
CREATE TEMPORARY TABLE gen_person AS
SELECT nextval(:'demo_person_seq') AS id, p.site_id,
	p.teams[(CASE p.site_code WHEN 'north' THEN '{3,3,3,4,1,1,2}'::int[]
		ELSE '{1,1,1,2,3,3,4}'::int[] END)[1 + p.n % 7]] AS team_id,
	NULL::text AS nhs_number,
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
	NULL::text AS email,
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
		WHEN p.n % 20 IN (0, 1) THEN 'awaiting'
		WHEN p.n % 20 = 2 THEN 'signposted'
		WHEN p.n % 20 = 3 THEN 'declined'
		WHEN p.n % 20 IN (4, 5, 6) THEN 'closed'
		ELSE 'open'
	END AS outcome,
	CASE
		WHEN p.n % 20 = 0 THEN (ARRAY['emergency', 'urgent', 'routine'])[1 + p.n / 60 % 3]
		WHEN p.k % 20 < 2 THEN 'emergency'
		WHEN p.k % 20 < 6 THEN 'urgent'
		ELSE 'routine'
	END AS urgency,
	CASE
		WHEN p.n % 20 = 0 THEN (ARRAY['breached', 'near', 'fresh'])[1 + p.n / 20 % 3]
		WHEN p.n % 20 = 1 THEN 'fresh'
	END AS triage,
	p.n % 6 = 0 AS history,
	p.n % 9 = 0 AS level_change,
	p.n % 8 = 0 AS coord_change,
	p.k, p.u1, p.u2, p.u3,
	p.n % 15 <> 7 AS has_nhs_number,
	p.k % 3 = 0 AS has_email
FROM demo_plan p
CROSS JOIN intake_vocab v
ORDER BY p.site_id, p.n;

-- Two pairs the duplicate check at intake should flag: the same date of
-- birth and a similar name (the second pair with given and family names
-- swapped); one of each pair is already with a team.
INSERT INTO gen_person
SELECT nextval(:'demo_person_seq'), t.site_id, t.team_id, NULL, d.given_name,
	d.family_name, NULL, d.date_of_birth, d.address, d.postcode, NULL, NULL,
	d.gp_practice, d.language, d.language <> 'English', NULL, d.outcome,
	'urgent', d.triage, false, false, false, d.k, 0.4, 0.5, 0.6,
	d.has_nhs_number, false
FROM (VALUES
	('north', 'Riverside', 'cmht', 'John', 'Smith', date '1987-03-14',
		'14 Mill Lane, Northfield', 'NX4 2AB', 'Riverside Medical Centre',
		'English', 'open', NULL, 101, true),
	('north', 'Riverside', 'cmht', 'Jon', 'Smith', date '1987-03-14',
		'Flat 2, 9 Canal Street, Northfield', 'NX4 7QT', 'Riverside Medical Centre',
		'English', 'awaiting', 'fresh', 202, false),
	('south', 'Harbour', 'cmht', 'Mei', 'Chen', date '1972-11-02',
		'3 Harbour View, Southcliffe', 'SX2 5HL', 'Harbourside Family Practice',
		'Cantonese', 'open', NULL, 303, true),
	('south', 'Harbour', 'cmht', 'Chen', 'Mei', date '1972-11-02',
		'3 Harbour View, Southcliffe', 'SX2 5HL', 'Harbourside Family Practice',
		'Cantonese', 'awaiting', 'fresh', 404, false)
) AS d (site_code, district, kind, given_name, family_name, date_of_birth,
	address, postcode, gp_practice, language, outcome, triage, k, has_nhs_number)
JOIN demo_team t ON t.site_code = d.site_code AND t.district = d.district AND t.kind = d.kind;

-- NHS numbers from the test range, in order of the people given one.
UPDATE gen_person p SET nhs_number = n.nhs_number
FROM (SELECT id, row_number() OVER (ORDER BY id) AS ord
	FROM gen_person WHERE has_nhs_number) w
JOIN pg_temp.nhs_numbers(pg_temp.nhs_next_base(),
	(SELECT count(*) FROM gen_person WHERE has_nhs_number)) n ON n.ord = w.ord
WHERE p.id = w.id;

UPDATE gen_person SET email = translate(lower(given_name || '.' || family_name),
	'áéíóúśñ'' ', 'aeiousn') || id || '@example.com'
WHERE has_email;

\ir ../scale/intake_rows.sql

-- ------------------------------------------------------------- transfers

-- Two pending transfers between the sites: one of coord.north's people from
-- Riverside CMHT to Harbour CMHT, one of coord.south's from Harbour CMHT to
-- Riverside CMHT.  Each asked two days ago by the coordinator, with an
-- event on the episode.
CREATE TEMPORARY TABLE demo_transfer AS
SELECT DISTINCT ON (f.username) e.id AS episode_id, e.site_id, e.coordinator_id,
	tt.site_id AS to_site_id, tt.team_id AS to_team_id, ft.team_name AS from_team_name,
	tt.team_name || ' (' || ts.name || ')' AS to_team_name, f.reason
FROM (VALUES
	('coord.north', 'Harbour', 'Moving to Southcliffe to live with family next month'),
	('coord.south', 'Riverside', 'Has taken up a university place in Northfield')
) AS f (username, to_district, reason)
JOIN staff c ON c.username = f.username
JOIN episode e ON e.coordinator_id = c.id AND e.ended_at IS NULL
JOIN service_user su ON su.id = e.service_user_id AND su.nhs_number IS NOT NULL
JOIN demo_team ft ON ft.team_id = e.team_id AND ft.kind = 'cmht'
JOIN demo_team tt ON tt.district = f.to_district AND tt.kind = 'cmht'
JOIN site ts ON ts.id = tt.site_id
WHERE e.id IN (SELECT episode_id FROM gen_ref)
	AND e.started_at < now() - interval '30 days'
ORDER BY f.username, e.id;

INSERT INTO episode_transfer (site_id, episode_id, to_site_id, to_team_id,
	reason, requested_by, requested_at)
SELECT site_id, episode_id, to_site_id, to_team_id, reason, coordinator_id,
	now() - interval '2 days'
FROM demo_transfer;

INSERT INTO episode_event (site_id, episode_id, kind, from_value, to_value,
	reason, at, by_staff_id)
SELECT site_id, episode_id, 'transfer_requested', from_team_name, to_team_name,
	reason, now() - interval '2 days', coordinator_id
FROM demo_transfer;

-- One accepted transfer within north, a month ago: from Riverside EIT to
-- Riverside CMHT (coord.north), the way intake_accept_transfer records it:
-- the old episode closed as transferred, a new one opened at the receiving
-- team with its own coordinator and events.
CREATE TEMPORARY TABLE demo_moved AS
SELECT e.id AS old_id, e.site_id, e.service_user_id, e.level, e.coordinator_id AS old_coordinator,
	to_t.team_id AS to_team_id, c.id AS new_coordinator,
	nextval(pg_get_serial_sequence('episode', 'id')) AS new_id,
	now() - interval '30 days' AS moved_at,
	'Needs now better met by the community team after two years in early intervention'::text AS reason
FROM episode e
JOIN demo_team from_t ON from_t.team_id = e.team_id
	AND from_t.site_code = 'north' AND from_t.district = 'Riverside' AND from_t.kind = 'eit'
JOIN demo_team to_t ON to_t.site_code = 'north' AND to_t.district = 'Riverside' AND to_t.kind = 'cmht'
JOIN staff c ON c.username = 'coord.north'
WHERE e.ended_at IS NULL AND e.started_at < now() - interval '90 days'
	AND e.id IN (SELECT episode_id FROM gen_ref)
	AND e.id NOT IN (SELECT episode_id FROM demo_transfer)
	AND NOT EXISTS (SELECT 1 FROM episode o WHERE o.service_user_id = e.service_user_id
		AND o.team_id = to_t.team_id AND o.ended_at IS NULL)
	AND NOT EXISTS (SELECT 1 FROM episode_event ev WHERE ev.episode_id = e.id
		AND ev.at > now() - interval '30 days')
ORDER BY e.id
LIMIT 1;

UPDATE episode e SET ended_at = m.moved_at, end_reason = 'transferred',
	end_detail = m.reason, version = e.version + 1
FROM demo_moved m WHERE e.id = m.old_id;
UPDATE coordinator_assignment a SET ended_at = m.moved_at
FROM demo_moved m WHERE a.episode_id = m.old_id AND a.ended_at IS NULL;

INSERT INTO episode (id, site_id, service_user_id, team_id, level, coordinator_id, started_at)
OVERRIDING SYSTEM VALUE
SELECT new_id, site_id, service_user_id, to_team_id, level, new_coordinator, moved_at
FROM demo_moved;
INSERT INTO coordinator_assignment (site_id, episode_id, staff_id, started_at)
SELECT site_id, new_id, new_coordinator, moved_at FROM demo_moved;

INSERT INTO episode_transfer (site_id, episode_id, to_site_id, to_team_id, reason,
	status, requested_by, requested_at, decided_by, decided_at, decision_reason,
	new_episode_id)
SELECT site_id, old_id, site_id, to_team_id, reason, 'accepted', old_coordinator,
	moved_at - interval '5 days', new_coordinator, moved_at,
	'Accepted; joint visit arranged', new_id
FROM demo_moved;

INSERT INTO episode_event (site_id, episode_id, kind, from_value, to_value, reason, at, by_staff_id)
SELECT m.site_id, ev.episode_id, ev.kind, ev.from_value, ev.to_value, ev.reason, ev.at, ev.by_staff_id
FROM demo_moved m
JOIN team t ON t.id = m.to_team_id
JOIN site s ON s.id = t.site_id
JOIN episode oe ON oe.id = m.old_id
JOIN team ft ON ft.id = oe.team_id
CROSS JOIN LATERAL (VALUES
	(m.old_id, 'transfer_requested', ft.name, t.name || ' (' || s.name || ')',
		m.reason, m.moved_at - interval '5 days', m.old_coordinator),
	(m.old_id, 'closed', NULL, 'transferred', m.reason, m.moved_at, m.new_coordinator),
	(m.new_id, 'transfer_accepted', m.old_id::text, m.level,
		'Accepted; joint visit arranged', m.moved_at, m.new_coordinator)
) AS ev (episode_id, kind, from_value, to_value, reason, at, by_staff_id);

COMMIT;

-- The rows above were written with triggers off: the dashboard's summaries
-- are made again from them (sql/011_dashboard.sql).
SELECT dash_rebuild(now()) \gset dash_

SELECT s.code AS site,
	(SELECT count(*) FROM service_user x WHERE x.site_id = s.id) AS people,
	(SELECT count(*) FROM referral x WHERE x.site_id = s.id
		AND x.status = 'awaiting_triage') AS awaiting_triage,
	(SELECT count(*) FROM episode x WHERE x.site_id = s.id
		AND x.ended_at IS NULL) AS open_episodes,
	(SELECT count(*) FROM episode_transfer x WHERE x.site_id = s.id
		AND x.status = 'pending') AS pending_transfers_out
FROM site s WHERE s.code IN ('north', 'south') ORDER BY s.code;
\endif
