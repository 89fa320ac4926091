/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP API server (docs/api.md): libmicrohttpd with an internal thread
 * pool in front of the scheduler. Functions, invocations (sync and async),
 * call records, health and metrics, with bearer-token tenants. */
#ifndef GR_HTTP_HTTP_H
#define GR_HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "sched/sched.h"

typedef struct gr_http_server gr_http_server;

struct gr_state;

typedef struct gr_http_config
{
    gr_sched* sched;          /* borrowed, required; outlives the server */
    const char* host;         /* listen address; NULL = "127.0.0.1" */
    uint16_t port;            /* 0 = any free port (see gr_http_server_port) */
    const char* tokens_path;  /* token file (tokens.h); required */
    unsigned threads;         /* MHD worker threads; 0 = 2 x CPUs */
    size_t max_input;         /* invoke body bytes; 0 = 16 MiB */
    size_t max_upload;        /* module bytes; 0 = 64 MiB */
    unsigned idle_timeout_s;  /* idle connection timeout; 0 = 30 s */
    uint64_t max_timeout_ns;  /* cap on ?timeout= per call; 0 = none */
    unsigned max_connections; /* 0 = 4096 */
    struct gr_state* state;   /* shared state for /s/; NULL = 503 there */
    size_t max_state;         /* PUT /s/ body bytes; 0 = 64 MiB */
    /* Synchronous calls running or waiting for a slot at once; more get
     * 429 at once. 0 = 2 x the scheduler's slots. */
    unsigned max_sync;
    /* Uploads (compile + start function) in flight at once, each on an
     * upload thread; more get 429. 0 = 2. */
    unsigned max_uploads;
    /* A request's headers must arrive within this many seconds of the
     * connection opening (or of the previous answer on it), and its body
     * within this plus one second per 64 KiB; else the connection is
     * closed. 0 = 10 s. */
    unsigned request_timeout_s;
    /* Open connections per client address, loopback included (MHD closes
     * extra ones at once). 0 = 64. */
    unsigned max_per_ip;
} gr_http_config;

/* Loads the token file and starts serving. Returns 0, -EINVAL (bad
 * config or token file; message in err), -EADDRINUSE or another -errno
 * when the socket cannot be bound. *out owned by the caller. */
int gr_http_server_start(const gr_http_config* cfg,
                         gr_http_server** out,
                         char* err,
                         size_t errlen);

/* The port actually bound (useful with port 0). */
uint16_t gr_http_server_port(const gr_http_server* srv);

/* Re-reads the token file; on error keeps the current tokens and returns
 * the error (message in err). Returns 1 if the file changed and was
 * reloaded, 0 if it was unchanged (same mtime and size) and force is 0.
 * Safe to call from any thread while serving. */
int gr_http_server_reload_tokens(gr_http_server* srv,
                                 int force,
                                 char* err,
                                 size_t errlen);

/* Stops accepting connections, waits for running handlers and frees the
 * server. NULL is fine. */
void gr_http_server_stop(gr_http_server* srv);

#endif
