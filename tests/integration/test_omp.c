/* SPDX-License-Identifier: Apache-2.0 */
/* OpenMP guests end to end: tests/guests/omp/omp_constructs.c built with
 * granary-cc -fopenmp (sdk/lib/omp over sdk/lib/pthread) and run by
 * `granary run` on the granary backend: every construct with 1, 2 and 4
 * threads (OMP_NUM_THREADS through --env), printing exactly what the same
 * program prints natively (the native build of the runtime, itself checked
 * against libomp by tests/unit/omp); threadprivate without TLS; both
 * reduction paths; OMP_SCHEDULE; a trap in a worker thread and a timeout of
 * a parallel call end the call with status 134. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "testutil.h"

#include "../guests/omp/omp_cases.h"

static char cache_dir[128];

/* granary run [--env E]... GUEST ARGS..., NULL-terminated varargs: first
 * the --env values (up to a NULL), then the guest's arguments. */
static gr_test_proc
grun(const char* guest,
     const char* const* envs,
     const char* const* args,
     const char* timeout)
{
    const char* argv[40] = {
        GRANARY_BINARY_DIR "/bin/granary", "run", "--cache", cache_dir
    };
    int n = 4;
    if (timeout) {
        argv[n++] = "--timeout";
        argv[n++] = timeout;
    }
    for (; envs && *envs && n < 30; envs++) {
        argv[n++] = "--env";
        argv[n++] = *envs;
    }
    argv[n++] = gr_test_guest(guest);
    for (; args && *args && n < 39; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    gr_test_proc p;
    assert_int_equal(gr_test_run(argv, "", 600, &p), 0);
    return p;
}

static char*
native(const char* prog, const char* name, int n)
{
    char nt[16];
    snprintf(nt, sizeof nt, "%d", n);
    setenv("OMP_NUM_THREADS", nt, 1);
    const char* argv[] = { prog, name, NULL };
    gr_test_proc p;
    assert_int_equal(gr_test_run(argv, "", 300, &p), 0);
    unsetenv("OMP_NUM_THREADS");
    assert_int_equal(p.status, 0);
    char* out = p.out;
    p.out = NULL;
    gr_test_proc_free(&p);
    return out;
}

static void
check_case(const char* guest,
           const char* nat,
           const char* name,
           const char* extra_env)
{
    for (int n = 1; n <= 4; n *= 2) {
        char nt[32];
        snprintf(nt, sizeof nt, "OMP_NUM_THREADS=%d", n);
        const char* envs[] = { nt, extra_env, NULL };
        const char* args[] = { name, NULL };
        gr_test_proc p = grun(guest, envs, args, NULL);
        if (p.status != 0)
            fprintf(stderr,
                    "%s %s (%d threads): status %d\nout: %s\nerr: %s\n",
                    guest,
                    name,
                    n,
                    p.status,
                    p.out,
                    p.err);
        assert_int_equal(p.status, 0);
        char* want = native(nat, name, n);
        assert_string_equal(p.out, want);
        free(want);
        gr_test_proc_free(&p);
    }
}

#define NATIVE GRANARY_OMP_NATIVE_DIR "/omp_constructs"

#define CASE(name)                                                             \
    static void case_##name(void** state)                                      \
    {                                                                          \
        (void)state;                                                           \
        check_case("omp_constructs", NATIVE, #name, NULL);                     \
    }

OMP_CONSTRUCT_CASES(CASE)

static void
reduction_critical(void** state)
{
    (void)state;
    check_case(
      "omp_constructs", NATIVE, "reduction", "KMP_FORCE_REDUCTION=critical");
    check_case("omp_constructs",
               NATIVE,
               "reduction_nowait",
               "KMP_FORCE_REDUCTION=critical");
}

static void
threadprivate_notls(void** state)
{
    (void)state;
    check_case("omp_constructs_notls",
               GRANARY_OMP_NATIVE_DIR "/omp_constructs_notls",
               "threadprivate",
               NULL);
}

static void
schedule_env(void** state)
{
    (void)state;
    check_case("omp_constructs", NATIVE, "icv", "OMP_SCHEDULE=dynamic,7");
    check_case("omp_constructs", NATIVE, "runtime", "OMP_SCHEDULE=guided,3");
}

/* A worker thread traps: the whole call ends (status 134), the host lives
 * on, and the program never gets past the region. */
static void
trap_in_worker(void** state)
{
    (void)state;
    const char* args[] = { "trap", NULL };
    gr_test_proc p = grun("omp_fault", NULL, args, NULL);
    assert_int_equal(p.status, 134);
    assert_non_null(strstr(p.out, "start trap"));
    assert_null(strstr(p.out, "done"));
    gr_test_proc_free(&p);
}

/* Every thread of a parallel region spins: --timeout ends the call. */
static void
timeout_of_parallel_call(void** state)
{
    (void)state;
    const char* args[] = { "spin", NULL };
    gr_test_proc p = grun("omp_fault", NULL, args, "2s");
    assert_int_equal(p.status, 134);
    assert_null(strstr(p.out, "done"));
    gr_test_proc_free(&p);
}

int
main(void)
{
    /* Threads need the granary backend (wasm2c refuses shared memory). */
    setenv("GRANARY_ENGINE", "granary", 1);
    snprintf(
      cache_dir, sizeof cache_dir, "%s/test-cache-omp", GRANARY_BINARY_DIR);
    unsetenv("OMP_SCHEDULE");
    unsetenv("KMP_FORCE_REDUCTION");
    const struct CMUnitTest tests[] = {
#define CASE_TEST(name) cmocka_unit_test(case_##name),
        OMP_CONSTRUCT_CASES(CASE_TEST)
#undef CASE_TEST
          cmocka_unit_test(reduction_critical),
        cmocka_unit_test(threadprivate_notls),
        cmocka_unit_test(schedule_env),
        cmocka_unit_test(trap_in_worker),
        cmocka_unit_test(timeout_of_parallel_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
