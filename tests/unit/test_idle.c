// SPDX-License-Identifier: Apache-2.0
/*
 * Idle power learning: the fit, its preconditions, the clamp and the floor
 * that forgets, from tables; and recovery from a stalled meter in a noisy
 * load-following stream.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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
    /* The floor is the lowest power of the last IDLE_WINDOW intervals, not of all time. */
    {"a 0 W interval leaves with the window", .s = {{0.5, 0}}, .n = 1, .a = 10, .b = 30, .lo = 0.1,
     .hi = 0.9, .gen = IDLE_WINDOW, .want = 10, .fitted = 1},
    {"a 0 W interval inside the window is the floor", .s = {{0.5, 0}}, .n = 1, .a = 10, .b = 30,
     .lo = 0.1, .hi = 0.9, .gen = IDLE_WINDOW - 1, .want = 0, .fitted = 1},
    {"a 0 W interval of unknown utilisation leaves with the window too", .s = {{-1, 0}}, .n = 1,
     .a = 10, .b = 30, .lo = 0.1, .hi = 0.9, .gen = IDLE_WINDOW, .want = 10, .fitted = 1},
    {"the lowest power forgets before the fit", .s = {{0.5, 3}}, .n = 1, .a = 25, .b = 0, .lo = 0.5,
     .hi = 0.5, .gen = IDLE_WINDOW, .want = 25},
    {"unknown utilisation fills the window: no fit, the floor of what is left",
     .s = {{0.1, 12}, {0.3, 16}, {0.5, 20}, {0.7, 24}, {0.9, 28}, {0.2, 14}}, .n = 6, .a = 30,
     .b = 0, .lo = -1, .hi = -1, .gen = IDLE_WINDOW - 3, .want = 14},
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

/* xorshift64*: the same pseudo-random stream on every machine. */
static double uniform(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return (double)((*x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

/*
 * A load-following zone: P = 20 W + 60 W x util + noise, util varying every
 * interval over [lo, hi]. After warm intervals the meter stalls for stall
 * intervals (a frozen counter: 0 W, at the utilisation of the moment, or with
 * it unknown when the activity source failed too), then reads again. The
 * learned idle is back within 10 % of 20 W at most 120 intervals after the
 * stall ends, and stays there.
 */
struct stall_case {
	const char *name;
	size_t warm, stall;
	bool util_unknown; /* during the stall */
	double lo, hi, noise_w;
};

static const struct stall_case stalls[] = {
    {"one 0 W interval", 200, 1, false, 0.05, 0.95, 2},
    {"frozen meter for 5 intervals", 200, 5, false, 0.05, 0.95, 2},
    {"frozen meter, utilisation unknown", 200, 5, true, 0.05, 0.95, 2},
    {"frozen meter for 40 intervals", 200, 40, false, 0.10, 0.90, 2},
    {"stall at start, busy node", 0, 8, false, 0.30, 0.90, 3},
    {"stall after a short warm-up, narrow utilisation", 20, 5, false, 0.20, 0.45, 1},
};

#define IDLE_TRUE_W 20.0
#define STALL_RECOVERY 120
#define STALL_AFTER 400

static void test_idle_stall(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(stalls); i++) {
		const struct stall_case *c = &stalls[i];
		struct idle_learner *l = idle_learner_new();
		uint64_t x = 0x9E3779B97F4A7C15ULL + i;
		size_t back = SIZE_MAX;

		assert_non_null(l);
		for (size_t k = 0; k < c->warm + c->stall + STALL_AFTER; k++) {
			double u = c->lo + (c->hi - c->lo) * uniform(&x);
			double w = IDLE_TRUE_W + 60 * u + c->noise_w * (2 * uniform(&x) - 1);
			double est;

			if (k >= c->warm && k < c->warm + c->stall) {
				idle_learner_add(l, c->util_unknown ? -1 : u, 0);
				continue;
			}
			idle_learner_add(l, u, w);
			if (k < c->warm + c->stall)
				continue;
			est = idle_learner_estimate(l);
			if (fabs(est - IDLE_TRUE_W) <= 0.1 * IDLE_TRUE_W) {
				if (back == SIZE_MAX)
					back = k + 1 - (c->warm + c->stall);
			} else if (back != SIZE_MAX ||
				   k + 1 - (c->warm + c->stall) >= STALL_RECOVERY) {
				fail_msg(
				    "%s: %zu intervals after the stall idle is %.2f W, want %.1f "
				    "+- 10 %%",
				    c->name, k + 1 - (c->warm + c->stall), est, IDLE_TRUE_W);
			}
		}
		print_message("%-50s back within 10 %% after %zu intervals, at %.2f W\n", c->name,
			      back, idle_learner_estimate(l));
		assert_true(back <= STALL_RECOVERY);
		idle_learner_free(l);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_idle_table),
	    cmocka_unit_test(test_idle_stall),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
