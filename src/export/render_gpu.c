// SPDX-License-Identifier: Apache-2.0
/*
 * The GPU families: per GPU at the node (total, idle and active), and per
 * process, container, pod and VM the active energy of each GPU it used. A
 * series appears with its first joule and, being a counter, stays.
 */
#include <stdio.h>

#include "config.h"
#include "export/render_internal.h"
#include "util/util.h"

enum node_field { F_TOTAL, F_ACTIVE, F_IDLE };

/* gpu, gpu_uuid, vendor */
static size_t gpu_labels(struct prom_label *l, const struct snap_gpu *g, char *idx, size_t idxsz,
			 size_t i)
{
	snprintf(idx, idxsz, "%zu", i);
	l[0] = (struct prom_label){"gpu", idx};
	l[1] = (struct prom_label){"gpu_uuid", g->uuid};
	l[2] = (struct prom_label){"vendor", g->vendor};
	return 3;
}

/*
 * compat v0.7: Kepler 0.7 named a GPU's energy kepler_node_gpu_joules_total too,
 * split by mode. One set of series carries both label sets, so that both
 * dashboards select it and a sum() counts each joule once: dynamic (active)
 * plus idle is the GPU's total.
 */
static void node_gpu_v07(struct prom_writer *w, const struct snapshot *in, const char *name)
{
	struct prom_label l[7];
	char idx[24];

	for (size_t i = 0; i < in->n_gpus; i++) {
		const struct snap_zone *z = &in->gpu[i].z;

		for (int m = 0; m < V07_MODES; m++) {
			size_t n = gpu_labels(l, &in->gpu[i], idx, sizeof(idx), i);

			l[n++] = (struct prom_label){"package", idx};
			l[n++] = (struct prom_label){"instance", in->node_name};
			l[n++] = (struct prom_label){"mode", v07_modes[m]};
			l[n++] = (struct prom_label){"source", z->source};
			prom_sample(w, name, l, n,
				    joules_of(m == V07_DYNAMIC ? z->active_uj : z->idle_uj));
		}
	}
}

void render_gpu_node(struct prom_writer *w, const struct snapshot *in)
{
	static const struct {
		const char *joules, *watts, *what;
		enum node_field f;
	} kinds[] = {
	    {"kepler_node_gpu_joules_total", "kepler_node_gpu_watts", "", F_TOTAL},
	    {"kepler_node_gpu_active_joules_total", "kepler_node_gpu_active_watts", " active",
	     F_ACTIVE},
	    {"kepler_node_gpu_idle_joules_total", "kepler_node_gpu_idle_watts", " idle", F_IDLE},
	};
	struct prom_label l[6];
	char help[160], idx[24];

	if (!in->n_gpus)
		return;
	prom_family(w, "kepler_node_gpu_info", PROM_GAUGE,
		    "A GPU the agent reads: energy_source=\"energy_counter\" is the device's own "
		    "energy counter, \"power\" its power readings integrated; usage_source says "
		    "how its processes' shares are measured");
	for (size_t i = 0; i < in->n_gpus; i++) {
		const struct snap_gpu *g = &in->gpu[i];

		gpu_labels(l, g, idx, sizeof(idx), i);
		l[2] = (struct prom_label){"gpu_name", g->name};
		l[3] = (struct prom_label){"vendor", g->vendor};
		l[4] = (struct prom_label){"energy_source", g->energy_source};
		l[5] = (struct prom_label){"usage_source", g->usage_source};
		prom_sample(w, "kepler_node_gpu_info", l, 6, 1);
	}
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		snprintf(help, sizeof(help), "Energy consumed by a GPU%s, in joules%s",
			 kinds[k].what,
			 k == F_TOTAL && (in->compat & COMPAT_V07)
			     ? "; split by Kepler 0.7's mode (dynamic: active, idle)"
			     : "");
		prom_family(w, kinds[k].joules, PROM_COUNTER, help);
		if (k == F_TOTAL && (in->compat & COMPAT_V07)) {
			node_gpu_v07(w, in, kinds[k].joules);
			goto watts;
		}
		for (size_t i = 0; i < in->n_gpus; i++) {
			const struct snap_zone *z = &in->gpu[i].z;
			uint64_t v = kinds[k].f == F_TOTAL    ? z->total_uj
				     : kinds[k].f == F_ACTIVE ? z->active_uj
							      : z->idle_uj;

			prom_sample(w, kinds[k].joules, l,
				    gpu_labels(l, &in->gpu[i], idx, sizeof(idx), i), joules_of(v));
		}
	watts:
		snprintf(help, sizeof(help), "Power of a GPU%s over the last interval, in watts",
			 kinds[k].what);
		prom_family(w, kinds[k].watts, PROM_GAUGE, help);
		for (size_t i = 0; i < in->n_gpus; i++) {
			const struct snap_zone *z = &in->gpu[i].z;
			double v = kinds[k].f == F_TOTAL    ? z->watts
				   : kinds[k].f == F_ACTIVE ? z->active_watts
							    : z->idle_watts;

			prom_sample(w, kinds[k].watts, l,
				    gpu_labels(l, &in->gpu[i], idx, sizeof(idx), i), v);
		}
	}
	prom_family(w, "kepler_node_gpu_idle_estimate_watts", PROM_GAUGE,
		    "Current estimate of a GPU's idle (static) power: configured or learned "
		    "against its utilisation, in watts");
	for (size_t i = 0; i < in->n_gpus; i++) {
		const struct snap_zone *z = &in->gpu[i].z;
		size_t n = gpu_labels(l, &in->gpu[i], idx, sizeof(idx), i);

		l[n++] = (struct prom_label){"method", z->idle_method};
		if (z->idle_estimate_w == z->idle_estimate_w)
			prom_sample(w, "kepler_node_gpu_idle_estimate_watts", l, n,
				    z->idle_estimate_w);
	}
}

/* What a workload series shows of GPU g; < 0 when it has no sample for it. */
enum gpu_value { V_JOULES, V_WATTS, V_UTIL };

static double gpu_value(const struct snap_gpu_energy *e, size_t g, enum gpu_value v, uint64_t dt_ns)
{
	/* Energy series appear with their first joule; utilisation while the GPU is in use. */
	if (!e || (v != V_UTIL && !e->energy_uj[g]))
		return -1;
	return v == V_JOULES  ? joules_of(e->energy_uj[g])
	       : v == V_WATTS ? watts(e->interval_uj[g], dt_ns)
			      : e->util[g];
}

/* gpu and vendor after a workload's labels. */
static size_t add_gpu(struct prom_label *l, size_t k, const struct snapshot *in, size_t g,
		      char *idx, size_t idxsz)
{
	snprintf(idx, idxsz, "%zu", g);
	l[k++] = (struct prom_label){"gpu", idx};
	l[k++] = (struct prom_label){"vendor", in->gpu[g].vendor};
	return k;
}

/*
 * compat v0.7: a workload's GPU energy also under Kepler 0.7's labels, split by
 * mode; written instead of the plain series (see node_gpu_v07). A series
 * appears with its first joule of either mode.
 */
static bool gpu_v07(const struct snap_gpu_energy *e, const struct snap_idle *idle, size_t g,
		    uint64_t ret_uj[V07_MODES])
{
	ret_uj[V07_DYNAMIC] = e ? e->energy_uj[g] : 0;
	ret_uj[V07_IDLE] = idle ? idle->gpu_uj[g] : 0;
	return ret_uj[V07_DYNAMIC] || ret_uj[V07_IDLE];
}

void render_gpu_processes(struct prom_writer *w, const struct snapshot *in)
{
	static const struct {
		const char *name, *help;
		enum prom_type type;
		enum gpu_value v;
	} fam[] = {
	    {"kepler_process_gpu_joules_total",
	     "Active GPU energy attributed to a process since it got its own series, per GPU, in "
	     "joules; comm=\"other\" as for kepler_process_cpu_joules_total",
	     PROM_COUNTER, V_JOULES},
	    {"kepler_process_gpu_watts",
	     "Active GPU power of a process over the last interval, per GPU, in watts", PROM_GAUGE,
	     V_WATTS},
	    {"kepler_process_gpu_compute_utilization",
	     "A process's share of a GPU's compute over the last interval (0 to 1), where the GPU "
	     "measures it",
	     PROM_GAUGE, V_UTIL},
	};
	bool v07 = in->compat & COMPAT_V07;
	struct prom_label l[13];
	char pid[16], idx[24];

	if (!in->n_gpus)
		return;
	for (size_t f = 0; f < ARRAY_SIZE(fam); f++) {
		prom_family(w, fam[f].name, fam[f].type, fam[f].help);
		for (size_t g = 0; g < in->n_gpus; g++)
			for (size_t i = 0; i < in->n_procs; i++) {
				const struct snap_process *p = &in->procs[i];
				double v = gpu_value(p->gpu, g, fam[f].v, in->dt_ns);
				uint64_t uj[V07_MODES];
				size_t k;

				if (v07 && fam[f].v == V_JOULES) {
					if (!gpu_v07(p->gpu, p->idle, g, uj))
						continue;
					for (int m = 0; m < V07_MODES; m++) {
						k = process_labels(l, p, pid, sizeof(pid), NULL);
						k = add_gpu(l, k, in, g, idx, sizeof(idx));
						k = v07_process_extra(l, k, p, m,
								      in->gpu[g].z.source);
						prom_sample(w, fam[f].name, l, k, joules_of(uj[m]));
					}
					continue;
				}
				if (v < 0)
					continue;
				k = process_labels(l, p, pid, sizeof(pid), NULL);
				k = add_gpu(l, k, in, g, idx, sizeof(idx));
				prom_sample(w, fam[f].name, l, k, v);
			}
	}
}

/* One group's GPU joules under compat v0.7: both modes, the 0.7 labels added. */
static void group_gpu_v07(struct prom_writer *w, const struct snapshot *in, const char *name,
			  enum snap_group_kind kind, const struct snap_group *grp,
			  const struct snap_gpu_energy *e, const struct snap_idle *idle, size_t g)
{
	struct prom_label l[12];
	uint64_t uj[V07_MODES];
	char idx[24];

	if (!gpu_v07(e, idle, g, uj))
		return;
	for (int m = 0; m < V07_MODES; m++) {
		size_t k = group_labels(l, kind, grp, NULL);

		k = add_gpu(l, k, in, g, idx, sizeof(idx));
		k = v07_group_extra(l, k, kind, grp, m, in->gpu[g].z.source);
		prom_sample(w, name, l, k, joules_of(uj[m]));
	}
}

void render_gpu_groups(struct prom_writer *w, const struct snapshot *in, enum snap_group_kind kind)
{
	static const char *const what[SNAP_GROUP_KINDS] = {
	    [SNAP_CONTAINER] = "container", [SNAP_POD] = "pod", [SNAP_VM] = "vm"};
	static const char *const desc[SNAP_GROUP_KINDS] = {
	    [SNAP_CONTAINER] = "container", [SNAP_POD] = "pod", [SNAP_VM] = "virtual machine"};
	const struct snap_group *list = in->groups[kind];
	bool v07 = (in->compat & COMPAT_V07) && kind != SNAP_POD;
	struct prom_label l[8];
	char name[64], help[192], idx[24];

	if (!in->n_gpus)
		return;
	for (enum gpu_value v = V_JOULES; v <= V_WATTS; v++) {
		snprintf(name, sizeof(name), "kepler_%s_gpu_%s", what[kind],
			 v == V_JOULES ? "joules_total" : "watts");
		snprintf(help, sizeof(help),
			 "Active GPU %s of a %s, the sum of its processes', %s%s",
			 v == V_JOULES ? "energy" : "power", desc[kind],
			 v == V_JOULES ? "per GPU, in joules"
				       : "over the last interval, per GPU, in watts",
			 v == V_JOULES && v07 ? "; with Kepler 0.7's mode: dynamic (this), idle "
						"(its share of the GPU's idle)"
					      : "");
		prom_family(w, name, v == V_JOULES ? PROM_COUNTER : PROM_GAUGE, help);
		for (size_t g = 0; g < in->n_gpus; g++) {
			for (size_t i = 0; i < in->n_groups[kind]; i++) {
				double x = gpu_value(list[i].gpu, g, v, in->dt_ns);
				size_t k;

				if (v07 && v == V_JOULES) {
					group_gpu_v07(w, in, name, kind, &list[i], list[i].gpu,
						      list[i].idle, g);
					continue;
				}
				if (x < 0)
					continue;
				k = group_labels(l, kind, &list[i], NULL);
				k = add_gpu(l, k, in, g, idx, sizeof(idx));
				prom_sample(w, name, l, k, x);
			}
			if (v07 && v == V_JOULES && kind == SNAP_CONTAINER) {
				struct snap_gpu_energy sys_gpu;
				uint64_t sys_active[ZONE_MAX];

				v07_system_active(in, sys_active, &sys_gpu);
				group_gpu_v07(w, in, name, kind, &v07_system_processes, &sys_gpu,
					      in->system_idle, g);
			}
		}
	}
}
