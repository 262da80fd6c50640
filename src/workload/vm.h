/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Virtual machine identity from a qemu process's command line: libvirt,
 * KubeVirt (virt-launcher) and plain qemu guests.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct vm_info {
	char vm_id[64];	     /* -uuid, lowercase; "" when absent or malformed */
	char vm_name[256];   /* -name guest=<name> or -name <name>, ",," unescaped; "" none */
	char hypervisor[16]; /* "qemu-kvm" with KVM acceleration, else "qemu" */
	unsigned vcpus;	     /* from -smp; 1 without it (qemu's default) */
};

/* The most vCPUs a -smp value is taken to mean: more is read as this many. */
#define VM_VCPUS_MAX 4096

/*
 * The vCPUs an -smp value starts the guest with, as qemu reads it: "4",
 * "cpus=4,sockets=2", "4,maxcpus=8"; without cpus, maxcpus, else the product
 * of the topology given (sockets, dies, clusters, cores, threads; each absent
 * one 1). At least 1 (garbage is 1), at most VM_VCPUS_MAX.
 */
unsigned vm_parse_smp(const char *v, size_t len);

/* The most of /proc/<pid>/cmdline that vm_read() looks at. */
#define VM_CMDLINE_MAX (256 * 1024)

/*
 * cmdline as in /proc/<pid>/cmdline: arguments separated by NUL, the last one
 * possibly without its NUL (a truncated read). Returns 0, -ENOENT when argv[0]
 * is not a qemu system emulator (ret untouched), -EINVAL on NULL arguments.
 */
int vm_parse_qemu_cmdline(const char *cmdline, size_t len, struct vm_info *ret);

/* The same from <procfs>/<pid>/cmdline; -ESRCH when the process is gone. */
int vm_read(const char *procfs, uint32_t pid, struct vm_info *ret);
