-- 007_remindd.sql - keeping due_item in step with what falls due, and the
-- functions cpa-remindd runs: queue the reminders whose time has come
-- (sweep), deliver them by email through an outbox with leases, and know
-- when to wake next.
--
-- Who writes what:
--   due_item   only the triggers below, as whoever changed the source row
--              (cpa_app in a request, cpa_auth inside a definer function);
--   reminder   only remind_sweep, remind_claim_email, remind_email_result
--              and remind_clear, SECURITY DEFINER functions owned by
--              cpa_auth (a reminder is visible to its recipient alone, so
--              nobody else could write them through row-level security).
--
-- Time.  Every function the daemon calls takes its clock, p_now, so tests
-- can set it.  Date-based items (reviews, risk reviews) are due at 09:00 UK
-- time on their date (due_at_of).  A policy step's time is the item's due
-- time plus the step's offset, the days of which are calendar days in
-- Europe/London, keeping the time of day across a clock change, and the
-- hours elapsed time (remind_at).
--
-- The state of an item: steps_done counts the policy steps already taken
-- (or skipped), next_step_at is the time of the next one (NULL: none left).
-- A new or moved due time starts the steps again.  A sweep takes, of the
-- steps that have fallen due, only the latest: a reminder that would arrive
-- late is never sent, the next one says more.

-- --------------------------------------------------------------- time

-- The due time of something due on p_date: 09:00 UK time that day.
CREATE FUNCTION due_at_of(p_date date) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT (p_date + time '09:00') AT TIME ZONE 'Europe/London'
$$;

-- p_due moved by a policy offset: the offset's months and days on the UK
-- calendar (09:00 stays 09:00 across a clock change), the rest (hours,
-- minutes) as elapsed time.  The result does not depend on the session's
-- TimeZone; it is declared STABLE only because timestamptz + interval is,
-- and an IMMUTABLE declaration would keep it from being inlined.
CREATE FUNCTION remind_at(p_due timestamptz, p_offset interval) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN date_trunc('day', p_offset) = interval '0' THEN p_due + p_offset
		ELSE (((p_due AT TIME ZONE 'Europe/London') + date_trunc('day', p_offset))
			AT TIME ZONE 'Europe/London') + (p_offset - date_trunc('day', p_offset))
	END
$$;

-- ------------------------------------------------------------- policy

-- The first step after step p_after of the policy in force for items of
-- kind p_kind at site p_site: the site's own reminder_step rows for that
-- kind when it has any, else the trust's defaults (site_id NULL).  at is
-- the step's time for an item due at p_due.  No row: no step left.
-- SECURITY INVOKER: a site's own rows are seen only by a caller whose
-- context includes the site (or who bypasses row-level security).
CREATE FUNCTION remind_step_after(p_site bigint, p_kind text, p_due timestamptz,
	p_after smallint)
RETURNS TABLE (step smallint, at timestamptz, recipient text)
LANGUAGE sql STABLE
AS $$
	SELECT r.step, remind_at(p_due, r.offset_by), r.recipient
	FROM reminder_step r
	WHERE r.kind = p_kind AND r.step > p_after
		AND r.site_id IS NOT DISTINCT FROM (SELECT o.site_id FROM reminder_step o
			WHERE o.site_id = p_site AND o.kind = p_kind LIMIT 1)
	ORDER BY r.step
	LIMIT 1
$$;

-- ------------------------------------------------- keeping due items

-- Open, move or close the item of kind p_kind for source row p_source.
-- p_due NULL closes it (when open); otherwise it is opened or kept open,
-- due at p_due, for the person and episode given.  An item that is new,
-- reopened, moved to another due time or another episode starts its steps
-- again: steps_done 0, next_step_at the first step's time.  Anything else
-- leaves it as it is, so repeating a call changes nothing.
CREATE FUNCTION due_item_keep(p_kind text, p_source bigint, p_site bigint,
	p_service_user bigint, p_episode bigint, p_due timestamptz)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
	IF p_due IS NULL THEN
		UPDATE due_item SET open = false, closed_at = now(), next_step_at = NULL
		WHERE kind = p_kind AND source_id = p_source AND open;
		RETURN;
	END IF;
	INSERT INTO due_item AS d (site_id, kind, source_id, service_user_id, episode_id,
		due_at, steps_done, next_step_at)
	VALUES (p_site, p_kind, p_source, p_service_user, p_episode, p_due, 0,
		(SELECT s.at FROM remind_step_after(p_site, p_kind, p_due, 0::smallint) s))
	ON CONFLICT (kind, source_id) DO UPDATE
	SET service_user_id = excluded.service_user_id, episode_id = excluded.episode_id,
		due_at = excluded.due_at, open = true, closed_at = NULL, steps_done = 0,
		next_step_at = excluded.next_step_at
	WHERE NOT d.open OR d.due_at <> excluded.due_at OR d.episode_id <> excluded.episode_id;
END
$$;

-- A review waiting to be held (status due) is an item due at 09:00 on its
-- due date; held or cancelled, it is closed.
CREATE FUNCTION due_item_from_review() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
	PERFORM due_item_keep('cpa_review', NEW.id, NEW.site_id, NEW.service_user_id,
		NEW.episode_id, CASE WHEN NEW.status = 'due' THEN due_at_of(NEW.due_date) END);
	RETURN NULL;
END
$$;
CREATE TRIGGER due_item_review_insert AFTER INSERT ON cpa_review
	FOR EACH ROW EXECUTE FUNCTION due_item_from_review();
CREATE TRIGGER due_item_review_update AFTER UPDATE OF status, due_date ON cpa_review
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
		OR OLD.due_date IS DISTINCT FROM NEW.due_date)
	EXECUTE FUNCTION due_item_from_review();

-- The review of an approved risk assessment is due at 09:00 on its
-- next_review_due, reminding the coordinator of the person's open episode:
-- the assessment's own episode while it is open, else the person's latest
-- open episode at that site (an episode closed and another opened, as a
-- transfer between teams does).  With no open episode, or once the
-- assessment is superseded, the item is closed.
CREATE FUNCTION due_item_risk(a risk_assessment) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
	ep bigint;
BEGIN
	IF a.status = 'approved' AND a.next_review_due IS NOT NULL THEN
		SELECT e.id INTO ep FROM episode e
		WHERE e.service_user_id = a.service_user_id AND e.site_id = a.site_id
			AND e.ended_at IS NULL
		ORDER BY e.id = a.episode_id DESC, e.started_at DESC, e.id DESC
		LIMIT 1;
	END IF;
	PERFORM due_item_keep('risk_review', a.id, a.site_id, a.service_user_id, ep,
		CASE WHEN ep IS NOT NULL THEN due_at_of(a.next_review_due) END);
END
$$;

CREATE FUNCTION due_item_from_risk() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
	PERFORM due_item_risk(NEW);
	RETURN NULL;
END
$$;
CREATE TRIGGER due_item_risk_insert AFTER INSERT ON risk_assessment
	FOR EACH ROW WHEN (NEW.status = 'approved')
	EXECUTE FUNCTION due_item_from_risk();
CREATE TRIGGER due_item_risk_update
	AFTER UPDATE OF status, next_review_due, episode_id ON risk_assessment
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
		OR OLD.next_review_due IS DISTINCT FROM NEW.next_review_due
		OR OLD.episode_id IS DISTINCT FROM NEW.episode_id)
	EXECUTE FUNCTION due_item_from_risk();

-- An episode opens or closes: the person's approved assessment follows
-- (its review is reminded to whoever coordinates their care now, and to
-- nobody once no episode is open).
CREATE FUNCTION due_item_from_episode() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
	a risk_assessment;
BEGIN
	FOR a IN SELECT * FROM risk_assessment r
		WHERE r.service_user_id = NEW.service_user_id AND r.status = 'approved'
	LOOP
		PERFORM due_item_risk(a);
	END LOOP;
	RETURN NULL;
END
$$;
CREATE TRIGGER due_item_episode_insert AFTER INSERT ON episode
	FOR EACH ROW WHEN (NEW.ended_at IS NULL)
	EXECUTE FUNCTION due_item_from_episode();
CREATE TRIGGER due_item_episode_update AFTER UPDATE OF ended_at ON episode
	FOR EACH ROW WHEN (OLD.ended_at IS DISTINCT FROM NEW.ended_at)
	EXECUTE FUNCTION due_item_from_episode();

-- A follow-up after discharge is an item due at its due_at while open;
-- met or cancelled, it is closed.
CREATE FUNCTION due_item_from_followup() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
	PERFORM due_item_keep('followup', NEW.id, NEW.site_id, NEW.service_user_id,
		NEW.episode_id, CASE WHEN NEW.status = 'open' THEN NEW.due_at END);
	RETURN NULL;
END
$$;
CREATE TRIGGER due_item_followup_insert AFTER INSERT ON followup
	FOR EACH ROW EXECUTE FUNCTION due_item_from_followup();
CREATE TRIGGER due_item_followup_update AFTER UPDATE OF status, due_at ON followup
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
		OR OLD.due_at IS DISTINCT FROM NEW.due_at)
	EXECUTE FUNCTION due_item_from_followup();

-- What a changed item means for the daemon and the inbox: a step that is
-- due already wakes cpa-remindd (NOTIFY cpa_due, empty payload; sent at
-- commit, once per transaction); a closed item's reminders, and a moved
-- item's reminders for its old due time, are cleared (remind_clear).
CREATE FUNCTION due_item_changed() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
	IF NEW.next_step_at <= now() THEN
		PERFORM pg_notify('cpa_due', '');
	END IF;
	IF TG_OP = 'UPDATE' AND ((OLD.open AND NOT NEW.open) OR OLD.due_at <> NEW.due_at) THEN
		PERFORM remind_clear(NEW.id);
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER due_item_inserted AFTER INSERT ON due_item
	FOR EACH ROW WHEN (NEW.next_step_at <= now())
	EXECUTE FUNCTION due_item_changed();
CREATE TRIGGER due_item_updated AFTER UPDATE ON due_item
	FOR EACH ROW WHEN ((NEW.next_step_at <= now()
			AND NEW.next_step_at IS DISTINCT FROM OLD.next_step_at)
		OR (OLD.open AND NOT NEW.open) OR OLD.due_at <> NEW.due_at)
	EXECUTE FUNCTION due_item_changed();

-- After a site's policy for p_kind changed (its own steps written or
-- removed): next_step_at of the site's open items of that kind again
-- follows the policy, from the steps they have done.  Returns the rows
-- changed.  SECURITY INVOKER: the caller's context must include the site.
CREATE FUNCTION remind_reschedule(p_site bigint, p_kind text) RETURNS integer
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, public, pg_temp
AS $$
	WITH want AS (
		SELECT d.id, (SELECT s.at FROM remind_step_after(d.site_id, d.kind, d.due_at,
			d.steps_done) s) AS at
		FROM due_item d
		WHERE d.site_id = p_site AND d.kind = p_kind AND d.open
	),
	changed AS (
		UPDATE due_item d SET next_step_at = w.at
		FROM want w
		WHERE d.id = w.id AND d.next_step_at IS DISTINCT FROM w.at
		RETURNING 1
	)
	SELECT count(*)::integer FROM changed
$$;

-- ------------------------------------------------- the daemon's functions
--
-- SECURITY DEFINER, owned by cpa_auth (BYPASSRLS): reminders are written
-- for other people and across sites.  Each does one thing, takes the clock
-- as p_now and returns no patient data beyond what a message needs.

-- Clear the reminders of item p_due_item_id that no longer stand: all of
-- them once the item is closed (met, held, cancelled), and, while it is
-- open, those queued for a due time it no longer has.  An email not yet
-- sent for a cleared reminder is not sent (email_state 'none').  Returns
-- the reminders cleared.  Called by the due_item trigger.
CREATE FUNCTION remind_clear(p_due_item_id bigint) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
	WITH cleared AS (
		UPDATE reminder r SET cleared_at = now(),
			email_state = CASE WHEN r.email_state = 'pending' THEN 'none'
				ELSE r.email_state END,
			email_next_at = CASE WHEN r.email_state = 'pending' THEN NULL
				ELSE r.email_next_at END
		FROM due_item d
		WHERE d.id = p_due_item_id AND r.due_item_id = d.id AND r.cleared_at IS NULL
			AND (NOT d.open OR r.due_at <> d.due_at)
		RETURNING 1
	)
	SELECT count(*)::integer FROM cleared
$$;

-- Queue what has fallen due by p_now: up to p_limit open items whose
-- next_step_at <= p_now, oldest first, skipping items another sweep holds
-- (FOR UPDATE SKIP LOCKED), so concurrent sweeps share the work.  For each
-- item the latest step of its policy whose time <= p_now and that is not
-- done yet is taken (earlier ones are skipped, never sent late): one
-- reminder per recipient,
--   coordinator       the episode's care coordinator,
--   team_manager      every active staff member holding team_manager with a
--                     scope covering the episode's team,
--   district_manager  likewise for district_manager,
-- only active staff; nobody when nobody holds the role.  escalation: the
-- step is at or after the due time.  Email: pending from p_now, or 'none'
-- for a recipient without an address.  The unique key makes a repeat queue
-- nothing.  Then steps_done becomes the step taken and next_step_at the
-- following step's time (NULL when none).  Returns the items advanced; the
-- caller repeats while that is p_limit.
CREATE FUNCTION remind_sweep(p_now timestamptz, p_limit integer) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
	n integer;
BEGIN
	IF p_now IS NULL OR p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000000 THEN
		RAISE EXCEPTION 'remind_sweep: p_now is required and p_limit must be 1 to 1000000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	WITH item AS (
		SELECT d.id, d.site_id, d.kind, d.service_user_id, d.episode_id, d.due_at,
			d.steps_done
		FROM due_item d
		WHERE d.open AND d.next_step_at <= p_now
		ORDER BY d.next_step_at
		LIMIT p_limit
		FOR UPDATE SKIP LOCKED
	),
	-- The steps in force for each (site, kind) of the batch.
	policy AS (
		SELECT k.site_id, k.kind, r.step, r.offset_by, r.recipient
		FROM (SELECT DISTINCT i.site_id, i.kind FROM item i) k
		JOIN reminder_step r ON r.kind = k.kind
			AND r.site_id IS NOT DISTINCT FROM (SELECT o.site_id FROM reminder_step o
				WHERE o.site_id = k.site_id AND o.kind = k.kind LIMIT 1)
	),
	plan AS (
		SELECT i.*, t.step AS take, t.recipient, t.at AS take_at, nx.at AS next_at
		FROM item i
		LEFT JOIN LATERAL (
			SELECT p.step, p.recipient, remind_at(i.due_at, p.offset_by) AS at
			FROM policy p
			WHERE p.site_id = i.site_id AND p.kind = i.kind AND p.step > i.steps_done
				AND remind_at(i.due_at, p.offset_by) <= p_now
			ORDER BY p.step DESC
			LIMIT 1) t ON true
		LEFT JOIN LATERAL (
			SELECT remind_at(i.due_at, p.offset_by) AS at
			FROM policy p
			WHERE p.site_id = i.site_id AND p.kind = i.kind
				AND p.step > coalesce(t.step, i.steps_done)
			ORDER BY p.step
			LIMIT 1) nx ON true
	),
	recipient AS (
		SELECT pl.id, e.coordinator_id AS staff_id
		FROM plan pl JOIN episode e ON e.id = pl.episode_id
		WHERE pl.recipient = 'coordinator'
		UNION
		SELECT pl.id, r.staff_id
		FROM plan pl
		JOIN episode e ON e.id = pl.episode_id
		JOIN team t ON t.id = e.team_id
		JOIN staff_role r ON r.site_id = t.site_id AND r.role = pl.recipient
			AND r.role IN ('team_manager', 'district_manager')
			AND (r.district_id IS NULL OR r.district_id = t.district_id)
			AND (r.team_id IS NULL OR r.team_id = t.id)
		WHERE pl.recipient IN ('team_manager', 'district_manager')
	),
	queued AS (
		INSERT INTO reminder (site_id, due_item_id, kind, service_user_id, episode_id,
			due_at, step, recipient_id, recipient_role, escalation, email_state,
			email_next_at)
		SELECT pl.site_id, pl.id, pl.kind, pl.service_user_id, pl.episode_id,
			pl.due_at, pl.take, s.id, pl.recipient, pl.take_at >= pl.due_at,
			CASE WHEN coalesce(s.email, '') = '' THEN 'none' ELSE 'pending' END,
			CASE WHEN coalesce(s.email, '') = '' THEN NULL ELSE p_now END
		FROM plan pl
		JOIN recipient rc ON rc.id = pl.id
		JOIN staff s ON s.id = rc.staff_id AND s.active
		ON CONFLICT (due_item_id, due_at, step, recipient_id) DO NOTHING
		RETURNING 1
	),
	advanced AS (
		UPDATE due_item d
		SET steps_done = coalesce(pl.take, d.steps_done), next_step_at = pl.next_at
		FROM plan pl
		WHERE d.id = pl.id
		RETURNING 1
	)
	SELECT count(*) INTO n FROM advanced;
	RETURN n;
END
$$;

-- Claim up to p_limit reminders whose email is pending and due by p_now
-- and which nobody holds (no claim, or its lease ended), skipping rows
-- another instance is claiming: each is held by p_worker until p_now +
-- p_lease.  A recipient who has lost their address since gets 'none'
-- instead.  attempts: failed attempts so far.
CREATE FUNCTION remind_claim_email(p_now timestamptz, p_worker text, p_limit integer,
	p_lease interval)
RETURNS TABLE (reminder_id bigint, email text, display_name text, kind text,
	due_at timestamptz, escalation boolean, step smallint, attempts smallint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
#variable_conflict use_column
BEGIN
	IF p_now IS NULL OR p_worker IS NULL OR length(p_worker) NOT BETWEEN 1 AND 200
	   OR p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 100000
	   OR p_lease IS NULL OR p_lease <= interval '0' THEN
		RAISE EXCEPTION 'remind_claim_email: bad arguments'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
	WITH c AS (
		SELECT r.id, r.recipient_id
		FROM reminder r
		WHERE r.email_state = 'pending' AND r.email_next_at <= p_now
			AND (r.email_claimed_until IS NULL OR r.email_claimed_until <= p_now)
		ORDER BY r.email_next_at
		LIMIT p_limit
		FOR UPDATE SKIP LOCKED
	),
	a AS (
		SELECT c.id, s.email AS address, s.display_name AS name
		FROM c JOIN staff s ON s.id = c.recipient_id
	),
	no_address AS (
		UPDATE reminder r SET email_state = 'none', email_next_at = NULL
		FROM a WHERE r.id = a.id AND coalesce(a.address, '') = ''
	)
	UPDATE reminder r SET email_claimed_by = p_worker,
		email_claimed_until = p_now + p_lease
	FROM a
	WHERE r.id = a.id AND coalesce(a.address, '') <> ''
	RETURNING r.id, a.address, a.name, r.kind, r.due_at, r.escalation, r.step,
		r.email_attempts;
END
$$;

-- The outcome of sending reminder p_reminder_id, reported by p_worker:
-- taken only while p_worker holds the claim (a claim whose lease ended
-- still counts until another instance takes it over).  Sent: email_state
-- 'sent'.  Failed: the attempt is counted with its error (control
-- characters replaced, at most 1000 characters) and the next one waits
-- 1, 2, 4 ... minutes, at most an hour; after the tenth failure the state
-- is 'failed'.  The claim is released either way.  Returns whether the
-- outcome was taken.
CREATE FUNCTION remind_email_result(p_reminder_id bigint, p_worker text, p_ok boolean,
	p_error text, p_now timestamptz)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
	WITH done AS (
		UPDATE reminder r SET
			email_state = CASE WHEN p_ok THEN 'sent'
				WHEN r.email_attempts + 1 >= 10 THEN 'failed' ELSE 'pending' END,
			email_sent_at = CASE WHEN p_ok THEN p_now END,
			email_attempts = r.email_attempts + CASE WHEN p_ok THEN 0 ELSE 1 END,
			email_error = CASE WHEN p_ok THEN NULL
				ELSE left(regexp_replace(coalesce(p_error, 'unknown error'),
					'[[:cntrl:]]', ' ', 'g'), 1000) END,
			email_next_at = CASE WHEN p_ok OR r.email_attempts + 1 >= 10 THEN NULL
				ELSE p_now + least(interval '1 minute' * power(2, r.email_attempts),
					interval '1 hour') END,
			email_claimed_by = NULL, email_claimed_until = NULL
		WHERE r.id = p_reminder_id AND r.email_state = 'pending'
			AND r.email_claimed_by = p_worker AND p_ok IS NOT NULL AND p_now IS NOT NULL
		RETURNING 1
	)
	SELECT count(*) = 1 FROM done
$$;

-- When cpa-remindd next has work: the earliest next step of an open item
-- or the earliest pending email (one that another instance holds counts
-- from the end of its lease); NULL when nothing is waiting.  Each part
-- reads an index from its start.
CREATE FUNCTION remind_next_wake(p_now timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
	SELECT least(
		(SELECT min(d.next_step_at) FROM due_item d
			WHERE d.open AND d.next_step_at IS NOT NULL),
		(SELECT r.email_next_at FROM reminder r
			WHERE r.email_state = 'pending'
				AND (r.email_claimed_until IS NULL OR r.email_claimed_until <= p_now)
			ORDER BY r.email_next_at
			LIMIT 1),
		(SELECT min(greatest(r.email_next_at, r.email_claimed_until)) FROM reminder r
			WHERE r.email_state = 'pending' AND r.email_claimed_until > p_now))
$$;

-- ---------------------------------------------------- indexes, upkeep

-- The sweep looks up the managers covering an episode's team at its site.
CREATE INDEX staff_role_manager_idx ON staff_role (site_id, role)
	WHERE role IN ('team_manager', 'district_manager');

-- The emails some instance holds now: a claim lasts a batch's sending.
CREATE INDEX reminder_claimed_idx ON reminder (email_claimed_until)
	WHERE email_state = 'pending' AND email_claimed_until IS NOT NULL;

-- Every sweep moves next_step_at of the items it takes, and the outbox
-- rewrites a reminder at each claim and outcome: the old index entries lie
-- in the range the next sweep or claim scans first.  Vacuum after about a
-- day's changes rather than after a fifth of the table.
ALTER TABLE due_item SET (autovacuum_vacuum_scale_factor = 0.01,
	autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE reminder SET (autovacuum_vacuum_scale_factor = 0.02,
	autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.05);

-- ------------------------------------------------------------- backfill

-- Items for what was already due before this migration, as the triggers
-- would have made them.  The owner reads every site's rows for this: FORCE
-- is lifted for this transaction's statements below and restored at once.
ALTER TABLE cpa_review NO FORCE ROW LEVEL SECURITY;
ALTER TABLE risk_assessment NO FORCE ROW LEVEL SECURITY;
ALTER TABLE followup NO FORCE ROW LEVEL SECURITY;
ALTER TABLE episode NO FORCE ROW LEVEL SECURITY;
ALTER TABLE reminder_step NO FORCE ROW LEVEL SECURITY;
ALTER TABLE due_item NO FORCE ROW LEVEL SECURITY;
ALTER TABLE reminder NO FORCE ROW LEVEL SECURITY;

SELECT due_item_keep('cpa_review', r.id, r.site_id, r.service_user_id, r.episode_id,
	due_at_of(r.due_date))
FROM cpa_review r WHERE r.status = 'due';
SELECT due_item_risk(a) FROM risk_assessment a WHERE a.status = 'approved';
SELECT due_item_keep('followup', f.id, f.site_id, f.service_user_id, f.episode_id,
	f.due_at)
FROM followup f WHERE f.status = 'open';

ALTER TABLE cpa_review FORCE ROW LEVEL SECURITY;
ALTER TABLE risk_assessment FORCE ROW LEVEL SECURITY;
ALTER TABLE followup FORCE ROW LEVEL SECURITY;
ALTER TABLE episode FORCE ROW LEVEL SECURITY;
ALTER TABLE reminder_step FORCE ROW LEVEL SECURITY;
ALTER TABLE due_item FORCE ROW LEVEL SECURITY;
ALTER TABLE reminder FORCE ROW LEVEL SECURITY;

-- ------------------------------------------------------------- privileges

-- What the triggers above write as cpa_auth when a definer function
-- changes the source rows (intake_accept_transfer closes an episode and
-- opens another; 005 grants what its own triggers need).
GRANT SELECT ON risk_assessment, reminder_step TO cpa_auth;
GRANT SELECT, INSERT, UPDATE ON due_item TO cpa_auth;
-- What the daemon's functions read and write.
GRANT SELECT, INSERT, UPDATE ON reminder TO cpa_auth;
GRANT SELECT ON episode, team, staff, staff_role TO cpa_auth;

REVOKE ALL ON FUNCTION due_at_of(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION remind_at(timestamptz, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION remind_step_after(bigint, text, timestamptz, smallint) FROM PUBLIC;
REVOKE ALL ON FUNCTION remind_clear(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION remind_sweep(timestamptz, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION remind_claim_email(timestamptz, text, integer, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION remind_email_result(bigint, text, boolean, text, timestamptz)
	FROM PUBLIC;
REVOKE ALL ON FUNCTION remind_next_wake(timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION remind_reschedule(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION due_item_keep(text, bigint, bigint, bigint, bigint, timestamptz)
	FROM PUBLIC;
REVOKE ALL ON FUNCTION due_item_risk(risk_assessment) FROM PUBLIC;

GRANT CREATE ON SCHEMA public TO cpa_auth;
ALTER FUNCTION remind_clear(bigint) OWNER TO cpa_auth;
ALTER FUNCTION remind_sweep(timestamptz, integer) OWNER TO cpa_auth;
ALTER FUNCTION remind_claim_email(timestamptz, text, integer, interval) OWNER TO cpa_auth;
ALTER FUNCTION remind_email_result(bigint, text, boolean, text, timestamptz)
	OWNER TO cpa_auth;
ALTER FUNCTION remind_next_wake(timestamptz) OWNER TO cpa_auth;
REVOKE CREATE ON SCHEMA public FROM cpa_auth;

GRANT EXECUTE ON FUNCTION due_at_of(date) TO cpa_app, cpa_auth;
GRANT EXECUTE ON FUNCTION remind_at(timestamptz, interval) TO cpa_app, cpa_auth;
GRANT EXECUTE ON FUNCTION remind_step_after(bigint, text, timestamptz, smallint)
	TO cpa_app, cpa_auth;
GRANT EXECUTE ON FUNCTION remind_reschedule(bigint, text) TO cpa_app;
GRANT EXECUTE ON FUNCTION remind_clear(bigint) TO cpa_app;
GRANT EXECUTE ON FUNCTION remind_sweep(timestamptz, integer) TO cpa_app;
GRANT EXECUTE ON FUNCTION remind_claim_email(timestamptz, text, integer, interval) TO cpa_app;
GRANT EXECUTE ON FUNCTION remind_email_result(bigint, text, boolean, text, timestamptz)
	TO cpa_app;
GRANT EXECUTE ON FUNCTION remind_next_wake(timestamptz) TO cpa_app;
-- The triggers run as whoever changed the source row.
GRANT EXECUTE ON FUNCTION due_item_keep(text, bigint, bigint, bigint, bigint, timestamptz)
	TO cpa_app, cpa_auth;
GRANT EXECUTE ON FUNCTION due_item_risk(risk_assessment) TO cpa_app, cpa_auth;
