// SPDX-License-Identifier: Apache-2.0
/*
 * The kubelet client: the /pods parser from a table of bodies, then the client
 * against a real HTTP server on 127.0.0.1 (tests/integration/kubelet_server.py,
 * run with python3) in every fault mode. Without python3 it says so and exits 77.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "util/timeutil.h"
#include "util/util.h"
#include "workload/kubelet.h"

#define SERVER_PY FIXTURES "/../integration/kubelet_server.py"

/*
 * How long to wait for something that must happen (a poll, a request): generous, for an
 * ASan build on a busy machine. A wait that runs out is a failure, but no test measures
 * speed with it.
 */
#define WAIT_MS 30000
/* Longer than any test may run: a poll period or request timeout that never elapses. */
#define NEVER_MS 600000

#define A64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define B64 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define C64 "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define D64 "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define E64 "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
#define UID1 "6f1d3c1e-2b7a-4a8e-9d2e-0c6b7f1a2b3c"
#define UID2 "0b9e8d7c-6a5f-4e3d-2c1b-a09f8e7d6c5b"
#define UID3 "d41d8cd98f00b204e9800998ecf8427e" /* a static pod: the manifest hash */

/* Bodies are written with ' for " to stay readable; q() swaps them. */
static char *q(const char *s)
{
	char *r = strdup(s);

	assert_non_null(r);
	for (char *p = r; *p; p++)
		if (*p == '\'')
			*p = '"';
	return r;
}

/* A node with a running pod (init, two runtimes, an ephemeral debugger), a pending one, a static
 * one. */
#define NODE_PODS                                                                                  \
	"{'kind':'PodList','apiVersion':'v1','metadata':{},'items':["                              \
	"{'metadata':{'name':'web-7d4b9c-x2x9z','generateName':'web-7d4b9c-','namespace':'shop',"  \
	"'uid':'" UID1 "','labels':{'app':'web'},'ownerReferences':[{'kind':'ReplicaSet'}]},"      \
	"'spec':{'nodeName':'node-1','containers':[{'name':'nginx','image':'nginx:1.25'}]},"       \
	"'status':{'phase':'Running','podIP':'10.0.0.5','qosClass':'Burstable',"                   \
	"'initContainerStatuses':[{'name':'init-db','containerID':'cri-o://" B64 "',"              \
	"'state':{'terminated':{'exitCode':0,'reason':'Completed'}},'ready':true}],"               \
	"'containerStatuses':[{'name':'nginx','containerID':'containerd://" A64 "','ready':true,"  \
	"'restartCount':0,'started':true,'state':{'running':{'startedAt':'2024-05-01T10:00:00Z'}}" \
	"},"                                                                                       \
	"{'name':'sidecar','containerID':'docker://" C64 "','ready':true}],"                       \
	"'ephemeralContainerStatuses':[{'name':'debugger-8xk2p','containerID':'containerd://" D64  \
	"'}]}},"                                                                                   \
	"{'metadata':{'name':'batch-0','namespace':'jobs','uid':'" UID2 "'},"                      \
	"'status':{'phase':'Pending','conditions':[],'containerStatuses':["                        \
	"{'name':'app','state':{'waiting':{'reason':'ContainerCreating'}},'ready':false},"         \
	"{'name':'log','containerID':'','state':{'waiting':{}}},"                                  \
	"{'name':'old','containerID':null}]}},"                                                    \
	"{'metadata':{'name':'etcd-node-1','namespace':'kube-system','uid':'" UID3 "'},"           \
	"'status':{'containerStatuses':[{'name':'etcd','containerID':'containerd://" E64 "'}]}}"   \
	"]}"

struct want {
	const char *id, *name, *uid, *pod, *ns;
};

struct parse_case {
	const char *what;
	const char *body; /* ' for " */
	int ret;
	const char *err; /* substring of err on failure */
	struct want want[6];
};

static const struct parse_case parse_cases[] = {
    {"node with running, pending, init, ephemeral and static pods",
     NODE_PODS,
     5,
     NULL,
     {{A64, "nginx", UID1, "web-7d4b9c-x2x9z", "shop"},
      {C64, "sidecar", UID1, "web-7d4b9c-x2x9z", "shop"},
      {B64, "init-db", UID1, "web-7d4b9c-x2x9z", "shop"},
      {D64, "debugger-8xk2p", UID1, "web-7d4b9c-x2x9z", "shop"},
      {E64, "etcd", UID3, "etcd-node-1", "kube-system"}}},
    {"empty list", "{'kind':'PodList','apiVersion':'v1','metadata':{},'items':[]}", 0, NULL, {}},
    {"empty list as Go writes it", "{'kind':'PodList','metadata':{},'items':null}", 0, NULL, {}},
    {"no kind is fine", "{'items':[]}", 0, NULL, {}},
    {"pod without status (just created)",
     "{'items':[{'metadata':{'name':'p','namespace':'n','uid':'" UID1 "'}}]}",
     0,
     NULL,
     {}},
    {"status null",
     "{'items':[{'metadata':{'name':'p','namespace':'n','uid':'u'},'status':null}]}",
     0,
     NULL,
     {}},
    {"id without a runtime prefix",
     "{'items':[{'metadata':{'name':'p','namespace':'n','uid':'u'},'status':{"
     "'containerStatuses':[{'name':'c','containerID':'" A64 "'}]}}]}",
     1,
     NULL,
     {{A64, "c", "u", "p", "n"}}},
    {"ids that cannot match a cgroup are skipped",
     "{'items':[{'metadata':{'name':'p','namespace':'n','uid':'u'},'status':{"
     "'containerStatuses':[{'name':'short','containerID':'containerd://abc'},"
     "{'name':'upper','containerID':'docker://"
     "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789'},"
     "{'name':'long','containerID':'containerd://" A64 "0'},"
     "{'name':'bare','containerID':'containerd://'},"
     "{'name':'ok','containerID':'cri-o://" B64 "'}]}}]}",
     1,
     NULL,
     {{B64, "ok", "u", "p", "n"}}},
    {"not JSON", "hello", -EBADMSG, "not JSON", {}},
    {"empty body", "", -EBADMSG, "not JSON", {}},
    {"trailing garbage", "{'items':[]} x", -EBADMSG, "not JSON", {}},
    {"top-level array", "[{'items':[]}]", -EBADMSG, "top level: not an object", {}},
    {"top-level string", "'PodList'", -EBADMSG, "not JSON", {}},
    {"a Status instead of a PodList",
     "{'kind':'Status','apiVersion':'v1','status':'Failure','message':'Unauthorized','code':401}",
     -EBADMSG,
     "kind: not \"PodList\" but Status",
     {}},
    {"kind not a string", "{'kind':7,'items':[]}", -EBADMSG, "kind: not \"PodList\"", {}},
    {"items missing", "{'kind':'PodList'}", -EBADMSG, "items: missing", {}},
    {"items an object", "{'items':{}}", -EBADMSG, "items: not an array", {}},
    {"item not an object", "{'items':[1]}", -EBADMSG, "items[0]: not an object", {}},
    {"metadata missing", "{'items':[{'status':{}}]}", -EBADMSG, "items[0].metadata: missing", {}},
    {"metadata a string",
     "{'items':[{'metadata':'x'}]}",
     -EBADMSG,
     "items[0].metadata: not an object",
     {}},
    {"uid a number",
     "{'items':[{'metadata':{'name':'p','namespace':'n','uid':5}}]}",
     -EBADMSG,
     "items[0].metadata.uid: not a string",
     {}},
    {"uid too long",
     "{'items':[{'metadata':{'name':'p','namespace':'n','uid':'" UID1 "-x'}}]}",
     -EBADMSG,
     "items[0].metadata.uid: longer than 36 bytes",
     {}},
    {"uid empty",
     "{'items':[{'metadata':{'name':'p','namespace':'n','uid':''}}]}",
     -EBADMSG,
     "items[0].metadata.uid: empty",
     {}},
    {"namespace missing",
     "{'items':[{'metadata':{'name':'p','uid':'u'}}]}",
     -EBADMSG,
     "items[0].metadata.namespace: missing",
     {}},
    {"name null",
     "{'items':[{'metadata':{'name':null,'namespace':'n','uid':'u'}}]}",
     -EBADMSG,
     "items[0].metadata.name: not a string",
     {}},
    {"status an array",
     "{'items':[{'metadata':{'name':'p','namespace':'n','uid':'u'},'status':[]}]}",
     -EBADMSG,
     "items[0].status: not an object",
     {}},
    {"containerStatuses an object",
     "{'items':[{'metadata':{'name':'p','namespace':'n','uid':'u'},'status':{"
     "'containerStatuses':{}}}]}",
     -EBADMSG,
     "items[0].status.containerStatuses: not an array",
     {}},
    {"initContainerStatuses a string",
     "{'items':[{'metadata':{'name':'p','namespace':'n','uid':'u'},'status':{"
     "'initContainerStatuses':'x'}}]}",
     -EBADMSG,
     "items[0].status.initContainerStatuses: not an array",
     {}},
    {"container status not an object",
     "{'items':[{'metadata':{'name':'p','namespace':'n','uid':'u'},'status':{"
     "'ephemeralContainerStatuses':[[]]}}]}",
     -EBADMSG,
     "items[0].status.ephemeralContainerStatuses[0]: not an object",
     {}},
    {"container name missing",
     "{'items':[{'metadata':{'name':'p','namespace':'n','uid':'u'},'status':{"
     "'containerStatuses':[{'containerID':'containerd://" A64 "'}]}}]}",
     -EBADMSG,
     "items[0].status.containerStatuses[0].name: missing",
     {}},
    {"containerID a number, second pod",
     "{'items':[{'metadata':{'name':'p','namespace':'n','uid':'u'}},"
     "{'metadata':{'name':'p2','namespace':'n','uid':'u2'},'status':{"
     "'containerStatuses':[{'name':'a','containerID':'" A64 "'},{'name':'b','containerID':42}]}}]}",
     -EBADMSG,
     "items[1].status.containerStatuses[1].containerID: not a string",
     {}},
    {"NUL inside a string",
     "{'items':[{'metadata':{'name':'p\\u0000x','namespace':'n','uid':'u'}}]}",
     -EBADMSG,
     "not JSON",
     {}},
};

static void check_case(const struct parse_case *c, const char *body, size_t len)
{
	struct pod_container *v = (void *)-1;
	char err[256] = "";
	int r;

	r = kubelet_parse_pods(body, len, &v, err, sizeof(err));
	if (r != c->ret)
		fail_msg("%s: returned %d, want %d (err: %s)", c->what, r, c->ret, err);
	if (r < 0) {
		assert_ptr_equal(v, (void *)-1); /* untouched */
		if (!strstr(err, c->err))
			fail_msg("%s: err \"%s\" lacks \"%s\"", c->what, err, c->err);
		return;
	}
	if (r == 0)
		assert_null(v);
	for (int i = 0; i < r && i < (int)ARRAY_SIZE(c->want); i++) {
		const struct want *w = &c->want[i];

		if (!w->id)
			break;
		assert_string_equal(v[i].container_id, w->id);
		assert_string_equal(v[i].container_name, w->name);
		assert_string_equal(v[i].pod_uid, w->uid);
		assert_string_equal(v[i].pod_name, w->pod);
		assert_string_equal(v[i].pod_namespace, w->ns);
	}
	free(v);
}

static void test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		_cleanup_free_ char *body = q(parse_cases[i].body);

		check_case(&parse_cases[i], body, strlen(body));
	}
}

/* Every prefix of a good body is refused, none crashes. */
static void test_parse_truncated(void **state)
{
	_cleanup_free_ char *body = q(NODE_PODS);
	size_t len = strlen(body);
	struct pod_container *v = NULL;
	char err[256];

	(void)state;
	for (size_t n = 0; n < len; n += 7) {
		int r = kubelet_parse_pods(body, n, &v, err, sizeof(err));

		if (r != -EBADMSG)
			fail_msg("prefix of %zu bytes: returned %d", n, r);
		assert_non_null(strstr(err, "not JSON"));
	}
	/* The length is honoured: no NUL needed, bytes past it not read. */
	assert_int_equal(kubelet_parse_pods(body, len, &v, err, sizeof(err)), 5);
	free(v);
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * n + tl + 1), *p;

	assert_non_null(s);
	p = stpcpy(s, head);
	for (size_t i = 0; i < n; i++)
		p = stpcpy(p, unit);
	strcpy(p, tail);
	return s;
}

static void test_parse_deep_nesting(void **state)
{
	_cleanup_free_ char *arrays = repeat("", "[", 1000000, "");
	_cleanup_free_ char *objects = repeat("", "{\"a\":", 200000, "1");
	_cleanup_free_ char *inside =
	    repeat("{\"items\":[{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"uid\":\"u\","
		   "\"labels\":",
		   "[", 5000, "");
	struct pod_container *v = NULL;
	char err[256];

	(void)state;
	assert_int_equal(kubelet_parse_pods(arrays, strlen(arrays), &v, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "depth"));
	assert_int_equal(kubelet_parse_pods(objects, strlen(objects), &v, err, sizeof(err)),
			 -EBADMSG);
	assert_int_equal(kubelet_parse_pods(inside, strlen(inside), &v, err, sizeof(err)),
			 -EBADMSG);
	assert_null(v);
}

static void test_parse_bounded(void **state)
{
	const char *unit = "{\"name\":\"c\",\"containerID\":\"containerd://" A64 "\"},";
	const char *head = "{\"items\":[{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"uid\":"
			   "\"u\"},\"status\":{\"containerStatuses\":[";
	_cleanup_free_ char *ok = repeat(head, unit, 1000, "{\"name\":\"last\"}]}}]}");
	_cleanup_free_ char *big =
	    repeat(head, unit, KUBELET_MAX_CONTAINERS + 1, "{\"name\":\"last\"}]}}]}");
	struct pod_container *v = NULL;
	char err[256];

	(void)state;
	assert_int_equal(kubelet_parse_pods(ok, strlen(ok), &v, err, sizeof(err)), 1000);
	assert_string_equal(v[999].container_id, A64);
	free(v);
	v = NULL;
	assert_int_equal(kubelet_parse_pods(big, strlen(big), &v, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "more than 100000 containers"));
	assert_null(v);
	/* No room for the message is fine. */
	assert_int_equal(kubelet_parse_pods("x", 1, &v, NULL, 0), -EBADMSG);
}

struct url_case {
	const char *url, *node_ip;
	int ret;
	const char *want;
};

static void test_base_url(void **state)
{
	static const struct url_case cases[] = {
	    {"", NULL, 0, "https://127.0.0.1:10250"},
	    {NULL, NULL, 0, "https://127.0.0.1:10250"},
	    {"", "10.1.2.3", 0, "https://10.1.2.3:10250"},
	    {"", "fd00::5", 0, "https://[fd00::5]:10250"},
	    {"https://node-1:10250/", "10.1.2.3", 0, "https://node-1:10250"},
	    {"http://127.0.0.1:8080", NULL, 0, "http://127.0.0.1:8080"},
	    {"ftp://x", NULL, -EINVAL, NULL},
	    {"127.0.0.1:10250", NULL, -EINVAL, NULL},
	};
	struct kepler_config cfg = {0};
	char buf[256], err[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct url_case *c = &cases[i];

		cfg.kube_kubelet_url = (char *)c->url;
		if (c->node_ip)
			setenv("NODE_IP", c->node_ip, 1);
		else
			unsetenv("NODE_IP");
		strcpy(buf, "untouched");
		assert_int_equal(kubelet_base_url(&cfg, buf, sizeof(buf), err, sizeof(err)),
				 c->ret);
		if (c->ret == 0)
			assert_string_equal(buf, c->want);
		else
			assert_non_null(strstr(err, "kube.kubeletURL"));
	}
	unsetenv("NODE_IP");
	cfg.kube_kubelet_url = NULL;
	assert_int_equal(kubelet_base_url(&cfg, buf, 8, err, sizeof(err)), -ENAMETOOLONG);
}

static void test_new_bad_url(void **state)
{
	struct kepler_config cfg = {.kube_kubelet_url = (char *)"unix:///run/kubelet.sock"};
	struct kubelet *k = (void *)-1;
	char err[256];

	(void)state;
	assert_int_equal(kubelet_new(&k, &cfg, err, sizeof(err)), -EINVAL);
	assert_ptr_equal(k, (void *)-1);
	assert_non_null(strstr(err, "kube.kubeletURL"));
	kubelet_free(NULL);
}

/* ---- the client against a real server ---- */

struct server {
	pid_t pid;
	FILE *in, *out;
	int port;
	char dir[64];
	char pods[128], token[128], url[64];
};

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fputs(s, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void server_cmd(struct server *s, const char *cmd, char *reply, size_t size)
{
	char buf[1024];

	fprintf(s->in, "%s\n", cmd);
	fflush(s->in);
	assert_non_null(fgets(buf, sizeof(buf), s->out));
	buf[strcspn(buf, "\n")] = '\0';
	if (reply)
		snprintf(reply, size, "%s", buf);
	else if (!streq(buf, "ok"))
		fail_msg("server: %s: %s", cmd, buf);
}

static void server_mode(struct server *s, const char *mode)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "mode %s", mode);
	server_cmd(s, cmd, NULL, 0);
}

static void server_set_pods(struct server *s, const char *body)
{
	_cleanup_free_ char *b = q(body);
	char tmp[160];

	/* Atomic replace: the server never serves half a file. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->pods);
	write_file(tmp, b);
	assert_int_equal(rename(tmp, s->pods), 0);
}

static unsigned server_requests(struct server *s, char *auth, size_t authsz)
{
	char reply[1024], *p;
	unsigned n = 0;

	server_cmd(s, "stats", reply, sizeof(reply));
	assert_int_equal(sscanf(reply, "{\"requests\": %u", &n), 1);
	if (auth) {
		p = strstr(reply, "\"authorization\": ");
		assert_non_null(p);
		snprintf(auth, authsz, "%s", p + strlen("\"authorization\": "));
		auth[strcspn(auth, "}")] = '\0';
	}
	return n;
}

static void server_start(struct server *s, const char *pods)
{
	int to_child[2], from_child[2];
	posix_spawn_file_actions_t fa;
	char line[64];
	char *argv[] = {(char *)"python3", (char *)SERVER_PY, (char *)"--pods", s->pods, NULL};

	memset(s, 0, sizeof(*s));
	strcpy(s->dir, "/tmp/test_kubelet.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->pods, sizeof(s->pods), "%s/pods.json", s->dir);
	snprintf(s->token, sizeof(s->token), "%s/token", s->dir);
	server_set_pods(s, pods);
	write_file(s->token, "tok-one.abc\n");

	assert_int_equal(pipe2(to_child, O_CLOEXEC), 0);
	assert_int_equal(pipe2(from_child, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, to_child[0], 0);
	posix_spawn_file_actions_adddup2(&fa, from_child[1], 1);
	assert_int_equal(posix_spawnp(&s->pid, "python3", &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(to_child[0]);
	close(from_child[1]);
	s->in = fdopen(to_child[1], "w");
	s->out = fdopen(from_child[0], "r");
	assert_non_null(s->in);
	assert_non_null(s->out);
	assert_non_null(fgets(line, sizeof(line), s->out));
	assert_int_equal(sscanf(line, "port %d", &s->port), 1);
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
}

static void server_stop(struct server *s)
{
	char path[160];
	int status;

	fprintf(s->in, "quit\n");
	fclose(s->in);
	fclose(s->out);
	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(path, sizeof(path), "%s/pods.json", s->dir);
	unlink(path);
	unlink(s->token);
	rmdir(s->dir);
}

static struct kubelet *client(struct server *s, uint64_t poll_ms, uint64_t timeout_ms,
			      uint64_t refresh_ms)
{
	struct kepler_config cfg = {
	    .kube_enabled = true, .kube_kubelet_url = s->url, .kube_token_file = s->token};
	struct kubelet_opts o = KUBELET_OPTS_DEFAULT;
	struct kubelet *k = NULL;
	char err[256] = "";

	o.poll_ns = poll_ms * NSEC_PER_MSEC;
	o.timeout_ms = timeout_ms;
	o.refresh_min_ns = refresh_ms * NSEC_PER_MSEC;
	if (kubelet_new_opts(&k, &cfg, &o, err, sizeof(err)) < 0)
		fail_msg("kubelet_new: %s", err);
	return k;
}

static struct kubelet_stats stats(struct kubelet *k)
{
	struct kubelet_stats st;

	kubelet_stats(k, &st);
	return st;
}

/* Wait (up to WAIT_MS) for the poll count to reach polls; returns the stats then. */
static struct kubelet_stats wait_polls(struct kubelet *k, uint64_t polls)
{
	uint64_t end = mono_ns() + WAIT_MS * NSEC_PER_MSEC;
	struct kubelet_stats st;

	for (;;) {
		st = stats(k);
		if (st.polls >= polls)
			return st;
		if (mono_ns() > end)
			fail_msg("waited %u ms for poll %" PRIu64 ", have %" PRIu64, WAIT_MS, polls,
				 st.polls);
		usleep(5000);
	}
}

/* Wait (up to WAIT_MS) for a good poll; returns the stats then. */
static struct kubelet_stats wait_up(struct kubelet *k)
{
	uint64_t end = mono_ns() + WAIT_MS * NSEC_PER_MSEC;
	struct kubelet_stats st;

	while (!(st = stats(k)).up) {
		if (mono_ns() > end)
			fail_msg("waited %u ms for a good poll", WAIT_MS);
		usleep(5000);
	}
	return st;
}

static void expect_pod(struct kubelet *k, const char *id, const char *name, const char *pod)
{
	struct pod_container c;

	memset(&c, 0, sizeof(c));
	assert_int_equal(kubelet_lookup(k, id, &c), 0);
	assert_string_equal(c.container_id, id);
	assert_string_equal(c.container_name, name);
	assert_string_equal(c.pod_name, pod);
}

static void test_client_index(void **state)
{
	struct server s;
	struct kubelet *k;
	struct kubelet_stats st;
	struct pod_container c = {.container_name = "untouched"};
	char auth[256];

	(void)state;
	server_start(&s, NODE_PODS);
	k = client(&s, 30000, 5000, 5000);
	st = wait_polls(k, 1);
	assert_true(st.up);
	assert_int_equal(st.errors, 0);
	assert_int_equal(st.containers, 5);
	expect_pod(k, A64, "nginx", "web-7d4b9c-x2x9z");
	expect_pod(k, B64, "init-db", "web-7d4b9c-x2x9z");
	expect_pod(k, D64, "debugger-8xk2p", "web-7d4b9c-x2x9z");
	assert_int_equal(kubelet_lookup(k, E64, &c), 0);
	assert_string_equal(c.pod_uid, UID3);
	assert_string_equal(c.pod_namespace, "kube-system");
	memset(&c, 0, sizeof(c));
	strcpy(c.container_name, "untouched");
	assert_int_equal(kubelet_lookup(k, "f00d", &c), -ENOENT);
	assert_string_equal(c.container_name, "untouched");
	assert_int_equal(kubelet_lookup(k, "", &c), -ENOENT);

	/* The token file's content, trailing newline dropped, as a bearer token. */
	assert_int_equal(server_requests(&s, auth, sizeof(auth)), 1);
	assert_string_equal(auth, "\"Bearer tok-one.abc\"");
	kubelet_free(k);
	server_stop(&s);
}

#define ONE_POD(id)                                                                                \
	"{'kind':'PodList','items':[{'metadata':{'name':'p','namespace':'n','uid':'u'},"           \
	"'status':{'containerStatuses':[{'name':'c','containerID':'containerd://" id "'}]}}]}"
#define TWO_PODS                                                                                   \
	"{'kind':'PodList','items':[{'metadata':{'name':'p','namespace':'n','uid':'u'},"           \
	"'status':{'containerStatuses':[{'name':'c','containerID':'containerd://" A64 "'}]}},"     \
	"{'metadata':{'name':'new','namespace':'n','uid':'u2'},"                                   \
	"'status':{'containerStatuses':[{'name':'c2','containerID':'containerd://" B64 "'}]}}]}"

static void test_client_miss_refreshes(void **state)
{
	struct server s;
	struct kubelet *k;
	struct pod_container c;
	struct kubelet_stats st;
	uint64_t end, polls0, t0, took;
	char auth[256];

	(void)state;
	server_start(&s, ONE_POD(A64));
	k = client(&s, NEVER_MS, 5000, 300);
	wait_polls(k, 1);
	expect_pod(k, A64, "c", "p");

	/* A new pod and a new token: the regular poll never comes, a miss brings one. */
	server_set_pods(&s, TWO_PODS);
	write_file(s.token, "tok-two\n");
	assert_int_equal(kubelet_lookup(k, B64, &c), -ENOENT);
	st = wait_polls(k, 2);
	assert_true(st.up);
	assert_int_equal(st.containers, 2);
	expect_pod(k, B64, "c2", "new");
	server_requests(&s, auth, sizeof(auth));
	assert_string_equal(auth, "\"Bearer tok-two\"");

	/*
	 * A flood of unknown ids for at least 1 s and until it has brought two refreshes: at
	 * most one refresh per 300 ms of the time it took (a slow machine only makes fewer).
	 */
	polls0 = stats(k).polls;
	t0 = mono_ns();
	end = t0 + WAIT_MS * NSEC_PER_MSEC;
	do {
		assert_int_equal(kubelet_lookup(k, C64, &c), -ENOENT);
		usleep(200);
		st = stats(k);
		if (mono_ns() > end)
			fail_msg("a flood of misses brought %" PRIu64 " refreshes in %u ms",
				 st.polls - polls0, WAIT_MS);
	} while (mono_ns() - t0 < 1000 * NSEC_PER_MSEC || st.polls < polls0 + 2);
	took = mono_ns() - t0;
	print_message("flood: %" PRIu64 " refreshes in %" PRIu64 " ms\n", st.polls - polls0,
		      (uint64_t)(took / NSEC_PER_MSEC));
	assert_true(st.polls - polls0 <= 1 + took / (300 * NSEC_PER_MSEC));
	kubelet_free(k);

	/* With the defaults, a flood right after the start poll brings no request within 1 s. */
	k = client(&s, 30000, 5000, 5000);
	wait_polls(k, 1);
	end = mono_ns() + 1000 * NSEC_PER_MSEC;
	while (mono_ns() < end) {
		assert_int_equal(kubelet_lookup(k, D64, &c), -ENOENT);
		usleep(200);
	}
	assert_int_equal(stats(k).polls, 1);
	kubelet_free(k);
	server_stop(&s);
}

static void test_client_faults(void **state)
{
	static const char *const modes[] = {"down", "500",	   "malformed",
					    "huge", "huge-stream", "hang"};
	struct server s;
	struct kubelet *k;
	struct kubelet_stats st;

	(void)state;
	server_start(&s, NODE_PODS);
	/* Poll every 200 ms, give up a request after 1 s. */
	k = client(&s, 200, 1000, 200);
	st = wait_polls(k, 1);
	assert_true(st.up);
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		uint64_t errors = st.errors, t0;

		print_message("mode %s\n", modes[i]);
		/* Something else in the good list, so keeping the old index shows. */
		server_set_pods(&s, ONE_POD(C64));
		server_mode(&s, modes[i]);
		t0 = mono_ns();
		/* The poll in flight may still see "ok"; two more polls are faults. */
		st = wait_polls(k, stats(k).polls + 2);
		if (st.errors < errors + 1 || st.up)
			fail_msg("mode %s: errors %" PRIu64 " -> %" PRIu64 ", up %d", modes[i],
				 errors, st.errors, st.up);
		if (streq(modes[i], "hang"))
			assert_true(mono_ns() - t0 >= 900 * NSEC_PER_MSEC);
		/* The last good index is kept. */
		expect_pod(k, A64, "nginx", "web-7d4b9c-x2x9z");
		assert_int_equal(st.containers, 5);

		server_set_pods(&s, NODE_PODS);
		server_mode(&s, "ok");
		st = wait_up(k);
		expect_pod(k, A64, "nginx", "web-7d4b9c-x2x9z");
	}
	kubelet_free(k);
	server_stop(&s);
}

static void test_client_bad_token(void **state)
{
	struct server s;
	struct kubelet *k;
	struct kubelet_stats st;
	char auth[64];

	(void)state;
	server_start(&s, NODE_PODS);
	unlink(s.token);
	k = client(&s, 200, 1000, 200);
	st = wait_polls(k, 2);
	/* A configured token file that is missing: no request goes out without it. */
	assert_false(st.up);
	assert_true(st.errors >= 2);
	assert_int_equal(server_requests(&s, auth, sizeof(auth)), 0);
	write_file(s.token, "back\n");
	st = wait_polls(k, st.polls + 2);
	assert_true(st.up);
	server_requests(&s, auth, sizeof(auth));
	assert_string_equal(auth, "\"Bearer back\"");
	kubelet_free(k);
	server_stop(&s);
}

/* Wait (up to WAIT_MS) until the test kubelet has received its nth request since it started. */
static void wait_requests(struct server *s, unsigned n)
{
	uint64_t end = mono_ns() + WAIT_MS * NSEC_PER_MSEC;

	while (server_requests(s, NULL, 0) < n) {
		if (mono_ns() > end)
			fail_msg("waited %u ms for request %u", WAIT_MS, n);
		usleep(5000);
	}
}

/*
 * Lookups never wait for the network: with a kubelet that holds the request for longer
 * than any test runs, a poll is in flight (the server has the request, the client counts
 * no finished poll) and lookups still answer "not known yet"; a miss only asks for a
 * refresh. Were a lookup to wait for the poll, it would not return before the test's
 * timeout.
 */
static void test_lookup_never_waits(void **state)
{
	struct server s;
	struct kubelet *k;
	struct kubelet_stats st;
	struct pod_container c;

	(void)state;
	server_start(&s, NODE_PODS);
	server_mode(&s, "hang");
	k = client(&s, NEVER_MS, NEVER_MS, 0);
	wait_requests(&s, 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(kubelet_lookup(k, A64, &c), -ENOENT);
	st = stats(k);
	assert_int_equal(st.polls, 0); /* the first poll is still in flight */
	assert_false(st.up);
	assert_int_equal(st.containers, 0);
	assert_int_equal(server_requests(&s, NULL, 0), 1);

	/*
	 * The kubelet drops the held request (a failed poll); the misses above asked for a
	 * refresh, and once it answers, the same lookup finds the pod.
	 */
	server_mode(&s, "ok");
	wait_up(k);
	expect_pod(k, A64, "nginx", "web-7d4b9c-x2x9z");
	kubelet_free(k);
	server_stop(&s);
}

/*
 * kubelet_free stops the poll thread without waiting for the next poll or for a request
 * in flight: the poll period and the request timeout are longer than any test runs, so a
 * free that waited for either would not return before the test's timeout.
 */
static void test_free_is_prompt(void **state)
{
	struct server s;
	struct kubelet *k;

	(void)state;
	server_start(&s, NODE_PODS);
	/* Idle between polls. */
	k = client(&s, NEVER_MS, NEVER_MS, NEVER_MS);
	wait_polls(k, 1);
	kubelet_free(k);

	/* In the middle of a request that the kubelet never answers. */
	server_mode(&s, "hang");
	k = client(&s, NEVER_MS, NEVER_MS, NEVER_MS);
	wait_requests(&s, 2);
	assert_int_equal(stats(k).polls, 0); /* still waiting */
	kubelet_free(k);
	assert_int_equal(server_requests(&s, NULL, 0), 2); /* and nobody answered it */

	/* Right after the start, before anything answered. */
	k = client(&s, NEVER_MS, NEVER_MS, NEVER_MS);
	kubelet_free(k);
	server_mode(&s, "ok");
	server_stop(&s);
}

int main(void)
{
	const struct CMUnitTest parse[] = {
	    cmocka_unit_test(test_parse_table),	       cmocka_unit_test(test_parse_truncated),
	    cmocka_unit_test(test_parse_deep_nesting), cmocka_unit_test(test_parse_bounded),
	    cmocka_unit_test(test_base_url),	       cmocka_unit_test(test_new_bad_url),
	};
	const struct CMUnitTest client[] = {
	    cmocka_unit_test(test_client_index),       cmocka_unit_test(test_client_miss_refreshes),
	    cmocka_unit_test(test_client_faults),      cmocka_unit_test(test_client_bad_token),
	    cmocka_unit_test(test_lookup_never_waits), cmocka_unit_test(test_free_is_prompt),
	};
	int r;

	signal(SIGPIPE, SIG_IGN);
	r = cmocka_run_group_tests_name("parse", parse, NULL, NULL);
	if (system("python3 -c 'import http.server' >/dev/null 2>&1") != 0) {
		printf("SKIP client tests: python3 is needed to run %s\n", SERVER_PY);
		return r ? r : 77;
	}
	return r | cmocka_run_group_tests_name("client", client, NULL, NULL);
}
