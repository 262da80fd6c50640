/* SPDX-License-Identifier: Apache-2.0 */
/* Building the interval's snapshot from the live tables (the collector thread only). */
#pragma once

#include "attribution/node.h"
#include "power/gpu.h"
#include "snapshot/idle_share.h"
#include "snapshot/snapshot.h"
#include "util/cpuinfo.h"
#include "workload/workloads.h"

struct snapshot_input {
	uint32_t metrics_levels;
	uint32_t compat;	       /* COMPAT_* */
	const char *node_name;	       /* never NULL */
	const struct cpuinfo *cpuinfo; /* NULL: none read */
	struct idle_ledger *idle;      /* compat v0.7: the idle shares so far; else NULL */
	uint64_t dt_ns;
	double cpu_util;
	const char *cpu_model, *cpu_power_source, *platform_power_source, *activity_source;
	const char *zone_source[ZONE_MAX];
	const char *idle_method[ZONE_MAX];
	const char *platform_idle_method;
	const double *platform_coef; /* the configured platform model, for an estimated platform */
	size_t n_gpus;
	const struct gpu_info *gpu[GPU_MAX];
	const char *gpu_idle_method[GPU_MAX];
	const struct node_acct *node;
	struct workloads *workloads;
	const struct exporter_stats *stats;
	double start_time_seconds; /* the agent's, since the epoch; < 0 unknown */
};

/*
 * Copy what the interval published into a new snapshot: the shown processes
 * (found in one pass, sorted among themselves only) and every "other" series,
 * the groups, and the agent's own process figures (read from /proc/self: they
 * describe this process, not the host that host.procfs points at). Returns 0
 * or -ENOMEM.
 */
int snapshot_build(struct snapshot **ret, const struct snapshot_input *in);

/* The agent's start time since the epoch from /proc (boot time + start ticks); < 0 unknown. */
double snapshot_self_start_time(void);
