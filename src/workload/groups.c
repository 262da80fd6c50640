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
	uint32_t max_terminated;
	uint64_t interval;
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

struct group_table *group_table_new(uint32_t max_terminated)
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
	t->max_terminated = max_terminated;
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

static int reserve_list(struct group_table *t)
{
	struct group **l;

	if (t->n <= t->list_cap)
		return 0;
	l = realloc(t->list, t->n * 2 * sizeof(*l));
	if (!l)
		return -ENOMEM;
	t->list = l;
	t->list_cap = t->n * 2;
	return 0;
}

static uint64_t total_energy(const struct group *g)
{
	uint64_t e = 0;

	for (int z = 0; z < ZONE_MAX; z++)
		e += g->energy_uj[z];
	return e;
}

static int cmp_energy(const void *a, const void *b)
{
	const struct group *x = *(const struct group *const *)a;
	const struct group *y = *(const struct group *const *)b;
	uint64_t ex = total_energy(x), ey = total_energy(y);

	if (ex != ey)
		return ex > ey ? -1 : 1;
	return strcmp(x->id, y->id);
}

int group_table_begin(struct group_table *t, uint64_t scrapes)
{
	size_t n_term = 0, removed = 0;
	int r;

	t->interval++;
	r = reserve_list(t);
	if (r < 0)
		return r;
	for (size_t i = 0; i < t->cap; i++) {
		struct group *g = t->slot[i];

		if (!g)
			continue;
		g->alive = false;
		memset(g->interval_uj, 0, sizeof(g->interval_uj));
		if (!g->terminated)
			continue;
		/* Kept one interval past its end: the residue of its last processes lands then. */
		if (scrapes > g->scrape_mark && t->interval > g->ended_interval + 1) {
			free(g);
			t->slot[i] = NULL;
			removed++;
			continue;
		}
		t->list[n_term++] = g;
	}
	if (n_term > t->max_terminated) {
		qsort(t->list, n_term, sizeof(*t->list), cmp_energy);
		for (size_t k = t->max_terminated; k < n_term; k++)
			t->list[k]->id[0] = '\0'; /* no group has an empty id: marks the victims */
		for (size_t i = 0; i < t->cap; i++)
			if (t->slot[i] && !t->slot[i]->id[0]) {
				free(t->slot[i]);
				t->slot[i] = NULL;
				removed++;
			}
	}
	if (!removed)
		return 0;
	t->n -= removed;
	return rehash(t, t->cap);
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

void group_add(struct group *g, uint64_t interval_cpu_ns, const uint64_t interval_uj[ZONE_MAX],
	       bool alive)
{
	g->cpu_ns += interval_cpu_ns;
	for (int z = 0; z < ZONE_MAX; z++) {
		g->energy_uj[z] += interval_uj[z];
		g->interval_uj[z] += interval_uj[z];
	}
	if (alive) {
		g->alive = true;
		/* A container id seen alive again (a restarted pod sandbox reusing a uid). */
		g->terminated = false;
	}
}

void group_table_end(struct group_table *t, uint64_t scrapes)
{
	for (size_t i = 0; i < t->cap; i++) {
		struct group *g = t->slot[i];

		if (g && !g->alive && !g->terminated) {
			g->terminated = true;
			g->scrape_mark = scrapes;
			g->ended_interval = t->interval;
		}
	}
}

size_t group_table_count(const struct group_table *t)
{
	return t->n;
}

int group_table_sorted(struct group_table *t, const struct group ***ret, size_t *ret_n)
{
	size_t n = 0;
	int r = reserve_list(t);

	if (r < 0)
		return r;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slot[i])
			t->list[n++] = t->slot[i];
	if (n > 1)
		qsort(t->list, n, sizeof(*t->list), cmp_energy);
	*ret = (const struct group **)t->list;
	*ret_n = n;
	return 0;
}
