/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/state: the global-tier interface (a vtable with two
 * implementations, Redis and embedded, so one behavioural test suite runs
 * against both) and a small string-keyed hash table. */
#ifndef GR_STATE_STATE_INT_H
#define GR_STATE_STATE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "state/state.h"

typedef struct gr_global gr_global;

/* Names passed to the global tier are full, namespaced names:
 * "granary:<user>:<key>" (user names contain no ':'). Every operation is
 * thread-safe and returns 0 or a negative errno (see state.h). */
struct gr_global_ops
{
    const char* kind;
    /* Length of the value; -ENOENT if missing. */
    int (*size)(gr_global* g, const char* name, size_t nlen, size_t* len);
    /* Copies [off, off+len) (clamped to the value's end; len SIZE_MAX = to
     * the end) into dst[0..cap). *total = the value's length. If the range
     * does not fit in cap, returns -ENOBUFS with *total set. */
    int (*get)(gr_global* g,
               const char* name,
               size_t nlen,
               size_t off,
               size_t len,
               void* dst,
               size_t cap,
               size_t* got,
               size_t* total);
    /* Replaces the whole value atomically. */
    int (*set)(gr_global* g,
               const char* name,
               size_t nlen,
               const void* data,
               size_t len);
    /* Writes [off, off+len) (zero-padding a shorter value). */
    int (*set_range)(gr_global* g,
                     const char* name,
                     size_t nlen,
                     size_t off,
                     const void* data,
                     size_t len);
    int (*append)(gr_global* g,
                  const char* name,
                  size_t nlen,
                  const void* data,
                  size_t len,
                  size_t* total);
    /* -ENOENT if missing. */
    int (*del)(gr_global* g, const char* name, size_t nlen);
    /* Takes the lock `name` for token if free or expired: 0 or -EBUSY. */
    int (*lock)(gr_global* g,
                const char* name,
                size_t nlen,
                const char* token,
                uint32_t ttl_ms);
    /* Releases it if token holds it: 0, or -EPERM. */
    int (*unlock)(gr_global* g,
                  const char* name,
                  size_t nlen,
                  const char* token);
    void (*destroy)(gr_global* g);
};

struct gr_global
{
    const struct gr_global_ops* ops;
};

/* path: the SQLite database holding the values (created if missing);
 * NULL = a private in-memory database (lost at exit). */
int gr__state_global_embedded(const char* path,
                              gr_global** out,
                              char* err,
                              size_t errlen);
/* addr: "host:port" or "redis://host[:port]". chunk: the largest piece
 * sent in one command (bigger whole values go through a temporary key). */
int gr__state_global_redis(const char* addr,
                           uint32_t timeout_ms,
                           size_t chunk,
                           gr_global** out,
                           char* err,
                           size_t errlen);

/* ---- hash table: byte-string names → pointers ---------------------------
 * Not thread-safe; callers lock. Names are copied. */
struct gr__state_entry
{
    struct gr__state_entry* next;
    uint64_t hash;
    size_t nlen;
    void* value;
    char name[]; /* nlen bytes + NUL */
};

typedef struct gr__state_map
{
    struct gr__state_entry** buckets;
    size_t n_buckets, n;
} gr__state_map;

void* gr__state_map_get(const gr__state_map* m, const char* name, size_t nlen);
/* Inserts or replaces; returns 0 or -ENOMEM. */
int gr__state_map_put(gr__state_map* m,
                      const char* name,
                      size_t nlen,
                      void* value);
/* Removes and returns the value (NULL if absent). */
void* gr__state_map_take(gr__state_map* m, const char* name, size_t nlen);
/* Calls fn on every value and frees the table. */
void gr__state_map_fini(gr__state_map* m, void (*fn)(void* value));

#endif
