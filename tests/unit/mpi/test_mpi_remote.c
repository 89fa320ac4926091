/* SPDX-License-Identifier: Apache-2.0 */
/* src/mpi/remote.c in one process: three hosts on loopback, each with its
 * own listener and its part of one world (rank i on host i). Every rank
 * sends to every other one a run of messages, eager and rendezvous mixed,
 * and receives each peer's in the order sent; afterwards each pair of
 * hosts has shared one connection (host i's listener holds i: one from
 * every lower host). A host that fails ends the world on the others. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "mpi/mpi.h"

enum
{
    HOSTS = 3,
    MSGS = 200,
    BIG = 96 * 1024, /* above the eager limit: offered, then streamed */
};

struct host
{
    gr_mpi_net* net;
    gr_mpi_world* w;
    int rank;
    int rc;
};

static struct host hosts[HOSTS];
static char addr_buf[HOSTS][32];
static const char* addrs[HOSTS];

static size_t
msg_len(int i)
{
    return i % 7 == 3 ? BIG : (size_t)(i % 5) * 3;
}

static void
fill(uint8_t* b, size_t n, int from, int i)
{
    for (size_t k = 0; k < n; k++)
        b[k] = (uint8_t)(from * 31 + i + k);
}

static void*
rank_main(void* arg)
{
    struct host* h = arg;
    gr_mpi_rank* r = gr_mpi_world_rank_at(h->w, h->rank);
    if ((h->rc = gr_mpi_rank_attach(r)))
        return NULL;
    uint8_t* out = malloc(BIG);
    uint8_t* in = malloc(BIG);
    uint8_t* want = malloc(BIG);
    int32_t req[HOSTS];
    /* rank by rank: all sends non-blocking, receives in order */
    for (int i = 0; i < MSGS && !h->rc; i++) {
        size_t n = msg_len(i);
        fill(out, n, h->rank, i);
        int k = 0;
        for (int d = 0; d < HOSTS && !h->rc; d++)
            if (d != h->rank)
                h->rc = gr_mpi_rank_isend(r, out, n, d, i % 3, 0, 0, &req[k++]);
        for (int s = 0; s < HOSTS && !h->rc; s++) {
            if (s == h->rank)
                continue;
            gr_mpi_status st;
            h->rc = gr_mpi_rank_recv(r, in, BIG, s, GR_MPI_ANY_TAG, 0, &st);
            fill(want, n, s, i);
            if (!h->rc && (st.bytes != (int64_t)n || st.tag != i % 3 ||
                           memcmp(in, want, n)))
                h->rc = -1000 - i; /* out of order or corrupt */
        }
        for (int j = 0; j < k && !h->rc; j++)
            h->rc = gr_mpi_rank_wait(r, req[j], NULL);
    }
    gr_mpi_rank_detach(r);
    free(out);
    free(in);
    free(want);
    return NULL;
}

static void
start_hosts(uint64_t app)
{
    int map[HOSTS];
    for (int i = 0; i < HOSTS; i++) {
        assert_int_equal(gr_mpi_net_start("127.0.0.1:0", &hosts[i].net), 0);
        snprintf(addr_buf[i],
                 sizeof addr_buf[i],
                 "127.0.0.1:%d",
                 gr_mpi_net_port(hosts[i].net));
        addrs[i] = addr_buf[i];
        map[i] = i;
    }
    for (int i = 0; i < HOSTS; i++) {
        gr_mpi_hosts h = { .app = app,
                           .nhosts = HOSTS,
                           .self = i,
                           .rank_host = map,
                           .addrs = addrs,
                           .net = hosts[i].net };
        assert_int_equal(gr_mpi_world_create_hosts(HOSTS, &h, &hosts[i].w), 0);
        hosts[i].rank = i;
        hosts[i].rc = 0;
    }
}

static void
stop_hosts(void)
{
    for (int i = 0; i < HOSTS; i++)
        gr_mpi_world_destroy(hosts[i].w);
    for (int i = 0; i < HOSTS; i++)
        gr_mpi_net_stop(hosts[i].net);
}

static void
test_order_and_one_connection_per_pair(void** state)
{
    (void)state;
    start_hosts(41);
    pthread_t t[HOSTS];
    for (int i = 0; i < HOSTS; i++)
        pthread_create(&t[i], NULL, rank_main, &hosts[i]);
    for (int i = 0; i < HOSTS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < HOSTS; i++) {
        assert_int_equal(hosts[i].rc, 0);
        /* both ways on the connection the lower host dialed */
        assert_int_equal(gr_mpi_net_conns(hosts[i].net), i);
    }
    stop_hosts();
}

static void*
blocked_recv(void* arg)
{
    struct host* h = arg;
    gr_mpi_rank* r = gr_mpi_world_rank_at(h->w, h->rank);
    if ((h->rc = gr_mpi_rank_attach(r)))
        return NULL;
    char b[8];
    h->rc = gr_mpi_rank_recv(r, b, sizeof b, 0, 0, 0, NULL);
    gr_mpi_rank_detach(r);
    return NULL;
}

static void
test_failure_reaches_every_host(void** state)
{
    (void)state;
    start_hosts(42);
    pthread_t t[HOSTS];
    for (int i = 1; i < HOSTS; i++)
        pthread_create(&t[i], NULL, blocked_recv, &hosts[i]);
    /* the highest host fails (it dialed nobody) */
    gr_mpi_world_fail(hosts[2].w, 2, GR_MPI_FAIL_ABORT, 9, "abort");
    for (int i = 1; i < HOSTS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < HOSTS; i++) {
        gr_mpi_failure f;
        /* host 0 has no rank waiting: it learns from the message */
        for (int k = 0; k < 500 && !gr_mpi_world_failure(hosts[i].w, &f); k++) {
            struct timespec ts = { 0, 10 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
        assert_int_equal(gr_mpi_world_failure(hosts[i].w, &f), 1);
        assert_int_equal(f.kind, GR_MPI_FAIL_ABORT);
        assert_int_equal(f.rank, 2);
    }
    assert_int_equal(hosts[1].rc, GR_MPI_EWORLD);
    stop_hosts();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_one_connection_per_pair),
        cmocka_unit_test(test_failure_reaches_every_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
