/* SPDX-License-Identifier: Apache-2.0 */
/* Test guest (command) in C, built with plain clang on a shared memory:
 * reads a thread count n from stdin, starts n threads through the raw
 * wasi-threads ABI (no pthreads library: its own wasi_thread_start sets
 * each thread's shadow stack), each adds to an atomic counter and sums an
 * array on its own stack, and prints what they computed. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#define MAX_THREADS 8
#define STACK_BYTES 65536
#define ADDS 10000

__attribute__((import_module("wasi"), import_name("thread-spawn"))) int
thread_spawn(void* arg);

struct start
{
    uintptr_t stack_top; /* read first by wasi_thread_start */
    int index;
};

static _Alignas(16) unsigned char stacks[MAX_THREADS][STACK_BYTES];
static struct start starts[MAX_THREADS];
static long sums[MAX_THREADS];
static _Atomic int counter, done;

/* wasi_thread_start is in thread_start.s: it sets the new thread's stack
 * pointer before any C code runs, then calls thread_main. */
__attribute__((used)) void
thread_main(int tid, struct start* s)
{
    (void)tid;
    volatile int local[1000]; /* on this thread's shadow stack */
    for (int i = 0; i < 1000; i++)
        local[i] = s->index + i;
    long sum = 0;
    for (int i = 0; i < 1000; i++)
        sum += local[i];
    sums[s->index] = sum;
    for (int i = 0; i < ADDS; i++)
        atomic_fetch_add(&counter, 1);
    atomic_fetch_add(&done, 1);
    __builtin_wasm_memory_atomic_notify((int*)&done, 1);
}

int
main(void)
{
    int n = 0;
    if (scanf("%d", &n) != 1 || n < 1 || n > MAX_THREADS)
        return 2;
    for (int i = 0; i < n; i++) {
        starts[i].stack_top = (uintptr_t)(stacks[i] + STACK_BYTES);
        starts[i].index = i;
        if (thread_spawn(&starts[i]) <= 0)
            return 3;
    }
    for (int d; (d = atomic_load(&done)) < n;)
        __builtin_wasm_memory_atomic_wait32((int*)&done, d, -1);
    long total = 0;
    for (int i = 0; i < n; i++)
        total += sums[i] - (1000L * i + 499500L);
    printf("threads=%d counter=%d stack_errors=%ld\n", n, counter, total);
    return 0;
}
