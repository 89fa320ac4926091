/* SPDX-License-Identifier: Apache-2.0 */
/* OpenMP runtime fixes found by outside suites (LLVM's OpenMP runtime
 * tests, ParRes Kernels; docs/openmp.md): tests/guests/omp/omp_abi.c under
 * `granary run` on the granary backend, with 1 and 2 threads, and what
 * granary-cc -fopenmp links. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "testutil.h"

static char cache_dir[128];

/* granary run --timeout 60s [--env ENV] omp_abi CASE ARG..., expecting
 * status 0 (a hang ends as a timeout, status 134). */
static char*
run_case(const char* env, const char* const* args)
{
    const char* argv[24] = { GRANARY_BINARY_DIR "/bin/granary",
                             "run",
                             "--cache",
                             cache_dir,
                             "--timeout",
                             "60s" };
    int n = 6;
    if (env) {
        argv[n++] = "--env";
        argv[n++] = env;
    }
    argv[n++] = gr_test_guest("omp_abi");
    for (; *args && n < 23; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    gr_test_proc p;
    assert_int_equal(gr_test_run(argv, "", 600, &p), 0);
    if (p.status != 0)
        fprintf(stderr,
                "omp_abi %s: status %d\nout: %s\nerr: %s\n",
                args[0],
                p.status,
                p.out,
                p.err);
    assert_int_equal(p.status, 0);
    char* out = p.out;
    p.out = NULL;
    gr_test_proc_free(&p);
    return out;
}

/* Whether a guest module defines a function of that name (the name
 * section gives each name its length byte first; an undefined weak
 * function is named "undefined_weak:NAME" and does not match). */
static int
module_defines(const char* guest, const char* name)
{
    FILE* f = fopen(gr_test_guest(guest), "rb");
    assert_non_null(f);
    static char buf[8 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    char pat[64];
    size_t nl = strlen(name);
    pat[0] = (char)nl;
    memcpy(pat + 1, name, nl);
    for (size_t i = 0; i + nl + 1 <= len; i++)
        if (memcmp(buf + i, pat, nl + 1) == 0 && (i == 0 || buf[i - 1] != ':'))
            return 1;
    return 0;
}

/* A region of 40 captured variables runs (the wide invoker is linked for
 * it), and a guest whose regions are narrow does without it. */
static void
wide_region(void** state)
{
    (void)state;
    const char* args[] = { "wide", NULL };
    char* out = run_case("OMP_NUM_THREADS=1", args);
    assert_string_equal(out, "wide: 780 per thread, ok\n");
    free(out);
    out = run_case("OMP_NUM_THREADS=2", args);
    assert_string_equal(out, "wide: 780 per thread, ok\n");
    free(out);
    assert_true(module_defines("omp_abi", "omp__invoke_wide"));
    assert_true(module_defines("omp_constructs", "omp__invoke"));
    assert_false(module_defines("omp_constructs", "omp__invoke_wide"));
}

/* A thread polling a volatile flag sees another thread set it (granary-cc
 * compiles threaded code with -fms-volatile: wasm has no volatile). */
static void
volatile_flag(void** state)
{
    (void)state;
    const char* args[] = { "volatile", NULL };
    char* out = run_case("OMP_NUM_THREADS=2", args);
    assert_string_equal(out, "volatile: team 2, ok\n");
    free(out);
}

int
main(void)
{
    /* Threads need the granary backend (wasm2c refuses shared memory). */
    setenv("GRANARY_ENGINE", "granary", 1);
    snprintf(
      cache_dir, sizeof cache_dir, "%s/test-cache-omp-abi", GRANARY_BINARY_DIR);
    unsetenv("OMP_SCHEDULE");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wide_region),
        cmocka_unit_test(volatile_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
