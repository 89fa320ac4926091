/* SPDX-License-Identifier: Apache-2.0 */
/* Guest threads (see threads.h): the wasi thread-spawn and granary
 * thread_limit imports, thread groups (one per call that spawned) and the
 * process-wide pool of host threads that run them. A thread that traps,
 * exits or runs past the deadline ends the whole call: the group records
 * the first such outcome and cancels every other thread (gr_rt_cancel
 * makes their deadline pass; wrt_wake_all wakes the ones in
 * memory.atomic.wait), and gr_threads_end waits for all of them. With a
 * slot source (threads.h, gr_threads_slots), a group also holds the slots
 * its threads run on and gives them back as they end. */
#include "host/threads.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <granary/status.h>

#include "engine/rt.h"
#include "util/alloc.h"

/* wasi-threads: ids are positive and below 2^29. */
#define MAX_TID 0x1fffffffu
/* Idle host threads kept in the pool; more exit when their thread ends. */
#define POOL_MAX_IDLE 64u
/* Native stack of a pool thread (guest code runs on it). */
#define WORKER_STACK (8u << 20)
/* WASI errno values returned negated by thread-spawn. */
#define WASI_EAGAIN 6
#define WASI_EINVAL 28
#define WASI_ENOSYS 52

/* One guest thread other than the main one. Its fields are written by the
 * spawning thread before the host thread starts, except `rt` (under the
 * group's lock). */
struct member
{
    struct gr_threads* g;
    uint32_t tid, arg;
    gr_instance* in;
    gr_rt_thread* rt; /* the host thread running it, once started */
    struct member* next;
};

/* One call's threads. Touched by all of them, under `lock`, except the
 * fields set at creation (root, main_rt, start, spawn_err, slots,
 * deadline). */
struct gr_threads
{
    pthread_mutex_t lock;
    pthread_cond_t idle; /* signalled when `running` reaches 0 */
    gr_instance* root;   /* the main thread's instance (owns the memory) */
    gr_rt_thread* main_rt;
    wasm_rt_function_ptr_t start; /* wasi_thread_start(tid, arg) */
    int spawn_err; /* what thread-spawn returns when it cannot work: no
                      start export or no shared memory; 0 = it can */
    const gr_threads_slots* slots; /* NULL: no slot accounting */
    int held;          /* slots taken from `slots` and not given back */
    int reserved;      /* of which thread_limit granted (kept to the end) */
    uint64_t deadline; /* CLOCK_MONOTONIC ns; 0 = none */
    uint32_t next_tid, running;
    int stopping; /* the call is ending: no new threads, others cancelled */
    struct member* members;
    int failed, fail_rc;
    gr_trap fail_trap;
    uint32_t fail_tid;
};

/* ---- the pool ---------------------------------------------------------- */

/* A host thread of the pool; `job` under pool_lock. */
struct worker
{
    pthread_cond_t cond;
    struct member* job;
    struct worker* next;
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct worker* idle_workers;
static size_t n_workers, n_idle, n_busy, n_busy_peak;
static unsigned long n_created, n_spawned;

static uint64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct start_args
{
    wasm_rt_function_ptr_t fn;
    void* module;
    uint32_t tid, arg;
};

static void
run_start(void* p)
{
    struct start_args* a = p;
    ((void (*)(void*, uint32_t, uint32_t))a->fn)(a->module, a->tid, a->arg);
}

/* Caller holds g->lock. Ends the call: every running thread (and the main
 * one when another thread failed) is cancelled, waiters are woken. */
static void
stop_locked(struct gr_threads* g, int main_too)
{
    g->stopping = 1;
    for (struct member* m = g->members; m; m = m->next)
        if (m->rt)
            gr_rt_cancel(m->rt);
    if (main_too && g->main_rt)
        gr_rt_cancel(g->main_rt);
    gr_instance_wake_waiters(g->root);
}

static int worker_idle(struct worker* w);

/* Caller holds g->lock. Gives back the slots of g beyond what its live
 * threads and its thread_limit grant use (a thread that ended, a spawn
 * that failed). */
static void
trim_slots_locked(struct gr_threads* g)
{
    if (!g->slots)
        return;
    int keep = g->reserved > (int)g->running ? g->reserved : (int)g->running;
    if (g->held > keep) {
        g->slots->give(g->slots->ctx, g->held - keep);
        g->held = keep;
    }
}

static void
slot_event(const gr_threads_slots* sl, int delta)
{
    if (sl && sl->event)
        sl->event(sl->ctx, delta);
}

/* Runs one guest thread on pool thread w and retires it. Returns 1 if w
 * is to exit, 0 if it waits for its next job. */
static int
run_member(struct worker* w, struct member* m)
{
    struct gr_threads* g = m->g;
    /* A cancel aimed at this host thread's previous guest thread. */
    gr_rt_cancel_clear();
    pthread_mutex_lock(&g->lock);
    int go = !g->stopping;
    if (go)
        m->rt = gr_rt_thread_self();
    pthread_mutex_unlock(&g->lock);
    if (go) {
        uint64_t now = mono_ns();
        uint64_t timeout = !g->deadline        ? GR_THREADS_FAR_TIMEOUT_NS
                           : g->deadline > now ? g->deadline - now
                                               : 1;
        struct start_args a = {
            g->start, gr_instance_module(m->in), m->tid, m->arg
        };
        gr_trap t;
        int rc = gr_instance_call_timeout(m->in, run_start, &a, &t, timeout);
        if (rc == -EAGAIN) { /* no deadline slot: the thread cannot run */
            rc = GR_ETRAP;
            t.kind = GR_TRAP_HOST;
            t.exit_code = 0;
        }
        if (rc) {
            pthread_mutex_lock(&g->lock);
            if (!g->stopping) {
                g->failed = 1;
                g->fail_rc = rc;
                g->fail_trap = t;
                g->fail_tid = m->tid;
                stop_locked(g, 1);
            }
            pthread_mutex_unlock(&g->lock);
        }
    }
    gr_instance_destroy(m->in);
    /* Idle again before the group learns this thread ended, so that the
     * next spawn of the call finds this host thread free. A job handed to
     * it now runs after the rest of this function (and after its cancel
     * has been cleared). */
    int quit = worker_idle(w);
    pthread_mutex_lock(&g->lock);
    for (struct member** pp = &g->members; *pp; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    g->running--;
    /* Under the lock: g->slots is the embedder's, valid only until
     * gr_threads_end returns, which it may do once the lock is released. */
    trim_slots_locked(g);
    slot_event(g->slots, -1);
    if (g->running == 0)
        pthread_cond_broadcast(&g->idle);
    /* g may be freed as soon as the lock is released. */
    pthread_mutex_unlock(&g->lock);
    gr_free(m);
    gr_rt_cancel_clear();
    return quit;
}

/* w's guest thread is done: w joins the idle list (or, beyond
 * POOL_MAX_IDLE, leaves the pool: returns 1). */
static int
worker_idle(struct worker* w)
{
    pthread_mutex_lock(&pool_lock);
    n_busy--;
    w->job = NULL;
    int quit = n_idle >= POOL_MAX_IDLE;
    if (quit) {
        n_workers--;
    } else {
        w->next = idle_workers;
        idle_workers = w;
        n_idle++;
    }
    pthread_mutex_unlock(&pool_lock);
    return quit;
}

static void*
worker_main(void* p)
{
    struct worker* w = p;
    struct member* m = w->job;
    while (!run_member(w, m)) {
        pthread_mutex_lock(&pool_lock);
        while (!w->job)
            pthread_cond_wait(&w->cond, &pool_lock);
        m = w->job;
        pthread_mutex_unlock(&pool_lock);
    }
    pthread_cond_destroy(&w->cond);
    gr_free(w);
    return NULL;
}

/* Hands m to an idle pool thread or a new one. Returns 0 or -EAGAIN. */
static int
dispatch(struct member* m)
{
    pthread_mutex_lock(&pool_lock);
    struct worker* w = idle_workers;
    if (w) {
        idle_workers = w->next;
        n_idle--;
        n_busy++;
        if (n_busy > n_busy_peak)
            n_busy_peak = n_busy;
        n_spawned++;
        w->job = m;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&pool_lock);
        return 0;
    }
    pthread_mutex_unlock(&pool_lock);
    w = gr_calloc(1, sizeof *w);
    if (!w)
        return -EAGAIN;
    pthread_cond_init(&w->cond, NULL);
    w->job = m;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, WORKER_STACK);
    /* Counted before it starts: it decrements n_busy when done. */
    pthread_mutex_lock(&pool_lock);
    n_workers++;
    n_busy++;
    if (n_busy > n_busy_peak)
        n_busy_peak = n_busy;
    pthread_mutex_unlock(&pool_lock);
    pthread_t t;
    int rc = pthread_create(&t, &attr, worker_main, w);
    pthread_attr_destroy(&attr);
    pthread_mutex_lock(&pool_lock);
    if (rc) {
        n_workers--;
        n_busy--;
    } else {
        n_created++;
        n_spawned++;
    }
    pthread_mutex_unlock(&pool_lock);
    if (rc) {
        pthread_cond_destroy(&w->cond);
        gr_free(w);
        return -EAGAIN;
    }
    return 0;
}

void
gr_threads_get_stats(gr_threads_stats* st)
{
    pthread_mutex_lock(&pool_lock);
    st->workers = n_workers;
    st->idle = n_idle;
    st->busy = n_busy;
    st->created = n_created;
    st->spawned = n_spawned;
    st->busy_peak = n_busy_peak;
    pthread_mutex_unlock(&pool_lock);
}

void
gr_threads_reset_peak(void)
{
    pthread_mutex_lock(&pool_lock);
    n_busy_peak = n_busy;
    pthread_mutex_unlock(&pool_lock);
}

/* ---- limits ------------------------------------------------------------ */

static pthread_once_t cpus_once = PTHREAD_ONCE_INIT;
static int n_cpus = 1, thread_cap = 1;

static void
count_cpus(void)
{
    cpu_set_t set;
    int n = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
    if (n < 1) {
        long k = sysconf(_SC_NPROCESSORS_ONLN);
        n = k > 0 ? (int)k : 1;
    }
    n_cpus = n;
    thread_cap = n;
    const char* env = getenv("GRANARY_THREAD_LIMIT");
    if (env && *env) {
        char* end;
        long v = strtol(env, &end, 10);
        if (*end == '\0' && v >= 1 && v <= (long)GR_THREADS_MAX_PER_CALL + 1)
            thread_cap = (int)v;
    }
}

int
gr_threads_cap(void)
{
    pthread_once(&cpus_once, count_cpus);
    return thread_cap;
}

int
gr_threads_limit(void)
{
    pthread_once(&cpus_once, count_cpus);
    pthread_mutex_lock(&pool_lock);
    long busy = (long)n_busy;
    pthread_mutex_unlock(&pool_lock);
    long free_slots = (long)n_cpus - 1 - busy;
    long n = free_slots + 1;
    if (n > thread_cap)
        n = thread_cap;
    return n < 1 ? 1 : (int)n;
}

/* ---- groups ------------------------------------------------------------ */

int
gr_threads_module_spawns(const gr_object* o)
{
    const struct gr_shim* s = gr_object_shim(o);
    for (size_t i = 0; i < s->n_imports; i++)
        if (strcmp(s->imports[i].module, "wasi") == 0 &&
            strcmp(s->imports[i].name, "thread-spawn") == 0)
            return 1;
    return 0;
}

uint64_t
gr_threads_call_timeout(const gr_object* o, uint64_t timeout_ns)
{
    if (timeout_ns || !gr_threads_module_spawns(o))
        return timeout_ns;
    return GR_THREADS_FAR_TIMEOUT_NS;
}

/* The group of the call running on this thread, created on first use (by
 * the first spawn, or the first thread_limit of a call with a slot
 * source: in is then the main thread's instance, as no other thread can
 * exist yet). Without a slot source, a module that cannot spawn gets no
 * group: *err says why. */
static struct gr_threads*
group_of(gr_host_ctx* h, gr_instance* in, int* err)
{
    if (h->threads)
        return h->threads;
    wasm_rt_function_ptr_t start =
      gr_object_export(gr_instance_object(in), "wasi_thread_start", "ii>");
    int spawn_err = 0;
    if (!start || !gr_instance_memory_shared(in))
        spawn_err = start ? -WASI_EINVAL : -WASI_ENOSYS;
    if (spawn_err && !h->thread_slots) {
        *err = spawn_err;
        return NULL;
    }
    struct gr_threads* g = gr_calloc(1, sizeof *g);
    if (!g) {
        *err = -WASI_EAGAIN;
        return NULL;
    }
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->idle, NULL);
    g->root = in;
    g->main_rt = gr_rt_thread_self();
    g->start = start;
    g->spawn_err = spawn_err;
    g->slots = h->thread_slots;
    g->deadline = gr_rt_deadline();
    h->threads = g;
    return g;
}

void
gr_threads_end(gr_host_ctx* h, int* rc, gr_trap* trap, uint32_t* thread)
{
    if (thread)
        *thread = 0;
    struct gr_threads* g = h ? h->threads : NULL;
    if (!g)
        return;
    pthread_mutex_lock(&g->lock);
    if (!g->stopping)
        stop_locked(g, 0);
    while (g->running)
        pthread_cond_wait(&g->idle, &g->lock);
    /* Every thread has ended: the call's slots all go back. */
    if (g->slots && g->held)
        g->slots->give(g->slots->ctx, g->held);
    g->held = g->reserved = 0;
    pthread_mutex_unlock(&g->lock);
    /* A failing thread cancelled this one too. */
    gr_rt_cancel_clear();
    if (g->failed) {
        *rc = g->fail_rc;
        *trap = g->fail_trap;
        if (thread)
            *thread = g->fail_tid;
    }
    h->threads = NULL;
    pthread_cond_destroy(&g->idle);
    pthread_mutex_destroy(&g->lock);
    gr_free(g);
}

/* ---- imports ----------------------------------------------------------- */

const struct gr_host_import gr_thread_imports[] = {
    { "wasi", "thread-spawn", "i>i" },
    { "granary", "thread_limit", ">i" },
    { NULL, NULL, NULL },
};

struct Z_wasi_instance_t;
struct Z_granary_instance_t;
uint32_t Z_wasiZ_threadZ2Dspawn(struct Z_wasi_instance_t* ctx, uint32_t arg);
uint32_t Z_granaryZ_thread_limit(struct Z_granary_instance_t* ctx);

uint32_t
Z_wasiZ_threadZ2Dspawn(struct Z_wasi_instance_t* ctx, uint32_t arg)
{
    gr_instance* in = gr_instance_from_import(ctx);
    gr_host_ctx* h = gr_instance_host(in);
    int err = -WASI_ENOSYS;
    struct gr_threads* g = h ? group_of(h, in, &err) : NULL;
    if (!g)
        return (uint32_t)err;
    if (g->spawn_err)
        return (uint32_t)g->spawn_err;
    pthread_mutex_lock(&g->lock);
    int ok = !g->stopping && g->running < GR_THREADS_MAX_PER_CALL &&
             g->next_tid < MAX_TID;
    /* A thread granule needs a slot: one the call holds and no live
     * thread uses, or a free one; or the user's leave to oversubscribe. */
    if (ok && g->slots && (int)g->running >= g->held) {
        if (g->slots->take(g->slots->ctx, 1) == 1)
            g->held++;
        else if (1 + (int)g->running >= g->slots->want) {
            ok = 0;
            slot_event(g->slots, 0);
        }
    }
    uint32_t tid = ok ? ++g->next_tid : 0;
    if (ok) {
        g->running++;
        slot_event(g->slots, 1);
    }
    pthread_mutex_unlock(&g->lock);
    if (!ok)
        return (uint32_t)-WASI_EAGAIN;
    struct member* m = gr_calloc(1, sizeof *m);
    int rc = m ? gr_instance_thread_create(in, &m->in) : -ENOMEM;
    if (rc == 0) {
        m->g = g;
        m->tid = tid;
        m->arg = arg;
        pthread_mutex_lock(&g->lock);
        m->next = g->members;
        g->members = m;
        pthread_mutex_unlock(&g->lock);
        rc = dispatch(m);
        if (rc) {
            pthread_mutex_lock(&g->lock);
            for (struct member** pp = &g->members; *pp; pp = &(*pp)->next)
                if (*pp == m) {
                    *pp = m->next;
                    break;
                }
            pthread_mutex_unlock(&g->lock);
        }
    }
    if (rc) {
        if (m)
            gr_instance_destroy(m->in);
        gr_free(m);
        pthread_mutex_lock(&g->lock);
        g->running--;
        trim_slots_locked(g);
        slot_event(g->slots, -1);
        if (g->running == 0)
            pthread_cond_broadcast(&g->idle);
        pthread_mutex_unlock(&g->lock);
        return (uint32_t)(rc == -EINVAL ? -WASI_EINVAL : -WASI_EAGAIN);
    }
    return tid;
}

/* thread_limit with a slot source: tops up the call's grant (see
 * gr_threads_slots in threads.h). */
static int
limit_granted(struct gr_threads* g)
{
    int want = g->slots->want;
    int cap = want > 0 ? want : gr_threads_cap();
    if (cap > (int)GR_THREADS_MAX_PER_CALL + 1)
        cap = (int)GR_THREADS_MAX_PER_CALL + 1;
    pthread_mutex_lock(&g->lock);
    if (!g->stopping) {
        int need = cap - 1 - g->held;
        if (need > 0)
            g->held += g->slots->take(g->slots->ctx, need);
        g->reserved = g->held;
    }
    int n = want > 0 ? want : 1 + g->held;
    pthread_mutex_unlock(&g->lock);
    return n;
}

uint32_t
Z_granaryZ_thread_limit(struct Z_granary_instance_t* ctx)
{
    gr_instance* in = gr_instance_from_import(ctx);
    gr_host_ctx* h = gr_instance_host(in);
    if (!h || !h->thread_slots)
        return (uint32_t)gr_threads_limit();
    int err = 0;
    struct gr_threads* g = group_of(h, in, &err);
    /* Out of memory: the call's own thread only. */
    return g ? (uint32_t)limit_granted(g) : 1u;
}
