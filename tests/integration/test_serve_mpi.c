/* SPDX-License-Identifier: Apache-2.0 */
/* MPI apps through the API of granary serve (one host): an MPI function
 * uploaded and invoked with a world size, over HTTP (POST /f/...?np=N and
 * POST /calls with "np") and through `granary invoke --np`: every rank's
 * output, the app's exit status, a failing rank ending the app within a
 * second with an error naming it, and a world larger than the server's
 * slots refused up front. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "testutil.h"

#define GRANARY GRANARY_BINARY_DIR "/bin/granary"
#define SLOTS "4"

static pid_t server_pid;
static char dir[128], base[64], token[80];

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* granary ARGS... as a client of the server; input on stdin. */
static gr_test_proc
client(const char* input, const char* a0, ...)
{
    const char* argv[32] = { GRANARY, a0 };
    int n = 2;
    va_list ap;
    va_start(ap, a0);
    for (const char* a; (a = va_arg(ap, const char*));)
        argv[n++] = a;
    va_end(ap);
    argv[n++] = "--server";
    argv[n++] = base;
    argv[n++] = "--token";
    argv[n++] = token;
    argv[n] = NULL;
    gr_test_proc p;
    assert_int_equal(gr_test_run(argv, input, 120, &p), 0);
    return p;
}

static int
setup(void** state)
{
    (void)state;
    gr_test_mkdtemp(dir, sizeof dir);
    const char* targv[] = { GRANARY,  "token", "create", "alice",
                            "--data", dir,     NULL };
    gr_test_proc p;
    assert_int_equal(gr_test_run(targv, NULL, 30, &p), 0);
    assert_int_equal(p.status, 0);
    snprintf(token, sizeof token, "%.64s", p.out);
    gr_test_proc_free(&p);

    char portfile[200], cache[200], log[200];
    snprintf(portfile, sizeof portfile, "%s/port", dir);
    snprintf(cache, sizeof cache, "%s/cache", dir);
    snprintf(log, sizeof log, "%s/server.log", dir);
    const char* argv[] = { GRANARY,   "serve", "--listen",    "127.0.0.1:0",
                           "--data",  dir,     "--cache",     cache,
                           "--slots", SLOTS,   "--port-file", portfile,
                           NULL };
    server_pid = fork();
    assert_true(server_pid >= 0);
    if (server_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(GRANARY, (char* const*)argv);
        _exit(127);
    }
    int port = 0;
    for (int i = 0; i < 600 && !port; i++) {
        FILE* f = fopen(portfile, "r");
        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (!port)
            sleep_ms(50);
    }
    assert_true(port > 0);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    p = client(NULL, "upload", "alice/api", gr_test_guest("mpi_api"), NULL);
    assert_int_equal(p.status, 0);
    gr_test_proc_free(&p);
    return 0;
}

static int
teardown(void** state)
{
    (void)state;
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
    }
    return 0;
}

/* Every rank ran, rank 0 got the input and talked to the others (an
 * all-reduce and a 1 MiB round trip); stdout comes in rank order. */
static void
test_invoke_np(void** state)
{
    (void)state;
    gr_test_proc p = client("sum", "invoke", "alice/api", "--np", SLOTS, NULL);
    if (p.status != 0)
        fprintf(stderr, "out:\n%s\nerr:\n%s\n", p.out, p.err);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out,
                           "rank 0 of 4\nround trip ok\nsum 6\nrank 1 of 4\n"
                           "rank 2 of 4\nrank 3 of 4\n"));
    gr_test_proc_free(&p);
}

/* The record: the output document names every rank and its host. */
static void
test_json_record(void** state)
{
    (void)state;
    gr_test_proc p =
      client("sum", "invoke", "alice/api", "--np", "3", "--json", NULL);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, "\"state\":\"done\""));
    assert_non_null(strstr(p.out, "\\\"np\\\":3"));
    assert_non_null(strstr(p.out, "\\\"rank\\\":2,\\\"host\\\":\\\"local\\\""));
    assert_non_null(strstr(p.out, "\\\"stdout\\\":\\\"rank 1 of 3\\\\n\\\""));
    gr_test_proc_free(&p);
}

static void
expect_failure(const char* input, int status, const char* msg)
{
    double t0 = now_s();
    gr_test_proc p = client(input, "invoke", "alice/api", "--np", "4", NULL);
    double took = now_s() - t0;
    if (p.status != status || !strstr(p.err, msg))
        fprintf(stderr,
                "%s: status %d\nout:\n%s\nerr:\n%s\n",
                input,
                p.status,
                p.out,
                p.err);
    assert_int_equal(p.status, status);
    assert_non_null(strstr(p.err, msg));
    /* the victim waits 200 ms; the others are blocked in a receive and
     * must be ended with it */
    assert_true(took < 1.0 + 0.2 + 5.0 /* a loaded machine's client */);
    gr_test_proc_free(&p);
}

static void
test_failures(void** state)
{
    (void)state;
    expect_failure("trap 2", 134, "rank 2 trapped: integer divide by zero");
    expect_failure("abort 1", 3, "rank 1 called MPI_Abort(3)");
    expect_failure("exit 3", 4, "rank 3 exited with 4");
}

/* A world larger than the slots is refused before anything runs. */
static void
test_refused(void** state)
{
    (void)state;
    gr_test_proc p = client("sum", "invoke", "alice/api", "--np", "5", NULL);
    assert_int_not_equal(p.status, 0);
    assert_non_null(strstr(p.err, "409"));
    assert_non_null(strstr(p.err, "not enough free slots"));
    gr_test_proc_free(&p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invoke_np),
        cmocka_unit_test(test_json_record),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
