// SPDX-License-Identifier: Apache-2.0
#include "export/http.h"

#include <crypt.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <zlib.h>

#include "config.h"
#include "export/webconfig.h"
#include "util/listenaddr.h"
#include "util/timeutil.h"
#include "util/util.h"

/*
 * Level 1: the gzip runs on the collector thread once per interval. On a
 * 460 KB exposition with 2,000 process series, level 1 gave 135 KB in 2.7 ms
 * and level 6 gave 123 KB in 6.9 ms: 10 % larger for less than half the CPU.
 */
#define GZIP_LEVEL 1
#define DEFAULT_MAX_CONNECTIONS 64
#define DEFAULT_CONNECTION_TIMEOUT_S 10
/* A Prometheus server holds one keep-alive connection per target; 16 leaves room for a
 * few scrapers behind one NAT address without letting one client take every slot. */
#define DEFAULT_MAX_CONNECTIONS_PER_IP 16
/* libmicrohttpd's own default: request line and headers up to about half of it. */
#define DEFAULT_REQUEST_MEMORY_LIMIT (32u * 1024)
#define MIN_REQUEST_MEMORY_LIMIT (4u * 1024)

#define AUTH_REALM "kepler"
/* Successful (user, password) checks remembered, so a scrape does not cost a bcrypt. */
#define AUTH_CACHE_SIZE 64
#define AUTH_MAC_LEN 32

#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CONTENT_TYPE_TEXT "text/plain; charset=utf-8"

static const char index_html[] = "<!DOCTYPE html>\n"
				 "<html><head><title>Kepler Exporter</title></head>\n"
				 "<body><h1>Kepler Exporter</h1>\n"
				 "<p><a href=\"metrics\">Metrics</a></p>\n"
				 "<p><a href=\"healthz\">Health</a></p>\n"
				 "</body></html>\n";

/* What /metrics serves: immutable after publish, freed by whoever drops the last reference. */
struct snapshot {
	unsigned refs;
	char *body;
	size_t len;
	unsigned char *gz; /* NULL when compression failed: serve plain */
	size_t gz_len;
};

struct listener {
	struct MHD_Daemon *daemon;
	int fd; /* owned by the daemon once it started */
	int port;
};

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
	size_t next; /* the entry a new success replaces: oldest first */
};

/*
 * A connection whose request is still arriving. libmicrohttpd's connection
 * timeout counts idle time only, so a client that sends one byte a second
 * (slowloris) would hold its slot forever; the reaper thread shuts down a
 * connection whose request line and headers are not in within the timeout.
 */
struct conn_deadline {
	struct conn_deadline *prev, *next;
	int fd;
	uint64_t deadline_ns; /* 0: a request is being answered, no deadline */
};

struct http_server {
	pthread_mutex_t lock; /* guards cur: held for a pointer swap or a reference, no more */
	struct snapshot *cur;
	uint64_t last_publish_ns; /* atomic; meaningful once published is set */
	bool published;		  /* atomic */
	uint64_t stale_after_ns;
	uint64_t requests; /* atomic counters */
	uint64_t errors_4xx;
	uint64_t metrics_scrapes;
	uint64_t auth_failures;
	uint64_t auth_hash_checks;
	struct listener *listeners;
	size_t n_listeners;
	struct http_auth *auth;		  /* NULL: no basic auth */
	enum web_client_auth client_auth; /* with TLS only */
	struct web_header *headers;	  /* extra response headers, copied */
	size_t n_headers;
	/* What the daemons were started with: kept for as long as they run. */
	char *cert_pem;
	char *key_pem;
	char *ca_pem;
	char priorities[128];
	/* Request deadlines (struct conn_deadline): the list and the reaper. */
	pthread_mutex_t conn_lock; /* guards conns, stopping; held across shutdown() */
	pthread_cond_t conn_cond;
	struct conn_deadline *conns;
	bool stopping;
	bool reaper_started;
	pthread_t reaper;
	uint64_t request_timeout_ns;
	uint64_t reap_period_ns;
};

static void snapshot_unref(struct snapshot *snap)
{
	if (!snap || __atomic_sub_fetch(&snap->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	free(snap->body);
	free(snap->gz);
	free(snap);
}

static void snapshot_release_cb(void *cls)
{
	snapshot_unref(cls);
}

/* gzip of body (RFC 1952), or NULL: the plain body is always a valid answer. */
static unsigned char *gzip_body(const char *body, size_t len, size_t *ret_len)
{
	z_stream zs = {0};
	unsigned char *out;
	uLong bound;

	if (len > UINT_MAX)
		return NULL;
	if (deflateInit2(&zs, GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	bound = deflateBound(&zs, (uLong)len);
	out = bound <= UINT_MAX ? malloc(bound) : NULL;
	if (!out) {
		deflateEnd(&zs);
		return NULL;
	}
	zs.next_in = (Bytef *)body;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)bound;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&zs);
		free(out);
		return NULL;
	}
	*ret_len = zs.total_out;
	deflateEnd(&zs);
	return out;
}

void http_server_publish(struct http_server *s, char *body, size_t len, uint64_t now_ns)
{
	struct snapshot *snap, *old;

	if (!s) {
		free(body);
		return;
	}
	snap = calloc(1, sizeof(*snap));
	if (!snap) {
		/* Keep serving the previous body; /healthz goes stale if this persists. */
		free(body);
		return;
	}
	snap->refs = 1;
	snap->body = body;
	snap->len = body ? len : 0;
	snap->gz = gzip_body(body ? body : "", snap->len, &snap->gz_len);

	pthread_mutex_lock(&s->lock);
	old = s->cur;
	s->cur = snap;
	__atomic_store_n(&s->last_publish_ns, now_ns, __ATOMIC_RELEASE);
	__atomic_store_n(&s->published, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&s->lock);
	snapshot_unref(old);
}

static struct snapshot *snapshot_get(struct http_server *s)
{
	struct snapshot *snap;

	pthread_mutex_lock(&s->lock);
	snap = s->cur;
	if (snap)
		__atomic_add_fetch(&snap->refs, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&s->lock);
	return snap;
}

int http_parse_listen_address(const char *s, struct http_listen_addr *ret)
{
	struct http_listen_addr a;
	int r = parse_listen_address(s, a.host, sizeof(a.host), &a.port);

	if (r < 0)
		return -EINVAL;
	*ret = a;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static const char *skip_ows(const char *p)
{
	while (is_ows(*p))
		p++;
	return p;
}

/* RFC 7231 qvalue: "0" ["." 0*3DIGIT] / "1" ["." 0*3("0")], in thousandths; -1 if invalid. */
static int parse_qvalue(const char *p, size_t n)
{
	int q, scale = 100;

	if (n == 0 || (p[0] != '0' && p[0] != '1'))
		return -1;
	q = (p[0] - '0') * 1000;
	if (n == 1)
		return q;
	if (p[1] != '.' || n > 5)
		return -1;
	for (size_t i = 2; i < n; i++, scale /= 10) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		q += (p[i] - '0') * scale;
	}
	return q > 1000 ? -1 : q;
}

bool http_accepts_gzip(const char *h)
{
	int q_gzip = -1, q_star = -1;
	const char *p = h;

	if (!h)
		return false;
	while (*p) {
		const char *coding;
		size_t coding_len;
		int q = 1000;

		p = skip_ows(p);
		coding = p;
		while (*p && *p != ',' && *p != ';' && !is_ows(*p))
			p++;
		coding_len = (size_t)(p - coding);
		/* Parameters: only q matters; a malformed q voids the element. */
		for (p = skip_ows(p); *p == ';'; p = skip_ows(p)) {
			const char *name, *val;
			size_t name_len, val_len;

			name = p = skip_ows(p + 1);
			while (*p && *p != '=' && *p != ',' && *p != ';' && !is_ows(*p))
				p++;
			name_len = (size_t)(p - name);
			p = skip_ows(p);
			if (*p != '=') {
				q = -1;
				continue;
			}
			val = p = skip_ows(p + 1);
			while (*p && *p != ',' && *p != ';' && !is_ows(*p))
				p++;
			val_len = (size_t)(p - val);
			if (name_len == 1 && (name[0] == 'q' || name[0] == 'Q'))
				q = parse_qvalue(val, val_len);
		}
		if (q >= 0 && coding_len > 0) {
			if ((coding_len == 4 && strncasecmp(coding, "gzip", 4) == 0) ||
			    (coding_len == 6 && strncasecmp(coding, "x-gzip", 6) == 0)) {
				if (q > q_gzip)
					q_gzip = q;
			} else if (coding_len == 1 && coding[0] == '*') {
				if (q > q_star)
					q_star = q;
			}
		}
		/* Skip to the next element, whatever garbage is left in this one. */
		while (*p && *p != ',')
			p++;
		if (*p == ',')
			p++;
	}
	if (q_gzip >= 0)
		return q_gzip > 0;
	return q_star > 0;
}

enum http_route http_route(const char *method, const char *url)
{
	static const struct {
		const char *path;
		enum http_route route;
	} routes[] = {
	    {"/", HTTP_ROUTE_INDEX},
	    {"/metrics", HTTP_ROUTE_METRICS},
	    {"/healthz", HTTP_ROUTE_HEALTHZ},
	};
	size_t n;

	if (!method || !url)
		return HTTP_ROUTE_NOT_FOUND;
	n = strcspn(url, "?#");
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		if (strlen(routes[i].path) != n || strncmp(url, routes[i].path, n) != 0)
			continue;
		if (!streq(method, MHD_HTTP_METHOD_GET) && !streq(method, MHD_HTTP_METHOD_HEAD))
			return HTTP_ROUTE_METHOD_NOT_ALLOWED;
		return routes[i].route;
	}
	return HTTP_ROUTE_NOT_FOUND;
}

static void add_extra_headers(const struct http_server *s, struct MHD_Response *resp)
{
	for (size_t i = 0; i < s->n_headers; i++)
		MHD_add_response_header(resp, s->headers[i].name, s->headers[i].value);
}

static enum MHD_Result queue_static(const struct http_server *s, struct MHD_Connection *c,
				    unsigned status, const char *type, const char *body)
{
	struct MHD_Response *resp;
	enum MHD_Result r;

	resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	add_extra_headers(s, resp);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result serve_metrics(struct http_server *s, struct MHD_Connection *c)
{
	struct MHD_Response *resp;
	struct snapshot *snap;
	enum MHD_Result r;
	bool gz;

	snap = snapshot_get(s);
	if (!snap)
		return queue_static(s, c, MHD_HTTP_SERVICE_UNAVAILABLE, CONTENT_TYPE_TEXT,
				    "no metrics published yet\n");
	gz = snap->gz && http_accepts_gzip(MHD_lookup_connection_value(
			     c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING));
	/* MHD calls snapshot_release_cb once it no longer needs the buffer. */
	resp = MHD_create_response_from_buffer_with_free_callback_cls(
	    gz ? snap->gz_len : snap->len,
	    gz ? (void *)snap->gz : (void *)(snap->body ? snap->body : ""), snapshot_release_cb,
	    snap);
	if (!resp) {
		snapshot_unref(snap);
		return MHD_NO;
	}
	add_extra_headers(s, resp);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE_METRICS);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	if (gz)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	r = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	if (r == MHD_YES)
		__atomic_add_fetch(&s->metrics_scrapes, 1, __ATOMIC_RELAXED);
	return r;
}

static enum MHD_Result serve_healthz(struct http_server *s, struct MHD_Connection *c)
{
	bool fresh = false;

	if (__atomic_load_n(&s->published, __ATOMIC_ACQUIRE)) {
		uint64_t last = __atomic_load_n(&s->last_publish_ns, __ATOMIC_ACQUIRE);
		uint64_t now = mono_ns();

		fresh = !s->stale_after_ns || now < last || now - last < s->stale_after_ns;
	}
	if (fresh)
		return queue_static(s, c, MHD_HTTP_OK, CONTENT_TYPE_TEXT, "ok\n");
	return queue_static(s, c, MHD_HTTP_SERVICE_UNAVAILABLE, CONTENT_TYPE_TEXT, "stale\n");
}

/* ---- basic auth ---- */

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
static bool auth_check(struct http_server *s, const char *user, const char *pass)
{
	struct http_auth *a = s->auth;
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
	__atomic_add_fetch(&s->auth_hash_checks, 1, __ATOMIC_RELAXED);
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

static bool authorized(struct http_server *s, struct MHD_Connection *c)
{
	char *user, *pass = NULL;
	bool ok = false;

	user = MHD_basic_auth_get_username_password(c, &pass);
	if (user && pass)
		ok = auth_check(s, user, pass);
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		MHD_free(pass);
	}
	if (user)
		MHD_free(user);
	return ok;
}

static enum MHD_Result queue_unauthorized(struct http_server *s, struct MHD_Connection *c)
{
	static const char body[] = "unauthorized\n";
	struct MHD_Response *resp;
	enum MHD_Result r;

	__atomic_add_fetch(&s->auth_failures, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->errors_4xx, 1, __ATOMIC_RELAXED);
	resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	add_extra_headers(s, resp);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE_TEXT);
	/* Adds WWW-Authenticate: Basic realm="kepler" and answers 401. */
	r = MHD_queue_basic_auth_fail_response(c, AUTH_REALM, resp);
	MHD_destroy_response(resp);
	return r;
}

static struct http_auth *auth_new(const struct web_config *wc)
{
	struct http_auth *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	if (pthread_mutex_init(&a->lock, NULL) != 0) {
		free(a);
		return NULL;
	}
	a->users = calloc(wc->n_users, sizeof(*a->users));
	if (!a->users || gnutls_rnd(GNUTLS_RND_KEY, a->key, sizeof(a->key)) < 0)
		goto fail;
	for (size_t i = 0; i < wc->n_users; i++, a->n_users++) {
		a->users[i].name = strdup(wc->users[i].name);
		a->users[i].hash = strdup(wc->users[i].hash);
		if (!a->users[i].name || !a->users[i].hash) {
			a->n_users++;
			goto fail;
		}
	}
	return a;
fail:
	for (size_t i = 0; i < a->n_users; i++) {
		free(a->users[i].name);
		free(a->users[i].hash);
	}
	free(a->users);
	pthread_mutex_destroy(&a->lock);
	free(a);
	return NULL;
}

static void auth_free(struct http_auth *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_users; i++) {
		free(a->users[i].name);
		free(a->users[i].hash);
	}
	free(a->users);
	pthread_mutex_destroy(&a->lock);
	explicit_bzero(a, sizeof(*a));
	free(a);
}

/* ---- client certificates ---- */

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

/* ---- request deadlines ---- */

/* Registers a new connection with the reaper; its request must be in by now + timeout. */
static struct conn_deadline *deadline_add(struct http_server *s, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info;
	struct conn_deadline *d;

	info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!info)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL; /* no deadline for this one: the idle timeout still applies */
	d->fd = info->connect_fd;
	pthread_mutex_lock(&s->conn_lock);
	d->deadline_ns = mono_ns() + s->request_timeout_ns;
	d->next = s->conns;
	if (s->conns)
		s->conns->prev = d;
	s->conns = d;
	pthread_mutex_unlock(&s->conn_lock);
	return d;
}

/*
 * Called before libmicrohttpd closes the socket: once removed, the reaper can
 * no longer touch the descriptor, so a number reused meanwhile is never shut down.
 */
static void deadline_remove(struct http_server *s, struct conn_deadline *d)
{
	pthread_mutex_lock(&s->conn_lock);
	if (d->prev)
		d->prev->next = d->next;
	else
		s->conns = d->next;
	if (d->next)
		d->next->prev = d->prev;
	pthread_mutex_unlock(&s->conn_lock);
	free(d);
}

/* A request is being answered (no deadline), or the next one on this connection starts. */
static void deadline_set(struct http_server *s, struct MHD_Connection *c, bool answering)
{
	const union MHD_ConnectionInfo *info;
	struct conn_deadline *d;

	info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (!info || !info->socket_context)
		return;
	d = info->socket_context;
	pthread_mutex_lock(&s->conn_lock);
	d->deadline_ns = answering ? 0 : mono_ns() + s->request_timeout_ns;
	pthread_mutex_unlock(&s->conn_lock);
}

static void request_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	(void)con_cls;
	(void)toe;
	deadline_set(cls, c, false);
}

/* Shuts down connections past their deadline; libmicrohttpd then sees EOF and closes them. */
static void *reaper_main(void *arg)
{
	struct http_server *s = arg;
	struct timespec ts;

	pthread_mutex_lock(&s->conn_lock);
	while (!s->stopping) {
		uint64_t now = mono_ns(), wake = now + s->reap_period_ns;

		for (struct conn_deadline *d = s->conns; d; d = d->next)
			if (d->deadline_ns && now >= d->deadline_ns) {
				shutdown(d->fd, SHUT_RDWR);
				d->deadline_ns = 0;
			}
		ts.tv_sec = (time_t)(wake / NSEC_PER_SEC);
		ts.tv_nsec = (long)(wake % NSEC_PER_SEC);
		pthread_cond_timedwait(&s->conn_cond, &s->conn_lock, &ts);
	}
	pthread_mutex_unlock(&s->conn_lock);
	return NULL;
}

static int reaper_start(struct http_server *s)
{
	pthread_condattr_t ca;
	int r;

	r = pthread_condattr_init(&ca);
	if (r)
		return -r;
	r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (!r)
		r = pthread_cond_init(&s->conn_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (r)
		return -r;
	r = pthread_create(&s->reaper, NULL, reaper_main, s);
	if (r) {
		pthread_cond_destroy(&s->conn_cond);
		return -r;
	}
	s->reaper_started = true;
	return 0;
}

static void reaper_stop(struct http_server *s)
{
	if (!s->reaper_started)
		return;
	pthread_mutex_lock(&s->conn_lock);
	s->stopping = true;
	pthread_cond_signal(&s->conn_cond);
	pthread_mutex_unlock(&s->conn_lock);
	pthread_join(s->reaper, NULL);
	pthread_cond_destroy(&s->conn_cond);
	s->reaper_started = false;
}

/*
 * Percent-decoding as libmicrohttpd's own, except that %00 stays as it is: a
 * decoded NUL would end the path early, so "/metrics%00.txt" would route as
 * "/metrics". Never lengthens s.
 */
static size_t unescape_keep_nul(void *cls, struct MHD_Connection *c, char *s)
{
	char *w = s;

	(void)cls;
	(void)c;
	for (const char *r = s; *r;) {
		int hi, lo;

		if (r[0] == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0 &&
		    (hi || lo)) {
			*w++ = (char)(hi << 4 | lo);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/*
 * On a new connection: registers its request deadline and, with TLS, sets
 * what the handshake asks of the client before it starts, so a missing or
 * untrusted certificate fails the handshake itself, as in Go. libmicrohttpd
 * alone would only ask for one (with a trust list) and let every handshake
 * through. On close: drops the deadline.
 */
static void notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			      enum MHD_ConnectionNotificationCode code)
{
	struct http_server *s = cls;
	const union MHD_ConnectionInfo *info;
	gnutls_session_t session;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (*socket_context)
			deadline_remove(s, *socket_context);
		*socket_context = NULL;
		return;
	}
	if (code != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	*socket_context = deadline_add(s, c);
	if (s->client_auth == WEB_CLIENT_AUTH_NONE)
		return;
	info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!info || !info->tls_session)
		return;
	session = (gnutls_session_t)info->tls_session;
	switch (s->client_auth) {
	case WEB_CLIENT_AUTH_REQUIRE_ANY:
	case WEB_CLIENT_AUTH_REQUIRE_AND_VERIFY:
		gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
		break;
	default:
		gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUEST);
		break;
	}
	if (s->client_auth == WEB_CLIENT_AUTH_VERIFY_IF_GIVEN ||
	    s->client_auth == WEB_CLIENT_AUTH_REQUIRE_AND_VERIFY)
		gnutls_session_set_verify_function(session, verify_client_cert);
}

/*
 * The same policy checked again on the finished session, so a request is
 * never served on a connection the handshake should have refused.
 */
static bool client_cert_ok(const struct http_server *s, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info;
	gnutls_session_t session;
	unsigned n = 0, status = 0;
	bool given;

	if (s->client_auth == WEB_CLIENT_AUTH_NONE || s->client_auth == WEB_CLIENT_AUTH_REQUEST)
		return true;
	info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!info || !info->tls_session)
		return false;
	session = (gnutls_session_t)info->tls_session;
	given = gnutls_certificate_get_peers(session, &n) && n > 0;
	switch (s->client_auth) {
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

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;

	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;

	/* Every route answers on the first call; a request body, if any, is never read. */
	__atomic_add_fetch(&s->requests, 1, __ATOMIC_RELAXED);
	deadline_set(s, c, true);
	if (!client_cert_ok(s, c))
		return MHD_NO; /* closes the connection: no answer without the certificate */
	/* RFC 9112 section 3.2: an HTTP/1.1 request without Host is answered 400. */
	if (version && streq(version, MHD_HTTP_VERSION_1_1) &&
	    !MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST)) {
		__atomic_add_fetch(&s->errors_4xx, 1, __ATOMIC_RELAXED);
		return queue_static(s, c, MHD_HTTP_BAD_REQUEST, CONTENT_TYPE_TEXT,
				    "missing Host header\n");
	}
	if (s->auth && !authorized(s, c))
		return queue_unauthorized(s, c);
	switch (http_route(method, url)) {
	case HTTP_ROUTE_METRICS:
		return serve_metrics(s, c);
	case HTTP_ROUTE_HEALTHZ:
		return serve_healthz(s, c);
	case HTTP_ROUTE_INDEX:
		return queue_static(s, c, MHD_HTTP_OK, "text/html; charset=utf-8", index_html);
	case HTTP_ROUTE_METHOD_NOT_ALLOWED:
		__atomic_add_fetch(&s->errors_4xx, 1, __ATOMIC_RELAXED);
		return queue_static(s, c, MHD_HTTP_METHOD_NOT_ALLOWED, CONTENT_TYPE_TEXT,
				    "method not allowed\n");
	case HTTP_ROUTE_NOT_FOUND:
	default:
		__atomic_add_fetch(&s->errors_4xx, 1, __ATOMIC_RELAXED);
		return queue_static(s, c, MHD_HTTP_NOT_FOUND, CONTENT_TYPE_TEXT, "not found\n");
	}
}

static int listen_on(const struct sockaddr *sa, socklen_t sa_len, bool dual_stack)
{
	_cleanup_close_ int fd = -1;
	int one = 1, zero = 0;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Restart-friendly: lets us bind while old connections sit in TIME_WAIT. It does
	 * not let two listeners share a port (that is SO_REUSEPORT). */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return -errno;
	if (sa->sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual_stack ? &zero : &one, sizeof(int)) < 0)
		return -errno;
	if (bind(fd, sa, sa_len) < 0)
		return -errno;
	if (listen(fd, SOMAXCONN) < 0)
		return -errno;
	return TAKE_FD(fd);
}

/* Binds one address; on failure -errno and a message naming the address. */
static int open_listener(const char *spec, int *ret_fd, char *err, size_t errsz)
{
	struct http_listen_addr a;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char port[8];
	int fd, r;

	if (http_parse_listen_address(spec, &a) < 0) {
		snprintf(err, errsz,
			 "web.listen-address %s: invalid address (want host:port, :port or "
			 "[ipv6]:port)",
			 spec ? spec : "(null)");
		return -EINVAL;
	}
	if (!a.host[0]) {
		/* Every address: one dual-stack socket, or IPv4 alone where IPv6 is missing. */
		struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6,
					    .sin6_port = htons(a.port),
					    .sin6_addr = IN6ADDR_ANY_INIT};
		struct sockaddr_in sin = {.sin_family = AF_INET,
					  .sin_port = htons(a.port),
					  .sin_addr.s_addr = htonl(INADDR_ANY)};

		fd = listen_on((struct sockaddr *)&sin6, sizeof(sin6), true);
		if (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL)
			fd = listen_on((struct sockaddr *)&sin, sizeof(sin), false);
	} else {
		snprintf(port, sizeof(port), "%u", a.port);
		r = getaddrinfo(a.host, port, &hints, &res);
		if (r != 0) {
			snprintf(err, errsz, "web.listen-address %s: %s", spec,
				 r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
			return -EADDRNOTAVAIL;
		}
		fd = -EADDRNOTAVAIL;
		/* The first address that binds wins, as a client would try them in order.
		 * "[::]" is every address, like ":port" (and like Go); "0.0.0.0" stays IPv4. */
		for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ai->ai_addr;
			bool any6 =
			    ai->ai_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);

			fd = listen_on(ai->ai_addr, ai->ai_addrlen, any6);
			if (fd >= 0)
				break;
		}
		freeaddrinfo(res);
	}
	if (fd < 0) {
		snprintf(err, errsz, "web.listen-address %s: %s", spec, strerror(-fd));
		return fd;
	}
	*ret_fd = fd;
	return 0;
}

static int bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int bound_family(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return AF_UNSPEC;
	return ss.ss_family;
}

/*
 * Whether a failed MHD_start_daemon() closed the listen socket it was given
 * depends on where it failed; close it only if the descriptor still refers to
 * our socket, so a number reused meanwhile is never closed by mistake.
 */
static void close_if_same_socket(int fd, const struct stat *before)
{
	struct stat now;

	if (fstat(fd, &now) == 0 && now.st_dev == before->st_dev && now.st_ino == before->st_ino)
		close(fd);
}

static char *dup_or_null(const char *p, bool *oom)
{
	char *d;

	if (!p)
		return NULL;
	d = strdup(p);
	if (!d)
		*oom = true;
	return d;
}

/* Copies what the server needs of the web config; the caller's copy may go away. */
static int apply_web_config(struct http_server *s, const struct web_config *wc, char *err,
			    size_t errsz)
{
	bool oom = false;
	int r;

	if (wc->n_users) {
		s->auth = auth_new(wc);
		if (!s->auth)
			oom = true;
	}
	if (wc->n_headers) {
		s->headers = calloc(wc->n_headers, sizeof(*s->headers));
		if (!s->headers)
			oom = true;
		for (size_t i = 0; s->headers && i < wc->n_headers; i++, s->n_headers++) {
			s->headers[i].name = dup_or_null(wc->headers[i].name, &oom);
			s->headers[i].value = dup_or_null(wc->headers[i].value, &oom);
		}
	}
	if (wc->tls) {
		if (!wc->cert_pem || !wc->key_pem || (wc->client_ca_file && !wc->client_ca_pem)) {
			snprintf(err, errsz, "web.configFile: certificate files not loaded");
			return -EINVAL;
		}
		s->cert_pem = dup_or_null(wc->cert_pem, &oom);
		s->key_pem = dup_or_null(wc->key_pem, &oom);
		s->ca_pem = dup_or_null(wc->client_ca_pem, &oom);
		s->client_auth = wc->client_auth;
		r = webconfig_tls_priorities(wc->min_version, wc->max_version, s->priorities,
					     sizeof(s->priorities));
		if (r < 0) {
			snprintf(err, errsz,
				 "web.configFile: tls_server_config: bad min_version or "
				 "max_version");
			return r;
		}
	}
	if (oom) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int http_server_new(struct http_server **ret, const struct http_options *opt, char *err,
		    size_t errsz)
{
	struct http_server *s;
	unsigned max_conn, timeout_s, per_ip;
	size_t mem_limit;
	int r;

	if (errsz)
		err[0] = '\0';
	if (!ret || !opt || !opt->n_listen || !opt->listen) {
		snprintf(err, errsz, "web.listen-address: none given");
		return -EINVAL;
	}
	max_conn = opt->max_connections ? opt->max_connections : DEFAULT_MAX_CONNECTIONS;
	timeout_s =
	    opt->connection_timeout_s ? opt->connection_timeout_s : DEFAULT_CONNECTION_TIMEOUT_S;
	per_ip = opt->max_connections_per_ip ? opt->max_connections_per_ip
					     : DEFAULT_MAX_CONNECTIONS_PER_IP;
	mem_limit =
	    opt->request_memory_limit ? opt->request_memory_limit : DEFAULT_REQUEST_MEMORY_LIMIT;
	if (mem_limit < MIN_REQUEST_MEMORY_LIMIT)
		mem_limit = MIN_REQUEST_MEMORY_LIMIT;
	if (opt->web && opt->web->tls && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		snprintf(err, errsz, "web.configFile: this libmicrohttpd is built without TLS");
		return -EOPNOTSUPP;
	}

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->listeners = calloc(opt->n_listen, sizeof(*s->listeners));
	if (!s->listeners) {
		free(s);
		return -ENOMEM;
	}
	r = pthread_mutex_init(&s->lock, NULL);
	if (r) {
		free(s->listeners);
		free(s);
		return -r;
	}
	r = pthread_mutex_init(&s->conn_lock, NULL);
	if (r) {
		pthread_mutex_destroy(&s->lock);
		free(s->listeners);
		free(s);
		return -r;
	}
	s->stale_after_ns = opt->stale_after_ns;
	s->request_timeout_ns = (uint64_t)timeout_s * NSEC_PER_SEC;
	/* Cut within an eighth of the timeout, waking at most ten times a second. */
	s->reap_period_ns = s->request_timeout_ns / 8;
	if (s->reap_period_ns < NSEC_PER_SEC / 10)
		s->reap_period_ns = NSEC_PER_SEC / 10;
	if (s->reap_period_ns > NSEC_PER_SEC)
		s->reap_period_ns = NSEC_PER_SEC;
	r = reaper_start(s);
	if (r < 0) {
		snprintf(err, errsz, "web: cannot start the request timeout thread: %s",
			 strerror(-r));
		goto fail;
	}
	if (opt->web) {
		r = apply_web_config(s, opt->web, err, errsz);
		if (r < 0)
			goto fail;
	}

	for (size_t i = 0; i < opt->n_listen; i++) {
		struct listener *l = &s->listeners[i];
		unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
		struct MHD_OptionItem mo[12];
		size_t n = 0;
		struct stat st;
		int fd;

		r = open_listener(opt->listen[i], &fd, err, errsz);
		if (r < 0)
			goto fail;
		l->port = bound_port(fd);
		if (fstat(fd, &st) < 0) {
			r = -errno;
			close(fd);
			snprintf(err, errsz, "web.listen-address %s: %s", opt->listen[i],
				 strerror(-r));
			goto fail;
		}
		if (bound_family(fd) == AF_INET6)
			flags |= MHD_USE_IPv6;
		mo[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, fd, NULL};
		mo[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, max_conn, NULL};
		mo[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, NULL};
		mo[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, NULL};
		mo[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
						  (intptr_t)mem_limit, NULL};
		if (s->cert_pem) {
			flags |= MHD_USE_TLS;
			mo[n++] =
			    (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert_pem};
			mo[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->key_pem};
			mo[n++] =
			    (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, s->priorities};
			if (s->ca_pem)
				mo[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0,
								  s->ca_pem};
		}
		mo[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
		/* One epoll thread per address: a scrape is a memory copy, nothing blocks. */
		errno = 0;
		l->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, s, MHD_OPTION_ARRAY, mo,
					     MHD_OPTION_NOTIFY_CONNECTION, notify_connection, s,
					     MHD_OPTION_NOTIFY_COMPLETED, request_completed, s,
					     MHD_OPTION_UNESCAPE_CALLBACK, unescape_keep_nul, NULL,
					     MHD_OPTION_END);
		if (!l->daemon) {
			r = errno ? -errno : -EIO;
			close_if_same_socket(fd, &st);
			snprintf(err, errsz, "web.listen-address %s: cannot start HTTP server: %s",
				 opt->listen[i], strerror(-r));
			goto fail;
		}
		s->n_listeners++;
	}
	*ret = s;
	return 0;
fail:
	http_server_free(s);
	return r;
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	/* Stopping a daemon closes its listen socket and releases what its responses held. */
	for (size_t i = 0; i < s->n_listeners; i++)
		MHD_stop_daemon(s->listeners[i].daemon);
	/* After the daemons: every connection is closed, the list is empty. */
	reaper_stop(s);
	snapshot_unref(s->cur);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->conn_lock);
	free(s->listeners);
	auth_free(s->auth);
	for (size_t i = 0; i < s->n_headers; i++) {
		free(s->headers[i].name);
		free(s->headers[i].value);
	}
	free(s->headers);
	free(s->cert_pem);
	if (s->key_pem) {
		explicit_bzero(s->key_pem, strlen(s->key_pem));
		free(s->key_pem);
	}
	free(s->ca_pem);
	free(s);
}

void http_server_stats(const struct http_server *s, struct http_stats *ret)
{
	ret->requests = __atomic_load_n(&s->requests, __ATOMIC_RELAXED);
	ret->errors_4xx = __atomic_load_n(&s->errors_4xx, __ATOMIC_RELAXED);
	ret->metrics_scrapes = __atomic_load_n(&s->metrics_scrapes, __ATOMIC_RELAXED);
	ret->auth_failures = __atomic_load_n(&s->auth_failures, __ATOMIC_RELAXED);
	ret->auth_hash_checks = __atomic_load_n(&s->auth_hash_checks, __ATOMIC_RELAXED);
}

int http_server_port(const struct http_server *s, size_t i)
{
	if (!s || i >= s->n_listeners)
		return -EINVAL;
	return s->listeners[i].port;
}
