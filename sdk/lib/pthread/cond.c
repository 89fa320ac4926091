/* SPDX-License-Identifier: Apache-2.0 */
/* Condition variables: a sequence word that signal and broadcast bump.
 * A waiter reads it before releasing the mutex and waits while it is
 * unchanged, so a signal between the release and the wait is never lost.
 * Wake-ups may be spurious, as POSIX allows. */
#include <errno.h>
#include <string.h>

#include "pthread_int.h"

_Static_assert(sizeof(struct gr_cond) <= sizeof(pthread_cond_t),
               "pthread_cond_t holds a gr_cond");

#define C(p) GR_PT_VIEW(struct gr_cond, p)

int gr__pt_mutex_release(pthread_mutex_t* m);
void gr__pt_mutex_reacquire(pthread_mutex_t* m, int depth);

/* condattr __attr: bit 0 CLOCK_MONOTONIC, bit 1 process-shared. */

int
pthread_condattr_init(pthread_condattr_t* a)
{
    a->__attr = 0;
    return 0;
}

int
pthread_condattr_destroy(pthread_condattr_t* a)
{
    (void)a;
    return 0;
}

int
pthread_condattr_getclock(const pthread_condattr_t* __restrict a,
                          clockid_t* __restrict clk)
{
    *clk = (a->__attr & 1) ? CLOCK_MONOTONIC : CLOCK_REALTIME;
    return 0;
}

int
pthread_condattr_setclock(pthread_condattr_t* a, clockid_t clk)
{
    if (clk == CLOCK_MONOTONIC)
        a->__attr |= 1;
    else if (clk == CLOCK_REALTIME)
        a->__attr &= ~1u;
    else
        return EINVAL;
    return 0;
}

int
pthread_condattr_getpshared(const pthread_condattr_t* __restrict a,
                            int* __restrict pshared)
{
    *pshared = (int)((a->__attr >> 1) & 1);
    return 0;
}

int
pthread_condattr_setpshared(pthread_condattr_t* a, int pshared)
{
    if (pshared != PTHREAD_PROCESS_PRIVATE && pshared != PTHREAD_PROCESS_SHARED)
        return EINVAL;
    a->__attr = (a->__attr & ~2u) | ((unsigned)pshared << 1);
    return 0;
}

int
pthread_cond_init(pthread_cond_t* __restrict c,
                  const pthread_condattr_t* __restrict a)
{
    memset(c, 0, sizeof *c);
    C(c)->monotonic = a ? (int)(a->__attr & 1) : 0;
    return 0;
}

int
pthread_cond_destroy(pthread_cond_t* c)
{
    (void)c;
    return 0;
}

static int
cond_wait(pthread_cond_t* c, pthread_mutex_t* m, const struct timespec* abs)
{
    struct gr_cond* x = C(c);
    clockid_t clk = x->monotonic ? CLOCK_MONOTONIC : CLOCK_REALTIME;
    int64_t ns = -1;
    if (abs) {
        ns = gr__pt_until(clk, abs);
        if (ns < 0)
            return EINVAL;
    }
    int seq = atomic_load(&x->seq);
    int depth = gr__pt_mutex_release(m);
    if (depth < 0)
        return -depth;
    int rc = 0;
    if (ns == 0) {
        rc = ETIMEDOUT;
    } else {
        atomic_fetch_add(&x->waiters, 1);
        if (gr__pt_wait(&x->seq, seq, ns) == 2)
            rc = ETIMEDOUT;
        atomic_fetch_sub(&x->waiters, 1);
    }
    gr__pt_mutex_reacquire(m, depth);
    return rc;
}

int
pthread_cond_wait(pthread_cond_t* __restrict c, pthread_mutex_t* __restrict m)
{
    return cond_wait(c, m, NULL);
}

int
pthread_cond_timedwait(pthread_cond_t* __restrict c,
                       pthread_mutex_t* __restrict m,
                       const struct timespec* __restrict abs)
{
    return cond_wait(c, m, abs);
}

int
pthread_cond_signal(pthread_cond_t* c)
{
    struct gr_cond* x = C(c);
    atomic_fetch_add(&x->seq, 1);
    if (atomic_load(&x->waiters))
        gr__pt_wake(&x->seq, 1);
    return 0;
}

int
pthread_cond_broadcast(pthread_cond_t* c)
{
    struct gr_cond* x = C(c);
    atomic_fetch_add(&x->seq, 1);
    if (atomic_load(&x->waiters))
        gr__pt_wake(&x->seq, GR_PT_WAKE_ALL);
    return 0;
}
