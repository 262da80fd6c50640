// SPDX-License-Identifier: Apache-2.0
#include "attribution/idle.h"

#include <math.h>
#include <stdlib.h>

/* The last IDLE_WINDOW intervals: the fit uses those with a utilisation, the floor all of them. */
struct idle_learner {
	double util[IDLE_WINDOW]; /* NaN: unknown */
	double watts[IDLE_WINDOW];
	size_t n;    /* samples in the window */
	size_t next; /* ring position of the next sample */
};

struct idle_learner *idle_learner_new(void)
{
	return calloc(1, sizeof(struct idle_learner));
}

void idle_learner_free(struct idle_learner *l)
{
	free(l);
}

void idle_learner_add(struct idle_learner *l, double util, double watts)
{
	if (!isfinite(watts) || watts < 0)
		return;
	l->util[l->next] = util >= 0 && util <= 1 ? util : NAN;
	l->watts[l->next] = watts;
	l->next = (l->next + 1) % IDLE_WINDOW;
	if (l->n < IDLE_WINDOW)
		l->n++;
}

/* Least-squares intercept of watts against utilisation; NaN when the fit is not trusted. */
static double fit_intercept(const struct idle_learner *l)
{
	double su = 0, sw = 0, suu = 0, suw = 0, umin = 1, umax = 0, mu, mw, slope;
	size_t k = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (isnan(l->util[i]))
			continue;
		su += l->util[i];
		sw += l->watts[i];
		umin = fmin(umin, l->util[i]);
		umax = fmax(umax, l->util[i]);
		k++;
	}
	if (k < IDLE_MIN_SAMPLES || umax - umin < IDLE_MIN_UTIL_SPAN)
		return NAN;
	mu = su / (double)k;
	mw = sw / (double)k;
	for (size_t i = 0; i < l->n; i++) {
		if (isnan(l->util[i]))
			continue;
		suu += (l->util[i] - mu) * (l->util[i] - mu);
		suw += (l->util[i] - mu) * (l->watts[i] - mw);
	}
	slope = suw / suu;
	/* Power that falls as work rises is noise or throttling, not a model: do not trust it. */
	if (!isfinite(slope) || slope < 0)
		return NAN;
	return mw - slope * mu;
}

/* The lowest power in the window: a stall or a zero reading leaves it with the window. */
static double floor_watts(const struct idle_learner *l)
{
	double lo = NAN;

	for (size_t i = 0; i < l->n; i++)
		lo = fmin(lo, l->watts[i]); /* fmin ignores the NaN start */
	return lo;
}

int idle_learner_fitted(const struct idle_learner *l)
{
	return !isnan(fit_intercept(l));
}

double idle_learner_estimate(const struct idle_learner *l)
{
	double lo = floor_watts(l), b;

	if (isnan(lo))
		return NAN;
	b = fit_intercept(l);
	if (isnan(b))
		return lo;
	return fmin(fmax(b, 0.0), lo);
}
