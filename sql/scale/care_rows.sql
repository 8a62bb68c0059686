-- care_rows.sql - what a scale run's open episodes hold besides their
-- reviews: the people's carers with their consent decisions and carer's
-- assessments, written care plans with their versions and copies, the
-- routine contacts of the last twelve months, risk assessments awaiting a
-- manager's approval, and the carer involvement all of these record.
--
-- Included by generate.sql (\ir) inside its transaction after
-- review_rows.sql, whose temporary tables (gen_ep, gen_held, gen_risk,
-- gen_adm, gen_fu, gen_tm) and functions (gen_h, gen_u) it reads.  With
-- session_replication_role = replica no trigger fires, so this file writes
-- what the triggers of 005, 007 and 010 would have written, by the same
-- rules:
--   * carer_link.current_consent_id is the link's latest decision
--     (carer_consent_recorded), and version counts what changed the link;
--   * each carer's assessment offered or accepted is an open due_item due
--     at due_at_of(offered_on + carer_assessment_act_within), for the
--     person's open episode, steps_done 0 and next_step_at its first
--     policy step (due_item_carer);
--   * carer_involvement: a care plan version written with a carer
--     (care_plan_writing), a copy given to a carer (care_plan_copy), a
--     contact with a carer present (contact) and a risk assessment
--     submitted after talking it through with the carer (risk_discussion),
--     attributed as carer_involvement_record does: the carer named, else
--     the person's only carer current that day, else none;
--   * a copy goes to a carer only while the consent in force allows them
--     the plan (carer_may_have_plan);
--   * routine contacts meet no follow-up and move no review: none falls
--     between an admission and three hours after the contact that met its
--     follow-up (for one still open or a person still on the ward: up to
--     now), and a contact is a crisis one only where 005's trigger would
--     have changed nothing (no approved risk assessment yet, and the
--     review then due already within early_review_within);
--   * a review at which a version was made names it
--     (cpa_review.care_plan_version_id, as the reviews worker holds it).
-- It also corrects review_rows.sql's follow-up contacts: a carer is there
-- only where the person had one that day.
-- Not written (see README.md): the involvement review_rows.sql's held
-- reviews and approved assessments would have recorded, the plan version
-- of held reviews that made none, plans of closed episodes, copies of
-- superseded versions, and closed due items (as in review_rows.sql).
--
-- Proportions, of the run's open episodes (a person has one):
--   carers       55 % of the people have one carer, 10 % two; 5 % of the
--                links ended; 3 % of carers are young carers (under 18);
--   consent      80 % of links have a decision (latest: full 45 %,
--                limited 35 %, none 20 %); a fifth of those changed it once
--                (some withdrew it); a full or limited one is due for
--                review a year on, and most of those due were reviewed
--                (renewed): about 15 % are overdue;
--   carer's      offered for 45 % of current links: 45 % completed (two
--   assessment   in five through the local authority), 15 % declined,
--                10 % referred, 10 % accepted, 20 % offered (up to two
--                months ago: half of them past act_within);
--   care plans   every episode open over 14 days but 5 %, with 1 to 3
--                versions (at the start and at the last reviews held); a
--                copy to the person for 72 %, to a carer for half of those
--                whose carer may have one, to the GP for 15 %;
--   contacts     the last 12 months: 2 a month (enhanced, complex), 1
--                (standard), 0.5 (others); 8 % not attended; a carer there
--                at 15 % of those attended while the person has one;
--                about 1 % crisis contacts;
--   risk         2 % have an assessment submitted in the last 10 days,
--                awaiting a manager's approval.

-- The coordinator of an episode at p_at: the first one until the change.
CREATE FUNCTION pg_temp.gen_coord_at(p_first bigint, p_changed timestamptz,
	p_coord bigint, p_at timestamptz)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN p_first IS NOT NULL AND p_at < p_changed THEN p_first
		ELSE p_coord END
$$;

CREATE TEMPORARY VIEW care_vocab AS SELECT
	ARRAY['partner', 'parent', 'child', 'sibling', 'other_relative', 'friend',
		'neighbour', 'other'] AS relationship,
	ARRAY['No longer caring for them', 'Moved away from the area',
		'The relationship ended', 'The person asked for them to be removed']
		AS end_reason,
	-- Limited consents: the topics, comma-separated.
	ARRAY['appointments', 'care_plan', 'care_plan,appointments', 'crisis_plan',
		'crisis_plan,appointments', 'medication,appointments',
		'care_plan,crisis_plan', 'care_plan,crisis_plan,medication,appointments']
		AS topics,
	ARRAY['Agreed at a home visit with the carer there',
		'Talked through at clinic',
		'Decided on the phone with the person']
		AS consent_note,
	ARRAY['Respite two days a month agreed',
		'Carers'' centre support group and a carer''s break funded',
		'No eligible needs; information on local carers'' support given',
		'Direct payment agreed for a sitting service',
		'Emergency plan written with the carer']
		AS assessment_outcome,
	ARRAY['I want to get back to work part time',
		'I want to sleep better and feel less on edge',
		'To stay well and out of hospital this year',
		'Getting out of the house most days and seeing friends',
		'Keeping my flat and managing the bills',
		'Seeing my children more often']
		AS needs_goals,
	ARRAY['Low mood and anxiety; CBT weekly with the psychologist',
		'Psychosis, stable on medication; early warning signs known',
		'Bipolar disorder; mood diary; contact every fortnight',
		'Recurrent depression; behavioural activation plan',
		'Emotional regulation difficulties; DBT skills group']
		AS mental_health,
	ARRAY['Annual physical health check due with the GP',
		'Weight and bloods monitored (antipsychotic)',
		'Smoker; stop-smoking support offered',
		'No physical health concerns at present',
		'Type 2 diabetes managed by the GP']
		AS physical_health,
	ARRAY['Sertraline 100 mg daily', 'Aripiprazole 15 mg daily',
		'Olanzapine 10 mg at night', 'Lithium 800 mg at night; levels every 3 months',
		'Paliperidone depot every 4 weeks', 'Quetiapine 300 mg at night']
		AS medication,
	ARRAY['Support worker four hours a week (personal budget)',
		'No social care needs identified',
		'Referred to adult social care for an assessment',
		'Day centre on Tuesdays and Thursdays']
		AS social_care,
	ARRAY['Council tenancy, settled', 'Lives with family; would like a tenancy',
		'Supported accommodation; move-on plan', 'Rent arrears: housing support referral',
		'Owner occupier, no problems']
		AS housing,
	ARRAY['Employment support (IPS) worker involved', 'Volunteering two days a week',
		'College course from September', 'Not ready to think about work yet']
		AS employment_education,
	ARRAY['Universal Credit; PIP claim with the welfare rights adviser',
		'Debt advice booked', 'No money worries reported',
		'A family member manages benefits as appointee']
		AS finances,
	ARRAY['Help with shopping from a support worker', 'Family help with meals',
		'Independent with daily living', 'OT assessment of daily living skills']
		AS domestic_support,
	ARRAY['GP; consultant psychiatrist; care coordinator',
		'GP; psychologist; employment worker', 'GP; pharmacist; housing officer',
		'GP; psychiatrist; social worker; support worker']
		AS professionals,
	ARRAY['Crisis line 0800 000 0000 (24 hours); home treatment team',
		'Care coordinator in office hours; NHS 111 option 2 out of hours',
		'Family to call the team if warning signs seen; crisis house before admission']
		AS crisis_contingency,
	ARRAY['Happy with the plan', 'Wants more help with money',
		'Would like appointments later in the day', 'Not sure about the medication']
		AS user_comments,
	ARRAY['Reviewed at the CPA review', 'New goals agreed at the CPA review',
		'Medication changed; crisis plan updated at the review']
		AS change_reason,
	ARRAY['GP', 'Support worker', 'Psychiatrist', 'Advocate'] AS others,
	ARRAY['face_to_face', 'face_to_face', 'home_visit', 'home_visit', 'phone',
		'phone', 'video'] AS mode,
	ARRAY['Reviewed mood and sleep; plan unchanged',
		'Medication and side effects talked through',
		'Worked on the goals of the care plan', 'Helped with a benefits form',
		'Check-in; no concerns']
		AS contact_note,
	ARRAY['Did not attend; letter sent with a new appointment',
		'No answer at the door; card left']
		AS missed_note,
	ARRAY['Crisis: called in distress; seen the same day',
		'Crisis: seen urgently; home treatment team informed']
		AS crisis_note;

SELECT pg_get_serial_sequence('carer', 'id') AS gen_carer_seq,
	pg_get_serial_sequence('carer_link', 'id') AS gen_link_seq,
	pg_get_serial_sequence('carer_consent', 'id') AS gen_consent_seq,
	pg_get_serial_sequence('carer_assessment', 'id') AS gen_ca_seq,
	pg_get_serial_sequence('care_plan', 'id') AS gen_plan_seq,
	pg_get_serial_sequence('care_plan_version', 'id') AS gen_version_seq,
	pg_get_serial_sequence('care_plan_copy', 'id') AS gen_copy_seq \gset

-- ----------------------------------------------------------------- carers

-- One row per carer and link (each carer supports one person).  q is the
-- link's own number; relationships follow the person's age (an older
-- person's carer is a child rather than a parent, a young carer is a
-- child or, of a young person, a sibling).
CREATE TEMPORARY TABLE gen_link AS
WITH l AS (
	SELECT e.id AS episode_id, e.site_id, e.service_user_id, e.sd, e.started_at,
		e.first_coordinator_id, e.coordinator_changed_at, e.coordinator_id,
		g.n AS nth, pg_temp.gen_h(e.service_user_id, 200 + g.n) AS q
	FROM gen_ep e
	CROSS JOIN LATERAL (SELECT pg_temp.gen_h(e.service_user_id, 200) % 100 AS c) c
	CROSS JOIN LATERAL generate_series(1, CASE WHEN c.c < 55 THEN 1
		WHEN c.c < 65 THEN 2 ELSE 0 END) AS g (n)
	WHERE e.open
),
r AS (
	SELECT l.*, p.date_of_birth AS p_dob, p.family_name AS p_family,
		p.address AS p_address, p.postcode AS p_postcode, s.code AS site_code,
		l.q / 100 % 100 < 3 AS young,
		CASE WHEN l.q % 100 < 28 THEN 1 WHEN l.q % 100 < 50 THEN 2
			WHEN l.q % 100 < 62 THEN 3 WHEN l.q % 100 < 72 THEN 4
			WHEN l.q % 100 < 78 THEN 5 WHEN l.q % 100 < 90 THEN 6
			WHEN l.q % 100 < 94 THEN 7 ELSE 8 END AS drawn
	FROM l
	JOIN gen_person p ON p.id = l.service_user_id
	JOIN site s ON s.id = l.site_id
),
k AS (
	SELECT r.*, v.relationship[CASE
		WHEN r.young AND r.p_dob < date '1990-01-01' THEN 3
		WHEN r.young THEN 4
		WHEN r.drawn = 3 AND r.p_dob > date '1975-01-01' THEN 2
		WHEN r.drawn = 2 AND r.p_dob < date '1960-01-01' THEN 3
		ELSE r.drawn END] AS relationship,
		r.sd + (r.q / 10000 % (least(current_date - r.sd, 120) + 1))::integer
			AS started_on
	FROM r CROSS JOIN care_vocab v
),
d AS (
	SELECT k.*,
		k.young OR k.q / 7 % 100 < CASE k.relationship WHEN 'partner' THEN 85
			WHEN 'parent' THEN 50 WHEN 'child' THEN 35 WHEN 'sibling' THEN 15
			WHEN 'other_relative' THEN 10 ELSE 3 END AS lives_with,
		k.young OR k.relationship IN ('parent', 'child', 'sibling')
			OR (k.relationship IN ('partner', 'other_relative') AND k.q / 11 % 10 < 6)
			AS same_family,
		CASE WHEN k.q / 13 % 100 < 5 AND k.started_on < current_date THEN
			k.started_on + 1 + (k.q / 17 % (current_date - k.started_on))::integer
		END AS ended_on,
		CASE
			WHEN k.young THEN
				(current_date - interval '12 years')::date - (k.q / 19 % 2000)::integer
			WHEN k.q / 19 % 10 < 3 THEN NULL
			ELSE least((current_date - interval '18 years')::date - 1,
				CASE k.relationship
					WHEN 'partner' THEN k.p_dob + (k.q / 23 % 3651)::integer - 1825
					WHEN 'parent' THEN k.p_dob - 7300 - (k.q / 23 % 5479)::integer
					WHEN 'child' THEN k.p_dob + 7300 + (k.q / 23 % 5479)::integer
					WHEN 'sibling' THEN k.p_dob + (k.q / 23 % 4383)::integer - 2191
					ELSE current_date - 9125 - (k.q / 23 % 20089)::integer
				END)
		END AS date_of_birth,
		least(now(), greatest(k.started_at + interval '1 hour',
			(k.started_on + time '11:00')::timestamptz)) AS created_at
	FROM k
)
SELECT nextval(:'gen_link_seq') AS id, nextval(:'gen_carer_seq') AS carer_id, d.*,
	pg_temp.gen_coord_at(d.first_coordinator_id, d.coordinator_changed_at,
		d.coordinator_id, d.created_at) AS created_by,
	v.given[1 + d.q / 29 % cardinality(v.given)] AS given_name,
	CASE WHEN d.same_family THEN d.p_family
		ELSE v.family[1 + d.q / 31 % cardinality(v.family)] END AS family_name,
	CASE WHEN d.ended_on IS NOT NULL
		THEN c.end_reason[1 + d.q / 37 % cardinality(c.end_reason)] END AS end_reason
FROM d CROSS JOIN intake_vocab v CROSS JOIN care_vocab c;
CREATE INDEX gen_link_person_idx ON gen_link (service_user_id);
ANALYZE gen_link;

INSERT INTO carer (id, site_id, given_name, family_name, date_of_birth, young_carer,
	phone, email, address, postcode, preferred_contact, created_by, created_at,
	updated_at, version)
OVERRIDING SYSTEM VALUE
SELECT l.carer_id, l.site_id, l.given_name, l.family_name, l.date_of_birth, l.young,
	x.phone, x.email,
	CASE WHEN l.lives_with THEN l.p_address
		WHEN l.q / 41 % 10 < 6 THEN (1 + l.q / 43 % 180) || ' '
			|| v.street[1 + l.q / 47 % cardinality(v.street)] || ', '
			|| CASE l.site_code WHEN 'north' THEN 'Northfield' ELSE 'Southcliffe' END
	END,
	CASE WHEN l.lives_with THEN l.p_postcode
		WHEN l.q / 41 % 10 < 6 THEN CASE l.site_code WHEN 'north' THEN 'NX' ELSE 'SX' END
			|| (1 + l.q / 53 % 9) || ' ' || (l.q / 59 % 10)
			|| substr('ABDEFGHJLNPQRSTUWXYZ', 1 + (l.q / 61 % 20)::integer, 1)
			|| substr('ABDEFGHJLNPQRSTUWXYZ', 1 + (l.q / 67 % 20)::integer, 1)
	END,
	CASE
		WHEN x.phone IS NULL THEN 'post'
		WHEN l.q / 71 % 10 < 5 THEN 'phone'
		WHEN l.q / 71 % 10 < 7 THEN 'text'
		WHEN l.q / 71 % 10 < 8 AND x.email IS NOT NULL THEN 'email'
		WHEN l.q / 71 % 10 < 9 THEN 'post'
		ELSE 'in_person'
	END,
	l.created_by, l.created_at, l.created_at, 1
FROM gen_link l
CROSS JOIN intake_vocab v
CROSS JOIN LATERAL (SELECT
	CASE WHEN l.q / 73 % 100 < 88
		THEN '07700 900' || lpad((l.q / 79 % 1000)::text, 3, '0') END AS phone,
	CASE WHEN NOT l.young AND l.q / 83 % 100 < 35 THEN
		translate(lower(l.given_name || '.' || l.family_name), 'áéíóúśñ'' ', 'aeiousn')
			|| '.' || l.carer_id || '@example.com' END AS email) x;

-- ---------------------------------------------------------------- consent

-- 80 % of links have a decision.  A fifth of those (when the link is a
-- month old or more) changed it once: refused or limited and later
-- widened, or given and later narrowed or withdrawn.  Most of the others
-- whose first decision was due for review over two months ago (when the
-- link lasted that long) had it reviewed and renewed as it was, in the
-- last 400 days; the rest are overdue.  ord 2 is the later decision.
CREATE TEMPORARY TABLE gen_consent AS
WITH l AS (
	SELECT l.id AS link_id, l.site_id, l.service_user_id, l.started_on, l.created_at,
		l.first_coordinator_id, l.coordinator_changed_at, l.coordinator_id,
		coalesce(l.ended_on, current_date) AS last_on,
		pg_temp.gen_h(l.id, 220) AS q, pg_temp.gen_h(l.id, 221) AS r
	FROM gen_link l
	WHERE pg_temp.gen_h(l.id, 220) % 100 < 80
),
d AS (
	SELECT l.*,
		l.started_on + (l.q / 100 % (least(l.last_on - l.started_on, 14) + 1))::integer
			AS first_on,
		CASE WHEN l.q / 1000 % 100 < 45 THEN 'full'
			WHEN l.q / 1000 % 100 < 80 THEN 'limited' ELSE 'none' END AS scope
	FROM l
),
h AS (
	SELECT d.*, CASE
		WHEN d.r % 100 < 20 AND d.last_on - d.first_on >= 30 THEN 'changed'
		WHEN d.r % 100 < 92 AND d.scope <> 'none'
			AND (d.first_on + s.carer_consent_review)::date < d.last_on - 60 THEN 'renewed'
		END AS history,
		CASE d.scope
			WHEN 'full' THEN CASE WHEN d.r / 100 % 2 = 0 THEN 'none' ELSE 'limited' END
			WHEN 'limited' THEN CASE WHEN d.r / 100 % 5 < 3 THEN 'none' ELSE 'full' END
			ELSE CASE WHEN d.r / 100 % 2 = 0 THEN 'full' ELSE 'limited' END
		END AS changed_from
	FROM d JOIN site s ON s.id = d.site_id
),
x AS (
	SELECT h.*, k.ord, k.given_on, k.scope AS dscope, k.withdrawal, k.latest
	FROM h
	CROSS JOIN LATERAL (VALUES
		(1, h.first_on, CASE WHEN h.history = 'changed' THEN h.changed_from
			ELSE h.scope END, false, h.history IS NULL),
		(2, CASE WHEN h.history = 'renewed'
				THEN greatest(h.first_on + 30, h.last_on - (h.r / 1000 % 400)::integer)
				ELSE h.first_on + 30 + (h.r / 1000
					% greatest(1, h.last_on - h.first_on - 29))::integer END,
			h.scope, h.history = 'changed' AND h.scope = 'none', true)
	) AS k (ord, given_on, scope, withdrawal, latest)
	WHERE k.ord = 1 OR h.history IS NOT NULL
)
SELECT nextval(:'gen_consent_seq') AS id, x.link_id, x.site_id, x.service_user_id,
	x.ord, x.latest, x.dscope AS scope,
	CASE WHEN x.dscope = 'limited' THEN string_to_array(
		v.topics[1 + (x.q / 100000 + CASE WHEN x.history = 'changed' THEN x.ord ELSE 0 END)
			% cardinality(v.topics)], ',')
		ELSE '{}'::text[] END AS topics,
	x.given_on,
	CASE WHEN x.dscope <> 'none' THEN (x.given_on + s.carer_consent_review)::date END
		AS review_on,
	x.withdrawal,
	CASE WHEN x.withdrawal THEN 'Withdrew their agreement; to be revisited at the next review'
		WHEN x.dscope = 'none' THEN 'Does not want information shared at present'
		WHEN x.history = 'renewed' AND x.ord = 2 THEN 'Reviewed with the person; no change'
		WHEN x.q / 10000000 % 10 < 6 THEN v.consent_note[1 + (x.q / 10000000 + x.ord) % 3]
	END AS note,
	y.recorded_at,
	pg_temp.gen_coord_at(x.first_coordinator_id, x.coordinator_changed_at,
		x.coordinator_id, y.recorded_at) AS recorded_by
FROM x
JOIN site s ON s.id = x.site_id
CROSS JOIN care_vocab v
CROSS JOIN LATERAL (SELECT least(now(), greatest(x.created_at + interval '10 minutes',
	(x.given_on + time '14:00')::timestamptz)) AS recorded_at) y
ORDER BY x.link_id, x.ord;
ANALYZE gen_consent;

INSERT INTO carer_link (id, site_id, carer_id, service_user_id, relationship,
	lives_with, started_on, ended_on, end_reason, current_consent_id, created_by,
	created_at, version)
OVERRIDING SYSTEM VALUE
SELECT l.id, l.site_id, l.carer_id, l.service_user_id, l.relationship, l.lives_with,
	l.started_on, l.ended_on, l.end_reason, c.id, l.created_by, l.created_at,
	1 + coalesce(c.ord, 0) + (l.ended_on IS NOT NULL)::integer
FROM gen_link l
LEFT JOIN gen_consent c ON c.link_id = l.id AND c.latest;

INSERT INTO carer_consent (id, site_id, carer_link_id, scope, topics, given_on,
	review_on, withdrawal, note, recorded_by, recorded_at)
OVERRIDING SYSTEM VALUE
SELECT id, site_id, link_id, scope, topics, given_on, review_on, withdrawal, note,
	recorded_by, recorded_at
FROM gen_consent;

-- ----------------------------------------------------- carer's assessments

-- Offered for 45 % of current links.  Each date follows the one before,
-- none after today; an offer still waiting was made in the last two
-- months, an accepted one in the last three.
CREATE TEMPORARY TABLE gen_ca AS
WITH a AS (
	SELECT l.*, pg_temp.gen_h(l.id, 231) AS r,
		CASE WHEN pg_temp.gen_h(l.id, 232) % 100 < 45 THEN 'completed'
			WHEN pg_temp.gen_h(l.id, 232) % 100 < 60 THEN 'declined'
			WHEN pg_temp.gen_h(l.id, 232) % 100 < 70 THEN 'referred'
			WHEN pg_temp.gen_h(l.id, 232) % 100 < 80 THEN 'accepted'
			ELSE 'offered' END AS status
	FROM gen_link l
	WHERE l.ended_on IS NULL AND pg_temp.gen_h(l.id, 230) % 100 < 45
),
o AS (
	SELECT a.*, CASE a.status
		WHEN 'offered' THEN greatest(a.started_on, current_date - (a.r % 61)::integer)
		WHEN 'accepted' THEN greatest(a.started_on, current_date - 7 - (a.r % 84)::integer)
		ELSE a.started_on + floor((current_date - a.started_on) * 0.6
			* pg_temp.gen_u(a.id, 233))::integer
	END AS offered_on
	FROM a
),
p AS (
	SELECT o.*, CASE WHEN o.status <> 'offered' THEN
		least(current_date, o.offered_on + (o.r / 100 % 15)::integer) END AS responded_on,
		o.status = 'referred' OR (o.status = 'completed' AND o.r / 1000 % 10 < 4) AS via_la
	FROM o
),
f AS (
	SELECT p.*, CASE WHEN p.via_la THEN
		least(current_date, p.responded_on + 1 + (p.r / 10000 % 14)::integer) END AS referred_on
	FROM p
),
c AS (
	SELECT f.*, CASE WHEN f.status = 'completed' THEN
		least(current_date, coalesce(f.referred_on, f.responded_on) + 7
			+ (f.r / 100000 % 70)::integer) END AS completed_on
	FROM f
)
SELECT nextval(:'gen_ca_seq') AS ca_id, c.*,
	(c.offered_on + time '12:00')::timestamptz AS offered_at,
	least(now(), (greatest(c.offered_on, c.responded_on, c.referred_on, c.completed_on)
		+ time '16:00')::timestamptz) AS updated_at
FROM c;
ANALYZE gen_ca;

INSERT INTO carer_assessment (id, site_id, carer_link_id, carer_id, service_user_id,
	status, offered_on, offered_by, responded_on, referred_on, la_reference,
	completed_on, outcome, note, updated_by, updated_at, version)
OVERRIDING SYSTEM VALUE
SELECT a.ca_id, a.site_id, a.id, a.carer_id, a.service_user_id, a.status, a.offered_on,
	pg_temp.gen_coord_at(a.first_coordinator_id, a.coordinator_changed_at,
		a.coordinator_id, a.offered_at),
	a.responded_on, a.referred_on,
	CASE WHEN a.referred_on IS NOT NULL THEN 'LA/' || to_char(a.referred_on, 'YYYY')
		|| '/' || lpad((a.r / 1000000 % 100000)::text, 5, '0') END,
	a.completed_on,
	CASE WHEN a.completed_on IS NOT NULL
		THEN v.assessment_outcome[1 + a.r / 7 % cardinality(v.assessment_outcome)] END,
	CASE WHEN a.r / 11 % 10 < 3 THEN 'Offered at a home visit' END,
	pg_temp.gen_coord_at(a.first_coordinator_id, a.coordinator_changed_at,
		a.coordinator_id, a.updated_at),
	a.updated_at,
	1 + (a.responded_on IS NOT NULL)::integer + (a.referred_on IS NOT NULL)::integer
		+ (a.completed_on IS NOT NULL)::integer
FROM gen_ca a CROSS JOIN care_vocab v;

-- ------------------------------------------------------------- care plans

-- Every episode open over 14 days but 5 %.  nv versions: the first at the
-- start, the others at the last nv - 1 reviews held.
CREATE TEMPORARY TABLE gen_cp AS
SELECT nextval(:'gen_plan_seq') AS id, e.id AS episode_id, e.site_id,
	e.service_user_id, e.started_at, e.first_coordinator_id, e.coordinator_changed_at,
	e.coordinator_id, coalesce(n.last_i, 0) AS last_i,
	1 + least(coalesce(n.held, 0), CASE WHEN e.h / 3 % 100 < 45 THEN 0
		WHEN e.h / 3 % 100 < 80 THEN 1 ELSE 2 END) AS nv
FROM gen_ep e
LEFT JOIN (SELECT episode_id, count(*) AS held, max(i) AS last_i FROM gen_held
	GROUP BY episode_id) n ON n.episode_id = e.id
WHERE e.open AND e.started_at < now() - interval '14 days'
	AND pg_temp.gen_h(e.id, 300) % 100 >= 5;
ANALYZE gen_cp;

CREATE TEMPORARY TABLE gen_cpv AS
WITH v AS (
	SELECT p.id AS plan_id, p.site_id, p.service_user_id, p.nv, 1 AS number,
		p.started_at + pg_temp.gen_u(p.id, 301) * interval '10 days' AS created_at,
		NULL::bigint AS review_id, p.first_coordinator_id, p.coordinator_changed_at,
		p.coordinator_id
	FROM gen_cp p
	UNION ALL
	SELECT p.id, p.site_id, p.service_user_id, p.nv, (p.nv - (p.last_i - h.i))::integer,
		(h.held_on + time '15:00')::timestamptz, r.id, p.first_coordinator_id,
		p.coordinator_changed_at, p.coordinator_id
	FROM gen_cp p
	JOIN gen_held h ON h.episode_id = p.episode_id AND h.i > p.last_i - (p.nv - 1)
	JOIN cpa_review r ON r.episode_id = h.episode_id AND r.held_on = h.held_on
		AND r.status = 'held'
	WHERE p.nv > 1
),
n AS MATERIALIZED (
	SELECT nextval(:'gen_version_seq') AS id, v.*, v.number = v.nv AS current,
		pg_temp.gen_coord_at(v.first_coordinator_id, v.coordinator_changed_at,
			v.coordinator_id, v.created_at) AS created_by,
		k.links, k.link_id
	FROM v
	CROSS JOIN LATERAL (SELECT count(*) AS links, min(l.id) AS link_id FROM gen_link l
		WHERE l.service_user_id = v.service_user_id
			AND l.started_on <= v.created_at::date
			AND (l.ended_on IS NULL OR l.ended_on > v.created_at::date)) k
	ORDER BY v.plan_id, v.number
)
SELECT n.*, n.links > 0 AND pg_temp.gen_h(n.id, 311) % 100 < 50 AS took_part_carer
FROM n;
ANALYZE gen_cpv;

-- Each version starts as a copy of the one before (the handler's
-- GIVEN_OR_CURRENT), so a section keeps its text unless the version
-- changed it: the choices come from the plan's number, a few from the
-- version's.
INSERT INTO care_plan_version (id, site_id, care_plan_id, number, needs_goals,
	mental_health, physical_health, medication, medication_info_given, social_care,
	housing, employment_education, finances, domestic_support,
	professionals_involved, crisis_contingency, early_warning_signs, took_part_user,
	took_part_carer, took_part_others, user_agreed, user_comments, change_reason,
	review_id, created_by, created_at)
OVERRIDING SYSTEM VALUE
SELECT g.id, g.site_id, g.plan_id, g.number,
	c.needs_goals[1 + (x.p + g.number) % cardinality(c.needs_goals)],
	c.mental_health[1 + x.p / 7 % cardinality(c.mental_health)],
	c.physical_health[1 + (x.p / 11 + g.number) % cardinality(c.physical_health)],
	c.medication[1 + (x.p / 13 + x.q / 1000 % 2 * g.number) % cardinality(c.medication)],
	x.q % 100 < 88,
	c.social_care[1 + x.p / 17 % cardinality(c.social_care)],
	c.housing[1 + x.p / 19 % cardinality(c.housing)],
	CASE WHEN x.p / 23 % 10 < 7
		THEN c.employment_education[1 + x.p / 29 % cardinality(c.employment_education)] END,
	CASE WHEN x.p / 31 % 10 < 6
		THEN c.finances[1 + x.p / 37 % cardinality(c.finances)] END,
	CASE WHEN x.p / 41 % 10 < 6
		THEN c.domestic_support[1 + x.p / 43 % cardinality(c.domestic_support)] END,
	c.professionals[1 + x.p / 47 % cardinality(c.professionals)],
	c.crisis_contingency[1 + x.p / 53 % cardinality(c.crisis_contingency)],
	rv.warning_signs[1 + x.p / 59 % cardinality(rv.warning_signs)],
	x.q / 100 % 100 < 90, g.took_part_carer,
	CASE WHEN x.q / 10000 % 10 < 3 THEN c.others[1 + x.q / 100000 % cardinality(c.others)] END,
	CASE WHEN x.q / 1000000 % 100 < 82 THEN true
		WHEN x.q / 1000000 % 100 < 90 THEN false END,
	CASE WHEN x.q / 7 % 4 = 0 THEN c.user_comments[1 + x.q / 3 % cardinality(c.user_comments)] END,
	CASE WHEN g.number > 1 THEN c.change_reason[1 + x.q / 5 % cardinality(c.change_reason)] END,
	g.review_id, g.created_by, g.created_at
FROM gen_cpv g
CROSS JOIN care_vocab c
CROSS JOIN review_vocab rv
CROSS JOIN LATERAL (SELECT pg_temp.gen_h(g.plan_id, 302) AS p,
	pg_temp.gen_h(g.id, 310) AS q) x;

INSERT INTO care_plan (id, site_id, service_user_id, episode_id, current_version_id,
	created_at, version)
OVERRIDING SYSTEM VALUE
SELECT p.id, p.site_id, p.service_user_id, p.episode_id, cur.id, first.created_at, p.nv
FROM gen_cp p
JOIN gen_cpv cur ON cur.plan_id = p.id AND cur.current
JOIN gen_cpv first ON first.plan_id = p.id AND first.number = 1;

-- A review that made a version names it (the handler holds the review
-- with the new version as its plan).
UPDATE cpa_review r SET care_plan_version_id = g.id
FROM gen_cpv g
WHERE g.review_id IS NOT NULL AND r.id = g.review_id;

-- Copies of the version in force: to the person (72 %), to the GP
-- (15 %), and to a carer for half of the plans whose person has a current
-- carer allowed one (the lowest such link), once both the version and the
-- consent were there.
CREATE TEMPORARY TABLE gen_copy AS
WITH cur AS (
	SELECT g.*, pg_temp.gen_h(g.id, 320) AS q
	FROM gen_cpv g WHERE g.current
),
allowed AS (
	SELECT DISTINCT ON (l.service_user_id) l.service_user_id, l.id AS link_id,
		l.given_name || ' ' || l.family_name AS carer_name, l.created_at AS linked_at,
		c.given_on AS consent_on, c.recorded_at AS consent_at
	FROM gen_link l
	JOIN gen_consent c ON c.link_id = l.id AND c.latest
	WHERE l.ended_on IS NULL AND (c.scope = 'full'
		OR (c.scope = 'limited' AND c.topics && ARRAY['care_plan', 'crisis_plan', 'medication']))
	ORDER BY l.service_user_id, l.id
),
k AS (
	SELECT cur.id AS version_id, cur.site_id, cur.service_user_id, 'service_user' AS recipient,
		NULL::text AS recipient_name, NULL::bigint AS carer_link_id,
		least(current_date, cur.created_at::date + (cur.q % 8)::integer) AS given_on,
		cur.created_at AS after_at, cur.q / 10 % 20 AS m,
		cur.first_coordinator_id, cur.coordinator_changed_at, cur.coordinator_id
	FROM cur WHERE cur.q / 1000 % 100 < 72
	UNION ALL
	SELECT cur.id, cur.site_id, cur.service_user_id, 'gp', p.gp_practice, NULL,
		least(current_date, cur.created_at::date + (cur.q / 7 % 15)::integer),
		cur.created_at, 12 + cur.q / 10 % 8, cur.first_coordinator_id,
		cur.coordinator_changed_at, cur.coordinator_id
	FROM cur JOIN gen_person p ON p.id = cur.service_user_id
	WHERE cur.q / 100000 % 100 < 15
	UNION ALL
	SELECT cur.id, cur.site_id, cur.service_user_id, 'carer', a.carer_name, a.link_id,
		least(current_date, greatest(cur.created_at::date, a.consent_on)
			+ (cur.q / 11 % 10)::integer),
		greatest(cur.created_at, a.consent_at, a.linked_at), cur.q / 13 % 20,
		cur.first_coordinator_id, cur.coordinator_changed_at, cur.coordinator_id
	FROM cur JOIN allowed a ON a.service_user_id = cur.service_user_id
	WHERE cur.q / 10000000 % 100 < 50
)
SELECT nextval(:'gen_copy_seq') AS id, k.*, y.recorded_at,
	pg_temp.gen_coord_at(k.first_coordinator_id, k.coordinator_changed_at,
		k.coordinator_id, y.recorded_at) AS recorded_by
FROM k
CROSS JOIN LATERAL (SELECT least(now(), greatest(k.after_at + interval '20 minutes',
	(k.given_on + time '16:00')::timestamptz)) AS recorded_at) y;

INSERT INTO care_plan_copy (id, site_id, care_plan_version_id, recipient, recipient_name,
	given_on, method, recorded_by, recorded_at, carer_link_id)
OVERRIDING SYSTEM VALUE
SELECT c.id, c.site_id, c.version_id, c.recipient, c.recipient_name, c.given_on,
	CASE WHEN c.m < 10 THEN 'in_person' WHEN c.m < 15 THEN 'post'
		WHEN c.m < 18 THEN 'email' ELSE 'secure_message' END,
	c.recorded_by, c.recorded_at, c.carer_link_id
FROM gen_copy c;

-- ------------------------------------------ risk assessments to approve

-- 2 % of open episodes: submitted in the last 10 days by the coordinator,
-- needing a manager (the episode is enhanced or complex, or the risk is
-- high), besides any approved one.
CREATE TEMPORARY TABLE gen_sub AS
WITH s AS (
	SELECT e.*, x.submitted_at,
		greatest(e.started_at + interval '1 hour',
			x.submitted_at - pg_temp.gen_u(e.id, 502) * interval '3 days') AS created_at,
		CASE WHEN e.level NOT IN ('enhanced', 'complex') THEN 3
			WHEN e.h / 7 % 100 < 15 THEN 3 WHEN e.h / 7 % 100 < 55 THEN 2
			WHEN e.h / 7 % 100 < 90 THEN 1 ELSE 0 END AS o
	FROM gen_ep e
	CROSS JOIN LATERAL (SELECT greatest(e.started_at + interval '2 hours',
		now() - pg_temp.gen_u(e.id, 501) * interval '10 days') AS submitted_at) x
	WHERE e.open AND pg_temp.gen_h(e.id, 500) % 1000 < 20
		AND e.started_at < now() - interval '3 hours'
),
n AS MATERIALIZED (
	SELECT nextval(:'gen_risk_seq') AS id, s.id AS episode_id, s.site_id,
		s.service_user_id, s.h, s.o, s.submitted_at, s.created_at,
		pg_temp.gen_coord_at(s.first_coordinator_id, s.coordinator_changed_at,
			s.coordinator_id, s.created_at) AS author_id,
		k.links, k.link_id
	FROM s
	CROSS JOIN LATERAL (SELECT count(*) AS links, min(l.id) AS link_id FROM gen_link l
		WHERE l.service_user_id = s.service_user_id
			AND l.started_on <= s.submitted_at::date
			AND (l.ended_on IS NULL OR l.ended_on > s.submitted_at::date)) k
)
SELECT n.*, n.links > 0 AND n.h / 13 % 100 < 55 AS with_carer
FROM n;

INSERT INTO risk_assessment (id, site_id, service_user_id, episode_id, status,
	overall_level, warning_signs, what_helps, crisis_numbers, discussed_with_user,
	not_discussed_user_reason, discussed_with_carer, not_discussed_carer_reason,
	needs_manager_approval, author_id, created_at, updated_at, submitted_at, version)
OVERRIDING SYSTEM VALUE
SELECT g.id, g.site_id, g.service_user_id, g.episode_id, 'submitted', v.level[1 + g.o],
	v.warning_signs[1 + g.h / 3 % cardinality(v.warning_signs)],
	v.what_helps[1 + g.h / 5 % cardinality(v.what_helps)],
	v.crisis_numbers[1],
	g.h / 11 % 100 < 85,
	CASE WHEN g.h / 11 % 100 >= 85 THEN v.not_user[1 + g.h / 17 % 2] END,
	g.with_carer,
	CASE WHEN NOT g.with_carer THEN v.not_carer[CASE WHEN g.links = 0 THEN 1 ELSE 2 END] END,
	true, g.author_id, g.created_at, g.submitted_at, g.submitted_at, 3
FROM gen_sub g CROSS JOIN review_vocab v;

INSERT INTO risk_domain (assessment_id, site_id, domain, level)
SELECT g.id, g.site_id, v.domain[d.n],
	v.level[1 + CASE WHEN d.n = 1 + g.h / 19 % 6 THEN g.o
		ELSE least(g.o, pg_temp.gen_h(g.id, 100 + d.n) % 4) END]
FROM gen_sub g
CROSS JOIN review_vocab v
CROSS JOIN generate_series(1, 6) AS d (n);

INSERT INTO risk_event (site_id, assessment_id, kind, at, by_staff_id)
SELECT g.site_id, g.id, ev.kind, ev.at, g.author_id
FROM gen_sub g
CROSS JOIN LATERAL (VALUES
	('created', g.created_at),
	('saved', g.created_at + (g.submitted_at - g.created_at) / 2),
	('submitted', g.submitted_at)
) AS ev (kind, at);

-- ------------------------------------------------------------- contacts

-- review_rows.sql drew a carer at a third of the follow-up contacts,
-- carer or not: keep one there only where the person had a carer that
-- day, named, with the involvement 010's trigger records.
WITH u AS (
	UPDATE contact c SET carer_present = x.link_id IS NOT NULL, carer_link_id = x.link_id
	FROM gen_fu f
	CROSS JOIN LATERAL (SELECT min(l.id) AS link_id FROM gen_link l
		WHERE l.service_user_id = f.service_user_id AND l.started_on <= f.met_at::date
			AND (l.ended_on IS NULL OR l.ended_on > f.met_at::date)) x
	WHERE c.id = f.contact_id AND c.carer_present
	RETURNING c.id, c.site_id, c.service_user_id, c.carer_link_id, c.at, c.recorded_by,
		c.recorded_at
)
INSERT INTO carer_involvement (site_id, service_user_id, carer_link_id, kind,
	occurred_on, source, source_id, recorded_by, recorded_at)
SELECT u.site_id, u.service_user_id, u.carer_link_id, 'contact', u.at::date, 'contact',
	u.id, u.recorded_by, u.recorded_at
FROM u
WHERE u.carer_link_id IS NOT NULL;

-- Routine contacts of the last 12 months, evenly spread with a little
-- jitter, on weekdays between 09:00 and 17:00 (one drawn at a weekend
-- moves to a weekday of that week), by the coordinator of the day.
CREATE TEMPORARY TABLE gen_block AS
SELECT a.episode_id, a.admitted_at AS from_at,
	coalesce(f.met_at + interval '3 hours', 'infinity') AS to_at
FROM gen_adm a LEFT JOIN gen_fu f ON f.admission_id = a.id;
ANALYZE gen_block;

CREATE TEMPORARY TABLE gen_con AS
WITH e AS (
	SELECT e.id, e.site_id, e.service_user_id, e.first_coordinator_id,
		e.coordinator_changed_at, e.coordinator_id,
		greatest(e.started_at, now() - interval '12 months') AS ws,
		CASE WHEN e.level IN ('enhanced', 'complex') THEN 2.0
			WHEN e.level = 'standard' THEN 1.0 ELSE 0.5 END AS per_month
	FROM gen_ep e WHERE e.open
),
slot AS (
	SELECT e.*, pg_temp.gen_h(e.id, 2000 + g.i) AS q,
		(e.ws + (now() - e.ws) * ((g.i - pg_temp.gen_u(e.id, 3000 + g.i)) / n.n))::date
			AS around
	FROM e
	CROSS JOIN LATERAL (SELECT floor(e.per_month * extract(epoch FROM now() - e.ws)
		/ (86400 * 30.44) + pg_temp.gen_u(e.id, 400))::integer AS n) n
	CROSS JOIN LATERAL generate_series(1, n.n) AS g (i)
),
c AS MATERIALIZED (
	SELECT s.id AS episode_id, s.site_id, s.service_user_id, s.first_coordinator_id,
		s.coordinator_changed_at, s.coordinator_id, s.q, x.at, x.duration, x.attended
	FROM slot s
	CROSS JOIN LATERAL (SELECT
		((s.around + CASE WHEN extract(isodow FROM s.around) >= 6
			THEN (1 + s.q / 1000003 % 5 - extract(isodow FROM s.around))::integer
			ELSE 0 END) + time '09:00')::timestamptz + (s.q % 480) * interval '1 minute'
			AS at,
		15 + (s.q / 480 % 76)::integer AS duration,
		s.q / 36480 % 100 >= 8 AS attended) x
	WHERE x.at >= s.ws AND x.at <= now() - interval '2 hours'
		AND NOT EXISTS (SELECT 1 FROM gen_block b WHERE b.episode_id = s.id
			AND x.at >= b.from_at AND x.at < b.to_at)
)
SELECT nextval(:'gen_contact_seq') AS id, c.episode_id, c.site_id, c.service_user_id,
	c.q, c.at, c.duration, c.attended,
	pg_temp.gen_coord_at(c.first_coordinator_id, c.coordinator_changed_at,
		c.coordinator_id, c.at) AS staff_id,
	least(now(), c.at + (c.duration + c.q / 100000 % 180) * interval '1 minute')
		AS recorded_at
FROM c;
ANALYZE gen_con;

-- A carer there at 15 % of the attended contacts while the person had
-- one (the first of them, named).
CREATE TEMPORARY TABLE gen_con_carer AS
SELECT c.id, min(l.id) AS link_id
FROM gen_con c
JOIN gen_link l ON l.service_user_id = c.service_user_id AND l.started_on <= c.at::date
	AND (l.ended_on IS NULL OR l.ended_on > c.at::date)
WHERE c.attended AND c.q / 3648000 % 100 < 15
GROUP BY c.id;
ANALYZE gen_con_carer;

-- Crisis contacts: of 5 % of the attended ones, those 005's trigger,
-- firing when the contact was recorded, would have left alone.
CREATE INDEX gen_risk_episode_idx ON gen_risk (episode_id);
CREATE TEMPORARY TABLE gen_con_crisis AS
SELECT c.id
FROM gen_con c
JOIN gen_ep e ON e.id = c.episode_id
WHERE c.attended AND c.q / 7 % 100 < 5
	AND NOT EXISTS (SELECT 1 FROM gen_risk g WHERE g.episode_id = c.episode_id
		AND g.approved_at <= c.recorded_at)
	AND coalesce((SELECT r.due_reason IN ('first', 'policy')
			AND r.due_date <= (c.recorded_at::date + e.early_review_within)::date
		FROM cpa_review r
		WHERE r.episode_id = c.episode_id AND (r.status = 'due'
			OR (r.status = 'held' AND r.recorded_at > c.recorded_at))
		ORDER BY r.status = 'held' DESC, r.held_on
		LIMIT 1), false);
ANALYZE gen_con_crisis;

INSERT INTO contact (id, site_id, service_user_id, episode_id, at, duration_minutes,
	staff_id, mode, attended, carer_present, crisis, note, recorded_by, recorded_at,
	carer_link_id)
OVERRIDING SYSTEM VALUE
SELECT c.id, c.site_id, c.service_user_id, c.episode_id, c.at, c.duration, c.staff_id,
	v.mode[1 + c.q / 11 % cardinality(v.mode)], c.attended, k.link_id IS NOT NULL,
	x.id IS NOT NULL,
	CASE WHEN x.id IS NOT NULL THEN v.crisis_note[1 + c.q / 13 % cardinality(v.crisis_note)]
		WHEN NOT c.attended THEN v.missed_note[1 + c.q / 13 % cardinality(v.missed_note)]
		WHEN c.q / 17 % 10 < 7
			THEN v.contact_note[1 + c.q / 19 % cardinality(v.contact_note)]
	END,
	c.staff_id, c.recorded_at, k.link_id
FROM gen_con c
LEFT JOIN gen_con_carer k ON k.id = c.id
LEFT JOIN gen_con_crisis x ON x.id = c.id
CROSS JOIN care_vocab v;

-- ------------------------------------------------------------ involvement

-- What 010's triggers record (for the follow-up contacts: above):
-- contacts with a carer there, versions written with a carer, copies given
-- to one, assessments submitted after talking risk through with one.
INSERT INTO carer_involvement (site_id, service_user_id, carer_link_id, kind,
	occurred_on, source, source_id, recorded_by, recorded_at)
SELECT c.site_id, c.service_user_id, k.link_id, 'contact', c.at::date, 'contact', c.id,
	c.staff_id, c.recorded_at
FROM gen_con c JOIN gen_con_carer k ON k.id = c.id
UNION ALL
SELECT g.site_id, g.service_user_id, CASE WHEN g.links = 1 THEN g.link_id END,
	'care_plan_writing', g.created_at::date, 'care_plan_version', g.id, g.created_by,
	g.created_at
FROM gen_cpv g WHERE g.took_part_carer
UNION ALL
SELECT c.site_id, c.service_user_id, c.carer_link_id, 'care_plan_copy', c.given_on,
	'care_plan_copy', c.id, c.recorded_by, c.recorded_at
FROM gen_copy c WHERE c.recipient = 'carer'
UNION ALL
SELECT g.site_id, g.service_user_id, CASE WHEN g.links = 1 THEN g.link_id END,
	'risk_discussion', g.submitted_at::date, 'risk_assessment', g.id, g.author_id,
	g.submitted_at
FROM gen_sub g WHERE g.with_carer;

-- ------------------------------------------------------------ due items

-- Each assessment offered or accepted, for the person's open episode.
INSERT INTO due_item (site_id, kind, source_id, service_user_id, episode_id, due_at,
	steps_done, next_step_at)
SELECT x.site_id, 'carer_assessment', x.ca_id, x.service_user_id, x.episode_id, x.due_at,
	0, (SELECT s.at FROM remind_step_after(x.site_id, 'carer_assessment', x.due_at,
		0::smallint) s)
FROM (
	SELECT a.site_id, a.ca_id, a.service_user_id, a.episode_id,
		due_at_of((a.offered_on + s.carer_assessment_act_within)::date) AS due_at
	FROM gen_ca a JOIN site s ON s.id = a.site_id
	WHERE a.status IN ('offered', 'accepted')
) x;
