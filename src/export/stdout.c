// SPDX-License-Identifier: Apache-2.0
/* exporter.stdout: a compact table of the node and its top consumers each interval. */
#include "export/stdout.h"

#include <errno.h>

#include "util/timeutil.h"

#define TOP 10

static uint64_t interval_energy(const struct snap_process *p)
{
	uint64_t e = 0;

	for (int z = 0; z < ZONE_MAX; z++)
		e += p->interval_uj[z];
	return e;
}

int stdout_report(FILE *f, const struct snapshot *s)
{
	const struct snap_process *top[TOP];
	double dt = (double)s->dt_ns / NSEC_PER_SEC;
	size_t k = 0;

	fprintf(f, "--- interval %.3fs, cpu %s, usage %.1f%%\n", dt, s->cpu_power_source,
		s->cpu_util >= 0 ? s->cpu_util * 100 : 0.0);
	fprintf(f, "%-8s %10s %10s %10s\n", "zone", "watts", "idle", "active");
	for (int z = 0; z < ZONE_MAX; z++) {
		const struct snap_zone *nz = &s->zone[z];

		if (nz->present)
			fprintf(f, "%-8s %10.2f %10.2f %10.2f\n", zone_names[z], nz->watts,
				nz->idle_watts, nz->active_watts);
	}
	/* The interval's top few series: an insertion into a short sorted array. */
	for (size_t i = 0; i < s->n_procs; i++) {
		const struct snap_process *p = &s->procs[i];
		uint64_t e = interval_energy(p);
		size_t j;

		if (!e && !p->interval_cpu_ns)
			continue;
		if (k == TOP && e <= interval_energy(top[TOP - 1]))
			continue;
		j = k < TOP ? k++ : TOP - 1;
		for (; j > 0 && interval_energy(top[j - 1]) < e; j--)
			top[j] = top[j - 1];
		top[j] = p;
	}
	fprintf(f, "%-8s %-16s %10s %10s %s\n", "pid", "comm", "watts", "cpu_ms", "state");
	for (size_t i = 0; i < k; i++)
		fprintf(f, "%-8u %-16s %10.3f %10.1f %s\n", top[i]->pid, top[i]->comm,
			dt > 0 ? (double)interval_energy(top[i]) / 1e6 / dt : 0.0,
			(double)top[i]->interval_cpu_ns / 1e6,
			top[i]->terminated ? "terminated" : "running");
	return fflush(f) ? -errno : 0;
}
