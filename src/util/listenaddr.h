/* SPDX-License-Identifier: Apache-2.0 */
/* Listen addresses as the configuration and the HTTP server take them. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * "host:port", ":port" or "[v6addr]:port" (port 0..65535; 0 picks a free port,
 * which the configuration refuses but tests use). ret_host gets the
 * host without brackets ("" for ":port"). -EINVAL, or -ENAMETOOLONG when the
 * host does not fit hostsz. Outputs untouched on failure.
 */
int parse_listen_address(const char *s, char *ret_host, size_t hostsz, uint16_t *ret_port);
