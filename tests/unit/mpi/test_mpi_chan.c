/* SPDX-License-Identifier: Apache-2.0 */
/* src/mpi's same-host channels on host threads: a pair's order holds when
 * its messages mix the lock-free ring (full, so also its overflow list)
 * with the locked way (long, synchronous, eager copies); tag selection
 * past ring records; probes and tests see records; truncation; a sleeping
 * receiver is woken by a record (no lost wake-up over many round trips);
 * a receiver that detaches fails the synchronous sends in its overflow. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "mpi/mpi.h"

struct th
{
    gr_mpi_world* w;
    int rank;
    int rc;
    int n;
    int done; /* atomic */
};

static gr_mpi_rank*
attach(gr_mpi_world* w, int i)
{
    gr_mpi_rank* r = gr_mpi_world_rank_at(w, i);
    assert_int_equal(gr_mpi_rank_attach(r), 0);
    return r;
}

static void
join_within(pthread_t t, int seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += seconds;
    if (pthread_timedjoin_np(t, NULL, &ts) != 0)
        fail_msg("thread still blocked after %d s", seconds);
}

/* Message i of the flood: its length and mode. */
static size_t
flood_len(int i)
{
    static const size_t lens[] = { 0, 8, 1024, 1025, 3000, 8, 200000, 17 };
    return lens[i % 8];
}

static void
fill(uint8_t* b, size_t n, int i)
{
    for (size_t k = 0; k < n; k++)
        b[k] = (uint8_t)(i * 7 + k);
}

static void
check(const uint8_t* b, size_t n, int i)
{
    for (size_t k = 0; k < n; k++)
        if (b[k] != (uint8_t)(i * 7 + k))
            fail_msg("message %d: byte %zu is %u", i, k, b[k]);
}

#define FLOOD 400

static uint8_t flood_buf[FLOOD][200000];

/* Rank 1 sends FLOOD messages to rank 0 without waiting for them: small
 * ones (the ring, until it is full, then the overflow list), eager
 * copies, and every 16th a synchronous isend of 200 KB (rendezvous),
 * then waits for all. */
static void*
flooder(void* p)
{
    struct th* t = p;
    gr_mpi_rank* r = attach(t->w, 1);
    int32_t reqs[FLOOD];
    int nreq = 0;
    for (int i = 0; i < FLOOD && t->rc == 0; i++) {
        size_t n = flood_len(i);
        fill(flood_buf[i], n, i);
        if (i % 8 == 6) {
            t->rc = gr_mpi_rank_isend(r,
                                      flood_buf[i],
                                      n,
                                      0,
                                      i % 3,
                                      5,
                                      i % 16 == 6 ? GR_MPI_MODE_SYNC : 0,
                                      &reqs[nreq++]);
        } else {
            t->rc = gr_mpi_rank_send(r, flood_buf[i], n, 0, i % 3, 5, 0);
        }
    }
    __atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < nreq && t->rc == 0; i++)
        t->rc = gr_mpi_rank_wait(r, reqs[i], NULL);
    gr_mpi_rank_detach(r);
    return NULL;
}

static void
flood_order(uint64_t spin_ns)
{
    gr_mpi_world* w;
    assert_int_equal(gr_mpi_world_create(2, &w), 0);
    gr_mpi_world_set_spin(w, spin_ns);
    struct th t = { w, 1, 0, 0, 0 };
    pthread_t id;
    pthread_create(&id, NULL, flooder, &t);
    gr_mpi_rank* r0 = attach(w, 0);
    /* let the ring fill and the overflow list grow first (the sender only
     * blocks on its synchronous sends' wait at the end) */
    for (int k = 0; k < 2000 && !__atomic_load_n(&t.done, __ATOMIC_ACQUIRE);
         k++) {
        struct timespec ts = { 0, 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    static uint8_t buf[200000];
    /* tag 2 first: the receive looks past records of tags 0 and 1 */
    int next[3] = { 0, 1, 2 }; /* per tag: the next message index */
    for (int pass = 0; pass < 2; pass++) {
        for (int tag = 2; tag >= 0; tag--) {
            if (pass == 0 && tag != 2)
                continue;
            for (; next[tag] < FLOOD; next[tag] += 3) {
                int i = next[tag];
                gr_mpi_status st;
                int src = i % 2 ? 1 : GR_MPI_ANY_SOURCE;
                /* a small buffer takes records without the lock */
                size_t cap = flood_len(i) <= 1024 ? 1024 : sizeof buf;
                assert_int_equal(
                  gr_mpi_rank_recv(r0, buf, cap, src, tag, 5, &st), 0);
                assert_int_equal(st.source, 1);
                assert_int_equal(st.tag, tag);
                assert_int_equal(st.bytes, (int64_t)flood_len(i));
                check(buf, flood_len(i), i);
            }
        }
    }
    join_within(id, 60);
    assert_int_equal(t.rc, 0);
    gr_mpi_rank_detach(r0);
    gr_mpi_world_destroy(w);
}

static void
test_flood_order_sleeping(void** state)
{
    (void)state;
    flood_order(0);
}

static void
test_flood_order_polling(void** state)
{
    (void)state;
    flood_order(1000 * 1000);
}

/* Sends of one pair in order: a long eager copy (locked, into the
 * unexpected queue while the ring is empty) then a record; a record then
 * a long one (into the overflow list) then a record. Any-tag receives get
 * them in order. */
static void
test_mixed_order(void** state)
{
    (void)state;
    gr_mpi_world* w;
    assert_int_equal(gr_mpi_world_create(2, &w), 0);
    gr_mpi_rank* r0 = attach(w, 0);
    gr_mpi_rank* r1 = attach(w, 1); /* same thread: sends never block */
    static uint8_t a[4000], b[4000];
    const size_t lens[] = { 2000, 8, 8, 3000, 8, 0 };
    for (int i = 0; i < 6; i++) {
        fill(a, lens[i], i);
        assert_int_equal(gr_mpi_rank_send(r1, a, lens[i], 0, i, 1, 0), 0);
    }
    for (int i = 0; i < 6; i++) {
        gr_mpi_status st;
        int src = i % 2 ? GR_MPI_ANY_SOURCE : 1;
        size_t cap = lens[i] <= 1024 ? 1024 : sizeof b;
        assert_int_equal(
          gr_mpi_rank_recv(r0, b, cap, src, GR_MPI_ANY_TAG, 1, &st), 0);
        assert_int_equal(st.tag, i);
        assert_int_equal(st.bytes, (int64_t)lens[i]);
        check(b, lens[i], i);
    }
    /* truncation through the ring: the first bytes, the true length */
    fill(a, 100, 9);
    assert_int_equal(gr_mpi_rank_send(r1, a, 100, 0, 3, 1, 0), 0);
    gr_mpi_status st;
    memset(b, 0, 20);
    assert_int_equal(gr_mpi_rank_recv(r0, b, 10, 1, 3, 1, &st),
                     GR_MPI_ERR_TRUNCATE);
    assert_int_equal(st.bytes, 100);
    check(b, 10, 9);
    assert_int_equal(b[10], 0);
    /* a probe and a test see records */
    assert_int_equal(gr_mpi_rank_probe(r0, 1, 4, 1, 0, &st), 0);
    assert_int_equal(gr_mpi_rank_send(r1, a, 8, 0, 4, 1, 0), 0);
    assert_int_equal(gr_mpi_rank_probe(r0, 1, 4, 1, 0, &st), 1);
    assert_int_equal(st.bytes, 8);
    int32_t m;
    assert_int_equal(gr_mpi_rank_mprobe(r0, 1, 4, 1, 1, &m, &st), 1);
    int32_t req;
    assert_int_equal(gr_mpi_rank_irecv(r0, b, 8, 1, 4, 1, &req), 0);
    assert_int_equal(gr_mpi_rank_test(r0, req, &st), 0);
    assert_int_equal(gr_mpi_rank_send(r1, a, 8, 0, 4, 1, 0), 0);
    assert_int_equal(gr_mpi_rank_test(r0, req, &st), 1);
    assert_int_equal(gr_mpi_rank_mrecv(r0, b, 8, m, &st), 0);
    check(b, 8, 9);
    /* a long send finds its receive posted while a record of the pair is
     * still in the ring: straight into that receive when the record
     * cannot match it (tag 7 vs 8), else behind the record (any tag) */
    fill(a, 3000, 5);
    assert_int_equal(gr_mpi_rank_irecv(r0, b, sizeof b, 1, 8, 1, &req), 0);
    assert_int_equal(gr_mpi_rank_send(r1, a, 8, 0, 7, 1, 0), 0);
    assert_int_equal(gr_mpi_rank_send(r1, a, 3000, 0, 8, 1, 0), 0);
    assert_int_equal(gr_mpi_rank_wait(r0, req, &st), 0);
    assert_int_equal(st.bytes, 3000);
    check(b, 3000, 5);
    assert_int_equal(gr_mpi_rank_recv(r0, b, 8, 1, 7, 1, &st), 0);
    assert_int_equal(st.bytes, 8);
    assert_int_equal(
      gr_mpi_rank_irecv(r0, b, sizeof b, 1, GR_MPI_ANY_TAG, 1, &req), 0);
    assert_int_equal(gr_mpi_rank_send(r1, a, 8, 0, 9, 1, 0), 0);
    assert_int_equal(gr_mpi_rank_send(r1, a, 3000, 0, 9, 1, 0), 0);
    assert_int_equal(gr_mpi_rank_wait(r0, req, &st), 0);
    assert_int_equal(st.bytes, 8); /* the older message first */
    assert_int_equal(
      gr_mpi_rank_recv(r0, b, sizeof b, 1, GR_MPI_ANY_TAG, 1, &st), 0);
    assert_int_equal(st.bytes, 3000);
    check(b, 3000, 5);
    gr_mpi_rank_detach(r1);
    gr_mpi_rank_detach(r0);
    gr_mpi_world_destroy(w);
}

#define ROUNDS 3000

static void*
pinger(void* p)
{
    struct th* t = p;
    gr_mpi_rank* r = attach(t->w, t->rank);
    int peer = 1 - t->rank;
    uint32_t v = 0;
    for (int i = 0; i < t->n && t->rc == 0; i++) {
        if (t->rank == 0) {
            v = (uint32_t)i;
            t->rc = gr_mpi_rank_send(r, &v, 4, peer, 0, 0, 0);
            if (t->rc == 0)
                t->rc = gr_mpi_rank_recv(r, &v, 4, peer, 0, 0, NULL);
            if (t->rc == 0 && v != (uint32_t)i + 1)
                t->rc = -999;
        } else {
            t->rc = gr_mpi_rank_recv(r, &v, 4, peer, 0, 0, NULL);
            v++;
            if (t->rc == 0)
                t->rc = gr_mpi_rank_send(r, &v, 4, peer, 0, 0, 0);
        }
    }
    gr_mpi_rank_detach(r);
    return NULL;
}

/* Receivers that sleep at once (no polling) are woken by every record:
 * a lost wake-up would hang a round trip. */
static void
test_pingpong_sleeping(void** state)
{
    (void)state;
    gr_mpi_world* w;
    assert_int_equal(gr_mpi_world_create(2, &w), 0);
    gr_mpi_world_set_spin(w, 0);
    struct th t[2] = { { w, 0, 0, ROUNDS, 0 }, { w, 1, 0, ROUNDS, 0 } };
    pthread_t id[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&id[i], NULL, pinger, &t[i]);
    for (int i = 0; i < 2; i++)
        join_within(id[i], 120);
    assert_int_equal(t[0].rc, 0);
    assert_int_equal(t[1].rc, 0);
    gr_mpi_world_destroy(w);
}

static void*
sync_into_overflow(void* p)
{
    struct th* t = p;
    gr_mpi_rank* r = attach(t->w, 1);
    static uint8_t big[100000];
    char small[8] = { 0 };
    t->rc = gr_mpi_rank_send(r, small, 8, 0, 0, 0, 0); /* a record */
    int32_t req;
    if (t->rc == 0) /* queued behind it, in the overflow list */
        t->rc = gr_mpi_rank_isend(r, big, sizeof big, 0, 0, 0, 1, &req);
    __atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
    if (t->rc == 0)
        t->rc = gr_mpi_rank_wait(r, req, NULL);
    gr_mpi_rank_detach(r);
    return NULL;
}

/* A receiver that ends with a synchronous send in its overflow list
 * fails that send (it never waits forever). */
static void
test_detach_fails_overflow_send(void** state)
{
    (void)state;
    gr_mpi_world* w;
    assert_int_equal(gr_mpi_world_create(2, &w), 0);
    gr_mpi_rank* r0 = attach(w, 0);
    struct th t = { w, 1, 0, 0, 0 };
    pthread_t id;
    pthread_create(&id, NULL, sync_into_overflow, &t);
    while (!__atomic_load_n(&t.done, __ATOMIC_ACQUIRE)) {
        struct timespec ts = { 0, 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    gr_mpi_rank_detach(r0); /* never receives */
    join_within(id, 30);
    assert_int_equal(t.rc, GR_MPI_ERR_RANK);
    gr_mpi_world_destroy(w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flood_order_sleeping),
        cmocka_unit_test(test_flood_order_polling),
        cmocka_unit_test(test_mixed_order),
        cmocka_unit_test(test_pingpong_sleeping),
        cmocka_unit_test(test_detach_fails_overflow_send),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
