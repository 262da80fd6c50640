/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-process "last value seen" state of both activity sources, keyed by
 * (pid, start time): a record table of util/hashmap.h whose fixed-size records
 * begin with struct pidtab_hdr.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct pidtab_hdr {
	uint32_t pid;
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
 * Iterate: *pos starts at 0; returns the next record or NULL at the end, each
 * record once. pidtab_remove_at() removes the record just returned; a walk
 * that removed records gives memory back when it ends.
 */
void *pidtab_next(struct pidtab *t, size_t *pos);
void pidtab_remove_at(struct pidtab *t, size_t *pos);
