// SPDX-License-Identifier: Apache-2.0
/* The estimator: the power model from tables, and the meter on procfs trees. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "power/internal.h"
#include "power_fixture.h"

#define SEC 1000000000ULL

static void test_power_model(void **state)
{
	static const struct {
		unsigned ncpus;
		double idle, max, util, watts;
	} t[] = {
	    {4, 2.5, 12.5, 0, 10},    {4, 2.5, 12.5, 1, 50},
	    {4, 2.5, 12.5, 0.5, 30},  {4, 2.5, 12.5, 1.5, 50}, /* clamped */
	    {4, 2.5, 12.5, -0.2, 10},			       /* clamped */
	    {4, 2.5, 12.5, NAN, 10},  {64, 1, 5, 0.25, 64 + 64 * 4 * 0.25},
	    {0, 2.5, 12.5, 1, 0},     {2, 5, 3, 1, 10}, /* max below idle: flat at idle */
	    {2, -1, 3, 0, 0},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		double w = estimator_power_w(t[i].ncpus, t[i].idle, t[i].max, t[i].util);

		if (fabs(w - t[i].watts) > 1e-9)
			fail_msg("case %zu: %g W, want %g", i, w, t[i].watts);
	}
}

static void make_stat(const char *dir, unsigned ncpus, uint64_t busy, uint64_t idle)
{
	char buf[8192];
	int n = snprintf(buf, sizeof(buf), "cpu  %llu 0 0 %llu 0 0 0 0 0 0\n",
			 (unsigned long long)busy, (unsigned long long)idle);

	for (unsigned c = 0; c < ncpus; c++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "cpu%u 0 0 0 0 0 0 0 0 0 0\n", c);
	snprintf(buf + n, sizeof(buf) - (size_t)n, "intr 1 2 3\nctxt 5\n");
	assert_int_equal(fixture_write(dir, "stat", buf), 0);
}

/* (ncpus, coefficients, util, dt) -> energy, through the meter on a procfs tree. */
static void test_energy(void **state)
{
	static const struct {
		unsigned ncpus;
		double idle, max, util;
		uint64_t dt_ns, uj;
	} t[] = {
	    {4, 2.5, 12.5, 0.5, 5 * SEC, 150000000}, /* 30 W x 5 s */
	    {4, 2.5, 12.5, 0, 5 * SEC, 50000000},    /* 10 W x 5 s */
	    {2, 3, 10, 1, 1 * SEC, 20000000},	     /* 20 W x 1 s */
	    {8, 1.5, 6, 0.25, 500000000, 10500000},  /* 21 W x 0.5 s */
	    {1, 2, 2, 0.9, 1000, 2},		     /* 2 W x 1 us */
	    {16, 0, 0, 1, 5 * SEC, 0},		     /* no coefficients: no energy */
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char *dir = fixture_copy(NULL);
		struct kepler_config cfg;
		struct power_meter *m = NULL;
		struct meter_input in = {.now_ns = 7 * SEC, .cpu_util = t[i].util};
		struct energy_reading out;

		make_stat(dir, t[i].ncpus, 100, 100);
		fixture_config(&cfg, "/nonexistent");
		free(cfg.host_procfs);
		cfg.host_procfs = strdup(dir);
		cfg.estimator_idle_watts_per_cpu = t[i].idle;
		cfg.estimator_max_watts_per_cpu = t[i].max;
		assert_int_equal(estimator_meter_ops.open(&m, &cfg, NULL, 0), 0);
		assert_int_equal(estimator_meter_ops.read(m, &in, &out, NULL, 0), 0);
		assert_int_equal(out.zones, ZONE_BIT(ZONE_PACKAGE));
		assert_int_equal(out.zone_uj[ZONE_PACKAGE], 0);
		in.now_ns += t[i].dt_ns;
		assert_int_equal(estimator_meter_ops.read(m, &in, &out, NULL, 0), 0);
		assert_int_equal(out.valid, ZONE_BIT(ZONE_PACKAGE));
		if (out.zone_uj[ZONE_PACKAGE] != t[i].uj)
			fail_msg("case %zu: %llu uJ, want %llu", i,
				 (unsigned long long)out.zone_uj[ZONE_PACKAGE],
				 (unsigned long long)t[i].uj);
		estimator_meter_ops.close(m);
		config_free(&cfg);
		fixture_remove(dir);
	}
}

/* Utilisation unknown: from /proc/stat deltas. Unreadable stat: invalid, held, caught up. */
static void test_util_from_stat(void **state)
{
	char *dir = fixture_copy(NULL);
	struct kepler_config cfg;
	struct power_meter *m = NULL;
	struct meter_input in = {.now_ns = SEC, .cpu_util = -1};
	struct energy_reading out;

	(void)state;
	make_stat(dir, 2, 1000, 1000);
	fixture_config(&cfg, "/nonexistent");
	free(cfg.host_procfs);
	cfg.host_procfs = strdup(dir);
	cfg.estimator_idle_watts_per_cpu = 5;
	cfg.estimator_max_watts_per_cpu = 15;
	assert_int_equal(estimator_meter_ops.open(&m, &cfg, NULL, 0), 0);
	make_stat(dir, 2, 1300, 1100); /* 75 % busy since open */
	assert_int_equal(estimator_meter_ops.read(m, &in, &out, NULL, 0), 0);
	make_stat(dir, 2, 1400, 1400); /* 25 % busy */
	in.now_ns += 2 * SEC;
	assert_int_equal(estimator_meter_ops.read(m, &in, &out, NULL, 0), 0);
	/* 10 W + 20 W x 0.25 = 15 W for 2 s */
	assert_int_equal(out.zone_uj[ZONE_PACKAGE], 30000000);

	/* stat gone: invalid, value held */
	fixture_break(dir, "stat");
	in.now_ns += 2 * SEC;
	assert_true(estimator_meter_ops.read(m, &in, &out, NULL, 0) < 0);
	assert_int_equal(out.valid, 0);
	assert_int_equal(out.zone_uj[ZONE_PACKAGE], 30000000);
	/* back, 4 CPUs online now, 100 % busy: 60 W x the 4 s since the last good read */
	make_stat(dir, 4, 1600, 1400);
	in.now_ns += 2 * SEC;
	assert_int_equal(estimator_meter_ops.read(m, &in, &out, NULL, 0), 0);
	assert_int_equal(out.zone_uj[ZONE_PACKAGE], 30000000 + 240000000);
	estimator_meter_ops.close(m);

	/* Unreadable at open: the error. */
	free(cfg.host_procfs);
	cfg.host_procfs = strdup("/nonexistent");
	m = NULL;
	assert_int_equal(estimator_meter_ops.open(&m, &cfg, NULL, 0), -ENOENT);
	assert_null(m);
	config_free(&cfg);
	fixture_remove(dir);
}

/* The real /proc/stat of this machine parses. */
static void test_real_procfs(void **state)
{
	struct kepler_config cfg;
	struct power_meter *m = NULL;
	struct meter_input in = {.now_ns = SEC, .cpu_util = -1};
	struct energy_reading out;

	(void)state;
	fixture_config(&cfg, "/nonexistent");
	assert_int_equal(estimator_meter_ops.open(&m, &cfg, NULL, 0), 0);
	assert_int_equal(estimator_meter_ops.read(m, &in, &out, NULL, 0), 0);
	in.now_ns += SEC;
	assert_int_equal(estimator_meter_ops.read(m, &in, &out, NULL, 0), 0);
	/* between idle (2 W) and max (10 W) per CPU for 1 s */
	{
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		assert_true(out.zone_uj[ZONE_PACKAGE] >= (uint64_t)(2000000 * n));
		assert_true(out.zone_uj[ZONE_PACKAGE] <= (uint64_t)(10000000 * n));
	}
	estimator_meter_ops.close(m);
	config_free(&cfg);
}

/* What the estimator says when it fails: the file and why. */
static void test_messages(void **state)
{
	static const struct meter_msg_case t[] = {
	    {&estimator_meter_ops, NULL, .r = -ENOENT,
	     .err = "cannot read %s/stat: No such file or directory"},
	    {&estimator_meter_ops, NULL,
	     .open_edits = {{"stat", "cpu  1 0 0 1 0 0 0 0 0 0\nintr 1\n"}}, .r = -EINVAL,
	     .err = "%s/stat: no cpuN lines"},
	    {&estimator_meter_ops, NULL,
	     .open_edits = {{"stat", "cpu  1 0 0 1 0 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\n"}},
	     .read_edits = {{"stat", NULL}}, .r = -EISDIR,
	     .err = "cannot read %s/stat: Is a directory"},
	};
	(void)state;
	meter_msg_run(t, ARRAY_SIZE(t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_messages),	cmocka_unit_test(test_power_model),
	    cmocka_unit_test(test_energy),	cmocka_unit_test(test_util_from_stat),
	    cmocka_unit_test(test_real_procfs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
