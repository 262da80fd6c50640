// SPDX-License-Identifier: Apache-2.0
/* parse_duration / format_duration: Go-style durations, from tables. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "util/duration.h"
#include "util/util.h"

#define NS 1ULL
#define US 1000ULL
#define MS 1000000ULL
#define SEC 1000000000ULL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

static const struct {
	const char *in;
	int ret;
	uint64_t ns;
} cases[] = {
    /* good */
    {"5s", 0, 5 * SEC},
    {"500ms", 0, 500 * MS},
    {"1m", 0, MIN},
    {"1h", 0, HOUR},
    {"1h30m", 0, HOUR + 30 * MIN},
    {"1h30m15s", 0, HOUR + 30 * MIN + 15 * SEC},
    {"1.5s", 0, 1500 * MS},
    {".5s", 0, 500 * MS},
    {"5.s", 0, 5 * SEC},
    {"250us", 0, 250 * US},
    {"250\xc2\xb5s", 0, 250 * US}, /* micro sign */
    {"250\xce\xbcs", 0, 250 * US}, /* greek mu */
    {"100ns", 0, 100 * NS},
    {"0s", 0, 0},
    {"0", 0, 0},
    {"0.1ns", 0, 0},
    {"1.000000001s", 0, SEC + 1},
    {"0.0000000019s", 0, 1}, /* fraction truncates, as in Go */
    {"1ms1us", 0, MS + US},
    {"2h45m", 0, 2 * HOUR + 45 * MIN},
    {"1.25h", 0, HOUR + 15 * MIN},
    {"007s", 0, 7 * SEC},
    {"9223372036854775807ns", 0, INT64_MAX},
    {"2562047h", 0, 2562047ULL * HOUR},
    /* bad */
    {"", -EINVAL, 0},
    {"5", -EINVAL, 0},
    {"-5s", -EINVAL, 0},
    {"+5s", -EINVAL, 0},
    {"5x", -EINVAL, 0},
    {"5 s", -EINVAL, 0},
    {" 5s", -EINVAL, 0},
    {"5s ", -EINVAL, 0},
    {"5sec", -EINVAL, 0},
    {"5S", -EINVAL, 0},
    {"1h30", -EINVAL, 0},
    {"s", -EINVAL, 0},
    {".s", -EINVAL, 0},
    {"1..5s", -EINVAL, 0},
    {"1e3s", -EINVAL, 0},
    {"0x10s", -EINVAL, 0},
    {"5s!", -EINVAL, 0},
    {"00", -EINVAL, 0},
    {"\xc2s", -EINVAL, 0},
    /* overflow */
    {"9223372036854775808ns", -ERANGE, 0},
    {"2562048h", -ERANGE, 0},
    {"99999999999999999999999s", -ERANGE, 0},
    {"9223372036854775807ns1ns", -ERANGE, 0},
    {"1000000000000000000m", -ERANGE, 0},
};

static void test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t ns = 0xdeadbeef;
		int r = parse_duration(cases[i].in, &ns);

		if (r != cases[i].ret || (r == 0 && ns != cases[i].ns))
			fail_msg("parse_duration(\"%s\") = %d, %llu; want %d, %llu", cases[i].in, r,
				 (unsigned long long)ns, cases[i].ret,
				 (unsigned long long)cases[i].ns);
		if (r < 0)
			assert_int_equal(ns, 0xdeadbeef); /* ret_ns untouched on failure */
	}
}

static void test_null(void **state)
{
	uint64_t ns;

	(void)state;
	assert_int_equal(parse_duration(NULL, &ns), -EINVAL);
}

static const struct {
	uint64_t ns;
	const char *out;
} fmt_cases[] = {
    {0, "0s"},
    {5 * SEC, "5s"},
    {HOUR + 30 * MIN, "1h30m"},
    {HOUR + 1 * SEC, "1h1s"},
    {90 * SEC, "1m30s"},
    {1500 * MS, "1500ms"},
    {100 * MS, "100ms"},
    {250 * US, "250us"},
    {7, "7ns"},
    {25 * HOUR, "25h"},
};

static void test_format_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(fmt_cases); i++) {
		char buf[32];
		uint64_t back;

		assert_int_equal(format_duration(fmt_cases[i].ns, buf, sizeof(buf)), 0);
		assert_string_equal(buf, fmt_cases[i].out);
		/* what format writes, parse reads back */
		assert_int_equal(parse_duration(buf, &back), 0);
		assert_int_equal(back, fmt_cases[i].ns);
	}
}

static void test_format_small_buffer(void **state)
{
	char buf[3];

	(void)state;
	assert_int_equal(format_duration(HOUR + 30 * MIN, buf, sizeof(buf)), -ENAMETOOLONG);
	assert_int_equal(format_duration(5 * SEC, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "5s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_table),
	    cmocka_unit_test(test_null),
	    cmocka_unit_test(test_format_table),
	    cmocka_unit_test(test_format_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
