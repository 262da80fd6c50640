/* SPDX-License-Identifier: Apache-2.0 */
/* Saying why something failed in a caller's buffer, in one statement. */
#pragma once

#include <stddef.h>

/*
 * Format the message into err (as snprintf; errsz may be 0) and return r, so
 * that a failure is `return errf(err, errsz, -EINVAL, "...", ...);`.
 */
int errf(char *err, size_t errsz, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
