/* SPDX-License-Identifier: Apache-2.0 */
/* The granary backend of the engine (Granary's own wasm -> C generator):
 * selection and cache key, host imports with the instance as context,
 * traps through the engine's frames, deadlines on a spinning guest, both
 * memory strategies, and snapshot images (globals, memory, tables). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "granary/status.h"
#include "util/fs.h"
#include "wasm/wrt.h"

/* A private object cache (a new temporary folder, removed at the end). */
static char cache_dir[] = "/tmp/granary-test-backend.XXXXXX";
#define CACHE cache_dir

/* The host function the guest imports as test.add: records its context. */
static void* last_ctx;
uint32_t Z_testZ_add(void* ctx, uint32_t a, uint32_t b);
uint32_t
Z_testZ_add(void* ctx, uint32_t a, uint32_t b)
{
    last_ctx = ctx;
    return a + b;
}

struct call
{
    wasm_rt_function_ptr_t fn;
    void* module;
    int nargs;
    uint32_t a, b, ret;
};

static void
do_call(void* p)
{
    struct call* c = p;
    if (c->nargs == 0)
        c->ret = ((uint32_t(*)(void*))c->fn)(c->module);
    else if (c->nargs == 1)
        c->ret = ((uint32_t(*)(void*, uint32_t))c->fn)(c->module, c->a);
    else
        c->ret = ((uint32_t(*)(void*, uint32_t, uint32_t))c->fn)(
          c->module, c->a, c->b);
}

/* Calls export name with nargs i32 arguments; returns the gr_instance_call
 * code, the result in *ret and the trap in *t. */
static int
call(gr_instance* in,
     const char* name,
     int nargs,
     uint32_t a,
     uint32_t b,
     uint32_t* ret,
     gr_trap* t,
     uint64_t timeout_ns)
{
    static const char* sigs[] = { ">i", "i>i", "ii>i" };
    struct call c = { 0 };
    c.fn = gr_object_export(gr_instance_object(in), name, sigs[nargs]);
    assert_non_null(c.fn);
    c.module = gr_instance_module(in);
    c.nargs = nargs;
    c.a = a;
    c.b = b;
    int rc = gr_instance_call_timeout(in, do_call, &c, t, timeout_ns);
    if (ret)
        *ret = c.ret;
    return rc;
}

static uint32_t
call_ok(gr_instance* in, const char* name, int nargs, uint32_t a, uint32_t b)
{
    uint32_t r;
    gr_trap t;
    int rc = call(in, name, nargs, a, b, &r, &t, 0);
    if (rc)
        fail_msg("%s trapped: %s", name, gr_trap_name(t.kind));
    return r;
}

static gr_engine*
make_engine(void)
{
    gr_engine_config cfg = { .backend = GR_ENGINE_GRANARY, .cache_dir = CACHE };
    gr_engine* e;
    assert_int_equal(gr_engine_create(&cfg, &e), 0);
    assert_int_equal(gr_engine_backend(e), GR_ENGINE_GRANARY);
    return e;
}

static gr_object*
load(gr_engine* e, const char* name)
{
    char path[PATH_MAX], err[512] = "";
    snprintf(path, sizeof path, "%s/%s.wasm", GRANARY_GUEST_DIR, name);
    gr_object* o = NULL;
    int rc = gr_engine_load_file(e, path, &o, err, sizeof err);
    if (rc)
        fail_msg("load %s: %s", name, err);
    return o;
}

/* The meta file of the object's cache entry contains want. */
static int
meta_says(const gr_object* o, const char* want)
{
    char cmd[PATH_MAX + 128];
    snprintf(cmd,
             sizeof cmd,
             "grep -q '%s' %s/objects/%s-w*/meta",
             want,
             CACHE,
             gr_object_hash(o));
    return system(cmd) == 0;
}

static void
test_selection(void** state)
{
    (void)state;
    gr_engine* e;
    setenv("GRANARY_ENGINE", "bogus", 1);
    assert_int_equal(gr_engine_create(NULL, &e), -EINVAL);
    setenv("GRANARY_ENGINE", "granary", 1);
    gr_engine_config cfg = { .cache_dir = CACHE };
    assert_int_equal(gr_engine_create(&cfg, &e), 0);
    assert_int_equal(gr_engine_backend(e), GR_ENGINE_GRANARY);
    gr_engine_destroy(e);
    setenv("GRANARY_ENGINE", "wasm2c", 1);
    assert_int_equal(gr_engine_create(&cfg, &e), 0);
    assert_int_equal(gr_engine_backend(e), GR_ENGINE_WASM2C);
    gr_engine_destroy(e);
    unsetenv("GRANARY_ENGINE");
    assert_int_equal(gr_engine_create(&cfg, &e), 0);
    assert_int_equal(gr_engine_backend(e), GR_ENGINE_WASM2C);
    /* The backend is part of the cache key: a wasm2c object of the same
     * module is another entry ("a..." beside "w..."). */
    gr_object* o = load(e, "eng_backend");
    gr_engine_destroy(e);
    e = make_engine();
    gr_object* g = load(e, "eng_backend");
    char cmd[PATH_MAX + 128];
    snprintf(cmd,
             sizeof cmd,
             "test -d %s/objects/%s-w%ua-* && ls -d %s/objects/%s-a*",
             CACHE,
             gr_object_hash(g),
             (unsigned)WRT_ABI_VERSION,
             CACHE,
             gr_object_hash(g));
    assert_int_equal(system(cmd), 0);
    gr_object_unref(o);
    gr_object_unref(g);
    gr_engine_destroy(e);
}

static void
check_traps(gr_instance* in)
{
    uint32_t r;
    gr_trap t;
    assert_int_equal(call(in, "div", 1, 0, 0, &r, &t, 0), GR_ETRAP);
    assert_int_equal(t.kind, GR_TRAP_DIV_BY_ZERO);
    assert_int_equal(call(in, "load", 1, 0xfffffff0u, 0, &r, &t, 0), GR_ETRAP);
    assert_int_equal(t.kind, GR_TRAP_OOB);
    assert_int_equal(call(in, "load", 1, 65533, 0, &r, &t, 0), GR_ETRAP);
    assert_int_equal(t.kind, GR_TRAP_OOB);
    assert_int_equal(call(in, "unreachable", 0, 0, 0, &r, &t, 0), GR_ETRAP);
    assert_int_equal(t.kind, GR_TRAP_UNREACHABLE);
    assert_int_equal(call(in, "callt", 1, 5, 0, &r, &t, 0), GR_ETRAP);
    assert_int_equal(t.kind, GR_TRAP_CALL_INDIRECT);
    assert_int_equal(call(in, "deep", 1, 0, 0, &r, &t, 0), GR_ETRAP);
    assert_int_equal(t.kind, GR_TRAP_EXHAUSTION);
    /* The instance still works after every trap, and call depth was
     * restored (deep traps again at the same depth, not at once). */
    assert_int_equal(call_ok(in, "div", 1, 1, 0), 1);
    assert_int_equal(call(in, "deep", 1, 0, 0, &r, &t, 0), GR_ETRAP);
    assert_int_equal(t.kind, GR_TRAP_EXHAUSTION);
    assert_int_equal(call_ok(in, "add", 2, 2, 3), 5);
}

static void
test_imports_traps_strategies(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_engine* e = make_engine();
    const char* guests[] = { "eng_backend", "eng_backend_small" };
    for (int i = 0; i < 2; i++) {
        gr_object* o = load(e, guests[i]);
        assert_true(meta_says(o, i ? "memory bounds-checks" : "memory guard-"));
        gr_instance* in;
        gr_trap t;
        assert_int_equal(gr_instance_create(o, NULL, &in, &t), 0);
        last_ctx = NULL;
        assert_int_equal(call_ok(in, "add", 2, 40, 2), 42);
        assert_ptr_equal(last_ctx, in);
        assert_ptr_equal(gr_instance_from_import(last_ctx), in);
        assert_int_equal(call_ok(in, "callt", 1, 1, 0), 42);
        assert_int_equal(call_ok(in, "callt", 1, 0, 0), 7);
        check_traps(in);
        /* Host functions see the memory generated code writes. */
        assert_int_equal(call_ok(in, "store", 2, 100, 0xabcd), 0);
        wasm_rt_memory_t* m = gr_instance_memory(in);
        assert_non_null(m);
        assert_int_equal(m->pages, 1);
        uint32_t v;
        memcpy(&v, m->data + 100, 4);
        assert_int_equal(v, 0xabcd);
        gr_instance_destroy(in);
        gr_object_unref(o);
    }
    gr_engine_destroy(e);
}

static void
test_spinning_guest_times_out(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_engine* e = make_engine();
    gr_object* o = load(e, "eng_backend");
    gr_instance* in;
    gr_trap t;
    assert_int_equal(gr_instance_create(o, NULL, &in, &t), 0);
    uint32_t r;
    assert_int_equal(call(in, "spin", 0, 0, 0, &r, &t, 50 * 1000000ull),
                     GR_ETRAP);
    assert_int_equal(t.kind, GR_TRAP_TIMEOUT);
    assert_int_equal(call_ok(in, "add", 2, 1, 1), 2);
    gr_instance_destroy(in);
    gr_object_unref(o);
    gr_engine_destroy(e);
}

static int
memfd_of(const wasm_rt_memory_t* m)
{
    int fd = memfd_create("test-backend", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)m->size), 0);
    assert_int_equal(pwrite(fd, m->data, m->size, 0), (ssize_t)m->size);
    return fd;
}

static void
test_images(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_engine* e = make_engine();
    gr_object* o = load(e, "eng_backend");
    gr_instance* in;
    gr_trap t;
    assert_int_equal(gr_instance_create(o, NULL, &in, &t), 0);
    assert_int_equal(call_ok(in, "set", 1, 42, 0), 0);
    assert_int_equal(call_ok(in, "store", 2, 64, 1234), 0);
    gr_instance_image* img;
    assert_int_equal(gr_instance_image_take(in, &img), 0);
    int fd = memfd_of(gr_instance_memory(in));
    uint32_t pages = gr_instance_memory(in)->pages;
    /* The original goes away: the image must not depend on it. */
    gr_instance_destroy(in);

    gr_instance *a, *b;
    assert_int_equal(gr_instance_create_from_image(o, img, fd, pages, NULL, &a),
                     0);
    assert_int_equal(gr_instance_create_from_image(o, img, fd, pages, NULL, &b),
                     0);
    assert_int_equal(call_ok(a, "get", 0, 0, 0), 42);
    assert_int_equal(call_ok(a, "load", 1, 64, 0), 1234);
    /* Table entries and imports belong to each restored instance. */
    last_ctx = NULL;
    assert_int_equal(call_ok(a, "callt", 1, 1, 0), 42);
    assert_ptr_equal(last_ctx, a);
    assert_int_equal(call_ok(b, "callt", 1, 1, 0), 42);
    assert_ptr_equal(last_ctx, b);
    /* Instances are independent. */
    assert_int_equal(call_ok(a, "set", 1, 5, 0), 0);
    assert_int_equal(call_ok(a, "store", 2, 64, 99), 0);
    assert_int_equal(call_ok(b, "get", 0, 0, 0), 42);
    assert_int_equal(call_ok(b, "load", 1, 64, 0), 1234);
    check_traps(b);
    /* Reset puts a back into the image's state. */
    assert_int_equal(gr_instance_reset_to_image(a, img, fd, pages, NULL, 0), 0);
    assert_int_equal(call_ok(a, "get", 0, 0, 0), 42);
    assert_int_equal(call_ok(a, "load", 1, 64, 0), 1234);
    assert_int_equal(call_ok(a, "callt", 1, 1, 0), 42);
    assert_ptr_equal(last_ctx, a);
    gr_instance_destroy(a);
    gr_instance_destroy(b);
    gr_instance_image_destroy(img);
    close(fd);
    gr_object_unref(o);
    gr_engine_destroy(e);
}

int
main(void)
{
    if (!mkdtemp(cache_dir)) {
        perror("test_backend: mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selection),
        cmocka_unit_test(test_imports_traps_strategies),
        cmocka_unit_test(test_spinning_guest_times_out),
        cmocka_unit_test(test_images),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    gr_fs_remove_tree(cache_dir);
    return failed;
}
