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

/* ---- deques ----
 * Every access is sequentially consistent except where a weaker order is
 * named: on wasm all atomics are, and the owner's pop and the thieves'
 * steal need a total order between "bottom" and "top" anyway (a store
 * then a load), which a seq_cst store then load gives without a fence. */

#define DQ_FIRST_CAP 256u

void
omp__deque_init(omp_deque* d)
{
    memset(d, 0, sizeof(*d));
}

void
omp__deque_reset(omp_deque* d)
{
    omp_dqring* r = atomic_load_explicit(&d->ring, memory_order_relaxed);
    if (r) {
        omp_dqring* o = r->older;
        r->older = NULL;
        while (o) {
            omp_dqring* next = o->older;
            free(o);
            o = next;
        }
    }
    atomic_store_explicit(&d->top, 0, memory_order_relaxed);
    atomic_store_explicit(&d->bottom, 0, memory_order_relaxed);
}

static uint32_t
deque_len(omp_deque* d)
{
    uint32_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    uint32_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    return (int32_t)(b - t) > 0 ? b - t : 0;
}

/* A ring twice as large holding the owner's [top, bottom); the old one
 * stays readable for thieves until omp__deque_reset. */
static omp_dqring*
deque_grow(omp_deque* d, omp_dqring* old, uint32_t top, uint32_t bottom)
{
    uint32_t cap = old ? (old->mask + 1) * 2 : DQ_FIRST_CAP;
    omp_dqring* r = malloc(sizeof(*r) + sizeof(r->slot[0]) * cap);
    if (!r)
        omp__fatal("out of memory for the task queue");
    r->mask = cap - 1;
    r->older = old;
    for (uint32_t i = top; i != bottom; i++)
        atomic_store_explicit(
          &r->slot[i & r->mask],
          atomic_load_explicit(&old->slot[i & old->mask], memory_order_relaxed),
          memory_order_relaxed);
    atomic_store(&d->ring, r);
    return r;
}

/* The owner pushes t; the store of bottom publishes it (and orders the
 * caller's check for sleepers after it). */
static void
deque_push(omp_deque* d, omp_task* t)
{
    uint32_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    uint32_t top = atomic_load_explicit(&d->top, memory_order_acquire);
    omp_dqring* r = atomic_load_explicit(&d->ring, memory_order_relaxed);
    if (!r || b - top > r->mask)
        r = deque_grow(d, r, top, b);
    atomic_store_explicit(&r->slot[b & r->mask], t, memory_order_relaxed);
    atomic_store(&d->bottom, b + 1);
}

/* The owner takes its newest task. */
static omp_task*
deque_pop(omp_deque* d)
{
    uint32_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    uint32_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    if ((int32_t)(b - t) <= 0) /* top only grows: empty for sure */
        return NULL;
    b--;
    omp_dqring* r = atomic_load_explicit(&d->ring, memory_order_relaxed);
    atomic_store(&d->bottom, b);
    t = atomic_load(&d->top);
    if ((int32_t)(b - t) < 0) {
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
        return NULL;
    }
    omp_task* x =
      atomic_load_explicit(&r->slot[b & r->mask], memory_order_relaxed);
    if (b == t) {
        /* the last one: race the thieves for it */
        if (!atomic_compare_exchange_strong(&d->top, &t, t + 1))
            x = NULL;
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
    }
    return x;
}

/* Another member takes the oldest task; NULL if empty or lost a race. */
static omp_task*
deque_steal(omp_deque* d)
{
    uint32_t t = atomic_load(&d->top);
    uint32_t b = atomic_load(&d->bottom);
    if ((int32_t)(b - t) <= 0)
        return NULL;
    omp_dqring* r = atomic_load(&d->ring);
    omp_task* x =
      atomic_load_explicit(&r->slot[t & r->mask], memory_order_relaxed);
    if (!atomic_compare_exchange_strong(&d->top, &t, t + 1))
        return NULL;
    return x;
}

/* ---- the inbox: tasks made ready by threads that are not members ---- */

static void
inbox_put(omp_team* team, omp_task* t)
{
    omp__mutex_lock(&team->inbox_lock);
    t->qnext = team->inbox;
    team->inbox = t;
    omp__mutex_unlock(&team->inbox_lock);
    atomic_fetch_add(&team->ninbox, 1);
}

static omp_task*
inbox_take(omp_team* team)
{
    omp_task* t = NULL;
    omp__mutex_lock(&team->inbox_lock);
    if (team->inbox) {
        t = team->inbox;
        team->inbox = t->qnext;
        atomic_fetch_sub(&team->ninbox, 1);
    }
    omp__mutex_unlock(&team->inbox_lock);
    return t;
}

/* Whether some task is queued anywhere in the team (a snapshot). */
static int
team_has_ready(omp_team* team)
{
    if (atomic_load(&team->ninbox) > 0)
        return 1;
    for (int i = 0; i < team->nproc; i++) {
        omp_deque* d = &team->deques[i];
        if ((int32_t)(atomic_load(&d->bottom) - atomic_load(&d->top)) > 0)
            return 1;
    }
    return 0;
}

omp_task*
omp__task_next(omp_thread* thr, omp_team* team)
{
    int n = team->nproc, me = thr->team == team ? thr->tid : 0;
    omp_task* t = NULL;
    if (thr->team == team && (t = deque_pop(&team->deques[me])))
        return t;
    if (atomic_load_explicit(&team->ninbox, memory_order_relaxed) > 0 &&
        (t = inbox_take(team)))
        return t;
    for (int i = 1; i < n; i++) {
        int v = me + i < n ? me + i : me + i - n;
        if ((t = deque_steal(&team->deques[v])))
            return t;
    }
    return NULL;
}

/* Queues a ready task (already registered). With throttling on, a thread
 * whose deque is long runs the task at once instead. */
void
omp__task_push(omp_thread* thr, omp_task* t)
{
    omp_team* team = t->team;
    if (thr->team != team) {
        inbox_put(team, t);
    } else {
        omp_deque* d = &team->deques[thr->tid];
        if (omp__g.throttle && deque_len(d) >= (uint32_t)omp__g.throttle) {
            omp__task_run(thr, t);
            return;
        }
        deque_push(d, t);
    }
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
        /* Sleep. Whoever changes cond or queues a task does so with a
         * seq_cst operation and then looks at sleepers (omp__wake_team):
         * it sees us, or we see its change here. */
        uint32_t ev = atomic_load(&team->event.val);
        atomic_fetch_add(&team->event.sleepers, 1);
        if (atomic_load(cond) != until && !team_has_ready(team))
            omp__futex_wait(&team->event.val, ev);
        atomic_fetch_sub(&team->event.sleepers, 1);
    }
}

/* ---- task blocks ----
 * A thread keeps the blocks of tasks it made in its own free lists, by
 * size class (128 << class bytes); a block finished by another thread goes
 * back on its maker's remote stack, which the maker takes over in one
 * exchange when a list runs dry. Larger blocks use malloc. */

#define POOL_CLASSES 5

omp_task*
omp__task_block(omp_thread* thr, size_t size)
{
    int c = 0;
    while (c < POOL_CLASSES && ((size_t)128 << c) < size)
        c++;
    omp_task* t;
    if (c == POOL_CLASSES) {
        if (!(t = malloc(size)))
            omp__fatal("out of memory for a task (%zu bytes)", size);
        t->owner = NULL;
        t->pool_class = -1;
        return t;
    }
    t = thr->pool[c];
    if (!t && atomic_load_explicit(&thr->pool_remote, memory_order_relaxed)) {
        omp_task* r = atomic_exchange_explicit(
          &thr->pool_remote, NULL, memory_order_acquire);
        while (r) {
            omp_task* next = r->qnext;
            r->qnext = thr->pool[r->pool_class];
            thr->pool[r->pool_class] = r;
            r = next;
        }
        t = thr->pool[c];
    }
    if (t)
        thr->pool[c] = t->qnext;
    else if (!(t = malloc((size_t)128 << c)))
        omp__fatal("out of memory for a task (%zu bytes)", size);
    t->owner = thr;
    t->pool_class = c;
    return t;
}

void
omp__task_block_free(omp_task* t)
{
    omp_thread* o = t->owner;
    if (!o) {
        free(t);
        return;
    }
    if (o == omp__self) {
        t->qnext = o->pool[t->pool_class];
        o->pool[t->pool_class] = t;
        return;
    }
    omp_task* h = atomic_load_explicit(&o->pool_remote, memory_order_relaxed);
    do
        t->qnext = h;
    while (!atomic_compare_exchange_weak_explicit(
      &o->pool_remote, &h, t, memory_order_release, memory_order_relaxed));
}

/* ---- life cycle ---- */

static void
task_free(omp_task* t)
{
    if (t->dep)
        omp__depnode_unref(t->dep);
    omp__task_block_free(t);
}

static void
task_unref(omp_task* t)
{
    if (t->is_implicit)
        return;
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
        task_free(t);
}

/* Counts a new task in its parent, taskgroup and team. Implicit tasks are
 * never freed, so they hold no references. */
static void
task_register(omp_task* t)
{
    omp_task* p = t->parent;
    atomic_fetch_add_explicit(&p->children, 1, memory_order_relaxed);
    if (!p->is_implicit)
        atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    if (t->tg)
        atomic_fetch_add_explicit(&t->tg->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->team->ntasks, 1, memory_order_relaxed);
}

/* The counts reaching zero are what waiters look at: seq_cst, so that
 * omp__wake_team's look at the sleepers is ordered after them. */
static void
task_finish(omp_thread* thr, omp_task* t)
{
    omp_team* team = t->team;
    int wake = 0;
    if (t->dep)
        omp__deps_release(thr, t->dep);
    if (t->tg && atomic_fetch_sub(&t->tg->count, 1) == 1)
        wake = 1;
    omp_task* p = t->parent;
    if (atomic_fetch_sub(&p->children, 1) == 1)
        wake = 1;
    if (atomic_fetch_sub(&team->ntasks, 1) == 1)
        wake = 1;
    task_unref(p);
    /* Its children (the only other holders) are done with it once refs is
     * back to 1, and a finished task makes no new children. */
    if (atomic_load_explicit(&t->refs, memory_order_acquire) == 1)
        task_free(t);
    else
        task_unref(t);
    if (wake)
        omp__wake_team(team);
}

/* The end of one run of a task: finished unless an untied part was queued
 * again, or a detached event (or proxy completion) is still outstanding. */
static void
task_run_done(omp_thread* thr, omp_task* t)
{
    /* Only untied tasks have parts queued again. */
    if (!(t->flags & TASK_TIED) &&
        atomic_fetch_sub_explicit(&t->untied_count, 1, memory_order_acq_rel) >
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
    omp_task* t = omp__task_block(thr, total);
    omp_thread* owner = t->owner;
    int pool_class = t->pool_class;
    memset(t, 0, off + sizeof(kmp_task_t));
    t->owner = owner;
    t->pool_class = pool_class;
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
