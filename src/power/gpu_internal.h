/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the GPU backends: the pure parts each backend is built on,
 * declared here so the unit tests drive them from tables and the fuzzers
 * check their invariants, and what the tests and benchmarks need to see
 * inside a backend.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "power/gpu_backend.h"
#include "power/nvml_api.h"

/* ---- DRM fdinfo (gpu_fdinfo.c) and the drm backend (gpu_drm.c) ---- */

/* At most this many engines per fdinfo text; further engine names are ignored. */
#define DRM_FDINFO_MAX_ENGINES 16
/* Longest engine name kept (longer ones are skipped): "video-enhance", "rcs". */
#define DRM_ENGINE_NAME_MAX 24

/* Which of an engine's keys were present. */
enum {
	DRM_ENGINE_HAS_NS = 1 << 0,	/* drm-engine-<name> */
	DRM_ENGINE_HAS_CYCLES = 1 << 1, /* drm-cycles-<name> */
	DRM_ENGINE_HAS_TOTAL = 1 << 2,	/* drm-total-cycles-<name> */
};

struct drm_fdinfo_engine {
	char name[DRM_ENGINE_NAME_MAX];
	unsigned has;	       /* DRM_ENGINE_HAS_* */
	uint32_t capacity;     /* drm-engine-capacity-<name>: engines of the class, 1 when absent */
	uint64_t ns;	       /* drm-engine-<name>: busy time, ns */
	uint64_t cycles;       /* drm-cycles-<name>: busy GPU cycles (xe) */
	uint64_t total_cycles; /* drm-total-cycles-<name>: GPU timestamp of that figure (xe) */
};

/* What one DRM fd's fdinfo says. */
struct drm_fdinfo {
	char driver[32]; /* drm-driver */
	char pdev[32];	 /* drm-pdev: "0000:03:00.0"; "" when absent */
	uint64_t client_id;
	size_t n_engines;
	struct drm_fdinfo_engine engines[DRM_FDINFO_MAX_ENGINES];
};

/*
 * Parse one /proc/<pid>/fdinfo/<fd> text (see the kernel's drm-usage-stats).
 * A line that cannot be read (bad number, unknown unit, a name too long) is
 * skipped; unknown keys are ignored; a key seen twice keeps its last value.
 * -ENOENT when the text has no drm-driver or drm-client-id: not a DRM fd.
 */
int drm_fdinfo_parse(const char *text, struct drm_fdinfo *ret);

/*
 * A pid in the cache is scanned again (its fd directory listed for new DRM
 * fds) when it runs and this many reads have passed since its last scan:
 * about a minute at the 5 s interval.
 */
#define DRM_RESCAN_READS 12
/*
 * At most this many such rescans per read, so that 10,000 busy processes cost
 * 256 stat() calls (and a directory listing for those whose fd count changed)
 * a read rather than 10,000 / 12; the others wait for a later read.
 */
#define DRM_RESCAN_MAX_PER_READ 256
/*
 * First scans a read: at 20-40 us each, 10,000 processes at start (or a fork
 * storm) cost at most ~10 ms a read, for 40 reads; the rest are scanned when
 * they next run.
 */
#define DRM_FIRST_SCANS_MAX_PER_READ 256

/* What the drm backend has done so far, for tests and benchmarks. */
struct drm_gpu_stats {
	uint64_t scans;		/* fd directories listed */
	uint64_t fd_count_hits; /* rescans skipped: the same number of fds open as at the last */
	uint64_t fdinfo_reads;	/* fdinfo files read */
	size_t pids;		/* pids in the cache */
	size_t holders;		/* of them, those holding DRM fds */
	size_t clients;		/* distinct (device, drm-client-id) seen at the last read */
};

void drm_gpu_stats(const struct gpu_backend *b, struct drm_gpu_stats *ret);

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
