// SPDX-License-Identifier: Apache-2.0
/*
 * src/workload/cgroup.c: container, pod and libvirt guest identity from cgroup
 * paths of every runtime and kubelet driver, v1 and v2; the choice of line in
 * /proc/<pid>/cgroup; hostile input.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "workload/cgroup.h"

/* Container ids (64 hex), kind node id, pod UIDs (dashes, systemd's underscores, static pod). */
#define CID "793cf4220c917b853860886599b2ac757f8290996dd9de5798121e8fa462d6e8"
#define CID2 "5bda6a317873a59e01b29a0a9a4d296e948c5a0b1e5bb93e6d63111541f7a139"
#define NODE "d6f67edf17de7d6f61188767d84a1a3c1fc2d65a9fad68acf2861c4815efcc60"
#define UID "1234abcd-5678-90ef-abcd-1234567890ab"
#define UID_ "1234abcd_5678_90ef_abcd_1234567890ab"
#define KVUID "6f1c9a3e-0b2d-4e8f-9a7c-3d5e1f2a4b6c"
#define KVUID_ "6f1c9a3e_0b2d_4e8f_9a7c_3d5e1f2a4b6c"
#define STATIC_UID "65083cc7165afe0213f841b209b22ec6"
#define BURSTABLE "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice"
#define BESTEFFORT "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_ ".slice"

#define N RUNTIME_NONE
#define D RUNTIME_DOCKER
#define C RUNTIME_CONTAINERD
#define O RUNTIME_CRIO
#define P RUNTIME_PODMAN

static const struct {
	const char *path;
	enum container_runtime rt;
	const char *cid, *pod, *qos;
	bool vm;
	const char *vm_name;
	bool conmon;
} cases[] = {
    /* not in any container */
    {"/", N, "", "", "", false, ""},
    {"/init.scope", N, "", "", "", false, ""},
    {"/system.slice/sshd.service", N, "", "", "", false, ""},
    {"/system.slice/containerd.service", N, "", "", "", false, ""},
    {"/user.slice/user-1000.slice/session-3.scope", N, "", "", "", false, ""},
    {"/system.slice/system-getty.slice/getty@tty1.service", N, "", "", "", false, ""},
    {"/kubepods.slice", N, "", "", "", false, ""},
    {"/kubepods.slice/kubepods-burstable.slice", N, "", "", "", false, ""},
    {"/kubepods/besteffort", N, "", "", "", false, ""},
    {"/machine.slice/machine-debian.scope", N, "", "", "", false, ""}, /* nspawn, not a VM */
    {"/process_api/6aaa203bb81d40cb45cda312d8834772", N, "", "", "", false, ""},
    /* docker: cgroupfs driver, systemd driver, docker-in-docker */
    {"/docker/" CID, D, CID, "", "", false, ""},
    {"/system.slice/docker-" CID ".scope", D, CID, "", "", false, ""},
    {"/docker/" NODE "/docker/" CID, D, CID, "", "", false, ""},
    {"//docker//" CID "/", D, CID, "", "", false, ""},
    {"/docker/793CF4220C917B853860886599B2AC757F8290996DD9DE5798121E8FA462D6E8", D, CID, "", "",
     false, ""},
    /* containerd: plain namespace, nerdctl, kubelet cgroupfs driver (v1 and v2 alike) */
    {"/k8s.io/" CID, C, CID, "", "", false, ""},
    {"/system.slice/nerdctl-" CID ".scope", C, CID, "", "", false, ""},
    {"/kubepods/burstable/pod" UID "/" CID, C, CID, UID, "burstable", false, ""},
    {"/kubepods/besteffort/pod" UID "/" CID, C, CID, UID, "besteffort", false, ""},
    {"/kubepods/pod" UID "/" CID, C, CID, UID, "guaranteed", false, ""},
    {"/kubepods/burstable/pod" UID, N, "", UID, "burstable", false, ""},
    {"/kubepods/pod" UID, N, "", UID, "guaranteed", false, ""},
    /* static (mirror) pod: UID is a 32-hex config hash */
    {"/kubepods/burstable/pod" STATIC_UID "/" CID, C, CID, STATIC_UID, "burstable", false, ""},
    {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" STATIC_UID
     ".slice/cri-containerd-" CID ".scope",
     C, CID, STATIC_UID, "burstable", false, ""},
    /* kubelet systemd driver */
    {BURSTABLE "/cri-containerd-" CID ".scope", C, CID, UID, "burstable", false, ""},
    {BURSTABLE "/cri-containerd-" CID2 ".scope", C, CID2, UID, "burstable", false, ""}, /* init */
    {BESTEFFORT "/cri-containerd-" CID ".scope", C, CID, UID, "besteffort", false, ""},
    {"/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" CID ".scope", C, CID, UID,
     "guaranteed", false, ""},
    {BURSTABLE, N, "", UID, "burstable", false, ""},
    {"/kubepods.slice/kubepods-pod" UID_ ".slice", N, "", UID, "guaranteed", false, ""},
    {BESTEFFORT "/cri-containerd-" CID, C, CID, UID, "besteffort", false, ""}, /* no .scope */
    /* seen from inside a cgroup namespace */
    {"/../../kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
     ".slice/cri-containerd-" CID ".scope",
     C, CID, UID, "besteffort", false, ""},
    /* containerd with the systemd driver, path left unconverted */
    {"/system.slice/containerd.service/kubepods-besteffort-pod" UID_ ".slice:cri-containerd:" CID,
     C, CID, UID, "besteffort", false, ""},
    {"/system.slice/crio.service/kubepods-pod" UID_ ".slice:crio:" CID, O, CID, UID, "guaranteed",
     false, ""},
    /* CRI-O: systemd driver, its v2 "container" child, conmon, cgroupfs driver */
    {BURSTABLE "/crio-" CID ".scope", O, CID, UID, "burstable", false, ""},
    {BURSTABLE "/crio-" CID ".scope/container", O, CID, UID, "burstable", false, ""},
    {BURSTABLE "/crio-conmon-" CID ".scope", O, CID, UID, "burstable", false, "", true},
    {"/kubepods/burstable/pod" UID "/crio-" CID, O, CID, UID, "burstable", false, ""},
    {"/kubepods/burstable/pod" UID "/crio-conmon-" CID, O, CID, UID, "burstable", false, "", true},
    /* podman: rootful, conmon, rootless (+ its container child), cgroupfs manager, pods */
    {"/machine.slice/libpod-" CID ".scope", P, CID, "", "", false, ""},
    {"/machine.slice/libpod-conmon-" CID ".scope", P, CID, "", "", false, "", true},
    {"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" CID ".scope", P, CID, "",
     "", false, ""},
    {"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" CID ".scope/container", P,
     CID, "", "", false, ""},
    {"/libpod_parent/libpod-" CID, P, CID, "", "", false, ""},
    {"/machine.slice/machine-libpod_pod_" NODE ".slice/libpod-" CID ".scope", P, CID, "", "", false,
     ""},
    /* kind nodes: a kubelet inside a docker container; the innermost container wins */
    {"/system.slice/docker-" NODE ".scope/kubelet.slice/kubelet-kubepods.slice/"
     "kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" UID_
     ".slice/cri-containerd-" CID ".scope",
     C, CID, UID, "besteffort", false, ""},
    {"/system.slice/docker-" NODE ".scope/kubelet.slice/kubelet-kubepods.slice/"
     "kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" UID_ ".slice",
     N, "", UID, "besteffort", false, ""},
    {"/system.slice/docker-" NODE ".scope/kubelet.slice/kubelet-kubepods.slice/"
     "kubelet-kubepods-pod" UID_ ".slice/cri-containerd-" CID ".scope",
     C, CID, UID, "guaranteed", false, ""},
    {"/system.slice/docker-" NODE ".scope/kubelet.slice/kubelet.service", D, NODE, "", "", false,
     ""},
    {"/docker/" NODE "/kubepods/besteffort/pod" UID "/" CID, C, CID, UID, "besteffort", false, ""},
    {"/docker/" NODE "/kubepods/besteffort/pod" UID, N, "", UID, "besteffort", false, ""},
    {"/docker/" NODE "/system.slice/containerd.service", D, NODE, "", "", false, ""},
    /* KubeVirt: the guest's qemu runs in the virt-launcher pod's compute container */
    {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" KVUID_
     ".slice/cri-containerd-" CID2 ".scope",
     C, CID2, KVUID, "burstable", false, ""},
    /* libvirt: systemd (v2 and v1), cgroupfs v1, old naming, other escapes */
    {"/machine.slice/machine-qemu\\x2d1\\x2dubuntu\\x2d22.04.scope/libvirt/emulator", N, "", "", "",
     true, "ubuntu-22.04"},
    {"/machine.slice/machine-qemu\\x2d1\\x2dubuntu\\x2d22.04.scope/libvirt/vcpu0", N, "", "", "",
     true, "ubuntu-22.04"},
    {"/machine.slice/machine-qemu\\x2d1\\x2dubuntu\\x2d22.04.scope", N, "", "", "", true,
     "ubuntu-22.04"},
    {"/machine.slice/machine-qemu\\x2d12\\x2dwin\\x2d2019.scope/vcpu3", N, "", "", "", true,
     "win-2019"},
    {"/machine.slice/machine-qemu\\x2dfedora.scope/emulator", N, "", "", "", true, "fedora"},
    {"/machine.slice/machine-qemu\\x2d3\\x2dmy\\x5fvm\\x2e1.scope", N, "", "", "", true, "my_vm.1"},
    {"/machine.slice/machine-qemu\\x2d4\\x2dbad\\x00\\xzz.scope", N, "", "", "", true,
     "bad\\x00\\xzz"},
    {"/machine/qemu-1-guest.libvirt-qemu/emulator", N, "", "", "", true, "guest"},
    {"/machine/qemu-7-db-01.libvirt-qemu/vcpu1", N, "", "", "", true, "db-01"},
    {"/machine/guest.libvirt-qemu/vcpu0", N, "", "", "", true, "guest"},
    {"/machine.slice/machine-lxc\\x2d1\\x2dct.scope", N, "", "", "", false, ""},
    /* near misses: wrong length or characters, pod outside kubepods, unknown parent */
    {"/docker/"
     "abc123",
     N, "", "", "", false, ""},
    {"/system.slice/docker-"
     "93cf4220c917b853860886599b2ac757f8290996dd9de5798121e8fa462d6e8"
     ".scope",
     N, "", "", "", false, ""},
    {"/system.slice/docker-"
     "g93cf4220c917b853860886599b2ac757f8290996dd9de5798121e8fa462d6e"
     ".scope",
     N, "", "", "", false, ""},
    {"/system.slice/docker-" CID ".scope.bak", N, "", "", "", false, ""},
    {"/system.slice/docker-" CID "0.scope", N, "", "", "", false, ""},
    {"/pod" UID "/" CID, N, "", "", "", false, ""},
    {"/foo/" CID, N, "", "", "", false, ""},
    {"/kubepods/burstable/pod1234/" CID, N, "", "", "", false, ""},
    {"/kubepods/burstable/pod"
     "1234abcd-5678-90ef-abcd_1234567890ag"
     "/" CID,
     N, "", "", "", false, ""},
    {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ "x.slice", N, "", "",
     "", false, ""},
    {"/system.slice/containerd.service/kubepods-pod" UID_ ".slice:runc:" CID, N, "", "", "", false,
     ""},
    {"/\xff\xfe/\x01\x02:::/..", N, "", "", "", false, ""},
};

static void test_paths(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cgroup_info info;
		int r = cgroup_parse_path(cases[i].path, &info);

		if (r != 0 || info.runtime != cases[i].rt ||
		    strcmp(info.container_id, cases[i].cid) != 0 ||
		    strcmp(info.pod_uid, cases[i].pod) != 0 ||
		    strcmp(info.qos, cases[i].qos) != 0 || info.vm != cases[i].vm ||
		    strcmp(info.vm_name, cases[i].vm_name) != 0 || info.conmon != cases[i].conmon)
			fail_msg("case %zu %s: r=%d runtime=%s id=%s pod=%s qos=%s vm=%d name=%s "
				 "conmon=%d",
				 i, cases[i].path, r, container_runtime_name(info.runtime),
				 info.container_id, info.pod_uid, info.qos, info.vm, info.vm_name,
				 info.conmon);
	}
	assert_true(sizeof(cases) / sizeof(cases[0]) >= 40);
}

static void test_runtime_names(void **state)
{
	(void)state;
	assert_string_equal(container_runtime_name(RUNTIME_NONE), "");
	assert_string_equal(container_runtime_name(RUNTIME_DOCKER), "docker");
	assert_string_equal(container_runtime_name(RUNTIME_CONTAINERD), "containerd");
	assert_string_equal(container_runtime_name(RUNTIME_CRIO), "cri-o");
	assert_string_equal(container_runtime_name(RUNTIME_PODMAN), "podman");
	assert_string_equal(container_runtime_name((enum container_runtime)99), "");
}

static void test_invalid(void **state)
{
	const char *bad[] = {"", "docker/" CID, "system.slice/docker-" CID ".scope", " /docker"};
	struct cgroup_info info;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&info, 0x5a, sizeof(info));
		assert_int_equal(cgroup_parse_path(bad[i], &info), -EINVAL);
		assert_int_equal(((unsigned char *)&info)[0], 0x5a); /* untouched */
	}
	assert_int_equal(cgroup_parse_path(NULL, &info), -EINVAL);
	assert_int_equal(cgroup_parse_path("/", NULL), -EINVAL);
}

/* Huge paths: many components, one enormous component, an enormous machine name. */
static void test_huge(void **state)
{
	size_t big = 1 << 20;
	char *p = malloc(big + 200);
	struct cgroup_info info;
	size_t o = 0;

	(void)state;
	assert_non_null(p);
	while (o < big)
		o += (size_t)sprintf(p + o, "/a");
	strcpy(p + o, "/docker/" CID);
	assert_int_equal(cgroup_parse_path(p, &info), 0);
	assert_int_equal(info.runtime, RUNTIME_DOCKER);
	assert_string_equal(info.container_id, CID);

	p[0] = '/';
	memset(p + 1, 'x', big);
	p[big + 1] = '\0';
	assert_int_equal(cgroup_parse_path(p, &info), 0);
	assert_int_equal(info.runtime, RUNTIME_NONE);

	o = (size_t)sprintf(p, "/machine.slice/machine-qemu\\x2d1\\x2d");
	memset(p + o, 'n', 4000);
	strcpy(p + o + 4000, ".scope/vcpu0");
	assert_int_equal(cgroup_parse_path(p, &info), 0);
	assert_true(info.vm);
	assert_int_equal(strlen(info.vm_name), sizeof(info.vm_name) - 1);

	/* a long UTF-8 name is cut at a character boundary */
	o = (size_t)sprintf(p, "/machine/qemu-1-");
	for (int i = 0; i < 200; i++)
		o += (size_t)sprintf(p + o, "\xc3\xa9");
	strcpy(p + o, ".libvirt-qemu/emulator");
	assert_int_equal(cgroup_parse_path(p, &info), 0);
	assert_true(info.vm);
	assert_int_equal(strlen(info.vm_name), 254);
	free(p);
}

/* Random bytes never crash and always give consistent output. */
static void test_random(void **state)
{
	static const char alphabet[] = "/-_.:\\x2dabcdef0123456789kubepodsslicescopedockercri";
	char buf[512];
	unsigned int seed = 12345;

	(void)state;
	for (int it = 0; it < 20000; it++) {
		size_t n = 1 + (size_t)(rand_r(&seed) % (sizeof(buf) - 2));
		struct cgroup_info info;

		buf[0] = '/';
		for (size_t i = 1; i < n; i++) {
			int r = rand_r(&seed);

			buf[i] = (r & 1) ? (char)(1 + (r >> 1) % 255)
					 : alphabet[(r >> 1) % (sizeof(alphabet) - 1)];
		}
		buf[n] = '\0';
		assert_int_equal(cgroup_parse_path(buf, &info), 0);
		assert_int_equal(info.runtime == RUNTIME_NONE, info.container_id[0] == '\0');
		assert_true(info.container_id[0] == '\0' || strlen(info.container_id) == 64);
		assert_int_equal(info.qos[0] == '\0', info.pod_uid[0] == '\0');
		assert_true(info.vm || info.vm_name[0] == '\0');
	}
}

static const struct {
	const char *text;
	int ret;
	const char *path;
} proc_cases[] = {
    /* v2 only */
    {"0::" BURSTABLE "/cri-containerd-" CID ".scope\n", 0,
     BURSTABLE "/cri-containerd-" CID ".scope"},
    {"0::/\n", 0, "/"},
    {"0::/system.slice/sshd.service\n", 0, "/system.slice/sshd.service"},
    {"0::/system.slice/docker-" CID ".scope (deleted)\n", 0, "/system.slice/docker-" CID ".scope"},
    {"0::/system.slice/containerd.service/kubepods-pod" UID_ ".slice:cri-containerd:" CID, 0,
     "/system.slice/containerd.service/kubepods-pod" UID_ ".slice:cri-containerd:" CID},
    /* hybrid, as on this machine: v2 at the root, one v1 controller below it */
    {"9:name=systemd:/\n8:pids:/\n4:memory:/process_api/6aaa203bb81d40cb45cda312d8834772\n"
     "2:cpuacct:/\n1:cpu:/\n0::/\n",
     0, "/process_api/6aaa203bb81d40cb45cda312d8834772"},
    /* hybrid with docker (cgroupfs driver): cpu,cpuacct first */
    {"12:pids:/docker/" CID "\n4:cpu,cpuacct:/docker/" CID "\n1:name=systemd:/docker/" CID
     "\n0::/\n",
     0, "/docker/" CID},
    /* hybrid: v2 holds a service, v1 the container: the container wins */
    {"4:cpu,cpuacct:/docker/" CID "\n1:name=systemd:/system.slice/containerd.service\n"
     "0::/system.slice/containerd.service\n",
     0, "/docker/" CID},
    /* hybrid where all name a workload: v2 first */
    {"4:cpu,cpuacct:/docker/" CID2 "\n0::/system.slice/docker-" CID ".scope\n", 0,
     "/system.slice/docker-" CID ".scope"},
    /* v1 only */
    {"11:memory:/kubepods/burstable/pod" UID "/" CID "\n"
     "3:cpu,cpuacct:/kubepods/burstable/pod" UID "/" CID "\n"
     "1:name=systemd:/kubepods/burstable/pod" UID "/" CID "\n",
     0, "/kubepods/burstable/pod" UID "/" CID},
    {"3:cpu,cpuacct:/system.slice/sshd.service\n1:name=systemd:/system.slice/foo.service\n", 0,
     "/system.slice/sshd.service"},
    {"5:memory:/\n3:cpu,cpuacct:/\n1:name=systemd:/user.slice/user-0.slice/session-1.scope\n", 0,
     "/user.slice/user-0.slice/session-1.scope"},
    {"5:memory:/\n3:cpu,cpuacct:/\n", 0, "/"},
    {"3:cpu,cpuacct:/\n1:name=systemd:/\n0::/\n", 0, "/"},
    /* bad lines are skipped, good ones still count */
    {"garbage\n0::/docker/" CID "\n", 0, "/docker/" CID},
    {"x:cpu:/docker/" CID "\n0::/\n", 0, "/"},
    /* nothing valid */
    {"", -ENOENT},
    {"\n\n", -ENOENT},
    {"hello world\nfoo", -ENOENT},
    {"0:/\n", -ENOENT},
    {"a:b:/c\n", -ENOENT},
    {":cpu:/c\n", -ENOENT},
    {"0::relative/path\n", -ENOENT},
    {"0::\n", -ENOENT},
};

static void test_proc_cgroup(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(proc_cases) / sizeof(proc_cases[0]); i++) {
		char buf[4096] = "untouched";
		int r = cgroup_parse_proc_cgroup(proc_cases[i].text, buf, sizeof(buf));

		if (r != proc_cases[i].ret)
			fail_msg("case %zu: r=%d want %d", i, r, proc_cases[i].ret);
		if (r == 0 && strcmp(buf, proc_cases[i].path) != 0)
			fail_msg("case %zu: path %s want %s", i, buf, proc_cases[i].path);
		if (r < 0)
			assert_string_equal(buf, "untouched");
	}
}

static void test_proc_cgroup_small(void **state)
{
	char buf[8] = "keep";

	(void)state;
	assert_int_equal(cgroup_parse_proc_cgroup("0::/docker/" CID "\n", buf, sizeof(buf)),
			 -ENAMETOOLONG);
	assert_string_equal(buf, "keep");
	assert_int_equal(cgroup_parse_proc_cgroup("0::/abcdef\n", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/abcdef");
	assert_int_equal(cgroup_parse_proc_cgroup(NULL, buf, sizeof(buf)), -EINVAL);
}

/* A huge /proc/<pid>/cgroup text with an endless line does not crash and still finds v2. */
static void test_proc_cgroup_huge(void **state)
{
	size_t big = 1 << 20;
	char *t = malloc(big + 200);
	char buf[256];
	int o;

	(void)state;
	assert_non_null(t);
	o = sprintf(t, "3:cpu:");
	memset(t + o, '/', big);
	strcpy(t + o + big, "\n0::/docker/" CID "\n");
	assert_int_equal(cgroup_parse_proc_cgroup(t, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/docker/" CID);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_runtime_names),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_huge),
	    cmocka_unit_test(test_random),
	    cmocka_unit_test(test_proc_cgroup),
	    cmocka_unit_test(test_proc_cgroup_small),
	    cmocka_unit_test(test_proc_cgroup_huge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
