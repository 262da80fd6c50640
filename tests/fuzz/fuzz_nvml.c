// SPDX-License-Identifier: Apache-2.0
/*
 * The pure NVML-facing parts of the nvml GPU backend (src/power/gpu_internal.h)
 * on NVML answers made from the input's bytes: utilisation samples, a
 * running-process list, energy counter values and a PCI bus id. Checked: a
 * pid's weight is at most 100 per new sample of it and its util in [0, 1];
 * pids are listed once; last seen never decreases and becomes the newest
 * timestamp; adding a list keeps what was there and names every pid in it;
 * accumulated energy never decreases; a formatted bus id formats to itself.
 */
#include "fuzz.h"
#include "power/gpu_internal.h"

#define MAX_SAMPLES 256

static uint64_t take(const uint8_t **p, size_t *n, size_t k)
{
	uint64_t v = 0;

	k = *n < k ? *n : k;
	memcpy(&v, *p, k);
	*p += k;
	*n -= k;
	return v;
}

static void check_samples(const uint8_t **p, size_t *n, uint64_t *last_seen,
			  struct gpu_proc_use *use, size_t *ret_k)
{
	static nvmlProcessUtilizationSample_t s[MAX_SAMPLES];
	uint64_t before = *last_seen, newest = before;
	size_t ns = take(p, n, 1) % MAX_SAMPLES, k;

	for (size_t i = 0; i < ns; i++) {
		/* Few pids and near timestamps, so that pids repeat and samples are old. */
		s[i] = (nvmlProcessUtilizationSample_t){.pid = (unsigned)take(p, n, 1) % 8,
							.timeStamp = take(p, n, 1),
							.smUtil = (unsigned)take(p, n, 1)};
		if (s[i].timeStamp > newest)
			newest = s[i].timeStamp;
	}
	k = nvml_fold_samples(s, ns, last_seen, use);
	fuzz_check(*last_seen == newest && *last_seen >= before);
	fuzz_check(k <= ns);
	for (size_t j = 0; j < k; j++) {
		uint64_t count = 0;

		fuzz_check(use[j].pid != 0);
		for (size_t i = 0; i < ns; i++)
			count += s[i].pid == use[j].pid && s[i].timeStamp > before;
		for (size_t i = 0; i < j; i++)
			fuzz_check(use[i].pid != use[j].pid);
		fuzz_check(count > 0 && use[j].weight <= count * 100);
		fuzz_check(use[j].util >= 0 && use[j].util <= 1);
	}
	*ret_k = k;
}

static void check_list(const uint8_t **p, size_t *n, struct gpu_proc_use *use, size_t k)
{
	nvmlProcessInfo_t list[64];
	struct gpu_proc_use before[MAX_SAMPLES];
	size_t m = take(p, n, 1) % 64, k2;

	for (size_t i = 0; i < m; i++)
		list[i] = (nvmlProcessInfo_t){.pid = (unsigned)take(p, n, 1) % 16};
	memcpy(before, use, k * sizeof(*use));
	k2 = nvml_add_procs(use, k, list, m, 1, -1);
	fuzz_check(k2 >= k && k2 <= k + m);
	fuzz_check(memcmp(before, use, k * sizeof(*use)) == 0);
	for (size_t i = 0; i < m; i++) {
		bool found = list[i].pid == 0;

		for (size_t j = 0; j < k2 && !found; j++)
			found = use[j].pid == list[i].pid;
		fuzz_check(found);
	}
	for (size_t j = k; j < k2; j++) {
		fuzz_check(use[j].pid != 0 && use[j].weight == 1);
		for (size_t i = 0; i < j; i++)
			fuzz_check(use[i].pid != use[j].pid);
	}
}

static void check_energy(const uint8_t **p, size_t *n)
{
	struct nvml_energy e = {0};

	for (int i = 0; i < 16 && *n; i++) {
		uint64_t before = e.uj, mj = take(p, n, 8), added;

		/* Small values too, so that steps are ordinary as well as huge. */
		if (mj & 1)
			mj >>= 40;
		added = nvml_energy_step(&e, mj);
		fuzz_check(e.uj >= before && e.uj - before == added);
		fuzz_check(e.have_last && e.last_mj == mj);
	}
}

static void check_pci(const uint8_t *p, size_t n)
{
	char *s = fuzz_str(p, n), out[32], again[32];

	if (nvml_format_pci(s, out, sizeof(out)) == 0) {
		fuzz_check(nvml_format_pci(out, again, sizeof(again)) == 0);
		fuzz_check(strcmp(out, again) == 0);
		for (const char *c = out; *c; c++)
			fuzz_check((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') ||
				   *c == ':' || *c == '.');
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gpu_proc_use use[MAX_SAMPLES + 64];
	const uint8_t *p = data;
	size_t n = size, k;
	uint64_t last_seen = take(&p, &n, 1);

	check_pci(data, size);
	check_samples(&p, &n, &last_seen, use, &k);
	check_list(&p, &n, use, k);
	check_energy(&p, &n);
	return 0;
}
