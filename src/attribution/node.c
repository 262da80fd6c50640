// SPDX-License-Identifier: Apache-2.0
#include "attribution/node.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "attribution/idle.h"
#include "util/timeutil.h"

struct zone_state {
	struct node_zone pub;
	struct idle_learner *learner;
	double idle_cfg_w; /* < 0: learned */
	bool have_last;
	bool gap;	  /* reads failed since the last good one */
	uint64_t last_uj; /* meter's cumulative value at the last good read */
	uint64_t last_ns; /* and when it was taken */
};

struct node_acct {
	struct zone_state zone[ZONE_MAX];
	struct zone_state gpu[GPU_MAX]; /* learners allocated with a GPU's first reading */
	struct zone_state platform;
	struct node_platform_cfg platform_cfg;
	bool estimated;		 /* the platform is the model's */
	struct platform_fit fit; /* the model fitted to a platform meter */
	double estimate_uj;	 /* the model's cumulative energy */
	bool have_last;
	uint64_t last_ns; /* the last update, for the model's power */
};

struct node_acct *node_acct_new(const double idle_w[ZONE_MAX])
{
	struct node_acct *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	for (int z = 0; z < ZONE_MAX; z++) {
		n->zone[z].learner = idle_learner_new();
		if (!n->zone[z].learner) {
			node_acct_free(n);
			return NULL;
		}
		n->zone[z].pub.idle_estimate_w = NAN;
	}
	n->platform.learner = idle_learner_new();
	if (!n->platform.learner) {
		node_acct_free(n);
		return NULL;
	}
	n->platform.pub.idle_estimate_w = NAN;
	n->platform.idle_cfg_w = -1;
	for (int i = 0; i < GPU_MAX; i++) {
		n->gpu[i].pub.idle_estimate_w = NAN;
		n->gpu[i].idle_cfg_w = -1;
	}
	node_acct_set_idle(n, idle_w);
	return n;
}

void node_acct_free(struct node_acct *n)
{
	if (!n)
		return;
	for (int z = 0; z < ZONE_MAX; z++)
		idle_learner_free(n->zone[z].learner);
	for (int i = 0; i < GPU_MAX; i++)
		idle_learner_free(n->gpu[i].learner);
	idle_learner_free(n->platform.learner);
	free(n);
}

void node_acct_set_idle(struct node_acct *n, const double idle_w[ZONE_MAX])
{
	for (int z = 0; z < ZONE_MAX; z++) {
		n->zone[z].idle_cfg_w = idle_w[z];
		if (idle_w[z] >= 0)
			n->zone[z].pub.idle_estimate_w = idle_w[z];
	}
}

void node_acct_set_gpu_idle(struct node_acct *n, const double idle_w[GPU_MAX])
{
	for (int i = 0; i < GPU_MAX; i++) {
		n->gpu[i].idle_cfg_w = idle_w[i];
		if (idle_w[i] >= 0)
			n->gpu[i].pub.idle_estimate_w = idle_w[i];
	}
}

void node_acct_set_platform(struct node_acct *n, const struct node_platform_cfg *cfg)
{
	n->platform_cfg = *cfg;
	n->platform.idle_cfg_w = cfg->idle_w;
	if (cfg->idle_w >= 0)
		n->platform.pub.idle_estimate_w = cfg->idle_w;
}

static double per_second(uint64_t uj, uint64_t dt_ns)
{
	return dt_ns ? (double)uj / 1e6 / ((double)dt_ns / NSEC_PER_SEC) : 0.0;
}

static void zone_update(struct zone_state *zs, uint64_t cur_uj, double util, uint64_t now_ns)
{
	struct node_zone *p = &zs->pub;
	uint64_t e, e_idle, dt_ns;
	double p_idle, idle_cap_uj;

	p->interval_uj = 0;
	p->interval_active_uj = 0;
	if (!zs->have_last || cur_uj < zs->last_uj) {
		/* Baseline: the first read, or a meter that restarted from zero (energy we never
		 * saw). */
		zs->have_last = true;
		zs->last_uj = cur_uj;
		zs->last_ns = now_ns;
		zs->gap = false;
		return;
	}
	e = cur_uj - zs->last_uj;
	dt_ns = now_ns > zs->last_ns ? now_ns - zs->last_ns : 0;
	zs->last_uj = cur_uj;
	zs->last_ns = now_ns;

	p->watts = per_second(e, dt_ns);
	/*
	 * After failed reads the delta spans several intervals but the utilisation is only the
	 * last interval's: the learner gets the mean power with the utilisation unknown. A failed
	 * read itself feeds nothing (node_acct_update), nor does a read with no time since the
	 * last: its 0 W would be no measurement.
	 */
	if (zs->idle_cfg_w < 0 && dt_ns > 0 && zs->learner)
		idle_learner_add(zs->learner, zs->gap ? -1 : util, p->watts);
	zs->gap = false;
	p_idle = zs->idle_cfg_w >= 0 ? zs->idle_cfg_w
		 : zs->learner	     ? idle_learner_estimate(zs->learner)
				     : NAN;
	p->idle_estimate_w = p_idle;

	idle_cap_uj = isnan(p_idle) ? 0 : p_idle * ((double)dt_ns / 1e3);
	e_idle = idle_cap_uj >= (double)e ? e : (uint64_t)llround(idle_cap_uj);

	p->interval_uj = e;
	p->interval_active_uj = e - e_idle;
	p->total_uj += e;
	p->idle_uj += e_idle;
	p->active_uj += e - e_idle;
	p->idle_watts = per_second(e_idle, dt_ns);
	p->active_watts = per_second(e - e_idle, dt_ns);
}

/* One zone's reading: read or not. */
static void zone_read(struct zone_state *zs, bool valid, uint64_t cur_uj, double util,
		      uint64_t now_ns)
{
	struct node_zone *p = &zs->pub;

	if (valid) {
		zone_update(zs, cur_uj, util, now_ns);
		return;
	}
	/* Never zero energy: the next good read carries what this one missed. */
	p->read_errors++;
	p->interval_uj = 0;
	p->interval_active_uj = 0;
	zs->gap = true;
}

/* The model's inputs over the interval: the platform parts' power (measured or estimated). */
static struct pm_input model_input(const struct node_acct *n, const struct node_reading *s,
				   double util, uint64_t dt_ns)
{
	uint32_t parts = zone_components(s->zones);
	uint64_t cpu = 0, gpu = 0;

	for (int z = 0; z < ZONE_MAX; z++)
		if (parts & ZONE_BIT(z))
			cpu += n->zone[z].pub.interval_uj;
	for (uint32_t i = 0; i < s->n_gpus && i < GPU_MAX; i++)
		gpu += n->gpu[i].pub.interval_uj;
	return pm_input(per_second(cpu, dt_ns), per_second(gpu, dt_ns), util);
}

/* Whether every platform part was read this time (else its energy comes later). */
static bool parts_read(const struct node_reading *s)
{
	uint32_t parts = zone_components(s->zones);
	uint32_t gpus = s->n_gpus >= 32 ? ~0u : (1u << s->n_gpus) - 1;

	return (s->valid & parts) == parts && (s->gpu_valid & gpus) == gpus;
}

/*
 * The platform: a meter's reading, which the model is fitted to, or the model's
 * estimate integrated into a counter of its own. Either way a zone like the
 * others, its idle power learned against the CPU utilisation.
 */
static void platform_update(struct node_acct *n, const struct node_reading *s, double util,
			    uint64_t now_ns)
{
	struct zone_state *zs = &n->platform;
	uint64_t dt_ns = n->have_last && now_ns > n->last_ns ? now_ns - n->last_ns : 0;
	struct pm_input in = model_input(n, s, util, dt_ns);
	bool fit_ok = dt_ns && util >= 0 && parts_read(s);

	n->estimated = !s->has_platform && n->platform_cfg.estimate && s->zones;
	zs->pub.present = s->has_platform || n->estimated;
	if (s->has_platform) {
		bool whole = zs->have_last && !zs->gap && s->platform_uj >= zs->last_uj;

		zone_read(zs, s->platform_valid, s->platform_uj, util, now_ns);
		/* Only an interval the meter covered as the parts were: no gap, no restart. */
		if (fit_ok && whole && s->platform_valid)
			platform_fit_add(&n->fit, &in, zs->pub.watts);
		return;
	}
	if (!n->estimated)
		return;
	n->estimate_uj += platform_model_predict(n->platform_cfg.coef, &in) * ((double)dt_ns / 1e3);
	zone_read(zs, true, (uint64_t)n->estimate_uj, util, now_ns);
}

void node_acct_update(struct node_acct *n, const struct node_reading *s, double util,
		      uint64_t now_ns)
{
	for (int z = 0; z < ZONE_MAX; z++) {
		struct zone_state *zs = &n->zone[z];

		zs->pub.present = s->zones & ZONE_BIT(z);
		if (zs->pub.present)
			zone_read(zs, s->valid & ZONE_BIT(z), s->zone_uj[z], util, now_ns);
	}
	for (uint32_t i = 0; i < s->n_gpus && i < GPU_MAX; i++) {
		struct zone_state *zs = &n->gpu[i];

		/* Without memory for its learner a GPU is still measured, its idle unknown. */
		if (!zs->learner)
			zs->learner = idle_learner_new();
		zs->pub.present = true;
		zone_read(zs, s->gpu_valid & (1u << i), s->gpu_uj[i], s->gpu_util[i], now_ns);
	}

	platform_update(n, s, util, now_ns);
	n->have_last = true;
	n->last_ns = now_ns;
}

const struct node_zone *node_acct_zone(const struct node_acct *n, enum zone z)
{
	return &n->zone[z].pub;
}

const struct node_zone *node_acct_platform(const struct node_acct *n)
{
	return &n->platform.pub;
}

bool node_acct_platform_estimated(const struct node_acct *n)
{
	return n->estimated;
}

int node_acct_platform_fit(const struct node_acct *n, double coef[PM_TERMS], double *samples)
{
	*samples = n->fit.n;
	return n->estimated ? -EAGAIN : platform_fit_solve(&n->fit, coef);
}

const struct node_zone *node_acct_gpu(const struct node_acct *n, uint32_t i)
{
	return &n->gpu[i].pub;
}
