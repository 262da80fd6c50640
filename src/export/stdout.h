/* SPDX-License-Identifier: Apache-2.0 */
/* exporter.stdout: the node's power and the interval's top consumers, for a user with no
 * Prometheus at hand. */
#pragma once

#include <stdio.h>

#include "export/render.h"

int stdout_report(FILE *f, const struct render_input *in);
