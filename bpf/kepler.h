/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Structures shared by the BPF program (kepler.bpf.c) and user space
 * (src/activity/bpf.c). Fixed-width __u32/__u64 only, laid out without holes,
 * so both sides agree on every offset.
 */
#pragma once

#define KEPLER_COMM_LEN 16

/* proc_stats.flags */
#define KEPLER_PROC_EXITED (1u << 0)  /* the whole thread group has passed do_exit() */
#define KEPLER_PROC_KTHREAD (1u << 1) /* PF_KTHREAD */

/*
 * A process: its tgid and the start time of its group leader
 * (task->group_leader->start_time, CLOCK_MONOTONIC ns). A recycled tgid is a
 * different key, so a new process never adds to a dead one's entry.
 */
struct proc_key {
	__u32 tgid;
	__u32 pad; /* always 0 */
	__u64 start_time;
};

/*
 * Per process, cumulative since the entry was created. The kernel only ever
 * adds to the counters; user space emits differences. Every field has a
 * consumer: the counters feed attribution (cycles and cache misses only with
 * have_counters), the identity the workload layer.
 */
struct proc_stats {
	__u64 cpu_ns;
	__u64 cycles;
	__u64 cache_misses;
	__u64 cgroup_id; /* cgroup v2 id (kernfs node id) at first sight, updated at exec */
	__u32 ppid;	 /* real_parent->tgid at first sight */
	__u32 flags;	 /* KEPLER_PROC_* */
	char comm[KEPLER_COMM_LEN];
};

/*
 * Per CPU (a per-CPU array of one element). busy_ns, dropped and unseen are
 * cumulative; the rest is the state of the CPU's previous switch.
 */
struct cpu_stats {
	__u64 base; /* se.sum_exec_runtime of the task on the CPU when it got it (or at a flush) */
	__u64 busy_ns; /* runtime of every task but the idle task */
	__u64 dropped; /* events lost because the process map was full */
	__u64 last_cycles;
	__u64 last_cache_misses;
	__u64 cur_task; /* the task on the CPU (its address): a switch whose prev differs
			   was preceded by an unseen one */
	__u64 unseen; /* switches whose prev was not the task the previous switch put on the CPU */
	__u32 valid;  /* base describes the task now on the CPU */
	__u32 pad;
};
