/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Power meters. Each source (rapl, perf, hwmon, acpi, estimator) implements
 * struct power_meter_ops; each read returns cumulative, wrap-safe energy per
 * zone in microjoules that never decreases for the life of the meter.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "zone.h"

struct power_meter;

/* What the interval loop knows when it reads the meters. */
struct meter_input {
	uint64_t now_ns; /* CLOCK_MONOTONIC; meters that integrate power over time use it */
	double cpu_util; /* node CPU utilisation over the last interval, 0..1; < 0 unknown */
};

struct energy_reading {
	uint32_t zones;		    /* ZONE_BIT mask of the zones this meter provides */
	uint32_t valid;		    /* ZONE_BIT mask of the zones read successfully this time */
	uint64_t zone_uj[ZONE_MAX]; /* cumulative microjoules, summed across sockets */
	bool has_platform;	    /* the meter measures whole-platform power */
	bool platform_valid;
	uint64_t platform_uj; /* cumulative microjoules */
};

struct power_meter_ops {
	const char *name; /* "rapl", "perf", "hwmon", "acpi", "estimator" */
	/* -ENODEV when the hardware is not there; other -errno on faults. */
	int (*open)(struct power_meter **ret, const struct kepler_config *cfg);
	/*
	 * Returns 0 or -errno. A zone that cannot be read this time is left out of
	 * out->valid (never reported as zero energy); the meter's next good read
	 * accounts for the energy used meanwhile.
	 */
	int (*read)(struct power_meter *m, const struct meter_input *in,
		    struct energy_reading *out);
	void (*close)(struct power_meter *m);
};

extern const struct power_meter_ops rapl_meter_ops;
extern const struct power_meter_ops perf_meter_ops;
extern const struct power_meter_ops hwmon_meter_ops;
extern const struct power_meter_ops acpi_meter_ops;
extern const struct power_meter_ops estimator_meter_ops;

/*
 * Wrap-safe accumulation of a counter that wraps at max_range: given the
 * previous and current raw values, returns the increase. A current value above
 * max_range (a glitch) or max_range == 0 counts a decrease as no increase.
 */
uint64_t counter_delta(uint64_t prev, uint64_t cur, uint64_t max_range);
