// SPDX-License-Identifier: Apache-2.0
#include "workload/cgroup.h"

#include <errno.h>
#include <string.h>

#include "util/util.h"

const char *container_runtime_name(enum container_runtime r)
{
	switch (r) {
	case RUNTIME_DOCKER:
		return "docker";
	case RUNTIME_CONTAINERD:
		return "containerd";
	case RUNTIME_CRIO:
		return "cri-o";
	case RUNTIME_PODMAN:
		return "podman";
	case RUNTIME_NONE:
		break;
	}
	return "";
}

/* A piece of the path: not NUL-terminated. */
struct span {
	const char *s;
	size_t n;
};

static bool span_eq(struct span a, const char *lit)
{
	size_t n = strlen(lit);

	return a.n == n && memcmp(a.s, lit, n) == 0;
}

static bool span_starts(struct span a, const char *lit)
{
	size_t n = strlen(lit);

	return a.n >= n && memcmp(a.s, lit, n) == 0;
}

static bool span_ends(struct span a, const char *lit)
{
	size_t n = strlen(lit);

	return a.n >= n && memcmp(a.s + a.n - n, lit, n) == 0;
}

static struct span span_skip(struct span a, size_t k)
{
	return (struct span){a.s + k, a.n - k};
}

static struct span span_cut(struct span a, size_t k)
{
	return (struct span){a.s, a.n - k};
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

static char lower(char c)
{
	return (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
}

/* Exactly 64 hex digits into ret (lowercase). */
static bool parse_container_id(struct span a, char ret[CONTAINER_ID_LEN + 1])
{
	if (a.n != CONTAINER_ID_LEN)
		return false;
	for (size_t i = 0; i < a.n; i++)
		if (hexval(a.s[i]) < 0)
			return false;
	for (size_t i = 0; i < a.n; i++)
		ret[i] = lower(a.s[i]);
	ret[a.n] = '\0';
	return true;
}

/*
 * A pod UID: 8-4-4-4-12 hex with '-' (cgroupfs driver) or '_' (systemd driver,
 * where '-' separates slice levels), written back with dashes; or the 32 hex
 * digits without dashes that static (mirror) pods have, kept as they are.
 */
static bool parse_pod_uid(struct span a, char ret[POD_UID_LEN + 1])
{
	if (a.n == 32) {
		for (size_t i = 0; i < a.n; i++)
			if (hexval(a.s[i]) < 0)
				return false;
		for (size_t i = 0; i < a.n; i++)
			ret[i] = lower(a.s[i]);
		ret[a.n] = '\0';
		return true;
	}
	if (a.n != POD_UID_LEN)
		return false;
	for (size_t i = 0; i < a.n; i++) {
		bool sep = i == 8 || i == 13 || i == 18 || i == 23;

		if (sep ? (a.s[i] != '-' && a.s[i] != '_') : hexval(a.s[i]) < 0)
			return false;
	}
	for (size_t i = 0; i < a.n; i++) {
		bool sep = i == 8 || i == 13 || i == 18 || i == 23;

		ret[i] = sep ? '-' : lower(a.s[i]);
	}
	ret[a.n] = '\0';
	return true;
}

/* Copy at most size-1 bytes, never ending inside a UTF-8 sequence. */
static void copy_truncated(char *dst, size_t size, const char *src, size_t n)
{
	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Undo systemd's unit name escaping (\xNN); an invalid or NUL escape stays literal. */
static void unescape_unit(struct span a, char *ret, size_t size)
{
	char buf[1024]; /* longer names are cut: a label value needs no more */
	size_t o = 0;

	for (size_t i = 0; i < a.n && o < sizeof(buf); i++) {
		char c = a.s[i];

		if (c == '\\' && i + 3 < a.n && a.s[i + 1] == 'x' && hexval(a.s[i + 2]) >= 0 &&
		    hexval(a.s[i + 3]) >= 0) {
			int v = hexval(a.s[i + 2]) * 16 + hexval(a.s[i + 3]);

			if (v != 0) {
				c = (char)v;
				i += 3;
			}
		}
		buf[o++] = c;
	}
	copy_truncated(ret, size, buf, o);
}

/* The libvirt machine name "qemu-N-name" (or older "qemu-name") without its prefix. */
static bool libvirt_guest(struct span unit, struct cgroup_info *info)
{
	char name[1024];
	const char *p;

	unescape_unit(unit, name, sizeof(name));
	if (!startswith(name, "qemu-"))
		return false;
	p = name + strlen("qemu-");
	if (*p >= '0' && *p <= '9') {
		const char *q = p;

		while (*q >= '0' && *q <= '9')
			q++;
		if (*q == '-')
			p = q + 1;
	}
	info->vm = true;
	copy_truncated(info->vm_name, sizeof(info->vm_name), p, strlen(p));
	return true;
}

struct walk {
	struct cgroup_info info;
	bool kubepods; /* below a kubepods level */
	const char *qos;
};

static void set_container(struct walk *w, enum container_runtime rt, bool conmon, const char *id)
{
	w->info.runtime = rt;
	w->info.conmon = conmon;
	memcpy(w->info.container_id, id, sizeof(w->info.container_id));
}

static void set_pod(struct walk *w, const char *uid)
{
	memcpy(w->info.pod_uid, uid, sizeof(w->info.pod_uid));
	strcpy(w->info.qos, w->qos ? w->qos : "guaranteed");
	/* A pod inside a container (a kind node): the node container is not the workload's. */
	set_container(w, RUNTIME_NONE, false, (char[CONTAINER_ID_LEN + 1]){""});
}

static const char *qos_of(struct span a)
{
	if (span_eq(a, "besteffort"))
		return "besteffort";
	if (span_eq(a, "burstable"))
		return "burstable";
	return NULL;
}

/*
 * A systemd slice name lists its ancestors joined by '-':
 * kubepods-burstable-pod<uid>.slice, kubelet-kubepods-besteffort-pod<uid>.slice.
 */
static void parse_slice(struct walk *w, struct span a)
{
	bool kubepods = w->kubepods;
	const char *qos = NULL;
	const char *p = a.s, *end = a.s + a.n;

	while (p < end) {
		const char *dash = memchr(p, '-', (size_t)(end - p));
		struct span t = {p, (size_t)((dash ? dash : end) - p)};
		char uid[POD_UID_LEN + 1];

		if (span_eq(t, "kubepods"))
			kubepods = true;
		else if (kubepods && qos_of(t))
			qos = qos_of(t);
		else if (kubepods && !dash && span_starts(t, "pod") &&
			 parse_pod_uid(span_skip(t, 3), uid)) {
			if (qos)
				w->qos = qos;
			w->kubepods = true;
			set_pod(w, uid);
			return;
		}
		p = dash ? dash + 1 : end;
	}
	if (kubepods) {
		w->kubepods = true;
		if (qos)
			w->qos = qos;
	}
}

static const struct {
	const char *prefix;
	enum container_runtime rt;
	bool conmon;
} scope_prefixes[] = {
    /* longer prefixes first: crio-conmon- before crio- */
    {"crio-conmon-", RUNTIME_CRIO, true},
    {"libpod-conmon-", RUNTIME_PODMAN, true},
    {"cri-containerd-", RUNTIME_CONTAINERD, false},
    {"nerdctl-", RUNTIME_CONTAINERD, false},
    {"docker-", RUNTIME_DOCKER, false},
    {"crio-", RUNTIME_CRIO, false},
    {"libpod-", RUNTIME_PODMAN, false},
};

/* <prefix><64hex>[.scope]: the systemd driver's scopes and CRI-O/podman's cgroupfs names. */
static bool parse_scope(struct walk *w, struct span a)
{
	char id[CONTAINER_ID_LEN + 1];

	if (span_ends(a, ".scope"))
		a = span_cut(a, strlen(".scope"));
	for (size_t i = 0; i < ARRAY_SIZE(scope_prefixes); i++) {
		if (!span_starts(a, scope_prefixes[i].prefix))
			continue;
		if (!parse_container_id(span_skip(a, strlen(scope_prefixes[i].prefix)), id))
			return false;
		set_container(w, scope_prefixes[i].rt, scope_prefixes[i].conmon, id);
		return true;
	}
	return false;
}

/*
 * "<slice>:<prefix>:<id>": a systemd-driver cgroup path that a runtime wrote
 * without converting it, e.g. kubepods-besteffort-pod<uid>.slice:cri-containerd:<id>.
 */
static bool parse_colon_triple(struct walk *w, struct span a)
{
	const char *c1 = memchr(a.s, ':', a.n), *c2;
	struct span slice, prefix, idspan;
	char id[CONTAINER_ID_LEN + 1];
	enum container_runtime rt;

	if (!c1)
		return false;
	c2 = memchr(c1 + 1, ':', (size_t)(a.s + a.n - c1 - 1));
	if (!c2)
		return false;
	slice = (struct span){a.s, (size_t)(c1 - a.s)};
	prefix = (struct span){c1 + 1, (size_t)(c2 - c1 - 1)};
	idspan = (struct span){c2 + 1, (size_t)(a.s + a.n - c2 - 1)};
	if (span_eq(prefix, "cri-containerd"))
		rt = RUNTIME_CONTAINERD;
	else if (span_eq(prefix, "crio"))
		rt = RUNTIME_CRIO;
	else if (span_eq(prefix, "docker"))
		rt = RUNTIME_DOCKER;
	else if (span_eq(prefix, "libpod"))
		rt = RUNTIME_PODMAN;
	else
		return false;
	if (!parse_container_id(idspan, id))
		return false;
	if (span_ends(slice, ".slice"))
		parse_slice(w, span_cut(slice, strlen(".slice")));
	set_container(w, rt, false, id);
	return true;
}

static void parse_component(struct walk *w, struct span a, struct span parent)
{
	char id[CONTAINER_ID_LEN + 1];
	char uid[POD_UID_LEN + 1];

	if (span_eq(a, ".") || span_eq(a, ".."))
		return;

	/* libvirt: machine-qemu\x2dN\x2d<name>.scope (systemd), qemu-N-<name>.libvirt-qemu (v1) */
	if (span_starts(a, "machine-") && span_ends(a, ".scope")) {
		libvirt_guest(span_cut(span_skip(a, strlen("machine-")), strlen(".scope")),
			      &w->info);
		return;
	}
	if (span_ends(a, ".libvirt-qemu")) {
		struct span name = span_cut(a, strlen(".libvirt-qemu"));
		char tmp[sizeof(w->info.vm_name)];

		if (libvirt_guest(name, &w->info))
			return;
		/* libvirt before 3.x: <name>.libvirt-qemu without the qemu-N- prefix */
		unescape_unit(name, tmp, sizeof(tmp));
		w->info.vm = true;
		strcpy(w->info.vm_name, tmp);
		return;
	}

	if (parse_scope(w, a) || parse_colon_triple(w, a))
		return;

	if (span_ends(a, ".slice")) {
		parse_slice(w, span_cut(a, strlen(".slice")));
		return;
	}

	/* kubelet's cgroupfs driver: /kubepods[/besteffort|/burstable]/pod<uid>/<id> */
	if (span_eq(a, "kubepods")) {
		w->kubepods = true;
		return;
	}
	if (w->kubepods && qos_of(a)) {
		w->qos = qos_of(a);
		return;
	}
	if (w->kubepods && span_starts(a, "pod") && parse_pod_uid(span_skip(a, 3), uid)) {
		set_pod(w, uid);
		return;
	}

	/* A bare id: its runtime comes from the level above. */
	if (parse_container_id(a, id)) {
		if (span_eq(parent, "docker"))
			set_container(w, RUNTIME_DOCKER, false, id);
		else if (span_eq(parent, "k8s.io") || w->info.pod_uid[0])
			set_container(w, RUNTIME_CONTAINERD, false, id);
	}
}

/* Components of path, outermost first; "" components (doubled slashes) are skipped. */
static void parse_components(struct walk *w, struct span path)
{
	struct span parent = {"", 0};
	const char *p = path.s, *end = path.s + path.n;

	while (p < end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		struct span a = {p, (size_t)((slash ? slash : end) - p)};

		p = slash ? slash + 1 : end;
		if (a.n == 0)
			continue;
		parse_component(w, a, parent);
		parent = a;
	}
	if (!w->info.pod_uid[0])
		w->info.qos[0] = '\0';
}

int cgroup_parse_path(const char *path, struct cgroup_info *ret)
{
	struct walk w = {};

	if (!path || path[0] != '/' || !ret)
		return -EINVAL;
	parse_components(&w, (struct span){path, strlen(path)});
	*ret = w.info;
	return 0;
}

/* The order in which /proc/<pid>/cgroup lines are preferred: lower first. */
static int line_rank(struct span hier, struct span ctrls)
{
	const char *p = ctrls.s, *end = ctrls.s + ctrls.n;
	bool systemd = false;

	if (span_eq(hier, "0") && ctrls.n == 0)
		return 0;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		struct span t = {p, (size_t)((comma ? comma : end) - p)};

		if (span_eq(t, "cpu") || span_eq(t, "cpuacct"))
			return 1;
		if (span_eq(t, "name=systemd"))
			systemd = true;
		p = comma ? comma + 1 : end;
	}
	return systemd ? 2 : 3;
}

/* 2: names a workload, 1: below the root, 0: the root. */
static int path_score(struct span path)
{
	struct walk w = {};

	if (strspn(path.s, "/") >= path.n)
		return 0;
	parse_components(&w, path);
	if (w.info.runtime != RUNTIME_NONE || w.info.pod_uid[0] || w.info.vm)
		return 2;
	return 1;
}

int cgroup_parse_proc_cgroup(const char *text, char *ret_path, size_t size)
{
	struct span best = {NULL, 0};
	int best_score = -1, best_rank = 4;
	const char *line = text;

	if (!text || !ret_path)
		return -EINVAL;
	while (*line) {
		const char *start = line;
		const char *eol = strchr(line, '\n');
		const char *end = eol ? eol : line + strlen(line);
		const char *c1 = memchr(start, ':', (size_t)(end - start)), *c2;
		struct span hier, ctrls, path;
		int score, rank;

		line = eol ? eol + 1 : end;
		if (!c1)
			continue;
		c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
		if (!c2)
			continue;
		/* The path is the rest after the second colon: it may hold colons itself. */
		hier = (struct span){start, (size_t)(c1 - start)};
		ctrls = (struct span){c1 + 1, (size_t)(c2 - c1 - 1)};
		path = (struct span){c2 + 1, (size_t)(end - c2 - 1)};
		if (hier.n == 0 || strspn(hier.s, "0123456789") < hier.n)
			continue;
		if (span_ends(path, " (deleted)"))
			path = span_cut(path, strlen(" (deleted)"));
		if (path.n == 0 || path.s[0] != '/')
			continue;
		score = path_score(path);
		rank = line_rank(hier, ctrls);
		if (score > best_score || (score == best_score && rank < best_rank)) {
			best = path;
			best_score = score;
			best_rank = rank;
		}
	}
	if (!best.s)
		return -ENOENT;
	if (best.n >= size)
		return -ENAMETOOLONG;
	memcpy(ret_path, best.s, best.n);
	ret_path[best.n] = '\0';
	return 0;
}
