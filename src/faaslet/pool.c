/* SPDX-License-Identifier: Apache-2.0 */
/* Warm pool of Faaslets (see pool.h): a LIFO stack of idle Faaslets, so the
 * most recently used (cache-hot) one is reused first, and the oldest are
 * evicted first. */
#include "faaslet/pool.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"

struct idle
{
    gr_faaslet* f;
    uint64_t since;
};

struct gr_pool
{
    gr_proto* proto;
    size_t max_idle;
    uint64_t idle_ns;
    pthread_mutex_t lock;
    struct idle* idle; /* [0, n_idle): oldest first */
    size_t n_idle;
    gr_pool_stats st;
};

static uint64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
gr_pool_create(gr_proto* p, const gr_pool_config* cfg, gr_pool** out)
{
    gr_pool* pool = gr_calloc(1, sizeof *pool);
    if (!pool)
        return -ENOMEM;
    pool->max_idle = cfg && cfg->max_idle ? cfg->max_idle : 64;
    pool->idle_ns = cfg && cfg->idle_ns ? cfg->idle_ns : 60000000000ull;
    pool->idle = gr_calloc(pool->max_idle, sizeof *pool->idle);
    if (!pool->idle) {
        gr_free(pool);
        return -ENOMEM;
    }
    pool->proto = gr_proto_ref(p);
    pthread_mutex_init(&pool->lock, NULL);
    *out = pool;
    return 0;
}

void
gr_pool_destroy(gr_pool* pool)
{
    if (!pool)
        return;
    for (size_t i = 0; i < pool->n_idle; i++)
        gr_faaslet_destroy(pool->idle[i].f);
    pthread_mutex_destroy(&pool->lock);
    gr_proto_unref(pool->proto);
    gr_free(pool->idle);
    gr_free(pool);
}

int
gr_pool_acquire(gr_pool* pool, gr_faaslet** out, int* cold)
{
    pthread_mutex_lock(&pool->lock);
    if (pool->n_idle) {
        *out = pool->idle[--pool->n_idle].f;
        pool->st.warm++;
        pool->st.busy++;
        pthread_mutex_unlock(&pool->lock);
        if (cold)
            *cold = 0;
        return 0;
    }
    pool->st.cold++;
    pool->st.busy++;
    pthread_mutex_unlock(&pool->lock);
    if (cold)
        *cold = 1;
    int rc = gr_faaslet_create(pool->proto, out);
    if (rc) {
        pthread_mutex_lock(&pool->lock);
        pool->st.busy--;
        pthread_mutex_unlock(&pool->lock);
    }
    return rc;
}

void
gr_pool_release(gr_pool* pool, gr_faaslet* f, int broken)
{
    pthread_mutex_lock(&pool->lock);
    pool->st.busy--;
    if (!broken && pool->n_idle < pool->max_idle) {
        pool->idle[pool->n_idle++] = (struct idle){ f, mono_ns() };
        f = NULL;
    }
    pthread_mutex_unlock(&pool->lock);
    gr_faaslet_destroy(f);
}

size_t
gr_pool_evict_idle(gr_pool* pool, uint64_t now_ns)
{
    gr_faaslet* victims[64];
    size_t total = 0;
    for (;;) {
        size_t n = 0;
        pthread_mutex_lock(&pool->lock);
        while (n < 64 && n < pool->n_idle &&
               pool->idle[n].since + pool->idle_ns <= now_ns) {
            victims[n] = pool->idle[n].f;
            n++;
        }
        memmove(
          pool->idle, pool->idle + n, (pool->n_idle - n) * sizeof *pool->idle);
        pool->n_idle -= n;
        pool->st.evicted += n;
        pthread_mutex_unlock(&pool->lock);
        for (size_t i = 0; i < n; i++)
            gr_faaslet_destroy(victims[i]);
        total += n;
        if (n < 64)
            return total;
    }
}

void
gr_pool_get_stats(gr_pool* pool, gr_pool_stats* st)
{
    pthread_mutex_lock(&pool->lock);
    *st = pool->st;
    st->idle = pool->n_idle;
    pthread_mutex_unlock(&pool->lock);
}
