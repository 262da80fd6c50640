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
};

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
