/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the guest thread library (sdk/lib/pthread): the thread
 * descriptor, the futex-style wait/wake on memory.atomic.wait32/notify,
 * internal locks, and the views of the public pthread types. */
#ifndef GR_PTHREAD_INT_H
#define GR_PTHREAD_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

/* Default stack of a new thread (pthread_attr_setstacksize changes it). */
#define GR_PT_DEFAULT_STACK (256u * 1024u)

/* gr_thread.state */
enum
{
    GR_PT_RUNNING = 0,
    GR_PT_EXITED = 1, /* result set; may still run on its stack */
    GR_PT_DONE = 2,   /* left wasi_thread_start: the block may be freed */
};

/* gr_thread.dstate */
enum
{
    GR_PT_JOINABLE = 0,
    GR_PT_DETACHED = 1,
    GR_PT_EXITING = 2,
};

struct gr_tsd
{
    void* val;
    unsigned gen;
};

/* One thread. The first three fields are read and written by start.s at
 * fixed offsets: keep them first and in this order. A worker's descriptor
 * lives at the start of one allocation that also holds its TLS block and
 * stack; the main thread's is static. Touched by the thread itself, its
 * creator (until it is started) and its joiner (state, result). */
struct __pthread
{
    uint32_t stack_top; /* offset 0: __stack_pointer of the new thread */
    uint32_t tls_base;  /* offset 4: its TLS block (__wasm_init_tls) */
    _Atomic int state;  /* offset 8: GR_PT_*; start.s stores GR_PT_DONE */
    _Atomic int dstate; /* GR_PT_JOINABLE / DETACHED / EXITING */
    int tid;            /* wasi thread id (0: the main thread) */
    int parked;         /* left by pthread_exit: its block is never freed */
    void* (*start)(void*);
    void* arg;
    void* result;
    void* block; /* the allocation to free (NULL for the main thread) */
    struct __pthread* next_zombie;
    struct gr_tsd tsd[PTHREAD_KEYS_MAX];
};

_Static_assert(__builtin_offsetof(struct __pthread, state) == 8,
               "start.s stores state at offset 8");

/* The calling thread (start.s keeps it in a per-instance wasm global). */
struct __pthread* gr__pt_self(void);

/* Waits while *addr == expect, at most ns nanoseconds (< 0: forever).
 * Returns 0 when woken (or spuriously), 1 when *addr != expect, 2 on
 * timeout. */
static inline int
gr__pt_wait(_Atomic int* addr, int expect, int64_t ns)
{
    return __builtin_wasm_memory_atomic_wait32((int*)addr, expect, ns);
}

static inline void
gr__pt_wake(_Atomic int* addr, unsigned n)
{
    (void)__builtin_wasm_memory_atomic_notify((int*)addr, n);
}

#define GR_PT_WAKE_ALL 0xffffffffu

/* Nanoseconds from now until the absolute time abs on clock clk (0 when it
 * has passed). Returns -EINVAL for a tv_nsec outside [0, 1e9). */
int64_t gr__pt_until(clockid_t clk, const struct timespec* abs);

/* A small lock for the library's own lists: 0 free, 1 held, 2 held with
 * waiters. */
void gr__pt_lock(_Atomic int* l);
void gr__pt_unlock(_Atomic int* l);

/* A recursive lock owned by a thread (the libc stdio lock). */
struct gr_rlock
{
    _Atomic int word;
    _Atomic(struct __pthread*) owner;
    int depth;
};
void gr__pt_rlock(struct gr_rlock* l);
void gr__pt_runlock(struct gr_rlock* l);

/* libc_stdio.c: the lock every wrapped FILE function holds. */
extern struct gr_rlock gr__pt_stdio_lock;

/* key.c: runs the thread's TSD destructors (at thread exit). */
void gr__pt_tsd_run(struct __pthread* t);

/* Views of the public types (sizes checked in the .c files). */
struct gr_mutex
{
    _Atomic int word; /* 0 free, 1 held, 2 held with waiters */
    int type;
    _Atomic(struct __pthread*) owner;
    int depth;
};

struct gr_cond
{
    _Atomic int seq;
    int monotonic;
    _Atomic int waiters;
};

struct gr_rwlock
{
    _Atomic int state; /* > 0 readers, -1 a writer, 0 free */
    _Atomic int seq;
    _Atomic int waiters;
    _Atomic(struct __pthread*) writer;
};

struct gr_barrier
{
    _Atomic int arrived;
    _Atomic int gen;
    unsigned count;
};

#define GR_PT_VIEW(type, p) ((type*)(void*)(p))

#endif
