// SPDX-License-Identifier: Apache-2.0
#include "activity/pidtab.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct pidtab {
	unsigned char *slots;
	size_t cap; /* power of two */
	size_t n;
	size_t esize;
	size_t min_cap; /* the initial capacity: never shrink below it */
};

static uint64_t mix(uint32_t pid, uint64_t start)
{
	uint64_t x = start ^ ((uint64_t)pid * 0x9e3779b97f4a7c15ULL);

	/* splitmix64 finaliser */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static struct pidtab_hdr *slot(const struct pidtab *t, size_t i)
{
	return (struct pidtab_hdr *)(t->slots + i * t->esize);
}

int pidtab_new(struct pidtab **ret, size_t entry_size, size_t initial)
{
	struct pidtab *t;
	size_t cap = 64;

	if (entry_size < sizeof(struct pidtab_hdr))
		return -EINVAL;
	while (cap < initial * 2)
		cap *= 2;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->esize = (entry_size + 7) & ~(size_t)7;
	t->cap = cap;
	t->min_cap = cap;
	t->slots = calloc(cap, t->esize);
	if (!t->slots) {
		free(t);
		return -ENOMEM;
	}
	*ret = t;
	return 0;
}

void pidtab_free(struct pidtab *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t);
}

size_t pidtab_count(const struct pidtab *t)
{
	return t->n;
}

static size_t find(const struct pidtab *t, uint32_t pid, uint64_t start, bool *found)
{
	size_t mask = t->cap - 1;
	size_t i = mix(pid, start) & mask;

	for (;;) {
		struct pidtab_hdr *h = slot(t, i);

		if (!h->used) {
			*found = false;
			return i;
		}
		if (h->pid == pid && h->start == start) {
			*found = true;
			return i;
		}
		i = (i + 1) & mask;
	}
}

void *pidtab_get(const struct pidtab *t, uint32_t pid, uint64_t start)
{
	bool found;
	size_t i = find(t, pid, start, &found);

	return found ? slot(t, i) : NULL;
}

static int resize(struct pidtab *t, size_t cap)
{
	struct pidtab old = *t;

	t->slots = calloc(cap, old.esize);
	if (!t->slots) {
		t->slots = old.slots;
		return -ENOMEM;
	}
	t->cap = cap;
	for (size_t i = 0; i < old.cap; i++) {
		struct pidtab_hdr *h = slot(&old, i);
		bool found;

		if (h->used)
			memcpy(slot(t, find(t, h->pid, h->start, &found)), h, old.esize);
	}
	free(old.slots);
	return 0;
}

int pidtab_put(struct pidtab *t, uint32_t pid, uint64_t start, void **ret)
{
	struct pidtab_hdr *h;
	bool found;
	size_t i;
	int r;

	i = find(t, pid, start, &found);
	if (found) {
		*ret = slot(t, i);
		return 0;
	}
	/* Up to three quarters full: records are large, and probes stay short at that load. */
	if ((t->n + 1) * 4 > t->cap * 3) {
		r = resize(t, t->cap * 2);
		if (r < 0)
			return r;
		i = find(t, pid, start, &found);
	}
	h = slot(t, i);
	memset(h, 0, t->esize);
	h->pid = pid;
	h->start = start;
	h->used = 1;
	t->n++;
	*ret = h;
	return 1;
}

void *pidtab_next(const struct pidtab *t, size_t *pos)
{
	while (*pos < t->cap) {
		struct pidtab_hdr *h = slot(t, (*pos)++);

		if (h->used)
			return h;
	}
	return NULL;
}

/* Backward-shift deletion: no tombstones, lookups stay short. */
void pidtab_remove_at(struct pidtab *t, size_t *pos)
{
	size_t mask = t->cap - 1;
	size_t hole = *pos - 1;
	size_t j = hole;

	for (;;) {
		struct pidtab_hdr *h;
		size_t home;

		j = (j + 1) & mask;
		h = slot(t, j);
		if (!h->used)
			break;
		home = mix(h->pid, h->start) & mask;
		/* Move h into the hole unless its home lies cyclically in (hole, j]. */
		if (hole <= j ? (home > hole && home <= j) : (home > hole || home <= j))
			continue;
		memcpy(slot(t, hole), h, t->esize);
		hole = j;
	}
	memset(slot(t, hole), 0, t->esize);
	t->n--;
	*pos = *pos - 1; /* the slot just vacated may now hold a record not yet visited */
}

void pidtab_shrink(struct pidtab *t)
{
	size_t cap = t->cap;

	if (cap <= t->min_cap || t->n * 8 >= cap)
		return;
	while (cap > t->min_cap && t->n * 4 < cap)
		cap /= 2;
	resize(t, cap); /* out of memory: keep the larger table */
}
