/*
 * carers.h - the cpa-carers worker's handlers, and what its files share.
 * carers.c: a person's carers page, adding a carer, a carer's record,
 * ending a link.
 * consent.c: consent to share (recorded, withdrawn) and the carer's copies
 * of the care plan and the safety plan, which honour it.
 * assessments.c: the carer's assessment: offered, answered, referred, done.
 * involvement.c: involvement recorded by hand, and the person's timeline.
 * caseload.c: the carers of a coordinator's (or a team's) caseload, with
 * what is missing.
 * shared.c: what the files above share (see below).
 */
#ifndef CPA_CARERS_H
#define CPA_CARERS_H

#include "cpa.h"
#include "cpa_sql.h"

/* shared.c */
/* SQL, as string macros for the files' named statements.  A carer as
 * JSON (CARER: young_carer from carer_is_young), from a carer row X. */
#define CARER_JSON(X) \
	"json_build_object('id', " X ".id, 'given_name', " X ".given_name," \
	" 'family_name', " X ".family_name, 'date_of_birth', " X ".date_of_birth," \
	" 'young_carer', carer_is_young(" X ".date_of_birth, " X ".young_carer)," \
	" 'phone', " X ".phone, 'email', " X ".email, 'address', " X ".address," \
	" 'postcode', " X ".postcode, 'preferred_contact', " X ".preferred_contact," \
	" 'version', " X ".version)"
/* A consent decision (CONSENT), from a carer_consent row X. */
#define CARER_CONSENT_JSON(X) \
	"json_build_object('id', " X ".id, 'scope', " X ".scope," \
	" 'topics', to_json(" X ".topics), 'given_on', " X ".given_on," \
	" 'review_on', " X ".review_on," \
	" 'review_due', " X ".scope <> 'none' AND " X ".review_on <= current_date," \
	" 'withdrawal', " X ".withdrawal, 'note', " X ".note," \
	" 'recorded_by_name', (SELECT ks.display_name FROM staff ks" \
	"   WHERE ks.id = " X ".recorded_by), 'recorded_at', " X ".recorded_at)"
/* A carer's assessment (ASSESSMENT), from a carer_assessment row X;
 * overdue from the site's carer_assessment_act_within. */
#define CARER_ASSESSMENT_JSON(X) \
	"json_build_object('id', " X ".id, 'carer_link_id', " X ".carer_link_id," \
	" 'status', " X ".status, 'offered_on', " X ".offered_on," \
	" 'offered_by_name', (SELECT aos.display_name FROM staff aos" \
	"   WHERE aos.id = " X ".offered_by)," \
	" 'responded_on', " X ".responded_on, 'referred_on', " X ".referred_on," \
	" 'la_reference', " X ".la_reference, 'completed_on', " X ".completed_on," \
	" 'outcome', " X ".outcome, 'note', " X ".note, 'version', " X ".version," \
	" 'overdue', " X ".status IN ('offered', 'accepted') AND " X ".offered_on" \
	"   + (SELECT ast.carer_assessment_act_within FROM site ast" \
	"   WHERE ast.id = " X ".site_id) < current_date)"
/* A carer link (LINK), from a carer_link row X: the carer, the consent in
 * force, what the carer may be told (carer_may_know, the one rule) and
 * the assessments, newest first.  Read it in a statement after any
 * change to the link, so that carer_may_know sees the change. */
#define CARER_LINK_JSON(X) \
	"json_build_object('id', " X ".id," \
	" 'carer', (SELECT " CARER_JSON("lc") " FROM carer lc WHERE lc.id = " X ".carer_id)," \
	" 'relationship', " X ".relationship," \
	" 'relationship_detail', " X ".relationship_detail," \
	" 'lives_with', " X ".lives_with, 'started_on', " X ".started_on," \
	" 'ended_on', " X ".ended_on, 'end_reason', " X ".end_reason," \
	" 'version', " X ".version," \
	" 'consent', (SELECT " CARER_CONSENT_JSON("lk") " FROM carer_consent lk" \
	"   WHERE lk.id = " X ".current_consent_id)," \
	" 'may_know', json_build_object(" \
	"   'care_plan', carer_may_know(" X ".id, 'care_plan')," \
	"   'crisis_plan', carer_may_know(" X ".id, 'crisis_plan')," \
	"   'medication', carer_may_know(" X ".id, 'medication')," \
	"   'appointments', carer_may_know(" X ".id, 'appointments'))," \
	" 'assessments', (SELECT coalesce(json_agg(" CARER_ASSESSMENT_JSON("la") \
	"   ORDER BY la.offered_on DESC, la.id DESC), '[]') FROM carer_assessment la" \
	"   WHERE la.carer_link_id = " X ".id))"
/* Whether the person P (an SQL bigint expression) has an open episode,
 * and one in a team the caller covers: who may see their carers. */
#define CARERS_HAS_EPISODE(P) \
	"EXISTS (SELECT 1 FROM episode he WHERE he.service_user_id = " P \
	" AND he.ended_at IS NULL)"
#define CARERS_COVERED(P) \
	"EXISTS (SELECT 1 FROM episode ce WHERE ce.service_user_id = " P \
	" AND ce.ended_at IS NULL AND " CALLER_COVERS("ce.team_id") ")"

/* The vocabulary, NULL-terminated, codes and their words in parallel
 * arrays (the carer, carer_consent, carer_assessment and
 * carer_involvement columns of 010_carers.sql; carer_link.relationship
 * is cpa_carer_relationships). */
extern const char *const carer_contacts[], *const carer_contact_labels[];
extern const char *const carer_scopes[], *const carer_scope_labels[];
extern const char *const carer_topics[], *const carer_topic_labels[];
extern const char *const carer_statuses[], *const carer_status_labels[];
extern const char *const carer_actions[], *const carer_action_labels[];
extern const char *const carer_kinds[], *const carer_kind_labels[];
/* The kinds recorded by hand (involvement_add). */
extern const char *const carer_manual_kinds[];
/* Radios or checkboxes: [{value, label, id, checked}], ids "<base>" for
 * the first (where the error summary leads) and "<base>-<code>" after;
 * checked where chosen (a code or a list of codes) has the code; only the
 * codes of only (NULL: all) are offered.  A new array (ids kept by the
 * arena). */
json_t *carers_choices(struct cpa_ctx *ctx, const char *base,
    const char *const *codes, const char *const *labels,
    const char *const *only, const json_t *chosen);
/* A choice of form f (its prefix and errors set) for carers_radios.html:
 * {name, error (f's "error_<name>" or null), inline, items (carers_choices
 * of codes, labels and only, ids from f's prefix and name, checked as
 * f's value of name)}.  A new object. */
json_t *carers_radios(struct cpa_ctx *ctx, const json_t *f, const char *name,
    int inline_, const char *const *codes, const char *const *labels,
    const char *const *only);
/* A cpa_annotate_fn for pages: "<key>_label" in words beside the codes
 * above (relationship, preferred_contact, scope, status, kind), and
 * cpa_date_words. */
void carers_present(json_t *add, const char *key, const json_t *value, void *arg);

/* Answer status with person service_user_id's carers page shown again
 * (HTML), in's values and errors in the page's form named form ("add",
 * "consent-<link id>", "assessment-<link id>", "assessment-change-<id>",
 * "involvement", "end-<link id>"); a JSON client gets cpa_render_invalid
 * (422 naming the fields) with status.  Rolls back what the request did,
 * then reads the page in a new transaction (audited as a read).  For
 * handlers of forms on that page that refuse their input. */
void carers_page_again(struct cpa_ctx *ctx, long long service_user_id,
    const char *form, const struct cpa_input *in, int status);
/* The same, with values (stolen; NULL: in's, cpa_input_typed) put back in
 * the form: for values that are not fields of in (a list of topics). */
void carers_page_again_with(struct cpa_ctx *ctx, long long service_user_id,
    const char *form, const struct cpa_input *in, json_t *values, int status);
/* Answer the refusal p of a change (message: p's when NULL) to a record
 * of person service_user_id at site_id, the request's transaction then
 * rolled back or committed with its audit row: 403 through cpa_deny
 * (entity, id and attempt as its detail); a field's fault: the page
 * again with the message at that field of form (JSON: 422 naming it, with
 * p's status); otherwise a plain error. */
void carers_refuse(struct cpa_ctx *ctx, const struct cpa_problem *p,
    const char *message, long long service_user_id, long long site_id,
    const char *entity, const char *id, const char *attempt, const char *form,
    const struct cpa_input *in);
/* Give page model m its title (copied) and the words of its codes
 * (carers_present). */
void carers_page_words(json_t *m, const char *title);
/* For each pair of a column name and a json_t ** after r, up to a NULL
 * name: the JSON of row 0's column (kept by the arena).  0, or -1 after
 * answering 500 when one is NULL or not JSON. */
int carers_row_json(struct cpa_ctx *ctx, const PGresult *r, ...);
/* The route's id ("id") of a form about entity, the form read into in
 * (cpa_input_read with fields, nfields); 0 with the response written
 * when cpa_input_read answered, or 404 when the id is not one. */
long long carers_form_id(struct cpa_ctx *ctx, const char *entity,
    const struct cpa_field *fields, size_t nfields, struct cpa_input *in);
/* A carer link (CARER_LINK_JSON) read in the request's transaction: kept
 * by the arena, or NULL after answering the failure (404 when the link is
 * not visible). */
json_t *carers_link_json(struct cpa_ctx *ctx, const char *link_id);
/* The person of carer link link_id, for showing their page again: a JSON
 * client needs none, and gets -1 (nothing answered); otherwise the id,
 * or 0 after answering 404 (not visible). */
long long carers_link_person(struct cpa_ctx *ctx, const char *link_id);
/* The model of person id's carers page: JSON {service_user, carers,
 * involvement, no_carer, consent_review_months, assessment_act_within_days};
 * a page also gets every form (form, values and in as carers_page_again
 * takes them; all NULL for a fresh page).  The read is audited ("read",
 * carer_link).  NULL with the response written, as cpa_person_page_load. */
json_t *carers_person_model(struct cpa_ctx *ctx, long long id, const char *form,
    json_t *values, const struct cpa_input *in);

/* carers.c */
int carers_person(struct cpa_ctx *ctx);
int carer_add(struct cpa_ctx *ctx);
int carer_show(struct cpa_ctx *ctx);
int carer_update(struct cpa_ctx *ctx);
int carer_link_end(struct cpa_ctx *ctx);

/* consent.c */
int consent_record(struct cpa_ctx *ctx);
int consent_withdraw(struct cpa_ctx *ctx);
int carer_copy_care_plan(struct cpa_ctx *ctx);
int carer_copy_safety_plan(struct cpa_ctx *ctx);

/* assessments.c */
int assessment_offer(struct cpa_ctx *ctx);
int assessment_change(struct cpa_ctx *ctx);

/* involvement.c */
int involvement_list(struct cpa_ctx *ctx);
int involvement_add(struct cpa_ctx *ctx);

/* caseload.c */
int carers_caseload(struct cpa_ctx *ctx);

#endif
