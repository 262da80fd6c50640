/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Root-relative file reads. Every reader takes its root (host.sysfs, host.procfs)
 * from the configuration, so tests point it at a fixture tree and a container at
 * /host/sys. Paths are joined as root + "/" + rel.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* root + "/" + rel into buf; -ENAMETOOLONG when it does not fit. */
int path_join(char *buf, size_t size, const char *root, const char *rel);

/*
 * Open root + "/" + rel for reading if it is a regular file: a FIFO or device
 * planted where a sysfs or procfs attribute belongs is refused (-EINVAL)
 * without blocking. Returns the descriptor or -errno.
 */
int open_regular_at(const char *root, const char *rel);

/*
 * Read a whole small file into buf (NUL-terminated, trailing newline kept).
 * Returns the number of bytes read or -errno; -EFBIG when it does not fit.
 */
int read_file_at(const char *root, const char *rel, char *buf, size_t size);

/*
 * Read a whole file of at most max bytes into a new NUL-terminated buffer
 * (*ret_len, when given, excludes the NUL). -EFBIG when it is larger.
 */
int read_file_alloc(const char *path, size_t max, char **ret, size_t *ret_len);

/* Read one line, trailing whitespace removed. */
int read_line_at(const char *root, const char *rel, char *buf, size_t size);

/*
 * The space-separated unsigned decimal field at *p (leading spaces skipped),
 * followed by a space, a newline or the end; *p moves past it. -EINVAL or
 * -ERANGE, *p untouched, otherwise.
 */
int parse_u64_field(const char **p, uint64_t *ret);

/* Read a file holding one unsigned decimal integer: -EINVAL on anything else. */
int read_u64_at(const char *root, const char *rel, uint64_t *ret);

/* Parse one unsigned decimal integer with optional surrounding whitespace. */
int parse_u64(const char *s, uint64_t *ret);
