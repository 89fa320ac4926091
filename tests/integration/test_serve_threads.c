/* SPDX-License-Identifier: Apache-2.0 */
/* Thread granules under granary serve (docs/threads.md, "Scheduling"): a
 * threaded call's threads take the server's slots, /metrics counts them,
 * granary hosts shows them (per host and per call), and granary invoke
 * --threads (?threads=N, "threads") lets a call run more threads than it
 * is granted. The guest is tests/guests/threads/tgrant.c. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

static pid_t server_pid;
static char dir[128], base[64], token[80];

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* granary ARGS... as a client of the server; input on stdin. */
static gr_test_proc
client_v(const char* input, const char* const* args)
{
    const char* argv[32] = { GRANARY };
    int n = 1;
    for (int i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n++] = "--server";
    argv[n++] = base;
    argv[n++] = "--token";
    argv[n++] = token;
    argv[n] = NULL;
    gr_test_proc p;
    assert_int_equal(gr_test_run(argv, input, 120, &p), 0);
    return p;
}

struct body
{
    char p[65536];
    size_t n;
};

static size_t
on_body(char* d, size_t sz, size_t nm, void* ud)
{
    struct body* b = ud;
    size_t n = sz * nm;
    if (n > sizeof b->p - 1 - b->n)
        n = sizeof b->p - 1 - b->n;
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = '\0';
    return sz * nm;
}

/* One request with the token; returns the HTTP status. */
static long
http(const char* method, const char* path, const char* data, struct body* b)
{
    char url[256], auth[128];
    snprintf(url, sizeof url, "%s%s", base, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    CURL* h = curl_easy_init();
    assert_non_null(h);
    struct curl_slist* hdrs = curl_slist_append(NULL, auth);
    b->n = 0;
    b->p[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (data) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, data);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(data));
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    long code = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return code;
}

static int
setup(void** state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    gr_test_mkdtemp(dir, sizeof dir);
    const char* targv[] = { GRANARY,   "token",  "create", "alice",
                            "--admin", "--data", dir,      NULL };
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
                           "--slots", "3",     "--port-file", portfile,
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
        /* the slots decide, not this machine's CPU count */
        setenv("GRANARY_THREAD_LIMIT", "8", 1);
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
    const char* up[] = { "upload", "alice/t", gr_test_guest("tgrant"), NULL };
    p = client_v(NULL, up);
    if (p.status)
        fprintf(stderr, "upload: %s%s\n", p.out, p.err);
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
    curl_global_cleanup();
    return 0;
}

static void*
long_call(void* arg)
{
    gr_test_proc* p = arg;
    const char* args[] = { "invoke", "alice/t", NULL };
    *p = client_v("1 0 3000 0 0", args);
    return NULL;
}

/* A value of the metrics text, or -1. */
static long
metric(const char* text, const char* name)
{
    char key[128];
    snprintf(key, sizeof key, "\n%s ", name);
    const char* v = strstr(text, key);
    return v ? strtol(v + strlen(key), NULL, 10) : -1;
}

/* While a call runs its two threads on a 3-slot server: the metrics and
 * the hosts table show two granules holding two slots, and the call. */
static void
test_metrics_and_hosts(void** state)
{
    (void)state;
    static struct body b;
    assert_int_equal(http("GET", "/metrics", NULL, &b), 200);
    long started0 = metric(b.p, "granary_thread_granules_total");
    assert_true(started0 >= 0);
    pthread_t th;
    gr_test_proc call;
    assert_int_equal(pthread_create(&th, NULL, long_call, &call), 0);
    int seen = 0;
    for (int i = 0; i < 400 && !seen; i++) {
        assert_int_equal(http("GET", "/metrics", NULL, &b), 200);
        seen = metric(b.p, "granary_thread_granules") == 2;
        if (!seen)
            sleep_ms(50);
    }
    assert_true(seen);
    assert_int_equal(metric(b.p, "granary_thread_slots"), 2);
    const char* hosts[] = { "hosts", NULL };
    gr_test_proc p = client_v(NULL, hosts);
    assert_int_equal(p.status, 0);
    /* HOST ADDRESS SLOTS USED THREADS TSLOTS ... */
    assert_non_null(strstr(p.out, "THREADS"));
    assert_non_null(strstr(p.out, "TSLOTS"));
    char a[32] = "";
    int slots = 0, used = 0, threads = 0, tslots = 0;
    const char* row = strstr(p.out, "\nlocal");
    assert_non_null(row);
    assert_int_equal(
      sscanf(row + 1, "%31s %d %d %d %d", a, &slots, &used, &threads, &tslots),
      5);
    assert_int_equal(slots, 3);
    assert_int_equal(threads, 2);
    assert_int_equal(tslots, 2);
    assert_non_null(strstr(p.out, "alice/t("));
    assert_non_null(strstr(p.out, "threads 2"));
    gr_test_proc_free(&p);
    pthread_join(th, NULL);
    assert_int_equal(call.status, 0);
    assert_string_equal(call.out, "limit=3 spawned=2 refused=0\ndone\n");
    gr_test_proc_free(&call);
    assert_int_equal(http("GET", "/metrics", NULL, &b), 200);
    assert_int_equal(metric(b.p, "granary_thread_granules"), 0);
    assert_int_equal(metric(b.p, "granary_thread_slots"), 0);
    assert_int_equal(metric(b.p, "granary_thread_granules_total"),
                     started0 + 2);
}

/* --threads lets the call run more threads than it is granted; a request
 * out of range is refused. Without it, spawns beyond the slots fail. */
static void
test_invoke_threads(void** state)
{
    (void)state;
    const char* more[] = { "invoke", "alice/t", "--threads", "5", NULL };
    gr_test_proc p = client_v("1 0 0 0 0", more);
    assert_int_equal(p.status, 0);
    assert_string_equal(p.out, "limit=5 spawned=4 refused=0\ndone\n");
    gr_test_proc_free(&p);
    const char* plain[] = { "invoke", "alice/t", NULL };
    p = client_v("0 4 0 0 0", plain);
    assert_int_equal(p.status, 0);
    assert_string_equal(p.out, "limit=0 spawned=2 refused=2\ndone\n");
    gr_test_proc_free(&p);
    const char* js[] = {
        "invoke", "alice/t", "--threads", "4", "--json", NULL
    };
    p = client_v("1 0 0 0 0", js);
    assert_int_equal(p.status, 0);
    assert_non_null(strstr(p.out, "limit=4 spawned=3 refused=0"));
    gr_test_proc_free(&p);
    static struct body b;
    assert_int_equal(http("POST", "/f/alice/t?threads=258", "1 0 0 0 0", &b),
                     400);
    assert_int_equal(
      http("POST",
           "/calls",
           "{\"function\": \"alice/t\", \"input\": \"1\", \"threads\": 0}",
           &b),
      400);
    const char* bad[] = { "invoke", "alice/t", "--threads", "0", NULL };
    p = client_v("", bad);
    assert_int_equal(p.status, 2);
    gr_test_proc_free(&p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_and_hosts),
        cmocka_unit_test(test_invoke_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
