// SPDX-License-Identifier: Apache-2.0
/* Container/pod/VM groups: sums, liveness, terminated retention and bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "workload/groups.h"
#include "util/util.h"

static const struct group *find(struct group_table *t, const char *id)
{
	const struct group **list;
	size_t n;

	assert_int_equal(group_table_sorted(t, &list, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (streq(list[i]->id, id))
			return list[i];
	return NULL;
}

static void add(struct group_table *t, const char *id, uint64_t pkg_uj, bool alive)
{
	uint64_t uj[ZONE_MAX] = {[ZONE_PACKAGE] = pkg_uj};
	struct group *g = group_table_get(t, id);

	assert_non_null(g);
	group_add(g, pkg_uj * 10, uj, alive);
}

static void test_sums_and_lifecycle(void **state)
{
	struct group_table *t = group_table_new(10);

	(void)state;
	assert_int_equal(group_table_begin(t, 0), 0);
	add(t, "c1", 100, true);
	add(t, "c1", 50, false); /* an exited process of a running container */
	add(t, "c2", 7, false);	 /* every process of c2 has ended */
	group_table_end(t, 0);
	assert_int_equal(find(t, "c1")->energy_uj[ZONE_PACKAGE], 150);
	assert_int_equal(find(t, "c1")->cpu_ns, 1500);
	assert_false(find(t, "c1")->terminated);
	assert_true(find(t, "c2")->terminated);

	/* Not scraped yet: c2 stays, and the residue of its last process still lands. */
	assert_int_equal(group_table_begin(t, 0), 0);
	add(t, "c1", 10, true);
	add(t, "c2", 3, false);
	group_table_end(t, 0);
	assert_int_equal(find(t, "c2")->energy_uj[ZONE_PACKAGE], 10);
	assert_int_equal(find(t, "c1")->interval_uj[ZONE_PACKAGE], 10);

	/* Scraped, and a full interval past its end: dropped. */
	assert_int_equal(group_table_begin(t, 1), 0);
	add(t, "c1", 1, true);
	group_table_end(t, 1);
	assert_null(find(t, "c2"));
	assert_int_equal(group_table_count(t), 1);
	assert_int_equal(find(t, "c1")->energy_uj[ZONE_PACKAGE], 161);
	group_table_free(t);
}

static void test_bounded_terminated(void **state)
{
	struct group_table *t = group_table_new(2);
	char id[16];

	(void)state;
	assert_int_equal(group_table_begin(t, 0), 0);
	for (int i = 0; i < 200; i++) {
		snprintf(id, sizeof(id), "g%d", i);
		add(t, id, (uint64_t)i, false);
	}
	group_table_end(t, 0);
	assert_int_equal(group_table_count(t), 200);
	assert_int_equal(group_table_begin(t, 0), 0);
	group_table_end(t, 0);
	/* Only the two largest survive. */
	assert_int_equal(group_table_count(t), 2);
	assert_non_null(find(t, "g199"));
	assert_non_null(find(t, "g198"));
	assert_null(find(t, "g0"));
	assert_null(group_table_get(t, ""));
	group_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sums_and_lifecycle),
	    cmocka_unit_test(test_bounded_terminated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
