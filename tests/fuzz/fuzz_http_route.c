/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the HTTP API's own parsers of outside input: the
 * router (method + decoded path) and the token file. Checks that a routed
 * request carries only valid names, and that parsed tokens can be found. */
#include <stdlib.h>
#include <string.h>

#include "http/route.h"
#include "http/tokens.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static int
name_ok(const char* s)
{
    size_t n = strlen(s);
    if (n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    /* First byte picks the method; the rest is the path (NUL-terminated
     * copy, as MHD hands it over) and, separately, a token file text. */
    static const char* methods[] = { "GET",    "HEAD",  "PUT", "POST",
                                     "DELETE", "PATCH", "" };
    const char* method = methods[data[0] % 7];
    char* path = malloc(size);
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';
    gr_http_route r;
    if (gr_http_route_match(method, path, &r) == 0) {
        if (!name_ok(r.user) || !name_ok(r.fn))
            abort(); /* a routed name the validator should have refused */
    }
    free(path);

    gr_tokens t = { 0 };
    char err[256];
    if (gr_tokens_parse((const char*)data + 1, size - 1, &t, err, sizeof err) ==
        0) {
        for (size_t i = 0; i < t.n; i++) {
            char hex[2 * GR_TOKEN_BYTES];
            static const char digits[] = "0123456789abcdef";
            for (size_t k = 0; k < GR_TOKEN_BYTES; k++) {
                hex[2 * k] = digits[t.v[i].key[k] >> 4];
                hex[2 * k + 1] = digits[t.v[i].key[k] & 15];
            }
            if (gr_tokens_find(&t, hex, sizeof hex) == NULL)
                abort(); /* every parsed token must be found again */
        }
    }
    gr_tokens_fini(&t);
    return 0;
}
