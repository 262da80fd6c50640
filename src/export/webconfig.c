// SPDX-License-Identifier: Apache-2.0
#include "export/webconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <yaml.h>

#include "util/fileio.h"
#include "util/util.h"
#include "util/yamlutil.h"

/* A web config, certificate, key or CA bundle larger than this is a mistake, not a file. */
#define MAX_FILE_SIZE (1u << 20)

static const char *const client_auth_names[] = {
    [WEB_CLIENT_AUTH_NONE] = "NoClientCert",
    [WEB_CLIENT_AUTH_REQUEST] = "RequestClientCert",
    [WEB_CLIENT_AUTH_REQUIRE_ANY] = "RequireAnyClientCert",
    [WEB_CLIENT_AUTH_VERIFY_IF_GIVEN] = "VerifyClientCertIfGiven",
    [WEB_CLIENT_AUTH_REQUIRE_AND_VERIFY] = "RequireAndVerifyClientCert",
};

/* The headers exporter-toolkit lets a web config set; the rest belong to the server. */
static const char *const allowed_headers[] = {
    "Strict-Transport-Security", "X-Content-Type-Options",  "X-Frame-Options",
    "X-XSS-Protection",		 "Content-Security-Policy",
};

const char *webconfig_client_auth_to_string(enum web_client_auth a)
{
	if ((unsigned)a >= ARRAY_SIZE(client_auth_names))
		return NULL;
	return client_auth_names[a];
}

int webconfig_parse_tls_version(const char *s, enum web_tls_version *ret)
{
	static const struct {
		const char *name;
		enum web_tls_version v;
	} versions[] = {
	    {"TLS10", WEB_TLS10},
	    {"TLS11", WEB_TLS11},
	    {"TLS12", WEB_TLS12},
	    {"TLS13", WEB_TLS13},
	};

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(versions); i++) {
		if (streq(s, versions[i].name)) {
			*ret = versions[i].v;
			return 0;
		}
	}
	return -EINVAL;
}

int webconfig_tls_priorities(enum web_tls_version min, enum web_tls_version max, char *buf,
			     size_t size)
{
	size_t n;
	int k;

	if (min < WEB_TLS10 || max > WEB_TLS13 || min > max)
		return -EINVAL;
	k = snprintf(buf, size, "NORMAL:-VERS-ALL");
	if (k < 0 || (size_t)k >= size)
		return -ENOBUFS;
	n = (size_t)k;
	/* Newest first: GnuTLS takes the order as the server's preference. */
	for (int v = (int)max; v >= (int)min; v--) {
		k = snprintf(buf + n, size - n, ":+VERS-TLS1.%d", v - WEB_TLS10);
		if (k < 0 || (size_t)k >= size - n)
			return -ENOBUFS;
		n += (size_t)k;
	}
	return 0;
}

static bool is_bcrypt_char(char c)
{
	return c == '.' || c == '/' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9');
}

bool webconfig_bcrypt_hash_valid(const char *s)
{
	int cost;

	if (!s || strlen(s) != 60 || s[0] != '$' || s[1] != '2' ||
	    (s[2] != 'a' && s[2] != 'b' && s[2] != 'y') || s[3] != '$' || s[6] != '$')
		return false;
	if (s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9')
		return false;
	cost = (s[4] - '0') * 10 + (s[5] - '0');
	if (cost < 4 || cost > 31)
		return false;
	for (size_t i = 7; i < 60; i++)
		if (!is_bcrypt_char(s[i]))
			return false;
	return true;
}

void webconfig_free(struct web_config *c)
{
	if (!c)
		return;
	free(c->cert_file);
	free(c->key_file);
	free(c->client_ca_file);
	free(c->cert_pem);
	if (c->key_pem) {
		explicit_bzero(c->key_pem, strlen(c->key_pem));
		free(c->key_pem);
	}
	free(c->client_ca_pem);
	for (size_t i = 0; i < c->n_users; i++) {
		free(c->users[i].name);
		free(c->users[i].hash);
	}
	free(c->users);
	for (size_t i = 0; i < c->n_headers; i++) {
		free(c->headers[i].name);
		free(c->headers[i].value);
	}
	free(c->headers);
	free(c);
}

/* ---- YAML ---- */

struct wctx {
	yaml_document_t *doc;
	const char *name;
	const char *base_dir;
	struct web_config *wc;
	yaml_mark_t tls_mark; /* where tls_server_config starts, for checks across its keys */
	bool have_tls;
	char *err;
	size_t errsz;
};

/* One line: "[name:]line:col: [key: ]message". Returns r. */
static int wfail(struct wctx *c, int r, yaml_mark_t mark, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int wfail(struct wctx *c, int r, yaml_mark_t mark, const char *key, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->errsz)
		return r;
	n = snprintf(c->err, c->errsz, "%s%s%zu:%zu: %s%s", c->name ? c->name : "",
		     c->name ? ":" : "", mark.line + 1, mark.column + 1, key ? key : "",
		     key ? ": " : "");
	if (n >= 0 && (size_t)n < c->errsz) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errsz - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* The scalar's text ("" for null), or an error naming key. */
static int scalar(struct wctx *c, const yaml_node_t *n, const char *key, const char **ret)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE)
		return wfail(c, -EINVAL, n->start_mark, key, "expected a scalar, got %s",
			     yaml_node_kind(n));
	v = (const char *)n->data.scalar.value;
	if (strlen(v) != n->data.scalar.length)
		return wfail(c, -EINVAL, n->start_mark, key, "value holds a NUL byte");
	*ret = yaml_node_is_null(n) ? "" : v;
	return 0;
}

typedef int (*pair_fn)(struct wctx *c, const char *key, const char *name, yaml_node_t *kn,
		       yaml_node_t *vn);

struct walk {
	struct wctx *c;
	pair_fn fn;
};

static int walk_pair(void *userdata, const char *key, const char *name, yaml_node_t *kn,
		     yaml_node_t *vn)
{
	struct walk *w = userdata;

	return w->fn(w->c, key, name, kn, vn);
}

/* Calls fn for every pair of mapping m (null: none); the shared walker checks the keys. */
static int walk_map(struct wctx *c, yaml_node_t *m, const char *prefix, pair_fn fn)
{
	struct walk w = {c, fn};
	struct yaml_walk_error e;
	int r = yaml_walk_map(c->doc, m, prefix, walk_pair, &w, &e);

	if (r < 0 && e.msg[0])
		return wfail(c, r, e.mark, e.key, "%s", e.msg);
	return r;
}

static int unknown_key(struct wctx *c, const yaml_node_t *kn, const char *key)
{
	return wfail(c, -EINVAL, kn->start_mark, NULL, "unknown key \"%s\"", key);
}

static int unsupported_key(struct wctx *c, const yaml_node_t *kn, const char *key)
{
	return wfail(c, -EOPNOTSUPP, kn->start_mark, key, "not supported by kepler");
}

/* s joined to the base directory unless absolute; NULL when s is empty ("" unsets a path). */
static int resolve_path(struct wctx *c, const char *s, char **ret)
{
	char *p = NULL;

	if (*s) {
		if (c->base_dir && s[0] != '/') {
			if (asprintf(&p, "%s/%s", c->base_dir, s) < 0)
				return -ENOMEM;
		} else {
			p = strdup(s);
			if (!p)
				return -ENOMEM;
		}
	}
	*ret = p;
	return 0;
}

static int tls_pair(struct wctx *c, const char *key, const char *name, yaml_node_t *kn,
		    yaml_node_t *vn)
{
	static const char *const unsupported[] = {
	    "cert",
	    "key",
	    "client_ca",
	    "cipher_suites",
	    "curve_preferences",
	    "prefer_server_cipher_suites",
	    "client_allowed_sans",
	};
	struct web_config *wc = c->wc;
	char **path = NULL;
	const char *v;
	int r;

	if (streq(name, "cert_file"))
		path = &wc->cert_file;
	else if (streq(name, "key_file"))
		path = &wc->key_file;
	else if (streq(name, "client_ca_file"))
		path = &wc->client_ca_file;
	if (path) {
		r = scalar(c, vn, key, &v);
		if (r < 0)
			return r;
		r = resolve_path(c, v, path);
		if (r < 0)
			return wfail(c, r, vn->start_mark, key, "out of memory");
		return 0;
	}
	if (streq(name, "client_auth_type")) {
		r = scalar(c, vn, key, &v);
		if (r < 0)
			return r;
		for (size_t i = 0; i < ARRAY_SIZE(client_auth_names); i++) {
			if (streq(v, client_auth_names[i])) {
				wc->client_auth = (enum web_client_auth)i;
				return 0;
			}
		}
		return wfail(c, -EINVAL, vn->start_mark, key,
			     "unknown value \"%s\" (want NoClientCert, RequestClientCert, "
			     "RequireAnyClientCert, VerifyClientCertIfGiven or "
			     "RequireAndVerifyClientCert)",
			     v);
	}
	if (streq(name, "min_version") || streq(name, "max_version")) {
		r = scalar(c, vn, key, &v);
		if (r < 0)
			return r;
		if (webconfig_parse_tls_version(
			v, streq(name, "min_version") ? &wc->min_version : &wc->max_version) < 0)
			return wfail(c, -EINVAL, vn->start_mark, key,
				     "unknown TLS version \"%s\" (want TLS10, TLS11, TLS12 or "
				     "TLS13)",
				     v);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++)
		if (streq(name, unsupported[i]))
			return unsupported_key(c, kn, key);
	return unknown_key(c, kn, key);
}

static int user_pair(struct wctx *c, const char *key, const char *name, yaml_node_t *kn,
		     yaml_node_t *vn)
{
	struct web_config *wc = c->wc;
	struct web_user *u;
	const char *v;
	int r;

	if (!*name)
		return wfail(c, -EINVAL, kn->start_mark, key, "empty user name");
	for (const char *p = name; *p; p++)
		/* Basic auth sends "user:password": a ':' in the name can never match. */
		if (*p == ':' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return wfail(c, -EINVAL, kn->start_mark, key,
				     "a user name cannot hold ':' or control characters");
	r = scalar(c, vn, key, &v);
	if (r < 0)
		return r;
	if (!webconfig_bcrypt_hash_valid(v))
		return wfail(c, -EINVAL, vn->start_mark, key,
			     "not a bcrypt hash (want $2y$, $2b$ or $2a$, a cost of 04 to 31 and "
			     "53 characters, e.g. from \"htpasswd -nBC 10 %s\")",
			     name);
	u = reallocarray(wc->users, wc->n_users + 1, sizeof(*u));
	if (!u)
		return wfail(c, -ENOMEM, kn->start_mark, key, "out of memory");
	wc->users = u;
	u = &wc->users[wc->n_users];
	u->name = strdup(name);
	u->hash = strdup(v);
	wc->n_users++; /* counted before the check, so webconfig_free frees a half entry */
	if (!u->name || !u->hash)
		return wfail(c, -ENOMEM, kn->start_mark, key, "out of memory");
	return 0;
}

static int header_pair(struct wctx *c, const char *key, const char *name, yaml_node_t *kn,
		       yaml_node_t *vn)
{
	struct web_config *wc = c->wc;
	struct web_header *h;
	const char *canon = NULL, *v;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(allowed_headers); i++)
		if (strcasecmp(name, allowed_headers[i]) == 0)
			canon = allowed_headers[i];
	if (!canon)
		return wfail(c, -EINVAL, kn->start_mark, key,
			     "this header cannot be set (allowed: Strict-Transport-Security, "
			     "X-Content-Type-Options, X-Frame-Options, X-XSS-Protection, "
			     "Content-Security-Policy)");
	for (size_t i = 0; i < wc->n_headers; i++)
		if (streq(wc->headers[i].name, canon))
			return wfail(c, -EINVAL, kn->start_mark, NULL, "duplicate key \"%s\"", key);
	r = scalar(c, vn, key, &v);
	if (r < 0)
		return r;
	if (!*v)
		return wfail(c, -EINVAL, vn->start_mark, key, "empty value");
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return wfail(c, -EINVAL, vn->start_mark, key,
				     "a header value cannot hold control characters");
	if (streq(canon, "X-Content-Type-Options") && strcasecmp(v, "nosniff") != 0)
		return wfail(c, -EINVAL, vn->start_mark, key, "the only value is \"nosniff\"");
	if (streq(canon, "X-Frame-Options") && strcasecmp(v, "deny") != 0 &&
	    strcasecmp(v, "sameorigin") != 0)
		return wfail(c, -EINVAL, vn->start_mark, key, "want \"deny\" or \"sameorigin\"");
	h = reallocarray(wc->headers, wc->n_headers + 1, sizeof(*h));
	if (!h)
		return wfail(c, -ENOMEM, kn->start_mark, key, "out of memory");
	wc->headers = h;
	h = &wc->headers[wc->n_headers];
	h->name = strdup(canon);
	h->value = strdup(v);
	wc->n_headers++;
	if (!h->name || !h->value)
		return wfail(c, -ENOMEM, kn->start_mark, key, "out of memory");
	return 0;
}

static int http_pair(struct wctx *c, const char *key, const char *name, yaml_node_t *kn,
		     yaml_node_t *vn)
{
	const char *v;
	int r;

	if (streq(name, "headers"))
		return walk_map(c, vn, key, header_pair);
	if (streq(name, "http2")) {
		/* Accepted for compatibility: kepler speaks HTTP/1.1 only, either way. */
		r = scalar(c, vn, key, &v);
		if (r < 0)
			return r;
		if (strcasecmp(v, "true") != 0 && strcasecmp(v, "false") != 0)
			return wfail(c, -EINVAL, vn->start_mark, key,
				     "expected true or false, got \"%s\"", v);
		return 0;
	}
	return unknown_key(c, kn, key);
}

static int root_pair(struct wctx *c, const char *key, const char *name, yaml_node_t *kn,
		     yaml_node_t *vn)
{
	if (streq(name, "tls_server_config")) {
		c->have_tls = true;
		c->tls_mark = kn->start_mark;
		return walk_map(c, vn, key, tls_pair);
	}
	if (streq(name, "basic_auth_users"))
		return walk_map(c, vn, key, user_pair);
	if (streq(name, "http_server_config"))
		return walk_map(c, vn, key, http_pair);
	if (streq(name, "rate_limit"))
		return unsupported_key(c, kn, key);
	return unknown_key(c, kn, key);
}

/* Rules across keys, as exporter-toolkit applies them. */
static int check_tls(struct wctx *c)
{
	struct web_config *wc = c->wc;
	const char *auth = client_auth_names[wc->client_auth];
	bool verify = wc->client_auth == WEB_CLIENT_AUTH_VERIFY_IF_GIVEN ||
		      wc->client_auth == WEB_CLIENT_AUTH_REQUIRE_AND_VERIFY;

	if (!c->have_tls)
		return 0;
	if (!wc->cert_file && wc->key_file)
		return wfail(c, -EINVAL, c->tls_mark, "tls_server_config",
			     "key_file is set but cert_file is missing");
	if (wc->cert_file && !wc->key_file)
		return wfail(c, -EINVAL, c->tls_mark, "tls_server_config",
			     "cert_file is set but key_file is missing");
	wc->tls = wc->cert_file && wc->key_file;
	if (!wc->tls && (wc->client_ca_file || wc->client_auth != WEB_CLIENT_AUTH_NONE))
		return wfail(c, -EINVAL, c->tls_mark, "tls_server_config",
			     "client certificates need cert_file and key_file");
	if (wc->client_ca_file && wc->client_auth == WEB_CLIENT_AUTH_NONE)
		return wfail(c, -EINVAL, c->tls_mark, "tls_server_config",
			     "client_ca_file is set but client_auth_type is NoClientCert");
	if (verify && !wc->client_ca_file)
		return wfail(c, -EINVAL, c->tls_mark, "tls_server_config",
			     "client_auth_type %s needs client_ca_file", auth);
	if (wc->min_version > wc->max_version)
		return wfail(c, -EINVAL, c->tls_mark, "tls_server_config",
			     "min_version is above max_version");
	return 0;
}

int webconfig_parse(const char *text, size_t len, const char *name, const char *base_dir,
		    struct web_config **ret, char *err, size_t errsz)
{
	struct wctx c = {.name = name, .base_dir = base_dir, .err = err, .errsz = errsz};
	yaml_document_t doc;
	yaml_node_t *root;
	yaml_mark_t mark;
	char msg[512];
	int r = 0;

	if (errsz)
		err[0] = '\0';
	c.wc = calloc(1, sizeof(*c.wc));
	if (!c.wc) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	c.wc->min_version = WEB_TLS12;
	c.wc->max_version = WEB_TLS13;
	r = yaml_load_one(text, len, &doc, msg, sizeof(msg), &mark);
	if (r < 0) {
		r = wfail(&c, r, mark, NULL, "%s", msg);
		webconfig_free(c.wc);
		return r;
	}
	c.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root)
		r = walk_map(&c, root, "", root_pair);
	if (root && r == 0)
		r = check_tls(&c);
	yaml_document_delete(&doc);
	if (r < 0) {
		webconfig_free(c.wc);
		return r;
	}
	*ret = c.wc;
	return 0;
}

/* ---- files ---- */

static int load_pem(const char *cfg, const char *key, const char *path, char **ret, char *err,
		    size_t errsz)
{
	size_t len;
	int r;

	r = read_file_alloc(path, MAX_FILE_SIZE, ret, &len);
	if (r < 0) {
		snprintf(err, errsz, "%s: tls_server_config.%s %s: %s", cfg, key, path,
			 r == -EFBIG ? "file too large" : strerror(-r));
		return r;
	}
	if (strlen(*ret) != len) {
		snprintf(err, errsz,
			 "%s: tls_server_config.%s %s: not a PEM file (holds a NUL byte)", cfg, key,
			 path);
		return -EINVAL;
	}
	return 0;
}

/* That the certificate, the key (and that they match) and the CA bundle load in GnuTLS. */
static int check_pems(const char *cfg, const struct web_config *wc, char *err, size_t errsz)
{
	gnutls_certificate_credentials_t cred;
	gnutls_x509_crt_t *crts = NULL;
	unsigned n_crts = 0;
	gnutls_datum_t cert = {(unsigned char *)wc->cert_pem, (unsigned)strlen(wc->cert_pem)};
	gnutls_datum_t key = {(unsigned char *)wc->key_pem, (unsigned)strlen(wc->key_pem)};
	int r;

	r = gnutls_x509_crt_list_import2(&crts, &n_crts, &cert, GNUTLS_X509_FMT_PEM, 0);
	if (r < 0) {
		snprintf(err, errsz, "%s: tls_server_config.cert_file %s: %s", cfg, wc->cert_file,
			 gnutls_strerror(r));
		return -EINVAL;
	}
	for (unsigned i = 0; i < n_crts; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);

	if (gnutls_certificate_allocate_credentials(&cred) < 0) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	r = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
	if (r < 0) {
		snprintf(err, errsz, "%s: tls_server_config.key_file %s: %s", cfg, wc->key_file,
			 gnutls_strerror(r));
		gnutls_certificate_free_credentials(cred);
		return -EINVAL;
	}
	if (wc->client_ca_pem) {
		gnutls_datum_t ca = {(unsigned char *)wc->client_ca_pem,
				     (unsigned)strlen(wc->client_ca_pem)};

		r = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
		if (r <= 0) {
			snprintf(err, errsz, "%s: tls_server_config.client_ca_file %s: %s", cfg,
				 wc->client_ca_file,
				 r < 0 ? gnutls_strerror(r) : "no certificate found");
			gnutls_certificate_free_credentials(cred);
			return -EINVAL;
		}
	}
	gnutls_certificate_free_credentials(cred);
	return 0;
}

int webconfig_load(const char *path, struct web_config **ret, char *err, size_t errsz)
{
	_cleanup_free_ char *text = NULL, *dir = NULL;
	struct web_config *wc = NULL;
	const char *slash;
	size_t len;
	int r;

	if (errsz)
		err[0] = '\0';
	if (!path || !*path) {
		snprintf(err, errsz, "web.configFile: empty path");
		return -EINVAL;
	}
	r = read_file_alloc(path, MAX_FILE_SIZE, &text, &len);
	if (r < 0) {
		snprintf(err, errsz, "web.configFile %s: %s", path,
			 r == -EFBIG ? "file too large" : strerror(-r));
		return r;
	}
	slash = strrchr(path, '/');
	dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	r = webconfig_parse(text, len, path, dir, &wc, err, errsz);
	if (r < 0)
		return r;
	if (wc->tls) {
		r = load_pem(path, "cert_file", wc->cert_file, &wc->cert_pem, err, errsz);
		if (r == 0)
			r = load_pem(path, "key_file", wc->key_file, &wc->key_pem, err, errsz);
		if (r == 0 && wc->client_ca_file)
			r = load_pem(path, "client_ca_file", wc->client_ca_file, &wc->client_ca_pem,
				     err, errsz);
		if (r == 0)
			r = check_pems(path, wc, err, errsz);
		if (r < 0) {
			webconfig_free(wc);
			return r;
		}
	}
	*ret = wc;
	return 0;
}
