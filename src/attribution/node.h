/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Node energy accounting (DESIGN section 4): per CPU zone, per GPU and for the
 * whole platform, the interval's energy split into idle and active,
 * cumulative counters that never decrease, and the last interval's power.
 * Pure: fed with meter samples, no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "attribution/platform_model.h"
#include "zone.h"

struct node_zone {
	bool present;	   /* some meter reports this zone */
	uint64_t total_uj; /* cumulative since start */
	uint64_t idle_uj;
	uint64_t active_uj;
	uint64_t interval_uj;	     /* this interval's energy (0 when the read failed) */
	uint64_t interval_active_uj; /* this interval's active energy: what attribution shares */
	double watts;		     /* last interval */
	double idle_watts;
	double active_watts;
	double idle_estimate_w; /* current P_idle (configured or learned); NaN before any sample */
	uint64_t read_errors;	/* cumulative reads in which the zone could not be read */
};

/* The platform as a zone: how it is configured (power.idle.platform, power.platform.*). */
struct node_platform_cfg {
	double idle_w; /* >= 0 configured; < 0 learned */
	bool estimate; /* without a platform meter, estimate the platform with the model */
	double coef[PM_TERMS];
};

/* One reading of the node's meters: cumulative, wrap-safe energy per zone. */
struct node_reading {
	uint32_t zones;		    /* ZONE_BIT mask of CPU zones the node reports */
	uint32_t valid;		    /* zones read successfully this time */
	uint64_t zone_uj[ZONE_MAX]; /* cumulative, never decreasing */
	bool has_platform;
	bool platform_valid;
	uint64_t platform_uj;
	/* GPUs: each a zone of its own, its idle power learned against its own utilisation. */
	uint32_t n_gpus;
	uint32_t gpu_valid;	  /* bit i: GPU i read successfully this time */
	uint64_t gpu_uj[GPU_MAX]; /* cumulative, never decreasing */
	double gpu_util[GPU_MAX]; /* utilisation over the interval, 0..1; < 0 unknown */
};

struct node_acct;

/* idle_w[z] >= 0: configured idle watts for zone z; < 0: learn it. */
struct node_acct *node_acct_new(const double idle_w[ZONE_MAX]);
void node_acct_free(struct node_acct *n);

/* Replace the configured idle watts (SIGHUP); learned state is kept. */
void node_acct_set_idle(struct node_acct *n, const double idle_w[ZONE_MAX]);
/* The same for the GPUs: idle_w[i] >= 0 configured for GPU i, < 0 learned. */
void node_acct_set_gpu_idle(struct node_acct *n, const double idle_w[GPU_MAX]);
/* The same for the platform, and its model (at start and on SIGHUP). */
void node_acct_set_platform(struct node_acct *n, const struct node_platform_cfg *cfg);

/*
 * Account one interval: s holds the meters' cumulative readings, util the
 * node's CPU utilisation over the interval (0..1, < 0 unknown), now_ns the
 * monotonic time of the reading. The first call only sets the baseline (for a
 * GPU: its first good read). With a platform meter in s the platform model is
 * fitted to it; without one (and the estimate on) the platform is the model's.
 */
void node_acct_update(struct node_acct *n, const struct node_reading *s, double util,
		      uint64_t now_ns);

const struct node_zone *node_acct_zone(const struct node_acct *n, enum zone z);
/* The platform as a zone: present with a platform meter, or estimated. */
const struct node_zone *node_acct_platform(const struct node_acct *n);
/* Whether the platform zone is the model's estimate rather than a meter's. */
bool node_acct_platform_estimated(const struct node_acct *n);
/*
 * The platform model fitted to the platform meter so far, and the (decaying)
 * number of intervals it has seen: 0, or -EAGAIN (no meter, or too few yet).
 */
int node_acct_platform_fit(const struct node_acct *n, double coef[PM_TERMS], double *samples);
/* GPU i (< GPU_MAX) as a zone: present from the reading that first names it. */
const struct node_zone *node_acct_gpu(const struct node_acct *n, uint32_t i);
