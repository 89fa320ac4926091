/* SPDX-License-Identifier: Apache-2.0 */
/* Every blocking host call ends at the call's deadline: a guest sleeping
 * (nanosleep, poll) or waiting for a state lock or a chained child ends as
 * "failed"/"timeout" promptly, not when the wait would have ended; locks
 * crossed by two calls time out and are free again afterwards; a call that
 * traps or times out holding a lock releases it. Real guest
 * (tests/guests/host/blocker.c) run through the scheduler. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <granary/status.h>

#include "host/host.h"
#include "sched/sched.h"
#include "state/state.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "util/time.h"

#define MS 1000000ull

static gr_engine* engine;
static gr_state* st;
static gr_sched* s;
static char dir[64];

static uint64_t
now_ns(void)
{
    return gr_time_now_ns();
}

static void
upload(const char* fn)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/blocker.wasm", GRANARY_GUEST_DIR);
    uint8_t* w;
    size_t n;
    assert_int_equal(gr_fs_read_file(path, 64u << 20, &w, &n), 0);
    char err[512] = "";
    int rc = gr_sched_fn_upload(s, "u", fn, w, n, err, sizeof err);
    if (rc)
        fprintf(stderr, "upload: %s\n", err);
    assert_int_equal(rc, 0);
    gr_free(w);
}

static void
dump(const char* in, const gr_call_info* ci)
{
    fprintf(stderr,
            "%s: state %s status %d rc %d trap '%s' out '%.*s' after %.0f ms\n",
            in,
            gr_call_state_name(ci->state),
            ci->status,
            ci->return_code,
            ci->trap,
            (int)ci->output_len,
            (const char*)ci->output,
            (double)(ci->finished_ns - ci->started_ns) / 1e6);
}

/* Runs `in` with a timeout (ms) and returns its record; *took = wall ms. */
static void
run(const char* in, uint64_t timeout_ms, gr_call_info* ci, double* took)
{
    gr_invoke_opts o = { .timeout_ns = timeout_ms * MS };
    uint64_t t0 = now_ns();
    assert_int_equal(
      gr_sched_call(s, "u", "blocker", (const uint8_t*)in, strlen(in), &o, ci),
      0);
    if (took)
        *took = (double)(now_ns() - t0) / 1e6;
}

static void
expect_timeout(const char* in, uint64_t timeout_ms)
{
    gr_call_info ci;
    double took;
    run(in, timeout_ms, &ci, &took);
    if (ci.state != GR_CALL_FAILED || strcmp(ci.trap, "timeout") != 0 ||
        took >= 1000)
        dump(in, &ci);
    assert_int_equal(ci.state, GR_CALL_FAILED);
    assert_string_equal(ci.trap, "timeout");
    /* the wait would have lasted 3 s; the deadline is 100 ms */
    assert_true(took < 1000);
    gr_call_info_fini(&ci);
}

static void
expect_output(const char* in, uint64_t timeout_ms, const char* want)
{
    gr_call_info ci;
    run(in, timeout_ms, &ci, NULL);
    if (ci.state != GR_CALL_DONE || ci.output_len != strlen(want) ||
        memcmp(ci.output, want, ci.output_len) != 0)
        dump(in, &ci);
    assert_int_equal(ci.state, GR_CALL_DONE);
    assert_int_equal(ci.output_len, strlen(want));
    assert_memory_equal(ci.output, want, ci.output_len);
    gr_call_info_fini(&ci);
}

/* Waits (up to 20 s) until a call published the flag key. */
static void
wait_flag(const char* key)
{
    for (int i = 0; i < 4000; i++) {
        uint8_t* d;
        size_t n;
        if (gr_state_get(st, "u", key, &d, &n) == 0) {
            gr_free(d);
            return;
        }
        struct timespec ts = { 0, 5 * MS };
        nanosleep(&ts, NULL);
    }
    fail_msg("flag %s never set", key);
}

/* The host can take the key's write lock within a second. */
static void
expect_free(const char* key)
{
    gr_state_key* k;
    assert_int_equal(gr_state_key_open(st, "u", key, strlen(key), 4096, &k), 0);
    assert_int_equal(gr_state_key_lock_until(k, 1, now_ns() + 1000 * MS), 0);
    assert_int_equal(gr_state_key_unlock(k, 1), 0);
    gr_state_key_unref(k);
}

static void
test_sleep_ends_at_deadline(void** state)
{
    (void)state;
    expect_output("sleep 1", 10000, "slept0"); /* warm, and sleeps work */
    expect_timeout("sleep 3000", 100);
    expect_timeout("poll 3000", 100);
    /* a sleep shorter than the deadline is untouched */
    expect_output("poll 20", 10000, "polled 0");
}

static void
test_lock_wait_ends_at_deadline(void** state)
{
    (void)state;
    gr_state_delete(st, "u", "held");
    uint64_t id;
    const char* hold = "hold lk 2000";
    gr_invoke_opts o = { .timeout_ns = 20000 * MS };
    assert_int_equal(
      gr_sched_invoke(
        s, "u", "blocker", (const uint8_t*)hold, strlen(hold), &o, &id),
      0);
    wait_flag("held");
    expect_timeout("lock lk 1", 100);
    expect_timeout("lock lk 0", 100); /* readers wait for the writer too */
    gr_call_info ci;
    assert_int_equal(gr_sched_await(s, id, 0, &ci), 0);
    if (ci.state != GR_CALL_DONE)
        dump(hold, &ci);
    assert_int_equal(ci.state, GR_CALL_DONE);
    gr_call_info_fini(&ci);
    /* the holder's end released it */
    expect_output("lock lk 1", 10000, "lock=0");
    expect_free("lk");
}

static void
test_crossed_locks_time_out_and_are_released(void** state)
{
    (void)state;
    gr_state_delete(st, "u", "x1");
    gr_state_delete(st, "u", "x2");
    const char* in[2] = { "cross ka kb x1 x2", "cross kb ka x2 x1" };
    uint64_t id[2];
    gr_invoke_opts o = { .timeout_ns = 1500 * MS };
    for (int i = 0; i < 2; i++)
        assert_int_equal(gr_sched_invoke(s,
                                         "u",
                                         "blocker",
                                         (const uint8_t*)in[i],
                                         strlen(in[i]),
                                         &o,
                                         &id[i]),
                         0);
    /* The first to reach its deadline times out and its end releases its
     * key, so the other may then get both (or time out as well). */
    int timeouts = 0;
    for (int i = 0; i < 2; i++) {
        gr_call_info ci;
        assert_int_equal(gr_sched_await(s, id[i], 0, &ci), 0);
        int timed_out =
          ci.state == GR_CALL_FAILED && strcmp(ci.trap, "timeout") == 0;
        int crossed = ci.state == GR_CALL_DONE && ci.output_len == 9 &&
                      memcmp(ci.output, "crossed=0", 9) == 0;
        if (!timed_out && !crossed)
            dump(in[i], &ci);
        assert_true(timed_out || crossed);
        timeouts += timed_out;
        gr_call_info_fini(&ci);
    }
    assert_true(timeouts >= 1);
    /* both keys are free again, for calls and for the host */
    expect_output("lock ka 1", 10000, "lock=0");
    expect_output("lock kb 1", 10000, "lock=0");
    expect_free("ka");
    expect_free("kb");
}

static void
test_trap_or_timeout_releases_lock(void** state)
{
    (void)state;
    gr_call_info ci;
    run("traplock tk", 10000, &ci, NULL);
    assert_int_equal(ci.state, GR_CALL_FAILED);
    assert_string_not_equal(ci.trap, "timeout");
    gr_call_info_fini(&ci);
    expect_output("lock tk 1", 10000, "lock=0");
    expect_free("tk");
    /* a call that times out while holding a lock releases it too */
    expect_timeout("hold tk 3000", 100);
    expect_output("lock tk 1", 10000, "lock=0");
    expect_free("tk");
}

static void
test_await_ends_at_deadline(void** state)
{
    (void)state;
    expect_timeout("await blocker 3000", 100);
    /* a child faster than the deadline is awaited as usual */
    expect_output("await blocker 1", 10000, "await=0");
}

static int
setup(void** state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/gr-host-deadline-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char err[256];
    if (gr_state_create(NULL, &st, err, sizeof err))
        return -1;
    gr_engine_config ec = { .cache_dir = GRANARY_BINARY_DIR "/test-cache",
                            .import_check = gr_host_import_check };
    if (gr_engine_create(&ec, &engine))
        return -1;
    gr_sched_config cfg = {
        .engine = engine, .data_dir = dir, .slots = 2, .state = st
    };
    if (gr_sched_create(&cfg, &s))
        return -1;
    upload("blocker");
    return 0;
}

static int
teardown(void** state)
{
    (void)state;
    gr_sched_destroy(s);
    gr_engine_destroy(engine);
    gr_state_destroy(st);
    gr_fs_remove_tree(dir);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sleep_ends_at_deadline),
        cmocka_unit_test(test_lock_wait_ends_at_deadline),
        cmocka_unit_test(test_crossed_locks_time_out_and_are_released),
        cmocka_unit_test(test_trap_or_timeout_releases_lock),
        cmocka_unit_test(test_await_ends_at_deadline),
    };
    /* GR_TEST_FILTER=test_name runs one test (e.g. to watch it fail). */
    if (getenv("GR_TEST_FILTER"))
        cmocka_set_test_filter(getenv("GR_TEST_FILTER"));
    return cmocka_run_group_tests_name(
      "host calls and deadlines", tests, setup, teardown);
}
