// SPDX-License-Identifier: Apache-2.0
#include "export/http_deadline.h"

#include <errno.h>
#include <stddef.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "util/timeutil.h"

struct http_conn_deadline {
	struct http_conn_deadline *prev, *next;
	int fd;
	struct http_conn_clock clock;
};

struct http_deadlines {
	pthread_mutex_t lock; /* guards conns, clocks, stopping; held across shutdown() */
	pthread_cond_t cond;
	struct http_conn_deadline *conns;
	bool stopping;
	pthread_t thread;
	uint64_t timeout_ns;
	uint64_t period_ns;
	uint64_t cut; /* atomic */
};

bool http_conn_clock_tick(struct http_conn_clock *c, uint64_t now_ns, uint64_t rx_bytes,
			  uint64_t timeout_ns)
{
	switch (c->phase) {
	case HTTP_CONN_HEADER:
		return now_ns >= c->deadline_ns;
	case HTTP_CONN_IDLE:
		if (rx_bytes != c->rx_bytes) {
			c->phase = HTTP_CONN_HEADER;
			c->deadline_ns = now_ns + timeout_ns;
		}
		return false;
	case HTTP_CONN_ANSWERING:
	case HTTP_CONN_CLOSING:
	default:
		return false;
	}
}

uint64_t http_deadline_period(uint64_t timeout_ns)
{
	uint64_t p = timeout_ns / 8;

	if (p < 50 * NSEC_PER_MSEC)
		return 50 * NSEC_PER_MSEC;
	return p > NSEC_PER_SEC ? NSEC_PER_SEC : p;
}

/* The kernel's count of bytes received on a TCP socket, or -errno. */
static int64_t rx_bytes(int fd)
{
	struct tcp_info ti = {0};
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	/* tcpi_bytes_received is there since Linux 4.1; an older kernel fills less. */
	if (len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received))
		return -EOPNOTSUPP;
	return (int64_t)(ti.tcpi_bytes_received & INT64_MAX);
}

/* Shuts down connections past their deadline; libmicrohttpd then sees EOF and closes them. */
static void *watchdog_main(void *arg)
{
	struct http_deadlines *d = arg;
	struct timespec ts;

	pthread_mutex_lock(&d->lock);
	while (!d->stopping) {
		uint64_t now = mono_ns(), wake = now + d->period_ns;

		for (struct http_conn_deadline *c = d->conns; c; c = c->next) {
			int64_t rx = c->clock.phase == HTTP_CONN_IDLE ? rx_bytes(c->fd) : 0;

			if (rx < 0)
				continue; /* cannot tell: the idle timeout alone applies */
			if (http_conn_clock_tick(&c->clock, now, (uint64_t)rx, d->timeout_ns)) {
				/* Counted first: whoever sees the close sees the count. */
				__atomic_add_fetch(&d->cut, 1, __ATOMIC_RELAXED);
				c->clock.phase = HTTP_CONN_CLOSING;
				shutdown(c->fd, SHUT_RDWR);
			}
		}
		ts.tv_sec = (time_t)(wake / NSEC_PER_SEC);
		ts.tv_nsec = (long)(wake % NSEC_PER_SEC);
		pthread_cond_timedwait(&d->cond, &d->lock, &ts);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

int http_deadlines_new(struct http_deadlines **ret, uint64_t timeout_ns)
{
	struct http_deadlines *d;
	pthread_condattr_t ca;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->timeout_ns = timeout_ns;
	d->period_ns = http_deadline_period(timeout_ns);
	r = pthread_mutex_init(&d->lock, NULL);
	if (r)
		goto out_free;
	r = pthread_condattr_init(&ca);
	if (r)
		goto out_mutex;
	r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (!r)
		r = pthread_cond_init(&d->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (r)
		goto out_mutex;
	r = pthread_create(&d->thread, NULL, watchdog_main, d);
	if (r)
		goto out_cond;
	*ret = d;
	return 0;
out_cond:
	pthread_cond_destroy(&d->cond);
out_mutex:
	pthread_mutex_destroy(&d->lock);
out_free:
	free(d);
	return -r;
}

void http_deadlines_free(struct http_deadlines *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

struct http_conn_deadline *http_deadlines_add(struct http_deadlines *d, int fd)
{
	struct http_conn_deadline *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->clock.phase = HTTP_CONN_HEADER;
	pthread_mutex_lock(&d->lock);
	c->clock.deadline_ns = mono_ns() + d->timeout_ns;
	c->next = d->conns;
	if (d->conns)
		d->conns->prev = c;
	d->conns = c;
	pthread_mutex_unlock(&d->lock);
	return c;
}

void http_deadlines_remove(struct http_deadlines *d, struct http_conn_deadline *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&d->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&d->lock);
	free(c);
}

void http_deadlines_answering(struct http_deadlines *d, struct http_conn_deadline *c)
{
	pthread_mutex_lock(&d->lock);
	if (c->clock.phase != HTTP_CONN_CLOSING)
		c->clock.phase = HTTP_CONN_ANSWERING;
	pthread_mutex_unlock(&d->lock);
}

void http_deadlines_idle(struct http_deadlines *d, struct http_conn_deadline *c)
{
	int64_t rx = rx_bytes(c->fd);

	pthread_mutex_lock(&d->lock);
	if (c->clock.phase != HTTP_CONN_CLOSING && rx >= 0) {
		c->clock.phase = HTTP_CONN_IDLE;
		c->clock.rx_bytes = (uint64_t)rx;
	} else if (c->clock.phase != HTTP_CONN_CLOSING) {
		/* Without the byte count the next request's start is unknown: its header is
		 * due within the timeout of this answer's end. */
		c->clock.phase = HTTP_CONN_HEADER;
		c->clock.deadline_ns = mono_ns() + d->timeout_ns;
	}
	pthread_mutex_unlock(&d->lock);
}

uint64_t http_deadlines_cut(const struct http_deadlines *d)
{
	return d ? __atomic_load_n(&d->cut, __ATOMIC_RELAXED) : 0;
}
