/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Idle (static) power of one zone, learned from (CPU utilisation, power)
 * samples: the intercept at zero utilisation of a least-squares line over a
 * sliding window, once the window spans enough utilisation to trust the
 * slope; before that, the lowest interval power seen. Always clamped to
 * [0, lowest power seen], so idle never exceeds what the node actually drew.
 */
#pragma once

#include <stddef.h>

/* Samples in the window: 60 intervals, five minutes at the default 5 s. */
#define IDLE_WINDOW 60
/* Fewest samples, and smallest utilisation range, for the fit to be used. */
#define IDLE_MIN_SAMPLES 6
#define IDLE_MIN_UTIL_SPAN 0.10

struct idle_learner;

struct idle_learner *idle_learner_new(void);
void idle_learner_free(struct idle_learner *l);
/*
 * Add one interval: the zone's mean power in watts and the utilisation in [0, 1]. With the
 * utilisation unknown (< 0, NaN) the power still counts towards the lowest power seen.
 */
void idle_learner_add(struct idle_learner *l, double util, double watts);
/* Current estimate in watts; NaN before the first sample. */
double idle_learner_estimate(const struct idle_learner *l);
/* Whether the estimate comes from the fit (1) or from the lowest power seen (0). */
int idle_learner_fitted(const struct idle_learner *l);
