// SPDX-License-Identifier: Apache-2.0
/*
 * The nvml GPU backend against the stand-in NVML the suite builds
 * (tests/fake-nvml), loaded through the backend's own dlopen, and the pure
 * parts it is built on from tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "power/gpu_backend.h"
#include "power/gpu_internal.h"
#include "util/util.h"

#define SEC 1000000000ULL
#define MAX_DEVS 4

static char script_dir[64];
static char script_path[128];

/* Replace the fake's script as a running agent would see it change: write, then rename. */
static void script(const char *text)
{
	char tmp[160];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.new", script_path);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, script_path), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(script_dir, sizeof(script_dir), "/tmp/kepler-nvml-XXXXXX");
	if (!mkdtemp(script_dir))
		return -1;
	snprintf(script_path, sizeof(script_path), "%s/script", script_dir);
	return setenv("FAKE_NVML_SCRIPT", script_path, 1);
}

static int teardown(void **state)
{
	(void)state;
	unlink(script_path);
	rmdir(script_dir);
	return 0;
}

static int open_lib(const char *lib, struct gpu_backend **b, char *err, size_t errsz)
{
	struct kepler_config cfg = {.nvml_library = (char *)lib};

	err[0] = '\0';
	return nvml_gpu_ops.open(b, &cfg, err, errsz);
}

static struct gpu_backend *open_fake(void)
{
	struct gpu_backend *b = NULL;
	char err[256];
	int r = open_lib(FAKE_NVML, &b, err, sizeof(err));

	if (r < 0)
		fail_msg("open: %d %s", r, err);
	return b;
}

/* Read every device at now_ns; returns what read returned, err in err. */
static int rd(struct gpu_backend *b, uint64_t now_ns, struct gpu_reading *out, char *err,
	      size_t errsz)
{
	struct gpu_read_input in = {.now_ns = now_ns};

	err[0] = '\0';
	assert_true(nvml_gpu_ops.count(b) <= MAX_DEVS);
	return nvml_gpu_ops.read(b, &in, out, err, errsz);
}

static const struct gpu_proc_use *find(const struct gpu_reading *r, uint32_t pid)
{
	for (size_t i = 0; i < r->n_procs; i++)
		if (r->procs[i].pid == pid)
			return &r->procs[i];
	return NULL;
}

/* Longer than the fake's sample period (sample_us=1000): new samples exist. */
static void next_period(void)
{
	usleep(3000);
}

/* ---- pure parts ---- */

static void test_fold_samples(void **state)
{
	static const struct {
		nvmlProcessUtilizationSample_t s[6];
		size_t n;
		uint64_t last_in, last_out;
		struct gpu_proc_use want[4];
		size_t n_want;
	} t[] = {
	    /* Nothing: last seen stays. */
	    {{{0}}, 0, 50, 50, {{0}}, 0},
	    /* Two pids, two samples each: sums and means. */
	    {{{.pid = 7, .timeStamp = 100, .smUtil = 30},
	      {.pid = 9, .timeStamp = 100, .smUtil = 10},
	      {.pid = 7, .timeStamp = 200, .smUtil = 50},
	      {.pid = 9, .timeStamp = 200, .smUtil = 20}},
	     4,
	     0,
	     200,
	     {{7, 80, 0.4}, {9, 30, 0.15}},
	     2},
	    /* Samples at or before last seen are not new. */
	    {{{.pid = 7, .timeStamp = 100, .smUtil = 30},
	      {.pid = 7, .timeStamp = 150, .smUtil = 90},
	      {.pid = 8, .timeStamp = 151, .smUtil = 40}},
	     3,
	     150,
	     151,
	     {{8, 40, 0.4}},
	     1},
	    /* smUtil above 100 is clamped; pid 0 left out; out of order timestamps. */
	    {{{.pid = 5, .timeStamp = 300, .smUtil = 250},
	      {.pid = 0, .timeStamp = 400, .smUtil = 50},
	      {.pid = 5, .timeStamp = 200, .smUtil = 0}},
	     3,
	     10,
	     400,
	     {{5, 100, 0.5}},
	     1},
	    /* Only old samples: last seen does not go back. */
	    {{{.pid = 5, .timeStamp = 30, .smUtil = 50}}, 1, 40, 40, {{0}}, 0},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct gpu_proc_use use[6];
		uint64_t last = t[i].last_in;
		size_t n = nvml_fold_samples(t[i].s, t[i].n, &last, use);

		if (n != t[i].n_want || last != t[i].last_out)
			fail_msg("case %zu: %zu procs, last %llu; want %zu, %llu", i, n,
				 (unsigned long long)last, t[i].n_want,
				 (unsigned long long)t[i].last_out);
		for (size_t k = 0; k < n; k++)
			if (use[k].pid != t[i].want[k].pid ||
			    use[k].weight != t[i].want[k].weight ||
			    use[k].util != t[i].want[k].util)
				fail_msg("case %zu proc %zu: pid %u weight %llu util %g", i, k,
					 use[k].pid, (unsigned long long)use[k].weight,
					 use[k].util);
	}
}

static void test_add_procs(void **state)
{
	static const nvmlProcessInfo_t list[] = {
	    {.pid = 3}, {.pid = 4}, {.pid = 0}, {.pid = 3}, {.pid = 5}};
	struct gpu_proc_use use[8] = {{.pid = 4, .weight = 70, .util = 0.7}};
	size_t n;

	(void)state;
	/* 4 is there already (keeps its figures), 3 repeats, 0 is no process. */
	n = nvml_add_procs(use, 1, list, ARRAY_SIZE(list), 1, -1);
	assert_int_equal(n, 3);
	assert_int_equal(use[0].pid, 4);
	assert_int_equal(use[0].weight, 70);
	assert_int_equal(use[1].pid, 3);
	assert_int_equal(use[1].weight, 1);
	assert_true(use[1].util < 0);
	assert_int_equal(use[2].pid, 5);
	/* The same list again adds nothing. */
	assert_int_equal(nvml_add_procs(use, n, list, ARRAY_SIZE(list), 1, -1), 3);
	assert_int_equal(nvml_add_procs(use, 0, list, 0, 1, -1), 0);
}

static void test_energy_step(void **state)
{
	static const struct {
		uint64_t mj, added, total;
	} t[] = {
	    {1000, 0, 0},	    /* baseline */
	    {1500, 500000, 500000}, /* +500 mJ */
	    {1500, 0, 500000},
	    {200, 0, 500000}, /* the driver reloaded: new baseline */
	    {300, 100000, 600000},
	    {UINT64_MAX, UINT64_MAX - 600000, UINT64_MAX}, /* saturates */
	    {UINT64_MAX, 0, UINT64_MAX},
	};
	struct nvml_energy e = {0};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		uint64_t added = nvml_energy_step(&e, t[i].mj);

		if (added != t[i].added || e.uj != t[i].total)
			fail_msg("step %zu: added %llu total %llu", i, (unsigned long long)added,
				 (unsigned long long)e.uj);
	}
}

static void test_format_pci(void **state)
{
	static const struct {
		const char *in, *out;
	} t[] = {
	    {"00000000:3B:00.0", "0000:3b:00.0"},
	    {"00000001:c1:1f.7", "0001:c1:1f.7"},
	    {"0000:03:00.0", "0000:03:00.0"},
	    {"00000000:3B:00", NULL},
	    {"00000000:3B:20.0", NULL}, /* device above 31 */
	    {"00000000:3B:00.8", NULL},
	    {"000000000:3B:00.0", NULL}, /* a domain of nine digits */
	    {"00000000:13B:00.0", NULL},
	    {"00000000:3B:00.0 ", NULL},
	    {"0x0:3B:00.0", NULL},
	    {"", NULL},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char out[32] = "untouched";
		int r = nvml_format_pci(t[i].in, out, sizeof(out));

		if (t[i].out ? r != 0 || strcmp(out, t[i].out) : r != -EINVAL)
			fail_msg("\"%s\": %d \"%s\"", t[i].in, r, out);
	}
}

/* ---- against the fake ---- */

static const char two_gpus[] =
    "nvml sample_us=1000\n"
    "gpu uuid=GPU-aaaa name=\"Fake H100\" pci=00000000:3B:00.0 energy_mj=1000 power_mw=300000 "
    "util=40\n"
    "gpu uuid=GPU-bbbb name=\"Fake A100\" energy_mj=5000 util=90\n"
    "proc gpu=0 pid=100 sm=60\n"
    "proc gpu=0 pid=200 sm=20\n"
    "proc gpu=1 pid=200 sm=50 type=both\n"
    "proc gpu=1 pid=300 sm=30 type=graphics\n"
    "proc gpu=0 pid=400\n";

static void test_two_gpus(void **state)
{
	struct gpu_reading out[MAX_DEVS];
	const struct gpu_proc_use *p1, *p2, *p4;
	const struct gpu_info *info;
	struct gpu_backend *b;
	char err[256];

	(void)state;
	script(two_gpus);
	b = open_fake();
	assert_int_equal(nvml_gpu_ops.count(b), 2);
	info = nvml_gpu_ops.info(b, 0);
	assert_string_equal(info->uuid, "GPU-aaaa");
	assert_string_equal(info->name, "Fake H100");
	assert_string_equal(info->pci, "0000:3b:00.0");
	assert_string_equal(info->vendor, "nvidia");
	assert_string_equal(info->backend, "nvml");
	assert_string_equal(info->energy_source, "energy_counter");
	assert_string_equal(info->usage_source, "sm_utilization");
	info = nvml_gpu_ops.info(b, 1);
	assert_string_equal(info->uuid, "GPU-bbbb");
	assert_string_equal(info->pci, "");
	assert_null(nvml_gpu_ops.info(b, 2));

	/* The counters moved by 500 and 2000 mJ since discovery. */
	script("nvml sample_us=1000\n"
	       "gpu uuid=GPU-aaaa name=\"Fake H100\" energy_mj=1500 util=40\n"
	       "gpu uuid=GPU-bbbb energy_mj=7000 util=90\n"
	       "proc gpu=0 pid=100 sm=60\n"
	       "proc gpu=0 pid=200 sm=20\n"
	       "proc gpu=1 pid=200 sm=50 type=both\n"
	       "proc gpu=1 pid=300 sm=30 type=graphics\n"
	       "proc gpu=0 pid=400\n");
	assert_int_equal(rd(b, 1 * SEC, out, err, sizeof(err)), 0);
	assert_true(out[0].valid && !out[0].lost && out[1].valid);
	assert_int_equal(out[0].energy_uj, 500000);
	assert_int_equal(out[1].energy_uj, 2000000);
	assert_true(out[0].util == 0.4 && out[1].util == 0.9);

	/* GPU 0: 100 and 200 sampled alike, 60:20; 400 runs without samples. */
	assert_int_equal(out[0].n_procs, 3);
	p1 = find(&out[0], 100);
	p2 = find(&out[0], 200);
	p4 = find(&out[0], 400);
	assert_true(p1 && p2 && p4);
	assert_true(p1->weight > 0 && p1->weight % 60 == 0);
	assert_int_equal(p1->weight * 20, p2->weight * 60);
	assert_true(p1->util == 0.6 && p2->util == 0.2);
	assert_true(p4->weight == 0 && p4->util == 0);
	/* GPU 1: 200 (compute and graphics, listed once) and 300 (graphics). */
	assert_int_equal(out[1].n_procs, 2);
	p2 = find(&out[1], 200);
	p1 = find(&out[1], 300);
	assert_true(p1 && p2);
	assert_int_equal(p2->weight * 30, p1->weight * 50);
	assert_true(p2->util == 0.5 && p1->util == 0.3);

	/* New figures: only the samples since the last read count. */
	script("nvml sample_us=1000\n"
	       "gpu uuid=GPU-aaaa energy_mj=1800\n"
	       "gpu uuid=GPU-bbbb energy_mj=7000\n"
	       "proc gpu=0 pid=100 sm=10\n"
	       "proc gpu=0 pid=200 sm=90\n"
	       "proc gpu=1 pid=300 sm=30 type=graphics\n");
	next_period();
	assert_int_equal(rd(b, 2 * SEC, out, err, sizeof(err)), 0);
	assert_int_equal(out[0].energy_uj, 800000);
	assert_int_equal(out[1].energy_uj, 2000000);
	p1 = find(&out[0], 100);
	p2 = find(&out[0], 200);
	assert_true(p1 && p2);
	assert_true(p1->util == 0.1 && p2->util == 0.9);
	assert_int_equal(p1->weight * 90, p2->weight * 10);
	assert_null(find(&out[0], 400));
	/* 200 no longer runs on GPU 1. */
	assert_int_equal(out[1].n_procs, 1);
	assert_int_equal(out[1].procs[0].pid, 300);
	nvml_gpu_ops.close(b);
}

static void test_power_integrated(void **state)
{
	struct gpu_reading out[MAX_DEVS];
	struct gpu_backend *b;
	char err[256];

	(void)state;
	script("gpu uuid=GPU-cccc energy=unsupported energy_mj=999 power_mw=250000\n");
	b = open_fake();
	assert_string_equal(nvml_gpu_ops.info(b, 0)->energy_source, "power");
	assert_int_equal(rd(b, 1 * SEC, out, err, sizeof(err)), 0);
	assert_true(out[0].valid);
	assert_int_equal(out[0].energy_uj, 0);
	/* 250 W for 2 s. */
	assert_int_equal(rd(b, 3 * SEC, out, err, sizeof(err)), 0);
	assert_int_equal(out[0].energy_uj, 500000000);
	/* Then 350 W: the trapezoid gives 300 J over the next second. */
	script("gpu uuid=GPU-cccc energy=unsupported power_mw=350000\n");
	assert_int_equal(rd(b, 4 * SEC, out, err, sizeof(err)), 0);
	assert_int_equal(out[0].energy_uj, 800000000);
	nvml_gpu_ops.close(b);

	/* Neither counter nor power: no device to offer. */
	script("gpu uuid=GPU-cccc energy=unsupported power=unsupported\n");
	assert_int_equal(open_lib(FAKE_NVML, &b, err, sizeof(err)), -ENODEV);
	assert_non_null(strstr(err, "nvmlDeviceGetPowerUsage: Not Supported"));
}

/*
 * The counter the fake grows at power_mw from since_ns: what an agent sees in
 * real time is power x time.
 */
static void test_energy_ramp(void **state)
{
	struct gpu_reading out[MAX_DEVS];
	struct timespec t0, t1;
	struct gpu_backend *b;
	char text[256], err[256];
	uint64_t ns0, ns1;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ns0 = (uint64_t)t0.tv_sec * SEC + (uint64_t)t0.tv_nsec;
	snprintf(text, sizeof(text),
		 "gpu uuid=GPU-dddd energy_mj=0 since_ns=%llu power_mw=100000\n",
		 (unsigned long long)ns0);
	script(text);
	b = open_fake();
	usleep(20000);
	assert_int_equal(rd(b, 1 * SEC, out, err, sizeof(err)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns1 = (uint64_t)t1.tv_sec * SEC + (uint64_t)t1.tv_nsec;
	/* 100 W since open, which was after ns0 and before ns1; at least the 20 ms slept. */
	assert_true(out[0].energy_uj >= 100 * 20000 - 1000);
	assert_true(out[0].energy_uj <= (ns1 - ns0) / 10 + 1000);
	nvml_gpu_ops.close(b);
}

static void test_insufficient_size(void **state)
{
	struct gpu_reading out[MAX_DEVS];
	struct gpu_backend *b;
	char err[256];

	(void)state;
	/* The first six answers that state a needed count are one short. */
	script("nvml short=6\n"
	       "gpu uuid=GPU-aaaa energy_mj=10\n"
	       "proc gpu=0 pid=11 sm=10\n"
	       "proc gpu=0 pid=12 sm=20\n"
	       "proc gpu=0 pid=13 sm=30\n"
	       "proc gpu=0 pid=14 type=graphics\n"
	       "proc gpu=0 pid=15 type=graphics\n"
	       "proc gpu=0 pid=16\n");
	b = open_fake();
	assert_int_equal(rd(b, 1 * SEC, out, err, sizeof(err)), 0);
	assert_int_equal(out[0].n_procs, 6);
	for (uint32_t pid = 11; pid <= 13; pid++) {
		const struct gpu_proc_use *p = find(&out[0], pid);

		assert_non_null(p);
		assert_true(p->util == (pid - 10) / 10.0);
	}
	assert_int_equal(find(&out[0], 12)->weight, 2 * find(&out[0], 11)->weight);
	assert_non_null(find(&out[0], 14));
	assert_non_null(find(&out[0], 15));
	assert_non_null(find(&out[0], 16));
	nvml_gpu_ops.close(b);
}

static void test_gpu_lost(void **state)
{
	struct gpu_reading out[MAX_DEVS];
	struct gpu_backend *b;
	char err[256];

	(void)state;
	script("gpu uuid=GPU-aaaa energy_mj=100\n"
	       "gpu uuid=GPU-bbbb energy_mj=100\n");
	b = open_fake();
	script("gpu uuid=GPU-aaaa energy_mj=200\n"
	       "gpu uuid=GPU-bbbb energy_mj=300\n");
	assert_int_equal(rd(b, 1 * SEC, out, err, sizeof(err)), 0);
	assert_int_equal(out[1].energy_uj, 200000);

	/* GPU 1 falls off the bus: an error once, GPU 0 goes on. */
	script("gpu uuid=GPU-aaaa energy_mj=400\n"
	       "gpu uuid=GPU-bbbb energy_mj=900 lost=1\n");
	assert_int_equal(rd(b, 2 * SEC, out, err, sizeof(err)), -ENODEV);
	assert_string_equal(err,
			    "GPU 1 (GPU-bbbb): nvmlDeviceGetTotalEnergyConsumption: GPU is lost");
	assert_true(out[0].valid && !out[0].lost);
	assert_int_equal(out[0].energy_uj, 300000);
	assert_true(!out[1].valid && out[1].lost);
	assert_int_equal(out[1].energy_uj, 200000);
	assert_int_equal(out[1].n_procs, 0);

	/* Later reads: still lost, no new error, its energy where it stopped. */
	script("gpu uuid=GPU-aaaa energy_mj=500\n"
	       "gpu uuid=GPU-bbbb energy_mj=1000\n");
	assert_int_equal(rd(b, 3 * SEC, out, err, sizeof(err)), 0);
	assert_true(out[0].valid);
	assert_int_equal(out[0].energy_uj, 400000);
	assert_true(!out[1].valid && out[1].lost);
	assert_int_equal(out[1].energy_uj, 200000);

	/* A driver restart finds it again: a new baseline, no jump. */
	script("nvml epoch=1\n"
	       "gpu uuid=GPU-aaaa energy_mj=10\n"
	       "gpu uuid=GPU-bbbb energy_mj=20\n");
	assert_int_equal(rd(b, 4 * SEC, out, err, sizeof(err)), 0);
	assert_true(out[0].valid && out[1].valid && !out[1].lost);
	assert_int_equal(out[0].energy_uj, 400000);
	assert_int_equal(out[1].energy_uj, 200000);
	script("nvml epoch=1\n"
	       "gpu uuid=GPU-aaaa energy_mj=15\n"
	       "gpu uuid=GPU-bbbb energy_mj=30\n");
	assert_int_equal(rd(b, 5 * SEC, out, err, sizeof(err)), 0);
	assert_int_equal(out[0].energy_uj, 405000);
	assert_int_equal(out[1].energy_uj, 210000);
	nvml_gpu_ops.close(b);
}

static void test_driver_restart(void **state)
{
	struct gpu_reading out[MAX_DEVS];
	struct gpu_backend *b;
	char err[256];

	(void)state;
	script("gpu uuid=GPU-aaaa energy_mj=1000\n"
	       "gpu uuid=GPU-bbbb energy=unsupported power_mw=100000\n");
	b = open_fake();
	assert_int_equal(rd(b, 1 * SEC, out, err, sizeof(err)), 0);
	script("gpu uuid=GPU-aaaa energy_mj=3000\n"
	       "gpu uuid=GPU-bbbb energy=unsupported power_mw=100000\n");
	assert_int_equal(rd(b, 2 * SEC, out, err, sizeof(err)), 0);
	assert_int_equal(out[0].energy_uj, 2000000);
	assert_int_equal(out[1].energy_uj, 100000000);

	/* The driver unloads: the restart fails, every device drops out, once. */
	script("nvml init=driver_not_loaded\n");
	assert_int_equal(rd(b, 3 * SEC, out, err, sizeof(err)), -ENODEV);
	assert_string_equal(err, "GPU 0 (GPU-aaaa): nvmlDeviceGetTotalEnergyConsumption: "
				 "Uninitialized; after restarting NVML: Driver Not Loaded");
	assert_true(!out[0].valid && out[0].lost && !out[1].valid && out[1].lost);
	assert_int_equal(out[0].energy_uj, 2000000);
	assert_int_equal(out[1].energy_uj, 100000000);
	assert_int_equal(rd(b, 4 * SEC, out, err, sizeof(err)), 0);
	assert_true(out[0].lost && out[1].lost);

	/* It is back, devices in another order, the counter restarted. */
	script("nvml epoch=2\n"
	       "gpu uuid=GPU-bbbb energy=unsupported power_mw=200000\n"
	       "gpu uuid=GPU-aaaa energy_mj=40\n");
	assert_int_equal(rd(b, 5 * SEC, out, err, sizeof(err)), 0);
	assert_true(out[0].valid && out[1].valid);
	assert_int_equal(out[0].energy_uj, 2000000);
	assert_int_equal(out[1].energy_uj, 100000000);
	script("nvml epoch=2\n"
	       "gpu uuid=GPU-bbbb energy=unsupported power_mw=200000\n"
	       "gpu uuid=GPU-aaaa energy_mj=90\n");
	assert_int_equal(rd(b, 6 * SEC, out, err, sizeof(err)), 0);
	assert_int_equal(out[0].energy_uj, 2050000);
	assert_int_equal(out[1].energy_uj, 300000000);

	/*
	 * A restart between two reads (UNINITIALIZED, then init works): no error,
	 * and a new baseline even where the new counter is above the old one.
	 */
	script("nvml epoch=3\n"
	       "gpu uuid=GPU-aaaa energy_mj=500\n"
	       "gpu uuid=GPU-bbbb energy=unsupported power_mw=200000\n");
	assert_int_equal(rd(b, 7 * SEC, out, err, sizeof(err)), 0);
	assert_true(out[0].valid && out[1].valid);
	assert_int_equal(out[0].energy_uj, 2050000);
	assert_int_equal(out[1].energy_uj, 300000000);
	script("nvml epoch=3\n"
	       "gpu uuid=GPU-aaaa energy_mj=501\n"
	       "gpu uuid=GPU-bbbb energy=unsupported power_mw=200000\n");
	assert_int_equal(rd(b, 8 * SEC, out, err, sizeof(err)), 0);
	assert_int_equal(out[0].energy_uj, 2051000);
	assert_int_equal(out[1].energy_uj, 500000000);
	nvml_gpu_ops.close(b);
}

static void test_library_missing(void **state)
{
	static const char *const libs[] = {"/nonexistent/libnvidia-ml.so.1",
					   "libnvidia-ml-not-here.so.1"};
	struct gpu_backend *b = NULL;
	char err[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(libs); i++) {
		assert_int_equal(open_lib(libs[i], &b, err, sizeof(err)), -ENODEV);
		assert_non_null(strstr(err, libs[i]));
		assert_non_null(strstr(err, "cannot open shared object file"));
		assert_null(strchr(err, '\n'));
	}
	assert_null(b);
}

/* What open says when there is nothing to offer. */
static void test_open_fails(void **state)
{
	struct gpu_backend *b = NULL;
	char err[256];

	(void)state;
	script("nvml init=driver_not_loaded\ngpu uuid=GPU-aaaa\n");
	assert_int_equal(open_lib(FAKE_NVML, &b, err, sizeof(err)), -ENODEV);
	assert_string_equal(err, "nvmlInit_v2: Driver Not Loaded");
	/* A device lost before discovery: left out, the only one. */
	script("gpu uuid=GPU-aaaa lost=1\n");
	assert_int_equal(open_lib(FAKE_NVML, &b, err, sizeof(err)), -ENODEV);
	assert_string_equal(err, "GPU 0: nvmlDeviceGetHandleByIndex_v2: GPU is lost");
	/* One of two: the other is offered. */
	script("gpu uuid=GPU-aaaa lost=1\ngpu uuid=GPU-bbbb\n");
	assert_int_equal(open_lib(FAKE_NVML, &b, err, sizeof(err)), 0);
	assert_int_equal(nvml_gpu_ops.count(b), 1);
	assert_string_equal(nvml_gpu_ops.info(b, 0)->uuid, "GPU-bbbb");
	nvml_gpu_ops.close(b);
	b = NULL;
	script("# no GPUs\n");
	assert_int_equal(open_lib(FAKE_NVML, &b, err, sizeof(err)), -ENODEV);
	assert_string_equal(err, "no NVIDIA GPUs");
	/* A library that is not NVML. */
	assert_int_equal(open_lib("libc.so.6", &b, err, sizeof(err)), -ENODEV);
	assert_string_equal(err, "libc.so.6 lacks nvmlInit_v2: NVIDIA driver too old");
	assert_null(b);
}

static void test_old_driver(void **state)
{
	struct gpu_reading out[MAX_DEVS];
	const struct gpu_proc_use *p;
	struct gpu_backend *b = NULL;
	char err[256];

	(void)state;
	script("gpu uuid=GPU-eeee energy_mj=100 power_mw=50000\n"
	       "proc gpu=0 pid=21 sm=90 type=both\n"
	       "proc gpu=0 pid=22 sm=10 type=graphics\n");
	if (open_lib(FAKE_NVML_OLD_LIB, &b, err, sizeof(err)) < 0)
		fail_msg("open: %s", err);
	assert_string_equal(nvml_gpu_ops.info(b, 0)->energy_source, "power");
	assert_string_equal(nvml_gpu_ops.info(b, 0)->usage_source, "processes");
	assert_int_equal(rd(b, 1 * SEC, out, err, sizeof(err)), 0);
	assert_int_equal(rd(b, 2 * SEC, out, err, sizeof(err)), 0);
	assert_int_equal(out[0].energy_uj, 50000000);
	/* The _v2 lists, each process once, an even split. */
	assert_int_equal(out[0].n_procs, 2);
	for (uint32_t pid = 21; pid <= 22; pid++) {
		p = find(&out[0], pid);
		assert_non_null(p);
		assert_int_equal(p->weight, 1);
		assert_true(p->util < 0);
	}
	nvml_gpu_ops.close(b);
}

static void test_mig(void **state)
{
	struct gpu_reading out[MAX_DEVS];
	struct gpu_backend *b;
	char err[256];

	(void)state;
	script("gpu uuid=GPU-ffff energy_mj=100 mig=1\n"
	       "proc gpu=0 pid=31 sm=70 gi=1 ci=0\n"
	       "proc gpu=0 pid=32 sm=20 gi=2 ci=0\n"
	       "proc gpu=0 pid=33 sm=20 gi=2 ci=1\n");
	b = open_fake();
	assert_int_equal(nvml_gpu_ops.count(b), 1);
	assert_string_equal(nvml_gpu_ops.info(b, 0)->energy_source, "energy_counter");
	assert_string_equal(nvml_gpu_ops.info(b, 0)->usage_source, "processes");
	script("gpu uuid=GPU-ffff energy_mj=400 mig=1\n"
	       "proc gpu=0 pid=31 sm=70 gi=1 ci=0\n"
	       "proc gpu=0 pid=32 sm=20 gi=2 ci=0\n"
	       "proc gpu=0 pid=33 sm=20 gi=2 ci=1\n");
	assert_int_equal(rd(b, 1 * SEC, out, err, sizeof(err)), 0);
	assert_int_equal(out[0].energy_uj, 300000);
	assert_int_equal(out[0].n_procs, 3);
	for (uint32_t pid = 31; pid <= 33; pid++) {
		assert_non_null(find(&out[0], pid));
		assert_int_equal(find(&out[0], pid)->weight, 1);
	}
	nvml_gpu_ops.close(b);
}

/*
 * Reads in a row, with new samples each time, keep working: the sample buffer
 * grows to what the driver needs, not on every read (it once doubled each read,
 * until memory ran out).
 */
static void test_many_reads(void **state)
{
	struct gpu_reading out[MAX_DEVS];
	struct gpu_backend *b;
	char err[256];

	(void)state;
	script("nvml sample_us=1\ngpu uuid=GPU-aaaa energy_mj=1\nproc gpu=0 pid=100 sm=60\n");
	b = open_fake();
	for (int i = 1; i <= 100; i++) {
		next_period();
		assert_int_equal(rd(b, (uint64_t)i * SEC, out, err, sizeof(err)), 0);
		assert_true(out[0].valid);
		assert_int_equal(out[0].n_procs, 1);
	}
	nvml_gpu_ops.close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fold_samples),    cmocka_unit_test(test_add_procs),
	    cmocka_unit_test(test_energy_step),	    cmocka_unit_test(test_format_pci),
	    cmocka_unit_test(test_two_gpus),	    cmocka_unit_test(test_power_integrated),
	    cmocka_unit_test(test_energy_ramp),	    cmocka_unit_test(test_insufficient_size),
	    cmocka_unit_test(test_gpu_lost),	    cmocka_unit_test(test_driver_restart),
	    cmocka_unit_test(test_library_missing), cmocka_unit_test(test_open_fails),
	    cmocka_unit_test(test_old_driver),	    cmocka_unit_test(test_mig),
	    cmocka_unit_test(test_many_reads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
