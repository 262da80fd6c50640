// SPDX-License-Identifier: Apache-2.0
#include "attribution/idle.h"

#include <math.h>
#include <stdlib.h>

struct idle_learner {
	double util[IDLE_WINDOW];
	double watts[IDLE_WINDOW];
	size_t n;    /* samples in the window */
	size_t next; /* ring position of the next sample */
	double min_watts;
};

struct idle_learner *idle_learner_new(void)
{
	struct idle_learner *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->min_watts = NAN;
	return l;
}

void idle_learner_free(struct idle_learner *l)
{
	free(l);
}

void idle_learner_add(struct idle_learner *l, double util, double watts)
{
	if (!isfinite(watts) || watts < 0)
		return;
	if (isnan(l->min_watts) || watts < l->min_watts)
		l->min_watts = watts;
	if (!isfinite(util) || util < 0 || util > 1)
		return;
	l->util[l->next] = util;
	l->watts[l->next] = watts;
	l->next = (l->next + 1) % IDLE_WINDOW;
	if (l->n < IDLE_WINDOW)
		l->n++;
}

/* Least-squares intercept of watts against utilisation; NaN when the fit is not trusted. */
static double fit_intercept(const struct idle_learner *l)
{
	double su = 0, sw = 0, suu = 0, suw = 0, umin = 1, umax = 0, mu, mw, var, slope;

	if (l->n < IDLE_MIN_SAMPLES)
		return NAN;
	for (size_t i = 0; i < l->n; i++) {
		su += l->util[i];
		sw += l->watts[i];
		umin = fmin(umin, l->util[i]);
		umax = fmax(umax, l->util[i]);
	}
	if (umax - umin < IDLE_MIN_UTIL_SPAN)
		return NAN;
	mu = su / (double)l->n;
	mw = sw / (double)l->n;
	for (size_t i = 0; i < l->n; i++) {
		suu += (l->util[i] - mu) * (l->util[i] - mu);
		suw += (l->util[i] - mu) * (l->watts[i] - mw);
	}
	var = suu;
	slope = suw / var;
	/* Power that falls as work rises is noise or throttling, not a model: do not trust it. */
	if (!isfinite(slope) || slope < 0)
		return NAN;
	return mw - slope * mu;
}

int idle_learner_fitted(const struct idle_learner *l)
{
	return !isnan(fit_intercept(l));
}

double idle_learner_estimate(const struct idle_learner *l)
{
	double b;

	if (isnan(l->min_watts))
		return NAN;
	b = fit_intercept(l);
	if (isnan(b))
		return l->min_watts;
	return fmin(fmax(b, 0.0), l->min_watts);
}
