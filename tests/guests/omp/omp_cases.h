/* SPDX-License-Identifier: Apache-2.0 */
/* The cases of the omp_constructs guest (omp_constructs.c), for the tests
 * that run each of them as a guest (tests/integration/test_omp.c) and
 * natively (tests/unit/omp/test_omp_native.c): OMP_CONSTRUCT_CASES(X)
 * expands X(name) once per case, in the order the tests run them. */
#ifndef GR_TEST_OMP_CASES_H
#define GR_TEST_OMP_CASES_H

#define OMP_CONSTRUCT_CASES(X)                                                 \
    X(parallel)                                                                \
    X(num_threads)                                                             \
    X(if)                                                                      \
    X(nested)                                                                  \
    X(many_args)                                                               \
    X(static)                                                                  \
    X(static_chunk)                                                            \
    X(static_neg)                                                              \
    X(static_u)                                                                \
    X(static8)                                                                 \
    X(static8u)                                                                \
    X(dynamic)                                                                 \
    X(dynamic_u)                                                               \
    X(dynamic8)                                                                \
    X(dynamic8u)                                                               \
    X(guided)                                                                  \
    X(guided8)                                                                 \
    X(runtime)                                                                 \
    X(auto)                                                                    \
    X(collapse)                                                                \
    X(ordered)                                                                 \
    X(lastprivate)                                                             \
    X(sections)                                                                \
    X(reduction)                                                               \
    X(reduction_nowait)                                                        \
    X(single_master)                                                           \
    X(critical_barrier)                                                        \
    X(atomic)                                                                  \
    X(locks)                                                                   \
    X(tasks)                                                                   \
    X(task_queue)                                                              \
    X(depend)                                                                  \
    X(taskloop)                                                                \
    X(threadprivate)                                                           \
    X(icv)

#endif
