/* SPDX-License-Identifier: Apache-2.0 */
/* Threads and teams of the OpenMP runtime: the registry of threads, the
 * pool of idle workers, fork/join of parallel regions (hot team for the
 * outermost level), serialized regions, the teams construct and the team
 * barrier (which also runs tasks).
 */
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "kmp_abi.h"

omp_thread* omp__threads[OMP_MAX_THREADS];
_Thread_local omp_thread* omp__self;
static _Atomic int32_t next_gtid;
static _Atomic uint32_t pool_lock;
static omp_thread* pool_head;

static void*
xcalloc(size_t n, size_t size)
{
    void* p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        omp__fatal("out of memory (%zu bytes)", n * size);
    return p;
}

static void*
xrealloc(void* p, size_t size)
{
    void* q = realloc(p, size ? size : 1);
    if (!q)
        omp__fatal("out of memory (%zu bytes)", size);
    return q;
}

/* Grows a team's per-member arrays to hold n members. */
static void
team_reserve(omp_team* team, int n)
{
    if (n <= team->cap)
        return;
    int cap = team->cap ? team->cap : 1;
    while (cap < n)
        cap *= 2;
    team->members = xrealloc(team->members, sizeof(omp_thread*) * cap);
    team->implicit = xrealloc(team->implicit, sizeof(omp_task) * cap);
    team->deques = xrealloc(team->deques, sizeof(omp_deque) * cap);
    for (int i = team->cap; i < cap; i++) {
        team->members[i] = NULL;
        memset(&team->implicit[i], 0, sizeof(omp_task));
        omp__deque_init(&team->deques[i]);
    }
    team->cap = cap;
}

static void
team_init(omp_team* team)
{
    memset(team, 0, sizeof(*team));
    team_reserve(team, 1);
    team->disp_n = omp__g.disp_buffers;
    team->disp = xcalloc((size_t)team->disp_n, sizeof(omp_disp));
    omp__disp_reset(team);
}

/* Stores 0 unless it is there already (see team_begin). */
static void
zero_if(_Atomic int32_t* p)
{
    if (atomic_load_explicit(p, memory_order_relaxed) != 0)
        atomic_store_explicit(p, 0, memory_order_relaxed);
}

static void
implicit_init(omp_task* t, omp_team* team, omp_task* parent, const omp_icv* icv)
{
    t->parent = parent;
    t->team = team;
    t->tg = NULL;
    t->cur_tg = NULL;
    atomic_store_explicit(&t->children, 0, memory_order_relaxed);
    atomic_store_explicit(&t->refs, 1, memory_order_relaxed);
    t->flags = TASK_TIED;
    t->is_implicit = 1;
    t->in_final = 0;
    t->dep = NULL;
    t->dephash = NULL;
    t->icv = *icv;
    t->ws_count = 0;
    t->single_count = 0;
    t->disp = NULL;
    t->d_ordered = 0;
    t->reduce_locked = 0;
}

/* Frees the dependence hash of an implicit task at the end of its region
 * (each thread its own: all its children are done after the barrier). */
static void
implicit_fini(omp_task* it)
{
    if (it->dephash) {
        omp__dephash_free(it->dephash);
        it->dephash = NULL;
    }
}

void
omp__icv_child(const omp_icv* parent, omp_icv* child, int level)
{
    *child = *parent;
    if (level < omp__g.nthreads_len)
        child->nthreads = omp__g.nthreads_list[level];
}

omp_thread*
omp__register_root(void)
{
    omp__init();
    int32_t gtid = atomic_fetch_add(&next_gtid, 1);
    if (gtid >= OMP_MAX_THREADS)
        omp__fatal("more than %d threads", OMP_MAX_THREADS);
    omp_thread* thr = xcalloc(1, sizeof(*thr));
    thr->gtid = gtid;
    thr->is_root = 1;
    thr->num_teams = 1;
    atomic_fetch_add(&omp__g.nthreads_made, 1);
    team_init(&thr->root_team);
    omp_team* rt = &thr->root_team;
    rt->nproc = 1;
    rt->members[0] = thr;
    implicit_init(&rt->implicit[0], rt, NULL, &omp__g.icv);
    thr->team = rt;
    thr->task = &rt->implicit[0];
    omp__self = thr;
    omp__threads[gtid] = thr;
    return thr;
}

/* ---- workers ---- */

static void
worker_run(omp_thread* thr, omp_team* team, int tid)
{
    omp_task* it = &team->implicit[tid];
    implicit_init(it, team, team->enc, &team->enc->icv);
    omp__icv_child(&team->enc->icv, &it->icv, team->level);
    thr->team = team;
    thr->tid = tid;
    thr->task = it;
    int32_t btid = tid;
    omp__invoke(team->fn, &thr->gtid, &btid, team->argc, team->args);
    omp__barrier(thr);
    implicit_fini(it);
    thr->team = NULL;
    thr->task = NULL;
    /* The last access to the team: its master may reuse it after this. */
    atomic_fetch_sub_explicit(&team->active_workers, 1, memory_order_release);
}

static void*
worker_main(void* arg)
{
    omp_thread* thr = arg;
    omp__self = thr;
    uint32_t seen = 0;
    for (;;) {
        omp__flag_wait_ne(&thr->go, seen);
        seen = atomic_load_explicit(&thr->go.val, memory_order_acquire);
        worker_run(thr, thr->next_team, thr->next_tid);
    }
    return NULL;
}

/* A new pool thread, or NULL when the host refuses one (under granary
 * serve a call's threads beyond its grant of slots are refused: the team
 * being formed then runs with the threads it has). */
static omp_thread*
worker_create(void)
{
    int32_t gtid = atomic_fetch_add(&next_gtid, 1);
    if (gtid >= OMP_MAX_THREADS)
        omp__fatal("more than %d threads", OMP_MAX_THREADS);
    omp_thread* thr = xcalloc(1, sizeof(*thr));
    thr->gtid = gtid;
    thr->num_teams = 1;
    omp__threads[gtid] = thr;
    atomic_fetch_add(&omp__g.nthreads_made, 1);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (omp__g.stacksize)
        pthread_attr_setstacksize(&attr, omp__g.stacksize);
    pthread_t t;
    int rc = pthread_create(&t, &attr, worker_main, thr);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        omp__threads[gtid] = NULL;
        atomic_fetch_sub(&omp__g.nthreads_made, 1);
        free(thr);
        /* give the number back unless another thread took the next one */
        int32_t next = gtid + 1;
        atomic_compare_exchange_strong(&next_gtid, &next, gtid);
        return NULL;
    }
    return thr;
}

static omp_thread*
pool_take(void)
{
    omp__mutex_lock(&pool_lock);
    omp_thread* w = pool_head;
    if (w)
        pool_head = w->pool_next;
    omp__mutex_unlock(&pool_lock);
    return w ? w : worker_create();
}

static void
pool_give(omp_thread** ws, int n)
{
    if (n <= 0)
        return;
    omp__mutex_lock(&pool_lock);
    for (int i = 0; i < n; i++) {
        ws[i]->pool_next = pool_head;
        pool_head = ws[i];
    }
    omp__mutex_unlock(&pool_lock);
}

/* ---- fork/join ---- */

static omp_team*
team_at(omp_thread* thr, int level)
{
    if (level >= thr->team_cache_n) {
        int n = level + 4;
        thr->team_cache = xrealloc(thr->team_cache, sizeof(omp_team*) * n);
        for (int i = thr->team_cache_n; i < n; i++)
            thr->team_cache[i] = NULL;
        thr->team_cache_n = n;
    }
    if (!thr->team_cache[level]) {
        omp_team* t = xcalloc(1, sizeof(omp_team));
        team_init(t);
        thr->team_cache[level] = t;
    }
    return thr->team_cache[level];
}

/* Prepares the cached team of thr at the next level for nproc threads:
 * waits for stragglers of its last use, resets its shared state and sets
 * up the implicit tasks. */
static omp_team*
team_begin(omp_thread* thr, int nproc, int is_teams)
{
    omp_team* parent = thr->team;
    int level = parent->level + (is_teams ? 0 : 1);
    omp_team* team = team_at(thr, parent->depth + 1);
    unsigned spins = 0;
    while (atomic_load_explicit(&team->active_workers, memory_order_acquire) >
           0) {
        if (!omp__spin(&spins))
            sched_yield();
    }
    /* A worksharing construct that used a dispatch buffer counts in every
     * implicit task (all threads meet the same constructs); the buffers
     * need their reset only then, or after a cancellation. On wasm every
     * atomic store is a locked exchange, so untouched state is left as it
     * is rather than rewritten. */
    int disp_used = team->nproc > 0 &&
                    (team->implicit[0].ws_count != 0 ||
                     atomic_load_explicit(&team->cancel, memory_order_relaxed));
    team_reserve(team, nproc);
    team->nproc = nproc;
    team->level = level;
    team->active_level =
      parent->active_level + (nproc > 1 && !is_teams ? 1 : 0);
    team->parent_tid = thr->tid;
    team->depth = parent->depth + 1;
    team->parent = parent;
    team->is_teams = is_teams;
    team->hot = parent == &thr->root_team;
    team->members[0] = thr;
    zero_if(&team->bar_count);
    zero_if(&team->ntasks);
    zero_if(&team->ninbox);
    team->inbox = NULL;
    for (int i = 0; i < nproc; i++)
        omp__deque_reset(&team->deques[i]);
    if (atomic_load_explicit(&team->single, memory_order_relaxed))
        atomic_store_explicit(&team->single, 0, memory_order_relaxed);
    zero_if(&team->cancel);
    team->copyprivate = NULL;
    if (disp_used)
        omp__disp_reset(team);
    omp_task* enc = thr->task;
    team->enc = enc;
    /* Workers set up their own implicit tasks (worker_run): the master
     * writing them would move their cache lines to it and back. */
    implicit_init(&team->implicit[0], team, enc, &enc->icv);
    omp__icv_child(&enc->icv, &team->implicit[0].icv, team->level);
    return team;
}

static void
team_end(omp_thread* thr, omp_team* team)
{
    implicit_fini(&team->implicit[0]);
    if (!team->hot && team->nproc > 1) {
        pool_give(team->members + 1, team->nproc - 1);
        team->nworkers_kept = 0;
    }
    (void)thr;
}

void
omp__fork(omp_thread* thr, int nproc, kmpc_micro fn, int argc, void** args)
{
    omp_team* saved_team = thr->team;
    omp_task* saved_task = thr->task;
    int saved_tid = thr->tid;
    omp_team* team = team_begin(thr, nproc, 0);
    team->fn = fn;
    team->argc = argc;
    team->args = args;
    if (nproc > 1) {
        /* hot team: reuse attached workers, top up from the pool */
        int have = team->hot ? team->nworkers_kept : 0;
        for (int i = have + 1; i < nproc; i++) {
            if (!(team->members[i] = pool_take())) {
                /* no more threads to be had: a smaller team */
                nproc = i;
                team->nproc = nproc;
                team->active_level =
                  saved_team->active_level + (nproc > 1 ? 1 : 0);
                break;
            }
        }
        if (team->hot && nproc - 1 > have)
            team->nworkers_kept = nproc - 1;
        atomic_store_explicit(
          &team->active_workers, nproc - 1, memory_order_relaxed);
        for (int i = 1; i < nproc; i++) {
            omp_thread* w = team->members[i];
            w->next_team = team;
            w->next_tid = i;
            atomic_fetch_add_explicit(&w->go.val, 1, memory_order_seq_cst);
            omp__flag_wake(&w->go);
        }
    }
    thr->team = team;
    thr->tid = 0;
    thr->task = &team->implicit[0];
    int32_t btid = 0;
    omp__invoke(fn, &thr->gtid, &btid, argc, args);
    omp__barrier(thr);
    team_end(thr, team);
    thr->team = saved_team;
    thr->task = saved_task;
    thr->tid = saved_tid;
}

void
omp__serialized_begin(omp_thread* thr)
{
    omp_team* team = team_begin(thr, 1, 0);
    team->fn = NULL;
    /* remember what to restore in the team itself */
    team->args = (void**)thr->task;
    team->argc = thr->tid;
    thr->team = team;
    thr->tid = 0;
    thr->task = &team->implicit[0];
}

void
omp__serialized_end(omp_thread* thr)
{
    omp_team* team = thr->team;
    if (!team->parent)
        return; /* unbalanced: ignore */
    if (atomic_load(&team->ntasks) > 0)
        omp__wait_tasks(thr, NULL, 0);
    team_end(thr, team);
    thr->task = (omp_task*)team->args;
    thr->tid = team->argc;
    thr->team = team->parent;
}

/* ---- the barrier ---- */

/* Callers changed what waiters look at with a seq_cst operation; a
 * waiter counts itself in sleepers (seq_cst) before it looks again and
 * sleeps (omp__wait_tasks). So when no one sleeps, no shared write. */
void
omp__wake_team(omp_team* team)
{
    if (atomic_load(&team->event.sleepers) > 0) {
        atomic_fetch_add(&team->event.val, 1);
        omp__futex_wake(&team->event.val, 0x7fffffff);
    }
}

void
omp__barrier(omp_thread* thr)
{
    omp_team* team = thr->team;
    if (team->nproc == 1) {
        if (atomic_load_explicit(&team->ntasks, memory_order_acquire) > 0)
            omp__wait_tasks(thr, NULL, 0);
        return;
    }
    uint32_t epoch =
      atomic_load_explicit(&team->bar_epoch, memory_order_acquire);
    if (atomic_fetch_add_explicit(&team->bar_count, 1, memory_order_acq_rel) +
          1 ==
        team->nproc) {
        if (atomic_load_explicit(&team->ntasks, memory_order_acquire) > 0)
            omp__wait_tasks(thr, NULL, 0);
        atomic_store_explicit(&team->bar_count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&team->bar_epoch, 1, memory_order_seq_cst);
        omp__wake_team(team);
        return;
    }
    omp__wait_tasks(
      thr, (_Atomic int32_t*)&team->bar_epoch, (int32_t)(epoch + 1));
}

/* ---- entry points ---- */

static int
team_size(omp_thread* thr)
{
    omp_task* task = thr->task;
    int n =
      thr->pending_nthreads > 0 ? thr->pending_nthreads : task->icv.nthreads;
    thr->pending_nthreads = 0;
    if (thr->team->active_level >= task->icv.max_active_levels)
        return 1;
    if (n > omp__g.thread_limit)
        n = omp__g.thread_limit;
    if (task->icv.dynamic && n > omp__g.num_procs)
        n = omp__g.num_procs;
    if (n < 1)
        n = 1;
    return n;
}

void
__kmpc_fork_call(ident_t* loc, int32_t argc, kmpc_micro fn, ...)
{
    (void)loc;
    omp_thread* thr = omp__me();
    void* local[16];
    void** args = argc <= 16 ? local : xcalloc((size_t)argc, sizeof(void*));
    va_list ap;
    va_start(ap, fn);
    for (int i = 0; i < argc; i++)
        args[i] = va_arg(ap, void*);
    va_end(ap);
    omp__fork(thr, team_size(thr), fn, argc, args);
    if (args != local)
        free(args);
}

void
__kmpc_fork_call_if(ident_t* loc,
                    int32_t argc,
                    kmpc_micro fn,
                    int32_t cond,
                    void* args)
{
    (void)loc;
    omp_thread* thr = omp__me();
    int n = team_size(thr);
    omp__fork(thr, cond ? n : 1, fn, argc, (void**)args);
}

void
__kmpc_push_num_threads(ident_t* loc, int32_t gtid, int32_t n)
{
    (void)loc;
    omp__thr(gtid)->pending_nthreads = n;
}

void
__kmpc_serialized_parallel(ident_t* loc, int32_t gtid)
{
    (void)loc;
    omp_thread* thr = omp__thr(gtid);
    thr->pending_nthreads = 0;
    omp__serialized_begin(thr);
}

void
__kmpc_end_serialized_parallel(ident_t* loc, int32_t gtid)
{
    (void)loc;
    omp__serialized_end(omp__thr(gtid));
}

int32_t
__kmpc_global_thread_num(ident_t* loc)
{
    (void)loc;
    return omp__me()->gtid;
}

int32_t
__kmpc_global_num_threads(ident_t* loc)
{
    (void)loc;
    return atomic_load(&next_gtid);
}

int32_t
__kmpc_bound_thread_num(ident_t* loc)
{
    (void)loc;
    return omp__me()->tid;
}

int32_t
__kmpc_bound_num_threads(ident_t* loc)
{
    (void)loc;
    return omp__me()->team->nproc;
}

int32_t
__kmpc_in_parallel(ident_t* loc)
{
    (void)loc;
    return omp__me()->team->active_level > 0;
}

int32_t
__kmpc_ok_to_fork(ident_t* loc)
{
    (void)loc;
    return 1;
}

void
__kmpc_begin(ident_t* loc, int32_t flags)
{
    (void)loc;
    (void)flags;
    omp__me();
}

void
__kmpc_end(ident_t* loc)
{
    (void)loc;
}

void
__kmpc_push_proc_bind(ident_t* loc, int32_t gtid, int bind)
{
    (void)loc;
    (void)gtid;
    (void)bind;
}

int
__kmpc_get_target_offload(void)
{
    omp__init();
    return omp__g.target_offload; /* no devices: all runs on the host */
}

/* ---- teams: a league of initial threads, one per team ---- */

void
__kmpc_push_num_teams(ident_t* loc,
                      int32_t gtid,
                      int32_t nteams,
                      int32_t nthreads)
{
    (void)loc;
    omp_thread* thr = omp__thr(gtid);
    thr->pending_nteams = nteams;
    thr->pending_teams_limit = nthreads;
}

typedef struct teams_arg
{
    kmpc_micro fn;
    int argc;
    void** args;
    int nteams;
    int limit;
} teams_arg;

static void
teams_member(int32_t* gtid, int32_t* tid, teams_arg* ta)
{
    omp_thread* thr = omp__thr(*gtid);
    int saved_num = thr->team_num, saved_n = thr->num_teams;
    thr->team_num = *tid;
    thr->num_teams = ta->nteams;
    omp_team* league = thr->team;
    league->is_teams = 1;
    thr->task->icv.nthreads = ta->limit;
    /* Inside the teams region each initial thread is alone in its team. */
    omp__serialized_begin(thr);
    thr->team->level = league->parent->level;
    thr->team->active_level = league->parent->active_level;
    int32_t zero = 0;
    omp__invoke(ta->fn, gtid, &zero, ta->argc, ta->args);
    omp__serialized_end(thr);
    thr->team_num = saved_num;
    thr->num_teams = saved_n;
}

void
__kmpc_fork_teams(ident_t* loc, int32_t argc, kmpc_micro fn, ...)
{
    (void)loc;
    omp_thread* thr = omp__me();
    void* local[16];
    void** args = argc <= 16 ? local : xcalloc((size_t)argc, sizeof(void*));
    va_list ap;
    va_start(ap, fn);
    for (int i = 0; i < argc; i++)
        args[i] = va_arg(ap, void*);
    va_end(ap);
    teams_arg ta = {
        fn, argc, args, thr->pending_nteams, thr->pending_teams_limit
    };
    thr->pending_nteams = 0;
    thr->pending_teams_limit = 0;
    if (ta.nteams <= 0)
        ta.nteams = 1;
    if (ta.nteams > omp__g.thread_limit)
        ta.nteams = omp__g.thread_limit;
    if (ta.limit <= 0) {
        ta.limit = omp__g.num_procs / ta.nteams;
        if (ta.limit < 1)
            ta.limit = 1;
    }
    void* targ = &ta;
    omp__fork(
      thr, ta.nteams, (kmpc_micro)(void (*)(void))teams_member, 1, &targ);
    if (args != local)
        free(args);
}
