/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The energy of one workload (a process, a process's own series, a
 * container, pod or VM, an "other" series): cumulative and this interval's,
 * per CPU zone and per GPU, with the CPU time that earned it, and its share of
 * the platform's active energy (which includes its CPU and GPU energy: another
 * view of the same joules, never added to them).
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zone.h"

/*
 * Its GPU energy, per GPU. Apart, because few workloads ever use a GPU: it is
 * allocated (account_reserve_gpu) before the first GPU joule can reach the
 * account, so that adding never allocates and never fails.
 */
struct gpu_account {
	uint64_t energy_uj[GPU_MAX]; /* cumulative active energy */
	uint64_t interval_uj[GPU_MAX];
	/* A process's own use: its compute utilisation of each GPU this interval, < 0 none. */
	double util[GPU_MAX];
};

struct account {
	uint64_t cpu_ns;	      /* cumulative */
	uint64_t energy_uj[ZONE_MAX]; /* cumulative active energy */
	uint64_t interval_cpu_ns;     /* this interval */
	uint64_t interval_uj[ZONE_MAX];
	struct gpu_account *gpu; /* NULL until a GPU joule may reach it */
	uint64_t platform_uj;	 /* cumulative */
	uint64_t interval_platform_uj;
};

static inline void gpu_account_begin(struct gpu_account *g)
{
	memset(g->interval_uj, 0, sizeof(g->interval_uj));
	for (int i = 0; i < GPU_MAX; i++)
		g->util[i] = -1;
}

/* Make a's GPU part exist: 0 or -ENOMEM. */
static inline int account_reserve_gpu(struct account *a)
{
	if (!a->gpu) {
		a->gpu = calloc(1, sizeof(*a->gpu));
		if (!a->gpu)
			return -ENOMEM;
		gpu_account_begin(a->gpu);
	}
	return 0;
}

/* Free what a owns (its GPU part); its figures stay. */
static inline void account_release(struct account *a)
{
	free(a->gpu);
	a->gpu = NULL;
}

/* Start an interval: the cumulative figures stay. */
static inline void account_begin(struct account *a)
{
	a->interval_cpu_ns = 0;
	memset(a->interval_uj, 0, sizeof(a->interval_uj));
	a->interval_platform_uj = 0;
	if (a->gpu)
		gpu_account_begin(a->gpu);
}

/*
 * Add from's interval to to (its cumulative figures and its interval). GPU
 * energy needs to->gpu reserved (attribution reserves every account a GPU
 * joule can reach before it moves any).
 */
static inline void account_add_interval(struct account *to, const struct account *from)
{
	to->cpu_ns += from->interval_cpu_ns;
	to->interval_cpu_ns += from->interval_cpu_ns;
	for (int z = 0; z < ZONE_MAX; z++) {
		to->energy_uj[z] += from->interval_uj[z];
		to->interval_uj[z] += from->interval_uj[z];
	}
	to->platform_uj += from->interval_platform_uj;
	to->interval_platform_uj += from->interval_platform_uj;
	if (from->gpu && to->gpu)
		for (int g = 0; g < GPU_MAX; g++) {
			to->gpu->energy_uj[g] += from->gpu->interval_uj[g];
			to->gpu->interval_uj[g] += from->gpu->interval_uj[g];
		}
}

/* Add everything from has ever had to to (a series that ends, moved into an "other"). */
static inline void account_add_total(struct account *to, const struct account *from)
{
	to->cpu_ns += from->cpu_ns;
	for (int z = 0; z < ZONE_MAX; z++)
		to->energy_uj[z] += from->energy_uj[z];
	to->platform_uj += from->platform_uj;
	if (from->gpu && to->gpu)
		for (int g = 0; g < GPU_MAX; g++)
			to->gpu->energy_uj[g] += from->gpu->energy_uj[g];
}

/* Whether from has GPU energy (cumulative) that to cannot take: to->gpu must be reserved. */
static inline bool account_needs_gpu(const struct account *to, const struct account *from)
{
	return from->gpu && !to->gpu;
}

/* Cumulative energy over every zone and GPU (the platform view left out: it counts them again). */
static inline uint64_t account_energy(const struct account *a)
{
	uint64_t e = 0;

	for (int z = 0; z < ZONE_MAX; z++)
		e += a->energy_uj[z];
	if (a->gpu)
		for (int g = 0; g < GPU_MAX; g++)
			e += a->gpu->energy_uj[g];
	return e;
}

/* This interval's energy of the platform's parts measured on their own (zone_components, GPUs). */
static inline uint64_t account_interval_components(const struct account *a, uint32_t zones)
{
	uint32_t parts = zone_components(zones);
	uint64_t e = 0;

	for (int z = 0; z < ZONE_MAX; z++)
		if (parts & ZONE_BIT(z))
			e += a->interval_uj[z];
	if (a->gpu)
		for (int g = 0; g < GPU_MAX; g++)
			e += a->gpu->interval_uj[g];
	return e;
}
