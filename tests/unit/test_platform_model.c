// SPDX-License-Identifier: Apache-2.0
/* The platform model: prediction, and the fit recovering known coefficients, from tables. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "attribution/platform_model.h"
#include "util/util.h"

static void test_predict(void **state)
{
	static const struct {
		double coef[PM_TERMS], cpu, gpu, util, want;
	} cases[] = {
	    {{30, 1.2, 1.1, 10}, 100, 200, 0.5, 30 + 120 + 220 + 5},
	    {{0, 1, 0, 0}, 42, 999, 1, 42},
	    {{5, 1, 1, 8}, 10, 0, -1, 15}, /* utilisation unknown: none */
	    {{-50, 1, 0, 0}, 20, 0, 0, 0}, /* never below 0 */
	};

	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct pm_input in = pm_input(cases[c].cpu, cases[c].gpu, cases[c].util);

		assert_true(fabs(platform_model_predict(cases[c].coef, &in) - cases[c].want) <
			    1e-9);
	}
}

/* A deterministic wobble in [-1, 1]. */
static double wobble(unsigned k, unsigned salt)
{
	return (double)((k * 2654435761u + salt * 40503u) % 2001u) / 1000.0 - 1.0;
}

static void test_fit(void **state)
{
	static const struct {
		const char *name;
		double coef[PM_TERMS];
		bool gpu;	 /* GPU power varies */
		bool collinear;	 /* CPU power follows the utilisation exactly (the estimator) */
		bool check_coef; /* the coefficients themselves can be told apart */
		double noise_w;	 /* on the platform reading */
	} cases[] = {
	    {"CPU and utilisation", {40, 1.5, 0, 20}, false, false, true, 0},
	    {"with GPUs", {120, 1.1, 1.05, 15}, true, false, true, 0},
	    {"noisy meter", {80, 1.3, 1.0, 10}, true, false, false, 2},
	    {"estimated CPU power", {60, 1.2, 0, 30}, false, true, false, 0},
	};

	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct platform_fit f = {0};
		double coef[PM_TERMS], err = 0;

		print_message("%s\n", cases[c].name);
		for (unsigned k = 0; k < 500; k++) {
			double util = 0.5 + 0.5 * wobble(k, 1);
			double cpu =
			    cases[c].collinear ? 8 + 40 * util : 20 + 60 * util + 10 * wobble(k, 2);
			double gpu = cases[c].gpu ? 150 + 100 * wobble(k, 3) : 0;
			struct pm_input in = pm_input(cpu, gpu, util);
			double y = platform_model_predict(cases[c].coef, &in) +
				   cases[c].noise_w * wobble(k, 4);

			if (k == 5)
				assert_int_equal(platform_fit_solve(&f, coef), -EAGAIN);
			platform_fit_add(&f, &in, y);
		}
		assert_int_equal(platform_fit_solve(&f, coef), 0);
		print_message("  %g + %g cpu + %g gpu + %g util\n", coef[0], coef[1], coef[2],
			      coef[3]);
		if (!cases[c].gpu)
			assert_true(coef[PM_GPU] == 0);
		if (cases[c].check_coef)
			for (int t = 0; t < PM_TERMS; t++)
				assert_true(fabs(coef[t] - cases[c].coef[t]) <=
					    1e-3 * (1 + fabs(cases[c].coef[t])));
		/* Whatever the split, the fit predicts the platform. */
		for (unsigned k = 0; k < 50; k++) {
			double util = 0.5 + 0.5 * wobble(k, 5);
			double cpu =
			    cases[c].collinear ? 8 + 40 * util : 20 + 60 * util + 10 * wobble(k, 6);
			struct pm_input in = pm_input(cpu, cases[c].gpu ? 150 : 0, util);

			err = fmax(err, fabs(platform_model_predict(coef, &in) -
					     platform_model_predict(cases[c].coef, &in)));
		}
		assert_true(err < 0.5 + cases[c].noise_w);
	}
}

/* Samples that are not numbers are left out rather than poisoning the sums. */
static void test_fit_ignores_nan(void **state)
{
	struct platform_fit f = {0};
	struct pm_input bad = pm_input(NAN, 0, 0.5);
	double coef[PM_TERMS];

	(void)state;
	for (int k = 0; k < 20; k++) {
		struct pm_input in = pm_input(10 + k, 0, 0.5);

		platform_fit_add(&f, &in, 50 + 2.0 * (10 + k));
		platform_fit_add(&f, &bad, 1);
		platform_fit_add(&f, &in, INFINITY);
	}
	assert_true(fabs(f.n - 20) < 0.1);
	assert_int_equal(platform_fit_solve(&f, coef), 0);
	assert_true(fabs(coef[PM_CPU] - 2) < 1e-3 && fabs(coef[PM_INTERCEPT] - 50) < 0.05);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_predict),
	    cmocka_unit_test(test_fit),
	    cmocka_unit_test(test_fit_ignores_nan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
