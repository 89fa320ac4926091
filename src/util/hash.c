/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-256 through OpenSSL's one-shot EVP digest. */
#include "util/hash.h"

#include <errno.h>
#include <openssl/evp.h>

int
gr_sha256_hex(const void* data, size_t len, char hex[GR_SHA256_HEX_LEN + 1])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
        return -ENOMEM;
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[GR_SHA256_HEX_LEN] = '\0';
    return 0;
}
