// SPDX-License-Identifier: Apache-2.0
/*
 * Configuration: defaults, the YAML file (libyaml document API) and the flags.
 * Every key has one setter that validates a textual value; the YAML walker and
 * the flag parser both go through it, so a value means the same thing in the
 * file and on the command line and the error text only differs in its prefix.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "util/duration.h"
#include "util/fileio.h"
#include "util/listenaddr.h"
#include "util/strbuf.h"
#include "util/util.h"
#include "util/yamlutil.h"

/* Largest config file accepted: a real one is a few hundred bytes. */
#define CONFIG_FILE_MAX (1024 * 1024)
/* Longest YAML sequence accepted for any list key (each key has its own smaller limit). */
#define LIST_MAX 64

#define INTERVAL_MIN_NS (100 * 1000000ULL)
#define INTERVAL_MAX_NS (3600 * 1000000000ULL)

/*
 * Estimator defaults: Cloud Carbon Footprint methodology, "Compute" section,
 * AWS average over the CPU micro-architectures it uses, per vCPU, derived from
 * the SPECpower_ssj2008 results. See docs/configuration.md.
 */
#define ESTIMATOR_IDLE_WATTS_PER_CPU 0.74
#define ESTIMATOR_MAX_WATTS_PER_CPU 3.5

static const char *const power_source_names[] = {
    [POWER_SOURCE_AUTO] = "auto", [POWER_SOURCE_RAPL] = "rapl",
    [POWER_SOURCE_PERF] = "perf", [POWER_SOURCE_HWMON] = "hwmon",
    [POWER_SOURCE_ACPI] = "acpi", [POWER_SOURCE_ESTIMATOR] = "estimator",
};

static const char *const activity_source_names[] = {
    [ACTIVITY_SOURCE_AUTO] = "auto",
    [ACTIVITY_SOURCE_EBPF] = "ebpf",
    [ACTIVITY_SOURCE_PROCFS] = "procfs",
};

/* Bit i of enum metrics_level */
static const char *const metrics_level_names[] = {"node", "process", "container", "pod", "vm"};

const char *power_source_to_string(enum power_source s)
{
	if ((unsigned)s >= ARRAY_SIZE(power_source_names))
		return "unknown";
	return power_source_names[s];
}

const char *activity_source_to_string(enum activity_source s)
{
	if ((unsigned)s >= ARRAY_SIZE(activity_source_names))
		return "unknown";
	return activity_source_names[s];
}

const char *metrics_level_to_string(enum metrics_level l)
{
	for (size_t i = 0; i < ARRAY_SIZE(metrics_level_names); i++)
		if ((unsigned)l == 1u << i)
			return metrics_level_names[i];
	return "unknown";
}

int power_source_from_string(const char *s, enum power_source *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(power_source_names); i++)
		if (streq(s, power_source_names[i])) {
			*ret = (enum power_source)i;
			return 0;
		}
	return -EINVAL;
}

int activity_source_from_string(const char *s, enum activity_source *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(activity_source_names); i++)
		if (streq(s, activity_source_names[i])) {
			*ret = (enum activity_source)i;
			return 0;
		}
	return -EINVAL;
}

int metrics_level_from_string(const char *s, enum metrics_level *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(metrics_level_names); i++)
		if (streq(s, metrics_level_names[i])) {
			*ret = (enum metrics_level)(1u << i);
			return 0;
		}
	return -EINVAL;
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
	    .estimator_idle_watts_per_cpu = ESTIMATOR_IDLE_WATTS_PER_CPU,
	    .estimator_max_watts_per_cpu = ESTIMATOR_MAX_WATTS_PER_CPU,
	    .activity_source = ACTIVITY_SOURCE_AUTO,
	    .prometheus_enabled = true,
	    .metrics_levels = METRICS_ALL,
	    .max_processes = 200,
	    .n_listen = 1,
	    .activity_max_processes = 32768,
	    .web_max_connections = 64,
	    .web_max_connections_per_ip = 16,
	    .web_connection_timeout_ns = 10000000000ULL,
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
	if (!cfg)
		return;
	free(cfg->config_file);
	free(cfg->host_sysfs);
	free(cfg->host_procfs);
	free(cfg->web_config_file);
	for (size_t i = 0; i < cfg->n_listen && i < CONFIG_MAX_LISTEN; i++)
		free(cfg->listen_addresses[i]);
	free(cfg->kube_node_name);
	free(cfg->kube_kubelet_url);
	free(cfg->kube_token_file);
	free(cfg->kube_ca_file);
	memset(cfg, 0, sizeof(*cfg));
}

/* Keys: one setter per key, shared by the YAML walker and the flags. */

enum key_id {
	K_LOG_LEVEL,
	K_LOG_FORMAT,
	K_HOST_SYSFS,
	K_HOST_PROCFS,
	K_INTERVAL,
	K_MAX_TERMINATED,
	K_SOURCES,
	K_IDLE_ZONE, /* + zone, ZONE_MAX of them */
	K_EST_IDLE = K_IDLE_ZONE + ZONE_MAX,
	K_EST_MAX,
	K_ACTIVITY,
	K_ACTIVITY_MAX,
	K_RAPL_ZONES,
	K_STDOUT,
	K_PROMETHEUS,
	K_METRICS,
	K_MAX_PROCESSES,
	K_WEB_CONFIG,
	K_LISTEN,
	K_WEB_MAX_CONN,
	K_WEB_MAX_CONN_IP,
	K_WEB_TIMEOUT,
	K_KUBE_ENABLED,
	K_KUBE_NODE,
	K_KUBE_URL,
	K_KUBE_TOKEN,
	K_KUBE_CA,
	K_KUBE_INSECURE,
	K_MAX,
};

struct leaf;

/* Validate v and store it; on error write what is wrong (without the key) into msg. */
typedef int (*set_fn)(struct kepler_config *cfg, const struct leaf *l, const char *v, char *msg,
		      size_t msz);
/* Same for a list; *ret_bad is the index of the offending item when one is to blame. */
typedef int (*set_list_fn)(struct kepler_config *cfg, const char *const *v, size_t n,
			   size_t *ret_bad, char *msg, size_t msz);

struct leaf {
	const char *path;
	set_fn set;	      /* scalar keys */
	set_list_fn set_list; /* sequence keys */
	size_t off;	      /* field for the generic setters */
	int arg;	      /* setter specific */
	bool reloadable;      /* applied by main.c on SIGHUP */
};

static int msgf(char *msg, size_t msz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int msgf(char *msg, size_t msz, const char *fmt, ...)
{
	va_list ap;

	if (msz) {
		va_start(ap, fmt);
		vsnprintf(msg, msz, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Errors are one line: a value quoted in a message may hold a newline or worse. */
static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

#define FIELD(cfg, l, type) ((type *)((char *)(cfg) + (l)->off))

static int replace_str(char **p, const char *v, bool empty_is_null)
{
	char *n = NULL;

	if (!(empty_is_null && !*v)) {
		n = strdup(v);
		if (!n)
			return -ENOMEM;
	}
	free(*p);
	*p = n;
	return 0;
}

/* arg: 1 = may be empty (stored as NULL) */
static int set_str(struct kepler_config *cfg, const struct leaf *l, const char *v, char *msg,
		   size_t msz)
{
	if (!*v && !l->arg)
		return msgf(msg, msz, "must not be empty");
	return replace_str(FIELD(cfg, l, char *), v, true);
}

static int set_url(struct kepler_config *cfg, const struct leaf *l, const char *v, char *msg,
		   size_t msz)
{
	if (*v && !(startswith(v, "http://") && v[7]) && !(startswith(v, "https://") && v[8]))
		return msgf(msg, msz, "bad URL \"%s\" (must start with http:// or https://)", v);
	return replace_str(FIELD(cfg, l, char *), v, true);
}

static int parse_bool(const char *v, bool *ret)
{
	static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no",
									       "off"};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int set_bool(struct kepler_config *cfg, const struct leaf *l, const char *v, char *msg,
		    size_t msz)
{
	bool b;

	if (parse_bool(v, &b) < 0)
		return msgf(msg, msz, "bad boolean \"%s\" (true/false, yes/no, on/off)", v);
	*FIELD(cfg, l, bool) = b;
	return 0;
}

/* arg: the minimum accepted value */
static int set_u32(struct kepler_config *cfg, const struct leaf *l, const char *v, char *msg,
		   size_t msz)
{
	uint64_t u;
	int r;

	if (!isdigit((unsigned char)*v))
		return msgf(msg, msz, "bad integer \"%s\"", v);
	r = parse_u64(v, &u);
	if (r == -ERANGE || (r == 0 && u > UINT32_MAX))
		return msgf(msg, msz, "integer \"%s\" is too large (at most %" PRIu32 ")", v,
			    UINT32_MAX);
	if (r < 0)
		return msgf(msg, msz, "bad integer \"%s\"", v);
	if (u < (uint64_t)l->arg)
		return msgf(msg, msz, "%s is below the minimum %d", v, l->arg);
	*FIELD(cfg, l, uint32_t) = (uint32_t)u;
	return 0;
}

/* arg: 1 = "auto" is accepted and stored as -1 (learn the value) */
static int set_watts(struct kepler_config *cfg, const struct leaf *l, const char *v, char *msg,
		     size_t msz)
{
	char *end;
	double d;

	if (l->arg && streq(v, "auto")) {
		*FIELD(cfg, l, double) = -1;
		return 0;
	}
	/* strtod also takes hex, "inf" and "nan": accept plain decimal notation only */
	for (const char *c = v; *c; c++)
		if (!isdigit((unsigned char)*c) && !strchr(".eE+-", *c))
			return msgf(msg, msz, "bad watts \"%s\"", v);
	errno = 0;
	d = strtod(v, &end);
	if (!*v || *end || end == v || errno == ERANGE || !isfinite(d))
		return msgf(msg, msz, "bad watts \"%s\"", v);
	if (d < 0)
		return msgf(msg, msz, "negative watts \"%s\"", v);
	*FIELD(cfg, l, double) = d;
	return 0;
}

static int set_log_level(struct kepler_config *cfg, const struct leaf *l, const char *v, char *msg,
			 size_t msz)
{
	(void)l;
	if (log_level_from_string(v, &cfg->log_level) < 0)
		return msgf(msg, msz, "bad log level \"%s\" (error, warn, info, debug)", v);
	return 0;
}

static int set_log_format(struct kepler_config *cfg, const struct leaf *l, const char *v, char *msg,
			  size_t msz)
{
	(void)l;
	if (log_format_from_string(v, &cfg->log_format) < 0)
		return msgf(msg, msz, "bad log format \"%s\" (text, json)", v);
	return 0;
}

/* arg: index into duration_ranges */
static const struct {
	uint64_t min_ns, max_ns;
	const char *text;
} duration_ranges[] = {
    {INTERVAL_MIN_NS, INTERVAL_MAX_NS, "100ms to 1h"},
    {1000000000ULL, 3600000000000ULL, "1s to 1h"},
};

static int set_duration(struct kepler_config *cfg, const struct leaf *l, const char *v, char *msg,
			size_t msz)
{
	uint64_t ns;
	int r;

	r = parse_duration(v, &ns);
	if (r == -ERANGE)
		return msgf(msg, msz, "duration \"%s\" is too large", v);
	if (r < 0)
		return msgf(msg, msz, "bad duration \"%s\"", v);
	if (ns < duration_ranges[l->arg].min_ns || ns > duration_ranges[l->arg].max_ns)
		return msgf(msg, msz, "%s is out of range (%s)", v, duration_ranges[l->arg].text);
	*FIELD(cfg, l, uint64_t) = ns;
	return 0;
}

static int set_activity(struct kepler_config *cfg, const struct leaf *l, const char *v, char *msg,
			size_t msz)
{
	(void)l;
	if (activity_source_from_string(v, &cfg->activity_source) < 0)
		return msgf(msg, msz, "unknown activity source \"%s\" (auto, ebpf, procfs)", v);
	return 0;
}

static int set_sources(struct kepler_config *cfg, const char *const *v, size_t n, size_t *ret_bad,
		       char *msg, size_t msz)
{
	enum power_source s[CONFIG_MAX_SOURCES];

	if (n == 0)
		return msgf(msg, msz, "empty list (use [auto])");
	if (n > CONFIG_MAX_SOURCES)
		return msgf(msg, msz, "too many sources (at most %d)", CONFIG_MAX_SOURCES);
	for (size_t i = 0; i < n; i++) {
		*ret_bad = i;
		if (power_source_from_string(v[i], &s[i]) < 0)
			return msgf(msg, msz,
				    "unknown power source \"%s\" (auto, rapl, perf, hwmon, acpi, "
				    "estimator)",
				    v[i]);
		if (s[i] == POWER_SOURCE_AUTO && n > 1)
			return msgf(msg, msz, "\"auto\" cannot be combined with other sources");
		for (size_t j = 0; j < i; j++)
			if (s[j] == s[i])
				return msgf(msg, msz, "duplicate source \"%s\"", v[i]);
	}
	memcpy(cfg->sources, s, n * sizeof(s[0]));
	cfg->n_sources = n;
	return 0;
}

static int set_zones(struct kepler_config *cfg, const char *const *v, size_t n, size_t *ret_bad,
		     char *msg, size_t msz)
{
	uint32_t mask = 0;

	for (size_t i = 0; i < n; i++) {
		int z = zone_from_name(v[i]);

		*ret_bad = i;
		if (z < 0)
			return msgf(msg, msz,
				    "unknown zone \"%s\" (package, core, uncore, dram, psys)",
				    v[i]);
		mask |= ZONE_BIT(z);
	}
	cfg->rapl_zones = mask;
	return 0;
}

static int set_metrics(struct kepler_config *cfg, const char *const *v, size_t n, size_t *ret_bad,
		       char *msg, size_t msz)
{
	/* Node-level series are always exported: the other levels are shares of them. */
	uint32_t mask = METRICS_NODE;

	for (size_t i = 0; i < n; i++) {
		enum metrics_level m;

		*ret_bad = i;
		if (metrics_level_from_string(v[i], &m) < 0)
			return msgf(
			    msg, msz,
			    "unknown metrics level \"%s\" (node, process, container, pod, vm)",
			    v[i]);
		mask |= m;
	}
	cfg->metrics_levels = mask;
	return 0;
}

static int set_listen(struct kepler_config *cfg, const char *const *v, size_t n, size_t *ret_bad,
		      char *msg, size_t msz)
{
	char *a[CONFIG_MAX_LISTEN] = {0};

	if (n == 0)
		return msgf(msg, msz, "empty list (at least one address)");
	if (n > CONFIG_MAX_LISTEN)
		return msgf(msg, msz, "too many listen addresses (at most %d)", CONFIG_MAX_LISTEN);
	for (size_t i = 0; i < n; i++) {
		char host[256];
		uint16_t port;

		*ret_bad = i;
		if (parse_listen_address(v[i], host, sizeof(host), &port) < 0 || port == 0)
			return msgf(
			    msg, msz,
			    "bad listen address \"%s\" (want host:port, :port or [v6]:port, "
			    "port 1-65535)",
			    v[i]);
	}
	for (size_t i = 0; i < n; i++) {
		a[i] = strdup(v[i]);
		if (!a[i]) {
			for (size_t j = 0; j < i; j++)
				free(a[j]);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < cfg->n_listen; i++)
		free(cfg->listen_addresses[i]);
	memcpy(cfg->listen_addresses, a, sizeof(a));
	cfg->n_listen = n;
	return 0;
}

#define OFF(f) offsetof(struct kepler_config, f)
#define IDLE_LEAF(z, name)                                                                         \
	[K_IDLE_ZONE + (z)] = {                                                                    \
	    "power.idle." name, set_watts, NULL, OFF(idle_watts) + (z) * sizeof(double), 1, true}

static const struct leaf leaves[K_MAX] = {
    [K_LOG_LEVEL] = {"log.level", set_log_level, NULL, 0, 0, true},
    [K_LOG_FORMAT] = {"log.format", set_log_format, NULL, 0, 0, true},
    [K_HOST_SYSFS] = {"host.sysfs", set_str, NULL, OFF(host_sysfs), 0, false},
    [K_HOST_PROCFS] = {"host.procfs", set_str, NULL, OFF(host_procfs), 0, false},
    [K_INTERVAL] = {"monitor.interval", set_duration, NULL, OFF(interval_ns), 0, true},
    [K_MAX_TERMINATED] = {"monitor.maxTerminated", set_u32, NULL, OFF(max_terminated), 0, false},
    [K_SOURCES] = {"power.sources", NULL, set_sources, 0, 0, false},
    IDLE_LEAF(ZONE_PACKAGE, "package"),
    IDLE_LEAF(ZONE_CORE, "core"),
    IDLE_LEAF(ZONE_UNCORE, "uncore"),
    IDLE_LEAF(ZONE_DRAM, "dram"),
    IDLE_LEAF(ZONE_PSYS, "psys"),
    [K_EST_IDLE] = {"power.estimator.idleWattsPerCPU", set_watts, NULL,
		    OFF(estimator_idle_watts_per_cpu), 0, false},
    [K_EST_MAX] = {"power.estimator.maxWattsPerCPU", set_watts, NULL,
		   OFF(estimator_max_watts_per_cpu), 0, false},
    [K_ACTIVITY] = {"activity.source", set_activity, NULL, 0, 0, false},
    [K_ACTIVITY_MAX] = {"activity.maxProcesses", set_u32, NULL, OFF(activity_max_processes), 64,
			false},
    [K_RAPL_ZONES] = {"rapl.zones", NULL, set_zones, 0, 0, false},
    [K_STDOUT] = {"exporter.stdout.enabled", set_bool, NULL, OFF(stdout_enabled), 0, true},
    [K_PROMETHEUS] = {"exporter.prometheus.enabled", set_bool, NULL, OFF(prometheus_enabled), 0,
		      false},
    [K_METRICS] = {"exporter.prometheus.metricsLevel", NULL, set_metrics, 0, 0, true},
    [K_MAX_PROCESSES] = {"exporter.prometheus.maxProcesses", set_u32, NULL, OFF(max_processes), 1,
			 true},
    [K_WEB_CONFIG] = {"web.configFile", set_str, NULL, OFF(web_config_file), 1, false},
    [K_LISTEN] = {"web.listenAddresses", NULL, set_listen, 0, 0, false},
    [K_WEB_MAX_CONN] = {"web.maxConnections", set_u32, NULL, OFF(web_max_connections), 1, false},
    [K_WEB_MAX_CONN_IP] = {"web.maxConnectionsPerIP", set_u32, NULL,
			   OFF(web_max_connections_per_ip), 1, false},
    [K_WEB_TIMEOUT] = {"web.connectionTimeout", set_duration, NULL, OFF(web_connection_timeout_ns),
		       1, false},
    [K_KUBE_ENABLED] = {"kube.enabled", set_bool, NULL, OFF(kube_enabled), 0, false},
    [K_KUBE_NODE] = {"kube.nodeName", set_str, NULL, OFF(kube_node_name), 1, false},
    [K_KUBE_URL] = {"kube.kubeletURL", set_url, NULL, OFF(kube_kubelet_url), 0, false},
    [K_KUBE_TOKEN] = {"kube.tokenFile", set_str, NULL, OFF(kube_token_file), 1, false},
    [K_KUBE_CA] = {"kube.caFile", set_str, NULL, OFF(kube_ca_file), 1, false},
    [K_KUBE_INSECURE] = {"kube.insecureSkipVerify", set_bool, NULL, OFF(kube_insecure_skip_verify),
			 0, false},
};

/* Cross-key checks, after the file and after the flags. */
static int check_config(const struct kepler_config *cfg, char *msg, size_t msz)
{
	if (cfg->estimator_max_watts_per_cpu < cfg->estimator_idle_watts_per_cpu)
		return msgf(msg, msz,
			    "power.estimator: idleWattsPerCPU %g is above maxWattsPerCPU %g",
			    cfg->estimator_idle_watts_per_cpu, cfg->estimator_max_watts_per_cpu);
	return 0;
}

/* Rendering (for --help defaults, config_format_value and config_diff) */

static void put_list_sep(struct strbuf *sb, bool flag_style, size_t i)
{
	if (i > 0)
		strbuf_puts(sb, flag_style ? "," : ", ");
}

static void put_watts(struct strbuf *sb, double w)
{
	if (w < 0)
		strbuf_puts(sb, "auto");
	else
		strbuf_printf(sb, "%g", w);
}

static void render(const struct kepler_config *cfg, enum key_id k, bool flag_style,
		   struct strbuf *sb)
{
	const struct leaf *l = &leaves[k];
	char d[64];
	size_t n = 0;

	if (l->set_list && !flag_style)
		strbuf_putc(sb, '[');
	switch (k) {
	case K_LOG_LEVEL:
		strbuf_puts(sb, log_level_to_string(cfg->log_level));
		break;
	case K_LOG_FORMAT:
		strbuf_puts(sb, log_format_to_string(cfg->log_format));
		break;
	case K_INTERVAL:
	case K_WEB_TIMEOUT:
		if (format_duration(*FIELD(cfg, l, const uint64_t), d, sizeof(d)) == 0)
			strbuf_puts(sb, d);
		break;
	case K_MAX_TERMINATED:
	case K_MAX_PROCESSES:
	case K_WEB_MAX_CONN:
	case K_WEB_MAX_CONN_IP:
	case K_ACTIVITY_MAX:
		strbuf_printf(sb, "%" PRIu32, *FIELD(cfg, l, const uint32_t));
		break;
	case K_SOURCES:
		for (size_t i = 0; i < cfg->n_sources && i < CONFIG_MAX_SOURCES; i++) {
			put_list_sep(sb, flag_style, i);
			strbuf_puts(sb, power_source_to_string(cfg->sources[i]));
		}
		break;
	case K_EST_IDLE:
	case K_EST_MAX:
		put_watts(sb, *FIELD(cfg, l, const double));
		break;
	case K_ACTIVITY:
		strbuf_puts(sb, activity_source_to_string(cfg->activity_source));
		break;
	case K_RAPL_ZONES:
		for (int z = 0; z < ZONE_MAX; z++)
			if (cfg->rapl_zones & ZONE_BIT(z)) {
				put_list_sep(sb, flag_style, n++);
				strbuf_puts(sb, zone_names[z]);
			}
		break;
	case K_METRICS:
		for (size_t i = 0; i < ARRAY_SIZE(metrics_level_names); i++)
			if (cfg->metrics_levels & (1u << i)) {
				put_list_sep(sb, flag_style, n++);
				strbuf_puts(sb, metrics_level_names[i]);
			}
		break;
	case K_LISTEN:
		for (size_t i = 0; i < cfg->n_listen && i < CONFIG_MAX_LISTEN; i++) {
			put_list_sep(sb, flag_style, i);
			strbuf_puts(sb, cfg->listen_addresses[i] ? cfg->listen_addresses[i] : "");
		}
		break;
	case K_STDOUT:
	case K_PROMETHEUS:
	case K_KUBE_ENABLED:
	case K_KUBE_INSECURE:
		strbuf_puts(sb, *FIELD(cfg, l, const bool) ? "true" : "false");
		break;
	case K_HOST_SYSFS:
	case K_HOST_PROCFS:
	case K_WEB_CONFIG:
	case K_KUBE_NODE:
	case K_KUBE_URL:
	case K_KUBE_TOKEN:
	case K_KUBE_CA: {
		const char *s = *FIELD(cfg, l, char *const);

		if (!flag_style && (!s || !*s))
			strbuf_puts(sb, "\"\"");
		else
			strbuf_puts(sb, s ? s : "");
		break;
	}
	default:
		if (k >= K_IDLE_ZONE && k < K_IDLE_ZONE + ZONE_MAX)
			put_watts(sb, cfg->idle_watts[k - K_IDLE_ZONE]);
		break;
	}
	if (l->set_list && !flag_style)
		strbuf_putc(sb, ']');
}

static int key_lookup(const char *key)
{
	for (int k = 0; k < K_MAX; k++)
		if (streq(leaves[k].path, key))
			return k;
	return -1;
}

int config_format_value(const struct kepler_config *cfg, const char *key, char *buf, size_t size)
{
	struct strbuf sb = STRBUF_INIT;
	_cleanup_free_ char *s = NULL;
	int k = key_lookup(key);
	size_t len;

	if (k < 0)
		return -ENOENT;
	render(cfg, (enum key_id)k, false, &sb);
	s = strbuf_detach(&sb, &len);
	if (!s)
		return -ENOMEM;
	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(buf, s, len + 1);
	return 0;
}

bool config_key_reloadable(const char *key)
{
	int k = key_lookup(key);

	return k >= 0 && leaves[k].reloadable;
}

size_t config_diff(const struct kepler_config *a, const struct kepler_config *b,
		   const char **ret_keys, size_t n)
{
	size_t found = 0;

	for (int k = 0; k < K_MAX; k++) {
		struct strbuf sa = STRBUF_INIT, sb = STRBUF_INIT;
		bool differ;

		render(a, (enum key_id)k, false, &sa);
		render(b, (enum key_id)k, false, &sb);
		/* A failed render (no memory) counts as a change: the caller then restarts nothing
		 * it should not, it only logs. */
		differ = sa.err || sb.err || sa.len != sb.len ||
			 (sa.len && memcmp(sa.buf, sb.buf, sa.len) != 0);
		strbuf_release(&sa);
		strbuf_release(&sb);
		if (differ) {
			if (found < n)
				ret_keys[found] = leaves[k].path;
			found++;
		}
	}
	return found;
}

/* YAML */

/* The file's tree: each mapping lists its keys; a leaf names its key_id. */
struct node_spec {
	const char *name;
	const struct node_spec *children; /* NULL-name terminated; NULL for a leaf */
	enum key_id leaf;
};

#define LEAF(n, k)                                                                                 \
	{                                                                                          \
		n, NULL, k                                                                         \
	}
#define MAP(n, c)                                                                                  \
	{                                                                                          \
		n, c, K_MAX                                                                        \
	}

static const struct node_spec log_spec[] = {
    LEAF("level", K_LOG_LEVEL),
    LEAF("format", K_LOG_FORMAT),
    {0},
};
static const struct node_spec host_spec[] = {
    LEAF("sysfs", K_HOST_SYSFS),
    LEAF("procfs", K_HOST_PROCFS),
    {0},
};
static const struct node_spec monitor_spec[] = {
    LEAF("interval", K_INTERVAL),
    LEAF("maxTerminated", K_MAX_TERMINATED),
    {0},
};
static const struct node_spec idle_spec[] = {
    LEAF("package", K_IDLE_ZONE + ZONE_PACKAGE), LEAF("core", K_IDLE_ZONE + ZONE_CORE),
    LEAF("uncore", K_IDLE_ZONE + ZONE_UNCORE),	 LEAF("dram", K_IDLE_ZONE + ZONE_DRAM),
    LEAF("psys", K_IDLE_ZONE + ZONE_PSYS),	 {0},
};
static const struct node_spec estimator_spec[] = {
    LEAF("idleWattsPerCPU", K_EST_IDLE),
    LEAF("maxWattsPerCPU", K_EST_MAX),
    {0},
};
static const struct node_spec power_spec[] = {
    LEAF("sources", K_SOURCES),
    MAP("idle", idle_spec),
    MAP("estimator", estimator_spec),
    {0},
};
static const struct node_spec activity_spec[] = {
    LEAF("source", K_ACTIVITY),
    LEAF("maxProcesses", K_ACTIVITY_MAX),
    {0},
};
static const struct node_spec rapl_spec[] = {
    LEAF("zones", K_RAPL_ZONES),
    {0},
};
static const struct node_spec stdout_spec[] = {
    LEAF("enabled", K_STDOUT),
    {0},
};
static const struct node_spec prometheus_spec[] = {
    LEAF("enabled", K_PROMETHEUS),
    LEAF("metricsLevel", K_METRICS),
    LEAF("maxProcesses", K_MAX_PROCESSES),
    {0},
};
static const struct node_spec exporter_spec[] = {
    MAP("stdout", stdout_spec),
    MAP("prometheus", prometheus_spec),
    {0},
};
static const struct node_spec web_spec[] = {
    LEAF("configFile", K_WEB_CONFIG),	      LEAF("listenAddresses", K_LISTEN),
    LEAF("maxConnections", K_WEB_MAX_CONN),   LEAF("maxConnectionsPerIP", K_WEB_MAX_CONN_IP),
    LEAF("connectionTimeout", K_WEB_TIMEOUT), {0},
};
static const struct node_spec kube_spec[] = {
    LEAF("enabled", K_KUBE_ENABLED),
    LEAF("nodeName", K_KUBE_NODE),
    LEAF("kubeletURL", K_KUBE_URL),
    LEAF("tokenFile", K_KUBE_TOKEN),
    LEAF("caFile", K_KUBE_CA),
    LEAF("insecureSkipVerify", K_KUBE_INSECURE),
    {0},
};
static const struct node_spec root_spec[] = {
    MAP("log", log_spec),	    MAP("host", host_spec),
    MAP("monitor", monitor_spec),   MAP("power", power_spec),
    MAP("activity", activity_spec), MAP("rapl", rapl_spec),
    MAP("exporter", exporter_spec), MAP("web", web_spec),
    MAP("kube", kube_spec),	    {0},
};

struct yctx {
	struct kepler_config *cfg;
	yaml_document_t *doc;
	char *err;
	size_t errsz;
};

/* One line: "[file:]line:col: [key: ]message". Returns r. */
static int yfail(struct yctx *c, int r, yaml_mark_t mark, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int yfail(struct yctx *c, int r, yaml_mark_t mark, const char *key, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	int n;

	if (!c->errsz)
		return r;
	if (c->cfg->config_file)
		strbuf_printf(&sb, "%s:", c->cfg->config_file);
	strbuf_printf(&sb, "%zu:%zu: ", mark.line + 1, mark.column + 1);
	if (key)
		strbuf_printf(&sb, "%s: ", key);
	n = snprintf(c->err, c->errsz, "%s", sb.buf ? sb.buf : "");
	strbuf_release(&sb);
	if (n >= 0 && (size_t)n < c->errsz) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errsz - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* Scalar text as a C string; NULL when it holds a NUL byte (a C string cannot carry it). */
static const char *scalar_text(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (strlen(v) != n->data.scalar.length)
		return NULL;
	return yaml_node_is_null(n) ? "" : v;
}

static int walk_leaf(struct yctx *c, const yaml_node_t *v, enum key_id k)
{
	const struct leaf *l = &leaves[k];
	char msg[512];
	int r;

	if (l->set) {
		const char *s;

		if (v->type != YAML_SCALAR_NODE)
			return yfail(c, -EINVAL, v->start_mark, l->path,
				     "expected a scalar, got %s", yaml_node_kind(v));
		s = scalar_text(v);
		if (!s)
			return yfail(c, -EINVAL, v->start_mark, l->path, "value holds a NUL byte");
		r = l->set(c->cfg, l, s, msg, sizeof(msg));
		if (r == -ENOMEM)
			return yfail(c, r, v->start_mark, l->path, "out of memory");
		if (r < 0)
			return yfail(c, r, v->start_mark, l->path, "%s", msg);
		return 0;
	} else {
		const char *items[LIST_MAX];
		yaml_mark_t marks[LIST_MAX];
		size_t n = 0, bad = SIZE_MAX;

		if (v->type == YAML_SCALAR_NODE && yaml_node_is_null(v)) {
			/* "zones:" with nothing after it: an empty list */
		} else if (v->type != YAML_SEQUENCE_NODE) {
			return yfail(c, -EINVAL, v->start_mark, l->path,
				     "expected a sequence, got %s", yaml_node_kind(v));
		} else {
			for (yaml_node_item_t *it = v->data.sequence.items.start;
			     it < v->data.sequence.items.top; it++) {
				yaml_node_t *item = yaml_document_get_node(c->doc, *it);

				if (!item)
					continue;
				if (n == LIST_MAX)
					return yfail(c, -EINVAL, item->start_mark, l->path,
						     "too many entries (at most %d)", LIST_MAX);
				if (item->type != YAML_SCALAR_NODE)
					return yfail(c, -EINVAL, item->start_mark, l->path,
						     "expected a scalar list entry, got %s",
						     yaml_node_kind(item));
				items[n] = scalar_text(item);
				if (!items[n])
					return yfail(c, -EINVAL, item->start_mark, l->path,
						     "value holds a NUL byte");
				marks[n++] = item->start_mark;
			}
		}
		r = l->set_list(c->cfg, items, n, &bad, msg, sizeof(msg));
		if (r == -ENOMEM)
			return yfail(c, r, v->start_mark, l->path, "out of memory");
		if (r < 0)
			return yfail(c, r, bad < n ? marks[bad] : v->start_mark, l->path, "%s",
				     msg);
		return 0;
	}
}

static int walk_map(struct yctx *c, const yaml_node_t *m, const struct node_spec *spec,
		    const char *prefix)
{
	if (m->type == YAML_SCALAR_NODE && yaml_node_is_null(m))
		return 0; /* "idle:" with nothing after it: nothing set */
	if (m->type != YAML_MAPPING_NODE)
		return yfail(c, -EINVAL, m->start_mark, *prefix ? prefix : NULL,
			     "expected a mapping, got %s", yaml_node_kind(m));

	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(c->doc, p->value);
		const struct node_spec *s;
		const char *name;
		char path[256];
		int r;

		if (!kn || !vn)
			continue;
		if (kn->type != YAML_SCALAR_NODE)
			return yfail(c, -EINVAL, kn->start_mark, *prefix ? prefix : NULL,
				     "a key must be a scalar, got %s", yaml_node_kind(kn));
		name = (const char *)kn->data.scalar.value;
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", name);
		for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *qn = yaml_document_get_node(c->doc, q->key);

			if (qn && qn->type == YAML_SCALAR_NODE &&
			    streq((const char *)qn->data.scalar.value, name))
				return yfail(c, -EINVAL, kn->start_mark, NULL,
					     "duplicate key \"%s\"", path);
		}
		for (s = spec; s->name; s++)
			if (streq(s->name, name))
				break;
		if (!s->name)
			return yfail(c, -EINVAL, kn->start_mark, NULL, "unknown key \"%s\"", path);
		if (s->children)
			r = walk_map(c, vn, s->children, path);
		else
			r = walk_leaf(c, vn, s->leaf);
		if (r < 0)
			return r;
	}
	return 0;
}

int config_parse_yaml(struct kepler_config *cfg, const char *text, size_t len, char *err,
		      size_t errsz)
{
	struct yctx c = {.cfg = cfg, .err = err, .errsz = errsz};
	yaml_document_t doc;
	yaml_node_t *root;
	yaml_mark_t mark;
	char msg[512];
	int r = 0;

	if (errsz)
		err[0] = '\0';
	r = yaml_load_one(text, len, &doc, msg, sizeof(msg), &mark);
	if (r < 0)
		return yfail(&c, r, mark, NULL, "%s", msg);
	c.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root && !(root->type == YAML_SCALAR_NODE && yaml_node_is_null(root)))
		r = walk_map(&c, root, root_spec, "");
	yaml_document_delete(&doc);
	if (r == 0 && check_config(cfg, msg, sizeof(msg)) < 0) {
		if (cfg->config_file)
			snprintf(err, errsz, "%s: %s", cfg->config_file, msg);
		else
			snprintf(err, errsz, "%s", msg);
		r = -EINVAL;
	}
	if (r < 0 && errsz)
		one_line(err);
	return r;
}

/* Flags */

enum flag_kind {
	FLAG_VALUE,  /* --x value or --x=value */
	FLAG_BOOL,   /* --x (true) or --x=bool */
	FLAG_LIST,   /* comma-separated list, replaces the key's list */
	FLAG_REPEAT, /* repeatable; all occurrences together replace the key's list */
	FLAG_NOARG,  /* --help, --version */
};

struct flag {
	const char *name;
	enum flag_kind kind;
	const char *meta;
	const char *help;
	int key; /* enum key_id; -1 for config.file, help and version */
};

static const struct flag flags[] = {
    {"config.file", FLAG_VALUE, "PATH", "YAML configuration file", -1},
    {"log.level", FLAG_VALUE, "LEVEL", "log level: error, warn, info, debug", K_LOG_LEVEL},
    {"log.format", FLAG_VALUE, "FORMAT", "log format: text, json", K_LOG_FORMAT},
    {"host.sysfs", FLAG_VALUE, "PATH", "the host's sysfs mount", K_HOST_SYSFS},
    {"host.procfs", FLAG_VALUE, "PATH", "the host's procfs mount", K_HOST_PROCFS},
    {"monitor.interval", FLAG_VALUE, "DURATION", "collection interval, 100ms to 1h", K_INTERVAL},
    {"web.listen-address", FLAG_REPEAT, "ADDR",
     "address to serve /metrics on, host:port (repeatable)", K_LISTEN},
    {"web.config-file", FLAG_VALUE, "PATH", "Prometheus web-config file (TLS, basic auth)",
     K_WEB_CONFIG},
    {"exporter.stdout", FLAG_BOOL, NULL, "also print each interval's metrics to stdout", K_STDOUT},
    {"metrics", FLAG_LIST, "LEVELS", "metric levels: node, process, container, pod, vm", K_METRICS},
    {"kube.enable", FLAG_BOOL, NULL, "resolve pods through the kubelet", K_KUBE_ENABLED},
    {"kube.node-name", FLAG_VALUE, "NAME", "this node's name in Kubernetes", K_KUBE_NODE},
    {"kube.kubelet-url", FLAG_VALUE, "URL", "kubelet API URL (http:// or https://)", K_KUBE_URL},
    {"power.source", FLAG_LIST, "SOURCES",
     "power sources: auto, or a list of rapl, perf, hwmon, acpi, estimator", K_SOURCES},
    {"activity.source", FLAG_VALUE, "SOURCE", "activity source: auto, ebpf, procfs", K_ACTIVITY},
    {"activity.max-processes", FLAG_VALUE, "N", "processes the eBPF map holds (at least 64)",
     K_ACTIVITY_MAX},
    {"version", FLAG_NOARG, NULL, "print the version and exit", -1},
    {"help", FLAG_NOARG, NULL, "print this help and exit", -1},
};

void config_print_usage(FILE *f)
{
	struct kepler_config d;
	bool have_defaults = config_defaults(&d) == 0;

	fputs("Usage: kepler [flags]\n"
	      "Flags override the configuration file; see docs/configuration.md.\n",
	      f);
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		const struct flag *fl = &flags[i];
		struct strbuf sb = STRBUF_INIT;
		char left[64];

		snprintf(left, sizeof(left), "--%s%s%s", fl->name, fl->meta ? "=" : "",
			 fl->meta ? fl->meta : "");
		fprintf(f, "  %-30s %s", left, fl->help);
		if (fl->key >= 0 && have_defaults) {
			render(&d, (enum key_id)fl->key, true, &sb);
			fprintf(f, " (default: %s)",
				sb.len && !sb.err ? sb.buf : (sb.err ? "?" : "none"));
			strbuf_release(&sb);
		} else if (streq(fl->name, "config.file")) {
			fputs(" (default: none)", f);
		}
		fputc('\n', f);
	}
	if (have_defaults)
		config_free(&d);
}

struct flag_arg {
	const struct flag *flag;
	const char *value;
};

static const struct flag *flag_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0)
			return &flags[i];
	return NULL;
}

/* Split a comma list into an array of trimmed strings, in one allocation. */
static int split_commas(const char *s, char ***ret, size_t *ret_n)
{
	size_t n = 0, len = strlen(s);
	char **v, *copy;

	if (*s)
		for (const char *p = s, *q; (q = p); p = q + 1) {
			n++;
			q = strchr(p, ',');
			if (!q)
				break;
		}
	v = malloc((n + 1) * sizeof(char *) + len + 1);
	if (!v)
		return -ENOMEM;
	copy = (char *)(v + n + 1);
	memcpy(copy, s, len + 1);
	for (size_t i = 0; i < n; i++) {
		char *e = strchr(copy, ',');

		if (e)
			*e = '\0';
		while (isspace((unsigned char)*copy))
			copy++;
		v[i] = copy;
		for (char *t = copy + strlen(copy); t > copy && isspace((unsigned char)t[-1]); t--)
			t[-1] = '\0';
		if (e)
			copy = e + 1;
	}
	v[n] = NULL;
	*ret = v;
	*ret_n = n;
	return 0;
}

static int flag_fail(char *err, size_t errsz, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int flag_fail(char *err, size_t errsz, int r, const char *fmt, ...)
{
	va_list ap;

	if (errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return r;
}

static int apply_flag(struct kepler_config *cfg, const struct flag *fl, const char *value,
		      char *err, size_t errsz)
{
	const struct leaf *l = &leaves[fl->key];
	char msg[512];
	size_t bad = SIZE_MAX;
	int r;

	if (fl->kind == FLAG_LIST) {
		_cleanup_free_ char **items = NULL;
		size_t n;

		r = split_commas(value, &items, &n);
		if (r < 0)
			return flag_fail(err, errsz, r, "--%s: out of memory", fl->name);
		r = l->set_list(cfg, (const char *const *)items, n, &bad, msg, sizeof(msg));
	} else {
		r = l->set(cfg, l, value, msg, sizeof(msg));
	}
	if (r == -ENOMEM)
		return flag_fail(err, errsz, r, "--%s: out of memory", fl->name);
	if (r < 0)
		return flag_fail(err, errsz, r, "--%s: %s", fl->name, msg);
	return 0;
}

static int load(struct kepler_config *cfg, int argc, char **argv, char *err, size_t errsz)
{
	_cleanup_free_ struct flag_arg *args = NULL;
	_cleanup_free_ const char **listen = NULL;
	const struct flag *listen_flag = NULL;
	const char *config_file = NULL;
	size_t n_args = 0, n_listen = 0;
	char msg[512];
	int r;

	args = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*args));
	listen = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*listen));
	if (!args || !listen)
		return flag_fail(err, errsz, -ENOMEM, "out of memory");

	/* Pass 1: syntax only. --help and --version end it where they stand. */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name, *eq, *value;
		const struct flag *fl;
		size_t len;

		if (streq(a, "--")) {
			if (i + 1 < argc)
				return flag_fail(err, errsz, -EINVAL, "unexpected argument \"%s\"",
						 argv[i + 1]);
			break;
		}
		if (!startswith(a, "--") || a[2] == '-' || a[2] == '=')
			return flag_fail(err, errsz, -EINVAL, "unexpected argument \"%s\"", a);
		name = a + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		fl = flag_lookup(name, len);
		if (!fl)
			return flag_fail(err, errsz, -EINVAL, "unknown flag --%.*s", (int)len,
					 name);
		switch (fl->kind) {
		case FLAG_NOARG:
			if (eq)
				return flag_fail(err, errsz, -EINVAL, "--%s takes no value",
						 fl->name);
			if (streq(fl->name, "help")) {
				config_print_usage(stdout);
				return 1;
			}
			return 2;
		case FLAG_BOOL:
			value = eq ? eq + 1 : "true";
			break;
		default:
			if (eq) {
				value = eq + 1;
			} else if (i + 1 < argc && !startswith(argv[i + 1], "--")) {
				value = argv[++i];
			} else {
				return flag_fail(err, errsz, -EINVAL, "--%s: missing value",
						 fl->name);
			}
			break;
		}
		if (fl->key < 0) { /* config.file */
			if (!*value)
				return flag_fail(err, errsz, -EINVAL, "--%s: missing value",
						 fl->name);
			config_file = value;
		} else if (fl->kind == FLAG_REPEAT) {
			listen_flag = fl;
			listen[n_listen++] = value;
		} else {
			args[n_args++] = (struct flag_arg){fl, value};
		}
	}

	/* Pass 2: the file, then every flag over it regardless of its position. */
	if (config_file) {
		_cleanup_free_ char *text = NULL;
		size_t len = 0;

		cfg->config_file = strdup(config_file);
		if (!cfg->config_file)
			return flag_fail(err, errsz, -ENOMEM, "out of memory");
		r = read_file_alloc(config_file, CONFIG_FILE_MAX, &text, &len);
		if (r == -EFBIG)
			return flag_fail(err, errsz, r, "%s: file too large (over %d bytes)",
					 config_file, CONFIG_FILE_MAX);
		if (r < 0)
			return flag_fail(err, errsz, r, "%s: %s", config_file, strerror(-r));
		r = config_parse_yaml(cfg, text, len, err, errsz);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < n_args; i++) {
		r = apply_flag(cfg, args[i].flag, args[i].value, err, errsz);
		if (r < 0)
			return r;
	}
	if (listen_flag) {
		size_t bad = SIZE_MAX;

		r = set_listen(cfg, listen, n_listen, &bad, msg, sizeof(msg));
		if (r == -ENOMEM)
			return flag_fail(err, errsz, r, "out of memory");
		if (r < 0)
			return flag_fail(err, errsz, r, "--%s: %s", listen_flag->name, msg);
	}
	r = check_config(cfg, msg, sizeof(msg));
	if (r < 0)
		return flag_fail(err, errsz, r, "%s", msg);
	return 0;
}

int config_load(struct kepler_config *cfg, int argc, char **argv, char *err, size_t errsz)
{
	int r;

	if (errsz)
		err[0] = '\0';
	r = config_defaults(cfg);
	if (r < 0)
		return flag_fail(err, errsz, r, "out of memory");
	r = load(cfg, argc, argv, err, errsz);
	if (r != 0)
		config_free(cfg);
	if (r < 0)
		one_line(err);
	return r;
}
