/* SPDX-License-Identifier: Apache-2.0 */
/* Out-of-line runtime of generated wasm code (see wrt.h): traps unwind
 * with siglongjmp to the innermost wrt_invoke; memories reserve their
 * maximum once (so the base never moves) and commit pages as they grow;
 * tables and wait/notify are in wrt_shared.c, which hosts with their own
 * traps and memories (Granary's engine) link alone. */
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

/* The spec runner's threads have no deadlines. */
uint64_t
wrt_wait_deadline(void)
{
    return 0;
}

void
wrt_wait_expired(void)
{
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
