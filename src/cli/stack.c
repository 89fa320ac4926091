/* SPDX-License-Identifier: Apache-2.0 */
/* Start-up and shutdown shared by the long-running commands: signals, the
 * data directory, engine + state + scheduler, the HTTP API, and the wait
 * for SIGINT/SIGTERM (token reloads meanwhile). */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <granary/status.h>

#include "cli/cli_int.h"
#include "engine/engine.h"
#include "host/host.h"
#include "http/http.h"
#include "http/tokens.h"
#include "sched/sched.h"
#include "state/state.h"
#include "util/fs.h"
#include "util/log.h"

void
gr__cli_signals(sigset_t* set, int hup)
{
    /* Every thread created from here on inherits this mask, so the
     * signals reach only sigtimedwait in gr__cli_wait. */
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    if (hup)
        sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int
gr__cli_paths_init(const char* prog,
                   const gr__cli_common* c,
                   gr__cli_paths* out)
{
    if (gr_http_data_dir(c->data, out->data, sizeof out->data) < 0) {
        fprintf(stderr, "granary %s: no data directory (use --data)\n", prog);
        return GR_CLI_USAGE;
    }
    if (gr_fs_mkdir_p(out->data) < 0) {
        fprintf(stderr,
                "granary %s: cannot create %s: %s\n",
                prog,
                out->data,
                strerror(errno));
        return GR_CLI_FAILURE;
    }
    if (c->tokens)
        snprintf(out->tokens, sizeof out->tokens, "%s", c->tokens);
    else
        snprintf(out->tokens, sizeof out->tokens, "%s/tokens", out->data);
    return 0;
}

int
gr__cli_stack_start(gr__cli_stack* st,
                    const char* prog,
                    const char* cache,
                    const char* redis,
                    int want_state,
                    struct gr_sched_config* scfg)
{
    char err[1024] = "";
    /* A long-running server: buffers of call outputs, inputs and modules
     * are mmapped and given back when freed, instead of glibc raising its
     * mmap threshold and keeping them in the heap, so that RSS follows what
     * is live (the records' byte bounds) rather than past peaks. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    gr_engine_config ecfg = { .cache_dir = cache,
                              .import_check = gr_host_import_check,
                              .import_sig = gr_host_import_sig };
    int rc = gr_engine_create(&ecfg, &st->engine);
    if (rc) {
        fprintf(stderr,
                "granary %s: cannot start engine: %s\n",
                prog,
                gr_strerror(rc));
        return -1;
    }
    if (redis || want_state) {
        /* Embedded values are kept under the data folder. */
        gr_state_config stc = { .redis = redis, .dir = scfg->data_dir };
        if ((rc = gr_state_create(&stc, &st->state, err, sizeof err))) {
            fprintf(stderr,
                    "granary %s: cannot start the state service%s%s%s: %s\n",
                    prog,
                    redis ? " (redis " : "",
                    redis ? redis : "",
                    redis ? ")" : "",
                    err[0] ? err : gr_strerror(rc));
            return -1;
        }
    }
    scfg->engine = st->engine;
    scfg->state = st->state;
    if ((rc = gr_sched_create(scfg, &st->sched))) {
        fprintf(stderr,
                "granary %s: cannot start scheduler: %s\n",
                prog,
                gr_strerror(rc));
        return -1;
    }
    return 0;
}

int
gr__cli_stack_http(gr__cli_stack* st,
                   const char* prog,
                   struct gr_http_config* hcfg)
{
    char err[1024] = "";
    hcfg->sched = st->sched;
    hcfg->state = st->state;
    int rc = gr_http_server_start(hcfg, &st->http, err, sizeof err);
    if (rc) {
        fprintf(
          stderr, "granary %s: %s\n", prog, err[0] ? err : gr_strerror(rc));
        return -1;
    }
    return (int)gr_http_server_port(st->http);
}

void
gr__cli_write_port(const char* prog, const char* path, int port)
{
    if (!path)
        return;
    char text[16];
    int n = snprintf(text, sizeof text, "%d\n", port);
    if (gr_fs_write_atomic(path, text, (size_t)n) < 0)
        fprintf(stderr, "granary %s: cannot write %s\n", prog, path);
}

void
gr__cli_wait(gr__cli_stack* st, const sigset_t* set)
{
    for (;;) {
        struct timespec tick = { .tv_sec = 1 };
        int sig = sigtimedwait(set, NULL, &tick);
        if (sig == SIGINT || sig == SIGTERM) {
            GR_INFO("%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
            return;
        }
        if (!st->http)
            continue;
        char err[1024] = "";
        int rc = gr_http_server_reload_tokens(
          st->http, sig == SIGHUP, err, sizeof err);
        if (rc < 0)
            GR_WARN("token file not reloaded: %s",
                    err[0] ? err : gr_strerror(rc));
        else if (rc > 0)
            GR_INFO("token file reloaded");
    }
}

void
gr__cli_stack_stop(gr__cli_stack* st)
{
    gr_http_server_stop(st->http);
    gr_sched_destroy(st->sched);
    gr_state_destroy(st->state);
    gr_engine_destroy(st->engine);
    *st = (gr__cli_stack){ 0 };
}
