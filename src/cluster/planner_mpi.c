/* SPDX-License-Identifier: Apache-2.0 */
/* MPI apps on the planner: a world's ranks placed on the workers' free
 * slots (all or nothing, before anything starts), one Invoke per host
 * carrying that host's part and the whole placement, the parts' outcomes
 * merged into the app's record. A part whose host dies (or that fails
 * before its world could tell the others) ends the app on every other
 * host at once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <granary/status.h>

#include "cluster/planner_int.h"
#include "mpi/mpi.h"
#include "util/alloc.h"
#include "util/log.h"

struct gr__planner_app
{
    uint64_t id; /* the app's call id */
    char user[GR_SCHED_NAME_MAX + 1];
    char fn[GR_SCHED_NAME_MAX + 1];
    int np, nhosts;
    int* rank_host;
    char (*ids)[64];
    char (*addrs)[80];
    uint32_t* counts;
    gr_call_info* results;
    int* done;
    int* lost;
    char (*why)[160];
    int ndone, aborted, started;
    struct gr__planner_app* next;
};

static void
app_free(struct gr__planner_app* a)
{
    if (!a)
        return;
    for (int k = 0; a->results && k < a->nhosts; k++)
        gr__cluster_info_fini(&a->results[k]);
    gr_free(a->rank_host);
    gr_free(a->ids);
    gr_free(a->addrs);
    gr_free(a->counts);
    gr_free(a->results);
    gr_free(a->done);
    gr_free(a->lost);
    gr_free(a->why);
    gr_free(a);
}

/* "ip:port" of a host's MPI listener: its connection's address, its port */
static void
mpi_addr(const struct host* h, char* buf, size_t len)
{
    char ip[64];
    snprintf(ip, sizeof ip, "%s", h->addr);
    char* colon = strrchr(ip, ':');
    if (colon)
        *colon = '\0';
    snprintf(buf, len, "%s:%u", ip, h->mpi_port);
}

static int
by_order(const void* a, const void* b)
{
    const struct host* x = *(struct host* const*)a;
    const struct host* y = *(struct host* const*)b;
    return x->order < y->order ? -1 : x->order > y->order;
}

int
gr__planner_mpi_place(void* ctx,
                      const char* user,
                      const char* fn,
                      int np,
                      int spread,
                      void** plan)
{
    gr_planner* p = ctx;
    gr_cluster_view v[MAX_HOSTS];
    struct host* map[MAX_HOSTS];
    int counts[MAX_HOSTS];
    size_t n = 0;
    *plan = NULL;
    struct gr__planner_app* a = gr_calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    pthread_mutex_lock(&p->lock);
    if (p->stopping) {
        pthread_mutex_unlock(&p->lock);
        gr_free(a);
        return -ESHUTDOWN;
    }
    for (size_t i = 0; i < p->nhosts; i++) {
        struct host* h = p->hosts[i];
        if (h->down || !h->mpi_port)
            continue;
        map[n++] = h;
    }
    qsort(map, n, sizeof *map, by_order);
    uint32_t free_total = 0;
    for (size_t i = 0; i < n; i++) {
        v[i] = (gr_cluster_view){ .id = map[i]->id,
                                  .slots = map[i]->slots,
                                  .used = map[i]->inflight,
                                  .order = map[i]->order };
        if (v[i].used < v[i].slots)
            free_total += v[i].slots - v[i].used;
    }
    int rc = gr_cluster_mpi_place(v, n, np, spread, counts);
    if (rc) {
        pthread_mutex_unlock(&p->lock);
        GR_INFO("planner: refusing %s/%s with %d ranks: %u free slots on "
                "%zu host(s)",
                user,
                fn,
                np,
                free_total,
                n);
        gr_free(a);
        return rc;
    }
    int nh = 0;
    for (size_t i = 0; i < n; i++)
        nh += counts[i] > 0;
    a->np = np;
    a->nhosts = nh;
    a->rank_host = gr_calloc((size_t)np, sizeof *a->rank_host);
    a->ids = gr_calloc((size_t)nh, sizeof *a->ids);
    a->addrs = gr_calloc((size_t)nh, sizeof *a->addrs);
    a->counts = gr_calloc((size_t)nh, sizeof *a->counts);
    a->results = gr_calloc((size_t)nh, sizeof *a->results);
    a->done = gr_calloc((size_t)nh, sizeof *a->done);
    a->lost = gr_calloc((size_t)nh, sizeof *a->lost);
    a->why = gr_calloc((size_t)nh, sizeof *a->why);
    if (!a->rank_host || !a->ids || !a->addrs || !a->counts || !a->results ||
        !a->done || !a->lost || !a->why) {
        pthread_mutex_unlock(&p->lock);
        app_free(a);
        return -ENOMEM;
    }
    /* consecutive ranks share a host, hosts in join order */
    int k = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        if (!counts[i])
            continue;
        struct host* h = map[i];
        snprintf(a->ids[k], sizeof a->ids[k], "%s", h->id);
        mpi_addr(h, a->addrs[k], sizeof a->addrs[k]);
        a->counts[k] = (uint32_t)counts[i];
        for (int j = 0; j < counts[i]; j++)
            a->rank_host[r++] = k;
        h->inflight += (uint32_t)counts[i]; /* reserved */
        h->placed += (uint64_t)counts[i];
        k++;
    }
    pthread_mutex_unlock(&p->lock);
    *plan = a;
    return 0;
}

void
gr__planner_mpi_cancel(void* ctx, void* plan)
{
    gr_planner* p = ctx;
    struct gr__planner_app* a = plan;
    pthread_mutex_lock(&p->lock);
    for (int k = 0; k < a->nhosts; k++)
        for (size_t i = 0; i < p->nhosts; i++)
            if (!strcmp(p->hosts[i]->id, a->ids[k])) {
                struct host* h = p->hosts[i];
                h->inflight =
                  h->inflight > a->counts[k] ? h->inflight - a->counts[k] : 0;
            }
    pthread_mutex_unlock(&p->lock);
    app_free(a);
}

static int
send_part(gr_planner* p,
          gr_peer* peer,
          const struct gr__planner_app* a,
          int k,
          const gr_remote_call* d)
{
    uint32_t* rh = gr_calloc((size_t)a->np, sizeof *rh);
    char** addrs = gr_calloc((size_t)a->nhosts, sizeof *addrs);
    char** names = gr_calloc((size_t)a->nhosts, sizeof *names);
    int rc = -ENOMEM;
    if (rh && addrs && names) {
        for (int i = 0; i < a->np; i++)
            rh[i] = (uint32_t)a->rank_host[i];
        for (int h = 0; h < a->nhosts; h++) {
            addrs[h] = (char*)a->addrs[h];
            names[h] = (char*)a->ids[h];
        }
        Granary__MpiWorld mw = GRANARY__MPI_WORLD__INIT;
        mw.app = a->id;
        mw.self = (uint32_t)k;
        mw.n_rank_host = (size_t)a->np;
        mw.rank_host = rh;
        mw.n_addrs = (size_t)a->nhosts;
        mw.addrs = addrs;
        mw.n_names = (size_t)a->nhosts;
        mw.names = names;
        Granary__Invoke inv = GRANARY__INVOKE__INIT;
        inv.call_id = a->id + (uint64_t)k + 1;
        inv.user = (char*)d->user;
        inv.fn = (char*)d->fn;
        inv.wasm_hash = (char*)d->hash;
        inv.input.data = (uint8_t*)d->input;
        inv.input.len = d->input_len;
        inv.timeout_ns = d->timeout_ns;
        inv.origin_host = p->id;
        inv.np = (uint32_t)a->np;
        inv.mpi = &mw;
        Granary__Envelope env = GRANARY__ENVELOPE__INIT;
        env.body_case = GRANARY__ENVELOPE__BODY_INVOKE;
        env.invoke = &inv;
        rc = gr_peer_send(peer, &env);
    }
    gr_free(rh);
    gr_free(addrs);
    gr_free(names);
    return rc;
}

int
gr__planner_mpi_start(void* ctx, void* plan, const gr_remote_call* d)
{
    gr_planner* p = ctx;
    struct gr__planner_app* a = plan;
    a->id = d->id;
    snprintf(a->user, sizeof a->user, "%s", d->user);
    snprintf(a->fn, sizeof a->fn, "%s", d->fn);
    uint64_t t = d->timeout_ns ? d->timeout_ns : p->cfg.default_timeout_ns;
    uint64_t deadline = gr_time_now_ns() + t + p->cfg.grace_ns;
    gr_peer* peers[MAX_HOSTS] = { 0 };
    struct flight* gone[MAX_HOSTS] = { 0 };
    pthread_mutex_lock(&p->lock);
    a->started = 1;
    a->next = p->apps;
    p->apps = a;
    for (int k = 0; k < a->nhosts; k++) {
        struct flight* f = gr_calloc(1, sizeof *f);
        struct host* h = NULL;
        for (size_t i = 0; i < p->nhosts; i++)
            if (!strcmp(p->hosts[i]->id, a->ids[k]))
                h = p->hosts[i];
        if (f) {
            f->id = a->id + (uint64_t)k + 1;
            snprintf(f->host_id, sizeof f->host_id, "%s", a->ids[k]);
            snprintf(f->user, sizeof f->user, "%s", d->user);
            snprintf(f->fn, sizeof f->fn, "%s", d->fn);
            f->deadline_ns = deadline;
            f->weight = a->counts[k];
            f->app = a;
            f->part = k;
        }
        if (f && h && !h->down) {
            f->host = h;
            gr__planner_flight_add(p, f);
            peers[k] = h->peer;
            gr_peer_ref(h->peer);
        } else {
            gone[k] = f; /* lost before it started */
        }
    }
    pthread_mutex_unlock(&p->lock);
    for (int k = 0; k < a->nhosts; k++) {
        if (!peers[k])
            continue;
        int rc = send_part(p, peers[k], a, k, d);
        gr_peer_unref(peers[k]);
        if (rc) {
            GR_WARN("planner: cannot send part %d of %016llx to %s: %s",
                    k,
                    (unsigned long long)a->id,
                    a->ids[k],
                    gr_net_strerror(rc));
            pthread_mutex_lock(&p->lock);
            struct flight* f =
              gr__planner_flight_take(p, a->id + (uint64_t)k + 1);
            if (f && f->host)
                f->host->inflight = f->host->inflight > f->weight
                                      ? f->host->inflight - f->weight
                                      : 0;
            pthread_mutex_unlock(&p->lock);
            gone[k] = f;
        }
    }
    GR_INFO("planner: MPI app %016llx %s/%s: %d ranks on %d host(s)",
            (unsigned long long)a->id,
            d->user,
            d->fn,
            a->np,
            a->nhosts);
    for (int k = 0; k < a->nhosts; k++) {
        if (!gone[k] && peers[k])
            continue;
        struct flight tmp = { .app = a, .part = k };
        snprintf(tmp.host_id, sizeof tmp.host_id, "%s", a->ids[k]);
        gr_call_info ci;
        gr__cluster_info_failed(&ci, -EHOSTDOWN, a->ids[k]);
        gr__planner_mpi_part_done(p, &tmp, &ci, 1, "it could not be reached");
        gr_free(gone[k]);
    }
    return 0;
}

void
gr__planner_mpi_ranks(const struct flight* f, char* buf, size_t len)
{
    const struct gr__planner_app* a = f->app;
    char r[40];
    gr__cluster_mpi_ranks_text(a->rank_host, a->np, f->part, r, sizeof r);
    snprintf(buf, len, "%s of %d", r, a->np);
}

static int
dup_info(const gr_call_info* ci, gr_call_info* out)
{
    *out = *ci;
    out->output = NULL;
    out->out = out->err = NULL;
    if (ci->output_len && !(out->output = gr_malloc(ci->output_len)))
        return -ENOMEM;
    if (ci->output_len)
        memcpy(out->output, ci->output, ci->output_len);
    out->out = gr_strdup(ci->out ? ci->out : "");
    out->err = gr_strdup(ci->err ? ci->err : "");
    return out->out && out->err ? 0 : -ENOMEM;
}

void
gr__planner_mpi_part_done(gr_planner* p,
                          struct flight* f,
                          const gr_call_info* ci,
                          int lost,
                          const char* why)
{
    struct gr__planner_app* a = f->app;
    int k = f->part;
    gr_peer* others[MAX_HOSTS];
    int nothers = 0;
    char msg[160] = "";
    int first_rank = 0;
    pthread_mutex_lock(&p->lock);
    if (a->done[k]) {
        pthread_mutex_unlock(&p->lock);
        return;
    }
    a->done[k] = 1;
    a->lost[k] = lost;
    if (dup_info(ci, &a->results[k]))
        a->lost[k] = 1;
    char ranks[40];
    gr__cluster_mpi_ranks_text(a->rank_host, a->np, k, ranks, sizeof ranks);
    for (int i = 0; i < a->np; i++)
        if (a->rank_host[i] == k) {
            first_rank = i;
            break;
        }
    const char* pl = strpbrk(ranks, "-,") ? "s" : "";
    if (lost && ci->status == GR_ETIMEOUT)
        snprintf(msg,
                 sizeof msg,
                 "host %s (rank%s %s) gave no result by the deadline",
                 a->ids[k],
                 pl,
                 ranks);
    else if (lost)
        snprintf(msg,
                 sizeof msg,
                 "host %s (rank%s %s) is down%s%s",
                 a->ids[k],
                 pl,
                 ranks,
                 strncmp(why, "host ", 5) ? ": " : "",
                 strncmp(why, "host ", 5) ? why : "");
    else if (ci->state == GR_CALL_FAILED && !ci->output_len)
        snprintf(msg,
                 sizeof msg,
                 "host %s (ranks %s) could not run its part: %s",
                 a->ids[k],
                 ranks,
                 gr_strerror(ci->status));
    snprintf(a->why[k], sizeof a->why[k], "%s", msg);
    if (msg[0] && !a->aborted) {
        a->aborted = 1;
        for (int h = 0; h < a->nhosts; h++) {
            if (h == k || a->done[h])
                continue;
            for (size_t i = 0; i < p->nhosts; i++)
                if (!strcmp(p->hosts[i]->id, a->ids[h]) && !p->hosts[i]->down) {
                    others[nothers] = p->hosts[i]->peer;
                    gr_peer_ref(others[nothers++]);
                }
        }
    }
    int finished = ++a->ndone == a->nhosts;
    if (finished)
        for (struct gr__planner_app** ap = &p->apps; *ap; ap = &(*ap)->next)
            if (*ap == a) {
                *ap = a->next;
                break;
            }
    pthread_mutex_unlock(&p->lock);

    if (msg[0])
        GR_WARN("planner: MPI app %016llx: %s", (unsigned long long)a->id, msg);
    /* the other hosts end their ranks now (their worlds may not hear of
     * it otherwise until their connections time out) */
    for (int i = 0; i < nothers; i++) {
        Granary__MpiMsg m = GRANARY__MPI_MSG__INIT;
        m.app = a->id;
        m.kind = GRANARY__MPI_KIND__MPI_KIND_FAIL;
        m.fail_kind = lost ? GR_MPI_FAIL_HOST : GR_MPI_FAIL_ERROR;
        m.src = first_rank;
        m.code = k;
        m.what = msg;
        Granary__Envelope env = GRANARY__ENVELOPE__INIT;
        env.body_case = GRANARY__ENVELOPE__BODY_MPI;
        env.mpi = &m;
        gr_peer_send(others[i], &env);
        gr_peer_unref(others[i]);
    }
    if (!finished)
        return;
    gr__cluster_mpi_part* parts = gr_calloc((size_t)a->nhosts, sizeof *parts);
    gr_call_info merged;
    if (!parts) {
        gr__cluster_info_failed(&merged, -ENOMEM, "planner");
    } else {
        for (int h = 0; h < a->nhosts; h++) {
            snprintf(parts[h].host, sizeof parts[h].host, "%s", a->ids[h]);
            parts[h].lost = a->lost[h];
            snprintf(parts[h].why, sizeof parts[h].why, "%s", a->why[h]);
            parts[h].ci = &a->results[h];
        }
        gr__cluster_mpi_merge(a->np, a->rank_host, parts, a->nhosts, &merged);
        gr_free(parts);
    }
    snprintf(merged.host, sizeof merged.host, "%s", a->ids[0]);
    gr_sched_remote_done(p->sched, a->id, &merged);
    gr__cluster_info_fini(&merged);
    app_free(a);
}
