/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hash functions of the agent's in-memory tables (util/hashmap.h). All
 * mix every input bit into every output bit, so a table may take its slot
 * from the low bits.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
 * Byte strings (ids, paths, rendered label pairs), eight bytes at a time: each
 * step is a bijection of the state, so inputs of one length that differ in a
 * single word never collide; finished by hash_u64.
 */
static inline uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL ^ n, v;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&v, s, 8);
		h = (h ^ v) * 0x9fb21c651e98df25ULL;
		h ^= h >> 32;
	}
	v = 0;
	memcpy(&v, s, n);
	return hash_u64(h ^ v);
}

/* NUL-terminated keys: the hash of their bytes. */
static inline uint64_t hash_str(const char *s)
{
	return hash_bytes(s, strlen(s));
}
