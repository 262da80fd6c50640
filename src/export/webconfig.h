/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The web config file (web.configFile, --web.config-file): TLS, client
 * certificates, basic auth and extra response headers for the HTTP endpoint,
 * in the format of the Prometheus exporter-toolkit:
 *
 *   tls_server_config: { cert_file, key_file, client_auth_type, client_ca_file,
 *                        min_version, max_version }
 *   basic_auth_users:  { <user>: <bcrypt hash> }
 *   http_server_config: { headers: { <name>: <value> }, http2: <bool> }
 *
 * Relative paths are relative to the directory of the file. Unknown keys are
 * errors; keys exporter-toolkit knows but kepler does not implement are errors
 * that say so.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum web_client_auth {
	WEB_CLIENT_AUTH_NONE,		    /* NoClientCert (default) */
	WEB_CLIENT_AUTH_REQUEST,	    /* RequestClientCert: asked for, never checked */
	WEB_CLIENT_AUTH_REQUIRE_ANY,	    /* RequireAnyClientCert: required, not verified */
	WEB_CLIENT_AUTH_VERIFY_IF_GIVEN,    /* VerifyClientCertIfGiven */
	WEB_CLIENT_AUTH_REQUIRE_AND_VERIFY, /* RequireAndVerifyClientCert */
};

enum web_tls_version {
	WEB_TLS10 = 10,
	WEB_TLS11,
	WEB_TLS12,
	WEB_TLS13,
};

struct web_user {
	char *name;
	char *hash; /* bcrypt: $2a$, $2b$ or $2y$ */
};

struct web_header {
	char *name;
	char *value;
};

struct web_config {
	bool tls; /* cert_file and key_file given: serve HTTPS only */
	/* Absolute, or as written when no base directory was given; NULL when unset. */
	char *cert_file;
	char *key_file;
	char *client_ca_file;
	/* The files' contents (NUL-terminated PEM), read by webconfig_load only. */
	char *cert_pem;
	char *key_pem;
	char *client_ca_pem;
	enum web_client_auth client_auth;
	enum web_tls_version min_version; /* default TLS12, as exporter-toolkit */
	enum web_tls_version max_version; /* default TLS13 */
	struct web_user *users;
	size_t n_users;
	struct web_header *headers;
	size_t n_headers;
};

/*
 * Parses the YAML text of a web config file. Relative paths are joined to
 * base_dir (NULL: kept as written). Files are not read. On failure returns
 * -errno and writes one line into err: "[name:]line:col: key: message".
 */
int webconfig_parse(const char *text, size_t len, const char *name, const char *base_dir,
		    struct web_config **ret, char *err, size_t errsz);

/*
 * Reads and parses path, then reads the certificate, key and CA files and
 * checks that they load (and that the key matches the certificate). On
 * failure returns -errno and a message naming the file and the key.
 */
int webconfig_load(const char *path, struct web_config **ret, char *err, size_t errsz);

/* NULL is a no-op. */
void webconfig_free(struct web_config *c);

/* "NoClientCert", ...; NULL for a value out of range. */
const char *webconfig_client_auth_to_string(enum web_client_auth a);

/* "TLS12" -> WEB_TLS12; -EINVAL for anything else. */
int webconfig_parse_tls_version(const char *s, enum web_tls_version *ret);

/*
 * The GnuTLS priority string that allows exactly min..max, e.g.
 * "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2". -EINVAL when min > max,
 * -ENOBUFS when it does not fit.
 */
int webconfig_tls_priorities(enum web_tls_version min, enum web_tls_version max, char *buf,
			     size_t size);

/* Whether s has the shape of a bcrypt hash: $2a|b|y$NN$ and 53 characters of [./A-Za-z0-9]. */
bool webconfig_bcrypt_hash_valid(const char *s);
