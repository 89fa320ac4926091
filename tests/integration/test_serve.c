/* SPDX-License-Identifier: Apache-2.0 */
/* granary serve end to end: a real server as a child process on a free
 * loopback port with a temporary data directory, driven over HTTP (libcurl
 * and raw sockets) and through the granary client commands. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "testutil.h"

#define GRANARY GRANARY_BINARY_DIR "/bin/granary"

typedef struct server
{
    pid_t pid;
    int port;
    char dir[128];
    char base[64]; /* http://127.0.0.1:PORT */
} server;

static server main_srv, small_srv;
static char alice[80], bob[80], admin[80];

typedef struct resp
{
    long code;
    char body[65536];
    size_t len;
    char headers[8192];
    size_t hlen;
} resp;

static resp R;

static void
sleep_ms(int ms)
{
    struct timespec ts = { .tv_sec = ms / 1000,
                           .tv_nsec = (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void
token_create(const char* dir, const char* user, int is_admin, char* out)
{
    char data[200];
    snprintf(data, sizeof data, "%s", dir);
    const char* argv[] = { GRANARY,
                           "token",
                           "create",
                           user,
                           "--data",
                           data,
                           is_admin ? "--admin" : NULL,
                           NULL };
    gr_test_proc p;
    assert_int_equal(gr_test_run(argv, NULL, 30, &p), 0);
    assert_int_equal(p.status, 0);
    assert_int_equal(strlen(p.out), 65);
    memcpy(out, p.out, 64);
    out[64] = '\0';
    gr_test_proc_free(&p);
}

/* Starts granary serve with extra options; waits for its port file. */
static int
server_start(server* s, const char* const* extra)
{
    char portfile[200], cache[200], log[200];
    snprintf(portfile, sizeof portfile, "%s/port", s->dir);
    snprintf(cache, sizeof cache, "%s/cache", s->dir);
    snprintf(log, sizeof log, "%s/server.log", s->dir);
    const char* argv[32] = { GRANARY,       "serve", "--listen", "127.0.0.1:0",
                             "--data",      s->dir,  "--cache",  cache,
                             "--port-file", portfile };
    int n = 10;
    for (int i = 0; extra && extra[i]; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        /* The server dies with the test, even if the test crashes. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(GRANARY, (char* const*)argv);
        _exit(127);
    }
    s->pid = pid;
    for (int i = 0; i < 300; i++) {
        FILE* f = fopen(portfile, "r");
        if (f) {
            int ok = fscanf(f, "%d", &s->port) == 1;
            fclose(f);
            if (ok) {
                snprintf(
                  s->base, sizeof s->base, "http://127.0.0.1:%d", s->port);
                return 0;
            }
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s->pid = 0;
            return -ECHILD;
        }
        sleep_ms(50);
    }
    return -ETIMEDOUT;
}

/* SIGTERM, then wait up to 15 s (SIGKILL after). Returns the exit status
 * or -1 if it had to be killed. */
static int
server_stop(server* s)
{
    if (s->pid <= 0)
        return 0;
    kill(s->pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 300; i++) {
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        sleep_ms(50);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    s->pid = 0;
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

static size_t
on_header(char* p, size_t size, size_t n, void* ud)
{
    resp* r = ud;
    size_t add = size * n;
    size_t room = sizeof r->headers - 1 - r->hlen;
    memcpy(r->headers + r->hlen, p, add < room ? add : room);
    r->hlen += add < room ? add : room;
    r->headers[r->hlen] = '\0';
    return add;
}

/* One request; fills R and returns the status code. */
static long
http(const server* s,
     const char* method,
     const char* path,
     const char* tok,
     const void* body,
     size_t len)
{
    memset(&R, 0, sizeof R);
    CURL* h = curl_easy_init();
    assert_non_null(h);
    char url[512], auth[200];
    snprintf(url, sizeof url, "%s%s", s->base, path);
    struct curl_slist* hdrs = curl_slist_append(NULL, "Expect:");
    if (tok) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
        hdrs = curl_slist_append(hdrs, auth);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &R);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &R);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
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

static long
post(const server* s, const char* path, const char* tok, const char* body)
{
    return http(s, "POST", path, tok, body, strlen(body));
}

/* The value of header name in R ("" if absent), in a static buffer. */
static const char*
header(const char* name)
{
    static char v[256];
    v[0] = '\0';
    size_t nl = strlen(name);
    for (const char* p = R.headers; *p;) {
        const char* e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char* s = p + nl + 1;
            while (*s == ' ')
                s++;
            size_t vl = (size_t)(p + len - s);
            while (vl && (s[vl - 1] == '\r' || s[vl - 1] == ' '))
                vl--;
            snprintf(v, sizeof v, "%.*s", (int)vl, s);
            break;
        }
        if (!e)
            break;
        p = e + 1;
    }
    return v;
}

static void
upload(const server* s,
       const char* tok,
       const char* name,
       const char* guest,
       long want)
{
    uint8_t buf[1 << 20];
    FILE* f = fopen(gr_test_guest(guest), "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    char path[200];
    snprintf(path, sizeof path, "/f/%s", name);
    long code = http(s, "PUT", path, tok, buf, n);
    if (want && code != want)
        fail_msg("upload %s: %ld %s", name, code, R.body);
}

/* Sends raw bytes on a new connection; returns the status code of the
 * first response line, 0 if the server closed without answering, or -1
 * on timeout. */
static int
raw(const server* s, const void* data, size_t len, int close_early)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((uint16_t)s->port) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr*)&a, sizeof a), 0);
    /* Generous: under a loaded CI machine the answer can take seconds; a
     * hang still fails. */
    struct timeval tv = { .tv_sec = 30 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t w = send(fd, data, len, MSG_NOSIGNAL);
    (void)w;
    if (close_early) {
        close(fd);
        return 0;
    }
    shutdown(fd, SHUT_WR);
    char buf[512] = "";
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    int e = errno;
    close(fd);
    /* A reset is the server dropping the connection: like a clean close. */
    if (n < 0)
        return e == ECONNRESET ? 0 : -1;
    if (n == 0)
        return 0;
    buf[n] = '\0';
    int code = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &code) != 1)
        return 0;
    return code;
}

static void
assert_healthy(const server* s)
{
    assert_int_equal(http(s, "GET", "/healthz", NULL, NULL, 0), 200);
    assert_string_equal(R.body, "ok\n");
}

static int
group_setup(void** state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    gr_test_mkdtemp(main_srv.dir, sizeof main_srv.dir);
    token_create(main_srv.dir, "alice", 0, alice);
    token_create(main_srv.dir, "bob", 0, bob);
    token_create(main_srv.dir, "root", 1, admin);
    const char* extra[] = { "--max-input", "64K",       "--max-upload",
                            "2M",          "--timeout", "10",
                            "--slots",     "2",         NULL };
    if (server_start(&main_srv, extra) < 0)
        return -1;
    gr_test_mkdtemp(small_srv.dir, sizeof small_srv.dir);
    char path[200];
    snprintf(path, sizeof path, "%s/tokens", small_srv.dir);
    char line[200];
    snprintf(line, sizeof line, "%s alice\n", alice);
    gr_test_write_file(path, line);
    const char* small[] = { "--slots",        "1", "--queue", "1", "--quiet",
                            "--idle-timeout", "1", NULL };
    if (server_start(&small_srv, small) < 0)
        return -1;
    return 0;
}

static int
group_teardown(void** state)
{
    (void)state;
    int a = server_stop(&main_srv);
    int b = server_stop(&small_srv);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", main_srv.dir, small_srv.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove temp dirs\n");
    curl_global_cleanup();
    /* A clean shutdown on SIGTERM exits 0. */
    return a == 0 && b == 0 ? 0 : -1;
}

static void
test_upload(void** state)
{
    (void)state;
    upload(&main_srv, alice, "alice/g", "serve_guest", 201);
    assert_non_null(strstr(R.body, "\"name\":\"g\""));
    assert_non_null(strstr(R.body, "\"hash\":\""));
    upload(&main_srv, alice, "alice/g", "serve_guest", 200);
    /* a bad module: 400 with the validator's message; nothing stored */
    assert_int_equal(
      http(
        &main_srv, "PUT", "/f/alice/bad", alice, "\0asm\1\0\0\0\xff\xff", 10),
      400);
    assert_non_null(strstr(R.body, "\"error\""));
    assert_int_equal(http(&main_srv, "GET", "/f/alice/bad", alice, NULL, 0),
                     404);
    assert_int_equal(http(&main_srv, "PUT", "/f/alice/empty", alice, "", 0),
                     400);
    /* list and info */
    assert_int_equal(http(&main_srv, "GET", "/f/alice", alice, NULL, 0), 200);
    assert_non_null(strstr(R.body, "\"name\":\"g\""));
    assert_int_equal(http(&main_srv, "GET", "/f", alice, NULL, 0), 200);
    assert_non_null(strstr(R.body, "\"name\":\"g\""));
    assert_int_equal(http(&main_srv, "GET", "/f/alice/g", alice, NULL, 0), 200);
    assert_non_null(strstr(R.body, "\"size\":"));
    /* delete */
    upload(&main_srv, alice, "alice/tmp", "serve_guest", 201);
    assert_int_equal(http(&main_srv, "DELETE", "/f/alice/tmp", alice, NULL, 0),
                     200);
    assert_int_equal(http(&main_srv, "DELETE", "/f/alice/tmp", alice, NULL, 0),
                     404);
    assert_int_equal(post(&main_srv, "/f/alice/tmp", alice, "x"), 404);
}

static void
test_sync_invoke(void** state)
{
    (void)state;
    upload(&main_srv, alice, "alice/g", "serve_guest", 0);
    assert_int_equal(post(&main_srv, "/f/alice/g", alice, "echo:hello"), 200);
    assert_string_equal(R.body, "hello");
    assert_string_equal(header("X-Granary-Status"), "done");
    assert_string_equal(header("X-Granary-Return-Code"), "0");
    assert_string_equal(header("Content-Type"), "application/octet-stream");
    assert_true(strlen(header("X-Granary-Call-Id")) > 0);
    assert_true(strlen(header("X-Granary-Exec-Us")) > 0);
    assert_true(strlen(header("X-Granary-Cold")) == 1);
    assert_int_equal(post(&main_srv, "/f/alice/g", alice, "rc:3"), 200);
    assert_string_equal(header("X-Granary-Return-Code"), "3");
    assert_int_equal(R.len, 0);
    /* an empty body is an empty input */
    assert_int_equal(http(&main_srv, "POST", "/f/alice/g", alice, "", 0), 200);
    /* the call's record is kept */
    char path[100];
    snprintf(path,
             sizeof path,
             "/calls/%s",
             (post(&main_srv, "/f/alice/g", alice, "echo:rec"),
              header("X-Granary-Call-Id")));
    assert_int_equal(http(&main_srv, "GET", path, alice, NULL, 0), 200);
    assert_non_null(strstr(R.body, "\"output\":\"rec\""));
    assert_non_null(strstr(R.body, "\"state\":\"done\""));
}

static void
test_async_status_logs(void** state)
{
    (void)state;
    upload(&main_srv, alice, "alice/g", "serve_guest", 0);
    assert_int_equal(post(&main_srv, "/f/alice/g?async=1", alice, "log:hi"),
                     202);
    char id[32];
    assert_int_equal(sscanf(R.body, "{\"call_id\":\"%31[0-9]\"", id), 1);
    char path[100];
    snprintf(path, sizeof path, "/calls/%s?wait=10", id);
    assert_int_equal(http(&main_srv, "GET", path, alice, NULL, 0), 200);
    assert_non_null(strstr(R.body, "\"state\":\"done\""));
    assert_non_null(strstr(R.body, "\"stdout\":\"hi\\n\""));
    assert_non_null(strstr(R.body, "\"stderr\":\"err:hi\\n\""));
    assert_non_null(strstr(R.body, "\"exec_us\":"));
    /* non-UTF-8 output comes back as base64 */
    assert_int_equal(post(&main_srv,
                          "/calls",
                          alice,
                          "{\"function\":\"alice/g\",\"input\":\"bin\"}"),
                     200);
    assert_non_null(strstr(R.body, "\"output\":\"//4A\""));
    assert_non_null(strstr(R.body, "\"output_encoding\":\"base64\""));
    /* the JSON form, async, base64 input */
    assert_int_equal(post(&main_srv,
                          "/calls",
                          alice,
                          "{\"function\":\"alice/g\",\"input_base64\":"
                          "\"ZWNobzp4eQ==\",\"async\":true}"),
                     202);
    assert_int_equal(sscanf(R.body, "{\"call_id\":\"%31[0-9]\"", id), 1);
    snprintf(path, sizeof path, "/calls/%s?wait=10", id);
    assert_int_equal(http(&main_srv, "GET", path, alice, NULL, 0), 200);
    assert_non_null(strstr(R.body, "\"output\":\"xy\""));
    /* unknown call */
    assert_int_equal(http(&main_srv, "GET", "/calls/12345", alice, NULL, 0),
                     404);
}

static void
test_chain(void** state)
{
    (void)state;
    upload(&main_srv, alice, "alice/chain_a", "serve_chain_a", 0);
    upload(&main_srv, alice, "alice/chain_b", "serve_chain_b", 0);
    upload(&main_srv, alice, "alice/chain_c", "serve_chain_c", 0);
    assert_int_equal(post(&main_srv, "/f/alice/chain_a", alice, "x"), 200);
    assert_string_equal(header("X-Granary-Return-Code"), "0");
    assert_string_equal(R.body, "xcba");
}

/* Shared state through the HTTP API and the CLI, seen by a guest. */
static void
test_state_values(void** state)
{
    (void)state;
    assert_int_equal(
      http(&main_srv, "PUT", "/s/alice/greeting", alice, "hi there", 8), 200);
    assert_int_equal(
      http(&main_srv, "GET", "/s/alice/greeting", alice, NULL, 0), 200);
    assert_int_equal(R.len, 8);
    assert_memory_equal(R.body, "hi there", 8);
    /* tenants: bob may not read alice's keys; an admin may */
    assert_int_equal(http(&main_srv, "GET", "/s/alice/greeting", bob, NULL, 0),
                     403);
    assert_int_equal(
      http(&main_srv, "GET", "/s/alice/greeting", admin, NULL, 0), 200);
    assert_int_equal(http(&main_srv, "GET", "/s/bob/greeting", bob, NULL, 0),
                     404);
    assert_int_equal(
      http(&main_srv, "POST", "/s/alice/greeting", alice, "x", 1), 405);
    assert_int_equal(
      http(&main_srv, "GET", "/s/alice/bad%2Akey", alice, NULL, 0), 400);
    /* a guest reads what the API wrote (pull from the global tier) */
    upload(&main_srv, alice, "alice/stateful", "state_guest", 0);
    assert_int_equal(
      post(&main_srv, "/f/alice/stateful", alice, "getstr greeting 8"), 200);
    assert_non_null(strstr(R.body, "hi there"));
    /* the CLI: set from a value, get to stdout, delete */
    const char* set[] = { GRANARY,         "state",       "set",
                          "alice/cli_key", "--value",     "from the cli",
                          "--server",      main_srv.base, "--token",
                          alice,           NULL };
    gr_test_proc p;
    assert_int_equal(gr_test_run(set, NULL, 60, &p), 0);
    assert_int_equal(p.status, 0);
    gr_test_proc_free(&p);
    const char* get[] = { GRANARY,         "state",    "get",
                          "alice/cli_key", "--server", main_srv.base,
                          "--token",       alice,      NULL };
    assert_int_equal(gr_test_run(get, NULL, 60, &p), 0);
    assert_int_equal(p.status, 0);
    assert_string_equal(p.out, "from the cli");
    gr_test_proc_free(&p);
    const char* del[] = { GRANARY,         "state",    "delete",
                          "alice/cli_key", "--server", main_srv.base,
                          "--token",       alice,      NULL };
    assert_int_equal(gr_test_run(del, NULL, 60, &p), 0);
    assert_int_equal(p.status, 0);
    gr_test_proc_free(&p);
    assert_int_equal(gr_test_run(get, NULL, 60, &p), 0);
    assert_int_equal(p.status, 4); /* not found */
    gr_test_proc_free(&p);
}

static void
test_tenants(void** state)
{
    (void)state;
    upload(&main_srv, alice, "alice/g", "serve_guest", 0);
    /* no token, a bad token, a malformed header */
    assert_int_equal(http(&main_srv, "GET", "/f/alice", NULL, NULL, 0), 401);
    assert_non_null(strstr(header("WWW-Authenticate"), "Bearer"));
    char bad[80];
    snprintf(bad, sizeof bad, "%s", alice);
    bad[0] = bad[0] == 'a' ? 'b' : 'a';
    assert_int_equal(http(&main_srv, "GET", "/f/alice", bad, NULL, 0), 401);
    assert_int_equal(http(&main_srv, "GET", "/f/alice", "short", NULL, 0), 401);
    /* bob may not touch alice's functions */
    assert_int_equal(http(&main_srv, "GET", "/f/alice", bob, NULL, 0), 403);
    assert_int_equal(http(&main_srv, "GET", "/f/alice/g", bob, NULL, 0), 403);
    assert_int_equal(post(&main_srv, "/f/alice/g", bob, "echo:x"), 403);
    assert_int_equal(http(&main_srv, "PUT", "/f/alice/g", bob, "x", 1), 403);
    assert_int_equal(http(&main_srv, "DELETE", "/f/alice/g", bob, NULL, 0),
                     403);
    assert_int_equal(
      post(
        &main_srv, "/calls", bob, "{\"function\":\"alice/g\",\"input\":\"x\"}"),
      403);
    /* nor read alice's calls: 404, as for an unknown id (issue 9) */
    assert_int_equal(post(&main_srv, "/f/alice/g", alice, "echo:secret"), 200);
    char path[100];
    snprintf(path, sizeof path, "/calls/%s", header("X-Granary-Call-Id"));
    assert_int_equal(http(&main_srv, "GET", path, bob, NULL, 0), 404);
    /* bob's own list is empty */
    assert_int_equal(http(&main_srv, "GET", "/f", bob, NULL, 0), 200);
    assert_string_equal(R.body, "[]\n");
    /* an admin may do everything */
    assert_int_equal(http(&main_srv, "GET", path, admin, NULL, 0), 200);
    assert_non_null(strstr(R.body, "secret"));
    assert_int_equal(http(&main_srv, "GET", "/f/alice", admin, NULL, 0), 200);
    assert_int_equal(post(&main_srv, "/f/alice/g", admin, "echo:a"), 200);
    assert_int_equal(http(&main_srv, "GET", "/whoami", admin, NULL, 0), 200);
    assert_non_null(strstr(R.body, "\"admin\":true"));
}

static void
test_token_reload(void** state)
{
    (void)state;
    char carol[80];
    token_create(main_srv.dir, "carol", 0, carol);
    /* picked up within a second or so of the change */
    long code = 0;
    for (int i = 0; i < 60 && code != 200; i++) {
        code = http(&main_srv, "GET", "/whoami", carol, NULL, 0);
        if (code != 200)
            sleep_ms(100);
    }
    assert_int_equal(code, 200);
    assert_non_null(strstr(R.body, "\"user\":\"carol\""));
    char data[200];
    snprintf(data, sizeof data, "%s", main_srv.dir);
    const char* argv[] = { GRANARY,  "token", "revoke", carol,
                           "--data", data,    NULL };
    gr_test_proc p;
    assert_int_equal(gr_test_run(argv, NULL, 30, &p), 0);
    assert_int_equal(p.status, 0);
    gr_test_proc_free(&p);
    kill(main_srv.pid, SIGHUP); /* at once */
    for (int i = 0; i < 60 && code != 401; i++) {
        code = http(&main_srv, "GET", "/whoami", carol, NULL, 0);
        if (code != 401)
            sleep_ms(100);
    }
    assert_int_equal(code, 401);
}

static void
test_malformed(void** state)
{
    (void)state;
    const server* s = &main_srv;
    assert_int_equal(http(s, "GET", "/nope", alice, NULL, 0), 404);
    assert_non_null(strstr(R.body, "\"error\""));
    assert_int_equal(http(s, "PATCH", "/f/alice/g", alice, "x", 1), 405);
    assert_non_null(strstr(header("Allow"), "POST"));
    assert_int_equal(http(s, "POST", "/healthz", NULL, "x", 1), 405);
    assert_int_equal(http(s, "GET", "/f/al%20ice", alice, NULL, 0), 400);
    assert_int_equal(http(s, "GET", "/calls/abc", alice, NULL, 0), 400);
    /* bad JSON where JSON is expected */
    assert_int_equal(post(s, "/calls", alice, "{\"function\":"), 400);
    assert_non_null(strstr(R.body, "bad JSON"));
    assert_int_equal(post(s, "/calls", alice, "[1,2]"), 400);
    assert_int_equal(post(s, "/calls", alice, "{\"function\":\"nouser\"}"),
                     400);
    assert_int_equal(
      post(s, "/calls", alice, "{\"function\":\"alice/g\",\"input\":3}"), 400);
    assert_int_equal(post(s,
                          "/calls",
                          alice,
                          "{\"function\":\"alice/g\",\"input_base64\":\"@\"}"),
                     400);
    /* too large: input over --max-input (64K), upload over 2M */
    static char big[3 << 20];
    memset(big, 'x', sizeof big);
    assert_int_equal(http(s, "POST", "/f/alice/g", alice, big, 65 << 10), 413);
    assert_int_equal(http(s, "PUT", "/f/alice/huge", alice, big, sizeof big),
                     413);
    assert_healthy(s);

    /* raw garbage, a huge Content-Length, a truncated body, chunked too
     * large, a bad request line: 4xx or a closed connection, never a
     * crash or a hang */
    const char* garbage = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
                          "garbage garbage\r\n\r\n";
    int code = raw(s, garbage, strlen(garbage), 0);
    if (!(code == 0 || (code >= 400 && code < 500)))
        fprintf(stderr, "garbage got %d (errno %d)\n", code, errno);
    assert_true(code == 0 || (code >= 400 && code < 500));
    char req[600];
    int n = snprintf(req,
                     sizeof req,
                     "POST /f/alice/g HTTP/1.1\r\nHost: x\r\n"
                     "Authorization: Bearer %s\r\n"
                     "Content-Length: 99999999999999\r\n\r\nabc",
                     alice);
    assert_int_equal(raw(s, req, (size_t)n, 0), 413);
    n = snprintf(req,
                 sizeof req,
                 "POST /f/alice/g HTTP/1.1\r\nHost: x\r\n"
                 "Authorization: Bearer %s\r\n"
                 "Content-Length: -5\r\n\r\nabc",
                 alice);
    code = raw(s, req, (size_t)n, 0);
    assert_true(code == 0 || code == 400 || code == 413);
    n = snprintf(req,
                 sizeof req,
                 "POST /f/alice/g HTTP/1.1\r\nHost: x\r\n"
                 "Authorization: Bearer %s\r\n"
                 "Content-Length: 100\r\n\r\necho:trunc",
                 alice);
    assert_true(raw(s, req, (size_t)n, 1) == 0);
    n = snprintf(req,
                 sizeof req,
                 "POST /f/alice/g HTTP/1.1\r\nHost: x\r\n"
                 "Authorization: Bearer %s\r\n"
                 "Content-Length: 100\r\n\r\necho:trunc",
                 alice);
    /* half-closed after a short body: the server gives up, no answer */
    code = raw(s, req, (size_t)n, 0);
    assert_true(code == 0 || code == -1 || (code >= 400 && code < 500));
    /* a bad request line: MHD answers 4xx/505 or closes */
    code = raw(s, "GET\r\n\r\n", 7, 0);
    assert_true(code == 0 || code / 100 == 4);
    code = raw(s, "FOO /healthz HTTP/9.9\r\n\r\n", 25, 0);
    assert_true(code == 0 || code / 100 == 4 || code == 505);
    /* chunked, over the limit */
    char* chunked = malloc(1000 + 70 * 1100);
    assert_non_null(chunked);
    n = snprintf(chunked,
                 600,
                 "POST /f/alice/g HTTP/1.1\r\nHost: x\r\n"
                 "Authorization: Bearer %s\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n",
                 alice);
    for (int i = 0; i < 70; i++)
        n += snprintf(
          chunked + n, 1000 + 70 * 1100 - (size_t)n, "400\r\n%01024d\r\n", 0);
    n += snprintf(chunked + n, 1000 + 70 * 1100 - (size_t)n, "0\r\n\r\n");
    assert_int_equal(raw(s, chunked, (size_t)n, 0), 413);
    free(chunked);
    assert_healthy(s);
    /* and real work still runs */
    assert_int_equal(post(s, "/f/alice/g", alice, "echo:still"), 200);
    assert_string_equal(R.body, "still");
}

static void
test_trap_and_timeout(void** state)
{
    (void)state;
    const server* s = &main_srv;
    upload(s, alice, "alice/g", "serve_guest", 0);
    assert_int_equal(post(s, "/f/alice/g", alice, "trap"), 500);
    assert_string_equal(header("X-Granary-Status"), "failed");
    assert_true(strlen(header("X-Granary-Trap")) > 0);
    assert_non_null(strstr(R.body, "\"error\":\"the call trapped"));
    assert_int_equal(post(s, "/f/alice/g?timeout=0.5", alice, "loop"), 504);
    assert_string_equal(header("X-Granary-Status"), "failed");
    assert_non_null(strstr(R.body, "timed out"));
    assert_int_equal(post(s, "/f/alice/g?timeout=-1", alice, "loop"), 400);
    assert_healthy(s);
    assert_int_equal(post(s, "/f/alice/g", alice, "echo:after"), 200);
    assert_string_equal(R.body, "after");
    /* metrics counted them */
    assert_int_equal(http(s, "GET", "/metrics", NULL, NULL, 0), 200);
    assert_non_null(strstr(R.body, "granary_call_timeouts_total "));
    assert_non_null(strstr(R.body,
                           "granary_call_duration_seconds_bucket{le="
                           "\"+Inf\"}"));
    assert_non_null(strstr(R.body, "granary_starts_total{kind=\"cold\"}"));
    assert_null(strstr(R.body, "granary_call_timeouts_total 0\n"));
}

static void
test_queue_full(void** state)
{
    (void)state;
    const server* s = &small_srv;
    upload(s, alice, "alice/g", "serve_guest", 201);
    /* one slot, a queue of one: the first call runs, the second waits in
     * the queue, and the third concurrent call is refused. The first must
     * be running (not merely queued) before the others arrive, which takes
     * a moment on a loaded machine. */
    assert_int_equal(post(s, "/f/alice/g?async=1", alice, "sleep:1500"), 202);
    char id[32], path[100];
    assert_int_equal(sscanf(R.body, "{\"call_id\":\"%31[0-9]\"", id), 1);
    snprintf(path, sizeof path, "/calls/%s", id);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(http(s, "GET", path, alice, NULL, 0), 200);
        if (!strstr(R.body, "\"state\":\"queued\""))
            break;
        sleep_ms(10);
    }
    int accepted = 1, refused = 0;
    for (int i = 0; i < 3; i++) {
        long code = post(s, "/f/alice/g?async=1", alice, "sleep:1500");
        if (code == 202)
            accepted++;
        else if (code == 429) {
            refused++;
            assert_string_equal(header("Retry-After"), "1");
        } else
            fail_msg("unexpected %ld %s", code, R.body);
    }
    assert_true(accepted >= 2);
    assert_true(refused >= 1);
    /* a sync call is refused too while the queue is full */
    assert_int_equal(post(s, "/f/alice/g", alice, "echo:x"), 429);
    assert_healthy(s);
    assert_int_equal(http(s, "GET", "/metrics", NULL, NULL, 0), 200);
    assert_null(strstr(R.body, "granary_calls_rejected_total 0\n"));
}

/* Slow-loris: a connection that never finishes its headers is closed by
 * the idle timeout (1 s on the small server). */
static void
test_idle_timeout(void** state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((uint16_t)small_srv.port) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr*)&a, sizeof a), 0);
    struct timeval tv = { .tv_sec = 10 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const char* part = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    assert_true(send(fd, part, strlen(part), MSG_NOSIGNAL) > 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    close(fd);
    assert_true(n <= 0);
    assert_true(t1.tv_sec - t0.tv_sec < 8);
    assert_healthy(&small_srv);
}

static int
cli(const char* const* argv, gr_test_proc* p)
{
    assert_int_equal(gr_test_run(argv, NULL, 60, p), 0);
    return p->status;
}

static void
test_cli_client(void** state)
{
    (void)state;
    const char* S = main_srv.base;
    gr_test_proc p;
    const char* up[] = { GRANARY,     "upload",
                         "alice/cli", gr_test_guest("serve_guest"),
                         "--server",  S,
                         "--token",   alice,
                         NULL };
    assert_int_equal(cli(up, &p), 0);
    assert_non_null(strstr(p.out, "alice/cli "));
    gr_test_proc_free(&p);
    const char* inv[] = { GRANARY,   "invoke",   "alice/cli", "--input",
                          "echo:yo", "--server", S,           "--token",
                          alice,     NULL };
    assert_int_equal(cli(inv, &p), 0);
    assert_string_equal(p.out, "yo");
    gr_test_proc_free(&p);
    const char* rc7[] = { GRANARY,    "invoke", "alice/cli", "--input", "rc:7",
                          "--server", S,        "--token",   alice,     NULL };
    assert_int_equal(cli(rc7, &p), 1);
    gr_test_proc_free(&p);
    const char* trap[] = { GRANARY,    "invoke", "alice/cli", "--input", "trap",
                           "--server", S,        "--token",   alice,     NULL };
    assert_int_equal(cli(trap, &p), 6);
    gr_test_proc_free(&p);
    const char* forb[] = { GRANARY,    "invoke", "alice/cli", "--input", "x",
                           "--server", S,        "--token",   bob,       NULL };
    assert_int_equal(cli(forb, &p), 4);
    gr_test_proc_free(&p);
    const char* down[] = {
        GRANARY,   "fn",  "list", "--server", "http://127.0.0.1:1",
        "--token", alice, NULL
    };
    assert_int_equal(cli(down, &p), 3);
    gr_test_proc_free(&p);
    const char* badmod[] = { GRANARY,         "upload",   "alice/bad",
                             "/etc/hostname", "--server", S,
                             "--token",       alice,      NULL };
    assert_int_equal(cli(badmod, &p), 125);
    gr_test_proc_free(&p);
    /* stdin input, async, then status and logs */
    const char* as[] = { GRANARY, "invoke",  "alice/cli", "--async", "--server",
                         S,       "--token", alice,       NULL };
    assert_int_equal(gr_test_run(as, "log:viacli", 60, &p), 0);
    assert_int_equal(p.status, 0);
    char id[32];
    assert_int_equal(sscanf(p.out, "%31[0-9]", id), 1);
    gr_test_proc_free(&p);
    const char* st[] = { GRANARY,    "status", id,        "--wait", "10",
                         "--server", S,        "--token", alice,    NULL };
    assert_int_equal(cli(st, &p), 0);
    assert_non_null(strstr(p.out, "state:       done"));
    gr_test_proc_free(&p);
    const char* lg[] = { GRANARY, "logs",    id,    "--server",
                         S,       "--token", alice, NULL };
    assert_int_equal(cli(lg, &p), 0);
    assert_string_equal(p.out, "viacli\n");
    assert_string_equal(p.err, "err:viacli\n");
    gr_test_proc_free(&p);
    const char* js[] = { GRANARY,   "invoke", "alice/cli", "--json",
                         "--input", "echo:j", "--server",  S,
                         "--token", alice,    NULL };
    assert_int_equal(cli(js, &p), 0);
    assert_non_null(strstr(p.out, "\"output\":\"j\""));
    gr_test_proc_free(&p);
    const char* ls[] = { GRANARY, "fn",      "list", "--server",
                         S,       "--token", alice,  NULL };
    assert_int_equal(cli(ls, &p), 0);
    assert_non_null(strstr(p.out, "alice/cli"));
    gr_test_proc_free(&p);
    const char* del[] = { GRANARY, "fn",      "delete", "alice/cli", "--server",
                          S,       "--token", alice,    NULL };
    assert_int_equal(cli(del, &p), 0);
    gr_test_proc_free(&p);
    assert_int_equal(cli(del, &p), 4);
    gr_test_proc_free(&p);
    const char* help[] = { GRANARY, "invoke", "--help", NULL };
    assert_int_equal(cli(help, &p), 0);
    assert_non_null(strstr(p.out, "exit status"));
    gr_test_proc_free(&p);
    const char* usage[] = { GRANARY, "invoke", NULL };
    assert_int_equal(cli(usage, &p), 2);
    gr_test_proc_free(&p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upload),
        cmocka_unit_test(test_sync_invoke),
        cmocka_unit_test(test_async_status_logs),
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_state_values),
        cmocka_unit_test(test_tenants),
        cmocka_unit_test(test_token_reload),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_trap_and_timeout),
        cmocka_unit_test(test_queue_full),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_cli_client),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
