/* SPDX-License-Identifier: Apache-2.0 */
/* Chaining through the scheduler with real guests: a calls b calls c,
 * fan-out of 20 children, no deadlock when every slot waits on a child
 * (slots=1, and slots=2 with nested chains from several threads), the
 * depth bound, and the guest-facing error codes. */
#include <pthread.h>
#include <time.h>

#include "sched_test_util.h"

/* the guest API's codes, as seen by a guest */
#define EHANDLE (-1)
#define ENOENT_ (-4)
#define EDEPTH (-6)
#define EFAULT_ (-7)

static void
test_chain_of_three(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = make_sched(dir, 2, 0);
    call_ok(s, "a", "chain:b,c|x", "a(b(c[x]))", 2);
    /* the children were recorded with their parent */
    gr_call_info ci;
    const char* in = "chain:b|y";
    assert_int_equal(
      gr_sched_call(s, "u", "a", (const uint8_t*)in, strlen(in), NULL, &ci), 0);
    assert_int_equal(ci.return_code, 1);
    gr_call_info_fini(&ci);
    finish(s, dir);
}

static void
test_fan_out(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = make_sched(dir, 2, 0);
    call_ok(s,
            "a",
            "fan:b:20",
            "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19",
            190);
    gr_sched_stats st;
    gr_sched_get_stats(s, &st);
    assert_int_equal(st.calls, 21);
    finish(s, dir);
}

static void
test_no_deadlock_one_slot(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = make_sched(dir, 1, 0);
    call_ok(s, "a", "chain:b,c|x", "a(b(c[x]))", 2);
    call_ok(s, "a", "fan:c:20", NULL, 190);
    call_ok(s, "a", "rec:b:20", NULL, 20);
    /* async parents too: the executor thread lends its slot */
    uint64_t ids[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(
          gr_sched_invoke(
            s, "u", "a", (const uint8_t*)"chain:b,c|z", 11, NULL, &ids[i]),
          0);
    for (int i = 0; i < 4; i++) {
        gr_call_info ci;
        assert_int_equal(gr_sched_await(s, ids[i], 0, &ci), 0);
        assert_int_equal(ci.state, GR_CALL_DONE);
        assert_int_equal(ci.return_code, 2);
        gr_call_info_fini(&ci);
    }
    finish(s, dir);
}

struct worker
{
    gr_sched* s;
    int failures;
};

static void*
nested_main(void* arg)
{
    struct worker* w = arg;
    for (int i = 0; i < 10; i++) {
        const char* in = i % 2 ? "rec:a:6" : "fan:b:8";
        int want = i % 2 ? 6 : 28;
        gr_call_info ci;
        if (gr_sched_call(
              w->s, "u", "a", (const uint8_t*)in, strlen(in), NULL, &ci) ||
            ci.state != GR_CALL_DONE || ci.return_code != want)
            w->failures++;
        gr_call_info_fini(&ci);
    }
    return NULL;
}

static void
test_no_deadlock_nested_two_slots(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = make_sched(dir, 2, 0);
    struct worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){ s, 0 };
        assert_int_equal(pthread_create(&t[i], NULL, nested_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    finish(s, dir);
}

static void
test_depth_and_errors(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = make_sched(dir, 2, 0);
    call_ok(s, "a", "rec:a:60", NULL, 60);
    call_ok(s, "a", "rec:a:100", NULL, EDEPTH);
    call_ok(s, "a", "badptr", NULL, EFAULT_);
    call_ok(s, "a", "badhandle", NULL, EHANDLE);
    call_ok(s, "a", "nochild", NULL, ENOENT_);
    /* a failing child is reported to the parent as failed */
    call_ok(s, "a", "chain:b|", "a(b[])", 1);
    finish(s, dir);
}

static uint64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Issue 9 item 4: user u's parent (300 ms timeout) waits on a child while
 * user v's long call is queued behind them. v's call must run under its
 * own deadline (done, not killed at u's), and the parent must still end
 * as a timeout at its own deadline. */
static void
test_waiting_parent_keeps_deadlines(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = make_sched(dir, 2, 0);
    upload(s, "v", "a", "sched_a");
    gr_invoke_opts po = { .timeout_ns = 300000000ull };
    uint64_t parent, vid;
    const char* hold = "hold:b:1000";
    assert_int_equal(
      gr_sched_invoke(
        s, "u", "a", (const uint8_t*)hold, strlen(hold), &po, &parent),
      0);
    /* both slots busy: the parent (waiting) and its child (sleeping) */
    gr_sched_stats st;
    uint64_t give_up = mono_ns() + 30000000000ull;
    do {
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
        gr_sched_get_stats(s, &st);
    } while (st.running < 2 && mono_ns() < give_up);
    assert_int_equal(st.running, 2);
    gr_invoke_opts vo = { .timeout_ns = 60000000000ull };
    assert_int_equal(
      gr_sched_invoke(s, "v", "a", (const uint8_t*)"busy:600", 8, &vo, &vid),
      0);

    gr_call_info ci;
    assert_int_equal(gr_sched_await(s, parent, 0, &ci), 0);
    assert_int_equal(ci.state, GR_CALL_FAILED);
    assert_int_equal(ci.status, GR_ETIMEOUT);
    uint64_t ran = ci.finished_ns - ci.started_ns;
    /* at its deadline: tens of ms late at most (generous for a loaded
     * machine, far below the child's 1 s) */
    assert_true(ran >= 290000000ull);
    assert_true(ran < 600000000ull);
    gr_call_info_fini(&ci);

    assert_int_equal(gr_sched_await(s, vid, 0, &ci), 0);
    if (ci.state != GR_CALL_DONE)
        fprintf(stderr,
                "v's call: %s status %d trap %s\n",
                gr_call_state_name(ci.state),
                ci.status,
                ci.trap);
    assert_int_equal(ci.state, GR_CALL_DONE);
    assert_int_equal(ci.return_code, 0);
    /* it ran its length (well past the parent's 300 ms) */
    assert_true(ci.finished_ns - ci.started_ns >= 500000000ull);
    gr_call_info_fini(&ci);
    finish(s, dir);
}

/* Deep chains on one slot: every level waits for the next, each on its
 * own executor thread. */
static void
test_deep_chain_one_slot(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = make_sched(dir, 1, 0);
    call_ok(s, "a", "rec:a:60", NULL, 60);
    call_ok(s, "a", "rec:b:30", NULL, 30);
    /* and several at once, through the queue */
    uint64_t ids[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(
          gr_sched_invoke(
            s, "u", "a", (const uint8_t*)"rec:c:40", 8, NULL, &ids[i]),
          0);
    for (int i = 0; i < 3; i++) {
        gr_call_info ci;
        assert_int_equal(gr_sched_await(s, ids[i], 0, &ci), 0);
        assert_int_equal(ci.state, GR_CALL_DONE);
        assert_int_equal(ci.return_code, 40);
        gr_call_info_fini(&ci);
    }
    finish(s, dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_of_three),
        cmocka_unit_test(test_fan_out),
        cmocka_unit_test(test_no_deadlock_one_slot),
        cmocka_unit_test(test_no_deadlock_nested_two_slots),
        cmocka_unit_test(test_depth_and_errors),
        cmocka_unit_test(test_waiting_parent_keeps_deadlines),
        cmocka_unit_test(test_deep_chain_one_slot),
    };
    return cmocka_run_group_tests(tests, engine_setup, engine_teardown);
}
