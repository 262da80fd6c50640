// SPDX-License-Identifier: Apache-2.0
#include "export/http.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>
#include <zlib.h>

#include "config.h"
#include "export/http_auth.h"
#include "export/http_deadline.h"
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
/*
 * A connection whose header is not in within the header timeout is cut, so a
 * slow client holds its slot for seconds, and an idle one costs a descriptor
 * and a few KiB: room for thousands is cheap. The per-address limit keeps a
 * flood from fewer than 16 addresses from filling the table, so a scraper from
 * another address always finds a slot at once.
 */
#define DEFAULT_MAX_CONNECTIONS 4096
#define DEFAULT_MAX_CONNECTIONS_PER_IP 256
#define DEFAULT_CONNECTION_TIMEOUT_S 10
#define DEFAULT_HEADER_TIMEOUT_NS (3 * NSEC_PER_SEC)
/* libmicrohttpd's own default: request line and headers up to about half of it. */
#define DEFAULT_REQUEST_MEMORY_LIMIT (32u * 1024)
#define MIN_REQUEST_MEMORY_LIMIT (4u * 1024)
/* Descriptors left for the rest of the agent (eBPF, meters, /proc, kubelet) ... */
#define FD_RESERVE 256
/* ... and what each listen address costs besides its connections: the socket, epoll, eventfd. */
#define FDS_PER_LISTENER 3

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

struct http_server {
	pthread_mutex_t lock; /* guards cur: held for a pointer swap or a reference, no more */
	struct snapshot *cur;
	uint64_t last_publish_ns; /* atomic; meaningful once published is set */
	bool published;		  /* atomic */
	uint64_t stale_after_ns;
	uint64_t (*now_ns)(void);
	uint64_t requests; /* atomic counters */
	uint64_t errors_4xx;
	uint64_t metrics_scrapes;
	uint64_t auth_failures;
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
	struct http_deadlines *deadlines;
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

bool http_healthz_fresh(bool published, uint64_t last_publish_ns, uint64_t now_ns,
			uint64_t stale_after_ns)
{
	if (!published)
		return false;
	/* A publish stamped after now (another thread's clock read) is fresh. */
	return !stale_after_ns || now_ns < last_publish_ns ||
	       now_ns - last_publish_ns < stale_after_ns;
}

static enum MHD_Result serve_healthz(struct http_server *s, struct MHD_Connection *c)
{
	bool published = __atomic_load_n(&s->published, __ATOMIC_ACQUIRE);
	uint64_t last = __atomic_load_n(&s->last_publish_ns, __ATOMIC_ACQUIRE);

	if (http_healthz_fresh(published, last, s->now_ns(), s->stale_after_ns))
		return queue_static(s, c, MHD_HTTP_OK, CONTENT_TYPE_TEXT, "ok\n");
	return queue_static(s, c, MHD_HTTP_SERVICE_UNAVAILABLE, CONTENT_TYPE_TEXT, "stale\n");
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
	r = MHD_queue_basic_auth_fail_response(c, HTTP_AUTH_REALM, resp);
	MHD_destroy_response(resp);
	return r;
}

/* The connection's deadline, registered in notify_connection; NULL when it has none. */
static struct http_conn_deadline *conn_deadline(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info;

	info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return info ? info->socket_context : NULL;
}

/*
 * On a new connection: starts its header deadline and, with TLS, sets what the
 * handshake asks of the client. On close: drops the deadline before the socket
 * is closed.
 */
static void notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			      enum MHD_ConnectionNotificationCode code)
{
	struct http_server *s = cls;
	const union MHD_ConnectionInfo *info;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		http_deadlines_remove(s->deadlines, *socket_context);
		*socket_context = NULL;
		return;
	}
	if (code != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (info)
		*socket_context = http_deadlines_add(s->deadlines, info->connect_fd);
	http_client_cert_setup(s->client_auth, c);
}

static void request_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct http_conn_deadline *d = conn_deadline(c);

	(void)con_cls;
	(void)toe;
	if (d)
		http_deadlines_idle(s->deadlines, d);
}

/* Whether the request announces a body (never read: no route takes one). */
static bool has_body(struct MHD_Connection *c)
{
	const char *cl =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
	       (cl && strtoull(cl, NULL, 10) != 0);
}

static enum MHD_Result answer(struct http_server *s, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version)
{
	/* RFC 9112 section 3.2: an HTTP/1.1 request without Host is answered 400. */
	if (version && streq(version, MHD_HTTP_VERSION_1_1) &&
	    !MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST)) {
		__atomic_add_fetch(&s->errors_4xx, 1, __ATOMIC_RELAXED);
		return queue_static(s, c, MHD_HTTP_BAD_REQUEST, CONTENT_TYPE_TEXT,
				    "missing Host header\n");
	}
	if (s->auth && !http_auth_request_ok(s->auth, c))
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

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	static char header_seen;
	struct http_server *s = cls;
	struct http_conn_deadline *d;

	(void)upload_data;
	(void)upload_data_size;
	if (*con_cls)
		return answer(s, c, url, method, version);

	/* First call: the request header is complete. */
	__atomic_add_fetch(&s->requests, 1, __ATOMIC_RELAXED);
	d = conn_deadline(c);
	if (d)
		http_deadlines_answering(s->deadlines, d);
	if (!http_client_cert_ok(s->client_auth, c))
		return MHD_NO; /* closes the connection: no answer without the certificate */
	/*
	 * libmicrohttpd closes the connection after an answer queued on this first call,
	 * before it knows the request is complete; answered on the next call, a keep-alive
	 * connection stays open. A request that announces a body is answered now and its
	 * connection closed: the body is never read, however slowly it comes.
	 */
	if (!has_body(c)) {
		*con_cls = &header_seen;
		return MHD_YES;
	}
	return answer(s, c, url, method, version);
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
		s->auth = http_auth_new(wc->users, wc->n_users);
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

unsigned http_fit_connection_limit(unsigned want, size_t n_listen, uint64_t nofile)
{
	uint64_t per;

	if (!n_listen)
		return want;
	if (nofile <= FD_RESERVE)
		return 1;
	per = (nofile - FD_RESERVE) / n_listen;
	per = per > FDS_PER_LISTENER ? per - FDS_PER_LISTENER : 1;
	return per < want ? (unsigned)per : want;
}

/*
 * Raises the soft RLIMIT_NOFILE to the hard one when it is short of what
 * max_conn connections on each of n_listen addresses need (no privilege is
 * needed for that), and returns the connection limit that fits what there is,
 * so that the agent's own files never fail for want of a descriptor.
 */
static unsigned fit_descriptors(unsigned max_conn, size_t n_listen)
{
	uint64_t need = (uint64_t)n_listen * (max_conn + FDS_PER_LISTENER) + FD_RESERVE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return max_conn;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need && rl.rlim_cur < rl.rlim_max) {
		struct rlimit raised = {.rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max};

		if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
			rl = raised;
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		return max_conn;
	return http_fit_connection_limit(max_conn, n_listen, rl.rlim_cur);
}

int http_server_new(struct http_server **ret, const struct http_options *opt, char *err,
		    size_t errsz)
{
	struct http_server *s;
	unsigned max_conn, timeout_s, per_ip;
	uint64_t header_ns;
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
	header_ns = opt->header_timeout_ns ? opt->header_timeout_ns : DEFAULT_HEADER_TIMEOUT_NS;
	/* The connection timeout bounds every stall, the header's too. */
	if (header_ns > (uint64_t)timeout_s * NSEC_PER_SEC)
		header_ns = (uint64_t)timeout_s * NSEC_PER_SEC;
	mem_limit =
	    opt->request_memory_limit ? opt->request_memory_limit : DEFAULT_REQUEST_MEMORY_LIMIT;
	if (mem_limit < MIN_REQUEST_MEMORY_LIMIT)
		mem_limit = MIN_REQUEST_MEMORY_LIMIT;
	if (opt->web && opt->web->tls && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		snprintf(err, errsz, "web.configFile: this libmicrohttpd is built without TLS");
		return -EOPNOTSUPP;
	}
	max_conn = fit_descriptors(max_conn, opt->n_listen);

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
	s->stale_after_ns = opt->stale_after_ns;
	s->now_ns = opt->now_ns ? opt->now_ns : mono_ns;
	r = http_deadlines_new(&s->deadlines, header_ns);
	if (r < 0) {
		snprintf(err, errsz, "web: cannot start the request header deadline thread: %s",
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
		unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD;
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
		/* One epoll thread per address: a scrape is a memory copy, nothing blocks, and
		 * a held connection costs no thread. */
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
	/* After the daemons: every connection is closed, no deadline is left. */
	http_deadlines_free(s->deadlines);
	snapshot_unref(s->cur);
	pthread_mutex_destroy(&s->lock);
	free(s->listeners);
	http_auth_free(s->auth);
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
	ret->auth_hash_checks = http_auth_hash_checks(s->auth);
	ret->header_timeouts = http_deadlines_cut(s->deadlines);
}

int http_server_port(const struct http_server *s, size_t i)
{
	if (!s || i >= s->n_listeners)
		return -EINVAL;
	return s->listeners[i].port;
}
