// SPDX-License-Identifier: Apache-2.0
#include "attribution/attribute.h"

#include <errno.h>
#include <stdlib.h>

#include "attribution/share.h"

#define SCRATCH_MIN 1024

struct attributor {
	uint32_t max_shown;
	uint32_t n_shown;
	struct account other; /* the node's "other" */
	/* Scratch reused across intervals, so the steady state allocates nothing. */
	struct attr_proc **list;
	uint64_t *weights;
	uint64_t *parts;
	size_t cap;
};

enum attr_feature attr_zone_feature(enum zone z, bool has_counters, uint64_t cycles,
				    uint64_t cache_misses)
{
	if (has_counters && cycles && (z == ZONE_PACKAGE || z == ZONE_CORE))
		return FEATURE_CYCLES;
	if (has_counters && cache_misses && z == ZONE_DRAM)
		return FEATURE_CACHE_MISSES;
	return FEATURE_CPU_TIME;
}

struct attributor *attributor_new(uint32_t max_shown)
{
	struct attributor *a = calloc(1, sizeof(*a));

	if (a)
		a->max_shown = max_shown;
	return a;
}

void attributor_free(struct attributor *a)
{
	if (!a)
		return;
	account_release(&a->other);
	free(a->list);
	free(a);
}

void attributor_set_max_shown(struct attributor *a, uint32_t max_shown)
{
	a->max_shown = max_shown;
}

void attr_proc_begin(struct attr_proc *p)
{
	account_begin(&p->acct);
	if (p->series)
		account_begin(p->series);
	p->cycles = 0;
	p->cache_misses = 0;
}

/* p's series goes, with what it owns. */
static void series_free(struct attr_proc *p)
{
	if (p->series)
		account_release(p->series);
	free(p->series);
	p->series = NULL;
}

void attr_proc_release(struct attr_proc *p)
{
	series_free(p);
	account_release(&p->acct);
}

/* Scratch for n processes, one allocation: grown on demand, shrunk once mostly unused. */
static int reserve(struct attributor *a, size_t n)
{
	size_t cap = n + n / 4 > SCRATCH_MIN ? n + n / 4 : SCRATCH_MIN;
	void *block;

	if (n <= a->cap && (a->cap <= SCRATCH_MIN || n * 8 >= a->cap))
		return 0;
	block = malloc(cap * (sizeof(*a->list) + sizeof(*a->weights) + sizeof(*a->parts)));
	if (!block)
		return n <= a->cap ? 0 : -ENOMEM; /* a failed shrink keeps the old */
	free(a->list);
	a->list = block;
	a->weights = (uint64_t *)(a->list + cap);
	a->parts = a->weights + cap;
	a->cap = cap;
	return 0;
}

static uint64_t feature_of(const struct attr_proc *p, enum attr_feature f)
{
	return f == FEATURE_CYCLES	   ? p->cycles
	       : f == FEATURE_CACHE_MISSES ? p->cache_misses
					   : p->acct.interval_cpu_ns;
}

/* Split each zone's active energy over the processes that were active. */
static void split(struct attributor *a, struct attr_proc *const *procs, size_t n,
		  const uint64_t active_uj[ZONE_MAX], uint32_t zones, bool has_counters)
{
	uint64_t cycles = 0, misses = 0;
	size_t n_active = 0;

	for (size_t i = 0; i < n; i++) {
		struct attr_proc *p = procs[i];

		if (p->acct.interval_cpu_ns || p->cycles || p->cache_misses) {
			a->list[n_active++] = p;
			cycles += p->cycles;
			misses += p->cache_misses;
		}
	}
	for (int z = 0; z < ZONE_MAX; z++) {
		enum attr_feature f = attr_zone_feature((enum zone)z, has_counters, cycles, misses);

		if (!(zones & ZONE_BIT(z)) || active_uj[z] == 0)
			continue;
		for (size_t k = 0; k < n_active; k++)
			a->weights[k] = feature_of(a->list[k], f);
		if (share_split(active_uj[z], a->weights, n_active, a->parts) < 0) {
			/* Nobody was active: the energy is still the node's, in its "other". */
			a->other.energy_uj[z] += active_uj[z];
			a->other.interval_uj[z] += active_uj[z];
			continue;
		}
		for (size_t k = 0; k < n_active; k++) {
			a->list[k]->acct.energy_uj[z] += a->parts[k];
			a->list[k]->acct.interval_uj[z] += a->parts[k];
		}
	}
}

/*
 * Make every account a GPU joule of this interval can reach take it: the
 * processes that used a GPU, their series and their fold accounts, and the
 * node's "other" (a GPU nobody used). Before anything moves, so that a
 * failure leaves the interval unattributed rather than half done.
 */
static int reserve_gpu(struct attributor *a, const struct attr_gpus *gpus)
{
	int r = 0;

	for (uint32_t g = 0; g < gpus->n; g++)
		if (gpus->active_uj[g] && (r = account_reserve_gpu(&a->other)) < 0)
			return r;
	for (size_t i = 0; i < gpus->n_uses; i++) {
		struct attr_proc *p = gpus->uses[i].p;

		if (!p || gpus->uses[i].gpu >= gpus->n)
			continue;
		if ((r = account_reserve_gpu(&p->acct)) < 0 ||
		    (p->series && (r = account_reserve_gpu(p->series)) < 0) ||
		    (r = account_reserve_gpu(p->fold)) < 0)
			return r;
	}
	return 0;
}

/* Split each GPU's active energy over the processes that used it. */
static void split_gpu(struct attributor *a, const struct attr_gpus *gpus)
{
	for (size_t i = 0; i < gpus->n_uses; i++)
		if (gpus->uses[i].p && gpus->uses[i].gpu < gpus->n)
			gpus->uses[i].p->acct.gpu->util[gpus->uses[i].gpu] = gpus->uses[i].util;
	for (uint32_t g = 0; g < gpus->n; g++) {
		uint64_t sum = 0;
		size_t k = 0;

		if (!gpus->active_uj[g])
			continue;
		for (size_t i = 0; i < gpus->n_uses; i++)
			if (gpus->uses[i].p && gpus->uses[i].gpu == g) {
				a->list[k] = gpus->uses[i].p;
				a->weights[k] = gpus->uses[i].weight;
				sum += a->weights[k++];
			}
		/* Holding the GPU with no sample of how much: an even split among them. */
		for (size_t j = 0; j < k && !sum; j++)
			a->weights[j] = 1;
		if (share_split(gpus->active_uj[g], a->weights, k, a->parts) < 0) {
			a->other.gpu->energy_uj[g] += gpus->active_uj[g];
			a->other.gpu->interval_uj[g] += gpus->active_uj[g];
			continue;
		}
		for (size_t j = 0; j < k; j++) {
			a->list[j]->acct.gpu->energy_uj[g] += a->parts[j];
			a->list[j]->acct.gpu->interval_uj[g] += a->parts[j];
		}
	}
}

/*
 * Split the platform's active energy (docs/attribution.md, "Platform energy"):
 * over the processes and the node's "other" by their energy of the platform's
 * parts measured on their own this interval (CPU package and DRAM, GPUs), so
 * that each gets its parts' energy scaled by platform / sum of the parts: at
 * least its parts' energy when the platform meter reads at least their sum, and
 * the same proportion below it when the meters disagree. With no such energy
 * anywhere, by CPU time; with no CPU time either, all to the node's "other".
 */
static void split_platform(struct attributor *a, struct attr_proc *const *procs, size_t n,
			   uint64_t platform_uj, uint32_t zones)
{
	bool by_cpu = false;
	size_t k;

	if (!platform_uj)
		return;
	for (;;) {
		uint64_t sum = 0;

		k = 0;
		for (size_t i = 0; i < n; i++) {
			uint64_t w = by_cpu ? procs[i]->acct.interval_cpu_ns
					    : account_interval_components(&procs[i]->acct, zones);

			if (w) {
				a->list[k] = procs[i];
				a->weights[k++] = w;
				sum += w;
			}
		}
		a->weights[k] = by_cpu ? 0 : account_interval_components(&a->other, zones);
		if (sum + a->weights[k] || by_cpu)
			break;
		by_cpu = true;
	}
	if (share_split(platform_uj, a->weights, k + 1, a->parts) < 0) {
		a->other.platform_uj += platform_uj;
		a->other.interval_platform_uj += platform_uj;
		return;
	}
	for (size_t j = 0; j < k; j++) {
		a->list[j]->acct.platform_uj += a->parts[j];
		a->list[j]->acct.interval_platform_uj += a->parts[j];
	}
	a->other.platform_uj += a->parts[k];
	a->other.interval_platform_uj += a->parts[k];
}

/* Whether x deserves a place more than y: more energy, then more CPU time. */
static bool before(const struct attr_proc *x, const struct attr_proc *y)
{
	uint64_t ex = account_energy(&x->acct), ey = account_energy(&y->acct);

	if (ex != ey)
		return ex > ey;
	return x->acct.cpu_ns > y->acct.cpu_ns;
}

/* Restore the heap below i: the root is the least deserving of the k kept so far. */
static void sift_down(struct attr_proc **h, size_t k, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct attr_proc *t;

		if (l < k && before(h[m], h[l]))
			m = l;
		if (r < k && before(h[m], h[r]))
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/*
 * Give the free places to the processes without a series that have the most
 * energy: a partial selection (a heap of the free places), not a sort of all.
 */
static void select_shown(struct attributor *a, struct attr_proc *const *procs, size_t n)
{
	size_t free_places, k = 0;

	if (a->n_shown >= a->max_shown)
		return;
	free_places = a->max_shown - a->n_shown;
	for (size_t i = 0; i < n; i++) {
		struct attr_proc *p = procs[i];

		if (p->series)
			continue;
		if (k < free_places) {
			a->list[k++] = p;
			if (k == free_places)
				for (size_t j = k / 2; j-- > 0;)
					sift_down(a->list, k, j);
		} else if (before(p, a->list[0])) {
			a->list[0] = p;
			sift_down(a->list, k, 0);
		}
	}
	for (size_t j = 0; j < k; j++) {
		struct attr_proc *p = a->list[j];

		p->series = calloc(1, sizeof(*p->series));
		/* Its GPU energy needs room in the series too, or it stays folded. */
		if (p->series && p->acct.gpu && account_reserve_gpu(p->series) < 0)
			series_free(p);
		a->n_shown += p->series != NULL;
	}
}

int attributor_run(struct attributor *a, struct attr_proc *const *procs, size_t n,
		   const uint64_t active_uj[ZONE_MAX], uint32_t zones, bool has_counters,
		   const struct attr_gpus *gpus, uint64_t platform_uj)
{
	size_t n_uses = gpus ? gpus->n_uses : 0;
	int r = reserve(a, n + 1 > n_uses ? n + 1 : n_uses); /* + 1: the platform's "other" */

	if (r >= 0 && gpus)
		r = reserve_gpu(a, gpus);
	if (r < 0)
		return r;
	account_begin(&a->other);
	split(a, procs, n, active_uj, zones, has_counters);
	if (gpus)
		split_gpu(a, gpus);
	split_platform(a, procs, n, platform_uj, zones);
	select_shown(a, procs, n);
	for (size_t i = 0; i < n; i++) {
		struct attr_proc *p = procs[i];

		account_add_interval(p->series ? p->series : p->fold, &p->acct);
	}
	return 0;
}

void attributor_retire(struct attributor *a, struct attr_proc *p)
{
	if (!p->series)
		return;
	/* The fold has room whenever the series holds GPU energy; make it rather than lose any. */
	if (account_needs_gpu(p->fold, p->series))
		(void)account_reserve_gpu(p->fold);
	account_add_total(p->fold, p->series);
	series_free(p);
	a->n_shown--;
}

int attributor_absorb(struct attributor *a, const struct account *other)
{
	if (account_needs_gpu(&a->other, other) && account_reserve_gpu(&a->other) < 0)
		return -ENOMEM;
	account_add_total(&a->other, other);
	return 0;
}

const struct account *attributor_node_other(const struct attributor *a)
{
	return &a->other;
}

struct account *attributor_node_fold(struct attributor *a)
{
	return &a->other;
}

uint32_t attributor_shown(const struct attributor *a)
{
	return a->n_shown;
}
