// SPDX-License-Identifier: Apache-2.0
#include "util/yamlutil.h"

#include <errno.h>
#include <stdio.h>

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
