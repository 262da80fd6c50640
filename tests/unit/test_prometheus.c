// SPDX-License-Identifier: Apache-2.0
/* Exposition writer: escaping, names, values, family/series rules, a whole document. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "export/prometheus.h"
#include "util/util.h"

#define FFFD "\xef\xbf\xbd"

struct str_case {
	const char *in, *want;
};

static const struct str_case label_cases[] = {
    {"plain", "plain"},
    {"", ""},
    {"a\\b", "a\\\\b"},
    {"a\"b", "a\\\"b"},
    {"a\nb", "a\\nb"},
    {"\\\"\n", "\\\\\\\"\\n"},
    {"tab\there", "tab\there"},
    {"caf\xc3\xa9", "caf\xc3\xa9"},		       /* valid 2-byte */
    {"\xe2\x82\xac", "\xe2\x82\xac"},		       /* valid 3-byte */
    {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},	       /* valid 4-byte */
    {"\xff", FFFD},				       /* never valid */
    {"a\x80z", "a" FFFD "z"},			       /* lone continuation */
    {"\xc3", FFFD},				       /* truncated at the end */
    {"a\xe2\x82z", "a" FFFD "z"},		       /* truncated: one U+FFFD */
    {"\xc0\xaf", FFFD FFFD},			       /* overlong */
    {"\xe0\x80\xaf", FFFD FFFD FFFD},		       /* overlong 3-byte */
    {"\xed\xa0\x80", FFFD FFFD FFFD},		       /* surrogate */
    {"\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD},	       /* above U+10FFFF */
    {"\xf0\x9f\x98", FFFD},			       /* truncated 4-byte */
    {"x\xfe\"\xc3\xa9\n", "x" FFFD "\\\"\xc3\xa9\\n"}, /* mixed */
};

static char *render_escape(void (*fn)(struct strbuf *, const char *), const char *in)
{
	struct strbuf sb = STRBUF_INIT;

	fn(&sb, in);
	return strbuf_detach(&sb, NULL);
}

static void test_label_escaping(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(label_cases); i++) {
		char *got = render_escape(prom_escape_label_value, label_cases[i].in);

		if (!streq(got, label_cases[i].want))
			fail_msg("case %zu: got \"%s\" want \"%s\"", i, got, label_cases[i].want);
		free(got);
	}
}

static const struct str_case help_cases[] = {
    {"Energy in joules", "Energy in joules"},
    {"", ""},
    {"a\\b", "a\\\\b"},
    {"quote \" stays", "quote \" stays"},
    {"two\nlines", "two\\nlines"},
    {"bad \xff byte", "bad " FFFD " byte"},
};

static void test_help_escaping(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(help_cases); i++) {
		char *got = render_escape(prom_escape_help, help_cases[i].in);

		if (!streq(got, help_cases[i].want))
			fail_msg("case %zu: got \"%s\" want \"%s\"", i, got, help_cases[i].want);
		free(got);
	}
}

struct name_case {
	const char *name;
	bool metric, label;
};

static const struct name_case name_cases[] = {
    {"a", true, true},
    {"kepler_node_cpu_joules_total", true, true},
    {"_x", true, true},
    {"A9_b", true, true},
    {"ns:metric", true, false},
    {":x", true, false},
    {"__name__", true, false},
    {"__x", true, false},
    {"_", true, true},
    {"", false, false},
    {"9a", false, false},
    {"a-b", false, false},
    {"a b", false, false},
    {"a.b", false, false},
    {"caf\xc3\xa9", false, false},
    {NULL, false, false},
};

static void test_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(name_cases); i++) {
		if (prom_metric_name_valid(name_cases[i].name) != name_cases[i].metric)
			fail_msg("metric name case %zu (%s)", i, name_cases[i].name);
		if (prom_label_name_valid(name_cases[i].name) != name_cases[i].label)
			fail_msg("label name case %zu (%s)", i, name_cases[i].name);
	}
}

struct value_case {
	double v;
	const char *want;
};

static void test_values(void **state)
{
	const struct value_case cases[] = {
	    {0, "0"},
	    {-0.0, "-0"},
	    {1, "1"},
	    {-42, "-42"},
	    {1e-9, "1e-09"},
	    {1e20, "1e+20"},
	    {1e15, "1e+15"},
	    {999999999999999, "999999999999999"},
	    {123456.789, "123456.789"},
	    {0.1, "0.1"},
	    {0.1 + 0.2, "0.30000000000000004"},
	    {1.0 / 3, "0.3333333333333333"},
	    {-2.5e-300, "-2.5e-300"},
	    {123456789012345678.0, "1.2345678901234568e+17"},
	    {1.7976931348623157e308, "1.7976931348623157e+308"},
	    {NAN, "NaN"},
	    {INFINITY, "+Inf"},
	    {-INFINITY, "-Inf"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf sb = STRBUF_INIT;

		prom_format_value(&sb, cases[i].v);
		if (!sb.buf || !streq(sb.buf, cases[i].want))
			fail_msg("case %zu: got \"%s\" want \"%s\"", i, sb.buf, cases[i].want);
		strbuf_release(&sb);
	}
}

/* Increasing doubles must never print as decreasing numbers, and every one reads back exactly. */
static void test_values_monotone(void **state)
{
	static const double starts[] = {-1e300,	 -123.456,
					-1e-300, 0,
					1e-310,	 1e-9,
					0.1,	 0.3,
					1,	 999999.9999,
					1e15,	 9007199254740990.0,
					1e17,	 123456789.123456789,
					1e300};
	double prev = -INFINITY, prev_read = -INFINITY;
	size_t checked = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(starts); i++) {
		double v = starts[i];

		for (int k = 0; k < 200; k++, v = nextafter(v, INFINITY)) {
			struct strbuf sb = STRBUF_INIT;
			double read;

			if (v < prev)
				continue;
			prom_format_value(&sb, v);
			assert_non_null(sb.buf);
			read = strtod(sb.buf, NULL);
			if (read != v)
				fail_msg("%.17g printed as %s does not read back", v, sb.buf);
			if (read < prev_read)
				fail_msg("%.17g printed as %s, below the previous value", v,
					 sb.buf);
			prev = v;
			prev_read = read;
			strbuf_release(&sb);
			checked++;
		}
		/* A coarse walk between the start points as well. */
		for (double x = starts[i] + fabs(starts[i]) * 1e-3 + 1e-12, j = 0; j < 50;
		     j++, x = x * (x > 0 ? 1.37 : 0.71) + 0.013) {
			struct strbuf sb = STRBUF_INIT;

			if (i + 1 < ARRAY_SIZE(starts) && x >= starts[i + 1])
				break;
			if (x < prev)
				continue;
			prom_format_value(&sb, x);
			assert_true(strtod(sb.buf, NULL) >= prev_read);
			prev = x;
			prev_read = strtod(sb.buf, NULL);
			strbuf_release(&sb);
			checked++;
		}
	}
	assert_true(checked > 2000);
}

static void test_document(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct prom_writer *w;
	const struct prom_label pkg[] = {{"zone", "package"}};
	const struct prom_label dram[] = {{"zone", "dram"}};
	const struct prom_label proc[] = {
	    {"pid", "42"}, {"comm", "say \"hi\"\n"}, {"exe", "C:\\bin"}, {"zone", ""}};
	const char *want =
	    "# HELP kepler_node_cpu_joules_total Energy consumed by the CPU, in joules.\n"
	    "# TYPE kepler_node_cpu_joules_total counter\n"
	    "kepler_node_cpu_joules_total{zone=\"package\"} 1234.5\n"
	    "kepler_node_cpu_joules_total{zone=\"dram\"} 0\n"
	    "# HELP kepler_node_cpu_usage_ratio CPU usage ratio\\nsecond line \\\\ done\n"
	    "# TYPE kepler_node_cpu_usage_ratio gauge\n"
	    "kepler_node_cpu_usage_ratio NaN\n"
	    "# TYPE untyped_thing untyped\n"
	    "untyped_thing{pid=\"42\",comm=\"say \\\"hi\\\"\\n\",exe=\"C:\\\\bin\",zone=\"\"} "
	    "-Inf\n"
	    "# HELP empty_family \n"
	    "# TYPE empty_family gauge\n";

	(void)state;
	w = prom_writer_new(&sb);
	assert_non_null(w);
	assert_int_equal(prom_family(w, "kepler_node_cpu_joules_total", PROM_COUNTER,
				     "Energy consumed by the CPU, in joules."),
			 0);
	assert_int_equal(prom_sample(w, "kepler_node_cpu_joules_total", pkg, 1, 1234.5), 0);
	assert_int_equal(prom_sample(w, "kepler_node_cpu_joules_total", dram, 1, 0), 0);
	assert_int_equal(prom_family(w, "kepler_node_cpu_usage_ratio", PROM_GAUGE,
				     "CPU usage ratio\nsecond line \\ done"),
			 0);
	assert_int_equal(prom_sample(w, "kepler_node_cpu_usage_ratio", NULL, 0, NAN), 0);
	assert_int_equal(prom_family(w, "untyped_thing", PROM_UNTYPED, NULL), 0);
	assert_int_equal(prom_sample(w, "untyped_thing", proc, ARRAY_SIZE(proc), -INFINITY), 0);
	assert_int_equal(prom_family(w, "empty_family", PROM_GAUGE, ""), 0);
	assert_int_equal(prom_writer_error(w), 0);
	assert_string_equal(sb.buf, want);
	prom_writer_free(w);
	strbuf_release(&sb);
}

/* Constant labels follow a sample's own, count in its identity, and clash like its own. */
static void test_const_labels(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct prom_writer *w;
	const struct prom_label node[] = {{"node_name", "n1"}};
	const struct prom_label pkg[] = {{"zone", "package"}};
	const struct prom_label clash[] = {{"node_name", "n2"}};
	const char *want = "# TYPE a gauge\n"
			   "a{zone=\"package\",node_name=\"n1\"} 1\n"
			   "a{node_name=\"n1\"} 2\n"
			   "# TYPE b gauge\n"
			   "b{node_name=\"n2\"} 3\n";

	(void)state;
	w = prom_writer_new(&sb);
	assert_non_null(w);
	prom_writer_const_labels(w, node, 1);
	assert_int_equal(prom_family(w, "a", PROM_GAUGE, NULL), 0);
	assert_int_equal(prom_sample(w, "a", pkg, 1, 1), 0);
	assert_int_equal(prom_sample(w, "a", NULL, 0, 2), 0);
	/* the same series again, its constant label given as its own */
	assert_int_equal(prom_sample(w, "a", node, 1, 4), -EINVAL);
	assert_int_equal(prom_sample(w, "a", pkg, 1, 5), -EEXIST);
	prom_writer_const_labels(w, NULL, 0);
	assert_int_equal(prom_family(w, "b", PROM_GAUGE, NULL), 0);
	assert_int_equal(prom_sample(w, "b", clash, 1, 3), 0);
	assert_string_equal(sb.buf, want);
	prom_writer_free(w);
	strbuf_release(&sb);
}

static void test_rejections(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct prom_writer *w;
	const struct prom_label ok[] = {{"a", "1"}, {"b", "2"}};
	const struct prom_label swapped[] = {{"b", "2"}, {"a", "1"}};
	const struct prom_label other[] = {{"a", "1"}, {"b", "3"}};
	const struct prom_label sub[] = {{"a", "1"}};
	const struct prom_label repeat[] = {{"a", "1"}, {"a", "2"}};
	const struct prom_label reserved[] = {{"__name__", "x"}};
	const struct prom_label dash[] = {{"a-b", "x"}};
	const struct prom_label empty[] = {{"", "x"}};
	const struct prom_label bad_utf8_1[] = {{"v", "\xff"}};
	const struct prom_label bad_utf8_2[] = {{"v", "\xfe"}};
	size_t len;

	(void)state;
	w = prom_writer_new(&sb);
	assert_non_null(w);

	/* No family open yet. */
	assert_int_equal(prom_sample(w, "m", NULL, 0, 1), -EINVAL);
	assert_int_equal(prom_writer_error(w), -EINVAL); /* sticky from here on */
	assert_int_equal(sb.len, 0);

	assert_int_equal(prom_family(w, "1bad", PROM_GAUGE, "x"), -EINVAL);
	assert_int_equal(prom_family(w, "", PROM_GAUGE, "x"), -EINVAL);
	assert_int_equal(prom_family(w, NULL, PROM_GAUGE, "x"), -EINVAL);
	assert_int_equal(prom_family(w, "ok", (enum prom_type)7, "x"), -EINVAL);
	assert_int_equal(sb.len, 0);

	assert_int_equal(prom_family(w, "m", PROM_GAUGE, "help"), 0);
	len = sb.len;
	assert_int_equal(prom_sample(w, "other", NULL, 0, 1), -EINVAL);
	assert_int_equal(prom_sample(w, "m_total", NULL, 0, 1), -EINVAL);
	assert_int_equal(prom_sample(w, "", NULL, 0, 1), -EINVAL);
	assert_int_equal(prom_sample(w, "m", repeat, 2, 1), -EINVAL);
	assert_int_equal(prom_sample(w, "m", reserved, 1, 1), -EINVAL);
	assert_int_equal(prom_sample(w, "m", dash, 1, 1), -EINVAL);
	assert_int_equal(prom_sample(w, "m", empty, 1, 1), -EINVAL);
	assert_int_equal(sb.len, len); /* nothing written by a rejected sample */

	assert_int_equal(prom_sample(w, "m", ok, 2, 1), 0);
	len = sb.len;
	assert_int_equal(prom_sample(w, "m", ok, 2, 2), -EEXIST);
	assert_int_equal(prom_sample(w, "m", swapped, 2, 3), -EEXIST); /* order does not matter */
	assert_int_equal(sb.len, len);
	assert_int_equal(prom_sample(w, "m", other, 2, 1), 0);
	assert_int_equal(prom_sample(w, "m", sub, 1, 1), 0);
	assert_int_equal(prom_sample(w, "m", NULL, 0, 1), 0);
	assert_int_equal(prom_sample(w, "m", NULL, 0, 1), -EEXIST);
	/* Two values that render the same (both invalid UTF-8) are the same series. */
	assert_int_equal(prom_sample(w, "m", bad_utf8_1, 1, 1), 0);
	assert_int_equal(prom_sample(w, "m", bad_utf8_2, 1, 1), -EEXIST);

	/* The same label set is fine in the next family; the old family cannot reopen. */
	assert_int_equal(prom_family(w, "n", PROM_COUNTER, NULL), 0);
	assert_int_equal(prom_sample(w, "n", ok, 2, 1), 0);
	assert_int_equal(prom_sample(w, "m", ok, 2, 1), -EINVAL);
	len = sb.len;
	assert_int_equal(prom_family(w, "m", PROM_GAUGE, "again"), -EEXIST);
	assert_int_equal(prom_family(w, "m", PROM_COUNTER, NULL), -EEXIST);
	assert_int_equal(sb.len, len);
	/* A failed family closes the previous one: its samples cannot leak into "n". */
	assert_int_equal(prom_sample(w, "n", other, 2, 1), -EINVAL);
	/* Prefix names are different families. */
	assert_int_equal(prom_family(w, "m_", PROM_GAUGE, NULL), 0);
	assert_int_equal(prom_family(w, "n2", PROM_GAUGE, NULL), 0);

	/* The first error stays. */
	assert_int_equal(prom_writer_error(w), -EINVAL);
	prom_writer_free(w);
	strbuf_release(&sb);

	prom_writer_free(NULL);
	assert_null(prom_writer_new(NULL));
	assert_int_equal(errno, EINVAL);
}

/* 10,000 distinct series pass; a repeat of any of them is caught, in later families too. */
static void test_many_series(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct prom_writer *w;
	char pid[16], zone[16];
	struct prom_label l[] = {{"pid", pid}, {"zone", zone}};

	(void)state;
	w = prom_writer_new(&sb);
	assert_non_null(w);
	for (int f = 0; f < 3; f++) {
		char fam[32];

		snprintf(fam, sizeof(fam), "fam_%d", f);
		assert_int_equal(prom_family(w, fam, PROM_COUNTER, "h"), 0);
		for (int i = 0; i < 10000; i++) {
			snprintf(pid, sizeof(pid), "%d", i / 4);
			snprintf(zone, sizeof(zone), "z%d", i % 4);
			assert_int_equal(prom_sample(w, fam, l, 2, i), 0);
		}
		for (int i = 0; i < 10000; i += 997) {
			snprintf(pid, sizeof(pid), "%d", i / 4);
			snprintf(zone, sizeof(zone), "z%d", i % 4);
			assert_int_equal(prom_sample(w, fam, l, 2, i), -EEXIST);
		}
	}
	for (int f = 0; f < 3; f++) {
		char fam[32];

		snprintf(fam, sizeof(fam), "fam_%d", f);
		assert_int_equal(prom_family(w, fam, PROM_COUNTER, "h"), -EEXIST);
	}
	prom_writer_free(w);
	strbuf_release(&sb);
}

/*
 * A family of 100,000 series, then 20,000 families of a few series, then the
 * big family's label sets again: the series set empties at each family (the
 * same label set passes in every family) and still refuses a repeat within
 * one, whatever size the family before it had.
 */
static void test_big_family_then_many(void **state)
{
	enum { BIG = 100000, MANY = 20000 };
	struct strbuf sb = STRBUF_INIT;
	struct prom_writer *w;
	char id[16], fam[32];
	struct prom_label l[] = {{"id", id}};

	(void)state;
	w = prom_writer_new(&sb);
	assert_non_null(w);
	assert_int_equal(prom_family(w, "big", PROM_GAUGE, NULL), 0);
	for (int i = 0; i < BIG; i++) {
		snprintf(id, sizeof(id), "%d", i);
		assert_int_equal(prom_sample(w, "big", l, 1, i), 0);
	}
	for (int f = 0; f < MANY; f++) {
		snprintf(fam, sizeof(fam), "fam_%d", f);
		assert_int_equal(prom_family(w, fam, PROM_COUNTER, NULL), 0);
		snprintf(id, sizeof(id), "%d", f);
		assert_int_equal(prom_sample(w, fam, l, 1, 1), 0);
		assert_int_equal(prom_sample(w, fam, NULL, 0, 1), 0);
		assert_int_equal(prom_sample(w, fam, l, 1, 2), -EEXIST);
		assert_int_equal(prom_sample(w, fam, NULL, 0, 2), -EEXIST);
	}
	assert_int_equal(prom_family(w, "again", PROM_GAUGE, NULL), 0);
	for (int i = 0; i < BIG; i++) {
		snprintf(id, sizeof(id), "%d", i);
		assert_int_equal(prom_sample(w, "again", l, 1, i), 0);
	}
	for (int i = 0; i < BIG; i += 997) {
		snprintf(id, sizeof(id), "%d", i);
		assert_int_equal(prom_sample(w, "again", l, 1, i), -EEXIST);
	}
	assert_int_equal(prom_family(w, "big", PROM_GAUGE, NULL), -EEXIST);
	for (int f = 0; f < MANY; f += 101) {
		snprintf(fam, sizeof(fam), "fam_%d", f);
		assert_int_equal(prom_family(w, fam, PROM_COUNTER, NULL), -EEXIST);
	}
	prom_writer_free(w);
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_label_escaping),  cmocka_unit_test(test_help_escaping),
	    cmocka_unit_test(test_names),	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_values_monotone), cmocka_unit_test(test_document),
	    cmocka_unit_test(test_const_labels),    cmocka_unit_test(test_rejections),
	    cmocka_unit_test(test_many_series),	    cmocka_unit_test(test_big_family_then_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
