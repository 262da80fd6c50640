// SPDX-License-Identifier: Apache-2.0
/*
 * The node's set of meters: which sources power.sources opens, which meter
 * serves each CPU zone (hypervisor > perf > rapl > hwmon > estimator), and
 * samples that never decrease whatever the meters do.
 */
#include "power/power.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "power/internal.h"
#include "util/strbuf.h"
#include "util/util.h"

/*
 * Zone priority order; redfish and acpi serve only the platform, redfish first:
 * it is opened whenever power.redfish.endpoint (or nodesFile) is set.
 */
enum { M_HYPERVISOR, M_PERF, M_RAPL, M_HWMON, M_REDFISH, M_ACPI, M_ESTIMATOR, M_MAX };

static const struct {
	const struct power_meter_ops *ops;
	enum power_source source;
} meter_table[M_MAX] = {
    /* A VM's tree from its host, where it has one: the guest's hardware tells nothing. */
    [M_HYPERVISOR] = {&hypervisor_meter_ops, POWER_SOURCE_HYPERVISOR},
    [M_PERF] = {&perf_meter_ops, POWER_SOURCE_PERF},
    [M_RAPL] = {&rapl_meter_ops, POWER_SOURCE_RAPL},
    [M_HWMON] = {&hwmon_meter_ops, POWER_SOURCE_HWMON},
    [M_REDFISH] = {&redfish_meter_ops, POWER_SOURCE_MAX}, /* not in power.sources */
    [M_ACPI] = {&acpi_meter_ops, POWER_SOURCE_ACPI},
    [M_ESTIMATOR] = {&estimator_meter_ops, POWER_SOURCE_ESTIMATOR},
};

struct power {
	struct power_meter *meters[M_MAX]; /* NULL: not open */
	uint32_t serves[M_MAX];		   /* zones each meter serves */
	uint32_t zones;
	int zone_meter[ZONE_MAX];
	uint64_t last_uj[ZONE_MAX];
	int platform_meter; /* -1: none */
	bool platform_psys; /* no platform meter: RAPL's psys zone is the platform */
	uint64_t last_platform_uj;
	char read_err[POWER_ERR_MAX]; /* why the last read left something out; "" none */
};

/*
 * "<meter>: <why>" into out: the meter's own words, or the errno text of r when
 * it said nothing.
 */
static void say_why(char *out, size_t outsz, int m, const char *why, int r)
{
	snprintf(out, outsz, "%s: %s", meter_table[m].ops->name,
		 why[0] ? why : strerror(r < 0 ? -r : EIO));
}

static void zone_list(struct strbuf *sb, uint32_t mask)
{
	bool first = true;

	for (int z = 0; z < ZONE_MAX; z++)
		if (mask & ZONE_BIT(z)) {
			strbuf_printf(sb, "%s%s", first ? "" : ",", zone_names[z]);
			first = false;
		}
}

static void log_opened(const struct power *p)
{
	struct strbuf sb = STRBUF_INIT;
	bool any = false;

	strbuf_puts(&sb, "power:");
	for (int m = 0; m < M_MAX; m++) {
		if (!p->serves[m])
			continue;
		strbuf_puts(&sb, any ? "; " : " cpu zones ");
		zone_list(&sb, p->serves[m]);
		strbuf_printf(&sb, " from %s", meter_table[m].ops->name);
		any = true;
	}
	if (!any)
		strbuf_puts(&sb, " no cpu zones");
	if (p->platform_meter >= 0 || p->platform_psys)
		strbuf_printf(&sb, "; platform from %s", power_platform_source(p));
	else
		strbuf_puts(&sb, "; no platform meter");
	if (!strbuf_error(&sb))
		log_info("%s", sb.buf);
	strbuf_release(&sb);
}

int power_new(struct power **ret, const struct kepler_config *cfg, char *err, size_t errsz)
{
	bool want[M_MAX] = {false}, explicit[M_MAX] = {false}, is_auto = false;
	char why[POWER_ERR_MAX];
	struct power *p;
	int r;

	if (err && errsz)
		err[0] = '\0';
	for (size_t i = 0; i < cfg->n_sources; i++) {
		if (cfg->sources[i] == POWER_SOURCE_AUTO) {
			is_auto = true;
			continue;
		}
		for (int m = 0; m < M_MAX; m++)
			if (meter_table[m].source == cfg->sources[i])
				explicit[m] = want[m] = true;
	}
	if (is_auto)
		want[M_HYPERVISOR] = want[M_PERF] = want[M_RAPL] = want[M_HWMON] = want[M_ACPI] =
		    true;
	/* A configured BMC is wanted whatever power.sources says; its faults are fatal. */
	if ((cfg->redfish_endpoint && *cfg->redfish_endpoint) ||
	    (cfg->redfish_nodes_file && *cfg->redfish_nodes_file))
		explicit[M_REDFISH] = want[M_REDFISH] = true;
	/* power.passthrough.path's default is used when it is there; any other path must be. */
	if (cfg->passthrough_path && !streq(cfg->passthrough_path, POWER_PASSTHROUGH_PATH_DEFAULT))
		explicit[M_HYPERVISOR] = want[M_HYPERVISOR] = true;
	if (cfg->n_sources == 0) {
		if (err && errsz)
			snprintf(err, errsz, "power.sources: empty list");
		return -EINVAL;
	}

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->platform_meter = -1;
	for (int m = 0; m < M_MAX; m++) {
		/* The estimator stands in only when no hardware meter offers a CPU zone. */
		if (m == M_ESTIMATOR && !explicit[m]) {
			bool any = false;

			for (int k = 0; k < M_ESTIMATOR; k++)
				if (p->meters[k] && p->meters[k]->zones)
					any = true;
			if (!is_auto || any)
				continue;
		} else if (!want[m]) {
			continue;
		}
		why[0] = '\0';
		r = meter_table[m].ops->open(&p->meters[m], cfg, why, sizeof(why));
		if (r < 0) {
			char msg[POWER_ERR_MAX];

			p->meters[m] = NULL;
			say_why(msg, sizeof(msg), m, why, r);
			/* auto: a failed estimator is fatal only when nothing else measures. */
			if (explicit[m] ||
			    (m == M_ESTIMATOR && !p->meters[M_ACPI] && !p->meters[M_REDFISH])) {
				if (err && errsz)
					snprintf(err, errsz, "%s%s",
						 m == M_REDFISH ? "" : "power.sources: ", msg);
				power_free(p);
				return r;
			}
			if (r != -ENODEV)
				log_warn("%s, ignoring", msg);
		}
	}

	for (int z = 0; z < ZONE_MAX; z++) {
		p->zone_meter[z] = -1;
		for (int m = 0; m < M_MAX; m++)
			if (p->meters[m] && (p->meters[m]->zones & ZONE_BIT(z))) {
				p->zone_meter[z] = m;
				p->serves[m] |= ZONE_BIT(z);
				p->zones |= ZONE_BIT(z);
				break;
			}
	}
	for (int m = 0; m < M_MAX; m++)
		if (p->meters[m] && p->meters[m]->has_platform && p->platform_meter < 0)
			p->platform_meter = m;
	p->platform_psys = p->platform_meter < 0 && (p->zones & ZONE_BIT(ZONE_PSYS));
	/* Meters that serve nothing are not read. */
	for (int m = 0; m < M_MAX; m++)
		if (p->meters[m] && !p->serves[m] && p->platform_meter != m) {
			meter_table[m].ops->close(p->meters[m]);
			p->meters[m] = NULL;
		}
	log_opened(p);
	*ret = p;
	return 0;
}

int power_read(struct power *p, const struct meter_input *in, struct power_sample *out)
{
	int first_err = 0;
	bool any_ok = false;

	*out = (struct power_sample){
	    .zones = p->zones,
	    .has_platform = p->platform_meter >= 0 || p->platform_psys,
	    .platform_source = power_platform_source(p),
	};
	p->read_err[0] = '\0';
	for (int m = 0; m < M_MAX; m++) {
		struct energy_reading rd = {0};
		char why[POWER_ERR_MAX] = "";
		int r;

		if (!p->meters[m])
			continue;
		r = meter_table[m].ops->read(p->meters[m], in, &rd, why, sizeof(why));
		if (!p->read_err[0] &&
		    (r < 0 || rd.valid != rd.zones || (rd.has_platform && !rd.platform_valid)))
			say_why(p->read_err, sizeof(p->read_err), m, why, r);
		if (r < 0) {
			if (!first_err)
				first_err = r;
			continue;
		}
		any_ok = true;
		for (int z = 0; z < ZONE_MAX; z++) {
			if (p->zone_meter[z] != m || !(rd.valid & ZONE_BIT(z)))
				continue;
			if (rd.zone_uj[z] > p->last_uj[z])
				p->last_uj[z] = rd.zone_uj[z];
			out->valid |= ZONE_BIT(z);
		}
		if (p->platform_meter == m && rd.has_platform && rd.platform_valid) {
			if (rd.platform_uj > p->last_platform_uj)
				p->last_platform_uj = rd.platform_uj;
			out->platform_valid = true;
		}
	}
	for (int z = 0; z < ZONE_MAX; z++) {
		out->zone_uj[z] = p->last_uj[z];
		out->zone_source[z] =
		    p->zone_meter[z] >= 0 ? meter_table[p->zone_meter[z]].ops->name : NULL;
	}
	out->platform_uj = p->last_platform_uj;
	if (p->platform_psys) {
		out->platform_valid = out->valid & ZONE_BIT(ZONE_PSYS);
		out->platform_uj = out->zone_uj[ZONE_PSYS];
	}
	return any_ok || !first_err ? 0 : first_err;
}

const char *power_cpu_source(const struct power *p)
{
	int best = -1;

	if (p->zone_meter[ZONE_PACKAGE] >= 0)
		return meter_table[p->zone_meter[ZONE_PACKAGE]].ops->name;
	for (int m = 0; m < M_MAX; m++)
		if (p->serves[m] && (best < 0 || __builtin_popcount(p->serves[m]) >
						     __builtin_popcount(p->serves[best])))
			best = m;
	return best >= 0 ? meter_table[best].ops->name : "none";
}

const char *power_read_error(const struct power *p)
{
	return p->read_err;
}

const char *power_platform_source(const struct power *p)
{
	if (p->platform_meter >= 0)
		return meter_table[p->platform_meter].ops->name;
	return p->platform_psys ? "psys" : "none";
}

void power_free(struct power *p)
{
	if (!p)
		return;
	for (int m = 0; m < M_MAX; m++)
		if (p->meters[m])
			meter_table[m].ops->close(p->meters[m]);
	free(p);
}

double power_model_idle_watts(const struct power *p, enum zone z)
{
	const struct power_meter *m;

	if (!(p->zones & ZONE_BIT(z)) || p->zone_meter[z] < 0)
		return -1;
	m = p->meters[p->zone_meter[z]];
	return m && m->model ? m->model_idle_w : -1;
}
