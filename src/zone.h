/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CPU power zones: the powercap zone name without its socket suffix, summed
 * across sockets. The order is the export order.
 */
#pragma once

#include <stdint.h>

enum zone {
	ZONE_PACKAGE,
	ZONE_CORE,
	ZONE_UNCORE,
	ZONE_DRAM,
	ZONE_PSYS,
	ZONE_MAX,
};

/*
 * GPUs: each one a zone of its own, numbered in discovery order. A node with
 * more is read for its first GPU_MAX (the agent says so at startup).
 */
#define GPU_MAX 16

#define ZONE_BIT(z) (1u << (z))
#define ZONE_ALL ((1u << ZONE_MAX) - 1)

static const char *const zone_names[ZONE_MAX] = {
    [ZONE_PACKAGE] = "package", [ZONE_CORE] = "core", [ZONE_UNCORE] = "uncore",
    [ZONE_DRAM] = "dram",	[ZONE_PSYS] = "psys",
};

/* Zone from its name ("package", "core", ...); -1 when unknown. */
static inline int zone_from_name(const char *name)
{
	for (int z = 0; z < ZONE_MAX; z++) {
		const char *a = zone_names[z], *b = name;

		while (*a && *a == *b)
			a++, b++;
		if (!*a && !*b)
			return z;
	}
	return -1;
}
