/* SPDX-License-Identifier: Apache-2.0 */
/* Matching and transport between the ranks of one world: each rank has a
 * posted-receive queue and an unexpected-message queue, both in arrival
 * order, so the first match is MPI's non-overtaking choice. A message is
 * copied once: the sender copies straight into a posted receive; a small
 * early message goes to a host buffer; a large (or synchronous) early
 * message waits in the queue and the receiver copies from the sender's
 * memory. Copies run without the world lock; `inflight` keeps the memory
 * they touch attached until they end. Small messages between local ranks
 * go through the pair's lock-free channel (chan.c) instead: the sender
 * writes a record, the receiver's own thread matches it (a blocking
 * receive with nothing else posted takes it without the lock). */
#include <sched.h>
#include <string.h>

#include "mpi/mpi_int.h"
#include "util/alloc.h"
#include "util/time.h"

/* Copies up to this many bytes run under the world lock: releasing and
 * retaking it (and waking a rank blocked on it) costs more. */
#define SMALL_COPY 2048

/* state is also read without the lock by its owner polling for it
 * (finish_unlock): written with release order, after everything else. */
static void
set_state(struct gr__mpi_req* q, enum req_state s)
{
    __atomic_store_n(&q->state, s, __ATOMIC_RELEASE);
}

/* ---- requests ----------------------------------------------------------- */

static struct gr__mpi_req*
req_new(gr_mpi_rank* r, enum req_kind kind)
{
    struct gr__mpi_req* q = gr_calloc(1, sizeof *q);
    if (!q)
        return NULL;
    int32_t h;
    if (r->n_free > 0) {
        h = r->free_ids[--r->n_free];
    } else {
        if (r->n_reqs == r->cap_reqs) {
            if (r->cap_reqs >= GR__MPI_MAX_REQS)
                goto fail;
            int32_t cap = r->cap_reqs ? r->cap_reqs * 2 : 64;
            struct gr__mpi_req** t =
              gr_realloc(r->reqs, (size_t)cap * sizeof *t);
            if (!t)
                goto fail;
            r->reqs = t;
            int32_t* f = gr_realloc(r->free_ids, (size_t)cap * sizeof *f);
            if (!f)
                goto fail;
            r->free_ids = f;
            r->cap_reqs = cap;
        }
        h = r->n_reqs++;
    }
    r->reqs[h] = q;
    q->handle = h;
    q->kind = kind;
    set_state(q, REQ_PENDING);
    q->owner = r;
    return q;
fail:
    gr_free(q);
    return NULL;
}

static struct gr__mpi_req*
req_get(gr_mpi_rank* r, int32_t h)
{
    return h >= 0 && h < r->n_reqs ? r->reqs[h] : NULL;
}

static void
req_free(gr_mpi_rank* r, struct gr__mpi_req* q)
{
    r->reqs[q->handle] = NULL;
    r->free_ids[r->n_free++] = q->handle;
    gr_free(q);
}

static void
req_done(struct gr__mpi_req* q, int result)
{
    q->result = result;
    q->st.error = result;
    set_state(q, REQ_DONE);
}

void
gr__mpi_req_done(struct gr__mpi_req* q, int result)
{
    req_done(q, result);
}

/* ---- queues ------------------------------------------------------------- */

static void
post_append(gr_mpi_rank* r, struct gr__mpi_req* q)
{
    q->next = NULL;
    q->prev = r->posted_tail;
    if (r->posted_tail)
        r->posted_tail->next = q;
    else
        r->posted_head = q;
    r->posted_tail = q;
    q->queued = 1;
    __atomic_add_fetch(&r->posted_n, 1, __ATOMIC_RELEASE);
}

static void
post_remove(gr_mpi_rank* r, struct gr__mpi_req* q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        r->posted_head = q->next;
    if (q->next)
        q->next->prev = q->prev;
    else
        r->posted_tail = q->prev;
    q->prev = q->next = NULL;
    q->queued = 0;
    __atomic_sub_fetch(&r->posted_n, 1, __ATOMIC_RELEASE);
}

static void
unx_append(gr_mpi_rank* r, struct gr__mpi_msg* m)
{
    m->next = NULL;
    m->prev = r->unx_tail;
    if (r->unx_tail)
        r->unx_tail->next = m;
    else
        r->unx_head = m;
    r->unx_tail = m;
    __atomic_add_fetch(&r->unx_n, 1, __ATOMIC_RELEASE);
}

static void
unx_remove(gr_mpi_rank* r, struct gr__mpi_msg* m)
{
    if (m->prev)
        m->prev->next = m->next;
    else
        r->unx_head = m->next;
    if (m->next)
        m->next->prev = m->prev;
    else
        r->unx_tail = m->prev;
    m->prev = m->next = NULL;
    __atomic_sub_fetch(&r->unx_n, 1, __ATOMIC_RELEASE);
}

static int
matches(int want_src, int want_tag, int want_ctx, int src, int tag, int ctx)
{
    return ctx == want_ctx &&
           (want_src == GR_MPI_ANY_SOURCE || want_src == src) &&
           (want_tag == GR_MPI_ANY_TAG || want_tag == tag);
}

static struct gr__mpi_msg*
unx_find(gr_mpi_rank* r, int src, int tag, int ctx)
{
    for (struct gr__mpi_msg* m = r->unx_head; m; m = m->next)
        if (matches(src, tag, ctx, m->src, m->tag, m->ctx))
            return m;
    return NULL;
}

static struct gr__mpi_req*
posted_find(gr_mpi_rank* d, int src, int tag, int ctx)
{
    struct gr__mpi_req* rq = d->posted_head;
    while (rq && !matches(rq->src, rq->tag, rq->ctx, src, tag, ctx))
        rq = rq->next;
    return rq;
}

/* A channel's overflow list (lock held); d is its receiver. */
static void
ovf_append(gr_mpi_rank* d, struct gr__mpi_chan* c, struct gr__mpi_msg* m)
{
    m->next = NULL;
    m->prev = c->ovf_tail;
    if (c->ovf_tail)
        c->ovf_tail->next = m;
    else
        c->ovf_head = m;
    c->ovf_tail = m;
    if (!c->novf) {
        __atomic_store_n(&c->novf, 1, __ATOMIC_RELEASE);
        __atomic_add_fetch(&d->ovf_n, 1, __ATOMIC_RELEASE);
    }
}

static void
ovf_remove(struct gr__mpi_chan* c, struct gr__mpi_msg* m)
{
    if (m->prev)
        m->prev->next = m->next;
    else
        c->ovf_head = m->next;
    if (m->next)
        m->next->prev = m->prev;
    else
        c->ovf_tail = m->prev;
    m->prev = m->next = NULL;
}

/* The overflow list is empty again: the sender may use the ring. */
static void
ovf_close(gr_mpi_rank* d, struct gr__mpi_chan* c)
{
    if (c->novf && !c->ovf_head) {
        __atomic_store_n(&c->novf, 0, __ATOMIC_RELEASE);
        __atomic_sub_fetch(&d->ovf_n, 1, __ATOMIC_RELEASE);
    }
}

static void
msg_free(struct gr__mpi_msg* m)
{
    if (m->eager)
        gr_free(m->data);
    gr_free(m);
}

/* Completes a rendezvous sender whose receiver went away. */
static void
fail_sender(gr_mpi_world* w, struct gr__mpi_msg* m)
{
    if (m->remote) {
        gr__mpi_remote_refuse(w, m);
        return;
    }
    if (m->eager || !m->sreq)
        return;
    m->sreq->msg = NULL;
    req_done(m->sreq, GR_MPI_ERR_RANK);
    gr__mpi_rank_wake(&w->ranks[m->src]);
}

void
gr__mpi_rank_drop(gr_mpi_rank* r)
{
    gr_mpi_world* w = r->w;
    while (r->posted_head) {
        struct gr__mpi_req* q = r->posted_head;
        post_remove(r, q);
        req_done(q, GR_MPI_ERR_OTHER);
    }
    while (r->unx_head) {
        struct gr__mpi_msg* m = r->unx_head;
        unx_remove(r, m);
        fail_sender(w, m);
        msg_free(m);
    }
    for (int32_t i = 0; i < r->n_probed; i++) {
        if (r->probed[i]) {
            fail_sender(w, r->probed[i]);
            msg_free(r->probed[i]);
            r->probed[i] = NULL;
        }
    }
    for (int i = 0; w->chans && i < w->size; i++) {
        struct gr__mpi_chan* c = gr__mpi_chan_get(w, i, r->index);
        while (c && c->ovf_head) {
            struct gr__mpi_msg* m = c->ovf_head;
            ovf_remove(c, m);
            fail_sender(w, m);
            msg_free(m);
        }
        if (c)
            ovf_close(r, c);
    }
    gr__mpi_remote_rank_drop(r);
    /* r's own rendezvous sends still waiting in other ranks' queues point
     * into r's memory: take them back. */
    for (int i = 0; i < w->size; i++) {
        gr_mpi_rank* y = &w->ranks[i];
        if (y == r)
            continue;
        struct gr__mpi_chan* c =
          w->chans ? gr__mpi_chan_get(w, r->index, i) : NULL;
        for (struct gr__mpi_msg *m = c ? c->ovf_head : NULL, *next; m;
             m = next) {
            next = m->next;
            if (!m->eager) {
                ovf_remove(c, m);
                m->sreq->msg = NULL;
                msg_free(m);
            }
        }
        if (c)
            ovf_close(y, c);
        for (struct gr__mpi_msg *m = y->unx_head, *next; m; m = next) {
            next = m->next;
            if (!m->eager && !m->remote && m->src == r->index) {
                unx_remove(y, m);
                m->sreq->msg = NULL;
                msg_free(m);
            }
        }
        for (int32_t j = 0; j < y->n_probed; j++) {
            struct gr__mpi_msg* m = y->probed[j];
            if (m && !m->eager && !m->remote && m->src == r->index) {
                m->sreq->msg = NULL;
                msg_free(m);
                y->probed[j] = NULL;
            }
        }
    }
}

void
gr__mpi_rank_free_all(gr_mpi_rank* r)
{
    for (int32_t i = 0; i < r->n_reqs; i++)
        gr_free(r->reqs[i]);
    gr_free(r->reqs);
    gr_free(r->free_ids);
    r->reqs = NULL;
    r->free_ids = NULL;
    r->n_reqs = r->cap_reqs = r->n_free = 0;
    for (int32_t i = 0; i < r->n_probed; i++)
        if (r->probed[i])
            msg_free(r->probed[i]);
    gr_free(r->probed);
    r->probed = NULL;
    r->n_probed = r->cap_probed = 0;
}

/* ---- waiting ------------------------------------------------------------ */

/* A blocking call starts: it may poll again (see polled). Written only
 * when set, since any write near the fields senders read would cost them
 * a cache miss per message. */
static inline void
poll_reset(gr_mpi_rank* r)
{
    if (r->polled)
        r->polled = 0;
}

static int drain(gr_mpi_rank* r);
static int chans_pending(gr_mpi_rank* r);

void
gr__mpi_rank_wake(gr_mpi_rank* r)
{
    __atomic_add_fetch(&r->wakes, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&r->cv);
}

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Polls r's wake count without the lock for up to the world's spin time
 * (lock held on entry and exit): 1 if r was woken meanwhile. A peer
 * running on another core usually answers within a few microseconds,
 * far less than a sleep and a futex wake-up cost. */
static int
spin_for_wake(gr_mpi_rank* r, uint64_t deadline)
{
    gr_mpi_world* w = r->w;
    unsigned seen = __atomic_load_n(&r->wakes, __ATOMIC_RELAXED);
    uint64_t end = gr_time_now_ns() + w->spin_ns;
    if (deadline && end > deadline)
        end = deadline;
    pthread_mutex_unlock(&w->mu);
    int woke = 0;
    for (unsigned i = 1;; i++) {
        if (w->link) /* messages from other hosts: read them here */
            gr__mpi_link_poll(w);
        if (__atomic_load_n(&r->wakes, __ATOMIC_ACQUIRE) != seen ||
            chans_pending(r)) {
            woke = 1;
            break;
        }
        if (i < w->spin_pauses) {
            cpu_relax();
            continue;
        }
        /* the peer may be waiting for this core: let it run */
        sched_yield();
        if (gr_time_now_ns() >= end) {
            r->polled = 1;
            break;
        }
    }
    pthread_mutex_lock(&w->mu);
    /* a wake between the last poll and the lock is seen here: broadcasts
     * happen under the lock, so none is lost before the wait below */
    return woke || __atomic_load_n(&r->wakes, __ATOMIC_RELAXED) != seen;
}

/* One wait on r's condition (lock held): 0 after a wake-up (or after
 * moving what r's channels held into its queues), or GR_MPI_EWORLD /
 * GR_MPI_EDEADLINE. Spins first (see spin_for_wake). */
static int
wait_cv(gr_mpi_rank* r)
{
    gr_mpi_world* w = r->w;
    if (w->failed)
        return GR_MPI_EWORLD;
    if (drain(r))
        return w->failed ? GR_MPI_EWORLD : 0;
    uint64_t d = gr_rt_deadline();
    if (w->spin_ns && !r->polled && spin_for_wake(r, d))
        return w->failed ? GR_MPI_EWORLD : 0;
    if (d && gr_time_now_ns() >= d)
        return GR_MPI_EDEADLINE;
    if (w->link) /* the reader threads take over while r sleeps */
        gr__mpi_link_idle(w);
    /* a sender writing into a channel reads sleeping after its record
     * (both seq_cst); this reads the channels after setting sleeping: one
     * of the two sees the other (and a waking sender takes the lock, so
     * its broadcast cannot come before the wait) */
    __atomic_store_n(&r->sleeping, 1, __ATOMIC_SEQ_CST);
    if (!chans_pending(r)) {
        if (d)
            gr_time_cond_wait_until(&r->cv, &w->mu, d);
        else
            pthread_cond_wait(&r->cv, &w->mu);
    }
    __atomic_store_n(&r->sleeping, 0, __ATOMIC_RELAXED);
    return w->failed ? GR_MPI_EWORLD : 0;
}

/* ---- sending ------------------------------------------------------------ */

static int
check_peer(const gr_mpi_world* w, int rank, int any_ok)
{
    if (rank == GR_MPI_PROC_NULL || (any_ok && rank == GR_MPI_ANY_SOURCE))
        return 0;
    return rank >= 0 && rank < w->size ? 0 : GR_MPI_ERR_RANK;
}

static int
check_tag(int tag, int any_ok)
{
    if (any_ok && tag == GR_MPI_ANY_TAG)
        return 0;
    return tag >= 0 && tag <= GR_MPI_TAG_UB ? 0 : GR_MPI_ERR_TAG;
}

/* Starts a send (lock held); *out is the request, possibly done. */
static int
start_send(gr_mpi_rank* r,
           const void* buf,
           size_t len,
           int dest,
           int tag,
           int ctx,
           int mode,
           struct gr__mpi_req** out)
{
    gr_mpi_world* w = r->w;
    if (w->failed)
        return GR_MPI_EWORLD;
    if (r->detached)
        return GR_MPI_ERR_OTHER;
    struct gr__mpi_req* q = req_new(r, REQ_SEND);
    if (!q)
        return GR_MPI_ERR_NOMEM;
    *out = q;
    q->st.source = r->index;
    q->st.tag = tag;
    q->st.bytes = (int64_t)len;
    if (dest == GR_MPI_PROC_NULL) {
        req_done(q, 0);
        return 0;
    }
    gr_mpi_rank* d = &w->ranks[dest];
    if (d->detached) {
        req_done(q, GR_MPI_ERR_RANK);
        return 0;
    }
    if (gr__mpi_is_remote(w, dest))
        return gr__mpi_remote_send(r, q, buf, len, dest, tag, ctx, mode);
    /* records of this pair still in its ring come first: queue behind
     * them, for the receiver to match, unless the receive this message
     * matches can take none of them (it is the first posted receive this
     * message matches, so it takes this one in any order) */
    struct gr__mpi_chan* c =
      w->chans ? gr__mpi_chan_get(w, r->index, dest) : NULL;
    if (c && !c->novf && gr__mpi_chan_sender_empty(c))
        c = NULL;
    struct gr__mpi_req* rq =
      c && c->novf ? NULL : posted_find(d, r->index, tag, ctx);
    if (c && rq) {
        if (gr__mpi_chan_sender_may_match(c, rq->tag, rq->ctx))
            rq = NULL;
        else
            c = NULL;
    }
    if (rq) {
        /* one copy, straight into the posted buffer (without the lock
         * unless it is small) */
        post_remove(d, rq);
        size_t n = len < rq->cap ? len : rq->cap;
        if (n <= SMALL_COPY) {
            if (n)
                memcpy(rq->buf, buf, n);
        } else {
            set_state(rq, REQ_ACTIVE);
            d->inflight++;
            pthread_mutex_unlock(&w->mu);
            memcpy(rq->buf, buf, n);
            pthread_mutex_lock(&w->mu);
            d->inflight--;
        }
        rq->st.source = r->index;
        rq->st.tag = tag;
        rq->st.bytes = (int64_t)len;
        req_done(rq, len > rq->cap ? GR_MPI_ERR_TRUNCATE : 0);
        gr__mpi_rank_wake(d);
        req_done(q, 0);
        return 0;
    }
    struct gr__mpi_msg* m = gr_calloc(1, sizeof *m);
    if (!m)
        goto nomem;
    m->src = r->index;
    m->tag = tag;
    m->ctx = ctx;
    m->len = len;
    m->handle = -1;
    if (mode != GR_MPI_MODE_SYNC && len <= w->eager_limit) {
        m->eager = 1;
        if (len) {
            if (!(m->data = gr_malloc(len))) {
                gr_free(m);
                goto nomem;
            }
            memcpy(m->data, buf, len);
        }
        req_done(q, 0);
    } else {
        m->data = (uint8_t*)buf;
        m->sreq = q;
        q->msg = m;
    }
    if (c)
        ovf_append(d, c, m);
    else
        unx_append(d, m);
    gr__mpi_rank_wake(d);
    return 0;
nomem:
    req_free(r, q);
    *out = NULL;
    return GR_MPI_ERR_NOMEM;
}

static int
check_send(gr_mpi_rank* r, int dest, int tag, int mode)
{
    int rc;
    if (mode < GR_MPI_MODE_STANDARD || mode > GR_MPI_MODE_READY)
        return GR_MPI_ERR_ARG;
    if ((rc = check_peer(r->w, dest, 0)) < 0)
        return rc;
    return check_tag(tag, 0);
}

/* Waits for q (lock held), fills *st, frees q; the request's result. */
static int
finish(gr_mpi_rank* r, struct gr__mpi_req* q, gr_mpi_status* st)
{
    while (q->state != REQ_DONE) {
        int rc = wait_cv(r);
        if (rc < 0)
            return rc; /* q stays: detach frees it */
    }
    if (st)
        *st = q->st;
    int result = q->result;
    req_free(r, q);
    return result;
}

/* finish, then unlocks. A rank that polls (spin_ns) first waits for q
 * without the lock and, once q is done, takes its result and frees it
 * without the lock either: a request's handle table belongs to its owner
 * alone, and whoever completes q touches it no more. This saves retaking
 * the lock while the completing rank may still hold it. */
static int
finish_unlock(gr_mpi_rank* r, struct gr__mpi_req* q, gr_mpi_status* st)
{
    gr_mpi_world* w = r->w;
    if (q->state != REQ_DONE && w->spin_ns && !r->polled && !w->failed) {
        unsigned seen = __atomic_load_n(&r->wakes, __ATOMIC_RELAXED);
        uint64_t d = gr_rt_deadline();
        uint64_t end = gr_time_now_ns() + w->spin_ns;
        if (d && end > d)
            end = d;
        pthread_mutex_unlock(&w->mu);
        for (unsigned i = 1;; i++) {
            if (w->link)
                gr__mpi_link_poll(w);
            if (__atomic_load_n(&q->state, __ATOMIC_ACQUIRE) == REQ_DONE) {
                if (st)
                    *st = q->st;
                int result = q->result;
                req_free(r, q);
                return result;
            }
            /* anything else (a failure, another request, a record in a
             * channel): the locked path decides */
            if (__atomic_load_n(&r->wakes, __ATOMIC_ACQUIRE) != seen ||
                chans_pending(r))
                break;
            if (i < w->spin_pauses) {
                cpu_relax();
                continue;
            }
            sched_yield();
            /* a matched request whose copy is running ends soon: keep
             * polling for it (up to the deadline), a wake-up would only
             * add to the copy's time */
            uint64_t now = gr_time_now_ns();
            if (now >= end &&
                (__atomic_load_n(&q->state, __ATOMIC_ACQUIRE) != REQ_ACTIVE ||
                 (d && now >= d))) {
                r->polled = 1;
                break;
            }
        }
        pthread_mutex_lock(&w->mu);
    }
    int rc = finish(r, q, st);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* A small send to a local rank through the pair's channel, without the
 * lock: 1 if sent, 0 if it must go the locked way (a synchronous or long
 * message, no room, the overflow list in use, a rank gone, a failure). */
static int
fast_send(gr_mpi_rank* r,
          const void* buf,
          size_t len,
          int dest,
          int tag,
          int ctx,
          int mode)
{
    gr_mpi_world* w = r->w;
    if (len > GR__MPI_INLINE || mode == GR_MPI_MODE_SYNC || dest < 0 ||
        !w->chans || gr__mpi_is_remote(w, dest) || r->detached)
        return 0;
    gr_mpi_rank* d = &w->ranks[dest];
    if (__atomic_load_n(&w->failed, __ATOMIC_ACQUIRE) ||
        __atomic_load_n(&d->detached, __ATOMIC_ACQUIRE))
        return 0;
    struct gr__mpi_chan* c = gr__mpi_chan_open(w, r->index, dest);
    if (!c || __atomic_load_n(&c->novf, __ATOMIC_ACQUIRE) ||
        !gr__mpi_chan_push(c, buf, len, tag, ctx))
        return 0;
    /* see wait_cv */
    if (__atomic_load_n(&d->sleeping, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&w->mu);
        gr__mpi_rank_wake(d);
        pthread_mutex_unlock(&w->mu);
    }
    return 1;
}

int
gr_mpi_rank_send(gr_mpi_rank* r,
                 const void* buf,
                 size_t len,
                 int dest,
                 int tag,
                 int ctx,
                 int mode)
{
    int rc = check_send(r, dest, tag, mode);
    if (rc < 0)
        return rc;
    if (fast_send(r, buf, len, dest, tag, ctx, mode))
        return 0;
    poll_reset(r);
    struct gr__mpi_req* q = NULL;
    pthread_mutex_lock(&r->w->mu);
    rc = start_send(r, buf, len, dest, tag, ctx, mode, &q);
    if (rc == 0)
        return finish_unlock(r, q, NULL);
    pthread_mutex_unlock(&r->w->mu);
    return rc;
}

int
gr_mpi_rank_isend(gr_mpi_rank* r,
                  const void* buf,
                  size_t len,
                  int dest,
                  int tag,
                  int ctx,
                  int mode,
                  int32_t* req)
{
    int rc = check_send(r, dest, tag, mode);
    if (rc < 0)
        return rc;
    struct gr__mpi_req* q = NULL;
    pthread_mutex_lock(&r->w->mu);
    rc = start_send(r, buf, len, dest, tag, ctx, mode, &q);
    if (rc == 0)
        *req = q->handle;
    pthread_mutex_unlock(&r->w->mu);
    return rc;
}

/* ---- receiving ---------------------------------------------------------- */

/* Delivers m (taken out of every queue) into q's buffer (lock held; it is
 * released during the copy) and completes q. */
static void
deliver(gr_mpi_rank* r, struct gr__mpi_req* q, struct gr__mpi_msg* m)
{
    gr_mpi_world* w = r->w;
    if (m->remote) {
        /* completed when the last piece arrives (remote.c) */
        gr__mpi_remote_fetch(r, q, m);
        msg_free(m);
        return;
    }
    size_t n = m->len < q->cap ? m->len : q->cap;
    if (m->eager && n <= SMALL_COPY) {
        if (n) /* a 0-byte eager message has no data */
            memcpy(q->buf, m->data, n);
    } else if (m->eager) {
        set_state(q, REQ_ACTIVE);
        pthread_mutex_unlock(&w->mu);
        memcpy(q->buf, m->data, n);
        pthread_mutex_lock(&w->mu);
    } else {
        gr_mpi_rank* s = &w->ranks[m->src];
        struct gr__mpi_req* sq = m->sreq;
        set_state(sq, REQ_ACTIVE);
        sq->msg = NULL;
        s->inflight++;
        set_state(q, REQ_ACTIVE);
        pthread_mutex_unlock(&w->mu);
        if (n)
            memcpy(q->buf, m->data, n);
        pthread_mutex_lock(&w->mu);
        req_done(sq, 0);
        s->inflight--;
        gr__mpi_rank_wake(s);
    }
    q->st.source = m->src;
    q->st.tag = m->tag;
    q->st.bytes = (int64_t)m->len;
    q->st.cancelled = 0;
    req_done(q, m->len > q->cap ? GR_MPI_ERR_TRUNCATE : 0);
    msg_free(m);
}

/* ---- channels ----------------------------------------------------------- */

/* Matches the record at the head of c (from src) against r's posted
 * receives or queues it as unexpected, and consumes it (lock held). */
static void
chan_take(gr_mpi_rank* r,
          int src,
          struct gr__mpi_chan* c,
          const struct gr__mpi_rec* rec)
{
    struct gr__mpi_req* rq = posted_find(r, src, rec->tag, rec->ctx);
    if (rq) {
        post_remove(r, rq);
        gr__mpi_chan_read(c, rec, rq->buf, rq->cap);
        rq->st.source = src;
        rq->st.tag = rec->tag;
        rq->st.bytes = (int64_t)rec->len;
        req_done(rq, rec->len > rq->cap ? GR_MPI_ERR_TRUNCATE : 0);
    } else {
        struct gr__mpi_msg* m = gr_calloc(1, sizeof *m);
        if (!m || (rec->len && !(m->data = gr_malloc(rec->len)))) {
            gr_free(m);
            gr__mpi_world_fail(
              r->w, r->index, GR_MPI_FAIL_ERROR, 0, "out of memory", 0);
        } else {
            gr__mpi_chan_read(c, rec, m->data, rec->len);
            m->src = src;
            m->tag = rec->tag;
            m->ctx = rec->ctx;
            m->len = rec->len;
            m->eager = 1;
            m->handle = -1;
            unx_append(r, m);
        }
    }
    gr__mpi_chan_pop(c, rec);
}

/* Moves everything r's channels hold into its queues, each pair's ring
 * before its overflow list (lock held, released during long copies);
 * returns how many messages moved. Only r's own thread drains r. */
static int
drain(gr_mpi_rank* r)
{
    gr_mpi_world* w = r->w;
    if (!w->chans || r->detached)
        return 0;
    int moved = 0;
    for (int s = 0; s < w->size; s++) {
        struct gr__mpi_chan* c = gr__mpi_chan_get(w, s, r->index);
        if (!c)
            continue;
        struct gr__mpi_rec rec;
        while (gr__mpi_chan_peek(c, &rec)) {
            chan_take(r, s, c, &rec);
            moved++;
        }
        /* the sender writes no record while novf is set */
        struct gr__mpi_msg* m;
        while ((m = c->ovf_head)) {
            ovf_remove(c, m);
            moved++;
            struct gr__mpi_req* rq = posted_find(r, m->src, m->tag, m->ctx);
            if (rq) {
                post_remove(r, rq);
                deliver(r, rq, m);
            } else {
                unx_append(r, m);
            }
        }
        ovf_close(r, c);
    }
    return moved;
}

/* Whether one of r's channels holds something (r's thread, any lock). */
static int
chans_pending(gr_mpi_rank* r)
{
    gr_mpi_world* w = r->w;
    if (!w->chans)
        return 0;
    if (__atomic_load_n(&r->ovf_n, __ATOMIC_ACQUIRE))
        return 1;
    for (int s = 0; s < w->size; s++) {
        struct gr__mpi_chan* c = gr__mpi_chan_get(w, s, r->index);
        struct gr__mpi_rec rec;
        if (c && gr__mpi_chan_peek(c, &rec))
            return 1;
    }
    return 0;
}

/* A blocking receive without the lock: when r has no receive posted and
 * nothing unexpected (so no older message or receive can come first), a
 * matching record at the head of a channel is copied straight into buf
 * (for buffers of at most GR__MPI_INLINE bytes).
 * Polls like spin_for_wake; 1 when received (*rc its result), 0 when the
 * locked way must decide. */
static int
fast_recv(gr_mpi_rank* r,
          void* buf,
          size_t cap,
          int src,
          int tag,
          int ctx,
          gr_mpi_status* st,
          int* rc)
{
    gr_mpi_world* w = r->w;
    /* a receive that could take a longer message is posted instead, so
     * that such a message is copied once, by its sender */
    if (cap > GR__MPI_INLINE || !w->chans || src == GR_MPI_PROC_NULL ||
        r->detached || (src >= 0 && gr__mpi_is_remote(w, src)) ||
        __atomic_load_n(&r->posted_n, __ATOMIC_ACQUIRE))
        return 0;
    int lo = src >= 0 ? src : 0, hi = src >= 0 ? src + 1 : w->size;
    unsigned seen = __atomic_load_n(&r->wakes, __ATOMIC_ACQUIRE);
    uint64_t end = 0;
    for (unsigned i = 1;; i++) {
        if (__atomic_load_n(&r->unx_n, __ATOMIC_ACQUIRE) ||
            __atomic_load_n(&r->ovf_n, __ATOMIC_ACQUIRE) ||
            __atomic_load_n(&w->failed, __ATOMIC_ACQUIRE))
            return 0;
        for (int s = lo; s < hi; s++) {
            struct gr__mpi_chan* c = gr__mpi_chan_get(w, s, r->index);
            struct gr__mpi_rec rec;
            if (!c || !gr__mpi_chan_peek(c, &rec))
                continue;
            /* an older message of s may have gone the locked way, into
             * the unexpected queue, before this record was written */
            if (__atomic_load_n(&r->unx_n, __ATOMIC_ACQUIRE) ||
                !matches(src, tag, ctx, s, rec.tag, rec.ctx))
                return 0;
            gr__mpi_chan_read(c, &rec, buf, cap);
            *rc = rec.len > cap ? GR_MPI_ERR_TRUNCATE : 0;
            if (st) {
                st->source = s;
                st->tag = rec.tag;
                st->error = *rc;
                st->cancelled = 0;
                st->bytes = (int64_t)rec.len;
            }
            gr__mpi_chan_pop(c, &rec);
            return 1;
        }
        if (!w->spin_ns || __atomic_load_n(&r->wakes, __ATOMIC_ACQUIRE) != seen)
            return 0;
        if (w->link) /* messages from other hosts: read them here */
            gr__mpi_link_poll(w);
        if (i < w->spin_pauses) {
            cpu_relax();
            continue;
        }
        uint64_t now = gr_time_now_ns();
        if (!end) {
            uint64_t d = gr_rt_deadline();
            end = now + w->spin_ns;
            if (d && end > d)
                end = d;
        }
        if (now >= end) {
            r->polled = 1;
            return 0;
        }
        sched_yield();
    }
}

static void
proc_null_status(gr_mpi_status* st)
{
    memset(st, 0, sizeof *st);
    st->source = GR_MPI_PROC_NULL;
    st->tag = GR_MPI_ANY_TAG;
}

/* Starts a receive (lock held); *out may be done already. */
static int
start_recv(gr_mpi_rank* r,
           void* buf,
           size_t cap,
           int src,
           int tag,
           int ctx,
           struct gr__mpi_req** out)
{
    drain(r);
    if (r->w->failed)
        return GR_MPI_EWORLD;
    if (r->detached)
        return GR_MPI_ERR_OTHER;
    struct gr__mpi_req* q = req_new(r, REQ_RECV);
    if (!q)
        return GR_MPI_ERR_NOMEM;
    *out = q;
    q->buf = buf;
    q->cap = cap;
    q->src = src;
    q->tag = tag;
    q->ctx = ctx;
    if (src == GR_MPI_PROC_NULL) {
        proc_null_status(&q->st);
        req_done(q, 0);
        return 0;
    }
    struct gr__mpi_msg* m = unx_find(r, src, tag, ctx);
    if (m) {
        unx_remove(r, m);
        deliver(r, q, m);
    } else {
        post_append(r, q);
    }
    return 0;
}

static int
check_recv(gr_mpi_rank* r, int src, int tag)
{
    int rc = check_peer(r->w, src, 1);
    return rc < 0 ? rc : check_tag(tag, 1);
}

int
gr_mpi_rank_recv(gr_mpi_rank* r,
                 void* buf,
                 size_t len,
                 int src,
                 int tag,
                 int ctx,
                 gr_mpi_status* st)
{
    int rc = check_recv(r, src, tag);
    if (rc < 0)
        return rc;
    poll_reset(r);
    if (fast_recv(r, buf, len, src, tag, ctx, st, &rc))
        return rc;
    struct gr__mpi_req* q = NULL;
    pthread_mutex_lock(&r->w->mu);
    rc = start_recv(r, buf, len, src, tag, ctx, &q);
    if (rc == 0)
        return finish_unlock(r, q, st);
    pthread_mutex_unlock(&r->w->mu);
    return rc;
}

int
gr_mpi_rank_irecv(gr_mpi_rank* r,
                  void* buf,
                  size_t len,
                  int src,
                  int tag,
                  int ctx,
                  int32_t* req)
{
    int rc = check_recv(r, src, tag);
    if (rc < 0)
        return rc;
    struct gr__mpi_req* q = NULL;
    pthread_mutex_lock(&r->w->mu);
    rc = start_recv(r, buf, len, src, tag, ctx, &q);
    if (rc == 0)
        *req = q->handle;
    pthread_mutex_unlock(&r->w->mu);
    return rc;
}

/* ---- completion --------------------------------------------------------- */

int
gr_mpi_rank_wait(gr_mpi_rank* r, int32_t req, gr_mpi_status* st)
{
    poll_reset(r);
    pthread_mutex_lock(&r->w->mu);
    struct gr__mpi_req* q = req_get(r, req);
    if (q)
        return finish_unlock(r, q, st);
    pthread_mutex_unlock(&r->w->mu);
    return GR_MPI_ERR_REQUEST;
}

/* Before a call that does not block looks (without the lock): what other
 * hosts sent, read on this thread (see gr__mpi_link_read). */
static void
read_remote(gr_mpi_rank* r)
{
    if (r->w->link)
        gr__mpi_link_read(r->w);
}

int
gr_mpi_rank_test(gr_mpi_rank* r, int32_t req, gr_mpi_status* st)
{
    read_remote(r);
    pthread_mutex_lock(&r->w->mu);
    drain(r);
    struct gr__mpi_req* q = req_get(r, req);
    int rc;
    if (!q) {
        rc = GR_MPI_ERR_REQUEST;
    } else if (q->state != REQ_DONE) {
        rc = 0;
    } else {
        rc = finish(r, q, st);
        if (rc == 0)
            rc = 1;
    }
    pthread_mutex_unlock(&r->w->mu);
    return rc;
}

/* One pass of waitany/testany (lock held): 1 with *index set when an
 * entry completed (its result in *result), 0 if none yet, or an error. */
static int
any_pass(gr_mpi_rank* r,
         const int32_t* reqs,
         int n,
         int32_t* index,
         gr_mpi_status* st,
         int* result)
{
    drain(r);
    int active = 0;
    for (int i = 0; i < n; i++) {
        if (reqs[i] < 0)
            continue;
        struct gr__mpi_req* q = req_get(r, reqs[i]);
        if (!q)
            return GR_MPI_ERR_REQUEST;
        active = 1;
        if (q->state == REQ_DONE) {
            *index = i;
            *result = finish(r, q, st);
            return 1;
        }
    }
    if (!active) {
        *index = -1;
        *result = 1;
        if (st)
            proc_null_status(st);
        return 1;
    }
    return 0;
}

int
gr_mpi_rank_waitany(gr_mpi_rank* r,
                    const int32_t* reqs,
                    int n,
                    int32_t* index,
                    gr_mpi_status* st)
{
    if (n < 0)
        return GR_MPI_ERR_ARG;
    int result = 0, rc;
    poll_reset(r);
    pthread_mutex_lock(&r->w->mu);
    while ((rc = any_pass(r, reqs, n, index, st, &result)) == 0)
        if ((rc = wait_cv(r)) < 0)
            break;
    pthread_mutex_unlock(&r->w->mu);
    return rc == 1 ? result : rc;
}

int
gr_mpi_rank_testany(gr_mpi_rank* r,
                    const int32_t* reqs,
                    int n,
                    int32_t* index,
                    gr_mpi_status* st)
{
    if (n < 0)
        return GR_MPI_ERR_ARG;
    int result = 0;
    read_remote(r);
    pthread_mutex_lock(&r->w->mu);
    int rc = any_pass(r, reqs, n, index, st, &result);
    pthread_mutex_unlock(&r->w->mu);
    (void)result; /* in st->error */
    return rc;
}

int
gr_mpi_rank_cancel(gr_mpi_rank* r, int32_t req)
{
    pthread_mutex_lock(&r->w->mu);
    drain(r); /* a record already sent may match it */
    struct gr__mpi_req* q = req_get(r, req);
    int rc = q ? 0 : GR_MPI_ERR_REQUEST;
    if (q && q->kind == REQ_RECV && q->state == REQ_PENDING && q->queued) {
        post_remove(r, q);
        q->st.cancelled = 1;
        q->st.bytes = 0;
        req_done(q, 0);
        gr__mpi_rank_wake(r);
    }
    pthread_mutex_unlock(&r->w->mu);
    return rc;
}

/* ---- probes ------------------------------------------------------------- */

static void
msg_status(const struct gr__mpi_msg* m, gr_mpi_status* st)
{
    if (!st)
        return;
    memset(st, 0, sizeof *st);
    st->source = m->src;
    st->tag = m->tag;
    st->bytes = (int64_t)m->len;
}

/* Finds (waiting if blocking) a matching message (lock held): 1 with *m,
 * 0 if none and not blocking, or an error. */
static int
probe_locked(gr_mpi_rank* r,
             int src,
             int tag,
             int ctx,
             int blocking,
             struct gr__mpi_msg** m)
{
    poll_reset(r);
    for (;;) {
        drain(r);
        if (r->w->failed)
            return GR_MPI_EWORLD;
        if (r->detached)
            return GR_MPI_ERR_OTHER;
        if ((*m = unx_find(r, src, tag, ctx)))
            return 1;
        if (!blocking)
            return 0;
        int rc = wait_cv(r);
        if (rc < 0)
            return rc;
    }
}

int
gr_mpi_rank_probe(gr_mpi_rank* r,
                  int src,
                  int tag,
                  int ctx,
                  int blocking,
                  gr_mpi_status* st)
{
    int rc = check_recv(r, src, tag);
    if (rc < 0)
        return rc;
    if (src == GR_MPI_PROC_NULL) {
        if (st)
            proc_null_status(st);
        return 1;
    }
    struct gr__mpi_msg* m;
    if (!blocking)
        read_remote(r);
    pthread_mutex_lock(&r->w->mu);
    rc = probe_locked(r, src, tag, ctx, blocking, &m);
    if (rc == 1)
        msg_status(m, st);
    pthread_mutex_unlock(&r->w->mu);
    return rc;
}

int
gr_mpi_rank_mprobe(gr_mpi_rank* r,
                   int src,
                   int tag,
                   int ctx,
                   int blocking,
                   int32_t* msg,
                   gr_mpi_status* st)
{
    int rc = check_recv(r, src, tag);
    if (rc < 0)
        return rc;
    if (src == GR_MPI_PROC_NULL) {
        if (st)
            proc_null_status(st);
        *msg = GR_MPI_PROC_NULL;
        return 1;
    }
    struct gr__mpi_msg* m;
    if (!blocking)
        read_remote(r);
    pthread_mutex_lock(&r->w->mu);
    rc = probe_locked(r, src, tag, ctx, blocking, &m);
    if (rc == 1) {
        int32_t h = 0;
        while (h < r->n_probed && r->probed[h])
            h++;
        if (h == r->n_probed && r->n_probed == r->cap_probed) {
            int32_t cap = r->cap_probed ? r->cap_probed * 2 : 16;
            struct gr__mpi_msg** t =
              cap <= GR__MPI_MAX_REQS
                ? gr_realloc(r->probed, (size_t)cap * sizeof *t)
                : NULL;
            if (!t) {
                rc = GR_MPI_ERR_NOMEM;
                goto out;
            }
            r->probed = t;
            r->cap_probed = cap;
        }
        if (h == r->n_probed)
            r->n_probed++;
        unx_remove(r, m);
        m->handle = h;
        r->probed[h] = m;
        *msg = h;
        msg_status(m, st);
    }
out:
    pthread_mutex_unlock(&r->w->mu);
    return rc;
}

int
gr_mpi_rank_imrecv(gr_mpi_rank* r,
                   void* buf,
                   size_t len,
                   int32_t msg,
                   int32_t* req)
{
    pthread_mutex_lock(&r->w->mu);
    int rc = 0;
    struct gr__mpi_msg* m =
      msg >= 0 && msg < r->n_probed ? r->probed[msg] : NULL;
    if (!m && msg != GR_MPI_PROC_NULL) {
        rc = GR_MPI_ERR_REQUEST;
        goto out;
    }
    if (r->detached) {
        rc = GR_MPI_ERR_OTHER;
        goto out;
    }
    struct gr__mpi_req* q = req_new(r, REQ_RECV);
    if (!q) {
        rc = GR_MPI_ERR_NOMEM;
        goto out;
    }
    q->buf = buf;
    q->cap = len;
    if (!m) {
        proc_null_status(&q->st);
        req_done(q, 0);
    } else {
        r->probed[msg] = NULL;
        deliver(r, q, m);
    }
    *req = q->handle;
out:
    pthread_mutex_unlock(&r->w->mu);
    return rc;
}

int
gr_mpi_rank_mrecv(gr_mpi_rank* r,
                  void* buf,
                  size_t len,
                  int32_t msg,
                  gr_mpi_status* st)
{
    int32_t req;
    int rc = gr_mpi_rank_imrecv(r, buf, len, msg, &req);
    return rc < 0 ? rc : gr_mpi_rank_wait(r, req, st);
}

/* ---- arrivals from other hosts (remote.c) -------------------------------- */

void
gr__mpi_arrive_eager(gr_mpi_rank* d,
                     int src,
                     int tag,
                     int ctx,
                     const void* data,
                     size_t len)
{
    if (d->detached)
        return;
    struct gr__mpi_req* rq = posted_find(d, src, tag, ctx);
    if (rq) {
        post_remove(d, rq);
        size_t n = len < rq->cap ? len : rq->cap;
        if (n)
            memcpy(rq->buf, data, n);
        rq->st.source = src;
        rq->st.tag = tag;
        rq->st.bytes = (int64_t)len;
        req_done(rq, len > rq->cap ? GR_MPI_ERR_TRUNCATE : 0);
        gr__mpi_rank_wake(d);
        return;
    }
    struct gr__mpi_msg* m = gr_calloc(1, sizeof *m);
    if (!m || (len && !(m->data = gr_malloc(len)))) {
        gr_free(m);
        gr__mpi_world_fail(
          d->w, d->index, GR_MPI_FAIL_ERROR, 0, "out of memory", 0);
        return;
    }
    if (len)
        memcpy(m->data, data, len);
    m->src = src;
    m->tag = tag;
    m->ctx = ctx;
    m->len = len;
    m->eager = 1;
    m->handle = -1;
    unx_append(d, m);
    gr__mpi_rank_wake(d);
}

void
gr__mpi_arrive_rts(gr_mpi_rank* d,
                   int src,
                   int tag,
                   int ctx,
                   size_t len,
                   int shost,
                   uint64_t token)
{
    struct gr__mpi_msg tmp = { .src = src,
                               .tag = tag,
                               .ctx = ctx,
                               .len = len,
                               .remote = 1,
                               .shost = shost,
                               .token = token,
                               .handle = -1 };
    if (d->detached) {
        gr__mpi_remote_refuse(d->w, &tmp);
        return;
    }
    struct gr__mpi_req* rq = posted_find(d, src, tag, ctx);
    if (rq) {
        post_remove(d, rq);
        gr__mpi_remote_fetch(d, rq, &tmp);
        return;
    }
    struct gr__mpi_msg* m = gr_calloc(1, sizeof *m);
    if (!m) {
        gr__mpi_remote_refuse(d->w, &tmp);
        return;
    }
    *m = tmp;
    unx_append(d, m);
    gr__mpi_rank_wake(d);
}
