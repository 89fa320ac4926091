/* SPDX-License-Identifier: Apache-2.0 */
/* main() of the granary command: dispatches to subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#define GRANARY_VERSION "0.1.0"

static void
usage(FILE* f)
{
    fputs("usage: granary <command> [options]\n"
          "\n"
          "commands:\n"
          "  run      run a WASI command module (like wasmtime run)\n"
          "  version  print the version\n"
          "  help     show this help\n"
          "\n"
          "Run 'granary <command> --help' for a command's options.\n",
          f);
}

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
