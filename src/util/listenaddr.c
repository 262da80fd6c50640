// SPDX-License-Identifier: Apache-2.0
#include "util/listenaddr.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

static bool valid_host_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

static bool valid_v6_char(char c)
{
	return isxdigit((unsigned char)c) || c == ':' || c == '.';
}

int parse_listen_address(const char *s, char *ret_host, size_t hostsz, uint16_t *ret_port)
{
	const char *hs, *he, *p;
	unsigned long port = 0;

	if (!s)
		return -EINVAL;
	if (s[0] == '[') {
		const char *zone;

		hs = s + 1;
		he = strchr(hs, ']');
		if (!he || he == hs || he[1] != ':')
			return -EINVAL;
		p = he + 2;
		zone = memchr(hs, '%', (size_t)(he - hs));
		if (!memchr(hs, ':', (size_t)(he - hs)))
			return -EINVAL;
		for (const char *c = hs; c < (zone ? zone : he); c++)
			if (!valid_v6_char(*c))
				return -EINVAL;
		if (zone) {
			if (zone + 1 == he)
				return -EINVAL;
			for (const char *c = zone + 1; c < he; c++)
				if (!valid_host_char(*c))
					return -EINVAL;
		}
	} else {
		hs = s;
		he = strrchr(s, ':');
		if (!he)
			return -EINVAL;
		p = he + 1;
		for (const char *c = hs; c < he; c++)
			if (!valid_host_char(*c))
				return -EINVAL; /* includes a bare IPv6 address: it needs brackets
						 */
	}
	if (!*p || strlen(p) > 5)
		return -EINVAL;
	for (const char *c = p; *c; c++) {
		if (!isdigit((unsigned char)*c))
			return -EINVAL;
		port = port * 10 + (unsigned long)(*c - '0');
	}
	if (port > 65535)
		return -EINVAL;
	if ((size_t)(he - hs) >= hostsz)
		return -ENAMETOOLONG;
	memcpy(ret_host, hs, (size_t)(he - hs));
	ret_host[he - hs] = '\0';
	*ret_port = (uint16_t)port;
	return 0;
}
