/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kepler 0.7's idle attribution, for exporter.prometheus.compat v0.7 only: each
 * interval, the node's idle energy of each CPU zone is shared among the
 * process series, containers and VMs by their CPU time in the interval, and
 * each GPU's idle energy by their share of that GPU's active energy in it;
 * what nobody earned (no CPU time, rounding) stays with the node's "other"
 * process series and with the "system_processes" container. So, at every
 * scrape, the process series' idle shares sum to the node's idle energy, and
 * so do the containers' with system_processes. A series keeps its share for
 * as long as it is exported; a process series that ends hands its share to
 * its container's (or VM's) "other" series, as its active energy goes.
 *
 * The ledger is the one piece of state: the shares so far, keyed by series,
 * read and updated once per snapshot (the collector thread only).
 */
#pragma once

#include "snapshot/snapshot.h"

struct idle_ledger;

/* NULL with errno set. */
struct idle_ledger *idle_ledger_new(void);
void idle_ledger_free(struct idle_ledger *l);

/*
 * Share the idle energy the node gained since the last call, and fill s's
 * idle figures: every process series', container's and VM's idle (each must
 * point at a zeroed struct snap_idle), s->system_idle and s->other_uj.
 * Returns 0 or -ENOMEM (then s's idle figures are incomplete: do not publish it).
 */
int idle_ledger_apply(struct idle_ledger *l, struct snapshot *s);
