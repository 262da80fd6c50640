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
	uint32_t pid;	    /* tgid: a process, not a thread */
	uint32_t ppid;	    /* parent tgid, 0 unknown */
	uint64_t cgroup_id; /* cgroup v2 id (inode of the cgroup directory), 0 unknown */
	char comm[ACTIVITY_COMM_LEN];
	bool kernel_thread;
	/*
	 * Ended during the interval. eBPF: usually at most one more record for
	 * the same (pid, start_time), also exited, follows at the next read with
	 * the residue of its final context switch, then the process is gone; a
	 * thread whose last switch comes later (a zombie waiting for a CPU on a
	 * busy machine) yields one more such record when it does. procfs: its
	 * delta is 0 (the last slice before it vanished is not visible).
	 */
	bool exited;
	/*
	 * When the process started, ns: with pid, it tells a recycled pid from
	 * the old process. eBPF: CLOCK_MONOTONIC of the group leader's start;
	 * procfs: /proc/<pid>/stat starttime (since boot, clock-tick resolution).
	 */
	uint64_t start_time_ns;
	/* Deltas over the interval. */
	uint64_t cpu_ns;
	uint64_t cycles;       /* 0 without hardware counters */
	uint64_t cache_misses; /* 0 without hardware counters */
};

/*
 * Processes without any activity in the interval (and not exited) are left
 * out, so a node of sleeping processes yields a short list.
 */
struct activity_delta {
	struct proc_activity *procs; /* owned by the activity object, valid until the next read */
	size_t n;
	uint64_t busy_ns;	/* on-CPU time of every task but the idle tasks, all CPUs */
	uint64_t idle_ns;	/* time the CPUs spent idle */
	uint32_t ncpus;		/* online CPUs: busy_ns + idle_ns is about elapsed * ncpus */
	bool has_counters;	/* cycles and cache_misses are real */
	uint64_t dropped_total; /* cumulative: events lost because a map was full */
	uint64_t unseen_total;	/* cumulative, eBPF: switches the kernel did not report */
};

struct activity;

#define ACTIVITY_DEFAULT_MAX_PROCESSES 32768

/* Tunables of activity_new_opts(); zeroed means the defaults. */
struct activity_opts {
	uint32_t max_processes; /* eBPF process map entries; 0: ACTIVITY_DEFAULT_MAX_PROCESSES */
	bool force_raw_tp;	/* load the raw_tp variant even where tp_btf works (tests) */
};

/*
 * Open the source activity.source asks for. With auto: eBPF, else procfs; the
 * reason for a fallback is written to reason (one line) so main can log it.
 * An explicit source that cannot be opened is an error.
 */
int activity_new(struct activity **ret, const struct kepler_config *cfg, char *reason,
		 size_t reasonsz);
int activity_new_opts(struct activity **ret, const struct kepler_config *cfg,
		      const struct activity_opts *opts, char *reason, size_t reasonsz);
/* The activity since the previous read (the first read: since activity_new). */
int activity_read(struct activity *a, struct activity_delta *out);
const char *activity_source_name(const struct activity *a); /* "ebpf" or "procfs" */
/* How it is attached: "tp_btf" or "raw_tp" for eBPF, "procfs" otherwise. */
const char *activity_attach_mode(const struct activity *a);
void activity_free(struct activity *a);
