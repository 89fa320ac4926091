/* SPDX-License-Identifier: Apache-2.0 */
/* SIMD helpers of generated code (included by wrt.h): every v128
 * operation as an inline function with wasm's exact semantics (wrapping
 * integer lanes, saturation, NaN and -0 rules in min/max, saturating
 * float -> int, swizzle's out-of-range lanes).
 *
 * Three tiers, fastest first:
 * - GCC vector extensions on typed views of the v128 (lane arithmetic,
 *   compares, shifts, lane access, splats, shuffles): the compiler picks
 *   the instructions, and a lane access never goes through memory.
 * - SSE2 intrinsics (always there on x86-64) where the vector extensions
 *   have no operator or where the exact wasm rule has a short sequence:
 *   saturation, rounding average, min/max, bitmask, narrowing, widening,
 *   dot product, float min/max, sqrt, int <-> float conversions. Define
 *   WRT_SIMD_GENERIC to use the portable lane loops instead (tests do).
 * - Lane loops over memcpy'd arrays for the rare rest (rounding,
 *   popcount, q15mulr, swizzle, unsigned conversions). */
#ifndef GR_WASM_WRT_SIMD_H
#define GR_WASM_WRT_SIMD_H

#if defined(__SSE2__) && !defined(WRT_SIMD_GENERIC)
#include <emmintrin.h>
#define WRT_SSE2 1
#else
#define WRT_SSE2 0
#endif

/* Typed views of a v128; a cast between them reinterprets the bits. */
typedef uint8_t wrt_u8x16 __attribute__((vector_size(16)));
typedef int8_t wrt_s8x16 __attribute__((vector_size(16)));
typedef uint16_t wrt_u16x8 __attribute__((vector_size(16)));
typedef int16_t wrt_s16x8 __attribute__((vector_size(16)));
typedef uint32_t wrt_u32x4 __attribute__((vector_size(16)));
typedef int32_t wrt_s32x4 __attribute__((vector_size(16)));
typedef uint64_t wrt_u64x2 __attribute__((vector_size(16)));
typedef int64_t wrt_s64x2 __attribute__((vector_size(16)));
typedef float wrt_f32x4 __attribute__((vector_size(16)));
typedef double wrt_f64x2 __attribute__((vector_size(16)));

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
/* Lane-wise operators on typed views: VT op VT, result reinterpreted. */
#define WRT_VOP2(name, VT, op)                                                 \
    static inline wrt_v128 name(wrt_v128 a, wrt_v128 b)                        \
    {                                                                          \
        return (wrt_v128)((VT)a op(VT) b);                                     \
    }
/* a where mask lanes are all ones, else b */
static inline wrt_v128
wrt_v128_blend(wrt_v128 mask, wrt_v128 a, wrt_v128 b)
{
    return (a & mask) | (b & ~mask);
}

#define WRT_CLAMP(v, lo, hi) ((v) < (lo) ? (lo) : (v) > (hi) ? (hi) : (v))

/* Integer lane families: wrapping ops on unsigned lanes, compares (lanes
 * of all ones or zero), min/max as a blend on the compare, shifts by the
 * count modulo the lane width. */
#define WRT_VINT(P, VS, VU, N, BITS)                                           \
    WRT_VOP2(wrt_##P##_add, VU, +)                                             \
    WRT_VOP2(wrt_##P##_sub, VU, -)                                             \
    WRT_VOP2(wrt_##P##_mul, VU, *)                                             \
    WRT_VOP2(wrt_##P##_eq, VS, ==)                                             \
    WRT_VOP2(wrt_##P##_ne, VS, !=)                                             \
    WRT_VOP2(wrt_##P##_lt_s, VS, <)                                            \
    WRT_VOP2(wrt_##P##_lt_u, VU, <)                                            \
    WRT_VOP2(wrt_##P##_gt_s, VS, >)                                            \
    WRT_VOP2(wrt_##P##_gt_u, VU, >)                                            \
    WRT_VOP2(wrt_##P##_le_s, VS, <=)                                           \
    WRT_VOP2(wrt_##P##_le_u, VU, <=)                                           \
    WRT_VOP2(wrt_##P##_ge_s, VS, >=)                                           \
    WRT_VOP2(wrt_##P##_ge_u, VU, >=)                                           \
    static inline wrt_v128 wrt_##P##_neg(wrt_v128 a)                           \
    {                                                                          \
        return (wrt_v128)((VU){ 0 } - (VU)a);                                  \
    }                                                                          \
    static inline wrt_v128 wrt_##P##_abs(wrt_v128 a)                           \
    {                                                                          \
        VU m = (VU)((VS)a >> (BITS - 1));                                      \
        return (wrt_v128)(((VU)a ^ m) - m);                                    \
    }                                                                          \
    static inline wrt_v128 wrt_##P##_shl(wrt_v128 a, uint32_t s)               \
    {                                                                          \
        return (wrt_v128)((VU)a << (int)(s & (BITS - 1)));                     \
    }                                                                          \
    static inline wrt_v128 wrt_##P##_shr_s(wrt_v128 a, uint32_t s)             \
    {                                                                          \
        return (wrt_v128)((VS)a >> (int)(s & (BITS - 1)));                     \
    }                                                                          \
    static inline wrt_v128 wrt_##P##_shr_u(wrt_v128 a, uint32_t s)             \
    {                                                                          \
        return (wrt_v128)((VU)a >> (int)(s & (BITS - 1)));                     \
    }                                                                          \
    static inline wrt_v128 wrt_##P##_min_s_g(wrt_v128 a, wrt_v128 b)           \
    {                                                                          \
        return wrt_v128_blend(wrt_##P##_lt_s(a, b), a, b);                     \
    }                                                                          \
    static inline wrt_v128 wrt_##P##_min_u_g(wrt_v128 a, wrt_v128 b)           \
    {                                                                          \
        return wrt_v128_blend(wrt_##P##_lt_u(a, b), a, b);                     \
    }                                                                          \
    static inline wrt_v128 wrt_##P##_max_s_g(wrt_v128 a, wrt_v128 b)           \
    {                                                                          \
        return wrt_v128_blend(wrt_##P##_gt_s(a, b), a, b);                     \
    }                                                                          \
    static inline wrt_v128 wrt_##P##_max_u_g(wrt_v128 a, wrt_v128 b)           \
    {                                                                          \
        return wrt_v128_blend(wrt_##P##_gt_u(a, b), a, b);                     \
    }                                                                          \
    static inline uint32_t wrt_##P##_all_true_g(wrt_v128 v)                    \
    {                                                                          \
        VU a = (VU)v;                                                          \
        for (int i = 0; i < N; i++)                                            \
            if (a[i] == 0)                                                     \
                return 0;                                                      \
        return 1;                                                              \
    }                                                                          \
    static inline uint32_t wrt_##P##_bitmask_g(wrt_v128 v)                     \
    {                                                                          \
        VU a = (VU)v;                                                          \
        uint32_t m = 0;                                                        \
        for (int i = 0; i < N; i++)                                            \
            m |= (uint32_t)(a[i] >> (BITS - 1)) << i;                          \
        return m;                                                              \
    }
WRT_VINT(i8x16, wrt_s8x16, wrt_u8x16, 16, 8)
WRT_VINT(i16x8, wrt_s16x8, wrt_u16x8, 8, 16)
WRT_VINT(i32x4, wrt_s32x4, wrt_u32x4, 4, 32)
WRT_VINT(i64x2, wrt_s64x2, wrt_u64x2, 2, 64)

/* Saturating add/sub, rounding average (8 and 16 bit lanes): lane loops,
 * the generic versions. */
#define WRT_VSATOPS(P, ST, UT, N, SMIN, SMAX, UMAX)                            \
    WRT_V2(                                                                    \
      wrt_##P##_add_sat_s_g, ST, ST, N, WRT_CLAMP((int32_t)x + y, SMIN, SMAX)) \
    WRT_V2(                                                                    \
      wrt_##P##_add_sat_u_g, UT, UT, N, WRT_CLAMP((int32_t)x + y, 0, UMAX))    \
    WRT_V2(                                                                    \
      wrt_##P##_sub_sat_s_g, ST, ST, N, WRT_CLAMP((int32_t)x - y, SMIN, SMAX)) \
    WRT_V2(                                                                    \
      wrt_##P##_sub_sat_u_g, UT, UT, N, WRT_CLAMP((int32_t)x - y, 0, UMAX))    \
    WRT_V2(wrt_##P##_avgr_u_g, UT, UT, N, ((uint32_t)x + y + 1) >> 1)
WRT_VSATOPS(i8x16, int8_t, uint8_t, 16, -128, 127, 255)
WRT_VSATOPS(i16x8, int16_t, uint16_t, 8, -32768, 32767, 65535)

WRT_V1(wrt_i8x16_popcnt, uint8_t, uint8_t, 16, __builtin_popcount(x))
WRT_V2(wrt_i16x8_q15mulr_sat_s,
       int16_t,
       int16_t,
       8,
       WRT_CLAMP(((int32_t)x * y + 0x4000) >> 15, -32768, 32767))

/* Float lanes: IEEE arithmetic and compares lane-wise; abs and neg on the
 * sign bit; pmin/pmax as the blends that define them. */
#define WRT_VFLT(P, VF, VU, T, N, S)                                           \
    WRT_VOP2(wrt_##P##_add, VF, +)                                             \
    WRT_VOP2(wrt_##P##_sub, VF, -)                                             \
    WRT_VOP2(wrt_##P##_mul, VF, *)                                             \
    WRT_VOP2(wrt_##P##_div, VF, /)                                             \
    WRT_VOP2(wrt_##P##_eq, VF, ==)                                             \
    WRT_VOP2(wrt_##P##_ne, VF, !=)                                             \
    WRT_VOP2(wrt_##P##_lt, VF, <)                                              \
    WRT_VOP2(wrt_##P##_gt, VF, >)                                              \
    WRT_VOP2(wrt_##P##_le, VF, <=)                                             \
    WRT_VOP2(wrt_##P##_ge, VF, >=)                                             \
    static inline wrt_v128 wrt_##P##_abs(wrt_v128 a)                           \
    {                                                                          \
        return (wrt_v128)((VU)a & (VU)(~(VU){ 0 } >> 1));                      \
    }                                                                          \
    static inline wrt_v128 wrt_##P##_neg(wrt_v128 a)                           \
    {                                                                          \
        return (wrt_v128)((VU)a ^ (VU)(~(~(VU){ 0 } >> 1)));                   \
    }                                                                          \
    /* pmin: b < a ? b : a; pmax: a < b ? b : a (NaN: a) */                    \
    static inline wrt_v128 wrt_##P##_pmin_g(wrt_v128 a, wrt_v128 b)            \
    {                                                                          \
        return wrt_v128_blend(wrt_##P##_lt(b, a), b, a);                       \
    }                                                                          \
    static inline wrt_v128 wrt_##P##_pmax_g(wrt_v128 a, wrt_v128 b)            \
    {                                                                          \
        return wrt_v128_blend(wrt_##P##_lt(a, b), b, a);                       \
    }                                                                          \
    WRT_V2(wrt_##P##_min_g, T, T, N, wrt_##S##_min(x, y))                      \
    WRT_V2(wrt_##P##_max_g, T, T, N, wrt_##S##_max(x, y))                      \
    WRT_V1(wrt_##P##_ceil, T, T, N, wrt_##S##_ceil(x))                         \
    WRT_V1(wrt_##P##_floor, T, T, N, wrt_##S##_floor(x))                       \
    WRT_V1(wrt_##P##_trunc, T, T, N, wrt_##S##_trunc(x))                       \
    WRT_V1(wrt_##P##_nearest, T, T, N, wrt_##S##_nearest(x))
WRT_VFLT(f32x4, wrt_f32x4, wrt_u32x4, float, 4, f32)
WRT_VFLT(f64x2, wrt_f64x2, wrt_u64x2, double, 2, f64)

/* sqrt rounds once in the lane's precision. */
WRT_V1(wrt_f64x2_sqrt_g, double, double, 2, __builtin_sqrt(x))
WRT_V1(wrt_f32x4_sqrtf_g, float, float, 4, __builtin_sqrtf(x))

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

/* Splats (a vector of one scalar). */
static inline wrt_v128
wrt_i8x16_splat(uint8_t x)
{
    return (wrt_v128)((wrt_u8x16){ 0 } + x);
}
static inline wrt_v128
wrt_i16x8_splat(uint16_t x)
{
    return (wrt_v128)((wrt_u16x8){ 0 } + x);
}
static inline wrt_v128
wrt_i32x4_splat(uint32_t x)
{
    return (wrt_v128)(wrt_u32x4){ x, x, x, x };
}
static inline wrt_v128
wrt_i64x2_splat(uint64_t x)
{
    return (wrt_v128){ x, x };
}
static inline wrt_v128
wrt_f32x4_splat(float x)
{
    return (wrt_v128)(wrt_f32x4){ x, x, x, x };
}
static inline wrt_v128
wrt_f64x2_splat(double x)
{
    return (wrt_v128)(wrt_f64x2){ x, x };
}

/* Shuffles: the generator writes WRT_SHUFFLE with the widest lanes that
 * express the pattern (64, 32, 16 or 8 bits) and constant lane numbers
 * (0..2N-1: a's lanes, then b's). */
#if defined(__clang__)
#define WRT_SHUFFLE(VT, a, b, ...)                                             \
    ((wrt_v128)__builtin_shufflevector((VT)(a), (VT)(b), __VA_ARGS__))
#else
#define WRT_SHUFFLE(VT, a, b, ...)                                             \
    ((wrt_v128)__builtin_shuffle((VT)(a), (VT)(b), (VT){ __VA_ARGS__ }))
#endif

/* Bytes k..k+15 of lo:hi (0 < k < 16, a constant). */
#if WRT_SSE2
#define WRT_ALIGNR(lo, hi, k)                                                  \
    ((wrt_v128)_mm_or_si128(_mm_srli_si128((__m128i)(lo), (k)),                \
                            _mm_slli_si128((__m128i)(hi), 16 - (k))))
#else
#define WRT_ALIGNR(lo, hi, k) wrt_alignr_g((lo), (hi), (k))
#endif
static inline wrt_v128
wrt_alignr_g(wrt_v128 lo, wrt_v128 hi, unsigned k)
{
    uint8_t ab[32], r[16];
    memcpy(ab, &lo, 16);
    memcpy(ab + 16, &hi, 16);
    memcpy(r, ab + k, 16);
    WRT_V_OUT(r);
}

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
/* Lanes (the lane number is a constant in generated code). */
#define WRT_LANE(P, T, VT)                                                     \
    static inline T wrt_##P##_get(wrt_v128 v, int i)                           \
    {                                                                          \
        return ((VT)v)[i];                                                     \
    }                                                                          \
    static inline wrt_v128 wrt_##P##_set(wrt_v128 v, int i, T x)               \
    {                                                                          \
        VT t = (VT)v;                                                          \
        t[i] = x;                                                              \
        return (wrt_v128)t;                                                    \
    }
WRT_LANE(u8, uint8_t, wrt_u8x16)
WRT_LANE(u16, uint16_t, wrt_u16x8)
WRT_LANE(u32, uint32_t, wrt_u32x4)
WRT_LANE(u64, uint64_t, wrt_u64x2)
WRT_LANE(f32, float, wrt_f32x4)
WRT_LANE(f64, double, wrt_f64x2)

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
WRT_NARROW(wrt_i8x16_narrow_i16x8_s_g, int16_t, int8_t, 8, -128, 127)
WRT_NARROW(wrt_i8x16_narrow_i16x8_u_g, int16_t, uint8_t, 8, 0, 255)
WRT_NARROW(wrt_i16x8_narrow_i32x4_s_g, int32_t, int16_t, 4, -32768, 32767)
WRT_NARROW(wrt_i16x8_narrow_i32x4_u, int32_t, uint16_t, 4, 0, 65535)

/* Widening: extend the low/high half, pairwise add (generic versions). */
#define WRT_WIDEN(P, NT, ST, WT, N)                                            \
    static inline wrt_v128 wrt_##P##_extend_low_##NT##_g(wrt_v128 va)          \
    {                                                                          \
        WRT_V_IN(ST, 2 * N, va, a);                                            \
        WT r[N];                                                               \
        for (int i = 0; i < N; i++)                                            \
            r[i] = (WT)a[i];                                                   \
        WRT_V_OUT(r);                                                          \
    }                                                                          \
    static inline wrt_v128 wrt_##P##_extend_high_##NT##_g(wrt_v128 va)         \
    {                                                                          \
        WRT_V_IN(ST, 2 * N, va, a);                                            \
        WT r[N];                                                               \
        for (int i = 0; i < N; i++)                                            \
            r[i] = (WT)a[N + i];                                               \
        WRT_V_OUT(r);                                                          \
    }                                                                          \
    static inline wrt_v128 wrt_##P##_extadd_##NT##_g(wrt_v128 va)              \
    {                                                                          \
        WRT_V_IN(ST, 2 * N, va, a);                                            \
        WT r[N];                                                               \
        for (int i = 0; i < N; i++)                                            \
            r[i] = (WT)((WT)a[2 * i] + (WT)a[2 * i + 1]);                      \
        WRT_V_OUT(r);                                                          \
    }
WRT_WIDEN(i16x8, s, int8_t, int16_t, 8)
WRT_WIDEN(i16x8, u, uint8_t, uint16_t, 8)
WRT_WIDEN(i32x4, s, int16_t, int32_t, 4)
WRT_WIDEN(i32x4, u, uint16_t, uint32_t, 4)
WRT_WIDEN(i64x2, s, int32_t, int64_t, 2)
WRT_WIDEN(i64x2, u, uint32_t, uint64_t, 2)

static inline wrt_v128
wrt_i32x4_dot_i16x8_s_g(wrt_v128 va, wrt_v128 vb)
{
    WRT_V_IN(int16_t, 8, va, a);
    WRT_V_IN(int16_t, 8, vb, b);
    uint32_t r[4];
    for (int i = 0; i < 4; i++)
        r[i] = (uint32_t)((int32_t)a[2 * i] * b[2 * i]) +
               (uint32_t)((int32_t)a[2 * i + 1] * b[2 * i + 1]);
    WRT_V_OUT(r);
}

/* Conversions (generic versions and the rare ones). */
WRT_V1(wrt_i32x4_trunc_sat_f32x4_s_g, float, uint32_t, 4, wrt_sat_s32_f32(x))
WRT_V1(wrt_i32x4_trunc_sat_f32x4_u, float, uint32_t, 4, wrt_sat_u32_f32(x))
WRT_V1(wrt_f32x4_convert_i32x4_s_g, int32_t, float, 4, (float)x)
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
wrt_f64x2_convert_low_i32x4_s_g(wrt_v128 va)
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

/* ---- the operations by name: SSE2 where it has the exact instruction
 * or a short exact sequence, else the generic versions above ---------- */

#define WRT_G1(name)                                                           \
    static inline wrt_v128 name(wrt_v128 a)                                    \
    {                                                                          \
        return name##_g(a);                                                    \
    }
#define WRT_G2(name)                                                           \
    static inline wrt_v128 name(wrt_v128 a, wrt_v128 b)                        \
    {                                                                          \
        return name##_g(a, b);                                                 \
    }
#define WRT_GR(name)                                                           \
    static inline uint32_t name(wrt_v128 a)                                    \
    {                                                                          \
        return name##_g(a);                                                    \
    }

/* Always generic: no SSE2 instruction. */
WRT_G2(wrt_i8x16_min_s)
WRT_G2(wrt_i8x16_max_s)
WRT_G2(wrt_i16x8_min_u)
WRT_G2(wrt_i16x8_max_u)
WRT_G2(wrt_i32x4_min_s)
WRT_G2(wrt_i32x4_min_u)
WRT_G2(wrt_i32x4_max_s)
WRT_G2(wrt_i32x4_max_u)
WRT_GR(wrt_i64x2_all_true)

#if WRT_SSE2
#define WRT_MI(v) ((__m128i)(v))
#define WRT_MD(v) ((__m128d)(v))
#define WRT_MS(v) ((__m128)(v))
#define WRT_X1(name, expr)                                                     \
    static inline wrt_v128 name(wrt_v128 a)                                    \
    {                                                                          \
        return (wrt_v128)(expr);                                               \
    }
#define WRT_X2(name, expr)                                                     \
    static inline wrt_v128 name(wrt_v128 a, wrt_v128 b)                        \
    {                                                                          \
        return (wrt_v128)(expr);                                               \
    }
#define WRT_XR(name, expr)                                                     \
    static inline uint32_t name(wrt_v128 a)                                    \
    {                                                                          \
        return (uint32_t)(expr);                                               \
    }
#define WRT_Z _mm_setzero_si128()

WRT_X2(wrt_i8x16_min_u, _mm_min_epu8(WRT_MI(a), WRT_MI(b)))
WRT_X2(wrt_i8x16_max_u, _mm_max_epu8(WRT_MI(a), WRT_MI(b)))
WRT_X2(wrt_i16x8_min_s, _mm_min_epi16(WRT_MI(a), WRT_MI(b)))
WRT_X2(wrt_i16x8_max_s, _mm_max_epi16(WRT_MI(a), WRT_MI(b)))

WRT_X2(wrt_i8x16_add_sat_s, _mm_adds_epi8(WRT_MI(a), WRT_MI(b)))
WRT_X2(wrt_i8x16_add_sat_u, _mm_adds_epu8(WRT_MI(a), WRT_MI(b)))
WRT_X2(wrt_i8x16_sub_sat_s, _mm_subs_epi8(WRT_MI(a), WRT_MI(b)))
WRT_X2(wrt_i8x16_sub_sat_u, _mm_subs_epu8(WRT_MI(a), WRT_MI(b)))
WRT_X2(wrt_i8x16_avgr_u, _mm_avg_epu8(WRT_MI(a), WRT_MI(b)))
WRT_X2(wrt_i16x8_add_sat_s, _mm_adds_epi16(WRT_MI(a), WRT_MI(b)))
WRT_X2(wrt_i16x8_add_sat_u, _mm_adds_epu16(WRT_MI(a), WRT_MI(b)))
WRT_X2(wrt_i16x8_sub_sat_s, _mm_subs_epi16(WRT_MI(a), WRT_MI(b)))
WRT_X2(wrt_i16x8_sub_sat_u, _mm_subs_epu16(WRT_MI(a), WRT_MI(b)))
WRT_X2(wrt_i16x8_avgr_u, _mm_avg_epu16(WRT_MI(a), WRT_MI(b)))

WRT_XR(wrt_i8x16_all_true,
       _mm_movemask_epi8(_mm_cmpeq_epi8(WRT_MI(a), WRT_Z)) == 0)
WRT_XR(wrt_i16x8_all_true,
       _mm_movemask_epi8(_mm_cmpeq_epi16(WRT_MI(a), WRT_Z)) == 0)
WRT_XR(wrt_i32x4_all_true,
       _mm_movemask_epi8(_mm_cmpeq_epi32(WRT_MI(a), WRT_Z)) == 0)
WRT_XR(wrt_i8x16_bitmask, _mm_movemask_epi8(WRT_MI(a)))
/* signed saturation keeps each lane's sign */
WRT_XR(wrt_i16x8_bitmask, _mm_movemask_epi8(_mm_packs_epi16(WRT_MI(a), WRT_Z)))
WRT_XR(wrt_i32x4_bitmask, _mm_movemask_ps(WRT_MS(a)))
WRT_XR(wrt_i64x2_bitmask, _mm_movemask_pd(WRT_MD(a)))

WRT_X2(wrt_i8x16_narrow_i16x8_s, _mm_packs_epi16(WRT_MI(a), WRT_MI(b)))
WRT_X2(wrt_i8x16_narrow_i16x8_u, _mm_packus_epi16(WRT_MI(a), WRT_MI(b)))
WRT_X2(wrt_i16x8_narrow_i32x4_s, _mm_packs_epi32(WRT_MI(a), WRT_MI(b)))

/* Sign extension: the lane duplicated into both halves of the wider lane,
 * then an arithmetic shift; zero extension: interleaved with zeros. */
WRT_X1(wrt_i16x8_extend_low_s,
       _mm_srai_epi16(_mm_unpacklo_epi8(WRT_MI(a), WRT_MI(a)), 8))
WRT_X1(wrt_i16x8_extend_high_s,
       _mm_srai_epi16(_mm_unpackhi_epi8(WRT_MI(a), WRT_MI(a)), 8))
WRT_X1(wrt_i16x8_extend_low_u, _mm_unpacklo_epi8(WRT_MI(a), WRT_Z))
WRT_X1(wrt_i16x8_extend_high_u, _mm_unpackhi_epi8(WRT_MI(a), WRT_Z))
WRT_X1(wrt_i32x4_extend_low_s,
       _mm_srai_epi32(_mm_unpacklo_epi16(WRT_MI(a), WRT_MI(a)), 16))
WRT_X1(wrt_i32x4_extend_high_s,
       _mm_srai_epi32(_mm_unpackhi_epi16(WRT_MI(a), WRT_MI(a)), 16))
WRT_X1(wrt_i32x4_extend_low_u, _mm_unpacklo_epi16(WRT_MI(a), WRT_Z))
WRT_X1(wrt_i32x4_extend_high_u, _mm_unpackhi_epi16(WRT_MI(a), WRT_Z))
WRT_X1(wrt_i64x2_extend_low_s,
       _mm_unpacklo_epi32(WRT_MI(a), _mm_srai_epi32(WRT_MI(a), 31)))
WRT_X1(wrt_i64x2_extend_high_s,
       _mm_unpackhi_epi32(WRT_MI(a), _mm_srai_epi32(WRT_MI(a), 31)))
WRT_X1(wrt_i64x2_extend_low_u, _mm_unpacklo_epi32(WRT_MI(a), WRT_Z))
WRT_X1(wrt_i64x2_extend_high_u, _mm_unpackhi_epi32(WRT_MI(a), WRT_Z))

/* Pairwise sums: even lanes plus odd lanes, each widened. */
WRT_X1(wrt_i16x8_extadd_s,
       _mm_add_epi16(_mm_srai_epi16(_mm_slli_epi16(WRT_MI(a), 8), 8),
                     _mm_srai_epi16(WRT_MI(a), 8)))
WRT_X1(wrt_i16x8_extadd_u,
       _mm_add_epi16(_mm_and_si128(WRT_MI(a), _mm_set1_epi16(0xff)),
                     _mm_srli_epi16(WRT_MI(a), 8)))
WRT_X1(wrt_i32x4_extadd_s, _mm_madd_epi16(WRT_MI(a), _mm_set1_epi16(1)))
WRT_X1(wrt_i32x4_extadd_u,
       _mm_add_epi32(_mm_and_si128(WRT_MI(a), _mm_set1_epi32(0xffff)),
                     _mm_srli_epi32(WRT_MI(a), 16)))

/* pmaddwd is the dot product, wrapping included */
WRT_X2(wrt_i32x4_dot_i16x8_s, _mm_madd_epi16(WRT_MI(a), WRT_MI(b)))

/* 16 x 16 -> 32: low and high halves of each product, interleaved. */
WRT_X2(wrt_i32x4_extmul_low_s,
       _mm_unpacklo_epi16(_mm_mullo_epi16(WRT_MI(a), WRT_MI(b)),
                          _mm_mulhi_epi16(WRT_MI(a), WRT_MI(b))))
WRT_X2(wrt_i32x4_extmul_high_s,
       _mm_unpackhi_epi16(_mm_mullo_epi16(WRT_MI(a), WRT_MI(b)),
                          _mm_mulhi_epi16(WRT_MI(a), WRT_MI(b))))
WRT_X2(wrt_i32x4_extmul_low_u,
       _mm_unpacklo_epi16(_mm_mullo_epi16(WRT_MI(a), WRT_MI(b)),
                          _mm_mulhi_epu16(WRT_MI(a), WRT_MI(b))))
WRT_X2(wrt_i32x4_extmul_high_u,
       _mm_unpackhi_epi16(_mm_mullo_epi16(WRT_MI(a), WRT_MI(b)),
                          _mm_mulhi_epu16(WRT_MI(a), WRT_MI(b))))
/* pmuludq multiplies lanes 0 and 2 */
WRT_X2(wrt_i64x2_extmul_low_u,
       _mm_mul_epu32(_mm_unpacklo_epi32(WRT_MI(a), WRT_MI(a)),
                     _mm_unpacklo_epi32(WRT_MI(b), WRT_MI(b))))
WRT_X2(wrt_i64x2_extmul_high_u,
       _mm_mul_epu32(_mm_unpackhi_epi32(WRT_MI(a), WRT_MI(a)),
                     _mm_unpackhi_epi32(WRT_MI(b), WRT_MI(b))))

/* Float min/max: minpd/maxpd return their second operand when the lanes
 * are equal or unordered; both orders OR-ed (min) or AND-ed (max) give
 * -0 < +0, and unordered lanes take a + b, which is NaN and quiet, as the
 * scalar wrt_f64_min does. */
static inline wrt_v128
wrt_f64x2_min(wrt_v128 a, wrt_v128 b)
{
    __m128d x = WRT_MD(a), y = WRT_MD(b);
    __m128d r = _mm_or_pd(_mm_min_pd(x, y), _mm_min_pd(y, x));
    __m128d n = _mm_cmpunord_pd(x, y);
    return (wrt_v128)_mm_or_pd(_mm_and_pd(n, _mm_add_pd(x, y)),
                               _mm_andnot_pd(n, r));
}
static inline wrt_v128
wrt_f64x2_max(wrt_v128 a, wrt_v128 b)
{
    __m128d x = WRT_MD(a), y = WRT_MD(b);
    __m128d r = _mm_and_pd(_mm_max_pd(x, y), _mm_max_pd(y, x));
    __m128d n = _mm_cmpunord_pd(x, y);
    return (wrt_v128)_mm_or_pd(_mm_and_pd(n, _mm_add_pd(x, y)),
                               _mm_andnot_pd(n, r));
}
static inline wrt_v128
wrt_f32x4_min(wrt_v128 a, wrt_v128 b)
{
    __m128 x = WRT_MS(a), y = WRT_MS(b);
    __m128 r = _mm_or_ps(_mm_min_ps(x, y), _mm_min_ps(y, x));
    __m128 n = _mm_cmpunord_ps(x, y);
    return (wrt_v128)_mm_or_ps(_mm_and_ps(n, _mm_add_ps(x, y)),
                               _mm_andnot_ps(n, r));
}
static inline wrt_v128
wrt_f32x4_max(wrt_v128 a, wrt_v128 b)
{
    __m128 x = WRT_MS(a), y = WRT_MS(b);
    __m128 r = _mm_and_ps(_mm_max_ps(x, y), _mm_max_ps(y, x));
    __m128 n = _mm_cmpunord_ps(x, y);
    return (wrt_v128)_mm_or_ps(_mm_and_ps(n, _mm_add_ps(x, y)),
                               _mm_andnot_ps(n, r));
}
/* minpd(b, a) is b < a ? b : a, exactly pmin; likewise pmax */
WRT_X2(wrt_f64x2_pmin, _mm_min_pd(WRT_MD(b), WRT_MD(a)))
WRT_X2(wrt_f64x2_pmax, _mm_max_pd(WRT_MD(b), WRT_MD(a)))
WRT_X2(wrt_f32x4_pmin, _mm_min_ps(WRT_MS(b), WRT_MS(a)))
WRT_X2(wrt_f32x4_pmax, _mm_max_ps(WRT_MS(b), WRT_MS(a)))
WRT_X1(wrt_f64x2_sqrt, _mm_sqrt_pd(WRT_MD(a)))
WRT_X1(wrt_f32x4_sqrtf, _mm_sqrt_ps(WRT_MS(a)))

WRT_X1(wrt_f32x4_convert_i32x4_s, _mm_cvtepi32_ps(WRT_MI(a)))
WRT_X1(wrt_f64x2_convert_low_i32x4_s, _mm_cvtepi32_pd(WRT_MI(a)))
/* cvttps2dq gives 0x80000000 for NaN and out of range: flip it to
 * 0x7fffffff where the lane is >= 2^31, clear it where NaN. */
static inline wrt_v128
wrt_i32x4_trunc_sat_f32x4_s(wrt_v128 a)
{
    __m128 x = WRT_MS(a);
    __m128i r = _mm_cvttps_epi32(x);
    __m128i hi = (__m128i)_mm_cmpge_ps(x, _mm_set1_ps(2147483648.0f));
    __m128i ord = (__m128i)_mm_cmpord_ps(x, x);
    return (wrt_v128)_mm_and_si128(_mm_xor_si128(r, hi), ord);
}
#else
WRT_G2(wrt_i8x16_min_u)
WRT_G2(wrt_i8x16_max_u)
WRT_G2(wrt_i16x8_min_s)
WRT_G2(wrt_i16x8_max_s)
WRT_G2(wrt_i8x16_add_sat_s)
WRT_G2(wrt_i8x16_add_sat_u)
WRT_G2(wrt_i8x16_sub_sat_s)
WRT_G2(wrt_i8x16_sub_sat_u)
WRT_G2(wrt_i8x16_avgr_u)
WRT_G2(wrt_i16x8_add_sat_s)
WRT_G2(wrt_i16x8_add_sat_u)
WRT_G2(wrt_i16x8_sub_sat_s)
WRT_G2(wrt_i16x8_sub_sat_u)
WRT_G2(wrt_i16x8_avgr_u)
WRT_GR(wrt_i8x16_all_true)
WRT_GR(wrt_i16x8_all_true)
WRT_GR(wrt_i32x4_all_true)
WRT_GR(wrt_i8x16_bitmask)
WRT_GR(wrt_i16x8_bitmask)
WRT_GR(wrt_i32x4_bitmask)
WRT_GR(wrt_i64x2_bitmask)
WRT_G2(wrt_i8x16_narrow_i16x8_s)
WRT_G2(wrt_i8x16_narrow_i16x8_u)
WRT_G2(wrt_i16x8_narrow_i32x4_s)
WRT_G1(wrt_i16x8_extend_low_s)
WRT_G1(wrt_i16x8_extend_high_s)
WRT_G1(wrt_i16x8_extend_low_u)
WRT_G1(wrt_i16x8_extend_high_u)
WRT_G1(wrt_i32x4_extend_low_s)
WRT_G1(wrt_i32x4_extend_high_s)
WRT_G1(wrt_i32x4_extend_low_u)
WRT_G1(wrt_i32x4_extend_high_u)
WRT_G1(wrt_i64x2_extend_low_s)
WRT_G1(wrt_i64x2_extend_high_s)
WRT_G1(wrt_i64x2_extend_low_u)
WRT_G1(wrt_i64x2_extend_high_u)
WRT_G1(wrt_i16x8_extadd_s)
WRT_G1(wrt_i16x8_extadd_u)
WRT_G1(wrt_i32x4_extadd_s)
WRT_G1(wrt_i32x4_extadd_u)
WRT_G2(wrt_i32x4_dot_i16x8_s)
WRT_G2(wrt_f64x2_min)
WRT_G2(wrt_f64x2_max)
WRT_G2(wrt_f32x4_min)
WRT_G2(wrt_f32x4_max)
WRT_G2(wrt_f64x2_pmin)
WRT_G2(wrt_f64x2_pmax)
WRT_G2(wrt_f32x4_pmin)
WRT_G2(wrt_f32x4_pmax)
WRT_G1(wrt_f64x2_sqrt)
WRT_G1(wrt_f32x4_sqrtf)
WRT_G1(wrt_f32x4_convert_i32x4_s)
WRT_G1(wrt_f64x2_convert_low_i32x4_s)
WRT_G1(wrt_i32x4_trunc_sat_f32x4_s)
#endif

/* Extended multiplies as widen-then-multiply where not above: the wide
 * products never overflow, so the wrapping multiply is exact. */
#define WRT_EXTMUL(P, H, NT)                                                   \
    static inline wrt_v128 wrt_##P##_extmul_##H##_##NT(wrt_v128 a, wrt_v128 b) \
    {                                                                          \
        return wrt_##P##_mul(wrt_##P##_extend_##H##_##NT(a),                   \
                             wrt_##P##_extend_##H##_##NT(b));                  \
    }
WRT_EXTMUL(i16x8, low, s)
WRT_EXTMUL(i16x8, high, s)
WRT_EXTMUL(i16x8, low, u)
WRT_EXTMUL(i16x8, high, u)
WRT_EXTMUL(i64x2, low, s)
WRT_EXTMUL(i64x2, high, s)
#if !WRT_SSE2
WRT_EXTMUL(i32x4, low, s)
WRT_EXTMUL(i32x4, high, s)
WRT_EXTMUL(i32x4, low, u)
WRT_EXTMUL(i32x4, high, u)
WRT_EXTMUL(i64x2, low, u)
WRT_EXTMUL(i64x2, high, u)
#endif

/* Memory: loads with extension, splats, zero-extended and lane loads. A
 * load whose value is never used must still fault on a guard page: wrt.h's
 * WRT_FORCE_READ_* keep it where wrt.h has them. */
#ifndef WRT_FORCE_READ_FP
#define WRT_FORCE_READ_FP(v) ((void)0)
#endif
#ifndef WRT_FORCE_READ_INT
#define WRT_FORCE_READ_INT(v) ((void)0)
#endif
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
/* 8 bytes into the low half, then the widening of that half. */
#define WRT_LDEXT(name, widen)                                                 \
    static inline wrt_v128 name(                                               \
      const wrt_memory* m, uint8_t* b, uint64_t ms, uint64_t ea)               \
    {                                                                          \
        WRT_CHECK(m, ms, ea, 8);                                               \
        uint64_t lo;                                                           \
        memcpy(&lo, b + ea, 8);                                                \
        WRT_FORCE_READ_INT(lo);                                                \
        return widen((wrt_v128){ lo, 0 });                                     \
    }
WRT_LDEXT(wrt_v128_load8x8_s, wrt_i16x8_extend_low_s)
WRT_LDEXT(wrt_v128_load8x8_u, wrt_i16x8_extend_low_u)
WRT_LDEXT(wrt_v128_load16x4_s, wrt_i32x4_extend_low_s)
WRT_LDEXT(wrt_v128_load16x4_u, wrt_i32x4_extend_low_u)
WRT_LDEXT(wrt_v128_load32x2_s, wrt_i64x2_extend_low_s)
WRT_LDEXT(wrt_v128_load32x2_u, wrt_i64x2_extend_low_u)

#endif
