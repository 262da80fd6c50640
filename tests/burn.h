/* SPDX-License-Identifier: Apache-2.0 */
/* Known CPU work for the tests: spin until a clock reaches a target. */
#pragma once

#include <stdint.h>
#include <time.h>

#include "util/timeutil.h"

static inline void burn_until(clockid_t clk, uint64_t target_ns)
{
	volatile uint64_t x = 0;

	while (clock_ns(clk) < target_ns)
		for (int i = 0; i < 10000; i++)
			x = x + (uint64_t)i;
	(void)x;
}

/* Burn ms of the process's CPU time. */
static inline void burn_ms(unsigned ms)
{
	burn_until(CLOCK_PROCESS_CPUTIME_ID,
		   clock_ns(CLOCK_PROCESS_CPUTIME_ID) + ms * NSEC_PER_MSEC);
}
