/* SPDX-License-Identifier: Apache-2.0 */
/* Ping-pong tool for the transport, used by the netns cluster test and for
 * latency measurements:
 *   net_echo server ADDR:PORT          serve Ping -> Pong until SIGTERM
 *   net_echo client ADDR:PORT [N [B]]  N calls of B-byte pings; prints
 *                                      p50/p99 round trip in microseconds
 *   net_echo bench [N [B]]             both ends in one process, loopback */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"
#include "util/alloc.h"

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void
on_message(void* ctx, gr_peer* p, Granary__Envelope* m)
{
    (void)ctx;
    if (m->body_case == GRANARY__ENVELOPE__BODY_PING && m->id) {
        Granary__Pong pong = GRANARY__PONG__INIT;
        Granary__Envelope r = GRANARY__ENVELOPE__INIT;
        pong.nonce = m->ping->nonce;
        pong.data = m->ping->data;
        r.body_case = GRANARY__ENVELOPE__BODY_PONG;
        r.pong = &pong;
        (void)gr_peer_reply(p, m, &r);
    } else if (m->id) {
        gr_peer_reply_error(p, m, -ENOSYS, "echo answers pings only");
    }
    gr_msg_free(m);
}

static gr_server*
serve(const char* addr)
{
    gr_server* s;
    gr_server_config cfg = {
        .listen = addr,
        .peer = { .on_message = on_message },
    };
    int rc = gr_server_start(&cfg, &s);
    if (rc) {
        fprintf(stderr, "net_echo: listen %s: %s\n", addr, gr_net_strerror(rc));
        return NULL;
    }
    return s;
}

static int
cmp_u64(const void* a, const void* b)
{
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int
run_client(const char* addr, int n, size_t bytes)
{
    gr_peer* p = NULL;
    gr_peer_config cfg = { .connect_timeout_ms = 2000 };
    uint64_t* lat = gr_calloc((size_t)n, sizeof *lat);
    uint8_t* data = gr_calloc(1, bytes);
    int rc = -ENOMEM;
    if (!lat || !data)
        goto fail;
    memset(data, 'x', bytes);
    rc = gr_peer_dial(addr, &cfg, &p);
    if (rc == 0)
        rc = gr_peer_wait_up(p, 5000);
    if (rc) {
        fprintf(
          stderr, "net_echo: connect %s: %s\n", addr, gr_net_strerror(rc));
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        Granary__Ping pg = GRANARY__PING__INIT;
        Granary__Envelope req = GRANARY__ENVELOPE__INIT;
        Granary__Envelope* rep;
        pg.nonce = (uint64_t)i;
        pg.data.data = data;
        pg.data.len = bytes;
        req.body_case = GRANARY__ENVELOPE__BODY_PING;
        req.ping = &pg;
        uint64_t t0 = now_ns();
        rc = gr_peer_call(p, &req, &rep, 5000);
        lat[i] = now_ns() - t0;
        if (rc == 0 &&
            (rep->body_case != GRANARY__ENVELOPE__BODY_PONG ||
             rep->pong->nonce != (uint64_t)i || rep->pong->data.len != bytes))
            rc = -EBADMSG;
        gr_msg_free(rep);
        if (rc) {
            fprintf(stderr, "net_echo: call %d: %s\n", i, gr_net_strerror(rc));
            goto fail;
        }
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp_u64);
    printf("net_echo: %d round trips of %zu-byte pings to %s: "
           "p50 %.1f us, p99 %.1f us, max %.1f us\n",
           n,
           bytes,
           addr,
           (double)lat[n / 2] / 1e3,
           (double)lat[(n * 99) / 100] / 1e3,
           (double)lat[n - 1] / 1e3);
fail:
    gr_peer_close(p);
    gr_free(lat);
    gr_free(data);
    return rc ? 1 : 0;
}

int
main(int argc, char** argv)
{
    if (argc >= 3 && strcmp(argv[1], "server") == 0) {
        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
        gr_server* s = serve(argv[2]);
        if (!s)
            return 1;
        printf(
          "net_echo: listening on %s (port %d)\n", argv[2], gr_server_port(s));
        fflush(stdout);
        while (!stop)
            pause();
        gr_server_stop(s);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "client") == 0) {
        int n = argc > 3 ? atoi(argv[3]) : 1000;
        long b = argc > 4 ? atol(argv[4]) : 32;
        return run_client(argv[2], n > 0 ? n : 1, b > 0 ? (size_t)b : 1);
    }
    if (argc >= 2 && strcmp(argv[1], "bench") == 0) {
        int n = argc > 2 ? atoi(argv[2]) : 10000;
        long b = argc > 3 ? atol(argv[3]) : 32;
        gr_server* s = serve("127.0.0.1:0");
        if (!s)
            return 1;
        char addr[64];
        snprintf(addr, sizeof addr, "127.0.0.1:%d", gr_server_port(s));
        int rc = run_client(addr, n > 0 ? n : 1, b > 0 ? (size_t)b : 1);
        gr_server_stop(s);
        return rc;
    }
    fprintf(stderr,
            "usage: net_echo server ADDR:PORT\n"
            "       net_echo client ADDR:PORT [N [BYTES]]\n"
            "       net_echo bench [N [BYTES]]\n");
    return 2;
}
