/* SPDX-License-Identifier: Apache-2.0 */
/* bench-state: HOGWILD SGD (examples/sgd) run two ways in one go, to the
 * same target loss: N Faaslets in one Granary process sharing the weights
 * through the zero-copy local tier, and N native processes that pull and
 * push the weights through a private redis-server every batch (what a
 * container platform does). Prints time to the target and peak memory of
 * each, their ratios, and state read/write throughput local vs Redis.
 * Usage: bench_state <sgd_guest.wasm> [workers] [examples] */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "../../tests/support/testutil.h"
#include "faaslet/faaslet.h"
#include "host/host.h"
#include "sgd.h"
#include "state/state.h"

#define BATCH 1000u
#define LR0 0.5f
#define MAX_EPOCHS 30
#define TARGET_LOSS 0.40

struct result
{
    double seconds; /* to the target loss */
    double loss;    /* reached */
    int epochs;
    long peak_kb;  /* sum of peak RSS of the processes */
    long redis_kb; /* the baseline's redis-server */
    int ok;
};

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static float
lr_of(int epoch)
{
    return LR0 / (1.0f + 0.5f * (float)epoch);
}

/* Keeps the read loop of the throughput test from being optimised away. */
static volatile uint64_t read_sink;

/* The value in KiB of the line "<field>: N kB" of /proc/<pid>/<file>, or 0
 * if the process is gone. */
static long
proc_kb(int pid, const char* file, const char* field)
{
    char path[64], line[256], fmt[48];
    snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
    snprintf(fmt, sizeof fmt, "%s: %%ld", field);
    FILE* f = fopen(path, "r");
    long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, fmt, &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* Peak resident set size of a process. */
static long
vm_hwm_kb(int pid)
{
    return proc_kb(pid, "status", "VmHWM");
}

/* Proportional set size of a process. PSS counts a page shared by several
 * mappings or processes once in total, so the data set mapped into every
 * Faaslet is not counted once per Faaslet. */
static long
pss_kb(int pid)
{
    return proc_kb(pid, "smaps_rollup", "Pss");
}

/* PSS of pid plus that of its direct children (the baseline's workers and
 * redis-server are children of the side's process). */
static long
tree_pss_kb(int pid)
{
    long total = pss_kb(pid);
    DIR* d = opendir("/proc");
    struct dirent* e;
    while (d && (e = readdir(d))) {
        int child = atoi(e->d_name);
        if (child <= 0)
            continue;
        char path[64], line[256];
        snprintf(path, sizeof path, "/proc/%d/status", child);
        FILE* f = fopen(path, "r");
        int ppid = -1;
        while (f && fgets(line, sizeof line, f))
            if (sscanf(line, "PPid: %d", &ppid) == 1)
                break;
        if (f)
            fclose(f);
        if (ppid == pid)
            total += pss_kb(child);
    }
    if (d)
        closedir(d);
    return total;
}

/* Waits for pid, sampling the PSS of its process tree every 10 ms; returns
 * the largest total seen. */
static long
wait_sampling_pss(int pid)
{
    long peak = 0;
    for (;;) {
        long now = tree_pss_kb(pid);
        if (now > peak)
            peak = now;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return peak;
        struct timespec ts = { 0, 10000000 };
        nanosleep(&ts, NULL);
    }
}

/* ---- Granary: N Faaslets, weights and examples as mapped state keys ---- */

struct gworker
{
    gr_faaslet* f;
    unsigned id, n_workers, n_examples;
    float lr;
    int bad;
};

static void*
gworker_run(void* p)
{
    struct gworker* w = p;
    for (unsigned b = w->id * BATCH; b < w->n_examples;
         b += w->n_workers * BATCH) {
        char in[64];
        int len = snprintf(in, sizeof in, "%u %u %f", b, b + BATCH, w->lr);
        gr_call c = { .input = (const uint8_t*)in, .input_len = (size_t)len };
        gr_call_result r;
        if (gr_faaslet_call(w->f, &c, &r) || r.status || r.return_code)
            w->bad++;
    }
    return NULL;
}

static void
run_granary(const char* wasm, unsigned nw, unsigned n, struct result* res)
{
    /* Compiling the function is an upload-time cost (and cached): load it
     * before the clock starts, like the baseline's binary already exists. */
    char err[256];
    gr_engine* engine;
    gr_engine_config ec = { .import_check = gr_host_import_check };
    gr_object* obj;
    if (gr_engine_create(&ec, &engine) ||
        gr_engine_load_file(engine, wasm, &obj, err, sizeof err)) {
        fprintf(stderr, "granary: %s\n", err);
        return;
    }
    double t0 = now_s();
    gr_state* st;
    if (gr_state_create(NULL, &st, err, sizeof err))
        return;
    /* The data set is generated straight into its state segment. */
    size_t bound = sgd_bytes(n, sgd_max_nnz(n));
    gr_state_key *ek, *wk;
    if (gr_state_key_open(st, "bench", "sgd_examples", 12, bound, &ek) ||
        gr_state_key_open(
          st, "bench", "sgd_weights", 11, SGD_FEATURES * 4, &wk))
        return;
    void* ex = mmap(
      NULL, bound, PROT_READ | PROT_WRITE, MAP_SHARED, gr_state_key_fd(ek), 0);
    float* w = mmap(NULL,
                    SGD_FEATURES * 4,
                    PROT_READ | PROT_WRITE,
                    MAP_SHARED,
                    gr_state_key_fd(wk),
                    0);
    sgd_generate(ex, n, 42);
    sgd_view v = sgd_view_of(ex);

    gr_proto* proto;
    if (gr_proto_create(obj, NULL, &proto, err, sizeof err)) {
        fprintf(stderr, "granary: %s\n", err);
        return;
    }
    gr_object_unref(obj);
    struct gworker ws[64];
    for (unsigned i = 0; i < nw; i++) {
        ws[i] = (struct gworker){ .id = i, .n_workers = nw, .n_examples = n };
        if (gr_faaslet_create(proto, &ws[i].f) ||
            gr_faaslet_set_state(ws[i].f, st, "bench"))
            return;
    }
    double loss = sgd_loss(&v, w);
    int e = 0;
    for (; e < MAX_EPOCHS && loss > TARGET_LOSS; e++) {
        pthread_t th[64];
        for (unsigned i = 0; i < nw; i++) {
            ws[i].lr = lr_of(e);
            pthread_create(&th[i], NULL, gworker_run, &ws[i]);
        }
        for (unsigned i = 0; i < nw; i++)
            pthread_join(th[i], NULL);
        loss = sgd_loss(&v, w);
        printf("  granary  epoch %2d loss %.4f  (%.2f s)\n",
               e + 1,
               loss,
               now_s() - t0);
    }
    res->seconds = now_s() - t0;
    res->loss = loss;
    res->epochs = e;
    res->ok = loss <= TARGET_LOSS;
    for (unsigned i = 0; i < nw; i++) {
        res->ok &= ws[i].bad == 0;
        gr_faaslet_destroy(ws[i].f);
    }
    res->peak_kb = vm_hwm_kb(getpid());
    gr_proto_unref(proto);
    gr_engine_destroy(engine);
    munmap(ex, bound);
    munmap(w, SGD_FEATURES * 4);
    gr_state_key_unref(ek);
    gr_state_key_unref(wk);
    gr_state_destroy(st);
}

/* ---- baseline: N processes pulling/pushing the weights via Redis ------- */

static redisReply*
rcmd(redisContext* c, const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply* r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!r) {
        fprintf(stderr, "redis: %s\n", c->errstr);
        exit(3);
    }
    return r;
}

/* A baseline worker process: its own copy of the examples (fetched once),
 * then per batch GET weights, compute the update, GET again, add, SET. */
static int
baseline_worker(const char* host, int port, unsigned id, unsigned nw)
{
    redisContext* c = redisConnect(host, port);
    if (!c || c->err)
        return 2;
    /* Keeps the reply as its copy of the data (no second copy). */
    redisReply* ex = rcmd(c, "GET sgd_examples");
    sgd_view v = sgd_view_of(ex->str);
    redisReply* r;
    size_t wbytes = SGD_FEATURES * 4;
    float* w = malloc(wbytes);
    float* d = malloc(wbytes);
    for (;;) {
        r = rcmd(c, "BLPOP go:%u 0", id);
        int epoch = atoi(r->element[1]->str);
        freeReplyObject(r);
        if (epoch < 0)
            break;
        float lr = lr_of(epoch);
        for (unsigned b = id * BATCH; b < v.n; b += nw * BATCH) {
            r = rcmd(c, "GET sgd_weights");
            memcpy(w, r->str, wbytes);
            freeReplyObject(r);
            memset(d, 0, wbytes);
            sgd_batch_delta(&v, w, d, b, b + BATCH, lr);
            r = rcmd(c, "GET sgd_weights");
            memcpy(w, r->str, wbytes);
            freeReplyObject(r);
            for (size_t i = 0; i < SGD_FEATURES; i++)
                w[i] += d[i];
            freeReplyObject(rcmd(c, "SET sgd_weights %b", w, wbytes));
        }
        freeReplyObject(rcmd(c, "RPUSH done %u", id));
    }
    /* Our own peak: ru_maxrss from wait4 would include the forking
     * parent's pages from before exec. */
    freeReplyObject(rcmd(c, "RPUSH rss %ld", vm_hwm_kb(getpid())));
    redisFree(c);
    freeReplyObject(ex);
    free(w);
    free(d);
    return 0;
}

static void
run_baseline(const char* self, unsigned nw, unsigned n, struct result* res)
{
    gr_test_redis redis = { 0 };
    if (gr_test_redis_start(&redis)) {
        fprintf(stderr, "baseline: cannot start redis-server\n");
        return;
    }
    double t0 = now_s();
    redisContext* c = redisConnect("127.0.0.1", redis.port);
    size_t bound = sgd_bytes(n, sgd_max_nnz(n));
    void* ex = malloc(bound);
    size_t used = sgd_generate(ex, n, 42);
    sgd_view v = sgd_view_of(ex);
    freeReplyObject(rcmd(c, "SET sgd_examples %b", ex, used));
    float* w = calloc(SGD_FEATURES, 4);
    freeReplyObject(rcmd(c, "SET sgd_weights %b", w, SGD_FEATURES * 4));
    pid_t pids[64];
    for (unsigned i = 0; i < nw; i++) {
        char port[16], id[16], nws[16];
        snprintf(port, sizeof port, "%d", redis.port);
        snprintf(id, sizeof id, "%u", i);
        snprintf(nws, sizeof nws, "%u", nw);
        pids[i] = fork();
        if (pids[i] == 0) {
            execl(self, self, "--worker", port, id, nws, (char*)NULL);
            _exit(127);
        }
    }
    double loss = sgd_loss(&v, w);
    int e = 0;
    for (; e < MAX_EPOCHS && loss > TARGET_LOSS; e++) {
        for (unsigned i = 0; i < nw; i++)
            freeReplyObject(rcmd(c, "RPUSH go:%u %d", i, e));
        for (unsigned i = 0; i < nw; i++)
            freeReplyObject(rcmd(c, "BLPOP done 0"));
        redisReply* r = rcmd(c, "GET sgd_weights");
        memcpy(w, r->str, SGD_FEATURES * 4);
        freeReplyObject(r);
        loss = sgd_loss(&v, w);
        printf("  baseline epoch %2d loss %.4f  (%.2f s)\n",
               e + 1,
               loss,
               now_s() - t0);
    }
    res->seconds = now_s() - t0;
    res->loss = loss;
    res->epochs = e;
    res->ok = loss <= TARGET_LOSS;
    res->redis_kb = vm_hwm_kb(redis.pid);
    for (unsigned i = 0; i < nw; i++)
        freeReplyObject(rcmd(c, "RPUSH go:%u -1", i));
    for (unsigned i = 0; i < nw; i++) {
        redisReply* r = rcmd(c, "BLPOP rss 0");
        res->peak_kb += atol(r->element[1]->str);
        freeReplyObject(r);
    }
    for (unsigned i = 0; i < nw; i++) {
        int status;
        waitpid(pids[i], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status))
            res->ok = 0;
    }
    redisFree(c);
    free(ex);
    free(w);
    gr_test_redis_stop(&redis);
}

/* ---- throughput: local (zero copy) vs push/pull through Redis ---------- */

static void
throughput(void)
{
    gr_test_redis redis = { 0 };
    if (gr_test_redis_start(&redis))
        return;
    gr_state_config rc = { .redis = redis.addr, .timeout_ms = 10000 };
    gr_state *loc, *rem;
    if (gr_state_create(NULL, &loc, NULL, 0) ||
        gr_state_create(&rc, &rem, NULL, 0))
        return;
    printf("\nstate throughput (MB/s; local = through a mapping of the "
           "segment, redis = push/pull):\n");
    printf("  %-8s %12s %12s %12s %12s\n",
           "size",
           "local write",
           "local read",
           "redis push",
           "redis pull");
    size_t sizes[] = { 1024, 1u << 20, 64u << 20 };
    const char* names[] = { "1 KB", "1 MB", "64 MB" };
    for (int s = 0; s < 3; s++) {
        size_t n = sizes[s];
        int reps = n <= 1024 ? 20000 : n <= (1u << 20) ? 200 : 5;
        gr_state_key *lk, *rk;
        gr_state_key_open(loc, "bench", "tp", 2, n, &lk);
        gr_state_key_open(rem, "bench", "tp", 2, n, &rk);
        uint8_t* m = mmap(
          NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, gr_state_key_fd(lk), 0);
        double t = now_s();
        for (int i = 0; i < reps; i++)
            memset(m, i, n);
        double lw = (double)n * reps / (now_s() - t) / 1e6;
        t = now_s();
        for (int i = 0; i < reps; i++) {
            const uint64_t* q = (const uint64_t*)m;
            uint64_t acc = 0;
            for (size_t j = 0; j < n / 8; j++)
                acc += q[j];
            read_sink += acc;
        }
        double lr = (double)n * reps / (now_s() - t) / 1e6;
        munmap(m, n);
        t = now_s();
        for (int i = 0; i < reps; i++)
            gr_state_key_push(rk);
        double rp = (double)n * reps / (now_s() - t) / 1e6;
        t = now_s();
        for (int i = 0; i < reps; i++)
            gr_state_key_pull(rk);
        double rl = (double)n * reps / (now_s() - t) / 1e6;
        printf(
          "  %-8s %12.0f %12.0f %12.0f %12.0f\n", names[s], lw, lr, rp, rl);
        gr_state_key_unref(lk);
        gr_state_key_unref(rk);
    }
    gr_state_destroy(loc);
    gr_state_destroy(rem);
    gr_test_redis_stop(&redis);
}

int
main(int argc, char** argv)
{
    if (argc == 5 && strcmp(argv[1], "--worker") == 0)
        return baseline_worker("127.0.0.1",
                               atoi(argv[2]),
                               (unsigned)atoi(argv[3]),
                               (unsigned)atoi(argv[4]));
    if (argc < 2) {
        fprintf(
          stderr, "usage: %s sgd_guest.wasm [workers] [examples]\n", argv[0]);
        return 2;
    }
    unsigned nw = argc > 2 ? (unsigned)atoi(argv[2]) : 8;
    unsigned n = argc > 3 ? (unsigned)atoi(argv[3]) : 40000;
    if (nw < 1 || nw > 64)
        nw = 8;
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("bench-state: HOGWILD SVM, %u examples x %u features (~0.16%% "
           "dense), %u workers, batch %u, target hinge loss %.2f\n",
           n,
           SGD_FEATURES,
           nw,
           BATCH,
           TARGET_LOSS);
    /* Memory: the baseline holds one copy of the data set per worker plus
     * Redis' copy; Granary one copy mapped by every Faaslet. The ratio so
     * grows with the number of workers (measured here: about 7.5x at 4
     * workers, 14x at 8), hence the default of 8 on this 2-core machine. */
    /* Each side runs in its own child so peak memory is its own. */
    struct result* res = mmap(NULL,
                              2 * sizeof *res,
                              PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS,
                              -1,
                              0);
    memset(res, 0, 2 * sizeof *res);
    long pss_peak[2] = { 0, 0 };
    for (int side = 0; side < 2; side++) {
        printf("%s:\n",
               side ? "baseline (N processes + Redis)"
                    : "granary (N Faaslets, one process)");
        pid_t pid = fork();
        if (pid == 0) {
            if (side == 0)
                run_granary(argv[1], nw, n, &res[0]);
            else
                run_baseline("/proc/self/exe", nw, n, &res[1]);
            _exit(0);
        }
        pss_peak[side] = wait_sampling_pss(pid);
    }
    struct result *g = &res[0], *b = &res[1];
    printf("\n%-10s %10s %8s %7s %14s\n",
           "",
           "time (s)",
           "loss",
           "epochs",
           "peak RSS (MB)");
    printf("%-10s %10.2f %8.4f %7d %14.1f\n",
           "granary",
           g->seconds,
           g->loss,
           g->epochs,
           g->peak_kb / 1024.0);
    printf("%-10s %10.2f %8.4f %7d %14.1f  (workers %.1f + redis %.1f)\n",
           "baseline",
           b->seconds,
           b->loss,
           b->epochs,
           (b->peak_kb + b->redis_kb) / 1024.0,
           b->peak_kb / 1024.0,
           b->redis_kb / 1024.0);
    throughput();
    if (!g->ok || !b->ok) {
        printf("\nbench-state: a side failed to reach the target\n");
        return 1;
    }
    printf("\npeak PSS, sampled every 10 ms over each side's processes: "
           "granary %.1f MB, baseline %.1f MB (redis-server included)\n",
           pss_peak[0] / 1024.0,
           pss_peak[1] / 1024.0);
    printf("peak RSS ratio (sum of VmHWM; overcounts shared mappings in "
           "granary): %.2f\n",
           (double)(b->peak_kb + b->redis_kb) / (double)g->peak_kb);
    printf("RESULT sgd_speedup %.2f\n", b->seconds / g->seconds);
    printf("RESULT sgd_memory_ratio %.2f\n",
           (double)pss_peak[1] / (double)(pss_peak[0] ? pss_peak[0] : 1));
    return 0;
}
