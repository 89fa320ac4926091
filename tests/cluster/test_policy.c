/* SPDX-License-Identifier: Apache-2.0 */
/* Placement policies: bin-packing fills hosts in join order, keeps an app
 * together, prefers warm Faaslets, and overflows to the least loaded host;
 * spread picks the emptiest. */
#include <errno.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "cluster/cluster.h"

#define H(id_, slots_, used_, warm_, near_, order_)                            \
    {                                                                          \
        .id = id_, .slots = slots_, .used = used_, .warm_idle = warm_,         \
        .near = near_, .order = order_                                         \
    }

static void
test_binpack_fills_first_host(void** st)
{
    (void)st;
    const gr_cluster_policy* p = gr_cluster_policy_find("binpack");
    assert_non_null(p);
    gr_cluster_view v[] = { H("w2", 2, 0, 0, 0, 2), H("w1", 2, 1, 0, 0, 1) };
    assert_int_equal(p->choose(v, 2), 1); /* w1 joined first, has room */
    v[1].used = 2;
    assert_int_equal(p->choose(v, 2), 0); /* w1 full: next host */
}

static void
test_binpack_prefers_app_then_warm(void** st)
{
    (void)st;
    const gr_cluster_policy* p = gr_cluster_policy_find("binpack");
    gr_cluster_view v[] = { H("w1", 4, 0, 0, 0, 1),
                            H("w2", 4, 1, 1, 0, 2),
                            H("w3", 4, 1, 0, 1, 3) };
    assert_int_equal(p->choose(v, 3), 2); /* the parent's host */
    v[2].used = 4;                        /* ... unless it is full */
    assert_int_equal(p->choose(v, 3), 1); /* then a warm Faaslet */
}

static void
test_binpack_overflow_least_loaded(void** st)
{
    (void)st;
    const gr_cluster_policy* p = gr_cluster_policy_find("binpack");
    gr_cluster_view v[] = { H("w1", 2, 5, 0, 0, 1), H("w2", 4, 5, 0, 0, 2) };
    assert_int_equal(p->choose(v, 2), 1); /* 5/4 < 5/2 */
}

static void
test_spread(void** st)
{
    (void)st;
    const gr_cluster_policy* p = gr_cluster_policy_find("spread");
    assert_non_null(p);
    gr_cluster_view v[] = { H("w1", 4, 1, 0, 0, 1), H("w2", 4, 0, 0, 0, 2) };
    assert_int_equal(p->choose(v, 2), 1);
    assert_null(gr_cluster_policy_find("nope"));
}

/* MPI worlds: bin-pack fills hosts in join order with their free slots,
 * spread evens the ranks out, and a world that does not fit is refused
 * whole. */
static void
test_mpi_binpack(void** st)
{
    (void)st;
    gr_cluster_view v[] = { H("w2", 4, 0, 0, 0, 2),
                            H("w1", 4, 1, 0, 0, 1),
                            H("w3", 2, 0, 0, 0, 3) };
    int c[3];
    assert_int_equal(gr_cluster_mpi_place(v, 3, 3, 0, c), 0);
    assert_int_equal(c[1], 3); /* w1: its 3 free slots */
    assert_int_equal(c[0] + c[2], 0);
    assert_int_equal(gr_cluster_mpi_place(v, 3, 6, 0, c), 0);
    assert_int_equal(c[1], 3);
    assert_int_equal(c[0], 3); /* then w2, joined next */
    assert_int_equal(c[2], 0);
    assert_int_equal(gr_cluster_mpi_place(v, 3, 9, 0, c), 0);
    assert_int_equal(c[0] + c[1] + c[2], 9);
}

static void
test_mpi_spread(void** st)
{
    (void)st;
    gr_cluster_view v[] = { H("w1", 2, 0, 0, 0, 1),
                            H("w2", 4, 0, 0, 0, 2),
                            H("w3", 2, 1, 0, 0, 3) };
    int c[3];
    assert_int_equal(gr_cluster_mpi_place(v, 3, 3, 1, c), 0);
    assert_int_equal(c[1], 2); /* the most free slots: w2 twice */
    assert_int_equal(c[0], 1);
    assert_int_equal(c[2], 0);
    gr_cluster_view e[] = { H("w1", 2, 0, 0, 0, 1), H("w2", 2, 0, 0, 0, 2) };
    assert_int_equal(gr_cluster_mpi_place(e, 2, 2, 1, c), 0);
    assert_int_equal(c[0], 1);
    assert_int_equal(c[1], 1);
}

static void
test_mpi_refused(void** st)
{
    (void)st;
    gr_cluster_view v[] = { H("w1", 2, 1, 0, 0, 1), H("w2", 2, 2, 0, 0, 2) };
    int c[2] = { 7, 7 };
    assert_int_equal(gr_cluster_mpi_place(v, 2, 2, 0, c), -ENOSPC);
    assert_int_equal(c[0] + c[1], 0);
    assert_int_equal(gr_cluster_mpi_place(v, 2, 1, 1, c), 0);
    assert_int_equal(c[0], 1);
    assert_int_equal(gr_cluster_mpi_place(v, 0, 1, 0, c), -ENOSPC);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binpack_fills_first_host),
        cmocka_unit_test(test_binpack_prefers_app_then_warm),
        cmocka_unit_test(test_binpack_overflow_least_loaded),
        cmocka_unit_test(test_spread),
        cmocka_unit_test(test_mpi_binpack),
        cmocka_unit_test(test_mpi_spread),
        cmocka_unit_test(test_mpi_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
