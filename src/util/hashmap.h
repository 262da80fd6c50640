/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's one hash table: open addressing with linear probing in a
 * power-of-two array, backward-shift deletion (no tombstones), at most three
 * quarters full, and half or less again once under an eighth full (never below
 * the size asked for at creation), so memory returns after a burst.
 *
 * An entry is either a pointer to a caller-owned object (hashmap_new) or a
 * fixed-size record stored in the table itself (hashmap_new_inline). Either
 * way its key lives inside it, at ops->key_offset, so the table allocates
 * nothing per entry; the key must not change while the entry is in the table.
 * A key need not hold its whole value: ops->hash and ops->equal get the
 * context pointer given at creation (a key may be an offset into a buffer the
 * context points to). Each slot keeps 31 bits of its key's hash next to the
 * entry: probes compare those before calling ops->equal, and resizing, a walk
 * (removals included) or a clear never calls ops->hash or touches an entry,
 * so a walk may free what it sees.
 *
 * Not thread-safe; lookups on a table nobody changes may run concurrently.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hashmap_ops {
	size_t key_offset; /* of the key inside an entry */
	/* Of a key; every bit well mixed (util/hash.h): the slot comes from the low bits. */
	uint64_t (*hash)(const void *key, void *ctx);
	/* a: the key of an entry in the table; b: the key sought or put. */
	bool (*equal)(const void *a, const void *b, void *ctx);
};

/* Ops for the common keys (they ignore the context); _Generic refuses a member of another type. */
uint64_t hashmap_hash_u32(const void *key, void *ctx);
bool hashmap_equal_u32(const void *a, const void *b, void *ctx);
uint64_t hashmap_hash_u64(const void *key, void *ctx);
bool hashmap_equal_u64(const void *a, const void *b, void *ctx);
uint64_t hashmap_hash_str(const void *key, void *ctx);
bool hashmap_equal_str(const void *a, const void *b, void *ctx);

/* A uint32_t member: lookups pass a const uint32_t *. */
#define HASHMAP_OPS_U32(type, member)                                                              \
	{                                                                                          \
		.key_offset = offsetof(type, member),                                              \
		.hash = _Generic(((type *)0)->member, uint32_t                                     \
				 : hashmap_hash_u32),                                              \
		.equal = hashmap_equal_u32,                                                        \
	}
/* A uint64_t member: lookups pass a const uint64_t *. */
#define HASHMAP_OPS_U64(type, member)                                                              \
	{                                                                                          \
		.key_offset = offsetof(type, member),                                              \
		.hash = _Generic(((type *)0)->member, uint64_t                                     \
				 : hashmap_hash_u64),                                              \
		.equal = hashmap_equal_u64,                                                        \
	}
/* A NUL-terminated char array member (not a char *): lookups pass the string. */
#define HASHMAP_OPS_STR(type, member)                                                                \
	{                                                                                            \
		.key_offset = offsetof(type, member),                                              \
		.hash = _Generic(((type *)0)->member, char *: hashmap_hash_str),                   \
		.equal = hashmap_equal_str, \
	}

struct hashmap;

/*
 * Entries are pointers to objects. ctx (may be NULL) goes to every ops call.
 * The table holds min_entries without growing and never shrinks below that.
 * NULL with errno set on failure.
 */
struct hashmap *hashmap_new(const struct hashmap_ops *ops, void *ctx, size_t min_entries);
/*
 * Entries are records of entry_size bytes kept in the table (8-byte aligned).
 * A pointer to a record is valid until the next put, remove, clear or walk's end.
 */
struct hashmap *hashmap_new_inline(const struct hashmap_ops *ops, void *ctx, size_t entry_size,
				   size_t min_entries);
/* Frees the table, not the objects its entries point to. NULL is a no-op. */
void hashmap_free(struct hashmap *h);
size_t hashmap_size(const struct hashmap *h);

/* The entry (object or record) whose key equals key, or NULL. */
void *hashmap_get(const struct hashmap *h, const void *key);

/*
 * Insert entry unless one with an equal key is there: a pointer table stores
 * the pointer, a record table copies entry_size bytes from it. *ret (when ret
 * is not NULL) gets the entry now in the table under that key: the new object
 * or record, or the one found. Returns 1 inserted, 0 found (nothing changed),
 * -ENOMEM (*ret untouched).
 */
int hashmap_put(struct hashmap *h, void *entry, void **ret);

/*
 * Remove entry, as get, put or a walk returned it; never fails. May shrink the
 * table: not during a walk (use hashmap_iter_remove there).
 */
void hashmap_remove(struct hashmap *h, void *entry);

/*
 * Remove every entry, for a table refilled again and again: it keeps its
 * array unless the entries filled under an eighth of it, and then shrinks as
 * the shrink rule says for that many entries. So a clear costs time
 * proportional to the entries it removes (or to the minimum size), and a
 * refill of about the same size allocates nothing. An empty table left larger
 * than its entries need shrinks at the next removal or walk.
 */
void hashmap_clear(struct hashmap *h);

/*
 * A walk: zero the iterator, then call hashmap_next until it returns NULL.
 * Every entry is returned exactly once. Between two calls the only change
 * allowed is hashmap_iter_remove; a walk that reaches its end shrinks the
 * table if that made it sparse.
 */
struct hashmap_iter {
	size_t start; /* 1 + an empty slot the walk starts after; 0: not started */
	size_t seen;  /* slots looked at */
};

void *hashmap_next(struct hashmap *h, struct hashmap_iter *it);
/* Remove the entry hashmap_next has just returned. */
void hashmap_iter_remove(struct hashmap *h, struct hashmap_iter *it);
