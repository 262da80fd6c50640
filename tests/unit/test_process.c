// SPDX-License-Identifier: Apache-2.0
/* The process table: lookups by pid through growth, removals and shrinking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "workload/process.h"

/* Against a plain array of present pids: add, get, remove in random order, many times. */
static void test_model(void **state)
{
	static bool present[40000];
	struct proc_table *t = proc_table_new();
	size_t n = 0;

	(void)state;
	assert_non_null(t);
	srand(1);
	for (int it = 0; it < 400000; it++) {
		/* Bursts: the first half grows the table, the second shrinks it. */
		uint32_t pid = (uint32_t)(rand() % (it < 200000 ? 40000 : 4000)) + 1;
		struct process *p = proc_table_get(t, pid);

		assert_true((p != NULL) == present[pid - 1]);
		if (p && (it >= 200000 || rand() % 3 == 0)) {
			proc_table_remove(t, p);
			present[pid - 1] = false;
			n--;
		} else if (!p) {
			p = proc_table_add(t, pid);
			assert_non_null(p);
			assert_int_equal(p->pid, pid);
			present[pid - 1] = true;
			n++;
		}
		assert_int_equal(proc_table_count(t), n);
	}
	for (uint32_t pid = 1; pid <= 40000; pid++)
		assert_true((proc_table_get(t, pid) != NULL) == present[pid - 1]);
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
	    cmocka_unit_test(test_model),
	    cmocka_unit_test(test_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
