// SPDX-License-Identifier: Apache-2.0
/*
 * The procfs fallback: per-process utime+stime from <procfs>/<pid>/stat,
 * differenced against the previous scan, and the node's busy/idle time from
 * <procfs>/stat.
 *
 * What it cannot see (docs/activity.md): a process that starts and ends
 * between two scans is missed entirely, and a process that ends loses the CPU
 * time it used after the last scan that saw it (it is reported exited with a
 * zero delta). Clock-tick resolution: 1/USER_HZ, usually 10 ms.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "activity/internal.h"
#include "activity/pidtab.h"
#include "util/fileio.h"
#include "util/procstat.h"
#include "util/timeutil.h"
#include "util/util.h"

/* ---- pure parsers ---- */

/* Next space-separated unsigned field; -EINVAL when absent or not a number. */
/* Skip one space-separated field of any content (signed numbers included). */
static int skip_field(const char **p)
{
	const char *s = *p;

	while (*s == ' ')
		s++;
	if (*s == '\0' || *s == '\n')
		return -EINVAL;
	while (*s && *s != ' ' && *s != '\n')
		s++;
	*p = s;
	return 0;
}

int parse_pid_stat(const char *line, struct pid_stat *ret)
{
	struct pid_stat st = {};
	const char *open, *close, *p;
	uint64_t v;
	size_t n;
	int r;

	p = line;
	r = parse_u64_field(&p, &v);
	if (r < 0 || v == 0 || v > UINT32_MAX)
		return -EINVAL;
	st.pid = (uint32_t)v;
	open = strchr(p, '(');
	close = strrchr(line, ')');
	if (!open || !close || close < open || open != p + 1 || *p != ' ')
		return -EINVAL;
	n = (size_t)(close - open - 1);
	if (n >= sizeof(st.comm))
		n = sizeof(st.comm) - 1;
	memcpy(st.comm, open + 1, n);
	st.comm[n] = '\0';

	p = close + 1;
	if (*p != ' ')
		return -EINVAL;
	while (*p == ' ')
		p++;
	if (!isalpha((unsigned char)*p) || (p[1] != ' '))
		return -EINVAL;
	st.state = *p++;
	/* field 4 ppid */
	r = parse_u64_field(&p, &v);
	if (r < 0 || v > UINT32_MAX)
		return -EINVAL;
	st.ppid = (uint32_t)v;
	/* fields 5-8: pgrp session tty_nr tpgid (tpgid may be -1) */
	for (int i = 5; i <= 8; i++)
		if (skip_field(&p) < 0)
			return -EINVAL;
	/* field 9 flags */
	if (parse_u64_field(&p, &st.flags) < 0)
		return -EINVAL;
	/* fields 10-13: minflt cminflt majflt cmajflt */
	for (int i = 10; i <= 13; i++)
		if (skip_field(&p) < 0)
			return -EINVAL;
	if (parse_u64_field(&p, &st.utime) < 0 || parse_u64_field(&p, &st.stime) < 0)
		return -EINVAL;
	/* fields 16-21: cutime cstime priority nice num_threads itrealvalue */
	for (int i = 16; i <= 21; i++)
		if (skip_field(&p) < 0)
			return -EINVAL;
	if (parse_u64_field(&p, &st.starttime) < 0)
		return -EINVAL;
	*ret = st;
	return 0;
}

int parse_cpu_list(const char *s, uint32_t *ret_count)
{
	uint64_t count = 0;
	const char *p = s;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return -EINVAL;
	while (*p && !isspace((unsigned char)*p)) {
		unsigned long a, b;
		char *end;

		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		errno = 0;
		a = strtoul(p, &end, 10);
		if (errno || a > 1u << 20)
			return -EINVAL;
		b = a;
		p = end;
		if (*p == '-') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			b = strtoul(p, &end, 10);
			if (errno || b > 1u << 20 || b < a)
				return -EINVAL;
			p = end;
		}
		count += b - a + 1;
		if (*p == ',')
			p++;
		else if (*p && !isspace((unsigned char)*p))
			return -EINVAL;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '\0')
		return -EINVAL;
	*ret_count = (uint32_t)count;
	return 0;
}

uint32_t online_cpus(const char *sysfs)
{
	char buf[256];
	uint32_t n;
	long c;

	if (sysfs && read_line_at(sysfs, "devices/system/cpu/online", buf, sizeof(buf)) >= 0 &&
	    parse_cpu_list(buf, &n) == 0 && n > 0)
		return n;
	c = sysconf(_SC_NPROCESSORS_ONLN);
	return c > 0 ? (uint32_t)c : 1;
}

/* ---- the source ---- */

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

struct procfs_ent {
	struct pidtab_hdr h; /* pid, start = starttime in ticks */
	uint64_t last_ticks; /* utime + stime at the previous scan */
	uint64_t gen;	     /* scan that last saw it */
	uint32_t ppid;
	bool kthread;
	char comm[ACTIVITY_COMM_LEN];
};

struct procfs_source {
	char *procfs;
	char *sysfs;
	uint64_t tick_ns;
	struct pidtab *tab;
	uint64_t gen;
	uint64_t prev_scan_boot_ns; /* CLOCK_BOOTTIME of the previous scan's start */
	struct cpu_times last_cpu;
	struct proc_out out;
};

static bool is_pid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/*
 * One pass over <procfs>: emit deltas (when emit), then the processes that
 * vanished since the previous pass as exited.
 */
static int scan(struct procfs_source *s, bool emit)
{
	_cleanup_(closedirp) DIR *d = NULL;
	uint64_t now_boot = clock_ns(CLOCK_BOOTTIME);
	struct dirent *de;
	struct procfs_ent *e;
	size_t pos;
	int r;

	d = opendir(s->procfs);
	if (!d)
		return -errno;
	s->gen++;
	while ((de = readdir(d))) {
		char rel[NAME_MAX + 8], line[1024];
		struct pid_stat st;
		uint64_t ticks, delta;
		void *v;

		if (!is_pid_name(de->d_name))
			continue;
		snprintf(rel, sizeof(rel), "%s/stat", de->d_name);
		r = read_file_at(s->procfs, rel, line, sizeof(line));
		if (r < 0)
			continue; /* ended since readdir (-ENOENT/-ESRCH) or unreadable */
		if (parse_pid_stat(line, &st) < 0)
			continue;
		r = pidtab_put(s->tab, st.pid, st.starttime, &v);
		if (r < 0)
			return r;
		e = v;
		ticks = st.utime + st.stime;
		if (r == 1) {
			/*
			 * New since the previous scan: if it started after that scan,
			 * all its time falls in this interval; if it was there but
			 * missed (readdir race), only its future deltas count.
			 */
			bool born_since =
			    st.starttime * s->tick_ns + 2 * s->tick_ns >= s->prev_scan_boot_ns;

			delta = born_since ? ticks : 0;
			memcpy(e->comm, st.comm, sizeof(e->comm));
			e->ppid = st.ppid;
			e->kthread = st.flags & PF_KTHREAD;
		} else {
			delta = ticks >= e->last_ticks ? ticks - e->last_ticks : 0;
		}
		e->last_ticks = ticks;
		e->gen = s->gen;
		if (emit && delta) {
			struct proc_activity *o;

			r = proc_out_push(&s->out, &o);
			if (r < 0)
				return r;
			o->pid = st.pid;
			o->ppid = st.ppid;
			memcpy(o->comm, st.comm, sizeof(o->comm));
			o->kernel_thread = st.flags & PF_KTHREAD;
			o->start_time_ns = st.starttime * s->tick_ns;
			o->cpu_ns = delta * s->tick_ns;
		}
	}

	pos = 0;
	while ((e = pidtab_next(s->tab, &pos))) {
		if (e->gen == s->gen)
			continue;
		if (emit) {
			struct proc_activity *o;

			r = proc_out_push(&s->out, &o);
			if (r < 0)
				return r;
			o->pid = e->h.pid;
			o->ppid = e->ppid;
			memcpy(o->comm, e->comm, sizeof(o->comm));
			o->kernel_thread = e->kthread;
			o->start_time_ns = e->h.start * s->tick_ns;
			o->exited = true;
		}
		pidtab_remove_at(s->tab, &pos);
	}
	s->prev_scan_boot_ns = now_boot;
	return 0;
}

int procfs_source_new(struct procfs_source **ret, const struct kepler_config *cfg, char *why,
		      size_t whysz)
{
	struct procfs_source *s;
	long hz = sysconf(_SC_CLK_TCK);
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->tick_ns = hz > 0 ? NSEC_PER_SEC / (uint64_t)hz : NSEC_PER_SEC / 100;
	s->procfs = strdup(cfg->host_procfs ? cfg->host_procfs : "/proc");
	s->sysfs = strdup(cfg->host_sysfs ? cfg->host_sysfs : "/sys");
	if (!s->procfs || !s->sysfs) {
		r = -ENOMEM;
		goto fail;
	}
	r = pidtab_new(&s->tab, sizeof(struct procfs_ent), 1024);
	if (r < 0)
		goto fail;
	r = procstat_read(s->procfs, &s->last_cpu, NULL);
	if (r < 0) {
		snprintf(why, whysz, "cannot read %s/stat: %s", s->procfs, strerror(-r));
		goto fail;
	}
	r = scan(s, false);
	if (r < 0) {
		snprintf(why, whysz, "cannot scan %s: %s", s->procfs, strerror(-r));
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	procfs_source_free(s);
	return r;
}

int procfs_source_read(struct procfs_source *s, struct activity_delta *out)
{
	struct cpu_times now;
	uint64_t b0, b1, i0, i1;
	int r;

	proc_out_reset(&s->out);
	r = scan(s, true);
	if (r < 0)
		return r;
	r = procstat_read(s->procfs, &now, NULL);
	if (r < 0)
		return r;
	b0 = cpu_times_busy(&s->last_cpu);
	b1 = cpu_times_busy(&now);
	i0 = cpu_times_idle(&s->last_cpu);
	i1 = cpu_times_idle(&now);
	s->last_cpu = now;

	*out = (struct activity_delta){
	    .procs = s->out.v,
	    .n = s->out.n,
	    .busy_ns = (b1 >= b0 ? b1 - b0 : 0) * s->tick_ns,
	    .idle_ns = (i1 >= i0 ? i1 - i0 : 0) * s->tick_ns,
	    .ncpus = online_cpus(s->sysfs),
	};
	return 0;
}

void procfs_source_free(struct procfs_source *s)
{
	if (!s)
		return;
	pidtab_free(s->tab);
	proc_out_free(&s->out);
	free(s->procfs);
	free(s->sysfs);
	free(s);
}
