// SPDX-License-Identifier: Apache-2.0
#include "export/http_auth.h"

#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "util/util.h"

/* Successful (user, password) checks remembered, so a scrape does not cost a bcrypt. */
#define AUTH_CACHE_SIZE 64
#define AUTH_MAC_LEN 32

struct auth_cache_entry {
	bool used;
	unsigned char mac[AUTH_MAC_LEN]; /* HMAC-SHA256(key, user "\0" password) */
};

/* basic_auth_users, copied from the web config. */
struct http_auth {
	struct web_user *users;
	size_t n_users;
	unsigned char key[AUTH_MAC_LEN]; /* random per server: the cache holds no plain hash */
	pthread_mutex_t lock;		 /* guards cache and next */
	struct auth_cache_entry cache[AUTH_CACHE_SIZE];
	size_t next;	      /* the entry a new success replaces: oldest first */
	uint64_t hash_checks; /* atomic */
};

static bool ct_equal(const unsigned char *a, const unsigned char *b, size_t n)
{
	unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

/* Equal strings, in time that depends on the lengths only. */
static bool ct_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return la == lb && ct_equal((const unsigned char *)a, (const unsigned char *)b, la);
}

static int auth_mac(const struct http_auth *a, const char *user, const char *pass,
		    unsigned char *ret)
{
	gnutls_hmac_hd_t h;
	int r;

	r = gnutls_hmac_init(&h, GNUTLS_MAC_SHA256, a->key, sizeof(a->key));
	if (r < 0)
		return -ENOMEM;
	r = gnutls_hmac(h, user, strlen(user) + 1);
	if (r == 0)
		r = gnutls_hmac(h, pass, strlen(pass));
	gnutls_hmac_deinit(h, ret);
	return r < 0 ? -EIO : 0;
}

static bool auth_cache_find(struct http_auth *a, const unsigned char *mac)
{
	bool hit = false;

	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < AUTH_CACHE_SIZE; i++)
		hit |= a->cache[i].used && ct_equal(a->cache[i].mac, mac, AUTH_MAC_LEN);
	pthread_mutex_unlock(&a->lock);
	return hit;
}

static void auth_cache_add(struct http_auth *a, const unsigned char *mac)
{
	pthread_mutex_lock(&a->lock);
	a->cache[a->next].used = true;
	memcpy(a->cache[a->next].mac, mac, AUTH_MAC_LEN);
	a->next = (a->next + 1) % AUTH_CACHE_SIZE;
	pthread_mutex_unlock(&a->lock);
}

/* Whether user and pass match basic_auth_users: the cache first, then bcrypt. */
static bool auth_check(struct http_auth *a, const char *user, const char *pass)
{
	unsigned char mac[AUTH_MAC_LEN];
	const struct web_user *u = NULL;
	struct crypt_data *cd;
	bool have_mac, ok = false;
	const char *out;

	have_mac = auth_mac(a, user, pass, mac) == 0;
	if (have_mac && auth_cache_find(a, mac))
		return true;
	for (size_t i = 0; i < a->n_users; i++)
		if (streq(a->users[i].name, user))
			u = &a->users[i];
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return false;
	/* An unknown user costs a bcrypt too, so timing does not tell which users exist. */
	__atomic_add_fetch(&a->hash_checks, 1, __ATOMIC_RELAXED);
	out = crypt_rn(pass, u ? u->hash : a->users[0].hash, cd, (int)sizeof(*cd));
	if (u && out && ct_streq(out, u->hash))
		ok = true;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	if (ok && have_mac)
		auth_cache_add(a, mac);
	explicit_bzero(mac, sizeof(mac));
	return ok;
}

bool http_auth_request_ok(struct http_auth *a, struct MHD_Connection *c)
{
	char *user, *pass = NULL;
	bool ok = false;

	user = MHD_basic_auth_get_username_password(c, &pass);
	if (user && pass)
		ok = auth_check(a, user, pass);
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		MHD_free(pass);
	}
	if (user)
		MHD_free(user);
	return ok;
}

uint64_t http_auth_hash_checks(const struct http_auth *a)
{
	return a ? __atomic_load_n(&a->hash_checks, __ATOMIC_RELAXED) : 0;
}

static void free_users(struct web_user *users, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(users[i].name);
		free(users[i].hash);
	}
	free(users);
}

struct http_auth *http_auth_new(const struct web_user *users, size_t n_users)
{
	struct http_auth *a;
	int r;

	if (!n_users) {
		errno = EINVAL;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	r = pthread_mutex_init(&a->lock, NULL);
	if (r) {
		free(a);
		errno = r;
		return NULL;
	}
	a->users = calloc(n_users, sizeof(*a->users));
	if (!a->users)
		goto fail;
	if (gnutls_rnd(GNUTLS_RND_KEY, a->key, sizeof(a->key)) < 0) {
		errno = EIO;
		goto fail;
	}
	for (size_t i = 0; i < n_users; i++, a->n_users++) {
		a->users[i].name = strdup(users[i].name);
		a->users[i].hash = strdup(users[i].hash);
		if (!a->users[i].name || !a->users[i].hash) {
			a->n_users++;
			errno = ENOMEM;
			goto fail;
		}
	}
	return a;
fail:
	free_users(a->users, a->n_users);
	pthread_mutex_destroy(&a->lock);
	free(a);
	return NULL;
}

void http_auth_free(struct http_auth *a)
{
	if (!a)
		return;
	free_users(a->users, a->n_users);
	pthread_mutex_destroy(&a->lock);
	explicit_bzero(a, sizeof(*a));
	free(a);
}

/* Fails the handshake on a client certificate that does not verify against client_ca_file. */
static int verify_client_cert(gnutls_session_t session)
{
	unsigned n = 0, status = 0;

	/* No certificate: GNUTLS_CERT_REQUIRE already refused it where one is needed. */
	if (!gnutls_certificate_get_peers(session, &n) || n == 0)
		return 0;
	if (gnutls_certificate_verify_peers2(session, &status) < 0 || status != 0)
		return GNUTLS_E_CERTIFICATE_ERROR;
	return 0;
}

static gnutls_session_t tls_session(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info;

	info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	return info ? (gnutls_session_t)info->tls_session : NULL;
}

/*
 * libmicrohttpd alone would only ask for a certificate (with a trust list) and
 * let every handshake through; this makes the handshake refuse, as in Go.
 */
void http_client_cert_setup(enum web_client_auth policy, struct MHD_Connection *c)
{
	gnutls_session_t session;

	if (policy == WEB_CLIENT_AUTH_NONE)
		return;
	session = tls_session(c);
	if (!session)
		return;
	switch (policy) {
	case WEB_CLIENT_AUTH_REQUIRE_ANY:
	case WEB_CLIENT_AUTH_REQUIRE_AND_VERIFY:
		gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
		break;
	default:
		gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUEST);
		break;
	}
	if (policy == WEB_CLIENT_AUTH_VERIFY_IF_GIVEN ||
	    policy == WEB_CLIENT_AUTH_REQUIRE_AND_VERIFY)
		gnutls_session_set_verify_function(session, verify_client_cert);
}

bool http_client_cert_ok(enum web_client_auth policy, struct MHD_Connection *c)
{
	gnutls_session_t session;
	unsigned n = 0, status = 0;
	bool given;

	if (policy == WEB_CLIENT_AUTH_NONE || policy == WEB_CLIENT_AUTH_REQUEST)
		return true;
	session = tls_session(c);
	if (!session)
		return false;
	given = gnutls_certificate_get_peers(session, &n) && n > 0;
	switch (policy) {
	case WEB_CLIENT_AUTH_REQUIRE_ANY:
		return given;
	case WEB_CLIENT_AUTH_VERIFY_IF_GIVEN:
		return !given ||
		       (gnutls_certificate_verify_peers2(session, &status) == 0 && status == 0);
	case WEB_CLIENT_AUTH_REQUIRE_AND_VERIFY:
		return given && gnutls_certificate_verify_peers2(session, &status) == 0 &&
		       status == 0;
	default:
		return false;
	}
}
