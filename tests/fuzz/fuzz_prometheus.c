// SPDX-License-Identifier: Apache-2.0
/*
 * The exposition writer (src/export/prometheus.h) with HELP text, metric and
 * label names and label values taken from the input (split on NUL), then the
 * output read back line by line with a minimal parser of the text format.
 * Checked: every line is well formed (so no raw newline inside a HELP text or
 * label value), the output is valid UTF-8, escaped text reads back as the
 * input when the input was valid UTF-8, values read back exactly, and the
 * writer's return codes follow its contract (duplicates in any label order
 * are -EEXIST, invalid names -EINVAL, a failed call writes nothing).
 */
#include <math.h>

#include "export/prometheus.h"
#include "fuzz.h"

#define FAMILY "kepler_fuzz_joules_total"
#define N_PARTS 8
#define N_SAMPLES (N_PARTS - 4)

/* Reads back an escaped string up to (not including) stop; returns the end or NULL. */
static const char *unescape(const char *p, const char *end, char stop, bool quote,
			    struct strbuf *out)
{
	while (p < end && *p != stop) {
		if (*p == '\\') {
			fuzz_check(p + 1 < end);
			fuzz_check(p[1] == '\\' || p[1] == 'n' || (quote && p[1] == '"'));
			strbuf_putc(out, p[1] == 'n' ? '\n' : p[1]);
			p += 2;
		} else {
			fuzz_check(*p != '\n');
			strbuf_putc(out, *p++);
		}
	}
	if (stop && p >= end)
		return NULL;
	return p;
}

static bool is_name_char(char c, bool colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || (colon && c == ':');
}

static const char *skip_name(const char *p, const char *end, bool colon)
{
	const char *s = p;

	while (p < end && is_name_char(*p, colon))
		p++;
	fuzz_check(p > s);
	return p;
}

static void check_value(const char *p, const char *end, double v)
{
	char tok[64];
	size_t n = (size_t)(end - p);
	double back;

	fuzz_check(n > 0 && n < sizeof(tok));
	memcpy(tok, p, n);
	tok[n] = '\0';
	if (isnan(v)) {
		fuzz_check(strcmp(tok, "NaN") == 0);
		return;
	}
	if (isinf(v)) {
		fuzz_check(strcmp(tok, v > 0 ? "+Inf" : "-Inf") == 0);
		return;
	}
	back = strtod(tok, NULL);
	fuzz_check(back == v);
}

/* One sample line; the first label's value is unescaped into first (when it has labels). */
static void check_sample(const char *p, const char *end, double v, struct strbuf *first)
{
	p = skip_name(p, end, true);
	if (p < end && *p == '{') {
		bool is_first = true;

		do {
			struct strbuf val = STRBUF_INIT;

			p = skip_name(p + 1, end, false);
			fuzz_check(end - p >= 2 && p[0] == '=' && p[1] == '"');
			p = unescape(p + 2, end, '"', true, &val);
			fuzz_check(p != NULL);
			p++;
			if (is_first && first)
				strbuf_append(first, val.buf ? val.buf : "", val.len);
			is_first = false;
			strbuf_release(&val);
		} while (p < end && *p == ',');
		fuzz_check(p < end && *p == '}');
		p++;
	}
	fuzz_check(p < end && *p == ' ');
	check_value(p + 1, end, v);
}

/* Returns the number of lines; the HELP text of the first family into help. */
static size_t check_output(const char *buf, size_t len, double v, struct strbuf *help,
			   struct strbuf *first_label)
{
	const char *p = buf, *end = buf + len;
	size_t lines = 0;
	bool in_family = false;

	fuzz_check(len == 0 || buf[len - 1] == '\n');
	fuzz_check(fuzz_utf8_valid(buf, len));
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		fuzz_check(eol != NULL);
		if (strncmp(p, "# HELP ", 7) == 0) {
			struct strbuf h = STRBUF_INIT;
			const char *q = skip_name(p + 7, eol, true);

			fuzz_check(q < eol && *q == ' ');
			fuzz_check(unescape(q + 1, eol, '\0', false, &h) == eol);
			if (lines == 0)
				strbuf_append(help, h.buf ? h.buf : "", h.len);
			strbuf_release(&h);
		} else if (strncmp(p, "# TYPE ", 7) == 0) {
			const char *q = skip_name(p + 7, eol, true);
			size_t n = (size_t)(eol - q);

			fuzz_check((n == 8 && memcmp(q, " counter", 8) == 0) ||
				   (n == 6 && memcmp(q, " gauge", 6) == 0) ||
				   (n == 8 && memcmp(q, " untyped", 8) == 0));
			in_family = (size_t)(q - (p + 7)) == strlen(FAMILY) &&
				    memcmp(p + 7, FAMILY, strlen(FAMILY)) == 0;
		} else {
			/* The fuzzed family's one sample has the value 1. */
			check_sample(p, eol, in_family ? v : 1, lines == 2 ? first_label : NULL);
		}
		lines++;
		p = eol + 1;
	}
	return lines;
}

static void escaped(const char *s, struct strbuf *out)
{
	strbuf_reset(out);
	prom_escape_label_value(out, s);
	strbuf_putc(out, '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf sb = STRBUF_INIT, help = STRBUF_INIT, first = STRBUF_INIT;
	struct strbuf esc[N_SAMPLES][2];
	char *parts[N_PARTS], *buf;
	struct prom_writer *w;
	size_t lines = 0, len;
	double v = 0;
	int r;

	if (size >= 8)
		memcpy(&v, data + size - 8, sizeof(v));
	buf = fuzz_split(data, size, parts, N_PARTS);
	w = prom_writer_new(&sb);
	if (!w)
		abort();

	fuzz_check(prom_family(w, FAMILY, PROM_COUNTER, parts[0]) == 0);
	lines += 2;
	/* {zone=parts[3+i], name=parts[4+i]}: new unless it renders as an earlier set. */
	for (size_t i = 0; i < N_SAMPLES; i++) {
		struct prom_label l[2] = {{"zone", parts[3 + i]}, {"name", parts[4 + i]}};
		struct prom_label swapped[2] = {l[1], l[0]};
		bool dup = false;

		memset(esc[i], 0, sizeof(esc[i]));
		escaped(l[0].value, &esc[i][0]);
		escaped(l[1].value, &esc[i][1]);
		for (size_t j = 0; j < i; j++)
			if (strcmp(esc[j][0].buf, esc[i][0].buf) == 0 &&
			    strcmp(esc[j][1].buf, esc[i][1].buf) == 0)
				dup = true;
		len = sb.len;
		r = prom_sample(w, FAMILY, l, 2, v);
		fuzz_check(r == (dup ? -EEXIST : 0));
		if (r == 0)
			lines++;
		else
			fuzz_check(sb.len == len);
		len = sb.len;
		fuzz_check(prom_sample(w, FAMILY, swapped, 2, v) == -EEXIST);
		fuzz_check(sb.len == len);
	}
	for (size_t i = 0; i < N_SAMPLES; i++) {
		strbuf_release(&esc[i][0]);
		strbuf_release(&esc[i][1]);
	}

	/* A fuzzed label name: valid names make a new one-label series. */
	{
		struct prom_label l[1] = {{parts[2], parts[3]}};
		struct prom_label twice[2] = {{"zone", parts[3]}, {"zone", parts[4]}};

		len = sb.len;
		r = prom_sample(w, FAMILY, l, 1, v);
		fuzz_check(r == (prom_label_name_valid(parts[2]) ? 0 : -EINVAL));
		if (r == 0)
			lines++;
		fuzz_check(prom_sample(w, FAMILY, twice, 2, v) == -EINVAL);
		fuzz_check(prom_sample(w, "kepler_other", l, 1, v) == -EINVAL);
		if (r < 0)
			fuzz_check(sb.len == len);
	}

	/* A fuzzed family name. */
	len = sb.len;
	r = prom_family(w, parts[1], PROM_GAUGE, NULL);
	if (!prom_metric_name_valid(parts[1]))
		fuzz_check(r == -EINVAL);
	else
		fuzz_check(r == (strcmp(parts[1], FAMILY) == 0 ? -EEXIST : 0));
	if (r == 0) {
		struct prom_label l[1] = {{"zone", parts[4]}};

		lines++;
		fuzz_check(prom_sample(w, parts[1], l, 1, 1) == 0);
		lines++;
	} else {
		fuzz_check(sb.len == len);
		/* No family is open after a failed call. */
		fuzz_check(prom_sample(w, FAMILY, NULL, 0, v) == -EINVAL);
	}
	fuzz_check(prom_family(w, FAMILY, PROM_GAUGE, "again") == -EEXIST);
	fuzz_check(strbuf_error(&sb) == 0);

	fuzz_check(check_output(sb.buf ? sb.buf : "", sb.len, v, &help, &first) == lines);
	if (fuzz_utf8_valid(parts[0], strlen(parts[0])))
		fuzz_check(help.len == strlen(parts[0]) &&
			   memcmp(help.buf ? help.buf : "", parts[0], help.len) == 0);
	if (fuzz_utf8_valid(parts[3], strlen(parts[3])))
		fuzz_check(first.len == strlen(parts[3]) &&
			   memcmp(first.buf ? first.buf : "", parts[3], first.len) == 0);

	strbuf_release(&help);
	strbuf_release(&first);
	strbuf_release(&sb);
	prom_writer_free(w);
	free(buf);
	return 0;
}
