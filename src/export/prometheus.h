/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prometheus text exposition format 0.0.4 writer.
 *
 * A writer appends families and samples to a caller's strbuf and enforces
 * the rules a scraper relies on: valid metric and label names, every family
 * written once with all its samples contiguous, no duplicate series within a
 * family. The first error is sticky so a render checks once at the end.
 *
 * The writer remembers offsets into the strbuf: do not reset or truncate the
 * strbuf between prom_writer_new() and the end of the render.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/strbuf.h"

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_UNTYPED };

struct prom_label {
	const char *name;
	const char *value;
};

struct prom_writer;

/* NULL with errno set on failure. */
struct prom_writer *prom_writer_new(struct strbuf *sb);
void prom_writer_free(struct prom_writer *w);

/*
 * Starts a family: "# HELP name help" (help escaped: \\ and \n; omitted when
 * help is NULL) and "# TYPE name type". -EINVAL for an invalid metric name or
 * type, -EEXIST if this writer already wrote the family. A failed call leaves
 * no family open, so samples that follow it fail instead of joining the
 * previous family.
 */
int prom_family(struct prom_writer *w, const char *name, enum prom_type type, const char *help);

/*
 * Writes one sample of the open family; name must equal the family name.
 * -EINVAL: no family open, another name, an invalid or repeated label name.
 * -EEXIST: the same label set (in any order) was already written in this
 * family. Label values are escaped and invalid UTF-8 becomes U+FFFD. On error
 * nothing is written.
 */
int prom_sample(struct prom_writer *w, const char *name, const struct prom_label *labels,
		size_t n_labels, double value);

/*
 * Labels every later sample carries after its own (node_name on every family),
 * until the next call; NULL clears them. The array must outlive their use. A
 * sample's own label of the same name is an error (-EINVAL), as a repeated one is.
 */
void prom_writer_const_labels(struct prom_writer *w, const struct prom_label *labels, size_t n);

/* The first error seen by this writer or its strbuf, 0 if none. */
int prom_writer_error(const struct prom_writer *w);

/* Pure helpers, exposed for tests and for other writers. */
bool prom_metric_name_valid(const char *name);
bool prom_label_name_valid(const char *name);
/* Appends v as the exposition format writes it: NaN, +Inf, -Inf, or the shortest
 * "%.15g".."%.17g" form that reads back as exactly v (so larger never prints smaller). */
void prom_format_value(struct strbuf *sb, double v);
/* Appends s escaped as a label value (\\ \" \n) with invalid UTF-8 replaced by U+FFFD. */
void prom_escape_label_value(struct strbuf *sb, const char *s);
/* Appends s escaped as HELP text (\\ \n) with invalid UTF-8 replaced by U+FFFD. */
void prom_escape_help(struct strbuf *sb, const char *s);
