// SPDX-License-Identifier: Apache-2.0
/*
 * src/export/passthrough.c: the idle shares and the counter's wrap as pure
 * functions, then the writer on a temporary directory fed hand-made
 * snapshots: the tree, its modes, the counters (active plus idle share,
 * wrapping, never going back when a group starts over), a later run carrying
 * on from the files, and removal after the grace period.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "export/passthrough.h"
#include "util/fileio.h"

#define SEC 1000000000ULL
#define ID1 "8f5b2c1e-3d4a-4b6c-9e7f-0a1b2c3d4e5f"
#define ID2 "5a9fc181-957e-5c32-9e5a-2de5e9673531"

static void test_idle_shares(void **state)
{
	static const struct {
		uint64_t idle;
		uint32_t vcpus[4];
		size_t n;
		uint32_t host;
		uint64_t want[4];
	} t[] = {
	    {1000, {1}, 1, 4, {250}},
	    {1000, {2, 1}, 2, 4, {500, 250}},
	    {1000, {0}, 1, 4, {250}},		      /* unknown counts as one */
	    {1000, {4, 4}, 2, 4, {500, 500}},	      /* overcommitted: never above the node's */
	    {1000, {3, 3, 3}, 3, 4, {333, 333, 333}}, /* rounded down: the sum stays below */
	    {0, {2}, 1, 4, {0}},
	    {UINT64_MAX, {1, 1}, 2, 2, {UINT64_MAX / 2, UINT64_MAX / 2}}, /* no overflow */
	    {1000, {1}, 1, 0, {1000}},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t out[4] = {0}, sum = 0;

		passthrough_idle_shares(t[i].idle, t[i].vcpus, t[i].n, t[i].host, out);
		for (size_t k = 0; k < t[i].n; k++) {
			if (out[k] != t[i].want[k])
				fail_msg("case %zu vm %zu: %llu, want %llu", i, k,
					 (unsigned long long)out[k],
					 (unsigned long long)t[i].want[k]);
			sum += out[k];
		}
		assert_true(sum <= t[i].idle);
	}
}

static void test_counter(void **state)
{
	(void)state;
	assert_int_equal(passthrough_counter(0, 0, 100), 0);
	assert_int_equal(passthrough_counter(0, 100, 100), 100); /* max_range itself is a value */
	assert_int_equal(passthrough_counter(0, 101, 100), 0);	 /* then 0, as RAPL wraps */
	assert_int_equal(passthrough_counter(90, 15, 100), 4);
	assert_int_equal(passthrough_counter(5, 3 * 101 + 2, 100), 7);
	assert_true(passthrough_counter(UINT64_MAX, 5, UINT64_MAX) == 4);
	assert_true(passthrough_counter(262143328850ULL, 1, 262143328850ULL) == 0);
}

/* A snapshot of two zones (package, dram) and up to two VMs. */
struct scene {
	struct snapshot s;
	struct snap_group vm[2];
};

static void scene_init(struct scene *sc, size_t n_cpus)
{
	memset(sc, 0, sizeof(*sc));
	sc->s.n_cpus = n_cpus;
	sc->s.zone[ZONE_PACKAGE].present = true;
	sc->s.zone[ZONE_DRAM].present = true;
	sc->s.groups[SNAP_VM] = sc->vm;
	sc->vm[0] = (struct snap_group){.id = ID1, .name = "one", .vcpus = 1};
	sc->vm[1] = (struct snap_group){.id = ID2, .name = "two", .vcpus = 2};
	sc->s.n_groups[SNAP_VM] = 2;
}

static uint64_t read_counter(const char *dir, const char *id, const char *zone)
{
	char rel[256];
	uint64_t v = 0;

	snprintf(rel, sizeof(rel), "%s/class/powercap/%s/energy_uj", id, zone);
	if (read_u64_at(dir, rel, &v) < 0)
		fail_msg("cannot read %s/%s", dir, rel);
	return v;
}

static void read_text(const char *dir, const char *rel, char *buf, size_t size)
{
	if (read_file_at(dir, rel, buf, size) < 0)
		fail_msg("cannot read %s/%s", dir, rel);
}

static mode_t mode_of(const char *dir, const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static bool exists(const char *dir, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return access(path, F_OK) == 0;
}

static void test_writer(void **state)
{
	char tmpl[] = "/tmp/kepler-passthrough-XXXXXX", dir[256], buf[256], err[256];
	struct passthrough_options o = {
	    .include_idle = true, .grace_ns = 10 * SEC, .max_range_uj = 999999};
	struct passthrough *p = NULL;
	struct scene sc;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	snprintf(dir, sizeof(dir), "%s/vms", tmpl);
	o.dir = dir;
	umask(0077); /* the modes are the writer's, whatever the umask */
	assert_int_equal(passthrough_new(&p, &o, SEC, err, sizeof(err)), 0);
	assert_int_equal(mode_of(dir, "."), 0750);

	/*
	 * Interval 1: 2 host CPUs, 3 vCPUs (1 + 2): the idle share is by thirds. Idle
	 * 400000 (package) and 40000 (dram); VM1 active 1000, VM2 2000 (package).
	 */
	scene_init(&sc, 2);
	sc.s.zone[ZONE_PACKAGE].idle_uj = 400000;
	sc.s.zone[ZONE_DRAM].idle_uj = 40000;
	sc.vm[0].energy_uj[ZONE_PACKAGE] = 1000;
	sc.vm[1].energy_uj[ZONE_PACKAGE] = 2000;
	sc.vm[0].energy_uj[ZONE_DRAM] = 10;
	assert_int_equal(passthrough_write(p, &sc.s, 2 * SEC), 0);
	assert_int_equal(read_counter(dir, ID1, "intel-rapl:0"), 1000 + 133333);
	assert_int_equal(read_counter(dir, ID2, "intel-rapl:0"), 2000 + 266666);
	assert_int_equal(read_counter(dir, ID1, "intel-rapl:0:1"), 10 + 13333);
	assert_false(exists(dir, ID1 "/class/powercap/intel-rapl:1")); /* no platform zone on this host */
	read_text(dir, ID1 "/class/powercap/intel-rapl:0/name", buf, sizeof(buf));
	assert_string_equal(buf, "package-0\n");
	read_text(dir, ID1 "/class/powercap/intel-rapl:0:1/name", buf, sizeof(buf));
	assert_string_equal(buf, "dram\n");
	read_text(dir, ID1 "/class/powercap/intel-rapl:0/max_energy_range_uj", buf, sizeof(buf));
	assert_string_equal(buf, "999999\n");
	read_text(dir, ID1 "/class/powercap/intel-rapl:0/enabled", buf, sizeof(buf));
	assert_string_equal(buf, "1\n");
	read_text(dir, ID2 "/vm_name", buf, sizeof(buf));
	assert_string_equal(buf, "two\n");
	read_text(dir, ID1 "/kepler-vm", buf, sizeof(buf));
	assert_non_null(strstr(buf, "not hardware"));
	assert_int_equal(mode_of(dir, ID1), 0750);
	assert_int_equal(mode_of(dir, ID1 "/class/powercap/intel-rapl:0"), 0750);
	assert_int_equal(mode_of(dir, ID1 "/class/powercap/intel-rapl:0/energy_uj"), 0640);
	assert_int_equal(mode_of(dir, ID1 "/kepler-vm"), 0640);
	assert_false(exists(dir, ID1 "/class/powercap/intel-rapl:0/.energy_uj.tmp"));

	/*
	 * Interval 2: VM2 ended (no idle share any more), VM1 ran 900000 uJ more: its
	 * counter wraps at 999999, and its idle share is half the new 400000.
	 */
	sc.s.zone[ZONE_PACKAGE].idle_uj = 800000;
	sc.vm[0].energy_uj[ZONE_PACKAGE] = 901000;
	sc.vm[1].terminated = true;
	assert_int_equal(passthrough_write(p, &sc.s, 3 * SEC), 0);
	assert_int_equal(read_counter(dir, ID1, "intel-rapl:0"),
			 (1000 + 133333 + 900000 + 200000) % 1000000);
	assert_int_equal(read_counter(dir, ID2, "intel-rapl:0"), 2000 + 266666);

	/* Interval 3: VM1's group starts over from zero: its new energy adds, nothing goes back. */
	sc.s.zone[ZONE_PACKAGE].idle_uj = 800000;
	sc.vm[0].energy_uj[ZONE_PACKAGE] = 500;
	assert_int_equal(passthrough_write(p, &sc.s, 4 * SEC), 0);
	assert_int_equal(read_counter(dir, ID1, "intel-rapl:0"), (1234333 + 500) % 1000000);

	/* The grace period: VM2 ended at 2 s, its directory goes after 12 s; VM1 still runs. */
	assert_int_equal(passthrough_write(p, &sc.s, 12 * SEC), 0);
	assert_true(exists(dir, ID2));
	sc.s.zone[ZONE_PACKAGE].idle_uj = 1200000;
	assert_int_equal(passthrough_write(p, &sc.s, 12 * SEC + 1), 0);
	assert_false(exists(dir, ID2));
	assert_true(exists(dir, ID1));
	assert_int_equal(read_counter(dir, ID1, "intel-rapl:0"), (1234833 + 200000) % 1000000);
	passthrough_free(p);

	/* A new run carries VM1's counters on from the files, and removes what never returns. */
	p = NULL;
	assert_int_equal(passthrough_new(&p, &o, 100 * SEC, err, sizeof(err)), 0);
	scene_init(&sc, 4);
	sc.vm[1].id = "../escape"; /* never a path */
	sc.vm[0].energy_uj[ZONE_PACKAGE] = 7;
	assert_int_equal(passthrough_write(p, &sc.s, 101 * SEC), 0);
	assert_int_equal(read_counter(dir, ID1, "intel-rapl:0"), 434833 + 7);
	assert_false(exists(tmpl, "escape"));
	sc.s.n_groups[SNAP_VM] = 0;
	assert_int_equal(passthrough_write(p, &sc.s, 111 * SEC), 0);
	assert_true(exists(dir, ID1));
	assert_int_equal(passthrough_write(p, &sc.s, 112 * SEC), 0);
	assert_false(exists(dir, ID1));
	passthrough_free(p);

	/* Its parent must exist. */
	snprintf(buf, sizeof(buf), "%s/no/such", tmpl);
	o.dir = buf;
	p = NULL;
	assert_int_equal(passthrough_new(&p, &o, SEC, err, sizeof(err)), -ENOENT);
	assert_null(p);
	assert_non_null(strstr(err, "vm.passthrough.dir: "));
	assert_non_null(strstr(err, "No such file or directory"));
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(rmdir(tmpl), 0);
}

/* includeIdle: false carries the VM's own energy alone. */
static void test_without_idle(void **state)
{
	char tmpl[] = "/tmp/kepler-passthrough-XXXXXX", err[256];
	struct passthrough_options o = {.dir = tmpl, .grace_ns = 0, .max_range_uj = 1000000};
	struct passthrough *p = NULL;
	struct scene sc;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	assert_int_equal(passthrough_new(&p, &o, SEC, err, sizeof(err)), 0);
	assert_int_equal(mode_of(tmpl, "."), 0700); /* there already: left as it is */
	scene_init(&sc, 2);
	sc.s.zone[ZONE_PACKAGE].idle_uj = 400000;
	sc.vm[0].energy_uj[ZONE_PACKAGE] = 1234;
	assert_int_equal(passthrough_write(p, &sc.s, 2 * SEC), 0);
	assert_int_equal(read_counter(tmpl, ID1, "intel-rapl:0"), 1234);
	sc.s.n_groups[SNAP_VM] = 0;
	assert_int_equal(passthrough_write(p, &sc.s, 3 * SEC), 0); /* grace 0: gone at once */
	assert_false(exists(tmpl, ID1));
	assert_false(exists(tmpl, ID2));
	passthrough_free(p);
	assert_int_equal(rmdir(tmpl), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_idle_shares),
	    cmocka_unit_test(test_counter),
	    cmocka_unit_test(test_writer),
	    cmocka_unit_test(test_without_idle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
