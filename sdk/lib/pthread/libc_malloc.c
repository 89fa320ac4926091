/* SPDX-License-Identifier: Apache-2.0 */
/* The allocator made safe for threads: wasi-libc's dlmalloc (non-threaded
 * build) behind one lock. granary-cc -pthread links with
 * -Wl,--wrap=<name> for each function here (wrap.list), so every call,
 * libc's own included, goes through these. */
#include <stddef.h>

#include "pthread_int.h"

static _Atomic int lock;

void* __real_malloc(size_t);
void __real_free(void*);
void* __real_calloc(size_t, size_t);
void* __real_realloc(void*, size_t);
int __real_posix_memalign(void**, size_t, size_t);
void* __real_aligned_alloc(size_t, size_t);
size_t __real_malloc_usable_size(void*);
void* __real___libc_malloc(size_t);
void __real___libc_free(void*);
void* __real___libc_calloc(size_t, size_t);

void* __wrap_malloc(size_t);
void __wrap_free(void*);
void* __wrap_calloc(size_t, size_t);
void* __wrap_realloc(void*, size_t);
int __wrap_posix_memalign(void**, size_t, size_t);
void* __wrap_aligned_alloc(size_t, size_t);
size_t __wrap_malloc_usable_size(void*);
void* __wrap___libc_malloc(size_t);
void __wrap___libc_free(void*);
void* __wrap___libc_calloc(size_t, size_t);

#define LOCKED(type, call)                                                     \
    do {                                                                       \
        gr__pt_lock(&lock);                                                    \
        type r_ = call;                                                        \
        gr__pt_unlock(&lock);                                                  \
        return r_;                                                             \
    } while (0)

void*
__wrap_malloc(size_t n)
{
    LOCKED(void*, __real_malloc(n));
}

void
__wrap_free(void* p)
{
    if (!p)
        return;
    gr__pt_lock(&lock);
    __real_free(p);
    gr__pt_unlock(&lock);
}

void*
__wrap_calloc(size_t n, size_t m)
{
    LOCKED(void*, __real_calloc(n, m));
}

void*
__wrap_realloc(void* p, size_t n)
{
    LOCKED(void*, __real_realloc(p, n));
}

int
__wrap_posix_memalign(void** p, size_t a, size_t n)
{
    LOCKED(int, __real_posix_memalign(p, a, n));
}

void*
__wrap_aligned_alloc(size_t a, size_t n)
{
    LOCKED(void*, __real_aligned_alloc(a, n));
}

size_t
__wrap_malloc_usable_size(void* p)
{
    LOCKED(size_t, __real_malloc_usable_size(p));
}

void*
__wrap___libc_malloc(size_t n)
{
    LOCKED(void*, __real___libc_malloc(n));
}

void
__wrap___libc_free(void* p)
{
    if (!p)
        return;
    gr__pt_lock(&lock);
    __real___libc_free(p);
    gr__pt_unlock(&lock);
}

void*
__wrap___libc_calloc(size_t n, size_t m)
{
    LOCKED(void*, __real___libc_calloc(n, m));
}
