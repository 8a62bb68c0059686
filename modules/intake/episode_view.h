/*
 * episode_view.h - the display helper the episode and caseload pages
 * share.
 */
#ifndef CPA_EPISODE_VIEW_H
#define CPA_EPISODE_VIEW_H

#include "cpa.h"

/* For HTML only: walk model (borrowed, changed in place) and give every
 * object words for its codes and dates: "<key>_label" beside level,
 * end_reason, kind, status, from_value and to_value ("Non-CPA" for
 * non_cpa; null when there is no label), "<key>_text" beside at, *_at and
 * date_of_birth ("27 March 2025 14:05"; null when null), and
 * "level_choices" [{value, label}] beside a "levels" array of codes.
 * JSON answers never pass through it. */
void episode_view(json_t *model);

#endif
