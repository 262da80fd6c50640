// SPDX-License-Identifier: Apache-2.0
/*
 * The attribution core: shares per zone, the shown set, folding into "other",
 * retiring series; and the retention rule. Every test checks conservation:
 * the shown series plus the "other" accounts hold exactly the active energy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "attribution/attribute.h"
#include "attribution/retention.h"
#include "util/util.h"

#define MAXP 64

struct world {
	struct attributor *a;
	struct attr_proc p[MAXP];
	struct attr_proc *list[MAXP];
	struct account fold[3]; /* three groups' "other" */
	size_t n;
	uint64_t active_total[ZONE_MAX];
	uint64_t platform_total;
};

static void world_init(struct world *w, size_t n, uint32_t max_shown)
{
	memset(w, 0, sizeof(*w));
	w->a = attributor_new(max_shown);
	assert_non_null(w->a);
	w->n = n;
	for (size_t i = 0; i < n; i++) {
		w->list[i] = &w->p[i];
		w->p[i].fold = attributor_node_fold(w->a);
	}
}

/*
 * One interval: cpu[i] ns for process i, active energy pkg on package, pkg / 10 on
 * dram, platform on the platform.
 */
static void run_platform(struct world *w, const uint64_t *cpu, uint64_t pkg, uint64_t platform)
{
	uint64_t active[ZONE_MAX] = {[ZONE_PACKAGE] = pkg, [ZONE_DRAM] = pkg / 10};

	for (size_t i = 0; i < w->n; i++) {
		attr_proc_begin(&w->p[i]);
		attr_proc_charge(&w->p[i], cpu ? cpu[i] : 0, 0, 0);
	}
	for (size_t f = 0; f < ARRAY_SIZE(w->fold); f++)
		account_begin(&w->fold[f]);
	assert_int_equal(attributor_run(w->a, w->list, w->n, active,
					ZONE_BIT(ZONE_PACKAGE) | ZONE_BIT(ZONE_DRAM), false, NULL,
					platform),
			 0);
	w->active_total[ZONE_PACKAGE] += pkg;
	w->active_total[ZONE_DRAM] += pkg / 10;
	w->platform_total += platform;
}

static void run(struct world *w, const uint64_t *cpu, uint64_t pkg)
{
	run_platform(w, cpu, pkg, 0);
}

/* Everything exported: the shown series, the groups' "other" and the node's. */
static void assert_conserved(const struct world *w)
{
	uint64_t platform = attributor_node_other(w->a)->platform_uj;

	for (size_t i = 0; i < w->n; i++)
		if (w->p[i].series)
			platform += w->p[i].series->platform_uj;
	for (size_t f = 0; f < ARRAY_SIZE(w->fold); f++)
		platform += w->fold[f].platform_uj;
	if (platform != w->platform_total)
		fail_msg("platform: exported %llu, active %llu", (unsigned long long)platform,
			 (unsigned long long)w->platform_total);
	for (int z = 0; z < ZONE_MAX; z++) {
		uint64_t sum = attributor_node_other(w->a)->energy_uj[z];

		for (size_t i = 0; i < w->n; i++)
			if (w->p[i].series)
				sum += w->p[i].series->energy_uj[z];
		for (size_t f = 0; f < ARRAY_SIZE(w->fold); f++)
			sum += w->fold[f].energy_uj[z];
		if (sum != w->active_total[z])
			fail_msg("zone %s: exported %llu, active %llu", zone_names[z],
				 (unsigned long long)sum, (unsigned long long)w->active_total[z]);
	}
}

static void world_free(struct world *w)
{
	for (size_t i = 0; i < MAXP; i++)
		attr_proc_release(&w->p[i]);
	for (size_t f = 0; f < ARRAY_SIZE(w->fold); f++)
		account_release(&w->fold[f]);
	attributor_free(w->a);
}

/* Shares by CPU time, rounded so that they sum exactly (largest remainder). */
static void test_shares(void **state)
{
	static const struct {
		const char *name;
		uint64_t cpu[3], pkg;
		uint64_t want[3];
	} cases[] = {
	    {"proportional", {1000, 3000, 0}, 1000001, {250000, 750001, 0}},
	    {"equal", {5, 5, 5}, 10, {4, 3, 3}},
	    {"one active", {0, 7, 0}, 99, {0, 99, 0}},
	    {"no energy", {1, 2, 3}, 0, {0, 0, 0}},
	};

	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct world w;

		world_init(&w, 3, 100);
		run(&w, cases[c].cpu, cases[c].pkg);
		for (size_t i = 0; i < 3; i++)
			if (w.p[i].acct.energy_uj[ZONE_PACKAGE] != cases[c].want[i])
				fail_msg("%s: process %zu got %llu, want %llu", cases[c].name, i,
					 (unsigned long long)w.p[i].acct.energy_uj[ZONE_PACKAGE],
					 (unsigned long long)cases[c].want[i]);
		assert_conserved(&w);
		world_free(&w);
	}
}

/* Nobody active: the energy stays the node's, in its "other", not lost. */
static void test_unused_energy_is_the_nodes(void **state)
{
	struct world w;

	(void)state;
	world_init(&w, 2, 100);
	run(&w, NULL, 5000);
	assert_int_equal(attributor_node_other(w.a)->energy_uj[ZONE_PACKAGE], 5000);
	assert_int_equal(attributor_node_other(w.a)->interval_uj[ZONE_DRAM], 500);
	assert_conserved(&w);
	world_free(&w);
}

/* package and core follow cycles, dram cache misses, the rest CPU time; where counted. */
static void test_features(void **state)
{
	static const struct {
		enum zone z;
		bool counters;
		uint64_t cycles, misses;
		enum attr_feature want;
	} cases[] = {
	    {ZONE_PACKAGE, true, 10, 10, FEATURE_CYCLES},
	    {ZONE_CORE, true, 10, 0, FEATURE_CYCLES},
	    {ZONE_DRAM, true, 10, 10, FEATURE_CACHE_MISSES},
	    {ZONE_UNCORE, true, 10, 10, FEATURE_CPU_TIME},
	    {ZONE_PSYS, true, 10, 10, FEATURE_CPU_TIME},
	    {ZONE_PACKAGE, false, 10, 10, FEATURE_CPU_TIME},
	    {ZONE_PACKAGE, true, 0, 10, FEATURE_CPU_TIME}, /* counters present, none counted */
	    {ZONE_DRAM, true, 10, 0, FEATURE_CPU_TIME},
	};
	uint64_t active[ZONE_MAX] = {
	    [ZONE_PACKAGE] = 1000, [ZONE_CORE] = 100, [ZONE_DRAM] = 500, [ZONE_PSYS] = 60};
	struct world w;

	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++)
		if (attr_zone_feature(cases[c].z, cases[c].counters, cases[c].cycles,
				      cases[c].misses) != cases[c].want)
			fail_msg("case %zu: zone %s", c, zone_names[cases[c].z]);

	world_init(&w, 2, 100);
	attr_proc_charge(&w.p[0], 1000, 3000, 10);
	attr_proc_charge(&w.p[1], 1000, 1000, 40);
	assert_int_equal(attributor_run(w.a, w.list, 2, active, ZONE_ALL, true, NULL, 0), 0);
	assert_int_equal(w.p[0].acct.energy_uj[ZONE_PACKAGE], 750);
	assert_int_equal(w.p[1].acct.energy_uj[ZONE_PACKAGE], 250);
	assert_int_equal(w.p[0].acct.energy_uj[ZONE_CORE], 75);
	assert_int_equal(w.p[0].acct.energy_uj[ZONE_DRAM], 100);
	assert_int_equal(w.p[1].acct.energy_uj[ZONE_DRAM], 400);
	assert_int_equal(w.p[0].acct.energy_uj[ZONE_PSYS], 30);
	world_free(&w);
}

/* The free places go to the processes with the most energy: the top k of n, whatever the order. */
static void test_shown_are_the_largest(void **state)
{
	static const struct {
		size_t n, k;
	} cases[] = {{1, 1}, {5, 1}, {5, 3}, {5, 5}, {5, 8}, {64, 7}, {64, 63}, {64, 0}};

	(void)state;
	srand(7);
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		uint64_t cpu[MAXP], sorted[MAXP], kth;
		size_t shown = 0;
		struct world w;

		world_init(&w, cases[c].n, (uint32_t)cases[c].k);
		for (size_t i = 0; i < cases[c].n; i++)
			cpu[i] = sorted[i] =
			    1000 + (uint64_t)(rand() % 100000) * 64 + i; /* distinct */
		run(&w, cpu, 1ULL << 40);
		/* the k-th largest CPU time, hence energy */
		for (size_t i = 0; i < cases[c].n; i++)
			for (size_t j = i + 1; j < cases[c].n; j++)
				if (sorted[j] > sorted[i]) {
					uint64_t t = sorted[i];

					sorted[i] = sorted[j];
					sorted[j] = t;
				}
		kth = cases[c].k == 0
			  ? UINT64_MAX
			  : sorted[(cases[c].k < cases[c].n ? cases[c].k : cases[c].n) - 1];
		for (size_t i = 0; i < cases[c].n; i++) {
			if ((w.p[i].series != NULL) != (cpu[i] >= kth))
				fail_msg("n %zu k %zu: process %zu (cpu %llu, k-th %llu) shown %d",
					 cases[c].n, cases[c].k, i, (unsigned long long)cpu[i],
					 (unsigned long long)kth, (w.p[i].series != NULL));
			shown += (w.p[i].series != NULL);
		}
		assert_int_equal(attributor_shown(w.a), shown);
		assert_conserved(&w);
		world_free(&w);
	}
}

/*
 * A process that gets a series later: the series starts from that interval, what
 * it used before stays in its "other"; nothing is counted twice.
 */
static void test_promotion_counts_once(void **state)
{
	uint64_t first[] = {100, 300, 200, 400}, second[] = {1000, 100, 100, 100};
	struct world w;
	uint64_t other_before;

	(void)state;
	world_init(&w, 4, 2);
	for (size_t i = 0; i < 4; i++)
		w.p[i].fold = &w.fold[i % 2];
	run(&w, first, 1000);
	assert_true((w.p[3].series != NULL) && (w.p[1].series != NULL));
	assert_false((w.p[0].series != NULL) || (w.p[2].series != NULL));
	assert_int_equal(w.fold[0].energy_uj[ZONE_PACKAGE], 100 + 200); /* processes 0 and 2 */
	assert_conserved(&w);

	/* Shown processes stay shown though process 0 now uses more: counters never jump. */
	run(&w, second, 1300);
	assert_false((w.p[0].series != NULL));
	assert_int_equal(w.fold[0].energy_uj[ZONE_PACKAGE], 300 + 1000 + 100);
	assert_int_equal(w.fold[0].interval_uj[ZONE_PACKAGE], 1100);
	assert_conserved(&w);

	/* Process 3 ends: its series goes into its "other", and process 0 gets the place. */
	other_before = w.fold[1].energy_uj[ZONE_PACKAGE];
	attributor_retire(w.a, &w.p[3]);
	assert_false((w.p[3].series != NULL));
	assert_int_equal(w.fold[1].energy_uj[ZONE_PACKAGE], other_before + 400 + 100);
	assert_int_equal(w.fold[1].interval_uj[ZONE_PACKAGE], 0); /* not an interval's energy */
	w.n = 3;
	run(&w, second, 1200);
	assert_true((w.p[0].series != NULL));
	assert_int_equal(w.p[0].series->energy_uj[ZONE_PACKAGE], 1000);
	assert_int_equal(w.p[0].acct.energy_uj[ZONE_PACKAGE], 100 + 1000 + 1000);
	assert_conserved(&w);
	world_free(&w);
}

/* A lower maxProcesses: shown processes keep their series until they end. */
static void test_lower_max_shown(void **state)
{
	uint64_t cpu[] = {1, 2, 3, 4};
	struct world w;

	(void)state;
	world_init(&w, 4, 4);
	run(&w, cpu, 100);
	assert_int_equal(attributor_shown(w.a), 4);
	attributor_set_max_shown(w.a, 1);
	run(&w, cpu, 100);
	assert_int_equal(attributor_shown(w.a), 4);
	attributor_retire(w.a, &w.p[0]);
	attributor_retire(w.a, &w.p[1]);
	attributor_retire(w.a, &w.p[2]);
	run(&w, cpu, 100);
	assert_int_equal(attributor_shown(w.a), 1);
	assert_conserved(&w);
	world_free(&w);
}

/*
 * What may happen to process i before an interval: it ends and a new process takes
 * its pid (3 %), or an exec moves it into another group (2 %). Returns whether its
 * series ended (what it showed moved to its "other").
 */
static bool random_event(struct world *w, size_t i)
{
	int ev = rand() % 100;

	if (ev >= 5)
		return false;
	attributor_retire(w->a, &w->p[i]);
	if (ev < 3) {
		attr_proc_release(&w->p[i]);
		w->p[i] = (struct attr_proc){.fold = w->p[i].fold};
	} else {
		w->p[i].fold = &w->fold[rand() % 3];
	}
	return true;
}

/*
 * A long random life: processes come, get series, change groups (an exec), end and
 * their pids are reused. After every interval the exported sums equal the active
 * energy, and no exported counter ever decreases.
 */
static void test_random_life_conserves(void **state)
{
	uint64_t prev_series[MAXP][ZONE_MAX] = {{0}}, prev_fold[3][ZONE_MAX] = {{0}},
		 prev_node[ZONE_MAX] = {0};
	uint64_t cpu[MAXP];
	struct world w;

	(void)state;
	srand(42);
	world_init(&w, MAXP, 9);
	for (size_t i = 0; i < MAXP; i++)
		w.p[i].fold = rand() % 4 == 3 ? attributor_node_fold(w.a) : &w.fold[rand() % 3];
	for (int it = 0; it < 2000; it++) {
		for (size_t i = 0; i < MAXP; i++) {
			cpu[i] = rand() % 3 ? (uint64_t)(rand() % 5000) : 0;
			if (random_event(&w, i))
				memset(prev_series[i], 0, sizeof(prev_series[i]));
		}
		run(&w, cpu, (uint64_t)(rand() % 100000));
		assert_conserved(&w);
		assert_true(attributor_shown(w.a) <= 9);
		for (int z = 0; z < ZONE_MAX; z++) {
			for (size_t i = 0; i < MAXP; i++) {
				if (!(w.p[i].series != NULL))
					continue;
				assert_true(w.p[i].series->energy_uj[z] >= prev_series[i][z]);
				prev_series[i][z] = w.p[i].series->energy_uj[z];
			}
			for (size_t f = 0; f < 3; f++) {
				assert_true(w.fold[f].energy_uj[z] >= prev_fold[f][z]);
				prev_fold[f][z] = w.fold[f].energy_uj[z];
			}
			assert_true(attributor_node_other(w.a)->energy_uj[z] >= prev_node[z]);
			prev_node[z] = attributor_node_other(w.a)->energy_uj[z];
		}
	}
	world_free(&w);
}

/* GPU g's energy in everything exported: the shown series, the groups' and the node's "other". */
static uint64_t gpu_exported(const struct world *w, uint32_t g)
{
	const struct account *node = attributor_node_other(w->a);
	uint64_t sum = node->gpu ? node->gpu->energy_uj[g] : 0;

	for (size_t i = 0; i < w->n; i++)
		if (w->p[i].series && w->p[i].series->gpu)
			sum += w->p[i].series->gpu->energy_uj[g];
	for (size_t f = 0; f < ARRAY_SIZE(w->fold); f++)
		if (w->fold[f].gpu)
			sum += w->fold[f].gpu->energy_uj[g];
	return sum;
}

static uint64_t gpu_uj(const struct attr_proc *p, uint32_t g)
{
	return p->acct.gpu ? p->acct.gpu->energy_uj[g] : 0;
}

/*
 * Each GPU's active energy goes to the processes that used it, by weight; evenly
 * when no weight says how much; to the node's "other" when nobody used it. A
 * process that used no GPU gets no GPU energy, and the CPU split is untouched.
 */
static void test_gpu_shares(void **state)
{
	static const struct {
		const char *name;
		uint64_t active[2];
		struct {
			uint32_t proc, gpu;
			uint64_t weight;
		} uses[4];
		size_t n_uses;
		uint64_t want[3][2]; /* per process, per GPU */
		uint64_t node[2];
	} cases[] = {
	    {"two GPUs, one process on both",
	     {4000, 1000},
	     {{0, 0, 30}, {1, 0, 10}, {1, 1, 50}, {2, 1, 50}},
	     4,
	     {{3000, 0}, {1000, 500}, {0, 500}},
	     {0, 0}},
	    {"held without samples: even",
	     {999, 0},
	     {{0, 0, 0}, {2, 0, 0}},
	     2,
	     {{500, 0}, {0, 0}, {499, 0}},
	     {0, 0}},
	    {"nobody on GPU 1", {10, 70}, {{1, 0, 5}}, 1, {{0, 0}, {10, 0}, {0, 0}}, {0, 70}},
	    {"a weight of 0 among others",
	     {100, 0},
	     {{0, 0, 0}, {1, 0, 4}},
	     2,
	     {{0, 0}, {100, 0}, {0, 0}},
	     {0, 0}},
	};
	uint64_t cpu[] = {100, 300, 0, 600};

	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		uint64_t active[ZONE_MAX] = {[ZONE_PACKAGE] = 1000};
		struct attr_gpu_use uses[5];
		struct attr_gpus gpus = {.n = 2, .uses = uses, .n_uses = cases[c].n_uses + 1};
		const struct account *node;
		struct world w;

		world_init(&w, 4, 2);
		for (size_t i = 0; i < w.n; i++)
			w.p[i].fold =
			    &w.fold[i % 3]; /* the node's "other" holds only unused energy */
		for (size_t i = 0; i < cases[c].n_uses; i++)
			uses[i] = (struct attr_gpu_use){.gpu = cases[c].uses[i].gpu,
							.weight = cases[c].uses[i].weight,
							.util = 0.5,
							.p = &w.p[cases[c].uses[i].proc]};
		/* A pid the caller does not track: left out. */
		uses[cases[c].n_uses] = (struct attr_gpu_use){.gpu = 0, .weight = 1000, .p = NULL};
		memcpy(gpus.active_uj, cases[c].active, sizeof(cases[c].active));
		for (size_t i = 0; i < w.n; i++) {
			attr_proc_begin(&w.p[i]);
			attr_proc_charge(&w.p[i], cpu[i], 0, 0);
		}
		/* The platform at three times its parts: each gets three times its CPU and GPU. */
		assert_int_equal(
		    attributor_run(w.a, w.list, w.n, active, ZONE_BIT(ZONE_PACKAGE), false, &gpus,
				   3 * (1000 + cases[c].active[0] + cases[c].active[1])),
		    0);
		for (uint32_t i = 0; i < 4; i++)
			assert_int_equal(w.p[i].acct.platform_uj,
					 3 * (w.p[i].acct.energy_uj[ZONE_PACKAGE] +
					      gpu_uj(&w.p[i], 0) + gpu_uj(&w.p[i], 1)));
		for (uint32_t i = 0; i < 3; i++)
			for (uint32_t g = 0; g < 2; g++)
				if (gpu_uj(&w.p[i], g) != cases[c].want[i][g])
					fail_msg("%s: process %u GPU %u got %llu, want %llu",
						 cases[c].name, i, g,
						 (unsigned long long)gpu_uj(&w.p[i], g),
						 (unsigned long long)cases[c].want[i][g]);
		assert_null(w.p[3].acct.gpu); /* used no GPU */
		assert_int_equal(w.p[3].acct.energy_uj[ZONE_PACKAGE], 600);
		node = attributor_node_other(w.a);
		assert_int_equal(
		    node->platform_uj,
		    3 * (node->gpu ? node->gpu->energy_uj[0] + node->gpu->energy_uj[1] : 0));
		for (uint32_t g = 0; g < 2; g++) {
			assert_int_equal(node->gpu ? node->gpu->energy_uj[g] : 0, cases[c].node[g]);
			assert_int_equal(gpu_exported(&w, g), cases[c].active[g]);
		}
		assert_true(w.p[cases[c].uses[0].proc].acct.gpu->util[cases[c].uses[0].gpu] == 0.5);
		world_free(&w);
	}
}

/*
 * GPU energy through series, folds, retirement and pid reuse: after every interval
 * the exported series hold exactly each GPU's active energy, and never decrease.
 */
static void test_gpu_random_life_conserves(void **state)
{
	uint64_t total[GPU_MAX] = {0}, prev_fold[3][3] = {{0}}, prev_series[MAXP][3] = {{0}};
	struct attr_gpu_use uses[MAXP * 3];
	uint64_t cpu[MAXP];
	struct world w;

	(void)state;
	srand(11);
	world_init(&w, MAXP, 5);
	for (size_t i = 0; i < MAXP; i++)
		w.p[i].fold = rand() % 4 == 3 ? attributor_node_fold(w.a) : &w.fold[rand() % 3];
	for (int it = 0; it < 500; it++) {
		struct attr_gpus gpus = {.n = 3, .uses = uses};
		uint64_t active[ZONE_MAX] = {[ZONE_PACKAGE] = 1000};

		for (size_t i = 0; i < MAXP; i++) {
			if (random_event(&w, i))
				memset(prev_series[i], 0, sizeof(prev_series[i]));
			attr_proc_begin(&w.p[i]);
			cpu[i] = rand() % 3 ? (uint64_t)(rand() % 5000) : 0;
			attr_proc_charge(&w.p[i], cpu[i], 0, 0);
			/* One in eight processes uses a GPU now and then. */
			for (uint32_t g = 0; g < 3; g++)
				if (i % 8 == g && rand() % 2)
					uses[gpus.n_uses++] = (struct attr_gpu_use){
					    .gpu = g,
					    .weight = (uint64_t)(rand() % 100),
					    .p = &w.p[i]};
		}
		for (uint32_t g = 0; g < 3; g++) {
			gpus.active_uj[g] = (uint64_t)(rand() % 50000);
			total[g] += gpus.active_uj[g];
		}
		for (size_t f = 0; f < ARRAY_SIZE(w.fold); f++)
			account_begin(&w.fold[f]);
		assert_int_equal(attributor_run(w.a, w.list, w.n, active, ZONE_BIT(ZONE_PACKAGE),
						false, &gpus, 0),
				 0);
		for (uint32_t g = 0; g < 3; g++) {
			assert_int_equal(gpu_exported(&w, g), total[g]);
			for (size_t i = 0; i < MAXP; i++) {
				uint64_t e = w.p[i].series && w.p[i].series->gpu
						 ? w.p[i].series->gpu->energy_uj[g]
						 : 0;

				assert_true(e >= prev_series[i][g]);
				prev_series[i][g] = e;
				/* Only the processes that use GPU g ever get any of it. */
				if (i % 8 != g)
					assert_int_equal(gpu_uj(&w.p[i], g), 0);
			}
			for (size_t f = 0; f < 3; f++) {
				uint64_t e = w.fold[f].gpu ? w.fold[f].gpu->energy_uj[g] : 0;

				assert_true(e >= prev_fold[f][g]);
				prev_fold[f][g] = e;
			}
		}
	}
	world_free(&w);
}

/* An evicted group's "other" joins the node's: the exported sum does not fall. */
static void test_absorb(void **state)
{
	uint64_t cpu[] = {10, 10};
	struct world w;

	(void)state;
	world_init(&w, 2, 0);
	w.p[0].fold = &w.fold[0];
	w.p[1].fold = &w.fold[1];
	run(&w, cpu, 1000);
	attributor_absorb(w.a, &w.fold[1]);
	w.fold[1] = (struct account){0};
	w.n = 1;
	assert_conserved(&w);
	assert_int_equal(attributor_node_other(w.a)->energy_uj[ZONE_PACKAGE], 500);
	assert_int_equal(attributor_node_other(w.a)->interval_uj[ZONE_PACKAGE], 0);
	world_free(&w);
}

/* When an ended workload may go: seen by a scrape, and one interval past its end. */
static void test_lifecycle(void **state)
{
	static const struct {
		const char *name;
		bool ended;
		uint64_t end_interval, end_scrapes, interval, scrapes;
		bool settled, expired;
	} cases[] = {
	    {"running", false, 0, 0, 10, 10, false, false},
	    {"just ended", true, 5, 3, 5, 3, false, false},
	    {"scraped, residue interval", true, 5, 3, 6, 4, false, false},
	    {"not scraped", true, 5, 3, 9, 3, true, false},
	    {"scraped and settled", true, 5, 3, 7, 4, true, true},
	};

	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct lifecycle l = {0};

		if (cases[c].ended)
			lifecycle_end(&l, cases[c].end_interval, cases[c].end_scrapes);
		/* a second end does not move the marks */
		if (cases[c].ended)
			lifecycle_end(&l, cases[c].end_interval + 1, cases[c].end_scrapes + 1);
		if (lifecycle_settled(&l, cases[c].interval) != cases[c].settled ||
		    lifecycle_expired(&l, cases[c].interval, cases[c].scrapes) != cases[c].expired)
			fail_msg("%s", cases[c].name);
		lifecycle_revive(&l);
		assert_false(lifecycle_settled(&l, 100));
	}
}

static int cmp_desc(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;

	return x > y ? -1 : x < y;
}

static void test_trim(void **state)
{
	void *items[] = {(void *)3, (void *)9, (void *)1, (void *)7};

	(void)state;
	assert_int_equal(retention_trim(items, 4, sizeof(*items), 4, cmp_desc), 0);
	assert_int_equal(retention_trim(items, 4, sizeof(*items), 9, cmp_desc), 0);
	assert_int_equal(retention_trim(items, 4, sizeof(*items), 1, cmp_desc), 3);
	assert_true(items[0] == (void *)9);
	assert_int_equal(retention_trim(items, 4, sizeof(*items), 0, cmp_desc), 4);
}

/*
 * The platform's active energy: each process's package and DRAM energy scaled by
 * platform / their sum (docs/attribution.md), so at least its parts' energy while
 * the platform meter reads more than they do; by CPU time when no part drew any;
 * the node's "other" when nobody ran.
 */
static void test_platform_shares(void **state)
{
	static const struct {
		const char *name;
		uint64_t cpu[3], pkg, platform;
		uint64_t want[3], want_other;
	} cases[] = {
	    /* parts 110, 330, 0 of 440 */
	    {"meters agree: the parts and a share of the rest",
	     {1000, 3000, 0},
	     400,
	     1000,
	     {250, 750, 0},
	     0},
	    {"meters disagree: the same proportion below",
	     {1000, 3000, 0},
	     400,
	     220,
	     {55, 165, 0},
	     0},
	    {"no energy of the parts: by CPU time", {1, 3, 0}, 0, 100, {25, 75, 0}, 0},
	    {"nobody ran: the node's other", {0, 0, 0}, 400, 1000, {0, 0, 0}, 1000},
	    {"no platform", {1000, 3000, 0}, 400, 0, {0, 0, 0}, 0},
	};

	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct world w;

		world_init(&w, 3, 100);
		run_platform(&w, cases[c].cpu, cases[c].pkg, cases[c].platform);
		for (size_t i = 0; i < 3; i++) {
			const struct account *a = &w.p[i].acct;

			if (a->platform_uj != cases[c].want[i] ||
			    a->interval_platform_uj != cases[c].want[i])
				fail_msg("%s: process %zu got %llu, want %llu", cases[c].name, i,
					 (unsigned long long)a->platform_uj,
					 (unsigned long long)cases[c].want[i]);
			if (cases[c].platform >= cases[c].pkg + cases[c].pkg / 10)
				assert_true(a->platform_uj >=
					    a->energy_uj[ZONE_PACKAGE] + a->energy_uj[ZONE_DRAM]);
		}
		assert_int_equal(attributor_node_other(w.a)->platform_uj, cases[c].want_other);
		assert_conserved(&w);
		world_free(&w);
	}
}

/*
 * Many intervals of random activity and meters that mostly agree: the platform
 * energy is conserved at every interval, and a process never gets less than its
 * parts' energy in an interval where the platform read at least their sum.
 */
static void test_platform_random(void **state)
{
	struct world w;
	uint64_t seed = 7;

	(void)state;
	world_init(&w, 40, 10);
	for (int it = 0; it < 300; it++) {
		uint64_t cpu[40], pkg, parts, platform;

		for (size_t i = 0; i < w.n; i++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			cpu[i] = (seed >> 33) % 4 ? (seed >> 20) % 100000 : 0;
		}
		pkg = (seed >> 40) % 5000000;
		parts = pkg + pkg / 10;
		/* One interval in eight the platform reads below its parts. */
		platform = it % 8 ? parts + (seed >> 45) % 3000000 : parts / 2;
		run_platform(&w, cpu, pkg, platform);
		for (size_t i = 0; i < w.n; i++) {
			const struct account *a = &w.p[i].acct;

			if (platform >= parts)
				assert_true(a->interval_platform_uj >=
					    a->interval_uj[ZONE_PACKAGE] +
						a->interval_uj[ZONE_DRAM]);
			else
				assert_true(a->interval_platform_uj <=
					    a->interval_uj[ZONE_PACKAGE] +
						a->interval_uj[ZONE_DRAM]);
		}
		assert_conserved(&w);
	}
	world_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_platform_shares),
	    cmocka_unit_test(test_platform_random),
	    cmocka_unit_test(test_shares),
	    cmocka_unit_test(test_unused_energy_is_the_nodes),
	    cmocka_unit_test(test_features),
	    cmocka_unit_test(test_shown_are_the_largest),
	    cmocka_unit_test(test_promotion_counts_once),
	    cmocka_unit_test(test_lower_max_shown),
	    cmocka_unit_test(test_random_life_conserves),
	    cmocka_unit_test(test_gpu_shares),
	    cmocka_unit_test(test_gpu_random_life_conserves),
	    cmocka_unit_test(test_absorb),
	    cmocka_unit_test(test_lifecycle),
	    cmocka_unit_test(test_trim),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
