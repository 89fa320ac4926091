/* SPDX-License-Identifier: Apache-2.0 */
/* Synchronisation constructs of the OpenMP runtime: barrier, single,
 * master/masked, critical, reductions (critical and atomic paths),
 * copyprivate, flush, cancellation, the global atomic lock, and
 * threadprivate storage without TLS (__kmpc_threadprivate_cached).
 */
#include <stdlib.h>
#include <string.h>

#include "kmp_abi.h"

static omp_task*
implicit_of(omp_thread* thr)
{
    return &thr->team->implicit[thr->tid];
}

void
__kmpc_barrier(ident_t* loc, int32_t gtid)
{
    (void)loc;
    omp__barrier(omp__thr(gtid));
}

void
__kmpc_flush(ident_t* loc)
{
    (void)loc;
    atomic_thread_fence(memory_order_seq_cst);
}

int32_t
__kmpc_master(ident_t* loc, int32_t gtid)
{
    (void)loc;
    return omp__thr(gtid)->tid == 0;
}

void
__kmpc_end_master(ident_t* loc, int32_t gtid)
{
    (void)loc;
    (void)gtid;
}

int32_t
__kmpc_masked(ident_t* loc, int32_t gtid, int32_t filter)
{
    (void)loc;
    return omp__thr(gtid)->tid == filter;
}

void
__kmpc_end_masked(ident_t* loc, int32_t gtid)
{
    (void)loc;
    (void)gtid;
}

/* The first thread to reach the team's k-th single moves team->single from
 * k to k+1; every thread sees the singles in the same order. */
int32_t
__kmpc_single(ident_t* loc, int32_t gtid)
{
    (void)loc;
    omp_thread* thr = omp__thr(gtid);
    omp_team* team = thr->team;
    if (team->nproc == 1)
        return 1;
    omp_task* it = implicit_of(thr);
    uint32_t k = it->single_count++;
    if (atomic_load_explicit(&team->single, memory_order_relaxed) != k)
        return 0;
    return atomic_compare_exchange_strong_explicit(
      &team->single, &k, k + 1, memory_order_acq_rel, memory_order_relaxed);
}

void
__kmpc_end_single(ident_t* loc, int32_t gtid)
{
    (void)loc;
    (void)gtid;
}

static _Atomic uint32_t*
crit_word(kmp_critical_name* crit)
{
    return (_Atomic uint32_t*)&(*crit)[0];
}

void
__kmpc_critical(ident_t* loc, int32_t gtid, kmp_critical_name* crit)
{
    (void)loc;
    (void)gtid;
    omp__mutex_lock(crit_word(crit));
}

void
__kmpc_critical_with_hint(ident_t* loc,
                          int32_t gtid,
                          kmp_critical_name* crit,
                          uint32_t hint)
{
    (void)hint;
    __kmpc_critical(loc, gtid, crit);
}

void
__kmpc_end_critical(ident_t* loc, int32_t gtid, kmp_critical_name* crit)
{
    (void)loc;
    (void)gtid;
    omp__mutex_unlock(crit_word(crit));
}

/* ---- reductions ----
 * Return 1: the caller combines its values into the shared ones (under the
 * lock lck, released by the end call); 2: the caller updates them with
 * atomics (only when the compiler says it can, KMP_IDENT_ATOMIC_REDUCE).
 * KMP_FORCE_REDUCTION=critical|atomic picks a path. */
static int32_t
reduce_begin(ident_t* loc, omp_thread* thr, kmp_critical_name* lck)
{
    omp_task* it = implicit_of(thr);
    if (thr->team->nproc == 1) {
        it->reduce_locked = 0;
        return 1;
    }
    int atomic_ok = loc && (loc->flags & KMP_IDENT_ATOMIC_REDUCE);
    int method = omp__g.force_reduce ? omp__g.force_reduce : 2;
    if (method == 2 && atomic_ok) {
        it->reduce_locked = 2;
        return 2;
    }
    it->reduce_locked = 1;
    it->reduce_lock = crit_word(lck);
    omp__mutex_lock(it->reduce_lock);
    return 1;
}

static void
reduce_end(omp_thread* thr)
{
    omp_task* it = implicit_of(thr);
    if (it->reduce_locked == 1)
        omp__mutex_unlock(it->reduce_lock);
    it->reduce_locked = 0;
}

int32_t
__kmpc_reduce_nowait(ident_t* loc,
                     int32_t gtid,
                     int32_t nvars,
                     size_t size,
                     void* data,
                     void (*fn)(void*, void*),
                     kmp_critical_name* lck)
{
    (void)nvars;
    (void)size;
    (void)data;
    (void)fn;
    return reduce_begin(loc, omp__thr(gtid), lck);
}

void
__kmpc_end_reduce_nowait(ident_t* loc, int32_t gtid, kmp_critical_name* lck)
{
    (void)loc;
    (void)lck;
    reduce_end(omp__thr(gtid));
}

/* Begins like the nowait form; only the end differs (the barrier). */
int32_t
__kmpc_reduce(ident_t* loc,
              int32_t gtid,
              int32_t nvars,
              size_t size,
              void* data,
              void (*fn)(void*, void*),
              kmp_critical_name* lck)
{
    return __kmpc_reduce_nowait(loc, gtid, nvars, size, data, fn, lck);
}

void
__kmpc_end_reduce(ident_t* loc, int32_t gtid, kmp_critical_name* lck)
{
    (void)loc;
    (void)lck;
    omp_thread* thr = omp__thr(gtid);
    reduce_end(thr);
    omp__barrier(thr);
}

/* ---- copyprivate ---- */

void
__kmpc_copyprivate(ident_t* loc,
                   int32_t gtid,
                   size_t size,
                   void* data,
                   void (*cpy)(void*, void*),
                   int32_t didit)
{
    (void)loc;
    (void)size;
    omp_thread* thr = omp__thr(gtid);
    omp_team* team = thr->team;
    if (team->nproc == 1)
        return;
    if (didit)
        team->copyprivate = data;
    omp__barrier(thr);
    if (!didit)
        cpy(data, team->copyprivate);
    omp__barrier(thr);
}

/* ---- cancellation (only with OMP_CANCELLATION=true) ---- */

int32_t
__kmpc_cancel(ident_t* loc, int32_t gtid, int32_t kind)
{
    (void)loc;
    if (!omp__g.cancellation)
        return 0;
    omp_thread* thr = omp__thr(gtid);
    int32_t z = 0;
    atomic_compare_exchange_strong(&thr->team->cancel, &z, kind);
    return atomic_load(&thr->team->cancel) == kind;
}

int32_t
__kmpc_cancellationpoint(ident_t* loc, int32_t gtid, int32_t kind)
{
    (void)loc;
    if (!omp__g.cancellation)
        return 0;
    return atomic_load(&omp__thr(gtid)->team->cancel) == kind;
}

int32_t
__kmpc_cancel_barrier(ident_t* loc, int32_t gtid)
{
    (void)loc;
    omp_thread* thr = omp__thr(gtid);
    omp__barrier(thr);
    if (!omp__g.cancellation)
        return 0;
    int32_t c = atomic_load(&thr->team->cancel);
    if (c == 0)
        return 0;
    if (c != 1) {
        /* a cancelled loop or sections: everyone has seen it after this
         * barrier, so the master clears it for the next construct */
        omp__barrier(thr);
        if (thr->tid == 0)
            atomic_store(&thr->team->cancel, 0);
        omp__barrier(thr);
        return 1;
    }
    return 1;
}

/* ---- atomics the compiler cannot inline ---- */

static _Atomic uint32_t atomic_lock;

void
__kmpc_atomic_start(void)
{
    omp__mutex_lock(&atomic_lock);
}

void
__kmpc_atomic_end(void)
{
    omp__mutex_unlock(&atomic_lock);
}

void
__kmpc_atomic_fixed4_add(ident_t* loc, int32_t gtid, int32_t* lhs, int32_t rhs)
{
    (void)loc;
    (void)gtid;
    atomic_fetch_add((_Atomic int32_t*)lhs, rhs);
}

void
__kmpc_atomic_fixed8_add(ident_t* loc, int32_t gtid, int64_t* lhs, int64_t rhs)
{
    (void)loc;
    (void)gtid;
    atomic_fetch_add((_Atomic int64_t*)lhs, rhs);
}

void
__kmpc_atomic_float8_add(ident_t* loc, int32_t gtid, double* lhs, double rhs)
{
    (void)loc;
    (void)gtid;
    _Atomic uint64_t* w = (_Atomic uint64_t*)lhs;
    uint64_t old = atomic_load(w), nw;
    do {
        double d;
        memcpy(&d, &old, sizeof d);
        d += rhs;
        memcpy(&nw, &d, sizeof nw);
    } while (!atomic_compare_exchange_weak(w, &old, nw));
}

/* ---- threadprivate without TLS ----
 * *cache is an array of OMP_MAX_THREADS + 1 pointers: one copy per thread
 * number, then the variable's initial value (copied the first time any
 * thread asks), from which the other threads' copies start. The initial
 * thread uses the variable itself. */
typedef struct tp_ctor
{
    void* data;
    void* (*ctor)(void*);
    void* (*cctor)(void*, void*);
    struct tp_ctor* next;
} tp_ctor;

static _Atomic uint32_t tp_lock;
static tp_ctor* tp_ctors;

void
__kmpc_threadprivate_register(ident_t* loc,
                              void* data,
                              void* (*ctor)(void*),
                              void* (*cctor)(void*, void*),
                              void (*dtor)(void*))
{
    (void)loc;
    (void)dtor;
    tp_ctor* c = malloc(sizeof(*c));
    if (!c)
        omp__fatal("out of memory");
    c->data = data;
    c->ctor = ctor;
    c->cctor = cctor;
    omp__mutex_lock(&tp_lock);
    c->next = tp_ctors;
    tp_ctors = c;
    omp__mutex_unlock(&tp_lock);
}

void*
__kmpc_threadprivate_cached(ident_t* loc,
                            int32_t gtid,
                            void* data,
                            size_t size,
                            void*** cache)
{
    (void)loc;
    _Atomic(void**)* slot = (_Atomic(void**)*)cache;
    void** c = atomic_load_explicit(slot, memory_order_acquire);
    if (!c) {
        omp__mutex_lock(&tp_lock);
        c = atomic_load_explicit(slot, memory_order_relaxed);
        if (!c) {
            c = calloc(OMP_MAX_THREADS + 1, sizeof(void*));
            void* init = malloc(size ? size : 1);
            if (!c || !init)
                omp__fatal("out of memory for threadprivate data");
            memcpy(init, data, size);
            c[OMP_MAX_THREADS] = init;
            atomic_store_explicit(slot, c, memory_order_release);
        }
        omp__mutex_unlock(&tp_lock);
    }
    if (gtid < 0 || gtid >= OMP_MAX_THREADS)
        gtid = omp__me()->gtid;
    void* p = c[gtid];
    if (p)
        return p;
    if (gtid == 0) {
        p = data;
    } else {
        p = malloc(size ? size : 1);
        if (!p)
            omp__fatal("out of memory for threadprivate data");
        tp_ctor* k = NULL;
        omp__mutex_lock(&tp_lock);
        for (k = tp_ctors; k && k->data != data; k = k->next)
            ;
        omp__mutex_unlock(&tp_lock);
        if (k && k->cctor)
            k->cctor(p, data);
        else if (k && k->ctor)
            k->ctor(p);
        else
            memcpy(p, c[OMP_MAX_THREADS], size);
    }
    c[gtid] = p;
    return p;
}
