// SPDX-License-Identifier: Apache-2.0
/*
 * The DRM fdinfo parser (src/power/gpu_internal.h) on arbitrary text.
 * Checked: it returns 0 or -ENOENT; a parsed result has a driver, at most
 * DRM_FDINFO_MAX_ENGINES engines with distinct, non-empty, whitespace-free
 * names, capacities >= 1 and only known key flags; and what it parsed,
 * written back out as fdinfo, parses to the same result.
 */
#include "fuzz.h"
#include "power/gpu_internal.h"

static void check_engines(const struct drm_fdinfo *fi)
{
	fuzz_check(fi->n_engines <= DRM_FDINFO_MAX_ENGINES);
	for (size_t i = 0; i < fi->n_engines; i++) {
		const struct drm_fdinfo_engine *e = &fi->engines[i];
		size_t len = strnlen(e->name, sizeof(e->name));

		fuzz_check(len > 0 && len < sizeof(e->name));
		fuzz_check(!strpbrk(e->name, " \t\n"));
		fuzz_check(e->capacity >= 1);
		fuzz_check((e->has & ~(unsigned)(DRM_ENGINE_HAS_NS | DRM_ENGINE_HAS_CYCLES |
						 DRM_ENGINE_HAS_TOTAL)) == 0);
		for (size_t k = 0; k < i; k++)
			fuzz_check(strcmp(fi->engines[k].name, e->name) != 0);
	}
}

/* fi as the kernel would print it. */
static char *render(const struct drm_fdinfo *fi)
{
	size_t size = 256 + fi->n_engines * 4 * 96;
	char *s = malloc(size), *p = s;

	if (!s)
		abort();
	p += sprintf(p, "drm-driver:\t%s\ndrm-client-id:\t%llu\n", fi->driver,
		     (unsigned long long)fi->client_id);
	if (fi->pdev[0])
		p += sprintf(p, "drm-pdev:\t%s\n", fi->pdev);
	for (size_t i = 0; i < fi->n_engines; i++) {
		const struct drm_fdinfo_engine *e = &fi->engines[i];

		p += sprintf(p, "drm-engine-capacity-%s:\t%u\n", e->name, e->capacity);
		if (e->has & DRM_ENGINE_HAS_NS)
			p += sprintf(p, "drm-engine-%s:\t%llu ns\n", e->name,
				     (unsigned long long)e->ns);
		if (e->has & DRM_ENGINE_HAS_CYCLES)
			p += sprintf(p, "drm-cycles-%s:\t%llu\n", e->name,
				     (unsigned long long)e->cycles);
		if (e->has & DRM_ENGINE_HAS_TOTAL)
			p += sprintf(p, "drm-total-cycles-%s:\t%llu\n", e->name,
				     (unsigned long long)e->total_cycles);
	}
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct drm_fdinfo fi, again;
	char *text = fuzz_str(data, size), *out;
	int r = drm_fdinfo_parse(text, &fi);

	fuzz_check(r == 0 || r == -ENOENT);
	check_engines(&fi);
	if (r == 0) {
		fuzz_check(fi.driver[0] != '\0');
		out = render(&fi);
		fuzz_check(drm_fdinfo_parse(out, &again) == 0);
		fuzz_check(strcmp(again.driver, fi.driver) == 0);
		fuzz_check(strcmp(again.pdev, fi.pdev) == 0);
		fuzz_check(again.client_id == fi.client_id);
		fuzz_check(again.n_engines == fi.n_engines);
		for (size_t i = 0; i < fi.n_engines; i++) {
			const struct drm_fdinfo_engine *a = &fi.engines[i], *b = &again.engines[i];

			fuzz_check(strcmp(a->name, b->name) == 0 && a->has == b->has &&
				   a->capacity == b->capacity);
			fuzz_check(!(a->has & DRM_ENGINE_HAS_NS) || a->ns == b->ns);
			fuzz_check(!(a->has & DRM_ENGINE_HAS_CYCLES) || a->cycles == b->cycles);
			fuzz_check(!(a->has & DRM_ENGINE_HAS_TOTAL) ||
				   a->total_cycles == b->total_cycles);
		}
		free(out);
	}
	free(text);
	return 0;
}
