// SPDX-License-Identifier: Apache-2.0
/*
 * The "redfish" meter: the node's whole-platform power from its BMC. A poll
 * thread discovers the chassis that is this node and its best power resource,
 * then reads it every power.redfish.interval; read() only takes the lock and
 * turns the held readings into energy (redfish_energy.c). The BMC may be slow,
 * down or rate-limited: the interval loop never waits on it. See docs/power.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "power/internal.h"
#include "power/redfish.h"
#include "util/fileio.h"
#include "util/httpclient.h"
#include "util/timeutil.h"
#include "util/util.h"

/* Consecutive failed polls after which discovery runs again. */
#define REDISCOVER_AFTER 3
/* Logging out on close must not hold up the agent's exit. */
#define LOGOUT_TIMEOUT_MS 2000
#define CONNECT_TIMEOUT_MAX_MS 5000
#define FILE_MAX (64 * 1024)
#define WHY_MAX 1024

enum reading_source {
	SRC_ENV,   /* EnvironmentMetrics */
	SRC_PSU,   /* PowerSubsystem's power supplies' input, summed */
	SRC_POWER, /* the legacy Power resource */
};

static const char *const source_names[] = {
    [SRC_ENV] = "EnvironmentMetrics",
    [SRC_PSU] = "PowerSubsystem power supplies",
    [SRC_POWER] = "Power",
};

struct redfish_meter {
	struct power_meter base;
	char origin[REDFISH_PATH_MAX]; /* scheme://host[:port]: safe to log, holds no secret */
	struct redfish_bmc cred;       /* username/password NULL: no authentication */
	char *cred_origin;	       /* the file the credentials came from, for messages */
	char *chassis_want;	       /* power.redfish.chassis; NULL: the rule */
	uint64_t interval_ns;
	struct http_client_opts opts; /* its ca_file is ca_file */
	char *ca_file;
	struct http_client *http;

	pthread_t thread;
	pthread_mutex_t lock; /* guards everything down to "poll thread only" */
	pthread_cond_t cond;
	bool stop;
	struct redfish_energy energy;
	uint64_t since_ns; /* the last reading, or the start */
	char last_err[WHY_MAX];

	/* Poll thread only (and close, after the join). */
	bool discovered;
	bool basic;	    /* the BMC refused sessions: basic auth on every request */
	char *token;	    /* X-Auth-Token header line; NULL: no session */
	char *session_path; /* the session to DELETE on close */
	char sessions[REDFISH_PATH_MAX];
	enum reading_source src;
	char res[REDFISH_PATH_MAX];
	char psu[REDFISH_MAX_PSU][REDFISH_PATH_MAX];
	size_t n_psu;
	unsigned failures;
	bool warned;
	bool coarse_logged;
	bool zero_logged; /* "reads 0 W" said */
	bool ambiguity_logged;
};

static void clear_session(struct redfish_meter *m)
{
	if (m->token) {
		explicit_bzero(m->token, strlen(m->token));
		free(m->token);
		m->token = NULL;
	}
	free(m->session_path);
	m->session_path = NULL;
}

/* The session's path from a Location header: a path, or a URL on our origin. */
static char *session_path_of(const struct redfish_meter *m, const char *loc)
{
	char p[REDFISH_PATH_MAX];
	size_t n = strlen(m->origin);

	if (!loc)
		return NULL;
	if (strncmp(loc, m->origin, n) == 0)
		loc += n;
	return redfish_norm_path(loc, p, sizeof(p)) == 0 ? strdup(p) : NULL;
}

/* POST a session; falls back to basic auth when the BMC has no session service. */
static int login(struct redfish_meter *m, char *why, size_t whysz)
{
	static const char *const want[] = {"X-Auth-Token", "Location"};
	char url[2 * REDFISH_PATH_MAX], snippet[120];
	const char *hdrs[] = {"Content-Type: application/json", NULL};
	struct http_response resp;
	json_t *body;
	char *text;
	int r;

	clear_session(m);
	if (!m->cred.username)
		return 0;
	snprintf(url, sizeof(url), "%s%s", m->origin, m->sessions);
	body = json_pack("{s:s, s:s}", "UserName", m->cred.username, "Password", m->cred.password);
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body); /* jansson keeps no copy we could zero: the strings go with it */
	if (!text)
		return errf(why, whysz, -ENOMEM, "out of memory");
	r = http_client_request(m->http,
				&(struct http_request){.method = "POST",
						       .url = url,
						       .headers = hdrs,
						       .body = text,
						       .want_headers = {want[0], want[1]}},
				&resp, why, whysz);
	explicit_bzero(text, strlen(text));
	free(text);
	if (r < 0)
		return r;
	if ((resp.status == 200 || resp.status == 201) && resp.headers[0] && resp.headers[0][0]) {
		if (asprintf(&m->token, "X-Auth-Token: %s", resp.headers[0]) < 0) {
			m->token = NULL;
			return errf(why, whysz, -ENOMEM, "out of memory");
		}
		m->session_path = session_path_of(m, resp.headers[1]);
		m->basic = false;
		return 0;
	}
	if (resp.status == 400 || resp.status == 404 || resp.status == 405 || resp.status == 501) {
		if (!m->basic)
			log_info("redfish: %s: no sessions (POST %s: HTTP %ld), using basic auth",
				 m->origin, m->sessions, resp.status);
		m->basic = true;
		return 0;
	}
	http_body_snippet(resp.body, resp.body_len, snippet, sizeof(snippet));
	if (resp.status == 401 || resp.status == 403)
		return errf(why, whysz, -EACCES,
			    "login refused (POST %s: HTTP %ld): check the credentials in %s",
			    m->sessions, resp.status, m->cred_origin);
	return errf(why, whysz, -EIO, "login failed (POST %s: HTTP %ld%s%s)", m->sessions,
		    resp.status, snippet[0] ? ": " : "", snippet);
}

static int tls_hint(int r, char *why, size_t whysz)
{
	size_t n = strlen(why);

	if (r == -EKEYREJECTED && n < whysz)
		snprintf(why + n, whysz - n,
			 " (certificate verify failed: set power.redfish.caFile to the CA that "
			 "signed the BMC's certificate)");
	return r;
}

/*
 * GET path as JSON into *ret. -ENOENT for 404 (the resource went away), -EACCES
 * for a refusal after logging in again, -EIO, -EBADMSG for a body that is not a
 * JSON object; why names the path.
 */
static int get_json(struct redfish_meter *m, const char *path, json_t **ret, char *why,
		    size_t whysz)
{
	char url[2 * REDFISH_PATH_MAX], w[WHY_MAX] = "", snippet[120];
	struct http_response resp;
	json_error_t jerr;
	json_t *j;
	int r;

	snprintf(url, sizeof(url), "%s%s", m->origin, path);
	for (int attempt = 0;; attempt++) {
		const char *hdrs[] = {m->token, NULL};
		bool basic = m->basic && m->cred.username;

		r = http_client_request(
		    m->http,
		    &(struct http_request){.url = url,
					   .headers = hdrs,
					   .username = basic ? m->cred.username : NULL,
					   .password = basic ? m->cred.password : NULL},
		    &resp, w, sizeof(w));
		if (r < 0)
			return tls_hint(errf(why, whysz, r, "GET %s: %s", path, w), why, whysz);
		/* An expired session: log in again, once. */
		if (resp.status == 401 && m->token && attempt == 0) {
			r = login(m, w, sizeof(w));
			if (r < 0)
				return errf(why, whysz, r, "%s", w);
			continue;
		}
		break;
	}
	if (resp.status == 404)
		return errf(why, whysz, -ENOENT, "GET %s: HTTP 404", path);
	if (resp.status == 401 || resp.status == 403)
		return errf(why, whysz, -EACCES, "GET %s: HTTP %ld%s", path, resp.status,
			    m->cred.username ? "" : " (set power.redfish.credentialsFile)");
	if (resp.status != 200) {
		http_body_snippet(resp.body, resp.body_len, snippet, sizeof(snippet));
		return errf(why, whysz, -EIO, "GET %s: HTTP %ld%s%s", path, resp.status,
			    snippet[0] ? ": " : "", snippet);
	}
	j = json_loadb(resp.body, resp.body_len, 0, &jerr);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		return errf(why, whysz, -EBADMSG, "GET %s: not a JSON object%s%s", path,
			    j ? "" : ": ", j ? "" : jerr.text);
	}
	*ret = j;
	return 0;
}

/* The power supplies' metrics under a PowerSubsystem, into m->psu. */
static int find_psus(struct redfish_meter *m, const char *subsystem, char *why, size_t whysz)
{
	char coll_path[REDFISH_PATH_MAX];
	json_t *j = NULL, *coll = NULL;
	char **members = NULL;
	size_t n = 0;
	int r;

	m->n_psu = 0;
	r = get_json(m, subsystem, &j, why, whysz);
	if (r < 0)
		return r;
	r = redfish_member_link(j, "PowerSupplies", coll_path, sizeof(coll_path));
	json_decref(j);
	if (r < 0)
		return errf(why, whysz, -ENODATA, "%s: no PowerSupplies", subsystem);
	r = get_json(m, coll_path, &coll, why, whysz);
	if (r < 0)
		return r;
	r = redfish_collection(coll, REDFISH_MAX_PSU, &members, &n);
	json_decref(coll);
	if (r < 0)
		return errf(why, whysz, r, "%s: not a collection", coll_path);
	for (size_t i = 0; i < n; i++) {
		json_t *psu = NULL;

		if (get_json(m, members[i], &psu, why, whysz) < 0)
			continue; /* a member that answers 404 is skipped */
		if (redfish_member_link(psu, "Metrics", m->psu[m->n_psu],
					sizeof(m->psu[m->n_psu])) == 0)
			m->n_psu++;
		json_decref(psu);
	}
	free(members);
	return m->n_psu ? 0 : errf(why, whysz, -ENODATA, "%s: no power supply metrics", coll_path);
}

/* One reading of the chosen resource: watts and the energy counter (< 0: none). */
static int read_source(struct redfish_meter *m, double *ret_w, double *ret_kwh, char *why,
		       size_t whysz)
{
	json_t *j = NULL;
	double sum = 0, w;
	int r;

	*ret_kwh = -1;
	if (m->src == SRC_PSU) {
		for (size_t i = 0; i < m->n_psu; i++) {
			r = get_json(m, m->psu[i], &j, why, whysz);
			if (r < 0)
				return r;
			r = redfish_parse_psu_metrics(j, &w);
			json_decref(j);
			if (r < 0)
				return errf(why, whysz, r, "%s: no InputPowerWatts reading",
					    m->psu[i]);
			sum += w;
		}
		*ret_w = sum;
		return 0;
	}
	r = get_json(m, m->res, &j, why, whysz);
	if (r < 0)
		return r;
	r = m->src == SRC_ENV ? redfish_parse_env(j, ret_w, ret_kwh)
			      : redfish_parse_power(j, ret_w);
	json_decref(j);
	if (r < 0)
		return errf(why, whysz, r, "%s: no power reading (%s)", m->res,
			    m->src == SRC_ENV ? "PowerWatts.Reading" : "PowerConsumedWatts");
	return 0;
}

/* Try a chassis' resources in order of preference; 0 with m->src/res set and a reading. */
static int try_chassis(struct redfish_meter *m, const struct redfish_chassis *c, double *ret_w,
		       double *ret_kwh, char *why, size_t whysz)
{
	struct {
		enum reading_source src;
		const char *path;
	} tries[] = {{SRC_ENV, c->env}, {SRC_PSU, c->subsystem}, {SRC_POWER, c->power}};
	int r = errf(why, whysz, -ENODATA, "%s: no power resource", c->path);

	for (size_t i = 0; i < ARRAY_SIZE(tries); i++) {
		if (!tries[i].path[0])
			continue;
		m->src = tries[i].src;
		snprintf(m->res, sizeof(m->res), "%s", tries[i].path);
		if (m->src == SRC_PSU && (r = find_psus(m, c->subsystem, why, whysz)) < 0)
			continue;
		r = read_source(m, ret_w, ret_kwh, why, whysz);
		if (r == 0)
			return 0;
	}
	return r;
}

static int discover(struct redfish_meter *m, double *ret_w, double *ret_kwh, char *why,
		    size_t whysz)
{
	struct redfish_chassis chassis[REDFISH_MAX_CHASSIS];
	size_t n = 0, order[REDFISH_MAX_CHASSIS];
	char coll_path[REDFISH_PATH_MAX], **members = NULL;
	json_t *root = NULL, *coll = NULL;
	size_t n_members = 0;
	bool ambiguous;
	int r, k, found = -1;

	/* The service root answers without authentication; its trailing slash is the spec's. */
	r = get_json(m, "/redfish/v1/", &root, why, whysz);
	if (r < 0)
		return r;
	if (redfish_member_link(json_object_get(root, "Links"), "Sessions", m->sessions,
				sizeof(m->sessions)) < 0)
		snprintf(m->sessions, sizeof(m->sessions), "/redfish/v1/SessionService/Sessions");
	r = redfish_member_link(root, "Chassis", coll_path, sizeof(coll_path));
	json_decref(root);
	if (r < 0)
		return errf(why, whysz, -ENODATA, "/redfish/v1: no Chassis collection");
	if (m->cred.username && !m->token && !m->basic) {
		r = login(m, why, whysz);
		if (r < 0)
			return r;
	}
	r = get_json(m, coll_path, &coll, why, whysz);
	if (r < 0)
		return r;
	r = redfish_collection(coll, REDFISH_MAX_CHASSIS, &members, &n_members);
	json_decref(coll);
	if (r < 0)
		return errf(why, whysz, r, "%s: not a collection", coll_path);
	for (size_t i = 0; i < n_members; i++) {
		json_t *c = NULL;

		if (get_json(m, members[i], &c, why, whysz) < 0)
			continue; /* 404 or garbage: skipped */
		if (redfish_parse_chassis(c, members[i], &chassis[n]) == 0)
			n++;
		json_decref(c);
	}
	free(members);
	k = redfish_chassis_order(chassis, n, m->chassis_want, order, &ambiguous);
	if (k == -ENOENT)
		r = errf(why, whysz, -ENOENT, "%s: no chassis \"%s\" (power.redfish.chassis)",
			 coll_path, m->chassis_want);
	else
		r = errf(why, whysz, -ENODATA, "%s: no chassis with a power reading", coll_path);
	for (int i = 0; i < k && found < 0; i++) {
		char w[WHY_MAX];

		if (try_chassis(m, &chassis[order[i]], ret_w, ret_kwh, w, sizeof(w)) == 0)
			found = (int)order[i];
		else if (i == 0)
			r = errf(why, whysz, -ENODATA, "%s", w);
	}
	if (found >= 0) {
		if (ambiguous && !m->ambiguity_logged)
			log_warn("redfish: %s: several chassis could be this node; using %s, set "
				 "power.redfish.chassis to choose another",
				 m->origin, chassis[found].path);
		m->ambiguity_logged |= ambiguous;
		log_info("redfish: %s: chassis %s, power from %s %s%s", m->origin,
			 chassis[found].path, source_names[m->src], m->res,
			 *ret_kwh >= 0 ? " (with an energy counter)" : "");
		r = 0;
	}
	for (size_t i = 0; i < n; i++)
		redfish_chassis_release(&chassis[i]);
	return r;
}

static void record(struct redfish_meter *m, int r, double w, double kwh, const char *why)
{
	uint64_t now = mono_ns();
	int s = 0;

	pthread_mutex_lock(&m->lock);
	if (r == 0) {
		s = redfish_energy_sample(&m->energy, now, w, kwh);
		if (s == -ENODATA)
			snprintf(m->last_err, sizeof(m->last_err),
				 "%s reads 0 W: the BMC has no power meter there", m->res);
		else
			m->since_ns = now;
	} else {
		snprintf(m->last_err, sizeof(m->last_err), "%s", why);
	}
	pthread_mutex_unlock(&m->lock);
	/* Once: it stays so until the BMC reads more, and says nothing else meanwhile. */
	if (s == -ENODATA && !m->zero_logged) {
		log_warn("redfish: %s: %s reads 0 W: the BMC has no power meter there; no platform "
			 "energy until it reads more",
			 m->origin, m->res);
		m->zero_logged = true;
	}
	if (s == 1 && !m->coarse_logged) {
		log_info("redfish: %s: %s's EnergykWh did not move while it read power: too "
			 "coarse, using its power readings alone",
			 m->origin, m->res);
		m->coarse_logged = true;
	}
	if (r < 0) {
		if (!m->warned)
			log_warn("redfish: %s: %s; retrying every %" PRIu64 " s", m->origin, why,
				 (uint64_t)(m->interval_ns / NSEC_PER_SEC));
		else
			log_debug("redfish: %s: %s", m->origin, why);
		m->warned = true;
	} else if (m->warned) {
		log_info("redfish: %s: answering again", m->origin);
		m->warned = false;
	}
}

static void poll_once(struct redfish_meter *m)
{
	char why[WHY_MAX] = "";
	double w = 0, kwh = -1;
	int r;

	if (!m->discovered) {
		r = discover(m, &w, &kwh, why, sizeof(why));
		m->discovered = r == 0;
	} else {
		r = read_source(m, &w, &kwh, why, sizeof(why));
		/* A resource that went away, or a run of failures: find it again. */
		if (r < 0 && (r == -ENOENT || ++m->failures >= REDISCOVER_AFTER))
			m->discovered = false;
	}
	if (r == -ECANCELED)
		return;
	if (r == 0)
		m->failures = 0;
	record(m, r, w, kwh, why);
}

static void *poll_thread(void *arg)
{
	struct redfish_meter *m = arg;
	uint64_t next = 0;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		uint64_t now = mono_ns();
		struct timespec ts;

		if (now >= next) {
			next = now + m->interval_ns;
			pthread_mutex_unlock(&m->lock);
			poll_once(m);
			pthread_mutex_lock(&m->lock);
			continue;
		}
		ts.tv_sec = (time_t)(next / NSEC_PER_SEC);
		ts.tv_nsec = (long)(next % NSEC_PER_SEC);
		pthread_cond_timedwait(&m->cond, &m->lock, &ts);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

static int redfish_read(struct power_meter *pm, const struct meter_input *in,
			struct energy_reading *out, char *err, size_t errsz)
{
	struct redfish_meter *m = power_meter_container(pm, struct redfish_meter);
	uint64_t uj = 0;
	int r;

	*out = (struct energy_reading){.has_platform = true};
	pthread_mutex_lock(&m->lock);
	r = redfish_energy_read(&m->energy, in->now_ns, &uj);
	if (r == 0) {
		out->platform_valid = true;
		out->platform_uj = uj;
	} else {
		uint64_t age = in->now_ns > m->since_ns ? in->now_ns - m->since_ns : 0;

		errf(err, errsz, r, "no reading from %s since %" PRIu64 " s: %s", m->origin,
		     (uint64_t)(age / NSEC_PER_SEC),
		     m->last_err[0] ? m->last_err
		     : r == -ESTALE ? "the last one is older than 3 intervals"
				    : "waiting for the first one");
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

/* DELETE the session with a short timeout on a client of its own (the poller's is stopped). */
static void logout(struct redfish_meter *m)
{
	struct http_client_opts lo = m->opts;
	struct http_client *c = NULL;
	struct http_response resp;
	char url[2 * REDFISH_PATH_MAX], why[WHY_MAX];
	const char *hdrs[] = {m->token, NULL};

	if (!m->token || !m->session_path)
		return;
	lo.timeout_ms = LOGOUT_TIMEOUT_MS;
	lo.connect_timeout_ms = 0;
	if (http_client_new(&c, &lo, why, sizeof(why)) < 0)
		return;
	snprintf(url, sizeof(url), "%s%s", m->origin, m->session_path);
	if (http_client_request(
		c, &(struct http_request){.method = "DELETE", .url = url, .headers = hdrs}, &resp,
		why, sizeof(why)) < 0)
		log_debug("redfish: %s: logout: %s", m->origin, why);
	http_client_free(c);
}

/* Read a small file whole, for the credentials and the node map. */
static int slurp(const char *key, const char *path, char **ret, size_t *ret_len, char *err,
		 size_t errsz)
{
	int r = read_file_alloc(path, FILE_MAX, ret, ret_len);

	if (r < 0)
		return errf(err, errsz, r, "%s: cannot read %s: %s", key, path, strerror(-r));
	return 0;
}

/* Endpoint, credentials and TLS from the configuration; only configuration faults fail. */
static int configure(struct redfish_meter *m, const struct kepler_config *cfg, char *err,
		     size_t errsz)
{
	struct http_client_opts *o = &m->opts;
	char node[256], url[REDFISH_PATH_MAX], why[256] = "";
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	r = config_node_name(cfg, node, sizeof(node));
	if (r < 0)
		return errf(err, errsz, r, "cannot tell this node's name: %s", strerror(-r));
	if (cfg->redfish_nodes_file && *cfg->redfish_nodes_file) {
		if (cfg->redfish_endpoint && *cfg->redfish_endpoint)
			return errf(err, errsz, -EINVAL,
				    "power.redfish.endpoint and power.redfish.nodesFile: set "
				    "one of them");
		r = slurp("power.redfish.nodesFile", cfg->redfish_nodes_file, &text, &len, err,
			  errsz);
		if (r < 0)
			return r;
		r = redfish_parse_nodes(text, len, node, &m->cred, why, sizeof(why));
		explicit_bzero(text, len);
		if (r < 0)
			return errf(err, errsz, r, "power.redfish.nodesFile: %s: %s",
				    cfg->redfish_nodes_file, why);
		snprintf(url, sizeof(url), "%s", m->cred.endpoint);
		m->cred_origin = strdup(cfg->redfish_nodes_file);
	} else {
		r = redfish_endpoint_for(cfg->redfish_endpoint, node, url, sizeof(url));
		if (r < 0)
			return errf(err, errsz, r,
				    "power.redfish.endpoint: cannot put this node's name "
				    "\"%s\" in %s",
				    node, cfg->redfish_endpoint);
		if (cfg->redfish_credentials_file && *cfg->redfish_credentials_file) {
			r = slurp("power.redfish.credentialsFile", cfg->redfish_credentials_file,
				  &text, &len, err, errsz);
			if (r < 0)
				return r;
			r = redfish_parse_credentials(text, len, &m->cred, why, sizeof(why));
			explicit_bzero(text, len);
			if (r < 0)
				return errf(err, errsz, r, "power.redfish.credentialsFile: %s: %s",
					    cfg->redfish_credentials_file, why);
			m->cred_origin = strdup(cfg->redfish_credentials_file);
		}
	}
	if (redfish_origin(url, m->origin, sizeof(m->origin)) < 0)
		return errf(err, errsz, -EINVAL,
			    "%s: the endpoint is not an http:// or https:// URL without user "
			    "info (credentials go in power.redfish.credentialsFile)",
			    cfg->redfish_nodes_file && *cfg->redfish_nodes_file
				? "power.redfish.nodesFile"
				: "power.redfish.endpoint");
	if (cfg->redfish_ca_file && *cfg->redfish_ca_file && access(cfg->redfish_ca_file, R_OK) < 0)
		return errf(err, errsz, -errno, "power.redfish.caFile: cannot read %s: %s",
			    cfg->redfish_ca_file, strerror(errno));
	if (cfg->redfish_chassis && *cfg->redfish_chassis) {
		m->chassis_want = strdup(cfg->redfish_chassis);
		if (!m->chassis_want)
			return -ENOMEM;
	}
	if (cfg->redfish_ca_file && *cfg->redfish_ca_file) {
		m->ca_file = strdup(cfg->redfish_ca_file);
		if (!m->ca_file)
			return -ENOMEM;
	}
	*o = (struct http_client_opts){
	    .timeout_ms = cfg->redfish_timeout_ns / NSEC_PER_MSEC,
	    .max_body = REDFISH_MAX_BODY,
	    .ca_file = m->ca_file,
	    .insecure = cfg->redfish_insecure_skip_verify || m->cred.insecure,
	};
	o->connect_timeout_ms =
	    o->timeout_ms < CONNECT_TIMEOUT_MAX_MS ? o->timeout_ms : CONNECT_TIMEOUT_MAX_MS;
	if (o->insecure && startswith(m->origin, "https://"))
		log_warn("redfish: %s: the BMC's certificate is not verified "
			 "(power.redfish.insecureSkipVerify): anyone on the path can read its "
			 "credentials",
			 m->origin);
	if (m->cred.username && startswith(m->origin, "http://"))
		log_warn("redfish: %s: credentials go over plain HTTP", m->origin);
	return 0;
}

static void redfish_close(struct power_meter *pm);

static int redfish_open(struct power_meter **ret, const struct kepler_config *cfg, char *err,
			size_t errsz)
{
	struct redfish_meter *m;
	pthread_condattr_t ca;
	sigset_t all, saved;
	char why[256] = "";
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->base.ops = &redfish_meter_ops;
	m->base.has_platform = true;
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &ca);
	pthread_condattr_destroy(&ca);
	m->interval_ns = cfg->redfish_interval_ns;
	redfish_energy_init(&m->energy, m->interval_ns);
	m->since_ns = mono_ns();

	r = configure(m, cfg, err, errsz);
	if (r < 0)
		goto fail;
	r = http_client_new(&m->http, &m->opts, why, sizeof(why));
	if (r < 0) {
		errf(err, errsz, r, "%s", why);
		goto fail;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	r = -pthread_create(&m->thread, NULL, poll_thread, m);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (r < 0) {
		http_client_free(m->http);
		m->http = NULL;
		errf(err, errsz, r, "cannot start the poll thread: %s", strerror(-r));
		goto fail;
	}
	pthread_setname_np(m->thread, "kepler-redfish");
	*ret = &m->base;
	return 0;
fail:
	redfish_close(&m->base);
	return r;
}

static void redfish_close(struct power_meter *pm)
{
	struct redfish_meter *m = power_meter_container(pm, struct redfish_meter);

	if (m->http) {
		pthread_mutex_lock(&m->lock);
		m->stop = true;
		pthread_cond_signal(&m->cond);
		pthread_mutex_unlock(&m->lock);
		http_client_stop(m->http);
		pthread_join(m->thread, NULL);
		http_client_free(m->http);
		logout(m);
	}
	clear_session(m);
	redfish_bmc_clear(&m->cred);
	free(m->cred_origin);
	free(m->chassis_want);
	free(m->ca_file);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

const struct power_meter_ops redfish_meter_ops = {
    .name = "redfish",
    .open = redfish_open,
    .read = redfish_read,
    .close = redfish_close,
};
