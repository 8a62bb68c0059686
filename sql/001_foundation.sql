-- 001_foundation.sql - the organisation (sites, districts, teams), staff and
-- their roles, the audit trail, row-level security that keeps sites apart,
-- and the sign-in functions.
--
-- Applied by cpa-migrate as cpa_owner, in one transaction, after
-- sql/bootstrap.sql created the roles.  Migration files must not contain
-- BEGIN/COMMIT.
--
-- How site separation works.  Each request of a worker runs
--
--   BEGIN;
--   SELECT set_config('app.user_id', '42', true),
--          set_config('app.site_ids', '1,2', true);
--   ... ;
--   COMMIT;
--
-- so the settings last for that transaction only.  Every table here has
-- row-level security enabled and FORCEd, with policies for PUBLIC, so they
-- bind cpa_app and the owner alike; with no app.site_ids set, every policy
-- sees an empty list and no rows.  Foreign-key checks bypass row-level
-- security by design, so a constraint can still see a row that a policy
-- hides.

-- ------------------------------------------------------------------ context

-- The sites of the current request: app.site_ids is a comma-separated list
-- of ids ('1,2'); unset or '' gives an empty array.  A malformed value is
-- an error, never a wider view.
CREATE FUNCTION cpa_site_ids() RETURNS bigint[]
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT CASE
		WHEN coalesce(current_setting('app.site_ids', true), '') = '' THEN '{}'::bigint[]
		ELSE string_to_array(current_setting('app.site_ids', true), ',')::bigint[]
	END
$$;

-- The signed-in staff member of the current request, NULL when anonymous.
CREATE FUNCTION cpa_user_id() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT nullif(current_setting('app.user_id', true), '')::bigint
$$;

-- ------------------------------------------------------------- organisation

-- A trust site.  level_model is the set of care levels the site works with:
-- 'cpa' (standard / enhanced), 'cpa_single' (the single "complex" level) or
-- 'personalised' (personalised care and support planning, no CPA levels).
CREATE TABLE site (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	code text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9-]{2,32}$'),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	level_model text NOT NULL DEFAULT 'cpa'
		CHECK (level_model IN ('cpa', 'cpa_single', 'personalised')),
	created_at timestamptz NOT NULL DEFAULT now()
);

-- integrated: health and social care delivered by one team; inclusive:
-- eligibility open to all on the caseload (false = targeted).
CREATE TABLE district (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL REFERENCES site (id),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	integrated boolean NOT NULL,
	inclusive boolean NOT NULL,
	UNIQUE (site_id, name),
	UNIQUE (id, site_id)		-- target of (district_id, site_id) keys
);

-- A team carries its site as well as its district; the composite key makes
-- the two agree, so a site filter on team alone is sound.
CREATE TABLE team (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL,
	district_id bigint NOT NULL,
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	FOREIGN KEY (district_id, site_id) REFERENCES district (id, site_id),
	UNIQUE (district_id, name),
	UNIQUE (id, site_id),		-- target of (team_id, site_id) keys
	UNIQUE (id, district_id)	-- target of (team_id, district_id) keys
);
CREATE INDEX team_site_idx ON team (site_id);

-- ----------------------------------------------------------------- staff

-- password_hash is an argon2id encoding written by cpa_password_hash.
-- version counts updates, for optimistic concurrency.
CREATE TABLE staff (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	username text NOT NULL UNIQUE CHECK (username ~ '^[a-z][a-z0-9._-]{2,63}$'),
	display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
	professional_role text CHECK (length(professional_role) <= 200),
	email text CHECK (length(email) <= 254),
	password_hash text NOT NULL,
	home_site_id bigint NOT NULL REFERENCES site (id),
	active boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	version integer NOT NULL DEFAULT 1 CHECK (version > 0)
);
CREATE INDEX staff_home_site_idx ON staff (home_site_id);

-- One grant of a role at a site, optionally narrowed to a district or a
-- team of that same site (the composite keys refuse a district or team of
-- another site, and a team outside the named district).  NULLS NOT
-- DISTINCT makes a whole-site grant unique too.
CREATE TABLE staff_role (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	staff_id bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
	role text NOT NULL CHECK (role IN ('coordinator', 'practitioner', 'team_manager',
		'district_manager', 'trust_admin', 'auditor')),
	site_id bigint NOT NULL REFERENCES site (id),
	district_id bigint,
	team_id bigint,
	granted_by bigint REFERENCES staff (id),
	granted_at timestamptz NOT NULL DEFAULT now(),
	FOREIGN KEY (district_id, site_id) REFERENCES district (id, site_id),
	FOREIGN KEY (team_id, site_id) REFERENCES team (id, site_id),
	FOREIGN KEY (team_id, district_id) REFERENCES team (id, district_id),
	UNIQUE NULLS NOT DISTINCT (staff_id, role, site_id, district_id, team_id)
);
CREATE INDEX staff_role_site_idx ON staff_role (site_id, staff_id);

-- ----------------------------------------------------------------- audit

-- Who did what, when, to which record, from where.  No foreign keys: the
-- trail outlives what it describes.  detail holds text already stripped of
-- control characters by the application.
CREATE TABLE audit_event (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at timestamptz NOT NULL DEFAULT clock_timestamp(),
	staff_id bigint,
	username text,
	action text NOT NULL,
	entity_type text,
	entity_id text,
	service_user_id bigint,
	site_id bigint,
	remote_addr text,
	request_id text,
	detail text
);
CREATE INDEX audit_event_at_idx ON audit_event (at);
CREATE INDEX audit_event_service_user_idx ON audit_event (service_user_id, at);
CREATE INDEX audit_event_staff_idx ON audit_event (staff_id, at);

-- Append-only for everyone, the owner included: privileges keep cpa_app
-- out, and these triggers stop any role that holds the privilege.  ENABLE
-- ALWAYS keeps them firing under session_replication_role = replica.
CREATE FUNCTION audit_event_append_only() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
		USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event
	FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
	FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
ALTER TABLE audit_event ENABLE ALWAYS TRIGGER audit_event_no_update;
ALTER TABLE audit_event ENABLE ALWAYS TRIGGER audit_event_no_truncate;

-- ------------------------------------------------------- row-level security

ALTER TABLE site ENABLE ROW LEVEL SECURITY;
ALTER TABLE site FORCE ROW LEVEL SECURITY;
ALTER TABLE district ENABLE ROW LEVEL SECURITY;
ALTER TABLE district FORCE ROW LEVEL SECURITY;
ALTER TABLE team ENABLE ROW LEVEL SECURITY;
ALTER TABLE team FORCE ROW LEVEL SECURITY;
ALTER TABLE staff ENABLE ROW LEVEL SECURITY;
ALTER TABLE staff FORCE ROW LEVEL SECURITY;
ALTER TABLE staff_role ENABLE ROW LEVEL SECURITY;
ALTER TABLE staff_role FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_event ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_event FORCE ROW LEVEL SECURITY;

-- A command with no policy is refused: sites, districts and teams are
-- read-only through the application.
CREATE POLICY site_select ON site FOR SELECT
	USING (id = ANY (cpa_site_ids()));
CREATE POLICY district_select ON district FOR SELECT
	USING (site_id = ANY (cpa_site_ids()));
CREATE POLICY team_select ON team FOR SELECT
	USING (site_id = ANY (cpa_site_ids()));

-- Staff are visible when employed at one of the request's sites, when they
-- hold a role there, or when they are the signed-in user.  The sub-query
-- reads staff_role under its own policy, which never refers back to staff,
-- so the two policies cannot recurse.
CREATE POLICY staff_select ON staff FOR SELECT
	USING (home_site_id = ANY (cpa_site_ids())
		OR id = cpa_user_id()
		OR EXISTS (SELECT 1 FROM staff_role r
			WHERE r.staff_id = staff.id AND r.site_id = ANY (cpa_site_ids())));
-- Staff are created and changed only at their home site.
CREATE POLICY staff_insert ON staff FOR INSERT
	WITH CHECK (home_site_id = ANY (cpa_site_ids()));
CREATE POLICY staff_update ON staff FOR UPDATE
	USING (home_site_id = ANY (cpa_site_ids()))
	WITH CHECK (home_site_id = ANY (cpa_site_ids()));

CREATE POLICY staff_role_select ON staff_role FOR SELECT
	USING (site_id = ANY (cpa_site_ids()) OR staff_id = cpa_user_id());
CREATE POLICY staff_role_insert ON staff_role FOR INSERT
	WITH CHECK (site_id = ANY (cpa_site_ids()));
CREATE POLICY staff_role_delete ON staff_role FOR DELETE
	USING (site_id = ANY (cpa_site_ids()));

-- Anyone may append (failed sign-ins have no site); reading is per site.
-- Rows without a site_id are therefore invisible to the application, so an
-- INSERT into audit_event must not use RETURNING.
CREATE POLICY audit_event_insert ON audit_event FOR INSERT
	WITH CHECK (true);
CREATE POLICY audit_event_select ON audit_event FOR SELECT
	USING (site_id = ANY (cpa_site_ids()));

-- ------------------------------------------------------------- privileges

-- Identity columns draw their values without a sequence privilege (unlike
-- serial defaults), so cpa_app needs no grant on the sequences.
GRANT SELECT ON site, district, team TO cpa_app;
GRANT SELECT, INSERT ON staff TO cpa_app;
GRANT UPDATE (display_name, professional_role, email, active, password_hash,
	updated_at, version) ON staff TO cpa_app;
GRANT SELECT, INSERT, DELETE ON staff_role TO cpa_app;
GRANT SELECT, INSERT ON audit_event TO cpa_app;

-- What the sign-in functions below read and write, as cpa_auth.
GRANT SELECT ON site, district, team, staff_role TO cpa_auth;
GRANT SELECT ON staff TO cpa_auth;
GRANT UPDATE (password_hash, updated_at, version) ON staff TO cpa_auth;

-- --------------------------------------------------------- sign-in functions
--
-- SECURITY DEFINER, owned by cpa_auth (BYPASSRLS): they run before a site
-- context exists.  Each takes exactly what it needs and returns no more.
-- search_path is pinned, with pg_temp last, so a caller cannot substitute
-- objects.

-- The stored credentials for a username (no row when unknown).  The caller
-- verifies the password and treats unknown and inactive alike.
CREATE FUNCTION auth_credentials(p_username text)
RETURNS TABLE (staff_id bigint, password_hash text, active boolean)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
	SELECT s.id, s.password_hash, s.active
	FROM public.staff s
	WHERE s.username = p_username
$$;

-- The profile a session is built from, or NULL unless the staff member
-- exists and is active:
--   {"id", "username", "display_name",
--    "roles": [{"id", "role", "site_id", "site_code", "site_name",
--               "district_id", "district_name", "team_id", "team_name"}],
--    "sites": [{"id", "code", "name"}]}
-- roles are ordered by site name then role; sites are the distinct sites of
-- the roles, by name.  A staff member with no role has no sites.
CREATE FUNCTION auth_profile(p_staff_id bigint) RETURNS json
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
	SELECT json_build_object(
		'id', s.id,
		'username', s.username,
		'display_name', s.display_name,
		'roles', coalesce((
			SELECT json_agg(json_build_object(
				'id', r.id, 'role', r.role,
				'site_id', r.site_id, 'site_code', si.code, 'site_name', si.name,
				'district_id', r.district_id, 'district_name', d.name,
				'team_id', r.team_id, 'team_name', t.name)
				ORDER BY si.name, r.role, r.id)
			FROM public.staff_role r
			JOIN public.site si ON si.id = r.site_id
			LEFT JOIN public.district d ON d.id = r.district_id
			LEFT JOIN public.team t ON t.id = r.team_id
			WHERE r.staff_id = s.id), '[]'::json),
		'sites', coalesce((
			SELECT json_agg(json_build_object('id', x.id, 'code', x.code, 'name', x.name)
				ORDER BY x.name, x.id)
			FROM (SELECT DISTINCT si.id, si.code, si.name
				FROM public.staff_role r
				JOIN public.site si ON si.id = r.site_id
				WHERE r.staff_id = s.id) x), '[]'::json))
	FROM public.staff s
	WHERE s.id = p_staff_id AND s.active
$$;

-- Set the signed-in user's own password: only when p_staff_id is
-- app.user_id of this transaction and the account is active.  p_hash must
-- be an argon2id encoding.  Returns whether a row changed.
CREATE FUNCTION auth_set_password(p_staff_id bigint, p_hash text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
	IF p_hash IS NULL OR p_hash NOT LIKE '$argon2id$%' THEN
		RAISE EXCEPTION 'auth_set_password: not an argon2id hash'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_staff_id IS NULL OR p_staff_id IS DISTINCT FROM public.cpa_user_id() THEN
		RETURN false;
	END IF;
	UPDATE public.staff
	SET password_hash = p_hash, updated_at = now(), version = version + 1
	WHERE id = p_staff_id AND active;
	RETURN FOUND;
END
$$;

REVOKE EXECUTE ON FUNCTION auth_credentials(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth_profile(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION auth_set_password(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_credentials(text) TO cpa_app;
GRANT EXECUTE ON FUNCTION auth_profile(bigint) TO cpa_app;
GRANT EXECUTE ON FUNCTION auth_set_password(bigint, text) TO cpa_app;

-- A new owner needs CREATE on the schema; cpa_auth holds it only for the
-- moment of the hand-over.
GRANT CREATE ON SCHEMA public TO cpa_auth;
ALTER FUNCTION auth_credentials(text) OWNER TO cpa_auth;
ALTER FUNCTION auth_profile(bigint) OWNER TO cpa_auth;
ALTER FUNCTION auth_set_password(bigint, text) OWNER TO cpa_auth;
REVOKE CREATE ON SCHEMA public FROM cpa_auth;
