/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The energy of one workload (a process, a process's own series, a
 * container, pod or VM, an "other" series): cumulative and this interval's,
 * per zone, with the CPU time that earned it.
 */
#pragma once

#include <stdint.h>
#include <string.h>

#include "zone.h"

struct account {
	uint64_t cpu_ns;	      /* cumulative */
	uint64_t energy_uj[ZONE_MAX]; /* cumulative active energy */
	uint64_t interval_cpu_ns;     /* this interval */
	uint64_t interval_uj[ZONE_MAX];
};

/* Start an interval: the cumulative figures stay. */
static inline void account_begin(struct account *a)
{
	a->interval_cpu_ns = 0;
	memset(a->interval_uj, 0, sizeof(a->interval_uj));
}

/* Add from's interval to to (its cumulative figures and its interval). */
static inline void account_add_interval(struct account *to, const struct account *from)
{
	to->cpu_ns += from->interval_cpu_ns;
	to->interval_cpu_ns += from->interval_cpu_ns;
	for (int z = 0; z < ZONE_MAX; z++) {
		to->energy_uj[z] += from->interval_uj[z];
		to->interval_uj[z] += from->interval_uj[z];
	}
}

/* Add everything from has ever had to to (a series that ends, moved into an "other"). */
static inline void account_add_total(struct account *to, const struct account *from)
{
	to->cpu_ns += from->cpu_ns;
	for (int z = 0; z < ZONE_MAX; z++)
		to->energy_uj[z] += from->energy_uj[z];
}

/* Cumulative energy over every zone. */
static inline uint64_t account_energy(const struct account *a)
{
	uint64_t e = 0;

	for (int z = 0; z < ZONE_MAX; z++)
		e += a->energy_uj[z];
	return e;
}

/* This interval's energy over every zone. */
static inline uint64_t account_interval_energy(const struct account *a)
{
	uint64_t e = 0;

	for (int z = 0; z < ZONE_MAX; z++)
		e += a->interval_uj[z];
	return e;
}
