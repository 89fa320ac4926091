/* SPDX-License-Identifier: Apache-2.0 */
/* Ranks on several hosts: the link of a world to the other hosts over the
 * cluster transport (src/net). Each pair of hosts shares one connection
 * per world, used both ways: the lower-numbered host dials it when the
 * world starts (a full mesh), the higher one takes it from its listener
 * (gr_mpi_net) with the first message. One connection, not one per
 * direction, lets TCP carry its acknowledgements on the replies instead
 * of sending a segment of their own for every message (measured: half
 * the segments, and the 8 B ping-pong across two network namespaces from
 * 14.5 to ~10 us). Small messages go whole; larger ones are offered
 * (RTS), fetched once matched (CTS) and streamed in pieces by the
 * sender's pump thread, so reader threads never write and no host ever
 * blocks another's reading. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mpi/mpi_int.h"
#include "net/net.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

#define CONNECT_WAIT_MS 30000 /* a host's listener may come up late */
#define SEND_TIMEOUT_MS 30000
#define UNKNOWN_APP_WAIT_MS 30000

/* A rendezvous send waiting for its receiver (sender side). */
struct psend
{
    uint64_t token;
    struct gr__mpi_req* q;
    gr_mpi_rank* owner;
    const uint8_t* buf;
    size_t len;
    int host;
    uint64_t xfer; /* set by the CTS */
    int streaming;
    struct psend* next;
};

/* A matched rendezvous being received (receiver side). */
struct xfer
{
    uint64_t id;
    struct gr__mpi_req* q;
    gr_mpi_rank* owner;
    size_t len;
    int host;
    struct xfer* next;
};

enum job_kind
{
    JOB_CTS = 1,  /* token, xfer, error */
    JOB_STREAM,   /* ps */
    JOB_DATA_ERR, /* xfer, error: a CTS for a send that is gone */
    JOB_FAIL,
    JOB_JOIN,
};

struct job
{
    enum job_kind kind;
    int host;
    uint64_t token, xfer;
    int error;
    struct psend* ps;
    struct job* next;
};

/* The connection with one other host. */
struct host_conn
{
    pthread_mutex_t mu; /* serialises dialing */
    /* the peer (atomic; set once, under the world lock): dialed by this
     * host when the other's number is higher, else the one its listener
     * accepted, from the first message on it. Spinning ranks read from it
     * themselves (gr__mpi_link_poll). */
    gr_peer* peer;
    int broken; /* atomic: sending failed, or it never came */
};

/* Everything but the connections under the world lock. */
struct gr__mpi_link
{
    gr_mpi_world* w;
    gr_mpi_net* net;
    uint64_t app;
    char** addrs;
    struct host_conn* hc; /* per host */
    pthread_cond_t hc_cv; /* (world lock) a connection came, or failure */
    uint64_t next_token, next_xfer;
    struct psend* psends;
    struct xfer* xfers;
    struct job *jhead, *jtail;
    pthread_cond_t jcv;
    pthread_t pump;
    int closing;
    int* bye; /* per host: it said Bye */
};

/* ---- the listener and its registry of worlds ---------------------------- */

struct reg
{
    uint64_t app;
    gr_mpi_world* w;
    int busy; /* handlers using w */
    struct reg* next;
};

struct binding
{
    gr_peer* p;
    uint64_t app;
    int host;
    struct binding* next;
};

#define ENDED_RING 64

struct gr_mpi_net
{
    gr_server* srv;
    gr_peer_config peer_cfg; /* for accepted and dialed connections */
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a world registered or became idle */
    struct reg* regs;
    struct binding* binds;
    uint64_t ended[ENDED_RING];
    unsigned n_ended;
};

static int
app_ended(gr_mpi_net* n, uint64_t app)
{
    for (unsigned i = 0; i < ENDED_RING && i < n->n_ended; i++)
        if (n->ended[i] == app)
            return 1;
    return 0;
}

/* The world of app, marked busy (net lock held); waits for it to be
 * created when it is not known yet. NULL if it ended or never came. */
static struct reg*
reg_get(gr_mpi_net* n, uint64_t app, int wait)
{
    uint64_t end = gr_time_now_ns() + UNKNOWN_APP_WAIT_MS * 1000000ull;
    for (;;) {
        for (struct reg* g = n->regs; g; g = g->next)
            if (g->app == app) {
                g->busy++;
                return g;
            }
        if (!wait || app_ended(n, app) || gr_time_now_ns() >= end)
            return NULL;
        gr_time_cond_wait_until(&n->cv, &n->mu, end);
    }
}

static void
reg_put(gr_mpi_net* n, struct reg* g)
{
    if (--g->busy == 0)
        pthread_cond_broadcast(&n->cv);
}

/* Remembers that p carries app's messages with host (net lock held), so
 * that its end is noticed (net_on_state). NULL if out of memory. */
static struct binding*
bind_peer(gr_mpi_net* n, gr_peer* p, uint64_t app, int host)
{
    struct binding* b = gr_calloc(1, sizeof *b);
    if (b) {
        b->p = p;
        b->app = app;
        b->host = host;
        b->next = n->binds;
        n->binds = b;
    }
    return b;
}

static void on_mpi(gr_mpi_world* w, int host, const Granary__MpiMsg* m);

static void
net_on_message(void* ctx, gr_peer* p, Granary__Envelope* msg)
{
    gr_mpi_net* n = ctx;
    if (msg->body_case != GRANARY__ENVELOPE__BODY_MPI || !msg->mpi) {
        GR_WARN("mpi: unexpected %s message", gr_net_type_name(msg->body_case));
        gr_msg_free(msg);
        return;
    }
    const Granary__MpiMsg* m = msg->mpi;
    pthread_mutex_lock(&n->mu);
    struct binding* b = n->binds;
    while (b && b->p != p)
        b = b->next;
    if (!b)
        bind_peer(n, p, m->app, (int)m->host);
    struct reg* g = reg_get(n, m->app, 1);
    pthread_mutex_unlock(&n->mu);
    if (g) {
        gr_mpi_world* w = g->w;
        int host = (int)m->host;
        if (host >= 0 && host < w->nhosts && host != w->self_host) {
            struct host_conn* hc = &w->link->hc[host];
            /* a lower host's connection: the one to answer it on */
            if (host < w->self_host &&
                !__atomic_load_n(&hc->peer, __ATOMIC_ACQUIRE)) {
                pthread_mutex_lock(&w->mu);
                if (!hc->peer) {
                    gr_peer_ref(p);
                    __atomic_store_n(&hc->peer, p, __ATOMIC_RELEASE);
                    pthread_cond_broadcast(&w->link->hc_cv);
                }
                pthread_mutex_unlock(&w->mu);
            }
            on_mpi(w, host, m);
        }
        pthread_mutex_lock(&n->mu);
        reg_put(n, g);
        pthread_mutex_unlock(&n->mu);
    }
    gr_msg_free(msg);
}

static void host_lost(gr_mpi_world* w, int host, const char* why);

static void
net_on_state(void* ctx, gr_peer* p, int up)
{
    gr_mpi_net* n = ctx;
    if (up)
        return;
    pthread_mutex_lock(&n->mu);
    struct binding** bp = &n->binds;
    while (*bp && (*bp)->p != p)
        bp = &(*bp)->next;
    struct binding* b = *bp;
    if (b)
        *bp = b->next;
    struct reg* g = b ? reg_get(n, b->app, 0) : NULL;
    pthread_mutex_unlock(&n->mu);
    if (g) {
        gr_mpi_world* w = g->w;
        pthread_mutex_lock(&w->mu);
        int said_bye = b->host < w->nhosts && w->link->bye[b->host];
        pthread_mutex_unlock(&w->mu);
        if (!said_bye && b->host < w->nhosts)
            host_lost(w, b->host, "its connection closed");
        pthread_mutex_lock(&n->mu);
        reg_put(n, g);
        pthread_mutex_unlock(&n->mu);
    }
    gr_free(b);
}

int
gr_mpi_net_start(const char* addr, gr_mpi_net** out)
{
    *out = NULL;
    gr_mpi_net* n = gr_calloc(1, sizeof *n);
    if (!n)
        return -ENOMEM;
    pthread_mutex_init(&n->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&n->cv, &ca);
    pthread_condattr_destroy(&ca);
    n->peer_cfg = (gr_peer_config){ .on_message = net_on_message,
                                    .on_state = net_on_state,
                                    .ctx = n,
                                    .io_timeout_ms = SEND_TIMEOUT_MS };
    gr_server_config sc = { .listen = addr, .peer = n->peer_cfg };
    int rc = gr_server_start(&sc, &n->srv);
    if (rc) {
        pthread_cond_destroy(&n->cv);
        pthread_mutex_destroy(&n->mu);
        gr_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

int
gr_mpi_net_port(const gr_mpi_net* n)
{
    return gr_server_port(n->srv);
}

int
gr_mpi_net_conns(gr_mpi_net* n)
{
    return gr_server_conns(n->srv);
}

void
gr_mpi_net_stop(gr_mpi_net* n)
{
    if (!n)
        return;
    gr_server_stop(n->srv);
    while (n->binds) {
        struct binding* b = n->binds;
        n->binds = b->next;
        gr_free(b);
    }
    pthread_cond_destroy(&n->cv);
    pthread_mutex_destroy(&n->mu);
    gr_free(n);
}

int
gr_mpi_net_fail(gr_mpi_net* n,
                uint64_t app,
                enum gr_mpi_fail_kind kind,
                int rank,
                int code,
                const char* what)
{
    pthread_mutex_lock(&n->mu);
    struct reg* g = reg_get(n, app, 0);
    pthread_mutex_unlock(&n->mu);
    if (!g)
        return 0;
    gr_mpi_world* w = g->w;
    if (rank < 0 || rank >= w->size)
        rank = 0;
    pthread_mutex_lock(&w->mu);
    gr__mpi_world_fail(w, rank, kind, code, what, 0);
    pthread_mutex_unlock(&w->mu);
    pthread_mutex_lock(&n->mu);
    reg_put(n, g);
    pthread_mutex_unlock(&n->mu);
    return 1;
}

/* ---- outgoing connections ------------------------------------------------ */

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int
world_failed(gr_mpi_world* w)
{
    return __atomic_load_n(&w->failed, __ATOMIC_ACQUIRE);
}

/* Dials a higher host (hc->mu held), retrying while its listener may
 * still be starting, unless urgent (one try). */
static int
dial(struct gr__mpi_link* l, int host, int urgent, char* why, size_t wlen)
{
    struct host_conn* hc = &l->hc[host];
    uint64_t end = gr_time_now_ns() +
                   (uint64_t)(urgent ? 1000 : CONNECT_WAIT_MS) * 1000000ull;
    int backoff = 10, rc;
    gr_conn* c;
    for (;;) {
        rc = gr_conn_connect(l->addrs[host], 1000, 0, &c);
        if (rc == 0)
            break;
        if (urgent || gr_time_now_ns() >= end || world_failed(l->w)) {
            snprintf(why,
                     wlen,
                     "cannot connect to %s: %s",
                     l->addrs[host],
                     gr_net_strerror(rc));
            return rc;
        }
        sleep_ms(backoff);
        backoff = backoff < 400 ? backoff * 2 : 500;
    }
    gr_peer* p;
    if ((rc = gr_peer_adopt(c, &l->net->peer_cfg, &p))) {
        gr_conn_close(c);
    } else {
        /* bound before anything arrives on it: its end is noticed */
        pthread_mutex_lock(&l->net->mu);
        if (!bind_peer(l->net, p, l->app, host))
            rc = -ENOMEM;
        pthread_mutex_unlock(&l->net->mu);
        if (rc)
            gr_peer_close(p);
    }
    if (rc) {
        snprintf(why,
                 wlen,
                 "no connection to %s: %s",
                 l->addrs[host],
                 gr_net_strerror(rc));
        return rc;
    }
    pthread_mutex_lock(&l->w->mu);
    __atomic_store_n(&hc->peer, p, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&l->w->mu);
    return 0;
}

/* The connection with host: dialed now if this host's number is lower,
 * else waited for (up to CONNECT_WAIT_MS or the calling guest's deadline;
 * not at all if urgent). NULL with why set if there is none. */
static gr_peer*
link_peer(struct gr__mpi_link* l, int host, int urgent, char* why, size_t wlen)
{
    struct host_conn* hc = &l->hc[host];
    gr_peer* p = __atomic_load_n(&hc->peer, __ATOMIC_ACQUIRE);
    if (p || __atomic_load_n(&hc->broken, __ATOMIC_ACQUIRE))
        return p;
    gr_mpi_world* w = l->w;
    if (host > w->self_host) {
        pthread_mutex_lock(&hc->mu);
        if (!hc->peer && !hc->broken && dial(l, host, urgent, why, wlen))
            __atomic_store_n(&hc->broken, 1, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&hc->mu);
        return __atomic_load_n(&hc->peer, __ATOMIC_ACQUIRE);
    }
    if (urgent)
        return NULL;
    uint64_t end = gr_time_now_ns() + CONNECT_WAIT_MS * 1000000ull;
    uint64_t d = gr_rt_deadline();
    int late = d && d < end;
    if (late)
        end = d;
    pthread_mutex_lock(&w->mu);
    while (!hc->peer && !w->failed && gr_time_now_ns() < end)
        gr_time_cond_wait_until(&l->hc_cv, &w->mu, end);
    p = hc->peer;
    pthread_mutex_unlock(&w->mu);
    if (!p && !world_failed(w) && !late)
        snprintf(why,
                 wlen,
                 "no connection from %s in %d s",
                 l->addrs[host],
                 CONNECT_WAIT_MS / 1000);
    return p;
}

/* Sends env to host over their connection (see link_peer). Without the
 * world lock. A broken or missing connection ends the world
 * (GR_MPI_FAIL_HOST) unless urgent (failures and Byes: the world is
 * ending) or the host said Bye. */
static int
link_send(struct gr__mpi_link* l, int host, Granary__Envelope* env, int urgent)
{
    char why[160] = "";
    int rc = -EPIPE;
    gr_peer* p = link_peer(l, host, urgent, why, sizeof why);
    if (!p && urgent && host < l->w->self_host) {
        /* a failure before the lower host connected: on a connection of
         * its own (the order of other messages does not matter then) */
        gr_conn* c;
        if (!(rc = gr_conn_connect(l->addrs[host], 1000, 0, &c))) {
            rc = gr_conn_send(c, env, 1000);
            gr_conn_close(c);
        }
    } else if (p && !__atomic_load_n(&l->hc[host].broken, __ATOMIC_ACQUIRE)) {
        rc = gr_peer_send(p, env);
        if (rc) {
            __atomic_store_n(&l->hc[host].broken, 1, __ATOMIC_RELEASE);
            snprintf(why,
                     sizeof why,
                     "sending to %s failed: %s",
                     l->addrs[host],
                     gr_net_strerror(rc));
        }
    }
    if (why[0] && !urgent && !__atomic_load_n(&l->bye[host], __ATOMIC_ACQUIRE))
        host_lost(l->w, host, why);
    return rc;
}

static void
msg_init(struct gr__mpi_link* l,
         Granary__Envelope* env,
         Granary__MpiMsg* m,
         Granary__MpiKind kind)
{
    granary__envelope__init(env);
    granary__mpi_msg__init(m);
    env->body_case = GRANARY__ENVELOPE__BODY_MPI;
    env->mpi = m;
    m->app = l->app;
    m->host = (uint32_t)l->w->self_host;
    m->kind = kind;
}

/* ---- the pump: CTS, streamed data, failures ----------------------------- */

static void
job_push(struct gr__mpi_link* l, struct job* j)
{
    j->next = NULL;
    if (l->jtail)
        l->jtail->next = j;
    else
        l->jhead = j;
    l->jtail = j;
    pthread_cond_signal(&l->jcv);
}

/* Queues a job (lock held); a failed allocation fails the world. */
static void
job_new(struct gr__mpi_link* l,
        enum job_kind kind,
        int host,
        uint64_t token,
        uint64_t xfer,
        int error,
        struct psend* ps)
{
    struct job* j = gr_calloc(1, sizeof *j);
    if (!j) {
        gr__mpi_world_fail(l->w, 0, GR_MPI_FAIL_ERROR, 0, "out of memory", 0);
        return;
    }
    j->kind = kind;
    j->host = host;
    j->token = token;
    j->xfer = xfer;
    j->error = error;
    j->ps = ps;
    job_push(l, j);
}

static void
stream(struct gr__mpi_link* l, struct psend* ps)
{
    gr_mpi_world* w = l->w;
    Granary__Envelope env;
    Granary__MpiMsg m;
    int rc = 0;
    size_t off = 0;
    do {
        size_t n = ps->len - off < GR_MPI_CHUNK ? ps->len - off : GR_MPI_CHUNK;
        msg_init(l, &env, &m, GRANARY__MPI_KIND__MPI_KIND_DATA);
        m.xfer = ps->xfer;
        m.offset = off;
        m.data.data = (uint8_t*)ps->buf + off;
        m.data.len = n;
        off += n;
        m.last = off == ps->len;
        rc = link_send(l, ps->host, &env, 0);
    } while (!rc && off < ps->len && !world_failed(w));
    pthread_mutex_lock(&w->mu);
    for (struct psend** pp = &l->psends; *pp; pp = &(*pp)->next)
        if (*pp == ps) {
            *pp = ps->next;
            break;
        }
    gr__mpi_req_done(ps->q, rc || off < ps->len ? GR_MPI_ERR_OTHER : 0);
    ps->owner->inflight--;
    gr__mpi_rank_wake(ps->owner);
    pthread_mutex_unlock(&w->mu);
    gr_free(ps);
}

static void
run_job(struct gr__mpi_link* l, struct job* j)
{
    gr_mpi_world* w = l->w;
    Granary__Envelope env;
    Granary__MpiMsg m;
    switch (j->kind) {
        case JOB_STREAM:
            stream(l, j->ps);
            return;
        case JOB_CTS:
            msg_init(l, &env, &m, GRANARY__MPI_KIND__MPI_KIND_CTS);
            m.token = j->token;
            m.xfer = j->xfer;
            m.error = j->error;
            link_send(l, j->host, &env, 0);
            return;
        case JOB_DATA_ERR:
            msg_init(l, &env, &m, GRANARY__MPI_KIND__MPI_KIND_DATA);
            m.xfer = j->xfer;
            m.last = 1;
            m.error = j->error;
            link_send(l, j->host, &env, 0);
            return;
        case JOB_JOIN:
            msg_init(l, &env, &m, GRANARY__MPI_KIND__MPI_KIND_JOIN);
            link_send(l, j->host, &env, 0);
            return;
        case JOB_FAIL: {
            gr_mpi_failure f;
            gr_mpi_world_failure(w, &f);
            msg_init(l, &env, &m, GRANARY__MPI_KIND__MPI_KIND_FAIL);
            m.fail_kind = f.kind;
            m.src = f.rank;
            m.code = f.code;
            m.what = f.what;
            link_send(l, j->host, &env, 1);
            return;
        }
    }
}

static void*
pump_main(void* arg)
{
    struct gr__mpi_link* l = arg;
    gr_mpi_world* w = l->w;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        struct job* j = l->jhead;
        if (!j) {
            if (l->closing)
                break;
            pthread_cond_wait(&l->jcv, &w->mu);
            continue;
        }
        l->jhead = j->next;
        if (!l->jhead)
            l->jtail = NULL;
        /* after a failure only failures are worth sending */
        if (w->failed && j->kind != JOB_FAIL) {
            if (j->kind == JOB_STREAM) {
                /* nothing more is sent: the send fails (the world is
                 * over anyway) */
                struct psend* ps = j->ps;
                for (struct psend** pp = &l->psends; *pp; pp = &(*pp)->next)
                    if (*pp == ps) {
                        *pp = ps->next;
                        break;
                    }
                gr__mpi_req_done(ps->q, GR_MPI_ERR_OTHER);
                ps->owner->inflight--;
                gr__mpi_rank_wake(ps->owner);
                gr_free(ps);
            }
            gr_free(j);
            continue;
        }
        pthread_mutex_unlock(&w->mu);
        run_job(l, j);
        gr_free(j);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- hooks for match.c and world.c (world lock held) --------------------- */

int
gr__mpi_remote_send(gr_mpi_rank* r,
                    struct gr__mpi_req* q,
                    const void* buf,
                    size_t len,
                    int dest,
                    int tag,
                    int ctx,
                    int mode)
{
    gr_mpi_world* w = r->w;
    struct gr__mpi_link* l = w->link;
    int host = w->rank_host[dest];
    Granary__Envelope env;
    Granary__MpiMsg m;
    int eager = mode != GR_MPI_MODE_SYNC && len <= w->eager_limit;
    msg_init(l,
             &env,
             &m,
             eager ? GRANARY__MPI_KIND__MPI_KIND_EAGER
                   : GRANARY__MPI_KIND__MPI_KIND_RTS);
    m.src = r->index;
    m.dst = dest;
    m.tag = tag;
    m.ctx = ctx;
    m.len = len;
    struct psend* ps = NULL;
    if (eager) {
        m.data.data = (uint8_t*)buf;
        m.data.len = len;
    } else {
        if (!(ps = gr_calloc(1, sizeof *ps))) {
            gr__mpi_req_done(q, GR_MPI_ERR_NOMEM);
            return 0;
        }
        ps->token = ++l->next_token;
        ps->q = q;
        ps->owner = r;
        ps->buf = buf;
        ps->len = len;
        ps->host = host;
        ps->next = l->psends;
        l->psends = ps;
        m.token = ps->token;
    }
    pthread_mutex_unlock(&w->mu);
    int rc = link_send(l, host, &env, 0);
    pthread_mutex_lock(&w->mu);
    if (eager) {
        gr__mpi_req_done(q, rc ? GR_MPI_ERR_OTHER : 0);
    } else if (rc) {
        for (struct psend** pp = &l->psends; *pp; pp = &(*pp)->next)
            if (*pp == ps) {
                *pp = ps->next;
                gr_free(ps);
                gr__mpi_req_done(q, GR_MPI_ERR_OTHER);
                break;
            }
    }
    return 0;
}

void
gr__mpi_remote_fetch(gr_mpi_rank* d,
                     struct gr__mpi_req* q,
                     const struct gr__mpi_msg* m)
{
    struct gr__mpi_link* l = d->w->link;
    q->st.source = m->src;
    q->st.tag = m->tag;
    q->st.bytes = (int64_t)m->len;
    q->st.cancelled = 0;
    struct xfer* x = gr_calloc(1, sizeof *x);
    if (!x) {
        gr__mpi_req_done(q, GR_MPI_ERR_NOMEM);
        job_new(l, JOB_CTS, m->shost, m->token, 0, GR_MPI_ERR_NOMEM, NULL);
        return;
    }
    x->id = ++l->next_xfer;
    x->q = q;
    x->owner = d;
    x->len = m->len;
    x->host = m->shost;
    x->next = l->xfers;
    l->xfers = x;
    __atomic_store_n(&q->state, REQ_ACTIVE, __ATOMIC_RELEASE);
    job_new(l, JOB_CTS, m->shost, m->token, x->id, 0, NULL);
}

void
gr__mpi_remote_refuse(gr_mpi_world* w, const struct gr__mpi_msg* m)
{
    if (w->link)
        job_new(w->link, JOB_CTS, m->shost, m->token, 0, GR_MPI_ERR_RANK, NULL);
}

void
gr__mpi_remote_rank_drop(gr_mpi_rank* r)
{
    struct gr__mpi_link* l = r->w->link;
    if (!l)
        return;
    /* sends being streamed keep r's memory (inflight) until they end */
    for (struct psend **pp = &l->psends, *ps; (ps = *pp);) {
        if (ps->owner == r && !ps->streaming) {
            *pp = ps->next;
            gr_free(ps);
        } else {
            pp = &ps->next;
        }
    }
    for (struct xfer **xp = &l->xfers, *x; (x = *xp);) {
        if (x->owner == r) {
            *xp = x->next;
            gr_free(x);
        } else {
            xp = &x->next;
        }
    }
}

void
gr__mpi_world_failed(gr_mpi_world* w, int from_remote)
{
    struct gr__mpi_link* l = w->link;
    pthread_cond_broadcast(&l->hc_cv); /* nobody waits for a connection */
    if (from_remote)
        return; /* the failing host tells every host itself */
    for (int h = 0; h < w->nhosts; h++)
        if (h != w->self_host)
            job_new(l, JOB_FAIL, h, 0, 0, 0, NULL);
}

/* host ended without Bye, or cannot be reached (without the lock) */
static void
host_lost(gr_mpi_world* w, int host, const char* why)
{
    int first = -1, n = 0;
    char ranks[48] = "";
    size_t len = 0;
    for (int i = 0; i < w->size; i++) {
        if (w->rank_host[i] != host)
            continue;
        if (first < 0)
            first = i;
        if (len + 12 < sizeof ranks)
            len += (size_t)snprintf(
              ranks + len, sizeof ranks - len, "%s%d", n ? "," : "", i);
        else if (len + 4 < sizeof ranks && ranks[len - 1] != '.')
            len += (size_t)snprintf(ranks + len, sizeof ranks - len, "...");
        n++;
    }
    char what[128];
    snprintf(what,
             sizeof what,
             "host %d (%s, rank%s %s) is down: %s",
             host,
             w->link->addrs[host],
             n == 1 ? "" : "s",
             ranks,
             why);
    pthread_mutex_lock(&w->mu);
    gr__mpi_world_fail(w, first, GR_MPI_FAIL_HOST, host, what, 0);
    pthread_mutex_unlock(&w->mu);
}

/* ---- messages from other hosts (a reader thread of the listener) --------- */

static struct xfer*
xfer_find(struct gr__mpi_link* l, int host, uint64_t id, struct xfer*** at)
{
    for (struct xfer** xp = &l->xfers; *xp; xp = &(*xp)->next)
        if ((*xp)->id == id && (*xp)->host == host) {
            if (at)
                *at = xp;
            return *xp;
        }
    return NULL;
}

static void
on_data(gr_mpi_world* w, int host, const Granary__MpiMsg* m)
{
    struct gr__mpi_link* l = w->link;
    struct xfer** at;
    struct xfer* x = xfer_find(l, host, m->xfer, &at);
    if (!x)
        return;
    if (m->error) {
        *at = x->next;
        gr__mpi_req_done(x->q, m->error < 0 ? m->error : GR_MPI_ERR_OTHER);
        gr__mpi_rank_wake(x->owner);
        gr_free(x);
        return;
    }
    struct gr__mpi_req* q = x->q;
    size_t off = m->offset, n = m->data.len;
    if (off > q->cap)
        n = 0;
    else if (n > q->cap - off)
        n = q->cap - off;
    if (n > 2048) {
        gr_mpi_rank* d = x->owner;
        d->inflight++;
        pthread_mutex_unlock(&w->mu);
        memcpy(q->buf + off, m->data.data, n);
        pthread_mutex_lock(&w->mu);
        d->inflight--;
        gr__mpi_rank_wake(d);
        /* the rank may have detached meanwhile (and dropped x) */
        if (!(x = xfer_find(l, host, m->xfer, &at)))
            return;
    } else if (n) {
        memcpy(q->buf + off, m->data.data, n);
    }
    if (m->last) {
        *at = x->next;
        gr__mpi_req_done(q, x->len > q->cap ? GR_MPI_ERR_TRUNCATE : 0);
        gr__mpi_rank_wake(x->owner);
        gr_free(x);
    }
}

static void
on_cts(gr_mpi_world* w, int host, const Granary__MpiMsg* m)
{
    struct gr__mpi_link* l = w->link;
    struct psend** pp = &l->psends;
    while (*pp && (*pp)->token != m->token)
        pp = &(*pp)->next;
    struct psend* ps = *pp;
    if (!ps || ps->host != host) {
        if (!m->error)
            job_new(l, JOB_DATA_ERR, host, 0, m->xfer, GR_MPI_ERR_RANK, NULL);
        return;
    }
    if (m->error) {
        *pp = ps->next;
        gr__mpi_req_done(ps->q, m->error < 0 ? m->error : GR_MPI_ERR_OTHER);
        gr__mpi_rank_wake(ps->owner);
        gr_free(ps);
        return;
    }
    ps->xfer = m->xfer;
    ps->streaming = 1;
    ps->owner->inflight++;
    job_new(l, JOB_STREAM, host, 0, 0, 0, ps);
}

static int
rank_ok(const gr_mpi_world* w, int host, int32_t src, int32_t dst)
{
    return src >= 0 && src < w->size && dst >= 0 && dst < w->size &&
           w->rank_host[src] == host && w->rank_host[dst] == w->self_host;
}

static void
on_mpi(gr_mpi_world* w, int host, const Granary__MpiMsg* m)
{
    pthread_mutex_lock(&w->mu);
    switch (m->kind) {
        case GRANARY__MPI_KIND__MPI_KIND_EAGER:
            if (rank_ok(w, host, m->src, m->dst) && m->data.len == m->len)
                gr__mpi_arrive_eager(&w->ranks[m->dst],
                                     m->src,
                                     m->tag,
                                     m->ctx,
                                     m->data.data,
                                     m->len);
            break;
        case GRANARY__MPI_KIND__MPI_KIND_RTS:
            if (rank_ok(w, host, m->src, m->dst))
                gr__mpi_arrive_rts(&w->ranks[m->dst],
                                   m->src,
                                   m->tag,
                                   m->ctx,
                                   m->len,
                                   host,
                                   m->token);
            break;
        case GRANARY__MPI_KIND__MPI_KIND_CTS:
            on_cts(w, host, m);
            break;
        case GRANARY__MPI_KIND__MPI_KIND_DATA:
            on_data(w, host, m);
            break;
        case GRANARY__MPI_KIND__MPI_KIND_FAIL: {
            int kind = m->fail_kind;
            if (kind <= GR_MPI_FAIL_NONE || kind > GR_MPI_FAIL_HOST)
                kind = GR_MPI_FAIL_ERROR;
            gr__mpi_world_fail(w, m->src, kind, m->code, m->what, 1);
            break;
        }
        case GRANARY__MPI_KIND__MPI_KIND_BYE:
            __atomic_store_n(&w->link->bye[host], 1, __ATOMIC_RELEASE);
            for (int i = 0; i < w->size; i++)
                if (w->rank_host[i] == host && !w->ranks[i].detached) {
                    w->ranks[i].detached = 1;
                    gr__mpi_rank_drop(&w->ranks[i]);
                }
            break;
        default:
            break;
    }
    pthread_mutex_unlock(&w->mu);
}

/* ---- ranks reading the connections themselves -----------------------------
 */

/* How long a poll keeps the listener's reader threads off the sockets: a
 * rank that returns to its guest lets them take over after this long. */
#define POLL_LEASE_NS (2 * 1000 * 1000)

int
gr__mpi_link_read(gr_mpi_world* w)
{
    struct gr__mpi_link* l = w->link;
    int n = 0;
    for (int h = 0; h < w->nhosts; h++) {
        gr_peer* p = __atomic_load_n(&l->hc[h].peer, __ATOMIC_ACQUIRE);
        if (p)
            n += gr_peer_poll(p, POLL_LEASE_NS);
    }
    return n;
}

/* A poll is a system call, so a spin that polls takes far longer per
 * round than one that pauses: a rank sharing its CPU with the very rank
 * it waits for (two hosts on one machine, a loaded or oversubscribed one)
 * would keep it off that CPU for the spin's whole pause phase. So a poll
 * that finds nothing yields the CPU (measured on 2 CPUs under load: 8 B
 * ping-pong 5.7 us yielding after every empty poll, 6.4 us after every
 * fourth, 20 us after every 64th; on an idle machine yielding or not made
 * no difference beyond the noise). */
int
gr__mpi_link_poll(gr_mpi_world* w)
{
    int n = gr__mpi_link_read(w);
    if (!n)
        sched_yield();
    return n;
}

void
gr__mpi_link_idle(gr_mpi_world* w)
{
    struct gr__mpi_link* l = w->link;
    for (int h = 0; h < w->nhosts; h++) {
        gr_peer* p = __atomic_load_n(&l->hc[h].peer, __ATOMIC_ACQUIRE);
        if (p)
            gr_peer_unlease(p);
    }
}

/* ---- world creation and teardown ----------------------------------------- */

static void
link_free(struct gr__mpi_link* l, int nhosts)
{
    if (!l)
        return;
    for (int h = 0; l->addrs && h < nhosts; h++)
        gr_free(l->addrs[h]);
    gr_free(l->addrs);
    for (int h = 0; l->hc && h < nhosts; h++) {
        struct host_conn* hc = &l->hc[h];
        if (hc->peer && h > l->w->self_host) { /* dialed here */
            gr_peer_close(hc->peer);
        } else if (hc->peer) {
            gr_peer_unlease(hc->peer);
            gr_peer_unref(hc->peer);
        }
        pthread_mutex_destroy(&hc->mu);
    }
    gr_free(l->hc);
    gr_free(l->bye);
    pthread_cond_destroy(&l->jcv);
    pthread_cond_destroy(&l->hc_cv);
    gr_free(l);
}

int
gr_mpi_world_create_hosts(int size, const gr_mpi_hosts* h, gr_mpi_world** out)
{
    *out = NULL;
    if (!h || h->nhosts <= 1)
        return gr_mpi_world_create(size, out);
    if (h->self < 0 || h->self >= h->nhosts || !h->net || !h->rank_host ||
        !h->addrs || size < 1 || size > GR_MPI_MAX_RANKS || h->nhosts > size)
        return -EINVAL;
    for (int i = 0; i < size; i++)
        if (h->rank_host[i] < 0 || h->rank_host[i] >= h->nhosts)
            return -EINVAL;
    gr_mpi_world* w;
    int rc = gr_mpi_world_create(size, &w);
    if (rc)
        return rc;
    struct gr__mpi_link* l = gr_calloc(1, sizeof *l);
    if (l) {
        pthread_cond_init(&l->jcv, NULL);
        gr_time_cond_init(&l->hc_cv);
    }
    struct reg* g = gr_calloc(1, sizeof *g);
    w->rank_host = gr_calloc((size_t)size, sizeof *w->rank_host);
    if (!l || !g || !w->rank_host)
        goto nomem;
    l->w = w;
    l->net = h->net;
    l->app = h->app;
    l->addrs = gr_calloc((size_t)h->nhosts, sizeof *l->addrs);
    l->bye = gr_calloc((size_t)h->nhosts, sizeof *l->bye);
    l->hc = gr_calloc((size_t)h->nhosts, sizeof *l->hc);
    if (!l->addrs || !l->bye || !l->hc)
        goto nomem;
    for (int i = 0; i < h->nhosts; i++) {
        pthread_mutex_init(&l->hc[i].mu, NULL);
        if (!(l->addrs[i] = gr_strdup(h->addrs[i] ? h->addrs[i] : "")))
            goto nomem;
    }
    memcpy(w->rank_host, h->rank_host, (size_t)size * sizeof *w->rank_host);
    w->nhosts = h->nhosts;
    w->self_host = h->self;
    if (pthread_create(&l->pump, NULL, pump_main, l)) {
        link_free(l, h->nhosts);
        gr_free(g);
        gr_mpi_world_destroy(w);
        return -EAGAIN;
    }
    w->link = l;
    gr_mpi_net* n = h->net;
    pthread_mutex_lock(&n->mu);
    for (struct reg* o = n->regs; o; o = o->next)
        if (o->app == h->app)
            rc = -EINVAL;
    if (!rc) {
        g->app = h->app;
        g->w = w;
        g->next = n->regs;
        n->regs = g;
        pthread_cond_broadcast(&n->cv);
    }
    pthread_mutex_unlock(&n->mu);
    if (!rc) {
        /* every pair of hosts connected from the start (the lower one
         * dials): each host hears of any other's end */
        pthread_mutex_lock(&w->mu);
        for (int i = w->self_host + 1; i < w->nhosts; i++)
            job_new(l, JOB_JOIN, i, 0, 0, 0, NULL);
        pthread_mutex_unlock(&w->mu);
    }
    if (rc) {
        gr_free(g);
        l->net = NULL;
        gr_mpi_world_destroy(w);
        return rc;
    }
    *out = w;
    return 0;
nomem:
    link_free(l, h->nhosts);
    gr_free(g);
    gr_mpi_world_destroy(w);
    return -ENOMEM;
}

void
gr__mpi_link_destroy(gr_mpi_world* w)
{
    struct gr__mpi_link* l = w->link;
    gr_mpi_net* n = l->net;
    /* no more messages for this world: wait for the handlers using it */
    if (n) {
        pthread_mutex_lock(&n->mu);
        for (struct reg** gp = &n->regs; *gp; gp = &(*gp)->next)
            if ((*gp)->w == w) {
                struct reg* g = *gp;
                while (g->busy)
                    pthread_cond_wait(&n->cv, &n->mu);
                *gp = g->next;
                gr_free(g);
                break;
            }
        n->ended[n->n_ended++ % ENDED_RING] = l->app;
        pthread_mutex_unlock(&n->mu);
    }
    pthread_mutex_lock(&w->mu);
    l->closing = 1;
    pthread_cond_signal(&l->jcv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(l->pump, NULL);
    /* Bye on every connection (a host that never connected waits for
     * nothing from here) */
    if (!world_failed(w)) {
        for (int h = 0; h < w->nhosts; h++) {
            if (h == w->self_host || !l->hc[h].peer || l->hc[h].broken)
                continue;
            Granary__Envelope env;
            Granary__MpiMsg m;
            msg_init(l, &env, &m, GRANARY__MPI_KIND__MPI_KIND_BYE);
            link_send(l, h, &env, 1);
        }
    }
    while (l->jhead) {
        struct job* j = l->jhead;
        l->jhead = j->next;
        gr_free(j);
    }
    while (l->psends) {
        struct psend* ps = l->psends;
        l->psends = ps->next;
        gr_free(ps);
    }
    while (l->xfers) {
        struct xfer* x = l->xfers;
        l->xfers = x->next;
        gr_free(x);
    }
    int nh = w->nhosts;
    w->link = NULL;
    link_free(l, nh);
}
