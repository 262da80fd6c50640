// SPDX-License-Identifier: Apache-2.0
/*
 * parse_duration (util/duration.h) and parse_listen_address (util/listenaddr.h) on the input as
 * one string. Checked: a parsed duration formats to a string that parses
 * back to the same value; failures leave the outputs untouched; a parsed
 * host fits its buffer and a port is never 0.
 */
#include "fuzz.h"
#include "util/duration.h"
#include "util/listenaddr.h"

static void check_duration(const char *s)
{
	uint64_t ns = 0x5a5a5a5a5a5a5a5aULL, back = 0;
	char buf[64];
	int r;

	r = parse_duration(s, &ns);
	fuzz_check(r == 0 || r == -EINVAL || r == -ERANGE);
	if (r < 0) {
		fuzz_check(ns == 0x5a5a5a5a5a5a5a5aULL);
		return;
	}
	fuzz_check(ns <= (uint64_t)INT64_MAX);
	fuzz_check(format_duration(ns, buf, sizeof(buf)) == 0);
	fuzz_check(parse_duration(buf, &back) == 0);
	fuzz_check(back == ns);
	/* Too small a buffer is an error, never a truncated duration. */
	r = format_duration(ns, buf, strlen(buf));
	fuzz_check(r < 0);
}

static void check_listen(const char *s)
{
	static const size_t sizes[] = {1, 8, 256};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char host[256];
		uint16_t port = 0xa5a5;
		int r;

		memset(host, 'x', sizeof(host));
		r = parse_listen_address(s, host, sizes[i], &port);
		fuzz_check(r == 0 || r == -EINVAL || r == -ENAMETOOLONG);
		if (r < 0) {
			fuzz_check(port == 0xa5a5 && host[0] == 'x');
			continue;
		}
		fuzz_check(memchr(host, '\0', sizes[i]) != NULL);
		fuzz_check(strstr(s, host) != NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);

	check_duration(s);
	check_listen(s);
	free(s);
	return 0;
}
