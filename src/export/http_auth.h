/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who may talk to the HTTP endpoint (internal to src/export/http*.c): basic
 * auth against the web config's bcrypt hashes, with a cache of successful
 * checks so that a scrape does not cost a bcrypt, and the TLS client
 * certificate policy (client_auth_type).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "export/webconfig.h"

#define HTTP_AUTH_REALM "kepler"

struct http_auth;

/* A copy of users (at least one); NULL with errno set on failure. */
struct http_auth *http_auth_new(const struct web_user *users, size_t n_users);

/* NULL is a no-op. */
void http_auth_free(struct http_auth *a);

/* Whether the request carries basic auth credentials that match a user. */
bool http_auth_request_ok(struct http_auth *a, struct MHD_Connection *c);

/* bcrypt runs so far: credentials that were not in the cache. */
uint64_t http_auth_hash_checks(const struct http_auth *a);

/*
 * On a new TLS connection, before its handshake: what the handshake asks of the
 * client, so a missing or untrusted certificate fails the handshake itself.
 */
void http_client_cert_setup(enum web_client_auth policy, struct MHD_Connection *c);

/* The same policy checked again on the finished session, before a request is answered. */
bool http_client_cert_ok(enum web_client_auth policy, struct MHD_Connection *c);
