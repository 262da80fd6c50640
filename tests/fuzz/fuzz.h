/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared bits of the libFuzzer harnesses: turning the fuzzer's bytes into the
 * C strings the parsers take, and a check that aborts (so libFuzzer saves the
 * input) when an invariant of the code under test does not hold.
 */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test; a failure is a finding, reported like a crash. */
#define fuzz_check(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The input as one C string (it ends at the first NUL, as a file read would). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * The input split on NUL into at most max strings, in one allocation that
 * ret_parts points into (free the return value). Missing parts are "".
 */
static inline char *fuzz_split(const uint8_t *data, size_t size, char **ret_parts, size_t max)
{
	char *s = fuzz_str(data, size), *p = s;

	for (size_t i = 0; i < max; i++) {
		ret_parts[i] = p;
		p += strlen(p) + 1;
		if (p > s + size)
			p = s + size; /* the final NUL: an empty string */
	}
	return s;
}

/* Whether s (n bytes) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
static inline int fuzz_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t len;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else {
			return 0;
		}
		if (i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if (s[i + k] < lo || s[i + k] > hi)
				return 0;
			lo = 0x80;
			hi = 0xbf;
		}
		i += len;
	}
	return 1;
}
