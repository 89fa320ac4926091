/* SPDX-License-Identifier: Apache-2.0 */
/* Explicit tasks of the OpenMP runtime: allocation, per-thread deques with
 * stealing, completion and reference counts, taskwait, taskyield,
 * taskgroup, undeferred (if(0)) and final tasks, untied tasks (re-queued
 * parts), detachable and proxy tasks, and waiting that runs tasks.
 * Dependences are in task_dep.c, taskloop in task_loop.c.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "kmp_abi.h"
#include "task_int.h"

/* ---- deques ---- */

void
omp__deque_init(omp_deque* d)
{
    memset(d, 0, sizeof(*d));
}

static uint32_t
deque_len(omp_deque* d)
{
    return d->tail - d->head;
}

/* Pushes t on the deque of the calling team member; returns the length. */
static uint32_t
deque_push(omp_deque* d, omp_task* t)
{
    omp__mutex_lock(&d->lock);
    if (deque_len(d) == d->cap) {
        uint32_t cap = d->cap ? d->cap * 2 : 64;
        omp_task** nb = malloc(sizeof(omp_task*) * cap);
        if (!nb)
            omp__fatal("out of memory for the task queue");
        for (uint32_t i = 0; i < d->cap; i++)
            nb[i] = d->buf[(d->head + i) % d->cap];
        free(d->buf);
        d->buf = nb;
        d->tail = d->cap;
        d->head = 0;
        d->cap = cap;
    }
    d->buf[d->tail % d->cap] = t;
    d->tail++;
    uint32_t n = deque_len(d);
    omp__mutex_unlock(&d->lock);
    return n;
}

static omp_task*
deque_pop(omp_deque* d, int steal)
{
    if (d->tail == d->head) /* racy peek; the lock decides */
        return NULL;
    omp_task* t = NULL;
    omp__mutex_lock(&d->lock);
    if (d->tail != d->head) {
        if (steal) {
            t = d->buf[d->head % d->cap];
            d->head++;
        } else {
            d->tail--;
            t = d->buf[d->tail % d->cap];
        }
    }
    omp__mutex_unlock(&d->lock);
    return t;
}

omp_task*
omp__task_next(omp_thread* thr, omp_team* team)
{
    if (atomic_load_explicit(&team->nqueued, memory_order_acquire) <= 0)
        return NULL;
    int n = team->nproc, me = thr->team == team ? thr->tid : 0;
    omp_task* t = deque_pop(&team->deques[me], 0);
    for (int i = 1; !t && i < n; i++)
        t = deque_pop(&team->deques[(me + i) % n], 1);
    if (t)
        atomic_fetch_sub_explicit(&team->nqueued, 1, memory_order_relaxed);
    return t;
}

/* Queues a ready task (already registered). With throttling on, a thread
 * whose deque is long runs the task at once instead. */
void
omp__task_push(omp_thread* thr, omp_task* t)
{
    omp_team* team = t->team;
    int me = thr->team == team ? thr->tid : 0;
    omp_deque* d = &team->deques[me];
    if (omp__g.throttle && thr->team == team &&
        deque_len(d) >= (uint32_t)omp__g.throttle) {
        omp__task_run(thr, t);
        return;
    }
    deque_push(d, t);
    atomic_fetch_add_explicit(&team->nqueued, 1, memory_order_seq_cst);
    omp__wake_team(team);
}

/* ---- waiting ---- */

void
omp__wait_tasks(omp_thread* thr, _Atomic int32_t* cond, int32_t until)
{
    omp_team* team = thr->team;
    if (!cond) {
        cond = &team->ntasks;
        until = 0;
    }
    unsigned spins = 0;
    for (;;) {
        if (atomic_load_explicit(cond, memory_order_acquire) == until)
            return;
        omp_task* t = omp__task_next(thr, team);
        if (t) {
            omp__task_run(thr, t);
            spins = 0;
            continue;
        }
        if (omp__spin(&spins))
            continue;
        uint32_t ev = atomic_load(&team->event.val);
        atomic_fetch_add(&team->event.sleepers, 1);
        if (atomic_load(cond) != until && atomic_load(&team->nqueued) <= 0)
            omp__futex_wait(&team->event.val, ev);
        atomic_fetch_sub(&team->event.sleepers, 1);
    }
}

/* ---- life cycle ---- */

static void
task_unref(omp_task* t)
{
    if (t->is_implicit)
        return;
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1) {
        if (t->dep)
            omp__depnode_unref(t->dep);
        free(t);
    }
}

/* Counts a new task in its parent, taskgroup and team. */
static void
task_register(omp_task* t)
{
    omp_task* p = t->parent;
    atomic_fetch_add_explicit(&p->children, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    if (t->tg)
        atomic_fetch_add_explicit(&t->tg->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->team->ntasks, 1, memory_order_relaxed);
}

static void
task_finish(omp_thread* thr, omp_task* t)
{
    omp_team* team = t->team;
    int wake = 0;
    if (t->dep)
        omp__deps_release(thr, t->dep);
    if (t->tg &&
        atomic_fetch_sub_explicit(&t->tg->count, 1, memory_order_acq_rel) == 1)
        wake = 1;
    omp_task* p = t->parent;
    if (atomic_fetch_sub_explicit(&p->children, 1, memory_order_acq_rel) == 1)
        wake = 1;
    if (atomic_fetch_sub_explicit(&team->ntasks, 1, memory_order_acq_rel) == 1)
        wake = 1;
    task_unref(p);
    task_unref(t);
    if (wake)
        omp__wake_team(team);
}

/* The end of one run of a task: finished unless an untied part was queued
 * again, or a detached event (or proxy completion) is still outstanding. */
static void
task_run_done(omp_thread* thr, omp_task* t)
{
    if (atomic_fetch_sub_explicit(&t->untied_count, 1, memory_order_acq_rel) >
        1)
        return;
    if (t->flags & (TASK_DETACHABLE | TASK_PROXY)) {
        int32_t z = 0;
        if (atomic_compare_exchange_strong(&t->detach_state, &z, 1))
            return; /* omp_fulfill_event finishes it */
    }
    task_finish(thr, t);
}

void
omp__task_run(omp_thread* thr, omp_task* t)
{
    omp_task* saved = thr->task;
    thr->task = t;
    t->started = 1;
    t->kt.routine(thr->gtid, &t->kt);
    if (t->dephash) {
        omp__dephash_free(t->dephash);
        t->dephash = NULL;
    }
    thr->task = saved;
    task_run_done(thr, t);
}

/* ---- entry points ---- */

kmp_task_t*
__kmpc_omp_task_alloc(ident_t* loc,
                      int32_t gtid,
                      int32_t flags,
                      size_t task_size,
                      size_t shareds_size,
                      kmp_routine_entry_t entry)
{
    (void)loc;
    omp_thread* thr = omp__thr(gtid);
    omp_task* parent = thr->task;
    size_t off = offsetof(omp_task, kt);
    size_t sh = (off + task_size + 15) & ~(size_t)15;
    size_t total = sh + shareds_size;
    omp_task* t = malloc(total);
    if (!t)
        omp__fatal("out of memory for a task (%zu bytes)", total);
    memset(t, 0, off + sizeof(kmp_task_t));
    t->parent = parent;
    t->team = thr->team;
    t->tg = parent->cur_tg;
    t->cur_tg = t->tg;
    atomic_store_explicit(&t->refs, 1, memory_order_relaxed);
    t->flags = flags;
    t->in_final = (flags & TASK_FINAL) || parent->in_final;
    t->icv = parent->icv;
    t->alloc_size = total;
    t->kt.shareds = shareds_size ? (char*)t + sh : NULL;
    t->kt.routine = entry;
    return &t->kt;
}

kmp_task_t*
__kmpc_omp_target_task_alloc(ident_t* loc,
                             int32_t gtid,
                             int32_t flags,
                             size_t task_size,
                             size_t shareds_size,
                             kmp_routine_entry_t entry,
                             int64_t device)
{
    (void)device;
    return __kmpc_omp_task_alloc(
      loc, gtid, flags, task_size, shareds_size, entry);
}

/* Submits a registered task: included (run now) inside a final task,
 * queued otherwise. */
void
omp__task_submit(omp_thread* thr, omp_task* t)
{
    atomic_store_explicit(&t->untied_count, 1, memory_order_relaxed);
    if (t->parent->in_final)
        omp__task_run(thr, t);
    else
        omp__task_push(thr, t);
}

int32_t
__kmpc_omp_task(ident_t* loc, int32_t gtid, kmp_task_t* kt)
{
    (void)loc;
    omp_thread* thr = omp__thr(gtid);
    omp_task* t = OMP_TASK_OF(kt);
    if (t->started) {
        /* an untied task queueing its next part */
        atomic_fetch_add_explicit(&t->untied_count, 1, memory_order_relaxed);
        omp__task_push(thr, t);
        return 0;
    }
    task_register(t);
    omp__task_submit(thr, t);
    return 0;
}

int32_t
__kmpc_omp_task_parts(ident_t* loc, int32_t gtid, kmp_task_t* kt)
{
    return __kmpc_omp_task(loc, gtid, kt);
}

void
omp__task_register(omp_task* t)
{
    task_register(t);
}

void
__kmpc_omp_task_begin_if0(ident_t* loc, int32_t gtid, kmp_task_t* kt)
{
    (void)loc;
    omp_thread* thr = omp__thr(gtid);
    omp_task* t = OMP_TASK_OF(kt);
    task_register(t);
    atomic_store_explicit(&t->untied_count, 1, memory_order_relaxed);
    t->started = 1;
    thr->task = t;
}

void
__kmpc_omp_task_complete_if0(ident_t* loc, int32_t gtid, kmp_task_t* kt)
{
    (void)loc;
    omp_thread* thr = omp__thr(gtid);
    omp_task* t = OMP_TASK_OF(kt);
    if (t->dephash) {
        omp__dephash_free(t->dephash);
        t->dephash = NULL;
    }
    thr->task = t->parent;
    task_run_done(thr, t);
}

int32_t
__kmpc_omp_taskwait(ident_t* loc, int32_t gtid)
{
    (void)loc;
    omp_thread* thr = omp__thr(gtid);
    omp_task* cur = thr->task;
    if (atomic_load_explicit(&cur->children, memory_order_acquire) > 0)
        omp__wait_tasks(thr, &cur->children, 0);
    return 0;
}

int32_t
__kmpc_omp_taskyield(ident_t* loc, int32_t gtid, int end_part)
{
    (void)loc;
    (void)end_part;
    omp_thread* thr = omp__thr(gtid);
    omp_task* t = omp__task_next(thr, thr->team);
    if (t)
        omp__task_run(thr, t);
    else
        sched_yield();
    return 0;
}

void
__kmpc_taskgroup(ident_t* loc, int32_t gtid)
{
    (void)loc;
    omp_thread* thr = omp__thr(gtid);
    omp_task* cur = thr->task;
    omp_taskgroup* tg = malloc(sizeof(*tg));
    if (!tg)
        omp__fatal("out of memory for a taskgroup");
    atomic_store_explicit(&tg->count, 0, memory_order_relaxed);
    tg->parent = cur->cur_tg;
    tg->red = NULL;
    cur->cur_tg = tg;
}

void
__kmpc_end_taskgroup(ident_t* loc, int32_t gtid)
{
    (void)loc;
    omp_thread* thr = omp__thr(gtid);
    omp_task* cur = thr->task;
    omp_taskgroup* tg = cur->cur_tg;
    if (!tg)
        return;
    if (atomic_load_explicit(&tg->count, memory_order_acquire) > 0)
        omp__wait_tasks(thr, &tg->count, 0);
    if (tg->red)
        omp__taskred_fini(tg);
    cur->cur_tg = tg->parent;
    free(tg);
}

/* ---- detach and proxy tasks ---- */

omp_event_handle_t
__kmpc_task_allow_completion_event(ident_t* loc, int32_t gtid, kmp_task_t* kt)
{
    (void)loc;
    (void)gtid;
    omp_task* t = OMP_TASK_OF(kt);
    t->flags |= TASK_DETACHABLE;
    return (omp_event_handle_t)(uintptr_t)t;
}

static void
complete_event(omp_task* t)
{
    int32_t z = 0;
    if (atomic_compare_exchange_strong(&t->detach_state, &z, 2))
        return; /* the task is still running: it finishes itself */
    task_finish(omp__me(), t);
}

void
omp_fulfill_event(omp_event_handle_t event)
{
    if (event)
        complete_event((omp_task*)(uintptr_t)event);
}

void
__kmpc_proxy_task_completed(int32_t gtid, kmp_task_t* kt)
{
    (void)gtid;
    complete_event(OMP_TASK_OF(kt));
}

void
__kmpc_proxy_task_completed_ooo(kmp_task_t* kt)
{
    complete_event(OMP_TASK_OF(kt));
}
