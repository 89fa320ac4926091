/* SPDX-License-Identifier: Apache-2.0 */
/* The omp_* API of the OpenMP runtime (ICV queries and setters, team
 * queries, locks, timing) and the few kmp_* extensions programs use.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kmp_abi.h"

void
omp_set_num_threads(int n)
{
    if (n > 0)
        omp__icv()->nthreads = n;
}

int
omp_get_num_threads(void)
{
    return omp__me()->team->nproc;
}

int
omp_get_max_threads(void)
{
    int n = omp__icv()->nthreads;
    return n > omp__g.thread_limit ? omp__g.thread_limit : n;
}

int
omp_get_thread_num(void)
{
    return omp__me()->tid;
}

int
omp_get_num_procs(void)
{
    omp__init();
    return omp__g.num_procs;
}

int
omp_in_parallel(void)
{
    return omp__me()->team->active_level > 0;
}

int
omp_in_final(void)
{
    return omp__me()->task->in_final;
}

void
omp_set_dynamic(int on)
{
    omp__icv()->dynamic = on != 0;
}

int
omp_get_dynamic(void)
{
    return omp__icv()->dynamic;
}

void
omp_set_nested(int on)
{
    omp__icv()->max_active_levels = on ? omp__supported_levels() : 1;
}

int
omp_get_nested(void)
{
    return omp__icv()->max_active_levels > 1;
}

void
omp_set_max_active_levels(int n)
{
    if (n < 0)
        return;
    if (n > omp__supported_levels())
        n = omp__supported_levels();
    omp__icv()->max_active_levels = n;
}

int
omp_get_max_active_levels(void)
{
    return omp__icv()->max_active_levels;
}

int
omp_get_supported_active_levels(void)
{
    return omp__supported_levels();
}

int
omp_get_level(void)
{
    return omp__me()->team->level;
}

int
omp_get_active_level(void)
{
    return omp__me()->team->active_level;
}

/* The team at nesting level `level` of the calling thread (NULL if out of
 * range), and the calling thread's number in it. */
static omp_team*
team_at_level(int level, int* tid)
{
    omp_thread* thr = omp__me();
    omp_team* t = thr->team;
    int me = thr->tid;
    if (level < 0 || level > t->level)
        return NULL;
    while (t && t->level > level) {
        me = t->parent_tid;
        t = t->parent;
    }
    /* serialized teams inside teams regions share their parent's level */
    while (t && t->parent && t->parent->level == level && t->is_teams) {
        me = t->parent_tid;
        t = t->parent;
    }
    if (tid)
        *tid = me;
    return t;
}

int
omp_get_ancestor_thread_num(int level)
{
    int tid;
    omp_team* t = team_at_level(level, &tid);
    return t ? tid : -1;
}

int
omp_get_team_size(int level)
{
    omp_team* t = team_at_level(level, NULL);
    return t ? t->nproc : -1;
}

int
omp_get_thread_limit(void)
{
    omp__init();
    return omp__g.thread_limit;
}

void
omp_set_schedule(omp_sched_t kind, int chunk)
{
    omp_icv* icv = omp__icv();
    int k = (int)kind & ~(int)omp_sched_monotonic;
    if ((k < omp_sched_static || k > omp_sched_auto) &&
        k != OMP_SCHED_TRAPEZOIDAL && k != OMP_SCHED_STATIC_STEAL)
        return;
    icv->sched = (int)kind;
    icv->chunk = k == omp_sched_auto || chunk < 1 ? 0 : chunk;
}

void
omp_get_schedule(omp_sched_t* kind, int* chunk)
{
    omp_icv* icv = omp__icv();
    *kind = (omp_sched_t)icv->sched;
    int k = icv->sched & ~(int)omp_sched_monotonic;
    /* like libomp: 0 for static without a chunk, else the default 1 */
    *chunk = icv->chunk > 0 ? icv->chunk : (k == omp_sched_static ? 0 : 1);
}

int
omp_get_cancellation(void)
{
    omp__init();
    return omp__g.cancellation;
}

omp_proc_bind_t
omp_get_proc_bind(void)
{
    return omp_proc_bind_false;
}

int
omp_get_num_places(void)
{
    return 0;
}

int
omp_get_place_num(void)
{
    return -1;
}

int
omp_get_max_task_priority(void)
{
    omp__init();
    return omp__g.max_task_prio;
}

int
omp_get_num_teams(void)
{
    return omp__me()->num_teams;
}

int
omp_get_team_num(void)
{
    return omp__me()->team_num;
}

int
omp_get_default_device(void)
{
    return 0;
}

void
omp_set_default_device(int device)
{
    (void)device;
}

int
omp_get_num_devices(void)
{
    return 0;
}

int
omp_get_device_num(void)
{
    return 0; /* the host, numbered like omp_get_initial_device */
}

int
omp_is_initial_device(void)
{
    return 1;
}

int
omp_get_initial_device(void)
{
    return 0;
}

int
omp_pause_resource(omp_pause_resource_t kind, int device)
{
    (void)kind;
    return device == 0 ? 0 : -1;
}

int
omp_pause_resource_all(omp_pause_resource_t kind)
{
    (void)kind;
    return 0;
}

/* ---- locks ----
 * A simple lock is a futex mutex in the storage of omp_lock_t. A nested
 * lock points to a heap block: the mutex, its owner and the depth. */
typedef struct nest_lock
{
    _Atomic uint32_t word;
    _Atomic int32_t owner; /* gtid + 1, 0 when free */
    int count;
} nest_lock;

static _Atomic uint32_t*
lock_word(omp_lock_t* l)
{
    return (_Atomic uint32_t*)(void*)&l->_lk;
}

void
omp_init_lock(omp_lock_t* lock)
{
    lock->_lk = NULL;
    atomic_store(lock_word(lock), 0);
}

void
omp_init_lock_with_hint(omp_lock_t* lock, omp_sync_hint_t hint)
{
    (void)hint;
    omp_init_lock(lock);
}

void
omp_destroy_lock(omp_lock_t* lock)
{
    (void)lock;
}

void
omp_set_lock(omp_lock_t* lock)
{
    omp__mutex_lock(lock_word(lock));
}

void
omp_unset_lock(omp_lock_t* lock)
{
    omp__mutex_unlock(lock_word(lock));
}

int
omp_test_lock(omp_lock_t* lock)
{
    return omp__mutex_trylock(lock_word(lock));
}

void
omp_init_nest_lock(omp_nest_lock_t* lock)
{
    nest_lock* n = calloc(1, sizeof(*n));
    if (!n)
        omp__fatal("out of memory for a lock");
    lock->_lk = n;
}

void
omp_init_nest_lock_with_hint(omp_nest_lock_t* lock, omp_sync_hint_t hint)
{
    (void)hint;
    omp_init_nest_lock(lock);
}

void
omp_destroy_nest_lock(omp_nest_lock_t* lock)
{
    free(lock->_lk);
    lock->_lk = NULL;
}

void
omp_set_nest_lock(omp_nest_lock_t* lock)
{
    nest_lock* n = lock->_lk;
    int32_t me = omp__me()->gtid + 1;
    if (atomic_load_explicit(&n->owner, memory_order_relaxed) == me) {
        n->count++;
        return;
    }
    omp__mutex_lock(&n->word);
    atomic_store_explicit(&n->owner, me, memory_order_relaxed);
    n->count = 1;
}

void
omp_unset_nest_lock(omp_nest_lock_t* lock)
{
    nest_lock* n = lock->_lk;
    if (--n->count > 0)
        return;
    atomic_store_explicit(&n->owner, 0, memory_order_relaxed);
    omp__mutex_unlock(&n->word);
}

int
omp_test_nest_lock(omp_nest_lock_t* lock)
{
    nest_lock* n = lock->_lk;
    int32_t me = omp__me()->gtid + 1;
    if (atomic_load_explicit(&n->owner, memory_order_relaxed) == me)
        return ++n->count;
    if (!omp__mutex_trylock(&n->word))
        return 0;
    atomic_store_explicit(&n->owner, me, memory_order_relaxed);
    n->count = 1;
    return 1;
}

/* ---- timing ---- */

double
omp_get_wtime(void)
{
    return omp__now();
}

double
omp_get_wtick(void)
{
    struct timespec ts;
    if (clock_getres(CLOCK_MONOTONIC, &ts) != 0 ||
        (ts.tv_sec == 0 && ts.tv_nsec == 0))
        return 1e-9;
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- kmp_* extensions ---- */

/* Takes NAME=VALUE settings like the environment; only
 * OMP_TARGET_OFFLOAD changes anything after start-up. */
void
kmp_set_defaults(const char* settings)
{
    omp__init();
    if (settings && !strncmp(settings, "OMP_TARGET_OFFLOAD=", 19))
        omp__set_target_offload(settings + 19);
}

void
kmp_set_disp_num_buffers(int n)
{
    /* Only before the first parallel region, like libomp. */
    if (n > 0 && n <= 4096)
        omp__g.disp_buffers = n;
}

int
kmp_get_blocktime(void)
{
    omp__init();
    if (omp__g.blocktime_us == OMP_BLOCKTIME_INFINITE)
        return OMP_BLOCKTIME_INFINITE;
    return omp__g.blocktime_us / 1000;
}

void
kmp_set_blocktime(int msec)
{
    omp__init();
    if (msec >= 0)
        omp__g.blocktime_us = msec * 1000;
}

void*
kmp_malloc(size_t size)
{
    return malloc(size);
}

void*
kmp_aligned_malloc(size_t size, size_t alignment)
{
    void* p = NULL;
    if (alignment < sizeof(void*))
        alignment = sizeof(void*);
    if (posix_memalign(&p, alignment, size) != 0)
        return NULL;
    return p;
}

void*
kmp_calloc(size_t n, size_t size)
{
    return calloc(n, size);
}

void*
kmp_realloc(void* p, size_t size)
{
    return realloc(p, size);
}

void
kmp_free(void* p)
{
    free(p);
}

void*
__kmpc_alloc(int32_t gtid, size_t size, void* allocator)
{
    (void)gtid;
    (void)allocator;
    return malloc(size);
}

void
__kmpc_free(int32_t gtid, void* p, void* allocator)
{
    (void)gtid;
    (void)allocator;
    free(p);
}
