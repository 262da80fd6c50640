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
 * Parse text as exactly one YAML document into *ret_doc (the caller deletes it
 * with yaml_document_delete on success). A syntax error, or a second document
 * that would otherwise be ignored, returns -EINVAL (-ENOMEM for memory) with
 * one message in msg and its position in *ret_mark; nothing to delete then.
 */
int yaml_load_one(const char *text, size_t len, yaml_document_t *ret_doc, char *msg, size_t msgsz,
		  yaml_mark_t *ret_mark);
