// SPDX-License-Identifier: Apache-2.0
/*
 * The procfs parsers of the activity subsystem (src/activity/internal.h):
 * /proc/<pid>/stat, /proc/stat and cpu lists, on the input as file text, and
 * the eBPF capability check on its first bytes. Checked: failures leave the
 * outputs untouched; results stay in their documented ranges; the capability
 * check agrees with its documented rule.
 */
#include "activity/internal.h"
#include "util/procstat.h"
#include "fuzz.h"

static void check_pid_stat(const char *s)
{
	struct pid_stat st, canary;
	int r;

	memset(&st, 0x5a, sizeof(st));
	canary = st;
	r = parse_pid_stat(s, &st);
	fuzz_check(r == 0 || r == -EINVAL);
	if (r < 0) {
		fuzz_check(memcmp(&st, &canary, sizeof(st)) == 0);
		return;
	}
	fuzz_check(st.pid != 0);
	fuzz_check(memchr(st.comm, '\0', sizeof(st.comm)) != NULL);
	fuzz_check(strlen(st.comm) <= 15);
	fuzz_check(st.state != '\0');
}

static void check_proc_stat(const char *s)
{
	struct cpu_times t, canary;
	unsigned ncpus = 12345;
	int r;

	memset(&t, 0x5a, sizeof(t));
	canary = t;
	r = procstat_parse(s, &t, &ncpus);
	if (r < 0) {
		fuzz_check(memcmp(&t, &canary, sizeof(t)) == 0 && ncpus == 12345);
		return;
	}
	fuzz_check(ncpus <= strlen(s) / 4);
	(void)cpu_times_busy(&t);
	(void)cpu_times_idle(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size), why[64];
	uint64_t cap = 0x1234;
	uint32_t count = 77;
	int r;

	check_pid_stat(s);
	check_proc_stat(s);

	r = parse_cpu_list(s, &count);
	if (r == 0)
		fuzz_check(count >= 1);
	else
		fuzz_check(count == 77);

	/* The input's first bytes as an effective capability set. */
	memcpy(&cap, data, size < sizeof(cap) ? size : sizeof(cap));
	r = caps_check_ebpf(cap, why, sizeof(why));
	fuzz_check(r == 0 || r == -EPERM);
	fuzz_check(r == 0 || memchr(why, '\0', sizeof(why)) != NULL);
	fuzz_check((r == 0) == (cap_has(cap, KCAP_SYS_ADMIN) ||
				(cap_has(cap, KCAP_BPF) && cap_has(cap, KCAP_PERFMON))));
	free(s);
	return 0;
}
