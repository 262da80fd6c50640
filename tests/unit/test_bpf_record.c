// SPDX-License-Identifier: Apache-2.0
/* The eBPF drain's accounting of one map record, from a table: no kernel needed. */
#include <linux/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "activity/activity.h"
#include "activity/internal.h"
#include "util/util.h"

/* One record of the process map as the drain finds it, after what earlier drains saw. */
static const struct record_case {
	const char *name;
	bool has_counters;
	uint64_t last[BPF_LAST_MAX]; /* before */
	bool exit_seen;		     /* before */
	uint64_t cpu_ns, cycles, cache_misses;
	uint32_t flags; /* KEPLER_PROC_* of the record */
	int want;	/* BPF_RECORD_* */
	uint64_t want_cpu, want_cycles, want_misses;
	uint64_t want_last[BPF_LAST_MAX];
	bool want_exit_seen;
} record_cases[] = {
    {"first sight with a PMU: everything so far",
     true,
     {0, 0, 0},
     false,
     1000,
     5000,
     7,
     0,
     BPF_RECORD_EMIT,
     1000,
     5000,
     7,
     {1000, 5000, 7},
     false},
    {"the next drain: differences",
     true,
     {1000, 5000, 7},
     false,
     1500,
     9000,
     10,
     0,
     BPF_RECORD_EMIT,
     500,
     4000,
     3,
     {1500, 9000, 10},
     false},
    {"no PMU: the counter fields are not read, whatever they hold",
     false,
     {0, 0, 0},
     false,
     1000,
     0xdeadbeef,
     99,
     0,
     BPF_RECORD_EMIT,
     1000,
     0,
     0,
     {1000, 0, 0},
     false},
    {"no PMU, the next drain",
     false,
     {1000, 0, 0},
     false,
     1200,
     0xdeadbeef,
     99,
     0,
     BPF_RECORD_EMIT,
     200,
     0,
     0,
     {1200, 0, 0},
     false},
    {"nothing new: nothing emitted",
     true,
     {1500, 9000, 10},
     false,
     1500,
     9000,
     10,
     0,
     0,
     0,
     0,
     0,
     {1500, 9000, 10},
     false},
    {"counters moved, CPU time not",
     true,
     {1500, 9000, 10},
     false,
     1500,
     9100,
     10,
     0,
     BPF_RECORD_EMIT,
     0,
     100,
     0,
     {1500, 9100, 10},
     false},
    {"a value below the last emits 0 and keeps the last",
     true,
     {2000, 9000, 10},
     false,
     1500,
     9500,
     12,
     0,
     BPF_RECORD_EMIT,
     0,
     500,
     2,
     {2000, 9500, 12},
     false},
    {"exit first seen, no activity: reported",
     true,
     {1500, 9000, 10},
     false,
     1500,
     9000,
     10,
     KEPLER_PROC_EXITED,
     BPF_RECORD_EMIT,
     0,
     0,
     0,
     {1500, 9000, 10},
     true},
    {"exit reported before, the final residue: emitted and deleted",
     true,
     {1500, 9000, 10},
     true,
     1600,
     9050,
     11,
     KEPLER_PROC_EXITED,
     BPF_RECORD_EMIT | BPF_RECORD_DELETE,
     100,
     50,
     1,
     {1600, 9050, 11},
     true},
    {"exit reported before, nothing new: deleted only",
     false,
     {1500, 0, 0},
     true,
     1500,
     7,
     7,
     KEPLER_PROC_EXITED,
     BPF_RECORD_DELETE,
     0,
     0,
     0,
     {1500, 0, 0},
     true},
    {"a kernel thread",
     false,
     {0, 0, 0},
     false,
     300,
     0,
     0,
     KEPLER_PROC_KTHREAD,
     BPF_RECORD_EMIT,
     300,
     0,
     0,
     {300, 0, 0},
     false},
};

static void test_record_account(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(record_cases); i++) {
		const struct record_case *c = &record_cases[i];
		const struct proc_key k = {.tgid = 4242, .start_time = 777000};
		struct proc_stats v = {
		    .cpu_ns = c->cpu_ns,
		    .cycles = c->cycles,
		    .cache_misses = c->cache_misses,
		    .cgroup_id = 9001,
		    .ppid = 1,
		    .flags = c->flags,
		};
		struct proc_activity o = {.pid = 1, .kernel_thread = true, .exited = true};
		uint64_t last[BPF_LAST_MAX];
		bool exit_seen = c->exit_seen;
		int got;

		memcpy(last, c->last, sizeof(last));
		memcpy(v.comm, "a-sixteen-chars!", sizeof(v.comm)); /* not NUL-terminated */
		got = bpf_record_account(&k, &v, c->has_counters, last, &exit_seen, &o);
		if (got != c->want)
			fail_msg("%s: flags %d, want %d", c->name, got, c->want);
		if (memcmp(last, c->want_last, sizeof(last)) != 0 || exit_seen != c->want_exit_seen)
			fail_msg("%s: last %llu %llu %llu exit_seen %d", c->name,
				 (unsigned long long)last[0], (unsigned long long)last[1],
				 (unsigned long long)last[2], exit_seen);
		if (!(got & BPF_RECORD_EMIT)) {
			assert_int_equal(o.pid, 1); /* *ret untouched */
			continue;
		}
		if (o.cpu_ns != c->want_cpu || o.cycles != c->want_cycles ||
		    o.cache_misses != c->want_misses)
			fail_msg("%s: cpu %llu cycles %llu misses %llu", c->name,
				 (unsigned long long)o.cpu_ns, (unsigned long long)o.cycles,
				 (unsigned long long)o.cache_misses);
		assert_int_equal(o.pid, 4242);
		assert_int_equal(o.start_time_ns, 777000);
		assert_int_equal(o.ppid, 1);
		assert_int_equal(o.cgroup_id, 9001);
		assert_string_equal(o.comm, "a-sixteen-chars");
		assert_int_equal(o.exited, !!(c->flags & KEPLER_PROC_EXITED));
		assert_int_equal(o.kernel_thread, !!(c->flags & KEPLER_PROC_KTHREAD));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record_account),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
