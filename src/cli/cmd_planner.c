/* SPDX-License-Identifier: Apache-2.0 */
/* granary planner: the front of a multi-host cluster (docs/cluster.md):
 * the HTTP API of `granary serve` over a scheduler with no local slots,
 * whose calls the planner places on worker hosts and runs there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <granary/status.h>

#include "cli/cli_int.h"
#include "cluster/cluster.h"
#include "http/http.h"
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
    gr__cli_common c;
    const char* cluster;
    const char* policy;
    long dead_ms;
};

int
gr_cli_planner(int argc, char** argv)
{
    struct planner_opts o = { .c.listen = { .host = "0.0.0.0", .port = 8080 } };
    const gr__cli_opt own[] = {
        { "--cluster", GR__CLI_STR, &o.cluster, 0, 0 },
        { "--policy", GR__CLI_STR, &o.policy, 0, 0 },
        { "--dead-ms", GR__CLI_LONG, &o.dead_ms, 100, 3600000 },
        { NULL, GR__CLI_FLAG, NULL, 0, 0 },
    };
    if (gr__cli_parse("planner", argc, argv, own, &o.c, 1, planner_usage) < 0)
        return GR_CLI_USAGE;
    if (o.policy && !gr_cluster_policy_find(o.policy)) {
        fprintf(
          stderr, "granary planner: bad value for --policy: '%s'\n", o.policy);
        planner_usage(stderr);
        return GR_CLI_USAGE;
    }
    gr__cli_paths paths;
    int status = gr__cli_paths_init("planner", &o.c, &paths);
    if (status)
        return status;
    sigset_t set;
    gr__cli_signals(&set, 1);

    status = GR_CLI_FAILURE;
    gr__cli_stack st = { 0 };
    gr_planner* planner = NULL;
    uint64_t timeout_ns = (uint64_t)(o.c.timeout * 1e9);
    gr_planner_config pcfg = {
        .listen = o.cluster,
        .policy = o.policy ? gr_cluster_policy_find(o.policy) : NULL,
        .dead_ms = (int)o.dead_ms,
        .default_timeout_ns = timeout_ns,
    };
    int rc = gr_planner_create(&pcfg, &planner);
    if (rc)
        goto out;
    /* One slot that never runs anything: placement sends every call to
     * a worker. State only with Redis: the cluster's tier (/s/{user}/{key}
     * over HTTP). */
    gr_sched_config scfg = {
        .data_dir = paths.data,
        .slots = 1,
        .timeout_ns = timeout_ns,
        .placement = gr_planner_placement(planner),
        .remote = gr_planner_remote(planner),
    };
    if (gr__cli_stack_start(&st, "planner", o.c.cache, o.c.redis, 0, &scfg) < 0)
        goto out;
    if ((rc = gr_planner_start(planner, st.sched))) {
        fprintf(stderr,
                "granary planner: cannot listen on %s: %s\n",
                o.cluster ? o.cluster : "0.0.0.0:7070",
                gr_strerror(rc));
        goto out;
    }
    gr_http_config hcfg = {
        .host = o.c.listen.host,
        .port = (uint16_t)o.c.listen.port,
        .tokens_path = paths.tokens,
        .threads = (unsigned)(o.c.threads ? o.c.threads : 64),
        /* The one local slot says nothing of the cluster's capacity:
         * placement refuses calls when no worker has a free slot. */
        .max_sync = 4096,
    };
    int port = gr__cli_stack_http(&st, "planner", &hcfg);
    if (port < 0)
        goto out;
    printf("granary planner: http://%s:%d, workers join at port %d "
           "(data %s)\n",
           o.c.listen.host,
           port,
           gr_planner_port(planner),
           paths.data);
    fflush(stdout);
    gr__cli_write_port("planner", o.c.port_file, port);
    gr__cli_wait(&st, &set);
    status = GR_CLI_OK;
out:
    /* The HTTP API first, then the planner: both run on the scheduler. */
    gr_http_server_stop(st.http);
    st.http = NULL;
    gr_planner_destroy(planner);
    gr__cli_stack_stop(&st);
    return status;
}
