/* SPDX-License-Identifier: Apache-2.0 */
/* OpenMP bench kernels, one source for every side (gcc/libgomp,
 * clang/libomp, Granary: granary-cc -fopenmp): `omp_bench THREADS` runs
 * dgemm, a 2-D stencil, a reduction-heavy and a task-heavy kernel with
 * THREADS threads, then measures the overhead of parallel, barrier, for,
 * reduction and task (EPCC-style: many repetitions of the bare construct).
 * Prints "K <kernel> <seconds> <checksum>" (best of K_REPS) and
 * "O <construct> <microseconds>" (best of O_REPS) lines, then "verified".
 * Kernels of a few milliseconds are noisy on a shared machine: the best of
 * more repetitions (the same work on every side) keeps them stable.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define DGEMM_N 320
#define ST_N 768
#define ST_ITERS 40
#define RED_N 20000
#define RED_REPS 1500
#define FIB_N 27
#define FIB_CUTOFF 9
#define K_REPS 7
#define O_REPS 9

static double* A;
static double* B;
static double* C;

static double
now(void)
{
    return omp_get_wtime();
}

static double
k_dgemm(void)
{
    int n = DGEMM_N;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++)
            C[i * n + j] = 0;
        for (int k = 0; k < n; k++) {
            double a = A[i * n + k];
            for (int j = 0; j < n; j++)
                C[i * n + j] += a * B[k * n + j];
        }
    }
    double s = 0;
    for (int i = 0; i < n * n; i += 97)
        s += C[i];
    return s;
}

static double
k_stencil(void)
{
    int n = ST_N;
    double* u = A;
    double* v = B;
    for (int i = 0; i < n * n; i++)
        u[i] = v[i] = (i % 17) * 0.25;
    for (int it = 0; it < ST_ITERS; it++) {
#pragma omp parallel for schedule(static)
        for (int i = 1; i < n - 1; i++)
            for (int j = 1; j < n - 1; j++)
                v[i * n + j] = 0.2 * (u[i * n + j] + u[(i - 1) * n + j] +
                                      u[(i + 1) * n + j] + u[i * n + j - 1] +
                                      u[i * n + j + 1]);
        double* t = u;
        u = v;
        v = t;
    }
    double s = 0;
    for (int i = 0; i < n * n; i += 31)
        s += u[i];
    return s;
}

static double
k_reduction(void)
{
    double total = 0;
    for (int r = 0; r < RED_REPS; r++) {
        double s = 0;
        double m = 0;
#pragma omp parallel for reduction(+ : s) reduction(max : m)
        for (int i = 0; i < RED_N; i++) {
            double x = A[i] * B[(i + r) % RED_N];
            s += x;
            m = x > m ? x : m;
        }
        total += s + m;
    }
    return total;
}

static long long
fib(int n)
{
    if (n < 2)
        return n;
    if (n < FIB_CUTOFF)
        return fib(n - 1) + fib(n - 2);
    long long x, y;
#pragma omp task shared(x)
    x = fib(n - 1);
#pragma omp task shared(y)
    y = fib(n - 2);
#pragma omp taskwait
    return x + y;
}

static double
k_tasks(void)
{
    long long f = 0;
#pragma omp parallel
#pragma omp single
    f = fib(FIB_N);
    return (double)f;
}

/* ---- overheads (microseconds per construct) ---- */

#define OV_REPS 2000

/* The bodies write a slot of the calling thread (a cache line each) of an
 * array with external linkage, so the stores stay and do not contend. Not
 * volatile: granary-cc makes volatile accesses of threaded guests atomic
 * (-fms-volatile), natively they stay plain stores, and the bodies would
 * then differ between the two sides. */
int omp_bench_sink[64 * 16];
#define SINK(v) (omp_bench_sink[16 * (omp_get_thread_num() & 63)] = (v))

static double
o_parallel(void)
{
    double t = now();
    for (int r = 0; r < OV_REPS; r++) {
#pragma omp parallel
        SINK(1);
    }
    return (now() - t) / OV_REPS;
}

static double
o_barrier(void)
{
    double t = now();
#pragma omp parallel
    for (int r = 0; r < OV_REPS; r++) {
#pragma omp barrier
    }
    return (now() - t) / OV_REPS;
}

static double
o_for(void)
{
    double t = now();
#pragma omp parallel
    {
        int* slot = &omp_bench_sink[16 * (omp_get_thread_num() & 63)];
        for (int r = 0; r < OV_REPS; r++) {
#pragma omp for
            for (int i = 0; i < 64; i++)
                *slot = i;
        }
    }
    return (now() - t) / OV_REPS;
}

static double
o_reduction(void)
{
    int x = 0;
    double t = now();
    for (int r = 0; r < OV_REPS; r++) {
#pragma omp parallel reduction(+ : x)
        x += 1;
    }
    double d = (now() - t) / OV_REPS;
    if (x != OV_REPS * omp_get_max_threads())
        d = -1;
    return d;
}

static double
o_task(void)
{
    int n = 0;
    double t = now();
#pragma omp parallel
#pragma omp single
    {
        for (int r = 0; r < OV_REPS * 4; r++) {
#pragma omp task shared(n)
            {
#pragma omp atomic
                n++;
            }
        }
#pragma omp taskwait
    }
    double d = (now() - t) / (OV_REPS * 4);
    if (n != OV_REPS * 4)
        d = -1;
    return d;
}

typedef struct kernel
{
    const char* name;
    double (*fn)(void);
} kernel;

int
main(int argc, char** argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    if (threads < 1)
        threads = 1;
    omp_set_num_threads(threads);
    size_t big = (size_t)ST_N * ST_N;
    A = malloc(sizeof(double) * big);
    B = malloc(sizeof(double) * big);
    C = malloc(sizeof(double) * big);
    if (!A || !B || !C)
        return 1;
    for (size_t i = 0; i < big; i++) {
        A[i] = (double)(i % 13) * 0.5 + 1;
        B[i] = (double)(i % 7) * 0.25 - 0.5;
    }
    const kernel ks[] = { { "dgemm", k_dgemm },
                          { "stencil", k_stencil },
                          { "reduction", k_reduction },
                          { "tasks", k_tasks } };
    for (size_t k = 0; k < sizeof ks / sizeof ks[0]; k++) {
        double best = 1e30, sum = 0;
        for (int r = 0; r < K_REPS; r++) {
            double t = now();
            sum = ks[k].fn();
            t = now() - t;
            best = t < best ? t : best;
        }
        printf("K %s %.6f %.10g\n", ks[k].name, best, sum);
        fflush(stdout);
    }
    const kernel os[] = { { "parallel", o_parallel },
                          { "barrier", o_barrier },
                          { "for", o_for },
                          { "reduction", o_reduction },
                          { "task", o_task } };
    for (size_t k = 0; k < sizeof os / sizeof os[0]; k++) {
        double best = 1e30;
        for (int r = 0; r < O_REPS; r++) {
            double t = os[k].fn();
            if (t < 0) {
                printf("FAIL %s\n", os[k].name);
                return 1;
            }
            best = t < best ? t : best;
        }
        printf("O %s %.3f\n", os[k].name, best * 1e6);
        fflush(stdout);
    }
    printf("verified threads=%d\n", omp_get_max_threads());
    return 0;
}
