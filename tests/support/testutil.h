/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers for tests: run a command and capture its output, temp
 * directories, guest paths. */
#ifndef GR_TESTS_TESTUTIL_H
#define GR_TESTS_TESTUTIL_H

#include <stddef.h>

typedef struct gr_test_proc
{
    int status; /* exit status, or 128 + signal */
    char* out;  /* captured stdout (NUL-terminated, owned) */
    char* err;  /* captured stderr */
} gr_test_proc;

/* Runs argv (argv[0] a path) with optional stdin bytes, waiting at most
 * timeout_s seconds (then SIGKILL, status 137). Returns 0 or -errno. */
int gr_test_run(const char* const* argv,
                const char* in,
                int timeout_s,
                gr_test_proc* p);
void gr_test_proc_free(gr_test_proc* p);

/* Path of a guest built by the test build, in a static buffer. */
const char* gr_test_guest(const char* name);

/* Makes a fresh temporary directory (path in buf, at least 64 bytes). */
void gr_test_mkdtemp(char* buf, size_t len);

/* Writes a small file. */
void gr_test_write_file(const char* path, const char* text);

/* A private redis-server for a test: started on a free loopback port
 * with no persistence, killed with its parent (PR_SET_PDEATHSIG) and by
 * gr_test_redis_stop. Implemented in testredis.c. */
typedef struct gr_test_redis
{
    int pid; /* 0 when stopped */
    int port;
    char addr[32]; /* "127.0.0.1:<port>" */
} gr_test_redis;

/* Starts redis-server (on r->port if non-zero, else a free port) and waits
 * until it answers. Returns 0 or -errno. */
int gr_test_redis_start(gr_test_redis* r);
/* SIGKILLs it and waits (no-op when stopped). */
void gr_test_redis_stop(gr_test_redis* r);
/* Sends sig (SIGSTOP/SIGCONT) to the server. */
void gr_test_redis_signal(gr_test_redis* r, int sig);
/* Runs one redis-cli command against it, output in out (may be NULL).
 * Returns the exit status. */
int gr_test_redis_cli(gr_test_redis* r,
                      const char* args,
                      char* out,
                      size_t len);

#endif
