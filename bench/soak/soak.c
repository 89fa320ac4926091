/* SPDX-License-Identifier: Apache-2.0 */
/* soak: a bounded load generator against `granary serve` on loopback. It
 * starts its own server (temp data folder, one token), uploads
 * soak_guest.wasm and runs a few keep-alive clients for SOAK_SECONDS with a
 * mix of short calls, traps, timeouts (spinning and sleeping in a host
 * call), large outputs, state round trips, chained calls and async calls,
 * checking every answer against what it must be. It samples the server's
 * RSS every few seconds. Exits 0 and prints RESULT lines only when the
 * server never crashed and every answer was the expected one, and exits 0
 * only if, besides, the RSS level (median over a minute) at the end stayed
 * within SOAK_MAX_RSS_GROWTH_PCT of its level just after minute 1.
 * Usage: soak GRANARY SOAK_GUEST.wasm
 * Environment: SOAK_SECONDS (default 1800), SOAK_CLIENTS (4),
 * SOAK_SAMPLE_SECONDS (5), SOAK_MAX_RSS_GROWTH_PCT (10). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "soak_data.h"

/* The kinds of request in the mix, with their weights (per 100). */
enum kind
{
    K_ECHO,
    K_TRAP,
    K_SPIN,
    K_SLEEP,
    K_BIG,
    K_STATE,
    K_CHAIN,
    K_ASYNC,
    K_HEALTH,
    K_COUNT
};
static const char* const kind_name[K_COUNT] = {
    "short", "trap",  "timeout-spin", "timeout-sleep", "large-output",
    "state", "chain", "async",        "healthz",
};
static const int kind_weight[K_COUNT] = { 36, 8, 6, 4, 8, 14, 10, 12, 2 };

/* The timeout of the timeout kinds, and how long past it an answer may
 * come on a loaded machine before it counts as not having timed out. */
#define CALL_TIMEOUT "0.2"
#define SLEEP_MS 3000
#define MAX_BIG (2u << 20)
#define MAX_UNEXPECTED_SHOWN 20

struct stats
{
    atomic_long n[K_COUNT];
    atomic_long bad[K_COUNT];
    atomic_long ms_sum[K_COUNT];
    atomic_long ms_max[K_COUNT];
};

static struct stats S;
static atomic_long shown;
static atomic_int stop;
static char base_url[64];
static char token[128];
static char auth_header[160];
static pid_t server_pid;
static char dir[64];

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
env_long(const char* name, long def)
{
    const char* v = getenv(name);
    return v && *v ? atol(v) : def;
}

/* ---- one client: a keep-alive connection through one curl handle ---- */

struct buf
{
    char* p;
    size_t len, cap;
};

static void
buf_add(struct buf* b, const void* data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char* p = realloc(b->p, cap);
        if (!p) {
            fprintf(stderr, "soak: out of memory\n");
            exit(1);
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

struct client
{
    int id;
    CURL* curl;
    struct curl_slist* hs; /* request headers */
    uint64_t rng;
    struct buf body, headers;
    long status;
    double ms;
    char err[CURL_ERROR_SIZE];
    pthread_t thread;
};

static size_t
on_body(char* p, size_t size, size_t n, void* arg)
{
    buf_add(arg, p, size * n);
    return size * n;
}

static size_t
on_header(char* p, size_t size, size_t n, void* arg)
{
    buf_add(arg, p, size * n);
    return size * n;
}

static uint64_t
rnd(struct client* c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return c->rng;
}

/* One request on the client's connection; fills status, body, headers and
 * ms. Returns 0, or -1 if no HTTP answer came (c->err says why). */
static int
req(struct client* c,
    const char* method,
    const char* path,
    const void* data,
    size_t len)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", base_url, path);
    c->body.len = c->headers.len = 0;
    c->err[0] = '\0';
    c->status = 0;
    CURL* h = c->curl;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, data ? data : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(
      h, CURLOPT_CUSTOMREQUEST, strcmp(method, "PUT") == 0 ? "PUT" : NULL);
    double t0 = now_s();
    CURLcode rc = curl_easy_perform(h);
    c->ms = (now_s() - t0) * 1000;
    if (rc != CURLE_OK)
        return -1;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
    if (!c->body.p)
        buf_add(&c->body, "", 0);
    if (!c->headers.p)
        buf_add(&c->headers, "", 0);
    return 0;
}

/* The value of header name in the last answer (copied into out), or NULL. */
static const char*
header(struct client* c, const char* name, char* out, size_t outlen)
{
    size_t nl = strlen(name);
    for (const char* l = c->headers.p; l && *l;) {
        const char* e = strchr(l, '\n');
        size_t ll = e ? (size_t)(e - l) : strlen(l);
        if (ll > nl && strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
            const char* v = l + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = (size_t)(l + ll - v);
            while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
                vl--;
            if (vl >= outlen)
                vl = outlen - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return out;
        }
        l = e ? e + 1 : l + ll;
    }
    return NULL;
}

/* Records an unexpected answer: counted, and the first few printed with
 * what was expected and what came. Returns 1 (so checks can "return
 * bad(...)"). */
static int
bad(struct client* c, enum kind k, const char* fmt, ...)
{
    S.bad[k]++;
    if (atomic_fetch_add(&shown, 1) < MAX_UNEXPECTED_SHOWN) {
        char what[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        char snippet[161] = "";
        if (c->body.p) {
            size_t n = c->body.len < 160 ? c->body.len : 160;
            for (size_t i = 0; i < n; i++) {
                char ch = c->body.p[i];
                snippet[i] = ch >= 32 && ch < 127 ? ch : '.';
            }
            snippet[n] = '\0';
        }
        fprintf(stderr,
                "soak: unexpected %s answer (client %d): %s; got %s%ld in "
                "%.0f ms, body \"%s\"\n",
                kind_name[k],
                c->id,
                what,
                c->err[0] ? c->err : "status ",
                c->status,
                c->ms,
                snippet);
    }
    return 1;
}

static void
rand_text(struct client* c, char* out, size_t len)
{
    static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789-_.";
    for (size_t i = 0; i < len; i++)
        out[i] = al[rnd(c) % (sizeof al - 1)];
    out[len] = '\0';
}

/* POST to the soak function, with an optional query. */
static int
invoke(struct client* c, const char* query, const char* input)
{
    char path[128];
    snprintf(path, sizeof path, "/f/soak/soak%s", query ? query : "");
    return req(c, "POST", path, input, strlen(input));
}

/* A sync call that must answer 200, return code 0, output == want. */
static int
expect_output(struct client* c,
              enum kind k,
              const char* query,
              const char* input,
              const char* want)
{
    if (invoke(c, query, input))
        return bad(c, k, "no answer to \"%.40s\"", input);
    char rc[32];
    if (c->status != 200)
        return bad(c, k, "200 for \"%.40s\"", input);
    if (!header(c, "X-Granary-Return-Code", rc, sizeof rc) ||
        strcmp(rc, "0") != 0)
        return bad(c, k, "return code 0 for \"%.40s\"", input);
    if (c->body.len != strlen(want) || memcmp(c->body.p, want, c->body.len))
        return bad(c, k, "output \"%.60s\"", want);
    return 0;
}

static int
do_echo(struct client* c)
{
    char text[256], in[300];
    rand_text(c, text, 1 + rnd(c) % 200);
    snprintf(in, sizeof in, "echo:%s", text);
    return expect_output(c, K_ECHO, NULL, in, text);
}

/* A trap is a 500 whose JSON says so and names the trap. */
static int
do_trap(struct client* c)
{
    if (invoke(c, NULL, "trap"))
        return bad(c, K_TRAP, "no answer");
    char t[128];
    if (c->status != 500)
        return bad(c, K_TRAP, "500");
    if (!header(c, "X-Granary-Trap", t, sizeof t) || !t[0])
        return bad(c, K_TRAP, "an X-Granary-Trap header");
    json_t* j = json_loadb(c->body.p, c->body.len, 0, NULL);
    const char* err = json_string_value(json_object_get(j, "error"));
    int ok = err && strstr(err, "trapped") &&
             json_string_value(json_object_get(j, "trap"));
    json_decref(j);
    return ok ? 0 : bad(c, K_TRAP, "{\"error\": \"the call trapped: ...\"}");
}

/* A call past its 0.2 s timeout is a 504 with the documented body; a guest
 * sleeping in a host call must be stopped at the deadline too, not when
 * its sleep ends. */
static int
do_timeout(struct client* c, enum kind k)
{
    char in[32];
    if (k == K_SPIN)
        snprintf(in, sizeof in, "spin");
    else
        snprintf(in, sizeof in, "sleep:%d", SLEEP_MS);
    if (invoke(c, "?timeout=" CALL_TIMEOUT, in))
        return bad(c, k, "no answer");
    if (c->status != 504)
        return bad(c, k, "504");
    json_t* j = json_loadb(c->body.p, c->body.len, 0, NULL);
    const char* err = json_string_value(json_object_get(j, "error"));
    int ok = err && strstr(err, "timed out");
    json_decref(j);
    if (!ok)
        return bad(c, k, "{\"error\": \"the call timed out\"}");
    if (k == K_SLEEP && c->ms >= SLEEP_MS)
        return bad(c, k, "an answer before the sleep ended");
    return 0;
}

static int
do_big(struct client* c)
{
    unsigned long n = 1 + rnd(c) % MAX_BIG, seed = rnd(c) % 1000000;
    char in[64];
    snprintf(in, sizeof in, "big:%lu:%lu", n, seed);
    if (invoke(c, NULL, in))
        return bad(c, K_BIG, "no answer");
    char rc[32];
    if (c->status != 200)
        return bad(c, K_BIG, "200");
    if (!header(c, "X-Granary-Return-Code", rc, sizeof rc) ||
        strcmp(rc, "0") != 0)
        return bad(c, K_BIG, "return code 0");
    if (c->body.len != n)
        return bad(c, K_BIG, "%lu bytes (got %zu)", n, c->body.len);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)c->body.p[i] != soak_byte(seed, i))
            return bad(c, K_BIG, "byte %zu of %lu to match", i, n);
    return 0;
}

/* A state round trip on one of the client's own keys, either way:
 * HTTP PUT then a guest pulls it, or a guest pushes then HTTP GET. */
static int
do_state(struct client* c)
{
    char key[32], val[128], in[200], path[96];
    snprintf(key, sizeof key, "c%dk%d", c->id, (int)(rnd(c) % 8));
    rand_text(c, val, 1 + rnd(c) % 100);
    snprintf(path, sizeof path, "/s/soak/%s", key);
    if (rnd(c) % 2) {
        if (req(c, "PUT", path, val, strlen(val)))
            return bad(c, K_STATE, "no answer to PUT %s", path);
        if (c->status != 200)
            return bad(c, K_STATE, "200 for PUT %s", path);
        snprintf(in, sizeof in, "sget:%s", key);
        return expect_output(c, K_STATE, NULL, in, val);
    }
    snprintf(in, sizeof in, "sput:%s:%s", key, val);
    if (expect_output(c, K_STATE, NULL, in, ""))
        return 1;
    if (req(c, "GET", path, NULL, 0))
        return bad(c, K_STATE, "no answer to GET %s", path);
    if (c->status != 200)
        return bad(c, K_STATE, "200 for GET %s", path);
    if (c->body.len != strlen(val) || memcmp(c->body.p, val, c->body.len))
        return bad(c, K_STATE, "GET %s = \"%s\"", path, val);
    return 0;
}

static void
chain_want(int depth, const char* text, char* want, size_t len)
{
    int n = snprintf(want, len, "%s", text);
    for (int d = 1; d <= depth; d++)
        n += snprintf(want + n, len - (size_t)n, "a%d", d);
}

static int
do_chain(struct client* c)
{
    char text[64], in[100], want[100];
    int depth = 1 + (int)(rnd(c) % 3);
    rand_text(c, text, 1 + rnd(c) % 40);
    snprintf(in, sizeof in, "chain:%d:%s", depth, text);
    chain_want(depth, text, want, sizeof want);
    return expect_output(c, K_CHAIN, NULL, in, want);
}

/* Async: 202 with a call id, then the record (waiting on the server up to
 * 10 s per poll, 60 s in all) until it is done with the right output. */
static int
do_async(struct client* c)
{
    char text[64], in[100], want[100];
    int chained = rnd(c) % 2;
    rand_text(c, text, 1 + rnd(c) % 40);
    if (chained) {
        snprintf(in, sizeof in, "chain:2:%s", text);
        chain_want(2, text, want, sizeof want);
    } else {
        snprintf(in, sizeof in, "echo:%s", text);
        snprintf(want, sizeof want, "%s", text);
    }
    if (invoke(c, "?async=1", in))
        return bad(c, K_ASYNC, "no answer");
    if (c->status != 202)
        return bad(c, K_ASYNC, "202");
    json_t* j = json_loadb(c->body.p, c->body.len, 0, NULL);
    const char* id = json_string_value(json_object_get(j, "call_id"));
    char path[96];
    if (id)
        snprintf(path, sizeof path, "/calls/%s?wait=10", id);
    json_decref(j);
    if (!id)
        return bad(c, K_ASYNC, "{\"call_id\": \"...\"}");
    double until = now_s() + 60;
    for (;;) {
        if (req(c, "GET", path, NULL, 0))
            return bad(c, K_ASYNC, "no answer to GET %s", path);
        if (c->status != 200)
            return bad(c, K_ASYNC, "200 for GET %s", path);
        j = json_loadb(c->body.p, c->body.len, 0, NULL);
        const char* st = json_string_value(json_object_get(j, "state"));
        if (st && (strcmp(st, "queued") == 0 || strcmp(st, "running") == 0) &&
            now_s() < until) {
            json_decref(j);
            continue;
        }
        const char* out = json_string_value(json_object_get(j, "output"));
        const char* enc =
          json_string_value(json_object_get(j, "output_encoding"));
        const char* status = json_string_value(json_object_get(j, "status"));
        int ok = st && strcmp(st, "done") == 0 && status &&
                 strcmp(status, "ok") == 0 && out && enc &&
                 strcmp(enc, "utf-8") == 0 && strcmp(out, want) == 0;
        json_decref(j);
        return ok ? 0
                  : bad(c,
                        K_ASYNC,
                        "state done, status ok, output \"%s\" (call %s)",
                        want,
                        path);
    }
}

static int
do_health(struct client* c)
{
    if (req(c, "GET", "/healthz", NULL, 0))
        return bad(c, K_HEALTH, "no answer");
    return c->status == 200 ? 0 : bad(c, K_HEALTH, "200");
}

static enum kind
pick(struct client* c)
{
    int r = (int)(rnd(c) % 100);
    for (int k = 0; k < K_COUNT; k++) {
        if (r < kind_weight[k])
            return (enum kind)k;
        r -= kind_weight[k];
    }
    return K_ECHO;
}

static void*
client_run(void* arg)
{
    struct client* c = arg;
    while (!atomic_load(&stop)) {
        enum kind k = pick(c);
        double t0 = now_s();
        switch (k) {
            case K_ECHO:
                do_echo(c);
                break;
            case K_TRAP:
                do_trap(c);
                break;
            case K_SPIN:
            case K_SLEEP:
                do_timeout(c, k);
                break;
            case K_BIG:
                do_big(c);
                break;
            case K_STATE:
                do_state(c);
                break;
            case K_CHAIN:
                do_chain(c);
                break;
            case K_ASYNC:
                do_async(c);
                break;
            default:
                do_health(c);
                break;
        }
        long ms = (long)((now_s() - t0) * 1000);
        S.n[k]++;
        S.ms_sum[k] += ms;
        long m = atomic_load(&S.ms_max[k]);
        while (ms > m && !atomic_compare_exchange_weak(&S.ms_max[k], &m, ms))
            ;
    }
    return NULL;
}

static int
client_init(struct client* c, int id)
{
    memset(c, 0, sizeof *c);
    c->id = id;
    c->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(id + 1) ^ (uint64_t)time(NULL);
    if (!c->rng)
        c->rng = 1;
    c->curl = curl_easy_init();
    if (!c->curl)
        return -1;
    c->hs = curl_slist_append(NULL, auth_header);
    c->hs = curl_slist_append(c->hs, "Content-Type: application/octet-stream");
    c->hs = curl_slist_append(c->hs, "Expect:");
    CURL* h = c->curl;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->hs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &c->headers);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->err);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    return 0;
}

static void
client_fini(struct client* c)
{
    curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->hs);
    free(c->body.p);
    free(c->headers.p);
}

/* ---- the server ------------------------------------------------------ */

static long
server_rss_kb(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)server_pid);
    FILE* f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static void
show_log_tail(void)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "tail -n 30 %s/server.log >&2", dir);
    fprintf(stderr, "soak: last lines of the server's log:\n");
    if (system(cmd) != 0)
        fprintf(stderr, "soak: (no log)\n");
}

static int
start_server(const char* granary)
{
    char cmd[512];
    snprintf(
      cmd, sizeof cmd, "'%s' token create soak --data '%s'", granary, dir);
    FILE* p = popen(cmd, "r");
    if (!p || !fgets(token, sizeof token, p)) {
        fprintf(stderr, "soak: granary token create failed\n");
        if (p)
            pclose(p);
        return -1;
    }
    pclose(p);
    token[strcspn(token, "\r\n")] = '\0';
    snprintf(
      auth_header, sizeof auth_header, "Authorization: Bearer %s", token);

    char data[96], cache[96], port_file[96], log[96];
    snprintf(data, sizeof data, "%s", dir);
    snprintf(cache, sizeof cache, "%s/cache", dir);
    snprintf(port_file, sizeof port_file, "%s/port", dir);
    snprintf(log, sizeof log, "%s/server.log", dir);
    server_pid = fork();
    if (server_pid < 0)
        return -1;
    if (server_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(granary,
              granary,
              "serve",
              "--listen",
              "127.0.0.1:0",
              "--data",
              data,
              "--cache",
              cache,
              "--port-file",
              port_file,
              /* record bounds small enough to be reached in the first
               * minute, so that growth after it measures leaks, not the
               * records filling up to their (default 256 MiB) bound */
              "--max-record-bytes",
              "16M",
              "--max-user-record-bytes",
              "16M",
              "--quiet",
              (char*)NULL);
        _exit(127);
    }
    for (int i = 0; i < 600; i++) {
        FILE* f = fopen(port_file, "r");
        int port = 0;
        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (port > 0) {
            snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d", port);
            return 0;
        }
        if (waitpid(server_pid, NULL, WNOHANG) == server_pid) {
            server_pid = 0;
            break;
        }
        usleep(100000);
    }
    fprintf(stderr, "soak: granary serve did not start\n");
    show_log_tail();
    return -1;
}

/* SIGTERM, then waits up to 30 s for a clean exit (status 0). */
static int
stop_server(void)
{
    if (server_pid <= 0)
        return -1;
    kill(server_pid, SIGTERM);
    for (int i = 0; i < 300; i++) {
        int st;
        if (waitpid(server_pid, &st, WNOHANG) == server_pid) {
            server_pid = 0;
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                return 0;
            fprintf(stderr,
                    "soak: the server ended badly on SIGTERM (%s %d)\n",
                    WIFSIGNALED(st) ? "signal" : "exit status",
                    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
            return -1;
        }
        usleep(100000);
    }
    fprintf(stderr, "soak: the server did not stop within 30 s of SIGTERM\n");
    kill(server_pid, SIGKILL);
    waitpid(server_pid, NULL, 0);
    server_pid = 0;
    return -1;
}

static int
upload(const char* wasm)
{
    FILE* f = fopen(wasm, "rb");
    struct buf m = { 0 };
    char chunk[65536];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_add(&m, chunk, n);
    if (f)
        fclose(f);
    if (!m.len) {
        fprintf(stderr, "soak: cannot read %s\n", wasm);
        return -1;
    }
    struct client c;
    if (client_init(&c, -1))
        return -1;
    int rc = req(&c, "PUT", "/f/soak/soak", m.p, m.len);
    if (rc || (c.status != 200 && c.status != 201)) {
        fprintf(stderr,
                "soak: upload failed: %s%ld %.200s\n",
                c.err,
                c.status,
                c.body.p ? c.body.p : "");
        rc = -1;
    } else {
        /* one cold call before the clock starts */
        rc = expect_output(&c, K_ECHO, NULL, "echo:warm", "warm");
    }
    client_fini(&c);
    free(m.p);
    return rc ? -1 : 0;
}

/* Median of the samples taken in [from, to) seconds, 0 if none. */
static long
median_kb(const double* t, const long* kb, size_t n, double from, double to)
{
    long* v = calloc(n ? n : 1, sizeof *v);
    size_t m = 0;
    if (!v)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (t[i] >= from && t[i] < to)
            v[m++] = kb[i];
    for (size_t i = 1; i < m; i++) /* a few dozen samples: insertion sort */
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            long x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
    long r = m ? v[m / 2] : 0;
    free(v);
    return r;
}

int
main(int argc, char** argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: soak GRANARY SOAK_GUEST.wasm\n");
        return 2;
    }
    long secs = env_long("SOAK_SECONDS", 1800);
    long nclients = env_long("SOAK_CLIENTS", 4);
    long sample = env_long("SOAK_SAMPLE_SECONDS", 5);
    long max_growth = env_long("SOAK_MAX_RSS_GROWTH_PCT", 10);
    if (secs < 10 || nclients < 1 || nclients > 64 || sample < 1) {
        fprintf(stderr, "soak: bad SOAK_SECONDS/SOAK_CLIENTS/SAMPLE\n");
        return 2;
    }
    /* RSS is judged against its value at minute 1 (or half-way through a
     * run shorter than 2 minutes), once caches and pools are warm. */
    long warm = secs >= 120 ? 60 : secs / 2;
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(dir, sizeof dir, "/tmp/granary-soak.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("soak: mkdtemp");
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int failed = 0;
    if (start_server(argv[1]) || upload(argv[2])) {
        stop_server();
        return 1;
    }
    printf("soak: %ld s, %ld keep-alive clients against granary serve at %s "
           "(pid %d), RSS sampled every %ld s\n",
           secs,
           nclients,
           base_url,
           (int)server_pid,
           sample);
    printf("soak: mix (per 100 requests):");
    for (int k = 0; k < K_COUNT; k++)
        printf(" %s %d", kind_name[k], kind_weight[k]);
    printf("\n");

    struct client* cs = calloc((size_t)nclients, sizeof *cs);
    for (long i = 0; i < nclients; i++)
        if (client_init(&cs[i], (int)i) ||
            pthread_create(&cs[i].thread, NULL, client_run, &cs[i])) {
            fprintf(stderr, "soak: cannot start client %ld\n", i);
            return 1;
        }

    double t0 = now_s();
    long rss_warm = -1, rss_max_after = -1, rss_first = server_rss_kb();
    /* RSS samples from minute 1 on, to compare levels (medians over a
     * window) rather than single samples: large outputs in flight move RSS
     * by several MB either way from one sample to the next. */
    size_t n_samples = 0, cap_samples = (size_t)(secs / sample) + 2;
    double* sample_t = calloc(cap_samples, sizeof *sample_t);
    long* sample_kb = calloc(cap_samples, sizeof *sample_kb);
    if (!sample_t || !sample_kb) {
        fprintf(stderr, "soak: out of memory\n");
        return 1;
    }
    int crashed = 0;
    long last_minute = -1;
    while (now_s() - t0 < (double)secs) {
        usleep((useconds_t)(sample * 1000000));
        int st;
        if (waitpid(server_pid, &st, WNOHANG) == server_pid) {
            fprintf(stderr,
                    "soak: the server died after %.0f s (%s %d)\n",
                    now_s() - t0,
                    WIFSIGNALED(st) ? "signal" : "exit status",
                    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
            server_pid = 0;
            crashed = 1;
            break;
        }
        double t = now_s() - t0;
        long rss = server_rss_kb();
        if (rss_warm < 0 && t >= (double)warm)
            rss_warm = rss;
        else if (rss_warm >= 0 && rss > rss_max_after)
            rss_max_after = rss;
        if (t >= (double)warm && rss > 0 && n_samples < cap_samples) {
            sample_t[n_samples] = t;
            sample_kb[n_samples++] = rss;
        }
        if ((long)t / 60 != last_minute) {
            last_minute = (long)t / 60;
            long total = 0, nbad = 0;
            for (int k = 0; k < K_COUNT; k++) {
                total += S.n[k];
                nbad += S.bad[k];
            }
            printf(
              "soak: t=%4.0f s  requests %ld  unexpected %ld  RSS %.1f MB\n",
              t,
              total,
              nbad,
              rss / 1024.0);
        }
    }
    atomic_store(&stop, 1);
    for (long i = 0; i < nclients; i++)
        pthread_join(cs[i].thread, NULL);
    double elapsed = now_s() - t0;
    long rss_end = crashed ? -1 : server_rss_kb();
    if (!crashed) {
        struct client h;
        client_init(&h, -1);
        do_health(&h);
        S.n[K_HEALTH]++;
        client_fini(&h);
        if (stop_server())
            crashed = 1;
    }

    printf("\n%-14s %9s %11s %9s %9s\n",
           "kind",
           "requests",
           "unexpected",
           "mean ms",
           "max ms");
    long total = 0, nbad = 0;
    for (int k = 0; k < K_COUNT; k++) {
        long n = S.n[k];
        total += n;
        nbad += S.bad[k];
        printf("%-14s %9ld %11ld %9.1f %9ld\n",
               kind_name[k],
               n,
               (long)S.bad[k],
               n ? (double)S.ms_sum[k] / (double)n : 0.0,
               (long)S.ms_max[k]);
    }
    printf("%-14s %9ld %11ld   (%.0f requests/s over %.0f s)\n",
           "all",
           total,
           nbad,
           (double)total / elapsed,
           elapsed);
    /* Growth = the RSS level over the last window against the level over
     * the first window after minute 1 (each the median of its samples;
     * a window is a minute, or half of what follows minute 1 in a short
     * run). The peak (largest single sample against that first level) is
     * printed too, and not judged: it is load in flight, not growth. */
    double win = (double)(secs - warm) / 2;
    if (win > 60)
        win = 60;
    long base = median_kb(sample_t, sample_kb, n_samples, warm, warm + win);
    long last =
      median_kb(sample_t, sample_kb, n_samples, (double)secs - win, 1e18);
    double growth = 0, peak = 0;
    if (base > 0 && last > 0) {
        growth = (double)(last - base) * 100.0 / (double)base;
        peak = (double)(rss_max_after - base) * 100.0 / (double)base;
    }
    printf("server RSS: %.1f MB at start, %.1f MB at %ld s; level (median "
           "over %.0f s) %.1f MB after minute 1 and %.1f MB at the end: "
           "growth %.1f%% (limit %ld%%); largest sample %.1f MB (%+.1f%%), "
           "%.1f MB at the end\n",
           rss_first / 1024.0,
           rss_warm / 1024.0,
           warm,
           win,
           base / 1024.0,
           last / 1024.0,
           growth,
           max_growth,
           rss_max_after / 1024.0,
           peak,
           rss_end / 1024.0);
    free(sample_t);
    free(sample_kb);

    if (crashed) {
        show_log_tail();
        failed = 1;
    }
    if (nbad) {
        fprintf(stderr, "soak: %ld unexpected answers\n", nbad);
        failed = 1;
    }
    if (rss_warm <= 0 || base <= 0 || last <= 0) {
        fprintf(stderr, "soak: no RSS sample after %ld s\n", warm);
        failed = 1;
    }
    for (long i = 0; i < nclients; i++)
        client_fini(&cs[i]);
    free(cs);
    curl_global_cleanup();
    if (failed) {
        printf("soak: FAILED (no RESULT); server data left in %s\n", dir);
        return 1;
    }
    printf("RESULT soak_unexpected %ld count\n", nbad);
    printf("RESULT soak_rss_growth_pct %.1f %%\n", growth);
    printf("RESULT soak_rss_peak_pct %.1f %%\n", peak);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "soak: could not remove %s\n", dir);
    if (growth > (double)max_growth) {
        fprintf(stderr,
                "soak: server RSS grew %.1f%% (> %ld%%) after %ld s\n",
                growth,
                max_growth,
                warm);
        return 1;
    }
    return 0;
}
