/* SPDX-License-Identifier: Apache-2.0 */
/* Guest threads (wasi-threads) in Faaslets, with a real .wat guest on a
 * shared memory: atomic counting with 1, 2 and 4 threads, wait/notify,
 * traps and proc_exit in a worker, timeouts of spinning and waiting
 * threads, the main thread returning first, Faaslets, pools and host
 * threads reused after all of these, and host calls while another thread
 * grows the memory (grow_host). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <granary/status.h>

#include "faaslet/faaslet.h"
#include "faaslet/pool.h"
#include "host/host.h"
#include "host/threads.h"

static gr_engine* engine;
static gr_proto* proto;

static gr_proto*
make_proto(const char* guest)
{
    char path[4096], err[512] = "";
    snprintf(path, sizeof path, "%s/%s.wasm", GRANARY_GUEST_DIR, guest);
    gr_object* obj;
    int rc = gr_engine_load_file(engine, path, &obj, err, sizeof err);
    if (rc)
        fprintf(stderr, "load %s: %s\n", guest, err);
    assert_int_equal(rc, 0);
    assert_true(gr_threads_module_spawns(obj));
    gr_proto* p;
    rc = gr_proto_create(obj, NULL, &p, err, sizeof err);
    if (rc)
        fprintf(stderr, "proto %s: %s\n", guest, err);
    assert_int_equal(rc, 0);
    gr_object_unref(obj);
    return p;
}

static void
call(gr_faaslet* f, const char* in, uint64_t timeout_ns, gr_call_result* r)
{
    gr_call c = { .input = (const uint8_t*)in,
                  .input_len = strlen(in),
                  .timeout_ns = timeout_ns };
    assert_int_equal(gr_faaslet_call(f, &c, r), 0);
}

/* Waits (bounded) until no pool thread runs a guest thread any more. */
static size_t
busy_after_settle(void)
{
    gr_threads_stats st;
    for (int i = 0; i < 2000; i++) {
        gr_threads_get_stats(&st);
        if (st.busy == 0)
            break;
        usleep(1000);
    }
    return st.busy;
}

static void
test_counter_1_2_4_threads(void** state)
{
    (void)state;
    gr_faaslet* f;
    assert_int_equal(gr_faaslet_create(proto, &f), 0);
    gr_call_result r;
    gr_threads_stats start, before, after;
    gr_threads_get_stats(&start);
    for (int round = 0; round < 2; round++) {
        gr_threads_get_stats(&before);
        for (int n = 1; n <= 4; n *= 2) {
            char in[3] = { 'a', (char)('0' + n), 0 };
            call(f, in, 0, &r);
            assert_int_equal(r.status, 0);
            assert_int_equal(r.thread, 0);
            /* -100 would mean the memory was not reset since last call */
            assert_int_equal(r.return_code, n * 20000);
        }
        assert_int_equal(busy_after_settle(), 0);
        gr_threads_get_stats(&after);
        assert_int_equal(after.spawned - before.spawned, 7);
    }
    /* 14 guest threads, at most 4 at once: pool threads are reused. */
    assert_true(after.created - start.created <= 4);
    gr_faaslet_destroy(f);
}

static void
test_wait_notify(void** state)
{
    (void)state;
    gr_faaslet* f;
    assert_int_equal(gr_faaslet_create(proto, &f), 0);
    gr_call_result r;
    /* A waiter woken by the main thread's notify: wait returns 0 ("ok"). */
    call(f, "w1", 0, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.return_code, 1000);
    /* Waits with a 10 ms timeout on the main and a worker thread: both
     * return 2 ("timed-out"). */
    call(f, "t1", 0, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.return_code, 22);
    gr_faaslet_destroy(f);
}

static void
test_trap_in_worker_ends_call(void** state)
{
    (void)state;
    gr_faaslet* f;
    assert_int_equal(gr_faaslet_create(proto, &f), 0);
    gr_call_result r;
    /* The main thread waits forever; the worker's trap ends the call. */
    call(f, "x1", 0, &r);
    assert_int_equal(r.status, GR_ETRAP);
    assert_int_equal(r.trap.kind, GR_TRAP_UNREACHABLE);
    assert_int_equal(r.thread, 1);
    /* Thread 2 of 4 traps while the others wait. */
    call(f, "x4", 0, &r);
    assert_int_equal(r.status, GR_ETRAP);
    assert_int_equal(r.trap.kind, GR_TRAP_UNREACHABLE);
    assert_int_equal(r.thread, 2);
    /* The Faaslet was reset and runs threads again. */
    call(f, "a2", 0, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.return_code, 40000);
    assert_int_equal(busy_after_settle(), 0);
    gr_faaslet_destroy(f);
}

static void
test_exit_in_worker_ends_call(void** state)
{
    (void)state;
    gr_faaslet* f;
    assert_int_equal(gr_faaslet_create(proto, &f), 0);
    gr_call_result r;
    call(f, "e2", 0, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.return_code, 7);
    assert_int_equal(r.thread, 1);
    call(f, "a1", 0, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.return_code, 20000);
    gr_faaslet_destroy(f);
}

static uint64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
test_timeout_spinning_and_waiting_threads(void** state)
{
    (void)state;
    gr_faaslet* f;
    assert_int_equal(gr_faaslet_create(proto, &f), 0);
    gr_call_result r;
#if defined(__SANITIZE_THREAD__)
    /* TSan delays a signal until the thread makes an intercepted call,
     * which a spinning guest never does: only the waiting threads here. */
    const char* modes[] = { "W2", "W1" };
#else
    const char* modes[] = { "s2", "W2", "s4", "W1" };
#endif
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        uint64_t t0 = mono_ms();
        call(f, modes[i], 200u * 1000000u, &r);
        uint64_t ms = mono_ms() - t0;
        assert_int_equal(r.status, GR_ETRAP);
        assert_int_equal(r.trap.kind, GR_TRAP_TIMEOUT);
        /* Ended near its deadline, never hanging (generous on a loaded
         * machine). */
        assert_true(ms >= 190);
        assert_true(ms < 20000);
        assert_int_equal(busy_after_settle(), 0);
        call(f, "a2", 0, &r);
        assert_int_equal(r.status, 0);
        assert_int_equal(r.return_code, 40000);
    }
    gr_faaslet_destroy(f);
}

static void
test_main_return_stops_threads(void** state)
{
    (void)state;
#if defined(__SANITIZE_THREAD__)
    skip(); /* spinning workers cannot be signalled under TSan (above) */
#endif
    gr_faaslet* f;
    assert_int_equal(gr_faaslet_create(proto, &f), 0);
    gr_call_result r;
    /* The workers spin forever; the call ends when the main returns. */
    call(f, "m2", 0, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.return_code, 5);
    assert_int_equal(r.thread, 0);
    gr_threads_stats st;
    gr_threads_get_stats(&st);
    assert_int_equal(st.busy, 0); /* gr_threads_end waited for them */
    call(f, "a4", 0, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.return_code, 80000);
    gr_faaslet_destroy(f);
}

/* Threads asleep in poll_oneoff (60 s) wake when the main returns. */
static void
test_main_return_wakes_sleepers(void** state)
{
    (void)state;
    gr_faaslet* f;
    assert_int_equal(gr_faaslet_create(proto, &f), 0);
    gr_call_result r;
    uint64_t t0 = mono_ms();
    call(f, "z2", 0, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.return_code, 6);
    assert_true(mono_ms() - t0 < 20000);
    gr_threads_stats st;
    gr_threads_get_stats(&st);
    assert_int_equal(st.busy, 0);
    call(f, "a2", 0, &r);
    assert_int_equal(r.return_code, 40000);
    gr_faaslet_destroy(f);
}

static void
test_thread_limit(void** state)
{
    (void)state;
    gr_faaslet* f;
    assert_int_equal(gr_faaslet_create(proto, &f), 0);
    gr_call_result r;
    call(f, "l0", 0, &r);
    assert_int_equal(r.status, 0);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    assert_true(r.return_code >= 1);
    assert_true(r.return_code <= (cpus > 0 ? cpus : 1));
    assert_int_equal(r.return_code, gr_threads_limit());
    gr_faaslet_destroy(f);
}

static void
test_pool_reuse_after_threaded_calls(void** state)
{
    (void)state;
    gr_pool* pool;
    assert_int_equal(gr_pool_create(proto, NULL, &pool), 0);
    const char* modes[] = { "a4", "x2", "a2", "W2", "a1" };
    for (int i = 0; i < 5; i++) {
        gr_faaslet* f;
        int cold = 0;
        assert_int_equal(gr_pool_acquire(pool, &f, &cold), 0);
        assert_int_equal(cold, i == 0);
        gr_call_result r;
        call(f, modes[i], 200u * 1000000u, &r);
        if (modes[i][0] == 'a') {
            assert_int_equal(r.status, 0);
            assert_int_equal(r.return_code, (modes[i][1] - '0') * 20000);
        } else {
            assert_int_equal(r.status, GR_ETRAP);
        }
        gr_pool_release(pool, f, 0);
    }
    gr_pool_stats ps;
    gr_pool_get_stats(pool, &ps);
    assert_int_equal(ps.cold, 1);
    assert_int_equal(ps.warm, 4);
    gr_pool_destroy(pool);
}

/* A C command built with plain clang: its start function initialises the
 * shared memory once (in the Proto-Faaslet), its threads run on their own
 * shadow stacks. */
static void
test_c_guest_commands(void** state)
{
    (void)state;
    /* Bounds-checked and guard-page memories. */
    const char* guests[] = { "cthreads", "cthreads_guard" };
    for (int gi = 0; gi < 2; gi++) {
        gr_proto* p = make_proto(guests[gi]);
        assert_int_equal(gr_proto_entry(p), GR_ENTRY_COMMAND);
        gr_faaslet* f;
        assert_int_equal(gr_faaslet_create(p, &f), 0);
        for (int round = 0; round < 2; round++)
            for (int n = 1; n <= 4; n *= 2) {
                char in[2] = { (char)('0' + n), 0 }, want[64];
                snprintf(want,
                         sizeof want,
                         "threads=%d counter=%d stack_errors=0\n",
                         n,
                         n * 10000);
                gr_call_result r;
                call(f, in, 0, &r);
                assert_int_equal(r.status, 0);
                assert_int_equal(r.return_code, 0);
                assert_int_equal(r.output_len, strlen(want));
                assert_memory_equal(r.output, want, r.output_len);
            }
        gr_faaslet_destroy(f);
        gr_proto_unref(p);
    }
}

/* Thread instances need a shared memory (engine level). */
static void
test_thread_instance_needs_shared_memory(void** state)
{
    (void)state;
    char path[4096], err[512] = "";
    snprintf(path, sizeof path, "%s/state_reset.wasm", GRANARY_GUEST_DIR);
    gr_object* obj;
    assert_int_equal(gr_engine_load_file(engine, path, &obj, err, sizeof err),
                     0);
    assert_false(gr_threads_module_spawns(obj));
    assert_int_equal(gr_threads_call_timeout(obj, 0), 0);
    gr_instance* in;
    gr_trap t;
    assert_int_equal(gr_instance_create(obj, NULL, &in, &t), 0);
    assert_false(gr_instance_memory_shared(in));
    gr_instance* th = NULL;
    assert_int_equal(gr_instance_thread_create(in, &th), -EINVAL);
    assert_null(th);
    gr_instance_destroy(in);
    gr_object_unref(obj);
}

/* Host functions check guest pointers against the memory's size while
 * another thread of the call grows it (one page at a time, 32 times): the
 * size is read atomically (a plain read raced with wasm_rt_grow_memory's
 * store, which make tsan reported). */
static void
test_host_checks_while_memory_grows(void** state)
{
    (void)state;
    gr_proto* p = make_proto("grow_host");
    gr_faaslet* f;
    assert_int_equal(gr_faaslet_create(p, &f), 0);
    for (int i = 0; i < 3; i++) {
        gr_call_result r;
        call(f, "x", 0, &r);
        assert_int_equal(r.status, 0);
        assert_int_equal(r.return_code, 33);
        assert_int_equal(r.output_len, 1);
    }
    gr_faaslet_destroy(f);
    gr_proto_unref(p);
}

static int
setup(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_engine_config cfg = { .cache_dir = GRANARY_BINARY_DIR "/test-cache",
                             .backend = GR_ENGINE_GRANARY,
                             .import_check = gr_host_import_check };
    if (gr_engine_create(&cfg, &engine))
        return -1;
    proto = make_proto("threads");
    return 0;
}

static int
teardown(void** state)
{
    (void)state;
    gr_proto_unref(proto);
    gr_engine_destroy(engine);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_1_2_4_threads),
        cmocka_unit_test(test_wait_notify),
        cmocka_unit_test(test_trap_in_worker_ends_call),
        cmocka_unit_test(test_exit_in_worker_ends_call),
        cmocka_unit_test(test_timeout_spinning_and_waiting_threads),
        cmocka_unit_test(test_main_return_stops_threads),
        cmocka_unit_test(test_main_return_wakes_sleepers),
        cmocka_unit_test(test_thread_limit),
        cmocka_unit_test(test_pool_reuse_after_threaded_calls),
        cmocka_unit_test(test_c_guest_commands),
        cmocka_unit_test(test_thread_instance_needs_shared_memory),
        cmocka_unit_test(test_host_checks_while_memory_grows),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
