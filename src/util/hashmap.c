// SPDX-License-Identifier: Apache-2.0
#include "util/hashmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"

/* Set in every stored hash, so that 0 marks an empty slot. */
#define HASH_USED 0x80000000u
/* Slots come from the stored hash's 31 low bits. */
#define MAX_CAP ((size_t)1 << 31)
#define MIN_CAP 8

struct hashmap {
	const struct hashmap_ops *ops;
	void *ctx;	      /* passed to every ops call */
	uint32_t *hashes;     /* per slot: the key's hash | HASH_USED, 0 when empty */
	unsigned char *slots; /* per slot: stride bytes, a pointer or a record */
	size_t cap;	      /* power of two */
	size_t n;
	size_t min_cap;
	size_t entry_size; /* bytes put copies into a record */
	size_t stride;
	bool records;
};

uint64_t hashmap_hash_u32(const void *key, void *ctx)
{
	(void)ctx;
	return hash_u64(*(const uint32_t *)key);
}

bool hashmap_equal_u32(const void *a, const void *b, void *ctx)
{
	(void)ctx;
	return *(const uint32_t *)a == *(const uint32_t *)b;
}

uint64_t hashmap_hash_u64(const void *key, void *ctx)
{
	(void)ctx;
	return hash_u64(*(const uint64_t *)key);
}

bool hashmap_equal_u64(const void *a, const void *b, void *ctx)
{
	(void)ctx;
	return *(const uint64_t *)a == *(const uint64_t *)b;
}

uint64_t hashmap_hash_str(const void *key, void *ctx)
{
	(void)ctx;
	return hash_str(key);
}

bool hashmap_equal_str(const void *a, const void *b, void *ctx)
{
	(void)ctx;
	return strcmp(a, b) == 0;
}

static void *slot(const struct hashmap *h, size_t i)
{
	return h->slots + i * h->stride;
}

static void *entry_at(const struct hashmap *h, size_t i)
{
	return h->records ? slot(h, i) : *(void **)slot(h, i);
}

static const void *key_of(const struct hashmap *h, const void *entry)
{
	return (const char *)entry + h->ops->key_offset;
}

static uint32_t hash_key(const struct hashmap *h, const void *key)
{
	return (uint32_t)h->ops->hash(key, h->ctx) | HASH_USED;
}

/* Both arrays in one allocation, all slots empty. */
static int alloc_slots(size_t cap, size_t stride, uint32_t **ret_hashes, unsigned char **ret_slots)
{
	size_t size;
	uint32_t *p;

	if (cap > MAX_CAP || __builtin_mul_overflow(cap, sizeof(uint32_t) + stride, &size))
		return -ENOMEM;
	p = calloc(1, size);
	if (!p)
		return -ENOMEM;
	*ret_hashes = p;
	*ret_slots = (unsigned char *)(p + cap); /* cap >= 8: 8-byte aligned */
	return 0;
}

/* The slot holding key (*found), or the empty slot that ends its probe. */
static size_t probe(const struct hashmap *h, const void *key, uint32_t hv, bool *found)
{
	size_t mask = h->cap - 1;

	for (size_t i = hv & mask;; i = (i + 1) & mask) {
		if (!h->hashes[i]) {
			*found = false;
			return i;
		}
		if (h->hashes[i] == hv && h->ops->equal(key_of(h, entry_at(h, i)), key, h->ctx)) {
			*found = true;
			return i;
		}
	}
}

/* Moves every entry by its stored hash: no ops call, no entry touched. */
static int resize(struct hashmap *h, size_t cap)
{
	size_t mask = cap - 1;
	unsigned char *slots;
	uint32_t *hashes;
	int r;

	r = alloc_slots(cap, h->stride, &hashes, &slots);
	if (r < 0)
		return r;
	for (size_t i = 0; i < h->cap; i++) {
		size_t j;

		if (!h->hashes[i])
			continue;
		for (j = h->hashes[i] & mask; hashes[j]; j = (j + 1) & mask)
			;
		hashes[j] = h->hashes[i];
		memcpy(slots + j * h->stride, slot(h, i), h->stride);
	}
	free(h->hashes);
	h->hashes = hashes;
	h->slots = slots;
	h->cap = cap;
	return 0;
}

/* The size for n entries: under an eighth full, halve while under a quarter, down to the minimum.
 */
static size_t shrunk_cap(const struct hashmap *h, size_t n)
{
	size_t cap = h->cap;

	if (n * 8 >= cap)
		return cap;
	while (cap > h->min_cap && n * 4 < cap)
		cap /= 2;
	return cap;
}

static void shrink(struct hashmap *h)
{
	size_t cap = shrunk_cap(h, h->n);

	if (cap < h->cap)
		resize(h, cap); /* out of memory: keep the larger table */
}

/*
 * Empty slot i and move later entries of its cluster back into the hole, so
 * that every probe still reaches its key before an empty slot.
 */
static void delete_at(struct hashmap *h, size_t hole)
{
	size_t mask = h->cap - 1;

	for (size_t j = (hole + 1) & mask; h->hashes[j]; j = (j + 1) & mask) {
		size_t home = h->hashes[j] & mask;

		/* An entry whose home lies cyclically in (hole, j] must stay after it. */
		if (((j - home) & mask) < ((j - hole) & mask))
			continue;
		h->hashes[hole] = h->hashes[j];
		memcpy(slot(h, hole), slot(h, j), h->stride);
		hole = j;
	}
	h->hashes[hole] = 0;
	h->n--;
}

static struct hashmap *create(const struct hashmap_ops *ops, void *ctx, bool records,
			      size_t entry_size, size_t min_entries)
{
	struct hashmap *h;
	size_t cap = MIN_CAP;
	int r;

	if (!ops || !ops->hash || !ops->equal || !entry_size || min_entries > MAX_CAP / 4 * 3) {
		errno = EINVAL;
		return NULL;
	}
	while (min_entries * 4 > cap * 3)
		cap *= 2;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->ops = ops;
	h->ctx = ctx;
	h->records = records;
	h->entry_size = entry_size;
	h->stride = (entry_size + 7) & ~(size_t)7;
	h->cap = h->min_cap = cap;
	r = alloc_slots(cap, h->stride, &h->hashes, &h->slots);
	if (r < 0) {
		free(h);
		errno = -r;
		return NULL;
	}
	return h;
}

struct hashmap *hashmap_new(const struct hashmap_ops *ops, void *ctx, size_t min_entries)
{
	return create(ops, ctx, false, sizeof(void *), min_entries);
}

struct hashmap *hashmap_new_inline(const struct hashmap_ops *ops, void *ctx, size_t entry_size,
				   size_t min_entries)
{
	return create(ops, ctx, true, entry_size, min_entries);
}

void hashmap_free(struct hashmap *h)
{
	if (!h)
		return;
	free(h->hashes);
	free(h);
}

size_t hashmap_size(const struct hashmap *h)
{
	return h->n;
}

void *hashmap_get(const struct hashmap *h, const void *key)
{
	bool found;
	size_t i = probe(h, key, hash_key(h, key), &found);

	return found ? entry_at(h, i) : NULL;
}

int hashmap_put(struct hashmap *h, void *entry, void **ret)
{
	const void *key = key_of(h, entry);
	uint32_t hv = hash_key(h, key);
	bool found;
	size_t i;
	int r;

	i = probe(h, key, hv, &found);
	if (!found && (h->n + 1) * 4 > h->cap * 3) {
		r = resize(h, h->cap * 2);
		if (r < 0)
			return r;
		i = probe(h, key, hv, &found);
	}
	if (!found) {
		h->hashes[i] = hv;
		if (h->records)
			memcpy(slot(h, i), entry, h->entry_size);
		else
			*(void **)slot(h, i) = entry;
		h->n++;
	}
	if (ret)
		*ret = entry_at(h, i);
	return !found;
}

void hashmap_remove(struct hashmap *h, void *entry)
{
	size_t mask = h->cap - 1;
	size_t i;

	if (h->records) {
		i = (size_t)((unsigned char *)entry - h->slots) / h->stride;
	} else {
		/* The slot that holds this very pointer, along its key's probe. */
		for (i = hash_key(h, key_of(h, entry)) & mask;; i = (i + 1) & mask) {
			if (!h->hashes[i])
				return; /* not in the table */
			if (*(void **)slot(h, i) == entry)
				break;
		}
	}
	delete_at(h, i);
	shrink(h);
}

/*
 * Writes at most max(min_cap, 8 n) slots: the array it keeps when the n
 * entries fill an eighth of it, else a new one sized for n. Only when that
 * allocation fails does it empty the larger array in place.
 */
void hashmap_clear(struct hashmap *h)
{
	size_t cap = shrunk_cap(h, h->n);
	unsigned char *slots;
	uint32_t *hashes;

	if (!h->n)
		return;
	h->n = 0;
	if (cap < h->cap && alloc_slots(cap, h->stride, &hashes, &slots) == 0) {
		free(h->hashes);
		h->hashes = hashes;
		h->slots = slots;
		h->cap = cap;
		return;
	}
	memset(h->hashes, 0, h->cap * sizeof(*h->hashes));
}

/*
 * A walk covers the array once, from just after a slot that was empty when it
 * began. No cluster crosses that slot, and removals never fill an empty slot,
 * so the backward shift of hashmap_iter_remove only moves entries the walk has
 * not reached yet, and never past the end of the walk.
 */
void *hashmap_next(struct hashmap *h, struct hashmap_iter *it)
{
	size_t mask = h->cap - 1;

	if (!it->start) {
		size_t e = 0;

		while (h->hashes[e]) /* at most three quarters full: there is one */
			e++;
		it->start = e + 1;
		it->seen = 0;
	}
	while (it->seen < h->cap) {
		size_t i = (it->start + it->seen++) & mask;

		if (h->hashes[i])
			return entry_at(h, i);
	}
	shrink(h);
	return NULL;
}

void hashmap_iter_remove(struct hashmap *h, struct hashmap_iter *it)
{
	/* Look at this slot again: an entry not yet returned may have moved into it. */
	it->seen--;
	delete_at(h, (it->start + it->seen) & (h->cap - 1));
}
