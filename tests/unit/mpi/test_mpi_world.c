/* SPDX-License-Identifier: Apache-2.0 */
/* src/mpi on host threads: per-sender order under ANY_SOURCE with eager
 * and rendezvous messages mixed and copies racing; a world failure wakes
 * blocked calls; a deadline ends a blocked receive; a rank detaching
 * fails the rendezvous sends waiting for it and takes back its own. The
 * first three also with blocked ranks polling before they sleep. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "engine/rt.h"
#include "mpi/mpi.h"

#define MSGS 300

struct th
{
    gr_mpi_world* w;
    int rank;
    int rc;
};

static void*
sender(void* p)
{
    struct th* t = p;
    gr_mpi_rank* r = gr_mpi_world_rank_at(t->w, t->rank);
    assert_int_equal(gr_mpi_rank_attach(r), 0);
    static _Thread_local uint32_t buf[8192];
    for (int i = 0; i < MSGS && t->rc == 0; i++) {
        size_t n = i % 3 == 0 ? 8192 : 1 + (size_t)i % 17;
        for (size_t k = 0; k < n; k++)
            buf[k] = (uint32_t)(t->rank << 16 | i);
        int32_t req;
        if (i % 2)
            t->rc = gr_mpi_rank_send(r, buf, n * 4, 0, i % 5, 7, i % 4 == 1);
        else if ((t->rc = gr_mpi_rank_isend(
                    r, buf, n * 4, 0, i % 5, 7, 0, &req)) == 0)
            t->rc = gr_mpi_rank_wait(r, req, NULL);
    }
    gr_mpi_rank_detach(r);
    return NULL;
}

static void
order_any_source(uint64_t spin_ns)
{
    enum
    {
        N = 4
    };
    gr_mpi_world* w;
    assert_int_equal(gr_mpi_world_create(N, &w), 0);
    gr_mpi_world_set_eager_limit(w, 4096); /* 8192*4 B is rendezvous */
    gr_mpi_world_set_spin(w, spin_ns);
    struct th t[N];
    pthread_t id[N];
    for (int i = 1; i < N; i++) {
        t[i] = (struct th){ w, i, 0 };
        pthread_create(&id[i], NULL, sender, &t[i]);
    }
    gr_mpi_rank* r0 = gr_mpi_world_rank_at(w, 0);
    assert_int_equal(gr_mpi_rank_attach(r0), 0);
    static uint32_t buf[8192];
    int next[N] = { 0 };
    for (int i = 0; i < MSGS * (N - 1); i++) {
        gr_mpi_status st;
        int rc;
        if (i % 2) {
            rc = gr_mpi_rank_recv(
              r0, buf, sizeof buf, GR_MPI_ANY_SOURCE, GR_MPI_ANY_TAG, 7, &st);
        } else {
            int32_t m;
            assert_int_equal(
              gr_mpi_rank_mprobe(
                r0, GR_MPI_ANY_SOURCE, GR_MPI_ANY_TAG, 7, 1, &m, &st),
              1);
            rc = gr_mpi_rank_mrecv(r0, buf, sizeof buf, m, &st);
        }
        assert_int_equal(rc, 0);
        int s = st.source;
        assert_true(s >= 1 && s < N);
        assert_int_equal(buf[0], (uint32_t)(s << 16 | next[s]));
        assert_int_equal(st.tag, next[s] % 5);
        size_t n = next[s] % 3 == 0 ? 8192 : 1 + (size_t)next[s] % 17;
        assert_int_equal(st.bytes, (int64_t)(n * 4));
        assert_int_equal(buf[n - 1], buf[0]);
        next[s]++;
    }
    for (int i = 1; i < N; i++) {
        pthread_join(id[i], NULL);
        assert_int_equal(t[i].rc, 0);
        assert_int_equal(next[i], MSGS);
    }
    gr_mpi_rank_detach(r0);
    gr_mpi_world_destroy(w);
}

static void
test_order_any_source(void** state)
{
    (void)state;
    order_any_source(0); /* every wait sleeps at once */
}

/* Blocked ranks poll (without the lock) before sleeping: a wake-up that
 * comes between the last poll and the sleep must not be lost (it would
 * hang here), whether it comes during the poll or after it. */
static void
test_order_any_source_polling(void** state)
{
    (void)state;
    order_any_source(20 * 1000);                 /* polls then sleeps */
    order_any_source(5 * 1000 * 1000 * 1000ull); /* always woken polling */
}

static double
since(const struct timespec* t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) +
           (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void*
blocked_recv(void* p)
{
    struct th* t = p;
    gr_mpi_rank* r = gr_mpi_world_rank_at(t->w, t->rank);
    gr_mpi_rank_attach(r);
    char b[4];
    if (t->rank == 1)
        t->rc = gr_mpi_rank_recv(r, b, 4, 0, 0, 0, NULL);
    else
        t->rc = gr_mpi_rank_send(r, b, 1 << 20, 0, 0, 0, GR_MPI_MODE_SYNC);
    gr_mpi_rank_detach(r);
    return NULL;
}

static void
failure_wakes_blocked(uint64_t spin_ns)
{
    gr_mpi_world* w;
    assert_int_equal(gr_mpi_world_create(3, &w), 0);
    gr_mpi_world_set_spin(w, spin_ns);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct th t1 = { w, 1, 0 }, t2 = { w, 2, 0 };
    pthread_t a, b;
    pthread_create(&a, NULL, blocked_recv, &t1);
    pthread_create(&b, NULL, blocked_recv, &t2);
    struct timespec ts = { 0, 100 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    assert_int_equal(gr_mpi_world_fail(w, 0, GR_MPI_FAIL_TRAP, 0, "test"), 1);
    assert_int_equal(gr_mpi_world_fail(w, 1, GR_MPI_FAIL_EXIT, 3, NULL), 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    assert_true(since(&t0) < 30.0); /* woken, not at the end of a poll */
    assert_int_equal(t1.rc, GR_MPI_EWORLD);
    assert_int_equal(t2.rc, GR_MPI_EWORLD);
    gr_mpi_failure f;
    assert_int_equal(gr_mpi_world_failure(w, &f), 1);
    assert_int_equal(f.rank, 0);
    assert_int_equal(f.kind, GR_MPI_FAIL_TRAP);
    assert_string_equal(f.what, "test");
    gr_mpi_world_destroy(w);
}

static void
test_failure_wakes_blocked(void** state)
{
    (void)state;
    failure_wakes_blocked(0);
}

/* A failure ends calls that are polling too (a 60 s poll, 30 s bound). */
static void
test_failure_wakes_polling(void** state)
{
    (void)state;
    failure_wakes_blocked(60 * 1000 * 1000 * 1000ull);
}

struct dl
{
    gr_mpi_rank* r;
    int rc;
};

static void
recv_thunk(void* p)
{
    struct dl* d = p;
    char b[4];
    d->rc = gr_mpi_rank_recv(d->r, b, 4, 1, 0, 0, NULL);
}

static void
deadline_ends_recv(uint64_t spin_ns)
{
    gr_mpi_world* w;
    assert_int_equal(gr_mpi_world_create(2, &w), 0);
    gr_mpi_world_set_spin(w, spin_ns);
    struct dl d = { gr_mpi_world_rank_at(w, 0), 0 };
    gr_mpi_rank_attach(d.r);
    gr_trap trap;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(
      gr_rt_call_timeout(recv_thunk, &d, &trap, 200 * 1000 * 1000ull), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(d.rc, GR_MPI_EDEADLINE);
    double s =
      (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(s >= 0.19 && s < 5.0);
    gr_mpi_rank_detach(d.r);
    gr_mpi_world_destroy(w);
}

static void
test_deadline_ends_recv(void** state)
{
    (void)state;
    deadline_ends_recv(0);
}

/* A poll longer than the call's deadline stops at the deadline. */
static void
test_deadline_ends_polling(void** state)
{
    (void)state;
    deadline_ends_recv(60 * 1000 * 1000 * 1000ull);
}

static void*
late_detach(void* p)
{
    struct th* t = p;
    gr_mpi_rank* r = gr_mpi_world_rank_at(t->w, t->rank);
    gr_mpi_rank_attach(r);
    struct timespec ts = { 0, 100 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    gr_mpi_rank_detach(r); /* never receives */
    return NULL;
}

static void
test_detach_fails_waiting_sender(void** state)
{
    (void)state;
    gr_mpi_world* w;
    assert_int_equal(gr_mpi_world_create(2, &w), 0);
    struct th t1 = { w, 1, 0 };
    pthread_t a;
    pthread_create(&a, NULL, late_detach, &t1);
    gr_mpi_rank* r0 = gr_mpi_world_rank_at(w, 0);
    gr_mpi_rank_attach(r0);
    static char big[1 << 20];
    assert_int_equal(gr_mpi_rank_send(r0, big, sizeof big, 1, 0, 0, 0),
                     GR_MPI_ERR_RANK);
    pthread_join(a, NULL);
    /* a send to a detached rank fails at once; own requests are freed */
    int32_t req;
    assert_int_equal(gr_mpi_rank_isend(r0, big, 8, 1, 0, 0, 0, &req), 0);
    assert_int_equal(gr_mpi_rank_wait(r0, req, NULL), GR_MPI_ERR_RANK);
    assert_int_equal(gr_mpi_rank_irecv(r0, big, 8, 1, 0, 0, &req), 0);
    gr_mpi_rank_detach(r0); /* frees the posted receive */
    gr_mpi_world_destroy(w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_any_source),
        cmocka_unit_test(test_order_any_source_polling),
        cmocka_unit_test(test_failure_wakes_blocked),
        cmocka_unit_test(test_failure_wakes_polling),
        cmocka_unit_test(test_deadline_ends_recv),
        cmocka_unit_test(test_deadline_ends_polling),
        cmocka_unit_test(test_detach_fails_waiting_sender),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
