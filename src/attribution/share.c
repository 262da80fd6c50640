// SPDX-License-Identifier: Apache-2.0
#include "attribution/share.h"

#include <errno.h>
#include <stdlib.h>

struct rem {
	uint64_t frac; /* remainder of total * w[i] / sum, compared across parts */
	size_t i;
};

static int rem_cmp(const void *a, const void *b)
{
	const struct rem *x = a, *y = b;

	if (x->frac != y->frac)
		return x->frac > y->frac ? -1 : 1;
	return x->i < y->i ? -1 : (x->i > y->i);
}

int share_split(uint64_t total, const uint64_t *w, size_t n, uint64_t *out)
{
	unsigned __int128 sum = 0;
	uint64_t given = 0;
	struct rem *rems;

	for (size_t i = 0; i < n; i++) {
		sum += w[i];
		out[i] = 0;
	}
	if (sum == 0)
		return -ENODATA;
	rems = malloc(n * sizeof(*rems));
	if (!rems)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned __int128 p = (unsigned __int128)total * w[i];

		out[i] = (uint64_t)(p / sum);
		/* The remainder is < sum <= n * UINT64_MAX; scaled to 64 bits it still orders. */
		rems[i].frac = (uint64_t)(((p % sum) << 32) / sum);
		rems[i].i = i;
		given += out[i];
	}
	/* total - given < n: hand one unit each to the parts with the largest remainders. */
	if (given < total) {
		qsort(rems, n, sizeof(*rems), rem_cmp);
		for (size_t k = 0; given < total; k++, given++)
			out[rems[k].i]++;
	}
	free(rems);
	return 0;
}
