// SPDX-License-Identifier: Apache-2.0
#include "workload/groups.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/hashmap.h"

struct group_table {
	struct hashmap *by_id;
	struct group **list; /* group_table_list's, reused */
	size_t list_cap;
};

static const struct hashmap_ops by_id_ops = HASHMAP_OPS_STR(struct group, id);

struct group_table *group_table_new(void)
{
	struct group_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->by_id = hashmap_new(&by_id_ops, NULL, 64);
	if (!t->by_id) {
		free(t);
		return NULL;
	}
	return t;
}

static void group_free(struct group *g)
{
	account_release(&g->acct);
	account_release(&g->other);
	free(g);
}

void group_table_free(struct group_table *t)
{
	struct hashmap_iter it = {0};
	struct group *g;

	if (!t)
		return;
	while ((g = hashmap_next(t->by_id, &it)))
		group_free(g);
	hashmap_free(t->by_id);
	free(t->list);
	free(t);
}

struct group *group_table_get(struct group_table *t, const char *id)
{
	struct group *g;

	if (!id[0] || strlen(id) >= GROUP_ID_LEN)
		return NULL;
	g = hashmap_get(t->by_id, id);
	if (g)
		return g;
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	strcpy(g->id, id);
	if (hashmap_put(t->by_id, g, NULL) < 0) {
		free(g);
		return NULL;
	}
	return g;
}

void group_table_remove(struct group_table *t, struct group *g)
{
	hashmap_remove(t->by_id, g);
	group_free(g);
}

size_t group_table_count(const struct group_table *t)
{
	return hashmap_size(t->by_id);
}

int group_table_list(struct group_table *t, struct group ***ret, size_t *ret_n)
{
	size_t n = hashmap_size(t->by_id), k = 0;
	struct hashmap_iter it = {0};
	struct group *g;

	if (n > t->list_cap) {
		struct group **l = realloc(t->list, n * 2 * sizeof(*l));

		if (!l)
			return -ENOMEM;
		t->list = l;
		t->list_cap = n * 2;
	}
	while ((g = hashmap_next(t->by_id, &it)))
		t->list[k++] = g;
	*ret = t->list;
	*ret_n = k;
	return 0;
}
