// SPDX-License-Identifier: Apache-2.0
/*
 * The kubelet client: a poll thread that fetches /pods and publishes an index
 * container id -> pod, and lookups that read that index under a short lock.
 */
#include "workload/kubelet.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util/errf.h"
#include "util/fileio.h"
#include "util/hashmap.h"
#include "util/httpclient.h"
#include "util/timeutil.h"
#include "util/util.h"

#define DEFAULT_TOKEN_FILE "/var/run/secrets/kubernetes.io/serviceaccount/token"
#define DEFAULT_CA_FILE "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
#define TOKEN_MAX (64 * 1024)
#define URL_MAX 2048

/* An immutable snapshot: the containers and a table of pointers into them by container id. */
struct pod_index {
	struct pod_container *v;
	size_t n;
	struct hashmap *by_id;
};

static const struct hashmap_ops by_id_ops = HASHMAP_OPS_STR(struct pod_container, container_id);

struct kubelet {
	struct kubelet_opts opts;
	char url[URL_MAX]; /* .../pods */
	char *token_file;
	bool token_default; /* a missing default token file means: send none */
	char *ca_file;	    /* NULL: curl's default store */
	bool insecure;

	struct http_client *http; /* kept across polls: keeps the connection to the kubelet */

	pthread_t thread;
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t cond;
	bool stop;
	bool refresh_wanted;
	uint64_t next_poll_ns;
	uint64_t last_poll_ns;
	struct pod_index *index;
	struct kubelet_stats stats;

	/* Poll thread only. */
	bool warned; /* one warning per outage */
	bool ever_up;
};

static void index_free(struct pod_index *ix)
{
	if (!ix)
		return;
	hashmap_free(ix->by_id);
	free(ix->v);
	free(ix);
}

/* Takes v; a duplicate id keeps its first entry. */
static struct pod_index *index_build(struct pod_container *v, size_t n)
{
	struct pod_index *ix = calloc(1, sizeof(*ix));

	if (!ix) {
		free(v);
		return NULL;
	}
	ix->v = v;
	ix->n = n;
	ix->by_id = hashmap_new(&by_id_ops, NULL, n); /* sized for n: no growth while filling */
	if (!ix->by_id) {
		index_free(ix);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		hashmap_put(ix->by_id, &v[i], NULL); /* cannot fail: no growth */
	return ix;
}

static const struct pod_container *index_find(const struct pod_index *ix, const char *id)
{
	return ix ? hashmap_get(ix->by_id, id) : NULL;
}

int kubelet_base_url(const struct kepler_config *cfg, char *buf, size_t size, char *err,
		     size_t errsz)
{
	const char *u = cfg->kube_kubelet_url;
	int n;

	if (u && *u) {
		if (!startswith(u, "https://") && !startswith(u, "http://")) {
			errf(err, errsz, 0, "kube.kubeletURL: %s: not an http:// or https:// URL",
			     u);
			return -EINVAL;
		}
		n = snprintf(buf, size, "%s", u);
	} else {
		const char *ip = getenv("NODE_IP");

		if (ip && *ip) {
			bool v6 = strchr(ip, ':') && ip[0] != '[';

			n = snprintf(buf, size, "https://%s%s%s:10250", v6 ? "[" : "", ip,
				     v6 ? "]" : "");
		} else {
			n = snprintf(buf, size, "https://127.0.0.1:10250");
		}
	}
	if (n < 0 || (size_t)n >= size) {
		errf(err, errsz, 0, "kube.kubeletURL: too long");
		return -ENAMETOOLONG;
	}
	while (n > 0 && buf[n - 1] == '/')
		buf[--n] = '\0';
	return 0;
}

/* The token file's content without trailing whitespace into buf; 0 when there is none to send. */
static int read_token(struct kubelet *k, char *buf, size_t size, char *why, size_t whysz)
{
	const char *root = k->token_file[0] == '/' ? "" : ".";
	int r = read_file_at(root, k->token_file, buf, size);
	size_t n;

	if (r == -ENOENT && k->token_default) {
		buf[0] = '\0';
		return 0;
	}
	if (r < 0) {
		errf(why, whysz, 0, "token file %s: %s", k->token_file, strerror(-r));
		return r;
	}
	n = (size_t)r;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
			 buf[n - 1] == '\t'))
		n--;
	buf[n] = '\0';
	if (strpbrk(buf, "\r\n")) {
		errf(why, whysz, 0, "token file %s: holds a line break", k->token_file);
		return -EINVAL;
	}
	return 0;
}

/* One request; 0 and a new index in *ret, or -errno with why filled. */
static int fetch(struct kubelet *k, struct pod_index **ret, char *why, size_t whysz)
{
	char token[TOKEN_MAX], perr[256], snippet[201];
	_cleanup_free_ char *auth = NULL;
	const char *hdrs[2] = {NULL, NULL};
	struct pod_container *v = NULL;
	struct http_response resp;
	int r, n;

	r = read_token(k, token, sizeof(token), why, whysz);
	if (r < 0)
		return r;
	if (token[0] && asprintf(&auth, "Authorization: Bearer %s", token) < 0) {
		auth = NULL;
		explicit_bzero(token, sizeof(token));
		errf(why, whysz, 0, "out of memory");
		return -ENOMEM;
	}
	explicit_bzero(token, sizeof(token));
	hdrs[0] = auth;
	r = http_client_request(k->http, &(struct http_request){.url = k->url, .headers = hdrs},
				&resp, why, whysz);
	if (auth)
		explicit_bzero(auth, strlen(auth));
	if (r < 0)
		return r == -EKEYREJECTED ? -EIO : r;
	if (resp.status != 200) {
		/* The kubelet says which user and resource it refused: worth showing (RBAC). */
		http_body_snippet(resp.body, resp.body_len, snippet, sizeof(snippet));
		errf(why, whysz, 0, "HTTP %ld%s%s", resp.status, snippet[0] ? ": " : "", snippet);
		return -EIO;
	}
	n = kubelet_parse_pods(resp.body, resp.body_len, &v, perr, sizeof(perr));
	if (n < 0) {
		errf(why, whysz, 0, "bad /pods response: %s", perr);
		return n;
	}
	*ret = index_build(v, (size_t)n);
	if (!*ret) {
		errf(why, whysz, 0, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static void poll_once(struct kubelet *k)
{
	struct pod_index *ix = NULL, *old = NULL;
	char why[512] = "";
	int r;

	r = fetch(k, &ix, why, sizeof(why));
	/* A body kept between polls would hold up to max_body for nothing. */
	http_client_drop_body(k->http);
	/* A parse leaves many small blocks free; hand them back so the resident size stays small.
	 */
	malloc_trim(0);
	if (r == -ECANCELED)
		return;

	pthread_mutex_lock(&k->lock);
	k->stats.polls++;
	if (r < 0) {
		k->stats.errors++;
		k->stats.up = false;
	} else {
		old = k->index;
		k->index = ix;
		k->stats.up = true;
		k->stats.containers = ix->n;
	}
	pthread_mutex_unlock(&k->lock);
	index_free(old);

	if (r < 0) {
		if (!k->warned)
			log_warn("kubelet: %s: %s; pods keep their container ids until it answers",
				 k->url, why);
		else
			log_debug("kubelet: %s: %s", k->url, why);
		k->warned = true;
		return;
	}
	if (k->warned)
		log_info("kubelet: %s: answering again, %zu containers", k->url, ix->n);
	else if (!k->ever_up)
		log_info("kubelet: %s: %zu containers", k->url, ix->n);
	else
		log_debug("kubelet: %s: %zu containers", k->url, ix->n);
	k->warned = false;
	k->ever_up = true;
}

static void *poll_thread(void *arg)
{
	struct kubelet *k = arg;

	pthread_mutex_lock(&k->lock);
	while (!k->stop) {
		uint64_t now = mono_ns(), due = k->next_poll_ns;
		struct timespec ts;

		if (k->refresh_wanted && k->last_poll_ns + k->opts.refresh_min_ns < due)
			due = k->last_poll_ns + k->opts.refresh_min_ns;
		if (now >= due) {
			k->refresh_wanted = false;
			k->last_poll_ns = now;
			k->next_poll_ns = now + k->opts.poll_ns;
			pthread_mutex_unlock(&k->lock);
			poll_once(k);
			pthread_mutex_lock(&k->lock);
			continue;
		}
		ts.tv_sec = (time_t)(due / NSEC_PER_SEC);
		ts.tv_nsec = (long)(due % NSEC_PER_SEC);
		pthread_cond_timedwait(&k->cond, &k->lock, &ts);
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

static int setup_http(struct kubelet *k, char *err, size_t errsz)
{
	struct http_client_opts o = {
	    .timeout_ms = k->opts.timeout_ms,
	    .max_body = k->opts.max_body,
	    .ca_file = k->ca_file,
	    .insecure = k->insecure,
	};
	char why[256] = "";
	int r = http_client_new(&k->http, &o, why, sizeof(why));

	if (r < 0)
		errf(err, errsz, 0, "kubelet: %s", why[0] ? why : strerror(-r));
	return r;
}

static void kubelet_destroy(struct kubelet *k)
{
	http_client_free(k->http);
	index_free(k->index);
	free(k->token_file);
	free(k->ca_file);
	pthread_cond_destroy(&k->cond);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

int kubelet_new_opts(struct kubelet **ret, const struct kepler_config *cfg,
		     const struct kubelet_opts *opts, char *err, size_t errsz)
{
	struct kubelet *k;
	pthread_condattr_t ca;
	sigset_t all, saved;
	const char *tf, *cf;
	int r;

	if (errsz)
		err[0] = '\0';
	if (opts->poll_ns == 0 || opts->timeout_ms == 0 || opts->timeout_ms > LONG_MAX ||
	    opts->max_body == 0) {
		errf(err, errsz, 0, "kubelet: bad options");
		return -EINVAL;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	pthread_mutex_init(&k->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&k->cond, &ca);
	pthread_condattr_destroy(&ca);
	k->opts = *opts;

	r = kubelet_base_url(cfg, k->url, sizeof(k->url) - 5, err, errsz);
	if (r < 0)
		goto fail;
	strcat(k->url, "/pods");

	tf = cfg->kube_token_file && *cfg->kube_token_file ? cfg->kube_token_file : NULL;
	k->token_default = !tf;
	k->token_file = strdup(tf ? tf : DEFAULT_TOKEN_FILE);
	cf = cfg->kube_ca_file && *cfg->kube_ca_file ? cfg->kube_ca_file : NULL;
	/* The default CA is used when it exists; otherwise curl's own store. */
	if (cf || access(DEFAULT_CA_FILE, R_OK) == 0) {
		k->ca_file = strdup(cf ? cf : DEFAULT_CA_FILE);
		if (!k->ca_file) {
			r = -ENOMEM;
			goto fail;
		}
	}
	k->insecure = cfg->kube_insecure_skip_verify;
	if (!k->token_file) {
		r = -ENOMEM;
		goto fail;
	}
	r = setup_http(k, err, errsz);
	if (r < 0)
		goto fail;

	k->next_poll_ns = 0; /* poll at once */
	/* Signals stay with the threads that handle them; the poll thread starts with all blocked.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	r = -pthread_create(&k->thread, NULL, poll_thread, k);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (r == 0)
		pthread_setname_np(k->thread, "kepler-kubelet");
	if (r < 0) {
		errf(err, errsz, 0, "kubelet: cannot start the poll thread: %s", strerror(-r));
		goto fail;
	}
	*ret = k;
	return 0;
fail:
	kubelet_destroy(k);
	return r;
}

int kubelet_new(struct kubelet **ret, const struct kepler_config *cfg, char *err, size_t errsz)
{
	struct kubelet_opts o = KUBELET_OPTS_DEFAULT;

	return kubelet_new_opts(ret, cfg, &o, err, errsz);
}

int kubelet_lookup(struct kubelet *k, const char *container_id, struct pod_container *ret)
{
	const struct pod_container *c;
	int r = 0;

	pthread_mutex_lock(&k->lock);
	c = index_find(k->index, container_id);
	if (c) {
		*ret = *c;
	} else {
		r = -ENOENT;
		if (!k->refresh_wanted) {
			k->refresh_wanted = true;
			pthread_cond_signal(&k->cond);
		}
	}
	pthread_mutex_unlock(&k->lock);
	return r;
}

void kubelet_stats(struct kubelet *k, struct kubelet_stats *ret)
{
	pthread_mutex_lock(&k->lock);
	*ret = k->stats;
	pthread_mutex_unlock(&k->lock);
}

void kubelet_free(struct kubelet *k)
{
	if (!k)
		return;
	pthread_mutex_lock(&k->lock);
	k->stop = true;
	pthread_cond_signal(&k->cond);
	pthread_mutex_unlock(&k->lock);
	http_client_stop(k->http);
	pthread_join(k->thread, NULL);
	kubelet_destroy(k);
}
