/* SPDX-License-Identifier: Apache-2.0 */
/* SIMD (0xfd) instructions: each lane operation is a call of the wrt_simd.h
 * helper of the same name; memory, lane, constant and shuffle instructions
 * are written out here. */
#include "wasm/emit_int.h"

#include <inttypes.h>
#include <string.h>

enum
{
    I = GR_WASM_I32,
    V = GR_WASM_V128,
};

typedef struct simdop
{
    uint8_t nargs;
    uint8_t type;
    const char* name; /* helper, without the wrt_ prefix */
} simdop;

#define U(n)                                                                   \
    {                                                                          \
        1, V, #n                                                               \
    }
#define B(n)                                                                   \
    {                                                                          \
        2, V, #n                                                               \
    }
#define R(n)                                                                   \
    {                                                                          \
        1, I, #n                                                               \
    }
#define CMPI(p)                                                                \
    B(p##_eq), B(p##_ne), B(p##_lt_s), B(p##_lt_u), B(p##_gt_s), B(p##_gt_u),  \
      B(p##_le_s), B(p##_le_u), B(p##_ge_s), B(p##_ge_u)
#define CMPF(p) B(p##_eq), B(p##_ne), B(p##_lt), B(p##_gt), B(p##_le), B(p##_ge)

static const simdop ops[256] = {
    [0x23] = CMPI(i8x16),
    [0x2d] = CMPI(i16x8),
    [0x37] = CMPI(i32x4),
    [0x41] = CMPF(f32x4),
    [0x47] = CMPF(f64x2),
    [0x4f] = B(v128_andnot),
    [0x52] = { 3, V, "v128_bitselect" },
    [0x53] = R(v128_any_true),
    [0x5e] = U(f32x4_demote_f64x2_zero),
    U(f64x2_promote_low_f32x4),
    [0x60] = U(i8x16_abs),
    U(i8x16_neg),
    U(i8x16_popcnt),
    R(i8x16_all_true),
    R(i8x16_bitmask),
    B(i8x16_narrow_i16x8_s),
    B(i8x16_narrow_i16x8_u),
    U(f32x4_ceil),
    U(f32x4_floor),
    U(f32x4_trunc),
    U(f32x4_nearest),
    B(i8x16_shl),
    B(i8x16_shr_s),
    B(i8x16_shr_u),
    B(i8x16_add),
    B(i8x16_add_sat_s),
    B(i8x16_add_sat_u),
    B(i8x16_sub),
    B(i8x16_sub_sat_s),
    B(i8x16_sub_sat_u),
    U(f64x2_ceil),
    U(f64x2_floor),
    B(i8x16_min_s),
    B(i8x16_min_u),
    B(i8x16_max_s),
    B(i8x16_max_u),
    U(f64x2_trunc),
    B(i8x16_avgr_u),
    U(i16x8_extadd_s),
    U(i16x8_extadd_u),
    U(i32x4_extadd_s),
    U(i32x4_extadd_u),
    [0x80] = U(i16x8_abs),
    U(i16x8_neg),
    B(i16x8_q15mulr_sat_s),
    R(i16x8_all_true),
    R(i16x8_bitmask),
    B(i16x8_narrow_i32x4_s),
    B(i16x8_narrow_i32x4_u),
    U(i16x8_extend_low_s),
    U(i16x8_extend_high_s),
    U(i16x8_extend_low_u),
    U(i16x8_extend_high_u),
    B(i16x8_shl),
    B(i16x8_shr_s),
    B(i16x8_shr_u),
    B(i16x8_add),
    B(i16x8_add_sat_s),
    B(i16x8_add_sat_u),
    B(i16x8_sub),
    B(i16x8_sub_sat_s),
    B(i16x8_sub_sat_u),
    U(f64x2_nearest),
    B(i16x8_mul),
    B(i16x8_min_s),
    B(i16x8_min_u),
    B(i16x8_max_s),
    B(i16x8_max_u),
    [0x9b] = B(i16x8_avgr_u),
    B(i16x8_extmul_low_s),
    B(i16x8_extmul_high_s),
    B(i16x8_extmul_low_u),
    B(i16x8_extmul_high_u),
    [0xa0] = U(i32x4_abs),
    U(i32x4_neg),
    [0xa3] = R(i32x4_all_true),
    R(i32x4_bitmask),
    [0xa7] = U(i32x4_extend_low_s),
    U(i32x4_extend_high_s),
    U(i32x4_extend_low_u),
    U(i32x4_extend_high_u),
    B(i32x4_shl),
    B(i32x4_shr_s),
    B(i32x4_shr_u),
    B(i32x4_add),
    [0xb1] = B(i32x4_sub),
    [0xb5] = B(i32x4_mul),
    B(i32x4_min_s),
    B(i32x4_min_u),
    B(i32x4_max_s),
    B(i32x4_max_u),
    B(i32x4_dot_i16x8_s),
    [0xbc] = B(i32x4_extmul_low_s),
    B(i32x4_extmul_high_s),
    B(i32x4_extmul_low_u),
    B(i32x4_extmul_high_u),
    [0xc0] = U(i64x2_abs),
    U(i64x2_neg),
    [0xc3] = R(i64x2_all_true),
    R(i64x2_bitmask),
    [0xc7] = U(i64x2_extend_low_s),
    U(i64x2_extend_high_s),
    U(i64x2_extend_low_u),
    U(i64x2_extend_high_u),
    B(i64x2_shl),
    B(i64x2_shr_s),
    B(i64x2_shr_u),
    B(i64x2_add),
    [0xd1] = B(i64x2_sub),
    [0xd5] = B(i64x2_mul),
    B(i64x2_eq),
    B(i64x2_ne),
    B(i64x2_lt_s),
    B(i64x2_gt_s),
    B(i64x2_le_s),
    B(i64x2_ge_s),
    B(i64x2_extmul_low_s),
    B(i64x2_extmul_high_s),
    B(i64x2_extmul_low_u),
    B(i64x2_extmul_high_u),
    [0xe0] = U(f32x4_abs),
    U(f32x4_neg),
    [0xe3] = U(f32x4_sqrtf),
    B(f32x4_add),
    B(f32x4_sub),
    B(f32x4_mul),
    B(f32x4_div),
    B(f32x4_min),
    B(f32x4_max),
    B(f32x4_pmin),
    B(f32x4_pmax),
    U(f64x2_abs),
    U(f64x2_neg),
    [0xef] = U(f64x2_sqrt),
    B(f64x2_add),
    B(f64x2_sub),
    B(f64x2_mul),
    B(f64x2_div),
    B(f64x2_min),
    B(f64x2_max),
    B(f64x2_pmin),
    B(f64x2_pmax),
    U(i32x4_trunc_sat_f32x4_s),
    U(i32x4_trunc_sat_f32x4_u),
    U(f32x4_convert_i32x4_s),
    U(f32x4_convert_i32x4_u),
    U(i32x4_trunc_sat_f64x2_s_zero),
    U(i32x4_trunc_sat_f64x2_u_zero),
    U(f64x2_convert_low_i32x4_s),
    U(f64x2_convert_low_i32x4_u),
};

/* Lane access by lane width: helper suffix and scalar type. */
typedef struct lanek
{
    const char* acc;  /* wrt_<acc>_get/_set */
    uint8_t type;     /* scalar type */
    const char* ext;  /* extract cast ("" if none) */
    const char* wrap; /* replace cast */
} lanek;

static const lanek lanes[] = {
    /* 0x15 */ { "u8", I, "(uint32_t)(int32_t)(int8_t)", "(uint8_t)" },
    /* 0x16 */ { "u8", I, "(uint32_t)", "(uint8_t)" },
    /* 0x17 */ { "u8", I, "", "(uint8_t)" },
    /* 0x18 */ { "u16", I, "(uint32_t)(int32_t)(int16_t)", "(uint16_t)" },
    /* 0x19 */ { "u16", I, "(uint32_t)", "(uint16_t)" },
    /* 0x1a */ { "u16", I, "", "(uint16_t)" },
    /* 0x1b */ { "u32", I, "", "" },
    /* 0x1c */ { "u32", I, "", "" },
    /* 0x1d */ { "u64", GR_WASM_I64, "", "" },
    /* 0x1e */ { "u64", GR_WASM_I64, "", "" },
    /* 0x1f */ { "f32", GR_WASM_F32, "", "" },
    /* 0x20 */ { "f32", GR_WASM_F32, "", "" },
    /* 0x21 */ { "f64", GR_WASM_F64, "", "" },
    /* 0x22 */ { "f64", GR_WASM_F64, "", "" },
};

static const char* const lane_mem[4] = { "u8", "u16", "u32", "u64" };

/* Pops the address; returns the effective address expression in buf. */
static void
pop_ea(gr_emit_fn* e, const gr_wasm_instr* in, char* buf, size_t n)
{
    snprintf(buf,
             n,
             "(uint64_t)%s + %" PRIu32 "u",
             gr__emit_top(e, 0),
             in->imm.mem.offset);
    gr__emit_drop(e, 1);
}

/* i8x16.shuffle with the widest lanes that express it: if every aligned
 * group of w bytes picks an aligned group of w consecutive bytes, it is a
 * shuffle of w-byte lanes, which the C compiler turns into one or two
 * instructions (pshufd, shufpd, punpck*) where a byte shuffle would take a
 * long sequence without SSSE3. */
static void
emit_shuffle(FILE* o,
             const char* dst,
             const char* a,
             const char* b,
             const uint8_t* sel)
{
    static const char* const vt[] = {
        "wrt_u64x2", "wrt_u32x4", "wrt_u16x8", "wrt_u8x16"
    };
    unsigned w = 8;
    for (; w > 1; w >>= 1) {
        bool ok = true;
        for (unsigned i = 0; i < 16 && ok; i++)
            ok =
              sel[i] % w == (i % w) && (i % w == 0 || sel[i] == sel[i - 1] + 1);
        if (ok)
            break;
    }
    if (w == 1) {
        /* 16 consecutive bytes of a:b (or of b:a): two byte shifts */
        unsigned k = sel[0] & 31;
        bool run = k % 16 != 0;
        for (unsigned i = 1; i < 16 && run; i++)
            run = (sel[i] & 31) == ((k + i) & 31);
        if (run) {
            fprintf(o,
                    "%s = WRT_ALIGNR(%s, %s, %u);\n",
                    dst,
                    k < 16 ? a : b,
                    k < 16 ? b : a,
                    k % 16);
            return;
        }
    }
    int t = w == 8 ? 0 : w == 4 ? 1 : w == 2 ? 2 : 3;
    fprintf(o, "%s = WRT_SHUFFLE(%s, %s, %s", dst, vt[t], a, b);
    for (unsigned i = 0; i < 16; i += w)
        fprintf(o, ", %u", (unsigned)(sel[i] & 31) / w);
    fprintf(o, ");\n");
}

int
gr__emit_simd(gr_emit_fn* e, const gr_wasm_instr* in)
{
    unsigned sub = in->op & 0xff;
    FILE* o = e->out;
    char ea[64], a[24], b[24], c[24];
    static const char* const ldext[] = { "load8x8_s",  "load8x8_u",
                                         "load16x4_s", "load16x4_u",
                                         "load32x2_s", "load32x2_u" };
    static const char* const splat[] = { "i8x16", "i16x8", "i32x4",
                                         "i64x2", "f32x4", "f64x2" };
    static const uint8_t splat_t[] = { I,           I,           I,
                                       GR_WASM_I64, GR_WASM_F32, GR_WASM_F64 };
    (void)splat_t;
    if (sub == 0x00) {
        pop_ea(e, in, ea, sizeof(ea));
        fprintf(
          o, "%s = wrt_v128_ld(m0, M, MS, %s);\n", gr__emit_push(e, V), ea);
        return 0;
    }
    if (sub >= 0x01 && sub <= 0x06) {
        pop_ea(e, in, ea, sizeof(ea));
        fprintf(o,
                "%s = wrt_v128_%s(m0, M, MS, %s);\n",
                gr__emit_push(e, V),
                ldext[sub - 1],
                ea);
        return 0;
    }
    if (sub >= 0x07 && sub <= 0x0a) {
        pop_ea(e, in, ea, sizeof(ea));
        fprintf(o,
                "%s = wrt_%s_splat(wrt_ld_%s(m0, M, MS, %s));\n",
                gr__emit_push(e, V),
                splat[sub - 7],
                lane_mem[sub - 7],
                ea);
        return 0;
    }
    if (sub == 0x0b) {
        snprintf(a, sizeof(a), "%s", gr__emit_top(e, 0));
        gr__emit_drop(e, 1);
        pop_ea(e, in, ea, sizeof(ea));
        fprintf(o, "wrt_v128_st(m0, M, MS, %s, %s);\n", ea, a);
        return 0;
    }
    if (sub == 0x0c) {
        uint64_t lo, hi;
        memcpy(&lo, in->imm.v128, 8);
        memcpy(&hi, in->imm.v128 + 8, 8);
        fprintf(o,
                "%s = (wrt_v128){ 0x%" PRIx64 "ull, 0x%" PRIx64 "ull };\n",
                gr__emit_push(e, V),
                lo,
                hi);
        return 0;
    }
    if (sub == 0x0d) {
        snprintf(b, sizeof(b), "%s", gr__emit_top(e, 0));
        snprintf(a, sizeof(a), "%s", gr__emit_top(e, 1));
        gr__emit_drop(e, 2);
        emit_shuffle(o, gr__emit_push(e, V), a, b, in->imm.v128);
        return 0;
    }
    if (sub == 0x0e) {
        snprintf(b, sizeof(b), "%s", gr__emit_top(e, 0));
        snprintf(a, sizeof(a), "%s", gr__emit_top(e, 1));
        gr__emit_drop(e, 2);
        fprintf(
          o, "%s = wrt_i8x16_swizzle(%s, %s);\n", gr__emit_push(e, V), a, b);
        return 0;
    }
    if (sub >= 0x0f && sub <= 0x14) {
        snprintf(a, sizeof(a), "%s", gr__emit_top(e, 0));
        gr__emit_drop(e, 1);
        const char* cast[] = { "(uint8_t)", "(uint16_t)", "", "", "", "" };
        fprintf(o,
                "%s = wrt_%s_splat(%s%s);\n",
                gr__emit_push(e, V),
                splat[sub - 0x0f],
                cast[sub - 0x0f],
                a);
        return 0;
    }
    if (sub >= 0x15 && sub <= 0x22) {
        const lanek* k = &lanes[sub - 0x15];
        bool replace =
          sub == 0x17 || sub == 0x1a || (sub >= 0x1c && sub % 2 == 0);
        if (replace) {
            snprintf(b, sizeof(b), "%s", gr__emit_top(e, 0));
            snprintf(a, sizeof(a), "%s", gr__emit_top(e, 1));
            gr__emit_drop(e, 2);
            fprintf(o,
                    "%s = wrt_%s_set(%s, %u, %s%s);\n",
                    gr__emit_push(e, V),
                    k->acc,
                    a,
                    in->lane,
                    k->wrap,
                    b);
        } else {
            snprintf(a, sizeof(a), "%s", gr__emit_top(e, 0));
            gr__emit_drop(e, 1);
            fprintf(o,
                    "%s = %swrt_%s_get(%s, %u);\n",
                    gr__emit_push(e, k->type),
                    k->ext,
                    k->acc,
                    a,
                    in->lane);
        }
        return 0;
    }
    if (sub == 0x4d || sub == 0x4e || sub == 0x50 || sub == 0x51) {
        if (sub == 0x4d) {
            snprintf(a, sizeof(a), "%s", gr__emit_top(e, 0));
            gr__emit_drop(e, 1);
            fprintf(o, "%s = ~%s;\n", gr__emit_push(e, V), a);
            return 0;
        }
        snprintf(b, sizeof(b), "%s", gr__emit_top(e, 0));
        snprintf(a, sizeof(a), "%s", gr__emit_top(e, 1));
        gr__emit_drop(e, 2);
        const char* op = sub == 0x4e ? "&" : sub == 0x50 ? "|" : "^";
        fprintf(o, "%s = %s %s %s;\n", gr__emit_push(e, V), a, op, b);
        return 0;
    }
    if (sub >= 0x54 && sub <= 0x5b) {
        unsigned w = (sub - 0x54) & 3;
        snprintf(a, sizeof(a), "%s", gr__emit_top(e, 0));
        gr__emit_drop(e, 1);
        pop_ea(e, in, ea, sizeof(ea));
        if (sub <= 0x57)
            fprintf(o,
                    "%s = wrt_%s_set(%s, %u, wrt_ld_%s(m0, M, MS, %s));\n",
                    gr__emit_push(e, V),
                    lane_mem[w],
                    a,
                    in->lane,
                    lane_mem[w],
                    ea);
        else
            fprintf(o,
                    "wrt_ld_%s_st(m0, M, MS, %s, wrt_%s_get(%s, %u));\n",
                    lane_mem[w],
                    ea,
                    lane_mem[w],
                    a,
                    in->lane);
        return 0;
    }
    if (sub == 0x5c || sub == 0x5d) {
        pop_ea(e, in, ea, sizeof(ea));
        fprintf(o,
                "%s = (wrt_v128){ (uint64_t)wrt_ld_%s(m0, M, MS, %s), 0 };\n",
                gr__emit_push(e, V),
                sub == 0x5c ? "u32" : "u64",
                ea);
        return 0;
    }
    const simdop* op = &ops[sub];
    if (op->name == NULL)
        return gr__emit_unsupported(e, in);
    if (op->nargs == 3) {
        snprintf(c, sizeof(c), "%s", gr__emit_top(e, 0));
        snprintf(b, sizeof(b), "%s", gr__emit_top(e, 1));
        snprintf(a, sizeof(a), "%s", gr__emit_top(e, 2));
        gr__emit_drop(e, 3);
        fprintf(o,
                "%s = wrt_%s(%s, %s, %s);\n",
                gr__emit_push(e, op->type),
                op->name,
                a,
                b,
                c);
    } else if (op->nargs == 2) {
        snprintf(b, sizeof(b), "%s", gr__emit_top(e, 0));
        snprintf(a, sizeof(a), "%s", gr__emit_top(e, 1));
        gr__emit_drop(e, 2);
        fprintf(o,
                "%s = wrt_%s(%s, %s);\n",
                gr__emit_push(e, op->type),
                op->name,
                a,
                b);
    } else {
        snprintf(a, sizeof(a), "%s", gr__emit_top(e, 0));
        gr__emit_drop(e, 1);
        fprintf(
          o, "%s = wrt_%s(%s);\n", gr__emit_push(e, op->type), op->name, a);
    }
    return 0;
}
