/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's GPUs, from the backends power.gpu.sources names (NVIDIA through
 * NVML loaded at run time; AMD and Intel through hwmon and DRM fdinfo): each
 * device's cumulative energy, its utilisation, and the processes that used it
 * in the interval with a usage figure each. A node without GPUs, drivers or
 * libraries has a set of no devices and runs as if GPUs did not exist.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "zone.h"

/* What a device is. Fixed from discovery on. */
struct gpu_info {
	char uuid[96];		   /* NVML's "GPU-..."; DRM devices: "pci-<pci address>" */
	char name[96];		   /* "NVIDIA H200", the hwmon/DRM driver name otherwise */
	char pci[32];		   /* "0000:03:00.0"; "" when unknown */
	const char *vendor;	   /* "nvidia", "amd", "intel" */
	const char *backend;	   /* "nvml", "drm" */
	const char *energy_source; /* "energy_counter", or "power" (readings integrated) */
	const char *usage_source;  /* "sm_utilization", "processes" (even split), "engine_time" */
};

/* One process's use of one device over the interval. */
struct gpu_proc_use {
	uint32_t pid;
	/*
	 * Its use, in a unit the device's backend chooses, comparable between the
	 * processes of one device (SM utilisation samples summed, engine ns, or 1
	 * each when only the list of processes is known).
	 */
	uint64_t weight;
	double util; /* its share of the device's compute over the interval, 0..1; < 0 unknown */
};

/* One device's reading. */
struct gpu_reading {
	bool valid;	    /* energy_uj was read this time */
	bool lost;	    /* the device dropped out (GPU lost, driver gone): no reading */
	uint64_t energy_uj; /* cumulative since discovery: wrap- and reset-safe, never decreasing */
	double util;	    /* the device's utilisation over the interval, 0..1; < 0 unknown */
	/* The processes that used it since the last read; valid until the next read. */
	const struct gpu_proc_use *procs;
	size_t n_procs;
};

/* What the interval loop hands to a read. */
struct gpu_read_input {
	uint64_t now_ns; /* CLOCK_MONOTONIC: power readings are integrated over it */
	/*
	 * The processes that ran since the last read (new ones included): where
	 * DRM clients are looked for, so that 10,000 idle processes cost nothing.
	 */
	const uint32_t *pids;
	size_t n_pids;
};

struct gpus;

/*
 * Open the backends power.gpu.sources names. Missing GPUs, drivers or
 * libraries are no error: the set then has no devices, and info (one line)
 * says what was found and what was not. -errno (err says why) only for memory
 * or a backend that faults after it found devices.
 */
int gpus_new(struct gpus **ret, const struct kepler_config *cfg, char *info, size_t infosz,
	     char *err, size_t errsz);
void gpus_free(struct gpus *g);

size_t gpus_count(const struct gpus *g);
const struct gpu_info *gpus_info(const struct gpus *g, size_t i);

/*
 * Read every device into out[0 .. gpus_count). Returns 0, or -errno when a
 * device could not be read (its reading not valid; the others are read), and
 * gpus_read_error then says why for the first one.
 */
int gpus_read(struct gpus *g, const struct gpu_read_input *in, struct gpu_reading *out);
const char *gpus_read_error(const struct gpus *g);
