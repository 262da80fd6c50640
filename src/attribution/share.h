/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exact proportional split of an integer amount of energy (DESIGN section 4):
 * out[i] = total * w[i] / sum(w), rounded so that the parts sum to exactly
 * total (largest remainder). No energy appears or vanishes.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * Split total over n weights into out. With every weight zero nothing is
 * shared: all parts are 0 and the function returns -ENODATA (the caller keeps
 * the energy unattributed). Returns 0 on success, -ENOMEM.
 */
int share_split(uint64_t total, const uint64_t *w, size_t n, uint64_t *out);
