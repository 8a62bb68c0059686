-- 008_inbox.sql - what the reminder pages of cpa-reviews need beyond 006
-- and 007: the page a reminder sends its reader to, and the read of a
-- calendar feed.
--
-- A calendar program fetches a feed by its secret URL with no session, so
-- no site context exists and row-level security would show it nothing.
-- calendar_feed_read() is the one narrow way past that: given the SHA-256
-- of a token it finds the feed's owner, and returns only what a calendar
-- entry shows (the kind of item, its date, the person's initials, a link),
-- recording the fetch as an audit row in the owner's name.

-- ------------------------------------------------------------- links

-- The page where the reader acts on an item of p_kind for person
-- p_service_user_id (a path; the caller adds the scheme and host).
CREATE FUNCTION due_item_link(p_kind text, p_service_user_id bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT '/service-users/' || p_service_user_id || CASE p_kind
		WHEN 'cpa_review' THEN '/reviews'
		WHEN 'risk_review' THEN '/risk'
		WHEN 'followup' THEN '/admissions'
		ELSE '' END
$$;

-- ------------------------------------------------------------ indexes

-- The feed also lists, for a manager, the open items of which a reminder
-- reached them and still stands (acknowledged or not).
CREATE INDEX reminder_recipient_uncleared_idx ON reminder (recipient_id)
	WHERE cleared_at IS NULL;

-- ------------------------------------------------------ calendar feeds

-- The feed whose token hashes to p_token_hash (32 bytes), or NULL when no
-- active feed has it or its owner is no longer active.  Otherwise its
-- last_used_at becomes now(), an audit row (action 'read', entity
-- 'calendar_feed', actor the owner, p_remote_addr and p_request_id as
-- given, at most 200 characters each) is written, and the answer is
--   {"staff_id", "events": [{"id", "kind", "due_on", "end_on", "initials",
--     "link", "overdue"}]}
-- with at most p_limit (1 to 2000) events, soonest first: the open items
-- of the sites where the owner holds a role that are theirs as the care
-- coordinator of the episode, or of which an uncleared reminder was
-- addressed to them.  due_on is the UK date of the due time and end_on the
-- day after, both as YYYYMMDD; initials are "J.S." from the person's
-- given and family names: nothing else about the person leaves here.
CREATE FUNCTION calendar_feed_read(p_token_hash bytea, p_limit integer,
	p_remote_addr text, p_request_id text) RETURNS json
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
	owner_id bigint;
	owner_name text;
	owner_site bigint;
	events json;
	n integer;
BEGIN
	IF p_token_hash IS NULL OR length(p_token_hash) <> 32 OR p_limit IS NULL
	   OR p_limit NOT BETWEEN 1 AND 2000 THEN
		RAISE EXCEPTION 'calendar_feed_read: a 32-byte hash and a limit of 1 to 2000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE calendar_feed c SET last_used_at = now()
	FROM staff s
	WHERE c.token_hash = p_token_hash AND c.revoked_at IS NULL
		AND s.id = c.staff_id AND s.active
	RETURNING s.id, s.username, s.home_site_id INTO owner_id, owner_name, owner_site;
	IF owner_id IS NULL THEN
		RETURN NULL;
	END IF;

	WITH sites AS (
		SELECT DISTINCT r.site_id FROM staff_role r WHERE r.staff_id = owner_id
	),
	mine AS (
		SELECT d.id FROM episode e
		JOIN due_item d ON d.episode_id = e.id AND d.open
		WHERE e.coordinator_id = owner_id AND e.ended_at IS NULL
			AND e.site_id IN (SELECT site_id FROM sites)
		UNION
		SELECT r.due_item_id FROM reminder r
		WHERE r.recipient_id = owner_id AND r.cleared_at IS NULL
			AND r.site_id IN (SELECT site_id FROM sites)
	),
	item AS (
		SELECT d.id, d.kind, d.service_user_id, d.due_at,
			(d.due_at AT TIME ZONE 'Europe/London')::date AS due_on
		FROM mine JOIN due_item d ON d.id = mine.id AND d.open
		ORDER BY d.due_at, d.id
		LIMIT p_limit
	)
	SELECT coalesce(json_agg(json_build_object(
			'id', i.id, 'kind', i.kind,
			'due_on', to_char(i.due_on, 'YYYYMMDD'),
			'end_on', to_char(i.due_on + 1, 'YYYYMMDD'),
			'initials', coalesce(upper(left(btrim(su.given_name), 1)) || '.', '')
				|| coalesce(upper(left(btrim(su.family_name), 1)) || '.', ''),
			'link', due_item_link(i.kind, i.service_user_id),
			'overdue', i.due_at < now())
			ORDER BY i.due_at, i.id), '[]'::json),
		count(*)
	INTO events, n
	FROM item i JOIN service_user su ON su.id = i.service_user_id;

	INSERT INTO audit_event (staff_id, username, action, entity_type, entity_id,
		site_id, remote_addr, request_id, detail)
	VALUES (owner_id, owner_name, 'read', 'calendar_feed', owner_id::text, owner_site,
		left(p_remote_addr, 200), left(p_request_id, 200), n || ' events');
	RETURN json_build_object('staff_id', owner_id, 'events', events);
END
$$;

-- ----------------------------------------------------------- privileges

-- What calendar_feed_read reads and writes as cpa_auth (007 and 002 gave
-- it episode, staff, staff_role, due_item, reminder and service_user).
GRANT SELECT, UPDATE (last_used_at) ON calendar_feed TO cpa_auth;
GRANT INSERT ON audit_event TO cpa_auth;

REVOKE ALL ON FUNCTION due_item_link(text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION due_item_link(text, bigint) TO cpa_app, cpa_auth;

REVOKE ALL ON FUNCTION calendar_feed_read(bytea, integer, text, text) FROM PUBLIC;
GRANT CREATE ON SCHEMA public TO cpa_auth;
ALTER FUNCTION calendar_feed_read(bytea, integer, text, text) OWNER TO cpa_auth;
REVOKE CREATE ON SCHEMA public FROM cpa_auth;
GRANT EXECUTE ON FUNCTION calendar_feed_read(bytea, integer, text, text) TO cpa_app;
