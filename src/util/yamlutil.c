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

int yaml_parser_message(const yaml_parser_t *p, char *buf, size_t size)
{
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
