// SPDX-License-Identifier: Apache-2.0
#include "workload/groups.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"

/* A small open-addressing table keyed by id; rebuilt after removals (no tombstones). */
struct group_table {
	struct group **slot;
	size_t cap; /* power of two */
	size_t n;
	struct group **list;
	size_t list_cap;
};

static size_t slot_of(const struct group_table *t, const char *id)
{
	size_t i = hash_str(id) & (t->cap - 1);

	while (t->slot[i] && strcmp(t->slot[i]->id, id) != 0)
		i = (i + 1) & (t->cap - 1);
	return i;
}

struct group_table *group_table_new(void)
{
	struct group_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cap = 64;
	t->slot = calloc(t->cap, sizeof(*t->slot));
	if (!t->slot) {
		free(t);
		return NULL;
	}
	return t;
}

void group_table_free(struct group_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++)
		free(t->slot[i]);
	free(t->slot);
	free(t->list);
	free(t);
}

static int rehash(struct group_table *t, size_t cap)
{
	struct group **old = t->slot;
	size_t oldcap = t->cap;

	t->slot = calloc(cap, sizeof(*t->slot));
	if (!t->slot) {
		t->slot = old;
		return -ENOMEM;
	}
	t->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i])
			t->slot[slot_of(t, old[i]->id)] = old[i];
	free(old);
	return 0;
}

struct group *group_table_get(struct group_table *t, const char *id)
{
	struct group *g;
	size_t i;

	if (!id[0] || strlen(id) >= GROUP_ID_LEN)
		return NULL;
	if ((t->n + 1) * 2 > t->cap && rehash(t, t->cap * 2) < 0)
		return NULL;
	i = slot_of(t, id);
	if (t->slot[i])
		return t->slot[i];
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	strcpy(g->id, id);
	t->slot[i] = g;
	t->n++;
	return g;
}

void group_table_remove(struct group_table *t, struct group *g)
{
	size_t i = slot_of(t, g->id), j = i;

	/* Backward shift: move later members of the chain into the hole. */
	for (;;) {
		size_t h;

		j = (j + 1) & (t->cap - 1);
		if (!t->slot[j])
			break;
		h = hash_str(t->slot[j]->id) & (t->cap - 1);
		/* Movable when its home is not cyclically in (i, j]. */
		if (i <= j ? (h <= i || h > j) : (h <= i && h > j)) {
			t->slot[i] = t->slot[j];
			i = j;
		}
	}
	t->slot[i] = NULL;
	t->n--;
	free(g);
}

size_t group_table_count(const struct group_table *t)
{
	return t->n;
}

int group_table_list(struct group_table *t, struct group ***ret, size_t *ret_n)
{
	size_t n = 0;

	if (t->n > t->list_cap) {
		struct group **l = realloc(t->list, t->n * 2 * sizeof(*l));

		if (!l)
			return -ENOMEM;
		t->list = l;
		t->list_cap = t->n * 2;
	}
	for (size_t i = 0; i < t->cap; i++)
		if (t->slot[i])
			t->list[n++] = t->slot[i];
	*ret = t->list;
	*ret_n = n;
	return 0;
}
