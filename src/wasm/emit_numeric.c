/* SPDX-License-Identifier: Apache-2.0 */
/* Numeric instructions (0x45..0xc4) and the saturating truncations
 * (0xfc 0..7): one C expression each, over the typed stack slots, with
 * the edge cases (traps, NaN bits, shift counts) in wrt.h helpers. */
#include "wasm/emit_int.h"

#include <inttypes.h>

enum
{
    I = GR_WASM_I32,
    L = GR_WASM_I64,
    F = GR_WASM_F32,
    D = GR_WASM_F64,
};

typedef struct numop
{
    uint8_t nargs;
    uint8_t type;     /* result */
    const char* expr; /* %1$s, %2$s: the operands */
} numop;

#define CMP32(op)                                                              \
    {                                                                          \
        2, I, "(uint32_t)(%1$s " op " %2$s)"                                   \
    }
#define CMPS32(op)                                                             \
    {                                                                          \
        2, I, "(uint32_t)((int32_t)%1$s " op " (int32_t)%2$s)"                 \
    }
#define CMP64(op)                                                              \
    {                                                                          \
        2, I, "(uint32_t)(%1$s " op " %2$s)"                                   \
    }
#define CMPS64(op)                                                             \
    {                                                                          \
        2, I, "(uint32_t)((int64_t)%1$s " op " (int64_t)%2$s)"                 \
    }

static const numop ops[] = {
    /* 0x45 */ { 1, I, "(uint32_t)(%1$s == 0)" },
    CMP32("=="),
    CMP32("!="),
    CMPS32("<"),
    CMP32("<"),
    CMPS32(">"),
    CMP32(">"),
    CMPS32("<="),
    CMP32("<="),
    CMPS32(">="),
    CMP32(">="),
    /* 0x50 */ { 1, I, "(uint32_t)(%1$s == 0)" },
    CMP64("=="),
    CMP64("!="),
    CMPS64("<"),
    CMP64("<"),
    CMPS64(">"),
    CMP64(">"),
    CMPS64("<="),
    CMP64("<="),
    CMPS64(">="),
    CMP64(">="),
    /* 0x5b f32 */ CMP32("=="),
    CMP32("!="),
    CMP32("<"),
    CMP32(">"),
    CMP32("<="),
    CMP32(">="),
    /* 0x61 f64 */ CMP64("=="),
    CMP64("!="),
    CMP64("<"),
    CMP64(">"),
    CMP64("<="),
    CMP64(">="),
    /* 0x67 i32 */ { 1, I, "wrt_clz32(%1$s)" },
    { 1, I, "wrt_ctz32(%1$s)" },
    { 1, I, "wrt_popcnt32(%1$s)" },
    { 2, I, "%1$s + %2$s" },
    { 2, I, "%1$s - %2$s" },
    { 2, I, "%1$s * %2$s" },
    { 2, I, "wrt_div_s32(%1$s, %2$s)" },
    { 2, I, "wrt_div_u32(%1$s, %2$s)" },
    { 2, I, "wrt_rem_s32(%1$s, %2$s)" },
    { 2, I, "wrt_rem_u32(%1$s, %2$s)" },
    { 2, I, "%1$s & %2$s" },
    { 2, I, "%1$s | %2$s" },
    { 2, I, "%1$s ^ %2$s" },
    { 2, I, "%1$s << (%2$s & 31)" },
    { 2, I, "(uint32_t)((int32_t)%1$s >> (%2$s & 31))" },
    { 2, I, "%1$s >> (%2$s & 31)" },
    { 2, I, "wrt_rotl32(%1$s, %2$s)" },
    { 2, I, "wrt_rotr32(%1$s, %2$s)" },
    /* 0x79 i64 */ { 1, L, "wrt_clz64(%1$s)" },
    { 1, L, "wrt_ctz64(%1$s)" },
    { 1, L, "wrt_popcnt64(%1$s)" },
    { 2, L, "%1$s + %2$s" },
    { 2, L, "%1$s - %2$s" },
    { 2, L, "%1$s * %2$s" },
    { 2, L, "wrt_div_s64(%1$s, %2$s)" },
    { 2, L, "wrt_div_u64(%1$s, %2$s)" },
    { 2, L, "wrt_rem_s64(%1$s, %2$s)" },
    { 2, L, "wrt_rem_u64(%1$s, %2$s)" },
    { 2, L, "%1$s & %2$s" },
    { 2, L, "%1$s | %2$s" },
    { 2, L, "%1$s ^ %2$s" },
    { 2, L, "%1$s << (%2$s & 63)" },
    { 2, L, "(uint64_t)((int64_t)%1$s >> (%2$s & 63))" },
    { 2, L, "%1$s >> (%2$s & 63)" },
    { 2, L, "wrt_rotl64(%1$s, %2$s)" },
    { 2, L, "wrt_rotr64(%1$s, %2$s)" },
    /* 0x8b f32 */ { 1, F, "wrt_f32_abs(%1$s)" },
    { 1, F, "wrt_f32_neg(%1$s)" },
    { 1, F, "wrt_f32_ceil(%1$s)" },
    { 1, F, "wrt_f32_floor(%1$s)" },
    { 1, F, "wrt_f32_trunc(%1$s)" },
    { 1, F, "wrt_f32_nearest(%1$s)" },
    { 1, F, "__builtin_sqrtf(%1$s)" },
    { 2, F, "%1$s + %2$s" },
    { 2, F, "%1$s - %2$s" },
    { 2, F, "%1$s * %2$s" },
    { 2, F, "%1$s / %2$s" },
    { 2, F, "wrt_f32_min(%1$s, %2$s)" },
    { 2, F, "wrt_f32_max(%1$s, %2$s)" },
    { 2, F, "wrt_f32_copysign(%1$s, %2$s)" },
    /* 0x99 f64 */ { 1, D, "wrt_f64_abs(%1$s)" },
    { 1, D, "wrt_f64_neg(%1$s)" },
    { 1, D, "wrt_f64_ceil(%1$s)" },
    { 1, D, "wrt_f64_floor(%1$s)" },
    { 1, D, "wrt_f64_trunc(%1$s)" },
    { 1, D, "wrt_f64_nearest(%1$s)" },
    { 1, D, "__builtin_sqrt(%1$s)" },
    { 2, D, "%1$s + %2$s" },
    { 2, D, "%1$s - %2$s" },
    { 2, D, "%1$s * %2$s" },
    { 2, D, "%1$s / %2$s" },
    { 2, D, "wrt_f64_min(%1$s, %2$s)" },
    { 2, D, "wrt_f64_max(%1$s, %2$s)" },
    { 2, D, "wrt_f64_copysign(%1$s, %2$s)" },
    /* 0xa7 conversions */ { 1, I, "(uint32_t)%1$s" },
    { 1, I, "wrt_trunc_s32_f32(%1$s)" },
    { 1, I, "wrt_trunc_u32_f32(%1$s)" },
    { 1, I, "wrt_trunc_s32_f64(%1$s)" },
    { 1, I, "wrt_trunc_u32_f64(%1$s)" },
    { 1, L, "(uint64_t)(int64_t)(int32_t)%1$s" },
    { 1, L, "(uint64_t)%1$s" },
    { 1, L, "wrt_trunc_s64_f32(%1$s)" },
    { 1, L, "wrt_trunc_u64_f32(%1$s)" },
    { 1, L, "wrt_trunc_s64_f64(%1$s)" },
    { 1, L, "wrt_trunc_u64_f64(%1$s)" },
    { 1, F, "(float)(int32_t)%1$s" },
    { 1, F, "(float)%1$s" },
    { 1, F, "(float)(int64_t)%1$s" },
    { 1, F, "(float)%1$s" },
    { 1, F, "(float)%1$s" },
    { 1, D, "(double)(int32_t)%1$s" },
    { 1, D, "(double)%1$s" },
    { 1, D, "(double)(int64_t)%1$s" },
    { 1, D, "(double)%1$s" },
    { 1, D, "wrt_f64_promote(%1$s)" },
    { 1, I, "wrt_b32(%1$s)" },
    { 1, L, "wrt_b64(%1$s)" },
    { 1, F, "wrt_f32(%1$s)" },
    { 1, D, "wrt_f64(%1$s)" },
    /* 0xc0 sign extension */ { 1, I, "(uint32_t)(int32_t)(int8_t)%1$s" },
    { 1, I, "(uint32_t)(int32_t)(int16_t)%1$s" },
    { 1, L, "(uint64_t)(int64_t)(int8_t)%1$s" },
    { 1, L, "(uint64_t)(int64_t)(int16_t)%1$s" },
    { 1, L, "(uint64_t)(int64_t)(int32_t)%1$s" },
};

static const numop sat[] = {
    { 1, I, "wrt_sat_s32_f32(%1$s)" }, { 1, I, "wrt_sat_u32_f32(%1$s)" },
    { 1, I, "wrt_sat_s32_f64(%1$s)" }, { 1, I, "wrt_sat_u32_f64(%1$s)" },
    { 1, L, "wrt_sat_s64_f32(%1$s)" }, { 1, L, "wrt_sat_u64_f32(%1$s)" },
    { 1, L, "wrt_sat_s64_f64(%1$s)" }, { 1, L, "wrt_sat_u64_f64(%1$s)" },
};

int
gr__emit_numeric(gr_emit_fn* e, const gr_wasm_instr* in)
{
    const numop* op;
    if (in->op >= 0x45 && in->op <= 0xc4)
        op = &ops[in->op - 0x45];
    else if (in->op >= 0xfc00 && in->op <= 0xfc07)
        op = &sat[in->op - 0xfc00];
    else
        return gr__emit_unsupported(e, in);
    char a[24], b[24] = "";
    if (op->nargs == 2) {
        snprintf(a, sizeof(a), "%s", gr__emit_operand(e, 1));
        snprintf(b, sizeof(b), "%s", gr__emit_operand(e, 0));
    } else {
        snprintf(a, sizeof(a), "%s", gr__emit_operand(e, 0));
    }
    gr__emit_drop(e, op->nargs);
    fprintf(e->out, "%s = ", gr__emit_push(e, op->type));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    fprintf(e->out, op->expr, a, b);
#pragma GCC diagnostic pop
    fprintf(e->out, ";\n");
    return 0;
}
