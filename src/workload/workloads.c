// SPDX-License-Identifier: Apache-2.0
#include "workload/workloads.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attribution/attribute.h"
#include "util/fileio.h"
#include "util/intern.h"
#include "util/util.h"
#include "workload/cgroup.h"
#include "workload/cgroupfs.h"
#include "workload/vm.h"

struct workloads {
	char *procfs;
	struct cgroup_resolver *cgroups; /* NULL: no cgroup v2 hierarchy */
	struct kubelet *kubelet;	 /* NULL: kube.enabled off */
	struct proc_table *procs;
	struct group_table *groups[GROUP_KIND_MAX];
	struct attributor *attr;
	uint32_t max_terminated;
	uint64_t interval;
	/* Scratch reused across intervals. */
	struct attr_proc **attr_list;
	struct process **ended;
	size_t scratch_cap;
};

int workloads_new(struct workloads **ret, const struct kepler_config *cfg, char *info,
		  size_t infosz, char *err, size_t errsz)
{
	struct workloads *w = calloc(1, sizeof(*w));
	char mount[PATH_MAX];
	int r;

	if (!w)
		return -ENOMEM;
	info[0] = '\0';
	w->max_terminated = cfg->max_terminated;
	w->procfs = strdup(cfg->host_procfs);
	w->procs = proc_table_new();
	w->attr = attributor_new(cfg->max_processes);
	if (!w->procfs || !w->procs || !w->attr)
		goto out_nomem;
	for (int k = 0; k < GROUP_KIND_MAX; k++) {
		w->groups[k] = group_table_new();
		if (!w->groups[k])
			goto out_nomem;
	}
	/*
	 * By cgroup id only for processes that ended before we could read their /proc.
	 * The host's hierarchy under host.sysfs first: in a pod, mountinfo's root mount
	 * is the container's own.
	 */
	r = cgroup2_find_under_sysfs(cfg->host_sysfs, mount, sizeof(mount));
	if (r < 0)
		r = cgroup2_find_mount(cfg->host_procfs, mount, sizeof(mount));
	if (r >= 0)
		w->cgroups = cgroup_resolver_new(mount);
	if (!w->cgroups)
		snprintf(info, infosz,
			 "no cgroup v2 hierarchy (%s): exited processes are resolved "
			 "from /proc only",
			 strerror(r < 0 ? -r : errno));
	if (cfg->kube_enabled) {
		r = kubelet_new(&w->kubelet, cfg, err, errsz);
		if (r < 0) {
			workloads_free(w);
			return r;
		}
	}
	*ret = w;
	return 0;

out_nomem:
	workloads_free(w);
	snprintf(err, errsz, "out of memory");
	return -ENOMEM;
}

void workloads_free(struct workloads *w)
{
	if (!w)
		return;
	proc_table_free(w->procs);
	kubelet_free(w->kubelet);
	cgroup_resolver_free(w->cgroups);
	for (int k = 0; k < GROUP_KIND_MAX; k++)
		group_table_free(w->groups[k]);
	attributor_free(w->attr);
	free(w->attr_list);
	free(w->procfs);
	free(w);
}

void workloads_set_max_shown(struct workloads *w, uint32_t max_shown)
{
	attributor_set_max_shown(w->attr, max_shown);
}

/* The cgroup path of a process: /proc/<pid>/cgroup while it lives, else its cgroup id. */
static int cgroup_path(struct workloads *w, const struct process *p, char *path, size_t size)
{
	char rel[64], text[4096];
	int r;

	snprintf(rel, sizeof(rel), "%u/cgroup", p->pid);
	r = read_file_at(w->procfs, rel, text, sizeof(text));
	if (r >= 0 && cgroup_parse_proc_cgroup(text, path, size) >= 0)
		return 0;
	if (w->cgroups && p->cgroup_id)
		return cgroup_resolver_path(w->cgroups, p->cgroup_id, path, size);
	return -ENOENT;
}

/* The shared copy of s, or NULL for an empty s (or no memory: identity is best effort). */
static const char *str(struct intern *strings, const char *s)
{
	return s[0] ? intern_get(strings, s) : NULL;
}

/* The group of kind k with this id, referenced by p; NULL for no id. -ENOMEM in *r. */
static struct group *attach(struct workloads *w, struct process *p, enum group_kind k,
			    const char *id, int *r)
{
	struct group *g = NULL;

	if (id) {
		g = group_table_get(w->groups[k], id);
		if (g)
			g->nprocs++;
		else
			*r = -ENOMEM;
	}
	p->id.group[k] = g;
	return g;
}

/* Who p is: its strings, its groups, and where its energy folds without a series. */
static int resolve(struct workloads *w, struct process *p)
{
	struct intern *strings = proc_table_strings(w->procs);
	struct process_identity *id = &p->id;
	char path[PATH_MAX], exe[PATH_MAX], rel[64], vm_id[65] = "", vm_name[256] = "",
						     hypervisor[16] = "";
	unsigned vcpus = 0;
	struct group *c, *vm;
	struct cgroup_info ci;
	struct vm_info vi;
	ssize_t n;
	int r = 0;

	id->resolved = true;
	if (!p->kernel_thread) {
		if (cgroup_path(w, p, path, sizeof(path)) >= 0 &&
		    cgroup_parse_path(path, &ci) >= 0) {
			id->runtime = (uint8_t)ci.runtime;
			id->container_id = str(strings, ci.container_id);
			id->pod_uid = str(strings, ci.pod_uid);
			/* A name longer than an id is cut: the qemu uuid replaces it below. */
			if (ci.vm)
				snprintf(vm_id, sizeof(vm_id), "%.64s", ci.vm_name);
		}
		/* The hypervisor process of a guest: libvirt's scope, or qemu anywhere
		 * (KubeVirt). */
		if ((vm_id[0] || startswith(p->comm, "qemu")) &&
		    vm_read(w->procfs, p->pid, &vi) >= 0) {
			snprintf(vm_id, sizeof(vm_id), "%.64s",
				 vi.vm_id[0] ? vi.vm_id : vi.vm_name);
			snprintf(vm_name, sizeof(vm_name), "%s", vi.vm_name);
			snprintf(hypervisor, sizeof(hypervisor), "%s", vi.hypervisor);
			vcpus = vi.vcpus;
		}
		id->vm_id = str(strings, vm_id);
		snprintf(rel, sizeof(rel), "%u/exe", p->pid);
		if (path_join(path, sizeof(path), w->procfs, rel) >= 0 &&
		    (n = readlink(path, exe, sizeof(exe) - 1)) > 0) {
			exe[n] = '\0';
			id->exe = intern_get(strings, exe);
		}
	}
	c = attach(w, p, GROUP_CONTAINER, id->container_id, &r);
	if (c) {
		if (!c->kind_label[0])
			snprintf(c->kind_label, sizeof(c->kind_label), "%s",
				 container_runtime_name(id->runtime));
		snprintf(c->parent, sizeof(c->parent), "%s", id->pod_uid ? id->pod_uid : "");
	}
	attach(w, p, GROUP_POD, id->pod_uid, &r);
	vm = attach(w, p, GROUP_VM, id->vm_id, &r);
	if (vm && vm_name[0]) {
		snprintf(vm->name, sizeof(vm->name), "%s", vm_name);
		snprintf(vm->kind_label, sizeof(vm->kind_label), "%s", hypervisor);
	}
	if (vm && vcpus)
		vm->vcpus = vcpus;
	/* Containers and VMs each sum exactly from their process series and their "other". */
	p->attr.fold = c ? &c->other : vm ? &vm->other : attributor_node_fold(w->attr);
	return r;
}

/* Give back p's identity: its strings and its groups. Its series must be retired first. */
static void identity_release(struct workloads *w, struct process *p)
{
	struct intern *strings = proc_table_strings(w->procs);
	struct process_identity *id = &p->id;

	intern_put(strings, id->container_id);
	intern_put(strings, id->pod_uid);
	intern_put(strings, id->vm_id);
	intern_put(strings, id->exe);
	for (int k = 0; k < GROUP_KIND_MAX; k++)
		if (id->group[k])
			id->group[k]->nprocs--;
	*id = (struct process_identity){0};
	p->attr.fold = NULL;
}

/* p stops being what it was: its series ends (into its "other"), its identity goes. */
static void forget(struct workloads *w, struct process *p)
{
	attributor_retire(w->attr, &p->attr);
	identity_release(w, p);
}

/* Names come from the kubelet; ask again while they are missing (the lookup never blocks). */
static void fill_names(struct workloads *w, struct group *c, struct group *pod)
{
	struct pod_container pc;

	if (!w->kubelet || !c || c->name[0] || kubelet_lookup(w->kubelet, c->id, &pc) < 0)
		return;
	snprintf(c->name, sizeof(c->name), "%s", pc.container_name);
	if (pod) {
		snprintf(pod->name, sizeof(pod->name), "%s", pc.pod_name);
		snprintf(pod->namespace, sizeof(pod->namespace), "%s", pc.pod_namespace);
	}
}

static int reserve_scratch(struct workloads *w, size_t n)
{
	size_t cap = n + n / 4 > 1024 ? n + n / 4 : 1024;
	void *block;

	if (n <= w->scratch_cap && (w->scratch_cap <= 1024 || n * 8 >= w->scratch_cap))
		return 0;
	block = malloc(cap * (sizeof(*w->attr_list) + sizeof(*w->ended)));
	if (!block)
		return n <= w->scratch_cap ? 0 : -ENOMEM; /* a failed shrink keeps the old */
	free(w->attr_list);
	w->attr_list = block;
	w->ended = (struct process **)(w->attr_list + cap);
	w->scratch_cap = cap;
	return 0;
}

/* Ended processes: the largest energy first, then the most CPU time, then pid. */
static int keep_largest(const void *a, const void *b)
{
	const struct process *x = *(const struct process *const *)a;
	const struct process *y = *(const struct process *const *)b;
	uint64_t ex = account_energy(&x->attr.acct), ey = account_energy(&y->attr.acct);

	if (ex != ey)
		return ex > ey ? -1 : 1;
	if (x->attr.acct.cpu_ns != y->attr.acct.cpu_ns)
		return x->attr.acct.cpu_ns > y->attr.acct.cpu_ns ? -1 : 1;
	return x->pid < y->pid ? -1 : (x->pid > y->pid);
}

/* Drop ended processes a scrape has seen, and the smallest beyond monitor.maxTerminated. */
static int expire_processes(struct workloads *w, uint64_t scrapes)
{
	struct process **list;
	size_t n, n_ended = 0, evict;
	int r;

	r = proc_table_list(w->procs, &list, &n);
	if (r < 0)
		return r;
	r = reserve_scratch(w, n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct process *p = list[i];

		if (!p->attr.life.terminated)
			continue;
		if (lifecycle_expired(&p->attr.life, w->interval, scrapes)) {
			forget(w, p);
			proc_table_remove(w->procs, p);
		} else {
			w->ended[n_ended++] = p;
		}
	}
	evict =
	    retention_trim(w->ended, n_ended, sizeof(*w->ended), w->max_terminated, keep_largest);
	for (size_t i = n_ended - evict; i < n_ended; i++) {
		forget(w, w->ended[i]);
		proc_table_remove(w->procs, w->ended[i]);
	}
	return 0;
}

/* An exec (a new comm, and with eBPF the cgroup read again) or a move to another cgroup. */
static bool identity_may_differ(const struct process *p, const struct proc_activity *a)
{
	return strncmp(p->comm, a->comm, sizeof(p->comm)) != 0 ||
	       (a->cgroup_id && a->cgroup_id != p->cgroup_id);
}

/* Merge the interval's activity into the process table. */
static int merge(struct workloads *w, const struct activity_delta *d, uint64_t scrapes)
{
	for (size_t k = 0; k < d->n; k++) {
		const struct proc_activity *a = &d->procs[k];
		struct process *p = proc_table_get(w->procs, a->pid);

		if (!p) {
			p = proc_table_add(w->procs, a->pid);
			if (!p)
				return -ENOMEM;
		} else if (p->attr.life.terminated && !a->exited) {
			/* A recycled pid: the old process has ended and a new one took its
			 * number. */
			forget(w, p);
			attr_proc_release(&p->attr);
			*p = (struct process){.pid = a->pid};
		} else if (p->id.resolved && identity_may_differ(p, a)) {
			/*
			 * Resolve it again: a container's process is often first seen as the
			 * runtime's init, before its move into the container's cgroup and its
			 * exec; keeping that first identity would attribute the container's
			 * main process to the host forever.
			 */
			forget(w, p);
		}
		p->ppid = a->ppid;
		p->cgroup_id = a->cgroup_id;
		p->kernel_thread = a->kernel_thread;
		memcpy(p->comm, a->comm, sizeof(p->comm));
		p->comm[sizeof(p->comm) - 1] = '\0';
		attr_proc_charge(&p->attr, a->cpu_ns, a->cycles, a->cache_misses);
		if (a->exited)
			lifecycle_end(&p->attr.life, w->interval, scrapes);
	}
	return 0;
}

/* Ended groups: the most recently ended first. */
static int keep_recent(const void *a, const void *b)
{
	const struct group *x = *(const struct group *const *)a;
	const struct group *y = *(const struct group *const *)b;

	if (x->life.ended_interval != y->life.ended_interval)
		return x->life.ended_interval > y->life.ended_interval ? -1 : 1;
	return strcmp(x->id, y->id);
}

/*
 * End the groups no live process belongs to, and evict the oldest ended ones
 * beyond monitor.maxTerminated among those no tracked process names any more.
 * An evicted group's "other" joins the node's, so no exported sum falls.
 */
static int end_groups(struct workloads *w, enum group_kind k, uint64_t scrapes)
{
	struct group **list;
	size_t n, n_ended = 0, n_cand = 0, evict;
	int r;

	r = group_table_list(w->groups[k], &list, &n);
	if (r < 0)
		return r;
	/* The candidates gather at the front of the list, a scratch copy. */
	for (size_t i = 0; i < n; i++) {
		struct group *g = list[i];

		if (!g->alive)
			lifecycle_end(&g->life, w->interval, scrapes);
		if (!g->life.terminated)
			continue;
		n_ended++;
		if (!g->nprocs && lifecycle_settled(&g->life, w->interval))
			list[n_cand++] = g;
	}
	if (n_ended <= w->max_terminated)
		return 0;
	evict = n_ended - w->max_terminated;
	evict = retention_trim(list, n_cand, sizeof(*list), evict < n_cand ? n_cand - evict : 0,
			       keep_recent);
	for (size_t i = n_cand - evict; i < n_cand; i++) {
		struct group *g = list[i];

		if (attributor_absorb(w->attr, &g->other) < 0)
			return -ENOMEM; /* it stays, with its energy */
		group_table_remove(w->groups[k], g);
	}
	return 0;
}

/* Each GPU use's process: a pid the agent does not track (it never ran) is left out. */
static void find_gpu_users(struct workloads *w, struct attr_gpus *gpus)
{
	for (size_t i = 0; i < gpus->n_uses; i++) {
		struct process *p = proc_table_get(w->procs, gpus->uses[i].pid);

		gpus->uses[i].p = p ? &p->attr : NULL;
	}
}

/* Room for GPU energy in the groups of the processes that used a GPU this interval. */
static int reserve_group_gpu(struct process *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!list[i]->attr.acct.gpu)
			continue;
		for (int k = 0; k < GROUP_KIND_MAX; k++)
			if (list[i]->id.group[k] &&
			    account_reserve_gpu(&list[i]->id.group[k]->acct) < 0)
				return -ENOMEM;
	}
	return 0;
}

int workloads_update(struct workloads *w, const struct activity_delta *d,
		     const uint64_t active_uj[ZONE_MAX], uint32_t zones, struct attr_gpus *gpus,
		     uint64_t platform_uj, uint64_t scrapes)
{
	struct process **list;
	struct group **groups;
	size_t n, ng;
	int r;

	w->interval++;
	r = expire_processes(w, scrapes);
	if (r >= 0)
		r = proc_table_list(w->procs, &list, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		attr_proc_begin(&list[i]->attr);
	for (int k = 0; k < GROUP_KIND_MAX; k++) {
		r = group_table_list(w->groups[k], &groups, &ng);
		if (r < 0)
			return r;
		for (size_t i = 0; i < ng; i++) {
			account_begin(&groups[i]->acct);
			account_begin(&groups[i]->other);
			groups[i]->alive = false;
		}
	}

	r = merge(w, d, scrapes);
	if (r >= 0)
		r = proc_table_list(w->procs, &list, &n);
	if (r >= 0)
		r = reserve_scratch(w, n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (!list[i]->id.resolved && (r = resolve(w, list[i])) < 0)
			return r;
		w->attr_list[i] = &list[i]->attr;
	}
	if (gpus)
		find_gpu_users(w, gpus);
	r = attributor_run(w->attr, w->attr_list, n, active_uj, zones, d->has_counters, gpus,
			   platform_uj);
	if (r >= 0)
		r = reserve_group_gpu(list, n);
	if (r < 0)
		return r;

	/* Every group is the sum of its processes, from the same shares. */
	for (size_t i = 0; i < n; i++) {
		struct process *p = list[i];

		for (int k = 0; k < GROUP_KIND_MAX; k++) {
			struct group *g = p->id.group[k];

			if (!g)
				continue;
			account_add_interval(&g->acct, &p->attr.acct);
			if (!p->attr.life.terminated) {
				g->alive = true;
				lifecycle_revive(&g->life); /* its id came back: a restart */
			}
		}
		fill_names(w, p->id.group[GROUP_CONTAINER], p->id.group[GROUP_POD]);
	}
	for (int k = 0; k < GROUP_KIND_MAX; k++) {
		r = end_groups(w, (enum group_kind)k, scrapes);
		if (r < 0)
			return r;
	}
	return 0;
}

struct proc_table *workloads_procs(struct workloads *w)
{
	return w->procs;
}

struct group_table *workloads_groups(struct workloads *w, enum group_kind kind)
{
	return w->groups[kind];
}

const struct account *workloads_node_other(const struct workloads *w)
{
	return attributor_node_other(w->attr);
}

struct kubelet *workloads_kubelet(struct workloads *w)
{
	return w->kubelet;
}

const char *process_type_name(const struct process *p)
{
	if (p->kernel_thread)
		return "kernel";
	if (p->id.vm_id)
		return "vm";
	if (p->id.container_id)
		return "container";
	return "regular";
}
