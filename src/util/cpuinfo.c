// SPDX-License-Identifier: Apache-2.0
#include "util/cpuinfo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum field { F_PROCESSOR, F_VENDOR, F_MODEL, F_PHYSICAL, F_CORE, F_MAX };

static const char *const field_names[F_MAX] = {
    [F_PROCESSOR] = "processor",  [F_VENDOR] = "vendor_id", [F_MODEL] = "model name",
    [F_PHYSICAL] = "physical id", [F_CORE] = "core id",
};

/* The field a line names, F_MAX for any other; *ret_value is its trimmed value. */
static enum field line_field(const char *line, size_t len, const char **ret_value, size_t *ret_vlen)
{
	const char *colon = memchr(line, ':', len), *k_end, *v, *v_end = line + len;

	if (!colon)
		return F_MAX;
	for (k_end = colon; k_end > line && (k_end[-1] == ' ' || k_end[-1] == '\t');)
		k_end--;
	for (v = colon + 1; v < v_end && (*v == ' ' || *v == '\t');)
		v++;
	while (v_end > v && (v_end[-1] == ' ' || v_end[-1] == '\t' || v_end[-1] == '\r'))
		v_end--;
	for (int f = 0; f < F_MAX; f++)
		if (strlen(field_names[f]) == (size_t)(k_end - line) &&
		    memcmp(line, field_names[f], (size_t)(k_end - line)) == 0) {
			*ret_value = v;
			*ret_vlen = (size_t)(v_end - v);
			return (enum field)f;
		}
	return F_MAX;
}

/*
 * Two passes over the text: the first counts the stanzas and the bytes of their
 * fields, the second fills the records (out NULL: count only).
 */
static void scan(const char *text, struct cpuinfo *out, size_t *ret_n, size_t *ret_bytes)
{
	char *strings = out ? (char *)&out->cpu[out->n] : NULL;
	size_t n = 0, bytes = 0;

	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n"), vlen;
		const char *v;
		enum field f = line_field(line, len, &v, &vlen);

		if (f == F_PROCESSOR)
			n++;
		if (f != F_MAX && n > 0) {
			if (out) {
				struct cpuinfo_cpu *c = &out->cpu[n - 1];
				const char **slot[F_MAX] = {&c->processor, &c->vendor_id,
							    &c->model_name, &c->physical_id,
							    &c->core_id};

				memcpy(strings, v, vlen);
				strings[vlen] = '\0';
				*slot[f] = strings;
				strings += vlen + 1;
			}
			bytes += vlen + 1;
		}
		line += len + (line[len] == '\n');
	}
	*ret_n = n;
	*ret_bytes = bytes;
}

int cpuinfo_parse(const char *text, struct cpuinfo **ret)
{
	struct cpuinfo *ci;
	size_t n, bytes;

	scan(text, NULL, &n, &bytes);
	ci = malloc(sizeof(*ci) + n * sizeof(ci->cpu[0]) + bytes);
	if (!ci)
		return -ENOMEM;
	ci->n = n;
	for (size_t i = 0; i < n; i++)
		ci->cpu[i] = (struct cpuinfo_cpu){"", "", "", "", ""};
	scan(text, ci, &n, &bytes);
	*ret = ci;
	return 0;
}
