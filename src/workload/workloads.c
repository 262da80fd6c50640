// SPDX-License-Identifier: Apache-2.0
#include "workload/workloads.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	struct group_table *groups[GROUP_KIND_MAX];
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
	w->procfs = strdup(cfg->host_procfs);
	if (!w->procfs)
		goto out_nomem;
	for (int k = 0; k < GROUP_KIND_MAX; k++) {
		w->groups[k] = group_table_new(cfg->max_terminated);
		if (!w->groups[k])
			goto out_nomem;
	}
	/* By cgroup id only for processes that ended before we could read their /proc. */
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
	kubelet_free(w->kubelet);
	cgroup_resolver_free(w->cgroups);
	for (int k = 0; k < GROUP_KIND_MAX; k++)
		group_table_free(w->groups[k]);
	free(w->procfs);
	free(w);
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

static void resolve(struct workloads *w, struct intern *strings, struct process *p)
{
	struct process_identity *id = &p->id;
	char path[PATH_MAX], exe[PATH_MAX], rel[64], vm_id[65] = "";
	struct cgroup_info ci;
	struct vm_info vi;
	ssize_t n;

	id->resolved = true;
	if (p->kernel_thread)
		return;
	if (cgroup_path(w, p, path, sizeof(path)) >= 0 && cgroup_parse_path(path, &ci) >= 0) {
		id->runtime = (uint8_t)ci.runtime;
		id->container_id = str(strings, ci.container_id);
		id->pod_uid = str(strings, ci.pod_uid);
		/* A name longer than an id is cut: the qemu uuid replaces it below when readable.
		 */
		if (ci.vm)
			snprintf(vm_id, sizeof(vm_id), "%.64s", ci.vm_name);
	}
	/* The hypervisor process of a guest: libvirt's scope, or qemu anywhere (KubeVirt). */
	if ((vm_id[0] || startswith(p->comm, "qemu")) && vm_read(w->procfs, p->pid, &vi) >= 0) {
		struct group *g;

		snprintf(vm_id, sizeof(vm_id), "%.64s", vi.vm_id[0] ? vi.vm_id : vi.vm_name);
		g = vm_id[0] ? group_table_get(w->groups[GROUP_VM], vm_id) : NULL;
		if (g) {
			snprintf(g->name, sizeof(g->name), "%s", vi.vm_name);
			snprintf(g->kind_label, sizeof(g->kind_label), "%s", vi.hypervisor);
		}
	}
	id->vm_id = str(strings, vm_id);
	snprintf(rel, sizeof(rel), "%u/exe", p->pid);
	if (path_join(path, sizeof(path), w->procfs, rel) >= 0 &&
	    (n = readlink(path, exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		id->exe = intern_get(strings, exe);
	}
}

/* Names come from the kubelet; ask again while they are missing (the lookup never blocks). */
static void fill_names(struct workloads *w, struct group *c, struct group *pod)
{
	struct pod_container pc;

	if (!w->kubelet || (c && c->name[0]) || (!c && pod->name[0]))
		return;
	if (!c || kubelet_lookup(w->kubelet, c->id, &pc) < 0)
		return;
	snprintf(c->name, sizeof(c->name), "%s", pc.container_name);
	if (pod) {
		snprintf(pod->name, sizeof(pod->name), "%s", pc.pod_name);
		snprintf(pod->namespace, sizeof(pod->namespace), "%s", pc.pod_namespace);
	}
}

int workloads_update(struct workloads *w, struct proc_table *procs, uint64_t scrapes)
{
	struct process **list;
	size_t n;
	int r;

	r = proc_table_list(procs, &list, &n);
	if (r < 0)
		return r;
	for (int k = 0; k < GROUP_KIND_MAX; k++) {
		r = group_table_begin(w->groups[k], scrapes);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < n; i++) {
		struct process *p = list[i];
		struct group *c = NULL, *pod = NULL, *vm = NULL;
		bool alive = !p->terminated;

		if (!p->id.resolved)
			resolve(w, proc_table_strings(procs), p);
		if (p->id.container_id) {
			c = group_table_get(w->groups[GROUP_CONTAINER], p->id.container_id);
			if (!c)
				return -ENOMEM;
			if (!c->kind_label[0])
				snprintf(c->kind_label, sizeof(c->kind_label), "%s",
					 container_runtime_name(p->id.runtime));
			snprintf(c->parent, sizeof(c->parent), "%s",
				 p->id.pod_uid ? p->id.pod_uid : "");
			group_add(c, p->interval_cpu_ns, p->interval_uj, alive);
		}
		if (p->id.pod_uid) {
			pod = group_table_get(w->groups[GROUP_POD], p->id.pod_uid);
			if (!pod)
				return -ENOMEM;
			group_add(pod, p->interval_cpu_ns, p->interval_uj, alive);
		}
		if (p->id.vm_id) {
			vm = group_table_get(w->groups[GROUP_VM], p->id.vm_id);
			if (!vm)
				return -ENOMEM;
			group_add(vm, p->interval_cpu_ns, p->interval_uj, alive);
		}
		if (c || pod)
			fill_names(w, c, pod);
	}
	for (int k = 0; k < GROUP_KIND_MAX; k++)
		group_table_end(w->groups[k], scrapes);
	return 0;
}

struct group_table *workloads_groups(struct workloads *w, enum group_kind kind)
{
	return w->groups[kind];
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
