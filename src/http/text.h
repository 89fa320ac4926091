/* SPDX-License-Identifier: Apache-2.0 */
/* Text helpers of the HTTP API: deciding whether call output can be shown
 * as a JSON string or must be base64. Pure. */
#ifndef GR_HTTP_TEXT_H
#define GR_HTTP_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Whether [p, p+len) is valid UTF-8: no overlong forms, no surrogates,
 * nothing above U+10FFFF. NUL bytes are valid. p may be NULL if len is 0. */
int gr_http_utf8_valid(const uint8_t* p, size_t len);

#endif
