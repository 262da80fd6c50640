/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP client the agent's pollers share (the kubelet, the Redfish BMC): one
 * libcurl handle per client, kept across requests so the connection is reused,
 * with connect and total timeouts, TLS verified against the system store or a
 * CA file, a cap on the response body and a stop flag another thread raises to
 * abort a request at once. One thread uses a client at a time (its poller);
 * http_client_stop may come from any thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_client;

struct http_client_opts {
	uint64_t timeout_ms;	     /* a whole request, > 0 */
	uint64_t connect_timeout_ms; /* the connection alone; 0: timeout_ms */
	size_t max_body;	     /* a larger response is refused (-EFBIG), > 0 */
	const char *ca_file;	     /* NULL: libcurl's default store */
	bool insecure;		     /* verify neither the peer's certificate nor its name */
};

/* Response headers a request can ask for (the values come back in http_response). */
#define HTTP_MAX_WANT_HEADERS 2

struct http_request {
	const char *method; /* NULL: GET; "POST", "DELETE" */
	const char *url;
	const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
	const char *body;	    /* the request body (POST); NULL: none */
	const char *username;	    /* basic auth when set, with password */
	const char *password;
	uint64_t timeout_ms;				 /* 0: the client's */
	const char *want_headers[HTTP_MAX_WANT_HEADERS]; /* names, case-insensitive; NULL ends */
};

/* Valid until the client's next request or http_client_drop_body. */
struct http_response {
	long status; /* the HTTP status code */
	const char *body;
	size_t body_len;
	const char *headers[HTTP_MAX_WANT_HEADERS]; /* values of want_headers; NULL: absent */
};

/*
 * -EINVAL (bad options), -ENOMEM, -EIO when libcurl cannot be initialised; err
 * says why.
 */
int http_client_new(struct http_client **ret, const struct http_client_opts *opts, char *err,
		    size_t errsz);
void http_client_free(struct http_client *c);

/*
 * Run one request. 0 when an HTTP answer came, whatever its status (read
 * resp->status); else -ECANCELED (stopped), -EFBIG (body over the cap, never
 * buffered whole), -ETIMEDOUT, -EKEYREJECTED (the peer's certificate did not
 * verify), -EIO (any other transfer failure), -ENOMEM; why says what happened
 * in libcurl's words (never with the credentials or headers of the request).
 */
int http_client_request(struct http_client *c, const struct http_request *rq,
			struct http_response *resp, char *why, size_t whysz);

/* Free the last response's body (a poller that keeps nothing between polls). */
void http_client_drop_body(struct http_client *c);

/* Abort the request in progress and every later one. Any thread. */
void http_client_stop(struct http_client *c);

/* The first bytes of a body, printable ASCII, for an error message ("" when none). */
void http_body_snippet(const char *body, size_t len, char *buf, size_t size);
