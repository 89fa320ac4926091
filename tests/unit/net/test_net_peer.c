/* SPDX-License-Identifier: Apache-2.0 */
/* Peers and the listener over loopback TCP: calls, many in flight answered
 * out of order, timeouts, reconnect after a server restart, and a server
 * that survives malformed and truncated input. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "net/net.h"
#include "net_test_msgs.h"
#include "util/alloc.h"

#define SILENT_NONCE 0xdeadull /* the echo server never answers these */

/* ---- an echo server whose replies are deferred and sent newest-first ---- */

struct job
{
    gr_peer* peer;
    Granary__Envelope* msg;
    struct job* next;
};

struct echo
{
    gr_server* srv;
    pthread_t replier;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job* stack;
    int stop;
    int deferred; /* 1: replies via the replier thread, LIFO */
    atomic_long out_of_order;
    atomic_long errors_seen;
    atomic_int ups;
};

static void
answer(gr_peer* p, Granary__Envelope* m)
{
    Granary__Pong pong = GRANARY__PONG__INIT;
    Granary__Envelope r = GRANARY__ENVELOPE__INIT;
    pong.nonce = m->ping->nonce;
    pong.data = m->ping->data;
    r.body_case = GRANARY__ENVELOPE__BODY_PONG;
    r.pong = &pong;
    (void)gr_peer_reply(p, m, &r);
}

static void
on_message(void* ctx, gr_peer* p, Granary__Envelope* m)
{
    struct echo* e = ctx;
    if (m->body_case == GRANARY__ENVELOPE__BODY_ERROR)
        atomic_fetch_add(&e->errors_seen, 1);
    if (m->body_case != GRANARY__ENVELOPE__BODY_PING ||
        m->ping->nonce == SILENT_NONCE) {
        if (m->id && m->body_case != GRANARY__ENVELOPE__BODY_PING)
            gr_peer_reply_error(p, m, -ENOSYS, "echo answers pings only");
        gr_msg_free(m);
        return;
    }
    if (!e->deferred) {
        answer(p, m);
        gr_msg_free(m);
        return;
    }
    struct job* j = gr_malloc(sizeof *j);
    assert_non_null(j);
    gr_peer_ref(p);
    j->peer = p;
    j->msg = m;
    pthread_mutex_lock(&e->mu);
    j->next = e->stack;
    e->stack = j;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

static void*
replier_main(void* arg)
{
    struct echo* e = arg;
    uint64_t last = 0;
    pthread_mutex_lock(&e->mu);
    for (;;) {
        while (!e->stack && !e->stop)
            pthread_cond_wait(&e->cv, &e->mu);
        if (!e->stack && e->stop)
            break;
        struct job* batch = e->stack; /* newest first */
        e->stack = NULL;
        pthread_mutex_unlock(&e->mu);
        usleep(200); /* let more requests pile up */
        while (batch) {
            struct job* j = batch;
            batch = j->next;
            if (j->msg->id < last)
                atomic_fetch_add(&e->out_of_order, 1);
            last = j->msg->id;
            answer(j->peer, j->msg);
            gr_msg_free(j->msg);
            gr_peer_unref(j->peer);
            gr_free(j);
        }
        pthread_mutex_lock(&e->mu);
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

static void
echo_start(struct echo* e, int port, int deferred)
{
    char addr[64];
    memset(e, 0, sizeof *e);
    e->deferred = deferred;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    gr_server_config cfg = {
        .listen = addr,
        .peer = { .on_message = on_message, .ctx = e },
    };
    assert_int_equal(gr_server_start(&cfg, &e->srv), 0);
    assert_int_equal(pthread_create(&e->replier, NULL, replier_main, e), 0);
}

static void
echo_stop(struct echo* e)
{
    gr_server_stop(e->srv); /* first: no new jobs after this */
    pthread_mutex_lock(&e->mu);
    e->stop = 1;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->replier, NULL);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
}

static void
on_state(void* ctx, gr_peer* p, int up)
{
    (void)p;
    struct echo* e = ctx;
    if (up)
        atomic_fetch_add(&e->ups, 1);
}

static gr_peer*
dial(int port, struct echo* client_ctx)
{
    char addr[64];
    gr_peer* p;
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    gr_peer_config cfg = {
        .on_state = on_state,
        .ctx = client_ctx,
        .backoff_min_ms = 20,
        .backoff_max_ms = 200,
    };
    assert_int_equal(gr_peer_dial(addr, &cfg, &p), 0);
    return p;
}

static int
ping(gr_peer* p, uint64_t nonce, int timeout_ms)
{
    char data[32];
    snprintf(data, sizeof data, "payload-%llu", (unsigned long long)nonce);
    Granary__Ping pg = GRANARY__PING__INIT;
    Granary__Envelope req = GRANARY__ENVELOPE__INIT;
    Granary__Envelope* rep;
    pg.nonce = nonce;
    pg.data.data = (uint8_t*)data;
    pg.data.len = strlen(data);
    req.body_case = GRANARY__ENVELOPE__BODY_PING;
    req.ping = &pg;
    int rc = gr_peer_call(p, &req, &rep, timeout_ms);
    if (rc)
        return rc;
    assert_int_equal(rep->reply_to, req.id);
    assert_int_equal(rep->body_case, GRANARY__ENVELOPE__BODY_PONG);
    assert_int_equal(rep->pong->nonce, nonce);
    assert_int_equal(rep->pong->data.len, strlen(data));
    assert_memory_equal(rep->pong->data.data, data, strlen(data));
    gr_msg_free(rep);
    return 0;
}

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
test_call(void** state)
{
    (void)state;
    struct echo e, c = { .ups = 0 };
    echo_start(&e, 0, 0);
    gr_peer* p = dial(gr_server_port(e.srv), &c);
    assert_int_equal(gr_peer_wait_up(p, 2000), 0);
    for (uint64_t i = 1; i <= 100; i++)
        assert_int_equal(ping(p, i, 2000), 0);
    /* any request type the server does not serve gets an Error reply */
    Granary__Envelope* envs[NET_TEST_NMSGS];
    Granary__Envelope* rep;
    net_test_msgs(envs);
    assert_int_equal(gr_peer_call(p, envs[6], &rep, 2000), 0);
    assert_int_equal(rep->body_case, GRANARY__ENVELOPE__BODY_ERROR);
    assert_int_equal(rep->error->code, -ENOSYS);
    gr_msg_free(rep);
    assert_int_equal(gr_server_conns(e.srv), 1);
    char addr[64];
    gr_peer_addr(p, addr, sizeof addr);
    assert_non_null(strstr(addr, "127.0.0.1:"));
    gr_peer_close(p);
    /* the server notices and reaps the connection */
    int64_t t0 = now_ms();
    while (gr_server_conns(e.srv) > 0 && now_ms() - t0 < 3000)
        usleep(10000);
    assert_int_equal(gr_server_conns(e.srv), 0);
    echo_stop(&e);
}

struct caller
{
    gr_peer* p;
    int id;
    int n;
    int failures;
};

static void*
caller_main(void* arg)
{
    struct caller* c = arg;
    for (int i = 0; i < c->n; i++)
        if (ping(c->p, (uint64_t)c->id << 32 | (uint64_t)i, 5000))
            c->failures++;
    return NULL;
}

static void
test_many_in_flight(void** state)
{
    (void)state;
    enum
    {
        NTHREADS = 16,
        NCALLS = 150
    };
    struct echo e, cctx = { .ups = 0 };
    echo_start(&e, 0, 1);
    gr_peer* p = dial(gr_server_port(e.srv), &cctx);
    pthread_t th[NTHREADS];
    struct caller c[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        c[i] = (struct caller){ .p = p, .id = i + 1, .n = NCALLS };
        assert_int_equal(pthread_create(&th[i], NULL, caller_main, &c[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(c[i].failures, 0);
    }
    /* replies really did come back in a different order than asked */
    assert_true(atomic_load(&e.out_of_order) > 0);
    gr_peer_close(p);
    echo_stop(&e);
}

static void
test_call_timeout(void** state)
{
    (void)state;
    struct echo e, c = { .ups = 0 };
    echo_start(&e, 0, 0);
    gr_peer* p = dial(gr_server_port(e.srv), &c);
    int64_t t0 = now_ms();
    assert_int_equal(ping(p, SILENT_NONCE, 300), -ETIMEDOUT);
    int64_t took = now_ms() - t0;
    assert_true(took >= 290 && took < 3000);
    assert_int_equal(ping(p, 1, 2000), 0); /* the connection still works */
    gr_peer_close(p);
    echo_stop(&e);

    /* nobody listening: bounded too */
    struct echo dead;
    echo_start(&dead, 0, 0);
    int port = gr_server_port(dead.srv);
    echo_stop(&dead);
    p = dial(port, &c);
    t0 = now_ms();
    assert_int_equal(ping(p, 1, 300), -ETIMEDOUT);
    assert_true(now_ms() - t0 < 3000);
    assert_int_equal(gr_peer_wait_up(p, 100), -ETIMEDOUT);
    gr_peer_close(p);
}

static void
test_reconnect(void** state)
{
    (void)state;
    struct echo e, c = { .ups = 0 };
    echo_start(&e, 0, 0);
    int port = gr_server_port(e.srv);
    gr_peer* p = dial(port, &c);
    assert_int_equal(ping(p, 1, 2000), 0);
    echo_stop(&e);
    /* down: the call fails (reset in flight, no connection in time, or
     * the send hitting the closed socket: which one depends on timing) */
    int rc = ping(p, 2, 200);
    if (rc >= 0)
        fail_msg("ping to a stopped server returned %d", rc);
    echo_start(&e, port, 0);
    assert_int_equal(ping(p, 3, 5000), 0);
    assert_true(atomic_load(&c.ups) >= 2);
    gr_peer_close(p);
    echo_stop(&e);
}

/* Closing a peer with calls in flight fails them with -ECANCELED. */
static void*
silent_caller(void* arg)
{
    gr_peer* p = arg;
    return (void*)(intptr_t)ping(p, SILENT_NONCE, 10000);
}

static void
test_close_cancels(void** state)
{
    (void)state;
    struct echo e, c = { .ups = 0 };
    echo_start(&e, 0, 0);
    gr_peer* p = dial(gr_server_port(e.srv), &c);
    assert_int_equal(gr_peer_wait_up(p, 2000), 0);
    gr_peer_ref(p);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, silent_caller, p), 0);
    usleep(100000);
    gr_peer_close(p);
    void* ret;
    pthread_join(th, &ret);
    assert_int_equal((int)(intptr_t)ret, -ECANCELED);
    assert_int_equal(ping(p, 1, 100), -ECANCELED);
    gr_peer_unref(p);
    echo_stop(&e);
}

/* Malformed and truncated input from raw clients: each is rejected, the
 * server stays up and serves the next connection. */
static void
test_server_survives_garbage(void** state)
{
    (void)state;
    struct echo e, c = { .ups = 0 };
    echo_start(&e, 0, 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", gr_server_port(e.srv));
    gr_conn* raw;
    Granary__Envelope* got;

    /* bad magic: the server drops the connection */
    static const uint8_t junk[] = "GET / HTTP/1.1\r\n\r\n";
    assert_int_equal(gr_conn_connect(addr, 1000, 0, &raw), 0);
    assert_int_equal(gr_conn_send_raw(raw, junk, sizeof junk, 1000), 0);
    assert_int_equal(gr_conn_recv(raw, &got, 2000), GR_NET_ECLOSED);
    gr_conn_close(raw);

    /* oversize: same */
    uint8_t hdr[GR_NET_HEADER_SIZE];
    gr_frame_header_write(hdr, 0xFFFFFFF0u);
    assert_int_equal(gr_conn_connect(addr, 1000, 0, &raw), 0);
    assert_int_equal(gr_conn_send_raw(raw, hdr, sizeof hdr, 1000), 0);
    assert_int_equal(gr_conn_recv(raw, &got, 2000), GR_NET_ECLOSED);
    gr_conn_close(raw);

    /* truncated: half a frame, then the client vanishes */
    gr_frame_header_write(hdr, 100);
    assert_int_equal(gr_conn_connect(addr, 1000, 0, &raw), 0);
    assert_int_equal(gr_conn_send_raw(raw, hdr, sizeof hdr, 1000), 0);
    assert_int_equal(gr_conn_send_raw(raw, junk, 10, 1000), 0);
    gr_conn_close(raw);

    /* garbage payload in a good frame: an Error back, connection kept */
    uint8_t bad[GR_NET_HEADER_SIZE + 4] = { 0 };
    gr_frame_header_write(bad, 4);
    memset(bad + GR_NET_HEADER_SIZE, 0xff, 4);
    assert_int_equal(gr_conn_connect(addr, 1000, 0, &raw), 0);
    assert_int_equal(gr_conn_send_raw(raw, bad, sizeof bad, 1000), 0);
    assert_int_equal(gr_conn_recv(raw, &got, 2000), 0);
    assert_int_equal(got->body_case, GRANARY__ENVELOPE__BODY_ERROR);
    assert_int_equal(got->error->code, GR_NET_EDECODE);
    gr_msg_free(got);
    Granary__Envelope* envs[NET_TEST_NMSGS];
    net_test_msgs(envs);
    envs[11]->id = 77;
    envs[11]->reply_to = 0;
    assert_int_equal(gr_conn_send(raw, envs[11], 1000), 0);
    assert_int_equal(gr_conn_recv(raw, &got, 2000), 0);
    assert_int_equal(got->body_case, GRANARY__ENVELOPE__BODY_PONG);
    assert_int_equal(got->reply_to, 77);
    gr_msg_free(got);
    gr_conn_close(raw);

    /* and a well-behaved peer is served as before */
    gr_peer* p = dial(gr_server_port(e.srv), &c);
    assert_int_equal(ping(p, 9, 2000), 0);
    gr_peer_close(p);
    echo_stop(&e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call),
        cmocka_unit_test(test_many_in_flight),
        cmocka_unit_test(test_call_timeout),
        cmocka_unit_test(test_reconnect),
        cmocka_unit_test(test_close_cancels),
        cmocka_unit_test(test_server_survives_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
