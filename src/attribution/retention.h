/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How long a workload that ended is kept (DESIGN section 4), one rule for
 * processes and groups: it stays at least one interval past its end (the
 * activity source delivers the residue of its last time slice then); a
 * process then goes once a scrape has seen it, a group stays while it is
 * tracked so that its counters resume if its id comes back; both are bounded
 * by monitor.maxTerminated.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lifecycle {
	bool terminated;
	uint64_t ended_interval; /* interval in which it ended */
	uint64_t scrape_mark;	 /* scrapes of /metrics when it ended */
};

void lifecycle_end(struct lifecycle *l, uint64_t interval, uint64_t scrapes);
/* Alive again: a group whose id came back (a restarted container). */
void lifecycle_revive(struct lifecycle *l);
/* Ended, seen by a scrape since, and past the interval that may still bring its residue. */
bool lifecycle_expired(const struct lifecycle *l, uint64_t interval, uint64_t scrapes);
/* Whether it may be evicted: ended, and past the interval that may still bring its residue. */
bool lifecycle_settled(const struct lifecycle *l, uint64_t interval);

/*
 * Keep at most max of the n ended workloads in the array base (elements of
 * size bytes, as for qsort): sorts it so that the ones to keep come first
 * (keep_first orders them) and returns how many to evict, the last ones.
 */
size_t retention_trim(void *base, size_t n, size_t size, size_t max,
		      int (*keep_first)(const void *, const void *));
