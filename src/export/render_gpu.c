// SPDX-License-Identifier: Apache-2.0
/*
 * The GPU families: per GPU at the node (total, idle and active), and per
 * process, container, pod and VM the active energy of each GPU it used. A
 * series appears with its first joule and, being a counter, stays.
 */
#include <stdio.h>

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
		snprintf(help, sizeof(help), "Energy consumed by a GPU%s, in joules",
			 kinds[k].what);
		prom_family(w, kinds[k].joules, PROM_COUNTER, help);
		for (size_t i = 0; i < in->n_gpus; i++) {
			const struct snap_zone *z = &in->gpu[i].z;
			uint64_t v = kinds[k].f == F_TOTAL    ? z->total_uj
				     : kinds[k].f == F_ACTIVE ? z->active_uj
							      : z->idle_uj;

			prom_sample(w, kinds[k].joules, l,
				    gpu_labels(l, &in->gpu[i], idx, sizeof(idx), i), joules_of(v));
		}
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
	struct prom_label l[10];
	char pid[16], idx[24];

	if (!in->n_gpus)
		return;
	for (size_t f = 0; f < ARRAY_SIZE(fam); f++) {
		prom_family(w, fam[f].name, fam[f].type, fam[f].help);
		for (size_t g = 0; g < in->n_gpus; g++)
			for (size_t i = 0; i < in->n_procs; i++) {
				const struct snap_process *p = &in->procs[i];
				double v = gpu_value(p->gpu, g, fam[f].v, in->dt_ns);
				size_t k;

				if (v < 0)
					continue;
				k = process_labels(l, p, pid, sizeof(pid), NULL);
				k = add_gpu(l, k, in, g, idx, sizeof(idx));
				prom_sample(w, fam[f].name, l, k, v);
			}
	}
}

void render_gpu_groups(struct prom_writer *w, const struct snapshot *in, enum snap_group_kind kind)
{
	static const char *const what[SNAP_GROUP_KINDS] = {
	    [SNAP_CONTAINER] = "container", [SNAP_POD] = "pod", [SNAP_VM] = "vm"};
	static const char *const desc[SNAP_GROUP_KINDS] = {
	    [SNAP_CONTAINER] = "container", [SNAP_POD] = "pod", [SNAP_VM] = "virtual machine"};
	const struct snap_group *list = in->groups[kind];
	struct prom_label l[8];
	char name[64], help[160], idx[24];

	if (!in->n_gpus)
		return;
	for (enum gpu_value v = V_JOULES; v <= V_WATTS; v++) {
		snprintf(name, sizeof(name), "kepler_%s_gpu_%s", what[kind],
			 v == V_JOULES ? "joules_total" : "watts");
		snprintf(help, sizeof(help), "Active GPU %s of a %s, the sum of its processes', %s",
			 v == V_JOULES ? "energy" : "power", desc[kind],
			 v == V_JOULES ? "per GPU, in joules"
				       : "over the last interval, per GPU, in watts");
		prom_family(w, name, v == V_JOULES ? PROM_COUNTER : PROM_GAUGE, help);
		for (size_t g = 0; g < in->n_gpus; g++)
			for (size_t i = 0; i < in->n_groups[kind]; i++) {
				double x = gpu_value(list[i].gpu, g, v, in->dt_ns);
				size_t k;

				if (x < 0)
					continue;
				k = group_labels(l, kind, &list[i], NULL);
				k = add_gpu(l, k, in, g, idx, sizeof(idx));
				prom_sample(w, name, l, k, x);
			}
	}
}
