/*
 * figures.c - how the dashboard's pages show a dash_figures row: the
 * sections in the contract's order (caseload, coordinators, referrals,
 * reviews, risk, care plans, carers, experience, contacts), each a list
 * of labelled figures and small tables; the key figures of a group, as a
 * table with a row per group (a scope's children) or a column per group
 * (districts compared).  Percentages always come with the counts behind
 * them, and a share without a denominator says "no data".
 *
 * Everything is described by tables of figures (label, format, the
 * paths of its value and of the counts behind it); the builders only
 * walk them.  Every string returned lives in the arena; every JSON value
 * is a new reference.
 */
#include <stdio.h>
#include <string.h>

#include "dashboard.h"

enum fmt {
	F_COUNT,	/* value: a whole number */
	F_SHARE,	/* value: a share; num of den behind it */
	F_RATIO,	/* num of den, the share worked out here */
	F_NUMBER,	/* value: a number, two decimals at most */
	F_DATE,		/* value: a date */
	F_TIME		/* value: a date and time */
};

struct figure {
	const char *label;
	enum fmt fmt;
	const char *value;
	const char *num;
	const char *den;
	const char *people;	/* the drill-down list behind it, or NULL */
	int brief;		/* shown in the table of a scope's children */
};

/* ------------------------------------------------------------ words */

const char *const dash_people_figures[] = {
	"caseload", "review_overdue", "risk_not_in_date", "risk_awaiting", "no_plan",
	"no_copy_user", "no_copy_carer", "no_carer", "carer_no_consent",
	"carer_not_offered", NULL
};
const char *const dash_people_labels[] = {
	"Everyone on the caseload",
	"CPA review overdue",
	"Risk assessment not in date",
	"Risk assessment waiting for approval",
	"No current care plan",
	"Not given a copy of their care plan",
	"Carer may have a copy of the care plan but was not given one",
	"No carer recorded",
	"Carer with no consent decision recorded",
	"Carer never offered a carer's assessment",
	NULL
};

static const char *const urgency_codes[] = { "emergency", "urgent", "routine", NULL };
static const char *const urgency_labels[] = { "Emergency", "Urgent", "Routine", NULL };
static const char *const question_codes[] = {
	"involved", "choice", "knows_plan", "knows_medication", "knows_complain",
	"satisfaction", NULL
};
static const char *const question_labels[] = {
	"Felt involved in planning their care",
	"Had a choice in their care",
	"Knows they have a written care plan",
	"Knows about their medication",
	"Knows how to complain",
	"Satisfied with their care (4 or 5 out of 5)",
	NULL
};
static const char *const mode_codes[] = {
	"face_to_face", "home_visit", "phone", "video", NULL
};
static const char *const mode_labels[] = {
	"Face to face", "Home visit", "Phone", "Video", NULL
};

static long long
count_of(const json_t *v)
{
	return json_is_integer(v) ? (long long)json_integer_value(v) :
	    json_is_real(v) ? (long long)json_real_value(v) : 0;
}

/* A share in tenths of a percent, rounded. */
static long long
permille(double share)
{
	double p = share * 1000.0;

	return (long long)(p >= 0 ? p + 0.5 : p - 0.5);
}

static const char *
permille_text(cpa_arena *a, long long p)
{
	if (p % 10 == 0)
		return cpa_sprintf(a, "%lld%%", p / 10);
	return cpa_sprintf(a, "%lld.%lld%%", p / 10, (p < 0 ? -p : p) % 10);
}

const char *
dash_pct(cpa_arena *a, const json_t *share)
{
	if (!json_is_number(share))
		return "no data";
	return permille_text(a, permille(json_number_value(share)));
}

const char *
dash_share_text(cpa_arena *a, const json_t *share, const json_t *num, const json_t *den)
{
	if (!json_is_number(share))
		return "no data";
	return cpa_sprintf(a, "%s (%lld of %lld)", dash_pct(a, share), count_of(num),
	    count_of(den));
}

const char *
dash_ratio_text(cpa_arena *a, long long num, long long den)
{
	if (den <= 0)
		return "no data";
	return cpa_sprintf(a, "%s (%lld of %lld)", permille_text(a,
	    (num * 1000 * 2 + den) / (den * 2)), num, den);
}

const char *
dash_num_text(cpa_arena *a, const json_t *v)
{
	char *s;
	size_t n;

	if (json_is_integer(v))
		return cpa_sprintf(a, "%lld", (long long)json_integer_value(v));
	if (!json_is_real(v))
		return "no data";
	s = cpa_sprintf(a, "%.2f", json_real_value(v));
	n = strlen(s);
	while (n > 0 && s[n - 1] == '0')
		s[--n] = '\0';
	if (n > 0 && s[n - 1] == '.')
		s[--n] = '\0';
	return strcmp(s, "-0") == 0 ? "0" : s;
}

static const char *
date_words(cpa_arena *a, const json_t *v, const char *none)
{
	json_t *t = cpa_date_text(json_string_value(v), " at ");
	const char *s = json_is_string(t) ? cpa_strdup(a, json_string_value(t)) : none;

	json_decref(t);
	return s;
}

json_t *
dash_as_of_text(const char *as_of)
{
	json_t *t = cpa_date_text(as_of, " at ");

	if (json_is_string(t))
		return t;
	json_decref(t);
	return json_string("not yet");
}

/* A figure's words: text, and for a share the counts behind it in *sub
 * when sub is not NULL (then text is the percentage alone). */
static const char *
figure_text(cpa_arena *a, const struct figure *f, const json_t *figs, const char **sub)
{
	const json_t *v = f->value != NULL ? dash_path(figs, f->value) : NULL;
	const json_t *num = f->num != NULL ? dash_path(figs, f->num) : NULL;
	const json_t *den = f->den != NULL ? dash_path(figs, f->den) : NULL;

	if (sub != NULL)
		*sub = NULL;
	switch (f->fmt) {
	case F_COUNT:
		return json_is_number(v) ? cpa_sprintf(a, "%lld", count_of(v)) : "no data";
	case F_SHARE:
		if (sub == NULL)
			return dash_share_text(a, v, num, den);
		if (json_is_number(v))
			*sub = cpa_sprintf(a, "%lld of %lld", count_of(num), count_of(den));
		return dash_pct(a, v);
	case F_RATIO:
		if (sub == NULL || count_of(den) <= 0)
			return dash_ratio_text(a, count_of(num), count_of(den));
		*sub = cpa_sprintf(a, "%lld of %lld", count_of(num), count_of(den));
		return permille_text(a, (count_of(num) * 2000 + count_of(den)) /
		    (count_of(den) * 2));
	case F_NUMBER:
		return dash_num_text(a, v);
	case F_DATE:
		return date_words(a, v, "none");
	case F_TIME:
		return date_words(a, v, "none");
	}
	return "no data";
}

/* ------------------------------------------------------------ tables */

json_t *
dash_table(const char *caption, const char *const *head, size_t nhead)
{
	json_t *t = json_pack("{s:s,s:b,s:[],s:[]}", "caption", caption, "small", 0,
	    "head", "rows");
	json_t *h = json_object_get(t, "head");
	size_t i;

	for (i = 0; i < nhead; i++)
		json_array_append_new(h, json_pack("{s:s,s:b}", "text", head[i],
		    "numeric", i > 0));
	return t;
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

json_t *
dash_table_row(json_t *table, const char *th, const char *href)
{
	json_t *row = json_pack("{s:s,s:o,s:[]}", "th", th, "href", str_or_null(href),
	    "cells");

	json_array_append_new(json_object_get(table, "rows"), row);
	return json_object_get(row, "cells");
}

void
dash_table_cell(json_t *cells, const char *text, const char *sub, const char *href)
{
	json_array_append_new(cells, json_pack("{s:s,s:o,s:o}", "text", text, "sub",
	    str_or_null(sub), "href", str_or_null(href)));
}

/* ------------------------------------------------------------ sections */

static json_t *
levels_table(cpa_arena *a, const json_t *figs)
{
	static const char *const head[] = { "Level", "People", "Share of the caseload" };
	json_t *t = dash_table("People on the caseload by level", head, 3), *cells;
	long long total = count_of(dash_path(figs, "caseload.total")), n;
	size_t i;

	for (i = 0; cpa_episode_levels[i] != NULL; i++) {
		n = count_of(json_object_get(json_object_get(figs, "caseload"),
		    cpa_episode_levels[i]));
		if (n == 0)
			continue;
		cells = dash_table_row(t, cpa_episode_level_labels[i], NULL);
		dash_table_cell(cells, cpa_sprintf(a, "%lld", n), NULL, NULL);
		dash_table_cell(cells, dash_ratio_text(a, n, total), NULL, NULL);
	}
	return t;
}

static json_t *
buckets_table(cpa_arena *a, const json_t *figs)
{
	static const char *const head[] = { "Caseload", "Care coordinators" };
	json_t *t = dash_table("Care coordinators by the size of their caseload", head, 2);
	const json_t *b;
	size_t i;

	json_array_foreach(dash_path(figs, "coordinators.buckets"), i, b) {
		dash_table_cell(dash_table_row(t, json_string_value(json_object_get(b,
		    "label")), NULL), cpa_sprintf(a, "%lld", count_of(json_object_get(b,
		    "n"))), NULL, NULL);
	}
	return t;
}

static const char *
hours_text(cpa_arena *a, const json_t *v)
{
	return json_is_number(v) ? cpa_sprintf(a, "%s hours", dash_num_text(a, v)) :
	    "no data";
}

static json_t *
urgency_table(cpa_arena *a, const json_t *figs)
{
	static const char *const head[] = {
		"Urgency", "Decided", "Median time to decision",
		"Time 9 in 10 were decided within", "Deadline", "Decided after the deadline"
	};
	json_t *t = dash_table("Referrals decided in the period by urgency, against "
	    "their deadlines", head, 6), *cells;
	const json_t *u;
	const char *label;
	size_t i;

	json_array_foreach(dash_path(figs, "referrals.by_urgency"), i, u) {
		label = cpa_label(urgency_codes, urgency_labels,
		    json_string_value(json_object_get(u, "urgency")));
		cells = dash_table_row(t, label != NULL ? label : "Other", NULL);
		dash_table_cell(cells, cpa_sprintf(a, "%lld", count_of(json_object_get(u,
		    "decided"))), NULL, NULL);
		dash_table_cell(cells, hours_text(a, json_object_get(u, "median_hours")),
		    NULL, NULL);
		dash_table_cell(cells, hours_text(a, json_object_get(u, "p90_hours")),
		    NULL, NULL);
		dash_table_cell(cells, json_is_number(json_object_get(u, "deadline_hours")) ?
		    hours_text(a, json_object_get(u, "deadline_hours")) :
		    "differs by site", NULL, NULL);
		dash_table_cell(cells, dash_ratio_text(a, count_of(json_object_get(u,
		    "breaches")), count_of(json_object_get(u, "decided"))), NULL, NULL);
	}
	return t;
}

static json_t *
experience_table(cpa_arena *a, const json_t *figs)
{
	static const char *const head[] = { "Question", "Answers", "Said yes" };
	json_t *t = dash_table("What people said at their reviews in the period", head,
	    3), *cells;
	const json_t *q;
	const char *label;
	size_t i;

	json_array_foreach(json_object_get(figs, "experience"), i, q) {
		label = cpa_label(question_codes, question_labels,
		    json_string_value(json_object_get(q, "question")));
		cells = dash_table_row(t, label != NULL ? label : "Other question", NULL);
		dash_table_cell(cells, cpa_sprintf(a, "%lld answers",
		    count_of(json_object_get(q, "answers"))), NULL, NULL);
		dash_table_cell(cells, dash_share_text(a, json_object_get(q, "share"),
		    json_object_get(q, "yes"), json_object_get(q, "answers")), NULL, NULL);
	}
	return t;
}

static json_t *
modes_table(cpa_arena *a, const json_t *figs)
{
	static const char *const head[] = { "How", "Contacts", "Per person per month" };
	json_t *t = dash_table("Contacts attended in the period, by how they were made",
	    head, 3), *cells;
	const json_t *md;
	const char *label;
	size_t i;

	json_array_foreach(dash_path(figs, "contacts.by_mode"), i, md) {
		label = cpa_label(mode_codes, mode_labels,
		    json_string_value(json_object_get(md, "mode")));
		cells = dash_table_row(t, label != NULL ? label : "Other", NULL);
		dash_table_cell(cells, cpa_sprintf(a, "%lld", count_of(json_object_get(md,
		    "n"))), NULL, NULL);
		dash_table_cell(cells, dash_num_text(a, json_object_get(md,
		    "per_person_month")), NULL, NULL);
	}
	return t;
}

static const struct figure caseload_figs[] = {
	{ "People on the caseload", F_COUNT, "caseload.total", NULL, NULL, "caseload", 0 },
};
static const struct figure coordinator_figs[] = {
	{ "Care coordinators with a caseload", F_COUNT, "coordinators.count", NULL, NULL,
	    NULL, 0 },
	{ "Median caseload", F_NUMBER, "coordinators.median", NULL, NULL, NULL, 0 },
	{ "Largest caseload", F_NUMBER, "coordinators.max", NULL, NULL, NULL, 0 },
	{ "Coordinators with more than 35 people", F_RATIO, NULL, "coordinators.over_35",
	    "coordinators.count", NULL, 0 },
};
static const struct figure referral_figs[] = {
	{ "Received", F_COUNT, "referrals.received", NULL, NULL, NULL, 0 },
	{ "Decided", F_COUNT, "referrals.decided", NULL, NULL, NULL, 0 },
	{ "Decided after the deadline", F_SHARE, "referrals.breached_share",
	    "referrals.breached", "referrals.decided", NULL, 0 },
	{ "Waiting for triage now", F_COUNT, "referrals.awaiting_triage", NULL, NULL,
	    NULL, 0 },
	{ "Waiting past their deadline now", F_RATIO, NULL, "referrals.awaiting_breached",
	    "referrals.awaiting_triage", NULL, 0 },
	{ "Waiting since", F_TIME, "referrals.awaiting_oldest_at", NULL, NULL, NULL, 0 },
};
static const struct figure review_figs[] = {
	{ "CPA reviews held", F_COUNT, "reviews.held", NULL, NULL, NULL, 0 },
	{ "Held by their due date", F_SHARE, "reviews.on_time_share", "reviews.on_time",
	    "reviews.held", NULL, 0 },
	{ "Overdue now", F_COUNT, "reviews.overdue", NULL, NULL, "review_overdue", 0 },
	{ "Oldest overdue review was due", F_DATE, "reviews.oldest_overdue_due", NULL,
	    NULL, NULL, 0 },
	{ "Follow-ups due after discharge from hospital", F_COUNT, "reviews.followups_due",
	    NULL, NULL, NULL, 0 },
	{ "Followed up within 72 hours", F_SHARE, "reviews.followups_met_share",
	    "reviews.followups_met", "reviews.followups_due", NULL, 0 },
};
static const struct figure risk_figs[] = {
	{ "Risk assessment in date now", F_SHARE, "risk.in_date_share", "risk.in_date",
	    "risk.caseload", "risk_not_in_date", 0 },
	{ "Waiting for approval now", F_COUNT, "risk.awaiting_approval", NULL, NULL,
	    "risk_awaiting", 0 },
	{ "Assessments approved in the period", F_COUNT, "risk.approved", NULL, NULL,
	    NULL, 0 },
	{ "Risk discussed with the person", F_SHARE, "risk.discussed_user_share",
	    "risk.discussed_user", "risk.approved", NULL, 0 },
	{ "Risk discussed with their carer", F_SHARE, "risk.discussed_carer_share",
	    "risk.discussed_carer", "risk.approved", NULL, 0 },
};
static const struct figure plan_figs[] = {
	{ "Current care plan", F_SHARE, "care_plans.current_share", "care_plans.current",
	    "care_plans.caseload", "no_plan", 0 },
	{ "Person given a copy of their current plan", F_SHARE,
	    "care_plans.copy_user_share", "care_plans.copy_user", "care_plans.current",
	    "no_copy_user", 0 },
	{ "Carer may have a copy (the person's consent allows it)", F_COUNT,
	    "care_plans.carer_may_have_plan", NULL, NULL, NULL, 0 },
	{ "Carer given a copy", F_SHARE, "care_plans.copy_carer_share",
	    "care_plans.copy_carer", "care_plans.carer_may_have_plan", "no_copy_carer", 0 },
};
static const struct figure carer_figs[] = {
	{ "Carer recorded", F_SHARE, "carers.with_carer_share", "carers.with_carer",
	    "carers.caseload", "no_carer", 0 },
	{ "Consent to share decided", F_SHARE, "carers.consent_share", "carers.consent",
	    "carers.with_carer", "carer_no_consent", 0 },
	{ "Carer offered a carer's assessment", F_SHARE, "carers.offered_share",
	    "carers.offered", "carers.with_carer", "carer_not_offered", 0 },
	{ "Carer's assessment completed", F_SHARE, "carers.completed_share",
	    "carers.completed", "carers.with_carer", NULL, 0 },
};
static const struct figure contact_figs[] = {
	{ "Contacts attended", F_COUNT, "contacts.total", NULL, NULL, NULL, 0 },
	{ "Contacts per person per month", F_NUMBER, "contacts.per_person_month", NULL,
	    NULL, NULL, 0 },
	{ "Contacts not attended", F_COUNT, "contacts.not_attended", NULL, NULL, NULL, 0 },
	{ "Days people were on the caseload, added up", F_COUNT, "contacts.person_days",
	    NULL, NULL, NULL, 0 },
};

struct section {
	const char *id;
	const char *heading;
	const char *when;
	const struct figure *figures;
	size_t nfigures;
	json_t *(*table)(cpa_arena *, const json_t *);
};

#define FIGS(t) t, sizeof(t) / sizeof((t)[0])

static const struct section sections[] = {
	{ "caseload", "Caseload by level", "Now.", FIGS(caseload_figs), levels_table },
	{ "coordinators", "Care coordinators' caseloads", "Now.",
	    FIGS(coordinator_figs), buckets_table },
	{ "referrals", "Referrals", "Received and decided in the period; waiting now.",
	    FIGS(referral_figs), urgency_table },
	{ "reviews", "CPA reviews and follow-ups",
	    "Held and followed up in the period; overdue now.", FIGS(review_figs), NULL },
	{ "risk", "Risk assessments",
	    "In date and waiting now; approved in the period.", FIGS(risk_figs), NULL },
	{ "care-plans", "Care plans", "Now.", FIGS(plan_figs), NULL },
	{ "carers", "Carers", "Now.", FIGS(carer_figs), NULL },
	{ "experience", "Experience of care", "Answers given at reviews in the period.",
	    NULL, 0, experience_table },
	{ "contacts", "Contacts", "In the period.", FIGS(contact_figs), modes_table },
};

json_t *
dash_sections(cpa_arena *a, const json_t *figures, const char *people_base)
{
	json_t *list = json_array(), *sec, *rows;
	const struct figure *f;
	const char *href, *label;
	size_t i, k;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		rows = json_array();
		for (k = 0; k < sections[i].nfigures; k++) {
			f = &sections[i].figures[k];
			href = NULL;
			label = NULL;
			if (people_base != NULL && f->people != NULL) {
				href = cpa_sprintf(a, "%s&figure=%s", people_base, f->people);
				label = cpa_label(dash_people_figures, dash_people_labels,
				    f->people);
			}
			json_array_append_new(rows, json_pack("{s:s,s:s,s:o,s:o}", "label",
			    f->label, "text", figure_text(a, f, figures, NULL), "href",
			    str_or_null(href), "link_text", str_or_null(label)));
		}
		sec = json_pack("{s:s,s:s,s:s,s:o,s:[]}", "id", sections[i].id, "heading",
		    sections[i].heading, "when", sections[i].when, "rows", rows, "tables");
		if (sections[i].table != NULL)
			json_array_append_new(json_object_get(sec, "tables"),
			    sections[i].table(a, figures));
		json_array_append_new(list, sec);
	}
	return list;
}

/* ------------------------------------------------------------ key figures */

static const struct figure key_figs[] = {
	{ "Caseload now", F_COUNT, "caseload.total", NULL, NULL, NULL, 1 },
	{ "Care coordinators", F_COUNT, "coordinators.count", NULL, NULL, NULL, 0 },
	{ "Median caseload", F_NUMBER, "coordinators.median", NULL, NULL, NULL, 0 },
	{ "Referrals received", F_COUNT, "referrals.received", NULL, NULL, NULL, 1 },
	{ "Referrals decided after the deadline", F_SHARE, "referrals.breached_share",
	    "referrals.breached", "referrals.decided", NULL, 1 },
	{ "Waiting for triage now", F_COUNT, "referrals.awaiting_triage", NULL, NULL,
	    NULL, 0 },
	{ "Reviews held on time", F_SHARE, "reviews.on_time_share", "reviews.on_time",
	    "reviews.held", NULL, 1 },
	{ "Reviews overdue now", F_COUNT, "reviews.overdue", NULL, NULL, NULL, 1 },
	{ "Followed up within 72 hours", F_SHARE, "reviews.followups_met_share",
	    "reviews.followups_met", "reviews.followups_due", NULL, 0 },
	{ "Risk assessment in date now", F_SHARE, "risk.in_date_share", "risk.in_date",
	    "risk.caseload", NULL, 1 },
	{ "Current care plan now", F_SHARE, "care_plans.current_share",
	    "care_plans.current", "care_plans.caseload", NULL, 1 },
	{ "Carer recorded now", F_SHARE, "carers.with_carer_share", "carers.with_carer",
	    "carers.caseload", NULL, 1 },
	{ "Satisfied with their care", F_SHARE, "experience.5.share", "experience.5.yes",
	    "experience.5.answers", NULL, 0 },
	{ "Contacts per person per month", F_NUMBER, "contacts.per_person_month", NULL,
	    NULL, NULL, 1 },
};
#define NKEY (sizeof(key_figs) / sizeof(key_figs[0]))

json_t *
dash_groups_table(cpa_arena *a, const char *caption, const char *first,
    const json_t *groups, const char *query)
{
	const char *head[NKEY + 1], *text, *sub, *href;
	json_t *t, *cells;
	const json_t *g, *figs;
	size_t i, k, n = 0;

	head[n++] = first;
	for (k = 0; k < NKEY; k++)
		if (key_figs[k].brief)
			head[n++] = key_figs[k].label;
	t = dash_table(caption, head, n);
	json_array_foreach(groups, i, g) {
		href = json_string_value(json_object_get(g, "href"));
		if (href != NULL && query != NULL)
			href = cpa_sprintf(a, "%s?%s", href, query);
		cells = dash_table_row(t, json_string_value(json_object_get(g, "name")),
		    href);
		figs = json_object_get(g, "figures");
		for (k = 0; k < NKEY; k++) {
			if (!key_figs[k].brief)
				continue;
			text = figure_text(a, &key_figs[k], figs, &sub);
			dash_table_cell(cells, text, sub, NULL);
		}
	}
	return t;
}

json_t *
dash_matrix(cpa_arena *a, const char *caption, const char *const *names,
    const json_t *const *figures, size_t n)
{
	const char **head = cpa_alloc(a, (n + 1) * sizeof(*head)), *text, *sub;
	json_t *t, *cells;
	size_t i, k;

	head[0] = "Figure";
	for (i = 0; i < n; i++)
		head[i + 1] = names[i];
	t = dash_table(caption, head, n + 1);
	for (k = 0; k < NKEY; k++) {
		cells = dash_table_row(t, key_figs[k].label, NULL);
		for (i = 0; i < n; i++) {
			text = figure_text(a, &key_figs[k], figures[i], &sub);
			dash_table_cell(cells, text, sub, NULL);
		}
	}
	return t;
}
