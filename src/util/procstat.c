// SPDX-License-Identifier: Apache-2.0
#include "util/procstat.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/strbuf.h"
#include "util/util.h"

static int parse_aggregate(const char *p, struct cpu_times *ret)
{
	uint64_t v[8] = {0};
	int i, r;

	for (i = 0; i < 8; i++) {
		const char *s = p;

		while (*s == ' ')
			s++;
		if (*s == '\n' || *s == '\0')
			break;
		r = parse_u64_field(&p, &v[i]);
		if (r < 0)
			return r;
	}
	if (i < 4) /* user nice system idle exist on every kernel */
		return -EINVAL;
	*ret = (struct cpu_times){
	    .user = v[0],
	    .nice = v[1],
	    .system = v[2],
	    .idle = v[3],
	    .iowait = v[4],
	    .irq = v[5],
	    .softirq = v[6],
	    .steal = v[7],
	};
	return 0;
}

int procstat_parse(const char *text, struct cpu_times *ret, unsigned *ret_ncpus)
{
	const char *agg = NULL;
	unsigned ncpus = 0;
	struct cpu_times t;
	int r;

	for (const char *line = text; line && *line;) {
		if (startswith(line, "cpu ") && !agg)
			agg = line + 3;
		else if (startswith(line, "cpu") && isdigit((unsigned char)line[3]))
			ncpus++;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	if (!agg)
		return -ENOENT;
	r = parse_aggregate(agg, &t);
	if (r < 0)
		return r;
	*ret = t;
	if (ret_ncpus)
		*ret_ncpus = ncpus;
	return 0;
}

int procstat_read(const char *procfs, struct cpu_times *ret, unsigned *ret_ncpus)
{
	struct strbuf sb = STRBUF_INIT;
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	ssize_t k;
	int fd, r;

	fd = open_regular_at(procfs, "stat");
	if (fd < 0)
		return fd;
	f = fdopen(fd, "re");
	if (!f) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((k = getline(&line, &cap, f)) > 0 && startswith(line, "cpu"))
		strbuf_append(&sb, line, (size_t)k);
	if (ferror(f))
		r = -EIO;
	else if (strbuf_error(&sb))
		r = -ENOMEM;
	else
		r = procstat_parse(sb.len ? sb.buf : "", ret, ret_ncpus);
	strbuf_release(&sb);
	return r;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

uint64_t cpu_times_busy(const struct cpu_times *t)
{
	return sat_add(sat_add(sat_add(t->user, t->nice), sat_add(t->system, t->irq)), t->softirq);
}

uint64_t cpu_times_idle(const struct cpu_times *t)
{
	return sat_add(t->idle, t->iowait);
}
