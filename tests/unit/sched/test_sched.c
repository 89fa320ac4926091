/* SPDX-License-Identifier: Apache-2.0 */
/* The scheduler with real guests: the function store (upload, list, get,
 * delete, bad names, failed uploads, persistence across restarts,
 * replacement under load), sync and async calls, call records, traps and
 * timeouts, the bounded queue, concurrent callers and metrics. */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "sched_test_util.h"

static void
test_store(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = make_sched(dir, 2, 0);
    gr_fn_info* v;
    size_t n;
    assert_int_equal(gr_sched_fn_list(s, "u", &v, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].name, "a");
    assert_string_equal(v[2].name, "c");
    assert_int_equal(strlen(v[0].hash), 64);
    assert_true(v[0].size > 0 && v[0].uploaded_ns > 0);
    gr_free(v);
    assert_int_equal(gr_sched_fn_list(s, "nobody", &v, &n), 0);
    assert_int_equal(n, 0);

    gr_fn_info a, a2;
    assert_int_equal(gr_sched_fn_get(s, "u", "a", &a), 0);
    assert_int_equal(gr_sched_fn_get(s, "u", "zz", &a2), -ENOENT);
    assert_int_equal(gr_sched_fn_get(s, "other", "a", &a2), -ENOENT);

    /* bad names */
    const uint8_t junk[] = "\0asm";
    char err[256];
    const char* bad[] = { "",
                          ".",
                          "..",
                          "a/b",
                          "a b",
                          "é",
                          /* 66 characters: one over the limit */
                          ("0123456789012345678901234567890123456789"
                           "01234567890123456789012345") };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(
          gr_sched_fn_upload(s, "u", bad[i], junk, 4, err, sizeof err),
          -EINVAL);
        assert_int_equal(
          gr_sched_fn_upload(s, bad[i], "f", junk, 4, err, sizeof err),
          -EINVAL);
    }
    /* an invalid module leaves the old version */
    err[0] = '\0';
    int rc = gr_sched_fn_upload(s, "u", "a", junk, 4, err, sizeof err);
    assert_true(rc < 0);
    assert_true(err[0] != '\0');
    assert_int_equal(gr_sched_fn_get(s, "u", "a", &a2), 0);
    assert_string_equal(a.hash, a2.hash);
    call_ok(s, "a", "num:3", "3", 3);

    /* delete */
    assert_int_equal(gr_sched_fn_delete(s, "u", "c"), 0);
    assert_int_equal(gr_sched_fn_delete(s, "u", "c"), -ENOENT);
    gr_call_info ci;
    assert_int_equal(gr_sched_call(s, "u", "c", NULL, 0, NULL, &ci), -ENOENT);
    uint64_t id;
    assert_int_equal(gr_sched_invoke(s, "u", "c", NULL, 0, NULL, &id), -ENOENT);

    /* restart: a new scheduler on the same directory sees a and b and
     * compiles them lazily on first call */
    gr_sched_destroy(s);
    gr_sched_config cfg = { .engine = engine, .data_dir = dir, .slots = 1 };
    assert_int_equal(gr_sched_create(&cfg, &s), 0);
    assert_int_equal(gr_sched_fn_list(s, "u", &v, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].name, "a");
    assert_string_equal(v[0].hash, a.hash);
    assert_int_equal(v[0].uploaded_ns, a.uploaded_ns);
    assert_string_equal(v[1].name, "b");
    gr_free(v);
    call_ok(s, "b", "chain:a|x", "b(a[x])", 1);
    finish(s, dir);
}

static void
test_sync_async_records(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = make_sched(dir, 2, 0);
    gr_call_info ci;
    const char* in = "echo:hi";
    assert_int_equal(
      gr_sched_call(s, "u", "a", (const uint8_t*)in, strlen(in), NULL, &ci), 0);
    assert_int_equal(ci.state, GR_CALL_DONE);
    assert_int_equal(ci.return_code, 2);
    assert_int_equal(ci.output_len, 2);
    assert_memory_equal(ci.output, "hi", 2);
    assert_string_equal(ci.out, "out:hi\n");
    assert_string_equal(ci.err, "err:hi\n");
    assert_string_equal(ci.host, "local");
    assert_string_equal(ci.user, "u");
    assert_string_equal(ci.fn, "a");
    assert_true(ci.id != 0);
    assert_true(ci.finished_ns >= ci.started_ns);
    uint64_t sync_id = ci.id;
    gr_call_info_fini(&ci);

    /* the record of the sync call can be read back, by its user only */
    assert_int_equal(gr_sched_call_get(s, "u", sync_id, &ci), 0);
    assert_int_equal(ci.state, GR_CALL_DONE);
    assert_memory_equal(ci.output, "hi", 2);
    gr_call_info_fini(&ci);
    assert_int_equal(gr_sched_call_get(s, "v", sync_id, &ci), -ENOENT);
    assert_int_equal(gr_sched_call_get(s, "u", 12345, &ci), -ENOENT);

    /* async */
    uint64_t ids[8];
    for (int i = 0; i < 8; i++) {
        char msg[16];
        int n = snprintf(msg, sizeof msg, "num:%d", i);
        assert_int_equal(
          gr_sched_invoke(
            s, "u", "b", (const uint8_t*)msg, (size_t)n, NULL, &ids[i]),
          0);
        for (int j = 0; j < i; j++)
            assert_true(ids[j] != ids[i]);
    }
    for (int i = 0; i < 8; i++) {
        assert_int_equal(gr_sched_await(s, ids[i], 0, &ci), 0);
        assert_int_equal(ci.state, GR_CALL_DONE);
        assert_int_equal(ci.return_code, i);
        gr_call_info_fini(&ci);
    }
    /* errors */
    assert_int_equal(gr_sched_call(s, "u", "nope", NULL, 0, NULL, &ci),
                     -ENOENT);
    assert_int_equal(gr_sched_call(s, "u", "..", NULL, 0, NULL, &ci), -ENOENT);

    gr_sched_stats st;
    gr_sched_get_stats(s, &st);
    assert_int_equal(st.calls, 9);
    assert_int_equal(st.errors, 0);
    assert_int_equal(st.slots, 2);
    assert_true(st.cold_starts >= 1);
    assert_int_equal(st.cold_starts + st.warm_starts, 9);
    assert_int_equal(st.bucket_count[GR_SCHED_LATENCY_BUCKETS - 1], 9);
    assert_true(st.faaslets_alive >= 2);
    assert_true(st.latency_sum_s > 0);
    finish(s, dir);
}

static void
test_trap_and_timeout(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = make_sched(dir, 1, 0);
    gr_call_info ci;
    assert_int_equal(
      gr_sched_call(s, "u", "a", (const uint8_t*)"trap", 4, NULL, &ci), 0);
    assert_int_equal(ci.state, GR_CALL_FAILED);
    assert_int_equal(ci.status, GR_ETRAP);
    assert_string_equal(ci.trap, gr_trap_name(GR_TRAP_UNREACHABLE));
    gr_call_info_fini(&ci);

#ifndef __SANITIZE_THREAD__
    /* Not under TSan: it defers asynchronous signals until the thread
     * reaches an intercepted call, which a spinning guest never does, so
     * the deadline signal cannot stop it there. */
    gr_invoke_opts o = { .timeout_ns = 100000000 };
    assert_int_equal(
      gr_sched_call(s, "u", "a", (const uint8_t*)"spin", 4, &o, &ci), 0);
    assert_int_equal(ci.state, GR_CALL_FAILED);
    assert_int_equal(ci.status, GR_ETIMEOUT);
    assert_string_equal(ci.trap, gr_trap_name(GR_TRAP_TIMEOUT));
    gr_call_info_fini(&ci);
    /* async, through the executor thread */
    uint64_t id;
    assert_int_equal(
      gr_sched_invoke(s, "u", "a", (const uint8_t*)"spin", 4, &o, &id), 0);
    assert_int_equal(gr_sched_await(s, id, 0, &ci), 0);
    assert_int_equal(ci.status, GR_ETIMEOUT);
    gr_call_info_fini(&ci);
    const int timeouts = 2;
#else
    const int timeouts = 0;
#endif

    /* the one slot is usable again */
    call_ok(s, "a", "num:7", "7", 7);
    gr_sched_stats st;
    gr_sched_get_stats(s, &st);
    assert_int_equal(st.errors, 1 + timeouts);
    assert_int_equal(st.timeouts, timeouts);
    assert_int_equal(st.running, 0);
    finish(s, dir);
}

static void
test_queue_overflow(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = make_sched(dir, 1, 2);
    gr_sched_stats st;
    uint64_t ids[3], id;
    const uint8_t* slow = (const uint8_t*)"sleep:300";
    assert_int_equal(gr_sched_invoke(s, "u", "a", slow, 9, NULL, &ids[0]), 0);
    for (int i = 0; i < 2000; i++) {
        gr_sched_get_stats(s, &st);
        if (st.running == 1)
            break;
        usleep(1000);
    }
    assert_int_equal(st.running, 1);
    assert_int_equal(gr_sched_invoke(s, "u", "a", slow, 9, NULL, &ids[1]), 0);
    assert_int_equal(gr_sched_invoke(s, "u", "a", slow, 9, NULL, &ids[2]), 0);
    assert_int_equal(gr_sched_invoke(s, "u", "a", slow, 9, NULL, &id), -EBUSY);
    gr_call_info ci;
    assert_int_equal(gr_sched_call(s, "u", "a", slow, 9, NULL, &ci), -EBUSY);
    gr_sched_get_stats(s, &st);
    assert_int_equal(st.rejected, 2);
    assert_int_equal(st.queue_depth, 2);
    /* waiting with a bound times out */
    assert_int_equal(gr_sched_await(s, ids[2], 1000000, &ci), -ETIMEDOUT);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(gr_sched_await(s, ids[i], 0, &ci), 0);
        assert_int_equal(ci.state, GR_CALL_DONE);
        gr_call_info_fini(&ci);
    }
    finish(s, dir);
}

struct done_hook
{
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t id;
    int calls;
};

static void
on_done(void* ud, uint64_t id)
{
    struct done_hook* h = ud;
    pthread_mutex_lock(&h->lock);
    h->id = id;
    h->calls++;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

/* The completion hook fires once, after the record is published; a hook on
 * a finished or unknown call says so instead. */
static void
test_done_hook(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = make_sched(dir, 1, 0);
    struct done_hook h = {
        PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0
    };
    uint64_t id;
    const uint8_t* slow = (const uint8_t*)"sleep:100";
    assert_int_equal(gr_sched_invoke(s, "u", "a", slow, 9, NULL, &id), 0);
    assert_int_equal(gr_sched_on_done(s, id, on_done, &h), 0);
    assert_int_equal(gr_sched_on_done(s, id, on_done, &h), -EBUSY);
    pthread_mutex_lock(&h.lock);
    while (!h.calls)
        pthread_cond_wait(&h.cond, &h.lock);
    pthread_mutex_unlock(&h.lock);
    assert_int_equal(h.id, id);
    gr_call_info ci;
    assert_int_equal(gr_sched_await(s, id, 1, &ci), 0);
    assert_int_equal(ci.state, GR_CALL_DONE);
    gr_call_info_fini(&ci);
    assert_int_equal(gr_sched_on_done(s, id, on_done, &h), 1);
    assert_int_equal(gr_sched_on_done(s, id + 1, on_done, &h), -ENOENT);
    usleep(20000);
    assert_int_equal(h.calls, 1);
    finish(s, dir);
}

static void
test_records_bounded(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched_config cfg = {
        .engine = engine,
        .data_dir = dir,
        .slots = 1,
        .max_records = 16,
        .journal_max_records = 16,
    };
    gr_sched* s;
    assert_int_equal(gr_sched_create(&cfg, &s), 0);
    upload(s, "u", "a", "sched_a");
    gr_call_info ci;
    uint64_t first = 0;
    for (int i = 0; i < 200; i++) {
        assert_int_equal(
          gr_sched_call(s, "u", "a", (const uint8_t*)"num:1", 5, NULL, &ci), 0);
        if (!first)
            first = ci.id;
        gr_call_info_fini(&ci);
    }
    assert_int_equal(gr_sched_call_get(s, "u", first, &ci), -ENOENT);
    finish(s, dir);
}

/* Replacing a function while calls run: they finish on the old version. */
static void
test_replace_under_load(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = make_sched(dir, 2, 0);
    uint64_t id;
    const char* in = "chain:|x";
    assert_int_equal(
      gr_sched_invoke(s, "u", "a", (const uint8_t*)"sleep:200", 9, NULL, &id),
      0);
    usleep(50000);
    upload(s, "u", "a", "sched_c"); /* a now says c[...] */
    gr_call_info ci;
    assert_int_equal(gr_sched_await(s, id, 0, &ci), 0);
    assert_int_equal(ci.state, GR_CALL_DONE);
    gr_call_info_fini(&ci);
    call_ok(s, "a", in, "c[x]", 0);
    finish(s, dir);
}

struct worker
{
    gr_sched* s;
    int base;
    int failures;
};

static void*
worker_main(void* arg)
{
    struct worker* w = arg;
    for (int i = 0; i < 300; i++) {
        char msg[32];
        int v = w->base + i;
        int n = snprintf(msg, sizeof msg, "num:%d", v);
        gr_call_info ci;
        if (gr_sched_call(w->s,
                          "u",
                          i % 2 ? "a" : "b",
                          (const uint8_t*)msg,
                          (size_t)n,
                          NULL,
                          &ci) ||
            ci.state != GR_CALL_DONE || ci.return_code != v ||
            ci.output_len != (size_t)n - 4 ||
            memcmp(ci.output, msg + 4, ci.output_len) != 0)
            w->failures++;
        gr_call_info_fini(&ci);
    }
    return NULL;
}

static void
test_concurrent_callers(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = make_sched(dir, 2, 0);
    struct worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){ s, i * 1000, 0 };
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    gr_sched_stats st;
    gr_sched_get_stats(s, &st);
    assert_int_equal(st.calls, 1200);
    assert_int_equal(st.running, 0);
    assert_int_equal(st.queue_depth, 0);
    finish(s, dir);
}

/* Over the engine's bound of loaded objects, functions no call uses drop
 * their runtime so the engine can unload their objects; they load again on
 * their next call. */
static void
test_idle_functions_unloaded(void** state)
{
    (void)state;
    gr_engine* shared = engine;
    gr_engine_config ecfg = { .cache_dir = GRANARY_BINARY_DIR "/test-cache",
                              .import_check = gr_host_import_check,
                              .max_objects = 1 };
    assert_int_equal(gr_engine_create(&ecfg, &engine), 0);
    char* dir = new_data_dir();
    gr_sched* s = make_sched(dir, 2, 16);
    gr_engine_stats st;
    gr_engine_get_stats(engine, &st);
    assert_int_equal(st.loaded, 1);
    assert_true(st.unloads >= 2);
    for (int round = 0; round < 2; round++) {
        call_ok(s, "a", "num:3", "3", 3);
        call_ok(s, "c", "chain:|x", "c[x]", 0);
    }
    gr_engine_get_stats(engine, &st);
    assert_int_equal(st.loaded, 1);
    assert_true(st.unloads >= 5);
    finish(s, dir);
    gr_engine_destroy(engine);
    engine = shared;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store),
        cmocka_unit_test(test_sync_async_records),
        cmocka_unit_test(test_trap_and_timeout),
        cmocka_unit_test(test_queue_overflow),
        cmocka_unit_test(test_records_bounded),
        cmocka_unit_test(test_done_hook),
        cmocka_unit_test(test_replace_under_load),
        cmocka_unit_test(test_concurrent_callers),
        cmocka_unit_test(test_idle_functions_unloaded),
    };
    return cmocka_run_group_tests(tests, engine_setup, engine_teardown);
}
