/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the GPU backends: the pure parts each backend is built on,
 * declared here so the unit tests drive them from tables and the fuzzers
 * check their invariants.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "power/gpu.h"
#include "power/nvml_api.h"

/* ---- gpu_nvml.c ---- */

/*
 * Fold NVML process utilisation samples into per-process use. Only samples
 * newer than *last_seen_us count (NVML is asked for samples since then; one
 * at or before it is not new). A pid's weight is the sum of its samples'
 * smUtil, each clamped to 100, and its util their mean over 100; pid 0 is
 * left out. *last_seen_us becomes the newest timestamp seen: it never
 * decreases. use needs room for n entries; returns how many it filled, one
 * per pid, in the order of their first new sample.
 */
size_t nvml_fold_samples(const nvmlProcessUtilizationSample_t *s, size_t n, uint64_t *last_seen_us,
			 struct gpu_proc_use *use);

/*
 * Add the pids of a running-process list that use[0 .. n) lacks, each with
 * weight and util; pid 0 and repeats in the list are left out. use needs room
 * for n + m entries. Returns the new count.
 */
size_t nvml_add_procs(struct gpu_proc_use *use, size_t n, const nvmlProcessInfo_t *list, size_t m,
		      uint64_t weight, double util);

/* A device's nvmlDeviceGetTotalEnergyConsumption counter, accumulated. */
struct nvml_energy {
	bool have_last;	  /* last_mj is a baseline */
	uint64_t last_mj; /* the counter's last value (mJ since the driver loaded) */
	uint64_t uj;	  /* accumulated since discovery, never decreasing */
};

/*
 * Take one counter value. The first, and one below the last (the driver
 * reloaded and the counter restarted), only set the baseline; otherwise the
 * increase is added, saturating. Returns the microjoules added.
 */
uint64_t nvml_energy_step(struct nvml_energy *e, uint64_t mj);

/*
 * NVML's PCI bus id ("00000000:3B:00.0", or the legacy "0000:3B:00.0") in the
 * kernel's form ("0000:3b:00.0"). -EINVAL for anything else, out untouched.
 */
int nvml_format_pci(const char *bus_id, char *out, size_t outsz);
