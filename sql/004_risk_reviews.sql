-- 004_risk_reviews.sql - asking for a risk assessment to be reviewed early.
--
-- Something that changes a person's risk (a crisis contact, an admission or
-- a discharge, an incident, a change in their circumstances) makes the
-- review of their current assessment due at once.  The rule lives in one
-- function, risk_request_review(), called by the risk worker when a
-- clinician asks for a review and by the reviews worker when it records a
-- crisis contact or an admission.  The next approved assessment starts
-- without a request: approving it answers the one made of the last.

-- What prompted the request; review_requested_at and review_reason (the
-- details) are in 003.
ALTER TABLE risk_assessment
	ADD COLUMN review_trigger text CHECK (review_trigger IN ('crisis_contact',
		'admission', 'discharge', 'incident', 'change_in_circumstances', 'other'));

-- A trigger in words, as a sentence starts it ("Crisis contact"); NULL for
-- a code that is not one.
CREATE FUNCTION risk_review_trigger_label(p_trigger text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE p_trigger
		WHEN 'crisis_contact' THEN 'Crisis contact'
		WHEN 'admission' THEN 'Admission'
		WHEN 'discharge' THEN 'Discharge'
		WHEN 'incident' THEN 'Incident'
		WHEN 'change_in_circumstances' THEN 'Change in circumstances'
		WHEN 'other' THEN 'Other'
	END
$$;

-- Ask for an early review of p_service_user's current (approved) risk
-- assessment: review due today at the latest, with what prompted it
-- (p_trigger, one of the codes above, else an error) and p_details (may be
-- NULL), recorded as a risk_event by staff member p_by.  Returns the
-- assessment's id, or NULL when the person has no approved assessment the
-- caller can see: SECURITY INVOKER, so row-level security applies and
-- another site's person is left alone.  Checking that the caller may do
-- this (their team) is the caller's job.
CREATE FUNCTION risk_request_review(p_service_user bigint, p_trigger text,
	p_details text, p_by bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
DECLARE
	label text := risk_review_trigger_label(p_trigger);
	aid bigint;
	sid bigint;
BEGIN
	IF label IS NULL THEN
		RAISE EXCEPTION 'unknown risk review trigger %', quote_nullable(p_trigger)
			USING ERRCODE = 'check_violation';
	END IF;
	UPDATE risk_assessment a SET review_requested_at = now(),
		review_trigger = p_trigger, review_reason = p_details,
		next_review_due = least(a.next_review_due, current_date),
		version = a.version + 1
	WHERE a.service_user_id = p_service_user AND a.status = 'approved'
	RETURNING a.id, a.site_id INTO aid, sid;
	IF aid IS NULL THEN
		RETURN NULL;
	END IF;
	INSERT INTO risk_event (site_id, assessment_id, kind, comments, by_staff_id)
	VALUES (sid, aid, 'review_requested', label || coalesce(': ' || p_details, ''),
		p_by);
	RETURN aid;
END
$$;

REVOKE ALL ON FUNCTION risk_review_trigger_label(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION risk_request_review(bigint, text, text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION risk_review_trigger_label(text) TO cpa_app;
GRANT EXECUTE ON FUNCTION risk_request_review(bigint, text, text, bigint) TO cpa_app;
