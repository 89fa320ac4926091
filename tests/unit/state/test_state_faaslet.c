/* SPDX-License-Identifier: Apache-2.0 */
/* Faaslets sharing state through real guests (tests/guests/state): two
 * Faaslets in one process see each other's writes with no copy, the
 * mapping survives memory.grow, reset unmaps it and the next call maps it
 * again, locks (waits bounded by a deadline, released by the end of the
 * call from any thread), the copying API, pointer checks, user isolation.
 * Built
 * against the embedded tier (unit) and a private redis-server
 * (integration). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "../../support/testutil.h"
#include "faaslet/faaslet.h"
#include "host/host.h"
#include "state/state.h"
#include "util/alloc.h"

#ifndef GR_TEST_REDIS
#define GR_TEST_REDIS 0
#endif

static gr_engine* engine;
static gr_test_redis redis;
static gr_state* st;
static gr_proto* proto;

static gr_faaslet*
make_faaslet(const char* user)
{
    gr_faaslet* f;
    assert_int_equal(gr_faaslet_create(proto, &f), 0);
    assert_int_equal(gr_faaslet_set_state(f, st, user), 0);
    return f;
}

/* Runs one call; returns its output as a NUL-terminated static string. */
static const char*
call(gr_faaslet* f, const char* in)
{
    static __thread char buf[1024];
    gr_call c = { .input = (const uint8_t*)in, .input_len = strlen(in) };
    gr_call_result r;
    assert_int_equal(gr_faaslet_call(f, &c, &r), 0);
    if (r.status)
        fprintf(stderr,
                "call '%s': status %d trap %s\n",
                in,
                r.status,
                gr_trap_name(r.trap.kind));
    assert_int_equal(r.status, 0);
    snprintf(buf, sizeof buf, "%.*s", (int)r.output_len, (const char*)r.output);
    return buf;
}

struct waiter
{
    gr_faaslet* f;
    char out[256];
};

static void*
wait_thread(void* p)
{
    struct waiter* w = p;
    gr_call c = { .input = (const uint8_t*)"wait zc 4096 42", .input_len = 15 };
    gr_call_result r;
    if (gr_faaslet_call(w->f, &c, &r) == 0)
        snprintf(w->out,
                 sizeof w->out,
                 "%.*s",
                 (int)r.output_len,
                 (const char*)r.output);
    return NULL;
}

static void
test_zero_copy_between_faaslets(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_faaslet* a = make_faaslet("alice");
    gr_faaslet* b = make_faaslet("alice");
    /* A spins on its mapping while B writes through its own. */
    struct waiter w = { .f = a };
    pthread_t th;
    pthread_create(&th, NULL, wait_thread, &w);
    usleep(100000);
    const char* o = call(b, "write zc 4096 42");
    assert_non_null(strstr(o, "v=42"));
    pthread_join(th, NULL);
    assert_non_null(strstr(w.out, "seen=42"));
    /* nothing went through the global tier: there is no copy there */
    uint8_t* d;
    size_t n;
    assert_int_equal(gr_state_get(st, "alice", "zc", &d, &n), -ENOENT);
    /* the host sees it in the same segment */
    gr_state_key* k;
    assert_int_equal(gr_state_key_open(st, "alice", "zc", 2, 0, &k), 0);
    int v = 0;
    assert_int_equal(gr_state_key_read(k, 0, &v, 4), 0);
    assert_int_equal(v, 42);
    gr_state_key_unref(k);
    gr_faaslet_destroy(a);
    gr_faaslet_destroy(b);
    gr_state_delete(st, "alice", "zc");
}

static void
test_reset_unmaps_and_next_call_maps_again(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_faaslet* a = make_faaslet("alice");
    gr_faaslet* b = make_faaslet("alice");
    const char* o = call(a, "write rs 8192 7");
    long ptr = -1;
    assert_int_equal(sscanf(o, "ptr=%ld", &ptr), 1);
    /* After the reset A's memory at ptr is private again (or gone). */
    wasm_rt_memory_t* mem = gr_instance_memory(gr_faaslet_instance(a));
    if ((uint64_t)ptr + 4 <= mem->size) {
        int priv;
        memcpy(&priv, mem->data + ptr, 4);
        assert_int_not_equal(priv, 7);
    }
    assert_string_equal(call(a, "read rs 8192"), "v=7 last=7");
    assert_string_equal(call(b, "read rs 8192"), "v=7 last=7");
    assert_string_equal(call(a, "read rs 8192"), "v=7 last=7");
    gr_faaslet_destroy(a);
    gr_faaslet_destroy(b);
    gr_state_delete(st, "alice", "rs");
}

static void
test_pointer_survives_memory_grow(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_faaslet* a = make_faaslet("alice");
    const char* o = call(a, "grow gw 4096");
    assert_non_null(strstr(o, "after_grow=1235"));
    long pages = 0;
    sscanf(strstr(o, "pages="), "pages=%ld", &pages);
    assert_true(pages > 512); /* it really grew (32 MiB) */
    gr_faaslet* b = make_faaslet("alice");
    assert_non_null(strstr(call(b, "read gw 4096"), "v=1235"));
    gr_faaslet_destroy(a);
    gr_faaslet_destroy(b);
    gr_state_delete(st, "alice", "gw");
}

struct incr
{
    gr_faaslet* f;
    int n, bad;
};

static void*
incr_thread(void* p)
{
    struct incr* x = p;
    for (int i = 0; i < x->n; i++) {
        gr_call c = { .input = (const uint8_t*)"incr ctr", .input_len = 8 };
        gr_call_result r;
        if (gr_faaslet_call(x->f, &c, &r) || r.status || r.return_code)
            x->bad++;
    }
    return NULL;
}

static void
test_locked_increments_from_two_threads(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    struct incr x[2] = { { make_faaslet("alice"), 300, 0 },
                         { make_faaslet("alice"), 300, 0 } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, incr_thread, &x[i]);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(x[i].bad, 0);
    }
    assert_string_equal(call(x[0].f, "incr ctr"), "v=6010");
    gr_faaslet_destroy(x[0].f);
    gr_faaslet_destroy(x[1].f);
    gr_state_delete(st, "alice", "ctr");
}

static void
test_copying_api_push_pull_append(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_faaslet* a = make_faaslet("alice");
    gr_faaslet* b = make_faaslet("alice");
    assert_string_equal(call(a, "setstr msg 0 0 hello there"), "rc=00");
    assert_string_equal(call(b, "getstr msg"), "hello there");
    uint8_t* d;
    size_t n;
    assert_int_equal(gr_state_get(st, "alice", "msg", &d, &n), 0);
    assert_int_equal(n, 11);
    gr_free(d);
    assert_string_equal(call(a, "append log 0 0 a;"), "len=20");
    assert_string_equal(call(b, "append log 0 0 bc;"), "len=50");
    assert_string_equal(call(a, "readapp log 0"), "a;bc;");
    assert_string_equal(call(a, "readapp log 2"), "bc;");
    gr_faaslet_destroy(a);
    gr_faaslet_destroy(b);
    gr_state_delete(st, "alice", "msg");
    gr_state_delete(st, "alice", "log");
}

static void
test_errors_and_isolation(void** state)
{
    (void)state;
    gr_rt_install_handlers();
    gr_faaslet* a = make_faaslet("alice");
    gr_faaslet* bob = make_faaslet("bob");
    call(a, "write iso 4096 99");
    assert_string_equal(call(bob, "read iso 4096"), "v=0 last=0");
    assert_string_equal(call(a, "read iso 4096"), "v=99 last=99");
    assert_string_equal(call(a, "badptr iso"), "read=-1 map=-7");
    assert_string_equal(call(a, "oob iso 4090"), "read=-3 push=-3");
    /* locks left held by a call are released by the reset */
    assert_string_equal(call(a, "lockleak iso"), "lock=0 global=0");
    assert_string_equal(call(a, "incr iso"), "v=1000"); /* 100, then a 0 */
    char t[33];
    assert_int_equal(gr_state_lock_global_try(st, "alice", "iso", 3, 100, t),
                     0);
    gr_state_unlock_global(st, "alice", "iso", 3, t);
    /* a Faaslet without state gets a clear code */
    gr_faaslet* none;
    assert_int_equal(gr_faaslet_create(proto, &none), 0);
    assert_string_equal(call(none, "read iso 4096"), "map error -100");
    gr_faaslet_destroy(none);
    gr_faaslet_destroy(a);
    gr_faaslet_destroy(bob);
    gr_state_delete(st, "alice", "iso");
    gr_state_delete(st, "bob", "iso");
}

static uint64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct locker
{
    gr_state_ctx* c;
    gr_state_key* k;
    int mode, rc;
};

static void*
lock_thread(void* p)
{
    struct locker* l = p;
    l->rc = gr_state_ctx_lock(l->c, l->k, l->mode, mono_ns() + 5000000000ull);
    return NULL;
}

static void
test_lock_waits_end_at_deadline(void** state)
{
    (void)state;
    gr_state_key* k;
    assert_int_equal(gr_state_key_open(st, "alice", "dl", 2, 4096, &k), 0);
    gr_state_ctx* c;
    assert_int_equal(gr_state_ctx_create(st, "alice", &c), 0);
    /* a call on another thread takes the write lock and keeps it */
    struct locker l = { c, k, 1, -1 };
    pthread_t th;
    pthread_create(&th, NULL, lock_thread, &l);
    pthread_join(th, NULL);
    assert_int_equal(l.rc, 0);
    /* writers and readers wait at most until their deadline */
    uint64_t t0 = mono_ns();
    assert_int_equal(gr_state_key_lock_until(k, 1, t0 + 100000000ull),
                     -ETIMEDOUT);
    assert_int_equal(gr_state_key_lock_until(k, 0, mono_ns() + 50000000ull),
                     -ETIMEDOUT);
    uint64_t dt = mono_ns() - t0;
    assert_true(dt >= 150000000ull && dt < 2000000000ull);
    /* a deadline already passed does not wait at all */
    assert_int_equal(gr_state_key_lock_until(k, 1, mono_ns() - 1), -ETIMEDOUT);
    /* the end of that call, here on this thread, releases its lock */
    gr_state_ctx_clear(c);
    assert_int_equal(gr_state_key_lock_until(k, 1, mono_ns() + 1000000000ull),
                     0);
    assert_int_equal(gr_state_key_unlock(k, 1), 0);
    assert_int_equal(gr_state_key_unlock(k, 1), -EPERM);
    /* readers share; a waiting writer gets it when the last one leaves */
    assert_int_equal(gr_state_key_lock_until(k, 0, 0), 0);
    l = (struct locker){ c, k, 0, -1 };
    pthread_create(&th, NULL, lock_thread, &l);
    pthread_join(th, NULL);
    assert_int_equal(l.rc, 0);
    assert_int_equal(gr_state_key_lock_until(k, 1, mono_ns() + 50000000ull),
                     -ETIMEDOUT);
    assert_int_equal(gr_state_key_unlock(k, 0), 0);
    gr_state_ctx_clear(c);
    assert_int_equal(gr_state_key_lock_until(k, 1, mono_ns() + 1000000000ull),
                     0);
    assert_int_equal(gr_state_key_unlock(k, 1), 0);
    gr_state_ctx_destroy(c);
    gr_state_key_unref(k);
    gr_state_delete(st, "alice", "dl");
}

static void
test_global_lock_wait_ends_at_deadline(void** state)
{
    (void)state;
    gr_state_key* k;
    assert_int_equal(gr_state_key_open(st, "alice", "gdl", 3, 4096, &k), 0);
    char t1[33], t2[33];
    assert_int_equal(gr_state_key_lock_global(k, t1), 0);
    /* lock_wait_ms is 10 s; the deadline comes first */
    uint64_t t0 = mono_ns();
    assert_int_equal(gr_state_key_lock_global_until(k, t2, t0 + 100000000ull),
                     -ETIMEDOUT);
    uint64_t dt = mono_ns() - t0;
    assert_true(dt >= 100000000ull && dt < 2000000000ull);
    assert_int_equal(gr_state_key_unlock_global(k, t1), 0);
    assert_int_equal(
      gr_state_key_lock_global_until(k, t2, mono_ns() + 1000000000ull), 0);
    assert_int_equal(gr_state_key_unlock_global(k, t2), 0);
    gr_state_key_unref(k);
    gr_state_delete(st, "alice", "gdl");
}

static int
setup(void** state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    if (GR_TEST_REDIS && gr_test_redis_start(&redis) != 0)
        return -1;
    gr_state_config sc = { .redis = GR_TEST_REDIS ? redis.addr : NULL,
                           .timeout_ms = 2000 };
    char err[256];
    if (gr_state_create(&sc, &st, err, sizeof err)) {
        fprintf(stderr, "state: %s\n", err);
        return -1;
    }
    gr_engine_config cfg = { .cache_dir = GRANARY_BINARY_DIR "/test-cache",
                             .import_check = gr_host_import_check };
    if (gr_engine_create(&cfg, &engine))
        return -1;
    gr_object* obj;
    if (gr_engine_load_file(engine,
                            GRANARY_GUEST_DIR "/state_guest.wasm",
                            &obj,
                            err,
                            sizeof err)) {
        fprintf(stderr, "load: %s\n", err);
        return -1;
    }
    int rc = gr_proto_create(obj, NULL, &proto, err, sizeof err);
    gr_object_unref(obj);
    if (rc)
        fprintf(stderr, "proto: %s\n", err);
    return rc;
}

static int
teardown(void** state)
{
    (void)state;
    gr_proto_unref(proto);
    gr_engine_destroy(engine);
    gr_state_destroy(st);
    gr_test_redis_stop(&redis);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_copy_between_faaslets),
        cmocka_unit_test(test_reset_unmaps_and_next_call_maps_again),
        cmocka_unit_test(test_pointer_survives_memory_grow),
        cmocka_unit_test(test_locked_increments_from_two_threads),
        cmocka_unit_test(test_copying_api_push_pull_append),
        cmocka_unit_test(test_errors_and_isolation),
        cmocka_unit_test(test_lock_waits_end_at_deadline),
        cmocka_unit_test(test_global_lock_wait_ends_at_deadline),
    };
    return cmocka_run_group_tests_name(
      GR_TEST_REDIS ? "state faaslets (redis)" : "state faaslets (embedded)",
      tests,
      setup,
      teardown);
}
