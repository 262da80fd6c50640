// SPDX-License-Identifier: Apache-2.0
/*
 * The generic hash table: edge cases from tables (empty, one entry, clusters
 * that wrap around the array's end, removal during a walk), growth and
 * shrinking, and a randomized run against a plain array as the model, for
 * pointer and record tables, with a good hash and with a colliding one.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

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

static uint64_t placed_hash(const void *key)
{
	return ((const struct placed *)key)->home;
}

static bool placed_equal(const void *a, const void *b)
{
	const struct placed *x = a, *y = b;

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
	struct hashmap *h = hashmap_new(&u32_ops, 0);
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
	struct hashmap *h = hashmap_new(&u32_ops, 0);
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
	struct hashmap *h = hashmap_new_inline(&ops, sizeof(struct rec), 0);
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
	assert_null(hashmap_new_inline(&ops, 0, 0));
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
		struct hashmap *h = hashmap_new(&placed_ops, 0);
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
			struct hashmap *h = hashmap_new(&placed_ops, 0);

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

	h = hashmap_new(&u32_ops, 0);
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
	h = hashmap_new(&u32_ops, 1000);
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
static uint64_t weak_hash(const void *key)
{
	return *(const uint32_t *)key % 16 * 0x0f0f0f0fu;
}

static const struct hashmap_ops weak_ops = {offsetof(struct obj, key), weak_hash,
					    hashmap_equal_u32};

/* What a table holds, checked against the model after a walk. */
static void check_model(struct hashmap *h, bool records, const struct obj *o, const bool *in,
			size_t nkeys, size_t min_cap)
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
	assert_true(cap == min_cap || n * 8 >= cap);
}

/*
 * Random puts, gets, removals and walks that remove, against an array of
 * "present" flags, in phases of mostly puts and mostly removals so that the
 * table grows and shrinks. Every walk must return each present key once.
 */
static void run_model(const struct hashmap_ops *ops, bool records, size_t nkeys, size_t steps,
		      size_t min_entries, uint64_t seed)
{
	struct obj *o = calloc(nkeys, sizeof(*o));
	bool *in = calloc(nkeys, sizeof(*in)), *was = calloc(nkeys, sizeof(*was));
	unsigned int *seen = calloc(nkeys, sizeof(*seen));
	struct hashmap *h = records ? hashmap_new_inline(ops, sizeof(struct obj), min_entries)
				    : hashmap_new(ops, min_entries);
	size_t min_cap = capacity(h);

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
			}
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
			check_model(h, records, o, in, nkeys, min_cap);
		}
	}
	check_model(h, records, o, in, nkeys, min_cap);
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
	struct hashmap *ids = hashmap_new(&by_id, 0), *names = hashmap_new(&by_name, 0);
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
	    cmocka_unit_test(test_stock_ops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
