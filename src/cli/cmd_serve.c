/* SPDX-License-Identifier: Apache-2.0 */
/* granary serve: the embedded deployment in one process: engine, scheduler
 * (local placement) and the HTTP API. Signals are taken synchronously by
 * the main thread: SIGINT/SIGTERM stop, SIGHUP reloads the token file. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <granary/status.h>

#include "cli/cli.h"
#include "engine/engine.h"
#include "host/host.h"
#include "http/http.h"
#include "http/tokens.h"
#include "sched/sched.h"
#include "state/state.h"
#include "util/fs.h"
#include "util/log.h"

static void
serve_usage(FILE* f)
{
    fputs(
      "usage: granary serve [options]\n"
      "\n"
      "Runs the HTTP API (docs/api.md), the scheduler and the engine in\n"
      "one process until SIGINT or SIGTERM. SIGHUP re-reads the token\n"
      "file (it is also re-read within a second of any change).\n"
      "\n"
      "options:\n"
      "  --listen HOST:PORT  address to listen on (default 127.0.0.1:8080;\n"
      "                      port 0 picks a free port)\n"
      "  --data DIR          function store and token file (default\n"
      "                      $GRANARY_DATA, else ~/.local/share/granary)\n"
      "  --tokens FILE       token file (default DIR/tokens)\n"
      "  --cache DIR         compiled-object cache (default $GRANARY_CACHE\n"
      "                      or ~/.cache/granary)\n"
      "  --slots N           executor slots (default: number of CPUs)\n"
      "  --queue N           calls queued before 429 (default 1024)\n"
      "  --timeout SECONDS   default per-call timeout (default 60)\n"
      "  --max-timeout SECONDS  cap on a request's ?timeout= (default none)\n"
      "  --max-input SIZE    largest call input (default 16M)\n"
      "  --max-output SIZE   largest call output (default 16M)\n"
      "  --max-upload SIZE   largest module (default 64M)\n"
      "  --max-memory MIB    per-Faaslet linear memory cap (default 4096)\n"
      "  --redis HOST:PORT   global state tier in Redis (default: an\n"
      "                      embedded in-process tier, single host)\n"
      "  --threads N         HTTP worker threads (default 2 x slots)\n"
      "  --idle-timeout SECONDS  close idle connections (default 30)\n"
      "  --port-file FILE    write the bound port to FILE once listening\n"
      "  --quiet             log warnings only (default: one info line per\n"
      "                      request; GRANARY_LOG overrides both)\n"
      "  -h, --help          show this help\n"
      "\n"
      "SIZE takes a K, M or G suffix. Exit status: 0 after a clean\n"
      "shutdown, 1 if the server could not start, 2 on usage errors.\n",
      f);
}

struct serve_opts
{
    char host[256];
    unsigned port;
    const char* data;
    const char* tokens;
    const char* cache;
    const char* port_file;
    long slots, queue, threads;
    double timeout, max_timeout, idle;
    unsigned long long max_input, max_output, max_upload;
    long max_mib;
    const char* redis;
    int quiet;
};

static int
parse_size(const char* s, unsigned long long* out)
{
    char* end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-')
        return -1;
    unsigned long long mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1ull << 10;
    else if (*end == 'M' || *end == 'm')
        mul = 1ull << 20;
    else if (*end == 'G' || *end == 'g')
        mul = 1ull << 30;
    else if (*end)
        return -1;
    if (mul > 1 && end[1])
        return -1;
    if (v > (1ull << 40) / mul)
        return -1;
    *out = v * mul;
    return 0;
}

static int
parse_long(const char* s, long lo, long hi, long* out)
{
    char* end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int
parse_secs(const char* s, double* out)
{
    char* end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v > 0) || v > 86400.0 * 365)
        return -1;
    *out = v;
    return 0;
}

static int
parse_listen(const char* s, struct serve_opts* o)
{
    const char* colon = strrchr(s, ':');
    if (!colon || colon == s)
        return -1;
    size_t hl = (size_t)(colon - s);
    /* [v6]:port */
    if (s[0] == '[' && hl >= 2 && s[hl - 1] == ']') {
        s++;
        hl -= 2;
    }
    if (hl >= sizeof o->host)
        return -1;
    memcpy(o->host, s, hl);
    o->host[hl] = '\0';
    long port;
    if (parse_long(colon + 1, 0, 65535, &port) < 0)
        return -1;
    o->port = (unsigned)port;
    return 0;
}

static int
parse_args(int argc, char** argv, struct serve_opts* o)
{
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            serve_usage(stdout);
            exit(GR_CLI_OK);
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr,
                    "granary serve: unknown or incomplete option "
                    "'%s'\n",
                    a);
            return -1;
        }
        i++;
        if (strcmp(a, "--listen") == 0)
            bad = parse_listen(v, o);
        else if (strcmp(a, "--data") == 0)
            o->data = v;
        else if (strcmp(a, "--tokens") == 0)
            o->tokens = v;
        else if (strcmp(a, "--cache") == 0)
            o->cache = v;
        else if (strcmp(a, "--port-file") == 0)
            o->port_file = v;
        else if (strcmp(a, "--slots") == 0)
            bad = parse_long(v, 1, 4096, &o->slots);
        else if (strcmp(a, "--queue") == 0)
            bad = parse_long(v, 1, 100000000, &o->queue);
        else if (strcmp(a, "--threads") == 0)
            bad = parse_long(v, 1, 1024, &o->threads);
        else if (strcmp(a, "--timeout") == 0)
            bad = parse_secs(v, &o->timeout);
        else if (strcmp(a, "--max-timeout") == 0)
            bad = parse_secs(v, &o->max_timeout);
        else if (strcmp(a, "--idle-timeout") == 0)
            bad = parse_secs(v, &o->idle);
        else if (strcmp(a, "--max-input") == 0)
            bad = parse_size(v, &o->max_input);
        else if (strcmp(a, "--max-output") == 0)
            bad = parse_size(v, &o->max_output);
        else if (strcmp(a, "--max-upload") == 0)
            bad = parse_size(v, &o->max_upload);
        else if (strcmp(a, "--max-memory") == 0)
            bad = parse_long(v, 1, 4096, &o->max_mib);
        else if (strcmp(a, "--redis") == 0)
            o->redis = v;
        else {
            fprintf(stderr, "granary serve: unknown option '%s'\n", a);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "granary serve: bad value for %s: '%s'\n", a, v);
            return -1;
        }
    }
    return 0;
}

int
gr_cli_serve(int argc, char** argv)
{
    struct serve_opts o = { .host = "127.0.0.1", .port = 8080 };
    if (parse_args(argc, argv, &o) < 0) {
        serve_usage(stderr);
        return GR_CLI_USAGE;
    }
    if (!getenv("GRANARY_LOG"))
        gr_log_set_level(o.quiet ? GR_LOG_WARN : GR_LOG_INFO);

    int status = GR_CLI_FAILURE;
    gr_engine* engine = NULL;
    gr_sched* sched = NULL;
    gr_state* state = NULL;
    gr_http_server* srv = NULL;
    char err[1024] = "";
    char data[4000], tokens[4096];
    if (gr_http_data_dir(o.data, data, sizeof data) < 0) {
        fprintf(stderr, "granary serve: no data directory (use --data)\n");
        return GR_CLI_USAGE;
    }
    if (gr_fs_mkdir_p(data) < 0) {
        fprintf(stderr,
                "granary serve: cannot create %s: %s\n",
                data,
                strerror(errno));
        return GR_CLI_FAILURE;
    }
    snprintf(tokens, sizeof tokens, "%s", o.tokens ? o.tokens : "");
    if (!o.tokens)
        snprintf(tokens, sizeof tokens, "%s/tokens", data);

    /* Every thread created from here on inherits this mask, so the
     * signals below reach only sigtimedwait in this thread. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    gr_engine_config ecfg = { .cache_dir = o.cache,
                              .import_check = gr_host_import_check };
    int rc = gr_engine_create(&ecfg, &engine);
    if (rc) {
        fprintf(
          stderr, "granary serve: cannot start engine: %s\n", gr_strerror(rc));
        goto out;
    }
    gr_state_config stcfg = { .redis = o.redis };
    rc = gr_state_create(&stcfg, &state, err, sizeof err);
    if (rc) {
        fprintf(stderr,
                "granary serve: cannot start the state service: %s\n",
                err[0] ? err : gr_strerror(rc));
        goto out;
    }
    gr_sched_config scfg = {
        .state = state,
        .engine = engine,
        .data_dir = data,
        .slots = (int)o.slots,
        .queue_max = (size_t)o.queue,
        .timeout_ns = (uint64_t)(o.timeout * 1e9),
        .max_pages =
          (uint32_t)(o.max_mib * 16 > 65535 ? 65535 : o.max_mib * 16),
        .max_input = (size_t)o.max_input,
        .max_output = (size_t)o.max_output,
        .max_module = (size_t)o.max_upload,
    };
    rc = gr_sched_create(&scfg, &sched);
    if (rc) {
        fprintf(stderr,
                "granary serve: cannot start scheduler: %s\n",
                gr_strerror(rc));
        goto out;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long slots = o.slots ? o.slots : (cpus > 0 ? cpus : 1);
    gr_http_config hcfg = {
        .state = state,
        .sched = sched,
        .host = o.host,
        .port = (uint16_t)o.port,
        .tokens_path = tokens,
        .threads = (unsigned)(o.threads ? o.threads : 2 * slots),
        .max_input = (size_t)o.max_input,
        .max_upload = (size_t)o.max_upload,
        .idle_timeout_s =
          (unsigned)(o.idle > 0 ? (o.idle < 1 ? 1 : o.idle) : 0),
        .max_timeout_ns = (uint64_t)(o.max_timeout * 1e9),
    };
    rc = gr_http_server_start(&hcfg, &srv, err, sizeof err);
    if (rc) {
        fprintf(stderr, "granary serve: %s\n", err[0] ? err : gr_strerror(rc));
        goto out;
    }
    unsigned port = gr_http_server_port(srv);
    printf("granary: listening on http://%s%s%s:%u (data %s)\n",
           strchr(o.host, ':') ? "[" : "",
           o.host,
           strchr(o.host, ':') ? "]" : "",
           port,
           data);
    fflush(stdout);
    if (o.port_file) {
        char text[16];
        int n = snprintf(text, sizeof text, "%u\n", port);
        if (gr_fs_write_atomic(o.port_file, text, (size_t)n) < 0)
            fprintf(stderr, "granary serve: cannot write %s\n", o.port_file);
    }

    for (;;) {
        struct timespec tick = { .tv_sec = 1 };
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGINT || sig == SIGTERM) {
            GR_INFO("%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
            break;
        }
        err[0] = '\0';
        rc = gr_http_server_reload_tokens(srv, sig == SIGHUP, err, sizeof err);
        if (rc < 0)
            GR_WARN("token file not reloaded: %s",
                    err[0] ? err : gr_strerror(rc));
        else if (rc > 0)
            GR_INFO("token file reloaded");
    }
    status = GR_CLI_OK;
out:
    gr_http_server_stop(srv);
    gr_sched_destroy(sched);
    if (state)
        gr_state_destroy(state);
    gr_engine_destroy(engine);
    return status;
}
