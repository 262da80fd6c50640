// SPDX-License-Identifier: Apache-2.0
/* Directory helpers, failure messages and power integration shared by the meters. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "power/internal.h"
#include "util/fileio.h"
#include "util/util.h"

int meter_fail_read(char *err, size_t errsz, int r, const char *root, const char *rel)
{
	return errf(err, errsz, r, "cannot read %s/%s: %s", root, rel, strerror(-r));
}

static int cmp_names(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

int power_list_dir(const char *root, const char *rel, char ***ret_names, size_t *ret_n)
{
	char path[PATH_MAX];
	_cleanup_(closedirp) DIR *d = NULL;
	_cleanup_free_ char **names = NULL;
	size_t n = 0, cap = 0, bytes = 0;
	struct dirent *de;
	char **out, *p;
	int r;

	r = path_join(path, sizeof(path), root, rel);
	if (r < 0)
		return r;
	d = opendir(path);
	if (!d)
		return -errno;
	/* First pass: collect names (pointing into a temporary copy each). */
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno) {
				r = -errno;
				goto fail;
			}
			break;
		}
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			char **t = realloc(names, ncap * sizeof(*names));

			if (!t) {
				r = -ENOMEM;
				goto fail;
			}
			names = t;
			cap = ncap;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			r = -ENOMEM;
			goto fail;
		}
		bytes += strlen(names[n]) + 1;
		n++;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	/* One allocation: the pointer array followed by the strings. */
	out = malloc(n * sizeof(*out) + bytes + 1);
	if (!out) {
		r = -ENOMEM;
		goto fail;
	}
	p = (char *)(out + n);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]) + 1;

		memcpy(p, names[i], len);
		out[i] = p;
		p += len;
		free(names[i]);
	}
	*ret_names = out;
	*ret_n = n;
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	return r;
}

static int stat_at(const char *root, const char *rel, struct stat *st)
{
	char path[PATH_MAX];

	if (path_join(path, sizeof(path), root, rel) < 0)
		return -ENAMETOOLONG;
	if (stat(path, st) < 0)
		return -errno;
	return 0;
}

bool power_is_dir(const char *root, const char *rel)
{
	struct stat st;

	return stat_at(root, rel, &st) == 0 && S_ISDIR(st.st_mode);
}

bool power_exists(const char *root, const char *rel)
{
	struct stat st;

	return stat_at(root, rel, &st) == 0;
}

int power_integrator_add(struct power_integrator *it, uint64_t uw, uint64_t now_ns)
{
	if (uw > POWER_MAX_UW)
		return -ERANGE;
	if (it->have_prev && now_ns > it->prev_ns)
		it->acc += (unsigned __int128)(it->prev_uw + uw) * (now_ns - it->prev_ns);
	if (!it->have_prev || now_ns > it->prev_ns) {
		it->prev_uw = uw;
		it->prev_ns = now_ns;
		it->have_prev = true;
	}
	return 0;
}

uint64_t power_integrator_uj(const struct power_integrator *it)
{
	/* uW * ns = 1e-9 uJ; the trapezoid's halving makes the unit 1/(2e9) uJ. */
	unsigned __int128 uj = it->acc / 2000000000u;

	return uj > UINT64_MAX ? UINT64_MAX : (uint64_t)uj; /* 10 MW for 58 years */
}
