/* SPDX-License-Identifier: Apache-2.0 */
/* The scheduler's hostile-tenant limits (issue 9): unguessable call ids
 * and 404 for another user's call, finished records bounded by bytes in
 * all and per user, output past max_output failing in the guest and
 * marked truncated, and start functions that loop or trap rejected at
 * upload. */
#include <errno.h>
#include <time.h>

#include "sched_test_util.h"

static gr_sched*
sched_with(const char* dir, gr_sched_config cfg)
{
    cfg.engine = engine;
    cfg.data_dir = dir;
    if (!cfg.slots)
        cfg.slots = 2;
    gr_sched* s;
    assert_int_equal(gr_sched_create(&cfg, &s), 0);
    return s;
}

static int
cmp_u64(const void* a, const void* b)
{
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return (x > y) - (x < y);
}

#define NIDS 100000

/* Ids are random: no collisions among 100k, consecutive ones differ in
 * about half their bits, and another user's call is simply not found. */
static void
test_ids_unguessable(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = sched_with(dir, (gr_sched_config){ .max_records = 16 });
    upload(s, "u", "a", "sched_a");
    upload(s, "v", "a", "sched_a");
    uint64_t* ids = malloc(NIDS * sizeof *ids);
    assert_non_null(ids);
    gr_call_info ci;
    for (int i = 0; i < NIDS; i++) {
        assert_int_equal(
          gr_sched_call(s, "u", "a", (const uint8_t*)"num:1", 5, NULL, &ci), 0);
        ids[i] = ci.id;
        gr_call_info_fini(&ci);
    }
    uint64_t bits = 0;
    for (int i = 1; i < NIDS; i++) {
        int d = __builtin_popcountll(ids[i] ^ ids[i - 1]);
        bits += (uint64_t)d;
        /* a counter (or any small step) differs in a few low bits */
        assert_true(d >= 4);
    }
    double mean = (double)bits / (NIDS - 1);
    assert_true(mean > 30.0 && mean < 34.0);
    qsort(ids, NIDS, sizeof *ids, cmp_u64);
    for (int i = 1; i < NIDS; i++)
        assert_true(ids[i] != ids[i - 1]);
    assert_true(ids[0] != 0);

    /* another user's call: -ENOENT, the same as an unknown id */
    assert_int_equal(
      gr_sched_call(s, "u", "a", (const uint8_t*)"num:2", 5, NULL, &ci), 0);
    uint64_t mine = ci.id;
    gr_call_info_fini(&ci);
    assert_int_equal(gr_sched_call_get(s, "v", mine, &ci), -ENOENT);
    assert_int_equal(gr_sched_call_get(s, "u", mine, &ci), 0);
    assert_int_equal(ci.return_code, 2);
    gr_call_info_fini(&ci);
    free(ids);
    finish(s, dir);
}

static uint64_t
call_big(gr_sched* s, const char* user, size_t n)
{
    char in[32];
    int len = snprintf(in, sizeof in, "big:%zu", n);
    gr_call_info ci;
    assert_int_equal(
      gr_sched_call(s, user, "a", (const uint8_t*)in, (size_t)len, NULL, &ci),
      0);
    assert_int_equal(ci.state, GR_CALL_DONE);
    assert_int_equal(ci.output_len, n);
    uint64_t id = ci.id;
    gr_call_info_fini(&ci);
    return id;
}

static int
readable(gr_sched* s, const char* user, uint64_t id, size_t want_len)
{
    gr_call_info ci;
    if (gr_sched_call_get(s, user, id, &ci))
        return 0;
    int ok = ci.state == GR_CALL_DONE && ci.output_len == want_len;
    gr_call_info_fini(&ci);
    return ok;
}

#define BIG (256u << 10)

/* Large outputs are bounded by bytes, not count: per user (u's own oldest
 * go first, v's records stay) and in all (the biggest user loses first). */
static void
test_records_bounded_by_bytes(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s =
      sched_with(dir,
                 /* the on-disk journal has bounds of its own: keep it
                  * (almost) empty so that what is readable is what the
                  * in-memory records keep */
                 (gr_sched_config){ .max_record_bytes = 3u << 20,
                                    .max_user_record_bytes = 2u << 20,
                                    .journal_max_bytes = 1 });
    upload(s, "u", "a", "sched_a");
    upload(s, "v", "a", "sched_a");
    upload(s, "w", "a", "sched_a");
    uint64_t vids[4];
    for (int i = 0; i < 4; i++)
        vids[i] = call_big(s, "v", 1000);

    /* u: 64 outputs of 256 KiB = 16 MiB made, 2 MiB kept */
    uint64_t uids[64];
    gr_sched_stats st;
    for (int i = 0; i < 64; i++) {
        uids[i] = call_big(s, "u", BIG);
        gr_sched_get_stats(s, &st);
        assert_true(st.record_bytes <= 3u << 20);
    }
    int kept = 0;
    for (int i = 0; i < 64; i++)
        kept += readable(s, "u", uids[i], BIG);
    /* 2 MiB over 256 KiB + overhead: 7 records */
    assert_int_equal(kept, 7);
    for (int i = 57; i < 64; i++)
        assert_true(readable(s, "u", uids[i], BIG));
    assert_false(readable(s, "u", uids[0], BIG));
    for (int i = 0; i < 4; i++)
        assert_true(readable(s, "v", vids[i], 1000));

    /* w fills its share too: 2 MiB + 2 MiB + v's > 3 MiB in all, so the
     * biggest user gives way; v, far under its share, keeps everything */
    uint64_t wids[16];
    for (int i = 0; i < 16; i++) {
        wids[i] = call_big(s, "w", BIG);
        gr_sched_get_stats(s, &st);
        assert_true(st.record_bytes <= 3u << 20);
    }
    assert_true(readable(s, "w", wids[15], BIG));
    assert_true(readable(s, "u", uids[63], BIG));
    for (int i = 0; i < 4; i++)
        assert_true(readable(s, "v", vids[i], 1000));

    /* one record larger than a user's bound is still kept (the newest) */
    uint64_t huge = call_big(s, "v", 3u << 20);
    assert_true(readable(s, "v", huge, 3u << 20));
    gr_sched_get_stats(s, &st);
    assert_true(st.record_bytes <= (3u << 20) + (3u << 20));
    finish(s, dir);
}

/* A command's stdout past max_output: the write that crosses the limit is
 * short, the next fails with EFBIG in the guest, and the record says the
 * output was truncated. Within the limit nothing is marked. */
static void
test_output_truncated(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s = sched_with(dir, (gr_sched_config){ .max_output = 2500 });
    upload(s, "u", "w", "sched_writer");
    gr_call_info ci;
    assert_int_equal(
      gr_sched_call(s, "u", "w", (const uint8_t*)"2500", 4, NULL, &ci), 0);
    assert_int_equal(ci.state, GR_CALL_DONE);
    assert_int_equal(ci.return_code, 0);
    assert_int_equal(ci.output_len, 2500);
    assert_int_equal(ci.truncated, 0);
    gr_call_info_fini(&ci);

    assert_int_equal(
      gr_sched_call(s, "u", "w", (const uint8_t*)"10000", 5, NULL, &ci), 0);
    assert_int_equal(ci.state, GR_CALL_DONE);
    assert_int_equal(ci.return_code, 3);
    assert_int_equal(ci.output_len, 2500);
    assert_int_equal(ci.truncated, 1);
    assert_string_equal(ci.err, "write: EFBIG\n");
    uint64_t id = ci.id;
    gr_call_info_fini(&ci);
    assert_int_equal(gr_sched_call_get(s, "u", id, &ci), 0);
    assert_int_equal(ci.truncated, 1);
    gr_call_info_fini(&ci);

    /* a reactor's output_write past the limit fails too, and is marked */
    upload(s, "u", "a", "sched_a");
    assert_int_equal(
      gr_sched_call(s, "u", "a", (const uint8_t*)"big:9000", 8, NULL, &ci), 0);
    assert_int_equal(ci.state, GR_CALL_DONE);
    assert_int_equal(ci.return_code, -1);
    assert_int_equal(ci.truncated, 1);
    gr_call_info_fini(&ci);
    finish(s, dir);
}

static inline uint64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
try_upload(gr_sched* s, const char* guest, char* err, size_t errlen)
{
    uint8_t* w;
    size_t n;
    read_guest(guest, &w, &n);
    int rc = gr_sched_fn_upload(s, "u", "m", w, n, err, errlen);
    gr_free(w);
    return rc;
}

/* A start function that loops is stopped at the call timeout and the
 * module rejected; one that traps is rejected; neither is stored. */
static void
test_start_function_limits(void** state)
{
    (void)state;
    char* dir = new_data_dir();
    gr_sched* s =
      sched_with(dir, (gr_sched_config){ .timeout_ns = 200000000ull });
    char err[256] = "";
#ifndef __SANITIZE_THREAD__
    /* TODO(issue 9): under TSan this upload is not stopped (the timeout
     * signal does not end the start function's loop there); the release
     * and ASan builds check it. */
    uint64_t t0 = mono_ns();
    assert_int_equal(try_upload(s, "start_loop", err, sizeof err),
                     GR_EINVALID_MODULE);
    /* the promise is the timeout; allow a loaded machine its seconds */
    assert_true(mono_ns() - t0 < 10000000000ull);
    assert_non_null(strstr(err, "start function"));
    assert_non_null(strstr(err, "timed out"));
#endif

    assert_int_equal(try_upload(s, "start_trap", err, sizeof err),
                     GR_EINVALID_MODULE);
    assert_non_null(strstr(err, "start function"));
    assert_non_null(strstr(err, "unreachable"));

    gr_fn_info fi;
    assert_int_equal(gr_sched_fn_get(s, "u", "m", &fi), -ENOENT);
    /* the executor threads still serve */
    upload(s, "u", "a", "sched_a");
    call_ok(s, "a", "num:5", "5", 5);
    finish(s, dir);
}

int
main(void)
{
    (void)make_sched;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_unguessable),
        cmocka_unit_test(test_records_bounded_by_bytes),
        cmocka_unit_test(test_output_truncated),
        cmocka_unit_test(test_start_function_limits),
    };
    return cmocka_run_group_tests(tests, engine_setup, engine_teardown);
}
