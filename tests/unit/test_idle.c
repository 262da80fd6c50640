// SPDX-License-Identifier: Apache-2.0
/* Idle power learning: the fit, its preconditions and the clamp, from tables. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "attribution/idle.h"
#include "util/util.h"

struct sample {
	double util, watts;
};

struct idle_case {
	const char *name;
	struct sample s[IDLE_WINDOW + 10];
	size_t n;
	/* When set, samples are generated: watts = a + b * util over util = lo..hi. */
	double a, b, lo, hi;
	size_t gen;
	/* Then a second line, a2 + b * util, for another gen2 samples. */
	double a2;
	size_t gen2;
	double want;
	int fitted;
};

static const struct idle_case cases[] = {
    {"no samples", .n = 0, .want = NAN, .fitted = 0},
    {"one sample: lowest power", .s = {{0.3, 42}}, .n = 1, .want = 42, .fitted = 0},
    {"too few samples for a fit", .s = {{0.1, 13}, {0.9, 37}, {0.5, 25}}, .n = 3, .want = 13},
    {"flat utilisation: lowest power",
     .s = {{0.50, 21}, {0.52, 20}, {0.51, 22}, {0.50, 20.5}, {0.53, 23}, {0.50, 21}, {0.52, 22}},
     .n = 7, .want = 20},
    {"exact line", .a = 10, .b = 30, .lo = 0.1, .hi = 0.9, .gen = 20, .want = 10, .fitted = 1},
    {"line over the full window", .a = 4.5, .b = 80, .lo = 0.0, .hi = 1.0, .gen = IDLE_WINDOW,
     .want = 4.5, .fitted = 1},
    {"window slides past old points", .a = 50, .b = 20, .lo = 0.2, .hi = 0.7, .gen = IDLE_WINDOW,
     .a2 = 7, .gen2 = IDLE_WINDOW, .want = 7, .fitted = 1},
    {"negative intercept clamps to 0", .a = -5, .b = 40, .lo = 0.2, .hi = 0.8, .gen = 10, .want = 0,
     .fitted = 1},
    {"intercept above the lowest power clamps to it",
     .s = {{0.1, 12}, {0.3, 16}, {0.5, 20}, {0.7, 24}, {0.9, 28}, {0.2, 14}, {0.6, 9}}, .n = 7,
     .want = 9, .fitted = 1},
    {"falling power is not a model",
     .s = {{0.1, 40}, {0.3, 35}, {0.5, 30}, {0.7, 25}, {0.9, 20}, {0.2, 38}}, .n = 6, .want = 20,
     .fitted = 0},
    {"unknown utilisation counts only for the lowest power",
     .s = {{-1, 3}, {0.1, 12}, {0.3, 16}, {0.5, 20}, {0.7, 24}, {0.9, 28}, {0.2, 14}}, .n = 7,
     .want = 3, .fitted = 1},
    {"bad values are ignored", .s = {{0.5, NAN}, {0.5, -3}, {0.5, INFINITY}, {0.5, 17}}, .n = 4,
     .want = 17},
};

static void test_idle_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct idle_case *c = &cases[i];
		struct idle_learner *l = idle_learner_new();
		double got;

		assert_non_null(l);
		for (size_t k = 0; k < c->n; k++)
			idle_learner_add(l, c->s[k].util, c->s[k].watts);
		for (size_t k = 0; k < c->gen; k++) {
			double u = c->lo + (c->hi - c->lo) * (double)(k % 7) / 6.0;

			idle_learner_add(l, u, c->a + c->b * u);
		}
		for (size_t k = 0; k < c->gen2; k++) {
			double u = c->lo + (c->hi - c->lo) * (double)(k % 5) / 4.0;

			idle_learner_add(l, u, c->a2 + c->b * u);
		}
		got = idle_learner_estimate(l);
		print_message("%-50s want %8.3f got %8.3f\n", c->name, c->want, got);
		if (isnan(c->want))
			assert_true(isnan(got));
		else
			assert_true(fabs(got - c->want) < 1e-9);
		assert_int_equal(idle_learner_fitted(l), c->fitted);
		idle_learner_free(l);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_idle_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
