/* SPDX-License-Identifier: Apache-2.0 */
/* The granary command: one entry point per subcommand. Each returns the
 * process exit status. */
#ifndef GR_CLI_CLI_H
#define GR_CLI_CLI_H

/* Exit statuses shared by subcommands (documented in the README). */
enum gr_cli_exit
{
    GR_CLI_OK = 0,
    GR_CLI_USAGE = 2,     /* bad command line */
    GR_CLI_FAILURE = 1,   /* generic failure (I/O, resources) */
    GR_CLI_BAD_MODULE = 125, /* the module failed validation/compilation */
    GR_CLI_TRAP = 134,    /* the guest trapped (like an abort) */
};

int
gr_cli_run(int argc, char** argv);

#endif
