/* SPDX-License-Identifier: Apache-2.0 */
/* bench_compute: runs each compute kernel natively (gcc) and as a Granary
 * guest in the same process, checks that both give the same checksum, and
 * prints per-kernel thread-CPU medians, their ratio and the geometric mean
 * (last line: "RESULT compute_geomean_ratio <wasm/native>"). */
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

#define MAX_REPS 101

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
            "[module.wasm]\n"
            "  -n reps   timed repetitions per side (median; default 7)\n"
            "  -k list   kernels to run (default all): matmul, stencil, fft,"
            " hash, sort\n");
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

int
main(int argc, char** argv)
{
    const char* path = GR_BENCH_DEFAULT_WASM;
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
        } else if (strcmp(argv[i], "-h") == 0 ||
                   strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-') {
            usage(stderr);
            return 2;
        } else {
            path = argv[i];
        }
    }

    char err[256] = "";
    wasm_side* w = NULL;
    if (wasm_side_open(path, &w, err, sizeof err) < 0) {
        fprintf(stderr, "bench_compute: %s: %s\n", path, err);
        return 1;
    }

    printf("# bench_compute: %s; thread CPU time, median of %d\n",
           wasm_side_name(),
           reps);
    printf("%-8s %11s %11s %7s  %s\n",
           "kernel",
           "native_ms",
           "wasm_ms",
           "ratio",
           "checksum");

    double logsum = 0.0;
    int n_ratio = 0;
    int failed = 0;
    double tn[MAX_REPS], tw[MAX_REPS];
    for (int k = 0; k < KERNEL_COUNT; k++) {
        if (!enabled[k])
            continue;
        /* One untimed run per side: warms caches and page tables, and
         * checks that both builds agree. */
        int cn = run_kernel(k, 1);
        int cw = 0;
        if (wasm_side_run(w, k, 1, &cw, err, sizeof err) < 0) {
            fprintf(stderr, "bench_compute: %s: %s\n", kernel_name(k), err);
            failed = 1;
            continue;
        }
        if (cn != cw) {
            fprintf(stderr,
                    "bench_compute: %s: checksum mismatch: native %d, "
                    "wasm %d\n",
                    kernel_name(k),
                    cn,
                    cw);
            failed = 1;
            continue;
        }
        /* Alternate the sides so that drifting machine load hits both. */
        for (int r = 0; r < reps; r++) {
            double t0 = thread_ms();
            int c = run_kernel(k, 1);
            double t1 = thread_ms();
            int d = 0;
            int rc = wasm_side_run(w, k, 1, &d, err, sizeof err);
            double t2 = thread_ms();
            if (rc < 0 || c != cn || d != cw) {
                fprintf(stderr,
                        "bench_compute: %s: run %d failed: %s\n",
                        kernel_name(k),
                        r,
                        rc < 0 ? err : "checksum");
                failed = 1;
                break;
            }
            tn[r] = t1 - t0;
            tw[r] = t2 - t1;
        }
        if (failed)
            continue;
        double mn = median(tn, reps), mw = median(tw, reps);
        double ratio = mn > 0.0 ? mw / mn : 0.0;
        printf(
          "%-8s %11.2f %11.2f %7.3f  %d\n", kernel_name(k), mn, mw, ratio, cn);
        if (ratio > 0.0) {
            logsum += log(ratio);
            n_ratio++;
        }
    }
    wasm_side_close(w);
    if (failed || n_ratio == 0) {
        fprintf(stderr, "bench_compute: FAILED\n");
        return 1;
    }
    double geo = exp(logsum / n_ratio);
    printf("geomean  %31.3f\n", geo);
    printf("ratio = wasm time / native time per kernel (1.00 = native "
           "speed, lower is better); both sides compute the same checksum\n");
    printf("RESULT compute_geomean_ratio %.3f x\n", geo);
    return 0;
}
