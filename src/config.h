/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Configuration: a YAML file (--config.file) plus command-line flags; a flag
 * overrides the file; the defaults make kepler useful with no file at all.
 * See docs/configuration.md for every key and flag.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "zone.h"

#define CONFIG_MAX_LISTEN 8
#define CONFIG_MAX_SOURCES 8

/* exporter.prometheus.metricsLevel */
enum metrics_level {
	METRICS_NODE = 1u << 0,
	METRICS_PROCESS = 1u << 1,
	METRICS_CONTAINER = 1u << 2,
	METRICS_POD = 1u << 3,
	METRICS_VM = 1u << 4,
	METRICS_ALL = (1u << 5) - 1,
};

/* power.sources entries */
enum power_source {
	POWER_SOURCE_AUTO,
	POWER_SOURCE_RAPL,
	POWER_SOURCE_PERF,
	POWER_SOURCE_HWMON,
	POWER_SOURCE_ACPI,
	POWER_SOURCE_ESTIMATOR,
	POWER_SOURCE_MAX,
};

/* activity.source */
enum activity_source {
	ACTIVITY_SOURCE_AUTO,
	ACTIVITY_SOURCE_EBPF,
	ACTIVITY_SOURCE_PROCFS,
};

struct kepler_config {
	char *config_file; /* NULL: none given */

	enum log_level log_level;
	enum log_format log_format;

	char *host_sysfs;  /* default "/sys" */
	char *host_procfs; /* default "/proc" */

	uint64_t interval_ns;    /* monitor.interval, default 5 s */
	uint32_t max_terminated; /* monitor.maxTerminated, default 500 */

	enum power_source sources[CONFIG_MAX_SOURCES]; /* power.sources, default [auto] */
	size_t n_sources;
	double idle_watts[ZONE_MAX]; /* power.idle.<zone>; < 0: learn it */
	double idle_platform_watts;  /* power.idle.platform; < 0: learn it */
	/* power.estimator: per logical CPU watts (docs/configuration.md cites the defaults) */
	double estimator_idle_watts_per_cpu;
	double estimator_max_watts_per_cpu;

	uint32_t rapl_zones; /* rapl.zones as ZONE_BIT mask; 0 = all */

	enum activity_source activity_source; /* activity.source, default auto */

	bool stdout_enabled;      /* exporter.stdout.enabled */
	bool prometheus_enabled;  /* exporter.prometheus.enabled */
	uint32_t metrics_levels;  /* exporter.prometheus.metricsLevel as METRICS_* mask */
	uint32_t max_processes;   /* exporter.prometheus.maxProcesses, default 200 */

	char *web_config_file;                       /* web.configFile; NULL: none */
	char *listen_addresses[CONFIG_MAX_LISTEN];   /* web.listenAddresses, default [":28282"] */
	size_t n_listen;

	bool kube_enabled; /* kube.* */
	char *kube_node_name;
	char *kube_kubelet_url;
	char *kube_token_file;
	char *kube_ca_file;
	bool kube_insecure_skip_verify;
};

/* Fill *cfg with the defaults. Returns 0 or -ENOMEM. */
int config_defaults(struct kepler_config *cfg);
void config_free(struct kepler_config *cfg);

/*
 * Parse argv over the defaults: reads --config.file (if given) first, then applies
 * every other flag on top. On error returns -errno and writes one line naming the
 * flag, key or path into err (no trailing newline). Returns 1 when --help or
 * --version was handled (text written to stdout) and the program should exit 0.
 */
int config_load(struct kepler_config *cfg, int argc, char **argv, char *err, size_t errsz);

/* Parse YAML text over *cfg (used by config_load and by tests). */
int config_parse_yaml(struct kepler_config *cfg, const char *text, size_t len, char *err,
		      size_t errsz);

/* "5s", "500ms", "1m", "1h30m", "250us", "100ns" -> nanoseconds; -EINVAL / -ERANGE. */
int parse_duration(const char *s, uint64_t *ret_ns);

const char *power_source_to_string(enum power_source s);
const char *activity_source_to_string(enum activity_source s);
