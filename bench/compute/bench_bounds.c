/* SPDX-License-Identifier: Apache-2.0 */
/* bench_bounds: the speed cost of explicit bounds checks against guard
 * pages on bench_compute's kernels. The same compute_kernels.wasm is built
 * twice by the granary backend (guard pages, and bounds checks as
 * GRANARY_BOUNDS_CHECKS=1 asks), and each kernel runs natively (gcc -O2,
 * the baseline) and through both objects in the same process, alternating,
 * with thread-CPU medians; checksums must agree. Last lines: RESULT
 * bounds_check_cost (geomean of bounds/guard time) and the geomeans of
 * each strategy against native. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"
#include "granary/status.h"
#include "kernels.h"

#ifndef GR_BENCH_DEFAULT_WASM
#define GR_BENCH_DEFAULT_WASM "compute_kernels.wasm"
#endif

#define MAX_REPS 101

typedef void (*init_fn)(void*);
typedef uint32_t (*kernel_fn)(void*, uint32_t, uint32_t);

/* One build of the module (a strategy) with one instance of it. */
struct side
{
    const char* name;
    gr_engine* engine;
    gr_object* object;
    gr_instance* instance;
    kernel_fn run;
    init_fn init;
    uint32_t which, reps, result;
};

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
do_init(void* arg)
{
    struct side* s = arg;
    s->init(gr_instance_module(s->instance));
}

static void
do_run(void* arg)
{
    struct side* s = arg;
    s->result = s->run(gr_instance_module(s->instance), s->which, s->reps);
}

static int
side_open(struct side* s, const char* path, int bounds)
{
    char err[512] = "";
    gr_trap trap = { 0 };
    gr_engine_config cfg = { .backend = GR_ENGINE_GRANARY,
                             .explicit_bounds = bounds };
    int rc = gr_engine_create(&cfg, &s->engine);
    if (rc == 0)
        rc = gr_engine_load_file(s->engine, path, &s->object, err, sizeof err);
    if (rc == 0) {
        s->run = (kernel_fn)gr_object_export(s->object, "run_kernel", "ii>i");
        s->init = (init_fn)gr_object_export(s->object, "_initialize", ">");
        rc = s->run ? 0 : -ENOENT;
        snprintf(err, sizeof err, "no export run_kernel");
    }
    if (rc == 0)
        rc = gr_instance_create(s->object, NULL, &s->instance, &trap);
    if (rc == 0 && s->init)
        rc = gr_rt_call(do_init, s, &trap);
    if (rc) {
        fprintf(stderr,
                "bench_bounds: %s (%s): %s%s%s\n",
                path,
                s->name,
                gr_strerror(rc),
                err[0] ? ": " : "",
                err);
        return -1;
    }
    return 0;
}

static void
side_close(struct side* s)
{
    gr_instance_destroy(s->instance);
    if (s->object)
        gr_object_unref(s->object);
    gr_engine_destroy(s->engine);
}

/* Runs kernel k once on s: its time in ms, or -1 on a trap. */
static double
side_run(struct side* s, int k, int* checksum)
{
    gr_trap trap = { 0 };
    s->which = (uint32_t)k;
    s->reps = 1;
    double t0 = thread_ms();
    int rc = gr_rt_call(do_run, s, &trap);
    double t = thread_ms() - t0;
    if (rc) {
        fprintf(stderr,
                "bench_bounds: %s on %s: trap: %s\n",
                kernel_name(k),
                s->name,
                gr_trap_name(trap.kind));
        return -1;
    }
    *checksum = (int)s->result;
    return t;
}

int
main(int argc, char** argv)
{
    const char* path = argc > 1 ? argv[1] : GR_BENCH_DEFAULT_WASM;
    int reps = argc > 2 ? atoi(argv[2]) : 7;
    if (reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "usage: bench_bounds [module.wasm [reps 1..101]]\n");
        return 2;
    }
    struct side sides[2] = { { .name = "guard pages" },
                             { .name = "bounds checks" } };
    for (int i = 0; i < 2; i++)
        if (side_open(&sides[i], path, i) < 0)
            return 1;
    printf("# bench_bounds: compute kernels through the granary backend, "
           "guard pages vs\n# explicit bounds checks (the same wasm, two "
           "objects), native gcc -O2 as the\n# baseline; thread CPU time, "
           "median of %d\n",
           reps);
    printf("%-8s %10s %10s %10s %8s %8s %9s\n",
           "kernel",
           "native_ms",
           "guard_ms",
           "bounds_ms",
           "guard_x",
           "bounds_x",
           "cost");
    double lg[3] = { 0 }, tn[MAX_REPS], tg[MAX_REPS], tb[MAX_REPS];
    int n = 0, failed = 0;
    for (int k = 0; k < KERNEL_COUNT && !failed; k++) {
        int cn = run_kernel(k, 1), cg = 0, cb = 0;
        if (side_run(&sides[0], k, &cg) < 0 || side_run(&sides[1], k, &cb) < 0)
            failed = 1;
        else if (cg != cn || cb != cn) {
            fprintf(stderr,
                    "bench_bounds: %s: checksums differ: native %d, guard "
                    "%d, bounds %d\n",
                    kernel_name(k),
                    cn,
                    cg,
                    cb);
            failed = 1;
        }
        /* Alternate the three so that drifting machine load hits all. */
        for (int r = 0; r < reps && !failed; r++) {
            double t0 = thread_ms();
            int c = run_kernel(k, 1);
            tn[r] = thread_ms() - t0;
            tg[r] = side_run(&sides[0], k, &cg);
            tb[r] = side_run(&sides[1], k, &cb);
            if (tg[r] < 0 || tb[r] < 0 || c != cn || cg != cn || cb != cn) {
                fprintf(
                  stderr, "bench_bounds: %s: run failed\n", kernel_name(k));
                failed = 1;
            }
        }
        if (failed)
            break;
        double mn = median(tn, reps), mg = median(tg, reps),
               mb = median(tb, reps);
        if (mn <= 0 || mg <= 0 || mb <= 0)
            continue;
        printf("%-8s %10.2f %10.2f %10.2f %8.3f %8.3f %8.1f%%\n",
               kernel_name(k),
               mn,
               mg,
               mb,
               mg / mn,
               mb / mn,
               (mb / mg - 1) * 100);
        lg[0] += log(mg / mn);
        lg[1] += log(mb / mn);
        lg[2] += log(mb / mg);
        n++;
    }
    for (int i = 0; i < 2; i++)
        side_close(&sides[i]);
    if (failed || n == 0) {
        fprintf(stderr, "bench_bounds: FAILED\n");
        return 1;
    }
    double g = exp(lg[0] / n), b = exp(lg[1] / n), c = exp(lg[2] / n);
    printf("geomean  %32.3f %8.3f %8.1f%%\n", g, b, (c - 1) * 100);
    printf("guard_x, bounds_x: time / native time (1.00 = native speed); "
           "cost: bounds-checked\ntime over guard-page time, minus one\n");
    printf("RESULT bounds_check_cost %.3f x\n", c);
    printf("RESULT guard_geomean_ratio %.3f x\n", g);
    printf("RESULT bounds_geomean_ratio %.3f x\n", b);
    return 0;
}
