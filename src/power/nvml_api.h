/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The part of the NVIDIA Management Library's C API that the nvml GPU backend
 * uses, declared here so that the build needs no NVIDIA header or library:
 * libnvidia-ml.so.1 is opened at run time and every function is looked up by
 * its versioned name.
 *
 * The values, layouts and signatures are those of nvml.h as NVIDIA ships it
 * (CUDA toolkit / driver 450 and later) and as the NVML API reference
 * documents them (docs.nvidia.com/deploy/nvml-api); the structs below are
 * checked against the sizes and offsets of that header.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct nvmlDevice_st *nvmlDevice_t;

/* nvmlReturn_t: the codes we act on (nvml.h numbers them; others exist). */
typedef int nvmlReturn_t;
#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_NO_PERMISSION 4
#define NVML_ERROR_ALREADY_INITIALIZED 5
#define NVML_ERROR_NOT_FOUND 6
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_DRIVER_NOT_LOADED 9
#define NVML_ERROR_TIMEOUT 10
#define NVML_ERROR_FUNCTION_NOT_FOUND 13
#define NVML_ERROR_GPU_IS_LOST 15
#define NVML_ERROR_RESET_REQUIRED 16
#define NVML_ERROR_LIB_RM_VERSION_MISMATCH 18
#define NVML_ERROR_MEMORY 20
#define NVML_ERROR_UNKNOWN 999

/* nvmlDeviceGetMigMode's currentMode when MIG is on (NVML_DEVICE_MIG_ENABLE). */
#define NVML_DEVICE_MIG_ENABLE 1

/* Buffer sizes nvml.h guarantees to be enough (the _V2_ ones, the larger). */
#define NVML_DEVICE_UUID_V2_BUFFER_SIZE 96
#define NVML_DEVICE_NAME_V2_BUFFER_SIZE 96
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE 32
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE 16

/* nvmlPciInfo_t, as nvmlDeviceGetPciInfo_v3 fills it (68 bytes). */
typedef struct {
	char busIdLegacy[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE];
	unsigned int domain;
	unsigned int bus;
	unsigned int device;
	unsigned int pciDeviceId;
	unsigned int pciSubSystemId;
	char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE]; /* "00000000:3B:00.0" */
} nvmlPciInfo_t;

/* nvmlUtilization_t: percent of the last sample period (1/6 s to 1 s by product). */
typedef struct {
	unsigned int gpu;
	unsigned int memory;
} nvmlUtilization_t;

/*
 * nvmlProcessInfo_v2_t, which the _v2 and _v3 running-process calls fill (24
 * bytes; the unversioned calls fill the 16-byte v1 without the instance ids).
 * The ids are 0xFFFFFFFF when MIG is off.
 */
typedef struct {
	unsigned int pid;
	unsigned long long usedGpuMemory; /* bytes */
	unsigned int gpuInstanceId;
	unsigned int computeInstanceId;
} nvmlProcessInfo_t;

/*
 * nvmlProcessUtilizationSample_t (32 bytes): one process's utilisation over
 * one driver sample period, stamped with the CPU time (CLOCK_REALTIME, µs).
 */
typedef struct {
	unsigned int pid;
	unsigned long long timeStamp;
	unsigned int smUtil; /* percent */
	unsigned int memUtil;
	unsigned int encUtil;
	unsigned int decUtil;
} nvmlProcessUtilizationSample_t;

_Static_assert(sizeof(nvmlPciInfo_t) == 68, "nvmlPciInfo_t is 68 bytes");
_Static_assert(offsetof(nvmlPciInfo_t, busId) == 36, "busId at 36");
_Static_assert(sizeof(nvmlUtilization_t) == 8, "nvmlUtilization_t is 8 bytes");
_Static_assert(sizeof(nvmlProcessInfo_t) == 24, "nvmlProcessInfo_v2_t is 24 bytes");
_Static_assert(offsetof(nvmlProcessInfo_t, usedGpuMemory) == 8, "usedGpuMemory at 8");
_Static_assert(offsetof(nvmlProcessInfo_t, gpuInstanceId) == 16, "gpuInstanceId at 16");
_Static_assert(offsetof(nvmlProcessInfo_t, computeInstanceId) == 20, "computeInstanceId at 20");
_Static_assert(sizeof(nvmlProcessUtilizationSample_t) == 32, "sample is 32 bytes");
_Static_assert(offsetof(nvmlProcessUtilizationSample_t, timeStamp) == 8, "timeStamp at 8");
_Static_assert(offsetof(nvmlProcessUtilizationSample_t, smUtil) == 16, "smUtil at 16");

/* The functions, by the name they are looked up under. */
typedef nvmlReturn_t (*nvmlInit_v2_fn)(void);
typedef nvmlReturn_t (*nvmlShutdown_fn)(void);
typedef const char *(*nvmlErrorString_fn)(nvmlReturn_t result);
typedef nvmlReturn_t (*nvmlDeviceGetCount_v2_fn)(unsigned int *count);
typedef nvmlReturn_t (*nvmlDeviceGetHandleByIndex_v2_fn)(unsigned int index, nvmlDevice_t *dev);
typedef nvmlReturn_t (*nvmlDeviceGetUUID_fn)(nvmlDevice_t dev, char *uuid, unsigned int length);
typedef nvmlReturn_t (*nvmlDeviceGetName_fn)(nvmlDevice_t dev, char *name, unsigned int length);
typedef nvmlReturn_t (*nvmlDeviceGetPciInfo_v3_fn)(nvmlDevice_t dev, nvmlPciInfo_t *pci);
/* Milliwatts. */
typedef nvmlReturn_t (*nvmlDeviceGetPowerUsage_fn)(nvmlDevice_t dev, unsigned int *power);
/* Millijoules since the driver loaded (Volta and newer). */
typedef nvmlReturn_t (*nvmlDeviceGetTotalEnergyConsumption_fn)(nvmlDevice_t dev,
							       unsigned long long *energy);
typedef nvmlReturn_t (*nvmlDeviceGetUtilizationRates_fn)(nvmlDevice_t dev, nvmlUtilization_t *util);
/*
 * Samples newer than lastSeenTimeStamp (µs; 0: all the driver keeps). With
 * utilization NULL it says in *count how many there are; NOT_FOUND: none.
 */
typedef nvmlReturn_t (*nvmlDeviceGetProcessUtilization_fn)(
    nvmlDevice_t dev, nvmlProcessUtilizationSample_t *utilization, unsigned int *count,
    unsigned long long lastSeenTimeStamp);
/*
 * nvmlDeviceGetComputeRunningProcesses_v3/_v2 and the Graphics ones:
 * INSUFFICIENT_SIZE with the count needed in *count when infos is too small.
 */
typedef nvmlReturn_t (*nvmlDeviceGetRunningProcesses_fn)(nvmlDevice_t dev, unsigned int *count,
							 nvmlProcessInfo_t *infos);
typedef nvmlReturn_t (*nvmlDeviceGetMigMode_fn)(nvmlDevice_t dev, unsigned int *current,
						unsigned int *pending);
