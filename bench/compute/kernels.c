/* SPDX-License-Identifier: Apache-2.0 */
/* Compute kernels for bench_compute: built natively (gcc) and as a Granary
 * guest (granary-cc, reactor exporting run_kernel); both builds must return
 * the same checksums. Inputs come from a fixed PRNG and floating point
 * uses only IEEE basic operations and sqrt, so results are bit-identical. */
#include <stdint.h>
#include <string.h>

#include "kernels.h"

#if defined(__wasm__)
#define KERNEL_EXPORT(name) __attribute__((export_name(name)))
#else
#define KERNEL_EXPORT(name)
#endif

/* ---- shared helpers ---------------------------------------------------- */

static uint64_t
rng_next(uint64_t* s)
{
    /* xorshift64* */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* A double in [0, 1) from the top 53 bits. */
static double
rng_unit(uint64_t* s)
{
    return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

static uint32_t
mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return (uint32_t)h;
}

static uint32_t
fold_double(uint32_t acc, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return mix64(bits ^ ((uint64_t)acc << 32 | acc));
}

/* ---- 0: dense matmul, i-k-j order -------------------------------------- */

#define MM_N 384
/* One object with padding so that the distance between b and c is never a
 * multiple of 4 KiB: otherwise x86 "4K aliasing" between the loads of b and
 * the stores to c makes the native time depend on how the linker happened
 * to place the arrays (observed: 2x swings between builds). */
static struct
{
    double a[MM_N * MM_N];
    double b[MM_N * MM_N];
    double pad[64];
    double c[MM_N * MM_N];
} mm;
#define mm_a mm.a
#define mm_b mm.b
#define mm_c mm.c

static void
matmul_ikj(double* restrict c,
           const double* restrict a,
           const double* restrict b)
{
    for (int i = 0; i < MM_N; i++) {
        double* ci = &c[i * MM_N];
        for (int k = 0; k < MM_N; k++) {
            double aik = a[i * MM_N + k];
            const double* bk = &b[k * MM_N];
            for (int j = 0; j < MM_N; j++)
                ci[j] += aik * bk[j];
        }
    }
}

static uint32_t
k_matmul(void)
{
    uint64_t s = 0x1234567ULL;
    for (int i = 0; i < MM_N * MM_N; i++) {
        mm_a[i] = rng_unit(&s) - 0.5;
        mm_b[i] = rng_unit(&s) - 0.5;
        mm_c[i] = 0.0;
    }
    matmul_ikj(mm_c, mm_a, mm_b);
    uint32_t acc = 0;
    for (int i = 0; i < MM_N * MM_N; i += 97)
        acc = fold_double(acc, mm_c[i]);
    double tr = 0.0;
    for (int i = 0; i < MM_N; i++)
        tr += mm_c[i * MM_N + i];
    return fold_double(acc, tr);
}

/* ---- 1: 2D Jacobi heat stencil (5 points, fixed boundary) -------------- */

#define ST_N 512
#define ST_ITERS 60
/* padded for the same reason as the matmul arrays */
static struct
{
    double u[ST_N * ST_N];
    double pad[64];
    double v[ST_N * ST_N];
} st;
#define st_u st.u
#define st_v st.v

static void
jacobi_sweep(double* restrict v, const double* restrict u)
{
    for (int i = 1; i < ST_N - 1; i++) {
        const double* up = &u[(i - 1) * ST_N];
        const double* mid = &u[i * ST_N];
        const double* dn = &u[(i + 1) * ST_N];
        double* out = &v[i * ST_N];
        for (int j = 1; j < ST_N - 1; j++)
            out[j] = 0.25 * (up[j] + dn[j] + mid[j - 1] + mid[j + 1]);
    }
}

static uint32_t
k_stencil(void)
{
    uint64_t s = 0xabcdefULL;
    for (int i = 0; i < ST_N * ST_N; i++)
        st_u[i] = st_v[i] = 0.0;
    /* hot left edge, a few random interior sources */
    for (int i = 0; i < ST_N; i++)
        st_u[i * ST_N] = st_v[i * ST_N] = 100.0;
    for (int k = 0; k < 64; k++) {
        int i = 1 + (int)(rng_next(&s) % (ST_N - 2));
        int j = 1 + (int)(rng_next(&s) % (ST_N - 2));
        st_u[i * ST_N + j] = 50.0;
    }
    double* u = st_u;
    double* v = st_v;
    for (int it = 0; it < ST_ITERS; it++) {
        jacobi_sweep(v, u);
        double* t = u;
        u = v;
        v = t;
    }
    uint32_t acc = 0;
    double sum = 0.0;
    for (int i = 0; i < ST_N * ST_N; i++)
        sum += u[i];
    for (int i = 0; i < ST_N * ST_N; i += 131)
        acc = fold_double(acc, u[i]);
    return fold_double(acc, sum);
}

/* ---- 2: iterative radix-2 complex FFT ---------------------------------- */

#define FFT_LOG 16
#define FFT_N (1 << FFT_LOG)
#define FFT_ROUNDS 4
static double fft_re[FFT_N], fft_im[FFT_N];
static double tw_re[FFT_N / 2], tw_im[FFT_N / 2];

/* IEEE sqrt is correctly rounded on both sides (SSE2 sqrtsd, wasm
 * f64.sqrt), so it is safe for bit-identical results. */
static double
ieee_sqrt(double x)
{
    return __builtin_sqrt(x);
}

/* Twiddles w^k = exp(-2*pi*i*k/N) without libm sin/cos (whose last bits
 * differ between glibc and wasi-libc): cos/sin of pi/2^m by half-angle
 * formulas, then powers by repeated multiplication, re-anchored at every
 * power of two index to bound the error growth. */
static void
fft_twiddles(void)
{
    double c[FFT_LOG + 1], sn[FFT_LOG + 1];
    /* angle 2*pi/2^m for m = 0..FFT_LOG */
    c[0] = 1.0;
    sn[0] = 0.0;
    c[1] = -1.0;
    sn[1] = 0.0;
    c[2] = 0.0;
    sn[2] = 1.0;
    for (int m = 3; m <= FFT_LOG; m++) {
        c[m] = ieee_sqrt((1.0 + c[m - 1]) * 0.5);
        sn[m] = sn[m - 1] / (2.0 * c[m]);
    }
    tw_re[0] = 1.0;
    tw_im[0] = 0.0;
    for (int k = 1; k < FFT_N / 2; k++) {
        int top = 31 - __builtin_clz((unsigned)k); /* k = 2^top + rest */
        if (k == 1 << top) {
            /* exp(-2*pi*i*2^top/N) = angle 2*pi/2^(FFT_LOG-top) */
            tw_re[k] = c[FFT_LOG - top];
            tw_im[k] = -sn[FFT_LOG - top];
        } else {
            int r = k - (1 << top);
            double ar = tw_re[1 << top], ai = tw_im[1 << top];
            tw_re[k] = ar * tw_re[r] - ai * tw_im[r];
            tw_im[k] = ar * tw_im[r] + ai * tw_re[r];
        }
    }
}

/* In place; sign = -1 forward, +1 inverse (unscaled). */
static void
fft_run(double* re, double* im, int sign)
{
    for (uint32_t i = 1, j = 0; i < FFT_N; i++) {
        uint32_t bit = FFT_N >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j ^= bit;
        if (i < j) {
            double t = re[i];
            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
    }
    for (uint32_t len = 2; len <= FFT_N; len <<= 1) {
        uint32_t half = len >> 1;
        uint32_t step = FFT_N / len;
        for (uint32_t i = 0; i < FFT_N; i += len) {
            for (uint32_t k = 0; k < half; k++) {
                double wr = tw_re[k * step];
                double wi = sign < 0 ? tw_im[k * step] : -tw_im[k * step];
                uint32_t a = i + k, b = a + half;
                double xr = re[b] * wr - im[b] * wi;
                double xi = re[b] * wi + im[b] * wr;
                re[b] = re[a] - xr;
                im[b] = im[a] - xi;
                re[a] += xr;
                im[a] += xi;
            }
        }
    }
}

static uint32_t
k_fft(void)
{
    uint64_t s = 0x5eed5ULL;
    fft_twiddles();
    for (int i = 0; i < FFT_N; i++) {
        fft_re[i] = rng_unit(&s) - 0.5;
        fft_im[i] = rng_unit(&s) - 0.5;
    }
    uint32_t acc = 0;
    for (int r = 0; r < FFT_ROUNDS; r++) {
        fft_run(fft_re, fft_im, -1);
        acc = fold_double(acc, fft_re[r + 1]);
        acc = fold_double(acc, fft_im[FFT_N - 1 - r]);
        fft_run(fft_re, fft_im, +1);
        double scale = 1.0 / FFT_N;
        for (int i = 0; i < FFT_N; i++) {
            fft_re[i] *= scale;
            fft_im[i] *= scale;
        }
    }
    double sum = 0.0;
    for (int i = 0; i < FFT_N; i++)
        sum += fft_re[i] - fft_im[i];
    return fold_double(acc, sum);
}

/* ---- 3: integer hashing: FNV-1a bytes + multiply-xorshift words -------- */

#define HS_BYTES (1u << 20)
#define HS_PASSES 24
static uint64_t hs_buf[HS_BYTES / 8];

static uint32_t
k_hash(void)
{
    uint64_t s = 0xfeedULL;
    for (uint32_t i = 0; i < HS_BYTES / 8; i++)
        hs_buf[i] = rng_next(&s);
    const uint8_t* bytes = (const uint8_t*)hs_buf;
    uint32_t acc = 0;
    for (int p = 0; p < HS_PASSES; p++) {
        uint32_t fnv = 2166136261u ^ (uint32_t)p;
        for (uint32_t i = 0; i < HS_BYTES; i += 4) {
            fnv = (fnv ^ bytes[i]) * 16777619u;
            fnv = (fnv ^ bytes[i + 3]) * 16777619u;
        }
        uint64_t h = 0x9E3779B97F4A7C15ULL * (uint64_t)(p + 1);
        for (uint32_t i = 0; i < HS_BYTES / 8; i++) {
            h ^= hs_buf[i];
            h *= 0xbf58476d1ce4e5b9ULL;
            h ^= h >> 31;
        }
        /* feed the result back so passes differ */
        hs_buf[p] ^= h;
        acc = mix64(((uint64_t)fnv << 32) ^ h ^ acc);
    }
    return acc;
}

/* ---- 4: quicksort of 1M u32 ------------------------------------------- */

#define SO_N (1u << 20)
static uint32_t so_a[SO_N];

static void
insertion_sort(uint32_t* a, int32_t n)
{
    for (int32_t i = 1; i < n; i++) {
        uint32_t v = a[i];
        int32_t j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static void
quicksort(uint32_t* a, int32_t n)
{
    /* recurse on the smaller side, loop on the larger: depth <= log2 n */
    while (n > 24) {
        uint32_t x = a[0], y = a[n / 2], z = a[n - 1];
        uint32_t pivot =
          x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        int32_t i = -1, j = n;
        for (;;) {
            do
                i++;
            while (a[i] < pivot);
            do
                j--;
            while (a[j] > pivot);
            if (i >= j)
                break;
            uint32_t t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        int32_t left = j + 1;
        if (left < n - left) {
            quicksort(a, left);
            a += left;
            n -= left;
        } else {
            quicksort(a + left, n - left);
            n = left;
        }
    }
    insertion_sort(a, n);
}

static uint32_t
k_sort(void)
{
    uint64_t s = 0x50e7ULL;
    for (uint32_t i = 0; i < SO_N; i++)
        so_a[i] = (uint32_t)(rng_next(&s) >> 32);
    quicksort(so_a, (int32_t)SO_N);
    uint32_t acc = 0;
    for (uint32_t i = 1; i < SO_N; i++)
        if (so_a[i - 1] > so_a[i])
            return 0xdeadu; /* not sorted */
    for (uint32_t i = 0; i < SO_N; i += 1021)
        acc = mix64(((uint64_t)acc << 32) ^ so_a[i]);
    return acc;
}

/* ---- entry ------------------------------------------------------------- */

static const char* const names[KERNEL_COUNT] = {
    "matmul", "stencil", "fft", "hash", "sort",
};

const char*
kernel_name(int which)
{
    return which >= 0 && which < KERNEL_COUNT ? names[which] : "?";
}

KERNEL_EXPORT("run_kernel")
int
run_kernel(int which, int reps)
{
    uint32_t acc = 0;
    for (int r = 0; r < reps; r++) {
        uint32_t v;
        switch (which) {
            case KERNEL_MATMUL:
                v = k_matmul();
                break;
            case KERNEL_STENCIL:
                v = k_stencil();
                break;
            case KERNEL_FFT:
                v = k_fft();
                break;
            case KERNEL_HASH:
                v = k_hash();
                break;
            case KERNEL_SORT:
                v = k_sort();
                break;
            default:
                return -1;
        }
        acc = acc * 31u + v;
    }
    /* non-negative so that -1 stays the error value */
    return (int)(acc & 0x7fffffffu);
}
