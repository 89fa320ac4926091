/* SPDX-License-Identifier: Apache-2.0 */
/* A warm pool of Faaslets for one function: acquire takes an idle (warm)
 * Faaslet or restores a new one from the Proto-Faaslet (cold); release
 * returns it, bounded by max_idle; idle ones are evicted after idle_ns. */
#ifndef GR_FAASLET_POOL_H
#define GR_FAASLET_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "faaslet/faaslet.h"

typedef struct gr_pool gr_pool;

typedef struct gr_pool_config
{
    size_t max_idle;  /* idle Faaslets kept; 0 = 64 */
    uint64_t idle_ns; /* evict after this long idle; 0 = 60 s */
} gr_pool_config;

typedef struct gr_pool_stats
{
    size_t idle;      /* warm Faaslets waiting */
    size_t busy;      /* acquired and not yet released */
    uint64_t warm;    /* acquires served warm */
    uint64_t cold;    /* acquires that restored a new Faaslet */
    uint64_t evicted; /* idle Faaslets destroyed */
} gr_pool_stats;

/* The pool holds a reference to p. Thread-safe. cfg may be NULL. */
int gr_pool_create(gr_proto* p, const gr_pool_config* cfg, gr_pool** out);
/* Destroys idle Faaslets; busy ones must have been released first. */
void gr_pool_destroy(gr_pool* pool);

/* Takes a Faaslet (*cold set to 1 when it was restored just now, may be
 * NULL). Returns 0 or -errno. */
int gr_pool_acquire(gr_pool* pool, gr_faaslet** out, int* cold);

/* Returns a Faaslet after a successful call (it is already reset). If
 * broken is non-zero (the call or reset failed) it is destroyed instead. */
void gr_pool_release(gr_pool* pool, gr_faaslet* f, int broken);

/* Destroys Faaslets idle since before now_ns - idle_ns; returns how many. */
size_t gr_pool_evict_idle(gr_pool* pool, uint64_t now_ns);

void gr_pool_get_stats(gr_pool* pool, gr_pool_stats* st);

#endif
