/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the GPU backends: the pure parsers each backend is built on,
 * and what the unit tests and benchmarks need to see inside a backend.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "power/gpu_backend.h"

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
 * 64 directory listings a read rather than 10,000 / 12; the others wait for a
 * later read. Processes seen for the first time are always scanned.
 */
#define DRM_RESCAN_MAX_PER_READ 64

/* What the drm backend has done so far, for tests and benchmarks. */
struct drm_gpu_stats {
	uint64_t scans;	       /* fd directories listed */
	uint64_t fdinfo_reads; /* fdinfo files read */
	size_t pids;	       /* pids in the cache */
	size_t holders;	       /* of them, those holding DRM fds */
	size_t clients;	       /* distinct (device, drm-client-id) seen at the last read */
};

void drm_gpu_stats(const struct gpu_backend *b, struct drm_gpu_stats *ret);
