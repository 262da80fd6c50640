// SPDX-License-Identifier: Apache-2.0
/* hwmon and ACPI power meters: channel mapping, power integration, fixture trees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "power/internal.h"
#include "power_fixture.h"

#define SEC 1000000000ULL

static void test_zone_for(void **state)
{
	static const struct {
		const char *driver, *label;
		int zone;
	} t[] = {
	    {"amd_energy", "Esocket0", ZONE_PACKAGE},
	    {"amd_energy", "Esocket1", ZONE_PACKAGE},
	    {"amd_energy", "Ecore000", ZONE_CORE},
	    {"amd_energy", "Ecore127", ZONE_CORE},
	    {"amd_energy", "", -1},
	    {"zenergy", "Esocket0", ZONE_PACKAGE},
	    {"zenergy", "Ecore003", ZONE_CORE},
	    {"zenpower", "SVI2_P_Core", ZONE_CORE},
	    {"zenpower", "SVI2_P_SoC", ZONE_UNCORE},
	    {"zenpower", "SVI2_C_Core", -1},
	    {"k10temp", "SVI2_P_Core", ZONE_CORE},
	    {"k10temp", "SVI2_P_SoC", ZONE_UNCORE},
	    {"k10temp", "Tctl", -1},
	    {"some_sensor", "Package", ZONE_PACKAGE},
	    {"some_sensor", "CPU", ZONE_PACKAGE},
	    {"some_sensor", "cpu", ZONE_PACKAGE},
	    {"some_sensor", "GPU", -1},
	    {"some_sensor", "", -1},
	    {"amdgpu", "PPT", -1},
	    {"amdgpu", "CPU", -1}, /* an APU's GPU driver: not a CPU zone (GPU support to come) */
	    {"nouveau", "Package", -1},
	    {"i915", "", -1},
	    {"power_meter", "", -1},
	    {"power_meter", "CPU", -1},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		int z = hwmon_zone_for(t[i].driver, t[i].label);

		if (z != t[i].zone)
			fail_msg("case %zu (%s, %s): %d, want %d", i, t[i].driver, t[i].label, z,
				 t[i].zone);
	}
}

static void test_parse_attr(void **state)
{
	static const struct {
		const char *s;
		int r;
		enum hwmon_kind kind;
		unsigned ch;
	} t[] = {
	    {"energy1_input", 0, HWMON_ENERGY, 1},
	    {"energy129_input", 0, HWMON_ENERGY, 129},
	    {"power1_input", 0, HWMON_POWER, 1},
	    {"power2_average", 0, HWMON_AVERAGE, 2},
	    {"power1_average_interval", -EINVAL},
	    {"energy1_average", -EINVAL},
	    {"energy1_label", -EINVAL},
	    {"power1_label", -EINVAL},
	    {"power0_input", -EINVAL},
	    {"power_input", -EINVAL},
	    {"powerx_input", -EINVAL},
	    {"temp1_input", -EINVAL},
	    {"power99999999999999999999_input", -EINVAL},
	    {"", -EINVAL},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		enum hwmon_kind k = 99;
		unsigned ch = 99;
		int r = hwmon_parse_attr(t[i].s, &k, &ch);

		if (r != t[i].r)
			fail_msg("case %zu (%s): %d, want %d", i, t[i].s, r, t[i].r);
		if (r == 0) {
			assert_int_equal(k, t[i].kind);
			assert_int_equal(ch, t[i].ch);
		} else {
			assert_int_equal(ch, 99);
		}
	}
}

/* Trapezoid integration: (uW samples at ns times) -> uJ after each. */
static void test_integrator(void **state)
{
	static const struct {
		const char *what;
		size_t n;
		uint64_t uw[6], ns[6];
		int r[6];
		uint64_t uj;
	} t[] = {
	    {"first sample is the start", 1, {100000000}, {5 * SEC}, {0}, 0},
	    {"constant 100 W for 5 s", 2, {100000000, 100000000}, {0, 5 * SEC}, {0, 0}, 500000000},
	    {"ramp 0 to 10 W over 2 s", 2, {0, 10000000}, {SEC, 3 * SEC}, {0, 0}, 10000000},
	    {"time standing still adds nothing",
	     3,
	     {1000000, 9000000, 1000000},
	     {SEC, SEC, 2 * SEC},
	     {0, 0, 0},
	     1000000},
	    {"time going back adds nothing",
	     3,
	     {1000000, 1000000, 1000000},
	     {2 * SEC, SEC, 3 * SEC},
	     {0, 0, 0},
	     1000000},
	    {"garbage sample ignored",
	     3,
	     {2000000, UINT64_MAX, 2000000},
	     {0, SEC, 2 * SEC},
	     {0, -ERANGE, 0},
	     4000000},
	    {"sub-microjoule steps carry over",
	     5,
	     {1, 1, 1, 1, 1},
	     {0, 250000000, 500000000, 750000000, 1000000000},
	     {0, 0, 0, 0, 0},
	     1},
	    {"10 MW for a day still exact",
	     2,
	     {POWER_MAX_UW, POWER_MAX_UW},
	     {0, 86400ULL * SEC},
	     {0, 0},
	     864000000000000000ULL},
	    {"10 MW for a century saturates",
	     2,
	     {POWER_MAX_UW, POWER_MAX_UW},
	     {0, 3153600000ULL * SEC},
	     {0, 0},
	     UINT64_MAX},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct power_integrator it = {0};

		for (size_t k = 0; k < t[i].n; k++) {
			int r = power_integrator_add(&it, t[i].uw[k], t[i].ns[k]);

			if (r != t[i].r[k])
				fail_msg("%s: sample %zu: %d", t[i].what, k, r);
		}
		if (power_integrator_uj(&it) != t[i].uj)
			fail_msg("%s: %llu uJ, want %llu", t[i].what,
				 (unsigned long long)power_integrator_uj(&it),
				 (unsigned long long)t[i].uj);
	}
}

static struct energy_reading rd(const struct power_meter_ops *ops, struct power_meter *m,
				uint64_t now_ns, int want_r)
{
	struct meter_input in = {.now_ns = now_ns, .cpu_util = -1};
	struct energy_reading out;

	assert_int_equal(ops->read(m, &in, &out, NULL, 0), want_r);
	return out;
}

static void test_amd_energy(void **state)
{
	char *dir = fixture_copy("amd-energy");
	struct kepler_config cfg;
	struct power_meter *m = NULL;
	struct energy_reading out;
	const char *H = "class/hwmon/hwmon0";
	char rel[128];

	(void)state;
	assert_non_null(dir);
	fixture_config(&cfg, dir);
	assert_int_equal(hwmon_meter_ops.open(&m, &cfg, NULL, 0), 0);
	out = rd(&hwmon_meter_ops, m, SEC, 0);
	/* amdgpu's PPT and k10temp's temperatures are not CPU zones. */
	assert_int_equal(out.zones, ZONE_BIT(ZONE_PACKAGE) | ZONE_BIT(ZONE_CORE));
	assert_int_equal(out.valid, out.zones);
	assert_false(out.has_platform);
	assert_int_equal(out.zone_uj[ZONE_PACKAGE], 0);

	/* Cores add up; the socket counter is the package. */
	snprintf(rel, sizeof(rel), "%s/energy1_input", H);
	fixture_write_u64(dir, rel, 3501234567ULL + 1000);
	snprintf(rel, sizeof(rel), "%s/energy8_input", H);
	fixture_write_u64(dir, rel, 3433890186ULL + 2000);
	snprintf(rel, sizeof(rel), "%s/energy9_input", H);
	fixture_write_u64(dir, rel, 61234598765ULL + 50000);
	out = rd(&hwmon_meter_ops, m, 2 * SEC, 0);
	assert_int_equal(out.zone_uj[ZONE_CORE], 3000);
	assert_int_equal(out.zone_uj[ZONE_PACKAGE], 50000);

	/* A decrease is a fault: no energy, the zone invalid this time, counted from there on. */
	fixture_write_u64(dir, rel, 100);
	out = rd(&hwmon_meter_ops, m, 3 * SEC, 0);
	assert_false(out.valid & ZONE_BIT(ZONE_PACKAGE));
	assert_int_equal(out.zone_uj[ZONE_PACKAGE], 50000);
	fixture_write_u64(dir, rel, 400);
	out = rd(&hwmon_meter_ops, m, 4 * SEC, 0);
	assert_true(out.valid & ZONE_BIT(ZONE_PACKAGE));
	assert_int_equal(out.zone_uj[ZONE_PACKAGE], 50300);

	/* Unreadable: invalid; the next good read includes the energy meanwhile. */
	fixture_break(dir, rel);
	out = rd(&hwmon_meter_ops, m, 5 * SEC, 0);
	assert_false(out.valid & ZONE_BIT(ZONE_PACKAGE));
	assert_true(out.valid & ZONE_BIT(ZONE_CORE));
	fixture_write_u64(dir, rel, 1400);
	out = rd(&hwmon_meter_ops, m, 6 * SEC, 0);
	assert_int_equal(out.zone_uj[ZONE_PACKAGE], 51300);
	hwmon_meter_ops.close(m);

	/* The ACPI meter finds nothing here. */
	m = NULL;
	assert_int_equal(acpi_meter_ops.open(&m, &cfg, NULL, 0), -ENODEV);
	assert_null(m);
	config_free(&cfg);
	fixture_remove(dir);
}

static void test_power_meter(void **state)
{
	char *dir = fixture_copy("hwmon-power-meter");
	const char *A = "class/hwmon/hwmon0/power1_average";
	struct kepler_config cfg;
	struct power_meter *m = NULL;
	struct energy_reading out;

	(void)state;
	assert_non_null(dir);
	fixture_config(&cfg, dir);
	/* power_meter belongs to the acpi meter, not to hwmon. */
	assert_int_equal(hwmon_meter_ops.open(&m, &cfg, NULL, 0), -ENODEV);
	assert_int_equal(acpi_meter_ops.open(&m, &cfg, NULL, 0), 0);
	out = rd(&acpi_meter_ops, m, 10 * SEC, 0);
	assert_true(out.has_platform);
	assert_true(out.platform_valid);
	assert_int_equal(out.zones, 0);
	assert_int_equal(out.platform_uj, 0);
	/* 245 W then 255 W over 5 s: 1250 J. */
	fixture_write_u64(dir, A, 255000000);
	out = rd(&acpi_meter_ops, m, 15 * SEC, 0);
	assert_int_equal(out.platform_uj, 1250000000ULL);
	/* Unreadable: invalid, value held; then 255 W .. 265 W over 10 s = 2600 J more. */
	fixture_write(dir, A, "garbage\n");
	out = rd(&acpi_meter_ops, m, 20 * SEC, -EINVAL);
	assert_false(out.platform_valid);
	assert_int_equal(out.platform_uj, 1250000000ULL);
	fixture_write_u64(dir, A, 265000000);
	out = rd(&acpi_meter_ops, m, 25 * SEC, 0);
	assert_true(out.platform_valid);
	assert_int_equal(out.platform_uj, 1250000000ULL + 2600000000ULL);
	/* Absurd power (above 10 MW) is garbage, not energy. */
	fixture_write_u64(dir, A, UINT64_MAX);
	out = rd(&acpi_meter_ops, m, 26 * SEC, -ERANGE);
	assert_false(out.platform_valid);
	acpi_meter_ops.close(m);
	config_free(&cfg);
	fixture_remove(dir);
}

/* Old-style registration: name and attributes under hwmonN/device/. */
static void test_device_subdir(void **state)
{
	char *dir = fixture_copy(NULL);
	struct kepler_config cfg;
	struct power_meter *m = NULL;
	struct energy_reading out;

	(void)state;
	assert_non_null(dir);
	fixture_mkdir(dir, "class/hwmon/hwmon0/device");
	fixture_write(dir, "class/hwmon/hwmon0/device/name", "power_meter\n");
	fixture_write_u64(dir, "class/hwmon/hwmon0/device/power1_average", 100000000);
	/* zenpower with its power channels under device/, name on hwmon1 itself. */
	fixture_mkdir(dir, "class/hwmon/hwmon1/device");
	fixture_write(dir, "class/hwmon/hwmon1/name", "zenpower\n");
	fixture_write(dir, "class/hwmon/hwmon1/device/power1_label", "SVI2_P_Core\n");
	fixture_write_u64(dir, "class/hwmon/hwmon1/device/power1_input", 40000000);
	fixture_write(dir, "class/hwmon/hwmon1/device/power2_label", "SVI2_P_SoC\n");
	fixture_write_u64(dir, "class/hwmon/hwmon1/device/power2_input", 10000000);
	fixture_write_u64(dir, "class/hwmon/hwmon1/device/power2_average", 12000000);
	fixture_config(&cfg, dir);

	assert_int_equal(acpi_meter_ops.open(&m, &cfg, NULL, 0), 0);
	rd(&acpi_meter_ops, m, SEC, 0);
	out = rd(&acpi_meter_ops, m, 3 * SEC, 0);
	assert_int_equal(out.platform_uj, 200000000);
	acpi_meter_ops.close(m);

	m = NULL;
	assert_int_equal(hwmon_meter_ops.open(&m, &cfg, NULL, 0), 0);
	rd(&hwmon_meter_ops, m, SEC, 0);
	out = rd(&hwmon_meter_ops, m, 2 * SEC, 0);
	assert_int_equal(out.zones, ZONE_BIT(ZONE_CORE) | ZONE_BIT(ZONE_UNCORE));
	assert_int_equal(out.zone_uj[ZONE_CORE], 40000000);
	/* power2_average preferred over power2_input. */
	assert_int_equal(out.zone_uj[ZONE_UNCORE], 12000000);
	hwmon_meter_ops.close(m);
	config_free(&cfg);
	fixture_remove(dir);
}

static void test_no_devices(void **state)
{
	static const char *const trees[] = {"empty", "rapl-1socket", "perf-power", "nope"};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(trees); i++) {
		struct kepler_config cfg;
		struct power_meter *m = NULL;
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/sysfs/%s", FIXTURES, trees[i]);
		fixture_config(&cfg, path);
		assert_int_equal(hwmon_meter_ops.open(&m, &cfg, NULL, 0), -ENODEV);
		assert_int_equal(acpi_meter_ops.open(&m, &cfg, NULL, 0), -ENODEV);
		assert_null(m);
		config_free(&cfg);
	}
}

/* What the hwmon and acpi meters say when they fail: the file and why. */
static void test_messages(void **state)
{
	static const struct meter_msg_case t[] = {
	    {&hwmon_meter_ops, NULL, .r = -ENODEV,
	     .err = "no CPU energy or power channels under %s/class/hwmon"},
	    {&hwmon_meter_ops, "hwmon-power-meter", .r = -ENODEV,
	     .err = "no CPU energy or power channels under %s/class/hwmon"},
	    {&acpi_meter_ops, "amd-energy", .r = -ENODEV,
	     .err = "no power_meter device under %s/class/hwmon"},
	    {&acpi_meter_ops, "hwmon-power-meter",
	     .open_edits = {{"class/hwmon/hwmon0/power1_average", NULL}}, .r = -EISDIR,
	     .err = "cannot read %s/class/hwmon/hwmon0/power1_average: Is a directory"},
	    {&acpi_meter_ops, "hwmon-power-meter",
	     .open_edits = {{"class/hwmon/hwmon0/power1_average", "20000000000000\n"}},
	     .r = -ERANGE,
	     .err = "%s/class/hwmon/hwmon0/power1_average: 20000000000000 uW is above "
		    "10000000000000 uW, not power"},
	    {&acpi_meter_ops, "hwmon-power-meter",
	     .read_edits = {{"class/hwmon/hwmon0/power1_average", "garbage\n"}}, .r = -EINVAL,
	     .err = "cannot read %s/class/hwmon/hwmon0/power1_average: Invalid argument"},
	    {&acpi_meter_ops, "hwmon-power-meter",
	     .read_edits = {{"class/hwmon/hwmon0/power1_average", "20000000000000\n"}},
	     .r = -ERANGE,
	     .err = "%s/class/hwmon/hwmon0/power1_average: 20000000000000 uW is above "
		    "10000000000000 uW, not power"},
	    {&hwmon_meter_ops, "amd-energy",
	     .read_edits = {{"class/hwmon/hwmon0/energy9_input", "100\n"}}, .r = 0,
	     .err = "%s/class/hwmon/hwmon0/energy9_input went back from 61234598765 to 100"},
	    {&hwmon_meter_ops, "amd-energy",
	     .read_edits = {{"class/hwmon/hwmon0/energy3_input", NULL}}, .r = 0,
	     .err = "cannot read %s/class/hwmon/hwmon0/energy3_input: Is a directory"},
	};
	(void)state;
	meter_msg_run(t, ARRAY_SIZE(t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_messages),	  cmocka_unit_test(test_zone_for),
	    cmocka_unit_test(test_parse_attr),	  cmocka_unit_test(test_integrator),
	    cmocka_unit_test(test_amd_energy),	  cmocka_unit_test(test_power_meter),
	    cmocka_unit_test(test_device_subdir), cmocka_unit_test(test_no_devices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
