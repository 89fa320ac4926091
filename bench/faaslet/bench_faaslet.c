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
 * holds before creation fails (and why). Last, density with the
 * bounds-checked memory strategy (granary backend): 100,000 idle Faaslets
 * of a module with a small declared maximum, and of the small module with
 * bounds checks forced, with memory per Faaslet including the kernel's
 * (page tables, and the VMA slab objects when /proc/slabinfo is readable),
 * then how many one process holds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

/* ---- density with the bounds-checked strategy ---------------------------- */

#define DENSITY_TARGET 100000

/* Active objects of the slab caches each mapping costs the kernel (a VMA,
 * and for private anonymous pages an anon_vma and its chain links), and
 * their object sizes. System-wide (root only): other processes add noise,
 * which 100,000 Faaslets dwarf. */
struct slabs
{
    long objs[3], size[3];
    int ok;
};

static const char* const slab_names[3] = { "vm_area_struct",
                                           "anon_vma",
                                           "anon_vma_chain" };

static struct slabs
slabs_now(void)
{
    struct slabs s = { .ok = 0 };
    FILE* f = fopen("/proc/slabinfo", "r");
    char line[512], name[64];
    long active, total, size;
    int found = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "%63s %ld %ld %ld", name, &active, &total, &size) != 4)
            continue;
        for (int i = 0; i < 3; i++) {
            if (strcmp(name, slab_names[i]) == 0) {
                s.objs[i] = active;
                s.size[i] = size;
                found++;
            }
        }
    }
    if (f)
        fclose(f);
    s.ok = found == 3;
    return s;
}

static long
read_map_count(void)
{
    FILE* mc = fopen("/proc/sys/vm/max_map_count", "r");
    long n = -1;
    if (mc) {
        if (fscanf(mc, "%ld", &n) != 1)
            n = -1;
        fclose(mc);
    }
    return n;
}

static int
write_map_count(long n)
{
    FILE* mc = fopen("/proc/sys/vm/max_map_count", "w");
    if (!mc)
        return -1;
    int rc = fprintf(mc, "%ld\n", n) < 0;
    return fclose(mc) || rc ? -1 : 0;
}

/* The value of "<field>: N kB" of /proc/self/status as a long (VmSize). */
static long
vm_size_kb(void)
{
    return self_kb("status", "VmSize");
}

struct dense
{
    int alive;
    char why[128];
    double pss, private_kb, pte, vmas, slab_kb, vm_kb;
    int have_slabs;
};

/* Creates up to `target` Faaslets of p (each after one call), measuring
 * what they hold, then destroys them. */
static struct dense
dense_run(gr_proto* p, int target)
{
    struct dense d = { 0 };
    gr_faaslet** fs = calloc((size_t)target, sizeof *fs);
    if (!fs)
        die("calloc", -ENOMEM, NULL);
    snprintf(d.why, sizeof d.why, "reached the target");
    struct mem before = mem_now();
    struct slabs s0 = slabs_now();
    long vm0 = vm_size_kb();
    for (; d.alive < target; d.alive++) {
        int rc = gr_faaslet_create(p, &fs[d.alive]);
        if (rc) {
            snprintf(
              d.why, sizeof d.why, "creation failed: %s", gr_strerror(rc));
            break;
        }
        noop_call(fs[d.alive]);
    }
    struct mem after = mem_now();
    struct slabs s1 = slabs_now();
    long vm1 = vm_size_kb();
    int n = d.alive ? d.alive : 1;
    d.pss = (double)(after.pss - before.pss) / n;
    d.private_kb = (double)(after.private_kb - before.private_kb) / n;
    d.pte = (double)(after.pte - before.pte) / n;
    d.vmas = (double)(after.vmas - before.vmas) / n;
    d.vm_kb = (double)(vm1 - vm0) / n;
    d.have_slabs = s0.ok && s1.ok;
    for (int i = 0; d.have_slabs && i < 3; i++)
        d.slab_kb +=
          (double)(s1.objs[i] - s0.objs[i]) * (double)s1.size[i] / 1024.0 / n;
    for (int i = 0; i < d.alive; i++)
        gr_faaslet_destroy(fs[i]);
    free(fs);
    return d;
}

/* dense_run in a child process, so that each row starts from the same
 * heap (a run in this process would reuse the heap an earlier run freed
 * and count less than its Faaslets hold). */
static struct dense
dense_run_forked(gr_proto* p, int target)
{
    struct dense d = { 0 };
    int fds[2];
    if (pipe(fds) < 0)
        die("pipe", -errno, NULL);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork", -errno, NULL);
    if (pid == 0) {
        close(fds[0]);
        d = dense_run(p, target);
        ssize_t w = write(fds[1], &d, sizeof d);
        _exit(w == (ssize_t)sizeof d ? 0 : 1);
    }
    close(fds[1]);
    ssize_t r = read(fds[0], &d, sizeof d);
    close(fds[0]);
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) ||
        r != (ssize_t)sizeof d)
        die("density child", -ECHILD, NULL);
    return d;
}

struct dense_result
{
    struct dense tiny, forced, touch_bounds, touch_forced, touch_guard;
    int have_touch;
    int max_alive;
    char max_why[256];
};

/* touch_*: optional (NULL), the page-writing guest with a small maximum
 * and with the default one (guard pages, measured at 10,000 alive: 8 GiB
 * each would not fit 100,000). */
static struct dense_result
density_bounds(const char* tiny_path,
               const char* small_path,
               const char* touch_tiny,
               const char* touch_small,
               int cap)
{
    struct dense_result res;
    memset(&res, 0, sizeof res);
    /* Each idle Faaslet maps its memory in two VMAs (the snapshot's
     * private mapping, and the rest of the reservation); a few more for
     * the process. */
    long old_maps = read_map_count();
    long need = 2L * cap + 65536;
    int raised = 0;
    if (old_maps >= 0 && old_maps < need) {
        if (geteuid() == 0 && write_map_count(need) == 0)
            raised = 1;
        else
            printf("# vm.max_map_count is %ld and cannot be raised here (not "
                   "root): about %ld\n# Faaslets fit; run as root, or "
                   "`sysctl vm.max_map_count=%ld` first\n",
                   old_maps,
                   old_maps / 2,
                   need);
    }
    gr_engine_config auto_cfg = { .import_check = gr_host_import_check,
                                  .backend = GR_ENGINE_GRANARY };
    gr_engine_config forced_cfg = auto_cfg;
    forced_cfg.explicit_bounds = 1; /* as GRANARY_BOUNDS_CHECKS=1 */
    gr_engine *ea = NULL, *ef = NULL;
    int rc = gr_engine_create(&auto_cfg, &ea);
    if (rc == 0)
        rc = gr_engine_create(&forced_cfg, &ef);
    if (rc)
        die("granary engine", rc, NULL);
    gr_object *ot, *os;
    gr_proto* pt = load(ea, tiny_path, &ot);
    gr_proto* ps = load(ef, small_path, &os);

    res.tiny = dense_run_forked(pt, DENSITY_TARGET);
    res.forced = dense_run_forked(ps, DENSITY_TARGET);
    res.max_alive = max_alive(pt, cap, res.max_why, sizeof res.max_why);
    if (touch_tiny && touch_small) {
        /* The default maximum: guard pages, as the engine chooses. */
        gr_object *o1, *o2, *o3;
        gr_proto* p1 = load(ea, touch_tiny, &o1);
        gr_proto* p2 = load(ea, touch_small, &o2);
        gr_proto* p3 = load(ef, touch_small, &o3);
        res.touch_bounds = dense_run_forked(p1, DENSITY_TARGET);
        res.touch_forced = dense_run_forked(p3, DENSITY_TARGET);
        res.touch_guard = dense_run_forked(p2, DENSITY_TARGET / 10);
        res.have_touch = 1;
        gr_proto_unref(p1);
        gr_proto_unref(p2);
        gr_proto_unref(p3);
        gr_object_unref(o1);
        gr_object_unref(o2);
        gr_object_unref(o3);
    }

    gr_proto_unref(pt);
    gr_proto_unref(ps);
    gr_object_unref(ot);
    gr_object_unref(os);
    gr_engine_destroy(ea);
    gr_engine_destroy(ef);
    if (raised && write_map_count(old_maps) < 0)
        fprintf(stderr,
                "bench_faaslet: could not restore vm.max_map_count to %ld\n",
                old_maps);
    printf("# density with bounds checks (granary backend); vm.max_map_count "
           "%ld%s\n",
           raised ? need : old_maps,
           raised ? " (raised for the run, restored after)" : "");
    return res;
}

static void
print_dense(const char* what, const struct dense* d)
{
    char slab[16] = "n/a";
    if (d->have_slabs)
        snprintf(slab, sizeof slab, "%.2f", d->slab_kb);
    printf("%-22s %8d %8.1f %8.1f %7.2f %6.2f %8s %9.1f %10.0f  %s\n",
           what,
           d->alive,
           d->pss,
           d->private_kb,
           d->pte,
           d->vmas,
           slab,
           d->pss + d->pte + d->slab_kb,
           d->vm_kb,
           d->why);
}

int
main(int argc, char** argv)
{
    if (argc < 4) {
        fprintf(stderr,
                "usage: bench_faaslet SMALL.wasm LARGE.wasm INITHEAVY.wasm "
                "[max-alive-cap [TINY.wasm [TOUCH_TINY.wasm "
                "TOUCH_SMALL.wasm]]]\n"
                "  TINY.wasm: a no-op declaring a small maximum memory, "
                "for density with\n  bounds checks (skipped without it); "
                "TOUCH_*: a call writing one page, with\n  a small and the "
                "default maximum (kernel memory per strategy)\n");
        return 2;
    }
    int cap = argc > 4 ? atoi(argv[4]) : 200000;
    const char* tiny = argc > 5 ? argv[5] : NULL;
    if (cap < 1) {
        fprintf(stderr, "bench_faaslet: bad max-alive cap\n");
        return 2;
    }
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

    struct dense_result dr;
    if (tiny) {
        dr = density_bounds(tiny,
                            argv[1],
                            argc > 7 ? argv[6] : NULL,
                            argc > 7 ? argv[7] : NULL,
                            cap);
        printf("# per idle Faaslet, KiB (after one call; differences over "
               "the number alive):\n"
               "# pss, private and pte (page tables, VmPTE) as above; vmas: "
               "mappings per Faaslet;\n"
               "# slabs: the kernel's vm_area_struct, anon_vma and "
               "anon_vma_chain objects\n"
               "# (/proc/slabinfo, system-wide); total: pss + pte + slabs; "
               "vm: address space\n");
        printf("%-22s %8s %8s %8s %7s %6s %8s %9s %10s\n",
               "module",
               "alive",
               "pss",
               "private",
               "pte",
               "vmas",
               "slabs",
               "total",
               "vm_kib");
        print_dense("no-op, 4 MiB max", &dr.tiny);
        print_dense("no-op, 1 GiB forced", &dr.forced);
        if (dr.have_touch) {
            print_dense("1 page, 4 MiB max", &dr.touch_bounds);
            print_dense("1 page, 1 GiB forced", &dr.touch_forced);
            print_dense("1 page, guard pages", &dr.touch_guard);
        }
        printf("# 4 MiB max: bounds checks chosen for the module (small "
               "declared maximum);\n# 1 GiB forced: granary-cc's default "
               "maximum with GRANARY_BOUNDS_CHECKS=1;\n# 1 page: a call "
               "that writes one page (its page tables stay after the "
               "reset: a page-table\n# page maps 2 MiB, a middle "
               "directory page 1 GiB, so small reservations share\n# "
               "the latter and 1 GiB or 8 GiB ones each need their own);\n# "
               "guard pages: the same with an 8 GiB reservation "
               "each (only 10,000: 16,382 fit)\n");
        printf("faaslets_alive_bounds %d (small max; %s)\n",
               dr.max_alive,
               dr.max_why);
    }
    printf("RESULT fresh_call_p50_us %.2f us\n", fresh_small_p50);
    printf("RESULT restore_call_p50_us %.2f us\n", restore_small_p50);
    printf("RESULT warm_call_p50_us %.2f us\n", warm_small_p50);
    printf("RESULT fork_p50_us %.2f us\n", fork_pct.p50);
    printf("RESULT pss_idle_kb %.1f KiB\n", m10k.pss);
    printf("RESULT pte_idle_kb %.2f KiB\n", m10k.pte);
    printf("RESULT idle_faaslet_kb %.1f KiB\n", m10k.pss + m10k.pte);
    printf("RESULT vmas_per_faaslet %.2f count\n", m10k.vmas);
    printf("RESULT faaslets_alive %d count\n", alive);
    if (tiny) {
        const struct dense* t = &dr.tiny;
        printf("RESULT bounds_faaslets_idle %d count\n", t->alive);
        printf("RESULT bounds_forced_faaslets_idle %d count\n",
               dr.forced.alive);
        printf("RESULT bounds_faaslets_alive %d count\n", dr.max_alive);
        printf("RESULT bounds_pss_idle_kb %.1f KiB\n", t->pss);
        printf("RESULT bounds_pte_idle_kb %.2f KiB\n", t->pte);
        printf("RESULT bounds_vmas_per_faaslet %.2f count\n", t->vmas);
        if (t->have_slabs)
            printf("RESULT bounds_vma_slab_kb %.2f KiB\n", t->slab_kb);
        printf("RESULT bounds_idle_faaslet_kb %.1f KiB\n",
               t->pss + t->pte + t->slab_kb);
        if (dr.have_touch) {
            printf("RESULT bounds_touch_pte_kb %.2f KiB\n",
                   dr.touch_bounds.pte);
            printf("RESULT bounds_forced_touch_pte_kb %.2f KiB\n",
                   dr.touch_forced.pte);
            printf("RESULT guard_touch_pte_kb %.2f KiB\n", dr.touch_guard.pte);
        }
    }
    return 0;
}
