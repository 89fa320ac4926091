/* SPDX-License-Identifier: Apache-2.0 */
/* Cooperative reading of a peer (gr_peer_poll): a polling thread handles
 * the frames itself, in order and each once; the reader thread takes over
 * when the lease runs out or is given up, and reports a connection that
 * ends under a poll. Over loopback TCP: the test writes raw frames into
 * the far end of a dialed peer. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "net/net.h"

#define MS 1000000ull

struct rec
{
    pthread_mutex_t mu;
    pthread_t poller;   /* the thread that polls (set before polling) */
    uint64_t next;      /* the nonce expected next */
    int by_poller;      /* handled on the polling thread */
    int by_reader;      /* handled on any other thread */
    int out_of_order;   /* nonces not seen in sending order */
    atomic_int handled; /* frames handled */
    atomic_int downs;   /* the connection ended (on_state 0) */
};

static void
on_message(void* ctx, gr_peer* p, Granary__Envelope* m)
{
    (void)p;
    struct rec* r = ctx;
    pthread_mutex_lock(&r->mu);
    if (m->body_case != GRANARY__ENVELOPE__BODY_PING ||
        m->ping->nonce != r->next)
        r->out_of_order++;
    r->next++;
    if (pthread_equal(pthread_self(), r->poller))
        r->by_poller++;
    else
        r->by_reader++;
    pthread_mutex_unlock(&r->mu);
    atomic_fetch_add(&r->handled, 1);
    gr_msg_free(m);
}

static void
on_state(void* ctx, gr_peer* p, int up)
{
    (void)p;
    struct rec* r = ctx;
    if (!up)
        atomic_fetch_add(&r->downs, 1);
}

struct pair
{
    struct rec r;
    gr_peer* p; /* dialed: reads what w writes */
    gr_conn* w; /* the accepted far end */
    int lfd;
};

static void
pair_open(struct pair* x)
{
    memset(x, 0, sizeof *x);
    pthread_mutex_init(&x->r.mu, NULL);
    x->r.poller = pthread_self();
    x->r.next = 1;
    x->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t n = sizeof a;
    assert_true(x->lfd >= 0);
    assert_int_equal(bind(x->lfd, (struct sockaddr*)&a, sizeof a), 0);
    assert_int_equal(listen(x->lfd, 1), 0);
    assert_int_equal(getsockname(x->lfd, (struct sockaddr*)&a, &n), 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ntohs(a.sin_port));
    gr_peer_config cfg = { .on_message = on_message,
                           .on_state = on_state,
                           .ctx = &x->r };
    assert_int_equal(gr_peer_dial(addr, &cfg, &x->p), 0);
    int fd = accept(x->lfd, NULL, NULL);
    assert_true(fd >= 0);
    assert_int_equal(gr_conn_open(fd, 0, &x->w), 0);
    assert_int_equal(gr_peer_wait_up(x->p, 5000), 0);
}

static void
pair_close(struct pair* x)
{
    gr_peer_close(x->p);
    gr_conn_close(x->w);
    close(x->lfd);
    pthread_mutex_destroy(&x->r.mu);
}

static void
send_ping(struct pair* x, uint64_t nonce)
{
    Granary__Ping pg = GRANARY__PING__INIT;
    Granary__Envelope env = GRANARY__ENVELOPE__INIT;
    pg.nonce = nonce;
    env.body_case = GRANARY__ENVELOPE__BODY_PING;
    env.ping = &pg;
    assert_int_equal(gr_conn_send(x->w, &env, 5000), 0);
}

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Waits (without polling) until n frames were handled; 0 on time-out. */
static int
wait_handled(struct rec* r, int n, uint64_t timeout_ns)
{
    uint64_t end = now_ns() + timeout_ns;
    while (atomic_load(&r->handled) < n)
        if (now_ns() > end)
            return 0;
        else
            usleep(1000);
    return 1;
}

/* Frames sent one at a time while this thread polls: all handled once, in
 * order; the reader thread, in poll() when the lease was taken, wakes for
 * the first frame at most, then stays off: every other frame is handled
 * on the polling thread. */
static void
test_poller_handles_in_order(void** state)
{
    (void)state;
    struct pair x;
    pair_open(&x);
    enum
    {
        N = 500
    };
    gr_peer_poll(x.p, 10000 * MS); /* the lease, before any frame */
    for (uint64_t i = 1; i <= N; i++) {
        send_ping(&x, i);
        uint64_t end = now_ns() + 10000 * MS;
        while (atomic_load(&x.r.handled) < (int)i) {
            gr_peer_poll(x.p, 10000 * MS);
            assert_true(now_ns() < end);
        }
    }
    assert_int_equal(x.r.out_of_order, 0);
    assert_int_equal(x.r.by_poller + x.r.by_reader, N);
    assert_true(x.r.by_reader <= 2);
    /* a burst is handled by one poll, in order */
    for (uint64_t i = N + 1; i <= N + 50; i++)
        send_ping(&x, i);
    uint64_t end = now_ns() + 10000 * MS;
    while (atomic_load(&x.r.handled) < N + 50) {
        gr_peer_poll(x.p, 10000 * MS);
        assert_true(now_ns() < end);
    }
    assert_int_equal(x.r.out_of_order, 0);
    pair_close(&x);
}

/* Nobody polls any more: the reader thread takes over when the lease runs
 * out, or at once when it is given up. */
static void
test_reader_takes_over(void** state)
{
    (void)state;
    struct pair x;
    pair_open(&x);
    gr_peer_poll(x.p, 50 * MS);
    send_ping(&x, 1);
    assert_true(wait_handled(&x.r, 1, 10000 * MS));
    /* a lease far longer than the test, given up */
    gr_peer_poll(x.p, 3600000 * MS);
    gr_peer_unlease(x.p);
    send_ping(&x, 2);
    assert_true(wait_handled(&x.r, 2, 10000 * MS));
    assert_int_equal(x.r.by_reader, 2);
    assert_int_equal(x.r.out_of_order, 0);
    pair_close(&x);
}

/* The far end closes while this thread polls (renewing a long lease all
 * the time): the poll reports nothing, and the reader thread reports the
 * end all the same (it once stayed parked under the renewed lease). */
static void
test_end_under_poll(void** state)
{
    (void)state;
    struct pair x;
    pair_open(&x);
    send_ping(&x, 1);
    uint64_t end = now_ns() + 10000 * MS;
    while (atomic_load(&x.r.handled) < 1) {
        gr_peer_poll(x.p, 3600000 * MS);
        assert_true(now_ns() < end);
    }
    gr_conn_close(x.w);
    x.w = NULL;
    end = now_ns() + 10000 * MS;
    while (atomic_load(&x.r.downs) < 1) {
        /* without a pause: the lease is renewed all the time */
        assert_int_equal(gr_peer_poll(x.p, 3600000 * MS), 0);
        assert_true(now_ns() < end);
    }
    pair_close(&x);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poller_handles_in_order),
        cmocka_unit_test(test_reader_takes_over),
        cmocka_unit_test(test_end_under_poll),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
