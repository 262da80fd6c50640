/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metric families (DESIGN section 5), rendered once per interval into
 * the Prometheus text the HTTP server then serves as an immutable body.
 */
#pragma once

#include <stdint.h>

#include "attribution/node.h"
#include "config.h"
#include "util/strbuf.h"
#include "workload/process.h"
#include "workload/workloads.h"

enum exporter_stage {
	STAGE_ACTIVITY,
	STAGE_POWER,
	STAGE_ATTRIBUTION,
	STAGE_RENDER,
	STAGE_MAX,
};

/* The agent's own health (kepler_exporter_*). */
struct exporter_stats {
	uint64_t intervals;
	double interval_seconds;     /* wall time of the last interval's work */
	double interval_cpu_seconds; /* CPU time of the last interval's work */
	uint64_t errors[STAGE_MAX];
	uint64_t bpf_dropped;
	uint64_t bpf_unseen;
	uint64_t scrapes;
	uint64_t http_requests;
};

struct render_input {
	const struct kepler_config *cfg;
	const struct node_acct *node;
	double cpu_util; /* last interval, 0..1; < 0 unknown */
	uint64_t dt_ns;	 /* last interval's length */
	struct proc_table *procs;
	struct workloads *workloads;
	const char *cpu_model;
	const char *cpu_power_source;
	const char *platform_power_source;
	const char *activity_source;
	const char *zone_source[ZONE_MAX];
	const char *idle_method[ZONE_MAX]; /* "configured", "model" or "learned" */
	const struct exporter_stats *stats;
};

/* Render every enabled family into sb. Returns 0 or -errno (a writer or memory error). */
int render_metrics(struct strbuf *sb, const struct render_input *in);
