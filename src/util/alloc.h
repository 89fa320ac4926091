/* SPDX-License-Identifier: Apache-2.0 */
/* The one heap wrapper: every Granary allocation goes through here so tests
 * can count allocations and inject the Nth failure. Thread-safe. */
#ifndef GR_UTIL_ALLOC_H
#define GR_UTIL_ALLOC_H

#include <stddef.h>

/* Like malloc/calloc/realloc/strdup; return NULL on failure (real or
 * injected). gr_free(NULL) is a no-op. */
void* gr_malloc(size_t n);
void* gr_calloc(size_t count, size_t n);
void* gr_realloc(void* p, size_t n);
char* gr_strdup(const char* s);
char* gr_strndup(const char* s, size_t n);
void gr_free(void* p);

/* Test hook: make the Nth allocation from now fail (1 = the next one);
 * 0 disables injection. */
void gr_alloc_fail_after(long n);

/* Number of successful allocations made so far (for tests). */
long gr_alloc_count(void);

#endif
