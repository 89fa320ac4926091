/* SPDX-License-Identifier: Apache-2.0 */
/* Waiting for the OpenMP runtime: a futex layer (the futex system call
 * natively, memory.atomic.wait32/notify on wasm), spin-then-sleep flags, a
 * three-state futex mutex, the clock and fatal errors.
 */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "omp_int.h"

#ifdef __wasm__
void
omp__futex_wait(_Atomic uint32_t* addr, uint32_t expected)
{
    __builtin_wasm_memory_atomic_wait32((int*)addr, (int)expected, -1);
}

void
omp__futex_wake(_Atomic uint32_t* addr, int n)
{
    __builtin_wasm_memory_atomic_notify((int*)addr, (unsigned)n);
}

void
omp__pause(void)
{
}
#else
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

void
omp__futex_wait(_Atomic uint32_t* addr, uint32_t expected)
{
    syscall(
      SYS_futex, (uint32_t*)addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

void
omp__futex_wake(_Atomic uint32_t* addr, int n)
{
    syscall(SYS_futex, (uint32_t*)addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

void
omp__pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}
#endif

double
omp__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Spins for about blocktime_us, looking at the clock every 256 rounds so
 * the clock (a host call on wasm) stays off the fast path: most waits end
 * within the first rounds, and those never read it. */
int
omp__spin(unsigned* count)
{
    static _Thread_local double deadline;
    unsigned c = (*count)++;
    if (omp__g.blocktime_us <= 0)
        return 0;
    if (c != 0 && (c & 255) == 0) {
        double now = omp__now();
        if (c == 256)
            deadline = now + omp__g.blocktime_us * 1e-6;
        else if (now > deadline)
            return 0;
    }
    /* More threads than processors: let the one we wait for run. */
    if (atomic_load_explicit(&omp__g.nthreads_made, memory_order_relaxed) >
        omp__g.num_procs)
        sched_yield();
    else
        omp__pause();
    return 1;
}

void
omp__flag_wake(omp_flag* f)
{
    if (atomic_load(&f->sleepers) > 0)
        omp__futex_wake(&f->val, 0x7fffffff);
}

void
omp__flag_wait_ne(omp_flag* f, uint32_t old)
{
    unsigned spins = 0;
    while (atomic_load_explicit(&f->val, memory_order_acquire) == old) {
        if (omp__spin(&spins))
            continue;
        atomic_fetch_add(&f->sleepers, 1);
        if (atomic_load(&f->val) == old)
            omp__futex_wait(&f->val, old);
        atomic_fetch_sub(&f->sleepers, 1);
    }
}

int
omp__mutex_trylock(_Atomic uint32_t* w)
{
    uint32_t z = 0;
    return atomic_compare_exchange_strong_explicit(
      w, &z, 1, memory_order_acquire, memory_order_relaxed);
}

void
omp__mutex_lock(_Atomic uint32_t* w)
{
    uint32_t z = 0;
    if (atomic_compare_exchange_strong_explicit(
          w, &z, 1, memory_order_acquire, memory_order_relaxed))
        return;
    /* Spin a little while the holder is likely running, then sleep with
     * the word marked contended (2) so the unlocker knows to wake. */
    for (int i = 0; i < 200; i++) {
        omp__pause();
        z = 0;
        if (atomic_load_explicit(w, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_weak_explicit(
              w, &z, 1, memory_order_acquire, memory_order_relaxed))
            return;
    }
    while (atomic_exchange_explicit(w, 2, memory_order_acquire) != 0)
        omp__futex_wait(w, 2);
}

void
omp__mutex_unlock(_Atomic uint32_t* w)
{
    if (atomic_exchange_explicit(w, 0, memory_order_release) == 2)
        omp__futex_wake(w, 1);
}

void
omp__fatal(const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("OMP: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}
