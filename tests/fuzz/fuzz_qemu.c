// SPDX-License-Identifier: Apache-2.0
/*
 * vm_parse_qemu_cmdline on the input as a /proc/<pid>/cmdline (arguments
 * separated by NUL, exact length). Checked: -ENOENT leaves *ret untouched;
 * a result has every string terminated, a UUID-shaped lowercase id or none,
 * and one of the two hypervisor names; a truncated read of the same command
 * line never crashes.
 */
#include <ctype.h>

#include "fuzz.h"
#include "workload/vm.h"

static void check(const char *cmdline, size_t len)
{
	struct vm_info vi, canary;
	size_t n;
	int r;

	memset(&vi, 0x5a, sizeof(vi));
	canary = vi;
	r = vm_parse_qemu_cmdline(cmdline, len, &vi);
	fuzz_check(r == 0 || r == -ENOENT);
	if (r < 0) {
		fuzz_check(memcmp(&vi, &canary, sizeof(vi)) == 0);
		return;
	}
	fuzz_check(memchr(vi.vm_id, '\0', sizeof(vi.vm_id)) != NULL);
	fuzz_check(memchr(vi.vm_name, '\0', sizeof(vi.vm_name)) != NULL);
	fuzz_check(memchr(vi.hypervisor, '\0', sizeof(vi.hypervisor)) != NULL);
	fuzz_check(strcmp(vi.hypervisor, "qemu-kvm") == 0 || strcmp(vi.hypervisor, "qemu") == 0);
	n = strlen(vi.vm_id);
	fuzz_check(n == 0 || n == 36);
	for (size_t i = 0; i < n; i++) {
		char c = vi.vm_id[i];

		if (i == 8 || i == 13 || i == 18 || i == 23)
			fuzz_check(c == '-');
		else
			fuzz_check(isdigit((unsigned char)c) || (c >= 'a' && c <= 'f'));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy: the parser must not read past len. */
	char *buf = malloc(size ? size : 1);

	if (!buf)
		abort();
	memcpy(buf, data, size);
	check(buf, size);
	check(buf, size / 2);
	free(buf);
	return 0;
}
