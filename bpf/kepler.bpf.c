// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Kernel side of the activity collector: per-process on-CPU time and (when
 * the PMU exists) cycles and cache misses, charged at every context switch to
 * the task going off the CPU. Only what user space consumes is counted: each
 * add here is paid on every switch.
 *
 * Cost model: one per-CPU baseline (the scheduler runtime of the task that
 * got the CPU at the previous switch), no per-thread map, no clock read (it
 * was the largest cost: about 35 ns in a VM). A switch charges prev into a
 * small per-CPU cache of pending charges (a direct-mapped slot per process,
 * plain adds): the hash lookup and the atomic adds on the process map, about
 * two thirds of the cost, are paid only when a process has no slot. A CPU's
 * pending charges move to the process map when user space flushes the CPU
 * before each drain. A switch to or from the idle task (pid 0) charges
 * nothing: the node's idle time is the kernel's own idle accounting, which
 * user space reads from /proc/stat. The identity of a process (comm, cgroup,
 * parent) is read only the first time it is seen.
 *
 * Dual-licensed so that the kernel accepts the GPL-only helpers it calls
 * (bpf_probe_read_kernel, bpf_perf_event_read_value).
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kepler.h"

#define PF_EXITING 0x00000004
#define PF_KTHREAD 0x00200000
#define EEXIST 17
/* Longest slice the fallback of an unseen switch will believe (a bound, not a budget). */
#define MAX_SLICE_NS (10ULL * 1000 * 1000 * 1000)
/* The fair class's policies (include/uapi/linux/sched.h). */
#define SCHED_NORMAL 0
#define SCHED_BATCH 3
#define SCHED_IDLE 5

/* Set by user space before load. */
const volatile bool have_counters = false; /* the perf_event arrays hold an event per CPU */

/* Process map; user space sizes it with bpf_map__set_max_entries. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, struct proc_key);
	__type(value, struct proc_stats);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_stats);
} cpus SEC(".maps");

/*
 * Charges not yet in the process map, per CPU. Slots are claimed on first use
 * in an interval and all freed by the flush: the processes that switch most
 * often claim them first after each flush. A process whose slot is taken by
 * another is charged in the map directly. An exiting task claims none: user
 * space may delete its process's entry before the next flush.
 */
#define PENDING_SLOTS 64 /* a power of two */

/* What one switch (or flush) charges to a process. */
struct charge {
	__u64 cpu_ns;
	__u64 cycles;
	__u64 cache_misses;
};

struct pending_slot {
	__u32 tgid;
	__u32 used;
	__u64 start_time;
	struct charge c;
};

struct pending {
	struct pending_slot slot[PENDING_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pending);
} pending SEC(".maps");

/* One perf event per CPU each (max_entries 0: libbpf sizes it to the possible CPUs). */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} cycles_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} cache_misses_events SEC(".maps");

/*
 * The cgroup v2 id of a task: the kernfs node id of its default-hierarchy
 * cgroup, which is the inode number of the cgroup directory (what
 * bpf_get_current_cgroup_id() returns for current). kn->id is a u64 since
 * commit 67c0496e87d1 ("kernfs: convert kernfs_node->id from union
 * kernfs_node_id to u64", v5.5). Older kernels are not supported: probing for
 * the old union with bpf_core_type_exists() makes libbpf search module BTF,
 * which needs CAP_SYS_ADMIN and so breaks the least-privilege set
 * (CAP_BPF + CAP_PERFMON); tp_btf itself needs 5.5.
 */
static __always_inline __u64 task_cgroup_id(struct task_struct *task)
{
	struct kernfs_node *kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn);

	return kn ? BPF_CORE_READ(kn, id) : 0;
}

/* comm (of the group leader), parent, cgroup and kthread flag of a process. */
static __always_inline void read_identity(struct proc_stats *st, struct task_struct *task)
{
	BPF_CORE_READ_STR_INTO(&st->comm, task, group_leader, comm);
	st->ppid = BPF_CORE_READ(task, real_parent, tgid);
	st->cgroup_id = task_cgroup_id(task);
	if (BPF_CORE_READ(task, flags) & PF_KTHREAD)
		st->flags |= KEPLER_PROC_KTHREAD;
}

/* Into the process map, which other CPUs update too. */
static __always_inline void add(struct proc_stats *v, const struct charge *c)
{
	__sync_fetch_and_add(&v->cpu_ns, c->cpu_ns);
	if (have_counters) {
		__sync_fetch_and_add(&v->cycles, c->cycles);
		__sync_fetch_and_add(&v->cache_misses, c->cache_misses);
	}
}

/*
 * Into a pending slot: plain adds, because only this CPU touches it and its
 * switch and flush programs never interleave (see flush).
 */
static __always_inline void add_pending(struct charge *p, const struct charge *c)
{
	p->cpu_ns += c->cpu_ns;
	if (have_counters) {
		p->cycles += c->cycles;
		p->cache_misses += c->cache_misses;
	}
}

/*
 * First sight of a process: create its entry holding this first charge.
 * Kept out of line so the common path (entry exists) stays short. A process
 * whose every thread has passed do_exit() is created exited: it is a thread's
 * last switches after user space deleted the entry (a zombie preempted after
 * its exit waits for a CPU, as long as a throttled cgroup or a saturated CPU
 * keeps it waiting) or after an exit that found the map full, and user space
 * deletes this entry one drain after it emits the residue.
 */
static __noinline int first_sight(struct task_struct *task, struct proc_key *key,
				  const struct charge *c, __u32 flags)
{
	struct proc_stats st = {};
	struct proc_stats *v;
	long err;

	if (!key)
		return 0;
	read_identity(&st, task);
	if (BPF_CORE_READ(task, signal, live.counter) == 0)
		flags |= KEPLER_PROC_EXITED;
	st.flags |= flags;
	if (c) {
		st.cpu_ns = c->cpu_ns;
		if (have_counters) {
			st.cycles = c->cycles;
			st.cache_misses = c->cache_misses;
		}
	}
	err = bpf_map_update_elem(&procs, key, &st, BPF_NOEXIST);
	if (err == 0)
		return 0;
	if (err == -EEXIST) {
		/* Another CPU created it between our lookup and update. */
		v = bpf_map_lookup_elem(&procs, key);
		if (v) {
			if (c)
				add(v, c);
			v->flags |= flags;
			return 0;
		}
	}
	return -1; /* map full: the caller counts a drop */
}

static __always_inline void read_counters(struct cpu_stats *cs, struct charge *c)
{
	struct bpf_perf_event_value v;

	if (!bpf_perf_event_read_value(&cycles_events, BPF_F_CURRENT_CPU, &v, sizeof(v))) {
		c->cycles = cs->last_cycles ? v.counter - cs->last_cycles : 0;
		cs->last_cycles = v.counter;
	}
	if (!bpf_perf_event_read_value(&cache_misses_events, BPF_F_CURRENT_CPU, &v, sizeof(v))) {
		c->cache_misses = cs->last_cache_misses ? v.counter - cs->last_cache_misses : 0;
		cs->last_cache_misses = v.counter;
	}
}

/*
 * Add one charge to the process (tgid, start_time): to its pending slot on
 * this CPU when it holds one, else to the process map (creating its entry on
 * first sight), claiming the slot if it is free. A slot is claimed only for a
 * process whose entry exists, so that the flush always finds it.
 */
static __always_inline void charge_proc(struct cpu_stats *cs, struct task_struct *task, __u32 tgid,
					__u64 start_time, const struct charge *c)
{
	struct pending_slot *slot = NULL;
	struct proc_key key = {};
	struct proc_stats *v;
	struct pending *pd;
	__u32 zero = 0;

	pd = bpf_map_lookup_elem(&pending, &zero);
	if (pd) {
		/* Fibonacci hashing: consecutive tgids land in distant slots. */
		slot = &pd->slot[(tgid * 2654435761u) >> 26 & (PENDING_SLOTS - 1)];
		if (slot->used && slot->tgid == tgid && slot->start_time == start_time) {
			add_pending(&slot->c, c);
			return;
		}
	}
	key.tgid = tgid;
	key.start_time = start_time;
	v = bpf_map_lookup_elem(&procs, &key);
	if (v) {
		add(v, c);
	} else if (first_sight(task, &key, c, 0)) {
		cs->dropped++;
		return;
	}
	if (slot && !slot->used && !(BPF_CORE_READ(task, flags) & PF_EXITING)) {
		slot->tgid = tgid;
		slot->start_time = start_time;
		slot->used = 1;
	}
}

/* Move this CPU's pending charges into the process map and free the slots. */
static __always_inline void flush_pending(struct cpu_stats *cs)
{
	struct pending *pd;
	__u32 zero = 0;

	pd = bpf_map_lookup_elem(&pending, &zero);
	if (!pd)
		return;
	for (int i = 0; i < PENDING_SLOTS; i++) {
		struct pending_slot *slot = &pd->slot[i];
		struct proc_key key = {};
		struct proc_stats *v;

		if (!slot->used)
			continue;
		key.tgid = slot->tgid;
		key.start_time = slot->start_time;
		v = bpf_map_lookup_elem(&procs, &key);
		/* Never deleted under a slot (src/activity/bpf.c, point 3): counted if it were. */
		if (v)
			add(v, &slot->c);
		else
			cs->dropped++;
		__builtin_memset(slot, 0, sizeof(*slot));
	}
}

/*
 * The runtime of a task's current slice, for when this CPU's baseline belongs
 * to another task: a switch was not seen. It happens: this development VM's
 * kernel never emits sched_switch for switches out of its init's threads
 * (tracefs shows the same). The task then got the CPU after this CPU's last
 * seen switch or flush, so nothing of this slice has been charged yet, and
 * the fair class records where the slice started (se.prev_sum_exec_runtime,
 * set when a task gets the CPU). Other classes do not keep it: their slice
 * is lost and counted as unseen only.
 */
static __always_inline __u64 unseen_slice(__u32 policy, __u64 sum, __u64 slice_start)
{
	if (policy != SCHED_NORMAL && policy != SCHED_BATCH && policy != SCHED_IDLE)
		return 0;
	return sum > slice_start && sum - slice_start < MAX_SLICE_NS ? sum - slice_start : 0;
}

/*
 * A field of a task: a plain load where tp_btf typed the pointer, a CO-RE
 * probe read in the raw_tp variant. btf is a constant in every caller of
 * charge_cpu, so each program compiles to one kind.
 */
#define TASK_READ(btf, t, field) ((btf) ? (t)->field : BPF_CORE_READ(t, field))

/*
 * This CPU goes from prev to next: at a context switch, or at a flush (the
 * running task to itself).
 *
 * prev is charged the scheduler's own runtime for the slice it ran since this
 * CPU's previous event: se.sum_exec_runtime now (the scheduler updated it for
 * prev before the switch tracepoint; a flush sees it as of the last tick)
 * minus its value then, which that event recorded as the CPU's baseline. That
 * is one per-CPU value, no per-thread state, no clock read, and exactly what
 * getrusage() and /proc/<pid>/stat report. The idle task is not work: its time
 * is the kernel's idle time, not counted here. The fields only an unseen
 * switch needs are read only then.
 */
static __always_inline void charge_cpu(bool btf, struct task_struct *prev, struct task_struct *next)
{
	struct charge c = {};
	struct cpu_stats *cs;
	__u32 zero = 0;
	bool unseen;

	cs = bpf_map_lookup_elem(&cpus, &zero);
	if (!cs)
		return;
	if (have_counters)
		read_counters(cs, &c);
	unseen = cs->valid && (__u64)prev != cs->cur_task;
	if (unseen)
		cs->unseen++;
	if (cs->valid && TASK_READ(btf, prev, pid) != 0) {
		struct task_struct *leader = TASK_READ(btf, prev, group_leader);
		__u64 sum = TASK_READ(btf, prev, se.sum_exec_runtime);

		if (unseen)
			c.cpu_ns = unseen_slice(TASK_READ(btf, prev, policy), sum,
						TASK_READ(btf, prev, se.prev_sum_exec_runtime));
		else
			c.cpu_ns = sum > cs->base ? sum - cs->base : 0;
		cs->busy_ns += c.cpu_ns;
		charge_proc(cs, prev, TASK_READ(btf, prev, tgid),
			    TASK_READ(btf, leader, start_time), &c);
	}
	cs->base = TASK_READ(btf, next, se.sum_exec_runtime);
	cs->cur_task = (__u64)next;
	cs->valid = 1;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	charge_cpu(true, prev, next);
	return 0;
}

/* For kernels without tp_btf on sched_switch (user space probes which): CO-RE probe reads. */
SEC("raw_tp/sched_switch")
int BPF_PROG(switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	charge_cpu(false, prev, next);
	return 0;
}

/*
 * Run by user space on every CPU (BPF_PROG_TEST_RUN with
 * BPF_F_TEST_RUN_ON_CPU: an IPI, or directly on the caller's CPU) at load and
 * just before each drain: charges what the task on that CPU has run since it
 * got the CPU (as of the scheduler's last update of its runtime, at most a
 * tick ago), moves the CPU's baseline there, and moves the CPU's pending
 * charges into the process map. A process spinning for seconds without a
 * switch is so seen interval by interval. It cannot interleave with a switch
 * on the same CPU: the switch tracepoint runs with interrupts off, and the
 * local case with preemption off.
 */
SEC("raw_tp")
int flush(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct cpu_stats *cs;
	__u32 zero = 0;

	charge_cpu(false, task, task);
	cs = bpf_map_lookup_elem(&cpus, &zero);
	if (cs)
		flush_pending(cs);
	return 0;
}

/*
 * The whole process has exited once the last thread passes do_exit()
 * (signal->live reached 0 before this tracepoint). Mark the entry; user space
 * deletes it one drain later, after the final context switch of the dying
 * thread has certainly been charged. An entry is created if the process was
 * never switched out before, so that its final switch does not create an
 * unmarked entry that would never be deleted.
 */
SEC("raw_tp/sched_process_exit")
int on_exit(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct proc_key key = {};
	struct cpu_stats *cs;
	struct proc_stats *v;
	__u32 zero = 0;

	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	key.tgid = bpf_get_current_pid_tgid() >> 32;
	key.start_time = BPF_CORE_READ(task, group_leader, start_time);
	v = bpf_map_lookup_elem(&procs, &key);
	if (v) {
		v->flags |= KEPLER_PROC_EXITED;
		return 0;
	}
	if (first_sight(task, &key, NULL, KEPLER_PROC_EXITED)) {
		cs = bpf_map_lookup_elem(&cpus, &zero);
		if (cs)
			cs->dropped++;
	}
	return 0;
}

/* exec replaces comm and usually follows a move into the workload's cgroup. */
SEC("raw_tp/sched_process_exec")
int on_exec(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct proc_key key = {};
	struct proc_stats *v;

	key.tgid = bpf_get_current_pid_tgid() >> 32;
	key.start_time = BPF_CORE_READ(task, group_leader, start_time);
	v = bpf_map_lookup_elem(&procs, &key);
	if (!v)
		return 0;
	bpf_get_current_comm(&v->comm, sizeof(v->comm));
	v->cgroup_id = task_cgroup_id(task);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
