// SPDX-License-Identifier: Apache-2.0
/*
 * config_load over a command line: the input split on NUL is argv[1..].
 * Inputs naming --config.file are skipped (the YAML harness covers the file
 * parser; this one must not open files), and --help's usage goes to
 * /dev/null. Checked: the return contract of config.h (a non-zero return
 * leaves *cfg zeroed, an error is one non-empty line) and that a loaded
 * config holds what its consumers rely on.
 */
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "util/listenaddr.h"

#define MAX_ARGS 64

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* --help writes the usage to stdout; libFuzzer reports on stderr. */
	if (!freopen("/dev/null", "w", stdout))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct kepler_config zero;
	char *parts[MAX_ARGS], *argv[MAX_ARGS + 2], *buf;
	struct kepler_config cfg;
	char err[256];
	size_t n = 0;
	int r;

	if (memmem(data, size, "config.file", strlen("config.file")))
		return 0;
	buf = fuzz_split(data, size, parts, MAX_ARGS);
	argv[n++] = "kepler";
	/* As many arguments as the input has NUL-separated parts (a trailing NUL adds none). */
	for (size_t i = 0, off = 0; i < MAX_ARGS && off < size; i++) {
		argv[n++] = parts[i];
		off += strlen(parts[i]) + 1;
	}
	argv[n] = NULL;

	memset(&cfg, 0xa5, sizeof(cfg)); /* need not be initialised on entry */
	r = config_load(&cfg, (int)n, argv, err, sizeof(err));
	fuzz_check(r == 0 || r == 1 || r == 2 || (r < 0 && r > -4096));
	fuzz_check(memchr(err, '\0', sizeof(err)) != NULL);
	if (r != 0)
		fuzz_check(memcmp(&cfg, &zero, sizeof(cfg)) == 0);
	if (r < 0) {
		fuzz_check(err[0] != '\0');
		fuzz_check(strchr(err, '\n') == NULL); /* one line: see the crash-*-newline seeds */
	}
	if (r == 0) {
		const char *changed[1];

		fuzz_check(cfg.config_file == NULL);
		fuzz_check(cfg.host_sysfs && cfg.host_procfs);
		fuzz_check(cfg.n_sources >= 1 && cfg.n_sources <= CONFIG_MAX_SOURCES);
		fuzz_check(cfg.n_listen >= 1 && cfg.n_listen <= CONFIG_MAX_LISTEN);
		for (size_t i = 0; i < cfg.n_listen; i++) {
			char host[256];
			uint16_t port;

			fuzz_check(cfg.listen_addresses[i] != NULL);
			fuzz_check(parse_listen_address(cfg.listen_addresses[i], host, sizeof(host),
							&port) == 0);
		}
		fuzz_check(cfg.estimator_max_watts_per_cpu >= cfg.estimator_idle_watts_per_cpu);
		fuzz_check(config_diff(&cfg, &cfg, changed, 1) == 0);
	}
	config_free(&cfg);
	free(buf);
	return 0;
}
