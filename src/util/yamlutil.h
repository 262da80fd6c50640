/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by the two YAML readers (config.c and export/webconfig.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

/* "a scalar", "a sequence", "a mapping": for messages like "expected a scalar". */
const char *yaml_node_kind(const yaml_node_t *n);

/* A plain empty, "~" or "null" scalar: YAML's null. */
bool yaml_node_is_null(const yaml_node_t *n);

/*
 * The parser's error as one message ("YAML syntax error: ... (... at line L
 * column C)"); returns -ENOMEM for a memory error, else -EINVAL.
 */
int yaml_parser_message(const yaml_parser_t *p, char *buf, size_t size);
