/* SPDX-License-Identifier: Apache-2.0 */
/* The worker: a connection to the planner (Hello on every connect,
 * Heartbeats with used slots and warm Faaslets), Invokes run through the
 * local scheduler under the planner's call id, modules fetched from the
 * planner by content hash on first use (then compiled and cached by hash
 * by the engine), and chained calls of local guests sent to the planner
 * for placement. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <granary/status.h>

#include "cluster/cluster_int.h"
#include "mpi/mpi.h"
#include "util/alloc.h"
#include "util/hash.h"
#include "util/log.h"

/* A chained call sent to the planner, waiting for its InvokeResult. */
struct proxy
{
    uint64_t id;
    uint64_t deadline_ns;
    struct proxy* next;
};

struct gr_worker
{
    gr_worker_config cfg;
    char id[64];
    char planner[128];
    gr_placement placement;
    gr_remote remote;
    gr_sched* sched;
    gr_peer* peer;

    pthread_mutex_t lock;
    pthread_cond_t cv; /* registered, stopping */
    int registered;
    int stopping;
    gr__cluster_tasks tasks; /* Invokes being run */
    struct proxy* proxies;
    pthread_t hb_thread;
    int hb_started;
    uint64_t seq;
    pthread_mutex_t fetch_lock; /* one module fetch+compile at a time */
};

/* ---- chained calls out --------------------------------------------------- */

static int
worker_place(void* ctx, const char* user, const char* fn, char* host)
{
    (void)ctx;
    (void)user;
    (void)fn;
    /* Every call a guest starts here goes to the planner, which sees all
     * hosts (and may well send it back here). */
    memcpy(host, "planner", sizeof "planner");
    return 0;
}

static void
proxies_fail(gr_worker* w, struct proxy* p, int status, const char* why)
{
    while (p) {
        struct proxy* next = p->next;
        gr_call_info ci;
        gr__cluster_info_failed(&ci, status, "planner");
        GR_WARN("worker: chained call %016llx failed: %s",
                (unsigned long long)p->id,
                why);
        gr_sched_remote_done(w->sched, p->id, &ci);
        gr_free(p);
        p = next;
    }
}

static struct proxy*
proxy_take(gr_worker* w, uint64_t id)
{
    for (struct proxy** pp = &w->proxies; *pp; pp = &(*pp)->next)
        if ((*pp)->id == id) {
            struct proxy* p = *pp;
            *pp = p->next;
            p->next = NULL;
            return p;
        }
    return NULL;
}

static int
worker_start(void* ctx, const char* host, const gr_remote_call* d)
{
    gr_worker* w = ctx;
    (void)host;
    struct proxy* p = gr_calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->id = d->id;
    uint64_t t = d->timeout_ns ? d->timeout_ns : 60000000000ull;
    p->deadline_ns = gr_time_now_ns() + t + 5000000000ull;
    pthread_mutex_lock(&w->lock);
    p->next = w->proxies;
    w->proxies = p;
    pthread_mutex_unlock(&w->lock);

    int rc = gr__cluster_send_invoke(w->peer, d, w->id);
    if (rc) {
        pthread_mutex_lock(&w->lock);
        gr_free(proxy_take(w, d->id));
        pthread_mutex_unlock(&w->lock);
        GR_WARN("worker: cannot send chained call to the planner: %s",
                gr_net_strerror(rc));
    }
    return rc;
}

static void
on_result(gr_worker* w, const Granary__InvokeResult* res)
{
    pthread_mutex_lock(&w->lock);
    struct proxy* p = proxy_take(w, res->call_id);
    pthread_mutex_unlock(&w->lock);
    if (!p) {
        GR_DEBUG("worker: dropping late result for %016llx",
                 (unsigned long long)res->call_id);
        return;
    }
    gr_free(p);
    gr_call_info ci;
    int rc = gr__cluster_info_from_result(res, &ci);
    if (rc)
        gr__cluster_info_failed(&ci, rc, "");
    gr_sched_remote_done(w->sched, res->call_id, &ci);
    if (!rc)
        gr__cluster_info_fini(&ci);
}

/* ---- invocations in ----------------------------------------------------- */

/* Makes user/fn at version hash available locally: fetched from the
 * planner and compiled once; later calls find it in the store (and a
 * restart finds the compiled object in the engine's cache). */
static int
ensure_fn(gr_worker* w, const char* user, const char* fn, const char* hash)
{
    gr_fn_info fi;
    if (!hash || strlen(hash) != GR_SHA256_HEX_LEN)
        return -ENOENT;
    if (!gr_sched_fn_get(w->sched, user, fn, &fi) && !strcmp(fi.hash, hash))
        return 0;
    pthread_mutex_lock(&w->fetch_lock);
    int rc = 0;
    Granary__Envelope* reply = NULL;
    if (!gr_sched_fn_get(w->sched, user, fn, &fi) && !strcmp(fi.hash, hash))
        goto out;
    Granary__FetchModule fm = GRANARY__FETCH_MODULE__INIT;
    fm.hash = (char*)hash;
    Granary__Envelope req = GRANARY__ENVELOPE__INIT;
    req.body_case = GRANARY__ENVELOPE__BODY_FETCH_MODULE;
    req.fetch_module = &fm;
    uint64_t t0 = gr_time_now_ns();
    rc = gr_peer_call(w->peer, &req, &reply, w->cfg.fetch_timeout_ms);
    if (rc)
        goto out;
    if (reply->body_case == GRANARY__ENVELOPE__BODY_ERROR) {
        rc = reply->error->code < 0 ? reply->error->code : -EIO;
        goto out;
    }
    if (reply->body_case != GRANARY__ENVELOPE__BODY_MODULE_BYTES) {
        rc = -EPROTO;
        goto out;
    }
    const ProtobufCBinaryData* b = &reply->module_bytes->wasm;
    char got[GR_SHA256_HEX_LEN + 1];
    if ((rc = gr_sha256_hex(b->data, b->len, got)))
        goto out;
    if (strcmp(got, hash) != 0) {
        GR_ERROR("worker: module for %s/%s does not match its hash", user, fn);
        rc = -EBADMSG;
        goto out;
    }
    char err[512] = "";
    rc =
      gr_sched_fn_upload(w->sched, user, fn, b->data, b->len, err, sizeof err);
    if (rc) {
        GR_ERROR("worker: cannot install %s/%s: %s",
                 user,
                 fn,
                 err[0] ? err : gr_strerror(rc));
        goto out;
    }
    GR_INFO("worker: fetched %s/%s (%zu bytes, %.12s...) in %.1f ms",
            user,
            fn,
            b->len,
            hash,
            (double)(gr_time_now_ns() - t0) / 1e6);
out:
    pthread_mutex_unlock(&w->fetch_lock);
    gr_msg_free(reply);
    if (rc)
        GR_WARN("worker: %s/%s unavailable: %s", user, fn, gr_strerror(rc));
    return rc;
}

/* On a task thread: it may wait for a slot, a module fetch, or chained
 * children on other hosts, and the reader must keep reading meanwhile. */
static void
run_invoke(void* ctx, gr_peer* peer, const Granary__Envelope* m)
{
    gr_worker* w = ctx;
    const Granary__Invoke* inv = m->invoke;
    int rc = ensure_fn(w, inv->user, inv->fn, inv->wasm_hash);
    gr_call_info ci;
    /* an MPI app's part: this host's ranks of a world the planner placed */
    const Granary__MpiWorld* mw = inv->mpi;
    gr_mpi_part part = { 0 };
    if (!rc && inv->np) {
        if (!mw || !w->cfg.mpi_net || mw->n_rank_host != inv->np ||
            mw->n_addrs != mw->n_names || mw->self >= mw->n_addrs ||
            !mw->n_addrs || inv->np > 4096)
            rc = -EINVAL;
        else if (!(part.rank_host =
                     gr_calloc(mw->n_rank_host, sizeof *part.rank_host)))
            rc = -ENOMEM;
        for (size_t i = 0; !rc && i < mw->n_rank_host; i++) {
            if (mw->rank_host[i] >= mw->n_addrs)
                rc = -EINVAL;
            else
                ((int*)part.rank_host)[i] = (int)mw->rank_host[i];
        }
        if (!rc) {
            part.app = mw->app;
            part.np = (int)inv->np;
            part.nhosts = (int)mw->n_addrs;
            part.self = (int)mw->self;
            part.addrs = (const char* const*)mw->addrs;
            part.names = (const char* const*)mw->names;
            part.net = w->cfg.mpi_net;
        }
    }
    if (!rc) {
        gr_invoke_opts o = { .id = inv->call_id,
                             .host = "local",
                             .timeout_ns = inv->timeout_ns,
                             .np = (int)inv->np,
                             .mpi = inv->np ? &part : NULL,
                             .threads =
                               inv->threads <= 257 ? (int)inv->threads : -1 };
        rc = gr_sched_call(w->sched,
                           inv->user,
                           inv->fn,
                           inv->input.data,
                           inv->input.len,
                           &o,
                           &ci);
    }
    gr_free((void*)part.rank_host);
    int src = gr__cluster_send_outcome(peer, inv->call_id, rc, &ci, w->id);
    if (src)
        GR_WARN("worker: result of %016llx not delivered: %s",
                (unsigned long long)inv->call_id,
                gr_net_strerror(src));
    if (!rc)
        gr_call_info_fini(&ci);
}

/* Takes ownership of m. */
static void
on_invoke(gr_worker* w, gr_peer* peer, Granary__Envelope* m)
{
    pthread_mutex_lock(&w->lock);
    int stopping = w->stopping;
    pthread_mutex_unlock(&w->lock);
    if (stopping) {
        gr__cluster_send_failure(peer, m->invoke->call_id, -ESHUTDOWN, w->id);
        gr_msg_free(m);
        return;
    }
    gr__cluster_invoke_async(&w->tasks, run_invoke, w, peer, m, w->id);
}

static void
worker_on_message(void* ctx, gr_peer* peer, Granary__Envelope* m)
{
    gr_worker* w = ctx;
    switch (m->body_case) {
        case GRANARY__ENVELOPE__BODY_WELCOME:
            pthread_mutex_lock(&w->lock);
            w->registered = 1;
            pthread_cond_broadcast(&w->cv);
            pthread_mutex_unlock(&w->lock);
            GR_INFO("worker: %s registered with %s",
                    w->id,
                    m->welcome->planner_id ? m->welcome->planner_id : "?");
            break;
        case GRANARY__ENVELOPE__BODY_INVOKE:
            on_invoke(w, peer, m);
            return;
        case GRANARY__ENVELOPE__BODY_INVOKE_RESULT:
            on_result(w, m->invoke_result);
            break;
        case GRANARY__ENVELOPE__BODY_ERROR:
            GR_ERROR("worker: planner says: %s (%s)",
                     m->error->message ? m->error->message : "",
                     gr_strerror(m->error->code));
            break;
        case GRANARY__ENVELOPE__BODY_BYE:
            GR_WARN("worker: planner said bye: %s",
                    m->bye->reason ? m->bye->reason : "");
            break;
        case GRANARY__ENVELOPE__BODY_PING:
            gr__cluster_pong(peer, m);
            break;
        case GRANARY__ENVELOPE__BODY_MPI:
            /* the planner ends an MPI app whose other host died */
            if (w->cfg.mpi_net &&
                m->mpi->kind == GRANARY__MPI_KIND__MPI_KIND_FAIL) {
                int k = m->mpi->fail_kind;
                gr_mpi_net_fail(w->cfg.mpi_net,
                                m->mpi->app,
                                k > GR_MPI_FAIL_NONE && k <= GR_MPI_FAIL_HOST
                                  ? (enum gr_mpi_fail_kind)k
                                  : GR_MPI_FAIL_ERROR,
                                m->mpi->src,
                                m->mpi->code,
                                m->mpi->what);
            }
            break;
        default:
            gr__cluster_unexpected(peer, m, "worker");
            break;
    }
    gr_msg_free(m);
}

static void
worker_on_state(void* ctx, gr_peer* peer, int up)
{
    gr_worker* w = ctx;
    if (up) {
        Granary__Hello hi = GRANARY__HELLO__INIT;
        hi.host_id = w->id;
        hi.address = (char*)"";
        hi.slots = w->cfg.slots;
        hi.version = GR_NET_PROTO_VERSION;
        hi.build = (char*)"granary";
        hi.mpi_port = w->cfg.mpi_net ? (uint32_t)w->cfg.mpi_port : 0;
        Granary__Envelope env = GRANARY__ENVELOPE__INIT;
        env.body_case = GRANARY__ENVELOPE__BODY_HELLO;
        env.hello = &hi;
        int rc = gr_peer_send(peer, &env);
        if (rc)
            GR_WARN("worker: cannot say hello: %s", gr_net_strerror(rc));
        return;
    }
    pthread_mutex_lock(&w->lock);
    int was = w->registered;
    w->registered = 0;
    struct proxy* lost = w->proxies;
    w->proxies = NULL;
    pthread_mutex_unlock(&w->lock);
    if (was && !w->stopping)
        GR_WARN("worker: lost the planner at %s; reconnecting", w->planner);
    proxies_fail(w, lost, -ECONNRESET, "the planner connection was lost");
}

/* ---- heartbeats ---------------------------------------------------------- */

static void
send_heartbeat(gr_worker* w)
{
    gr_sched_stats st;
    gr_sched_get_stats(w->sched, &st);
    gr_warm_fn* warm = NULL;
    size_t n = 0;
    if (gr_sched_warm_list(w->sched, &warm, &n))
        n = 0;
    Granary__WarmFunction* wf = n ? gr_calloc(n, sizeof *wf) : NULL;
    Granary__WarmFunction** wp = n ? gr_calloc(n, sizeof *wp) : NULL;
    if (n && (!wf || !wp))
        n = 0;
    for (size_t i = 0; i < n; i++) {
        granary__warm_function__init(&wf[i]);
        wf[i].user = warm[i].user;
        wf[i].fn = warm[i].fn;
        wf[i].hash = warm[i].hash;
        wf[i].idle = warm[i].idle;
        wp[i] = &wf[i];
    }
    Granary__Heartbeat hb = GRANARY__HEARTBEAT__INIT;
    hb.host_id = w->id;
    hb.seq = ++w->seq;
    hb.slots = w->cfg.slots;
    hb.used_slots = (uint32_t)st.running;
    hb.thread_granules = (uint32_t)st.thread_granules;
    hb.thread_slots = (uint32_t)st.thread_slots;
    gr_host_call* tc = NULL;
    size_t ntc = 0;
    if (gr_sched_thread_calls(w->sched, &tc, &ntc))
        ntc = 0;
    Granary__CallThreads* ct = ntc ? gr_calloc(ntc, sizeof *ct) : NULL;
    Granary__CallThreads** ctp = ntc ? gr_calloc(ntc, sizeof *ctp) : NULL;
    if (ntc && (!ct || !ctp))
        ntc = 0;
    for (size_t i = 0; i < ntc; i++) {
        granary__call_threads__init(&ct[i]);
        ct[i].call_id = tc[i].id;
        ct[i].threads = tc[i].threads;
        ctp[i] = &ct[i];
    }
    hb.n_threaded = ntc;
    hb.threaded = ctp;
    hb.n_warm = n;
    hb.warm = wp;
    Granary__Envelope env = GRANARY__ENVELOPE__INIT;
    env.body_case = GRANARY__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    gr_peer_send(w->peer, &env); /* down: the next one will do */
    gr_free(ctp);
    gr_free(ct);
    gr_free(tc);
    gr_free(wp);
    gr_free(wf);
    gr_free(warm);
}

static void*
hb_main(void* arg)
{
    gr_worker* w = arg;
    uint64_t period = (uint64_t)w->cfg.heartbeat_ms * 1000000u;
    uint64_t next = gr_time_now_ns() + period;
    pthread_mutex_lock(&w->lock);
    while (!w->stopping) {
        gr_time_cond_wait_until(&w->cv, &w->lock, next);
        if (w->stopping)
            break;
        /* cv also signals registration: beat only at the period. */
        uint64_t now = gr_time_now_ns();
        if (now < next)
            continue;
        next = now + period;
        int reg = w->registered;
        /* Chained calls whose answer never came. */
        struct proxy* late = NULL;
        for (struct proxy** pp = &w->proxies; *pp;) {
            struct proxy* p = *pp;
            if (now < p->deadline_ns) {
                pp = &p->next;
                continue;
            }
            *pp = p->next;
            p->next = late;
            late = p;
        }
        pthread_mutex_unlock(&w->lock);
        if (reg)
            send_heartbeat(w);
        proxies_fail(w, late, GR_ETIMEOUT, "no result by its deadline");
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* ---- lifecycle ----------------------------------------------------------- */

int
gr_worker_create(const gr_worker_config* cfg, gr_worker** out)
{
    if (!cfg || !cfg->planner || !cfg->slots)
        return -EINVAL;
    gr_worker* w = gr_calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->cfg = *cfg;
    snprintf(w->planner, sizeof w->planner, "%s", cfg->planner);
    if (cfg->id && cfg->id[0])
        snprintf(w->id, sizeof w->id, "%s", cfg->id);
    else if (gethostname(w->id, sizeof w->id) < 0 || !w->id[0])
        snprintf(w->id, sizeof w->id, "worker-%d", (int)getpid());
    w->id[sizeof w->id - 1] = '\0';
    w->cfg.planner = w->planner;
    w->cfg.id = w->id;
    if (w->cfg.heartbeat_ms <= 0)
        w->cfg.heartbeat_ms = 500;
    if (w->cfg.fetch_timeout_ms <= 0)
        w->cfg.fetch_timeout_ms = 30000;
    pthread_mutex_init(&w->lock, NULL);
    pthread_mutex_init(&w->fetch_lock, NULL);
    gr__cluster_tasks_init(&w->tasks);
    gr_time_cond_init(&w->cv);
    w->placement = (gr_placement){ .ctx = w, .place = worker_place };
    w->remote = (gr_remote){ .ctx = w, .start = worker_start };
    *out = w;
    return 0;
}

const gr_placement*
gr_worker_placement(gr_worker* w)
{
    return &w->placement;
}

const gr_remote*
gr_worker_remote(gr_worker* w)
{
    return &w->remote;
}

int
gr_worker_start(gr_worker* w, gr_sched* s)
{
    w->sched = s;
    gr_peer_config pc = {
        .on_message = worker_on_message,
        .on_state = worker_on_state,
        .ctx = w,
        .connect_timeout_ms = 1000,
        .backoff_min_ms = 50,
        .backoff_max_ms = 1000,
    };
    int rc = gr_peer_dial(w->planner, &pc, &w->peer);
    if (rc)
        return rc;
    rc = -pthread_create(&w->hb_thread, NULL, hb_main, w);
    if (rc)
        return rc;
    w->hb_started = 1;
    return 0;
}

int
gr_worker_wait_registered(gr_worker* w, int timeout_ms)
{
    uint64_t until = gr_time_now_ns() + (uint64_t)timeout_ms * 1000000u;
    int rc = 0;
    pthread_mutex_lock(&w->lock);
    while (!w->registered && rc == 0)
        rc = gr_time_cond_wait_until(&w->cv, &w->lock, until);
    int reg = w->registered;
    pthread_mutex_unlock(&w->lock);
    return reg ? 0 : -ETIMEDOUT;
}

void
gr_worker_destroy(gr_worker* w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->lock);
    if (w->hb_started)
        pthread_join(w->hb_thread, NULL);
    if (w->peer) {
        Granary__Bye bye = GRANARY__BYE__INIT;
        bye.host_id = w->id;
        bye.reason = (char*)"shutting down";
        Granary__Envelope env = GRANARY__ENVELOPE__INIT;
        env.body_case = GRANARY__ENVELOPE__BODY_BYE;
        env.bye = &bye;
        gr_peer_send(w->peer, &env);
        gr_peer_close(w->peer); /* fails chained calls still waiting */
    }
    pthread_mutex_lock(&w->lock);
    struct proxy* left = w->proxies;
    w->proxies = NULL;
    pthread_mutex_unlock(&w->lock);
    if (w->sched)
        proxies_fail(w, left, -ESHUTDOWN, "the worker is shutting down");
    gr__cluster_tasks_fini(&w->tasks);
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->fetch_lock);
    pthread_cond_destroy(&w->cv);
    gr_free(w);
}
