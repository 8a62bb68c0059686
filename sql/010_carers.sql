-- 010_carers.sql - the family and friends who support a person: who they
-- are, what the person agrees they may be told, the carer's own assessment
-- of their needs, and each time they were involved in the person's care.
--
-- Research on CPA found carers the least involved party.  These tables let
-- a team show that carers are identified (carer, carer_link), informed
-- within what the person allows (carer_consent, carer_may_know), offered
-- an assessment of their own (carer_assessment, reminded through due_item)
-- and involved (carer_involvement, written by triggers where involvement
-- happens: a review held with the carer there, a care plan written with
-- them or copied to them, a risk discussion with them, a contact with them
-- present; and by hand for information given).

-- ----------------------------------------------------------- site policy

-- How soon an offered carer's assessment must be acted on (accepted and
-- referred or done, or declined) before reminders go out, and how often
-- a person's consent to share with a carer is reviewed.
ALTER TABLE site
	ADD COLUMN carer_assessment_act_within interval NOT NULL DEFAULT '28 days'
		CHECK (carer_assessment_act_within > '0'
			AND carer_assessment_act_within <= '6 months'),
	ADD COLUMN carer_consent_review interval NOT NULL DEFAULT '12 months'
		CHECK (carer_consent_review > '0' AND carer_consent_review <= '24 months');

-- ---------------------------------------------------------------- carers

-- A carer: someone who supports a person unpaid (family, partner, friend).
-- One carer may support several people at the site (carer_link).
-- young_carer is what was recorded; with a date of birth, carer_is_young
-- answers from the age instead, so the flag follows their birthday.
CREATE TABLE carer (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL REFERENCES site (id),
	given_name text NOT NULL CHECK (length(given_name) BETWEEN 1 AND 100),
	family_name text NOT NULL CHECK (length(family_name) BETWEEN 1 AND 100),
	date_of_birth date,
	young_carer boolean NOT NULL DEFAULT false,
	phone text CHECK (length(phone) <= 40),
	email text CHECK (length(email) <= 254),
	address text CHECK (length(address) <= 500),
	postcode text CHECK (length(postcode) <= 10),
	preferred_contact text NOT NULL DEFAULT 'phone' CHECK (preferred_contact IN
		('phone', 'text', 'email', 'post', 'in_person')),
	created_by bigint NOT NULL REFERENCES staff (id),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	version integer NOT NULL DEFAULT 1 CHECK (version > 0),
	UNIQUE (id, site_id)
);
CREATE INDEX carer_name_idx ON carer (site_id, lower(family_name), lower(given_name));

-- Under 18: from the date of birth when known, else as recorded.
CREATE FUNCTION carer_is_young(p_date_of_birth date, p_young_carer boolean)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN p_date_of_birth IS NOT NULL
		THEN p_date_of_birth > (current_date - interval '18 years')::date
		ELSE coalesce(p_young_carer, false) END
$$;

-- The carer supports the person.  relationship is the carer's to the
-- person ("parent": the carer is the person's parent).  Ended (ended_on)
-- when they no longer do; history is kept.  current_consent_id is the
-- person's latest consent decision about this carer (kept by a trigger on
-- carer_consent), NULL when none was ever recorded.
CREATE TABLE carer_link (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL REFERENCES site (id),
	carer_id bigint NOT NULL,
	service_user_id bigint NOT NULL,
	relationship text NOT NULL CHECK (relationship IN ('partner', 'parent', 'child',
		'sibling', 'other_relative', 'friend', 'neighbour', 'other')),
	relationship_detail text CHECK (length(relationship_detail) <= 100),
	lives_with boolean NOT NULL DEFAULT false,
	started_on date NOT NULL DEFAULT current_date,
	ended_on date,
	end_reason text CHECK (length(end_reason) <= 500),
	current_consent_id bigint,
	created_by bigint NOT NULL REFERENCES staff (id),
	created_at timestamptz NOT NULL DEFAULT now(),
	version integer NOT NULL DEFAULT 1 CHECK (version > 0),
	FOREIGN KEY (carer_id, site_id) REFERENCES carer (id, site_id),
	FOREIGN KEY (service_user_id, site_id) REFERENCES service_user (id, site_id),
	CHECK (ended_on IS NULL OR ended_on >= started_on),
	CHECK ((ended_on IS NULL) = (end_reason IS NULL)),
	UNIQUE (id, site_id)
);
CREATE UNIQUE INDEX carer_link_current_idx ON carer_link (carer_id, service_user_id)
	WHERE ended_on IS NULL;
CREATE INDEX carer_link_service_user_idx ON carer_link (service_user_id)
	WHERE ended_on IS NULL;

-- ------------------------------------------------------ consent to share

-- What the person agrees their carer may be told: each row is one
-- decision, never changed; the latest (carer_link.current_consent_id) is
-- in force from the moment it is written.  scope full: everything; limited:
-- the named topics only; none: nothing (refused, or withdrawn, when
-- withdrawal is true).  A full or limited consent has a review date.
-- Topics: care_plan (the care plan's sections but medication and crisis),
-- crisis_plan (crisis and contingency plan, early warning signs, the
-- safety plan), medication (the medication section), appointments (review
-- and appointment dates).
CREATE TABLE carer_consent (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL REFERENCES site (id),
	carer_link_id bigint NOT NULL,
	scope text NOT NULL CHECK (scope IN ('full', 'limited', 'none')),
	topics text[] NOT NULL DEFAULT '{}' CHECK (topics <@ ARRAY['care_plan',
		'crisis_plan', 'medication', 'appointments']::text[]),
	given_on date NOT NULL,
	review_on date,
	withdrawal boolean NOT NULL DEFAULT false,
	note text CHECK (length(note) <= 2000),
	recorded_by bigint NOT NULL REFERENCES staff (id),
	recorded_at timestamptz NOT NULL DEFAULT now(),
	FOREIGN KEY (carer_link_id, site_id) REFERENCES carer_link (id, site_id),
	CHECK ((scope = 'limited') = (cardinality(topics) > 0)),
	CHECK ((scope = 'none') = (review_on IS NULL)),
	CHECK (review_on IS NULL OR review_on > given_on),
	CHECK (NOT withdrawal OR scope = 'none'),
	UNIQUE (id, site_id)
);
CREATE INDEX carer_consent_link_idx ON carer_consent (carer_link_id, recorded_at);
ALTER TABLE carer_link ADD FOREIGN KEY (current_consent_id, site_id)
	REFERENCES carer_consent (id, site_id);

CREATE FUNCTION carer_consent_recorded() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
	UPDATE carer_link SET current_consent_id = NEW.id, version = version + 1
	WHERE id = NEW.carer_link_id;
	RETURN NULL;
END
$$;
CREATE TRIGGER carer_consent_recorded AFTER INSERT ON carer_consent
	FOR EACH ROW EXECUTE FUNCTION carer_consent_recorded();

-- May the carer of link p_link be told about p_topic now?  The one place
-- the rule lives: every carer-facing output asks it.  False when the link
-- has ended, no consent was recorded, or the consent in force does not
-- cover the topic.  A consent past its review date still stands (the
-- review is flagged, not the sharing stopped).
CREATE FUNCTION carer_may_know(p_link bigint, p_topic text) RETURNS boolean
LANGUAGE sql STABLE
AS $$
	SELECT coalesce((
		SELECT c.scope = 'full' OR (c.scope = 'limited' AND p_topic = ANY (c.topics))
		FROM carer_link l JOIN carer_consent c ON c.id = l.current_consent_id
		WHERE l.id = p_link AND l.ended_on IS NULL), false)
$$;

-- May the carer of link p_link be given a copy of the person's care plan:
-- their copy, holding only the parts they may know (care_plan,
-- crisis_plan, medication).  False when they may know none of them.
CREATE FUNCTION carer_may_have_plan(p_link bigint) RETURNS boolean
LANGUAGE sql STABLE
AS $$
	SELECT carer_may_know(p_link, 'care_plan') OR carer_may_know(p_link, 'crisis_plan')
		OR carer_may_know(p_link, 'medication')
$$;

-- ---------------------------------------------------- carer's assessment

-- The carer's own right to an assessment of their needs.  offered ->
-- accepted or declined; accepted -> referred (to the local authority) or
-- completed; referred -> completed.  version for optimistic concurrency.
CREATE TABLE carer_assessment (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL REFERENCES site (id),
	carer_link_id bigint NOT NULL,
	carer_id bigint NOT NULL,
	service_user_id bigint NOT NULL,
	status text NOT NULL DEFAULT 'offered' CHECK (status IN ('offered', 'accepted',
		'declined', 'referred', 'completed')),
	offered_on date NOT NULL,
	offered_by bigint NOT NULL REFERENCES staff (id),
	responded_on date,
	referred_on date,
	la_reference text CHECK (length(la_reference) <= 100),
	completed_on date,
	outcome text CHECK (length(outcome) <= 5000),
	note text CHECK (length(note) <= 2000),
	updated_by bigint NOT NULL REFERENCES staff (id),
	updated_at timestamptz NOT NULL DEFAULT now(),
	version integer NOT NULL DEFAULT 1 CHECK (version > 0),
	FOREIGN KEY (carer_link_id, site_id) REFERENCES carer_link (id, site_id),
	FOREIGN KEY (carer_id, site_id) REFERENCES carer (id, site_id),
	FOREIGN KEY (service_user_id, site_id) REFERENCES service_user (id, site_id),
	CHECK ((status = 'offered') = (responded_on IS NULL)),
	CHECK (responded_on IS NULL OR responded_on >= offered_on),
	CHECK (status <> 'referred' OR referred_on IS NOT NULL),
	CHECK (referred_on IS NULL OR status IN ('referred', 'completed')),
	CHECK (referred_on IS NULL OR referred_on >= responded_on),
	CHECK ((status = 'completed') = (completed_on IS NOT NULL)),
	CHECK (status <> 'completed' OR outcome IS NOT NULL),
	CHECK (completed_on IS NULL OR completed_on >= responded_on),
	UNIQUE (id, site_id)
);
-- At most one assessment in hand per carer and person.
CREATE UNIQUE INDEX carer_assessment_open_idx ON carer_assessment (carer_link_id)
	WHERE status IN ('offered', 'accepted', 'referred');
CREATE INDEX carer_assessment_service_user_idx ON carer_assessment (service_user_id);

-- An assessment offered or accepted and not yet referred, done or declined
-- is an item due act_within after the offer, reminding the coordinator of
-- the person's open episode (their latest); once acted on, or with no open
-- episode, it is closed.
CREATE FUNCTION due_item_carer(a carer_assessment) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
	ep bigint;
	within interval;
BEGIN
	IF a.status IN ('offered', 'accepted') THEN
		SELECT e.id INTO ep FROM episode e
		WHERE e.service_user_id = a.service_user_id AND e.site_id = a.site_id
			AND e.ended_at IS NULL
		ORDER BY e.started_at DESC, e.id DESC
		LIMIT 1;
		SELECT s.carer_assessment_act_within INTO within FROM site s
		WHERE s.id = a.site_id;
	END IF;
	PERFORM due_item_keep('carer_assessment', a.id, a.site_id, a.service_user_id, ep,
		CASE WHEN ep IS NOT NULL THEN due_at_of((a.offered_on + within)::date) END);
END
$$;

CREATE FUNCTION due_item_from_carer_assessment() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
	PERFORM due_item_carer(NEW);
	RETURN NULL;
END
$$;
CREATE TRIGGER due_item_carer_insert AFTER INSERT ON carer_assessment
	FOR EACH ROW EXECUTE FUNCTION due_item_from_carer_assessment();
CREATE TRIGGER due_item_carer_update AFTER UPDATE OF status, offered_on ON carer_assessment
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
		OR OLD.offered_on IS DISTINCT FROM NEW.offered_on)
	EXECUTE FUNCTION due_item_from_carer_assessment();

-- An episode opens or closes: the person's approved risk assessment (007)
-- and the carer's assessments in hand follow it.
CREATE OR REPLACE FUNCTION due_item_from_episode() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
	a risk_assessment;
	c carer_assessment;
BEGIN
	FOR a IN SELECT * FROM risk_assessment r
		WHERE r.service_user_id = NEW.service_user_id AND r.status = 'approved'
	LOOP
		PERFORM due_item_risk(a);
	END LOOP;
	FOR c IN SELECT * FROM carer_assessment ca
		WHERE ca.service_user_id = NEW.service_user_id
			AND ca.status IN ('offered', 'accepted')
	LOOP
		PERFORM due_item_carer(c);
	END LOOP;
	RETURN NULL;
END
$$;

-- The page where a reminder's reader acts (008), now with carers.
CREATE OR REPLACE FUNCTION due_item_link(p_kind text, p_service_user_id bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT '/service-users/' || p_service_user_id || CASE p_kind
		WHEN 'cpa_review' THEN '/reviews'
		WHEN 'risk_review' THEN '/risk'
		WHEN 'followup' THEN '/admissions'
		WHEN 'carer_assessment' THEN '/carers'
		ELSE '' END
$$;

-- ------------------------------------------------------------ involvement

-- Each time a carer was involved in the person's care.  carer_link_id is
-- the carer when known: given where the involvement was recorded, else
-- the person's only current carer, else NULL ("a carer").  source and
-- source_id name the row it came from (manual: recorded on its own), so a
-- trigger firing twice records it once.
CREATE TABLE carer_involvement (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL REFERENCES site (id),
	service_user_id bigint NOT NULL,
	carer_link_id bigint,
	kind text NOT NULL CHECK (kind IN ('review', 'care_plan_writing', 'care_plan_copy',
		'risk_discussion', 'medication_info', 'complaints_info', 'contact', 'other')),
	occurred_on date NOT NULL,
	source text NOT NULL CHECK (source IN ('cpa_review', 'care_plan_version',
		'care_plan_copy', 'risk_assessment', 'contact', 'manual')),
	source_id bigint,
	note text CHECK (length(note) <= 2000),
	recorded_by bigint NOT NULL REFERENCES staff (id),
	recorded_at timestamptz NOT NULL DEFAULT now(),
	FOREIGN KEY (service_user_id, site_id) REFERENCES service_user (id, site_id),
	FOREIGN KEY (carer_link_id, site_id) REFERENCES carer_link (id, site_id),
	CHECK ((source = 'manual') = (source_id IS NULL)),
	CHECK (source <> 'manual' OR kind IN ('medication_info', 'complaints_info',
		'contact', 'other')),
	UNIQUE (id, site_id)
);
CREATE UNIQUE INDEX carer_involvement_source_idx ON carer_involvement (source, source_id, kind)
	WHERE source <> 'manual';
CREATE INDEX carer_involvement_service_user_idx ON carer_involvement
	(service_user_id, occurred_on);

-- Records that a carer of person p_service_user was involved (the one
-- place involvement is written from elsewhere).  p_link: the carer, or
-- NULL for the person's only current carer when they have exactly one.
-- Nothing happens when the same source row already recorded this kind.
CREATE FUNCTION carer_involvement_record(p_site bigint, p_service_user bigint,
	p_link bigint, p_kind text, p_on date, p_source text, p_source_id bigint,
	p_by bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
	link bigint := p_link;
BEGIN
	IF link IS NULL THEN
		SELECT min(l.id) INTO link FROM carer_link l
		WHERE l.service_user_id = p_service_user AND l.site_id = p_site
			AND l.ended_on IS NULL
		HAVING count(*) = 1;
	END IF;
	INSERT INTO carer_involvement (site_id, service_user_id, carer_link_id, kind,
		occurred_on, source, source_id, recorded_by)
	VALUES (p_site, p_service_user, link, p_kind, p_on, p_source, p_source_id, p_by)
	ON CONFLICT (source, source_id, kind) WHERE source <> 'manual' DO NOTHING;
END
$$;

-- A copy of a care plan given to a named carer of the person: the copy
-- is checked against their consent (a carer may be given the plan only
-- when they may know its care_plan topic).
ALTER TABLE care_plan_copy ADD COLUMN carer_link_id bigint;
ALTER TABLE care_plan_copy ADD FOREIGN KEY (carer_link_id, site_id)
	REFERENCES carer_link (id, site_id);
ALTER TABLE care_plan_copy ADD CHECK (carer_link_id IS NULL OR recipient = 'carer');

-- A contact with a named carer present.
ALTER TABLE contact ADD COLUMN carer_link_id bigint;
ALTER TABLE contact ADD FOREIGN KEY (carer_link_id, site_id)
	REFERENCES carer_link (id, site_id);
ALTER TABLE contact ADD CHECK (carer_link_id IS NULL OR carer_present);

-- Involvement from where it happens.
CREATE FUNCTION carer_involved_at_review() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
	PERFORM carer_involvement_record(NEW.site_id, NEW.service_user_id, NULL, 'review',
		NEW.held_on, 'cpa_review', NEW.id, NEW.recorded_by);
	RETURN NULL;
END
$$;
CREATE TRIGGER carer_involved_at_review AFTER UPDATE OF status ON cpa_review
	FOR EACH ROW WHEN (NEW.status = 'held' AND OLD.status <> 'held'
		AND NEW.attended_carer)
	EXECUTE FUNCTION carer_involved_at_review();

CREATE FUNCTION carer_involved_in_plan() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
	person bigint;
BEGIN
	SELECT p.service_user_id INTO person FROM care_plan p WHERE p.id = NEW.care_plan_id;
	PERFORM carer_involvement_record(NEW.site_id, person, NULL, 'care_plan_writing',
		NEW.created_at::date, 'care_plan_version', NEW.id, NEW.created_by);
	RETURN NULL;
END
$$;
CREATE TRIGGER carer_involved_in_plan AFTER INSERT ON care_plan_version
	FOR EACH ROW WHEN (NEW.took_part_carer)
	EXECUTE FUNCTION carer_involved_in_plan();

-- A copy to a named carer must be allowed by their consent (their copy
-- holds the parts of the plan they may know: carer_may_have_plan);
-- refused with SQLSTATE CP001 otherwise, and CP002 for a carer of someone
-- else.  Handlers check the same first, to name the field.
CREATE FUNCTION carer_given_plan() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
	person bigint;
BEGIN
	IF NEW.carer_link_id IS NOT NULL AND NOT carer_may_have_plan(NEW.carer_link_id) THEN
		RAISE EXCEPTION 'consent' USING ERRCODE = 'CP001',
			DETAIL = 'the person has not agreed to share their care plan with this carer';
	END IF;
	SELECT p.service_user_id INTO person FROM care_plan_version v
		JOIN care_plan p ON p.id = v.care_plan_id
	WHERE v.id = NEW.care_plan_version_id;
	IF NEW.carer_link_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM carer_link l
		WHERE l.id = NEW.carer_link_id AND l.service_user_id = person) THEN
		RAISE EXCEPTION 'not this person''s carer' USING ERRCODE = 'CP002';
	END IF;
	PERFORM carer_involvement_record(NEW.site_id, person, NEW.carer_link_id,
		'care_plan_copy', NEW.given_on, 'care_plan_copy', NEW.id, NEW.recorded_by);
	RETURN NEW;
END
$$;
CREATE TRIGGER carer_given_plan BEFORE INSERT ON care_plan_copy
	FOR EACH ROW WHEN (NEW.recipient = 'carer')
	EXECUTE FUNCTION carer_given_plan();

CREATE FUNCTION carer_involved_in_risk() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
	PERFORM carer_involvement_record(NEW.site_id, NEW.service_user_id, NULL,
		'risk_discussion', coalesce(NEW.submitted_at, NEW.updated_at)::date,
		'risk_assessment', NEW.id, NEW.author_id);
	RETURN NULL;
END
$$;
CREATE TRIGGER carer_involved_in_risk AFTER INSERT OR UPDATE OF status ON risk_assessment
	FOR EACH ROW WHEN (NEW.status IN ('submitted', 'approved') AND NEW.discussed_with_carer)
	EXECUTE FUNCTION carer_involved_in_risk();

CREATE FUNCTION carer_involved_in_contact() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
	PERFORM carer_involvement_record(NEW.site_id, NEW.service_user_id, NEW.carer_link_id,
		'contact', NEW.at::date, 'contact', NEW.id, NEW.recorded_by);
	RETURN NULL;
END
$$;
CREATE TRIGGER carer_involved_in_contact AFTER INSERT ON contact
	FOR EACH ROW WHEN (NEW.carer_present)
	EXECUTE FUNCTION carer_involved_in_contact();

-- ---------------------------------------------------- row-level security

ALTER TABLE carer ENABLE ROW LEVEL SECURITY;
ALTER TABLE carer FORCE ROW LEVEL SECURITY;
ALTER TABLE carer_link ENABLE ROW LEVEL SECURITY;
ALTER TABLE carer_link FORCE ROW LEVEL SECURITY;
ALTER TABLE carer_consent ENABLE ROW LEVEL SECURITY;
ALTER TABLE carer_consent FORCE ROW LEVEL SECURITY;
ALTER TABLE carer_assessment ENABLE ROW LEVEL SECURITY;
ALTER TABLE carer_assessment FORCE ROW LEVEL SECURITY;
ALTER TABLE carer_involvement ENABLE ROW LEVEL SECURITY;
ALTER TABLE carer_involvement FORCE ROW LEVEL SECURITY;

CREATE POLICY carer_site ON carer
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));
CREATE POLICY carer_link_site ON carer_link
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));
CREATE POLICY carer_consent_site ON carer_consent
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));
CREATE POLICY carer_assessment_site ON carer_assessment
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));
CREATE POLICY carer_involvement_site ON carer_involvement
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));

-- Consent decisions and involvement are written once; nothing is deleted.
GRANT SELECT, INSERT, UPDATE ON carer, carer_link, carer_assessment TO cpa_app;
GRANT SELECT, INSERT ON carer_consent, carer_involvement TO cpa_app;
-- intake_accept_transfer (002) runs as cpa_auth and opens and closes
-- episodes, so the episode trigger above reads carer assessments in its
-- name.
GRANT SELECT ON carer_assessment TO cpa_auth;

REVOKE ALL ON FUNCTION carer_is_young(date, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION carer_may_know(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION carer_may_have_plan(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION due_item_carer(carer_assessment) FROM PUBLIC;
REVOKE ALL ON FUNCTION carer_involvement_record(bigint, bigint, bigint, text, date, text,
	bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION carer_is_young(date, boolean) TO cpa_app;
GRANT EXECUTE ON FUNCTION carer_may_know(bigint, text) TO cpa_app;
GRANT EXECUTE ON FUNCTION carer_may_have_plan(bigint) TO cpa_app;
-- The triggers run as whoever changed the source row.
GRANT EXECUTE ON FUNCTION due_item_carer(carer_assessment) TO cpa_app, cpa_auth;
GRANT EXECUTE ON FUNCTION carer_involvement_record(bigint, bigint, bigint, text, date, text,
	bigint, bigint) TO cpa_app;
