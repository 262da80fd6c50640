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
#include <stdio.h>

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

/* exporter.prometheus.compat entries, as a mask */
enum metrics_compat {
	COMPAT_V07 = 1u << 0, /* Kepler 0.7's names too (docs/migrating.md) */
};

/* Room for a warning per Kepler 0.11 key this agent accepts and ignores (config.c). */
#define CONFIG_MAX_WARNINGS 8

/* power.sources entries */
enum power_source {
	POWER_SOURCE_AUTO,
	POWER_SOURCE_RAPL,
	POWER_SOURCE_PERF,
	POWER_SOURCE_HWMON,
	POWER_SOURCE_ACPI,
	POWER_SOURCE_ESTIMATOR,
	POWER_SOURCE_HYPERVISOR, /* the host's attribution, through power.passthrough.path */
	POWER_SOURCE_MAX,
};

/* power.passthrough.path's default: used when it exists (docs/vms.md) */
#define POWER_PASSTHROUGH_PATH_DEFAULT "/var/lib/kepler/host"

/* power.gpu.sources entries, as a mask */
enum gpu_source {
	GPU_SOURCE_NVML = 1u << 0, /* NVIDIA, through libnvidia-ml loaded at run time */
	GPU_SOURCE_DRM = 1u << 1,  /* AMD and Intel: hwmon and DRM fdinfo */
	GPU_SOURCE_ALL = (1u << 2) - 1,
};

/* At most this many power.gpu.idleWattsByUUID entries. */
#define CONFIG_MAX_GPU_IDLE 64

struct gpu_idle_watts {
	char *uuid;
	double watts;
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

	uint64_t interval_ns;	 /* monitor.interval, default 5 s */
	uint32_t max_terminated; /* monitor.maxTerminated, default 500 */

	enum power_source sources[CONFIG_MAX_SOURCES]; /* power.sources, default [auto] */
	size_t n_sources;
	double idle_watts[ZONE_MAX]; /* power.idle.<zone>; < 0: learn it */
	/* power.estimator: per logical CPU watts (docs/configuration.md cites the defaults) */
	double estimator_idle_watts_per_cpu;
	double estimator_max_watts_per_cpu;

	uint32_t gpu_sources;  /* power.gpu.sources as GPU_SOURCE_* mask; 0: none */
	char *nvml_library;    /* power.gpu.nvml.library, default "libnvidia-ml.so.1" */
	double gpu_idle_watts; /* power.gpu.idleWatts for every GPU; < 0: learn it */
	/* power.gpu.idleWattsByUUID: per device, before gpu_idle_watts */
	struct gpu_idle_watts gpu_idle[CONFIG_MAX_GPU_IDLE];
	size_t n_gpu_idle;

	double platform_idle_watts; /* power.idle.platform; < 0: learn it */
	bool platform_estimate;	    /* power.platform.estimate */
	/* power.platform.model.*, in the order of enum pm_term (attribution/platform_model.h) */
	double platform_model[4];

	uint32_t rapl_zones; /* rapl.zones as ZONE_BIT mask; 0 = all */

	/* power.redfish.*: the BMC meter, opened when endpoint or nodes_file is set */
	char *redfish_endpoint; /* may hold "{node}" */
	char *redfish_credentials_file;
	char *redfish_ca_file;
	bool redfish_insecure_skip_verify;
	uint64_t redfish_interval_ns; /* default 30 s */
	uint64_t redfish_timeout_ns;  /* per request, default 10 s */
	char *redfish_chassis;	      /* an @odata.id or Id; NULL: the rule */
	char *redfish_nodes_file;     /* Kepler 0.11's node -> BMC map */

	/*
	 * power.passthrough.path: a VM's tree from its host (docs/vms.md); NULL none.
	 * The default is used when it holds class/powercap; any other path must.
	 */
	char *passthrough_path;

	/* vm.passthrough.*: each VM's energy as a powercap tree for its guest (docs/vms.md) */
	char *vm_passthrough_dir;	      /* NULL: off */
	bool vm_passthrough_include_idle;     /* add the VM's share of the node's idle energy */
	uint64_t vm_passthrough_grace_ns;     /* a gone VM's directory stays this long */
	uint64_t vm_passthrough_max_range_uj; /* where the counters wrap */

	enum activity_source activity_source; /* activity.source, default auto */
	uint32_t activity_max_processes;      /* activity.maxProcesses: eBPF map size, 32768 */

	bool stdout_enabled;	 /* exporter.stdout.enabled */
	bool prometheus_enabled; /* exporter.prometheus.enabled */
	uint32_t metrics_levels; /* exporter.prometheus.metricsLevel as METRICS_* mask */
	uint32_t max_processes;	 /* exporter.prometheus.maxProcesses, default 200 */
	uint32_t compat;	 /* exporter.prometheus.compat as COMPAT_* mask, default none */

	char *web_config_file;			   /* web.configFile; NULL: none */
	char *listen_addresses[CONFIG_MAX_LISTEN]; /* web.listenAddresses, default [":28282"] */
	size_t n_listen;
	uint32_t web_max_connections;	     /* web.maxConnections, default 64 */
	uint32_t web_max_connections_per_ip; /* web.maxConnectionsPerIP, default 16 */
	uint64_t web_connection_timeout_ns;  /* web.connectionTimeout, default 10s */
	uint64_t web_header_timeout_ns;	     /* web.headerTimeout, default 3s */

	bool kube_enabled; /* kube.* */
	char *kube_node_name;
	char *kube_kubelet_url;
	char *kube_token_file;
	char *kube_ca_file;
	bool kube_insecure_skip_verify;

	/*
	 * What the load accepted but ignores (a Kepler 0.11 key without a meaning
	 * here), one line each naming the key and why; main.c logs them.
	 */
	char *warnings[CONFIG_MAX_WARNINGS];
	size_t n_warnings;
};

/* Fill *cfg with the defaults. Returns 0 or -ENOMEM (then *cfg is zeroed). */
int config_defaults(struct kepler_config *cfg);
/* Free what *cfg owns and zero it; a zeroed struct (or NULL) is fine. */
void config_free(struct kepler_config *cfg);

/*
 * Build *cfg from argv (argv[0] is the program name): defaults, then the file
 * named by --config.file (wherever it stands on the line), then every other flag
 * on top of it. Holds no global state, so main.c can call it again on SIGHUP
 * with the same argv into a fresh struct and swap on success.
 *
 * Returns:
 *   0        *cfg is valid and owned by the caller (config_free it).
 *   1        --help: usage was written to stdout; exit 0.
 *   2        --version: nothing printed; main.c prints the version and exits 0.
 *   -errno   bad flag, value, key or unreadable file: err holds one line naming
 *            the flag, key or path (no trailing newline); exit status 2.
 * On any non-zero return *cfg has been freed and zeroed (config_free is a no-op).
 * *cfg need not be initialised on entry (its old contents are not freed).
 */
int config_load(struct kepler_config *cfg, int argc, char **argv, char *err, size_t errsz);

/* Usage: every flag with its default, one line each. */
void config_print_usage(FILE *f);
/*
 * Every key as the Markdown table in docs/configuration.md (a unit test keeps
 * the two equal): key, flag, type, default, reloadable, meaning. 0, -ENOMEM, -EIO.
 */
int config_print_key_table(FILE *f);

/*
 * Parse YAML text over *cfg (used by config_load and by tests). Errors are one
 * line, "[file:]line:col: key: message", file being cfg->config_file when set.
 * On failure *cfg is still valid for config_free but may be partly updated.
 */
int config_parse_yaml(struct kepler_config *cfg, const char *text, size_t len, char *err,
		      size_t errsz);

/* The value of a YAML key path ("monitor.interval") in YAML syntax; -ENOENT unknown key. */
int config_format_value(const struct kepler_config *cfg, const char *key, char *buf, size_t size);
/* True for keys main.c applies on SIGHUP; a change to any other key needs a restart. */
bool config_key_reloadable(const char *key);
/*
 * Key paths (static strings) whose values differ between a and b, up to n of them
 * into ret_keys; returns how many differ (may exceed n). config_file is not a key.
 */
size_t config_diff(const struct kepler_config *a, const struct kepler_config *b,
		   const char **ret_keys, size_t n);

/*
 * The node's name (the node_name label, {node} in power.redfish.endpoint):
 * kube.nodeName, else the host name. 0, or -errno when neither is known.
 */
int config_node_name(const struct kepler_config *cfg, char *buf, size_t size);

const char *power_source_to_string(enum power_source s);
const char *activity_source_to_string(enum activity_source s);
/* One level bit to its name ("node", ...). */
const char *metrics_level_to_string(enum metrics_level l);
int power_source_from_string(const char *s, enum power_source *ret);
int activity_source_from_string(const char *s, enum activity_source *ret);
int metrics_level_from_string(const char *s, enum metrics_level *ret);
