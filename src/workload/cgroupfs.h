/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup v2 hierarchy on this host: where it is mounted, and the path of
 * the cgroup behind an id that eBPF reports (bpf_get_current_cgroup_id() is the
 * kernfs node id, which is the inode number of the cgroup's directory).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * The cgroup v2 mount point in a mountinfo text, \ooo escapes decoded. A mount
 * of the hierarchy's root ("/" in field 4) is preferred over a bind mount of a
 * sub-cgroup; among equals the first wins. Returns 0, -ENOENT when there is
 * none, -ENAMETOOLONG when it does not fit (ret untouched on failure).
 */
int cgroup2_mount_from_mountinfo(const char *text, char *ret, size_t size);

/* The same from <procfs>/self/mountinfo. */
int cgroup2_find_mount(const char *procfs, char *ret, size_t size);

/*
 * The host's cgroup v2 hierarchy under host.sysfs: <sysfs>/fs/cgroup, or
 * <sysfs>/fs/cgroup/unified on a hybrid host, where a cgroup2 file system is
 * mounted. In a container with a cgroup namespace, mountinfo's mount of root
 * "/" is the container's own hierarchy; the host's is the one under the host
 * /sys the agent was given. Returns 0, -ENOENT when neither is cgroup2,
 * -ENAMETOOLONG when it does not fit.
 */
int cgroup2_find_under_sysfs(const char *sysfs, char *ret, size_t size);

/*
 * id -> path cache over one cgroup v2 mount. Paths are relative to the mount
 * and absolute in form ("/" for the root, "/system.slice/foo.service"), as in
 * the "0::" line of /proc/<pid>/cgroup, so they feed cgroup_parse_path().
 * Not thread-safe: one owner (the interval loop) calls it.
 */
struct cgroup_resolver;

#define CGROUP_RESOLVER_MAX_ENTRIES 32768
#define CGROUP_RESOLVER_RESCAN_NS 1000000000ULL /* at most one walk per second */
#define CGROUP_RESOLVER_MAX_DEPTH 64

/* Opens mount and walks it once. NULL with errno set on failure. */
struct cgroup_resolver *cgroup_resolver_new(const char *mount);
void cgroup_resolver_free(struct cgroup_resolver *r);

/*
 * The path of cgroup_id into ret. A cached entry is checked against the
 * directory (still there, same inode) and evicted when it is gone. On a miss
 * the hierarchy is walked again, unless the last walk was less than the rescan
 * interval ago, so a flood of unknown ids costs at most one walk per interval.
 * Returns 0; -ENOENT unknown (or not yet visible: a cgroup created just after
 * a walk is found on a later call); -ENAMETOOLONG when ret is too small; or
 * the error of the walk.
 */
int cgroup_resolver_path(struct cgroup_resolver *r, uint64_t cgroup_id, char *ret, size_t size);

/* Bounds: at most max_entries cached (0: keep), at most one walk per rescan_ns. */
void cgroup_resolver_set_limits(struct cgroup_resolver *r, size_t max_entries, uint64_t rescan_ns);

struct cgroup_resolver_stats {
	uint64_t walks;	    /* hierarchy walks, the first included */
	uint64_t hits;	    /* answered from the cache */
	uint64_t misses;    /* not in the cache (before any walk) */
	uint64_t evictions; /* cached entries whose directory was gone */
	size_t entries;	    /* cached now */
};

void cgroup_resolver_get_stats(const struct cgroup_resolver *r, struct cgroup_resolver_stats *ret);
