/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers of the scheduler tests: an engine on the build's test
 * cache, a fresh data directory, a scheduler with the test guests. */
#ifndef GR_TEST_SCHED_UTIL_H
#define GR_TEST_SCHED_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <granary/status.h>

#include "host/host.h"
#include "sched/sched.h"
#include "util/alloc.h"
#include "util/fs.h"

static gr_engine* engine;

static int
engine_setup(void** state)
{
    (void)state;
    gr_engine_config cfg = { .cache_dir = GRANARY_BINARY_DIR "/test-cache",
                             .import_check = gr_host_import_check };
    return gr_engine_create(&cfg, &engine);
}

static int
engine_teardown(void** state)
{
    (void)state;
    gr_engine_destroy(engine);
    return 0;
}

static void
read_guest(const char* name, uint8_t** data, size_t* len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.wasm", GRANARY_GUEST_DIR, name);
    assert_int_equal(gr_fs_read_file(path, 64u << 20, data, len), 0);
}

static void
upload(gr_sched* s, const char* user, const char* fn, const char* guest)
{
    uint8_t* w;
    size_t n;
    char err[512] = "";
    read_guest(guest, &w, &n);
    int rc = gr_sched_fn_upload(s, user, fn, w, n, err, sizeof err);
    if (rc)
        fprintf(stderr, "upload %s: %s\n", fn, err);
    assert_int_equal(rc, 0);
    gr_free(w);
}

static char*
new_data_dir(void)
{
    char tmpl[] = "/tmp/gr-sched-test-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    return strdup(tmpl);
}

/* A scheduler over a new data dir with user "u" owning a, b and c. */
static gr_sched*
make_sched(const char* dir, int slots, size_t queue_max)
{
    gr_sched_config cfg = { .engine = engine,
                            .data_dir = dir,
                            .slots = slots,
                            .queue_max = queue_max };
    gr_sched* s;
    assert_int_equal(gr_sched_create(&cfg, &s), 0);
    upload(s, "u", "a", "sched_a");
    upload(s, "u", "b", "sched_b");
    upload(s, "u", "c", "sched_c");
    return s;
}

static void
call_ok(gr_sched* s,
        const char* fn,
        const char* in,
        const char* want_out,
        int want_rc)
{
    gr_call_info ci;
    int rc =
      gr_sched_call(s, "u", fn, (const uint8_t*)in, strlen(in), NULL, &ci);
    assert_int_equal(rc, 0);
    if (ci.state != GR_CALL_DONE || ci.return_code != want_rc)
        fprintf(stderr,
                "%s(%s): state %s status %d rc %d trap %s out %.*s\n",
                fn,
                in,
                gr_call_state_name(ci.state),
                ci.status,
                ci.return_code,
                ci.trap,
                (int)ci.output_len,
                (const char*)ci.output);
    assert_int_equal(ci.state, GR_CALL_DONE);
    assert_int_equal(ci.return_code, want_rc);
    if (want_out) {
        if (ci.output_len != strlen(want_out) ||
            memcmp(ci.output, want_out, ci.output_len) != 0)
            fprintf(stderr,
                    "output %.*s, want %s\n",
                    (int)ci.output_len,
                    (const char*)ci.output,
                    want_out);
        assert_int_equal(ci.output_len, strlen(want_out));
        assert_memory_equal(ci.output, want_out, ci.output_len);
    }
    gr_call_info_fini(&ci);
}

static void
finish(gr_sched* s, char* dir)
{
    gr_sched_destroy(s);
    gr_fs_remove_tree(dir);
    free(dir);
}

#endif
