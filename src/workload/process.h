/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process table: every process seen, its cumulative CPU time and energy
 * per zone. Fed once per interval from the activity source and the node's
 * active energy; exited processes keep their energy, are exported as
 * terminated until a scrape has seen them, and are then dropped (at most
 * monitor.maxTerminated kept, the largest energy first).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "activity/activity.h"
#include "zone.h"

/*
 * What a process belongs to, resolved once when it is first seen (workloads.c).
 * The strings are interned in the table's string set (proc_table_strings):
 * thousands of processes share a few container ids and executables.
 */
struct process_identity {
	bool resolved;
	uint8_t runtime;	  /* enum container_runtime */
	const char *container_id; /* NULL none */
	const char *pod_uid;	  /* NULL none */
	const char *vm_id;	  /* qemu -uuid, else the VM's name; NULL none */
	const char *exe;	  /* NULL unknown */
};

struct process {
	uint32_t pid;
	uint32_t ppid;
	uint64_t cgroup_id;
	char comm[ACTIVITY_COMM_LEN];
	bool kernel_thread;
	bool terminated;
	uint64_t cpu_ns;	  /* cumulative */
	uint64_t interval_cpu_ns; /* this interval */
	uint64_t interval_cycles; /* this interval; 0 without hardware counters */
	uint64_t interval_cache_misses;
	uint64_t energy_uj[ZONE_MAX]; /* cumulative active energy */
	uint64_t interval_uj[ZONE_MAX];
	bool shown;		/* exported as its own series (see proc_table_update) */
	uint64_t scrape_mark;	/* terminated: scrape count when first published */
	uint64_t seen_interval; /* last interval with activity */
	struct process_identity id;
};

/* Everything not shown as its own series, accumulated interval by interval. */
struct process_other {
	uint64_t cpu_ns;
	uint64_t energy_uj[ZONE_MAX];
	uint64_t interval_uj[ZONE_MAX];
};

struct proc_table;

/*
 * max_shown bounds the processes exported as their own series
 * (exporter.prometheus.maxProcesses): a process once shown stays shown while
 * it is in the table, so its counters never jump; free places go to the
 * highest-energy processes; the rest is summed into "other", which only ever
 * grows. A process promoted to its own series brings its whole history, so
 * at that moment the series sum counts its earlier energy twice.
 */
struct proc_table *proc_table_new(uint32_t max_terminated, uint32_t max_shown);
void proc_table_free(struct proc_table *t);
/* A new maxProcesses (SIGHUP): a lower bound takes effect as shown processes end. */
void proc_table_set_max_shown(struct proc_table *t, uint32_t max_shown);

/*
 * One interval: drop terminated processes a scrape has already seen (scrapes is
 * the cumulative count of /metrics scrapes), merge the activity deltas, then
 * split each zone's active energy (active_uj[z] for the zones in zones) over
 * the processes by the zone's feature: cycles (package, core) or cache misses
 * (dram) when d has hardware counters, CPU time otherwise. Returns 0 or -ENOMEM.
 */
int proc_table_update(struct proc_table *t, const struct activity_delta *d,
		      const uint64_t active_uj[ZONE_MAX], uint32_t zones, uint64_t scrapes);

size_t proc_table_count(const struct proc_table *t);
/* Where process identities keep their strings. */
struct intern *proc_table_strings(struct proc_table *t);
const struct process_other *proc_table_other(const struct proc_table *t);
/* The processes in no particular order, valid until the next update. */
int proc_table_list(struct proc_table *t, struct process ***ret, size_t *ret_n);
/* The processes, ordered by total energy (all zones) then CPU time, largest first. */
int proc_table_sorted(struct proc_table *t, const struct process ***ret, size_t *ret_n);
