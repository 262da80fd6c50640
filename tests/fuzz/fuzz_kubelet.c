// SPDX-License-Identifier: Apache-2.0
/*
 * kubelet_parse_pods on the input as a /pods response body (exact length, no
 * NUL terminator). Checked: the return contract (a count and an array, or
 * -errno with *ret untouched and a message), ids of 64 hex digits, and every
 * string terminated within its field.
 */
#include <ctype.h>

#include "fuzz.h"
#include "workload/kubelet.h"

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pod_container *pods = (struct pod_container *)&size; /* a canary */
	char err[256];
	int r;

	err[0] = '\0';
	r = kubelet_parse_pods((const char *)data, size, &pods, err, sizeof(err));
	fuzz_check(r >= 0 || r == -EBADMSG || r == -E2BIG || r == -ENOMEM);
	fuzz_check(terminated(err, sizeof(err)));
	if (r < 0) {
		fuzz_check(pods == (struct pod_container *)&size);
		fuzz_check(err[0] != '\0');
		return 0;
	}
	fuzz_check(r <= KUBELET_MAX_CONTAINERS);
	fuzz_check((r == 0) == (pods == NULL));
	for (int i = 0; i < r; i++) {
		const struct pod_container *c = &pods[i];

		fuzz_check(terminated(c->container_id, sizeof(c->container_id)));
		fuzz_check(terminated(c->container_name, sizeof(c->container_name)));
		fuzz_check(terminated(c->pod_uid, sizeof(c->pod_uid)));
		fuzz_check(terminated(c->pod_name, sizeof(c->pod_name)));
		fuzz_check(terminated(c->pod_namespace, sizeof(c->pod_namespace)));
		fuzz_check(strlen(c->container_id) == 64);
		for (size_t k = 0; k < 64; k++)
			fuzz_check(isxdigit((unsigned char)c->container_id[k]));
	}
	free(pods);
	return 0;
}
