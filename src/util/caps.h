/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Dropping capabilities once the agent has opened what needs privilege (the
 * eBPF program, perf events, the listening sockets). Raw capget/capset: the
 * few calls do not justify a dependency on libcap.
 */
#pragma once

#include <stdint.h>

#define CAPBIT(n) (1ULL << (n))

/*
 * What the agent keeps while it runs: reading other users' /proc/<pid>/exe and
 * cmdline (CAP_SYS_PTRACE) and root-only files such as powercap's energy_uj
 * (CAP_DAC_READ_SEARCH).
 */
#define CAPS_KEEP_RUNNING (CAPBIT(2) /* CAP_DAC_READ_SEARCH */ | CAPBIT(19) /* CAP_SYS_PTRACE */)

/*
 * Reduce the effective and permitted sets to keep (intersected with what the
 * process has), clear the inheritable and ambient sets and the bounding set
 * beyond keep, and set no_new_privs. Returns 0 or -errno.
 */
int caps_drop_except(uint64_t keep);

/* The effective set, from capget. */
int caps_effective(uint64_t *ret);
