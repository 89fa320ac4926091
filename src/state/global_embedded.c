/* SPDX-License-Identifier: Apache-2.0 */
/* The embedded global tier: an in-process table of values and a lock table
 * with expiry, behind the same interface as Redis. Serves a single host
 * (the default of `granary serve`, where no Redis is configured). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "state/state_int.h"
#include "util/alloc.h"

struct value
{
    size_t len;
    uint8_t data[];
};

struct glock
{
    char token[33];
    uint64_t expires_ns;
};

struct embedded
{
    gr_global base;
    pthread_mutex_t mu; /* guards both tables */
    gr__state_map values, locks;
};

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
e_size(gr_global* g, const char* name, size_t nlen, size_t* len)
{
    struct embedded* e = (struct embedded*)g;
    pthread_mutex_lock(&e->mu);
    struct value* v = gr__state_map_get(&e->values, name, nlen);
    if (v)
        *len = v->len;
    pthread_mutex_unlock(&e->mu);
    return v ? 0 : -ENOENT;
}

static int
e_get(gr_global* g,
      const char* name,
      size_t nlen,
      size_t off,
      size_t len,
      void* dst,
      size_t cap,
      size_t* got,
      size_t* total)
{
    struct embedded* e = (struct embedded*)g;
    int rc = 0;
    pthread_mutex_lock(&e->mu);
    struct value* v = gr__state_map_get(&e->values, name, nlen);
    if (!v) {
        rc = -ENOENT;
        goto out;
    }
    *total = v->len;
    size_t n = off >= v->len ? 0 : v->len - off;
    if (n > len)
        n = len;
    if (n > cap) {
        rc = -ENOBUFS;
        goto out;
    }
    if (n)
        memcpy(dst, v->data + off, n);
    *got = n;
out:
    pthread_mutex_unlock(&e->mu);
    return rc;
}

static int
e_set(gr_global* g, const char* name, size_t nlen, const void* data, size_t len)
{
    struct embedded* e = (struct embedded*)g;
    /* Built outside the lock and swapped in: readers see old or new. */
    struct value* v = gr_malloc(sizeof *v + len);
    if (!v)
        return -ENOMEM;
    v->len = len;
    if (len)
        memcpy(v->data, data, len);
    pthread_mutex_lock(&e->mu);
    struct value* old = gr__state_map_get(&e->values, name, nlen);
    int rc = gr__state_map_put(&e->values, name, nlen, v);
    pthread_mutex_unlock(&e->mu);
    if (rc < 0) {
        gr_free(v);
        return rc;
    }
    gr_free(old);
    return 0;
}

/* Makes the value at least `need` bytes (zero padded), under e->mu. */
static int
ensure_len(struct embedded* e,
           const char* name,
           size_t nlen,
           size_t need,
           struct value** out)
{
    struct value* v = gr__state_map_get(&e->values, name, nlen);
    if (v && v->len >= need) {
        *out = v;
        return 0;
    }
    size_t old = v ? v->len : 0;
    struct value* n = gr_realloc(v, sizeof *n + need);
    if (!n)
        return -ENOMEM;
    memset(n->data + old, 0, need - old);
    n->len = need;
    if (gr__state_map_put(&e->values, name, nlen, n) < 0) {
        /* the table still points at the old block unless it was moved */
        if (!v)
            gr_free(n);
        return -ENOMEM;
    }
    *out = n;
    return 0;
}

static int
e_set_range(gr_global* g,
            const char* name,
            size_t nlen,
            size_t off,
            const void* data,
            size_t len)
{
    struct embedded* e = (struct embedded*)g;
    struct value* v;
    pthread_mutex_lock(&e->mu);
    int rc = ensure_len(e, name, nlen, off + len, &v);
    if (!rc && len)
        memcpy(v->data + off, data, len);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

static int
e_append(gr_global* g,
         const char* name,
         size_t nlen,
         const void* data,
         size_t len,
         size_t* total)
{
    struct embedded* e = (struct embedded*)g;
    struct value* v;
    pthread_mutex_lock(&e->mu);
    struct value* cur = gr__state_map_get(&e->values, name, nlen);
    size_t off = cur ? cur->len : 0;
    int rc = ensure_len(e, name, nlen, off + len, &v);
    if (!rc) {
        if (len)
            memcpy(v->data + off, data, len);
        if (total)
            *total = v->len;
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}

static int
e_del(gr_global* g, const char* name, size_t nlen)
{
    struct embedded* e = (struct embedded*)g;
    pthread_mutex_lock(&e->mu);
    struct value* v = gr__state_map_take(&e->values, name, nlen);
    pthread_mutex_unlock(&e->mu);
    gr_free(v);
    return v ? 0 : -ENOENT;
}

static int
e_lock(gr_global* g,
       const char* name,
       size_t nlen,
       const char* token,
       uint32_t ttl_ms)
{
    struct embedded* e = (struct embedded*)g;
    uint64_t now = now_ns();
    int rc = 0;
    pthread_mutex_lock(&e->mu);
    struct glock* l = gr__state_map_get(&e->locks, name, nlen);
    if (l && l->expires_ns > now) {
        rc = -EBUSY;
        goto out;
    }
    if (!l) {
        l = gr_calloc(1, sizeof *l);
        if (!l || gr__state_map_put(&e->locks, name, nlen, l) < 0) {
            gr_free(l);
            rc = -ENOMEM;
            goto out;
        }
    }
    snprintf(l->token, sizeof l->token, "%s", token);
    l->expires_ns = now + (uint64_t)ttl_ms * 1000000u;
out:
    pthread_mutex_unlock(&e->mu);
    return rc;
}

static int
e_unlock(gr_global* g, const char* name, size_t nlen, const char* token)
{
    struct embedded* e = (struct embedded*)g;
    int rc = -EPERM;
    pthread_mutex_lock(&e->mu);
    struct glock* l = gr__state_map_get(&e->locks, name, nlen);
    if (l && l->expires_ns > now_ns() && strcmp(l->token, token) == 0) {
        gr_free(gr__state_map_take(&e->locks, name, nlen));
        rc = 0;
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}

static void
e_destroy(gr_global* g)
{
    struct embedded* e = (struct embedded*)g;
    if (!e)
        return;
    gr__state_map_fini(&e->values, gr_free);
    gr__state_map_fini(&e->locks, gr_free);
    pthread_mutex_destroy(&e->mu);
    gr_free(e);
}

static const struct gr_global_ops embedded_ops = {
    .kind = "embedded",
    .size = e_size,
    .get = e_get,
    .set = e_set,
    .set_range = e_set_range,
    .append = e_append,
    .del = e_del,
    .lock = e_lock,
    .unlock = e_unlock,
    .destroy = e_destroy,
};

int
gr__state_global_embedded(gr_global** out)
{
    struct embedded* e = gr_calloc(1, sizeof *e);
    if (!e)
        return -ENOMEM;
    e->base.ops = &embedded_ops;
    pthread_mutex_init(&e->mu, NULL);
    *out = &e->base;
    return 0;
}
