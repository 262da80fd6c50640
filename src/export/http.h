/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP endpoint on libmicrohttpd: /metrics serves the last published body
 * (an immutable, reference-counted snapshot with a precomputed gzip), so a
 * scrape never waits for the collector; /healthz reports whether publishes
 * are still happening; / links both. An optional web config (webconfig.h)
 * adds TLS, client certificates, basic auth and extra response headers; auth
 * then covers every path, /healthz included, as exporter-toolkit does.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_server;
struct web_config;

struct http_options {
	/* "host:port", ":port" (all addresses, IPv4 + IPv6 if available), "[::1]:port". */
	const char *const *listen;
	size_t n_listen;
	uint64_t stale_after_ns; /* /healthz fails when no publish happened within this
				    long; 0: never stale once something was published */
	/* Per listen address; default 4096 if 0. Lowered to what RLIMIT_NOFILE allows, after
	 * raising its soft limit to the hard one where that is short. */
	unsigned max_connections;
	/* A connection idle this long is closed; default 10 if 0. */
	unsigned connection_timeout_s;
	/* A connection is closed when its whole request header has not arrived within this long
	 * of its start (on a keep-alive connection: of the next request's first bytes), however
	 * it trickles. Default 3 s if 0; at most connection_timeout_s. */
	uint64_t header_timeout_ns;
	unsigned max_connections_per_ip; /* per listen address and client address; default
					    256 if 0 */
	size_t request_memory_limit;	 /* bytes per connection for the request line and headers
					    (bigger requests get 431); default 32 KiB if 0,
					    at least 4 KiB */
	/* The clock /healthz compares publishes with, in the now_ns of http_server_publish;
	 * NULL: CLOCK_MONOTONIC. Tests set their own. */
	uint64_t (*now_ns)(void);
	/* TLS, client certificates, basic auth, headers; NULL: plain HTTP, no auth. Used by
	 * http_server_new only: the server keeps copies of what it needs. */
	const struct web_config *web;
};

/*
 * Binds every address and starts serving. On failure returns -errno and
 * writes a message naming the address into err, e.g.
 * "web.listen-address 127.0.0.1:28282: Address already in use" (-EADDRINUSE).
 * With opt->web, it must come from webconfig_load (the PEM contents loaded).
 */
int http_server_new(struct http_server **ret, const struct http_options *opt, char *err,
		    size_t errsz);

/*
 * Takes ownership of body (malloc'd, may be NULL when len is 0) and makes it
 * what /metrics serves from now on; its gzip is computed here, once. now_ns
 * is the CLOCK_MONOTONIC time of the publish, for /healthz. Never fails: out
 * of memory keeps the previous body (and /healthz goes stale if it lasts);
 * with s NULL the body is just freed.
 */
void http_server_publish(struct http_server *s, char *body, size_t len, uint64_t now_ns);

/* Stops serving, waits for the server threads and drops the snapshot. NULL is a no-op. */
void http_server_free(struct http_server *s);

struct http_stats {
	uint64_t requests;
	uint64_t errors_4xx;
	uint64_t metrics_scrapes;  /* /metrics answered 200 (GET or HEAD) */
	uint64_t auth_failures;	   /* 401: missing or wrong credentials */
	uint64_t auth_hash_checks; /* bcrypt runs: credentials not found in the cache */
	uint64_t header_timeouts;  /* connections closed for missing the header deadline */
};

void http_server_stats(const struct http_server *s, struct http_stats *ret);

/* The bound port of listen address i (useful with port 0), or -EINVAL. */
int http_server_port(const struct http_server *s, size_t i);

/* Pure helpers, tested from tables. */

struct http_listen_addr {
	char host[256]; /* "" means every address; an IPv6 literal without brackets */
	uint16_t port;
};

/* Splits "host:port", ":port" or "[v6]:port". -EINVAL on anything else. */
int http_parse_listen_address(const char *s, struct http_listen_addr *ret);

/*
 * Whether an Accept-Encoding header value (NULL when absent) allows gzip:
 * gzip or x-gzip with q > 0, or, when neither is listed, "*" with q > 0.
 */
bool http_accepts_gzip(const char *accept_encoding);

enum http_route {
	HTTP_ROUTE_NOT_FOUND,
	HTTP_ROUTE_METHOD_NOT_ALLOWED,
	HTTP_ROUTE_INDEX,
	HTTP_ROUTE_METRICS,
	HTTP_ROUTE_HEALTHZ,
};

/* Routes a request; the query string and fragment are ignored. */
enum http_route http_route(const char *method, const char *url);

/*
 * What /healthz answers: fresh (200) once something was published, as long as
 * the last publish (CLOCK_MONOTONIC) is less than stale_after_ns before now_ns;
 * stale_after_ns 0 means never stale.
 */
bool http_healthz_fresh(bool published, uint64_t last_publish_ns, uint64_t now_ns,
			uint64_t stale_after_ns);

/*
 * The connections per listen address, at most want, that n_listen addresses
 * can hold within nofile descriptors while leaving the rest of the agent 256.
 * At least 1.
 */
unsigned http_fit_connection_limit(unsigned want, size_t n_listen, uint64_t nofile);
