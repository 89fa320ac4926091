/* SPDX-License-Identifier: Apache-2.0 */
/* WASI fd_* calls on open descriptors: read/write (straight between the host
 * descriptor and guest memory, no host buffers), positioning, status,
 * rights, sync, close and renumber. Directory listing is in wasi_dir.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "host/wasi/wasi_int.h"
#include "util/alloc.h"

static uint32_t
host_err(void)
{
    return gr_wasi_errno_from_host(errno);
}

/* Host descriptor of a non-virtual entry, or an errno for virtual ones. */
static uint32_t
need_host(const gr__wasi_fd* e, uint32_t virt_err)
{
    return e->kind == GR_WASI_KIND_HOST ? 0 : virt_err;
}

uint32_t
gr_wasi_fd_advise(gr_wasi* w,
                  gr_wasi_mem* mem,
                  uint32_t fd,
                  uint64_t offset,
                  uint64_t len,
                  uint32_t advice)
{
    (void)mem;
    static const int map[] = { POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL,
                               POSIX_FADV_RANDOM,   POSIX_FADV_WILLNEED,
                               POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE };
    gr__wasi_fd* e;
    uint32_t r = gr__wasi_fd_get(w, fd, GR_WASI_R_FD_ADVISE, &e);
    if (r)
        return r;
    if (advice > GR_WASI_ADVICE_NOREUSE || offset > INT64_MAX ||
        len > INT64_MAX)
        return GR_WASI_EINVAL;
    if ((r = need_host(e, GR_WASI_ESPIPE)))
        return r;
    if (e->filetype == GR_WASI_FT_DIRECTORY)
        return GR_WASI_EBADF;
    int rc = posix_fadvise(e->host_fd, (off_t)offset, (off_t)len, map[advice]);
    /* Advice is only advice: pipes and the like accept and ignore it. */
    if (rc == ESPIPE)
        return 0;
    return gr_wasi_errno_from_host(rc);
}

uint32_t
gr_wasi_fd_allocate(gr_wasi* w,
                    gr_wasi_mem* mem,
                    uint32_t fd,
                    uint64_t offset,
                    uint64_t len)
{
    (void)mem;
    gr__wasi_fd* e;
    uint32_t r = gr__wasi_fd_get(w, fd, GR_WASI_R_FD_ALLOCATE, &e);
    if (r)
        return r;
    if (offset > INT64_MAX || len > INT64_MAX || offset + len > INT64_MAX)
        return GR_WASI_EINVAL;
    if ((r = need_host(e, GR_WASI_ESPIPE)))
        return r;
    int rc = posix_fallocate(e->host_fd, (off_t)offset, (off_t)len);
    return gr_wasi_errno_from_host(rc);
}

uint32_t
gr_wasi_fd_close(gr_wasi* w, gr_wasi_mem* mem, uint32_t fd)
{
    (void)mem;
    gr__wasi_fd* e;
    uint32_t r = gr__wasi_fd_get(w, fd, 0, &e);
    if (r)
        return r;
    gr__wasi_fd_release(e);
    return 0;
}

static uint32_t
do_sync(gr_wasi* w, uint32_t fd, uint64_t right, int data)
{
    gr__wasi_fd* e;
    uint32_t r = gr__wasi_fd_get(w, fd, right, &e);
    if (r)
        return r;
    if ((r = need_host(e, GR_WASI_EINVAL)))
        return r;
    int rc = data ? fdatasync(e->host_fd) : fsync(e->host_fd);
    return rc == 0 ? 0 : host_err();
}

uint32_t
gr_wasi_fd_datasync(gr_wasi* w, gr_wasi_mem* mem, uint32_t fd)
{
    (void)mem;
    return do_sync(w, fd, GR_WASI_R_FD_DATASYNC, 1);
}

uint32_t
gr_wasi_fd_sync(gr_wasi* w, gr_wasi_mem* mem, uint32_t fd)
{
    (void)mem;
    return do_sync(w, fd, GR_WASI_R_FD_SYNC, 0);
}

static uint16_t
host_fdflags(int fl)
{
    uint16_t f = 0;
    if (fl & O_APPEND)
        f |= GR_WASI_FDFLAG_APPEND;
    if (fl & O_NONBLOCK)
        f |= GR_WASI_FDFLAG_NONBLOCK;
    if ((fl & O_SYNC) == O_SYNC)
        f |= GR_WASI_FDFLAG_SYNC | GR_WASI_FDFLAG_RSYNC;
    else if (fl & O_DSYNC)
        f |= GR_WASI_FDFLAG_DSYNC;
    return f;
}

uint32_t
gr_wasi_fd_fdstat_get(gr_wasi* w,
                      gr_wasi_mem* mem,
                      uint32_t fd,
                      uint32_t stat_ptr)
{
    gr__wasi_fd* e;
    uint32_t r = gr__wasi_fd_get(w, fd, 0, &e);
    if (r)
        return r;
    uint8_t* p = gr__wasi_ptr(mem, stat_ptr, GR_WASI_FDSTAT_SIZE);
    if (!p)
        return GR_WASI_EFAULT;
    uint16_t flags = e->fdflags;
    if (e->kind == GR_WASI_KIND_HOST) {
        int fl = fcntl(e->host_fd, F_GETFL);
        if (fl < 0)
            return host_err();
        flags = host_fdflags(fl);
    }
    memset(p, 0, GR_WASI_FDSTAT_SIZE);
    gr__wasi_st8(p, e->filetype);
    gr__wasi_st16(p + 2, flags);
    gr__wasi_st64(p + 8, e->base);
    gr__wasi_st64(p + 16, e->inheriting);
    return 0;
}

uint32_t
gr_wasi_fd_fdstat_set_flags(gr_wasi* w,
                            gr_wasi_mem* mem,
                            uint32_t fd,
                            uint32_t flags)
{
    (void)mem;
    gr__wasi_fd* e;
    uint32_t r = gr__wasi_fd_get(w, fd, GR_WASI_R_FD_FDSTAT_SET_FLAGS, &e);
    if (r)
        return r;
    if (flags & ~0x1fu)
        return GR_WASI_EINVAL;
    /* Linux cannot change the sync flags of an open file (F_SETFL ignores
     * them), so asking for them is refused rather than silently dropped. */
    if (flags &
        (GR_WASI_FDFLAG_DSYNC | GR_WASI_FDFLAG_RSYNC | GR_WASI_FDFLAG_SYNC))
        return GR_WASI_ENOTSUP;
    if (e->kind != GR_WASI_KIND_HOST) {
        e->fdflags = (uint16_t)flags;
        return 0;
    }
    int fl = fcntl(e->host_fd, F_GETFL);
    if (fl < 0)
        return host_err();
    fl &= ~(O_APPEND | O_NONBLOCK);
    if (flags & GR_WASI_FDFLAG_APPEND)
        fl |= O_APPEND;
    if (flags & GR_WASI_FDFLAG_NONBLOCK)
        fl |= O_NONBLOCK;
    return fcntl(e->host_fd, F_SETFL, fl) == 0 ? 0 : host_err();
}

uint32_t
gr_wasi_fd_fdstat_set_rights(gr_wasi* w,
                             gr_wasi_mem* mem,
                             uint32_t fd,
                             uint64_t base,
                             uint64_t inheriting)
{
    (void)mem;
    gr__wasi_fd* e;
    uint32_t r = gr__wasi_fd_get(w, fd, 0, &e);
    if (r)
        return r;
    /* Rights can only be dropped, never gained. */
    if ((base & ~e->base) || (inheriting & ~e->inheriting))
        return GR_WASI_ENOTCAPABLE;
    e->base = base;
    e->inheriting = inheriting;
    return 0;
}

uint32_t
gr_wasi_fd_filestat_get(gr_wasi* w, gr_wasi_mem* mem, uint32_t fd, uint32_t buf)
{
    gr__wasi_fd* e;
    uint32_t r = gr__wasi_fd_get(w, fd, GR_WASI_R_FD_FILESTAT_GET, &e);
    if (r)
        return r;
    uint8_t* p = gr__wasi_ptr(mem, buf, GR_WASI_FILESTAT_SIZE);
    if (!p)
        return GR_WASI_EFAULT;
    if (e->kind != GR_WASI_KIND_HOST) {
        memset(p, 0, GR_WASI_FILESTAT_SIZE);
        gr__wasi_st8(p + 16, e->filetype);
        gr__wasi_st64(p + 24, 1);
        return 0;
    }
    struct stat st;
    if (fstat(e->host_fd, &st) != 0)
        return host_err();
    gr__wasi_put_filestat(p, &st);
    return 0;
}

uint32_t
gr_wasi_fd_filestat_set_size(gr_wasi* w,
                             gr_wasi_mem* mem,
                             uint32_t fd,
                             uint64_t size)
{
    (void)mem;
    gr__wasi_fd* e;
    uint32_t r = gr__wasi_fd_get(w, fd, GR_WASI_R_FD_FILESTAT_SET_SIZE, &e);
    if (r)
        return r;
    if (size > INT64_MAX)
        return GR_WASI_EINVAL;
    if ((r = need_host(e, GR_WASI_EINVAL)))
        return r;
    return ftruncate(e->host_fd, (off_t)size) == 0 ? 0 : host_err();
}

uint32_t
gr_wasi_fd_filestat_set_times(gr_wasi* w,
                              gr_wasi_mem* mem,
                              uint32_t fd,
                              uint64_t atim,
                              uint64_t mtim,
                              uint32_t fstflags)
{
    (void)mem;
    gr__wasi_fd* e;
    struct timespec ts[2];
    uint32_t r = gr__wasi_fd_get(w, fd, GR_WASI_R_FD_FILESTAT_SET_TIMES, &e);
    if (r)
        return r;
    if ((r = gr__wasi_times(atim, mtim, fstflags, ts)))
        return r;
    if ((r = need_host(e, GR_WASI_EINVAL)))
        return r;
    return futimens(e->host_fd, ts) == 0 ? 0 : host_err();
}

/* Reads into the iovecs from a stdin buffer. */
static size_t
read_buf(gr_wasi* w, const struct iovec* iov, int n)
{
    size_t done = 0;
    for (int i = 0; i < n && w->in_pos < w->in_len; i++) {
        size_t k = w->in_len - w->in_pos;
        if (k > iov[i].iov_len)
            k = iov[i].iov_len;
        memcpy(iov[i].iov_base, w->in_buf + w->in_pos, k);
        w->in_pos += k;
        done += k;
    }
    return done;
}

/* A sink that takes fewer bytes than offered is full: the write returns
 * what it took, or fails with EFBIG when it took nothing (as a write past
 * a file size limit does). */
static ssize_t
write_sink(gr_wasi* w, const gr__wasi_fd* e, const struct iovec* iov, int n)
{
    const gr_wasi_sink* s = &w->sinks[e->sink];
    size_t done = 0;
    for (int i = 0; i < n; i++) {
        size_t want = iov[i].iov_len;
        size_t took =
          s->write && want ? s->write(s->ud, iov[i].iov_base, want) : want;
        done += took;
        if (took < want) {
            if (done)
                break;
            errno = EFBIG;
            return -1;
        }
    }
    return (ssize_t)done;
}

static int
is_socket(const gr__wasi_fd* e)
{
    return e->filetype == GR_WASI_FT_SOCKET_STREAM ||
           e->filetype == GR_WASI_FT_SOCKET_DGRAM;
}

/* The shared body of read/write/pread/pwrite. */
static uint32_t
rw(gr_wasi* w,
   gr_wasi_mem* mem,
   uint32_t fd,
   uint32_t iovs,
   uint32_t iovs_len,
   int write,
   int positioned,
   uint64_t offset,
   uint32_t result_ptr)
{
    gr__wasi_fd* e;
    uint64_t need = write ? GR_WASI_R_FD_WRITE : GR_WASI_R_FD_READ;
    if (positioned)
        need |= GR_WASI_R_FD_SEEK;
    uint32_t r = gr__wasi_fd_get(w, fd, need, &e);
    if (r)
        return r;
    if (e->filetype == GR_WASI_FT_DIRECTORY)
        return GR_WASI_EISDIR;
    if (positioned && offset > INT64_MAX)
        return GR_WASI_EINVAL;
    /* Check the result pointer first: failing after the transfer would lose
     * data the guest can never see again. */
    uint8_t* res = gr__wasi_ptr(mem, result_ptr, 4);
    if (!res)
        return GR_WASI_EFAULT;
    struct iovec* iov;
    int n;
    if ((r = gr__wasi_iovecs(mem, iovs, iovs_len, &iov, &n)))
        return r;
    ssize_t got;
    if (n > 0 && (r = gr__wasi_wait_fd(w, e, write ? POLLOUT : POLLIN))) {
        gr_free(iov);
        return r; /* the call's deadline passed first */
    }
    if (e->kind == GR_WASI_KIND_STDIN) {
        got = (positioned || write) ? -1 : (ssize_t)read_buf(w, iov, n);
        errno = ESPIPE;
    } else if (e->kind == GR_WASI_KIND_SINK) {
        errno = ESPIPE;
        got = (positioned || !write) ? -1 : write_sink(w, e, iov, n);
    } else if (n == 0) {
        got = 0;
    } else if (positioned) {
        got = write ? pwritev(e->host_fd, iov, n, (off_t)offset)
                    : preadv(e->host_fd, iov, n, (off_t)offset);
    } else if (write && is_socket(e)) {
        /* Never let a closed peer raise SIGPIPE in the host. */
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)n };
        got = sendmsg(e->host_fd, &msg, MSG_NOSIGNAL);
    } else {
        got = write ? writev(e->host_fd, iov, n) : readv(e->host_fd, iov, n);
    }
    int err = errno;
    gr_free(iov);
    if (got < 0)
        return gr__wasi_transfer_err(w, err);
    gr__wasi_st32(res, (uint32_t)got);
    return 0;
}

uint32_t
gr_wasi_fd_read(gr_wasi* w,
                gr_wasi_mem* mem,
                uint32_t fd,
                uint32_t iovs,
                uint32_t iovs_len,
                uint32_t nread_ptr)
{
    return rw(w, mem, fd, iovs, iovs_len, 0, 0, 0, nread_ptr);
}

uint32_t
gr_wasi_fd_write(gr_wasi* w,
                 gr_wasi_mem* mem,
                 uint32_t fd,
                 uint32_t iovs,
                 uint32_t iovs_len,
                 uint32_t nwritten_ptr)
{
    return rw(w, mem, fd, iovs, iovs_len, 1, 0, 0, nwritten_ptr);
}

uint32_t
gr_wasi_fd_pread(gr_wasi* w,
                 gr_wasi_mem* mem,
                 uint32_t fd,
                 uint32_t iovs,
                 uint32_t iovs_len,
                 uint64_t offset,
                 uint32_t nread_ptr)
{
    return rw(w, mem, fd, iovs, iovs_len, 0, 1, offset, nread_ptr);
}

uint32_t
gr_wasi_fd_pwrite(gr_wasi* w,
                  gr_wasi_mem* mem,
                  uint32_t fd,
                  uint32_t iovs,
                  uint32_t iovs_len,
                  uint64_t offset,
                  uint32_t nwritten_ptr)
{
    return rw(w, mem, fd, iovs, iovs_len, 1, 1, offset, nwritten_ptr);
}

uint32_t
gr_wasi_fd_seek(gr_wasi* w,
                gr_wasi_mem* mem,
                uint32_t fd,
                uint64_t offset,
                uint32_t whence,
                uint32_t newoffset_ptr)
{
    gr__wasi_fd* e;
    int64_t off = (int64_t)offset;
    /* A pure "where am I" query needs only fd_tell, as in other runtimes. */
    uint64_t need = (whence == GR_WASI_WHENCE_CUR && off == 0)
                      ? GR_WASI_R_FD_TELL
                      : GR_WASI_R_FD_SEEK;
    uint32_t r = gr__wasi_fd_get(w, fd, need, &e);
    if (r)
        return r;
    int wh;
    switch (whence) {
        case GR_WASI_WHENCE_SET:
            wh = SEEK_SET;
            break;
        case GR_WASI_WHENCE_CUR:
            wh = SEEK_CUR;
            break;
        case GR_WASI_WHENCE_END:
            wh = SEEK_END;
            break;
        default:
            return GR_WASI_EINVAL;
    }
    uint8_t* p = gr__wasi_ptr(mem, newoffset_ptr, 8);
    if (!p)
        return GR_WASI_EFAULT;
    if ((r = need_host(e, GR_WASI_ESPIPE)))
        return r;
    if (e->filetype == GR_WASI_FT_DIRECTORY)
        return GR_WASI_EBADF;
    off_t pos = lseek(e->host_fd, (off_t)off, wh);
    if (pos < 0)
        return host_err();
    gr__wasi_st64(p, (uint64_t)pos);
    return 0;
}

uint32_t
gr_wasi_fd_tell(gr_wasi* w, gr_wasi_mem* mem, uint32_t fd, uint32_t offset_ptr)
{
    gr__wasi_fd* e;
    uint32_t r = gr__wasi_fd_get(w, fd, GR_WASI_R_FD_TELL, &e);
    if (r)
        return r;
    uint8_t* p = gr__wasi_ptr(mem, offset_ptr, 8);
    if (!p)
        return GR_WASI_EFAULT;
    if ((r = need_host(e, GR_WASI_ESPIPE)))
        return r;
    off_t pos = lseek(e->host_fd, 0, SEEK_CUR);
    if (pos < 0)
        return host_err();
    gr__wasi_st64(p, (uint64_t)pos);
    return 0;
}

uint32_t
gr_wasi_fd_renumber(gr_wasi* w, gr_wasi_mem* mem, uint32_t fd, uint32_t to)
{
    (void)mem;
    gr__wasi_fd *from_e, *to_e;
    uint32_t r = gr__wasi_fd_get(w, fd, 0, &from_e);
    if (r)
        return r;
    if ((r = gr__wasi_fd_get(w, to, 0, &to_e)))
        return r;
    if (fd == to)
        return 0;
    /* `to` is closed and `fd` takes its number, as dup2 + close would. */
    gr__wasi_fd_release(to_e);
    *to_e = *from_e;
    memset(from_e, 0, sizeof(*from_e));
    from_e->host_fd = -1;
    return 0;
}

uint32_t
gr_wasi_fd_prestat_get(gr_wasi* w, gr_wasi_mem* mem, uint32_t fd, uint32_t buf)
{
    gr__wasi_fd* e;
    uint32_t r = gr__wasi_fd_get(w, fd, 0, &e);
    if (r)
        return r;
    if (!e->preopen)
        return GR_WASI_EBADF;
    uint8_t* p = gr__wasi_ptr(mem, buf, GR_WASI_PRESTAT_SIZE);
    if (!p)
        return GR_WASI_EFAULT;
    memset(p, 0, GR_WASI_PRESTAT_SIZE);
    gr__wasi_st8(p, GR_WASI_PREOPENTYPE_DIR);
    gr__wasi_st32(p + 4, (uint32_t)e->preopen_len);
    return 0;
}

uint32_t
gr_wasi_fd_prestat_dir_name(gr_wasi* w,
                            gr_wasi_mem* mem,
                            uint32_t fd,
                            uint32_t path,
                            uint32_t path_len)
{
    gr__wasi_fd* e;
    uint32_t r = gr__wasi_fd_get(w, fd, 0, &e);
    if (r)
        return r;
    if (!e->preopen)
        return GR_WASI_EBADF;
    uint8_t* p = gr__wasi_ptr(mem, path, path_len);
    if (!p)
        return GR_WASI_EFAULT;
    if (path_len < e->preopen_len)
        return GR_WASI_ENAMETOOLONG;
    memcpy(p, e->preopen, e->preopen_len);
    return 0;
}
