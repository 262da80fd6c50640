// SPDX-License-Identifier: Apache-2.0
/*
 * ebpf_bench: cost of the eBPF activity collector, each figure next to its
 * baseline measured in the same run (built by bench/meson.build).
 *
 *   ebpf_bench switch-cost SECONDS [same-cpu|two-cpus] [ROUNDS]
 *       The agent's sched_switch program (loaded by activity_new, as the agent
 *       does) and an empty program on the same tracepoint, each attached
 *       alone during a pipe ping-pong of SECONDS, alternating, ROUNDS
 *       (default 3) times each; kernel BPF stats (run_time_ns / run_cnt),
 *       medians. One JSON line.
 *   ebpf_bench drain N[,N...] [REPEAT]
 *       N sleeping processes that have each run once after the collector was
 *       loaded (so each is in the map); the CPU time (CLOCK_PROCESS_CPUTIME_ID,
 *       user + system) of one activity_read, eBPF vs procfs, median of
 *       REPEAT (default 15). One JSON line per N.
 */
#include <linux/types.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "activity/activity.h"
#include "config.h"
#include "empty.skel.h"
#include "util/timeutil.h"
#include "util/util.h"

static int open_source(struct activity **ret, enum activity_source src)
{
	struct kepler_config cfg;
	char reason[1024] = "";
	int r;

	if (config_defaults(&cfg) < 0)
		return -ENOMEM;
	cfg.activity_source = src;
	r = activity_new(ret, &cfg, reason, sizeof(reason));
	if (r < 0)
		fprintf(stderr, "ebpf_bench: %s\n", reason);
	config_free(&cfg);
	return r;
}

/*
 * Two processes bouncing a byte over pipes: two context switches per round
 * trip. Pinned to CPU 0 they switch task to task; on two CPUs every switch is
 * to or from the idle task.
 */
static double pingpong(double secs, bool pinned)
{
	int ab[2], ba[2];
	cpu_set_t set;
	uint64_t rounds = 0, t0, t1;
	pid_t pid;
	char c = 'x';

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (pipe(ab) < 0 || pipe(ba) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(ab[1]);
		close(ba[0]);
		if (!pinned) {
			CPU_ZERO(&set);
			CPU_SET(1, &set);
		}
		sched_setaffinity(0, sizeof(set), &set);
		while (read(ab[0], &c, 1) == 1)
			if (write(ba[1], &c, 1) != 1)
				break;
		_exit(0);
	}
	close(ab[0]);
	close(ba[1]);
	sched_setaffinity(0, sizeof(set), &set);
	t0 = mono_ns();
	t1 = t0 + (uint64_t)(secs * 1e9);
	while (mono_ns() < t1) {
		for (int i = 0; i < 1000; i++)
			if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
				return -1;
		rounds += 1000;
	}
	t1 = mono_ns();
	close(ab[1]);
	close(ba[0]);
	waitpid(pid, NULL, 0);
	CPU_ZERO(&set);
	for (int i = 0; i < CPU_SETSIZE; i++)
		CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
	return (double)rounds / ((double)(t1 - t0) / 1e9);
}

static __u32 last_prog_id(void)
{
	__u32 id = 0, next;

	while (bpf_prog_get_next_id(id, &next) == 0)
		id = next;
	return id;
}

/* The first program named name with an id above min_id. */
static int find_prog(const char *name, __u32 min_id)
{
	__u32 id = min_id;

	while (bpf_prog_get_next_id(id, &id) == 0) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && strcmp(info.name, name) == 0)
			return fd;
		close(fd);
	}
	return -ENOENT;
}

static int prog_stats(int fd, __u64 *ns, __u64 *cnt)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int r = bpf_obj_get_info_by_fd(fd, &info, &len);

	if (r < 0)
		return r;
	*ns = info.run_time_ns;
	*cnt = info.run_cnt;
	return 0;
}

/* The empty program (empty.bpf.c) alone on the tracepoint: the floor any program there costs. */
static struct empty_bpf *attach_empty(void)
{
	struct empty_bpf *empty = empty_bpf__open_and_load();

	if (!empty)
		return NULL;
	if (empty_bpf__attach(empty) < 0) {
		empty_bpf__destroy(empty);
		return NULL;
	}
	return empty;
}

/* Attach the empty program, say "ready" on stderr, hold it until SIGINT or SIGTERM. */
static int hold_empty(void)
{
	struct empty_bpf *empty = attach_empty();
	sigset_t set;
	int sig;

	if (!empty)
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fprintf(stderr, "ready\n");
	sigwait(&set, &sig);
	empty_bpf__destroy(empty);
	return 0;
}

/*
 * Run time per call of the program fd during a ping-pong of secs seconds
 * (after a warm-up that puts both ends in the collector's map, when a is the
 * collector), from the kernel's bpf_stats.
 */
static int measure(int fd, struct activity *a, double secs, bool pinned, double *ns)
{
	struct activity_delta d;
	__u64 n0, c0, n1, c1;

	(void)pingpong(0.3, pinned);
	if (a)
		activity_read(a, &d);
	if (prog_stats(fd, &n0, &c0) < 0 || pingpong(secs, pinned) < 0 ||
	    prog_stats(fd, &n1, &c1) < 0 || c1 == c0)
		return -EIO;
	*ns = (double)(n1 - n0) / (double)(c1 - c0);
	return 0;
}

/* The agent's switch program, loaded and attached as the agent does. */
static int measure_real(double secs, bool pinned, double *ns, const char **mode)
{
	struct activity *a = NULL;
	__u32 min_id = last_prog_id();
	int fd, r;

	r = open_source(&a, ACTIVITY_SOURCE_EBPF);
	if (r < 0)
		return r;
	*mode = strcmp(activity_attach_mode(a), "raw_tp") == 0 ? "raw_tp" : "tp_btf";
	fd = find_prog(strcmp(*mode, "raw_tp") == 0 ? "switch_raw" : "switch_btf", min_id);
	if (fd < 0) {
		fprintf(stderr, "ebpf_bench: the agent's switch program not found\n");
		activity_free(a);
		return fd;
	}
	r = measure(fd, a, secs, pinned, ns);
	close(fd);
	activity_free(a);
	return r;
}

/* The floor: the empty program, alone on the same tracepoint. */
static int measure_empty(double secs, bool pinned, double *ns)
{
	struct empty_bpf *empty = attach_empty();
	int r;

	if (!empty)
		return -EIO;
	r = measure(bpf_program__fd(empty->progs.switch_empty), NULL, secs, pinned, ns);
	empty_bpf__destroy(empty);
	return r;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * Each program is measured alone: with both attached, whichever runs first
 * pays the cold caches after idle (two empty programs differ by ~10 ns in the
 * two-CPU load), which would bias the ratio.
 */
static int switch_cost(double secs, bool pinned, int rounds)
{
	double real[16], empty[16], mr, me;
	const char *mode = "";
	int stats_fd;

	if (rounds < 1 || rounds > 16) {
		fprintf(stderr, "ebpf_bench: ROUNDS must be 1 to 16\n");
		return 2;
	}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		fprintf(stderr, "ebpf_bench: BPF_ENABLE_STATS: %s\n", strerror(-stats_fd));
		return 1;
	}
	for (int i = 0; i < rounds; i++) {
		if (measure_real(secs, pinned, &real[i], &mode) < 0 ||
		    measure_empty(secs, pinned, &empty[i]) < 0) {
			fprintf(stderr, "ebpf_bench: switch-cost failed\n");
			close(stats_fd);
			return 1;
		}
	}
	close(stats_fd);
	printf("{\"bench\":\"switch_cost\",\"load\":\"%s\",\"attach\":\"%s\","
	       "\"seconds\":%.1f,\"rounds\":%d,\"real_ns_per_switch\":[",
	       pinned ? "pingpong_same_cpu" : "pingpong_two_cpus", mode, secs, rounds);
	for (int i = 0; i < rounds; i++)
		printf("%s%.1f", i ? "," : "", real[i]);
	printf("],\"empty_ns_per_switch\":[");
	for (int i = 0; i < rounds; i++)
		printf("%s%.1f", i ? "," : "", empty[i]);
	mr = median(real, rounds);
	me = median(empty, rounds);
	printf("],\"median_real_ns\":%.1f,\"median_empty_ns\":%.1f,\"ratio\":%.2f}\n", mr, me,
	       mr / me);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Median CPU time of one read, after two reads that settle the first-interval work. */
static uint64_t drain_cost(struct activity *a, int repeat, size_t *ret_n)
{
	uint64_t v[64];
	struct activity_delta d;

	if (repeat > 64)
		repeat = 64;
	activity_read(a, &d);
	activity_read(a, &d);
	for (int i = 0; i < repeat; i++) {
		uint64_t c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);

		activity_read(a, &d);
		v[i] = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
		*ret_n = d.n;
		usleep(20000);
	}
	qsort(v, (size_t)repeat, sizeof(v[0]), cmp_u64);
	return v[repeat / 2];
}

static pid_t *kids;
static int nkids;

static int spawn_sleepers(int upto)
{
	int ready[2];
	char c;
	int start = nkids;

	if (pipe(ready) < 0)
		return -errno;
	for (; nkids < upto; nkids++) {
		pid_t pid = fork();

		if (pid < 0) {
			close(ready[0]);
			close(ready[1]);
			return -errno;
		}
		if (pid == 0) {
			/* Runs once (this write), then sleeps: its switch-out puts it in the map.
			 */
			if (write(ready[1], "x", 1) != 1)
				_exit(1);
			for (;;)
				pause();
		}
		kids[nkids] = pid;
	}
	close(ready[1]);
	for (int i = start; i < upto; i++)
		if (read(ready[0], &c, 1) != 1)
			break;
	close(ready[0]);
	usleep(200000);
	return 0;
}

static int drain(const char *list, int repeat)
{
	struct activity *eb = NULL, *pf = NULL;
	_cleanup_free_ char *dup = strdup(list);
	char *save = NULL, *tok;
	int r = 1, max = 0;

	for (const char *p = list; *p; p++)
		if (*p == ',')
			max++;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (atoi(tok) > max)
			max = atoi(tok);
	free(dup);
	dup = strdup(list);
	kids = calloc((size_t)max + 1, sizeof(pid_t));
	if (!kids || !dup)
		return 1;
	if (open_source(&eb, ACTIVITY_SOURCE_EBPF) < 0 ||
	    open_source(&pf, ACTIVITY_SOURCE_PROCFS) < 0)
		goto out;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t ce, cp;
		size_t ne = 0, np = 0;
		int n = atoi(tok);

		if (spawn_sleepers(n) < 0) {
			fprintf(stderr, "ebpf_bench: fork: %s\n", strerror(errno));
			goto out;
		}
		ce = drain_cost(eb, repeat, &ne);
		cp = drain_cost(pf, repeat, &np);
		printf("{\"bench\":\"drain\",\"sleeping_processes\":%d,\"ebpf_cpu_us\":%.1f,"
		       "\"procfs_cpu_us\":%.1f,\"ratio\":%.1f,\"ebpf_emitted\":%zu,"
		       "\"procfs_emitted\":%zu,\"repeat\":%d}\n",
		       n, (double)ce / 1e3, (double)cp / 1e3, (double)cp / (double)(ce ? ce : 1),
		       ne, np, repeat);
		fflush(stdout);
	}
	r = 0;
out:
	for (int i = 0; i < nkids; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < nkids; i++)
		waitpid(kids[i], NULL, 0);
	free(kids);
	activity_free(eb);
	activity_free(pf);
	return r;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && argc <= 5 && strcmp(argv[1], "switch-cost") == 0)
		return switch_cost(atof(argv[2]), !(argc >= 4 && strcmp(argv[3], "two-cpus") == 0),
				   argc == 5 ? atoi(argv[4]) : 3);
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "drain") == 0)
		return drain(argv[2], argc == 4 ? atoi(argv[3]) : 15);
	if (argc == 2 && strcmp(argv[1], "hold-empty") == 0)
		return hold_empty();
	fprintf(stderr, "usage: ebpf_bench switch-cost SECONDS [same-cpu|two-cpus] [ROUNDS] | "
			"drain N[,N...] [REPEAT] | hold-empty\n");
	return 2;
}
