// SPDX-License-Identifier: Apache-2.0
#include "log.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

#include "util/strbuf.h"
#include "util/util.h"

static enum log_level cur_level = LOG_LEVEL_INFO;
static enum log_format cur_format = LOG_FORMAT_TEXT;

static const char *const level_names[] = {
    [LOG_LEVEL_ERROR] = "error",
    [LOG_LEVEL_WARN] = "warn",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DEBUG] = "debug",
};

static const char *const format_names[] = {
    [LOG_FORMAT_TEXT] = "text",
    [LOG_FORMAT_JSON] = "json",
};

int log_level_from_string(const char *s, enum log_level *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++)
		if (streq(s, level_names[i])) {
			*ret = (enum log_level)i;
			return 0;
		}
	if (streq(s, "warning")) {
		*ret = LOG_LEVEL_WARN;
		return 0;
	}
	return -EINVAL;
}

int log_format_from_string(const char *s, enum log_format *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(format_names); i++)
		if (streq(s, format_names[i])) {
			*ret = (enum log_format)i;
			return 0;
		}
	return -EINVAL;
}

const char *log_level_to_string(enum log_level level)
{
	return level_names[level];
}

const char *log_format_to_string(enum log_format format)
{
	return format_names[format];
}

bool log_enabled(enum log_level level)
{
	return level <= cur_level;
}

/* Escape for a JSON string or a double-quoted logfmt value (same rules suffice for both). */
static void put_quoted(struct strbuf *sb, const char *s)
{
	strbuf_putc(sb, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			strbuf_putc(sb, '\\');
			strbuf_putc(sb, (char)c);
		} else if (c == '\n') {
			strbuf_puts(sb, "\\n");
		} else if (c == '\t') {
			strbuf_puts(sb, "\\t");
		} else if (c < 0x20) {
			strbuf_printf(sb, "\\u%04x", c);
		} else {
			strbuf_putc(sb, (char)c);
		}
	}
	strbuf_putc(sb, '"');
}

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	struct strbuf line = STRBUF_INIT;
	char msg[1024], ts[64];
	struct timeval tv;
	struct tm tm;
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", (long)(tv.tv_usec / 1000));

	if (cur_format == LOG_FORMAT_JSON) {
		strbuf_printf(&line, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", ts,
			      level_names[level]);
		put_quoted(&line, msg);
		strbuf_puts(&line, "}\n");
	} else {
		strbuf_printf(&line, "time=%s level=%s msg=", ts, level_names[level]);
		put_quoted(&line, msg);
		strbuf_putc(&line, '\n');
	}
	if (!strbuf_error(&line))
		fputs(line.buf, stderr);
	strbuf_release(&line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	if (!log_enabled(LOG_LEVEL_DEBUG))
		return 0;
	log_vmsg(LOG_LEVEL_DEBUG, fmt, ap);
	return 0;
}

void log_setup(enum log_level level, enum log_format format)
{
	cur_level = level;
	cur_format = format;
	libbpf_set_print(libbpf_print);
}
