/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Workload identity and aggregation: resolves each new process to its
 * container, pod and VM (cgroups, qemu command line, the kubelet), then sums
 * every interval's process energy into containers, pods and VMs.
 */
#pragma once

#include "config.h"
#include "workload/groups.h"
#include "workload/kubelet.h"
#include "workload/process.h"

struct workloads;

/*
 * Never fails for a missing cgroup hierarchy or kubelet (identity is then
 * poorer, and info says why); -errno for memory or a bad kube.* setting.
 */
int workloads_new(struct workloads **ret, const struct kepler_config *cfg, char *info,
		  size_t infosz, char *err, size_t errsz);
void workloads_free(struct workloads *w);

/* Resolve new processes and aggregate the interval. Returns 0 or -ENOMEM. */
int workloads_update(struct workloads *w, struct proc_table *procs, uint64_t scrapes);

struct group_table *workloads_groups(struct workloads *w, enum group_kind kind);
/* NULL when kube.enabled is off. */
struct kubelet *workloads_kubelet(struct workloads *w);
/* "regular", "kernel", "container" or "vm". */
const char *process_type_name(const struct process *p);
