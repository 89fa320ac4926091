/* SPDX-License-Identifier: Apache-2.0 */
/* bench_inproc: no-op calls per second and p50/p99 latency through
 * gr_sched_call (the in-process path the HTTP server uses) with 1 and N
 * client threads (N = slots), against a direct gr_faaslet_call loop on
 * one warm Faaslet as the baseline in the same run; the ratio is the
 * scheduler's overhead. Ends with "RESULT inproc_calls_per_s <n>". */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <granary/status.h>

#include "faaslet/faaslet.h"
#include "host/host.h"
#include "sched/sched.h"
#include "util/alloc.h"
#include "util/fs.h"

#define RUN_NS 1000000000ull
#define MAX_SAMPLES (4u << 20)

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
cmp_u32(const void* a, const void* b)
{
    uint32_t x = *(const uint32_t*)a, y = *(const uint32_t*)b;
    return (x > y) - (x < y);
}

struct run
{
    gr_sched* s;
    gr_faaslet* f;       /* direct mode when set */
    uint64_t timeout_ns; /* direct mode's per-call deadline */
    uint32_t* lat;       /* ns per call */
    size_t n;
    uint64_t start, stop;
    int failures;
};

static void*
run_main(void* arg)
{
    struct run* r = arg;
    gr_rt_install_handlers();
    gr_call c = { .input = NULL, .input_len = 0, .timeout_ns = r->timeout_ns };
    gr_call_result res;
    gr_call_info ci;
    uint64_t t = now_ns();
    r->start = t;
    uint64_t end = t + RUN_NS;
    while (t < end && r->n < MAX_SAMPLES) {
        int rc;
        if (r->f) {
            rc =
              gr_faaslet_call(r->f, &c, &res) || res.status || res.return_code;
        } else {
            rc = gr_sched_call(r->s, "bench", "noop", NULL, 0, NULL, &ci);
            if (!rc) {
                rc = ci.state != GR_CALL_DONE || ci.status || ci.return_code;
                gr_call_info_fini(&ci);
            }
        }
        r->failures += rc != 0;
        uint64_t t2 = now_ns();
        r->lat[r->n++] = (uint32_t)(t2 - t > UINT32_MAX ? UINT32_MAX : t2 - t);
        t = t2;
    }
    r->stop = t;
    return NULL;
}

struct result
{
    double per_s, p50_us, p99_us;
    int failures;
};

/* Calls that failed in any run: the bench then prints no RESULT. */
static int total_failures;

static struct result
measure(const char* label,
        gr_sched* s,
        gr_faaslet** fs,
        int threads,
        uint64_t timeout_ns)
{
    struct run* runs = calloc((size_t)threads, sizeof *runs);
    pthread_t* tids = calloc((size_t)threads, sizeof *tids);
    for (int i = 0; i < threads; i++) {
        runs[i].s = s;
        runs[i].f = fs ? fs[i] : NULL;
        runs[i].timeout_ns = timeout_ns;
        runs[i].lat = malloc(MAX_SAMPLES * sizeof(uint32_t));
        pthread_create(&tids[i], NULL, run_main, &runs[i]);
    }
    size_t total = 0;
    uint64_t start = UINT64_MAX, stop = 0;
    int failures = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tids[i], NULL);
        total += runs[i].n;
        failures += runs[i].failures;
        if (runs[i].start < start)
            start = runs[i].start;
        if (runs[i].stop > stop)
            stop = runs[i].stop;
    }
    uint32_t* all = malloc(total * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < threads; i++) {
        memcpy(all + k, runs[i].lat, runs[i].n * sizeof *all);
        k += runs[i].n;
        free(runs[i].lat);
    }
    qsort(all, total, sizeof *all, cmp_u32);
    struct result r = {
        .per_s = (double)total / ((double)(stop - start) / 1e9),
        .p50_us = all[total / 2] / 1e3,
        .p99_us = all[total * 99 / 100] / 1e3,
        .failures = failures,
    };
    total_failures += failures;
    printf("%-28s threads=%d calls=%zu  %10.0f calls/s  p50 %6.2f us  "
           "p99 %6.2f us%s\n",
           label,
           threads,
           total,
           r.per_s,
           r.p50_us,
           r.p99_us,
           failures ? "  FAILED CALLS" : "");
    free(all);
    free(runs);
    free(tids);
    return r;
}

int
main(int argc, char** argv)
{
    const char* wasm_path = argc > 1 ? argv[1] : GR_BENCH_DEFAULT_WASM;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int slots = ncpu > 0 ? (int)ncpu : 1;
    gr_rt_install_handlers();

    gr_engine* e;
    gr_engine_config ec = { .import_check = gr_host_import_check };
    if (gr_engine_create(&ec, &e)) {
        fprintf(stderr, "engine: failed\n");
        return 1;
    }
    uint8_t* wasm;
    size_t len;
    if (gr_fs_read_file(wasm_path, 64u << 20, &wasm, &len)) {
        fprintf(stderr, "cannot read %s\n", wasm_path);
        return 1;
    }
    char err[512] = "";

    /* baseline: a warm Faaslet per thread, called directly */
    gr_object* obj;
    gr_proto* p;
    if (gr_engine_load(e, wasm, len, &obj, err, sizeof err) ||
        gr_proto_create(obj, NULL, &p, err, sizeof err)) {
        fprintf(stderr, "load: %s\n", err);
        return 1;
    }
    gr_faaslet* fs[64];
    for (int i = 0; i < slots && i < 64; i++)
        if (gr_faaslet_create(p, &fs[i]))
            return 1;
    printf("bench_inproc: %s, %d CPUs, %.1f s per run\n",
           wasm_path,
           slots,
           RUN_NS / 1e9);
    struct result d1 = measure("direct gr_faaslet_call", NULL, fs, 1, 0);
    struct result dn = measure("direct gr_faaslet_call", NULL, fs, slots, 0);
    /* The scheduler always sets a deadline (default 60 s), which costs two
     * timer_settime calls per call: show that part separately. */
    struct result t1 =
      measure("direct + 60 s deadline", NULL, fs, 1, 60000000000ull);
    struct result tn =
      measure("direct + 60 s deadline", NULL, fs, slots, 60000000000ull);

    char dir[] = "/tmp/gr-bench-inproc-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    gr_sched_config sc = { .engine = e, .data_dir = dir, .slots = slots };
    gr_sched* s;
    if (gr_sched_create(&sc, &s) ||
        gr_sched_fn_upload(s, "bench", "noop", wasm, len, err, sizeof err)) {
        fprintf(stderr, "sched: %s\n", err);
        return 1;
    }
    struct result s1 = measure("gr_sched_call", s, NULL, 1, 0);
    struct result sn = measure("gr_sched_call", s, NULL, slots, 0);
    gr_sched_stats st;
    gr_sched_get_stats(s, &st);
    printf("sched stats: calls=%llu cold=%llu warm=%llu faaslets=%llu\n",
           (unsigned long long)st.calls,
           (unsigned long long)st.cold_starts,
           (unsigned long long)st.warm_starts,
           (unsigned long long)st.faaslets_alive);
    printf("overhead (sched/direct time per call): 1 thread %.2fx, "
           "%d threads %.2fx\n",
           d1.per_s / s1.per_s,
           slots,
           dn.per_s / sn.per_s);
    printf("overhead vs direct + deadline: 1 thread %.2fx, %d threads "
           "%.2fx\n",
           t1.per_s / s1.per_s,
           slots,
           tn.per_s / sn.per_s);
    int failed = total_failures != 0;
    if (failed)
        fprintf(
          stderr, "bench_inproc: %d calls failed: no RESULT\n", total_failures);
    else
        printf("RESULT inproc_calls_per_s %.0f calls/s\n", sn.per_s);

    gr_sched_destroy(s);
    gr_fs_remove_tree(dir);
    for (int i = 0; i < slots && i < 64; i++)
        gr_faaslet_destroy(fs[i]);
    gr_proto_unref(p);
    gr_object_unref(obj);
    gr_free(wasm);
    gr_engine_destroy(e);
    return failed;
}
