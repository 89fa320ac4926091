/* SPDX-License-Identifier: Apache-2.0 */
/* Faaslets and Proto-Faaslets with real guests: init runs once, no call
 * sees another's writes (memory, globals, tables), traps leave the
 * Faaslet and pool usable, grown memories reset, I/O limits, pools. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <granary/status.h>

#include "faaslet/faaslet.h"
#include "faaslet/pool.h"
#include "host/host.h"

#include "faaslet_guest.h"

static void
test_init_once_and_no_leak_between_calls(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_proto* p = make_proto("counter", NULL);
    assert_int_equal(gr_proto_entry(p), GR_ENTRY_REACTOR);
    gr_faaslet* f;
    assert_int_equal(gr_faaslet_create(p, &f), 0);
    gr_call_result r;
    for (int i = 0; i < 3; i++) {
        call_str(f, "hello", &r);
        assert_int_equal(r.status, 0);
        assert_int_equal(r.return_code, 1);
        assert_output(&r, "init=1 calls=1 heap=initialised in=hello");
    }
    /* a second Faaslet from the same proto starts from the same state */
    gr_faaslet* g;
    assert_int_equal(gr_faaslet_create(p, &g), 0);
    call_str(g, "x", &r);
    assert_output(&r, "init=1 calls=1 heap=initialised in=x");
    gr_faaslet_destroy(g);
    gr_faaslet_destroy(f);
    gr_proto_unref(p);
}

static void
test_trap_then_reuse(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_proto* p = make_proto("counter", NULL);
    gr_faaslet* f;
    assert_int_equal(gr_faaslet_create(p, &f), 0);
    gr_call_result r;
    call_str(f, "trap", &r);
    assert_int_equal(r.status, GR_ETRAP);
    assert_int_equal(r.trap.kind, GR_TRAP_UNREACHABLE);
    call_str(f, "after", &r);
    assert_int_equal(r.status, 0);
    assert_output(&r, "init=1 calls=1 heap=initialised in=after");
    gr_faaslet_destroy(f);
    gr_proto_unref(p);
}

static void
test_grown_memory_resets(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_proto* p = make_proto("counter", NULL);
    gr_faaslet* f;
    assert_int_equal(gr_faaslet_create(p, &f), 0);
    uint32_t pages = gr_snapshot_pages(gr_proto_snapshot(p));
    gr_call_result r;
    call_str(f, "grow", &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.return_code, 1);
    assert_int_equal(gr_instance_memory(gr_faaslet_instance(f))->pages, pages);
    for (int i = 0; i < 2; i++) {
        call_str(f, "grow", &r);
        assert_int_equal(r.return_code, 1);
    }
    call_str(f, "plain", &r);
    assert_output(&r, "init=1 calls=1 heap=initialised in=plain");
    gr_faaslet_destroy(f);
    gr_proto_unref(p);
}

static void
test_globals_and_tables_restored(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_proto* p = make_proto("state_reset", NULL);
    gr_faaslet* f;
    assert_int_equal(gr_faaslet_create(p, &f), 0);
    gr_call_result r;
    for (int i = 0; i < 3; i++) {
        call_str(f, "", &r);
        assert_int_equal(r.status, 0);
        /* global 0, table size 1, entry 0 -> $one, memory[64] 0 */
        assert_int_equal(r.return_code, 11);
    }
    gr_faaslet_destroy(f);
    gr_proto_unref(p);
}

static void
test_command_stdin_stdout(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_proto* p = make_proto("upper", NULL);
    assert_int_equal(gr_proto_entry(p), GR_ENTRY_COMMAND);
    gr_faaslet* f;
    assert_int_equal(gr_faaslet_create(p, &f), 0);
    gr_call_result r;
    for (int i = 0; i < 2; i++) {
        call_str(f, "shout this", &r);
        assert_int_equal(r.status, 0);
        assert_int_equal(r.return_code, 10);
        assert_output(&r, "SHOUT THIS");
    }
    gr_faaslet_destroy(f);
    gr_proto_unref(p);
}

static void
test_capture_and_limits(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_proto_config cfg = { .max_output = 4096 };
    gr_proto* p = make_proto("counter", &cfg);
    gr_faaslet* f;
    assert_int_equal(gr_faaslet_create(p, &f), 0);
    gr_call_result r;
    call_str(f, "print", &r);
    assert_string_equal(r.out, "to stdout\n");
    assert_string_equal(r.err, "to stderr\n");
    call_str(f, "flood", &r);
    assert_int_equal(r.return_code, 99);
    assert_true(r.output_truncated);
    assert_true(r.output_len <= 4096);
    call_str(f, "badptr", &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.return_code, -1);
    gr_faaslet_destroy(f);
    gr_proto_unref(p);
}

static void
test_runaway_guest_times_out(void** state)
{
    (void)state;
#if defined(__SANITIZE_THREAD__)
    /* TSan delays a signal until the thread makes an intercepted call,
     * which a spinning guest never does: the deadline cannot fire. */
    skip();
#endif
    gr_rt_install_handlers();
    gr_proto* p = make_proto("counter", NULL);
    gr_faaslet* f;
    assert_int_equal(gr_faaslet_create(p, &f), 0);
    gr_call c = { .input = (const uint8_t*)"spin",
                  .input_len = 4,
                  .timeout_ns = 100000000 };
    gr_call_result r;
    assert_int_equal(gr_faaslet_call(f, &c, &r), 0);
    assert_int_equal(r.status, GR_ETRAP);
    assert_int_equal(r.trap.kind, GR_TRAP_TIMEOUT);
    assert_true(r.exec_ns >= 100000000u);
    assert_true(r.exec_ns < 5000000000u);
    /* a guest stuck printing (in host code) is stopped too */
    c.input = (const uint8_t*)"spinprint";
    c.input_len = 9;
    assert_int_equal(gr_faaslet_call(f, &c, &r), 0);
    assert_int_equal(r.trap.kind, GR_TRAP_TIMEOUT);
    /* and the Faaslet still works, with no deadline left armed */
    call_str(f, "after", &r);
    assert_int_equal(r.status, 0);
    assert_output(&r, "init=1 calls=1 heap=initialised in=after");
    gr_faaslet_destroy(f);
    gr_proto_unref(p);
}

static void
test_memory_limit(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    /* 4 MiB is too small for an 8 MiB allocation: malloc fails cleanly */
    gr_proto_config cfg = { .max_pages = 64 };
    gr_proto* p = make_proto("counter", &cfg);
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
test_pool_warm_cold_evict(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_proto* p = make_proto("counter", NULL);
    gr_pool_config pc = { .max_idle = 2, .idle_ns = 1000 };
    gr_pool* pool;
    assert_int_equal(gr_pool_create(p, &pc, &pool), 0);
    gr_faaslet* f[3];
    int cold;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(gr_pool_acquire(pool, &f[i], &cold), 0);
        assert_int_equal(cold, 1);
    }
    gr_call_result r;
    call_str(f[0], "trap", &r);
    assert_int_equal(r.status, GR_ETRAP);
    for (int i = 0; i < 3; i++)
        gr_pool_release(pool, f[i], 0);
    gr_pool_stats st;
    gr_pool_get_stats(pool, &st);
    assert_int_equal(st.idle, 2); /* max_idle bounds the pool */
    assert_int_equal(st.busy, 0);
    gr_faaslet* w;
    assert_int_equal(gr_pool_acquire(pool, &w, &cold), 0);
    assert_int_equal(cold, 0);
    call_str(w, "warm", &r);
    assert_output(&r, "init=1 calls=1 heap=initialised in=warm");
    gr_pool_release(pool, w, 0);
    assert_int_equal(gr_pool_evict_idle(pool, UINT64_MAX / 2), 2);
    gr_pool_get_stats(pool, &st);
    assert_int_equal(st.idle, 0);
    assert_int_equal(st.evicted, 2);
    gr_pool_destroy(pool);
    gr_proto_unref(p);
}

struct thread_arg
{
    gr_proto* proto;
    int bad;
};

static void*
trap_thread(void* p)
{
    struct thread_arg* a = p;
    gr_faaslet* f;
    if (gr_faaslet_create(a->proto, &f)) {
        a->bad++;
        return NULL;
    }
    for (int i = 0; i < 50; i++) {
        const char* in = i % 2 ? "trap" : "ok";
        gr_call c = { .input = (const uint8_t*)in, .input_len = strlen(in) };
        gr_call_result r;
        if (gr_faaslet_call(f, &c, &r))
            a->bad++;
        else if (i % 2 &&
                 (r.status != GR_ETRAP || r.trap.kind != GR_TRAP_UNREACHABLE))
            a->bad++;
        else if (!(i % 2) && (r.status != 0 || r.return_code != 1))
            a->bad++;
    }
    gr_faaslet_destroy(f);
    return NULL;
}

static void
test_traps_on_many_threads(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_proto* p = make_proto("counter", NULL);
    pthread_t th[4];
    struct thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct thread_arg){ p, 0 };
        pthread_create(&th[i], NULL, trap_thread, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].bad, 0);
    }
    gr_proto_unref(p);
}

static int
setup(void** state)
{
    (void)state;
    gr_engine_config cfg = { .cache_dir = GRANARY_BINARY_DIR "/test-cache",
                             .import_check = gr_host_import_check };
    return gr_engine_create(&cfg, &engine);
}

static int
teardown(void** state)
{
    (void)state;
    gr_engine_destroy(engine);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_once_and_no_leak_between_calls),
        cmocka_unit_test(test_trap_then_reuse),
        cmocka_unit_test(test_grown_memory_resets),
        cmocka_unit_test(test_globals_and_tables_restored),
        cmocka_unit_test(test_command_stdin_stdout),
        cmocka_unit_test(test_capture_and_limits),
        cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_runaway_guest_times_out),
        cmocka_unit_test(test_traps_on_many_threads),
        cmocka_unit_test(test_pool_warm_cold_evict),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
