// SPDX-License-Identifier: Apache-2.0
/*
 * The pure parsers of the power meters (src/power/internal.h) on the input
 * as sysfs/procfs text, and the counter arithmetic on its bytes as numbers.
 * Checked: outputs stay in their documented ranges; counter_delta is exact
 * modular arithmetic within [0, max_range] and never exceeds max_range + 1;
 * integrated energy never decreases; count-to-energy is monotone.
 */
#include <math.h>

#include "fuzz.h"
#include "power/internal.h"

static uint64_t take_u64(const uint8_t **p, size_t *n)
{
	uint64_t v = 0;
	size_t k = *n < 8 ? *n : 8;

	memcpy(&v, *p, k);
	*p += k;
	*n -= k;
	return v;
}

static uint64_t in_range(uint64_t v, uint64_t max)
{
	return max == UINT64_MAX ? v : v % (max + 1);
}

static void check_counter(uint64_t prev, uint64_t cur, uint64_t max)
{
	uint64_t d = counter_delta(prev, cur, max);
	unsigned __int128 mod = (unsigned __int128)max + 1;

	if (max && cur > max)
		fuzz_check(d == 0);
	if (prev <= max && cur <= max) {
		fuzz_check((unsigned __int128)d <= mod);
		if (max)
			fuzz_check(((unsigned __int128)prev + d) % mod == cur);
	}
	if (max == 0)
		fuzz_check(d == (cur >= prev ? cur - prev : 0));
}

static void check_numbers(const uint8_t *p, size_t n)
{
	uint64_t prev = take_u64(&p, &n), cur = take_u64(&p, &n), max = take_u64(&p, &n);
	struct power_integrator it = {0};
	uint64_t last = 0, count;
	double scale;

	check_counter(prev, cur, max);
	check_counter(prev, cur, 0);
	/* Real ranges are 2^32..2^38 uJ; also bring the values into range to reach the wrap. */
	if (max) {
		check_counter(in_range(prev, max), in_range(cur, max), max);
		check_counter(max, in_range(cur, max), max);
	}

	count = take_u64(&p, &n);
	memcpy(&scale, &max, sizeof(scale));
	fuzz_check(perf_count_to_uj(count, scale) <= perf_count_to_uj(count | 1, scale) ||
		   !(scale > 0));
	if (isfinite(scale) && scale > 0)
		fuzz_check(perf_count_to_uj(count / 2, scale) <= perf_count_to_uj(count, scale));

	/* The rest: (microwatts, time) samples. */
	while (n >= 16) {
		uint64_t uw = take_u64(&p, &n), t = take_u64(&p, &n), uj;
		int r = power_integrator_add(&it, uw % (POWER_MAX_UW * 2), t);

		fuzz_check(r == 0 || r == -ERANGE);
		uj = power_integrator_uj(&it);
		fuzz_check(uj >= last);
		last = uj;
	}
}

/* The model stays within [0, ncpus x the larger coefficient] for any finite input. */
static void check_estimator(const uint8_t *data, size_t size)
{
	double w[3] = {0};
	unsigned ncpus = size ? data[0] : 0;

	memcpy(w, data, size < sizeof(w) ? size : sizeof(w));
	if (isfinite(w[0]) && isfinite(w[1]) && isfinite(w[2]) && w[0] >= 0 && w[1] >= 0 &&
	    isfinite(ncpus * w[0]) && isfinite(ncpus * w[1])) {
		double p = estimator_power_w(ncpus, w[0], w[1], w[2]);
		double hi = ncpus * (w[0] > w[1] ? w[0] : w[1]);

		fuzz_check(p >= 0 && p <= hi * (1 + 1e-12));
	}
}

static void check_text(const char *s)
{
	enum rapl_iface iface;
	enum zone zone;
	enum hwmon_kind kind;
	int idx, sub, socket, cpus[PERF_MAX_CPUS];
	unsigned ch;
	uint64_t config;
	double scale;
	size_t n;

	if (rapl_parse_dirname(s, &iface, &idx, &sub) == 0)
		fuzz_check((iface == RAPL_IFACE_MSR || iface == RAPL_IFACE_MMIO) && idx >= 0 &&
			   sub >= -1);
	if (rapl_parse_zone_name(s, &zone, &socket) == 0)
		fuzz_check((int)zone >= 0 && zone < ZONE_MAX && socket >= -1);
	if (perf_parse_event(s, &config) == 0)
		fuzz_check(config <= 0xff);
	if (perf_parse_scale(s, &scale) == 0)
		fuzz_check(isfinite(scale) && scale > 0);
	(void)perf_parse_unit(s);
	if (perf_parse_cpumask(s, cpus, PERF_MAX_CPUS, &n) == 0) {
		fuzz_check(n >= 1 && n <= PERF_MAX_CPUS);
		for (size_t i = 0; i < n; i++)
			fuzz_check(cpus[i] >= 0);
	}
	if (perf_parse_cpumask(s, cpus, 1, &n) == 0)
		fuzz_check(n == 1);
	idx = perf_event_zone(s);
	fuzz_check(idx >= -1 && idx < ZONE_MAX);
	if (hwmon_parse_attr(s, &kind, &ch) == 0)
		fuzz_check(kind <= HWMON_AVERAGE && ch >= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *parts[2];
	char *buf = fuzz_split(data, size, parts, 2);
	int z;

	check_text(parts[0]);
	z = hwmon_zone_for(parts[0], parts[1]);
	fuzz_check(z >= -1 && z < ZONE_MAX);
	check_estimator(data, size);
	check_numbers(data, size);
	free(buf);
	return 0;
}
