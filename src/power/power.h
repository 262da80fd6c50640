/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's set of power meters, chosen from power.sources: per CPU zone the
 * best meter that offers it (hypervisor > perf > rapl > hwmon), the estimator
 * when no meter offers any zone, and for the whole platform a Redfish BMC, else
 * the ACPI power meter, else the psys zone.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "power/meter.h"

struct power;

struct power_sample {
	uint32_t zones;			   /* ZONE_BIT mask of CPU zones the node reports */
	uint32_t valid;			   /* zones read successfully this time */
	uint64_t zone_uj[ZONE_MAX];	   /* cumulative, wrap-safe, never decreasing */
	const char *zone_source[ZONE_MAX]; /* meter name per zone, for error metrics */
	bool has_platform;
	bool platform_valid;
	uint64_t platform_uj;
	const char *platform_source; /* "acpi", "psys" */
};

/* Room for one meter's message, "<meter>: <why>". */
#define POWER_ERR_MAX 512

/*
 * Open the meters power.sources asks for. With [auto], the best available and
 * the estimator as last resort; an explicit source that cannot be opened is an
 * error, described in one line in err, in the meter's own words (e.g.
 * "power.sources: rapl: no powercap zones under /sys/class/powercap").
 */
int power_new(struct power **ret, const struct kepler_config *cfg, char *err, size_t errsz);

/* Read every meter. Returns 0, or -errno when no meter could be read at all. */
int power_read(struct power *p, const struct meter_input *in, struct power_sample *out);
/*
 * Why the last power_read left a zone or the platform unread, in the first
 * failing meter's words ("rapl: zone package-0: cannot read /sys/class/
 * powercap/intel-rapl:0/energy_uj: Permission denied ..."); "" when all read.
 */
const char *power_read_error(const struct power *p);

/* "hypervisor", "rapl", "perf", "hwmon" or "estimator": the meter that serves most CPU zones. */
const char *power_cpu_source(const struct power *p);
/*
 * The platform's meter: "acpi"; else "psys" when a CPU meter serves the psys zone
 * (its energy is the platform's too); "none" without either.
 */
const char *power_platform_source(const struct power *p);

/*
 * A model's own idle power for zone z (the estimator knows it exactly), or -1
 * when a measurement serves the zone and its idle power must be learned.
 */
double power_model_idle_watts(const struct power *p, enum zone z);

void power_free(struct power *p);
