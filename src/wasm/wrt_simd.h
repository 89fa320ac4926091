/* SPDX-License-Identifier: Apache-2.0 */
/* SIMD helpers of generated code (included by wrt.h): every v128
 * operation as an inline function over lanes with wasm's exact semantics
 * (wrapping integer lanes, saturation, NaN and -0 rules in min/max,
 * saturating float -> int, swizzle's out-of-range lanes). Lane loops over
 * memcpy'd arrays; the compiler vectorises the simple ones. */
#ifndef GR_WASM_WRT_SIMD_H
#define GR_WASM_WRT_SIMD_H

#define WRT_V_IN(T, N, v, a)                                                   \
    T a[N];                                                                    \
    memcpy(a, &(v), 16)
#define WRT_V_OUT(r)                                                           \
    wrt_v128 out_;                                                             \
    memcpy(&out_, r, 16);                                                      \
    return out_

#define WRT_V1(name, T, RT, N, expr)                                           \
    static inline wrt_v128 name(wrt_v128 va)                                   \
    {                                                                          \
        WRT_V_IN(T, N, va, a);                                                 \
        RT r[N];                                                               \
        for (int i = 0; i < N; i++) {                                          \
            T x = a[i];                                                        \
            r[i] = (RT)(expr);                                                 \
        }                                                                      \
        WRT_V_OUT(r);                                                          \
    }
#define WRT_V2(name, T, RT, N, expr)                                           \
    static inline wrt_v128 name(wrt_v128 va, wrt_v128 vb)                      \
    {                                                                          \
        WRT_V_IN(T, N, va, a);                                                 \
        WRT_V_IN(T, N, vb, b);                                                 \
        RT r[N];                                                               \
        for (int i = 0; i < N; i++) {                                          \
            T x = a[i], y = b[i];                                              \
            r[i] = (RT)(expr);                                                 \
        }                                                                      \
        WRT_V_OUT(r);                                                          \
    }
#define WRT_VSH(name, T, N, expr)                                              \
    static inline wrt_v128 name(wrt_v128 va, uint32_t s)                       \
    {                                                                          \
        WRT_V_IN(T, N, va, a);                                                 \
        T r[N];                                                                \
        s &= (uint32_t)(sizeof(T) * 8 - 1);                                    \
        for (int i = 0; i < N; i++) {                                          \
            T x = a[i];                                                        \
            r[i] = (T)(expr);                                                  \
        }                                                                      \
        WRT_V_OUT(r);                                                          \
    }

#define WRT_CLAMP(v, lo, hi) ((v) < (lo) ? (lo) : (v) > (hi) ? (hi) : (v))

/* Integer lane families: wrapping ops on unsigned lanes, compares. */
#define WRT_VINT(P, ST, UT, N, BITS)                                           \
    WRT_V2(wrt_##P##_add, UT, UT, N, (uint64_t)x + y)                          \
    WRT_V2(wrt_##P##_sub, UT, UT, N, (uint64_t)x - y)                          \
    WRT_V2(wrt_##P##_mul, UT, UT, N, (uint64_t)x* y)                           \
    WRT_V1(wrt_##P##_neg, UT, UT, N, 0 - (uint64_t)x)                          \
    WRT_V1(wrt_##P##_abs, ST, UT, N, x < 0 ? 0 - (uint64_t)x : (uint64_t)x)    \
    WRT_V2(wrt_##P##_eq, UT, ST, N, x == y ? -1 : 0)                           \
    WRT_V2(wrt_##P##_ne, UT, ST, N, x != y ? -1 : 0)                           \
    WRT_V2(wrt_##P##_lt_s, ST, ST, N, x < y ? -1 : 0)                          \
    WRT_V2(wrt_##P##_lt_u, UT, ST, N, x < y ? -1 : 0)                          \
    WRT_V2(wrt_##P##_gt_s, ST, ST, N, x > y ? -1 : 0)                          \
    WRT_V2(wrt_##P##_gt_u, UT, ST, N, x > y ? -1 : 0)                          \
    WRT_V2(wrt_##P##_le_s, ST, ST, N, x <= y ? -1 : 0)                         \
    WRT_V2(wrt_##P##_le_u, UT, ST, N, x <= y ? -1 : 0)                         \
    WRT_V2(wrt_##P##_ge_s, ST, ST, N, x >= y ? -1 : 0)                         \
    WRT_V2(wrt_##P##_ge_u, UT, ST, N, x >= y ? -1 : 0)                         \
    WRT_V2(wrt_##P##_min_s, ST, ST, N, x < y ? x : y)                          \
    WRT_V2(wrt_##P##_min_u, UT, UT, N, x < y ? x : y)                          \
    WRT_V2(wrt_##P##_max_s, ST, ST, N, x > y ? x : y)                          \
    WRT_V2(wrt_##P##_max_u, UT, UT, N, x > y ? x : y)                          \
    WRT_VSH(wrt_##P##_shl, UT, N, x << s)                                      \
    WRT_VSH(wrt_##P##_shr_s, ST, N, x >> s)                                    \
    WRT_VSH(wrt_##P##_shr_u, UT, N, x >> s)                                    \
    static inline uint32_t wrt_##P##_all_true(wrt_v128 v)                      \
    {                                                                          \
        WRT_V_IN(UT, N, v, a);                                                 \
        for (int i = 0; i < N; i++)                                            \
            if (a[i] == 0)                                                     \
                return 0;                                                      \
        return 1;                                                              \
    }                                                                          \
    static inline uint32_t wrt_##P##_bitmask(wrt_v128 v)                       \
    {                                                                          \
        WRT_V_IN(UT, N, v, a);                                                 \
        uint32_t m = 0;                                                        \
        for (int i = 0; i < N; i++)                                            \
            m |= (uint32_t)(a[i] >> (BITS - 1)) << i;                          \
        return m;                                                              \
    }
WRT_VINT(i8x16, int8_t, uint8_t, 16, 8)
WRT_VINT(i16x8, int16_t, uint16_t, 8, 16)
WRT_VINT(i32x4, int32_t, uint32_t, 4, 32)
WRT_VINT(i64x2, int64_t, uint64_t, 2, 64)

/* Saturating add/sub, rounding average (8 and 16 bit lanes). */
#define WRT_VSATOPS(P, ST, UT, N, SMIN, SMAX, UMAX)                            \
    WRT_V2(                                                                    \
      wrt_##P##_add_sat_s, ST, ST, N, WRT_CLAMP((int32_t)x + y, SMIN, SMAX))   \
    WRT_V2(wrt_##P##_add_sat_u, UT, UT, N, WRT_CLAMP((int32_t)x + y, 0, UMAX)) \
    WRT_V2(                                                                    \
      wrt_##P##_sub_sat_s, ST, ST, N, WRT_CLAMP((int32_t)x - y, SMIN, SMAX))   \
    WRT_V2(wrt_##P##_sub_sat_u, UT, UT, N, WRT_CLAMP((int32_t)x - y, 0, UMAX)) \
    WRT_V2(wrt_##P##_avgr_u, UT, UT, N, ((uint32_t)x + y + 1) >> 1)
WRT_VSATOPS(i8x16, int8_t, uint8_t, 16, -128, 127, 255)
WRT_VSATOPS(i16x8, int16_t, uint16_t, 8, -32768, 32767, 65535)

WRT_V1(wrt_i8x16_popcnt, uint8_t, uint8_t, 16, __builtin_popcount(x))
WRT_V2(wrt_i16x8_q15mulr_sat_s,
       int16_t,
       int16_t,
       8,
       WRT_CLAMP(((int32_t)x * y + 0x4000) >> 15, -32768, 32767))

/* Float lanes. */
#define WRT_VFLT(P, T, IT, N, S)                                               \
    WRT_V2(wrt_##P##_add, T, T, N, x + y)                                      \
    WRT_V2(wrt_##P##_sub, T, T, N, x - y)                                      \
    WRT_V2(wrt_##P##_mul, T, T, N, x* y)                                       \
    WRT_V2(wrt_##P##_div, T, T, N, x / y)                                      \
    WRT_V2(wrt_##P##_min, T, T, N, wrt_##S##_min(x, y))                        \
    WRT_V2(wrt_##P##_max, T, T, N, wrt_##S##_max(x, y))                        \
    WRT_V2(wrt_##P##_pmin, T, T, N, y < x ? y : x)                             \
    WRT_V2(wrt_##P##_pmax, T, T, N, x < y ? y : x)                             \
    WRT_V1(wrt_##P##_abs, T, T, N, wrt_##S##_abs(x))                           \
    WRT_V1(wrt_##P##_neg, T, T, N, wrt_##S##_neg(x))                           \
    WRT_V1(wrt_##P##_sqrt, T, T, N, __builtin_sqrt(x))                         \
    WRT_V1(wrt_##P##_ceil, T, T, N, wrt_##S##_ceil(x))                         \
    WRT_V1(wrt_##P##_floor, T, T, N, wrt_##S##_floor(x))                       \
    WRT_V1(wrt_##P##_trunc, T, T, N, wrt_##S##_trunc(x))                       \
    WRT_V1(wrt_##P##_nearest, T, T, N, wrt_##S##_nearest(x))                   \
    WRT_V2(wrt_##P##_eq, T, IT, N, x == y ? -1 : 0)                            \
    WRT_V2(wrt_##P##_ne, T, IT, N, x != y ? -1 : 0)                            \
    WRT_V2(wrt_##P##_lt, T, IT, N, x < y ? -1 : 0)                             \
    WRT_V2(wrt_##P##_gt, T, IT, N, x > y ? -1 : 0)                             \
    WRT_V2(wrt_##P##_le, T, IT, N, x <= y ? -1 : 0)                            \
    WRT_V2(wrt_##P##_ge, T, IT, N, x >= y ? -1 : 0)
WRT_VFLT(f32x4, float, int32_t, 4, f32)
WRT_VFLT(f64x2, double, int64_t, 2, f64)

/* f32 sqrt must round once in single precision. */
WRT_V1(wrt_f32x4_sqrtf, float, float, 4, __builtin_sqrtf(x))

/* Bitwise. */
static inline wrt_v128
wrt_v128_andnot(wrt_v128 a, wrt_v128 b)
{
    return a & ~b;
}
static inline wrt_v128
wrt_v128_bitselect(wrt_v128 a, wrt_v128 b, wrt_v128 c)
{
    return (a & c) | (b & ~c);
}
static inline uint32_t
wrt_v128_any_true(wrt_v128 a)
{
    return (a[0] | a[1]) != 0;
}

/* Splat, shuffle, swizzle. */
#define WRT_SPLAT(name, T, N)                                                  \
    static inline wrt_v128 name(T x)                                           \
    {                                                                          \
        T r[N];                                                                \
        for (int i = 0; i < N; i++)                                            \
            r[i] = x;                                                          \
        WRT_V_OUT(r);                                                          \
    }
WRT_SPLAT(wrt_i8x16_splat, uint8_t, 16)
WRT_SPLAT(wrt_i16x8_splat, uint16_t, 8)
WRT_SPLAT(wrt_i32x4_splat, uint32_t, 4)
WRT_SPLAT(wrt_i64x2_splat, uint64_t, 2)
WRT_SPLAT(wrt_f32x4_splat, float, 4)
WRT_SPLAT(wrt_f64x2_splat, double, 2)

static inline wrt_v128
wrt_i8x16_swizzle(wrt_v128 va, wrt_v128 vs)
{
    WRT_V_IN(uint8_t, 16, va, a);
    WRT_V_IN(uint8_t, 16, vs, s);
    uint8_t r[16];
    for (int i = 0; i < 16; i++)
        r[i] = s[i] < 16 ? a[s[i]] : 0;
    WRT_V_OUT(r);
}
static inline wrt_v128
wrt_i8x16_shuffle(wrt_v128 va, wrt_v128 vb, const uint8_t* lanes)
{
    uint8_t ab[32], r[16];
    memcpy(ab, &va, 16);
    memcpy(ab + 16, &vb, 16);
    for (int i = 0; i < 16; i++)
        r[i] = ab[lanes[i] & 31];
    WRT_V_OUT(r);
}

/* Lanes. */
#define WRT_LANE(P, T, N)                                                      \
    static inline T wrt_##P##_get(wrt_v128 v, int i)                           \
    {                                                                          \
        WRT_V_IN(T, N, v, a);                                                  \
        return a[i];                                                           \
    }                                                                          \
    static inline wrt_v128 wrt_##P##_set(wrt_v128 v, int i, T x)               \
    {                                                                          \
        WRT_V_IN(T, N, v, a);                                                  \
        a[i] = x;                                                              \
        WRT_V_OUT(a);                                                          \
    }
WRT_LANE(u8, uint8_t, 16)
WRT_LANE(u16, uint16_t, 8)
WRT_LANE(u32, uint32_t, 4)
WRT_LANE(u64, uint64_t, 2)
WRT_LANE(f32, float, 4)
WRT_LANE(f64, double, 2)

/* Narrowing: a's lanes then b's, saturated. */
#define WRT_NARROW(name, ST, RT, N, LO, HI)                                    \
    static inline wrt_v128 name(wrt_v128 va, wrt_v128 vb)                      \
    {                                                                          \
        WRT_V_IN(ST, N, va, a);                                                \
        WRT_V_IN(ST, N, vb, b);                                                \
        RT r[2 * N];                                                           \
        for (int i = 0; i < N; i++) {                                          \
            r[i] = (RT)WRT_CLAMP(a[i], LO, HI);                                \
            r[N + i] = (RT)WRT_CLAMP(b[i], LO, HI);                            \
        }                                                                      \
        WRT_V_OUT(r);                                                          \
    }
WRT_NARROW(wrt_i8x16_narrow_i16x8_s, int16_t, int8_t, 8, -128, 127)
WRT_NARROW(wrt_i8x16_narrow_i16x8_u, int16_t, uint8_t, 8, 0, 255)
WRT_NARROW(wrt_i16x8_narrow_i32x4_s, int32_t, int16_t, 4, -32768, 32767)
WRT_NARROW(wrt_i16x8_narrow_i32x4_u, int32_t, uint16_t, 4, 0, 65535)

/* Widening: extend the low/high half, extmul, pairwise add. */
#define WRT_WIDEN(P, NT, ST, WT, N)                                            \
    static inline wrt_v128 wrt_##P##_extend_low_##NT(wrt_v128 va)              \
    {                                                                          \
        WRT_V_IN(ST, 2 * N, va, a);                                            \
        WT r[N];                                                               \
        for (int i = 0; i < N; i++)                                            \
            r[i] = (WT)a[i];                                                   \
        WRT_V_OUT(r);                                                          \
    }                                                                          \
    static inline wrt_v128 wrt_##P##_extend_high_##NT(wrt_v128 va)             \
    {                                                                          \
        WRT_V_IN(ST, 2 * N, va, a);                                            \
        WT r[N];                                                               \
        for (int i = 0; i < N; i++)                                            \
            r[i] = (WT)a[N + i];                                               \
        WRT_V_OUT(r);                                                          \
    }                                                                          \
    static inline wrt_v128 wrt_##P##_extmul_low_##NT(wrt_v128 va, wrt_v128 vb) \
    {                                                                          \
        WRT_V_IN(ST, 2 * N, va, a);                                            \
        WRT_V_IN(ST, 2 * N, vb, b);                                            \
        WT r[N];                                                               \
        for (int i = 0; i < N; i++)                                            \
            r[i] = (WT)((WT)a[i] * (WT)b[i]);                                  \
        WRT_V_OUT(r);                                                          \
    }                                                                          \
    static inline wrt_v128 wrt_##P##_extmul_high_##NT(wrt_v128 va,             \
                                                      wrt_v128 vb)             \
    {                                                                          \
        WRT_V_IN(ST, 2 * N, va, a);                                            \
        WRT_V_IN(ST, 2 * N, vb, b);                                            \
        WT r[N];                                                               \
        for (int i = 0; i < N; i++)                                            \
            r[i] = (WT)((WT)a[N + i] * (WT)b[N + i]);                          \
        WRT_V_OUT(r);                                                          \
    }                                                                          \
    static inline wrt_v128 wrt_##P##_extadd_##NT(wrt_v128 va)                  \
    {                                                                          \
        WRT_V_IN(ST, 2 * N, va, a);                                            \
        WT r[N];                                                               \
        for (int i = 0; i < N; i++)                                            \
            r[i] = (WT)((WT)a[2 * i] + (WT)a[2 * i + 1]);                      \
        WRT_V_OUT(r);                                                          \
    }
/* Products are computed in a type wide enough (unsigned for wrapping). */
WRT_WIDEN(i16x8, s, int8_t, int16_t, 8)
WRT_WIDEN(i16x8, u, uint8_t, uint16_t, 8)
WRT_WIDEN(i32x4, s, int16_t, int32_t, 4)
WRT_WIDEN(i32x4, u, uint16_t, uint32_t, 4)
WRT_WIDEN(i64x2, s, int32_t, int64_t, 2)
WRT_WIDEN(i64x2, u, uint32_t, uint64_t, 2)

static inline wrt_v128
wrt_i32x4_dot_i16x8_s(wrt_v128 va, wrt_v128 vb)
{
    WRT_V_IN(int16_t, 8, va, a);
    WRT_V_IN(int16_t, 8, vb, b);
    uint32_t r[4];
    for (int i = 0; i < 4; i++)
        r[i] = (uint32_t)((int32_t)a[2 * i] * b[2 * i]) +
               (uint32_t)((int32_t)a[2 * i + 1] * b[2 * i + 1]);
    WRT_V_OUT(r);
}

/* Conversions. */
WRT_V1(wrt_i32x4_trunc_sat_f32x4_s, float, uint32_t, 4, wrt_sat_s32_f32(x))
WRT_V1(wrt_i32x4_trunc_sat_f32x4_u, float, uint32_t, 4, wrt_sat_u32_f32(x))
WRT_V1(wrt_f32x4_convert_i32x4_s, int32_t, float, 4, (float)x)
WRT_V1(wrt_f32x4_convert_i32x4_u, uint32_t, float, 4, (float)x)
static inline wrt_v128
wrt_i32x4_trunc_sat_f64x2_s_zero(wrt_v128 va)
{
    WRT_V_IN(double, 2, va, a);
    uint32_t r[4] = { wrt_sat_s32_f64(a[0]), wrt_sat_s32_f64(a[1]), 0, 0 };
    WRT_V_OUT(r);
}
static inline wrt_v128
wrt_i32x4_trunc_sat_f64x2_u_zero(wrt_v128 va)
{
    WRT_V_IN(double, 2, va, a);
    uint32_t r[4] = { wrt_sat_u32_f64(a[0]), wrt_sat_u32_f64(a[1]), 0, 0 };
    WRT_V_OUT(r);
}
static inline wrt_v128
wrt_f64x2_convert_low_i32x4_s(wrt_v128 va)
{
    WRT_V_IN(int32_t, 4, va, a);
    double r[2] = { a[0], a[1] };
    WRT_V_OUT(r);
}
static inline wrt_v128
wrt_f64x2_convert_low_i32x4_u(wrt_v128 va)
{
    WRT_V_IN(uint32_t, 4, va, a);
    double r[2] = { a[0], a[1] };
    WRT_V_OUT(r);
}
static inline wrt_v128
wrt_f32x4_demote_f64x2_zero(wrt_v128 va)
{
    WRT_V_IN(double, 2, va, a);
    float r[4] = { (float)a[0], (float)a[1], 0, 0 };
    WRT_V_OUT(r);
}
static inline wrt_v128
wrt_f64x2_promote_low_f32x4(wrt_v128 va)
{
    WRT_V_IN(float, 4, va, a);
    double r[2] = { wrt_f64_promote(a[0]), wrt_f64_promote(a[1]) };
    WRT_V_OUT(r);
}

/* Memory: loads with extension, splats, zero-extended and lane loads. */
static inline wrt_v128
wrt_v128_ld(const wrt_memory* m, uint8_t* b, uint64_t ms, uint64_t ea)
{
    WRT_CHECK(m, ms, ea, 16);
    wrt_v128 v;
    memcpy(&v, b + ea, 16);
    WRT_FORCE_READ_FP(v);
    return v;
}
static inline void
wrt_v128_st(const wrt_memory* m,
            uint8_t* b,
            uint64_t ms,
            uint64_t ea,
            wrt_v128 v)
{
    WRT_CHECK(m, ms, ea, 16);
    memcpy(b + ea, &v, 16);
}
#define WRT_LDEXT(name, ST, WT, N)                                             \
    static inline wrt_v128 name(                                               \
      const wrt_memory* m, uint8_t* b, uint64_t ms, uint64_t ea)               \
    {                                                                          \
        WRT_CHECK(m, ms, ea, 8);                                               \
        ST a[N];                                                               \
        WT r[N];                                                               \
        uint64_t a8_;                                                          \
        memcpy(&a8_, b + ea, 8);                                               \
        WRT_FORCE_READ_INT(a8_);                                               \
        memcpy(a, &a8_, 8);                                                    \
        for (int i = 0; i < N; i++)                                            \
            r[i] = (WT)a[i];                                                   \
        WRT_V_OUT(r);                                                          \
    }
WRT_LDEXT(wrt_v128_load8x8_s, int8_t, int16_t, 8)
WRT_LDEXT(wrt_v128_load8x8_u, uint8_t, uint16_t, 8)
WRT_LDEXT(wrt_v128_load16x4_s, int16_t, int32_t, 4)
WRT_LDEXT(wrt_v128_load16x4_u, uint16_t, uint32_t, 4)
WRT_LDEXT(wrt_v128_load32x2_s, int32_t, int64_t, 2)
WRT_LDEXT(wrt_v128_load32x2_u, uint32_t, uint64_t, 2)

#endif
