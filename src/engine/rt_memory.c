/* SPDX-License-Identifier: Apache-2.0 */
/* Granary's wasm runtime, part two: linear memories as pooled PROT_NONE
 * reservations (8 GiB with guard pages, the maximum's size for code that
 * checks bounds) whose accessible prefix grows with the memory, memory
 * groups (threads sharing one memory), copy-on-write memories from a
 * snapshot memfd with in-place reset, shared segments, and tables. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/rt.h"
#include "engine/rt_int.h"
#include "util/alloc.h"

/* Per-thread cap on pages (see gr_rt_set_page_limit) and strategy of the
 * next memory (gr_rt_set_memory_strategy). */
static _Thread_local uint32_t page_limit;
static _Thread_local int mem_strategy;

/* ---- reservation registry ------------------------------------------------
 * The fault handler must decide, without locks, whether an address lies in
 * a linear-memory reservation. Reservations are published in a fixed array
 * of atomic base addresses; everything else is under region_lock. */

#define MAX_REGIONS (1u << 20)
static _Atomic uintptr_t region_base[MAX_REGIONS];
static _Atomic size_t region_len[MAX_REGIONS]; /* bytes reserved */
static atomic_size_t region_high; /* slots [0, region_high) may be in use */

struct region
{
    uint8_t* base;
    size_t reserved; /* bytes of address space, guard included */
    uint32_t pages;
    uint32_t max_pages;
    size_t slot;
    struct region* hnext; /* next in its hash bucket */
    size_t n_members, cap_members;
    wasm_rt_memory_t** members;
};

/* Under region_lock: regions by base address (hash buckets), and the
 * slots of region_base freed for reuse, so that finding, adding and
 * removing a region costs O(1) however many memories are alive. */
#define REGION_BUCKETS 65536u
static pthread_mutex_t region_lock = PTHREAD_MUTEX_INITIALIZER;
static struct region* buckets[REGION_BUCKETS];
static uint32_t free_slots[MAX_REGIONS];
static size_t n_free_slots;

static size_t
bucket_of(const uint8_t* base)
{
    /* Reservations are page aligned: mix the bits above the page
     * offset. */
    uint64_t x = (uint64_t)(uintptr_t)base >> 12;
    return (size_t)((x * 0x9E3779B97F4A7C15ull) >> 48) % REGION_BUCKETS;
}

/* Released reservations kept for reuse (under region_lock): 8 GiB ones,
 * and small ones, reused only by a memory of exactly their size. */
#define POOL_MAX 64
static uint8_t* pool[POOL_MAX];
static size_t pool_len;
static struct
{
    uint8_t* base;
    size_t len;
} small_pool[POOL_MAX];
static size_t small_pool_len;

int
gr__rt_address_in_region(uintptr_t addr)
{
    size_t n = atomic_load_explicit(&region_high, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        uintptr_t b =
          atomic_load_explicit(&region_base[i], memory_order_acquire);
        if (b && addr >= b &&
            addr - b <
              atomic_load_explicit(&region_len[i], memory_order_relaxed))
            return 1;
    }
    return 0;
}

/* ---- memories ------------------------------------------------------------ */

void
gr_rt_set_page_limit(uint32_t max_pages)
{
    page_limit = max_pages;
}

void
gr_rt_set_memory_strategy(int strategy)
{
    mem_strategy = strategy;
}

size_t
gr_rt_reservation_bytes(int strategy, uint32_t max_pages)
{
    if (strategy != GR_RT_MEM_BOUNDS)
        return GR_RT_RESERVATION;
    /* Wasm pages are whole host pages; the tail page is defence in depth
     * (checked code never touches it: see GR_RT_BOUNDS_TAIL). */
    return (size_t)max_pages * GR_WASM_PAGE + GR_RT_BOUNDS_TAIL;
}

/* The wasm32 maximum: 4 GiB, which the 8 GiB reservation covers with its
 * guard (the byte size is kept in a u64). */
#define MAX_PAGES 65536u

static uint8_t*
reserve(size_t len)
{
    uint8_t* base = NULL;
    pthread_mutex_lock(&region_lock);
    if (len == GR_RT_RESERVATION && pool_len) {
        base = pool[--pool_len];
    } else {
        for (size_t i = small_pool_len; i-- > 0;) {
            if (small_pool[i].len == len) {
                base = small_pool[i].base;
                small_pool[i] = small_pool[--small_pool_len];
                break;
            }
        }
    }
    pthread_mutex_unlock(&region_lock);
    if (base)
        return base;
    void* p = mmap(
      NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Drops the pages and protection of a used reservation; it is either
 * pooled for the next memory or unmapped. Replacing the range with a fresh
 * anonymous PROT_NONE mapping also removes any snapshot or shared-state
 * mappings placed inside it. */
static void
release(uint8_t* base, size_t used, size_t len)
{
    if (used && mmap(base,
                     used,
                     PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
                     -1,
                     0) == MAP_FAILED) {
        munmap(base, len);
        return;
    }
    pthread_mutex_lock(&region_lock);
    if (len == GR_RT_RESERVATION && pool_len < POOL_MAX) {
        pool[pool_len++] = base;
        base = NULL;
    } else if (len != GR_RT_RESERVATION && small_pool_len < POOL_MAX) {
        small_pool[small_pool_len].base = base;
        small_pool[small_pool_len++].len = len;
        base = NULL;
    }
    pthread_mutex_unlock(&region_lock);
    if (base)
        munmap(base, len);
}

size_t
gr_rt_pool_size(void)
{
    pthread_mutex_lock(&region_lock);
    size_t n = pool_len;
    pthread_mutex_unlock(&region_lock);
    return n;
}

size_t
gr_rt_small_pool_size(void)
{
    pthread_mutex_lock(&region_lock);
    size_t n = small_pool_len;
    pthread_mutex_unlock(&region_lock);
    return n;
}

/* Caller holds region_lock. */
static struct region*
find_region(const uint8_t* base)
{
    for (struct region* r = buckets[bucket_of(base)]; r; r = r->hnext)
        if (r->base == base)
            return r;
    return NULL;
}

/* Caller holds region_lock. */
static int
add_member(struct region* r, wasm_rt_memory_t* mem)
{
    if (r->n_members == r->cap_members) {
        size_t cap = r->cap_members ? r->cap_members * 2 : 2;
        wasm_rt_memory_t** m = gr_realloc(r->members, cap * sizeof *m);
        if (!m)
            return -ENOMEM;
        r->members = m;
        r->cap_members = cap;
    }
    r->members[r->n_members++] = mem;
    return 0;
}

/* Caller holds region_lock. */
static int
publish_region(struct region* r)
{
    size_t n = atomic_load(&region_high);
    size_t slot;
    if (n_free_slots)
        slot = free_slots[--n_free_slots];
    else if (n < MAX_REGIONS)
        slot = n;
    else
        return -ENOMEM;
    r->slot = slot;
    size_t b = bucket_of(r->base);
    r->hnext = buckets[b];
    buckets[b] = r;
    atomic_store_explicit(&region_len[slot], r->reserved, memory_order_relaxed);
    atomic_store_explicit(
      &region_base[slot], (uintptr_t)r->base, memory_order_release);
    if (slot == n)
        atomic_store_explicit(&region_high, n + 1, memory_order_release);
    return 0;
}

/* Creates a registered memory of initial_pages, backed by anonymous zero
 * pages (fd < 0) or by a private mapping of fd, in a reservation sized for
 * this thread's memory strategy and the clamped maximum. */
static int
memory_create(wasm_rt_memory_t* mem,
              int fd,
              uint32_t initial_pages,
              uint32_t max_pages)
{
    uint32_t limit = page_limit ? page_limit : MAX_PAGES;
    if (limit > MAX_PAGES)
        limit = MAX_PAGES;
    if (max_pages > limit)
        max_pages = limit;
    memset(mem, 0, sizeof *mem);
    if (initial_pages > max_pages)
        return -ENOMEM;

    size_t res = gr_rt_reservation_bytes(mem_strategy, max_pages);
    struct region* r = gr_calloc(1, sizeof *r);
    uint8_t* base = r ? reserve(res) : NULL;
    size_t bytes = (size_t)initial_pages * GR_WASM_PAGE;
    int ok = base != NULL;
    if (ok && bytes && fd < 0)
        ok = mprotect(base, bytes, PROT_READ | PROT_WRITE) == 0;
    else if (ok && bytes)
        ok = mmap(base,
                  bytes,
                  PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_FIXED,
                  fd,
                  0) != MAP_FAILED;
    if (!ok) {
        if (base)
            release(base, bytes, res);
        gr_free(r);
        return -ENOMEM;
    }
    r->base = base;
    r->reserved = res;
    r->pages = initial_pages;
    r->max_pages = max_pages;
    mem->data = base;
    mem->pages = initial_pages;
    mem->max_pages = max_pages;
    mem->size = (uint64_t)bytes;

    pthread_mutex_lock(&region_lock);
    int rc = add_member(r, mem);
    if (rc == 0)
        rc = publish_region(r);
    pthread_mutex_unlock(&region_lock);
    if (rc) {
        gr_free(r->members);
        gr_free(r);
        release(base, bytes, res);
        memset(mem, 0, sizeof *mem);
        return -ENOMEM;
    }
    return 0;
}

void
wasm_rt_allocate_memory(wasm_rt_memory_t* mem,
                        uint32_t initial_pages,
                        uint32_t max_pages)
{
    if (memory_create(mem, -1, initial_pages, max_pages))
        gr_rt_raise(GR_TRAP_OOM, 0);
}

int
gr_rt_memory_map_fd(wasm_rt_memory_t* mem,
                    int fd,
                    uint32_t pages,
                    uint32_t max_pages)
{
    if (fd < 0)
        return -EINVAL;
    return memory_create(mem, fd, pages, max_pages);
}

int
gr_rt_memory_reset(wasm_rt_memory_t* mem,
                   int fd,
                   uint32_t pages,
                   const uint64_t (*remap)[2],
                   size_t n_remap)
{
    pthread_mutex_lock(&region_lock);
    struct region* r = find_region(mem->data);
    int rc = r ? 0 : -EINVAL;
    if (rc == 0 && r->pages > pages) {
        size_t from = (size_t)pages * GR_WASM_PAGE;
        size_t len = (size_t)(r->pages - pages) * GR_WASM_PAGE;
        if (mmap(r->base + from,
                 len,
                 PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
                 -1,
                 0) == MAP_FAILED)
            rc = -errno;
    } else if (rc == 0 && r->pages < pages) {
        rc = -EINVAL; /* the memory never shrinks below its snapshot */
    }
    uint64_t limit = (uint64_t)pages * GR_WASM_PAGE;
    for (size_t i = 0; rc == 0 && i < n_remap; i++) {
        uint64_t a = remap[i][0], b = remap[i][1] < limit ? remap[i][1] : limit;
        if (a >= b)
            continue;
        if (mmap(r->base + a,
                 b - a,
                 PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_FIXED,
                 fd,
                 (off_t)a) == MAP_FAILED)
            rc = -errno;
    }
    /* Dropping private copies keeps the page tables, so the next call
     * faults pages back in cheaply; no VMA is created or destroyed. */
    if (rc == 0 && limit && madvise(r->base, limit, MADV_DONTNEED) < 0)
        rc = -errno;
    if (rc == 0) {
        r->pages = pages;
        for (size_t i = 0; i < r->n_members; i++) {
            __atomic_store_n(&r->members[i]->pages, pages, __ATOMIC_RELAXED);
            /* Release: threads of a shared memory read it without the
             * lock (wrt_msize). */
            __atomic_store_n(&r->members[i]->size,
                             (uint64_t)pages * GR_WASM_PAGE,
                             __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&region_lock);
    return rc;
}

int
gr_rt_memory_map_shared(wasm_rt_memory_t* mem,
                        uint64_t offset,
                        uint64_t len,
                        int fd,
                        uint64_t fd_offset)
{
    if ((offset | len | fd_offset) & 4095 || !len ||
        !gr_rt_memory_range_ok(mem, offset, len))
        return -EINVAL;
    if (mmap(mem->data + offset,
             len,
             PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_FIXED,
             fd,
             (off_t)fd_offset) == MAP_FAILED)
        return -errno;
    return 0;
}

uint32_t
wasm_rt_grow_memory(wasm_rt_memory_t* mem, uint32_t delta)
{
    pthread_mutex_lock(&region_lock);
    struct region* r = find_region(mem->data);
    uint32_t old = r ? r->pages : UINT32_MAX;
    if (!r || delta > r->max_pages - r->pages)
        goto fail;
    if (delta) {
        size_t off = (size_t)r->pages * GR_WASM_PAGE;
        size_t add = (size_t)delta * GR_WASM_PAGE;
        if (mprotect(r->base + off, add, PROT_READ | PROT_WRITE) < 0)
            goto fail;
        r->pages += delta;
        for (size_t i = 0; i < r->n_members; i++) {
            __atomic_store_n(&r->members[i]->pages, r->pages, __ATOMIC_RELAXED);
            __atomic_store_n(&r->members[i]->size,
                             (uint64_t)r->pages * GR_WASM_PAGE,
                             __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&region_lock);
    return old;
fail:
    pthread_mutex_unlock(&region_lock);
    return UINT32_MAX;
}

/* Detaches mem from its region; returns the region if mem was the last
 * member (caller releases it), else NULL. Caller holds region_lock. */
static struct region*
detach(wasm_rt_memory_t* mem)
{
    struct region* r = find_region(mem->data);
    if (!r)
        return NULL;
    for (size_t i = 0; i < r->n_members; i++) {
        if (r->members[i] == mem) {
            r->members[i] = r->members[--r->n_members];
            break;
        }
    }
    if (r->n_members)
        return NULL;
    atomic_store_explicit(&region_base[r->slot], 0, memory_order_release);
    free_slots[n_free_slots++] = (uint32_t)r->slot;
    for (struct region** p = &buckets[bucket_of(r->base)]; *p;
         p = &(*p)->hnext) {
        if (*p == r) {
            *p = r->hnext;
            break;
        }
    }
    return r;
}

void
wasm_rt_free_memory(wasm_rt_memory_t* mem)
{
    if (!mem->data)
        return;
    pthread_mutex_lock(&region_lock);
    struct region* r = detach(mem);
    pthread_mutex_unlock(&region_lock);
    if (r) {
        release(r->base, (size_t)r->pages * GR_WASM_PAGE, r->reserved);
        gr_free(r->members);
        gr_free(r);
    }
    memset(mem, 0, sizeof *mem);
}

int
gr_rt_memory_join(wasm_rt_memory_t* dst, const wasm_rt_memory_t* src)
{
    pthread_mutex_lock(&region_lock);
    struct region* r = find_region(src->data);
    int rc = r ? add_member(r, dst) : -EINVAL;
    if (rc == 0) {
        dst->data = r->base;
        dst->pages = r->pages;
        dst->max_pages = r->max_pages;
        dst->size = (uint64_t)r->pages * GR_WASM_PAGE;
    }
    pthread_mutex_unlock(&region_lock);
    return rc;
}

void
gr_rt_memory_leave(wasm_rt_memory_t* mem)
{
    wasm_rt_free_memory(mem);
}

void
gr_rt_memory_copy_fields(wasm_rt_memory_t* dst, const wasm_rt_memory_t* src)
{
    /* Every store to pages and size of a memory in use (grow, reset,
     * join) is made under region_lock. */
    pthread_mutex_lock(&region_lock);
    dst->data = src->data;
    dst->pages = src->pages;
    dst->max_pages = src->max_pages;
    dst->size = src->size;
    pthread_mutex_unlock(&region_lock);
}

size_t
gr_rt_memory_reserved(const wasm_rt_memory_t* mem)
{
    pthread_mutex_lock(&region_lock);
    struct region* r = mem->data ? find_region(mem->data) : NULL;
    size_t n = r ? r->reserved : 0;
    pthread_mutex_unlock(&region_lock);
    return n;
}

/* ---- tables -------------------------------------------------------------- */

#define DEFINE_TABLE_OPS(kind, elem_t, null_value)                             \
    void wasm_rt_allocate_##kind##_table(                                      \
      wasm_rt_##kind##_table_t* t, uint32_t elements, uint32_t max)            \
    {                                                                          \
        t->data = NULL;                                                        \
        t->size = 0;                                                           \
        t->max_size = max;                                                     \
        if (elements > max)                                                    \
            gr_rt_raise(GR_TRAP_OOM, 0);                                       \
        if (elements) {                                                        \
            t->data = gr_calloc(elements, sizeof(elem_t));                     \
            if (!t->data)                                                      \
                gr_rt_raise(GR_TRAP_OOM, 0);                                   \
        }                                                                      \
        t->size = elements;                                                    \
    }                                                                          \
    void wasm_rt_free_##kind##_table(wasm_rt_##kind##_table_t* t)              \
    {                                                                          \
        gr_free(t->data);                                                      \
        t->data = NULL;                                                        \
        t->size = 0;                                                           \
    }                                                                          \
    uint32_t wasm_rt_grow_##kind##_table(                                      \
      wasm_rt_##kind##_table_t* t, uint32_t delta, elem_t init)                \
    {                                                                          \
        uint32_t old = t->size;                                                \
        if (delta > t->max_size - old || old + (uint64_t)delta > 10000000u)    \
            return UINT32_MAX;                                                 \
        if (!delta)                                                            \
            return old;                                                        \
        elem_t* d = gr_realloc(t->data, (old + delta) * sizeof(elem_t));       \
        if (!d)                                                                \
            return UINT32_MAX;                                                 \
        for (uint32_t i = old; i < old + delta; i++)                           \
            d[i] = init;                                                       \
        t->data = d;                                                           \
        t->size = old + delta;                                                 \
        return old;                                                            \
    }

DEFINE_TABLE_OPS(funcref, wasm_rt_funcref_t, wasm_rt_funcref_null_value)
DEFINE_TABLE_OPS(externref, wasm_rt_externref_t, wasm_rt_externref_null_value)
