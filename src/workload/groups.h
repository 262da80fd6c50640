/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Containers, pods and virtual machines: each a sum of its processes'
 * energy, computed in the same pass as the processes' own shares so every
 * level adds up exactly (DESIGN section 4). A group is running while any of
 * its processes is; then terminated, exported until a scrape has seen it, and
 * dropped (at most monitor.maxTerminated kept per kind, the largest first).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zone.h"

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
	bool terminated;
	uint64_t cpu_ns;
	uint64_t energy_uj[ZONE_MAX];
	uint64_t interval_uj[ZONE_MAX];
	/* Bookkeeping. */
	bool alive; /* a live process belongs to it this interval */
	uint64_t scrape_mark;
	uint64_t ended_interval;
};

struct group_table;

struct group_table *group_table_new(uint32_t max_terminated);
void group_table_free(struct group_table *t);

/* Start an interval: drop terminated groups a scrape has seen; clear interval figures. */
int group_table_begin(struct group_table *t, uint64_t scrapes);
/* The group with this id, created when missing (NULL: out of memory or id too long). */
struct group *group_table_get(struct group_table *t, const char *id);
/* Add one process's interval to its group; alive: the process has not ended. */
void group_add(struct group *g, uint64_t interval_cpu_ns, const uint64_t interval_uj[ZONE_MAX],
	       bool alive);
/* End the interval: groups with no live process become terminated. */
void group_table_end(struct group_table *t, uint64_t scrapes);

size_t group_table_count(const struct group_table *t);
/* All groups, largest energy first, valid until the next begin. */
int group_table_sorted(struct group_table *t, const struct group ***ret, size_t *ret_n);
