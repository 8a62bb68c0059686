/*
 * people.h - what referrals.c and people.c share: a person's declared
 * input fields and their checks, the person's JSON (SQL), and the small
 * presentation helpers of the HTML pages (labels for coded values, dates
 * as people write them, choice lists for selects and radios).  Everything
 * here is static: each file gets its own copy of the few helpers it uses.
 */
#ifndef CPA_INTAKE_PEOPLE_H
#define CPA_INTAKE_PEOPLE_H

#include <string.h>
#include <time.h>

#include "intake.h"

/* A person as JSON, from a service_user row aliased a (a string literal). */
#define PERSON_JSON_OF(a) \
	"json_build_object('id', " a ".id, 'site_id', " a ".site_id," \
	" 'nhs_number', " a ".nhs_number, 'given_name', " a ".given_name," \
	" 'family_name', " a ".family_name, 'other_names', " a ".other_names," \
	" 'date_of_birth', " a ".date_of_birth, 'address', " a ".address," \
	" 'postcode', " a ".postcode, 'phone', " a ".phone, 'email', " a ".email," \
	" 'gp_practice', " a ".gp_practice," \
	" 'preferred_language', " a ".preferred_language," \
	" 'interpreter_needed', " a ".interpreter_needed," \
	" 'communication_needs', " a ".communication_needs, 'version', " a ".version)"

/* The person's fields, in the order of enum person_field, as initialisers
 * at the start of a handler's field table.  None is required here: a
 * referral for a known person needs none of them, and an edit only what
 * changes; person_require() adds what a new person must have. */
enum person_field {
	PF_NHS, PF_GIVEN, PF_FAMILY, PF_OTHER, PF_DOB, PF_ADDRESS, PF_POSTCODE,
	PF_PHONE, PF_EMAIL, PF_GP, PF_LANGUAGE, PF_INTERPRETER, PF_COMMUNICATION,
	PF_COUNT
};
#define PERSON_FIELDS \
	{ "nhs_number", "NHS number", CPA_FT_NHS_NUMBER, 0, 0, 0, NULL }, \
	{ "given_name", "Given name", CPA_FT_LINE, 0, 1, 100, NULL }, \
	{ "family_name", "Family name", CPA_FT_LINE, 0, 1, 100, NULL }, \
	{ "other_names", "Other names", CPA_FT_LINE, 0, 1, 200, NULL }, \
	{ "date_of_birth", "Date of birth", CPA_FT_DATE, 0, 0, 0, NULL }, \
	{ "address", "Address", CPA_FT_TEXT, 0, 1, 500, NULL }, \
	{ "postcode", "Postcode", CPA_FT_LINE, 0, 1, 10, NULL }, \
	{ "phone", "Phone number", CPA_FT_LINE, 0, 1, 40, NULL }, \
	{ "email", "Email address", CPA_FT_EMAIL, 0, 3, 254, NULL }, \
	{ "gp_practice", "GP practice", CPA_FT_LINE, 0, 1, 200, NULL }, \
	{ "preferred_language", "Preferred language", CPA_FT_LINE, 0, 1, 100, NULL }, \
	{ "interpreter_needed", "Interpreter needed", CPA_FT_BOOL, 0, 0, 0, NULL }, \
	{ "communication_needs", "Communication needs", CPA_FT_TEXT, 0, 1, 2000, NULL }

/* Add an error for field idx unless it already has one, keeping the errors
 * in field order (the error summary lists them as the form does).  Room is
 * there: cpa_input_parse allocates one error per field. */
static inline void
input_error(struct cpa_input *in, size_t idx, const char *message)
{
	size_t k, j, pos = in->nerrors;

	for (k = 0; k < in->nerrors; k++) {
		if (in->errors[k].field == in->fields[idx].name)
			return;
		for (j = 0; j < in->nfields; j++)
			if (in->fields[j].name == in->errors[k].field)
				break;
		if (j > idx && pos == in->nerrors)
			pos = k;
	}
	memmove(&in->errors[pos + 1], &in->errors[pos],
	    (in->nerrors - pos) * sizeof(in->errors[0]));
	in->errors[pos].field = in->fields[idx].name;
	in->errors[pos].message = message;
	in->nerrors++;
	in->values[idx].present = 0;
}

/* Checks of a person's fields beyond their types: a date of birth in the
 * past, and (new people) the names and date of birth present. */
static inline void
person_check(struct cpa_input *in, int new_person)
{
	char today[11];
	struct tm tm;
	time_t now = time(NULL);

	if (in->values[PF_DOB].present && localtime_r(&now, &tm) != NULL &&
	    strftime(today, sizeof(today), "%Y-%m-%d", &tm) == 10 &&
	    strcmp(in->values[PF_DOB].str, today) > 0)
		input_error(in, PF_DOB, "Date of birth must be today or in the past");
	if (!new_person)
		return;
	if (!in->values[PF_GIVEN].present)
		input_error(in, PF_GIVEN, "Enter given name");
	if (!in->values[PF_FAMILY].present)
		input_error(in, PF_FAMILY, "Enter family name");
	if (!in->values[PF_DOB].present)
		input_error(in, PF_DOB, "Enter date of birth");
}

/* The person fields of in as SQL parameters, in enum order. */
static inline void
person_params(const struct cpa_input *in, const char **params)
{
	size_t i;

	for (i = 0; i < PF_COUNT; i++)
		params[i] = cpa_value_or_null(&in->values[i]);
}

/* --------------------------------------------------------- presentation */

/* Human labels of the coded values the intake tables hold. */
static const struct label {
	const char *value;
	const char *label;
} intake_labels[] = {
	{ "gp", "GP" },
	{ "ae_liaison", "A&E liaison" },
	{ "self", "Self-referral" },
	{ "inpatient_ward", "Inpatient ward" },
	{ "police_cjs", "Police or criminal justice" },
	{ "social_care", "Social care" },
	{ "other", "Other" },
	{ "emergency", "Emergency (4 hours)" },
	{ "urgent", "Urgent (24 hours)" },
	{ "routine", "Routine (28 days)" },
	{ "awaiting_triage", "Awaiting triage" },
	{ "accepted", "Accepted" },
	{ "signposted", "Signposted" },
	{ "declined", "Declined" },
	{ "accept", "Accept into a CPA episode" },
	{ "signpost", "Signpost elsewhere" },
	{ "decline", "Decline" },
	{ "standard", "Standard CPA" },
	{ "enhanced", "Enhanced CPA" },
	{ "complex", "CPA (single level)" },
	{ "non_cpa", "Non-CPA" },
	{ "personalised", "Personalised care and support" },
	{ "discharged_to_gp", "Discharged to GP" },
	{ "moved_away", "Moved away" },
	{ "died", "Died" },
	{ "declined_contact", "Declined contact" },
	{ "transferred", "Transferred" },
	{ "all", "All" },
};

static inline const char *
label_of(const char *value)
{
	size_t i;

	if (value == NULL)
		return NULL;
	for (i = 0; i < sizeof(intake_labels) / sizeof(intake_labels[0]); i++)
		if (strcmp(intake_labels[i].value, value) == 0)
			return intake_labels[i].label;
	return value;
}

/* [{value, label, selected}] for a NULL-terminated list of codes. */
static inline json_t *
choices_json(const char *const *values, const char *selected)
{
	json_t *out = json_array();

	for (; *values != NULL; values++)
		json_array_append_new(out, json_pack("{s:s,s:s,s:b}", "value", *values,
		    "label", label_of(*values), "selected",
		    selected != NULL && strcmp(selected, *values) == 0));
	return out;
}

/* What the HTML pages show beside one raw value: <key>_label for a coded
 * value, <key>_text for a date ("27 March 2025") or a time ("27 March
 * 2025, 14:05"), and nhs_number_text in the 3-3-4 grouping.  Every object
 * that has one of the keys gets the companion (null when the value is), so
 * a section never picks up an outer item's. */
static inline void
present_member(json_t *add, const char *key, const json_t *value, void *arg)
{
	static const char *const coded[] = { "source", "urgency", "status", "level",
	    "end_reason", NULL };
	static const char *const dated[] = { "received_at", "deadline_at",
	    "decided_at", "started_at", "ended_at", "date_of_birth", "at",
	    "requested_at", NULL };
	const char *const *k, *n;

	(void)arg;
	for (k = coded; *k != NULL; k++)
		if (strcmp(key, *k) == 0)
			cpa_json_beside(add, key, "_label", json_is_string(value) ?
			    json_string(label_of(json_string_value(value))) : json_null());
	for (k = dated; *k != NULL; k++)
		if (strcmp(key, *k) == 0)
			cpa_json_beside(add, key, "_text",
			    cpa_date_text(json_string_value(value), ", "));
	if (strcmp(key, "nhs_number") == 0) {
		n = json_string_value(value);
		json_object_set_new(add, "nhs_number_text", n != NULL && strlen(n) == 10 ?
		    json_sprintf("%.3s %.3s %.4s", n, n + 3, n + 6) : json_null());
	}
}

/* Add those words everywhere in v (borrowed, changed in place). */
static inline void
present(json_t *v)
{
	cpa_json_annotate(v, present_member, NULL);
}

/* The values a form was submitted with, as "form" for re-rendering it. */
static inline json_t *
form_json(const struct cpa_input *in)
{
	json_t *form = json_object();
	size_t i;

	for (i = 0; i < in->nfields; i++)
		if (in->values[i].present)
			json_object_set_new(form, in->fields[i].name,
			    in->fields[i].type == CPA_FT_BOOL ?
			    json_boolean(in->values[i].num) : json_string(in->values[i].str));
	return form;
}

/* "/api/v1/x/N" for JSON clients, "/x/N" for pages. */
static inline const char *
record_path(struct cpa_ctx *ctx, const char *what, const char *id)
{
	return cpa_sprintf(ctx->arena, "%s/%s/%s", ctx->req.wants_json ? "/api/v1" : "",
	    what, id);
}

#endif
