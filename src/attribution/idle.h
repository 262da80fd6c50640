/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Idle (static) power of one zone, learned from (CPU utilisation, power)
 * samples of the last IDLE_WINDOW intervals: the intercept at zero
 * utilisation of a least-squares line through them, once they span enough
 * utilisation to trust the slope; before that, the lowest power among them.
 * Always clamped to [0, lowest power in the window], so idle never exceeds
 * what the node actually drew; the floor forgets with the window, so a meter
 * that stalled or read 0 W pins idle low for IDLE_WINDOW intervals, not for
 * the life of the agent.
 */
#pragma once

#include <stddef.h>

/* Samples in the window: 60 intervals, five minutes at the default 5 s. */
#define IDLE_WINDOW 60
/* Fewest samples with a utilisation, and their smallest range, for the fit to be used. */
#define IDLE_MIN_SAMPLES 6
#define IDLE_MIN_UTIL_SPAN 0.10

struct idle_learner;

struct idle_learner *idle_learner_new(void);
void idle_learner_free(struct idle_learner *l);
/*
 * Add one interval: the zone's mean power in watts and the utilisation in [0, 1]. With the
 * utilisation unknown (< 0, NaN) the power still counts towards the lowest power in the window.
 */
void idle_learner_add(struct idle_learner *l, double util, double watts);
/* Current estimate in watts; NaN before the first sample. */
double idle_learner_estimate(const struct idle_learner *l);
/* Whether the estimate comes from the fit (1) or from the lowest power in the window (0). */
int idle_learner_fitted(const struct idle_learner *l);
