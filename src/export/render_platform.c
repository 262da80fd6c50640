// SPDX-License-Identifier: Apache-2.0
/*
 * The platform families: the whole platform at the node (total, idle and
 * active, from a meter or the model), the platform model's coefficients, and
 * per process, container, pod and VM its platform energy (docs/attribution.md,
 * "Platform energy"). Nothing at all on a node without a platform zone.
 */
#include "config.h"
#include "export/render_internal.h"
#include "util/util.h"

void render_platform_node(struct prom_writer *w, const struct snapshot *in)
{
	static const struct {
		const char *joules, *watts, *what;
		size_t uj, w;
	} kinds[] = {
	    {"kepler_node_platform_joules_total", "kepler_node_platform_watts", "",
	     offsetof(struct snap_zone, total_uj), offsetof(struct snap_zone, watts)},
	    {"kepler_node_platform_active_joules_total", "kepler_node_platform_active_watts",
	     " beyond its idle power", offsetof(struct snap_zone, active_uj),
	     offsetof(struct snap_zone, active_watts)},
	    {"kepler_node_platform_idle_joules_total", "kepler_node_platform_idle_watts",
	     " at its idle power", offsetof(struct snap_zone, idle_uj),
	     offsetof(struct snap_zone, idle_watts)},
	};
	const struct snap_zone *p = &in->platform;
	const struct prom_label l[] = {{"source", in->platform_power_source}};
	const struct snap_platform_model *pm = &in->platform_model;
	char help[160];

	if (!p->present)
		return;
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		/* compat v0.7 writes the total with Kepler 0.7's labels too (render_v07.c). */
		if (k || !(in->compat & COMPAT_V07)) {
			snprintf(help, sizeof(help), "Energy of the whole platform%s, in joules",
				 kinds[k].what);
			prom_family(w, kinds[k].joules, PROM_COUNTER, help);
			prom_sample(w, kinds[k].joules, l, 1,
				    joules_of(*(const uint64_t *)((const char *)p + kinds[k].uj)));
		}
		snprintf(help, sizeof(help),
			 "Power of the whole platform%s over the last interval, in watts",
			 kinds[k].what);
		prom_family(w, kinds[k].watts, PROM_GAUGE, help);
		prom_sample(w, kinds[k].watts, l, 1,
			    *(const double *)((const char *)p + kinds[k].w));
	}
	/* Kepler 0.11's name for it (there from a BMC, with labels naming its parts). */
	prom_family(w, "kepler_platform_watts", PROM_GAUGE,
		    "Power of the whole platform over the last interval, in watts (Kepler "
		    "0.11 name of kepler_node_platform_watts)");
	prom_sample(w, "kepler_platform_watts", l, 1, p->watts);

	prom_family(w, "kepler_node_platform_idle_estimate_watts", PROM_GAUGE,
		    "Current estimate of the platform's idle (static) power: configured or "
		    "learned, in watts");
	if (p->idle_estimate_w == p->idle_estimate_w) {
		const struct prom_label li[] = {{"source", in->platform_power_source},
						{"method", p->idle_method}};

		prom_sample(w, "kepler_node_platform_idle_estimate_watts", li, 2,
			    p->idle_estimate_w);
	}

	if (!pm->present)
		return;
	prom_family(w, "kepler_node_platform_model_coefficient", PROM_GAUGE,
		    "The platform model: watts = intercept + cpu x CPU parts' watts + gpu x GPUs' "
		    "watts + utilization x CPU utilisation; fitted to the platform meter, or "
		    "configured where the platform is estimated");
	for (int t = 0; t < PM_TERMS; t++) {
		const struct prom_label lm[] = {{"term", pm_term_names[t]}, {"method", pm->method}};

		prom_sample(w, "kepler_node_platform_model_coefficient", lm, 2, pm->coef[t]);
	}
	prom_family(w, "kepler_node_platform_model_samples", PROM_GAUGE,
		    "Intervals the fitted platform model has learned from (older ones weigh less)");
	if (pm->samples > 0)
		prom_sample(w, "kepler_node_platform_model_samples", NULL, 0, pm->samples);
}

void render_platform_processes(struct prom_writer *w, const struct snapshot *in)
{
	static const char *const joules = "kepler_process_platform_joules_total",
				 *const power = "kepler_process_platform_watts";
	struct prom_label l[8];
	char pid[16];
	size_t k;

	if (!in->platform.present)
		return;
	/* compat v0.7 has its own family of that name, with Kepler 0.7's meaning (render_v07.c). */
	if (!(in->compat & COMPAT_V07)) {
		prom_family(w, joules, PROM_COUNTER,
			    "A process's share of the platform's active energy since it got its "
			    "own series: at least its CPU package, DRAM and GPU energy while the "
			    "meters agree (docs/attribution.md), in joules");
		for (size_t i = 0; i < in->n_procs; i++) {
			k = process_labels(l, &in->procs[i], pid, sizeof(pid), NULL);
			prom_sample(w, joules, l, k, joules_of(in->procs[i].platform_uj));
		}
	}
	prom_family(w, power, PROM_GAUGE,
		    "A process's share of the platform's active power over the last interval, in "
		    "watts");
	for (size_t i = 0; i < in->n_procs; i++) {
		k = process_labels(l, &in->procs[i], pid, sizeof(pid), NULL);
		prom_sample(w, power, l, k, watts(in->procs[i].interval_platform_uj, in->dt_ns));
	}
}

void render_platform_groups(struct prom_writer *w, const struct snapshot *in,
			    enum snap_group_kind kind)
{
	static const struct {
		const char *joules, *power, *what;
	} fam[SNAP_GROUP_KINDS] = {
	    [SNAP_CONTAINER] = {"kepler_container_platform_joules_total",
				"kepler_container_platform_watts", "container"},
	    [SNAP_POD] = {"kepler_pod_platform_joules_total", "kepler_pod_platform_watts", "pod"},
	    [SNAP_VM] = {"kepler_vm_platform_joules_total", "kepler_vm_platform_watts",
			 "virtual machine"},
	};
	const struct snap_group *list = in->groups[kind];
	struct prom_label l[6];
	char help[160];
	size_t k;

	if (!in->platform.present)
		return;
	/* As for processes; Kepler 0.7 had no pod families. */
	if (!(in->compat & COMPAT_V07) || kind == SNAP_POD) {
		snprintf(help, sizeof(help),
			 "A %s's share of the platform's active energy, the sum of its "
			 "processes', in joules",
			 fam[kind].what);
		prom_family(w, fam[kind].joules, PROM_COUNTER, help);
		for (size_t i = 0; i < in->n_groups[kind]; i++) {
			k = group_labels(l, kind, &list[i], NULL);
			prom_sample(w, fam[kind].joules, l, k, joules_of(list[i].platform_uj));
		}
	}
	snprintf(help, sizeof(help),
		 "A %s's share of the platform's active power over the last interval, in watts",
		 fam[kind].what);
	prom_family(w, fam[kind].power, PROM_GAUGE, help);
	for (size_t i = 0; i < in->n_groups[kind]; i++) {
		k = group_labels(l, kind, &list[i], NULL);
		prom_sample(w, fam[kind].power, l, k,
			    watts(list[i].interval_platform_uj, in->dt_ns));
	}
}
