/* SPDX-License-Identifier: Apache-2.0 */
/* Framed connections: non-blocking sockets driven by poll() with a deadline
 * per operation, resumable frame reads, and rejection of bad frames.
 * Reads go through a small buffer, so a small frame costs one recv() and
 * frames that arrive together are taken with one. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"
#include "net/net_int.h"
#include "util/alloc.h"
#include "util/log.h"

#define RX_SIZE 16384 /* holds any small frame whole */
#define TX_SMALL 1024 /* frames up to this size are built on the stack */
#define NO_WAIT (-2)  /* a deadline: only what the socket holds now */

struct gr_conn
{
    int fd;
    uint32_t max_payload;
    int broken;  /* stream position lost: every later operation fails */
    int drained; /* the last recv() emptied the socket: poll() first */
    /* a frame too large for rx, read straight into its own buffer; kept
     * across -ETIMEDOUT like the bytes in rx */
    uint8_t* payload;
    uint32_t payload_len;
    size_t payload_got;
    char peer[64];
    size_t rx_off, rx_end; /* unread bytes: rx[rx_off..rx_end) */
    uint8_t rx[RX_SIZE];
};

int64_t
gr__net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
gr__net_deadline(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : gr__net_now_ms() + timeout_ms;
}

int
gr__net_remaining(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - gr__net_now_ms();
    return left <= 0 ? 0 : (left > 1000000000 ? 1000000000 : (int)left);
}

int
gr__net_resolve(const char* addr,
                int passive,
                struct sockaddr_storage* ss,
                socklen_t* sslen)
{
    char host[256];
    const char* colon;
    const char* h = addr;
    size_t hlen;
    if (!addr)
        return -EINVAL;
    if (addr[0] == '[') {
        const char* end = strchr(addr, ']');
        if (!end || end[1] != ':')
            return -EINVAL;
        h = addr + 1;
        hlen = (size_t)(end - h);
        colon = end + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            return -EINVAL;
        hlen = (size_t)(colon - addr);
    }
    if (hlen >= sizeof host || colon[1] == '\0')
        return -EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    char* endp;
    long port = strtol(colon + 1, &endp, 10);
    if (*endp || port < 0 || port > 65535)
        return -EINVAL;

    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = passive ? AI_PASSIVE : 0,
    };
    struct addrinfo* res = NULL;
    if (getaddrinfo(hlen ? host : NULL, colon + 1, &hints, &res) || !res)
        return -EINVAL;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

void
gr__net_format(const struct sockaddr* sa, char* buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in* in = (const struct sockaddr_in*)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        port = ntohs(in->sin_port);
        snprintf(buf, len, "%s:%d", ip, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6* in6 = (const struct sockaddr_in6*)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        port = ntohs(in6->sin6_port);
        snprintf(buf, len, "[%s]:%d", ip, port);
    } else {
        snprintf(buf, len, "local");
    }
}

static void
tune_tcp(int fd)
{
    int one = 1, idle = 10, intvl = 5, cnt = 3;
    /* Failures are harmless (AF_UNIX socketpairs in tests). */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
}

int
gr_conn_open(int fd, uint32_t max_payload, gr_conn** out)
{
    int rc;
    gr_conn* c = NULL;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        rc = -errno;
        goto fail;
    }
    c = gr_calloc(1, sizeof *c);
    if (!c) {
        rc = -ENOMEM;
        goto fail;
    }
    c->fd = fd;
    c->max_payload = max_payload ? max_payload : GR_NET_MAX_PAYLOAD;
    tune_tcp(fd);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getpeername(fd, (struct sockaddr*)&ss, &sl) == 0)
        gr__net_format((struct sockaddr*)&ss, c->peer, sizeof c->peer);
    else
        snprintf(c->peer, sizeof c->peer, "fd %d", fd);
    *out = c;
    return 0;
fail:
    close(fd);
    return rc;
}

int
gr_conn_connect(const char* addr,
                int timeout_ms,
                uint32_t max_payload,
                gr_conn** out)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int rc = gr__net_resolve(addr, 0, &ss, &sl);
    if (rc)
        return rc;
    int fd =
      socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr*)&ss, sl) < 0) {
        if (errno != EINPROGRESS) {
            rc = -errno;
            goto fail;
        }
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        int n;
        do
            n = poll(&pfd, 1, timeout_ms);
        while (n < 0 && errno == EINTR);
        if (n == 0) {
            rc = -ETIMEDOUT;
            goto fail;
        }
        int err = 0;
        socklen_t el = sizeof err;
        if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0) {
            rc = -errno;
            goto fail;
        }
        if (err) {
            rc = -err;
            goto fail;
        }
    }
    return gr_conn_open(fd, max_payload, out);
fail:
    close(fd);
    return rc;
}

/* Waits for events on c->fd until deadline: 0 ready, -ETIMEDOUT, -errno. */
static int
wait_fd(gr_conn* c, short events, int64_t deadline)
{
    struct pollfd pfd = { .fd = c->fd, .events = events };
    for (;;) {
        int n = poll(&pfd, 1, gr__net_remaining(deadline));
        if (n > 0)
            return 0; /* errors and hangups surface in read/write */
        if (n == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

/* 0 if c->fd can be read now, else -ETIMEDOUT (or -errno). */
static int
poll_now(gr_conn* c)
{
    struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
    int n;
    do
        n = poll(&pfd, 1, 0);
    while (n < 0 && errno == EINTR);
    return n > 0 ? 0 : n == 0 ? -ETIMEDOUT : -errno;
}

int
gr_conn_send_raw(gr_conn* c, const void* buf, size_t len, int timeout_ms)
{
    const uint8_t* p = buf;
    size_t off = 0;
    int64_t deadline = gr__net_deadline(timeout_ms);
    if (c->broken)
        return -EPIPE;
    while (off < len) {
        ssize_t n = send(c->fd, p + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        int rc;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            rc = wait_fd(c, POLLOUT, deadline);
        else
            rc = errno == ECONNRESET ? GR_NET_ECLOSED : -errno;
        if (rc) {
            if (off > 0)
                c->broken = 1; /* a partial frame is on the wire */
            return rc;
        }
    }
    return 0;
}

int
gr_conn_send(gr_conn* c, const Granary__Envelope* env, int timeout_ms)
{
    /* small frames (most messages) are built on the stack: no heap
     * round trip per message */
    uint8_t small[TX_SMALL];
    size_t len;
    int rc = gr__frame_size(env, c->max_payload, &len);
    if (rc)
        return rc;
    uint8_t* buf = len <= sizeof small ? small : gr_malloc(len);
    if (!buf)
        return -ENOMEM;
    if (!(rc = gr__frame_pack(env, buf, len)))
        rc = gr_conn_send_raw(c, buf, len, timeout_ms);
    if (buf != small)
        gr_free(buf);
    return rc;
}

static void
reset_rx(gr_conn* c)
{
    gr_free(c->payload);
    c->payload = NULL;
    c->payload_len = 0;
    c->payload_got = 0;
    c->rx_off = c->rx_end = 0;
}

static ssize_t
read_some(gr_conn* c, uint8_t* dst, size_t want)
{
    for (;;) {
        ssize_t n = recv(c->fd, dst, want, 0);
        if (n >= 0) {
            c->drained = (size_t)n < want;
            return n;
        }
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK) {
            c->drained = 1;
            return -EAGAIN;
        }
        return -errno;
    }
}

static int
reject(gr_conn* c, int rc, int fatal)
{
    GR_WARN("net: %s: rejected frame: %s", c->peer, gr_net_strerror(rc));
    if (fatal) {
        reset_rx(c);
        c->broken = 1;
    }
    return rc;
}

/* Takes the frame of len payload bytes that starts at p (whole in
 * memory). */
static int
take_frame(gr_conn* c, const uint8_t* p, uint32_t len, Granary__Envelope** out)
{
    int rc = gr_msg_unpack(p, len, out);
    return rc ? reject(c, rc, 0) : 0; /* framing intact: keep going */
}

/* Reads more bytes into dst; 0, -ETIMEDOUT (state kept), or an error that
 * ends the stream. */
static int
fill(gr_conn* c, uint8_t* dst, size_t want, int64_t deadline, size_t* got)
{
    for (;;) {
        /* Once drained, a poll() first, even without waiting: it does
         * not take the socket's lock, which a recv() does, so a thread
         * polling an idle connection does not hold up the kernel
         * delivering the next segment (measured: 4% of an MPI ping-pong's
         * time spinning on that lock) */
        if (c->drained) {
            int rc =
              deadline == NO_WAIT ? poll_now(c) : wait_fd(c, POLLIN, deadline);
            if (rc)
                return rc; /* partial state kept for the next call */
        }
        ssize_t n = read_some(c, dst, want);
        if (n == -EAGAIN) {
            if (deadline == NO_WAIT)
                return -ETIMEDOUT;
            continue;
        }
        if (n == 0 || n == -ECONNRESET) {
            int mid = c->payload || c->rx_end > c->rx_off;
            c->broken = 1;
            if (mid)
                return reject(c, GR_NET_ETRUNC, 1);
            reset_rx(c);
            return GR_NET_ECLOSED;
        }
        if (n < 0) {
            reset_rx(c);
            c->broken = 1;
            return (int)n;
        }
        *got = (size_t)n;
        return 0;
    }
}

int
gr_conn_recv(gr_conn* c, Granary__Envelope** out, int timeout_ms)
{
    int64_t deadline = timeout_ms == 0 ? NO_WAIT : gr__net_deadline(timeout_ms);
    *out = NULL;
    if (c->broken)
        return -EPIPE;
    for (;;) {
        size_t got, avail = c->rx_end - c->rx_off;
        int rc;
        if (c->payload) { /* a large frame: straight into its buffer */
            if ((rc = fill(c,
                           c->payload + c->payload_got,
                           c->payload_len - c->payload_got,
                           deadline,
                           &got)))
                return rc;
            c->payload_got += got;
            if (c->payload_got < c->payload_len)
                continue;
            rc = take_frame(c, c->payload, c->payload_len, out);
            reset_rx(c);
            return rc;
        }
        if (avail >= GR_NET_HEADER_SIZE) {
            uint32_t len;
            const uint8_t* h = c->rx + c->rx_off;
            if ((rc = gr_frame_header_parse(h, c->max_payload, &len)))
                return reject(c, rc, 1);
            if (avail - GR_NET_HEADER_SIZE >= len) {
                c->rx_off += GR_NET_HEADER_SIZE + len;
                if (c->rx_off == c->rx_end)
                    c->rx_off = c->rx_end = 0;
                return take_frame(c, h + GR_NET_HEADER_SIZE, len, out);
            }
            if (GR_NET_HEADER_SIZE + (size_t)len > sizeof c->rx) {
                /* Allocate only now that the length is known to be in
                 * bounds. */
                c->payload = gr_malloc(len);
                if (!c->payload) {
                    c->broken = 1;
                    reset_rx(c);
                    return -ENOMEM;
                }
                c->payload_len = len;
                c->payload_got = avail - GR_NET_HEADER_SIZE;
                memcpy(c->payload, h + GR_NET_HEADER_SIZE, c->payload_got);
                c->rx_off = c->rx_end = 0;
                continue;
            }
        }
        if (c->rx_off) { /* room for the rest of the frame */
            memmove(c->rx, c->rx + c->rx_off, avail);
            c->rx_off = 0;
            c->rx_end = avail;
        }
        if ((rc = fill(
               c, c->rx + c->rx_end, sizeof c->rx - c->rx_end, deadline, &got)))
            return rc;
        c->rx_end += got;
    }
}

int
gr_conn_wait_readable(gr_conn* c, int timeout_ms)
{
    /* only fd, which never changes: no state a receive touches */
    struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
    int64_t deadline = gr__net_deadline(timeout_ms);
    for (;;) {
        int n = poll(&pfd, 1, gr__net_remaining(deadline));
        if (n > 0)
            return 0;
        if (n == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

void
gr_conn_shutdown(gr_conn* c)
{
    if (c)
        (void)shutdown(c->fd, SHUT_RDWR);
}

void
gr_conn_close(gr_conn* c)
{
    if (!c)
        return;
    close(c->fd);
    gr_free(c->payload);
    gr_free(c);
}

const char*
gr_conn_peer(const gr_conn* c)
{
    return c->peer;
}
