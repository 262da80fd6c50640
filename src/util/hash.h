/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

/* FNV-1a: short keys (ids, paths) in small in-memory tables. */
static inline uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}
