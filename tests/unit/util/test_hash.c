/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-256 of util/hash.c against FIPS 180-4's examples and against
 * Python's hashlib for every padding case (lengths around 56 and 64). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "util/hash.h"

static void
check(const void* data, size_t len, const char* want)
{
    char hex[GR_SHA256_HEX_LEN + 1];
    assert_int_equal(gr_sha256_hex(data, len, hex), 0);
    assert_string_equal(hex, want);
}

static void
test_fips_examples(void** state)
{
    (void)state;
    check("abc",
          3,
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char* m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check(m,
          strlen(m),
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char* a = malloc(1000000);
    assert_non_null(a);
    memset(a, 'a', 1000000);
    check(a,
          1000000,
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

/* Bytes (i * 7 + 3) & 255 for i < n; digests from Python's hashlib. */
static void
test_padding_lengths(void** state)
{
    (void)state;
    static const struct
    {
        size_t n;
        const char* hex;
    } v[] = {
        { 0,
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { 1,
          "084fed08b978af4d7d196a7446a86b58009e636b611db16211b65a9aadff29c5" },
        { 55,
          "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b" },
        { 56,
          "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27" },
        { 63,
          "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055" },
        { 64,
          "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241" },
        { 65,
          "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e" },
        { 119,
          "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e" },
        { 120,
          "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5" },
        { 1000,
          "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371" },
    };
    uint8_t buf[1000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)((i * 7 + 3) & 255);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        check(buf, v[i].n, v[i].hex);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_examples),
        cmocka_unit_test(test_padding_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
