// SPDX-License-Identifier: Apache-2.0
#include "export/render.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "export/prometheus.h"
#include "util/fileio.h"
#include "util/timeutil.h"
#include "util/util.h"
#include "version.h"

#define UJ_PER_J 1e6

static double joules(uint64_t uj)
{
	return (double)uj / UJ_PER_J;
}

static double watts(uint64_t uj, uint64_t dt_ns)
{
	return dt_ns ? (double)uj * 1e3 / (double)dt_ns : 0; /* µJ/ns = kW */
}

enum node_field { F_TOTAL, F_ACTIVE, F_IDLE };

static void render_node(struct prom_writer *w, const struct render_input *in)
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
	char help[160];

	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		snprintf(help, sizeof(help), "Energy consumed by the node's CPU zones%s, in joules",
			 kinds[k].what);
		prom_family(w, kinds[k].joules, PROM_COUNTER, help);
		for (int z = 0; z < ZONE_MAX; z++) {
			const struct node_zone *nz = node_acct_zone(in->node, z);
			const struct prom_label l[] = {{"zone", zone_names[z]}};
			uint64_t v = kinds[k].f == F_TOTAL    ? nz->total_uj
				     : kinds[k].f == F_ACTIVE ? nz->active_uj
							      : nz->idle_uj;

			if (nz->present)
				prom_sample(w, kinds[k].joules, l, 1, joules(v));
		}
		snprintf(help, sizeof(help),
			 "Power of the node's CPU zones%s over the last interval, "
			 "in watts",
			 kinds[k].what);
		prom_family(w, kinds[k].watts, PROM_GAUGE, help);
		for (int z = 0; z < ZONE_MAX; z++) {
			const struct node_zone *nz = node_acct_zone(in->node, z);
			const struct prom_label l[] = {{"zone", zone_names[z]}};
			double v = kinds[k].f == F_TOTAL    ? nz->watts
				   : kinds[k].f == F_ACTIVE ? nz->active_watts
							    : nz->idle_watts;

			if (nz->present)
				prom_sample(w, kinds[k].watts, l, 1, v);
		}
	}

	prom_family(w, "kepler_node_cpu_idle_estimate_watts", PROM_GAUGE,
		    "Current estimate of the node's idle (static) power per zone: configured, "
		    "the power model's own, or learned, in watts");
	for (int z = 0; z < ZONE_MAX; z++) {
		const struct node_zone *nz = node_acct_zone(in->node, z);
		const struct prom_label l[] = {
		    {"zone", zone_names[z]},
		    {"method", in->cfg->idle_watts[z] >= 0 ? "configured" : "learned"},
		};

		if (nz->present && nz->idle_estimate_w == nz->idle_estimate_w)
			prom_sample(w, "kepler_node_cpu_idle_estimate_watts", l, 2,
				    nz->idle_estimate_w);
	}

	prom_family(w, "kepler_node_cpu_usage_ratio", PROM_GAUGE,
		    "Share of the node's CPU time spent on work over the last interval (0 to 1)");
	if (in->cpu_util >= 0)
		prom_sample(w, "kepler_node_cpu_usage_ratio", NULL, 0, in->cpu_util);

	if (node_acct_platform(in->node)->present) {
		const struct node_platform *p = node_acct_platform(in->node);
		const struct prom_label l[] = {{"source", in->platform_power_source}};

		prom_family(w, "kepler_node_platform_joules_total", PROM_COUNTER,
			    "Energy consumed by the whole platform, in joules");
		prom_sample(w, "kepler_node_platform_joules_total", l, 1, joules(p->total_uj));
		prom_family(w, "kepler_node_platform_watts", PROM_GAUGE,
			    "Power of the whole platform over the last interval, in watts");
		prom_sample(w, "kepler_node_platform_watts", l, 1, p->watts);
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

static const char *process_type(const struct process *p)
{
	return p->kernel_thread ? "kernel" : "regular";
}

static void render_processes(struct prom_writer *w, const struct render_input *in)
{
	const struct process_other *other = proc_table_other(in->procs);
	const struct process **list;
	char pid[16];
	size_t n;

	if (proc_table_sorted(in->procs, &list, &n) < 0)
		return;

	prom_family(w, "kepler_process_cpu_joules_total", PROM_COUNTER,
		    "Active CPU energy attributed to a process, per zone, in joules; "
		    "comm=\"other\" sums the processes beyond exporter.prometheus.maxProcesses");
	for (int z = 0; z < ZONE_MAX; z++) {
		if (!node_acct_zone(in->node, z)->present)
			continue;
		for (size_t i = 0; i < n; i++) {
			const struct process *p = list[i];
			struct prom_label l[] = {
			    {"pid", pid},
			    {"comm", p->comm},
			    {"type", process_type(p)},
			    {"state", p->terminated ? "terminated" : "running"},
			    {"zone", zone_names[z]},
			};

			if (!p->shown)
				continue;
			snprintf(pid, sizeof(pid), "%u", p->pid);
			prom_sample(w, "kepler_process_cpu_joules_total", l, ARRAY_SIZE(l),
				    joules(p->energy_uj[z]));
		}
		{
			const struct prom_label l[] = {{"pid", ""},
						       {"comm", "other"},
						       {"type", "other"},
						       {"state", "running"},
						       {"zone", zone_names[z]}};

			prom_sample(w, "kepler_process_cpu_joules_total", l, ARRAY_SIZE(l),
				    joules(other->energy_uj[z]));
		}
	}

	prom_family(w, "kepler_process_cpu_watts", PROM_GAUGE,
		    "Active CPU power of a process over the last interval, per zone, in watts");
	for (int z = 0; z < ZONE_MAX; z++) {
		if (!node_acct_zone(in->node, z)->present)
			continue;
		for (size_t i = 0; i < n; i++) {
			const struct process *p = list[i];
			struct prom_label l[] = {
			    {"pid", pid},
			    {"comm", p->comm},
			    {"type", process_type(p)},
			    {"state", p->terminated ? "terminated" : "running"},
			    {"zone", zone_names[z]},
			};

			if (!p->shown)
				continue;
			snprintf(pid, sizeof(pid), "%u", p->pid);
			prom_sample(w, "kepler_process_cpu_watts", l, ARRAY_SIZE(l),
				    watts(p->interval_uj[z], in->dt_ns));
		}
		{
			const struct prom_label l[] = {{"pid", ""},
						       {"comm", "other"},
						       {"type", "other"},
						       {"state", "running"},
						       {"zone", zone_names[z]}};

			prom_sample(w, "kepler_process_cpu_watts", l, ARRAY_SIZE(l),
				    watts(other->interval_uj[z], in->dt_ns));
		}
	}

	prom_family(w, "kepler_process_cpu_seconds_total", PROM_COUNTER,
		    "CPU time used by a process, in seconds");
	for (size_t i = 0; i < n; i++) {
		const struct process *p = list[i];
		struct prom_label l[] = {
		    {"pid", pid},
		    {"comm", p->comm},
		    {"type", process_type(p)},
		    {"state", p->terminated ? "terminated" : "running"},
		};

		if (!p->shown)
			continue;
		snprintf(pid, sizeof(pid), "%u", p->pid);
		prom_sample(w, "kepler_process_cpu_seconds_total", l, ARRAY_SIZE(l),
			    (double)p->cpu_ns / NSEC_PER_SEC);
	}
	{
		const struct prom_label l[] = {
		    {"pid", ""}, {"comm", "other"}, {"type", "other"}, {"state", "running"}};

		prom_sample(w, "kepler_process_cpu_seconds_total", l, ARRAY_SIZE(l),
			    (double)other->cpu_ns / NSEC_PER_SEC);
	}
}

static void render_exporter(struct prom_writer *w, const struct render_input *in)
{
	static const char *const stage_names[STAGE_MAX] = {
	    [STAGE_ACTIVITY] = "activity",
	    [STAGE_POWER] = "power",
	    [STAGE_ATTRIBUTION] = "attribution",
	    [STAGE_RENDER] = "render",
	};
	const struct exporter_stats *s = in->stats;

	prom_family(w, "kepler_build_info", PROM_GAUGE,
		    "The agent's version, source revision "
		    "and compiler");
	{
		const struct prom_label l[] = {{"version", KEPLER_VERSION},
					       {"revision", KEPLER_REVISION},
					       {"compiler", KEPLER_COMPILER}};

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
	prom_family(w, "kepler_exporter_meter_read_errors_total", PROM_COUNTER,
		    "Reads in which a power meter zone could not be read (no energy was reported "
		    "for it; the next good read carries it)");
	for (int z = 0; z < ZONE_MAX; z++) {
		const struct node_zone *nz = node_acct_zone(in->node, z);
		const struct prom_label l[] = {
		    {"source", in->zone_source[z] ? in->zone_source[z] : ""},
		    {"zone", zone_names[z]}};

		if (nz->present)
			prom_sample(w, "kepler_exporter_meter_read_errors_total", l, 2,
				    (double)nz->read_errors);
	}
	if (node_acct_platform(in->node)->present) {
		const struct prom_label l[] = {{"source", in->platform_power_source},
					       {"zone", "platform"}};

		prom_sample(w, "kepler_exporter_meter_read_errors_total", l, 2,
			    (double)node_acct_platform(in->node)->read_errors);
	}
	prom_family(w, "kepler_exporter_bpf_dropped_total", PROM_COUNTER,
		    "Activity events the eBPF program could not record because a map was full");
	prom_sample(w, "kepler_exporter_bpf_dropped_total", NULL, 0, (double)s->bpf_dropped);
	prom_family(w, "kepler_exporter_scrapes_total", PROM_COUNTER, "Scrapes of /metrics served");
	prom_sample(w, "kepler_exporter_scrapes_total", NULL, 0, (double)s->scrapes);
	if (in->procs) {
		prom_family(w, "kepler_exporter_processes", PROM_GAUGE,
			    "Processes the agent tracks, running and terminated");
		prom_sample(w, "kepler_exporter_processes", NULL, 0,
			    (double)proc_table_count(in->procs));
	}
}

/*
 * The standard process_* metrics of the agent itself. These read /proc/self on
 * purpose: they describe this process, not the host that host.procfs points at.
 */
static void render_self(struct prom_writer *w)
{
	char buf[1024], *p;
	unsigned long long utime, stime, start, vsize;
	long long rss;
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	uint64_t btime = 0;
	struct rlimit rl;
	size_t fds = 0;
	DIR *d;

	if (read_file_at("/proc", "self/stat", buf, sizeof(buf)) < 0)
		return;
	p = strrchr(buf, ')');
	/* Fields after the comm: state(3) ... utime(14) stime(15) ... starttime(22) vsize(23)
	 * rss(24). */
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
			 "%*d %*d %*d %llu %llu %lld",
			 &utime, &stime, &start, &vsize, &rss) != 5)
		return;
	if (read_file_at("/proc", "stat", buf, sizeof(buf)) > 0 && (p = strstr(buf, "\nbtime ")))
		btime = strtoull(p + 7, NULL, 10);
	d = opendir("/proc/self/fd");
	if (d) {
		while (readdir(d))
			fds++;
		closedir(d);
		fds = fds > 3 ? fds - 3 : 0; /* ".", ".." and the directory's own fd */
	}

	prom_family(w, "process_cpu_seconds_total", PROM_COUNTER,
		    "Total user and system CPU time spent in seconds.");
	prom_sample(w, "process_cpu_seconds_total", NULL, 0, (double)(utime + stime) / (double)tck);
	prom_family(w, "process_resident_memory_bytes", PROM_GAUGE,
		    "Resident memory size in bytes.");
	prom_sample(w, "process_resident_memory_bytes", NULL, 0, (double)rss * (double)page);
	prom_family(w, "process_virtual_memory_bytes", PROM_GAUGE, "Virtual memory size in bytes.");
	prom_sample(w, "process_virtual_memory_bytes", NULL, 0, (double)vsize);
	prom_family(w, "process_open_fds", PROM_GAUGE, "Number of open file descriptors.");
	prom_sample(w, "process_open_fds", NULL, 0, (double)fds);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		prom_family(w, "process_max_fds", PROM_GAUGE,
			    "Maximum number of open file descriptors.");
		prom_sample(w, "process_max_fds", NULL, 0, (double)rl.rlim_cur);
	}
	if (btime) {
		prom_family(w, "process_start_time_seconds", PROM_GAUGE,
			    "Start time of the process since unix epoch in seconds.");
		prom_sample(w, "process_start_time_seconds", NULL, 0,
			    (double)btime + (double)start / (double)tck);
	}
}

int render_metrics(struct strbuf *sb, const struct render_input *in)
{
	struct prom_writer *w = prom_writer_new(sb);
	int r;

	if (!w)
		return -errno;
	if (in->cfg->metrics_levels & METRICS_NODE)
		render_node(w, in);
	if (in->procs && (in->cfg->metrics_levels & METRICS_PROCESS))
		render_processes(w, in);
	render_exporter(w, in);
	render_self(w);
	r = prom_writer_error(w);
	prom_writer_free(w);
	return r;
}
