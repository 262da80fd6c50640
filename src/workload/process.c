// SPDX-License-Identifier: Apache-2.0
#include "workload/process.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/intern.h"

/* Open addressing on pid, no tombstones: a removal shifts its chain back. */
#define TABLE_MIN 1024
struct proc_table {
	struct process **slot;
	size_t cap; /* power of two */
	size_t n;
	struct intern *strings;
	struct process **list; /* proc_table_list's, reused */
	size_t list_cap;
};

static size_t home(const struct proc_table *t, uint32_t pid)
{
	return (pid * 2654435761u) & (t->cap - 1);
}

static size_t slot_of(const struct proc_table *t, uint32_t pid)
{
	size_t i = home(t, pid);

	while (t->slot[i] && t->slot[i]->pid != pid)
		i = (i + 1) & (t->cap - 1);
	return i;
}

struct proc_table *proc_table_new(void)
{
	struct proc_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cap = TABLE_MIN;
	t->slot = calloc(t->cap, sizeof(*t->slot));
	t->strings = intern_new();
	if (!t->slot || !t->strings) {
		free(t->slot);
		intern_free(t->strings);
		free(t);
		return NULL;
	}
	return t;
}

void proc_table_free(struct proc_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++)
		free(t->slot[i]);
	free(t->slot);
	intern_free(t->strings);
	free(t->list);
	free(t);
}

static int rehash(struct proc_table *t, size_t cap)
{
	struct process **old = t->slot;
	size_t oldcap = t->cap;

	t->slot = calloc(cap, sizeof(*t->slot));
	if (!t->slot) {
		t->slot = old;
		return -ENOMEM;
	}
	t->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i])
			t->slot[slot_of(t, old[i]->pid)] = old[i];
	free(old);
	return 0;
}

int proc_table_reserve(struct proc_table *t, size_t n)
{
	size_t cap = t->cap;

	while ((t->n + n) * 4 > cap * 3)
		cap *= 2;
	return cap == t->cap ? 0 : rehash(t, cap);
}

struct process *proc_table_get(struct proc_table *t, uint32_t pid)
{
	return t->slot[slot_of(t, pid)];
}

struct process *proc_table_add(struct proc_table *t, uint32_t pid)
{
	struct process *p;

	if (proc_table_reserve(t, 1) < 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	t->slot[slot_of(t, pid)] = p;
	t->n++;
	return p;
}

void proc_table_remove(struct proc_table *t, struct process *p)
{
	size_t i = slot_of(t, p->pid), j = i;

	/* Backward shift: move later members of the chain into the hole. */
	for (;;) {
		size_t h;

		j = (j + 1) & (t->cap - 1);
		if (!t->slot[j])
			break;
		h = home(t, t->slot[j]->pid);
		/* Movable when its home is not cyclically in (i, j]. */
		if (i <= j ? (h <= i || h > j) : (h <= i && h > j)) {
			t->slot[i] = t->slot[j];
			i = j;
		}
	}
	t->slot[i] = NULL;
	t->n--;
	free(p);
	/* Shrink after a burst, so that resident memory returns. */
	if (t->cap > TABLE_MIN && t->n * 8 < t->cap)
		(void)rehash(t, t->cap / 2); /* a failed shrink keeps the larger table */
}

size_t proc_table_count(const struct proc_table *t)
{
	return t->n;
}

struct intern *proc_table_strings(struct proc_table *t)
{
	return t->strings;
}

int proc_table_list(struct proc_table *t, struct process ***ret, size_t *ret_n)
{
	size_t n = 0;

	if (t->n > t->list_cap || (t->list_cap > TABLE_MIN && t->n * 8 < t->list_cap)) {
		size_t cap = t->n + t->n / 4 > TABLE_MIN ? t->n + t->n / 4 : TABLE_MIN;
		struct process **l = malloc(cap * sizeof(*l));

		if (!l) {
			if (t->n > t->list_cap)
				return -ENOMEM;
		} else {
			free(t->list);
			t->list = l;
			t->list_cap = cap;
		}
	}
	for (size_t i = 0; i < t->cap; i++)
		if (t->slot[i])
			t->list[n++] = t->slot[i];
	*ret = t->list;
	*ret_n = n;
	return 0;
}
