/* SPDX-License-Identifier: Apache-2.0 */
/* The granary command: one entry point per subcommand. Each returns the
 * process exit status. */
#ifndef GR_CLI_CLI_H
#define GR_CLI_CLI_H

/* Exit statuses shared by subcommands (documented in the README). */
enum gr_cli_exit
{
    GR_CLI_OK = 0,
    GR_CLI_USAGE = 2,        /* bad command line */
    GR_CLI_FAILURE = 1,      /* generic failure (I/O, resources) */
    GR_CLI_SERVER = 3,       /* client: cannot reach the server, or a 5xx */
    GR_CLI_DENIED = 4,       /* client: 401, 403 or 404 */
    GR_CLI_BUSY = 5,         /* client: 429/503, the server is full */
    GR_CLI_CALL_FAILED = 6,  /* client: the call trapped or timed out */
    GR_CLI_BAD_MODULE = 125, /* the module failed validation/compilation */
    GR_CLI_TRAP = 134,       /* the guest trapped (like an abort) */
};

int gr_cli_run(int argc, char** argv);
int gr_cli_mpirun(int argc, char** argv);

/* granary serve: the HTTP API + scheduler + engine in one process. */
int gr_cli_serve(int argc, char** argv);
/* granary token create|list|revoke: edits the server's token file. */
int gr_cli_token(int argc, char** argv);
/* HTTP clients of a granary server (docs/cli.md). */
int gr_cli_upload(int argc, char** argv);
int gr_cli_invoke(int argc, char** argv);
int gr_cli_status(int argc, char** argv);
int gr_cli_logs(int argc, char** argv);
int gr_cli_fn(int argc, char** argv);
/* granary state get|set|delete USER/KEY: shared state values. */
int gr_cli_state(int argc, char** argv);

/* Multi-host cluster (docs/cluster.md). */
int gr_cli_planner(int argc, char** argv);
int gr_cli_worker(int argc, char** argv);
int gr_cli_hosts(int argc, char** argv);

#endif
