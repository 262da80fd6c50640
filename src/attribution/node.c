// SPDX-License-Identifier: Apache-2.0
#include "attribution/node.h"

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
	struct node_platform platform;
	bool platform_have_last;
	uint64_t platform_last_uj;
	uint64_t platform_last_ns;
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

	n->platform.present = s->has_platform;
	if (!s->has_platform)
		return;
	if (!s->platform_valid) {
		n->platform.read_errors++;
		return;
	}
	if (n->platform_have_last && s->platform_uj >= n->platform_last_uj) {
		uint64_t e = s->platform_uj - n->platform_last_uj;

		n->platform.total_uj += e;
		n->platform.watts = per_second(e, now_ns - n->platform_last_ns);
	}
	n->platform_have_last = true;
	n->platform_last_uj = s->platform_uj;
	n->platform_last_ns = now_ns;
}

const struct node_zone *node_acct_zone(const struct node_acct *n, enum zone z)
{
	return &n->zone[z].pub;
}

const struct node_platform *node_acct_platform(const struct node_acct *n)
{
	return &n->platform;
}

const struct node_zone *node_acct_gpu(const struct node_acct *n, uint32_t i)
{
	return &n->gpu[i].pub;
}
