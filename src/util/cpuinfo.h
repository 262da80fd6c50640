/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The processors of /proc/cpuinfo, as Kepler 0.11's kepler_node_cpu_info shows
 * them: one record per "processor" stanza with its vendor, model name, socket
 * and core. Parsed once at start (the list does not change while the agent runs).
 */
#pragma once

#include <stddef.h>

struct cpuinfo_cpu {
	/* The field's text as the kernel wrote it, trimmed; "" when the stanza lacks it. */
	const char *processor, *vendor_id, *model_name, *physical_id, *core_id;
};

struct cpuinfo {
	size_t n;
	struct cpuinfo_cpu cpu[]; /* the strings follow, in the same allocation */
};

/*
 * Parse the text of /proc/cpuinfo. A stanza starts at each "processor" line;
 * lines before the first one (s390's header) and fields without a colon are
 * skipped. Returns 0 with *ret (free() it; n may be 0 when no stanza was found),
 * or -ENOMEM.
 */
int cpuinfo_parse(const char *text, struct cpuinfo **ret);
