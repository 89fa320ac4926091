/* SPDX-License-Identifier: Apache-2.0 */
/* Granary's OpenMP runtime natively: tests/guests/omp/omp_constructs.c
 * built with clang -fopenmp and linked against sdk/lib/omp's native build
 * runs every construct with 1, 2 and 4 threads (OMP_NUM_THREADS), with the
 * reductions' critical and atomic paths (KMP_FORCE_REDUCTION), threadprivate
 * with TLS and without (-fnoopenmp-use-tls), OMP_SCHEDULE, and prints what
 * the same program prints on LLVM's libomp (when that was built). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "testutil.h"

#include "../../guests/omp/omp_cases.h"

#define DIR GRANARY_OMP_NATIVE_DIR

/* Runs `prog case` with OMP_NUM_THREADS=n; returns its stdout (owned). */
static char*
run(const char* prog, const char* name, int n)
{
    char nt[16];
    snprintf(nt, sizeof nt, "%d", n);
    setenv("OMP_NUM_THREADS", nt, 1);
    const char* argv[] = { prog, name, NULL };
    gr_test_proc p;
    assert_int_equal(gr_test_run(argv, "", 300, &p), 0);
    if (p.status != 0)
        fprintf(stderr,
                "%s %s (%d threads): status %d\nout: %s\nerr: %s\n",
                prog,
                name,
                n,
                p.status,
                p.out,
                p.err);
    assert_int_equal(p.status, 0);
    char want[96];
    snprintf(want, sizeof want, "ok %s ", name);
    assert_non_null(strstr(p.out, want));
    assert_null(strstr(p.out, "FAIL"));
    char* out = p.out;
    p.out = NULL;
    gr_test_proc_free(&p);
    return out;
}

static void
construct(const char* name)
{
    const char* ref = DIR "/omp_constructs_libomp";
    int have_ref = access(ref, X_OK) == 0;
    for (int n = 1; n <= 4; n *= 2) {
        char* mine = run(DIR "/omp_constructs", name, n);
        if (have_ref) {
            char* theirs = run(ref, name, n);
            assert_string_equal(mine, theirs);
            free(theirs);
        }
        free(mine);
    }
}

#define CASE(name)                                                             \
    static void case_##name(void** state)                                      \
    {                                                                          \
        (void)state;                                                           \
        construct(#name);                                                      \
    }

OMP_CONSTRUCT_CASES(CASE)

/* Both reduction paths: the atomic one (the default when the compiler
 * allows it) and the critical one. */
static void
reduction_paths(void** state)
{
    (void)state;
    const char* paths[] = { "critical", "atomic" };
    for (int i = 0; i < 2; i++) {
        setenv("KMP_FORCE_REDUCTION", paths[i], 1);
        for (int n = 1; n <= 4; n *= 2) {
            free(run(DIR "/omp_constructs", "reduction", n));
            free(run(DIR "/omp_constructs", "reduction_nowait", n));
            free(run(DIR "/omp_constructs", "sections", n));
        }
    }
    unsetenv("KMP_FORCE_REDUCTION");
}

/* threadprivate and copyin through __kmpc_threadprivate_cached. */
static void
threadprivate_notls(void** state)
{
    (void)state;
    for (int n = 1; n <= 4; n *= 2)
        free(run(DIR "/omp_constructs_notls", "threadprivate", n));
}

/* OMP_SCHEDULE reaches omp_get_schedule and schedule(runtime). */
static void
omp_schedule_env(void** state)
{
    (void)state;
    const char* s[] = {
        "dynamic,7", "guided", "static,3", "auto", "nonmonotonic:dynamic,2"
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        setenv("OMP_SCHEDULE", s[i], 1);
        for (int n = 1; n <= 4; n *= 2) {
            free(run(DIR "/omp_constructs", "runtime", n));
            free(run(DIR "/omp_constructs", "icv", n));
        }
    }
    unsetenv("OMP_SCHEDULE");
}

/* Without task throttling a thread's deque grows past its first ring
 * while other threads steal from it. */
static void
task_queue_unthrottled(void** state)
{
    (void)state;
    setenv("KMP_ENABLE_TASK_THROTTLING", "0", 1);
    for (int n = 1; n <= 4; n *= 2)
        free(run(DIR "/omp_constructs", "task_queue", n));
    unsetenv("KMP_ENABLE_TASK_THROTTLING");
}

/* OMP_NESTED and OMP_MAX_ACTIVE_LEVELS set the initial ICV; the case sets
 * its own, so it passes whatever they say. OMP_DYNAMIC=true is accepted. */
static void
nesting_env(void** state)
{
    (void)state;
    setenv("OMP_NESTED", "true", 1);
    setenv("OMP_DYNAMIC", "true", 1);
    free(run(DIR "/omp_constructs", "nested", 4));
    free(run(DIR "/omp_constructs", "parallel", 2));
    unsetenv("OMP_NESTED");
    setenv("OMP_MAX_ACTIVE_LEVELS", "3", 1);
    free(run(DIR "/omp_constructs", "nested", 2));
    unsetenv("OMP_MAX_ACTIVE_LEVELS");
    unsetenv("OMP_DYNAMIC");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define CASE_TEST(name) cmocka_unit_test(case_##name),
        OMP_CONSTRUCT_CASES(CASE_TEST)
#undef CASE_TEST
          cmocka_unit_test(reduction_paths),
        cmocka_unit_test(threadprivate_notls),
        cmocka_unit_test(omp_schedule_env),
        cmocka_unit_test(task_queue_unthrottled),
        cmocka_unit_test(nesting_env),
    };
    unsetenv("OMP_SCHEDULE");
    unsetenv("OMP_NESTED");
    unsetenv("OMP_MAX_ACTIVE_LEVELS");
    unsetenv("KMP_FORCE_REDUCTION");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
