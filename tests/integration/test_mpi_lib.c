/* SPDX-License-Identifier: Apache-2.0 */
/* The guest MPI library (sdk/lib/mpi) end to end: MPI programs built with
 * granary-mpicc (tests/guests/mpi_lib) run under `granary mpirun` at
 * several world sizes (matching, wildcards, probe, datatypes, user ops,
 * every collective on split and dup'ed communicators, non-blocking
 * collectives, intercommunicators), MPI_Abort's exit code, and the link-time
 * refusal of one-sided calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "testutil.h"

static char cache_dir[128];

static gr_test_proc
mpirun(const char* np, const char* guest)
{
    const char* argv[] = { GRANARY_BINARY_DIR "/bin/granary",
                           "mpirun",
                           "--cache",
                           cache_dir,
                           "-np",
                           np,
                           gr_test_guest(guest),
                           NULL };
    gr_test_proc p;
    assert_int_equal(gr_test_run(argv, "", 300, &p), 0);
    return p;
}

static void
guest_at(const char* guest, const char* np)
{
    gr_test_proc p = mpirun(np, guest);
    int n = atoi(np), ok = 0;
    for (int r = 0; r < n; r++) {
        char want[64];
        snprintf(want, sizeof want, "%s: rank %d ok\n", guest, r);
        ok += strstr(p.out, want) != NULL;
    }
    if (p.status != 0 || ok != n)
        fprintf(stderr,
                "np %s: status %d\nout:\n%s\nerr:\n%s\n",
                np,
                p.status,
                p.out,
                p.err);
    assert_int_equal(p.status, 0);
    assert_int_equal(ok, n);
    assert_null(strstr(p.out, "FAIL"));
    gr_test_proc_free(&p);
}

static void
suite_at(const char* np)
{
    guest_at("mpi_suite", np);
}

/* Non-blocking collectives as progressed schedules: an Ibarrier based
 * sparse exchange, a blocking receive while an Iallreduce or an Ibarrier
 * (which needs the blocked rank to move it) is pending,
 * persistent collectives started in different orders; Isendrecv;
 * Cartesian and distributed graph topologies, neighbour collectives. */
static void
test_nbc_progress(void** state)
{
    (void)state;
    guest_at("mpi_nbc", "1");
    guest_at("mpi_nbc", "2");
    guest_at("mpi_nbc", "4");
}

static void
test_suite_1_2(void** state)
{
    (void)state;
    suite_at("1");
    suite_at("2");
}

static void
test_suite_3_4(void** state)
{
    (void)state;
    suite_at("3");
    suite_at("4");
}

/* Intercommunicators between two halves of the world (unequal at odd
 * sizes): every collective, blocking and non-blocking, split, create,
 * dup and merge. */
static void
test_intercomm(void** state)
{
    (void)state;
    guest_at("mpi_inter", "2");
    guest_at("mpi_inter", "3");
    guest_at("mpi_inter", "5");
}

static void
test_abort(void** state)
{
    (void)state;
    gr_test_proc p = mpirun("3", "mpi_abort");
    assert_int_equal(p.status, 3);
    assert_non_null(strstr(p.err, "rank 1"));
    gr_test_proc_free(&p);
}

static void
test_one_sided_fails_at_link(void** state)
{
    (void)state;
    char dir[128], src[192], out[192];
    gr_test_mkdtemp(dir, sizeof dir);
    snprintf(src, sizeof src, "%s/win.c", dir);
    snprintf(out, sizeof out, "%s/win.wasm", dir);
    FILE* f = fopen(src, "w");
    assert_non_null(f);
    fputs("#include <mpi.h>\n"
          "int main(int c, char** v) {\n"
          "  MPI_Win w; MPI_Init(&c, &v);\n"
          "  MPI_Win_create(0, 0, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &w);\n"
          "  MPI_Finalize(); return 0; }\n",
          f);
    fclose(f);
    setenv(
      "GRANARY_MPI_LIB", GRANARY_BINARY_DIR "/sdk/lib/libgranary_mpi.a", 1);
    const char* argv[] = {
        GRANARY_SOURCE_DIR "/sdk/bin/granary-mpicc", src, "-o", out, NULL
    };
    gr_test_proc p;
    assert_int_equal(gr_test_run(argv, "", 120, &p), 0);
    assert_int_not_equal(p.status, 0);
    assert_non_null(strstr(p.err, "undefined symbol: MPI_Win_create"));
    gr_test_proc_free(&p);
}

int
main(void)
{
    gr_test_mkdtemp(cache_dir, sizeof cache_dir);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suite_1_2),
        cmocka_unit_test(test_suite_3_4),
        cmocka_unit_test(test_nbc_progress),
        cmocka_unit_test(test_intercomm),
        cmocka_unit_test(test_abort),
        cmocka_unit_test(test_one_sided_fails_at_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
