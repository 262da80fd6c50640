// SPDX-License-Identifier: Apache-2.0
/*
 * The Redfish JSON walker and the meter's files: pure functions over jansson
 * values and text, tolerant of what real BMCs send (members missing, null or
 * strings, wrong counts, odd @odata.id spellings).
 */
#include "power/redfish.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "power/internal.h"
#include "util/errf.h"
#include "util/util.h"
#include "util/yamlutil.h"

/* 10 MW, as POWER_MAX_UW: a larger reading is garbage. */
#define REDFISH_MAX_W 1e7

int redfish_number(const json_t *v, double *ret)
{
	double d;

	if (!v || json_is_null(v))
		return -ENODATA;
	if (json_is_integer(v)) {
		d = (double)json_integer_value(v);
	} else if (json_is_real(v)) {
		d = json_real_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;

		while (isspace((unsigned char)*s))
			s++;
		/* strtod would take "0x1p3", "inf" and "nan": decimal digits only. */
		if (!*s || !(isdigit((unsigned char)*s) ||
			     ((*s == '-' || *s == '+' || *s == '.') &&
			      (isdigit((unsigned char)s[1]) || s[1] == '.'))))
			return -EINVAL;
		for (const char *p = s; *p; p++)
			if (*p == 'x' || *p == 'X')
				return -EINVAL;
		errno = 0;
		d = strtod(s, &end);
		while (isspace((unsigned char)*end))
			end++;
		if (*end || errno)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (!isfinite(d))
		return -EINVAL;
	*ret = d;
	return 0;
}

int redfish_norm_path(const char *id, char *buf, size_t size)
{
	size_t n;

	if (!id || id[0] != '/' || id[1] == '/')
		return -EINVAL; /* not a path ("//host/..." is a URL without its scheme) */
	n = strcspn(id, "#?");
	while (n > 1 && id[n - 1] == '/')
		n--;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] <= 0x20 || id[i] == 0x7f)
			return -EINVAL; /* a URL cannot carry it as is */
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(buf, id, n);
	buf[n] = '\0';
	return 0;
}

static int link_of(const json_t *o, char *buf, size_t size)
{
	const json_t *id = json_object_get(o, "@odata.id");

	if (!id || json_is_null(id))
		return -ENODATA;
	if (!json_is_string(id))
		return -EINVAL;
	return redfish_norm_path(json_string_value(id), buf, size);
}

int redfish_member_link(const json_t *obj, const char *name, char *buf, size_t size)
{
	const json_t *m = json_object_get(obj, name);

	if (!m || json_is_null(m))
		return -ENODATA;
	return link_of(m, buf, size);
}

int redfish_collection(const json_t *coll, size_t max, char ***ret_paths, size_t *ret_n)
{
	const json_t *members = json_object_get(coll, "Members"), *m;
	char path[REDFISH_PATH_MAX], **v, *p;
	size_t n = 0, bytes = 0, i;

	if (!json_is_array(members))
		return -EBADMSG;
	json_array_foreach(members, i, m)
	{
		if (n == max)
			break;
		if (link_of(m, path, sizeof(path)) == 0) {
			n++;
			bytes += strlen(path) + 1;
		}
	}
	v = malloc((n + 1) * sizeof(char *) + bytes);
	if (!v)
		return -ENOMEM;
	p = (char *)(v + n + 1);
	n = 0;
	json_array_foreach(members, i, m)
	{
		if (n == max || bytes == 0)
			break;
		if (link_of(m, path, sizeof(path)) == 0) {
			v[n++] = p;
			p = stpcpy(p, path) + 1;
		}
	}
	v[n] = NULL;
	*ret_paths = v;
	*ret_n = n;
	return 0;
}

static void copy_str(char *dst, size_t size, const json_t *v)
{
	const char *s = json_is_string(v) ? json_string_value(v) : "";

	snprintf(dst, size, "%s", s);
}

int redfish_parse_chassis(const json_t *c, const char *path, struct redfish_chassis *ret)
{
	const json_t *links = json_object_get(c, "Links"), *cb, *contains, *sys, *m;
	char p[REDFISH_PATH_MAX];
	size_t i;

	if (!json_is_object(c))
		return -EBADMSG;
	*ret = (struct redfish_chassis){0};
	if (link_of(c, ret->path, sizeof(ret->path)) < 0 &&
	    redfish_norm_path(path, ret->path, sizeof(ret->path)) < 0)
		snprintf(ret->path, sizeof(ret->path), "%s", path);
	copy_str(ret->id, sizeof(ret->id), json_object_get(c, "Id"));
	copy_str(ret->type, sizeof(ret->type), json_object_get(c, "ChassisType"));
	/* ContainedBy is one link; some BMCs send an array of one. */
	cb = json_object_get(links, "ContainedBy");
	if (json_is_array(cb))
		cb = json_array_get(cb, 0);
	if (link_of(cb, p, sizeof(p)) == 0)
		snprintf(ret->contained_by, sizeof(ret->contained_by), "%s", p);
	sys = json_object_get(links, "ComputerSystems");
	ret->has_system = json_is_array(sys) && json_array_size(sys) > 0;
	contains = json_object_get(links, "Contains");
	if (json_is_array(contains) && json_array_size(contains)) {
		ret->contains = calloc(json_array_size(contains), sizeof(char *));
		if (!ret->contains)
			return -ENOMEM;
		json_array_foreach(contains, i, m)
		{
			if (link_of(m, p, sizeof(p)) < 0)
				continue;
			ret->contains[ret->n_contains] = strdup(p);
			if (!ret->contains[ret->n_contains]) {
				redfish_chassis_release(ret);
				return -ENOMEM;
			}
			ret->n_contains++;
		}
	}
	if (redfish_member_link(c, "EnvironmentMetrics", ret->env, sizeof(ret->env)) < 0)
		ret->env[0] = '\0';
	if (redfish_member_link(c, "PowerSubsystem", ret->subsystem, sizeof(ret->subsystem)) < 0)
		ret->subsystem[0] = '\0';
	if (redfish_member_link(c, "Power", ret->power, sizeof(ret->power)) < 0)
		ret->power[0] = '\0';
	return 0;
}

void redfish_chassis_release(struct redfish_chassis *c)
{
	for (size_t i = 0; i < c->n_contains; i++)
		free(c->contains[i]);
	free(c->contains);
	c->contains = NULL;
	c->n_contains = 0;
}

/* Index of the chassis at path, or n. */
static size_t find_chassis(const struct redfish_chassis *v, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (streq(v[i].path, path))
			return i;
	return n;
}

/* Whether chassis k is contained by chassis j (either side may say so). */
static bool contains(const struct redfish_chassis *v, size_t n, size_t j, size_t k)
{
	if (j == k)
		return false;
	if (v[k].contained_by[0] && find_chassis(v, n, v[k].contained_by) == j)
		return true;
	for (size_t i = 0; i < v[j].n_contains; i++)
		if (streq(v[j].contains[i], v[k].path))
			return true;
	return false;
}

int redfish_chassis_order(const struct redfish_chassis *v, size_t n, const char *want,
			  size_t *order, bool *ret_ambiguous)
{
	size_t w = 0, first_kind = 0;

	*ret_ambiguous = false;
	if (want && *want) {
		char p[REDFISH_PATH_MAX];
		bool is_path = redfish_norm_path(want, p, sizeof(p)) == 0;

		for (size_t i = 0; i < n; i++)
			if ((is_path && streq(v[i].path, p)) || streq(v[i].id, want)) {
				order[0] = i;
				return 1;
			}
		return -ENOENT;
	}
	/* First kind: links a system, and no chassis that links a system contains it. */
	for (size_t k = 0; k < n; k++) {
		bool inside_node = false;

		if (!v[k].has_system)
			continue;
		for (size_t j = 0; j < n && !inside_node; j++)
			inside_node = v[j].has_system && contains(v, n, j, k);
		if (!inside_node)
			order[w++] = k;
	}
	first_kind = w;
	/* Second kind: contained by no chassis. */
	for (size_t k = 0; k < n; k++) {
		bool inside = false, listed = false;

		for (size_t i = 0; i < first_kind; i++)
			listed |= order[i] == k;
		for (size_t j = 0; j < n && !inside; j++)
			inside = contains(v, n, j, k);
		if (!inside && !listed)
			order[w++] = k;
	}
	*ret_ambiguous = first_kind > 1;
	return (int)w;
}

/* obj.name.Reading as watts: 0, -ENODATA, -EINVAL, -ERANGE. */
static int watts_at(const json_t *v, double *ret)
{
	double d;
	int r = redfish_number(v, &d);

	if (r < 0)
		return r;
	if (d < 0 || d > REDFISH_MAX_W)
		return -ERANGE;
	*ret = d;
	return 0;
}

int redfish_parse_env(const json_t *j, double *ret_w, double *ret_kwh)
{
	double w, kwh;
	int r;

	r = watts_at(json_object_get(json_object_get(j, "PowerWatts"), "Reading"), &w);
	if (r < 0)
		return r;
	/* 10 MW for a century is below 1e10 kWh: a larger counter is garbage. */
	if (redfish_number(json_object_get(json_object_get(j, "EnergykWh"), "Reading"), &kwh) < 0 ||
	    kwh < 0 || kwh > 1e10)
		kwh = -1;
	*ret_w = w;
	*ret_kwh = kwh;
	return 0;
}

static bool whole_chassis_context(const json_t *ctx)
{
	const char *s;

	if (!ctx || json_is_null(ctx))
		return true;
	s = json_is_string(ctx) ? json_string_value(ctx) : "";
	return streq(s, "Chassis") || streq(s, "SystemBoard") || streq(s, "PowerSupply");
}

int redfish_parse_power(const json_t *j, double *ret_w)
{
	const json_t *pc = json_object_get(j, "PowerControl"),
		     *psus = json_object_get(j, "PowerSupplies"), *e;
	double sum = 0, w;
	bool any = false;
	size_t i;

	json_array_foreach(pc, i, e)
	{
		if (watts_at(json_object_get(e, "PowerConsumedWatts"), &w) < 0)
			continue;
		if (whole_chassis_context(json_object_get(e, "PhysicalContext"))) {
			*ret_w = w;
			return 0;
		}
		sum += w;
		any = true;
	}
	if (!any)
		json_array_foreach(psus, i, e)
		{
			if (watts_at(json_object_get(e, "PowerInputWatts"), &w) < 0)
				continue;
			sum += w;
			any = true;
		}
	if (!any || sum > REDFISH_MAX_W)
		return -ENODATA;
	*ret_w = sum;
	return 0;
}

int redfish_parse_psu_metrics(const json_t *j, double *ret_w)
{
	return watts_at(json_object_get(json_object_get(j, "InputPowerWatts"), "Reading"), ret_w);
}

/* ---- files ---- */

static void free_secret(char **p)
{
	if (*p) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

void redfish_bmc_clear(struct redfish_bmc *b)
{
	free_secret(&b->endpoint);
	free_secret(&b->username);
	free_secret(&b->password);
	b->insecure = false;
}

/* A scalar's text, NULL when it is no scalar or holds a NUL byte. */
static const char *scalar(const yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE ||
	    strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
		return NULL;
	return (const char *)n->data.scalar.value;
}

struct bmc_walk {
	struct redfish_bmc *b;
	bool endpoint_allowed; /* the node map's entries; a credentials file has none */
	char *err;
	size_t errsz;
};

static int bmc_pair(void *userdata, const char *path, const char *name, yaml_node_t *key,
		    yaml_node_t *value)
{
	struct bmc_walk *w = userdata;
	const char *v = scalar(value);
	char **dst = NULL;

	(void)key;
	if (streq(name, "username"))
		dst = &w->b->username;
	else if (streq(name, "password"))
		dst = &w->b->password;
	else if (streq(name, "endpoint") && w->endpoint_allowed)
		dst = &w->b->endpoint;
	else if (streq(name, "insecure") && w->endpoint_allowed) {
		if (!v || !(streq(v, "true") || streq(v, "false")))
			return errf(w->err, w->errsz, -EINVAL, "%s: not true or false", path);
		w->b->insecure = streq(v, "true");
		return 0;
	} else
		return errf(w->err, w->errsz, -EINVAL, "%s: unknown key", path);
	if (!v || !*v || yaml_node_is_null(value))
		return errf(w->err, w->errsz, -EINVAL, "%s: not a non-empty string", path);
	free_secret(dst);
	*dst = strdup(v);
	return *dst ? 0 : errf(w->err, w->errsz, -ENOMEM, "out of memory");
}

static int walk_bmc(yaml_document_t *doc, yaml_node_t *m, const char *prefix, struct redfish_bmc *b,
		    bool endpoint_allowed, char *err, size_t errsz)
{
	struct bmc_walk w = {b, endpoint_allowed, err, errsz};
	struct yaml_walk_error e;
	int r = m ? yaml_walk_map(doc, m, prefix, bmc_pair, &w, &e) : 0; /* NULL: an empty file */

	if (r < 0 && e.msg[0])
		return errf(err, errsz, r, "line %zu: %s%s%s", e.mark.line + 1, e.key ? e.key : "",
			    e.key ? ": " : "", e.msg);
	if (r < 0)
		return r;
	if (!b->username || !b->password)
		return errf(err, errsz, -EINVAL, "%s%s%s missing", prefix, *prefix ? "." : "",
			    !b->username ? "username" : "password");
	if (endpoint_allowed && !b->endpoint)
		return errf(err, errsz, -EINVAL, "%s.endpoint missing", prefix);
	return 0;
}

int redfish_parse_credentials(const char *text, size_t len, struct redfish_bmc *ret, char *err,
			      size_t errsz)
{
	struct redfish_bmc b = {0};
	yaml_document_t doc;
	yaml_mark_t mark;
	char msg[256];
	int r;

	r = yaml_load_one(text, len, &doc, msg, sizeof(msg), &mark);
	if (r < 0)
		return errf(err, errsz, r, "line %zu: %s", mark.line + 1, msg);
	r = walk_bmc(&doc, yaml_document_get_root_node(&doc), "", &b, false, err, errsz);
	yaml_document_delete(&doc);
	if (r < 0) {
		redfish_bmc_clear(&b);
		return r;
	}
	*ret = b;
	return 0;
}

/* The value node of key name in mapping m; NULL when absent. */
static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *m, const char *name)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(yaml_document_get_node(doc, p->key));

		if (k && streq(k, name))
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

int redfish_parse_nodes(const char *text, size_t len, const char *node, struct redfish_bmc *ret,
			char *err, size_t errsz)
{
	struct redfish_bmc b = {0};
	yaml_node_t *root, *nodes, *bmcs, *entry;
	yaml_document_t doc;
	yaml_mark_t mark;
	const char *id;
	char msg[256], prefix[300];
	int r;

	r = yaml_load_one(text, len, &doc, msg, sizeof(msg), &mark);
	if (r < 0)
		return errf(err, errsz, r, "line %zu: %s", mark.line + 1, msg);
	root = yaml_document_get_root_node(&doc);
	nodes = map_get(&doc, root, "nodes");
	bmcs = map_get(&doc, root, "bmcs");
	if (!nodes || nodes->type != YAML_MAPPING_NODE || !bmcs ||
	    bmcs->type != YAML_MAPPING_NODE) {
		r = errf(err, errsz, -EINVAL, "needs the mappings nodes: and bmcs:");
		goto out;
	}
	id = scalar(map_get(&doc, nodes, node));
	if (!id) {
		r = errf(err, errsz, -ENOENT, "nodes: no entry for node \"%s\"", node);
		goto out;
	}
	entry = map_get(&doc, bmcs, id);
	if (!entry) {
		r = errf(err, errsz, -ENOENT, "bmcs: no entry \"%s\" (for node \"%s\")", id, node);
		goto out;
	}
	snprintf(prefix, sizeof(prefix), "bmcs.%s", id);
	r = walk_bmc(&doc, entry, prefix, &b, true, err, errsz);
out:
	yaml_document_delete(&doc);
	if (r < 0) {
		redfish_bmc_clear(&b);
		return r;
	}
	*ret = b;
	return 0;
}

static bool node_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.' && *s != '_')
			return false;
	return true;
}

int redfish_endpoint_for(const char *tmpl, const char *node, char *buf, size_t size)
{
	static const char tag[] = "{node}";
	size_t w = 0;

	if (strstr(tmpl, tag) && !(node && node_name_ok(node)))
		return -EINVAL;
	for (const char *p = tmpl; *p;) {
		const char *piece = p;
		size_t n = 1;

		if (strncmp(p, tag, sizeof(tag) - 1) == 0) {
			piece = node;
			n = strlen(node);
			p += sizeof(tag) - 1;
		} else {
			p++;
		}
		if (w + n >= size)
			return -ENAMETOOLONG;
		memcpy(buf + w, piece, n);
		w += n;
	}
	if (w >= size)
		return -ENAMETOOLONG;
	buf[w] = '\0';
	return 0;
}

int redfish_origin(const char *url, char *buf, size_t size)
{
	const char *host;
	size_t n;

	if (startswith(url, "https://"))
		host = url + 8;
	else if (startswith(url, "http://"))
		host = url + 7;
	else
		return -EINVAL;
	n = strcspn(host, "/?#");
	if (n == 0 || memchr(host, '@', n))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)host[i] <= 0x20 || host[i] == 0x7f)
			return -EINVAL;
	n += (size_t)(host - url);
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(buf, url, n);
	buf[n] = '\0';
	return 0;
}
