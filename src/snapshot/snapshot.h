/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What one interval published (DESIGN section 2, step 5): the node, its
 * zones, the processes shown as their own series and the "other" series, the
 * containers, pods and VMs, and the agent's own health. Built once per
 * interval, immutable, self-contained (its strings are its own copies); every
 * output reads it and nothing else: the Prometheus text, the stdout table,
 * and the outputs still to come.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attribution/platform_model.h"
#include "zone.h"

enum exporter_stage {
	STAGE_ACTIVITY,
	STAGE_POWER,
	STAGE_GPU,
	STAGE_ATTRIBUTION,
	STAGE_RENDER,
	STAGE_MAX,
};

/* The agent's own health (kepler_exporter_*). */
struct exporter_stats {
	uint64_t intervals;
	double interval_seconds;     /* wall time of the last interval's work */
	double interval_cpu_seconds; /* CPU time of the last interval's work */
	/*
	 * The collector thread's CPU time in each stage of the last interval (render:
	 * of the interval before, whose text this one replaces).
	 */
	double stage_cpu_seconds[STAGE_MAX];
	uint64_t errors[STAGE_MAX];
	uint64_t bpf_dropped;
	uint64_t bpf_unseen;
	uint64_t scrapes;
	uint64_t http_header_timeouts;
};

struct snap_zone {
	bool present; /* some meter reports this zone */
	uint64_t total_uj, idle_uj, active_uj;
	double watts, idle_watts, active_watts;
	double idle_estimate_w;	 /* NaN before any sample */
	const char *idle_method; /* "configured", "model" or "learned" */
	const char *source;	 /* the meter that serves the zone */
	uint64_t read_errors;
};

/*
 * The platform model (attribution/platform_model.h): fitted to the platform
 * meter, or configured where it estimates the platform.
 */
struct snap_platform_model {
	bool present;
	const char *method; /* "fitted" or "configured" */
	double coef[PM_TERMS];
	double samples; /* intervals the fit has seen (decaying); 0 when configured */
};

/* A GPU: what it is, and its figures as a zone (source: its backend, "nvml" or "drm"). */
struct snap_gpu {
	struct snap_zone z;
	const char *uuid, *name, *vendor, *pci, *energy_source, *usage_source;
};

/* A workload's energy per GPU, numbered as snapshot.gpu. */
struct snap_gpu_energy {
	uint64_t energy_uj[GPU_MAX];
	uint64_t interval_uj[GPU_MAX];
	double util[GPU_MAX]; /* a process's compute utilisation this interval; < 0 none */
};

/*
 * Kepler 0.7's idle share of a workload (exporter.prometheus.compat v0.7): its
 * part of the node's idle energy, cumulative, per CPU zone and per GPU
 * (snapshot/idle_share.h says how it is shared).
 */
struct snap_idle {
	uint64_t uj[ZONE_MAX];
	uint64_t gpu_uj[GPU_MAX];
};

/* A processor of /proc/cpuinfo (kepler_node_cpu_info); "" for a field it lacks. */
struct snap_cpu {
	const char *processor, *vendor_id, *model_name, *physical_id, *core_id;
};

/* A process's own series, or an "other" series (pid 0, comm "other", type "other"). */
struct snap_process {
	uint32_t pid;
	const char *comm, *exe, *type, *container_id, *vm_id; /* "" when none */
	bool terminated;
	uint64_t cpu_ns;
	uint64_t energy_uj[ZONE_MAX];
	uint64_t interval_cpu_ns;
	uint64_t interval_uj[ZONE_MAX];
	uint64_t platform_uj, interval_platform_uj; /* its share of the platform's active energy */
	const struct snap_gpu_energy *gpu;	    /* NULL: no GPU energy ever */
	struct snap_idle *idle;			    /* compat v0.7 only, else NULL */
};

enum snap_group_kind {
	SNAP_CONTAINER,
	SNAP_POD,
	SNAP_VM,
	SNAP_GROUP_KINDS,
};

struct snap_group {
	const char *id;
	const char *name;	 /* container_name, pod_name, vm_name */
	const char *namespace;	 /* pods; containers: their pod's */
	const char *parent_name; /* containers: their pod's name ("" when unknown) */
	const char *parent;	 /* containers: pod uid */
	const char *kind_label;	 /* containers: runtime; VMs: hypervisor */
	uint32_t vcpus;		 /* VMs: qemu's -smp; 0 unknown */
	bool terminated;
	uint64_t cpu_ns;
	uint64_t interval_cpu_ns;
	uint64_t energy_uj[ZONE_MAX];
	uint64_t interval_uj[ZONE_MAX];
	uint64_t platform_uj, interval_platform_uj;
	const struct snap_gpu_energy *gpu; /* NULL: no GPU energy ever */
	struct snap_idle *idle;		   /* compat v0.7 only (containers and VMs), else NULL */
};

/* The agent process itself (process_*); a negative figure is unknown. */
struct snap_self {
	double cpu_seconds, resident_bytes, virtual_bytes, open_fds, max_fds, start_time_seconds;
};

struct snap_arena;

struct snapshot {
	uint32_t metrics_levels;     /* METRICS_* of config.h */
	uint32_t compat;	     /* COMPAT_* of config.h */
	const char *node_name;	     /* the node_name label: kube.nodeName, else the host name */
	const struct snap_cpu *cpus; /* /proc/cpuinfo's processors, read at start */
	size_t n_cpus;
	uint64_t dt_ns;	 /* the interval's length */
	double cpu_util; /* 0..1; < 0 unknown */
	const char *cpu_model, *cpu_power_source, *platform_power_source, *activity_source;
	struct snap_zone zone[ZONE_MAX];
	struct snap_zone platform; /* source: platform_power_source */
	struct snap_platform_model platform_model;
	struct snap_gpu gpu[GPU_MAX];
	size_t n_gpus;
	/* The shown processes, largest energy first, then the "other" series. */
	struct snap_process *procs;
	size_t n_procs;
	size_t n_tracked; /* processes the agent tracks, running and terminated */
	struct snap_group *groups[SNAP_GROUP_KINDS]; /* largest energy first */
	size_t n_groups[SNAP_GROUP_KINDS];
	struct exporter_stats stats;
	bool kubelet; /* kube.enabled: the kubelet figures below mean something */
	uint64_t kubelet_errors;
	bool kubelet_up;
	struct snap_self self;
	/*
	 * compat v0.7: the idle share of the processes in no container (Kepler 0.7's
	 * "system_processes"); with a platform meter, the platform's energy beyond the
	 * CPU packages, DRAM and GPUs ("other") and beyond their idle energy (its
	 * "dynamic" part), cumulative (snapshot/idle_share.h). NULL and 0 otherwise.
	 */
	struct snap_idle *system_idle;
	uint64_t other_uj, platform_dynamic_uj;
	struct snap_arena *arena; /* owns every string and array above */
};

void snapshot_free(struct snapshot *s);
