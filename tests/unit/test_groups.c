// SPDX-License-Identifier: Apache-2.0
/* The group table: get-or-create by id, removal, listing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "workload/groups.h"

static void test_get_remove(void **state)
{
	struct group_table *t = group_table_new();
	struct group **list;
	char id[16];
	size_t n;

	(void)state;
	assert_non_null(t);
	for (int i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "g%d", i);
		assert_non_null(group_table_get(t, id));
	}
	assert_int_equal(group_table_count(t), 300);
	assert_ptr_equal(group_table_get(t, "g7"), group_table_get(t, "g7"));
	for (int i = 0; i < 300; i += 2) {
		snprintf(id, sizeof(id), "g%d", i);
		group_table_remove(t, group_table_get(t, id));
	}
	assert_int_equal(group_table_count(t), 150);
	assert_int_equal(group_table_list(t, &list, &n), 0);
	assert_int_equal(n, 150);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(atoi(list[i]->id + 1) % 2, 1);
	/* the odd ones are still found after the removals broke their chains */
	for (int i = 1; i < 300; i += 2) {
		snprintf(id, sizeof(id), "g%d", i);
		assert_string_equal(group_table_get(t, id)->id, id);
	}
	assert_int_equal(group_table_count(t), 150);
	/* no group has an empty or overlong id */
	assert_null(group_table_get(t, ""));
	assert_null(group_table_get(
	    t, "0123456789012345678901234567890123456789012345678901234567890123456789"));
	group_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
