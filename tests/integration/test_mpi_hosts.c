/* SPDX-License-Identifier: Apache-2.0 */
/* Ranks on two hosts without root: two `granary mpirun --hosts A,B
 * --host I` processes on loopback ports, one per host (the network-
 * namespace version is tests/cluster/test_mpi_hosts.sh). The guest MPI
 * suite with ranks in blocks and interleaved, large messages streamed
 * between the hosts, a failure on one host ending both, and a host
 * killed under the other. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "testutil.h"

static char cache_dir[128];

static int
free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t n = sizeof a;
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr*)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr*)&a, &n), 0);
    close(fd);
    return ntohs(a.sin_port);
}

struct host_run
{
    const char* argv[24];
    char host[4];
    int timeout_s;
    gr_test_proc p;
    int rc;
};

static void*
host_main(void* arg)
{
    struct host_run* h = arg;
    h->rc = gr_test_run(h->argv, "", h->timeout_s, &h->p);
    return NULL;
}

/* Runs np ranks placed by map on two local hosts; h[0], h[1] get the
 * outcomes. timeout1: host 1's limit (it is killed then). */
static void
run2(const char* np,
     const char* map,
     const char* guest,
     const char* arg,
     const char* arg2,
     int timeout1,
     struct host_run h[2])
{
    static char hosts[64];
    snprintf(hosts,
             sizeof hosts,
             "127.0.0.1:%d,127.0.0.1:%d",
             free_port(),
             free_port());
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        memset(&h[i], 0, sizeof h[i]);
        snprintf(h[i].host, sizeof h[i].host, "%d", i);
        const char* v[] = { GRANARY_BINARY_DIR "/bin/granary",
                            "mpirun",
                            "--cache",
                            cache_dir,
                            "-np",
                            np,
                            "--hosts",
                            hosts,
                            "--host",
                            h[i].host,
                            "--map",
                            map,
                            gr_test_guest(guest),
                            arg,
                            arg2,
                            NULL };
        memcpy(h[i].argv, v, sizeof v);
        h[i].timeout_s = i == 1 && timeout1 ? timeout1 : 300;
        assert_int_equal(pthread_create(&t[i], NULL, host_main, &h[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(h[i].rc, 0);
    }
}

static void
suite(const char* np, const char* map, const char* guest)
{
    struct host_run h[2];
    run2(np, map, guest, NULL, NULL, 0, h);
    int n = atoi(np), ok = 0;
    for (int r = 0; r < n; r++) {
        char want[64];
        snprintf(want, sizeof want, "%s: rank %d ok\n", guest, r);
        ok += strstr(h[0].p.out, want) || strstr(h[1].p.out, want);
    }
    if (h[0].p.status || h[1].p.status || ok != n)
        for (int i = 0; i < 2; i++)
            fprintf(stderr,
                    "host %d: status %d\nout:\n%s\nerr:\n%s\n",
                    i,
                    h[i].p.status,
                    h[i].p.out,
                    h[i].p.err);
    assert_int_equal(h[0].p.status, 0);
    assert_int_equal(h[1].p.status, 0);
    assert_int_equal(ok, n);
    for (int i = 0; i < 2; i++)
        gr_test_proc_free(&h[i].p);
}

static void
test_suite_two_hosts(void** state)
{
    (void)state;
    suite("2", "0,1", "mpi_suite");
    suite("4", "0,1,0,1", "mpi_suite");
    suite("3", "0,0,1", "mpi_nbc");
}

/* Device scenarios: matching order, tags, probe, non-blocking, sync
 * sends and 1 MiB messages streamed in pieces between the hosts. */
static void
test_device_two_hosts(void** state)
{
    (void)state;
    const char* scenarios[] = { "order", "tags", "probe",    "nonblocking",
                                "sync",  "big",  "pingpong", NULL };
    for (int i = 0; scenarios[i]; i++) {
        struct host_run h[2];
        run2("4", "0,1,0,1", "mpi_dev", scenarios[i], NULL, 0, h);
        char want[64];
        snprintf(want, sizeof want, "ok %s\n", scenarios[i]);
        if (h[0].p.status || h[1].p.status || !strstr(h[0].p.out, want))
            fprintf(stderr,
                    "%s: %d %d\n%s\n%s\n%s\n%s\n",
                    scenarios[i],
                    h[0].p.status,
                    h[1].p.status,
                    h[0].p.out,
                    h[0].p.err,
                    h[1].p.out,
                    h[1].p.err);
        assert_int_equal(h[0].p.status, 0);
        assert_int_equal(h[1].p.status, 0);
        assert_non_null(strstr(h[0].p.out, want));
        for (int k = 0; k < 2; k++)
            gr_test_proc_free(&h[k].p);
    }
}

/* A rank trapping on host 1 ends host 0's blocked ranks too; both say
 * which rank. */
static void
test_failure_spreads(void** state)
{
    (void)state;
    struct host_run h[2];
    run2("4", "0,1,0,1", "mpi_dev", "trap", "1", 0, h);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(h[i].p.status, 134);
        assert_non_null(
          strstr(h[i].p.err, "rank 1 trapped: integer divide by zero"));
        gr_test_proc_free(&h[i].p);
    }
    run2("4", "0,0,1,1", "mpi_dev", "abort", "0", 0, h);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(h[i].p.status, 3);
        assert_non_null(strstr(h[i].p.err, "rank 0 called MPI_Abort(3)"));
        gr_test_proc_free(&h[i].p);
    }
}

/* Host 1 is killed (SIGKILL after 2 s) while every rank blocks: host 0
 * ends at once with an error naming the lost host and its ranks. */
static void
test_host_killed(void** state)
{
    (void)state;
    struct host_run h[2];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    run2("4", "0,1,0,1", "mpi_dev", "block", NULL, 2, h);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(h[1].p.status, 137);
    assert_int_equal(h[0].p.status, 1);
    assert_non_null(strstr(h[0].p.err, "ranks 1,3) is down"));
    /* never a hang: well before its own 300 s limit */
    assert_true(t1.tv_sec - t0.tv_sec < 60);
    for (int i = 0; i < 2; i++)
        gr_test_proc_free(&h[i].p);
}

int
main(void)
{
    gr_test_mkdtemp(cache_dir, sizeof cache_dir);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suite_two_hosts),
        cmocka_unit_test(test_device_two_hosts),
        cmocka_unit_test(test_failure_spreads),
        cmocka_unit_test(test_host_killed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
