// SPDX-License-Identifier: Apache-2.0
#include "attribution/retention.h"

#include <stdlib.h>

void lifecycle_end(struct lifecycle *l, uint64_t interval, uint64_t scrapes)
{
	if (l->terminated)
		return;
	l->terminated = true;
	l->ended_interval = interval;
	l->scrape_mark = scrapes;
}

void lifecycle_revive(struct lifecycle *l)
{
	l->terminated = false;
}

bool lifecycle_settled(const struct lifecycle *l, uint64_t interval)
{
	return l->terminated && interval > l->ended_interval + 1;
}

bool lifecycle_expired(const struct lifecycle *l, uint64_t interval, uint64_t scrapes)
{
	return lifecycle_settled(l, interval) && scrapes > l->scrape_mark;
}

size_t retention_trim(void *base, size_t n, size_t size, size_t max,
		      int (*keep_first)(const void *, const void *))
{
	if (n <= max)
		return 0;
	qsort(base, n, size, keep_first);
	return n - max;
}
