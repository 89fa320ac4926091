/* SPDX-License-Identifier: Apache-2.0 */
/* Memory strategies of the granary backend: guard pages (8 GiB
 * reservations) and explicit bounds checks (reservations of the declared
 * maximum): which one a module gets and its cache key, out-of-bounds
 * loads, stores, atomics and bulk-memory operations at every edge before
 * and after memory.grow under both, and snapshots, resets and pooling of
 * small reservations. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
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
#include "engine/rt.h"
#include "granary/status.h"
#include "util/fs.h"

static char cache_dir[] = "/tmp/granary-test-bounds.XXXXXX";

/* Calls export name with nargs i32 arguments: 0 and the result in *ret,
 * or GR_ETRAP with the kind in *kind. */
static int
call(gr_instance* in,
     const char* name,
     int nargs,
     uint32_t a,
     uint32_t b,
     uint32_t* ret,
     enum gr_trap_kind* kind)
{
    gr_trap t = { 0 };
    int rc = eng_call(in, name, nargs, a, b, ret, &t, 0);
    *kind = t.kind;
    return rc;
}

static uint32_t
ok2(gr_instance* in, const char* name, uint32_t a, uint32_t b)
{
    uint32_t r;
    enum gr_trap_kind k;
    if (call(in, name, 2, a, b, &r, &k))
        fail_msg("%s(%u, %u) trapped: %s", name, a, b, gr_trap_name(k));
    return r;
}

static uint32_t
ok1(gr_instance* in, const char* name, uint32_t a)
{
    uint32_t r;
    enum gr_trap_kind k;
    if (call(in, name, 1, a, 0, &r, &k))
        fail_msg("%s(%u) trapped: %s", name, a, gr_trap_name(k));
    return r;
}

static void
oob(gr_instance* in, const char* name, int nargs, uint32_t a, uint32_t b)
{
    uint32_t r;
    enum gr_trap_kind k = GR_TRAP_NONE;
    if (call(in, name, nargs, a, b, &r, &k) != GR_ETRAP || k != GR_TRAP_OOB)
        fail_msg("%s(%u, %u) did not trap out of bounds (%s)",
                 name,
                 a,
                 b,
                 gr_trap_name(k));
}

static void
oob1(gr_instance* in, const char* name, uint32_t a)
{
    oob(in, name, 1, a, 0);
}

static void
oob2(gr_instance* in, const char* name, uint32_t a, uint32_t b)
{
    oob(in, name, 2, a, b);
}

static uint32_t
mem_size(gr_instance* in)
{
    uint32_t r;
    enum gr_trap_kind k;
    assert_int_equal(call(in, "size", 0, 0, 0, &r, &k), 0);
    return r;
}

/* Every edge of the memory at its current size S. */
static void
check_edges(gr_instance* in)
{
    uint32_t s = mem_size(in);
    static const struct
    {
        const char *ld, *st;
        uint32_t w;
    } acc[] = { { "ld8", "st8", 1 },
                { "ld16", "st16", 2 },
                { "ld32", "st32", 4 },
                { "ld64", "st64", 8 },
                { "ld128", "st128", 16 } };
    for (size_t i = 0; i < sizeof acc / sizeof acc[0]; i++) {
        uint32_t w = acc[i].w;
        ok1(in, acc[i].st, s - w); /* the last bytes */
        ok1(in, acc[i].ld, s - w);
        if (w > 1) { /* straddling the end by one byte */
            oob1(in, acc[i].ld, s - w + 1);
            oob1(in, acc[i].st, s - w + 1);
        }
        oob1(in, acc[i].ld, s);
        oob1(in, acc[i].st, s);
        oob1(in, acc[i].ld, 0xffffffffu);
        oob1(in, acc[i].st, 0xffffffffu);
        if (w > 1) /* ea + w wraps past 2^32 in 32 bits */
            oob1(in, acc[i].st, 0xffffffffu - w + 2);
    }
    ok1(in, "st32", s - 4);
    assert_int_equal(ok1(in, "ld32", s - 4), 0x01020304u);
    /* A static offset: address + offset is computed without wrapping. */
    if (s > 65536) {
        assert_int_equal(ok1(in, "ldoff", s - 65536 - 4),
                         ok1(in, "ld32", s - 4));
        oob1(in, "ldoff", s - 65536 - 3);
    } else {
        oob1(in, "ldoff", 0);
    }
    oob1(in, "ldoff", 0xffffffffu - 65535);
    oob1(in, "ldoff", 0xffffffffu);
    /* Atomics: out of bounds before misaligned. */
    ok1(in, "astore", s - 4);
    assert_int_equal(ok1(in, "aload", s - 4), 5);
    assert_int_equal(ok1(in, "aadd", s - 4), 5);
    oob1(in, "aload", s);
    oob1(in, "astore", s);
    oob1(in, "aadd", s - 2);
    oob1(in, "aadd", 0xfffffffcu);
    ok1(in, "st64", s - 8);
    ok1(in, "acas64", s - 8);
    oob1(in, "acas64", s - 4);
    oob1(in, "acas64", s);
    /* Bulk memory: a zero-length operation at the end is in bounds. */
    ok2(in, "fill", s - 1, 1);
    assert_int_equal(ok1(in, "ld8", s - 1), 0x5a);
    oob2(in, "fill", s - 1, 2);
    ok2(in, "fill", s, 0);
    oob2(in, "fill", s + 1, 0);
    oob2(in, "fill", 1, 0xffffffffu);
    ok2(in, "copy_to", s - 16, 16);
    oob2(in, "copy_to", s - 15, 16);
    ok2(in, "copy_to", s, 0);
    oob2(in, "copy_to", s + 1, 0);
    ok2(in, "copy_from", s - 16, 16);
    oob2(in, "copy_from", s - 15, 16);
    ok2(in, "init", s - 16, 16);
    assert_int_equal(ok1(in, "ld8", s - 16), '0');
    oob2(in, "init", s - 15, 16);
    ok2(in, "init", s, 0);
    oob2(in, "init", s + 1, 0);
    /* A loop of loads ends exactly at the edge, or one word past it. */
    ok2(in, "sum", s - 40, 10);
    oob2(in, "sum", s - 36, 10);
    /* Traps left the instance working. */
    assert_int_equal(mem_size(in), s);
}

static gr_engine*
make_engine(int explicit_bounds)
{
    gr_engine_config cfg = { .backend = GR_ENGINE_GRANARY,
                             .explicit_bounds = explicit_bounds };
    return eng_engine(&cfg, cache_dir);
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

static gr_instance*
instantiate(gr_object* o, uint32_t max_pages)
{
    gr_instance_config cfg = { .max_pages = max_pages };
    gr_instance* in;
    gr_trap t;
    assert_int_equal(gr_instance_create(o, &cfg, &in, &t), 0);
    return in;
}

static size_t
reserved(gr_instance* in)
{
    return gr_rt_memory_reserved(gr_instance_memory(in));
}

/* Edges at each size, growing one page at a time up to `pages`; then
 * memory.grow fails. */
static void
edges_while_growing(gr_instance* in, uint32_t pages)
{
    check_edges(in);
    for (uint32_t p = 1; p < pages; p++) {
        assert_int_equal(ok1(in, "grow", 1), p);
        check_edges(in);
    }
    assert_int_equal(ok1(in, "grow", 1), 0xffffffffu);
    check_edges(in);
}

static void
test_guard_pages(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_engine* e = make_engine(0);
    gr_object* o = eng_load_guest(e, "eng_bounds_big");
    assert_int_equal(entries(o, "w2g-"), 1);
    assert_int_equal(entries(o, "w2b-"), 0);
    gr_instance* in = instantiate(o, 4);
    assert_int_equal(reserved(in), GR_RT_RESERVATION);
    edges_while_growing(in, 4);
    gr_instance_destroy(in);
    gr_object_unref(o);
    gr_engine_destroy(e);
}

static void
test_bounds_forced(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_engine* e = make_engine(1);
    gr_object* o = eng_load_guest(e, "eng_bounds_big");
    /* Another cache entry than the guard-page object of the same wasm. */
    assert_int_equal(entries(o, "w2b-"), 1);
    gr_instance* in = instantiate(o, 0);
    /* No maximum, no page limit: the wasm32 maximum, with no guard
     * region beyond it (4 GiB + a tail page instead of 8 GiB). */
    assert_int_equal(reserved(in), (4ull << 30) + GR_RT_BOUNDS_TAIL);
    gr_instance_destroy(in);
    /* The page limit bounds the reservation. */
    in = instantiate(o, 4);
    assert_int_equal(reserved(in), 4 * 65536 + GR_RT_BOUNDS_TAIL);
    edges_while_growing(in, 4);
    gr_instance_destroy(in);
    gr_object_unref(o);
    gr_engine_destroy(e);

    /* GRANARY_BOUNDS_CHECKS=1 selects the same strategy. */
    setenv("GRANARY_BOUNDS_CHECKS", "1", 1);
    e = make_engine(0);
    unsetenv("GRANARY_BOUNDS_CHECKS");
    o = eng_load_guest(e, "eng_bounds_big");
    assert_int_equal(entries(o, "w2b-"), 1);
    in = instantiate(o, 2);
    assert_int_equal(reserved(in), 2 * 65536 + GR_RT_BOUNDS_TAIL);
    gr_instance_destroy(in);
    gr_object_unref(o);
    gr_engine_destroy(e);
}

static void
test_small_max(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_engine* e = make_engine(0);
    gr_object* o = eng_load_guest(e, "eng_bounds_small");
    assert_int_equal(entries(o, "w2b-"), 1);
    assert_int_equal(entries(o, "w2g-"), 0);
    gr_instance* in = instantiate(o, 0);
    assert_int_equal(reserved(in), 3 * 65536 + GR_RT_BOUNDS_TAIL);
    edges_while_growing(in, 3);
    gr_instance_destroy(in);
    /* A page limit below the declared maximum shrinks the reservation. */
    in = instantiate(o, 2);
    assert_int_equal(reserved(in), 2 * 65536 + GR_RT_BOUNDS_TAIL);
    edges_while_growing(in, 2);
    gr_instance_destroy(in);
    gr_object_unref(o);
    gr_engine_destroy(e);
    /* Forcing bounds checks on a module that gets them anyway reuses its
     * object: the key names the strategy, not how it was chosen. */
    e = make_engine(1);
    o = eng_load_guest(e, "eng_bounds_small");
    assert_int_equal(entries(o, "w2"), 1);
    gr_object_unref(o);
    gr_engine_destroy(e);
}

static long
vmas(void)
{
    FILE* f = fopen("/proc/self/maps", "r");
    long n = 0;
    int ch;
    assert_non_null(f);
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

#define N_RESTORED 64

static void
test_small_snapshots(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_engine* e = make_engine(0);
    gr_object* o = eng_load_guest(e, "eng_bounds_small");
    gr_instance* in = instantiate(o, 0);
    ok1(in, "st32", 100);
    gr_instance_image* img;
    assert_int_equal(gr_instance_image_take(in, &img), 0);
    wasm_rt_memory_t* m = gr_instance_memory(in);
    int fd = memfd_create("test-bounds", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)m->size), 0);
    assert_int_equal(pwrite(fd, m->data, m->size, 0), (ssize_t)m->size);
    uint32_t pages = m->pages;
    gr_instance_destroy(in);

    gr_instance* r[N_RESTORED];
    long before = vmas();
    for (int i = 0; i < N_RESTORED; i++) {
        assert_int_equal(
          gr_instance_create_from_image(o, img, fd, pages, NULL, &r[i]), 0);
        assert_int_equal(reserved(r[i]), 3 * 65536 + GR_RT_BOUNDS_TAIL);
    }
    /* Each restored memory is the memfd's private mapping plus the
     * inaccessible rest of its reservation: at most two mappings. */
    assert_true(vmas() - before <= 2 * N_RESTORED);
    gr_instance* a = r[0];
    assert_int_equal(ok1(a, "ld32", 100), 0x01020304u);
    check_edges(a);
    assert_int_equal(ok1(a, "grow", 2), 1);
    ok1(a, "st32", 3 * 65536 - 4);
    ok1(a, "st32", 200);
    /* Reset: back to the snapshot's size and bytes; the grown pages are
     * out of bounds again, and growing gives zeroed pages. */
    assert_int_equal(gr_instance_reset_to_image(a, img, fd, pages, NULL, 0), 0);
    assert_int_equal(mem_size(a), 65536);
    assert_int_equal(ok1(a, "ld32", 200), 0);
    assert_int_equal(ok1(a, "ld32", 100), 0x01020304u);
    oob1(a, "ld32", 65536);
    check_edges(a);
    assert_int_equal(ok1(a, "grow", 2), 1);
    assert_int_equal(ok1(a, "ld32", 3 * 65536 - 4), 0);
    oob1(a, "ld32", 3 * 65536 - 3);
    assert_int_equal(ok1(r[1], "ld32", 200), 0);

    /* Released small reservations are pooled and reused at their size. */
    for (int i = 0; i < N_RESTORED; i++)
        gr_instance_destroy(r[i]);
    size_t pooled = gr_rt_small_pool_size();
    assert_true(pooled > 0);
    in = instantiate(o, 0);
    assert_int_equal(gr_rt_small_pool_size(), pooled - 1);
    check_edges(in);
    gr_instance_destroy(in);
    /* A size no memory had before does not take a pooled one. */
    in = instantiate(o, 1);
    assert_int_equal(reserved(in), 65536 + GR_RT_BOUNDS_TAIL);
    assert_int_equal(gr_rt_small_pool_size(), pooled);
    gr_instance_destroy(in);

    gr_instance_image_destroy(img);
    close(fd);
    gr_object_unref(o);
    gr_engine_destroy(e);
}

static void*
grow_then_flag(void* arg)
{
    wasm_rt_memory_t* m = arg;
    usleep(20000);
    if (wasm_rt_grow_memory(m, 1) != 1)
        return NULL;
    memcpy(m->data + 65536, "\x2a\0\0\0", 4);
    __atomic_store_n((uint32_t*)m->data, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* A shared memory grown by another thread during a call: the call's size
 * local is stale, and its failed check rereads the size instead of
 * trapping. */
static void
test_shared_grown_elsewhere(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    for (int bounds = 0; bounds < 2; bounds++) {
        gr_engine* e = make_engine(bounds);
        gr_object* o = eng_load_guest(e, "eng_bounds_shared");
        gr_instance* in = instantiate(o, 0);
        pthread_t th;
        assert_int_equal(
          pthread_create(&th, NULL, grow_then_flag, gr_instance_memory(in)), 0);
        uint32_t r = 0;
        gr_trap t = { 0 };
        int rc = eng_call(
          in, "wait_then_load", 0, 0, 0, &r, &t, 20ull * 1000 * 1000 * 1000);
        pthread_join(th, NULL);
        if (rc)
            fail_msg("wait_then_load trapped: %s", gr_trap_name(t.kind));
        assert_int_equal(r, 42);
        gr_instance_destroy(in);
        gr_object_unref(o);
        gr_engine_destroy(e);
    }
}

int
main(void)
{
    if (!mkdtemp(cache_dir)) {
        perror("test_bounds: mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guard_pages),
        cmocka_unit_test(test_bounds_forced),
        cmocka_unit_test(test_small_max),
        cmocka_unit_test(test_small_snapshots),
        cmocka_unit_test(test_shared_grown_elsewhere),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    gr_fs_remove_tree(cache_dir);
    return failed;
}
