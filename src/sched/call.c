/* SPDX-License-Identifier: Apache-2.0 */
/* The call path: call records (sharded table; finished ones kept oldest
 * first, bounded by count and bytes, in all and per user), executor slots
 * (an atomic token count), the bounded FIFO queue, running a call in a
 * pooled Faaslet, waiting (a waiting call gives its slot back) and the
 * chaining operations handed to the host layer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <granary/status.h>

#include "engine/rt.h"
#include "host/faas/faas.h"
#include "host/host.h"
#include "host/threads.h"
#include "sched/journal.h"
#include "sched/sched_int.h"
#include "util/alloc.h"
#include "util/log.h"

/* The call this thread is running. Chaining and waiting start from here. */
struct exec
{
    gr_sched* s;
    struct gr__call* call;
    struct gr__call** children; /* referenced records, by handle */
    uint32_t n_children, cap_children;
    uint64_t deadline; /* CLOCK_MONOTONIC ns, 0 = none */
    struct exec* prev;
    gr_threads_slots tslots; /* where the call's threads get slots */
    struct gr__sched_tctx tctx;
};

static _Thread_local struct exec* tl_exec;

static const struct gr_faas_chain_ops chain_ops;

/* Static empty string handed out for empty stdout/stderr so callers may
 * print them; gr_call_info_fini knows not to free it. */
static char empty_str[1];

/* ---- records ------------------------------------------------------------- */

/* A call id: 64 bits from the kernel's random generator, so that no id
 * tells anything about another (a tenant cannot guess its neighbours'
 * calls). Read in blocks per thread to keep the system call off the
 * per-call path; used words are wiped. 0 is never an id. Uniqueness is
 * checked on insert (record_insert draws again on a collision). */
static uint64_t
next_id(void)
{
    static _Thread_local uint64_t pool[32];
    static _Thread_local unsigned left;
    for (;;) {
        if (!left) {
            size_t got = 0;
            while (got < sizeof pool) {
                ssize_t n = getrandom((char*)pool + got, sizeof pool - got, 0);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0) {
                    /* Only on kernels without getrandom (before 3.17),
                     * which Granary does not support. */
                    GR_ERROR("sched: getrandom failed: %s",
                             strerror(n < 0 ? errno : EIO));
                    abort();
                }
                got += (size_t)n;
            }
            left = sizeof pool / sizeof pool[0];
        }
        uint64_t x = pool[--left];
        pool[left] = 0;
        if (x)
            return x;
    }
}

static struct gr__shard*
shard_of(gr_sched* s, uint64_t id)
{
    return &s->shards[id % GR__SCHED_SHARDS];
}

static size_t
bucket_of(const struct gr__shard* sh, uint64_t id)
{
    return (size_t)((id / GR__SCHED_SHARDS) % sh->nbuckets);
}

static void
call_free(struct gr__call* c)
{
    gr__sched_mpi_free(c->mpi);
    gr__sched_fn_unref(c->fn);
    gr_free(c->input);
    gr_free(c->output);
    if (c->out != empty_str)
        gr_free(c->out);
    if (c->err != empty_str)
        gr_free(c->err);
    gr_free(c);
}

static void
call_unref(struct gr__call* c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1)
        call_free(c);
}

/* A new record of user/fn holding f (reference taken over; NULL for a
 * function not stored here, which can only run remotely), one reference
 * for the table and one for the caller. id 0 = a new id. */
static struct gr__call*
call_new(gr_sched* s,
         struct gr__fn* f,
         const char* user,
         const char* fn,
         size_t fn_len,
         uint64_t parent,
         uint32_t depth,
         uint64_t timeout_ns,
         uint64_t id)
{
    struct gr__call* c = gr_malloc(sizeof *c);
    if (!c)
        return NULL;
    memset(c, 0, sizeof *c);
    atomic_init(&c->refs, 2);
    atomic_init(&c->state, GR_CALL_QUEUED);
    atomic_init(&c->remote, 0);
    c->own_id = !id;
    c->id = id ? id : next_id();
    c->parent = parent;
    c->fn = f;
    c->depth = depth;
    c->timeout_ns = timeout_ns ? timeout_ns : s->cfg.timeout_ns;
    snprintf(c->user, sizeof c->user, "%s", user);
    snprintf(c->fn_name, sizeof c->fn_name, "%.*s", (int)fn_len, fn);
    c->queued_ns = gr__sched_now();
    return c;
}

/* Inserts c; -EEXIST if a record with an id given by the caller exists
 * (an id drawn here is drawn again). */
static int
record_insert(gr_sched* s, struct gr__call* c)
{
    for (;;) {
        struct gr__shard* sh = shard_of(s, c->id);
        int dup = 0;
        pthread_mutex_lock(&sh->lock);
        size_t b = bucket_of(sh, c->id);
        for (struct gr__call* o = sh->buckets[b]; o && !dup; o = o->hnext)
            dup = o->id == c->id;
        if (!dup) {
            c->hnext = sh->buckets[b];
            sh->buckets[b] = c;
        }
        pthread_mutex_unlock(&sh->lock);
        if (!dup)
            return 0;
        if (!c->own_id)
            return -EEXIST;
        c->id = next_id();
    }
}

/* Unlinks c from the hash (shard lock held). */
static void
record_unlink(struct gr__shard* sh, struct gr__call* c)
{
    for (struct gr__call** pp = &sh->buckets[bucket_of(sh, c->id)]; *pp;
         pp = &(*pp)->hnext) {
        if (*pp == c) {
            *pp = c->hnext;
            return;
        }
    }
}

static struct gr__call*
record_find(gr_sched* s, uint64_t id)
{
    struct gr__shard* sh = shard_of(s, id);
    struct gr__call* found = NULL;
    pthread_mutex_lock(&sh->lock);
    for (struct gr__call* c = sh->buckets[bucket_of(sh, id)]; c; c = c->hnext) {
        if (c->id == id) {
            found = c;
            atomic_fetch_add(&c->refs, 1);
            break;
        }
    }
    pthread_mutex_unlock(&sh->lock);
    return found;
}

static void
record_stats(gr_sched* s, const struct gr__call* c, gr_call_state st)
{
    atomic_fetch_add_explicit(&s->calls, 1, memory_order_relaxed);
    if (st == GR_CALL_FAILED)
        atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
    if (c->status == GR_ETIMEOUT)
        atomic_fetch_add_explicit(&s->timeouts, 1, memory_order_relaxed);
    uint64_t lat = c->finished_ns - c->queued_ns;
    static const uint64_t le_ns[GR_SCHED_LATENCY_BUCKETS] = {
        10000,      25000,      50000,      100000,     250000,   500000,
        1000000,    2500000,    5000000,    10000000,   50000000, 100000000,
        500000000u, 1000000000, 5000000000, 10000000000
    };
    for (int i = 0; i < GR_SCHED_LATENCY_BUCKETS; i++) {
        if (lat <= le_ns[i]) {
            atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
            break;
        }
    }
    atomic_fetch_add_explicit(&s->latency_sum_ns, lat, memory_order_relaxed);
}

/* ---- keeping finished records (rec_lock) ---------------------------------
 * Every finished record is on two lists, oldest first: all of them, and its
 * user's. Beyond max_records the oldest of all goes; beyond
 * max_user_record_bytes for one user, that user's oldest; beyond
 * max_record_bytes in all, the oldest of the user holding the most bytes
 * (so that one tenant's large outputs never push out the records of a
 * tenant within its share). The newest record of each list is kept
 * whatever its size, so a caller can always read the call it just made. */

static size_t
str_bytes(const char* p)
{
    return p && p != empty_str ? strlen(p) + 1 : 0;
}

static size_t
record_bytes(const struct gr__call* c)
{
    return sizeof *c + c->output_len + str_bytes(c->out) + str_bytes(c->err) +
           (c->input ? c->input_len : 0);
}

static size_t
tenant_hash(const char* user)
{
    uint64_t h = 1469598103934665603ull;
    for (const char* p = user; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return (size_t)(h % GR__SCHED_TENANT_BUCKETS);
}

static struct gr__tenant*
tenant_get(gr_sched* s, const char* user)
{
    struct gr__tenant** b = &s->tenants[tenant_hash(user)];
    for (struct gr__tenant* t = *b; t; t = t->next)
        if (strcmp(t->user, user) == 0)
            return t;
    struct gr__tenant* t = gr_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    snprintf(t->user, sizeof t->user, "%s", user);
    t->next = *b;
    *b = t;
    return t;
}

static void
tenant_free(gr_sched* s, struct gr__tenant* t)
{
    for (struct gr__tenant** pp = &s->tenants[tenant_hash(t->user)]; *pp;
         pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            gr_free(t);
            return;
        }
    }
}

/* Takes c off both lists and the accounts; returns it for the caller to
 * unlink from its shard (without rec_lock) and unref. */
static struct gr__call*
kept_remove(gr_sched* s, struct gr__call* c)
{
    struct gr__tenant* t = c->tenant;
    if (c->gprev)
        c->gprev->gnext = c->gnext;
    else
        s->rhead = c->gnext;
    if (c->gnext)
        c->gnext->gprev = c->gprev;
    else
        s->rtail = c->gprev;
    s->rec_count--;
    s->rec_bytes -= c->bytes;
    if (t) {
        if (c->uprev)
            c->uprev->unext = c->unext;
        else
            t->head = c->unext;
        if (c->unext)
            c->unext->uprev = c->uprev;
        else
            t->tail = c->uprev;
        t->count--;
        t->bytes -= c->bytes;
        if (!t->count)
            tenant_free(s, t);
    }
    c->gprev = c->gnext = c->uprev = c->unext = NULL;
    c->tenant = NULL;
    return c;
}

static struct gr__tenant*
tenant_largest(gr_sched* s)
{
    struct gr__tenant* best = NULL;
    for (size_t b = 0; b < GR__SCHED_TENANT_BUCKETS; b++)
        for (struct gr__tenant* t = s->tenants[b]; t; t = t->next)
            if (!best || t->bytes > best->bytes)
                best = t;
    return best;
}

/* Adds finished c to the kept records and evicts what the bounds demand;
 * the evicted records are chained on *victims through gnext. */
static void
records_keep(gr_sched* s, struct gr__call* c, struct gr__call** victims)
{
    const gr_sched_config* cfg = &s->cfg;
    pthread_mutex_lock(&s->rec_lock);
    c->bytes = record_bytes(c);
    /* Without memory for the user's list the record is still kept (and
     * counted in all): only per-user eviction cannot see it. */
    struct gr__tenant* t = tenant_get(s, c->user);
    c->gnext = NULL;
    c->gprev = s->rtail;
    if (s->rtail)
        s->rtail->gnext = c;
    else
        s->rhead = c;
    s->rtail = c;
    s->rec_count++;
    s->rec_bytes += c->bytes;
    if (t) {
        c->tenant = t;
        c->unext = NULL;
        c->uprev = t->tail;
        if (t->tail)
            t->tail->unext = c;
        else
            t->head = c;
        t->tail = c;
        t->count++;
        t->bytes += c->bytes;
        while (t->bytes > cfg->max_user_record_bytes && t->head != c) {
            struct gr__call* v = kept_remove(s, t->head);
            v->gnext = *victims;
            *victims = v;
        }
    }
    while (s->rec_count > cfg->max_records && s->rhead != c) {
        struct gr__call* v = kept_remove(s, s->rhead);
        v->gnext = *victims;
        *victims = v;
    }
    /* c is the newest (rtail): while another record is kept, one that is
     * not c can go. */
    while (s->rec_bytes > cfg->max_record_bytes && s->rhead != s->rtail) {
        struct gr__tenant* big = tenant_largest(s);
        struct gr__call* v = big ? big->head : s->rhead;
        if (v == c)
            v = s->rhead;
        v = kept_remove(s, v);
        v->gnext = *victims;
        *victims = v;
    }
    pthread_mutex_unlock(&s->rec_lock);
}

/* Forgets evicted records: out of their shards' tables, then unref. */
static void
records_drop(gr_sched* s, struct gr__call* victims)
{
    while (victims) {
        struct gr__call* v = victims;
        victims = v->gnext;
        v->gnext = NULL;
        struct gr__shard* sh = shard_of(s, v->id);
        pthread_mutex_lock(&sh->lock);
        record_unlink(sh, v);
        pthread_mutex_unlock(&sh->lock);
        call_unref(v);
    }
}

/* Publishes the outcome already written into c: marks it finished, wakes
 * its waiters, and forgets the oldest finished records beyond the limits. */
static void
record_finish(gr_sched* s, struct gr__call* c, gr_call_state st)
{
    struct gr__shard* sh = shard_of(s, c->id);
    struct gr__call* drop = NULL;
    c->finished_ns = gr__sched_now();
    /* Handed to the journal before publishing, so a reader that syncs the
     * journal after seeing the outcome waits for this record too. */
    gr__sched_journal_finish(s->journal, c, st);
    /* Count before publishing, so a waiter woken below sees the stats. */
    record_stats(s, c, st);
    pthread_mutex_lock(&sh->lock);
    atomic_store(&c->state, st);
    if (c->waiters)
        pthread_cond_broadcast(&sh->done);
    gr_sched_done_fn done_fn = c->done_fn;
    void* done_ud = c->done_ud;
    uint64_t id = c->id;
    c->done_fn = NULL;
    pthread_mutex_unlock(&sh->lock);
    if (done_fn)
        done_fn(done_ud, id);
    records_keep(s, c, &drop);
    records_drop(s, drop);
}

static int
dup_bytes(const void* src, size_t n, uint8_t** out)
{
    *out = NULL;
    if (!n)
        return 0;
    *out = gr_malloc(n);
    if (!*out)
        return -ENOMEM;
    memcpy(*out, src, n);
    return 0;
}

static char*
dup_str(const char* src, size_t n)
{
    if (!n)
        return empty_str;
    char* d = gr_malloc(n + 1);
    if (!d)
        return empty_str;
    memcpy(d, src, n);
    d[n] = '\0';
    return d;
}

/* Copies c into out (a reference to c is held by the caller). */
static int
info_fill(gr_sched* s, struct gr__call* c, gr_call_info* out)
{
    struct gr__shard* sh = shard_of(s, c->id);
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&sh->lock);
    out->state = atomic_load(&c->state);
    out->started_ns = c->started_ns;
    pthread_mutex_unlock(&sh->lock);
    out->id = c->id;
    out->parent = c->parent;
    memcpy(out->user, c->user, sizeof out->user);
    memcpy(out->fn, c->fn_name, sizeof out->fn);
    memcpy(out->host, c->host, sizeof out->host);
    out->queued_ns = c->queued_ns;
    out->out = out->err = empty_str;
    if (out->state != GR_CALL_DONE && out->state != GR_CALL_FAILED)
        return 0;
    /* Finished: the outcome fields no longer change. */
    out->status = c->status;
    out->return_code = c->return_code;
    memcpy(out->trap, c->trap, sizeof out->trap);
    out->cold = c->cold;
    out->truncated = c->truncated;
    out->finished_ns = c->finished_ns;
    int rc = dup_bytes(c->output, c->output_len, &out->output);
    if (rc)
        return rc;
    out->output_len = c->output_len;
    out->out = c->out && c->out[0] ? gr_strdup(c->out) : empty_str;
    out->err = c->err && c->err[0] ? gr_strdup(c->err) : empty_str;
    if (!out->out || !out->err) {
        gr_call_info_fini(out);
        return -ENOMEM;
    }
    return 0;
}

void
gr_call_info_fini(gr_call_info* ci)
{
    if (!ci)
        return;
    gr_free(ci->output);
    if (ci->out != empty_str)
        gr_free(ci->out);
    if (ci->err != empty_str)
        gr_free(ci->err);
    ci->output = NULL;
    ci->out = ci->err = NULL;
    ci->output_len = 0;
}

/* ---- slots and queue ----------------------------------------------------- */

static int
slot_take(gr_sched* s)
{
    int n = atomic_load_explicit(&s->free_slots, memory_order_relaxed);
    while (n > 0)
        if (atomic_compare_exchange_weak(&s->free_slots, &n, n - 1))
            return 1;
    return 0;
}

static void
slot_release(gr_sched* s)
{
    atomic_fetch_add(&s->free_slots, 1);
    if (atomic_load(&s->queue_len)) {
        pthread_mutex_lock(&s->q_lock);
        pthread_cond_broadcast(&s->q_cond);
        pthread_mutex_unlock(&s->q_lock);
    }
}

/* Queue ring helpers: q_lock held. */
static struct gr__call*
queue_remove_at(gr_sched* s, size_t i)
{
    size_t len = atomic_load_explicit(&s->queue_len, memory_order_relaxed);
    struct gr__call* c = s->queue[(s->q_head + i) % s->q_cap];
    if (i == 0) {
        s->q_head = (s->q_head + 1) % s->q_cap;
    } else {
        for (size_t k = i; k + 1 < len; k++)
            s->queue[(s->q_head + k) % s->q_cap] =
              s->queue[(s->q_head + k + 1) % s->q_cap];
    }
    atomic_store(&s->queue_len, len - 1);
    return c;
}

static void executors_grow(gr_sched* s);

static int
queue_push(gr_sched* s, struct gr__call* c)
{
    pthread_mutex_lock(&s->q_lock);
    size_t len = atomic_load_explicit(&s->queue_len, memory_order_relaxed);
    int rc = 0;
    if (atomic_load(&s->stopping))
        rc = -ESHUTDOWN;
    else if (len >= s->q_cap)
        rc = -EBUSY;
    else {
        s->queue[(s->q_head + len) % s->q_cap] = c;
        atomic_store(&s->queue_len, len + 1);
        executors_grow(s);
        pthread_cond_broadcast(&s->q_cond);
    }
    pthread_mutex_unlock(&s->q_lock);
    return rc;
}

/* ---- running ------------------------------------------------------------- */

/* Writes the outcome into c (not yet visible: record_finish publishes). */
static gr_call_state
set_outcome(struct gr__call* c, int rc, const gr_call_result* r)
{
    gr_call_state st = GR_CALL_DONE;
    if (rc < 0) {
        c->status = rc;
        st = GR_CALL_FAILED;
    } else if (r->status) {
        st = GR_CALL_FAILED;
        c->status = r->status;
        if (r->status == GR_ETRAP) {
            if (r->trap.kind == GR_TRAP_TIMEOUT)
                c->status = GR_ETIMEOUT;
            snprintf(c->trap, sizeof c->trap, "%s", gr_trap_name(r->trap.kind));
        }
    }
    c->return_code = r->return_code;
    c->truncated = r->output_truncated || r->capture_truncated;
    if (rc >= 0) {
        if (dup_bytes(r->output, r->output_len, &c->output) == 0)
            c->output_len = r->output_len;
        c->out = dup_str(r->out, r->out_len);
        c->err = dup_str(r->err, r->err_len);
    }
    return st;
}

/* Runs c on this thread, which holds (or lends) a slot. */
static void
run_call(gr_sched* s, struct gr__call* c, const uint8_t* input, size_t len)
{
    struct gr__fn* f = c->fn;
    gr_call_result r = { 0 };
    gr_faaslet* fl = NULL;
    int cold = 0;
    atomic_fetch_add_explicit(&s->running, 1, memory_order_relaxed);
    int rc = gr__sched_fn_load(s, f);
    if (!rc)
        rc = gr_pool_acquire(f->pool, &fl, &cold);
    /* A pool belongs to one user's function: a new Faaslet gets that
     * user's view of shared state once. */
    if (!rc && cold && s->cfg.state &&
        (rc = gr_faaslet_set_state(fl, s->cfg.state, c->user)) < 0) {
        gr_pool_release(f->pool, fl, 1);
        fl = NULL;
    }
    if (!rc) {
        gr_host_ctx* h = gr_instance_host(gr_faaslet_instance(fl));
        gr_faas_ctx* fc = h->faas;
        struct exec ex = { .s = s, .call = c, .prev = tl_exec };
        ex.deadline = c->started_ns + c->timeout_ns;
        gr__sched_thread_slots(&ex.tslots, &ex.tctx, s, c);
        fc->chain = &chain_ops;
        fc->chain_ctx = &ex;
        h->thread_slots = &ex.tslots;
        tl_exec = &ex;
        gr_call call = { .input = input,
                         .input_len = len,
                         .timeout_ns = c->timeout_ns };
        rc = gr_faaslet_call(fl, &call, &r);
        tl_exec = ex.prev;
        h->thread_slots = NULL;
        fc->chain = NULL;
        fc->chain_ctx = NULL;
        for (uint32_t i = 0; i < ex.n_children; i++)
            call_unref(ex.children[i]);
        gr_free(ex.children);
        c->cold = cold;
        atomic_fetch_add_explicit(
          cold ? &s->cold : &s->warm, 1, memory_order_relaxed);
    }
    gr_call_state st = set_outcome(c, rc, &r);
    if (fl)
        gr_pool_release(f->pool, fl, rc < 0);
    /* The version may now be replaced and freed: drop it promptly. */
    c->fn = NULL;
    gr__sched_fn_unref(f);
    gr_free(c->input);
    c->input = NULL;
    atomic_fetch_sub_explicit(&s->running, 1, memory_order_relaxed);
    record_finish(s, c, st);
}

/* Runs a call taken from the queue (its reference passes to us). */
static void
run_queued(gr_sched* s, struct gr__call* c)
{
    struct gr__shard* sh = shard_of(s, c->id);
    pthread_mutex_lock(&sh->lock);
    c->started_ns = gr__sched_now();
    atomic_store(&c->state, GR_CALL_RUNNING);
    pthread_mutex_unlock(&sh->lock);
    run_call(s, c, c->input, c->input_len);
    call_unref(c);
}

/* Starts one more executor thread when queued calls could use free slots
 * that no idle executor will take (the slots given back by waiting
 * parents), up to max_threads; the extra threads then stay as idle
 * executors. q_lock held. */
static void
executors_grow(gr_sched* s)
{
    size_t queued = atomic_load(&s->queue_len);
    int free_slots = atomic_load(&s->free_slots);
    size_t usable = free_slots > 0 ? (size_t)free_slots : 0;
    if (usable > queued)
        usable = queued;
    if (usable <= (size_t)s->idle_threads || s->nthreads >= s->max_threads ||
        atomic_load(&s->stopping))
        return;
    int rc = pthread_create(
      &s->threads[s->nthreads], NULL, gr__sched_executor_main, s);
    if (rc == 0)
        s->nthreads++;
    else
        GR_WARN("sched: cannot start an executor thread: %s", strerror(rc));
}

void*
gr__sched_executor_main(void* arg)
{
    gr_sched* s = arg;
    gr_rt_install_handlers();
    pthread_mutex_lock(&s->q_lock);
    for (;;) {
        if (atomic_load(&s->stopping))
            break;
        if (atomic_load(&s->queue_len) && slot_take(s)) {
            struct gr__call* c = queue_remove_at(s, 0);
            executors_grow(s);
            pthread_mutex_unlock(&s->q_lock);
            run_queued(s, c);
            slot_release(s);
            pthread_mutex_lock(&s->q_lock);
            continue;
        }
        s->idle_threads++;
        pthread_cond_wait(&s->q_cond, &s->q_lock);
        s->idle_threads--;
    }
    pthread_mutex_unlock(&s->q_lock);
    return NULL;
}

void
gr__sched_queue_drain(gr_sched* s)
{
    pthread_mutex_lock(&s->q_lock);
    while (atomic_load(&s->queue_len)) {
        struct gr__call* c = queue_remove_at(s, 0);
        pthread_mutex_unlock(&s->q_lock);
        c->status = -ESHUTDOWN;
        gr__sched_fn_unref(c->fn);
        c->fn = NULL;
        record_finish(s, c, GR_CALL_FAILED);
        call_unref(c);
        pthread_mutex_lock(&s->q_lock);
    }
    pthread_cond_broadcast(&s->q_cond);
    pthread_mutex_unlock(&s->q_lock);
}

/* ---- waiting ------------------------------------------------------------- */

static void
abs_deadline(uint64_t deadline_mono, struct timespec* ts)
{
    /* Condition variables here use CLOCK_MONOTONIC (see sched.c). */
    ts->tv_sec = (time_t)(deadline_mono / 1000000000u);
    ts->tv_nsec = (long)(deadline_mono % 1000000000u);
}

static int
finished(const struct gr__call* c)
{
    int st = atomic_load(&c->state);
    return st == GR_CALL_DONE || st == GR_CALL_FAILED;
}

static int
wait_plain(gr_sched* s, struct gr__call* c, uint64_t deadline)
{
    struct gr__shard* sh = shard_of(s, c->id);
    int rc = 0;
    pthread_mutex_lock(&sh->lock);
    c->waiters++;
    while (!finished(c)) {
        if (deadline) {
            if (gr__sched_now() >= deadline) {
                rc = -ETIMEDOUT;
                break;
            }
            struct timespec ts;
            abs_deadline(deadline, &ts);
            pthread_cond_timedwait(&sh->done, &sh->lock, &ts);
        } else {
            pthread_cond_wait(&sh->done, &sh->lock);
        }
    }
    c->waiters--;
    pthread_mutex_unlock(&sh->lock);
    return rc;
}

/* Waits for c on a thread that is running a call (a chaining parent). The
 * parent gives its slot back for the wait, and an executor thread (a new
 * one if every executor is busy or waiting, see executors_grow) runs the
 * queued calls with it: each call runs on its own thread under its own
 * deadline, none is ever run under a waiting parent's, and a chain never
 * deadlocks when every slot waits on a child. The parent waits at most
 * until its own deadline, then takes a slot again whether or not one is
 * free (free_slots may go negative: briefly more calls run than slots,
 * and no new call starts until they are back within the slots). */
static int
wait_released(gr_sched* s, struct gr__call* c, uint64_t deadline)
{
    atomic_fetch_add(&s->free_slots, 1);
    pthread_mutex_lock(&s->q_lock);
    if (atomic_load(&s->queue_len)) {
        executors_grow(s);
        pthread_cond_broadcast(&s->q_cond);
    }
    pthread_mutex_unlock(&s->q_lock);
    int rc = wait_plain(s, c, deadline);
    atomic_fetch_sub(&s->free_slots, 1);
    return rc;
}

static int
wait_call(gr_sched* s, struct gr__call* c, uint64_t deadline)
{
    if (finished(c))
        return 0;
    if (tl_exec && tl_exec->s == s)
        return wait_released(s, c, deadline);
    return wait_plain(s, c, deadline);
}

/* ---- invoking ------------------------------------------------------------ */

static int
place(gr_sched* s, struct gr__call* c, const char* pin)
{
    if (pin) {
        snprintf(c->host, sizeof c->host, "%s", pin);
        return 0;
    }
    int rc = s->placement.place(s->placement.ctx, c->user, c->fn_name, c->host);
    c->host[sizeof c->host - 1] = '\0';
    return rc;
}

static int
placed_remote(const gr_sched* s, const struct gr__call* c)
{
    return s->remote.start && strcmp(c->host, "local") != 0;
}

/* Hands a placed call to its host (see gr_remote in sched.h). The record
 * is published first so that an outcome arriving at once finds it. A
 * start that fails finishes the call with its error, so the caller always
 * gets a record. Takes over c's fn reference and input. */
static int
start_remote(gr_sched* s, struct gr__call* c)
{
    char hash[65] = "";
    if (c->fn)
        memcpy(hash, c->fn->info.hash, sizeof hash);
    gr__sched_fn_unref(c->fn);
    c->fn = NULL;
    c->started_ns = gr__sched_now();
    atomic_store(&c->state, GR_CALL_RUNNING);
    atomic_store(&c->remote, 1);
    int rc = record_insert(s, c);
    if (rc)
        return rc;
    gr_remote_call d = { .id = c->id,
                         .parent = c->parent,
                         .user = c->user,
                         .fn = c->fn_name,
                         .hash = hash,
                         .input = c->input,
                         .input_len = c->input_len,
                         .timeout_ns = c->timeout_ns,
                         .threads = c->threads };
    rc = s->remote.start(s->remote.ctx, c->host, &d);
    gr_free(c->input);
    c->input = NULL;
    int one = 1;
    if (rc && atomic_compare_exchange_strong(&c->remote, &one, 0)) {
        c->status = rc;
        record_finish(s, c, GR_CALL_FAILED);
    }
    return 0;
}

int
gr_sched_remote_done(gr_sched* s, uint64_t id, const gr_call_info* r)
{
    struct gr__call* c = record_find(s, id);
    if (!c)
        return -ENOENT;
    int one = 1;
    if (!atomic_compare_exchange_strong(&c->remote, &one, 0)) {
        call_unref(c);
        return -EALREADY;
    }
    gr_call_state st = r->state == GR_CALL_DONE ? GR_CALL_DONE : GR_CALL_FAILED;
    c->status = r->status;
    if (st == GR_CALL_FAILED && !c->status)
        c->status = -EIO;
    c->return_code = r->return_code;
    snprintf(c->trap, sizeof c->trap, "%s", r->trap);
    if (r->host[0])
        snprintf(c->host, sizeof c->host, "%s", r->host);
    c->cold = r->cold;
    c->truncated = r->truncated;
    if (r->output_len && dup_bytes(r->output, r->output_len, &c->output) == 0)
        c->output_len = r->output_len;
    c->out = r->out ? dup_str(r->out, strlen(r->out)) : empty_str;
    c->err = r->err ? dup_str(r->err, strlen(r->err)) : empty_str;
    record_finish(s, c, st);
    call_unref(c);
    return 0;
}

/* Creates and queues (or hands to another host) a call; *out gets a
 * reference to its record. */
static int
invoke(gr_sched* s,
       const char* user,
       const char* fn,
       size_t fn_len,
       const uint8_t* input,
       size_t len,
       uint64_t parent,
       uint32_t depth,
       const gr_invoke_opts* o,
       struct gr__call** out)
{
    if (atomic_load(&s->stopping))
        return -ESHUTDOWN;
    if (len > s->cfg.max_input)
        return -EFBIG;
    if (o && (o->threads < 0 || o->threads > (int)GR_THREADS_MAX_PER_CALL + 1))
        return -EINVAL;
    struct gr__fn* f = gr__sched_fn_find(s, user, fn, fn_len);
    if (!f && !s->remote.start)
        return -ENOENT;
    struct gr__call* c = call_new(s,
                                  f,
                                  user,
                                  fn,
                                  fn_len,
                                  parent,
                                  depth,
                                  o ? o->timeout_ns : 0,
                                  o ? o->id : 0);
    if (!c) {
        gr__sched_fn_unref(f);
        return -ENOMEM;
    }
    c->threads = o ? o->threads : 0;
    int rc = dup_bytes(input, len, &c->input);
    c->input_len = len;
    if (!rc && o && o->np > 0) {
        c->np = o->np;
        c->spread = o->spread;
        if (!c->fn)
            rc = -ENOENT;
        else if (!parent && (rc = gr__sched_journal_accept(s->journal, c)))
            ;
        else
            rc = gr__sched_mpi_start(s, c, o);
        if (rc) {
            atomic_fetch_add(&s->rejected, rc == -EBUSY || rc == -ENOSPC);
            call_free(c);
            return rc;
        }
        *out = c;
        return 0;
    }
    if (!rc)
        rc = place(s, c, o ? o->host : NULL);
    if (!rc && placed_remote(s, c)) {
        if ((rc = start_remote(s, c))) {
            call_free(c);
            return rc;
        }
        *out = c;
        return 0;
    }
    if (!rc && !c->fn)
        rc = -ENOENT;
    if (rc) {
        atomic_fetch_add(&s->rejected, rc == -EBUSY);
        call_free(c);
        return rc;
    }
    /* A top-level call's id is acknowledged once it is journaled. */
    if (!parent && (rc = gr__sched_journal_accept(s->journal, c))) {
        call_free(c);
        return rc;
    }
    /* Insert before queueing so that the record exists when it runs. */
    if ((rc = record_insert(s, c))) {
        call_free(c);
        return rc;
    }
    atomic_fetch_add(&c->refs, 1); /* the queue's */
    rc = queue_push(s, c);
    if (rc) {
        if (rc == -EBUSY)
            atomic_fetch_add(&s->rejected, 1);
        atomic_fetch_sub(&c->refs, 1);
        c->status = rc;
        gr__sched_fn_unref(c->fn);
        c->fn = NULL;
        record_finish(s, c, GR_CALL_FAILED);
        call_unref(c);
        return rc;
    }
    *out = c;
    return 0;
}

static int
parent_depth(gr_sched* s, uint64_t parent)
{
    if (!parent)
        return 0;
    if (tl_exec && tl_exec->call->id == parent)
        return (int)tl_exec->call->depth + 1;
    struct gr__call* p = record_find(s, parent);
    int d = p ? (int)p->depth + 1 : 1;
    call_unref(p);
    return d;
}

int
gr_sched_invoke(gr_sched* s,
                const char* user,
                const char* fn,
                const uint8_t* input,
                size_t len,
                const gr_invoke_opts* o,
                uint64_t* id)
{
    if (!gr__sched_names_ok(user, fn))
        return -ENOENT;
    uint64_t parent = o ? o->parent : 0;
    int depth = parent_depth(s, parent);
    if (depth > GR__SCHED_MAX_DEPTH)
        return -ELOOP;
    struct gr__call* c;
    int rc = invoke(
      s, user, fn, strlen(fn), input, len, parent, (uint32_t)depth, o, &c);
    if (rc)
        return rc;
    *id = c->id;
    call_unref(c);
    return 0;
}

int
gr_sched_await(gr_sched* s, uint64_t id, uint64_t wait_ns, gr_call_info* out)
{
    struct gr__call* c = record_find(s, id);
    if (!c) /* forgotten here, or from before a restart */
        return gr__sched_journal_get(s->journal, NULL, id, out);
    int rc = wait_call(s, c, wait_ns ? gr__sched_now() + wait_ns : 0);
    if (!rc)
        rc = info_fill(s, c, out);
    call_unref(c);
    if (!rc) /* what a caller has seen survives a kill -9 */
        gr__sched_journal_sync(s->journal);
    return rc;
}

int
gr_sched_call(gr_sched* s,
              const char* user,
              const char* fn,
              const uint8_t* input,
              size_t len,
              const gr_invoke_opts* o,
              gr_call_info* out)
{
    if (!gr__sched_names_ok(user, fn))
        return -ENOENT;
    if (atomic_load_explicit(&s->stopping, memory_order_relaxed))
        return -ESHUTDOWN;
    uint64_t parent = o ? o->parent : 0;
    const char* pin = o ? o->host : NULL;
    /* Fast path: a free slot and nobody queued ahead of us. Run here.
     * With remote hosts, only for calls pinned here (placement may send
     * the rest elsewhere). */
    if (o && (o->threads < 0 || o->threads > (int)GR_THREADS_MAX_PER_CALL + 1))
        return -EINVAL;
    if (!parent && !(o && o->np > 0) &&
        (!s->remote.start || (pin && !strcmp(pin, "local"))) &&
        !atomic_load(&s->queue_len) && slot_take(s)) {
        int rc;
        struct gr__fn* f = NULL;
        struct gr__call* c = NULL;
        if (len > s->cfg.max_input)
            rc = -EFBIG;
        else if (!(f = gr__sched_fn_find(s, user, fn, strlen(fn))))
            rc = -ENOENT;
        else if (!(c = call_new(s,
                                f,
                                user,
                                fn,
                                strlen(fn),
                                0,
                                0,
                                o ? o->timeout_ns : 0,
                                o ? o->id : 0)))
            rc = -ENOMEM;
        else
            rc = place(s, c, pin);
        if (c)
            c->threads = o ? o->threads : 0;
        if (rc) {
            if (c)
                call_free(c);
            else
                gr__sched_fn_unref(f);
            slot_release(s);
            if (rc == -EBUSY)
                atomic_fetch_add(&s->rejected, 1);
            return rc;
        }
        c->started_ns = c->queued_ns;
        atomic_store_explicit(&c->state, GR_CALL_RUNNING, memory_order_relaxed);
        if ((rc = record_insert(s, c))) {
            call_free(c);
            slot_release(s);
            return rc;
        }
        run_call(s, c, input, len);
        slot_release(s);
        rc = info_fill(s, c, out);
        call_unref(c);
        return rc;
    }
    uint64_t id;
    int rc = gr_sched_invoke(s, user, fn, input, len, o, &id);
    if (rc)
        return rc;
    return gr_sched_await(s, id, 0, out);
}

int
gr_sched_on_done(gr_sched* s, uint64_t id, gr_sched_done_fn fn, void* ud)
{
    struct gr__shard* sh = shard_of(s, id);
    int rc = -ENOENT;
    pthread_mutex_lock(&sh->lock);
    for (struct gr__call* c = sh->buckets[bucket_of(sh, id)]; c; c = c->hnext) {
        if (c->id != id)
            continue;
        if (finished(c))
            rc = 1;
        else if (c->done_fn)
            rc = -EBUSY;
        else {
            c->done_fn = fn;
            c->done_ud = ud;
            rc = 0;
        }
        break;
    }
    pthread_mutex_unlock(&sh->lock);
    return rc;
}

int
gr_sched_call_get(gr_sched* s, const char* user, uint64_t id, gr_call_info* out)
{
    struct gr__call* c = record_find(s, id);
    if (!c) /* forgotten here, or from before a restart */
        return gr__sched_journal_get(s->journal, user, id, out);
    /* Another user's call is not found: an answer that differed would
     * confirm that the id exists. */
    int rc = -ENOENT;
    if (!user || strcmp(user, c->user) == 0)
        rc = info_fill(s, c, out);
    call_unref(c);
    if (!rc && (out->state == GR_CALL_DONE || out->state == GR_CALL_FAILED))
        gr__sched_journal_sync(s->journal); /* seen = survives kill -9 */
    return rc;
}

/* ---- chaining (called from host functions of the running guest) ---------- */

static int32_t
chain_start(void* ctx,
            const char* fn,
            size_t fn_len,
            const uint8_t* input,
            size_t len)
{
    struct exec* ex = ctx;
    gr_sched* s = ex->s;
    if (!gr__sched_name_ok(fn, fn_len))
        return GR_FAAS_EINVAL;
    if (ex->call->depth + 1 > GR__SCHED_MAX_DEPTH)
        return GR_FAAS_EDEPTH;
    if (ex->n_children >= GR__SCHED_MAX_CHILDREN)
        return GR_FAAS_EBUSY;
    if (ex->n_children == ex->cap_children) {
        uint32_t cap = ex->cap_children ? ex->cap_children * 2 : 8;
        struct gr__call** v =
          gr_realloc(ex->children, cap * sizeof *ex->children);
        if (!v)
            return GR_FAAS_EBUSY;
        ex->children = v;
        ex->cap_children = cap;
    }
    struct gr__call* c;
    int rc = invoke(s,
                    ex->call->user,
                    fn,
                    fn_len,
                    input,
                    len,
                    ex->call->id,
                    ex->call->depth + 1,
                    NULL,
                    &c);
    switch (rc) {
        case 0:
            break;
        case -ENOENT:
            return GR_FAAS_ENOENT;
        case -EBUSY:
            return GR_FAAS_EBUSY;
        case -EFBIG:
            return GR_FAAS_EINVAL;
        default:
            return GR_FAAS_EFAILED;
    }
    ex->children[ex->n_children] = c;
    return (int32_t)ex->n_children++;
}

static int32_t
chain_wait(struct exec* ex, int32_t handle, struct gr__call** out)
{
    if (handle < 0 || (uint32_t)handle >= ex->n_children)
        return GR_FAAS_EHANDLE;
    struct gr__call* c = ex->children[handle];
    /* The guest call's own deadline (the engine's, which is what ends the
     * call), else the record's. */
    uint64_t deadline = gr_rt_deadline();
    if (!deadline)
        deadline = ex->deadline;
    if (wait_call(ex->s, c, deadline)) {
        /* The parent's time is up: end it as a timeout (nothing is held
         * here; its children are released by run_call). */
        gr_rt_check_deadline();
        return GR_FAAS_ETIMEDOUT;
    }
    *out = c;
    return 0;
}

static int32_t
chain_await(void* ctx, int32_t handle)
{
    struct gr__call* c;
    int32_t rc = chain_wait(ctx, handle, &c);
    if (rc)
        return rc;
    if (atomic_load(&c->state) == GR_CALL_DONE)
        return c->return_code;
    return c->status == GR_ETIMEOUT ? GR_FAAS_ETIMEDOUT : GR_FAAS_EFAILED;
}

static int32_t
chain_output(void* ctx, int32_t handle, uint8_t* dst, size_t len, size_t offset)
{
    struct gr__call* c;
    int32_t rc = chain_wait(ctx, handle, &c);
    if (rc)
        return rc;
    if (offset >= c->output_len)
        return 0;
    size_t n = c->output_len - offset;
    if (n > len)
        n = len;
    memcpy(dst, c->output + offset, n);
    return (int32_t)n;
}

static const struct gr_faas_chain_ops chain_ops = {
    .chain = chain_start,
    .await = chain_await,
    .output = chain_output,
};

/* ---- setup --------------------------------------------------------------- */

int
gr__sched_calls_init(gr_sched* s)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->q_lock, NULL);
    pthread_cond_init(&s->q_cond, &ca);
    size_t per = s->cfg.max_records / GR__SCHED_SHARDS;
    for (int i = 0; i < GR__SCHED_SHARDS; i++) {
        struct gr__shard* sh = &s->shards[i];
        pthread_mutex_init(&sh->lock, NULL);
        pthread_cond_init(&sh->done, &ca);
        sh->nbuckets = per < 1024 ? 1024 : per;
        sh->buckets = gr_calloc(sh->nbuckets, sizeof *sh->buckets);
        if (!sh->buckets)
            return -ENOMEM;
    }
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->rec_lock, NULL);
    s->q_cap = s->cfg.queue_max;
    s->queue = gr_calloc(s->q_cap, sizeof *s->queue);
    return s->queue ? 0 : -ENOMEM;
}

void
gr__sched_calls_fini(gr_sched* s)
{
    for (int i = 0; i < GR__SCHED_SHARDS; i++) {
        struct gr__shard* sh = &s->shards[i];
        for (size_t b = 0; sh->buckets && b < sh->nbuckets; b++) {
            struct gr__call* c = sh->buckets[b];
            while (c) {
                struct gr__call* next = c->hnext;
                call_unref(c);
                c = next;
            }
        }
        gr_free(sh->buckets);
        pthread_mutex_destroy(&sh->lock);
        pthread_cond_destroy(&sh->done);
    }
    for (size_t b = 0; b < GR__SCHED_TENANT_BUCKETS; b++) {
        while (s->tenants[b]) {
            struct gr__tenant* t = s->tenants[b];
            s->tenants[b] = t->next;
            gr_free(t);
        }
    }
    pthread_mutex_destroy(&s->rec_lock);
    gr_free(s->queue);
    pthread_mutex_destroy(&s->q_lock);
    pthread_cond_destroy(&s->q_cond);
}

/* ---- for mpi_app.c ---------------------------------------------------------
 */

int
gr__sched_record_insert(gr_sched* s, struct gr__call* c)
{
    return record_insert(s, c);
}

void
gr__sched_record_finish(gr_sched* s, struct gr__call* c, gr_call_state st)
{
    record_finish(s, c, st);
}

void
gr__sched_call_unref(struct gr__call* c)
{
    call_unref(c);
}

char*
gr__sched_dup_str(const char* src, size_t n)
{
    return dup_str(src, n);
}

/* Takes n slots at once, or none: 1 if taken. */
int
gr__sched_slots_take(gr_sched* s, int n)
{
    int f = atomic_load_explicit(&s->free_slots, memory_order_relaxed);
    while (f >= n)
        if (atomic_compare_exchange_weak(&s->free_slots, &f, f - n))
            return 1;
    return 0;
}

void
gr__sched_slots_release(gr_sched* s, int n)
{
    for (int i = 0; i < n; i++)
        slot_release(s);
}
