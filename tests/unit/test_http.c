// SPDX-License-Identifier: Apache-2.0
/* HTTP server: pure helpers from tables, then a real server on loopback driven by libcurl. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <zlib.h>

#include "export/http.h"
#include "export/http_deadline.h"
#include "export/webconfig.h"
#include "util/timeutil.h"
#include "util/util.h"

/* ---- pure helpers ---- */

struct addr_case {
	const char *in;
	int r;
	const char *host;
	uint16_t port;
};

static const struct addr_case addr_cases[] = {
    {":28282", 0, "", 28282},
    {"127.0.0.1:9100", 0, "127.0.0.1", 9100},
    {"0.0.0.0:0", 0, "0.0.0.0", 0},
    {"localhost:65535", 0, "localhost", 65535},
    {"[::1]:28282", 0, "::1", 28282},
    {"[::]:80", 0, "::", 80},
    {"[fe80::1%eth0]:1", 0, "fe80::1%eth0", 1},
    {"host.example.com:8080", 0, "host.example.com", 8080},
    {"", -EINVAL},
    {"28282", -EINVAL},
    {":", -EINVAL},
    {"127.0.0.1:", -EINVAL},
    {"127.0.0.1:65536", -EINVAL},
    {"127.0.0.1:123456", -EINVAL},
    {"127.0.0.1:-1", -EINVAL},
    {"127.0.0.1:80x", -EINVAL},
    {"127.0.0.1:http", -EINVAL},
    {"::1:28282", -EINVAL},
    {"[::1]", -EINVAL},
    {"[::1]28282", -EINVAL},
    {"[]:80", -EINVAL},
    {"[::1:80", -EINVAL},
    {"a]:80", -EINVAL},
    {"a b:80", -EINVAL},
    {NULL, -EINVAL},
};

static void test_parse_listen(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(addr_cases); i++) {
		const struct addr_case *c = &addr_cases[i];
		struct http_listen_addr a = {.host = "untouched", .port = 7};
		int r = http_parse_listen_address(c->in, &a);

		if (r != c->r)
			fail_msg("case %zu (%s): r=%d want %d", i, c->in, r, c->r);
		if (r == 0 && (!streq(a.host, c->host) || a.port != c->port))
			fail_msg("case %zu (%s): got %s %u", i, c->in, a.host, a.port);
		if (r < 0 && (!streq(a.host, "untouched") || a.port != 7))
			fail_msg("case %zu (%s): output touched on failure", i, c->in);
	}
}

struct ae_case {
	const char *header;
	bool gzip;
};

static const struct ae_case ae_cases[] = {
    {NULL, false},
    {"", false},
    {"gzip", true},
    {"GZIP", true},
    {"x-gzip", true},
    {"identity", false},
    {"deflate, br", false},
    {"gzip, deflate, br", true},
    {"br;q=1.0, gzip;q=0.8, *;q=0.1", true},
    {"gzip;q=0", false},
    {"gzip;q=0.0", false},
    {"gzip;q=0.000", false},
    {"gzip ; q = 0", false},
    {"gzip;Q=0", false},
    {"gzip;q=0.001", true},
    {"gzip;q=1", true},
    {"gzip;q=1.000", true},
    {"*", true},
    {"*;q=0", false},
    {"*;q=0.5", true},
    {"gzip;q=0, *", false}, /* gzip named: "*" does not override it */
    {"*, gzip;q=0", false},
    {"identity;q=1, *;q=0", false},
    {"deflate, *;q=0.2", true},
    {"gzipx", false},
    {"gzip;q=2", false}, /* invalid qvalue voids the element */
    {"gzip;q=1.5", false},
    {"gzip;q=abc", false},
    {"gzip;q=0.1234", false},
    {"gzip;level=9", true}, /* other parameters are ignored */
    {"gzip;q", false},
    {" , ,gzip", true},
    {"deflate;q=0.5,\tgzip", true},
    {"x-gzip;q=0, gzip;q=0.5", true}, /* the best of the two names */
};

static void test_accept_encoding(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ae_cases); i++)
		if (http_accepts_gzip(ae_cases[i].header) != ae_cases[i].gzip)
			fail_msg("case %zu (%s): want %d", i, ae_cases[i].header, ae_cases[i].gzip);
}

struct route_case {
	const char *method, *url;
	enum http_route route;
};

static const struct route_case route_cases[] = {
    {"GET", "/metrics", HTTP_ROUTE_METRICS},
    {"HEAD", "/metrics", HTTP_ROUTE_METRICS},
    {"GET", "/metrics?name[]=x", HTTP_ROUTE_METRICS},
    {"GET", "/metrics#frag", HTTP_ROUTE_METRICS},
    {"GET", "/healthz", HTTP_ROUTE_HEALTHZ},
    {"HEAD", "/healthz?x", HTTP_ROUTE_HEALTHZ},
    {"GET", "/", HTTP_ROUTE_INDEX},
    {"GET", "/?a=b", HTTP_ROUTE_INDEX},
    {"POST", "/metrics", HTTP_ROUTE_METHOD_NOT_ALLOWED},
    {"PUT", "/", HTTP_ROUTE_METHOD_NOT_ALLOWED},
    {"DELETE", "/healthz", HTTP_ROUTE_METHOD_NOT_ALLOWED},
    {"get", "/metrics", HTTP_ROUTE_METHOD_NOT_ALLOWED},
    {"GET", "/metrics/", HTTP_ROUTE_NOT_FOUND},
    {"GET", "/metricsx", HTTP_ROUTE_NOT_FOUND},
    {"GET", "/metric", HTTP_ROUTE_NOT_FOUND},
    {"GET", "", HTTP_ROUTE_NOT_FOUND},
    {"GET", "/favicon.ico", HTTP_ROUTE_NOT_FOUND},
    {"POST", "/nope", HTTP_ROUTE_NOT_FOUND},
    {NULL, "/", HTTP_ROUTE_NOT_FOUND},
    {"GET", NULL, HTTP_ROUTE_NOT_FOUND},
};

static void test_route(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(route_cases); i++) {
		const struct route_case *c = &route_cases[i];

		if (http_route(c->method, c->url) != c->route)
			fail_msg("case %zu (%s %s)", i, c->method, c->url);
	}
}

struct fresh_case {
	bool published;
	uint64_t last, now, stale_after;
	bool fresh;
};

#define S NSEC_PER_SEC
static const struct fresh_case fresh_cases[] = {
    {false, 0, 0, 0, false}, /* nothing published yet: stale, whatever the window */
    {false, 5 * S, 5 * S, 10 * S, false},
    {true, 0, 0, 10 * S, true},
    {true, 100 * S, 100 * S, 10 * S, true},
    {true, 100 * S, 110 * S - 1, 10 * S, true},
    {true, 100 * S, 110 * S, 10 * S, false}, /* exactly the window: stale */
    {true, 100 * S, 500 * S, 10 * S, false},
    {true, 100 * S, 50 * S, 10 * S, true},    /* stamped after now (another thread's clock) */
    {true, 100 * S, UINT64_MAX, 0, true},     /* 0: never stale once published */
    {true, 0, UINT64_MAX, UINT64_MAX, false}, /* exactly the window, at the top */
};

static void test_healthz_fresh(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(fresh_cases); i++) {
		const struct fresh_case *c = &fresh_cases[i];

		if (http_healthz_fresh(c->published, c->last, c->now, c->stale_after) != c->fresh)
			fail_msg("case %zu: want %s", i, c->fresh ? "fresh" : "stale");
	}
}

struct fit_case {
	unsigned want;
	size_t n_listen;
	uint64_t nofile;
	unsigned got;
};

static const struct fit_case fit_cases[] = {
    {4096, 1, 1048576, 4096},	     /* a container's usual limit: room for everything */
    {4096, 1, 4096 + 3 + 256, 4096}, /* exactly enough */
    {4096, 1, 4096 + 2 + 256, 4095},
    {4096, 1, 1024, 1024 - 256 - 3}, /* a soft limit that could not be raised */
    {4096, 2, 1024, (1024 - 256) / 2 - 3},
    {4096, 1, 256, 1}, /* nothing left: still one */
    {4096, 1, 0, 1},
    {4096, 4, 260, 1},
    {64, 1, 1024, 64},
    {64, 0, 0, 64}, /* no listener: nothing to fit */
};

static void test_fit_connection_limit(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(fit_cases); i++) {
		const struct fit_case *c = &fit_cases[i];
		unsigned got = http_fit_connection_limit(c->want, c->n_listen, c->nofile);

		if (got != c->got)
			fail_msg("case %zu: %u, want %u", i, got, c->got);
	}
}

/* One look of the watchdog at a connection, and what the clock must say after it. */
struct tick {
	uint64_t now, rx;
	bool cut;
	enum http_conn_phase phase;
	uint64_t deadline; /* checked in HEADER only */
};

struct clock_case {
	const char *what;
	struct http_conn_clock start;
	struct tick ticks[4];
	size_t n;
};

#define T (3 * S) /* the header timeout */
static const struct clock_case clock_cases[] = {
    {"header in time",
     {HTTP_CONN_HEADER, 10 * S, 0},
     {{7 * S, 0, false, HTTP_CONN_HEADER, 10 * S},
      {10 * S - 1, 0, false, HTTP_CONN_HEADER, 10 * S}},
     2},
    {"header late, whatever it trickles",
     {HTTP_CONN_HEADER, 10 * S, 0},
     {{9 * S, 50, false, HTTP_CONN_HEADER, 10 * S}, {10 * S, 60, true, HTTP_CONN_HEADER, 10 * S}},
     2},
    {"answering: no deadline",
     {HTTP_CONN_ANSWERING, 0, 0},
     {{1000 * S, 7, false, HTTP_CONN_ANSWERING, 0}},
     1},
    {"keep-alive idle longer than the timeout",
     {HTTP_CONN_IDLE, 0, 500},
     {{100 * S, 500, false, HTTP_CONN_IDLE, 0}, {900 * S, 500, false, HTTP_CONN_IDLE, 0}},
     2},
    {"the next request starts: its clock from then",
     {HTTP_CONN_IDLE, 0, 500},
     {{100 * S, 500, false, HTTP_CONN_IDLE, 0},
      {200 * S, 501, false, HTTP_CONN_HEADER, 200 * S + T},
      {200 * S + T - 1, 900, false, HTTP_CONN_HEADER, 200 * S + T},
      {200 * S + T, 901, true, HTTP_CONN_HEADER, 200 * S + T}},
     4},
    {"closing: cut once",
     {HTTP_CONN_CLOSING, 1, 0},
     {{1000 * S, 9, false, HTTP_CONN_CLOSING, 0}},
     1},
};

static void test_conn_clock(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(clock_cases); i++) {
		const struct clock_case *cc = &clock_cases[i];
		struct http_conn_clock c = cc->start;

		for (size_t k = 0; k < cc->n; k++) {
			const struct tick *t = &cc->ticks[k];
			bool cut = http_conn_clock_tick(&c, t->now, t->rx, T);

			if (cut != t->cut || c.phase != t->phase ||
			    (c.phase == HTTP_CONN_HEADER && c.deadline_ns != t->deadline))
				fail_msg("%s, look %zu: cut %d phase %d deadline %" PRIu64,
					 cc->what, k, cut, c.phase, c.deadline_ns);
		}
	}
	/* The watchdog looks an eighth of the timeout apart, within 50 ms and 1 s. */
	assert_int_equal(http_deadline_period(T), T / 8);
	assert_int_equal(http_deadline_period(100 * NSEC_PER_MSEC), 50 * NSEC_PER_MSEC);
	assert_int_equal(http_deadline_period(3600 * S), S);
}
#undef T
#undef S

/* ---- a real server ---- */

struct resp {
	long status;
	char *body;
	size_t len;
	char headers[4096];
	size_t hlen;
};

static size_t body_cb(char *p, size_t size, size_t n, void *cls)
{
	struct resp *r = cls;
	char *b = realloc(r->body, r->len + size * n + 1);

	if (!b)
		return 0;
	memcpy(b + r->len, p, size * n);
	r->body = b;
	r->len += size * n;
	r->body[r->len] = '\0';
	return size * n;
}

static size_t header_cb(char *p, size_t size, size_t n, void *cls)
{
	struct resp *r = cls;
	size_t k = size * n;

	if (k > sizeof(r->headers) - 1 - r->hlen)
		k = sizeof(r->headers) - 1 - r->hlen;
	memcpy(r->headers + r->hlen, p, k);
	r->hlen += k;
	r->headers[r->hlen] = '\0';
	return size * n;
}

/* The value of a response header (case-insensitive name), copied into buf; NULL if absent. */
static const char *header(const struct resp *r, const char *name, char *buf, size_t bufsz)
{
	size_t n = strlen(name);

	for (const char *l = r->headers; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
		size_t k;

		if (strncasecmp(l, name, n) != 0 || l[n] != ':')
			continue;
		l += n + 1;
		while (*l == ' ')
			l++;
		k = strcspn(l, "\r\n");
		if (k >= bufsz)
			k = bufsz - 1;
		memcpy(buf, l, k);
		buf[k] = '\0';
		return buf;
	}
	return NULL;
}

static void resp_free(struct resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* method "HEAD" uses CURLOPT_NOBODY; accept_encoding is sent verbatim (curl does not decode). */
static int fetch_host(const char *host, int port, const char *method, const char *path,
		      const char *accept_encoding, struct resp *r)
{
	struct curl_slist *hdrs = NULL;
	char url[256], ae[256];
	CURL *c;
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	c = curl_easy_init();
	if (!c)
		return -ENOMEM;
	snprintf(url, sizeof(url), "http://%s:%d%s", host, port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if (streq(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (streq(method, "POST"))
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
	else if (!streq(method, "GET"))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (accept_encoding) {
		snprintf(ae, sizeof(ae), "Accept-Encoding: %s", accept_encoding);
		hdrs = curl_slist_append(hdrs, ae);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return rc == CURLE_OK ? 0 : -EIO;
}

static int fetch(int port, const char *method, const char *path, const char *ae, struct resp *r)
{
	return fetch_host("127.0.0.1", port, method, path, ae, r);
}

static char *gunzip(const char *in, size_t len, size_t *ret_len)
{
	z_stream zs = {0};
	size_t cap = len * 4 + 64, n = 0;
	char *out = malloc(cap);
	int r;

	assert_non_null(out);
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	do {
		if (n == cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		zs.next_out = (Bytef *)out + n;
		zs.avail_out = (uInt)(cap - n);
		r = inflate(&zs, Z_NO_FLUSH);
		n = cap - zs.avail_out;
	} while (r == Z_OK);
	inflateEnd(&zs);
	if (r != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	*ret_len = n;
	return out;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* The clock /healthz reads in test_endpoints: it moves only when the test says. */
static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return __atomic_load_n(&fake_now, __ATOMIC_RELAXED);
}

static struct http_server *start_clock(const char *const *listen, size_t n, uint64_t stale_ns,
				       uint64_t (*now_ns)(void))
{
	struct http_options o = {
	    .listen = listen, .n_listen = n, .stale_after_ns = stale_ns, .now_ns = now_ns};
	struct http_server *s = NULL;
	char err[256];
	int r = http_server_new(&s, &o, err, sizeof(err));

	if (r < 0)
		fail_msg("http_server_new: %d %s", r, err);
	return s;
}

static struct http_server *start(const char *const *listen, size_t n, uint64_t stale_ns)
{
	return start_clock(listen, n, stale_ns, NULL);
}

static char *dup_str(const char *s)
{
	char *p = strdup(s);

	assert_non_null(p);
	return p;
}

static const char doc[] = "# HELP kepler_x_total X.\n# TYPE kepler_x_total counter\n"
			  "kepler_x_total{zone=\"package\"} 12.5\n";

static void check_metrics_ok(int port, const char *ae, bool want_gzip, const char *want)
{
	struct resp r;
	char v[256];

	assert_int_equal(fetch(port, "GET", "/metrics", ae, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(header(&r, "Content-Type", v, sizeof(v)));
	assert_string_equal(v, "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(header(&r, "Vary", v, sizeof(v)));
	assert_string_equal(v, "Accept-Encoding");
	if (want_gzip) {
		size_t n;
		char *plain;

		assert_non_null(header(&r, "Content-Encoding", v, sizeof(v)));
		assert_string_equal(v, "gzip");
		plain = gunzip(r.body, r.len, &n);
		assert_non_null(plain);
		assert_int_equal(n, strlen(want));
		assert_memory_equal(plain, want, n);
		free(plain);
	} else {
		assert_null(header(&r, "Content-Encoding", v, sizeof(v)));
		assert_int_equal(r.len, strlen(want));
		assert_memory_equal(r.body, want, r.len);
	}
	resp_free(&r);
}

static void expect_status(int port, const char *method, const char *path, long status,
			  const char *body)
{
	struct resp r;

	assert_int_equal(fetch(port, method, path, NULL, &r), 0);
	if (r.status != status)
		fail_msg("%s %s: status %ld want %ld", method, path, r.status, status);
	if (body)
		assert_string_equal(r.body ? r.body : "", body);
	resp_free(&r);
}

static void test_endpoints(void **state)
{
	const char *listen[] = {"127.0.0.1:0"};
	struct http_server *s;
	struct http_stats st;
	struct resp r;
	char v[256];
	int port;

	(void)state;
	/* /healthz on a clock the test moves: nothing here depends on how fast the requests go
	 * (http_healthz_fresh has the edges). */
	__atomic_store_n(&fake_now, 1000 * NSEC_PER_SEC, __ATOMIC_RELAXED);
	s = start_clock(listen, 1, 300 * NSEC_PER_MSEC, fake_clock);
	port = http_server_port(s, 0);
	assert_true(port > 0);
	assert_int_equal(http_server_port(s, 1), -EINVAL);

	/* Nothing published yet. */
	assert_int_equal(fetch(port, "GET", "/metrics", NULL, &r), 0);
	assert_int_equal(r.status, 503);
	assert_non_null(r.body);
	resp_free(&r);
	expect_status(port, "GET", "/healthz", 503, "stale\n");

	http_server_publish(s, dup_str(doc), strlen(doc), fake_clock());
	check_metrics_ok(port, NULL, false, doc);
	check_metrics_ok(port, "gzip", true, doc);
	check_metrics_ok(port, "gzip, deflate, br", true, doc);
	check_metrics_ok(port, "*", true, doc);
	check_metrics_ok(port, "gzip;q=0", false, doc);
	check_metrics_ok(port, "identity", false, doc);
	expect_status(port, "GET", "/healthz", 200, "ok\n");

	/* HEAD: the headers of GET, no body. */
	assert_int_equal(fetch(port, "HEAD", "/metrics", "gzip;q=0", &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 0);
	assert_non_null(header(&r, "Content-Length", v, sizeof(v)));
	assert_int_equal(strtoul(v, NULL, 10), strlen(doc));
	assert_non_null(header(&r, "Content-Type", v, sizeof(v)));
	resp_free(&r);

	/* Routing. */
	assert_int_equal(fetch(port, "GET", "/", NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "href=\"metrics\""));
	assert_non_null(strstr(r.body, "href=\"healthz\""));
	assert_non_null(header(&r, "Content-Type", v, sizeof(v)));
	assert_non_null(strstr(v, "text/html"));
	resp_free(&r);
	expect_status(port, "GET", "/metrics?foo=bar", 200, doc);
	expect_status(port, "GET", "/nope", 404, NULL);
	expect_status(port, "GET", "/metrics/", 404, NULL);
	for (size_t i = 0; i < 3; i++) {
		const char *m[] = {"POST", "DELETE", "PUT"};

		assert_int_equal(fetch(port, m[i], "/metrics", NULL, &r), 0);
		assert_int_equal(r.status, 405);
		assert_non_null(header(&r, "Allow", v, sizeof(v)));
		assert_string_equal(v, "GET, HEAD");
		resp_free(&r);
	}

	/* A new publish replaces the body. */
	http_server_publish(s, dup_str("b 2\n"), 4, fake_clock());
	check_metrics_ok(port, NULL, false, "b 2\n");
	check_metrics_ok(port, "x-gzip", true, "b 2\n");

	/* An empty body is a valid (if useless) exposition. */
	http_server_publish(s, NULL, 0, fake_clock());
	check_metrics_ok(port, NULL, false, "");
	check_metrics_ok(port, "gzip", true, "");

	/* /healthz goes stale once stale_after_ns passes without a publish. */
	expect_status(port, "GET", "/healthz", 200, "ok\n");
	__atomic_store_n(&fake_now, 1000 * NSEC_PER_SEC + 300 * NSEC_PER_MSEC, __ATOMIC_RELAXED);
	expect_status(port, "GET", "/healthz", 503, "stale\n");
	expect_status(port, "HEAD", "/healthz", 503, NULL);
	http_server_publish(s, dup_str(doc), strlen(doc), fake_clock());
	expect_status(port, "GET", "/healthz", 200, "ok\n");
	/* A publish stamped in the past is stale at once. */
	http_server_publish(s, dup_str(doc), strlen(doc), fake_clock() - 10 * NSEC_PER_SEC);
	expect_status(port, "GET", "/healthz", 503, "stale\n");

	http_server_stats(s, &st);
	/* Every request above, counted by hand: 26 in all, 5 of them 4xx, 12 scrapes. */
	assert_int_equal(st.requests, 26);
	assert_int_equal(st.errors_4xx, 5);
	assert_int_equal(st.metrics_scrapes, 12);
	http_server_free(s);
	http_server_free(NULL);
}

/* A scrape in flight keeps its snapshot while newer ones are published and freed. */
#define BIG_LEN (16u << 20)

static char *big_body(char c)
{
	char *b = malloc(BIG_LEN);

	assert_non_null(b);
	for (size_t i = 0; i < BIG_LEN; i++)
		b[i] = (i % 64 == 63) ? '\n' : (char)(c + (char)(i % 7));
	return b;
}

static void test_publish_during_scrape(void **state)
{
	const char *listen[] = {"127.0.0.1:0"};
	const char req[] = "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct http_server *s;
	size_t cap = BIG_LEN + 4096, n = 0;
	char *buf, *want, *hdr_end;
	int fd, rcvbuf = 16384;
	ssize_t k;

	(void)state;
	s = start(listen, 1, 0);
	http_server_publish(s, big_body('A'), BIG_LEN, mono_ns());
	want = big_body('A');

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	sin.sin_port = htons((uint16_t)http_server_port(s, 0));
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	buf = malloc(cap);
	assert_non_null(buf);
	/* Read a little, so the response has started but cannot be in kernel buffers yet. */
	while (n < 65536) {
		k = read(fd, buf + n, 65536 - n);
		assert_true(k > 0);
		n += (size_t)k;
	}
	for (char c = 'a'; c < 'a' + 3; c++)
		http_server_publish(s, big_body(c), BIG_LEN, mono_ns());
	while ((k = read(fd, buf + n, cap - n)) > 0)
		n += (size_t)k;
	assert_int_equal(k, 0);
	close(fd);

	hdr_end = memmem(buf, n, "\r\n\r\n", 4);
	assert_non_null(hdr_end);
	assert_int_equal(strncmp(buf, "HTTP/1.1 200", 12), 0);
	hdr_end += 4;
	assert_int_equal(n - (size_t)(hdr_end - buf), BIG_LEN);
	assert_memory_equal(hdr_end, want, BIG_LEN);
	free(buf);
	free(want);
	http_server_free(s);
}

/* Concurrent scrapes, plain and gzip, while the collector keeps publishing. */
#define N_THREADS 50
#define SCRAPES_PER_THREAD 4

static char *gen_body(unsigned gen, size_t *ret_len)
{
	struct {
		char *p;
		size_t n;
	} m = {0};
	FILE *f = open_memstream(&m.p, &m.n);

	assert_non_null(f);
	fprintf(f, "# gen %u\n", gen);
	for (unsigned i = 0; i < 2000; i++)
		fprintf(f, "kepler_x_total{pid=\"%u\"} %u\n", i, i * gen);
	fclose(f);
	*ret_len = m.n;
	return m.p;
}

struct worker {
	int port;
	int ok;
	pthread_t t;
};

static void *scrape_worker(void *cls)
{
	struct worker *w = cls;

	for (int i = 0; i < SCRAPES_PER_THREAD; i++) {
		struct resp r;
		char *plain, *want, v[64];
		size_t n, want_len;
		unsigned gen;
		bool gz = i % 2;

		if (fetch(w->port, "GET", "/metrics", gz ? "gzip" : NULL, &r) < 0 ||
		    r.status != 200)
			goto fail;
		if (gz != (header(&r, "Content-Encoding", v, sizeof(v)) != NULL))
			goto fail;
		plain = gz ? gunzip(r.body, r.len, &n) : r.body;
		if (!gz)
			n = r.len;
		if (!plain || sscanf(plain, "# gen %u", &gen) != 1)
			goto fail;
		want = gen_body(gen, &want_len);
		if (want_len != n || memcmp(want, plain, n) != 0)
			goto fail;
		free(want);
		if (gz)
			free(plain);
		resp_free(&r);
		continue;
	fail:
		resp_free(&r);
		return NULL;
	}
	w->ok = 1;
	return NULL;
}

static void test_concurrent_scrapes(void **state)
{
	const char *listen[] = {"127.0.0.1:0"};
	/* Every scraper here comes from 127.0.0.1: allow them all, and the connections they
	 * closed that the server has not yet seen closing (keep-alive: the client closes). */
	struct http_options o = {.listen = listen,
				 .n_listen = 1,
				 .max_connections_per_ip = N_THREADS * SCRAPES_PER_THREAD};
	struct worker w[N_THREADS];
	struct http_server *s = NULL;
	struct http_stats st;
	char err[256];
	size_t len;
	char *b;

	(void)state;
	assert_int_equal(http_server_new(&s, &o, err, sizeof(err)), 0);
	b = gen_body(1, &len);
	http_server_publish(s, b, len, mono_ns());
	for (int i = 0; i < N_THREADS; i++) {
		w[i] = (struct worker){.port = http_server_port(s, 0)};
		assert_int_equal(pthread_create(&w[i].t, NULL, scrape_worker, &w[i]), 0);
	}
	for (unsigned gen = 2; gen < 40; gen++) {
		b = gen_body(gen, &len);
		http_server_publish(s, b, len, mono_ns());
		usleep(2000);
	}
	for (int i = 0; i < N_THREADS; i++) {
		assert_int_equal(pthread_join(w[i].t, NULL), 0);
		if (!w[i].ok)
			fail_msg("worker %d failed", i);
	}
	http_server_stats(s, &st);
	assert_int_equal(st.metrics_scrapes, N_THREADS * SCRAPES_PER_THREAD);
	assert_int_equal(st.errors_4xx, 0);
	http_server_free(s);
}

static void test_bind_errors(void **state)
{
	const char *first[] = {"127.0.0.1:0"};
	struct http_options o = {.n_listen = 1};
	struct http_server *s, *s2 = NULL;
	char addr[64], want[160], err[256];
	const char *listen[2];
	int fds;

	(void)state;
	fds = count_fds();
	s = start(first, 1, 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", http_server_port(s, 0));
	listen[0] = addr;
	o.listen = listen;
	assert_int_equal(http_server_new(&s2, &o, err, sizeof(err)), -EADDRINUSE);
	assert_null(s2);
	snprintf(want, sizeof(want), "web.listen-address %s: Address already in use", addr);
	assert_string_equal(err, want);

	/* The second address fails: the first is released again. */
	listen[0] = "127.0.0.1:0";
	listen[1] = addr;
	o.n_listen = 2;
	assert_int_equal(http_server_new(&s2, &o, err, sizeof(err)), -EADDRINUSE);
	assert_null(s2);
	assert_string_equal(err, want);

	/* The same port on another address of the family is in use too, via ":port". */
	snprintf(addr, sizeof(addr), ":%d", http_server_port(s, 0));
	listen[0] = addr;
	o.n_listen = 1;
	assert_int_equal(http_server_new(&s2, &o, err, sizeof(err)), -EADDRINUSE);
	assert_non_null(strstr(err, addr));

	listen[0] = "not an address";
	assert_int_equal(http_server_new(&s2, &o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "web.listen-address not an address: invalid address"));
	/* A name resolves (from /etc/hosts, no DNS needed here). */
	listen[0] = "localhost:0";
	assert_int_equal(http_server_new(&s2, &o, err, sizeof(err)), 0);
	assert_true(http_server_port(s2, 0) > 0);
	http_server_free(s2);
	s2 = NULL;
	o.n_listen = 0;
	assert_int_equal(http_server_new(&s2, &o, err, sizeof(err)), -EINVAL);
	assert_null(s2);

	http_server_publish(s, dup_str(doc), strlen(doc), mono_ns());
	http_server_free(s);
	/* Every socket and daemon pipe is closed again. */
	assert_int_equal(count_fds(), fds);
}

static bool ipv6_loopback(void)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
	close(fd);
	return ok;
}

static void test_all_addresses(void **state)
{
	const char *listen[] = {":0", "127.0.0.1:0", "[::1]:0", "[::]:0"};
	bool v6 = ipv6_loopback();
	struct http_server *s;
	struct resp r;

	(void)state;
	s = start(listen, v6 ? 4 : 2, 0);
	http_server_publish(s, dup_str(doc), strlen(doc), mono_ns());
	for (size_t i = 0; i < (v6 ? 4u : 2u); i++) {
		int port = http_server_port(s, i);

		assert_true(port > 0);
		if (i != 2) {
			assert_int_equal(fetch_host("127.0.0.1", port, "GET", "/metrics", NULL, &r),
					 0);
			assert_int_equal(r.status, 200);
			assert_string_equal(r.body, doc);
			resp_free(&r);
		}
		if (v6 && i != 1) {
			/* ":port" and "[::]:port" are dual-stack: both families reach them. */
			assert_int_equal(fetch_host("[::1]", port, "GET", "/metrics", NULL, &r), 0);
			assert_int_equal(r.status, 200);
			assert_string_equal(r.body, doc);
			resp_free(&r);
		}
	}
	http_server_free(s);
	if (!v6)
		print_message("no IPv6 loopback here: IPv6 checks skipped\n");
}

/* ---- TLS, client certificates, basic auth, limits ---- */

#define TLS_DIR FIXTURES "/tls/"
/* bcrypt cost 4 (the minimum) keeps the tests fast; $2b$ and $2y$ are the same algorithm. */
#define ALICE_HASH "$2b$04$zdwDd/2/1iTx9J7puxB94uytrjKdZ.1CemuytU1SOa5vl8T0Xd4HK" /* wonderland */
#define BOB_HASH "$2y$04$mZuxcv73PTVTZP6xIXpayukIcI1HvsGwoqggj5ajnSTX7Q8vUrhdK"	  /* builder */

/* A web config file written to a temporary directory and loaded as kepler would. */
static struct web_config *load_web(const char *yaml)
{
	char dir[] = "/tmp/kepler-webcfg-XXXXXX", path[64], err[512];
	struct web_config *wc = NULL;
	FILE *f;
	int r;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/web.yml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(yaml, f);
	fclose(f);
	r = webconfig_load(path, &wc, err, sizeof(err));
	unlink(path);
	rmdir(dir);
	if (r < 0)
		fail_msg("webconfig_load: %d %s", r, err);
	return wc;
}

static struct http_server *start_web(const char *yaml, unsigned per_ip, size_t mem_limit)
{
	const char *listen[] = {"127.0.0.1:0"};
	struct web_config *wc = yaml ? load_web(yaml) : NULL;
	struct http_options o = {.listen = listen,
				 .n_listen = 1,
				 .max_connections_per_ip = per_ip,
				 .request_memory_limit = mem_limit,
				 .web = wc};
	struct http_server *s = NULL;
	char err[256];
	int r = http_server_new(&s, &o, err, sizeof(err));

	/* The server keeps its own copies. */
	webconfig_free(wc);
	if (r < 0)
		fail_msg("http_server_new: %d %s", r, err);
	http_server_publish(s, dup_str(doc), strlen(doc), mono_ns());
	return s;
}

struct client {
	bool https;
	const char *ca;	  /* file under tests/fixtures/tls, NULL: do not verify the server */
	const char *cert; /* client certificate and key, by base name: "client" */
	const char *userpwd;
	long tls_max; /* CURL_SSLVERSION_MAX_*, 0: default */
};

/* GET path; returns the CURLcode, and fills r when it is CURLE_OK. */
static CURLcode fetch_client(int port, const char *path, const struct client *cl, struct resp *r)
{
	char url[256], ca[512], cert[512], key[512];
	CURLcode rc;
	CURL *c;

	memset(r, 0, sizeof(*r));
	c = curl_easy_init();
	assert_non_null(c);
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", cl->https ? "https" : "http", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if (cl->ca) {
		snprintf(ca, sizeof(ca), TLS_DIR "%s", cl->ca);
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	} else {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (cl->cert) {
		snprintf(cert, sizeof(cert), TLS_DIR "%s.crt", cl->cert);
		snprintf(key, sizeof(key), TLS_DIR "%s.key", cl->cert);
		curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, key);
	}
	if (cl->tls_max)
		curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1 | cl->tls_max);
	if (cl->userpwd) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERPWD, cl->userpwd);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(c);
	return rc;
}

/* Expects an answer with this status (0: no answer at all, the connection refused). */
static void expect_client(int port, const char *path, const struct client *cl, long status,
			  const char *what)
{
	struct resp r;
	CURLcode rc = fetch_client(port, path, cl, &r);

	if (status == 0 && rc == CURLE_OK)
		fail_msg("%s: answered %ld, want no answer", what, r.status);
	if (status != 0 && rc != CURLE_OK)
		fail_msg("%s: %s, want %ld", what, curl_easy_strerror(rc), status);
	if (status != 0 && r.status != status)
		fail_msg("%s: status %ld want %ld", what, r.status, status);
	if (status == 200 && !streq(path, "/healthz"))
		assert_string_equal(r.body, doc);
	resp_free(&r);
}

static const char tls_only[] = "tls_server_config:\n"
			       "  cert_file: " TLS_DIR "server.crt\n"
			       "  key_file: " TLS_DIR "server.key\n";

/* Sends text on a new TCP connection and reads until the server closes it (or 5 s pass). */
static ssize_t raw_exchange(int port, const char *text, char *buf, size_t bufsz)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {.tv_sec = 5};
	size_t n = 0;
	ssize_t k;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (text)
		assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	while (n < bufsz && (k = read(fd, buf + n, bufsz - n)) > 0)
		n += (size_t)k;
	/* Closed by the server (0, or a reset), not a timeout. */
	if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		fail_msg("the server did not close the connection");
	close(fd);
	return (ssize_t)n;
}

static void test_tls_server(void **state)
{
	const struct client good = {.https = true, .ca = "ca.crt"};
	const struct client other_ca = {.https = true, .ca = "other-ca.crt"};
	const struct client plain = {.https = false};
	const struct client tls12 = {
	    .https = true, .ca = "ca.crt", .tls_max = CURL_SSLVERSION_MAX_TLSv1_2};
	struct http_server *s;
	struct http_stats st;
	char buf[4096];
	struct resp r;
	ssize_t n;
	int port;

	(void)state;
	s = start_web(tls_only, 0, 0);
	port = http_server_port(s, 0);
	expect_client(port, "/metrics", &good, 200, "https with the CA");
	expect_client(port, "/healthz", &good, 200, "https /healthz");
	/* The client checks the server: a CA that did not sign it fails. */
	assert_int_not_equal(fetch_client(port, "/metrics", &other_ca, &r), CURLE_OK);
	/* TLS 1.2 is the default minimum, so a 1.2-only client still gets in. */
	expect_client(port, "/metrics", &tls12, 200, "TLS 1.2 client");

	/* Plain HTTP to the TLS port: no answer, the connection closed, nothing crashes. */
	assert_int_not_equal(fetch_client(port, "/metrics", &plain, &r), CURLE_OK);
	n = raw_exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof(buf));
	assert_true(n < (ssize_t)sizeof(buf));
	if (n >= 4)
		assert_false(memcmp(buf, "HTTP", 4) == 0);
	/* Garbage and an immediate close, too. */
	raw_exchange(port, "\x16\x03\x01\xff\xff garbage", buf, sizeof(buf));
	expect_client(port, "/metrics", &good, 200, "https after plain HTTP");
	http_server_stats(s, &st);
	assert_int_equal(st.requests, 4);
	http_server_free(s);

	/* min_version TLS13 refuses a client that stops at 1.2. */
	s = start_web("tls_server_config:\n"
		      "  cert_file: " TLS_DIR "server.crt\n"
		      "  key_file: " TLS_DIR "server.key\n"
		      "  min_version: TLS13\n",
		      0, 0);
	port = http_server_port(s, 0);
	expect_client(port, "/metrics", &good, 200, "TLS 1.3");
	expect_client(port, "/metrics", &tls12, 0, "TLS 1.2 client, min_version TLS13");
	http_server_free(s);
}

struct cert_case {
	const char *auth; /* client_auth_type */
	long none, good,
	    other; /* status without a client certificate, with ours, with another CA's */
};

static const struct cert_case cert_cases[] = {
    {"RequireAndVerifyClientCert", 0, 200, 0},
    {"VerifyClientCertIfGiven", 200, 200, 0},
    {"RequireAnyClientCert", 0, 200, 200},
    {"RequestClientCert", 200, 200, 200},
};

static void test_tls_client_cert(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cert_cases); i++) {
		const struct cert_case *cc = &cert_cases[i];
		const struct client none = {.https = true, .ca = "ca.crt"};
		const struct client good = {.https = true, .ca = "ca.crt", .cert = "client"};
		const struct client other = {.https = true, .ca = "ca.crt", .cert = "other-client"};
		char yaml[1024], what[128];
		struct http_server *s;
		struct http_stats st;
		int port;
		bool verify = strstr(cc->auth, "Verify") != NULL;

		snprintf(yaml, sizeof(yaml), "%s  client_auth_type: %s\n%s", tls_only, cc->auth,
			 verify ? "  client_ca_file: " TLS_DIR "ca.crt\n" : "");
		s = start_web(yaml, 0, 0);
		port = http_server_port(s, 0);
		snprintf(what, sizeof(what), "%s, no client certificate", cc->auth);
		expect_client(port, "/metrics", &none, cc->none, what);
		snprintf(what, sizeof(what), "%s, client certificate from the CA", cc->auth);
		expect_client(port, "/metrics", &good, cc->good, what);
		snprintf(what, sizeof(what), "%s, client certificate from another CA", cc->auth);
		expect_client(port, "/metrics", &other, cc->other, what);
		/* A refused handshake leaves the server serving. */
		expect_client(port, "/healthz", &good, 200, "after a refused client");
		/* Refused in the handshake: the refused requests never reached the handler. */
		http_server_stats(s, &st);
		assert_int_equal(st.requests,
				 1 + (cc->none == 200) + (cc->good == 200) + (cc->other == 200));
		http_server_free(s);
	}
}

struct auth_case {
	const char *path;
	const char *userpwd; /* NULL: no Authorization header */
	long status;
};

static const struct auth_case auth_cases[] = {
    {"/metrics", "alice:wonderland", 200},
    {"/metrics", "bob:builder", 200}, /* a $2y$ hash */
    {"/healthz", "alice:wonderland", 200},
    {"/metrics", "alice:wrong", 401},
    {"/metrics", "alice:", 401},
    {"/metrics", "alice:wonderlan", 401},
    {"/metrics", "alice:wonderland ", 401},
    {"/metrics", "Alice:wonderland", 401},
    {"/metrics", "bob:wonderland", 401}, /* alice's password for bob */
    {"/metrics", "mallory:wonderland", 401},
    {"/metrics", ":", 401},
    {"/metrics", NULL, 401},
    {"/healthz", NULL, 401}, /* everything is protected */
    {"/", NULL, 401},
    {"/nope", NULL, 401}, /* even what does not exist: nothing is told before auth */
    {"/nope", "alice:wonderland", 404},
};

static void test_basic_auth(void **state)
{
	static const char *const yamls[] = {
	    /* Plain HTTP, and the same over TLS. */
	    "basic_auth_users:\n"
	    "  alice: " ALICE_HASH "\n"
	    "  bob: " BOB_HASH "\n"
	    "http_server_config:\n"
	    "  headers:\n"
	    "    X-Frame-Options: deny\n",
	    "tls_server_config:\n"
	    "  cert_file: " TLS_DIR "server.crt\n"
	    "  key_file: " TLS_DIR "server.key\n"
	    "basic_auth_users:\n"
	    "  alice: " ALICE_HASH "\n"
	    "  bob: " BOB_HASH "\n"
	    "http_server_config:\n"
	    "  headers:\n"
	    "    X-Frame-Options: deny\n",
	};

	(void)state;
	for (size_t y = 0; y < ARRAY_SIZE(yamls); y++) {
		bool https = y == 1;
		struct http_server *s = start_web(yamls[y], 0, 0);
		int port = http_server_port(s, 0);
		struct http_stats st, st2;
		uint64_t fails = 0;

		for (size_t i = 0; i < ARRAY_SIZE(auth_cases); i++) {
			const struct auth_case *ac = &auth_cases[i];
			const struct client cl = {
			    .https = https, .ca = https ? "ca.crt" : NULL, .userpwd = ac->userpwd};
			struct resp r;
			char v[256];

			if (fetch_client(port, ac->path, &cl, &r) != CURLE_OK)
				fail_msg("case %zu: no answer", i);
			if (r.status != ac->status)
				fail_msg("case %zu (%s %s): status %ld want %ld", i, ac->path,
					 ac->userpwd ? ac->userpwd : "-", r.status, ac->status);
			if (ac->status == 401) {
				fails++;
				if (!header(&r, "WWW-Authenticate", v, sizeof(v)))
					fail_msg("case %zu: no WWW-Authenticate", i);
				assert_string_equal(v, "Basic realm=\"kepler\"");
			}
			/* The extra header is on every answer, 401 included. */
			assert_non_null(header(&r, "X-Frame-Options", v, sizeof(v)));
			assert_string_equal(v, "deny");
			resp_free(&r);
		}
		http_server_stats(s, &st);
		assert_int_equal(st.auth_failures, fails);
		/* One bcrypt per credential sent, except the second right alice (cached): 2 right
		 * pairs and 8 wrong ones (unknown users cost one too). No header costs none. */
		assert_int_equal(st.auth_hash_checks, 2 + 8);

		/* Scrapes with known credentials cost no bcrypt; wrong ones always do. */
		for (int i = 0; i < 5; i++) {
			const struct client cl = {.https = https,
						  .ca = https ? "ca.crt" : NULL,
						  .userpwd =
						      i % 2 ? "alice:wonderland" : "bob:builder"};

			expect_client(port, "/metrics", &cl, 200, "cached credentials");
		}
		http_server_stats(s, &st2);
		assert_int_equal(st2.auth_hash_checks, st.auth_hash_checks);
		{
			const struct client cl = {.https = https,
						  .ca = https ? "ca.crt" : NULL,
						  .userpwd = "alice:wrong"};

			expect_client(port, "/metrics", &cl, 401, "wrong password again");
			expect_client(port, "/metrics", &cl, 401, "wrong password again");
		}
		http_server_stats(s, &st2);
		assert_int_equal(st2.auth_hash_checks, st.auth_hash_checks + 2);
		assert_int_equal(st2.auth_failures, fails + 2);
		http_server_free(s);
	}
}

/* More credentials than the cache holds: the oldest are checked again, nothing breaks. */
static void test_auth_cache_bound(void **state)
{
	char yaml[16384];
	size_t n;
	struct http_server *s;
	struct http_stats st;
	int port;

	(void)state;
	/* 70 users sharing alice's password: each a distinct cache entry. */
	n = (size_t)snprintf(yaml, sizeof(yaml), "basic_auth_users:\n");
	for (int i = 0; i < 70; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "  u%d: " ALICE_HASH "\n", i);
	s = start_web(yaml, 0, 0);
	port = http_server_port(s, 0);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 70; i++) {
			char up[64];
			const struct client cl = {.userpwd = up};

			snprintf(up, sizeof(up), "u%d:wonderland", i);
			expect_client(port, "/healthz", &cl, 200, up);
		}
	}
	http_server_stats(s, &st);
	/* Round robin over 64 entries: the second round misses on every user. */
	assert_int_equal(st.auth_hash_checks, 140);
	/* The last 64 users are cached now. */
	for (int i = 6; i < 70; i++) {
		char up[64];
		const struct client cl = {.userpwd = up};

		snprintf(up, sizeof(up), "u%d:wonderland", i);
		expect_client(port, "/healthz", &cl, 200, up);
	}
	http_server_stats(s, &st);
	assert_int_equal(st.auth_hash_checks, 140);
	http_server_free(s);
}

static int connect_idle(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static void test_limits(void **state)
{
	const struct client plain = {0};
	struct http_server *s;
	int port, fd[2];
	char buf[512];
	struct resp r;
	char *big;

	(void)state;
	/* Two connections per address: a third is closed at once, and served again later. */
	s = start_web(NULL, 2, 0);
	port = http_server_port(s, 0);
	fd[0] = connect_idle(port);
	fd[1] = connect_idle(port);
	/* Accepted in order: the third is over the limit whenever the server gets to it. */
	assert_int_equal(
	    raw_exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof(buf)), 0);
	assert_int_not_equal(fetch_client(port, "/metrics", &plain, &r), CURLE_OK);
	close(fd[0]);
	close(fd[1]);
	/* The server notices the closes on its own time: allow it a few seconds. */
	for (int i = 0; i < 100 && fetch_client(port, "/healthz", &plain, &r) != CURLE_OK; i++) {
		resp_free(&r);
		usleep(50 * 1000);
	}
	resp_free(&r);
	expect_client(port, "/metrics", &plain, 200, "after the idle connections closed");
	http_server_free(s);

	/* Request headers beyond the memory limit: refused with 431, the server still serves. */
	s = start_web(NULL, 0, 8192);
	port = http_server_port(s, 0);
	big = malloc(20000);
	assert_non_null(big);
	memcpy(big, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ", 39);
	memset(big + 39, 'a', 19000);
	strcpy(big + 39 + 19000, "\r\n\r\n");
	raw_exchange(port, big, buf, sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	assert_int_equal(strncmp(buf, "HTTP/1.1 431", 12), 0);
	free(big);
	expect_client(port, "/metrics", &plain, 200, "after a too large request");
	http_server_free(s);
}

/* Sends text whole; false when the connection is gone. */
static bool send_all(int fd, const char *text)
{
	size_t n = strlen(text);

	return send(fd, text, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* Reads one /healthz answer on a keep-alive connection: true when it is 200 "ok". */
static bool read_healthz_ok(int fd)
{
	char buf[2048];
	size_t n = 0;
	ssize_t k;

	while (n < sizeof(buf) - 1 && (k = recv(fd, buf + n, sizeof(buf) - 1 - n, 0)) > 0) {
		n += (size_t)k;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\nok\n"))
			return strncmp(buf, "HTTP/1.1 200", 12) == 0;
	}
	return false;
}

/*
 * Sends a header one byte every 20 ms until the server closes the connection,
 * at most 2,000 bytes (40 s): true when the server closed it.
 */
static bool trickle_until_closed(int fd)
{
	for (int i = 0; i < 2000; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char c;

		if (!send_all(fd, "X"))
			return true;
		if (poll(&p, 1, 20) > 0 && recv(fd, &c, 1, 0) <= 0)
			return true;
	}
	return false;
}

static void test_header_deadline(void **state)
{
	const char *listen[] = {"127.0.0.1:0"};
	/* The idle timeout far away: only the header deadline can close anything here. */
	struct http_options o = {.listen = listen,
				 .n_listen = 1,
				 .connection_timeout_s = 600,
				 .header_timeout_ns = NSEC_PER_SEC};
	const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	struct timeval tv = {.tv_sec = 20};
	struct http_server *s = NULL;
	struct http_stats st;
	char err[256];
	int port, fd;

	(void)state;
	assert_int_equal(http_server_new(&s, &o, err, sizeof(err)), 0);
	http_server_publish(s, dup_str(doc), strlen(doc), mono_ns());
	port = http_server_port(s, 0);

	/* A header that keeps trickling is cut, although bytes keep coming. */
	fd = connect_idle(port);
	assert_true(send_all(fd, "GET /metrics HTTP/1.1\r\nX-Slow: "));
	assert_true(trickle_until_closed(fd));
	close(fd);
	http_server_stats(s, &st);
	assert_int_equal(st.header_timeouts, 1);

	/* Keep-alive: waiting for the next request longer than the header timeout is idling,
	 * not a slow header; the next request is served, and its header clock starts with its
	 * first bytes: trickled, it is cut. */
	fd = connect_idle(port);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_true(send_all(fd, req));
	assert_true(read_healthz_ok(fd));
	usleep(2500 * 1000);
	assert_true(send_all(fd, req));
	assert_true(read_healthz_ok(fd));
	assert_true(send_all(fd, "GET /healthz HTTP/1.1\r\n"));
	assert_true(trickle_until_closed(fd));
	close(fd);
	http_server_stats(s, &st);
	assert_int_equal(st.header_timeouts, 2);
	assert_int_equal(st.requests, 2);
	http_server_free(s);
}

static void test_web_errors(void **state)
{
	const char *listen[] = {"127.0.0.1:0"};
	struct web_config wc = {.tls = true,
				.cert_file = "x.crt",
				.key_file = "x.key",
				.min_version = WEB_TLS12,
				.max_version = WEB_TLS13};
	struct http_options o = {.listen = listen, .n_listen = 1, .web = &wc};
	struct http_server *s = NULL;
	char err[256];
	int fds = count_fds();

	(void)state;
	/* A web config from webconfig_parse alone has no PEM contents: refused, not crashed. */
	assert_int_equal(http_server_new(&s, &o, err, sizeof(err)), -EINVAL);
	assert_null(s);
	assert_non_null(strstr(err, "web.configFile"));
	assert_int_equal(count_fds(), fds);
}

static int setup(void **state)
{
	(void)state;
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	curl_global_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_listen),
	    cmocka_unit_test(test_accept_encoding),
	    cmocka_unit_test(test_route),
	    cmocka_unit_test(test_healthz_fresh),
	    cmocka_unit_test(test_fit_connection_limit),
	    cmocka_unit_test(test_conn_clock),
	    cmocka_unit_test(test_endpoints),
	    cmocka_unit_test(test_publish_during_scrape),
	    cmocka_unit_test(test_concurrent_scrapes),
	    cmocka_unit_test(test_bind_errors),
	    cmocka_unit_test(test_all_addresses),
	    cmocka_unit_test(test_tls_server),
	    cmocka_unit_test(test_tls_client_cert),
	    cmocka_unit_test(test_basic_auth),
	    cmocka_unit_test(test_auth_cache_bound),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_header_deadline),
	    cmocka_unit_test(test_web_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
