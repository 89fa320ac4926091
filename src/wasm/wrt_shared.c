/* SPDX-License-Identifier: Apache-2.0 */
/* The host-independent part of the runtime of generated wasm code (see
 * wrt.h): tables, and memory.atomic.wait/notify on a process-wide wait
 * queue keyed by (memory, address). Traps and memories are the host's
 * (wrt.c for the spec runner, src/engine/wrt_host.c for the engine). */
#include "wasm/wrt.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

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

/* One waiter: a thread blocked on (memory, address). `kicked`: woken by
 * wrt_wake_all to recheck its deadline (it stays queued). */
typedef struct waiter
{
    const wrt_memory* m;
    uint64_t ea;
    bool woken, kicked;
    pthread_cond_t cond;
    struct waiter* next;
} waiter;

static pthread_mutex_t wq_lock = PTHREAD_MUTEX_INITIALIZER;
static waiter* wq_head;

static uint64_t
mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
dequeue(waiter* w)
{
    for (waiter** pp = &wq_head; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
}

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
    /* The wait ends at its own timeout or at the host's limit (the call's
     * deadline, or now if the call is being ended), whichever is first. */
    uint64_t now = mono_now();
    uint64_t until = ns >= 0 ? now + (uint64_t)ns : 0;
    if (ns >= 0 && until < now)
        until = UINT64_MAX;
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
    uint32_t result = 0;
    int expired = 0;
    while (!w.woken) {
        /* Read under wq_lock: a host that makes the limit pass and then
         * calls wrt_wake_all is seen either here or through `kicked`. */
        uint64_t limit = wrt_wait_deadline();
        w.kicked = false;
        now = mono_now();
        if (limit && now >= limit) {
            expired = 1;
            break;
        }
        if (until && now >= until)
            break;
        uint64_t end = until;
        if (limit && (!end || limit < end))
            end = limit;
        if (!end) {
            pthread_cond_wait(&w.cond, &wq_lock);
            continue;
        }
        struct timespec dl = { .tv_sec = (time_t)(end / 1000000000u),
                               .tv_nsec = (long)(end % 1000000000u) };
        pthread_cond_timedwait(&w.cond, &wq_lock, &dl);
    }
    if (!w.woken) {
        dequeue(&w);
        result = 2;
    }
    pthread_mutex_unlock(&wq_lock);
    pthread_cond_destroy(&w.cond);
    if (expired)
        wrt_wait_expired();
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

void
wrt_wake_all(const wrt_memory* m)
{
    pthread_mutex_lock(&wq_lock);
    for (waiter* w = wq_head; w; w = w->next)
        if (w->m == m) {
            w->kicked = true;
            pthread_cond_signal(&w->cond);
        }
    pthread_mutex_unlock(&wq_lock);
}
