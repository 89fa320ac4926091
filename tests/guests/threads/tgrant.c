/* SPDX-License-Identifier: Apache-2.0 */
/* Test guest (command) of thread scheduling (tests/unit/sched/
 * test_sched_threads.c), built with plain clang on a shared memory. stdin:
 * "ask n hold_ms end post_ms". ask 1: call granary thread_limit first; n:
 * threads to spawn (0: the limit less one); every spawn is tried, and the
 * refused ones counted. The threads wait until the main thread, hold_ms
 * after they all started, releases them; then per end: 0 they return,
 * 1 thread 0 traps, 2 the main thread returns without releasing them,
 * 3 they spin forever (a timeout ends the call), 4 thread 0 calls
 * proc_exit(7). The main thread waits for them, sleeps post_ms and prints
 * "limit=L spawned=S refused=R" (first) and "done". */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define MAX_THREADS 8
#define STACK_BYTES 65536

__attribute__((import_module("wasi"), import_name("thread-spawn"))) int
thread_spawn(void* arg);
__attribute__((import_module("granary"), import_name("thread_limit"))) int
thread_limit(void);
__attribute__((import_module("wasi_snapshot_preview1"),
               import_name("proc_exit"))) _Noreturn void
raw_exit(int code);

struct start
{
    uintptr_t stack_top; /* read first by wasi_thread_start */
    int index;
};

static _Alignas(16) unsigned char stacks[MAX_THREADS][STACK_BYTES];
static struct start starts[MAX_THREADS];
static _Atomic int started, released, done, spin_flag;
static int end_mode;

static void
wait_for(_Atomic int* w, int want)
{
    for (int v; (v = atomic_load(w)) < want;)
        __builtin_wasm_memory_atomic_wait32((int*)w, v, -1);
}

static void
bump(_Atomic int* w)
{
    atomic_fetch_add(w, 1);
    __builtin_wasm_memory_atomic_notify((int*)w, -1);
}

/* Called by wasi_thread_start (thread_start.s) on the thread's stack. */
__attribute__((used)) void
thread_main(int tid, struct start* s)
{
    (void)tid;
    bump(&started);
    wait_for(&released, 1);
    if (end_mode == 1 && s->index == 0)
        __builtin_trap();
    if (end_mode == 3)
        while (!atomic_load(&spin_flag))
            ;
    if (end_mode == 4 && s->index == 0)
        raw_exit(7);
    bump(&done);
}

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

int
main(void)
{
    int ask, n, hold, post;
    if (scanf("%d %d %d %d %d", &ask, &n, &hold, &end_mode, &post) != 5)
        return 2;
    int limit = ask ? thread_limit() : 0;
    if (n == 0)
        n = limit - 1;
    if (n < 0 || n > MAX_THREADS)
        return 3;
    int spawned = 0, refused = 0;
    for (int i = 0; i < n; i++) {
        starts[spawned].stack_top = (uintptr_t)(stacks[spawned] + STACK_BYTES);
        starts[spawned].index = spawned;
        if (thread_spawn(&starts[spawned]) > 0)
            spawned++;
        else
            refused++;
    }
    printf("limit=%d spawned=%d refused=%d\n", limit, spawned, refused);
    fflush(stdout);
    wait_for(&started, spawned);
    sleep_ms(hold);
    if (end_mode == 2)
        return 0;
    bump(&released);
    wait_for(&done, spawned);
    sleep_ms(post);
    printf("done\n");
    return 0;
}
