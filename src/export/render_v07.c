// SPDX-License-Identifier: Apache-2.0
/*
 * Kepler 0.7's families, with exporter.prometheus.compat v0.7 (docs/migrating.md):
 * kepler_{node,process,container,vm}_{package,core,uncore,dram,other,platform}_joules_total
 * and kepler_container_joules_total, each split by mode: "dynamic" is this
 * agent's active energy, "idle" the share of the node's idle energy that
 * snapshot/idle_share.h computes. The *_gpu_joules_total names are this agent's
 * own families, which carry the 0.7 labels too under compat (render_gpu.c).
 */
#include <stdio.h>

#include "export/render_internal.h"
#include "util/util.h"

/* The 0.7 energy names: a CPU zone, or one of the sums below. */
enum v07_part { P_ZONE, P_OTHER, P_PLATFORM };

static const struct {
	const char *name;
	enum v07_part part;
	enum zone zone;
} parts[] = {
    {"package", P_ZONE, ZONE_PACKAGE}, {"core", P_ZONE, ZONE_CORE}, {"uncore", P_ZONE, ZONE_UNCORE},
    {"dram", P_ZONE, ZONE_DRAM},       {"other", P_OTHER, 0},	    {"platform", P_PLATFORM, 0},
};

const char *const v07_modes[V07_MODES] = {"dynamic", "idle"};

/* A workload's figures in one mode: active energy, or its idle share. */
struct v07_energy {
	const uint64_t *zone_uj; /* ZONE_MAX */
	const uint64_t *gpu_uj;	 /* GPU_MAX, or NULL */
	uint64_t other_uj;
};

static struct v07_energy mode_energy(int mode, const uint64_t active[ZONE_MAX],
				     const struct snap_gpu_energy *gpu,
				     const struct snap_idle *idle)
{
	static const uint64_t none[ZONE_MAX];

	if (mode == V07_DYNAMIC)
		return (struct v07_energy){active, gpu ? gpu->energy_uj : NULL, 0};
	return (struct v07_energy){idle ? idle->uj : none, idle ? idle->gpu_uj : NULL, 0};
}

/*
 * A part's energy: a zone's, other's (the platform beyond the parts measured on
 * their own: node level only, its idle 0), or platform's (package + DRAM + GPUs +
 * other, as Kepler 0.7's kepler_container_joules_total).
 */
static uint64_t part_uj(const struct snapshot *in, size_t p, const struct v07_energy *e)
{
	uint64_t uj = 0;

	switch (parts[p].part) {
	case P_ZONE:
		return in->zone[parts[p].zone].present ? e->zone_uj[parts[p].zone] : 0;
	case P_OTHER:
		return e->other_uj;
	default:
		uj = e->other_uj;
		uj += in->zone[ZONE_PACKAGE].present ? e->zone_uj[ZONE_PACKAGE] : 0;
		uj += in->zone[ZONE_DRAM].present ? e->zone_uj[ZONE_DRAM] : 0;
		for (size_t g = 0; e->gpu_uj && g < in->n_gpus; g++)
			uj += e->gpu_uj[g];
		return uj;
	}
}

static const char *part_source(const struct snapshot *in, size_t p)
{
	if (parts[p].part == P_ZONE && in->zone[parts[p].zone].present)
		return in->zone[parts[p].zone].source;
	return parts[p].part == P_ZONE ? "" : in->platform_power_source;
}

void render_v07_node(struct prom_writer *w, const struct snapshot *in)
{
	uint64_t active[ZONE_MAX], idle[ZONE_MAX], gpu_active[GPU_MAX] = {0},
						   gpu_idle[GPU_MAX] = {0};
	struct v07_energy e[V07_MODES];
	char name[64], help[160];

	for (int z = 0; z < ZONE_MAX; z++) {
		active[z] = in->zone[z].active_uj;
		idle[z] = in->zone[z].idle_uj;
	}
	for (size_t g = 0; g < in->n_gpus; g++) {
		gpu_active[g] = in->gpu[g].z.active_uj;
		gpu_idle[g] = in->gpu[g].z.idle_uj;
	}
	e[V07_DYNAMIC] = (struct v07_energy){active, gpu_active, in->other_uj};
	e[V07_IDLE] = (struct v07_energy){idle, gpu_idle, 0};
	/*
	 * kepler_node_platform_joules_total is this agent's name for the platform
	 * meter too: with one, its series carry both label sets (source is both's),
	 * split into the meter's energy beyond the parts' idle, and their idle.
	 */
	for (size_t p = 0; p < ARRAY_SIZE(parts); p++) {
		snprintf(name, sizeof(name), "kepler_node_%s_joules_total", parts[p].name);
		snprintf(help, sizeof(help),
			 "Kepler 0.7 name: %s energy of the node by mode (dynamic: active, idle), "
			 "in joules",
			 parts[p].name);
		prom_family(w, name, PROM_COUNTER, help);
		for (int m = 0; m < V07_MODES; m++) {
			const struct prom_label l[] = {{"package", "all"},
						       {"instance", in->node_name},
						       {"mode", v07_modes[m]},
						       {"source", part_source(in, p)}};
			uint64_t uj = part_uj(in, p, &e[m]);

			if (parts[p].part == P_PLATFORM && m == V07_DYNAMIC && in->platform.present)
				uj = in->platform_dynamic_uj;
			prom_sample(w, name, l, ARRAY_SIZE(l), joules_of(uj));
		}
	}
}

void render_v07_processes(struct prom_writer *w, const struct snapshot *in)
{
	char name[64], help[160], pid[16];

	for (size_t p = 0; p < ARRAY_SIZE(parts); p++) {
		snprintf(name, sizeof(name), "kepler_process_%s_joules_total", parts[p].name);
		snprintf(help, sizeof(help),
			 "Kepler 0.7 name: %s energy of a process series by mode (dynamic: its "
			 "active energy, idle: its share of the node's idle), in joules",
			 parts[p].name);
		prom_family(w, name, PROM_COUNTER, help);
		for (size_t i = 0; i < in->n_procs; i++) {
			const struct snap_process *sp = &in->procs[i];

			for (int m = 0; m < V07_MODES; m++) {
				struct v07_energy e =
				    mode_energy(m, sp->energy_uj, sp->gpu, sp->idle);
				struct prom_label l[6];
				size_t k;

				if (sp->pid)
					snprintf(pid, sizeof(pid), "%u", sp->pid);
				else
					pid[0] = '\0';
				k = 0;
				l[k++] = (struct prom_label){"pid", pid};
				l[k++] = (struct prom_label){"container_id", sp->container_id};
				l[k++] = (struct prom_label){"vm_id", sp->vm_id};
				k = v07_process_extra(l, k, sp, m, part_source(in, p));
				prom_sample(w, name, l, k, joules_of(part_uj(in, p, &e)));
			}
		}
	}
}

size_t v07_process_extra(struct prom_label *l, size_t k, const struct snap_process *p, int mode,
			 const char *source)
{
	l[k++] = (struct prom_label){"command", p->comm};
	l[k++] = (struct prom_label){"mode", v07_modes[mode]};
	l[k++] = (struct prom_label){"source", source};
	return k;
}

size_t v07_group_extra(struct prom_label *l, size_t k, enum snap_group_kind kind,
		       const struct snap_group *g, int mode, const char *source)
{
	if (kind == SNAP_CONTAINER) {
		l[k++] = (struct prom_label){"pod_name", g->parent_name};
		l[k++] = (struct prom_label){"container_namespace", g->namespace};
	}
	l[k++] = (struct prom_label){"mode", v07_modes[mode]};
	l[k++] = (struct prom_label){"source", source};
	return k;
}

/* Kepler 0.7's container of the processes in no container, in every 0.7 container family. */
const struct snap_group v07_system_processes = {
    .id = "system_processes",
    .name = "system_processes",
    .namespace = "system",
    .parent_name = "system_processes",
    .parent = "",
    .kind_label = "",
};

/*
 * system_processes' active energy: the node's less the containers' (per zone, per
 * GPU), so the containers with it add up to the node.
 */
void v07_system_active(const struct snapshot *in, uint64_t zone_uj[ZONE_MAX],
		       struct snap_gpu_energy *gpu)
{
	const struct snap_group *c = in->groups[SNAP_CONTAINER];

	for (int z = 0; z < ZONE_MAX; z++) {
		zone_uj[z] = in->zone[z].active_uj;
		for (size_t i = 0; i < in->n_groups[SNAP_CONTAINER]; i++)
			zone_uj[z] -= c[i].energy_uj[z];
	}
	*gpu = (struct snap_gpu_energy){{0}};
	for (size_t g = 0; g < in->n_gpus; g++) {
		gpu->energy_uj[g] = in->gpu[g].z.active_uj;
		for (size_t i = 0; i < in->n_groups[SNAP_CONTAINER]; i++)
			if (c[i].gpu)
				gpu->energy_uj[g] -= c[i].gpu->energy_uj[g];
	}
}

void render_v07_groups(struct prom_writer *w, const struct snapshot *in, enum snap_group_kind kind)
{
	const char *what = kind == SNAP_CONTAINER ? "container" : "vm";
	struct snap_gpu_energy sys_gpu;
	uint64_t sys_active[ZONE_MAX];
	size_t n = in->n_groups[kind] + (kind == SNAP_CONTAINER);
	char name[64], help[192];

	if (kind == SNAP_POD)
		return;
	v07_system_active(in, sys_active, &sys_gpu);
	/* The 0.7 parts, then (containers) their total under its own name. */
	for (size_t p = 0; p < ARRAY_SIZE(parts) + (kind == SNAP_CONTAINER); p++) {
		size_t part = p < ARRAY_SIZE(parts) ? p : ARRAY_SIZE(parts) - 1;

		if (p < ARRAY_SIZE(parts))
			snprintf(name, sizeof(name), "kepler_%s_%s_joules_total", what,
				 parts[p].name);
		else
			snprintf(name, sizeof(name), "kepler_container_joules_total");
		snprintf(help, sizeof(help),
			 "Kepler 0.7 name: %s energy of a %s by mode (dynamic: its active energy, "
			 "idle: its share of the node's idle), in joules",
			 p < ARRAY_SIZE(parts) ? parts[p].name : "package + dram + other + gpu",
			 what);
		prom_family(w, name, PROM_COUNTER, help);
		for (size_t i = 0; i < n; i++) {
			bool sys = i == in->n_groups[kind];
			const struct snap_group *g =
			    sys ? &v07_system_processes : &in->groups[kind][i];

			for (int m = 0; m < V07_MODES; m++) {
				struct v07_energy e =
				    sys ? mode_energy(m, sys_active, &sys_gpu, in->system_idle)
					: mode_energy(m, g->energy_uj, g->gpu, g->idle);
				struct prom_label l[6];
				size_t k = 0;

				if (kind == SNAP_CONTAINER) {
					l[k++] = (struct prom_label){"container_id", g->id};
					l[k++] = (struct prom_label){"container_name", g->name};
				} else {
					l[k++] = (struct prom_label){"vm_id", g->id};
				}
				k = v07_group_extra(l, k, kind, g, m, part_source(in, part));
				prom_sample(w, name, l, k, joules_of(part_uj(in, part, &e)));
			}
		}
	}
}
