/* SPDX-License-Identifier: Apache-2.0 */
/* `granary mpirun` end to end with a real guest calling the granary_mpi
 * device (tests/guests/mpi/mpi_dev.c): matching order, wildcards, tags,
 * probes, truncation, cancel, non-blocking calls, sync mode, 1 MiB
 * (rendezvous) messages, bad pointers; and the app's fate: a rank that
 * traps, aborts or exits non-zero ends every other rank (blocked or
 * spinning) promptly with a message naming it; --timeout ends blocked
 * ranks; exit codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "testutil.h"

static char cache_dir[128];

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* granary mpirun --cache DIR ARGS... (NULL-terminated), at most 120 s. */
static gr_test_proc
mpirun(double* took, const char* a0, ...)
{
    const char* argv[24] = {
        GRANARY_BINARY_DIR "/bin/granary", "mpirun", "--cache", cache_dir
    };
    int n = 4;
    va_list ap;
    va_start(ap, a0);
    for (const char* a = a0; a && n < 23; a = va_arg(ap, const char*))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    gr_test_proc p;
    double t0 = now_s();
    assert_int_equal(gr_test_run(argv, "", 120, &p), 0);
    if (took)
        *took = now_s() - t0;
    return p;
}

static void
expect_ok(const char* np, const char* scenario)
{
    gr_test_proc p =
      mpirun(NULL, "-np", np, gr_test_guest("mpi_dev"), scenario, NULL);
    char want[64];
    snprintf(want, sizeof want, "ok %s\n", scenario);
    if (p.status != 0 || !strstr(p.out, want))
        fprintf(stderr,
                "%s: status %d\nout:\n%s\nerr:\n%s\n",
                scenario,
                p.status,
                p.out,
                p.err);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, want));
    gr_test_proc_free(&p);
}

static void
test_hello(void** state)
{
    (void)state;
    gr_test_proc p =
      mpirun(NULL, "-np", "3", gr_test_guest("mpi_dev"), "hello", NULL);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, "hello from rank 0 of 3\n"));
    assert_non_null(strstr(p.out, "hello from rank 1 of 3\n"));
    assert_non_null(strstr(p.out, "hello from rank 2 of 3\n"));
    gr_test_proc_free(&p);
}

static void
test_order_wildcards(void** state)
{
    (void)state;
    expect_ok("2", "order");
    expect_ok("4", "order");
}

static void
test_tags_contexts_args(void** state)
{
    (void)state;
    expect_ok("2", "tags");
}

static void
test_probe_mprobe_truncate(void** state)
{
    (void)state;
    expect_ok("2", "probe");
}

static void
test_nonblocking_waitany_cancel(void** state)
{
    (void)state;
    expect_ok("2", "nonblocking");
}

static void
test_sync_mode(void** state)
{
    (void)state;
    expect_ok("2", "sync");
}

static void
test_big_rendezvous(void** state)
{
    (void)state;
    expect_ok("2", "big");
}

static void
test_bad_pointers(void** state)
{
    (void)state;
    expect_ok("2", "badptr");
}

/* The victim fails 200 ms in; the others are blocked in recv, in a
 * rendezvous send, in waitany, or spinning: the app must end promptly
 * (well before the 120 s the test allows) with the victim named, and no
 * blocked call may return to its guest. */
static void
expect_failure(const char* how,
               const char* victim,
               int want_status,
               const char* want_msg)
{
    double took;
    gr_test_proc p =
      mpirun(&took, "-np", "4", gr_test_guest("mpi_dev"), how, victim, NULL);
    if (p.status != want_status || !strstr(p.err, want_msg))
        fprintf(stderr,
                "%s %s: status %d after %.2f s\nout:\n%s\nerr:\n%s\n",
                how,
                victim,
                p.status,
                took,
                p.out,
                p.err);
    assert_int_equal(p.status, want_status);
    assert_non_null(strstr(p.err, want_msg));
    assert_null(strstr(p.out, "blocking call returned"));
    assert_true(took < 10.0);
    gr_test_proc_free(&p);
}

static void
test_trap_ends_app(void** state)
{
    (void)state;
    expect_failure("trap",
                   "2",
                   134,
                   "granary mpirun: rank 2 trapped: integer divide by zero");
    expect_failure("trap",
                   "3",
                   134,
                   "granary mpirun: rank 3 trapped: integer divide by zero");
}

static void
test_abort_ends_app(void** state)
{
    (void)state;
    expect_failure(
      "abort", "1", 3, "granary mpirun: rank 1 called MPI_Abort(3)");
}

static void
test_exit_ends_app(void** state)
{
    (void)state;
    expect_failure("exit", "0", 4, "granary mpirun: rank 0 exited with 4");
}

/* --timeout ends ranks blocked in recv, send and waitany, and spinning. */
static void
test_timeout_while_blocked(void** state)
{
    (void)state;
    double took;
    gr_test_proc p = mpirun(&took,
                            "-np",
                            "4",
                            "--timeout",
                            "500ms",
                            gr_test_guest("mpi_dev"),
                            "block",
                            NULL);
    assert_int_equal(p.status, 134);
    assert_non_null(strstr(p.err, "trapped: timeout"));
    assert_null(strstr(p.out, "blocking call returned"));
    assert_true(took < 10.0);
    gr_test_proc_free(&p);
}

/* A non-zero exit after MPI_Finalize does not end the others, but is the
 * app's exit status. */
static void
test_exit_codes(void** state)
{
    (void)state;
    gr_test_proc p = mpirun(
      NULL, "-np", "2", gr_test_guest("mpi_dev"), "exit-after-finalize", NULL);
    assert_int_equal(p.status, 5);
    assert_non_null(strstr(p.err, "rank 1 exited with 5"));
    gr_test_proc_free(&p);
    p = mpirun(NULL, "-np", "0", gr_test_guest("mpi_dev"), NULL);
    assert_int_equal(p.status, 2);
    assert_non_null(strstr(p.err, "-np wants 1..1024"));
    gr_test_proc_free(&p);
    p = mpirun(NULL, "-np", "2", "/nonexistent.wasm", NULL);
    assert_int_equal(p.status, 1);
    gr_test_proc_free(&p);
}

/* Real MPI programs against the guest library (sdk/lib/mpi). */
static void
test_mpi_library_end_to_end(void** state)
{
    (void)state;
    const char* nps[] = { "1", "2", "4" };
    for (int i = 0; i < 3; i++) {
        gr_test_proc p =
          mpirun(NULL, "-np", nps[i], gr_test_guest("mpi_suite"), NULL);
        if (p.status != 0 || strstr(p.out, "FAIL"))
            fprintf(stderr,
                    "mpi_suite -np %s: status %d\n%s\n%s\n",
                    nps[i],
                    p.status,
                    p.out,
                    p.err);
        assert_int_equal(p.status, 0);
        assert_non_null(strstr(p.out, "mpi_suite: rank 0 ok"));
        gr_test_proc_free(&p);
    }
    gr_test_proc p =
      mpirun(NULL, "-np", "4", gr_test_guest("mpi_pingpong"), "200", NULL);
    if (p.status != 0)
        fprintf(stderr, "mpi_pingpong: %d\n%s\n%s\n", p.status, p.out, p.err);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, "pingpong ok"));
    gr_test_proc_free(&p);
    /* Compiled once first: the bound below is on ending the app, not on
     * compiling the module on a loaded machine. */
    p = mpirun(NULL, "-np", "1", gr_test_guest("mpi_abort"), NULL);
    gr_test_proc_free(&p);
    double took;
    p = mpirun(&took, "-np", "4", gr_test_guest("mpi_abort"), NULL);
    assert_int_equal(p.status, 3);
    assert_non_null(strstr(p.err, "rank 1 called MPI_Abort(3)"));
    assert_true(took < 10.0);
    gr_test_proc_free(&p);
}

int
main(void)
{
    gr_test_mkdtemp(cache_dir, sizeof cache_dir);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello),
        cmocka_unit_test(test_order_wildcards),
        cmocka_unit_test(test_tags_contexts_args),
        cmocka_unit_test(test_probe_mprobe_truncate),
        cmocka_unit_test(test_nonblocking_waitany_cancel),
        cmocka_unit_test(test_sync_mode),
        cmocka_unit_test(test_big_rendezvous),
        cmocka_unit_test(test_bad_pointers),
        cmocka_unit_test(test_trap_ends_app),
        cmocka_unit_test(test_abort_ends_app),
        cmocka_unit_test(test_exit_ends_app),
        cmocka_unit_test(test_timeout_while_blocked),
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_mpi_library_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
