/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small open-addressing hash table keyed by (pid, start time), for the
 * per-process "last value seen" state of both activity sources. Entries are
 * fixed-size records that begin with struct pidtab_hdr.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct pidtab_hdr {
	uint32_t pid;
	uint32_t used; /* internal: slot occupied */
	uint64_t start;
};

struct pidtab;

/* entry_size: sizeof the record, which starts with struct pidtab_hdr. */
int pidtab_new(struct pidtab **ret, size_t entry_size, size_t initial);
void pidtab_free(struct pidtab *t);
size_t pidtab_count(const struct pidtab *t);

/* The record for (pid, start), or NULL. */
void *pidtab_get(const struct pidtab *t, uint32_t pid, uint64_t start);

/*
 * Find or insert (a new record is zeroed apart from its header). Returns 1 when
 * inserted, 0 when found, -ENOMEM. The pointer is valid until the next insert
 * or removal.
 */
int pidtab_put(struct pidtab *t, uint32_t pid, uint64_t start, void **ret);

/*
 * Iterate: *pos starts at 0; returns the next record or NULL at the end.
 * pidtab_remove_at() removes the record just returned and rewinds *pos so
 * that iteration continues without skipping a record (a record may be
 * returned twice when removal wraps around the table's end).
 */
void *pidtab_next(const struct pidtab *t, size_t *pos);
void pidtab_remove_at(struct pidtab *t, size_t *pos);

/* After a burst: give memory back when under an eighth of the table is used. */
void pidtab_shrink(struct pidtab *t);
