// SPDX-License-Identifier: Apache-2.0
/*
 * RAPL through the perf `power` PMU: one system-wide counter per energy event
 * and package (the CPUs in the PMU's cpumask). The counters are 64-bit and do
 * not wrap; the cumulative count is converted to microjoules on every read, so
 * no rounding accumulates.
 */
#include <ctype.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "power/internal.h"
#include "util/fileio.h"
#include "util/util.h"

#define PMU_DIR "bus/event_source/devices/power"

static const struct {
	const char *suffix;
	enum zone zone;
} perf_events[] = {
    {"pkg", ZONE_PACKAGE}, {"cores", ZONE_CORE}, {"gpu", ZONE_UNCORE},
    {"ram", ZONE_DRAM},	   {"psys", ZONE_PSYS},
};

int perf_event_zone(const char *suffix)
{
	for (size_t i = 0; i < ARRAY_SIZE(perf_events); i++)
		if (streq(perf_events[i].suffix, suffix))
			return perf_events[i].zone;
	return -1;
}

/* The event's suffix for zone z ("pkg"): what its name, energy-<suffix>, says. */
static const char *event_suffix(enum zone z)
{
	for (size_t i = 0; i < ARRAY_SIZE(perf_events); i++)
		if (perf_events[i].zone == z)
			return perf_events[i].suffix;
	return "?";
}

static const char *skip_space(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

int perf_parse_event(const char *s, uint64_t *ret_config)
{
	bool have = false;
	uint64_t config = 0;

	s = skip_space(s);
	while (*s) {
		unsigned long long v;
		char *end;

		if (!startswith(s, "event="))
			return -EINVAL; /* umask= and others: not a power PMU event */
		s += strlen("event=");
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		errno = 0;
		v = strtoull(s, &end, 0);
		if (errno || v > 0xff || have)
			return -EINVAL; /* format/event is config:0-7 */
		config = v;
		have = true;
		s = skip_space(end);
		if (*s == ',')
			s = skip_space(s + 1);
		else if (*s)
			return -EINVAL;
	}
	if (!have)
		return -EINVAL;
	*ret_config = config;
	return 0;
}

int perf_parse_scale(const char *s, double *ret_scale)
{
	double v;
	char *end;

	s = skip_space(s);
	if (!*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v <= 0)
		return -EINVAL;
	if (*skip_space(end))
		return -EINVAL;
	*ret_scale = v;
	return 0;
}

int perf_parse_unit(const char *s)
{
	size_t len;

	s = skip_space(s);
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	return len == strlen("Joules") && strncmp(s, "Joules", len) == 0 ? 0 : -EINVAL;
}

int perf_parse_cpumask(const char *s, int *cpus, size_t max, size_t *ret_n)
{
	size_t n = 0;

	s = skip_space(s);
	if (!*s)
		return -EINVAL;
	for (;;) {
		unsigned long a, b;
		char *end;

		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		errno = 0;
		a = strtoul(s, &end, 10);
		if (errno || a > 1u << 20)
			return -EINVAL;
		b = a;
		s = end;
		if (*s == '-') {
			s++;
			if (!isdigit((unsigned char)*s))
				return -EINVAL;
			b = strtoul(s, &end, 10);
			if (errno || b > 1u << 20 || b < a)
				return -EINVAL;
			s = end;
		}
		for (unsigned long c = a; c <= b; c++) {
			if (n == max)
				return -E2BIG;
			cpus[n++] = (int)c;
		}
		s = skip_space(s);
		if (*s == '\0')
			break;
		if (*s != ',')
			return -EINVAL;
		s++;
	}
	*ret_n = n;
	return 0;
}

uint64_t perf_count_to_uj(uint64_t count, double scale)
{
	long double uj = (long double)count * (long double)scale * 1e6L;

	if (!(uj >= 0))
		return 0;
	if (uj >= 18446744073709551615.0L)
		return UINT64_MAX;
	return (uint64_t)uj;
}

static int no_pmu(const char *sysfs, char *err, size_t errsz)
{
	return errf(err, errsz, -ENODEV, "no power PMU with energy events under %s/" PMU_DIR,
		    sysfs);
}

static int cannot_parse(const char *sysfs, const char *rel, const char *text, char *err,
			size_t errsz)
{
	return errf(err, errsz, -EINVAL, "%s/%s: cannot parse \"%s\"", sysfs, rel, text);
}

int perf_discover(const char *sysfs, uint32_t zone_mask, struct perf_pmu_desc *ret, char *err,
		  size_t errsz)
{
	_cleanup_free_ char **names = NULL;
	struct perf_pmu_desc d = {0};
	char buf[256], rel[160];
	uint64_t type;
	size_t n;
	int r;

	if (!power_is_dir(sysfs, PMU_DIR))
		return no_pmu(sysfs, err, errsz);
	r = read_u64_at(sysfs, PMU_DIR "/type", &type);
	if (r == -ENOENT)
		return no_pmu(sysfs, err, errsz);
	if (r < 0 && r != -EINVAL)
		return meter_fail_read(err, errsz, r, sysfs, PMU_DIR "/type");
	if (r < 0 || type > UINT32_MAX)
		return errf(err, errsz, -EINVAL, "%s/" PMU_DIR "/type: not a PMU type number",
			    sysfs);
	d.type = (uint32_t)type;
	r = read_line_at(sysfs, PMU_DIR "/cpumask", buf, sizeof(buf));
	if (r < 0)
		return meter_fail_read(err, errsz, r, sysfs, PMU_DIR "/cpumask");
	r = perf_parse_cpumask(buf, d.cpus, PERF_MAX_CPUS, &d.n_cpus);
	if (r == -E2BIG)
		return errf(err, errsz, r, "%s/" PMU_DIR "/cpumask: more than %d CPUs", sysfs,
			    PERF_MAX_CPUS);
	if (r < 0)
		return cannot_parse(sysfs, PMU_DIR "/cpumask", buf, err, errsz);
	r = power_list_dir(sysfs, PMU_DIR "/events", &names, &n);
	if (r == -ENOENT)
		return no_pmu(sysfs, err, errsz);
	if (r < 0)
		return errf(err, errsz, r, "cannot list %s/" PMU_DIR "/events: %s", sysfs,
			    strerror(-r));
	for (size_t i = 0; i < n; i++) {
		struct perf_event_desc *e;
		int z;

		/* energy-pkg (not energy-pkg.scale / .unit) */
		if (!startswith(names[i], "energy-") || strchr(names[i], '.'))
			continue;
		z = perf_event_zone(names[i] + strlen("energy-"));
		if (z < 0 || (zone_mask && !(zone_mask & ZONE_BIT(z))) || d.n_events == ZONE_MAX)
			continue;
		e = &d.events[d.n_events];
		e->zone = (enum zone)z;
		snprintf(rel, sizeof(rel), PMU_DIR "/events/%s", names[i]);
		r = read_line_at(sysfs, rel, buf, sizeof(buf));
		if (r < 0)
			return meter_fail_read(err, errsz, r, sysfs, rel);
		if (perf_parse_event(buf, &e->config) < 0)
			return cannot_parse(sysfs, rel, buf, err, errsz);
		snprintf(rel, sizeof(rel), PMU_DIR "/events/%s.scale", names[i]);
		r = read_line_at(sysfs, rel, buf, sizeof(buf));
		if (r < 0)
			return meter_fail_read(err, errsz, r, sysfs, rel);
		if (perf_parse_scale(buf, &e->scale) < 0)
			return cannot_parse(sysfs, rel, buf, err, errsz);
		snprintf(rel, sizeof(rel), PMU_DIR "/events/%s.unit", names[i]);
		r = read_line_at(sysfs, rel, buf, sizeof(buf));
		if (r >= 0 && perf_parse_unit(buf) < 0)
			return errf(err, errsz, -EINVAL, "%s/%s: unit \"%s\", not Joules", sysfs,
				    rel, buf);
		d.n_events++;
	}
	if (d.n_events == 0)
		return no_pmu(sysfs, err, errsz);
	*ret = d;
	return 0;
}

struct perf_counter {
	int fd;
	uint64_t base; /* count at open */
};

struct perf_meter {
	struct power_meter base;
	struct perf_pmu_desc desc;
	struct perf_counter counters[ZONE_MAX][PERF_MAX_CPUS];
	uint64_t last_uj[ZONE_MAX];
};

static int read_count(int fd, uint64_t *ret)
{
	uint64_t v;
	ssize_t k = read(fd, &v, sizeof(v));

	if (k < 0)
		return -errno;
	if (k != sizeof(v))
		return -EIO;
	*ret = v;
	return 0;
}

static void perf_close(struct power_meter *pm)
{
	struct perf_meter *m = power_meter_container(pm, struct perf_meter);

	if (!m)
		return;
	for (size_t e = 0; e < ZONE_MAX; e++)
		for (size_t c = 0; c < PERF_MAX_CPUS; c++)
			if (m->counters[e][c].fd >= 0)
				close(m->counters[e][c].fd);
	free(m);
}

/* Why counter (event e, CPU c) failed with r; at is the step: "perf_event_open of", "cannot read".
 */
static int counter_fail(const struct perf_meter *m, size_t e, size_t c, const char *at, int r,
			char *err, size_t errsz)
{
	const struct perf_event_desc *ev = &m->desc.events[e];

	return errf(err, errsz, r, "%s power/energy-%s/ (type %u, config 0x%llx) on CPU %d: %s%s",
		    at, event_suffix(ev->zone), m->desc.type, (unsigned long long)ev->config,
		    m->desc.cpus[c], strerror(-r),
		    r == -EACCES ? " (needs CAP_PERFMON or kernel.perf_event_paranoid <= 0)" : "");
}

static int perf_open(struct power_meter **ret, const struct kepler_config *cfg, char *err,
		     size_t errsz)
{
	struct perf_meter *m;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->base.ops = &perf_meter_ops;
	for (size_t e = 0; e < ZONE_MAX; e++)
		for (size_t c = 0; c < PERF_MAX_CPUS; c++)
			m->counters[e][c].fd = -1;
	r = perf_discover(cfg->host_sysfs, cfg->rapl_zones, &m->desc, err, errsz);
	if (r < 0)
		goto fail;
	for (size_t e = 0; e < m->desc.n_events; e++) {
		for (size_t c = 0; c < m->desc.n_cpus; c++) {
			struct perf_event_attr attr = {
			    .type = m->desc.type,
			    .size = sizeof(attr),
			    .config = m->desc.events[e].config,
			};
			struct perf_counter *pc = &m->counters[e][c];

			pc->fd = (int)syscall(SYS_perf_event_open, &attr, -1, m->desc.cpus[c], -1,
					      PERF_FLAG_FD_CLOEXEC);
			if (pc->fd < 0) {
				r = counter_fail(m, e, c, "perf_event_open of",
						 errno == EPERM ? -EACCES : -errno, err, errsz);
				goto fail;
			}
			r = read_count(pc->fd, &pc->base);
			if (r < 0) {
				counter_fail(m, e, c, "cannot read", r, err, errsz);
				goto fail;
			}
		}
		m->base.zones |= ZONE_BIT(m->desc.events[e].zone);
	}
	*ret = &m->base;
	return 0;
fail:
	perf_close(&m->base);
	return r;
}

static int perf_read(struct power_meter *pm, const struct meter_input *in,
		     struct energy_reading *out, char *err, size_t errsz)
{
	struct perf_meter *m = power_meter_container(pm, struct perf_meter);
	int first_err = 0;

	(void)in;
	*out = (struct energy_reading){.zones = m->base.zones};
	for (size_t e = 0; e < m->desc.n_events; e++) {
		const struct perf_event_desc *ev = &m->desc.events[e];
		uint64_t uj = 0;
		bool ok = true;

		for (size_t c = 0; c < m->desc.n_cpus; c++) {
			struct perf_counter *pc = &m->counters[e][c];
			uint64_t v = 0;
			int r = read_count(pc->fd, &v);

			if (r < 0) {
				ok = false;
				if (!first_err)
					first_err =
					    counter_fail(m, e, c, "cannot read", r, err, errsz);
				break;
			}
			/* Each package's count converted alone: scales could differ. */
			uj += perf_count_to_uj(v >= pc->base ? v - pc->base : 0, ev->scale);
		}
		if (!ok) {
			out->zone_uj[ev->zone] = m->last_uj[ev->zone];
			continue;
		}
		if (uj < m->last_uj[ev->zone])
			uj = m->last_uj[ev->zone];
		m->last_uj[ev->zone] = uj;
		out->zone_uj[ev->zone] = uj;
		out->valid |= ZONE_BIT(ev->zone);
	}
	return out->valid ? 0 : first_err;
}

const struct power_meter_ops perf_meter_ops = {
    .name = "perf",
    .open = perf_open,
    .read = perf_read,
    .close = perf_close,
};
