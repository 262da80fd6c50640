// SPDX-License-Identifier: Apache-2.0
/* RAPL powercap meter: wrap arithmetic, name parsers, and reads of fixture trees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "power/internal.h"
#include "power_fixture.h"

#define MAXR 262143328850ULL /* max_energy_range_uj of real hardware */

static void test_counter_delta(void **state)
{
	static const struct {
		uint64_t prev, cur, max, want;
	} t[] = {
	    {0, 0, MAXR, 0},
	    {10, 20, MAXR, 10},
	    {0, MAXR, MAXR, MAXR},
	    /* wrap: counts modulo max + 1 */
	    {MAXR, 0, MAXR, 1},
	    {MAXR - 1000, 500, MAXR, 1501},
	    {100, 99, MAXR, MAXR},
	    {90, 5, 100, 16},
	    /* glitches: impossible values count nothing */
	    {50, MAXR + 1, MAXR, 0},
	    {10, UINT64_MAX, MAXR, 0},
	    {MAXR + 5, 3, MAXR, 0},
	    /* unknown range: increases count, decreases do not */
	    {5, 3, 0, 0},
	    {3, 5, 0, 2},
	    {0, UINT64_MAX, 0, UINT64_MAX},
	    {UINT64_MAX, 0, 0, 0},
	    /* 64-bit range */
	    {UINT64_MAX - 1, UINT64_MAX, UINT64_MAX, 1},
	    {UINT64_MAX, 0, UINT64_MAX, 1},
	    {UINT64_MAX - 5, 4, UINT64_MAX, 10},
	    {UINT64_MAX, UINT64_MAX - 1, UINT64_MAX, UINT64_MAX},
	    {1, 0, UINT64_MAX, UINT64_MAX},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		uint64_t got = counter_delta(t[i].prev, t[i].cur, t[i].max);

		if (got != t[i].want)
			fail_msg("case %zu: counter_delta(%llu, %llu, %llu) = %llu, want %llu", i,
				 (unsigned long long)t[i].prev, (unsigned long long)t[i].cur,
				 (unsigned long long)t[i].max, (unsigned long long)got,
				 (unsigned long long)t[i].want);
	}
}

static void test_parse_dirname(void **state)
{
	static const struct {
		const char *s;
		int r;
		enum rapl_iface iface;
		int idx, sub;
	} t[] = {
	    {"intel-rapl:0", 0, RAPL_IFACE_MSR, 0, -1},
	    {"intel-rapl:1", 0, RAPL_IFACE_MSR, 1, -1},
	    {"intel-rapl:0:1", 0, RAPL_IFACE_MSR, 0, 1},
	    {"intel-rapl:12:3", 0, RAPL_IFACE_MSR, 12, 3},
	    {"intel-rapl-mmio:0", 0, RAPL_IFACE_MMIO, 0, -1},
	    {"intel-rapl-mmio:0:0", 0, RAPL_IFACE_MMIO, 0, 0},
	    {"intel-rapl", -EINVAL},
	    {"intel-rapl-mmio", -EINVAL},
	    {"intel-rapl:", -EINVAL},
	    {"intel-rapl:x", -EINVAL},
	    {"intel-rapl:0:", -EINVAL},
	    {"intel-rapl:0:1:2", -EINVAL},
	    {"intel-rapl:-1", -EINVAL},
	    {"intel-rapl:99999999999999999999", -EINVAL},
	    {"dtpm", -EINVAL},
	    {"", -EINVAL},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		enum rapl_iface iface = 99;
		int idx = -7, sub = -7;
		int r = rapl_parse_dirname(t[i].s, &iface, &idx, &sub);

		if (r != t[i].r)
			fail_msg("case %zu (%s): r = %d, want %d", i, t[i].s, r, t[i].r);
		if (r < 0) {
			assert_int_equal(idx, -7); /* untouched on failure */
			continue;
		}
		assert_int_equal(iface, t[i].iface);
		assert_int_equal(idx, t[i].idx);
		assert_int_equal(sub, t[i].sub);
	}
}

static void test_parse_zone_name(void **state)
{
	static const struct {
		const char *s;
		int r;
		enum zone zone;
		int socket;
	} t[] = {
	    {"package-0", 0, ZONE_PACKAGE, 0},
	    {"package-1", 0, ZONE_PACKAGE, 1},
	    {"package-0-die-1", 0, ZONE_PACKAGE, 0},
	    {"core", 0, ZONE_CORE, -1},
	    {"uncore", 0, ZONE_UNCORE, -1},
	    {"dram", 0, ZONE_DRAM, -1},
	    {"dram-1", 0, ZONE_DRAM, 1},
	    {"psys", 0, ZONE_PSYS, -1},
	    {"package", 0, ZONE_PACKAGE, -1},
	    {"package-", -EINVAL},
	    {"package-x", -EINVAL},
	    {"package-0-die-", -EINVAL},
	    {"package-0-foo", -EINVAL},
	    {"gpu", -EINVAL},
	    {"", -EINVAL},
	    {"-0", -EINVAL},
	    {"averyveryverylongzonename-0", -EINVAL},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		enum zone z = ZONE_MAX;
		int socket = -7;
		int r = rapl_parse_zone_name(t[i].s, &z, &socket);

		if (r != t[i].r)
			fail_msg("case %zu (%s): r = %d, want %d", i, t[i].s, r, t[i].r);
		if (r < 0)
			continue;
		assert_int_equal(z, t[i].zone);
		assert_int_equal(socket, t[i].socket);
	}
}

struct meter_ctx {
	struct kepler_config cfg;
	struct power_meter *m;
	char *dir; /* temporary copy, NULL when reading the fixture in place */
};

static int open_at(struct meter_ctx *c, const char *sysfs)
{
	fixture_config(&c->cfg, sysfs);
	c->m = NULL;
	return rapl_meter_ops.open(&c->m, &c->cfg, NULL, 0);
}

static void ctx_done(struct meter_ctx *c)
{
	if (c->m)
		rapl_meter_ops.close(c->m);
	config_free(&c->cfg);
	fixture_remove(c->dir);
}

/*
 * Each read read_step_ns after the previous one: long by default, so that the
 * large synthetic steps below are energy a real package could have used.
 */
static uint64_t read_step_ns = 3600ULL * 1000000000ULL;

static struct energy_reading rd(struct meter_ctx *c, int want_r)
{
	static uint64_t now_ns;
	struct meter_input in = {.now_ns = now_ns += read_step_ns, .cpu_util = -1};
	struct energy_reading out;

	assert_int_equal(rapl_meter_ops.read(c->m, &in, &out, NULL, 0), want_r);
	return out;
}

#define P(z) ZONE_BIT(ZONE_##z)

static void test_fixtures_discovery(void **state)
{
	static const struct {
		const char *tree;
		int r;
		uint32_t zones;
	} t[] = {
	    {"rapl-1socket", 0, P(PACKAGE) | P(CORE) | P(UNCORE) | P(PSYS)},
	    {"rapl-2socket", 0, P(PACKAGE) | P(CORE) | P(DRAM) | P(PSYS)},
	    {"rapl-amd", 0, P(PACKAGE) | P(CORE)},
	    {"empty", -ENODEV, 0},
	    {"hwmon-power-meter", -ENODEV, 0},
	    {"does-not-exist", -ENODEV, 0},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct meter_ctx c = {0};
		char path[PATH_MAX];
		int r;

		snprintf(path, sizeof(path), "%s/sysfs/%s", FIXTURES, t[i].tree);
		r = open_at(&c, path);
		if (r != t[i].r)
			fail_msg("%s: open = %d, want %d", t[i].tree, r, t[i].r);
		if (r == 0) {
			struct energy_reading out = rd(&c, 0);

			assert_int_equal(out.zones, t[i].zones);
			assert_int_equal(out.valid, t[i].zones);
			for (int z = 0; z < ZONE_MAX; z++)
				assert_int_equal(out.zone_uj[z], 0); /* cumulative since open */
			assert_false(out.has_platform);
		} else {
			assert_null(c.m);
		}
		ctx_done(&c);
	}
}

static void test_zone_mask(void **state)
{
	struct meter_ctx c = {0};
	char path[PATH_MAX];

	(void)state;
	snprintf(path, sizeof(path), "%s/sysfs/rapl-2socket", FIXTURES);
	fixture_config(&c.cfg, path);
	c.cfg.rapl_zones = P(PACKAGE) | P(DRAM);
	assert_int_equal(rapl_meter_ops.open(&c.m, &c.cfg, NULL, 0), 0);
	assert_int_equal(rd(&c, 0).zones, P(PACKAGE) | P(DRAM));
	rapl_meter_ops.close(c.m);
	c.m = NULL;
	c.cfg.rapl_zones = P(UNCORE);
	assert_int_equal(rapl_meter_ops.open(&c.m, &c.cfg, NULL, 0), -ENODEV);
	ctx_done(&c);
}

/* Two sockets summed per zone; a dram wrap adds max_energy_range_uj + 1 - prev + cur. */
static void test_two_sockets_and_wrap(void **state)
{
	struct meter_ctx c = {0};
	struct energy_reading out;
	const char *D0 = "class/powercap/intel-rapl:0:1/energy_uj";
	uint64_t dram_max = 65712999613ULL, dram0 = 30551820931ULL;

	(void)state;
	c.dir = fixture_copy("rapl-2socket");
	assert_non_null(c.dir);
	assert_int_equal(open_at(&c, c.dir), 0);
	fixture_write_u64(c.dir, "class/powercap/intel-rapl:0/energy_uj",
			  183926417301ULL + 1000000);
	fixture_write_u64(c.dir, "class/powercap/intel-rapl:1/energy_uj",
			  171088230112ULL + 2500000);
	fixture_write_u64(c.dir, D0, dram_max - 10); /* close to the wrap */
	out = rd(&c, 0);
	assert_int_equal(out.valid, out.zones);
	assert_int_equal(out.zone_uj[ZONE_PACKAGE], 3500000);
	assert_int_equal(out.zone_uj[ZONE_DRAM], dram_max - 10 - dram0);
	assert_int_equal(out.zone_uj[ZONE_CORE], 0);

	fixture_write_u64(c.dir, D0, 89); /* wrapped: 10 to the top, 1 to zero, 89 more */
	out = rd(&c, 0);
	assert_int_equal(out.zone_uj[ZONE_DRAM], dram_max - 10 - dram0 + 100);
	assert_int_equal(out.valid, out.zones);

	/* A package-1 wrap with package-0 standing still. */
	fixture_write_u64(c.dir, "class/powercap/intel-rapl:1/energy_uj", 5);
	out = rd(&c, 0);
	assert_int_equal(out.zone_uj[ZONE_PACKAGE],
			 3500000 + MAXR - (171088230112ULL + 2500000) + 1 + 5);
	ctx_done(&c);
}

/*
 * One socket's core counter unreadable: the whole core zone is invalid for that
 * read (no under-reporting), the others stay valid, and the next good read
 * includes the energy used meanwhile, across a wrap too.
 */
static void test_unreadable_zone(void **state)
{
	struct meter_ctx c = {0};
	struct energy_reading out;
	const char *C1 = "class/powercap/intel-rapl:1:0/energy_uj";
	const char *C0 = "class/powercap/intel-rapl:0:0/energy_uj";
	uint64_t core0 = 97111238465ULL, core1 = 88412077734ULL;

	(void)state;
	c.dir = fixture_copy("rapl-2socket");
	assert_non_null(c.dir);
	assert_int_equal(open_at(&c, c.dir), 0);
	fixture_write_u64(c.dir, C0, core0 + 100);
	fixture_write_u64(c.dir, C1, core1 + 200);
	out = rd(&c, 0);
	assert_int_equal(out.zone_uj[ZONE_CORE], 300);

	assert_int_equal(fixture_break(c.dir, C1), 0);
	fixture_write_u64(c.dir, C0, core0 + 1100);
	out = rd(&c, 0);
	assert_false(out.valid & P(CORE));
	assert_true(out.valid & P(PACKAGE));

	/* Garbage is as bad as missing. */
	fixture_write(c.dir, C1, "not a number\n");
	out = rd(&c, 0);
	assert_false(out.valid & P(CORE));
	/* Above max_energy_range_uj: a glitch, not energy. */
	fixture_write_u64(c.dir, C1, MAXR + 1);
	out = rd(&c, 0);
	assert_false(out.valid & P(CORE));

	/* Back, having wrapped meanwhile: 1100 on socket 0, 200 + (MAXR - core1 - 200 + 1 + 7). */
	fixture_write_u64(c.dir, C1, 7);
	out = rd(&c, 0);
	assert_true(out.valid & P(CORE));
	assert_int_equal(out.zone_uj[ZONE_CORE], 1100 + (MAXR - core1 + 1 + 7));

	/* A vanished zone directory behaves the same. */
	{
		char cmd[PATH_MAX + 64];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s/class/powercap/intel-rapl:2'", c.dir);
		assert_int_equal(system(cmd), 0);
	}
	out = rd(&c, 0);
	assert_false(out.valid & P(PSYS));
	assert_true(out.valid & P(CORE));
	ctx_done(&c);
}

/* Every zone unreadable at once: the read fails and reports nothing valid. */
static void test_all_unreadable(void **state)
{
	struct meter_ctx c = {0};
	struct energy_reading out;

	(void)state;
	c.dir = fixture_copy("rapl-amd");
	assert_non_null(c.dir);
	assert_int_equal(open_at(&c, c.dir), 0);
	fixture_break(c.dir, "class/powercap/intel-rapl:0/energy_uj");
	fixture_break(c.dir, "class/powercap/intel-rapl:0:0/energy_uj");
	out = rd(&c, -EISDIR);
	assert_int_equal(out.valid, 0);
	assert_int_equal(out.zones, P(PACKAGE) | P(CORE));
	ctx_done(&c);
}

/* A zone unreadable at open is not offered; none readable: the error, not -ENODEV. */
static void test_open_unreadable(void **state)
{
	struct meter_ctx c = {0};

	(void)state;
	c.dir = fixture_copy("rapl-1socket");
	assert_non_null(c.dir);
	fixture_break(c.dir, "class/powercap/intel-rapl:0:1/energy_uj");
	assert_int_equal(open_at(&c, c.dir), 0);
	assert_int_equal(rd(&c, 0).zones, P(PACKAGE) | P(CORE) | P(PSYS));
	ctx_done(&c);

	c = (struct meter_ctx){0};
	c.dir = fixture_copy("rapl-amd");
	fixture_break(c.dir, "class/powercap/intel-rapl:0/energy_uj");
	fixture_break(c.dir, "class/powercap/intel-rapl:0:0/energy_uj");
	assert_int_equal(open_at(&c, c.dir), -EISDIR);
	ctx_done(&c);
}

/*
 * energy_uj is root-only since Linux 5.10: as an unprivileged user the open
 * says -EACCES. Needs root to drop to nobody; skipped otherwise.
 */
static void test_open_eacces(void **state)
{
	char *dir;
	pid_t pid;
	int status;

	(void)state;
	if (geteuid() != 0)
		skip();
	dir = fixture_copy("rapl-amd");
	assert_non_null(dir);
	assert_int_equal(chmod(dir, 0755), 0);
	{
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/class/powercap/intel-rapl:0/energy_uj", dir);
		assert_int_equal(chmod(p, 0400), 0);
		snprintf(p, sizeof(p), "%s/class/powercap/intel-rapl:0:0/energy_uj", dir);
		assert_int_equal(chmod(p, 0400), 0);
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct kepler_config cfg;
		struct power_meter *m = NULL;
		char err[512] = "", want[1024];
		int r;

		fixture_config(&cfg, dir);
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(100);
		r = rapl_meter_ops.open(&m, &cfg, err, sizeof(err));
		/* The message names the file and says why it is unreadable. */
		snprintf(want, sizeof(want),
			 "zone package-0: cannot read %s/class/powercap/intel-rapl:0/energy_uj: "
			 "Permission denied (energy_uj is root only since Linux 5.10)",
			 dir);
		if (!streq(err, want))
			fprintf(stderr, "got  \"%s\"\nwant \"%s\"\n", err, want);
		_exit(r == -EACCES && !m ? (streq(err, want) ? 0 : 102) : 101);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	fixture_remove(dir);
}

/* Real sysfs: class/powercap entries are symlinks into devices/virtual/powercap. */
static void test_symlinks(void **state)
{
	static const char *const zones[] = {"intel-rapl:0", "intel-rapl:0:0"};
	struct meter_ctx c = {0};
	struct energy_reading out;

	(void)state;
	c.dir = fixture_copy("rapl-amd");
	assert_non_null(c.dir);
	assert_int_equal(fixture_mkdir(c.dir, "devices/virtual/powercap/intel-rapl"), 0);
	for (size_t i = 0; i < ARRAY_SIZE(zones); i++) {
		char from[PATH_MAX], to[PATH_MAX + 64];

		snprintf(from, sizeof(from), "%s/class/powercap/%s", c.dir, zones[i]);
		snprintf(to, sizeof(to), "%s/devices/virtual/powercap/intel-rapl/%s", c.dir,
			 zones[i]);
		assert_int_equal(rename(from, to), 0);
		snprintf(to, sizeof(to), "../../devices/virtual/powercap/intel-rapl/%s", zones[i]);
		assert_int_equal(symlink(to, from), 0);
	}
	assert_int_equal(open_at(&c, c.dir), 0);
	fixture_write_u64(c.dir, "class/powercap/intel-rapl:0/energy_uj", 40317760751ULL + 42);
	out = rd(&c, 0);
	assert_int_equal(out.zones, P(PACKAGE) | P(CORE));
	assert_int_equal(out.zone_uj[ZONE_PACKAGE], 42);
	ctx_done(&c);
}

static void add_zone(const char *root, const char *dir, const char *name, uint64_t energy)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "class/powercap/%s", dir);
	assert_int_equal(fixture_mkdir(root, rel), 0);
	snprintf(rel, sizeof(rel), "class/powercap/%s/name", dir);
	fixture_write(root, rel, name);
	snprintf(rel, sizeof(rel), "class/powercap/%s/energy_uj", dir);
	fixture_write_u64(root, rel, energy);
	snprintf(rel, sizeof(rel), "class/powercap/%s/max_energy_range_uj", dir);
	fixture_write_u64(root, rel, MAXR);
}

/* intel-rapl-mmio duplicates an MSR zone: the MSR one counts, once. */
static void test_mmio_duplicate(void **state)
{
	struct meter_ctx c = {0};
	struct energy_reading out;

	(void)state;
	c.dir = fixture_copy("rapl-1socket");
	assert_non_null(c.dir);
	add_zone(c.dir, "intel-rapl-mmio:0", "package-0\n", 1000);
	assert_int_equal(open_at(&c, c.dir), 0);
	fixture_write_u64(c.dir, "class/powercap/intel-rapl-mmio:0/energy_uj", 5000);
	fixture_write_u64(c.dir, "class/powercap/intel-rapl:0/energy_uj", 48735210339ULL + 700);
	out = rd(&c, 0);
	assert_int_equal(out.zone_uj[ZONE_PACKAGE], 700);
	ctx_done(&c);

	/* Only MMIO offers the package: it is used. */
	c = (struct meter_ctx){0};
	c.dir = fixture_copy(NULL);
	add_zone(c.dir, "intel-rapl-mmio:0", "package-0\n", 1000);
	assert_int_equal(open_at(&c, c.dir), 0);
	fixture_write_u64(c.dir, "class/powercap/intel-rapl-mmio:0/energy_uj", 5000);
	out = rd(&c, 0);
	assert_int_equal(out.zones, P(PACKAGE));
	assert_int_equal(out.zone_uj[ZONE_PACKAGE], 4000);
	ctx_done(&c);
}

/* Cumulative values never decrease, whatever the counters do. */
static void test_monotonic_sequence(void **state)
{
	static const uint64_t seq[] = {100, 5000, 4000 /* decrease = wrap */, 4000, 0, MAXR, 3};
	struct meter_ctx c = {0};
	uint64_t last = 0, want = 0, prev = 100;

	(void)state;
	c.dir = fixture_copy(NULL);
	add_zone(c.dir, "intel-rapl:0", "package-0\n", 100);
	assert_int_equal(open_at(&c, c.dir), 0);
	for (size_t i = 0; i < ARRAY_SIZE(seq); i++) {
		struct energy_reading out;

		fixture_write_u64(c.dir, "class/powercap/intel-rapl:0/energy_uj", seq[i]);
		out = rd(&c, 0);
		want += counter_delta(prev, seq[i], MAXR);
		prev = seq[i];
		assert_int_equal(out.zone_uj[ZONE_PACKAGE], want);
		assert_true(out.zone_uj[ZONE_PACKAGE] >= last);
		last = out.zone_uj[ZONE_PACKAGE];
	}
	ctx_done(&c);
}

/*
 * Within one second a counter that falls back by a little did not wrap (that
 * would be ~262 kJ in a second), and one that leaps by hundreds of kilojoules
 * did not use them: neither is energy, the zone is invalid for that read, and
 * counting resumes from the new value.
 */
static void test_implausible_jumps(void **state)
{
	static const struct {
		uint64_t raw;
		bool valid;
		uint64_t want; /* cumulative */
	} seq[] = {
	    {1000000, true, 0},		    /* baseline read right after open */
	    {1100000, true, 100000},	    /* 0.1 J in a second */
	    {1050000, false, 100000},	    /* a step back, not a wrap */
	    {1150000, true, 200000},	    /* counting resumes from the new value */
	    {0, false, 200000},		    /* a reset to zero */
	    {MAXR - 100000, false, 200000}, /* 262 kJ in a second */
	    {MAXR - 50, true, 299950},
	    {49, true, 300050}, /* a real wrap: 50 to the top, 1 to zero, 49 more */
	};
	struct meter_ctx c = {0};
	uint64_t saved = read_step_ns;

	(void)state;
	read_step_ns = 1000000000ULL;
	c.dir = fixture_copy(NULL);
	add_zone(c.dir, "intel-rapl:0", "package-0\n", 1000000);
	assert_int_equal(open_at(&c, c.dir), 0);
	for (size_t i = 0; i < ARRAY_SIZE(seq); i++) {
		struct energy_reading out;

		fixture_write_u64(c.dir, "class/powercap/intel-rapl:0/energy_uj", seq[i].raw);
		out = rd(&c, seq[i].valid ? 0 : -ERANGE);
		if (!!(out.valid & P(PACKAGE)) != seq[i].valid ||
		    out.zone_uj[ZONE_PACKAGE] != seq[i].want)
			fail_msg("step %zu: valid %d, %llu uJ; want %d, %llu", i,
				 !!(out.valid & P(PACKAGE)),
				 (unsigned long long)out.zone_uj[ZONE_PACKAGE], seq[i].valid,
				 (unsigned long long)seq[i].want);
	}
	read_step_ns = saved;
	ctx_done(&c);
}

/* What the rapl meter says when it fails: the zone, the file and why. */
static void test_messages(void **state)
{
	static const struct meter_msg_case t[] = {
	    {&rapl_meter_ops, NULL, .r = -ENODEV,
	     .err = "no powercap zones under %s/class/powercap"},
	    {&rapl_meter_ops, "rapl-amd",
	     .open_edits = {{"class/powercap/intel-rapl:0/energy_uj", NULL},
			    {"class/powercap/intel-rapl:0:0/energy_uj", NULL}},
	     .r = -EISDIR,
	     .err = "zone package-0: cannot read %s/class/powercap/intel-rapl:0/energy_uj: "
		    "Is a directory"},
	    {&rapl_meter_ops, "rapl-amd",
	     .open_edits = {{"class/powercap/intel-rapl:0/energy_uj", "65532610988\n"},
			    {"class/powercap/intel-rapl:0:0/energy_uj", NULL}},
	     .r = -ERANGE,
	     .err = "zone package-0: %s/class/powercap/intel-rapl:0/energy_uj: 65532610988 is "
		    "above max_energy_range_uj 65532610987"},
	    {&rapl_meter_ops, "rapl-amd",
	     .read_edits = {{"class/powercap/intel-rapl:0:0/energy_uj", NULL}}, .r = 0,
	     .err = "zone package-0/core: cannot read %s/class/powercap/intel-rapl:0:0/energy_uj: "
		    "Is a directory"},
	    {&rapl_meter_ops, "rapl-amd",
	     .read_edits = {{"class/powercap/intel-rapl:0/energy_uj", NULL},
			    {"class/powercap/intel-rapl:0:0/energy_uj", "65532610988\n"}},
	     .r = -EISDIR,
	     .err = "zone package-0: cannot read %s/class/powercap/intel-rapl:0/energy_uj: "
		    "Is a directory"},
	    {&rapl_meter_ops, "rapl-amd",
	     .read_edits = {{"class/powercap/intel-rapl:0:0/energy_uj", "65532610988\n"}}, .r = 0,
	     .err = "zone package-0/core: %s/class/powercap/intel-rapl:0:0/energy_uj: 65532610988 "
		    "is above max_energy_range_uj 65532610987"},
	    /* Without a range a decrease is no wrap. */
	    {&rapl_meter_ops, "rapl-amd",
	     .open_edits = {{"class/powercap/intel-rapl:0/max_energy_range_uj", "garbage\n"}},
	     .read_edits = {{"class/powercap/intel-rapl:0/energy_uj", "100\n"}}, .r = 0,
	     .err = "zone package-0: %s/class/powercap/intel-rapl:0/energy_uj went back from "
		    "40317760751 to 100"},
	    /* 20 kJ in the second between the reads. */
	    {&rapl_meter_ops, "rapl-amd",
	     .read_edits = {{"class/powercap/intel-rapl:0:0/energy_uj", "32098422366\n"}}, .r = 0,
	     .err = "zone package-0/core: %s/class/powercap/intel-rapl:0:0/energy_uj rose by "
		    "20000000000 uJ in 1000 ms, more than 10000 W"},
	};
	(void)state;
	meter_msg_run(t, ARRAY_SIZE(t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_messages),
	    cmocka_unit_test(test_counter_delta),
	    cmocka_unit_test(test_parse_dirname),
	    cmocka_unit_test(test_parse_zone_name),
	    cmocka_unit_test(test_fixtures_discovery),
	    cmocka_unit_test(test_zone_mask),
	    cmocka_unit_test(test_two_sockets_and_wrap),
	    cmocka_unit_test(test_unreadable_zone),
	    cmocka_unit_test(test_all_unreadable),
	    cmocka_unit_test(test_open_unreadable),
	    cmocka_unit_test(test_open_eacces),
	    cmocka_unit_test(test_symlinks),
	    cmocka_unit_test(test_mmio_duplicate),
	    cmocka_unit_test(test_monotonic_sequence),
	    cmocka_unit_test(test_implausible_jumps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
