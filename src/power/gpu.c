// SPDX-License-Identifier: Apache-2.0
/*
 * The node's GPUs: the backends power.gpu.sources names, their devices
 * numbered in backend order (nvml, then drm) up to GPU_MAX.
 */
#include "power/gpu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "power/gpu_backend.h"
#include "power/power.h"
#include "util/util.h"

static const struct {
	uint32_t source; /* GPU_SOURCE_* */
	const struct gpu_backend_ops *ops;
} backends[] = {
    {GPU_SOURCE_NVML, &nvml_gpu_ops},
    {GPU_SOURCE_DRM, &drm_gpu_ops},
};

struct gpus {
	struct {
		const struct gpu_backend_ops *ops;
		struct gpu_backend *b;
		size_t first; /* its first device's number */
		size_t n;     /* its devices, at most GPU_MAX - first */
		/* Scratch for all its devices (it may have more than it is given). */
		struct gpu_reading *out;
	} be[ARRAY_SIZE(backends)];
	size_t n_be;
	size_t n;
	char err[POWER_ERR_MAX];
};

/* "<name>: <why>" after a piece of info: what each backend found. */
static void say(char *buf, size_t size, const char *name, const char *what)
{
	size_t len = strlen(buf);

	if (len < size)
		snprintf(buf + len, size - len, "%s%s: %s", len ? "; " : "", name, what);
}

int gpus_new(struct gpus **ret, const struct kepler_config *cfg, char *info, size_t infosz,
	     char *err, size_t errsz)
{
	struct gpus *g = calloc(1, sizeof(*g));
	char why[POWER_ERR_MAX], found[128];

	if (!g)
		return -ENOMEM;
	info[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++) {
		const struct gpu_backend_ops *ops = backends[i].ops;
		struct gpu_backend *b;
		size_t n;
		int r;

		if (!(cfg->gpu_sources & backends[i].source))
			continue;
		why[0] = '\0';
		r = ops->open(&b, cfg, why, sizeof(why));
		if (r == -ENODEV) {
			say(info, infosz, ops->name, why[0] ? why : "no GPU");
			continue;
		}
		if (r < 0) {
			snprintf(err, errsz, "power.gpu: %s: %s", ops->name,
				 why[0] ? why : strerror(-r));
			gpus_free(g);
			return r;
		}
		n = ops->count(b);
		g->be[g->n_be].out = calloc(n ? n : 1, sizeof(*g->be[g->n_be].out));
		if (!g->be[g->n_be].out) {
			ops->close(b);
			gpus_free(g);
			snprintf(err, errsz, "out of memory");
			return -ENOMEM;
		}
		g->be[g->n_be].ops = ops;
		g->be[g->n_be].b = b;
		g->be[g->n_be].first = g->n;
		g->be[g->n_be].n = n < GPU_MAX - g->n ? n : GPU_MAX - g->n;
		if (g->be[g->n_be].n < n)
			snprintf(found, sizeof(found),
				 "%zu GPU(s), the first %zu read (at most %d)", n, g->be[g->n_be].n,
				 GPU_MAX);
		else
			snprintf(found, sizeof(found), "%zu GPU(s)", n);
		say(info, infosz, ops->name, found);
		g->n += g->be[g->n_be].n;
		g->n_be++;
	}
	*ret = g;
	return 0;
}

void gpus_free(struct gpus *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n_be; i++) {
		g->be[i].ops->close(g->be[i].b);
		free(g->be[i].out);
	}
	free(g);
}

size_t gpus_count(const struct gpus *g)
{
	return g->n;
}

const struct gpu_info *gpus_info(const struct gpus *g, size_t i)
{
	for (size_t k = 0; k < g->n_be; k++)
		if (i >= g->be[k].first && i < g->be[k].first + g->be[k].n)
			return g->be[k].ops->info(g->be[k].b, i - g->be[k].first);
	return NULL;
}

int gpus_read(struct gpus *g, const struct gpu_read_input *in, struct gpu_reading *out)
{
	char why[POWER_ERR_MAX - 32]; /* room for "<backend>: " in g->err */
	int ret = 0;

	g->err[0] = '\0';
	for (size_t k = 0; k < g->n_be; k++) {
		int r;

		why[0] = '\0';
		memset(g->be[k].out, 0, g->be[k].ops->count(g->be[k].b) * sizeof(*g->be[k].out));
		r = g->be[k].ops->read(g->be[k].b, in, g->be[k].out, why, sizeof(why));
		if (r < 0 && !ret) {
			ret = r;
			snprintf(g->err, sizeof(g->err), "%s: %s", g->be[k].ops->name,
				 why[0] ? why : strerror(-r));
		}
		memcpy(out + g->be[k].first, g->be[k].out, g->be[k].n * sizeof(*out));
	}
	return ret;
}

const char *gpus_read_error(const struct gpus *g)
{
	return g->err;
}
