/* SPDX-License-Identifier: Apache-2.0 */
/* A small chained hash table keyed by byte strings (state_int.h), shared by
 * the local key table and the embedded global tier. */
#include <errno.h>
#include <string.h>

#include "state/state_int.h"
#include "util/alloc.h"

static uint64_t
fnv1a(const char* s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static struct gr__state_entry**
slot(const gr__state_map* m, const char* name, size_t nlen, uint64_t h)
{
    struct gr__state_entry** e = &m->buckets[h & (m->n_buckets - 1)];
    while (*e && !((*e)->hash == h && (*e)->nlen == nlen &&
                   memcmp((*e)->name, name, nlen) == 0))
        e = &(*e)->next;
    return e;
}

void*
gr__state_map_get(const gr__state_map* m, const char* name, size_t nlen)
{
    if (!m->n_buckets)
        return NULL;
    struct gr__state_entry* e = *slot(m, name, nlen, fnv1a(name, nlen));
    return e ? e->value : NULL;
}

static int
grow(gr__state_map* m)
{
    size_t nb = m->n_buckets ? m->n_buckets * 2 : 16;
    struct gr__state_entry** b = gr_calloc(nb, sizeof *b);
    if (!b)
        return -ENOMEM;
    for (size_t i = 0; i < m->n_buckets; i++) {
        struct gr__state_entry* e = m->buckets[i];
        while (e) {
            struct gr__state_entry* next = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
            e = next;
        }
    }
    gr_free(m->buckets);
    m->buckets = b;
    m->n_buckets = nb;
    return 0;
}

int
gr__state_map_put(gr__state_map* m, const char* name, size_t nlen, void* value)
{
    if (m->n >= m->n_buckets && grow(m) < 0)
        return -ENOMEM;
    uint64_t h = fnv1a(name, nlen);
    struct gr__state_entry** e = slot(m, name, nlen, h);
    if (*e) {
        (*e)->value = value;
        return 0;
    }
    struct gr__state_entry* n = gr_malloc(sizeof *n + nlen + 1);
    if (!n)
        return -ENOMEM;
    *n = (struct gr__state_entry){ .hash = h, .nlen = nlen, .value = value };
    memcpy(n->name, name, nlen);
    n->name[nlen] = '\0';
    *e = n;
    m->n++;
    return 0;
}

void*
gr__state_map_take(gr__state_map* m, const char* name, size_t nlen)
{
    if (!m->n_buckets)
        return NULL;
    struct gr__state_entry** e = slot(m, name, nlen, fnv1a(name, nlen));
    if (!*e)
        return NULL;
    struct gr__state_entry* dead = *e;
    void* v = dead->value;
    *e = dead->next;
    gr_free(dead);
    m->n--;
    return v;
}

void
gr__state_map_fini(gr__state_map* m, void (*fn)(void* value))
{
    for (size_t i = 0; i < m->n_buckets; i++) {
        struct gr__state_entry* e = m->buckets[i];
        while (e) {
            struct gr__state_entry* next = e->next;
            if (fn)
                fn(e->value);
            gr_free(e);
            e = next;
        }
    }
    gr_free(m->buckets);
    *m = (gr__state_map){ 0 };
}
