// SPDX-License-Identifier: Apache-2.0
/* parse_listen_address: host:port, :port and [v6]:port, from a table. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "util/listenaddr.h"
#include "util/util.h"

static const struct {
	const char *in;
	int ret;
	const char *host;
	uint16_t port;
} listen_cases[] = {
    {":28282", 0, "", 28282},
    {"0.0.0.0:9102", 0, "0.0.0.0", 9102},
    {"localhost:1", 0, "localhost", 1},
    {"my-node.example_1.com:65535", 0, "my-node.example_1.com", 65535},
    {"[::1]:8080", 0, "::1", 8080},
    {"[::]:80", 0, "::", 80},
    {"[fe80::1%eth0]:80", 0, "fe80::1%eth0", 80},
    {"[::ffff:10.0.0.1]:443", 0, "::ffff:10.0.0.1", 443},
    {":08080", 0, "", 8080},
    {"", -EINVAL, NULL, 0},
    {":", -EINVAL, NULL, 0},
    {"28282", -EINVAL, NULL, 0},
    {"localhost", -EINVAL, NULL, 0},
    {":0", 0, "", 0}, /* a free port: the parser takes it, web.listenAddresses does not */
    {":65536", -EINVAL, NULL, 0},
    {":123456", -EINVAL, NULL, 0},
    {":-1", -EINVAL, NULL, 0},
    {":+80", -EINVAL, NULL, 0},
    {":80 ", -EINVAL, NULL, 0},
    {"host :80", -EINVAL, NULL, 0},
    {"::1:80", -EINVAL, NULL, 0},
    {"a:b:80", -EINVAL, NULL, 0},
    {"[::1]8080", -EINVAL, NULL, 0},
    {"[::1]:", -EINVAL, NULL, 0},
    {"[]:80", -EINVAL, NULL, 0},
    {"[::1:80", -EINVAL, NULL, 0},
    {"[g::1]:80", -EINVAL, NULL, 0},
    {"[::1%]:80", -EINVAL, NULL, 0},
    {"[127.0.0.1]:80", -EINVAL, NULL, 0},
    {"host:http", -EINVAL, NULL, 0},
    {"*:80", -EINVAL, NULL, 0},
};

static void test_listen_address(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(listen_cases); i++) {
		char host[64] = "untouched";
		uint16_t port = 7;
		int r = parse_listen_address(listen_cases[i].in, host, sizeof(host), &port);

		if (r != listen_cases[i].ret)
			fail_msg("\"%s\": %d; want %d", listen_cases[i].in, r, listen_cases[i].ret);
		if (r == 0) {
			assert_string_equal(host, listen_cases[i].host);
			assert_int_equal(port, listen_cases[i].port);
		} else {
			assert_string_equal(host, "untouched");
			assert_int_equal(port, 7);
		}
	}
}

static void test_listen_address_small_buffer(void **state)
{
	char host[9] = "x";
	uint16_t port = 7;

	(void)state;
	assert_int_equal(parse_listen_address("localhost:80", host, sizeof(host), &port),
			 -ENAMETOOLONG);
	assert_string_equal(host, "x");
	assert_int_equal(port, 7);
	assert_int_equal(parse_listen_address("localhos:80", host, sizeof(host), &port), 0);
	assert_string_equal(host, "localhos");
	assert_int_equal(parse_listen_address(":80", host, 1, &port), 0);
	assert_string_equal(host, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_listen_address),
	    cmocka_unit_test(test_listen_address_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
