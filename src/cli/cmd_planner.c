/* SPDX-License-Identifier: Apache-2.0 */
/* granary planner: the front of a multi-host cluster (docs/cluster.md):
 * the HTTP API of `granary serve` over a scheduler with no local slots,
 * whose calls the planner places on worker hosts and runs there. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <granary/status.h>

#include "cli/cli.h"
#include "cluster/cluster.h"
#include "engine/engine.h"
#include "host/host.h"
#include "http/http.h"
#include "http/tokens.h"
#include "sched/sched.h"
#include "state/state.h"
#include "util/fs.h"
#include "util/log.h"

static void
planner_usage(FILE* f)
{
    fputs(
      "usage: granary planner [options]\n"
      "\n"
      "Runs the planner of a multi-host cluster until SIGINT/SIGTERM: the\n"
      "HTTP API (the same as 'granary serve', plus GET /hosts) and the\n"
      "cluster port workers join ('granary worker --planner ADDR').\n"
      "Functions are uploaded here; workers fetch them by content hash.\n"
      "\n"
      "options:\n"
      "  --listen HOST:PORT   HTTP API address (default 0.0.0.0:8080)\n"
      "  --cluster HOST:PORT  address workers connect to (default\n"
      "                       0.0.0.0:7070)\n"
      "  --data DIR           function store and token file (default\n"
      "                       $GRANARY_DATA, else ~/.local/share/granary)\n"
      "  --tokens FILE        token file (default DIR/tokens)\n"
      "  --cache DIR          compiled-object cache (uploads are validated\n"
      "                       and compiled here too)\n"
      "  --policy NAME        placement policy: binpack (default), spread\n"
      "  --redis HOST:PORT    global state tier (as the workers use)\n"
      "  --timeout SECONDS    default per-call timeout (default 60)\n"
      "  --dead-ms MS         drop a host silent this long (default 2000)\n"
      "  --threads N          HTTP worker threads (default 64)\n"
      "  --port-file FILE     write the HTTP port to FILE once listening\n"
      "  --quiet              log warnings only\n"
      "  -h, --help           show this help\n",
      f);
}

struct planner_opts
{
    char host[256];
    unsigned port;
    const char* cluster;
    const char* data;
    const char* tokens;
    const char* cache;
    const char* policy;
    const char* redis;
    const char* port_file;
    double timeout;
    long dead_ms, threads;
    int quiet;
};

static int
num(const char* s, double lo, double hi, double* out)
{
    char* end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo) || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int
split_listen(const char* s, char* host, size_t hostlen, unsigned* port)
{
    const char* colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= hostlen)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    double p;
    if (num(colon + 1, 0, 65535, &p))
        return -1;
    *port = (unsigned)p;
    return 0;
}

static int
parse(int argc, char** argv, struct planner_opts* o)
{
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            planner_usage(stdout);
            exit(GR_CLI_OK);
        }
        if (!strcmp(a, "--quiet")) {
            o->quiet = 1;
            continue;
        }
        const char* v = i + 1 < argc ? argv[++i] : NULL;
        double d = 0;
        int bad = !v;
        if (bad)
            ;
        else if (!strcmp(a, "--listen"))
            bad = split_listen(v, o->host, sizeof o->host, &o->port);
        else if (!strcmp(a, "--cluster"))
            o->cluster = v;
        else if (!strcmp(a, "--data"))
            o->data = v;
        else if (!strcmp(a, "--tokens"))
            o->tokens = v;
        else if (!strcmp(a, "--cache"))
            o->cache = v;
        else if (!strcmp(a, "--policy"))
            bad = !gr_cluster_policy_find(o->policy = v);
        else if (!strcmp(a, "--redis"))
            o->redis = v;
        else if (!strcmp(a, "--port-file"))
            o->port_file = v;
        else if (!strcmp(a, "--timeout"))
            bad = num(v, 0.001, 86400 * 365, &o->timeout);
        else if (!strcmp(a, "--dead-ms"))
            bad = num(v, 100, 3600000, &d) || ((o->dead_ms = (long)d), 0);
        else if (!strcmp(a, "--threads"))
            bad = num(v, 1, 1024, &d) || ((o->threads = (long)d), 0);
        else {
            fprintf(stderr, "granary planner: unknown option '%s'\n", a);
            return -1;
        }
        if (bad) {
            fprintf(stderr,
                    "granary planner: bad or missing value for %s\n",
                    a);
            return -1;
        }
    }
    return 0;
}

int
gr_cli_planner(int argc, char** argv)
{
    struct planner_opts o = { .host = "0.0.0.0", .port = 8080 };
    if (parse(argc, argv, &o) < 0) {
        planner_usage(stderr);
        return GR_CLI_USAGE;
    }
    if (!getenv("GRANARY_LOG"))
        gr_log_set_level(o.quiet ? GR_LOG_WARN : GR_LOG_INFO);
    char data[4000], tokens[4096], err[1024] = "";
    if (gr_http_data_dir(o.data, data, sizeof data) < 0) {
        fprintf(stderr, "granary planner: no data directory (use --data)\n");
        return GR_CLI_USAGE;
    }
    if (gr_fs_mkdir_p(data) < 0) {
        fprintf(stderr, "granary planner: cannot create %s: %s\n", data,
                strerror(errno));
        return GR_CLI_FAILURE;
    }
    snprintf(tokens, sizeof tokens, "%s", o.tokens ? o.tokens : "");
    if (!o.tokens)
        snprintf(tokens, sizeof tokens, "%s/tokens", data);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    int status = GR_CLI_FAILURE;
    gr_engine* engine = NULL;
    gr_state* state = NULL;
    gr_planner* planner = NULL;
    gr_sched* sched = NULL;
    gr_http_server* srv = NULL;
    gr_engine_config ecfg = { .cache_dir = o.cache,
                              .import_check = gr_host_import_check };
    int rc = gr_engine_create(&ecfg, &engine);
    if (rc) {
        fprintf(stderr, "granary planner: cannot start engine: %s\n",
                gr_strerror(rc));
        goto out;
    }
    if (o.redis) {
        gr_state_config stc = { .redis = o.redis };
        if ((rc = gr_state_create(&stc, &state, err, sizeof err))) {
            fprintf(stderr, "granary planner: redis %s: %s\n", o.redis,
                    err[0] ? err : gr_strerror(rc));
            goto out;
        }
    }
    uint64_t timeout_ns = (uint64_t)(o.timeout * 1e9);
    gr_planner_config pcfg = {
        .listen = o.cluster,
        .policy = o.policy ? gr_cluster_policy_find(o.policy) : NULL,
        .dead_ms = (int)o.dead_ms,
        .default_timeout_ns = timeout_ns,
    };
    if ((rc = gr_planner_create(&pcfg, &planner)))
        goto out;
    /* One slot that never runs anything: placement sends every call to
     * a worker. */
    gr_sched_config scfg = {
        .engine = engine,
        .data_dir = data,
        .slots = 1,
        .timeout_ns = timeout_ns,
        .placement = gr_planner_placement(planner),
        .remote = gr_planner_remote(planner),
        .state = state,
    };
    if ((rc = gr_sched_create(&scfg, &sched))) {
        fprintf(stderr, "granary planner: cannot start scheduler: %s\n",
                gr_strerror(rc));
        goto out;
    }
    if ((rc = gr_planner_start(planner, sched))) {
        fprintf(stderr, "granary planner: cannot listen on %s: %s\n",
                o.cluster ? o.cluster : "0.0.0.0:7070", gr_strerror(rc));
        goto out;
    }
    gr_http_config hcfg = {
        .sched = sched,
        .host = o.host,
        .port = (uint16_t)o.port,
        .tokens_path = tokens,
        .threads = (unsigned)(o.threads ? o.threads : 64),
        .state = state, /* /s/{user}/{key}: the cluster's Redis tier */
    };
    if ((rc = gr_http_server_start(&hcfg, &srv, err, sizeof err))) {
        fprintf(stderr, "granary planner: %s\n", err[0] ? err : gr_strerror(rc));
        goto out;
    }
    unsigned port = gr_http_server_port(srv);
    printf("granary planner: http://%s:%u, workers join at port %d "
           "(data %s)\n",
           o.host, port, gr_planner_port(planner), data);
    fflush(stdout);
    if (o.port_file) {
        char text[16];
        int n = snprintf(text, sizeof text, "%u\n", port);
        if (gr_fs_write_atomic(o.port_file, text, (size_t)n) < 0)
            fprintf(stderr, "granary planner: cannot write %s\n", o.port_file);
    }
    for (;;) {
        struct timespec tick = { .tv_sec = 1 };
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGINT || sig == SIGTERM)
            break;
        err[0] = '\0';
        rc = gr_http_server_reload_tokens(srv, sig == SIGHUP, err, sizeof err);
        if (rc < 0)
            GR_WARN("token file not reloaded: %s",
                    err[0] ? err : gr_strerror(rc));
    }
    status = GR_CLI_OK;
out:
    gr_http_server_stop(srv);
    gr_planner_destroy(planner);
    gr_sched_destroy(sched);
    gr_state_destroy(state);
    gr_engine_destroy(engine);
    return status;
}
