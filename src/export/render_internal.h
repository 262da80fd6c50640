/* SPDX-License-Identifier: Apache-2.0 */
/* What render.c and render_gpu.c share: units and the label sets of each level. */
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
void render_gpu_groups(struct prom_writer *w, const struct snapshot *in,
		       enum snap_group_kind kind);
