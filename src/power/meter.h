/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Power meters. Each source (rapl, perf, hwmon, acpi, estimator) implements
 * struct power_meter_ops; each read returns cumulative, wrap-safe energy per
 * zone in microjoules that never decreases for the life of the meter.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
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

/*
 * A backend: a new meter (a GPU, a BMC) is one more struct of these ops. Every op
 * that fails says why in err (errsz bytes), in the words an operator needs: what
 * failed (which file, zone, event or device) and why, without the meter's name,
 * which the caller puts in front: "zone package-0: cannot read /sys/class/powercap/
 * intel-rapl:0/energy_uj: Permission denied (energy_uj is root only since Linux
 * 5.10)". err is written only on a failure; an op that leaves it empty gets
 * strerror() of its return value.
 */
struct power_meter_ops {
	const char *name; /* "rapl", "perf", "hwmon", "redfish", "acpi", "estimator", "hypervisor" */
	/* -ENODEV when the hardware is not there; other -errno on faults. */
	int (*open)(struct power_meter **ret, const struct kepler_config *cfg, char *err,
		    size_t errsz);
	/*
	 * Returns 0 or -errno. A zone that cannot be read this time is left out of
	 * out->valid (never reported as zero energy); the meter's next good read
	 * accounts for the energy used meanwhile. Leaving a zone (or the platform)
	 * out is a failure too: err says why for the first one.
	 */
	int (*read)(struct power_meter *m, const struct meter_input *in, struct energy_reading *out,
		    char *err, size_t errsz);
	void (*close)(struct power_meter *m);
};

extern const struct power_meter_ops rapl_meter_ops;
extern const struct power_meter_ops perf_meter_ops;
extern const struct power_meter_ops hwmon_meter_ops;
extern const struct power_meter_ops acpi_meter_ops;
extern const struct power_meter_ops estimator_meter_ops;
extern const struct power_meter_ops redfish_meter_ops;
/* RAPL on power.passthrough.path: a VM's energy as its host attributes it (docs/vms.md). */
extern const struct power_meter_ops hypervisor_meter_ops;

/*
 * Wrap-safe accumulation of a counter that wraps at max_range: given the
 * previous and current raw values, returns the increase. A current value above
 * max_range (a glitch) or max_range == 0 counts a decrease as no increase.
 */
uint64_t counter_delta(uint64_t prev, uint64_t cur, uint64_t max_range);
