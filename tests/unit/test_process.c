// SPDX-License-Identifier: Apache-2.0
/* The process table: processes by pid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "workload/process.h"

/* The table is util/hashmap (tested there): here, what proc_table adds to it. */
static void test_add_get_remove(void **state)
{
	struct proc_table *t = proc_table_new();
	struct process *p;

	(void)state;
	assert_non_null(t);
	assert_null(proc_table_get(t, 7));
	p = proc_table_add(t, 7);
	assert_non_null(p);
	assert_int_equal(p->pid, 7);
	assert_null(p->attr.series);
	assert_ptr_equal(proc_table_get(t, 7), p);
	assert_int_equal(proc_table_count(t), 1);
	proc_table_remove(t, p);
	assert_null(proc_table_get(t, 7));
	assert_int_equal(proc_table_count(t), 0);
	proc_table_free(t);
}

static void test_list(void **state)
{
	struct proc_table *t = proc_table_new();
	struct process **list;
	uint64_t sum = 0;
	size_t n;

	(void)state;
	for (uint32_t pid = 1; pid <= 5000; pid++)
		assert_non_null(proc_table_add(t, pid));
	assert_int_equal(proc_table_list(t, &list, &n), 0);
	assert_int_equal(n, 5000);
	for (size_t i = 0; i < n; i++)
		sum += list[i]->pid;
	assert_int_equal(sum, 5000ULL * 5001 / 2);
	proc_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_get_remove),
	    cmocka_unit_test(test_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
