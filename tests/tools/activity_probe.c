// SPDX-License-Identifier: Apache-2.0
/*
 * activity_probe: run the activity collector on its own and report what it
 * saw, for the integration tests and bench/.
 *
 *   activity_probe [--source auto|ebpf|procfs] [--interval 200ms] [--duration 5s]
 *                  [--max-processes N] [--raw-tp]
 *                  [--procfs DIR] [--sysfs DIR]
 *
 * After the first read it writes "ready" to stderr; it stops after --duration
 * (0: at SIGINT/SIGTERM), reads once more and prints one JSON object: every
 * process seen (exited ones too) with its CPU time summed over all reads,
 * plus the node's busy/idle time and the probe's own monotonic clock over the
 * reads after the first ("window_*"), and the drop counter.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "activity/activity.h"
#include "activity/pidtab.h"
#include "config.h"
#include "util/duration.h"
#include "util/timeutil.h"

struct rec {
	struct pidtab_hdr h;
	uint32_t ppid;
	uint64_t cgroup_id;
	char comm[ACTIVITY_COMM_LEN];
	bool kthread, exited;
	uint64_t cpu_ns, cycles, cache_misses;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: activity_probe [--source auto|ebpf|procfs] [--interval DUR] "
			"[--duration DUR] [--max-processes N] [--raw-tp] "
			"[--procfs DIR] [--sysfs DIR]\n");
	return 2;
}

static int accumulate(struct pidtab *t, const struct activity_delta *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct proc_activity *p = &d->procs[i];
		struct rec *r;
		void *v;
		int k = pidtab_put(t, p->pid, p->start_time_ns, &v);

		if (k < 0)
			return k;
		r = v;
		r->ppid = p->ppid ? p->ppid : r->ppid;
		r->cgroup_id = p->cgroup_id ? p->cgroup_id : r->cgroup_id;
		memcpy(r->comm, p->comm, sizeof(r->comm));
		r->kthread = p->kernel_thread;
		r->exited |= p->exited;
		r->cpu_ns += p->cpu_ns;
		r->cycles += p->cycles;
		r->cache_misses += p->cache_misses;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"source", required_argument, NULL, 's'},
	    {"interval", required_argument, NULL, 'i'},
	    {"duration", required_argument, NULL, 'd'},
	    {"max-processes", required_argument, NULL, 'm'},
	    {"raw-tp", no_argument, NULL, 'r'},
	    {"procfs", required_argument, NULL, 'P'},
	    {"sysfs", required_argument, NULL, 'S'},
	    {},
	};
	struct activity_opts opts = {};
	struct kepler_config cfg;
	uint64_t interval = 200 * NSEC_PER_MSEC, duration = 0;
	uint64_t t0, tlast, start, busy = 0, idle = 0, procs_sum = 0, dropped = 0, unseen = 0;
	struct activity_delta d;
	struct activity *a = NULL;
	struct pidtab *tab = NULL;
	struct sigaction sa = {.sa_handler = on_signal};
	char reason[1024];
	uint32_t ncpus = 0;
	bool has_counters = false;
	unsigned reads = 0;
	json_t *root, *procs;
	struct rec *rc;
	size_t pos;
	int c, r;

	if (config_defaults(&cfg) < 0)
		return 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (strcmp(optarg, "auto") == 0)
				cfg.activity_source = ACTIVITY_SOURCE_AUTO;
			else if (strcmp(optarg, "ebpf") == 0)
				cfg.activity_source = ACTIVITY_SOURCE_EBPF;
			else if (strcmp(optarg, "procfs") == 0)
				cfg.activity_source = ACTIVITY_SOURCE_PROCFS;
			else
				return usage();
			break;
		case 'i':
			if (parse_duration(optarg, &interval) < 0 || interval == 0)
				return usage();
			break;
		case 'd':
			if (parse_duration(optarg, &duration) < 0)
				return usage();
			break;
		case 'm':
			opts.max_processes = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			opts.force_raw_tp = true;
			break;
		case 'P':
			free(cfg.host_procfs);
			cfg.host_procfs = strdup(optarg);
			break;
		case 'S':
			free(cfg.host_sysfs);
			cfg.host_sysfs = strdup(optarg);
			break;
		default:
			return usage();
		}
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	r = activity_new_opts(&a, &cfg, &opts, reason, sizeof(reason));
	if (r < 0) {
		fprintf(stderr, "activity_probe: %s\n", reason[0] ? reason : strerror(-r));
		config_free(&cfg);
		return 1;
	}
	if (reason[0])
		fprintf(stderr, "activity_probe: %s\n", reason);
	r = pidtab_new(&tab, sizeof(struct rec), 4096);
	if (r < 0)
		goto out;

	/* Read 0: everything since activity_new; the window starts here. */
	r = activity_read(a, &d);
	if (r < 0)
		goto out;
	t0 = tlast = mono_ns();
	r = accumulate(tab, &d);
	if (r < 0)
		goto out;
	fprintf(stderr, "ready %s %s\n", activity_source_name(a), activity_attach_mode(a));
	fflush(stderr);

	start = t0;
	for (;;) {
		uint64_t next = tlast + interval;
		struct timespec ts = {.tv_sec = next / NSEC_PER_SEC,
				      .tv_nsec = next % NSEC_PER_SEC};
		bool last;

		while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		last = stop || (duration && mono_ns() - start >= duration);
		r = activity_read(a, &d);
		if (r < 0)
			goto out;
		tlast = mono_ns();
		reads++;
		busy += d.busy_ns;
		idle += d.idle_ns;
		for (size_t i = 0; i < d.n; i++)
			procs_sum += d.procs[i].cpu_ns;
		dropped = d.dropped_total;
		unseen = d.unseen_total;
		ncpus = d.ncpus;
		has_counters = d.has_counters;
		r = accumulate(tab, &d);
		if (r < 0)
			goto out;
		if (last)
			break;
	}

	root = json_object();
	json_object_set_new(root, "source", json_string(activity_source_name(a)));
	json_object_set_new(root, "attach", json_string(activity_attach_mode(a)));
	json_object_set_new(root, "reason", json_string(reason));
	json_object_set_new(root, "ncpus", json_integer(ncpus));
	json_object_set_new(root, "has_counters", json_boolean(has_counters));
	json_object_set_new(root, "dropped_total", json_integer((json_int_t)dropped));
	json_object_set_new(root, "unseen_total", json_integer((json_int_t)unseen));
	json_object_set_new(root, "reads", json_integer(reads));
	json_object_set_new(root, "window_ns", json_integer((json_int_t)(tlast - t0)));
	json_object_set_new(root, "window_busy_ns", json_integer((json_int_t)busy));
	json_object_set_new(root, "window_idle_ns", json_integer((json_int_t)idle));
	json_object_set_new(root, "window_procs_cpu_ns", json_integer((json_int_t)procs_sum));
	procs = json_array();
	pos = 0;
	while ((rc = pidtab_next(tab, &pos))) {
		json_t *o = json_object();

		json_object_set_new(o, "pid", json_integer(rc->h.pid));
		json_object_set_new(o, "start_time_ns", json_integer((json_int_t)rc->h.start));
		json_object_set_new(o, "comm", json_string(rc->comm));
		json_object_set_new(o, "ppid", json_integer(rc->ppid));
		json_object_set_new(o, "cgroup_id", json_integer((json_int_t)rc->cgroup_id));
		json_object_set_new(o, "kernel_thread", json_boolean(rc->kthread));
		json_object_set_new(o, "exited", json_boolean(rc->exited));
		json_object_set_new(o, "cpu_ns", json_integer((json_int_t)rc->cpu_ns));
		json_object_set_new(o, "cycles", json_integer((json_int_t)rc->cycles));
		json_object_set_new(o, "cache_misses", json_integer((json_int_t)rc->cache_misses));
		json_array_append_new(procs, o);
	}
	json_object_set_new(root, "procs", procs);
	json_dumpf(root, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	json_decref(root);
	r = 0;
out:
	if (r < 0)
		fprintf(stderr, "activity_probe: %s\n", strerror(-r));
	pidtab_free(tab);
	activity_free(a);
	config_free(&cfg);
	return r < 0 ? 1 : 0;
}
