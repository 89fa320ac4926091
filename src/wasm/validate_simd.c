/* SPDX-License-Identifier: Apache-2.0 */
/* Fixed-width SIMD (the 0xfd prefix, final SIMD proposal as in
 * WebAssembly 2.0): immediates (memory arguments, lane indices checked
 * against the lane count, v128.const, shuffle lanes < 32) and types. */
#include "wasm/wasm_int.h"

#include <string.h>

enum
{
    V = GR_WASM_V128,
    I = GR_WASM_I32,
    L = GR_WASM_I64,
    F = GR_WASM_F32,
    D = GR_WASM_F64,
};

/* Instruction classes by sub-opcode. */
enum simd_class
{
    S_INVALID,
    S_UN,      /* v128 -> v128 */
    S_BIN,     /* v128 v128 -> v128 */
    S_TER,     /* v128 v128 v128 -> v128 */
    S_TEST,    /* v128 -> i32 */
    S_SHIFT,   /* v128 i32 -> v128 */
    S_SPLAT,   /* t -> v128 */
    S_EXTRACT, /* v128 -> t, lane */
    S_REPLACE, /* v128 t -> v128, lane */
    S_LOAD,    /* i32 -> v128 */
    S_STORE,   /* i32 v128 -> */
    S_LOAD_LANE,
    S_STORE_LANE,
    S_CONST,
    S_SHUFFLE,
};

typedef struct simd_info
{
    uint8_t cls;
    uint8_t arg;  /* natural alignment (log2) or lane count */
    uint8_t type; /* scalar type of splat/extract/replace */
} simd_info;

/* Ranges of sub-opcodes sharing a class; gaps are S_INVALID. */
static const struct
{
    uint8_t lo, hi;
    simd_info info;
} simd_ranges[] = {
    { 0x00, 0x00, { S_LOAD, 4, 0 } },
    { 0x01, 0x06, { S_LOAD, 3, 0 } },
    { 0x07, 0x07, { S_LOAD, 0, 0 } },
    { 0x08, 0x08, { S_LOAD, 1, 0 } },
    { 0x09, 0x09, { S_LOAD, 2, 0 } },
    { 0x0a, 0x0a, { S_LOAD, 3, 0 } },
    { 0x0b, 0x0b, { S_STORE, 4, 0 } },
    { 0x0c, 0x0c, { S_CONST, 0, 0 } },
    { 0x0d, 0x0d, { S_SHUFFLE, 0, 0 } },
    { 0x0e, 0x0e, { S_BIN, 0, 0 } },
    { 0x0f, 0x11, { S_SPLAT, 0, I } },
    { 0x12, 0x12, { S_SPLAT, 0, L } },
    { 0x13, 0x13, { S_SPLAT, 0, F } },
    { 0x14, 0x14, { S_SPLAT, 0, D } },
    { 0x15, 0x16, { S_EXTRACT, 16, I } },
    { 0x17, 0x17, { S_REPLACE, 16, I } },
    { 0x18, 0x19, { S_EXTRACT, 8, I } },
    { 0x1a, 0x1a, { S_REPLACE, 8, I } },
    { 0x1b, 0x1b, { S_EXTRACT, 4, I } },
    { 0x1c, 0x1c, { S_REPLACE, 4, I } },
    { 0x1d, 0x1d, { S_EXTRACT, 2, L } },
    { 0x1e, 0x1e, { S_REPLACE, 2, L } },
    { 0x1f, 0x1f, { S_EXTRACT, 4, F } },
    { 0x20, 0x20, { S_REPLACE, 4, F } },
    { 0x21, 0x21, { S_EXTRACT, 2, D } },
    { 0x22, 0x22, { S_REPLACE, 2, D } },
    { 0x23, 0x4c, { S_BIN, 0, 0 } },
    { 0x4d, 0x4d, { S_UN, 0, 0 } },
    { 0x4e, 0x51, { S_BIN, 0, 0 } },
    { 0x52, 0x52, { S_TER, 0, 0 } },
    { 0x53, 0x53, { S_TEST, 0, 0 } },
    { 0x54, 0x54, { S_LOAD_LANE, 16, 0 } },
    { 0x55, 0x55, { S_LOAD_LANE, 8, 1 } },
    { 0x56, 0x56, { S_LOAD_LANE, 4, 2 } },
    { 0x57, 0x57, { S_LOAD_LANE, 2, 3 } },
    { 0x58, 0x58, { S_STORE_LANE, 16, 0 } },
    { 0x59, 0x59, { S_STORE_LANE, 8, 1 } },
    { 0x5a, 0x5a, { S_STORE_LANE, 4, 2 } },
    { 0x5b, 0x5b, { S_STORE_LANE, 2, 3 } },
    { 0x5c, 0x5c, { S_LOAD, 2, 0 } },
    { 0x5d, 0x5d, { S_LOAD, 3, 0 } },
    { 0x5e, 0x62, { S_UN, 0, 0 } },
    { 0x63, 0x64, { S_TEST, 0, 0 } },
    { 0x65, 0x66, { S_BIN, 0, 0 } },
    { 0x67, 0x6a, { S_UN, 0, 0 } },
    { 0x6b, 0x6d, { S_SHIFT, 0, 0 } },
    { 0x6e, 0x73, { S_BIN, 0, 0 } },
    { 0x74, 0x75, { S_UN, 0, 0 } },
    { 0x76, 0x79, { S_BIN, 0, 0 } },
    { 0x7a, 0x7a, { S_UN, 0, 0 } },
    { 0x7b, 0x7b, { S_BIN, 0, 0 } },
    { 0x7c, 0x81, { S_UN, 0, 0 } },
    { 0x82, 0x82, { S_BIN, 0, 0 } },
    { 0x83, 0x84, { S_TEST, 0, 0 } },
    { 0x85, 0x86, { S_BIN, 0, 0 } },
    { 0x87, 0x8a, { S_UN, 0, 0 } },
    { 0x8b, 0x8d, { S_SHIFT, 0, 0 } },
    { 0x8e, 0x93, { S_BIN, 0, 0 } },
    { 0x94, 0x94, { S_UN, 0, 0 } },
    { 0x95, 0x99, { S_BIN, 0, 0 } },
    { 0x9b, 0x9f, { S_BIN, 0, 0 } },
    { 0xa0, 0xa1, { S_UN, 0, 0 } },
    { 0xa3, 0xa4, { S_TEST, 0, 0 } },
    { 0xa7, 0xaa, { S_UN, 0, 0 } },
    { 0xab, 0xad, { S_SHIFT, 0, 0 } },
    { 0xae, 0xae, { S_BIN, 0, 0 } },
    { 0xb1, 0xb1, { S_BIN, 0, 0 } },
    { 0xb5, 0xba, { S_BIN, 0, 0 } },
    { 0xbc, 0xbf, { S_BIN, 0, 0 } },
    { 0xc0, 0xc1, { S_UN, 0, 0 } },
    { 0xc3, 0xc4, { S_TEST, 0, 0 } },
    { 0xc7, 0xca, { S_UN, 0, 0 } },
    { 0xcb, 0xcd, { S_SHIFT, 0, 0 } },
    { 0xce, 0xce, { S_BIN, 0, 0 } },
    { 0xd1, 0xd1, { S_BIN, 0, 0 } },
    { 0xd5, 0xdf, { S_BIN, 0, 0 } },
    { 0xe0, 0xe1, { S_UN, 0, 0 } },
    { 0xe3, 0xe3, { S_UN, 0, 0 } },
    { 0xe4, 0xeb, { S_BIN, 0, 0 } },
    { 0xec, 0xed, { S_UN, 0, 0 } },
    { 0xef, 0xef, { S_UN, 0, 0 } },
    { 0xf0, 0xf7, { S_BIN, 0, 0 } },
    { 0xf8, 0xff, { S_UN, 0, 0 } },
};

static simd_info
simd_lookup(uint32_t sub)
{
    simd_info none = { S_INVALID, 0, 0 };
    if (sub > 0xff)
        return none;
    for (size_t i = 0; i < sizeof(simd_ranges) / sizeof(simd_ranges[0]); i++)
        if (sub >= simd_ranges[i].lo && sub <= simd_ranges[i].hi)
            return simd_ranges[i].info;
    return none;
}

static int
lane(gr_wasm_fn* v, uint8_t lanes, gr_wasm_instr* in)
{
    size_t at = v->c->pos;
    if (gr__wasm_u8(v->c, &in->lane) < 0)
        return -1;
    if (in->lane >= lanes)
        return GR__INVALID(
          v->c, at, "invalid lane index %u (%u lanes)", in->lane, lanes);
    return 0;
}

static int
apply(gr_wasm_fn* v, int n, uint8_t a, uint8_t b, uint8_t c, uint8_t out)
{
    gr_wasm_sig s = { (uint8_t)n, { a, b, c }, out };
    return gr__wasm_apply(v, &s);
}

int
gr__wasm_simd(gr_wasm_fn* v, uint32_t sub, gr_wasm_instr* in)
{
    gr_wasm_ctx* c = v->c;
    simd_info k = simd_lookup(sub);
    const uint8_t* p;
    if (k.cls == S_INVALID) {
        if (sub >= 0x100 && sub <= 0x113)
            return gr__wasm_fail(c,
                                 GR_WASM_ERR_UNSUPPORTED,
                                 v->at,
                                 "relaxed SIMD is not supported (opcode "
                                 "0xfd 0x%x)",
                                 sub);
        return GR__MALFORMED(c, v->at, "illegal opcode 0xfd 0x%x", sub);
    }
    in->op = (uint16_t)GR_WASM_OP_FD(sub);
    switch (k.cls) {
        case S_UN:
            return apply(v, 1, V, 0, 0, V);
        case S_BIN:
            return apply(v, 2, V, V, 0, V);
        case S_TER:
            return apply(v, 3, V, V, V, V);
        case S_TEST:
            return apply(v, 1, V, 0, 0, I);
        case S_SHIFT:
            return apply(v, 2, V, I, 0, V);
        case S_SPLAT:
            return apply(v, 1, k.type, 0, 0, V);
        case S_EXTRACT:
            if (lane(v, k.arg, in) < 0)
                return -1;
            return apply(v, 1, V, 0, 0, k.type);
        case S_REPLACE:
            if (lane(v, k.arg, in) < 0)
                return -1;
            return apply(v, 2, V, k.type, 0, V);
        case S_LOAD:
        case S_STORE:
            if (gr__wasm_memarg(c, k.arg, false, in) < 0 ||
                gr__wasm_need_memory(v) < 0)
                return -1;
            if (k.cls == S_LOAD)
                return apply(v, 1, I, 0, 0, V);
            return apply(v, 2, I, V, 0, 0);
        case S_LOAD_LANE:
        case S_STORE_LANE:
            if (gr__wasm_memarg(c, k.type, false, in) < 0 ||
                lane(v, k.arg, in) < 0 || gr__wasm_need_memory(v) < 0)
                return -1;
            if (k.cls == S_LOAD_LANE)
                return apply(v, 2, I, V, 0, V);
            return apply(v, 2, I, V, 0, 0);
        case S_CONST:
            if (gr__wasm_bytes(c, 16, &p) < 0)
                return -1;
            memcpy(in->imm.v128, p, 16);
            return gr__wasm_push(v, V);
        case S_SHUFFLE: {
            size_t at = c->pos;
            if (gr__wasm_bytes(c, 16, &p) < 0)
                return -1;
            for (int i = 0; i < 16; i++)
                if (p[i] >= 32)
                    return GR__INVALID(c,
                                       at + (size_t)i,
                                       "invalid lane index %u in "
                                       "i8x16.shuffle",
                                       p[i]);
            memcpy(in->imm.v128, p, 16);
            return apply(v, 2, V, V, 0, V);
        }
        default:
            return GR__MALFORMED(c, v->at, "illegal opcode 0xfd 0x%x", sub);
    }
}
