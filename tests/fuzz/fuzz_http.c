// SPDX-License-Identifier: Apache-2.0
/*
 * The pure HTTP helpers (src/export/http.h). The input split on NUL gives a
 * string (a listen address, an Accept-Encoding value, a URL) and a method.
 * Checked: every listen address the configuration accepts is one the server
 * accepts, with the same host and port; Accept-Encoding is read
 * case-insensitively and an extra "identity" element changes nothing; the
 * query string never changes a route.
 */
#include <ctype.h>

#include "config.h"
#include "export/http.h"
#include "fuzz.h"
#include "util/listenaddr.h"

static void check_listen(const char *s)
{
	struct http_listen_addr a;
	char host[256];
	uint16_t port;
	int r;

	memset(&a, 'x', sizeof(a));
	r = http_parse_listen_address(s, &a);
	fuzz_check(r == 0 || r == -EINVAL);
	if (r == 0)
		fuzz_check(memchr(a.host, '\0', sizeof(a.host)) != NULL);
	if (parse_listen_address(s, host, sizeof(host), &port) == 0) {
		fuzz_check(r == 0);
		fuzz_check(strcmp(host, a.host) == 0);
		fuzz_check(port == a.port);
	}
}

static void check_gzip(const char *s)
{
	size_t n = strlen(s);
	char *t = malloc(n + sizeof(", identity"));
	bool g = http_accepts_gzip(s);

	if (!t)
		abort();
	for (size_t i = 0; i <= n; i++)
		t[i] = (char)toupper((unsigned char)s[i]);
	fuzz_check(http_accepts_gzip(t) == g);
	memcpy(t, s, n);
	memcpy(t + n, ", identity", sizeof(", identity"));
	fuzz_check(http_accepts_gzip(t) == g);
	free(t);
}

static void check_route(const char *method, const char *url)
{
	size_t n = strlen(url);
	char *t = malloc(n + sizeof("?x=1"));
	enum http_route r = http_route(method, url);

	if (!t)
		abort();
	fuzz_check(r >= HTTP_ROUTE_NOT_FOUND && r <= HTTP_ROUTE_HEALTHZ);
	memcpy(t, url, n);
	memcpy(t + n, "?x=1", sizeof("?x=1"));
	fuzz_check(http_route(method, t) == r);
	free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *parts[2];
	char *buf = fuzz_split(data, size, parts, 2);

	check_listen(parts[0]);
	check_gzip(parts[0]);
	(void)http_accepts_gzip(NULL);
	check_route(parts[1], parts[0]);
	check_route("GET", parts[0]);
	free(buf);
	return 0;
}
