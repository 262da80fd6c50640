// SPDX-License-Identifier: Apache-2.0
/* yaml_walk_map: the mapping walker the config and web-config readers share, from a table. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "util/strbuf.h"
#include "util/util.h"
#include "util/yamlutil.h"

struct walk {
	yaml_document_t *doc;
	struct strbuf seen; /* "path=value;" per scalar pair, in order */
};

static int walk(struct walk *w, yaml_node_t *m, const char *prefix, struct yaml_walk_error *e);

/* Scalars are recorded, sequences as "[...]", mappings walked; a key named "stop" ends the walk
 * with -ECANCELED. */
static int pair(void *userdata, const char *path, const char *name, yaml_node_t *kn,
		yaml_node_t *vn)
{
	struct walk *w = userdata;
	struct yaml_walk_error e;
	int r;

	(void)kn;
	if (streq(name, "stop"))
		return -ECANCELED;
	if (vn->type == YAML_MAPPING_NODE) {
		r = walk(w, vn, path, &e);
		assert_true(r == 0 || e.msg[0] || r == -ECANCELED);
		if (e.msg[0]) /* a nested refusal is reported as the top one */
			strbuf_printf(&w->seen, "!%zu:%zu %s: %s", e.mark.line + 1,
				      e.mark.column + 1, e.key ? e.key : "-", e.msg);
		return r;
	}
	strbuf_printf(&w->seen, "%s=%s;", path,
		      vn->type == YAML_SCALAR_NODE ? (const char *)vn->data.scalar.value : "[...]");
	return 0;
}

static int walk(struct walk *w, yaml_node_t *m, const char *prefix, struct yaml_walk_error *e)
{
	return yaml_walk_map(w->doc, m, prefix, pair, w, e);
}

static const struct {
	const char *yaml;
	int ret;
	const char *want; /* the pairs seen, then the refusal as "!line:col key: msg" */
} cases[] = {
    {"a: 1\nb: 2\n", 0, "a=1;b=2;"},
    {"a: {b: 1, c: {d: 2}}\n", 0, "a.b=1;a.c.d=2;"},
    {"~\n", 0, ""},
    {"a:\n", 0, "a=;"},
    {"{}\n", 0, ""},
    {"a: {}\n", 0, ""},
    {"\"a.b\": 1\n", 0, "a.b=1;"}, /* the walker passes a dotted name; callers decide */
    {"- a\n", -EINVAL, "!1:1 -: expected a mapping, got a sequence"},
    {"text\n", -EINVAL, "!1:1 -: expected a mapping, got a scalar"},
    /* A NUL byte in a key: "log\0junk" is not "log" */
    {"\"log\\0junk\": 1\n", -EINVAL, "!1:1 -: a key holds a NUL byte"},
    {"log: {\"level\\0\": 1}\n", -EINVAL, "!1:7 log: a key holds a NUL byte"},
    /* Duplicates, named by full path, at any depth; the first of a pair is seen */
    {"a: 1\na: 2\n", -EINVAL, "a=1;!2:1 -: duplicate key \"a\""},
    {"x: {a: 1, b: 2, a: 3}\n", -EINVAL, "x.a=1;x.b=2;!1:17 -: duplicate key \"x.a\""},
    {"a: 1\n\"a\": 2\n", -EINVAL, "a=1;!2:1 -: duplicate key \"a\""},
    /* Keys that are not scalars */
    {"[a]: 1\n", -EINVAL, "!1:1 -: a key must be a scalar, got a sequence"},
    {"? {a: 1}\n: 2\n", -EINVAL, "!1:3 -: a key must be a scalar, got a mapping"},
    {"x: {[a]: 1}\n", -EINVAL, "!1:5 x: a key must be a scalar, got a sequence"},
    {"x: [1]\n", 0, "x=[...];"}, /* a sequence value is the caller's business */
    /* The callback's error stops the walk and passes through with no message */
    {"a: 1\nstop: 2\nb: 3\n", -ECANCELED, "a=1;"},
    {"x: {a: 1, stop: 2}\ny: 3\n", -ECANCELED, "x.a=1;"},
};

static void test_walk_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct walk w = {0};
		struct yaml_walk_error e;
		yaml_document_t doc;
		yaml_mark_t mark;
		char msg[256];
		int r;

		assert_int_equal(yaml_load_one(cases[i].yaml, strlen(cases[i].yaml), &doc, msg,
					       sizeof(msg), &mark),
				 0);
		w.doc = &doc;
		r = walk(&w, yaml_document_get_root_node(&doc), "", &e);
		if (e.msg[0])
			strbuf_printf(&w.seen, "!%zu:%zu %s: %s", e.mark.line + 1,
				      e.mark.column + 1, e.key ? e.key : "-", e.msg);
		strbuf_putc(&w.seen, '\0');
		if (r != cases[i].ret || !streq(w.seen.buf, cases[i].want))
			fail_msg("case %zu \"%s\": %d \"%s\"; want %d \"%s\"", i, cases[i].yaml, r,
				 w.seen.buf, cases[i].ret, cases[i].want);
		strbuf_release(&w.seen);
		yaml_document_delete(&doc);
	}
}

/* A key longer than the path buffer is truncated in the path, never overflowed. */
static void test_walk_long_key(void **state)
{
	char yaml[1024], name[700]; /* libyaml allows simple keys up to 1024 */
	struct walk w = {0};
	struct yaml_walk_error e;
	yaml_document_t doc;
	yaml_mark_t mark;
	char msg[256];

	(void)state;
	memset(name, 'k', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(yaml, sizeof(yaml), "x: {%s: 1}\n", name);
	assert_int_equal(yaml_load_one(yaml, strlen(yaml), &doc, msg, sizeof(msg), &mark), 0);
	w.doc = &doc;
	assert_int_equal(walk(&w, yaml_document_get_root_node(&doc), "", &e), 0);
	strbuf_putc(&w.seen, '\0');
	assert_int_equal(strlen(w.seen.buf), 511 + strlen("=1;"));
	assert_true(startswith(w.seen.buf, "x.kkk"));
	strbuf_release(&w.seen);
	yaml_document_delete(&doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_walk_table),
	    cmocka_unit_test(test_walk_long_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
