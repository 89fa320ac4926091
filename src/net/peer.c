/* SPDX-License-Identifier: Apache-2.0 */
/* Multiplexed peers: one reader thread per connection routes replies to
 * waiting callers by id and everything else to the handler; dialed peers
 * reconnect with exponential backoff. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "net/net.h"
#include "net/net_int.h"
#include "net/peer_int.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

/* A call waiting for its reply; lives on the caller's stack. */
struct pending
{
    uint64_t id;
    Granary__Envelope* reply;
    int rc;
    int done;
    pthread_cond_t cv;
    struct pending* next;
};

/* All fields under mu unless noted; lock order: read_mu, send_mu, mu. */
struct gr_peer
{
    pthread_mutex_t mu;
    pthread_cond_t state_cv; /* up/stopping/done changed, lease ended */
    pthread_mutex_t send_mu; /* serialises writes on conn */
    /* serialises reading conn and handling what was read: the reader
     * thread or one gr_peer_poll at a time; conn is replaced under it */
    pthread_mutex_t read_mu;
    /* set under read_mu: a poll's receive failed so; atomic, as the
     * parked reader must see it whatever the leases say */
    int read_err;
    uint64_t lease_until; /* atomic: the reader stays off conn until then */
    int parked;           /* atomic: the reader waits for the lease */
    gr_conn* conn;        /* NULL while down */
    int up;
    int stopping;
    int done; /* reader thread finished */
    int refs;
    uint64_t next_id;
    struct pending* pending;
    gr_peer_config cfg; /* read-only after create */
    char* dial_addr;    /* NULL for accepted peers; read-only */
    char addr[64];
    pthread_t thread;
};

/* Waits on cv until deadline (-1 = forever). Returns 0 or -ETIMEDOUT. */
static int
cond_wait_until(pthread_cond_t* cv, pthread_mutex_t* mu, int64_t deadline)
{
    if (deadline < 0) {
        pthread_cond_wait(cv, mu);
        return 0;
    }
    struct timespec ts = {
        .tv_sec = deadline / 1000,
        .tv_nsec = (deadline % 1000) * 1000000,
    };
    return pthread_cond_timedwait(cv, mu, &ts) ? -ETIMEDOUT : 0;
}

static void
fail_pending(gr_peer* p, int rc)
{
    struct pending* pd = p->pending;
    while (pd) {
        struct pending* next = pd->next;
        pd->rc = rc;
        pd->done = 1;
        pthread_cond_signal(&pd->cv);
        pd = next;
    }
    p->pending = NULL;
}

static void
unlink_pending(gr_peer* p, struct pending* pd)
{
    for (struct pending** pp = &p->pending; *pp; pp = &(*pp)->next) {
        if (*pp == pd) {
            *pp = pd->next;
            return;
        }
    }
}

static int
send_msg(gr_peer* p, const Granary__Envelope* msg)
{
    pthread_mutex_lock(&p->send_mu);
    pthread_mutex_lock(&p->mu);
    gr_conn* c = p->conn;
    pthread_mutex_unlock(&p->mu);
    int rc = c ? gr_conn_send(c, msg, p->cfg.io_timeout_ms) : -ENOTCONN;
    /* A stuck peer, or half a frame on the wire: let the reader drop the
     * connection. Under send_mu, so c cannot have been closed yet. */
    if (rc && rc != -ENOTCONN && rc != GR_NET_ETYPE && rc != GR_NET_ETOOBIG &&
        rc != -ENOMEM)
        gr_conn_shutdown(c);
    pthread_mutex_unlock(&p->send_mu);
    return rc;
}

static void
send_error(gr_peer* p, uint64_t reply_to, int code, const char* text)
{
    Granary__Error err = GRANARY__ERROR__INIT;
    Granary__Envelope env = GRANARY__ENVELOPE__INIT;
    err.code = code;
    err.message = (char*)text;
    env.reply_to = reply_to;
    env.body_case = GRANARY__ENVELOPE__BODY_ERROR;
    env.error = &err;
    (void)send_msg(p, &env);
}

/* Hands m (owned) to its waiting call or the handler (read_mu held). */
static void
dispatch(gr_peer* p, gr_conn* c, Granary__Envelope* m)
{
    if (m->reply_to) {
        struct pending* pd;
        pthread_mutex_lock(&p->mu);
        for (pd = p->pending; pd && pd->id != m->reply_to; pd = pd->next)
            ;
        if (pd) {
            unlink_pending(p, pd);
            pd->reply = m;
            pd->done = 1;
            pthread_cond_signal(&pd->cv);
        }
        pthread_mutex_unlock(&p->mu);
        if (!pd) {
            GR_DEBUG("net: %s: dropping late reply to %llu",
                     gr_conn_peer(c),
                     (unsigned long long)m->reply_to);
            gr_msg_free(m);
        }
        return;
    }
    if (p->cfg.on_message) {
        p->cfg.on_message(p->cfg.ctx, p, m);
    } else {
        if (m->id)
            send_error(p, m->id, -ENOSYS, "no handler");
        gr_msg_free(m);
    }
}

/* Handles every whole frame c holds now (read_mu held): the number
 * handled, or the error that ended the stream (negative). */
static int
drain(gr_peer* p, gr_conn* c)
{
    int n = 0;
    for (;;) {
        Granary__Envelope* m;
        int rc = gr_conn_recv(c, &m, 0);
        if (rc == -ETIMEDOUT)
            return n;
        if (rc == GR_NET_EDECODE || rc == GR_NET_ETYPE) {
            send_error(p, 0, rc, gr_net_strerror(rc)); /* already logged */
            continue;
        }
        if (rc)
            return rc;
        dispatch(p, c, m);
        n++;
    }
}

void
gr_peer_unlease(gr_peer* p)
{
    __atomic_store_n(&p->lease_until, 0, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&p->parked, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->state_cv);
        pthread_mutex_unlock(&p->mu);
    }
}

int
gr_peer_poll(gr_peer* p, uint64_t lease_ns)
{
    /* before trying read_mu: a reader thread that finds it taken then
     * sees the lease too, and parks instead of contending */
    __atomic_store_n(
      &p->lease_until, gr_time_now_ns() + lease_ns, __ATOMIC_SEQ_CST);
    if (pthread_mutex_trylock(&p->read_mu))
        return 0;
    /* written atomically, and cleared only under read_mu */
    gr_conn* c = __atomic_load_n(&p->conn, __ATOMIC_ACQUIRE);
    int n = 0;
    if (c && !p->read_err) {
        n = drain(p, c);
        if (n < 0) {
            /* the reader thread reports the end and cleans up; the
             * shutdown wakes it if it waits on the socket */
            __atomic_store_n(&p->read_err, n, __ATOMIC_SEQ_CST);
            n = 0;
            gr_conn_shutdown(c);
            gr_peer_unlease(p);
        }
    }
    pthread_mutex_unlock(&p->read_mu);
    return n;
}

/* Waits while a poller holds the lease (or until stopped). */
static void
park(gr_peer* p)
{
    uint64_t until = __atomic_load_n(&p->lease_until, __ATOMIC_SEQ_CST);
    if (!until || gr_time_now_ns() >= until)
        return;
    pthread_mutex_lock(&p->mu);
    __atomic_store_n(&p->parked, 1, __ATOMIC_SEQ_CST);
    /* pollers may go on renewing the lease after the connection ended
     * under one of them: only this thread reports that */
    while (!p->stopping && !__atomic_load_n(&p->read_err, __ATOMIC_SEQ_CST)) {
        until = __atomic_load_n(&p->lease_until, __ATOMIC_SEQ_CST);
        if (!until || gr_time_now_ns() >= until)
            break;
        gr_time_cond_wait_until(&p->state_cv, &p->mu, until);
    }
    __atomic_store_n(&p->parked, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&p->mu);
}

/* Reads frames until the connection fails or the peer is stopped. The
 * socket is waited on without read_mu, so a poller can read meanwhile. */
static void
read_loop(gr_peer* p, gr_conn* c)
{
    for (;;) {
        park(p);
        int rc = gr_conn_wait_readable(c, -1);
        if (!rc) {
            pthread_mutex_lock(&p->read_mu);
            rc = p->read_err ? p->read_err : drain(p, c);
            pthread_mutex_unlock(&p->read_mu);
            if (rc >= 0)
                continue;
        }
        pthread_mutex_lock(&p->mu);
        int stopping = p->stopping;
        pthread_mutex_unlock(&p->mu);
        if (!stopping && rc != GR_NET_ECLOSED)
            GR_INFO("net: %s: connection lost: %s",
                    gr_conn_peer(c),
                    gr_net_strerror(rc));
        return;
    }
}

static void
disconnect(gr_peer* p, gr_conn* c)
{
    gr_conn_shutdown(c); /* unblocks a sender so send_mu comes free */
    pthread_mutex_lock(&p->read_mu); /* a poller may still use c */
    pthread_mutex_lock(&p->send_mu);
    pthread_mutex_lock(&p->mu);
    __atomic_store_n(&p->conn, NULL, __ATOMIC_RELEASE);
    p->up = 0;
    fail_pending(p, p->stopping ? -ECANCELED : GR_NET_ECLOSED);
    pthread_cond_broadcast(&p->state_cv);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_unlock(&p->send_mu);
    __atomic_store_n(&p->read_err, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&p->read_mu);
    gr_conn_close(c);
}

static void*
reader_main(void* arg)
{
    gr_peer* p = arg;
    int backoff = p->cfg.backoff_min_ms;
    pthread_mutex_lock(&p->mu);
    gr_conn* c = p->conn;
    pthread_mutex_unlock(&p->mu);
    for (;;) {
        if (!c) {
            int rc = gr_conn_connect(
              p->dial_addr, p->cfg.connect_timeout_ms, p->cfg.max_payload, &c);
            pthread_mutex_lock(&p->mu);
            if (p->stopping) {
                pthread_mutex_unlock(&p->mu);
                gr_conn_close(c);
                break;
            }
            if (rc) {
                GR_DEBUG("net: dial %s: %s (retry in %d ms)",
                         p->dial_addr,
                         gr_net_strerror(rc),
                         backoff);
                c = NULL;
                int64_t until = gr__net_deadline(backoff);
                while (!p->stopping &&
                       cond_wait_until(&p->state_cv, &p->mu, until) == 0)
                    ;
                pthread_mutex_unlock(&p->mu);
                backoff = backoff * 2 > p->cfg.backoff_max_ms
                            ? p->cfg.backoff_max_ms
                            : backoff * 2;
                continue;
            }
            backoff = p->cfg.backoff_min_ms;
            __atomic_store_n(&p->conn, c, __ATOMIC_RELEASE);
            p->up = 1;
            snprintf(p->addr, sizeof p->addr, "%s", gr_conn_peer(c));
            pthread_cond_broadcast(&p->state_cv);
            pthread_mutex_unlock(&p->mu);
        }
        if (p->cfg.on_state)
            p->cfg.on_state(p->cfg.ctx, p, 1);
        read_loop(p, c);
        disconnect(p, c);
        c = NULL;
        if (p->cfg.on_state)
            p->cfg.on_state(p->cfg.ctx, p, 0);
        pthread_mutex_lock(&p->mu);
        int again = p->dial_addr && !p->stopping;
        pthread_mutex_unlock(&p->mu);
        if (!again)
            break;
    }
    pthread_mutex_lock(&p->mu);
    p->done = 1;
    fail_pending(p, -ECANCELED);
    pthread_cond_broadcast(&p->state_cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static int
peer_create(const gr_peer_config* cfg,
            const char* dial,
            gr_conn* conn,
            gr_peer** out)
{
    gr_peer* p = gr_calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->cfg = *cfg;
    if (!p->cfg.io_timeout_ms)
        p->cfg.io_timeout_ms = 10000;
    if (!p->cfg.connect_timeout_ms)
        p->cfg.connect_timeout_ms = 3000;
    if (p->cfg.backoff_min_ms <= 0)
        p->cfg.backoff_min_ms = 50;
    if (p->cfg.backoff_max_ms < p->cfg.backoff_min_ms)
        p->cfg.backoff_max_ms =
          p->cfg.backoff_min_ms > 2000 ? p->cfg.backoff_min_ms : 2000;
    if (dial) {
        p->dial_addr = gr_strdup(dial);
        if (!p->dial_addr) {
            gr_free(p);
            return -ENOMEM;
        }
        snprintf(p->addr, sizeof p->addr, "%s", dial);
    } else {
        p->conn = conn;
        p->up = 1;
        snprintf(p->addr, sizeof p->addr, "%s", gr_conn_peer(conn));
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->send_mu, NULL);
    pthread_mutex_init(&p->read_mu, NULL);
    gr_time_cond_init(&p->state_cv);
    p->refs = 1;
    if (pthread_create(&p->thread, NULL, reader_main, p)) {
        p->conn = NULL; /* the caller still owns conn */
        gr_peer_unref(p);
        return -EAGAIN;
    }
    *out = p;
    return 0;
}

int
gr_peer_dial(const char* addr, const gr_peer_config* cfg, gr_peer** out)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (!cfg || gr__net_resolve(addr, 0, &ss, &sl))
        return -EINVAL;
    return peer_create(cfg, addr, NULL, out);
}

int
gr_peer_adopt(gr_conn* conn, const gr_peer_config* cfg, gr_peer** out)
{
    return peer_create(cfg, NULL, conn, out);
}

int
gr__peer_done(gr_peer* p)
{
    pthread_mutex_lock(&p->mu);
    int done = p->done;
    pthread_mutex_unlock(&p->mu);
    return done;
}

int
gr_peer_wait_up(gr_peer* p, int timeout_ms)
{
    int64_t deadline = gr__net_deadline(timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    while (!p->up && !p->stopping && !p->done && rc == 0)
        rc = cond_wait_until(&p->state_cv, &p->mu, deadline);
    if (!p->up)
        rc = (p->stopping || p->done) ? -ECANCELED : -ETIMEDOUT;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int
gr_peer_call(gr_peer* p,
             Granary__Envelope* req,
             Granary__Envelope** reply,
             int timeout_ms)
{
    int64_t deadline = gr__net_deadline(timeout_ms);
    struct pending pd = { .id = 0 };
    int rc = 0;
    *reply = NULL;
    gr_time_cond_init(&pd.cv);

    pthread_mutex_lock(&p->mu);
    while (!p->up && !p->stopping && !p->done && rc == 0)
        rc = cond_wait_until(&p->state_cv, &p->mu, deadline);
    if (!p->up) {
        rc = (p->stopping || p->done) ? -ECANCELED : -ETIMEDOUT;
        pthread_mutex_unlock(&p->mu);
        goto fail;
    }
    pd.id = ++p->next_id;
    pd.next = p->pending;
    p->pending = &pd;
    pthread_mutex_unlock(&p->mu);

    req->id = pd.id;
    rc = send_msg(p, req);

    pthread_mutex_lock(&p->mu);
    while (rc == 0 && !pd.done)
        rc = cond_wait_until(&pd.cv, &p->mu, deadline);
    if (pd.done) {
        rc = pd.rc;
        *reply = pd.reply;
    } else {
        unlink_pending(p, &pd); /* timed out or send failed */
    }
    pthread_mutex_unlock(&p->mu);
fail:
    pthread_cond_destroy(&pd.cv);
    return rc;
}

int
gr_peer_send(gr_peer* p, Granary__Envelope* msg)
{
    return send_msg(p, msg);
}

int
gr_peer_reply(gr_peer* p,
              const Granary__Envelope* req,
              Granary__Envelope* reply)
{
    if (!req->id)
        return -EINVAL; /* one-way messages take no reply */
    reply->id = 0;
    reply->reply_to = req->id;
    return send_msg(p, reply);
}

int
gr_peer_reply_error(gr_peer* p,
                    const Granary__Envelope* req,
                    int code,
                    const char* text)
{
    if (!req->id)
        return -EINVAL;
    send_error(p, req->id, code, text ? text : gr_net_strerror(code));
    return 0;
}

void
gr_peer_ref(gr_peer* p)
{
    pthread_mutex_lock(&p->mu);
    p->refs++;
    pthread_mutex_unlock(&p->mu);
}

void
gr_peer_unref(gr_peer* p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    int last = --p->refs == 0;
    pthread_mutex_unlock(&p->mu);
    if (!last)
        return;
    gr_conn_close(p->conn);
    pthread_cond_destroy(&p->state_cv);
    pthread_mutex_destroy(&p->send_mu);
    pthread_mutex_destroy(&p->read_mu);
    pthread_mutex_destroy(&p->mu);
    gr_free(p->dial_addr);
    gr_free(p);
}

void
gr_peer_addr(gr_peer* p, char* buf, size_t len)
{
    pthread_mutex_lock(&p->mu);
    snprintf(buf, len, "%s", p->addr);
    pthread_mutex_unlock(&p->mu);
}

void
gr__peer_stop(gr_peer* p)
{
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    if (p->conn)
        gr_conn_shutdown(p->conn);
    fail_pending(p, -ECANCELED);
    pthread_cond_broadcast(&p->state_cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
}

void
gr_peer_close(gr_peer* p)
{
    if (!p)
        return;
    gr__peer_stop(p);
    gr_peer_unref(p);
}
