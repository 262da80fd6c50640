/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fixture-tree helpers for the power meter tests: copy a tree from
 * tests/fixtures/sysfs into a temporary directory, then change its files.
 */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "util/util.h"

/* A copy of tests/fixtures/sysfs/<name> (or an empty tree when name is NULL) in a new dir. */
static inline char *fixture_copy(const char *name)
{
	char tmpl[] = "/tmp/kepler-power-XXXXXX", cmd[PATH_MAX * 2 + 64];
	char *dir = mkdtemp(tmpl);

	if (!dir)
		return NULL;
	if (name) {
		snprintf(cmd, sizeof(cmd), "cp -a '%s/sysfs/%s/.' '%s/'", FIXTURES, name, dir);
		if (system(cmd) != 0)
			return NULL;
	}
	return strdup(dir);
}

static inline void fixture_remove(char *dir)
{
	char cmd[PATH_MAX + 32];

	if (!dir)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(dir);
}

/* mkdir -p root/rel */
static inline int fixture_mkdir(const char *root, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Write text to root/rel, replacing whatever is there (a directory in the way included). */
static inline int fixture_write(const char *root, const char *rel, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	rmdir(path);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -errno;
}

static inline int fixture_write_u64(const char *root, const char *rel, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)v);
	return fixture_write(root, rel, buf);
}

/* Replace a file with an empty directory: reads of it fail (-EISDIR) even as root. */
static inline int fixture_break(const char *root, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return mkdir(path, 0755) < 0 ? -errno : 0;
}

/* Defaults pointed at a sysfs root and the real procfs. */
static inline void fixture_config(struct kepler_config *cfg, const char *sysfs)
{
	if (config_defaults(cfg) < 0)
		abort();
	free(cfg->host_sysfs);
	cfg->host_sysfs = strdup(sysfs);
	if (!cfg->host_sysfs)
		abort();
	cfg->estimator_idle_watts_per_cpu = 2.0;
	cfg->estimator_max_watts_per_cpu = 10.0;
}
