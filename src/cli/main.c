/* SPDX-License-Identifier: Apache-2.0 */
/* main() of the granary command: dispatches to subcommands. Built twice
 * when the server is built: `granary-full` (every command) and `granary`
 * (GRANARY_EXEC_FULL: run and mpirun in process, linked against the engine
 * and host functions only, so a short program does not pay for loading
 * libcurl, libmicrohttpd, libcrypto and their ~30 dependencies; every other
 * command execs granary-full from the same directory, same pid and argv). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define GRANARY_VERSION "0.1.0"

static void
usage(FILE* f)
{
    fputs("usage: granary <command> [options]\n"
          "\n"
          "commands:\n"
          "  run      run a WASI command module (like wasmtime run)\n"
          "  mpirun   run an MPI program as N ranks on this machine\n"
          "  serve    run the HTTP API, scheduler and engine (one process)\n"
          "  token    create, list or revoke API tokens of a server\n"
          "  upload   upload a function to a server\n"
          "  invoke   call a function on a server\n"
          "  status   show a call's record\n"
          "  logs     print a call's stdout and stderr\n"
          "  fn       list, show or delete functions on a server\n"
          "  planner  run the planner of a multi-host cluster\n"
          "  worker   run a worker host joined to a planner\n"
          "  hosts    list a cluster's hosts, slots and running calls\n"
          "  state    get, set or delete shared state values on a server\n"
          "  version  print the version\n"
          "  help     show this help\n"
          "\n"
          "Run 'granary <command> --help' for a command's options.\n",
          f);
}

#ifdef GRANARY_EXEC_FULL
/* Replaces this process with granary-full, next to /proc/self/exe. */
static int
exec_full(char** argv)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) {
        fprintf(stderr, "granary: cannot find myself: %s\n", strerror(errno));
        return GR_CLI_FAILURE;
    }
    path[n] = 0;
    char* slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash - path) + 1 : 0;
    if (dir + sizeof "granary-full" > sizeof path) {
        fprintf(stderr, "granary: path too long\n");
        return GR_CLI_FAILURE;
    }
    memcpy(path + dir, "granary-full", sizeof "granary-full");
    execv(path, argv);
    fprintf(stderr, "granary: cannot run %s: %s\n", path, strerror(errno));
    return GR_CLI_FAILURE;
}
#endif

int
main(int argc, char** argv)
{
    if (argc < 2) {
        usage(stderr);
        return GR_CLI_USAGE;
    }
    const char* cmd = argv[1];
    if (strcmp(cmd, "run") == 0)
        return gr_cli_run(argc - 1, argv + 1);
    if (strcmp(cmd, "mpirun") == 0)
        return gr_cli_mpirun(argc - 1, argv + 1);
#ifdef GRANARY_EXEC_FULL
    if (strcmp(cmd, "version") && strcmp(cmd, "--version") &&
        strcmp(cmd, "help") && strcmp(cmd, "--help") && strcmp(cmd, "-h"))
        return exec_full(argv);
#endif
#ifdef GRANARY_HTTP_SERVER
    if (strcmp(cmd, "serve") == 0)
        return gr_cli_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "token") == 0)
        return gr_cli_token(argc - 1, argv + 1);
    if (strcmp(cmd, "upload") == 0)
        return gr_cli_upload(argc - 1, argv + 1);
    if (strcmp(cmd, "invoke") == 0)
        return gr_cli_invoke(argc - 1, argv + 1);
    if (strcmp(cmd, "status") == 0)
        return gr_cli_status(argc - 1, argv + 1);
    if (strcmp(cmd, "logs") == 0)
        return gr_cli_logs(argc - 1, argv + 1);
    if (strcmp(cmd, "fn") == 0)
        return gr_cli_fn(argc - 1, argv + 1);
    if (strcmp(cmd, "state") == 0)
        return gr_cli_state(argc - 1, argv + 1);
    if (strcmp(cmd, "planner") == 0)
        return gr_cli_planner(argc - 1, argv + 1);
    if (strcmp(cmd, "worker") == 0)
        return gr_cli_worker(argc - 1, argv + 1);
    if (strcmp(cmd, "hosts") == 0)
        return gr_cli_hosts(argc - 1, argv + 1);
#endif
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("granary %s\n", GRANARY_VERSION);
        return GR_CLI_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return GR_CLI_OK;
    }
    fprintf(stderr, "granary: unknown command '%s'\n", cmd);
    usage(stderr);
    return GR_CLI_USAGE;
}
