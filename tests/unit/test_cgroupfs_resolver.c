// SPDX-License-Identifier: Apache-2.0
/*
 * src/workload/cgroupfs.c on this machine's real cgroup2 mount: ids of
 * directories we create are resolved to their paths, the id equals the kernel's
 * cgroup id (file handle), a process moved into one of them is identified through
 * /proc/<pid>/cgroup, vanished directories are evicted, walks are rate-limited and
 * the cache is bounded. Needs root and a cgroup2 mount; without them it is skipped
 * (exit 77). The mountinfo parser's table tests are test_cgroupfs.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/fileio.h"
#include "workload/cgroup.h"
#include "workload/cgroupfs.h"

#define CGROUP_TEST_CID "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"

static char mnt[PATH_MAX];
static char top[PATH_MAX]; /* our test cgroup, relative to mnt: "/kepler-test-<pid>" */
static const char *const subdirs[] = {"",   "/a", "/a/b", "/c", "/docker-" CGROUP_TEST_CID ".scope",
				      "/d", "/e"};

static void cg_path(char *buf, size_t size, const char *rel)
{
	snprintf(buf, size, "%s%s%s", mnt, top, rel);
}

static uint64_t cg_ino(const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	cg_path(p, sizeof(p), rel);
	if (stat(p, &st) < 0)
		return 0;
	return st.st_ino;
}

static void cg_mkdir(const char *rel)
{
	char p[PATH_MAX];

	cg_path(p, sizeof(p), rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static int cg_rmdir(const char *rel)
{
	char p[PATH_MAX];

	cg_path(p, sizeof(p), rel);
	return rmdir(p) < 0 ? -errno : 0;
}

static int teardown_tree(void **state)
{
	(void)state;
	for (size_t i = sizeof(subdirs) / sizeof(subdirs[0]); i-- > 0;)
		cg_rmdir(subdirs[i]);
	return 0;
}

static int setup_tree(void **state)
{
	teardown_tree(state);
	for (size_t i = 0; i < 5; i++) /* d and e are made later by the tests */
		cg_mkdir(subdirs[i]);
	return 0;
}

static void expect_path(struct cgroup_resolver *r, const char *rel)
{
	char want[PATH_MAX], got[PATH_MAX];
	uint64_t id = cg_ino(rel);

	assert_true(id != 0);
	snprintf(want, sizeof(want), "%s%s", top, rel);
	assert_int_equal(cgroup_resolver_path(r, id, got, sizeof(got)), 0);
	assert_string_equal(got, want);
}

/* The cgroup id the kernel hands out (the file handle of a cgroupfs directory) is st_ino. */
static void test_id_is_inode(void **state)
{
	struct file_handle *fh = malloc(sizeof(*fh) + sizeof(uint64_t));
	char p[PATH_MAX];
	uint64_t id;
	int mount_id;

	(void)state;
	assert_non_null(fh);
	cg_path(p, sizeof(p), "/a/b");
	fh->handle_bytes = sizeof(uint64_t);
	assert_int_equal(name_to_handle_at(AT_FDCWD, p, fh, &mount_id, 0), 0);
	assert_int_equal(fh->handle_bytes, sizeof(uint64_t));
	memcpy(&id, fh->f_handle, sizeof(id));
	free(fh);
	assert_true(id == cg_ino("/a/b"));
}

static void test_resolve(void **state)
{
	struct cgroup_resolver *r = cgroup_resolver_new(mnt);
	struct cgroup_resolver_stats st;
	char buf[PATH_MAX], small[8];
	struct stat rootst;

	(void)state;
	assert_non_null(r);
	for (size_t i = 0; i < 5; i++)
		expect_path(r, subdirs[i]);
	assert_int_equal(stat(mnt, &rootst), 0);
	assert_int_equal(cgroup_resolver_path(r, rootst.st_ino, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/");
	assert_int_equal(cgroup_resolver_path(r, cg_ino("/a/b"), small, sizeof(small)),
			 -ENAMETOOLONG);
	cgroup_resolver_get_stats(r, &st);
	assert_int_equal(st.walks, 1);
	assert_true(st.hits >= 6);
	assert_int_equal(st.misses, 0);
	assert_true(st.entries >= 6);
	cgroup_resolver_free(r);
	cgroup_resolver_free(NULL);

	errno = 0;
	assert_null(cgroup_resolver_new("/nonexistent/kepler/cgroup"));
	assert_int_equal(errno, ENOENT);
}

/* A cgroup made after the walk: not seen within the rescan interval, found after it. */
static void test_rate_limit(void **state)
{
	struct cgroup_resolver *r = cgroup_resolver_new(mnt);
	struct cgroup_resolver_stats st;
	char buf[PATH_MAX];

	(void)state;
	assert_non_null(r);
	cgroup_resolver_set_limits(r, 0, 3600ULL * 1000000000ULL);
	cg_mkdir("/d");
	assert_int_equal(cgroup_resolver_path(r, cg_ino("/d"), buf, sizeof(buf)), -ENOENT);
	/* a flood of unknown ids: no walk at all */
	for (uint64_t id = 1; id <= 10000; id++)
		assert_int_equal(cgroup_resolver_path(r, UINT64_MAX - id, buf, sizeof(buf)),
				 -ENOENT);
	cgroup_resolver_get_stats(r, &st);
	assert_int_equal(st.walks, 1);
	assert_int_equal(st.misses, 10001);

	/* interval 0: one walk per missing id, and the new cgroup is found */
	cgroup_resolver_set_limits(r, 0, 0);
	expect_path(r, "/d");
	cgroup_resolver_get_stats(r, &st);
	assert_int_equal(st.walks, 2);
	expect_path(r, "/d"); /* now cached */
	cgroup_resolver_get_stats(r, &st);
	assert_int_equal(st.walks, 2);
	assert_int_equal(cgroup_resolver_path(r, UINT64_MAX, buf, sizeof(buf)), -ENOENT);
	cgroup_resolver_get_stats(r, &st);
	assert_int_equal(st.walks, 3);

	/* the default: at most one walk per second */
	cgroup_resolver_set_limits(r, 0, CGROUP_RESOLVER_RESCAN_NS);
	for (int i = 0; i < 1000; i++)
		cgroup_resolver_path(r, UINT64_MAX - 1, buf, sizeof(buf));
	cgroup_resolver_get_stats(r, &st);
	assert_true(st.walks <= 4);
	assert_int_equal(cg_rmdir("/d"), 0);
	cgroup_resolver_free(r);
}

/* rmdir: the cached entry is evicted on its next lookup, and a walk forgets the rest. */
static void test_eviction(void **state)
{
	struct cgroup_resolver *r = cgroup_resolver_new(mnt);
	struct cgroup_resolver_stats st, st2;
	uint64_t b = cg_ino("/a/b"), e;
	char buf[PATH_MAX];

	(void)state;
	assert_non_null(r);
	cgroup_resolver_set_limits(r, 0, 3600ULL * 1000000000ULL);
	expect_path(r, "/a/b");
	cgroup_resolver_get_stats(r, &st);
	assert_int_equal(cg_rmdir("/a/b"), 0);
	assert_int_equal(cgroup_resolver_path(r, b, buf, sizeof(buf)), -ENOENT);
	cgroup_resolver_get_stats(r, &st2);
	assert_int_equal(st2.evictions, st.evictions + 1);
	assert_int_equal(st2.entries, st.entries - 1);
	expect_path(r, "/a");

	/* a directory with the same name again is a new cgroup with a new id */
	cg_mkdir("/a/b");
	assert_true(cg_ino("/a/b") != b);
	cgroup_resolver_set_limits(r, 0, 0);
	expect_path(r, "/a/b");
	assert_int_equal(cgroup_resolver_path(r, b, buf, sizeof(buf)), -ENOENT);

	/* removed while cached and never asked for: dropped by the next walk */
	cg_mkdir("/e");
	e = cg_ino("/e");
	expect_path(r, "/e");
	cgroup_resolver_get_stats(r, &st);
	assert_int_equal(cg_rmdir("/e"), 0);
	assert_int_equal(cgroup_resolver_path(r, UINT64_MAX, buf, sizeof(buf)), -ENOENT);
	assert_int_equal(cgroup_resolver_path(r, e, buf, sizeof(buf)), -ENOENT);
	cgroup_resolver_get_stats(r, &st2);
	assert_int_equal(st2.walks, st.walks + 2);
	assert_int_equal(st2.evictions, st.evictions); /* not in the cache any more */
	cgroup_resolver_free(r);
}

/* A full cache still answers the id a walk was made for. */
static void test_bounded(void **state)
{
	struct cgroup_resolver *r = cgroup_resolver_new(mnt);
	struct cgroup_resolver_stats st;
	char buf[PATH_MAX];

	(void)state;
	assert_non_null(r);
	cgroup_resolver_set_limits(r, 2, 0);
	assert_int_equal(cgroup_resolver_path(r, UINT64_MAX, buf, sizeof(buf)), -ENOENT);
	cgroup_resolver_get_stats(r, &st);
	assert_int_equal(st.entries, 2);
	for (size_t i = 1; i < 5; i++) {
		expect_path(r, subdirs[i]);
		cgroup_resolver_get_stats(r, &st);
		assert_true(st.entries <= 2);
	}
	cgroup_resolver_free(r);
}

/* A process moved into a cgroup named like a docker scope: /proc/<pid>/cgroup -> path -> id. */
static void test_process(void **state)
{
	const char *rel = "/docker-" CGROUP_TEST_CID ".scope";
	struct cgroup_resolver *r = cgroup_resolver_new(mnt);
	char procs[PATH_MAX], text[4096], path[PATH_MAX], resolved[PATH_MAX], rel_pid[32];
	struct cgroup_info info;
	int pipefd[2];
	pid_t pid;
	FILE *f;

	(void)state;
	assert_non_null(r);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;

		close(pipefd[1]);
		alarm(10); /* never outlive a failed test */
		(void)!read(pipefd[0], &c, 1);
		_exit(0);
	}
	close(pipefd[0]);
	cg_path(procs, sizeof(procs), rel);
	strcat(procs, "/cgroup.procs");
	f = fopen(procs, "w");
	assert_non_null(f);
	fprintf(f, "%d\n", pid);
	assert_int_equal(fclose(f), 0);

	snprintf(rel_pid, sizeof(rel_pid), "%d/cgroup", pid);
	assert_true(read_file_at("/proc", rel_pid, text, sizeof(text)) > 0);
	close(pipefd[1]);
	waitpid(pid, NULL, 0);

	assert_int_equal(cgroup_parse_proc_cgroup(text, path, sizeof(path)), 0);
	assert_int_equal(cgroup_resolver_path(r, cg_ino(rel), resolved, sizeof(resolved)), 0);
	assert_string_equal(path, resolved);
	assert_int_equal(cgroup_parse_path(path, &info), 0);
	assert_int_equal(info.runtime, RUNTIME_DOCKER);
	assert_string_equal(info.container_id, CGROUP_TEST_CID);
	cgroup_resolver_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_id_is_inode), cmocka_unit_test(test_resolve),
	    cmocka_unit_test(test_rate_limit),	cmocka_unit_test(test_eviction),
	    cmocka_unit_test(test_bounded),	cmocka_unit_test(test_process),
	};
	int r;

	if (geteuid() != 0) {
		printf("skip: the resolver test creates cgroups and needs root\n");
		return 77;
	}
	r = cgroup2_find_mount("/proc", mnt, sizeof(mnt));
	if (r < 0) {
		printf("skip: no cgroup2 mount in /proc/self/mountinfo: %s\n", strerror(-r));
		return 77;
	}
	snprintf(top, sizeof(top), "/kepler-test-%d", (int)getpid());
	return cmocka_run_group_tests_name("resolver", tests, setup_tree, teardown_tree);
}
