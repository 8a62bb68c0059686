-- 011_dashboard.sql - the summary tables behind cpa-dashboard, and how
-- they are kept: what managers see for a trust, a site, a district or a
-- team, fast at a million people.
--
-- Two kinds of figure:
--   * now: the caseload and its state today (levels, overdue reviews, risk
--     in date, care plans and copies, carers).  dash_coordinator_now holds
--     them per team and care coordinator, dash_team_now the referral queue
--     per team; both are recomputed whole by each refresh, from one
--     definition per episode (dash_episode_flags), which the drill-down to
--     a coordinator's people reads live as well;
--   * in a period: what happened on each day (referrals, decisions,
--     reviews held and on time, follow-ups after discharge, risk
--     assessments and whether risk was discussed, experience answers,
--     contacts, episodes opened and closed, the caseload at the end of the
--     day).  dash_team_day holds one row per team per day from the first
--     day anything happened; a period is a sum over its days.
--
-- Keeping dash_team_day: triggers on every source table note the days a
-- change touches in dash_dirty (an append-only list, so writers never wait
-- on one another or on the refresh).  dash_refresh, run by cpa-remindd
-- every few minutes, takes the noted days, always today and yesterday
-- (follow-ups fall due while nothing changes) and any day it missed, and
-- recomputes those days for every team from the base tables; then the
-- caseload's running sum from the earliest of them.  A refresh is one
-- transaction: readers see the last refresh whole.  dash_rebuild
-- recomputes everything (this migration, the demo and scale loaders,
-- which write with triggers off).
--
-- The time to decide a referral is kept per day as sorted arrays of whole
-- minutes: a median or 90th centile needs every value, and a trust's year
-- of decisions read from arrays costs a tenth of reading the referrals.
--
-- Days are UK calendar days (dash_day).  Who may see what is decided by
-- the worker (sites by row-level security, teams by the caller's roles).

-- ------------------------------------------------------------- days

-- The UK calendar day of a moment, and the moment a UK day starts.
CREATE FUNCTION dash_day(p_at timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT (p_at AT TIME ZONE 'Europe/London')::date
$$;

CREATE FUNCTION dash_day_start(p_day date) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT p_day::timestamp AT TIME ZONE 'Europe/London'
$$;

-- How long from p_from to p_to in whole minutes (rounded down).
CREATE FUNCTION dash_minutes(p_from timestamptz, p_to timestamptz) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT floor(extract(epoch FROM p_to - p_from) / 60)::integer
$$;

-- ------------------------------------------------------- consent rule

-- What a consent decision (scope, topics) allows a carer to be told about
-- p_topic, and whether it allows them a copy of the care plan: the rule
-- carer_may_know and carer_may_have_plan apply to one link, kept here once
-- so that set-based readers (the dashboard) apply the same rule.
CREATE FUNCTION carer_consent_covers(p_scope text, p_topics text[], p_topic text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT coalesce(p_scope = 'full' OR (p_scope = 'limited' AND p_topic = ANY (p_topics)),
		false)
$$;

CREATE FUNCTION carer_consent_covers_plan(p_scope text, p_topics text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT carer_consent_covers(p_scope, p_topics, 'care_plan')
		OR carer_consent_covers(p_scope, p_topics, 'crisis_plan')
		OR carer_consent_covers(p_scope, p_topics, 'medication')
$$;

CREATE OR REPLACE FUNCTION carer_may_know(p_link bigint, p_topic text) RETURNS boolean
LANGUAGE sql STABLE
AS $$
	SELECT coalesce((
		SELECT carer_consent_covers(c.scope, c.topics, p_topic)
		FROM carer_link l JOIN carer_consent c ON c.id = l.current_consent_id
		WHERE l.id = p_link AND l.ended_on IS NULL), false)
$$;

CREATE OR REPLACE FUNCTION carer_may_have_plan(p_link bigint) RETURNS boolean
LANGUAGE sql STABLE
AS $$
	SELECT coalesce((
		SELECT carer_consent_covers_plan(c.scope, c.topics)
		FROM carer_link l JOIN carer_consent c ON c.id = l.current_consent_id
		WHERE l.id = p_link AND l.ended_on IS NULL), false)
$$;

-- ---------------------------------------------------- per episode, now

-- The state of each open episode that the dashboard counts, for the team
-- p_team and coordinator p_coordinator (NULL: any).  Runs as the caller:
-- the drill-down sees only its sites' people; the refresh, as cpa_auth,
-- every site.
--   review_due_date       the date its due CPA review is due by
--   risk_review_due       the next review date of the person's approved
--                         risk assessment (NULL: none)
--   risk_awaiting         an assessment of this episode awaits approval
--   plan_current          a care plan version is in force
--   plan_copy_user        the person was given a copy of that version
--   carer_may_have_plan   a current carer's consent allows them a copy
--   plan_copy_carer       ... and a carer was given a copy of that version
--   with_carer            a carer is recorded (a current link)
--   carer_consent         a current carer has a consent decision recorded
--   carer_offered         a current carer was offered an assessment
--   carer_completed       a current carer's assessment was completed
CREATE FUNCTION dash_episode_flags(p_team bigint, p_coordinator bigint)
RETURNS TABLE (episode_id bigint, site_id bigint, team_id bigint,
	coordinator_id bigint, service_user_id bigint, level text,
	review_due_date date, risk_review_due date, risk_awaiting boolean,
	plan_current boolean, plan_copy_user boolean, carer_may_have_plan boolean,
	plan_copy_carer boolean, with_carer boolean, carer_consent boolean,
	carer_offered boolean, carer_completed boolean)
LANGUAGE sql STABLE
AS $$
	WITH ep AS (
		SELECT e.id, e.site_id, e.team_id, e.coordinator_id, e.service_user_id, e.level
		FROM episode e
		WHERE e.ended_at IS NULL
			AND (p_team IS NULL OR e.team_id = p_team)
			AND (p_coordinator IS NULL OR e.coordinator_id = p_coordinator)
	),
	ca AS (
		SELECT a.carer_link_id, bool_or(a.status = 'completed') AS completed
		FROM carer_assessment a
		WHERE a.service_user_id IN (SELECT ep.service_user_id FROM ep)
		GROUP BY a.carer_link_id
	),
	cl AS (
		SELECT l.service_user_id,
			bool_or(c.id IS NOT NULL) AS consent,
			bool_or(carer_consent_covers_plan(c.scope, c.topics)) AS may_have_plan,
			bool_or(ca.carer_link_id IS NOT NULL) AS offered,
			bool_or(ca.completed) AS completed
		FROM carer_link l
		LEFT JOIN carer_consent c ON c.id = l.current_consent_id
		LEFT JOIN ca ON ca.carer_link_id = l.id
		WHERE l.ended_on IS NULL
			AND l.service_user_id IN (SELECT ep.service_user_id FROM ep)
		GROUP BY l.service_user_id
	),
	sub AS (
		SELECT s.episode_id FROM risk_assessment s
		WHERE s.status = 'submitted'
			AND s.service_user_id IN (SELECT ep.service_user_id FROM ep)
	),
	cp AS (
		SELECT p.episode_id, p.current_version_id,
			bool_or(k.recipient = 'service_user') AS copy_user,
			bool_or(k.recipient = 'carer') AS copy_carer
		FROM care_plan p
		LEFT JOIN care_plan_copy k ON k.care_plan_version_id = p.current_version_id
		WHERE p.current_version_id IS NOT NULL
			AND p.episode_id IN (SELECT ep.id FROM ep)
		GROUP BY p.episode_id, p.current_version_id
	)
	SELECT ep.id, ep.site_id, ep.team_id, ep.coordinator_id, ep.service_user_id,
		ep.level, rv.due_date, ra.next_review_due,
		sub.episode_id IS NOT NULL,
		cp.episode_id IS NOT NULL, coalesce(cp.copy_user, false),
		coalesce(cl.may_have_plan, false),
		coalesce(cl.may_have_plan AND cp.copy_carer, false),
		cl.service_user_id IS NOT NULL, coalesce(cl.consent, false),
		coalesce(cl.offered, false), coalesce(cl.completed, false)
	FROM ep
	LEFT JOIN cpa_review rv ON rv.episode_id = ep.id AND rv.status = 'due'
	LEFT JOIN risk_assessment ra ON ra.service_user_id = ep.service_user_id
		AND ra.status = 'approved'
	LEFT JOIN cp ON cp.episode_id = ep.id
	LEFT JOIN cl ON cl.service_user_id = ep.service_user_id
	LEFT JOIN sub ON sub.episode_id = ep.id
$$;

-- ------------------------------------------------------- the summaries

-- The last refresh: when (the clock it was given), how long it took, and
-- when everything was last rebuilt.
CREATE TABLE dash_state (
	id boolean PRIMARY KEY DEFAULT true CHECK (id),
	refreshed_at timestamptz,
	rebuilt_at timestamptz,
	took_ms integer,
	days_recomputed integer
);
INSERT INTO dash_state DEFAULT VALUES;

-- Days a change touched since the last refresh (repeats allowed).
CREATE TABLE dash_dirty (
	day date NOT NULL
);

-- Per team and care coordinator, the open episodes now.  Counts are of
-- episodes (a person open to two teams counts in each).
CREATE TABLE dash_coordinator_now (
	team_id bigint NOT NULL,
	coordinator_id bigint NOT NULL,
	site_id bigint NOT NULL,
	district_id bigint NOT NULL,
	caseload integer NOT NULL,
	level_standard integer NOT NULL,
	level_enhanced integer NOT NULL,
	level_complex integer NOT NULL,
	level_non_cpa integer NOT NULL,
	level_personalised integer NOT NULL,
	review_overdue integer NOT NULL,
	review_oldest_due date,
	risk_in_date integer NOT NULL,
	risk_awaiting integer NOT NULL,
	plan_current integer NOT NULL,
	plan_copy_user integer NOT NULL,
	carer_may_have_plan integer NOT NULL,
	plan_copy_carer integer NOT NULL,
	with_carer integer NOT NULL,
	carer_consent integer NOT NULL,
	carer_offered integer NOT NULL,
	carer_completed integer NOT NULL,
	PRIMARY KEY (team_id, coordinator_id)
);
CREATE INDEX dash_coordinator_now_site_idx ON dash_coordinator_now (site_id, district_id);

-- Per team, the referrals waiting for triage now (every team has a row).
CREATE TABLE dash_team_now (
	team_id bigint PRIMARY KEY,
	site_id bigint NOT NULL,
	district_id bigint NOT NULL,
	awaiting_triage integer NOT NULL,
	awaiting_breached integer NOT NULL,
	awaiting_oldest_at timestamptz
);

-- Per team and UK day.  A review is counted on the day it was held (on
-- time: held by its due date); a follow-up on the day it fell due, once
-- it is met or its time has passed (met: by an attended contact within
-- the window); a risk assessment on the day it was approved; experience
-- answers with their review (answered: yes, partly or no; declined and not
-- asked are left out; satisfied: 4 or 5 of 5); contacts on their day, by
-- mode when attended; caseload is the open episodes at the end of the day.
-- A referral decided that day is counted by urgency, with the time it took
-- in whole minutes in decided_<urgency>_min (so that a period's median and
-- 90th centile read a few arrays, not every referral).
CREATE TABLE dash_team_day (
	team_id bigint NOT NULL,
	day date NOT NULL,
	site_id bigint NOT NULL,
	district_id bigint NOT NULL,
	referrals_received integer NOT NULL DEFAULT 0,
	referrals_decided integer NOT NULL DEFAULT 0,
	referrals_breached integer NOT NULL DEFAULT 0,
	breached_emergency integer NOT NULL DEFAULT 0,
	breached_urgent integer NOT NULL DEFAULT 0,
	breached_routine integer NOT NULL DEFAULT 0,
	decided_emergency_min integer[] NOT NULL DEFAULT '{}',
	decided_urgent_min integer[] NOT NULL DEFAULT '{}',
	decided_routine_min integer[] NOT NULL DEFAULT '{}',
	episodes_opened integer NOT NULL DEFAULT 0,
	episodes_closed integer NOT NULL DEFAULT 0,
	caseload integer NOT NULL DEFAULT 0,
	reviews_held integer NOT NULL DEFAULT 0,
	reviews_on_time integer NOT NULL DEFAULT 0,
	followups_due integer NOT NULL DEFAULT 0,
	followups_met integer NOT NULL DEFAULT 0,
	risk_approved integer NOT NULL DEFAULT 0,
	risk_discussed_user integer NOT NULL DEFAULT 0,
	risk_discussed_carer integer NOT NULL DEFAULT 0,
	exp_involved_n integer NOT NULL DEFAULT 0,
	exp_involved_yes integer NOT NULL DEFAULT 0,
	exp_choice_n integer NOT NULL DEFAULT 0,
	exp_choice_yes integer NOT NULL DEFAULT 0,
	exp_knows_plan_n integer NOT NULL DEFAULT 0,
	exp_knows_plan_yes integer NOT NULL DEFAULT 0,
	exp_knows_medication_n integer NOT NULL DEFAULT 0,
	exp_knows_medication_yes integer NOT NULL DEFAULT 0,
	exp_knows_complain_n integer NOT NULL DEFAULT 0,
	exp_knows_complain_yes integer NOT NULL DEFAULT 0,
	exp_satisfaction_n integer NOT NULL DEFAULT 0,
	exp_satisfaction_good integer NOT NULL DEFAULT 0,
	contacts_face_to_face integer NOT NULL DEFAULT 0,
	contacts_home_visit integer NOT NULL DEFAULT 0,
	contacts_phone integer NOT NULL DEFAULT 0,
	contacts_video integer NOT NULL DEFAULT 0,
	contacts_not_attended integer NOT NULL DEFAULT 0,
	PRIMARY KEY (team_id, day)
);
CREATE INDEX dash_team_day_site_idx ON dash_team_day (site_id, day);

-- What recomputing a day reads: each source by its own day.
CREATE INDEX referral_team_received_idx ON referral (team_id, received_at);
CREATE INDEX referral_team_decided_idx ON referral (team_id, decided_at)
	WHERE decided_at IS NOT NULL;
CREATE INDEX episode_team_started_idx ON episode (team_id, started_at);
CREATE INDEX episode_team_ended_idx ON episode (team_id, ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX cpa_review_held_idx ON cpa_review (held_on) WHERE status = 'held';
CREATE INDEX followup_due_at_idx ON followup (due_at);
CREATE INDEX risk_assessment_approved_idx ON risk_assessment (approved_at)
	WHERE approved_at IS NOT NULL;
CREATE INDEX contact_at_idx ON contact (at);

-- ------------------------------------------------------ marking days

-- The day of a date or timestamptz column's JSON text (NULL for NULL).
CREATE FUNCTION dash_day_of(p_text text) RETURNS date
LANGUAGE sql STABLE
AS $$
	SELECT CASE WHEN p_text ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN p_text::date
		ELSE dash_day(p_text::timestamptz) END
$$;

-- A row of a source table changed: note the days its old and new versions
-- count on.  TG_ARGV names the columns holding them (timestamptz or date).
CREATE FUNCTION dash_mark() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
	o jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
	n jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
	col text;
	days date[] := '{}';
BEGIN
	FOREACH col IN ARRAY TG_ARGV LOOP
		days := days || dash_day_of(o ->> col) || dash_day_of(n ->> col);
	END LOOP;
	INSERT INTO dash_dirty (day)
	SELECT DISTINCT d FROM unnest(days) AS d WHERE d IS NOT NULL;
	RETURN NULL;
END
$$;

CREATE TRIGGER dash_mark AFTER INSERT OR UPDATE OR DELETE ON referral
	FOR EACH ROW EXECUTE FUNCTION dash_mark('received_at', 'decided_at');
CREATE TRIGGER dash_mark AFTER INSERT OR UPDATE OR DELETE ON episode
	FOR EACH ROW EXECUTE FUNCTION dash_mark('started_at', 'ended_at');
CREATE TRIGGER dash_mark AFTER INSERT OR UPDATE OR DELETE ON cpa_review
	FOR EACH ROW EXECUTE FUNCTION dash_mark('held_on');
CREATE TRIGGER dash_mark AFTER INSERT OR UPDATE OR DELETE ON followup
	FOR EACH ROW EXECUTE FUNCTION dash_mark('due_at');
CREATE TRIGGER dash_mark AFTER INSERT OR UPDATE OR DELETE ON risk_assessment
	FOR EACH ROW EXECUTE FUNCTION dash_mark('approved_at');
CREATE TRIGGER dash_mark AFTER INSERT OR UPDATE OR DELETE ON contact
	FOR EACH ROW EXECUTE FUNCTION dash_mark('at');

-- ---------------------------------------------------- recomputing days

-- Recompute dash_team_day for the days p_from to p_to (every team), with
-- p_now as the clock (a follow-up counts once its due time has passed),
-- then the caseload's running sum from p_from on.  Returns the days done.
CREATE FUNCTION dash_days(p_from date, p_to date, p_now timestamptz) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, public, pg_temp
SET jit = off
AS $$
DECLARE
	lo timestamptz := dash_day_start(p_from);
	hi timestamptz := dash_day_start(p_to + 1);
BEGIN
	IF p_from IS NULL OR p_to IS NULL OR p_to < p_from THEN
		RETURN 0;
	END IF;
	DELETE FROM dash_team_day WHERE day BETWEEN p_from AND p_to;
	INSERT INTO dash_team_day
	WITH grid AS (
		SELECT t.id AS team_id, t.site_id, t.district_id, g.day::date AS day
		FROM team t CROSS JOIN generate_series(p_from, p_to, interval '1 day') AS g (day)
	),
	rec AS (
		SELECT r.team_id, dash_day(r.received_at) AS day, count(*) AS n
		FROM team t JOIN referral r ON r.team_id = t.id
			AND r.received_at >= lo AND r.received_at < hi
		GROUP BY 1, 2
	),
	dec AS (
		SELECT r.team_id, dash_day(r.decided_at) AS day, count(*) AS n,
			count(*) FILTER (WHERE r.decided_at > r.deadline_at) AS breached,
			count(*) FILTER (WHERE r.decided_at > r.deadline_at
				AND r.urgency = 'emergency') AS b_em,
			count(*) FILTER (WHERE r.decided_at > r.deadline_at
				AND r.urgency = 'urgent') AS b_ur,
			count(*) FILTER (WHERE r.decided_at > r.deadline_at
				AND r.urgency = 'routine') AS b_ro,
			array_agg(dash_minutes(r.received_at, r.decided_at)
				ORDER BY dash_minutes(r.received_at, r.decided_at))
				FILTER (WHERE r.urgency = 'emergency') AS m_em,
			array_agg(dash_minutes(r.received_at, r.decided_at)
				ORDER BY dash_minutes(r.received_at, r.decided_at))
				FILTER (WHERE r.urgency = 'urgent') AS m_ur,
			array_agg(dash_minutes(r.received_at, r.decided_at)
				ORDER BY dash_minutes(r.received_at, r.decided_at))
				FILTER (WHERE r.urgency = 'routine') AS m_ro
		FROM team t JOIN referral r ON r.team_id = t.id
			AND r.decided_at >= lo AND r.decided_at < hi
		GROUP BY 1, 2
	),
	opened AS (
		SELECT e.team_id, dash_day(e.started_at) AS day, count(*) AS n
		FROM team t JOIN episode e ON e.team_id = t.id
			AND e.started_at >= lo AND e.started_at < hi
		GROUP BY 1, 2
	),
	closed AS (
		SELECT e.team_id, dash_day(e.ended_at) AS day, count(*) AS n
		FROM team t JOIN episode e ON e.team_id = t.id
			AND e.ended_at >= lo AND e.ended_at < hi
		GROUP BY 1, 2
	),
	rev AS (
		SELECT e.team_id, r.held_on AS day, count(*) AS held,
			count(*) FILTER (WHERE r.held_on <= r.due_date) AS on_time,
			count(*) FILTER (WHERE r.exp_involved IN ('yes', 'partly', 'no')) AS inv_n,
			count(*) FILTER (WHERE r.exp_involved = 'yes') AS inv_y,
			count(*) FILTER (WHERE r.exp_choice IN ('yes', 'partly', 'no')) AS cho_n,
			count(*) FILTER (WHERE r.exp_choice = 'yes') AS cho_y,
			count(*) FILTER (WHERE r.exp_knows_plan IN ('yes', 'partly', 'no')) AS pla_n,
			count(*) FILTER (WHERE r.exp_knows_plan = 'yes') AS pla_y,
			count(*) FILTER (WHERE r.exp_knows_medication IN ('yes', 'partly', 'no'))
				AS med_n,
			count(*) FILTER (WHERE r.exp_knows_medication = 'yes') AS med_y,
			count(*) FILTER (WHERE r.exp_knows_complain IN ('yes', 'partly', 'no'))
				AS com_n,
			count(*) FILTER (WHERE r.exp_knows_complain = 'yes') AS com_y,
			count(r.exp_satisfaction) AS sat_n,
			count(*) FILTER (WHERE r.exp_satisfaction >= 4) AS sat_g
		FROM cpa_review r JOIN episode e ON e.id = r.episode_id
		WHERE r.status = 'held' AND r.held_on BETWEEN p_from AND p_to
		GROUP BY 1, 2
	),
	fu AS (
		SELECT e.team_id, dash_day(f.due_at) AS day,
			count(*) FILTER (WHERE f.status = 'met' OR f.due_at <= p_now) AS due,
			count(*) FILTER (WHERE f.status = 'met' AND f.met_at <= f.due_at) AS met
		FROM followup f JOIN episode e ON e.id = f.episode_id
		WHERE f.due_at >= lo AND f.due_at < hi AND f.status <> 'cancelled'
		GROUP BY 1, 2
	),
	risk AS (
		SELECT e.team_id, dash_day(a.approved_at) AS day, count(*) AS n,
			count(*) FILTER (WHERE a.discussed_with_user) AS du,
			count(*) FILTER (WHERE a.discussed_with_carer) AS dc
		FROM risk_assessment a JOIN episode e ON e.id = a.episode_id
		WHERE a.approved_at >= lo AND a.approved_at < hi
		GROUP BY 1, 2
	),
	con AS (
		SELECT e.team_id, dash_day(c.at) AS day,
			count(*) FILTER (WHERE c.attended AND c.mode = 'face_to_face') AS f2f,
			count(*) FILTER (WHERE c.attended AND c.mode = 'home_visit') AS home,
			count(*) FILTER (WHERE c.attended AND c.mode = 'phone') AS phone,
			count(*) FILTER (WHERE c.attended AND c.mode = 'video') AS video,
			count(*) FILTER (WHERE NOT c.attended) AS dna
		FROM contact c JOIN episode e ON e.id = c.episode_id
		WHERE c.at >= lo AND c.at < hi
		GROUP BY 1, 2
	)
	SELECT g.team_id, g.day, g.site_id, g.district_id,
		coalesce(rec.n, 0), coalesce(dec.n, 0), coalesce(dec.breached, 0),
		coalesce(dec.b_em, 0), coalesce(dec.b_ur, 0), coalesce(dec.b_ro, 0),
		coalesce(dec.m_em, '{}'), coalesce(dec.m_ur, '{}'), coalesce(dec.m_ro, '{}'),
		coalesce(opened.n, 0), coalesce(closed.n, 0), 0,
		coalesce(rev.held, 0), coalesce(rev.on_time, 0),
		coalesce(fu.due, 0), coalesce(fu.met, 0),
		coalesce(risk.n, 0), coalesce(risk.du, 0), coalesce(risk.dc, 0),
		coalesce(rev.inv_n, 0), coalesce(rev.inv_y, 0),
		coalesce(rev.cho_n, 0), coalesce(rev.cho_y, 0),
		coalesce(rev.pla_n, 0), coalesce(rev.pla_y, 0),
		coalesce(rev.med_n, 0), coalesce(rev.med_y, 0),
		coalesce(rev.com_n, 0), coalesce(rev.com_y, 0),
		coalesce(rev.sat_n, 0), coalesce(rev.sat_g, 0),
		coalesce(con.f2f, 0), coalesce(con.home, 0), coalesce(con.phone, 0),
		coalesce(con.video, 0), coalesce(con.dna, 0)
	FROM grid g
	LEFT JOIN rec ON rec.team_id = g.team_id AND rec.day = g.day
	LEFT JOIN dec ON dec.team_id = g.team_id AND dec.day = g.day
	LEFT JOIN opened ON opened.team_id = g.team_id AND opened.day = g.day
	LEFT JOIN closed ON closed.team_id = g.team_id AND closed.day = g.day
	LEFT JOIN rev ON rev.team_id = g.team_id AND rev.day = g.day
	LEFT JOIN fu ON fu.team_id = g.team_id AND fu.day = g.day
	LEFT JOIN risk ON risk.team_id = g.team_id AND risk.day = g.day
	LEFT JOIN con ON con.team_id = g.team_id AND con.day = g.day;

	-- The caseload at the end of each day from p_from on: the day before's
	-- plus what opened less what closed.
	UPDATE dash_team_day d SET caseload = s.caseload
	FROM (
		SELECT x.team_id, x.day,
			coalesce((SELECT b.caseload FROM dash_team_day b
				WHERE b.team_id = x.team_id AND b.day = p_from - 1), 0)
			+ sum(x.episodes_opened - x.episodes_closed)
				OVER (PARTITION BY x.team_id ORDER BY x.day) AS caseload
		FROM dash_team_day x WHERE x.day >= p_from
	) s
	WHERE d.team_id = s.team_id AND d.day = s.day AND d.caseload <> s.caseload;
	RETURN p_to - p_from + 1;
END
$$;

-- Recompute the now tables whole.
CREATE FUNCTION dash_now(p_now timestamptz) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, public, pg_temp
SET jit = off
AS $$
DECLARE
	today date := dash_day(p_now);
BEGIN
	DELETE FROM dash_coordinator_now;
	INSERT INTO dash_coordinator_now
	SELECT f.team_id, f.coordinator_id, t.site_id, t.district_id, count(*),
		count(*) FILTER (WHERE f.level = 'standard'),
		count(*) FILTER (WHERE f.level = 'enhanced'),
		count(*) FILTER (WHERE f.level = 'complex'),
		count(*) FILTER (WHERE f.level = 'non_cpa'),
		count(*) FILTER (WHERE f.level = 'personalised'),
		count(*) FILTER (WHERE f.review_due_date < today),
		min(f.review_due_date) FILTER (WHERE f.review_due_date < today),
		count(*) FILTER (WHERE f.risk_review_due >= today),
		count(*) FILTER (WHERE f.risk_awaiting),
		count(*) FILTER (WHERE f.plan_current),
		count(*) FILTER (WHERE f.plan_copy_user),
		count(*) FILTER (WHERE f.carer_may_have_plan),
		count(*) FILTER (WHERE f.plan_copy_carer),
		count(*) FILTER (WHERE f.with_carer),
		count(*) FILTER (WHERE f.carer_consent),
		count(*) FILTER (WHERE f.carer_offered),
		count(*) FILTER (WHERE f.carer_completed)
	FROM dash_episode_flags(NULL, NULL) f
	JOIN team t ON t.id = f.team_id
	GROUP BY f.team_id, f.coordinator_id, t.site_id, t.district_id;

	DELETE FROM dash_team_now;
	INSERT INTO dash_team_now
	SELECT t.id, t.site_id, t.district_id, count(r.id),
		count(r.id) FILTER (WHERE r.deadline_at < p_now), min(r.received_at)
	FROM team t
	LEFT JOIN referral r ON r.team_id = t.id AND r.status = 'awaiting_triage'
	GROUP BY t.id, t.site_id, t.district_id;
END
$$;

-- ------------------------------------------------------------ refresh

-- Bring the summaries up to p_now, unless the last refresh was under
-- p_min_age ago (0: refresh regardless) or another refresh is running
-- (then it returns at once, saying so).  Returns {refreshed, days, took_ms} or {skipped: why}.
CREATE FUNCTION dash_refresh(p_now timestamptz, p_min_age interval) RETURNS json
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET jit = off
AS $$
DECLARE
	started timestamptz := clock_timestamp();
	today date := dash_day(p_now);
	st dash_state;
	first_day date;
	last_day date;
	days date[];
	d date;
	done integer := 0;
BEGIN
	IF p_now IS NULL OR p_min_age IS NULL THEN
		RAISE EXCEPTION 'dash_refresh: p_now and p_min_age are required'
			USING ERRCODE = '22023';
	END IF;
	IF NOT pg_try_advisory_xact_lock(hashtext('dash_refresh')) THEN
		RETURN json_build_object('skipped', 'busy');
	END IF;
	SELECT * INTO st FROM dash_state;
	IF st.rebuilt_at IS NULL THEN
		RETURN dash_rebuild(p_now);
	END IF;
	IF p_min_age > interval '0' AND st.refreshed_at > p_now - p_min_age
			AND st.refreshed_at <= p_now THEN
		RETURN json_build_object('skipped', 'fresh');
	END IF;

	SELECT min(day), max(day) INTO first_day, last_day FROM dash_team_day;
	WITH gone AS (DELETE FROM dash_dirty WHERE day <= today RETURNING day)
	SELECT array_agg(DISTINCT day ORDER BY day) INTO days FROM gone WHERE day <= today;
	-- Today and yesterday always; the days from the last row on; a day
	-- before the first row recomputes up to it, so the days stay unbroken.
	-- Days after p_now's stay noted for a later refresh.
	FOR d IN
		SELECT DISTINCT x FROM unnest(coalesce(days, '{}') || today || (today - 1)) AS x
		WHERE first_day IS NULL OR x >= first_day
		ORDER BY x
	LOOP
		IF last_day IS NULL OR d <= last_day THEN
			done := done + dash_days(d, d, p_now);
		END IF;
	END LOOP;
	IF last_day IS NOT NULL AND last_day < today THEN
		-- The last refresh's own day too: it was counted part-way through.
		done := done + dash_days(last_day, today, p_now);
	END IF;
	IF first_day IS NOT NULL AND days[1] < first_day THEN
		done := done + dash_days(days[1], first_day - 1, p_now);
	END IF;
	IF first_day IS NULL THEN
		done := done + dash_days(today - 1, today, p_now);
	END IF;
	PERFORM dash_now(p_now);
	UPDATE dash_state SET refreshed_at = p_now,
		took_ms = (extract(epoch FROM clock_timestamp() - started) * 1000)::integer,
		days_recomputed = done;
	RETURN json_build_object('refreshed', p_now, 'days', done,
		'took_ms', (extract(epoch FROM clock_timestamp() - started) * 1000)::integer);
END
$$;

-- Recompute every summary from the first day anything happened.
CREATE FUNCTION dash_rebuild(p_now timestamptz) RETURNS json
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET jit = off
AS $$
DECLARE
	started timestamptz := clock_timestamp();
	today date := dash_day(p_now);
	first_day date;
	done integer;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtext('dash_refresh'));
	SELECT least((SELECT dash_day(min(received_at)) FROM referral),
		(SELECT dash_day(min(started_at)) FROM episode), today - 1)
		INTO first_day;
	DELETE FROM dash_dirty;
	TRUNCATE dash_team_day;
	done := dash_days(first_day, today, p_now);
	PERFORM dash_now(p_now);
	UPDATE dash_state SET refreshed_at = p_now, rebuilt_at = p_now,
		took_ms = (extract(epoch FROM clock_timestamp() - started) * 1000)::integer,
		days_recomputed = done;
	RETURN json_build_object('refreshed', p_now, 'rebuilt', true, 'days', done,
		'took_ms', (extract(epoch FROM clock_timestamp() - started) * 1000)::integer);
END
$$;

-- ------------------------------------------------------------ reading

-- num / den to three places, NULL when den is 0.
CREATE FUNCTION dash_share(p_num bigint, p_den bigint) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN p_den > 0 THEN round(p_num::numeric / p_den, 3) END
$$;

-- Contacts per person per month: contacts over the person-days they were
-- made in (the caseload summed over the days), in months of 30.4375 days.
CREATE FUNCTION dash_per_person_month(p_contacts bigint, p_person_days bigint)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN p_person_days > 0
		THEN round(p_contacts * 30.4375 / p_person_days, 2) END
$$;

-- The figures of the teams p_teams (those the caller may see: the worker
-- decides) for the UK days p_from to p_to, one row per group: p_by 'all'
-- (group_id 0), 'site', 'district', 'team', or the kind of district:
-- 'integrated' or 'inclusive' (group_id 1 for yes, 0 for no).  p_times
-- false leaves out the median and 90th centile of the time to decide a
-- referral (null), the costliest figure: a list of children need not
-- show it.  Runs as the caller, so
-- row-level security keeps every other site's rows out.  The JSON is the
-- dashboard's contract: see the README's API section.
CREATE FUNCTION dash_figures(p_teams bigint[], p_from date, p_to date, p_by text,
	p_times boolean DEFAULT true)
RETURNS TABLE (group_id bigint, figures json)
LANGUAGE sql STABLE
AS $$
	WITH
	tg AS (
		SELECT t.id AS team_id, CASE p_by WHEN 'site' THEN t.site_id
			WHEN 'district' THEN t.district_id WHEN 'team' THEN t.id
			WHEN 'integrated' THEN d.integrated::integer
			WHEN 'inclusive' THEN d.inclusive::integer ELSE 0 END AS g
		FROM team t JOIN district d ON d.id = t.district_id
		WHERE t.id = ANY (p_teams)
	),
	tq AS (
		SELECT tg.g,
			sum(q.awaiting_triage) AS awaiting, sum(q.awaiting_breached) AS awaiting_breached,
			min(q.awaiting_oldest_at) AS awaiting_oldest_at
		FROM dash_team_now q JOIN tg ON tg.team_id = q.team_id
		GROUP BY 1
	),
	co AS (
		SELECT tg.g, c.*
		FROM dash_coordinator_now c JOIN tg ON tg.team_id = c.team_id
	),
	nw AS (
		SELECT co.g, sum(caseload) AS caseload, sum(level_standard) AS standard,
			sum(level_enhanced) AS enhanced, sum(level_complex) AS complex,
			sum(level_non_cpa) AS non_cpa, sum(level_personalised) AS personalised,
			sum(review_overdue) AS review_overdue, min(review_oldest_due) AS oldest_due,
			sum(risk_in_date) AS risk_in_date, sum(risk_awaiting) AS risk_awaiting,
			sum(plan_current) AS plan_current, sum(plan_copy_user) AS plan_copy_user,
			sum(carer_may_have_plan) AS carer_may_have_plan,
			sum(plan_copy_carer) AS plan_copy_carer, sum(with_carer) AS with_carer,
			sum(carer_consent) AS carer_consent, sum(carer_offered) AS carer_offered,
			sum(carer_completed) AS carer_completed
		FROM co GROUP BY co.g
	),
	cs AS (
		SELECT x.g, count(*) AS coordinators,
			percentile_disc(0.5) WITHIN GROUP (ORDER BY x.n) AS median, max(x.n) AS max,
			count(*) FILTER (WHERE x.n > 35) AS over_35,
			count(*) FILTER (WHERE x.n <= 15) AS b1,
			count(*) FILTER (WHERE x.n BETWEEN 16 AND 25) AS b2,
			count(*) FILTER (WHERE x.n BETWEEN 26 AND 35) AS b3,
			count(*) FILTER (WHERE x.n BETWEEN 36 AND 45) AS b4,
			count(*) FILTER (WHERE x.n > 45) AS b5
		FROM (SELECT co.g, co.coordinator_id, sum(co.caseload) AS n FROM co
			GROUP BY co.g, co.coordinator_id) x
		GROUP BY x.g
	),
	dy AS (
		SELECT tg.g,
			sum(referrals_received) AS received, sum(referrals_decided) AS decided,
			sum(referrals_breached) AS breached, sum(reviews_held) AS held,
			sum(reviews_on_time) AS on_time, sum(followups_due) AS fu_due,
			sum(followups_met) AS fu_met, sum(risk_approved) AS approved,
			sum(risk_discussed_user) AS du, sum(risk_discussed_carer) AS dc,
			sum(exp_involved_n) AS inv_n, sum(exp_involved_yes) AS inv_y,
			sum(exp_choice_n) AS cho_n, sum(exp_choice_yes) AS cho_y,
			sum(exp_knows_plan_n) AS pla_n, sum(exp_knows_plan_yes) AS pla_y,
			sum(exp_knows_medication_n) AS med_n, sum(exp_knows_medication_yes) AS med_y,
			sum(exp_knows_complain_n) AS com_n, sum(exp_knows_complain_yes) AS com_y,
			sum(exp_satisfaction_n) AS sat_n, sum(exp_satisfaction_good) AS sat_g,
			sum(contacts_face_to_face) AS f2f, sum(contacts_home_visit) AS home,
			sum(contacts_phone) AS phone, sum(contacts_video) AS video,
			sum(contacts_not_attended) AS dna, sum(caseload) AS person_days
		FROM dash_team_day d JOIN tg ON tg.team_id = d.team_id
		WHERE d.day BETWEEN p_from AND p_to
		GROUP BY 1
	),
	rd AS (
		SELECT tg.g, u.urgency,
			percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY m.m) AS pc
		FROM dash_team_day d JOIN tg ON tg.team_id = d.team_id
		CROSS JOIN LATERAL (VALUES ('emergency', d.decided_emergency_min),
			('urgent', d.decided_urgent_min), ('routine', d.decided_routine_min))
			AS u (urgency, mins)
		CROSS JOIN LATERAL unnest(u.mins) AS m (m)
		WHERE p_times AND d.day BETWEEN p_from AND p_to
		GROUP BY tg.g, u.urgency
	),
	rb AS (
		SELECT tg.g, sum(d.breached_emergency) AS emergency,
			sum(d.breached_urgent) AS urgent, sum(d.breached_routine) AS routine,
			sum(cardinality(d.decided_emergency_min)) AS d_emergency,
			sum(cardinality(d.decided_urgent_min)) AS d_urgent,
			sum(cardinality(d.decided_routine_min)) AS d_routine
		FROM dash_team_day d JOIN tg ON tg.team_id = d.team_id
		WHERE d.day BETWEEN p_from AND p_to
		GROUP BY tg.g
	),
	dl AS (
		SELECT tg.g,
			CASE WHEN min(s.deadline_emergency) = max(s.deadline_emergency)
				THEN round(extract(epoch FROM min(s.deadline_emergency)) / 3600, 1) END AS emergency,
			CASE WHEN min(s.deadline_urgent) = max(s.deadline_urgent)
				THEN round(extract(epoch FROM min(s.deadline_urgent)) / 3600, 1) END AS urgent,
			CASE WHEN min(s.deadline_routine) = max(s.deadline_routine)
				THEN round(extract(epoch FROM min(s.deadline_routine)) / 3600, 1) END AS routine
		FROM tg JOIN team t ON t.id = tg.team_id JOIN site s ON s.id = t.site_id
		GROUP BY 1
	)
	SELECT tq.g, json_build_object(
		'caseload', json_build_object('total', coalesce(nw.caseload, 0),
			'standard', coalesce(nw.standard, 0), 'enhanced', coalesce(nw.enhanced, 0),
			'complex', coalesce(nw.complex, 0), 'non_cpa', coalesce(nw.non_cpa, 0),
			'personalised', coalesce(nw.personalised, 0)),
		'coordinators', json_build_object('count', coalesce(cs.coordinators, 0),
			'median', cs.median, 'max', cs.max, 'over_35', coalesce(cs.over_35, 0),
			'buckets', json_build_array(
				json_build_object('label', '15 or fewer', 'n', coalesce(cs.b1, 0)),
				json_build_object('label', '16 to 25', 'n', coalesce(cs.b2, 0)),
				json_build_object('label', '26 to 35', 'n', coalesce(cs.b3, 0)),
				json_build_object('label', '36 to 45', 'n', coalesce(cs.b4, 0)),
				json_build_object('label', 'over 45', 'n', coalesce(cs.b5, 0)))),
		'referrals', json_build_object('received', coalesce(dy.received, 0),
			'decided', coalesce(dy.decided, 0), 'breached', coalesce(dy.breached, 0),
			'breached_share', dash_share(dy.breached, dy.decided),
			'awaiting_triage', tq.awaiting, 'awaiting_breached', tq.awaiting_breached,
			'awaiting_oldest_at', tq.awaiting_oldest_at,
			'by_urgency', (SELECT json_agg(json_build_object('urgency', u.urgency,
				'decided', coalesce(CASE u.urgency WHEN 'emergency' THEN rb.d_emergency
					WHEN 'urgent' THEN rb.d_urgent ELSE rb.d_routine END, 0),
				'median_hours', round((rd.pc[1] / 60)::numeric, 1),
				'p90_hours', round((rd.pc[2] / 60)::numeric, 1),
				'deadline_hours', CASE u.urgency
					WHEN 'emergency' THEN dl.emergency WHEN 'urgent' THEN dl.urgent
					ELSE dl.routine END,
				'breaches', coalesce(CASE u.urgency WHEN 'emergency' THEN rb.emergency
					WHEN 'urgent' THEN rb.urgent ELSE rb.routine END, 0)) ORDER BY u.o)
				FROM (VALUES (1, 'emergency'), (2, 'urgent'), (3, 'routine')) AS u (o, urgency)
				LEFT JOIN rd ON rd.g = tq.g AND rd.urgency = u.urgency)),
		'reviews', json_build_object('held', coalesce(dy.held, 0),
			'on_time', coalesce(dy.on_time, 0), 'on_time_share', dash_share(dy.on_time, dy.held),
			'overdue', coalesce(nw.review_overdue, 0), 'oldest_overdue_due', nw.oldest_due,
			'followups_due', coalesce(dy.fu_due, 0), 'followups_met', coalesce(dy.fu_met, 0),
			'followups_met_share', dash_share(dy.fu_met, dy.fu_due)),
		'risk', json_build_object('caseload', coalesce(nw.caseload, 0),
			'in_date', coalesce(nw.risk_in_date, 0),
			'in_date_share', dash_share(nw.risk_in_date, nw.caseload),
			'awaiting_approval', coalesce(nw.risk_awaiting, 0),
			'approved', coalesce(dy.approved, 0),
			'discussed_user', coalesce(dy.du, 0),
			'discussed_user_share', dash_share(dy.du, dy.approved),
			'discussed_carer', coalesce(dy.dc, 0),
			'discussed_carer_share', dash_share(dy.dc, dy.approved)),
		'care_plans', json_build_object('caseload', coalesce(nw.caseload, 0),
			'current', coalesce(nw.plan_current, 0),
			'current_share', dash_share(nw.plan_current, nw.caseload),
			'copy_user', coalesce(nw.plan_copy_user, 0),
			'copy_user_share', dash_share(nw.plan_copy_user, nw.plan_current),
			'carer_may_have_plan', coalesce(nw.carer_may_have_plan, 0),
			'copy_carer', coalesce(nw.plan_copy_carer, 0),
			'copy_carer_share', dash_share(nw.plan_copy_carer, nw.carer_may_have_plan)),
		'carers', json_build_object('caseload', coalesce(nw.caseload, 0),
			'with_carer', coalesce(nw.with_carer, 0),
			'with_carer_share', dash_share(nw.with_carer, nw.caseload),
			'consent', coalesce(nw.carer_consent, 0),
			'consent_share', dash_share(nw.carer_consent, nw.with_carer),
			'offered', coalesce(nw.carer_offered, 0),
			'offered_share', dash_share(nw.carer_offered, nw.with_carer),
			'completed', coalesce(nw.carer_completed, 0),
			'completed_share', dash_share(nw.carer_completed, nw.with_carer)),
		'experience', json_build_array(
			json_build_object('question', 'involved', 'answers', coalesce(dy.inv_n, 0),
				'yes', coalesce(dy.inv_y, 0), 'share', dash_share(dy.inv_y, dy.inv_n)),
			json_build_object('question', 'choice', 'answers', coalesce(dy.cho_n, 0),
				'yes', coalesce(dy.cho_y, 0), 'share', dash_share(dy.cho_y, dy.cho_n)),
			json_build_object('question', 'knows_plan', 'answers', coalesce(dy.pla_n, 0),
				'yes', coalesce(dy.pla_y, 0), 'share', dash_share(dy.pla_y, dy.pla_n)),
			json_build_object('question', 'knows_medication',
				'answers', coalesce(dy.med_n, 0), 'yes', coalesce(dy.med_y, 0),
				'share', dash_share(dy.med_y, dy.med_n)),
			json_build_object('question', 'knows_complain', 'answers', coalesce(dy.com_n, 0),
				'yes', coalesce(dy.com_y, 0), 'share', dash_share(dy.com_y, dy.com_n)),
			json_build_object('question', 'satisfaction', 'answers', coalesce(dy.sat_n, 0),
				'yes', coalesce(dy.sat_g, 0), 'share', dash_share(dy.sat_g, dy.sat_n))),
		'contacts', json_build_object('person_days', coalesce(dy.person_days, 0),
			'total', coalesce(dy.f2f + dy.home + dy.phone + dy.video, 0),
			'per_person_month', dash_per_person_month(dy.f2f + dy.home + dy.phone + dy.video,
				dy.person_days),
			'not_attended', coalesce(dy.dna, 0),
			'by_mode', json_build_array(
				json_build_object('mode', 'face_to_face', 'n', coalesce(dy.f2f, 0),
					'per_person_month', dash_per_person_month(dy.f2f, dy.person_days)),
				json_build_object('mode', 'home_visit', 'n', coalesce(dy.home, 0),
					'per_person_month', dash_per_person_month(dy.home, dy.person_days)),
				json_build_object('mode', 'phone', 'n', coalesce(dy.phone, 0),
					'per_person_month', dash_per_person_month(dy.phone, dy.person_days)),
				json_build_object('mode', 'video', 'n', coalesce(dy.video, 0),
					'per_person_month', dash_per_person_month(dy.video, dy.person_days)))))
	FROM tq
	LEFT JOIN nw ON nw.g = tq.g
	LEFT JOIN cs ON cs.g = tq.g
	LEFT JOIN dy ON dy.g = tq.g
	LEFT JOIN dl ON dl.g = tq.g
	LEFT JOIN rb ON rb.g = tq.g
$$;

-- The months of p_from to p_to for the teams p_teams, oldest first (the
-- first and last cut to the period): what happened in each and the
-- caseload at its end.
CREATE FUNCTION dash_trend(p_teams bigint[], p_from date, p_to date) RETURNS json
LANGUAGE sql STABLE
AS $$
	WITH m AS (
		SELECT date_trunc('month', d.day)::date AS month, min(d.day) AS first_day,
			max(d.day) AS last_day,
			sum(referrals_received) AS received, sum(referrals_decided) AS decided,
			sum(referrals_breached) AS breached, sum(reviews_held) AS held,
			sum(reviews_on_time) AS on_time, sum(followups_due) AS fu_due,
			sum(followups_met) AS fu_met, sum(risk_approved) AS approved,
			sum(risk_discussed_user) AS du, sum(risk_discussed_carer) AS dc,
			sum(exp_satisfaction_n) AS sat_n, sum(exp_satisfaction_good) AS sat_g,
			sum(contacts_face_to_face + contacts_home_visit + contacts_phone
				+ contacts_video) AS contacts,
			sum(caseload) AS person_days
		FROM dash_team_day d
		WHERE d.team_id = ANY (p_teams) AND d.day BETWEEN p_from AND p_to
		GROUP BY 1
	)
	SELECT coalesce(json_agg(json_build_object('month', to_char(m.month, 'YYYY-MM'),
		'from', m.first_day, 'to', m.last_day,
		'referrals_received', m.received, 'referrals_decided', m.decided,
		'referrals_breached', m.breached,
		'reviews_held', m.held, 'reviews_on_time', m.on_time,
		'reviews_on_time_share', dash_share(m.on_time, m.held),
		'followups_due', m.fu_due, 'followups_met', m.fu_met,
		'followups_met_share', dash_share(m.fu_met, m.fu_due),
		'risk_approved', m.approved,
		'risk_discussed_user_share', dash_share(m.du, m.approved),
		'risk_discussed_carer_share', dash_share(m.dc, m.approved),
		'satisfaction_answers', m.sat_n,
		'satisfaction_share', dash_share(m.sat_g, m.sat_n),
		'contacts', m.contacts,
		'contacts_per_person_month', dash_per_person_month(m.contacts, m.person_days),
		'caseload_end', (SELECT coalesce(sum(e.caseload), 0) FROM dash_team_day e
			WHERE e.team_id = ANY (p_teams) AND e.day = m.last_day))
		ORDER BY m.month), '[]')
	FROM m
$$;

-- The open episodes now behind a figure, for team p_team and coordinator
-- p_coordinator (NULL: all of the team's), by the caller's row-level
-- security, as a JSON array by family name.  p_figure: caseload (all),
-- review_overdue, risk_not_in_date, risk_awaiting, no_plan, no_copy_user,
-- no_copy_carer (a carer may have a copy and none was given), no_carer,
-- carer_no_consent, carer_not_offered.
CREATE FUNCTION dash_people(p_team bigint, p_coordinator bigint, p_figure text)
RETURNS json
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(json_agg(json_build_object('service_user', json_build_object(
			'id', su.id, 'nhs_number', su.nhs_number, 'given_name', su.given_name,
			'family_name', su.family_name, 'date_of_birth', su.date_of_birth),
		'episode_id', f.episode_id, 'level', f.level, 'coordinator_id', f.coordinator_id,
		'review_due_date', f.review_due_date, 'risk_review_due', f.risk_review_due,
		'risk_awaiting', f.risk_awaiting, 'plan_current', f.plan_current,
		'plan_copy_user', f.plan_copy_user, 'plan_copy_carer', f.plan_copy_carer,
		'with_carer', f.with_carer, 'carer_consent', f.carer_consent,
		'carer_offered', f.carer_offered)
		ORDER BY lower(su.family_name), lower(su.given_name), su.id, f.episode_id), '[]')
	FROM dash_episode_flags(p_team, p_coordinator) f
	JOIN service_user su ON su.id = f.service_user_id
	WHERE CASE p_figure
		WHEN 'caseload' THEN true
		WHEN 'review_overdue' THEN f.review_due_date < current_date
		WHEN 'risk_not_in_date' THEN f.risk_review_due IS NULL
			OR f.risk_review_due < current_date
		WHEN 'risk_awaiting' THEN f.risk_awaiting
		WHEN 'no_plan' THEN NOT f.plan_current
		WHEN 'no_copy_user' THEN f.plan_current AND NOT f.plan_copy_user
		WHEN 'no_copy_carer' THEN f.carer_may_have_plan AND NOT f.plan_copy_carer
		WHEN 'no_carer' THEN NOT f.with_carer
		WHEN 'carer_no_consent' THEN f.with_carer AND NOT f.carer_consent
		WHEN 'carer_not_offered' THEN f.with_carer AND NOT f.carer_offered
		ELSE false END
$$;

-- ---------------------------------------------------- row-level security

ALTER TABLE dash_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE dash_state FORCE ROW LEVEL SECURITY;
ALTER TABLE dash_dirty ENABLE ROW LEVEL SECURITY;
ALTER TABLE dash_dirty FORCE ROW LEVEL SECURITY;
ALTER TABLE dash_coordinator_now ENABLE ROW LEVEL SECURITY;
ALTER TABLE dash_coordinator_now FORCE ROW LEVEL SECURITY;
ALTER TABLE dash_team_now ENABLE ROW LEVEL SECURITY;
ALTER TABLE dash_team_now FORCE ROW LEVEL SECURITY;
ALTER TABLE dash_team_day ENABLE ROW LEVEL SECURITY;
ALTER TABLE dash_team_day FORCE ROW LEVEL SECURITY;

-- The summaries are read in bulk: the sub-select makes cpa_site_ids() one
-- evaluation per statement, not one per row.  When the figures were made
-- is no secret; a noted day says only that
-- something changed that day, and is never read back by the application.
CREATE POLICY dash_state_select ON dash_state FOR SELECT USING (true);
CREATE POLICY dash_dirty_insert ON dash_dirty FOR INSERT WITH CHECK (true);
CREATE POLICY dash_coordinator_now_site ON dash_coordinator_now FOR SELECT
	USING (site_id = ANY ((SELECT cpa_site_ids())::bigint[]));
CREATE POLICY dash_team_now_site ON dash_team_now FOR SELECT
	USING (site_id = ANY ((SELECT cpa_site_ids())::bigint[]));
CREATE POLICY dash_team_day_site ON dash_team_day FOR SELECT
	USING (site_id = ANY ((SELECT cpa_site_ids())::bigint[]));

-- ------------------------------------------------------------- privileges

GRANT SELECT ON dash_state, dash_coordinator_now, dash_team_now, dash_team_day TO cpa_app;
-- The triggers run as whoever changed the source row.
GRANT INSERT ON dash_dirty TO cpa_app, cpa_auth;
-- What the refresh reads and writes, as cpa_auth.
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON dash_state, dash_dirty,
	dash_coordinator_now, dash_team_now, dash_team_day TO cpa_auth;
GRANT SELECT ON referral, episode, cpa_review, followup, contact, care_plan,
	care_plan_copy, carer_link, carer_consent, carer_assessment TO cpa_auth;

REVOKE ALL ON FUNCTION dash_day(timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION dash_day_start(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION dash_minutes(timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION carer_consent_covers(text, text[], text) FROM PUBLIC;
REVOKE ALL ON FUNCTION carer_consent_covers_plan(text, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION dash_episode_flags(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION dash_share(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION dash_per_person_month(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION dash_figures(bigint[], date, date, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION dash_trend(bigint[], date, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION dash_people(bigint, bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION dash_day_of(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION dash_days(date, date, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION dash_now(timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION dash_refresh(timestamptz, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION dash_rebuild(timestamptz) FROM PUBLIC;

GRANT CREATE ON SCHEMA public TO cpa_auth;
ALTER FUNCTION dash_refresh(timestamptz, interval) OWNER TO cpa_auth;
ALTER FUNCTION dash_rebuild(timestamptz) OWNER TO cpa_auth;
REVOKE CREATE ON SCHEMA public FROM cpa_auth;

GRANT EXECUTE ON FUNCTION dash_day(timestamptz) TO cpa_app, cpa_auth;
GRANT EXECUTE ON FUNCTION dash_day_start(date) TO cpa_app, cpa_auth;
GRANT EXECUTE ON FUNCTION dash_minutes(timestamptz, timestamptz) TO cpa_app, cpa_auth;
GRANT EXECUTE ON FUNCTION carer_consent_covers(text, text[], text) TO cpa_app, cpa_auth;
GRANT EXECUTE ON FUNCTION carer_consent_covers_plan(text, text[]) TO cpa_app, cpa_auth;
GRANT EXECUTE ON FUNCTION dash_episode_flags(bigint, bigint) TO cpa_app, cpa_auth;
GRANT EXECUTE ON FUNCTION dash_share(bigint, bigint) TO cpa_app;
GRANT EXECUTE ON FUNCTION dash_per_person_month(bigint, bigint) TO cpa_app;
GRANT EXECUTE ON FUNCTION dash_figures(bigint[], date, date, text, boolean) TO cpa_app;
GRANT EXECUTE ON FUNCTION dash_trend(bigint[], date, date) TO cpa_app;
GRANT EXECUTE ON FUNCTION dash_people(bigint, bigint, text) TO cpa_app;
GRANT EXECUTE ON FUNCTION dash_day_of(text) TO cpa_app, cpa_auth;
GRANT EXECUTE ON FUNCTION dash_days(date, date, timestamptz) TO cpa_auth;
GRANT EXECUTE ON FUNCTION dash_now(timestamptz) TO cpa_auth;
GRANT EXECUTE ON FUNCTION dash_refresh(timestamptz, interval) TO cpa_app;

-- The summaries of what is there already.
SELECT dash_rebuild(now());
