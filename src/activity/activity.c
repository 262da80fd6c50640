// SPDX-License-Identifier: Apache-2.0
/*
 * The activity subsystem's top: picks the source (eBPF, else procfs) and is
 * the only place here that logs.
 */
#include "activity/activity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activity/internal.h"

#define PROC_OUT_MIN 256
#include "log.h"

struct activity {
	struct bpf_source *bpf;
	struct procfs_source *procfs;
};

int activity_new_opts(struct activity **ret, const struct kepler_config *cfg,
		      const struct activity_opts *opts, char *reason, size_t reasonsz)
{
	static const struct activity_opts defaults = {0};
	enum activity_source want = cfg->activity_source;
	char why[512] = "", ebpf_why[512] = "";
	char scratch[8];
	struct activity *a;
	int r;

	if (!opts)
		opts = &defaults;
	if (!reason || !reasonsz) {
		reason = scratch;
		reasonsz = sizeof(scratch);
	}
	reason[0] = '\0';
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;

	if (want == ACTIVITY_SOURCE_AUTO || want == ACTIVITY_SOURCE_EBPF) {
		r = bpf_source_new(&a->bpf, cfg, opts, ebpf_why, sizeof(ebpf_why));
		if (r >= 0) {
			const char *note = bpf_source_note(a->bpf);

			if (note[0])
				log_info("activity: ebpf: %s", note);
			*ret = a;
			return 0;
		}
		if (!ebpf_why[0])
			snprintf(ebpf_why, sizeof(ebpf_why), "%s", strerror(-r));
		if (want == ACTIVITY_SOURCE_EBPF) {
			snprintf(reason, reasonsz, "ebpf: %s", ebpf_why);
			free(a);
			return r;
		}
	}

	r = procfs_source_new(&a->procfs, cfg, why, sizeof(why));
	if (r < 0) {
		if (ebpf_why[0])
			snprintf(reason, reasonsz, "ebpf: %s; procfs: %s", ebpf_why,
				 why[0] ? why : strerror(-r));
		else
			snprintf(reason, reasonsz, "procfs: %s", why[0] ? why : strerror(-r));
		free(a);
		return r;
	}
	if (ebpf_why[0])
		snprintf(reason, reasonsz, "ebpf: %s; using procfs", ebpf_why);
	*ret = a;
	return 0;
}

int activity_new(struct activity **ret, const struct kepler_config *cfg, char *reason,
		 size_t reasonsz)
{
	struct activity_opts opts = {.max_processes = cfg->activity_max_processes};

	return activity_new_opts(ret, cfg, &opts, reason, reasonsz);
}

int activity_read(struct activity *a, struct activity_delta *out)
{
	if (a->bpf)
		return bpf_source_read(a->bpf, out);
	return procfs_source_read(a->procfs, out);
}

const char *activity_source_name(const struct activity *a)
{
	return a->bpf ? "ebpf" : "procfs";
}

const char *activity_attach_mode(const struct activity *a)
{
	return a->bpf ? bpf_source_attach_mode(a->bpf) : "procfs";
}

void activity_free(struct activity *a)
{
	if (!a)
		return;
	bpf_source_free(a->bpf);
	procfs_source_free(a->procfs);
	free(a);
}

int proc_out_push(struct proc_out *o, struct proc_activity **ret)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : PROC_OUT_MIN;
		struct proc_activity *v = realloc(o->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		o->v = v;
		o->cap = cap;
	}
	*ret = &o->v[o->n++];
	memset(*ret, 0, sizeof(**ret));
	return 0;
}

void proc_out_reset(struct proc_out *o)
{
	/* The last read used under an eighth: keep four times that. */
	if (o->cap > PROC_OUT_MIN && o->n * 8 < o->cap) {
		size_t cap = o->cap;
		struct proc_activity *v;

		while (cap > PROC_OUT_MIN && o->n * 4 < cap)
			cap /= 2;
		v = realloc(o->v, cap * sizeof(*v));
		if (v) {
			o->v = v;
			o->cap = cap;
		}
	}
	o->n = 0;
}

void proc_out_free(struct proc_out *o)
{
	free(o->v);
	*o = (struct proc_out){0};
}
