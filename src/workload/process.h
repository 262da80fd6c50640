/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process table: every process seen, by pid, with who it is (comm, exe,
 * container, pod, VM) and attribution's state for it. workloads.c feeds it
 * once per interval; attribution/ decides its energy and how long it stays.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "activity/activity.h"
#include "attribution/attribute.h"
#include "workload/groups.h"

/*
 * What a process belongs to, resolved when it is first seen and again after an
 * exec or a cgroup change (workloads.c). The strings are interned in the
 * table's string set (proc_table_strings): thousands of processes share a few
 * container ids and executables.
 */
struct process_identity {
	bool resolved;
	uint8_t runtime;	  /* enum container_runtime */
	const char *container_id; /* NULL none */
	const char *pod_uid;	  /* NULL none */
	const char *vm_id;	  /* qemu -uuid, else the VM's name; NULL none */
	const char *exe;	  /* NULL unknown */
	/* Its groups, each holding a reference (group.nprocs); NULL none. */
	struct group *group[GROUP_KIND_MAX];
};

struct process {
	uint32_t pid;
	uint32_t ppid;
	uint64_t cgroup_id;
	char comm[ACTIVITY_COMM_LEN];
	bool kernel_thread;
	struct process_identity id;
	struct attr_proc attr;
};

struct proc_table;

struct proc_table *proc_table_new(void);
/* Frees every process; their identities must have been released (proc_table_release). */
void proc_table_free(struct proc_table *t);

/* The process with this pid, NULL when there is none. */
struct process *proc_table_get(struct proc_table *t, uint32_t pid);
/* A new, zeroed process with this pid (none must exist). NULL: out of memory. */
struct process *proc_table_add(struct proc_table *t, uint32_t pid);
/* Remove and free p; its identity must have been released. */
void proc_table_remove(struct proc_table *t, struct process *p);

size_t proc_table_count(const struct proc_table *t);
/* Where process identities keep their strings. */
struct intern *proc_table_strings(struct proc_table *t);
/* Every process, in no particular order; valid until the next add or remove. */
int proc_table_list(struct proc_table *t, struct process ***ret, size_t *ret_n);
