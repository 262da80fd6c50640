// SPDX-License-Identifier: Apache-2.0
#include "workload/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"
#include "util/util.h"

struct arg {
	const char *s;
	size_t n;
};

static bool arg_eq(struct arg a, const char *lit)
{
	size_t n = strlen(lit);

	return a.n == n && memcmp(a.s, lit, n) == 0;
}

/* qemu accepts -opt and --opt alike. */
static bool is_opt(struct arg a, const char *name)
{
	if (a.n >= 2 && a.s[0] == '-' && a.s[1] == '-')
		a = (struct arg){a.s + 1, a.n - 1};
	return a.n >= 1 && a.s[0] == '-' && arg_eq((struct arg){a.s + 1, a.n - 1}, name);
}

static struct arg basename_of(struct arg a)
{
	const char *slash = memrchr(a.s, '/', a.n);

	if (!slash)
		return a;
	return (struct arg){slash + 1, (size_t)(a.s + a.n - slash - 1)};
}

/* qemu-system-<arch> or qemu-kvm (RHEL's /usr/libexec/qemu-kvm). */
static bool is_qemu(struct arg argv0)
{
	struct arg base = basename_of(argv0);

	if (arg_eq(base, "qemu-kvm"))
		return true;
	return base.n > strlen("qemu-system-") &&
	       memcmp(base.s, "qemu-system-", strlen("qemu-system-")) == 0;
}

/* Copy at most size-1 bytes, never ending inside a UTF-8 sequence. */
static void copy_truncated(char *dst, size_t size, const char *src, size_t n)
{
	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/*
 * The value of key in a qemu option string ("guest=a,,b,debug-threads=on"),
 * where ",," is a literal comma and a first element without '=' is the value
 * of the implied key. The last occurrence wins, as in qemu. False when absent.
 */
static bool opt_value(struct arg v, const char *key, const char *implied, char *ret, size_t size)
{
	const char *p = v.s, *end = v.s + v.n;
	bool first = true, found = false;

	while (p < end) {
		const char *name = p;
		size_t name_n;
		char buf[1024];
		size_t o = 0;

		while (p < end && *p != '=' && *p != ',')
			p++;
		name_n = (size_t)(p - name);
		if (p < end && *p == '=') {
			p++;
		} else if (first && implied) {
			/* implied key: the value starts at the element's beginning */
			p = name;
			name = implied;
			name_n = strlen(implied);
		} else {
			/* a bare flag ("on"): skip its comma */
			if (p < end)
				p++;
			first = false;
			continue;
		}
		while (p < end) {
			if (*p == ',') {
				if (p + 1 < end && p[1] == ',') {
					p += 2;
					if (o < sizeof(buf))
						buf[o++] = ',';
					continue;
				}
				break;
			}
			if (o < sizeof(buf))
				buf[o++] = *p;
			p++;
		}
		if (p < end)
			p++; /* the separating comma */
		if (name_n == strlen(key) && memcmp(name, key, name_n) == 0) {
			copy_truncated(ret, size, buf, o);
			found = true;
		}
		first = false;
	}
	return found;
}

/* 8-4-4-4-12 hex: qemu refuses anything else, so anything else is not a -uuid we trust. */
static bool parse_uuid(struct arg a, char *ret, size_t size)
{
	if (a.n != 36 || size < 37)
		return false;
	for (size_t i = 0; i < a.n; i++) {
		char c = a.s[i];
		bool sep = i == 8 || i == 13 || i == 18 || i == 23;

		if (sep ? c != '-'
			: !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			    (c >= 'A' && c <= 'F')))
			return false;
	}
	for (size_t i = 0; i < a.n; i++)
		ret[i] = (a.s[i] >= 'A' && a.s[i] <= 'F') ? (char)(a.s[i] - 'A' + 'a') : a.s[i];
	ret[a.n] = '\0';
	return true;
}

/* A positive decimal count from an -smp field; 0 when absent, empty or garbage. */
static uint64_t smp_field(struct arg v, const char *key, const char *implied)
{
	char buf[32], *end;
	unsigned long long n;

	if (!opt_value(v, key, implied, buf, sizeof(buf)) || buf[0] < '0' || buf[0] > '9')
		return 0;
	errno = 0;
	n = strtoull(buf, &end, 10);
	if (errno || *end)
		return 0;
	return n > VM_VCPUS_MAX ? VM_VCPUS_MAX : n;
}

unsigned vm_parse_smp(const char *s, size_t len)
{
	static const char *const topology[] = {"sockets", "dies", "clusters", "cores", "threads"};
	struct arg v = {s, len};
	uint64_t n = smp_field(v, "cpus", "cpus"), product = 1;
	bool any = false;

	if (!n)
		n = smp_field(v, "maxcpus", NULL);
	for (size_t i = 0; !n && i < ARRAY_SIZE(topology); i++) {
		uint64_t f = smp_field(v, topology[i], NULL);

		if (f) {
			any = true;
			product = product * f > VM_VCPUS_MAX ? VM_VCPUS_MAX : product * f;
		}
	}
	if (!n && any)
		n = product;
	return n ? (unsigned)n : 1;
}

/* "kvm", "kvm:tcg", "tcg": qemu tries them in order; the first decides what we report. */
static bool accel_is_kvm(const char *list)
{
	return strncmp(list, "kvm", 3) == 0 && (list[3] == '\0' || list[3] == ':');
}

int vm_parse_qemu_cmdline(const char *cmdline, size_t len, struct vm_info *ret)
{
	struct vm_info info = {.vcpus = 1};
	struct arg argv0;
	const char *p, *end;
	int accel = -1; /* -1 not given, 0 other, 1 kvm: the first accelerator named wins */
	bool qemu_kvm;

	if (!cmdline || !ret)
		return -EINVAL;
	if (len == 0)
		return -ENOENT;
	end = cmdline + len;
	p = memchr(cmdline, '\0', len);
	argv0 = (struct arg){cmdline, (size_t)((p ? p : end) - cmdline)};
	if (!is_qemu(argv0))
		return -ENOENT;
	qemu_kvm = arg_eq(basename_of(argv0), "qemu-kvm");
	p = p ? p + 1 : end;

	while (p < end) {
		const char *z = memchr(p, '\0', (size_t)(end - p));
		struct arg a = {p, (size_t)((z ? z : end) - p)}, v = {NULL, 0};
		char buf[256];

		p = z ? z + 1 : end;
		if (a.n < 2 || a.s[0] != '-')
			continue;
		if (is_opt(a, "enable-kvm")) {
			if (accel < 0)
				accel = 1;
			continue;
		}
		if (!is_opt(a, "name") && !is_opt(a, "uuid") && !is_opt(a, "accel") &&
		    !is_opt(a, "machine") && !is_opt(a, "M") && !is_opt(a, "smp"))
			continue;
		if (p >= end)
			break; /* option without its value: truncated */
		z = memchr(p, '\0', (size_t)(end - p));
		v = (struct arg){p, (size_t)((z ? z : end) - p)};
		p = z ? z + 1 : end;

		if (is_opt(a, "name")) {
			opt_value(v, "guest", "guest", info.vm_name, sizeof(info.vm_name));
		} else if (is_opt(a, "uuid")) {
			if (!parse_uuid(v, info.vm_id, sizeof(info.vm_id)))
				info.vm_id[0] = '\0';
		} else if (is_opt(a, "smp")) {
			info.vcpus = vm_parse_smp(v.s, v.n); /* the last -smp wins, as in qemu */
		} else if (is_opt(a, "accel")) {
			if (accel < 0 && opt_value(v, "accel", "accel", buf, sizeof(buf)))
				accel = accel_is_kvm(buf);
		} else if (accel < 0 && opt_value(v, "accel", "type", buf, sizeof(buf))) {
			accel = accel_is_kvm(buf);
		}
	}
	/* qemu-kvm (RHEL's build) defaults to KVM; qemu-system-* defaults to TCG. */
	if (accel < 0)
		accel = qemu_kvm;
	strcpy(info.hypervisor, accel ? "qemu-kvm" : "qemu");
	*ret = info;
	return 0;
}

int vm_read(const char *procfs, uint32_t pid, struct vm_info *ret)
{
	char rel[32], path[PATH_MAX];
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	size_t len = 0;
	int r;

	if (!procfs || !ret)
		return -EINVAL;
	snprintf(rel, sizeof(rel), "%u/cmdline", pid);
	r = path_join(path, sizeof(path), procfs, rel);
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	buf = malloc(VM_CMDLINE_MAX);
	if (!buf)
		return -ENOMEM;
	/* Longer command lines are cut: the options that matter come early in practice. */
	while (len < VM_CMDLINE_MAX) {
		ssize_t k = read(fd, buf + len, VM_CMDLINE_MAX - len);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno == ESRCH ? -ESRCH : -errno;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	return vm_parse_qemu_cmdline(buf, len, ret);
}
