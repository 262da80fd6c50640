// SPDX-License-Identifier: Apache-2.0
/*
 * The estimator: a linear model of package power for nodes with no meter
 * (virtual machines). P = idle + (max - idle) * util with idle and max scaled
 * by the logical CPUs online, integrated over time. It is an estimate and the
 * exported cpu_power_source says so.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "power/internal.h"
#include "util/procstat.h"
#include "util/util.h"

double estimator_power_w(unsigned ncpus, double idle_w_per_cpu, double max_w_per_cpu, double util)
{
	double idle = ncpus * idle_w_per_cpu, max = ncpus * max_w_per_cpu;

	if (!(util >= 0)) /* also NaN */
		util = 0;
	if (util > 1)
		util = 1;
	if (idle < 0)
		idle = 0;
	if (max < idle)
		max = idle;
	return idle + (max - idle) * util;
}

struct estimator_meter {
	struct power_meter base;
	char *procfs;
	double idle_w, max_w;
	unsigned ncpus;
	uint64_t busy, idle; /* ticks at the last good read */
	double util;	     /* the last utilisation computed from ticks */
	bool have_ns;
	uint64_t last_ns;
	long double uj;
};

static int sample(struct estimator_meter *m, unsigned *ret_ncpus, uint64_t *ret_busy,
		  uint64_t *ret_idle, char *err, size_t errsz)
{
	struct cpu_times t;
	int r;

	r = procstat_read(m->procfs, &t, ret_ncpus);
	if (r < 0)
		return meter_fail_read(err, errsz, r, m->procfs, "stat");
	if (*ret_ncpus == 0)
		return errf(err, errsz, -EINVAL, "%s/stat: no cpuN lines", m->procfs);
	*ret_busy = cpu_times_busy(&t);
	*ret_idle = cpu_times_idle(&t);
	return 0;
}

static void estimator_close(struct power_meter *pm)
{
	struct estimator_meter *m = power_meter_container(pm, struct estimator_meter);

	if (!m)
		return;
	free(m->procfs);
	free(m);
}

static int estimator_open(struct power_meter **ret, const struct kepler_config *cfg, char *err,
			  size_t errsz)
{
	struct estimator_meter *m;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->base.ops = &estimator_meter_ops;
	m->base.zones = ZONE_BIT(ZONE_PACKAGE);
	m->idle_w = cfg->estimator_idle_watts_per_cpu;
	m->max_w = cfg->estimator_max_watts_per_cpu;
	m->procfs = strdup(cfg->host_procfs);
	if (!m->procfs) {
		estimator_close(&m->base);
		return -ENOMEM;
	}
	r = sample(m, &m->ncpus, &m->busy, &m->idle, err, errsz);
	if (r < 0) {
		estimator_close(&m->base);
		return r;
	}
	m->base.model = true;
	m->base.model_idle_w = estimator_power_w(m->ncpus, m->idle_w, m->max_w, 0);
	*ret = &m->base;
	return 0;
}

static int estimator_read(struct power_meter *pm, const struct meter_input *in,
			  struct energy_reading *out, char *err, size_t errsz)
{
	struct estimator_meter *m = power_meter_container(pm, struct estimator_meter);
	uint64_t busy, idle;
	unsigned ncpus;
	double util;
	int r;

	*out = (struct energy_reading){.zones = m->base.zones};
	r = sample(m, &ncpus, &busy, &idle, err, errsz);
	if (r < 0) {
		/* Invalid this time; the next good read covers the time since the last. */
		out->zone_uj[ZONE_PACKAGE] = (uint64_t)m->uj;
		return r;
	}
	if (busy >= m->busy && idle >= m->idle && busy - m->busy + (idle - m->idle) > 0)
		m->util = (double)(busy - m->busy) / (double)(busy - m->busy + (idle - m->idle));
	m->busy = busy;
	m->idle = idle;
	m->ncpus = ncpus;
	util = in->cpu_util >= 0 ? in->cpu_util : m->util;
	if (m->have_ns && in->now_ns > m->last_ns) {
		double w = estimator_power_w(ncpus, m->idle_w, m->max_w, util);

		m->uj += (long double)w * (long double)(in->now_ns - m->last_ns) / 1000.0L;
	}
	if (!m->have_ns || in->now_ns > m->last_ns) {
		m->last_ns = in->now_ns;
		m->have_ns = true;
	}
	out->zone_uj[ZONE_PACKAGE] = (uint64_t)m->uj;
	out->valid = m->base.zones;
	return 0;
}

const struct power_meter_ops estimator_meter_ops = {
    .name = "estimator",
    .open = estimator_open,
    .read = estimator_read,
    .close = estimator_close,
};
