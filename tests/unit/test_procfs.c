// SPDX-License-Identifier: Apache-2.0
/*
 * src/activity without eBPF: the pure parsers (/proc/<pid>/stat, /proc/stat,
 * mountinfo, cpu lists, CapEff), the capability check, the (pid, start) table,
 * the procfs source on this machine's /proc, and the fallback choice.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "activity/activity.h"
#include "activity/internal.h"
#include "activity/pidtab.h"
#include "config.h"
#include "util/caps.h"
#include "util/util.h"
#include "burn.h"

/* A stat line as the kernel writes it, with comm and the fields we use filled in. */
#define STAT(pid, comm, ppid, flags, ut, st, start)                                                \
	pid " (" comm ") S " ppid " 100 100 0 -1 " flags " 50 0 0 0 " ut " " st                    \
	    " 0 0 20 0 1 0 " start " 1000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1\n"

static const struct {
	const char *line;
	int ret;
	uint32_t pid, ppid;
	const char *comm;
	uint64_t flags, utime, stime, starttime;
} stat_cases[] = {
    {STAT("1", "systemd", "0", "4194560", "12", "34", "5"), 0, 1, 0, "systemd", 4194560, 12, 34, 5},
    {STAT("42", "my prog", "1", "0", "100", "200", "300"), 0, 42, 1, "my prog", 0, 100, 200, 300},
    /* parentheses and spaces inside comm: it ends at the last ')' */
    {STAT("43", "a) (b", "1", "0", "1", "2", "3"), 0, 43, 1, "a) (b", 0, 1, 2, 3},
    {STAT("44", ") ) )", "7", "0", "1", "2", "3"), 0, 44, 7, ") ) )", 0, 1, 2, 3},
    {STAT("45", "", "7", "0", "1", "2", "3"), 0, 45, 7, "", 0, 1, 2, 3},
    /* kernel thread: PF_KTHREAD */
    {STAT("2", "kthreadd", "0", "2129984", "0", "9", "1"), 0, 2, 0, "kthreadd", 2129984, 0, 9, 1},
    /* comm longer than 15 characters is truncated */
    {STAT("46", "abcdefghijklmnopqrst", "1", "0", "1", "2", "3"), 0, 46, 1, "abcdefghijklmno", 0, 1,
     2, 3},
    /* huge but valid counters */
    {STAT("47", "x", "1", "0", "18446744073709551615", "0", "3"), 0, 47, 1, "x", 0, UINT64_MAX, 0,
     3},
    {STAT("48", "x", "1", "0", "18446744073709551616", "0", "3"), -EINVAL},
    {"", -EINVAL},
    {"garbage", -EINVAL},
    {"12", -EINVAL},
    {"12 (x", -EINVAL},
    {"12 x) S 1", -EINVAL},
    {"0 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20", -EINVAL},
    {"-5 (x) S 1", -EINVAL},
    {"99999999999 (x) S 1", -EINVAL},
    {"12 (x) S", -EINVAL},
    {"12 (x) S 1 2 3 4 5 6", -EINVAL},			   /* truncated */
    {STAT("49", "x", "-1", "0", "1", "2", "3"), -EINVAL},  /* negative ppid */
    {STAT("50", "x", "1", "0", "1a", "2", "3"), -EINVAL},  /* utime not a number */
    {STAT("51", "x", "1", "0", "1", "2", "abc"), -EINVAL}, /* starttime not a number */
    {"52 (x)S 1 2", -EINVAL},
};

static void test_parse_pid_stat(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(stat_cases); i++) {
		struct pid_stat st;
		int r;

		memset(&st, 0x5a, sizeof(st));
		r = parse_pid_stat(stat_cases[i].line, &st);
		if (r != stat_cases[i].ret)
			fail_msg("case %zu \"%s\": %d, want %d", i, stat_cases[i].line, r,
				 stat_cases[i].ret);
		if (r < 0)
			continue;
		assert_int_equal(st.pid, stat_cases[i].pid);
		assert_int_equal(st.ppid, stat_cases[i].ppid);
		assert_string_equal(st.comm, stat_cases[i].comm);
		assert_true(st.flags == stat_cases[i].flags);
		assert_true(st.utime == stat_cases[i].utime);
		assert_true(st.stime == stat_cases[i].stime);
		assert_true(st.starttime == stat_cases[i].starttime);
	}
}

static const struct {
	const char *s;
	int ret;
	uint32_t n;
} cpulist_cases[] = {
    {"0", 0, 1},	 {"0-1\n", 0, 2},    {"0-3,6,8-9", 0, 7}, {"2", 0, 1},
    {"0-127", 0, 128},	 {"", -EINVAL, 0},   {"\n", -EINVAL, 0},  {"a", -EINVAL, 0},
    {"3-1", -EINVAL, 0}, {"0-", -EINVAL, 0}, {"0;1", -EINVAL, 0}, {"0-99999999", -EINVAL, 0},
};

static void test_parse_cpu_list(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cpulist_cases); i++) {
		uint32_t n = 0;
		int r = parse_cpu_list(cpulist_cases[i].s, &n);

		if (r != cpulist_cases[i].ret || (r == 0 && n != cpulist_cases[i].n))
			fail_msg("parse_cpu_list(\"%s\") = %d, %u", cpulist_cases[i].s, r, n);
	}
}

#define CAP(n) (1ULL << (n))

static const struct {
	uint64_t capeff;
	int ret;
	const char *names; /* must appear in the message */
} capcheck_cases[] = {
    {CAP(KCAP_SYS_ADMIN), 0, NULL},
    {CAP(KCAP_BPF) | CAP(KCAP_PERFMON), 0, NULL},
    {0x000001fffeffffffULL, 0, NULL},
    {0, -EPERM,
     "missing CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) (have CapEff=0000000000000000)"},
    {CAP(KCAP_BPF), -EPERM, "missing CAP_PERFMON"},
    {CAP(KCAP_PERFMON), -EPERM, "missing CAP_BPF"},
    {CAP(KCAP_DAC_READ_SEARCH) | CAP(KCAP_SYS_PTRACE), -EPERM, "CapEff=0000000000080004"},
};

static void test_caps_check(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(capcheck_cases); i++) {
		char why[256] = "";
		int r = caps_check_ebpf(capcheck_cases[i].capeff, why, sizeof(why));

		if (r != capcheck_cases[i].ret)
			fail_msg("case %zu: %d", i, r);
		if (capcheck_cases[i].names && !strstr(why, capcheck_cases[i].names))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, why, capcheck_cases[i].names);
	}
}

struct ent {
	struct pidtab_hdr h;
	uint64_t v;
	uint32_t odd; /* entry_size 28: not a multiple of 8 */
};

/*
 * What pidtab adds to util/hashmap (whose own test covers the table): the
 * (pid, start) key, new records zeroed apart from it even where a removed one
 * lay, and walks through a size_t position that return each record once.
 */
static void test_pidtab(void **state)
{
	enum { N = 3000 };
	static unsigned int seen[N];
	struct pidtab *t;
	struct ent *e;
	size_t pos;
	void *p;

	(void)state;
	assert_int_equal(pidtab_new(&t, 28, 4), 0);
	for (uint32_t i = 0; i < N; i++) {
		assert_int_equal(pidtab_put(t, i % 1000, i / 1000, &p), 1);
		e = p;
		assert_int_equal(e->h.pid, i % 1000);
		assert_int_equal(e->h.start, i / 1000);
		assert_int_equal(e->v, 0);
		e->v = i;
		e->odd = 1;
	}
	assert_int_equal(pidtab_count(t), N);
	assert_int_equal(pidtab_put(t, 7, 2, &p), 0);
	assert_int_equal(((struct ent *)p)->v, 2007);
	assert_ptr_equal(pidtab_get(t, 7, 2), p);
	assert_null(pidtab_get(t, 7, 3));

	/* Remove the odd ones while walking; then a second walk sees only the rest. */
	pos = 0;
	while ((e = pidtab_next(t, &pos))) {
		seen[e->v]++;
		if (e->v % 2)
			pidtab_remove_at(t, &pos);
	}
	pos = 0;
	while ((e = pidtab_next(t, &pos)))
		seen[e->v]++;
	for (uint32_t i = 0; i < N; i++)
		if (seen[i] != (i % 2 ? 1 : 2))
			fail_msg("record %u returned %u times", i, seen[i]);
	assert_int_equal(pidtab_count(t), N / 2);
	assert_null(pidtab_get(t, 1, 0));

	/* A record put again after its removal starts from zero. */
	assert_int_equal(pidtab_put(t, 1, 0, &p), 1);
	assert_int_equal(((struct ent *)p)->v, 0);
	assert_int_equal(((struct ent *)p)->odd, 0);
	pidtab_free(t);
	pidtab_free(NULL);
	assert_int_equal(pidtab_new(&t, sizeof(struct pidtab_hdr) - 1, 4), -EINVAL);
}

static const struct proc_activity *find(const struct activity_delta *d, uint32_t pid)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->procs[i].pid == pid)
			return &d->procs[i];
	return NULL;
}

/* The procfs source on this machine: our own CPU time, a child that ends, node totals. */
static void test_procfs_source(void **state)
{
	struct kepler_config cfg;
	struct activity *a = NULL;
	struct activity_delta d;
	const struct proc_activity *p;
	char reason[512];
	pid_t child;
	int st;

	(void)state;
	assert_int_equal(config_defaults(&cfg), 0);
	cfg.activity_source = ACTIVITY_SOURCE_PROCFS;
	assert_int_equal(activity_new(&a, &cfg, reason, sizeof(reason)), 0);
	assert_string_equal(activity_source_name(a), "procfs");
	assert_string_equal(reason, "");

	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	burn_ms(120);
	assert_int_equal(activity_read(a, &d), 0);
	p = find(&d, (uint32_t)getpid());
	assert_non_null(p);
	assert_true(p->cpu_ns >= 50 * 1000000ULL);
	assert_false(p->exited);
	assert_false(p->kernel_thread);
	assert_int_equal(p->ppid, getppid());
	assert_true(d.busy_ns > 0);
	assert_true(d.ncpus >= 1);

	kill(child, SIGKILL);
	waitpid(child, &st, 0);
	assert_int_equal(activity_read(a, &d), 0);
	p = find(&d, (uint32_t)child);
	assert_non_null(p);
	assert_true(p->exited);
	assert_int_equal(p->cpu_ns, 0);
	assert_int_equal(p->ppid, getpid());
	/* gone for good */
	assert_int_equal(activity_read(a, &d), 0);
	assert_null(find(&d, (uint32_t)child));

	activity_free(a);
	activity_free(NULL);
	config_free(&cfg);
}

/* A procfs root full of garbage: errors, never a crash. */
static void test_procfs_garbage(void **state)
{
	char dir[] = "/tmp/kepler-procfs-XXXXXX", path[512];
	struct kepler_config cfg;
	struct activity *a = NULL;
	struct activity_delta d;
	char reason[512];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(config_defaults(&cfg), 0);
	free(cfg.host_procfs);
	cfg.host_procfs = strdup(dir);
	cfg.activity_source = ACTIVITY_SOURCE_PROCFS;

	/* no stat file: a clear error naming it */
	assert_true(activity_new(&a, &cfg, reason, sizeof(reason)) < 0);
	assert_non_null(strstr(reason, "stat"));

	snprintf(path, sizeof(path), "%s/stat", dir);
	f = fopen(path, "w");
	fputs("cpu 1 2 3 4 5 6 7 8\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/123", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/123/stat", dir);
	f = fopen(path, "w");
	fputs("123 (broken", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/77", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/77/stat", dir);
	f = fopen(path, "w");
	fputs(STAT("77", "ok", "1", "0", "5", "5", "1"), f);
	fclose(f);

	assert_int_equal(activity_new(&a, &cfg, reason, sizeof(reason)), 0);
	f = fopen(path, "w");
	fputs(STAT("77", "ok", "1", "0", "7", "6", "1"), f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/stat", dir);
	f = fopen(path, "w");
	fputs("cpu 2 2 3 9 5 6 7 8\n", f);
	fclose(f);
	assert_int_equal(activity_read(a, &d), 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.procs[0].pid, 77);
	assert_int_equal(d.procs[0].cpu_ns, 3 * (1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK)));
	assert_int_equal(d.busy_ns, 1 * (1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK)));
	assert_int_equal(d.idle_ns, 5 * (1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK)));

	/* /proc/stat turns to garbage: the read fails cleanly */
	f = fopen(path, "w");
	fputs("nonsense\n", f);
	fclose(f);
	assert_true(activity_read(a, &d) < 0);
	activity_free(a);

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
	config_free(&cfg);
}

/*
 * Source selection, in a child without the capabilities eBPF needs: auto falls
 * back to procfs and names the missing capability; an explicit ebpf is an
 * error with the same reason.
 */
static int fallback_child(void)
{
	struct kepler_config cfg;
	struct activity *a = NULL;
	char reason[512];
	int r;

	if (caps_drop_except(0) < 0 || config_defaults(&cfg) < 0)
		return 10;
	cfg.activity_source = ACTIVITY_SOURCE_AUTO;
	if (activity_new(&a, &cfg, reason, sizeof(reason)) != 0)
		return 11;
	if (!streq(activity_source_name(a), "procfs") || !streq(activity_attach_mode(a), "procfs"))
		return 12;
	if (!startswith(reason, "ebpf: missing CAP_BPF") || !strstr(reason, "; using procfs"))
		return 13;
	activity_free(a);

	cfg.activity_source = ACTIVITY_SOURCE_EBPF;
	a = NULL;
	r = activity_new(&a, &cfg, reason, sizeof(reason));
	if (r >= 0 || a || !startswith(reason, "ebpf: missing CAP_BPF") || strstr(reason, "procfs"))
		return 14;
	config_free(&cfg);
	return 0;
}

static void test_fallback(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fallback_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_pid_stat), cmocka_unit_test(test_parse_cpu_list),
	    cmocka_unit_test(test_caps_check),	   cmocka_unit_test(test_pidtab),
	    cmocka_unit_test(test_procfs_source),  cmocka_unit_test(test_procfs_garbage),
	    cmocka_unit_test(test_fallback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
