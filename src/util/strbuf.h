/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Growable string buffer. A failed allocation is sticky: later appends do
 * nothing and strbuf_error() reports -ENOMEM once, at the end of a render.
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf; /* NUL-terminated when len > 0 */
	size_t len;
	size_t cap;
	int err;
};

#define STRBUF_INIT                                                                                \
	{                                                                                          \
		0                                                                                  \
	}

void strbuf_append(struct strbuf *sb, const char *s, size_t n);
void strbuf_puts(struct strbuf *sb, const char *s);
void strbuf_putc(struct strbuf *sb, char c);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_reset(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);
/* Hand the buffer to the caller (never NULL unless the buffer failed); the strbuf is empty after.
 */
char *strbuf_detach(struct strbuf *sb, size_t *ret_len);
/*
 * Copy the text into buf (NUL-terminated) and release the strbuf: 0, -ENOMEM
 * (the buffer failed) or -ENAMETOOLONG (it does not fit; buf untouched).
 */
int strbuf_copy_out(struct strbuf *sb, char *buf, size_t size);

static inline int strbuf_error(const struct strbuf *sb)
{
	return sb->err;
}
