// SPDX-License-Identifier: Apache-2.0
/* perf power PMU: event description parsers from tables, discovery on a fixture tree. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "power/internal.h"
#include "power_fixture.h"

static void test_parse_event(void **state)
{
	static const struct {
		const char *s;
		int r;
		uint64_t config;
	} t[] = {
	    {"event=0x02", 0, 2},
	    {"event=0x02\n", 0, 2},
	    {"event=0x1", 0, 1},
	    {"event=5", 0, 5},
	    {" event=0x05 ", 0, 5},
	    {"event=0xff", 0, 255},
	    {"event=0x100", -EINVAL},
	    {"event=0x02,umask=0x1", -EINVAL},
	    {"event=0x02,event=0x03", -EINVAL},
	    {"event=", -EINVAL},
	    {"event=x", -EINVAL},
	    {"event=0x02junk", -EINVAL},
	    {"config=0x02", -EINVAL},
	    {"", -EINVAL},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		uint64_t c = 777;
		int r = perf_parse_event(t[i].s, &c);

		if (r != t[i].r)
			fail_msg("case %zu (%s): r = %d, want %d", i, t[i].s, r, t[i].r);
		assert_int_equal(c, r == 0 ? t[i].config : 777);
	}
}

static void test_parse_scale_unit(void **state)
{
	static const struct {
		const char *s;
		int r;
		double v;
	} t[] = {
	    {"2.3283064365386962890625e-10", 0, 0x1p-32},
	    {"2.3283064365386962890625e-10\n", 0, 0x1p-32},
	    {"6.103515625e-5", 0, 6.103515625e-5},
	    {"1", 0, 1},
	    {"0", -EINVAL},
	    {"-1e-10", -EINVAL},
	    {"nan", -EINVAL},
	    {"inf", -EINVAL},
	    {"1e999", -EINVAL},
	    {"", -EINVAL},
	    {"2.3e-10 J", -EINVAL},
	    {"abc", -EINVAL},
	};
	static const struct {
		const char *s;
		int r;
	} u[] = {
	    {"Joules", 0},	{"Joules\n", 0}, {" Joules ", 0},      {"joules", -EINVAL},
	    {"Watts", -EINVAL}, {"", -EINVAL},	 {"Joulesx", -EINVAL},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		double v = -7;
		int r = perf_parse_scale(t[i].s, &v);

		if (r != t[i].r)
			fail_msg("scale case %zu (%s): r = %d, want %d", i, t[i].s, r, t[i].r);
		if (r == 0)
			assert_true(v == t[i].v);
		else
			assert_true(v == -7);
	}
	for (size_t i = 0; i < ARRAY_SIZE(u); i++)
		if (perf_parse_unit(u[i].s) != u[i].r)
			fail_msg("unit case %zu (%s)", i, u[i].s);
}

static void test_parse_cpumask(void **state)
{
	static const struct {
		const char *s;
		size_t max;
		int r;
		size_t n;
		int cpus[8];
	} t[] = {
	    {"0", 8, 0, 1, {0}},
	    {"0\n", 8, 0, 1, {0}},
	    {"0,32", 8, 0, 2, {0, 32}},
	    {"0-1", 8, 0, 2, {0, 1}},
	    {"0-3,8", 8, 0, 5, {0, 1, 2, 3, 8}},
	    {"0,56,112,168", 8, 0, 4, {0, 56, 112, 168}},
	    {"0-9", 8, -E2BIG},
	    {"0,1,2", 2, -E2BIG},
	    {"", 8, -EINVAL},
	    {"3-1", 8, -EINVAL},
	    {"0-", 8, -EINVAL},
	    {"0,", 8, -EINVAL},
	    {",0", 8, -EINVAL},
	    {"a", 8, -EINVAL},
	    {"0;1", 8, -EINVAL},
	    {"99999999999", 8, -EINVAL},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		int cpus[8];
		size_t n = 99;
		int r = perf_parse_cpumask(t[i].s, cpus, t[i].max, &n);

		if (r != t[i].r)
			fail_msg("case %zu (%s): r = %d, want %d", i, t[i].s, r, t[i].r);
		if (r < 0) {
			assert_int_equal(n, 99);
			continue;
		}
		assert_int_equal(n, t[i].n);
		for (size_t k = 0; k < n; k++)
			assert_int_equal(cpus[k], t[i].cpus[k]);
	}
}

static void test_event_zone(void **state)
{
	static const struct {
		const char *s;
		int zone;
	} t[] = {
	    {"pkg", ZONE_PACKAGE}, {"cores", ZONE_CORE}, {"gpu", ZONE_UNCORE}, {"ram", ZONE_DRAM},
	    {"psys", ZONE_PSYS},   {"pkg.scale", -1},	 {"core", -1},	       {"", -1},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		assert_int_equal(perf_event_zone(t[i].s), t[i].zone);
}

static void test_count_to_uj(void **state)
{
	static const struct {
		uint64_t count;
		double scale;
		uint64_t uj;
	} t[] = {
	    {0, 0x1p-32, 0},
	    {1ULL << 32, 0x1p-32, 1000000}, /* 1 J */
	    {(1ULL << 32) * 250, 0x1p-32, 250000000},
	    {4295, 0x1p-32, 1}, /* 1.00000761 uJ */
	    {4294, 0x1p-32, 0}, /* 0.9998 uJ: rounded down */
	    /* 36 days at 500 W: 1.58e9 J, exact to the microjoule */
	    {1576800000ULL * (1ULL << 32), 0x1p-32, 1576800000ULL * 1000000ULL},
	    {UINT64_MAX, 1.0, UINT64_MAX}, /* saturates */
	    {1000, 6.103515625e-5, 61035},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		uint64_t got = perf_count_to_uj(t[i].count, t[i].scale);

		if (got != t[i].uj)
			fail_msg("case %zu: %llu, want %llu", i, (unsigned long long)got,
				 (unsigned long long)t[i].uj);
	}
	/* Monotonic in the count, count by count, near a large value. */
	for (uint64_t c = (1ULL << 60), last = 0; c < (1ULL << 60) + 100000; c++) {
		uint64_t uj = perf_count_to_uj(c, 0x1p-32);

		assert_true(uj >= last);
		last = uj;
	}
}

static void test_discover_fixture(void **state)
{
	char path[PATH_MAX];
	struct perf_pmu_desc d;
	uint32_t seen = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/sysfs/perf-power", FIXTURES);
	assert_int_equal(perf_discover(path, 0, &d, NULL, 0), 0);
	assert_int_equal(d.type, 23);
	assert_int_equal(d.n_cpus, 1);
	assert_int_equal(d.cpus[0], 0);
	assert_int_equal(d.n_events, 5);
	for (size_t i = 0; i < d.n_events; i++) {
		static const uint64_t config[ZONE_MAX] = {
		    [ZONE_PACKAGE] = 2, [ZONE_CORE] = 1, [ZONE_UNCORE] = 4,
		    [ZONE_DRAM] = 3,	[ZONE_PSYS] = 5,
		};

		seen |= ZONE_BIT(d.events[i].zone);
		assert_int_equal(d.events[i].config, config[d.events[i].zone]);
		assert_true(d.events[i].scale == 0x1p-32);
	}
	assert_int_equal(seen, ZONE_ALL);

	assert_int_equal(
	    perf_discover(path, ZONE_BIT(ZONE_PACKAGE) | ZONE_BIT(ZONE_DRAM), &d, NULL, 0), 0);
	assert_int_equal(d.n_events, 2);

	snprintf(path, sizeof(path), "%s/sysfs/empty", FIXTURES);
	assert_int_equal(perf_discover(path, 0, &d, NULL, 0), -ENODEV);
	snprintf(path, sizeof(path), "%s/sysfs/rapl-1socket", FIXTURES);
	assert_int_equal(perf_discover(path, 0, &d, NULL, 0), -ENODEV);
}

/* Garbage in the PMU's files: -EINVAL, the output untouched, and err names the file and the text.
 */
static void test_discover_bad(void **state)
{
#define PMU "%s/bus/event_source/devices/power/"
	static const struct {
		const char *rel, *text;
		int r;
		const char *err; /* %s: the tree's root */
	} t[] = {
	    {"events/energy-pkg", "event=0x02,umask=0x3\n", -EINVAL,
	     PMU "events/energy-pkg: cannot parse \"event=0x02,umask=0x3\""},
	    {"events/energy-pkg.scale", "zero\n", -EINVAL,
	     PMU "events/energy-pkg.scale: cannot parse \"zero\""},
	    {"events/energy-ram.unit", "Watts\n", -EINVAL,
	     PMU "events/energy-ram.unit: unit \"Watts\", not Joules"},
	    {"cpumask", "0-\n", -EINVAL, PMU "cpumask: cannot parse \"0-\""},
	    {"cpumask", "0-64\n", -E2BIG, PMU "cpumask: more than 64 CPUs"},
	    {"type", "power\n", -EINVAL, PMU "type: not a PMU type number"},
	    {"type", "99999999999\n", -EINVAL, PMU "type: not a PMU type number"},
	    {"events/energy-cores", NULL, -EISDIR,
	     "cannot read " PMU "events/energy-cores: Is a directory"},
	    {"events", "", -ENOTDIR, "cannot list " PMU "events: Not a directory"},
	};
#undef PMU
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char *dir = fixture_copy("perf-power"), rel[256], err[512] = "", want[1024];
		struct perf_pmu_desc d = {.type = 4242};
		int r;

		assert_non_null(dir);
		snprintf(rel, sizeof(rel), "bus/event_source/devices/power/%s", t[i].rel);
		if (!streq(t[i].rel, "events")) {
			fixture_apply(dir, &(struct fixture_edit){rel, t[i].text}, 1);
		} else {
			/* events a file, not a directory */
			char cmd[PATH_MAX + 64];

			snprintf(cmd, sizeof(cmd), "rm -rf '%s/%s'", dir, rel);
			assert_int_equal(system(cmd), 0);
			fixture_apply(dir, &(struct fixture_edit){rel, t[i].text}, 1);
		}
		r = perf_discover(dir, 0, &d, err, sizeof(err));
		snprintf(want, sizeof(want), t[i].err, dir);
		if (r != t[i].r || !streq(err, want))
			fail_msg("case %zu (%s): r = %d, want %d\n  got  \"%s\"\n  want \"%s\"", i,
				 t[i].rel, r, t[i].r, err, want);
		assert_int_equal(d.type, 4242);
		fixture_remove(dir);
	}
}

/* What the perf meter's open says when there is no PMU to open. */
static void test_messages(void **state)
{
	static const struct meter_msg_case t[] = {
	    {&perf_meter_ops, NULL, .r = -ENODEV,
	     .err = "no power PMU with energy events under %s/bus/event_source/devices/power"},
	    {&perf_meter_ops, "rapl-1socket", .r = -ENODEV,
	     .err = "no power PMU with energy events under %s/bus/event_source/devices/power"},
	    {&perf_meter_ops, "perf-power",
	     .open_edits = {{"bus/event_source/devices/power/type", NULL}}, .r = -EISDIR,
	     .err = "cannot read %s/bus/event_source/devices/power/type: Is a directory"},
	};
	(void)state;
	meter_msg_run(t, ARRAY_SIZE(t));
}

/* Here (a VM) there is no power PMU: open says -ENODEV, never crashes. */
static void test_open_this_machine(void **state)
{
	struct kepler_config cfg;
	struct power_meter *m = NULL;
	char path[PATH_MAX], err[512] = "";
	int r;

	(void)state;
	snprintf(path, sizeof(path), "%s/sysfs/empty", FIXTURES);
	fixture_config(&cfg, path);
	assert_int_equal(perf_meter_ops.open(&m, &cfg, NULL, 0), -ENODEV);
	assert_null(m);
	config_free(&cfg);

	fixture_config(&cfg, "/sys");
	r = perf_meter_ops.open(&m, &cfg, NULL, 0);
	if (r == 0) {
		struct meter_input in = {.now_ns = 1, .cpu_util = -1};
		struct energy_reading out;

		/* A machine with RAPL: the counters read and start at zero-ish. */
		assert_int_equal(perf_meter_ops.read(m, &in, &out, NULL, 0), 0);
		assert_true(out.zones & ZONE_BIT(ZONE_PACKAGE));
		perf_meter_ops.close(m);
	} else {
		assert_null(m);
		assert_true(r < 0);
	}
	config_free(&cfg);

	/*
	 * The fixture's PMU type does not exist in this kernel: an error, not a
	 * crash, that names the event (the first, energy-cores), its type and config.
	 */
	snprintf(path, sizeof(path), "%s/sysfs/perf-power", FIXTURES);
	fixture_config(&cfg, path);
	r = perf_meter_ops.open(&m, &cfg, err, sizeof(err));
	if (r == 0) {
		perf_meter_ops.close(m);
	} else {
		print_message("%s\n", err);
		assert_true(startswith(err, "perf_event_open of power/energy-cores/ (type 23, "
					    "config 0x1) on CPU 0: "));
		assert_true(strstr(err, strerror(-r)) != NULL);
	}
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_event),	      cmocka_unit_test(test_parse_scale_unit),
	    cmocka_unit_test(test_parse_cpumask),     cmocka_unit_test(test_event_zone),
	    cmocka_unit_test(test_count_to_uj),	      cmocka_unit_test(test_discover_fixture),
	    cmocka_unit_test(test_discover_bad),      cmocka_unit_test(test_messages),
	    cmocka_unit_test(test_open_this_machine),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
