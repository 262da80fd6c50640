// SPDX-License-Identifier: Apache-2.0
#include "util/intern.h"

#include <stdlib.h>
#include <string.h>

#include "util/hashmap.h"

/* The string follows its header in one allocation; callers hold pointers to str. */
struct entry {
	size_t refs;
	char str[];
};

static const struct hashmap_ops ops = HASHMAP_OPS_STR(struct entry, str);

struct intern {
	struct hashmap *map;
};

static struct entry *entry_of(const char *s)
{
	return (struct entry *)(s - offsetof(struct entry, str));
}

struct intern *intern_new(void)
{
	struct intern *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->map = hashmap_new(&ops, NULL, 32);
	if (!t->map) {
		free(t);
		return NULL;
	}
	return t;
}

void intern_free(struct intern *t)
{
	struct hashmap_iter it = {};
	struct entry *e;

	if (!t)
		return;
	while ((e = hashmap_next(t->map, &it)))
		free(e);
	hashmap_free(t->map);
	free(t);
}

const char *intern_get(struct intern *t, const char *s)
{
	struct entry *e = hashmap_get(t->map, s);
	size_t len;

	if (e) {
		e->refs++;
		return e->str;
	}
	len = strlen(s);
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	e->refs = 1;
	memcpy(e->str, s, len + 1);
	if (hashmap_put(t->map, e, NULL) < 0) {
		free(e);
		return NULL;
	}
	return e->str;
}

void intern_put(struct intern *t, const char *s)
{
	struct entry *e;

	if (!s)
		return;
	e = entry_of(s);
	if (--e->refs > 0)
		return;
	hashmap_remove(t->map, e);
	free(e);
}

size_t intern_count(const struct intern *t)
{
	return hashmap_size(t->map);
}
