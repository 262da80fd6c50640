// SPDX-License-Identifier: Apache-2.0
/* <procfs>/stat: the aggregate CPU times and the online CPUs, from tables. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/procstat.h"
#include "util/util.h"

static const char stat_2cpu[] = "cpu  10132153 290696 3084719 46828483 16683 0 25195 0 0 0\n"
				"cpu0 1393280 32966 572056 13343292 6130 0 17875 0 0 0\n"
				"cpu1 1335498 29854 504966 13503442 3422 0 2463 0 0 0\n"
				"intr 1462898 0 9 0\n"
				"ctxt 2339584\n";

static const struct {
	const char *text;
	int ret;
	struct cpu_times t;
	unsigned ncpus;
} cases[] = {
    {stat_2cpu, 0, {10132153, 290696, 3084719, 46828483, 16683, 0, 25195, 0}, 2},
    {"cpu  2262 1 1738 68672 532 3 45 9 0 0\ncpu0 806 0 652 35171 16 0 9 2 0 0\nintr 1 2 3\n",
     0,
     {2262, 1, 1738, 68672, 532, 3, 45, 9},
     1},
    /* an old kernel with only four columns */
    {"cpu 10 20 30 40\n", 0, {10, 20, 30, 40, 0, 0, 0, 0}, 0},
    {"cpu  1 2 3 4 5\n", 0, {1, 2, 3, 4, 5, 0, 0, 0}, 0},
    /* the aggregate line need not come first; an offline cpu2 is simply absent */
    {"intr 5\ncpu0 1\ncpu1 1\ncpu3 1\ncpu 1 2 3 4 5 6 7 8\n", 0, {1, 2, 3, 4, 5, 6, 7, 8}, 3},
    {"cpu  1 2 3 4\ncpux 1\ncpu\n", 0, {1, 2, 3, 4, 0, 0, 0, 0}, 0},
    {"cpu  1 2 3 4\ncpu0 1 2 3 4", 0, {1, 2, 3, 4, 0, 0, 0, 0}, 1}, /* no final newline */
    {"cpu  18446744073709551615 1 0 0\n", 0, {UINT64_MAX, 1, 0, 0, 0, 0, 0, 0}, 0},
    {"cpu0 1 2 3 4\n", -ENOENT},
    {"", -ENOENT},
    {"cpu 1 2 3\n", -EINVAL},
    {"cpu 1 2 x 4\n", -EINVAL},
    {"cpu  1 2 3 4x\n", -EINVAL},
    {"cpu -1 2 3 4\n", -EINVAL},
    {"cpu 99999999999999999999999 2 3 4\n", -ERANGE},
};

static void test_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cpu_times t = {7, 7, 7, 7, 7, 7, 7, 7}, untouched = t;
		unsigned ncpus = 77;
		int r = procstat_parse(cases[i].text, &t, &ncpus);

		if (r != cases[i].ret)
			fail_msg("case %zu: %d, want %d", i, r, cases[i].ret);
		if (r == 0) {
			assert_memory_equal(&t, &cases[i].t, sizeof(t));
			if (ncpus != cases[i].ncpus)
				fail_msg("case %zu: %u CPUs, want %u", i, ncpus, cases[i].ncpus);
		} else {
			assert_memory_equal(&t, &untouched, sizeof(t));
			assert_int_equal(ncpus, 77);
		}
	}
	/* The CPU count is optional. */
	{
		struct cpu_times t;

		assert_int_equal(procstat_parse(stat_2cpu, &t, NULL), 0);
	}
}

static void test_busy_idle(void **state)
{
	struct cpu_times t = {1, 2, 3, 4, 5, 6, 7, 8};
	struct cpu_times huge = {UINT64_MAX, 1, 0, UINT64_MAX, 1, 0, 0, 0};

	(void)state;
	/* Steal (8) is in neither. */
	assert_int_equal(cpu_times_busy(&t), 1 + 2 + 3 + 6 + 7);
	assert_int_equal(cpu_times_idle(&t), 4 + 5);
	assert_true(cpu_times_busy(&huge) == UINT64_MAX);
	assert_true(cpu_times_idle(&huge) == UINT64_MAX);
}

/* Through the reader: the leading cpu lines of a long file; refused when not a regular file. */
static void test_read(void **state)
{
	char dir[] = "/tmp/kepler-procstat-XXXXXX", path[64];
	struct cpu_times t;
	unsigned ncpus = 0;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/stat", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("cpu  1 2 3 4 5 6 7 8\n", f);
	for (int c = 0; c < 512; c++)
		fprintf(f, "cpu%d 1 2 3 4 5 6 7 8 9 10\n", c);
	fputs("intr", f);
	for (int i = 0; i < 20000; i++)
		fputs(" 0", f);
	fputs("\nctxt 5\n", f);
	fclose(f);
	assert_int_equal(procstat_read(dir, &t, &ncpus), 0);
	assert_int_equal(ncpus, 512);
	assert_int_equal(t.steal, 8);
	unlink(path);
	assert_int_equal(procstat_read(dir, &t, &ncpus), -ENOENT);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(procstat_read(dir, &t, &ncpus), -EINVAL);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_busy_idle),
	    cmocka_unit_test(test_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
