-- demo.sql - demonstration organisation and staff for development, tests
-- and demos.  Never load it into a live trust database.
--
-- Run by the superuser (row-level security does not bind it) after the
-- migrations, with one argon2id hash per demo user, made by cpa-passwd:
--
--   psql -v ON_ERROR_STOP=1 -d cpa \
--        -v hash_admin_north="$(printf '%s\n' "$PW1" | cpa-passwd)" \
--        -v hash_admin_south=... -v hash_coord_north=... \
--        -v hash_coord_south=... -v hash_prac_north=... \
--        -v hash_tm_north=... -v hash_dm_north=... \
--        -v hash_auditor_north=... \
--        -f sql/demo/demo.sql
--
-- Idempotent: running it again with the same hashes changes nothing.  Given
-- different hashes it resets those users' passwords to them (and nothing
-- else), so a regenerated logins file stays true.
--
-- Two sites, each with two districts and two teams per district:
--   north  North site  Riverside (integrated, inclusive)
--                       Moorland (not integrated, targeted)
--   south  South site  Harbour (integrated, targeted)
--                       Vale (not integrated, inclusive)
-- Teams: "<District> Community Mental Health Team" and
--        "<District> Early Intervention Team".

\set ON_ERROR_STOP 1
SET client_encoding = 'UTF8';

-- Refuse to start without every hash, with a message rather than a syntax
-- error at an unsubstituted :'variable'.
\if :{?hash_admin_north} \else \set demo_missing hash_admin_north \endif
\if :{?hash_admin_south} \else \set demo_missing hash_admin_south \endif
\if :{?hash_coord_north} \else \set demo_missing hash_coord_north \endif
\if :{?hash_coord_south} \else \set demo_missing hash_coord_south \endif
\if :{?hash_prac_north} \else \set demo_missing hash_prac_north \endif
\if :{?hash_tm_north} \else \set demo_missing hash_tm_north \endif
\if :{?hash_dm_north} \else \set demo_missing hash_dm_north \endif
\if :{?hash_auditor_north} \else \set demo_missing hash_auditor_north \endif
\if :{?demo_missing}
\warn demo.sql: psql variable :demo_missing is not set (see the header of this file)
DO $$ BEGIN RAISE EXCEPTION 'demo.sql: a hash_* variable is missing'; END $$;
\endif

BEGIN;

-- The hashes as a table, so they are checked once and joined below.
CREATE TEMPORARY TABLE demo_login (username text PRIMARY KEY, password_hash text NOT NULL)
	ON COMMIT DROP;
INSERT INTO demo_login VALUES
	('admin.north', :'hash_admin_north'),
	('admin.south', :'hash_admin_south'),
	('coord.north', :'hash_coord_north'),
	('coord.south', :'hash_coord_south'),
	('prac.north', :'hash_prac_north'),
	('tm.north', :'hash_tm_north'),
	('dm.north', :'hash_dm_north'),
	('auditor.north', :'hash_auditor_north');

DO $$
DECLARE
	bad text;
BEGIN
	SELECT string_agg(username, ', ' ORDER BY username) INTO bad
	FROM demo_login WHERE password_hash NOT LIKE '$argon2id$%';
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'demo.sql: not argon2id hashes (use cpa-passwd): %', bad;
	END IF;
END
$$;

INSERT INTO site (code, name) VALUES
	('north', 'North site'),
	('south', 'South site')
ON CONFLICT (code) DO NOTHING;

INSERT INTO district (site_id, name, integrated, inclusive)
SELECT s.id, d.name, d.integrated, d.inclusive
FROM (VALUES
	(1, 'north', 'Riverside', true, true),
	(2, 'north', 'Moorland', false, false),
	(3, 'south', 'Harbour', true, false),
	(4, 'south', 'Vale', false, true)
) AS d (ord, site_code, name, integrated, inclusive)
JOIN site s ON s.code = d.site_code
ORDER BY d.ord
ON CONFLICT (site_id, name) DO NOTHING;

INSERT INTO team (site_id, district_id, name)
SELECT d.site_id, d.id, d.name || kind.suffix
FROM district d
JOIN site s ON s.id = d.site_id AND s.code IN ('north', 'south')
CROSS JOIN (VALUES
	(1, ' Community Mental Health Team'),
	(2, ' Early Intervention Team')
) AS kind (ord, suffix)
WHERE d.name IN ('Riverside', 'Moorland', 'Harbour', 'Vale')
ORDER BY d.id, kind.ord
ON CONFLICT (district_id, name) DO NOTHING;

INSERT INTO staff (username, display_name, professional_role, email, password_hash,
	home_site_id)
SELECT u.username, u.display_name, u.professional_role, u.email, l.password_hash, s.id
FROM (VALUES
	('admin.north', 'Priya Raghunathan', 'Clinical systems manager',
		'priya.raghunathan@north.example.org', 'north'),
	('admin.south', 'Oluwaseun Adeyemi', 'Clinical systems manager',
		'oluwaseun.adeyemi@south.example.org', 'south'),
	('coord.north', 'Aisha Rahman', 'Community psychiatric nurse',
		'aisha.rahman@north.example.org', 'north'),
	('coord.south', 'Tomasz Kowalczyk', 'Social worker',
		'tomasz.kowalczyk@south.example.org', 'south'),
	('prac.north', 'Siobhán Gallagher', 'Occupational therapist',
		'siobhan.gallagher@north.example.org', 'north'),
	('tm.north', 'Marcus Campbell', 'Team manager',
		'marcus.campbell@north.example.org', 'north'),
	('dm.north', 'Dr Mei Lin Chen', 'Clinical psychologist',
		'meilin.chen@north.example.org', 'north'),
	('auditor.north', 'Gareth Hughes', 'Clinical governance lead',
		'gareth.hughes@north.example.org', 'north')
) AS u (username, display_name, professional_role, email, site_code)
JOIN site s ON s.code = u.site_code
JOIN demo_login l ON l.username = u.username
ON CONFLICT (username) DO UPDATE
	SET password_hash = excluded.password_hash,
		updated_at = now(),
		version = staff.version + 1
	WHERE staff.password_hash IS DISTINCT FROM excluded.password_hash;

-- Roles; district and team are given by name within the role's site.  Each
-- site's administrator is recorded as the grantor of that site's other
-- roles.
INSERT INTO staff_role (staff_id, role, site_id, district_id, team_id, granted_by)
SELECT st.id, g.role, s.id, d.id, t.id, adm.id
FROM (VALUES
	('admin.north', 'trust_admin', 'north', NULL, NULL),
	('admin.south', 'trust_admin', 'south', NULL, NULL),
	('coord.north', 'coordinator', 'north', 'Riverside',
		'Riverside Community Mental Health Team'),
	('coord.south', 'coordinator', 'south', 'Harbour',
		'Harbour Community Mental Health Team'),
	('prac.north', 'practitioner', 'north', NULL, NULL),
	('tm.north', 'team_manager', 'north', 'Riverside',
		'Riverside Community Mental Health Team'),
	('dm.north', 'district_manager', 'north', 'Riverside', NULL),
	('auditor.north', 'auditor', 'north', NULL, NULL)
) AS g (username, role, site_code, district_name, team_name)
JOIN staff st ON st.username = g.username
JOIN site s ON s.code = g.site_code
LEFT JOIN district d ON d.site_id = s.id AND d.name = g.district_name
LEFT JOIN team t ON t.district_id = d.id AND t.name = g.team_name
LEFT JOIN staff adm ON adm.username = 'admin.' || g.site_code AND adm.username <> g.username
ON CONFLICT DO NOTHING;

COMMIT;
