// SPDX-License-Identifier: Apache-2.0
/*
 * Loader and drain of the eBPF activity collector (bpf/kepler.bpf.c).
 *
 * Why a drain neither loses nor double-counts:
 *
 * 1. The kernel only ever adds to an entry's counters (atomic adds, so
 *    threads of one process on several CPUs do not lose updates), and no
 *    user-space code ever writes them. For each entry user space keeps the
 *    last cumulative value it read and emits the difference. Whatever a read
 *    sees, the deltas emitted for an entry telescope to (last value read) -
 *    (0 at creation): an increment that races with the read is either in the
 *    value read now, or it is in the next one. Nothing is reset, so nothing
 *    can fall between "read" and "reset". (A value read that is lower than
 *    the previous one, impossible for a 64-bit aligned load on the
 *    architectures we build for, would emit 0 and keep the old value, which
 *    still telescopes.)
 * 2. Every CPU's time up to the drain is in the process map: just before
 *    reading, the flush program runs on each CPU, charges the time since that
 *    CPU's last switch to whatever runs there (or to idle), and adds the
 *    charges the CPU held in its pending slots (the per-CPU cache that spares
 *    a switch the map) to their entries, emptying the slots. A slot holds
 *    only charges of a process whose entry exists, and a slot is touched only
 *    by its CPU's switch and flush programs, which never interleave. A
 *    process spinning for seconds without a context switch is therefore seen
 *    interval by interval, and busy + idle covers the elapsed time of every
 *    CPU. This needs the flush to run on every online CPU: it is run once at
 *    load, and a kernel where it cannot run (BPF_F_TEST_RUN_ON_CPU came with
 *    commit 1b4d60ec162f, v5.10; a kernel without CONFIG_NET has no test run
 *    for raw_tp) fails the load, so that the agent falls back to procfs
 *    instead of under-counting; a drain whose flush fails on a CPU fails, and
 *    the next drain emits what it did not.
 * 3. Entries are deleted only by user space, and only for a process that the
 *    kernel marked exited (its last thread passed do_exit()) at an earlier
 *    drain, at least one interval ago. What was charged until the delete's
 *    drain is read in that drain, so it is emitted too: every slot is emptied
 *    before every read, and a slot cannot hold charges of a deleted entry (an
 *    exiting task claims no slot, and a slot claimed before the exit is
 *    emptied by a flush before the delete). A thread of the dead process can
 *    still switch out after the delete (a zombie preempted after do_exit()
 *    waits for a CPU, on a busy machine, for drains): the program then finds
 *    no entry and creates it again, marked exited; user space, which set the
 *    key's last values back to 0 at the delete, emits that residue and
 *    deletes the entry one drain later, like any exited one. No other task
 *    can add to the key: it contains the group leader's start time, so a
 *    process that recycles the tgid gets a new key.
 * 4. A key is accounted at most once per drain (a generation number per
 *    entry), so an iteration that revisits a key cannot double-count it; a
 *    key first seen late (created while the iteration passed its bucket) has
 *    no "last value" and is emitted in full at the next drain.
 * 5. An event that finds the map full is counted per CPU (dropped_total);
 *    its time is still in the node's busy time but in no process. An exit
 *    that found the map full leaves no mark: a later switch of the dead
 *    process that finds room creates its entry exited (as in point 3).
 */
#include <linux/types.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "activity/internal.h"
#include "activity/pidtab.h"
#include "bpf/kepler.h"
#include "bpf/kepler.skel.h"
#include "util/caps.h"
#include "util/fileio.h"
#include "util/procstat.h"
#include "util/timeutil.h"
#include "util/util.h"

#define BATCH_CHUNK 1024
/* The kernel's own ENOTSUPP, which the bpf syscall returns for some unsupported requests. */
#define ENOTSUPP_KERNEL 524

/*
 * What the previous drain saw of one process. Only the fields the program
 * fills are kept (s->nlast of last[], bpf_last_fields()): without counters,
 * the CPU time alone.
 */
struct bpf_ent {
	struct pidtab_hdr h; /* tgid, start_time */
	uint32_t
	    gen; /* the drain that last saw it (wraps after 2^32 drains: only equality counts) */
	bool exit_seen; /* emitted as exited at an earlier drain: delete at this one */
	uint64_t last[];
};

enum { EV_CYCLES, EV_CACHE_MISSES, EV_MAX };

struct bpf_source {
	struct kepler_bpf *skel;
	bool raw_tp;
	bool have_counters;
	char note[512]; /* what it runs without, and why: parts joined by "; " */
	int ncpus;	/* possible CPUs: the size of per-CPU values */
	uint32_t max_entries;
	char *sysfs;
	int *perf_fds; /* EV_MAX * ncpus, -1 where none */

	struct cpu_stats *percpu;
	int nlast; /* fields of bpf_ent.last in use */
	uint64_t last_busy;
	/* The node's idle time is the kernel's own: <procfs>/stat at each drain. */
	char *procfs;
	uint64_t tick_ns;
	struct cpu_times last_cpu;
	bool have_cpu;

	bool batch_ok;
	struct proc_key *keys;
	struct proc_stats *vals;
	struct proc_key *del;
	size_t n_del, cap_del;

	struct pidtab *tab;
	uint32_t gen;
	struct proc_out out;
};

/* Add one part to the note (bpf_source_note). */
__attribute__((format(printf, 2, 3))) static void note_add(struct bpf_source *s, const char *fmt,
							   ...)
{
	size_t n = strlen(s->note);
	va_list ap;

	if (n && n + 2 < sizeof(s->note)) {
		memcpy(s->note + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(s->note + n, sizeof(s->note) - n, fmt, ap);
	va_end(ap);
}

static int perf_event_open(struct perf_event_attr *attr, int cpu)
{
	return (int)syscall(__NR_perf_event_open, attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

static void close_counters(struct bpf_source *s)
{
	if (!s->perf_fds)
		return;
	for (int i = 0; i < EV_MAX * s->ncpus; i++)
		if (s->perf_fds[i] >= 0)
			close(s->perf_fds[i]);
	free(s->perf_fds);
	s->perf_fds = NULL;
}

/*
 * One hardware counter of each kind per CPU (all tasks). A VM without a
 * virtual PMU fails with ENOENT or EOPNOTSUPP: then the program runs without.
 */
static void open_counters(struct bpf_source *s)
{
	static const struct {
		uint64_t config;
		const char *name;
	} ev[EV_MAX] = {
	    [EV_CYCLES] = {PERF_COUNT_HW_CPU_CYCLES, "cycles"},
	    [EV_CACHE_MISSES] = {PERF_COUNT_HW_CACHE_MISSES, "cache-misses"},
	};
	int opened = 0;

	s->perf_fds = malloc(sizeof(int) * EV_MAX * (size_t)s->ncpus);
	if (!s->perf_fds) {
		note_add(s, "hardware counters: out of memory");
		return;
	}
	for (int i = 0; i < EV_MAX * s->ncpus; i++)
		s->perf_fds[i] = -1;
	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		for (int e = 0; e < EV_MAX; e++) {
			struct perf_event_attr attr = {
			    .type = PERF_TYPE_HARDWARE,
			    .size = sizeof(attr),
			    .config = ev[e].config,
			};
			int fd = perf_event_open(&attr, cpu);

			if (fd < 0 && errno == ENODEV)
				continue; /* offline CPU */
			if (fd < 0) {
				note_add(
				    s,
				    "hardware counters unavailable (perf_event_open %s on cpu %d: "
				    "%s); running without cycles and cache misses",
				    ev[e].name, cpu, strerror(errno));
				close_counters(s);
				return;
			}
			s->perf_fds[e * s->ncpus + cpu] = fd;
			opened++;
		}
	}
	if (!opened) {
		note_add(s, "hardware counters unavailable (no online CPU); running without");
		close_counters(s);
		return;
	}
	s->have_counters = true;
}

static int attach(struct bpf_program *prog, struct bpf_link **link)
{
	*link = bpf_program__attach(prog);
	if (!*link)
		return -errno;
	return 0;
}

/*
 * Run the flush program on every CPU (the comment at the top, point 2). An
 * offline CPU (-ENXIO) has nothing to flush. Any other error is returned, with
 * the CPU in *ret_cpu: that CPU still holds its pending charges and slice.
 */
static int flush_cpus(struct bpf_source *s, int *ret_cpu)
{
	int fd = bpf_program__fd(s->skel->progs.flush);

	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = cpu);
		int r = bpf_prog_test_run_opts(fd, &o);

		if (r == -ENXIO)
			continue;
		if (r < 0) {
			*ret_cpu = cpu;
			return r == -ENOTSUPP_KERNEL ? -EOPNOTSUPP : r;
		}
	}
	return 0;
}

/*
 * Whether tp_btf can carry the switch program here, decided before the one
 * load: the kernel BTF must have the tracepoint's typedef (what libbpf
 * resolves a tp_btf section to), and the kernel must load a tracing program
 * attached there (two instructions). libbpf_probe_bpf_prog_type() is no
 * answer: libbpf 1.1 says 0 for BPF_PROG_TYPE_TRACING where tp_btf works. 1,
 * or 0 with the reason for raw_tp in why.
 */
static int probe_tp_btf(char *why, size_t whysz)
{
	static const char *type = "btf_trace_sched_switch";
	const struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_TRACE_RAW_TP);
	struct btf *btf = btf__load_vmlinux_btf();
	int id, fd;

	if (!btf) {
		snprintf(why, whysz, "cannot read the kernel BTF: %s", strerror(errno));
		return 0;
	}
	id = btf__find_by_name_kind(btf, type, BTF_KIND_TYPEDEF);
	btf__free(btf);
	if (id < 0) {
		snprintf(why, whysz, "the kernel BTF has no %s", type);
		return 0;
	}
	o.attach_btf_id = (__u32)id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, ARRAY_SIZE(insns), &o);
	if (fd < 0) {
		snprintf(why, whysz,
			 "the kernel does not load a tp_btf program on sched_switch: %s",
			 strerror(fd == -ENOTSUPP_KERNEL ? EOPNOTSUPP : -fd));
		return 0;
	}
	close(fd);
	return 1;
}

static int load_and_attach(struct bpf_source *s, bool raw, char *why, size_t whysz)
{
	struct kepler_bpf *skel;
	const char *step;
	int r;

	skel = kepler_bpf__open();
	if (!skel) {
		r = -errno;
		snprintf(why, whysz, "cannot open the BPF object: %s", strerror(-r));
		return r;
	}
	bpf_map__set_max_entries(skel->maps.procs, s->max_entries);
	skel->rodata->have_counters = s->have_counters;
	bpf_program__set_autoload(skel->progs.switch_btf, !raw);
	bpf_program__set_autoload(skel->progs.switch_raw, raw);

	r = kepler_bpf__load(skel);
	if (r < 0) {
		step = "load";
		goto fail;
	}
	if (s->have_counters) {
		struct bpf_map *maps[EV_MAX] = {skel->maps.cycles_events,
						skel->maps.cache_misses_events};

		for (int e = 0; e < EV_MAX; e++)
			for (int cpu = 0; cpu < s->ncpus; cpu++) {
				int fd = s->perf_fds[e * s->ncpus + cpu];

				if (fd < 0)
					continue;
				r = bpf_map_update_elem(bpf_map__fd(maps[e]), &cpu, &fd, BPF_ANY);
				if (r < 0) {
					step = "perf event map update";
					goto fail;
				}
			}
	}
	/* Exit before switch: no process can exit unseen while its entry exists. */
	step = "attach sched_process_exit";
	r = attach(skel->progs.on_exit, &skel->links.on_exit);
	if (r < 0)
		goto fail;
	step = "attach sched_process_exec";
	r = attach(skel->progs.on_exec, &skel->links.on_exec);
	if (r < 0)
		goto fail;
	step = raw ? "attach raw_tp/sched_switch" : "attach tp_btf/sched_switch";
	r = raw ? attach(skel->progs.switch_raw, &skel->links.switch_raw)
		: attach(skel->progs.switch_btf, &skel->links.switch_btf);
	if (r < 0)
		goto fail;
	s->skel = skel;
	s->raw_tp = raw;
	return 0;
fail:
	snprintf(why, whysz, "%s %s failed: %s", raw ? "raw_tp" : "tp_btf", step, strerror(-r));
	kepler_bpf__destroy(skel);
	return r;
}

static int check_environment(char *why, size_t whysz)
{
	const char *path = "/sys/kernel/btf/vmlinux";
	uint64_t capeff;
	int r;

	/* Unknown capabilities: let the load itself tell. */
	if (caps_effective(&capeff) == 0) {
		r = caps_check_ebpf(capeff, why, whysz);
		if (r < 0)
			return r;
	}
	/*
	 * The running kernel's BTF, where libbpf itself loads it from: not host data,
	 * so not under host.sysfs (which may be a fixture tree or /host/sys).
	 */
	if (access(path, R_OK) < 0) {
		r = -errno;
		snprintf(why, whysz,
			 "no kernel BTF (%s: %s): the kernel needs CONFIG_DEBUG_INFO_BTF", path,
			 strerror(errno));
		return r;
	}
	return 0;
}

int bpf_source_new(struct bpf_source **ret, const struct kepler_config *cfg,
		   const struct activity_opts *opts, char *why, size_t whysz)
{
	struct bpf_source *s;
	char why_raw[256] = "forced (activity_opts.force_raw_tp)";
	bool raw;
	int cpu = 0, r;

	r = check_environment(why, whysz);
	if (r < 0)
		return r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->max_entries = opts->max_processes ? opts->max_processes : ACTIVITY_DEFAULT_MAX_PROCESSES;
	s->sysfs = strdup(cfg->host_sysfs ? cfg->host_sysfs : "/sys");
	s->procfs = strdup(cfg->host_procfs ? cfg->host_procfs : "/proc");
	s->tick_ns = NSEC_PER_SEC / (uint64_t)sysconf(_SC_CLK_TCK);
	r = libbpf_num_possible_cpus();
	if (r <= 0) {
		snprintf(why, whysz, "cannot count the possible CPUs: %s",
			 strerror(r ? -r : EINVAL));
		r = r ? r : -EINVAL;
		goto fail;
	}
	s->ncpus = r;
	s->percpu = calloc((size_t)s->ncpus, sizeof(*s->percpu));
	s->keys = calloc(BATCH_CHUNK, sizeof(*s->keys));
	s->vals = calloc(BATCH_CHUNK, sizeof(*s->vals));
	if (!s->sysfs || !s->procfs || !s->percpu || !s->keys || !s->vals) {
		r = -ENOMEM;
		goto fail;
	}
	open_counters(s);
	s->have_cpu = procstat_read(s->procfs, &s->last_cpu, NULL) == 0;

	raw = opts->force_raw_tp || !probe_tp_btf(why_raw, sizeof(why_raw));
	if (raw)
		note_add(s, "attached with raw_tp: %s", why_raw);
	r = load_and_attach(s, raw, why, whysz);
	if (r < 0 && s->have_counters) {
		/* A PMU the verifier or the perf-event map will not take: once more without. */
		close_counters(s);
		s->have_counters = false;
		note_add(s, "hardware counters rejected (%s); running without", why);
		r = load_and_attach(s, raw, why, whysz);
	}
	if (r < 0)
		goto fail;
	/* The counters now live in the map; our fds are not needed any more. */
	close_counters(s);
	s->nlast = bpf_last_fields(s->have_counters);
	r = pidtab_new(&s->tab, sizeof(struct bpf_ent) + s->nlast * sizeof(uint64_t), 1024);
	if (r < 0)
		goto fail;
	s->batch_ok = true;
	/* Start every CPU's clock now, and learn whether the drain can flush at all. */
	r = flush_cpus(s, &cpu);
	if (r < 0) {
		snprintf(why, whysz,
			 "the flush program cannot run on CPU %d (BPF_PROG_TEST_RUN with "
			 "BPF_F_TEST_RUN_ON_CPU, Linux 5.10 or newer: %s): each CPU's latest "
			 "slices would go uncounted",
			 cpu, strerror(-r));
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	bpf_source_free(s);
	return r;
}

static int queue_delete(struct bpf_source *s, const struct proc_key *k)
{
	if (s->n_del == s->cap_del) {
		size_t cap = s->cap_del ? s->cap_del * 2 : 64;
		struct proc_key *d = realloc(s->del, cap * sizeof(*d));

		if (!d)
			return -ENOMEM;
		s->del = d;
		s->cap_del = cap;
	}
	s->del[s->n_del++] = *k;
	return 0;
}

int bpf_record_account(const struct proc_key *k, const struct proc_stats *v, bool has_counters,
		       uint64_t *last, bool *exit_seen, struct proc_activity *ret)
{
	const uint64_t cur[BPF_LAST_MAX] = {
	    [BPF_LAST_CPU] = v->cpu_ns,
	    [BPF_LAST_CYCLES] = v->cycles,
	    [BPF_LAST_CACHE_MISSES] = v->cache_misses,
	};
	uint64_t d[BPF_LAST_MAX] = {0};
	bool any = false;
	int flags = 0;

	for (int i = 0; i < bpf_last_fields(has_counters); i++) {
		if (cur[i] > last[i]) {
			d[i] = cur[i] - last[i];
			last[i] = cur[i];
		}
		any |= d[i] != 0;
	}
	if (v->flags & KEPLER_PROC_EXITED) {
		if (*exit_seen) {
			flags |= BPF_RECORD_DELETE;
		} else {
			*exit_seen = true;
			any = true; /* report the exit even without activity */
		}
	}
	if (!any)
		return flags;
	*ret = (struct proc_activity){
	    .pid = k->tgid,
	    .ppid = v->ppid,
	    .cgroup_id = v->cgroup_id,
	    .kernel_thread = v->flags & KEPLER_PROC_KTHREAD,
	    .exited = v->flags & KEPLER_PROC_EXITED,
	    .start_time_ns = k->start_time,
	    .cpu_ns = d[BPF_LAST_CPU],
	    .cycles = d[BPF_LAST_CYCLES],
	    .cache_misses = d[BPF_LAST_CACHE_MISSES],
	};
	memcpy(ret->comm, v->comm, sizeof(ret->comm));
	ret->comm[sizeof(ret->comm) - 1] = '\0';
	return flags | BPF_RECORD_EMIT;
}

/* One map entry: the delta since the previous drain (points 1, 3, 4 at the top). */
static int account(struct bpf_source *s, const struct proc_key *k, const struct proc_stats *v)
{
	struct proc_activity a, *o;
	struct bpf_ent *e;
	void *p;
	int flags, r;

	r = pidtab_put(s->tab, k->tgid, k->start_time, &p);
	if (r < 0)
		return r;
	e = p;
	if (e->gen == s->gen)
		return 0;
	e->gen = s->gen;
	flags = bpf_record_account(k, v, s->have_counters, e->last, &e->exit_seen, &a);
	if (flags & BPF_RECORD_DELETE) {
		r = queue_delete(s, k);
		if (r < 0)
			return r;
	}
	if (!(flags & BPF_RECORD_EMIT))
		return 0;
	r = proc_out_push(&s->out, &o);
	if (r < 0)
		return r;
	*o = a;
	return 0;
}

/* Entry by entry, for kernels without batch operations on hash maps (before 5.6). */
static int read_procs_iter(struct bpf_source *s, int fd)
{
	struct proc_key key, next;
	struct proc_stats val;
	void *prev = NULL;
	int r;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (bpf_map_lookup_elem(fd, &next, &val) == 0) {
			r = account(s, &next, &val);
			if (r < 0)
				return r;
		}
		key = next;
		prev = &key;
	}
	return 0;
}

static int read_procs(struct bpf_source *s)
{
	int fd = bpf_map__fd(s->skel->maps.procs);
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	struct proc_key in, out;
	bool first = true;
	int r;

	if (!s->batch_ok)
		return read_procs_iter(s, fd);
	for (;;) {
		__u32 count = BATCH_CHUNK;
		int rr;

		rr = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, s->keys, s->vals, &count,
					  &bo);
		if (rr < 0 && rr != -ENOENT) {
			/*
			 * No batch support (-EINVAL, -ENOTSUPP), or a bucket larger
			 * than a chunk (-ENOSPC): iterate instead; keys already
			 * accounted in this pass are skipped (point 4).
			 */
			if (first && rr != -ENOSPC)
				s->batch_ok = false;
			return read_procs_iter(s, fd);
		}
		for (__u32 i = 0; i < count; i++) {
			r = account(s, &s->keys[i], &s->vals[i]);
			if (r < 0)
				return r;
		}
		if (rr == -ENOENT)
			return 0;
		in = out;
		first = false;
	}
}

/*
 * A deleted entry's last values go back to 0: should the kernel create the
 * key again (a thread's last switches after the delete, created exited, see
 * first_sight in the program), its residue counts from 0 (point 3).
 */
static void forget_last(struct bpf_source *s, const struct proc_key *k)
{
	struct bpf_ent *e = pidtab_get(s->tab, k->tgid, k->start_time);

	if (e)
		memset(e->last, 0, s->nlast * sizeof(e->last[0]));
}

static void delete_exited(struct bpf_source *s)
{
	int fd = bpf_map__fd(s->skel->maps.procs);
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	__u32 count = (__u32)s->n_del;
	int r;

	if (!s->n_del)
		return;
	r = bpf_map_delete_batch(fd, s->del, &count, &bo);
	for (size_t i = 0; i < s->n_del; i++) {
		/* Deletes stop at the first failure: finish one by one (-ENOENT: gone already). */
		if (r < 0 && i >= count) {
			int rr = bpf_map_delete_elem(fd, &s->del[i]);

			if (rr < 0 && rr != -ENOENT)
				continue; /* still there: its last values still hold */
		}
		forget_last(s, &s->del[i]);
	}
	s->n_del = 0;
}

int bpf_source_read(struct bpf_source *s, struct activity_delta *out)
{
	uint64_t busy = 0, idle_ns = 0, dropped = 0, unseen = 0;
	struct cpu_times cpu;
	struct bpf_ent *e;
	__u32 zero = 0;
	bool have_cpu;
	size_t pos;
	int cpu_failed, r;

	proc_out_reset(&s->out);
	s->n_del = 0;
	s->gen++;
	/* A CPU not flushed would under-count this interval: fail it, the next one has it all. */
	r = flush_cpus(s, &cpu_failed);
	if (r < 0)
		return r;

	r = bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.cpus), &zero, s->percpu);
	if (r < 0)
		return r;
	for (int c = 0; c < s->ncpus; c++) {
		busy += s->percpu[c].busy_ns;
		dropped += s->percpu[c].dropped;
		unseen += s->percpu[c].unseen;
	}
	have_cpu = procstat_read(s->procfs, &cpu, NULL) == 0;
	if (have_cpu && s->have_cpu && cpu_times_idle(&cpu) >= cpu_times_idle(&s->last_cpu))
		idle_ns = (cpu_times_idle(&cpu) - cpu_times_idle(&s->last_cpu)) * s->tick_ns;

	r = read_procs(s);
	if (r < 0)
		return r;
	delete_exited(s);

	/* Forget the entries deleted at the previous drain. */
	pos = 0;
	while ((e = pidtab_next(s->tab, &pos)))
		if (e->gen != s->gen)
			pidtab_remove_at(s->tab, &pos);

	*out = (struct activity_delta){
	    .procs = s->out.v,
	    .n = s->out.n,
	    /* Without the kernel's idle time the utilisation is unknown: report neither. */
	    .busy_ns = have_cpu && s->have_cpu && busy >= s->last_busy ? busy - s->last_busy : 0,
	    .idle_ns = idle_ns,
	    .ncpus = online_cpus(s->sysfs),
	    .has_counters = s->have_counters,
	    .dropped_total = dropped,
	    .unseen_total = unseen,
	};
	s->last_busy = busy;
	s->last_cpu = cpu;
	s->have_cpu = have_cpu;
	return 0;
}

const char *bpf_source_attach_mode(const struct bpf_source *s)
{
	return s->raw_tp ? "raw_tp" : "tp_btf";
}

const char *bpf_source_note(const struct bpf_source *s)
{
	return s->note;
}

void bpf_source_free(struct bpf_source *s)
{
	if (!s)
		return;
	kepler_bpf__destroy(s->skel);
	close_counters(s);
	pidtab_free(s->tab);
	free(s->percpu);
	free(s->keys);
	free(s->vals);
	free(s->del);
	proc_out_free(&s->out);
	free(s->sysfs);
	free(s->procfs);
	free(s);
}
