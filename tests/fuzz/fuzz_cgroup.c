// SPDX-License-Identifier: Apache-2.0
/*
 * The cgroup parsers of the workload subsystem: a cgroup path
 * (cgroup_parse_path), a /proc/<pid>/cgroup text (cgroup_parse_proc_cgroup)
 * and a mountinfo text (cgroup2_mount_from_mountinfo), on the input as text.
 * Checked: failures leave the outputs untouched; results fit their buffers;
 * container ids and pod UIDs have their documented shape; a path chosen from
 * /proc/<pid>/cgroup is one cgroup_parse_path accepts.
 */
#include <ctype.h>

#include "fuzz.h"
#include "workload/cgroup.h"
#include "workload/cgroupfs.h"

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static void check_path(const char *path)
{
	struct cgroup_info ci, canary;
	size_t n;
	int r;

	memset(&ci, 0x5a, sizeof(ci));
	canary = ci;
	r = cgroup_parse_path(path, &ci);
	fuzz_check(r == 0 || r == -EINVAL);
	fuzz_check(r == 0 || memcmp(&ci, &canary, sizeof(ci)) == 0);
	fuzz_check((r == 0) == (path[0] == '/'));
	if (r < 0)
		return;
	fuzz_check(ci.runtime >= RUNTIME_NONE && ci.runtime <= RUNTIME_PODMAN);
	fuzz_check(container_runtime_name(ci.runtime) != NULL);
	fuzz_check(terminated(ci.container_id, sizeof(ci.container_id)));
	fuzz_check(terminated(ci.pod_uid, sizeof(ci.pod_uid)));
	fuzz_check(terminated(ci.qos, sizeof(ci.qos)));
	fuzz_check(terminated(ci.vm_name, sizeof(ci.vm_name)));
	n = strlen(ci.container_id);
	fuzz_check(n == 0 || n == CONTAINER_ID_LEN);
	for (size_t i = 0; i < n; i++)
		fuzz_check(isdigit((unsigned char)ci.container_id[i]) ||
			   (ci.container_id[i] >= 'a' && ci.container_id[i] <= 'f'));
	n = strlen(ci.pod_uid);
	fuzz_check(n == 0 || n == 32 || n == POD_UID_LEN); /* 32: a static pod */
	fuzz_check(ci.qos[0] == '\0' || strcmp(ci.qos, "guaranteed") == 0 ||
		   strcmp(ci.qos, "burstable") == 0 || strcmp(ci.qos, "besteffort") == 0);
	if (ci.runtime == RUNTIME_NONE)
		fuzz_check(ci.container_id[0] == '\0' && !ci.conmon);
}

static void check_proc_cgroup(const char *text)
{
	static const size_t sizes[] = {1, 2, 32, 4096};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *buf = malloc(sizes[i]); /* exact size, so an overflow is caught */
		int r;

		if (!buf)
			abort();
		memset(buf, 'x', sizes[i]);
		r = cgroup_parse_proc_cgroup(text, buf, sizes[i]);
		fuzz_check(r == 0 || r == -ENOENT || r == -ENAMETOOLONG);
		if (r == 0) {
			fuzz_check(terminated(buf, sizes[i]));
			fuzz_check(buf[0] == '/');
			if (i == 3)
				check_path(buf);
		} else {
			fuzz_check(buf[0] == 'x');
		}
		free(buf);
	}
}

static void check_mountinfo(const char *text)
{
	static const size_t sizes[] = {1, 2, 32, 4096};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *buf = malloc(sizes[i]);
		int r;

		if (!buf)
			abort();
		memset(buf, 'x', sizes[i]);
		r = cgroup2_mount_from_mountinfo(text, buf, sizes[i]);
		fuzz_check(r == 0 || r == -ENOENT || r == -ENAMETOOLONG);
		if (r == 0)
			fuzz_check(terminated(buf, sizes[i]));
		else
			fuzz_check(buf[0] == 'x');
		free(buf);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);

	check_path(s);
	check_proc_cgroup(s);
	check_mountinfo(s);
	free(s);
	return 0;
}
