// SPDX-License-Identifier: Apache-2.0
#include "util/duration.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "util/strbuf.h"
#include "util/util.h"

static const struct {
	const char *name;
	uint64_t ns;
} duration_units[] = {
    /* Longer names first: "ms" before "m". */
    {"ns", 1},
    {"us", 1000},
    {"\xc2\xb5s", 1000}, /* U+00B5 MICRO SIGN */
    {"\xce\xbcs", 1000}, /* U+03BC GREEK SMALL LETTER MU */
    {"ms", 1000000},
    {"s", 1000000000ULL},
    {"m", 60 * 1000000000ULL},
    {"h", 3600 * 1000000000ULL},
};

int parse_duration(const char *s, uint64_t *ret_ns)
{
	/* The largest value Go's time.Duration holds, so a value means the same in both. */
	const uint64_t max = INT64_MAX;
	uint64_t total = 0;

	if (!s || !*s)
		return -EINVAL;
	if (streq(s, "0")) { /* as in Go: the only number that needs no unit */
		*ret_ns = 0;
		return 0;
	}
	while (*s) {
		uint64_t v = 0, frac = 0, scale = 1, unit = 0;
		bool digits = false;
		unsigned __int128 part;

		for (; isdigit((unsigned char)*s); s++) {
			unsigned d = (unsigned)(*s - '0');

			if (v > (max - d) / 10)
				return -ERANGE;
			v = v * 10 + d;
			digits = true;
		}
		if (*s == '.') {
			s++;
			for (; isdigit((unsigned char)*s); s++) {
				/* Digits past nanosecond-of-an-hour precision cannot change the
				 * result. */
				if (scale < 1000000000000000000ULL) {
					frac = frac * 10 + (unsigned)(*s - '0');
					scale *= 10;
				}
				digits = true;
			}
		}
		if (!digits)
			return -EINVAL;
		for (size_t i = 0; i < ARRAY_SIZE(duration_units); i++) {
			size_t n = strlen(duration_units[i].name);

			if (strncmp(s, duration_units[i].name, n) == 0) {
				unit = duration_units[i].ns;
				s += n;
				break;
			}
		}
		if (!unit)
			return -EINVAL;
		part = (unsigned __int128)v * unit + (unsigned __int128)frac * unit / scale;
		if (part > max || total > max - (uint64_t)part)
			return -ERANGE;
		total += (uint64_t)part;
	}
	*ret_ns = total;
	return 0;
}

int format_duration(uint64_t ns, char *buf, size_t size)
{
	struct strbuf sb = STRBUF_INIT;

	if (ns == 0) {
		strbuf_puts(&sb, "0s");
	} else if (ns % 1000000000ULL == 0) {
		uint64_t sec = ns / 1000000000ULL;

		if (sec >= 3600)
			strbuf_printf(&sb, "%" PRIu64 "h", sec / 3600);
		if (sec % 3600 >= 60)
			strbuf_printf(&sb, "%" PRIu64 "m", sec % 3600 / 60);
		if (sec % 60)
			strbuf_printf(&sb, "%" PRIu64 "s", sec % 60);
	} else if (ns % 1000000ULL == 0) {
		strbuf_printf(&sb, "%" PRIu64 "ms", (uint64_t)(ns / 1000000ULL));
	} else if (ns % 1000ULL == 0) {
		strbuf_printf(&sb, "%" PRIu64 "us", (uint64_t)(ns / 1000ULL));
	} else {
		strbuf_printf(&sb, "%" PRIu64 "ns", ns);
	}
	return strbuf_copy_out(&sb, buf, size);
}
