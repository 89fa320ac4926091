/* SPDX-License-Identifier: Apache-2.0 */
/* Test guest for the granary_mpi device (tests/integration/test_mpirun.c):
 * run under `granary mpirun -np N mpi_dev.wasm SCENARIO`; each scenario
 * checks its results and prints "ok <scenario>" on rank 0, or exits 1
 * after printing what went wrong. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <granary/mpi_host.h>

static int rank, size;

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            printf(                                                            \
              "rank %d: check failed at line %d: %s\n", rank, __LINE__, #c);   \
            fflush(stdout);                                                    \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* A barrier made of messages on ctx 99 (the device has none). */
static void
barrier(void)
{
    char b = 0;
    if (rank == 0) {
        for (int i = 1; i < size; i++)
            CHECK(gr_mpi_recv(&b, 1, i, 0, 99, NULL) == 0);
        for (int i = 1; i < size; i++)
            CHECK(gr_mpi_send(&b, 1, i, 0, 99, 0) == 0);
    } else {
        CHECK(gr_mpi_send(&b, 1, 0, 0, 99, 0) == 0);
        CHECK(gr_mpi_recv(&b, 1, 0, 0, 99, NULL) == 0);
    }
}

/* Non-overtaking: 200 messages from each sender with varying tags and
 * sizes (eager and rendezvous mixed) arrive in order per sender, with
 * ANY_SOURCE and ANY_TAG. */
static void
order(void)
{
    enum
    {
        N = 200
    };
    static int32_t big[40000];
    if (rank != 0) {
        for (int i = 0; i < N; i++) {
            int32_t n = i % 10 == 0 ? 40000 : 4;
            for (int k = 0; k < n; k++)
                big[k] = rank * 100000 + i;
            CHECK(gr_mpi_send(big, n * 4, 0, i % 7, 1, 0) == 0);
        }
    } else {
        int next[64] = { 0 };
        for (int i = 0; i < N * (size - 1); i++) {
            gr_mpi_status st;
            CHECK(
              gr_mpi_recv(
                big, sizeof big, GR_MPI_ANY_SOURCE, GR_MPI_ANY_TAG, 1, &st) ==
              0);
            int s = st.source;
            CHECK(s >= 1 && s < size);
            CHECK(big[0] == s * 100000 + next[s]);
            CHECK(st.tag == next[s] % 7);
            CHECK(st.bytes == (next[s] % 10 == 0 ? 160000 : 16));
            next[s]++;
        }
        for (int s = 1; s < size; s++)
            CHECK(next[s] == N);
    }
}

/* Tags select: rank 1 receives tag 7 before tag 5 although 5 came first;
 * contexts separate: a ctx 2 message does not match a ctx 1 receive. */
static void
tags(void)
{
    int a = 5, b = 7, c = 9, x;
    if (rank == 0) {
        CHECK(gr_mpi_send(&c, 4, 1, 5, 2, 0) == 0);
        CHECK(gr_mpi_send(&a, 4, 1, 5, 1, 0) == 0);
        CHECK(gr_mpi_send(&b, 4, 1, 7, 1, 0) == 0);
    } else if (rank == 1) {
        gr_mpi_status st;
        CHECK(gr_mpi_recv(&x, 4, 0, 7, 1, &st) == 0 && x == 7);
        CHECK(st.tag == 7 && st.source == 0 && st.bytes == 4);
        CHECK(gr_mpi_recv(&x, 4, 0, GR_MPI_ANY_TAG, 1, &st) == 0 && x == 5);
        CHECK(gr_mpi_recv(&x, 4, GR_MPI_ANY_SOURCE, 5, 2, &st) == 0 && x == 9);
        /* bad arguments */
        CHECK(gr_mpi_send(&x, 4, size, 0, 1, 0) == GR_MPI_ERR_RANK);
        CHECK(gr_mpi_send(&x, 4, 0, -3, 1, 0) == GR_MPI_ERR_TAG);
        CHECK(gr_mpi_send(&x, 4, 0, 0, 1, 9) == GR_MPI_ERR_ARG);
        CHECK(gr_mpi_recv(&x, 4, GR_MPI_PROC_NULL, 0, 1, &st) == 0);
        CHECK(st.source == GR_MPI_PROC_NULL && st.bytes == 0);
        CHECK(gr_mpi_send(&x, 4, GR_MPI_PROC_NULL, 0, 1, 0) == 0);
    }
}

/* probe, iprobe, mprobe/mrecv, truncation. */
static void
probe(void)
{
    char buf[300];
    if (rank == 0) {
        memset(buf, 'p', sizeof buf);
        CHECK(gr_mpi_send(buf, 100, 1, 3, 1, 0) == 0);
        CHECK(gr_mpi_send(buf, 200, 1, 4, 1, 0) == 0);
        CHECK(gr_mpi_send(buf, 300, 1, 5, 1, 0) == 0);
    } else if (rank == 1) {
        gr_mpi_status st;
        CHECK(gr_mpi_probe(0, 4, 1, 0, &st) >= 0);
        CHECK(gr_mpi_probe(0, 4, 1, 1, &st) == 1);
        CHECK(st.tag == 4 && st.bytes == 200 && st.source == 0);
        CHECK(gr_mpi_probe(0, 9, 1, 0, &st) == 0); /* no such tag */
        int32_t msg = -1;
        CHECK(gr_mpi_mprobe(GR_MPI_ANY_SOURCE, 4, 1, 1, &msg, &st) == 1);
        CHECK(msg >= 0 && st.bytes == 200);
        /* the mprobed message no longer matches */
        CHECK(gr_mpi_probe(0, 4, 1, 0, &st) == 0);
        memset(buf, 0, sizeof buf);
        CHECK(gr_mpi_mrecv(buf, sizeof buf, msg, &st) == 0);
        CHECK(buf[199] == 'p' && buf[200] == 0 && st.bytes == 200);
        CHECK(gr_mpi_mrecv(buf, sizeof buf, msg, &st) == GR_MPI_ERR_REQUEST);
        /* truncation: 300 bytes into 10 */
        memset(buf, 0, sizeof buf);
        CHECK(gr_mpi_recv(buf, 10, 0, 5, 1, &st) == GR_MPI_ERR_TRUNCATE);
        CHECK(st.bytes == 300 && buf[9] == 'p' && buf[10] == 0);
        CHECK(gr_mpi_recv(buf, sizeof buf, 0, 3, 1, &st) == 0);
        CHECK(st.bytes == 100);
    }
}

/* isend/irecv/waitany/testany/cancel. */
static void
nonblocking(void)
{
    if (rank == 0) {
        int32_t v[3] = { 0, 0, 0 }, reqs[4];
        reqs[0] = gr_mpi_irecv(&v[0], 4, 1, 1, 1);
        reqs[1] = -1;
        reqs[2] = gr_mpi_irecv(&v[1], 4, 1, 2, 1);
        reqs[3] = gr_mpi_irecv(&v[2], 4, 1, 3, 1); /* never sent: cancel */
        CHECK(reqs[0] >= 0 && reqs[2] >= 0 && reqs[3] >= 0);
        int32_t idx = -5;
        gr_mpi_status st;
        CHECK(gr_mpi_testany(reqs, 3, &idx, &st) == 0);
        char go = 1;
        CHECK(gr_mpi_send(&go, 1, 1, 0, 1, 0) == 0);
        /* rank 1 sends tag 2 first, then tag 1 */
        CHECK(gr_mpi_waitany(reqs, 3, &idx, &st) == 0);
        CHECK(idx == 2 && st.tag == 2 && v[1] == 22);
        reqs[2] = -1;
        CHECK(gr_mpi_send(&go, 1, 1, 0, 1, 0) == 0);
        CHECK(gr_mpi_waitany(reqs, 3, &idx, &st) == 0);
        CHECK(idx == 0 && st.tag == 1 && v[0] == 11);
        reqs[0] = -1;
        CHECK(gr_mpi_waitany(reqs, 3, &idx, &st) == 1 && idx == -1);
        CHECK(gr_mpi_cancel(reqs[3]) == 0);
        CHECK(gr_mpi_wait(reqs[3], &st) == 0 && st.cancelled == 1);
        CHECK(gr_mpi_wait(reqs[3], &st) == GR_MPI_ERR_REQUEST);
        CHECK(gr_mpi_test(12345, &st) == GR_MPI_ERR_REQUEST);
        /* isend to self, then test until done */
        int32_t x = 77, y = 0;
        int32_t r = gr_mpi_irecv(&y, 4, 0, 9, 1);
        int32_t s = gr_mpi_isend(&x, 4, 0, 9, 1, 0);
        CHECK(r >= 0 && s >= 0);
        while (gr_mpi_test(r, &st) == 0)
            ;
        CHECK(y == 77 && st.source == 0);
        CHECK(gr_mpi_wait(s, NULL) == 0);
    } else if (rank == 1) {
        char go;
        CHECK(gr_mpi_recv(&go, 1, 0, 0, 1, NULL) == 0);
        int32_t a = 22, b = 11;
        int32_t s1 = gr_mpi_isend(&a, 4, 0, 2, 1, 0);
        CHECK(gr_mpi_recv(&go, 1, 0, 0, 1, NULL) == 0);
        int32_t s2 = gr_mpi_isend(&b, 4, 0, 1, 1, 0);
        CHECK(s1 >= 0 && s2 >= 0);
        CHECK(gr_mpi_wait(s1, NULL) == 0 && gr_mpi_wait(s2, NULL) == 0);
    }
}

/* A synchronous send completes only once matched: rank 1 posts its
 * receive 300 ms late. A standard send of the same size does not wait. */
static void
sync_mode(void)
{
    int x = 1;
    if (rank == 0) {
        CHECK(gr_mpi_send(&x, 4, 1, 2, 1, 0) == 0); /* start */
        double t0 = now_s();
        CHECK(gr_mpi_send(&x, 4, 1, 0, 1, 0) == 0);
        double t_std = now_s() - t0;
        t0 = now_s();
        CHECK(gr_mpi_send(&x, 4, 1, 1, 1, GR_MPI_MODE_SYNC) == 0);
        double t_sync = now_s() - t0;
        CHECK(t_sync >= 0.25);
        printf("standard %.3f s, sync %.3f s\n", t_std, t_sync);
    } else if (rank == 1) {
        CHECK(gr_mpi_recv(&x, 4, 0, 2, 1, NULL) == 0);
        sleep_ms(300);
        CHECK(gr_mpi_recv(&x, 4, 0, 0, 1, NULL) == 0);
        CHECK(gr_mpi_recv(&x, 4, 0, 1, 1, NULL) == 0);
    }
}

/* 1 MiB messages (rendezvous) both ways, blocking and non-blocking,
 * receive posted first and sent first; contents checked. */
static void
big(void)
{
    enum
    {
        N = 1 << 20
    };
    static uint8_t a[N], b[N];
    int peer = rank ^ 1;
    if (peer >= size)
        return;
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++)
            a[i] = (uint8_t)(i * 7 + rank + round);
        memset(b, 0, N);
        gr_mpi_status st;
        if (round % 2 == 0) {
            /* both isend first: the receiver copies from sender memory */
            int32_t s = gr_mpi_isend(a, N, peer, round, 1, 0);
            CHECK(s >= 0);
            if (rank == 0)
                sleep_ms(50);
            CHECK(gr_mpi_recv(b, N, peer, round, 1, &st) == 0);
            CHECK(gr_mpi_wait(s, NULL) == 0);
        } else {
            /* receive posted first: the sender copies */
            int32_t r = gr_mpi_irecv(b, N, peer, round, 1);
            CHECK(r >= 0);
            barrier();
            CHECK(gr_mpi_send(a, N, peer, round, 1, 0) == 0);
            CHECK(gr_mpi_wait(r, &st) == 0);
        }
        CHECK(st.bytes == N && st.source == peer);
        for (int i = 0; i < N; i++)
            CHECK(b[i] == (uint8_t)(i * 7 + peer + round));
    }
}

/* Ping-pong between ranks 0 and 1: round-trip/2 latency per size and
 * bandwidth (for measurements; prints, checks nothing). */
static void
pingpong(void)
{
    static uint8_t buf[1 << 20];
    const int sizes[] = { 0, 8, 1024, 65536, 1 << 20 };
    if (rank > 1)
        return;
    for (int k = 0; k < 5; k++) {
        int n = sizes[k], iters = n >= 65536 ? 500 : 20000;
        for (int pass = 0; pass < 2; pass++) { /* warm-up, then measured */
            double t0 = now_s();
            for (int i = 0; i < iters; i++) {
                if (rank == 0) {
                    gr_mpi_send(buf, n, 1, 0, 1, 0);
                    gr_mpi_recv(buf, n, 1, 0, 1, NULL);
                } else {
                    gr_mpi_recv(buf, n, 0, 0, 1, NULL);
                    gr_mpi_send(buf, n, 0, 0, 1, 0);
                }
            }
            double t = now_s() - t0;
            if (pass == 1 && rank == 0)
                printf("pingpong %7d B: %8.2f us one-way, %8.1f MB/s\n",
                       n,
                       t / iters / 2 * 1e6,
                       n ? (double)n * iters * 2 / t / 1e6 : 0);
        }
    }
}

/* Bad guest pointers are GR_MPI_ERR_FAULT, never a crash. */
static void
badptr(void)
{
    void* bad = (void*)(uintptr_t)0xfffff000u;
    int32_t reqs[1] = { 0 }, idx;
    CHECK(gr_mpi_send(bad, 0x2000, 0, 0, 1, 0) == GR_MPI_ERR_FAULT);
    CHECK(gr_mpi_send(&idx, -1, 0, 0, 1, 0) == GR_MPI_ERR_FAULT);
    CHECK(gr_mpi_recv(bad, 0x2000, 0, 0, 1, NULL) == GR_MPI_ERR_FAULT);
    CHECK(gr_mpi_recv(&idx, 4, 0, 0, 1, bad) == GR_MPI_ERR_FAULT);
    CHECK(gr_mpi_isend(bad, 0x2000, 0, 0, 1, 0) == GR_MPI_ERR_FAULT);
    CHECK(gr_mpi_irecv(bad, 0x2000, 0, 0, 1) == GR_MPI_ERR_FAULT);
    CHECK(gr_mpi_wait(0, bad) == GR_MPI_ERR_FAULT);
    CHECK(gr_mpi_waitany(bad, 4, &idx, NULL) == GR_MPI_ERR_FAULT);
    CHECK(gr_mpi_waitany(reqs, 1, bad, NULL) == GR_MPI_ERR_FAULT);
    CHECK(gr_mpi_testany(reqs, 0x40000000, &idx, NULL) < 0);
    CHECK(gr_mpi_probe(0, 0, 1, 0, bad) == GR_MPI_ERR_FAULT);
    CHECK(gr_mpi_mprobe(0, 0, 1, 0, bad, NULL) == GR_MPI_ERR_FAULT);
    CHECK(gr_mpi_mrecv(bad, 0x2000, 0, NULL) == GR_MPI_ERR_FAULT);
    CHECK(gr_mpi_host_name(bad, 0x2000) == GR_MPI_ERR_FAULT);
    char name[64];
    CHECK(gr_mpi_host_name(name, sizeof name) > 0 && name[0]);
    CHECK(gr_mpi_rank_host(rank) == 0 && gr_mpi_host_count() == 1);
    CHECK(gr_mpi_rank_host(size) == GR_MPI_ERR_RANK);
}

/* Failure scenarios: the victim fails, every other rank blocks (in recv,
 * in a rendezvous send, in waitany, or spinning in guest code). */
static void
block_or_spin(void)
{
    static uint8_t m[1 << 20];
    volatile int spin = 1;
    switch (rank % 4) {
        case 0:
            gr_mpi_recv(m, 4, GR_MPI_ANY_SOURCE, 42, 1, NULL);
            break;
        case 1:
            gr_mpi_send(m, sizeof m, 0, 43, 1, 0);
            break;
        case 2: {
            int32_t r = gr_mpi_irecv(m, 4, 0, 44, 1), idx;
            gr_mpi_waitany(&r, 1, &idx, NULL);
            break;
        }
        default:
            while (spin)
                ;
    }
    printf("rank %d: blocking call returned\n", rank);
}

static int victim = -1;

static void
fail(const char* how)
{
    if (rank != victim) {
        block_or_spin();
        return;
    }
    sleep_ms(200); /* let the others block first */
    if (strcmp(how, "trap") == 0) {
        volatile int zero = 0, seven = 7;
        printf("%d\n", seven / zero);
    } else if (strcmp(how, "abort") == 0) {
        gr_mpi_abort(3);
    } else if (strcmp(how, "exit") == 0) {
        exit(4);
    }
}

int
main(int argc, char** argv)
{
    rank = gr_mpi_world_rank();
    size = gr_mpi_world_size();
    const char* what = argc > 1 ? argv[1] : "hello";
    if (argc > 2)
        victim = atoi(argv[2]);
    if (strcmp(what, "hello") == 0) {
        printf("hello from rank %d of %d\n", rank, size);
    } else if (strcmp(what, "order") == 0) {
        order();
    } else if (strcmp(what, "tags") == 0) {
        tags();
    } else if (strcmp(what, "probe") == 0) {
        probe();
    } else if (strcmp(what, "nonblocking") == 0) {
        nonblocking();
    } else if (strcmp(what, "sync") == 0) {
        sync_mode();
    } else if (strcmp(what, "big") == 0) {
        big();
    } else if (strcmp(what, "pingpong") == 0) {
        pingpong();
    } else if (strcmp(what, "badptr") == 0) {
        badptr();
    } else if (strcmp(what, "trap") == 0 || strcmp(what, "abort") == 0 ||
               strcmp(what, "exit") == 0) {
        fail(what);
    } else if (strcmp(what, "block") == 0) {
        block_or_spin(); /* with --timeout */
    } else if (strcmp(what, "exit-after-finalize") == 0) {
        gr_mpi_finalize();
        return rank == 1 ? 5 : 0;
    } else {
        printf("unknown scenario %s\n", what);
        return 2;
    }
    barrier();
    gr_mpi_finalize();
    if (rank == 0)
        printf("ok %s\n", what);
    return 0;
}
