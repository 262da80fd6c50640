// SPDX-License-Identifier: Apache-2.0
/*
 * The DRM fdinfo parser: one "key:<whitespace>value[ unit]" pair a line, as
 * the kernel's drm-usage-stats document specifies, read tolerantly since the
 * drivers differ (amdgpu writes "drm-memory-gtt: \t", xe prints only cycles,
 * i915 prints capacities only for classes of more than one engine, amdgpu
 * leaves idle engines out).
 */
#include <errno.h>
#include <string.h>

#include "power/gpu_internal.h"
#include "util/util.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * An unsigned decimal at the start of v, then optionally whitespace and a unit
 * that must be one of units (NULL: no unit allowed), then the end.
 */
static int parse_value(const char *v, const char *unit, uint64_t *ret)
{
	uint64_t x = 0;
	const char *p = v;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (x > (UINT64_MAX - d) / 10)
			return -ERANGE;
		x = x * 10 + d;
	}
	while (is_space(*p))
		p++;
	if (*p && !(unit && streq(p, unit)))
		return -EINVAL;
	*ret = x;
	return 0;
}

/* The engine called name (created, capacity 1), or NULL when it cannot be held. */
static struct drm_fdinfo_engine *engine(struct drm_fdinfo *fi, const char *name)
{
	struct drm_fdinfo_engine *e;
	size_t len = strlen(name);

	if (len == 0 || len >= DRM_ENGINE_NAME_MAX)
		return NULL;
	for (size_t i = 0; i < fi->n_engines; i++)
		if (streq(fi->engines[i].name, name))
			return &fi->engines[i];
	if (fi->n_engines == DRM_FDINFO_MAX_ENGINES)
		return NULL;
	e = &fi->engines[fi->n_engines++];
	*e = (struct drm_fdinfo_engine){.capacity = 1};
	memcpy(e->name, name, len + 1);
	return e;
}

static void copy_str(char *dst, size_t size, const char *v)
{
	size_t len = strlen(v);

	if (len == 0 || len >= size)
		return;
	memcpy(dst, v, len + 1);
}

/* One line, key and value split and trimmed. */
static void parse_pair(struct drm_fdinfo *fi, const char *key, const char *v, bool *have_driver,
		       bool *have_id)
{
	struct drm_fdinfo_engine *e;
	const char *name;
	uint64_t x;

	if (streq(key, "drm-driver")) {
		copy_str(fi->driver, sizeof(fi->driver), v);
		*have_driver = fi->driver[0] != '\0';
	} else if (streq(key, "drm-pdev")) {
		copy_str(fi->pdev, sizeof(fi->pdev), v);
	} else if (streq(key, "drm-client-id")) {
		if (parse_value(v, NULL, &x) == 0) {
			fi->client_id = x;
			*have_id = true;
		}
	} else if (startswith(key, "drm-engine-capacity-")) {
		name = key + strlen("drm-engine-capacity-");
		if (parse_value(v, NULL, &x) == 0 && x >= 1 && x <= UINT32_MAX &&
		    (e = engine(fi, name)))
			e->capacity = (uint32_t)x;
	} else if (startswith(key, "drm-engine-")) {
		name = key + strlen("drm-engine-");
		if (parse_value(v, "ns", &x) == 0 && (e = engine(fi, name))) {
			e->ns = x;
			e->has |= DRM_ENGINE_HAS_NS;
		}
	} else if (startswith(key, "drm-cycles-")) {
		name = key + strlen("drm-cycles-");
		if (parse_value(v, NULL, &x) == 0 && (e = engine(fi, name))) {
			e->cycles = x;
			e->has |= DRM_ENGINE_HAS_CYCLES;
		}
	} else if (startswith(key, "drm-total-cycles-")) {
		name = key + strlen("drm-total-cycles-");
		if (parse_value(v, NULL, &x) == 0 && (e = engine(fi, name))) {
			e->total_cycles = x;
			e->has |= DRM_ENGINE_HAS_TOTAL;
		}
	}
}

int drm_fdinfo_parse(const char *text, struct drm_fdinfo *ret)
{
	bool have_driver = false, have_id = false;
	char line[256];

	*ret = (struct drm_fdinfo){0};
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n'), *next = eol ? eol + 1 : p + strlen(p);
		size_t len = (size_t)(next - p) - (eol ? 1 : 0);
		char *colon, *k, *v;

		if (len >= sizeof(line)) {
			/* Longer than any DRM key and value: not ours. */
			p = next;
			continue;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p = next;
		colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		/* Keys hold no whitespace; a space before the separator (amdgpu) is dropped. */
		for (k = colon; k > line && is_space(k[-1]); k--)
			k[-1] = '\0';
		if (strpbrk(line, " \t"))
			continue;
		for (v = colon + 1; is_space(*v); v++)
			;
		for (k = v + strlen(v); k > v && (is_space(k[-1]) || k[-1] == '\r'); k--)
			k[-1] = '\0';
		parse_pair(ret, line, v, &have_driver, &have_id);
	}
	return have_driver && have_id ? 0 : -ENOENT;
}
