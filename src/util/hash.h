/* SPDX-License-Identifier: Apache-2.0 */
/* Content hashing (SHA-256, our own) used to address compiled objects. */
#ifndef GR_UTIL_HASH_H
#define GR_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define GR_SHA256_HEX_LEN 64

/* Writes the lowercase hex SHA-256 of data[0..len) and a NUL into
 * hex[GR_SHA256_HEX_LEN + 1]. Returns 0 or -ENOMEM. */
int gr_sha256_hex(const void* data,
                  size_t len,
                  char hex[GR_SHA256_HEX_LEN + 1]);

#endif
