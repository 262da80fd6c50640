// SPDX-License-Identifier: Apache-2.0
/*
 * NVIDIA GPUs through NVML, opened at run time (power.gpu.nvml.library, by
 * default libnvidia-ml.so.1 as the dynamic loader finds it), every function
 * looked up by its versioned name; the ones an older driver lacks are done
 * without.
 *
 * Energy: nvmlDeviceGetTotalEnergyConsumption (mJ since the driver loaded;
 * Volta and newer) where it answers at discovery ("energy_counter"), else
 * nvmlDeviceGetPowerUsage (mW, a 1 s average on recent GPUs) integrated over
 * the read times ("power").
 *
 * Processes: nvmlDeviceGetProcessUtilization's samples newer than the newest
 * one read before, a pid's weight the sum of its samples' SM percent
 * ("sm_utilization"); the running compute and graphics processes are listed
 * too, so that a process without samples shows with weight 0. Where samples
 * are not to be had (an old driver, MIG) every running process weighs 1
 * ("processes": an even split).
 *
 * Failures: GPU_IS_LOST takes the device out (an error on the read that finds
 * it, then lost readings without one); UNINITIALIZED, DRIVER_NOT_LOADED and
 * LIB_RM_VERSION_MISMATCH mean the driver went away or was replaced: NVML is
 * shut down and initialised again (once per read), the devices are found again
 * by UUID (handles change) and their counters take a new baseline, so energy
 * neither jumps nor decreases. Until that succeeds every device is lost.
 *
 * MIG. What NVML gives per instance: a MIG device handle
 * (nvmlDeviceGetMigDeviceHandleByIndex) whose power and energy calls report
 * the whole GPU's figures, or NOT_SUPPORTED: there is no per-instance energy.
 * nvmlDeviceGetProcessUtilization answers NOT_SUPPORTED in MIG mode, so there
 * are no per-process SM samples either. The running-process lists of the
 * parent GPU's handle name the processes of every instance, each with its
 * gpuInstanceId and computeInstanceId. (Hopper's GPM metrics give per-instance
 * SM activity; not used.) What we do: a GPU in MIG mode is one device, its
 * energy the whole GPU's, and its processes, those of all its instances, share
 * it evenly ("processes"). The instance ids are not used: NVML gives no
 * per-instance figure to weigh them by.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "power/gpu_backend.h"
#include "power/gpu_internal.h"
#include "power/internal.h"
#include "util/util.h"

/* How often a list that grew between the count and the read is asked for again. */
#define NVML_SIZE_RETRIES 4

/* ---- pure parts (gpu_internal.h) ---- */

size_t nvml_fold_samples(const nvmlProcessUtilizationSample_t *s, size_t n, uint64_t *last_seen_us,
			 struct gpu_proc_use *use)
{
	uint64_t since = *last_seen_us, newest = since;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t sm = s[i].smUtil > 100 ? 100 : s[i].smUtil;
		size_t j;

		if (s[i].timeStamp <= since)
			continue;
		if (s[i].timeStamp > newest)
			newest = s[i].timeStamp;
		if (s[i].pid == 0)
			continue;
		for (j = 0; j < k && use[j].pid != s[i].pid; j++)
			;
		if (j == k)
			use[k++] = (struct gpu_proc_use){.pid = s[i].pid};
		use[j].weight += sm;
		use[j].util += 1; /* the sample count until the loop below */
	}
	for (size_t j = 0; j < k; j++)
		use[j].util = (double)use[j].weight / use[j].util / 100.0;
	*last_seen_us = newest;
	return k;
}

size_t nvml_add_procs(struct gpu_proc_use *use, size_t n, const nvmlProcessInfo_t *list, size_t m,
		      uint64_t weight, double util)
{
	for (size_t i = 0; i < m; i++) {
		size_t j;

		if (list[i].pid == 0)
			continue;
		for (j = 0; j < n && use[j].pid != list[i].pid; j++)
			;
		if (j == n)
			use[n++] = (struct gpu_proc_use){
			    .pid = list[i].pid, .weight = weight, .util = util};
	}
	return n;
}

uint64_t nvml_energy_step(struct nvml_energy *e, uint64_t mj)
{
	uint64_t d = e->have_last ? counter_delta(e->last_mj, mj, 0) : 0;
	uint64_t uj = d > UINT64_MAX / 1000 ? UINT64_MAX : d * 1000;

	e->have_last = true;
	e->last_mj = mj;
	uj = uj > UINT64_MAX - e->uj ? UINT64_MAX - e->uj : uj;
	e->uj += uj;
	return uj;
}

/* Up to max hex digits at *s, at least one; advances *s. -1 when there are none or too many. */
static long long hex_field(const char **s, int max)
{
	long long v = 0;
	int n = 0;

	for (; n <= max; n++, (*s)++) {
		char c = **s;
		int x;

		if (c >= '0' && c <= '9')
			x = c - '0';
		else if (c >= 'a' && c <= 'f')
			x = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			x = c - 'A' + 10;
		else
			break;
		v = v * 16 + x;
	}
	return n == 0 || n > max ? -1 : v;
}

int nvml_format_pci(const char *bus_id, char *out, size_t outsz)
{
	const char *s = bus_id;
	long long dom, bus, dev, fn;
	int r;

	dom = hex_field(&s, 8);
	if (dom < 0 || *s++ != ':')
		return -EINVAL;
	bus = hex_field(&s, 2);
	if (bus < 0 || *s++ != ':')
		return -EINVAL;
	dev = hex_field(&s, 2);
	if (dev < 0 || dev > 31 || *s++ != '.')
		return -EINVAL;
	fn = hex_field(&s, 1);
	if (fn < 0 || fn > 7 || *s)
		return -EINVAL;
	r = snprintf(out, outsz, "%04llx:%02llx:%02llx.%llx", dom, bus, dev, fn);
	return r < 0 || (size_t)r >= outsz ? -EINVAL : 0;
}

/* ---- the backend ---- */

struct nvml_fns {
	nvmlInit_v2_fn init;
	nvmlShutdown_fn shutdown;
	nvmlDeviceGetCount_v2_fn count;
	nvmlDeviceGetHandleByIndex_v2_fn handle;
	nvmlDeviceGetPowerUsage_fn power;
	/* NULL when the library lacks them */
	nvmlErrorString_fn error_string;
	nvmlDeviceGetUUID_fn uuid;
	nvmlDeviceGetName_fn name;
	nvmlDeviceGetPciInfo_v3_fn pci;
	nvmlDeviceGetTotalEnergyConsumption_fn energy;
	nvmlDeviceGetUtilizationRates_fn util;
	nvmlDeviceGetProcessUtilization_fn samples;
	nvmlDeviceGetRunningProcesses_fn compute;
	nvmlDeviceGetRunningProcesses_fn graphics;
	nvmlDeviceGetMigMode_fn mig;
};

static const struct {
	const char *names[2]; /* the newest version first */
	size_t off;
	bool required;
} nvml_syms[] = {
    {{"nvmlInit_v2"}, offsetof(struct nvml_fns, init), true},
    {{"nvmlShutdown"}, offsetof(struct nvml_fns, shutdown), true},
    {{"nvmlDeviceGetCount_v2"}, offsetof(struct nvml_fns, count), true},
    {{"nvmlDeviceGetHandleByIndex_v2"}, offsetof(struct nvml_fns, handle), true},
    {{"nvmlDeviceGetPowerUsage"}, offsetof(struct nvml_fns, power), true},
    {{"nvmlErrorString"}, offsetof(struct nvml_fns, error_string), false},
    {{"nvmlDeviceGetUUID"}, offsetof(struct nvml_fns, uuid), false},
    {{"nvmlDeviceGetName"}, offsetof(struct nvml_fns, name), false},
    {{"nvmlDeviceGetPciInfo_v3"}, offsetof(struct nvml_fns, pci), false},
    {{"nvmlDeviceGetTotalEnergyConsumption"}, offsetof(struct nvml_fns, energy), false},
    {{"nvmlDeviceGetUtilizationRates"}, offsetof(struct nvml_fns, util), false},
    {{"nvmlDeviceGetProcessUtilization"}, offsetof(struct nvml_fns, samples), false},
    {{"nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2"},
     offsetof(struct nvml_fns, compute),
     false},
    {{"nvmlDeviceGetGraphicsRunningProcesses_v3", "nvmlDeviceGetGraphicsRunningProcesses_v2"},
     offsetof(struct nvml_fns, graphics),
     false},
    {{"nvmlDeviceGetMigMode"}, offsetof(struct nvml_fns, mig), false},
};

struct nvml_dev {
	nvmlDevice_t h; /* NULL while lost */
	unsigned index; /* NVML's, at discovery: for messages */
	struct gpu_info info;
	bool counter; /* energy from the counter, else power integrated */
	bool sampled; /* per-process SM samples, else the process lists split evenly */
	bool lost;    /* dropped out: not read until a re-init finds it again */
	struct nvml_energy energy;
	struct power_integrator it;
	uint64_t last_seen_us; /* the newest utilisation sample read */
	nvmlProcessUtilizationSample_t *samples;
	size_t samples_cap;
	nvmlProcessInfo_t *list;
	size_t list_cap;
	struct gpu_proc_use *use; /* what the reading's procs point to */
	size_t use_cap;
};

struct gpu_backend {
	void *dl;
	struct nvml_fns f;
	bool inited;
	size_t n;
	struct nvml_dev *devs;
};

static bool driver_gone(nvmlReturn_t r)
{
	return r == NVML_ERROR_UNINITIALIZED || r == NVML_ERROR_DRIVER_NOT_LOADED ||
	       r == NVML_ERROR_LIB_RM_VERSION_MISMATCH;
}

/* A failure that ends the device's reading, rather than leaving out optional data. */
static bool fatal(nvmlReturn_t r)
{
	return r == NVML_ERROR_GPU_IS_LOST || r == NVML_ERROR_MEMORY || driver_gone(r);
}

static int nvml_errno(nvmlReturn_t r)
{
	switch (r) {
	case NVML_ERROR_NOT_SUPPORTED:
		return -EOPNOTSUPP;
	case NVML_ERROR_NO_PERMISSION:
		return -EACCES;
	case NVML_ERROR_MEMORY:
		return -ENOMEM;
	case NVML_ERROR_TIMEOUT:
		return -ETIMEDOUT;
	case NVML_ERROR_GPU_IS_LOST:
	case NVML_ERROR_UNINITIALIZED:
	case NVML_ERROR_DRIVER_NOT_LOADED:
	case NVML_ERROR_LIB_RM_VERSION_MISMATCH:
		return -ENODEV;
	default:
		return -EIO;
	}
}

static const char *nvml_str(const struct gpu_backend *b, nvmlReturn_t r, char *buf, size_t sz)
{
	const char *s = b->f.error_string ? b->f.error_string(r) : NULL;

	if (s && *s)
		return s;
	snprintf(buf, sz, "NVML error %d", r);
	return buf;
}

/* "GPU 1 (GPU-...): call: why" ("GPU 1: ..." before the UUID is known), as -errno. */
static int dev_fail(const struct gpu_backend *b, const struct nvml_dev *d, const char *call,
		    nvmlReturn_t r, char *err, size_t errsz)
{
	char buf[32];

	if (!d->info.uuid[0])
		return errf(err, errsz, nvml_errno(r), "GPU %u: %s: %s", d->index, call,
			    nvml_str(b, r, buf, sizeof(buf)));
	return errf(err, errsz, nvml_errno(r), "GPU %u (%s): %s: %s", d->index, d->info.uuid, call,
		    nvml_str(b, r, buf, sizeof(buf)));
}

/* Room for n elements of sz bytes in *buf (capacity *cap): false when out of memory. */
static bool grow(void *buf, size_t *cap, size_t n, size_t sz)
{
	void *p;
	size_t c;

	if (n <= *cap)
		return true;
	c = n < 2 * *cap ? 2 * *cap : n;
	p = reallocarray(*(void **)buf, c, sz);
	if (!p)
		return false;
	*(void **)buf = p;
	*cap = c;
	return true;
}

static unsigned int as_uint(size_t n)
{
	return n > UINT_MAX ? UINT_MAX : (unsigned int)n;
}

/* The device's UUID, or "nvml-<index>" where the library cannot say. */
static void dev_uuid(const struct gpu_backend *b, nvmlDevice_t h, unsigned index, char *buf,
		     size_t sz)
{
	if (b->f.uuid && b->f.uuid(h, buf, as_uint(sz)) == NVML_SUCCESS && buf[0]) {
		buf[sz - 1] = '\0';
		return;
	}
	snprintf(buf, sz, "nvml-%u", index);
}

static uint64_t dev_uj(const struct nvml_dev *d)
{
	return d->counter ? d->energy.uj : power_integrator_uj(&d->it);
}

/*
 * Describe NVML's device index into d and take its energy baseline. -errno
 * (err says why) when it has neither energy counter nor power reading.
 */
static int discover(struct gpu_backend *b, unsigned index, struct nvml_dev *d, char *err,
		    size_t errsz)
{
	unsigned int cur = 0, pend = 0, mw, cnt = 0;
	unsigned long long mj;
	nvmlPciInfo_t pci;
	nvmlReturn_t r;
	bool mig;

	d->index = index;
	r = b->f.handle(index, &d->h);
	if (r != NVML_SUCCESS)
		return dev_fail(b, d, "nvmlDeviceGetHandleByIndex_v2", r, err, errsz);
	dev_uuid(b, d->h, index, d->info.uuid, sizeof(d->info.uuid));
	if (!b->f.name || b->f.name(d->h, d->info.name, sizeof(d->info.name)) != NVML_SUCCESS)
		snprintf(d->info.name, sizeof(d->info.name), "NVIDIA GPU");
	d->info.name[sizeof(d->info.name) - 1] = '\0';
	if (b->f.pci && b->f.pci(d->h, &pci) == NVML_SUCCESS) {
		pci.busId[sizeof(pci.busId) - 1] = '\0';
		if (nvml_format_pci(pci.busId, d->info.pci, sizeof(d->info.pci)) < 0)
			d->info.pci[0] = '\0';
	}
	d->info.vendor = "nvidia";
	d->info.backend = "nvml";
	if (b->f.energy && b->f.energy(d->h, &mj) == NVML_SUCCESS) {
		d->counter = true;
		nvml_energy_step(&d->energy, mj);
		d->info.energy_source = "energy_counter";
	} else {
		r = b->f.power(d->h, &mw);
		if (r != NVML_SUCCESS)
			return dev_fail(b, d, "nvmlDeviceGetPowerUsage", r, err, errsz);
		d->info.energy_source = "power";
	}
	mig = b->f.mig && b->f.mig(d->h, &cur, &pend) == NVML_SUCCESS &&
	      cur == NVML_DEVICE_MIG_ENABLE;
	/* A GPU in MIG mode has no process samples: NVML answers NOT_SUPPORTED. */
	if (b->f.samples && !mig) {
		r = b->f.samples(d->h, NULL, &cnt, 0);
		d->sampled = r == NVML_SUCCESS || r == NVML_ERROR_INSUFFICIENT_SIZE ||
			     r == NVML_ERROR_NOT_FOUND;
	}
	d->info.usage_source = d->sampled ? "sm_utilization" : "processes";
	return 0;
}

/*
 * NVML down and every device out, until a re-init finds them again; their
 * counters will take a new baseline then (the driver restarts them).
 */
static void nvml_down(struct gpu_backend *b)
{
	if (b->inited)
		b->f.shutdown();
	b->inited = false;
	for (size_t i = 0; i < b->n; i++) {
		struct nvml_dev *d = &b->devs[i];

		d->h = NULL;
		d->lost = true;
		d->energy.have_last = false;
		d->it.have_prev = false;
	}
}

/* Start NVML again and find the devices by UUID: handles change. */
static nvmlReturn_t reinit(struct gpu_backend *b)
{
	unsigned int count = 0;
	nvmlReturn_t r;

	nvml_down(b);
	r = b->f.init();
	if (r != NVML_SUCCESS)
		return r;
	r = b->f.count(&count);
	if (r != NVML_SUCCESS) {
		b->f.shutdown();
		return r;
	}
	b->inited = true;
	for (unsigned int i = 0; i < count; i++) {
		char uuid[sizeof(b->devs[0].info.uuid)];
		nvmlDevice_t h;

		if (b->f.handle(i, &h) != NVML_SUCCESS)
			continue;
		dev_uuid(b, h, i, uuid, sizeof(uuid));
		for (size_t k = 0; k < b->n; k++)
			if (!b->devs[k].h && streq(b->devs[k].info.uuid, uuid)) {
				b->devs[k].h = h;
				b->devs[k].lost = false;
				break;
			}
	}
	return NVML_SUCCESS;
}

/* The samples newer than the last read into d->samples: NOT_FOUND is none. */
static nvmlReturn_t get_samples(struct gpu_backend *b, struct nvml_dev *d, size_t *ret_n)
{
	unsigned int c = 0;
	nvmlReturn_t r;

	*ret_n = 0;
	r = b->f.samples(d->h, NULL, &c, d->last_seen_us);
	if (r == NVML_ERROR_NOT_FOUND || (r == NVML_SUCCESS && c == 0))
		return NVML_SUCCESS;
	if (r != NVML_SUCCESS && r != NVML_ERROR_INSUFFICIENT_SIZE)
		return r;
	for (int t = 0; t < NVML_SIZE_RETRIES; t++) {
		/* Room for what the driver said; more only once a buffer was too small. */
		size_t want = c > d->samples_cap ? c : d->samples_cap + (t > 0);

		if (!grow(&d->samples, &d->samples_cap, want, sizeof(*d->samples)))
			return NVML_ERROR_MEMORY;
		c = as_uint(d->samples_cap);
		r = b->f.samples(d->h, d->samples, &c, d->last_seen_us);
		if (r == NVML_SUCCESS) {
			*ret_n = c < d->samples_cap ? c : d->samples_cap;
			return r;
		}
		if (r == NVML_ERROR_NOT_FOUND)
			return NVML_SUCCESS;
		if (r != NVML_ERROR_INSUFFICIENT_SIZE)
			return r;
	}
	return NVML_ERROR_INSUFFICIENT_SIZE;
}

/* A running-process list into d->list, grown as the driver asks. */
static nvmlReturn_t get_list(struct nvml_dev *d, nvmlDeviceGetRunningProcesses_fn fn, size_t *ret_n)
{
	nvmlReturn_t r;

	*ret_n = 0;
	for (int t = 0; t <= NVML_SIZE_RETRIES; t++) {
		unsigned int c = as_uint(d->list_cap);

		r = fn(d->h, &c, d->list_cap ? d->list : NULL);
		if (r == NVML_SUCCESS) {
			*ret_n = c < d->list_cap ? c : d->list_cap;
			return r;
		}
		if (r != NVML_ERROR_INSUFFICIENT_SIZE)
			return r;
		if (!grow(&d->list, &d->list_cap, c > d->list_cap ? c : d->list_cap + 1,
			  sizeof(*d->list)))
			return NVML_ERROR_MEMORY;
	}
	return NVML_ERROR_INSUFFICIENT_SIZE;
}

/*
 * The device's processes into d->use: sampled ones with their SM figures,
 * then the running ones not sampled. A failure that is not fatal leaves that
 * source out; a fatal one is returned, *call naming the function.
 */
static nvmlReturn_t read_procs(struct gpu_backend *b, struct nvml_dev *d, size_t *ret_n,
			       const char **call)
{
	nvmlDeviceGetRunningProcesses_fn lists[] = {b->f.compute, b->f.graphics};
	static const char *const names[] = {"nvmlDeviceGetComputeRunningProcesses",
					    "nvmlDeviceGetGraphicsRunningProcesses"};
	size_t n = 0, m;
	nvmlReturn_t r;

	if (d->sampled) {
		r = get_samples(b, d, &m);
		if (fatal(r)) {
			*call = "nvmlDeviceGetProcessUtilization";
			return r;
		}
		if (r == NVML_SUCCESS) {
			if (!grow(&d->use, &d->use_cap, m, sizeof(*d->use)))
				return NVML_ERROR_MEMORY;
			n = nvml_fold_samples(d->samples, m, &d->last_seen_us, d->use);
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		if (!lists[i])
			continue;
		r = get_list(d, lists[i], &m);
		if (fatal(r)) {
			*call = names[i];
			return r;
		}
		if (r != NVML_SUCCESS)
			continue;
		if (!grow(&d->use, &d->use_cap, n + m, sizeof(*d->use)))
			return NVML_ERROR_MEMORY;
		/* Sampled: a running process without samples did not use the SMs. */
		n = nvml_add_procs(d->use, n, d->list, m, d->sampled ? 0 : 1, d->sampled ? 0 : -1);
	}
	*ret_n = n;
	return NVML_SUCCESS;
}

/* One device's reading; on failure the NVML code, *call naming the function. */
static nvmlReturn_t read_dev(struct gpu_backend *b, struct nvml_dev *d,
			     const struct gpu_read_input *in, struct gpu_reading *out,
			     const char **call)
{
	nvmlUtilization_t u;
	size_t n = 0;
	nvmlReturn_t r;

	if (d->counter) {
		unsigned long long mj;

		*call = "nvmlDeviceGetTotalEnergyConsumption";
		r = b->f.energy(d->h, &mj);
		if (r != NVML_SUCCESS)
			return r;
		nvml_energy_step(&d->energy, mj);
	} else {
		unsigned int mw;

		*call = "nvmlDeviceGetPowerUsage";
		r = b->f.power(d->h, &mw);
		if (r != NVML_SUCCESS)
			return r;
		/* At most 2^32 mW: always below POWER_MAX_UW. */
		power_integrator_add(&d->it, (uint64_t)mw * 1000, in->now_ns);
	}
	if (b->f.util) {
		*call = "nvmlDeviceGetUtilizationRates";
		r = b->f.util(d->h, &u);
		if (fatal(r))
			return r;
		if (r == NVML_SUCCESS)
			out->util = (u.gpu > 100 ? 100 : u.gpu) / 100.0;
	}
	r = read_procs(b, d, &n, call);
	if (r != NVML_SUCCESS)
		return r;
	out->valid = true;
	out->energy_uj = dev_uj(d);
	out->procs = d->use;
	out->n_procs = n;
	return NVML_SUCCESS;
}

/*
 * A device that drops out is an error on the read that finds it; after that
 * its readings say lost, without one, until a re-init finds it again.
 */
static int nvml_read(struct gpu_backend *b, const struct gpu_read_input *in,
		     struct gpu_reading *out, char *err, size_t errsz)
{
	bool retried = false;
	char buf[32], buf2[32];
	int first = 0;

	/* The driver was gone at the last read: look again, once. */
	if (!b->inited) {
		retried = true;
		reinit(b);
	}
	for (size_t i = 0; i < b->n; i++) {
		struct nvml_dev *d = &b->devs[i];
		const char *call = "";
		nvmlReturn_t r, ri;
		int e;

		out[i] = (struct gpu_reading){.lost = true, .util = -1, .energy_uj = dev_uj(d)};
		if (d->lost)
			continue;
		r = read_dev(b, d, in, &out[i], &call);
		if (r == NVML_SUCCESS) {
			out[i].lost = false;
			continue;
		}
		out[i] = (struct gpu_reading){.util = -1, .energy_uj = dev_uj(d)};
		if (driver_gone(r) && !retried) {
			retried = true;
			ri = reinit(b);
			if (ri == NVML_SUCCESS && !d->lost) {
				i--; /* this device again, with its new handle */
				continue;
			}
			out[i].lost = true;
			e = errf(first ? NULL : err, first ? 0 : errsz, -ENODEV,
				 "GPU %u (%s): %s: %s; after restarting NVML: %s", d->index,
				 d->info.uuid, call, nvml_str(b, r, buf, sizeof(buf)),
				 ri == NVML_SUCCESS ? "not found"
						    : nvml_str(b, ri, buf2, sizeof(buf2)));
			first = first ? first : e;
			continue;
		}
		e = dev_fail(b, d, call, r, first ? NULL : err, first ? 0 : errsz);
		first = first ? first : e;
		if (driver_gone(r)) {
			/* Again after a restart: try at the next read. */
			nvml_down(b);
			out[i].lost = true;
		} else if (r == NVML_ERROR_GPU_IS_LOST) {
			d->lost = true;
			d->h = NULL;
			out[i].lost = true;
		}
	}
	return first;
}

static size_t nvml_count(const struct gpu_backend *b)
{
	return b->n;
}

static const struct gpu_info *nvml_info(const struct gpu_backend *b, size_t i)
{
	return i < b->n ? &b->devs[i].info : NULL;
}

static void nvml_close(struct gpu_backend *b)
{
	if (!b)
		return;
	if (b->inited)
		b->f.shutdown();
	for (size_t i = 0; i < b->n; i++) {
		free(b->devs[i].samples);
		free(b->devs[i].list);
		free(b->devs[i].use);
	}
	free(b->devs);
	if (b->dl)
		dlclose(b->dl);
	free(b);
}

/* Look every function up; -ENODEV when a required one is missing. */
static int load_symbols(struct gpu_backend *b, const char *lib, char *err, size_t errsz)
{
	for (size_t i = 0; i < ARRAY_SIZE(nvml_syms); i++) {
		void *sym = NULL;

		for (size_t k = 0; k < ARRAY_SIZE(nvml_syms[i].names) && !sym; k++)
			if (nvml_syms[i].names[k])
				sym = dlsym(b->dl, nvml_syms[i].names[k]);
		if (!sym && nvml_syms[i].required)
			return errf(err, errsz, -ENODEV, "%s lacks %s: NVIDIA driver too old", lib,
				    nvml_syms[i].names[0]);
		memcpy((char *)&b->f + nvml_syms[i].off, &sym, sizeof(sym));
	}
	return 0;
}

static int nvml_open(struct gpu_backend **ret, const struct kepler_config *cfg, char *err,
		     size_t errsz)
{
	const char *lib =
	    cfg->nvml_library && *cfg->nvml_library ? cfg->nvml_library : "libnvidia-ml.so.1";
	struct gpu_backend *b;
	unsigned int count = 0;
	char buf[32];
	nvmlReturn_t nr;
	int r, first = 0;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	dlerror();
	b->dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!b->dl) {
		const char *why = dlerror();

		r = errf(err, errsz, -ENODEV, "%s", why ? why : lib);
		goto fail;
	}
	r = load_symbols(b, lib, err, errsz);
	if (r < 0)
		goto fail;
	nr = b->f.init();
	if (nr != NVML_SUCCESS) {
		r = errf(err, errsz, -ENODEV, "nvmlInit_v2: %s", nvml_str(b, nr, buf, sizeof(buf)));
		goto fail;
	}
	b->inited = true;
	nr = b->f.count(&count);
	if (nr != NVML_SUCCESS) {
		r = errf(err, errsz, -ENODEV, "nvmlDeviceGetCount_v2: %s",
			 nvml_str(b, nr, buf, sizeof(buf)));
		goto fail;
	}
	if (count == 0) {
		r = errf(err, errsz, -ENODEV, "no NVIDIA GPUs");
		goto fail;
	}
	b->devs = calloc(count, sizeof(*b->devs));
	if (!b->devs) {
		r = -ENOMEM;
		goto fail;
	}
	/* A device that cannot be described or measured is left out. */
	for (unsigned int i = 0; i < count; i++) {
		struct nvml_dev *d = &b->devs[b->n];

		r = discover(b, i, d, first ? NULL : err, first ? 0 : errsz);
		if (r < 0) {
			first = first ? first : r;
			*d = (struct nvml_dev){0};
			continue;
		}
		b->n++;
	}
	if (b->n == 0) {
		r = -ENODEV;
		goto fail;
	}
	*ret = b;
	return 0;
fail:
	nvml_close(b);
	return r;
}

const struct gpu_backend_ops nvml_gpu_ops = {
    .name = "nvml",
    .open = nvml_open,
    .read = nvml_read,
    .count = nvml_count,
    .info = nvml_info,
    .close = nvml_close,
};
