/* SPDX-License-Identifier: Apache-2.0 */
/* Unnamed semaphores (wasi-libc's <semaphore.h> declares them; its libc.a
 * has no implementation). sem_t's first int is the value, the second the
 * number of waiters. Named semaphores fail with ENOSYS: one process per
 * call has nobody to share them with. Errors go to errno, which is one
 * global for all threads (docs/threads.md). */
#include <errno.h>
#include <semaphore.h>
#include <stdarg.h>

#include "pthread_int.h"

struct gr_sem
{
    _Atomic int value;
    _Atomic int waiters;
};

_Static_assert(sizeof(struct gr_sem) <= sizeof(sem_t), "sem_t holds gr_sem");

#define S(p) GR_PT_VIEW(struct gr_sem, p)

int
sem_init(sem_t* s, int pshared, unsigned value)
{
    (void)pshared;
    if (value > INT32_MAX) {
        errno = EINVAL;
        return -1;
    }
    atomic_store(&S(s)->value, (int)value);
    atomic_store(&S(s)->waiters, 0);
    return 0;
}

int
sem_destroy(sem_t* s)
{
    (void)s;
    return 0;
}

int
sem_getvalue(sem_t* __restrict s, int* __restrict v)
{
    *v = atomic_load(&S(s)->value);
    return 0;
}

int
sem_post(sem_t* s)
{
    struct gr_sem* x = S(s);
    int v = atomic_load(&x->value);
    do {
        if (v == INT32_MAX) {
            errno = EOVERFLOW;
            return -1;
        }
    } while (!atomic_compare_exchange_weak(&x->value, &v, v + 1));
    if (atomic_load(&x->waiters))
        gr__pt_wake(&x->value, 1);
    return 0;
}

static int
sem_take(sem_t* s, int try, const struct timespec* abs)
{
    struct gr_sem* x = S(s);
    for (;;) {
        int v = atomic_load(&x->value);
        while (v > 0) {
            if (atomic_compare_exchange_weak(&x->value, &v, v - 1))
                return 0;
        }
        if (try) {
            errno = EAGAIN;
            return -1;
        }
        int64_t ns = -1;
        if (abs) {
            ns = gr__pt_until(CLOCK_REALTIME, abs);
            if (ns < 0 || ns == 0) {
                errno = ns < 0 ? EINVAL : ETIMEDOUT;
                return -1;
            }
        }
        atomic_fetch_add(&x->waiters, 1);
        gr__pt_wait(&x->value, 0, ns);
        atomic_fetch_sub(&x->waiters, 1);
    }
}

int
sem_wait(sem_t* s)
{
    return sem_take(s, 0, NULL);
}

int
sem_trywait(sem_t* s)
{
    return sem_take(s, 1, NULL);
}

int
sem_timedwait(sem_t* __restrict s, const struct timespec* __restrict abs)
{
    return sem_take(s, 0, abs);
}

sem_t*
sem_open(const char* name, int flags, ...)
{
    (void)name;
    (void)flags;
    errno = ENOSYS;
    return SEM_FAILED;
}

int
sem_close(sem_t* s)
{
    (void)s;
    errno = EINVAL;
    return -1;
}

int
sem_unlink(const char* name)
{
    (void)name;
    errno = ENOENT;
    return -1;
}
