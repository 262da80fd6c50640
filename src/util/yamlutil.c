// SPDX-License-Identifier: Apache-2.0
#include "util/yamlutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

const char *yaml_node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

bool yaml_node_is_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*v || streq(v, "~") || streq(v, "null") || streq(v, "Null") || streq(v, "NULL");
}

/* The parser's error as one message; -ENOMEM for a memory error, else -EINVAL. */
static int parser_message(const yaml_parser_t *p, char *buf, size_t size, yaml_mark_t *ret_mark)
{
	*ret_mark = p->problem_mark;
	if (p->error == YAML_MEMORY_ERROR) {
		snprintf(buf, size, "out of memory");
		return -ENOMEM;
	}
	if (p->context)
		snprintf(buf, size, "YAML syntax error: %s (%s at line %zu column %zu)",
			 p->problem ? p->problem : "unknown", p->context, p->context_mark.line + 1,
			 p->context_mark.column + 1);
	else
		snprintf(buf, size, "YAML syntax error: %s", p->problem ? p->problem : "unknown");
	return -EINVAL;
}

int yaml_load_one(const char *text, size_t len, yaml_document_t *ret_doc, char *msg, size_t msgsz,
		  yaml_mark_t *ret_mark)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	yaml_node_t *x;
	int r = 0;

	if (!yaml_parser_initialize(&parser)) {
		*ret_mark = (yaml_mark_t){0};
		snprintf(msg, msgsz, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		r = parser_message(&parser, msg, msgsz, ret_mark);
		yaml_parser_delete(&parser);
		return r;
	}
	/* A second document would be silently ignored: refuse it instead. */
	if (yaml_document_get_root_node(&doc)) {
		if (!yaml_parser_load(&parser, &extra)) {
			r = parser_message(&parser, msg, msgsz, ret_mark);
		} else {
			x = yaml_document_get_root_node(&extra);
			if (x) {
				*ret_mark = x->start_mark;
				snprintf(msg, msgsz, "more than one YAML document");
				r = -EINVAL;
			}
			yaml_document_delete(&extra);
		}
	}
	yaml_parser_delete(&parser);
	if (r < 0) {
		yaml_document_delete(&doc);
		return r;
	}
	*ret_doc = doc;
	return 0;
}

static int walk_fail(struct yaml_walk_error *e, yaml_mark_t mark, const char *key, const char *fmt,
		     ...) __attribute__((format(printf, 4, 5)));
static int walk_fail(struct yaml_walk_error *e, yaml_mark_t mark, const char *key, const char *fmt,
		     ...)
{
	va_list ap;

	e->mark = mark;
	e->key = key;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int yaml_walk_map(yaml_document_t *doc, yaml_node_t *m, const char *prefix, yaml_pair_fn fn,
		  void *userdata, struct yaml_walk_error *ret_err)
{
	const char *where = *prefix ? prefix : NULL;

	ret_err->msg[0] = '\0';
	if (m->type == YAML_SCALAR_NODE && yaml_node_is_null(m))
		return 0; /* "idle:" with nothing after it: nothing set */
	if (m->type != YAML_MAPPING_NODE)
		return walk_fail(ret_err, m->start_mark, where, "expected a mapping, got %s",
				 yaml_node_kind(m));
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(doc, p->value);
		const char *name;
		char path[512];
		int r;

		if (!kn || !vn)
			continue;
		if (kn->type != YAML_SCALAR_NODE)
			return walk_fail(ret_err, kn->start_mark, where,
					 "a key must be a scalar, got %s", yaml_node_kind(kn));
		name = (const char *)kn->data.scalar.value;
		/* A C string cannot carry the NUL: "log\0junk" would read as "log". */
		if (strlen(name) != kn->data.scalar.length)
			return walk_fail(ret_err, kn->start_mark, where, "a key holds a NUL byte");
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", name);
		/* Earlier keys passed the NUL check, so string equality is key equality. */
		for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *qn = yaml_document_get_node(doc, q->key);

			if (qn && qn->type == YAML_SCALAR_NODE &&
			    streq((const char *)qn->data.scalar.value, name))
				return walk_fail(ret_err, kn->start_mark, NULL,
						 "duplicate key \"%s\"", path);
		}
		r = fn(userdata, path, name, kn, vn);
		if (r < 0)
			return r;
	}
	return 0;
}
