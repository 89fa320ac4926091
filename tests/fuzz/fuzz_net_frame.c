/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the wire decoder: decodes every frame in the input
 * (checking that each re-encodes to an equal message), then replays the
 * input through a socketpair into gr_conn_recv in uneven pieces. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"
#include "util/alloc.h"
#include "util/log.h"

#define FUZZ_MAX_PAYLOAD (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static void
check_roundtrip(const Granary__Envelope* env)
{
    uint8_t* buf;
    size_t len, used;
    Granary__Envelope* again;
    if (gr_frame_encode(env, FUZZ_MAX_PAYLOAD, &buf, &len))
        abort(); /* anything decoded must encode */
    if (gr_frame_decode(buf, len, FUZZ_MAX_PAYLOAD, &again, &used) ||
        used != len || again->body_case != env->body_case ||
        granary__envelope__get_packed_size(again) != len - GR_NET_HEADER_SIZE)
        abort();
    gr_msg_free(again);
    gr_free(buf);
}

static void
decode_buffer(const uint8_t* data, size_t size)
{
    size_t off = 0;
    while (off < size) {
        Granary__Envelope* env;
        size_t used;
        int rc = gr_frame_decode(
          data + off, size - off, FUZZ_MAX_PAYLOAD, &env, &used);
        if (rc == 0) {
            check_roundtrip(env);
            gr_msg_free(env);
        } else if (env) {
            abort(); /* errors never hand out a message */
        }
        if (rc != 0 && rc != GR_NET_EDECODE && rc != GR_NET_ETYPE)
            break; /* framing lost */
        off += used;
    }
}

static void
decode_stream(const uint8_t* data, size_t size)
{
    int sv[2];
    gr_conn *w, *r;
    if (size > 60000 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        return;
    if (gr_conn_open(sv[0], FUZZ_MAX_PAYLOAD, &w))
        return;
    if (gr_conn_open(sv[1], FUZZ_MAX_PAYLOAD, &r)) {
        gr_conn_close(w);
        return;
    }
    /* pieces of varying size so frames straddle reads */
    size_t off = 0, step = 1;
    while (off < size) {
        size_t n = step < size - off ? step : size - off;
        if (gr_conn_send_raw(w, data + off, n, 0))
            break;
        off += n;
        step = step * 3 % 17 + 1;
        Granary__Envelope* env;
        while (gr_conn_recv(r, &env, 0) == 0)
            gr_msg_free(env);
    }
    gr_conn_close(w);
    for (int i = 0; i < 1000; i++) {
        Granary__Envelope* env;
        int rc = gr_conn_recv(r, &env, 0);
        if (rc == 0)
            gr_msg_free(env);
        else if (rc != GR_NET_EDECODE && rc != GR_NET_ETYPE)
            break;
    }
    gr_conn_close(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static int quiet;
    if (!quiet) {
        gr_log_set_level(GR_LOG_OFF);
        quiet = 1;
    }
    decode_buffer(data, size);
    decode_stream(data, size);
    return 0;
}
