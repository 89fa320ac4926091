/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers of the Faaslet tests with real guests (test_faaslet.c,
 * test_faaslet_impmem.c): a Proto-Faaslet from a guest of the build, a call
 * with a string input, and an output check. Include after cmocka.h. */
#ifndef GR_TEST_FAASLET_GUEST_H
#define GR_TEST_FAASLET_GUEST_H

#include <stdio.h>
#include <string.h>

#include "faaslet/faaslet.h"

static gr_engine* engine;

static gr_proto*
make_proto(const char* guest, const gr_proto_config* cfg)
{
    char path[4096], err[512] = "";
    snprintf(path, sizeof path, "%s/%s.wasm", GRANARY_GUEST_DIR, guest);
    gr_object* obj;
    int rc = gr_engine_load_file(engine, path, &obj, err, sizeof err);
    if (rc)
        fprintf(stderr, "load %s: %s\n", guest, err);
    assert_int_equal(rc, 0);
    gr_proto* p;
    rc = gr_proto_create(obj, cfg, &p, err, sizeof err);
    if (rc)
        fprintf(stderr, "proto %s: %s\n", guest, err);
    assert_int_equal(rc, 0);
    gr_object_unref(obj);
    return p;
}

static void
call_str(gr_faaslet* f, const char* in, gr_call_result* r)
{
    gr_call c = { .input = (const uint8_t*)in, .input_len = strlen(in) };
    assert_int_equal(gr_faaslet_call(f, &c, r), 0);
}

static void
assert_output(const gr_call_result* r, const char* want)
{
    if (r->output_len != strlen(want) ||
        memcmp(r->output, want, r->output_len) != 0)
        fprintf(stderr,
                "output: %.*s\nwant:   %s\n",
                (int)r->output_len,
                (const char*)r->output,
                want);
    assert_int_equal(r->output_len, strlen(want));
    assert_memory_equal(r->output, want, r->output_len);
}

#endif
