// SPDX-License-Identifier: Apache-2.0
#include "export/render.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "export/prometheus.h"
#include "export/render_internal.h"
#include "util/timeutil.h"
#include "util/util.h"
#include "version.h"

#define UJ_PER_J 1e6

double joules_of(uint64_t uj)
{
	return (double)uj / UJ_PER_J;
}

double watts(uint64_t uj, uint64_t dt_ns)
{
	return dt_ns ? (double)uj * 1e3 / (double)dt_ns : 0; /* µJ/ns = kW */
}

enum node_field { F_TOTAL, F_ACTIVE, F_IDLE };

static void render_node(struct prom_writer *w, const struct snapshot *in)
{
	static const struct {
		const char *joules, *watts, *what;
		enum node_field f;
	} kinds[] = {
	    {"kepler_node_cpu_joules_total", "kepler_node_cpu_watts", "", F_TOTAL},
	    {"kepler_node_cpu_active_joules_total", "kepler_node_cpu_active_watts", " active",
	     F_ACTIVE},
	    {"kepler_node_cpu_idle_joules_total", "kepler_node_cpu_idle_watts", " idle", F_IDLE},
	};
	char help[160], path[ZONE_MAX][32];

	/* Kepler 0.11's path: a zone summed over sockets is "aggregated-<zone>"; here every
	 * zone is. */
	for (int z = 0; z < ZONE_MAX; z++)
		snprintf(path[z], sizeof(path[z]), "aggregated-%s", zone_names[z]);
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		snprintf(help, sizeof(help), "Energy consumed by the node's CPU zones%s, in joules",
			 kinds[k].what);
		prom_family(w, kinds[k].joules, PROM_COUNTER, help);
		for (int z = 0; z < ZONE_MAX; z++) {
			const struct snap_zone *nz = &in->zone[z];
			const struct prom_label l[] = {{"zone", zone_names[z]}, {"path", path[z]}};
			uint64_t v = kinds[k].f == F_TOTAL    ? nz->total_uj
				     : kinds[k].f == F_ACTIVE ? nz->active_uj
							      : nz->idle_uj;

			if (nz->present)
				prom_sample(w, kinds[k].joules, l, 2, joules_of(v));
		}
		snprintf(help, sizeof(help),
			 "Power of the node's CPU zones%s over the last interval, "
			 "in watts",
			 kinds[k].what);
		prom_family(w, kinds[k].watts, PROM_GAUGE, help);
		for (int z = 0; z < ZONE_MAX; z++) {
			const struct snap_zone *nz = &in->zone[z];
			const struct prom_label l[] = {{"zone", zone_names[z]}, {"path", path[z]}};
			double v = kinds[k].f == F_TOTAL    ? nz->watts
				   : kinds[k].f == F_ACTIVE ? nz->active_watts
							    : nz->idle_watts;

			if (nz->present)
				prom_sample(w, kinds[k].watts, l, 2, v);
		}
	}

	prom_family(w, "kepler_node_cpu_idle_estimate_watts", PROM_GAUGE,
		    "Current estimate of the node's idle (static) power per zone: configured, "
		    "the power model's own, or learned, in watts");
	for (int z = 0; z < ZONE_MAX; z++) {
		const struct snap_zone *nz = &in->zone[z];
		const struct prom_label l[] = {
		    {"zone", zone_names[z]},
		    {"method", nz->idle_method},
		};

		if (nz->present && nz->idle_estimate_w == nz->idle_estimate_w)
			prom_sample(w, "kepler_node_cpu_idle_estimate_watts", l, 2,
				    nz->idle_estimate_w);
	}

	prom_family(w, "kepler_node_cpu_usage_ratio", PROM_GAUGE,
		    "Share of the node's CPU time spent on work over the last interval (0 to 1)");
	if (in->cpu_util >= 0)
		prom_sample(w, "kepler_node_cpu_usage_ratio", NULL, 0, in->cpu_util);

	prom_family(w, "kepler_node_cpu_info", PROM_GAUGE,
		    "A processor of /proc/cpuinfo, as read when the agent started");
	for (size_t i = 0; i < in->n_cpus; i++) {
		const struct snap_cpu *c = &in->cpus[i];
		const struct prom_label l[] = {
		    {"processor", c->processor},   {"vendor_id", c->vendor_id},
		    {"model_name", c->model_name}, {"physical_id", c->physical_id},
		    {"core_id", c->core_id},
		};

		prom_sample(w, "kepler_node_cpu_info", l, ARRAY_SIZE(l), 1);
	}

	{
		const struct prom_label l[] = {
		    {"cpu_model", in->cpu_model},
		    {"cpu_power_source", in->cpu_power_source},
		    {"platform_power_source", in->platform_power_source},
		    {"activity_source", in->activity_source},
		};

		prom_family(w, "kepler_node_info", PROM_GAUGE,
			    "Where the node's figures come from; cpu_power_source=\"estimator\" "
			    "means the CPU energy is a model, not a measurement");
		prom_sample(w, "kepler_node_info", l, ARRAY_SIZE(l), 1);
	}
}

size_t process_labels(struct prom_label *l, const struct snap_process *p, char *pid, size_t pidsz,
		      const char *zone)
{
	size_t n = 0;

	if (p->pid)
		snprintf(pid, pidsz, "%u", p->pid);
	else
		pid[0] = '\0';
	l[n++] = (struct prom_label){"pid", pid};
	l[n++] = (struct prom_label){"comm", p->comm};
	l[n++] = (struct prom_label){"exe", p->exe};
	l[n++] = (struct prom_label){"type", p->type};
	l[n++] = (struct prom_label){"state", p->terminated ? "terminated" : "running"};
	l[n++] = (struct prom_label){"container_id", p->container_id};
	l[n++] = (struct prom_label){"vm_id", p->vm_id};
	if (zone)
		l[n++] = (struct prom_label){"zone", zone};
	return n;
}

static void render_processes(struct prom_writer *w, const struct snapshot *in)
{
	static const char *const joules = "kepler_process_cpu_joules_total",
				 *const power = "kepler_process_cpu_watts",
				 *const seconds = "kepler_process_cpu_seconds_total";
	struct prom_label l[8];
	char pid[16];
	size_t k;

	prom_family(w, joules, PROM_COUNTER,
		    "Active CPU energy attributed to a process since it got its own series, per "
		    "zone, in joules; comm=\"other\" sums, per container (or VM, or neither), the "
		    "rest of the processes' energy");
	for (int z = 0; z < ZONE_MAX; z++) {
		if (!in->zone[z].present)
			continue;
		for (size_t i = 0; i < in->n_procs; i++) {
			k = process_labels(l, &in->procs[i], pid, sizeof(pid), zone_names[z]);
			prom_sample(w, joules, l, k, joules_of(in->procs[i].energy_uj[z]));
		}
	}

	prom_family(w, power, PROM_GAUGE,
		    "Active CPU power of a process over the last interval, per zone, in watts");
	for (int z = 0; z < ZONE_MAX; z++) {
		if (!in->zone[z].present)
			continue;
		for (size_t i = 0; i < in->n_procs; i++) {
			k = process_labels(l, &in->procs[i], pid, sizeof(pid), zone_names[z]);
			prom_sample(w, power, l, k, watts(in->procs[i].interval_uj[z], in->dt_ns));
		}
	}

	prom_family(w, seconds, PROM_COUNTER,
		    "CPU time used by a process since it got its own series, in seconds");
	for (size_t i = 0; i < in->n_procs; i++) {
		k = process_labels(l, &in->procs[i], pid, sizeof(pid), NULL);
		prom_sample(w, seconds, l, k, (double)in->procs[i].cpu_ns / NSEC_PER_SEC);
	}
}

size_t group_labels(struct prom_label *l, enum snap_group_kind kind, const struct snap_group *g,
		    const char *zone)
{
	const char *state = g->terminated ? "terminated" : "running";
	size_t n = 0;

	switch (kind) {
	case SNAP_CONTAINER:
		l[n++] = (struct prom_label){"container_id", g->id};
		l[n++] = (struct prom_label){"container_name", g->name};
		l[n++] = (struct prom_label){"runtime", g->kind_label};
		l[n++] = (struct prom_label){"state", state};
		l[n++] = (struct prom_label){"pod_id", g->parent};
		break;
	case SNAP_POD:
		l[n++] = (struct prom_label){"pod_id", g->id};
		l[n++] = (struct prom_label){"pod_name", g->name};
		l[n++] = (struct prom_label){"pod_namespace", g->namespace};
		l[n++] = (struct prom_label){"state", state};
		break;
	default:
		l[n++] = (struct prom_label){"vm_id", g->id};
		l[n++] = (struct prom_label){"vm_name", g->name};
		l[n++] = (struct prom_label){"hypervisor", g->kind_label};
		l[n++] = (struct prom_label){"state", state};
		break;
	}
	if (zone)
		l[n++] = (struct prom_label){"zone", zone};
	return n;
}

static void render_groups(struct prom_writer *w, const struct snapshot *in,
			  enum snap_group_kind kind)
{
	static const struct {
		const char *joules, *power, *seconds, *what;
	} fam[SNAP_GROUP_KINDS] = {
	    [SNAP_CONTAINER] = {"kepler_container_cpu_joules_total", "kepler_container_cpu_watts",
				"kepler_container_cpu_seconds_total", "container"},
	    [SNAP_POD] = {"kepler_pod_cpu_joules_total", "kepler_pod_cpu_watts", NULL, "pod"},
	    [SNAP_VM] = {"kepler_vm_cpu_joules_total", "kepler_vm_cpu_watts", NULL,
			 "virtual machine"},
	};
	const struct snap_group *list = in->groups[kind];
	size_t n = in->n_groups[kind], k;
	struct prom_label l[6];
	char help[160];

	snprintf(help, sizeof(help),
		 "Active CPU energy of a %s, the sum of its processes', per "
		 "zone, in joules",
		 fam[kind].what);
	prom_family(w, fam[kind].joules, PROM_COUNTER, help);
	for (int z = 0; z < ZONE_MAX; z++)
		if (in->zone[z].present)
			for (size_t i = 0; i < n; i++) {
				k = group_labels(l, kind, &list[i], zone_names[z]);
				prom_sample(w, fam[kind].joules, l, k,
					    joules_of(list[i].energy_uj[z]));
			}
	snprintf(help, sizeof(help),
		 "Active CPU power of a %s over the last interval, per zone, "
		 "in watts",
		 fam[kind].what);
	prom_family(w, fam[kind].power, PROM_GAUGE, help);
	for (int z = 0; z < ZONE_MAX; z++)
		if (in->zone[z].present)
			for (size_t i = 0; i < n; i++) {
				k = group_labels(l, kind, &list[i], zone_names[z]);
				prom_sample(w, fam[kind].power, l, k,
					    watts(list[i].interval_uj[z], in->dt_ns));
			}
	if (!fam[kind].seconds)
		return;
	snprintf(help, sizeof(help), "CPU time used by a %s's processes, in seconds",
		 fam[kind].what);
	prom_family(w, fam[kind].seconds, PROM_COUNTER, help);
	for (size_t i = 0; i < n; i++) {
		k = group_labels(l, kind, &list[i], NULL);
		prom_sample(w, fam[kind].seconds, l, k, (double)list[i].cpu_ns / NSEC_PER_SEC);
	}
}

static void render_exporter(struct prom_writer *w, const struct snapshot *in)
{
	static const char *const stage_names[STAGE_MAX] = {
	    [STAGE_ACTIVITY] = "activity",	 [STAGE_POWER] = "power",   [STAGE_GPU] = "gpu",
	    [STAGE_ATTRIBUTION] = "attribution", [STAGE_RENDER] = "render",
	};
	const struct exporter_stats *s = &in->stats;

	prom_family(w, "kepler_build_info", PROM_GAUGE,
		    "The agent's version, source revision "
		    "and compiler");
	{
		const struct prom_label l[] = {{"version", KEPLER_VERSION},
					       {"revision", KEPLER_REVISION},
					       {"compiler", KEPLER_COMPILER},
					       {"arch", KEPLER_ARCH}};

		prom_sample(w, "kepler_build_info", l, ARRAY_SIZE(l), 1);
	}
	prom_family(w, "kepler_exporter_intervals_total", PROM_COUNTER,
		    "Collection intervals completed");
	prom_sample(w, "kepler_exporter_intervals_total", NULL, 0, (double)s->intervals);
	prom_family(w, "kepler_exporter_interval_duration_seconds", PROM_GAUGE,
		    "Wall time the last interval's collection took, in seconds");
	prom_sample(w, "kepler_exporter_interval_duration_seconds", NULL, 0, s->interval_seconds);
	prom_family(w, "kepler_exporter_interval_cpu_seconds", PROM_GAUGE,
		    "CPU time the last interval's collection took, in seconds");
	prom_sample(w, "kepler_exporter_interval_cpu_seconds", NULL, 0, s->interval_cpu_seconds);
	prom_family(w, "kepler_exporter_errors_total", PROM_COUNTER,
		    "Intervals in which a stage of the pipeline failed, by stage");
	for (int i = 0; i < STAGE_MAX; i++) {
		const struct prom_label l[] = {{"stage", stage_names[i]}};

		prom_sample(w, "kepler_exporter_errors_total", l, 1, (double)s->errors[i]);
	}
	prom_family(w, "kepler_exporter_stage_cpu_seconds", PROM_GAUGE,
		    "CPU time the collector spent in each stage of the last interval, in seconds "
		    "(render: the interval before)");
	for (int i = 0; i < STAGE_MAX; i++) {
		const struct prom_label l[] = {{"stage", stage_names[i]}};

		prom_sample(w, "kepler_exporter_stage_cpu_seconds", l, 1, s->stage_cpu_seconds[i]);
	}
	prom_family(w, "kepler_exporter_meter_read_errors_total", PROM_COUNTER,
		    "Reads in which a power meter zone could not be read (no energy was reported "
		    "for it; the next good read carries it)");
	for (int z = 0; z < ZONE_MAX; z++) {
		const struct snap_zone *nz = &in->zone[z];
		const struct prom_label l[] = {{"source", nz->source}, {"zone", zone_names[z]}};

		if (nz->present)
			prom_sample(w, "kepler_exporter_meter_read_errors_total", l, 2,
				    (double)nz->read_errors);
	}
	if (in->platform.present) {
		const struct prom_label l[] = {{"source", in->platform_power_source},
					       {"zone", "platform"}};

		prom_sample(w, "kepler_exporter_meter_read_errors_total", l, 2,
			    (double)in->platform.read_errors);
	}
	for (size_t i = 0; i < in->n_gpus; i++) {
		char zone[24];
		const struct prom_label l[] = {{"source", in->gpu[i].z.source}, {"zone", zone}};

		snprintf(zone, sizeof(zone), "gpu%zu", i);
		prom_sample(w, "kepler_exporter_meter_read_errors_total", l, 2,
			    (double)in->gpu[i].z.read_errors);
	}
	prom_family(w, "kepler_exporter_bpf_dropped_total", PROM_COUNTER,
		    "Activity events the eBPF program could not record because a map was full");
	prom_sample(w, "kepler_exporter_bpf_dropped_total", NULL, 0, (double)s->bpf_dropped);
	prom_family(w, "kepler_exporter_bpf_unseen_switches_total", PROM_COUNTER,
		    "Context switches the kernel did not report to the eBPF program; a fair-class "
		    "task's slice is recovered from the scheduler, others' are lost");
	prom_sample(w, "kepler_exporter_bpf_unseen_switches_total", NULL, 0, (double)s->bpf_unseen);
	prom_family(w, "kepler_exporter_scrapes_total", PROM_COUNTER, "Scrapes of /metrics served");
	prom_sample(w, "kepler_exporter_scrapes_total", NULL, 0, (double)s->scrapes);
	prom_family(w, "kepler_exporter_http_header_timeouts_total", PROM_COUNTER,
		    "HTTP connections closed because their request header did not arrive within "
		    "web.headerTimeout");
	prom_sample(w, "kepler_exporter_http_header_timeouts_total", NULL, 0,
		    (double)s->http_header_timeouts);
	prom_family(w, "kepler_exporter_processes", PROM_GAUGE,
		    "Processes the agent tracks, running and terminated");
	prom_sample(w, "kepler_exporter_processes", NULL, 0, (double)in->n_tracked);
	if (in->kubelet) {
		prom_family(w, "kepler_exporter_kubelet_errors_total", PROM_COUNTER,
			    "Kubelet /pods polls that failed (pods keep their ids meanwhile)");
		prom_sample(w, "kepler_exporter_kubelet_errors_total", NULL, 0,
			    (double)in->kubelet_errors);
		prom_family(w, "kepler_exporter_kubelet_up", PROM_GAUGE,
			    "Whether the last kubelet /pods poll succeeded");
		prom_sample(w, "kepler_exporter_kubelet_up", NULL, 0, in->kubelet_up);
	}
}

/* The standard process_* metrics of the agent itself; unknown figures are left out. */
static void render_self(struct prom_writer *w, const struct snap_self *self)
{
	static const struct {
		const char *name, *help;
		enum prom_type type;
		size_t off;
	} fam[] = {
	    {"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
	     PROM_COUNTER, offsetof(struct snap_self, cpu_seconds)},
	    {"process_resident_memory_bytes", "Resident memory size in bytes.", PROM_GAUGE,
	     offsetof(struct snap_self, resident_bytes)},
	    {"process_virtual_memory_bytes", "Virtual memory size in bytes.", PROM_GAUGE,
	     offsetof(struct snap_self, virtual_bytes)},
	    {"process_open_fds", "Number of open file descriptors.", PROM_GAUGE,
	     offsetof(struct snap_self, open_fds)},
	    {"process_max_fds", "Maximum number of open file descriptors.", PROM_GAUGE,
	     offsetof(struct snap_self, max_fds)},
	    {"process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
	     PROM_GAUGE, offsetof(struct snap_self, start_time_seconds)},
	};

	for (size_t i = 0; i < ARRAY_SIZE(fam); i++) {
		double v = *(const double *)((const char *)self + fam[i].off);

		if (v < 0)
			continue;
		prom_family(w, fam[i].name, fam[i].type, fam[i].help);
		prom_sample(w, fam[i].name, NULL, 0, v);
	}
}

int render_metrics(struct strbuf *sb, const struct snapshot *in)
{
	struct prom_writer *w = prom_writer_new(sb);
	/* Every kepler_* family carries the node's name, as Kepler 0.11's do. */
	const struct prom_label node_name = {"node_name", in->node_name};
	bool v07 = in->compat & COMPAT_V07;
	int r;

	if (!w)
		return -errno;
	prom_writer_const_labels(w, &node_name, 1);
	if (in->metrics_levels & METRICS_NODE) {
		render_node(w, in);
		render_gpu_node(w, in);
		render_platform_node(w, in);
		if (v07)
			render_v07_node(w, in);
	}
	if (in->metrics_levels & METRICS_PROCESS) {
		render_processes(w, in);
		render_gpu_processes(w, in);
		render_platform_processes(w, in);
		if (v07)
			render_v07_processes(w, in);
	}
	for (int k = 0; k < SNAP_GROUP_KINDS; k++) {
		static const uint32_t level[SNAP_GROUP_KINDS] = {
		    [SNAP_CONTAINER] = METRICS_CONTAINER,
		    [SNAP_POD] = METRICS_POD,
		    [SNAP_VM] = METRICS_VM,
		};

		if (in->metrics_levels & level[k]) {
			render_groups(w, in, (enum snap_group_kind)k);
			render_gpu_groups(w, in, (enum snap_group_kind)k);
			render_platform_groups(w, in, (enum snap_group_kind)k);
			if (v07)
				render_v07_groups(w, in, (enum snap_group_kind)k);
		}
	}
	render_exporter(w, in);
	/* The standard process_* families describe the agent's process, as everywhere. */
	prom_writer_const_labels(w, NULL, 0);
	render_self(w, &in->self);
	r = prom_writer_error(w);
	prom_writer_free(w);
	return r;
}
