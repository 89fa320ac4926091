/* SPDX-License-Identifier: Apache-2.0 */
/* WASI path_* calls. Each resolves its guest path inside the directory
 * descriptor it names (wasi_sandbox.c) and then acts on the final component
 * with an *at() call that does not follow it, or, when the guest asks to
 * follow symlinks, re-resolves the whole path with openat2 beneath the
 * directory. Nothing outside a preopened directory is ever reached. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/wasi/wasi_int.h"

#define RIGHTS_OPEN_FILE                                                       \
    (GR_WASI_R_FD_DATASYNC | GR_WASI_R_FD_READ | GR_WASI_R_FD_SEEK |           \
     GR_WASI_R_FD_FDSTAT_SET_FLAGS | GR_WASI_R_FD_SYNC | GR_WASI_R_FD_TELL |   \
     GR_WASI_R_FD_WRITE | GR_WASI_R_FD_ADVISE | GR_WASI_R_FD_ALLOCATE |        \
     GR_WASI_R_FD_FILESTAT_GET | GR_WASI_R_FD_FILESTAT_SET_SIZE |              \
     GR_WASI_R_FD_FILESTAT_SET_TIMES | GR_WASI_R_POLL_FD_READWRITE)

static uint32_t
host_err(void)
{
    return gr_wasi_errno_from_host(errno);
}

static uint32_t
beneath_err(int neg)
{
    return neg == -EXDEV ? GR_WASI_ENOTCAPABLE : gr_wasi_errno_from_host(-neg);
}

/* Looks up a directory descriptor holding `rights` and copies the path. */
static uint32_t
begin(gr_wasi* w,
      gr_wasi_mem* m,
      uint32_t fd,
      uint64_t rights,
      uint32_t path,
      uint32_t len,
      char* buf,
      gr__wasi_fd** e)
{
    /* Not-a-directory before rights: files never hold path rights, and
     * ENOTDIR is what the guest can act on. */
    uint32_t r = gr__wasi_fd_get(w, fd, 0, e);
    if (r)
        return r;
    if ((*e)->kind != GR_WASI_KIND_HOST ||
        (*e)->filetype != GR_WASI_FT_DIRECTORY)
        return GR_WASI_ENOTDIR;
    if (((*e)->base & rights) != rights)
        return GR_WASI_ENOTCAPABLE;
    return gr__wasi_copy_path(m, path, len, buf);
}

/* A path written "name/" must name a directory if it names anything. */
static uint32_t
check_trailing(const gr__wasi_path* p)
{
    struct stat st;
    if (!p->trailing_slash)
        return 0;
    if (fstatat(p->dirfd, p->name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : host_err();
    return S_ISDIR(st.st_mode) ? 0 : GR_WASI_ENOTDIR;
}

static int
exists(const gr__wasi_path* p, struct stat* st)
{
    return fstatat(p->dirfd, p->name, st, AT_SYMLINK_NOFOLLOW) == 0;
}

uint32_t
gr_wasi_path_create_directory(gr_wasi* w,
                              gr_wasi_mem* mem,
                              uint32_t fd,
                              uint32_t path,
                              uint32_t path_len)
{
    char buf[GR_WASI_PATH_MAX];
    gr__wasi_fd* e;
    gr__wasi_path p;
    uint32_t r = begin(
      w, mem, fd, GR_WASI_R_PATH_CREATE_DIRECTORY, path, path_len, buf, &e);
    if (r || (r = gr__wasi_path_resolve(e->host_fd, buf, &p)))
        return r;
    if (strcmp(p.name, ".") == 0)
        r = GR_WASI_EEXIST;
    else if (mkdirat(p.dirfd, p.name, 0777) != 0)
        r = host_err();
    gr__wasi_path_fini(&p);
    return r;
}

/* Opens the object a path names, following a final symlink (safely). */
static int
open_follow(int base, const char* path)
{
    return gr__wasi_open_beneath(base, path, O_PATH, 0);
}

uint32_t
gr_wasi_path_filestat_get(gr_wasi* w,
                          gr_wasi_mem* mem,
                          uint32_t fd,
                          uint32_t flags,
                          uint32_t path,
                          uint32_t path_len,
                          uint32_t buf_ptr)
{
    char buf[GR_WASI_PATH_MAX];
    gr__wasi_fd* e;
    gr__wasi_path p;
    struct stat st;
    uint32_t r =
      begin(w, mem, fd, GR_WASI_R_PATH_FILESTAT_GET, path, path_len, buf, &e);
    if (r)
        return r;
    uint8_t* out = gr__wasi_ptr(mem, buf_ptr, GR_WASI_FILESTAT_SIZE);
    if (!out)
        return GR_WASI_EFAULT;
    if ((r = gr__wasi_path_resolve(e->host_fd, buf, &p)))
        return r;
    if ((flags & GR_WASI_LOOKUP_SYMLINK_FOLLOW) || p.trailing_slash) {
        int o = open_follow(e->host_fd, buf);
        if (o < 0) {
            r = beneath_err(o);
        } else {
            if (fstat(o, &st) != 0)
                r = host_err();
            close(o);
        }
    } else if (fstatat(p.dirfd, p.name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        r = host_err();
    }
    gr__wasi_path_fini(&p);
    if (r == 0)
        gr__wasi_put_filestat(out, &st);
    return r;
}

uint32_t
gr_wasi_path_filestat_set_times(gr_wasi* w,
                                gr_wasi_mem* mem,
                                uint32_t fd,
                                uint32_t flags,
                                uint32_t path,
                                uint32_t path_len,
                                uint64_t atim,
                                uint64_t mtim,
                                uint32_t fstflags)
{
    char buf[GR_WASI_PATH_MAX];
    gr__wasi_fd* e;
    gr__wasi_path p;
    struct timespec ts[2];
    uint32_t r = begin(
      w, mem, fd, GR_WASI_R_PATH_FILESTAT_SET_TIMES, path, path_len, buf, &e);
    if (r || (r = gr__wasi_times(atim, mtim, fstflags, ts)))
        return r;
    if ((r = gr__wasi_path_resolve(e->host_fd, buf, &p)))
        return r;
    if ((flags & GR_WASI_LOOKUP_SYMLINK_FOLLOW) || p.trailing_slash) {
        int o = open_follow(e->host_fd, buf);
        if (o < 0) {
            r = beneath_err(o);
        } else {
            if (utimensat(o, "", ts, AT_EMPTY_PATH) != 0) {
                /* Older kernels lack AT_EMPTY_PATH here; /proc names the
                 * already-resolved object without another lookup. */
                char proc[64];
                snprintf(proc, sizeof(proc), "/proc/self/fd/%d", o);
                if (utimensat(AT_FDCWD, proc, ts, 0) != 0)
                    r = host_err();
            }
            close(o);
        }
    } else if (utimensat(p.dirfd, p.name, ts, AT_SYMLINK_NOFOLLOW) != 0) {
        r = host_err();
    }
    gr__wasi_path_fini(&p);
    return r;
}

/* The common start of the two-path calls (link, rename): checks both
 * directory descriptors for their rights, reads both guest paths and
 * resolves them beneath their directories. On success the caller owns op
 * and np (gr__wasi_path_fini); obuf/nbuf hold the guest paths. */
static uint32_t
begin_pair(gr_wasi* w,
           gr_wasi_mem* mem,
           uint32_t old_fd,
           uint64_t old_right,
           uint32_t old_path,
           uint32_t old_len,
           uint32_t new_fd,
           uint64_t new_right,
           uint32_t new_path,
           uint32_t new_len,
           char* obuf,
           char* nbuf,
           gr__wasi_fd** oe,
           gr__wasi_path* op,
           gr__wasi_path* np)
{
    gr__wasi_fd* ne;
    uint32_t r = begin(w, mem, old_fd, old_right, old_path, old_len, obuf, oe);
    if (r)
        return r;
    r = begin(w, mem, new_fd, new_right, new_path, new_len, nbuf, &ne);
    if (r)
        return r;
    if ((r = gr__wasi_path_resolve((*oe)->host_fd, obuf, op)))
        return r;
    if ((r = gr__wasi_path_resolve(ne->host_fd, nbuf, np)))
        gr__wasi_path_fini(op);
    return r;
}

uint32_t
gr_wasi_path_link(gr_wasi* w,
                  gr_wasi_mem* mem,
                  uint32_t old_fd,
                  uint32_t old_flags,
                  uint32_t old_path,
                  uint32_t old_len,
                  uint32_t new_fd,
                  uint32_t new_path,
                  uint32_t new_len)
{
    char obuf[GR_WASI_PATH_MAX], nbuf[GR_WASI_PATH_MAX];
    gr__wasi_fd* oe;
    gr__wasi_path op, np;
    struct stat st;
    uint32_t r = begin_pair(w,
                            mem,
                            old_fd,
                            GR_WASI_R_PATH_LINK_SOURCE,
                            old_path,
                            old_len,
                            new_fd,
                            GR_WASI_R_PATH_LINK_TARGET,
                            new_path,
                            new_len,
                            obuf,
                            nbuf,
                            &oe,
                            &op,
                            &np);
    if (r)
        return r;
    if (strcmp(op.name, ".") == 0) {
        r = GR_WASI_EPERM; /* no hard links to directories */
    } else if (strcmp(np.name, ".") == 0 || exists(&np, &st)) {
        r = GR_WASI_EEXIST;
    } else if ((r = check_trailing(&op)) || np.trailing_slash) {
        r = r ? r : GR_WASI_ENOENT;
    } else if (old_flags & GR_WASI_LOOKUP_SYMLINK_FOLLOW) {
        int o = open_follow(oe->host_fd, obuf);
        if (o < 0) {
            r = beneath_err(o);
        } else {
            if (linkat(o, "", np.dirfd, np.name, AT_EMPTY_PATH) != 0) {
                /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc does not. */
                char proc[64];
                snprintf(proc, sizeof(proc), "/proc/self/fd/%d", o);
                if (linkat(
                      AT_FDCWD, proc, np.dirfd, np.name, AT_SYMLINK_FOLLOW) !=
                    0)
                    r = host_err();
            }
            close(o);
        }
    } else if (linkat(op.dirfd, op.name, np.dirfd, np.name, 0) != 0) {
        r = host_err();
    }
    gr__wasi_path_fini(&op);
    gr__wasi_path_fini(&np);
    return r;
}

uint32_t
gr_wasi_path_open(gr_wasi* w,
                  gr_wasi_mem* mem,
                  uint32_t fd,
                  uint32_t dirflags,
                  uint32_t path,
                  uint32_t path_len,
                  uint32_t oflags,
                  uint64_t rights_base,
                  uint64_t rights_inheriting,
                  uint32_t fdflags,
                  uint32_t opened_fd_ptr)
{
    char buf[GR_WASI_PATH_MAX];
    gr__wasi_fd* e;
    uint64_t need = GR_WASI_R_PATH_OPEN;
    if (oflags & GR_WASI_O_CREAT)
        need |= GR_WASI_R_PATH_CREATE_FILE;
    if (oflags & GR_WASI_O_TRUNC)
        need |= GR_WASI_R_PATH_FILESTAT_SET_SIZE;
    uint32_t r = begin(w, mem, fd, need, path, path_len, buf, &e);
    if (r)
        return r;
    if ((oflags & ~0xfu) || (fdflags & ~0x1fu))
        return GR_WASI_EINVAL;
    uint8_t* out = gr__wasi_ptr(mem, opened_fd_ptr, 4);
    if (!out)
        return GR_WASI_EFAULT;
    if (buf[0] == '/')
        return GR_WASI_ENOTCAPABLE;

    int flags = 0;
    if (oflags & GR_WASI_O_CREAT)
        flags |= O_CREAT;
    if (oflags & GR_WASI_O_DIRECTORY)
        flags |= O_DIRECTORY;
    if (oflags & GR_WASI_O_EXCL)
        flags |= O_EXCL;
    if (oflags & GR_WASI_O_TRUNC)
        flags |= O_TRUNC;
    if (!(dirflags & GR_WASI_LOOKUP_SYMLINK_FOLLOW))
        flags |= O_NOFOLLOW;
    if (fdflags & GR_WASI_FDFLAG_APPEND)
        flags |= O_APPEND;
    if (fdflags & GR_WASI_FDFLAG_NONBLOCK)
        flags |= O_NONBLOCK;
    if (fdflags & GR_WASI_FDFLAG_DSYNC)
        flags |= O_DSYNC;
    if (fdflags & (GR_WASI_FDFLAG_SYNC | GR_WASI_FDFLAG_RSYNC))
        flags |= O_SYNC;
    /* The access mode follows the rights asked for. */
    int rd = (rights_base & (GR_WASI_R_FD_READ | GR_WASI_R_FD_READDIR)) != 0;
    int wr = (rights_base & (GR_WASI_R_FD_WRITE | GR_WASI_R_FD_ALLOCATE |
                             GR_WASI_R_FD_FILESTAT_SET_SIZE)) != 0;
    /* A directory can never be written to (what Linux and the reference
     * test suite expect), so asking for the write right on one fails. */
    if ((oflags & GR_WASI_O_DIRECTORY) && (rights_base & GR_WASI_R_FD_WRITE))
        return GR_WASI_EISDIR;
    if ((oflags & GR_WASI_O_DIRECTORY) || !wr)
        flags |= O_RDONLY;
    else
        flags |= rd ? O_RDWR : O_WRONLY;
    (void)rd;

    /* Check for a free descriptor first: with O_CREAT (or O_TRUNC) the
     * open changes the file system, and failing after it would leave a
     * file the guest was told it did not get. */
    if ((r = gr__wasi_fd_room(w)) ||
        (r = gr__wasi_fd_get(w, fd, need, &e))) /* the table may have moved */
        return r;
    int hfd = gr__wasi_open_beneath(e->host_fd, buf, flags, 0666);
    if (hfd < 0) {
        /* O_NOFOLLOW on a symlink that the kernel reports as ELOOP (or
         * EMLINK on some filesystems) is the spec's ELOOP. */
        if (hfd == -EMLINK)
            return GR_WASI_ELOOP;
        return beneath_err(hfd);
    }
    gr__wasi_fd ne;
    memset(&ne, 0, sizeof(ne));
    ne.kind = GR_WASI_KIND_HOST;
    ne.host_fd = hfd;
    ne.owned = 1;
    uint64_t type_base, type_inh;
    gr__wasi_host_type(hfd, &ne.filetype, &type_base, &type_inh);
    if (ne.filetype == GR_WASI_FT_REGULAR_FILE)
        type_base = RIGHTS_OPEN_FILE;
    ne.base = rights_base & e->inheriting & type_base;
    ne.inheriting = rights_inheriting & e->inheriting;
    if (ne.filetype != GR_WASI_FT_DIRECTORY)
        ne.inheriting = 0;
    uint32_t nfd;
    if ((r = gr__wasi_fd_insert(w, &ne, &nfd))) {
        close(hfd);
        return r;
    }
    gr__wasi_st32(out, nfd);
    return 0;
}

uint32_t
gr_wasi_path_readlink(gr_wasi* w,
                      gr_wasi_mem* mem,
                      uint32_t fd,
                      uint32_t path,
                      uint32_t path_len,
                      uint32_t buf_ptr,
                      uint32_t buf_len,
                      uint32_t bufused_ptr)
{
    char buf[GR_WASI_PATH_MAX], target[GR_WASI_PATH_MAX];
    gr__wasi_fd* e;
    gr__wasi_path p;
    uint32_t r =
      begin(w, mem, fd, GR_WASI_R_PATH_READLINK, path, path_len, buf, &e);
    if (r)
        return r;
    uint8_t* out = gr__wasi_ptr(mem, buf_ptr, buf_len);
    uint8_t* used = gr__wasi_ptr(mem, bufused_ptr, 4);
    if (!out || !used)
        return GR_WASI_EFAULT;
    if ((r = gr__wasi_path_resolve(e->host_fd, buf, &p)))
        return r;
    ssize_t n = -1;
    if (strcmp(p.name, ".") == 0)
        r = GR_WASI_EINVAL;
    else if ((r = check_trailing(&p)) == 0 &&
             (n = readlinkat(p.dirfd, p.name, target, sizeof(target))) < 0)
        r = host_err();
    gr__wasi_path_fini(&p);
    if (r)
        return r;
    /* A short buffer gets a truncated target, as readlink(2) does. */
    size_t k = (size_t)n < buf_len ? (size_t)n : buf_len;
    memcpy(out, target, k);
    gr__wasi_st32(used, (uint32_t)k);
    return 0;
}

uint32_t
gr_wasi_path_remove_directory(gr_wasi* w,
                              gr_wasi_mem* mem,
                              uint32_t fd,
                              uint32_t path,
                              uint32_t path_len)
{
    char buf[GR_WASI_PATH_MAX];
    gr__wasi_fd* e;
    gr__wasi_path p;
    uint32_t r = begin(
      w, mem, fd, GR_WASI_R_PATH_REMOVE_DIRECTORY, path, path_len, buf, &e);
    if (r || (r = gr__wasi_path_resolve(e->host_fd, buf, &p)))
        return r;
    if (strcmp(p.name, ".") == 0)
        r = GR_WASI_EINVAL; /* never the directory we hold, nor a parent */
    else if (unlinkat(p.dirfd, p.name, AT_REMOVEDIR) != 0)
        r = host_err();
    gr__wasi_path_fini(&p);
    return r;
}

uint32_t
gr_wasi_path_unlink_file(gr_wasi* w,
                         gr_wasi_mem* mem,
                         uint32_t fd,
                         uint32_t path,
                         uint32_t path_len)
{
    char buf[GR_WASI_PATH_MAX];
    gr__wasi_fd* e;
    gr__wasi_path p;
    struct stat st;
    uint32_t r =
      begin(w, mem, fd, GR_WASI_R_PATH_UNLINK_FILE, path, path_len, buf, &e);
    if (r || (r = gr__wasi_path_resolve(e->host_fd, buf, &p)))
        return r;
    if (strcmp(p.name, ".") == 0)
        r = GR_WASI_EISDIR;
    else if (p.trailing_slash && exists(&p, &st))
        r = S_ISDIR(st.st_mode) ? GR_WASI_EISDIR : GR_WASI_ENOTDIR;
    else if (unlinkat(p.dirfd, p.name, 0) != 0)
        r = host_err();
    gr__wasi_path_fini(&p);
    return r;
}

uint32_t
gr_wasi_path_rename(gr_wasi* w,
                    gr_wasi_mem* mem,
                    uint32_t fd,
                    uint32_t old_path,
                    uint32_t old_len,
                    uint32_t new_fd,
                    uint32_t new_path,
                    uint32_t new_len)
{
    char obuf[GR_WASI_PATH_MAX], nbuf[GR_WASI_PATH_MAX];
    gr__wasi_fd* oe;
    gr__wasi_path op, np;
    struct stat st;
    uint32_t r = begin_pair(w,
                            mem,
                            fd,
                            GR_WASI_R_PATH_RENAME_SOURCE,
                            old_path,
                            old_len,
                            new_fd,
                            GR_WASI_R_PATH_RENAME_TARGET,
                            new_path,
                            new_len,
                            obuf,
                            nbuf,
                            &oe,
                            &op,
                            &np);
    if (r)
        return r;
    if (strcmp(op.name, ".") == 0 || strcmp(np.name, ".") == 0) {
        r = GR_WASI_EBUSY;
    } else if ((r = check_trailing(&op)) || (r = check_trailing(&np))) {
        /* r set */
    } else if (np.trailing_slash && exists(&op, &st) && !S_ISDIR(st.st_mode)) {
        r = GR_WASI_ENOTDIR; /* "file" -> "newname/" */
    } else if (renameat(op.dirfd, op.name, np.dirfd, np.name) != 0) {
        r = host_err();
    }
    gr__wasi_path_fini(&op);
    gr__wasi_path_fini(&np);
    return r;
}

/* Depth of the directory holding path's final component, counting from the
 * directory the path is relative to; -1 if lexically above it. */
static int
parent_depth(const char* path)
{
    int depth = 0, comps = 0;
    const char* s = path;
    /* Count every component, then drop the last (the new link's name). */
    int last_depth = 0;
    while (*s) {
        while (*s == '/')
            s++;
        if (!*s)
            break;
        const char* t = s;
        while (*t && *t != '/')
            t++;
        size_t n = (size_t)(t - s);
        last_depth = depth;
        if (n == 2 && s[0] == '.' && s[1] == '.')
            depth--;
        else if (!(n == 1 && s[0] == '.'))
            depth++;
        if (depth < 0)
            return -1;
        comps++;
        s = t;
    }
    return comps ? last_depth : 0;
}

/* Whether a relative symlink target stays within the tree when it is
 * resolved from a directory `depth` levels below the top. */
static int
target_stays_inside(const char* target, int depth)
{
    const char* s = target;
    while (*s) {
        while (*s == '/')
            s++;
        if (!*s)
            break;
        const char* t = s;
        while (*t && *t != '/')
            t++;
        size_t n = (size_t)(t - s);
        if (n == 2 && s[0] == '.' && s[1] == '.')
            depth--;
        else if (!(n == 1 && s[0] == '.'))
            depth++;
        if (depth < 0)
            return 0;
        s = t;
    }
    return 1;
}

uint32_t
gr_wasi_path_symlink(gr_wasi* w,
                     gr_wasi_mem* mem,
                     uint32_t old_path,
                     uint32_t old_len,
                     uint32_t fd,
                     uint32_t new_path,
                     uint32_t new_len)
{
    char target[GR_WASI_PATH_MAX], buf[GR_WASI_PATH_MAX];
    gr__wasi_fd* e;
    gr__wasi_path p;
    struct stat st;
    uint32_t r =
      begin(w, mem, fd, GR_WASI_R_PATH_SYMLINK, new_path, new_len, buf, &e);
    if (r || (r = gr__wasi_copy_path(mem, old_path, old_len, target)))
        return r;
    if (target[0] == '\0')
        return GR_WASI_ENOENT;
    /* Resolution through any symlink is confined anyway; we also refuse to
     * create links that point outside, so host tools that later walk the
     * directory never meet one. Depth is counted from the descriptor the
     * guest used, which is conservative for non-preopened directories. */
    if (target[0] == '/')
        return GR_WASI_ENOTCAPABLE;
    int depth = parent_depth(buf);
    if (depth < 0 || !target_stays_inside(target, depth))
        return GR_WASI_ENOTCAPABLE;
    if ((r = gr__wasi_path_resolve(e->host_fd, buf, &p)))
        return r;
    if (strcmp(p.name, ".") == 0 || exists(&p, &st))
        r = GR_WASI_EEXIST;
    else if (p.trailing_slash)
        r = GR_WASI_ENOENT;
    else if (symlinkat(target, p.dirfd, p.name) != 0)
        r = host_err();
    gr__wasi_path_fini(&p);
    return r;
}
