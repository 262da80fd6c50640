/* SPDX-License-Identifier: Apache-2.0 */
/* What the two YAML readers (config.c and export/webconfig.c) share: loader, walker, names. */
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

/* What yaml_walk_map itself refused; the caller adds "[file:]line:col: [key: ]". */
struct yaml_walk_error {
	yaml_mark_t mark;
	const char *key; /* the mapping's path (the prefix) or NULL; the message names the rest */
	char msg[640];	 /* "" when the error came from the pair callback */
};

/*
 * Called for each pair of a mapping, in order: path is "prefix.name" (only
 * "name" at the top; truncated past 511 bytes, so look keys up by name), name
 * the key's text, a C string without NUL bytes. A negative return stops the walk.
 */
typedef int (*yaml_pair_fn)(void *userdata, const char *path, const char *name, yaml_node_t *key,
			    yaml_node_t *value);

/*
 * Walk mapping m of doc, whose path is prefix ("" at the top). A null scalar
 * is an empty mapping. Refuses, with -EINVAL and *ret_err filled, a node that
 * is not a mapping, a key that is not a scalar, a key holding a NUL byte and
 * a key given twice; checks each pair before fn sees it. Returns 0, that
 * refusal, or the first negative return of fn (then ret_err->msg is "").
 */
int yaml_walk_map(yaml_document_t *doc, yaml_node_t *m, const char *prefix, yaml_pair_fn fn,
		  void *userdata, struct yaml_walk_error *ret_err);
