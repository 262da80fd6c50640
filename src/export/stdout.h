/* SPDX-License-Identifier: Apache-2.0 */
/* exporter.stdout: a compact table of the node and its top consumers each interval. */
#pragma once

#include <stdio.h>

#include "snapshot/snapshot.h"

/* Returns 0 or -errno (a write error). */
int stdout_report(FILE *f, const struct snapshot *s);
