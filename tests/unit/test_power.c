// SPDX-License-Identifier: Apache-2.0
/* Meter selection (power.sources) and samples that never decrease. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "power/internal.h"
#include "power/power.h"
#include "power_fixture.h"

#define SEC 1000000000ULL
#define P(z) ZONE_BIT(ZONE_##z)

static void set_sources(struct kepler_config *cfg, const enum power_source *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cfg->sources[i] = s[i];
	cfg->n_sources = n;
}

static void test_selection(void **state)
{
	static const struct {
		const char *tree;
		enum power_source sources[4];
		size_t n;
		int r;
		uint32_t zones;
		const char *cpu, *platform;
		const char *err; /* %s: the sysfs root */
	} t[] = {
	    {"rapl-1socket",
	     {POWER_SOURCE_AUTO},
	     1,
	     0,
	     P(PACKAGE) | P(CORE) | P(UNCORE) | P(PSYS),
	     "rapl",
	     "psys"},
	    {"rapl-2socket",
	     {POWER_SOURCE_AUTO},
	     1,
	     0,
	     P(PACKAGE) | P(CORE) | P(DRAM) | P(PSYS),
	     "rapl",
	     "psys"},
	    {"amd-energy", {POWER_SOURCE_AUTO}, 1, 0, P(PACKAGE) | P(CORE), "hwmon", "none"},
	    {"empty", {POWER_SOURCE_AUTO}, 1, 0, P(PACKAGE), "estimator", "none"},
	    {"hwmon-power-meter", {POWER_SOURCE_AUTO}, 1, 0, P(PACKAGE), "estimator", "acpi"},
	    {"hwmon-power-meter", {POWER_SOURCE_ACPI}, 1, 0, 0, "none", "acpi"},
	    {"rapl-1socket", {POWER_SOURCE_ESTIMATOR}, 1, 0, P(PACKAGE), "estimator", "none"},
	    {"rapl-amd",
	     {POWER_SOURCE_RAPL, POWER_SOURCE_ESTIMATOR},
	     2,
	     0,
	     P(PACKAGE) | P(CORE),
	     "rapl",
	     "none"},
	    {"rapl-amd",
	     {POWER_SOURCE_HWMON, POWER_SOURCE_RAPL},
	     2,
	     -ENODEV,
	     0,
	     NULL,
	     NULL,
	     "power.sources: hwmon: no CPU energy or power channels under %s/class/hwmon"},
	    {"empty",
	     {POWER_SOURCE_RAPL},
	     1,
	     -ENODEV,
	     0,
	     NULL,
	     NULL,
	     "power.sources: rapl: no powercap zones under %s/class/powercap"},
	    {"empty",
	     {POWER_SOURCE_PERF},
	     1,
	     -ENODEV,
	     0,
	     NULL,
	     NULL,
	     "power.sources: perf: no power PMU with energy events under "
	     "%s/bus/event_source/devices/power"},
	    {"rapl-1socket",
	     {POWER_SOURCE_ACPI},
	     1,
	     -ENODEV,
	     0,
	     NULL,
	     NULL,
	     "power.sources: acpi: no power_meter device under %s/class/hwmon"},
	    {"hwmon-power-meter",
	     {POWER_SOURCE_AUTO, POWER_SOURCE_RAPL},
	     2,
	     -ENODEV,
	     0,
	     NULL,
	     NULL,
	     "power.sources: rapl: no powercap zones under %s/class/powercap"},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct kepler_config cfg;
		struct power *p = (struct power *)0x1;
		char path[PATH_MAX], err[512] = "untouched", want[1024];
		int r;

		snprintf(path, sizeof(path), "%s/sysfs/%s", FIXTURES, t[i].tree);
		fixture_config(&cfg, path);
		set_sources(&cfg, t[i].sources, t[i].n);
		r = power_new(&p, &cfg, err, sizeof(err));
		if (r != t[i].r)
			fail_msg("case %zu (%s): r = %d, want %d (%s)", i, t[i].tree, r, t[i].r,
				 err);
		if (r < 0) {
			assert_ptr_equal(p, (struct power *)0x1);
			snprintf(want, sizeof(want), t[i].err, path);
			assert_string_equal(err, want);
		} else {
			struct meter_input in = {.now_ns = SEC, .cpu_util = 0.5};
			struct power_sample s;

			assert_string_equal(power_cpu_source(p), t[i].cpu);
			assert_string_equal(power_platform_source(p), t[i].platform);
			assert_int_equal(power_read(p, &in, &s), 0);
			assert_int_equal(s.zones, t[i].zones);
			assert_int_equal(s.valid, t[i].zones);
			assert_int_equal(s.has_platform, !streq(t[i].platform, "none"));
			/* psys is the platform's meter when nothing else measures it */
			if (streq(t[i].platform, "psys"))
				assert_true(s.platform_valid &&
					    s.platform_uj == s.zone_uj[ZONE_PSYS]);
			for (int z = 0; z < ZONE_MAX; z++) {
				if (t[i].zones & ZONE_BIT(z))
					assert_string_equal(s.zone_source[z], t[i].cpu);
				else
					assert_null(s.zone_source[z]);
				/* Only a model knows its own idle power; measured zones learn it.
				 */
				if ((t[i].zones & ZONE_BIT(z)) && streq(t[i].cpu, "estimator"))
					assert_true(power_model_idle_watts(p, z) > 0);
				else
					assert_true(power_model_idle_watts(p, z) < 0);
			}
			power_free(p);
		}
		config_free(&cfg);
	}
}

/* Per zone the best meter: rapl's package and core, hwmon's uncore (zenpower SoC). */
static void test_zone_priority(void **state)
{
	char *dir = fixture_copy("rapl-amd"), err[256];
	struct kepler_config cfg;
	struct power *p = NULL;
	struct power_sample s;
	struct meter_input in = {.now_ns = SEC, .cpu_util = -1};
	const enum power_source both[] = {POWER_SOURCE_HWMON, POWER_SOURCE_RAPL};

	(void)state;
	assert_non_null(dir);
	fixture_mkdir(dir, "class/hwmon/hwmon0");
	fixture_write(dir, "class/hwmon/hwmon0/name", "zenpower\n");
	fixture_write(dir, "class/hwmon/hwmon0/power1_label", "SVI2_P_Core\n");
	fixture_write_u64(dir, "class/hwmon/hwmon0/power1_input", 30000000);
	fixture_write(dir, "class/hwmon/hwmon0/power2_label", "SVI2_P_SoC\n");
	fixture_write_u64(dir, "class/hwmon/hwmon0/power2_input", 8000000);
	fixture_config(&cfg, dir);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			set_sources(&cfg, both, 2);
		assert_int_equal(power_new(&p, &cfg, err, sizeof(err)), 0);
		assert_int_equal(power_read(p, &in, &s), 0);
		assert_int_equal(s.zones, P(PACKAGE) | P(CORE) | P(UNCORE));
		assert_string_equal(s.zone_source[ZONE_PACKAGE], "rapl");
		assert_string_equal(s.zone_source[ZONE_CORE], "rapl");
		assert_string_equal(s.zone_source[ZONE_UNCORE], "hwmon");
		assert_string_equal(power_cpu_source(p), "rapl");
		fixture_write_u64(dir, "class/powercap/intel-rapl:0:0/energy_uj",
				  12098422366ULL + 777);
		in.now_ns += 2 * SEC;
		assert_int_equal(power_read(p, &in, &s), 0);
		assert_int_equal(s.zone_uj[ZONE_CORE], 777);	    /* rapl, not 60 J of hwmon */
		assert_int_equal(s.zone_uj[ZONE_UNCORE], 16000000); /* 8 W x 2 s */
		power_free(p);
		fixture_write_u64(dir, "class/powercap/intel-rapl:0:0/energy_uj", 12098422366ULL);
	}
	config_free(&cfg);
	fixture_remove(dir);

	/* hwmon alone: it serves what it has, and is the cpu source. */
	dir = fixture_copy(NULL);
	fixture_mkdir(dir, "class/hwmon/hwmon3");
	fixture_write(dir, "class/hwmon/hwmon3/name", "zenpower\n");
	fixture_write(dir, "class/hwmon/hwmon3/power1_label", "SVI2_P_Core\n");
	fixture_write_u64(dir, "class/hwmon/hwmon3/power1_input", 30000000);
	fixture_write(dir, "class/hwmon/hwmon3/power2_label", "SVI2_P_SoC\n");
	fixture_write_u64(dir, "class/hwmon/hwmon3/power2_input", 8000000);
	fixture_config(&cfg, dir);
	assert_int_equal(power_new(&p, &cfg, err, sizeof(err)), 0);
	assert_string_equal(power_cpu_source(p), "hwmon"); /* no package: most zones */
	power_free(p);
	config_free(&cfg);
	fixture_remove(dir);
}

/* A zone whose meter fails keeps its last value, marked invalid; then catches up. */
static void test_hold_and_catch_up(void **state)
{
	char *dir = fixture_copy("rapl-1socket"), err[256], want[1024];
	const char *PKG = "class/powercap/intel-rapl:0/energy_uj";
	struct kepler_config cfg;
	struct power *p = NULL;
	struct power_sample s;
	struct meter_input in = {.now_ns = SEC, .cpu_util = -1};
	const enum power_source rapl[] = {POWER_SOURCE_RAPL};

	(void)state;
	assert_non_null(dir);
	fixture_config(&cfg, dir);
	set_sources(&cfg, rapl, 1);
	assert_int_equal(power_new(&p, &cfg, err, sizeof(err)), 0);
	fixture_write_u64(dir, PKG, 48735210339ULL + 5000);
	in.now_ns += SEC;
	assert_int_equal(power_read(p, &in, &s), 0);
	assert_int_equal(s.zone_uj[ZONE_PACKAGE], 5000);
	assert_int_equal(s.valid, s.zones);
	assert_string_equal(power_read_error(p), "");

	fixture_break(dir, PKG);
	in.now_ns += SEC;
	assert_int_equal(power_read(p, &in, &s), 0);
	assert_false(s.valid & P(PACKAGE));
	assert_int_equal(s.zone_uj[ZONE_PACKAGE], 5000);
	assert_string_equal(s.zone_source[ZONE_PACKAGE], "rapl");
	/* The meter's own words, after its name. */
	snprintf(want, sizeof(want), "rapl: zone package-0: cannot read %s/%s: Is a directory", dir,
		 PKG);
	assert_string_equal(power_read_error(p), want);

	fixture_write_u64(dir, PKG, 48735210339ULL + 9000);
	in.now_ns += SEC;
	assert_int_equal(power_read(p, &in, &s), 0);
	assert_true(s.valid & P(PACKAGE));
	assert_int_equal(s.zone_uj[ZONE_PACKAGE], 9000);
	assert_string_equal(power_read_error(p), "");

	/* Every zone unreadable: power_read says so and still holds the values. */
	{
		static const char *const all[] = {"class/powercap/intel-rapl:0/energy_uj",
						  "class/powercap/intel-rapl:0:0/energy_uj",
						  "class/powercap/intel-rapl:0:1/energy_uj",
						  "class/powercap/intel-rapl:1/energy_uj"};

		for (size_t i = 0; i < ARRAY_SIZE(all); i++)
			fixture_break(dir, all[i]);
	}
	in.now_ns += SEC;
	assert_true(power_read(p, &in, &s) < 0);
	assert_int_equal(s.valid, 0);
	assert_int_equal(s.zone_uj[ZONE_PACKAGE], 9000);
	assert_string_equal(power_read_error(p), want);
	power_free(p);
	power_free(NULL);

	/* An explicit source that cannot open: power_new says why in the meter's words. */
	p = (struct power *)0x1;
	assert_int_equal(power_new(&p, &cfg, err, sizeof(err)), -EISDIR);
	assert_ptr_equal(p, (struct power *)0x1);
	snprintf(want, sizeof(want),
		 "power.sources: rapl: zone package-0: cannot read %s/%s: Is a directory", dir,
		 PKG);
	assert_string_equal(err, want);
	config_free(&cfg);
	fixture_remove(dir);
}

/* [auto] on the power meter tree: estimator for the CPU, acpi for the platform. */
static void test_platform(void **state)
{
	char *dir = fixture_copy("hwmon-power-meter"), err[256];
	struct kepler_config cfg;
	struct power *p = NULL;
	struct power_sample s;
	struct meter_input in = {.now_ns = 100 * SEC, .cpu_util = 1};

	(void)state;
	assert_non_null(dir);
	fixture_config(&cfg, dir);
	assert_int_equal(power_new(&p, &cfg, err, sizeof(err)), 0);
	assert_int_equal(power_read(p, &in, &s), 0);
	assert_true(s.has_platform);
	assert_true(s.platform_valid);
	assert_string_equal(s.platform_source, "acpi");
	in.now_ns += 4 * SEC;
	assert_int_equal(power_read(p, &in, &s), 0);
	assert_int_equal(s.platform_uj, 980000000); /* 245 W x 4 s */
	assert_true(s.zone_uj[ZONE_PACKAGE] > 0);   /* the estimator at full load */
	assert_string_equal(s.zone_source[ZONE_PACKAGE], "estimator");
	fixture_write(dir, "class/hwmon/hwmon0/power1_average", "");
	in.now_ns += 4 * SEC;
	assert_int_equal(power_read(p, &in, &s), 0); /* the estimator still reads */
	assert_false(s.platform_valid);
	assert_int_equal(s.platform_uj, 980000000);
	power_free(p);
	config_free(&cfg);
	fixture_remove(dir);
}

/* Under auto the estimator is the last resort: fatal only when nothing else measures. */
static void test_estimator_unavailable(void **state)
{
	struct kepler_config cfg;
	struct power *p = NULL;
	char path[PATH_MAX], err[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/sysfs/empty", FIXTURES);
	fixture_config(&cfg, path);
	free(cfg.host_procfs);
	cfg.host_procfs = strdup("/nonexistent");
	assert_int_equal(power_new(&p, &cfg, err, sizeof(err)), -ENOENT);
	assert_null(p);
	assert_string_equal(err, "power.sources: estimator: cannot read /nonexistent/stat: "
				 "No such file or directory");
	config_free(&cfg);

	snprintf(path, sizeof(path), "%s/sysfs/hwmon-power-meter", FIXTURES);
	fixture_config(&cfg, path);
	free(cfg.host_procfs);
	cfg.host_procfs = strdup("/nonexistent");
	assert_int_equal(power_new(&p, &cfg, err, sizeof(err)), 0);
	assert_string_equal(power_cpu_source(p), "none");
	assert_string_equal(power_platform_source(p), "acpi");
	power_free(p);
	config_free(&cfg);
}

/* Sets power.passthrough.path (NULL: empty). */
static void set_passthrough(struct kepler_config *cfg, const char *path)
{
	free(cfg->passthrough_path);
	cfg->passthrough_path = path ? strdup(path) : NULL;
	assert_true(!path || cfg->passthrough_path);
}

/*
 * power.passthrough.path: a VM's tree from its host is read as RAPL, before any
 * meter of the guest's own; the default is used when it is there, any other path
 * must be.
 */
static void test_hypervisor(void **state)
{
	static const enum power_source hyp[] = {POWER_SOURCE_HYPERVISOR};
	char sysfs[PATH_MAX], tree[PATH_MAX], err[512] = "";
	struct meter_input in = {.now_ns = SEC, .cpu_util = 0.5};
	struct kepler_config cfg;
	struct power_sample s;
	struct power *p = NULL;

	(void)state;
	snprintf(sysfs, sizeof(sysfs), "%s/sysfs/rapl-1socket", FIXTURES);
	snprintf(tree, sizeof(tree), "%s/sysfs/rapl-2socket", FIXTURES);
	fixture_config(&cfg, sysfs);
	set_passthrough(&cfg, tree);
	assert_int_equal(power_new(&p, &cfg, err, sizeof(err)), 0);
	assert_string_equal(power_cpu_source(p), "hypervisor");
	assert_int_equal(power_read(p, &in, &s), 0);
	/* The host's zones from its tree; the guest's own RAPL only for a zone the host lacks. */
	for (int z = 0; z < ZONE_MAX; z++)
		if (z == ZONE_UNCORE)
			assert_string_equal(s.zone_source[z], "rapl");
		else
			assert_string_equal(s.zone_source[z], "hypervisor");
	assert_true(power_model_idle_watts(p, ZONE_PACKAGE) < 0); /* measured: idle is learned */
	power_free(p);

	/* A path that is not the default must hold a tree. */
	set_passthrough(&cfg, "/nonexistent");
	p = NULL;
	assert_int_equal(power_new(&p, &cfg, err, sizeof(err)), -ENODEV);
	assert_null(p);
	assert_string_equal(
	    err, "power.sources: hypervisor: no powercap zones under /nonexistent/class/powercap");

	/* The default is used only when it is there (it is not on a test machine). */
	if (access(POWER_PASSTHROUGH_PATH_DEFAULT, F_OK) < 0) {
		set_passthrough(&cfg, POWER_PASSTHROUGH_PATH_DEFAULT);
		assert_int_equal(power_new(&p, &cfg, err, sizeof(err)), 0);
		assert_string_equal(power_cpu_source(p), "rapl");
		power_free(p);
	}

	/* Asked for by name without a path. */
	set_passthrough(&cfg, NULL);
	set_sources(&cfg, hyp, 1);
	p = NULL;
	assert_int_equal(power_new(&p, &cfg, err, sizeof(err)), -ENODEV);
	assert_string_equal(err, "power.sources: hypervisor: power.passthrough.path is empty");
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_selection),
	    cmocka_unit_test(test_zone_priority),
	    cmocka_unit_test(test_hold_and_catch_up),
	    cmocka_unit_test(test_platform),
	    cmocka_unit_test(test_estimator_unavailable),
	    cmocka_unit_test(test_hypervisor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
