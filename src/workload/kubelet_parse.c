// SPDX-License-Identifier: Apache-2.0
/* The kubelet /pods body (v1 PodList) to a flat list of containers. */
#include "workload/kubelet.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

struct parse {
	struct pod_container *v;
	size_t n;
	size_t cap;
	char *err;
	size_t errsz;
};

static int fail(struct parse *p, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct parse *p, int r, const char *fmt, ...)
{
	va_list ap;

	if (p->errsz) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->errsz, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* A required string member of obj that fits size (with its NUL). */
static int get_str(struct parse *p, json_t *obj, const char *key, char *buf, size_t size,
		   const char *where)
{
	json_t *v = json_object_get(obj, key);
	size_t len;

	if (!v)
		return fail(p, -EBADMSG, "%s.%s: missing", where, key);
	if (!json_is_string(v))
		return fail(p, -EBADMSG, "%s.%s: not a string", where, key);
	len = json_string_length(v);
	if (len == 0)
		return fail(p, -EBADMSG, "%s.%s: empty", where, key);
	if (len >= size || strlen(json_string_value(v)) != len)
		return fail(p, -EBADMSG, "%s.%s: longer than %zu bytes or holds NUL", where, key,
			    size - 1);
	memcpy(buf, json_string_value(v), len + 1);
	return 0;
}

static bool is_hex64(const char *s, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* One <kind>ContainerStatuses array of one pod; meta holds the pod's fields. */
static int parse_statuses(struct parse *p, json_t *status, const char *key,
			  const struct pod_container *meta, const char *where)
{
	json_t *arr = json_object_get(status, key);
	char here[128];
	size_t i;
	json_t *c;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return fail(p, -EBADMSG, "%s.status.%s: not an array", where, key);
	json_array_foreach(arr, i, c)
	{
		struct pod_container pc = *meta;
		json_t *idv;
		const char *id, *sep;
		int r;

		snprintf(here, sizeof(here), "%s.status.%s[%zu]", where, key, i);
		if (!json_is_object(c))
			return fail(p, -EBADMSG, "%s: not an object", here);
		r = get_str(p, c, "name", pc.container_name, sizeof(pc.container_name), here);
		if (r < 0)
			return r;
		idv = json_object_get(c, "containerID");
		if (!idv || json_is_null(idv))
			continue; /* not created yet */
		if (!json_is_string(idv))
			return fail(p, -EBADMSG, "%s.containerID: not a string", here);
		id = json_string_value(idv);
		sep = strstr(id, "://");
		if (sep)
			id = sep + 3;
		if (!is_hex64(id, strlen(id)))
			continue; /* empty (waiting) or a runtime whose ids no cgroup holds */
		memcpy(pc.container_id, id, 65);

		if (p->n == KUBELET_MAX_CONTAINERS)
			return fail(p, -E2BIG, "more than %d containers", KUBELET_MAX_CONTAINERS);
		if (p->n == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 64;
			struct pod_container *nv = reallocarray(p->v, cap, sizeof(*nv));

			if (!nv)
				return fail(p, -ENOMEM, "out of memory");
			p->v = nv;
			p->cap = cap;
		}
		p->v[p->n++] = pc;
	}
	return 0;
}

static int parse_pod(struct parse *p, json_t *pod, size_t idx)
{
	static const char *const lists[] = {"containerStatuses", "initContainerStatuses",
					    "ephemeralContainerStatuses"};
	struct pod_container meta = {0};
	char where[64], mwhere[80];
	json_t *md, *status;
	int r;

	snprintf(where, sizeof(where), "items[%zu]", idx);
	if (!json_is_object(pod))
		return fail(p, -EBADMSG, "%s: not an object", where);
	md = json_object_get(pod, "metadata");
	if (!md)
		return fail(p, -EBADMSG, "%s.metadata: missing", where);
	if (!json_is_object(md))
		return fail(p, -EBADMSG, "%s.metadata: not an object", where);
	snprintf(mwhere, sizeof(mwhere), "%s.metadata", where);
	r = get_str(p, md, "uid", meta.pod_uid, sizeof(meta.pod_uid), mwhere);
	if (r < 0)
		return r;
	r = get_str(p, md, "name", meta.pod_name, sizeof(meta.pod_name), mwhere);
	if (r < 0)
		return r;
	r = get_str(p, md, "namespace", meta.pod_namespace, sizeof(meta.pod_namespace), mwhere);
	if (r < 0)
		return r;

	status = json_object_get(pod, "status");
	if (!status || json_is_null(status))
		return 0; /* just created */
	if (!json_is_object(status))
		return fail(p, -EBADMSG, "%s.status: not an object", where);
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		r = parse_statuses(p, status, lists[i], &meta, where);
		if (r < 0)
			return r;
	}
	return 0;
}

int kubelet_parse_pods(const char *json, size_t len, struct pod_container **ret, char *err,
		       size_t errsz)
{
	struct parse p = {.err = err, .errsz = errsz};
	json_error_t jerr;
	json_t *root, *kind, *items, *pod;
	size_t i;
	int r = 0;

	if (errsz)
		err[0] = '\0';
	/* Without JSON_ALLOW_NUL, "\u0000" in a string is refused. */
	root = json_loadb(json, len, 0, &jerr);
	if (!root)
		return fail(&p, -EBADMSG, "not JSON: line %d column %d: %s", jerr.line, jerr.column,
			    jerr.text);
	if (!json_is_object(root)) {
		r = fail(&p, -EBADMSG, "top level: not an object");
		goto out;
	}
	kind = json_object_get(root, "kind");
	if (kind && !(json_is_string(kind) && streq(json_string_value(kind), "PodList"))) {
		r = fail(&p, -EBADMSG, "kind: not \"PodList\"%s%s",
			 json_is_string(kind) ? " but " : "",
			 json_is_string(kind) ? json_string_value(kind) : "");
		goto out;
	}
	items = json_object_get(root, "items");
	if (!items) {
		r = fail(&p, -EBADMSG, "items: missing");
		goto out;
	}
	if (!json_is_null(items) && !json_is_array(items)) { /* Go writes an empty list as null */
		r = fail(&p, -EBADMSG, "items: not an array");
		goto out;
	}
	json_array_foreach(items, i, pod)
	{
		r = parse_pod(&p, pod, i);
		if (r < 0)
			goto out;
	}
	r = (int)p.n;
out:
	json_decref(root);
	if (r < 0) {
		free(p.v);
		return r;
	}
	if (p.n == 0) {
		free(p.v);
		p.v = NULL;
	}
	*ret = p.v;
	return r;
}
