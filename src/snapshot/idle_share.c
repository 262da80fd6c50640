// SPDX-License-Identifier: Apache-2.0
#include "snapshot/idle_share.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hashmap.h"
#include "util/strbuf.h"
#include "util/util.h"

/*
 * A series' share so far. Keys: "p<pid>" a process's own series, "o<container>\x1f<vm>"
 * an "other" series, "c<id>" a container, "v<id>" a VM; fold (process series) the key
 * of the "other" series its share moves to when it ends.
 */
struct entry {
	struct snap_idle idle;
	uint64_t cpu_ns; /* the series' CPU time when last seen: less now is a new series */
	uint64_t gen;	 /* the call that last saw it */
	const char *fold;
	char key[];
};

struct idle_ledger {
	struct hashmap *entries;
	uint64_t gen;
	uint64_t idle[ZONE_MAX], gpu_idle[GPU_MAX]; /* the node's, at the last call */
	uint64_t platform, parts, parts_idle; /* platform; package + dram + GPUs, their idle */
	uint64_t other, platform_dynamic;
};

static const struct hashmap_ops ops = HASHMAP_OPS_STR(struct entry, key);

struct idle_ledger *idle_ledger_new(void)
{
	struct idle_ledger *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->entries = hashmap_new(&ops, NULL, 64);
	if (!l->entries) {
		free(l);
		errno = ENOMEM;
		return NULL;
	}
	return l;
}

void idle_ledger_free(struct idle_ledger *l)
{
	struct hashmap_iter it = {0};
	struct entry *e;

	if (!l)
		return;
	while ((e = hashmap_next(l->entries, &it)))
		free(e);
	hashmap_free(l->entries);
	free(l);
}

/* What this interval brings to share: per zone and GPU, and the totals shares are of. */
struct interval {
	uint64_t idle[ZONE_MAX], gpu_idle[GPU_MAX];
	uint64_t cpu_ns, gpu_use[GPU_MAX];
};

/* a * b / c without overflow (a share of at most a: b <= c). */
static uint64_t part(uint64_t a, uint64_t b, uint64_t c)
{
	return c ? (uint64_t)((unsigned __int128)a * b / c) : 0;
}

static void add_share(struct snap_idle *to, const struct interval *iv, uint64_t cpu_ns,
		      const struct snap_gpu_energy *gpu)
{
	for (int z = 0; z < ZONE_MAX; z++)
		to->uj[z] += part(iv->idle[z], cpu_ns, iv->cpu_ns);
	for (int g = 0; gpu && g < GPU_MAX; g++)
		to->gpu_uj[g] += part(iv->gpu_idle[g], gpu->interval_uj[g], iv->gpu_use[g]);
}

static void add_idle(struct snap_idle *to, const struct snap_idle *from)
{
	for (int z = 0; z < ZONE_MAX; z++)
		to->uj[z] += from->uj[z];
	for (int g = 0; g < GPU_MAX; g++)
		to->gpu_uj[g] += from->gpu_uj[g];
}

/* Move e's share into the series it folds into, when that one is exported now. */
static void fold(struct idle_ledger *l, struct entry *e)
{
	struct entry *to = e->fold ? hashmap_get(l->entries, e->fold) : NULL;

	if (to && to != e && to->gen == l->gen)
		add_idle(&to->idle, &e->idle);
	memset(&e->idle, 0, sizeof(e->idle));
}

/*
 * The entry of a series seen now, created at need, with this interval's share added.
 * fold: where its share goes when it ends (NULL: nowhere, the remainder takes it).
 */
static int see(struct idle_ledger *l, const char *key, const char *fold_key, uint64_t cpu_ns,
	       uint64_t interval_cpu_ns, const struct snap_gpu_energy *gpu,
	       const struct interval *iv)
{
	size_t klen = strlen(key) + 1, flen = fold_key ? strlen(fold_key) + 1 : 0;
	struct entry *e = hashmap_get(l->entries, key);
	int r;

	if (!e) {
		e = calloc(1, sizeof(*e) + klen + flen);
		if (!e)
			return -ENOMEM;
		memcpy(e->key, key, klen);
		if (fold_key) {
			memcpy(e->key + klen, fold_key, flen);
			e->fold = e->key + klen;
		}
		r = hashmap_put(l->entries, e, NULL);
		if (r < 0) {
			free(e);
			return r;
		}
	} else if (cpu_ns < e->cpu_ns) {
		/* The series started again (a reused pid, a container back under its id). */
		fold(l, e);
	}
	e->cpu_ns = cpu_ns;
	e->gen = l->gen;
	add_share(&e->idle, iv, interval_cpu_ns, gpu);
	return 0;
}

static void other_key(struct strbuf *sb, const char *container_id, const char *vm_id)
{
	strbuf_printf(sb, "o%s\x1f%s", container_id, vm_id);
}

/* The node's "other": the series of the processes in no container and no VM. */
static bool is_node_other(const struct snap_process *p)
{
	return !p->pid && !*p->container_id && !*p->vm_id;
}

static int see_processes(struct idle_ledger *l, struct snapshot *s, const struct interval *iv)
{
	struct strbuf key = STRBUF_INIT, to = STRBUF_INIT;
	int r = 0;

	/* The "other" series first: a process series that started again folds into one. */
	for (int own = 0; own < 2; own++)
		for (size_t i = 0; i < s->n_procs && r >= 0; i++) {
			const struct snap_process *p = &s->procs[i];

			if (is_node_other(p) || (p->pid != 0) != own)
				continue;
			strbuf_reset(&key);
			strbuf_reset(&to);
			if (p->pid) {
				strbuf_printf(&key, "p%u", p->pid);
				/* A VM's processes inside a container fold into the container's. */
				other_key(&to, p->container_id, *p->container_id ? "" : p->vm_id);
			} else {
				other_key(&key, p->container_id, p->vm_id);
			}
			r = strbuf_error(&key);
			if (r >= 0)
				r = strbuf_error(&to);
			if (r >= 0)
				r = see(l, key.buf, p->pid ? to.buf : NULL, p->cpu_ns,
					p->interval_cpu_ns, p->gpu, iv);
		}
	strbuf_release(&key);
	strbuf_release(&to);
	return r;
}

static int see_groups(struct idle_ledger *l, struct snapshot *s, enum snap_group_kind kind,
		      const struct interval *iv)
{
	struct strbuf key = STRBUF_INIT;
	int r = 0;

	for (size_t i = 0; i < s->n_groups[kind] && r >= 0; i++) {
		const struct snap_group *g = &s->groups[kind][i];

		strbuf_reset(&key);
		strbuf_printf(&key, "%c%s", kind == SNAP_CONTAINER ? 'c' : 'v', g->id);
		r = strbuf_error(&key);
		if (r >= 0)
			r = see(l, key.buf, NULL, g->cpu_ns, g->interval_cpu_ns, g->gpu, iv);
	}
	strbuf_release(&key);
	return r;
}

/* Entries of series no longer exported: their share folds, or joins the remainder. */
static void forget_unseen(struct idle_ledger *l)
{
	struct hashmap_iter it = {0};
	struct entry *e;

	while ((e = hashmap_next(l->entries, &it)))
		if (e->gen != l->gen)
			fold(l, e);
	it = (struct hashmap_iter){0};
	while ((e = hashmap_next(l->entries, &it)))
		if (e->gen != l->gen) {
			hashmap_iter_remove(l->entries, &it);
			free(e);
		}
}

/* Copy the shares into s; rest gets what the node has and entries with prefix c lack. */
static int publish(struct idle_ledger *l, struct snapshot *s)
{
	struct strbuf key = STRBUF_INIT;
	struct snap_idle sum_procs = {0}, sum_containers = {0};
	struct snap_process *node_other = NULL;
	int r = 0;

	for (size_t i = 0; i < s->n_procs && r >= 0; i++) {
		struct snap_process *p = &s->procs[i];
		const struct entry *e;

		if (is_node_other(p)) {
			node_other = p;
			continue;
		}
		strbuf_reset(&key);
		if (p->pid)
			strbuf_printf(&key, "p%u", p->pid);
		else
			other_key(&key, p->container_id, p->vm_id);
		r = strbuf_error(&key);
		if (r < 0 || !(e = hashmap_get(l->entries, key.buf)))
			continue;
		*p->idle = e->idle;
		add_idle(&sum_procs, &e->idle);
	}
	for (int k = SNAP_CONTAINER; k < SNAP_GROUP_KINDS && r >= 0; k++) {
		if (k == SNAP_POD)
			continue;
		for (size_t i = 0; i < s->n_groups[k] && r >= 0; i++) {
			struct snap_group *g = &s->groups[k][i];
			const struct entry *e;

			strbuf_reset(&key);
			strbuf_printf(&key, "%c%s", k == SNAP_CONTAINER ? 'c' : 'v', g->id);
			r = strbuf_error(&key);
			if (r < 0 || !(e = hashmap_get(l->entries, key.buf)))
				continue;
			*g->idle = e->idle;
			if (k == SNAP_CONTAINER)
				add_idle(&sum_containers, &e->idle);
		}
	}
	strbuf_release(&key);
	/* The remainders: never negative, each share being a part of what the node had. */
	for (int z = 0; z < ZONE_MAX; z++) {
		if (node_other)
			node_other->idle->uj[z] = l->idle[z] - sum_procs.uj[z];
		s->system_idle->uj[z] = l->idle[z] - sum_containers.uj[z];
	}
	for (int g = 0; g < GPU_MAX; g++) {
		if (node_other)
			node_other->idle->gpu_uj[g] = l->gpu_idle[g] - sum_procs.gpu_uj[g];
		s->system_idle->gpu_uj[g] = l->gpu_idle[g] - sum_containers.gpu_uj[g];
	}
	s->other_uj = l->other;
	s->platform_dynamic_uj = l->platform_dynamic;
	return r;
}

/*
 * Kepler 0.7's platform figures, accumulated so that they never decrease: "other",
 * the platform's energy beyond the parts measured on their own (package, DRAM,
 * GPUs), and the platform's "dynamic" energy, beyond those parts' idle energy. An
 * interval in which the parts drew more than the platform adds nothing to either.
 */
static void update_platform(struct idle_ledger *l, const struct snapshot *s)
{
	static const enum zone measured[] = {ZONE_PACKAGE, ZONE_DRAM};
	uint64_t parts = 0, idle = 0, dp;

	if (!s->platform.present)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(measured); i++) {
		const struct snap_zone *z = &s->zone[measured[i]];

		parts += z->present ? z->total_uj : 0;
		idle += z->present ? z->idle_uj : 0;
	}
	for (size_t g = 0; g < s->n_gpus; g++) {
		parts += s->gpu[g].z.total_uj;
		idle += s->gpu[g].z.idle_uj;
	}
	dp = s->platform.total_uj - l->platform;
	l->other += dp > parts - l->parts ? dp - (parts - l->parts) : 0;
	l->platform_dynamic += dp > idle - l->parts_idle ? dp - (idle - l->parts_idle) : 0;
	l->platform = s->platform.total_uj;
	l->parts = parts;
	l->parts_idle = idle;
}

int idle_ledger_apply(struct idle_ledger *l, struct snapshot *s)
{
	struct interval iv = {0};
	int r;

	l->gen++;
	for (int z = 0; z < ZONE_MAX; z++) {
		uint64_t now = s->zone[z].present ? s->zone[z].idle_uj : l->idle[z];

		iv.idle[z] = now > l->idle[z] ? now - l->idle[z] : 0;
		l->idle[z] += iv.idle[z];
	}
	for (size_t g = 0; g < s->n_gpus && g < GPU_MAX; g++) {
		uint64_t now = s->gpu[g].z.idle_uj;

		iv.gpu_idle[g] = now > l->gpu_idle[g] ? now - l->gpu_idle[g] : 0;
		l->gpu_idle[g] += iv.gpu_idle[g];
	}
	for (size_t i = 0; i < s->n_procs; i++) {
		iv.cpu_ns += s->procs[i].interval_cpu_ns;
		for (int g = 0; s->procs[i].gpu && g < GPU_MAX; g++)
			iv.gpu_use[g] += s->procs[i].gpu->interval_uj[g];
	}
	update_platform(l, s);
	r = see_processes(l, s, &iv);
	if (r >= 0)
		r = see_groups(l, s, SNAP_CONTAINER, &iv);
	if (r >= 0)
		r = see_groups(l, s, SNAP_VM, &iv);
	forget_unseen(l);
	return r < 0 ? r : publish(l, s);
}
