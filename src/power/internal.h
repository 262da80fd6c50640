/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the power meters: the pure parsers and helpers each meter is
 * built on, declared here so the unit tests can drive them from tables.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "power/meter.h"
#include "util/errf.h"

/*
 * The part every meter shares; each meter's own struct starts with it. open
 * fills zones and has_platform, so the selection knows what a meter offers
 * before its first read.
 */
struct power_meter {
	const struct power_meter_ops *ops;
	uint32_t zones; /* ZONE_BIT mask */
	bool has_platform;
	bool model;	     /* an estimate (the estimator), not a measurement */
	double model_idle_w; /* a model's own idle power for its zones */
};

#define power_meter_container(m, type) ((type *)(m))

/* ---- shared (sysfs.c) ---- */

/*
 * A meter op says why it failed with errf() (util/errf.h); a file that could not
 * be read with this: "cannot read <root>/<rel>: <strerror(-r)>", returning r.
 */
int meter_fail_read(char *err, size_t errsz, int r, const char *root, const char *rel);

/*
 * Sorted names of the entries of root/rel ("." and ".." left out). *ret_names
 * is one allocation (free it with free()); -errno when the directory cannot be
 * opened.
 */
int power_list_dir(const char *root, const char *rel, char ***ret_names, size_t *ret_n);
/* Whether root/rel is a directory, following symlinks as sysfs needs. */
bool power_is_dir(const char *root, const char *rel);
/* Whether root/rel exists (following symlinks). */
bool power_exists(const char *root, const char *rel);

/*
 * Integrates power samples into energy without drift: the trapezoid between
 * consecutive samples, kept exactly in units of 1/(2e9) microjoule.
 */
struct power_integrator {
	bool have_prev;
	uint64_t prev_uw;
	uint64_t prev_ns;
	unsigned __int128 acc; /* 2e9 units per microjoule */
};

/* Largest power sample accepted (10 MW, in microwatts): anything above is garbage. */
#define POWER_MAX_UW 10000000000000ULL

/*
 * Add one sample (microwatts at now_ns). The first sample only sets the start.
 * A sample at or before the previous time adds nothing. -ERANGE when uw is
 * above POWER_MAX_UW (the sample is ignored).
 */
int power_integrator_add(struct power_integrator *it, uint64_t uw, uint64_t now_ns);
/* Integrated energy so far, in microjoules (rounded down). */
uint64_t power_integrator_uj(const struct power_integrator *it);

/* ---- rapl.c ---- */

enum rapl_iface {
	RAPL_IFACE_MSR,	 /* intel-rapl:N[:M] */
	RAPL_IFACE_MMIO, /* intel-rapl-mmio:N[:M] */
};

/*
 * Parse a powercap zone directory name: "intel-rapl:0" (sub = -1),
 * "intel-rapl:0:1", "intel-rapl-mmio:0". -EINVAL for anything else
 * ("intel-rapl" itself is the control type, not a zone).
 */
int rapl_parse_dirname(const char *s, enum rapl_iface *ret_iface, int *ret_index, int *ret_sub);

/*
 * Map a zone's `name` file ("package-0", "core", "uncore", "dram", "psys",
 * "dram-1") to a zone, stripping a numeric "-N" socket suffix (*ret_socket =
 * N, or -1 when there is none). -EINVAL for names no CPU zone has.
 */
int rapl_parse_zone_name(const char *s, enum zone *ret_zone, int *ret_socket);

/* ---- perf.c ---- */

/* "event=0x02" (terms separated by ','; only `event` is meaningful for the power PMU). */
int perf_parse_event(const char *s, uint64_t *ret_config);
/* "2.3283064365386962890625e-10": finite and > 0. */
int perf_parse_scale(const char *s, double *ret_scale);
/* The .unit file must say "Joules". */
int perf_parse_unit(const char *s);
/*
 * A cpumask list such as "0", "0,32", "0-1", "0-3,8": up to max CPUs into
 * cpus (ascending as written). -EINVAL on garbage, -E2BIG when more than max.
 */
int perf_parse_cpumask(const char *s, int *cpus, size_t max, size_t *ret_n);
/* Event suffix of energy-<suffix> to zone: pkg, cores, gpu (uncore), ram, psys; -1 none. */
int perf_event_zone(const char *suffix);

struct perf_event_desc {
	enum zone zone;
	uint64_t config;
	double scale; /* joules per count */
};

#define PERF_MAX_CPUS 64

struct perf_pmu_desc {
	uint32_t type;
	int cpus[PERF_MAX_CPUS]; /* one CPU per package */
	size_t n_cpus;
	struct perf_event_desc events[ZONE_MAX];
	size_t n_events;
};

/*
 * Describe the power PMU from <sysfs>/bus/event_source/devices/power: -ENODEV
 * when it is not there (or offers no energy event), -EINVAL when its files are
 * garbage; err says which file and why. zone_mask filters the events (0 = all).
 */
int perf_discover(const char *sysfs, uint32_t zone_mask, struct perf_pmu_desc *ret, char *err,
		  size_t errsz);

/* Microjoules for a cumulative count at scale joules per count. */
uint64_t perf_count_to_uj(uint64_t count, double scale);

/* ---- hwmon.c ---- */

/* The CPU zone a hwmon channel measures, from driver name and label; -1 for none. */
int hwmon_zone_for(const char *driver, const char *label);

enum hwmon_kind {
	HWMON_ENERGY,  /* energyN_input, microjoules */
	HWMON_POWER,   /* powerN_input, microwatts */
	HWMON_AVERAGE, /* powerN_average, microwatts */
};

/* "energy3_input" -> HWMON_ENERGY, 3; "power1_average" -> HWMON_AVERAGE, 1; -EINVAL else. */
int hwmon_parse_attr(const char *s, enum hwmon_kind *ret_kind, unsigned *ret_channel);

/* ---- estimator.c ---- */

/* Node watts: idle + (max - idle) * util, with util clamped to [0, 1]. */
double estimator_power_w(unsigned ncpus, double idle_w_per_cpu, double max_w_per_cpu, double util);
