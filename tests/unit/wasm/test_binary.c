/* SPDX-License-Identifier: Apache-2.0 */
/* The decoder on hand-made binaries wat2wasm cannot produce: LEB128 limits,
 * UTF-8 names, section order, lane immediates, refused proposals, huge
 * declared counts, deep nesting and the operand stack limit. */
#include "wasm/wasm.h"

#include "granary/status.h"
#include "util/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

typedef struct buf
{
    uint8_t* b;
    size_t n, cap;
} buf;

static void
put(buf* o, const void* p, size_t n)
{
    if (o->n + n > o->cap) {
        o->cap = (o->n + n) * 2 + 64;
        o->b = realloc(o->b, o->cap);
        assert_non_null(o->b);
    }
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void
byte(buf* o, uint8_t v)
{
    put(o, &v, 1);
}

static void
leb(buf* o, uint32_t v)
{
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        byte(o, (uint8_t)(b | (v ? 0x80 : 0)));
    } while (v);
}

static void
section(buf* o, uint8_t id, const buf* content)
{
    byte(o, id);
    leb(o, (uint32_t)content->n);
    put(o, content->b, content->n);
}

static void
header(buf* o)
{
    put(o, "\0asm\1\0\0\0", 8);
}

/* A module of one function of type `type` (functype bytes from 0x60 on)
 * whose code entry is `body` (locals and expression), with a memory if
 * asked. */
static buf
one_func(const char* type, size_t tn, bool memory, const void* body, size_t bn)
{
    buf m = { 0 }, s = { 0 };
    header(&m);
    byte(&s, 1);
    put(&s, type, tn);
    section(&m, 1, &s);
    s.n = 0;
    put(&s, "\1\0", 2);
    section(&m, 3, &s);
    if (memory) {
        s.n = 0;
        put(&s, "\1\0\1", 3);
        section(&m, 5, &s);
    }
    s.n = 0;
    byte(&s, 1);
    leb(&s, (uint32_t)bn);
    put(&s, body, bn);
    section(&m, 10, &s);
    free(s.b);
    return m;
}

/* Decodes; returns 0 or the status, with the message in err. */
static int
decode(const buf* m, gr_wasm_error* err)
{
    gr_wasm_module* mod = NULL;
    int r = gr_wasm_module_decode(m->b, m->n, &mod, err);
    if (r == 0)
        assert_non_null(mod);
    else
        assert_null(mod);
    gr_wasm_module_destroy(mod);
    return r;
}

static void
expect_reject(const buf* m, int kind, const char* fragment)
{
    gr_wasm_error err;
    int r = decode(m, &err);
    if (r == 0)
        fail_msg("accepted, expected \"%s\"", fragment);
    assert_int_equal(r, GR_EINVALID_MODULE);
    if (strstr(err.message, fragment) == NULL || err.kind != kind)
        fail_msg("expected \"%s\" (kind %d), got \"%s\" (kind %d)",
                 fragment,
                 kind,
                 err.message,
                 err.kind);
}

static void
expect_ok(const buf* m)
{
    gr_wasm_error err;
    if (decode(m, &err) != 0)
        fail_msg("rejected: %s", err.message);
}

#define BODY(m, type, mem, ...)                                                \
    do {                                                                       \
        static const uint8_t b_[] = { __VA_ARGS__ };                           \
        free((m).b);                                                           \
        (m) = one_func(type, sizeof(type) - 1, mem, b_, sizeof(b_));           \
    } while (0)

#define MAL GR_WASM_ERR_MALFORMED
#define INV GR_WASM_ERR_INVALID

static void
test_header(void** state)
{
    (void)state;
    buf m = { 0 };
    put(&m, "\0as", 3);
    expect_reject(&m, MAL, "unexpected end");
    m.n = 0;
    put(&m, "\0asx\1\0\0\0", 8);
    expect_reject(&m, MAL, "magic header not detected");
    m.n = 0;
    put(&m, "\0asm\2\0\0\0", 8);
    expect_reject(&m, MAL, "unknown binary version");
    m.n = 0;
    header(&m);
    expect_ok(&m);
    free(m.b);
}

static void
test_leb128(void** state)
{
    (void)state;
    buf m = { 0 };
    /* u32: 5 bytes is the most; the 5th carries 4 bits. */
    header(&m);
    put(&m, "\1\6\x80\x80\x80\x80\x00", 7); /* type count 0, 5 bytes */
    expect_reject(&m, MAL, "section size mismatch");
    m.n = 0;
    header(&m);
    put(&m, "\1\5\x80\x80\x80\x80\x00", 7);
    expect_ok(&m);
    m.n = 0;
    header(&m);
    put(&m, "\1\6\x80\x80\x80\x80\x80\x00", 8);
    expect_reject(&m, MAL, "integer representation too long");
    m.n = 0;
    header(&m);
    put(&m, "\1\5\x80\x80\x80\x80\x10", 7);
    expect_reject(&m, MAL, "integer too large");
    /* s32 (i32.const): 5th byte bits beyond 32 must copy the sign. */
    BODY(m, "\x60\0\1\x7f", false, 0, 0x41, 0xff, 0xff, 0xff, 0xff, 0x07, 0x0b);
    expect_ok(&m);
    BODY(m, "\x60\0\1\x7f", false, 0, 0x41, 0x80, 0x80, 0x80, 0x80, 0x78, 0x0b);
    expect_ok(&m);
    BODY(m, "\x60\0\1\x7f", false, 0, 0x41, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x0b);
    expect_reject(&m, MAL, "integer too large");
    BODY(m, "\x60\0\1\x7f", false, 0, 0x41, 0x80, 0x80, 0x80, 0x80, 0x70, 0x0b);
    expect_reject(&m, MAL, "integer too large");
    BODY(m,
         "\x60\0\1\x7f",
         false,
         0,
         0x41,
         0x80,
         0x80,
         0x80,
         0x80,
         0x80,
         0x00,
         0x0b);
    expect_reject(&m, MAL, "integer representation too long");
    /* s64: the 10th byte is all sign. */
    BODY(m,
         "\x60\0\1\x7e",
         false,
         0,
         0x42,
         0x80,
         0x80,
         0x80,
         0x80,
         0x80,
         0x80,
         0x80,
         0x80,
         0x80,
         0x7f,
         0x0b);
    expect_ok(&m);
    BODY(m,
         "\x60\0\1\x7e",
         false,
         0,
         0x42,
         0x80,
         0x80,
         0x80,
         0x80,
         0x80,
         0x80,
         0x80,
         0x80,
         0x80,
         0x01,
         0x0b);
    expect_reject(&m, MAL, "integer too large");
    /* s33 block type: a huge positive index is an unknown type. */
    BODY(
      m, "\x60\0\0", false, 0, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x0b, 0x0b);
    expect_reject(&m, INV, "unknown type 4294967295");
    free(m.b);
}

static void
test_utf8_names(void** state)
{
    (void)state;
    static const struct
    {
        const char* name;
        size_t n;
        bool ok;
    } cases[] = {
        { "\xc0\x80", 2, false },         /* overlong NUL */
        { "\xed\xa0\x80", 3, false },     /* surrogate */
        { "\xf4\x90\x80\x80", 4, false }, /* > U+10FFFF */
        { "\xe2\x82", 2, false },         /* truncated */
        { "\xff", 1, false },
        { "\xf0\x9f\x98\x80", 4, true }, /* U+1F600 */
        { "\xc3\xa9t\xc3\xa9", 5, true },
        { "a\0b", 3, true },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf m = { 0 }, s = { 0 };
        header(&m);
        leb(&s, (uint32_t)cases[i].n);
        put(&s, cases[i].name, cases[i].n);
        put(&s, "payload", 7);
        section(&m, 0, &s);
        if (cases[i].ok)
            expect_ok(&m);
        else
            expect_reject(&m, MAL, "malformed UTF-8 encoding");
        free(m.b);
        free(s.b);
    }
}

static void
test_sections(void** state)
{
    (void)state;
    buf m = { 0 };
    header(&m);
    put(&m, "\1\1\0\1\1\0", 6); /* two type sections */
    expect_reject(&m, MAL, "unexpected content after last section");
    m.n = 0;
    header(&m);
    put(&m, "\x0e\0", 2);
    expect_reject(&m, MAL, "malformed section id 14");
    m.n = 0;
    header(&m);
    put(&m, "\x0d\1\0", 3);
    expect_reject(
      &m, GR_WASM_ERR_UNSUPPORTED, "exception handling is not supported");
    m.n = 0;
    header(&m);
    put(&m, "\5\3\1\4\1", 5); /* memory with i64 limits */
    expect_reject(&m, GR_WASM_ERR_UNSUPPORTED, "memory64 is not supported");
    m.n = 0;
    header(&m);
    put(&m, "\5\3\1\2\1", 5); /* shared, no max */
    expect_reject(&m, INV, "shared memory must have maximum");
    m.n = 0;
    header(&m);
    put(&m, "\x0c\1\1", 3); /* data count 1, no data section */
    expect_reject(&m, MAL, "data count and data section have inconsistent");
    m.n = 0;
    header(&m);
    put(&m, "\1\4\1\x60\0\0\3\2\1\0", 10); /* a function, no code */
    expect_reject(&m, MAL, "function and code section have inconsistent");
    /* A declared count far beyond the input is refused before anything
     * is allocated for it. */
    m.n = 0;
    header(&m);
    put(&m, "\1\5\xff\xff\xff\xff\x0f", 7);
    long before = gr_alloc_count();
    expect_reject(&m, MAL, "length out of bounds");
    assert_true(gr_alloc_count() - before < 8);
    /* So is a function section whose code entries cannot fit in what is
     * left of the input (each takes at least 3 bytes). */
    m.n = 0;
    header(&m);
    put(&m, "\1\4\1\x60\0\0", 6);
    buf fs = { 0 };
    leb(&fs, 50000);
    for (int i = 0; i < 50000; i++)
        byte(&fs, 0);
    section(&m, 3, &fs);
    free(fs.b);
    before = gr_alloc_count();
    expect_reject(&m, MAL, "(50000 functions, 0 bytes left)");
    assert_true(gr_alloc_count() - before < 8);
    /* A bad "name" section drops the names, nothing more. */
    m.n = 0;
    header(&m);
    put(&m, "\0\x0a\4name\1\xff\xff\xff", 12);
    expect_ok(&m);
    free(m.b);
}

static void
test_body_immediates(void** state)
{
    (void)state;
    buf m = { 0 };
    /* i8x16.extract_lane_s with lane 16 / 15 (v128.const first). */
    BODY(m,
         "\x60\0\1\x7f",
         false,
         0,
         0xfd,
         0x0c,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0xfd,
         0x15,
         16,
         0x0b);
    expect_reject(&m, INV, "invalid lane index 16 (16 lanes)");
    BODY(m,
         "\x60\0\1\x7f",
         false,
         0,
         0xfd,
         0x0c,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0xfd,
         0x15,
         15,
         0x0b);
    expect_ok(&m);
    /* f64x2.replace_lane 2 */
    BODY(m,
         "\x60\1\x7b\1\x7b",
         false,
         0,
         0x20,
         0,
         0x44,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0,
         0xfd,
         0x22,
         2,
         0x0b);
    expect_reject(&m, INV, "invalid lane index 2 (2 lanes)");
    /* i8x16.shuffle with lane 32 */
    BODY(m,
         "\x60\1\x7b\1\x7b",
         false,
         0,
         0x20,
         0,
         0x20,
         0,
         0xfd,
         0x0d,
         0,
         1,
         2,
         3,
         4,
         5,
         6,
         7,
         8,
         9,
         10,
         11,
         12,
         13,
         14,
         32,
         0x0b);
    expect_reject(&m, INV, "invalid lane index 32 in i8x16.shuffle");
    /* v128.load64_lane lane 2, then lane 1 */
    BODY(m,
         "\x60\1\x7b\1\x7b",
         true,
         0,
         0x41,
         0,
         0x20,
         0,
         0xfd,
         0x57,
         3,
         0,
         2,
         0x0b);
    expect_reject(&m, INV, "invalid lane index 2 (2 lanes)");
    BODY(m,
         "\x60\1\x7b\1\x7b",
         true,
         0,
         0x41,
         0,
         0x20,
         0,
         0xfd,
         0x57,
         3,
         0,
         1,
         0x0b);
    expect_ok(&m);
    /* Relaxed SIMD and unknown prefixed opcodes. */
    BODY(m, "\x60\0\0", false, 0, 0xfd, 0x80, 0x02, 0x0b);
    expect_reject(&m, GR_WASM_ERR_UNSUPPORTED, "relaxed SIMD");
    BODY(m, "\x60\0\0", false, 0, 0xfd, 0x9a, 0x01, 0x0b);
    expect_reject(&m, MAL, "illegal opcode 0xfd 0x9a");
    BODY(m, "\x60\0\0", false, 0, 0xfe, 0x04, 0x0b);
    expect_reject(&m, MAL, "illegal opcode 0xfe 0x4");
    /* select with a type vector of 2 */
    BODY(m,
         "\x60\0\0",
         false,
         0,
         0x41,
         0,
         0x41,
         0,
         0x41,
         0,
         0x1c,
         2,
         0x7f,
         0x7f,
         0x1a,
         0x0b);
    expect_reject(&m, INV, "invalid result arity 2");
    /* memory.size's reserved byte */
    BODY(m, "\x60\0\1\x7f", true, 0, 0x3f, 1, 0x0b);
    expect_reject(&m, MAL, "zero byte expected");
    /* memory.init without a data count section */
    BODY(
      m, "\x60\0\0", true, 0, 0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 8, 0, 0, 0x0b);
    expect_reject(&m, MAL, "data count section required");
    /* alignment 2^32 and beyond is malformed */
    BODY(m, "\x60\0\0", true, 0, 0x41, 0, 0x28, 32, 0, 0x1a, 0x0b);
    expect_reject(&m, MAL, "malformed memop flags");
    /* an exception opcode, a tail call */
    BODY(m, "\x60\0\0", false, 0, 0x06, 0x40, 0x0b, 0x0b);
    expect_reject(
      &m, GR_WASM_ERR_UNSUPPORTED, "exception handling is not supported");
    BODY(m, "\x60\0\0", false, 0, 0x12, 0, 0x0b);
    expect_reject(&m, GR_WASM_ERR_UNSUPPORTED, "tail calls");
    /* code after the final end; a body without its end */
    BODY(m, "\x60\0\0", false, 0, 0x0b, 0x01);
    expect_reject(&m, MAL, "after the function's final end");
    BODY(m, "\x60\0\0", false, 0, 0x01);
    expect_reject(&m, MAL, "END opcode expected");
    BODY(m, "\x60\0\0", false, 0, 0x05, 0x0b);
    expect_reject(&m, MAL, "else without matching if");
    free(m.b);
}

/* The whole message: section, function index, offset of the instruction
 * (here the end that finds an f64 where the result must be i32). */
static void
test_error_message(void** state)
{
    (void)state;
    buf m = { 0 };
    BODY(m, "\x60\0\1\x7f", false, 0, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b);
    gr_wasm_error err;
    assert_int_equal(decode(&m, &err), GR_EINVALID_MODULE);
    assert_string_equal(err.message,
                        "code section, function 0, offset 0x21: "
                        "type mismatch: expected i32, got f64");
    assert_int_equal(err.kind, GR_WASM_ERR_INVALID);
    assert_int_equal(err.func, 0);
    assert_int_equal(err.offset, 0x21);
    free(m.b);
}

static void
test_locals(void** state)
{
    (void)state;
    buf m = { 0 };
    /* 2^32 - 1 locals are fine (kept as one group) ... */
    BODY(m,
         "\x60\0\0",
         false,
         1,
         0xff,
         0xff,
         0xff,
         0xff,
         0x0f,
         0x7f,
         0x20,
         0xfe,
         0xff,
         0xff,
         0xff,
         0x0f,
         0x1a,
         0x0b);
    expect_ok(&m);
    /* ... one more is malformed. */
    BODY(m,
         "\x60\0\0",
         false,
         2,
         0xff,
         0xff,
         0xff,
         0xff,
         0x0f,
         0x7f,
         1,
         0x7e,
         0x0b);
    expect_reject(&m, MAL, "too many locals");
    BODY(m, "\x60\1\x7f\0", false, 1, 2, 0x7e, 0x20, 3, 0x1a, 0x0b);
    expect_reject(&m, INV, "unknown local 3");
    free(m.b);
}

/* 100k nested blocks: no recursion, so no stack overflow. */
static void
test_deep_nesting(void** state)
{
    (void)state;
    enum
    {
        DEPTH = 100000
    };
    buf body = { 0 };
    byte(&body, 0);
    for (int i = 0; i < DEPTH; i++)
        put(&body, "\x02\x40", 2);
    for (int i = 0; i < DEPTH; i++)
        byte(&body, 0x0b);
    byte(&body, 0x0b);
    buf m = one_func("\x60\0\0", 3, false, body.b, body.n);
    expect_ok(&m);
    free(m.b);
    free(body.b);
}

/* The operand stack is bounded (an implementation limit), not the input:
 * a body of 1.1 million i32.const is refused, cleanly. */
static void
test_stack_limit(void** state)
{
    (void)state;
    buf body = { 0 };
    byte(&body, 0);
    for (int i = 0; i < 1100000; i++)
        put(&body, "\x41\0", 2);
    byte(&body, 0x0b);
    buf m = one_func("\x60\0\0", 3, false, body.b, body.n);
    expect_reject(&m, GR_WASM_ERR_LIMIT, "operand stack deeper than");
    free(m.b);
    free(body.b);
}

/* Function types are limited to 1000 parameters and results (the JS API's
 * limits), which keeps validation linear in the input. */
static void
test_arity_limit(void** state)
{
    (void)state;
    for (uint32_t k = 1000; k <= 1001; k++) {
        buf m = { 0 }, s = { 0 };
        header(&m);
        put(&s, "\1\x60\0", 3);
        leb(&s, k);
        for (uint32_t i = 0; i < k; i++)
            byte(&s, 0x7f);
        section(&m, 1, &s);
        if (k == 1000)
            expect_ok(&m);
        else
            expect_reject(
              &m, GR_WASM_ERR_LIMIT, "function type with 1001 results");
        free(m.b);
        free(s.b);
    }
}

/* Out of memory at every allocation in turn: -ENOMEM, nothing leaked
 * (ASan checks), until the decode succeeds. */
static void
test_alloc_failures(void** state)
{
    (void)state;
    buf m = { 0 };
    BODY(m,
         "\x60\1\x7f\1\x7f",
         true,
         1,
         1,
         0x7e,
         0x02,
         0x7f,
         0x20,
         0,
         0x20,
         0,
         0x0e,
         1,
         0,
         0,
         0x0b,
         0x0b);
    int r = -ENOMEM;
    long n;
    for (n = 1; n < 100 && r == -ENOMEM; n++) {
        gr_alloc_fail_after(n);
        gr_wasm_module* mod = NULL;
        gr_wasm_error err;
        r = gr_wasm_module_decode(m.b, m.n, &mod, &err);
        gr_alloc_fail_after(0);
        if (r == 0)
            gr_wasm_module_destroy(mod);
        else
            assert_int_equal(r, -ENOMEM);
    }
    assert_int_equal(r, 0);
    assert_true(n > 2);
    free(m.b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_leb128),
        cmocka_unit_test(test_utf8_names),
        cmocka_unit_test(test_sections),
        cmocka_unit_test(test_body_immediates),
        cmocka_unit_test(test_error_message),
        cmocka_unit_test(test_locals),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_stack_limit),
        cmocka_unit_test(test_arity_limit),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
