/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside the activity subsystem: the two sources behind activity.c and the
 * pure functions they use (tested from tables in tests/unit/test_procfs.c and
 * tests/unit/test_bpf.c).
 */
#pragma once

#include <linux/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "activity/activity.h"
#include "bpf/kepler.h"
#include "config.h"

/* ---- pure parsers (procfs.c) ---- */

#define PF_KTHREAD 0x00200000u

/* The fields of /proc/<pid>/stat we use. */
struct pid_stat {
	uint32_t pid;
	uint32_t ppid;
	char comm[ACTIVITY_COMM_LEN]; /* truncated to 15 characters, NUL-terminated */
	char state;
	uint64_t flags;	    /* field 9: PF_* */
	uint64_t utime;	    /* field 14, clock ticks */
	uint64_t stime;	    /* field 15, clock ticks */
	uint64_t starttime; /* field 22, clock ticks after boot */
};

/*
 * One /proc/<pid>/stat line. comm may hold spaces and parentheses: it runs
 * from the first '(' to the last ')'. -EINVAL on anything malformed.
 */
int parse_pid_stat(const char *line, struct pid_stat *ret);

/* Number of CPUs in a list such as "0-3,6,8-9" (sysfs cpu/online). */
int parse_cpu_list(const char *s, uint32_t *ret_count);

/* ---- the eBPF drain's accounting (bpf.c) ---- */

/*
 * The cumulative fields of a drain record (struct proc_stats) that user space
 * differences, in this order in the last[] of a process; the counters only
 * with has_counters.
 */
enum { BPF_LAST_CPU, BPF_LAST_CYCLES, BPF_LAST_CACHE_MISSES, BPF_LAST_MAX };

static inline int bpf_last_fields(bool has_counters)
{
	return has_counters ? BPF_LAST_MAX : BPF_LAST_CPU + 1;
}

#define BPF_RECORD_EMIT (1 << 0)   /* *ret holds the process's activity */
#define BPF_RECORD_DELETE (1 << 1) /* exited at an earlier drain: delete its map entry */

/*
 * One record of the eBPF process map turned into the process's activity since
 * the previous drain (the comment at the top of bpf.c, points 1 and 3): each
 * cumulative field minus the value last read, last[] (bpf_last_fields() of
 * them, zeros for a process not seen before), which is advanced; a value
 * lower than the last emits 0 and keeps the last. *exit_seen tells whether an
 * earlier drain reported the exit, and is set when this one does. Returns
 * BPF_RECORD_* flags: EMIT for any activity or a first-reported exit (*ret is
 * written only then), DELETE for an exit reported before.
 */
int bpf_record_account(const struct proc_key *k, const struct proc_stats *v, bool has_counters,
		       uint64_t *last, bool *exit_seen, struct proc_activity *ret);

/* ---- the per-read output array (activity.c) ---- */

struct proc_out {
	struct proc_activity *v;
	size_t n, cap;
};

/* A zeroed record at the end; -ENOMEM. */
int proc_out_push(struct proc_out *o, struct proc_activity **ret);
/*
 * Empty the array for the next read, shrinking it when the last reads used a
 * small part of it (a burst of processes must not hold memory for ever).
 */
void proc_out_reset(struct proc_out *o);
void proc_out_free(struct proc_out *o);

/* ---- capabilities (caps.c) ---- */

#define KCAP_DAC_READ_SEARCH 2
#define KCAP_SYS_PTRACE 19
#define KCAP_SYS_ADMIN 21
#define KCAP_PERFMON 38
#define KCAP_BPF 39

static inline bool cap_has(uint64_t capeff, int cap)
{
	return (capeff >> cap) & 1;
}

/*
 * Whether capeff allows loading and attaching the tracing programs: CAP_BPF
 * and CAP_PERFMON (5.8+), or CAP_SYS_ADMIN. 0, or -EPERM with a message naming
 * what is missing written to why.
 */
int caps_check_ebpf(uint64_t capeff, char *why, size_t whysz);

/* ---- sources ---- */

struct bpf_source;
int bpf_source_new(struct bpf_source **ret, const struct kepler_config *cfg,
		   const struct activity_opts *opts, char *why, size_t whysz);
int bpf_source_read(struct bpf_source *s, struct activity_delta *out);
/* "tp_btf" or "raw_tp" (why raw_tp: in bpf_source_note) */
const char *bpf_source_attach_mode(const struct bpf_source *s);
/*
 * Non-empty when the source runs with less than it could: raw_tp and why, no
 * hardware counters and why.
 */
const char *bpf_source_note(const struct bpf_source *s);
void bpf_source_free(struct bpf_source *s);

struct procfs_source;
int procfs_source_new(struct procfs_source **ret, const struct kepler_config *cfg, char *why,
		      size_t whysz);
int procfs_source_read(struct procfs_source *s, struct activity_delta *out);
void procfs_source_free(struct procfs_source *s);

/* Online CPUs from <sysfs>/devices/system/cpu/online, else sysconf. */
uint32_t online_cpus(const char *sysfs);
