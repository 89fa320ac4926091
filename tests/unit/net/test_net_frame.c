/* SPDX-License-Identifier: Apache-2.0 */
/* Frames and framed connections: round trips of every message type over
 * buffers, a socketpair and loopback TCP; every kind of malformed input;
 * receive timeouts; allocation failures in the decoder. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "net/net.h"
#include "net_test_msgs.h"
#include "util/alloc.h"

static void
pair(gr_conn** a, gr_conn** b)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(gr_conn_open(sv[0], 0, a), 0);
    assert_int_equal(gr_conn_open(sv[1], 0, b), 0);
}

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
test_roundtrip_buffer(void** state)
{
    (void)state;
    Granary__Envelope* envs[NET_TEST_NMSGS];
    net_test_msgs(envs);
    for (int i = 0; i < NET_TEST_NMSGS; i++) {
        uint8_t* buf;
        size_t len, used;
        Granary__Envelope* got;
        assert_int_equal(
          gr_frame_encode(envs[i], GR_NET_MAX_PAYLOAD, &buf, &len), 0);
        assert_int_equal(
          gr_frame_decode(buf, len, GR_NET_MAX_PAYLOAD, &got, &used), 0);
        assert_int_equal(used, len);
        assert_int_equal(got->body_case, envs[i]->body_case);
        assert_true(net_test_msgs_equal(got, envs[i]));
        assert_string_not_equal(gr_net_type_name(got->body_case), "unknown");
        /* every strict prefix is a truncated frame */
        for (size_t cut = 0; cut < len; cut++) {
            Granary__Envelope* none;
            assert_int_equal(
              gr_frame_decode(buf, cut, GR_NET_MAX_PAYLOAD, &none, &used),
              GR_NET_ETRUNC);
            assert_null(none);
        }
        gr_msg_free(got);
        gr_free(buf);
    }
    /* spot-check decoded field values, not only the bytes */
    uint8_t* buf;
    size_t len, used;
    Granary__Envelope* got;
    assert_int_equal(gr_frame_encode(envs[7], GR_NET_MAX_PAYLOAD, &buf, &len),
                     0);
    assert_int_equal(gr_frame_decode(buf, len, GR_NET_MAX_PAYLOAD, &got, &used),
                     0);
    assert_int_equal(got->invoke_result->status, -4005);
    assert_int_equal(got->invoke_result->return_code, -1);
    assert_string_equal(got->invoke_result->trap, "out_of_bounds");
    assert_int_equal(got->invoke_result->stdout_data.len, 20);
    assert_true(got->invoke_result->timings->cold);
    gr_msg_free(got);
    gr_free(buf);
}

static void
roundtrip_conns(gr_conn* a, gr_conn* b)
{
    Granary__Envelope* envs[NET_TEST_NMSGS];
    net_test_msgs(envs);
    /* all sent before any is read: frames must not run together */
    for (int i = 0; i < NET_TEST_NMSGS; i++)
        assert_int_equal(gr_conn_send(a, envs[i], 1000), 0);
    for (int i = 0; i < NET_TEST_NMSGS; i++) {
        Granary__Envelope* got;
        assert_int_equal(gr_conn_recv(b, &got, 1000), 0);
        assert_true(net_test_msgs_equal(got, envs[i]));
        assert_int_equal(gr_conn_send(b, got, 1000), 0); /* and back */
        gr_msg_free(got);
    }
    for (int i = 0; i < NET_TEST_NMSGS; i++) {
        Granary__Envelope* got;
        assert_int_equal(gr_conn_recv(a, &got, 1000), 0);
        assert_true(net_test_msgs_equal(got, envs[i]));
        gr_msg_free(got);
    }
}

static void
test_roundtrip_socketpair(void** state)
{
    (void)state;
    gr_conn *a, *b;
    pair(&a, &b);
    roundtrip_conns(a, b);
    gr_conn_close(a);
    gr_conn_close(b);
}

static void
test_roundtrip_tcp(void** state)
{
    (void)state;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sin;
    assert_int_equal(bind(lfd, (struct sockaddr*)&sin, sl), 0);
    assert_int_equal(listen(lfd, 4), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr*)&sin, &sl), 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ntohs(sin.sin_port));
    gr_conn *a, *b;
    assert_int_equal(gr_conn_connect(addr, 1000, 0, &a), 0);
    int fd = accept(lfd, NULL, NULL);
    assert_true(fd >= 0);
    assert_int_equal(gr_conn_open(fd, 0, &b), 0);
    assert_non_null(strstr(gr_conn_peer(a), "127.0.0.1:"));
    roundtrip_conns(a, b);
    /* a large frame (1 MiB) crosses many socket buffers */
    static uint8_t big[1 << 20];
    memset(big, 0xab, sizeof big);
    Granary__ModuleBytes mb = GRANARY__MODULE_BYTES__INIT;
    mb.hash = "x";
    mb.wasm.data = big;
    mb.wasm.len = sizeof big;
    Granary__Envelope env = GRANARY__ENVELOPE__INIT;
    env.body_case = GRANARY__ENVELOPE__BODY_MODULE_BYTES;
    env.module_bytes = &mb;
    assert_int_equal(gr_conn_send(a, &env, 5000), 0);
    Granary__Envelope* got;
    assert_int_equal(gr_conn_recv(b, &got, 5000), 0);
    assert_int_equal(got->module_bytes->wasm.len, sizeof big);
    assert_memory_equal(got->module_bytes->wasm.data, big, sizeof big);
    gr_msg_free(got);
    gr_conn_close(a);
    gr_conn_close(b);
    close(lfd);
    /* nobody listening any more */
    assert_int_equal(gr_conn_connect(addr, 1000, 0, &a), -ECONNREFUSED);
    assert_int_equal(gr_conn_connect("nonsense", 1000, 0, &a), -EINVAL);
    assert_int_equal(gr_conn_connect("127.0.0.1:99999", 1000, 0, &a), -EINVAL);
}

/* A valid one-frame encoding of envs[11] (ping). */
static size_t
valid_frame(uint8_t* out, size_t cap)
{
    Granary__Envelope* envs[NET_TEST_NMSGS];
    net_test_msgs(envs);
    uint8_t* buf;
    size_t len;
    assert_int_equal(gr_frame_encode(envs[11], GR_NET_MAX_PAYLOAD, &buf, &len),
                     0);
    assert_true(len <= cap);
    memcpy(out, buf, len);
    gr_free(buf);
    return len;
}

static void
header(uint8_t* h, uint32_t magic, uint16_t ver, uint16_t flags, uint32_t len)
{
    uint32_t m = htonl(magic), l = htonl(len);
    uint16_t v = htons(ver), f = htons(flags);
    memcpy(h, &m, 4);
    memcpy(h + 4, &v, 2);
    memcpy(h + 6, &f, 2);
    memcpy(h + 8, &l, 4);
}

struct bad_case
{
    const char* name;
    uint8_t bytes[64];
    size_t len;
    int want;
    int fatal; /* stream cannot continue after it */
};

static void
make_bad_cases(struct bad_case* c, int* n)
{
    int k = 0;
    c[k] = (struct bad_case){
        .name = "bad magic", .want = GR_NET_EMAGIC, .fatal = 1, .len = 12
    };
    header(c[k++].bytes, 0x47524E58u, 1, 0, 0);
    c[k] = (struct bad_case){
        .name = "bad version", .want = GR_NET_EVERSION, .fatal = 1, .len = 12
    };
    header(c[k++].bytes, GR_NET_MAGIC, 2, 0, 0);
    c[k] = (struct bad_case){
        .name = "flags", .want = GR_NET_EFLAGS, .fatal = 1, .len = 12
    };
    header(c[k++].bytes, GR_NET_MAGIC, 1, 0x8000, 0);
    c[k] = (struct bad_case){
        .name = "oversize", .want = GR_NET_ETOOBIG, .fatal = 1, .len = 12
    };
    header(c[k++].bytes, GR_NET_MAGIC, 1, 0, 0xFFFFFFFFu);
    c[k] = (struct bad_case){ .name = "zero length",
                              .want = GR_NET_ETYPE,
                              .len = 12 };
    header(c[k++].bytes, GR_NET_MAGIC, 1, 0, 0);
    /* 0xff... is an invalid varint key */
    c[k] = (struct bad_case){ .name = "garbage protobuf",
                              .want = GR_NET_EDECODE,
                              .len = 20 };
    header(c[k].bytes, GR_NET_MAGIC, 1, 0, 8);
    memset(c[k++].bytes + 12, 0xff, 8);
    /* field 23 (a oneof member this build does not know): 0xba 0x01 = key
     * (23 << 3 | 2), length 0 */
    c[k] = (struct bad_case){ .name = "unknown type",
                              .want = GR_NET_ETYPE,
                              .len = 15 };
    header(c[k].bytes, GR_NET_MAGIC, 1, 0, 3);
    c[k].bytes[12] = 0xba;
    c[k].bytes[13] = 0x01;
    c[k++].bytes[14] = 0x00;
    /* a length-delimited field whose length runs past the payload */
    c[k] = (struct bad_case){ .name = "inner overrun",
                              .want = GR_NET_EDECODE,
                              .len = 16 };
    header(c[k].bytes, GR_NET_MAGIC, 1, 0, 4);
    c[k].bytes[12] = 0x52; /* field 10 (hello), wire type 2 */
    c[k].bytes[13] = 0x7f; /* 127 bytes follow... but only 2 do */
    c[k].bytes[14] = 0x0a;
    c[k++].bytes[15] = 0x00;
    *n = k;
}

static void
test_malformed_buffer(void** state)
{
    (void)state;
    struct bad_case c[16];
    int n;
    make_bad_cases(c, &n);
    for (int i = 0; i < n; i++) {
        Granary__Envelope* got;
        size_t used;
        long before = gr_alloc_count();
        int rc = gr_frame_decode(
          c[i].bytes, c[i].len, GR_NET_MAX_PAYLOAD, &got, &used);
        if (rc != c[i].want)
            fail_msg("%s: got %d (%s), want %d",
                     c[i].name,
                     rc,
                     gr_net_strerror(rc),
                     c[i].want);
        assert_null(got);
        if (c[i].fatal) /* rejected before any allocation */
            assert_int_equal(gr_alloc_count(), before);
    }
    /* a configured maximum smaller than the default */
    uint8_t buf[256];
    size_t len = valid_frame(buf, sizeof buf);
    Granary__Envelope* got;
    size_t used;
    assert_int_equal(gr_frame_decode(buf, len, 8, &got, &used), GR_NET_ETOOBIG);
    /* encode refuses what decode would refuse */
    Granary__Envelope empty = GRANARY__ENVELOPE__INIT;
    uint8_t* out;
    size_t olen;
    assert_int_equal(gr_frame_encode(&empty, GR_NET_MAX_PAYLOAD, &out, &olen),
                     GR_NET_ETYPE);
    Granary__Envelope* envs[NET_TEST_NMSGS];
    net_test_msgs(envs);
    assert_int_equal(gr_frame_encode(envs[9], 16, &out, &olen), GR_NET_ETOOBIG);
    assert_string_equal(gr_net_strerror(GR_NET_EMAGIC), "bad frame magic");
}

/* Each malformed frame on a connection: the right error, then either the
 * same connection (payload errors) or a fresh one (framing errors)
 * carries the next valid frame. */
static void
test_malformed_stream(void** state)
{
    (void)state;
    struct bad_case c[16];
    int n;
    make_bad_cases(c, &n);
    uint8_t good[256];
    size_t glen = valid_frame(good, sizeof good);
    for (int i = 0; i < n; i++) {
        gr_conn *a, *b;
        Granary__Envelope* got;
        pair(&a, &b);
        assert_int_equal(gr_conn_send_raw(a, c[i].bytes, c[i].len, 1000), 0);
        assert_int_equal(gr_conn_send_raw(a, good, glen, 1000), 0);
        int rc = gr_conn_recv(b, &got, 1000);
        if (rc != c[i].want)
            fail_msg("%s: got %d (%s)", c[i].name, rc, gr_net_strerror(rc));
        if (c[i].fatal) {
            assert_int_equal(gr_conn_recv(b, &got, 100), -EPIPE);
            gr_conn_close(a);
            gr_conn_close(b);
            pair(&a, &b);
            assert_int_equal(gr_conn_send_raw(a, good, glen, 1000), 0);
        }
        assert_int_equal(gr_conn_recv(b, &got, 1000), 0);
        assert_int_equal(got->body_case, GRANARY__ENVELOPE__BODY_PING);
        gr_msg_free(got);
        gr_conn_close(a);
        gr_conn_close(b);
    }
}

static void
test_truncated_stream(void** state)
{
    (void)state;
    uint8_t good[256];
    size_t glen = valid_frame(good, sizeof good);
    size_t cuts[] = { 5, 12, 13, glen - 1 };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        gr_conn *a, *b;
        Granary__Envelope* got;
        pair(&a, &b);
        assert_int_equal(gr_conn_send_raw(a, good, glen, 1000), 0);
        assert_int_equal(gr_conn_send_raw(a, good, cuts[i], 1000), 0);
        gr_conn_close(a); /* peer goes away mid-frame */
        assert_int_equal(gr_conn_recv(b, &got, 1000), 0);
        gr_msg_free(got);
        assert_int_equal(gr_conn_recv(b, &got, 1000), GR_NET_ETRUNC);
        assert_null(got);
        assert_int_equal(gr_conn_recv(b, &got, 1000), -EPIPE);
        gr_conn_close(b);
    }
    /* a clean close between frames is not an error in the data */
    gr_conn *a, *b;
    Granary__Envelope* got;
    pair(&a, &b);
    gr_conn_close(a);
    assert_int_equal(gr_conn_recv(b, &got, 1000), GR_NET_ECLOSED);
    gr_conn_close(b);
}

static void
test_timeout_and_resume(void** state)
{
    (void)state;
    gr_conn *a, *b;
    Granary__Envelope* got;
    pair(&a, &b);
    int64_t t0 = now_ms();
    assert_int_equal(gr_conn_recv(b, &got, 200), -ETIMEDOUT);
    int64_t took = now_ms() - t0;
    assert_true(took >= 190 && took < 2000);
    /* half a frame, a timeout, then the rest: the frame is resumed */
    uint8_t good[256];
    size_t glen = valid_frame(good, sizeof good);
    assert_int_equal(gr_conn_send_raw(a, good, 7, 1000), 0);
    assert_int_equal(gr_conn_recv(b, &got, 50), -ETIMEDOUT);
    assert_int_equal(gr_conn_send_raw(a, good + 7, 10, 1000), 0);
    assert_int_equal(gr_conn_recv(b, &got, 50), -ETIMEDOUT);
    assert_int_equal(gr_conn_send_raw(a, good + 17, glen - 17, 1000), 0);
    assert_int_equal(gr_conn_recv(b, &got, 1000), 0);
    assert_int_equal(got->body_case, GRANARY__ENVELOPE__BODY_PING);
    gr_msg_free(got);
    gr_conn_close(a);
    gr_conn_close(b);
}

/* A send to a peer that never reads times out instead of blocking. */
static void
test_send_timeout(void** state)
{
    (void)state;
    gr_conn *a, *b;
    pair(&a, &b);
    static uint8_t big[4 << 20];
    int64_t t0 = now_ms();
    assert_int_equal(gr_conn_send_raw(a, big, sizeof big, 200), -ETIMEDOUT);
    assert_true(now_ms() - t0 < 2000);
    assert_int_equal(gr_conn_send_raw(a, big, 1, 200), -EPIPE); /* broken */
    gr_conn_close(a);
    gr_conn_close(b);
}

/* Every allocation inside decoding may fail: errors, never crashes or
 * leaks (ASan checks the latter). */
static void
test_decode_alloc_failures(void** state)
{
    (void)state;
    Granary__Envelope* envs[NET_TEST_NMSGS];
    net_test_msgs(envs);
    for (int i = 0; i < NET_TEST_NMSGS; i++) {
        uint8_t* buf;
        size_t len, used;
        assert_int_equal(
          gr_frame_encode(envs[i], GR_NET_MAX_PAYLOAD, &buf, &len), 0);
        for (long nth = 1; nth < 40; nth++) {
            Granary__Envelope* got;
            gr_alloc_fail_after(nth);
            int rc = gr_frame_decode(buf, len, GR_NET_MAX_PAYLOAD, &got, &used);
            gr_alloc_fail_after(0);
            if (rc == 0) {
                assert_true(net_test_msgs_equal(got, envs[i]));
                gr_msg_free(got);
                break;
            }
            assert_true(rc == GR_NET_EDECODE || rc == -ENOMEM);
            assert_null(got);
        }
        gr_free(buf);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_buffer),
        cmocka_unit_test(test_roundtrip_socketpair),
        cmocka_unit_test(test_roundtrip_tcp),
        cmocka_unit_test(test_malformed_buffer),
        cmocka_unit_test(test_malformed_stream),
        cmocka_unit_test(test_truncated_stream),
        cmocka_unit_test(test_timeout_and_resume),
        cmocka_unit_test(test_send_timeout),
        cmocka_unit_test(test_decode_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
