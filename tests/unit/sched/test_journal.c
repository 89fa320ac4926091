/* SPDX-License-Identifier: Apache-2.0 */
/* The call journal with a real scheduler: records (async results, traps,
 * stdout/stderr) read back after a restart on the same data folder, calls
 * queued or running when the process was killed read back as failed
 * (GR_ERESTARTED), and the journal's own bounds drop the oldest first. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sched_test_util.h"

static gr_sched*
open_sched(const char* dir, size_t jrecords, size_t jbytes)
{
    gr_sched_config cfg = { .engine = engine,
                            .data_dir = dir,
                            .slots = 1,
                            .journal_max_records = jrecords,
                            .journal_max_bytes = jbytes };
    gr_sched* s;
    assert_int_equal(gr_sched_create(&cfg, &s), 0);
    return s;
}

static uint64_t
invoke(gr_sched* s, const char* in)
{
    uint64_t id = 0;
    assert_int_equal(
      gr_sched_invoke(s, "u", "a", (const uint8_t*)in, strlen(in), NULL, &id),
      0);
    return id;
}

static void
expect_output(const gr_call_info* ci, const char* want)
{
    assert_int_equal(ci->output_len, strlen(want));
    assert_memory_equal(ci->output, want, ci->output_len);
}

/* Async results, a trap and captured output survive a restart. */
static void
test_restart_keeps_records(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = open_sched(dir, 0, 0);
    upload(s, "u", "a", "sched_a");
    uint64_t ids[20], trap, echo;
    char in[32];
    for (int i = 0; i < 20; i++) {
        snprintf(in, sizeof in, "num:%d", i);
        ids[i] = invoke(s, in);
    }
    trap = invoke(s, "trap");
    echo = invoke(s, "echo:hello");
    gr_call_info ci;
    assert_int_equal(gr_sched_await(s, echo, 0, &ci), 0);
    gr_call_info_fini(&ci);
    assert_int_equal(gr_sched_await(s, trap, 0, &ci), 0);
    gr_call_info_fini(&ci);
    gr_sched_destroy(s);

    s = open_sched(dir, 0, 0);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(gr_sched_call_get(s, "u", ids[i], &ci), 0);
        assert_int_equal(ci.id, ids[i]);
        assert_int_equal(ci.state, GR_CALL_DONE);
        assert_int_equal(ci.return_code, i);
        assert_string_equal(ci.user, "u");
        assert_string_equal(ci.fn, "a");
        snprintf(in, sizeof in, "%d", i);
        expect_output(&ci, in);
        gr_call_info_fini(&ci);
    }
    assert_int_equal(gr_sched_await(s, trap, 0, &ci), 0);
    assert_int_equal(ci.state, GR_CALL_FAILED);
    assert_int_equal(ci.status, GR_ETRAP);
    assert_string_equal(ci.trap, "unreachable executed");
    gr_call_info_fini(&ci);
    assert_int_equal(gr_sched_call_get(s, NULL, echo, &ci), 0);
    expect_output(&ci, "hello");
    assert_string_equal(ci.out, "out:hello\n");
    assert_string_equal(ci.err, "err:hello\n");
    assert_true(ci.finished_ns >= ci.started_ns);
    gr_call_info_fini(&ci);
    /* another user's call reads as unknown (issue 9 item 15) */
    assert_int_equal(gr_sched_call_get(s, "v", echo, &ci), -ENOENT);
    assert_int_equal(gr_sched_call_get(s, "u", 12345, &ci), -ENOENT);
    finish(s, dir);
}

static void
wait_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* The child of test_kill9_unfinished: a scheduler with one slot, a call
 * spinning in it, one queued behind, and a finished one whose result was
 * read; the ids go to the parent, which kills the process. */
static void
kill9_child(const char* dir, int fd)
{
    gr_engine_config ecfg = { .cache_dir = GRANARY_BINARY_DIR "/test-cache",
                              .import_check = gr_host_import_check };
    gr_engine* e;
    if (gr_engine_create(&ecfg, &e))
        _exit(2);
    engine = e;
    gr_sched* s = open_sched(dir, 0, 0);
    upload(s, "u", "a", "sched_a");
    uint64_t ids[3];
    ids[0] = invoke(s, "echo:before");
    gr_call_info ci;
    if (gr_sched_call_get(s, "u", ids[0], &ci) || ci.state != GR_CALL_DONE) {
        gr_call_info_fini(&ci);
        if (gr_sched_await(s, ids[0], 0, &ci))
            _exit(3);
    }
    gr_call_info_fini(&ci);
    ids[1] = invoke(s, "spin");
    ids[2] = invoke(s, "spin");
    if (write(fd, ids, sizeof ids) != (ssize_t)sizeof ids)
        _exit(4);
    pause();
    _exit(0);
}

static void
test_kill9_unfinished(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        kill9_child(dir, p[1]);
    }
    close(p[1]);
    uint64_t ids[3];
    assert_int_equal(read(p[0], ids, sizeof ids), (ssize_t)sizeof ids);
    close(p[0]);
    wait_ms(100); /* let the first spin start running */
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));

    gr_sched* s = open_sched(dir, 0, 0);
    gr_call_info ci;
    assert_int_equal(gr_sched_call_get(s, "u", ids[0], &ci), 0);
    assert_int_equal(ci.state, GR_CALL_DONE);
    expect_output(&ci, "before");
    gr_call_info_fini(&ci);
    for (int i = 1; i < 3; i++) {
        assert_int_equal(gr_sched_await(s, ids[i], 0, &ci), 0);
        assert_int_equal(ci.state, GR_CALL_FAILED);
        assert_int_equal(ci.status, GR_ERESTARTED);
        assert_string_equal(gr_strerror(ci.status),
                            "server restarted before the call finished");
        gr_call_info_fini(&ci);
    }
    finish(s, dir);
}

/* The journal keeps at most its own bounds (records, bytes), oldest
 * dropped first, across restarts too. */
static void
test_journal_bounded(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched_config cfg = { .engine = engine,
                            .data_dir = dir,
                            .slots = 1,
                            .max_records = 16,
                            .journal_max_records = 50,
                            .journal_max_bytes = 8 * 1300 };
    gr_sched* s;
    assert_int_equal(gr_sched_create(&cfg, &s), 0);
    upload(s, "u", "a", "sched_a");
    char in[1100] = "echo:";
    memset(in + 5, 'x', 1000);
    in[1005] = '\0';
    uint64_t ids[40];
    gr_call_info ci;
    for (int i = 0; i < 40; i++) {
        ids[i] = invoke(s, in);
        assert_int_equal(gr_sched_await(s, ids[i], 0, &ci), 0);
        gr_call_info_fini(&ci);
    }
    gr_sched_destroy(s);
    s = open_sched(dir, 50, 8 * 1300);
    /* Each record costs its 1000-byte output, stdout/stderr and ~256. */
    int kept = 0;
    for (int i = 0; i < 40; i++) {
        int rc = gr_sched_call_get(s, "u", ids[i], &ci);
        if (rc == 0) {
            kept++;
            gr_call_info_fini(&ci);
        } else {
            assert_int_equal(rc, -ENOENT);
            assert_int_equal(kept, 0); /* only the oldest are gone */
        }
    }
    assert_true(kept >= 1 && kept <= 8);
    assert_int_equal(gr_sched_call_get(s, "u", ids[39], &ci), 0);
    gr_call_info_fini(&ci);
    gr_sched_destroy(s);
    /* Tighter bounds at the next start apply at once. */
    s = open_sched(dir, 2, 0);
    assert_int_equal(gr_sched_call_get(s, "u", ids[37], &ci), -ENOENT);
    assert_int_equal(gr_sched_call_get(s, "u", ids[39], &ci), 0);
    gr_call_info_fini(&ci);
    finish(s, dir);
}

int
main(void)
{
    (void)make_sched;
    (void)call_ok;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_unfinished),
        cmocka_unit_test(test_restart_keeps_records),
        cmocka_unit_test(test_journal_bounded),
    };
    return cmocka_run_group_tests_name(
      "sched journal", tests, engine_setup, engine_teardown);
}
