// SPDX-License-Identifier: Apache-2.0
#include "util/errf.h"

#include <stdarg.h>
#include <stdio.h>

int errf(char *err, size_t errsz, int r, const char *fmt, ...)
{
	va_list ap;

	if (errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return r;
}
