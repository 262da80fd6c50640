/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's CPU times from <procfs>/stat, one parser for every reader: the
 * activity sources (the node's idle time, the procfs fallback's busy time)
 * and the estimator (utilisation, online CPUs).
 */
#pragma once

#include <stdint.h>

/* The aggregate "cpu " line, clock ticks. */
struct cpu_times {
	uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
};

/*
 * The aggregate line and, when ret_ncpus is given, the number of "cpuN" lines
 * (the online CPUs). -ENOENT without an aggregate line, -EINVAL when it has
 * fewer than four fields or a field is not a decimal number, -ERANGE when one
 * overflows; *ret is untouched then.
 */
int procstat_parse(const char *text, struct cpu_times *ret, unsigned *ret_ncpus);

/* The same from <procfs>/stat (its leading cpu lines only; the rest can be huge). */
int procstat_read(const char *procfs, struct cpu_times *ret, unsigned *ret_ncpus);

/*
 * Busy = user+nice+system+irq+softirq (guest time is inside user); idle =
 * idle+iowait. Steal, the time the hypervisor gave to others, is in neither.
 * Both saturate rather than wrap.
 */
uint64_t cpu_times_busy(const struct cpu_times *t);
uint64_t cpu_times_idle(const struct cpu_times *t);
