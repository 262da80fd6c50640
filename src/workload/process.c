// SPDX-License-Identifier: Apache-2.0
#include "workload/process.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "attribution/share.h"
#include "util/intern.h"

/* Open addressing on pid, no tombstones: a pass that removes entries rebuilds the table. */
#define TABLE_MIN 1024
struct proc_table {
	struct process **slot;
	size_t cap; /* power of two */
	size_t n;
	uint32_t max_terminated;
	uint32_t max_shown;
	uint32_t n_shown;
	struct process_other other;
	uint64_t interval;
	struct intern *strings;
	/* Scratch reused across intervals, so the steady state allocates nothing. */
	struct process **list;
	uint64_t *weights;
	uint64_t *parts;
	size_t scratch_cap;
};

static size_t slot_of(const struct proc_table *t, uint32_t pid)
{
	size_t i = (pid * 2654435761u) & (t->cap - 1);

	while (t->slot[i] && t->slot[i]->pid != pid)
		i = (i + 1) & (t->cap - 1);
	return i;
}

struct proc_table *proc_table_new(uint32_t max_terminated, uint32_t max_shown)
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
	t->max_terminated = max_terminated;
	t->max_shown = max_shown;
	return t;
}

/* Give the identity's strings back; the process itself stays. */
static void identity_clear(struct proc_table *t, struct process_identity *id)
{
	intern_put(t->strings, id->container_id);
	intern_put(t->strings, id->pod_uid);
	intern_put(t->strings, id->vm_id);
	intern_put(t->strings, id->exe);
	*id = (struct process_identity){0};
}

/*
 * An exec (a new comm, and with eBPF the cgroup read again) or a move to
 * another cgroup since the identity was resolved: resolve it again. A
 * container's process is often first seen as the runtime's init, before its
 * move into the container's cgroup and its exec; keeping that first identity
 * would attribute the container's main process to the host forever.
 */
static bool identity_may_differ(const struct process *p, const struct proc_activity *a)
{
	return strncmp(p->comm, a->comm, sizeof(p->comm)) != 0 ||
	       (a->cgroup_id && a->cgroup_id != p->cgroup_id);
}

static void process_free(struct proc_table *t, struct process *p)
{
	if (p)
		identity_clear(t, &p->id);
	free(p);
}

void proc_table_free(struct proc_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++)
		process_free(t, t->slot[i]);
	free(t->slot);
	intern_free(t->strings);
	free(t->list);
	free(t);
}

void proc_table_set_max_shown(struct proc_table *t, uint32_t max_shown)
{
	t->max_shown = max_shown;
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

/* The table's size for n processes: at most three quarters full, shrunk under an eighth. */
static size_t table_size(size_t n, size_t cap)
{
	while (n * 4 > cap * 3)
		cap *= 2;
	while (cap > TABLE_MIN && n * 8 < cap)
		cap /= 2;
	return cap;
}

/*
 * Scratch arrays for n processes, one allocation: grown on demand, shrunk
 * once mostly unused. Their contents do not outlive the call that fills them.
 */
static int reserve_scratch(struct proc_table *t, size_t n)
{
	size_t cap = n + n / 4 > TABLE_MIN ? n + n / 4 : TABLE_MIN;
	void *block;

	if (n <= t->scratch_cap && (t->scratch_cap <= TABLE_MIN || n * 8 >= t->scratch_cap))
		return 0;
	block = malloc(cap * (sizeof(*t->list) + sizeof(*t->weights) + sizeof(*t->parts)));
	if (!block)
		return n <= t->scratch_cap ? 0 : -ENOMEM; /* a failed shrink keeps the old */
	free(t->list);
	t->list = block;
	t->weights = (uint64_t *)(t->list + cap);
	t->parts = t->weights + cap;
	t->scratch_cap = cap;
	return 0;
}

static int cmp_energy(const void *a, const void *b)
{
	const struct process *x = *(const struct process *const *)a;
	const struct process *y = *(const struct process *const *)b;
	uint64_t ex = 0, ey = 0;

	for (int z = 0; z < ZONE_MAX; z++) {
		ex += x->energy_uj[z];
		ey += y->energy_uj[z];
	}
	if (ex != ey)
		return ex > ey ? -1 : 1;
	if (x->cpu_ns != y->cpu_ns)
		return x->cpu_ns > y->cpu_ns ? -1 : 1;
	return x->pid < y->pid ? -1 : (x->pid > y->pid);
}

/*
 * Remove terminated processes that a scrape has seen, and the smallest beyond
 * max_terminated. A process stays at least one interval after its exit: the
 * activity source delivers the residue of its last time slice then, and a
 * re-created entry would restart its counters.
 */
static int drop_terminated(struct proc_table *t, uint64_t scrapes)
{
	size_t n_term = 0, removed = 0;
	int r;

	r = reserve_scratch(t, t->n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < t->cap; i++) {
		struct process *p = t->slot[i];

		if (!p || !p->terminated)
			continue;
		if (scrapes > p->scrape_mark && t->interval > p->seen_interval + 1) {
			t->n_shown -= p->shown;
			process_free(t, p);
			t->slot[i] = NULL;
			removed++;
			continue;
		}
		t->list[n_term++] = p;
	}
	if (n_term > t->max_terminated) {
		qsort(t->list, n_term, sizeof(*t->list), cmp_energy);
		for (size_t k = t->max_terminated; k < n_term; k++)
			t->list[k]->pid = 0; /* pid 0 is never a process here: marks the victims */
		for (size_t i = 0; i < t->cap; i++)
			if (t->slot[i] && t->slot[i]->pid == 0) {
				t->n_shown -= t->slot[i]->shown;
				process_free(t, t->slot[i]);
				t->slot[i] = NULL;
				removed++;
			}
	}
	if (!removed)
		return 0;
	t->n -= removed;
	/* Removal breaks probe chains: rebuild, smaller after a burst. */
	return rehash(t, table_size(t->n, t->cap));
}

enum feature { F_CPU, F_CYCLES, F_MISSES };

/*
 * What a zone's active energy follows (DESIGN section 4): cycles for package and
 * core, cache misses for dram, where the hardware counts them; on-CPU time
 * otherwise, and for the other zones.
 */
static enum feature zone_feature(enum zone z, bool counters, uint64_t cycles, uint64_t misses)
{
	if (counters && cycles && (z == ZONE_PACKAGE || z == ZONE_CORE))
		return F_CYCLES;
	if (counters && misses && z == ZONE_DRAM)
		return F_MISSES;
	return F_CPU;
}

/* Fill free places among the shown processes, then fold the rest into "other". */
static int select_shown(struct proc_table *t)
{
	const struct process **list;
	size_t n;
	int r;

	memset(t->other.interval_uj, 0, sizeof(t->other.interval_uj));
	if (t->n_shown < t->max_shown) {
		r = proc_table_sorted(t, &list, &n);
		if (r < 0)
			return r;
		for (size_t k = 0; k < n && t->n_shown < t->max_shown; k++)
			if (!list[k]->shown) {
				((struct process *)list[k])->shown = true;
				t->n_shown++;
			}
	}
	for (size_t i = 0; i < t->cap; i++) {
		struct process *p = t->slot[i];

		if (!p || p->shown)
			continue;
		t->other.cpu_ns += p->interval_cpu_ns;
		for (int z = 0; z < ZONE_MAX; z++) {
			t->other.energy_uj[z] += p->interval_uj[z];
			t->other.interval_uj[z] += p->interval_uj[z];
		}
	}
	return 0;
}

int proc_table_update(struct proc_table *t, const struct activity_delta *d,
		      const uint64_t active_uj[ZONE_MAX], uint32_t zones, uint64_t scrapes)
{
	uint64_t cycles = 0, misses = 0;
	size_t n_active = 0;
	int r;

	t->interval++;
	r = drop_terminated(t, scrapes);
	if (r < 0)
		return r;
	if ((t->n + d->n) * 4 > t->cap * 3) {
		r = rehash(t, table_size(t->n + d->n, t->cap));
		if (r < 0)
			return r;
	}
	r = reserve_scratch(t, t->n + d->n);
	if (r < 0)
		return r;

	for (size_t i = 0; i < t->cap; i++)
		if (t->slot[i]) {
			t->slot[i]->interval_cpu_ns = 0;
			t->slot[i]->interval_cycles = 0;
			t->slot[i]->interval_cache_misses = 0;
			memset(t->slot[i]->interval_uj, 0, sizeof(t->slot[i]->interval_uj));
		}

	for (size_t k = 0; k < d->n; k++) {
		const struct proc_activity *a = &d->procs[k];
		size_t i = slot_of(t, a->pid);
		struct process *p = t->slot[i];

		if (!p) {
			p = calloc(1, sizeof(*p));
			if (!p)
				return -ENOMEM;
			p->pid = a->pid;
			t->slot[i] = p;
			t->n++;
		} else if (p->terminated && !a->exited) {
			/* A recycled pid: the old process has ended and a new one took its number.
			 */
			t->n_shown -= p->shown;
			identity_clear(t, &p->id);
			memset(p, 0, sizeof(*p));
			p->pid = a->pid;
		} else if (p->id.resolved && identity_may_differ(p, a)) {
			identity_clear(t, &p->id);
		}
		p->ppid = a->ppid;
		p->cgroup_id = a->cgroup_id;
		p->kernel_thread = a->kernel_thread;
		memcpy(p->comm, a->comm, sizeof(p->comm));
		p->comm[sizeof(p->comm) - 1] = '\0';
		p->cpu_ns += a->cpu_ns;
		p->interval_cpu_ns += a->cpu_ns;
		p->interval_cycles += a->cycles;
		p->interval_cache_misses += a->cache_misses;
		p->seen_interval = t->interval;
		if (a->exited && !p->terminated) {
			p->terminated = true;
			p->scrape_mark = scrapes;
		}
	}

	for (size_t i = 0; i < t->cap; i++) {
		struct process *p = t->slot[i];

		if (p && (p->interval_cpu_ns || p->interval_cycles || p->interval_cache_misses)) {
			t->list[n_active++] = p;
			cycles += p->interval_cycles;
			misses += p->interval_cache_misses;
		}
	}
	for (int z = 0; z < ZONE_MAX; z++) {
		enum feature f = zone_feature((enum zone)z, d->has_counters, cycles, misses);

		if (!(zones & ZONE_BIT(z)) || active_uj[z] == 0)
			continue;
		for (size_t k = 0; k < n_active; k++)
			t->weights[k] = f == F_CYCLES	? t->list[k]->interval_cycles
					: f == F_MISSES ? t->list[k]->interval_cache_misses
							: t->list[k]->interval_cpu_ns;
		if (share_split(active_uj[z], t->weights, n_active, t->parts) < 0)
			continue;
		for (size_t k = 0; k < n_active; k++) {
			t->list[k]->energy_uj[z] += t->parts[k];
			t->list[k]->interval_uj[z] += t->parts[k];
		}
	}
	return select_shown(t);
}

size_t proc_table_count(const struct proc_table *t)
{
	return t->n;
}

struct intern *proc_table_strings(struct proc_table *t)
{
	return t->strings;
}

const struct process_other *proc_table_other(const struct proc_table *t)
{
	return &t->other;
}

int proc_table_list(struct proc_table *t, struct process ***ret, size_t *ret_n)
{
	size_t n = 0;
	int r = reserve_scratch(t, t->n);

	if (r < 0)
		return r;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slot[i])
			t->list[n++] = t->slot[i];
	*ret = t->list;
	*ret_n = n;
	return 0;
}

int proc_table_sorted(struct proc_table *t, const struct process ***ret, size_t *ret_n)
{
	struct process **list;
	size_t n;
	int r = proc_table_list(t, &list, &n);

	if (r < 0)
		return r;
	if (n > 1)
		qsort(list, n, sizeof(*list), cmp_energy);
	*ret = (const struct process **)list;
	*ret_n = n;
	return 0;
}
