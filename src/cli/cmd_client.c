/* SPDX-License-Identifier: Apache-2.0 */
/* The client subcommands (upload, invoke, status, logs, fn) that talk to a
 * granary server over its HTTP API with libcurl. Exit statuses are part of
 * the interface scripts rely on (docs/cli.md). */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/alloc.h"
#include "util/fs.h"

#define MAX_FILE (1ull << 32)

static const char client_opts_help[] =
  "  --server URL   server (default $GRANARY_SERVER, else\n"
  "                 http://127.0.0.1:8080)\n"
  "  --token TOKEN  API token (default $GRANARY_TOKEN)\n"
  "  -h, --help     show this help\n";

static const char exit_help[] =
  "exit status: 0 ok, 1 failed (or the call returned non-zero), 2 usage,\n"
  "3 server unreachable or server error, 4 unauthorised, forbidden or\n"
  "not found, 5 server busy (retry), 6 the call trapped or timed out,\n"
  "125 the module was rejected.\n";

struct client
{
    const char* server;
    const char* token;
    int json;
};

struct resp
{
    long code;
    char* body;
    size_t len, cap;
    char call_id[32], status[16], rc[16], trap[64];
};

struct progress
{
    int on, tty, announced;
    unsigned frame;
    struct timespec t0;
};

static void
client_init(struct client* c)
{
    const char* s = getenv("GRANARY_SERVER");
    c->server = s && *s ? s : "http://127.0.0.1:8080";
    c->token = getenv("GRANARY_TOKEN");
    c->json = 0;
}

/* Consumes --server/--token/--json at argv[*i]. Returns 1 if consumed. */
static int
client_opt(struct client* c, int argc, char** argv, int* i)
{
    const char* a = argv[*i];
    if (strcmp(a, "--json") == 0) {
        c->json = 1;
        return 1;
    }
    if (*i + 1 >= argc)
        return 0;
    if (strcmp(a, "--server") == 0) {
        c->server = argv[++*i];
        return 1;
    }
    if (strcmp(a, "--token") == 0) {
        c->token = argv[++*i];
        return 1;
    }
    return 0;
}

static size_t
on_body(char* p, size_t size, size_t n, void* ud)
{
    struct resp* r = ud;
    size_t add = size * n;
    if (r->len + add + 1 > r->cap) {
        size_t ncap = r->cap ? r->cap : 4096;
        while (ncap < r->len + add + 1)
            ncap *= 2;
        char* nb = gr_realloc(r->body, ncap);
        if (!nb)
            return 0;
        r->body = nb;
        r->cap = ncap;
    }
    memcpy(r->body + r->len, p, add);
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

static void
header_value(const char* line,
             size_t n,
             const char* name,
             char* out,
             size_t outlen)
{
    size_t nl = strlen(name);
    if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char* v = line + nl + 1;
    const char* end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t len =
      (size_t)(end - v) < outlen - 1 ? (size_t)(end - v) : outlen - 1;
    memcpy(out, v, len);
    out[len] = '\0';
}

static size_t
on_header(char* p, size_t size, size_t n, void* ud)
{
    struct resp* r = ud;
    size_t len = size * n;
    header_value(p, len, "X-Granary-Call-Id", r->call_id, sizeof r->call_id);
    header_value(p, len, "X-Granary-Status", r->status, sizeof r->status);
    header_value(p, len, "X-Granary-Return-Code", r->rc, sizeof r->rc);
    header_value(p, len, "X-Granary-Trap", r->trap, sizeof r->trap);
    return len;
}

static double
elapsed(const struct timespec* t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) +
           (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Shows that a big upload is compiling once its bytes are sent: a spinner
 * with elapsed seconds on a terminal, else one line. */
static int
on_progress(void* ud,
            curl_off_t dltotal,
            curl_off_t dlnow,
            curl_off_t ultotal,
            curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    struct progress* p = ud;
    if (!p->on || ultotal <= 0 || ulnow < ultotal)
        return 0;
    if (!p->announced) {
        clock_gettime(CLOCK_MONOTONIC, &p->t0);
        p->announced = 1;
        if (!p->tty)
            fprintf(stderr,
                    "granary: uploaded %lld bytes, compiling...\n",
                    (long long)ultotal);
        return 0;
    }
    double s = elapsed(&p->t0);
    if (p->tty && s >= 0.5) {
        static const char spin[] = "|/-\\";
        fprintf(stderr, "\r%c compiling... %.0fs ", spin[p->frame++ % 4], s);
        fflush(stderr);
    }
    return 0;
}

/* Performs one request. Returns 0 (r filled, any HTTP status) or
 * GR_CLI_SERVER when the server could not be reached. */
static int
request(const struct client* c,
        const char* method,
        const char* path,
        const void* body,
        size_t len,
        const char* ctype,
        int show_progress,
        struct resp* r)
{
    static int inited;
    if (!inited) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        inited = 1;
    }
    memset(r, 0, sizeof *r);
    CURL* h = curl_easy_init();
    if (!h)
        return GR_CLI_SERVER;
    char url[4096];
    size_t sl = strlen(c->server);
    while (sl && c->server[sl - 1] == '/')
        sl--;
    snprintf(url, sizeof url, "%.*s%s", (int)sl, c->server, path);
    struct curl_slist* hdrs = NULL;
    char auth[600];
    if (c->token && *c->token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    char ct[128];
    if (ctype) {
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
        hdrs = curl_slist_append(hdrs, ct);
    }
    /* Send the body at once; no "Expect: 100-continue" round trip. */
    hdrs = curl_slist_append(hdrs, "Expect:");
    struct progress prog = { .on = show_progress, .tty = isatty(2) };
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (show_progress) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, &prog);
    }
    CURLcode cc = curl_easy_perform(h);
    if (prog.tty && prog.announced && elapsed(&prog.t0) >= 0.5)
        fprintf(stderr, "\r%30s\r", "");
    int ret = 0;
    if (cc != CURLE_OK) {
        fprintf(stderr, "granary: %s: %s\n", url, curl_easy_strerror(cc));
        ret = GR_CLI_SERVER;
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->code);
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return ret;
}

static void
resp_fini(struct resp* r)
{
    gr_free(r->body);
    r->body = NULL;
}

static int
exit_for(long code)
{
    if (code >= 200 && code < 300)
        return GR_CLI_OK;
    if (code == 401 || code == 403 || code == 404)
        return GR_CLI_DENIED;
    if (code == 429 || code == 503)
        return GR_CLI_BUSY;
    if (code >= 500)
        return GR_CLI_SERVER;
    return GR_CLI_FAILURE;
}

/* Prints the server's {"error": ...} (or the raw body) for a failure. */
static void
print_error(const char* cmd, const struct resp* r)
{
    json_t* v = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
    const char* msg = json_string_value(json_object_get(v, "error"));
    fprintf(stderr,
            "granary %s: HTTP %ld: %s\n",
            cmd,
            r->code,
            msg ? msg : (r->body && r->len ? r->body : "(no message)"));
    json_decref(v);
}

static int
split_fn(const char* spec, char* user, char* fn, size_t len)
{
    const char* slash = strchr(spec, '/');
    if (!slash || slash == spec || !slash[1] || strchr(slash + 1, '/') ||
        (size_t)(slash - spec) >= len || strlen(slash + 1) >= len)
        return -1;
    memcpy(user, spec, (size_t)(slash - spec));
    user[slash - spec] = '\0';
    snprintf(fn, len, "%s", slash + 1);
    return 0;
}

static int
read_all(FILE* f, uint8_t** out, size_t* len)
{
    size_t cap = 65536, n = 0;
    uint8_t* b = gr_malloc(cap);
    if (!b)
        return -ENOMEM;
    for (;;) {
        if (n == cap) {
            uint8_t* nb = gr_realloc(b, cap * 2);
            if (!nb) {
                gr_free(b);
                return -ENOMEM;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        gr_free(b);
        return -EIO;
    }
    *out = b;
    *len = n;
    return 0;
}

/* ---- upload ------------------------------------------------------------ */

int
gr_cli_upload(int argc, char** argv)
{
    struct client c;
    client_init(&c);
    const char* pos[2] = { NULL, NULL };
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: granary upload USER/FN FILE.wasm [options]\n\n"
                   "Uploads a module; the server validates and compiles it "
                   "before answering.\nPrints 'USER/FN HASH SIZE' (or the "
                   "server's JSON with --json).\n\noptions:\n"
                   "  --json         print the server's JSON answer\n%s\n%s",
                   client_opts_help,
                   exit_help);
            return GR_CLI_OK;
        }
        if (client_opt(&c, argc, argv, &i))
            continue;
        if (argv[i][0] == '-' || npos == 2) {
            fprintf(stderr,
                    "granary upload: unexpected '%s' (see --help)\n",
                    argv[i]);
            return GR_CLI_USAGE;
        }
        pos[npos++] = argv[i];
    }
    char user[128], fn[128];
    if (npos != 2 || split_fn(pos[0], user, fn, sizeof user) < 0) {
        fprintf(stderr, "usage: granary upload USER/FN FILE.wasm\n");
        return GR_CLI_USAGE;
    }
    uint8_t* wasm = NULL;
    size_t len = 0;
    int rc = gr_fs_read_file(pos[1], MAX_FILE, &wasm, &len);
    if (rc < 0) {
        fprintf(stderr, "granary upload: %s: %s\n", pos[1], strerror(-rc));
        return GR_CLI_FAILURE;
    }
    char path[300];
    snprintf(path, sizeof path, "/f/%s/%s", user, fn);
    struct resp r;
    rc = request(&c, "PUT", path, wasm, len, "application/wasm", 1, &r);
    gr_free(wasm);
    if (rc)
        return rc;
    int ex = exit_for(r.code);
    if (r.code == 400)
        ex = GR_CLI_BAD_MODULE;
    if (ex != GR_CLI_OK) {
        print_error("upload", &r);
    } else if (c.json) {
        fwrite(r.body, 1, r.len, stdout);
    } else {
        json_t* v = json_loadb(r.body, r.len, 0, NULL);
        printf("%s/%s %s %lld\n",
               user,
               fn,
               json_string_value(json_object_get(v, "hash")),
               (long long)json_integer_value(json_object_get(v, "size")));
        json_decref(v);
    }
    resp_fini(&r);
    return ex;
}

/* ---- invoke ------------------------------------------------------------ */

static void
invoke_usage(FILE* f)
{
    fprintf(f,
            "usage: granary invoke USER/FN [options]\n\n"
            "Calls a function. The input is --input, --input-file, or stdin\n"
            "(when it is not a terminal). A sync call writes the output to\n"
            "stdout; --async prints the call id instead.\n\n"
            "options:\n"
            "  --input STR        the input bytes\n"
            "  --input-file FILE  read the input from FILE ('-' = stdin)\n"
            "  --async            do not wait: print the call id\n"
            "  --timeout SECONDS  call timeout (the server may cap it)\n"
            "  --json             print the call record as JSON (sync: with\n"
            "                     output, stdout and stderr)\n"
            "  --np N             run it as an MPI app of N ranks: prints\n"
            "                     every rank's stdout and stderr (in rank\n"
            "                     order) and exits with the app's status,\n"
            "                     as granary mpirun\n"
            "  --spread           (planner) one rank per host as far as\n"
            "                     possible, instead of filling hosts in turn\n"
            "  --threads N        let the call run N threads (its own\n"
            "                     included, 1..257) even beyond the free\n"
            "                     slots; by default it runs as many as it\n"
            "                     is granted slots (docs/threads.md)\n"
            "%s\n%s",
            client_opts_help,
            exit_help);
}

/* An MPI app's output document (docs/mpi.md): every rank's stdout and
 * stderr in rank order, then the app's error; its exit status. */
static int
print_mpi(const struct resp* r)
{
    json_t* v = json_loadb(r->body ? r->body : "", r->len, 0, NULL);
    json_t* ranks = json_object_get(v, "ranks");
    if (!json_is_array(ranks)) {
        fwrite(r->body, 1, r->len, stdout);
        json_decref(v);
        return GR_CLI_FAILURE;
    }
    size_t i;
    json_t* rk;
    json_array_foreach(ranks, i, rk)
    {
        json_t* o = json_object_get(rk, "stdout");
        fwrite(json_string_value(o), 1, json_string_length(o), stdout);
    }
    fflush(stdout);
    json_array_foreach(ranks, i, rk)
    {
        json_t* e = json_object_get(rk, "stderr");
        fwrite(json_string_value(e), 1, json_string_length(e), stderr);
    }
    const char* err = json_string_value(json_object_get(v, "error"));
    if (err)
        fprintf(stderr, "granary invoke: %s\n", err);
    int ex = (int)json_integer_value(json_object_get(v, "exit_code"));
    json_decref(v);
    return ex;
}

int
gr_cli_invoke(int argc, char** argv)
{
    struct client c;
    client_init(&c);
    const char* spec = NULL;
    const char* input = NULL;
    const char* input_file = NULL;
    const char* timeout = NULL;
    int async = 0, np = 0, spread = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            invoke_usage(stdout);
            return GR_CLI_OK;
        } else if (client_opt(&c, argc, argv, &i)) {
            continue;
        } else if (strcmp(a, "--async") == 0) {
            async = 1;
        } else if (strcmp(a, "--spread") == 0) {
            spread = 1;
        } else if (strcmp(a, "--np") == 0 && v) {
            char* end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 4096) {
                fprintf(stderr, "granary invoke: --np wants 1..4096\n");
                return GR_CLI_USAGE;
            }
            np = (int)n;
        } else if (strcmp(a, "--threads") == 0 && v) {
            char* end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 257) {
                fprintf(stderr, "granary invoke: --threads wants 1..257\n");
                return GR_CLI_USAGE;
            }
            threads = (int)n;
        } else if (strcmp(a, "--input") == 0 && v) {
            input = argv[++i];
        } else if (strcmp(a, "--input-file") == 0 && v) {
            input_file = argv[++i];
        } else if (strcmp(a, "--timeout") == 0 && v) {
            timeout = argv[++i];
            char* end;
            double t = strtod(timeout, &end);
            if (*end || !(t > 0)) {
                fprintf(stderr, "granary invoke: bad --timeout\n");
                return GR_CLI_USAGE;
            }
        } else if (a[0] == '-' || spec) {
            fprintf(stderr, "granary invoke: unexpected '%s'\n", a);
            invoke_usage(stderr);
            return GR_CLI_USAGE;
        } else {
            spec = a;
        }
    }
    char user[128], fn[128];
    if (!spec || split_fn(spec, user, fn, sizeof user) < 0 ||
        (input && input_file)) {
        invoke_usage(stderr);
        return GR_CLI_USAGE;
    }
    uint8_t* in = NULL;
    size_t in_len = 0;
    int rc = 0;
    if (input) {
        in_len = strlen(input);
        in = (uint8_t*)gr_strdup(input);
        rc = in ? 0 : -ENOMEM;
    } else if (input_file && strcmp(input_file, "-") != 0) {
        rc = gr_fs_read_file(input_file, MAX_FILE, &in, &in_len);
    } else if (input_file || !isatty(0)) {
        rc = read_all(stdin, &in, &in_len);
    }
    if (rc < 0) {
        fprintf(
          stderr, "granary invoke: cannot read input: %s\n", strerror(-rc));
        return GR_CLI_FAILURE;
    }
    struct resp r;
    char path[400];
    int ex;
    /* an MPI app's output is printed like granary mpirun's, also when it
     * failed: the JSON form brings the whole record either way */
    int mpi_print = np && !c.json && !async;
    if (c.json || mpi_print) {
        /* The JSON form of a call: one request, the whole record back. */
        json_t* req =
          json_pack("{s:s++, s:b}", "function", user, "/", fn, "async", async);
        if (req && timeout)
            json_object_set_new(req, "timeout", json_real(atof(timeout)));
        if (req && np)
            json_object_set_new(req, "np", json_integer(np));
        if (req && spread)
            json_object_set_new(req, "spread", json_true());
        if (req && threads)
            json_object_set_new(req, "threads", json_integer(threads));
        size_t b64cap = 4 * ((in_len + 2) / 3) + 1;
        unsigned char* b64 = gr_malloc(b64cap);
        if (req && b64) {
            int n =
              EVP_EncodeBlock(b64, in ? in : (const uint8_t*)"", (int)in_len);
            json_object_set_new(
              req, "input_base64", json_stringn((char*)b64, (size_t)n));
        }
        gr_free(b64);
        char* text = req ? json_dumps(req, JSON_COMPACT) : NULL;
        json_decref(req);
        gr_free(in);
        if (!text)
            return GR_CLI_FAILURE;
        rc = request(
          &c, "POST", "/calls", text, strlen(text), "application/json", 0, &r);
        free(text);
        if (rc)
            return rc;
        json_t* v = json_loadb(r.body ? r.body : "", r.len, 0, NULL);
        const char* state = json_string_value(json_object_get(v, "state"));
        ex = exit_for(r.code);
        json_t* doc = NULL;
        if (mpi_print && state) {
            json_t* out = json_object_get(v, "output");
            doc =
              json_loadb(json_string_value(out) ? json_string_value(out) : "",
                         json_string_length(out),
                         0,
                         NULL);
        }
        if (doc) {
            char* text2 = json_dumps(doc, JSON_COMPACT);
            struct resp d = { .body = text2, .len = text2 ? strlen(text2) : 0 };
            ex = print_mpi(&d);
            free(text2);
            json_decref(doc);
            json_decref(v);
            resp_fini(&r);
            return ex;
        }
        if (mpi_print && state)
            fprintf(stderr,
                    "granary invoke: %s\n",
                    json_string_value(json_object_get(v, "status"))
                      ? json_string_value(json_object_get(v, "status"))
                      : "failed");
        if (state && strcmp(state, "failed") == 0)
            ex = GR_CLI_CALL_FAILED;
        else if (ex == GR_CLI_OK && !async &&
                 json_integer_value(json_object_get(v, "return_code")) != 0)
            ex = GR_CLI_FAILURE;
        if (!state && r.code >= 300)
            print_error("invoke", &r);
        else if (!mpi_print)
            fwrite(r.body, 1, r.len, stdout);
        json_decref(v);
        resp_fini(&r);
        return ex;
    }
    snprintf(path,
             sizeof path,
             "/f/%s/%s%s%s%s",
             user,
             fn,
             async ? "?async=1" : "",
             timeout ? (async ? "&" : "?") : "",
             timeout ? "timeout=" : "");
    if (timeout)
        strncat(path, timeout, sizeof path - strlen(path) - 1);
    if (np) {
        size_t k = strlen(path);
        snprintf(path + k,
                 sizeof path - k,
                 "%snp=%d%s",
                 strchr(path, '?') ? "&" : "?",
                 np,
                 spread ? "&spread=1" : "");
    }
    if (threads) {
        size_t k = strlen(path);
        snprintf(path + k,
                 sizeof path - k,
                 "%sthreads=%d",
                 strchr(path, '?') ? "&" : "?",
                 threads);
    }
    rc =
      request(&c, "POST", path, in, in_len, "application/octet-stream", 0, &r);
    gr_free(in);
    if (rc)
        return rc;
    ex = exit_for(r.code);
    if (r.status[0] && strcmp(r.status, "failed") == 0) {
        ex = GR_CLI_CALL_FAILED;
        print_error("invoke", &r);
    } else if (ex != GR_CLI_OK) {
        print_error("invoke", &r);
    } else if (async) {
        json_t* v = json_loadb(r.body, r.len, 0, NULL);
        const char* id = json_string_value(json_object_get(v, "call_id"));
        printf("%s\n", id ? id : "?");
        json_decref(v);
    } else if (np) {
        ex = print_mpi(&r);
    } else {
        if (r.len)
            fwrite(r.body, 1, r.len, stdout);
        if (atoi(r.rc) != 0)
            ex = GR_CLI_FAILURE;
    }
    fflush(stdout);
    resp_fini(&r);
    return ex;
}

/* ---- status and logs ---------------------------------------------------- */

/* Decodes field of a call record (utf-8 or base64 per field_encoding) and
 * writes it to f. */
static void
write_field(json_t* rec, const char* field, FILE* f)
{
    json_t* v = json_object_get(rec, field);
    if (!json_is_string(v))
        return;
    char enc_key[64];
    snprintf(enc_key, sizeof enc_key, "%s_encoding", field);
    const char* enc = json_string_value(json_object_get(rec, enc_key));
    const char* s = json_string_value(v);
    size_t n = json_string_length(v);
    if (enc && strcmp(enc, "base64") == 0) {
        unsigned char* raw = gr_malloc(n / 4 * 3 + 1);
        if (!raw)
            return;
        int m = EVP_DecodeBlock(raw, (const unsigned char*)s, (int)n);
        if (m > 0) {
            if (n && s[n - 1] == '=')
                m--;
            if (n > 1 && s[n - 2] == '=')
                m--;
            fwrite(raw, 1, (size_t)m, f);
        }
        gr_free(raw);
    } else {
        fwrite(s, 1, n, f);
    }
}

static int
get_call(const char* cmd,
         int argc,
         char** argv,
         struct client* c,
         struct resp* r,
         int* human)
{
    const char* id = NULL;
    const char* wait = NULL;
    client_init(c);
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf("usage: granary %s CALL_ID [options]\n\n%s\n\n"
                   "options:\n"
                   "  --wait SECONDS  wait up to SECONDS for the call to "
                   "finish\n%s%s\n%s",
                   cmd,
                   strcmp(cmd, "logs") == 0
                     ? "Prints the call's captured stdout and stderr to "
                       "stdout and stderr."
                     : "Shows a call's record (state, return code, trap, "
                       "timings).",
                   strcmp(cmd, "status") == 0
                     ? "  --json          print the record as JSON\n"
                     : "",
                   client_opts_help,
                   exit_help);
            return -1;
        } else if (client_opt(c, argc, argv, &i)) {
            continue;
        } else if (strcmp(a, "--wait") == 0 && i + 1 < argc) {
            wait = argv[++i];
        } else if (a[0] == '-' || id) {
            fprintf(stderr, "granary %s: unexpected '%s'\n", cmd, a);
            return GR_CLI_USAGE;
        } else {
            id = a;
        }
    }
    if (!id || strspn(id, "0123456789") != strlen(id)) {
        fprintf(stderr, "usage: granary %s CALL_ID\n", cmd);
        return GR_CLI_USAGE;
    }
    char path[200];
    snprintf(path,
             sizeof path,
             "/calls/%s%s%.20s",
             id,
             wait ? "?wait=" : "",
             wait ? wait : "");
    *human = !c->json;
    int rc = request(c, "GET", path, NULL, 0, NULL, 0, r);
    if (rc)
        return rc;
    if (r->code != 200) {
        print_error(cmd, r);
        int ex = exit_for(r->code);
        resp_fini(r);
        return ex;
    }
    return 0;
}

int
gr_cli_status(int argc, char** argv)
{
    struct client c;
    struct resp r;
    int human = 1;
    int rc = get_call("status", argc, argv, &c, &r, &human);
    if (rc)
        return rc < 0 ? GR_CLI_OK : rc;
    if (!human) {
        fwrite(r.body, 1, r.len, stdout);
        resp_fini(&r);
        return GR_CLI_OK;
    }
    json_t* v = json_loadb(r.body, r.len, 0, NULL);
    json_t* t = json_object_get(v, "timings");
    printf("call:        %s\n", json_string_value(json_object_get(v, "id")));
    printf("function:    %s/%s\n",
           json_string_value(json_object_get(v, "user")),
           json_string_value(json_object_get(v, "function")));
    printf("state:       %s\n", json_string_value(json_object_get(v, "state")));
    if (json_object_get(v, "status")) {
        const char* trap = json_string_value(json_object_get(v, "trap"));
        printf("status:      %s\n",
               json_string_value(json_object_get(v, "status")));
        printf(
          "return code: %lld\n",
          (long long)json_integer_value(json_object_get(v, "return_code")));
        printf("trap:        %s\n", trap ? trap : "-");
        printf("start:       %s\n",
               json_is_true(json_object_get(v, "cold")) ? "cold" : "warm");
        printf("output:      %zu bytes (%s)\n",
               json_string_length(json_object_get(v, "output")),
               json_string_value(json_object_get(v, "output_encoding")));
        printf("timings:     queue %lld us, exec %lld us, total %lld us\n",
               (long long)json_integer_value(json_object_get(t, "queue_us")),
               (long long)json_integer_value(json_object_get(t, "exec_us")),
               (long long)json_integer_value(json_object_get(t, "total_us")));
    }
    json_decref(v);
    resp_fini(&r);
    return GR_CLI_OK;
}

int
gr_cli_logs(int argc, char** argv)
{
    struct client c;
    struct resp r;
    int human = 1;
    int rc = get_call("logs", argc, argv, &c, &r, &human);
    if (rc)
        return rc < 0 ? GR_CLI_OK : rc;
    json_t* v = json_loadb(r.body, r.len, 0, NULL);
    write_field(v, "stdout", stdout);
    write_field(v, "stderr", stderr);
    json_decref(v);
    resp_fini(&r);
    return GR_CLI_OK;
}

/* ---- fn list / info / delete ----------------------------------------------
 */

static void
fn_usage(FILE* f)
{
    fprintf(f,
            "usage: granary fn list [USER] [options]\n"
            "       granary fn info USER/FN [options]\n"
            "       granary fn delete USER/FN [options]\n\n"
            "Lists (your own functions without USER), shows or deletes\n"
            "functions.\n\noptions:\n"
            "  --json         print the server's JSON\n%s\n%s",
            client_opts_help,
            exit_help);
}

static void
print_fn(json_t* f)
{
    const char* hash = json_string_value(json_object_get(f, "hash"));
    printf("%s/%s  %lld bytes  %.12s  %s\n",
           json_string_value(json_object_get(f, "user")),
           json_string_value(json_object_get(f, "name")),
           (long long)json_integer_value(json_object_get(f, "size")),
           hash ? hash : "",
           json_string_value(json_object_get(f, "uploaded")));
}

int
gr_cli_fn(int argc, char** argv)
{
    struct client c;
    client_init(&c);
    const char* pos[2] = { NULL, NULL };
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fn_usage(stdout);
            return GR_CLI_OK;
        }
        if (client_opt(&c, argc, argv, &i))
            continue;
        if (argv[i][0] == '-' || npos == 2) {
            fprintf(stderr, "granary fn: unexpected '%s'\n", argv[i]);
            return GR_CLI_USAGE;
        }
        pos[npos++] = argv[i];
    }
    if (npos == 0) {
        fn_usage(stderr);
        return GR_CLI_USAGE;
    }
    char path[300], user[128], fn[128];
    const char* method = "GET";
    if (strcmp(pos[0], "list") == 0) {
        if (npos == 2 && strchr(pos[1], '/')) {
            fn_usage(stderr);
            return GR_CLI_USAGE;
        }
        snprintf(path,
                 sizeof path,
                 "/f%s%.128s",
                 npos == 2 ? "/" : "",
                 npos == 2 ? pos[1] : "");
    } else if (strcmp(pos[0], "info") == 0 || strcmp(pos[0], "delete") == 0) {
        if (npos != 2 || split_fn(pos[1], user, fn, sizeof user) < 0) {
            fn_usage(stderr);
            return GR_CLI_USAGE;
        }
        snprintf(path, sizeof path, "/f/%s/%s", user, fn);
        if (pos[0][0] == 'd')
            method = "DELETE";
    } else {
        fprintf(stderr, "granary fn: unknown subcommand '%s'\n", pos[0]);
        return GR_CLI_USAGE;
    }
    struct resp r;
    int rc = request(&c, method, path, NULL, 0, NULL, 0, &r);
    if (rc)
        return rc;
    int ex = exit_for(r.code);
    if (ex != GR_CLI_OK) {
        print_error("fn", &r);
    } else if (c.json) {
        fwrite(r.body, 1, r.len, stdout);
    } else if (pos[0][0] == 'l' || pos[0][0] == 'i') {
        json_t* v = json_loadb(r.body, r.len, 0, NULL);
        if (json_is_array(v)) {
            size_t i;
            json_t* f;
            json_array_foreach(v, i, f) print_fn(f);
        } else if (v) {
            print_fn(v);
        }
        json_decref(v);
    }
    resp_fini(&r);
    return ex;
}

/* ---- state get / set / delete ---------------------------------------------
 */

static void
state_usage(FILE* f)
{
    fprintf(f,
            "usage: granary state get USER/KEY [-o FILE] [options]\n"
            "       granary state set USER/KEY [--value STR | --file F]"
            " [options]\n"
            "       granary state delete USER/KEY [options]\n\n"
            "Reads, writes or deletes a shared state value (the\n"
            "authoritative global tier). set reads stdin when neither\n"
            "--value nor --file is given; get writes the raw bytes to\n"
            "stdout unless -o is given.\n\noptions:\n%s\n%s",
            client_opts_help,
            exit_help);
}

int
gr_cli_state(int argc, char** argv)
{
    struct client c;
    client_init(&c);
    const char* pos[2] = { NULL, NULL };
    const char *value = NULL, *file = NULL, *out = NULL;
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            state_usage(stdout);
            return GR_CLI_OK;
        }
        if (client_opt(&c, argc, argv, &i))
            continue;
        if (i + 1 < argc && strcmp(a, "--value") == 0) {
            value = argv[++i];
        } else if (i + 1 < argc && strcmp(a, "--file") == 0) {
            file = argv[++i];
        } else if (i + 1 < argc && strcmp(a, "-o") == 0) {
            out = argv[++i];
        } else if (a[0] == '-' || npos == 2) {
            fprintf(stderr, "granary state: unexpected '%s'\n", a);
            return GR_CLI_USAGE;
        } else {
            pos[npos++] = a;
        }
    }
    char user[128], key[128], path[300];
    if (npos != 2 || split_fn(pos[1], user, key, sizeof user) < 0) {
        state_usage(stderr);
        return GR_CLI_USAGE;
    }
    snprintf(path, sizeof path, "/s/%s/%s", user, key);
    const char* method;
    uint8_t* body = NULL;
    size_t len = 0;
    if (strcmp(pos[0], "get") == 0) {
        method = "GET";
    } else if (strcmp(pos[0], "delete") == 0) {
        method = "DELETE";
    } else if (strcmp(pos[0], "set") == 0) {
        method = "PUT";
        int rc = 0;
        if (value) {
            len = strlen(value);
            body = (uint8_t*)gr_strdup(value);
            rc = body ? 0 : -ENOMEM;
        } else if (file) {
            rc = gr_fs_read_file(file, MAX_FILE, &body, &len);
        } else {
            rc = read_all(stdin, &body, &len);
        }
        if (rc < 0) {
            fprintf(stderr,
                    "granary state: %s: %s\n",
                    file ? file : "stdin",
                    strerror(-rc));
            return GR_CLI_FAILURE;
        }
    } else {
        fprintf(stderr, "granary state: unknown subcommand '%s'\n", pos[0]);
        return GR_CLI_USAGE;
    }
    struct resp r;
    int rc = request(&c,
                     method,
                     path,
                     body,
                     len,
                     body ? "application/octet-stream" : NULL,
                     0,
                     &r);
    gr_free(body);
    if (rc)
        return rc;
    int ex = exit_for(r.code);
    if (ex != GR_CLI_OK) {
        print_error("state", &r);
    } else if (method[0] == 'G') {
        FILE* f = out ? fopen(out, "wb") : stdout;
        if (!f || fwrite(r.body ? r.body : "", 1, r.len, f) != r.len) {
            fprintf(stderr,
                    "granary state: %s: %s\n",
                    out ? out : "stdout",
                    strerror(errno));
            ex = GR_CLI_FAILURE;
        }
        if (f && f != stdout)
            fclose(f);
    } else if (c.json) {
        fwrite(r.body, 1, r.len, stdout);
    }
    resp_fini(&r);
    return ex;
}
