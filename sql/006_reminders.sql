-- 006_reminders.sql - what falls due, the reminders it gives rise to, the
-- per-site reminder policy and the per-person calendar feed.
--
-- due_item mirrors everything that can fall due (a CPA review, a risk
-- review, a 72-hour follow-up, a carer's assessment offered and not acted
-- on) in one narrow table, kept by triggers on the source tables (007), so
-- cpa-remindd's sweep reads one index whatever the size of the trust:
-- next_step_at is when the item next needs a reminder queued, NULL when
-- its policy has no step left.
--
-- A reminder is one step of one item for one recipient.  Its unique key
-- makes queueing idempotent, so any number of cpa-remindd instances may
-- sweep at once and each reminder is still shown once; its email columns
-- are an outbox claimed with a lease, so a crash mid-delivery means a retry
-- (at least once), never a loss.

-- ------------------------------------------------------------ what is due

CREATE TABLE due_item (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL REFERENCES site (id),
	kind text NOT NULL CHECK (kind IN ('cpa_review', 'risk_review', 'followup',
		'carer_assessment')),
	source_id bigint NOT NULL,	-- cpa_review, risk_assessment, followup ... id
	service_user_id bigint NOT NULL,
	episode_id bigint NOT NULL,
	due_at timestamptz NOT NULL,
	open boolean NOT NULL DEFAULT true,
	closed_at timestamptz,
	steps_done smallint NOT NULL DEFAULT 0 CHECK (steps_done >= 0),
	next_step_at timestamptz,
	FOREIGN KEY (service_user_id, site_id) REFERENCES service_user (id, site_id),
	FOREIGN KEY (episode_id, site_id) REFERENCES episode (id, site_id),
	CHECK (open = (closed_at IS NULL)),
	CHECK (open OR next_step_at IS NULL),
	UNIQUE (kind, source_id),
	UNIQUE (id, site_id)
);
CREATE INDEX due_item_next_step_idx ON due_item (next_step_at)
	WHERE open AND next_step_at IS NOT NULL;
CREATE INDEX due_item_episode_idx ON due_item (episode_id) WHERE open;
CREATE INDEX due_item_due_idx ON due_item (site_id, due_at) WHERE open;

-- ------------------------------------------------------------ the policy

-- Steps of reminding for one kind of item: offset_by from the item's due
-- time (negative: before it), to whom.  Rows with site_id NULL are the
-- trust's defaults, used by every site that has no row of its own for that
-- kind.  Steps are taken in step order; offsets rise with the step.
CREATE TABLE reminder_step (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint REFERENCES site (id),
	kind text NOT NULL CHECK (kind IN ('cpa_review', 'risk_review', 'followup',
		'carer_assessment')),
	step smallint NOT NULL CHECK (step BETWEEN 1 AND 9),
	offset_by interval NOT NULL CHECK (offset_by BETWEEN '-365 days' AND '365 days'),
	recipient text NOT NULL CHECK (recipient IN ('coordinator', 'team_manager',
		'district_manager')),
	UNIQUE NULLS NOT DISTINCT (site_id, kind, step)
);

INSERT INTO reminder_step (site_id, kind, step, offset_by, recipient) VALUES
	(NULL, 'cpa_review', 1, '-14 days', 'coordinator'),
	(NULL, 'cpa_review', 2, '-2 days', 'coordinator'),
	(NULL, 'cpa_review', 3, '1 day', 'team_manager'),
	(NULL, 'cpa_review', 4, '28 days', 'district_manager'),
	(NULL, 'risk_review', 1, '-14 days', 'coordinator'),
	(NULL, 'risk_review', 2, '-2 days', 'coordinator'),
	(NULL, 'risk_review', 3, '1 day', 'team_manager'),
	(NULL, 'risk_review', 4, '28 days', 'district_manager'),
	(NULL, 'followup', 1, '-48 hours', 'coordinator'),
	(NULL, 'followup', 2, '-12 hours', 'coordinator'),
	(NULL, 'followup', 3, '0', 'team_manager'),
	(NULL, 'followup', 4, '72 hours', 'district_manager'),
	(NULL, 'carer_assessment', 1, '-7 days', 'coordinator'),
	(NULL, 'carer_assessment', 2, '14 days', 'team_manager');

-- ------------------------------------------------------------- reminders

-- One step of one item for one person to act on.  escalation: the step
-- comes after the due time (the item is overdue).  In the inbox a reminder
-- shows until it is acknowledged or cleared (its item was met or
-- cancelled), and not while snoozed.  Email: pending -> sent, or failed
-- after the last attempt; none when the recipient has no address.
CREATE TABLE reminder (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL REFERENCES site (id),
	due_item_id bigint NOT NULL,
	kind text NOT NULL,
	service_user_id bigint NOT NULL,
	episode_id bigint NOT NULL,
	due_at timestamptz NOT NULL,
	step smallint NOT NULL,
	recipient_id bigint NOT NULL REFERENCES staff (id),
	recipient_role text NOT NULL CHECK (recipient_role IN ('coordinator',
		'team_manager', 'district_manager')),
	escalation boolean NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	read_at timestamptz,
	acknowledged_at timestamptz,
	acknowledged_note text CHECK (length(acknowledged_note) <= 1000),
	snoozed_until timestamptz,
	snooze_reason text CHECK (length(snooze_reason) <= 1000),
	cleared_at timestamptz,
	email_state text NOT NULL DEFAULT 'pending' CHECK (email_state IN ('pending',
		'sent', 'failed', 'none')),
	email_attempts smallint NOT NULL DEFAULT 0,
	email_next_at timestamptz,
	email_claimed_by text CHECK (length(email_claimed_by) <= 200),
	email_claimed_until timestamptz,
	email_sent_at timestamptz,
	email_error text CHECK (length(email_error) <= 1000),
	FOREIGN KEY (due_item_id, site_id) REFERENCES due_item (id, site_id),
	CHECK ((snoozed_until IS NULL) = (snooze_reason IS NULL)),
	UNIQUE (due_item_id, due_at, step, recipient_id)
);
CREATE INDEX reminder_inbox_idx ON reminder (recipient_id, created_at)
	WHERE acknowledged_at IS NULL AND cleared_at IS NULL;
CREATE INDEX reminder_outbox_idx ON reminder (email_next_at)
	WHERE email_state = 'pending';
CREATE INDEX reminder_item_idx ON reminder (due_item_id) WHERE cleared_at IS NULL;

-- ------------------------------------------------------- calendar feeds

-- A secret per-person URL a calendar program subscribes to (it cannot sign
-- in).  Only the SHA-256 of the token is kept; a new token replaces the
-- old, and revoking clears it.
CREATE TABLE calendar_feed (
	staff_id bigint PRIMARY KEY REFERENCES staff (id),
	token_hash bytea UNIQUE CHECK (length(token_hash) = 32),
	created_at timestamptz NOT NULL DEFAULT now(),
	revoked_at timestamptz,
	last_used_at timestamptz,
	CHECK ((token_hash IS NULL) = (revoked_at IS NOT NULL))
);

-- ---------------------------------------------------- row-level security

ALTER TABLE due_item ENABLE ROW LEVEL SECURITY;
ALTER TABLE due_item FORCE ROW LEVEL SECURITY;
ALTER TABLE reminder_step ENABLE ROW LEVEL SECURITY;
ALTER TABLE reminder_step FORCE ROW LEVEL SECURITY;
ALTER TABLE reminder ENABLE ROW LEVEL SECURITY;
ALTER TABLE reminder FORCE ROW LEVEL SECURITY;
ALTER TABLE calendar_feed ENABLE ROW LEVEL SECURITY;
ALTER TABLE calendar_feed FORCE ROW LEVEL SECURITY;

CREATE POLICY due_item_site ON due_item
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));
-- Everyone sees the defaults; a site's own steps are changed at that site.
CREATE POLICY reminder_step_read ON reminder_step FOR SELECT
	USING (site_id IS NULL OR site_id = ANY (cpa_site_ids()));
CREATE POLICY reminder_step_write ON reminder_step FOR ALL
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));
-- A reminder is its recipient's: others at the site do not see it.
CREATE POLICY reminder_own ON reminder
	USING (site_id = ANY (cpa_site_ids()) AND recipient_id = cpa_user_id())
	WITH CHECK (site_id = ANY (cpa_site_ids()) AND recipient_id = cpa_user_id());
CREATE POLICY calendar_feed_own ON calendar_feed
	USING (staff_id = cpa_user_id()) WITH CHECK (staff_id = cpa_user_id());

-- Workers keep due items through the triggers (007) and change only what a
-- person does to their own reminders; queueing and email are cpa-remindd's,
-- through the SECURITY DEFINER functions of 007.
GRANT SELECT, INSERT, UPDATE ON due_item TO cpa_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON reminder_step TO cpa_app;
GRANT SELECT ON reminder TO cpa_app;
GRANT UPDATE (read_at, acknowledged_at, acknowledged_note, snoozed_until,
	snooze_reason) ON reminder TO cpa_app;
GRANT SELECT, INSERT, UPDATE ON calendar_feed TO cpa_app;
