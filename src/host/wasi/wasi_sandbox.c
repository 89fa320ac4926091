/* SPDX-License-Identifier: Apache-2.0 */
/* Sandboxed path resolution: every guest path is resolved by the kernel with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) relative to a directory
 * the guest holds, so "..", absolute paths and symlinks (absolute or
 * relative) can never name anything outside it, even under races. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "host/wasi/wasi_int.h"

uint32_t
gr__wasi_copy_path(gr_wasi_mem* m, uint32_t path, uint32_t len, char* buf)
{
    const uint8_t* p = gr__wasi_ptr(m, path, len);
    if (!p)
        return GR_WASI_EFAULT;
    if (len >= GR_WASI_PATH_MAX)
        return GR_WASI_ENAMETOOLONG;
    /* Copy first, then inspect the copy: guest memory may change under us
     * (threads share it), the copy cannot. */
    memcpy(buf, p, len);
    buf[len] = '\0';
    if (memchr(buf, '\0', len))
        return GR_WASI_EINVAL;
    return 0;
}

int
gr__wasi_open_beneath(int base, const char* path, int flags, unsigned mode)
{
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = (uint64_t)(flags | O_CLOEXEC);
    how.mode =
      ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    if (path[0] == '/')
        return -EXDEV;
    for (int tries = 0; tries < 16; tries++) {
        long fd = syscall(SYS_openat2, base, path, &how, sizeof(how));
        if (fd >= 0)
            return (int)fd;
        /* EAGAIN: a concurrent rename raced the lookup; the kernel asks us
         * to retry rather than risk an escape. */
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
    }
    return -EAGAIN;
}

static int
is_dot(const char* s, size_t n)
{
    return (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
}

uint32_t
gr__wasi_path_resolve(int base, const char* path, gr__wasi_path* p)
{
    char parent[GR_WASI_PATH_MAX];
    size_t len = strlen(path);

    p->dirfd = -1;
    p->name[0] = '\0';
    p->trailing_slash = 0;
    if (len == 0)
        return GR_WASI_ENOENT;
    if (path[0] == '/')
        return GR_WASI_ENOTCAPABLE;
    while (len > 1 && path[len - 1] == '/') {
        len--;
        p->trailing_slash = 1;
    }
    size_t slash = len;
    while (slash > 0 && path[slash - 1] != '/')
        slash--;
    const char* name = path + slash;
    size_t nlen = len - slash;
    int fd;
    if (is_dot(name, nlen)) {
        /* "a/.." or ".": the object is the directory itself. */
        memcpy(parent, path, len);
        parent[len] = '\0';
        name = ".";
        nlen = 1;
    } else if (slash == 0) {
        parent[0] = '.';
        parent[1] = '\0';
    } else {
        memcpy(parent, path, slash);
        parent[slash] = '\0';
    }
    fd = gr__wasi_open_beneath(base, parent, O_PATH | O_DIRECTORY, 0);
    if (fd < 0)
        return fd == -EXDEV ? GR_WASI_ENOTCAPABLE
                            : gr_wasi_errno_from_host(-fd);
    p->dirfd = fd;
    memcpy(p->name, name, nlen);
    p->name[nlen] = '\0';
    return 0;
}

void
gr__wasi_path_fini(gr__wasi_path* p)
{
    if (p->dirfd >= 0)
        close(p->dirfd);
    p->dirfd = -1;
}
