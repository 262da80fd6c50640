/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fixture-tree helpers for the power meter tests: copy a tree from
 * tests/fixtures/sysfs into a temporary directory, then change its files; and
 * the table runner for what each meter says when it fails. Include after
 * cmocka.h.
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
#include "power/meter.h"
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

/* One change to a fixture tree: text written to rel, or rel made unreadable when text is NULL. */
struct fixture_edit {
	const char *rel, *text;
};

/* Apply edits up to the first one without a rel. */
static inline void fixture_apply(const char *root, const struct fixture_edit *e, size_t n)
{
	for (size_t i = 0; i < n && e[i].rel; i++) {
		int r = e[i].text ? fixture_write(root, e[i].rel, e[i].text)
				  : fixture_break(root, e[i].rel);

		if (r < 0)
			fail_msg("%s: cannot change %s: %s", root, e[i].rel, strerror(-r));
	}
}

#define METER_MSG_EDITS 3

/*
 * What a meter says when it fails: a copy of tree (NULL: an empty one) serves
 * as both host.sysfs and host.procfs, changed by open_edits before the open.
 * Without read_edits the open is the case; with them the open must succeed, a
 * first read (1 s later) must too, and the read after the edits (1 s after
 * that) is the case. r is the op's return value, err its message, with %s for
 * the tree's root.
 */
struct meter_msg_case {
	const struct power_meter_ops *ops;
	const char *tree;
	struct fixture_edit open_edits[METER_MSG_EDITS];
	struct fixture_edit read_edits[METER_MSG_EDITS];
	int r;
	const char *err;
};

static inline void meter_msg_run(const struct meter_msg_case *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct meter_msg_case *c = &t[i];
		char *dir = fixture_copy(c->tree), err[512] = "", want[1024];
		struct power_meter *m = NULL;
		struct kepler_config cfg;
		int r;

		assert_non_null(dir);
		fixture_apply(dir, c->open_edits, METER_MSG_EDITS);
		fixture_config(&cfg, dir);
		free(cfg.host_procfs);
		cfg.host_procfs = strdup(dir);
		assert_non_null(cfg.host_procfs);
		r = c->ops->open(&m, &cfg, err, sizeof(err));
		if (c->read_edits[0].rel) {
			struct meter_input in = {.now_ns = 1000000000, .cpu_util = -1};
			struct energy_reading out;

			if (r < 0)
				fail_msg("case %zu (%s): open = %d (%s)", i, c->ops->name, r, err);
			assert_int_equal(c->ops->read(m, &in, &out, err, sizeof(err)), 0);
			assert_string_equal(err, "");
			fixture_apply(dir, c->read_edits, METER_MSG_EDITS);
			in.now_ns += 1000000000;
			r = c->ops->read(m, &in, &out, err, sizeof(err));
		}
		snprintf(want, sizeof(want), c->err, dir);
		print_message("%-9s %s\n", c->ops->name, err);
		if (r != c->r || strcmp(err, want) != 0)
			fail_msg("case %zu (%s): r = %d, want %d\n  got  \"%s\"\n  want \"%s\"", i,
				 c->ops->name, r, c->r, err, want);
		if (m)
			c->ops->close(m);
		else
			assert_true(r < 0);
		config_free(&cfg);
		fixture_remove(dir);
	}
}
