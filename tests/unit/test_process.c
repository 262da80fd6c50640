// SPDX-License-Identifier: Apache-2.0
/* Process table: CPU time accumulation, energy shares, terminated processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "workload/process.h"
#include "util/util.h"

static struct proc_activity act(uint32_t pid, const char *comm, uint64_t cpu_ns, bool exited)
{
	struct proc_activity a = {.pid = pid, .cpu_ns = cpu_ns, .exited = exited};

	strncpy(a.comm, comm, sizeof(a.comm) - 1);
	return a;
}

static const struct process *find(struct proc_table *t, uint32_t pid)
{
	const struct process **list;
	size_t n;

	assert_int_equal(proc_table_sorted(t, &list, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (list[i]->pid == pid)
			return list[i];
	return NULL;
}

static void update(struct proc_table *t, struct proc_activity *a, size_t n, uint64_t pkg_uj,
		   uint64_t scrapes)
{
	struct activity_delta d = {.procs = a, .n = n};
	uint64_t active[ZONE_MAX] = {[ZONE_PACKAGE] = pkg_uj, [ZONE_DRAM] = pkg_uj / 10};

	assert_int_equal(
	    proc_table_update(t, &d, active, ZONE_BIT(ZONE_PACKAGE) | ZONE_BIT(ZONE_DRAM), scrapes),
	    0);
}

static void test_shares_and_sums(void **state)
{
	struct proc_table *t = proc_table_new(10, 1000);
	struct proc_activity a[] = {act(10, "a", 1000, false), act(20, "b", 3000, false),
				    act(30, "idle", 0, false)};
	const struct process **list;
	uint64_t sum = 0;
	size_t n;

	(void)state;
	assert_non_null(t);
	update(t, a, ARRAY_SIZE(a), 1000001, 0);
	assert_int_equal(find(t, 10)->energy_uj[ZONE_PACKAGE], 250000);
	assert_int_equal(find(t, 20)->energy_uj[ZONE_PACKAGE], 750001);
	assert_int_equal(find(t, 30)->energy_uj[ZONE_PACKAGE], 0);
	assert_int_equal(find(t, 20)->energy_uj[ZONE_DRAM], 75000);
	/* Sorted by energy, largest first. */
	assert_int_equal(proc_table_sorted(t, &list, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(list[0]->pid, 20);
	for (size_t i = 0; i < n; i++)
		sum += list[i]->energy_uj[ZONE_PACKAGE];
	assert_int_equal(sum, 1000001);
	/* A second interval accumulates. */
	update(t, a, 2, 400, 0);
	assert_int_equal(find(t, 10)->cpu_ns, 2000);
	assert_int_equal(find(t, 10)->interval_cpu_ns, 1000);
	assert_int_equal(find(t, 10)->energy_uj[ZONE_PACKAGE], 250100);
	proc_table_free(t);
}

/* What workloads_update does to every process it resolves. */
static void mark_resolved(struct proc_table *t)
{
	struct process **list;
	size_t n;

	assert_int_equal(proc_table_list(t, &list, &n), 0);
	for (size_t i = 0; i < n; i++)
		list[i]->id.resolved = true;
}

/* A new comm (an exec) or a new cgroup sends the identity back to be resolved. */
static void test_identity_resolved_again(void **state)
{
	struct proc_table *t = proc_table_new(10, 1000);
	struct proc_activity a = act(10, "runc:[2:INIT]", 100, false);

	(void)state;
	a.cgroup_id = 1000;
	update(t, &a, 1, 1000, 0);
	mark_resolved(t);
	update(t, &a, 1, 1000, 0);
	assert_true(find(t, 10)->id.resolved); /* nothing changed */
	a = act(10, "nginx", 100, false);
	a.cgroup_id = 1000;
	update(t, &a, 1, 1000, 0);
	assert_false(find(t, 10)->id.resolved); /* exec */
	mark_resolved(t);
	a.cgroup_id = 2000;
	update(t, &a, 1, 1000, 0);
	assert_false(find(t, 10)->id.resolved); /* another cgroup */
	mark_resolved(t);
	a.cgroup_id = 0;
	update(t, &a, 1, 1000, 0);
	assert_true(find(t, 10)->id.resolved); /* cgroup unknown (procfs): no change seen */
	assert_int_equal(find(t, 10)->cpu_ns, 500);
	proc_table_free(t);
}

static void test_terminated_kept_until_scraped(void **state)
{
	struct proc_table *t = proc_table_new(10, 1000);
	struct proc_activity a[] = {act(10, "short", 500, true), act(20, "long", 500, false)};
	struct proc_activity residue[] = {act(10, "short", 100, true), act(20, "long", 900, false)};
	struct proc_activity later[] = {act(20, "long", 1000, false)};

	(void)state;
	update(t, a, 2, 1000, 5);
	assert_true(find(t, 10)->terminated);
	assert_int_equal(find(t, 10)->energy_uj[ZONE_PACKAGE], 500);
	/* Not scraped yet, and the residue of its last slice still counts. */
	update(t, residue, 2, 1000, 5);
	assert_int_equal(find(t, 10)->cpu_ns, 600);
	assert_int_equal(find(t, 10)->energy_uj[ZONE_PACKAGE], 600);
	update(t, later, 1, 1000, 5);
	assert_non_null(find(t, 10));
	/* Scraped: dropped at the next interval. */
	update(t, later, 1, 1000, 6);
	assert_null(find(t, 10));
	assert_non_null(find(t, 20));
	assert_int_equal(proc_table_count(t), 1);
	proc_table_free(t);
}

static void test_max_terminated_keeps_largest(void **state)
{
	struct proc_table *t = proc_table_new(3, 1000);
	struct proc_activity a[8];

	(void)state;
	for (uint32_t i = 0; i < 8; i++)
		a[i] = act(100 + i, "x", 100 * (i + 1), true);
	update(t, a, 8, 3600, 0);
	update(t, NULL, 0, 0, 0);
	assert_int_equal(proc_table_count(t), 3);
	assert_non_null(find(t, 107));
	assert_non_null(find(t, 106));
	assert_non_null(find(t, 105));
	assert_null(find(t, 104));
	proc_table_free(t);
}

static void test_growth_many_processes(void **state)
{
	struct proc_table *t = proc_table_new(500, 200);
	static struct proc_activity a[20000];
	const struct process **list;
	uint64_t sum = 0;
	size_t n;

	(void)state;
	for (uint32_t i = 0; i < 20000; i++)
		a[i] = act(i + 1, "w", 1 + i % 13, false);
	update(t, a, 20000, 987654321, 0);
	assert_int_equal(proc_table_count(t), 20000);
	assert_int_equal(proc_table_sorted(t, &list, &n), 0);
	for (size_t i = 0; i < n; i++)
		sum += list[i]->energy_uj[ZONE_PACKAGE];
	assert_int_equal(sum, 987654321);
	assert_non_null(find(t, 12345));
	proc_table_free(t);
}

static void test_other_folds_the_rest(void **state)
{
	struct proc_table *t = proc_table_new(10, 2);
	struct proc_activity a[] = {act(1, "a", 100, false), act(2, "b", 300, false),
				    act(3, "c", 200, false), act(4, "d", 400, false)};
	struct proc_activity b[] = {act(1, "a", 1000, false), act(2, "b", 100, false),
				    act(3, "c", 100, false), act(4, "d", 100, false)};
	const struct process_other *o;

	(void)state;
	update(t, a, 4, 1000, 0);
	/* The two largest are shown, the others summed. */
	assert_true(find(t, 4)->shown);
	assert_true(find(t, 2)->shown);
	assert_false(find(t, 1)->shown);
	o = proc_table_other(t);
	assert_int_equal(o->energy_uj[ZONE_PACKAGE], 300);
	assert_int_equal(o->cpu_ns, 300);
	/* Shown processes stay shown though "a" now uses more: counters never jump. */
	update(t, b, 4, 1300, 0);
	assert_false(find(t, 1)->shown);
	assert_int_equal(o->energy_uj[ZONE_PACKAGE], 300 + 1100);
	assert_int_equal(o->interval_uj[ZONE_PACKAGE], 1100);
	proc_table_free(t);
}

/* With hardware counters: package and core follow cycles, dram cache misses, the rest CPU time. */
static void test_features_with_counters(void **state)
{
	struct proc_table *t = proc_table_new(10, 1000);
	struct proc_activity a[] = {act(1, "compute", 1000, false), act(2, "memory", 1000, false)};
	uint64_t active[ZONE_MAX] = {
	    [ZONE_PACKAGE] = 1000, [ZONE_CORE] = 100, [ZONE_DRAM] = 500, [ZONE_PSYS] = 60};
	struct activity_delta d = {.procs = a, .n = 2, .has_counters = true};

	(void)state;
	a[0].cycles = 3000;
	a[0].cache_misses = 10;
	a[1].cycles = 1000;
	a[1].cache_misses = 40;
	assert_int_equal(proc_table_update(t, &d, active, ZONE_ALL, 0), 0);
	assert_int_equal(find(t, 1)->energy_uj[ZONE_PACKAGE], 750);
	assert_int_equal(find(t, 2)->energy_uj[ZONE_PACKAGE], 250);
	assert_int_equal(find(t, 1)->energy_uj[ZONE_CORE], 75);
	assert_int_equal(find(t, 1)->energy_uj[ZONE_DRAM], 100);
	assert_int_equal(find(t, 2)->energy_uj[ZONE_DRAM], 400);
	assert_int_equal(find(t, 1)->energy_uj[ZONE_PSYS], 30); /* equal CPU time */

	/* The same deltas without counters: CPU time everywhere. */
	d.has_counters = false;
	assert_int_equal(proc_table_update(t, &d, active, ZONE_ALL, 0), 0);
	assert_int_equal(find(t, 1)->interval_uj[ZONE_PACKAGE], 500);
	assert_int_equal(find(t, 2)->interval_uj[ZONE_DRAM], 250);
	proc_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shares_and_sums),
	    cmocka_unit_test(test_identity_resolved_again),
	    cmocka_unit_test(test_terminated_kept_until_scraped),
	    cmocka_unit_test(test_max_terminated_keeps_largest),
	    cmocka_unit_test(test_growth_many_processes),
	    cmocka_unit_test(test_other_folds_the_rest),
	    cmocka_unit_test(test_features_with_counters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
