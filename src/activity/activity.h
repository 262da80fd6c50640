/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-process CPU activity for one interval, from eBPF (bpf.c) or, when eBPF
 * cannot be used, from /proc/<pid>/stat (procfs.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define ACTIVITY_COMM_LEN 16

struct proc_activity {
	uint32_t pid;       /* tgid: a process, not a thread */
	uint32_t ppid;      /* parent tgid, 0 unknown */
	uint64_t cgroup_id; /* cgroup v2 id (inode of the cgroup directory), 0 unknown */
	char comm[ACTIVITY_COMM_LEN];
	bool kernel_thread;
	bool exited;        /* ended during the interval: this is its last delta */
	/* Deltas over the interval. */
	uint64_t cpu_ns;
	uint64_t ctx_switches;
	uint64_t cycles;       /* 0 without hardware counters */
	uint64_t instructions; /* 0 without hardware counters */
	uint64_t cache_misses; /* 0 without hardware counters */
};

struct activity_delta {
	struct proc_activity *procs; /* owned by the activity object, valid until the next read */
	size_t n;
	uint64_t busy_ns;   /* on-CPU time of every task but the idle tasks, all CPUs */
	uint64_t idle_ns;   /* time the CPUs spent idle */
	uint32_t ncpus;
	bool has_counters;  /* cycles/instructions/cache_misses are real */
	uint64_t dropped_total; /* cumulative: events lost because a map was full */
};

struct activity;

/*
 * Open the source activity.source asks for. With auto: eBPF, else procfs; the
 * reason for a fallback is written to reason (one line) so main can log it.
 * An explicit source that cannot be opened is an error.
 */
int activity_new(struct activity **ret, const struct kepler_config *cfg, char *reason,
		 size_t reasonsz);
/* The activity since the previous read (the first read: since activity_new). */
int activity_read(struct activity *a, struct activity_delta *out);
const char *activity_source_name(const struct activity *a); /* "ebpf" or "procfs" */
void activity_free(struct activity *a);
