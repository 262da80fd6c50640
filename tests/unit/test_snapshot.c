// SPDX-License-Identifier: Apache-2.0
/*
 * Workloads through the published snapshot: what the exporter shows must add
 * up at every interval. The processes' container and pod come from a fixture
 * procfs (<pid>/cgroup), read through the normal code path.
 *
 *   - the process series (own and "other") sum to the node's active energy, on
 *     counters and on the interval's energy
 *   - a container equals the sum of its process series, a pod its containers
 *   - no exported counter decreases
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "attribution/node.h"
#include "snapshot/build.h"
#include "snapshot/idle_share.h"
#include "util/util.h"

#define CA "793cf4220c917b853860886599b2ac757f8290996dd9de5798121e8fa462d6e8"
#define CB "5bda6a317873a59e01b29a0a9a4d296e948c5a0b1e5bb93e6d63111541f7a139"
#define POD "1234abcd-5678-90ef-abcd-1234567890ab"
#define IN_A "/kubepods/burstable/pod" POD "/" CA
#define IN_B "/kubepods/burstable/pod" POD "/" CB
#define HOST "/system.slice/sshd.service"
#define DOCKER_A "/system.slice/docker-" CA ".scope"
#define DOCKER_B "/system.slice/docker-" CB ".scope"

#define MAX_SERIES 64

struct seen {
	char key[200];
	uint64_t uj;
};

struct fx {
	char root[64];
	struct kepler_config cfg;
	struct workloads *w;
	struct node_acct *node;
	struct exporter_stats stats;
	struct snapshot *snap;
	uint64_t meter_uj, active_total, interval;
	struct attr_gpus *gpus;	 /* the next step's GPU uses; NULL: none */
	uint64_t gpu_total;	 /* GPU 0's active energy so far */
	uint64_t platform_total; /* the platform's active energy so far */
	struct seen seen[MAX_SERIES];
	size_t n_seen;
};

static void fx_init(struct fx *f, uint32_t max_shown, uint32_t max_terminated)
{
	const double idle[ZONE_MAX] = {0};
	char info[256], err[256];

	memset(f, 0, sizeof(*f));
	snprintf(f->root, sizeof(f->root), "/tmp/kepler-snap-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	assert_int_equal(config_defaults(&f->cfg), 0);
	free(f->cfg.host_procfs);
	f->cfg.host_procfs = strdup(f->root);
	f->cfg.max_processes = max_shown;
	f->cfg.max_terminated = max_terminated;
	assert_int_equal(workloads_new(&f->w, &f->cfg, info, sizeof(info), err, sizeof(err)), 0);
	f->node = node_acct_new(idle);
	assert_non_null(f->node);
}

/* <root>/<pid>/cgroup naming the process's cgroup v2 path. */
static void fx_cgroup(struct fx *f, uint32_t pid, const char *path)
{
	char dir[128], file[160];
	FILE *fp;

	snprintf(dir, sizeof(dir), "%s/%u", f->root, pid);
	mkdir(dir, 0755);
	snprintf(file, sizeof(file), "%s/cgroup", dir);
	fp = fopen(file, "w");
	assert_non_null(fp);
	fprintf(fp, "0::%s\n", path);
	fclose(fp);
}

static struct proc_activity act(uint32_t pid, const char *comm, uint64_t cpu_ns, bool exited)
{
	struct proc_activity a = {.pid = pid, .cpu_ns = cpu_ns, .exited = exited};

	snprintf(a.comm, sizeof(a.comm), "%s", comm);
	return a;
}

static const char *series_key(const struct snap_process *p, char *buf, size_t size)
{
	snprintf(buf, size, "%u/%s/%s/%s/%d", p->pid, p->comm, p->container_id, p->vm_id,
		 p->terminated);
	return buf;
}

/* A counter that was exported before must not have decreased. */
static void check_monotonic(struct fx *f, const char *key, uint64_t uj)
{
	for (size_t i = 0; i < f->n_seen; i++)
		if (streq(f->seen[i].key, key)) {
			if (uj < f->seen[i].uj)
				fail_msg("interval %llu: %s fell from %llu to %llu",
					 (unsigned long long)f->interval, key,
					 (unsigned long long)f->seen[i].uj, (unsigned long long)uj);
			f->seen[i].uj = uj;
			return;
		}
	assert_true(f->n_seen < MAX_SERIES);
	snprintf(f->seen[f->n_seen].key, sizeof(f->seen[f->n_seen].key), "%s", key);
	f->seen[f->n_seen++].uj = uj;
}

static uint64_t gpu0(const struct snap_gpu_energy *e)
{
	return e ? e->energy_uj[0] : 0;
}

/* GPU 0 as the CPU zone: processes sum to the node, containers to theirs, the pod to its. */
static void check_gpu_sums(struct fx *f)
{
	const struct snapshot *s = f->snap;
	uint64_t sum = 0, pod_sum = 0;
	char key[200], sk[180];

	for (size_t i = 0; i < s->n_procs; i++) {
		sum += gpu0(s->procs[i].gpu);
		snprintf(key, sizeof(key), "gpu/%s", series_key(&s->procs[i], sk, sizeof(sk)));
		check_monotonic(f, key, gpu0(s->procs[i].gpu));
	}
	assert_int_equal(sum, f->gpu_total);
	for (size_t c = 0; c < s->n_groups[SNAP_CONTAINER]; c++) {
		const struct snap_group *g = &s->groups[SNAP_CONTAINER][c];
		uint64_t csum = 0;

		for (size_t i = 0; i < s->n_procs; i++)
			if (streq(s->procs[i].container_id, g->id))
				csum += gpu0(s->procs[i].gpu);
		assert_int_equal(gpu0(g->gpu), csum);
		pod_sum += gpu0(g->gpu);
	}
	for (size_t p = 0; p < s->n_groups[SNAP_POD]; p++)
		assert_int_equal(gpu0(s->groups[SNAP_POD][p].gpu), pod_sum);
}

/* The platform's share: processes sum to the node, containers to theirs, the pod to its. */
static void check_platform_sums(struct fx *f)
{
	const struct snapshot *s = f->snap;
	uint64_t sum = 0, pod_sum = 0;
	char key[200], sk[180];

	for (size_t i = 0; i < s->n_procs; i++) {
		sum += s->procs[i].platform_uj;
		snprintf(key, sizeof(key), "platform/%s", series_key(&s->procs[i], sk, sizeof(sk)));
		check_monotonic(f, key, s->procs[i].platform_uj);
	}
	assert_int_equal(sum, f->platform_total);
	for (size_t c = 0; c < s->n_groups[SNAP_CONTAINER]; c++) {
		const struct snap_group *g = &s->groups[SNAP_CONTAINER][c];
		uint64_t csum = 0;

		for (size_t i = 0; i < s->n_procs; i++)
			if (streq(s->procs[i].container_id, g->id))
				csum += s->procs[i].platform_uj;
		assert_int_equal(g->platform_uj, csum);
		pod_sum += g->platform_uj;
	}
	for (size_t p = 0; p < s->n_groups[SNAP_POD]; p++)
		assert_int_equal(s->groups[SNAP_POD][p].platform_uj, pod_sum);
}

static void check_sums(struct fx *f, uint64_t interval_active)
{
	const struct snapshot *s = f->snap;
	uint64_t sum = 0, isum = 0, pod_sum = 0;
	char key[200];

	for (size_t i = 0; i < s->n_procs; i++) {
		sum += s->procs[i].energy_uj[ZONE_PACKAGE];
		isum += s->procs[i].interval_uj[ZONE_PACKAGE];
		check_monotonic(f, series_key(&s->procs[i], key, sizeof(key)),
				s->procs[i].energy_uj[ZONE_PACKAGE]);
	}
	if (sum != f->active_total || isum != interval_active)
		fail_msg("interval %llu: process series %llu (this interval %llu), node active "
			 "%llu (%llu)",
			 (unsigned long long)f->interval, (unsigned long long)sum,
			 (unsigned long long)isum, (unsigned long long)f->active_total,
			 (unsigned long long)interval_active);
	for (size_t c = 0; c < s->n_groups[SNAP_CONTAINER]; c++) {
		const struct snap_group *g = &s->groups[SNAP_CONTAINER][c];
		uint64_t csum = 0;

		for (size_t i = 0; i < s->n_procs; i++)
			if (streq(s->procs[i].container_id, g->id))
				csum += s->procs[i].energy_uj[ZONE_PACKAGE];
		if (csum != g->energy_uj[ZONE_PACKAGE])
			fail_msg("interval %llu: container %.12s %llu, its process series %llu",
				 (unsigned long long)f->interval, g->id,
				 (unsigned long long)g->energy_uj[ZONE_PACKAGE],
				 (unsigned long long)csum);
		snprintf(key, sizeof(key), "container/%s/%d", g->id, g->terminated);
		check_monotonic(f, key, g->energy_uj[ZONE_PACKAGE]);
		pod_sum += g->energy_uj[ZONE_PACKAGE];
	}
	for (size_t p = 0; p < s->n_groups[SNAP_POD]; p++) {
		const struct snap_group *g = &s->groups[SNAP_POD][p];

		assert_int_equal(g->energy_uj[ZONE_PACKAGE], pod_sum); /* one pod here */
		snprintf(key, sizeof(key), "pod/%s/%d", g->id, g->terminated);
		check_monotonic(f, key, g->energy_uj[ZONE_PACKAGE]);
	}
}

/*
 * One interval of n records, pkg µJ of active package energy (and three times
 * as much of the platform's), scrapes so far.
 */
static void step(struct fx *f, struct proc_activity *a, size_t n, uint64_t pkg, uint64_t scrapes)
{
	struct activity_delta d = {.procs = a, .n = n};
	uint64_t active[ZONE_MAX] = {[ZONE_PACKAGE] = pkg};
	struct node_reading rd = {.zones = ZONE_BIT(ZONE_PACKAGE), .valid = ZONE_BIT(ZONE_PACKAGE)};
	static const struct gpu_info gi = {.uuid = "GPU-0", .vendor = "nvidia", .backend = "nvml"};
	struct snapshot_input in = {
	    .metrics_levels = METRICS_ALL,
	    .dt_ns = 1000000000,
	    .cpu_model = "test",
	    .cpu_power_source = "rapl",
	    .platform_power_source = "none",
	    .activity_source = "ebpf",
	    .node = f->node,
	    .workloads = f->w,
	    .stats = &f->stats,
	    .start_time_seconds = -1,
	    .n_gpus = f->gpus ? 1 : 0,
	    .gpu = {&gi},
	};

	f->interval++;
	f->meter_uj += pkg;
	rd.zone_uj[ZONE_PACKAGE] = f->meter_uj;
	node_acct_update(f->node, &rd, -1, f->interval * 1000000000ULL);
	assert_int_equal(
	    workloads_update(f->w, &d, active, ZONE_BIT(ZONE_PACKAGE), f->gpus, 3 * pkg, scrapes),
	    0);
	f->active_total += pkg;
	f->platform_total += 3 * pkg;
	f->gpu_total += f->gpus ? f->gpus->active_uj[0] : 0;
	snapshot_free(f->snap);
	assert_int_equal(snapshot_build(&f->snap, &in), 0);
	check_sums(f, pkg);
	check_platform_sums(f);
	if (f->gpus)
		check_gpu_sums(f);
}

static const struct snap_process *series(struct fx *f, uint32_t pid)
{
	for (size_t i = 0; i < f->snap->n_procs; i++)
		if (f->snap->procs[i].pid == pid)
			return &f->snap->procs[i];
	return NULL;
}

static const struct snap_process *other(struct fx *f, const char *container_id)
{
	for (size_t i = 0; i < f->snap->n_procs; i++)
		if (!f->snap->procs[i].pid && streq(f->snap->procs[i].container_id, container_id))
			return &f->snap->procs[i];
	return NULL;
}

static const struct snap_group *container(struct fx *f, const char *id)
{
	for (size_t i = 0; i < f->snap->n_groups[SNAP_CONTAINER]; i++)
		if (streq(f->snap->groups[SNAP_CONTAINER][i].id, id))
			return &f->snap->groups[SNAP_CONTAINER][i];
	return NULL;
}

static void fx_free(struct fx *f)
{
	char cmd[128];

	snapshot_free(f->snap);
	workloads_free(f->w);
	node_acct_free(f->node);
	config_free(&f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->root);
	assert_int_equal(system(cmd), 0);
}

/* Processes beyond maxProcesses fold into their container's "other": containers still add up. */
static void test_container_is_its_series(void **state)
{
	static const uint32_t pids[] = {10, 11, 12, 20, 21, 30, 31};
	static const char *const where[] = {IN_A, IN_A, IN_A, IN_B, IN_B, HOST, HOST};
	struct proc_activity a[ARRAY_SIZE(pids)];
	struct fx f;

	(void)state;
	fx_init(&f, 2, 10);
	for (size_t i = 0; i < ARRAY_SIZE(pids); i++)
		fx_cgroup(&f, pids[i], where[i]);
	srand(3);
	for (int it = 0; it < 20; it++) {
		for (size_t i = 0; i < ARRAY_SIZE(pids); i++)
			a[i] = act(pids[i], "w", 1000 + (uint64_t)(rand() % 9000), false);
		step(&f, a, ARRAY_SIZE(a), 100000 + (uint64_t)(rand() % 100000), (uint64_t)it);
	}
	assert_non_null(container(&f, CA));
	assert_non_null(other(&f, CA));
	assert_non_null(other(&f, CB));
	assert_non_null(other(&f, "")); /* the processes in no container */
	assert_int_equal(f.snap->n_procs, 2 + 3);
	assert_int_equal(f.snap->n_tracked, ARRAY_SIZE(pids));
	fx_free(&f);
}

/*
 * A process that gets its own series when a place frees: its series starts then,
 * its earlier energy stays in "other", and the counters still sum to the node.
 */
static void test_promotion_counts_once(void **state)
{
	struct proc_activity first[] = {act(1, "big", 9000, false), act(2, "small", 1000, false)};
	struct proc_activity end[] = {act(1, "big", 100, true), act(2, "small", 5000, false)};
	struct proc_activity later[] = {act(2, "small", 5000, false)};
	struct fx f;

	(void)state;
	fx_init(&f, 1, 10);
	step(&f, first, 2, 10000, 0);
	assert_non_null(series(&f, 1));
	assert_null(series(&f, 2));
	step(&f, end, 2, 5100, 0);
	assert_true(series(&f, 1)->terminated);
	step(&f, later, 1, 5000, 1); /* scraped: gone at the next interval */
	step(&f, later, 1, 5000, 1);
	assert_null(series(&f, 1));
	/* process 2 has the place now; what it used before is still in "other" */
	assert_non_null(series(&f, 2));
	assert_int_equal(series(&f, 2)->energy_uj[ZONE_PACKAGE], 5000);
	step(&f, later, 1, 5000, 2);
	assert_int_equal(series(&f, 2)->energy_uj[ZONE_PACKAGE], 10000);
	fx_free(&f);
}

/* An ended process stays one interval past its end, scraped or not: its residue lands on it. */
static void test_exited_keeps_its_residue(void **state)
{
	struct proc_activity a[] = {act(10, "short", 500, true), act(20, "long", 500, false)};
	struct proc_activity residue[] = {act(10, "short", 100, true), act(20, "long", 900, false)};
	struct proc_activity later[] = {act(20, "long", 1000, false)};
	struct fx f;

	(void)state;
	fx_init(&f, 10, 10);
	fx_cgroup(&f, 10, IN_A);
	fx_cgroup(&f, 20, IN_B);
	step(&f, a, 2, 1000, 5);
	assert_true(series(&f, 10)->terminated);
	assert_int_equal(series(&f, 10)->energy_uj[ZONE_PACKAGE], 500);
	/* Scraped already, but the residue of its last slice still counts, on the same series. */
	step(&f, residue, 2, 1000, 6);
	assert_non_null(series(&f, 10));
	assert_int_equal(series(&f, 10)->cpu_ns, 600);
	assert_int_equal(series(&f, 10)->energy_uj[ZONE_PACKAGE], 600);
	step(&f, later, 1, 1000, 7);
	assert_null(series(&f, 10));
	/* its energy is in its container's "other", and its container is still exported */
	assert_int_equal(other(&f, CA)->energy_uj[ZONE_PACKAGE], 600);
	assert_int_equal(container(&f, CA)->energy_uj[ZONE_PACKAGE], 600);
	assert_true(container(&f, CA)->terminated);
	assert_int_equal(f.snap->n_tracked, 1);
	fx_free(&f);
}

/*
 * A container whose processes all end and that comes back under the same id (docker
 * restart, a crash loop) carries on with its counter: the pod stays the sum of its
 * containers.
 */
static void test_container_restart_keeps_counting(void **state)
{
	struct proc_activity run[] = {act(10, "app", 1000, false), act(20, "side", 1000, false)};
	struct proc_activity crash[] = {act(10, "app", 1000, true), act(20, "side", 1000, false)};
	struct proc_activity alone[] = {act(20, "side", 1000, false)};
	struct proc_activity back[] = {act(11, "app", 1000, false), act(20, "side", 1000, false)};
	uint64_t before;
	struct fx f;

	(void)state;
	fx_init(&f, 10, 10);
	fx_cgroup(&f, 10, IN_A);
	fx_cgroup(&f, 11, IN_A);
	fx_cgroup(&f, 20, IN_B);
	step(&f, run, 2, 2000, 0);
	step(&f, crash, 2, 2000, 0);
	for (uint64_t s = 1; s < 6; s++)
		step(&f, alone, 1, 1000, s);
	assert_true(container(&f, CA)->terminated);
	before = container(&f, CA)->energy_uj[ZONE_PACKAGE];
	assert_int_equal(before, 2000);
	step(&f, back, 2, 2000, 6);
	assert_false(container(&f, CA)->terminated);
	assert_int_equal(container(&f, CA)->energy_uj[ZONE_PACKAGE], before + 1000);
	fx_free(&f);
}

/* A reused pid and an exec into a container: the old series ends, the sums hold. */
static void test_pid_reuse_and_exec(void **state)
{
	struct proc_activity a[] = {act(10, "old", 1000, true)};
	struct proc_activity reuse[] = {act(10, "new", 3000, false)};
	struct proc_activity exec[] = {act(10, "nginx", 3000, false)};
	struct fx f;

	(void)state;
	fx_init(&f, 10, 10);
	fx_cgroup(&f, 10, IN_A);
	step(&f, a, 1, 1000, 0);
	step(&f, NULL, 0, 0, 0);
	/* pid 10 is someone else now, elsewhere */
	fx_cgroup(&f, 10, HOST);
	step(&f, reuse, 1, 3000, 0);
	assert_string_equal(series(&f, 10)->comm, "new");
	assert_int_equal(series(&f, 10)->energy_uj[ZONE_PACKAGE], 3000);
	assert_int_equal(other(&f, CA)->energy_uj[ZONE_PACKAGE], 1000);
	/* it moves into container B and execs, as runc does */
	fx_cgroup(&f, 10, IN_B);
	step(&f, exec, 1, 3000, 0);
	assert_string_equal(series(&f, 10)->container_id, CB);
	assert_int_equal(series(&f, 10)->energy_uj[ZONE_PACKAGE], 3000);
	assert_int_equal(other(&f, "")->energy_uj[ZONE_PACKAGE], 3000);
	fx_free(&f);
}

/* Ended groups beyond maxTerminated go, the oldest first; their energy stays exported. */
static void test_ended_groups_bounded(void **state)
{
	struct proc_activity a[] = {act(10, "a", 1000, true)};
	struct proc_activity b[] = {act(20, "b", 1000, true)};
	struct fx f;

	(void)state;
	fx_init(&f, 10, 1);
	fx_cgroup(&f, 10, DOCKER_A);
	fx_cgroup(&f, 20, DOCKER_B);
	step(&f, a, 1, 1000, 0);
	step(&f, b, 1, 1000, 1);
	for (uint64_t s = 2; s < 6; s++)
		step(&f, NULL, 0, 0, s);
	/* A ended first: evicted; B, the most recent, kept (maxTerminated 1) */
	assert_null(container(&f, CA));
	assert_non_null(container(&f, CB));
	assert_null(other(&f, CA));
	assert_int_equal(other(&f, "")->energy_uj[ZONE_PACKAGE], 1000);
	fx_free(&f);
}

/*
 * GPU energy through the same tables: two containers of one pod and a host process
 * use GPU 0, one container's process ends; at every interval the process series
 * (their "other" included) sum to the GPU's active energy, each container to its
 * processes, the pod to its containers; nothing decreases; an ended process keeps
 * its GPU energy; a process that used no GPU has none.
 */
static void test_gpu_sums(void **state)
{
	struct attr_gpu_use uses[3];
	struct attr_gpus gpus = {.n = 1, .uses = uses};
	struct fx f;

	(void)state;
	fx_init(&f, 1, 10); /* one series: the others fold into their "other" */
	fx_cgroup(&f, 10, IN_A);
	fx_cgroup(&f, 20, IN_B);
	fx_cgroup(&f, 30, HOST);
	fx_cgroup(&f, 40, HOST);
	f.gpus = &gpus;
	for (uint64_t s = 0; s < 12; s++) {
		bool ended = s >= 6;
		struct proc_activity a[] = {act(10, "a", 1000, false), act(20, "b", 500, s == 6),
					    act(30, "c", 100, false), act(40, "idle", 900, false)};

		gpus.n_uses = 0;
		uses[gpus.n_uses++] = (struct attr_gpu_use){.pid = 10, .weight = 3, .util = 0.3};
		uses[gpus.n_uses++] = (struct attr_gpu_use){.pid = 30, .weight = 1, .util = 0.1};
		if (!ended)
			uses[gpus.n_uses++] = (struct attr_gpu_use){.pid = 20, .weight = 2};
		gpus.active_uj[0] = 6000 + 7 * s;
		step(&f, a, s <= 6 ? 4 : 3, 2000, s);
		if (s == 6)
			assert_true(series(&f, 20) == NULL || series(&f, 20)->terminated);
	}
	/* pid 40 ran and used no GPU. */
	for (size_t i = 0; i < f.snap->n_procs; i++)
		if (f.snap->procs[i].pid == 40)
			assert_null(f.snap->procs[i].gpu);
	assert_int_equal(f.snap->n_gpus, 1);
	assert_string_equal(f.snap->gpu[0].uuid, "GPU-0");
	fx_free(&f);
}

/*
 * Kepler 0.7's idle shares (snapshot/idle_share.h) on hand-made snapshots: by CPU
 * time in the interval, the remainders to the node's "other" and system_processes,
 * a process series that ends handing its share to its container's "other", and the
 * sums exact at every step.
 */
static void test_idle_share(void **state)
{
	struct idle_ledger *l = idle_ledger_new();
	struct snap_process procs[3] = {
	    {.pid = 7, .comm = "a", .container_id = "c1", .vm_id = ""},
	    {.pid = 0, .comm = "other", .container_id = "c1", .vm_id = ""},
	    {.pid = 0, .comm = "other", .container_id = "", .vm_id = ""},
	};
	struct snap_group container = {.id = "c1"};
	struct snap_idle idle[5];
	struct snapshot s = {.procs = procs, .n_procs = 3};
	/* Per interval: the node's cumulative package idle, CPU time of p, c1's other, node's. */
	static const struct {
		uint64_t idle_uj, cpu[3];
		size_t n_procs;
		uint64_t want[3], want_container, want_system;
	} steps[] = {
	    {1000, {3, 1, 0}, 3, {750, 250, 0}, 1000, 0},
	    /* the process series ends: its 750 move into c1's "other" */
	    {3000, {0, 2, 2}, 2, {0, 2000, 1000}, 2000, 1000},
	    /* nothing ran: the node's other and system_processes take it all */
	    {3500, {0, 0, 0}, 2, {0, 2000, 1500}, 2000, 1500},
	};

	(void)state;
	assert_non_null(l);
	s.zone[ZONE_PACKAGE].present = true;
	s.groups[SNAP_CONTAINER] = &container;
	s.n_groups[SNAP_CONTAINER] = 1;
	for (size_t t = 0; t < ARRAY_SIZE(steps); t++) {
		uint64_t sum = 0;

		memset(idle, 0, sizeof(idle));
		if (t == 1) { /* p's series is gone: the "other" series move up */
			procs[0] = procs[1];
			procs[1] = procs[2];
		}
		s.n_procs = steps[t].n_procs;
		for (size_t i = 0; i < s.n_procs; i++) {
			size_t col = s.n_procs == 3 ? i : i + 1;

			procs[i].idle = &idle[i];
			procs[i].cpu_ns += steps[t].cpu[col];
			procs[i].interval_cpu_ns = steps[t].cpu[col];
		}
		container.idle = &idle[3];
		container.interval_cpu_ns = steps[t].cpu[0] + steps[t].cpu[1];
		container.cpu_ns += container.interval_cpu_ns;
		s.system_idle = &idle[4];
		s.zone[ZONE_PACKAGE].idle_uj = steps[t].idle_uj;
		assert_int_equal(idle_ledger_apply(l, &s), 0);
		for (size_t i = 0; i < s.n_procs; i++) {
			size_t col = s.n_procs == 3 ? i : i + 1;

			assert_int_equal(procs[i].idle->uj[ZONE_PACKAGE], steps[t].want[col]);
			sum += procs[i].idle->uj[ZONE_PACKAGE];
		}
		assert_int_equal(sum, steps[t].idle_uj);
		assert_int_equal(container.idle->uj[ZONE_PACKAGE], steps[t].want_container);
		assert_int_equal(s.system_idle->uj[ZONE_PACKAGE], steps[t].want_system);
		assert_int_equal(container.idle->uj[ZONE_PACKAGE] + s.system_idle->uj[ZONE_PACKAGE],
				 steps[t].idle_uj);
	}
	idle_ledger_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_container_is_its_series),
	    cmocka_unit_test(test_promotion_counts_once),
	    cmocka_unit_test(test_exited_keeps_its_residue),
	    cmocka_unit_test(test_container_restart_keeps_counting),
	    cmocka_unit_test(test_pid_reuse_and_exec),
	    cmocka_unit_test(test_ended_groups_bounded),
	    cmocka_unit_test(test_gpu_sums),
	    cmocka_unit_test(test_idle_share),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
