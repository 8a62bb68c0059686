-- 003_risk.sql - structured risk assessments with their safety plans, the
-- draft -> submitted -> approved | returned workflow, and review dates.
--
-- An assessment belongs to a person with an open episode.  Approving one
-- supersedes the person's previous approved assessment; older versions are
-- kept whole, so what changed between two versions can always be shown.

-- ----------------------------------------------------------- site policy

-- How long an approved assessment stands before its review is due: by the
-- episode's level, and sooner when any domain is rated high.
ALTER TABLE site
	ADD COLUMN risk_review_standard interval NOT NULL DEFAULT '6 months',
	ADD COLUMN risk_review_enhanced interval NOT NULL DEFAULT '3 months',
	ADD COLUMN risk_review_high interval NOT NULL DEFAULT '1 month';

-- ------------------------------------------------------------ assessments

CREATE TABLE risk_assessment (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL REFERENCES site (id),
	service_user_id bigint NOT NULL,
	episode_id bigint NOT NULL,
	status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'submitted',
		'approved', 'returned', 'superseded')),
	overall_level text CHECK (overall_level IN ('none', 'low', 'medium', 'high')),
	-- The safety plan, written with the person.
	warning_signs text CHECK (length(warning_signs) <= 5000),
	what_helps text CHECK (length(what_helps) <= 5000),
	contacts text CHECK (length(contacts) <= 5000),
	crisis_numbers text CHECK (length(crisis_numbers) <= 2000),
	means_restriction text CHECK (length(means_restriction) <= 5000),
	-- Was risk talked through with the person and their carer, and if
	-- not, why not; and the person's own view in their words.
	discussed_with_user boolean,
	not_discussed_user_reason text CHECK (length(not_discussed_user_reason) <= 2000),
	discussed_with_carer boolean,
	not_discussed_carer_reason text CHECK (length(not_discussed_carer_reason) <= 2000),
	user_view text CHECK (length(user_view) <= 5000),
	-- Workflow.
	needs_manager_approval boolean NOT NULL DEFAULT false,
	author_id bigint NOT NULL REFERENCES staff (id),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	submitted_at timestamptz,
	decided_by bigint REFERENCES staff (id),
	decided_at timestamptz,
	return_comments text CHECK (length(return_comments) <= 5000),
	approved_at timestamptz,
	next_review_due date,
	supersedes_id bigint,
	superseded_at timestamptz,
	review_requested_at timestamptz,
	review_reason text CHECK (length(review_reason) <= 2000),
	version integer NOT NULL DEFAULT 1 CHECK (version > 0),
	FOREIGN KEY (service_user_id, site_id) REFERENCES service_user (id, site_id),
	FOREIGN KEY (episode_id, site_id) REFERENCES episode (id, site_id),
	FOREIGN KEY (supersedes_id, site_id) REFERENCES risk_assessment (id, site_id),
	-- Nobody approves their own assessment.
	CHECK (decided_by IS NULL OR decided_by <> author_id),
	CHECK (status NOT IN ('approved', 'superseded') OR
		(approved_at IS NOT NULL AND next_review_due IS NOT NULL)),
	CHECK (status <> 'returned' OR return_comments IS NOT NULL),
	UNIQUE (id, site_id)
);
-- One current (approved) assessment per person, and at most one in
-- progress (draft, submitted or returned) at a time.
CREATE UNIQUE INDEX risk_assessment_current_idx ON risk_assessment (service_user_id)
	WHERE status = 'approved';
CREATE UNIQUE INDEX risk_assessment_in_progress_idx ON risk_assessment (service_user_id)
	WHERE status IN ('draft', 'submitted', 'returned');
CREATE INDEX risk_assessment_queue_idx ON risk_assessment (site_id, submitted_at)
	WHERE status = 'submitted';
CREATE INDEX risk_assessment_review_idx ON risk_assessment (next_review_due)
	WHERE status = 'approved';

-- Each domain's level and evidence.
CREATE TABLE risk_domain (
	assessment_id bigint NOT NULL,
	site_id bigint NOT NULL,
	domain text NOT NULL CHECK (domain IN ('suicide_self_harm', 'harm_to_others',
		'self_neglect', 'exploitation_vulnerability', 'substance_misuse', 'other')),
	level text NOT NULL CHECK (level IN ('none', 'low', 'medium', 'high')),
	history text CHECK (length(history) <= 5000),
	current_factors text CHECK (length(current_factors) <= 5000),
	protective_factors text CHECK (length(protective_factors) <= 5000),
	PRIMARY KEY (assessment_id, domain),
	FOREIGN KEY (assessment_id, site_id) REFERENCES risk_assessment (id, site_id)
		ON DELETE CASCADE
);

-- What happened to an assessment, in order; never updated.
CREATE TABLE risk_event (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	site_id bigint NOT NULL,
	assessment_id bigint NOT NULL,
	kind text NOT NULL CHECK (kind IN ('created', 'saved', 'submitted', 'approved',
		'returned', 'superseded', 'review_requested')),
	comments text CHECK (length(comments) <= 5000),
	at timestamptz NOT NULL DEFAULT now(),
	by_staff_id bigint REFERENCES staff (id),
	FOREIGN KEY (assessment_id, site_id) REFERENCES risk_assessment (id, site_id)
);
CREATE INDEX risk_event_assessment_idx ON risk_event (assessment_id, at);

-- ---------------------------------------------------- row-level security

ALTER TABLE risk_assessment ENABLE ROW LEVEL SECURITY;
ALTER TABLE risk_assessment FORCE ROW LEVEL SECURITY;
ALTER TABLE risk_domain ENABLE ROW LEVEL SECURITY;
ALTER TABLE risk_domain FORCE ROW LEVEL SECURITY;
ALTER TABLE risk_event ENABLE ROW LEVEL SECURITY;
ALTER TABLE risk_event FORCE ROW LEVEL SECURITY;

CREATE POLICY risk_assessment_site ON risk_assessment
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));
CREATE POLICY risk_domain_site ON risk_domain
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));
CREATE POLICY risk_event_site ON risk_event
	USING (site_id = ANY (cpa_site_ids())) WITH CHECK (site_id = ANY (cpa_site_ids()));

-- Only an assessment still being written (draft or returned) may have its
-- domains changed: approved and submitted ones are fixed.
CREATE POLICY risk_domain_editable_update ON risk_domain AS RESTRICTIVE FOR UPDATE
	USING (EXISTS (SELECT 1 FROM risk_assessment a WHERE a.id = assessment_id
		AND a.status IN ('draft', 'returned')));
CREATE POLICY risk_domain_editable_delete ON risk_domain AS RESTRICTIVE FOR DELETE
	USING (EXISTS (SELECT 1 FROM risk_assessment a WHERE a.id = assessment_id
		AND a.status IN ('draft', 'returned')));

-- Drafts replace their domain rows as they are saved; nothing else is
-- ever deleted.
GRANT SELECT, INSERT, UPDATE ON risk_assessment TO cpa_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON risk_domain TO cpa_app;
GRANT SELECT, INSERT ON risk_event TO cpa_app;
