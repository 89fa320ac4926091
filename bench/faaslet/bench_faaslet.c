/* SPDX-License-Identifier: Apache-2.0 */
/* bench_faaslet: start-up cost and density of Faaslets. For a small (1 MiB)
 * and a large (64 MiB) no-op function, and one whose init builds an 8 MiB
 * table, it times, each followed by a call: fresh instantiate (+ init),
 * restore from the Proto-Faaslet snapshot, and warm reuse (call + reset);
 * a native fork()+wait of a no-op child is the process-isolation baseline
 * in the same run. Every row is printed (a fresh instantiate of the small
 * module can beat a restore). Then it measures memory per idle Faaslet
 * with 1,000 and 10,000 alive (PSS, private pages, page tables, VMAs, and
 * the pages shared with the snapshot), and how many Faaslets one process
 * holds before creation fails (and why). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <granary/status.h>

#include "faaslet/faaslet.h"
#include "host/host.h"

#define ITERS 2000

static double
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
cmp_double(const void* a, const void* b)
{
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

struct pct
{
    double p50, p99;
};

static struct pct
percentiles(double* v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return (struct pct){ v[n / 2], v[(int)((double)n * 0.99)] };
}

static void
die(const char* what, int rc, const char* err)
{
    fprintf(stderr,
            "bench_faaslet: %s: %s%s%s\n",
            what,
            gr_strerror(rc),
            err && *err ? ": " : "",
            err ? err : "");
    exit(1);
}

static gr_proto*
load(gr_engine* e, const char* path, gr_object** obj)
{
    char err[512] = "";
    int rc = gr_engine_load_file(e, path, obj, err, sizeof err);
    if (rc)
        die(path, rc, err);
    gr_proto* p;
    rc = gr_proto_create(*obj, NULL, &p, err, sizeof err);
    if (rc)
        die("proto", rc, err);
    return p;
}

static void
noop_call(gr_faaslet* f)
{
    gr_call c = { .input = NULL };
    gr_call_result r;
    int rc = gr_faaslet_call(f, &c, &r);
    if (rc || r.status)
        die("call", rc ? rc : r.status, NULL);
}

struct thunk
{
    wasm_rt_function_ptr_t fn;
    void* module;
};

static void
call_void(void* p)
{
    struct thunk* t = p;
    ((void (*)(void*))t->fn)(t->module);
}

static void
call_int(void* p)
{
    struct thunk* t = p;
    ((int (*)(void*))t->fn)(t->module);
}

/* Fresh: what a Faaslet without snapshots would do per call: a WASI
 * context, instantiate (data segments copied), _initialize, no-op call. */
static struct pct
bench_fresh(gr_object* obj, int iters)
{
    double* v = malloc(sizeof(double) * (size_t)iters);
    wasm_rt_function_ptr_t init = gr_object_export(obj, "_initialize", ">");
    wasm_rt_function_ptr_t user_init =
      gr_object_export(obj, "granary_init", ">");
    wasm_rt_function_ptr_t main_fn =
      gr_object_export(obj, "granary_main", ">i");
    gr_wasi_config wc = { .stdin_fd = -1,
                          .out = { .host_fd = -1 },
                          .err = { .host_fd = -1 } };
    for (int i = 0; i < iters; i++) {
        double t0 = now_us();
        gr_host_ctx host = { 0 };
        int rc = gr_wasi_create(&wc, &host.wasi);
        if (rc)
            die("wasi", rc, NULL);
        gr_instance* in;
        gr_trap t;
        gr_instance_config cfg = { .host = &host };
        rc = gr_instance_create(obj, &cfg, &in, &t);
        if (rc)
            die("instantiate", rc, NULL);
        struct thunk a = { init, gr_instance_module(in) };
        if (init && (rc = gr_instance_call(in, call_void, &a, &t)))
            die("fresh _initialize", rc, NULL);
        a.fn = user_init;
        if (user_init && (rc = gr_instance_call(in, call_void, &a, &t)))
            die("fresh granary_init", rc, NULL);
        a.fn = main_fn;
        if (!main_fn || (rc = gr_instance_call(in, call_int, &a, &t)))
            die("fresh call", main_fn ? rc : -ENOENT, NULL);
        v[i] = now_us() - t0;
        gr_instance_destroy(in);
        gr_wasi_destroy(host.wasi);
    }
    struct pct r = percentiles(v, iters);
    free(v);
    return r;
}

static struct pct
bench_restore(gr_proto* p, int iters)
{
    double* v = malloc(sizeof(double) * (size_t)iters);
    for (int i = 0; i < iters; i++) {
        double t0 = now_us();
        gr_faaslet* f;
        int rc = gr_faaslet_create(p, &f);
        if (rc)
            die("restore", rc, NULL);
        noop_call(f);
        v[i] = now_us() - t0;
        gr_faaslet_destroy(f);
    }
    struct pct r = percentiles(v, iters);
    free(v);
    return r;
}

static struct pct
bench_warm(gr_proto* p, int iters)
{
    double* v = malloc(sizeof(double) * (size_t)iters);
    gr_faaslet* f;
    int rc = gr_faaslet_create(p, &f);
    if (rc)
        die("restore", rc, NULL);
    noop_call(f);
    for (int i = 0; i < iters; i++) {
        double t0 = now_us();
        noop_call(f);
        v[i] = now_us() - t0;
    }
    gr_faaslet_destroy(f);
    struct pct r = percentiles(v, iters);
    free(v);
    return r;
}

static struct pct
bench_fork(int iters)
{
    double* v = malloc(sizeof(double) * (size_t)iters);
    for (int i = 0; i < iters; i++) {
        double t0 = now_us();
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
            WEXITSTATUS(st))
            die("fork baseline", -errno, NULL);
        v[i] = now_us() - t0;
    }
    struct pct r = percentiles(v, iters);
    free(v);
    return r;
}

/* The value of "<field>: N kB" in /proc/self/<file> in KiB, or -1. */
static long
self_kb(const char* file, const char* field)
{
    char path[64], line[256], fmt[64];
    snprintf(path, sizeof path, "/proc/self/%s", file);
    snprintf(fmt, sizeof fmt, "%s: %%ld kB", field);
    FILE* f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, fmt, &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* Number of memory mappings (VMAs) of this process. */
static long
self_vmas(void)
{
    FILE* f = fopen("/proc/self/maps", "r");
    long n = 0;
    int ch;
    while (f && (ch = fgetc(f)) != EOF)
        n += ch == '\n';
    if (f)
        fclose(f);
    return f ? n : -1;
}

/* What the process holds, for the per-Faaslet differences. */
struct mem
{
    long pss, rss, private_kb, shared_kb, pte, vmas;
};

static struct mem
mem_now(void)
{
    struct mem m;
    m.pss = self_kb("smaps_rollup", "Pss");
    m.rss = self_kb("smaps_rollup", "Rss");
    m.private_kb = self_kb("smaps_rollup", "Private_Clean") +
                   self_kb("smaps_rollup", "Private_Dirty");
    m.shared_kb = self_kb("smaps_rollup", "Shared_Clean") +
                  self_kb("smaps_rollup", "Shared_Dirty");
    m.pte = self_kb("status", "VmPTE");
    m.vmas = self_vmas();
    if (m.pss < 0 || m.rss < 0 || m.pte < 0 || m.vmas < 0) {
        fprintf(stderr, "bench_faaslet: cannot read /proc/self\n");
        exit(1);
    }
    return m;
}

/* Memory per idle Faaslet of the small function with n alive (each after
 * one call): the differences of PSS, private pages, page tables (VmPTE)
 * and VMAs over n, and the pages they share (the snapshot's, counted once
 * in PSS, so spread over the n Faaslets there). */
struct idle
{
    double pss, private_kb, pte, vmas;
    long shared_kb; /* total shared resident pages with n alive */
};

static struct idle
idle_per_faaslet(gr_proto* p, int n)
{
    gr_faaslet** fs = calloc((size_t)n, sizeof *fs);
    if (!fs)
        die("calloc", -ENOMEM, NULL);
    struct mem before = mem_now();
    for (int i = 0; i < n; i++) {
        int rc = gr_faaslet_create(p, &fs[i]);
        if (rc)
            die("restore for density", rc, NULL);
        noop_call(fs[i]);
    }
    struct mem after = mem_now();
    for (int i = 0; i < n; i++)
        gr_faaslet_destroy(fs[i]);
    free(fs);
    return (struct idle){
        .pss = (double)(after.pss - before.pss) / n,
        .private_kb = (double)(after.private_kb - before.private_kb) / n,
        .pte = (double)(after.pte - before.pte) / n,
        .vmas = (double)(after.vmas - before.vmas) / n,
        .shared_kb = after.shared_kb,
    };
}

static int
max_alive(gr_proto* p, int cap, char* why, size_t whylen)
{
    gr_faaslet** fs = calloc((size_t)cap, sizeof *fs);
    int n = 0;
    snprintf(why, whylen, "stopped at the cap of %d", cap);
    for (; n < cap; n++) {
        int rc = gr_faaslet_create(p, &fs[n]);
        if (rc) {
            snprintf(why, whylen, "creation failed: %s", gr_strerror(rc));
            break;
        }
    }
    for (int i = 0; i < n; i++)
        gr_faaslet_destroy(fs[i]);
    free(fs);
    return n;
}

int
main(int argc, char** argv)
{
    if (argc < 4) {
        fprintf(stderr,
                "usage: bench_faaslet SMALL.wasm LARGE.wasm INITHEAVY.wasm "
                "[max-alive-cap]\n");
        return 2;
    }
    int cap = argc > 4 ? atoi(argv[4]) : 200000;
    gr_engine_config ecfg = { .import_check = gr_host_import_check };
    gr_engine* e;
    int rc = gr_engine_create(&ecfg, &e);
    if (rc)
        die("engine", rc, NULL);
    const char* names[3] = { "small (1 MiB)", "large (64 MiB)", "init 8 MiB" };
    gr_proto* protos[3];
    gr_object* objs[3];
    for (int i = 0; i < 3; i++)
        protos[i] = load(e, argv[1 + i], &objs[i]);

    struct pct fork_pct = bench_fork(ITERS / 4);
    printf("# bench_faaslet: latency of start + no-op call, microseconds\n");
    printf("%-15s %-8s %9s %9s %12s\n",
           "memory",
           "mode",
           "p50_us",
           "p99_us",
           "p50_vs_fork");
    printf("%-15s %-8s %9.2f %9.2f %12.3f\n",
           "native process",
           "fork",
           fork_pct.p50,
           fork_pct.p99,
           1.0);
    double restore_small_p50 = 0, fresh_small_p50 = 0, warm_small_p50 = 0;
    for (int i = 0; i < 3; i++) {
        int iters = i == 0 ? ITERS : i == 1 ? ITERS / 4 : ITERS / 20;
        struct pct fr = bench_fresh(objs[i], iters);
        struct pct rs = bench_restore(protos[i], iters);
        struct pct wm = bench_warm(protos[i], iters);
        if (i == 0) {
            restore_small_p50 = rs.p50;
            fresh_small_p50 = fr.p50;
            warm_small_p50 = wm.p50;
        }
        printf("%-15s %-8s %9.2f %9.2f %12.3f\n",
               names[i],
               "fresh",
               fr.p50,
               fr.p99,
               fr.p50 / fork_pct.p50);
        printf("%-15s %-8s %9.2f %9.2f %12.3f\n",
               names[i],
               "restore",
               rs.p50,
               rs.p99,
               rs.p50 / fork_pct.p50);
        printf("%-15s %-8s %9.2f %9.2f %12.3f\n",
               names[i],
               "warm",
               wm.p50,
               wm.p99,
               wm.p50 / fork_pct.p50);
        printf("%-15s restore/fresh p50 ratio %.3f, warm/fresh %.3f: %s\n",
               names[i],
               rs.p50 / fr.p50,
               wm.p50 / fr.p50,
               rs.p50 < fr.p50 ? "restore is faster than fresh"
                               : "fresh instantiate is FASTER than restore "
                                 "here (little to copy, restore maps)");
    }

    struct idle m1k = idle_per_faaslet(protos[0], 1000);
    struct idle m10k = idle_per_faaslet(protos[0], 10000);
    printf("# memory per idle Faaslet (small function, after one call), "
           "KiB;\n"
           "# pss: proportional set size (shared pages split among their "
           "users); private:\n"
           "# pages only this Faaslet maps; pte: page tables (VmPTE); vmas: "
           "mappings;\n"
           "# shared: resident pages shared among the Faaslets and the "
           "snapshot (in all)\n");
    printf("%-12s %9s %9s %9s %7s %12s %14s\n",
           "alive",
           "pss",
           "private",
           "pte",
           "vmas",
           "pss+pte",
           "shared (MiB)");
    const struct idle* ms[2] = { &m1k, &m10k };
    const int alive_n[2] = { 1000, 10000 };
    for (int i = 0; i < 2; i++)
        printf("%-12d %9.1f %9.1f %9.2f %7.2f %12.1f %14.1f\n",
               alive_n[i],
               ms[i]->pss,
               ms[i]->private_kb,
               ms[i]->pte,
               ms[i]->vmas,
               ms[i]->pss + ms[i]->pte,
               ms[i]->shared_kb / 1024.0);

    FILE* mc = fopen("/proc/sys/vm/max_map_count", "r");
    long max_maps = -1;
    if (mc) {
        if (fscanf(mc, "%ld", &max_maps) != 1)
            max_maps = -1;
        fclose(mc);
    }
    char why[256];
    int alive = max_alive(protos[0], cap, why, sizeof why);
    printf(
      "# density: each Faaslet holds an 8 GiB guarded reservation, so the\n"
      "# 47-bit user address space (128 TiB) allows about 16,000; each\n"
      "# also needs 2 memory mappings, so vm.max_map_count (%ld here)\n"
      "# would allow about %ld\n",
      max_maps,
      max_maps / 2);
    printf("faaslets_alive %d (%s)\n", alive, why);

    for (int i = 0; i < 3; i++) {
        gr_proto_unref(protos[i]);
        gr_object_unref(objs[i]);
    }
    gr_engine_destroy(e);
    printf("RESULT fresh_call_p50_us %.2f us\n", fresh_small_p50);
    printf("RESULT restore_call_p50_us %.2f us\n", restore_small_p50);
    printf("RESULT warm_call_p50_us %.2f us\n", warm_small_p50);
    printf("RESULT fork_p50_us %.2f us\n", fork_pct.p50);
    printf("RESULT pss_idle_kb %.1f KiB\n", m10k.pss);
    printf("RESULT pte_idle_kb %.2f KiB\n", m10k.pte);
    printf("RESULT idle_faaslet_kb %.1f KiB\n", m10k.pss + m10k.pte);
    printf("RESULT vmas_per_faaslet %.2f count\n", m10k.vmas);
    printf("RESULT faaslets_alive %d count\n", alive);
    return 0;
}
