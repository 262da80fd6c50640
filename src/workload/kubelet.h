/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pod metadata from the kubelet: container id -> pod (uid, name, namespace).
 *
 * A background thread polls the kubelet's /pods endpoint (a v1 PodList of this
 * node's pods) and keeps the last good answer as an index. Lookups never touch
 * the network; when the kubelet is down or answers garbage the previous index
 * stays in use. See docs/kubernetes.md.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define KUBELET_MAX_CONTAINERS 100000

struct pod_container {
	char container_id[65]; /* 64 hex, runtime prefix ("containerd://", ...) stripped */
	char container_name[254];
	char pod_uid[37];
	char pod_name[254];
	char pod_namespace[254];
};

/*
 * Pure: parse a kubelet /pods body (v1 PodList): metadata.uid/name/namespace and
 * status.containerStatuses, initContainerStatuses and ephemeralContainerStatuses
 * [].containerID/.name of every pod. Containers without an id (not started yet)
 * and ids that are not 64 hex digits after the "<runtime>://" prefix are skipped:
 * they cannot match a cgroup. Returns the number of containers (>= 0) and a
 * malloc'd array in *ret (NULL when there are none); -EBADMSG for invalid JSON
 * or a wrong shape, -E2BIG beyond KUBELET_MAX_CONTAINERS, -ENOMEM; err names the
 * offending field ("items[2].metadata.uid: not a string"). *ret untouched on failure.
 */
int kubelet_parse_pods(const char *json, size_t len, struct pod_container **ret, char *err,
		       size_t errsz);

/*
 * The URL kubelet_new polls, without "/pods": cfg->kube_kubelet_url, or when that
 * is empty https://$NODE_IP:10250 (Downward API), else https://127.0.0.1:10250.
 * -EINVAL (err says why) when it is not http:// or https://, -ENAMETOOLONG.
 */
int kubelet_base_url(const struct kepler_config *cfg, char *buf, size_t size, char *err,
		     size_t errsz);

struct kubelet;

/* Tunables; kubelet_new uses KUBELET_OPTS_DEFAULT. Tests shorten them. */
struct kubelet_opts {
	uint64_t poll_ns;	 /* regular poll period, default 30 s */
	uint64_t refresh_min_ns; /* a miss refreshes at most this often, default 5 s */
	uint64_t timeout_ms;	 /* connect + whole request, default 5000 */
	size_t max_body;	 /* larger responses are refused, default 32 MiB */
};

#define KUBELET_OPTS_DEFAULT                                                                       \
	((struct kubelet_opts){.poll_ns = 30000000000ULL,                                          \
			       .refresh_min_ns = 5000000000ULL,                                    \
			       .timeout_ms = 5000,                                                 \
			       .max_body = 32u << 20})

/*
 * Does not contact the kubelet: validates the configuration and starts the poll
 * thread, which polls at once and then every 30 s. Reads the token file at each
 * poll (tokens rotate). Returns 0, -EINVAL (err says which key), -ENOMEM or the
 * error of starting the thread.
 */
int kubelet_new(struct kubelet **ret, const struct kepler_config *cfg, char *err, size_t errsz);
int kubelet_new_opts(struct kubelet **ret, const struct kepler_config *cfg,
		     const struct kubelet_opts *opts, char *err, size_t errsz);

/*
 * Copy the entry of a 64-hex container id into *ret. Never blocks on the network.
 * -ENOENT when unknown; a miss asks the poll thread to refresh (at most once per
 * refresh_min_ns, so a flood of unknown ids cannot hammer the kubelet).
 */
int kubelet_lookup(struct kubelet *k, const char *container_id, struct pod_container *ret);

struct kubelet_stats {
	uint64_t polls;	     /* requests finished (good or bad) */
	uint64_t errors;     /* failed polls */
	bool up;	     /* the last poll succeeded */
	uint64_t containers; /* in the index now */
};
void kubelet_stats(struct kubelet *k, struct kubelet_stats *ret);

/* Stops the poll thread promptly, even in the middle of a request. NULL is a no-op. */
void kubelet_free(struct kubelet *k);
