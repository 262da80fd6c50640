// SPDX-License-Identifier: Apache-2.0
/*
 * The generic hash table: edge cases from tables (empty, one entry, clusters
 * that wrap around the array's end, removal during a walk), growth and
 * shrinking, clears and the sizes they leave, keys read through a context,
 * and a randomized run against a plain array as the model, for pointer and
 * record tables, with a good hash and with a colliding one; and hash_bytes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/hash.h"
#include "util/hashmap.h"
#include "util/util.h"

struct obj {
	uint64_t val;
	uint32_t key;
};

static const struct hashmap_ops u32_ops = HASHMAP_OPS_U32(struct obj, key);

/*
 * A key that says which slot it wants: home is the hash itself, so tests can
 * place entries; id tells entries with the same home apart.
 */
struct placed {
	uint32_t home;
	uint32_t id;
};

struct pobj {
	struct placed k;
	bool visited;
};

static uint64_t placed_hash(const void *key, void *ctx)
{
	(void)ctx;
	return ((const struct placed *)key)->home;
}

static bool placed_equal(const void *a, const void *b, void *ctx)
{
	const struct placed *x = a, *y = b;

	(void)ctx;
	return x->home == y->home && x->id == y->id;
}

static const struct hashmap_ops placed_ops = {offsetof(struct pobj, k), placed_hash, placed_equal};

/* Slots in the array: a walk without removals looks at each once and says how many. */
static size_t capacity(struct hashmap *h)
{
	struct hashmap_iter it = {};

	while (hashmap_next(h, &it))
		;
	return it.seen;
}

static void test_empty(void **state)
{
	struct hashmap *h = hashmap_new(&u32_ops, NULL, 0);
	struct hashmap_iter it = {};
	uint32_t k = 0;

	(void)state;
	assert_non_null(h);
	assert_int_equal(hashmap_size(h), 0);
	assert_null(hashmap_get(h, &k));
	assert_null(hashmap_next(h, &it));
	assert_null(hashmap_next(h, &it)); /* a finished walk stays finished */
	assert_int_equal(capacity(h), 8);
	hashmap_free(h);
	hashmap_free(NULL);
}

static void test_one(void **state)
{
	struct hashmap *h = hashmap_new(&u32_ops, NULL, 0);
	struct obj a = {.key = 7, .val = 1}, b = {.key = 7, .val = 2}, c = {.key = 8};
	struct hashmap_iter it = {};
	uint32_t k = 7;
	void *p = NULL;

	(void)state;
	assert_int_equal(hashmap_put(h, &a, &p), 1);
	assert_ptr_equal(p, &a);
	/* An equal key: reported, not replaced. */
	assert_int_equal(hashmap_put(h, &b, &p), 0);
	assert_ptr_equal(p, &a);
	assert_int_equal(hashmap_put(h, &b, NULL), 0);
	assert_int_equal(hashmap_size(h), 1);
	assert_ptr_equal(hashmap_get(h, &k), &a);
	k = 8;
	assert_null(hashmap_get(h, &k));
	/* Removing an object that is not in the table changes nothing. */
	hashmap_remove(h, &c);
	assert_int_equal(hashmap_size(h), 1);

	assert_ptr_equal(hashmap_next(h, &it), &a);
	assert_null(hashmap_next(h, &it));
	hashmap_remove(h, &a);
	assert_int_equal(hashmap_size(h), 0);
	k = 7;
	assert_null(hashmap_get(h, &k));
	hashmap_free(h);
}

/* Records: copied into the table (entry_size bytes only), zero padding not required. */
static void test_records(void **state)
{
	struct rec {
		uint32_t key;
		char name[13]; /* 17 bytes: the table rounds its stride up to 24 */
	};
	static const struct hashmap_ops ops = HASHMAP_OPS_U32(struct rec, key);
	struct hashmap *h = hashmap_new_inline(&ops, NULL, sizeof(struct rec), 0);
	struct rec r = {.key = 1, .name = "first"};
	struct rec *p;
	void *v;

	(void)state;
	assert_non_null(h);
	assert_int_equal(hashmap_put(h, &r, &v), 1);
	assert_ptr_not_equal(v, &r);
	snprintf(r.name, sizeof(r.name), "changed");
	p = hashmap_get(h, &r.key);
	assert_ptr_equal(p, v);
	assert_string_equal(p->name, "first");
	for (uint32_t k = 2; k < 100; k++) {
		r.key = k;
		snprintf(r.name, sizeof(r.name), "n%u", k);
		assert_int_equal(hashmap_put(h, &r, NULL), 1);
	}
	for (uint32_t k = 2; k < 100; k++) {
		char want[13];

		p = hashmap_get(h, &k);
		assert_non_null(p);
		snprintf(want, sizeof(want), "n%u", k);
		assert_string_equal(p->name, want);
	}
	r.key = 50;
	assert_int_equal(hashmap_put(h, &r, &v), 0);
	hashmap_remove(h, v);
	assert_null(hashmap_get(h, &r.key));
	assert_int_equal(hashmap_size(h), 98);
	hashmap_free(h);
	errno = 0;
	assert_null(hashmap_new_inline(&ops, NULL, 0, 0));
	assert_int_equal(errno, EINVAL);
}

/*
 * An 8-slot table filled by homes (at most 6 entries), then walked, removing
 * the entries whose bit is set in remove_mask (bit i: the i-th one put).
 */
static const struct walk_case {
	const char *name;
	uint32_t homes[6];
	size_t n;
	unsigned int remove_mask;
} walk_cases[] = {
    {"one entry, removed", {3}, 1, 0x1},
    {"one entry, kept", {3}, 1, 0x0},
    {"cluster at the end wraps to slots 0..2, remove all", {6, 6, 7, 7, 7}, 5, 0x1f},
    {"wrapped cluster, remove the head", {6, 6, 7, 7, 7}, 5, 0x01},
    {"wrapped cluster, remove the first at 7", {6, 6, 7, 7, 7}, 5, 0x04},
    {"wrapped cluster, remove every other", {6, 6, 7, 7, 7}, 5, 0x15},
    {"wrapped cluster, remove the tail", {6, 6, 7, 7, 7}, 5, 0x18},
    {"wrapped cluster behind a cluster at 0", {0, 1, 7, 7, 7, 7}, 6, 0x3c},
    {"two clusters that meet, remove all", {0, 0, 2, 5, 5, 6}, 6, 0x3f},
    {"two clusters that meet, remove the first two", {0, 0, 2, 5, 5, 6}, 6, 0x03},
    {"six at one home, remove all", {5, 5, 5, 5, 5, 5}, 6, 0x3f},
    {"six at one home, keep the first and the last", {5, 5, 5, 5, 5, 5}, 6, 0x1e},
};

static void test_walk_cases(void **state)
{
	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(walk_cases); c++) {
		const struct walk_case *t = &walk_cases[c];
		struct pobj o[6] = {};
		struct hashmap *h = hashmap_new(&placed_ops, NULL, 0);
		struct hashmap_iter it = {};
		struct pobj *p;
		size_t visits = 0, kept = 0;

		assert_non_null(h);
		for (size_t i = 0; i < t->n; i++) {
			o[i].k = (struct placed){t->homes[i], (uint32_t)i};
			assert_int_equal(hashmap_put(h, &o[i], NULL), 1);
		}
		while ((p = hashmap_next(h, &it))) {
			size_t i = (size_t)(p - o);

			if (p->visited)
				fail_msg("%s: entry %zu returned twice", t->name, i);
			p->visited = true;
			visits++;
			if (t->remove_mask & (1u << i))
				hashmap_iter_remove(h, &it);
		}
		for (size_t i = 0; i < t->n; i++) {
			bool removed = t->remove_mask & (1u << i);

			if (!o[i].visited)
				fail_msg("%s: entry %zu never returned", t->name, i);
			if ((hashmap_get(h, &o[i].k) == &o[i]) == removed)
				fail_msg("%s: entry %zu %s", t->name, i,
					 removed ? "still there" : "lost");
			kept += !removed;
		}
		assert_int_equal(visits, t->n);
		assert_int_equal(hashmap_size(h), kept);
		hashmap_free(h);
	}
}

/* The same shapes, removed one by one with hashmap_remove in every order of a rotation. */
static void test_remove_cases(void **state)
{
	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(walk_cases); c++) {
		const struct walk_case *t = &walk_cases[c];

		for (size_t first = 0; first < t->n; first++) {
			struct pobj o[6] = {};
			struct hashmap *h = hashmap_new(&placed_ops, NULL, 0);

			for (size_t i = 0; i < t->n; i++) {
				o[i].k = (struct placed){t->homes[i], (uint32_t)i};
				assert_int_equal(hashmap_put(h, &o[i], NULL), 1);
			}
			for (size_t r = 0; r < t->n; r++) {
				hashmap_remove(h, &o[(first + r) % t->n]);
				for (size_t i = 0; i < t->n; i++) {
					size_t age = (i + t->n - first) % t->n;
					void *want = age <= r ? NULL : &o[i];

					if (hashmap_get(h, &o[i].k) != want)
						fail_msg("%s: from %zu, after %zu removals: entry "
							 "%zu wrong",
							 t->name, first, r + 1, i);
				}
			}
			assert_int_equal(hashmap_size(h), 0);
			hashmap_free(h);
		}
	}
}

/* Growth past three quarters, shrinking under an eighth, never below the minimum. */
static void test_grow_shrink(void **state)
{
	enum { BURST = 100000 };
	struct obj *o = calloc(BURST, sizeof(*o));
	struct hashmap *h;
	struct hashmap_iter it = {};
	struct obj *p;

	(void)state;
	assert_non_null(o);
	for (uint32_t i = 0; i < BURST; i++)
		o[i].key = i;

	h = hashmap_new(&u32_ops, NULL, 0);
	for (uint32_t i = 0; i < 6; i++)
		hashmap_put(h, &o[i], NULL);
	assert_int_equal(capacity(h), 8); /* 6 of 8: three quarters */
	hashmap_put(h, &o[6], NULL);
	assert_int_equal(capacity(h), 16);
	for (uint32_t i = 7; i < 100; i++)
		hashmap_put(h, &o[i], NULL);
	assert_int_equal(capacity(h), 256); /* 100 > 96 of 128 */
	for (uint32_t i = 31; i < 100; i++)
		hashmap_remove(h, &o[i]);
	assert_int_equal(capacity(h), 64); /* 31 < 256 / 8: halved while under a quarter */
	for (uint32_t i = 0; i < 31; i++)
		assert_ptr_equal(hashmap_get(h, &o[i].key), &o[i]);
	hashmap_free(h);

	/* A burst of short-lived entries: the table returns to its minimum, by removal... */
	h = hashmap_new(&u32_ops, NULL, 1000);
	assert_int_equal(capacity(h), 2048); /* 1000 fit under three quarters */
	for (uint32_t i = 0; i < BURST; i++)
		assert_int_equal(hashmap_put(h, &o[i], NULL), 1);
	assert_int_equal(capacity(h), 262144);
	for (uint32_t i = 0; i < BURST; i++)
		hashmap_remove(h, &o[i]);
	assert_int_equal(hashmap_size(h), 0);
	assert_int_equal(capacity(h), 2048);

	/* ... and by a walk that removes, which shrinks when it ends, not during. */
	for (uint32_t i = 0; i < BURST; i++)
		hashmap_put(h, &o[i], NULL);
	while ((p = hashmap_next(h, &it)))
		if (p->key >= 10)
			hashmap_iter_remove(h, &it);
	assert_int_equal(it.seen, 262144);
	assert_int_equal(hashmap_size(h), 10);
	assert_int_equal(capacity(h), 2048);
	for (uint32_t i = 0; i < 10; i++)
		assert_ptr_equal(hashmap_get(h, &o[i].key), &o[i]);
	hashmap_free(h);
	free(o);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Every key into one of 16 homes: long clusters that wrap around the array's end. */
static uint64_t weak_hash(const void *key, void *ctx)
{
	(void)ctx;
	return *(const uint32_t *)key % 16 * 0x0f0f0f0fu;
}

static const struct hashmap_ops weak_ops = {offsetof(struct obj, key), weak_hash,
					    hashmap_equal_u32};

/* What a table holds, checked against the model after a walk. */
/*
 * held: the entries a clear removed since the last removal or walk, whose
 * array the table may keep (at most 8 slots each) until one shrinks it.
 */
static void check_model(struct hashmap *h, bool records, const struct obj *o, const bool *in,
			size_t nkeys, size_t min_cap, size_t held)
{
	size_t n = 0, cap;

	for (uint32_t k = 0; k < nkeys; k++) {
		const struct obj *p = hashmap_get(h, &k);

		if (!in[k]) {
			assert_null(p);
			continue;
		}
		n++;
		assert_non_null(p);
		if (!records)
			assert_ptr_equal(p, &o[k]);
		assert_int_equal(p->key, k);
		assert_int_equal(p->val, o[k].val);
	}
	assert_int_equal(hashmap_size(h), n);
	cap = capacity(h);
	assert_true(cap >= min_cap);
	assert_true(n * 4 <= cap * 3);
	assert_true(cap == min_cap || n * 8 >= cap || cap <= 8 * held);
}

/*
 * Random puts, gets, removals, walks that remove and rare clears, against an
 * array of "present" flags, in phases of mostly puts and mostly removals so
 * that the table grows and shrinks. Every walk must return each present key
 * once.
 */
static void run_model(const struct hashmap_ops *ops, bool records, size_t nkeys, size_t steps,
		      size_t min_entries, uint64_t seed)
{
	struct obj *o = calloc(nkeys, sizeof(*o));
	bool *in = calloc(nkeys, sizeof(*in)), *was = calloc(nkeys, sizeof(*was));
	unsigned int *seen = calloc(nkeys, sizeof(*seen));
	struct hashmap *h = records ? hashmap_new_inline(ops, NULL, sizeof(struct obj), min_entries)
				    : hashmap_new(ops, NULL, min_entries);
	size_t min_cap = capacity(h), held = 0, clears = 0;

	assert_non_null(o);
	assert_non_null(in);
	assert_non_null(was);
	assert_non_null(seen);
	for (uint32_t k = 0; k < nkeys; k++)
		o[k].key = k;
	for (size_t step = 0; step < steps; step++) {
		uint64_t r = rnd(&seed);
		uint32_t k = (uint32_t)(r >> 8) % (uint32_t)nkeys;
		bool filling = (step / (steps / 8)) % 2 == 0;
		unsigned int op = (unsigned int)(r & 0xff);
		struct obj fresh = {.key = k, .val = r}, *p;
		void *v;

		if (op < (filling ? 200u : 20u)) {
			if (!in[k])
				o[k].val = r;
			/* A record table copies fresh; an equal key already there stays as is. */
			assert_int_equal(hashmap_put(h, records ? &fresh : &o[k], &v), !in[k]);
			in[k] = true;
			if (!records)
				assert_ptr_equal(v, &o[k]);
			assert_int_equal(((struct obj *)v)->val, o[k].val);
		} else if (op < 230) {
			p = hashmap_get(h, &k);
			assert_true(in[k] ? p != NULL : p == NULL);
			if (p) {
				hashmap_remove(h, p);
				in[k] = false;
				held = 0; /* the removal applied the shrink rule */
			}
		} else if (op == 254 && rnd(&seed) >> 58 == 0) {
			held = hashmap_size(h);
			hashmap_clear(h);
			clears++;
			for (uint32_t i = 0; i < nkeys; i++)
				in[i] = false;
			assert_int_equal(hashmap_size(h), 0);
		} else if (op < 255) {
			p = hashmap_get(h, &k);
			assert_true(in[k] ? p != NULL && p->val == o[k].val : p == NULL);
		} else {
			struct hashmap_iter it = {};
			uint64_t drop = rnd(&seed);

			for (uint32_t i = 0; i < nkeys; i++) {
				was[i] = in[i];
				seen[i] = 0;
			}
			while ((p = hashmap_next(h, &it))) {
				assert_true(was[p->key]);
				seen[p->key]++;
				if ((drop >> (p->key % 64)) & 1) {
					in[p->key] = false;
					hashmap_iter_remove(h, &it);
				}
			}
			for (uint32_t i = 0; i < nkeys; i++)
				if (seen[i] != was[i])
					fail_msg("step %zu: key %u returned %u times", step, i,
						 seen[i]);
			held = 0; /* the walk's end applied the shrink rule */
			check_model(h, records, o, in, nkeys, min_cap, held);
		}
	}
	assert_true(clears > 0);
	check_model(h, records, o, in, nkeys, min_cap, held);
	hashmap_free(h);
	free(seen);
	free(was);
	free(in);
	free(o);
}

static void test_model_pointers(void **state)
{
	(void)state;
	run_model(&u32_ops, false, 5000, 400000, 0, 0x9e3779b97f4a7c15ULL);
	run_model(&u32_ops, false, 5000, 200000, 1024, 42);
}

static void test_model_records(void **state)
{
	(void)state;
	run_model(&u32_ops, true, 5000, 400000, 0, 7);
}

static void test_model_collisions(void **state)
{
	(void)state;
	run_model(&weak_ops, false, 400, 100000, 0, 3);
	run_model(&weak_ops, true, 400, 100000, 16, 11);
}

/*
 * Keys that are offsets into a text the context holds, as the Prometheus
 * writer keeps them: the text moves on every append, so ops must read it
 * through the context at each call, and each table gets its own context.
 */
struct text {
	char *buf;
	size_t len;
};

struct span {
	uint32_t off;
	uint32_t len;
};

static uint64_t span_hash(const void *key, void *ctx)
{
	const struct span *k = key;
	const struct text *t = ctx;

	return hash_bytes(t->buf + k->off, k->len);
}

static bool span_equal(const void *a, const void *b, void *ctx)
{
	const struct span *x = a, *y = b;
	const struct text *t = ctx;

	return x->len == y->len && memcmp(t->buf + x->off, t->buf + y->off, x->len) == 0;
}

static const struct hashmap_ops span_ops = {0, span_hash, span_equal};

/* Appends s to t in a new buffer (the old one freed, so a stale pointer is caught by ASan). */
static struct span append(struct text *t, const char *s)
{
	struct span k = {(uint32_t)t->len, (uint32_t)strlen(s)};
	char *buf = malloc(t->len + k.len);

	assert_non_null(buf);
	if (t->len)
		memcpy(buf, t->buf, t->len);
	memcpy(buf + t->len, s, k.len);
	free(t->buf);
	t->buf = buf;
	t->len += k.len;
	return k;
}

static void test_context(void **state)
{
	static const char *const words[] = {"alpha", "beta", "alphabet", "gamma", "", "beta2"};
	struct text t = {}, other = {};
	struct hashmap *h = hashmap_new_inline(&span_ops, &t, sizeof(struct span), 0);
	struct hashmap *g = hashmap_new_inline(&span_ops, &other, sizeof(struct span), 0);
	struct span k, *p;
	void *v;

	(void)state;
	assert_non_null(h);
	assert_non_null(g);
	for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
		k = append(&t, words[i]);
		assert_int_equal(hashmap_put(h, &k, NULL), 1);
	}
	/* A candidate is appended first, then looked up: found at the first copy's offset. */
	for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
		k = append(&t, words[i]);
		p = hashmap_get(h, &k);
		assert_non_null(p);
		assert_int_equal(p->len, strlen(words[i]));
		assert_memory_equal(t.buf + p->off, words[i], p->len);
		assert_true(p->off < k.off);
		assert_int_equal(hashmap_put(h, &k, &v), 0);
		assert_ptr_equal(v, p);
	}
	k = append(&t, "delta");
	assert_null(hashmap_get(h, &k));
	assert_int_equal(hashmap_size(h), ARRAY_SIZE(words));

	/* The same offsets in another table read that table's own text. */
	k = append(&other, "alphaxx");
	assert_int_equal(hashmap_put(g, &k, NULL), 1);
	k = (struct span){0, 5}; /* "alpha" in t, "alpha" in other too */
	assert_non_null(hashmap_get(h, &k));
	assert_null(hashmap_get(g, &k));
	k = (struct span){0, 7}; /* "alphabe" in t, "alphaxx" in other */
	assert_null(hashmap_get(h, &k));
	assert_non_null(hashmap_get(g, &k));
	hashmap_free(h);
	hashmap_free(g);
	free(t.buf);
	free(other.buf);
}

/* Clear: the table empties and stays usable; pointer tables leave the objects alone. */
static void test_clear(void **state)
{
	struct obj o[100];
	struct hashmap *h = hashmap_new(&u32_ops, NULL, 0);
	struct hashmap_iter it = {};

	(void)state;
	hashmap_clear(h); /* empty: nothing to do */
	assert_int_equal(hashmap_size(h), 0);
	for (uint32_t i = 0; i < ARRAY_SIZE(o); i++) {
		o[i] = (struct obj){.key = i, .val = i * 3};
		assert_int_equal(hashmap_put(h, &o[i], NULL), 1);
	}
	hashmap_clear(h);
	assert_int_equal(hashmap_size(h), 0);
	assert_null(hashmap_next(h, &it));
	for (uint32_t i = 0; i < ARRAY_SIZE(o); i++) {
		assert_null(hashmap_get(h, &o[i].key));
		assert_int_equal(o[i].val, i * 3);
	}
	for (uint32_t i = 0; i < ARRAY_SIZE(o); i += 2)
		assert_int_equal(hashmap_put(h, &o[i], NULL), 1);
	for (uint32_t i = 0; i < ARRAY_SIZE(o); i++)
		assert_ptr_equal(hashmap_get(h, &o[i].key), i % 2 ? NULL : &o[i]);
	assert_int_equal(hashmap_size(h), ARRAY_SIZE(o) / 2);
	hashmap_free(h);
}

/*
 * What a clear leaves, after a burst of 100,000 records (262,144 slots) and a
 * refill of held entries: the array, when they fill an eighth of it; else one
 * sized for them. Either way it spans at most max(minimum, 8 x held) slots,
 * so the next clear writes no more than that: clearing a table refilled with
 * few entries stays cheap however large it once was.
 */
static const struct clear_case {
	uint32_t held;
	size_t min_entries;
	size_t want_cap;
} clear_cases[] = {
    {100000, 0, 262144}, /* refilled to the burst: the array stays */
    {40000, 0, 262144},	 /* 320,000 >= 262,144: an eighth full, kept */
    {30000, 0, 65536},	 /* halved while under a quarter: 120,000 >= 65,536 */
    {1000, 0, 2048},	 {1, 0, 8}, {1, 1000, 2048}, /* never below the minimum */
    {0, 0, 262144}, /* nothing to clear: the array stays until a removal or walk */
};

static void test_clear_sizes(void **state)
{
	enum { BURST = 100000 };

	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(clear_cases); c++) {
		const struct clear_case *t = &clear_cases[c];
		struct hashmap *h =
		    hashmap_new_inline(&u32_ops, NULL, sizeof(struct obj), t->min_entries);
		size_t min_cap = capacity(h), cap;
		struct obj r = {};

		for (r.key = 0; r.key < BURST; r.key++)
			assert_int_equal(hashmap_put(h, &r, NULL), 1);
		hashmap_clear(h);
		for (r.key = 0; r.key < t->held; r.key++)
			assert_int_equal(hashmap_put(h, &r, NULL), 1);
		hashmap_clear(h);
		assert_int_equal(hashmap_size(h), 0);
		r.key = 0;
		assert_null(hashmap_get(h, &r.key));
		cap = capacity(h); /* the slots a walk looks at; its end then shrinks the table */
		if (cap != t->want_cap)
			fail_msg("held %u, minimum %zu: %zu slots, want %zu", t->held,
				 t->min_entries, cap, t->want_cap);
		assert_true(!t->held || cap <= min_cap || cap <= 8 * t->held);
		hashmap_free(h);
	}
}

/*
 * hash_bytes: inputs of one length that differ in one byte (any position,
 * the tail's too) hash apart, so do runs of zero bytes of other lengths; a
 * string hashes as its bytes.
 */
static void test_hash_bytes(void **state)
{
	unsigned char buf[41] = {}, other[41];
	uint64_t zeros[ARRAY_SIZE(buf)];

	(void)state;
	for (size_t n = 0; n < ARRAY_SIZE(buf); n++) {
		uint64_t base = hash_bytes(buf, n);

		zeros[n] = base;
		for (size_t m = 0; m < n; m++)
			if (zeros[m] == base)
				fail_msg("%zu and %zu zero bytes collide", m, n);
		for (size_t i = 0; i < n; i++)
			for (unsigned int bit = 0; bit < 8; bit++) {
				memcpy(other, buf, n);
				other[i] ^= (unsigned char)(1u << bit);
				if (hash_bytes(other, n) == base)
					fail_msg("length %zu: byte %zu bit %u ignored", n, i, bit);
			}
	}
	assert_true(hash_str("") == hash_bytes("", 0));
	assert_true(hash_str("label=\"value\"") == hash_bytes("label=\"value\"x", 13));
}

/* The stock ops find keys of each kind; a string key is a char array in the entry. */
static void test_stock_ops(void **state)
{
	struct named {
		uint64_t id;
		char name[16];
	};
	static const struct hashmap_ops by_id = HASHMAP_OPS_U64(struct named, id);
	static const struct hashmap_ops by_name = HASHMAP_OPS_STR(struct named, name);
	struct named v[3] = {{1ULL << 40, "alpha"}, {2, "beta"}, {(1ULL << 40) + 2, "gamma"}};
	struct hashmap *ids = hashmap_new(&by_id, NULL, 0), *names = hashmap_new(&by_name, NULL, 0);
	uint64_t k = 2;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		assert_int_equal(hashmap_put(ids, &v[i], NULL), 1);
		assert_int_equal(hashmap_put(names, &v[i], NULL), 1);
	}
	assert_ptr_equal(hashmap_get(ids, &k), &v[1]);
	k = 1ULL << 40;
	assert_ptr_equal(hashmap_get(ids, &k), &v[0]);
	k = 1;
	assert_null(hashmap_get(ids, &k));
	assert_ptr_equal(hashmap_get(names, "gamma"), &v[2]);
	assert_null(hashmap_get(names, "gamm"));
	hashmap_free(ids);
	hashmap_free(names);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_one),
	    cmocka_unit_test(test_records),
	    cmocka_unit_test(test_walk_cases),
	    cmocka_unit_test(test_remove_cases),
	    cmocka_unit_test(test_grow_shrink),
	    cmocka_unit_test(test_model_pointers),
	    cmocka_unit_test(test_model_records),
	    cmocka_unit_test(test_model_collisions),
	    cmocka_unit_test(test_context),
	    cmocka_unit_test(test_clear),
	    cmocka_unit_test(test_clear_sizes),
	    cmocka_unit_test(test_stock_ops),
	    cmocka_unit_test(test_hash_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
