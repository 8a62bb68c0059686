-- 005_reviews.sql - written care plans and their versions, CPA reviews and
-- their due dates, contacts with the person, inpatient admissions and the
-- follow-up due within 72 hours of discharge.
--
-- The rules that make a review due live here, in triggers, so that they hold
-- whichever way a change arrives (a page, the JSON API, a ward system, a
-- cross-site transfer):
--   * an episode opens          -> its first review is due by policy;
--   * its level changes         -> a review is due within early_review_within;
--   * a high risk is approved   -> likewise;
--   * a crisis contact          -> likewise, and an early risk review;
--   * an admission              -> an early risk review;
--   * a discharge               -> a follow-up due within followup_window and
--                                  a review within early_review_within;
--   * an attended contact       -> meets any open follow-up it comes after;
--   * the episode closes        -> its due review and follow-ups are cancelled.
-- Holding a review closes its row and opens the next one (the handler does
-- both in one statement).

-- ----------------------------------------------------------- site policy

-- How often each level is reviewed (enhanced and complex share one
-- interval; levels outside CPA are reviewed at least yearly), how soon an
-- event brings a review forward, and how soon after discharge from
-- inpatient care the person must be followed up.
ALTER TABLE site
	ADD COLUMN review_standard interval NOT NULL DEFAULT '6 months'
		CHECK (review_standard > '0' AND review_standard <= '12 months'),
	ADD COLUMN review_enhanced interval NOT NULL DEFAULT '3 months'
		CHECK (review_enhanced > '0' AND review_enhanced <= '12 months'),
	ADD COLUMN review_other interval NOT NULL DEFAULT '12 months'
		CHECK (review_other > '0' AND review_other <= '12 months'),
	ADD COLUMN early_review_within interval NOT NULL DEFAULT '28 days'
		CHECK (early_review_within >= '0'),
	ADD COLUMN followup_window interval NOT NULL DEFAULT '72 hours'
		CHECK (followup_window > '0');

-- The latest date a review of an episode at p_level may be held when the
-- last one (or the episode's start) was on p_from.  Calendar months, so
-- 31 January + 1 month is 28 (or 29) February and 29 February + 12 months
-- is 28 February.  NULL when the site is not visible.
CREATE FUNCTION review_due_from(p_site_id bigint, p_level text, p_from date)
RETURNS date
LANGUAGE sql STABLE
AS $$
	SELECT (p_from + CASE
		WHEN p_level IN ('enhanced', 'complex') THEN s.review_enhanced
		WHEN p_level = 'standard' THEN s.review_standard
		ELSE s.review_other END)::date
	FROM site s WHERE s.id = p_site_id
$$;

-- ------------------------------------------------------------ care plans

-- One care plan per episode; current_version_id points at the version in
-- force.  version counts new versions, for optimistic concurrency: a new
-- version names the one it replaces.
CREATE TABLE care_plan (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL REFERENCES site (id),
	service_user_id bigint NOT NULL,
	episode_id bigint NOT NULL UNIQUE,
	current_version_id bigint,
	created_at timestamptz NOT NULL DEFAULT now(),
	version integer NOT NULL DEFAULT 0 CHECK (version >= 0),
	FOREIGN KEY (service_user_id, site_id) REFERENCES service_user (id, site_id),
	FOREIGN KEY (episode_id, site_id) REFERENCES episode (id, site_id),
	UNIQUE (id, site_id)
);
CREATE INDEX care_plan_service_user_idx ON care_plan (service_user_id);

-- A version is never changed once written.  Every section is optional
-- (a new version starts as a copy of the last one).  needs_goals is in the
-- person's own words.  user_agreed: true agreed, false did not agree, NULL
-- not yet asked; user_comments is what they said about the plan.
CREATE TABLE care_plan_version (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL,
	care_plan_id bigint NOT NULL,
	number integer NOT NULL CHECK (number > 0),
	needs_goals text CHECK (length(needs_goals) <= 5000),
	mental_health text CHECK (length(mental_health) <= 5000),
	physical_health text CHECK (length(physical_health) <= 5000),
	medication text CHECK (length(medication) <= 5000),
	medication_info_given boolean,
	social_care text CHECK (length(social_care) <= 5000),
	housing text CHECK (length(housing) <= 5000),
	employment_education text CHECK (length(employment_education) <= 5000),
	finances text CHECK (length(finances) <= 5000),
	domestic_support text CHECK (length(domestic_support) <= 5000),
	professionals_involved text CHECK (length(professionals_involved) <= 5000),
	crisis_contingency text CHECK (length(crisis_contingency) <= 5000),
	early_warning_signs text CHECK (length(early_warning_signs) <= 5000),
	-- Who took part in writing it.
	took_part_user boolean NOT NULL DEFAULT false,
	took_part_carer boolean NOT NULL DEFAULT false,
	took_part_others text CHECK (length(took_part_others) <= 1000),
	user_agreed boolean,
	user_comments text CHECK (length(user_comments) <= 5000),
	change_reason text CHECK (length(change_reason) <= 2000),
	review_id bigint,		-- the review that made it, if one did
	created_by bigint NOT NULL REFERENCES staff (id),
	created_at timestamptz NOT NULL DEFAULT now(),
	FOREIGN KEY (care_plan_id, site_id) REFERENCES care_plan (id, site_id),
	UNIQUE (care_plan_id, number),
	UNIQUE (id, site_id)
);
ALTER TABLE care_plan ADD FOREIGN KEY (current_version_id, site_id)
	REFERENCES care_plan_version (id, site_id);

-- Who was given a copy of a version, when and how.  Many people on CPA do
-- not know they have a written plan; this is how a team shows they do.
CREATE TABLE care_plan_copy (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL,
	care_plan_version_id bigint NOT NULL,
	recipient text NOT NULL CHECK (recipient IN ('service_user', 'carer', 'gp', 'other')),
	recipient_name text CHECK (length(recipient_name) <= 200),
	given_on date NOT NULL,
	method text NOT NULL CHECK (method IN ('in_person', 'post', 'email', 'secure_message')),
	recorded_by bigint NOT NULL REFERENCES staff (id),
	recorded_at timestamptz NOT NULL DEFAULT now(),
	FOREIGN KEY (care_plan_version_id, site_id) REFERENCES care_plan_version (id, site_id),
	CHECK (recipient NOT IN ('carer', 'other') OR recipient_name IS NOT NULL)
);
CREATE INDEX care_plan_copy_version_idx ON care_plan_copy (care_plan_version_id);

-- --------------------------------------------------------------- reviews

-- The review an episode is waiting for (status due: exactly one per open
-- episode) and those held or cancelled before it.  due_reason says why it
-- is due when it is: 'first' and 'policy' come from the level's interval,
-- the others brought it forward.  Experience answers: yes, partly, no or
-- declined (to answer); NULL when not asked; satisfaction 1 (very
-- dissatisfied) to 5 (very satisfied).
CREATE TABLE cpa_review (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL REFERENCES site (id),
	service_user_id bigint NOT NULL,
	episode_id bigint NOT NULL,
	status text NOT NULL DEFAULT 'due' CHECK (status IN ('due', 'held', 'cancelled')),
	due_date date NOT NULL,
	due_reason text NOT NULL CHECK (due_reason IN ('first', 'policy', 'level_change',
		'high_risk', 'crisis', 'admission', 'discharge', 'requested')),
	created_at timestamptz NOT NULL DEFAULT now(),
	-- Filled when held.
	held_on date,
	attended_user boolean,
	attended_carer boolean,
	attended_coordinator boolean,
	attended_others text CHECK (length(attended_others) <= 1000),
	outcome text CHECK (outcome IN ('continue', 'change_level', 'transfer', 'discharge')),
	new_level text CHECK (new_level IN ('standard', 'enhanced', 'complex', 'non_cpa',
		'personalised')),
	notes text CHECK (length(notes) <= 5000),
	care_plan_version_id bigint,
	next_due_date date,
	exp_involved text CHECK (exp_involved IN ('yes', 'partly', 'no', 'declined')),
	exp_choice text CHECK (exp_choice IN ('yes', 'partly', 'no', 'declined')),
	exp_knows_plan text CHECK (exp_knows_plan IN ('yes', 'partly', 'no', 'declined')),
	exp_knows_medication text CHECK (exp_knows_medication IN ('yes', 'partly', 'no',
		'declined')),
	exp_knows_complain text CHECK (exp_knows_complain IN ('yes', 'partly', 'no',
		'declined')),
	exp_satisfaction smallint CHECK (exp_satisfaction BETWEEN 1 AND 5),
	recorded_by bigint REFERENCES staff (id),
	recorded_at timestamptz,
	cancelled_at timestamptz,
	version integer NOT NULL DEFAULT 1 CHECK (version > 0),
	FOREIGN KEY (service_user_id, site_id) REFERENCES service_user (id, site_id),
	FOREIGN KEY (episode_id, site_id) REFERENCES episode (id, site_id),
	FOREIGN KEY (care_plan_version_id, site_id) REFERENCES care_plan_version (id, site_id),
	CHECK ((status = 'held') = (held_on IS NOT NULL)),
	CHECK (status <> 'held' OR (outcome IS NOT NULL AND recorded_by IS NOT NULL
		AND recorded_at IS NOT NULL)),
	CHECK ((outcome = 'change_level') = (new_level IS NOT NULL)),
	CHECK (next_due_date IS NULL OR next_due_date > held_on),
	CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
	UNIQUE (id, site_id)
);
CREATE UNIQUE INDEX cpa_review_due_idx ON cpa_review (episode_id) WHERE status = 'due';
CREATE INDEX cpa_review_due_date_idx ON cpa_review (due_date) WHERE status = 'due';
CREATE INDEX cpa_review_episode_idx ON cpa_review (episode_id, held_on);
ALTER TABLE care_plan_version ADD FOREIGN KEY (review_id, site_id)
	REFERENCES cpa_review (id, site_id);

-- -------------------------------------------------------------- contacts

-- Time spent with the person: the relationship people value most.  at is
-- when it started; staff_id is who saw them (recorded_by who typed it).
-- crisis marks a contact made because the person was in crisis.
CREATE TABLE contact (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL REFERENCES site (id),
	service_user_id bigint NOT NULL,
	episode_id bigint NOT NULL,
	at timestamptz NOT NULL,
	duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 1 AND 720),
	staff_id bigint NOT NULL REFERENCES staff (id),
	mode text NOT NULL CHECK (mode IN ('face_to_face', 'phone', 'video', 'home_visit')),
	attended boolean NOT NULL,
	carer_present boolean NOT NULL DEFAULT false,
	crisis boolean NOT NULL DEFAULT false,
	note text CHECK (length(note) <= 2000),
	recorded_by bigint NOT NULL REFERENCES staff (id),
	recorded_at timestamptz NOT NULL DEFAULT now(),
	idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
	FOREIGN KEY (service_user_id, site_id) REFERENCES service_user (id, site_id),
	FOREIGN KEY (episode_id, site_id) REFERENCES episode (id, site_id),
	UNIQUE (site_id, recorded_by, idempotency_key),
	UNIQUE (id, site_id)
);
CREATE INDEX contact_service_user_idx ON contact (service_user_id, at);
CREATE INDEX contact_episode_idx ON contact (episode_id, at);
CREATE INDEX contact_staff_idx ON contact (staff_id, at);

-- ---------------------------------------------------- inpatient admissions

-- A stay on a ward, recorded on the page or posted by a ward system
-- (external_ref is the ward system's own id, so a repeated post finds the
-- same row).  One open admission per person.
CREATE TABLE admission (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL REFERENCES site (id),
	service_user_id bigint NOT NULL,
	episode_id bigint NOT NULL,
	admitted_at timestamptz NOT NULL,
	hospital text CHECK (length(hospital) <= 200),
	ward text CHECK (length(ward) <= 200),
	discharged_at timestamptz,
	discharge_destination text CHECK (length(discharge_destination) <= 200),
	source text NOT NULL DEFAULT 'page' CHECK (source IN ('page', 'ward_system')),
	external_ref text CHECK (length(external_ref) BETWEEN 1 AND 100),
	recorded_by bigint NOT NULL REFERENCES staff (id),
	recorded_at timestamptz NOT NULL DEFAULT now(),
	version integer NOT NULL DEFAULT 1 CHECK (version > 0),
	FOREIGN KEY (service_user_id, site_id) REFERENCES service_user (id, site_id),
	FOREIGN KEY (episode_id, site_id) REFERENCES episode (id, site_id),
	CHECK (discharged_at IS NULL OR discharged_at >= admitted_at),
	UNIQUE (site_id, external_ref),
	UNIQUE (id, site_id)
);
CREATE UNIQUE INDEX admission_open_idx ON admission (service_user_id)
	WHERE discharged_at IS NULL;
CREATE INDEX admission_episode_idx ON admission (episode_id, admitted_at);

-- The follow-up owed after a discharge: met by the first attended contact
-- at or after discharge (met_at after due_at is met, but late).
CREATE TABLE followup (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL REFERENCES site (id),
	service_user_id bigint NOT NULL,
	episode_id bigint NOT NULL,
	admission_id bigint NOT NULL UNIQUE,
	discharged_at timestamptz NOT NULL,
	due_at timestamptz NOT NULL,
	status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'met', 'cancelled')),
	met_at timestamptz,
	met_by_contact_id bigint,
	cancelled_at timestamptz,
	FOREIGN KEY (service_user_id, site_id) REFERENCES service_user (id, site_id),
	FOREIGN KEY (episode_id, site_id) REFERENCES episode (id, site_id),
	FOREIGN KEY (admission_id, site_id) REFERENCES admission (id, site_id),
	FOREIGN KEY (met_by_contact_id, site_id) REFERENCES contact (id, site_id),
	CHECK ((status = 'met') = (met_at IS NOT NULL AND met_by_contact_id IS NOT NULL)),
	CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
	UNIQUE (id, site_id)
);
CREATE INDEX followup_open_idx ON followup (service_user_id) WHERE status = 'open';
CREATE INDEX followup_due_idx ON followup (due_at) WHERE status = 'open';

-- -------------------------------------------------------------- triggers

-- Bring the episode's due review forward to within early_review_within of
-- today (never later than it already is), saying why.  A review held in
-- this same transaction (recorded_at = now()) already made its decision:
-- the event is part of it, so nothing moves.
CREATE FUNCTION review_bring_forward(p_episode_id bigint, p_reason text)
RETURNS void
LANGUAGE sql VOLATILE
AS $$
	UPDATE cpa_review r
	SET due_date = (current_date + s.early_review_within)::date, due_reason = p_reason,
		version = r.version + 1
	FROM site s
	WHERE r.episode_id = p_episode_id AND r.status = 'due' AND s.id = r.site_id
		AND r.due_date > (current_date + s.early_review_within)::date
		AND NOT EXISTS (SELECT 1 FROM cpa_review h WHERE h.episode_id = p_episode_id
			AND h.status = 'held' AND h.recorded_at = now())
$$;

-- An episode opens: its first review is due by its level's interval.
CREATE FUNCTION episode_opened_review() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	IF NEW.ended_at IS NULL THEN
		INSERT INTO cpa_review (site_id, service_user_id, episode_id, due_date, due_reason)
		VALUES (NEW.site_id, NEW.service_user_id, NEW.id,
			review_due_from(NEW.site_id, NEW.level, NEW.started_at::date), 'first');
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER episode_opened_review AFTER INSERT ON episode
	FOR EACH ROW EXECUTE FUNCTION episode_opened_review();

-- The level changes: review soon.  The episode closes: nothing more is due.
CREATE FUNCTION episode_changed_review() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	IF NEW.ended_at IS NOT NULL AND OLD.ended_at IS NULL THEN
		UPDATE cpa_review SET status = 'cancelled', cancelled_at = now(),
			version = version + 1
		WHERE episode_id = NEW.id AND status = 'due';
		UPDATE followup SET status = 'cancelled', cancelled_at = now()
		WHERE episode_id = NEW.id AND status = 'open';
	ELSIF NEW.level IS DISTINCT FROM OLD.level AND NEW.ended_at IS NULL THEN
		PERFORM review_bring_forward(NEW.id, 'level_change');
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER episode_changed_review AFTER UPDATE OF level, ended_at ON episode
	FOR EACH ROW EXECUTE FUNCTION episode_changed_review();

-- A risk assessment rated high (overall or in any domain) is approved:
-- review the care plan soon.
CREATE FUNCTION risk_approved_review() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	IF NEW.status = 'approved' AND OLD.status IS DISTINCT FROM 'approved'
	   AND (NEW.overall_level = 'high' OR EXISTS (SELECT 1 FROM risk_domain d
		WHERE d.assessment_id = NEW.id AND d.level = 'high')) THEN
		PERFORM review_bring_forward(NEW.episode_id, 'high_risk');
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER risk_approved_review AFTER UPDATE OF status ON risk_assessment
	FOR EACH ROW EXECUTE FUNCTION risk_approved_review();

-- A contact: an attended one meets any open follow-up it comes after; a
-- crisis contact brings the review forward and asks for an early risk
-- review (risk_request_review, 004).
CREATE FUNCTION contact_recorded() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	IF NEW.attended THEN
		UPDATE followup SET status = 'met', met_at = NEW.at, met_by_contact_id = NEW.id
		WHERE service_user_id = NEW.service_user_id AND status = 'open'
			AND discharged_at <= NEW.at;
	END IF;
	IF NEW.crisis THEN
		PERFORM review_bring_forward(NEW.episode_id, 'crisis');
		PERFORM risk_request_review(NEW.service_user_id, 'crisis_contact', NEW.note,
			NEW.recorded_by);
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER contact_recorded AFTER INSERT ON contact
	FOR EACH ROW EXECUTE FUNCTION contact_recorded();

-- An admission asks for an early risk review; a discharge (recorded with
-- the admission or later) owes a follow-up within the site's window and
-- brings the review forward.  A corrected discharge time moves an open
-- follow-up's due time with it.
CREATE FUNCTION admission_recorded() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		PERFORM risk_request_review(NEW.service_user_id, 'admission', NULL,
			NEW.recorded_by);
	END IF;
	IF NEW.discharged_at IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.discharged_at IS NULL) THEN
		INSERT INTO followup (site_id, service_user_id, episode_id, admission_id,
			discharged_at, due_at)
		SELECT NEW.site_id, NEW.service_user_id, NEW.episode_id, NEW.id,
			NEW.discharged_at, NEW.discharged_at + s.followup_window
		FROM site s WHERE s.id = NEW.site_id;
		PERFORM review_bring_forward(NEW.episode_id, 'discharge');
	ELSIF TG_OP = 'UPDATE' AND NEW.discharged_at IS DISTINCT FROM OLD.discharged_at
	   AND NEW.discharged_at IS NOT NULL THEN
		UPDATE followup f SET discharged_at = NEW.discharged_at,
			due_at = NEW.discharged_at + s.followup_window
		FROM site s
		WHERE f.admission_id = NEW.id AND f.status = 'open' AND s.id = f.site_id;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER admission_recorded AFTER INSERT OR UPDATE OF discharged_at ON admission
	FOR EACH ROW EXECUTE FUNCTION admission_recorded();

-- Episodes open before this migration get their review due by policy.
-- The owner reads every site's rows for this: FORCE is lifted for these
-- statements and restored at once, in this migration's transaction.
ALTER TABLE episode NO FORCE ROW LEVEL SECURITY;
ALTER TABLE site NO FORCE ROW LEVEL SECURITY;
INSERT INTO cpa_review (site_id, service_user_id, episode_id, due_date, due_reason)
SELECT e.site_id, e.service_user_id, e.id,
	(e.started_at::date + CASE WHEN e.level IN ('enhanced', 'complex') THEN s.review_enhanced
		WHEN e.level = 'standard' THEN s.review_standard ELSE s.review_other END)::date,
	'first'
FROM episode e JOIN site s ON s.id = e.site_id
WHERE e.ended_at IS NULL;
ALTER TABLE episode FORCE ROW LEVEL SECURITY;
ALTER TABLE site FORCE ROW LEVEL SECURITY;

-- ---------------------------------------------------- row-level security

ALTER TABLE care_plan ENABLE ROW LEVEL SECURITY;
ALTER TABLE care_plan FORCE ROW LEVEL SECURITY;
ALTER TABLE care_plan_version ENABLE ROW LEVEL SECURITY;
ALTER TABLE care_plan_version FORCE ROW LEVEL SECURITY;
ALTER TABLE care_plan_copy ENABLE ROW LEVEL SECURITY;
ALTER TABLE care_plan_copy FORCE ROW LEVEL SECURITY;
ALTER TABLE cpa_review ENABLE ROW LEVEL SECURITY;
ALTER TABLE cpa_review FORCE ROW LEVEL SECURITY;
ALTER TABLE contact ENABLE ROW LEVEL SECURITY;
ALTER TABLE contact FORCE ROW LEVEL SECURITY;
ALTER TABLE admission ENABLE ROW LEVEL SECURITY;
ALTER TABLE admission FORCE ROW LEVEL SECURITY;
ALTER TABLE followup ENABLE ROW LEVEL SECURITY;
ALTER TABLE followup FORCE ROW LEVEL SECURITY;

CREATE POLICY care_plan_site ON care_plan
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));
CREATE POLICY care_plan_version_site ON care_plan_version
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));
CREATE POLICY care_plan_copy_site ON care_plan_copy
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));
CREATE POLICY cpa_review_site ON cpa_review
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));
CREATE POLICY contact_site ON contact
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));
CREATE POLICY admission_site ON admission
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));
CREATE POLICY followup_site ON followup
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));

-- Versions, copies and contacts are written once; nothing is deleted.
GRANT SELECT, INSERT, UPDATE ON care_plan, cpa_review, admission, followup TO cpa_app;
GRANT SELECT, INSERT ON care_plan_version, care_plan_copy, contact TO cpa_app;
GRANT EXECUTE ON FUNCTION review_due_from(bigint, text, date) TO cpa_app, cpa_auth;
-- intake_accept_transfer (002) runs as cpa_auth: it closes an episode and
-- opens another, so the triggers above cancel and open reviews and
-- follow-ups in its name.
GRANT SELECT, INSERT, UPDATE ON cpa_review TO cpa_auth;
GRANT SELECT, UPDATE ON followup TO cpa_auth;
