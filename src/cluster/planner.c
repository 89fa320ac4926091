/* SPDX-License-Identifier: Apache-2.0 */
/* The planner: the registry of worker hosts (Hello, Heartbeat, Bye, and a
 * monitor that drops silent or disconnected hosts), placement through a
 * pluggable policy, remote execution of the planner scheduler's calls
 * (Invoke out, InvokeResult back, matched by call id), chained calls
 * coming from workers, and module bytes served by content hash. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <granary/status.h>

#include "cluster/cluster_int.h"
#include "cluster/planner_int.h"
#include "util/alloc.h"
#include "util/log.h"

/* The host a chained call comes from, set by the thread placing it, so
 * that the policy can keep an app's granules together. */
static _Thread_local const char* tl_near;

/* ---- hosts and flights (lock held) --------------------------------------- */

static struct host*
host_by_id(gr_planner* p, const char* id)
{
    for (size_t i = 0; i < p->nhosts; i++)
        if (strcmp(p->hosts[i]->id, id) == 0)
            return p->hosts[i];
    return NULL;
}

static struct host*
host_by_peer(gr_planner* p, gr_peer* peer)
{
    for (size_t i = 0; i < p->nhosts; i++)
        if (p->hosts[i]->peer == peer)
            return p->hosts[i];
    return NULL;
}

static void
host_unlink(gr_planner* p, struct host* h)
{
    for (size_t i = 0; i < p->nhosts; i++)
        if (p->hosts[i] == h) {
            p->hosts[i] = p->hosts[--p->nhosts];
            return;
        }
}

static void
host_free(struct host* h)
{
    if (!h)
        return;
    gr_peer_unref(h->peer);
    gr_free(h->warm);
    gr_free(h->tcall_id);
    gr_free(h->tcall_threads);
    gr_free(h);
}

/* The calls running thread granules on h, from its heartbeat (only a
 * hint: left empty when out of memory). */
static void
copy_threaded(struct host* h, const Granary__Heartbeat* hb)
{
    size_t n = hb->n_threaded;
    uint64_t* ids = n ? gr_calloc(n, sizeof *ids) : NULL;
    uint32_t* th = n ? gr_calloc(n, sizeof *th) : NULL;
    if (!ids || !th) {
        gr_free(ids);
        gr_free(th);
        ids = NULL;
        th = NULL;
        n = 0;
    }
    for (size_t i = 0; i < n; i++) {
        ids[i] = hb->threaded[i]->call_id;
        th[i] = hb->threaded[i]->threads;
    }
    gr_free(h->tcall_id);
    gr_free(h->tcall_threads);
    h->tcall_id = ids;
    h->tcall_threads = th;
    h->ntcalls = n;
}

static uint32_t
call_threads(const struct host* h, uint64_t id)
{
    for (size_t i = 0; i < h->ntcalls; i++)
        if (h->tcall_id[i] == id)
            return h->tcall_threads[i];
    return 0;
}

static struct flight**
flight_slot(gr_planner* p, uint64_t id)
{
    return &p->flights[id % FLIGHT_BUCKETS];
}

static struct flight*
flight_take(gr_planner* p, uint64_t id)
{
    for (struct flight** pp = flight_slot(p, id); *pp; pp = &(*pp)->next) {
        struct flight* f = *pp;
        if (f->id == id) {
            *pp = f->next;
            f->next = NULL;
            return f;
        }
    }
    return NULL;
}

void
gr__planner_flight_add(gr_planner* p, struct flight* f)
{
    struct flight** slot = flight_slot(p, f->id);
    f->next = *slot;
    *slot = f;
}

struct flight*
gr__planner_flight_take(gr_planner* p, uint64_t id)
{
    return flight_take(p, id);
}

/* The slots f held on its host are free again (lock held). */
static void
inflight_drop(struct host* h, const struct flight* f)
{
    uint32_t w = f->weight ? f->weight : 1;
    h->inflight = h->inflight > w ? h->inflight - w : 0;
}

/* Moves flights matching (host == h, or past deadline when h is NULL)
 * onto *out. */
static void
flights_take_if(gr_planner* p,
                struct host* h,
                uint64_t now,
                struct flight** out)
{
    for (size_t b = 0; b < FLIGHT_BUCKETS; b++) {
        struct flight** pp = &p->flights[b];
        while (*pp) {
            struct flight* f = *pp;
            int take = h ? f->host == h : now >= f->deadline_ns;
            if (!take) {
                pp = &f->next;
                continue;
            }
            *pp = f->next;
            if (!h)
                inflight_drop(f->host, f);
            f->next = *out;
            *out = f;
        }
    }
}

/* Fails every flight on the list with status and frees them. No lock. */
static void
flights_fail(gr_planner* p, struct flight* f, int status, const char* why)
{
    while (f) {
        struct flight* next = f->next;
        gr_call_info ci;
        gr__cluster_info_failed(&ci, status, f->host_id);
        GR_WARN("planner: call %016llx (%s/%s) failed: %s",
                (unsigned long long)f->id,
                f->user,
                f->fn,
                why);
        if (f->app)
            gr__planner_mpi_part_done(p, f, &ci, 1, why);
        else
            gr_sched_remote_done(p->sched, f->id, &ci);
        gr_free(f);
        f = next;
    }
}

/* ---- placement ----------------------------------------------------------- */

static uint32_t
warm_idle(const struct host* h, const char* user, const char* fn)
{
    for (size_t i = 0; i < h->nwarm; i++)
        if (strcmp(h->warm[i].fn, fn) == 0 &&
            strcmp(h->warm[i].user, user) == 0)
            return h->warm[i].idle;
    return 0;
}

/* A call of user/fn finished on h: its Faaslet is idle there again. The
 * mirror of the decrement in planner_place, so that placement between
 * heartbeats sees it (the next heartbeat replaces the list). */
static void
warm_returned(struct host* h, const char* user, const char* fn)
{
    for (size_t i = 0; i < h->nwarm; i++)
        if (strcmp(h->warm[i].fn, fn) == 0 &&
            strcmp(h->warm[i].user, user) == 0) {
            h->warm[i].idle++;
            return;
        }
    gr_warm_fn* v = gr_realloc(h->warm, (h->nwarm + 1) * sizeof *v);
    if (!v)
        return; /* only a hint */
    h->warm = v;
    v[h->nwarm] = (gr_warm_fn){ .idle = 1 };
    snprintf(v[h->nwarm].user, sizeof v->user, "%s", user);
    snprintf(v[h->nwarm].fn, sizeof v->fn, "%s", fn);
    h->nwarm++;
}

static int
planner_place(void* ctx, const char* user, const char* fn, char* out)
{
    gr_planner* p = ctx;
    gr_cluster_view v[MAX_HOSTS];
    struct host* map[MAX_HOSTS];
    size_t n = 0;
    pthread_mutex_lock(&p->lock);
    if (p->stopping) {
        pthread_mutex_unlock(&p->lock);
        return -ESHUTDOWN;
    }
    for (size_t i = 0; i < p->nhosts; i++) {
        struct host* h = p->hosts[i];
        if (h->down)
            continue;
        map[n] = h;
        v[n] = (gr_cluster_view){
            .id = h->id,
            .slots = h->slots,
            /* slots the threads of its calls hold are taken too (as of
             * its last heartbeat) */
            .used = h->inflight + h->hb_thread_slots,
            .warm_idle = warm_idle(h, user, fn),
            .near = tl_near && strcmp(tl_near, h->id) == 0,
            .order = h->order,
        };
        n++;
    }
    if (!n) {
        pthread_mutex_unlock(&p->lock);
        GR_WARN("planner: no worker host to run %s/%s", user, fn);
        return -EBUSY;
    }
    size_t i = p->cfg.policy->choose(v, n);
    if (i >= n)
        i = 0;
    struct host* h = map[i];
    h->inflight++; /* reserved until the outcome (or a failed start) */
    h->placed++;
    /* A warm Faaslet used now is not idle for the next placement. */
    for (size_t k = 0; k < h->nwarm; k++)
        if (strcmp(h->warm[k].fn, fn) == 0 &&
            strcmp(h->warm[k].user, user) == 0 && h->warm[k].idle)
            h->warm[k].idle--;
    snprintf(out, 64, "%s", h->id);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

static int
planner_start(void* ctx, const char* host, const gr_remote_call* d)
{
    gr_planner* p = ctx;
    struct flight* f = gr_calloc(1, sizeof *f);
    if (!f)
        return -ENOMEM;
    f->id = d->id;
    snprintf(f->user, sizeof f->user, "%s", d->user);
    snprintf(f->fn, sizeof f->fn, "%s", d->fn);
    uint64_t t = d->timeout_ns ? d->timeout_ns : p->cfg.default_timeout_ns;
    f->deadline_ns = gr_time_now_ns() + t + p->cfg.grace_ns;

    pthread_mutex_lock(&p->lock);
    struct host* h = p->stopping ? NULL : host_by_id(p, host);
    if (!h || h->down) {
        pthread_mutex_unlock(&p->lock);
        gr_free(f);
        return p->stopping ? -ESHUTDOWN : -EHOSTDOWN;
    }
    f->host = h;
    memcpy(f->host_id, h->id, sizeof f->host_id);
    struct flight** slot = flight_slot(p, f->id);
    f->next = *slot;
    *slot = f;
    gr_peer* peer = h->peer;
    gr_peer_ref(peer);
    pthread_mutex_unlock(&p->lock);

    int rc = gr__cluster_send_invoke(peer, d, p->id);
    gr_peer_unref(peer);
    if (rc) {
        GR_WARN("planner: cannot send call %016llx to %s: %s",
                (unsigned long long)d->id,
                host,
                gr_net_strerror(rc));
        pthread_mutex_lock(&p->lock);
        struct flight* mine = flight_take(p, d->id);
        if (mine)
            inflight_drop(mine->host, mine);
        pthread_mutex_unlock(&p->lock);
        gr_free(mine);
        return rc;
    }
    GR_DEBUG("planner: call %016llx %s/%s -> %s (parent %016llx)",
             (unsigned long long)d->id,
             d->user,
             d->fn,
             host,
             (unsigned long long)d->parent);
    return 0;
}

static int
planner_hosts(void* ctx, gr_host_info** out, size_t* nout)
{
    gr_planner* p = ctx;
    int rc = -ENOMEM;
    pthread_mutex_lock(&p->lock);
    size_t n = p->nhosts;
    gr_host_info* v = gr_calloc(n ? n : 1, sizeof *v);
    if (!v)
        goto fail;
    uint64_t now = gr_time_now_ns();
    for (size_t i = 0; i < n; i++) {
        struct host* h = p->hosts[i];
        gr_host_info* o = &v[i];
        snprintf(o->id, sizeof o->id, "%s", h->id);
        snprintf(o->address, sizeof o->address, "%s", h->addr);
        o->slots = h->slots;
        o->used = h->inflight > h->hb_used ? h->inflight : h->hb_used;
        o->threads = h->hb_threads;
        o->thread_slots = h->hb_thread_slots;
        o->alive = !h->down;
        o->seen_ms = (now - h->last_ns) / 1000000u;
        o->placed = h->placed;
        if (h->nwarm) {
            o->warm = gr_malloc(h->nwarm * sizeof *o->warm);
            if (!o->warm)
                goto fail;
            memcpy(o->warm, h->warm, h->nwarm * sizeof *o->warm);
            o->nwarm = h->nwarm;
        }
        size_t cap = 0;
        for (size_t b = 0; b < FLIGHT_BUCKETS; b++)
            for (struct flight* f = p->flights[b]; f; f = f->next) {
                if (f->host != h)
                    continue;
                if (o->nrunning == cap) {
                    cap = cap ? cap * 2 : 8;
                    gr_host_call* r = gr_realloc(o->running, cap * sizeof *r);
                    if (!r)
                        goto fail;
                    o->running = r;
                }
                gr_host_call* r = &o->running[o->nrunning++];
                r->id = f->id;
                memcpy(r->user, f->user, sizeof r->user);
                memcpy(r->fn, f->fn, sizeof r->fn);
                r->ranks[0] = '\0';
                r->threads = call_threads(h, f->id);
                if (f->app)
                    gr__planner_mpi_ranks(f, r->ranks, sizeof r->ranks);
            }
    }
    pthread_mutex_unlock(&p->lock);
    *out = v;
    *nout = n;
    return 0;
fail:
    pthread_mutex_unlock(&p->lock);
    gr_host_info_free(v, n);
    return rc;
}

/* ---- messages from workers ----------------------------------------------- */

static void
reply_or_send(gr_peer* peer, const Granary__Envelope* req, Granary__Envelope* m)
{
    if (req->id)
        gr_peer_reply(peer, req, m);
    else
        gr_peer_send(peer, m);
}

static int
host_id_ok(const char* id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n >= 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return strcmp(id, "local") != 0 && strcmp(id, "planner") != 0;
}

static void
copy_warm(struct host* h, const Granary__Heartbeat* hb)
{
    gr_warm_fn* v = hb->n_warm ? gr_calloc(hb->n_warm, sizeof *v) : NULL;
    size_t n = 0;
    for (size_t i = 0; v && i < hb->n_warm; i++) {
        const Granary__WarmFunction* w = hb->warm[i];
        if (!w->user || !w->fn)
            continue;
        snprintf(v[n].user, sizeof v[n].user, "%s", w->user);
        snprintf(v[n].fn, sizeof v[n].fn, "%s", w->fn);
        snprintf(v[n].hash, sizeof v[n].hash, "%s", w->hash ? w->hash : "");
        v[n].idle = w->idle;
        n++;
    }
    gr_free(h->warm);
    h->warm = v;
    h->nwarm = v ? n : 0;
}

/* Registers (or re-registers) the host behind peer. Returns what must be
 * failed and freed outside the lock: a replaced entry and its flights. */
static int
host_register(gr_planner* p,
              gr_peer* peer,
              const char* id,
              uint32_t slots,
              uint32_t mpi_port,
              struct host** replaced,
              struct flight** orphans)
{
    struct host* h = gr_calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    snprintf(h->id, sizeof h->id, "%s", id);
    gr_peer_addr(peer, h->addr, sizeof h->addr);
    h->peer = peer;
    gr_peer_ref(peer);
    h->slots = slots;
    h->mpi_port = mpi_port;
    h->last_ns = gr_time_now_ns();
    pthread_mutex_lock(&p->lock);
    struct host* old = host_by_id(p, id);
    if (!old)
        old = host_by_peer(p, peer);
    if (old) {
        if (!h->mpi_port && old->peer == peer)
            h->mpi_port = old->mpi_port; /* a rejoin by heartbeat */
        host_unlink(p, old);
        flights_take_if(p, old, 0, orphans);
        *replaced = old;
    }
    if (p->nhosts >= MAX_HOSTS || p->stopping) {
        pthread_mutex_unlock(&p->lock);
        host_free(h);
        return p->stopping ? -ESHUTDOWN : -ENOSPC;
    }
    h->order = ++p->next_order;
    p->hosts[p->nhosts++] = h;
    pthread_mutex_unlock(&p->lock);
    return 0;
}

static void
on_hello(gr_planner* p, gr_peer* peer, const Granary__Envelope* m)
{
    const Granary__Hello* hi = m->hello;
    char addr[64];
    gr_peer_addr(peer, addr, sizeof addr);
    int rc = 0;
    if (!host_id_ok(hi->host_id))
        rc = -EINVAL;
    else if (hi->version != GR_NET_PROTO_VERSION)
        rc = -EPROTONOSUPPORT;
    else if (hi->slots == 0 || hi->slots > 4096)
        rc = -EINVAL;
    struct host* old = NULL;
    struct flight* orphans = NULL;
    if (!rc)
        rc = host_register(
          p, peer, hi->host_id, hi->slots, hi->mpi_port, &old, &orphans);
    if (rc) {
        GR_WARN("planner: refusing host '%s' from %s: %s",
                hi->host_id ? hi->host_id : "",
                addr,
                gr_strerror(rc));
        Granary__Error e = GRANARY__ERROR__INIT;
        e.code = rc;
        e.message = (char*)"hello refused";
        Granary__Envelope r = GRANARY__ENVELOPE__INIT;
        r.body_case = GRANARY__ENVELOPE__BODY_ERROR;
        r.error = &e;
        reply_or_send(peer, m, &r);
        return;
    }
    if (old) {
        GR_INFO(
          "planner: host %s re-registered (was %s)", hi->host_id, old->addr);
        flights_fail(p, orphans, -EHOSTDOWN, "its host re-registered");
        host_free(old);
    }
    GR_INFO("planner: host %s joined from %s with %u slots",
            hi->host_id,
            addr,
            hi->slots);
    Granary__Welcome w = GRANARY__WELCOME__INIT;
    w.planner_id = p->id;
    w.version = GR_NET_PROTO_VERSION;
    w.heartbeat_ms = (uint32_t)p->cfg.heartbeat_ms;
    Granary__Envelope r = GRANARY__ENVELOPE__INIT;
    r.body_case = GRANARY__ENVELOPE__BODY_WELCOME;
    r.welcome = &w;
    reply_or_send(peer, m, &r);
}

static void
on_heartbeat(gr_planner* p, gr_peer* peer, const Granary__Heartbeat* hb)
{
    pthread_mutex_lock(&p->lock);
    struct host* h = host_by_peer(p, peer);
    if (h && !h->down) {
        h->last_ns = gr_time_now_ns();
        h->hb_used = hb->used_slots;
        h->hb_threads = hb->thread_granules;
        h->hb_thread_slots = hb->thread_slots;
        copy_threaded(h, hb);
        copy_warm(h, hb);
        pthread_mutex_unlock(&p->lock);
        return;
    }
    pthread_mutex_unlock(&p->lock);
    /* Dropped for silence while its connection lived (a stall, a
     * partition that healed): the heartbeat carries enough to rejoin. */
    if (h || !host_id_ok(hb->host_id) || !hb->slots || hb->slots > 4096)
        return;
    struct host* old = NULL;
    struct flight* orphans = NULL;
    if (host_register(p, peer, hb->host_id, hb->slots, 0, &old, &orphans) == 0)
        GR_INFO("planner: host %s rejoined", hb->host_id);
    flights_fail(p, orphans, -EHOSTDOWN, "its host re-registered");
    host_free(old);
}

static void
on_result(gr_planner* p, gr_peer* peer, const Granary__InvokeResult* res)
{
    pthread_mutex_lock(&p->lock);
    struct flight* f = NULL;
    for (struct flight* g = *flight_slot(p, res->call_id); g; g = g->next)
        if (g->id == res->call_id)
            f = g;
    /* Only the host the call was sent to may answer it. */
    if (f && f->host->peer == peer) {
        f = flight_take(p, res->call_id);
        inflight_drop(f->host, f);
        if (res->state == GRANARY__CALL_STATE__CALL_STATE_DONE)
            warm_returned(f->host, f->user, f->fn);
    } else {
        f = NULL;
    }
    char host[64];
    snprintf(host, sizeof host, "%s", f ? f->host->id : "");
    pthread_mutex_unlock(&p->lock);
    if (!f) {
        GR_DEBUG("planner: dropping late or unknown result for %016llx",
                 (unsigned long long)res->call_id);
        return;
    }
    gr_call_info ci;
    int rc = gr__cluster_info_from_result(res, &ci);
    if (rc)
        gr__cluster_info_failed(&ci, rc, host);
    if (!ci.host[0])
        snprintf(ci.host, sizeof ci.host, "%s", host);
    if (f->app)
        gr__planner_mpi_part_done(p, f, &ci, 0, "");
    else
        gr_sched_remote_done(p->sched, res->call_id, &ci);
    gr_free(f);
    if (!rc)
        gr__cluster_info_fini(&ci);
}

static void
on_fetch(gr_planner* p, gr_peer* peer, const Granary__Envelope* m)
{
    uint8_t* wasm = NULL;
    size_t len = 0;
    gr_fn_info fi;
    int rc =
      gr_sched_fn_wasm(p->sched, m->fetch_module->hash, &wasm, &len, &fi);
    if (rc) {
        GR_WARN("planner: module %.16s... asked for but not found: %s",
                m->fetch_module->hash,
                gr_strerror(rc));
        gr_peer_reply_error(peer, m, rc, "no module with that hash");
        return;
    }
    Granary__ModuleBytes mb = GRANARY__MODULE_BYTES__INIT;
    mb.hash = m->fetch_module->hash;
    mb.wasm.data = wasm;
    mb.wasm.len = len;
    mb.user = fi.user;
    mb.fn = fi.name;
    Granary__Envelope r = GRANARY__ENVELOPE__INIT;
    r.body_case = GRANARY__ENVELOPE__BODY_MODULE_BYTES;
    r.module_bytes = &mb;
    gr_peer_reply(peer, m, &r);
    gr_free(wasm);
}

/* A chained call made by a guest on a worker: placed and run like any
 * call of the planner's scheduler, on a task thread (it waits for the
 * outcome), then answered with an InvokeResult carrying the worker's id
 * for it. */
static void
run_chain(void* ctx, gr_peer* peer, const Granary__Envelope* m)
{
    gr_planner* p = ctx;
    const Granary__Invoke* inv = m->invoke;
    char origin[64] = "";
    pthread_mutex_lock(&p->lock);
    struct host* h = host_by_peer(p, peer);
    if (h)
        memcpy(origin, h->id, sizeof origin);
    pthread_mutex_unlock(&p->lock);
    tl_near = origin;
    gr_invoke_opts o = { .parent = inv->parent_call_id,
                         .timeout_ns = inv->timeout_ns };
    gr_call_info ci;
    int rc = gr_sched_call(
      p->sched, inv->user, inv->fn, inv->input.data, inv->input.len, &o, &ci);
    tl_near = NULL;
    gr__cluster_send_outcome(peer, inv->call_id, rc, &ci, rc ? "" : ci.host);
    if (!rc)
        gr_call_info_fini(&ci);
}

/* Takes ownership of m. */
static void
on_chain(gr_planner* p, gr_peer* peer, Granary__Envelope* m)
{
    pthread_mutex_lock(&p->lock);
    int stopping = p->stopping;
    pthread_mutex_unlock(&p->lock);
    if (stopping) {
        gr__cluster_send_failure(peer, m->invoke->call_id, -ESHUTDOWN, "");
        gr_msg_free(m);
        return;
    }
    gr__cluster_invoke_async(&p->tasks, run_chain, p, peer, m, "");
}

static void
planner_on_message(void* ctx, gr_peer* peer, Granary__Envelope* m)
{
    gr_planner* p = ctx;
    switch (m->body_case) {
        case GRANARY__ENVELOPE__BODY_HELLO:
            on_hello(p, peer, m);
            break;
        case GRANARY__ENVELOPE__BODY_HEARTBEAT:
            on_heartbeat(p, peer, m->heartbeat);
            break;
        case GRANARY__ENVELOPE__BODY_BYE: {
            pthread_mutex_lock(&p->lock);
            struct host* h = host_by_peer(p, peer);
            if (h)
                h->down = 1;
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->lock);
            break;
        }
        case GRANARY__ENVELOPE__BODY_INVOKE_RESULT:
            on_result(p, peer, m->invoke_result);
            break;
        case GRANARY__ENVELOPE__BODY_INVOKE:
            on_chain(p, peer, m);
            return; /* m handed over */
        case GRANARY__ENVELOPE__BODY_FETCH_MODULE:
            on_fetch(p, peer, m);
            break;
        case GRANARY__ENVELOPE__BODY_PING:
            gr__cluster_pong(peer, m);
            break;
        default:
            gr__cluster_unexpected(peer, m, "planner");
            break;
    }
    gr_msg_free(m);
}

static void
planner_on_state(void* ctx, gr_peer* peer, int up)
{
    gr_planner* p = ctx;
    if (up)
        return;
    pthread_mutex_lock(&p->lock);
    struct host* h = host_by_peer(p, peer);
    if (h)
        h->down = 1;
    pthread_cond_broadcast(&p->cv); /* drop it now, not at the next tick */
    pthread_mutex_unlock(&p->lock);
}

/* ---- monitor ------------------------------------------------------------- */

static void*
monitor_main(void* arg)
{
    gr_planner* p = arg;
    uint64_t dead_ns = (uint64_t)p->cfg.dead_ms * 1000000u;
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        gr_time_cond_wait_until(
          &p->cv, &p->lock, gr_time_now_ns() + MONITOR_PERIOD_NS);
        if (p->stopping)
            break;
        uint64_t now = gr_time_now_ns();
        struct host* gone[MAX_HOSTS];
        struct flight* lost[MAX_HOSTS];
        int silent[MAX_HOSTS];
        size_t ngone = 0;
        for (size_t i = 0; i < p->nhosts;) {
            struct host* h = p->hosts[i];
            int quiet = now - h->last_ns > dead_ns;
            if (!h->down && !quiet) {
                i++;
                continue;
            }
            host_unlink(p, h);
            lost[ngone] = NULL;
            flights_take_if(p, h, 0, &lost[ngone]);
            silent[ngone] = !h->down;
            gone[ngone++] = h;
        }
        struct flight* late = NULL;
        flights_take_if(p, NULL, now, &late);
        pthread_mutex_unlock(&p->lock);
        for (size_t i = 0; i < ngone; i++) {
            size_t nl = 0;
            for (struct flight* f = lost[i]; f; f = f->next)
                nl++;
            GR_WARN("planner: dropping host %s (%s); failing %zu call(s) "
                    "running there",
                    gone[i]->id,
                    silent[i] ? "no heartbeat" : "disconnected",
                    nl);
            char why[128];
            snprintf(why, sizeof why, "host %s was lost", gone[i]->id);
            flights_fail(p, lost[i], -EHOSTDOWN, why);
            host_free(gone[i]);
        }
        flights_fail(p, late, GR_ETIMEOUT, "no result by its deadline");
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ---- lifecycle ----------------------------------------------------------- */

int
gr_planner_create(const gr_planner_config* cfg, gr_planner** out)
{
    gr_planner* p = gr_calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->cfg = cfg ? *cfg : (gr_planner_config){ 0 };
    snprintf(p->listen,
             sizeof p->listen,
             "%s",
             p->cfg.listen ? p->cfg.listen : "0.0.0.0:7070");
    snprintf(p->id, sizeof p->id, "%s", p->cfg.id ? p->cfg.id : "planner");
    p->cfg.listen = p->listen;
    p->cfg.id = p->id;
    if (!p->cfg.policy)
        p->cfg.policy = gr_cluster_policy_find("binpack");
    if (p->cfg.heartbeat_ms <= 0)
        p->cfg.heartbeat_ms = 500;
    if (p->cfg.dead_ms <= 0)
        p->cfg.dead_ms = 2000;
    if (!p->cfg.grace_ns)
        p->cfg.grace_ns = 5000000000ull;
    if (!p->cfg.default_timeout_ns)
        p->cfg.default_timeout_ns = 60000000000ull;
    pthread_mutex_init(&p->lock, NULL);
    gr__cluster_tasks_init(&p->tasks);
    gr_time_cond_init(&p->cv);
    p->placement = (gr_placement){ .ctx = p,
                                   .place = planner_place,
                                   .hosts = planner_hosts };
    p->remote = (gr_remote){ .ctx = p,
                             .start = planner_start,
                             .mpi_place = gr__planner_mpi_place,
                             .mpi_start = gr__planner_mpi_start,
                             .mpi_cancel = gr__planner_mpi_cancel };
    *out = p;
    return 0;
}

const gr_placement*
gr_planner_placement(gr_planner* p)
{
    return &p->placement;
}

const gr_remote*
gr_planner_remote(gr_planner* p)
{
    return &p->remote;
}

int
gr_planner_start(gr_planner* p, gr_sched* s)
{
    p->sched = s;
    gr_server_config sc = {
        .listen = p->listen,
        .peer = { .on_message = planner_on_message,
                  .on_state = planner_on_state,
                  .ctx = p },
    };
    int rc = gr_server_start(&sc, &p->server);
    if (rc)
        return rc;
    rc = -pthread_create(&p->monitor, NULL, monitor_main, p);
    if (rc)
        return rc;
    p->monitor_started = 1;
    GR_INFO("planner: listening for workers on %s (policy %s)",
            p->listen,
            p->cfg.policy->name);
    return 0;
}

int
gr_planner_port(const gr_planner* p)
{
    return p->server ? gr_server_port(p->server) : -1;
}

void
gr_planner_destroy(gr_planner* p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->lock);
    if (p->monitor_started)
        pthread_join(p->monitor, NULL);
    /* Readers stop first: no handler runs after this. */
    gr_server_stop(p->server);
    struct flight* all = NULL;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->nhosts; i++)
        flights_take_if(p, p->hosts[i], 0, &all);
    pthread_mutex_unlock(&p->lock);
    if (p->sched)
        flights_fail(p, all, -ESHUTDOWN, "the planner is shutting down");
    gr__cluster_tasks_fini(&p->tasks);
    for (size_t i = 0; i < p->nhosts; i++)
        host_free(p->hosts[i]);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cv);
    gr_free(p);
}
