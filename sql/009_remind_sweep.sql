-- 009_remind_sweep.sql - a lighter sweep (bench/remind): fewer index and
-- foreign-key updates per reminder queued, and managers found by index.
--
-- A typical day's sweep over a trust of a million people queues some
-- 17 000 reminders; each costs a row of reminder with its indexes and
-- foreign-key checks, and a new version of its due_item row with its
-- indexes.  Measured on the 2-core development machine, that was 2.2 to
-- 2.5 s a day; the changes below take out what the sweep paid for and
-- nothing used:
--   * reminder_item_idx (006) repeated the first column of reminder's
--     unique key (due_item_id, ...), which serves the same look-ups;
--   * reminder_inbox_idx (006) and reminder_recipient_uncleared_idx (008)
--     become one index by recipient of the uncleared reminders (the inbox
--     and its unread count filter the few acknowledged ones);
--   * due_item_due_idx (006) was used by nothing: a policy change
--     reschedules a site's open items of one kind, a large share of the
--     table, read in one pass;
--   * reminder's foreign keys to site and staff, and the site in its key
--     to due_item (with due_item's UNIQUE (id, site_id) that only this
--     key used): the sweep is the only writer of reminder, and copies
--     site_id from the due_item (whose own key checks it) and
--     recipient_id from the staff row it has just joined; no role may
--     delete a site or a staff member.  The key to due_item (id) stays.
--     Every version of a due_item row the sweep writes had to be added
--     to each of its indexes; one fewer index is one fewer write.
--   * remind_sweep finds the managers of each item's team through
--     staff_role_manager_idx instead of joining every team of the site,
--     and runs without JIT compilation (which cost more than it saved).
-- With these, and cpa-remindd taking 20 000 items a statement (one
-- statement for a typical day; fewer, larger statements skip fewer index
-- entries left behind by the statement before), a day's sweep took 1.6
-- to 1.7 s on the same machine.

DROP INDEX reminder_item_idx;
DROP INDEX reminder_inbox_idx;
DROP INDEX reminder_recipient_uncleared_idx;
CREATE INDEX reminder_recipient_idx ON reminder (recipient_id, created_at)
	WHERE cleared_at IS NULL;
DROP INDEX due_item_due_idx;
ALTER TABLE reminder DROP CONSTRAINT reminder_site_id_fkey,
	DROP CONSTRAINT reminder_recipient_id_fkey,
	DROP CONSTRAINT reminder_due_item_id_site_id_fkey,
	ADD FOREIGN KEY (due_item_id) REFERENCES due_item (id);
ALTER TABLE due_item DROP CONSTRAINT due_item_id_site_id_key;

-- As 007's, with the managers found per item.  Still owned by cpa_auth
-- and SECURITY DEFINER; its grants are kept.
CREATE OR REPLACE FUNCTION remind_sweep(p_now timestamptz, p_limit integer) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET jit = off
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
	-- Who gets each step: the coordinator, or the managers whose role
	-- covers the episode's team (looked up per item by staff_role's
	-- manager index, never by scanning the site's teams).
	recipient AS (
		SELECT pl.id, e.coordinator_id AS staff_id
		FROM plan pl JOIN episode e ON e.id = pl.episode_id
		WHERE pl.recipient = 'coordinator'
		UNION ALL
		SELECT pl.id, m.staff_id
		FROM plan pl
		JOIN episode e ON e.id = pl.episode_id
		JOIN team t ON t.id = e.team_id
		CROSS JOIN LATERAL (
			SELECT DISTINCT r.staff_id FROM staff_role r
			WHERE r.site_id = t.site_id AND r.role = pl.recipient
				AND r.role IN ('team_manager', 'district_manager')
				AND (r.district_id IS NULL OR r.district_id = t.district_id)
				AND (r.team_id IS NULL OR r.team_id = t.id)) m
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
