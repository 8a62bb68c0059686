-- 002_intake.sql - people, referrals and their triage, CPA episodes with
-- their care coordinators, transfers between teams and sites.
--
-- Every table carries site_id and is kept to the request's sites by forced
-- row-level security, like 001.  History is never overwritten: episode
-- changes are rows in episode_event, care-coordinator assignments rows in
-- coordinator_assignment (the MHSDS care coordination start and end dates),
-- and a transfer closes one episode and opens another.

-- ------------------------------------------------------------ site policy

-- Which care levels a site uses (trusts differ: standard/enhanced CPA, the
-- single "complex" level, non-CPA, or personalised care for everyone) and
-- how soon a referral of each urgency must be answered.
ALTER TABLE site
	ADD COLUMN episode_levels text[] NOT NULL
		DEFAULT '{standard,enhanced,non_cpa}'
		CHECK (cardinality(episode_levels) > 0 AND episode_levels <@
			'{standard,enhanced,complex,non_cpa,personalised}'::text[]),
	ADD COLUMN deadline_emergency interval NOT NULL DEFAULT '4 hours',
	ADD COLUMN deadline_urgent interval NOT NULL DEFAULT '24 hours',
	ADD COLUMN deadline_routine interval NOT NULL DEFAULT '28 days';

-- ---------------------------------------------------------------- people

CREATE TABLE service_user (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL REFERENCES site (id),
	nhs_number text CHECK (nhs_number ~ '^[0-9]{10}$'),
	given_name text NOT NULL CHECK (length(given_name) BETWEEN 1 AND 100),
	family_name text NOT NULL CHECK (length(family_name) BETWEEN 1 AND 100),
	other_names text CHECK (length(other_names) <= 200),
	date_of_birth date NOT NULL CHECK (date_of_birth >= '1900-01-01'),
	address text CHECK (length(address) <= 500),
	postcode text CHECK (length(postcode) <= 10),
	phone text CHECK (length(phone) <= 40),
	email text CHECK (length(email) <= 254),
	gp_practice text CHECK (length(gp_practice) <= 200),
	preferred_language text CHECK (length(preferred_language) <= 100),
	interpreter_needed boolean NOT NULL DEFAULT false,
	communication_needs text CHECK (length(communication_needs) <= 2000),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	version integer NOT NULL DEFAULT 1 CHECK (version > 0),
	UNIQUE (site_id, nhs_number),	-- several NULLs allowed: not known yet
	UNIQUE (id, site_id)
);
CREATE INDEX service_user_dob_idx ON service_user (site_id, date_of_birth);
CREATE INDEX service_user_family_idx ON service_user (site_id, lower(family_name));
-- "Similar name" look-ups for duplicate detection and search (pg_trgm is
-- created by bootstrap.sql).
CREATE INDEX service_user_name_trgm_idx ON service_user
	USING gin ((lower(given_name || ' ' || family_name)) gin_trgm_ops);

-- ------------------------------------------------------------- referrals

CREATE TABLE referral (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL REFERENCES site (id),
	service_user_id bigint NOT NULL,
	team_id bigint NOT NULL,
	source text NOT NULL CHECK (source IN ('gp', 'ae_liaison', 'self',
		'inpatient_ward', 'police_cjs', 'social_care', 'other')),
	source_detail text CHECK (length(source_detail) <= 200),
	urgency text NOT NULL CHECK (urgency IN ('emergency', 'urgent', 'routine')),
	received_at timestamptz NOT NULL DEFAULT now(),
	deadline_at timestamptz NOT NULL,
	reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 5000),
	status text NOT NULL DEFAULT 'awaiting_triage' CHECK (status IN
		('awaiting_triage', 'accepted', 'signposted', 'declined')),
	decided_at timestamptz,
	decided_by bigint REFERENCES staff (id),
	decision_reason text CHECK (length(decision_reason) <= 5000),
	signposted_to text CHECK (length(signposted_to) <= 200),
	episode_id bigint,
	created_by bigint NOT NULL REFERENCES staff (id),
	created_at timestamptz NOT NULL DEFAULT now(),
	idempotency_key text CHECK (length(idempotency_key) BETWEEN 8 AND 100),
	FOREIGN KEY (service_user_id, site_id) REFERENCES service_user (id, site_id),
	FOREIGN KEY (team_id, site_id) REFERENCES team (id, site_id),
	-- A retried submission finds the first one instead of making a twin.
	UNIQUE (created_by, idempotency_key),
	CHECK ((status = 'awaiting_triage') = (decided_at IS NULL)),
	CHECK ((status = 'awaiting_triage') = (decided_by IS NULL)),
	UNIQUE (id, site_id)
);
CREATE INDEX referral_queue_idx ON referral (team_id, deadline_at)
	WHERE status = 'awaiting_triage';
CREATE INDEX referral_service_user_idx ON referral (service_user_id);

-- -------------------------------------------------------------- episodes

CREATE TABLE episode (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL REFERENCES site (id),
	service_user_id bigint NOT NULL,
	team_id bigint NOT NULL,
	referral_id bigint,
	level text NOT NULL CHECK (level IN ('standard', 'enhanced', 'complex',
		'non_cpa', 'personalised')),
	coordinator_id bigint NOT NULL REFERENCES staff (id),
	started_at timestamptz NOT NULL DEFAULT now(),
	ended_at timestamptz,
	end_reason text CHECK (end_reason IN ('discharged_to_gp', 'moved_away',
		'died', 'declined_contact', 'transferred', 'other')),
	end_detail text CHECK (length(end_detail) <= 2000),
	version integer NOT NULL DEFAULT 1 CHECK (version > 0),
	FOREIGN KEY (service_user_id, site_id) REFERENCES service_user (id, site_id),
	FOREIGN KEY (team_id, site_id) REFERENCES team (id, site_id),
	FOREIGN KEY (referral_id, site_id) REFERENCES referral (id, site_id),
	CHECK ((ended_at IS NULL) = (end_reason IS NULL)),
	CHECK (ended_at IS NULL OR ended_at >= started_at),
	UNIQUE (id, site_id)
);
-- At most one open episode per person per team.
CREATE UNIQUE INDEX episode_one_open_per_team_idx ON episode (service_user_id, team_id)
	WHERE ended_at IS NULL;
CREATE INDEX episode_coordinator_open_idx ON episode (coordinator_id)
	WHERE ended_at IS NULL;
CREATE INDEX episode_team_open_idx ON episode (team_id) WHERE ended_at IS NULL;
CREATE INDEX episode_service_user_idx ON episode (service_user_id);

ALTER TABLE referral ADD FOREIGN KEY (episode_id, site_id) REFERENCES episode (id, site_id);

-- Everything that happened to an episode, in order; never updated.
CREATE TABLE episode_event (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL,
	episode_id bigint NOT NULL,
	kind text NOT NULL CHECK (kind IN ('opened', 'level_changed',
		'coordinator_changed', 'transfer_requested', 'transfer_accepted',
		'transfer_declined', 'closed')),
	from_value text,
	to_value text,
	reason text CHECK (length(reason) <= 2000),
	at timestamptz NOT NULL DEFAULT now(),
	by_staff_id bigint REFERENCES staff (id),
	FOREIGN KEY (episode_id, site_id) REFERENCES episode (id, site_id)
);
CREATE INDEX episode_event_episode_idx ON episode_event (episode_id, at);

-- Who was the named care coordinator, from when to when.  Continuity of
-- this relationship is what people value most; managers see its changes.
CREATE TABLE coordinator_assignment (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL,
	episode_id bigint NOT NULL,
	staff_id bigint NOT NULL REFERENCES staff (id),
	started_at timestamptz NOT NULL DEFAULT now(),
	ended_at timestamptz,
	FOREIGN KEY (episode_id, site_id) REFERENCES episode (id, site_id),
	CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE UNIQUE INDEX coordinator_assignment_current_idx ON coordinator_assignment (episode_id)
	WHERE ended_at IS NULL;
CREATE INDEX coordinator_assignment_staff_idx ON coordinator_assignment (staff_id, started_at);

-- A transfer asked for by the sending team and accepted (or declined) by
-- the receiving team, which may be at another site.
CREATE TABLE episode_transfer (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL,		-- the sending site
	episode_id bigint NOT NULL,
	to_site_id bigint NOT NULL REFERENCES site (id),
	to_team_id bigint NOT NULL,
	reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
	status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending',
		'accepted', 'declined')),
	requested_by bigint NOT NULL REFERENCES staff (id),
	requested_at timestamptz NOT NULL DEFAULT now(),
	decided_by bigint REFERENCES staff (id),
	decided_at timestamptz,
	decision_reason text CHECK (length(decision_reason) <= 2000),
	new_episode_id bigint,
	FOREIGN KEY (episode_id, site_id) REFERENCES episode (id, site_id),
	FOREIGN KEY (to_team_id, to_site_id) REFERENCES team (id, site_id),
	CHECK ((status = 'pending') = (decided_at IS NULL))
);
CREATE UNIQUE INDEX episode_transfer_pending_idx ON episode_transfer (episode_id)
	WHERE status = 'pending';
CREATE INDEX episode_transfer_incoming_idx ON episode_transfer (to_team_id)
	WHERE status = 'pending';

-- --------------------------------------------------------------- scoping

-- The teams the signed-in staff member works in, by role: a grant scoped
-- to a team covers that team, to a district its teams, to a site all the
-- site's teams.
CREATE VIEW my_team WITH (security_invoker = true) AS
	SELECT DISTINCT t.id AS team_id, t.site_id, t.district_id, r.role
	FROM staff_role r
	JOIN team t ON t.site_id = r.site_id
		AND (r.district_id IS NULL OR t.district_id = r.district_id)
		AND (r.team_id IS NULL OR t.id = r.team_id)
	WHERE r.staff_id = cpa_user_id();

-- ---------------------------------------------------- row-level security

ALTER TABLE service_user ENABLE ROW LEVEL SECURITY;
ALTER TABLE service_user FORCE ROW LEVEL SECURITY;
ALTER TABLE referral ENABLE ROW LEVEL SECURITY;
ALTER TABLE referral FORCE ROW LEVEL SECURITY;
ALTER TABLE episode ENABLE ROW LEVEL SECURITY;
ALTER TABLE episode FORCE ROW LEVEL SECURITY;
ALTER TABLE episode_event ENABLE ROW LEVEL SECURITY;
ALTER TABLE episode_event FORCE ROW LEVEL SECURITY;
ALTER TABLE coordinator_assignment ENABLE ROW LEVEL SECURITY;
ALTER TABLE coordinator_assignment FORCE ROW LEVEL SECURITY;
ALTER TABLE episode_transfer ENABLE ROW LEVEL SECURITY;
ALTER TABLE episode_transfer FORCE ROW LEVEL SECURITY;

CREATE POLICY service_user_site ON service_user
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));
CREATE POLICY referral_site ON referral
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));
CREATE POLICY episode_site ON episode
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));
CREATE POLICY episode_event_site ON episode_event
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));
CREATE POLICY coordinator_assignment_site ON coordinator_assignment
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));
-- Both ends of a transfer see it; the sending site asks, the receiving
-- site decides.
CREATE POLICY episode_transfer_select ON episode_transfer FOR SELECT
	USING (site_id = ANY (cpa_site_ids()) OR to_site_id = ANY (cpa_site_ids()));
CREATE POLICY episode_transfer_insert ON episode_transfer FOR INSERT
	WITH CHECK (site_id = ANY (cpa_site_ids()));
CREATE POLICY episode_transfer_update ON episode_transfer FOR UPDATE
	USING (to_site_id = ANY (cpa_site_ids())) WITH CHECK (to_site_id = ANY (cpa_site_ids()));

-- No DELETE anywhere: records are closed, never removed.
GRANT SELECT, INSERT, UPDATE ON service_user, referral, episode,
	coordinator_assignment, episode_transfer TO cpa_app;
GRANT SELECT, INSERT ON episode_event TO cpa_app;
GRANT SELECT ON my_team TO cpa_app, cpa_auth;

-- ------------------------------------------------- cross-site transfers

-- Accepting a transfer from another site: the receiving site cannot see
-- the sending site's rows, so this function (run as cpa_auth, which
-- bypasses row-level security) checks that the caller may act for the
-- receiving team, copies the person to the receiving site (or finds them
-- there by NHS number), closes the old episode and opens the new one.
-- The caller checks the level and the coordinator first, to answer with
-- the field at fault; the checks here are the backstop.  my_team is
-- security_invoker, but it filters by cpa_user_id(), so run as cpa_auth it
-- still means the caller's teams.
-- Returns the new episode and, for the sending site's audit row, the
-- person and site of the episode that was closed; all NULL when the
-- transfer is not pending, not addressed to a team of the caller's sites
-- that the caller covers with a clinical role, the level is not one the
-- receiving site uses, the coordinator is not an active coordinator of
-- the receiving team, or the episode is no longer open.
CREATE TYPE intake_transfer_accepted AS (new_episode_id bigint,
	old_service_user_id bigint, old_site_id bigint);

CREATE FUNCTION intake_accept_transfer(p_transfer_id bigint, p_level text,
	p_coordinator_id bigint, p_reason text) RETURNS intake_transfer_accepted
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
	t episode_transfer;
	e episode;
	su service_user;
	new_su bigint;
	new_ep bigint;
	me bigint := cpa_user_id();
	res intake_transfer_accepted;
BEGIN
	SELECT x.* INTO t FROM episode_transfer x
		JOIN team tt ON tt.id = x.to_team_id
		JOIN site ts ON ts.id = x.to_site_id
		WHERE x.id = p_transfer_id AND x.status = 'pending'
		AND x.to_site_id = ANY (cpa_site_ids())
		AND EXISTS (SELECT 1 FROM my_team m WHERE m.team_id = x.to_team_id
			AND m.role IN ('coordinator', 'practitioner', 'team_manager',
				'district_manager'))
		AND p_level = ANY (ts.episode_levels)
		AND EXISTS (SELECT 1 FROM staff_role r JOIN staff rs ON rs.id = r.staff_id
			AND rs.active WHERE r.staff_id = p_coordinator_id
			AND r.role = 'coordinator' AND r.site_id = tt.site_id
			AND (r.district_id IS NULL OR r.district_id = tt.district_id)
			AND (r.team_id IS NULL OR r.team_id = tt.id))
		AND EXISTS (SELECT 1 FROM episode oe WHERE oe.id = x.episode_id
			AND oe.ended_at IS NULL)
		FOR UPDATE OF x;
	IF NOT FOUND OR me IS NULL THEN
		RETURN res;
	END IF;
	SELECT * INTO e FROM episode WHERE id = t.episode_id FOR UPDATE;
	IF e.ended_at IS NOT NULL THEN	-- closed while we waited for the lock
		RETURN res;
	END IF;
	SELECT * INTO su FROM service_user WHERE id = e.service_user_id;

	IF t.to_site_id = t.site_id THEN
		new_su := su.id;
	ELSE
		SELECT id INTO new_su FROM service_user
			WHERE site_id = t.to_site_id AND nhs_number = su.nhs_number;
		IF new_su IS NULL THEN
			INSERT INTO service_user (site_id, nhs_number, given_name, family_name,
				other_names, date_of_birth, address, postcode, phone, email,
				gp_practice, preferred_language, interpreter_needed,
				communication_needs)
			VALUES (t.to_site_id, su.nhs_number, su.given_name, su.family_name,
				su.other_names, su.date_of_birth, su.address, su.postcode, su.phone,
				su.email, su.gp_practice, su.preferred_language,
				su.interpreter_needed, su.communication_needs)
			RETURNING id INTO new_su;
		END IF;
	END IF;

	UPDATE episode SET ended_at = now(), end_reason = 'transferred',
		end_detail = p_reason, version = version + 1
		WHERE id = e.id;
	UPDATE coordinator_assignment SET ended_at = now()
		WHERE episode_id = e.id AND ended_at IS NULL;
	INSERT INTO episode_event (site_id, episode_id, kind, to_value, reason, by_staff_id)
		VALUES (e.site_id, e.id, 'closed', 'transferred', p_reason, me);

	INSERT INTO episode (site_id, service_user_id, team_id, level, coordinator_id)
		VALUES (t.to_site_id, new_su, t.to_team_id, p_level, p_coordinator_id)
		RETURNING id INTO new_ep;
	INSERT INTO coordinator_assignment (site_id, episode_id, staff_id)
		VALUES (t.to_site_id, new_ep, p_coordinator_id);
	INSERT INTO episode_event (site_id, episode_id, kind, from_value, to_value,
		reason, by_staff_id)
		VALUES (t.to_site_id, new_ep, 'transfer_accepted', e.id::text, p_level,
			p_reason, me);

	UPDATE episode_transfer SET status = 'accepted', decided_by = me,
		decided_at = now(), decision_reason = p_reason, new_episode_id = new_ep
		WHERE id = t.id;
	res := ROW(new_ep, e.service_user_id, e.site_id);
	RETURN res;
END
$$;

GRANT SELECT, INSERT, UPDATE ON service_user, episode, coordinator_assignment,
	episode_transfer TO cpa_auth;
GRANT SELECT, INSERT ON episode_event TO cpa_auth;
GRANT CREATE ON SCHEMA public TO cpa_auth;
ALTER FUNCTION intake_accept_transfer(bigint, text, bigint, text) OWNER TO cpa_auth;
REVOKE CREATE ON SCHEMA public FROM cpa_auth;
REVOKE ALL ON FUNCTION intake_accept_transfer(bigint, text, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION intake_accept_transfer(bigint, text, bigint, text) TO cpa_app;

-- The trust's teams at every site, for choosing where to transfer someone:
-- names only, no patient data.
CREATE FUNCTION trust_teams() RETURNS TABLE (team_id bigint, team_name text,
	district_id bigint, district_name text, site_id bigint, site_name text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
	SELECT t.id, t.name, d.id, d.name, s.id, s.name
	FROM team t JOIN district d ON d.id = t.district_id JOIN site s ON s.id = t.site_id
	WHERE cpa_user_id() IS NOT NULL
	ORDER BY s.name, d.name, t.name
$$;

-- Pending transfers into the caller's sites, with what the receiving team
-- needs to decide: who the person is and where they come from.  The
-- sending site's rows stay hidden otherwise.  from_service_user_id (the
-- person's id at the sending site) is for audit rows only, never shown.
CREATE FUNCTION intake_incoming_transfers() RETURNS TABLE (transfer_id bigint,
	to_team_id bigint, to_site_id bigint, from_team_name text, from_site_name text,
	reason text, requested_at timestamptz, requested_by_name text,
	nhs_number text, given_name text, family_name text, date_of_birth date,
	level text, from_service_user_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
	SELECT x.id, x.to_team_id, x.to_site_id, ft.name, fs.name, x.reason,
		x.requested_at, st.display_name, su.nhs_number, su.given_name,
		su.family_name, su.date_of_birth, e.level, su.id
	FROM episode_transfer x
	JOIN episode e ON e.id = x.episode_id
	JOIN service_user su ON su.id = e.service_user_id
	JOIN team ft ON ft.id = e.team_id
	JOIN site fs ON fs.id = x.site_id
	JOIN staff st ON st.id = x.requested_by
	WHERE x.status = 'pending' AND x.to_site_id = ANY (cpa_site_ids())
	ORDER BY x.requested_at
$$;

GRANT SELECT ON site, district, team, staff, service_user, episode,
	episode_transfer TO cpa_auth;
GRANT CREATE ON SCHEMA public TO cpa_auth;
ALTER FUNCTION trust_teams() OWNER TO cpa_auth;
ALTER FUNCTION intake_incoming_transfers() OWNER TO cpa_auth;
REVOKE CREATE ON SCHEMA public FROM cpa_auth;
REVOKE ALL ON FUNCTION trust_teams() FROM PUBLIC;
REVOKE ALL ON FUNCTION intake_incoming_transfers() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION trust_teams() TO cpa_app;
GRANT EXECUTE ON FUNCTION intake_incoming_transfers() TO cpa_app;
