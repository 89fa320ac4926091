/* SPDX-License-Identifier: Apache-2.0 */
/* bench_compute's wasm side through Granary's engine: load (Granary's own
 * wasm -> C compiler + cc, cached), instantiate, call _initialize, then
 * run_kernel under gr_rt_call. Always the granary backend: SIMD modules
 * need it. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/engine.h"
#include "granary/status.h"
#include "wasm_side.h"

typedef void (*init_fn)(void*);
typedef uint32_t (*kernel_fn)(void*, uint32_t, uint32_t);

struct wasm_side
{
    gr_engine* engine;
    gr_object* object;
    gr_instance* instance;
    kernel_fn run;
};

struct call
{
    struct wasm_side* w;
    init_fn init;
    uint32_t which, reps, result;
};

static void
do_init(void* arg)
{
    struct call* c = arg;
    c->init(gr_instance_module(c->w->instance));
}

static void
do_run(void* arg)
{
    struct call* c = arg;
    c->result =
      c->w->run(gr_instance_module(c->w->instance), c->which, c->reps);
}

const char*
wasm_side_name(void)
{
    return "Granary engine (granary backend, guard pages unless "
           "GRANARY_BOUNDS_CHECKS=1)";
}

int
wasm_side_open(const char* path, wasm_side** out, char* err, size_t errlen)
{
    struct wasm_side* w = calloc(1, sizeof *w);
    gr_trap trap = { 0 };
    int rc;
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    gr_engine_config cfg = { .backend = GR_ENGINE_GRANARY };
    rc = gr_engine_create(&cfg, &w->engine);
    if (rc < 0) {
        snprintf(err, errlen, "engine: %s", gr_strerror(rc));
        goto fail;
    }
    rc = gr_engine_load_file(w->engine, path, &w->object, err, errlen);
    if (rc < 0)
        goto fail;
    w->run = (kernel_fn)gr_object_export(w->object, "run_kernel", "ii>i");
    if (!w->run) {
        snprintf(err, errlen, "no export run_kernel (i32, i32) -> i32");
        rc = -ENOENT;
        goto fail;
    }
    rc = gr_instance_create(w->object, NULL, &w->instance, &trap);
    if (rc < 0) {
        snprintf(err, errlen, "instantiate: %s", gr_strerror(rc));
        goto fail;
    }
    struct call c = { .w = w };
    c.init = (init_fn)gr_object_export(w->object, "_initialize", ">");
    if (c.init) {
        rc = gr_rt_call(do_init, &c, &trap);
        if (rc < 0) {
            snprintf(err, errlen, "_initialize: %s", gr_trap_name(trap.kind));
            goto fail;
        }
    }
    *out = w;
    return 0;
fail:
    wasm_side_close(w);
    return rc;
}

int
wasm_side_run(wasm_side* w,
              int which,
              int reps,
              int* result,
              char* err,
              size_t errlen)
{
    struct call c = { .w = w,
                      .which = (uint32_t)which,
                      .reps = (uint32_t)reps };
    gr_trap trap = { 0 };
    int rc = gr_rt_call(do_run, &c, &trap);
    if (rc < 0) {
        snprintf(err, errlen, "trap: %s", gr_trap_name(trap.kind));
        return rc;
    }
    *result = (int)c.result;
    return 0;
}

void
wasm_side_close(wasm_side* w)
{
    if (!w)
        return;
    gr_instance_destroy(w->instance);
    if (w->object)
        gr_object_unref(w->object);
    gr_engine_destroy(w->engine);
    free(w);
}
