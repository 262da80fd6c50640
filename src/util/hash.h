/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hash functions of the agent's in-memory tables (util/hashmap.h). Both
 * mix every input bit into every output bit, so a table may take its slot
 * from the low bits.
 */
#pragma once

#include <stdint.h>

/* Integer keys: splitmix64's finaliser, a bijection on 64 bits. */
static inline uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/*
 * String keys (ids, paths): FNV-1a, whose low bits depend only on the low bits
 * of the characters, finished by hash_u64.
 */
static inline uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return hash_u64(h);
}
