// SPDX-License-Identifier: Apache-2.0
/*
 * The real BPF program on this kernel: load and attach (tp_btf as probed,
 * and raw_tp forced), see our own CPU time and identity and the counters the
 * PMU gives or not, follow a process through its exit until its entry is
 * deleted, and count drops when the map is full. Needs root and kernel BTF;
 * without them it says why and exits 77 (the drain's accounting of records
 * is tested from a table in test_bpf_record.c, everywhere).
 */
#include <linux/types.h>

#include <errno.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "activity/activity.h"
#include "activity/internal.h"
#include "workload/cgroupfs.h"
#include "config.h"
#include "util/fileio.h"
#include "util/timeutil.h"
#include "util/util.h"
#include "burn.h"

/* Whether this machine's PMU gives the counters the source opens (CPU 0 stands for all). */
static bool pmu_counts(void)
{
	static const uint64_t events[] = {PERF_COUNT_HW_CPU_CYCLES, PERF_COUNT_HW_CACHE_MISSES};

	for (size_t i = 0; i < ARRAY_SIZE(events); i++) {
		struct perf_event_attr attr = {
		    .type = PERF_TYPE_HARDWARE,
		    .size = sizeof(attr),
		    .config = events[i],
		};
		int fd = (int)syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);

		if (fd < 0)
			return false;
		close(fd);
	}
	return true;
}

static const struct proc_activity *find(const struct activity_delta *d, uint32_t pid)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->procs[i].pid == pid)
			return &d->procs[i];
	return NULL;
}

static int open_ebpf(struct activity **ret, const struct activity_opts *opts)
{
	struct kepler_config cfg;
	char reason[1024] = "";
	int r;

	assert_int_equal(config_defaults(&cfg), 0);
	cfg.activity_source = ACTIVITY_SOURCE_EBPF;
	r = activity_new_opts(ret, &cfg, opts, reason, sizeof(reason));
	if (r < 0)
		fail_msg("activity_new_opts: %d: %s", r, reason);
	assert_string_equal(reason, "");
	assert_string_equal(activity_source_name(*ret), "ebpf");
	config_free(&cfg);
	return r;
}

/* The inode of our own cgroup v2 directory: what the program must report as cgroup_id. */
static uint64_t own_cgroup_ino(void)
{
	char cg[4096], mnt[1024], path[PATH_MAX + 1024];
	char *line, *p;
	struct stat st;

	assert_int_equal(cgroup2_find_mount("/proc", mnt, sizeof(mnt)), 0);
	assert_true(read_file_at("/proc", "self/cgroup", cg, sizeof(cg)) > 0);
	line = strstr(cg, "0::");
	assert_non_null(line);
	line += 3;
	p = strchr(line, '\n');
	if (p)
		*p = '\0';
	snprintf(path, sizeof(path), "%s%s", mnt, line);
	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

/* Load, attach, burn a known amount, drain: our own process with its identity. */
static void check_own_process(const struct activity_opts *opts, const char *mode)
{
	struct activity *a = NULL;
	struct activity_delta d;
	const struct proc_activity *p;
	uint64_t t0, t1, cpu0, cpu1;

	open_ebpf(&a, opts);
	assert_string_equal(activity_attach_mode(a), mode);
	assert_int_equal(activity_read(a, &d), 0);
	t0 = mono_ns();
	cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	for (int i = 0; i < 20; i++) {
		burn_ms(10);
		usleep(1000); /* context switches */
	}
	cpu1 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	assert_int_equal(activity_read(a, &d), 0);
	t1 = mono_ns();

	p = find(&d, (uint32_t)getpid());
	assert_non_null(p);
	/* the kernel's own accounting of the same interval, within 10 % (+ 2 ms) */
	if (p->cpu_ns + 2 * NSEC_PER_MSEC < (cpu1 - cpu0) * 9 / 10 ||
	    p->cpu_ns > (cpu1 - cpu0) * 11 / 10 + 2 * NSEC_PER_MSEC)
		fail_msg("cpu_ns %llu vs CLOCK_PROCESS_CPUTIME_ID %llu",
			 (unsigned long long)p->cpu_ns, (unsigned long long)(cpu1 - cpu0));
	assert_string_equal(p->comm, "test_bpf");
	assert_int_equal(p->ppid, getppid());
	assert_int_equal(p->cgroup_id, own_cgroup_ino());
	assert_false(p->exited);
	assert_false(p->kernel_thread);
	/*
	 * The counters as the kernel allows them: real where the PMU opens (200 ms
	 * of burning is far from zero cycles), zero where it does not (a VM without
	 * a virtual PMU, like the development one): nothing made up, nothing leaked.
	 */
	assert_int_equal(d.has_counters, pmu_counts());
	if (d.has_counters) {
		assert_true(p->cycles > 0);
	} else {
		assert_int_equal(p->cycles, 0);
		assert_int_equal(p->cache_misses, 0);
	}
	/* every CPU accounted up to the drain: busy + idle = elapsed * CPUs (loosely here) */
	{
		double acct = (double)(d.busy_ns + d.idle_ns);
		double want = (double)(t1 - t0) * d.ncpus;

		if (acct < want * 0.9 || acct > want * 1.1)
			fail_msg("busy+idle %.0f vs elapsed*ncpus %.0f", acct, want);
	}
	activity_free(a);
}

static void test_load_attach_tp_btf(void **state)
{
	struct activity_opts opts = {0};

	(void)state;
	check_own_process(&opts, "tp_btf");
}

static void test_load_attach_raw_tp(void **state)
{
	struct activity_opts opts = {.force_raw_tp = true};

	(void)state;
	check_own_process(&opts, "raw_tp");
}

/* A child's life: exited (with its CPU time) at one read, its residue at most once more, then gone.
 */
static void test_exit_lifecycle(void **state)
{
	struct activity *a = NULL;
	struct activity_delta d;
	const struct proc_activity *p;
	uint64_t total;
	pid_t child;
	int st;

	(void)state;
	open_ebpf(&a, NULL);
	assert_int_equal(activity_read(a, &d), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		burn_ms(50);
		_exit(0);
	}
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_int_equal(activity_read(a, &d), 0);
	p = find(&d, (uint32_t)child);
	assert_non_null(p);
	assert_true(p->exited);
	assert_int_equal(p->ppid, getpid());
	total = p->cpu_ns;
	usleep(20000);
	assert_int_equal(activity_read(a, &d), 0);
	p = find(&d, (uint32_t)child);
	if (p) {
		assert_true(p->exited);
		total += p->cpu_ns;
	}
	assert_true(total >= 45 * NSEC_PER_MSEC);
	assert_true(total < 80 * NSEC_PER_MSEC);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(activity_read(a, &d), 0);
		assert_null(find(&d, (uint32_t)child));
	}
	activity_free(a);
}

static void fork_short_lived(int n)
{
	for (int i = 0; i < n; i++) {
		pid_t c = fork();

		assert_true(c >= 0);
		if (c == 0)
			_exit(0);
		waitpid(c, NULL, 0);
	}
}

/* Processes the kernel has forked since boot (/proc/stat "processes"). */
static uint64_t forks_so_far(void)
{
	char buf[1 << 16], *p;

	assert_true(read_file_at("/proc", "stat", buf, sizeof(buf)) > 0 || errno == EFBIG);
	p = strstr(buf, "\nprocesses ");
	assert_non_null(p);
	return strtoull(p + 11, NULL, 10);
}

/*
 * Entries of exited processes are deleted: many more processes than the map
 * holds (4,800 through 2,048 entries), in rounds with drains between them,
 * and nothing is dropped. The map holds the machine's other processes too: a
 * round in which the whole machine forked more than half the map (another
 * fork storm on a busy machine) proves nothing and is not counted; most
 * rounds must be counted.
 */
static void test_no_leak(void **state)
{
	struct activity_opts opts = {.max_processes = 2048};
	struct activity *a = NULL;
	struct activity_delta d;
	int counted = 0;

	(void)state;
	open_ebpf(&a, &opts);
	assert_int_equal(activity_read(a, &d), 0);
	for (int round = 0; round < 48; round++) {
		uint64_t dropped = d.dropped_total, forks = forks_so_far();

		fork_short_lived(100);
		assert_int_equal(activity_read(a, &d), 0);
		usleep(10000);
		assert_int_equal(activity_read(a, &d), 0);
		if (forks_so_far() - forks > opts.max_processes / 2)
			continue;
		counted++;
		if (d.dropped_total != dropped)
			fail_msg("round %d: %llu dropped", round,
				 (unsigned long long)(d.dropped_total - dropped));
	}
	if (counted < 24)
		fail_msg("only %d of 48 rounds without a fork storm elsewhere", counted);
	activity_free(a);
}

/* A tiny map: the drop counter rises and reads keep working. */
static void test_map_full(void **state)
{
	struct activity_opts opts = {.max_processes = 16};
	struct activity *a = NULL;
	struct activity_delta d;

	(void)state;
	open_ebpf(&a, &opts);
	assert_int_equal(activity_read(a, &d), 0);
	fork_short_lived(200);
	assert_int_equal(activity_read(a, &d), 0);
	assert_true(d.dropped_total > 0);
	assert_true(d.n <= 16);
	assert_int_equal(activity_read(a, &d), 0);
	activity_free(a);
}

int main(void)
{
	const struct CMUnitTest kernel[] = {
	    cmocka_unit_test(test_load_attach_tp_btf), cmocka_unit_test(test_load_attach_raw_tp),
	    cmocka_unit_test(test_exit_lifecycle),     cmocka_unit_test(test_no_leak),
	    cmocka_unit_test(test_map_full),
	};
	if (geteuid() != 0) {
		printf("SKIP: test_bpf needs root to load BPF programs\n");
		return 77;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) < 0) {
		printf("SKIP: no kernel BTF (/sys/kernel/btf/vmlinux): CONFIG_DEBUG_INFO_BTF is "
		       "off\n");
		return 77;
	}
	return cmocka_run_group_tests(kernel, NULL, NULL);
}
