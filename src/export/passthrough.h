/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm.passthrough.dir: the energy each VM caused on this host, as a powercap
 * tree its guest's agent reads unchanged as RAPL (power.passthrough.path,
 * docs/vms.md). Per VM <dir>/<vm_id>/ holds a marker file kepler-vm, vm_name,
 * and class/powercap/intel-rapl:0 (package-0), intel-rapl:0:1 (dram) and
 * intel-rapl:1 (psys) for the zones the host has, each with energy_uj,
 * max_energy_range_uj, name and enabled. energy_uj is the VM's attributed
 * (active) energy plus, with includeIdle, its share of the node's idle energy
 * by vCPUs, in microjoules, wrapping at max_energy_range_uj like real RAPL and
 * replaced by a rename once per interval. A VM gone for the grace period loses
 * its directory. Directories are 0750 and files 0640: the group is the one of
 * the directory above (set it setgid for the hypervisor's group to read).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snapshot/snapshot.h"

struct passthrough_options {
	const char *dir;       /* vm.passthrough.dir */
	bool include_idle;     /* vm.passthrough.includeIdle */
	uint64_t grace_ns;     /* vm.passthrough.gracePeriod */
	uint64_t max_range_uj; /* vm.passthrough.maxEnergyRangeUJ */
};

struct passthrough;

/*
 * Create dir (its parent must exist) and take over the VM directories a
 * previous run left there (those with a kepler-vm marker): their counters carry
 * on from the values they hold, and they go after the grace period unless their
 * VM shows up. On failure err says why in one line.
 */
int passthrough_new(struct passthrough **ret, const struct passthrough_options *o, uint64_t now_ns,
		    char *err, size_t errsz);

/*
 * Write every VM of s; now_ns (CLOCK_MONOTONIC) times the grace period. A VM
 * that cannot be written is skipped; the first failure is logged until writing
 * works again. Returns 0 or the first -errno.
 */
int passthrough_write(struct passthrough *p, const struct snapshot *s, uint64_t now_ns);

void passthrough_free(struct passthrough *p);

/* The pure parts, for the unit tests. */

/*
 * Each VM's part of the node's idle energy idle_uj over an interval: vcpus[i]
 * (0 counts as 1) over host_cpus, or over the VMs' vCPUs together when they
 * are more, so that the parts never add up to more than idle_uj. Into out[n].
 */
void passthrough_idle_shares(uint64_t idle_uj, const uint32_t *vcpus, size_t n, uint32_t host_cpus,
			     uint64_t *out);

/*
 * What energy_uj shows after total microjoules on a counter that started at
 * base and wraps from max_range to 0, as RAPL's: (base + total) mod (max_range + 1).
 */
uint64_t passthrough_counter(uint64_t base, uint64_t total, uint64_t max_range);
