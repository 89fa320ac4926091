/* SPDX-License-Identifier: Apache-2.0 */
/* Nothing is lost on restart: a real `granary serve` (embedded state tier)
 * is given state values and async calls, killed with SIGKILL, and started
 * again on the same data folder; every value and every call result reads
 * back, and calls that had not finished read back as failed. */
#include <curl/curl.h>
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
#define NVALUES 20
#define NCALLS 12

static char dir[128], alice[80], base[64];
static pid_t pid;

typedef struct resp
{
    long code;
    char body[65536];
    size_t len;
} resp;

static resp R;

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void
token_create(const char* user, char* out)
{
    const char* argv[] = {
        GRANARY, "token", "create", user, "--data", dir, NULL
    };
    gr_test_proc p;
    assert_int_equal(gr_test_run(argv, NULL, 30, &p), 0);
    assert_int_equal(p.status, 0);
    memcpy(out, p.out, 64);
    out[64] = '\0';
    gr_test_proc_free(&p);
}

/* Starts granary serve on dir; waits for a fresh port file. */
static void
server_start(void)
{
    char portfile[200], cache[200], log[200];
    snprintf(portfile, sizeof portfile, "%s/port", dir);
    snprintf(cache, sizeof cache, "%s/cache", dir);
    snprintf(log, sizeof log, "%s/server.log", dir);
    unlink(portfile);
    const char* argv[] = { GRANARY,       "serve",  "--listen", "127.0.0.1:0",
                           "--data",      dir,      "--cache",  cache,
                           "--port-file", portfile, "--slots",  "1",
                           "--timeout",   "120",    NULL };
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(GRANARY, (char* const*)argv);
        _exit(127);
    }
    for (int i = 0; i < 600; i++) {
        FILE* f = fopen(portfile, "r");
        int port = 0;
        if (f) {
            int ok = fscanf(f, "%d", &port) == 1;
            fclose(f);
            if (ok) {
                snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
                return;
            }
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            fail_msg("granary serve exited at start (see %s)", log);
        sleep_ms(50);
    }
    fail_msg("granary serve did not start");
}

static void
server_kill9(void)
{
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFSIGNALED(st));
    pid = 0;
}

static int
server_term(void)
{
    if (pid <= 0)
        return 0;
    kill(pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 600; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        sleep_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    pid = 0;
    return -1;
}

static size_t
on_body(char* p, size_t size, size_t n, void* ud)
{
    resp* r = ud;
    size_t add = size * n;
    size_t room = sizeof r->body - 1 - r->len;
    memcpy(r->body + r->len, p, add < room ? add : room);
    r->len += add < room ? add : room;
    r->body[r->len] = '\0';
    return add;
}

static long
http(const char* method, const char* path, const void* body, size_t len)
{
    memset(&R, 0, sizeof R);
    CURL* h = curl_easy_init();
    assert_non_null(h);
    char url[512], auth[200];
    snprintf(url, sizeof url, "%s%s", base, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", alice);
    struct curl_slist* hdrs = curl_slist_append(NULL, "Expect:");
    hdrs = curl_slist_append(hdrs, auth);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &R);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK)
        fail_msg("%s %s: %s", method, url, curl_easy_strerror(cc));
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &R.code);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return R.code;
}

static void
value_of(int i, char* buf, size_t* len)
{
    *len = 1 + (size_t)i * 1500; /* up to ~28 KiB */
    for (size_t k = 0; k < *len; k++)
        buf[k] = (char)('a' + (i * 7 + k) % 26);
}

/* Invokes input asynchronously; the call id into id. */
static void
invoke_async(const char* input, char* id)
{
    assert_int_equal(http("POST", "/f/alice/g?async=1", input, strlen(input)),
                     202);
    assert_int_equal(sscanf(R.body, "{\"call_id\":\"%31[0-9]\"", id), 1);
}

static void
expect_call(const char* id, const char* want1, const char* want2)
{
    char path[100];
    snprintf(path, sizeof path, "/calls/%s", id);
    if (http("GET", path, NULL, 0) != 200 || !strstr(R.body, want1) ||
        (want2 && !strstr(R.body, want2)))
        fail_msg("call %s: %ld %s (want %s %s)",
                 id,
                 R.code,
                 R.body,
                 want1,
                 want2 ? want2 : "");
}

static void
test_kill9_keeps_values_and_calls(void** state)
{
    (void)state;
    server_start();
    char wasm[1 << 20];
    FILE* f = fopen(gr_test_guest("serve_guest"), "rb");
    assert_non_null(f);
    size_t wn = fread(wasm, 1, sizeof wasm, f);
    fclose(f);
    assert_int_equal(http("PUT", "/f/alice/g", wasm, wn), 201);

    static char v[32768];
    size_t vl;
    char path[512];
    for (int i = 0; i < NVALUES; i++) {
        value_of(i, v, &vl);
        snprintf(path, sizeof path, "/s/alice/key%d", i);
        assert_int_equal(http("PUT", path, v, vl), 200);
    }
    /* overwritten and deleted values stay so */
    assert_int_equal(http("PUT", "/s/alice/key0", "new", 3), 200);
    assert_int_equal(http("PUT", "/s/alice/gone", "x", 1), 200);
    assert_int_equal(http("DELETE", "/s/alice/gone", NULL, 0), 200);

    char ids[NCALLS][32];
    char in[64];
    for (int i = 0; i < NCALLS; i++) {
        snprintf(in, sizeof in, "echo:result-%d", i);
        invoke_async(in, ids[i]);
    }
    char trap[32], loop[32], queued[32], logid[32];
    invoke_async("trap", trap);
    invoke_async("log:hello", logid);
    /* Read every result once before the kill: what was seen survives. */
    for (int i = 0; i < NCALLS; i++) {
        snprintf(path, sizeof path, "/calls/%s?wait=60", ids[i]);
        assert_int_equal(http("GET", path, NULL, 0), 200);
    }
    snprintf(path, sizeof path, "/calls/%s?wait=60", logid);
    assert_int_equal(http("GET", path, NULL, 0), 200);
    /* One call running (the only slot), one queued behind it. */
    invoke_async("loop", loop);
    invoke_async("echo:never", queued);
    snprintf(path, sizeof path, "/calls/%s", loop);
    for (int i = 0; i < 600; i++) {
        assert_int_equal(http("GET", path, NULL, 0), 200);
        if (strstr(R.body, "\"state\":\"running\""))
            break;
        sleep_ms(50);
    }
    assert_non_null(strstr(R.body, "\"state\":\"running\""));

    server_kill9();
    server_start();

    for (int i = 0; i < NVALUES; i++) {
        snprintf(path, sizeof path, "/s/alice/key%d", i);
        assert_int_equal(http("GET", path, NULL, 0), 200);
        if (i == 0) {
            assert_int_equal(R.len, 3);
            assert_memory_equal(R.body, "new", 3);
            continue;
        }
        value_of(i, v, &vl);
        assert_int_equal(R.len, vl);
        assert_memory_equal(R.body, v, vl);
    }
    assert_int_equal(http("GET", "/s/alice/gone", NULL, 0), 404);
    for (int i = 0; i < NCALLS; i++) {
        char want[64];
        snprintf(want, sizeof want, "\"output\":\"result-%d\"", i);
        expect_call(ids[i], "\"state\":\"done\"", want);
    }
    expect_call(trap, "\"state\":\"failed\"", "\"status\":\"trap\"");
    expect_call(
      logid, "\"stdout\":\"hello\\n\"", "\"stderr\":\"err:hello\\n\"");
    const char* restarted =
      "\"status\":\"server restarted before the call finished\"";
    expect_call(loop, "\"state\":\"failed\"", restarted);
    expect_call(queued, "\"state\":\"failed\"", restarted);

    /* A clean stop and start keep them too. */
    assert_int_equal(server_term(), 0);
    server_start();
    value_of(NVALUES - 1, v, &vl);
    snprintf(path, sizeof path, "/s/alice/key%d", NVALUES - 1);
    assert_int_equal(http("GET", path, NULL, 0), 200);
    assert_int_equal(R.len, vl);
    assert_memory_equal(R.body, v, vl);
    expect_call(ids[0], "\"state\":\"done\"", "\"output\":\"result-0\"");
    expect_call(loop, "\"state\":\"failed\"", restarted);
    assert_int_equal(server_term(), 0);
}

static int
group_setup(void** state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    gr_test_mkdtemp(dir, sizeof dir);
    token_create("alice", alice);
    return 0;
}

static int
group_teardown(void** state)
{
    (void)state;
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    curl_global_cleanup();
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_keeps_values_and_calls),
    };
    return cmocka_run_group_tests_name(
      "restart", tests, group_setup, group_teardown);
}
