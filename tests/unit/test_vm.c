// SPDX-License-Identifier: Apache-2.0
/*
 * src/workload/vm.c: qemu command lines (libvirt, KubeVirt, plain qemu,
 * non-qemu, ",," escapes, truncated, empty), the reader on a temp procfs tree,
 * and a real process on this machine's /proc whose argv looks like qemu's.
 */
#include <errno.h>
#include <fcntl.h>
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "workload/vm.h"

/* One argument of /proc/<pid>/cmdline: the text and its NUL. */
#define A(s) s "\0"
#define UUID "8f5b2c1e-3d4a-4b6c-9e7f-0a1b2c3d4e5f"
#define KV_UUID "5a9fc181-957e-5c32-9e5a-2de5e9673531"

#define LIBVIRT_Q35                                                                                \
	A("/usr/bin/qemu-system-x86_64")                                                           \
	A("-name")                                                                                 \
	A("guest=ubuntu22.04,debug-threads=on")                                                    \
	A("-S")                                                                                    \
	A("-object") A(                                                                            \
	    "{\"qom-type\":\"secret\",\"id\":\"masterKey0\",\"format\":\"raw\",\"file\":"          \
	    "\"/var/lib/libvirt/qemu/domain-1-ubuntu22.04/master-key.aes\"}") A("-machine")        \
	    A("pc-q35-7.2,usb=off,vmport=off,dump-guest-core=off,memory-backend=pc.ram") A(        \
		"-accel") A("kvm") A("-cpu") A("host,migratable=on") A("-m") A("4096")             \
		A("-object") A(                                                                    \
		    "{\"qom-type\":\"memory-backend-ram\",\"id\":\"pc.ram\",\"size\":4294967296}") \
		    A("-overcommit") A("mem-lock=off") A("-smp")                                   \
			A("2,sockets=2,cores=1,threads=1") A("-uuid") A(UUID) A("-no-user-config") \
			    A("-nodefaults") A("-chardev")                                         \
				A("socket,id=charmonitor,fd=31,server=on,wait=off") A("-mon")      \
				    A("chardev=charmonitor,id=monitor,mode=control") A("-rtc")     \
					A("base=utc,driftfix=slew") A("-global")                   \
					    A("kvm-pit.lost_tick_policy=delay") A("-no-hpet")      \
						A("-no-shutdown") A("-boot") A("strict=on")        \
						    A("-device") A(                                \
							"{\"driver\":\"virtio-blk-pci\",\"bus\":"  \
							"\"pci.4\",\"addr\":\"0x0\",\"drive\":"    \
							"\"libvirt-1-format\",\"id\":\"virtio-"    \
							"disk0\",\"bootindex\":1}") A("-sandbox")  \
							A("on,obsolete=deny,elevateprivileges="    \
							  "deny,spawn=deny,resourcecontrol=deny")  \
							    A("-msg") A("timestamp=on")

/* Older libvirt: accel in -machine, and the name as plain -name. */
#define LIBVIRT_OLD                                                                                \
	A("/usr/bin/qemu-system-x86_64")                                                           \
	A("-name")                                                                                 \
	A("centos7")                                                                               \
	A("-S")                                                                                    \
	A("-machine") A("pc-i440fx-2.11,accel=kvm,usb=off") A("-m") A("2048") A("-realtime")       \
	    A("mlock=off") A("-uuid") A("0B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0")                    \
		A("-no-user-config")

#define KUBEVIRT                                                                                   \
	A("/usr/libexec/qemu-kvm")                                                                 \
	A("-name")                                                                                 \
	A("guest=default_vmi-fedora,debug-threads=on")                                             \
	A("-S")                                                                                    \
	A("-object")                                                                               \
	    A("{\"qom-type\":\"secret\",\"id\":\"masterKey0\",\"format\":\"raw\",\"file\":"        \
	      "\"/var/run/kubevirt-private/libvirt/qemu/lib/domain-1-default_vmi-fedora/"          \
	      "master-key.aes\"}") A("-machine")                                                   \
		A("pc-q35-rhel9.2.0,usb=off,dump-guest-core=off,memory-backend=pc.ram")            \
		    A("-accel") A("kvm") A("-cpu") A("Skylake-Client-IBRS,ss=on,vmx=on") A("-m")   \
			A("1024") A("-smp") A("1,sockets=1,dies=1,cores=1,threads=1") A("-uuid")   \
			    A(KV_UUID) A("-smbios")                                                \
				A("type=1,manufacturer=KubeVirt,product=None,uuid=" KV_UUID        \
				  ",family=KubeVirt")

static const struct {
	const char *cmdline;
	size_t len;
	int ret;
	const char *id, *name, *hyp;
} cases[] = {
#define CASE(cl, ...)                                                                              \
	{                                                                                          \
		cl, sizeof(cl) - 1, __VA_ARGS__                                                    \
	}
    CASE(LIBVIRT_Q35, 0, UUID, "ubuntu22.04", "qemu-kvm"),
    CASE(LIBVIRT_OLD, 0, "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", "centos7", "qemu-kvm"),
    CASE(KUBEVIRT, 0, KV_UUID, "default_vmi-fedora", "qemu-kvm"),
    /* plain qemu: TCG unless KVM is asked for */
    CASE(A("qemu-system-x86_64") A("-m") A("512") A("-hda") A("disk.img"), 0, "", "", "qemu"),
    CASE(A("qemu-system-aarch64") A("-M") A("virt") A("-cpu") A("cortex-a57") A("-name") A("arm"),
	 0, "", "arm", "qemu"),
    CASE(A("qemu-system-x86_64") A("-enable-kvm") A("-name") A("myvm"), 0, "", "myvm", "qemu-kvm"),
    CASE(A("qemu-system-x86_64") A("--enable-kvm") A("--name") A("dashdash"), 0, "", "dashdash",
	 "qemu-kvm"),
    CASE(A("qemu-system-x86_64") A("-M") A("q35,accel=kvm:tcg"), 0, "", "", "qemu-kvm"),
    CASE(A("qemu-system-x86_64") A("-machine") A("accel=tcg"), 0, "", "", "qemu"),
    CASE(A("qemu-system-x86_64") A("-accel") A("tcg") A("-accel") A("kvm"), 0, "", "", "qemu"),
    CASE(A("qemu-system-x86_64") A("-accel") A("kvm,kernel-irqchip=on"), 0, "", "", "qemu-kvm"),
    CASE(A("qemu-system-x86_64") A("-accel") A("accel=kvm"), 0, "", "", "qemu-kvm"),
    CASE(A("qemu-system-x86_64") A("-accel") A("kvmx"), 0, "", "", "qemu"),
    CASE(A("/usr/libexec/qemu-kvm") A("-m") A("1G"), 0, "", "", "qemu-kvm"),
    CASE(A("/usr/libexec/qemu-kvm") A("-accel") A("tcg"), 0, "", "", "qemu"),
    CASE(A("qemu-kvm") A("-name") A("x"), 0, "", "x", "qemu-kvm"),
    /* -name forms and ",," escaping of commas */
    CASE(A("qemu-system-x86_64") A("-name") A("myvm,process=qemu-myvm"), 0, "", "myvm", "qemu"),
    CASE(A("qemu-system-x86_64") A("-name") A("guest=a,,b,,c,debug-threads=on"), 0, "", "a,b,c",
	 "qemu"),
    CASE(A("qemu-system-x86_64") A("-name") A("a,,b"), 0, "", "a,b", "qemu"),
    CASE(A("qemu-system-x86_64") A("-name") A("guest=trailing,,"), 0, "", "trailing,", "qemu"),
    CASE(A("qemu-system-x86_64") A("-name") A("debug-threads=on,guest=second"), 0, "", "second",
	 "qemu"),
    CASE(A("qemu-system-x86_64") A("-name") A("debug-threads=on"), 0, "", "", "qemu"),
    CASE(A("qemu-system-x86_64") A("-name") A("first") A("-name") A("guest=last"), 0, "", "last",
	 "qemu"),
    CASE(A("qemu-system-x86_64") A("-name") A(""), 0, "", "", "qemu"),
    /* -uuid must be a UUID */
    CASE(A("qemu-system-x86_64") A("-uuid") A("not-a-uuid"), 0, "", "", "qemu"),
    CASE(A("qemu-system-x86_64") A("-uuid") A("8f5b2c1e-3d4a-4b6c-9e7f-0a1b2c3d4e5"), 0, "", "",
	 "qemu"),
    CASE(A("qemu-system-x86_64") A("-uuid") A("8f5b2c1e-3d4a-4b6c-9e7f-0a1b2c3d4e5g"), 0, "", "",
	 "qemu"),
    /* option words inside values are values */
    CASE(A("qemu-system-x86_64") A("-append") A("console=ttyS0 -name evil") A("-name") A("good"), 0,
	 "", "good", "qemu"),
    /* truncated reads: last argument without its NUL; option without value */
    {A("qemu-system-x86_64") A("-uuid") A(UUID) A("-name") "guest=trunc",
     sizeof(A("qemu-system-x86_64") A("-uuid") A(UUID) A("-name") "guest=trunc") - 1, 0, UUID,
     "trunc", "qemu"},
    {A("qemu-system-x86_64") A("-uuid") A(UUID) "-name",
     sizeof(A("qemu-system-x86_64") A("-uuid") A(UUID) "-name") - 1, 0, UUID, "", "qemu"},
    {"qemu-system-x86_64", sizeof("qemu-system-x86_64") - 1, 0, "", "", "qemu"},
    {LIBVIRT_Q35, 47, 0, "", "ubuntu2", "qemu"}, /* cut inside the -name value */
    /* not qemu */
    CASE(A("/bin/bash") A("-c") A("qemu-system-x86_64 -name x"), -ENOENT),
    CASE(A("python3") A("/usr/bin/qemu-system-x86_64"), -ENOENT),
    CASE(A("/usr/bin/qemu-img") A("info") A("disk.qcow2"), -ENOENT),
    CASE(A("/usr/bin/qemu-nbd") A("-c") A("/dev/nbd0"), -ENOENT),
    CASE(A("qemu-system-"), -ENOENT),
    CASE(A("/usr/bin/virt-launcher") A("--qemu-timeout") A("5m"), -ENOENT),
    CASE(A("/usr/sbin/libvirtd"), -ENOENT),
    CASE(A(""), -ENOENT),
    CASE(A("") A("qemu-system-x86_64"), -ENOENT),
    {"", 0, -ENOENT},
#undef CASE
};

static void test_cmdlines(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vm_info info;
		int r;

		memset(&info, 0x5a, sizeof(info));
		r = vm_parse_qemu_cmdline(cases[i].cmdline, cases[i].len, &info);
		if (r != cases[i].ret)
			fail_msg("case %zu: r=%d want %d", i, r, cases[i].ret);
		if (r < 0) {
			assert_int_equal((unsigned char)info.vm_id[0], 0x5a); /* untouched */
			continue;
		}
		if (strcmp(info.vm_id, cases[i].id) || strcmp(info.vm_name, cases[i].name) ||
		    strcmp(info.hypervisor, cases[i].hyp))
			fail_msg("case %zu: id=%s name=%s hyp=%s", i, info.vm_id, info.vm_name,
				 info.hypervisor);
	}
}

/* -smp values as qemu reads them: the vCPUs the guest starts with. */
static void test_smp(void **state)
{
	static const struct {
		const char *v;
		unsigned want;
	} smp[] = {
	    {"4", 4},
	    {"cpus=4", 4},
	    {"2,sockets=2,cores=1,threads=1", 2},	 /* libvirt */
	    {"1,sockets=1,dies=1,cores=1,threads=1", 1}, /* KubeVirt */
	    {"sockets=2,cores=4,threads=2", 16},	 /* no cpus: the topology's product */
	    {"cores=3", 3},
	    {"sockets=2,dies=2,clusters=2,cores=2,threads=2", 32},
	    {"maxcpus=8", 8},	     /* no cpus: maxcpus */
	    {"2,maxcpus=8", 2},	     /* hot-pluggable beyond: not started */
	    {"cpus=0,sockets=3", 3}, /* 0 is "not given" in qemu */
	    {"cpus=2,cpus=6", 6},    /* the last one wins */
	    {"", 1},
	    {"garbage", 1},
	    {"4x", 1},
	    {"-4", 1},
	    {"cpus=", 1},
	    {"99999", VM_VCPUS_MAX},
	    {"sockets=100,cores=100", VM_VCPUS_MAX},
	    {"123456789012345678901234567890123456789", 1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(smp) / sizeof(smp[0]); i++) {
		unsigned got = vm_parse_smp(smp[i].v, strlen(smp[i].v));

		if (got != smp[i].want)
			fail_msg("-smp %s: %u vCPUs, want %u", smp[i].v, got, smp[i].want);
	}
}

/* The command line carries -smp into vcpus; no -smp is one vCPU, the last -smp wins. */
static void test_cmdline_vcpus(void **state)
{
	static const char libvirt[] = LIBVIRT_Q35, kubevirt[] = KUBEVIRT,
			  plain[] = A("qemu-system-x86_64") A("-m") A("512"),
			  twice[] = A("qemu-system-x86_64") A("-smp") A("2") A("--smp") A("cpus=6"),
			  cut[] = A("qemu-system-x86_64") A("-smp");
	struct vm_info info;

	(void)state;
	assert_int_equal(vm_parse_qemu_cmdline(libvirt, sizeof(libvirt) - 1, &info), 0);
	assert_int_equal(info.vcpus, 2);
	assert_int_equal(vm_parse_qemu_cmdline(kubevirt, sizeof(kubevirt) - 1, &info), 0);
	assert_int_equal(info.vcpus, 1);
	assert_int_equal(vm_parse_qemu_cmdline(plain, sizeof(plain) - 1, &info), 0);
	assert_int_equal(info.vcpus, 1);
	assert_int_equal(vm_parse_qemu_cmdline(twice, sizeof(twice) - 1, &info), 0);
	assert_int_equal(info.vcpus, 6);
	assert_int_equal(vm_parse_qemu_cmdline(cut, sizeof(cut) - 1, &info), 0);
	assert_int_equal(info.vcpus, 1);
}

/* A name longer than the field is cut to 255 bytes; the rest of the line is still parsed. */
static void test_long_name(void **state)
{
	char buf[2048];
	struct vm_info info;
	size_t o = 0;

	(void)state;
	o += (size_t)sprintf(buf + o, "qemu-system-x86_64%c-name%cguest=", 0, 0);
	memset(buf + o, 'n', 1000);
	o += 1000;
	o += (size_t)sprintf(buf + o, ",debug-threads=on%c-uuid%c%s%c", 0, 0, UUID, 0);
	assert_int_equal(vm_parse_qemu_cmdline(buf, o, &info), 0);
	assert_int_equal(strlen(info.vm_name), sizeof(info.vm_name) - 1);
	assert_string_equal(info.vm_id, UUID);
	assert_int_equal(vm_parse_qemu_cmdline(NULL, 3, &info), -EINVAL);
	assert_int_equal(vm_parse_qemu_cmdline("x", 1, NULL), -EINVAL);
}

static bool streq_hyp(const char *h)
{
	return strcmp(h, "qemu") == 0 || strcmp(h, "qemu-kvm") == 0;
}

/* Random bytes after a qemu argv[0]: never a crash, always NUL-terminated fields. */
static void test_random(void **state)
{
	static const char alphabet[] = "-nameuidgst=,accelkvmM\0\0\0";
	char buf[600];
	unsigned int seed = 7;

	(void)state;
	for (int it = 0; it < 20000; it++) {
		size_t n = sizeof("qemu-kvm");
		size_t len = n + (size_t)(rand_r(&seed) % (sizeof(buf) - n));
		struct vm_info info;

		memcpy(buf, "qemu-kvm", n);
		for (size_t i = n; i < len; i++) {
			int r = rand_r(&seed);

			buf[i] =
			    (r & 1) ? (char)(r >> 1) : alphabet[(r >> 1) % (sizeof(alphabet) - 1)];
		}
		assert_int_equal(vm_parse_qemu_cmdline(buf, len, &info), 0);
		assert_true(memchr(info.vm_name, '\0', sizeof(info.vm_name)) != NULL);
		assert_true(strlen(info.vm_id) == 0 || strlen(info.vm_id) == 36);
		assert_true(streq_hyp(info.hypervisor));
	}
}

static void write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* vm_read on a temp procfs tree: a qemu, a non-qemu, a missing pid, an oversized cmdline. */
static void test_read_tree(void **state)
{
	char root[] = "/tmp/kepler-vm-XXXXXX", path[512];
	struct vm_info info;
	char *big;
	size_t o;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/100", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/100/cmdline", root);
	write_file(path, KUBEVIRT, sizeof(KUBEVIRT) - 1);
	assert_int_equal(vm_read(root, 100, &info), 0);
	assert_string_equal(info.vm_name, "default_vmi-fedora");
	assert_string_equal(info.vm_id, KV_UUID);
	assert_string_equal(info.hypervisor, "qemu-kvm");

	snprintf(path, sizeof(path), "%s/200", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/200/cmdline", root);
	write_file(path, A("/usr/sbin/sshd") A("-D"), sizeof(A("/usr/sbin/sshd") A("-D")) - 1);
	assert_int_equal(vm_read(root, 200, &info), -ENOENT);

	/* a kernel thread: empty cmdline */
	snprintf(path, sizeof(path), "%s/2", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/2/cmdline", root);
	write_file(path, "", 0);
	assert_int_equal(vm_read(root, 2, &info), -ENOENT);

	assert_int_equal(vm_read(root, 4242, &info), -ESRCH);

	/* larger than the read bound: the head is parsed, the rest ignored */
	big = malloc(2 * VM_CMDLINE_MAX);
	assert_non_null(big);
	o = (size_t)sprintf(big, "qemu-system-x86_64%c-name%cbig%c-uuid%c%s%c", 0, 0, 0, 0, UUID,
			    0);
	while (o + 8 < 2 * VM_CMDLINE_MAX) {
		memcpy(big + o, A("-S") A("-S"), 6);
		o += 6;
	}
	snprintf(path, sizeof(path), "%s/300", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/300/cmdline", root);
	write_file(path, big, o);
	free(big);
	assert_int_equal(vm_read(root, 300, &info), 0);
	assert_string_equal(info.vm_name, "big");
	assert_string_equal(info.vm_id, UUID);

	for (const char *pid = "100\0"
			       "200\0"
			       "2\0"
			       "300\0";
	     *pid; pid += strlen(pid) + 1) {
		snprintf(path, sizeof(path), "%s/%s/cmdline", root, pid);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s", root, pid);
		rmdir(path);
	}
	rmdir(root);
}

/*
 * A real process on this machine's /proc with qemu's argv: /bin/sh keeps the
 * argv it was given (argv[0] and the words after "-c <script>"), and waits on
 * a pipe until the test is done.
 */
static void test_read_real(void **state)
{
	struct vm_info info;
	int pipefd[2], r = -ENOENT;
	pid_t pid;

	(void)state;
	assert_int_equal(vm_read("/proc", (uint32_t)getpid(), &info), -ENOENT);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[0], 0);
		close(pipefd[1]);
		execl("/bin/sh", "qemu-system-x86_64", "-c", "read x", "sh", "-name",
		      "guest=real,,vm,debug-threads=on", "-enable-kvm", "-uuid", UUID,
		      (char *)NULL);
		_exit(127);
	}
	close(pipefd[0]);
	/* until the exec has happened: before it, cmdline is this test's */
	for (int i = 0; i < 200 && r == -ENOENT; i++) {
		r = vm_read("/proc", (uint32_t)pid, &info);
		if (r == -ENOENT)
			nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	close(pipefd[1]);
	waitpid(pid, NULL, 0);
	assert_int_equal(r, 0);
	assert_string_equal(info.vm_name, "real,vm");
	assert_string_equal(info.vm_id, UUID);
	assert_string_equal(info.hypervisor, "qemu-kvm");
	/* reaped: gone */
	assert_int_equal(vm_read("/proc", (uint32_t)pid, &info), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cmdlines),	  cmocka_unit_test(test_smp),
	    cmocka_unit_test(test_cmdline_vcpus), cmocka_unit_test(test_long_name),
	    cmocka_unit_test(test_random),	  cmocka_unit_test(test_read_tree),
	    cmocka_unit_test(test_read_real),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
