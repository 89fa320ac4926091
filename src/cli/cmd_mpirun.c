/* SPDX-License-Identifier: Apache-2.0 */
/* granary mpirun: runs an MPI program compiled to wasm as N ranks in this
 * process (one instance, memory and WASI context per rank, each on its own
 * thread, in one MPI world), and exits with the app's status. The first
 * rank that fails ends the others. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <granary/status.h>

#include "cli/cli.h"
#include "cli/cli_int.h"
#include "engine/engine.h"
#include "engine/rt.h"
#include "host/host.h"
#include "host/threads.h"
#include "host/wasi/wasi.h"
#include "mpi/mpi.h"
#include "util/alloc.h"

#define MAX_NP 1024
/* Ranks always run with a deadline so that a failing world can cancel
 * them (gr_rt_cancel acts on calls with one): a year when none is asked. */
#define FAR_DEADLINE_NS (365ull * 24 * 3600 * 1000000000ull)
#define RANK_STACK (8u << 20)

static void
mpirun_usage(FILE* f)
{
    fputs(
      "usage: granary mpirun -np N [options] FILE.wasm [--] [ARGS...]\n"
      "\n"
      "Compiles FILE.wasm like 'granary run' and runs its _start as N MPI\n"
      "ranks in one world, each with its own memory, on its own thread, with\n"
      "the same arguments and environment; stdout and stderr of every rank\n"
      "go to the terminal. A rank that traps, exits non-zero before\n"
      "MPI_Finalize or calls MPI_Abort ends every rank.\n"
      "With N at most the CPUs available, rank i is bound to the i-th CPU\n"
      "(GRANARY_MPI_BIND=none: no binding). Blocked ranks poll briefly\n"
      "before sleeping (GRANARY_MPI_SPIN_US, default 50; 0: never).\n"
      "\n"
      "options:\n"
      "  -np N                number of ranks (1..1024; default 1)\n"
      "  --dir HOST[::GUEST]  make host directory HOST visible to every\n"
      "                       rank as GUEST; repeatable\n"
      "  --env KEY=VALUE      set a guest environment variable; repeatable\n"
      "  --timeout DURATION   stop the app after DURATION (100ms, 2s, 1m)\n"
      "  --max-memory MIB     cap each rank's linear memory (default 4096)\n"
      "  --cache DIR          object cache (default $GRANARY_CACHE or\n"
      "                       ~/.cache/granary)\n"
      "  --hosts A,B,...      the world spans these hosts (MPI addresses\n"
      "                       ip:port, one process per host, each started\n"
      "                       with the same options)\n"
      "  --host I             this process is host I of --hosts (listens on\n"
      "                       its address, runs its ranks)\n"
      "  --map H,H,...        host of every rank (default: blocks of\n"
      "                       consecutive ranks, as even as possible)\n"
      "  --app ID             world id, the same on every host (default 1)\n"
      "  -h, --help           show this help\n"
      "\n"
      "exit status: 0 if every rank exits 0; else that of the first\n"
      "failure: the exit code of a rank that exited non-zero, the code\n"
      "given to MPI_Abort (1 for 0), 134 if a rank trapped or ran past\n"
      "--timeout, 125 if the module is invalid, 1 on other errors, 2 on\n"
      "usage.\n",
      f);
}

struct rank_run
{
    int index;
    int cpu; /* the CPU this rank is bound to, or -1 */
    gr_mpi_world* world;
    gr_object* obj;
    const gr__cli_run_opts* o;
    void (*start)(void*);
    pthread_t thread;
    int started;
    gr_wasi* wasi;
    gr_instance* inst;
    int rc; /* 0, GR_EEXIT, GR_ETRAP or a negative error */
    gr_trap trap;
};

struct start_call
{
    void (*start)(void*);
    void* module;
};

static void
call_start(void* p)
{
    struct start_call* c = p;
    c->start(c->module);
}

/* Instantiation and _start under one deadline (as granary run). */
struct guest_run
{
    struct rank_run* rr;
    const gr_instance_config* icfg;
    int rc;
    gr_trap trap;
};

static void
run_guest(void* p)
{
    struct guest_run* g = p;
    g->rc = gr_instance_create(g->rr->obj, g->icfg, &g->rr->inst, &g->trap);
    if (g->rc == 0) {
        struct start_call c = { g->rr->start, gr_instance_module(g->rr->inst) };
        g->rc = gr_instance_call(g->rr->inst, call_start, &c, &g->trap);
    }
}

static void*
rank_main(void* p)
{
    struct rank_run* rr = p;
    const gr__cli_run_opts* o = rr->o;
    gr_mpi_rank* rank = gr_mpi_world_rank_at(rr->world, rr->index);
    char what[128];

    gr_wasi_config wcfg = {
        .argc = o->n_args,
        .argv = o->args,
        .envc = o->n_env,
        .envp = o->env,
        .n_preopens = o->n_dirs,
        .preopens = o->dirs,
        .stdin_fd = rr->index == 0 ? 0 : -1,
        .out = { .host_fd = 1 },
        .err = { .host_fd = 2 },
    };
    if (rr->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(rr->cpu, &set);
        (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
    int rc = gr_wasi_create(&wcfg, &rr->wasi);
    if (rc == 0 && gr_mpi_rank_attach(rank) < 0)
        rc = -EAGAIN;
    if (rc) {
        snprintf(what, sizeof what, "cannot start: %s", gr_strerror(rc));
        gr_mpi_world_fail(rr->world, rr->index, GR_MPI_FAIL_ERROR, 0, what);
        rr->rc = rc;
        gr_mpi_rank_detach(rank);
        return NULL;
    }
    gr_host_ctx host = { .wasi = rr->wasi, .mpi = rank };
    gr_instance_config icfg = { .max_pages = o->max_pages, .host = &host };
    struct guest_run g = { .rr = rr, .icfg = &icfg };
    uint64_t t = o->timeout_ns ? o->timeout_ns : FAR_DEADLINE_NS;
    rc = gr_rt_call_timeout(run_guest, &g, &rr->trap, t);
    if (rc == 0) {
        rc = g.rc;
        rr->trap = g.trap;
    }
    /* The rank's guest threads (wasi-threads) end with its main thread. */
    gr_threads_end(&host, &rc, &rr->trap, NULL);
    rr->rc = rc;
    int finalized = gr_mpi_rank_finalized(rank);
    if (rc == GR_EEXIT && rr->trap.exit_code != 0 && !finalized) {
        gr_mpi_world_fail(
          rr->world, rr->index, GR_MPI_FAIL_EXIT, rr->trap.exit_code, NULL);
    } else if (rc == GR_ETRAP) {
        gr_mpi_world_fail(rr->world,
                          rr->index,
                          GR_MPI_FAIL_TRAP,
                          0,
                          gr_trap_name(rr->trap.kind));
    } else if (rc != 0 && rc != GR_EEXIT) {
        snprintf(what, sizeof what, "%s", gr_strerror(rc));
        gr_mpi_world_fail(rr->world, rr->index, GR_MPI_FAIL_ERROR, 0, what);
    }
    gr_mpi_rank_detach(rank);
    return NULL;
}

/* Like Open MPI's default (--bind-to core for up to 2 ranks), each rank
 * gets a CPU of its own when there are at least np allowed CPUs: rank i
 * on the i-th CPU of this process's affinity mask. Ranks that poll for
 * each other's messages then really run side by side. Returns how many
 * CPUs were chosen (np, or 0: no binding). GRANARY_MPI_BIND=none turns it
 * off, and so does GRANARY_MPI_SPIN_US=0. */
static int
bind_cpus(int np, int* cpus)
{
    const char* e = getenv("GRANARY_MPI_BIND");
    if (e && strcmp(e, "none") == 0)
        return 0;
    /* bound ranks that sleep at once wait for their own CPU to be free
     * on every wake-up (measured 20 us per message on a loaded host):
     * without polling, let the kernel place them */
    e = getenv("GRANARY_MPI_SPIN_US");
    if (e && strcmp(e, "0") == 0)
        return 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) < 0 || CPU_COUNT(&set) < np)
        return 0;
    int n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < np; c++)
        if (CPU_ISSET(c, &set))
            cpus[n++] = c;
    return n == np ? n : 0;
}

/* The app's exit status, with a message naming the rank that decided
 * it. */
static int
app_status(gr_mpi_world* w, const struct rank_run* rr, int np)
{
    gr_mpi_failure f;
    if (gr_mpi_world_failure(w, &f)) {
        switch (f.kind) {
            case GR_MPI_FAIL_TRAP:
                fprintf(stderr,
                        "granary mpirun: rank %d trapped: %s\n",
                        f.rank,
                        f.what);
                return GR_CLI_TRAP;
            case GR_MPI_FAIL_EXIT:
                fprintf(stderr,
                        "granary mpirun: rank %d exited with %d\n",
                        f.rank,
                        f.code);
                return f.code;
            case GR_MPI_FAIL_ABORT:
                fprintf(stderr,
                        "granary mpirun: rank %d called MPI_Abort(%d)\n",
                        f.rank,
                        f.code);
                return f.code ? f.code : 1;
            case GR_MPI_FAIL_HOST:
                fprintf(stderr, "granary mpirun: %s\n", f.what);
                return GR_CLI_FAILURE;
            default:
                fprintf(
                  stderr, "granary mpirun: rank %d: %s\n", f.rank, f.what);
                return GR_CLI_FAILURE;
        }
    }
    for (int i = 0; i < np; i++) {
        if (rr[i].rc == GR_EEXIT && rr[i].trap.exit_code != 0) {
            fprintf(stderr,
                    "granary mpirun: rank %d exited with %d (after "
                    "MPI_Finalize)\n",
                    i,
                    rr[i].trap.exit_code);
            return rr[i].trap.exit_code;
        }
    }
    return GR_CLI_OK;
}

static void
hosts_fini(gr_mpi_hosts* h)
{
    if (h->addrs)
        gr_free((void*)h->addrs[0]); /* one buffer */
    gr_free((void*)h->addrs);
    gr_free((void*)h->rank_host);
}

/* --hosts, --host, --map, --app into *h (nhosts 1 without --hosts).
 * -1 after saying why. */
static int
hosts_parse(const gr__cli_run_opts* o, gr_mpi_hosts* h)
{
    if (!o->mpi_hosts) {
        if (o->mpi_host || o->mpi_map || o->mpi_app) {
            fprintf(stderr,
                    "granary mpirun: --host, --map and --app need "
                    "--hosts\n");
            return -1;
        }
        return 0;
    }
    char* buf = gr_strdup(o->mpi_hosts);
    const char** addrs = gr_calloc(strlen(o->mpi_hosts) + 1, sizeof *addrs);
    int* map = gr_calloc((size_t)o->np, sizeof *map);
    if (!buf || !addrs || !map) {
        gr_free(buf);
        gr_free(addrs);
        gr_free(map);
        return -1;
    }
    int n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save))
        addrs[n++] = t;
    h->addrs = addrs;
    h->rank_host = map;
    h->nhosts = n;
    if (n == 0 || addrs[0] != buf) {
        fprintf(stderr, "granary mpirun: --hosts wants ADDR,ADDR,...\n");
        return -1;
    }
    char* end;
    long self = o->mpi_host ? strtol(o->mpi_host, &end, 10) : -1;
    if (!o->mpi_host || *end || self < 0 || self >= n) {
        fprintf(stderr,
                "granary mpirun: --host wants this host's index, 0..%d\n",
                n - 1);
        return -1;
    }
    h->self = (int)self;
    h->app = 1;
    if (o->mpi_app) {
        h->app = strtoull(o->mpi_app, &end, 10);
        if (*end || !h->app) {
            fprintf(stderr, "granary mpirun: --app wants a number > 0\n");
            return -1;
        }
    }
    if (n > o->np) {
        fprintf(stderr, "granary mpirun: more hosts than ranks\n");
        return -1;
    }
    const char* p = o->mpi_map;
    for (int i = 0; i < o->np; i++) {
        if (!p) {
            map[i] = (int)((long)i * n / o->np);
            continue;
        }
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v >= n || (*end != ',' && *end != '\0') ||
            (*end == '\0' && i != o->np - 1)) {
            fprintf(stderr,
                    "granary mpirun: --map wants %d host indexes 0..%d\n",
                    o->np,
                    n - 1);
            return -1;
        }
        map[i] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (p && *p) {
        fprintf(stderr, "granary mpirun: --map has more than -np entries\n");
        return -1;
    }
    for (int hi = 0; hi < n; hi++) {
        int used = 0;
        for (int i = 0; i < o->np; i++)
            used |= map[i] == hi;
        if (!used) {
            fprintf(stderr, "granary mpirun: host %d has no ranks\n", hi);
            return -1;
        }
    }
    return 0;
}

int
gr_cli_mpirun(int argc, char** argv)
{
    gr__cli_run_opts o = {
        .cmd = "mpirun",
        .usage = mpirun_usage,
        .mpi = 1,
        .np = 1,
        .max_np = MAX_NP,
    };
    o.env = gr_calloc((size_t)argc, sizeof *o.env);
    if (!o.env)
        return GR_CLI_FAILURE;
    if (gr__cli_run_parse(argc, argv, &o) < 0) {
        mpirun_usage(stderr);
        gr_free(o.env);
        return GR_CLI_USAGE;
    }

    int status = GR_CLI_FAILURE;
    gr_engine* engine = NULL;
    gr_object* obj = NULL;
    gr_mpi_world* world = NULL;
    struct rank_run* rr = NULL;
    gr_mpi_net* net = NULL;
    gr_mpi_hosts hs = { .nhosts = 1 };

    void (*start)(void*) = NULL;
    if ((status = gr__cli_run_load(&o, &engine, &obj, &start)) != GR_CLI_OK)
        goto out;
    status = GR_CLI_FAILURE;
    int rc;
    if ((rc = hosts_parse(&o, &hs)) < 0) {
        status = GR_CLI_USAGE;
        goto out;
    }
    if (hs.nhosts > 1 && (rc = gr_mpi_net_start(hs.addrs[hs.self], &net)) < 0) {
        fprintf(stderr,
                "granary mpirun: cannot listen on %s: %s\n",
                hs.addrs[hs.self],
                gr_strerror(rc));
        goto out;
    }
    hs.net = net;
    if ((rc = gr_mpi_world_create_hosts(o.np, &hs, &world)) < 0 ||
        !(rr = gr_calloc((size_t)o.np, sizeof *rr))) {
        fprintf(stderr,
                "granary mpirun: cannot create the world: %s\n",
                gr_strerror(rc < 0 ? rc : -ENOMEM));
        goto out;
    }
    int cpus[MAX_NP];
    int nlocal = 0;
    for (int i = 0; i < o.np; i++)
        nlocal += gr_mpi_world_is_local(world, i);
    int ncpus = bind_cpus(nlocal, cpus);
    int k = 0;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, RANK_STACK);
    for (int i = 0; i < o.np; i++) {
        if (!gr_mpi_world_is_local(world, i))
            continue;
        rr[i] = (struct rank_run){ .index = i,
                                   .cpu = ncpus ? cpus[k++] : -1,
                                   .world = world,
                                   .obj = obj,
                                   .o = &o,
                                   .start = start };
        if ((rc = pthread_create(&rr[i].thread, &attr, rank_main, &rr[i]))) {
            char what[128];
            snprintf(what, sizeof what, "cannot start: %s", strerror(rc));
            gr_mpi_world_fail(world, i, GR_MPI_FAIL_ERROR, 0, what);
            break;
        }
        rr[i].started = 1;
    }
    pthread_attr_destroy(&attr);
    for (int i = 0; i < o.np; i++)
        if (rr[i].started)
            pthread_join(rr[i].thread, NULL);
    fflush(stdout);
    status = app_status(world, rr, o.np);
out:
    if (rr) {
        for (int i = 0; i < o.np; i++) {
            gr_instance_destroy(rr[i].inst);
            gr_wasi_destroy(rr[i].wasi);
        }
        gr_free(rr);
    }
    gr_mpi_world_destroy(world);
    gr_mpi_net_stop(net);
    hosts_fini(&hs);
    if (obj)
        gr_object_unref(obj);
    gr_engine_destroy(engine);
    gr_free(o.env);
    return status;
}
