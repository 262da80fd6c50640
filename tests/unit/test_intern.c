// SPDX-License-Identifier: Apache-2.0
/* Interned strings: sharing, reference counts, removal inside collision clusters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "util/intern.h"
#include "util/util.h"

static void test_share_and_release(void **state)
{
	struct intern *t = intern_new();
	const char *a, *b, *c;

	(void)state;
	assert_non_null(t);
	a = intern_get(t, "/usr/bin/python3");
	b = intern_get(t, "/usr/bin/python3");
	c = intern_get(t, "/usr/sbin/nginx");
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, c);
	assert_string_equal(c, "/usr/sbin/nginx");
	assert_int_equal(intern_count(t), 2);
	intern_put(t, a);
	assert_int_equal(intern_count(t), 2); /* b still holds it */
	assert_string_equal(b, "/usr/bin/python3");
	intern_put(t, b);
	intern_put(t, NULL);
	assert_int_equal(intern_count(t), 1);
	intern_put(t, c);
	assert_int_equal(intern_count(t), 0);
	intern_free(t);
}

/* Many strings through growth and out-of-order removal: every lookup still finds its string. */
static void test_many(void **state)
{
	static const char *held[5000];
	struct intern *t = intern_new();
	char s[32];

	(void)state;
	for (int i = 0; i < 5000; i++) {
		snprintf(s, sizeof(s), "id-%d", i);
		held[i] = intern_get(t, s);
		assert_non_null(held[i]);
	}
	for (int i = 0; i < 5000; i += 3)
		intern_put(t, held[i]);
	for (int i = 0; i < 5000; i++) {
		snprintf(s, sizeof(s), "id-%d", i);
		if (i % 3) {
			assert_ptr_equal(intern_get(t, s), held[i]);
			intern_put(t, held[i]);
		}
	}
	for (int i = 0; i < 5000; i++)
		if (i % 3)
			intern_put(t, held[i]);
	assert_int_equal(intern_count(t), 0);
	intern_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_share_and_release),
	    cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
