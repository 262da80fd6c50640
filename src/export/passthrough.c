// SPDX-License-Identifier: Apache-2.0
/*
 * vm.passthrough.dir (passthrough.h): one tree per VM, written from each
 * published snapshot. Per VM it keeps what the files cannot say: the counter's
 * value when this run took it over, the energy added since, the group's
 * energy at the last interval (so that a group counted again from zero adds
 * its new energy, never a decrease), the values last written (an unchanged
 * counter is not rewritten) and when the VM last ran (the grace period).
 */
#include "export/passthrough.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util/fileio.h"
#include "util/hashmap.h"
#include "util/util.h"
#include "version.h"

#define MARKER "kepler-vm"
#define POWERCAP "class/powercap"
#define DIR_MODE 0750
#define FILE_MODE 0640

/*
 * The zones a guest sees: RAPL's own layout, psys top-level as on real hardware.
 * psys carries the VM's platform energy (docs/attribution.md), where the host
 * has a platform zone: in the guest it is the platform's meter too.
 */
#define PT_PLATFORM (-1)
static const struct {
	int zone; /* enum zone, or PT_PLATFORM */
	const char *dir, *name;
} pt_zones[] = {
    {ZONE_PACKAGE, "intel-rapl:0", "package-0"},
    {ZONE_DRAM, "intel-rapl:0:1", "dram"},
    {PT_PLATFORM, "intel-rapl:1", "psys"},
};

#define PT_ZONES ARRAY_SIZE(pt_zones)

/* The host's zone behind pt_zones[i]. */
static const struct snap_zone *pt_node_zone(const struct snapshot *s, size_t i)
{
	return pt_zones[i].zone == PT_PLATFORM ? &s->platform : &s->zone[pt_zones[i].zone];
}

/* VM g's cumulative energy of pt_zones[i]. */
static uint64_t pt_energy(const struct snap_group *g, size_t i)
{
	return pt_zones[i].zone == PT_PLATFORM ? g->platform_uj : g->energy_uj[pt_zones[i].zone];
}

struct vm_tree {
	char id[72];
	char name[256];		   /* the vm_name written; "" none yet */
	uint64_t base[PT_ZONES];   /* energy_uj when this run took the tree over */
	uint64_t total[PT_ZONES];  /* microjoules added since */
	uint64_t active[PT_ZONES]; /* the group's energy_uj[zone] at the last interval */
	uint64_t shown[PT_ZONES];  /* energy_uj as last written */
	uint32_t made;		   /* bit per pt_zones entry: its directory and static files */
	uint32_t written;	   /* bit per pt_zones entry: shown[] holds what the file says */
	bool tree_made;		   /* the directory, its marker and class/powercap */
	bool have_active;
	uint64_t last_seen_ns; /* when its VM last ran (or the tree was taken over) */
};

struct passthrough {
	struct passthrough_options o;
	char *dir;
	struct hashmap *trees;	      /* struct vm_tree *, by id */
	uint64_t node_idle[PT_ZONES]; /* the node's idle energy at the last interval */
	uint32_t *vcpus;	      /* scratch per VM */
	uint64_t *share;
	size_t cap;
	bool failing; /* the last write failed: logged once until it works again */
};

static const struct hashmap_ops tree_ops = HASHMAP_OPS_STR(struct vm_tree, id);

void passthrough_idle_shares(uint64_t idle_uj, const uint32_t *vcpus, size_t n, uint32_t host_cpus,
			     uint64_t *out)
{
	uint64_t sum = 0, denom;

	for (size_t i = 0; i < n; i++)
		sum += vcpus[i] ? vcpus[i] : 1;
	denom = sum > host_cpus ? sum : host_cpus;
	for (size_t i = 0; i < n; i++)
		out[i] =
		    denom
			? (uint64_t)((unsigned __int128)idle_uj * (vcpus[i] ? vcpus[i] : 1) / denom)
			: 0;
}

uint64_t passthrough_counter(uint64_t base, uint64_t total, uint64_t max_range)
{
	return (uint64_t)(((unsigned __int128)base + total) % ((unsigned __int128)max_range + 1));
}

/*
 * A VM id names a directory: a UUID, or a name from libvirt or -name. One that
 * could climb out or hide (a '/', a leading '.') or is empty is not written.
 */
static bool safe_id(const char *id)
{
	if (!id[0] || id[0] == '.' || strlen(id) >= sizeof(((struct vm_tree *)0)->id))
		return false;
	for (const char *c = id; *c; c++)
		if (*c == '/' || (unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

/*
 * A directory: one made here gets DIR_MODE whatever the umask (and keeps the
 * setgid bit it inherits); one that is there already is left as it is.
 */
static int make_dir(const char *path)
{
	struct stat st;

	if (mkdir(path, DIR_MODE) == 0) {
		if (lstat(path, &st) < 0 || chmod(path, DIR_MODE | (st.st_mode & S_ISGID)) < 0)
			return -errno;
		return 0;
	}
	if (errno != EEXIST)
		return -errno;
	if (lstat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Replace dir/name with text: a temporary file beside it, renamed over it. */
static int write_atomic(const char *dir, const char *name, const char *text)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	size_t len = strlen(text), off = 0;
	int fd, r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, FILE_MODE);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, FILE_MODE) < 0)
		r = -errno;
	while (r == 0 && off < len) {
		ssize_t k = write(fd, text + off, len - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = k < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)k;
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

static int tree_path(const struct passthrough *p, const struct vm_tree *t, const char *rel,
		     char *buf, size_t size)
{
	int n = rel ? snprintf(buf, size, "%s/%s/%s", p->dir, t->id, rel)
		    : snprintf(buf, size, "%s/%s", p->dir, t->id);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* The tree's directory, its marker and class/powercap. */
static int make_tree(const struct passthrough *p, const struct vm_tree *t)
{
	char path[PATH_MAX], marker[160];
	int r;

	if ((r = tree_path(p, t, NULL, path, sizeof(path))) < 0 || (r = make_dir(path)) < 0)
		return r;
	snprintf(marker, sizeof(marker),
		 "kepler %s (%s): this VM's energy as its host attributes it, not hardware\n",
		 KEPLER_VERSION, KEPLER_REVISION);
	if ((r = write_atomic(path, MARKER, marker)) < 0)
		return r;
	if ((r = tree_path(p, t, "class", path, sizeof(path))) < 0 || (r = make_dir(path)) < 0)
		return r;
	if ((r = tree_path(p, t, POWERCAP, path, sizeof(path))) < 0 || (r = make_dir(path)) < 0)
		return r;
	return 0;
}

/* Zone i's directory and the files that never change. */
static int make_zone(const struct passthrough *p, const struct vm_tree *t, size_t i)
{
	char rel[64], path[PATH_MAX], range[32], name[32];
	int r;

	snprintf(rel, sizeof(rel), POWERCAP "/%s", pt_zones[i].dir);
	if ((r = tree_path(p, t, rel, path, sizeof(path))) < 0 || (r = make_dir(path)) < 0)
		return r;
	snprintf(range, sizeof(range), "%llu\n", (unsigned long long)p->o.max_range_uj);
	snprintf(name, sizeof(name), "%s\n", pt_zones[i].name);
	if ((r = write_atomic(path, "name", name)) < 0 ||
	    (r = write_atomic(path, "max_energy_range_uj", range)) < 0 ||
	    (r = write_atomic(path, "enabled", "1\n")) < 0)
		return r;
	return 0;
}

/* A new tree for id; base[] from the counters a previous run left in its directory. */
static struct vm_tree *tree_add(struct passthrough *p, const char *id, uint64_t now_ns)
{
	struct vm_tree *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	snprintf(t->id, sizeof(t->id), "%s", id);
	t->last_seen_ns = now_ns;
	for (size_t i = 0; i < PT_ZONES; i++) {
		char rel[96], dir[PATH_MAX];
		uint64_t v;

		snprintf(rel, sizeof(rel), POWERCAP "/%s/energy_uj", pt_zones[i].dir);
		if (tree_path(p, t, NULL, dir, sizeof(dir)) == 0 && read_u64_at(dir, rel, &v) == 0)
			t->base[i] = v;
	}
	if (hashmap_put(p->trees, t, NULL) < 0) {
		free(t);
		return NULL;
	}
	return t;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* The tree's directory and everything in it. */
static int remove_tree(const struct passthrough *p, const struct vm_tree *t)
{
	char path[PATH_MAX];
	int r = tree_path(p, t, NULL, path, sizeof(path));

	if (r < 0)
		return r;
	if (nftw(path, remove_one, 8, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Add the interval's energy of VM g to t: its own, and idle[i], its share of the idle. */
static void account(struct vm_tree *t, const struct snap_group *g, const struct snapshot *s,
		    const uint64_t *idle)
{
	for (size_t i = 0; i < PT_ZONES; i++) {
		uint64_t now = pt_energy(g, i);

		if (!pt_node_zone(s, i)->present)
			continue;
		/* A group counted again from zero (forgotten, then back) adds all it has. */
		t->total[i] +=
		    (t->have_active && now >= t->active[i] ? now - t->active[i] : now) + idle[i];
		t->active[i] = now;
	}
	t->have_active = true;
}

/* Write what changed in t: the tree when new, vm_name, each zone's energy_uj. */
static int write_vm(struct passthrough *p, struct vm_tree *t, const struct snap_group *g,
		    const struct snapshot *s)
{
	char path[PATH_MAX], name[sizeof(t->name) + 1];
	int r;

	if (!t->tree_made) {
		if ((r = make_tree(p, t)) < 0)
			return r;
		t->tree_made = true;
	}
	if (!streq(t->name, g->name)) {
		snprintf(name, sizeof(name), "%.255s\n", g->name);
		if ((r = tree_path(p, t, NULL, path, sizeof(path))) < 0 ||
		    (r = write_atomic(path, "vm_name", name)) < 0)
			return r;
		snprintf(t->name, sizeof(t->name), "%s", g->name);
	}
	for (size_t i = 0; i < PT_ZONES; i++) {
		uint64_t shown = passthrough_counter(t->base[i], t->total[i], p->o.max_range_uj);
		char rel[64], value[32];

		if (!pt_node_zone(s, i)->present)
			continue;
		if (!(t->made & (1u << i))) {
			if ((r = make_zone(p, t, i)) < 0)
				return r;
			t->made |= 1u << i;
		}
		if ((t->written & (1u << i)) && shown == t->shown[i])
			continue;
		snprintf(rel, sizeof(rel), POWERCAP "/%s", pt_zones[i].dir);
		snprintf(value, sizeof(value), "%llu\n", (unsigned long long)shown);
		if ((r = tree_path(p, t, rel, path, sizeof(path))) < 0 ||
		    (r = write_atomic(path, "energy_uj", value)) < 0)
			return r;
		t->shown[i] = shown;
		t->written |= 1u << i;
	}
	return 0;
}

int passthrough_write(struct passthrough *p, const struct snapshot *s, uint64_t now_ns)
{
	const struct snap_group *vms = s->groups[SNAP_VM];
	size_t n = s->n_groups[SNAP_VM], n_run = 0;
	uint32_t host_cpus = (uint32_t)s->n_cpus;
	struct hashmap_iter it = {0};
	struct vm_tree *t;
	int first_err = 0;

	if (n > p->cap) {
		uint32_t *v = realloc(p->vcpus, n * sizeof(*v));
		uint64_t *sh;

		if (v)
			p->vcpus = v;
		sh = v ? realloc(p->share, n * PT_ZONES * sizeof(*sh)) : NULL;
		if (!sh)
			return -ENOMEM;
		p->share = sh;
		p->cap = n;
	}
	if (!host_cpus) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);

		host_cpus = c > 0 ? (uint32_t)c : 1;
	}
	/* The interval's idle energy per zone, shared among the VMs running now. */
	for (size_t i = 0; i < n; i++)
		if (!vms[i].terminated)
			p->vcpus[n_run++] = vms[i].vcpus;
	for (size_t z = 0; z < PT_ZONES; z++) {
		const struct snap_zone *nz = pt_node_zone(s, z);
		uint64_t cur = nz->present ? nz->idle_uj : 0,
			 idle = cur >= p->node_idle[z] ? cur - p->node_idle[z] : 0;

		p->node_idle[z] = cur;
		if (n_run)
			passthrough_idle_shares(p->o.include_idle ? idle : 0, p->vcpus, n_run,
						host_cpus, p->share + z * n);
	}

	for (size_t i = 0, k = 0; i < n; i++) {
		const struct snap_group *g = &vms[i];
		uint64_t idle[PT_ZONES] = {0};
		int r;

		if (!g->terminated) {
			for (size_t z = 0; z < PT_ZONES; z++)
				idle[z] = p->share[z * n + k];
			k++;
		}
		if (!safe_id(g->id))
			continue;
		t = hashmap_get(p->trees, g->id);
		if (!t)
			t = tree_add(p, g->id, now_ns);
		if (!t) {
			first_err = first_err ? first_err : -ENOMEM;
			continue;
		}
		if (!g->terminated)
			t->last_seen_ns = now_ns;
		account(t, g, s, idle);
		r = write_vm(p, t, g, s);
		if (r < 0 && !first_err) {
			first_err = r;
			if (!p->failing)
				log_warn("vm.passthrough: cannot write %s/%s: %s, ignoring until "
					 "it works",
					 p->dir, t->id, strerror(-r));
		}
	}

	/* Gone for the grace period: the directory goes. */
	while ((t = hashmap_next(p->trees, &it))) {
		int r;

		if (now_ns - t->last_seen_ns <= p->o.grace_ns)
			continue;
		r = remove_tree(p, t);
		if (r < 0) {
			if (!first_err && !p->failing)
				log_warn("vm.passthrough: cannot remove %s/%s: %s, ignoring",
					 p->dir, t->id, strerror(-r));
			first_err = first_err ? first_err : r;
			continue;
		}
		log_debug("vm.passthrough: removed %s/%s", p->dir, t->id);
		hashmap_iter_remove(p->trees, &it);
		free(t);
	}
	if (!first_err && p->failing)
		log_info("vm.passthrough: writing again");
	p->failing = first_err < 0;
	return first_err;
}

/* Take over the trees of a previous run: subdirectories holding the marker. */
static int adopt(struct passthrough *p, uint64_t now_ns)
{
	DIR *d = opendir(p->dir);
	struct dirent *e;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char rel[PATH_MAX];

		if (!safe_id(e->d_name) || hashmap_get(p->trees, e->d_name))
			continue;
		if (snprintf(rel, sizeof(rel), "%s/" MARKER, e->d_name) >= (int)sizeof(rel) ||
		    faccessat(dirfd(d), rel, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!tree_add(p, e->d_name, now_ns)) {
			closedir(d);
			return -ENOMEM;
		}
	}
	closedir(d);
	return 0;
}

int passthrough_new(struct passthrough **ret, const struct passthrough_options *o, uint64_t now_ns,
		    char *err, size_t errsz)
{
	struct passthrough *p = calloc(1, sizeof(*p));
	int r;

	if (!p || !(p->dir = strdup(o->dir)) || !(p->trees = hashmap_new(&tree_ops, NULL, 16))) {
		passthrough_free(p);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	p->o = *o;
	p->o.dir = p->dir;
	r = make_dir(p->dir);
	if (r == 0)
		r = adopt(p, now_ns);
	if (r < 0) {
		snprintf(err, errsz, "vm.passthrough.dir: %s: %s", p->dir, strerror(-r));
		passthrough_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

void passthrough_free(struct passthrough *p)
{
	struct hashmap_iter it = {0};
	struct vm_tree *t;

	if (!p)
		return;
	while (p->trees && (t = hashmap_next(p->trees, &it)))
		free(t);
	hashmap_free(p->trees);
	free(p->vcpus);
	free(p->share);
	free(p->dir);
	free(p);
}
