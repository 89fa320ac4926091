/* SPDX-License-Identifier: Apache-2.0 */
/* Out-of-line runtime of generated wasm code (see wrt.h): traps unwind
 * with siglongjmp to the innermost wrt_invoke; memories reserve their
 * maximum once (so the base never moves) and commit pages as they grow;
 * wait/notify use a process-wide wait queue keyed by address. */
#include "wasm/wrt.h"

#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

__thread uint32_t wrt_depth;
static __thread sigjmp_buf* cur_jmp;

static const char* const trap_names[WRT_TRAP_COUNT] = {
    [WRT_TRAP_NONE] = "no trap",
    [WRT_TRAP_UNREACHABLE] = "unreachable",
    [WRT_TRAP_OOB] = "out of bounds memory access",
    [WRT_TRAP_DIV_ZERO] = "integer divide by zero",
    [WRT_TRAP_INT_OVERFLOW] = "integer overflow",
    [WRT_TRAP_INVALID_CONV] = "invalid conversion to integer",
    [WRT_TRAP_UNDEF_ELEM] = "undefined element",
    [WRT_TRAP_UNINIT_ELEM] = "uninitialized element",
    [WRT_TRAP_SIG_MISMATCH] = "indirect call type mismatch",
    [WRT_TRAP_TABLE_OOB] = "out of bounds table access",
    [WRT_TRAP_EXHAUSTION] = "call stack exhausted",
    [WRT_TRAP_UNALIGNED] = "unaligned atomic",
    [WRT_TRAP_NOT_SHARED] = "expected shared memory",
    [WRT_TRAP_OOM] = "out of memory",
    [WRT_TRAP_HOST] = "host function failed",
};

const char*
wrt_trap_name(int kind)
{
    if (kind < 0 || kind >= WRT_TRAP_COUNT)
        return "unknown trap";
    return trap_names[kind];
}

void
wrt_trap(int kind)
{
    if (cur_jmp == NULL)
        abort(); /* a trap outside wrt_invoke: a host bug */
    siglongjmp(*cur_jmp, kind);
}

void
wrt_mem_check_slow(const wrt_memory* m, uint64_t end)
{
    if (end > wrt_msize(m))
        wrt_trap(WRT_TRAP_OOB);
}

int
wrt_invoke_raw(void (*fn)(void*), void* arg)
{
    sigjmp_buf jb;
    sigjmp_buf* volatile saved = cur_jmp;
    volatile uint32_t depth = wrt_depth;
    int kind = sigsetjmp(jb, 0);
    if (kind == 0) {
        cur_jmp = &jb;
        fn(arg);
    }
    cur_jmp = saved;
    wrt_depth = depth;
    return kind;
}

typedef struct invoke_arg
{
    const wrt_func* f;
    wrt_val* vals;
} invoke_arg;

static void
invoke_thunk(void* p)
{
    invoke_arg* a = p;
    a->f->thunk(a->f, a->vals);
}

int
wrt_invoke(const wrt_func* f, wrt_val* vals)
{
    invoke_arg a = { f, vals };
    return wrt_invoke_raw(invoke_thunk, &a);
}

/* ---- memories ---- */

int
wrt_memory_init(wrt_memory* m,
                uint32_t min,
                uint32_t max,
                bool has_max,
                bool shared)
{
    memset(m, 0, sizeof(*m));
    uint64_t limit = has_max ? max : 65536u;
    if (limit > 65536u)
        limit = 65536u;
    /* Reserve the maximum (at least one page, so base is never NULL). */
    size_t bytes = (size_t)(limit ? limit : 1) * WRT_PAGE;
    void* p = mmap(NULL,
                   bytes,
                   PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1,
                   0);
    if (p == MAP_FAILED)
        return -ENOMEM;
    if (min && mprotect(p, (size_t)min * WRT_PAGE, PROT_READ | PROT_WRITE)) {
        munmap(p, bytes);
        return -ENOMEM;
    }
    m->base = p;
    m->reserved = bytes;
    m->pages = min;
    m->size = (uint64_t)min * WRT_PAGE;
    m->max = has_max ? max : 65536u;
    m->has_max = has_max;
    m->shared = shared;
    pthread_mutex_init(&m->lock, NULL);
    return 0;
}

void
wrt_memory_fini(wrt_memory* m)
{
    if (m->base == NULL)
        return;
    munmap(m->base, m->reserved);
    pthread_mutex_destroy(&m->lock);
    m->base = NULL;
}

uint32_t
wrt_memory_grow(wrt_memory* m, uint32_t delta)
{
    pthread_mutex_lock(&m->lock);
    uint32_t old = m->pages;
    uint64_t want = (uint64_t)old + delta;
    uint32_t limit = m->max < 65536u ? m->max : 65536u;
    if (want > limit || want * WRT_PAGE > m->reserved) {
        pthread_mutex_unlock(&m->lock);
        return UINT32_MAX;
    }
    if (delta && mprotect(m->base + (size_t)old * WRT_PAGE,
                          (size_t)delta * WRT_PAGE,
                          PROT_READ | PROT_WRITE)) {
        pthread_mutex_unlock(&m->lock);
        return UINT32_MAX;
    }
    m->pages = (uint32_t)want;
    __atomic_store_n(&m->size, want * WRT_PAGE, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&m->lock);
    return old;
}

/* ---- tables ---- */

int
wrt_table_init(wrt_table* t,
               uint8_t type,
               uint32_t min,
               uint32_t max,
               bool has_max)
{
    memset(t, 0, sizeof(*t));
    t->elems = calloc(min ? min : 1, sizeof(void*));
    if (t->elems == NULL)
        return -ENOMEM;
    t->size = min;
    t->max = has_max ? max : UINT32_MAX;
    t->has_max = has_max;
    t->type = type;
    return 0;
}

void
wrt_table_fini(wrt_table* t)
{
    free(t->elems);
    t->elems = NULL;
}

uint32_t
wrt_table_grow(wrt_table* t, uint32_t delta, void* init)
{
    uint32_t old = t->size;
    uint64_t want = (uint64_t)old + delta;
    /* 10M elements: an implementation limit (grow fails, as allowed). */
    if (want > t->max || want > 10000000u)
        return UINT32_MAX;
    if (delta == 0)
        return old;
    void** e = realloc(t->elems, (size_t)want * sizeof(void*));
    if (e == NULL)
        return UINT32_MAX;
    for (uint64_t i = old; i < want; i++)
        e[i] = init;
    t->elems = e;
    t->size = (uint32_t)want;
    return old;
}

/* ---- wait / notify ---- */

/* One waiter: a thread blocked on (memory, address). */
typedef struct waiter
{
    const wrt_memory* m;
    uint64_t ea;
    bool woken;
    pthread_cond_t cond;
    struct waiter* next;
} waiter;

static pthread_mutex_t wq_lock = PTHREAD_MUTEX_INITIALIZER;
static waiter* wq_head;

static uint32_t
wait_common(wrt_memory* m,
            uint64_t ea,
            uint64_t expect,
            int64_t ns,
            unsigned size)
{
    if (!m->shared)
        wrt_trap(WRT_TRAP_NOT_SHARED);
    if (ea + size > wrt_msize(m))
        wrt_trap(WRT_TRAP_OOB);
    if (ea & (size - 1))
        wrt_trap(WRT_TRAP_UNALIGNED);
    pthread_mutex_lock(&wq_lock);
    uint64_t cur =
      size == 4 ? __atomic_load_n((uint32_t*)(m->base + ea), __ATOMIC_SEQ_CST)
                : __atomic_load_n((uint64_t*)(m->base + ea), __ATOMIC_SEQ_CST);
    if (cur != expect) {
        pthread_mutex_unlock(&wq_lock);
        return 1;
    }
    waiter w = { .m = m, .ea = ea };
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w.cond, &ca);
    pthread_condattr_destroy(&ca);
    /* Append: notify wakes in FIFO order. */
    waiter** pp = &wq_head;
    while (*pp)
        pp = &(*pp)->next;
    *pp = &w;
    struct timespec dl;
    if (ns >= 0) {
        clock_gettime(CLOCK_MONOTONIC, &dl);
        uint64_t t = (uint64_t)dl.tv_nsec + (uint64_t)ns % 1000000000u;
        dl.tv_sec += (time_t)((uint64_t)ns / 1000000000u + t / 1000000000u);
        dl.tv_nsec = (long)(t % 1000000000u);
    }
    int rc = 0;
    while (!w.woken && rc != ETIMEDOUT)
        rc = ns >= 0 ? pthread_cond_timedwait(&w.cond, &wq_lock, &dl)
                     : pthread_cond_wait(&w.cond, &wq_lock);
    uint32_t result = 0;
    if (!w.woken) {
        for (pp = &wq_head; *pp; pp = &(*pp)->next)
            if (*pp == &w) {
                *pp = w.next;
                break;
            }
        result = 2;
    }
    pthread_mutex_unlock(&wq_lock);
    pthread_cond_destroy(&w.cond);
    return result;
}

uint32_t
wrt_wait32(wrt_memory* m, uint64_t ea, uint32_t expect, int64_t ns)
{
    return wait_common(m, ea, expect, ns, 4);
}

uint32_t
wrt_wait64(wrt_memory* m, uint64_t ea, uint64_t expect, int64_t ns)
{
    return wait_common(m, ea, expect, ns, 8);
}

uint32_t
wrt_notify(wrt_memory* m, uint64_t ea, uint32_t count)
{
    if (ea + 4 > wrt_msize(m))
        wrt_trap(WRT_TRAP_OOB);
    if (ea & 3)
        wrt_trap(WRT_TRAP_UNALIGNED);
    if (!m->shared)
        return 0;
    uint32_t n = 0;
    pthread_mutex_lock(&wq_lock);
    for (waiter** pp = &wq_head; *pp && n < count;) {
        waiter* w = *pp;
        if (w->m == m && w->ea == ea) {
            *pp = w->next;
            w->woken = true;
            pthread_cond_signal(&w->cond);
            n++;
        } else {
            pp = &w->next;
        }
    }
    pthread_mutex_unlock(&wq_lock);
    return n;
}
