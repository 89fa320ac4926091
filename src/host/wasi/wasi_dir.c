/* SPDX-License-Identifier: Apache-2.0 */
/* fd_readdir: directory entries straight from getdents64 into the guest's
 * buffer. The cookie is the kernel's directory offset (d_off), so listing
 * resumes exactly where the guest left off with no host-side state and a
 * fixed-size host buffer whatever the guest asks for. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "host/wasi/wasi_int.h"

struct linux_dirent64
{
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static uint8_t
dtype(int dirfd, const char* name, unsigned char t)
{
    switch (t) {
        case DT_REG:
            return GR_WASI_FT_REGULAR_FILE;
        case DT_DIR:
            return GR_WASI_FT_DIRECTORY;
        case DT_LNK:
            return GR_WASI_FT_SYMBOLIC_LINK;
        case DT_CHR:
            return GR_WASI_FT_CHARACTER_DEVICE;
        case DT_BLK:
            return GR_WASI_FT_BLOCK_DEVICE;
        case DT_SOCK:
            return GR_WASI_FT_SOCKET_STREAM;
        case DT_UNKNOWN: {
            struct stat st;
            if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return gr__wasi_filetype_from_mode(st.st_mode);
            return GR_WASI_FT_UNKNOWN;
        }
        default:
            return GR_WASI_FT_UNKNOWN;
    }
}

uint32_t
gr_wasi_fd_readdir(gr_wasi* w,
                   gr_wasi_mem* mem,
                   uint32_t fd,
                   uint32_t buf,
                   uint32_t buf_len,
                   uint64_t cookie,
                   uint32_t bufused_ptr)
{
    gr__wasi_fd* e;
    uint32_t r = gr__wasi_fd_get(w, fd, GR_WASI_R_FD_READDIR, &e);
    if (r)
        return r;
    if (e->kind != GR_WASI_KIND_HOST || e->filetype != GR_WASI_FT_DIRECTORY)
        return GR_WASI_ENOTDIR;
    uint8_t* out = gr__wasi_ptr(mem, buf, buf_len);
    uint8_t* used = gr__wasi_ptr(mem, bufused_ptr, 4);
    if (!out || !used)
        return GR_WASI_EFAULT;
    if (cookie > INT64_MAX)
        return GR_WASI_EINVAL;
    if (lseek(e->host_fd, (off_t)cookie, SEEK_SET) < 0)
        return gr_wasi_errno_from_host(errno);

    /* 8-byte aligned so the dirent fields can be read in place. */
    uint64_t dbuf[1024];
    size_t pos = 0;
    while (pos < buf_len) {
        long n = syscall(SYS_getdents64, e->host_fd, dbuf, sizeof(dbuf));
        if (n < 0)
            return gr_wasi_errno_from_host(errno);
        if (n == 0)
            break;
        for (long off = 0; off < n && pos < buf_len;) {
            const struct linux_dirent64* d =
              (const struct linux_dirent64*)((const char*)dbuf + off);
            off += d->d_reclen;
            size_t namlen = strlen(d->d_name);
            uint8_t ent[GR_WASI_DIRENT_SIZE];
            memset(ent, 0, sizeof(ent));
            gr__wasi_st64(ent, (uint64_t)d->d_off);
            gr__wasi_st64(ent + 8, d->d_ino);
            gr__wasi_st32(ent + 16, (uint32_t)namlen);
            gr__wasi_st8(ent + 20, dtype(e->host_fd, d->d_name, d->d_type));
            /* The last entry may be cut short: the guest sees bufused ==
             * buf_len and retries with a larger buffer, per the spec. */
            size_t k = buf_len - pos;
            if (k > sizeof(ent))
                k = sizeof(ent);
            memcpy(out + pos, ent, k);
            pos += k;
            k = buf_len - pos;
            if (k > namlen)
                k = namlen;
            memcpy(out + pos, d->d_name, k);
            pos += k;
        }
    }
    gr__wasi_st32(used, (uint32_t)pos);
    return 0;
}
