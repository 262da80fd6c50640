// SPDX-License-Identifier: Apache-2.0
/* Exact proportional split: tables, then a randomized conservation check. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "attribution/share.h"
#include "util/util.h"

struct share_case {
	uint64_t total;
	uint64_t w[6];
	size_t n;
	uint64_t want[6];
	int ret;
};

static const struct share_case cases[] = {
    {100, {1, 1}, 2, {50, 50}, 0},
    {100, {1, 3}, 2, {25, 75}, 0},
    {10, {1, 1, 1}, 3, {4, 3, 3}, 0}, /* remainder to the first of equals */
    {11, {1, 1, 1}, 3, {4, 4, 3}, 0},
    {7, {2, 0, 5}, 3, {2, 0, 5}, 0},
    {1, {1, 1, 1, 1}, 4, {1, 0, 0, 0}, 0},
    {0, {3, 4}, 2, {0, 0}, 0},
    {100, {0, 0}, 2, {0, 0}, -ENODATA},
    {99, {1, 2, 3, 4, 5, 6}, 6, {5, 9, 14, 19, 24, 28}, 0},
    {UINT64_MAX, {UINT64_MAX, UINT64_MAX}, 2, {UINT64_MAX / 2 + 1, UINT64_MAX / 2}, 0},
    {1000000, {UINT64_MAX, 1}, 2, {1000000, 0}, 0},
};

static void test_share_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct share_case *c = &cases[i];
		uint64_t out[6];

		assert_int_equal(share_split(c->total, c->w, c->n, out), c->ret);
		for (size_t k = 0; k < c->n; k++)
			assert_int_equal(out[k], c->want[k]);
	}
}

/* Whatever the weights, the parts sum to the total and each is within 1 of its exact share. */
static void test_share_conserves(void **state)
{
	uint64_t w[257], out[257];

	(void)state;
	srand(42);
	for (int round = 0; round < 2000; round++) {
		size_t n = 1 + (size_t)rand() % 257;
		uint64_t total = ((uint64_t)rand() << 31) ^ (uint64_t)rand(), sum = 0, wsum = 0;

		for (size_t k = 0; k < n; k++) {
			w[k] = (uint64_t)rand() % 5 == 0 ? 0 : (uint64_t)rand() * 1000;
			wsum += w[k];
		}
		if (wsum == 0)
			continue;
		assert_int_equal(share_split(total, w, n, out), 0);
		for (size_t k = 0; k < n; k++) {
			long double exact = (long double)total * w[k] / wsum;

			sum += out[k];
			assert_true((long double)out[k] > exact - 1 &&
				    (long double)out[k] < exact + 1);
		}
		assert_int_equal(sum, total);
		/*
		 * Largest remainder: a part given one more than its floor has a remainder at
		 * least any other's that was not (on a tie, the earlier part).
		 */
		for (size_t a = 0; a < n; a++)
			for (size_t b = 0; b < n; b++) {
				unsigned __int128 pa = (unsigned __int128)total * w[a],
						  pb = (unsigned __int128)total * w[b];
				bool up_a = out[a] > pa / wsum, up_b = out[b] > pb / wsum;

				if (up_a && !up_b)
					assert_true(pa % wsum > pb % wsum ||
						    (pa % wsum == pb % wsum && a < b));
			}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_share_table),
	    cmocka_unit_test(test_share_conserves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
