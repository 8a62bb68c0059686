-- check_security.sql - asserts the database's security contract against a
-- migrated database holding the demo data: roles, row-level security per
-- site, the append-only audit trail, the sign-in functions and the
-- consistency keys.  Every check raises 'FAIL: ...' when the database does
-- not behave; psql then stops with status 3.  Writes happen inside
-- transactions that are rolled back, so the data is left as found.
--
-- Run by the superuser over a unix socket with trust authentication (it
-- reconnects as cpa_app and cpa_owner):
--
--   psql -X -v ON_ERROR_STOP=1 -h SOCKETDIR -p PORT -U postgres -d cpa \
--        -f sql/test/check_security.sql

\set ON_ERROR_STOP 1
\set QUIET 1
SET client_min_messages = warning;

-- --------------------------------------------------- as the superuser

DO $$
DECLARE
	r record;
BEGIN
	SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolcanlogin INTO r
	FROM pg_roles WHERE rolname = 'cpa_app';
	IF NOT FOUND OR r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolcreatedb
	    OR NOT r.rolcanlogin THEN
		RAISE EXCEPTION 'FAIL: cpa_app must be a plain login role: %', r;
	END IF;
	IF (SELECT rolcanlogin OR NOT rolbypassrls FROM pg_roles WHERE rolname = 'cpa_auth') THEN
		RAISE EXCEPTION 'FAIL: cpa_auth must be NOLOGIN BYPASSRLS';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	    WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) <> 'cpa_owner'
	    AND c.relkind IN ('r', 'p', 'v', 'm', 'S')) THEN
		RAISE EXCEPTION 'FAIL: a relation in public is not owned by cpa_owner';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	    WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'schema_migration'
	    AND NOT (c.relrowsecurity AND c.relforcerowsecurity)) THEN
		RAISE EXCEPTION 'FAIL: a table lacks enabled and forced row-level security';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	    WHERE n.nspname = 'public' AND p.proname LIKE 'auth\_%'
	    AND (NOT p.prosecdef OR pg_get_userbyid(p.proowner) <> 'cpa_auth'
	        OR has_function_privilege('cpa_owner', p.oid, 'EXECUTE') IS NULL
	        OR NOT has_function_privilege('cpa_app', p.oid, 'EXECUTE')
	        OR p.proconfig IS NULL)) THEN
		RAISE EXCEPTION 'FAIL: sign-in functions must be SECURITY DEFINER, owned by cpa_auth, executable by cpa_app, with a pinned search_path';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	    WHERE n.nspname = 'public' AND p.proname LIKE 'auth\_%'
	    AND has_function_privilege('public', p.oid, 'EXECUTE')) THEN
		RAISE EXCEPTION 'FAIL: PUBLIC may execute a sign-in function';
	END IF;
	IF has_schema_privilege('cpa_app', 'public', 'CREATE')
	    OR has_schema_privilege('cpa_auth', 'public', 'CREATE') THEN
		RAISE EXCEPTION 'FAIL: only cpa_owner may create objects in public';
	END IF;
	IF has_table_privilege('cpa_app', 'schema_migration', 'SELECT')
	    OR has_table_privilege('cpa_app', 'audit_event', 'UPDATE')
	    OR has_table_privilege('cpa_app', 'audit_event', 'DELETE')
	    OR has_table_privilege('cpa_app', 'audit_event', 'TRUNCATE')
	    OR has_table_privilege('cpa_app', 'site', 'INSERT')
	    OR has_table_privilege('cpa_app', 'staff', 'DELETE')
	    OR has_column_privilege('cpa_app', 'staff', 'username', 'UPDATE')
	    OR has_column_privilege('cpa_app', 'staff', 'home_site_id', 'UPDATE') THEN
		RAISE EXCEPTION 'FAIL: cpa_app holds a privilege it must not';
	END IF;
	IF (SELECT count(*) FROM site WHERE code IN ('north', 'south')) <> 2
	    OR (SELECT count(*) FROM staff WHERE username LIKE '%.north' OR username LIKE '%.south') <> 8 THEN
		RAISE EXCEPTION 'FAIL: load sql/demo/demo.sql first';
	END IF;
END
$$;

-- Remember the demo ids in psql variables for the checks below.
SELECT (SELECT id FROM site WHERE code = 'north') AS north,
	(SELECT id FROM site WHERE code = 'south') AS south,
	(SELECT id FROM staff WHERE username = 'coord.north') AS coord_north,
	(SELECT id FROM staff WHERE username = 'admin.south') AS admin_south,
	(SELECT t.id FROM team t JOIN site s ON s.id = t.site_id
		WHERE s.code = 'south' AND t.name = 'Harbour Community Mental Health Team') AS harbour_cmht,
	(SELECT t.id FROM team t JOIN site s ON s.id = t.site_id
		WHERE s.code = 'north' AND t.name = 'Moorland Early Intervention Team') AS moorland_eit,
	(SELECT d.id FROM district d JOIN site s ON s.id = d.site_id
		WHERE s.code = 'north' AND d.name = 'Riverside') AS riverside,
	(SELECT string_agg(id::text, ',') FROM site WHERE code IN ('north', 'south')) AS both,
	-- Tests may have added districts and teams; what counts is that only
	-- north's, all of them, are visible with north's context.
	(SELECT count(*) FROM district d JOIN site s ON s.id = d.site_id
		WHERE s.code = 'north') AS north_districts,
	(SELECT count(*) FROM team t JOIN site s ON s.id = t.site_id
		WHERE s.code = 'north') AS north_teams,
	(SELECT count(*) FROM team t JOIN site s ON s.id = t.site_id
		WHERE s.code IN ('north', 'south')) AS both_teams
\gset

-- ------------------------------------------------------- as cpa_app

\c - cpa_app
SET client_min_messages = warning;
SET cpa.north = :'north';
SET cpa.south = :'south';
SET cpa.coord_north = :'coord_north';
SET cpa.admin_south = :'admin_south';
SET cpa.harbour_cmht = :'harbour_cmht';
SET cpa.moorland_eit = :'moorland_eit';
SET cpa.riverside = :'riverside';
SET cpa.north_districts = :'north_districts';
SET cpa.north_teams = :'north_teams';
SET cpa.both_teams = :'both_teams';

-- Without a site context nothing is visible.
DO $$
BEGIN
	IF current_user <> 'cpa_app' THEN
		RAISE EXCEPTION 'FAIL: not connected as cpa_app';
	END IF;
	IF (SELECT count(*) FROM site) + (SELECT count(*) FROM district)
	    + (SELECT count(*) FROM team) + (SELECT count(*) FROM staff)
	    + (SELECT count(*) FROM staff_role) + (SELECT count(*) FROM audit_event) <> 0 THEN
		RAISE EXCEPTION 'FAIL: rows visible without app.site_ids';
	END IF;
END
$$;

-- With north's id: north's rows only, and only for that transaction.
BEGIN;
SET LOCAL app.site_ids = :'north';
DO $$
DECLARE
	north bigint := current_setting('app.site_ids')::bigint;
BEGIN
	IF (SELECT array_agg(code) FROM site) <> '{north}' THEN
		RAISE EXCEPTION 'FAIL: site rows with north context: %', (SELECT array_agg(code) FROM site);
	END IF;
	IF EXISTS (SELECT 1 FROM district WHERE site_id <> north)
	    OR (SELECT count(*) FROM district) <> current_setting('cpa.north_districts')::bigint
	    OR EXISTS (SELECT 1 FROM team WHERE site_id <> north)
	    OR (SELECT count(*) FROM team) <> current_setting('cpa.north_teams')::bigint THEN
		RAISE EXCEPTION 'FAIL: districts or teams of another site visible';
	END IF;
	IF EXISTS (SELECT 1 FROM staff WHERE username LIKE '%.south')
	    OR (SELECT count(*) FROM staff WHERE username LIKE '%.north') <> 6 THEN
		RAISE EXCEPTION 'FAIL: staff visible with north context: %',
			(SELECT array_agg(username ORDER BY username) FROM staff);
	END IF;
	IF EXISTS (SELECT 1 FROM staff_role WHERE site_id <> north) THEN
		RAISE EXCEPTION 'FAIL: another site''s role grants visible';
	END IF;
END
$$;
COMMIT;

DO $$
BEGIN
	IF (SELECT count(*) FROM site) <> 0 THEN
		RAISE EXCEPTION 'FAIL: site context outlived its transaction';
	END IF;
END
$$;

-- An empty or malformed list: no rows, or an error, never a wider view.
DO $$
BEGIN
	PERFORM set_config('app.site_ids', '', true);
	IF (SELECT count(*) FROM site) <> 0 THEN
		RAISE EXCEPTION 'FAIL: empty app.site_ids shows rows';
	END IF;
	PERFORM set_config('app.site_ids', '1,x', true);
	BEGIN
		PERFORM count(*) FROM site;
		RAISE EXCEPTION 'FAIL: malformed app.site_ids accepted';
	EXCEPTION WHEN invalid_text_representation THEN
		NULL;
	END;
END
$$;

BEGIN;
SET LOCAL app.site_ids = :'both';
DO $$
BEGIN
	IF (SELECT count(*) FROM site) <> 2
	    OR (SELECT count(*) FROM team) <> current_setting('cpa.both_teams')::bigint THEN
		RAISE EXCEPTION 'FAIL: two-site context does not show both sites';
	END IF;
END
$$;
COMMIT;

-- A staff member from another site becomes visible once granted a role here.
BEGIN;
SET LOCAL app.site_ids = :'north';
INSERT INTO staff_role (staff_id, role, site_id) VALUES (:'admin_south', 'auditor', :'north');
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM staff WHERE username = 'admin.south') THEN
		RAISE EXCEPTION 'FAIL: staff with a role at this site not visible';
	END IF;
	-- Visible, but changed only by their home site.
	UPDATE staff SET display_name = 'changed' WHERE username = 'admin.south';
	IF FOUND THEN
		RAISE EXCEPTION 'FAIL: updated a staff member whose home site is elsewhere';
	END IF;
END
$$;
ROLLBACK;

-- Writes: inserts and updates stay within the context's sites.
BEGIN;
SET LOCAL app.site_ids = :'north';
INSERT INTO staff (username, display_name, password_hash, home_site_id)
	VALUES ('check.north', 'Check North', '$argon2id$x', :'north');
DO $$
BEGIN
	UPDATE staff SET display_name = 'Checked', version = version + 1
	WHERE username IN ('check.north', 'prac.north');
	IF NOT FOUND OR (SELECT count(*) FROM staff WHERE display_name = 'Checked') <> 2 THEN
		RAISE EXCEPTION 'FAIL: could not update staff of the context''s site';
	END IF;
	UPDATE staff SET display_name = 'changed' WHERE username = 'admin.south';
	IF FOUND THEN
		RAISE EXCEPTION 'FAIL: updated a staff member of another site';
	END IF;
	BEGIN
		UPDATE staff SET username = 'renamed' WHERE username = 'check.north';
		RAISE EXCEPTION 'FAIL: cpa_app changed a username';
	EXCEPTION WHEN insufficient_privilege THEN
		NULL;
	END;
END
$$;
ROLLBACK;

BEGIN;
SET LOCAL app.site_ids = :'north';
DO $$
BEGIN
	INSERT INTO staff (username, display_name, password_hash, home_site_id)
	VALUES ('check.south', 'Check South', '$argon2id$x',
		current_setting('cpa.south')::bigint);
	RAISE EXCEPTION 'FAIL: staff inserted at a site outside the context';
EXCEPTION WHEN insufficient_privilege THEN
	NULL;
END
$$;
ROLLBACK;

-- Role grants: the team must belong to the role's site (and district);
-- the site must be in the context.
BEGIN;
SET LOCAL app.site_ids = :'north';
DO $$
DECLARE
	coord bigint := current_setting('cpa.coord_north')::bigint;
	north bigint := current_setting('app.site_ids')::bigint;
BEGIN
	BEGIN
		INSERT INTO staff_role (staff_id, role, site_id, team_id)
		VALUES (coord, 'practitioner', north, current_setting('cpa.harbour_cmht')::bigint);
		RAISE EXCEPTION 'FAIL: role granted for a team of another site';
	EXCEPTION WHEN foreign_key_violation THEN
		NULL;
	END;
	BEGIN
		INSERT INTO staff_role (staff_id, role, site_id, district_id, team_id)
		VALUES (coord, 'practitioner', north, current_setting('cpa.riverside')::bigint,
			current_setting('cpa.moorland_eit')::bigint);
		RAISE EXCEPTION 'FAIL: role granted for a team outside its district';
	EXCEPTION WHEN foreign_key_violation THEN
		NULL;
	END;
	BEGIN
		INSERT INTO staff_role (staff_id, role, site_id)
		VALUES (coord, 'practitioner', current_setting('cpa.south')::bigint);
		RAISE EXCEPTION 'FAIL: role granted at a site outside the context';
	EXCEPTION WHEN insufficient_privilege THEN
		NULL;
	END;
	BEGIN
		INSERT INTO staff_role (staff_id, role, site_id, district_id, team_id)
		SELECT staff_id, role, site_id, district_id, team_id FROM staff_role
		WHERE staff_id = coord;
		RAISE EXCEPTION 'FAIL: duplicate role grant accepted';
	EXCEPTION WHEN unique_violation THEN
		NULL;
	END;
	BEGIN
		INSERT INTO staff_role (staff_id, role, site_id) VALUES (coord, 'superuser', north);
		RAISE EXCEPTION 'FAIL: unknown role accepted';
	EXCEPTION WHEN check_violation THEN
		NULL;
	END;
	INSERT INTO staff_role (staff_id, role, site_id) VALUES (coord, 'practitioner', north);
	BEGIN
		INSERT INTO staff_role (staff_id, role, site_id) VALUES (coord, 'practitioner', north);
		RAISE EXCEPTION 'FAIL: duplicate whole-site grant accepted (NULLS NOT DISTINCT)';
	EXCEPTION WHEN unique_violation THEN
		NULL;
	END;
	DELETE FROM staff_role WHERE site_id = current_setting('cpa.south')::bigint;
	IF FOUND THEN
		RAISE EXCEPTION 'FAIL: deleted a role grant of another site';
	END IF;
END
$$;
ROLLBACK;

-- The audit trail: anyone appends, nobody rewrites.
BEGIN;
SET LOCAL app.site_ids = :'north';
INSERT INTO audit_event (username, action, site_id) VALUES ('check', 'check', :'north');
INSERT INTO audit_event (username, action) VALUES ('check', 'signin_failed');
DO $$
BEGIN
	IF (SELECT count(*) FROM audit_event WHERE username = 'check') <> 1 THEN
		RAISE EXCEPTION 'FAIL: audit rows visible outside the site context';
	END IF;
	BEGIN
		UPDATE audit_event SET detail = 'changed';
		RAISE EXCEPTION 'FAIL: cpa_app updated audit_event';
	EXCEPTION WHEN insufficient_privilege THEN
		NULL;
	END;
	BEGIN
		DELETE FROM audit_event;
		RAISE EXCEPTION 'FAIL: cpa_app deleted from audit_event';
	EXCEPTION WHEN insufficient_privilege THEN
		NULL;
	END;
	BEGIN
		TRUNCATE audit_event;
		RAISE EXCEPTION 'FAIL: cpa_app truncated audit_event';
	EXCEPTION WHEN insufficient_privilege THEN
		NULL;
	END;
END
$$;
ROLLBACK;

-- Sign-in functions work before any site context exists.
DO $$
DECLARE
	coord bigint := current_setting('cpa.coord_north')::bigint;
	p json;
BEGIN
	IF (SELECT count(*) FROM auth_credentials('coord.north')
	    WHERE staff_id = coord AND password_hash LIKE '$argon2id$%' AND active) <> 1 THEN
		RAISE EXCEPTION 'FAIL: auth_credentials does not find coord.north';
	END IF;
	IF EXISTS (SELECT 1 FROM auth_credentials('nobody.here')) THEN
		RAISE EXCEPTION 'FAIL: auth_credentials found an unknown user';
	END IF;
	p := auth_profile(coord);
	IF p IS NULL OR p->>'username' <> 'coord.north' OR p->>'display_name' IS NULL
	    OR json_array_length(p->'roles') <> 1
	    OR p->'roles'->0->>'role' <> 'coordinator'
	    OR p->'roles'->0->>'site_code' <> 'north'
	    OR p->'roles'->0->>'site_name' <> 'North site'
	    OR p->'roles'->0->>'district_name' <> 'Riverside'
	    OR p->'roles'->0->>'team_name' <> 'Riverside Community Mental Health Team'
	    OR json_array_length(p->'sites') <> 1
	    OR p->'sites'->0->>'code' <> 'north' THEN
		RAISE EXCEPTION 'FAIL: auth_profile: %', p;
	END IF;
	IF auth_profile(-1) IS NOT NULL THEN
		RAISE EXCEPTION 'FAIL: auth_profile of an unknown id';
	END IF;
	-- No one is signed in: nobody's password may be set.
	IF auth_set_password(coord, '$argon2id$v=19$new') THEN
		RAISE EXCEPTION 'FAIL: auth_set_password without app.user_id';
	END IF;
END
$$;

BEGIN;
SET LOCAL app.user_id = :'coord_north';
DO $$
DECLARE
	coord bigint := current_setting('app.user_id')::bigint;
	other bigint := current_setting('cpa.admin_south')::bigint;
BEGIN
	IF auth_set_password(other, '$argon2id$v=19$new') THEN
		RAISE EXCEPTION 'FAIL: auth_set_password changed another user''s password';
	END IF;
	IF NOT auth_set_password(coord, '$argon2id$v=19$new') THEN
		RAISE EXCEPTION 'FAIL: auth_set_password refused the user''s own password';
	END IF;
	IF (SELECT password_hash FROM auth_credentials('coord.north')) <> '$argon2id$v=19$new'
	    OR (SELECT password_hash FROM auth_credentials('admin.south')) = '$argon2id$v=19$new' THEN
		RAISE EXCEPTION 'FAIL: auth_set_password wrote the wrong row';
	END IF;
	BEGIN
		PERFORM auth_set_password(coord, 'plain text');
		RAISE EXCEPTION 'FAIL: auth_set_password stored a non-argon2id value';
	EXCEPTION WHEN invalid_parameter_value THEN
		NULL;
	END;
END
$$;
ROLLBACK;

-- A deactivated account has no profile.
BEGIN;
SET LOCAL app.site_ids = :'north';
UPDATE staff SET active = false WHERE username = 'coord.north';
DO $$
BEGIN
	IF auth_profile((SELECT staff_id FROM auth_credentials('coord.north'))) IS NOT NULL
	    OR (SELECT active FROM auth_credentials('coord.north')) THEN
		RAISE EXCEPTION 'FAIL: deactivated staff member still has a profile';
	END IF;
END
$$;
ROLLBACK;

-- ---------------------------------------------------- as cpa_owner

\c - cpa_owner
SET client_min_messages = warning;

-- Row-level security binds the owner too, and the triggers stop it from
-- rewriting the audit trail.
BEGIN;
SET LOCAL app.site_ids = :'north';
DO $$
BEGIN
	IF (SELECT count(*) FROM site) <> 1 THEN
		RAISE EXCEPTION 'FAIL: owner not bound by row-level security';
	END IF;
	INSERT INTO audit_event (username, action, site_id)
	VALUES ('check', 'check', current_setting('app.site_ids')::bigint);
	-- No UPDATE or DELETE policy exists, so the owner reaches no row ...
	UPDATE audit_event SET detail = 'changed';
	IF FOUND THEN
		RAISE EXCEPTION 'FAIL: owner updated audit_event';
	END IF;
	DELETE FROM audit_event;
	IF FOUND THEN
		RAISE EXCEPTION 'FAIL: owner deleted from audit_event';
	END IF;
	-- ... and TRUNCATE, which row-level security does not cover, meets the
	-- trigger.
	BEGIN
		TRUNCATE audit_event;
		RAISE EXCEPTION 'FAIL: owner truncated audit_event';
	EXCEPTION WHEN insufficient_privilege THEN
		NULL;
	END;
END
$$;
ROLLBACK;

DO $$
BEGIN
	IF (SELECT count(*) FROM site) <> 0 THEN
		RAISE EXCEPTION 'FAIL: owner sees rows without a site context';
	END IF;
END
$$;

-- ------------------------------------------- as the superuser again

-- The triggers stop even a role that bypasses row-level security, also
-- with triggers for replication switched off.
\c - postgres
SET client_min_messages = warning;
BEGIN;
INSERT INTO audit_event (username, action) VALUES ('check', 'check');
DO $$
DECLARE
	mode text;
BEGIN
	FOREACH mode IN ARRAY ARRAY['origin', 'replica'] LOOP
		PERFORM set_config('session_replication_role', mode, true);
		BEGIN
			UPDATE audit_event SET detail = 'changed' WHERE username = 'check';
			RAISE EXCEPTION 'FAIL: superuser updated audit_event (%)', mode;
		EXCEPTION WHEN insufficient_privilege THEN
			NULL;
		END;
		BEGIN
			DELETE FROM audit_event WHERE username = 'check';
			RAISE EXCEPTION 'FAIL: superuser deleted from audit_event (%)', mode;
		EXCEPTION WHEN insufficient_privilege THEN
			NULL;
		END;
		BEGIN
			TRUNCATE audit_event;
			RAISE EXCEPTION 'FAIL: superuser truncated audit_event (%)', mode;
		EXCEPTION WHEN insufficient_privilege THEN
			NULL;
		END;
	END LOOP;
END
$$;
ROLLBACK;

\echo check_security.sql: all checks passed
