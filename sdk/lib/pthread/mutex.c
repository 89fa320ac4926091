/* SPDX-License-Identifier: Apache-2.0 */
/* Mutexes (normal, recursive, error-checking; trylock, timedlock), the
 * library's internal locks, and absolute-deadline arithmetic. A mutex is a
 * three-state futex word (0 free, 1 held, 2 held and maybe waited for);
 * unlock only notifies when it saw 2. */
#include <errno.h>
#include <string.h>

#include "pthread_int.h"

_Static_assert(sizeof(struct gr_mutex) <= sizeof(pthread_mutex_t),
               "pthread_mutex_t holds a gr_mutex");

#define M(p) GR_PT_VIEW(struct gr_mutex, p)

int64_t
gr__pt_until(clockid_t clk, const struct timespec* abs)
{
    if (abs->tv_nsec < 0 || abs->tv_nsec >= 1000000000L)
        return -EINVAL;
    struct timespec now;
    clock_gettime(clk, &now);
    int64_t ns = ((int64_t)abs->tv_sec - (int64_t)now.tv_sec) * 1000000000 +
                 (abs->tv_nsec - now.tv_nsec);
    return ns > 0 ? ns : 0;
}

/* Takes the word; ns < 0 waits forever, else until the deadline abs on
 * CLOCK_REALTIME. Returns 0 or ETIMEDOUT/EINVAL. */
static int
word_lock(_Atomic int* w, const struct timespec* abs)
{
    int c = 0;
    if (atomic_compare_exchange_strong(w, &c, 1))
        return 0;
    /* A short spin: critical sections are often shorter than a wait. */
    for (int i = 0; i < 100; i++) {
        c = 0;
        if (atomic_load_explicit(w, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_weak(w, &c, 1))
            return 0;
    }
    while (atomic_exchange(w, 2) != 0) {
        int64_t ns = -1;
        if (abs) {
            ns = gr__pt_until(CLOCK_REALTIME, abs);
            if (ns < 0)
                return EINVAL;
            if (ns == 0)
                return ETIMEDOUT;
        }
        gr__pt_wait(w, 2, ns);
    }
    return 0;
}

static void
word_unlock(_Atomic int* w)
{
    if (atomic_exchange(w, 0) == 2)
        gr__pt_wake(w, 1);
}

void
gr__pt_lock(_Atomic int* l)
{
    (void)word_lock(l, NULL);
}

void
gr__pt_unlock(_Atomic int* l)
{
    word_unlock(l);
}

void
gr__pt_rlock(struct gr_rlock* l)
{
    struct __pthread* self = gr__pt_self();
    if (atomic_load_explicit(&l->owner, memory_order_relaxed) == self) {
        l->depth++;
        return;
    }
    (void)word_lock(&l->word, NULL);
    atomic_store_explicit(&l->owner, self, memory_order_relaxed);
    l->depth = 1;
}

void
gr__pt_runlock(struct gr_rlock* l)
{
    if (--l->depth > 0)
        return;
    atomic_store_explicit(&l->owner, NULL, memory_order_relaxed);
    word_unlock(&l->word);
}

int
pthread_mutexattr_init(pthread_mutexattr_t* a)
{
    a->__attr = 0;
    return 0;
}

int
pthread_mutexattr_destroy(pthread_mutexattr_t* a)
{
    (void)a;
    return 0;
}

int
pthread_mutexattr_gettype(const pthread_mutexattr_t* __restrict a,
                          int* __restrict type)
{
    *type = (int)(a->__attr & 3);
    return 0;
}

int
pthread_mutexattr_settype(pthread_mutexattr_t* a, int type)
{
    if (type < PTHREAD_MUTEX_NORMAL || type > PTHREAD_MUTEX_ERRORCHECK)
        return EINVAL;
    a->__attr = (a->__attr & ~3u) | (unsigned)type;
    return 0;
}

int
pthread_mutexattr_getpshared(const pthread_mutexattr_t* __restrict a,
                             int* __restrict pshared)
{
    *pshared = (int)((a->__attr >> 2) & 1);
    return 0;
}

int
pthread_mutexattr_setpshared(pthread_mutexattr_t* a, int pshared)
{
    if (pshared != PTHREAD_PROCESS_PRIVATE && pshared != PTHREAD_PROCESS_SHARED)
        return EINVAL;
    /* One process per call: shared and private are the same thing. */
    a->__attr = (a->__attr & ~4u) | ((unsigned)pshared << 2);
    return 0;
}

int
pthread_mutex_init(pthread_mutex_t* __restrict m,
                   const pthread_mutexattr_t* __restrict a)
{
    memset(m, 0, sizeof *m);
    M(m)->type = a ? (int)(a->__attr & 3) : PTHREAD_MUTEX_NORMAL;
    return 0;
}

int
pthread_mutex_destroy(pthread_mutex_t* m)
{
    return atomic_load(&M(m)->word) ? EBUSY : 0;
}

static int
mutex_lock(pthread_mutex_t* m, int try, const struct timespec* abs)
{
    struct gr_mutex* x = M(m);
    struct __pthread* self = NULL;
    if (x->type != PTHREAD_MUTEX_NORMAL) {
        self = gr__pt_self();
        if (atomic_load_explicit(&x->owner, memory_order_relaxed) == self) {
            if (x->type == PTHREAD_MUTEX_ERRORCHECK)
                return try ? EBUSY : EDEADLK;
            if (x->depth == INT32_MAX)
                return EAGAIN;
            x->depth++;
            return 0;
        }
    }
    if (try) {
        int c = 0;
        if (!atomic_compare_exchange_strong(&x->word, &c, 1))
            return EBUSY;
    } else {
        int rc = word_lock(&x->word, abs);
        if (rc)
            return rc;
    }
    if (self) {
        atomic_store_explicit(&x->owner, self, memory_order_relaxed);
        x->depth = 1;
    }
    return 0;
}

int
pthread_mutex_lock(pthread_mutex_t* m)
{
    return mutex_lock(m, 0, NULL);
}

int
pthread_mutex_trylock(pthread_mutex_t* m)
{
    return mutex_lock(m, 1, NULL);
}

int
pthread_mutex_timedlock(pthread_mutex_t* __restrict m,
                        const struct timespec* __restrict abs)
{
    return mutex_lock(m, 0, abs);
}

int
pthread_mutex_unlock(pthread_mutex_t* m)
{
    struct gr_mutex* x = M(m);
    if (x->type != PTHREAD_MUTEX_NORMAL) {
        if (atomic_load_explicit(&x->owner, memory_order_relaxed) !=
            gr__pt_self())
            return EPERM;
        if (--x->depth > 0)
            return 0;
        atomic_store_explicit(&x->owner, NULL, memory_order_relaxed);
    }
    word_unlock(&x->word);
    return 0;
}

/* cond.c: releases m completely for a wait and takes it back. The depth of
 * a recursive mutex is kept across the wait. */
int gr__pt_mutex_release(pthread_mutex_t* m);
int
gr__pt_mutex_release(pthread_mutex_t* m)
{
    struct gr_mutex* x = M(m);
    int depth = 1;
    if (x->type != PTHREAD_MUTEX_NORMAL) {
        if (atomic_load_explicit(&x->owner, memory_order_relaxed) !=
            gr__pt_self())
            return -EPERM;
        depth = x->depth;
        atomic_store_explicit(&x->owner, NULL, memory_order_relaxed);
    }
    word_unlock(&x->word);
    return depth;
}

void gr__pt_mutex_reacquire(pthread_mutex_t* m, int depth);
void
gr__pt_mutex_reacquire(pthread_mutex_t* m, int depth)
{
    struct gr_mutex* x = M(m);
    /* Woken waiters contend: take it as "maybe waited for" so that the
     * unlock wakes the next one. */
    while (atomic_exchange(&x->word, 2) != 0)
        gr__pt_wait(&x->word, 2, -1);
    if (x->type != PTHREAD_MUTEX_NORMAL) {
        atomic_store_explicit(&x->owner, gr__pt_self(), memory_order_relaxed);
        x->depth = depth;
    }
}
