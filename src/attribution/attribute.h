/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-process split of each zone's active energy (DESIGN section 4), and
 * the bounded set of processes exported as their own series. Numbers in,
 * numbers out: the caller (workload/) owns the processes and their
 * identities and hands over each one's attribution state.
 *
 * Every joule of a zone's active energy ends in exactly one exported series:
 * a process's own series (from the interval it got one), or an "other"
 * account that the caller names per process (its container's, its VM's, or
 * the node's), which also takes a process's series when it ends or changes
 * identity. So at every interval the process series plus the "other" series
 * sum to the node's active energy, a container's processes plus its "other"
 * to the container, and every counter only grows.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attribution/account.h"
#include "attribution/retention.h"
#include "zone.h"

/* Attribution's part of one tracked process. */
struct attr_proc {
	struct account acct; /* all its energy, for its groups' sums */
	/*
	 * Its own exported series, since it got one; NULL while it has none. Apart,
	 * because at most maxProcesses have one: 10,000 processes do not each carry it.
	 */
	struct account *series;
	struct account *fold; /* its "other": set by the caller before attributor_run */
	struct lifecycle life;
	uint64_t cycles; /* this interval's hardware counts, 0 without counters */
	uint64_t cache_misses;
};

/* This interval's activity of p (its CPU time is p->acct.interval_cpu_ns). */
static inline void attr_proc_charge(struct attr_proc *p, uint64_t cpu_ns, uint64_t cycles,
				    uint64_t cache_misses)
{
	p->acct.cpu_ns += cpu_ns;
	p->acct.interval_cpu_ns += cpu_ns;
	p->cycles += cycles;
	p->cache_misses += cache_misses;
}

/* What a zone's active energy follows. */
enum attr_feature {
	FEATURE_CPU_TIME,
	FEATURE_CYCLES,
	FEATURE_CACHE_MISSES,
};

/*
 * Cycles for package and core, cache misses for dram, where the hardware
 * counted some this interval; on-CPU time otherwise and for the other zones.
 */
enum attr_feature attr_zone_feature(enum zone z, bool has_counters, uint64_t cycles,
				    uint64_t cache_misses);

/*
 * One process's use of one GPU in the interval. The caller (workload/) names
 * the process by pid and sets p to its attribution state (NULL: not tracked,
 * the use is left out).
 */
struct attr_gpu_use {
	uint32_t pid;
	uint32_t gpu;	 /* < GPU_MAX */
	uint64_t weight; /* its use of that GPU, comparable between that GPU's processes */
	double util;	 /* its compute utilisation of that GPU, 0..1; < 0 unknown */
	struct attr_proc *p;
};

/* The GPUs' share of an interval. */
struct attr_gpus {
	uint32_t n;		     /* GPUs, numbered 0 .. n-1 (n <= GPU_MAX) */
	uint64_t active_uj[GPU_MAX]; /* each GPU's active energy this interval */
	struct attr_gpu_use *uses;
	size_t n_uses;
};

struct attributor;

/*
 * max_shown bounds the processes exported as their own series
 * (exporter.prometheus.maxProcesses): a process once shown stays shown while it
 * is tracked; free places go to the processes with the most energy.
 */
struct attributor *attributor_new(uint32_t max_shown);
void attributor_free(struct attributor *a);
/* A new maxProcesses (SIGHUP): a lower bound takes effect as shown processes end. */
void attributor_set_max_shown(struct attributor *a, uint32_t max_shown);

/* Start an interval for p: its interval figures and features back to zero. */
void attr_proc_begin(struct attr_proc *p);
/* Free what p holds without moving its series anywhere: p is dropped (its series retired) or
 * the agent is stopping. */
void attr_proc_release(struct attr_proc *p);

/*
 * One interval: split active_uj[z] (zones in the zones mask) over procs by each
 * zone's feature, and each GPU's active energy over the processes that used it
 * by their weights (evenly when every weight is 0: they held it but no sample
 * says how much), and the platform's active energy platform_uj (0 without a
 * platform zone) by the energy each got of the platform's parts measured on
 * their own (docs/attribution.md); then give the free places among the series
 * (a process that cannot have one for want of memory folds), then add each
 * process's interval to its own series if it has one, else to its fold account.
 * Energy no process used (no activity at all) goes to the node's "other".
 * Every p->fold must be set; gpus may be NULL (no GPU). Every use's p must be
 * among procs. Returns 0 or -ENOMEM (nothing attributed).
 */
int attributor_run(struct attributor *a, struct attr_proc *const *procs, size_t n,
		   const uint64_t active_uj[ZONE_MAX], uint32_t zones, bool has_counters,
		   const struct attr_gpus *gpus, uint64_t platform_uj);

/*
 * p leaves its series: it is dropped, its pid was reused, or its identity
 * changed (its series' labels would change). What its series showed moves to
 * its fold account, so no exported sum ever falls; p starts without a series.
 */
void attributor_retire(struct attributor *a, struct attr_proc *p);

/*
 * A group's "other" that stops being exported (the group was evicted) joins the
 * node's. 0, or -ENOMEM (nothing moved: the group must stay).
 */
int attributor_absorb(struct attributor *a, const struct account *other);

/* The node's "other": processes in no group, energy nobody used, evicted groups. */
const struct account *attributor_node_other(const struct attributor *a);
/* The node's "other" account, to name as a process's fold account. */
struct account *attributor_node_fold(struct attributor *a);
uint32_t attributor_shown(const struct attributor *a);
