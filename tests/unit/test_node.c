// SPDX-License-Identifier: Apache-2.0
/* Node accounting: idle/active split, gaps, restarts and monotonic counters, from tables. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "attribution/node.h"
#include "util/timeutil.h"
#include "util/util.h"

struct step {
	double t_s;  /* monotonic time of the read */
	int valid;   /* the package zone read succeeded */
	uint64_t uj; /* the meter's cumulative package energy */
	double util;
};

struct node_case {
	const char *name;
	double idle_w; /* < 0: learned */
	struct step steps[8];
	size_t n;
	uint64_t want_total_uj, want_idle_uj, want_active_uj;
	double want_watts, want_idle_watts;
	uint64_t want_errors;
	uint64_t want_interval_active_uj;
	double want_estimate; /* the idle estimate at the end; 0 (unset): not checked */
};

static const struct node_case cases[] = {
    {"configured idle", .idle_w = 10,
     .steps = {{0, 1, 0, 0.5}, {1, 1, 30000000, 0.5}, {2, 1, 60000000, 0.5}}, .n = 3,
     .want_total_uj = 60000000, .want_idle_uj = 20000000, .want_active_uj = 40000000,
     .want_watts = 30, .want_idle_watts = 10, .want_interval_active_uj = 20000000},
    {"idle above the power drawn takes it all", .idle_w = 50,
     .steps = {{0, 1, 1000, 0.1}, {1, 1, 30001000, 0.1}}, .n = 2, .want_total_uj = 30000000,
     .want_idle_uj = 30000000, .want_active_uj = 0, .want_watts = 30, .want_idle_watts = 30},
    {"failed read: next read carries the energy", .idle_w = 10,
     .steps = {{0, 1, 0, 0.5}, {1, 0, 0, 0.5}, {2, 1, 60000000, 0.5}}, .n = 3,
     .want_total_uj = 60000000, .want_idle_uj = 20000000, .want_active_uj = 40000000,
     .want_watts = 30, .want_idle_watts = 10, .want_errors = 1,
     .want_interval_active_uj = 40000000},
    {"failed read is no energy this interval", .idle_w = 10,
     .steps = {{0, 1, 0, 0.5}, {1, 1, 20000000, 0.5}, {2, 0, 0, 0.5}}, .n = 3,
     .want_total_uj = 20000000, .want_idle_uj = 10000000, .want_active_uj = 10000000,
     .want_watts = 20, .want_idle_watts = 10, .want_errors = 1, .want_interval_active_uj = 0},
    {"meter restart is a new baseline, not negative energy", .idle_w = 0,
     .steps =
	 {{0, 1, 5000000, 0.5}, {1, 1, 25000000, 0.5}, {2, 1, 100, 0.5}, {3, 1, 10000100, 0.5}},
     .n = 4, .want_total_uj = 30000000, .want_idle_uj = 0, .want_active_uj = 30000000,
     .want_watts = 10, .want_idle_watts = 0, .want_interval_active_uj = 10000000},
    {"learned: first interval is all idle", .idle_w = -1,
     .steps = {{0, 1, 0, 0.2}, {1, 1, 12000000, 0.2}}, .n = 2, .want_total_uj = 12000000,
     .want_idle_uj = 12000000, .want_active_uj = 0, .want_watts = 12, .want_idle_watts = 12},
    {"learned: lowest power seen until the fit", .idle_w = -1,
     .steps = {{0, 1, 0, 0.2}, {1, 1, 12000000, 0.2}, {2, 1, 32000000, 0.9}}, .n = 3,
     .want_total_uj = 32000000, .want_idle_uj = 24000000, .want_active_uj = 8000000,
     .want_watts = 20, .want_idle_watts = 12, .want_interval_active_uj = 8000000},
    /* The learner never sees a 0 W sample that no meter measured. */
    {"learned: failed reads feed no 0 W sample", .idle_w = -1,
     .steps = {{0, 1, 0, 0.2},
	       {1, 1, 12000000, 0.2},
	       {2, 0, 0, 0.2},
	       {3, 0, 0, 0.2},
	       {4, 1, 48000000, 0.5}},
     .n = 5, .want_total_uj = 48000000, .want_idle_uj = 48000000, .want_active_uj = 0,
     .want_watts = 12, .want_idle_watts = 12, .want_errors = 2, .want_estimate = 12},
    {"learned: a read with no time since the last feeds no 0 W sample", .idle_w = -1,
     .steps = {{0, 1, 0, 0.2}, {1, 1, 12000000, 0.2}, {1, 1, 12000000, 0.2}, {2, 1, 24000000, 0.2}},
     .n = 4, .want_total_uj = 24000000, .want_idle_uj = 24000000, .want_active_uj = 0,
     .want_watts = 12, .want_idle_watts = 12, .want_estimate = 12},
    /* 50 W idle, 200 W more at full use: the lowest power (70 W) until six samples span enough
     * utilisation, then the fit's intercept (for a GPU, against its own utilisation). */
    {"learned: the fit's intercept", .idle_w = -1,
     .steps = {{0, 1, 0, 0.1},
	       {1, 1, 70000000, 0.1},
	       {2, 1, 160000000, 0.2},
	       {3, 1, 270000000, 0.3},
	       {4, 1, 400000000, 0.4},
	       {5, 1, 550000000, 0.5},
	       {6, 1, 720000000, 0.6},
	       {7, 1, 910000000, 0.7}},
     .n = 8, .want_total_uj = 910000000, .want_idle_uj = 450000000, .want_active_uj = 460000000,
     .want_watts = 190, .want_idle_watts = 50, .want_interval_active_uj = 140000000,
     .want_estimate = 50},
    {"uneven interval length", .idle_w = 4,
     .steps = {{0, 1, 0, 0.5}, {0.5, 1, 5000000, 0.5}, {2.5, 1, 25000000, 0.5}}, .n = 3,
     .want_total_uj = 25000000, .want_idle_uj = 10000000, .want_active_uj = 15000000,
     .want_watts = 10, .want_idle_watts = 4, .want_interval_active_uj = 12000000},
};

enum on { ON_PACKAGE, ON_GPU, ON_PLATFORM };

/*
 * One case on the package zone, on GPU 1 (a GPU is a zone like any other, its
 * idle learned against its own utilisation: the CPU's is then a constant that
 * would defeat any fit), or on the platform meter (learned against the CPU's).
 */
static void run_case(const struct node_case *c, enum on on)
{
	static const char *const on_names[] = {"", " (GPU)", " (platform)"};
	bool gpu = on == ON_GPU, pkg = on == ON_PACKAGE;
	struct node_platform_cfg pc = {.idle_w = on == ON_PLATFORM ? c->idle_w : 3};
	double idle[ZONE_MAX], gpu_idle[GPU_MAX];
	struct node_acct *n;
	const struct node_zone *z = NULL;
	uint64_t prev_total = 0, prev_idle = 0, prev_active = 0;

	for (int k = 0; k < ZONE_MAX; k++)
		idle[k] = pkg ? c->idle_w : 7;
	for (int k = 0; k < GPU_MAX; k++)
		gpu_idle[k] = c->idle_w;
	n = node_acct_new(idle);
	assert_non_null(n);
	node_acct_set_gpu_idle(n, gpu_idle);
	node_acct_set_platform(n, &pc);
	print_message("%s%s\n", c->name, on_names[on]);
	for (size_t k = 0; k < c->n; k++) {
		struct node_reading s = {
		    .zones = pkg ? ZONE_BIT(ZONE_PACKAGE) : 0,
		    .valid = c->steps[k].valid ? ZONE_BIT(ZONE_PACKAGE) : 0,
		    .n_gpus = gpu ? 2 : 0,
		    .gpu_valid = 1u | (c->steps[k].valid ? 1u << 1 : 0),
		    .gpu_util = {0.5, c->steps[k].util},
		    .gpu_uj = {123, c->steps[k].uj},
		    .has_platform = on == ON_PLATFORM,
		    .platform_valid = c->steps[k].valid,
		    .platform_uj = c->steps[k].uj,
		};

		s.zone_uj[ZONE_PACKAGE] = c->steps[k].uj;
		node_acct_update(n, &s, gpu ? 0.5 : c->steps[k].util,
				 (uint64_t)llround(c->steps[k].t_s * NSEC_PER_SEC));
		z = gpu	  ? node_acct_gpu(n, 1)
		    : pkg ? node_acct_zone(n, ZONE_PACKAGE)
			  : node_acct_platform(n);
		/* Counters never decrease and total = idle + active at every step. */
		assert_true(z->total_uj >= prev_total);
		assert_true(z->idle_uj >= prev_idle);
		assert_true(z->active_uj >= prev_active);
		assert_int_equal(z->total_uj, z->idle_uj + z->active_uj);
		prev_total = z->total_uj;
		prev_idle = z->idle_uj;
		prev_active = z->active_uj;
	}
	assert_true(z->present);
	assert_false(node_acct_zone(n, ZONE_DRAM)->present);
	assert_int_equal(node_acct_zone(n, ZONE_PACKAGE)->present, pkg);
	assert_int_equal(node_acct_platform(n)->present, on == ON_PLATFORM);
	assert_false(node_acct_platform_estimated(n));
	assert_int_equal(node_acct_gpu(n, 2)->present, false);
	/* GPU 0 (a constant counter) read every time: no energy, no error. */
	assert_int_equal(node_acct_gpu(n, 0)->total_uj, 0);
	assert_int_equal(node_acct_gpu(n, 0)->read_errors, 0);
	assert_int_equal(z->total_uj, c->want_total_uj);
	assert_int_equal(z->idle_uj, c->want_idle_uj);
	assert_int_equal(z->active_uj, c->want_active_uj);
	assert_true(fabs(z->watts - c->want_watts) < 1e-9);
	assert_true(fabs(z->idle_watts - c->want_idle_watts) < 1e-9);
	assert_int_equal(z->read_errors, c->want_errors);
	assert_int_equal(z->interval_active_uj, c->want_interval_active_uj);
	if (c->want_estimate)
		assert_true(fabs(z->idle_estimate_w - c->want_estimate) < 1e-6);
	node_acct_free(n);
}

static void test_node_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		for (enum on on = ON_PACKAGE; on <= ON_PLATFORM; on++)
			run_case(&cases[i], on);
}

/* Without a platform meter, the model's estimate from the CPU parts and the utilisation. */
static void test_platform_estimate(void **state)
{
	double idle[ZONE_MAX] = {2, 2, 2, 2, 2};
	struct node_platform_cfg pc = {.idle_w = -1, .estimate = true, .coef = {10, 2, 5, 4}};
	struct node_acct *n = node_acct_new(idle);
	/* package 30 W, core (inside it) 20 W, DRAM 5 W, a GPU 100 W; utilisation 0.5 */
	struct node_reading s = {
	    .zones = ZONE_BIT(ZONE_PACKAGE) | ZONE_BIT(ZONE_CORE) | ZONE_BIT(ZONE_DRAM),
	    .valid = ZONE_BIT(ZONE_PACKAGE) | ZONE_BIT(ZONE_CORE) | ZONE_BIT(ZONE_DRAM),
	    .n_gpus = 1,
	    .gpu_valid = 1,
	    .gpu_util = {0.5},
	};

	(void)state;
	assert_non_null(n);
	node_acct_set_platform(n, &pc);
	for (int t = 0; t <= 4; t++) {
		s.zone_uj[ZONE_PACKAGE] = (uint64_t)t * 30000000;
		s.zone_uj[ZONE_CORE] = (uint64_t)t * 20000000;
		s.zone_uj[ZONE_DRAM] = (uint64_t)t * 5000000;
		s.gpu_uj[0] = (uint64_t)t * 100000000;
		node_acct_update(n, &s, 0.5, (uint64_t)t * NSEC_PER_SEC);
	}
	/* 10 + 2 x (30 + 5) + 5 x 100 + 4 x 0.5 = 582 W, for 4 s. */
	assert_true(node_acct_platform(n)->present);
	assert_true(node_acct_platform_estimated(n));
	assert_true(fabs(node_acct_platform(n)->watts - 582) < 1e-6);
	assert_int_equal(node_acct_platform(n)->total_uj, 4 * 582000000ULL);
	assert_int_equal(node_acct_platform(n)->total_uj,
			 node_acct_platform(n)->idle_uj + node_acct_platform(n)->active_uj);
	{
		double coef[PM_TERMS], samples;

		/* An estimated platform fits nothing: the coefficients are the configured ones. */
		assert_int_equal(node_acct_platform_fit(n, coef, &samples), -EAGAIN);
	}

	/* Turned off (SIGHUP): no platform zone. */
	pc.estimate = false;
	node_acct_set_platform(n, &pc);
	node_acct_update(n, &s, 0.5, 10 * NSEC_PER_SEC);
	assert_false(node_acct_platform(n)->present);
	node_acct_free(n);

	/* No CPU zone at all: nothing to estimate from. */
	n = node_acct_new(idle);
	assert_non_null(n);
	pc.estimate = true;
	node_acct_set_platform(n, &pc);
	s = (struct node_reading){0};
	node_acct_update(n, &s, 0.5, 0);
	assert_false(node_acct_platform(n)->present);
	node_acct_free(n);
}

/*
 * With a platform meter the model is fitted: platform = 40 W + 1.5 x the CPU
 * parts + 20 W x utilisation, the package varying with the load. Intervals
 * after a failed platform read span more than the parts' and are left out: a
 * spike there would pull the fit off.
 */
static void test_platform_fit(void **state)
{
	double idle[ZONE_MAX] = {-1, -1, -1, -1, -1}, coef[PM_TERMS], samples;
	struct node_platform_cfg pc = {.idle_w = -1, .estimate = true};
	struct node_acct *n = node_acct_new(idle);
	struct node_reading s = {
	    .zones = ZONE_BIT(ZONE_PACKAGE) | ZONE_BIT(ZONE_DRAM),
	    .valid = ZONE_BIT(ZONE_PACKAGE) | ZONE_BIT(ZONE_DRAM),
	    .has_platform = true,
	};
	uint64_t t_ns = 0;

	(void)state;
	assert_non_null(n);
	node_acct_set_platform(n, &pc);
	for (int k = 0; k < 40; k++) {
		double util = (k * 37 % 11) / 10.0, pkg = 10 + 50 * util + 3 * (k * 7 % 5),
		       dram = 4 + k % 2;

		/* The interval that ends at t_ns, read then. */
		s.zone_uj[ZONE_PACKAGE] += (uint64_t)llround(pkg * 1e6);
		s.zone_uj[ZONE_DRAM] += (uint64_t)llround(dram * 1e6);
		s.platform_uj += (uint64_t)llround((40 + 1.5 * (pkg + dram) + 20 * util) * 1e6);
		s.platform_valid = k != 20;
		if (k == 21) /* and a glitch: a spike on the read after the failed one */
			s.platform_uj += 5000000000ULL;
		node_acct_update(n, &s, util, t_ns);
		t_ns += NSEC_PER_SEC;
	}
	assert_false(node_acct_platform_estimated(n));
	assert_int_equal(node_acct_platform_fit(n, coef, &samples), 0);
	/* 40 reads: the first is a baseline, 20 failed and 21 spans two intervals. */
	assert_true(fabs(samples - 37) < 0.1);
	print_message("fit: %g + %g cpu + %g gpu + %g util\n", coef[PM_INTERCEPT], coef[PM_CPU],
		      coef[PM_GPU], coef[PM_UTIL]);
	assert_true(fabs(coef[PM_INTERCEPT] - 40) < 1);
	assert_true(fabs(coef[PM_CPU] - 1.5) < 0.02);
	assert_true(fabs(coef[PM_UTIL] - 20) < 1);
	assert_true(coef[PM_GPU] == 0); /* no GPU: never varied */
	node_acct_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_node_table),
	    cmocka_unit_test(test_platform_estimate),
	    cmocka_unit_test(test_platform_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
