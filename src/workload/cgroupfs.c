// SPDX-License-Identifier: Apache-2.0
#include "workload/cgroupfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include "util/fileio.h"
#include "util/hashmap.h"
#include "util/timeutil.h"
#include "util/util.h"

/* mountinfo writes space, tab, newline and backslash in paths as \ooo. */
static int unescape_octal(const char *s, size_t len, char *ret, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			c = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= size)
			return -ENAMETOOLONG;
		ret[o++] = c;
	}
	if (size == 0)
		return -ENAMETOOLONG;
	ret[o] = '\0';
	return 0;
}

int cgroup2_mount_from_mountinfo(const char *text, char *ret, size_t size)
{
	const char *best = NULL, *line = text;
	size_t best_len = 0;
	bool best_is_root = false;

	if (!text || !ret)
		return -EINVAL;
	while (*line) {
		const char *eol = strchr(line, '\n');
		const char *end = eol ? eol : line + strlen(line);
		const char *f[6] = {}, *p = line;
		size_t flen[6] = {};
		int nf = 0;
		bool sep = false, match = false;

		/* id parent maj:min root mountpoint options [optional...] - fstype source opts */
		while (p < end) {
			const char *tok;
			size_t n;

			while (p < end && *p == ' ')
				p++;
			if (p >= end)
				break;
			tok = p;
			while (p < end && *p != ' ')
				p++;
			n = (size_t)(p - tok);
			if (nf < 6) {
				f[nf] = tok;
				flen[nf++] = n;
			} else if (!sep) {
				sep = n == 1 && tok[0] == '-';
			} else {
				match = n == 7 && memcmp(tok, "cgroup2", 7) == 0;
				break;
			}
		}
		line = eol ? eol + 1 : end;
		if (!match)
			continue;
		bool is_root = flen[3] == 1 && f[3][0] == '/';
		if (!best || (is_root && !best_is_root)) {
			best = f[4];
			best_len = flen[4];
			best_is_root = is_root;
		}
	}
	if (!best)
		return -ENOENT;
	{
		char buf[PATH_MAX];
		int r = unescape_octal(best, best_len, buf, sizeof(buf));

		if (r < 0)
			return r;
		if (strlen(buf) >= size)
			return -ENAMETOOLONG;
		strcpy(ret, buf);
	}
	return 0;
}

int cgroup2_find_mount(const char *procfs, char *ret, size_t size)
{
	/* mountinfo of a busy node can be large: grow until it fits, within reason. */
	for (size_t cap = 64 * 1024; cap <= 64 * 1024 * 1024; cap *= 4) {
		_cleanup_free_ char *buf = malloc(cap);
		int r;

		if (!buf)
			return -ENOMEM;
		r = read_file_at(procfs, "self/mountinfo", buf, cap);
		if (r == -EFBIG)
			continue;
		if (r < 0)
			return r;
		return cgroup2_mount_from_mountinfo(buf, ret, size);
	}
	return -EFBIG;
}

int cgroup2_find_under_sysfs(const char *sysfs, char *ret, size_t size)
{
	static const char *const rel[] = {"fs/cgroup", "fs/cgroup/unified"};
	char path[PATH_MAX];
	struct statfs st;

	for (size_t i = 0; i < ARRAY_SIZE(rel); i++) {
		if (path_join(path, sizeof(path), sysfs, rel[i]) < 0)
			return -ENAMETOOLONG;
		if (statfs(path, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC) {
			if (strlen(path) >= size)
				return -ENAMETOOLONG;
			strcpy(ret, path);
			return 0;
		}
	}
	return -ENOENT;
}

struct entry {
	uint64_t id;
	char path[]; /* relative to the mount, "/" for its root */
};

static const struct hashmap_ops by_id_ops = HASHMAP_OPS_U64(struct entry, id);

/* A walk starts a table this large: the cgroups of a small node fit without growing. */
#define TABLE_MIN_ENTRIES 1024

struct cgroup_resolver {
	int mount_fd;
	struct hashmap *t; /* id -> struct entry */
	size_t max_entries;
	uint64_t rescan_ns;
	uint64_t last_walk_ns;
	struct cgroup_resolver_stats stats;
};

/* Frees the entries too. NULL is a no-op. */
static void table_free(struct hashmap *t)
{
	struct hashmap_iter it = {};
	struct entry *e;

	if (!t)
		return;
	while ((e = hashmap_next(t, &it)))
		free(e);
	hashmap_free(t);
}

static int table_add(struct hashmap *t, uint64_t id, const char *path)
{
	size_t len = strlen(path);
	struct entry *e = malloc(sizeof(*e) + len + 1);
	int r;

	if (!e)
		return -ENOMEM;
	e->id = id;
	memcpy(e->path, path, len + 1);
	r = hashmap_put(t, e, NULL);
	if (r <= 0)
		free(e); /* 0: a second mount of the same directory: keep the first path */
	return r < 0 ? r : 0;
}

struct walk {
	struct hashmap *t;
	size_t max_entries;
	uint64_t want; /* the id asked for: reported even when the cache is full */
	char *found;   /* its path, when seen */
	size_t found_size;
	int found_r; /* 0 found, -ENOENT not seen, -ENAMETOOLONG */
	char path[PATH_MAX];
};

static int walk_record(struct walk *w, uint64_t id)
{
	const char *p = w->path[0] ? w->path : "/";

	if (w->found && id == w->want && w->found_r == -ENOENT) {
		if (strlen(p) < w->found_size) {
			strcpy(w->found, p);
			w->found_r = 0;
		} else {
			w->found_r = -ENAMETOOLONG;
		}
	}
	if (hashmap_size(w->t) >= w->max_entries)
		return 0;
	return table_add(w->t, id, p);
}

/* Takes dfd. Directories that vanish during the walk are skipped. */
static int walk_dir(struct walk *w, int dfd, size_t len, unsigned int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int r = 0;

	if (!d) {
		r = -errno;
		close(dfd);
		return r;
	}
	while ((de = readdir(d))) {
		uint64_t ino = de->d_ino;
		size_t n;
		int fd;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (de->d_type == DT_UNKNOWN) {
			struct stat st;

			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISDIR(st.st_mode))
				continue;
			ino = st.st_ino;
		} else if (de->d_type != DT_DIR) {
			continue;
		}
		n = strlen(de->d_name);
		if (len + 1 + n >= sizeof(w->path))
			continue;
		w->path[len] = '/';
		memcpy(w->path + len + 1, de->d_name, n + 1);
		r = walk_record(w, ino);
		if (r >= 0 && depth + 1 < CGROUP_RESOLVER_MAX_DEPTH) {
			fd = openat(dirfd(d), de->d_name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0)
				r = walk_dir(w, fd, len + 1 + n, depth + 1);
			if (r == -ENOENT || r == -ENOTDIR)
				r = 0;
		}
		w->path[len] = '\0';
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

/* Rebuild the cache from the hierarchy; entries gone from it are dropped with the old table. */
static int resolver_walk(struct cgroup_resolver *r, uint64_t want, char *found, size_t found_size)
{
	struct hashmap *t;
	struct walk *w;
	struct stat st;
	int fd, k;

	r->last_walk_ns = mono_ns();
	r->stats.walks++;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	t = hashmap_new(&by_id_ops, NULL, TABLE_MIN_ENTRIES);
	if (!t) {
		free(w);
		return -ENOMEM;
	}
	*w = (struct walk){.t = t,
			   .max_entries = r->max_entries,
			   .want = want,
			   .found = found,
			   .found_size = found_size,
			   .found_r = -ENOENT};
	if (fstat(r->mount_fd, &st) < 0) {
		k = -errno;
		goto fail;
	}
	k = walk_record(w, st.st_ino);
	if (k < 0)
		goto fail;
	fd = openat(r->mount_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		k = -errno;
		goto fail;
	}
	k = walk_dir(w, fd, 0, 0);
	if (k < 0)
		goto fail;
	table_free(r->t);
	r->t = t;
	k = w->found_r;
	free(w);
	return k;
fail:
	table_free(t);
	free(w);
	return k;
}

struct cgroup_resolver *cgroup_resolver_new(const char *mount)
{
	struct cgroup_resolver *r;
	int k;

	if (!mount) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->max_entries = CGROUP_RESOLVER_MAX_ENTRIES;
	r->rescan_ns = CGROUP_RESOLVER_RESCAN_NS;
	r->mount_fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->mount_fd < 0) {
		k = -errno;
		goto fail;
	}
	r->t = hashmap_new(&by_id_ops, NULL, 0); /* until a walk succeeds */
	if (!r->t) {
		k = -errno;
		goto fail;
	}
	k = resolver_walk(r, 0, NULL, 0);
	if (k < 0 && k != -ENOENT)
		goto fail;
	return r;
fail:
	cgroup_resolver_free(r);
	errno = -k;
	return NULL;
}

void cgroup_resolver_free(struct cgroup_resolver *r)
{
	if (!r)
		return;
	table_free(r->t);
	if (r->mount_fd >= 0)
		close(r->mount_fd);
	free(r);
}

void cgroup_resolver_set_limits(struct cgroup_resolver *r, size_t max_entries, uint64_t rescan_ns)
{
	if (max_entries)
		r->max_entries = max_entries;
	r->rescan_ns = rescan_ns;
}

void cgroup_resolver_get_stats(const struct cgroup_resolver *r, struct cgroup_resolver_stats *ret)
{
	*ret = r->stats;
	ret->entries = hashmap_size(r->t);
}

/* The cached directory is still there and is the same cgroup (kernfs ids are never reused). */
static bool entry_valid(const struct cgroup_resolver *r, const struct entry *e)
{
	struct stat st;
	const char *rel = e->path[1] ? e->path + 1 : ".";

	if (fstatat(r->mount_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	return S_ISDIR(st.st_mode) && (uint64_t)st.st_ino == e->id;
}

int cgroup_resolver_path(struct cgroup_resolver *r, uint64_t cgroup_id, char *ret, size_t size)
{
	struct entry *e;
	char buf[PATH_MAX];
	int k;

	if (!r || !ret)
		return -EINVAL;
	e = hashmap_get(r->t, &cgroup_id);
	if (e) {
		if (entry_valid(r, e)) {
			r->stats.hits++;
			if (strlen(e->path) >= size)
				return -ENAMETOOLONG;
			strcpy(ret, e->path);
			return 0;
		}
		hashmap_remove(r->t, e);
		free(e);
		r->stats.evictions++;
	}
	r->stats.misses++;
	if (r->last_walk_ns && mono_ns() - r->last_walk_ns < r->rescan_ns)
		return -ENOENT;
	k = resolver_walk(r, cgroup_id, buf, sizeof(buf));
	if (k < 0)
		return k;
	if (strlen(buf) >= size)
		return -ENAMETOOLONG;
	strcpy(ret, buf);
	return 0;
}
