/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Interned, reference-counted strings: thousands of processes share a few
 * container ids and executable paths, so each is stored once.
 */
#pragma once

#include <stddef.h>

struct intern;

struct intern *intern_new(void);
/* Frees the table; every string must have been put back. NULL is a no-op. */
void intern_free(struct intern *t);
/* The shared copy of s with one more reference; NULL when out of memory. */
const char *intern_get(struct intern *t, const char *s);
/* Drop one reference of a string intern_get returned; NULL is a no-op. */
void intern_put(struct intern *t, const char *s);
/* Distinct strings held. */
size_t intern_count(const struct intern *t);
