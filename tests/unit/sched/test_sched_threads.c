/* SPDX-License-Identifier: Apache-2.0 */
/* Thread granules (docs/threads.md, "Scheduling"): a call's guest threads
 * take their slots from the scheduler's pool, as calls do. thread_limit
 * grants 1 + the free slots, spawns beyond the grant fail with EAGAIN
 * unless the call asked for more threads, slots are held while threads
 * run and come back on every path (a thread ending, the call ending, a
 * trap, proc_exit, a timeout), concurrent threaded calls never run more
 * threads than there are slots, and the stats and hosts show them. The
 * guest is tests/guests/threads/tgrant.c. */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "sched_test_util.h"

#include "host/threads.h"

static gr_sched*
tsched(const char* dir, int slots)
{
    gr_sched_config cfg = {
        .engine = engine, .data_dir = dir, .slots = slots, .queue_max = 64
    };
    gr_sched* s;
    assert_int_equal(gr_sched_create(&cfg, &s), 0);
    upload(s, "u", "t", "tgrant");
    return s;
}

struct out
{
    int limit, spawned, refused, done;
};

static void
parse_out(const gr_call_info* ci, struct out* o)
{
    /* a command's stdout is the call's output */
    char text[256] = "";
    size_t n =
      ci->output_len < sizeof text - 1 ? ci->output_len : sizeof text - 1;
    if (n)
        memcpy(text, ci->output, n);
    memset(o, 0, sizeof *o);
    o->limit = o->spawned = o->refused = -1;
    sscanf(text,
           "limit=%d spawned=%d refused=%d",
           &o->limit,
           &o->spawned,
           &o->refused);
    o->done = strstr(text, "done\n") != NULL;
}

/* Runs one call of the guest synchronously; threads = the call's option. */
static void
run(gr_sched* s,
    const char* in,
    int threads,
    uint64_t timeout_ns,
    gr_call_info* ci,
    struct out* o)
{
    gr_invoke_opts op = { .threads = threads, .timeout_ns = timeout_ns };
    assert_int_equal(
      gr_sched_call(s, "u", "t", (const uint8_t*)in, strlen(in), &op, ci), 0);
    parse_out(ci, o);
}

static void
run_ok(gr_sched* s, const char* in, int threads, struct out* o)
{
    gr_call_info ci;
    run(s, in, threads, 0, &ci, o);
    if (ci.state != GR_CALL_DONE || ci.return_code != 0 || !o->done)
        fprintf(stderr,
                "%s: state %s status %d rc %d out [%.*s] err [%s]\n",
                in,
                gr_call_state_name(ci.state),
                ci.status,
                ci.return_code,
                (int)ci.output_len,
                (const char*)ci.output,
                ci.err);
    assert_int_equal(ci.state, GR_CALL_DONE);
    assert_int_equal(ci.return_code, 0);
    assert_true(o->done);
    gr_call_info_fini(&ci);
}

static gr_sched_stats
stats(gr_sched* s)
{
    gr_sched_stats st;
    gr_sched_get_stats(s, &st);
    return st;
}

/* Nothing held by threads, and every slot free again: a call that asks
 * gets all of them. */
static void
assert_all_slots_back(gr_sched* s, int slots)
{
    gr_sched_stats st = stats(s);
    assert_int_equal(st.thread_granules, 0);
    assert_int_equal(st.thread_slots, 0);
    struct out o;
    /* An executor gives its call's slot back just after the record is
     * published: retry briefly (a leaked slot never comes back). */
    for (int i = 0; i < 100; i++) {
        run_ok(s, "1 0 0 0 0", 0, &o);
        if (o.limit == slots)
            break;
        usleep(20000);
    }
    assert_int_equal(o.limit, slots);
    assert_int_equal(o.spawned, slots - 1);
    assert_int_equal(o.refused, 0);
    st = stats(s);
    assert_int_equal(st.thread_granules, 0);
    assert_int_equal(st.thread_slots, 0);
}

/* Polls (bounded) until pred holds on the stats. */
static int
wait_stats(gr_sched* s, int (*pred)(const gr_sched_stats*), gr_sched_stats* st)
{
    for (int i = 0; i < 20000; i++) {
        *st = stats(s);
        if (pred(st))
            return 1;
        usleep(1000);
    }
    return 0;
}

/* thread_limit: 1 + the free slots; the grant is spawned in full. */
static void
test_limit_is_one_plus_free_slots(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = tsched(dir, 3);
    gr_sched_stats before = stats(s);
    struct out o;
    run_ok(s, "1 0 0 0 0", 0, &o);
    assert_int_equal(o.limit, 3);
    assert_int_equal(o.spawned, 2);
    assert_int_equal(o.refused, 0);
    gr_sched_stats st = stats(s);
    assert_int_equal(st.threads_started - before.threads_started, 2);
    assert_int_equal(st.threads_refused - before.threads_refused, 0);
    assert_all_slots_back(s, 3);
    finish(s, dir);
}

/* Spawns beyond the free slots fail with EAGAIN, with or without asking
 * thread_limit first; a call that asks for threads may oversubscribe up
 * to them (and thread_limit then says so). */
static void
test_spawn_beyond_grant(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = tsched(dir, 2);
    gr_sched_stats before = stats(s);
    struct out o;
    run_ok(s, "1 3 0 0 0", 0, &o);
    assert_int_equal(o.limit, 2);
    assert_int_equal(o.spawned, 1);
    assert_int_equal(o.refused, 2);
    run_ok(s, "0 3 0 0 0", 0, &o);
    assert_int_equal(o.spawned, 1);
    assert_int_equal(o.refused, 2);
    gr_sched_stats st = stats(s);
    assert_int_equal(st.threads_refused - before.threads_refused, 4);
    /* the user asks for 4: one thread on the free slot, two beyond */
    run_ok(s, "1 0 0 0 0", 4, &o);
    assert_int_equal(o.limit, 4);
    assert_int_equal(o.spawned, 3);
    assert_int_equal(o.refused, 0);
    run_ok(s, "0 5 0 0 0", 4, &o);
    assert_int_equal(o.spawned, 3);
    assert_int_equal(o.refused, 2);
    /* an out-of-range request is refused before anything runs */
    gr_invoke_opts bad = { .threads = 258 };
    gr_call_info ci;
    assert_int_equal(
      gr_sched_call(s, "u", "t", (const uint8_t*)"1", 1, &bad, &ci), -EINVAL);
    uint64_t id;
    assert_int_equal(
      gr_sched_invoke(s, "u", "t", (const uint8_t*)"1", 1, &bad, &id), -EINVAL);
    assert_all_slots_back(s, 2);
    finish(s, dir);
}

static int
two_running(const gr_sched_stats* st)
{
    return st->thread_granules == 2;
}

static int
none_running(const gr_sched_stats* st)
{
    return st->thread_granules == 0;
}

static int
three_running(const gr_sched_stats* st)
{
    return st->thread_granules == 3;
}

/* The grant's slots are the pool's: while a call's three threads run, a
 * 4-slot scheduler has none left and the next call queues; the hosts list
 * shows them. */
static void
test_slots_held_while_threads_run(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = tsched(dir, 4);
    const char* in = "1 0 1500 0 0";
    uint64_t a, b;
    assert_int_equal(
      gr_sched_invoke(s, "u", "t", (const uint8_t*)in, strlen(in), NULL, &a),
      0);
    gr_sched_stats st;
    assert_true(wait_stats(s, three_running, &st));
    assert_int_equal(st.thread_slots, 3);
    gr_host_info* h;
    size_t n;
    assert_int_equal(gr_sched_hosts(s, &h, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(h[0].threads, 3);
    assert_int_equal(h[0].thread_slots, 3);
    /* and names the call running them */
    assert_int_equal(h[0].nrunning, 1);
    assert_true(h[0].running[0].id == a);
    assert_string_equal(h[0].running[0].fn, "t");
    assert_int_equal(h[0].running[0].threads, 3);
    gr_host_info_free(h, n);
    /* every slot is taken: this one waits for them */
    const char* in2 = "1 0 0 0 0";
    assert_int_equal(
      gr_sched_invoke(s, "u", "t", (const uint8_t*)in2, strlen(in2), NULL, &b),
      0);
    st = stats(s);
    if (st.thread_granules == 3) /* a is still holding them */
        assert_int_equal(st.queue_depth, 1);
    gr_call_info ci;
    struct out o;
    assert_int_equal(gr_sched_await(s, a, 0, &ci), 0);
    parse_out(&ci, &o);
    assert_int_equal(ci.state, GR_CALL_DONE);
    assert_int_equal(o.limit, 4);
    assert_int_equal(o.spawned, 3);
    gr_call_info_fini(&ci);
    assert_int_equal(gr_sched_await(s, b, 0, &ci), 0);
    parse_out(&ci, &o);
    assert_int_equal(ci.state, GR_CALL_DONE);
    /* it started when a's threads gave their three slots back, maybe
     * before a's main thread gave its own */
    assert_true(o.limit >= 3 && o.limit <= 4);
    gr_call_info_fini(&ci);
    assert_all_slots_back(s, 4);
    finish(s, dir);
}

/* A slot a spawn took (no thread_limit grant) comes back when its thread
 * ends, while the call goes on. */
static void
test_slot_back_when_thread_ends(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = tsched(dir, 3);
    const char* in = "0 2 300 0 3000";
    uint64_t a;
    assert_int_equal(
      gr_sched_invoke(s, "u", "t", (const uint8_t*)in, strlen(in), NULL, &a),
      0);
    gr_sched_stats st;
    assert_true(wait_stats(s, two_running, &st));
    assert_int_equal(st.thread_slots, 2);
    assert_true(wait_stats(s, none_running, &st));
    /* the granules count drops after the slots are given back */
    assert_int_equal(st.thread_slots, 0);
    gr_call_info ci;
    assert_int_equal(gr_sched_await(s, a, 0, &ci), 0);
    assert_int_equal(ci.state, GR_CALL_DONE);
    gr_call_info_fini(&ci);
    assert_all_slots_back(s, 3);
    finish(s, dir);
}

/* However the call ends, its threads' slots all come back. */
static void
test_every_end_returns_slots(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = tsched(dir, 3);
    struct
    {
        const char* in;
        uint64_t timeout_ms;
        gr_call_state st;
        int status, rc;
    } cases[] = {
        /* a trap in a worker thread */
        { "1 0 20 1 0", 0, GR_CALL_FAILED, GR_ETRAP, 0 },
        /* the main thread returns while its threads wait */
        { "1 0 20 2 0", 0, GR_CALL_DONE, 0, 0 },
        /* proc_exit in a worker ends the call with its status */
        { "1 0 20 4 0", 0, GR_CALL_DONE, 0, 7 },
        /* a timeout while the threads wait and the main thread sleeps */
        { "1 0 60000 0 0", 300, GR_CALL_FAILED, GR_ETIMEOUT, 0 },
#if !defined(__SANITIZE_THREAD__)
        /* a timeout of spinning threads (TSan cannot interrupt them) */
        { "1 0 20 3 0", 300, GR_CALL_FAILED, GR_ETIMEOUT, 0 },
#endif
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gr_call_info ci;
        struct out o;
        run(s, cases[i].in, 0, cases[i].timeout_ms * 1000000u, &ci, &o);
        if (ci.state != cases[i].st || ci.status != cases[i].status ||
            ci.return_code != cases[i].rc)
            fprintf(stderr,
                    "%s: state %s status %d rc %d trap %s\n",
                    cases[i].in,
                    gr_call_state_name(ci.state),
                    ci.status,
                    ci.return_code,
                    ci.trap);
        assert_int_equal(ci.state, cases[i].st);
        assert_int_equal(ci.status, cases[i].status);
        assert_int_equal(ci.return_code, cases[i].rc);
        gr_call_info_fini(&ci);
        /* the slots are back as soon as the call returns */
        gr_sched_stats st = stats(s);
        assert_int_equal(st.thread_granules, 0);
        assert_int_equal(st.thread_slots, 0);
        /* and the (reset) Faaslet's next call gets all of them */
        assert_all_slots_back(s, 3);
    }
    finish(s, dir);
}

#define NCALLS 6

struct job
{
    gr_sched* s;
    gr_call_info ci;
    int rc;
};

static void*
job_main(void* p)
{
    struct job* j = p;
    const char* in = "1 3 30 0 0";
    j->rc = gr_sched_call(
      j->s, "u", "t", (const uint8_t*)in, strlen(in), NULL, &j->ci);
    return NULL;
}

/* Six threaded calls at once on two slots (each asks and tries three
 * threads): never more than one guest thread besides the running calls'
 * main threads, because the other slot is always a call's. */
static void
test_concurrent_calls_within_slots(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = tsched(dir, 2);
    struct out o;
    run_ok(s, "1 0 0 0 0", 0, &o); /* compiled and warm */
    gr_threads_reset_peak();
    struct job jobs[NCALLS];
    pthread_t th[NCALLS];
    for (int i = 0; i < NCALLS; i++) {
        jobs[i] = (struct job){ .s = s };
        assert_int_equal(pthread_create(&th[i], NULL, job_main, &jobs[i]), 0);
    }
    for (int i = 0; i < NCALLS; i++)
        pthread_join(th[i], NULL);
    gr_threads_stats ts;
    gr_threads_get_stats(&ts);
    int spawned = 0;
    for (int i = 0; i < NCALLS; i++) {
        assert_int_equal(jobs[i].rc, 0);
        assert_int_equal(jobs[i].ci.state, GR_CALL_DONE);
        parse_out(&jobs[i].ci, &o);
        assert_true(o.limit >= 1 && o.limit <= 2);
        assert_int_equal(o.spawned + o.refused, 3);
        assert_true(o.spawned <= o.limit - 1);
        spawned += o.spawned;
        gr_call_info_fini(&jobs[i].ci);
    }
    assert_true(ts.busy_peak <= 1);
    fprintf(stderr,
            "six calls spawned %d threads, at most %zu at once\n",
            spawned,
            ts.busy_peak);
    assert_all_slots_back(s, 2);
    finish(s, dir);
}

#if !defined(__SANITIZE_THREAD__) /* see main */
static void
omp_out(const gr_call_info* ci, int* team, int* max)
{
    char text[128] = "";
    size_t n =
      ci->output_len < sizeof text - 1 ? ci->output_len : sizeof text - 1;
    if (n)
        memcpy(text, ci->output, n);
    *team = *max = -1;
    sscanf(text, "team=%d max=%d", team, max);
}

/* An OpenMP program's default team is the grant: every free slot when it
 * runs alone, its own thread only when the others are taken. */
static void
test_openmp_team_is_the_grant(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = tsched(dir, 3);
    upload(s, "u", "omp", "omp_team");
    gr_call_info ci;
    int team, max;
    assert_int_equal(
      gr_sched_call(s, "u", "omp", (const uint8_t*)"0", 1, NULL, &ci), 0);
    omp_out(&ci, &team, &max);
    assert_int_equal(ci.state, GR_CALL_DONE);
    assert_int_equal(ci.return_code, 0);
    assert_int_equal(team, 3);
    assert_int_equal(max, 3);
    gr_call_info_fini(&ci);
    /* num_threads(5) beyond the grant of 3: the spawns past it are
     * refused, and the region runs with the threads it got (it used to
     * end the call: "cannot create a thread") */
    assert_int_equal(
      gr_sched_call(s, "u", "omp", (const uint8_t*)"0 5", 3, NULL, &ci), 0);
    omp_out(&ci, &team, &max);
    assert_int_equal(ci.state, GR_CALL_DONE);
    assert_int_equal(ci.return_code, 0);
    assert_int_equal(team, 3);
    gr_call_info_fini(&ci);
    /* while a tgrant call holds every other slot */
    const char* in = "1 0 1500 0 0";
    uint64_t a;
    assert_int_equal(
      gr_sched_invoke(s, "u", "t", (const uint8_t*)in, strlen(in), NULL, &a),
      0);
    gr_sched_stats st;
    assert_true(wait_stats(s, two_running, &st));
    /* no slot left: this one queues until a has finished */
    assert_int_equal(
      gr_sched_call(s, "u", "omp", (const uint8_t*)"0", 1, NULL, &ci), 0);
    omp_out(&ci, &team, &max);
    assert_int_equal(ci.state, GR_CALL_DONE);
    assert_true(team >= 2 && team <= 3);
    gr_call_info_fini(&ci);
    assert_int_equal(gr_sched_await(s, a, 0, &ci), 0);
    gr_call_info_fini(&ci);
    assert_all_slots_back(s, 3);
    finish(s, dir);
}

struct ojob
{
    gr_sched* s;
    gr_call_info ci;
    int rc;
};

static void*
ojob_main(void* p)
{
    struct ojob* j = p;
    j->rc =
      gr_sched_call(j->s, "u", "omp", (const uint8_t*)"30", 2, NULL, &j->ci);
    return NULL;
}

/* Four OpenMP calls at once on two slots: every team fits what was free,
 * and no more than one worker thread ever runs besides the calls' own. */
static void
test_concurrent_openmp_within_slots(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = tsched(dir, 2);
    upload(s, "u", "omp", "omp_team");
    gr_call_info ci;
    assert_int_equal(
      gr_sched_call(s, "u", "omp", (const uint8_t*)"0", 1, NULL, &ci), 0);
    gr_call_info_fini(&ci);
    gr_threads_reset_peak();
    struct ojob jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct ojob){ .s = s };
        assert_int_equal(pthread_create(&th[i], NULL, ojob_main, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    gr_threads_stats ts;
    gr_threads_get_stats(&ts);
    for (int i = 0; i < 4; i++) {
        int team, max;
        assert_int_equal(jobs[i].rc, 0);
        omp_out(&jobs[i].ci, &team, &max);
        assert_int_equal(jobs[i].ci.state, GR_CALL_DONE);
        assert_int_equal(jobs[i].ci.return_code, 0);
        assert_true(team >= 1 && team <= 2);
        gr_call_info_fini(&jobs[i].ci);
    }
    assert_true(ts.busy_peak <= 1);
    assert_all_slots_back(s, 2);
    finish(s, dir);
}

#endif

int
main(void)
{
    /* The cap is the CPU count by default; make it the slots' business. */
    setenv("GRANARY_THREAD_LIMIT", "8", 1);
    (void)make_sched; /* helpers of the other scheduler tests */
    (void)call_ok;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_is_one_plus_free_slots),
        cmocka_unit_test(test_spawn_beyond_grant),
        cmocka_unit_test(test_slots_held_while_threads_run),
        cmocka_unit_test(test_slot_back_when_thread_ends),
        cmocka_unit_test(test_every_end_returns_slots),
        cmocka_unit_test(test_concurrent_calls_within_slots),
#if !defined(__SANITIZE_THREAD__)
        /* The OpenMP runtime's workers spin (calling clock_time_get) when
         * the call ends and stops them; TSan delivers the stopping signal
         * late, inside the host call, which then never returns its lock
         * (the spinning cases of tests/unit/faaslet/test_threads.c are
         * skipped under TSan for the same reason). */
        cmocka_unit_test(test_openmp_team_is_the_grant),
        cmocka_unit_test(test_concurrent_openmp_within_slots),
#endif
    };
    return cmocka_run_group_tests(tests, engine_setup, engine_teardown);
}
