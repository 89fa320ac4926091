/* SPDX-License-Identifier: Apache-2.0 */
/* poll_oneoff (clock timeouts, relative or absolute, and fd readiness via
 * ppoll(2)), the sock_* calls on sockets the host handed to the guest, and
 * the waits of blocking transfers, all bounded by the call's deadline. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "host/wasi/wasi_int.h"
#include "util/alloc.h"

#define NS 1000000000ull

static uint64_t
now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

uint32_t
gr__wasi_wait_fd(gr_wasi* w, const gr__wasi_fd* e, short events)
{
    if (!gr__wasi_deadline(w) || e->kind != GR_WASI_KIND_HOST ||
        e->host_fd < 0 || e->filetype == GR_WASI_FT_REGULAR_FILE ||
        e->filetype == GR_WASI_FT_DIRECTORY)
        return 0;
    int fl = fcntl(e->host_fd, F_GETFL);
    if (fl < 0 || (fl & O_NONBLOCK))
        return 0; /* it cannot block: the transfer says EAGAIN itself */
    for (;;) {
        uint64_t now = now_ns(CLOCK_MONOTONIC);
        uint64_t dl = gr__wasi_deadline(w);
        if (dl && now >= dl)
            return GR_WASI_ETIMEDOUT;
        uint64_t d = dl ? dl - now : 1000000000u;
        struct timespec ts = { (time_t)(d / NS), (long)(d % NS) };
        struct pollfd p = { .fd = e->host_fd, .events = events };
        int n = ppoll(&p, 1, &ts, NULL);
        /* Ready, hung up or failing: the transfer reports which. */
        if (n > 0 || (n < 0 && errno != EINTR))
            return 0;
    }
}

uint32_t
gr__wasi_transfer_err(gr_wasi* w, int err)
{
    uint64_t dl = gr__wasi_deadline(w);
    if (err == EINTR && dl && now_ns(CLOCK_MONOTONIC) >= dl)
        return GR_WASI_ETIMEDOUT;
    return gr_wasi_errno_from_host(err);
}

struct sub
{
    uint64_t userdata;
    uint8_t type;
    uint16_t error; /* set: the event is ready with this error */
    int ready;
    uint64_t deadline; /* clocks: CLOCK_MONOTONIC ns */
    int pfd;           /* fd subs: index into the pollfd array, or -1 */
    uint64_t nbytes;
    uint16_t flags;
};

static void
put_event(uint8_t* p, const struct sub* s)
{
    memset(p, 0, GR_WASI_EVENT_SIZE);
    gr__wasi_st64(p, s->userdata);
    gr__wasi_st16(p + 8, s->error);
    gr__wasi_st8(p + 10, s->type);
    if (s->type != GR_WASI_EVENT_CLOCK) {
        gr__wasi_st64(p + 16, s->nbytes);
        gr__wasi_st16(p + 24, s->flags);
    }
}

/* Prepares a clock subscription: its deadline on the monotonic clock. */
static void
clock_sub(struct sub* s, const uint8_t* in, uint64_t mono)
{
    uint32_t id = gr__wasi_ld32(in + 16);
    uint64_t timeout = gr__wasi_ld64(in + 24);
    uint16_t flags = gr__wasi_ld16(in + 40);
    int abs = (flags & GR_WASI_SUBCLOCK_ABSTIME) != 0;
    clockid_t c;
    switch (id) {
        case GR_WASI_CLOCK_REALTIME:
            c = CLOCK_REALTIME;
            break;
        case GR_WASI_CLOCK_MONOTONIC:
            c = CLOCK_MONOTONIC;
            break;
        case GR_WASI_CLOCK_PROCESS_CPUTIME:
            c = CLOCK_PROCESS_CPUTIME_ID;
            break;
        case GR_WASI_CLOCK_THREAD_CPUTIME:
            c = CLOCK_THREAD_CPUTIME_ID;
            break;
        default:
            s->ready = 1;
            s->error = GR_WASI_EINVAL;
            return;
    }
    if (flags & ~GR_WASI_SUBCLOCK_ABSTIME) {
        s->ready = 1;
        s->error = GR_WASI_EINVAL;
        return;
    }
    if (!abs) {
        s->deadline = sat_add(mono, timeout);
        return;
    }
    /* Absolute: convert "clock c reaches timeout" to a monotonic deadline
     * (CPU-time clocks advance no faster than wall time, so this waits at
     * least long enough; the wait loop re-checks). */
    uint64_t cnow = c == CLOCK_MONOTONIC ? mono : now_ns(c);
    s->deadline = timeout <= cnow ? mono : sat_add(mono, timeout - cnow);
}

uint32_t
gr_wasi_poll_oneoff(gr_wasi* w,
                    gr_wasi_mem* mem,
                    uint32_t in,
                    uint32_t out,
                    uint32_t nsubscriptions,
                    uint32_t nevents_ptr)
{
    if (nsubscriptions == 0)
        return GR_WASI_EINVAL;
    const uint8_t* pin = gr__wasi_ptr(
      mem, in, (uint64_t)nsubscriptions * GR_WASI_SUBSCRIPTION_SIZE);
    uint8_t* pout =
      gr__wasi_ptr(mem, out, (uint64_t)nsubscriptions * GR_WASI_EVENT_SIZE);
    uint8_t* pn = gr__wasi_ptr(mem, nevents_ptr, 4);
    if (!pin || !pout || !pn)
        return GR_WASI_EFAULT;
    if (nsubscriptions > GR_WASI_POLL_MAX)
        return GR_WASI_ENOTSUP; /* bounds the host allocation below */

    uint32_t rc = 0;
    struct sub* subs = gr_calloc(nsubscriptions, sizeof(*subs));
    struct pollfd* pfds = gr_calloc(nsubscriptions, sizeof(*pfds));
    if (!subs || !pfds) {
        rc = GR_WASI_ENOMEM;
        goto fail;
    }
    uint64_t mono = now_ns(CLOCK_MONOTONIC);
    uint64_t first = UINT64_MAX;
    int npfd = 0, immediate = 0;
    for (uint32_t i = 0; i < nsubscriptions; i++) {
        const uint8_t* p = pin + (size_t)i * GR_WASI_SUBSCRIPTION_SIZE;
        struct sub* s = &subs[i];
        s->userdata = gr__wasi_ld64(p);
        s->type = p[8];
        s->pfd = -1;
        if (s->type == GR_WASI_EVENT_CLOCK) {
            clock_sub(s, p, mono);
            if (!s->ready && s->deadline < first)
                first = s->deadline;
        } else if (s->type == GR_WASI_EVENT_FD_READ ||
                   s->type == GR_WASI_EVENT_FD_WRITE) {
            gr__wasi_fd* e;
            uint32_t fd = gr__wasi_ld32(p + 16);
            uint64_t right = s->type == GR_WASI_EVENT_FD_READ
                               ? GR_WASI_R_FD_READ
                               : GR_WASI_R_FD_WRITE;
            uint32_t r =
              gr__wasi_fd_get(w, fd, GR_WASI_R_POLL_FD_READWRITE, &e);
            if (r == 0 && (e->base & right) != right)
                r = GR_WASI_ENOTCAPABLE;
            if (r) {
                s->ready = 1;
                s->error = (uint16_t)r;
            } else if (e->kind == GR_WASI_KIND_STDIN) {
                s->ready = 1;
                s->nbytes = w->in_len - w->in_pos;
                s->flags = s->nbytes ? 0 : GR_WASI_EVENTRW_HANGUP;
            } else if (e->kind == GR_WASI_KIND_SINK ||
                       e->filetype == GR_WASI_FT_REGULAR_FILE ||
                       e->filetype == GR_WASI_FT_DIRECTORY) {
                /* Always ready; for files report the bytes left to read. */
                s->ready = 1;
                struct stat st;
                off_t pos;
                if (s->type == GR_WASI_EVENT_FD_READ &&
                    e->kind == GR_WASI_KIND_HOST &&
                    fstat(e->host_fd, &st) == 0 &&
                    (pos = lseek(e->host_fd, 0, SEEK_CUR)) >= 0 &&
                    st.st_size > pos)
                    s->nbytes = (uint64_t)(st.st_size - pos);
            } else {
                s->pfd = npfd;
                pfds[npfd].fd = e->host_fd;
                pfds[npfd].events =
                  s->type == GR_WASI_EVENT_FD_READ ? POLLIN : POLLOUT;
                npfd++;
            }
        } else {
            s->ready = 1;
            s->error = GR_WASI_EINVAL;
        }
        immediate |= s->ready;
    }

    if (!npfd && !immediate && first == UINT64_MAX) {
        rc = GR_WASI_EINVAL; /* nothing could ever happen */
        goto fail;
    }
    /* The call's deadline bounds every wait: at it, poll_oneoff returns
     * ETIMEDOUT (and the import wrapper ends the call) instead of
     * sleeping on; signals (EINTR) before it only restart the wait. */
    for (;;) {
        /* Read again after every wake: a cancelled call's deadline moves
         * forward (the watchdog's signal is the EINTR that gets us here). */
        uint64_t dl = gr__wasi_deadline(w);
        uint64_t wake = first;
        if (dl && dl < wake)
            wake = dl;
        struct timespec tmo, *ptmo = NULL;
        mono = now_ns(CLOCK_MONOTONIC);
        if (immediate || wake <= mono) {
            tmo.tv_sec = 0;
            tmo.tv_nsec = 0;
            ptmo = &tmo;
        } else if (wake != UINT64_MAX) {
            uint64_t d = wake - mono;
            tmo.tv_sec = (time_t)(d / NS);
            tmo.tv_nsec = (long)(d % NS);
            ptmo = &tmo;
        }
        /* No descriptor entry is used past this point: the other threads
         * of the call may use the context while this one sleeps. */
        gr__wasi_wait_begin(w);
        int n = ppoll(pfds, (nfds_t)npfd, ptmo, NULL);
        int perr = errno;
        gr__wasi_wait_end(w);
        errno = perr;
        if (n < 0 && errno != EINTR) {
            rc = gr_wasi_errno_from_host(errno);
            goto fail;
        }
        mono = now_ns(CLOCK_MONOTONIC);
        int any = immediate;
        for (uint32_t i = 0; i < nsubscriptions; i++) {
            struct sub* s = &subs[i];
            if (s->ready)
                continue;
            if (s->type == GR_WASI_EVENT_CLOCK) {
                if (s->deadline <= mono)
                    s->ready = any = 1;
            } else if (s->pfd >= 0 && n > 0 && pfds[s->pfd].revents) {
                short re = pfds[s->pfd].revents;
                s->ready = any = 1;
                if (re & POLLNVAL)
                    s->error = GR_WASI_EBADF;
                if (re & POLLHUP)
                    s->flags = GR_WASI_EVENTRW_HANGUP;
                int avail = 0;
                if (s->type == GR_WASI_EVENT_FD_READ &&
                    ioctl(pfds[s->pfd].fd, FIONREAD, &avail) == 0 && avail > 0)
                    s->nbytes = (uint64_t)avail;
            }
        }
        if (any)
            break;
        dl = gr__wasi_deadline(w);
        if (dl && mono >= dl) {
            rc = GR_WASI_ETIMEDOUT;
            goto fail;
        }
    }

    uint32_t k = 0;
    for (uint32_t i = 0; i < nsubscriptions; i++)
        if (subs[i].ready)
            put_event(pout + (size_t)(k++) * GR_WASI_EVENT_SIZE, &subs[i]);
    gr__wasi_st32(pn, k);
fail:
    gr_free(subs);
    gr_free(pfds);
    return rc;
}

/* A socket descriptor holding `rights`, or EBADF/ENOTSOCK/ENOTCAPABLE. */
static uint32_t
sock_get(gr_wasi* w, uint32_t fd, uint64_t rights, gr__wasi_fd** e)
{
    uint32_t r = gr__wasi_fd_get(w, fd, 0, e);
    if (r)
        return r;
    if ((*e)->kind != GR_WASI_KIND_HOST ||
        ((*e)->filetype != GR_WASI_FT_SOCKET_STREAM &&
         (*e)->filetype != GR_WASI_FT_SOCKET_DGRAM))
        return GR_WASI_ENOTSOCK;
    return ((*e)->base & rights) == rights ? 0 : GR_WASI_ENOTCAPABLE;
}

uint32_t
gr_wasi_sock_accept(gr_wasi* w,
                    gr_wasi_mem* mem,
                    uint32_t fd,
                    uint32_t flags,
                    uint32_t fd_ptr)
{
    gr__wasi_fd* e;
    uint32_t r = sock_get(w, fd, GR_WASI_R_SOCK_ACCEPT, &e);
    if (r)
        return r;
    if (flags & ~GR_WASI_FDFLAG_NONBLOCK)
        return GR_WASI_EINVAL;
    uint8_t* p = gr__wasi_ptr(mem, fd_ptr, 4);
    if (!p)
        return GR_WASI_EFAULT;
    /* A full table must not cost the peer its accepted connection. */
    if ((r = gr__wasi_fd_room(w)) ||
        (r = sock_get(w, fd, GR_WASI_R_SOCK_ACCEPT, &e))) /* it may move */
        return r;
    if ((r = gr__wasi_wait_fd(w, e, POLLIN)))
        return r;
    int afl = SOCK_CLOEXEC;
    if (flags & GR_WASI_FDFLAG_NONBLOCK)
        afl |= SOCK_NONBLOCK;
    int c = accept4(e->host_fd, NULL, NULL, afl);
    if (c < 0)
        return gr__wasi_transfer_err(w, errno);
    gr__wasi_fd ne;
    memset(&ne, 0, sizeof(ne));
    ne.kind = GR_WASI_KIND_HOST;
    ne.host_fd = c;
    ne.owned = 1;
    gr__wasi_host_type(c, &ne.filetype, &ne.base, &ne.inheriting);
    ne.base &= e->inheriting & ~GR_WASI_R_SOCK_ACCEPT;
    ne.inheriting = 0;
    uint32_t nfd;
    if ((r = gr__wasi_fd_insert(w, &ne, &nfd))) {
        close(c);
        return r;
    }
    gr__wasi_st32(p, nfd);
    return 0;
}

uint32_t
gr_wasi_sock_recv(gr_wasi* w,
                  gr_wasi_mem* mem,
                  uint32_t fd,
                  uint32_t ri_data,
                  uint32_t ri_data_len,
                  uint32_t ri_flags,
                  uint32_t ro_datalen_ptr,
                  uint32_t ro_flags_ptr)
{
    gr__wasi_fd* e;
    uint32_t r = sock_get(w, fd, GR_WASI_R_FD_READ, &e);
    if (r)
        return r;
    if (ri_flags & ~(GR_WASI_RI_RECV_PEEK | GR_WASI_RI_RECV_WAITALL))
        return GR_WASI_EINVAL;
    uint8_t* plen = gr__wasi_ptr(mem, ro_datalen_ptr, 4);
    uint8_t* pfl = gr__wasi_ptr(mem, ro_flags_ptr, 2);
    if (!plen || !pfl)
        return GR_WASI_EFAULT;
    struct iovec* iov;
    int n;
    if ((r = gr__wasi_iovecs(mem, ri_data, ri_data_len, &iov, &n)))
        return r;
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)n };
    int fl = 0;
    if (ri_flags & GR_WASI_RI_RECV_PEEK)
        fl |= MSG_PEEK;
    if (ri_flags & GR_WASI_RI_RECV_WAITALL)
        fl |= MSG_WAITALL;
    if ((r = gr__wasi_wait_fd(w, e, POLLIN))) {
        gr_free(iov);
        return r;
    }
    ssize_t got = recvmsg(e->host_fd, &msg, fl);
    int err = errno;
    gr_free(iov);
    if (got < 0)
        return gr__wasi_transfer_err(w, err);
    gr__wasi_st32(plen, (uint32_t)got);
    gr__wasi_st16(
      pfl, (msg.msg_flags & MSG_TRUNC) ? GR_WASI_RO_RECV_DATA_TRUNCATED : 0);
    return 0;
}

uint32_t
gr_wasi_sock_send(gr_wasi* w,
                  gr_wasi_mem* mem,
                  uint32_t fd,
                  uint32_t si_data,
                  uint32_t si_data_len,
                  uint32_t si_flags,
                  uint32_t so_datalen_ptr)
{
    gr__wasi_fd* e;
    uint32_t r = sock_get(w, fd, GR_WASI_R_FD_WRITE, &e);
    if (r)
        return r;
    if (si_flags != 0)
        return GR_WASI_EINVAL;
    uint8_t* plen = gr__wasi_ptr(mem, so_datalen_ptr, 4);
    if (!plen)
        return GR_WASI_EFAULT;
    struct iovec* iov;
    int n;
    if ((r = gr__wasi_iovecs(mem, si_data, si_data_len, &iov, &n)))
        return r;
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)n };
    if ((r = gr__wasi_wait_fd(w, e, POLLOUT))) {
        gr_free(iov);
        return r;
    }
    ssize_t got = sendmsg(e->host_fd, &msg, MSG_NOSIGNAL);
    int err = errno;
    gr_free(iov);
    if (got < 0)
        return gr__wasi_transfer_err(w, err);
    gr__wasi_st32(plen, (uint32_t)got);
    return 0;
}

uint32_t
gr_wasi_sock_shutdown(gr_wasi* w, gr_wasi_mem* mem, uint32_t fd, uint32_t how)
{
    (void)mem;
    gr__wasi_fd* e;
    uint32_t r = sock_get(w, fd, GR_WASI_R_SOCK_SHUTDOWN, &e);
    if (r)
        return r;
    int h;
    switch (how) {
        case GR_WASI_SD_RD:
            h = SHUT_RD;
            break;
        case GR_WASI_SD_WR:
            h = SHUT_WR;
            break;
        case GR_WASI_SD_RD | GR_WASI_SD_WR:
            h = SHUT_RDWR;
            break;
        default:
            return GR_WASI_EINVAL;
    }
    return shutdown(e->host_fd, h) == 0 ? 0 : gr_wasi_errno_from_host(errno);
}
