/* SPDX-License-Identifier: Apache-2.0 */
/* Go-style durations ("5s", "1h30m"), read and written the way time.ParseDuration does. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * One or more <number><unit>, number decimal with an optional fraction, unit
 * ns, us (µs, μs), ms, s, m, h; "0" alone is 0. "5s", "500ms", "1h30m",
 * "1.5s" -> nanoseconds. -EINVAL on bad syntax, -ERANGE above INT64_MAX ns
 * (Go's limit). *ret_ns untouched on failure.
 */
int parse_duration(const char *s, uint64_t *ret_ns);
/* Shortest form parse_duration reads back: "5s", "1h30m", "250ms", "0s"; -ENAMETOOLONG. */
int format_duration(uint64_t ns, char *buf, size_t size);
