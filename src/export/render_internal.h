/* SPDX-License-Identifier: Apache-2.0 */
/* What render.c, render_gpu.c and render_platform.c share: units, each level's label sets. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "export/prometheus.h"
#include "snapshot/snapshot.h"

double joules_of(uint64_t uj);
/* Mean power of uj over dt_ns; 0 without a duration. */
double watts(uint64_t uj, uint64_t dt_ns);

/*
 * Labels of a process or "other" series into l (room for 9); zone NULL for the
 * families without one. pid is the buffer for the pid's text. Returns how many.
 */
size_t process_labels(struct prom_label *l, const struct snap_process *p, char *pid, size_t pidsz,
		      const char *zone);
/* Labels of a container, pod or VM series into l (room for 7); zone as above. */
size_t group_labels(struct prom_label *l, enum snap_group_kind kind, const struct snap_group *g,
		    const char *zone);

/* The GPU families of each level; nothing at all on a node without GPUs. */
void render_gpu_node(struct prom_writer *w, const struct snapshot *in);
void render_gpu_processes(struct prom_writer *w, const struct snapshot *in);
void render_gpu_groups(struct prom_writer *w, const struct snapshot *in, enum snap_group_kind kind);

/* The platform families of each level; nothing at all on a node without a platform zone. */
void render_platform_node(struct prom_writer *w, const struct snapshot *in);
void render_platform_processes(struct prom_writer *w, const struct snapshot *in);
void render_platform_groups(struct prom_writer *w, const struct snapshot *in,
			    enum snap_group_kind kind);

/* Kepler 0.7's families (exporter.prometheus.compat v0.7): render_v07.c. */
enum { V07_DYNAMIC, V07_IDLE, V07_MODES };
extern const char *const v07_modes[V07_MODES];
/* The system_processes container: the processes in no container. */
extern const struct snap_group v07_system_processes;

void render_v07_node(struct prom_writer *w, const struct snapshot *in);
void render_v07_processes(struct prom_writer *w, const struct snapshot *in);
/* Containers (with system_processes) and VMs; nothing for pods. */
void render_v07_groups(struct prom_writer *w, const struct snapshot *in, enum snap_group_kind kind);
/* The 0.7 labels a series of this agent's adds to carry Kepler 0.7's too (l: 3 more). */
size_t v07_process_extra(struct prom_label *l, size_t k, const struct snap_process *p, int mode,
			 const char *source);
/* Idem for a container or VM (l: 4 more). */
size_t v07_group_extra(struct prom_label *l, size_t k, enum snap_group_kind kind,
		       const struct snap_group *g, int mode, const char *source);
/* system_processes' active energy: the node's less the containers'. */
void v07_system_active(const struct snapshot *in, uint64_t zone_uj[ZONE_MAX],
		       struct snap_gpu_energy *gpu);
