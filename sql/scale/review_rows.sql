-- review_rows.sql - what a scale run's episodes accumulate after intake:
-- CPA reviews (held ones and the one due), approved risk assessments with
-- their domains and history, inpatient admissions with the follow-ups owed
-- after discharge and the contacts that met them, and the due items of
-- 007 for everything now due.
--
-- Included by generate.sql (\ir) inside its transaction after
-- intake_rows.sql, with session_replication_role = replica: no trigger
-- fires, so this file writes what the triggers of 005 and 007 would have
-- written, by the same rules:
--   * each held review was due by policy from the one before it (or the
--     episode's start): review_due_from;
--   * an open episode has exactly one review due, a closed one had its due
--     review cancelled when it closed;
--   * a high risk approved or a discharge after the last review brought
--     the due review forward to within early_review_within of that day
--     (due_reason high_risk, discharge); intake_rows.sql's level changes
--     were decided at a review ("Needs reviewed at CPA review"), and a
--     review held with the change brings nothing forward;
--   * an admission asked for an early risk review (004): the approved
--     assessment's review fell due on the day of admission;
--   * a discharge owes a follow-up due followup_window later, met by the
--     first attended contact after it;
--   * every review due, approved assessment and open follow-up is an open
--     due_item due at due_at_of(date) (or the follow-up's time), steps_done
--     0 and next_step_at its first policy step, as 007's triggers and its
--     backfill make them; no reminder is queued (cpa-remindd's first sweep
--     catches up).
--
-- Input: gen_ref with the columns intake_rows.sql gives it.  Proportions,
-- of the run's episodes:
--   reviews      held every interval of the episode's level (a little
--                early or late: -21 to +7 days), 4 % of open episodes
--                missed the last one and are overdue;
--   risk         40 % of open episodes started over a fortnight ago have
--                an approved assessment (8 % high, 25 % medium, 45 % low),
--                a fifth of those also the one it superseded;
--   admissions   of open episodes started over 45 days ago: 0.5 % on a
--                ward now, 0.4 % discharged in the last week, 3 % earlier
--                (before their last review); 2 % of the earlier follow-ups
--                were never met.
-- Everything else (the numbers behind each choice) comes from a hash of
-- the row's id, so a run is repeatable.

-- A number in [0, 2^31) for row id a and purpose b.
CREATE FUNCTION pg_temp.gen_h(a bigint, b integer) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT abs(hashint8(a * 1031 + b)::bigint)
$$;

-- The same as a fraction in [0, 1).
CREATE FUNCTION pg_temp.gen_u(a bigint, b integer) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT (abs(hashint8(a * 1031 + b)::bigint) % 1000003) / 1000003.0::double precision
$$;

-- The texts the rows are written with.
CREATE TEMPORARY VIEW review_vocab AS SELECT
	ARRAY['Reviewed the care plan together; goals still right, small changes to support',
		'Going well: back at college two days a week; continue as planned',
		'Sleep poor again; medication review booked with the psychiatrist',
		'Carer finding things hard: carer''s assessment offered',
		'Housing problems are the main worry; referral to housing support',
		'No change needed; crisis plan gone through again']
		AS notes,
	ARRAY['GP', 'Psychiatrist', 'Support worker', 'Housing officer', 'Advocate']
		AS others,
	ARRAY['yes', 'yes', 'yes', 'partly', 'partly', 'no', 'declined'] AS answer,
	ARRAY['Stops answering the phone; sleeps in the day; talks of being a burden',
		'Hears the voice more at night; stops eating; leaves the gas on',
		'Drinks more; misses appointments; gives belongings away']
		AS warning_signs,
	ARRAY['Talking to their sister; walking the dog; a call from the team',
		'Keeping to the routine; the drop-in on Thursdays; music',
		'Time at the allotment; their faith group; short calls from the coordinator']
		AS what_helps,
	ARRAY['Crisis line 0800 000 0000 (24 hours); NHS 111 option 2; 999 in an emergency']
		AS crisis_numbers,
	ARRAY['Too unwell to take part this time; to be gone through at the next visit',
		'Declined to talk about risk today']
		AS not_user,
	ARRAY['No carer', 'Does not want their carer involved in this']
		AS not_carer,
	ARRAY['suicide_self_harm', 'harm_to_others', 'self_neglect',
		'exploitation_vulnerability', 'substance_misuse', 'other']
		AS domain,
	ARRAY['none', 'low', 'medium', 'high'] AS level,
	ARRAY['Ward 3 (acute)', 'Ward 7 (acute)', 'Psychiatric intensive care unit',
		'Older adults ward', 'Crisis assessment unit']
		AS ward,
	ARRAY['Home', 'Home with family', 'Supported accommodation', 'Crisis house',
		'Temporary accommodation']
		AS destination,
	ARRAY['face_to_face', 'home_visit', 'home_visit', 'phone', 'video'] AS mode;

SELECT pg_get_serial_sequence('cpa_review', 'id') AS gen_review_seq,
	pg_get_serial_sequence('risk_assessment', 'id') AS gen_risk_seq,
	pg_get_serial_sequence('admission', 'id') AS gen_admission_seq,
	pg_get_serial_sequence('followup', 'id') AS gen_followup_seq,
	pg_get_serial_sequence('contact', 'id') AS gen_contact_seq \gset

-- ------------------------------------------------------------- episodes

-- h: the episode's own number; iv: its review interval.
CREATE TEMPORARY TABLE gen_ep AS
SELECT r.episode_id AS id, r.site_id, r.service_user_id, r.team_id, r.level,
	r.coordinator_id, r.first_coordinator_id, r.coordinator_changed_at,
	r.started_at, r.ended_at, r.ended_at IS NULL AS open,
	r.started_at::date AS sd,
	coalesce(r.ended_at::date, current_date) AS end_d,
	CASE WHEN r.level IN ('enhanced', 'complex') THEN s.review_enhanced
		WHEN r.level = 'standard' THEN s.review_standard
		ELSE s.review_other END AS iv,
	s.early_review_within, s.followup_window,
	pg_temp.gen_h(r.episode_id, 0) AS h
FROM gen_ref r
JOIN site s ON s.id = r.site_id
WHERE r.episode_id IS NOT NULL;
ANALYZE gen_ep;

-- ----------------------------------------------------------- held reviews

-- Review i (1, 2, ...) was held about i intervals after the start, a few
-- days early or late (held_on of the formula below), until the episode's
-- end or yesterday.  The series runs a little long and is cut by the date.
CREATE FUNCTION pg_temp.gen_held_on(id bigint, sd date, iv interval, i integer)
RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT CASE WHEN i = 0 THEN sd
		ELSE (sd + i * iv)::date + (pg_temp.gen_h(id, i) % 29)::integer - 21 END
$$;

CREATE TEMPORARY TABLE gen_held AS
SELECT e.id AS episode_id, g.i, pg_temp.gen_held_on(e.id, e.sd, e.iv, g.i) AS held_on
FROM gen_ep e
CROSS JOIN LATERAL generate_series(1, (e.end_d - e.sd)
	/ greatest(1, floor(extract(epoch FROM e.iv) / 86400 * 0.75))::integer + 2) AS g (i)
WHERE pg_temp.gen_held_on(e.id, e.sd, e.iv, g.i) < e.end_d;

-- 4 % of open episodes missed their last review.
DELETE FROM gen_held h
USING (SELECT episode_id, max(i) AS i FROM gen_held GROUP BY episode_id) l, gen_ep e
WHERE h.episode_id = l.episode_id AND h.i = l.i AND e.id = h.episode_id
	AND e.open AND e.h % 100 < 4;
ANALYZE gen_held;

-- The last review held, per episode (NULL: none yet).
CREATE TEMPORARY TABLE gen_last AS
SELECT e.id AS episode_id, max(h.held_on) AS held_on
FROM gen_ep e LEFT JOIN gen_held h ON h.episode_id = e.id
GROUP BY e.id;
ANALYZE gen_last;

-- Held at 15:30 by whoever coordinated the care that day; the row was
-- made when the review before it was held (or the episode opened).
INSERT INTO cpa_review (id, site_id, service_user_id, episode_id, status, due_date,
	due_reason, created_at, held_on, attended_user, attended_carer,
	attended_coordinator, attended_others, outcome, notes, next_due_date,
	exp_involved, exp_choice, exp_knows_plan, exp_knows_medication,
	exp_knows_complain, exp_satisfaction, recorded_by, recorded_at, version)
OVERRIDING SYSTEM VALUE
SELECT nextval(:'gen_review_seq'), e.site_id, e.service_user_id, e.id, 'held',
	(x.prev + e.iv)::date,
	CASE WHEN h.i = 1 THEN 'first' ELSE 'policy' END,
	CASE WHEN h.i = 1 THEN e.started_at ELSE (x.prev + time '15:30')::timestamptz END,
	h.held_on,
	x.q % 100 < 88, x.q / 100 % 100 < 35, x.q / 10000 % 100 < 97,
	CASE WHEN x.q / 1000000 % 10 < 3 THEN v.others[1 + x.q / 1000000 % 5] END,
	'continue', v.notes[1 + x.q / 7 % cardinality(v.notes)],
	(h.held_on + e.iv)::date,
	CASE WHEN x.ask THEN v.answer[1 + x.q / 11 % 7] END,
	CASE WHEN x.ask THEN v.answer[1 + x.q / 13 % 7] END,
	CASE WHEN x.ask THEN v.answer[1 + x.q / 17 % 6] END,
	CASE WHEN x.ask THEN v.answer[1 + x.q / 19 % 7] END,
	CASE WHEN x.ask THEN v.answer[1 + x.q / 23 % 7] END,
	CASE WHEN x.ask THEN (ARRAY[5, 4, 4, 4, 3, 3, 2, 5, 1, 4])[1 + x.q / 29 % 10] END,
	CASE WHEN e.first_coordinator_id IS NOT NULL
		AND (h.held_on + time '15:30')::timestamptz < e.coordinator_changed_at
		THEN e.first_coordinator_id ELSE e.coordinator_id END,
	(h.held_on + time '15:30')::timestamptz,
	2
FROM gen_held h
JOIN gen_ep e ON e.id = h.episode_id
CROSS JOIN review_vocab v
CROSS JOIN LATERAL (SELECT pg_temp.gen_held_on(e.id, e.sd, e.iv, h.i - 1) AS prev,
	pg_temp.gen_h(e.id, 1000 + h.i) AS q,
	pg_temp.gen_h(e.id, 1000 + h.i) / 31 % 10 < 6 AS ask) x;

-- --------------------------------------------------------- admissions

-- A team's manager approves its assessments (generate.sql gives every
-- team one).
CREATE TEMPORARY TABLE gen_tm AS
SELECT t.id AS team_id, min(r.staff_id) AS staff_id
FROM team t
JOIN staff_role r ON r.role = 'team_manager' AND r.site_id = t.site_id
	AND (r.district_id IS NULL OR r.district_id = t.district_id)
	AND (r.team_id IS NULL OR r.team_id = t.id)
JOIN staff s ON s.id = r.staff_id AND s.active
WHERE t.id IN (SELECT team_id FROM gen_ep)
GROUP BY t.id;

-- kind: 'current' (on a ward now), 'recent' (discharged in the last week)
-- or 'past' (discharged before the last review was held).
CREATE TEMPORARY TABLE gen_adm AS
WITH a AS (
	SELECT e.*, l.held_on AS last_held,
		CASE
			WHEN pg_temp.gen_h(e.id, 4) % 10000 < 50 THEN 'current'
			WHEN pg_temp.gen_h(e.id, 4) % 10000 < 90 THEN 'recent'
			WHEN pg_temp.gen_h(e.id, 4) % 10000 < 390 AND l.held_on > e.sd + 30 THEN 'past'
		END AS kind,
		pg_temp.gen_u(e.id, 5) AS u1, pg_temp.gen_u(e.id, 6) AS u2
	FROM gen_ep e JOIN gen_last l ON l.episode_id = e.id
	WHERE e.open AND e.started_at < now() - interval '45 days'
),
d AS (
	SELECT a.*,
		CASE a.kind
			WHEN 'recent' THEN now() - interval '1 hour' - a.u1 * interval '7 days'
			WHEN 'past' THEN a.started_at + ((a.last_held - 2 + time '12:00')::timestamptz
				- a.started_at) * (0.2 + 0.7 * a.u1)
		END AS discharged_at
	FROM a WHERE a.kind IS NOT NULL
)
SELECT nextval(:'gen_admission_seq') AS id, d.id AS episode_id, d.site_id,
	d.service_user_id, d.coordinator_id, d.followup_window, d.kind, d.h,
	CASE WHEN d.kind = 'current'
		THEN greatest(d.started_at + interval '1 day',
			now() - interval '1 day' - d.u2 * interval '40 days')
		ELSE greatest(d.started_at + interval '1 hour',
			d.discharged_at - interval '3 days' - d.u2 * interval '40 days')
	END AS admitted_at,
	d.discharged_at
FROM d;
ANALYZE gen_adm;

INSERT INTO admission (id, site_id, service_user_id, episode_id, admitted_at, hospital,
	ward, discharged_at, discharge_destination, source, external_ref, recorded_by,
	recorded_at, version)
OVERRIDING SYSTEM VALUE
SELECT a.id, a.site_id, a.service_user_id, a.episode_id, a.admitted_at,
	CASE WHEN s.code = 'south' THEN
		(ARRAY['Southcliffe Hospital', 'Harbourview Unit'])[1 + a.h / 3 % 2]
	ELSE (ARRAY['Northfield General Hospital', 'Moorside Hospital'])[1 + a.h / 3 % 2] END,
	v.ward[1 + a.h / 7 % cardinality(v.ward)],
	a.discharged_at,
	CASE WHEN a.discharged_at IS NOT NULL
		THEN v.destination[1 + a.h / 11 % cardinality(v.destination)] END,
	CASE WHEN a.h / 13 % 10 < 3 THEN 'ward_system' ELSE 'page' END,
	CASE WHEN a.h / 13 % 10 < 3 THEN 'WS-' || a.id END,
	a.coordinator_id, a.admitted_at + interval '2 hours',
	1 + (a.discharged_at IS NOT NULL)::integer
FROM gen_adm a
JOIN site s ON s.id = a.site_id
CROSS JOIN review_vocab v;

-- The follow-up of each discharge, and the contact that met it: within
-- the window for most, late for some, never for 2 % of the earlier ones;
-- one not yet made is still open.
CREATE TEMPORARY TABLE gen_fu AS
WITH f AS (
	SELECT a.*, a.discharged_at + CASE
		WHEN a.kind = 'recent' THEN interval '6 hours' + x.u * interval '90 hours'
		WHEN a.h / 17 % 100 < 88 THEN interval '6 hours' + x.u * interval '60 hours'
		WHEN a.h / 17 % 100 < 98 THEN interval '73 hours' + x.u * interval '70 hours'
	END AS contact_at
	FROM gen_adm a
	CROSS JOIN LATERAL (SELECT pg_temp.gen_u(a.id, 8) AS u) x
	WHERE a.discharged_at IS NOT NULL
)
SELECT nextval(:'gen_followup_seq') AS id, f.id AS admission_id, f.episode_id,
	f.site_id, f.service_user_id, f.coordinator_id, f.h, f.discharged_at,
	f.discharged_at + f.followup_window AS due_at,
	CASE WHEN f.contact_at <= now() - interval '30 minutes' THEN f.contact_at END AS met_at,
	CASE WHEN f.contact_at <= now() - interval '30 minutes'
		THEN nextval(:'gen_contact_seq') END AS contact_id
FROM f;

INSERT INTO contact (id, site_id, service_user_id, episode_id, at, duration_minutes,
	staff_id, mode, attended, carer_present, crisis, note, recorded_by, recorded_at)
OVERRIDING SYSTEM VALUE
SELECT f.contact_id, f.site_id, f.service_user_id, f.episode_id, f.met_at,
	20 + (f.h / 19 % 5) * 10, f.coordinator_id,
	v.mode[1 + f.h / 23 % cardinality(v.mode)], true, f.h / 29 % 3 = 0, false,
	'Follow-up after discharge from hospital', f.coordinator_id,
	least(f.met_at + interval '2 hours', now())
FROM gen_fu f CROSS JOIN review_vocab v
WHERE f.contact_id IS NOT NULL;

INSERT INTO followup (id, site_id, service_user_id, episode_id, admission_id,
	discharged_at, due_at, status, met_at, met_by_contact_id)
OVERRIDING SYSTEM VALUE
SELECT f.id, f.site_id, f.service_user_id, f.episode_id, f.admission_id,
	f.discharged_at, f.due_at, CASE WHEN f.contact_id IS NULL THEN 'open' ELSE 'met' END,
	f.met_at, f.contact_id
FROM gen_fu f;
ANALYZE gen_fu;

-- -------------------------------------------------------------- risk

-- The approved assessment: approved up to 1.15 review intervals ago (so
-- some reviews are overdue), and after the last discharge before that.
CREATE TEMPORARY TABLE gen_risk AS
WITH r AS (
	SELECT e.*, tm.staff_id AS manager, pa.discharged_at AS past_discharge,
		v.level[1 + x.o] AS overall, x.o,
		CASE WHEN x.o = 3 THEN s.risk_review_high
			WHEN e.level IN ('enhanced', 'complex') THEN s.risk_review_enhanced
			ELSE s.risk_review_standard END AS riv,
		x.o = 3 OR e.level IN ('enhanced', 'complex') AS needs
	FROM gen_ep e
	JOIN site s ON s.id = e.site_id
	LEFT JOIN gen_tm tm ON tm.team_id = e.team_id
	LEFT JOIN (SELECT a.episode_id, max(a.discharged_at) AS discharged_at FROM gen_adm a
		WHERE a.kind = 'past' GROUP BY a.episode_id) pa ON pa.episode_id = e.id
	CROSS JOIN review_vocab v
	CROSS JOIN LATERAL (SELECT CASE
		WHEN pg_temp.gen_h(e.id, 2) % 100 < 8 THEN 3
		WHEN pg_temp.gen_h(e.id, 2) % 100 < 33 THEN 2
		WHEN pg_temp.gen_h(e.id, 2) % 100 < 78 THEN 1
		ELSE 0 END AS o) x
	WHERE e.open AND e.started_at < now() - interval '14 days'
		AND pg_temp.gen_h(e.id, 1) % 100 < 40
)
SELECT nextval(:'gen_risk_seq') AS id, r.id AS episode_id, r.site_id,
	r.service_user_id, r.team_id, r.level, r.coordinator_id, r.first_coordinator_id,
	r.coordinator_changed_at, r.started_at, r.manager, r.overall, r.o, r.riv, r.needs,
	r.h, 'approved'::text AS status,
	least(greatest(r.started_at + interval '3 days',
			r.past_discharge + interval '1 day',
			now() - pg_temp.gen_u(r.id, 3) * 1.15 * r.riv),
		now() - interval '1 hour') AS approved_at,
	NULL::timestamptz AS superseded_at, NULL::bigint AS supersedes_id,
	NULL::timestamptz AS review_requested_at, 1 AS version
FROM r;
ALTER TABLE gen_risk ADD COLUMN next_review_due date;
UPDATE gen_risk SET next_review_due = (approved_at::date + riv)::date;

-- A fifth also have the assessment this one superseded.
INSERT INTO gen_risk
SELECT nextval(:'gen_risk_seq'), g.episode_id, g.site_id, g.service_user_id, g.team_id,
	g.level, g.coordinator_id, g.first_coordinator_id, g.coordinator_changed_at,
	g.started_at, g.manager, v.level[1 + o.o], o.o, g.riv, g.needs OR o.o = 3, g.h,
	'superseded', o.approved_at, g.approved_at, NULL, NULL, 2,
	(o.approved_at::date + g.riv)::date
FROM gen_risk g
CROSS JOIN review_vocab v
CROSS JOIN LATERAL (SELECT g.approved_at - g.riv - (g.h / 7 % 14) * interval '1 day'
	AS approved_at, (g.o + g.h / 11 % 3 + 3) % 4 AS o) o
WHERE pg_temp.gen_h(g.id, 7) % 100 < 20
	AND o.approved_at > g.started_at + interval '3 days';
UPDATE gen_risk n SET supersedes_id = o.id, version = 2
FROM gen_risk o
WHERE o.status = 'superseded' AND n.status = 'approved' AND o.episode_id = n.episode_id;

-- An admission after the approval asked for its review at once (004).
UPDATE gen_risk g SET next_review_due = least(g.next_review_due, a.admitted_at::date),
	review_requested_at = a.admitted_at, version = g.version + 1
FROM gen_adm a
WHERE a.episode_id = g.episode_id AND g.status = 'approved'
	AND a.kind IN ('current', 'recent') AND a.admitted_at > g.approved_at;
ANALYZE gen_risk;

-- Who wrote and who approved: the coordinator of the day; a manager when
-- the workflow needs one (the author approves otherwise).
INSERT INTO risk_assessment (id, site_id, service_user_id, episode_id, status,
	overall_level, warning_signs, what_helps, crisis_numbers, discussed_with_user,
	not_discussed_user_reason, discussed_with_carer, not_discussed_carer_reason,
	needs_manager_approval, author_id, created_at, updated_at, submitted_at,
	decided_by, decided_at, approved_at, next_review_due, supersedes_id,
	superseded_at, review_requested_at, review_trigger, version)
OVERRIDING SYSTEM VALUE
SELECT g.id, g.site_id, g.service_user_id, g.episode_id, g.status, g.overall,
	v.warning_signs[1 + g.h / 3 % cardinality(v.warning_signs)],
	v.what_helps[1 + g.h / 5 % cardinality(v.what_helps)],
	v.crisis_numbers[1],
	g.h / 7 % 100 < 85,
	CASE WHEN g.h / 7 % 100 >= 85 THEN v.not_user[1 + g.h / 11 % 2] END,
	g.h / 13 % 100 < 45,
	CASE WHEN g.h / 13 % 100 >= 45 THEN v.not_carer[1 + g.h / 17 % 2] END,
	g.needs, x.author,
	g.approved_at - interval '2 days', coalesce(g.review_requested_at, g.superseded_at,
		g.approved_at),
	g.approved_at - CASE WHEN g.needs THEN interval '1 day' ELSE interval '0' END,
	CASE WHEN g.needs THEN g.manager END, g.approved_at, g.approved_at,
	g.next_review_due, g.supersedes_id, g.superseded_at, g.review_requested_at,
	CASE WHEN g.review_requested_at IS NOT NULL THEN 'admission' END, g.version
FROM gen_risk g
CROSS JOIN review_vocab v
CROSS JOIN LATERAL (SELECT CASE WHEN g.first_coordinator_id IS NOT NULL
	AND g.approved_at < g.coordinator_changed_at
	THEN g.first_coordinator_id ELSE g.coordinator_id END AS author) x;

-- Every domain rated; one of them at the overall level, none above it.
INSERT INTO risk_domain (assessment_id, site_id, domain, level)
SELECT g.id, g.site_id, v.domain[d.n],
	v.level[1 + CASE WHEN d.n = 1 + g.h / 19 % 6 THEN g.o
		ELSE least(g.o, pg_temp.gen_h(g.id, 100 + d.n) % 4) END]
FROM gen_risk g
CROSS JOIN review_vocab v
CROSS JOIN generate_series(1, 6) AS d (n);

-- Its history, as cpa-risk records it.
INSERT INTO risk_event (site_id, assessment_id, kind, comments, at, by_staff_id)
SELECT r.site_id, r.id, ev.kind, ev.comments, ev.at, ev.by_staff_id
FROM risk_assessment r
JOIN gen_risk g ON g.id = r.id
CROSS JOIN LATERAL (VALUES
	('created', NULL, r.created_at, r.author_id),
	(CASE WHEN r.needs_manager_approval THEN 'submitted' END, NULL, r.submitted_at,
		r.author_id),
	('approved', NULL, r.approved_at, coalesce(r.decided_by, r.author_id)),
	(CASE WHEN r.status = 'superseded' THEN 'superseded' END, NULL, r.superseded_at,
		r.author_id),
	(CASE WHEN r.review_requested_at IS NOT NULL THEN 'review_requested' END,
		'Admission', r.review_requested_at, r.author_id)
) AS ev (kind, comments, at, by_staff_id)
WHERE ev.kind IS NOT NULL;

-- ------------------------------------------------------ the review due

-- Due by policy from the last review held, unless something since
-- brought it forward.  Closed episodes: cancelled when they closed.
CREATE TEMPORARY TABLE gen_due AS
WITH d AS (
	SELECT e.*, coalesce((l.held_on + time '15:30')::timestamptz, e.started_at) AS since,
		(coalesce(l.held_on, e.sd) + e.iv)::date AS policy_due,
		l.held_on IS NULL AS first
	FROM gen_ep e JOIN gen_last l ON l.episode_id = e.id
),
ev AS (
	SELECT d.id, 'high_risk' AS reason,
		(g.approved_at::date + d.early_review_within)::date AS due
	FROM d JOIN gen_risk g ON g.episode_id = d.id AND g.status = 'approved' AND g.o = 3
	WHERE d.open AND g.approved_at > d.since
	UNION ALL
	SELECT d.id, 'discharge', (a.discharged_at::date + d.early_review_within)::date
	FROM d JOIN gen_adm a ON a.episode_id = d.id
	WHERE d.open AND a.discharged_at > d.since
),
early AS (
	SELECT DISTINCT ON (ev.id) ev.id, ev.reason, ev.due
	FROM ev ORDER BY ev.id, ev.due, ev.reason
)
SELECT nextval(:'gen_review_seq') AS id, d.id AS episode_id, d.site_id,
	d.service_user_id, d.open, d.since AS created_at, d.ended_at,
	CASE WHEN early.due < d.policy_due THEN early.due ELSE d.policy_due END AS due_date,
	CASE WHEN early.due < d.policy_due THEN early.reason
		WHEN d.first THEN 'first' ELSE 'policy' END AS due_reason
FROM d LEFT JOIN early ON early.id = d.id;
ANALYZE gen_due;

INSERT INTO cpa_review (id, site_id, service_user_id, episode_id, status, due_date,
	due_reason, created_at, cancelled_at, version)
OVERRIDING SYSTEM VALUE
SELECT g.id, g.site_id, g.service_user_id, g.episode_id,
	CASE WHEN g.open THEN 'due' ELSE 'cancelled' END, g.due_date, g.due_reason,
	g.created_at, g.ended_at,
	1 + (g.due_reason NOT IN ('first', 'policy'))::integer + (NOT g.open)::integer
FROM gen_due g;

-- ------------------------------------------------------------ due items

INSERT INTO due_item (site_id, kind, source_id, service_user_id, episode_id, due_at,
	steps_done, next_step_at)
SELECT x.site_id, x.kind, x.source_id, x.service_user_id, x.episode_id, x.due_at, 0,
	(SELECT s.at FROM remind_step_after(x.site_id, x.kind, x.due_at, 0::smallint) s)
FROM (
	SELECT g.site_id, 'cpa_review' AS kind, g.id AS source_id, g.service_user_id,
		g.episode_id, due_at_of(g.due_date) AS due_at
	FROM gen_due g WHERE g.open
	UNION ALL
	SELECT g.site_id, 'risk_review', g.id, g.service_user_id, g.episode_id,
		due_at_of(g.next_review_due)
	FROM gen_risk g WHERE g.status = 'approved'
	UNION ALL
	SELECT f.site_id, 'followup', f.id, f.service_user_id, f.episode_id, f.due_at
	FROM gen_fu f WHERE f.contact_id IS NULL
) x;
