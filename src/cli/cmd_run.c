/* SPDX-License-Identifier: Apache-2.0 */
/* granary run: compile (or take from the cache) and run a WASI command
 * module with a sandboxed directory tree, propagating its exit status. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <granary/status.h>

#include "cli/cli.h"
#include "cli/cli_int.h"
#include "engine/engine.h"
#include "engine/rt.h"
#include "host/host.h"
#include "host/threads.h"
#include "host/wasi/wasi.h"
#include "util/alloc.h"

static void
run_usage(FILE* f)
{
    fputs(
      "usage: granary run [options] FILE.wasm [--] [ARGS...]\n"
      "\n"
      "Compiles FILE.wasm to native code (cached by content hash) and runs\n"
      "its _start as a WASI command. The exit status is the guest's.\n"
      "\n"
      "options:\n"
      "  --dir HOST[::GUEST]  make host directory HOST visible to the guest\n"
      "                       as GUEST (default: HOST as written, so\n"
      "                       --dir . is the current folder as \".\");\n"
      "                       repeatable. Paths can never leave it.\n"
      "  --tcplisten HOST:PORT\n"
      "                       listen on HOST:PORT (TCP) before the guest\n"
      "                       starts and pass the socket to it as the\n"
      "                       descriptor after the --dir ones, for\n"
      "                       accept(); repeatable\n"
      "  --env KEY=VALUE      set a guest environment variable; repeatable\n"
      "  --timeout DURATION   stop the guest after DURATION (seconds, or\n"
      "                       with a unit: 100ms, 2s, 1m, 1h); default none\n"
      "  --max-memory MIB     cap the guest's linear memory (default 4096)\n"
      "  --cache DIR          object cache (default $GRANARY_CACHE or\n"
      "                       ~/.cache/granary)\n"
      "  -h, --help           show this help\n"
      "\n"
      "exit status: the guest's, or 125 if the module is invalid or fails\n"
      "to compile, 134 if the guest traps or runs past --timeout (trap\n"
      "\"timeout\"), 1 on other errors, 2 on usage.\n",
      f);
}

/* Splits "HOST::GUEST" in place; a lone HOST is visible under the same
 * name, as written (wasmtime's convention: --dir . is "."). */
static int
parse_dir(const char* cmd, char* spec, gr_wasi_preopen* d)
{
    char* sep = strstr(spec, "::");
    d->host_path = spec;
    d->guest_path = spec;
    if (sep) {
        *sep = '\0';
        d->guest_path = sep + 2;
    }
    if (!d->host_path[0] || !d->guest_path[0]) {
        if (sep)
            *sep = ':';
        fprintf(stderr,
                "granary %s: --dir '%s': wants HOST or HOST::GUEST, both "
                "non-empty\n",
                cmd,
                spec);
        return -1;
    }
    return 0;
}

int
gr__cli_run_parse(int argc, char** argv, gr__cli_run_opts* o)
{
    const char* cmd = o->cmd;
    int i = 1;
    for (; i < argc; i++) {
        const char* a = argv[i];
        const char* val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            o->usage(stdout);
            exit(GR_CLI_OK);
        } else if (o->mpi && strcmp(a, "-np") == 0 && val) {
            char* end;
            long np = strtol(argv[++i], &end, 10);
            if (*end || np < 1 || np > o->max_np) {
                fprintf(stderr,
                        "granary %s: -np wants 1..%ld\n",
                        cmd,
                        (long)o->max_np);
                return -1;
            }
            o->np = (int)np;
        } else if (strcmp(a, "--dir") == 0 && val) {
            if (o->n_dirs == GR__CLI_MAX_DIRS) {
                fprintf(stderr, "granary %s: too many --dir options\n", cmd);
                return -1;
            }
            if (parse_dir(cmd, argv[++i], &o->dirs[o->n_dirs++]) < 0)
                return -1;
        } else if (!o->mpi && strcmp(a, "--tcplisten") == 0 && val) {
            gr__cli_listen l;
            if (o->n_listen == GR__CLI_MAX_LISTEN) {
                fprintf(stderr, "granary run: too many --tcplisten options\n");
                return -1;
            }
            if (gr__cli_parse_listen(val, &l) < 0) {
                fprintf(stderr,
                        "granary run: --tcplisten '%s': wants HOST:PORT\n",
                        val);
                return -1;
            }
            o->listen[o->n_listen++] = argv[++i];
        } else if (strcmp(a, "--env") == 0 && val) {
            if (!strchr(val, '=')) {
                fprintf(stderr, "granary %s: --env wants KEY=VALUE\n", cmd);
                return -1;
            }
            o->env[o->n_env++] = argv[++i];
        } else if (strcmp(a, "--timeout") == 0 && val) {
            double secs;
            if (gr__cli_parse_secs(val, &secs) < 0) {
                fprintf(stderr,
                        "granary %s: --timeout '%s': wants a duration such "
                        "as 100ms, 2s or 1m\n",
                        cmd,
                        val);
                return -1;
            }
            o->timeout_ns = (uint64_t)(secs * 1e9 + 0.5);
            i++;
        } else if (strcmp(a, "--max-memory") == 0 && val) {
            char* end;
            unsigned long mib = strtoul(argv[++i], &end, 10);
            if (*end || mib == 0 || mib > 4096) {
                fprintf(
                  stderr, "granary %s: --max-memory wants 1..4096\n", cmd);
                return -1;
            }
            o->max_pages = (uint32_t)(mib * 16);
        } else if (strcmp(a, "--cache") == 0 && val) {
            o->cache = argv[++i];
        } else if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr,
                    "granary %s: unknown or incomplete option '%s'\n",
                    cmd,
                    a);
            return -1;
        } else {
            break;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "granary %s: missing FILE.wasm\n", cmd);
        return -1;
    }
    o->file = argv[i];
    o->args = (const char**)argv + i;
    o->n_args = (size_t)(argc - i);
    /* wasmtime-style: "--" after the file separates guest args too */
    if (o->n_args > 1 && strcmp(o->args[1], "--") == 0) {
        o->args[1] = o->args[0];
        o->args++;
        o->n_args--;
    }
    return 0;
}

/* Checks every --dir host folder up front, so that an error names the
 * option and the path (gr_wasi_create only says what failed). */
int
gr__cli_run_check_dirs(const gr__cli_run_opts* o)
{
    for (size_t i = 0; i < o->n_dirs; i++) {
        int fd = open(o->dirs[i].host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr,
                    "granary %s: --dir %s: %s\n",
                    o->cmd,
                    o->dirs[i].host_path,
                    strerror(errno));
            return -1;
        }
        close(fd);
    }
    return 0;
}

/* Checks the --dir folders, starts an engine, loads o->file and finds its
 * _start: the first steps of run and mpirun. Returns GR_CLI_OK, or the exit
 * status after saying why (*engine and *obj may be set: the caller frees
 * them). */
int
gr__cli_run_load(const gr__cli_run_opts* o,
                 gr_engine** engine,
                 gr_object** obj,
                 void (**start)(void*))
{
    char err[1024] = "";
    if (gr__cli_run_check_dirs(o) < 0)
        return GR_CLI_FAILURE;
    gr_engine_config ecfg = { .cache_dir = o->cache,
                              .import_check = gr_host_import_check,
                              .import_sig = gr_host_import_sig };
    int rc = gr_engine_create(&ecfg, engine);
    if (rc) {
        fprintf(stderr,
                "granary %s: cannot start engine: %s\n",
                o->cmd,
                gr_strerror(rc));
        return GR_CLI_FAILURE;
    }
    rc = gr_engine_load_file(*engine, o->file, obj, err, sizeof err);
    if (rc) {
        fprintf(stderr,
                "granary %s: %s: %s\n",
                o->cmd,
                o->file,
                err[0] ? err : gr_strerror(rc));
        return rc > -4000 ? GR_CLI_FAILURE : GR_CLI_BAD_MODULE;
    }
    *start = (void (*)(void*))gr_object_export(*obj, "_start", ">");
    if (!*start) {
        fprintf(stderr,
                "granary %s: %s has no _start export (a reactor module?); "
                "build it as a command\n",
                o->cmd,
                o->file);
        return GR_CLI_BAD_MODULE;
    }
    return GR_CLI_OK;
}

/* Binds and listens on spec (HOST:PORT, already checked by parse_args).
 * Returns the socket, or -1 after saying why. */
static int
open_listener(const char* spec)
{
    gr__cli_listen l;
    if (gr__cli_parse_listen(spec, &l) < 0)
        return -1;
    char port[8];
    snprintf(port, sizeof port, "%u", l.port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo* res = NULL;
    int gai = getaddrinfo(l.host[0] ? l.host : NULL, port, &hints, &res);
    if (gai) {
        fprintf(
          stderr, "granary run: --tcplisten %s: %s\n", spec, gai_strerror(gai));
        return -1;
    }
    int fd = -1, err = EADDRNOTAVAIL;
    for (struct addrinfo* ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
            listen(fd, SOMAXCONN) < 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        fprintf(stderr,
                "granary run: --tcplisten %s: cannot listen: %s\n",
                spec,
                strerror(err));
    return fd;
}

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

/* Instantiation and _start as one guest run, so that --timeout covers
 * both (a start function or data initialisation may loop too). */
struct guest_run
{
    gr_object* obj;
    const gr_instance_config* icfg;
    void (*start)(void*);
    gr_instance* inst;
    int rc;
    gr_trap trap;
};

static void
run_guest(void* p)
{
    struct guest_run* g = p;
    g->rc = gr_instance_create(g->obj, g->icfg, &g->inst, &g->trap);
    if (g->rc == 0) {
        struct start_call c = { g->start, gr_instance_module(g->inst) };
        g->rc = gr_instance_call(g->inst, call_start, &c, &g->trap);
    }
}

int
gr_cli_run(int argc, char** argv)
{
    gr__cli_run_opts o = { .cmd = "run", .usage = run_usage };
    o.env = gr_calloc((size_t)argc, sizeof *o.env);
    if (!o.env)
        return GR_CLI_FAILURE;
    if (gr__cli_run_parse(argc, argv, &o) < 0) {
        run_usage(stderr);
        gr_free(o.env);
        return GR_CLI_USAGE;
    }

    int status = GR_CLI_FAILURE;
    gr_engine* engine = NULL;
    gr_object* obj = NULL;
    gr_wasi* wasi = NULL;
    gr_instance* inst = NULL;
    int listen_fds[GR__CLI_MAX_LISTEN];
    size_t n_listen = 0;

    void (*start)(void*) = NULL;
    if ((status = gr__cli_run_load(&o, &engine, &obj, &start)) != GR_CLI_OK)
        goto out;
    status = GR_CLI_FAILURE;
    int rc;
    for (size_t i = 0; i < o.n_listen; i++) {
        if ((listen_fds[i] = open_listener(o.listen[i])) < 0)
            goto out;
        n_listen++;
    }
    gr_wasi_config wcfg = {
        .argc = o.n_args,
        .argv = o.args,
        .envc = o.n_env,
        .envp = o.env,
        .n_preopens = o.n_dirs,
        .preopens = o.dirs,
        .stdin_fd = 0,
        .out = { .host_fd = 1 },
        .err = { .host_fd = 2 },
        .n_listen_fds = n_listen,
        .listen_fds = listen_fds,
    };
    rc = gr_wasi_create(&wcfg, &wasi);
    if (rc) {
        fprintf(
          stderr, "granary run: cannot set up WASI: %s\n", gr_strerror(rc));
        goto out;
    }
    gr_host_ctx host = { .wasi = wasi };
    gr_instance_config icfg = { .max_pages = o.max_pages, .host = &host };
    struct guest_run g = { .obj = obj, .icfg = &icfg, .start = start };
    gr_trap trap;
    /* Threaded modules always run with a deadline (threads can only be
     * stopped inside one). */
    uint64_t timeout = gr_threads_call_timeout(obj, o.timeout_ns);
    if (timeout) {
        rc = gr_rt_call_timeout(run_guest, &g, &trap, timeout);
        if (rc == 0) {
            rc = g.rc;
            trap = g.trap;
        }
    } else {
        run_guest(&g);
        rc = g.rc;
        trap = g.trap;
    }
    uint32_t thread = 0;
    gr_threads_end(&host, &rc, &trap, &thread);
    inst = g.inst;
    fflush(stdout);
    if (rc == 0) {
        status = 0;
    } else if (rc == GR_EEXIT) {
        status = trap.exit_code;
    } else if (rc == GR_ETRAP) {
        if (thread)
            fprintf(stderr,
                    "granary run: %s: wasm trap in thread %u: %s\n",
                    o.file,
                    thread,
                    gr_trap_name(trap.kind));
        else
            fprintf(stderr,
                    "granary run: %s: wasm trap: %s\n",
                    o.file,
                    gr_trap_name(trap.kind));
        status = GR_CLI_TRAP;
    } else {
        fprintf(stderr, "granary run: %s: %s\n", o.file, gr_strerror(rc));
    }
out:
    gr_instance_destroy(inst);
    gr_wasi_destroy(wasi);
    for (size_t i = 0; i < n_listen; i++)
        close(listen_fds[i]);
    if (obj)
        gr_object_unref(obj);
    gr_engine_destroy(engine);
    gr_free(o.env);
    return status;
}
