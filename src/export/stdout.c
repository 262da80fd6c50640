// SPDX-License-Identifier: Apache-2.0
/* exporter.stdout: a compact table of the node and its top consumers each interval. */
#include "export/stdout.h"

#include <errno.h>
#include <stdlib.h>

#include "util/timeutil.h"
#include "util/util.h"

#define TOP 10

static uint64_t interval_energy(const struct process *p)
{
	uint64_t e = 0;

	for (int z = 0; z < ZONE_MAX; z++)
		e += p->interval_uj[z];
	return e;
}

static int cmp_interval(const void *a, const void *b)
{
	uint64_t x = interval_energy(*(const struct process *const *)a);
	uint64_t y = interval_energy(*(const struct process *const *)b);

	return x > y ? -1 : x < y;
}

int stdout_report(FILE *f, const struct render_input *in)
{
	const struct process **sorted, *top[TOP];
	double dt = (double)in->dt_ns / NSEC_PER_SEC;
	size_t n, k = 0;
	int r;

	fprintf(f, "--- interval %.3fs, cpu %s, usage %.1f%%\n", dt, in->cpu_power_source,
		in->cpu_util >= 0 ? in->cpu_util * 100 : 0.0);
	fprintf(f, "%-8s %10s %10s %10s\n", "zone", "watts", "idle", "active");
	for (int z = 0; z < ZONE_MAX; z++) {
		const struct node_zone *nz = node_acct_zone(in->node, z);

		if (nz->present)
			fprintf(f, "%-8s %10.2f %10.2f %10.2f\n", zone_names[z], nz->watts,
				nz->idle_watts, nz->active_watts);
	}
	r = proc_table_sorted(in->procs, &sorted, &n);
	if (r < 0)
		return r;
	/* Only the interval's top few: a partial selection, not a second full sort. */
	for (size_t i = 0; i < n; i++) {
		const struct process *p = sorted[i];

		if (!interval_energy(p) && !p->interval_cpu_ns)
			continue;
		if (k < TOP) {
			top[k++] = p;
			qsort(top, k, sizeof(*top), cmp_interval);
		} else if (interval_energy(p) > interval_energy(top[TOP - 1])) {
			top[TOP - 1] = p;
			qsort(top, k, sizeof(*top), cmp_interval);
		}
	}
	fprintf(f, "%-8s %-16s %10s %10s %s\n", "pid", "comm", "watts", "cpu_ms", "state");
	for (size_t i = 0; i < k; i++)
		fprintf(f, "%-8u %-16s %10.3f %10.1f %s\n", top[i]->pid, top[i]->comm,
			dt > 0 ? (double)interval_energy(top[i]) / 1e6 / dt : 0.0,
			(double)top[i]->interval_cpu_ns / 1e6,
			top[i]->terminated ? "terminated" : "running");
	return fflush(f) ? -errno : 0;
}
