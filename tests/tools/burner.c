// SPDX-License-Identifier: Apache-2.0
/*
 * burner: known CPU work for the activity ground-truth tests and bench/.
 * Each mode prints one JSON line with the kernel's own accounting
 * (getrusage) and then lingers (--linger, default 0.6 s) so that a sampling
 * collector scans it once more before it exits.
 *
 *   burner spin SECONDS            burn SECONDS of CPU in one thread
 *   burner threads N SECONDS       N threads, each burning SECONDS
 *   burner forker N MS             N children one after another, each burning MS of CPU
 *   burner sleepers N              N children that run once and sleep until killed
 *                                  (prints "ready" when all have run; SIGTERM ends them)
 *   burner pingpong SECONDS        two processes bouncing a byte over pipes, on CPU 0;
 *                                  prints round trips per second
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "burn.h"

static double linger_s = 0.6;

static uint64_t tv_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000000ULL + (uint64_t)tv.tv_usec * 1000ULL;
}

static uint64_t rusage_ns(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime);
}

static void linger(void)
{
	struct timespec ts = {.tv_sec = (time_t)linger_s,
			      .tv_nsec = (long)((linger_s - (double)(time_t)linger_s) * 1e9)};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void *thread_burn(void *arg)
{
	uint64_t burn = *(uint64_t *)arg;

	burn_until(CLOCK_THREAD_CPUTIME_ID, clock_ns(CLOCK_THREAD_CPUTIME_ID) + burn);
	return NULL;
}

static int spin(double secs)
{
	burn_until(CLOCK_PROCESS_CPUTIME_ID, (uint64_t)(secs * 1e9));
	printf("{\"pid\":%d,\"rusage_self_ns\":%llu}\n", getpid(),
	       (unsigned long long)rusage_ns(RUSAGE_SELF));
	fflush(stdout);
	linger();
	return 0;
}

static int threads(int n, double secs)
{
	pthread_t t[64];
	uint64_t burn = (uint64_t)(secs * 1e9);

	if (n < 1 || n > 64)
		return 2;
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, thread_burn, &burn))
			return 1;
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("{\"pid\":%d,\"rusage_self_ns\":%llu}\n", getpid(),
	       (unsigned long long)rusage_ns(RUSAGE_SELF));
	fflush(stdout);
	linger();
	return 0;
}

static int forker(int n, double ms)
{
	uint64_t burn = (uint64_t)(ms * 1e6);
	int failed = 0;

	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		int st;

		if (pid < 0)
			return 1;
		if (pid == 0) {
			if (burn)
				burn_until(CLOCK_PROCESS_CPUTIME_ID, burn);
			_exit(0);
		}
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
			failed++;
	}
	printf("{\"pid\":%d,\"children\":%d,\"failed\":%d,\"rusage_children_ns\":%llu,"
	       "\"rusage_self_ns\":%llu}\n",
	       getpid(), n, failed, (unsigned long long)rusage_ns(RUSAGE_CHILDREN),
	       (unsigned long long)rusage_ns(RUSAGE_SELF));
	fflush(stdout);
	linger();
	return failed ? 1 : 0;
}

static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static int sleepers(int n)
{
	pid_t *kids = calloc((size_t)n, sizeof(pid_t));
	int ready[2];
	char c;

	if (!kids || pipe(ready) < 0)
		return 1;
	signal(SIGTERM, on_term);
	for (int i = 0; i < n; i++) {
		kids[i] = fork();
		if (kids[i] < 0) {
			fprintf(stderr, "burner: fork %d: %s\n", i, strerror(errno));
			n = i;
			break;
		}
		if (kids[i] == 0) {
			signal(SIGTERM, SIG_DFL);
			close(ready[0]);
			if (write(ready[1], "x", 1) != 1)
				_exit(1);
			close(ready[1]);
			for (;;)
				pause();
		}
	}
	close(ready[1]);
	for (int i = 0; i < n; i++)
		if (read(ready[0], &c, 1) != 1)
			break;
	printf("ready %d\n", n);
	fflush(stdout);
	while (!got_term)
		pause();
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	free(kids);
	return 0;
}

static int pingpong(double secs)
{
	int ab[2], ba[2];
	cpu_set_t set;
	uint64_t rounds = 0, t0, t1;
	pid_t pid;
	char c = 'x';

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	if (pipe(ab) < 0 || pipe(ba) < 0)
		return 1;
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		close(ab[1]);
		close(ba[0]);
		while (read(ab[0], &c, 1) == 1)
			if (write(ba[1], &c, 1) != 1)
				break;
		_exit(0);
	}
	close(ab[0]);
	close(ba[1]);
	t0 = clock_ns(CLOCK_MONOTONIC);
	t1 = t0 + (uint64_t)(secs * 1e9);
	while (clock_ns(CLOCK_MONOTONIC) < t1) {
		for (int i = 0; i < 1000; i++) {
			if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
				return 1;
		}
		rounds += 1000;
	}
	t1 = clock_ns(CLOCK_MONOTONIC);
	close(ab[1]);
	waitpid(pid, NULL, 0);
	printf("{\"round_trips\":%llu,\"seconds\":%.6f,\"round_trips_per_s\":%.1f}\n",
	       (unsigned long long)rounds, (double)(t1 - t0) / 1e9,
	       (double)rounds / ((double)(t1 - t0) / 1e9));
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1;

	if (argc > 2 && strcmp(argv[1], "--linger") == 0) {
		linger_s = atof(argv[2]);
		i = 3;
	}
	if (argc - i == 2 && strcmp(argv[i], "spin") == 0)
		return spin(atof(argv[i + 1]));
	if (argc - i == 3 && strcmp(argv[i], "threads") == 0)
		return threads(atoi(argv[i + 1]), atof(argv[i + 2]));
	if (argc - i == 3 && strcmp(argv[i], "forker") == 0)
		return forker(atoi(argv[i + 1]), atof(argv[i + 2]));
	if (argc - i == 2 && strcmp(argv[i], "sleepers") == 0)
		return sleepers(atoi(argv[i + 1]));
	if (argc - i == 2 && strcmp(argv[i], "pingpong") == 0)
		return pingpong(atof(argv[i + 1]));
	fprintf(stderr, "usage: burner [--linger S] spin SECS | threads N SECS | forker N MS | "
			"sleepers N | pingpong SECS\n");
	return 2;
}
