/* SPDX-License-Identifier: Apache-2.0 */
/* poll_oneoff (clocks relative/absolute, fd readiness on a pipe, bad
 * subscriptions), the sock_* calls on a preopened listening socket, and the
 * call's deadline (gr_wasi_set_deadline) bounding every blocking wait. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "host/wasi/wasi.h"
#include "wasi_test_util.h"

#define IN 1000u
#define OUT 3000u
#define NEV 900u

static int pipe_fds[2] = { -1, -1 };
static int listen_fd = -1;
static char sock_path[108];

static uint64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
sub_clock(tw* t,
          uint32_t i,
          uint64_t ud,
          uint32_t id,
          uint64_t timeout,
          uint16_t flags)
{
    uint8_t* p = t->mem.data + IN + 48 * i;
    memset(p, 0, 48);
    memcpy(p, &ud, 8);
    p[8] = GR_WASI_EVENT_CLOCK;
    memcpy(p + 16, &id, 4);
    memcpy(p + 24, &timeout, 8);
    memcpy(p + 40, &flags, 2);
}

static void
sub_fd(tw* t, uint32_t i, uint64_t ud, uint8_t type, uint32_t fd)
{
    uint8_t* p = t->mem.data + IN + 48 * i;
    memset(p, 0, 48);
    memcpy(p, &ud, 8);
    p[8] = type;
    memcpy(p + 16, &fd, 4);
}

static int
setup_pipe(void** state)
{
    if (pipe(pipe_fds) != 0)
        return -1;
    return tw_setup_with(state, pipe_fds[0], -1);
}

static int
teardown_pipe(void** state)
{
    tw_teardown(state);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return 0;
}

static void
test_poll_clock(void** state)
{
    tw* t = *state;
    assert_int_equal(gr_wasi_poll_oneoff(t->w, &t->mem, IN, OUT, 0, NEV),
                     GR_WASI_EINVAL);
    /* relative 30 ms on the monotonic clock */
    sub_clock(t, 0, 0xABCDEF0123ull, GR_WASI_CLOCK_MONOTONIC, 30000000ull, 0);
    uint64_t t0 = mono_ns();
    assert_int_equal(gr_wasi_poll_oneoff(t->w, &t->mem, IN, OUT, 1, NEV), 0);
    uint64_t dt = mono_ns() - t0;
    assert_true(dt >= 30000000ull);
    assert_true(dt < 2000000000ull);
    assert_int_equal(tw_ld32(t, NEV), 1);
    assert_int_equal(tw_ld64(t, OUT), 0xABCDEF0123ull);
    assert_int_equal(tw_ld16(t, OUT + 8), 0);
    assert_int_equal(t->mem.data[OUT + 10], GR_WASI_EVENT_CLOCK);
    /* absolute realtime in the past: immediate */
    sub_clock(t, 0, 1, GR_WASI_CLOCK_REALTIME, 1000, GR_WASI_SUBCLOCK_ABSTIME);
    t0 = mono_ns();
    assert_int_equal(gr_wasi_poll_oneoff(t->w, &t->mem, IN, OUT, 1, NEV), 0);
    assert_true(mono_ns() - t0 < 500000000ull);
    assert_int_equal(tw_ld32(t, NEV), 1);
    /* absolute monotonic 20 ms ahead, plus a later relative one: only the
     * first fires */
    sub_clock(t,
              0,
              7,
              GR_WASI_CLOCK_MONOTONIC,
              mono_ns() + 20000000ull,
              GR_WASI_SUBCLOCK_ABSTIME);
    sub_clock(t, 1, 8, GR_WASI_CLOCK_MONOTONIC, 5000000000ull, 0);
    t0 = mono_ns();
    assert_int_equal(gr_wasi_poll_oneoff(t->w, &t->mem, IN, OUT, 2, NEV), 0);
    dt = mono_ns() - t0;
    assert_true(dt >= 15000000ull && dt < 2000000000ull);
    assert_int_equal(tw_ld32(t, NEV), 1);
    assert_int_equal(tw_ld64(t, OUT), 7);
    /* unknown clock: an event carrying EINVAL, no wait */
    sub_clock(t, 0, 9, 17, 5000000000ull, 0);
    assert_int_equal(gr_wasi_poll_oneoff(t->w, &t->mem, IN, OUT, 1, NEV), 0);
    assert_int_equal(tw_ld32(t, NEV), 1);
    assert_int_equal(tw_ld16(t, OUT + 8), GR_WASI_EINVAL);
    /* bad pointers */
    assert_int_equal(
      gr_wasi_poll_oneoff(t->w, &t->mem, TW_MEM_SIZE - 40, OUT, 1, NEV),
      GR_WASI_EFAULT);
    assert_int_equal(
      gr_wasi_poll_oneoff(t->w, &t->mem, IN, TW_MEM_SIZE - 31, 1, NEV),
      GR_WASI_EFAULT);
    assert_int_equal(
      gr_wasi_poll_oneoff(t->w, &t->mem, IN, OUT, 1, 0xFFFFFFFEu),
      GR_WASI_EFAULT);
    assert_int_equal(
      gr_wasi_poll_oneoff(t->w, &t->mem, IN, OUT, 0x10000000u, NEV),
      GR_WASI_EFAULT);
}

static void
test_poll_fds(void** state)
{
    tw* t = *state;
    /* stdin is a pipe with nothing in it; stdout (a sink) is writable */
    sub_fd(t, 0, 1, GR_WASI_EVENT_FD_READ, 0);
    sub_fd(t, 1, 2, GR_WASI_EVENT_FD_WRITE, 1);
    assert_int_equal(gr_wasi_poll_oneoff(t->w, &t->mem, IN, OUT, 2, NEV), 0);
    assert_int_equal(tw_ld32(t, NEV), 1);
    assert_int_equal(tw_ld64(t, OUT), 2);
    assert_int_equal(t->mem.data[OUT + 10], GR_WASI_EVENT_FD_WRITE);
    /* data arrives: readable with nbytes; a timeout keeps it bounded */
    assert_int_equal(write(pipe_fds[1], "hello", 5), 5);
    sub_clock(t, 1, 3, GR_WASI_CLOCK_MONOTONIC, 5000000000ull, 0);
    assert_int_equal(gr_wasi_poll_oneoff(t->w, &t->mem, IN, OUT, 2, NEV), 0);
    assert_int_equal(tw_ld32(t, NEV), 1);
    assert_int_equal(tw_ld64(t, OUT), 1);
    assert_int_equal(t->mem.data[OUT + 10], GR_WASI_EVENT_FD_READ);
    assert_int_equal(tw_ld64(t, OUT + 16), 5);
    /* nothing to read and a short timeout: the clock fires */
    char buf[8];
    assert_int_equal(read(pipe_fds[0], buf, sizeof(buf)), 5);
    sub_clock(t, 1, 4, GR_WASI_CLOCK_MONOTONIC, 10000000ull, 0);
    assert_int_equal(gr_wasi_poll_oneoff(t->w, &t->mem, IN, OUT, 2, NEV), 0);
    assert_int_equal(tw_ld32(t, NEV), 1);
    assert_int_equal(tw_ld64(t, OUT), 4);
    /* bad fd and missing rights come back as event errors */
    sub_fd(t, 0, 5, GR_WASI_EVENT_FD_READ, 77);
    sub_fd(t, 1, 6, GR_WASI_EVENT_FD_WRITE, 0);
    assert_int_equal(gr_wasi_poll_oneoff(t->w, &t->mem, IN, OUT, 2, NEV), 0);
    assert_int_equal(tw_ld32(t, NEV), 2);
    assert_int_equal(tw_ld16(t, OUT + 8), GR_WASI_EBADF);
    assert_int_equal(tw_ld16(t, OUT + 32 + 8), GR_WASI_ENOTCAPABLE);
    /* unknown event type */
    sub_fd(t, 0, 7, 9, 0);
    assert_int_equal(gr_wasi_poll_oneoff(t->w, &t->mem, IN, OUT, 1, NEV), 0);
    assert_int_equal(tw_ld16(t, OUT + 8), GR_WASI_EINVAL);
    /* a closed writer is a hangup */
    close(pipe_fds[1]);
    pipe_fds[1] = -1;
    sub_fd(t, 0, 8, GR_WASI_EVENT_FD_READ, 0);
    assert_int_equal(gr_wasi_poll_oneoff(t->w, &t->mem, IN, OUT, 1, NEV), 0);
    assert_int_equal(tw_ld16(t, OUT + 24), GR_WASI_EVENTRW_HANGUP);
}

static void
test_sock_errors(void** state)
{
    tw* t = *state;
    tw_iov(t, 100, 200, 4);
    assert_int_equal(gr_wasi_sock_accept(t->w, &t->mem, 99, 0, 300),
                     GR_WASI_EBADF);
    assert_int_equal(gr_wasi_sock_accept(t->w, &t->mem, 3, 0, 300),
                     GR_WASI_ENOTSOCK);
    assert_int_equal(gr_wasi_sock_accept(t->w, &t->mem, 1, 0, 300),
                     GR_WASI_ENOTSOCK);
    assert_int_equal(gr_wasi_sock_recv(t->w, &t->mem, 1, 100, 1, 0, 300, 304),
                     GR_WASI_ENOTSOCK);
    assert_int_equal(gr_wasi_sock_send(t->w, &t->mem, 3, 100, 1, 0, 300),
                     GR_WASI_ENOTSOCK);
    assert_int_equal(gr_wasi_sock_shutdown(t->w, &t->mem, 50, 3),
                     GR_WASI_EBADF);
    assert_int_equal(gr_wasi_sock_shutdown(t->w, &t->mem, 2, 3),
                     GR_WASI_ENOTSOCK);
}

static int
setup_sock(void** state)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(
      sock_path, sizeof(sock_path), "/tmp/grwasi-sock.%d", (int)getpid());
    unlink(sock_path);
    strcpy(a.sun_path, sock_path);
    listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr*)&a, sizeof(a)) ||
        listen(listen_fd, 4))
        return -1;
    return tw_setup_with(state, -1, listen_fd);
}

static int
teardown_sock(void** state)
{
    tw_teardown(state);
    close(listen_fd);
    unlink(sock_path);
    return 0;
}

static void
test_sock_accept(void** state)
{
    tw* t = *state;
    /* the listener is the descriptor after the preopen */
    assert_int_equal(gr_wasi_fd_fdstat_get(t->w, &t->mem, 4, 700), 0);
    assert_int_equal(t->mem.data[700], GR_WASI_FT_SOCKET_STREAM);
    assert_int_equal(gr_wasi_sock_accept(t->w, &t->mem, 4, 0x10, 300),
                     GR_WASI_EINVAL);
    /* a non-blocking listener with nobody waiting */
    assert_int_equal(
      gr_wasi_fd_fdstat_set_flags(t->w, &t->mem, 4, GR_WASI_FDFLAG_NONBLOCK),
      0);
    assert_int_equal(gr_wasi_sock_accept(t->w, &t->mem, 4, 0, 300),
                     GR_WASI_EAGAIN);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    strcpy(a.sun_path, sock_path);
    assert_int_equal(connect(c, (struct sockaddr*)&a, sizeof(a)), 0);
    assert_int_equal(gr_wasi_sock_accept(t->w, &t->mem, 4, 0, TW_MEM_SIZE),
                     GR_WASI_EFAULT);
    assert_int_equal(gr_wasi_sock_accept(t->w, &t->mem, 4, 0, 300), 0);
    uint32_t s = tw_ld32(t, 300);
    assert_int_equal(s, 5);
    assert_int_equal(gr_wasi_fd_fdstat_get(t->w, &t->mem, s, 700), 0);
    assert_int_equal(t->mem.data[700], GR_WASI_FT_SOCKET_STREAM);
    assert_int_equal(tw_ld16(t, 702), 0);
    /* send from the guest, receive on the host */
    tw_put(t, 200, "ping");
    tw_iov(t, 100, 200, 4);
    assert_int_equal(gr_wasi_sock_send(t->w, &t->mem, s, 100, 1, 0, 300), 0);
    assert_int_equal(tw_ld32(t, 300), 4);
    char buf[8] = { 0 };
    assert_int_equal(read(c, buf, sizeof(buf)), 4);
    assert_string_equal(buf, "ping");
    assert_int_equal(gr_wasi_sock_send(t->w, &t->mem, s, 100, 1, 1, 300),
                     GR_WASI_EINVAL);
    /* receive (peek first) */
    assert_int_equal(write(c, "pong", 4), 4);
    tw_iov(t, 100, 400, 16);
    assert_int_equal(
      gr_wasi_sock_recv(
        t->w, &t->mem, s, 100, 1, GR_WASI_RI_RECV_PEEK, 300, 304),
      0);
    assert_int_equal(tw_ld32(t, 300), 4);
    assert_int_equal(gr_wasi_sock_recv(t->w, &t->mem, s, 100, 1, 0, 300, 304),
                     0);
    assert_int_equal(tw_ld32(t, 300), 4);
    assert_int_equal(tw_ld16(t, 304), 0);
    assert_memory_equal(t->mem.data + 400, "pong", 4);
    assert_int_equal(
      gr_wasi_sock_recv(t->w, &t->mem, s, 100, 1, 0, 300, TW_MEM_SIZE - 1),
      GR_WASI_EFAULT);
    tw_iov(t, 100, TW_MEM_SIZE - 2, 16);
    assert_int_equal(gr_wasi_sock_recv(t->w, &t->mem, s, 100, 1, 0, 300, 304),
                     GR_WASI_EFAULT);
    /* shutdown */
    assert_int_equal(gr_wasi_sock_shutdown(t->w, &t->mem, s, 0),
                     GR_WASI_EINVAL);
    assert_int_equal(gr_wasi_sock_shutdown(t->w, &t->mem, s, GR_WASI_SD_WR), 0);
    assert_int_equal(read(c, buf, sizeof(buf)), 0);
    /* writing to a peer that went away is EPIPE, not a SIGPIPE */
    close(c);
    tw_iov(t, 100, 200, 4);
    assert_int_equal(gr_wasi_fd_write(t->w, &t->mem, s, 100, 1, 300),
                     GR_WASI_EPIPE);
    /* accepted sockets cannot accept */
    assert_int_equal(gr_wasi_sock_accept(t->w, &t->mem, s, 0, 300),
                     GR_WASI_ENOTCAPABLE);
}

#define MS 1000000ull

static void
test_poll_deadline(void** state)
{
    tw* t = *state;
    /* a 3 s sleep in a call with 100 ms left ends at the deadline */
    sub_clock(t, 0, 1, GR_WASI_CLOCK_MONOTONIC, 3000 * MS, 0);
    uint64_t t0 = mono_ns();
    gr_wasi_set_deadline(t->w, t0 + 100 * MS);
    assert_int_equal(gr_wasi_poll_oneoff(t->w, &t->mem, IN, OUT, 1, NEV),
                     GR_WASI_ETIMEDOUT);
    uint64_t dt = mono_ns() - t0;
    assert_true(dt >= 100 * MS);
    assert_true(dt < 1000 * MS);
    /* so does one on an absolute time */
    sub_clock(t,
              0,
              2,
              GR_WASI_CLOCK_MONOTONIC,
              mono_ns() + 3000 * MS,
              GR_WASI_SUBCLOCK_ABSTIME);
    t0 = mono_ns();
    gr_wasi_set_deadline(t->w, t0 + 50 * MS);
    assert_int_equal(gr_wasi_poll_oneoff(t->w, &t->mem, IN, OUT, 1, NEV),
                     GR_WASI_ETIMEDOUT);
    assert_true(mono_ns() - t0 < 1000 * MS);
    /* a shorter sleep is untouched */
    gr_wasi_set_deadline(t->w, mono_ns() + 5000 * MS);
    sub_clock(t, 0, 3, GR_WASI_CLOCK_MONOTONIC, 10 * MS, 0);
    assert_int_equal(gr_wasi_poll_oneoff(t->w, &t->mem, IN, OUT, 1, NEV), 0);
    assert_int_equal(tw_ld32(t, NEV), 1);
    assert_int_equal(tw_ld64(t, OUT), 3);
    /* past the deadline, what is ready now is still reported */
    gr_wasi_set_deadline(t->w, mono_ns() - 1);
    sub_fd(t, 0, 4, GR_WASI_EVENT_FD_WRITE, 1);
    assert_int_equal(gr_wasi_poll_oneoff(t->w, &t->mem, IN, OUT, 1, NEV), 0);
    assert_int_equal(tw_ld64(t, OUT), 4);
    gr_wasi_set_deadline(t->w, 0);
}

static void
test_read_deadline(void** state)
{
    tw* t = *state;
    /* stdin is an empty blocking pipe: the read ends at the deadline */
    tw_iov(t, 100, 200, 16);
    uint64_t t0 = mono_ns();
    gr_wasi_set_deadline(t->w, t0 + 100 * MS);
    assert_int_equal(gr_wasi_fd_read(t->w, &t->mem, 0, 100, 1, 300),
                     GR_WASI_ETIMEDOUT);
    uint64_t dt = mono_ns() - t0;
    assert_true(dt >= 100 * MS && dt < 1000 * MS);
    /* with data there it reads as usual */
    assert_int_equal(write(pipe_fds[1], "abc", 3), 3);
    gr_wasi_set_deadline(t->w, mono_ns() + 5000 * MS);
    assert_int_equal(gr_wasi_fd_read(t->w, &t->mem, 0, 100, 1, 300), 0);
    assert_int_equal(tw_ld32(t, 300), 3);
    assert_memory_equal(t->mem.data + 200, "abc", 3);
    /* the poll on the pipe ends at the deadline too */
    sub_fd(t, 0, 1, GR_WASI_EVENT_FD_READ, 0);
    t0 = mono_ns();
    gr_wasi_set_deadline(t->w, t0 + 50 * MS);
    assert_int_equal(gr_wasi_poll_oneoff(t->w, &t->mem, IN, OUT, 1, NEV),
                     GR_WASI_ETIMEDOUT);
    assert_true(mono_ns() - t0 < 1000 * MS);
    gr_wasi_set_deadline(t->w, 0);
}

static void
test_sock_deadline(void** state)
{
    tw* t = *state;
    /* nobody connects: accept ends at the deadline */
    uint64_t t0 = mono_ns();
    gr_wasi_set_deadline(t->w, t0 + 100 * MS);
    assert_int_equal(gr_wasi_sock_accept(t->w, &t->mem, 4, 0, 300),
                     GR_WASI_ETIMEDOUT);
    assert_true(mono_ns() - t0 < 1000 * MS);
    /* a connected peer that sends nothing: recv ends at the deadline */
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    strcpy(a.sun_path, sock_path);
    assert_int_equal(connect(c, (struct sockaddr*)&a, sizeof(a)), 0);
    gr_wasi_set_deadline(t->w, mono_ns() + 5000 * MS);
    assert_int_equal(gr_wasi_sock_accept(t->w, &t->mem, 4, 0, 300), 0);
    uint32_t s = tw_ld32(t, 300);
    tw_iov(t, 100, 400, 16);
    t0 = mono_ns();
    gr_wasi_set_deadline(t->w, t0 + 100 * MS);
    assert_int_equal(gr_wasi_sock_recv(t->w, &t->mem, s, 100, 1, 0, 300, 304),
                     GR_WASI_ETIMEDOUT);
    assert_int_equal(gr_wasi_fd_read(t->w, &t->mem, s, 100, 1, 300),
                     GR_WASI_ETIMEDOUT);
    assert_true(mono_ns() - t0 < 1000 * MS);
    /* and works when there is something */
    assert_int_equal(write(c, "hi", 2), 2);
    gr_wasi_set_deadline(t->w, mono_ns() + 5000 * MS);
    assert_int_equal(gr_wasi_sock_recv(t->w, &t->mem, s, 100, 1, 0, 300, 304),
                     0);
    assert_int_equal(tw_ld32(t, 300), 2);
    gr_wasi_set_deadline(t->w, 0);
    close(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_poll_clock, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(
          test_poll_fds, setup_pipe, teardown_pipe),
        cmocka_unit_test_setup_teardown(
          test_sock_errors, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(
          test_sock_accept, setup_sock, teardown_sock),
        cmocka_unit_test_setup_teardown(
          test_poll_deadline, tw_setup, tw_teardown),
        cmocka_unit_test_setup_teardown(
          test_read_deadline, setup_pipe, teardown_pipe),
        cmocka_unit_test_setup_teardown(
          test_sock_deadline, setup_sock, teardown_sock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
