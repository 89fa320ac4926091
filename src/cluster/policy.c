/* SPDX-License-Identifier: Apache-2.0 */
/* Placement policies of the planner (docs/cluster.md, "Placement"). Each
 * is a pure function over a snapshot of the live hosts; adding one means
 * adding a row to gr_cluster_policies. */
#include <string.h>

#include "cluster/cluster.h"

static int
has_free(const gr_cluster_view* h)
{
    return h->used < h->slots;
}

/* Fill hosts in the order they joined, one before the next: locality for
 * an app's granules and whole hosts left free for big jobs. Among hosts
 * with a free slot: the app's host first, then a host with a warm
 * Faaslet, then the earliest joined. When every host is full, the least
 * loaded (relative to its slots) takes the call and queues it. */
static size_t
binpack(const gr_cluster_view* v, size_t n)
{
    size_t best = n;
    for (size_t i = 0; i < n; i++) {
        if (!has_free(&v[i]))
            continue;
        if (best == n) {
            best = i;
            continue;
        }
        const gr_cluster_view *a = &v[i], *b = &v[best];
        if (a->near != b->near) {
            if (a->near)
                best = i;
            continue;
        }
        if ((a->warm_idle > 0) != (b->warm_idle > 0)) {
            if (a->warm_idle > 0)
                best = i;
            continue;
        }
        if (a->order < b->order)
            best = i;
    }
    if (best < n)
        return best;
    best = 0;
    for (size_t i = 1; i < n; i++) {
        /* used/slots < best.used/best.slots, without division */
        uint64_t l = (uint64_t)v[i].used * (v[best].slots ? v[best].slots : 1);
        uint64_t r = (uint64_t)v[best].used * (v[i].slots ? v[i].slots : 1);
        if (l < r || (l == r && v[i].order < v[best].order))
            best = i;
    }
    return best;
}

/* Most free slots first (ties: warm, then earliest joined): spreads load
 * evenly, at the cost of locality. */
static size_t
spread(const gr_cluster_view* v, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++) {
        int64_t fa = (int64_t)v[i].slots - v[i].used;
        int64_t fb = (int64_t)v[best].slots - v[best].used;
        if (fa != fb) {
            if (fa > fb)
                best = i;
            continue;
        }
        if ((v[i].warm_idle > 0) != (v[best].warm_idle > 0)) {
            if (v[i].warm_idle > 0)
                best = i;
            continue;
        }
        if (v[i].order < v[best].order)
            best = i;
    }
    return best;
}

static const gr_cluster_policy binpack_policy = {
    .name = "binpack",
    .summary = "fill one host before the next; keep an app together; "
               "prefer warm Faaslets",
    .choose = binpack,
};

static const gr_cluster_policy spread_policy = {
    .name = "spread",
    .summary = "the host with the most free slots; prefer warm Faaslets",
    .choose = spread,
};

const gr_cluster_policy* const gr_cluster_policies[] = {
    &binpack_policy,
    &spread_policy,
    NULL,
};

const gr_cluster_policy*
gr_cluster_policy_find(const char* name)
{
    for (size_t i = 0; gr_cluster_policies[i]; i++)
        if (strcmp(gr_cluster_policies[i]->name, name) == 0)
            return gr_cluster_policies[i];
    return NULL;
}
