// SPDX-License-Identifier: Apache-2.0
#include "activity/pidtab.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "util/hashmap.h"

/* A walk's position packs into the callers' size_t: the table never exceeds 2^31 slots. */
_Static_assert(sizeof(size_t) >= 8, "pidtab walk positions need a 64-bit size_t");

struct pidtab {
	struct hashmap *map;
	struct pidtab_hdr tmpl[]; /* a zeroed record: put copies it with the key set */
};

static uint64_t key_hash(const void *key, void *ctx)
{
	const struct pidtab_hdr *k = key;

	(void)ctx;
	return hash_u64(k->start ^ ((uint64_t)k->pid * 0x9e3779b97f4a7c15ULL));
}

static bool key_equal(const void *a, const void *b, void *ctx)
{
	const struct pidtab_hdr *x = a, *y = b;

	(void)ctx;
	return x->pid == y->pid && x->start == y->start;
}

static const struct hashmap_ops ops = {0, key_hash, key_equal};

int pidtab_new(struct pidtab **ret, size_t entry_size, size_t initial)
{
	struct pidtab *t;

	if (entry_size < sizeof(struct pidtab_hdr))
		return -EINVAL;
	t = calloc(1, sizeof(*t) + entry_size);
	if (!t)
		return -ENOMEM;
	t->map = hashmap_new_inline(&ops, NULL, entry_size, initial);
	if (!t->map) {
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
	hashmap_free(t->map);
	free(t);
}

size_t pidtab_count(const struct pidtab *t)
{
	return hashmap_size(t->map);
}

void *pidtab_get(const struct pidtab *t, uint32_t pid, uint64_t start)
{
	struct pidtab_hdr k = {.pid = pid, .start = start};

	return hashmap_get(t->map, &k);
}

int pidtab_put(struct pidtab *t, uint32_t pid, uint64_t start, void **ret)
{
	t->tmpl->pid = pid;
	t->tmpl->start = start;
	return hashmap_put(t->map, t->tmpl, ret);
}

static struct hashmap_iter unpack(size_t pos)
{
	return (struct hashmap_iter){.start = pos >> 32, .seen = pos & 0xffffffffu};
}

static size_t pack(struct hashmap_iter it)
{
	return it.start << 32 | it.seen;
}

void *pidtab_next(struct pidtab *t, size_t *pos)
{
	struct hashmap_iter it = unpack(*pos);
	void *e = hashmap_next(t->map, &it);

	*pos = pack(it);
	return e;
}

void pidtab_remove_at(struct pidtab *t, size_t *pos)
{
	struct hashmap_iter it = unpack(*pos);

	hashmap_iter_remove(t->map, &it);
	*pos = pack(it);
}
