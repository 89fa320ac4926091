/* SPDX-License-Identifier: Apache-2.0 */
/* granary serve: the embedded deployment in one process: engine, scheduler
 * (local placement) and the HTTP API. Signals are taken synchronously by
 * the main thread: SIGINT/SIGTERM stop, SIGHUP reloads the token file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "http/http.h"
#include "util/log.h"

static void
serve_usage(FILE* f)
{
    fputs(
      "usage: granary serve [options]\n"
      "\n"
      "Runs the HTTP API (docs/api.md), the scheduler and the engine in\n"
      "one process until SIGINT or SIGTERM. SIGHUP re-reads the token\n"
      "file (it is also re-read within a second of any change).\n"
      "\n"
      "options:\n"
      "  --listen HOST:PORT  address to listen on (default 127.0.0.1:8080;\n"
      "                      port 0 picks a free port)\n"
      "  --data DIR          function store and token file (default\n"
      "                      $GRANARY_DATA, else ~/.local/share/granary)\n"
      "  --tokens FILE       token file (default DIR/tokens)\n"
      "  --cache DIR         compiled-object cache (default $GRANARY_CACHE\n"
      "                      or ~/.cache/granary)\n"
      "  --slots N           executor slots (default: number of CPUs)\n"
      "  --queue N           calls queued before 429 (default 1024)\n"
      "  --timeout SECONDS   default per-call timeout (default 60)\n"
      "  --max-timeout SECONDS  cap on a request's ?timeout= (default none)\n"
      "  --max-input SIZE    largest call input (default 16M)\n"
      "  --max-output SIZE   largest call output (default 16M)\n"
      "  --max-upload SIZE   largest module (default 64M)\n"
      "  --max-record-bytes SIZE  bytes kept in finished call records\n"
      "                      (outputs, stdout, stderr), in all (default 256M)\n"
      "  --max-user-record-bytes SIZE  the same per user (default 64M)\n"
      "  --max-memory MIB    per-Faaslet linear memory cap (default 4096)\n"
      "  --redis HOST:PORT   global state tier in Redis (default: an\n"
      "                      embedded in-process tier, single host)\n"
      "  --threads N         HTTP worker threads (default 2 x slots)\n"
      "  --idle-timeout SECONDS  close idle connections (default 30)\n"
      "  --max-sync N        sync calls running or waiting at once; more\n"
      "                      get 429 (default 2 x slots)\n"
      "  --max-uploads N     uploads compiling at once; more get 429\n"
      "                      (default 2)\n"
      "  --request-timeout SECONDS  a request's headers must arrive\n"
      "                      within this, its body within this plus 1 s\n"
      "                      per 64 KiB, or the connection is closed\n"
      "                      (default 10)\n"
      "  --max-conns-per-ip N  open connections per client address,\n"
      "                      loopback included (default 64)\n"
      "  --max-connections N open connections in all (default 4096)\n"
      "  --port-file FILE    write the bound port to FILE once listening\n"
      "  --quiet             log warnings only (default: one info line per\n"
      "                      request; GRANARY_LOG overrides both)\n"
      "  -h, --help          show this help\n"
      "\n"
      "SIZE takes a K, M or G suffix. Exit status: 0 after a clean\n"
      "shutdown, 1 if the server could not start, 2 on usage errors.\n",
      f);
}

struct serve_opts
{
    gr__cli_common c;
    long slots, queue;
    long max_sync, max_uploads, per_ip, max_conns;
    double max_timeout, idle, req_timeout;
    unsigned long long max_input, max_output, max_upload;
    unsigned long long max_record_bytes, max_user_record_bytes;
    long max_mib;
};

int
gr_cli_serve(int argc, char** argv)
{
    struct serve_opts o = { .c.listen = { .host = "127.0.0.1", .port = 8080 } };
    const gr__cli_opt own[] = {
        { "--slots", GR__CLI_LONG, &o.slots, 1, 4096 },
        { "--queue", GR__CLI_LONG, &o.queue, 1, 100000000 },
        { "--max-timeout", GR__CLI_SECS, &o.max_timeout, 0, 0 },
        { "--idle-timeout", GR__CLI_SECS, &o.idle, 0, 0 },
        { "--max-input", GR__CLI_SIZE, &o.max_input, 0, 0 },
        { "--max-output", GR__CLI_SIZE, &o.max_output, 0, 0 },
        { "--max-upload", GR__CLI_SIZE, &o.max_upload, 0, 0 },
        { "--max-record-bytes", GR__CLI_SIZE, &o.max_record_bytes, 0, 0 },
        { "--max-user-record-bytes",
          GR__CLI_SIZE,
          &o.max_user_record_bytes,
          0,
          0 },
        { "--max-memory", GR__CLI_LONG, &o.max_mib, 1, 4096 },
        { "--max-sync", GR__CLI_LONG, &o.max_sync, 1, 1000000 },
        { "--max-uploads", GR__CLI_LONG, &o.max_uploads, 1, 256 },
        { "--request-timeout", GR__CLI_SECS, &o.req_timeout, 0, 0 },
        { "--max-conns-per-ip", GR__CLI_LONG, &o.per_ip, 1, 1000000 },
        { "--max-connections", GR__CLI_LONG, &o.max_conns, 1, 1000000 },
        { NULL, GR__CLI_FLAG, NULL, 0, 0 },
    };
    if (gr__cli_parse("serve", argc, argv, own, &o.c, 1, serve_usage) < 0)
        return GR_CLI_USAGE;
    gr__cli_paths paths;
    int status = gr__cli_paths_init("serve", &o.c, &paths);
    if (status)
        return status;
    sigset_t set;
    gr__cli_signals(&set, 1);

    status = GR_CLI_FAILURE;
    gr__cli_stack st = { 0 };
    gr_sched_config scfg = {
        .data_dir = paths.data,
        .slots = (int)o.slots,
        .queue_max = (size_t)o.queue,
        .timeout_ns = (uint64_t)(o.c.timeout * 1e9),
        .max_pages =
          (uint32_t)(o.max_mib * 16 > 65536 ? 65536 : o.max_mib * 16),
        .max_input = (size_t)o.max_input,
        .max_output = (size_t)o.max_output,
        .max_module = (size_t)o.max_upload,
        .max_record_bytes = (size_t)o.max_record_bytes,
        .max_user_record_bytes = (size_t)o.max_user_record_bytes,
    };
    if (gr__cli_stack_start(&st, "serve", o.c.cache, o.c.redis, 1, &scfg) < 0)
        goto out;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long slots = o.slots ? o.slots : (cpus > 0 ? cpus : 1);
    const char* host = o.c.listen.host;
    gr_http_config hcfg = {
        .host = host,
        .port = (uint16_t)o.c.listen.port,
        .tokens_path = paths.tokens,
        .threads = (unsigned)(o.c.threads ? o.c.threads : 2 * slots),
        .max_input = (size_t)o.max_input,
        .max_upload = (size_t)o.max_upload,
        .idle_timeout_s =
          (unsigned)(o.idle > 0 ? (o.idle < 1 ? 1 : o.idle) : 0),
        .max_timeout_ns = (uint64_t)(o.max_timeout * 1e9),
        .max_sync = (unsigned)o.max_sync,
        .max_uploads = (unsigned)o.max_uploads,
        .request_timeout_s =
          (unsigned)(o.req_timeout > 0 ? (o.req_timeout < 1 ? 1 : o.req_timeout)
                                       : 0),
        .max_per_ip = (unsigned)o.per_ip,
        .max_connections = (unsigned)o.max_conns,
    };
    int port = gr__cli_stack_http(&st, "serve", &hcfg);
    if (port < 0)
        goto out;
    printf("granary: listening on http://%s%s%s:%d (data %s)\n",
           strchr(host, ':') ? "[" : "",
           host,
           strchr(host, ':') ? "]" : "",
           port,
           paths.data);
    fflush(stdout);
    gr__cli_write_port("serve", o.c.port_file, port);
    gr__cli_wait(&st, &set);
    status = GR_CLI_OK;
out:
    gr__cli_stack_stop(&st);
    return status;
}
