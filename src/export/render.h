/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metric families (DESIGN section 5), rendered once per interval from the
 * interval's snapshot into the Prometheus text the HTTP server then serves as
 * an immutable body.
 */
#pragma once

#include "snapshot/snapshot.h"
#include "util/strbuf.h"

/* Render every family s's metrics levels enable into sb. Returns 0 or -errno. */
int render_metrics(struct strbuf *sb, const struct snapshot *s);
