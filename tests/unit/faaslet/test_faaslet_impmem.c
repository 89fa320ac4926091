/* SPDX-License-Identifier: Apache-2.0 */
/* Faaslets of C guests that import their memory (granary-cc
 * -Wl,--import-memory): the counter guest (init once, no call sees
 * another's writes, grown memory reset, the memory limit) and POSIX
 * threads on an imported shared memory under both memory strategies,
 * each call starting from the snapshot. */
#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <granary/status.h>

#include "engine/rt.h"
#include "faaslet/faaslet.h"
#include "host/host.h"
#include "host/threads.h"

#include "faaslet_guest.h"

static void
test_counter_resets(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_proto* p = make_proto("counter_impmem", NULL);
    assert_int_equal(gr_proto_entry(p), GR_ENTRY_REACTOR);
    gr_faaslet* f;
    assert_int_equal(gr_faaslet_create(p, &f), 0);
    wasm_rt_memory_t* mem = gr_instance_memory(gr_faaslet_instance(f));
    assert_non_null(mem);
    /* granary-cc's default maximum (1 GiB): guard pages. */
    assert_int_equal(gr_rt_memory_reserved(mem), GR_RT_RESERVATION);
    uint32_t pages = gr_snapshot_pages(gr_proto_snapshot(p));
    gr_call_result r;
    for (int i = 0; i < 3; i++) {
        call_str(f, "hello", &r);
        assert_int_equal(r.status, 0);
        assert_output(&r, "init=1 calls=1 heap=initialised in=hello");
        call_str(f, "grow", &r);
        assert_int_equal(r.status, 0);
        assert_int_equal(r.return_code, 1);
        assert_int_equal(gr_instance_memory(gr_faaslet_instance(f))->pages,
                         pages);
    }
    call_str(f, "trap", &r);
    assert_int_equal(r.status, GR_ETRAP);
    call_str(f, "after", &r);
    assert_output(&r, "init=1 calls=1 heap=initialised in=after");
    /* A second Faaslet starts from the same snapshot. */
    gr_faaslet* g;
    assert_int_equal(gr_faaslet_create(p, &g), 0);
    call_str(g, "x", &r);
    assert_output(&r, "init=1 calls=1 heap=initialised in=x");
    gr_faaslet_destroy(g);
    gr_faaslet_destroy(f);
    gr_proto_unref(p);
}

static void
test_counter_memory_limit(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    /* 4 MiB is too small for the guest's 8 MiB allocation. */
    gr_proto_config cfg = { .max_pages = 64 };
    gr_proto* p = make_proto("counter_impmem", &cfg);
    gr_faaslet* f;
    assert_int_equal(gr_faaslet_create(p, &f), 0);
    gr_call_result r;
    call_str(f, "grow", &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.return_code, -1);
    gr_faaslet_destroy(f);
    gr_proto_unref(p);
}

static void
test_pthreads(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    const char* guests[] = { "impmem_threads", "impmem_threads_guard" };
    size_t reserve[] = { 64 * 65536 + GR_RT_BOUNDS_TAIL, GR_RT_RESERVATION };
    for (int gi = 0; gi < 2; gi++) {
        gr_proto* p = make_proto(guests[gi], NULL);
        assert_int_equal(gr_proto_entry(p), GR_ENTRY_COMMAND);
        gr_faaslet* f;
        assert_int_equal(gr_faaslet_create(p, &f), 0);
        gr_instance* in = gr_faaslet_instance(f);
        assert_true(gr_instance_memory_shared(in));
        assert_int_equal(gr_rt_memory_reserved(gr_instance_memory(in)),
                         reserve[gi]);
        for (int round = 0; round < 2; round++)
            for (int n = 1; n <= 4; n *= 2) {
                char in_s[2] = { (char)('0' + n), 0 }, want[96];
                snprintf(want,
                         sizeof want,
                         "threads=%d counter=%d turns=%d errors=0 calls=1\n",
                         n,
                         n * 10000,
                         n);
                gr_call c = { .input = (const uint8_t*)in_s, .input_len = 1 };
                gr_call_result r;
                assert_int_equal(gr_faaslet_call(f, &c, &r), 0);
                if (r.status != 0)
                    fprintf(stderr,
                            "%s: status %d trap %s\n",
                            guests[gi],
                            r.status,
                            gr_trap_name(r.trap.kind));
                assert_int_equal(r.status, 0);
                assert_int_equal(r.return_code, 0);
                assert_output(&r, want);
            }
        gr_faaslet_destroy(f);
        gr_proto_unref(p);
    }
}

int
main(void)
{
    gr_engine_config cfg = { .cache_dir = GRANARY_BINARY_DIR "/test-cache",
                             .backend = GR_ENGINE_GRANARY,
                             .import_check = gr_host_import_check };
    if (gr_engine_create(&cfg, &engine))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_resets),
        cmocka_unit_test(test_counter_memory_limit),
        cmocka_unit_test(test_pthreads),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    gr_engine_destroy(engine);
    return failed;
}
