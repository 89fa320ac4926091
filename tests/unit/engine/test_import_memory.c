/* SPDX-License-Identifier: Apache-2.0 */
/* Modules that import their memory from "env" (wasm-ld --import-memory,
 * wasi-threads): the host creates it from the import's limits as it would
 * a defined memory (data segments, grow, both memory strategies and their
 * cache keys, the page limit, images and resets, shared memories and
 * thread instances), and refuses memory imports from other modules and a
 * second memory with a message naming the import. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "eng_support.h"
#include "engine/engine.h"
#include "engine/gobject.h"
#include "engine/rt.h"
#include "engine/shim.h"
#include "granary/status.h"
#include "util/alloc.h"
#include "util/fs.h"

static char cache_dir[] = "/tmp/granary-test-impmem.XXXXXX";
static gr_engine* engine;

static uint32_t
ok(gr_instance* in, const char* name, int nargs, uint32_t a, uint32_t b)
{
    uint32_t r;
    gr_trap t = { 0 };
    if (eng_call(in, name, nargs, a, b, &r, &t, 0))
        fail_msg("%s(%u, %u) trapped: %s", name, a, b, gr_trap_name(t.kind));
    return r;
}

static void
oob(gr_instance* in, const char* name, uint32_t a)
{
    gr_trap t = { 0 };
    assert_int_equal(eng_call(in, name, 1, a, 0, NULL, &t, 0), GR_ETRAP);
    assert_int_equal(t.kind, GR_TRAP_OOB);
}

static gr_instance*
instantiate(gr_object* o, uint32_t max_pages)
{
    gr_instance_config cfg = { .max_pages = max_pages };
    gr_instance* in;
    gr_trap t;
    int rc = gr_instance_create(o, &cfg, &in, &t);
    if (rc)
        fail_msg("instantiate: %d (%s)", rc, gr_trap_name(t.kind));
    return in;
}

static size_t
reserved(gr_instance* in)
{
    return gr_rt_memory_reserved(gr_instance_memory(in));
}

/* Number of cache entries of o whose flavor starts with prefix. */
static int
entries(const gr_object* o, const char* prefix)
{
    char cmd[PATH_MAX + 128];
    snprintf(cmd,
             sizeof cmd,
             "exit $(ls -d %s/objects/%s-%s* 2>/dev/null | wc -l)",
             cache_dir,
             gr_object_hash(o),
             prefix);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* No maximum: guard pages, a segment in the imported memory, grow. */
static void
test_no_maximum(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_object* o = eng_load_guest(engine, "imp_nomax");
    assert_int_equal(entries(o, "w2g-"), 1);
    /* The memory is the engine's, like a defined one. */
    assert_true(gr_object_shim(o)->memory_offset != GR_SHIM_NO_OFFSET);
    gr_instance* in = instantiate(o, 0);
    assert_non_null(gr_instance_memory(in));
    assert_int_equal(reserved(in), GR_RT_RESERVATION);
    assert_int_equal(gr_instance_memory(in)->pages, 1);
    assert_int_equal(ok(in, "load", 1, 16, 0), 42);
    assert_int_equal(ok(in, "size", 0, 0, 0), 1);
    oob(in, "load", 65534);
    assert_int_equal(ok(in, "grow", 1, 2, 0), 1);
    assert_int_equal(ok(in, "load", 1, 3 * 65536 - 4, 0), 0);
    oob(in, "load", 3 * 65536 - 3);
    assert_false(gr_instance_memory_shared(in));
    gr_instance* th;
    assert_int_equal(gr_instance_thread_create(in, &th), -EINVAL);
    gr_instance_destroy(in);
    /* The page limit caps it as it caps a defined memory. */
    in = instantiate(o, 2);
    assert_int_equal(ok(in, "grow", 1, 1, 0), 1);
    assert_int_equal(ok(in, "grow", 1, 1, 0), 0xffffffffu);
    gr_instance_destroy(in);
    gr_object_unref(o);
}

/* An image and a memfd copy make new instances and resets, each with its
 * own memory (the imported memory's pointer follows the copy). */
static void
test_image_and_reset(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_object* o = eng_load_guest(engine, "imp_nomax");
    gr_instance* in = instantiate(o, 0);
    ok(in, "store", 2, 100, 0x01020304u);
    gr_instance_image* img;
    assert_int_equal(gr_instance_image_take(in, &img), 0);
    wasm_rt_memory_t* m = gr_instance_memory(in);
    int fd = memfd_create("test-impmem", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)m->size), 0);
    assert_int_equal(pwrite(fd, m->data, m->size, 0), (ssize_t)m->size);
    uint32_t pages = m->pages;
    gr_instance* a;
    gr_instance* b;
    assert_int_equal(gr_instance_create_from_image(o, img, fd, pages, NULL, &a),
                     0);
    assert_int_equal(gr_instance_create_from_image(o, img, fd, pages, NULL, &b),
                     0);
    /* The parent is gone: the copies must reach their own memories. */
    gr_instance_destroy(in);
    assert_int_equal(ok(a, "load", 1, 100, 0), 0x01020304u);
    assert_int_equal(ok(a, "load", 1, 16, 0), 42);
    ok(a, "store", 2, 100, 5);
    assert_int_equal(ok(a, "grow", 1, 1, 0), 1);
    ok(a, "store", 2, 65536, 6);
    assert_int_equal(ok(b, "load", 1, 100, 0), 0x01020304u);
    oob(b, "load", 65536);
    assert_int_equal(gr_instance_reset_to_image(a, img, fd, pages, NULL, 0), 0);
    assert_int_equal(ok(a, "load", 1, 100, 0), 0x01020304u);
    assert_int_equal(ok(a, "size", 0, 0, 0), 1);
    oob(a, "load", 65536);
    gr_instance_destroy(a);
    gr_instance_destroy(b);
    gr_instance_image_destroy(img);
    close(fd);
    gr_object_unref(o);
}

/* A small maximum: explicit bounds checks and a reservation of the
 * maximum, the same cache flavor a defined memory would get. */
static void
test_small_maximum(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_object* o = eng_load_guest(engine, "imp_small");
    assert_int_equal(entries(o, "w2b-"), 1);
    assert_int_equal(entries(o, "w2g-"), 0);
    gr_instance* in = instantiate(o, 0);
    assert_int_equal(reserved(in), 3 * 65536 + GR_RT_BOUNDS_TAIL);
    assert_int_equal(ok(in, "load", 1, 8, 0), 7);
    oob(in, "load", 65533);
    assert_int_equal(ok(in, "grow", 1, 2, 0), 1);
    assert_int_equal(ok(in, "load", 1, 3 * 65536 - 4, 0), 0);
    oob(in, "load", 3 * 65536 - 3);
    assert_int_equal(ok(in, "grow", 1, 1, 0), 0xffffffffu);
    gr_instance_destroy(in);
    gr_object_unref(o);
}

/* A shared imported memory: thread instances reach the very same one. */
static void
test_shared(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_object* o = eng_load_guest(engine, "imp_shared");
    assert_int_equal(entries(o, "w2b-"), 1);
    gr_instance* in = instantiate(o, 0);
    assert_true(gr_instance_memory_shared(in));
    assert_int_equal(reserved(in), 4 * 65536 + GR_RT_BOUNDS_TAIL);
    gr_instance* th;
    assert_int_equal(gr_instance_thread_create(in, &th), 0);
    assert_ptr_equal(gr_instance_memory(th), gr_instance_memory(in));
    ok(in, "add", 2, 64, 5);
    assert_int_equal(ok(th, "add", 2, 64, 3), 5);
    assert_int_equal(ok(in, "load", 1, 64, 0), 8);
    /* A grow by either is seen by both. */
    assert_int_equal(ok(th, "grow", 1, 1, 0), 1);
    assert_int_equal(ok(in, "size", 0, 0, 0), 2);
    ok(in, "add", 2, 65536, 9);
    assert_int_equal(ok(th, "load", 1, 65536, 0), 9);
    gr_instance_destroy(th);
    gr_instance_destroy(in);
    gr_object_unref(o);
}

/* Any field name of module "env". */
static void
test_other_field(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_object* o = eng_load_guest(engine, "imp_field");
    gr_instance* in = instantiate(o, 0);
    assert_int_equal(ok(in, "size", 0, 0, 0), 2);
    assert_int_equal(gr_instance_memory(in)->max_pages, 20);
    gr_instance_destroy(in);
    gr_object_unref(o);
}

static void
expect_refused(const char* guest, int want, const char* needle)
{
    char path[PATH_MAX], err[512] = "";
    snprintf(path, sizeof path, "%s/%s.wasm", GRANARY_GUEST_DIR, guest);
    gr_object* o = NULL;
    int rc = gr_engine_load_file(engine, path, &o, err, sizeof err);
    if (rc != want || !strstr(err, needle))
        fail_msg(
          "%s: got %d '%s', want %d with '%s'", guest, rc, err, want, needle);
    assert_null(o);
}

static void
test_refused(void** state)
{
    (void)state;
    expect_refused("imp_badmod", GR_EIMPORT, "import js.mem");
    expect_refused("imp_two", GR_EINVALID_MODULE, "multiple memories");
}

static uint8_t*
read_guest(const char* name, size_t* len)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.wasm", GRANARY_GUEST_DIR, name);
    FILE* f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t* b = gr_malloc(1 << 16);
    assert_non_null(b);
    *len = fread(b, 1, 1 << 16, f);
    fclose(f);
    return b;
}

/* The strategy is read from the import section (past other imports), and
 * any truncation of it reads no byte out of range (ASan) and gives an
 * answer. */
static void
test_strategy_from_import(void** state)
{
    (void)state;
    struct
    {
        const char* name;
        int want;
    } cases[] = {
        { "imp_small", 1 },  { "imp_after", 1 }, { "imp_nomax", 0 },
        { "imp_shared", 1 }, { "imp_field", 1 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t len;
        uint8_t* b = read_guest(cases[c].name, &len);
        if (gr__gcodegen_strategy(b, len, 0) != cases[c].want)
            fail_msg("%s: strategy %d", cases[c].name, !cases[c].want);
        assert_int_equal(gr__gcodegen_strategy(b, len, 1), 1);
        for (size_t n = 0; n < len; n++) {
            uint8_t* cut = gr_malloc(n ? n : 1);
            assert_non_null(cut);
            memcpy(cut, b, n);
            int r = gr__gcodegen_strategy(cut, n, 0);
            assert_true(r == 0 || r == 1);
            gr_free(cut);
        }
        gr_free(b);
    }
}

int
main(void)
{
    if (!mkdtemp(cache_dir)) {
        perror("test_import_memory: mkdtemp");
        return 1;
    }
    gr_engine_config cfg = { .backend = GR_ENGINE_GRANARY };
    engine = eng_engine(&cfg, cache_dir);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_maximum),
        cmocka_unit_test(test_image_and_reset),
        cmocka_unit_test(test_small_maximum),
        cmocka_unit_test(test_shared),
        cmocka_unit_test(test_other_field),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_strategy_from_import),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    gr_engine_destroy(engine);
    gr_fs_remove_tree(cache_dir);
    return failed;
}
