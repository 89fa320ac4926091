/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/cli: the option parser shared by the long-running
 * commands, and the start-up and shutdown of engine + state + scheduler +
 * HTTP API shared by serve, planner and worker. */
#ifndef GR_CLI_CLI_INT_H
#define GR_CLI_CLI_INT_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "cli/cli.h"

/* ---- granary run / mpirun options (cmd_run.c) ---------------------------- */

#include <stdint.h>

#include "host/wasi/wasi.h"

#define GR__CLI_MAX_DIRS 64
#define GR__CLI_MAX_LISTEN 16

typedef struct gr__cli_run_opts
{
    const char* cmd;        /* "run" or "mpirun", for messages */
    void (*usage)(FILE* f); /* -h, --help */
    int mpi;                /* accept -np (and refuse --tcplisten) */
    int np, max_np;         /* -np N (mpi only) */
    /* mpirun across hosts: --hosts A,B,..., --host I, --map H,H,...,
     * --app ID (raw; checked by cmd_mpirun.c) */
    const char *mpi_hosts, *mpi_host, *mpi_map, *mpi_app;
    gr_wasi_preopen dirs[GR__CLI_MAX_DIRS];
    size_t n_dirs;
    const char* listen[GR__CLI_MAX_LISTEN]; /* --tcplisten values */
    size_t n_listen;
    const char** env; /* caller allocates argc entries */
    size_t n_env;
    uint32_t max_pages;
    uint64_t timeout_ns; /* 0 = none */
    const char* cache;
    const char* file;
    const char** args; /* args[0] is the program name */
    size_t n_args;
} gr__cli_run_opts;

/* Parses granary run's command line (and mpirun's, with -np) into *o
 * (cmd, usage, mpi, max_np and env set by the caller). Returns 0, or -1
 * after saying why on stderr. Exits 0 after --help. */
int gr__cli_run_parse(int argc, char** argv, gr__cli_run_opts* o);

/* Checks every --dir host folder exists; -1 after saying which not. */
int gr__cli_run_check_dirs(const gr__cli_run_opts* o);

/* Checks the --dir folders, starts an engine (*engine), loads o->file
 * (*obj) and finds its _start (*start). Returns GR_CLI_OK, or the exit
 * status after saying why on stderr; the caller frees *engine and *obj
 * either way. */
struct gr_engine;
struct gr_object;
int gr__cli_run_load(const gr__cli_run_opts* o,
                     struct gr_engine** engine,
                     struct gr_object** obj,
                     void (**start)(void*));

/* ---- options (opts.c) ---------------------------------------------------- */

typedef enum gr__cli_kind
{
    GR__CLI_FLAG,   /* int*: set to 1; takes no value */
    GR__CLI_STR,    /* const char**: the value itself (borrowed from argv) */
    GR__CLI_LONG,   /* long*: an integer in [lo, hi] */
    GR__CLI_SECS,   /* double*: seconds (gr__cli_parse_secs) */
    GR__CLI_SIZE,   /* unsigned long long*: bytes, K/M/G suffix allowed */
    GR__CLI_LISTEN, /* gr__cli_listen*: HOST:PORT or [V6]:PORT */
} gr__cli_kind;

typedef struct gr__cli_listen
{
    char host[256];
    unsigned port;
} gr__cli_listen;

/* One option; tables end with a NULL name. */
typedef struct gr__cli_opt
{
    const char* name; /* "--slots" */
    gr__cli_kind kind;
    void* dst;
    long lo, hi; /* GR__CLI_LONG only */
} gr__cli_opt;

/* Options the long-running commands share, with one meaning each. */
typedef struct gr__cli_common
{
    gr__cli_listen listen; /* --listen (HTTP API) */
    const char* data;      /* --data */
    const char* tokens;    /* --tokens */
    const char* cache;     /* --cache */
    const char* port_file; /* --port-file */
    const char* redis;     /* --redis */
    double timeout;        /* --timeout */
    long threads;          /* --threads (HTTP) */
    int quiet;             /* --quiet */
} gr__cli_common;

/* A duration: a number of seconds, optionally followed by a unit (ms, s,
 * m, h: "100ms", "2s", "1.5m"), more than 0 and at most a year. Returns 0
 * with *out in seconds, or -1. */
int gr__cli_parse_secs(const char* s, double* out);

/* HOST:PORT or [V6]:PORT with a port in 0..65535. Returns 0 or -1. */
int gr__cli_parse_listen(const char* s, gr__cli_listen* out);

/* Parses argv[1..argc) against the table own (may be NULL) and the
 * common options into c: with http, those of a command serving the HTTP
 * API too (--listen, --tokens, --port-file, --threads). -h/--help prints
 * usage to stdout and exits 0. Then sets the log level (--quiet; the
 * environment's GRANARY_LOG wins). Returns 0, or -1 after saying why on
 * stderr as "granary PROG: ..." followed by usage (exit with 2). */
int gr__cli_parse(const char* prog,
                  int argc,
                  char** argv,
                  const gr__cli_opt* own,
                  gr__cli_common* c,
                  int http,
                  void (*usage)(FILE* f));

/* ---- start-up (stack.c; needs the HTTP server) -------------------------- */

struct gr_engine;
struct gr_state;
struct gr_sched;
struct gr_sched_config;
struct gr_http_server;
struct gr_http_config;

/* What a long-running command runs; members NULL until started. Owned by
 * the command's main thread. */
typedef struct gr__cli_stack
{
    struct gr_engine* engine;
    struct gr_state* state;
    struct gr_sched* sched;
    struct gr_http_server* http;
} gr__cli_stack;

/* Blocks SIGINT, SIGTERM (and SIGHUP if hup) in the calling thread, and
 * so in every thread it creates afterwards, for gr__cli_wait; ignores
 * SIGPIPE. */
void gr__cli_signals(sigset_t* set, int hup);

/* Where a command serving the HTTP API keeps its files. */
typedef struct gr__cli_paths
{
    char data[4000];   /* --data, else the default; created */
    char tokens[4096]; /* --tokens, else DATA/tokens */
} gr__cli_paths;

/* Fills *out from c. Returns 0, or the exit status after saying why. */
int gr__cli_paths_init(const char* prog,
                       const gr__cli_common* c,
                       gr__cli_paths* out);

/* Starts the engine (object cache in cache, NULL = default), the state
 * service (Redis at redis; without it an embedded tier if want_state,
 * else none) and the scheduler from *scfg, whose engine and state are
 * filled in here. Returns 0, or -1 after saying why; then call
 * gr__cli_stack_stop. */
int gr__cli_stack_start(gr__cli_stack* st,
                        const char* prog,
                        const char* cache,
                        const char* redis,
                        int want_state,
                        struct gr_sched_config* scfg);

/* Starts the HTTP API from *hcfg (sched and state filled in here).
 * Returns the bound port, or -1 after saying why. */
int gr__cli_stack_http(gr__cli_stack* st,
                       const char* prog,
                       struct gr_http_config* hcfg);

/* Writes "PORT\n" to path atomically (path NULL: nothing); a failure is
 * reported, not fatal. */
void gr__cli_write_port(const char* prog, const char* path, int port);

/* Returns on SIGINT or SIGTERM (set from gr__cli_signals). Meanwhile,
 * with an HTTP API, re-reads the token file on SIGHUP and when it
 * changed (checked every second). */
void gr__cli_wait(gr__cli_stack* st, const sigset_t* set);

/* Stops the HTTP API, then destroys the scheduler, the state service and
 * the engine; anything that runs on the scheduler (planner, worker) must
 * be gone before. Members become NULL; safe to call twice. */
void gr__cli_stack_stop(gr__cli_stack* st);

#endif
