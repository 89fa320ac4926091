/* SPDX-License-Identifier: Apache-2.0 */
/* Heap wrapper with failure injection (see alloc.h). */
#include "util/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_countdown;
static atomic_long alloc_count;

static int
should_fail(void)
{
    long n = atomic_load(&fail_countdown);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &n, n - 1))
            return n == 1;
    }
    return 0;
}

void*
gr_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    void* p = malloc(n ? n : 1);
    if (p)
        atomic_fetch_add(&alloc_count, 1);
    return p;
}

void*
gr_calloc(size_t count, size_t n)
{
    if (should_fail())
        return NULL;
    void* p = calloc(count ? count : 1, n ? n : 1);
    if (p)
        atomic_fetch_add(&alloc_count, 1);
    return p;
}

void*
gr_realloc(void* p, size_t n)
{
    if (should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

char*
gr_strndup(const char* s, size_t n)
{
    size_t len = strnlen(s, n);
    char* d = gr_malloc(len + 1);
    if (!d)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char*
gr_strdup(const char* s)
{
    return gr_strndup(s, strlen(s));
}

void
gr_free(void* p)
{
    free(p);
}

void
gr_alloc_fail_after(long n)
{
    atomic_store(&fail_countdown, n);
}

long
gr_alloc_count(void)
{
    return atomic_load(&alloc_count);
}
