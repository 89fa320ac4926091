/* SPDX-License-Identifier: Apache-2.0 */
/* The monotonic clock in nanoseconds, the time base of deadlines and
 * call timings everywhere (scheduler, cluster), and condition variables
 * that wait on it. */
#ifndef GR_UTIL_TIME_H
#define GR_UTIL_TIME_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds. Thread-safe. */
static inline uint64_t
gr_time_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Initialises cv so that gr_time_cond_wait_until measures CLOCK_MONOTONIC
 * (immune to wall-clock steps). */
static inline void
gr_time_cond_init(pthread_cond_t* cv)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
}

/* Waits on cv (made by gr_time_cond_init; mu held) until signalled or
 * until the monotonic time until_ns. Returns 0 or ETIMEDOUT. */
static inline int
gr_time_cond_wait_until(pthread_cond_t* cv,
                        pthread_mutex_t* mu,
                        uint64_t until_ns)
{
    struct timespec ts = { .tv_sec = (time_t)(until_ns / 1000000000u),
                           .tv_nsec = (long)(until_ns % 1000000000u) };
    return pthread_cond_timedwait(cv, mu, &ts);
}

#endif
