/* SPDX-License-Identifier: Apache-2.0 */
/* bench-state: HOGWILD SGD (examples/sgd) raced two ways in one go, on the
 * same data set, for the same number of epochs with the same per-batch
 * update: N Faaslets in one Granary process sharing the weights through the
 * zero-copy local tier, and N native processes that pull the weights from
 * a private redis-server every batch and push their change as a delta that
 * a Lua script adds atomically (what a container platform does). Before
 * either clock starts the data set is generated and stored in that side's
 * global tier (Redis in both cases: Granary's state tier runs on Redis
 * here); start-up (loading the data set from there, starting the workers),
 * the epochs and the final loss are reported separately, with the ratios,
 * then state read/write throughput local vs Redis.
 * Usage: bench_state <sgd_guest.wasm> [workers] [examples] [epochs] */
#include <dirent.h>
#include <errno.h>
#include <math.h>
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

#include <granary/status.h>

#include "../../tests/support/testutil.h"
#include "faaslet/faaslet.h"
#include "host/host.h"
#include "sgd.h"
#include "state/state.h"

#define BATCH 1000u
/* The learning rate of epoch e is lr0 / (1 + e / 2) (argument 5, default
 * LR0). At 0.2, 0.5 and 1.0 the baseline ends with a higher loss than
 * Granary after the same epochs (measured here): its workers compute each
 * batch against weights pulled at the start of it, so concurrent workers
 * overshoot together, where Faaslets see each other's updates at once. */
#define LR0 0.5f
static float lr0 = LR0;
#define DEFAULT_EPOCHS 10
#define MAX_EPOCHS 100
/* A final loss above this is flagged in the output (not a failure: the
 * loss is a result; failed calls are failures). */
#define GOOD_LOSS 0.40

struct result
{
    double startup_s; /* clock start -> data set loaded, workers ready */
    double epochs_s;  /* the epochs (loss evaluation excluded) */
    double finish_s;  /* weights back in the global tier */
    double loss;      /* after the last epoch */
    int epochs;
    long peak_kb;  /* sum of peak RSS of the processes */
    long redis_kb; /* the side's redis-server */
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
    return lr0 / (1.0f + 0.5f * (float)epoch);
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

/* Stores the data set and zero weights in the global tier through a state
 * service of its own (so the measured one starts with nothing local). */
static int
granary_store(const char* redis, const void* ex, size_t used)
{
    gr_state_config rc = { .redis = redis, .timeout_ms = 30000 };
    gr_state* st;
    char err[256] = "";
    if (gr_state_create(&rc, &st, err, sizeof err)) {
        fprintf(stderr, "granary: state: %s\n", err);
        return -1;
    }
    float* w = calloc(SGD_FEATURES, 4);
    int rc1 = gr_state_set(st, "bench", "sgd_examples", ex, used);
    int rc2 = gr_state_set(st, "bench", "sgd_weights", w, SGD_FEATURES * 4);
    free(w);
    gr_state_destroy(st);
    if (rc1 || rc2) {
        fprintf(stderr,
                "granary: storing the data set: %s\n",
                gr_strerror(rc1 ? rc1 : rc2));
        return -1;
    }
    return 0;
}

static void
run_granary(const char* wasm,
            unsigned nw,
            unsigned n,
            int epochs,
            struct result* res)
{
    gr_test_redis redis = { 0 };
    if (gr_test_redis_start(&redis)) {
        fprintf(stderr, "granary: cannot start redis-server\n");
        return;
    }
    /* Compiling the function is an upload-time cost (and cached): load it
     * before the clock starts, like the baseline's binary already exists. */
    char err[256] = "";
    gr_engine* engine;
    gr_engine_config ec = { .import_check = gr_host_import_check };
    gr_object* obj;
    if (gr_engine_create(&ec, &engine) ||
        gr_engine_load_file(engine, wasm, &obj, err, sizeof err)) {
        fprintf(stderr, "granary: %s\n", err);
        goto out_redis;
    }
    size_t bound = sgd_bytes(n, sgd_max_nnz(n));
    void* gen = malloc(bound);
    size_t used = sgd_generate(gen, n, 42);
    int stored = granary_store(redis.addr, gen, used);
    free(gen);
    if (stored)
        goto out_engine;

    /* Start-up: this host's state service pulls both keys from the global
     * tier into its local tier (one copy, mapped by every Faaslet), then
     * the Proto-Faaslet and N Faaslets are made. */
    double t0 = now_s();
    gr_state_config rc = { .redis = redis.addr, .timeout_ms = 30000 };
    gr_state* st;
    if (gr_state_create(&rc, &st, err, sizeof err)) {
        fprintf(stderr, "granary: state: %s\n", err);
        goto out_engine;
    }
    gr_state_key *ek = NULL, *wk = NULL;
    int krc = gr_state_key_open(st, "bench", "sgd_examples", 12, 0, &ek);
    if (!krc)
        krc = gr_state_key_open(st, "bench", "sgd_weights", 11, 0, &wk);
    if (krc || gr_state_key_size(ek) != used ||
        gr_state_key_size(wk) != SGD_FEATURES * 4) {
        fprintf(stderr,
                "granary: loading the data set: %s\n",
                krc ? gr_strerror(krc) : "wrong size");
        goto out_keys;
    }
    void* ex = mmap(NULL, used, PROT_READ, MAP_SHARED, gr_state_key_fd(ek), 0);
    float* w = mmap(NULL,
                    SGD_FEATURES * 4,
                    PROT_READ | PROT_WRITE,
                    MAP_SHARED,
                    gr_state_key_fd(wk),
                    0);
    if (ex == MAP_FAILED || w == MAP_FAILED) {
        perror("granary: mmap");
        goto out_keys;
    }
    sgd_view v = sgd_view_of(ex);
    gr_proto* proto;
    if (gr_proto_create(obj, NULL, &proto, err, sizeof err)) {
        fprintf(stderr, "granary: %s\n", err);
        goto out_map;
    }
    struct gworker ws[64];
    unsigned made = 0;
    int bad = 0;
    for (; made < nw; made++) {
        ws[made] =
          (struct gworker){ .id = made, .n_workers = nw, .n_examples = n };
        if (gr_faaslet_create(proto, &ws[made].f))
            break;
        if (gr_faaslet_set_state(ws[made].f, st, "bench")) {
            gr_faaslet_destroy(ws[made].f);
            break;
        }
    }
    if (made < nw) {
        fprintf(stderr, "granary: cannot create Faaslet %u\n", made);
        bad = 1;
    }
    res->startup_s = now_s() - t0;

    double loss = sgd_loss(&v, w);
    int e = 0;
    for (; !bad && e < epochs; e++) {
        pthread_t th[64];
        double te = now_s();
        for (unsigned i = 0; i < nw; i++) {
            ws[i].lr = lr_of(e);
            pthread_create(&th[i], NULL, gworker_run, &ws[i]);
        }
        for (unsigned i = 0; i < nw; i++)
            pthread_join(th[i], NULL);
        res->epochs_s += now_s() - te;
        loss = sgd_loss(&v, w);
        printf("  granary  epoch %2d loss %.4f  (epochs so far %.3f s)\n",
               e + 1,
               loss,
               res->epochs_s);
    }
    /* Finish: the trained weights go back to the global tier (where the
     * baseline's already are). */
    double tf = now_s();
    int prc = gr_state_key_push(wk);
    res->finish_s = now_s() - tf;
    if (prc) {
        fprintf(stderr, "granary: pushing the weights: %s\n", gr_strerror(prc));
        bad = 1;
    }
    res->loss = loss;
    res->epochs = e;
    for (unsigned i = 0; i < made; i++) {
        if (ws[i].bad)
            fprintf(
              stderr, "granary: worker %u: %d calls failed\n", i, ws[i].bad);
        bad |= ws[i].bad != 0;
        gr_faaslet_destroy(ws[i].f);
    }
    res->ok = !bad && e == epochs && isfinite(loss);
    res->peak_kb = vm_hwm_kb(getpid());
    res->redis_kb = vm_hwm_kb(redis.pid);
    gr_proto_unref(proto);
out_map:
    munmap(ex, used);
    munmap(w, SGD_FEATURES * 4);
out_keys:
    gr_state_key_unref(ek);
    gr_state_key_unref(wk);
    gr_state_destroy(st);
out_engine:
    gr_object_unref(obj);
    gr_engine_destroy(engine);
out_redis:
    gr_test_redis_stop(&redis);
}

/* ---- baseline: N processes pulling/pushing the weights via Redis ------- */

/* Adds the delta in ARGV[1] (little-endian floats) to the float vector in
 * KEYS[1], atomically (a script runs alone): no update is lost, as none is
 * in Granary's shared weights. Works in slices of 1024 floats because
 * struct.unpack returns every value on the Lua stack. */
static const char add_delta_lua[] =
  "local w = redis.call('GET', KEYS[1]) "
  "local d = ARGV[1] "
  "if not w or #w ~= #d then return redis.error_reply('size') end "
  "local n = #w / 4 "
  "local out = {} "
  "local pos = 1 "
  "local i = 0 "
  "while i < n do "
  "  local k = math.min(1024, n - i) "
  "  local f = '<' .. string.rep('f', k) "
  "  local a = {struct.unpack(f, w, pos)} "
  "  local b = {struct.unpack(f, d, pos)} "
  "  for j = 1, k do a[j] = a[j] + b[j] end "
  "  out[#out + 1] = struct.pack(f, unpack(a, 1, k)) "
  "  pos = pos + 4 * k "
  "  i = i + k "
  "end "
  "redis.call('SET', KEYS[1], table.concat(out)) "
  "return 0";

/* A command's reply, or exit(3) on no reply or an error reply: a worker or
 * a coordinator whose command failed ends the run as failed. */
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
    if (r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "redis: %s\n", r->str);
        exit(3);
    }
    return r;
}

/* The coordinator's wait for a worker's message: exit(3) (the run fails)
 * if none comes within 10 minutes, e.g. because a worker died. */
static redisReply*
blpop(redisContext* c, const char* list)
{
    redisReply* r = rcmd(c, "BLPOP %s 600", list);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        fprintf(stderr, "baseline: no worker message on %s\n", list);
        exit(3);
    }
    return r;
}

/* A baseline worker process: loads its copy of the examples from Redis,
 * says it is ready, then per batch pulls the weights, computes the batch's
 * update against them (sgd_batch_delta: the same step as sgd_batch) and
 * pushes it as a delta through the script. */
static int
baseline_worker(const char* host,
                int port,
                unsigned id,
                unsigned nw,
                const char* sha)
{
    redisContext* c = redisConnect(host, port);
    if (!c || c->err)
        return 2;
    /* Keeps the reply as its copy of the data (no second copy). */
    redisReply* ex = rcmd(c, "GET sgd_examples");
    if (ex->type != REDIS_REPLY_STRING || ex->len < (long)sizeof(sgd_header))
        return 4;
    sgd_view v = sgd_view_of(ex->str);
    size_t wbytes = SGD_FEATURES * 4;
    float* w = malloc(wbytes);
    float* d = malloc(wbytes);
    redisReply* r;
    freeReplyObject(rcmd(c, "RPUSH ready %u", id));
    for (;;) {
        r = rcmd(c, "BLPOP go:%u 0", id);
        int epoch = atoi(r->element[1]->str);
        freeReplyObject(r);
        if (epoch < 0)
            break;
        float lr = lr_of(epoch);
        for (unsigned b = id * BATCH; b < v.n; b += nw * BATCH) {
            r = rcmd(c, "GET sgd_weights");
            if (r->type != REDIS_REPLY_STRING || (size_t)r->len != wbytes)
                return 4;
            memcpy(w, r->str, wbytes);
            freeReplyObject(r);
            memset(d, 0, wbytes);
            sgd_batch_delta(&v, w, d, b, b + BATCH, lr);
            freeReplyObject(
              rcmd(c, "EVALSHA %s 1 sgd_weights %b", sha, d, wbytes));
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
run_baseline(const char* self,
             unsigned nw,
             unsigned n,
             int epochs,
             struct result* res)
{
    gr_test_redis redis = { 0 };
    if (gr_test_redis_start(&redis)) {
        fprintf(stderr, "baseline: cannot start redis-server\n");
        return;
    }
    redisContext* c = redisConnect("127.0.0.1", redis.port);
    if (!c || c->err) {
        fprintf(stderr, "baseline: cannot connect to redis-server\n");
        gr_test_redis_stop(&redis);
        return;
    }
    /* Before the clock, like Granary's side: the data set and zero weights
     * are stored in the global tier; the coordinator keeps its own copy of
     * the examples for the loss, which is not timed on either side. */
    size_t bound = sgd_bytes(n, sgd_max_nnz(n));
    void* ex = malloc(bound);
    size_t used = sgd_generate(ex, n, 42);
    sgd_view v = sgd_view_of(ex);
    freeReplyObject(rcmd(c, "SET sgd_examples %b", ex, used));
    float* w = calloc(SGD_FEATURES, 4);
    freeReplyObject(rcmd(c, "SET sgd_weights %b", w, SGD_FEATURES * 4));
    redisReply* r = rcmd(c, "SCRIPT LOAD %s", add_delta_lua);
    char sha[64];
    snprintf(sha, sizeof sha, "%s", r->str);
    freeReplyObject(r);

    /* Start-up: the worker processes start and each loads the data set. */
    double t0 = now_s();
    pid_t pids[64];
    for (unsigned i = 0; i < nw; i++) {
        char port[16], id[16], nws[16], lr[32];
        snprintf(lr, sizeof lr, "%.9g", (double)lr0);
        snprintf(port, sizeof port, "%d", redis.port);
        snprintf(id, sizeof id, "%u", i);
        snprintf(nws, sizeof nws, "%u", nw);
        pids[i] = fork();
        if (pids[i] == 0) {
            execl(self, self, "--worker", port, id, nws, sha, lr, (char*)NULL);
            _exit(127);
        }
    }
    for (unsigned i = 0; i < nw; i++)
        freeReplyObject(blpop(c, "ready"));
    res->startup_s = now_s() - t0;

    double loss = sgd_loss(&v, w);
    int e = 0;
    for (; e < epochs; e++) {
        double te = now_s();
        for (unsigned i = 0; i < nw; i++)
            freeReplyObject(rcmd(c, "RPUSH go:%u %d", i, e));
        for (unsigned i = 0; i < nw; i++)
            freeReplyObject(blpop(c, "done"));
        res->epochs_s += now_s() - te;
        r = rcmd(c, "GET sgd_weights");
        memcpy(w, r->str, SGD_FEATURES * 4);
        freeReplyObject(r);
        loss = sgd_loss(&v, w);
        printf("  baseline epoch %2d loss %.4f  (epochs so far %.3f s)\n",
               e + 1,
               loss,
               res->epochs_s);
    }
    res->finish_s = 0; /* the weights are in Redis already */
    res->loss = loss;
    res->epochs = e;
    res->ok = e == epochs && isfinite(loss);
    res->redis_kb = vm_hwm_kb(redis.pid);
    for (unsigned i = 0; i < nw; i++)
        freeReplyObject(rcmd(c, "RPUSH go:%u -1", i));
    for (unsigned i = 0; i < nw; i++) {
        r = blpop(c, "rss");
        res->peak_kb += atol(r->element[1]->str);
        freeReplyObject(r);
    }
    for (unsigned i = 0; i < nw; i++) {
        int status;
        waitpid(pids[i], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status)) {
            fprintf(stderr, "baseline: worker %u failed\n", i);
            res->ok = 0;
        }
    }
    redisFree(c);
    free(ex);
    free(w);
    gr_test_redis_stop(&redis);
}

/* ---- throughput: local (zero copy) vs push/pull through Redis ---------- */

/* Returns 0, or -1 if any state operation failed. */
static int
throughput(void)
{
    gr_test_redis redis = { 0 };
    if (gr_test_redis_start(&redis)) {
        fprintf(stderr, "throughput: cannot start redis-server\n");
        return -1;
    }
    gr_state_config rc = { .redis = redis.addr, .timeout_ms = 10000 };
    gr_state *loc = NULL, *rem = NULL;
    int failed = 0;
    if (gr_state_create(NULL, &loc, NULL, 0) ||
        gr_state_create(&rc, &rem, NULL, 0)) {
        fprintf(stderr, "throughput: cannot create the state services\n");
        failed = 1;
        goto out;
    }
    printf("\nstate throughput (MB/s; local = through a mapping of the "
           "segment, redis = push/pull of the whole value):\n");
    printf("  %-8s %12s %12s %12s %12s\n",
           "size",
           "local write",
           "local read",
           "redis push",
           "redis pull");
    size_t sizes[] = { 1024, 1u << 20, 64u << 20 };
    const char* names[] = { "1 KB", "1 MB", "64 MB" };
    for (int s = 0; s < 3 && !failed; s++) {
        size_t n = sizes[s];
        int reps = n <= 1024 ? 20000 : n <= (1u << 20) ? 200 : 5;
        gr_state_key *lk = NULL, *rk = NULL;
        if (gr_state_key_open(loc, "bench", "tp", 2, n, &lk) ||
            gr_state_key_open(rem, "bench", "tp", 2, n, &rk)) {
            failed = 1;
            gr_state_key_unref(lk);
            break;
        }
        uint8_t* m = mmap(
          NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, gr_state_key_fd(lk), 0);
        if (m == MAP_FAILED) {
            failed = 1;
            gr_state_key_unref(lk);
            gr_state_key_unref(rk);
            break;
        }
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
        for (int i = 0; i < reps && !failed; i++)
            failed |= gr_state_key_push(rk) != 0;
        double rp = (double)n * reps / (now_s() - t) / 1e6;
        t = now_s();
        for (int i = 0; i < reps && !failed; i++)
            failed |= gr_state_key_pull(rk) != 0;
        double rl = (double)n * reps / (now_s() - t) / 1e6;
        if (!failed)
            printf(
              "  %-8s %12.0f %12.0f %12.0f %12.0f\n", names[s], lw, lr, rp, rl);
        gr_state_key_unref(lk);
        gr_state_key_unref(rk);
    }
    if (failed)
        fprintf(stderr, "throughput: a state operation failed\n");
out:
    gr_state_destroy(loc);
    gr_state_destroy(rem);
    gr_test_redis_stop(&redis);
    return failed ? -1 : 0;
}

static void
print_side(const char* name, const struct result* r, long pss_kb)
{
    printf("%-9s %9.3f %10.4f %10.3f %9.3f %8.4f %9.1f\n",
           name,
           r->startup_s,
           r->epochs ? r->epochs_s / r->epochs : 0.0,
           r->finish_s,
           r->startup_s + r->epochs_s + r->finish_s,
           r->loss,
           pss_kb / 1024.0);
}

int
main(int argc, char** argv)
{
    if (argc == 7 && strcmp(argv[1], "--worker") == 0) {
        lr0 = strtof(argv[6], NULL);
        return baseline_worker("127.0.0.1",
                               atoi(argv[2]),
                               (unsigned)atoi(argv[3]),
                               (unsigned)atoi(argv[4]),
                               argv[5]);
    }
    if (argc < 2) {
        fprintf(stderr,
                "usage: %s sgd_guest.wasm [workers] [examples] [epochs] "
                "[lr0]\n",
                argv[0]);
        return 2;
    }
    unsigned nw = argc > 2 ? (unsigned)atoi(argv[2]) : 8;
    unsigned n = argc > 3 ? (unsigned)atoi(argv[3]) : 40000;
    int epochs = argc > 4 ? atoi(argv[4]) : DEFAULT_EPOCHS;
    if (argc > 5)
        lr0 = strtof(argv[5], NULL);
    if (nw < 1 || nw > 64 || n < BATCH || epochs < 1 || epochs > MAX_EPOCHS ||
        !(lr0 > 0 && lr0 < 10)) {
        fprintf(stderr, "bench_state: bad workers, examples, epochs or lr0\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("bench-state: HOGWILD SVM, %u examples x %u features (~0.16%% "
           "dense), %u workers, batch %u, %d epochs on both sides, learning "
           "rate %.3g / (1 + epoch / 2); %ld CPUs\n",
           n,
           SGD_FEATURES,
           nw,
           BATCH,
           epochs,
           (double)lr0,
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("  both: data set stored in the global tier (Redis) before the "
           "clock;\n"
           "  granary: the state tier pulls it once into shared memory, "
           "Faaslets update the\n"
           "    shared weights in place (sgd_batch), weights pushed back at "
           "the end;\n"
           "  baseline: every process GETs its own copy, then per batch GETs "
           "the weights,\n"
           "    computes the same step (sgd_batch_delta) and adds it "
           "atomically (Lua script).\n"
           "  compilers: guest clang -O2 to wasm, wasm2c, cc -O2; baseline "
           "cc with the\n"
           "    build's flags (RelWithDebInfo: -O2).\n");
    /* Memory: the baseline holds one copy of the data set per worker plus
     * Redis' copy; Granary one local copy mapped by every Faaslet plus
     * Redis' copy. The ratio so grows with the number of workers. */
    /* Each side runs in its own child so peak memory is its own. */
    struct result* res = mmap(NULL,
                              2 * sizeof *res,
                              PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS,
                              -1,
                              0);
    if (res == MAP_FAILED)
        return 1;
    memset(res, 0, 2 * sizeof *res);
    long pss_peak[2] = { 0, 0 };
    for (int side = 0; side < 2; side++) {
        printf("%s:\n",
               side ? "baseline (N processes + Redis)"
                    : "granary (N Faaslets in one process, state tier on "
                      "Redis)");
        pid_t pid = fork();
        if (pid == 0) {
            if (side == 0)
                run_granary(argv[1], nw, n, epochs, &res[0]);
            else
                run_baseline("/proc/self/exe", nw, n, epochs, &res[1]);
            _exit(0);
        }
        pss_peak[side] = wait_sampling_pss(pid);
    }
    struct result *g = &res[0], *b = &res[1];
    printf("\n%-9s %9s %10s %10s %9s %8s %9s\n",
           "",
           "start (s)",
           "epoch (s)",
           "finish (s)",
           "total (s)",
           "loss",
           "PSS (MB)");
    print_side("granary", g, pss_peak[0]);
    print_side("baseline", b, pss_peak[1]);
    printf("  start: clock start to data set loaded and every worker ready; "
           "epoch: mean\n"
           "  wall time of one pass over the data by all workers (loss "
           "evaluation not\n"
           "  timed); finish: trained weights back in the global tier; PSS: "
           "peak, sampled\n"
           "  every 10 ms over the side's processes, its redis-server "
           "included.\n");
    printf("peak RSS (sum of VmHWM, overcounts shared mappings): granary "
           "%.1f MB + redis %.1f MB, baseline workers %.1f MB + redis %.1f "
           "MB\n",
           g->peak_kb / 1024.0,
           g->redis_kb / 1024.0,
           b->peak_kb / 1024.0,
           b->redis_kb / 1024.0);
    int tp = throughput();
    if (!g->ok || !b->ok || tp) {
        printf("\nbench-state: FAILED (%s%s%s: failed calls): no RESULT\n",
               g->ok ? "" : "granary side ",
               b->ok ? "" : "baseline side ",
               tp ? "throughput" : "");
        return 1;
    }
    if (g->loss > GOOD_LOSS || b->loss > GOOD_LOSS)
        printf("\nnote: a final loss above %.2f (granary %.4f, baseline "
               "%.4f): that side has not converged in %d epochs\n",
               GOOD_LOSS,
               g->loss,
               b->loss,
               epochs);
    double gt = g->startup_s + g->epochs_s + g->finish_s;
    double bt = b->startup_s + b->epochs_s + b->finish_s;
    printf("\nratios baseline / granary: total %.2f, start-up %.2f, per "
           "epoch %.2f, peak PSS %.2f; final loss %.4f vs %.4f\n",
           bt / gt,
           b->startup_s / g->startup_s,
           b->epochs_s / g->epochs_s,
           (double)pss_peak[1] / (double)(pss_peak[0] ? pss_peak[0] : 1),
           g->loss,
           b->loss);
    printf("sgd_speedup: total time (start-up + epochs + finish), "
           "baseline / granary; sgd_epoch_speedup: time per epoch; "
           "sgd_memory_ratio: peak PSS\n");
    printf("RESULT sgd_speedup %.2f x\n", bt / gt);
    printf("RESULT sgd_epoch_speedup %.2f x\n", b->epochs_s / g->epochs_s);
    printf("RESULT sgd_startup_speedup %.2f x\n", b->startup_s / g->startup_s);
    printf("RESULT sgd_memory_ratio %.2f x\n",
           (double)pss_peak[1] / (double)(pss_peak[0] ? pss_peak[0] : 1));
    return 0;
}
