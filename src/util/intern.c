// SPDX-License-Identifier: Apache-2.0
#include "util/intern.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"

/* The string follows its header in one allocation; callers hold pointers to str. */
struct entry {
	size_t refs;
	uint64_t hash;
	char str[];
};

struct intern {
	struct entry **slot; /* open addressing; a removal re-inserts the rest of its cluster */
	size_t cap;	     /* power of two */
	size_t n;
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
	t->cap = 64;
	t->slot = calloc(t->cap, sizeof(*t->slot));
	if (!t->slot) {
		free(t);
		return NULL;
	}
	return t;
}

void intern_free(struct intern *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++)
		free(t->slot[i]);
	free(t->slot);
	free(t);
}

static size_t find(const struct intern *t, const char *s, uint64_t h)
{
	size_t i = h & (t->cap - 1);

	while (t->slot[i] && (t->slot[i]->hash != h || strcmp(t->slot[i]->str, s) != 0))
		i = (i + 1) & (t->cap - 1);
	return i;
}

static int grow(struct intern *t)
{
	struct entry **old = t->slot;
	size_t oldcap = t->cap;

	t->slot = calloc(oldcap * 2, sizeof(*t->slot));
	if (!t->slot) {
		t->slot = old;
		return -1;
	}
	t->cap = oldcap * 2;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i])
			t->slot[find(t, old[i]->str, old[i]->hash)] = old[i];
	free(old);
	return 0;
}

const char *intern_get(struct intern *t, const char *s)
{
	uint64_t h = hash_str(s);
	size_t i, len;
	struct entry *e;

	if ((t->n + 1) * 2 > t->cap && grow(t) < 0)
		return NULL;
	i = find(t, s, h);
	if (t->slot[i]) {
		t->slot[i]->refs++;
		return t->slot[i]->str;
	}
	len = strlen(s);
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	e->refs = 1;
	e->hash = h;
	memcpy(e->str, s, len + 1);
	t->slot[i] = e;
	t->n++;
	return e->str;
}

void intern_put(struct intern *t, const char *s)
{
	struct entry *e;
	size_t i;

	if (!s)
		return;
	e = entry_of(s);
	if (--e->refs > 0)
		return;
	i = find(t, s, e->hash);
	t->slot[i] = NULL;
	t->n--;
	free(e);
	/* Re-insert the rest of the cluster so that lookups never stop at the hole. */
	for (i = (i + 1) & (t->cap - 1); t->slot[i]; i = (i + 1) & (t->cap - 1)) {
		struct entry *m = t->slot[i];

		t->slot[i] = NULL;
		t->slot[find(t, m->str, m->hash)] = m;
	}
}

size_t intern_count(const struct intern *t)
{
	return t->n;
}
