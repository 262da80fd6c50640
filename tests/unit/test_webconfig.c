// SPDX-License-Identifier: Apache-2.0
/* Web config file: the parser from tables of good and bad files, then loading real files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "export/webconfig.h"
#include "util/util.h"

#define TLS_DIR FIXTURES "/tls"
#define HASH_A "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"
#define HASH_B "$2b$04$zdwDd/2/1iTx9J7puxB94uytrjKdZ.1CemuytU1SOa5vl8T0Xd4HK"

/* ---- pure helpers ---- */

static void test_bcrypt_shape(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
	    {HASH_A, true},
	    {HASH_B, true},
	    {"$2a$12$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi", true},
	    {"$2b$31$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi", true},
	    {"$2x$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi", false},
	    {"$2y$03$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi", false},
	    {"$2y$32$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi", false},
	    {"$2y$1a$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi", false},
	    {"$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeS", false},
	    {"$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSii", false},
	    {"$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeS!", false},
	    {"$2y$10QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi$", false},
	    {"$6$salt$hash", false}, /* sha512crypt: not what exporter-toolkit takes */
	    {"wonderland", false},   /* a plain password by mistake */
	    {"", false},
	    {NULL, false},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (webconfig_bcrypt_hash_valid(cases[i].s) != cases[i].ok)
			fail_msg("case %zu (%s): want %d", i, cases[i].s, cases[i].ok);
}

static void test_priorities(void **state)
{
	static const struct {
		enum web_tls_version min, max;
		int r;
		const char *want;
	} cases[] = {
	    {WEB_TLS12, WEB_TLS13, 0, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"},
	    {WEB_TLS13, WEB_TLS13, 0, "NORMAL:-VERS-ALL:+VERS-TLS1.3"},
	    {WEB_TLS10, WEB_TLS11, 0, "NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0"},
	    {WEB_TLS10, WEB_TLS13, 0,
	     "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:+VERS-TLS1.1:+VERS-TLS1.0"},
	    {WEB_TLS13, WEB_TLS12, -EINVAL, NULL},
	    {(enum web_tls_version)9, WEB_TLS12, -EINVAL, NULL},
	    {WEB_TLS12, (enum web_tls_version)14, -EINVAL, NULL},
	};
	char buf[128], small[20];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int r = webconfig_tls_priorities(cases[i].min, cases[i].max, buf, sizeof(buf));

		if (r != cases[i].r)
			fail_msg("case %zu: r=%d want %d", i, r, cases[i].r);
		if (r == 0)
			assert_string_equal(buf, cases[i].want);
	}
	assert_int_equal(webconfig_tls_priorities(WEB_TLS12, WEB_TLS13, small, sizeof(small)),
			 -ENOBUFS);
}

static void test_names(void **state)
{
	enum web_tls_version v = WEB_TLS10;

	(void)state;
	assert_string_equal(webconfig_client_auth_to_string(WEB_CLIENT_AUTH_NONE), "NoClientCert");
	assert_string_equal(webconfig_client_auth_to_string(WEB_CLIENT_AUTH_REQUIRE_AND_VERIFY),
			    "RequireAndVerifyClientCert");
	assert_null(webconfig_client_auth_to_string((enum web_client_auth)99));
	assert_int_equal(webconfig_parse_tls_version("TLS13", &v), 0);
	assert_int_equal(v, WEB_TLS13);
	assert_int_equal(webconfig_parse_tls_version("tls13", &v), -EINVAL);
	assert_int_equal(webconfig_parse_tls_version("TLS14", &v), -EINVAL);
	assert_int_equal(webconfig_parse_tls_version("1.3", &v), -EINVAL);
	assert_int_equal(webconfig_parse_tls_version(NULL, &v), -EINVAL);
	assert_int_equal(v, WEB_TLS13);
}

/* ---- the parser: good files ---- */

static void test_parse_good(void **state)
{
	static const char full[] = "tls_server_config:\n"
				   "  cert_file: server.crt\n"
				   "  key_file: /etc/kepler/server.key\n"
				   "  client_auth_type: RequireAndVerifyClientCert\n"
				   "  client_ca_file: ca.crt\n"
				   "  min_version: TLS13\n"
				   "basic_auth_users:\n"
				   "  alice: " HASH_A "\n"
				   "  'bob smith': \"" HASH_B "\"\n"
				   "http_server_config:\n"
				   "  http2: false\n"
				   "  headers:\n"
				   "    x-frame-options: SAMEORIGIN\n"
				   "    Strict-Transport-Security: max-age=31536000\n";
	struct web_config *wc = NULL;
	char err[256];

	(void)state;
	assert_int_equal(
	    webconfig_parse(full, strlen(full), "web.yml", "/etc/kepler", &wc, err, sizeof(err)),
	    0);
	assert_true(wc->tls);
	assert_string_equal(wc->cert_file, "/etc/kepler/server.crt");
	assert_string_equal(wc->key_file, "/etc/kepler/server.key");
	assert_string_equal(wc->client_ca_file, "/etc/kepler/ca.crt");
	assert_null(wc->cert_pem); /* the parser reads no files */
	assert_int_equal(wc->client_auth, WEB_CLIENT_AUTH_REQUIRE_AND_VERIFY);
	assert_int_equal(wc->min_version, WEB_TLS13);
	assert_int_equal(wc->max_version, WEB_TLS13);
	assert_int_equal(wc->n_users, 2);
	assert_string_equal(wc->users[0].name, "alice");
	assert_string_equal(wc->users[0].hash, HASH_A);
	assert_string_equal(wc->users[1].name, "bob smith");
	assert_string_equal(wc->users[1].hash, HASH_B);
	assert_int_equal(wc->n_headers, 2);
	assert_string_equal(wc->headers[0].name, "X-Frame-Options"); /* canonical spelling */
	assert_string_equal(wc->headers[0].value, "SAMEORIGIN");
	assert_string_equal(wc->headers[1].name, "Strict-Transport-Security");
	webconfig_free(wc);
	webconfig_free(NULL);
}

/* Files that parse, and what they amount to. */
struct good_case {
	const char *yaml;
	bool tls;
	enum web_client_auth auth;
	enum web_tls_version min, max;
	size_t users, headers;
	const char *cert_file; /* with base directory "/d" */
};

static const struct good_case good_cases[] = {
    {"", false, WEB_CLIENT_AUTH_NONE, WEB_TLS12, WEB_TLS13, 0, 0, NULL},
    {"# only a comment\n", false, WEB_CLIENT_AUTH_NONE, WEB_TLS12, WEB_TLS13, 0, 0, NULL},
    {"~", false, WEB_CLIENT_AUTH_NONE, WEB_TLS12, WEB_TLS13, 0, 0, NULL},
    {"{}", false, WEB_CLIENT_AUTH_NONE, WEB_TLS12, WEB_TLS13, 0, 0, NULL},
    {"tls_server_config:\nbasic_auth_users:\nhttp_server_config:\n", false, WEB_CLIENT_AUTH_NONE,
     WEB_TLS12, WEB_TLS13, 0, 0, NULL},
    /* Neither cert_file nor key_file: plain HTTP, as exporter-toolkit does. */
    {"tls_server_config: {min_version: TLS12}", false, WEB_CLIENT_AUTH_NONE, WEB_TLS12, WEB_TLS13,
     0, 0, NULL},
    {"tls_server_config: {cert_file: '', key_file: ''}", false, WEB_CLIENT_AUTH_NONE, WEB_TLS12,
     WEB_TLS13, 0, 0, NULL},
    {"tls_server_config: {cert_file: a.crt, key_file: a.key}", true, WEB_CLIENT_AUTH_NONE,
     WEB_TLS12, WEB_TLS13, 0, 0, "/d/a.crt"},
    {"tls_server_config: {cert_file: /abs/a.crt, key_file: a.key}", true, WEB_CLIENT_AUTH_NONE,
     WEB_TLS12, WEB_TLS13, 0, 0, "/abs/a.crt"},
    {"tls_server_config: {cert_file: sub/a.crt, key_file: a.key, min_version: TLS10, "
     "max_version: TLS12}",
     true, WEB_CLIENT_AUTH_NONE, WEB_TLS10, WEB_TLS12, 0, 0, "/d/sub/a.crt"},
    {"tls_server_config: {cert_file: a, key_file: b, client_auth_type: RequestClientCert}", true,
     WEB_CLIENT_AUTH_REQUEST, WEB_TLS12, WEB_TLS13, 0, 0, "/d/a"},
    {"tls_server_config: {cert_file: a, key_file: b, client_auth_type: RequireAnyClientCert}", true,
     WEB_CLIENT_AUTH_REQUIRE_ANY, WEB_TLS12, WEB_TLS13, 0, 0, "/d/a"},
    {"tls_server_config: {cert_file: a, key_file: b, client_auth_type: "
     "VerifyClientCertIfGiven, client_ca_file: c}",
     true, WEB_CLIENT_AUTH_VERIFY_IF_GIVEN, WEB_TLS12, WEB_TLS13, 0, 0, "/d/a"},
    {"tls_server_config: {cert_file: a, key_file: b, client_auth_type: NoClientCert}", true,
     WEB_CLIENT_AUTH_NONE, WEB_TLS12, WEB_TLS13, 0, 0, "/d/a"},
    {"basic_auth_users: {a: '" HASH_A "', b: '" HASH_B "', c: '" HASH_A "'}", false,
     WEB_CLIENT_AUTH_NONE, WEB_TLS12, WEB_TLS13, 3, 0, NULL},
    {"http_server_config: {headers: {X-Content-Type-Options: nosniff, X-XSS-Protection: "
     "'1; mode=block', Content-Security-Policy: \"default-src 'self'\"}}",
     false, WEB_CLIENT_AUTH_NONE, WEB_TLS12, WEB_TLS13, 0, 3, NULL},
    {"http_server_config: {http2: true}", false, WEB_CLIENT_AUTH_NONE, WEB_TLS12, WEB_TLS13, 0, 0,
     NULL},
};

static void test_parse_good_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good_cases); i++) {
		const struct good_case *g = &good_cases[i];
		struct web_config *wc = NULL;
		char err[256];
		int r =
		    webconfig_parse(g->yaml, strlen(g->yaml), NULL, "/d", &wc, err, sizeof(err));

		if (r < 0)
			fail_msg("case %zu: %d %s", i, r, err);
		if (wc->tls != g->tls || wc->client_auth != g->auth || wc->min_version != g->min ||
		    wc->max_version != g->max || wc->n_users != g->users ||
		    wc->n_headers != g->headers)
			fail_msg("case %zu: tls %d auth %d versions %d..%d users %zu headers %zu",
				 i, wc->tls, wc->client_auth, wc->min_version, wc->max_version,
				 wc->n_users, wc->n_headers);
		if (g->cert_file)
			assert_string_equal(wc->cert_file, g->cert_file);
		else
			assert_null(wc->cert_file);
		webconfig_free(wc);
	}
}

/* ---- the parser: bad files ---- */

struct bad_case {
	const char *yaml;
	int r;
	const char *err; /* the whole message, name "w.yml" */
};

static const struct bad_case bad_cases[] = {
    {"foo: 1\n", -EINVAL, "w.yml:1:1: unknown key \"foo\""},
    {"tls_server_config:\n  cert_file: a\n  key_file: b\n  bogus: 1\n", -EINVAL,
     "w.yml:4:3: unknown key \"tls_server_config.bogus\""},
    {"tls_server_config:\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n", -EOPNOTSUPP,
     "w.yml:2:3: tls_server_config.cipher_suites: not supported by kepler"},
    {"tls_server_config: {cert: inline}\n", -EOPNOTSUPP,
     "w.yml:1:21: tls_server_config.cert: not supported by kepler"},
    {"tls_server_config: {client_allowed_sans: [a]}\n", -EOPNOTSUPP,
     "w.yml:1:21: tls_server_config.client_allowed_sans: not supported by kepler"},
    {"rate_limit: {interval: 1s}\n", -EOPNOTSUPP, "w.yml:1:1: rate_limit: not supported by kepler"},
    {"http_server_config: {http3: true}\n", -EINVAL,
     "w.yml:1:22: unknown key \"http_server_config.http3\""},
    {"http_server_config: {http2: maybe}\n", -EINVAL,
     "w.yml:1:29: http_server_config.http2: expected true or false, got \"maybe\""},
    {"tls_server_config:\n  cert_file: a\n", -EINVAL,
     "w.yml:1:1: tls_server_config: cert_file is set but key_file is missing"},
    {"tls_server_config:\n  key_file: a\n", -EINVAL,
     "w.yml:1:1: tls_server_config: key_file is set but cert_file is missing"},
    {"tls_server_config: {client_auth_type: RequireAnyClientCert}\n", -EINVAL,
     "w.yml:1:1: tls_server_config: client certificates need cert_file and key_file"},
    {"tls_server_config: {cert_file: a, key_file: b, client_ca_file: c}\n", -EINVAL,
     "w.yml:1:1: tls_server_config: client_ca_file is set but client_auth_type is "
     "NoClientCert"},
    {"tls_server_config: {cert_file: a, key_file: b, client_auth_type: "
     "RequireAndVerifyClientCert}\n",
     -EINVAL,
     "w.yml:1:1: tls_server_config: client_auth_type RequireAndVerifyClientCert needs "
     "client_ca_file"},
    {"tls_server_config: {cert_file: a, key_file: b, client_auth_type: Always}\n", -EINVAL,
     "w.yml:1:66: tls_server_config.client_auth_type: unknown value \"Always\" (want "
     "NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or "
     "RequireAndVerifyClientCert)"},
    {"tls_server_config:\n  min_version: TLS1.2\n", -EINVAL,
     "w.yml:2:16: tls_server_config.min_version: unknown TLS version \"TLS1.2\" (want TLS10, "
     "TLS11, TLS12 or TLS13)"},
    {"tls_server_config: {cert_file: a, key_file: b, min_version: TLS13, max_version: TLS12}\n",
     -EINVAL, "w.yml:1:1: tls_server_config: min_version is above max_version"},
    {"tls_server_config: {cert_file: [a], key_file: b}\n", -EINVAL,
     "w.yml:1:32: tls_server_config.cert_file: expected a scalar, got a sequence"},
    {"tls_server_config: [a]\n", -EINVAL,
     "w.yml:1:20: tls_server_config: expected a mapping, got a sequence"},
    {"tls_server_config: yes\n", -EINVAL,
     "w.yml:1:20: tls_server_config: expected a mapping, got a scalar"},
    {"- a\n", -EINVAL, "w.yml:1:1: expected a mapping, got a sequence"},
    {"basic_auth_users:\n  alice: secret\n", -EINVAL,
     "w.yml:2:10: basic_auth_users.alice: not a bcrypt hash (want $2y$, $2b$ or $2a$, a cost "
     "of 04 to 31 and 53 characters, e.g. from \"htpasswd -nBC 10 alice\")"},
    {"basic_auth_users:\n  alice:\n", -EINVAL,
     "w.yml:2:9: basic_auth_users.alice: not a bcrypt hash (want $2y$, $2b$ or $2a$, a cost "
     "of 04 to 31 and 53 characters, e.g. from \"htpasswd -nBC 10 alice\")"},
    {"basic_auth_users:\n  alice: [" HASH_A "]\n", -EINVAL,
     "w.yml:2:10: basic_auth_users.alice: expected a scalar, got a sequence"},
    {"basic_auth_users:\n  'a:b': " HASH_A "\n", -EINVAL,
     "w.yml:2:3: basic_auth_users.a:b: a user name cannot hold ':' or control characters"},
    {"basic_auth_users:\n  '': " HASH_A "\n", -EINVAL,
     "w.yml:2:3: basic_auth_users.: empty user name"},
    {"basic_auth_users:\n  alice: " HASH_A "\n  alice: " HASH_B "\n", -EINVAL,
     "w.yml:3:3: duplicate key \"basic_auth_users.alice\""},
    {"basic_auth_users: [alice]\n", -EINVAL,
     "w.yml:1:19: basic_auth_users: expected a mapping, got a sequence"},
    {"basic_auth_users:\n  [a]: " HASH_A "\n", -EINVAL,
     "w.yml:2:3: basic_auth_users: a key must be a scalar, got a sequence"},
    {"http_server_config:\n  headers:\n    Content-Type: text/html\n", -EINVAL,
     "w.yml:3:5: http_server_config.headers.Content-Type: this header cannot be set (allowed: "
     "Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, X-XSS-Protection, "
     "Content-Security-Policy)"},
    {"http_server_config:\n  headers:\n    WWW-Authenticate: x\n", -EINVAL,
     "w.yml:3:5: http_server_config.headers.WWW-Authenticate: this header cannot be set "
     "(allowed: Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, "
     "X-XSS-Protection, Content-Security-Policy)"},
    {"http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n", -EINVAL,
     "w.yml:3:29: http_server_config.headers.X-Content-Type-Options: the only value is "
     "\"nosniff\""},
    {"http_server_config:\n  headers:\n    X-Frame-Options: allow\n", -EINVAL,
     "w.yml:3:22: http_server_config.headers.X-Frame-Options: want \"deny\" or \"sameorigin\""},
    {"http_server_config:\n  headers:\n    X-XSS-Protection: \"1\\r\\nSet-Cookie: x\"\n", -EINVAL,
     "w.yml:3:23: http_server_config.headers.X-XSS-Protection: a header value cannot hold "
     "control characters"},
    {"http_server_config:\n  headers:\n    X-XSS-Protection: ''\n", -EINVAL,
     "w.yml:3:23: http_server_config.headers.X-XSS-Protection: empty value"},
    {"http_server_config:\n  headers:\n    x-frame-options: deny\n    X-Frame-Options: deny\n",
     -EINVAL, "w.yml:4:5: duplicate key \"http_server_config.headers.X-Frame-Options\""},
    {"tls_server_config: {}\ntls_server_config: {}\n", -EINVAL,
     "w.yml:2:1: duplicate key \"tls_server_config\""},
    {"tls_server_config: {cert_file: \"a\\0b\", key_file: b}\n", -EINVAL,
     "w.yml:1:32: tls_server_config.cert_file: value holds a NUL byte"},
    /* the shared walker: a NUL byte in a key, a key that is not a scalar, at any depth */
    {"\"tls_server_config\\0junk\": {}\n", -EINVAL, "w.yml:1:1: a key holds a NUL byte"},
    {"basic_auth_users:\n  \"alice\\0\": " HASH_A "\n", -EINVAL,
     "w.yml:2:3: basic_auth_users: a key holds a NUL byte"},
    {"? {a: b}\n: c\n", -EINVAL, "w.yml:1:3: a key must be a scalar, got a mapping"},
    {"http_server_config:\n  headers:\n    ? [a]\n    : b\n", -EINVAL,
     "w.yml:3:7: http_server_config.headers: a key must be a scalar, got a sequence"},
    {"a: b\n---\nc: d\n", -EINVAL, "w.yml:3:1: more than one YAML document"},
    {"tls_server_config:\n  cert_file: [\n", -EINVAL,
     "w.yml:3:1: YAML syntax error: did not find expected node content (while parsing a flow "
     "node at line 3 column 1)"},
    {"\ttls_server_config: {}\n", -EINVAL,
     "w.yml:1:1: YAML syntax error: found character that cannot start any token (while "
     "scanning for the next token at line 1 column 1)"},
};

static void test_parse_bad_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *b = &bad_cases[i];
		struct web_config *wc = (struct web_config *)0x1;
		char err[512];
		int r =
		    webconfig_parse(b->yaml, strlen(b->yaml), "w.yml", "/d", &wc, err, sizeof(err));

		if (r != b->r)
			fail_msg("case %zu: r=%d want %d (%s)", i, r, b->r, err);
		if (!streq(err, b->err))
			fail_msg("case %zu:\n got  %s\n want %s", i, err, b->err);
		assert_ptr_equal(wc, (struct web_config *)0x1); /* untouched on failure */
	}
}

/* A short error buffer truncates; no buffer at all is fine too. */
static void test_parse_err_buffer(void **state)
{
	static const char bad[] = "foo: 1\n";
	struct web_config *wc = NULL;
	char err[8];

	(void)state;
	assert_int_equal(webconfig_parse(bad, strlen(bad), "w.yml", NULL, &wc, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "w.yml:1");
	assert_int_equal(webconfig_parse(bad, strlen(bad), "w.yml", NULL, &wc, NULL, 0), -EINVAL);
	assert_null(wc);
	/* No base directory: paths stay as written. */
	assert_int_equal(webconfig_parse("tls_server_config: {cert_file: a, key_file: b}", 46, NULL,
					 NULL, &wc, err, sizeof(err)),
			 0);
	assert_string_equal(wc->cert_file, "a");
	webconfig_free(wc);
}

/* ---- loading files ---- */

struct tmpdir {
	char path[64];
};

static void tmp_make(struct tmpdir *t)
{
	snprintf(t->path, sizeof(t->path), "/tmp/kepler-webconfig-XXXXXX");
	assert_non_null(mkdtemp(t->path));
}

static void tmp_write(const struct tmpdir *t, const char *name, const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", t->path, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* name -> tests/fixtures/tls/target */
static void tmp_link(const struct tmpdir *t, const char *name, const char *target)
{
	char p[256], to[512];

	snprintf(p, sizeof(p), "%s/%s", t->path, name);
	snprintf(to, sizeof(to), TLS_DIR "/%s", target);
	assert_int_equal(symlink(to, p), 0);
}

static void tmp_remove(struct tmpdir *t)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->path);
	assert_int_equal(system(cmd), 0);
}

static void test_load_fixture(void **state)
{
	struct web_config *wc = NULL;
	char err[512];

	(void)state;
	/* The committed example: relative paths next to it. */
	assert_int_equal(webconfig_load(TLS_DIR "/web-config.yml", &wc, err, sizeof(err)), 0);
	assert_true(wc->tls);
	assert_string_equal(wc->cert_file, TLS_DIR "/server.crt");
	assert_string_equal(wc->client_ca_file, TLS_DIR "/ca.crt");
	assert_int_equal(wc->client_auth, WEB_CLIENT_AUTH_REQUIRE_AND_VERIFY);
	assert_non_null(strstr(wc->cert_pem, "-----BEGIN CERTIFICATE-----"));
	assert_non_null(strstr(wc->key_pem, "PRIVATE KEY-----"));
	assert_non_null(strstr(wc->client_ca_pem, "-----BEGIN CERTIFICATE-----"));
	assert_int_equal(wc->n_users, 1);
	webconfig_free(wc);
}

/* Files that fail to load: the message names the config, the key and the file. */
struct load_case {
	const char *yaml;
	int r;
	const char *err; /* "%s" is the temporary directory; only the part after it is compared */
};

static const struct load_case load_cases[] = {
    {"tls_server_config: {cert_file: missing.crt, key_file: server.key}", -ENOENT,
     "%s/web.yml: tls_server_config.cert_file %s/missing.crt: No such file or directory"},
    {"tls_server_config: {cert_file: server.crt, key_file: missing.key}", -ENOENT,
     "%s/web.yml: tls_server_config.key_file %s/missing.key: No such file or directory"},
    {"tls_server_config: {cert_file: server.crt, key_file: server.key, client_auth_type: "
     "RequireAndVerifyClientCert, client_ca_file: missing.crt}",
     -ENOENT,
     "%s/web.yml: tls_server_config.client_ca_file %s/missing.crt: No such file or directory"},
    {"tls_server_config: {cert_file: ., key_file: server.key}", -EISDIR,
     "%s/web.yml: tls_server_config.cert_file %s/.: Is a directory"},
    /* Wrong contents, each found before anything listens. */
    {"tls_server_config: {cert_file: server.key, key_file: server.key}", -EINVAL,
     "%s/web.yml: tls_server_config.cert_file %s/server.key: "},
    {"tls_server_config: {cert_file: garbage.txt, key_file: server.key}", -EINVAL,
     "%s/web.yml: tls_server_config.cert_file %s/garbage.txt: "},
    {"tls_server_config: {cert_file: server.crt, key_file: client.key}", -EINVAL,
     "%s/web.yml: tls_server_config.key_file %s/client.key: "},
    {"tls_server_config: {cert_file: server.crt, key_file: garbage.txt}", -EINVAL,
     "%s/web.yml: tls_server_config.key_file %s/garbage.txt: "},
    {"tls_server_config: {cert_file: server.crt, key_file: server.key, client_auth_type: "
     "VerifyClientCertIfGiven, client_ca_file: garbage.txt}",
     -EINVAL, "%s/web.yml: tls_server_config.client_ca_file %s/garbage.txt: "},
    /* Parse errors carry the path too. */
    {"nope: 1", -EINVAL, "%s/web.yml:1:1: unknown key \"nope\""},
};

static void test_load_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(load_cases); i++) {
		const struct load_case *lc = &load_cases[i];
		struct web_config *wc = (struct web_config *)0x1;
		char path[128], err[512], want[512];
		struct tmpdir t;
		int r;

		tmp_make(&t);
		tmp_link(&t, "server.crt", "server.crt");
		tmp_link(&t, "server.key", "server.key");
		tmp_link(&t, "client.key", "client.key");
		tmp_write(&t, "garbage.txt", "-----BEGIN CERTIFICATE-----\nnot base64!\n");
		tmp_write(&t, "web.yml", lc->yaml);
		snprintf(path, sizeof(path), "%s/web.yml", t.path);
		r = webconfig_load(path, &wc, err, sizeof(err));
		snprintf(want, sizeof(want), lc->err, t.path, t.path);
		if (r != lc->r)
			fail_msg("case %zu: r=%d want %d (%s)", i, r, lc->r, err);
		/* GnuTLS words its own errors (want ends in a space): compare up to them. */
		if (want[strlen(want) - 1] == ' ') {
			if (strncmp(err, want, strlen(want)) != 0 || strlen(err) < strlen(want) + 3)
				fail_msg("case %zu:\n got  %s\n want %s<reason>", i, err, want);
		} else if (!streq(err, want)) {
			fail_msg("case %zu:\n got  %s\n want %s", i, err, want);
		}
		assert_ptr_equal(wc, (struct web_config *)0x1);
		tmp_remove(&t);
	}
}

static void test_load_file_errors(void **state)
{
	struct web_config *wc = NULL;
	char err[512], path[128], *big;
	struct tmpdir t;

	(void)state;
	assert_int_equal(webconfig_load("/nonexistent/web.yml", &wc, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "web.configFile /nonexistent/web.yml: No such file or directory");
	assert_int_equal(webconfig_load("", &wc, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "web.configFile: empty path");
	assert_int_equal(webconfig_load(NULL, &wc, err, sizeof(err)), -EINVAL);
	assert_null(wc);

	tmp_make(&t);
	/* A huge file is refused, not read into memory. */
	big = malloc(3u << 20);
	assert_non_null(big);
	memset(big, '#', 3u << 20);
	big[(3u << 20) - 1] = '\0';
	tmp_write(&t, "big.yml", big);
	free(big);
	snprintf(path, sizeof(path), "%s/big.yml", t.path);
	assert_int_equal(webconfig_load(path, &wc, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "big.yml: file too large"));
	/* No TLS: the PEM fields stay empty and nothing else is read. */
	tmp_write(&t, "auth.yml", "basic_auth_users: {alice: '" HASH_A "'}\n");
	snprintf(path, sizeof(path), "%s/auth.yml", t.path);
	assert_int_equal(webconfig_load(path, &wc, err, sizeof(err)), 0);
	assert_false(wc->tls);
	assert_null(wc->cert_pem);
	assert_int_equal(wc->n_users, 1);
	webconfig_free(wc);
	tmp_remove(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bcrypt_shape),
	    cmocka_unit_test(test_priorities),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_parse_good),
	    cmocka_unit_test(test_parse_good_table),
	    cmocka_unit_test(test_parse_bad_table),
	    cmocka_unit_test(test_parse_err_buffer),
	    cmocka_unit_test(test_load_fixture),
	    cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_load_file_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
