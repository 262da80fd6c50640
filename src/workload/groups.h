/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Containers, pods and virtual machines: each a sum of its processes'
 * energy, computed in the same pass as the processes' own shares so every
 * level adds up exactly (DESIGN section 4). A group is running while any of
 * its processes is; then terminated; it stays, exported, for as long as it is
 * tracked, so that a container that comes back under the same id (a restart)
 * carries on with its counters. At most monitor.maxTerminated ended groups
 * are kept per kind, the most recently ended first.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attribution/account.h"
#include "attribution/retention.h"

enum group_kind {
	GROUP_CONTAINER,
	GROUP_POD,
	GROUP_VM,
	GROUP_KIND_MAX,
};

#define GROUP_ID_LEN 65	   /* container id: 64 hex; pod uid 36; vm uuid 36 */
#define GROUP_NAME_LEN 256 /* Kubernetes names are at most 253, libvirt's 255 */

struct group {
	char id[GROUP_ID_LEN];
	char name[GROUP_NAME_LEN];	/* container_name, pod_name, vm_name */
	char namespace[GROUP_NAME_LEN]; /* pods */
	char parent[GROUP_ID_LEN];	/* containers: pod uid */
	char kind_label[16];		/* containers: runtime; vms: hypervisor */
	struct account acct;		/* the sum of its processes */
	struct account other;		/* its processes without a series of their own */
	struct lifecycle life;
	uint32_t nprocs; /* tracked processes that name it: it stays while any does */
	uint32_t vcpus;	 /* VMs: qemu's -smp, once its process is seen; 0 unknown */
	bool alive;	 /* a live process belongs to it this interval */
};

struct group_table;

struct group_table *group_table_new(void);
void group_table_free(struct group_table *t);

/* The group with this id, created when missing (NULL: out of memory or a bad id). */
struct group *group_table_get(struct group_table *t, const char *id);
/* Remove and free g. */
void group_table_remove(struct group_table *t, struct group *g);
size_t group_table_count(const struct group_table *t);
/* Every group in no particular order, valid until the next get or remove. */
int group_table_list(struct group_table *t, struct group ***ret, size_t *ret_n);
