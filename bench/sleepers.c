// SPDX-License-Identifier: Apache-2.0
/*
 * Live processes for the whole-agent benchmark: forks N children spread over
 * the cgroup directories given, each waking once a second (so each is a live,
 * scheduled process the agent must track), until the parent gets SIGTERM.
 *
 * usage: sleepers N CGROUP_DIR...
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void join_cgroup(const char *dir)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "w");
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f) != 0) {
		fprintf(stderr, "sleepers: %s: %s\n", path, strerror(errno));
		_exit(1);
	}
}

int main(int argc, char **argv)
{
	int n, ndirs = argc - 2;

	if (argc < 3 || (n = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: sleepers N CGROUP_DIR...\n");
		return 2;
	}
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("sleepers: fork");
			kill(0, SIGTERM);
			return 1;
		}
		if (pid == 0) {
			/* Spread the wake-ups over the second. */
			struct timespec ts = {0, (long)(i % 1000) * 1000000L};

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			join_cgroup(argv[2 + i % ndirs]);
			nanosleep(&ts, NULL);
			for (;;)
				sleep(1);
		}
	}
	printf("ready %d\n", n);
	fflush(stdout);
	pause();
	return 0;
}
