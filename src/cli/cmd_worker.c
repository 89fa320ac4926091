/* SPDX-License-Identifier: Apache-2.0 */
/* granary worker: one host of a multi-host cluster (docs/cluster.md):
 * engine + scheduler with local slots, joined to a planner that places
 * calls here. Keeps its own data directory and object cache: modules
 * arrive from the planner by content hash, no shared file system. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <granary/status.h>

#include "cli/cli_int.h"
#include "cluster/cluster.h"
#include "mpi/mpi.h"
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
      "  --mpi-listen ADDR    listener for the MPI ranks of other hosts\n"
      "                       (default 0.0.0.0:0: any port; the planner\n"
      "                       tells others this host's address with it)\n"
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
    gr__cli_common c;
    const char* planner;
    const char* id;
    const char* mpi_listen;
    long slots;
};

int
gr_cli_worker(int argc, char** argv)
{
    struct worker_opts o = { 0 };
    const gr__cli_opt own[] = {
        { "--planner", GR__CLI_STR, &o.planner, 0, 0 },
        { "--id", GR__CLI_STR, &o.id, 0, 0 },
        { "--slots", GR__CLI_LONG, &o.slots, 1, 4096 },
        { "--mpi-listen", GR__CLI_STR, &o.mpi_listen, 0, 0 },
        { NULL, GR__CLI_FLAG, NULL, 0, 0 },
    };
    if (gr__cli_parse("worker", argc, argv, own, &o.c, 0, worker_usage) < 0)
        return GR_CLI_USAGE;
    if (!o.planner) {
        fprintf(stderr, "granary worker: --planner is required\n");
        worker_usage(stderr);
        return GR_CLI_USAGE;
    }
    if (!o.slots) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o.slots = n > 0 ? n : 1;
    }
    sigset_t set;
    gr__cli_signals(&set, 0);

    int status = GR_CLI_FAILURE;
    char data[4096];
    gr__cli_stack st = { 0 };
    gr_worker* worker = NULL;
    gr_mpi_net* mpi = NULL;
    const char* ml = o.mpi_listen ? o.mpi_listen : "0.0.0.0:0";
    int rc = gr_mpi_net_start(ml, &mpi);
    if (rc) {
        fprintf(stderr,
                "granary worker: cannot listen for MPI on %s: %s\n",
                ml,
                gr_strerror(rc));
        return GR_CLI_FAILURE;
    }
    gr_worker_config wcfg = { .planner = o.planner,
                              .id = o.id,
                              .slots = (uint32_t)o.slots,
                              .mpi_net = mpi,
                              .mpi_port = gr_mpi_net_port(mpi) };
    rc = gr_worker_create(&wcfg, &worker);
    if (rc) {
        fprintf(stderr, "granary worker: %s\n", gr_strerror(rc));
        gr_mpi_net_stop(mpi);
        return GR_CLI_FAILURE;
    }
    char hostname[64] = "";
    const char* id = o.id;
    if (!id) {
        gethostname(hostname, sizeof hostname - 1);
        id = hostname;
    }
    const char* base = getenv("GRANARY_DATA");
    if (o.c.data)
        snprintf(data, sizeof data, "%s", o.c.data);
    else if (base && base[0])
        snprintf(data, sizeof data, "%s/worker-%s", base, id);
    else
        snprintf(data,
                 sizeof data,
                 "%s/.local/share/granary/worker-%s",
                 getenv("HOME") ? getenv("HOME") : ".",
                 id);
    if (gr_fs_mkdir_p(data) < 0) {
        fprintf(stderr,
                "granary worker: cannot create %s: %s\n",
                data,
                strerror(errno));
        goto out;
    }
    /* State always: Redis when given, else an embedded (unshared) tier. */
    gr_sched_config scfg = {
        .data_dir = data,
        .slots = (int)o.slots,
        .timeout_ns = (uint64_t)(o.c.timeout * 1e9),
        .placement = gr_worker_placement(worker),
        .remote = gr_worker_remote(worker),
    };
    if (gr__cli_stack_start(&st, "worker", o.c.cache, o.c.redis, 1, &scfg) < 0)
        goto out;
    if ((rc = gr_worker_start(worker, st.sched))) {
        fprintf(stderr, "granary worker: %s\n", gr_strerror(rc));
        goto out;
    }
    printf("granary worker: %ld slots, planner %s, state %s (data %s)\n",
           o.slots,
           o.planner,
           gr_state_global_kind(st.state),
           data);
    fflush(stdout);
    gr__cli_wait(&st, &set);
    status = GR_CLI_OK;
out:
    gr_worker_destroy(worker); /* before the scheduler it runs on */
    gr__cli_stack_stop(&st);
    gr_mpi_net_stop(mpi); /* after every MPI app ended */
    return status;
}
