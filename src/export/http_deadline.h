/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The request header deadline of the HTTP endpoint (internal to
 * src/export/http*.c). libmicrohttpd's connection timeout counts idle time
 * only, so a client that sends one byte a second (slowloris) would hold its
 * slot for ever; here a watchdog thread shuts down a connection whose request
 * header is not complete within the header timeout of its start, whatever it
 * trickles.
 *
 * A connection goes through three phases: HEADER from its accept (TLS handshake
 * included) until its request header is complete; ANSWERING while the answer
 * is sent (no deadline here: libmicrohttpd's idle timeout applies); IDLE after
 * an answer on a keep-alive connection, until the next request's first bytes
 * arrive (seen in the kernel's count of bytes received), which start a new
 * HEADER phase. An idle keep-alive connection, as Prometheus holds one, is
 * closed by the idle timeout alone, as in Go's net/http (ReadHeaderTimeout,
 * IdleTimeout).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum http_conn_phase {
	HTTP_CONN_HEADER,
	HTTP_CONN_ANSWERING,
	HTTP_CONN_IDLE,
	HTTP_CONN_CLOSING, /* shut down for its deadline; libmicrohttpd is closing it */
};

struct http_conn_clock {
	enum http_conn_phase phase;
	uint64_t deadline_ns; /* HEADER: when the header must be complete */
	uint64_t rx_bytes;    /* IDLE: bytes received by the end of the last answer */
};

/*
 * One look at a connection at now_ns; rx_bytes is its count of bytes received
 * now (read for IDLE only). An IDLE connection that received bytes starts a
 * HEADER phase of timeout_ns from now. Returns true when the connection is past
 * its header deadline and must be closed.
 */
bool http_conn_clock_tick(struct http_conn_clock *c, uint64_t now_ns, uint64_t rx_bytes,
			  uint64_t timeout_ns);

/* How often the watchdog looks: an eighth of the timeout, within 50 ms .. 1 s. */
uint64_t http_deadline_period(uint64_t timeout_ns);

struct http_deadlines;
struct http_conn_deadline;

/* Starts the watchdog thread. -errno on failure. */
int http_deadlines_new(struct http_deadlines **ret, uint64_t timeout_ns);

/* Stops the watchdog; every connection must have been removed. NULL is a no-op. */
void http_deadlines_free(struct http_deadlines *d);

/*
 * A new connection on socket fd, in its HEADER phase from now. NULL when out of
 * memory: that connection has the idle timeout only.
 */
struct http_conn_deadline *http_deadlines_add(struct http_deadlines *d, int fd);

/*
 * The connection is closing: called before its socket is closed, so the
 * watchdog never touches a descriptor number reused meanwhile. NULL is a no-op.
 */
void http_deadlines_remove(struct http_deadlines *d, struct http_conn_deadline *c);

/* The request header is complete: the answer is being sent. */
void http_deadlines_answering(struct http_deadlines *d, struct http_conn_deadline *c);

/* The answer is done; the connection stays open for the next request. */
void http_deadlines_idle(struct http_deadlines *d, struct http_conn_deadline *c);

/* Connections shut down for missing their header deadline, so far. */
uint64_t http_deadlines_cut(const struct http_deadlines *d);
