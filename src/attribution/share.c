// SPDX-License-Identifier: Apache-2.0
#include "attribution/share.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

struct rem {
	uint64_t frac; /* remainder of total * w[i] / sum, compared across parts */
	size_t i;
};

/* Larger remainder first; among equals the first part (a total order: indices differ). */
static bool before(const struct rem *x, const struct rem *y)
{
	return x->frac != y->frac ? x->frac > y->frac : x->i < y->i;
}

static void swap(struct rem *a, struct rem *b)
{
	struct rem t = *a;

	*a = *b;
	*b = t;
}

/*
 * Reorder r so that its first k entries are the k that come first (in any
 * order): a selection, linear on average, where a sort of all n would cost
 * n log n on every zone of every interval.
 */
static void select_first(struct rem *r, size_t n, size_t k)
{
	size_t lo = 0, hi = n;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2, store = lo;

		/* Median of three as the pivot, parked at the end. */
		if (before(&r[mid], &r[lo]))
			swap(&r[mid], &r[lo]);
		if (before(&r[hi - 1], &r[lo]))
			swap(&r[hi - 1], &r[lo]);
		if (before(&r[mid], &r[hi - 1]))
			swap(&r[mid], &r[hi - 1]);
		for (size_t t = lo; t < hi - 1; t++)
			if (before(&r[t], &r[hi - 1]))
				swap(&r[t], &r[store++]);
		swap(&r[store], &r[hi - 1]);
		if (store == k)
			return;
		if (store < k)
			lo = store + 1;
		else
			hi = store;
	}
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

		if (sum <= UINT64_MAX && p <= UINT64_MAX) {
			/* The usual case, in 64-bit arithmetic: the remainders share one divisor.
			 */
			out[i] = (uint64_t)p / (uint64_t)sum;
			rems[i].frac = (uint64_t)p % (uint64_t)sum;
		} else {
			out[i] = (uint64_t)(p / sum);
			/*
			 * The remainder is < sum <= n * UINT64_MAX; scaled to 64 bits it still
			 * orders. Every remainder is scaled alike once sum is that large.
			 */
			rems[i].frac = sum <= UINT64_MAX ? (uint64_t)(p % sum)
							 : (uint64_t)(((p % sum) << 32) / sum);
		}
		rems[i].i = i;
		given += out[i];
	}
	/* total - given < n: hand one unit each to the parts with the largest remainders. */
	if (given < total) {
		size_t k = (size_t)(total - given);

		select_first(rems, n, k);
		for (size_t j = 0; j < k; j++)
			out[rems[j].i]++;
	}
	free(rems);
	return 0;
}
