// SPDX-License-Identifier: Apache-2.0
#include "export/prometheus.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "util/hashmap.h"
#include "util/util.h"

/*
 * Sets of families and of series within the open family, both util/hashmap
 * tables of records. Keys are not copied: a record holds the key's hash and
 * the offset in the strbuf where the key was rendered, so the only allocations
 * are the tables' arrays. Equality reads the text through the writer at each call, as the
 * strbuf may move between puts. The series set is cleared at each family.
 */
struct key {
	uint64_t hash;
	size_t off;
};

/* A render writes a few dozen families; most have a few series, some hundreds. */
#define FAMILIES_MIN 64
#define SERIES_MIN 64

struct prom_writer {
	struct strbuf *sb;
	int err;
	bool open;
	size_t fam_off; /* family name in sb */
	size_t fam_len;
	struct hashmap *families;
	struct hashmap *series;
	const struct prom_label *const_labels; /* after every sample's own */
	size_t n_const;
};

static uint64_t key_hash(const void *key, void *ctx)
{
	(void)ctx;
	return ((const struct key *)key)->hash;
}

bool prom_metric_name_valid(const char *name)
{
	if (!name || !*name)
		return false;
	for (const char *p = name; *p; p++) {
		char c = *p;
		bool alpha =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';

		if (!alpha && !(p != name && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

bool prom_label_name_valid(const char *name)
{
	if (!name || !*name || startswith(name, "__"))
		return false;
	for (const char *p = name; *p; p++) {
		char c = *p;
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';

		if (!alpha && !(p != name && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

/*
 * Length of the well-formed UTF-8 sequence at s, or 0 with *ret_skip set to
 * the length of its maximal invalid subpart (at least 1), which becomes one
 * U+FFFD (Unicode "substitution of maximal subparts").
 */
static size_t utf8_seq(const unsigned char *s, size_t *ret_skip)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		*ret_skip = 1;
		return 0;
	}
	for (i = 1; i < n; i++) {
		/* The NUL terminator fails this test, so we never read past it. */
		if (s[i] < lo || s[i] > hi) {
			*ret_skip = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return n;
}

static void escape(struct strbuf *sb, const char *s, bool quote)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;

	while (*p) {
		unsigned char c = *p;
		const char *rep;
		size_t n, skip;

		if (c < 0x80 && c != '\\' && c != '\n' && !(quote && c == '"')) {
			p++;
			continue;
		}
		if (c >= 0x80) {
			n = utf8_seq(p, &skip);
			if (n) {
				p += n;
				continue;
			}
			rep = "\xef\xbf\xbd";
		} else {
			skip = 1;
			rep = c == '\\' ? "\\\\" : c == '\n' ? "\\n" : "\\\"";
		}
		strbuf_append(sb, (const char *)run, (size_t)(p - run));
		strbuf_puts(sb, rep);
		p += skip;
		run = p;
	}
	strbuf_append(sb, (const char *)run, (size_t)(p - run));
}

void prom_escape_label_value(struct strbuf *sb, const char *s)
{
	escape(sb, s, true);
}

void prom_escape_help(struct strbuf *sb, const char *s)
{
	escape(sb, s, false);
}

void prom_format_value(struct strbuf *sb, double v)
{
	char buf[40];
	int prec;

	if (isnan(v)) {
		strbuf_puts(sb, "NaN");
		return;
	}
	if (isinf(v)) {
		strbuf_puts(sb, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* Integers below 1e15 print exactly at 15 digits: skip the round-trip check. */
	if (fabs(v) < 1e15 && v == trunc(v)) {
		snprintf(buf, sizeof(buf), "%.15g", v);
		strbuf_puts(sb, buf);
		return;
	}
	/*
	 * The shortest of 15..17 digits that reads back as v. Round-tripping is
	 * what makes the output monotone: if a < b printed as x > y, reading back
	 * (a monotone operation) would give a >= b.
	 */
	for (prec = 15; prec < 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (prec == 17)
		snprintf(buf, sizeof(buf), "%.17g", v);
	strbuf_puts(sb, buf);
}

static int fail(struct prom_writer *w, int r)
{
	if (!w->err)
		w->err = r;
	return r;
}

int prom_writer_error(const struct prom_writer *w)
{
	if (w->err)
		return w->err;
	return strbuf_error(w->sb);
}

static void truncate_to(struct strbuf *sb, size_t len)
{
	sb->len = len;
	if (sb->buf)
		sb->buf[len] = '\0';
}

/* A family name ends at the space that follows it on its HELP or TYPE line. */
static bool family_equal(const void *a, const void *b, void *ctx)
{
	const struct key *x = a, *y = b;
	const struct prom_writer *w = ctx;
	const char *p = w->sb->buf + x->off, *q = w->sb->buf + y->off;

	if (x->hash != y->hash)
		return false;
	while (*p == *q && *p != ' ') {
		p++;
		q++;
	}
	return *p == ' ' && *q == ' ';
}

static const char *const type_names[] = {
    [PROM_COUNTER] = "counter",
    [PROM_GAUGE] = "gauge",
    [PROM_UNTYPED] = "untyped",
};

int prom_family(struct prom_writer *w, const char *name, enum prom_type type, const char *help)
{
	struct strbuf *sb = w->sb;
	size_t start, name_off, len;
	int r;

	w->open = false;
	if (strbuf_error(sb))
		return fail(w, strbuf_error(sb));
	if (!prom_metric_name_valid(name) || (size_t)type >= ARRAY_SIZE(type_names))
		return fail(w, -EINVAL);

	start = sb->len;
	len = strlen(name);
	if (help) {
		strbuf_puts(sb, "# HELP ");
		name_off = sb->len;
		strbuf_append(sb, name, len);
		strbuf_putc(sb, ' ');
		prom_escape_help(sb, help);
		strbuf_puts(sb, "\n# TYPE ");
	} else {
		strbuf_puts(sb, "# TYPE ");
		name_off = sb->len;
	}
	strbuf_append(sb, name, len);
	strbuf_putc(sb, ' ');
	strbuf_puts(sb, type_names[type]);
	strbuf_putc(sb, '\n');
	if (strbuf_error(sb))
		return fail(w, strbuf_error(sb));

	r = hashmap_put(w->families, &(struct key){hash_bytes(name, len), name_off}, NULL);
	if (r <= 0) {
		truncate_to(sb, start);
		return fail(w, r ? r : -EEXIST);
	}
	w->open = true;
	w->fam_off = name_off;
	w->fam_len = len;
	hashmap_clear(w->series);
	return 0;
}

/*
 * Walks the label pairs of a sample line as rendered by prom_sample:
 * name{a="x",b="y"} value. *p points at the '{' or ',' before a pair (or at
 * '}' / ' ' when none is left); returns the pair's length with *ret_pair at
 * its start, and moves *p past it. Escaping is deterministic, so equal
 * rendered pairs are equal (name, value) pairs.
 */
static size_t next_pair(const char **p, const char **ret_pair)
{
	const char *s = *p, *q;

	if (*s != ',' && *s != '{')
		return 0;
	s++;
	q = strchr(s, '"') + 1;
	while (*q != '"')
		q += *q == '\\' ? 2 : 1;
	q++;
	*p = q;
	*ret_pair = s;
	return (size_t)(q - s);
}

static const char *labels_start(const struct prom_writer *w, size_t line_off)
{
	return w->sb->buf + line_off + w->fam_len;
}

static bool labels_contain(const char *p, const char *pair, size_t len)
{
	const char *q;
	size_t n;

	while ((n = next_pair(&p, &q)))
		if (n == len && memcmp(q, pair, len) == 0)
			return true;
	return false;
}

static size_t count_pairs(const char *p)
{
	const char *pair;
	size_t n = 0;

	while (next_pair(&p, &pair))
		n++;
	return n;
}

static bool series_equal(const void *a, const void *b, void *ctx)
{
	const struct key *x = a, *y = b;
	const struct prom_writer *w = ctx;
	const char *p = labels_start(w, x->off), *q = labels_start(w, y->off), *pair;
	size_t n_pairs = 0, n;

	if (x->hash != y->hash)
		return false;
	while ((n = next_pair(&p, &pair))) {
		if (!labels_contain(q, pair, n))
			return false;
		n_pairs++;
	}
	/* Pair names are unique within a line, so containment plus equal counts is equality. */
	return n_pairs == count_pairs(q);
}

static const struct hashmap_ops family_ops = {0, key_hash, family_equal};
static const struct hashmap_ops series_ops = {0, key_hash, series_equal};

struct prom_writer *prom_writer_new(struct strbuf *sb)
{
	struct prom_writer *w;

	if (!sb) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->sb = sb;
	w->families = hashmap_new_inline(&family_ops, w, sizeof(struct key), FAMILIES_MIN);
	w->series = hashmap_new_inline(&series_ops, w, sizeof(struct key), SERIES_MIN);
	if (!w->families || !w->series) {
		prom_writer_free(w);
		errno = ENOMEM;
		return NULL;
	}
	return w;
}

void prom_writer_free(struct prom_writer *w)
{
	if (!w)
		return;
	hashmap_free(w->families);
	hashmap_free(w->series);
	free(w);
}

void prom_writer_const_labels(struct prom_writer *w, const struct prom_label *labels, size_t n)
{
	w->const_labels = labels;
	w->n_const = labels ? n : 0;
}

int prom_sample(struct prom_writer *w, const char *name, const struct prom_label *own, size_t n_own,
		double value)
{
	struct strbuf *sb = w->sb;
	size_t n_labels = n_own + w->n_const;
	uint64_t hash = 0;
	size_t start;
	int r;
/* The sample's labels, then the writer's constant ones. */
#define LABEL(i) ((i) < n_own ? &own[i] : &w->const_labels[(i)-n_own])

	if (strbuf_error(sb))
		return fail(w, strbuf_error(sb));
	if (!w->open || !name || strlen(name) != w->fam_len ||
	    memcmp(sb->buf + w->fam_off, name, w->fam_len) != 0)
		return fail(w, -EINVAL);
	if (n_own && !own)
		return fail(w, -EINVAL);
	for (size_t i = 0; i < n_labels; i++) {
		if (!prom_label_name_valid(LABEL(i)->name))
			return fail(w, -EINVAL);
		for (size_t j = 0; j < i; j++)
			if (streq(LABEL(i)->name, LABEL(j)->name))
				return fail(w, -EINVAL);
	}

	start = sb->len;
	strbuf_append(sb, name, w->fam_len);
	for (size_t i = 0; i < n_labels; i++) {
		size_t pair;

		strbuf_putc(sb, i ? ',' : '{');
		pair = sb->len;
		strbuf_puts(sb, LABEL(i)->name);
		strbuf_puts(sb, "=\"");
		prom_escape_label_value(sb, LABEL(i)->value ? LABEL(i)->value : "");
		strbuf_putc(sb, '"');
		/* Order-independent: a sum of the hashes of the rendered pairs. */
		if (!strbuf_error(sb))
			hash += hash_bytes(sb->buf + pair, sb->len - pair);
	}
	if (n_labels)
		strbuf_putc(sb, '}');
	strbuf_putc(sb, ' ');
	prom_format_value(sb, value);
	strbuf_putc(sb, '\n');
	if (strbuf_error(sb))
		return fail(w, strbuf_error(sb));

	r = hashmap_put(w->series, &(struct key){hash, start}, NULL);
	if (r <= 0) {
		truncate_to(sb, start);
		return fail(w, r ? r : -EEXIST);
	}
	return 0;
}
#undef LABEL
