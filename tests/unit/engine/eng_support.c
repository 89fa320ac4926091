/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the engine tests (see eng_support.h). */
#include <limits.h>
#include <stdio.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "eng_support.h"

gr_engine*
eng_engine(const gr_engine_config* base, const char* cache_dir)
{
    gr_engine_config cfg = base ? *base : (gr_engine_config){ 0 };
    if (!cfg.cache_dir)
        cfg.cache_dir = cache_dir;
    gr_engine* e;
    assert_int_equal(gr_engine_create(&cfg, &e), 0);
    return e;
}

gr_object*
eng_load_guest(gr_engine* e, const char* name)
{
    char path[PATH_MAX], err[512] = "";
    snprintf(path, sizeof path, "%s/%s.wasm", GRANARY_GUEST_DIR, name);
    gr_object* o = NULL;
    int rc = gr_engine_load_file(e, path, &o, err, sizeof err);
    if (rc)
        fail_msg("load %s: %s", name, err);
    return o;
}

struct eng_call
{
    wasm_rt_function_ptr_t fn;
    void* module;
    int nargs;
    uint32_t a, b, ret;
};

static void
eng_do_call(void* p)
{
    struct eng_call* c = p;
    if (c->nargs == 0)
        c->ret = ((uint32_t(*)(void*))c->fn)(c->module);
    else if (c->nargs == 1)
        c->ret = ((uint32_t(*)(void*, uint32_t))c->fn)(c->module, c->a);
    else
        c->ret = ((uint32_t(*)(void*, uint32_t, uint32_t))c->fn)(
          c->module, c->a, c->b);
}

int
eng_call(gr_instance* in,
         const char* name,
         int nargs,
         uint32_t a,
         uint32_t b,
         uint32_t* ret,
         gr_trap* t,
         uint64_t timeout_ns)
{
    static const char* sigs[] = { ">i", "i>i", "ii>i" };
    struct eng_call c = { 0 };
    c.fn = gr_object_export(gr_instance_object(in), name, sigs[nargs]);
    if (!c.fn)
        fail_msg("no export %s", name);
    c.module = gr_instance_module(in);
    c.nargs = nargs;
    c.a = a;
    c.b = b;
    int rc = gr_instance_call_timeout(in, eng_do_call, &c, t, timeout_ns);
    if (ret)
        *ret = c.ret;
    return rc;
}
