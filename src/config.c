// SPDX-License-Identifier: Apache-2.0
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static const char *const power_source_names[] = {
	[POWER_SOURCE_AUTO] = "auto",   [POWER_SOURCE_RAPL] = "rapl",
	[POWER_SOURCE_PERF] = "perf",   [POWER_SOURCE_HWMON] = "hwmon",
	[POWER_SOURCE_ACPI] = "acpi",   [POWER_SOURCE_ESTIMATOR] = "estimator",
};

static const char *const activity_source_names[] = {
	[ACTIVITY_SOURCE_AUTO] = "auto",
	[ACTIVITY_SOURCE_EBPF] = "ebpf",
	[ACTIVITY_SOURCE_PROCFS] = "procfs",
};

const char *power_source_to_string(enum power_source s)
{
	return power_source_names[s];
}

const char *activity_source_to_string(enum activity_source s)
{
	return activity_source_names[s];
}

int config_defaults(struct kepler_config *cfg)
{
	*cfg = (struct kepler_config){
		.log_level = LOG_LEVEL_INFO,
		.log_format = LOG_FORMAT_TEXT,
		.interval_ns = 5000000000ULL,
		.max_terminated = 500,
		.sources = {POWER_SOURCE_AUTO},
		.n_sources = 1,
		.idle_platform_watts = -1,
		.estimator_idle_watts_per_cpu = 0, /* set below */
		.activity_source = ACTIVITY_SOURCE_AUTO,
		.prometheus_enabled = true,
		.metrics_levels = METRICS_ALL,
		.max_processes = 200,
		.n_listen = 1,
	};
	for (int z = 0; z < ZONE_MAX; z++)
		cfg->idle_watts[z] = -1;
	cfg->host_sysfs = strdup("/sys");
	cfg->host_procfs = strdup("/proc");
	cfg->listen_addresses[0] = strdup(":28282");
	if (!cfg->host_sysfs || !cfg->host_procfs || !cfg->listen_addresses[0]) {
		config_free(cfg);
		return -ENOMEM;
	}
	return 0;
}

void config_free(struct kepler_config *cfg)
{
	free(cfg->config_file);
	free(cfg->host_sysfs);
	free(cfg->host_procfs);
	free(cfg->web_config_file);
	for (size_t i = 0; i < cfg->n_listen; i++)
		free(cfg->listen_addresses[i]);
	free(cfg->kube_node_name);
	free(cfg->kube_kubelet_url);
	free(cfg->kube_token_file);
	free(cfg->kube_ca_file);
	memset(cfg, 0, sizeof(*cfg));
}
