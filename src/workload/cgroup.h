/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Workload identity from a cgroup path (pure): the container runtime and
 * container id, the Kubernetes pod UID and QoS class, and the libvirt guest a
 * process belongs to. docs/workloads.md lists the layouts recognised.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum container_runtime {
	RUNTIME_NONE,
	RUNTIME_DOCKER,
	RUNTIME_CONTAINERD,
	RUNTIME_CRIO,
	RUNTIME_PODMAN,
};

#define CONTAINER_ID_LEN 64
#define POD_UID_LEN 36

struct cgroup_info {
	enum container_runtime runtime;
	char container_id[CONTAINER_ID_LEN + 1]; /* 64 lowercase hex, no prefix; "" none */
	char pod_uid[POD_UID_LEN + 1];		 /* as Kubernetes writes it (dashes); "" none */
	char qos[16];	   /* "guaranteed", "burstable", "besteffort"; "" no pod */
	bool vm;	   /* inside a libvirt qemu machine scope */
	char vm_name[256]; /* libvirt's machine name without "qemu-N-"; "" none */
	/*
	 * The runtime's monitor (conmon of CRI-O or podman) for container_id, not
	 * a process of the container itself. Its energy is charged to that
	 * container (it exists only for it); a caller may treat it otherwise.
	 */
	bool conmon;
};

/* "docker", "containerd", "cri-o", "podman"; "" for RUNTIME_NONE or out of range. */
const char *container_runtime_name(enum container_runtime r);

/*
 * Identity from one absolute cgroup path (the v2 path, or the path of one v1
 * controller line). The innermost container and the innermost pod win. A path
 * in no container gives runtime NONE and empty strings: that is success.
 * Returns 0, or -EINVAL (ret untouched) when path is NULL or not absolute.
 */
int cgroup_parse_path(const char *path, struct cgroup_info *ret);

/*
 * The most informative cgroup path of a /proc/<pid>/cgroup text: the first of
 * the v2 line ("0::"), the cpu/cpuacct line, the name=systemd line and the
 * other v1 lines (in that order) whose path names a workload; else the first
 * in that order that is not the root; else "/". " (deleted)" is stripped.
 * Returns 0; -ENOENT when the text has no valid line; -ENAMETOOLONG when the
 * path does not fit in size (ret_path untouched on failure).
 */
int cgroup_parse_proc_cgroup(const char *text, char *ret_path, size_t size);
