// SPDX-License-Identifier: Apache-2.0
/*
 * kepler: the node agent. Flags, config, signals, wiring and the interval
 * loop; the only place that decides what to do on an error.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>

#include "activity/activity.h"
#include "attribution/node.h"
#include "config.h"
#include "export/http.h"
#include "export/passthrough.h"
#include "export/render.h"
#include "export/stdout.h"
#include "export/webconfig.h"
#include "log.h"
#include "power/gpu.h"
#include "power/power.h"
#include "snapshot/build.h"
#include "util/caps.h"
#include "util/fileio.h"
#include "util/listenaddr.h"
#include "util/strbuf.h"
#include "util/timeutil.h"
#include "util/util.h"
#include "version.h"
#include "workload/workloads.h"

#define EXIT_CONFIG 2

struct agent {
	struct kepler_config cfg;
	int argc;
	char **argv;
	struct activity *activity;
	struct power *power;
	struct node_acct *node;
	struct http_server *http;
	struct web_config *web;
	struct workloads *workloads;
	struct gpus *gpus;
	struct gpu_reading gpu[GPU_MAX];
	const char *gpu_idle_method[GPU_MAX];
	char gpu_info[512];
	/* Scratch reused across intervals: the pids that ran, each GPU use. */
	uint32_t *pids;
	size_t pids_cap;
	struct attr_gpu_use *uses;
	size_t uses_cap;
	struct snapshot *snap; /* the last interval's, kept until the next one is published */
	struct passthrough *passthrough; /* vm.passthrough.dir; NULL off */
	struct exporter_stats stats;
	struct power_sample sample;
	char cpu_model[128];
	char node_name[256];
	struct cpuinfo *cpuinfo;
	struct idle_ledger *idle; /* exporter.prometheus.compat v0.7 only */
	const char *idle_method[ZONE_MAX];
	const char *platform_idle_method;
	char workload_info[256];
	int caps_err;
	bool stage_down[STAGE_MAX];
	double cpu_util;
	uint64_t last_ns;
	uint64_t dt_ns;
	double start_time; /* the agent's, since the epoch; < 0 unknown */
	size_t procs_peak; /* processes tracked at most since the heap was last trimmed */
};

/*
 * The processors of <procfs>/cpuinfo (kepler_node_cpu_info) and the CPU model
 * (kepler_node_info: the first one's, "unknown" without one). Read once: the
 * list does not change while the agent runs. NULL when it cannot be read.
 */
static struct cpuinfo *read_cpuinfo(const char *procfs, char *model, size_t size)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	struct cpuinfo *ci = NULL;

	snprintf(model, size, "unknown");
	if (asprintf(&path, "%s/cpuinfo", procfs) < 0) {
		path = NULL;
		return NULL;
	}
	/* It grows with the CPUs (about 1.5 KiB each): read it whole. */
	if (read_file_alloc(path, 16 << 20, &text, NULL) < 0 || cpuinfo_parse(text, &ci) < 0)
		return NULL;
	for (size_t i = 0; i < ci->n; i++)
		if (*ci->cpu[i].model_name) {
			snprintf(model, size, "%s", ci->cpu[i].model_name);
			break;
		}
	return ci;
}

static void log_config_warnings(const struct kepler_config *cfg)
{
	for (size_t i = 0; i < cfg->n_warnings; i++)
		log_warn("%s", cfg->warnings[i]);
}

/*
 * Idle power per zone: configured (power.idle.<zone>), else the model's own when
 * a model serves the zone, else learned (< 0).
 */
static void effective_idle(struct agent *a, double idle[ZONE_MAX])
{
	for (int z = 0; z < ZONE_MAX; z++) {
		idle[z] = a->cfg.idle_watts[z];
		a->idle_method[z] = "configured";
		if (idle[z] >= 0)
			continue;
		idle[z] = power_model_idle_watts(a->power, z);
		a->idle_method[z] = idle[z] >= 0 ? "model" : "learned";
	}
}

/* Idle power per GPU: power.gpu.idleWattsByUUID, else power.gpu.idleWatts, else learned. */
static void effective_gpu_idle(struct agent *a, double idle[GPU_MAX])
{
	for (size_t i = 0; i < GPU_MAX; i++) {
		const struct gpu_info *g = i < gpus_count(a->gpus) ? gpus_info(a->gpus, i) : NULL;

		idle[i] = a->cfg.gpu_idle_watts;
		for (size_t k = 0; g && k < a->cfg.n_gpu_idle; k++)
			if (streq(a->cfg.gpu_idle[k].uuid, g->uuid))
				idle[i] = a->cfg.gpu_idle[k].watts;
		a->gpu_idle_method[i] = idle[i] >= 0 ? "configured" : "learned";
	}
}

/* The platform zone's configuration: its idle power and the model it is estimated with. */
static void effective_platform(struct agent *a)
{
	struct node_platform_cfg pc = {
	    .idle_w = a->cfg.platform_idle_watts,
	    .estimate = a->cfg.platform_estimate,
	};

	_Static_assert(ARRAY_SIZE(a->cfg.platform_model) == PM_TERMS, "one key per model term");
	memcpy(pc.coef, a->cfg.platform_model, sizeof(pc.coef));
	a->platform_idle_method = pc.idle_w >= 0 ? "configured" : "learned";
	node_acct_set_platform(a->node, &pc);
}

/*
 * The platform's meter; "estimator" without one when the model estimates it from
 * the CPU zones (as node_acct does); "none" otherwise.
 */
static const char *platform_source(const struct agent *a)
{
	const char *m = power_platform_source(a->power);

	return streq(m, "none") && a->cfg.platform_estimate &&
		       !streq(power_cpu_source(a->power), "none")
		   ? "estimator"
		   : m;
}

/* Grow *buf to hold n items of size each; false without memory (it keeps what it had). */
static bool reserve(void **buf, size_t *cap, size_t n, size_t size)
{
	void *p;
	size_t c = n + n / 4; /* a little more: the counts drift up between intervals */

	if (n <= *cap)
		return true;
	p = realloc(*buf, c * size);
	if (!p)
		return false;
	*buf = p;
	*cap = c;
	return true;
}

/*
 * Count a stage's failure; log it once per outage, and its end, not every
 * interval. why: the stage's own words for a failure, NULL or "" for errno's.
 */
static void stage_result(struct agent *a, enum exporter_stage st, const char *name, int r,
			 const char *why)
{
	if (r < 0) {
		a->stats.errors[st]++;
		if (!a->stage_down[st])
			log_warn("%s: %s, ignoring until it recovers", name,
				 why && *why ? why : strerror(-r));
		a->stage_down[st] = true;
	} else if (a->stage_down[st]) {
		log_info("%s: recovered", name);
		a->stage_down[st] = false;
	}
}

/* The collector thread's CPU time since *t, as the stage's figure; *t moves on. */
static void stage_cpu(struct agent *a, enum exporter_stage st, uint64_t *t)
{
	uint64_t now = clock_ns(CLOCK_THREAD_CPUTIME_ID);

	a->stats.stage_cpu_seconds[st] = (double)(now - *t) / NSEC_PER_SEC;
	*t = now;
}

/* Build the interval's snapshot; every output reads it, then it replaces the last one. */
static void publish(struct agent *a)
{
	struct snapshot_input in = {
	    .metrics_levels = a->cfg.metrics_levels,
	    .compat = a->cfg.compat,
	    .node_name = a->node_name,
	    .cpuinfo = a->cpuinfo,
	    .idle = a->idle,
	    .dt_ns = a->dt_ns,
	    .cpu_util = a->cpu_util,
	    .cpu_model = a->cpu_model,
	    .cpu_power_source = power_cpu_source(a->power),
	    .platform_power_source = platform_source(a),
	    .platform_idle_method = a->platform_idle_method,
	    .platform_coef = a->cfg.platform_model,
	    .activity_source = a->activity ? activity_source_name(a->activity) : "none",
	    .node = a->node,
	    .workloads = a->workloads,
	    .stats = &a->stats,
	    .start_time_seconds = a->start_time,
	};
	uint64_t tc = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	struct strbuf sb = STRBUF_INIT;
	struct http_stats hs = {0};
	struct snapshot *snap;
	char *body;
	size_t len;
	int r;

	memcpy(in.zone_source, a->sample.zone_source, sizeof(in.zone_source));
	memcpy(in.idle_method, a->idle_method, sizeof(in.idle_method));
	in.n_gpus = gpus_count(a->gpus);
	for (size_t i = 0; i < in.n_gpus; i++)
		in.gpu[i] = gpus_info(a->gpus, i);
	memcpy(in.gpu_idle_method, a->gpu_idle_method, sizeof(in.gpu_idle_method));
	if (a->http) {
		http_server_stats(a->http, &hs);
		a->stats.scrapes = hs.metrics_scrapes;
		a->stats.http_header_timeouts = hs.header_timeouts;
	}
	/* On failure the outputs keep the last snapshot and body: /healthz goes stale if it lasts.
	 */
	r = snapshot_build(&snap, &in);
	if (r >= 0) {
		snapshot_free(a->snap);
		a->snap = snap;
		if (a->cfg.stdout_enabled && (r = stdout_report(stdout, snap)) < 0)
			log_warn("exporter.stdout: %s, ignoring", strerror(-r));
		r = a->http ? render_metrics(&sb, snap) : 0;
		/* Before /metrics shows the interval: a scrape never runs ahead of the files. */
		if (a->passthrough)
			passthrough_write(a->passthrough, snap, mono_ns());
	}
	body = r >= 0 && a->http ? strbuf_detach(&sb, &len) : NULL;
	if (r >= 0 && a->http && !body)
		r = -ENOMEM;
	stage_result(a, STAGE_RENDER, "render", r, NULL);
	stage_cpu(a, STAGE_RENDER, &tc); /* shown by the next interval's snapshot */
	if (!body) {
		strbuf_release(&sb);
		return;
	}
	http_server_publish(a->http, body, len, mono_ns());
}

static uint64_t scrapes_so_far(struct agent *a)
{
	struct http_stats hs = {0};

	if (a->http)
		http_server_stats(a->http, &hs);
	return hs.metrics_scrapes;
}

/*
 * Read the GPUs into the node's reading, and gather their users for attribution:
 * the DRM backend looks for clients among the processes that ran.
 */
static void read_gpus(struct agent *a, const struct activity_delta *d, uint64_t now_ns,
		      struct node_reading *reading, struct attr_gpus *gpus)
{
	struct gpu_read_input in = {.now_ns = now_ns};
	size_t n = gpus_count(a->gpus), n_uses = 0;
	int r;

	if (!n)
		return;
	if (reserve((void **)&a->pids, &a->pids_cap, d->n, sizeof(*a->pids))) {
		for (size_t i = 0; i < d->n; i++)
			a->pids[i] = d->procs[i].pid;
		in.pids = a->pids;
		in.n_pids = d->n;
	}
	r = gpus_read(a->gpus, &in, a->gpu);
	stage_result(a, STAGE_GPU, "gpu", r, gpus_read_error(a->gpus));
	reading->n_gpus = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		if (a->gpu[i].valid)
			reading->gpu_valid |= 1u << i;
		reading->gpu_uj[i] = a->gpu[i].energy_uj;
		reading->gpu_util[i] = a->gpu[i].util;
		n_uses += a->gpu[i].valid ? a->gpu[i].n_procs : 0;
	}
	/* Without memory for the uses, each GPU's active energy stays the node's. */
	if (!reserve((void **)&a->uses, &a->uses_cap, n_uses, sizeof(*a->uses)))
		n_uses = 0;
	gpus->n = (uint32_t)n;
	gpus->uses = a->uses;
	for (size_t i = 0; i < n && n_uses; i++)
		for (size_t k = 0; a->gpu[i].valid && k < a->gpu[i].n_procs; k++)
			a->uses[gpus->n_uses++] = (struct attr_gpu_use){
			    .pid = a->gpu[i].procs[k].pid,
			    .gpu = (uint32_t)i,
			    .weight = a->gpu[i].procs[k].weight,
			    .util = a->gpu[i].procs[k].util,
			};
}

/* One interval of the pipeline (DESIGN section 2). */
static void run_interval(struct agent *a)
{
	uint64_t t0 = mono_ns(), c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	uint64_t tc = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	struct activity_delta d = {0};
	struct node_reading reading;
	struct attr_gpus gpus = {0};
	struct meter_input in;
	uint64_t active[ZONE_MAX], platform, scrapes;
	size_t n;
	int r;

	a->cpu_util = -1;
	r = activity_read(a->activity, &d);
	stage_result(a, STAGE_ACTIVITY, "activity", r, NULL);
	if (r < 0) {
		d = (struct activity_delta){0};
	} else {
		if (d.busy_ns + d.idle_ns > 0)
			a->cpu_util = (double)d.busy_ns / (double)(d.busy_ns + d.idle_ns);
		a->stats.bpf_dropped = d.dropped_total;
		a->stats.bpf_unseen = d.unseen_total;
	}
	stage_cpu(a, STAGE_ACTIVITY, &tc);

	in = (struct meter_input){.now_ns = mono_ns(), .cpu_util = a->cpu_util};
	r = power_read(a->power, &in, &a->sample);
	stage_result(a, STAGE_POWER, "power", r, power_read_error(a->power));
	if (r < 0) {
		a->sample.valid = 0;
		a->sample.platform_valid = false;
	}
	reading = (struct node_reading){
	    .zones = a->sample.zones,
	    .valid = a->sample.valid,
	    .has_platform = a->sample.has_platform,
	    .platform_valid = a->sample.platform_valid,
	    .platform_uj = a->sample.platform_uj,
	};
	memcpy(reading.zone_uj, a->sample.zone_uj, sizeof(reading.zone_uj));
	stage_cpu(a, STAGE_POWER, &tc);
	read_gpus(a, &d, in.now_ns, &reading, &gpus);
	stage_cpu(a, STAGE_GPU, &tc);
	node_acct_update(a->node, &reading, a->cpu_util, in.now_ns);
	a->dt_ns = in.now_ns - a->last_ns;
	a->last_ns = in.now_ns;

	for (int z = 0; z < ZONE_MAX; z++)
		active[z] = node_acct_zone(a->node, z)->interval_active_uj;
	for (uint32_t i = 0; i < gpus.n; i++)
		gpus.active_uj[i] = node_acct_gpu(a->node, i)->interval_active_uj;
	platform = node_acct_platform(a->node)->present
		       ? node_acct_platform(a->node)->interval_active_uj
		       : 0;
	scrapes = scrapes_so_far(a);
	r = workloads_update(a->workloads, &d, active, a->sample.zones, gpus.n ? &gpus : NULL,
			     platform, scrapes);
	stage_result(a, STAGE_ATTRIBUTION, "attribution", r, NULL);
	stage_cpu(a, STAGE_ATTRIBUTION, &tc);

	/*
	 * After a burst of processes ended, the tables have shrunk: hand the freed
	 * heap back to the system so that resident memory returns to its baseline.
	 */
	n = proc_table_count(workloads_procs(a->workloads));
	if (n > a->procs_peak)
		a->procs_peak = n;
	else if (n * 2 < a->procs_peak) {
		malloc_trim(0);
		a->procs_peak = n;
	}

	a->stats.intervals++;
	a->stats.interval_seconds = (double)(mono_ns() - t0) / NSEC_PER_SEC;
	a->stats.interval_cpu_seconds =
	    (double)(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0) / NSEC_PER_SEC;
	publish(a);
}

/* SIGHUP: re-read the configuration; keep the old one when the new one is invalid. */
static void reload(struct agent *a)
{
	struct kepler_config next;
	const char *changed[64];
	double idle[ZONE_MAX], gpu_idle[GPU_MAX];
	char err[512];
	size_t n;
	int r;

	r = config_load(&next, a->argc, a->argv, err, sizeof(err));
	if (r != 0) {
		if (r < 0)
			log_error("reload: %s; keeping the running configuration", err);
		return;
	}
	log_config_warnings(&next);
	n = config_diff(&a->cfg, &next, changed, ARRAY_SIZE(changed));
	for (size_t i = 0; i < n && i < ARRAY_SIZE(changed); i++)
		if (!config_key_reloadable(changed[i]))
			log_warn("reload: %s changed; restart to apply it", changed[i]);

	/* Apply what can change while running (config_key_reloadable says which). */
	a->cfg.log_level = next.log_level;
	a->cfg.log_format = next.log_format;
	a->cfg.interval_ns = next.interval_ns;
	memcpy(a->cfg.idle_watts, next.idle_watts, sizeof(a->cfg.idle_watts));
	a->cfg.gpu_idle_watts = next.gpu_idle_watts;
	a->cfg.platform_idle_watts = next.platform_idle_watts;
	a->cfg.platform_estimate = next.platform_estimate;
	memcpy(a->cfg.platform_model, next.platform_model, sizeof(a->cfg.platform_model));
	/* The list's strings move over: next gives them up. */
	for (size_t i = 0; i < a->cfg.n_gpu_idle; i++)
		free(a->cfg.gpu_idle[i].uuid);
	memcpy(a->cfg.gpu_idle, next.gpu_idle, sizeof(a->cfg.gpu_idle));
	a->cfg.n_gpu_idle = next.n_gpu_idle;
	next.n_gpu_idle = 0;
	a->cfg.metrics_levels = next.metrics_levels;
	a->cfg.max_processes = next.max_processes;
	a->cfg.stdout_enabled = next.stdout_enabled;
	config_free(&next);
	log_setup(a->cfg.log_level, a->cfg.log_format);
	effective_idle(a, idle);
	node_acct_set_idle(a->node, idle);
	effective_gpu_idle(a, gpu_idle);
	node_acct_set_gpu_idle(a->node, gpu_idle);
	effective_platform(a);
	workloads_set_max_shown(a->workloads, a->cfg.max_processes);
	log_info("reload: configuration re-read (%zu keys changed)", n);
}

/* CAP_NET_BIND_SERVICE when a listen address needs it. */
static uint64_t privileged_port_cap(const struct kepler_config *cfg)
{
	char host[256];
	uint16_t port;

	for (size_t i = 0; i < cfg->n_listen; i++)
		if (parse_listen_address(cfg->listen_addresses[i], host, sizeof(host), &port) ==
			0 &&
		    port < 1024)
			return CAPBIT(10); /* CAP_NET_BIND_SERVICE */
	return 0;
}

/* Open everything; on failure err holds one line and nothing has been logged. */
static int setup(struct agent *a, char *reason, size_t reasonsz, char *err, size_t errsz)
{
	const char *listen[CONFIG_MAX_LISTEN];
	struct http_options ho = {0};
	double idle[ZONE_MAX], gpu_idle[GPU_MAX];
	int r;

	if (a->cfg.web_config_file) {
		r = webconfig_load(a->cfg.web_config_file, &a->web, err, errsz);
		if (r < 0)
			return r;
	}

	r = power_new(&a->power, &a->cfg, err, errsz);
	if (r < 0)
		return r;

	/* Before capabilities are dropped: a GPU library opens its device files at start. */
	r = gpus_new(&a->gpus, &a->cfg, a->gpu_info, sizeof(a->gpu_info), err, errsz);
	if (r < 0)
		return r;

	r = activity_new(&a->activity, &a->cfg, reason, reasonsz);
	if (r < 0) {
		snprintf(err, errsz, "activity.source %s: %s",
			 activity_source_to_string(a->cfg.activity_source), reason);
		return r;
	}

	/*
	 * The eBPF program and the perf events are open: drop every capability the rest
	 * does not need, before any thread starts (capabilities are per thread).
	 */
	r = caps_drop_except(CAPS_KEEP_RUNNING | privileged_port_cap(&a->cfg));
	a->caps_err = r < 0 ? r : 0;

	effective_idle(a, idle);
	a->node = node_acct_new(idle);
	if (!a->node) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	effective_gpu_idle(a, gpu_idle);
	node_acct_set_gpu_idle(a->node, gpu_idle);
	effective_platform(a);
	r = workloads_new(&a->workloads, &a->cfg, a->workload_info, sizeof(a->workload_info), err,
			  errsz);
	if (r < 0)
		return r;
	a->cpuinfo = read_cpuinfo(a->cfg.host_procfs, a->cpu_model, sizeof(a->cpu_model));
	if (config_node_name(&a->cfg, a->node_name, sizeof(a->node_name)) < 0)
		snprintf(a->node_name, sizeof(a->node_name), "unknown");
	if (a->cfg.compat & COMPAT_V07) {
		a->idle = idle_ledger_new();
		if (!a->idle) {
			snprintf(err, errsz, "out of memory");
			return -ENOMEM;
		}
	}
	a->start_time = snapshot_self_start_time();
	if (a->cfg.vm_passthrough_dir) {
		const struct passthrough_options po = {
		    .dir = a->cfg.vm_passthrough_dir,
		    .include_idle = a->cfg.vm_passthrough_include_idle,
		    .grace_ns = a->cfg.vm_passthrough_grace_ns,
		    .max_range_uj = a->cfg.vm_passthrough_max_range_uj,
		};

		r = passthrough_new(&a->passthrough, &po, mono_ns(), err, errsz);
		if (r < 0)
			return r;
	}

	if (a->cfg.prometheus_enabled) {
		for (size_t i = 0; i < a->cfg.n_listen; i++)
			listen[i] = a->cfg.listen_addresses[i];
		ho.listen = listen;
		ho.n_listen = a->cfg.n_listen;
		ho.stale_after_ns = 3 * a->cfg.interval_ns + 5 * NSEC_PER_SEC;
		ho.web = a->web;
		ho.max_connections = a->cfg.web_max_connections;
		ho.max_connections_per_ip = a->cfg.web_max_connections_per_ip;
		ho.header_timeout_ns = a->cfg.web_header_timeout_ns;
		ho.connection_timeout_s =
		    (unsigned)((a->cfg.web_connection_timeout_ns + NSEC_PER_SEC - 1) /
			       NSEC_PER_SEC);
		r = http_server_new(&a->http, &ho, err, errsz);
		if (r < 0)
			return r;
	}
	return 0;
}

static void teardown(struct agent *a)
{
	http_server_free(a->http);
	webconfig_free(a->web);
	snapshot_free(a->snap);
	passthrough_free(a->passthrough);
	idle_ledger_free(a->idle);
	free(a->cpuinfo);
	workloads_free(a->workloads);
	node_acct_free(a->node);
	gpus_free(a->gpus);
	free(a->pids);
	free(a->uses);
	power_free(a->power);
	activity_free(a->activity);
	config_free(&a->cfg);
}

/* Wait for the next tick or a signal. Returns the signal number, 0 on a tick, -errno. */
static int wait_tick(int sfd, uint64_t deadline_ns)
{
	struct pollfd pfd = {.fd = sfd, .events = POLLIN};
	struct signalfd_siginfo si;
	uint64_t now = mono_ns();
	struct timespec ts;
	int r;

	if (now >= deadline_ns)
		return 0;
	ts.tv_sec = (time_t)((deadline_ns - now) / NSEC_PER_SEC);
	ts.tv_nsec = (long)((deadline_ns - now) % NSEC_PER_SEC);
	r = ppoll(&pfd, 1, &ts, NULL);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (r == 0)
		return 0;
	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}

int main(int argc, char **argv)
{
	struct agent a = {.argc = argc, .argv = argv, .cpu_util = -1};
	_cleanup_close_ int sfd = -1;
	char err[512] = "", reason[512] = "";
	uint64_t next;
	sigset_t mask;
	int r;

	r = config_load(&a.cfg, argc, argv, err, sizeof(err));
	if (r == 1)
		return 0;
	if (r == 2) {
		printf("kepler %s (revision %s, %s)\n", KEPLER_VERSION, KEPLER_REVISION,
		       KEPLER_COMPILER);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "kepler: %s\n", err);
		return EXIT_CONFIG;
	}
	log_setup(a.cfg.log_level, a.cfg.log_format);
	log_config_warnings(&a.cfg);

	/* Signals go to the signalfd only: blocked before any thread starts, so all inherit it. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		log_error("signalfd: %s", strerror(errno));
		return 1;
	}

	r = setup(&a, reason, sizeof(reason), err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "kepler: %s\n", err);
		teardown(&a);
		return EXIT_CONFIG;
	}
	log_info("activity: using %s%s%s", activity_source_name(a.activity), reason[0] ? ": " : "",
		 reason);
	if (a.caps_err)
		log_warn("capabilities: cannot drop: %s, ignoring", strerror(-a.caps_err));
	if (a.workload_info[0])
		log_warn("workloads: %s", a.workload_info);
	if (a.cfg.gpu_sources)
		log_info("gpu: %s", a.gpu_info);
	log_info("kepler %s (revision %s) started: cpu power from %s, platform power from %s, "
		 "interval %.3gs",
		 KEPLER_VERSION, KEPLER_REVISION, power_cpu_source(a.power), platform_source(&a),
		 (double)a.cfg.interval_ns / NSEC_PER_SEC);

	/* The first interval only sets the baselines; publish so /metrics answers at once. */
	a.last_ns = mono_ns();
	run_interval(&a);
	next = mono_ns() + a.cfg.interval_ns;
	for (;;) {
		r = wait_tick(sfd, next);
		if (r == SIGTERM || r == SIGINT) {
			log_info("signal %s: stopping", strsignal(r));
			break;
		}
		if (r == SIGHUP) {
			reload(&a);
			continue;
		}
		if (r < 0) {
			log_error("wait: %s", strerror(-r));
			break;
		}
		if (mono_ns() < next)
			continue;
		run_interval(&a);
		/* Skip ticks missed by a slow interval rather than running them back to back. */
		next += a.cfg.interval_ns;
		if (next < mono_ns())
			next = mono_ns() + a.cfg.interval_ns;
	}
	teardown(&a);
	return 0;
}
