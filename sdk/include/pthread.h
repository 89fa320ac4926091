/* SPDX-License-Identifier: Apache-2.0 */
/* POSIX threads for Granary guests (granary-cc -pthread). Debian's wasi-libc
 * (2022) ships no pthread.h; this one stands in for it and uses the type
 * layouts of wasi-libc's <bits/alltypes.h>, so that <sys/types.h> and this
 * header agree. The implementation is sdk/lib/pthread (libgranary_pthread.a),
 * on wasi-threads ("wasi" "thread-spawn") and memory.atomic.wait/notify.
 * What is and is not supported: docs/threads.md, "Guest side". */
#ifndef _PTHREAD_H
#define _PTHREAD_H

#include <features.h>

#define __NEED_time_t
#define __NEED_clockid_t
#define __NEED_struct_timespec
#define __NEED_size_t
#define __NEED_pthread_t
#define __NEED_pthread_attr_t
#define __NEED_pthread_mutexattr_t
#define __NEED_pthread_condattr_t
#define __NEED_pthread_rwlockattr_t
#define __NEED_pthread_barrierattr_t
#define __NEED_pthread_mutex_t
#define __NEED_pthread_cond_t
#define __NEED_pthread_rwlock_t
#define __NEED_pthread_barrier_t
#define __NEED_pthread_spinlock_t
#define __NEED_pthread_key_t
#define __NEED_pthread_once_t
#include <bits/alltypes.h>

#include <sched.h>
#include <time.h>

#ifdef __cplusplus
extern "C"
{
#endif

#if !defined(__wasm_atomics__) && !defined(GRANARY_PTHREAD_NO_ATOMICS_CHECK)
#error "pthread.h needs atomics: compile with granary-cc -pthread"
#endif

#define PTHREAD_CREATE_JOINABLE 0
#define PTHREAD_CREATE_DETACHED 1

#define PTHREAD_MUTEX_NORMAL 0
#define PTHREAD_MUTEX_DEFAULT 0
#define PTHREAD_MUTEX_RECURSIVE 1
#define PTHREAD_MUTEX_ERRORCHECK 2

#define PTHREAD_PROCESS_PRIVATE 0
#define PTHREAD_PROCESS_SHARED 1

#define PTHREAD_PRIO_NONE 0

#define PTHREAD_SCOPE_SYSTEM 0
#define PTHREAD_SCOPE_PROCESS 1

#define PTHREAD_INHERIT_SCHED 0
#define PTHREAD_EXPLICIT_SCHED 1

#define PTHREAD_MUTEX_INITIALIZER                                              \
    {                                                                          \
        {                                                                      \
            {                                                                  \
                0                                                              \
            }                                                                  \
        }                                                                      \
    }
#define PTHREAD_RWLOCK_INITIALIZER PTHREAD_MUTEX_INITIALIZER
#define PTHREAD_COND_INITIALIZER PTHREAD_MUTEX_INITIALIZER
#define PTHREAD_ONCE_INIT 0

#define PTHREAD_BARRIER_SERIAL_THREAD (-1)

    /* Threads. */
    int pthread_create(pthread_t* __restrict,
                       const pthread_attr_t* __restrict,
                       void* (*)(void*),
                       void* __restrict);
    int pthread_join(pthread_t, void**);
    int pthread_detach(pthread_t);
    _Noreturn void pthread_exit(void*);
    pthread_t pthread_self(void);
    int pthread_equal(pthread_t, pthread_t);
#ifndef __cplusplus
#define pthread_equal(x, y) ((x) == (y))
#endif
    int pthread_getconcurrency(void);
    int pthread_setconcurrency(int);

    /* Thread attributes: stack size and detach state are honoured; guard size,
     * scope and inherit-sched are stored and reported but change nothing
     * (WASI has no struct sched_param, so no scheduling parameters). */
    int pthread_attr_init(pthread_attr_t*);
    int pthread_attr_destroy(pthread_attr_t*);
    int pthread_attr_getstacksize(const pthread_attr_t* __restrict,
                                  size_t* __restrict);
    int pthread_attr_setstacksize(pthread_attr_t*, size_t);
    int pthread_attr_getdetachstate(const pthread_attr_t*, int*);
    int pthread_attr_setdetachstate(pthread_attr_t*, int);
    int pthread_attr_getguardsize(const pthread_attr_t* __restrict,
                                  size_t* __restrict);
    int pthread_attr_setguardsize(pthread_attr_t*, size_t);
    int pthread_attr_getscope(const pthread_attr_t* __restrict,
                              int* __restrict);
    int pthread_attr_setscope(pthread_attr_t*, int);
    int pthread_attr_getinheritsched(const pthread_attr_t* __restrict,
                                     int* __restrict);
    int pthread_attr_setinheritsched(pthread_attr_t*, int);

    /* Mutexes: normal, recursive and error-checking; not robust, no priority
     * protocols. */
    int pthread_mutex_init(pthread_mutex_t* __restrict,
                           const pthread_mutexattr_t* __restrict);
    int pthread_mutex_destroy(pthread_mutex_t*);
    int pthread_mutex_lock(pthread_mutex_t*);
    int pthread_mutex_trylock(pthread_mutex_t*);
    int pthread_mutex_timedlock(pthread_mutex_t* __restrict,
                                const struct timespec* __restrict);
    int pthread_mutex_unlock(pthread_mutex_t*);
    int pthread_mutexattr_init(pthread_mutexattr_t*);
    int pthread_mutexattr_destroy(pthread_mutexattr_t*);
    int pthread_mutexattr_gettype(const pthread_mutexattr_t* __restrict,
                                  int* __restrict);
    int pthread_mutexattr_settype(pthread_mutexattr_t*, int);
    int pthread_mutexattr_getpshared(const pthread_mutexattr_t* __restrict,
                                     int* __restrict);
    int pthread_mutexattr_setpshared(pthread_mutexattr_t*, int);

    /* Condition variables; timed waits measure CLOCK_REALTIME unless the
     * attribute says CLOCK_MONOTONIC. */
    int pthread_cond_init(pthread_cond_t* __restrict,
                          const pthread_condattr_t* __restrict);
    int pthread_cond_destroy(pthread_cond_t*);
    int pthread_cond_wait(pthread_cond_t* __restrict,
                          pthread_mutex_t* __restrict);
    int pthread_cond_timedwait(pthread_cond_t* __restrict,
                               pthread_mutex_t* __restrict,
                               const struct timespec* __restrict);
    int pthread_cond_signal(pthread_cond_t*);
    int pthread_cond_broadcast(pthread_cond_t*);
    int pthread_condattr_init(pthread_condattr_t*);
    int pthread_condattr_destroy(pthread_condattr_t*);
    int pthread_condattr_getclock(const pthread_condattr_t* __restrict,
                                  clockid_t* __restrict);
    int pthread_condattr_setclock(pthread_condattr_t*, clockid_t);
    int pthread_condattr_getpshared(const pthread_condattr_t* __restrict,
                                    int* __restrict);
    int pthread_condattr_setpshared(pthread_condattr_t*, int);

    /* Read-write locks (readers are preferred: a thread may take a read lock
     * again while a writer waits). */
    int pthread_rwlock_init(pthread_rwlock_t* __restrict,
                            const pthread_rwlockattr_t* __restrict);
    int pthread_rwlock_destroy(pthread_rwlock_t*);
    int pthread_rwlock_rdlock(pthread_rwlock_t*);
    int pthread_rwlock_tryrdlock(pthread_rwlock_t*);
    int pthread_rwlock_timedrdlock(pthread_rwlock_t* __restrict,
                                   const struct timespec* __restrict);
    int pthread_rwlock_wrlock(pthread_rwlock_t*);
    int pthread_rwlock_trywrlock(pthread_rwlock_t*);
    int pthread_rwlock_timedwrlock(pthread_rwlock_t* __restrict,
                                   const struct timespec* __restrict);
    int pthread_rwlock_unlock(pthread_rwlock_t*);
    int pthread_rwlockattr_init(pthread_rwlockattr_t*);
    int pthread_rwlockattr_destroy(pthread_rwlockattr_t*);
    int pthread_rwlockattr_getpshared(const pthread_rwlockattr_t* __restrict,
                                      int* __restrict);
    int pthread_rwlockattr_setpshared(pthread_rwlockattr_t*, int);

    /* Barriers. */
    int pthread_barrier_init(pthread_barrier_t* __restrict,
                             const pthread_barrierattr_t* __restrict,
                             unsigned);
    int pthread_barrier_destroy(pthread_barrier_t*);
    int pthread_barrier_wait(pthread_barrier_t*);
    int pthread_barrierattr_init(pthread_barrierattr_t*);
    int pthread_barrierattr_destroy(pthread_barrierattr_t*);
    int pthread_barrierattr_getpshared(const pthread_barrierattr_t* __restrict,
                                       int* __restrict);
    int pthread_barrierattr_setpshared(pthread_barrierattr_t*, int);

    /* Spin locks. */
    int pthread_spin_init(pthread_spinlock_t*, int);
    int pthread_spin_destroy(pthread_spinlock_t*);
    int pthread_spin_lock(pthread_spinlock_t*);
    int pthread_spin_trylock(pthread_spinlock_t*);
    int pthread_spin_unlock(pthread_spinlock_t*);

    /* Once. */
    int pthread_once(pthread_once_t*, void (*)(void));

    /* Thread-specific data (PTHREAD_KEYS_MAX keys, destructors run when a
     * thread returns or calls pthread_exit). */
    int pthread_key_create(pthread_key_t*, void (*)(void*));
    int pthread_key_delete(pthread_key_t);
    void* pthread_getspecific(pthread_key_t);
    int pthread_setspecific(pthread_key_t, const void*);

#ifdef __cplusplus
}
#endif
#endif
