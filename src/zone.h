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

/*
 * The zones that are parts of the platform measured on their own, none inside
 * another: the package (else its core and uncore), and DRAM. psys is not one:
 * it measures the platform itself. zones is the mask of the zones a node has.
 */
static inline uint32_t zone_components(uint32_t zones)
{
	uint32_t pkg = zones & ZONE_BIT(ZONE_PACKAGE)
			   ? ZONE_BIT(ZONE_PACKAGE)
			   : zones & (ZONE_BIT(ZONE_CORE) | ZONE_BIT(ZONE_UNCORE));

	return pkg | (zones & ZONE_BIT(ZONE_DRAM));
}

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
