// SPDX-License-Identifier: Apache-2.0
/*
 * config_parse_yaml over the defaults, as config_load does with a file. The
 * parser gets the exact bytes (not NUL-terminated), so a read past len shows.
 * Checked: an error is one line; a parsed config renders every key and
 * compares equal to itself.
 */
#include "config.h"
#include "fuzz.h"

static const char *const keys[] = {
    "log.level",
    "log.format",
    "host.sysfs",
    "host.procfs",
    "monitor.interval",
    "monitor.maxTerminated",
    "power.sources",
    "power.idle.package",
    "power.estimator.idleWattsPerCPU",
    "power.estimator.maxWattsPerCPU",
    "activity.source",
    "rapl.zones",
    "exporter.stdout.enabled",
    "exporter.prometheus.enabled",
    "exporter.prometheus.metricsLevel",
    "exporter.prometheus.maxProcesses",
    "web.configFile",
    "web.listenAddresses",
    "kube.enabled",
    "kube.nodeName",
    "kube.kubeletURL",
    "kube.tokenFile",
    "kube.caFile",
    "kube.insecureSkipVerify",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kepler_config cfg, def;
	const char *changed[64];
	char err[256], buf[512];
	size_t n;
	int r;

	if (config_defaults(&cfg) < 0)
		return 0;
	err[0] = '\0';
	r = config_parse_yaml(&cfg, (const char *)data, size, err, sizeof(err));
	fuzz_check(memchr(err, '\0', sizeof(err)) != NULL);
	if (r < 0) {
		fuzz_check(err[0] != '\0');
		fuzz_check(strchr(err, '\n') == NULL); /* one line: see the crash-*-newline seeds */
	} else {
		fuzz_check(config_diff(&cfg, &cfg, changed, 64) == 0);
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			r = config_format_value(&cfg, keys[i], buf, sizeof(buf));
			fuzz_check(r == 0 || r == -ENAMETOOLONG || r == -ENOMEM);
		}
		if (config_defaults(&def) == 0) {
			n = config_diff(&def, &cfg, changed, 64);
			for (size_t i = 0; i < n && i < 64; i++) {
				r = config_format_value(&cfg, changed[i], buf, sizeof(buf));
				fuzz_check(r == 0 || r == -ENAMETOOLONG || r == -ENOMEM);
			}
			config_free(&def);
		}
	}
	config_free(&cfg);
	return 0;
}
