// SPDX-License-Identifier: Apache-2.0
/*
 * Configuration: defaults, the YAML file (libyaml document API) and the flags.
 * One table, keys[] below, holds every key; the defaults, the file's tree, the
 * flags, --help, rendering, config_diff, the reloadable set and the key table
 * of docs/configuration.md all derive from it. Each kind of value has one
 * setter that validates a textual value; the YAML walker and the flag parser
 * both go through it, so a value means the same thing in the file and on the
 * command line and the error text only differs in its prefix.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "util/duration.h"
#include "util/errf.h"
#include "util/fileio.h"
#include "util/listenaddr.h"
#include "util/strbuf.h"
#include "util/util.h"
#include "util/yamlutil.h"

/* Largest config file accepted: a real one is a few hundred bytes. */
#define CONFIG_FILE_MAX (1024 * 1024)
/* Longest YAML sequence accepted for any list key (each key has its own smaller limit). */
#define LIST_MAX 64

#define MSEC 1000000ULL
#define SEC 1000000000ULL
#define HOUR (3600 * SEC)

static const char *const power_source_names[] = {
    [POWER_SOURCE_AUTO] = "auto",
    [POWER_SOURCE_RAPL] = "rapl",
    [POWER_SOURCE_PERF] = "perf",
    [POWER_SOURCE_HWMON] = "hwmon",
    [POWER_SOURCE_ACPI] = "acpi",
    [POWER_SOURCE_ESTIMATOR] = "estimator",
    [POWER_SOURCE_HYPERVISOR] = "hypervisor",
};

static const char *const activity_source_names[] = {
    [ACTIVITY_SOURCE_AUTO] = "auto",
    [ACTIVITY_SOURCE_EBPF] = "ebpf",
    [ACTIVITY_SOURCE_PROCFS] = "procfs",
};

/* Bit i of enum metrics_level */
static const char *const metrics_level_names[] = {"node", "process", "container", "pod", "vm"};

int config_node_name(const struct kepler_config *cfg, char *buf, size_t size)
{
	if (cfg->kube_node_name && *cfg->kube_node_name) {
		snprintf(buf, size, "%s", cfg->kube_node_name);
		return 0;
	}
	if (gethostname(buf, size) < 0)
		return -errno;
	buf[size - 1] = '\0';
	return 0;
}

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

/* Keys: the kinds of value, then the table. */

struct key;

/* Validate v and store it; on error write what is wrong (without the key) into msg. */
typedef int (*set_fn)(struct kepler_config *cfg, const struct key *k, const char *v, char *msg,
		      size_t msz);
/* Same for a list; *ret_bad is the index of the offending item when one is to blame. */
typedef int (*set_list_fn)(struct kepler_config *cfg, const struct key *k, const char *const *v,
			   size_t n, size_t *ret_bad, char *msg, size_t msz);
/*
 * Append the value: flag style as a flag takes it (a list comma-separated, an
 * empty string as nothing), else as the file takes it (list items ", "-separated,
 * the brackets added by render(); an empty string as "").
 */
typedef void (*render_fn)(const struct kepler_config *cfg, const struct key *k, bool flag_style,
			  struct strbuf *sb);

/* A kind of value: exactly one of set and set_list. */
struct kind {
	const char *type; /* for the docs table */
	set_fn set;
	set_list_fn set_list;
	render_fn render;
	void (*release)(struct kepler_config *cfg, const struct key *k); /* NULL: owns nothing */
};

enum {
	KEY_RELOAD = 1u << 0, /* main.c applies it on SIGHUP */
	KEY_EMPTY = 1u << 1,  /* a string that may be empty (stored as NULL) */
	KEY_AUTO = 1u << 2,   /* watts that may be "auto" (stored as -1: learn the value) */
	KEY_REPEAT = 1u << 3, /* a list whose flag repeats (else it takes a comma-separated list) */
};

struct key {
	const char *path; /* dotted YAML path, "monitor.interval" */
	const char *flag; /* "monitor.interval" for --monitor.interval; NULL: file only */
	const char *meta; /* the flag's value in --help, "DURATION"; NULL for a boolean */
	const struct kind *kind;
	size_t off;	   /* the field in struct kepler_config */
	uint64_t min, max; /* integers: min; durations: min and max */
	unsigned flags;	   /* KEY_* */
	const char *def;   /* the default, as a flag takes it */
	const char *help;  /* one line, for --help and the docs table */
	const char *doc;   /* more for the docs table (Markdown), or NULL */
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

#define FIELD(cfg, k, type) ((type *)((char *)(cfg) + (k)->off))

static void put_list_sep(struct strbuf *sb, bool flag_style, size_t i)
{
	if (i > 0)
		strbuf_puts(sb, flag_style ? "," : ", ");
}

/* Strings */

static int replace_str(char **p, const char *v)
{
	char *n = NULL;

	if (*v) {
		n = strdup(v);
		if (!n)
			return -ENOMEM;
	}
	free(*p);
	*p = n;
	return 0;
}

static int set_str(struct kepler_config *cfg, const struct key *k, const char *v, char *msg,
		   size_t msz)
{
	if (!*v && !(k->flags & KEY_EMPTY))
		return msgf(msg, msz, "must not be empty");
	return replace_str(FIELD(cfg, k, char *), v);
}

static int set_url(struct kepler_config *cfg, const struct key *k, const char *v, char *msg,
		   size_t msz)
{
	if (*v && !(startswith(v, "http://") && v[7]) && !(startswith(v, "https://") && v[8]))
		return msgf(msg, msz, "bad URL \"%s\" (must start with http:// or https://)", v);
	return set_str(cfg, k, v, msg, msz);
}

static void render_str(const struct kepler_config *cfg, const struct key *k, bool flag_style,
		       struct strbuf *sb)
{
	const char *s = *FIELD(cfg, k, char *const);

	if (!flag_style && (!s || !*s))
		strbuf_puts(sb, "\"\"");
	else
		strbuf_puts(sb, s ? s : "");
}

static void release_str(struct kepler_config *cfg, const struct key *k)
{
	free(*FIELD(cfg, k, char *));
}

static const struct kind kind_str = {"string", set_str, NULL, render_str, release_str};
static const struct kind kind_url = {"URL", set_url, NULL, render_str, release_str};

/* Booleans */

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

static int set_bool(struct kepler_config *cfg, const struct key *k, const char *v, char *msg,
		    size_t msz)
{
	bool b;

	if (parse_bool(v, &b) < 0)
		return msgf(msg, msz, "bad boolean \"%s\" (true/false, yes/no, on/off)", v);
	*FIELD(cfg, k, bool) = b;
	return 0;
}

static void render_bool(const struct kepler_config *cfg, const struct key *k, bool flag_style,
			struct strbuf *sb)
{
	(void)flag_style;
	strbuf_puts(sb, *FIELD(cfg, k, const bool) ? "true" : "false");
}

static const struct kind kind_bool = {"bool", set_bool, NULL, render_bool, NULL};

/* Integers: k->min is the smallest accepted */

static int set_u32(struct kepler_config *cfg, const struct key *k, const char *v, char *msg,
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
	if (u < k->min)
		return msgf(msg, msz, "%s is below the minimum %" PRIu64, v, k->min);
	*FIELD(cfg, k, uint32_t) = (uint32_t)u;
	return 0;
}

static void render_u32(const struct kepler_config *cfg, const struct key *k, bool flag_style,
		       struct strbuf *sb)
{
	(void)flag_style;
	strbuf_printf(sb, "%" PRIu32, *FIELD(cfg, k, const uint32_t));
}

static const struct kind kind_u32 = {"integer", set_u32, NULL, render_u32, NULL};

static int set_u64(struct kepler_config *cfg, const struct key *k, const char *v, char *msg,
		   size_t msz)
{
	uint64_t u;
	int r;

	if (!isdigit((unsigned char)*v))
		return msgf(msg, msz, "bad integer \"%s\"", v);
	r = parse_u64(v, &u);
	if (r == -ERANGE)
		return msgf(msg, msz, "integer \"%s\" is too large (at most %" PRIu64 ")", v,
			    UINT64_MAX);
	if (r < 0)
		return msgf(msg, msz, "bad integer \"%s\"", v);
	if (u < k->min)
		return msgf(msg, msz, "%s is below the minimum %" PRIu64, v, k->min);
	*FIELD(cfg, k, uint64_t) = u;
	return 0;
}

static void render_u64(const struct kepler_config *cfg, const struct key *k, bool flag_style,
		       struct strbuf *sb)
{
	(void)flag_style;
	strbuf_printf(sb, "%" PRIu64, *FIELD(cfg, k, const uint64_t));
}

static const struct kind kind_u64 = {"integer", set_u64, NULL, render_u64, NULL};

/* Watts: KEY_AUTO accepts "auto", stored as -1 (learn the value) */

/* A finite number in plain decimal notation (strtod also takes hex, "inf" and "nan"). */
static int parse_decimal(const char *v, double *ret)
{
	char *end;

	for (const char *c = v; *c; c++)
		if (!isdigit((unsigned char)*c) && !strchr(".eE+-", *c))
			return -EINVAL;
	errno = 0;
	*ret = strtod(v, &end);
	if (!*v || *end || end == v || errno == ERANGE || !isfinite(*ret))
		return -EINVAL;
	return 0;
}

static int set_watts(struct kepler_config *cfg, const struct key *k, const char *v, char *msg,
		     size_t msz)
{
	double d;

	if ((k->flags & KEY_AUTO) && streq(v, "auto")) {
		*FIELD(cfg, k, double) = -1;
		return 0;
	}
	if (parse_decimal(v, &d) < 0)
		return msgf(msg, msz, "bad watts \"%s\"", v);
	if (d < 0)
		return msgf(msg, msz, "negative watts \"%s\"", v);
	*FIELD(cfg, k, double) = d;
	return 0;
}

static void render_watts(const struct kepler_config *cfg, const struct key *k, bool flag_style,
			 struct strbuf *sb)
{
	double w = *FIELD(cfg, k, const double);

	(void)flag_style;
	if (w < 0)
		strbuf_puts(sb, "auto");
	else
		strbuf_printf(sb, "%g", w);
}

static const struct kind kind_watts = {"watts", set_watts, NULL, render_watts, NULL};

/* Numbers of either sign: the platform model's coefficients, as a fit may give them. */

static int set_number(struct kepler_config *cfg, const struct key *k, const char *v, char *msg,
		      size_t msz)
{
	if (parse_decimal(v, FIELD(cfg, k, double)) < 0)
		return msgf(msg, msz, "bad number \"%s\"", v);
	return 0;
}

static void render_number(const struct kepler_config *cfg, const struct key *k, bool flag_style,
			  struct strbuf *sb)
{
	(void)flag_style;
	strbuf_printf(sb, "%g", *FIELD(cfg, k, const double));
}

static const struct kind kind_number = {"number", set_number, NULL, render_number, NULL};

/* Durations: k->min to k->max */

static void put_duration(struct strbuf *sb, uint64_t ns)
{
	char d[64];

	if (format_duration(ns, d, sizeof(d)) == 0)
		strbuf_puts(sb, d);
}

static int set_duration(struct kepler_config *cfg, const struct key *k, const char *v, char *msg,
			size_t msz)
{
	uint64_t ns;
	int r;

	r = parse_duration(v, &ns);
	if (r == -ERANGE)
		return msgf(msg, msz, "duration \"%s\" is too large", v);
	if (r < 0)
		return msgf(msg, msz, "bad duration \"%s\"", v);
	if (ns < k->min || ns > k->max) {
		char lo[64] = "?", hi[64] = "?";

		format_duration(k->min, lo, sizeof(lo));
		format_duration(k->max, hi, sizeof(hi));
		return msgf(msg, msz, "%s is out of range (%s to %s)", v, lo, hi);
	}
	*FIELD(cfg, k, uint64_t) = ns;
	return 0;
}

static void render_duration(const struct kepler_config *cfg, const struct key *k, bool flag_style,
			    struct strbuf *sb)
{
	(void)flag_style;
	put_duration(sb, *FIELD(cfg, k, const uint64_t));
}

static const struct kind kind_duration = {"duration", set_duration, NULL, render_duration, NULL};

/* Names */

static int set_log_level(struct kepler_config *cfg, const struct key *k, const char *v, char *msg,
			 size_t msz)
{
	if (log_level_from_string(v, FIELD(cfg, k, enum log_level)) < 0)
		return msgf(msg, msz, "bad log level \"%s\" (error, warn, info, debug)", v);
	return 0;
}

static void render_log_level(const struct kepler_config *cfg, const struct key *k, bool flag_style,
			     struct strbuf *sb)
{
	(void)flag_style;
	strbuf_puts(sb, log_level_to_string(*FIELD(cfg, k, const enum log_level)));
}

static int set_log_format(struct kepler_config *cfg, const struct key *k, const char *v, char *msg,
			  size_t msz)
{
	if (log_format_from_string(v, FIELD(cfg, k, enum log_format)) < 0)
		return msgf(msg, msz, "bad log format \"%s\" (text, json)", v);
	return 0;
}

static void render_log_format(const struct kepler_config *cfg, const struct key *k, bool flag_style,
			      struct strbuf *sb)
{
	(void)flag_style;
	strbuf_puts(sb, log_format_to_string(*FIELD(cfg, k, const enum log_format)));
}

static int set_activity(struct kepler_config *cfg, const struct key *k, const char *v, char *msg,
			size_t msz)
{
	if (activity_source_from_string(v, FIELD(cfg, k, enum activity_source)) < 0)
		return msgf(msg, msz, "unknown activity source \"%s\" (auto, ebpf, procfs)", v);
	return 0;
}

static void render_activity(const struct kepler_config *cfg, const struct key *k, bool flag_style,
			    struct strbuf *sb)
{
	(void)flag_style;
	strbuf_puts(sb, activity_source_to_string(*FIELD(cfg, k, const enum activity_source)));
}

static const struct kind kind_log_level = {"enum", set_log_level, NULL, render_log_level, NULL};
static const struct kind kind_log_format = {"enum", set_log_format, NULL, render_log_format, NULL};
static const struct kind kind_activity = {"enum", set_activity, NULL, render_activity, NULL};

/* Lists. Power sources and listen addresses fill an array and its count (k->off unused). */

static int set_sources(struct kepler_config *cfg, const struct key *k, const char *const *v,
		       size_t n, size_t *ret_bad, char *msg, size_t msz)
{
	enum power_source s[CONFIG_MAX_SOURCES];

	(void)k;
	if (n == 0)
		return msgf(msg, msz, "empty list (use [auto])");
	if (n > CONFIG_MAX_SOURCES)
		return msgf(msg, msz, "too many sources (at most %d)", CONFIG_MAX_SOURCES);
	for (size_t i = 0; i < n; i++) {
		*ret_bad = i;
		if (power_source_from_string(v[i], &s[i]) < 0)
			return msgf(msg, msz,
				    "unknown power source \"%s\" (auto, rapl, perf, hwmon, acpi, "
				    "estimator, hypervisor)",
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

static void render_sources(const struct kepler_config *cfg, const struct key *k, bool flag_style,
			   struct strbuf *sb)
{
	(void)k;
	for (size_t i = 0; i < cfg->n_sources && i < CONFIG_MAX_SOURCES; i++) {
		put_list_sep(sb, flag_style, i);
		strbuf_puts(sb, power_source_to_string(cfg->sources[i]));
	}
}

/* A ZONE_BIT mask */
static int set_zones(struct kepler_config *cfg, const struct key *k, const char *const *v, size_t n,
		     size_t *ret_bad, char *msg, size_t msz)
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
	*FIELD(cfg, k, uint32_t) = mask;
	return 0;
}

static void render_zones(const struct kepler_config *cfg, const struct key *k, bool flag_style,
			 struct strbuf *sb)
{
	uint32_t mask = *FIELD(cfg, k, const uint32_t);
	size_t n = 0;

	for (int z = 0; z < ZONE_MAX; z++)
		if (mask & ZONE_BIT(z)) {
			put_list_sep(sb, flag_style, n++);
			strbuf_puts(sb, zone_names[z]);
		}
}

/* A METRICS_* mask */
static int set_metrics(struct kepler_config *cfg, const struct key *k, const char *const *v,
		       size_t n, size_t *ret_bad, char *msg, size_t msz)
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
	*FIELD(cfg, k, uint32_t) = mask;
	return 0;
}

static void render_metrics(const struct kepler_config *cfg, const struct key *k, bool flag_style,
			   struct strbuf *sb)
{
	uint32_t mask = *FIELD(cfg, k, const uint32_t);
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(metrics_level_names); i++)
		if (mask & (1u << i)) {
			put_list_sep(sb, flag_style, n++);
			strbuf_puts(sb, metrics_level_names[i]);
		}
}

static int set_listen(struct kepler_config *cfg, const struct key *k, const char *const *v,
		      size_t n, size_t *ret_bad, char *msg, size_t msz)
{
	char *a[CONFIG_MAX_LISTEN] = {0};

	(void)k;
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

static void render_listen(const struct kepler_config *cfg, const struct key *k, bool flag_style,
			  struct strbuf *sb)
{
	(void)k;
	for (size_t i = 0; i < cfg->n_listen && i < CONFIG_MAX_LISTEN; i++) {
		put_list_sep(sb, flag_style, i);
		strbuf_puts(sb, cfg->listen_addresses[i] ? cfg->listen_addresses[i] : "");
	}
}

static void release_listen(struct kepler_config *cfg, const struct key *k)
{
	(void)k;
	for (size_t i = 0; i < cfg->n_listen && i < CONFIG_MAX_LISTEN; i++)
		free(cfg->listen_addresses[i]);
}

/* power.gpu.sources: a GPU_SOURCE_* mask; [auto] is every backend, [none] none */
static int set_gpu_sources(struct kepler_config *cfg, const struct key *k, const char *const *v,
			   size_t n, size_t *ret_bad, char *msg, size_t msz)
{
	static const char *const names[] = {"nvml", "drm"};
	uint32_t mask = 0;

	if (n == 0)
		return msgf(msg, msz, "empty list (use [auto], or [none] for no GPUs)");
	for (size_t i = 0; i < n; i++) {
		uint32_t bit = 0;

		*ret_bad = i;
		if ((streq(v[i], "auto") || streq(v[i], "none")) && n > 1)
			return msgf(msg, msz, "\"%s\" cannot be combined with other sources", v[i]);
		if (streq(v[i], "auto"))
			bit = GPU_SOURCE_ALL;
		else if (streq(v[i], "none"))
			bit = 0;
		for (size_t j = 0; j < ARRAY_SIZE(names); j++)
			if (streq(v[i], names[j]))
				bit = 1u << j;
		if (!bit && !streq(v[i], "none"))
			return msgf(msg, msz, "unknown GPU source \"%s\" (auto, nvml, drm, none)",
				    v[i]);
		if (mask & bit)
			return msgf(msg, msz, "duplicate source \"%s\"", v[i]);
		mask |= bit;
	}
	*FIELD(cfg, k, uint32_t) = mask;
	return 0;
}

static void render_gpu_sources(const struct kepler_config *cfg, const struct key *k,
			       bool flag_style, struct strbuf *sb)
{
	uint32_t mask = *FIELD(cfg, k, const uint32_t);

	if (mask == GPU_SOURCE_ALL) {
		strbuf_puts(sb, "auto");
		return;
	}
	if (!mask)
		strbuf_puts(sb, "none");
	if (mask & GPU_SOURCE_NVML)
		strbuf_puts(sb, "nvml");
	if (mask & GPU_SOURCE_DRM) {
		put_list_sep(sb, flag_style, mask & GPU_SOURCE_NVML ? 1 : 0);
		strbuf_puts(sb, "drm");
	}
}

/* power.gpu.idleWattsByUUID: "UUID=WATTS" items */
static int set_gpu_idle(struct kepler_config *cfg, const struct key *k, const char *const *v,
			size_t n, size_t *ret_bad, char *msg, size_t msz)
{
	struct gpu_idle_watts g[CONFIG_MAX_GPU_IDLE] = {0};
	struct key watts = {.kind = &kind_watts,
			    .off = offsetof(struct kepler_config, gpu_idle_watts)};
	struct kepler_config one;
	size_t i;
	int r = 0;

	(void)k;
	if (n > CONFIG_MAX_GPU_IDLE)
		return msgf(msg, msz, "too many entries (at most %d)", CONFIG_MAX_GPU_IDLE);
	for (i = 0; i < n; i++) {
		const char *eq = strrchr(v[i], '=');

		*ret_bad = i;
		if (!eq || eq == v[i] || set_watts(&one, &watts, eq + 1, msg, msz) < 0) {
			r = msgf(msg, msz,
				 "bad entry \"%s\" (want UUID=WATTS, e.g. GPU-1d2e...=60)", v[i]);
			goto fail;
		}
		for (size_t j = 0; j < i; j++)
			if (strlen(g[j].uuid) == (size_t)(eq - v[i]) &&
			    strncmp(g[j].uuid, v[i], (size_t)(eq - v[i])) == 0) {
				r = msgf(msg, msz, "duplicate UUID in \"%s\"", v[i]);
				goto fail;
			}
		g[i].watts = one.gpu_idle_watts;
		g[i].uuid = strndup(v[i], (size_t)(eq - v[i]));
		if (!g[i].uuid) {
			r = -ENOMEM;
			goto fail;
		}
	}
	for (size_t j = 0; j < cfg->n_gpu_idle; j++)
		free(cfg->gpu_idle[j].uuid);
	memcpy(cfg->gpu_idle, g, sizeof(g));
	cfg->n_gpu_idle = n;
	return 0;

fail:
	for (size_t j = 0; j < i; j++)
		free(g[j].uuid);
	return r;
}

static void render_gpu_idle(const struct kepler_config *cfg, const struct key *k, bool flag_style,
			    struct strbuf *sb)
{
	(void)k;
	for (size_t i = 0; i < cfg->n_gpu_idle && i < CONFIG_MAX_GPU_IDLE; i++) {
		put_list_sep(sb, flag_style, i);
		strbuf_printf(sb, "%s=%g", cfg->gpu_idle[i].uuid, cfg->gpu_idle[i].watts);
	}
}

static void release_gpu_idle(struct kepler_config *cfg, const struct key *k)
{
	(void)k;
	for (size_t i = 0; i < cfg->n_gpu_idle && i < CONFIG_MAX_GPU_IDLE; i++)
		free(cfg->gpu_idle[i].uuid);
}

/* exporter.prometheus.compat: a COMPAT_* mask */
static const char *const compat_names[] = {"v0.7"};

static int set_compat(struct kepler_config *cfg, const struct key *k, const char *const *v,
		      size_t n, size_t *ret_bad, char *msg, size_t msz)
{
	uint32_t mask = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t bit = 0;

		*ret_bad = i;
		for (size_t j = 0; j < ARRAY_SIZE(compat_names); j++)
			if (streq(v[i], compat_names[j]))
				bit = 1u << j;
		if (!bit)
			return msgf(msg, msz, "unknown compatibility \"%s\" (v0.7)", v[i]);
		mask |= bit;
	}
	*FIELD(cfg, k, uint32_t) = mask;
	return 0;
}

static void render_compat(const struct kepler_config *cfg, const struct key *k, bool flag_style,
			  struct strbuf *sb)
{
	uint32_t mask = *FIELD(cfg, k, const uint32_t);
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(compat_names); i++)
		if (mask & (1u << i)) {
			put_list_sep(sb, flag_style, n++);
			strbuf_puts(sb, compat_names[i]);
		}
}

static const struct kind kind_sources = {"list", NULL, set_sources, render_sources, NULL};
static const struct kind kind_zones = {"list", NULL, set_zones, render_zones, NULL};
static const struct kind kind_metrics = {"list", NULL, set_metrics, render_metrics, NULL};
static const struct kind kind_compat = {"list", NULL, set_compat, render_compat, NULL};
static const struct kind kind_listen = {"list", NULL, set_listen, render_listen, release_listen};
static const struct kind kind_gpu_sources = {"list", NULL, set_gpu_sources, render_gpu_sources,
					     NULL};
static const struct kind kind_gpu_idle = {"list", NULL, set_gpu_idle, render_gpu_idle,
					  release_gpu_idle};

#define OFF(f) offsetof(struct kepler_config, f)
#define IDLE_KEY(z, name)                                                                          \
	{                                                                                          \
		.path = "power.idle." name, .kind = &kind_watts,                                   \
		.off = OFF(idle_watts) + (z) * sizeof(double), .flags = KEY_AUTO | KEY_RELOAD,     \
		.def = "auto", .help = "idle (static) power of the " name " zone in watts",        \
		.doc = "`auto` (or leaving the key out) learns it",                                \
	}

/*
 * Every key, in the order config_diff and the docs table list them. Adding a
 * key is one row here plus its field in struct kepler_config.
 */
static const struct key keys[] = {
    {
	.path = "log.level",
	.flag = "log.level",
	.meta = "LEVEL",
	.kind = &kind_log_level,
	.off = OFF(log_level),
	.flags = KEY_RELOAD,
	.def = "info",
	.help = "log level: error, warn, info, debug",
	.doc = "`warning` is read as `warn`",
    },
    {
	.path = "log.format",
	.flag = "log.format",
	.meta = "FORMAT",
	.kind = &kind_log_format,
	.off = OFF(log_format),
	.flags = KEY_RELOAD,
	.def = "text",
	.help = "log format: text, json",
	.doc = "`text` is logfmt-style; either way one record per line on stderr",
    },
    {
	.path = "host.sysfs",
	.flag = "host.sysfs",
	.meta = "PATH",
	.kind = &kind_str,
	.off = OFF(host_sysfs),
	.def = "/sys",
	.help = "the host's sysfs mount",
	.doc = "root for every sysfs read (`/host/sys` in a container); must not be empty",
    },
    {
	.path = "host.procfs",
	.flag = "host.procfs",
	.meta = "PATH",
	.kind = &kind_str,
	.off = OFF(host_procfs),
	.def = "/proc",
	.help = "the host's procfs mount",
	.doc = "root for every procfs read (`/host/proc` in a container); must not be empty",
    },
    {
	.path = "monitor.interval",
	.flag = "monitor.interval",
	.meta = "DURATION",
	.kind = &kind_duration,
	.off = OFF(interval_ns),
	.min = 100 * MSEC,
	.max = HOUR,
	.flags = KEY_RELOAD,
	.def = "5s",
	.help = "collection interval, 100ms to 1h",
    },
    {
	.path = "monitor.maxTerminated",
	.kind = &kind_u32,
	.off = OFF(max_terminated),
	.def = "500",
	.help = "terminated workloads kept until scraped, highest energy first",
	.doc = "0 keeps none",
    },
    {
	.path = "power.sources",
	.flag = "power.source",
	.meta = "SOURCES",
	.kind = &kind_sources,
	.def = "auto",
	.help = "power sources: auto, or a list of rapl, perf, hwmon, acpi, estimator, hypervisor",
	.doc = "`auto` picks the best available and falls back to the estimator, and it must be "
	       "alone; otherwise a list without duplicates, at most 8 entries. An empty list is "
	       "an error",
    },
    IDLE_KEY(ZONE_PACKAGE, "package"),
    IDLE_KEY(ZONE_CORE, "core"),
    IDLE_KEY(ZONE_UNCORE, "uncore"),
    IDLE_KEY(ZONE_DRAM, "dram"),
    IDLE_KEY(ZONE_PSYS, "psys"),
    /*
     * Estimator defaults: Cloud Carbon Footprint methodology, "Compute" section,
     * AWS average over the CPU micro-architectures it uses, per vCPU, derived from
     * the SPECpower_ssj2008 results. See docs/configuration.md.
     */
    {
	.path = "power.estimator.idleWattsPerCPU",
	.kind = &kind_watts,
	.off = OFF(estimator_idle_watts_per_cpu),
	.def = "0.74",
	.help = "estimator: power of one logical CPU at 0 % utilisation",
	.doc = "see [Estimator coefficients](#estimator-coefficients)",
    },
    {
	.path = "power.estimator.maxWattsPerCPU",
	.kind = &kind_watts,
	.off = OFF(estimator_max_watts_per_cpu),
	.def = "3.5",
	.help = "estimator: power of one logical CPU at 100 % utilisation",
	.doc = "must be at least `idleWattsPerCPU`",
    },
    {
	.path = "power.redfish.endpoint",
	.kind = &kind_url,
	.off = OFF(redfish_endpoint),
	.flags = KEY_EMPTY,
	.def = "",
	.help = "the node's BMC, https://host[:port]; setting it makes Redfish the platform source",
	.doc = "`{node}` is replaced by `kube.nodeName`, else the host name "
	       "(`https://{node}-bmc.example.com`); no user info: credentials go in "
	       "`power.redfish.credentialsFile`. See "
	       "[power.md](power.md#redfish-the-nodes-bmc-over-redfish)",
    },
    {
	.path = "power.redfish.credentialsFile",
	.kind = &kind_str,
	.off = OFF(redfish_credentials_file),
	.flags = KEY_EMPTY,
	.def = "",
	.help = "YAML file with the BMC's username: and password:",
	.doc = "a mounted Secret; empty sends no credentials. See [security.md](security.md)",
    },
    {
	.path = "power.redfish.caFile",
	.kind = &kind_str,
	.off = OFF(redfish_ca_file),
	.flags = KEY_EMPTY,
	.def = "",
	.help = "CA bundle that signs the BMC's certificate",
	.doc = "empty: the system store",
    },
    {
	.path = "power.redfish.insecureSkipVerify",
	.kind = &kind_bool,
	.off = OFF(redfish_insecure_skip_verify),
	.def = "false",
	.help = "do not verify the BMC's certificate",
	.doc = "logs a warning at every start",
    },
    {
	.path = "power.redfish.interval",
	.kind = &kind_duration,
	.off = OFF(redfish_interval_ns),
	.min = SEC,
	.max = HOUR,
	.def = "30s",
	.help = "how often the BMC is read, 1s to 1h",
	.doc = "a reading older than 3 intervals is stale",
    },
    {
	.path = "power.redfish.timeout",
	.kind = &kind_duration,
	.off = OFF(redfish_timeout_ns),
	.min = 100 * MSEC,
	.max = 300 * SEC,
	.def = "10s",
	.help = "a whole request to the BMC, 100ms to 5m",
	.doc = "connecting alone: the smaller of this and 5s",
    },
    {
	.path = "power.redfish.chassis",
	.kind = &kind_str,
	.off = OFF(redfish_chassis),
	.flags = KEY_EMPTY,
	.def = "",
	.help = "the chassis that is this node: its @odata.id or Id",
	.doc = "empty: the rule in [power.md](power.md#redfish-the-nodes-bmc-over-redfish)",
    },
    {
	.path = "power.redfish.nodesFile",
	.kind = &kind_str,
	.off = OFF(redfish_nodes_file),
	.flags = KEY_EMPTY,
	.def = "",
	.help = "per-node map of BMC endpoints and credentials (Kepler 0.11's format)",
	.doc = "instead of `endpoint` and `credentialsFile`; this node's name is `kube.nodeName`, "
	       "else the host name",
    },
    {
	.path = "activity.source",
	.flag = "activity.source",
	.meta = "SOURCE",
	.kind = &kind_activity,
	.off = OFF(activity_source),
	.def = "auto",
	.help = "activity source: auto, ebpf, procfs",
	.doc = "`auto` is eBPF when it loads, else procfs",
    },
    {
	.path = "activity.maxProcesses",
	.flag = "activity.max-processes",
	.meta = "N",
	.kind = &kind_u32,
	.off = OFF(activity_max_processes),
	.min = 64,
	.def = "32768",
	.help = "processes the eBPF map holds (at least 64)",
	.doc = "when it is full, new processes' events are dropped and counted in "
	       "`kepler_exporter_bpf_dropped_total`",
    },
    {
	.path = "power.gpu.sources",
	.flag = "power.gpu.source",
	.meta = "SOURCES",
	.kind = &kind_gpu_sources,
	.off = OFF(gpu_sources),
	.def = "auto",
	.help = "GPU sources: auto, none, or a list of nvml, drm",
	.doc = "`auto` reads every GPU it finds and finding none is no error; `nvml` is NVIDIA "
	       "through `libnvidia-ml.so.1` loaded at run time, `drm` AMD and Intel through hwmon "
	       "and DRM fdinfo. See [docs/gpu.md](gpu.md)",
    },
    {
	.path = "power.gpu.nvml.library",
	.flag = "power.gpu.nvml.library",
	.meta = "PATH",
	.kind = &kind_str,
	.off = OFF(nvml_library),
	.def = "libnvidia-ml.so.1",
	.help = "the NVML library to load",
	.doc = "a name the dynamic loader resolves (`LD_LIBRARY_PATH` applies), or a path",
    },
    {
	.path = "power.gpu.idleWatts",
	.kind = &kind_watts,
	.off = OFF(gpu_idle_watts),
	.flags = KEY_AUTO | KEY_RELOAD,
	.def = "auto",
	.help = "idle (static) power of each GPU in watts",
	.doc = "`auto` learns it per device from its power against its utilisation",
    },
    {
	.path = "power.gpu.idleWattsByUUID",
	.kind = &kind_gpu_idle,
	.flags = KEY_RELOAD,
	.def = "",
	.help = "idle power of single GPUs, as UUID=WATTS items",
	.doc = "before `power.gpu.idleWatts` for the GPUs it names, e.g. "
	       "`[\"GPU-5e1b...=62\"]`; the UUID as `kepler_node_gpu_info` shows it",
    },
    {
	.path = "power.idle.platform",
	.kind = &kind_watts,
	.off = OFF(platform_idle_watts),
	.flags = KEY_AUTO | KEY_RELOAD,
	.def = "auto",
	.help = "idle (static) power of the whole platform in watts",
	.doc = "`auto` learns it against the CPU utilisation, metered or estimated",
    },
    {
	.path = "power.platform.estimate",
	.kind = &kind_bool,
	.off = OFF(platform_estimate),
	.flags = KEY_RELOAD,
	.def = "true",
	.help = "without a platform meter, estimate the platform with the model",
	.doc = "`source=\"estimator\"`; see [Platform estimate](power.md#platform-estimate)",
    },
    {
	.path = "power.platform.model.intercept",
	.kind = &kind_number,
	.off = OFF(platform_model[0]),
	.flags = KEY_RELOAD,
	.def = "0",
	.help = "platform model: watts at no CPU or GPU power and no utilisation",
	.doc = "copy `kepler_node_platform_model_coefficient{term=\"intercept\"}` from a metered "
	       "node of the same hardware",
    },
    {
	.path = "power.platform.model.cpu",
	.kind = &kind_number,
	.off = OFF(platform_model[1]),
	.flags = KEY_RELOAD,
	.def = "1.2",
	.help = "platform model: platform watts per watt of the CPU package and DRAM",
	.doc = "the term `cpu`",
    },
    {
	.path = "power.platform.model.gpu",
	.kind = &kind_number,
	.off = OFF(platform_model[2]),
	.flags = KEY_RELOAD,
	.def = "1.1",
	.help = "platform model: platform watts per watt of the GPUs",
	.doc = "the term `gpu`",
    },
    {
	.path = "power.platform.model.utilization",
	.kind = &kind_number,
	.off = OFF(platform_model[3]),
	.flags = KEY_RELOAD,
	.def = "0",
	.help = "platform model: watts added at full CPU utilisation",
	.doc = "the term `utilization`",
    },
    {
	.path = "rapl.zones",
	.kind = &kind_zones,
	.off = OFF(rapl_zones),
	.def = "",
	.help = "RAPL zones to read: package, core, uncore, dram, psys",
	.doc = "empty reads all",
    },
    {
	.path = "power.passthrough.path",
	.flag = "power.passthrough.path",
	.meta = "PATH",
	.kind = &kind_str,
	.off = OFF(passthrough_path),
	.flags = KEY_EMPTY,
	.def = POWER_PASSTHROUGH_PATH_DEFAULT,
	.help = "in a VM: the host's powercap tree for it (source hypervisor)",
	.doc = "a directory holding `class/powercap`, read as RAPL in place of `host.sysfs` "
	       "(`cpu_power_source=\"hypervisor\"`); the default is used when it holds one, any "
	       "other path must, empty turns it off. See [vms.md](vms.md)",
    },
    {
	.path = "exporter.stdout.enabled",
	.flag = "exporter.stdout",
	.kind = &kind_bool,
	.off = OFF(stdout_enabled),
	.flags = KEY_RELOAD,
	.def = "false",
	.help = "also print each interval's metrics to stdout",
    },
    {
	.path = "exporter.prometheus.enabled",
	.kind = &kind_bool,
	.off = OFF(prometheus_enabled),
	.def = "true",
	.help = "serve /metrics",
    },
    {
	.path = "exporter.prometheus.metricsLevel",
	.flag = "metrics",
	.meta = "LEVELS",
	.kind = &kind_metrics,
	.off = OFF(metrics_levels),
	.flags = KEY_RELOAD,
	.def = "node,process,container,pod,vm",
	.help = "metric levels: node, process, container, pod, vm",
	.doc = "node-level series are always exported (every other level is a share of them), "
	       "so `[]` means node only and `[pod]` means node and pod",
    },
    {
	.path = "exporter.prometheus.maxProcesses",
	.kind = &kind_u32,
	.off = OFF(max_processes),
	.min = 1,
	.flags = KEY_RELOAD,
	.def = "200",
	.help = "per-process series kept per interval, highest energy first",
	.doc = "the rest are summed into one `comm=\"other\"` series per zone",
    },
    {
	.path = "exporter.prometheus.compat",
	.kind = &kind_compat,
	.off = OFF(compat),
	.def = "",
	.help = "older Kepler metric names to export as well: v0.7",
	.doc = "`[\"v0.7\"]` adds Kepler 0.7's `kepler_*_{package,core,uncore,dram,other,gpu,"
	       "platform}_joules_total` families with `mode=\"dynamic\"|\"idle\"`; see "
	       "[migrating.md](migrating.md)",
    },
    {
	.path = "web.configFile",
	.flag = "web.config-file",
	.meta = "PATH",
	.kind = &kind_str,
	.off = OFF(web_config_file),
	.flags = KEY_EMPTY,
	.def = "",
	.help = "Prometheus web-config file (TLS, basic auth)",
	.doc = "see [security.md](security.md); empty serves plain HTTP",
    },
    {
	.path = "web.listenAddresses",
	.flag = "web.listen-address",
	.meta = "ADDR",
	.kind = &kind_listen,
	.flags = KEY_REPEAT,
	.def = ":28282",
	.help = "address to serve /metrics on, host:port",
	.doc = "1 to 8 addresses: `host:port`, `:port` (all interfaces) or `[v6addr]:port`, port "
	       "1-65535",
    },
    {
	.path = "web.maxConnections",
	.kind = &kind_u32,
	.off = OFF(web_max_connections),
	.min = 1,
	.def = "4096",
	.help = "concurrent connections per listen address",
	.doc = "more wait in the kernel's backlog; lowered to what the open-file limit allows",
    },
    {
	.path = "web.maxConnectionsPerIP",
	.kind = &kind_u32,
	.off = OFF(web_max_connections_per_ip),
	.min = 1,
	.def = "256",
	.help = "concurrent connections from one client address",
    },
    {
	.path = "web.connectionTimeout",
	.kind = &kind_duration,
	.off = OFF(web_connection_timeout_ns),
	.min = SEC,
	.max = HOUR,
	.def = "10s",
	.help = "a connection idle (or sending its request slowly) this long is closed",
    },
    {
	.path = "web.headerTimeout",
	.flag = "web.header-timeout",
	.meta = "DURATION",
	.kind = &kind_duration,
	.off = OFF(web_header_timeout_ns),
	.min = SEC,
	.max = HOUR,
	.def = "3s",
	.help = "time a client has to send its whole request header, 1s to 1h",
    },
    {
	.path = "kube.enabled",
	.flag = "kube.enable",
	.kind = &kind_bool,
	.off = OFF(kube_enabled),
	.def = "false",
	.help = "resolve pods through the kubelet",
    },
    {
	.path = "kube.nodeName",
	.flag = "kube.node-name",
	.meta = "NAME",
	.kind = &kind_str,
	.off = OFF(kube_node_name),
	.flags = KEY_EMPTY,
	.def = "",
	.help = "this node's name in Kubernetes",
    },
    {
	.path = "kube.kubeletURL",
	.flag = "kube.kubelet-url",
	.meta = "URL",
	.kind = &kind_url,
	.off = OFF(kube_kubelet_url),
	.flags = KEY_EMPTY,
	.def = "",
	.help = "kubelet API URL (http:// or https://)",
    },
    {
	.path = "kube.tokenFile",
	.kind = &kind_str,
	.off = OFF(kube_token_file),
	.flags = KEY_EMPTY,
	.def = "",
	.help = "bearer token file for the kubelet",
    },
    {
	.path = "kube.caFile",
	.kind = &kind_str,
	.off = OFF(kube_ca_file),
	.flags = KEY_EMPTY,
	.def = "",
	.help = "CA bundle that signs the kubelet's certificate",
    },
    {
	.path = "kube.insecureSkipVerify",
	.kind = &kind_bool,
	.off = OFF(kube_insecure_skip_verify),
	.def = "false",
	.help = "do not verify the kubelet's certificate",
    },
    {
	.path = "vm.passthrough.dir",
	.flag = "vm.passthrough.dir",
	.meta = "PATH",
	.kind = &kind_str,
	.off = OFF(vm_passthrough_dir),
	.flags = KEY_EMPTY,
	.def = "",
	.help = "write each VM's energy as a powercap tree under this directory",
	.doc = "`<dir>/<vm_id>/class/powercap/...` for the VM's guest to read (its "
	       "`power.passthrough.path`); empty is off. See [vms.md](vms.md)",
    },
    {
	.path = "vm.passthrough.includeIdle",
	.kind = &kind_bool,
	.off = OFF(vm_passthrough_include_idle),
	.def = "true",
	.help = "add each running VM's share of the node's idle energy, by vCPUs",
	.doc = "its `-smp` vCPUs over the host's logical CPUs; see [vms.md](vms.md#idle-energy)",
    },
    {
	.path = "vm.passthrough.gracePeriod",
	.kind = &kind_duration,
	.off = OFF(vm_passthrough_grace_ns),
	.max = 24 * HOUR,
	.def = "5m",
	.help = "how long the directory of a VM that is gone stays",
    },
    {
	.path = "vm.passthrough.maxEnergyRangeUJ",
	.kind = &kind_u64,
	.off = OFF(vm_passthrough_max_range_uj),
	.min = 1000000,
	.def = "262143328850",
	.help = "where the VMs' counters wrap, their `max_energy_range_uj`",
	.doc = "the default is a real Intel package's; a smaller one is for tests and for guests "
	       "that need it, and must exceed what a VM uses between two of its guest's reads",
    },
};

/*
 * Kepler 0.11 keys without a meaning here: a file written for Kepler 0.11 loads,
 * and each of these is ignored with a warning that says why (docs/migrating.md).
 * A path ending in '.' covers everything under it.
 */
static const struct {
	const char *path, *why;
} ignored_keys[] = {
    {"monitor.staleness", "every scrape serves the body rendered at the end of the last "
			  "interval, so scrapes within an interval already agree"},
    {"monitor.minTerminatedEnergyThreshold",
     "terminated workloads are bounded by monitor.maxTerminated alone"},
    {"exporter.prometheus.debugCollectors",
     "the agent's process_* metrics are always exported and there is no Go runtime"},
    {"kube.config", "pods come from the kubelet (kube.kubeletURL, kube.tokenFile, kube.caFile), "
		    "not from the API server"},
    {"debug.", "there is no pprof endpoint (profile the agent with perf)"},
    {"dev.", "there is no fake CPU meter (power.sources: [estimator] models a node without "
	     "meters)"},
    {"experimental.", "Kepler 0.11's experimental features are not part of this agent (GPUs: "
		      "power.gpu.*; hwmon: power.sources; Redfish: power.redfish.*, and with "
		      "platform.redfish.enabled: true its configFile and httpTimeout are read as "
		      "power.redfish.nodesFile and timeout)"},
};

static const char *ignored_key(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(ignored_keys); i++) {
		const char *k = ignored_keys[i].path;
		size_t len = strlen(k);

		/* "debug." covers "debug" itself (the mapping) and every key below it. */
		if (k[len - 1] == '.' ? strncmp(path, k, len - 1) == 0 &&
					    (path[len - 1] == '\0' || path[len - 1] == '.')
				      : streq(path, k))
			return ignored_keys[i].why;
	}
	return NULL;
}

/*
 * Each entry warns once at most: a key appears once in a file (a duplicate is an
 * error) and an entry's whole mapping is skipped at its first level.
 */
_Static_assert(ARRAY_SIZE(ignored_keys) <= CONFIG_MAX_WARNINGS, "room for every warning");

/* Keep a warning for main.c. 0 or -ENOMEM. */
static int add_warning(struct kepler_config *cfg, const char *key, const char *why)
{
	struct strbuf sb = STRBUF_INIT;
	size_t len;

	strbuf_printf(&sb, "%s: not supported, ignoring: %s", key, why);
	cfg->warnings[cfg->n_warnings] = strbuf_detach(&sb, &len);
	if (!cfg->warnings[cfg->n_warnings])
		return -ENOMEM;
	cfg->n_warnings++;
	return 0;
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

/* Set k from a value as a flag gives it: a list kind takes it comma-separated. */
static int set_text(struct kepler_config *cfg, const struct key *k, const char *v, char *msg,
		    size_t msz)
{
	_cleanup_free_ char **items = NULL;
	size_t n, bad;
	int r;

	if (k->kind->set)
		return k->kind->set(cfg, k, v, msg, msz);
	r = split_commas(v, &items, &n);
	if (r < 0)
		return r;
	return k->kind->set_list(cfg, k, (const char *const *)items, n, &bad, msg, msz);
}

int config_defaults(struct kepler_config *cfg)
{
	char msg[256];

	*cfg = (struct kepler_config){0};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		int r = set_text(cfg, &keys[i], keys[i].def, msg, sizeof(msg));

		if (r < 0) {
			config_free(cfg);
			return r;
		}
	}
	return 0;
}

void config_free(struct kepler_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->config_file);
	for (size_t i = 0; i < cfg->n_warnings; i++)
		free(cfg->warnings[i]);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (keys[i].kind->release)
			keys[i].kind->release(cfg, &keys[i]);
	memset(cfg, 0, sizeof(*cfg));
}

/* Cross-key checks, after the file and after the flags. */
static int check_config(const struct kepler_config *cfg, char *msg, size_t msz)
{
	if (cfg->estimator_max_watts_per_cpu < cfg->estimator_idle_watts_per_cpu)
		return msgf(msg, msz,
			    "power.estimator: idleWattsPerCPU %g is above maxWattsPerCPU %g",
			    cfg->estimator_idle_watts_per_cpu, cfg->estimator_max_watts_per_cpu);
	return 0;
}

/* Rendering (for --help, the docs table, config_format_value and config_diff) */

static void render(const struct kepler_config *cfg, const struct key *k, bool flag_style,
		   struct strbuf *sb)
{
	bool brackets = k->kind->set_list && !flag_style;

	if (brackets)
		strbuf_putc(sb, '[');
	k->kind->render(cfg, k, flag_style, sb);
	if (brackets)
		strbuf_putc(sb, ']');
}

static const struct key *key_lookup(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (streq(keys[i].path, path))
			return &keys[i];
	return NULL;
}

int config_format_value(const struct kepler_config *cfg, const char *key, char *buf, size_t size)
{
	struct strbuf sb = STRBUF_INIT;
	const struct key *k = key_lookup(key);

	if (!k)
		return -ENOENT;
	render(cfg, k, false, &sb);
	return strbuf_copy_out(&sb, buf, size);
}

bool config_key_reloadable(const char *key)
{
	const struct key *k = key_lookup(key);

	return k && (k->flags & KEY_RELOAD);
}

size_t config_diff(const struct kepler_config *a, const struct kepler_config *b,
		   const char **ret_keys, size_t n)
{
	size_t found = 0;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		struct strbuf sa = STRBUF_INIT, sb = STRBUF_INIT;
		bool differ;

		render(a, &keys[i], false, &sa);
		render(b, &keys[i], false, &sb);
		/* A failed render (no memory) counts as a change: the caller then restarts nothing
		 * it should not, it only logs. */
		differ = sa.err || sb.err || sa.len != sb.len ||
			 (sa.len && memcmp(sa.buf, sb.buf, sa.len) != 0);
		strbuf_release(&sa);
		strbuf_release(&sb);
		if (differ) {
			if (found < n)
				ret_keys[found] = keys[i].path;
			found++;
		}
	}
	return found;
}

/* The type column: the kind, with the range a key accepts. */
static void put_type(const struct key *k, struct strbuf *sb)
{
	strbuf_puts(sb, k->kind->type);
	if (k->kind == &kind_u32 || k->kind == &kind_u64) {
		strbuf_printf(sb, " >= %" PRIu64, k->min);
	} else if (k->kind == &kind_duration) {
		strbuf_puts(sb, ", ");
		put_duration(sb, k->min);
		strbuf_puts(sb, " to ");
		put_duration(sb, k->max);
	} else if (k->flags & KEY_AUTO) {
		strbuf_puts(sb, " or `auto`");
	}
}

int config_print_key_table(FILE *f)
{
	struct kepler_config d;
	struct strbuf sb = STRBUF_INIT;
	int r = config_defaults(&d);

	if (r < 0)
		return r;
	strbuf_puts(&sb, "| key | flag | type | default | reloadable | meaning |\n"
			 "|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct key *k = &keys[i];

		strbuf_printf(&sb, "| `%s` | ", k->path);
		if (k->flag && !k->meta)
			strbuf_printf(&sb, "`--%s[=BOOL]`", k->flag);
		else if (k->flag)
			strbuf_printf(&sb, "`--%s=%s`%s", k->flag, k->meta,
				      k->flags & KEY_REPEAT ? ", repeatable"
				      : k->kind->set_list   ? ", comma-separated"
							    : "");
		strbuf_puts(&sb, " | ");
		put_type(k, &sb);
		strbuf_puts(&sb, " | `");
		render(&d, k, false, &sb);
		strbuf_printf(&sb, "` | %s | %s", k->flags & KEY_RELOAD ? "yes" : "no", k->help);
		if (k->doc)
			strbuf_printf(&sb, "; %s", k->doc);
		strbuf_puts(&sb, " |\n");
	}
	config_free(&d);
	r = strbuf_error(&sb);
	if (r == 0 && fwrite(sb.buf, 1, sb.len, f) != sb.len)
		r = -EIO;
	strbuf_release(&sb);
	return r;
}

/* YAML: the tree is the keys' dotted paths; a mapping is any proper prefix of them. */

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

static int walk_leaf(struct yctx *c, const yaml_node_t *v, const struct key *k)
{
	char msg[512];
	int r;

	if (k->kind->set) {
		const char *s;

		if (v->type != YAML_SCALAR_NODE)
			return yfail(c, -EINVAL, v->start_mark, k->path,
				     "expected a scalar, got %s", yaml_node_kind(v));
		s = scalar_text(v);
		if (!s)
			return yfail(c, -EINVAL, v->start_mark, k->path, "value holds a NUL byte");
		r = k->kind->set(c->cfg, k, s, msg, sizeof(msg));
		if (r == -ENOMEM)
			return yfail(c, r, v->start_mark, k->path, "out of memory");
		if (r < 0)
			return yfail(c, r, v->start_mark, k->path, "%s", msg);
		return 0;
	} else {
		const char *items[LIST_MAX];
		yaml_mark_t marks[LIST_MAX];
		size_t n = 0, bad = SIZE_MAX;

		if (v->type == YAML_SCALAR_NODE && yaml_node_is_null(v)) {
			/* "zones:" with nothing after it: an empty list */
		} else if (v->type != YAML_SEQUENCE_NODE) {
			return yfail(c, -EINVAL, v->start_mark, k->path,
				     "expected a sequence, got %s", yaml_node_kind(v));
		} else {
			for (yaml_node_item_t *it = v->data.sequence.items.start;
			     it < v->data.sequence.items.top; it++) {
				yaml_node_t *item = yaml_document_get_node(c->doc, *it);

				if (!item)
					continue;
				if (n == LIST_MAX)
					return yfail(c, -EINVAL, item->start_mark, k->path,
						     "too many entries (at most %d)", LIST_MAX);
				if (item->type != YAML_SCALAR_NODE)
					return yfail(c, -EINVAL, item->start_mark, k->path,
						     "expected a scalar list entry, got %s",
						     yaml_node_kind(item));
				items[n] = scalar_text(item);
				if (!items[n])
					return yfail(c, -EINVAL, item->start_mark, k->path,
						     "value holds a NUL byte");
				marks[n++] = item->start_mark;
			}
		}
		r = k->kind->set_list(c->cfg, k, items, n, &bad, msg, sizeof(msg));
		if (r == -ENOMEM)
			return yfail(c, r, v->start_mark, k->path, "out of memory");
		if (r < 0)
			return yfail(c, r, bad < n ? marks[bad] : v->start_mark, k->path, "%s",
				     msg);
		return 0;
	}
}

static int walk_map(struct yctx *c, yaml_node_t *m, const char *prefix);

/* The value of key name in mapping m (NULL: absent, or m is no mapping). */
static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *m, const char *name)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    streq((const char *)k->data.scalar.value, name))
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

/* Kepler 0.11's Redfish keys with an equivalent here: read when its Redfish is enabled. */
static const struct {
	const char *name, *key;
} kepler011_redfish[] = {
    {"configFile", "power.redfish.nodesFile"},
    {"httpTimeout", "power.redfish.timeout"},
};

static int apply_kepler011_redfish(struct yctx *c, yaml_node_t *experimental)
{
	yaml_node_t *rf = map_get(c->doc, map_get(c->doc, experimental, "platform"), "redfish");
	yaml_node_t *enabled = map_get(c->doc, rf, "enabled");
	bool on = false;

	if (!enabled || enabled->type != YAML_SCALAR_NODE ||
	    parse_bool(scalar_text(enabled) ? scalar_text(enabled) : "", &on) < 0 || !on)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(kepler011_redfish); i++) {
		yaml_node_t *v = map_get(c->doc, rf, kepler011_redfish[i].name);

		for (size_t k = 0; v && k < ARRAY_SIZE(keys); k++)
			if (streq(keys[k].path, kepler011_redfish[i].key)) {
				int r = walk_leaf(c, v, &keys[k]);

				if (r < 0)
					return r;
			}
	}
	return 0;
}

static int yaml_pair(void *userdata, const char *path, const char *name, yaml_node_t *kn,
		     yaml_node_t *vn)
{
	struct yctx *c = userdata;
	size_t len = strlen(path);
	const char *why = ignored_key(path);
	bool mapping = false;

	if (why) {
		int r = streq(path, "experimental") ? apply_kepler011_redfish(c, vn) : 0;

		if (r < 0)
			return r;
		if (add_warning(c->cfg, path, why) < 0)
			return yfail(c, -ENOMEM, kn->start_mark, path, "out of memory");
		return 0;
	}
	/* A dot inside a name would reach a deeper key: "log.level: x" at the top is unknown. */
	for (size_t i = 0; !strchr(name, '.') && i < ARRAY_SIZE(keys); i++) {
		if (streq(keys[i].path, path))
			return walk_leaf(c, vn, &keys[i]);
		mapping |= strncmp(keys[i].path, path, len) == 0 && keys[i].path[len] == '.';
	}
	if (mapping)
		return walk_map(c, vn, path);
	return yfail(c, -EINVAL, kn->start_mark, NULL, "unknown key \"%s\"", path);
}

static int walk_map(struct yctx *c, yaml_node_t *m, const char *prefix)
{
	struct yaml_walk_error e;
	int r = yaml_walk_map(c->doc, m, prefix, yaml_pair, c, &e);

	if (r < 0 && e.msg[0])
		return yfail(c, r, e.mark, e.key, "%s", e.msg);
	return r;
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
	if (root)
		r = walk_map(&c, root, "");
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

/* Flags: one per key that names one, and these three. */

static const struct {
	const char *name, *meta, *help;
} builtin_flags[] = {
    {"config.file", "PATH", "YAML configuration file"},
    {"version", NULL, "print the version and exit"},
    {"help", NULL, "print this help and exit"},
};

static void usage_line(FILE *f, const char *name, const char *meta, const char *help)
{
	char left[64];

	snprintf(left, sizeof(left), "--%s%s%s", name, meta ? "=" : "", meta ? meta : "");
	fprintf(f, "  %-30s %s", left, help);
}

void config_print_usage(FILE *f)
{
	struct kepler_config d;
	bool have_defaults = config_defaults(&d) == 0;

	fputs("Usage: kepler [flags]\n"
	      "Flags override the configuration file; see docs/configuration.md.\n",
	      f);
	usage_line(f, builtin_flags[0].name, builtin_flags[0].meta, builtin_flags[0].help);
	fputs(" (default: none)\n", f);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct key *k = &keys[i];
		struct strbuf sb = STRBUF_INIT;

		if (!k->flag)
			continue;
		usage_line(f, k->flag, k->meta, k->help);
		if (k->flags & KEY_REPEAT)
			fputs(" (repeatable)", f);
		if (have_defaults) {
			render(&d, k, true, &sb);
			fprintf(f, " (default: %s)",
				sb.len && !sb.err ? sb.buf : (sb.err ? "?" : "none"));
			strbuf_release(&sb);
		}
		fputc('\n', f);
	}
	for (size_t i = 1; i < ARRAY_SIZE(builtin_flags); i++) {
		usage_line(f, builtin_flags[i].name, builtin_flags[i].meta, builtin_flags[i].help);
		fputc('\n', f);
	}
	if (have_defaults)
		config_free(&d);
}

static bool name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncmp(name, want, len) == 0;
}

static const struct key *flag_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (keys[i].flag && name_is(name, len, keys[i].flag))
			return &keys[i];
	return NULL;
}

static int flag_result(const struct key *k, int r, const char *msg, char *err, size_t errsz)
{
	if (r == -ENOMEM)
		return errf(err, errsz, r, "--%s: out of memory", k->flag);
	if (r < 0)
		return errf(err, errsz, r, "--%s: %s", k->flag, msg);
	return 0;
}

struct flag_arg {
	const struct key *key;
	const char *value;
};

static int load(struct kepler_config *cfg, int argc, char **argv, char *err, size_t errsz)
{
	_cleanup_free_ struct flag_arg *args = NULL;
	_cleanup_free_ const char **values = NULL;
	const char *config_file = NULL;
	size_t n_args = 0;
	char msg[512];
	int r;

	args = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*args));
	values = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*values));
	if (!args || !values)
		return errf(err, errsz, -ENOMEM, "out of memory");

	/* Pass 1: syntax only. --help and --version end it where they stand. */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name, *eq, *value;
		const struct key *k;
		size_t len;

		if (streq(a, "--")) {
			if (i + 1 < argc)
				return errf(err, errsz, -EINVAL, "unexpected argument \"%s\"",
					    argv[i + 1]);
			break;
		}
		if (!startswith(a, "--") || a[2] == '-' || a[2] == '=')
			return errf(err, errsz, -EINVAL, "unexpected argument \"%s\"", a);
		name = a + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		if (name_is(name, len, "help") || name_is(name, len, "version")) {
			if (eq)
				return errf(err, errsz, -EINVAL, "--%.*s takes no value", (int)len,
					    name);
			if (name_is(name, len, "help")) {
				config_print_usage(stdout);
				return 1;
			}
			return 2;
		}
		k = flag_lookup(name, len);
		if (!k && !name_is(name, len, "config.file"))
			return errf(err, errsz, -EINVAL, "unknown flag --%.*s", (int)len, name);
		if (k && k->kind == &kind_bool) {
			value = eq ? eq + 1 : "true";
		} else if (eq) {
			value = eq + 1;
		} else if (i + 1 < argc && !startswith(argv[i + 1], "--")) {
			value = argv[++i];
		} else {
			return errf(err, errsz, -EINVAL, "--%.*s: missing value", (int)len, name);
		}
		if (k) {
			args[n_args++] = (struct flag_arg){k, value};
		} else {
			if (!*value)
				return errf(err, errsz, -EINVAL, "--%.*s: missing value", (int)len,
					    name);
			config_file = value;
		}
	}

	/* Pass 2: the file, then every flag over it regardless of its position. */
	if (config_file) {
		_cleanup_free_ char *text = NULL;
		size_t len = 0;

		cfg->config_file = strdup(config_file);
		if (!cfg->config_file)
			return errf(err, errsz, -ENOMEM, "out of memory");
		r = read_file_alloc(config_file, CONFIG_FILE_MAX, &text, &len);
		if (r == -EFBIG)
			return errf(err, errsz, r, "%s: file too large (over %d bytes)",
				    config_file, CONFIG_FILE_MAX);
		if (r < 0)
			return errf(err, errsz, r, "%s: %s", config_file, strerror(-r));
		r = config_parse_yaml(cfg, text, len, err, errsz);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < n_args; i++) {
		if (args[i].key->flags & KEY_REPEAT)
			continue;
		r = set_text(cfg, args[i].key, args[i].value, msg, sizeof(msg));
		r = flag_result(args[i].key, r, msg, err, errsz);
		if (r < 0)
			return r;
	}
	/* A repeated flag's values together replace the key's list. */
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct key *k = &keys[i];
		size_t n = 0, bad;

		if (!(k->flags & KEY_REPEAT))
			continue;
		for (size_t j = 0; j < n_args; j++)
			if (args[j].key == k)
				values[n++] = args[j].value;
		if (n == 0)
			continue;
		r = k->kind->set_list(cfg, k, values, n, &bad, msg, sizeof(msg));
		r = flag_result(k, r, msg, err, errsz);
		if (r < 0)
			return r;
	}
	r = check_config(cfg, msg, sizeof(msg));
	if (r < 0)
		return errf(err, errsz, r, "%s", msg);
	return 0;
}

int config_load(struct kepler_config *cfg, int argc, char **argv, char *err, size_t errsz)
{
	int r;

	if (errsz)
		err[0] = '\0';
	r = config_defaults(cfg);
	if (r < 0)
		return errf(err, errsz, r, "out of memory");
	r = load(cfg, argc, argv, err, errsz);
	if (r != 0)
		config_free(cfg);
	if (r < 0)
		one_line(err);
	return r;
}
