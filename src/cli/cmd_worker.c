/* SPDX-License-Identifier: Apache-2.0 */
/* granary worker: one host of a multi-host cluster (docs/cluster.md):
 * engine + scheduler with local slots, joined to a planner that places
 * calls here. Keeps its own data directory and object cache: modules
 * arrive from the planner by content hash, no shared file system. */
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
#include "sched/sched.h"
#include "state/state.h"
#include "util/fs.h"
#include "util/log.h"

static void
worker_usage(FILE* f)
{
    fputs(
      "usage: granary worker --planner HOST:PORT [options]\n"
      "\n"
      "Runs one worker host until SIGINT/SIGTERM: registers its slots with\n"
      "the planner, heartbeats, and runs the calls placed here.\n"
      "\n"
      "options:\n"
      "  --planner HOST:PORT  the planner's cluster address (required)\n"
      "  --slots N            executor slots (default: number of CPUs)\n"
      "  --redis URL          global state tier, host:port or\n"
      "                       redis://host[:port] (default: embedded,\n"
      "                       i.e. state is not shared with other hosts)\n"
      "  --id NAME            host id (default: the hostname)\n"
      "  --data DIR           this worker's function store (default\n"
      "                       $GRANARY_DATA/worker-ID)\n"
      "  --cache DIR          compiled-object cache (default\n"
      "                       $GRANARY_CACHE or ~/.cache/granary)\n"
      "  --timeout SECONDS    default per-call timeout (default 60)\n"
      "  --quiet              log warnings only\n"
      "  -h, --help           show this help\n",
      f);
}

struct worker_opts
{
    const char* planner;
    const char* redis;
    const char* id;
    const char* data;
    const char* cache;
    long slots;
    double timeout;
    int quiet;
};

static int
parse(int argc, char** argv, struct worker_opts* o)
{
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            worker_usage(stdout);
            exit(GR_CLI_OK);
        }
        if (!strcmp(a, "--quiet")) {
            o->quiet = 1;
            continue;
        }
        const char* v = i + 1 < argc ? argv[++i] : NULL;
        int bad = !v;
        char* end = NULL;
        if (bad)
            ;
        else if (!strcmp(a, "--planner"))
            o->planner = v;
        else if (!strcmp(a, "--redis"))
            o->redis = v;
        else if (!strcmp(a, "--id"))
            o->id = v;
        else if (!strcmp(a, "--data"))
            o->data = v;
        else if (!strcmp(a, "--cache"))
            o->cache = v;
        else if (!strcmp(a, "--slots")) {
            o->slots = strtol(v, &end, 10);
            bad = *end || o->slots < 1 || o->slots > 4096;
        } else if (!strcmp(a, "--timeout")) {
            o->timeout = strtod(v, &end);
            bad = *end || !(o->timeout > 0);
        } else {
            fprintf(stderr, "granary worker: unknown option '%s'\n", a);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "granary worker: bad or missing value for %s\n",
                    a);
            return -1;
        }
    }
    if (!o->planner) {
        fprintf(stderr, "granary worker: --planner is required\n");
        return -1;
    }
    return 0;
}

int
gr_cli_worker(int argc, char** argv)
{
    struct worker_opts o = { 0 };
    if (parse(argc, argv, &o) < 0) {
        worker_usage(stderr);
        return GR_CLI_USAGE;
    }
    if (!getenv("GRANARY_LOG"))
        gr_log_set_level(o.quiet ? GR_LOG_WARN : GR_LOG_INFO);
    if (!o.slots) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o.slots = n > 0 ? n : 1;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    int status = GR_CLI_FAILURE;
    char err[1024] = "", data[4096];
    gr_engine* engine = NULL;
    gr_state* state = NULL;
    gr_worker* worker = NULL;
    gr_sched* sched = NULL;
    gr_worker_config wcfg = { .planner = o.planner,
                              .id = o.id,
                              .slots = (uint32_t)o.slots };
    int rc = gr_worker_create(&wcfg, &worker);
    if (rc) {
        fprintf(stderr, "granary worker: %s\n", gr_strerror(rc));
        return GR_CLI_FAILURE;
    }
    char hostname[64] = "";
    const char* id = o.id;
    if (!id) {
        gethostname(hostname, sizeof hostname - 1);
        id = hostname;
    }
    const char* base = getenv("GRANARY_DATA");
    if (o.data)
        snprintf(data, sizeof data, "%s", o.data);
    else if (base && base[0])
        snprintf(data, sizeof data, "%s/worker-%s", base, id);
    else
        snprintf(data, sizeof data, "%s/.local/share/granary/worker-%s",
                 getenv("HOME") ? getenv("HOME") : ".", id);
    if (gr_fs_mkdir_p(data) < 0) {
        fprintf(stderr, "granary worker: cannot create %s: %s\n", data,
                strerror(errno));
        goto out;
    }
    gr_engine_config ecfg = { .cache_dir = o.cache,
                              .import_check = gr_host_import_check };
    if ((rc = gr_engine_create(&ecfg, &engine))) {
        fprintf(stderr, "granary worker: cannot start engine: %s\n",
                gr_strerror(rc));
        goto out;
    }
    gr_state_config stc = { .redis = o.redis };
    if ((rc = gr_state_create(&stc, &state, err, sizeof err))) {
        fprintf(stderr, "granary worker: state: %s\n",
                err[0] ? err : gr_strerror(rc));
        goto out;
    }
    gr_sched_config scfg = {
        .engine = engine,
        .data_dir = data,
        .slots = (int)o.slots,
        .timeout_ns = (uint64_t)(o.timeout * 1e9),
        .placement = gr_worker_placement(worker),
        .remote = gr_worker_remote(worker),
        .state = state,
    };
    if ((rc = gr_sched_create(&scfg, &sched))) {
        fprintf(stderr, "granary worker: cannot start scheduler: %s\n",
                gr_strerror(rc));
        goto out;
    }
    if ((rc = gr_worker_start(worker, sched))) {
        fprintf(stderr, "granary worker: %s\n", gr_strerror(rc));
        goto out;
    }
    printf("granary worker: %ld slots, planner %s, state %s (data %s)\n",
           o.slots, o.planner, gr_state_global_kind(state), data);
    fflush(stdout);
    for (;;) {
        struct timespec tick = { .tv_sec = 1 };
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGINT || sig == SIGTERM)
            break;
    }
    status = GR_CLI_OK;
out:
    gr_worker_destroy(worker);
    gr_sched_destroy(sched);
    gr_state_destroy(state);
    gr_engine_destroy(engine);
    return status;
}
