/* SPDX-License-Identifier: Apache-2.0 */
/* Read-write locks: a state word (> 0 readers, -1 a writer) and a sequence
 * word that every release bumps; blocked threads wait on the sequence.
 * Readers are preferred, so a thread may read-lock recursively. */
#include <errno.h>
#include <string.h>

#include "pthread_int.h"

_Static_assert(sizeof(struct gr_rwlock) <= sizeof(pthread_rwlock_t),
               "pthread_rwlock_t holds a gr_rwlock");

#define RW(p) GR_PT_VIEW(struct gr_rwlock, p)

int
pthread_rwlockattr_init(pthread_rwlockattr_t* a)
{
    memset(a, 0, sizeof *a);
    return 0;
}

int
pthread_rwlockattr_destroy(pthread_rwlockattr_t* a)
{
    (void)a;
    return 0;
}

int
pthread_rwlockattr_getpshared(const pthread_rwlockattr_t* __restrict a,
                              int* __restrict pshared)
{
    *pshared = (int)(a->__attr[0] & 1);
    return 0;
}

int
pthread_rwlockattr_setpshared(pthread_rwlockattr_t* a, int pshared)
{
    if (pshared != PTHREAD_PROCESS_PRIVATE && pshared != PTHREAD_PROCESS_SHARED)
        return EINVAL;
    a->__attr[0] = (unsigned)pshared;
    return 0;
}

int
pthread_rwlock_init(pthread_rwlock_t* __restrict l,
                    const pthread_rwlockattr_t* __restrict a)
{
    (void)a;
    memset(l, 0, sizeof *l);
    return 0;
}

int
pthread_rwlock_destroy(pthread_rwlock_t* l)
{
    return atomic_load(&RW(l)->state) ? EBUSY : 0;
}

/* One attempt: readers need no writer, a writer needs nobody. */
static int
try_take(struct gr_rwlock* x, int write)
{
    int s = atomic_load(&x->state);
    while (write ? s == 0 : (s >= 0 && s < INT32_MAX)) {
        if (atomic_compare_exchange_weak(&x->state, &s, write ? -1 : s + 1))
            return 1;
    }
    return 0;
}

static int
take(pthread_rwlock_t* l, int write, int try, const struct timespec* abs)
{
    struct gr_rwlock* x = RW(l);
    struct __pthread* self = gr__pt_self();
    if (atomic_load(&x->state) == -1 && atomic_load(&x->writer) == self)
        return try ? EBUSY : EDEADLK;
    for (;;) {
        int seq = atomic_load(&x->seq);
        if (try_take(x, write))
            break;
        if (try)
            return EBUSY;
        int64_t ns = -1;
        if (abs) {
            ns = gr__pt_until(CLOCK_REALTIME, abs);
            if (ns < 0)
                return EINVAL;
            if (ns == 0)
                return ETIMEDOUT;
        }
        atomic_fetch_add(&x->waiters, 1);
        gr__pt_wait(&x->seq, seq, ns);
        atomic_fetch_sub(&x->waiters, 1);
    }
    if (write)
        atomic_store(&x->writer, self);
    return 0;
}

int
pthread_rwlock_rdlock(pthread_rwlock_t* l)
{
    return take(l, 0, 0, NULL);
}

int
pthread_rwlock_tryrdlock(pthread_rwlock_t* l)
{
    return take(l, 0, 1, NULL);
}

int
pthread_rwlock_timedrdlock(pthread_rwlock_t* __restrict l,
                           const struct timespec* __restrict abs)
{
    return take(l, 0, 0, abs);
}

int
pthread_rwlock_wrlock(pthread_rwlock_t* l)
{
    return take(l, 1, 0, NULL);
}

int
pthread_rwlock_trywrlock(pthread_rwlock_t* l)
{
    return take(l, 1, 1, NULL);
}

int
pthread_rwlock_timedwrlock(pthread_rwlock_t* __restrict l,
                           const struct timespec* __restrict abs)
{
    return take(l, 1, 0, abs);
}

int
pthread_rwlock_unlock(pthread_rwlock_t* l)
{
    struct gr_rwlock* x = RW(l);
    int s = atomic_load(&x->state);
    if (s == -1) {
        if (atomic_load(&x->writer) != gr__pt_self())
            return EPERM;
        atomic_store(&x->writer, NULL);
        atomic_store(&x->state, 0);
    } else if (s > 0) {
        if (atomic_fetch_sub(&x->state, 1) != 1)
            return 0; /* other readers remain: nobody can be let in */
    } else {
        return EPERM;
    }
    atomic_fetch_add(&x->seq, 1);
    if (atomic_load(&x->waiters))
        gr__pt_wake(&x->seq, GR_PT_WAKE_ALL);
    return 0;
}
