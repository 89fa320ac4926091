/* SPDX-License-Identifier: Apache-2.0 */
/* Threads: pthread_create on wasi-threads' thread-spawn, join, detach,
 * exit, self, and thread attributes. A thread's descriptor, TLS block and
 * stack are one allocation, freed by its joiner (or, when detached, by a
 * later create or join) once start.s has marked it GR_PT_DONE. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "granary/threads.h"
#include "pthread_int.h"

struct gr_attr
{
    size_t stack;
    int detach;
    size_t guard;
    int scope;
    int inherit;
    int set; /* 1 after pthread_attr_init */
};
_Static_assert(sizeof(struct gr_attr) <= sizeof(pthread_attr_t),
               "pthread_attr_t holds the attributes");

struct __pthread* gr__pt_self_raw(void);

/* The main thread's descriptor (tid 0). */
static struct __pthread main_thread;

/* Threads started and not yet through their exit path, the main thread
 * excepted (pthread_exit in main waits for 0). */
static _Atomic int live;

/* Detached threads that exited, waiting for GR_PT_DONE to be freed. */
static _Atomic int zombie_lock;
static struct __pthread* zombies;

struct __pthread*
gr__pt_self(void)
{
    struct __pthread* t = gr__pt_self_raw();
    return t ? t : &main_thread;
}

pthread_t
pthread_self(void)
{
    return gr__pt_self();
}

#undef pthread_equal
int
pthread_equal(pthread_t a, pthread_t b)
{
    return a == b;
}

static void
push_zombie(struct __pthread* t)
{
    gr__pt_lock(&zombie_lock);
    t->next_zombie = zombies;
    zombies = t;
    gr__pt_unlock(&zombie_lock);
}

/* Frees the blocks of detached threads that have left wasi_thread_start;
 * forgets parked ones (their stacks stay in use). */
static void
reap(void)
{
    if (!zombies)
        return;
    gr__pt_lock(&zombie_lock);
    struct __pthread** pp = &zombies;
    while (*pp) {
        struct __pthread* t = *pp;
        if (t->parked) {
            *pp = t->next_zombie;
        } else if (atomic_load(&t->state) == GR_PT_DONE) {
            *pp = t->next_zombie;
            free(t->block);
        } else {
            pp = &t->next_zombie;
        }
    }
    gr__pt_unlock(&zombie_lock);
}

/* The exit path shared by a return from the start routine and
 * pthread_exit: destructors, result, wake the joiner, hand a detached
 * thread to the zombie list. */
static void
finish(struct __pthread* t, void* result)
{
    gr__pt_tsd_run(t);
    t->result = result;
    int old = atomic_exchange(&t->dstate, GR_PT_EXITING);
    atomic_store(&t->state, GR_PT_EXITED);
    gr__pt_wake(&t->state, GR_PT_WAKE_ALL);
    if (atomic_fetch_sub(&live, 1) == 1)
        gr__pt_wake(&live, GR_PT_WAKE_ALL);
    if (old == GR_PT_DETACHED)
        push_zombie(t);
}

/* Called by wasi_thread_start (start.s) with the stack and TLS set. */
void __granary_thread_main(int tid, struct __pthread* t);
void
__granary_thread_main(int tid, struct __pthread* t)
{
    t->tid = tid;
    finish(t, t->start(t->arg));
}

static size_t
round_up(size_t n, size_t a)
{
    return (n + a - 1) & ~(a - 1);
}

int
pthread_create(pthread_t* __restrict out,
               const pthread_attr_t* __restrict attr,
               void* (*start)(void*),
               void* __restrict arg)
{
    const struct gr_attr* a = GR_PT_VIEW(const struct gr_attr, attr);
    size_t stack = GR_PT_DEFAULT_STACK;
    int detach = PTHREAD_CREATE_JOINABLE;
    if (a && a->set) {
        if (a->stack)
            stack = a->stack;
        detach = a->detach;
    }
    reap();

    size_t tls_align = __builtin_wasm_tls_align();
    if (tls_align < 16)
        tls_align = 16;
    size_t desc = round_up(sizeof(struct __pthread), tls_align);
    size_t tls = round_up(__builtin_wasm_tls_size(), 16);
    stack = round_up(stack, 16);
    size_t total = desc + tls + stack;
    if (total < stack)
        return EAGAIN;
    void* block = aligned_alloc(tls_align, round_up(total, tls_align));
    if (!block)
        return EAGAIN;
    struct __pthread* t = block;
    memset(t, 0, sizeof *t);
    t->block = block;
    t->tls_base = (uint32_t)(uintptr_t)((char*)block + desc);
    t->stack_top = (uint32_t)(uintptr_t)((char*)block + desc + tls + stack);
    t->start = start;
    t->arg = arg;
    atomic_store(&t->dstate,
                 detach == PTHREAD_CREATE_DETACHED ? GR_PT_DETACHED
                                                   : GR_PT_JOINABLE);
    atomic_fetch_add(&live, 1);
    /* The thread may run (and, detached, finish) before spawn returns:
     * publish *out first, never touch t after spawn if detached. */
    *out = t;
    int tid = granary_thread_spawn((uint32_t)(uintptr_t)t);
    if (tid <= 0) {
        atomic_fetch_sub(&live, 1);
        free(block);
        return EAGAIN;
    }
    return 0;
}

int
pthread_join(pthread_t t, void** result)
{
    if (t == gr__pt_self())
        return EDEADLK;
    if (t == &main_thread || atomic_load(&t->dstate) == GR_PT_DETACHED)
        return EINVAL;
    int s;
    while ((s = atomic_load(&t->state)) == GR_PT_RUNNING)
        gr__pt_wait(&t->state, GR_PT_RUNNING, -1);
    if (result)
        *result = t->result;
    if (!t->parked) {
        while ((s = atomic_load(&t->state)) != GR_PT_DONE)
            gr__pt_wait(&t->state, s, -1);
        free(t->block);
    }
    reap();
    return 0;
}

int
pthread_detach(pthread_t t)
{
    int expect = GR_PT_JOINABLE;
    if (atomic_compare_exchange_strong(&t->dstate, &expect, GR_PT_DETACHED))
        return 0;
    if (expect == GR_PT_EXITING && t != &main_thread) {
        /* Already through its exit path: nobody else will free it. */
        atomic_store(&t->dstate, GR_PT_DETACHED);
        push_zombie(t);
        return 0;
    }
    return EINVAL;
}

_Noreturn void
pthread_exit(void* result)
{
    struct __pthread* t = gr__pt_self();
    if (t == &main_thread) {
        /* The process lives on until the last thread is through. */
        gr__pt_tsd_run(t);
        int n;
        while ((n = atomic_load(&live)) != 0)
            gr__pt_wait(&live, n, -1);
        exit(0);
    }
    /* wasm cannot unwind the start routine's frames: the thread is
     * finished for everyone but its host thread waits here until the call
     * ends, and its block is never freed (docs/threads.md). */
    t->parked = 1;
    finish(t, result);
    _Atomic int never = 0;
    for (;;)
        gr__pt_wait(&never, 0, -1);
}

int
pthread_getconcurrency(void)
{
    return 0;
}

int
pthread_setconcurrency(int n)
{
    return n < 0 ? EINVAL : 0;
}

/* ---- attributes --------------------------------------------------------- */

#define ATTR(p) GR_PT_VIEW(struct gr_attr, p)
#define CATTR(p) GR_PT_VIEW(const struct gr_attr, p)

int
pthread_attr_init(pthread_attr_t* attr)
{
    memset(attr, 0, sizeof *attr);
    ATTR(attr)->stack = GR_PT_DEFAULT_STACK;
    ATTR(attr)->set = 1;
    return 0;
}

int
pthread_attr_destroy(pthread_attr_t* attr)
{
    (void)attr;
    return 0;
}

int
pthread_attr_getstacksize(const pthread_attr_t* __restrict attr,
                          size_t* __restrict size)
{
    *size = CATTR(attr)->stack;
    return 0;
}

int
pthread_attr_setstacksize(pthread_attr_t* attr, size_t size)
{
    if (size < PTHREAD_STACK_MIN || size > SIZE_MAX / 4)
        return EINVAL;
    ATTR(attr)->stack = size;
    return 0;
}

int
pthread_attr_getdetachstate(const pthread_attr_t* attr, int* state)
{
    *state = CATTR(attr)->detach;
    return 0;
}

int
pthread_attr_setdetachstate(pthread_attr_t* attr, int state)
{
    if (state != PTHREAD_CREATE_JOINABLE && state != PTHREAD_CREATE_DETACHED)
        return EINVAL;
    ATTR(attr)->detach = state;
    return 0;
}

int
pthread_attr_getguardsize(const pthread_attr_t* __restrict attr,
                          size_t* __restrict size)
{
    *size = CATTR(attr)->guard;
    return 0;
}

int
pthread_attr_setguardsize(pthread_attr_t* attr, size_t size)
{
    ATTR(attr)->guard = size;
    return 0;
}

int
pthread_attr_getscope(const pthread_attr_t* __restrict attr,
                      int* __restrict scope)
{
    *scope = CATTR(attr)->scope;
    return 0;
}

int
pthread_attr_setscope(pthread_attr_t* attr, int scope)
{
    if (scope == PTHREAD_SCOPE_PROCESS)
        return ENOTSUP;
    if (scope != PTHREAD_SCOPE_SYSTEM)
        return EINVAL;
    ATTR(attr)->scope = scope;
    return 0;
}

int
pthread_attr_getinheritsched(const pthread_attr_t* __restrict attr,
                             int* __restrict inherit)
{
    *inherit = CATTR(attr)->inherit;
    return 0;
}

int
pthread_attr_setinheritsched(pthread_attr_t* attr, int inherit)
{
    if (inherit != PTHREAD_INHERIT_SCHED && inherit != PTHREAD_EXPLICIT_SCHED)
        return EINVAL;
    ATTR(attr)->inherit = inherit;
    return 0;
}
