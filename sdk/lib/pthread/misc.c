/* SPDX-License-Identifier: Apache-2.0 */
/* Barriers (a count of arrivals and a generation word the last arrival
 * bumps), spin locks and pthread_once. */
#include <errno.h>
#include <string.h>

#include "pthread_int.h"

_Static_assert(sizeof(struct gr_barrier) <= sizeof(pthread_barrier_t),
               "pthread_barrier_t holds a gr_barrier");

#define B(p) GR_PT_VIEW(struct gr_barrier, p)

int
pthread_barrierattr_init(pthread_barrierattr_t* a)
{
    a->__attr = 0;
    return 0;
}

int
pthread_barrierattr_destroy(pthread_barrierattr_t* a)
{
    (void)a;
    return 0;
}

int
pthread_barrierattr_getpshared(const pthread_barrierattr_t* __restrict a,
                               int* __restrict pshared)
{
    *pshared = (int)(a->__attr & 1);
    return 0;
}

int
pthread_barrierattr_setpshared(pthread_barrierattr_t* a, int pshared)
{
    if (pshared != PTHREAD_PROCESS_PRIVATE && pshared != PTHREAD_PROCESS_SHARED)
        return EINVAL;
    a->__attr = (unsigned)pshared;
    return 0;
}

int
pthread_barrier_init(pthread_barrier_t* __restrict b,
                     const pthread_barrierattr_t* __restrict a,
                     unsigned count)
{
    (void)a;
    if (count == 0 || count > INT32_MAX)
        return EINVAL;
    memset(b, 0, sizeof *b);
    B(b)->count = count;
    return 0;
}

int
pthread_barrier_destroy(pthread_barrier_t* b)
{
    return atomic_load(&B(b)->arrived) ? EBUSY : 0;
}

int
pthread_barrier_wait(pthread_barrier_t* b)
{
    struct gr_barrier* x = B(b);
    int gen = atomic_load(&x->gen);
    if ((unsigned)atomic_fetch_add(&x->arrived, 1) + 1 == x->count) {
        /* Reset before releasing: the released may arrive again at once. */
        atomic_store(&x->arrived, 0);
        atomic_fetch_add(&x->gen, 1);
        gr__pt_wake(&x->gen, GR_PT_WAKE_ALL);
        return PTHREAD_BARRIER_SERIAL_THREAD;
    }
    while (atomic_load(&x->gen) == gen)
        gr__pt_wait(&x->gen, gen, -1);
    return 0;
}

/* ---- spin locks ----------------------------------------------------------
 * pthread_spinlock_t is an int: 0 free, 1 held. */

int
pthread_spin_init(pthread_spinlock_t* s, int pshared)
{
    (void)pshared;
    atomic_store((_Atomic int*)s, 0);
    return 0;
}

int
pthread_spin_destroy(pthread_spinlock_t* s)
{
    (void)s;
    return 0;
}

int
pthread_spin_lock(pthread_spinlock_t* s)
{
    _Atomic int* w = (_Atomic int*)s;
    for (;;) {
        int c = 0;
        if (atomic_compare_exchange_weak(w, &c, 1))
            return 0;
        while (atomic_load_explicit(w, memory_order_relaxed))
            ;
    }
}

int
pthread_spin_trylock(pthread_spinlock_t* s)
{
    int c = 0;
    return atomic_compare_exchange_strong((_Atomic int*)s, &c, 1) ? 0 : EBUSY;
}

int
pthread_spin_unlock(pthread_spinlock_t* s)
{
    atomic_store((_Atomic int*)s, 0);
    return 0;
}

/* ---- once ----------------------------------------------------------------
 * 0 not run, 1 running, 2 running with waiters, 3 done. */

int
pthread_once(pthread_once_t* once, void (*fn)(void))
{
    _Atomic int* w = (_Atomic int*)once;
    if (atomic_load(w) == 3)
        return 0;
    int c = 0;
    if (atomic_compare_exchange_strong(w, &c, 1)) {
        fn();
        if (atomic_exchange(w, 3) == 2)
            gr__pt_wake(w, GR_PT_WAKE_ALL);
        return 0;
    }
    while (c != 3) {
        if (c == 1 && !atomic_compare_exchange_strong(w, &c, 2))
            continue;
        gr__pt_wait(w, 2, -1);
        c = atomic_load(w);
    }
    return 0;
}
