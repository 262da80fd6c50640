// SPDX-License-Identifier: Apache-2.0
/* Whether the effective capabilities (util/caps.h) allow loading the eBPF program. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activity/internal.h"

int caps_check_ebpf(uint64_t capeff, char *why, size_t whysz)
{
	const char *missing;

	if (cap_has(capeff, KCAP_SYS_ADMIN) ||
	    (cap_has(capeff, KCAP_BPF) && cap_has(capeff, KCAP_PERFMON)))
		return 0;
	if (!cap_has(capeff, KCAP_BPF) && !cap_has(capeff, KCAP_PERFMON))
		missing = "CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)";
	else if (!cap_has(capeff, KCAP_BPF))
		missing = "CAP_BPF (or CAP_SYS_ADMIN)";
	else
		missing = "CAP_PERFMON (or CAP_SYS_ADMIN)";
	snprintf(why, whysz, "missing %s (have CapEff=%016" PRIx64 ")", missing, capeff);
	return -EPERM;
}
