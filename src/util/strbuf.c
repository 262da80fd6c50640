// SPDX-License-Identifier: Apache-2.0
#include "util/strbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(struct strbuf *sb, size_t extra)
{
	size_t need, cap;
	char *p;

	if (sb->err)
		return sb->err;
	if (extra > SIZE_MAX / 2 - sb->len - 1)
		return sb->err = -ENOMEM;
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return 0;
	cap = sb->cap ? sb->cap : 256;
	while (cap < need)
		cap *= 2;
	p = realloc(sb->buf, cap);
	if (!p)
		return sb->err = -ENOMEM;
	sb->buf = p;
	sb->cap = cap;
	return 0;
}

void strbuf_append(struct strbuf *sb, const char *s, size_t n)
{
	if (grow(sb, n) < 0)
		return;
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void strbuf_puts(struct strbuf *sb, const char *s)
{
	strbuf_append(sb, s, strlen(s));
}

void strbuf_putc(struct strbuf *sb, char c)
{
	strbuf_append(sb, &c, 1);
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (grow(sb, 64) < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		sb->err = -EINVAL;
		return;
	}
	if ((size_t)n >= sb->cap - sb->len) {
		if (grow(sb, (size_t)n) < 0)
			return;
		va_start(ap, fmt);
		vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
	}
	sb->len += (size_t)n;
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->err = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

void strbuf_release(struct strbuf *sb)
{
	free(sb->buf);
	*sb = (struct strbuf)STRBUF_INIT;
}

char *strbuf_detach(struct strbuf *sb, size_t *ret_len)
{
	char *p;

	if (sb->err) {
		strbuf_release(sb);
		return NULL;
	}
	if (!sb->buf && grow(sb, 0) < 0)
		return NULL;
	sb->buf[sb->len] = '\0';
	p = sb->buf;
	if (ret_len)
		*ret_len = sb->len;
	*sb = (struct strbuf)STRBUF_INIT;
	return p;
}

int strbuf_copy_out(struct strbuf *sb, char *buf, size_t size)
{
	size_t len;
	char *s = strbuf_detach(sb, &len);
	int r = 0;

	if (!s)
		return -ENOMEM;
	if (len < size)
		memcpy(buf, s, len + 1);
	else
		r = -ENAMETOOLONG;
	free(s);
	return r;
}
