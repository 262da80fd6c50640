// SPDX-License-Identifier: Apache-2.0
/*
 * Wrap-safe counter arithmetic. A powercap counter takes every value in
 * [0, max_range] and wraps from max_range to 0, so it counts modulo
 * max_range + 1: a wrap from prev to cur is (max_range - prev) + 1 + cur. (The
 * hardware step is one energy unit, ~15-61 uJ, not 1 uJ: either choice is off
 * by less than one unit per wrap; this one is exact modular arithmetic.)
 */
#include "power/meter.h"

uint64_t counter_delta(uint64_t prev, uint64_t cur, uint64_t max_range)
{
	/* A value this counter cannot hold is a glitch, not energy. */
	if (max_range && cur > max_range)
		return 0;
	if (cur >= prev)
		return cur - prev;
	/* A decrease: a wrap, unless the range is unknown or prev was impossible. */
	if (max_range == 0 || prev > max_range)
		return 0;
	/* max_range - prev + cur + 1 <= max_range because cur < prev: no overflow. */
	return max_range - prev + cur + 1;
}
