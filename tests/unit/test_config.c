// SPDX-License-Identifier: Apache-2.0
/* Configuration: YAML snippets, flags, the file path, reload diff, the docs table. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "util/fileio.h"
#include "util/util.h"

/* Every key of the file, as config_format_value names it. */
static const char *const all_keys[] = {
    "log.level",
    "log.format",
    "host.sysfs",
    "host.procfs",
    "monitor.interval",
    "monitor.maxTerminated",
    "power.sources",
    "power.idle.package",
    "power.idle.core",
    "power.idle.uncore",
    "power.idle.dram",
    "power.idle.psys",
    "power.estimator.idleWattsPerCPU",
    "power.estimator.maxWattsPerCPU",
    "activity.source",
    "activity.maxProcesses",
    "rapl.zones",
    "power.passthrough.path",
    "exporter.stdout.enabled",
    "exporter.prometheus.enabled",
    "exporter.prometheus.metricsLevel",
    "exporter.prometheus.maxProcesses",
    "exporter.prometheus.compat",
    "web.configFile",
    "web.listenAddresses",
    "web.maxConnections",
    "web.maxConnectionsPerIP",
    "web.connectionTimeout",
    "web.headerTimeout",
    "kube.enabled",
    "kube.nodeName",
    "kube.kubeletURL",
    "kube.tokenFile",
    "kube.caFile",
    "kube.insecureSkipVerify",
    "vm.passthrough.dir",
    "vm.passthrough.includeIdle",
    "vm.passthrough.gracePeriod",
    "vm.passthrough.maxEnergyRangeUJ",
};

static const char *value_of(const struct kepler_config *cfg, const char *key)
{
	static char buf[512];
	int r = config_format_value(cfg, key, buf, sizeof(buf));

	if (r < 0)
		fail_msg("config_format_value(%s) = %d", key, r);
	return buf;
}

/* The defaults, as documented in docs/configuration.md. */
static const struct {
	const char *key, *value;
} defaults[] = {
    {"log.level", "info"},
    {"log.format", "text"},
    {"host.sysfs", "/sys"},
    {"host.procfs", "/proc"},
    {"monitor.interval", "5s"},
    {"monitor.maxTerminated", "500"},
    {"power.sources", "[auto]"},
    {"power.idle.package", "auto"},
    {"power.idle.core", "auto"},
    {"power.idle.uncore", "auto"},
    {"power.idle.dram", "auto"},
    {"power.idle.psys", "auto"},
    {"power.estimator.idleWattsPerCPU", "0.74"},
    {"power.estimator.maxWattsPerCPU", "3.5"},
    {"activity.source", "auto"},
    {"activity.maxProcesses", "32768"},
    {"rapl.zones", "[]"},
    {"power.passthrough.path", "/var/lib/kepler/host"},
    {"exporter.stdout.enabled", "false"},
    {"exporter.prometheus.enabled", "true"},
    {"exporter.prometheus.metricsLevel", "[node, process, container, pod, vm]"},
    {"exporter.prometheus.maxProcesses", "200"},
    {"exporter.prometheus.compat", "[]"},
    {"web.configFile", "\"\""},
    {"web.listenAddresses", "[:28282]"},
    {"web.maxConnections", "4096"},
    {"web.maxConnectionsPerIP", "256"},
    {"web.connectionTimeout", "10s"},
    {"web.headerTimeout", "3s"},
    {"kube.enabled", "false"},
    {"kube.nodeName", "\"\""},
    {"kube.kubeletURL", "\"\""},
    {"kube.tokenFile", "\"\""},
    {"kube.caFile", "\"\""},
    {"kube.insecureSkipVerify", "false"},
    {"vm.passthrough.dir", "\"\""},
    {"vm.passthrough.includeIdle", "true"},
    {"vm.passthrough.gracePeriod", "5m"},
    {"vm.passthrough.maxEnergyRangeUJ", "262143328850"},
};

static void test_defaults(void **state)
{
	struct kepler_config cfg;

	(void)state;
	assert_int_equal(ARRAY_SIZE(defaults), ARRAY_SIZE(all_keys));
	assert_int_equal(config_defaults(&cfg), 0);
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++) {
		assert_string_equal(defaults[i].key, all_keys[i]);
		if (!streq(value_of(&cfg, defaults[i].key), defaults[i].value))
			fail_msg("default %s = %s; want %s", defaults[i].key,
				 value_of(&cfg, defaults[i].key), defaults[i].value);
	}
	assert_null(cfg.config_file);
	assert_int_equal(cfg.interval_ns, 5000000000ULL);
	assert_int_equal(cfg.metrics_levels, METRICS_ALL);
	assert_int_equal(cfg.rapl_zones, 0);
	assert_int_equal(cfg.n_sources, 1);
	assert_int_equal(cfg.sources[0], POWER_SOURCE_AUTO);
	assert_true(cfg.idle_watts[ZONE_PACKAGE] < 0);
	assert_null(cfg.web_config_file);
	config_free(&cfg);
	assert_null(cfg.host_sysfs);
	config_free(&cfg); /* a zeroed struct frees again */
	config_free(NULL);
}

/* YAML that is accepted: after parsing, key has value. */
static const struct {
	const char *yaml, *key, *value;
} yaml_good[] = {
    {"", "monitor.interval", "5s"},
    {"# only a comment\n  # and another\n", "log.level", "info"},
    {"---\n", "log.level", "info"},
    {"~\n", "log.level", "info"},
    {"%YAML 1.1\n---\nlog: {level: error}\n...\n", "log.level", "error"},
    {"log: {level: debug}", "log.level", "debug"},
    {"log:\n  level: warning\n", "log.level", "warn"},
    {"log: {format: json}", "log.format", "json"},
    {"exporter: {prometheus: {compat: [v0.7]}}", "exporter.prometheus.compat", "[v0.7]"},
    {"exporter: {prometheus: {compat: [v0.7, v0.7]}}", "exporter.prometheus.compat", "[v0.7]"},
    {"exporter: {prometheus: {compat: []}}", "exporter.prometheus.compat", "[]"},
    {"log:\n", "log.level", "info"},
    {"host: {sysfs: /host/sys}", "host.sysfs", "/host/sys"},
    {"host:\n  procfs: '/host/proc'\n", "host.procfs", "/host/proc"},
    {"monitor: {interval: 1h}", "monitor.interval", "1h"},
    {"monitor: {interval: 100ms}", "monitor.interval", "100ms"},
    {"monitor: {interval: \"1m30s\"}", "monitor.interval", "1m30s"},
    {"monitor: {interval: 2.5s}", "monitor.interval", "2500ms"},
    {"monitor: {maxTerminated: 0}", "monitor.maxTerminated", "0"},
    {"monitor: {maxTerminated: 4294967295}", "monitor.maxTerminated", "4294967295"},
    {"power: {sources: [rapl, hwmon]}", "power.sources", "[rapl, hwmon]"},
    {"power:\n  sources:\n    - perf\n    - acpi\n", "power.sources", "[perf, acpi]"},
    {"power: {sources: [estimator]}", "power.sources", "[estimator]"},
    {"power: {sources: [auto]}", "power.sources", "[auto]"},
    {"power: {sources: [hypervisor, estimator]}", "power.sources", "[hypervisor, estimator]"},
    {"power: {passthrough: {path: \"\"}}", "power.passthrough.path", "\"\""},
    {"vm: {passthrough: {gracePeriod: 0s}}", "vm.passthrough.gracePeriod", "0s"},
    {"vm: {passthrough: {maxEnergyRangeUJ: 1000000}}", "vm.passthrough.maxEnergyRangeUJ",
     "1000000"},
    {"power: {gpu: {sources: [drm, nvml]}}", "power.gpu.sources", "[auto]"},
    {"power: {gpu: {sources: [drm]}}", "power.gpu.sources", "[drm]"},
    {"power: {gpu: {sources: [none]}}", "power.gpu.sources", "[none]"},
    {"power: {gpu: {sources: [nvml]}}", "power.gpu.sources", "[nvml]"},
    {"power: {gpu: {nvml: {library: /opt/nv/libnvidia-ml.so.1}}}", "power.gpu.nvml.library",
     "/opt/nv/libnvidia-ml.so.1"},
    {"power: {gpu: {idleWatts: 55.5}}", "power.gpu.idleWatts", "55.5"},
    {"power: {gpu: {idleWattsByUUID: [GPU-a=60, \"MIG-b/1=0\"]}}", "power.gpu.idleWattsByUUID",
     "[GPU-a=60, MIG-b/1=0]"},
    {"power: {idle: {package: 10.5}}", "power.idle.package", "10.5"},
    {"power: {idle: {core: 3}}", "power.idle.core", "3"},
    {"power: {idle: {uncore: 0}}", "power.idle.uncore", "0"},
    {"power: {idle: {dram: 1.25}}", "power.idle.dram", "1.25"},
    {"power: {idle: {psys: 2e1}}", "power.idle.psys", "20"},
    {"power: {idle: {package: auto}}", "power.idle.package", "auto"},
    {"power: {idle: {}}", "power.idle.package", "auto"},
    {"power:\n  idle:\n", "power.idle.core", "auto"},
    {"power: {estimator: {idleWattsPerCPU: 1, maxWattsPerCPU: 5}}",
     "power.estimator.idleWattsPerCPU", "1"},
    {"power: {estimator: {idleWattsPerCPU: 1, maxWattsPerCPU: 5}}",
     "power.estimator.maxWattsPerCPU", "5"},
    {"power: {estimator: {idleWattsPerCPU: 0, maxWattsPerCPU: 0}}",
     "power.estimator.maxWattsPerCPU", "0"},
    {"activity: {source: procfs}", "activity.source", "procfs"},
    {"activity: {source: ebpf}", "activity.source", "ebpf"},
    {"activity: {maxProcesses: 64}", "activity.maxProcesses", "64"},
    {"rapl: {zones: [package, dram]}", "rapl.zones", "[package, dram]"},
    {"rapl: {zones: [psys, core, uncore, core]}", "rapl.zones", "[core, uncore, psys]"},
    {"rapl: {zones: []}", "rapl.zones", "[]"},
    {"rapl:\n  zones:\n", "rapl.zones", "[]"},
    {"exporter: {stdout: {enabled: true}}", "exporter.stdout.enabled", "true"},
    {"exporter: {stdout: {enabled: YES}}", "exporter.stdout.enabled", "true"},
    {"exporter: {stdout: {enabled: On}}", "exporter.stdout.enabled", "true"},
    {"exporter: {prometheus: {enabled: off}}", "exporter.prometheus.enabled", "false"},
    {"exporter: {prometheus: {enabled: No}}", "exporter.prometheus.enabled", "false"},
    {"exporter: {prometheus: {enabled: FALSE}}", "exporter.prometheus.enabled", "false"},
    {"exporter: {prometheus: {metricsLevel: [pod]}}", "exporter.prometheus.metricsLevel",
     "[node, pod]"},
    {"exporter: {prometheus: {metricsLevel: []}}", "exporter.prometheus.metricsLevel", "[node]"},
    {"exporter: {prometheus: {metricsLevel: [vm, process, node]}}",
     "exporter.prometheus.metricsLevel", "[node, process, vm]"},
    {"exporter: {prometheus: {maxProcesses: 1}}", "exporter.prometheus.maxProcesses", "1"},
    {"web: {configFile: /etc/kepler/web.yaml}", "web.configFile", "/etc/kepler/web.yaml"},
    {"web: {configFile: \"\"}", "web.configFile", "\"\""},
    {"web: {listenAddresses: [\"127.0.0.1:9102\", \"[::1]:9102\"]}", "web.listenAddresses",
     "[127.0.0.1:9102, [::1]:9102]"},
    {"web:\n  listenAddresses:\n    - :8080\n", "web.listenAddresses", "[:8080]"},
    {"web: {maxConnections: 500}", "web.maxConnections", "500"},
    {"web: {maxConnectionsPerIP: 1}", "web.maxConnectionsPerIP", "1"},
    {"web: {connectionTimeout: 1m30s}", "web.connectionTimeout", "1m30s"},
    {"web: {headerTimeout: 1s}", "web.headerTimeout", "1s"},
    {"web: {headerTimeout: 1h}", "web.headerTimeout", "1h"},
    {"kube: {enabled: true}", "kube.enabled", "true"},
    {"kube: {nodeName: worker-1}", "kube.nodeName", "worker-1"},
    {"kube: {nodeName: ~}", "kube.nodeName", "\"\""},
    {"kube: {nodeName: \"null\"}", "kube.nodeName", "null"},
    {"kube: {kubeletURL: \"https://127.0.0.1:10250\"}", "kube.kubeletURL",
     "https://127.0.0.1:10250"},
    {"kube: {kubeletURL: http://node:10255}", "kube.kubeletURL", "http://node:10255"},
    {"kube: {kubeletURL: \"\"}", "kube.kubeletURL", "\"\""},
    {"kube: {tokenFile: /var/run/secrets/token}", "kube.tokenFile", "/var/run/secrets/token"},
    {"kube: {caFile: /ca.crt}", "kube.caFile", "/ca.crt"},
    {"kube: {insecureSkipVerify: yes}", "kube.insecureSkipVerify", "true"},
};

static void test_yaml_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(yaml_good); i++) {
		struct kepler_config cfg;
		char err[512] = "";
		int r;

		assert_int_equal(config_defaults(&cfg), 0);
		r = config_parse_yaml(&cfg, yaml_good[i].yaml, strlen(yaml_good[i].yaml), err,
				      sizeof(err));
		if (r != 0)
			fail_msg("yaml %zu \"%s\": %d %s", i, yaml_good[i].yaml, r, err);
		if (!streq(value_of(&cfg, yaml_good[i].key), yaml_good[i].value))
			fail_msg("yaml \"%s\": %s = %s; want %s", yaml_good[i].yaml,
				 yaml_good[i].key, value_of(&cfg, yaml_good[i].key),
				 yaml_good[i].value);
		assert_string_equal(err, "");
		config_free(&cfg);
	}
}

/* A file setting every key away from its default. */
static const char full_yaml[] = "log:\n"
				"  level: debug\n"
				"  format: json\n"
				"host:\n"
				"  sysfs: /host/sys\n"
				"  procfs: /host/proc\n"
				"monitor:\n"
				"  interval: 10s\n"
				"  maxTerminated: 100\n"
				"power:\n"
				"  sources: [rapl, estimator]\n"
				"  idle:\n"
				"    package: 10.5\n"
				"    core: 3\n"
				"    uncore: 0.5\n"
				"    dram: 1.5\n"
				"    psys: 12\n"
				"  passthrough:\n"
				"    path: /mnt/host\n"
				"  estimator:\n"
				"    idleWattsPerCPU: 1\n"
				"    maxWattsPerCPU: 4\n"
				"activity:\n"
				"  source: procfs\n"
				"  maxProcesses: 4096\n"
				"rapl:\n"
				"  zones: [package, dram]\n"
				"exporter:\n"
				"  stdout:\n"
				"    enabled: true\n"
				"  prometheus:\n"
				"    enabled: false\n"
				"    metricsLevel: [node, pod]\n"
				"    maxProcesses: 50\n"
				"    compat: [v0.7]\n"
				"web:\n"
				"  configFile: /etc/kepler/web.yaml\n"
				"  listenAddresses: [\"127.0.0.1:28282\", \"[::1]:28282\"]\n"
				"  maxConnections: 8\n"
				"  maxConnectionsPerIP: 2\n"
				"  connectionTimeout: 30s\n"
				"  headerTimeout: 5s\n"
				"kube:\n"
				"  enabled: true\n"
				"  nodeName: worker-1\n"
				"  kubeletURL: https://127.0.0.1:10250\n"
				"  tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token\n"
				"  caFile: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt\n"
				"  insecureSkipVerify: true\n"
				"vm:\n"
				"  passthrough:\n"
				"    dir: /run/kepler/vms\n"
				"    includeIdle: false\n"
				"    gracePeriod: 1m\n"
				"    maxEnergyRangeUJ: 18446744073709551615\n";

static void test_yaml_every_key(void **state)
{
	struct kepler_config d, cfg;
	const char *changed[64];
	char err[512] = "";
	size_t n;

	(void)state;
	assert_int_equal(config_defaults(&d), 0);
	assert_int_equal(config_defaults(&cfg), 0);
	assert_int_equal(config_parse_yaml(&cfg, full_yaml, strlen(full_yaml), err, sizeof(err)),
			 0);
	n = config_diff(&d, &cfg, changed, ARRAY_SIZE(changed));
	assert_int_equal(n, ARRAY_SIZE(all_keys));
	for (size_t i = 0; i < n; i++)
		assert_string_equal(changed[i], all_keys[i]);

	assert_int_equal(cfg.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(cfg.log_format, LOG_FORMAT_JSON);
	assert_string_equal(cfg.host_sysfs, "/host/sys");
	assert_string_equal(cfg.host_procfs, "/host/proc");
	assert_int_equal(cfg.interval_ns, 10000000000ULL);
	assert_int_equal(cfg.max_terminated, 100);
	assert_int_equal(cfg.n_sources, 2);
	assert_int_equal(cfg.sources[0], POWER_SOURCE_RAPL);
	assert_int_equal(cfg.sources[1], POWER_SOURCE_ESTIMATOR);
	assert_true(cfg.idle_watts[ZONE_PACKAGE] == 10.5);
	assert_true(cfg.idle_watts[ZONE_CORE] == 3);
	assert_true(cfg.idle_watts[ZONE_UNCORE] == 0.5);
	assert_true(cfg.idle_watts[ZONE_DRAM] == 1.5);
	assert_true(cfg.idle_watts[ZONE_PSYS] == 12);
	assert_true(cfg.estimator_idle_watts_per_cpu == 1);
	assert_true(cfg.estimator_max_watts_per_cpu == 4);
	assert_int_equal(cfg.activity_source, ACTIVITY_SOURCE_PROCFS);
	assert_int_equal(cfg.rapl_zones, ZONE_BIT(ZONE_PACKAGE) | ZONE_BIT(ZONE_DRAM));
	assert_true(cfg.stdout_enabled);
	assert_false(cfg.prometheus_enabled);
	assert_int_equal(cfg.metrics_levels, METRICS_NODE | METRICS_POD);
	assert_int_equal(cfg.max_processes, 50);
	assert_string_equal(cfg.web_config_file, "/etc/kepler/web.yaml");
	assert_int_equal(cfg.n_listen, 2);
	assert_string_equal(cfg.listen_addresses[0], "127.0.0.1:28282");
	assert_string_equal(cfg.listen_addresses[1], "[::1]:28282");
	assert_int_equal(cfg.web_header_timeout_ns, 5000000000ULL);
	assert_true(cfg.kube_enabled);
	assert_string_equal(cfg.kube_node_name, "worker-1");
	assert_string_equal(cfg.kube_kubelet_url, "https://127.0.0.1:10250");
	assert_string_equal(cfg.kube_token_file,
			    "/var/run/secrets/kubernetes.io/serviceaccount/token");
	assert_string_equal(cfg.kube_ca_file,
			    "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
	assert_true(cfg.kube_insecure_skip_verify);
	assert_string_equal(cfg.passthrough_path, "/mnt/host");
	assert_string_equal(cfg.vm_passthrough_dir, "/run/kepler/vms");
	assert_false(cfg.vm_passthrough_include_idle);
	assert_int_equal(cfg.vm_passthrough_grace_ns, 60000000000ULL);
	assert_true(cfg.vm_passthrough_max_range_uj == UINT64_MAX);

	/* Parsing over a filled struct replaces (and frees) the old values */
	assert_int_equal(config_parse_yaml(&cfg, full_yaml, strlen(full_yaml), err, sizeof(err)),
			 0);
	assert_int_equal(config_diff(&d, &cfg, NULL, 0), ARRAY_SIZE(all_keys));
	config_free(&d);
	config_free(&cfg);
}

/* The YAML for key = value: "a.b.c" nests as "a:\n  b:\n    c: value\n". */
static void nest(char *buf, size_t size, const char *key, const char *value)
{
	size_t n = 0, depth = 0;

	for (const char *p = key, *dot; (dot = strchr(p, '.')); p = dot + 1, depth++)
		n += (size_t)snprintf(buf + n, size - n, "%*s%.*s:\n", (int)(2 * depth), "",
				      (int)(dot - p), p);
	snprintf(buf + n, size - n, "%*s%s: %s\n", (int)(2 * depth), "", strrchr(key, '.') + 1,
		 value);
}

/* What config_format_value writes, the file reads back to the same value: for every key. */
static void test_every_key_round_trips(void **state)
{
	static const char plain_listen[] =
	    "web: {listenAddresses: [\"127.0.0.1:1\", \"localhost:2\"]}";
	struct kepler_config d, full, cfg;
	char err[512], value[512], yaml[1024];

	(void)state;
	assert_int_equal(config_defaults(&d), 0);
	assert_int_equal(config_defaults(&full), 0);
	assert_int_equal(config_parse_yaml(&full, full_yaml, strlen(full_yaml), err, sizeof(err)),
			 0);
	/* config_format_value does not quote: "[[::1]:80, :80]" would not read back as YAML. */
	assert_int_equal(
	    config_parse_yaml(&full, plain_listen, strlen(plain_listen), err, sizeof(err)), 0);
	for (size_t i = 0; i < ARRAY_SIZE(all_keys); i++) {
		const char *changed[2];

		assert_int_equal(config_format_value(&full, all_keys[i], value, sizeof(value)), 0);
		nest(yaml, sizeof(yaml), all_keys[i], value);
		assert_int_equal(config_defaults(&cfg), 0);
		if (config_parse_yaml(&cfg, yaml, strlen(yaml), err, sizeof(err)) != 0)
			fail_msg("%s: \"%s\": %s", all_keys[i], yaml, err);
		if (config_diff(&d, &cfg, changed, 2) != 1 || !streq(changed[0], all_keys[i]))
			fail_msg("%s: \"%s\" does not change exactly that key", all_keys[i], yaml);
		assert_string_equal(value_of(&cfg, all_keys[i]), value);
		config_free(&cfg);
	}
	config_free(&d);
	config_free(&full);
}

/* YAML that is refused: the one-line error contains want. */
static const struct {
	const char *yaml, *want;
} yaml_bad[] = {
    /* unknown keys, at every depth, named by full path */
    {"foo: 1", "1:1: unknown key \"foo\""},
    {"monitor:\n  intervall: 5s\n", "2:3: unknown key \"monitor.intervall\""},
    {"power:\n  idle:\n    gpu: 5\n", "3:5: unknown key \"power.idle.gpu\""},
    {"exporter:\n  prometheus:\n    metricLevel: [node]\n",
     "3:5: unknown key \"exporter.prometheus.metricLevel\""},
    {"Log: {level: info}", "unknown key \"Log\""},
    {"exporter: {prometheus: {compat: [v0.8]}}",
     "1:34: exporter.prometheus.compat: unknown compatibility \"v0.8\" (v0.7)"},
    {"exporter: {prometheus: {compat: v0.7}}",
     "exporter.prometheus.compat: expected a sequence, got a scalar"},
    /* near a Kepler 0.11 key is still unknown: only the keys themselves are ignored */
    {"monitor: {stalenes: 1s}", "unknown key \"monitor.stalenes\""},
    {"kube: {configFile: x}", "unknown key \"kube.configFile\""},
    {"debugging: {pprof: true}", "unknown key \"debugging\""},
    {"log: {level: info, level: debug}", "1:20: duplicate key \"log.level\""},
    {"{[a]: b}", "1:2: a key must be a scalar, got a sequence"},
    {"{{a: b}: c}", "1:2: a key must be a scalar, got a mapping"},
    {"log: {[a]: b}", "1:7: log: a key must be a scalar, got a sequence"},
    {"power: {idle: {core: 1, core: 2}}", "1:25: duplicate key \"power.idle.core\""},
    {"log: {level: info}\nlog: {format: json}\n", "2:1: duplicate key \"log\""},
    /* a C string cannot carry a NUL: "log\0junk" must not read as "log" */
    {"\"log\\0junk\": {level: debug}", "1:1: a key holds a NUL byte"},
    {"log: {\"level\\0\": debug}", "1:7: log: a key holds a NUL byte"},
    /* a dot inside a name does not reach a deeper key */
    {"log.level: debug", "1:1: unknown key \"log.level\""},
    {"exporter: {prometheus.enabled: false}", "unknown key \"exporter.prometheus.enabled\""},
    {"log: {level.: debug}", "unknown key \"log.level.\""},
    {"\"\": 1", "1:1: unknown key \"\""},
    /* wrong shapes */
    {"- a\n- b\n", "1:1: expected a mapping, got a sequence"},
    {"just text", "1:1: expected a mapping, got a scalar"},
    {"log: debug", "1:6: log: expected a mapping, got a scalar"},
    {"log: {level: [debug]}", "1:14: log.level: expected a scalar, got a sequence"},
    {"log: {level: {a: b}}", "log.level: expected a scalar, got a mapping"},
    {"power: {idle: 5}", "power.idle: expected a mapping, got a scalar"},
    {"power: {sources: auto}", "1:18: power.sources: expected a sequence, got a scalar"},
    {"power: {sources: [[rapl]]}", "1:19: power.sources: expected a scalar list entry, got a "
				   "sequence"},
    {"log: {level: \"de\\0bug\"}", "log.level: value holds a NUL byte"},
    /* bad values, each naming key and value */
    {"log: {level: verbose}", "1:14: log.level: bad log level \"verbose\""},
    {"log: {level: ~}", "log.level: bad log level \"\""},
    {"log: {format: xml}", "log.format: bad log format \"xml\""},
    {"host: {sysfs: \"\"}", "host.sysfs: must not be empty"},
    {"host: {procfs: }", "host.procfs: must not be empty"},
    {"monitor: {interval: 5x}", "1:21: monitor.interval: bad duration \"5x\""},
    {"monitor:\n  interval: 5\n", "2:13: monitor.interval: bad duration \"5\""},
    {"monitor: {interval: -5s}", "monitor.interval: bad duration \"-5s\""},
    {"monitor: {interval: 50ms}", "monitor.interval: 50ms is out of range (100ms to 1h)"},
    {"monitor: {interval: 0s}", "monitor.interval: 0s is out of range"},
    {"monitor: {interval: 61m}", "monitor.interval: 61m is out of range"},
    {"monitor: {interval: 99999999999h}", "monitor.interval: duration \"99999999999h\" is too "
					  "large"},
    {"monitor: {maxTerminated: abc}", "monitor.maxTerminated: bad integer \"abc\""},
    {"monitor: {maxTerminated: -1}", "monitor.maxTerminated: bad integer \"-1\""},
    {"monitor: {maxTerminated: 1.5}", "monitor.maxTerminated: bad integer \"1.5\""},
    {"monitor: {maxTerminated: 0x10}", "monitor.maxTerminated: bad integer \"0x10\""},
    {"monitor: {maxTerminated: 4294967296}", "monitor.maxTerminated: integer \"4294967296\" "
					     "is too large"},
    {"monitor: {maxTerminated: 99999999999999999999999}", "is too large"},
    {"vm: {passthrough: {maxEnergyRangeUJ: 999999}}",
     "vm.passthrough.maxEnergyRangeUJ: 999999 is below the minimum 1000000"},
    {"vm: {passthrough: {maxEnergyRangeUJ: 18446744073709551616}}", "is too large"},
    {"vm: {passthrough: {maxEnergyRangeUJ: 1e9}}", "bad integer \"1e9\""},
    {"vm: {passthrough: {gracePeriod: 25h}}", "25h is out of range (0s to 24h)"},
    {"power: {sources: [auto, rapl]}", "power.sources: \"auto\" cannot be combined"},
    {"power: {sources: [rapl, auto]}", "1:25: power.sources: \"auto\" cannot be combined"},
    {"power: {sources: [rapl, rapl]}", "1:25: power.sources: duplicate source \"rapl\""},
    {"power: {sources: [nvml]}", "1:19: power.sources: unknown power source \"nvml\""},
    {"power: {sources: []}", "power.sources: empty list"},
    {"power: {gpu: {sources: [auto, nvml]}}", "power.gpu.sources: \"auto\" cannot be combined"},
    {"power: {gpu: {sources: [drm, none]}}", "power.gpu.sources: \"none\" cannot be combined"},
    {"power: {gpu: {sources: [drm, drm]}}", "power.gpu.sources: duplicate source \"drm\""},
    {"power: {gpu: {sources: [amd]}}", "power.gpu.sources: unknown GPU source \"amd\""},
    {"power: {gpu: {sources: []}}", "power.gpu.sources: empty list"},
    {"power: {gpu: {idleWatts: -3}}", "power.gpu.idleWatts: negative watts"},
    {"power: {gpu: {idleWattsByUUID: [GPU-a]}}", "power.gpu.idleWattsByUUID: bad entry \"GPU-a\""},
    {"power: {gpu: {idleWattsByUUID: [=5]}}", "power.gpu.idleWattsByUUID: bad entry"},
    {"power: {gpu: {idleWattsByUUID: [GPU-a=x]}}", "power.gpu.idleWattsByUUID: bad entry"},
    {"power: {gpu: {idleWattsByUUID: [G=1, G=2]}}",
     "power.gpu.idleWattsByUUID: duplicate UUID in \"G=2\""},
    {"power: {sources: [rapl, perf, hwmon, acpi, estimator, rapl, perf, hwmon, acpi]}",
     "power.sources: too many sources (at most 8)"},
    {"power: {idle: {package: -1}}", "power.idle.package: negative watts \"-1\""},
    {"power: {idle: {core: lots}}", "power.idle.core: bad watts \"lots\""},
    {"power: {idle: {dram: .nan}}", "power.idle.dram: bad watts \".nan\""},
    {"power: {idle: {dram: inf}}", "bad watts \"inf\""},
    {"power: {idle: {dram: 1e999}}", "bad watts \"1e999\""},
    {"power: {idle: {dram: 0x10}}", "bad watts \"0x10\""},
    {"power: {idle: {uncore: }}", "power.idle.uncore: bad watts \"\""},
    {"power: {idle: {fans: 60}}", "unknown key \"power.idle.fans\""},
    {"power: {estimator: {idleWattsPerCPU: auto}}",
     "power.estimator.idleWattsPerCPU: bad watts \"auto\""},
    {"power: {estimator: {maxWattsPerCPU: -3}}",
     "power.estimator.maxWattsPerCPU: negative watts \"-3\""},
    {"power: {estimator: {idleWattsPerCPU: 5, maxWattsPerCPU: 2}}",
     "power.estimator: idleWattsPerCPU 5 is above maxWattsPerCPU 2"},
    {"activity: {source: kprobe}", "activity.source: unknown activity source \"kprobe\""},
    {"rapl: {zones: [pkg]}", "1:16: rapl.zones: unknown zone \"pkg\""},
    {"rapl: {zones: package}", "rapl.zones: expected a sequence, got a scalar"},
    {"exporter: {stdout: {enabled: maybe}}", "exporter.stdout.enabled: bad boolean \"maybe\""},
    {"exporter: {prometheus: {enabled: 1}}", "exporter.prometheus.enabled: bad boolean \"1\""},
    {"exporter: {prometheus: {metricsLevel: [node, gpu]}}",
     "exporter.prometheus.metricsLevel: unknown metrics level \"gpu\""},
    {"exporter: {prometheus: {maxProcesses: 0}}",
     "exporter.prometheus.maxProcesses: 0 is below the minimum 1"},
    {"exporter: {prometheus: {maxProcesses: many}}",
     "exporter.prometheus.maxProcesses: bad integer \"many\""},
    {"exporter: {stdout: true}", "exporter.stdout: expected a mapping, got a scalar"},
    {"web: {maxConnections: 0}", "web.maxConnections: 0 is below the minimum 1"},
    {"web: {connectionTimeout: 500ms}", "web.connectionTimeout: 500ms is out of range (1s to 1h)"},
    {"web: {connectionTimeout: forever}", "web.connectionTimeout: bad duration \"forever\""},
    {"web: {headerTimeout: 999ms}", "web.headerTimeout: 999ms is out of range (1s to 1h)"},
    {"web: {headerTimeout: 1h1s}", "web.headerTimeout: 1h1s is out of range (1s to 1h)"},
    {"web: {headerTimeout: 3}", "web.headerTimeout: bad duration \"3\""},
    {"web: {listenAddresses: [localhost]}",
     "web.listenAddresses: bad listen address \"localhost\""},
    {"web: {listenAddresses: [\":0\"]}", "bad listen address \":0\""},
    {"web: {listenAddresses: [\":65536\"]}", "bad listen address \":65536\""},
    {"web: {listenAddresses: [\"::1:80\"]}", "bad listen address \"::1:80\""},
    {"web: {listenAddresses: []}", "web.listenAddresses: empty list"},
    {"web: {listenAddresses: [\":1\", \":2\", \":3\", \":4\", \":5\", \":6\", \":7\", \":8\", "
     "\":9\"]}",
     "web.listenAddresses: too many listen addresses (at most 8)"},
    {"web: {configFile: [a]}", "web.configFile: expected a scalar, got a sequence"},
    {"kube: {enabled: sometimes}", "kube.enabled: bad boolean \"sometimes\""},
    {"kube: {kubeletURL: ftp://x}", "kube.kubeletURL: bad URL \"ftp://x\""},
    {"kube: {kubeletURL: \"https://\"}", "kube.kubeletURL: bad URL"},
    {"kube: {insecureSkipVerify: maybe}", "kube.insecureSkipVerify: bad boolean \"maybe\""},
    {"kube: {nodeName: {a: 1}}", "kube.nodeName: expected a scalar, got a mapping"},
    /* syntax errors carry line:column */
    {"a: b: c", "1:5: YAML syntax error: mapping values are not allowed in this context"},
    {"log:\n\tlevel: info\n", "2:1: YAML syntax error: found character that cannot start any "
			      "token"},
    {"log: {level: info\n", "2:1: YAML syntax error: did not find expected ',' or '}'"},
    {"log:\n  level: \"info\n", "3:1: YAML syntax error: found unexpected end of stream"},
    {"log: {level: *nope}", "YAML syntax error"},
    {"log: {level: info}\n---\nlog: {level: debug}\n", "3:1: more than one YAML document"},
    {"log: {level: info}\n---\n: : :\n", "YAML syntax error"},
};

static void test_yaml_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(yaml_bad); i++) {
		struct kepler_config cfg;
		char err[512] = "";
		int r;

		assert_int_equal(config_defaults(&cfg), 0);
		r = config_parse_yaml(&cfg, yaml_bad[i].yaml, strlen(yaml_bad[i].yaml), err,
				      sizeof(err));
		if (r >= 0 || !strstr(err, yaml_bad[i].want))
			fail_msg("yaml \"%s\": %d \"%s\"; want error containing \"%s\"",
				 yaml_bad[i].yaml, r, err, yaml_bad[i].want);
		assert_null(strchr(err, '\n'));
		config_free(&cfg);
	}
}

/*
 * Kepler 0.11's sample configuration (docs/user/configuration.md): it loads, the keys
 * with a meaning here take effect, and each without one leaves one warning naming it.
 */
static void test_kepler_011_file(void **state)
{
	static const char yaml[] =
	    "log:\n  level: debug\n  format: text\n"
	    "monitor:\n  interval: 5s\n  staleness: 1000ms\n"
	    "  maxTerminated: 500\n  minTerminatedEnergyThreshold: 10\n"
	    "host:\n  sysfs: /sys\n  procfs: /proc\n"
	    "rapl:\n  zones: []\n"
	    "exporter:\n  stdout:\n    enabled: false\n  prometheus:\n"
	    "    enabled: true\n    debugCollectors:\n      - go\n"
	    "      - process\n    metricsLevel:\n      - node\n"
	    "      - pod\n"
	    "debug:\n  pprof:\n    enabled: true\n"
	    "web:\n  configFile: \"\"\n  listenAddresses:\n    - \":28283\"\n"
	    "kube:\n  enabled: false\n  config: \"\"\n  nodeName: \"n1\"\n"
	    "experimental:\n  platform:\n    redfish:\n      enabled: false\n"
	    "dev:\n  fake-cpu-meter:\n    enabled: false\n    zones: []\n";
	static const char *const ignored[] = {
	    "monitor.staleness",
	    "monitor.minTerminatedEnergyThreshold",
	    "exporter.prometheus.debugCollectors",
	    "debug",
	    "kube.config",
	    "experimental",
	    "dev",
	};
	struct kepler_config cfg;
	char err[512] = "";

	(void)state;
	assert_int_equal(config_defaults(&cfg), 0);
	assert_int_equal(config_parse_yaml(&cfg, yaml, strlen(yaml), err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(value_of(&cfg, "log.level"), "debug");
	assert_string_equal(value_of(&cfg, "exporter.prometheus.metricsLevel"), "[node, pod]");
	assert_string_equal(value_of(&cfg, "web.listenAddresses"), "[:28283]");
	assert_string_equal(value_of(&cfg, "kube.nodeName"), "n1");
	assert_int_equal(cfg.n_warnings, ARRAY_SIZE(ignored));
	for (size_t i = 0; i < ARRAY_SIZE(ignored); i++) {
		char want[128];

		snprintf(want, sizeof(want), "%s: not supported, ignoring: ", ignored[i]);
		if (!startswith(cfg.warnings[i], want))
			fail_msg("warning %zu \"%s\"; want it to start with \"%s\"", i,
				 cfg.warnings[i], want);
	}
	config_free(&cfg);
}

static void test_yaml_error_prefix_and_truncation(void **state)
{
	struct kepler_config cfg;
	char err[512], tiny[8];
	static const char y[] = "monitor:\n  interval: 5x\n";

	(void)state;
	assert_int_equal(config_defaults(&cfg), 0);
	cfg.config_file = strdup("/etc/kepler.yaml");
	assert_non_null(cfg.config_file);
	assert_int_equal(config_parse_yaml(&cfg, y, strlen(y), err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "/etc/kepler.yaml:2:13: monitor.interval: bad duration \"5x\"");
	/* A short buffer truncates, never overflows; no buffer at all is fine */
	assert_int_equal(config_parse_yaml(&cfg, y, strlen(y), tiny, sizeof(tiny)), -EINVAL);
	assert_string_equal(tiny, "/etc/ke");
	assert_int_equal(config_parse_yaml(&cfg, y, strlen(y), NULL, 0), -EINVAL);
	config_free(&cfg);
}

static void test_yaml_alias(void **state)
{
	static const char y[] = "log: &l {level: debug}\n"
				"web: {listenAddresses: &a [\":1\", \":2\"]}\n";
	static const char bomb[] = "a: &a [x, x, x, x, x, x, x, x, x]\n"
				   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
				   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n";
	struct kepler_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(config_defaults(&cfg), 0);
	assert_int_equal(config_parse_yaml(&cfg, y, strlen(y), err, sizeof(err)), 0);
	assert_int_equal(cfg.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(cfg.n_listen, 2);
	/* An alias tree is not expanded: the first unknown key stops it */
	assert_int_equal(config_parse_yaml(&cfg, bomb, strlen(bomb), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown key \"a\""));
	config_free(&cfg);
}

/* Flags: argv (after "kepler"), expected return, then key = value or an error substring. */
struct flag_case {
	const char *argv[12];
	int ret;
	const char *key, *value; /* ret == 0 */
	const char *err;	 /* ret < 0 */
};

static const struct flag_case flag_cases[] = {
    {{NULL}, 0, "log.level", "info", NULL},
    {{"--log.level", "debug"}, 0, "log.level", "debug", NULL},
    {{"--log.level=debug"}, 0, "log.level", "debug", NULL},
    {{"--log.level=debug", "--log.level=error"}, 0, "log.level", "error", NULL},
    {{"--log.format=json"}, 0, "log.format", "json", NULL},
    {{"--host.sysfs=/host/sys"}, 0, "host.sysfs", "/host/sys", NULL},
    {{"--host.procfs", "/host/proc"}, 0, "host.procfs", "/host/proc", NULL},
    {{"--monitor.interval=10s"}, 0, "monitor.interval", "10s", NULL},
    {{"--monitor.interval", "1h"}, 0, "monitor.interval", "1h", NULL},
    {{"--web.listen-address=:9000"}, 0, "web.listenAddresses", "[:9000]", NULL},
    {{"--web.listen-address", ":9000", "--log.level=warn", "--web.listen-address=[::1]:9001"},
     0,
     "web.listenAddresses",
     "[:9000, [::1]:9001]",
     NULL},
    {{"--web.config-file=/w.yaml"}, 0, "web.configFile", "/w.yaml", NULL},
    {{"--web.config-file="}, 0, "web.configFile", "\"\"", NULL},
    {{"--exporter.stdout"}, 0, "exporter.stdout.enabled", "true", NULL},
    {{"--exporter.stdout=false"}, 0, "exporter.stdout.enabled", "false", NULL},
    {{"--exporter.stdout=yes"}, 0, "exporter.stdout.enabled", "true", NULL},
    {{"--metrics=node,pod"}, 0, "exporter.prometheus.metricsLevel", "[node, pod]", NULL},
    {{"--metrics", "process, container"},
     0,
     "exporter.prometheus.metricsLevel",
     "[node, process, container]",
     NULL},
    {{"--metrics="}, 0, "exporter.prometheus.metricsLevel", "[node]", NULL},
    {{"--kube.enable"}, 0, "kube.enabled", "true", NULL},
    {{"--kube.enable=off"}, 0, "kube.enabled", "false", NULL},
    {{"--kube.node-name", "n1"}, 0, "kube.nodeName", "n1", NULL},
    {{"--kube.kubelet-url=https://10.0.0.1:10250"},
     0,
     "kube.kubeletURL",
     "https://10.0.0.1:10250",
     NULL},
    {{"--power.source=rapl,estimator"}, 0, "power.sources", "[rapl, estimator]", NULL},
    {{"--power.source", "auto"}, 0, "power.sources", "[auto]", NULL},
    {{"--activity.source=procfs"}, 0, "activity.source", "procfs", NULL},
    {{"--web.header-timeout=10s"}, 0, "web.headerTimeout", "10s", NULL},
    {{"--web.header-timeout", "1m"}, 0, "web.headerTimeout", "1m", NULL},
    {{"--"}, 0, "log.level", "info", NULL},
    /* help and version */
    {{"--help"}, 1, NULL, NULL, NULL},
    {{"--version"}, 2, NULL, NULL, NULL},
    {{"--log.level=debug", "--help"}, 1, NULL, NULL, NULL},
    {{"--help", "--bogus"}, 1, NULL, NULL, NULL},
    {{"--monitor.interval=5x", "--version"}, 2, NULL, NULL, NULL},
    {{"--bogus", "--help"}, -EINVAL, NULL, NULL, "unknown flag --bogus"},
    {{"--help=yes"}, -EINVAL, NULL, NULL, "--help takes no value"},
    /* errors name the flag */
    {{"--bogus"}, -EINVAL, NULL, NULL, "unknown flag --bogus"},
    {{"--bogus=1"}, -EINVAL, NULL, NULL, "unknown flag --bogus"},
    {{"--log-level=debug"}, -EINVAL, NULL, NULL, "unknown flag --log-level"},
    {{"--log.level"}, -EINVAL, NULL, NULL, "--log.level: missing value"},
    {{"--log.level", "--log.format=json"}, -EINVAL, NULL, NULL, "--log.level: missing value"},
    {{"--log.level=loud"}, -EINVAL, NULL, NULL, "--log.level: bad log level \"loud\""},
    {{"--log.format=xml"}, -EINVAL, NULL, NULL, "--log.format: bad log format \"xml\""},
    {{"--monitor.interval=5x"}, -EINVAL, NULL, NULL, "--monitor.interval: bad duration \"5x\""},
    {{"--monitor.interval", "10ms"},
     -EINVAL,
     NULL,
     NULL,
     "--monitor.interval: 10ms is out of range"},
    {{"--monitor.interval="}, -EINVAL, NULL, NULL, "--monitor.interval: bad duration \"\""},
    {{"positional"}, -EINVAL, NULL, NULL, "unexpected argument \"positional\""},
    {{"-h"}, -EINVAL, NULL, NULL, "unexpected argument \"-h\""},
    {{"---log.level=info"}, -EINVAL, NULL, NULL, "unexpected argument \"---log.level=info\""},
    {{"--", "x"}, -EINVAL, NULL, NULL, "unexpected argument \"x\""},
    {{"--exporter.stdout", "false"}, -EINVAL, NULL, NULL, "unexpected argument \"false\""},
    {{"--exporter.stdout=maybe"}, -EINVAL, NULL, NULL, "--exporter.stdout: bad boolean \"maybe\""},
    {{"--kube.enable="}, -EINVAL, NULL, NULL, "--kube.enable: bad boolean \"\""},
    {{"--web.listen-address=nope"},
     -EINVAL,
     NULL,
     NULL,
     "--web.listen-address: bad listen address \"nope\""},
    {{"--web.listen-address=:1", "--web.listen-address=:2", "--web.listen-address=:3",
      "--web.listen-address=:4", "--web.listen-address=:5", "--web.listen-address=:6",
      "--web.listen-address=:7", "--web.listen-address=:8", "--web.listen-address=:9"},
     -EINVAL,
     NULL,
     NULL,
     "--web.listen-address: too many listen addresses (at most 8)"},
    {{"--power.source=auto,rapl"},
     -EINVAL,
     NULL,
     NULL,
     "--power.source: \"auto\" cannot be combined"},
    {{"--power.source="}, -EINVAL, NULL, NULL, "--power.source: empty list"},
    {{"--power.source=gpu"}, -EINVAL, NULL, NULL, "--power.source: unknown power source \"gpu\""},
    {{"--metrics=node,,pod"}, -EINVAL, NULL, NULL, "--metrics: unknown metrics level \"\""},
    {{"--activity.source=bpf"}, -EINVAL, NULL, NULL, "--activity.source: unknown activity source"},
    {{"--kube.kubelet-url=kubelet:10250"}, -EINVAL, NULL, NULL, "--kube.kubelet-url: bad URL"},
    {{"--kube.node-name"}, -EINVAL, NULL, NULL, "--kube.node-name: missing value"},
    {{"--web.header-timeout=0.5s"},
     -EINVAL,
     NULL,
     NULL,
     "--web.header-timeout: 0.5s is out of range (1s to 1h)"},
    {{"--host.sysfs="}, -EINVAL, NULL, NULL, "--host.sysfs: must not be empty"},
    {{"--config.file"}, -EINVAL, NULL, NULL, "--config.file: missing value"},
    {{"--config.file="}, -EINVAL, NULL, NULL, "--config.file: missing value"},
    {{"--config.file=/nonexistent/kepler.yaml"},
     -ENOENT,
     NULL,
     NULL,
     "/nonexistent/kepler.yaml: No such file or directory"},
};

static int run_load(struct kepler_config *cfg, const char *const *args, char *err, size_t errsz)
{
	char *argv[16] = {"kepler"};
	int argc = 1;

	for (; args[argc - 1]; argc++)
		argv[argc] = (char *)args[argc - 1];
	return config_load(cfg, argc, argv, err, errsz);
}

static void test_flags(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(flag_cases); i++) {
		const struct flag_case *c = &flag_cases[i];
		struct kepler_config cfg;
		char err[512] = "";
		FILE *saved = stdout;
		int r;

		memset(&cfg, 0xa5, sizeof(cfg));  /* config_load must not read what was there */
		stdout = fopen("/dev/null", "w"); /* --help prints usage */
		assert_non_null(stdout);
		r = run_load(&cfg, c->argv, err, sizeof(err));
		fclose(stdout);
		stdout = saved;
		if (r != c->ret)
			fail_msg("case %zu (%s ...): returned %d \"%s\"; want %d", i,
				 c->argv[0] ? c->argv[0] : "", r, err, c->ret);
		if (r == 0) {
			if (!streq(value_of(&cfg, c->key), c->value))
				fail_msg("case %zu (%s): %s = %s; want %s", i, c->argv[0], c->key,
					 value_of(&cfg, c->key), c->value);
			assert_string_equal(err, "");
			config_free(&cfg);
		} else {
			/* On any non-zero return the struct was freed and zeroed */
			assert_null(cfg.host_sysfs);
			assert_null(cfg.config_file);
			assert_int_equal(cfg.n_listen, 0);
			if (c->err && !strstr(err, c->err))
				fail_msg("case %zu (%s): error \"%s\"; want \"%s\"", i, c->argv[0],
					 err, c->err);
			if (r > 0)
				assert_string_equal(err, "");
			assert_null(strchr(err, '\n'));
		}
	}
}

static void test_usage(void **state)
{
	static const char *const want[] = {
	    "--config.file=PATH",
	    "--log.level=LEVEL",
	    "(default: info)",
	    "--log.format=FORMAT",
	    "(default: text)",
	    "--host.sysfs=PATH",
	    "(default: /sys)",
	    "--host.procfs=PATH",
	    "(default: /proc)",
	    "--monitor.interval=DURATION",
	    "(default: 5s)",
	    "--web.listen-address=ADDR",
	    "(default: :28282)",
	    "--web.config-file=PATH",
	    "--exporter.stdout ",
	    "(default: false)",
	    "--metrics=LEVELS",
	    "(default: node,process,container,pod,vm)",
	    "--kube.enable ",
	    "--kube.node-name=NAME",
	    "--kube.kubelet-url=URL",
	    "--power.source=SOURCES",
	    "(default: auto)",
	    "--activity.source=SOURCE",
	    "--activity.max-processes=N",
	    "(default: 32768)",
	    "--web.header-timeout=DURATION",
	    "(default: 3s)",
	    "--power.passthrough.path=PATH",
	    "(default: /var/lib/kepler/host)",
	    "--vm.passthrough.dir=PATH",
	    "--version",
	    "--help",
	};
	char *text = NULL;
	size_t len = 0, lines = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	config_print_usage(f);
	fclose(f);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		if (!strstr(text, want[i]))
			fail_msg("usage lacks \"%s\":\n%s", want[i], text);
	for (char *p = text; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 2 + 23); /* two header lines, one per flag */
	free(text);
}

/* Temp files for the config-file cases */
static char tmpdir[PATH_MAX];

static void tmp_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
}

static void write_tmp(const char *name, const char *data, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	tmp_path(path, sizeof(path), name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/kepler-test-config-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	static const char *const names[] = {"file.yaml", "bad.yaml", "empty.yaml", "big.yaml",
					    "full.yaml"};
	char path[PATH_MAX];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		tmp_path(path, sizeof(path), names[i]);
		unlink(path);
	}
	tmp_path(path, sizeof(path), "dir.yaml");
	rmdir(path);
	rmdir(tmpdir);
	return 0;
}

static void test_file_and_flags(void **state)
{
	static const char y[] = "log: {level: debug}\n"
				"monitor: {interval: 10s}\n"
				"web: {listenAddresses: [\":1\", \":2\"]}\n"
				"exporter: {stdout: {enabled: true}}\n";
	struct kepler_config cfg;
	char path[PATH_MAX], opt[PATH_MAX + 32], err[512];

	(void)state;
	write_tmp("file.yaml", y, strlen(y));
	tmp_path(path, sizeof(path), "file.yaml");
	snprintf(opt, sizeof(opt), "--config.file=%s", path);

	/* The file alone */
	{
		const char *a[] = {opt, NULL};

		assert_int_equal(run_load(&cfg, a, err, sizeof(err)), 0);
		assert_string_equal(cfg.config_file, path);
		assert_int_equal(cfg.log_level, LOG_LEVEL_DEBUG);
		assert_int_equal(cfg.interval_ns, 10000000000ULL);
		assert_string_equal(value_of(&cfg, "web.listenAddresses"), "[:1, :2]");
		assert_true(cfg.stdout_enabled);
		config_free(&cfg);
	}
	/* Flags win over the file wherever they stand, the file keeps the rest */
	{
		const char *a[] = {"--log.level=error",
				   "--web.listen-address",
				   ":3",
				   "--config.file",
				   path,
				   "--exporter.stdout=false",
				   NULL};

		assert_int_equal(run_load(&cfg, a, err, sizeof(err)), 0);
		assert_int_equal(cfg.log_level, LOG_LEVEL_ERROR);
		assert_int_equal(cfg.interval_ns, 10000000000ULL);
		assert_string_equal(value_of(&cfg, "web.listenAddresses"), "[:3]");
		assert_false(cfg.stdout_enabled);
		config_free(&cfg);
	}
	/* The last --config.file counts */
	{
		const char *a[] = {"--config.file=/nonexistent.yaml", opt, NULL};

		assert_int_equal(run_load(&cfg, a, err, sizeof(err)), 0);
		assert_int_equal(cfg.log_level, LOG_LEVEL_DEBUG);
		config_free(&cfg);
	}
	/* Reload: the same argv twice gives equal configs */
	{
		const char *a[] = {opt, "--monitor.interval=2s", NULL};
		struct kepler_config again;

		assert_int_equal(run_load(&cfg, a, err, sizeof(err)), 0);
		assert_int_equal(run_load(&again, a, err, sizeof(err)), 0);
		assert_int_equal(config_diff(&cfg, &again, NULL, 0), 0);
		config_free(&cfg);
		config_free(&again);
	}
}

static void test_file_errors(void **state)
{
	static const char bad[] = "log:\n  level: info\nmonitor:\n  intervall: 5s\n";
	static const char comments[] = "# nothing here\n\n# at all\n";
	struct kepler_config cfg;
	char path[PATH_MAX], opt[PATH_MAX + 32], want[PATH_MAX + 64], err[512];
	const char *a[] = {opt, NULL};
	char *big;

	(void)state;
	/* A YAML error carries path:line:col */
	write_tmp("bad.yaml", bad, strlen(bad));
	tmp_path(path, sizeof(path), "bad.yaml");
	snprintf(opt, sizeof(opt), "--config.file=%s", path);
	assert_int_equal(run_load(&cfg, a, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:4:3: unknown key \"monitor.intervall\"", path);
	assert_string_equal(err, want);
	assert_null(cfg.host_sysfs);

	/* Empty and comment-only files are the defaults */
	write_tmp("empty.yaml", comments, strlen(comments));
	tmp_path(path, sizeof(path), "empty.yaml");
	snprintf(opt, sizeof(opt), "--config.file=%s", path);
	assert_int_equal(run_load(&cfg, a, err, sizeof(err)), 0);
	assert_int_equal(cfg.interval_ns, 5000000000ULL);
	config_free(&cfg);
	write_tmp("empty.yaml", "", 0);
	assert_int_equal(run_load(&cfg, a, err, sizeof(err)), 0);
	config_free(&cfg);

	/* A directory is not a file */
	tmp_path(path, sizeof(path), "dir.yaml");
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(opt, sizeof(opt), "--config.file=%s", path);
	assert_int_equal(run_load(&cfg, a, err, sizeof(err)), -EISDIR);
	snprintf(want, sizeof(want), "%s: Is a directory", path);
	assert_string_equal(err, want);

	/* Missing */
	tmp_path(path, sizeof(path), "missing.yaml");
	snprintf(opt, sizeof(opt), "--config.file=%s", path);
	assert_int_equal(run_load(&cfg, a, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);

	/* Unreasonably large: refused before parsing */
	big = malloc(2 * 1024 * 1024);
	assert_non_null(big);
	memset(big, '#', 2 * 1024 * 1024);
	write_tmp("big.yaml", big, 2 * 1024 * 1024);
	free(big);
	tmp_path(path, sizeof(path), "big.yaml");
	snprintf(opt, sizeof(opt), "--config.file=%s", path);
	assert_int_equal(run_load(&cfg, a, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "file too large"));

	/* The full example file through the file path */
	write_tmp("full.yaml", full_yaml, strlen(full_yaml));
	tmp_path(path, sizeof(path), "full.yaml");
	snprintf(opt, sizeof(opt), "--config.file=%s", path);
	assert_int_equal(run_load(&cfg, a, err, sizeof(err)), 0);
	assert_int_equal(cfg.max_processes, 50);
	config_free(&cfg);
}

static void test_reload_diff(void **state)
{
	static const char *const reloadable[] = {
	    "log.level",
	    "log.format",
	    "monitor.interval",
	    "power.idle.package",
	    "power.idle.core",
	    "power.idle.uncore",
	    "power.idle.dram",
	    "power.idle.psys",
	    "exporter.stdout.enabled",
	    "exporter.prometheus.metricsLevel",
	    "exporter.prometheus.maxProcesses",
	};
	static const char y[] = "monitor: {interval: 1s}\nhost: {sysfs: /host/sys}\n";
	struct kepler_config a, b;
	const char *keys[1];
	char err[256], buf[4];
	size_t n_reloadable = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(all_keys); i++) {
		bool want = false;

		for (size_t j = 0; j < ARRAY_SIZE(reloadable); j++)
			want |= streq(all_keys[i], reloadable[j]);
		n_reloadable += want;
		if (config_key_reloadable(all_keys[i]) != want)
			fail_msg("config_key_reloadable(%s) != %d", all_keys[i], want);
	}
	assert_int_equal(n_reloadable, ARRAY_SIZE(reloadable));
	assert_false(config_key_reloadable("nope"));

	assert_int_equal(config_defaults(&a), 0);
	assert_int_equal(config_defaults(&b), 0);
	assert_int_equal(config_diff(&a, &b, keys, 1), 0);
	assert_int_equal(config_parse_yaml(&b, y, strlen(y), err, sizeof(err)), 0);
	/* Two differ; only the first fits */
	assert_int_equal(config_diff(&a, &b, keys, 1), 2);
	assert_string_equal(keys[0], "host.sysfs");

	assert_int_equal(config_format_value(&a, "nope", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(config_format_value(&a, "host.procfs", buf, sizeof(buf)), -ENAMETOOLONG);
	config_free(&a);
	config_free(&b);
}

static void test_names(void **state)
{
	enum power_source ps;
	enum activity_source as;
	enum metrics_level ml;

	(void)state;
	for (int s = 0; s < POWER_SOURCE_MAX; s++) {
		assert_int_equal(power_source_from_string(power_source_to_string(s), &ps), 0);
		assert_int_equal(ps, s);
	}
	assert_int_equal(power_source_from_string("nvml", &ps), -EINVAL);
	assert_string_equal(power_source_to_string(POWER_SOURCE_MAX), "unknown");
	for (int s = ACTIVITY_SOURCE_AUTO; s <= ACTIVITY_SOURCE_PROCFS; s++) {
		assert_int_equal(activity_source_from_string(activity_source_to_string(s), &as), 0);
		assert_int_equal(as, s);
	}
	assert_int_equal(activity_source_from_string("kprobe", &as), -EINVAL);
	for (unsigned b = 1; b < METRICS_ALL; b <<= 1) {
		assert_int_equal(metrics_level_from_string(metrics_level_to_string(b), &ml), 0);
		assert_int_equal(ml, b);
	}
	assert_string_equal(metrics_level_to_string(METRICS_POD), "pod");
	assert_string_equal(metrics_level_to_string(METRICS_ALL), "unknown");
}

/*
 * docs/configuration.md holds config_print_key_table's output between these
 * two lines; the table is not edited by hand.
 */
#define DOC_PATH FIXTURES "/../../docs/configuration.md"
#define DOC_BEGIN                                                                                  \
	"<!-- BEGIN key table: generated from src/config.c, see tests/unit/test_config.c -->\n"
#define DOC_END "<!-- END key table -->\n"

static void test_docs_key_table(void **state)
{
	char *doc = NULL, *table = NULL, *begin, *end;
	size_t doc_len = 0, table_len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(read_file_alloc(DOC_PATH, 1024 * 1024, &doc, &doc_len), 0);
	f = open_memstream(&table, &table_len);
	assert_non_null(f);
	assert_int_equal(config_print_key_table(f), 0);
	fclose(f);
	/* Every key has its row */
	for (size_t i = 0; i < ARRAY_SIZE(all_keys); i++) {
		char row[128];

		snprintf(row, sizeof(row), "| `%s` |", all_keys[i]);
		if (!strstr(table, row))
			fail_msg("no row for %s in:\n%s", all_keys[i], table);
	}

	begin = strstr(doc, DOC_BEGIN);
	end = begin ? strstr(begin, DOC_END) : NULL;
	if (!begin || !end)
		fail_msg("%s lacks the lines\n%s...\n%s", DOC_PATH, DOC_BEGIN, DOC_END);
	begin += strlen(DOC_BEGIN);
	if ((size_t)(end - begin) == table_len && memcmp(begin, table, table_len) == 0) {
		free(doc);
		free(table);
		return;
	}
	if (getenv("KEPLER_UPDATE_DOCS")) {
		f = fopen(DOC_PATH, "w");
		assert_non_null(f);
		fwrite(doc, 1, (size_t)(begin - doc), f);
		fwrite(table, 1, table_len, f);
		fputs(end, f);
		assert_int_equal(fclose(f), 0);
		print_message("rewrote the key table in %s\n", DOC_PATH);
	} else {
		fail_msg("the key table in docs/configuration.md differs from src/config.c; "
			 "regenerate it with KEPLER_UPDATE_DOCS=1 build/tests/unit/test_config "
			 "and review the diff. The table is:\n%s",
			 table);
	}
	free(doc);
	free(table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_yaml_good),
	    cmocka_unit_test(test_yaml_every_key),
	    cmocka_unit_test(test_every_key_round_trips),
	    cmocka_unit_test(test_yaml_bad),
	    cmocka_unit_test(test_kepler_011_file),
	    cmocka_unit_test(test_yaml_error_prefix_and_truncation),
	    cmocka_unit_test(test_yaml_alias),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_usage),
	    cmocka_unit_test(test_file_and_flags),
	    cmocka_unit_test(test_file_errors),
	    cmocka_unit_test(test_reload_diff),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_docs_key_table),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
