/* SPDX-License-Identifier: Apache-2.0 */
/* Small text helpers shared by parsers of outside input (HTTP paths, token
 * files, generated C). Header-only: no state, no allocation. */
#ifndef GR_UTIL_TEXT_H
#define GR_UTIL_TEXT_H

/* The value of hex digit c (0-9, a-f, A-F), or -1 for any other byte. */
static inline int
gr_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
