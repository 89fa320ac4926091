/* SPDX-License-Identifier: Apache-2.0 */
/* granary run: compile (or take from the cache) and run a WASI command
 * module with a sandboxed directory tree, propagating its exit status. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <granary/status.h>

#include "cli/cli.h"
#include "engine/engine.h"
#include "host/host.h"
#include "host/wasi/wasi.h"
#include "util/alloc.h"

#define MAX_DIRS 64

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
      "                       as GUEST (default: the same path); repeatable.\n"
      "                       Paths can never leave it.\n"
      "  --env KEY=VALUE      set a guest environment variable; repeatable\n"
      "  --max-memory MIB     cap the guest's linear memory (default 4096)\n"
      "  --cache DIR          object cache (default $GRANARY_CACHE or\n"
      "                       ~/.cache/granary)\n"
      "  -h, --help           show this help\n"
      "\n"
      "exit status: the guest's, or 125 if the module is invalid or fails\n"
      "to compile, 134 if the guest traps, 1 on other errors, 2 on usage.\n",
      f);
}

struct run_opts
{
    gr_wasi_preopen dirs[MAX_DIRS];
    size_t n_dirs;
    const char** env;
    size_t n_env;
    uint32_t max_pages;
    const char* cache;
    const char* file;
    const char** args; /* args[0] is the program name */
    size_t n_args;
};

/* Splits "HOST::GUEST" in place; a lone HOST maps to itself. */
static void
parse_dir(char* spec, gr_wasi_preopen* d)
{
    char* sep = strstr(spec, "::");
    d->host_path = spec;
    if (sep) {
        *sep = '\0';
        d->guest_path = sep + 2;
    } else {
        d->guest_path = spec;
    }
}

static int
parse_args(int argc, char** argv, struct run_opts* o)
{
    int i = 1;
    for (; i < argc; i++) {
        const char* a = argv[i];
        const char* val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            run_usage(stdout);
            exit(GR_CLI_OK);
        } else if (strcmp(a, "--dir") == 0 && val) {
            if (o->n_dirs == MAX_DIRS) {
                fprintf(stderr, "granary run: too many --dir options\n");
                return -1;
            }
            parse_dir(argv[++i], &o->dirs[o->n_dirs++]);
        } else if (strcmp(a, "--env") == 0 && val) {
            if (!strchr(val, '=')) {
                fprintf(stderr, "granary run: --env wants KEY=VALUE\n");
                return -1;
            }
            o->env[o->n_env++] = argv[++i];
        } else if (strcmp(a, "--max-memory") == 0 && val) {
            char* end;
            unsigned long mib = strtoul(argv[++i], &end, 10);
            if (*end || mib == 0 || mib > 4096) {
                fprintf(stderr, "granary run: --max-memory wants 1..4096\n");
                return -1;
            }
            o->max_pages = (uint32_t)(mib * 16);
        } else if (strcmp(a, "--cache") == 0 && val) {
            o->cache = argv[++i];
        } else if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (a[0] == '-' && a[1]) {
            fprintf(
              stderr, "granary run: unknown or incomplete option '%s'\n", a);
            return -1;
        } else {
            break;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "granary run: missing FILE.wasm\n");
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

int
gr_cli_run(int argc, char** argv)
{
    struct run_opts o = { 0 };
    o.env = gr_calloc((size_t)argc, sizeof *o.env);
    if (!o.env)
        return GR_CLI_FAILURE;
    if (parse_args(argc, argv, &o) < 0) {
        run_usage(stderr);
        gr_free(o.env);
        return GR_CLI_USAGE;
    }

    int status = GR_CLI_FAILURE;
    gr_engine* engine = NULL;
    gr_object* obj = NULL;
    gr_wasi* wasi = NULL;
    gr_instance* inst = NULL;
    char err[1024] = "";

    gr_engine_config ecfg = { .cache_dir = o.cache,
                              .import_check = gr_host_import_check,
                              .import_sig = gr_host_import_sig };
    int rc = gr_engine_create(&ecfg, &engine);
    if (rc) {
        fprintf(
          stderr, "granary run: cannot start engine: %s\n", gr_strerror(rc));
        goto out;
    }
    rc = gr_engine_load_file(engine, o.file, &obj, err, sizeof err);
    if (rc) {
        fprintf(stderr,
                "granary run: %s: %s\n",
                o.file,
                err[0] ? err : gr_strerror(rc));
        status = rc > -4000 ? GR_CLI_FAILURE : GR_CLI_BAD_MODULE;
        goto out;
    }
    void (*start)(void*) =
      (void (*)(void*))gr_object_export(obj, "_start", ">");
    if (!start) {
        fprintf(stderr,
                "granary run: %s has no _start export (a reactor module?); "
                "build it as a command\n",
                o.file);
        status = GR_CLI_BAD_MODULE;
        goto out;
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
    };
    rc = gr_wasi_create(&wcfg, &wasi);
    if (rc) {
        fprintf(
          stderr, "granary run: cannot set up WASI: %s\n", gr_strerror(rc));
        goto out;
    }
    gr_host_ctx host = { .wasi = wasi };
    gr_instance_config icfg = { .max_pages = o.max_pages, .host = &host };
    gr_trap trap;
    rc = gr_instance_create(obj, &icfg, &inst, &trap);
    if (rc == 0) {
        struct start_call c = { start, gr_instance_module(inst) };
        rc = gr_instance_call(inst, call_start, &c, &trap);
    }
    fflush(stdout);
    if (rc == 0) {
        status = 0;
    } else if (rc == GR_EEXIT) {
        status = trap.exit_code;
    } else if (rc == GR_ETRAP) {
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
    if (obj)
        gr_object_unref(obj);
    gr_engine_destroy(engine);
    gr_free(o.env);
    return status;
}
