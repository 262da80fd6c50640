// SPDX-License-Identifier: Apache-2.0
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "snapshot/build.h"
#include "util/fileio.h"
#include "util/util.h"

/* Every string and array of one snapshot, in a few large blocks freed together. */
#define ARENA_BLOCK 16384
struct snap_arena {
	struct snap_arena *next;
	size_t used, cap;
	max_align_t data[];
};

static void *arena_alloc(struct snapshot *s, size_t size)
{
	struct snap_arena *a = s->arena;
	size_t align = sizeof(max_align_t), cap;
	void *p;

	size = (size + align - 1) / align * align;
	if (!a || a->cap - a->used < size) {
		cap = size > ARENA_BLOCK ? size : ARENA_BLOCK;
		a = malloc(sizeof(*a) + cap);
		if (!a)
			return NULL;
		a->used = 0;
		a->cap = cap;
		a->next = s->arena;
		s->arena = a;
	}
	p = (char *)a->data + a->used;
	a->used += size;
	return p;
}

/* A copy of str ("" for NULL) in the snapshot; NULL only without memory. */
static const char *arena_str(struct snapshot *s, const char *str)
{
	size_t n;
	char *p;

	if (!str || !*str)
		return "";
	n = strlen(str) + 1;
	p = arena_alloc(s, n);
	if (p)
		memcpy(p, str, n);
	return p;
}

void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	while (s->arena) {
		struct snap_arena *next = s->arena->next;

		free(s->arena);
		s->arena = next;
	}
	free(s);
}

static struct snap_zone copy_zone(const struct node_zone *nz, const char *idle_method,
				  const char *source)
{
	return (struct snap_zone){
	    .present = nz->present,
	    .total_uj = nz->total_uj,
	    .idle_uj = nz->idle_uj,
	    .active_uj = nz->active_uj,
	    .watts = nz->watts,
	    .idle_watts = nz->idle_watts,
	    .active_watts = nz->active_watts,
	    .idle_estimate_w = nz->idle_estimate_w,
	    .idle_method = idle_method ? idle_method : "",
	    .source = source ? source : "",
	    .read_errors = nz->read_errors,
	};
}

/* The GPUs: their strings are the backends' for the life of the agent, copied all the same. */
static int copy_gpus(struct snapshot *s, const struct snapshot_input *in)
{
	for (size_t i = 0; i < in->n_gpus && i < GPU_MAX; i++) {
		const struct gpu_info *gi = in->gpu[i];
		struct snap_gpu *g = &s->gpu[i];

		g->z = copy_zone(node_acct_gpu(in->node, (uint32_t)i), in->gpu_idle_method[i],
				 gi->backend);
		g->uuid = arena_str(s, gi->uuid);
		g->name = arena_str(s, gi->name);
		g->vendor = arena_str(s, gi->vendor);
		g->pci = arena_str(s, gi->pci);
		g->energy_source = arena_str(s, gi->energy_source);
		g->usage_source = arena_str(s, gi->usage_source);
		if (!g->uuid || !g->name || !g->vendor || !g->pci || !g->energy_source ||
		    !g->usage_source)
			return -ENOMEM;
		s->n_gpus = i + 1;
	}
	return 0;
}

/* A copy of an account's GPU part; *ret NULL when it has none. */
static int copy_gpu_energy(struct snapshot *s, const struct account *a,
			   const struct gpu_account *own, const struct snap_gpu_energy **ret)
{
	struct snap_gpu_energy *e;

	*ret = NULL;
	if (!a->gpu)
		return 0;
	e = arena_alloc(s, sizeof(*e));
	if (!e)
		return -ENOMEM;
	memcpy(e->energy_uj, a->gpu->energy_uj, sizeof(e->energy_uj));
	memcpy(e->interval_uj, a->gpu->interval_uj, sizeof(e->interval_uj));
	for (int i = 0; i < GPU_MAX; i++)
		e->util[i] = own ? own->util[i] : -1;
	*ret = e;
	return 0;
}

static void copy_node(struct snapshot *s, const struct snapshot_input *in)
{
	struct snap_platform_model *pm = &s->platform_model;

	for (int z = 0; z < ZONE_MAX; z++)
		s->zone[z] =
		    copy_zone(node_acct_zone(in->node, z), in->idle_method[z], in->zone_source[z]);
	s->platform = copy_zone(node_acct_platform(in->node), in->platform_idle_method,
				in->platform_power_source);
	if (node_acct_platform_estimated(in->node) && in->platform_coef) {
		*pm = (struct snap_platform_model){.present = true, .method = "configured"};
		memcpy(pm->coef, in->platform_coef, sizeof(pm->coef));
	} else if (node_acct_platform_fit(in->node, pm->coef, &pm->samples) == 0) {
		pm->present = true;
		pm->method = "fitted";
	}
}

static int copy_process(struct snapshot *s, struct snap_process *sp, const struct process *p)
{
	*sp = (struct snap_process){
	    .pid = p->pid,
	    .comm = arena_str(s, p->comm),
	    .exe = arena_str(s, p->id.exe),
	    .type = process_type_name(p),
	    .container_id = arena_str(s, p->id.container_id),
	    .vm_id = arena_str(s, p->id.vm_id),
	    .terminated = p->attr.life.terminated,
	    .cpu_ns = p->attr.series->cpu_ns,
	    .interval_cpu_ns = p->attr.series->interval_cpu_ns,
	};
	memcpy(sp->energy_uj, p->attr.series->energy_uj, sizeof(sp->energy_uj));
	memcpy(sp->interval_uj, p->attr.series->interval_uj, sizeof(sp->interval_uj));
	sp->platform_uj = p->attr.series->platform_uj;
	sp->interval_platform_uj = p->attr.series->interval_platform_uj;
	if (copy_gpu_energy(s, p->attr.series, p->attr.acct.gpu, &sp->gpu) < 0)
		return -ENOMEM;
	return sp->comm && sp->exe && sp->container_id && sp->vm_id ? 0 : -ENOMEM;
}

/* An "other" series: the processes of a container (or VM, or neither) without their own. */
static int copy_other(struct snapshot *s, struct snap_process *sp, const struct account *a,
		      const char *container_id, const char *vm_id, bool terminated)
{
	*sp = (struct snap_process){
	    .comm = "other",
	    .exe = "",
	    .type = "other",
	    .container_id = arena_str(s, container_id),
	    .vm_id = arena_str(s, vm_id),
	    .terminated = terminated,
	    .cpu_ns = a->cpu_ns,
	    .interval_cpu_ns = a->interval_cpu_ns,
	};
	memcpy(sp->energy_uj, a->energy_uj, sizeof(sp->energy_uj));
	memcpy(sp->interval_uj, a->interval_uj, sizeof(sp->interval_uj));
	sp->platform_uj = a->platform_uj;
	sp->interval_platform_uj = a->interval_platform_uj;
	if (copy_gpu_energy(s, a, NULL, &sp->gpu) < 0)
		return -ENOMEM;
	return sp->container_id && sp->vm_id ? 0 : -ENOMEM;
}

/* Energy over every zone and GPU. */
static uint64_t all_zones(const uint64_t uj[ZONE_MAX], const struct snap_gpu_energy *gpu)
{
	uint64_t e = 0;

	for (int z = 0; z < ZONE_MAX; z++)
		e += uj[z];
	for (int i = 0; gpu && i < GPU_MAX; i++)
		e += gpu->energy_uj[i];
	return e;
}

/* Largest energy first, then the most CPU time, then pid: a stable order for readers. */
static int cmp_series(const void *a, const void *b)
{
	const struct snap_process *x = a, *y = b;
	uint64_t ex = all_zones(x->energy_uj, x->gpu), ey = all_zones(y->energy_uj, y->gpu);

	if (ex != ey)
		return ex > ey ? -1 : 1;
	if (x->cpu_ns != y->cpu_ns)
		return x->cpu_ns > y->cpu_ns ? -1 : 1;
	return x->pid < y->pid ? -1 : (x->pid > y->pid);
}

/* A group's "other" is exported once it has held something: it then only grows. */
static bool other_used(const struct account *a)
{
	return a->cpu_ns || account_energy(a);
}

static int copy_processes(struct snapshot *s, struct workloads *w)
{
	struct group_table *kinds[] = {workloads_groups(w, GROUP_CONTAINER),
				       workloads_groups(w, GROUP_VM)};
	struct process **list;
	struct group **groups;
	size_t n, ng, max = 1, k = 0;
	int r;

	r = proc_table_list(workloads_procs(w), &list, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		max += list[i]->attr.series != NULL;
	for (size_t g = 0; g < ARRAY_SIZE(kinds); g++)
		max += group_table_count(kinds[g]);
	s->procs = arena_alloc(s, max * sizeof(*s->procs));
	if (!s->procs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (list[i]->attr.series && (r = copy_process(s, &s->procs[k++], list[i])) < 0)
			return r;
	qsort(s->procs, k, sizeof(*s->procs), cmp_series);
	for (size_t g = 0; g < ARRAY_SIZE(kinds); g++) {
		r = group_table_list(kinds[g], &groups, &ng);
		if (r < 0)
			return r;
		for (size_t i = 0; i < ng; i++) {
			const struct group *gr = groups[i];

			if (!other_used(&gr->other))
				continue;
			r = copy_other(s, &s->procs[k++], &gr->other, g == 0 ? gr->id : "",
				       g == 0 ? "" : gr->id, gr->life.terminated);
			if (r < 0)
				return r;
		}
	}
	r = copy_other(s, &s->procs[k++], workloads_node_other(w), "", "", false);
	s->n_procs = k;
	s->n_tracked = n;
	return r;
}

static int cmp_group(const void *a, const void *b)
{
	const struct snap_group *x = a, *y = b;
	uint64_t ex = all_zones(x->energy_uj, x->gpu), ey = all_zones(y->energy_uj, y->gpu);

	if (ex != ey)
		return ex > ey ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int copy_groups(struct snapshot *s, struct workloads *w, enum group_kind kind)
{
	struct group **list;
	struct snap_group *out;
	size_t n;
	int r;

	r = group_table_list(workloads_groups(w, kind), &list, &n);
	if (r < 0)
		return r;
	out = arena_alloc(s, (n ? n : 1) * sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct group *g = list[i];
		/* A container's pod, for the labels of Kepler 0.7's container families. */
		const struct group *pod =
		    kind == GROUP_CONTAINER && g->parent[0]
			? group_table_get(workloads_groups(w, GROUP_POD), g->parent)
			: NULL;

		out[i] = (struct snap_group){
		    .id = arena_str(s, g->id),
		    .name = arena_str(s, g->name),
		    .namespace = arena_str(s, pod ? pod->namespace : g->namespace),
		    .parent_name = arena_str(s, pod ? pod->name : ""),
		    .parent = arena_str(s, g->parent),
		    .kind_label = arena_str(s, g->kind_label),
		    .vcpus = g->vcpus,
		    .terminated = g->life.terminated,
		    .cpu_ns = g->acct.cpu_ns,
		    .interval_cpu_ns = g->acct.interval_cpu_ns,
		};
		if (!out[i].id || !out[i].name || !out[i].namespace || !out[i].parent_name ||
		    !out[i].parent || !out[i].kind_label)
			return -ENOMEM;
		memcpy(out[i].energy_uj, g->acct.energy_uj, sizeof(out[i].energy_uj));
		memcpy(out[i].interval_uj, g->acct.interval_uj, sizeof(out[i].interval_uj));
		out[i].platform_uj = g->acct.platform_uj;
		out[i].interval_platform_uj = g->acct.interval_platform_uj;
		if (copy_gpu_energy(s, &g->acct, NULL, &out[i].gpu) < 0)
			return -ENOMEM;
	}
	qsort(out, n, sizeof(*out), cmp_group);
	/* enum group_kind and enum snap_group_kind name the same kinds in the same order. */
	s->groups[kind] = out;
	s->n_groups[kind] = n;
	return 0;
}

/* The processors, copied: a snapshot owns every string it holds. */
static int copy_cpus(struct snapshot *s, const struct cpuinfo *ci)
{
	struct snap_cpu *out;

	if (!ci || !ci->n)
		return 0;
	out = arena_alloc(s, ci->n * sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < ci->n; i++) {
		const struct cpuinfo_cpu *c = &ci->cpu[i];

		out[i] = (struct snap_cpu){
		    .processor = arena_str(s, c->processor),
		    .vendor_id = arena_str(s, c->vendor_id),
		    .model_name = arena_str(s, c->model_name),
		    .physical_id = arena_str(s, c->physical_id),
		    .core_id = arena_str(s, c->core_id),
		};
		if (!out[i].processor || !out[i].vendor_id || !out[i].model_name ||
		    !out[i].physical_id || !out[i].core_id)
			return -ENOMEM;
	}
	s->cpus = out;
	s->n_cpus = ci->n;
	return 0;
}

/* compat v0.7: a zeroed idle share for every process series, container and VM, then the ledger's.
 */
static int share_idle(struct snapshot *s, struct idle_ledger *l)
{
	size_t n = s->n_procs + s->n_groups[SNAP_CONTAINER] + s->n_groups[SNAP_VM] + 1, k = 0;
	struct snap_idle *idle = arena_alloc(s, n * sizeof(*idle));

	if (!idle)
		return -ENOMEM;
	memset(idle, 0, n * sizeof(*idle));
	for (size_t i = 0; i < s->n_procs; i++)
		s->procs[i].idle = &idle[k++];
	for (size_t i = 0; i < s->n_groups[SNAP_CONTAINER]; i++)
		s->groups[SNAP_CONTAINER][i].idle = &idle[k++];
	for (size_t i = 0; i < s->n_groups[SNAP_VM]; i++)
		s->groups[SNAP_VM][i].idle = &idle[k++];
	s->system_idle = &idle[k];
	return idle_ledger_apply(l, s);
}

static void read_self(struct snap_self *self, double start_time_seconds)
{
	char buf[1024], *p;
	unsigned long long utime, stime, vsize;
	long long rss;
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	struct rlimit rl;
	size_t fds = 0;
	DIR *d;

	*self = (struct snap_self){-1, -1, -1, -1, -1, start_time_seconds};
	p = read_file_at("/proc", "self/stat", buf, sizeof(buf)) >= 0 ? strrchr(buf, ')') : NULL;
	/* After the comm: state(3) ... utime(14) stime(15) ... vsize(23) rss(24). */
	if (p && sscanf(p + 2,
			"%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
			"%*d %*d %*d %*u %llu %lld",
			&utime, &stime, &vsize, &rss) == 4) {
		self->cpu_seconds = (double)(utime + stime) / (double)tck;
		self->virtual_bytes = (double)vsize;
		self->resident_bytes = (double)rss * (double)page;
	}
	d = opendir("/proc/self/fd");
	if (d) {
		while (readdir(d))
			fds++;
		closedir(d);
		/* ".", ".." and the directory's own fd */
		self->open_fds = (double)(fds > 3 ? fds - 3 : 0);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		self->max_fds = (double)rl.rlim_cur;
}

double snapshot_self_start_time(void)
{
	_cleanup_free_ char *stat = NULL;
	unsigned long long btime, start;
	long tck = sysconf(_SC_CLK_TCK);
	char buf[1024], *p;

	/* /proc/stat grows with the CPUs and interrupts: read it whole (once, at start). */
	if (read_file_alloc("/proc/stat", 16 << 20, &stat, NULL) < 0 ||
	    !(p = strstr(stat, "\nbtime ")) || sscanf(p + 7, "%llu", &btime) != 1)
		return -1;
	/* After the comm: state(3) ... starttime(22), clock ticks since boot. */
	if (read_file_at("/proc", "self/stat", buf, sizeof(buf)) < 0 || !(p = strrchr(buf, ')')) ||
	    sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d "
		   "%llu",
		   &start) != 1)
		return -1;
	return (double)btime + (double)start / (double)tck;
}

int snapshot_build(struct snapshot **ret, const struct snapshot_input *in)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	struct kubelet *kl = workloads_kubelet(in->workloads);
	int r;

	if (!s)
		return -ENOMEM;
	s->metrics_levels = in->metrics_levels;
	s->compat = in->compat;
	s->node_name = arena_str(s, in->node_name);
	s->dt_ns = in->dt_ns;
	s->cpu_util = in->cpu_util;
	s->cpu_model = arena_str(s, in->cpu_model);
	s->cpu_power_source = arena_str(s, in->cpu_power_source);
	s->platform_power_source = arena_str(s, in->platform_power_source);
	s->activity_source = arena_str(s, in->activity_source);
	copy_node(s, in);
	r = copy_gpus(s, in);
	if (r >= 0)
		r = s->node_name && s->cpu_model && s->cpu_power_source &&
			    s->platform_power_source && s->activity_source
			? 0
			: -ENOMEM;
	if (r >= 0)
		r = copy_cpus(s, in->cpuinfo);
	if (r >= 0)
		r = copy_processes(s, in->workloads);
	for (int k = 0; k < GROUP_KIND_MAX && r >= 0; k++)
		r = copy_groups(s, in->workloads, (enum group_kind)k);
	if (r >= 0 && in->idle)
		r = share_idle(s, in->idle);
	if (r < 0) {
		snapshot_free(s);
		return r;
	}
	s->stats = *in->stats;
	if (kl) {
		struct kubelet_stats ks;

		kubelet_stats(kl, &ks);
		s->kubelet = true;
		s->kubelet_errors = ks.errors;
		s->kubelet_up = ks.up;
	}
	read_self(&s->self, in->start_time_seconds);
	*ret = s;
	return 0;
}
