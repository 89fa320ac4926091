/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/sched: the scheduler's structures shared by the function
 * store (store.c), the call path (call.c) and the lifecycle (sched.c). */
#ifndef GR_SCHED_SCHED_INT_H
#define GR_SCHED_SCHED_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "faaslet/faaslet.h"
#include "faaslet/pool.h"
#include "sched/sched.h"

#define GR__SCHED_MAX_DEPTH 64      /* chain depth */
#define GR__SCHED_MAX_CHILDREN 1024 /* children per call */
#define GR__SCHED_SHARDS 16         /* call-record table shards */
/* Executor threads started beyond the slot count, so that the slots that
 * waiting chaining parents give back are used (see call.c). */
#define GR__SCHED_EXTRA_THREADS 256
#define GR__SCHED_TENANT_BUCKETS 256

/* One version of one function. Immutable after creation except the lazily
 * loaded proto/pool (set once under load_lock, then read-only). Shared by
 * reference: the store holds one, every call using it holds one. */
struct gr__fn
{
    atomic_int refs;
    gr_fn_info info;
    struct gr__fn* next; /* store hash chain (store lock) */
    pthread_mutex_t load_lock;
    atomic_int loaded;          /* proto and pool are set */
    _Atomic uint64_t last_used; /* CLOCK_MONOTONIC ns of the last load */
    gr_proto* proto;
    gr_pool* pool;
};

struct gr__tenant;

/* The record of one call. Table fields under its shard's lock; state is
 * also atomic so waiters can poll it. The finished-FIFO links, tenant and
 * bytes belong to the sched's rec_lock. */
struct gr__call
{
    atomic_int refs;
    uint64_t id, parent;
    int own_id;             /* id drawn here (a collision draws again) */
    struct gr__call* hnext; /* shard hash chain */
    struct gr__call *gprev, *gnext; /* all finished records, oldest first */
    struct gr__call *uprev, *unext; /* its user's finished records */
    struct gr__tenant* tenant;      /* set while kept in the FIFOs */
    size_t bytes;                   /* accounted while kept */
    struct gr__fn* fn;              /* held until the call has run */
    uint8_t* input;                 /* owned copy (async calls only) */
    size_t input_len;
    uint64_t timeout_ns;
    char user[GR_SCHED_NAME_MAX + 1];
    char fn_name[GR_SCHED_NAME_MAX + 1];
    uint32_t depth;           /* chain depth: 0 for a top-level call */
    atomic_int state;         /* gr_call_state */
    atomic_int remote;        /* 1 while handed to another host, awaiting
                                 gr_sched_remote_done */
    int waiters;              /* waiters (shard lock) */
    gr_sched_done_fn done_fn; /* completion hook (shard lock) */
    void* done_ud;
    char host[64];
    int status, return_code, cold;
    int truncated; /* output or stdout/stderr hit its limit */
    char trap[64];
    uint8_t* output;
    size_t output_len;
    char *out, *err;
    uint64_t queued_ns, started_ns, finished_ns;
    int np, spread;                 /* an MPI app of np ranks (0 = no) */
    int threads;                    /* gr_invoke_opts.threads */
    atomic_int threads_running;     /* its thread granules now */
    struct gr__call *tprev, *tnext; /* gr_sched.tcalls (t_lock) */
    struct gr__sched_mpi* mpi;      /* its world's part here (mpi_app.c) */
};

struct gr__shard
{
    pthread_mutex_t lock;
    pthread_cond_t done; /* a call with plain waiters finished */
    struct gr__call** buckets;
    size_t nbuckets;
};

/* One user's finished records, oldest first (rec_lock); freed when it
 * keeps none. */
struct gr__tenant
{
    char user[GR_SCHED_NAME_MAX + 1];
    struct gr__tenant* next; /* hash chain */
    struct gr__call *head, *tail;
    size_t count, bytes;
};

struct gr_sched
{
    gr_sched_config cfg;
    char* data_dir;
    gr_placement placement;
    gr_remote remote; /* .start NULL = no remote execution */

    /* function store */
    pthread_rwlock_t fn_lock;
    struct gr__fn** fn_buckets;
    size_t fn_nbuckets;
    pthread_mutex_t upload_lock; /* serialises store writes */

    /* slots and queue */
    atomic_int free_slots;
    atomic_size_t queue_len;
    pthread_mutex_t q_lock;
    pthread_cond_t q_cond;   /* work, a free slot, a lender's child done */
    struct gr__call** queue; /* ring of queue_max */
    size_t q_head, q_cap;
    atomic_int stopping;
    atomic_int running;
    pthread_t* threads; /* q_lock: [0, nthreads) started, of max_threads */
    int nthreads, max_threads;
    int idle_threads; /* executors waiting for work (q_lock) */
    pthread_t janitor;
    int janitor_started;
    pthread_mutex_t jan_lock;
    pthread_cond_t jan_cond;

    /* records */
    struct gr__shard shards[GR__SCHED_SHARDS];
    struct gr__sched_journal* journal; /* <data>/calls.db (journal.h) */
    /* finished records kept, across shards: bounded by count, bytes and
     * bytes per user (rec_lock; never held with a shard lock) */
    pthread_mutex_t rec_lock;
    struct gr__call *rhead, *rtail;
    size_t rec_count, rec_bytes;
    struct gr__tenant* tenants[GR__SCHED_TENANT_BUCKETS];

    /* stats */
    atomic_uint_fast64_t calls, errors, timeouts, rejected, cold, warm;
    /* thread granules (call.c): running, slots held, started, refused */
    atomic_int thread_granules, thread_slots;
    atomic_uint_fast64_t threads_started, threads_refused;
    pthread_mutex_t t_lock;
    struct gr__call* tcalls; /* calls running threads (t_lock) */
    atomic_uint_fast64_t buckets[GR_SCHED_LATENCY_BUCKETS];
    atomic_uint_fast64_t latency_sum_ns;
};

uint64_t gr__sched_now(void);

/* store.c */
int gr__sched_store_open(gr_sched* s);
void gr__sched_store_close(gr_sched* s);
/* A new reference to the current version of user/fn, or NULL. */
struct gr__fn* gr__sched_fn_find(gr_sched* s,
                                 const char* user,
                                 const char* fn,
                                 size_t fn_len);
void gr__sched_fn_unref(struct gr__fn* f);
/* Loads the proto and pool on first use. Returns 0 or an error. */
int gr__sched_fn_load(gr_sched* s, struct gr__fn* f);
/* Calls cb on every loaded function (store read lock held). */
void gr__sched_fn_each(gr_sched* s,
                       void (*cb)(struct gr__fn* f, void* ud),
                       void* ud);
int gr__sched_name_ok(const char* name, size_t len);
/* Both non-NULL and valid names (user and function). */
int gr__sched_names_ok(const char* user, const char* fn);

/* call.c */
int gr__sched_calls_init(gr_sched* s);
void gr__sched_calls_fini(gr_sched* s);
void* gr__sched_executor_main(void* arg);
/* Fails every queued call with -ESHUTDOWN. */
void gr__sched_queue_drain(gr_sched* s);
/* For mpi_app.c: see the static functions of the same names in call.c. */
int gr__sched_record_insert(gr_sched* s, struct gr__call* c);
void gr__sched_record_finish(gr_sched* s, struct gr__call* c, gr_call_state st);
void gr__sched_call_unref(struct gr__call* c);
char* gr__sched_dup_str(const char* src, size_t n);
int gr__sched_slots_take(gr_sched* s, int n);
void gr__sched_slots_release(gr_sched* s, int n);

/* threads.c. The slot source of one running call's guest threads
 * (host/threads.h):
 * they take their slots from s's free slots, as calls do. Fills *ts (its
 * ctx is t, which the caller keeps, like ts, until the call has run);
 * point the call's gr_host_ctx.thread_slots at ts. */
struct gr__sched_tctx
{
    gr_sched* s;
    struct gr__call* c;
};
struct gr_threads_slots;
void gr__sched_thread_slots(struct gr_threads_slots* ts,
                            struct gr__sched_tctx* t,
                            gr_sched* s,
                            struct gr__call* c);

/* mpi_app.c: starts c (np set, not yet inserted, c->input owned) as an
 * MPI app on this host: records it and runs it on a thread of its own.
 * Returns 0 or an error (c untouched: the caller frees it). */
int gr__sched_mpi_start(gr_sched* s,
                        struct gr__call* c,
                        const gr_invoke_opts* o);
void gr__sched_mpi_free(struct gr__sched_mpi* m);

#endif
