/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A GPU backend: one per way of reading GPUs (nvml, drm). gpu.c opens the
 * ones power.gpu.sources names and numbers their devices.
 */
#pragma once

#include <stddef.h>

#include "config.h"
#include "power/gpu.h"

struct gpu_backend;

struct gpu_backend_ops {
	const char *name; /* "nvml", "drm" */
	/*
	 * Discover the devices. -ENODEV when there are none (no library, no
	 * driver, no device): err then says what was missing, for the startup
	 * line. Other -errno for faults.
	 */
	int (*open)(struct gpu_backend **ret, const struct kepler_config *cfg, char *err,
		    size_t errsz);
	size_t (*count)(const struct gpu_backend *b);
	const struct gpu_info *(*info)(const struct gpu_backend *b, size_t i);
	/*
	 * Read every device into out[0 .. count). A device that cannot be read
	 * this time is not valid (never zero energy: the next good read carries
	 * what it missed, or nothing when the counter reset); the others are
	 * still read. Returns 0, or -errno with err saying why for the first
	 * device that failed ("GPU 1 (GPU-...): nvmlDeviceGetPowerUsage: GPU is
	 * lost"), without the backend's name, which the caller puts in front.
	 */
	int (*read)(struct gpu_backend *b, const struct gpu_read_input *in, struct gpu_reading *out,
		    char *err, size_t errsz);
	void (*close)(struct gpu_backend *b);
};

extern const struct gpu_backend_ops nvml_gpu_ops;
extern const struct gpu_backend_ops drm_gpu_ops;
