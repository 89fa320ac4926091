/* SPDX-License-Identifier: Apache-2.0 */
/* bench_compute: runs each compute kernel natively (gcc, and clang when
 * built with GR_BENCH_HAVE_CLANG) and as one or more Granary guests (for
 * example the default SIMD build and a scalar build) in the same process,
 * checks that every side gives the same checksum, and prints per-kernel
 * thread-CPU medians, the ratios and their geometric means. The first
 * module is the default build: "RESULT compute_geomean_ratio" is its
 * geomean against gcc, "RESULT compute_geomean_ratio_clang" against
 * clang. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"
#include "wasm_side.h"

#ifndef GR_BENCH_DEFAULT_WASM
#define GR_BENCH_DEFAULT_WASM "compute_kernels.wasm"
#endif
#ifndef GR_BENCH_GCC_NAME
#define GR_BENCH_GCC_NAME "gcc -O2"
#endif

#define MAX_REPS 101
#define MAX_MODULES 4
#define LABEL_MAX 16

static double
thread_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
cmp_double(const void* a, const void* b)
{
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

static double
median(double* v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void
usage(FILE* f)
{
    fprintf(f,
            "usage: bench_compute [-n reps] [-k kernel[,kernel...]] "
            "[-i text] [[label=]module.wasm ...]\n"
            "  -n reps   timed repetitions per side (median; default 7)\n"
            "  -k list   kernels to run (default all): matmul, stencil, fft,"
            " hash, sort\n"
            "  -i text   a line describing the modules, printed in the "
            "header\n"
            "  modules   up to %d; the first is the default build "
            "(RESULT lines)\n",
            MAX_MODULES);
}

static int
parse_kernels(const char* list, int* enabled)
{
    char buf[256];
    if (strlen(list) >= sizeof buf)
        return -EINVAL;
    strcpy(buf, list);
    for (int k = 0; k < KERNEL_COUNT; k++)
        enabled[k] = 0;
    char* save = NULL;
    for (char* t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        int found = 0;
        for (int k = 0; k < KERNEL_COUNT; k++) {
            if (strcmp(t, kernel_name(k)) == 0) {
                enabled[k] = 1;
                found = 1;
            }
        }
        if (!found)
            return -EINVAL;
    }
    return 0;
}

/* One side of the comparison: a native build or a wasm module. */
struct side
{
    char label[LABEL_MAX];
    int (*native)(int which, int reps); /* NULL: wasm */
    wasm_side* w;
    double t[MAX_REPS];
    double ms[KERNEL_COUNT];
    double logsum_gcc, logsum_clang;
    int n_ratio;
};

static int
side_run(struct side* s, int k, int* out, char* err, size_t errlen)
{
    if (s->native) {
        *out = s->native(k, 1);
        return 0;
    }
    return wasm_side_run(s->w, k, 1, out, err, errlen);
}

static void
close_sides(struct side* sides, int n)
{
    for (int i = 0; i < n; i++)
        wasm_side_close(sides[i].w);
}

int
main(int argc, char** argv)
{
    const char* paths[MAX_MODULES];
    char labels[MAX_MODULES][LABEL_MAX];
    int n_mod = 0;
    const char* info = NULL;
    int reps = 7;
    int enabled[KERNEL_COUNT];
    for (int k = 0; k < KERNEL_COUNT; k++)
        enabled[k] = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            reps = atoi(argv[++i]);
            if (reps < 1 || reps > MAX_REPS) {
                fprintf(stderr, "bench_compute: -n must be 1..%d\n", MAX_REPS);
                return 2;
            }
        } else if (strcmp(argv[i], "-k") == 0 && i + 1 < argc) {
            if (parse_kernels(argv[++i], enabled) < 0) {
                usage(stderr);
                return 2;
            }
        } else if (strcmp(argv[i], "-i") == 0 && i + 1 < argc) {
            info = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 ||
                   strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || n_mod == MAX_MODULES) {
            usage(stderr);
            return 2;
        } else {
            const char* eq = strchr(argv[i], '=');
            size_t ll = eq ? (size_t)(eq - argv[i]) : 0;
            if (ll >= LABEL_MAX) {
                fprintf(stderr, "bench_compute: label too long\n");
                return 2;
            }
            if (eq) {
                memcpy(labels[n_mod], argv[i], ll);
                labels[n_mod][ll] = '\0';
            } else {
                snprintf(labels[n_mod], LABEL_MAX, "wasm%d", n_mod);
            }
            paths[n_mod++] = eq ? eq + 1 : argv[i];
        }
    }
    if (n_mod == 0) {
        paths[0] = GR_BENCH_DEFAULT_WASM;
        snprintf(labels[0], LABEL_MAX, "wasm");
        n_mod = 1;
    }

    /* sides: gcc, [clang], then the modules */
    static struct side sides[2 + MAX_MODULES];
    int n_sides = 0;
    struct side* gcc = &sides[n_sides++];
    snprintf(gcc->label, LABEL_MAX, "gcc");
    gcc->native = run_kernel;
    struct side* clang = NULL;
#ifdef GR_BENCH_HAVE_CLANG
    clang = &sides[n_sides++];
    snprintf(clang->label, LABEL_MAX, "clang");
    clang->native = clang_run_kernel;
#endif
    int first_wasm = n_sides;
    char err[256] = "";
    for (int m = 0; m < n_mod; m++) {
        struct side* s = &sides[n_sides];
        memcpy(s->label, labels[m], LABEL_MAX);
        if (wasm_side_open(paths[m], &s->w, err, sizeof err) < 0) {
            fprintf(stderr, "bench_compute: %s: %s\n", paths[m], err);
            close_sides(sides, n_sides);
            return 1;
        }
        n_sides++;
    }

    printf("# bench_compute: %s; thread CPU time per run, median of %d; "
           "the sides alternate within each repetition\n",
           wasm_side_name(),
           reps);
    printf("# native: gcc = %s", GR_BENCH_GCC_NAME);
#ifdef GR_BENCH_HAVE_CLANG
    printf(", clang = %s", GR_BENCH_CLANG_NAME);
#endif
    printf(" (same kernels.c, x86-64 baseline: SSE2, no -march)\n");
    if (info)
        printf("# wasm: %s\n", info);
    for (int m = 0; m < n_mod; m++)
        printf("#   %s = %s%s\n",
               sides[first_wasm + m].label,
               paths[m],
               m == 0 ? " (default build: RESULT lines)" : "");
    printf("%-8s", "kernel");
    for (int s = 0; s < n_sides; s++) {
        char h[LABEL_MAX + 8];
        snprintf(h, sizeof h, "%.15s_ms", sides[s].label);
        printf(" %10s", h);
    }
    for (int s = first_wasm; s < n_sides; s++) {
        char h[LABEL_MAX + 8];
        snprintf(h, sizeof h, "%.15s/gcc", sides[s].label);
        printf(" %11s", h);
    }
    if (clang) {
        char h[LABEL_MAX + 8];
        snprintf(h, sizeof h, "%.15s/clang", sides[first_wasm].label);
        printf(" %12s", h);
    }
    printf("  checksum\n");

    int failed = 0, n_kernels = 0;
    for (int k = 0; k < KERNEL_COUNT && !failed; k++) {
        if (!enabled[k])
            continue;
        /* One untimed run per side: warms caches and page tables, and
         * checks that all builds agree. */
        int ref = run_kernel(k, 1);
        for (int s = 0; s < n_sides && !failed; s++) {
            int c = 0;
            if (side_run(&sides[s], k, &c, err, sizeof err) < 0) {
                fprintf(stderr,
                        "bench_compute: %s (%s): %s\n",
                        kernel_name(k),
                        sides[s].label,
                        err);
                failed = 1;
            } else if (c != ref) {
                fprintf(stderr,
                        "bench_compute: %s: checksum mismatch: gcc %d, "
                        "%s %d\n",
                        kernel_name(k),
                        ref,
                        sides[s].label,
                        c);
                failed = 1;
            }
        }
        /* Alternate the sides so that drifting machine load hits all. */
        for (int r = 0; r < reps && !failed; r++) {
            for (int s = 0; s < n_sides && !failed; s++) {
                int c = 0;
                double t0 = thread_ms();
                int rc = side_run(&sides[s], k, &c, err, sizeof err);
                double t1 = thread_ms();
                if (rc < 0 || c != ref) {
                    fprintf(stderr,
                            "bench_compute: %s (%s): run %d failed: %s\n",
                            kernel_name(k),
                            sides[s].label,
                            r,
                            rc < 0 ? err : "checksum");
                    failed = 1;
                }
                sides[s].t[r] = t1 - t0;
            }
        }
        if (failed)
            break;
        for (int s = 0; s < n_sides; s++)
            sides[s].ms[k] = median(sides[s].t, reps);
        if (gcc->ms[k] <= 0.0 || (clang && clang->ms[k] <= 0.0)) {
            fprintf(
              stderr, "bench_compute: %s: no time measured\n", kernel_name(k));
            failed = 1;
            break;
        }
        printf("%-8s", kernel_name(k));
        for (int s = 0; s < n_sides; s++)
            printf(" %10.2f", sides[s].ms[k]);
        for (int s = first_wasm; s < n_sides; s++) {
            double rg = sides[s].ms[k] / gcc->ms[k];
            printf(" %11.3f", rg);
            sides[s].logsum_gcc += log(rg > 0.0 ? rg : 1e-9);
            if (clang)
                sides[s].logsum_clang +=
                  log(fmax(sides[s].ms[k], 1e-9) / clang->ms[k]);
        }
        if (clang)
            printf(" %12.3f", sides[first_wasm].ms[k] / clang->ms[k]);
        printf("  %d\n", ref);
        n_kernels++;
    }
    close_sides(sides, n_sides);
    if (failed || n_kernels == 0) {
        fprintf(stderr, "bench_compute: FAILED\n");
        return 1;
    }
    printf("%-8s", "geomean");
    for (int s = 0; s < n_sides; s++)
        printf(" %10s", "");
    for (int s = first_wasm; s < n_sides; s++)
        printf(" %11.3f", exp(sides[s].logsum_gcc / n_kernels));
    if (clang)
        printf(" %12.3f", exp(sides[first_wasm].logsum_clang / n_kernels));
    printf("\n");
    if (clang) {
        printf("%-8s", "vs clang");
        for (int s = 0; s < n_sides; s++)
            printf(" %10s", "");
        for (int s = first_wasm; s < n_sides; s++)
            printf(" %11.3f", exp(sides[s].logsum_clang / n_kernels));
        printf("   (geomean of each build against clang)\n");
    }
    printf("ratio = wasm time / native time per kernel (1.00 = native "
           "speed, lower is better); every side computes the same "
           "checksum\n");
    printf("RESULT compute_geomean_ratio %.3f x\n",
           exp(sides[first_wasm].logsum_gcc / n_kernels));
    if (clang)
        printf("RESULT compute_geomean_ratio_clang %.3f x\n",
               exp(sides[first_wasm].logsum_clang / n_kernels));
    for (int s = first_wasm + 1; s < n_sides; s++)
        printf("RESULT compute_geomean_ratio_%s %.3f x\n",
               sides[s].label,
               exp(sides[s].logsum_gcc / n_kernels));
    return 0;
}
