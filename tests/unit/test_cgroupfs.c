// SPDX-License-Identifier: Apache-2.0
/*
 * src/workload/cgroupfs.c: the cgroup v2 mount from mountinfo texts (table) and
 * through a procfs root (a temporary tree). Pure: runs anywhere. The resolver on
 * this machine's real cgroup2 mount is test_cgroupfs_resolver.c.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "workload/cgroupfs.h"

#define HYBRID                                                                                     \
	"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"                \
	"23 22 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"            \
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"                      \
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"                     \
	"33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"             \
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"               \
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"        \
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"

static const struct {
	const char *text;
	int ret;
	const char *mount;
} mi_cases[] = {
    {HYBRID, 0, "/sys/fs/cgroup/unified"},
    /* unified (v2 only), optional fields */
    {"25 1 0:23 / /proc rw,nosuid - proc proc rw\n"
     "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
     "rw,nsdelegate,memory_recursiveprot\n",
     0, "/sys/fs/cgroup"},
    {"30 23 0:26 / /sys/fs/cgroup rw shared:4 master:1 propagate_from:2 unbindable - cgroup2 "
     "none rw",
     0, "/sys/fs/cgroup"},
    /* octal escapes: space, tab, backslash; a lone backslash stays */
    {"40 22 0:38 / /mnt/my\\040cgroup rw - cgroup2 cgroup2 rw\n", 0, "/mnt/my cgroup"},
    {"40 22 0:38 / /mnt/a\\011b\\134c\\012d rw - cgroup2 cgroup2 rw\n", 0, "/mnt/a\tb\\c\nd"},
    {"40 22 0:38 / /mnt/x\\9y\\04 rw - cgroup2 cgroup2 rw\n", 0, "/mnt/x\\9y\\04"},
    /* a bind mount of a sub-cgroup before the root mount: the root mount wins */
    {"100 90 0:26 /kubepods.slice/kubepods-pod1.slice /host/cg rw - cgroup2 cgroup2 rw\n"
     "101 90 0:26 / /host/sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
     0, "/host/sys/fs/cgroup"},
    {"100 90 0:26 /../.. /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", 0, "/sys/fs/cgroup"},
    {"100 90 0:26 / /first rw - cgroup2 cgroup2 rw\n101 90 0:26 / /second rw - cgroup2 c rw\n", 0,
     "/first"},
    /* v1 only, look-alikes, garbage */
    {"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n", -ENOENT},
    {"50 22 0:40 / /cgroup2 rw - tmpfs cgroup2 rw\n", -ENOENT},
    {"50 22 0:40 / /x rw cgroup2 - tmpfs cgroup2 rw\n", -ENOENT},
    {"50 22 0:40 / /x rw - cgroup2s x rw\n", -ENOENT},
    {"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime cgroup2 cgroup2 rw\n", -ENOENT},
    {"41 31 / - cgroup2\n", -ENOENT},
    {"", -ENOENT},
    {"\n\n\n", -ENOENT},
    {"garbage - cgroup2", -ENOENT},
};

static void test_mountinfo(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mi_cases) / sizeof(mi_cases[0]); i++) {
		char buf[256] = "untouched";
		int r = cgroup2_mount_from_mountinfo(mi_cases[i].text, buf, sizeof(buf));

		if (r != mi_cases[i].ret)
			fail_msg("case %zu: r=%d want %d", i, r, mi_cases[i].ret);
		if (r == 0 && strcmp(buf, mi_cases[i].mount) != 0)
			fail_msg("case %zu: %s want %s", i, buf, mi_cases[i].mount);
		if (r < 0)
			assert_string_equal(buf, "untouched");
	}
}

static void test_mountinfo_small(void **state)
{
	char buf[8] = "keep";

	(void)state;
	assert_int_equal(cgroup2_mount_from_mountinfo(HYBRID, buf, sizeof(buf)), -ENAMETOOLONG);
	assert_string_equal(buf, "keep");
	assert_int_equal(cgroup2_mount_from_mountinfo(NULL, buf, sizeof(buf)), -EINVAL);
}

/* cgroup2_find_mount through a procfs root: a temp tree, a missing one. */
static void test_find_mount_tree(void **state)
{
	char root[] = "/tmp/kepler-cgfs-XXXXXX", path[PATH_MAX], buf[256];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/self", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/self/mountinfo", root);
	f = fopen(path, "w");
	assert_non_null(f);
	/* larger than the first read buffer: the reader grows */
	for (int i = 0; i < 3000; i++)
		fprintf(
		    f,
		    "%d 22 0:99 / /run/containerd/io.containerd.runtime.v2.task/k8s.io/%d/rootfs "
		    "rw - overlay overlay rw,lowerdir=/a:/b,upperdir=/c,workdir=/d\n",
		    i + 100, i);
	fputs(HYBRID, f);
	fclose(f);
	assert_int_equal(cgroup2_find_mount(root, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/sys/fs/cgroup/unified");
	unlink(path);
	assert_int_equal(cgroup2_find_mount(root, buf, sizeof(buf)), -ENOENT);
	snprintf(path, sizeof(path), "%s/self", root);
	rmdir(path);
	rmdir(root);
}

/*
 * The hierarchy under a sysfs root: on this host, the one mountinfo names; under
 * a tree that is no cgroup2 mount, none.
 */
static void test_find_under_sysfs(void **state)
{
	char from_sysfs[PATH_MAX], from_mountinfo[PATH_MAX], tmpl[] = "/tmp/kepler-sysfs-XXXXXX";
	char *root = mkdtemp(tmpl), dir[PATH_MAX + 32];

	(void)state;
	assert_non_null(root);
	if (cgroup2_find_mount("/proc", from_mountinfo, sizeof(from_mountinfo)) == 0) {
		assert_int_equal(cgroup2_find_under_sysfs("/sys", from_sysfs, sizeof(from_sysfs)),
				 0);
		assert_string_equal(from_sysfs, from_mountinfo);
		assert_int_equal(cgroup2_find_under_sysfs("/sys", from_sysfs, 4), -ENAMETOOLONG);
	}
	snprintf(dir, sizeof(dir), "mkdir -p '%s/fs/cgroup/unified'", root);
	assert_int_equal(system(dir), 0);
	assert_int_equal(cgroup2_find_under_sysfs(root, from_sysfs, sizeof(from_sysfs)), -ENOENT);
	snprintf(dir, sizeof(dir), "rm -rf '%s'", root);
	assert_int_equal(system(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mountinfo),
	    cmocka_unit_test(test_mountinfo_small),
	    cmocka_unit_test(test_find_mount_tree),
	    cmocka_unit_test(test_find_under_sysfs),
	};

	return cmocka_run_group_tests_name("mountinfo", tests, NULL, NULL);
}
