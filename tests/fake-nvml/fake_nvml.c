// SPDX-License-Identifier: Apache-2.0
/*
 * A stand-in for NVIDIA's libnvidia-ml.so.1, built by the test suite: it
 * exports the versioned NVML functions the nvml GPU backend looks up, with
 * NVML's signatures, and answers from a text file named by the environment
 * variable FAKE_NVML_SCRIPT, read again on every call (a test changes it while
 * the agent runs by writing a new file and renaming it over the old one).
 * Without the variable or the file the driver is "not loaded".
 *
 * One item a line; '#' starts a comment; values never hold spaces unless
 * quoted ("name=\"Fake H100\""):
 *
 *   nvml init=ok|driver_not_loaded epoch=N short=N sample_us=N
 *   gpu uuid=GPU-aaaa name="Fake H100" pci=00000000:3B:00.0 energy_mj=E
 *       since_ns=T power_mw=P util=U mig=0|1 lost=0|1
 *       energy=unsupported power=unsupported
 *   proc gpu=G pid=N sm=S type=compute|graphics|both gi=I ci=C
 *
 * nvml (all optional): init=driver_not_loaded fails nvmlInit_v2 and makes every
 * other call answer UNINITIALIZED (the driver is gone); a change of epoch is a
 * driver restart: calls answer UNINITIALIZED until nvmlInit_v2 is called again.
 * short=N: the first N answers after nvmlInit_v2 that state a needed count (a
 * list asked for with too small a buffer or none) state one less, as when a
 * process starts between the count and the read. sample_us: the period of
 * the process utilisation samples (default 1000).
 *
 * gpu: the devices in NVML index order (a handle follows its UUID, so a test
 * may reorder them across a restart). energy_mj is the counter; with since_ns
 * (CLOCK_MONOTONIC) it grows from E at T by power_mw (mJ = mW x s), so that
 * energy over any interval is exactly power x time. util is
 * nvmlDeviceGetUtilizationRates' gpu percent. lost=1: GPU_IS_LOST from every
 * call. energy=unsupported, power=unsupported: NOT_SUPPORTED from those calls.
 * mig=1: MIG mode, where process utilisation is NOT_SUPPORTED.
 *
 * proc: a process on device G (its index among the gpu lines). type: which
 * running-process lists name it (default compute). sm: its SM percent; a proc
 * with sm yields one utilisation sample per sample_us, stamped with
 * CLOCK_REALTIME microseconds as NVML's are, kept in a bounded buffer per
 * device and returned when newer than the caller's lastSeenTimeStamp
 * (NOT_FOUND when there are none). Without sm it runs but is never sampled.
 * gi, ci: its MIG instance ids (0xFFFFFFFF when not given).
 *
 * Built twice: libnvidia-ml.so.1, and with FAKE_NVML_OLD an "old driver"
 * lacking nvmlDeviceGetTotalEnergyConsumption, nvmlDeviceGetProcessUtilization
 * and the _v3 process lists. Single-threaded callers only.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "power/nvml_api.h"

#define EXPORT __attribute__((visibility("default")))

#define MAX_GPUS 16
#define MAX_PROCS 64
#define RING 1024 /* samples the "driver" keeps per device */

struct fgpu {
	char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
	char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
	char pci[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
	unsigned long long energy_mj;
	long long since_ns; /* < 0: a static counter */
	unsigned power_mw, util;
	bool mig, lost, no_energy, no_power;
};

enum { COMPUTE = 1, GRAPHICS = 2 };

struct fproc {
	unsigned gpu, pid, type, gi, ci;
	int sm; /* < 0: never sampled */
};

struct script {
	bool ok; /* the file was read */
	bool driver_down;
	unsigned long epoch, shortn;
	unsigned long long sample_us;
	size_t ngpu, nproc;
	struct fgpu gpus[MAX_GPUS];
	struct fproc procs[MAX_PROCS];
};

/* A handle: the device's UUID, valid for one nvmlInit_v2, and its sample buffer. */
struct fake_handle {
	unsigned long gen;
	char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
	unsigned long long last_gen_us; /* the newest sample period generated */
	size_t n, head;
	nvmlProcessUtilizationSample_t ring[RING];
};

static struct {
	bool inited;
	unsigned long gen;   /* nvmlInit_v2 calls */
	unsigned long epoch; /* the script's epoch at nvmlInit_v2 */
	unsigned long lies;  /* short answers given since */
	struct fake_handle handles[MAX_GPUS];
} st;

static struct script sc;

/* The next token of *p: key=value, key="quoted value" or a word; NULL at the end. */
static char *token(char **p)
{
	char *s = *p, *t, *out;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s || *s == '#' || *s == '\n')
		return NULL;
	t = out = s;
	while (*s && *s != ' ' && *s != '\t' && *s != '\n') {
		if (*s == '"') {
			for (s++; *s && *s != '"'; s++)
				*out++ = *s;
			if (*s)
				s++;
			continue;
		}
		*out++ = *s++;
	}
	if (*s)
		s++;
	*out = '\0';
	*p = s;
	return t;
}

static unsigned long long num(const char *v)
{
	return strtoull(v, NULL, 0);
}

static void copy(char *dst, size_t sz, const char *v)
{
	snprintf(dst, sz, "%s", v);
}

static void gpu_kv(struct fgpu *g, const char *k, const char *v)
{
	if (!strcmp(k, "uuid"))
		copy(g->uuid, sizeof(g->uuid), v);
	else if (!strcmp(k, "name"))
		copy(g->name, sizeof(g->name), v);
	else if (!strcmp(k, "pci"))
		copy(g->pci, sizeof(g->pci), v);
	else if (!strcmp(k, "energy_mj"))
		g->energy_mj = num(v);
	else if (!strcmp(k, "since_ns"))
		g->since_ns = (long long)num(v);
	else if (!strcmp(k, "power_mw"))
		g->power_mw = (unsigned)num(v);
	else if (!strcmp(k, "util"))
		g->util = (unsigned)num(v);
	else if (!strcmp(k, "mig"))
		g->mig = num(v) != 0;
	else if (!strcmp(k, "lost"))
		g->lost = num(v) != 0;
	else if (!strcmp(k, "energy"))
		g->no_energy = !strcmp(v, "unsupported");
	else if (!strcmp(k, "power"))
		g->no_power = !strcmp(v, "unsupported");
}

static void proc_kv(struct fproc *p, const char *k, const char *v)
{
	if (!strcmp(k, "gpu"))
		p->gpu = (unsigned)num(v);
	else if (!strcmp(k, "pid"))
		p->pid = (unsigned)num(v);
	else if (!strcmp(k, "sm"))
		p->sm = (int)num(v);
	else if (!strcmp(k, "type"))
		p->type = !strcmp(v, "graphics") ? GRAPHICS
			  : !strcmp(v, "both")	 ? COMPUTE | GRAPHICS
						 : COMPUTE;
	else if (!strcmp(k, "gi"))
		p->gi = (unsigned)num(v);
	else if (!strcmp(k, "ci"))
		p->ci = (unsigned)num(v);
}

static void global_kv(const char *k, const char *v)
{
	if (!strcmp(k, "init"))
		sc.driver_down = !strcmp(v, "driver_not_loaded");
	else if (!strcmp(k, "epoch"))
		sc.epoch = (unsigned long)num(v);
	else if (!strcmp(k, "short"))
		sc.shortn = (unsigned long)num(v);
	else if (!strcmp(k, "sample_us") && num(v) > 0)
		sc.sample_us = num(v);
}

/*
 * Read the script into sc; sc.ok false when there is none. A file unchanged since
 * the last call (the same inode, size and time: tests replace it by rename) is not
 * parsed again, so that a benchmark measures the agent, not this parser.
 */
static void load(void)
{
	static struct stat last;
	const char *path = getenv("FAKE_NVML_SCRIPT");
	char line[1024];
	struct stat st;
	FILE *f;

	if (path && stat(path, &st) == 0 && sc.ok && st.st_ino == last.st_ino &&
	    st.st_size == last.st_size && st.st_mtim.tv_sec == last.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == last.st_mtim.tv_nsec)
		return;
	memset(&last, 0, sizeof(last));
	memset(&sc, 0, sizeof(sc));
	sc.sample_us = 1000;
	f = path ? fopen(path, "re") : NULL;
	if (!f)
		return;
	if (fstat(fileno(f), &last) < 0)
		memset(&last, 0, sizeof(last));
	sc.ok = true;
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *kind = token(&p), *t;
		struct fgpu *g = NULL;
		struct fproc *pr = NULL;

		if (!kind)
			continue;
		if (!strcmp(kind, "gpu") && sc.ngpu < MAX_GPUS) {
			g = &sc.gpus[sc.ngpu++];
			g->since_ns = -1;
		} else if (!strcmp(kind, "proc") && sc.nproc < MAX_PROCS) {
			pr = &sc.procs[sc.nproc++];
			*pr = (struct fproc){.sm = -1, .type = COMPUTE, .gi = ~0u, .ci = ~0u};
		} else if (strcmp(kind, "nvml")) {
			continue;
		}
		while ((t = token(&p))) {
			char *v = strchr(t, '=');

			if (!v)
				continue;
			*v++ = '\0';
			if (g)
				gpu_kv(g, t, v);
			else if (pr)
				proc_kv(pr, t, v);
			else
				global_kv(t, v);
		}
	}
	fclose(f);
}

static bool driver_up(void)
{
	return sc.ok && !sc.driver_down;
}

/*
 * The script, and the device behind a handle: UNINITIALIZED when the driver is
 * down or restarted since nvmlInit_v2, GPU_IS_LOST when the device is.
 */
static nvmlReturn_t dev(nvmlDevice_t h, struct fgpu **ret_g, size_t *ret_i)
{
	struct fake_handle *fh = (struct fake_handle *)h;

	load();
	if (!st.inited || !driver_up() || sc.epoch != st.epoch)
		return NVML_ERROR_UNINITIALIZED;
	if (!fh || fh < st.handles || fh >= st.handles + MAX_GPUS || fh->gen != st.gen)
		return NVML_ERROR_INVALID_ARGUMENT;
	for (size_t i = 0; i < sc.ngpu; i++)
		if (!strcmp(sc.gpus[i].uuid, fh->uuid)) {
			if (sc.gpus[i].lost)
				return NVML_ERROR_GPU_IS_LOST;
			*ret_g = &sc.gpus[i];
			*ret_i = i;
			return NVML_SUCCESS;
		}
	return NVML_ERROR_GPU_IS_LOST;
}

/* A needed count as the caller is told it: one less while short=N lasts. */
static unsigned need(unsigned n)
{
	if (n > 0 && st.lies < sc.shortn) {
		st.lies++;
		return n - 1;
	}
	return n;
}

EXPORT nvmlReturn_t nvmlInit_v2(void)
{
	load();
	if (!driver_up())
		return NVML_ERROR_DRIVER_NOT_LOADED;
	memset(st.handles, 0, sizeof(st.handles));
	st.inited = true;
	st.gen++;
	st.epoch = sc.epoch;
	st.lies = 0;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlShutdown(void)
{
	if (!st.inited)
		return NVML_ERROR_UNINITIALIZED;
	st.inited = false;
	return NVML_SUCCESS;
}

EXPORT const char *nvmlErrorString(nvmlReturn_t r)
{
	switch (r) {
	case NVML_SUCCESS:
		return "Success";
	case NVML_ERROR_UNINITIALIZED:
		return "Uninitialized";
	case NVML_ERROR_INVALID_ARGUMENT:
		return "Invalid Argument";
	case NVML_ERROR_NOT_SUPPORTED:
		return "Not Supported";
	case NVML_ERROR_NOT_FOUND:
		return "Not Found";
	case NVML_ERROR_INSUFFICIENT_SIZE:
		return "Insufficient Size";
	case NVML_ERROR_DRIVER_NOT_LOADED:
		return "Driver Not Loaded";
	case NVML_ERROR_GPU_IS_LOST:
		return "GPU is lost";
	default:
		return "Unknown Error";
	}
}

EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
	load();
	if (!st.inited || !driver_up() || sc.epoch != st.epoch)
		return NVML_ERROR_UNINITIALIZED;
	*count = (unsigned)sc.ngpu;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
	struct fake_handle *fh;

	load();
	if (!st.inited || !driver_up() || sc.epoch != st.epoch)
		return NVML_ERROR_UNINITIALIZED;
	if (index >= sc.ngpu)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (sc.gpus[index].lost)
		return NVML_ERROR_GPU_IS_LOST;
	fh = &st.handles[index];
	if (fh->gen != st.gen || strcmp(fh->uuid, sc.gpus[index].uuid)) {
		memset(fh, 0, sizeof(*fh));
		fh->gen = st.gen;
		copy(fh->uuid, sizeof(fh->uuid), sc.gpus[index].uuid);
	}
	*device = (nvmlDevice_t)fh;
	return NVML_SUCCESS;
}

static nvmlReturn_t string_out(const char *s, char *buf, unsigned int length)
{
	if (strlen(s) >= length)
		return NVML_ERROR_INSUFFICIENT_SIZE;
	memcpy(buf, s, strlen(s) + 1);
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t h, char *uuid, unsigned int length)
{
	struct fgpu *g;
	size_t i;
	nvmlReturn_t r = dev(h, &g, &i);

	return r ? r : string_out(g->uuid, uuid, length);
}

EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t h, char *name, unsigned int length)
{
	struct fgpu *g;
	size_t i;
	nvmlReturn_t r = dev(h, &g, &i);

	return r ? r : string_out(g->name, name, length);
}

EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t h, nvmlPciInfo_t *pci)
{
	struct fgpu *g;
	size_t i;
	nvmlReturn_t r = dev(h, &g, &i);

	if (r)
		return r;
	if (!g->pci[0])
		return NVML_ERROR_NOT_SUPPORTED;
	memset(pci, 0, sizeof(*pci));
	copy(pci->busId, sizeof(pci->busId), g->pci);
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t h, unsigned int *power)
{
	struct fgpu *g;
	size_t i;
	nvmlReturn_t r = dev(h, &g, &i);

	if (r)
		return r;
	if (g->no_power)
		return NVML_ERROR_NOT_SUPPORTED;
	*power = g->power_mw;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t h, nvmlUtilization_t *util)
{
	struct fgpu *g;
	size_t i;
	nvmlReturn_t r = dev(h, &g, &i);

	if (r)
		return r;
	util->gpu = g->util;
	util->memory = 0;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t h, unsigned int *current,
					 unsigned int *pending)
{
	struct fgpu *g;
	size_t i;
	nvmlReturn_t r = dev(h, &g, &i);

	if (r)
		return r;
	*current = *pending = g->mig ? NVML_DEVICE_MIG_ENABLE : 0;
	return NVML_SUCCESS;
}

/* The running processes of device i in one list (compute or graphics). */
static nvmlReturn_t running(nvmlDevice_t h, unsigned type, unsigned int *count,
			    nvmlProcessInfo_t *infos)
{
	struct fgpu *g;
	unsigned n = 0;
	size_t i;
	nvmlReturn_t r = dev(h, &g, &i);

	if (r)
		return r;
	for (size_t k = 0; k < sc.nproc; k++)
		if (sc.procs[k].gpu == i && (sc.procs[k].type & type))
			n++;
	if (!infos || *count < n) {
		*count = need(n);
		return n ? NVML_ERROR_INSUFFICIENT_SIZE : NVML_SUCCESS;
	}
	n = 0;
	for (size_t k = 0; k < sc.nproc; k++) {
		const struct fproc *p = &sc.procs[k];

		if (p->gpu != i || !(p->type & type))
			continue;
		infos[n++] = (nvmlProcessInfo_t){.pid = p->pid,
						 .usedGpuMemory = 1 << 20,
						 .gpuInstanceId = p->gi,
						 .computeInstanceId = p->ci};
	}
	*count = n;
	return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t h, unsigned int *count,
							    nvmlProcessInfo_t *infos)
{
	return running(h, COMPUTE, count, infos);
}

EXPORT nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v2(nvmlDevice_t h, unsigned int *count,
							     nvmlProcessInfo_t *infos)
{
	return running(h, GRAPHICS, count, infos);
}

#ifndef FAKE_NVML_OLD
static unsigned long long monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

static unsigned long long realtime_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000;
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t h, unsigned int *count,
							    nvmlProcessInfo_t *infos)
{
	return running(h, COMPUTE, count, infos);
}

EXPORT nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t h, unsigned int *count,
							     nvmlProcessInfo_t *infos)
{
	return running(h, GRAPHICS, count, infos);
}

EXPORT nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t h, unsigned long long *energy)
{
	struct fgpu *g;
	size_t i;
	nvmlReturn_t r = dev(h, &g, &i);
	unsigned long long now;

	if (r)
		return r;
	if (g->no_energy)
		return NVML_ERROR_NOT_SUPPORTED;
	*energy = g->energy_mj;
	now = monotonic_ns();
	if (g->since_ns >= 0 && now > (unsigned long long)g->since_ns)
		*energy +=
		    (unsigned long long)((unsigned __int128)g->power_mw *
					 (now - (unsigned long long)g->since_ns) / 1000000000u);
	return NVML_SUCCESS;
}

/* Add the samples of the periods since the last call: one per sampled process each. */
static void generate(struct fake_handle *fh, size_t gpu)
{
	unsigned long long p = sc.sample_us, now = realtime_us(), first, last, max_steps;
	size_t nsampled = 0;

	for (size_t k = 0; k < sc.nproc; k++)
		nsampled += sc.procs[k].gpu == gpu && sc.procs[k].sm >= 0;
	if (!fh->last_gen_us)
		fh->last_gen_us = now - p;
	first = fh->last_gen_us / p + 1;
	last = now / p;
	if (last < first)
		return;
	fh->last_gen_us = last * p;
	max_steps = nsampled ? RING / nsampled : 1;
	if (last - first + 1 > max_steps)
		first = last - max_steps + 1;
	for (unsigned long long step = first; step <= last; step++)
		for (size_t k = 0; k < sc.nproc; k++) {
			const struct fproc *pr = &sc.procs[k];

			if (pr->gpu != gpu || pr->sm < 0)
				continue;
			fh->ring[fh->head] = (nvmlProcessUtilizationSample_t){
			    .pid = pr->pid, .timeStamp = step * p, .smUtil = (unsigned)pr->sm};
			fh->head = (fh->head + 1) % RING;
			fh->n += fh->n < RING;
		}
}

EXPORT nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t h,
						    nvmlProcessUtilizationSample_t *utilization,
						    unsigned int *count,
						    unsigned long long lastSeenTimeStamp)
{
	struct fake_handle *fh = (struct fake_handle *)h;
	struct fgpu *g;
	size_t i, start;
	unsigned n = 0;
	nvmlReturn_t r = dev(h, &g, &i);

	if (r)
		return r;
	if (g->mig)
		return NVML_ERROR_NOT_SUPPORTED;
	generate(fh, i);
	start = (fh->head + RING - fh->n) % RING;
	for (size_t k = 0; k < fh->n; k++)
		n += fh->ring[(start + k) % RING].timeStamp > lastSeenTimeStamp;
	if (n == 0)
		return NVML_ERROR_NOT_FOUND;
	if (!utilization || *count < n) {
		*count = need(n);
		return NVML_ERROR_INSUFFICIENT_SIZE;
	}
	n = 0;
	for (size_t k = 0; k < fh->n; k++) {
		const nvmlProcessUtilizationSample_t *s = &fh->ring[(start + k) % RING];

		if (s->timeStamp > lastSeenTimeStamp)
			utilization[n++] = *s;
	}
	*count = n;
	return NVML_SUCCESS;
}
#endif
