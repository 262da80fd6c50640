// SPDX-License-Identifier: Apache-2.0
/*
 * The drm GPU backend: the fdinfo parser from tables (the kernel's own
 * examples and edge cases), devices and energy on the amdgpu, i915 and xe
 * fixture trees, and per-process engine time on a procfs built here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/stat.h>
#include <cmocka.h>

#include "power/gpu_internal.h"
#include "power_fixture.h"

#define SEC 1000000000ULL
#define MS 1000000ULL

/* ---- the fdinfo parser ---- */

/* Reference texts: /work/shared/reference/fdinfo (kernel docs and driver commit messages). */
static const char amdgpu_text[] = "pos:\t0\nflags:\t02100002\nmnt_id:\t24\nino:\t1204\n"
				  "drm-driver:\tamdgpu\ndrm-client-id:\t30\n"
				  "drm-pdev:\t0000:04:00.0\npasid:\t32785\n"
				  "drm-total-cpu:\t0\ndrm-total-gtt:\t22 MiB\n"
				  "drm-resident-vram:\t544428 KiB\n"
				  "drm-memory-vram:\t544428 KiB\n"
				  "drm-memory-gtt: \t22528 KiB\n"
				  "drm-memory-cpu: \t0 KiB\n"
				  "amd-memory-visible-vram:\t544428 KiB\n"
				  "amd-requested-gtt:\t22528 KiB\n"
				  "drm-engine-gfx:\t39456116802 ns\n";

static const char i915_text[] = "pos:\t0\nflags:\t02100002\nmnt_id:\t26\nino:\t501\n"
				"drm-driver:\ti915\ndrm-pdev:\t0000:00:02.0\n"
				"drm-client-id:\t22\n"
				"drm-engine-render:\t196329331 ns\n"
				"drm-engine-copy:\t0 ns\n"
				"drm-engine-video:\t0 ns\n"
				"drm-engine-capacity-video:\t2\n"
				"drm-engine-video-enhance:\t0 ns\n";

static const char xe_text[] = "pos:\t0\nflags:\t0100002\nmnt_id:\t26\nino:\t685\n"
			      "drm-driver:\txe\ndrm-client-id:\t3\ndrm-pdev:\t0000:03:00.0\n"
			      "drm-total-system:\t0\ndrm-total-gtt:\t192 KiB\n"
			      "drm-shared-vram0:\t16 MiB\n"
			      "drm-cycles-rcs:\t28257900\n"
			      "drm-total-cycles-rcs:\t7655183225\n"
			      "drm-cycles-bcs:\t0\n"
			      "drm-total-cycles-bcs:\t7655183225\n"
			      "drm-cycles-vcs:\t0\n"
			      "drm-total-cycles-vcs:\t7655183225\n"
			      "drm-engine-capacity-vcs:\t2\n"
			      "drm-cycles-ccs:\t0\n"
			      "drm-total-cycles-ccs:\t7655183225\n"
			      "drm-engine-capacity-ccs:\t4\n";

static const char panfrost_text[] = "pos:\t0\nflags:\t02400002\nmnt_id:\t27\nino:\t531\n"
				    "drm-driver:\tpanfrost\ndrm-client-id:\t14\n"
				    "drm-engine-fragment:\t1846584880 ns\n"
				    "drm-cycles-fragment:\t1424359409\n"
				    "drm-maxfreq-fragment:\t799999987 Hz\n"
				    "drm-curfreq-fragment:\t799999987 Hz\n"
				    "drm-engine-vertex-tiler:\t71932239 ns\n"
				    "drm-cycles-vertex-tiler:\t52617357\n"
				    "drm-total-memory:\t290 MiB\n";

struct want_engine {
	const char *name;
	unsigned has;
	uint32_t capacity;
	uint64_t ns, cycles, total;
};

#define NS DRM_ENGINE_HAS_NS
#define CY DRM_ENGINE_HAS_CYCLES
#define TO DRM_ENGINE_HAS_TOTAL

static void test_fdinfo_parse(void **state)
{
	static const struct {
		const char *what, *text;
		int r;
		const char *driver, *pdev;
		uint64_t id;
		size_t n;
		struct want_engine e[6];
	} t[] = {
	    {"amdgpu",
	     amdgpu_text,
	     0,
	     "amdgpu",
	     "0000:04:00.0",
	     30,
	     1,
	     {{"gfx", NS, 1, 39456116802ULL}}},
	    {"i915",
	     i915_text,
	     0,
	     "i915",
	     "0000:00:02.0",
	     22,
	     4,
	     {{"render", NS, 1, 196329331},
	      {"copy", NS, 1, 0},
	      {"video", NS, 2, 0},
	      {"video-enhance", NS, 1, 0}}},
	    {"xe",
	     xe_text,
	     0,
	     "xe",
	     "0000:03:00.0",
	     3,
	     4,
	     {{"rcs", CY | TO, 1, 0, 28257900, 7655183225ULL},
	      {"bcs", CY | TO, 1, 0, 0, 7655183225ULL},
	      {"vcs", CY | TO, 2, 0, 0, 7655183225ULL},
	      {"ccs", CY | TO, 4, 0, 0, 7655183225ULL}}},
	    {"panfrost, no drm-pdev",
	     panfrost_text,
	     0,
	     "panfrost",
	     "",
	     14,
	     2,
	     {{"fragment", NS | CY, 1, 1846584880, 1424359409},
	      {"vertex-tiler", NS | CY, 1, 71932239, 52617357}}},
	    {"no unit, spaces around, CRLF, no final newline",
	     "drm-driver :  i915 \r\ndrm-client-id: \t 7\r\ndrm-engine-render:\t5",
	     0,
	     "i915",
	     "",
	     7,
	     1,
	     {{"render", NS, 1, 5}}},
	    {"unreadable lines skipped",
	     "drm-driver:\tamdgpu\ndrm-client-id:\t1\n"
	     "drm-engine-gfx:\t12 us\n"			  /* unknown unit */
	     "drm-engine-compute:\t-3 ns\n"		  /* no sign */
	     "drm-engine-dma:\t99999999999999999999 ns\n" /* overflow */
	     "drm-engine-capacity-gfx:\t0\n"		  /* capacity 0 is not a capacity */
	     "drm-engine-:\t5 ns\n"			  /* no name */
	     "drm engine-x:\t5 ns\n"			  /* whitespace in the key */
	     "garbage without colon\n"
	     "drm-engine-jpeg:\t5 ns\n",
	     0,
	     "amdgpu",
	     "",
	     1,
	     1,
	     {{"jpeg", NS, 1, 5}}},
	    {"a key twice keeps the last",
	     "drm-driver:\txe\ndrm-client-id:\t1\ndrm-client-id:\t2\n"
	     "drm-cycles-rcs:\t10\ndrm-cycles-rcs:\t20\n",
	     0,
	     "xe",
	     "",
	     2,
	     1,
	     {{"rcs", CY, 1, 0, 20}}},
	    {"u64 max", "drm-driver:\ti915\ndrm-client-id:\t18446744073709551615\n", 0, "i915", "",
	     UINT64_MAX, 0},
	    {"no client id", "drm-driver:\ti915\ndrm-engine-render:\t5 ns\n", -ENOENT},
	    {"bad client id", "drm-driver:\ti915\ndrm-client-id:\tx\n", -ENOENT},
	    {"no driver", "drm-client-id:\t4\n", -ENOENT},
	    {"empty driver", "drm-driver:\t\ndrm-client-id:\t4\n", -ENOENT},
	    {"not a DRM fd", "pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t3\n", -ENOENT},
	    {"empty", "", -ENOENT},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct drm_fdinfo fi;
		int r = drm_fdinfo_parse(t[i].text, &fi);

		if (r != t[i].r)
			fail_msg("case %zu (%s): %d, want %d", i, t[i].what, r, t[i].r);
		if (r < 0)
			continue;
		assert_string_equal(fi.driver, t[i].driver);
		assert_string_equal(fi.pdev, t[i].pdev);
		assert_true(fi.client_id == t[i].id);
		if (fi.n_engines != t[i].n)
			fail_msg("case %zu (%s): %zu engines, want %zu", i, t[i].what, fi.n_engines,
				 t[i].n);
		for (size_t k = 0; k < t[i].n; k++) {
			const struct drm_fdinfo_engine *e = &fi.engines[k];
			const struct want_engine *w = &t[i].e[k];

			assert_string_equal(e->name, w->name);
			if (e->has != w->has || e->capacity != w->capacity || e->ns != w->ns ||
			    e->cycles != w->cycles || e->total_cycles != w->total)
				fail_msg("case %zu (%s) engine %s: has %u cap %u ns %llu cycles "
					 "%llu total %llu",
					 i, t[i].what, e->name, e->has, e->capacity,
					 (unsigned long long)e->ns, (unsigned long long)e->cycles,
					 (unsigned long long)e->total_cycles);
		}
	}
}

/* More engine names than the bound: the first ones are kept, the count stays bounded. */
static void test_fdinfo_bounded(void **state)
{
	char text[8192] = "drm-driver:\ti915\ndrm-client-id:\t1\n";
	struct drm_fdinfo fi;

	(void)state;
	for (int i = 0; i < 3 * DRM_FDINFO_MAX_ENGINES; i++) {
		char line[64];

		snprintf(line, sizeof(line), "drm-engine-e%d:\t%d ns\n", i, i);
		strcat(text, line);
	}
	strcat(text, "drm-engine-averyveryverylongenginename:\t1 ns\n");
	assert_int_equal(drm_fdinfo_parse(text, &fi), 0);
	assert_int_equal(fi.n_engines, DRM_FDINFO_MAX_ENGINES);
	assert_string_equal(fi.engines[DRM_FDINFO_MAX_ENGINES - 1].name, "e15");
	assert_true(fi.engines[DRM_FDINFO_MAX_ENGINES - 1].ns == 15);
}

/* ---- devices and energy ---- */

struct drm_env {
	char *sysfs, *procfs;
	struct kepler_config cfg;
	struct gpu_backend *b;
	struct gpu_reading out[8];
	char err[512];
};

/* A copy of the named fixture trees merged into one sysfs, and an empty procfs. */
static void env_open(struct drm_env *e, const char *const *trees, size_t n, int want)
{
	char cmd[PATH_MAX * 2 + 64];
	int r;

	memset(e, 0, sizeof(*e));
	e->sysfs = fixture_copy(n ? trees[0] : NULL);
	assert_non_null(e->sysfs);
	for (size_t i = 1; i < n; i++) {
		snprintf(cmd, sizeof(cmd), "cp -a '%s/sysfs/%s/.' '%s/'", FIXTURES, trees[i],
			 e->sysfs);
		assert_int_equal(system(cmd), 0);
	}
	e->procfs = fixture_copy(NULL);
	assert_non_null(e->procfs);
	fixture_config(&e->cfg, e->sysfs);
	free(e->cfg.host_procfs);
	e->cfg.host_procfs = strdup(e->procfs);
	r = drm_gpu_ops.open(&e->b, &e->cfg, e->err, sizeof(e->err));
	if (r != want)
		fail_msg("open = %d (%s), want %d", r, e->err, want);
}

static void env_close(struct drm_env *e)
{
	if (e->b)
		drm_gpu_ops.close(e->b);
	config_free(&e->cfg);
	fixture_remove(e->sysfs);
	fixture_remove(e->procfs);
}

static int env_read(struct drm_env *e, uint64_t now_ns, const uint32_t *pids, size_t n)
{
	struct gpu_read_input in = {.now_ns = now_ns, .pids = pids, .n_pids = n};

	e->err[0] = '\0';
	assert_true(drm_gpu_ops.count(e->b) <= ARRAY_SIZE(e->out));
	return drm_gpu_ops.read(e->b, &in, e->out, e->err, sizeof(e->err));
}

static void assert_info(const struct gpu_info *g, const char *uuid, const char *name,
			const char *vendor, const char *energy_source)
{
	assert_non_null(g);
	assert_string_equal(g->uuid, uuid);
	assert_string_equal(g->pci, uuid + strlen("pci-"));
	assert_string_equal(g->name, name);
	assert_string_equal(g->vendor, vendor);
	assert_string_equal(g->backend, "drm");
	assert_string_equal(g->energy_source, energy_source);
	assert_string_equal(g->usage_source, "engine_time");
}

#define I915_HWMON "devices/pci0000:00/0000:00:02.0/hwmon/"

/* The card's own hwmon, never the per-GT ones; a decrease is a reset. */
static void test_i915(void **state)
{
	static const char *const trees[] = {"gpu-i915"};
	struct drm_env e;
	char want[1024];

	(void)state;
	env_open(&e, trees, 1, 0);
	assert_int_equal(drm_gpu_ops.count(e.b), 1);
	assert_info(drm_gpu_ops.info(e.b, 0), "pci-0000:00:02.0", "i915", "intel",
		    "energy_counter");
	assert_null(drm_gpu_ops.info(e.b, 1));

	assert_int_equal(env_read(&e, 1 * SEC, NULL, 0), 0);
	assert_true(e.out[0].valid && !e.out[0].lost);
	assert_true(e.out[0].energy_uj == 0);
	assert_true(e.out[0].util == -1); /* no interval yet */
	assert_int_equal(e.out[0].n_procs, 0);

	/* The GTs' counters move too: they are parts of the card, not added to it. */
	fixture_write_u64(e.sysfs, I915_HWMON "hwmon6/energy1_input", 123456789000ULL + 7000000);
	fixture_write_u64(e.sysfs, I915_HWMON "hwmon5/energy1_input", 900000000);
	fixture_write_u64(e.sysfs, I915_HWMON "hwmon7/energy1_input", 900000000);
	assert_int_equal(env_read(&e, 2 * SEC, NULL, 0), 0);
	assert_true(e.out[0].energy_uj == 7000000);
	assert_true(e.out[0].util == 0); /* no clients */

	/* Driver reload or suspend: the counter restarts; that step gives nothing. */
	fixture_write_u64(e.sysfs, I915_HWMON "hwmon6/energy1_input", 1000);
	assert_int_equal(env_read(&e, 3 * SEC, NULL, 0), 0);
	assert_true(e.out[0].energy_uj == 7000000);
	fixture_write_u64(e.sysfs, I915_HWMON "hwmon6/energy1_input", 1500);
	assert_int_equal(env_read(&e, 4 * SEC, NULL, 0), 0);
	assert_true(e.out[0].energy_uj == 7000500);

	/* An unreadable counter: not valid, err says which; the next good read carries on. */
	assert_int_equal(fixture_break(e.sysfs, I915_HWMON "hwmon6/energy1_input"), 0);
	assert_int_equal(env_read(&e, 5 * SEC, NULL, 0), -EISDIR);
	assert_false(e.out[0].valid);
	snprintf(want, sizeof(want),
		 "card0 (pci-0000:00:02.0): cannot read %s/class/drm/card0/device/hwmon/"
		 "hwmon6/energy1_input: Is a directory",
		 e.sysfs);
	assert_string_equal(e.err, want);
	fixture_write_u64(e.sysfs, I915_HWMON "hwmon6/energy1_input", 2500);
	assert_int_equal(env_read(&e, 6 * SEC, NULL, 0), 0);
	assert_true(e.out[0].valid);
	assert_true(e.out[0].energy_uj == 7001500);
	env_close(&e);
}

#define AMD0 "devices/pci0000:00/0000:00:01.1/0000:03:00.0/"
#define AMD1 "devices/pci0000:00/0000:00:08.1/0000:07:00.0/"

/*
 * power1_average before power1_input, integrated; the APU's power1_input; a
 * card with only limits and a nouveau card left out; gpu_busy_percent.
 */
static void test_amdgpu(void **state)
{
	static const char *const trees[] = {"gpu-amdgpu"};
	struct drm_env e;

	(void)state;
	env_open(&e, trees, 1, 0);
	assert_int_equal(drm_gpu_ops.count(e.b), 2);
	assert_info(drm_gpu_ops.info(e.b, 0), "pci-0000:03:00.0", "amdgpu AMD Radeon RX 7900 XTX",
		    "amd", "power");
	assert_info(drm_gpu_ops.info(e.b, 1), "pci-0000:07:00.0", "amdgpu", "amd", "power");

	assert_int_equal(env_read(&e, 1 * SEC, NULL, 0), 0);
	assert_true(e.out[0].valid && e.out[1].valid);
	assert_true(e.out[0].energy_uj == 0 && e.out[1].energy_uj == 0);
	assert_true(e.out[0].util == 0.37);
	assert_true(e.out[1].util == -1);

	/* 52 W for 2 s (power1_input's 61 W ignored); 15 W ramping to 25 W over 2 s. */
	fixture_write_u64(e.sysfs, AMD1 "hwmon/hwmon3/power1_input", 25000000);
	fixture_write_u64(e.sysfs, AMD0 "gpu_busy_percent", 100);
	assert_int_equal(env_read(&e, 3 * SEC, NULL, 0), 0);
	assert_true(e.out[0].energy_uj == 104000000);
	assert_true(e.out[1].energy_uj == 40000000);
	assert_true(e.out[0].util == 1.0);
	assert_true(e.out[1].util == 0);
	env_close(&e);
}

#define XE_DEV "devices/pci0000:00/0000:00:01.0/0000:04:00.0/"

/* energy1_input (card), never energy2_input (package); a driver reload; a card gone. */
static void test_xe(void **state)
{
	static const char *const trees[] = {"gpu-xe"};
	char cmd[PATH_MAX * 2 + 64];
	struct drm_env e;

	(void)state;
	env_open(&e, trees, 1, 0);
	assert_int_equal(drm_gpu_ops.count(e.b), 1);
	assert_info(drm_gpu_ops.info(e.b, 0), "pci-0000:04:00.0", "xe", "intel", "energy_counter");
	assert_int_equal(env_read(&e, 1 * SEC, NULL, 0), 0);
	fixture_write_u64(e.sysfs, XE_DEV "hwmon/hwmon9/energy1_input", 5000007);
	fixture_write_u64(e.sysfs, XE_DEV "hwmon/hwmon9/energy2_input", 99000000);
	assert_int_equal(env_read(&e, 2 * SEC, NULL, 0), 0);
	assert_true(e.out[0].energy_uj == 7);

	/* A driver reload: the hwmon comes back numbered anew, its counter from 0. */
	snprintf(cmd, sizeof(cmd), "mv '%s/" XE_DEV "hwmon/hwmon9' '%s/" XE_DEV "hwmon/hwmon12'",
		 e.sysfs, e.sysfs);
	assert_int_equal(system(cmd), 0);
	fixture_write_u64(e.sysfs, XE_DEV "hwmon/hwmon12/energy1_input", 100);
	assert_int_equal(env_read(&e, 3 * SEC, NULL, 0), 0);
	assert_true(e.out[0].valid && e.out[0].energy_uj == 7);
	fixture_write_u64(e.sysfs, XE_DEV "hwmon/hwmon12/energy1_input", 150);
	assert_int_equal(env_read(&e, 4 * SEC, NULL, 0), 0);
	assert_true(e.out[0].energy_uj == 57);

	/* The card gone (unbound, hot-unplugged): lost. */
	snprintf(cmd, sizeof(cmd), "rm '%s/class/drm/card4'", e.sysfs);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(env_read(&e, 5 * SEC, NULL, 0), -ENODEV);
	assert_true(e.out[0].lost && !e.out[0].valid);
	snprintf(cmd, sizeof(cmd), "card4 (pci-0000:04:00.0): %s/class/drm/card4/device is gone",
		 e.sysfs);
	assert_string_equal(e.err, cmd);
	env_close(&e);
}

static void test_no_devices(void **state)
{
	static const char *const trees[] = {"rapl-1socket"};
	struct drm_env e;
	char want[1024];

	(void)state;
	env_open(&e, trees, 1, -ENODEV);
	snprintf(want, sizeof(want),
		 "no amdgpu, i915 or xe card with a hwmon energy or power reading under "
		 "%s/class/drm",
		 e.sysfs);
	assert_string_equal(e.err, want);
	env_close(&e);

	/* No sysfs tree at all. */
	env_open(&e, trees, 0, -ENODEV);
	env_close(&e);
}

/* The GPUs' hwmon devices are no CPU zone or platform meter for the hwmon and acpi meters. */
static void test_not_cpu_meters(void **state)
{
	static const char *const trees[] = {"gpu-amdgpu", "gpu-i915", "gpu-xe"};
	static const struct power_meter_ops *const ops[] = {&hwmon_meter_ops, &acpi_meter_ops};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(trees); i++) {
		for (size_t k = 0; k < ARRAY_SIZE(ops); k++) {
			char *dir = fixture_copy(trees[i]), err[512] = "";
			struct power_meter *m = NULL;
			struct kepler_config cfg;
			int r;

			assert_non_null(dir);
			fixture_config(&cfg, dir);
			r = ops[k]->open(&m, &cfg, err, sizeof(err));
			if (r != -ENODEV)
				fail_msg("%s on %s: %d (%s), want -ENODEV", ops[k]->name, trees[i],
					 r, err);
			config_free(&cfg);
			fixture_remove(dir);
		}
	}
}

/* ---- processes ---- */

static void mkproc(const char *procfs, uint32_t pid)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "%u/fd", pid);
	assert_int_equal(fixture_mkdir(procfs, rel), 0);
	snprintf(rel, sizeof(rel), "%u/fdinfo", pid);
	assert_int_equal(fixture_mkdir(procfs, rel), 0);
}

/* fd n of pid: a link to target, and its fdinfo text. */
static void mkfd(const char *procfs, uint32_t pid, int fd, const char *target, const char *text)
{
	char path[PATH_MAX], rel[64];

	snprintf(path, sizeof(path), "%s/%u/fd/%d", procfs, pid, fd);
	unlink(path);
	assert_int_equal(symlink(target, path), 0);
	snprintf(rel, sizeof(rel), "%u/fdinfo/%d", pid, fd);
	assert_int_equal(fixture_write(procfs, rel, text), 0);
}

static void set_fdinfo(const char *procfs, uint32_t pid, int fd, const char *fmt, ...)
{
	char rel[64], text[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(rel, sizeof(rel), "%u/fdinfo/%d", pid, fd);
	assert_int_equal(fixture_write(procfs, rel, text), 0);
}

#define AMD_CLIENT                                                                                 \
	"drm-driver:\tamdgpu\ndrm-client-id:\t%u\ndrm-pdev:\t0000:03:00.0\n"                       \
	"drm-memory-gtt: \t22528 KiB\n"
#define APU_CLIENT "drm-driver:\tamdgpu\ndrm-client-id:\t11\ndrm-pdev:\t0000:07:00.0\n"
#define I915_CLIENT "drm-driver:\ti915\ndrm-pdev:\t0000:00:02.0\ndrm-client-id:\t9\n"
#define XE_CLIENT "drm-driver:\txe\ndrm-client-id:\t3\ndrm-pdev:\t0000:04:00.0\n"

static const struct gpu_proc_use *find_proc(const struct gpu_reading *r, uint32_t pid)
{
	for (size_t i = 0; i < r->n_procs; i++)
		if (r->procs[i].pid == pid)
			return &r->procs[i];
	return NULL;
}

static uint64_t weight_of(const struct gpu_reading *r, uint32_t pid)
{
	const struct gpu_proc_use *u = find_proc(r, pid);

	return u ? u->weight : 0;
}

static uint64_t weight_sum(const struct gpu_reading *r)
{
	uint64_t s = 0;

	for (size_t i = 0; i < r->n_procs; i++)
		s += r->procs[i].weight;
	return s;
}

/* Devices in the merged tree, in card order. */
enum { DEV_I915, DEV_AMD, DEV_AMD_APU, DEV_XE };

static void test_processes(void **state)
{
	static const char *const trees[] = {"gpu-i915", "gpu-amdgpu", "gpu-xe"};
	static const uint32_t all[] = {100, 150, 200, 300, 400, 500};
	static const uint32_t p500[] = {500};
	struct drm_gpu_stats st;
	const struct gpu_proc_use *u;
	struct drm_env e;
	uint64_t scans;

	(void)state;
	env_open(&e, trees, 3, 0);
	assert_int_equal(drm_gpu_ops.count(e.b), 4);
	assert_string_equal(drm_gpu_ops.info(e.b, DEV_I915)->pci, "0000:00:02.0");
	assert_string_equal(drm_gpu_ops.info(e.b, DEV_AMD)->pci, "0000:03:00.0");
	assert_string_equal(drm_gpu_ops.info(e.b, DEV_AMD_APU)->pci, "0000:07:00.0");
	assert_string_equal(drm_gpu_ops.info(e.b, DEV_XE)->pci, "0000:04:00.0");

	/* 100: client 5 through two fds; 200: the same client (fd passed); 400: client 6. */
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		mkproc(e.procfs, all[i]);
	mkfd(e.procfs, 100, 0, "/dev/null", "pos:\t0\nflags:\t02\n");
	mkfd(e.procfs, 100, 1, "socket:[1234]", "pos:\t0\n");
	mkfd(e.procfs, 100, 3, "/dev/dri/renderD129", "");
	mkfd(e.procfs, 100, 4, "/dev/dri/renderD129", "");
	mkfd(e.procfs, 200, 7, "/dev/dri/renderD129", "");
	mkfd(e.procfs, 400, 3, "/dev/dri/card1", "");
	mkfd(e.procfs, 150, 5, "/dev/dri/renderD128", "");
	mkfd(e.procfs, 300, 6, "/dev/dri/renderD131", "");
	mkfd(e.procfs, 500, 2, "/dev/null", "pos:\t0\n");
	for (int fd = 3; fd <= 4; fd++)
		set_fdinfo(e.procfs, 100, fd, AMD_CLIENT "drm-engine-gfx:\t1000000000 ns\n", 5);
	set_fdinfo(e.procfs, 200, 7, AMD_CLIENT "drm-engine-gfx:\t1000000000 ns\n", 5);
	set_fdinfo(e.procfs, 400, 3, AMD_CLIENT "drm-engine-gfx:\t7 ns\n", 6);
	set_fdinfo(e.procfs, 150, 5,
		   I915_CLIENT "drm-engine-render:\t100 ns\ndrm-engine-video:\t0 ns\n"
			       "drm-engine-capacity-video:\t2\n");
	set_fdinfo(e.procfs, 300, 6,
		   XE_CLIENT "drm-cycles-rcs:\t1000\ndrm-total-cycles-rcs:\t8000000\n");

	/* First read: every client seen for the first time, no use yet. */
	assert_int_equal(env_read(&e, 1 * SEC, all, ARRAY_SIZE(all)), 0);
	for (int d = 0; d < 4; d++)
		assert_int_equal(e.out[d].n_procs, 0);
	drm_gpu_stats(e.b, &st);
	assert_true(st.scans == ARRAY_SIZE(all));
	assert_int_equal(st.pids, 6);
	assert_int_equal(st.holders, 5);
	assert_int_equal(st.clients, 4);

	/*
	 * One second on: client 5 +400 ms gfx and a compute engine appearing at
	 * 100 ms (amdgpu leaves idle engines out: it was 0); client 6 +250 ms;
	 * i915 render +300 ms, video +1.5 s over its two engines; xe rcs a quarter
	 * of the cycles. Only 500 ran: the holders are read all the same.
	 */
	for (int fd = 3; fd <= 4; fd++)
		set_fdinfo(e.procfs, 100, fd,
			   AMD_CLIENT "drm-engine-gfx:\t1400000000 ns\n"
				      "drm-engine-compute:\t100000000 ns\n",
			   5);
	set_fdinfo(e.procfs, 200, 7,
		   AMD_CLIENT "drm-engine-gfx:\t1400000000 ns\ndrm-engine-compute:\t100000000 ns\n",
		   5);
	set_fdinfo(e.procfs, 400, 3, AMD_CLIENT "drm-engine-gfx:\t250000007 ns\n", 6);
	set_fdinfo(e.procfs, 150, 5,
		   I915_CLIENT "drm-engine-render:\t300000100 ns\n"
			       "drm-engine-video:\t1500000000 ns\ndrm-engine-capacity-video:\t2\n");
	set_fdinfo(e.procfs, 300, 6,
		   XE_CLIENT "drm-cycles-rcs:\t2001000\ndrm-total-cycles-rcs:\t16000000\n");
	assert_int_equal(env_read(&e, 2 * SEC, p500, 1), 0);

	/* The shared client once, for the lowest pid; 200 gets nothing of it. */
	assert_int_equal(e.out[DEV_AMD].n_procs, 2);
	assert_true(weight_of(&e.out[DEV_AMD], 100) == 500 * MS);
	assert_null(find_proc(&e.out[DEV_AMD], 200));
	assert_true(weight_of(&e.out[DEV_AMD], 400) == 250 * MS);
	u = find_proc(&e.out[DEV_AMD], 100);
	assert_float_equal(u->util, 0.4, 1e-12);
	/* Conservation: the device's weights are the distinct clients' engine deltas. */
	assert_true(weight_sum(&e.out[DEV_AMD]) == (400 + 100 + 250) * MS);
	assert_true(e.out[DEV_AMD].util == 0.37); /* gpu_busy_percent */

	/* i915: engine ns summed, not divided by capacity; utilisation is. */
	assert_int_equal(e.out[DEV_I915].n_procs, 1);
	assert_true(weight_of(&e.out[DEV_I915], 150) == 1800 * MS);
	assert_float_equal(find_proc(&e.out[DEV_I915], 150)->util, 0.75, 1e-12);
	assert_float_equal(e.out[DEV_I915].util, 0.75, 1e-12);
	/* xe: 2,000,000 of 8,000,000 cycles of a 1 s interval. */
	assert_true(weight_of(&e.out[DEV_XE], 300) == 250 * MS);
	assert_float_equal(e.out[DEV_XE].util, 0.25, 1e-12);
	assert_int_equal(e.out[DEV_AMD_APU].n_procs, 0);
	assert_true(e.out[DEV_AMD_APU].util == 0);

	/*
	 * 400 exits; client 5's gfx goes back (kept at its high mark: nothing),
	 * compute +50 ms. A new process 700 with a DRM fd has not run: unseen.
	 */
	{
		char cmd[PATH_MAX + 32];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s/400'", e.procfs);
		assert_int_equal(system(cmd), 0);
	}
	for (int fd = 3; fd <= 4; fd++)
		set_fdinfo(e.procfs, 100, fd,
			   AMD_CLIENT "drm-engine-gfx:\t1300000000 ns\n"
				      "drm-engine-compute:\t150000000 ns\n",
			   5);
	set_fdinfo(e.procfs, 200, 7,
		   AMD_CLIENT "drm-engine-gfx:\t1300000000 ns\ndrm-engine-compute:\t150000000 ns\n",
		   5);
	mkproc(e.procfs, 700);
	mkfd(e.procfs, 700, 3, "/dev/dri/renderD130", "");
	set_fdinfo(e.procfs, 700, 3, APU_CLIENT "drm-engine-gfx:\t300000000 ns\n");
	drm_gpu_stats(e.b, &st);
	scans = st.scans;
	assert_int_equal(env_read(&e, 3 * SEC, NULL, 0), 0);
	assert_int_equal(e.out[DEV_AMD].n_procs, 1);
	assert_true(weight_of(&e.out[DEV_AMD], 100) == 50 * MS);
	drm_gpu_stats(e.b, &st);
	assert_true(st.scans == scans); /* nobody ran: no directory listed */
	assert_int_equal(st.pids, 5);	/* 400 dropped */
	assert_int_equal(st.holders, 4);
	assert_int_equal(st.clients, 3);

	/* The gfx counter passes its old high mark again: only what lies above counts. */
	for (int fd = 3; fd <= 4; fd++)
		set_fdinfo(e.procfs, 100, fd,
			   AMD_CLIENT "drm-engine-gfx:\t1450000000 ns\n"
				      "drm-engine-compute:\t150000000 ns\n",
			   5);
	set_fdinfo(e.procfs, 200, 7,
		   AMD_CLIENT "drm-engine-gfx:\t1450000000 ns\ndrm-engine-compute:\t150000000 ns\n",
		   5);
	assert_int_equal(env_read(&e, 4 * SEC, NULL, 0), 0);
	assert_true(weight_of(&e.out[DEV_AMD], 100) == 50 * MS);
	assert_int_equal(e.out[DEV_AMD_APU].n_procs, 0);

	/*
	 * 700 runs: scanned, its client on the APU seen (first sight: what it
	 * used before is no use of this interval, for it or the device); the
	 * next read counts it.
	 */
	{
		static const uint32_t p700[] = {700};

		assert_int_equal(env_read(&e, 5 * SEC, p700, 1), 0);
		assert_int_equal(e.out[DEV_AMD_APU].n_procs, 0);
		assert_true(e.out[DEV_AMD_APU].util == 0);
		set_fdinfo(e.procfs, 700, 3, APU_CLIENT "drm-engine-gfx:\t320000000 ns\n");
		assert_int_equal(env_read(&e, 6 * SEC, NULL, 0), 0);
		assert_int_equal(e.out[DEV_AMD_APU].n_procs, 1);
		assert_true(weight_of(&e.out[DEV_AMD_APU], 700) == 20 * MS);
		assert_float_equal(e.out[DEV_AMD_APU].util, 0.02, 1e-12);
	}
	env_close(&e);
}

/*
 * A process that opens a DRM fd after its first scan is found by a rescan
 * while it keeps running: not at once (the cache is used), within
 * DRM_RESCAN_READS reads.
 */
static void test_rescan(void **state)
{
	static const char *const trees[] = {"gpu-xe"};
	static const uint32_t pids[] = {500};
	struct drm_gpu_stats st;
	struct drm_env e;
	int found_at = -1;

	(void)state;
	env_open(&e, trees, 1, 0);
	mkproc(e.procfs, 500);
	mkfd(e.procfs, 500, 0, "/dev/null", "pos:\t0\n");
	assert_int_equal(env_read(&e, 1 * SEC, pids, 1), 0);
	mkfd(e.procfs, 500, 9, "/dev/dri/renderD131",
	     XE_CLIENT "drm-cycles-rcs:\t0\ndrm-total-cycles-rcs:\t1000\n");
	for (int i = 0; i < DRM_RESCAN_READS + 1 && found_at < 0; i++) {
		assert_int_equal(env_read(&e, (2 + (uint64_t)i) * SEC, pids, 1), 0);
		drm_gpu_stats(e.b, &st);
		if (st.holders == 1)
			found_at = i;
	}
	assert_true(found_at > 0);
	assert_true(found_at <= DRM_RESCAN_READS);
	/* Scanned twice in all: when first seen, and the rescan that found the fd. */
	assert_true(st.scans == 2);
	env_close(&e);
}

/*
 * A start among many processes (or a fork storm) scans at most
 * DRM_FIRST_SCANS_MAX_PER_READ new pids a read; the others at their next run.
 */
static void test_first_scans_bounded(void **state)
{
	static const char *const trees[] = {"gpu-xe"};
	enum { N = 2 * DRM_FIRST_SCANS_MAX_PER_READ + 44 };
	static uint32_t pids[N];
	struct drm_gpu_stats st;
	struct drm_env e;

	(void)state;
	env_open(&e, trees, 1, 0);
	for (uint32_t i = 0; i < N; i++) {
		pids[i] = 1000 + i;
		mkproc(e.procfs, pids[i]);
	}
	for (uint64_t k = 1; k <= 3; k++) {
		size_t want = k * DRM_FIRST_SCANS_MAX_PER_READ < N ? k * DRM_FIRST_SCANS_MAX_PER_READ : N;

		assert_int_equal(env_read(&e, k * SEC, pids, N), 0);
		drm_gpu_stats(e.b, &st);
		assert_int_equal(st.pids, want);
		if (k == 1)
			assert_int_equal(st.scans, want);
	}
	env_close(&e);
}

/*
 * On a real procfs that counts a process's fds (Linux 6.2+), a rescan of a
 * process that opened nothing is one stat(), not a listing; one that opened an
 * fd is listed again. Where procfs does not count, every rescan lists.
 */
static void test_rescan_fd_count(void **state)
{
	static const char *const trees[] = {"gpu-xe"};
	uint32_t pid = (uint32_t)getpid();
	struct drm_gpu_stats st;
	struct stat self;
	struct drm_env e;
	bool counts;
	int fd;

	(void)state;
	assert_int_equal(stat("/proc/self/fd", &self), 0);
	counts = self.st_size > 0;
	print_message("procfs %s open fds\n", counts ? "counts" : "does not count");
	env_open(&e, trees, 1, 0);
	free(e.cfg.host_procfs);
	e.cfg.host_procfs = strdup("/proc");
	drm_gpu_ops.close(e.b);
	assert_int_equal(drm_gpu_ops.open(&e.b, &e.cfg, e.err, sizeof(e.err)), 0);
	for (uint64_t k = 1; k <= 2 * DRM_RESCAN_READS + 1; k++)
		assert_int_equal(env_read(&e, k * SEC, &pid, 1), 0);
	drm_gpu_stats(e.b, &st);
	/* The first scan, then two rescans due: skipped, or listed. */
	assert_int_equal(st.scans, counts ? 1 : 3);
	assert_int_equal(st.fd_count_hits, counts ? 2 : 0);
	fd = dup(0);
	assert_true(fd >= 0);
	for (uint64_t k = 2 * DRM_RESCAN_READS + 2; k <= 3 * DRM_RESCAN_READS + 1; k++)
		assert_int_equal(env_read(&e, k * SEC, &pid, 1), 0);
	close(fd);
	drm_gpu_stats(e.b, &st);
	assert_int_equal(st.scans, counts ? 2 : 4); /* one more fd: listed */
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fdinfo_parse),
	    cmocka_unit_test(test_fdinfo_bounded),
	    cmocka_unit_test(test_i915),
	    cmocka_unit_test(test_amdgpu),
	    cmocka_unit_test(test_xe),
	    cmocka_unit_test(test_no_devices),
	    cmocka_unit_test(test_not_cpu_meters),
	    cmocka_unit_test(test_processes),
	    cmocka_unit_test(test_rescan),
	    cmocka_unit_test(test_first_scans_bounded),
	    cmocka_unit_test(test_rescan_fd_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
