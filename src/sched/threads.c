/* SPDX-License-Identifier: Apache-2.0 */
/* Thread granules (docs/threads.md, "Scheduling"): the slot source of a
 * running call's guest threads (host/threads.h): they take their slots
 * from the scheduler's free slots, as calls do, and are counted for the
 * metrics and the hosts list, which also names the calls running them. */
#include <errno.h>
#include <string.h>

#include "host/threads.h"
#include "sched/sched_int.h"
#include "util/alloc.h"

/* Runs on guest threads, like the two below. */
static int
tslots_take(void* ctx, int n)
{
    gr_sched* s = ((struct gr__sched_tctx*)ctx)->s;
    /* Queued calls come first: a thread only speeds a running call up, a
     * queued call does not run at all. */
    if (atomic_load(&s->queue_len) || atomic_load(&s->stopping))
        return 0;
    int f = atomic_load_explicit(&s->free_slots, memory_order_relaxed);
    while (f > 0) {
        int k = f < n ? f : n;
        if (atomic_compare_exchange_weak(&s->free_slots, &f, f - k)) {
            atomic_fetch_add(&s->thread_slots, k);
            return k;
        }
    }
    return 0;
}

static void
tslots_give(void* ctx, int n)
{
    gr_sched* s = ((struct gr__sched_tctx*)ctx)->s;
    atomic_fetch_sub(&s->thread_slots, n);
    /* all at once: a queued call that starts now sees every one of them */
    atomic_fetch_add(&s->free_slots, n);
    if (atomic_load(&s->queue_len)) {
        pthread_mutex_lock(&s->q_lock);
        pthread_cond_broadcast(&s->q_cond);
        pthread_mutex_unlock(&s->q_lock);
    }
}

/* The calls running threads, for gr_sched_thread_calls: linked while
 * their count is above 0 (t_lock). */
static void
tslots_event(void* ctx, int delta)
{
    struct gr__sched_tctx* t = ctx;
    gr_sched* s = t->s;
    struct gr__call* c = t->c;
    if (delta == 0) {
        atomic_fetch_add(&s->threads_refused, 1);
        return;
    }
    atomic_fetch_add(&s->thread_granules, delta);
    if (delta > 0)
        atomic_fetch_add(&s->threads_started, 1);
    pthread_mutex_lock(&s->t_lock);
    int was = atomic_fetch_add(&c->threads_running, delta);
    if (was == 0 && delta > 0) {
        c->tprev = NULL;
        c->tnext = s->tcalls;
        if (s->tcalls)
            s->tcalls->tprev = c;
        s->tcalls = c;
    } else if (was + delta == 0) {
        if (c->tprev)
            c->tprev->tnext = c->tnext;
        else
            s->tcalls = c->tnext;
        if (c->tnext)
            c->tnext->tprev = c->tprev;
        c->tprev = c->tnext = NULL;
    }
    pthread_mutex_unlock(&s->t_lock);
}

void
gr__sched_thread_slots(gr_threads_slots* ts,
                       struct gr__sched_tctx* t,
                       gr_sched* s,
                       struct gr__call* c)
{
    *t = (struct gr__sched_tctx){ .s = s, .c = c };
    *ts = (gr_threads_slots){ .ctx = t,
                              .take = tslots_take,
                              .give = tslots_give,
                              .event = tslots_event,
                              .want = c->threads };
}

int
gr_sched_thread_calls(gr_sched* s, gr_host_call** out, size_t* n)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&s->t_lock);
    size_t k = 0;
    for (struct gr__call* c = s->tcalls; c; c = c->tnext)
        k++;
    gr_host_call* v = k ? gr_calloc(k, sizeof *v) : NULL;
    if (k && !v) {
        pthread_mutex_unlock(&s->t_lock);
        return -ENOMEM;
    }
    size_t i = 0;
    for (struct gr__call* c = s->tcalls; c && i < k; c = c->tnext, i++) {
        v[i].id = c->id;
        memcpy(v[i].user, c->user, sizeof v[i].user);
        memcpy(v[i].fn, c->fn_name, sizeof v[i].fn);
        int t = atomic_load(&c->threads_running);
        v[i].threads = t > 0 ? (uint32_t)t : 0;
    }
    pthread_mutex_unlock(&s->t_lock);
    *out = v;
    *n = i;
    return 0;
}
