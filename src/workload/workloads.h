/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The workloads of one interval: merges the activity into the process table,
 * resolves each new process to its container, pod and VM (cgroups, qemu
 * command line, the kubelet), has attribution/ split the active energy, and
 * sums every process's interval into its containers, pods and VMs.
 */
#pragma once

#include "activity/activity.h"
#include "attribution/account.h"
#include "attribution/attribute.h"
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
/* A new exporter.prometheus.maxProcesses (SIGHUP). */
void workloads_set_max_shown(struct workloads *w, uint32_t max_shown);

/*
 * One interval: d's activity, active_uj[z] the active energy of each zone in
 * the zones mask, gpus each GPU's active energy and its users by pid (NULL: no
 * GPU; the uses' process pointers are filled here), platform_uj the platform's
 * active energy (0: no platform zone), scrapes the /metrics
 * scrapes so far (an ended process stays until a scrape has seen it).
 * Returns 0 or -ENOMEM.
 */
int workloads_update(struct workloads *w, const struct activity_delta *d,
		     const uint64_t active_uj[ZONE_MAX], uint32_t zones, struct attr_gpus *gpus,
		     uint64_t platform_uj, uint64_t scrapes);

struct proc_table *workloads_procs(struct workloads *w);
struct group_table *workloads_groups(struct workloads *w, enum group_kind kind);
/* The node's "other" series: processes in no container or VM without a series of their own. */
const struct account *workloads_node_other(const struct workloads *w);
/* NULL when kube.enabled is off. */
struct kubelet *workloads_kubelet(struct workloads *w);
/* "regular", "kernel", "container" or "vm". */
const char *process_type_name(const struct process *p);
