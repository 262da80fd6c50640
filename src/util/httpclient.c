// SPDX-License-Identifier: Apache-2.0
/*
 * The shared HTTP client: an easy handle run on a multi handle, so that
 * curl_multi_wakeup from http_client_stop interrupts a request that waits on a
 * slow server.
 */
#include "util/httpclient.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/errf.h"
#include "util/util.h"

struct http_client {
	struct http_client_opts opts;
	char *ca_file;
	CURLM *multi;
	CURL *easy;
	atomic_bool stop;

	/* The request in progress and its response. */
	const struct http_request *rq;
	char *body;
	size_t body_len;
	size_t body_cap;
	bool body_too_big;
	char *headers[HTTP_MAX_WANT_HEADERS];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (curl_init_result == CURLE_OK)
		atexit(curl_global_cleanup);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct http_client *c = userdata;
	size_t n = size * nmemb;

	if (n > c->opts.max_body - c->body_len) {
		c->body_too_big = true;
		return 0; /* aborts the transfer */
	}
	if (c->body_len + n + 1 > c->body_cap) {
		size_t cap = c->body_cap ? c->body_cap : 16 * 1024;
		char *nb;

		while (cap < c->body_len + n + 1)
			cap *= 2;
		nb = realloc(c->body, cap);
		if (!nb)
			return 0;
		c->body = nb;
		c->body_cap = cap;
	}
	memcpy(c->body + c->body_len, data, n);
	c->body_len += n;
	c->body[c->body_len] = '\0';
	return n;
}

static void clear_headers(struct http_client *c)
{
	for (size_t i = 0; i < HTTP_MAX_WANT_HEADERS; i++) {
		if (c->headers[i])
			explicit_bzero(c->headers[i], strlen(c->headers[i])); /* tokens */
		free(c->headers[i]);
		c->headers[i] = NULL;
	}
}

/* One header line at a time; keeps the values of the names the request wants. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct http_client *c = userdata;
	size_t n = size * nmemb;
	const char *colon = memchr(data, ':', n);

	/* A new status line (after "100 Continue"): the headers before it do not count. */
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0)
		clear_headers(c);
	if (!colon || !c->rq)
		return n;
	for (size_t i = 0; i < HTTP_MAX_WANT_HEADERS && c->rq->want_headers[i]; i++) {
		const char *name = c->rq->want_headers[i], *v = colon + 1, *e = data + n;

		if ((size_t)(colon - data) != strlen(name) || strncasecmp(data, name, strlen(name)))
			continue;
		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
			e--;
		free(c->headers[i]);
		c->headers[i] = strndup(v, (size_t)(e - v));
		if (!c->headers[i])
			return 0;
	}
	return n;
}

/* Run the easy handle on the multi handle until done or stopped. */
static CURLcode perform(struct http_client *c, bool *ret_stopped)
{
	CURLcode res = CURLE_OK;
	int running = 1;
	bool done = false;

	*ret_stopped = false;
	if (curl_multi_add_handle(c->multi, c->easy) != CURLM_OK)
		return CURLE_OUT_OF_MEMORY;
	while (!done) {
		CURLMsg *msg;
		int left;

		if (atomic_load(&c->stop)) {
			*ret_stopped = true;
			break;
		}
		if (curl_multi_perform(c->multi, &running) != CURLM_OK) {
			res = CURLE_RECV_ERROR;
			break;
		}
		while ((msg = curl_multi_info_read(c->multi, &left)))
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == c->easy) {
				res = msg->data.result;
				done = true;
			}
		if (!done && running == 0) {
			res = CURLE_RECV_ERROR; /* finished without a message: should not happen */
			break;
		}
		if (!done)
			curl_multi_poll(c->multi, NULL, 0, 1000, NULL);
	}
	curl_multi_remove_handle(c->multi, c->easy);
	return res;
}

static void free_slist_zeroed(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data)); /* bearer tokens, session tokens */
	curl_slist_free_all(l);
}

int http_client_request(struct http_client *c, const struct http_request *rq,
			struct http_response *resp, char *why, size_t whysz)
{
	char cerr[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	uint64_t timeout = rq->timeout_ms ? rq->timeout_ms : c->opts.timeout_ms;
	const char *method = rq->method ? rq->method : "GET";
	bool stopped;
	CURLcode res;
	long code = 0;
	int r = 0;

	*resp = (struct http_response){0};
	hdrs = curl_slist_append(NULL, "Accept: application/json");
	for (size_t i = 0; hdrs && rq->headers && rq->headers[i]; i++) {
		struct curl_slist *h = curl_slist_append(hdrs, rq->headers[i]);

		if (!h) {
			free_slist_zeroed(hdrs);
			hdrs = NULL;
		}
		hdrs = h;
	}
	if (!hdrs) {
		errf(why, whysz, 0, "out of memory");
		return -ENOMEM;
	}
	if (curl_easy_setopt(c->easy, CURLOPT_URL, rq->url) != CURLE_OK) {
		free_slist_zeroed(hdrs);
		errf(why, whysz, 0, "not a URL libcurl takes");
		return -EINVAL;
	}
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, (long)timeout);
	if (streq(method, "GET")) {
		curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
	} else if (streq(method, "POST")) {
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
	} else {
		curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, method);
	}
	if (rq->username) {
		curl_easy_setopt(c->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c->easy, CURLOPT_USERNAME, rq->username);
		curl_easy_setopt(c->easy, CURLOPT_PASSWORD, rq->password ? rq->password : "");
	}
	c->rq = rq;
	c->body_len = 0;
	c->body_too_big = false;
	clear_headers(c);
	res = perform(c, &stopped);
	c->rq = NULL;
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
	/* Nothing of this request may leak into the next one. */
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(c->easy, CURLOPT_USERNAME, NULL);
	curl_easy_setopt(c->easy, CURLOPT_PASSWORD, NULL);
	curl_easy_setopt(c->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_NONE);
	free_slist_zeroed(hdrs);

	if (stopped) {
		errf(why, whysz, 0, "stopped");
		r = -ECANCELED;
	} else if (c->body_too_big || res == CURLE_FILESIZE_EXCEEDED) {
		errf(why, whysz, 0, "response larger than %zu bytes", c->opts.max_body);
		r = -EFBIG;
	} else if (res == CURLE_OPERATION_TIMEDOUT) {
		errf(why, whysz, 0, "no answer within %" PRIu64 " ms", timeout);
		r = -ETIMEDOUT;
	} else if (res == CURLE_PEER_FAILED_VERIFICATION || res == CURLE_SSL_CACERT_BADFILE) {
		errf(why, whysz, 0, "%s", cerr[0] ? cerr : curl_easy_strerror(res));
		r = -EKEYREJECTED;
	} else if (res != CURLE_OK) {
		errf(why, whysz, 0, "%s", cerr[0] ? cerr : curl_easy_strerror(res));
		r = res == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EIO;
	}
	if (r < 0) {
		clear_headers(c);
		return r;
	}
	resp->status = code;
	resp->body = c->body ? c->body : "";
	resp->body_len = c->body_len;
	for (size_t i = 0; i < HTTP_MAX_WANT_HEADERS; i++)
		resp->headers[i] = c->headers[i];
	return 0;
}

void http_client_drop_body(struct http_client *c)
{
	free(c->body);
	c->body = NULL;
	c->body_len = c->body_cap = 0;
}

void http_client_stop(struct http_client *c)
{
	atomic_store(&c->stop, true);
	curl_multi_wakeup(c->multi);
}

void http_body_snippet(const char *body, size_t len, char *buf, size_t size)
{
	size_t m = len < size - 1 ? len : size - 1;

	for (size_t i = 0; i < m; i++)
		buf[i] = (body[i] >= 0x20 && body[i] < 0x7f) ? body[i] : ' ';
	buf[m] = '\0';
	while (m > 0 && buf[m - 1] == ' ')
		buf[--m] = '\0';
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	if (c->easy)
		curl_easy_cleanup(c->easy);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	clear_headers(c);
	free(c->body);
	free(c->ca_file);
	free(c);
}

int http_client_new(struct http_client **ret, const struct http_client_opts *opts, char *err,
		    size_t errsz)
{
	uint64_t connect_ms =
	    opts->connect_timeout_ms ? opts->connect_timeout_ms : opts->timeout_ms;
	struct http_client *c;
	CURL *e;

	if (opts->timeout_ms == 0 || opts->timeout_ms > LONG_MAX || connect_ms > LONG_MAX ||
	    opts->max_body == 0) {
		errf(err, errsz, 0, "bad HTTP client options");
		return -EINVAL;
	}
	pthread_once(&curl_once, curl_init);
	if (curl_init_result != CURLE_OK) {
		errf(err, errsz, 0, "libcurl: %s", curl_easy_strerror(curl_init_result));
		return -EIO;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->opts = *opts;
	if (opts->ca_file) {
		c->ca_file = strdup(opts->ca_file);
		if (!c->ca_file) {
			http_client_free(c);
			return -ENOMEM;
		}
	}
	c->opts.ca_file = c->ca_file;
	c->multi = curl_multi_init();
	c->easy = e = curl_easy_init();
	if (!c->multi || !e) {
		http_client_free(c);
		errf(err, errsz, 0, "cannot initialise libcurl");
		return -ENOMEM;
	}
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)opts->timeout_ms);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)opts->max_body);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* the size cap applies after decoding */
	curl_easy_setopt(e, CURLOPT_USERAGENT, "kepler/" KEPLER_VERSION);
	/* A redirect could carry credentials elsewhere: never followed. */
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	if (opts->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (c->ca_file) {
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	}
	*ret = c;
	return 0;
}
