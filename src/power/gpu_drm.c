// SPDX-License-Identifier: Apache-2.0
/*
 * AMD and Intel GPUs without vendor libraries (the "drm" GPU backend).
 *
 * Devices are the DRM cards under <sysfs>/class/drm whose PCI device is bound
 * to amdgpu, i915 or xe. Energy comes from the card's hwmon device:
 *   amdgpu  energy1_input (uJ) where it exists, else power1_average, else
 *           power1_input (uW, integrated); on an APU the figure includes the CPU.
 *   i915    energy1_input of the hwmon named "i915"; the per-GT hwmon devices
 *           (named "i915_gt0", ...) measure parts of the same card and are
 *           never added to it.
 *   xe      energy1_input, the "card" channel (energy2_input is the package).
 * powerN_max and powerN_cap are limits, never readings. Energy counters reset
 * on driver reload and suspend: a decrease gives no energy for that step.
 *
 * Per-process use comes from DRM fdinfo: each client (a drm-client-id on one
 * device) counts once, however many fds or processes hold it, and goes to the
 * lowest pid holding it. Finding clients is kept cheap with a pid cache:
 *   - a pid in in->pids is scanned (its fd directory listed, each link read,
 *     /dev/dri/ targets kept) when first seen, and again when it runs and
 *     DRM_RESCAN_READS reads have passed, at most DRM_RESCAN_MAX_PER_READ
 *     rescans and DRM_FIRST_SCANS_MAX_PER_READ first scans a read (a pid
 *     beyond that is first scanned when it runs again); a rescan is one
 *     stat() where procfs counts a process's fds (Linux 6.2+) and the count
 *     has not changed since the last listing;
 *   - pids known to hold DRM fds have those fds' fdinfo read every read,
 *     whether they ran or not;
 *   - a pid whose directory is gone is dropped; one that has not run for
 *     FORGET_READS reads is forgotten (scanned again if it runs), so the
 *     cache holds the processes of the last minutes, not every pid ever.
 * A pid reused by a new process within that window is found at its rescan.
 *
 * A client's use in an interval is the sum over its engines of the busy ns
 * (drm-engine-<name> deltas; xe: the share of busy cycles in the total cycles
 * of the interval, times its length). That sum is the process's weight, not
 * divided by the engine class's capacity: two video engines busy for the
 * whole interval are twice the hardware of one. Utilisation does divide:
 * an engine's busy ns / (interval x capacity). Engine counters may go back
 * briefly (drm-usage-stats): the larger value is kept until they pass it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "power/gpu_internal.h"
#include "power/internal.h"
#include "power/meter.h"
#include "util/fileio.h"
#include "util/hash.h"
#include "util/hashmap.h"
#include "util/util.h"

#define DRM_DIR "class/drm"
/* About 8 minutes at the 5 s interval: a process that wakes every few minutes stays known. */
#define FORGET_READS (8 * DRM_RESCAN_READS)
/* DRM fds kept per process; more are ignored (a process holds one or two per GPU). */
#define DRM_MAX_FDS 32
/* fdinfo texts are about 1 KiB; amdgpu's, with every memory region, under 2 KiB. */
#define FDINFO_MAX 16384

enum drm_driver {
	DRV_AMDGPU,
	DRV_I915,
	DRV_XE,
};

static const char *const driver_names[] = {"amdgpu", "i915", "xe"};

struct drm_engine_sum {
	char name[DRM_ENGINE_NAME_MAX];
	uint32_t capacity;
	uint64_t busy_ns;
};

struct drm_dev {
	struct gpu_info info;
	enum drm_driver driver;
	char card[32];	     /* "card0" */
	char value_rel[160]; /* the hwmon file read, relative to host.sysfs */
	char busy_rel[96];   /* amdgpu gpu_busy_percent; "" when absent */
	bool counter;	     /* value_rel is an energy counter (uJ), else power (uW) */
	uint64_t last;	     /* counter: last raw value */
	uint64_t cum;	     /* counter: uJ since open */
	struct power_integrator it;
	/* This read's processes and engine totals. */
	struct gpu_proc_use *procs;
	size_t n_procs, cap_procs;
	struct drm_engine_sum eng[DRM_FDINFO_MAX_ENGINES];
	size_t n_eng;
};

/* Every pid the cache knows: when to scan it again, when it last ran. */
struct drm_pid {
	uint32_t pid;
	uint32_t rescan_at; /* read number */
	uint32_t ran_at;    /* read number */
	uint32_t nfds;	    /* open fds when last listed, as procfs counts them; 0 unknown */
};

/* A pid holding DRM fds. */
struct drm_holder {
	uint32_t pid;
	uint32_t n_fds;
	int fds[DRM_MAX_FDS];
};

struct drm_client_key {
	uint64_t id;
	uint32_t dev;
};

struct drm_client_engine {
	char name[DRM_ENGINE_NAME_MAX];
	unsigned has;
	uint64_t ns, cycles, total_cycles;
};

struct drm_client {
	struct drm_client_key key;
	uint32_t seen_at; /* read number */
	uint32_t pid;	  /* the lowest pid holding it at that read */
	bool counted;	  /* busy_ns and util are this read's (not a first sight) */
	uint64_t busy_ns;
	double util;
	size_t n_eng;
	struct drm_client_engine eng[DRM_FDINFO_MAX_ENGINES];
};

struct gpu_backend {
	char *sysfs, *procfs;
	struct drm_dev *devs;
	size_t n_devs;
	uint32_t reads;
	uint64_t last_ns;
	dev_t proc_dev; /* the procfs that counts a process's fds in its fd directory's size */
	bool proc_counts;
	struct hashmap *pids;	 /* struct drm_pid */
	struct hashmap *holders; /* struct drm_holder */
	struct hashmap *clients; /* struct drm_client */
	struct drm_gpu_stats stats;
	struct drm_fdinfo fi;
	char buf[FDINFO_MAX];
};

static const struct hashmap_ops pid_ops = HASHMAP_OPS_U32(struct drm_pid, pid);
static const struct hashmap_ops holder_ops = HASHMAP_OPS_U32(struct drm_holder, pid);

static uint64_t client_hash(const void *key, void *ctx)
{
	const struct drm_client_key *k = key;

	(void)ctx;
	return hash_u64(hash_u64(k->id) ^ k->dev);
}

static bool client_equal(const void *a, const void *b, void *ctx)
{
	const struct drm_client_key *x = a, *y = b;

	(void)ctx;
	return x->id == y->id && x->dev == y->dev;
}

static const struct hashmap_ops client_ops = {offsetof(struct drm_client, key), client_hash,
					      client_equal};

/* The basename of the symlink root/rel's target. */
static int link_basename(const char *root, const char *rel, char *buf, size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;
	int r;

	r = path_join(path, sizeof(path), root, rel);
	if (r < 0)
		return r;
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= size || !*base)
		return -ENAMETOOLONG;
	strcpy(buf, base);
	return 0;
}

/* "card0" yes; "card0-DP-1" (a connector), "renderD128", "version" no. */
static bool is_card(const char *s)
{
	if (!startswith(s, "card") || !s[4])
		return false;
	for (s += 4; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/*
 * The hwmon file a card's energy comes from, into d->value_rel and
 * d->counter. -ENOENT when the card has none.
 */
static int find_source(const struct gpu_backend *b, struct drm_dev *d)
{
	_cleanup_free_ char **names = NULL;
	char dir[96];
	size_t n;
	int r;

	snprintf(dir, sizeof(dir), DRM_DIR "/%s/device/hwmon", d->card);
	r = power_list_dir(b->sysfs, dir, &names, &n);
	if (r < 0)
		return -ENOENT;
	for (size_t i = 0; i < n; i++) {
		/* amdgpu: energy where exposed, else power; Intel: the card's energy counter. */
		static const char *const amd_files[] = {"energy1_input", "power1_average",
							"power1_input"};
		static const char *const intel_files[] = {"energy1_input"};
		const char *const *files = d->driver == DRV_AMDGPU ? amd_files : intel_files;
		size_t n_files = d->driver == DRV_AMDGPU ? ARRAY_SIZE(amd_files) : 1;
		char rel[160], name[32];

		if (!startswith(names[i], "hwmon"))
			continue;
		snprintf(rel, sizeof(rel), "%s/%s/name", dir, names[i]);
		/* Only the hwmon named after the driver: i915's per-GT ones are "i915_gtN". */
		if (read_line_at(b->sysfs, rel, name, sizeof(name)) < 0 ||
		    !streq(name, driver_names[d->driver]))
			continue;
		for (size_t k = 0; k < n_files; k++) {
			uint64_t v;

			snprintf(rel, sizeof(rel), "%s/%s/%s", dir, names[i], files[k]);
			if (read_u64_at(b->sysfs, rel, &v) < 0)
				continue;
			if (!startswith(files[k], "energy") && v > POWER_MAX_UW)
				continue;
			strcpy(d->value_rel, rel);
			d->counter = startswith(files[k], "energy");
			d->last = v;
			return 0;
		}
	}
	return -ENOENT;
}

/* One card: 1 added, 0 not a device of ours (or no usable reading), -errno. */
static int add_card(struct gpu_backend *b, const char *card, size_t *cap)
{
	char rel[96], driver[32], pci[32], product[64] = "";
	struct drm_dev d = {0};
	int drv = -1;

	snprintf(rel, sizeof(rel), DRM_DIR "/%s/device/driver", card);
	if (link_basename(b->sysfs, rel, driver, sizeof(driver)) < 0)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(driver_names); i++)
		if (streq(driver, driver_names[i]))
			drv = (int)i;
	if (drv < 0)
		return 0;
	snprintf(rel, sizeof(rel), DRM_DIR "/%s/device", card);
	if (link_basename(b->sysfs, rel, pci, sizeof(pci)) < 0)
		return 0;
	d.driver = (enum drm_driver)drv;
	snprintf(d.card, sizeof(d.card), "%s", card);
	if (find_source(b, &d) < 0)
		return 0;
	/* Two cards of one PCI device (a split render/display node) are one GPU. */
	for (size_t i = 0; i < b->n_devs; i++)
		if (streq(b->devs[i].info.pci, pci))
			return 0;
	snprintf(rel, sizeof(rel), DRM_DIR "/%s/device/gpu_busy_percent", card);
	if (d.driver == DRV_AMDGPU && power_exists(b->sysfs, rel))
		snprintf(d.busy_rel, sizeof(d.busy_rel), "%s", rel);
	snprintf(rel, sizeof(rel), DRM_DIR "/%s/device/product_name", card);
	if (read_line_at(b->sysfs, rel, product, sizeof(product)) < 0)
		product[0] = '\0';
	snprintf(d.info.uuid, sizeof(d.info.uuid), "pci-%s", pci);
	snprintf(d.info.pci, sizeof(d.info.pci), "%s", pci);
	snprintf(d.info.name, sizeof(d.info.name), "%s%s%s", driver, product[0] ? " " : "",
		 product);
	d.info.vendor = d.driver == DRV_AMDGPU ? "amd" : "intel";
	d.info.backend = "drm";
	d.info.energy_source = d.counter ? "energy_counter" : "power";
	d.info.usage_source = "engine_time";
	if (b->n_devs == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		struct drm_dev *nd = realloc(b->devs, ncap * sizeof(*nd));

		if (!nd)
			return -ENOMEM;
		b->devs = nd;
		*cap = ncap;
	}
	b->devs[b->n_devs++] = d;
	return 1;
}

static void drm_close(struct gpu_backend *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_devs; i++)
		free(b->devs[i].procs);
	free(b->devs);
	hashmap_free(b->pids);
	hashmap_free(b->holders);
	hashmap_free(b->clients);
	free(b->sysfs);
	free(b->procfs);
	free(b);
}

/*
 * Whether host.procfs is a procfs, and which: since Linux 6.2 the size of
 * /proc/<pid>/fd is the number of open fds, so a rescan can tell in one stat()
 * that a process opened or closed nothing and skip listing its fds.
 */
static void proc_counts_fds(struct gpu_backend *b)
{
	char path[PATH_MAX];
	struct statfs sfs;
	struct stat st;

	if (path_join(path, sizeof(path), b->procfs, "self/fd") < 0 || statfs(path, &sfs) < 0 ||
	    sfs.f_type != PROC_SUPER_MAGIC || stat(path, &st) < 0)
		return;
	b->proc_dev = st.st_dev;
	/* Older kernels say 0: every rescan lists the fds. */
	b->proc_counts = st.st_size > 0;
}

/* pid's open fds as procfs counts them; 0 when it does not (or the process is gone). */
static uint32_t fd_count(struct gpu_backend *b, uint32_t pid)
{
	char rel[32], path[PATH_MAX];
	struct stat st;

	if (!b->proc_counts)
		return 0;
	snprintf(rel, sizeof(rel), "%u/fd", pid);
	if (path_join(path, sizeof(path), b->procfs, rel) < 0 || stat(path, &st) < 0 ||
	    st.st_dev != b->proc_dev || st.st_size <= 0 || st.st_size > UINT32_MAX)
		return 0;
	return (uint32_t)st.st_size;
}

static int drm_open(struct gpu_backend **ret, const struct kepler_config *cfg, char *err,
		    size_t errsz)
{
	_cleanup_free_ char **names = NULL;
	struct gpu_backend *b;
	size_t n, cap = 0;
	int r;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->sysfs = strdup(cfg->host_sysfs);
	b->procfs = strdup(cfg->host_procfs);
	b->pids = hashmap_new_inline(&pid_ops, NULL, sizeof(struct drm_pid), 64);
	b->holders = hashmap_new_inline(&holder_ops, NULL, sizeof(struct drm_holder), 16);
	b->clients = hashmap_new_inline(&client_ops, NULL, sizeof(struct drm_client), 16);
	if (!b->sysfs || !b->procfs || !b->pids || !b->holders || !b->clients) {
		r = -ENOMEM;
		goto fail;
	}
	proc_counts_fds(b);
	r = power_list_dir(b->sysfs, DRM_DIR, &names, &n);
	if (r < 0)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_card(names[i]))
			continue;
		r = add_card(b, names[i], &cap);
		if (r < 0)
			goto fail;
	}
	if (b->n_devs == 0) {
		r = errf(err, errsz, -ENODEV,
			 "no amdgpu, i915 or xe card with a hwmon energy or power reading "
			 "under %s/" DRM_DIR,
			 b->sysfs);
		goto fail;
	}
	*ret = b;
	return 0;
fail:
	drm_close(b);
	return r;
}

static size_t drm_count(const struct gpu_backend *b)
{
	return b->n_devs;
}

static const struct gpu_info *drm_info(const struct gpu_backend *b, size_t i)
{
	return i < b->n_devs ? &b->devs[i].info : NULL;
}

void drm_gpu_stats(const struct gpu_backend *b, struct drm_gpu_stats *ret)
{
	*ret = b->stats;
	ret->pids = hashmap_size(b->pids);
	ret->holders = hashmap_size(b->holders);
	ret->clients = hashmap_size(b->clients);
}

/* ---- energy ---- */

static int read_energy(struct gpu_backend *b, struct drm_dev *d, const struct gpu_read_input *in,
		       struct gpu_reading *out, char *err, size_t errsz)
{
	char rel[96];
	uint64_t v;
	int r;

	r = read_u64_at(b->sysfs, d->value_rel, &v);
	if (r == -ENOENT) {
		/* A driver reload numbers its hwmon anew: look again, counting from there. */
		snprintf(rel, sizeof(rel), DRM_DIR "/%s/device", d->card);
		if (!power_exists(b->sysfs, rel)) {
			out->lost = true;
			return errf(err, errsz, -ENODEV, "%s (%s): %s/%s is gone", d->card,
				    d->info.uuid, b->sysfs, rel);
		}
		if (find_source(b, d) == 0) {
			if (!d->counter)
				power_integrator_add(&d->it, d->last, in->now_ns);
			out->valid = true;
			out->energy_uj = d->counter ? d->cum : power_integrator_uj(&d->it);
			return 0;
		}
	}
	if (r == 0 && !d->counter)
		r = power_integrator_add(&d->it, v, in->now_ns);
	if (r < 0) {
		if (r == -ERANGE)
			return errf(err, errsz, r, "%s (%s): %s/%s: %llu uW is not power", d->card,
				    d->info.uuid, b->sysfs, d->value_rel, (unsigned long long)v);
		return errf(err, errsz, r, "%s (%s): cannot read %s/%s: %s", d->card, d->info.uuid,
			    b->sysfs, d->value_rel, strerror(-r));
	}
	if (d->counter) {
		/* 64-bit counters kept by the driver: a decrease is a reset, not a wrap. */
		d->cum += counter_delta(d->last, v, 0);
		d->last = v;
	}
	out->valid = true;
	out->energy_uj = d->counter ? d->cum : power_integrator_uj(&d->it);
	return 0;
}

/* ---- finding DRM fds ---- */

/* The DRM fds of pid into fds (at most max). -ESRCH when the process is gone. */
static int scan_pid(struct gpu_backend *b, uint32_t pid, int *fds, size_t max, size_t *ret_n)
{
	char rel[32], path[PATH_MAX], target[64];
	struct dirent *de;
	size_t n = 0;
	DIR *dir;
	int fd;

	b->stats.scans++;
	snprintf(rel, sizeof(rel), "%u/fd", pid);
	if (path_join(path, sizeof(path), b->procfs, rel) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	dir = fdopendir(fd);
	if (!dir) {
		int r = -errno;

		close(fd);
		return r;
	}
	while ((de = readdir(dir))) {
		ssize_t k;
		char *end;
		long v;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		k = readlinkat(dirfd(dir), de->d_name, target, sizeof(target) - 1);
		if (k < 0)
			continue;
		target[k] = '\0';
		if (!startswith(target, "/dev/dri/"))
			continue;
		v = strtol(de->d_name, &end, 10);
		if (*end || v < 0 || v > INT32_MAX || n == max)
			continue;
		fds[n++] = (int)v;
	}
	closedir(dir);
	*ret_n = n;
	return 0;
}

/* Scan pid and record what it holds. -ESRCH: the process is gone. */
static int refresh_pid(struct gpu_backend *b, uint32_t pid)
{
	struct drm_holder h = {.pid = pid}, *cur;
	size_t n = 0;
	int r;

	r = scan_pid(b, pid, h.fds, DRM_MAX_FDS, &n);
	if (r == -ESRCH)
		return r;
	cur = hashmap_get(b->holders, &pid);
	h.n_fds = (uint32_t)n;
	if (n == 0) {
		if (cur)
			hashmap_remove(b->holders, cur);
		return 0;
	}
	if (cur) {
		*cur = h;
		return 0;
	}
	r = hashmap_put(b->holders, &h, NULL);
	return r < 0 ? r : 0;
}

static int visit_pids(struct gpu_backend *b, const struct gpu_read_input *in)
{
	unsigned rescans = 0, first_scans = 0;

	for (size_t i = 0; i < in->n_pids; i++) {
		uint32_t pid = in->pids[i];
		struct drm_pid *p = hashmap_get(b->pids, &pid);
		int r;

		if (p) {
			uint32_t nfds;

			p->ran_at = b->reads;
			if ((int32_t)(b->reads - p->rescan_at) < 0 ||
			    rescans == DRM_RESCAN_MAX_PER_READ)
				continue;
			rescans++;
			p->rescan_at = b->reads + DRM_RESCAN_READS;
			/* The same fds open as at its last listing: nothing new to find. */
			nfds = fd_count(b, pid);
			if (nfds && nfds == p->nfds) {
				b->stats.fd_count_hits++;
				continue;
			}
			p->nfds = nfds;
		} else {
			/* First rescans spread over the period rather than all at once. */
			struct drm_pid np = {
			    .pid = pid,
			    .rescan_at = b->reads + 1 + pid % DRM_RESCAN_READS,
			    .ran_at = b->reads,
			};

			if (first_scans == DRM_FIRST_SCANS_MAX_PER_READ)
				continue;
			first_scans++;
			np.nfds = fd_count(b, pid);
			r = hashmap_put(b->pids, &np, (void **)&p);
			if (r < 0)
				return r;
		}
		r = refresh_pid(b, pid);
		if (r == -ESRCH)
			hashmap_remove(b->pids, p);
		else if (r < 0 && r != -EACCES && r != -EPERM)
			return r;
	}
	return 0;
}

/* Forget pids that have not run for a while (the exited among them). */
static void prune_pids(struct gpu_backend *b)
{
	struct hashmap_iter it = {0};
	struct drm_pid *p;

	while ((p = hashmap_next(b->pids, &it)))
		if (b->reads - p->ran_at > FORGET_READS && !hashmap_get(b->holders, &p->pid))
			hashmap_iter_remove(b->pids, &it);
}

/* ---- clients ---- */

static struct drm_dev *dev_for(struct gpu_backend *b, const struct drm_fdinfo *fi, uint32_t *idx)
{
	struct drm_dev *found = NULL;

	for (size_t i = 0; i < b->n_devs; i++) {
		struct drm_dev *d = &b->devs[i];

		if (fi->pdev[0] ? streq(fi->pdev, d->info.pci)
				: streq(fi->driver, driver_names[d->driver])) {
			/* Without drm-pdev only a driver's one device is certain. */
			if (found)
				return NULL;
			found = d;
			*idx = (uint32_t)i;
			if (fi->pdev[0])
				break;
		}
	}
	return found;
}

static struct drm_engine_sum *dev_engine(struct drm_dev *d, const char *name)
{
	for (size_t i = 0; i < d->n_eng; i++)
		if (streq(d->eng[i].name, name))
			return &d->eng[i];
	if (d->n_eng == DRM_FDINFO_MAX_ENGINES)
		return NULL;
	d->eng[d->n_eng] = (struct drm_engine_sum){.capacity = 1};
	strcpy(d->eng[d->n_eng].name, name);
	return &d->eng[d->n_eng++];
}

/* Over a baseline that never goes back: the larger value stays until passed. */
static uint64_t advance(uint64_t *last, uint64_t v)
{
	uint64_t d = v > *last ? v - *last : 0;

	if (v > *last)
		*last = v;
	return d;
}

/* A known client's use since its last read, from its new fdinfo. */
static void client_update(struct drm_client *c, struct drm_dev *d, const struct drm_fdinfo *fi,
			  uint64_t interval_ns)
{
	c->busy_ns = 0;
	c->util = 0;
	for (size_t i = 0; i < fi->n_engines; i++) {
		const struct drm_fdinfo_engine *e = &fi->engines[i];
		struct drm_client_engine *ce = NULL;
		struct drm_engine_sum *sum;
		uint64_t busy = 0;
		bool is_new = false;

		for (size_t k = 0; k < c->n_eng && !ce; k++)
			if (streq(c->eng[k].name, e->name))
				ce = &c->eng[k];
		if (!ce) {
			if (c->n_eng == DRM_FDINFO_MAX_ENGINES)
				continue;
			ce = &c->eng[c->n_eng++];
			*ce = (struct drm_client_engine){0};
			strcpy(ce->name, e->name);
			is_new = true;
		}
		if (e->has & DRM_ENGINE_HAS_NS) {
			/* amdgpu leaves idle engines out: one appearing was at 0 before. */
			busy = advance(&ce->ns, e->ns);
		} else if ((e->has & DRM_ENGINE_HAS_CYCLES) && (e->has & DRM_ENGINE_HAS_TOTAL)) {
			uint64_t dc = advance(&ce->cycles, e->cycles);
			uint64_t dt = advance(&ce->total_cycles, e->total_cycles);

			/* total-cycles is a timestamp: an engine appearing has no baseline. */
			if (!is_new && dt)
				busy = (uint64_t)((double)dc / (double)dt * (double)interval_ns);
			if (busy > interval_ns * e->capacity)
				busy = interval_ns * e->capacity;
		}
		ce->has |= e->has;
		if (!c->counted) /* first sight: the baseline only */
			continue;
		c->busy_ns += busy;
		if (interval_ns) {
			double u = (double)busy / ((double)interval_ns * e->capacity);

			if (u > c->util)
				c->util = u;
		}
		sum = dev_engine(d, e->name);
		if (sum) {
			sum->busy_ns += busy;
			sum->capacity = e->capacity;
		}
	}
}

/*
 * Read the fdinfo of one of pid's fds into its client. -ENOENT when the fd is
 * no DRM fd any more (closed, or reused for another file).
 */
static int read_fd(struct gpu_backend *b, uint32_t pid, int fd, uint64_t interval_ns)
{
	struct drm_client *c;
	struct drm_dev *d;
	char rel[48];
	uint32_t idx = 0;
	int r;

	b->stats.fdinfo_reads++;
	snprintf(rel, sizeof(rel), "%u/fdinfo/%d", pid, fd);
	r = read_file_at(b->procfs, rel, b->buf, sizeof(b->buf));
	if (r < 0)
		return r == -EFBIG ? 0 : -ENOENT;
	if (drm_fdinfo_parse(b->buf, &b->fi) < 0)
		return -ENOENT;
	d = dev_for(b, &b->fi, &idx);
	if (!d)
		return 0; /* a DRM device we do not measure */
	c = hashmap_get(b->clients, &(struct drm_client_key){b->fi.client_id, idx});
	if (c && c->seen_at == b->reads) {
		/* Another fd or process on a client read already this time. */
		if (pid < c->pid)
			c->pid = pid;
		return 0;
	}
	if (!c) {
		struct drm_client nc = {.key = {b->fi.client_id, idx}};

		r = hashmap_put(b->clients, &nc, (void **)&c);
		if (r < 0)
			return r;
	} else {
		c->counted = true;
	}
	c->seen_at = b->reads;
	c->pid = pid;
	client_update(c, d, &b->fi, interval_ns);
	return 0;
}

static int read_holders(struct gpu_backend *b, uint64_t interval_ns)
{
	struct hashmap_iter it = {0};
	struct drm_holder *h;

	while ((h = hashmap_next(b->holders, &it))) {
		uint32_t k = 0;

		for (uint32_t i = 0; i < h->n_fds; i++) {
			int r = read_fd(b, h->pid, h->fds[i], interval_ns);

			if (r == -ENOMEM)
				return r;
			if (r == 0)
				h->fds[k++] = h->fds[i];
		}
		h->n_fds = k;
		if (k == 0) {
			/* No DRM fd left: the process closed them, or is gone. */
			char rel[16];

			snprintf(rel, sizeof(rel), "%u", h->pid);
			if (!power_is_dir(b->procfs, rel)) {
				struct drm_pid *p = hashmap_get(b->pids, &h->pid);

				if (p)
					hashmap_remove(b->pids, p);
			}
			hashmap_iter_remove(b->holders, &it);
		}
	}
	return 0;
}

/* Give each counted client's use to its device, under the lowest pid holding it. */
static int collect_clients(struct gpu_backend *b)
{
	struct hashmap_iter it = {0};
	struct drm_client *c;

	while ((c = hashmap_next(b->clients, &it))) {
		struct drm_dev *d = &b->devs[c->key.dev];
		struct gpu_proc_use *u = NULL;

		if (c->seen_at != b->reads) {
			hashmap_iter_remove(b->clients, &it); /* closed */
			continue;
		}
		if (!c->counted)
			continue;
		for (size_t i = 0; i < d->n_procs && !u; i++)
			if (d->procs[i].pid == c->pid)
				u = &d->procs[i];
		if (!u) {
			if (d->n_procs == d->cap_procs) {
				size_t ncap = d->cap_procs ? d->cap_procs * 2 : 16;
				struct gpu_proc_use *np = realloc(d->procs, ncap * sizeof(*np));

				if (!np)
					return -ENOMEM;
				d->procs = np;
				d->cap_procs = ncap;
			}
			u = &d->procs[d->n_procs++];
			*u = (struct gpu_proc_use){.pid = c->pid};
		}
		u->weight += c->busy_ns;
		u->util = u->util + c->util > 1 ? 1 : u->util + c->util;
	}
	return 0;
}

static double dev_util(struct gpu_backend *b, struct drm_dev *d, uint64_t interval_ns)
{
	double best = 0;
	uint64_t pct;

	if (d->busy_rel[0] && read_u64_at(b->sysfs, d->busy_rel, &pct) == 0 && pct <= 100)
		return (double)pct / 100;
	if (!interval_ns)
		return -1;
	for (size_t i = 0; i < d->n_eng; i++) {
		double u = (double)d->eng[i].busy_ns / ((double)interval_ns * d->eng[i].capacity);

		if (u > best)
			best = u;
	}
	return best > 1 ? 1 : best;
}

static int drm_read(struct gpu_backend *b, const struct gpu_read_input *in, struct gpu_reading *out,
		    char *err, size_t errsz)
{
	uint64_t interval_ns = b->reads && in->now_ns > b->last_ns ? in->now_ns - b->last_ns : 0;
	int r, first_err = 0;

	b->reads++;
	b->last_ns = in->now_ns;
	for (size_t i = 0; i < b->n_devs; i++) {
		struct drm_dev *d = &b->devs[i];

		d->n_procs = 0;
		d->n_eng = 0;
		out[i] = (struct gpu_reading){.util = -1};
		r = read_energy(b, d, in, &out[i], first_err ? NULL : err, first_err ? 0 : errsz);
		if (r < 0 && !first_err)
			first_err = r;
	}
	r = visit_pids(b, in);
	if (r >= 0)
		r = read_holders(b, interval_ns);
	if (r >= 0)
		r = collect_clients(b);
	if (r < 0)
		return errf(err, errsz, r, "DRM clients: %s", strerror(-r));
	if (b->reads % DRM_RESCAN_READS == 0)
		prune_pids(b);
	for (size_t i = 0; i < b->n_devs; i++) {
		out[i].util = dev_util(b, &b->devs[i], interval_ns);
		out[i].procs = b->devs[i].procs;
		out[i].n_procs = b->devs[i].n_procs;
	}
	return first_err;
}

const struct gpu_backend_ops drm_gpu_ops = {
    .name = "drm",
    .open = drm_open,
    .read = drm_read,
    .count = drm_count,
    .info = drm_info,
    .close = drm_close,
};
