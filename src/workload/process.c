// SPDX-License-Identifier: Apache-2.0
#include "workload/process.h"

#include <errno.h>
#include <stdlib.h>

#include "util/hashmap.h"
#include "util/intern.h"

#define TABLE_MIN 1024

struct proc_table {
	struct hashmap *by_pid;
	struct intern *strings;
	struct process **list; /* proc_table_list's, reused */
	size_t list_cap;
};

static const struct hashmap_ops by_pid_ops = HASHMAP_OPS_U32(struct process, pid);

struct proc_table *proc_table_new(void)
{
	struct proc_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->by_pid = hashmap_new(&by_pid_ops, NULL, TABLE_MIN);
	t->strings = intern_new();
	if (!t->by_pid || !t->strings) {
		proc_table_free(t);
		return NULL;
	}
	return t;
}

void proc_table_free(struct proc_table *t)
{
	struct hashmap_iter it = {0};
	struct process *p;

	if (!t)
		return;
	while (t->by_pid && (p = hashmap_next(t->by_pid, &it))) {
		attr_proc_release(&p->attr);
		free(p);
	}
	hashmap_free(t->by_pid);
	intern_free(t->strings);
	free(t->list);
	free(t);
}

struct process *proc_table_get(struct proc_table *t, uint32_t pid)
{
	return hashmap_get(t->by_pid, &pid);
}

struct process *proc_table_add(struct proc_table *t, uint32_t pid)
{
	struct process *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->pid = pid;
	if (hashmap_put(t->by_pid, p, NULL) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

void proc_table_remove(struct proc_table *t, struct process *p)
{
	hashmap_remove(t->by_pid, p);
	attr_proc_release(&p->attr);
	free(p);
}

size_t proc_table_count(const struct proc_table *t)
{
	return hashmap_size(t->by_pid);
}

struct intern *proc_table_strings(struct proc_table *t)
{
	return t->strings;
}

int proc_table_list(struct proc_table *t, struct process ***ret, size_t *ret_n)
{
	size_t n = hashmap_size(t->by_pid), k = 0;
	struct hashmap_iter it = {0};
	struct process *p;

	/* Shrunk once mostly unused, so that memory returns after a burst. */
	if (n > t->list_cap || (t->list_cap > TABLE_MIN && n * 8 < t->list_cap)) {
		size_t cap = n + n / 4 > TABLE_MIN ? n + n / 4 : TABLE_MIN;
		struct process **l = malloc(cap * sizeof(*l));

		if (!l) {
			if (n > t->list_cap)
				return -ENOMEM;
		} else {
			free(t->list);
			t->list = l;
			t->list_cap = cap;
		}
	}
	while ((p = hashmap_next(t->by_pid, &it)))
		t->list[k++] = p;
	*ret = t->list;
	*ret_n = k;
	return 0;
}
