/* SPDX-License-Identifier: Apache-2.0 */
/* The WASI context: configuration, the guest descriptor table (numbers,
 * rights, preopens, stdio), per-call reset, and helpers shared by the fd and
 * path calls (iovec gathering, filestat encoding, time conversion). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "host/wasi/wasi_int.h"
#include "util/alloc.h"

/* Rights a regular file, a directory or a stream descriptor can use. */
#define RIGHTS_FILE                                                            \
    (GR_WASI_R_FD_DATASYNC | GR_WASI_R_FD_READ | GR_WASI_R_FD_SEEK |           \
     GR_WASI_R_FD_FDSTAT_SET_FLAGS | GR_WASI_R_FD_SYNC | GR_WASI_R_FD_TELL |   \
     GR_WASI_R_FD_WRITE | GR_WASI_R_FD_ADVISE | GR_WASI_R_FD_ALLOCATE |        \
     GR_WASI_R_FD_FILESTAT_GET | GR_WASI_R_FD_FILESTAT_SET_SIZE |              \
     GR_WASI_R_FD_FILESTAT_SET_TIMES | GR_WASI_R_POLL_FD_READWRITE)
#define RIGHTS_DIR                                                             \
    (GR_WASI_R_FD_FDSTAT_SET_FLAGS | GR_WASI_R_FD_SYNC |                       \
     GR_WASI_R_FD_DATASYNC | GR_WASI_R_PATH_CREATE_DIRECTORY |                 \
     GR_WASI_R_PATH_CREATE_FILE | GR_WASI_R_PATH_LINK_SOURCE |                 \
     GR_WASI_R_PATH_LINK_TARGET | GR_WASI_R_PATH_OPEN | GR_WASI_R_FD_READDIR | \
     GR_WASI_R_PATH_READLINK | GR_WASI_R_PATH_RENAME_SOURCE |                  \
     GR_WASI_R_PATH_RENAME_TARGET | GR_WASI_R_PATH_FILESTAT_GET |              \
     GR_WASI_R_PATH_FILESTAT_SET_SIZE | GR_WASI_R_PATH_FILESTAT_SET_TIMES |    \
     GR_WASI_R_FD_FILESTAT_GET | GR_WASI_R_FD_FILESTAT_SET_TIMES |             \
     GR_WASI_R_PATH_SYMLINK | GR_WASI_R_PATH_REMOVE_DIRECTORY |                \
     GR_WASI_R_PATH_UNLINK_FILE)
#define RIGHTS_STREAM                                                          \
    (GR_WASI_R_FD_READ | GR_WASI_R_FD_WRITE | GR_WASI_R_FD_FDSTAT_SET_FLAGS |  \
     GR_WASI_R_FD_FILESTAT_GET | GR_WASI_R_POLL_FD_READWRITE)
#define RIGHTS_SOCKET                                                          \
    (RIGHTS_STREAM | GR_WASI_R_SOCK_SHUTDOWN | GR_WASI_R_SOCK_ACCEPT)

uint8_t
gr__wasi_filetype_from_mode(unsigned mode)
{
    switch (mode & S_IFMT) {
        case S_IFREG:
            return GR_WASI_FT_REGULAR_FILE;
        case S_IFDIR:
            return GR_WASI_FT_DIRECTORY;
        case S_IFCHR:
            return GR_WASI_FT_CHARACTER_DEVICE;
        case S_IFBLK:
            return GR_WASI_FT_BLOCK_DEVICE;
        case S_IFLNK:
            return GR_WASI_FT_SYMBOLIC_LINK;
        case S_IFSOCK:
            return GR_WASI_FT_SOCKET_STREAM;
        default:
            return GR_WASI_FT_UNKNOWN; /* FIFOs have no WASI type */
    }
}

void
gr__wasi_host_type(int host_fd,
                   uint8_t* filetype,
                   uint64_t* base,
                   uint64_t* inheriting)
{
    struct stat st;
    *filetype = GR_WASI_FT_UNKNOWN;
    *base = RIGHTS_STREAM;
    *inheriting = 0;
    if (fstat(host_fd, &st) != 0)
        return;
    *filetype = gr__wasi_filetype_from_mode(st.st_mode);
    switch (*filetype) {
        case GR_WASI_FT_REGULAR_FILE:
        case GR_WASI_FT_BLOCK_DEVICE:
            *base = RIGHTS_FILE;
            break;
        case GR_WASI_FT_DIRECTORY:
            *base = RIGHTS_DIR;
            *inheriting = RIGHTS_DIR | RIGHTS_FILE;
            break;
        case GR_WASI_FT_SOCKET_STREAM: {
            int type = 0;
            socklen_t tl = sizeof(type);
            if (getsockopt(host_fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 &&
                type == SOCK_DGRAM)
                *filetype = GR_WASI_FT_SOCKET_DGRAM;
            *base = RIGHTS_SOCKET;
            *inheriting = RIGHTS_SOCKET;
            break;
        }
        default:
            *base = RIGHTS_STREAM;
            break;
    }
}

uint32_t
gr__wasi_fd_get(gr_wasi* w, uint32_t fd, uint64_t rights, gr__wasi_fd** out)
{
    if (fd >= w->nfds || !w->fds[fd].used)
        return GR_WASI_EBADF;
    if ((w->fds[fd].base & rights) != rights)
        return GR_WASI_ENOTCAPABLE;
    *out = &w->fds[fd];
    return 0;
}

/* The lowest free entry, growing the table if needed (*i set), or EMFILE
 * or ENOMEM. */
static uint32_t
free_slot(gr_wasi* w, uint32_t* slot)
{
    uint32_t i;
    for (i = 0; i < w->nfds; i++)
        if (!w->fds[i].used)
            break;
    if (i == w->nfds) {
        if (w->nfds >= w->max_fds)
            return GR_WASI_EMFILE;
        uint32_t n = w->nfds ? w->nfds * 2 : 16;
        if (n > w->max_fds)
            n = w->max_fds;
        gr__wasi_fd* t = gr_realloc(w->fds, (size_t)n * sizeof(*t));
        if (!t)
            return GR_WASI_ENOMEM;
        memset(t + w->nfds, 0, (size_t)(n - w->nfds) * sizeof(*t));
        w->fds = t;
        w->nfds = n;
    }
    *slot = i;
    return 0;
}

uint32_t
gr__wasi_fd_room(gr_wasi* w)
{
    uint32_t i;
    return free_slot(w, &i);
}

uint32_t
gr__wasi_fd_insert(gr_wasi* w, const gr__wasi_fd* e, uint32_t* fd)
{
    uint32_t i;
    uint32_t r = free_slot(w, &i);
    if (r)
        return r;
    w->fds[i] = *e;
    w->fds[i].used = 1;
    *fd = i;
    return 0;
}

void
gr__wasi_fd_release(gr__wasi_fd* e)
{
    if (!e->used)
        return;
    if (e->owned && e->host_fd >= 0)
        close(e->host_fd);
    gr_free(e->preopen);
    memset(e, 0, sizeof(*e));
    e->host_fd = -1;
}

static void
close_all(gr_wasi* w)
{
    for (uint32_t i = 0; i < w->nfds; i++)
        gr__wasi_fd_release(&w->fds[i]);
}

/* Places e at number fd (the table is empty there), growing the table. */
static int
put_at(gr_wasi* w, uint32_t fd, const gr__wasi_fd* e)
{
    uint32_t got;
    if (fd < w->nfds && !w->fds[fd].used) {
        w->fds[fd] = *e;
        w->fds[fd].used = 1;
        return 0;
    }
    /* Initial descriptors are numbered densely from 0, so inserting at the
     * lowest free slot lands on fd. */
    uint32_t r = gr__wasi_fd_insert(w, e, &got);
    if (r == GR_WASI_ENOMEM)
        return -ENOMEM;
    if (r != 0)
        return -EMFILE;
    return 0;
}

static int
install_stdio(gr_wasi* w, int fd)
{
    gr__wasi_fd e;
    memset(&e, 0, sizeof(e));
    e.host_fd = -1;
    if (fd == 0) {
        if (!w->in_is_buf && w->stdin_fd >= 0) {
            e.kind = GR_WASI_KIND_HOST;
            e.host_fd = w->stdin_fd;
            gr__wasi_host_type(e.host_fd, &e.filetype, &e.base, &e.inheriting);
            e.base &= ~GR_WASI_R_FD_WRITE;
        } else {
            e.kind = GR_WASI_KIND_STDIN;
            e.filetype = GR_WASI_FT_CHARACTER_DEVICE;
            e.base = GR_WASI_R_FD_READ | GR_WASI_R_POLL_FD_READWRITE |
                     GR_WASI_R_FD_FILESTAT_GET | GR_WASI_R_FD_FDSTAT_SET_FLAGS;
        }
    } else {
        const gr_wasi_sink* s = &w->sinks[fd];
        if (!s->write && s->host_fd >= 0) {
            e.kind = GR_WASI_KIND_HOST;
            e.host_fd = s->host_fd;
            gr__wasi_host_type(e.host_fd, &e.filetype, &e.base, &e.inheriting);
            e.base &= ~(GR_WASI_R_FD_READ | GR_WASI_R_SOCK_ACCEPT);
            e.inheriting = 0;
        } else {
            e.kind = GR_WASI_KIND_SINK;
            e.sink = fd;
            e.filetype = GR_WASI_FT_CHARACTER_DEVICE;
            e.base = GR_WASI_R_FD_WRITE | GR_WASI_R_POLL_FD_READWRITE |
                     GR_WASI_R_FD_FILESTAT_GET | GR_WASI_R_FD_FDSTAT_SET_FLAGS;
        }
    }
    return put_at(w, (uint32_t)fd, &e);
}

/* Builds the initial table: 0-2 stdio, then preopens, then listeners. */
static int
install_all(gr_wasi* w)
{
    int rc;
    uint32_t n = 3;
    for (int i = 0; i < 3; i++)
        if ((rc = install_stdio(w, i)) != 0)
            return rc;
    for (size_t i = 0; i < w->n_pre; i++, n++) {
        gr__wasi_fd e;
        memset(&e, 0, sizeof(e));
        e.kind = GR_WASI_KIND_HOST;
        e.host_fd = fcntl(w->pre_fds[i], F_DUPFD_CLOEXEC, 0);
        if (e.host_fd < 0)
            return -errno;
        e.owned = 1;
        e.filetype = GR_WASI_FT_DIRECTORY;
        e.base = RIGHTS_DIR;
        e.inheriting = RIGHTS_DIR | RIGHTS_FILE;
        e.preopen = gr_strdup(w->pre_names[i]);
        if (!e.preopen || (rc = put_at(w, n, &e)) != 0) {
            close(e.host_fd);
            gr_free(e.preopen);
            return e.preopen ? rc : -ENOMEM;
        }
        w->fds[n].preopen_len = strlen(e.preopen);
    }
    for (size_t i = 0; i < w->n_listen; i++, n++) {
        gr__wasi_fd e;
        memset(&e, 0, sizeof(e));
        e.kind = GR_WASI_KIND_HOST;
        e.host_fd = fcntl(w->listen_fds[i], F_DUPFD_CLOEXEC, 0);
        if (e.host_fd < 0)
            return -errno;
        e.owned = 1;
        gr__wasi_host_type(e.host_fd, &e.filetype, &e.base, &e.inheriting);
        if ((rc = put_at(w, n, &e)) != 0) {
            close(e.host_fd);
            return rc;
        }
    }
    return 0;
}

/* Packs n strings into one NUL-separated block. */
static int
pack(const char* const* v, size_t n, char** out, size_t* size)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!v[i])
            return -EINVAL;
        total += strlen(v[i]) + 1;
        if (total > UINT32_MAX)
            return -E2BIG;
    }
    char* b = gr_malloc(total ? total : 1);
    if (!b)
        return -ENOMEM;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(v[i]) + 1;
        memcpy(b + off, v[i], l);
        off += l;
    }
    *out = b;
    *size = total;
    return 0;
}

int
gr_wasi_create(const gr_wasi_config* cfg, gr_wasi** out)
{
    static const gr_wasi_config empty = { .stdin_fd = -1 };
    int rc = -ENOMEM;
    gr_wasi* w;

    *out = NULL;
    if (!cfg)
        cfg = &empty;
    if (cfg->argc > UINT32_MAX / 4 || cfg->envc > UINT32_MAX / 4)
        return -EINVAL;
    w = gr_calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    pthread_mutex_init(&w->lock, NULL);
    w->max_fds = cfg->max_fds ? cfg->max_fds : 1024;
    w->stdin_fd = cfg->stdin_fd;
    w->sinks[1] = cfg->out;
    w->sinks[2] = cfg->err;
    if ((rc = pack(cfg->argv, cfg->argc, &w->args, &w->args_size)) != 0)
        goto fail;
    w->argc = (uint32_t)cfg->argc;
    if ((rc = pack(cfg->envp, cfg->envc, &w->env, &w->env_size)) != 0)
        goto fail;
    w->envc = (uint32_t)cfg->envc;
    if (cfg->stdin_buf &&
        (rc = gr_wasi_set_stdin(w, cfg->stdin_buf, cfg->stdin_len)) != 0)
        goto fail;
    if (cfg->n_preopens + cfg->n_listen_fds + 3 > w->max_fds) {
        rc = -EINVAL;
        goto fail;
    }
    rc = -ENOMEM;
    if (cfg->n_preopens) {
        w->pre_fds = gr_calloc(cfg->n_preopens, sizeof(int));
        w->pre_names = gr_calloc(cfg->n_preopens, sizeof(char*));
        if (!w->pre_fds || !w->pre_names)
            goto fail;
    }
    for (size_t i = 0; i < cfg->n_preopens; i++) {
        const gr_wasi_preopen* p = &cfg->preopens[i];
        /* Any non-empty guest name: "/data", but also "." or "data",
         * which wasi-libc matches against relative paths. */
        if (!p->host_path || !p->guest_path || !p->guest_path[0]) {
            rc = -EINVAL;
            goto fail;
        }
        int fd = open(p->host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            rc = -errno;
            goto fail;
        }
        w->pre_fds[w->n_pre] = fd;
        w->pre_names[w->n_pre] = gr_strdup(p->guest_path);
        w->n_pre++;
        if (!w->pre_names[w->n_pre - 1]) {
            rc = -ENOMEM;
            goto fail;
        }
    }
    if (cfg->n_listen_fds) {
        w->listen_fds = gr_calloc(cfg->n_listen_fds, sizeof(int));
        if (!w->listen_fds)
            goto fail;
    }
    for (size_t i = 0; i < cfg->n_listen_fds; i++) {
        int fd = fcntl(cfg->listen_fds[i], F_DUPFD_CLOEXEC, 0);
        if (fd < 0) {
            rc = -errno;
            goto fail;
        }
        w->listen_fds[w->n_listen++] = fd;
    }
    if ((rc = install_all(w)) != 0)
        goto fail;
    *out = w;
    return 0;
fail:
    gr_wasi_destroy(w);
    return rc;
}

void
gr_wasi_destroy(gr_wasi* w)
{
    if (!w)
        return;
    close_all(w);
    gr_free(w->fds);
    for (size_t i = 0; i < w->n_pre; i++) {
        close(w->pre_fds[i]);
        gr_free(w->pre_names[i]);
    }
    gr_free(w->pre_fds);
    gr_free(w->pre_names);
    for (size_t i = 0; i < w->n_listen; i++)
        close(w->listen_fds[i]);
    gr_free(w->listen_fds);
    gr_free(w->args);
    gr_free(w->env);
    gr_free(w->in_buf);
    pthread_mutex_destroy(&w->lock);
    gr_free(w);
}

int
gr_wasi_reset_fds(gr_wasi* w)
{
    close_all(w);
    w->in_pos = 0;
    w->exited = 0;
    w->exit_code = 0;
    return install_all(w);
}

int
gr_wasi_set_stdin(gr_wasi* w, const void* buf, size_t len)
{
    uint8_t* copy = NULL;
    if (len) {
        copy = gr_malloc(len);
        if (!copy)
            return -ENOMEM;
        memcpy(copy, buf, len);
    }
    gr_free(w->in_buf);
    w->in_buf = copy;
    w->in_len = len;
    w->in_pos = 0;
    if (!w->in_is_buf) {
        /* Switch a host-fd stdin to the buffer. */
        w->in_is_buf = 1;
        if (w->nfds > 0 && w->fds[0].used &&
            w->fds[0].kind != GR_WASI_KIND_STDIN) {
            gr__wasi_fd_release(&w->fds[0]);
            return install_stdio(w, 0);
        }
    }
    return 0;
}

int
gr_wasi_set_sink(gr_wasi* w, int fd, const gr_wasi_sink* sink)
{
    if ((fd != 1 && fd != 2) || !sink)
        return -EINVAL;
    w->sinks[fd] = *sink;
    /* Re-create the stdio entry if the guest still has the original. */
    if ((uint32_t)fd < w->nfds && w->fds[fd].used &&
        (w->fds[fd].kind == GR_WASI_KIND_SINK ||
         (!w->fds[fd].owned && w->fds[fd].kind == GR_WASI_KIND_HOST))) {
        gr__wasi_fd_release(&w->fds[fd]);
        return install_stdio(w, fd);
    }
    return 0;
}

int
gr_wasi_exited(const gr_wasi* w, uint32_t* code)
{
    if (code)
        *code = w->exit_code;
    return w->exited;
}

static _Thread_local uint64_t tl_deadline;
static _Thread_local gr_wasi* tl_held; /* the context this thread locked */
static uint64_t (*_Atomic deadline_source)(void);

void
gr_wasi_set_deadline(gr_wasi* w, uint64_t deadline_ns)
{
    (void)w;
    tl_deadline = deadline_ns;
}

void
gr_wasi_set_deadline_source(uint64_t (*fn)(void))
{
    atomic_store(&deadline_source, fn);
}

uint64_t
gr__wasi_deadline(const gr_wasi* w)
{
    (void)w;
    uint64_t (*fn)(void) = atomic_load(&deadline_source);
    return fn ? fn() : tl_deadline;
}

void
gr_wasi_lock(gr_wasi* w)
{
    pthread_mutex_lock(&w->lock);
    tl_held = w;
}

void
gr_wasi_unlock(gr_wasi* w)
{
    tl_held = NULL;
    pthread_mutex_unlock(&w->lock);
}

void
gr__wasi_wait_begin(gr_wasi* w)
{
    if (tl_held == w)
        pthread_mutex_unlock(&w->lock);
}

void
gr__wasi_wait_end(gr_wasi* w)
{
    if (tl_held == w)
        pthread_mutex_lock(&w->lock);
}

uint32_t
gr_wasi_fd_count(const gr_wasi* w)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < w->nfds; i++)
        n += w->fds[i].used ? 1 : 0;
    return n;
}

uint32_t
gr__wasi_iovecs(gr_wasi_mem* m,
                uint32_t iovs,
                uint32_t iovs_len,
                struct iovec** iov,
                int* n)
{
    *iov = NULL;
    *n = 0;
    if (iovs_len > GR_WASI_IOV_MAX)
        return GR_WASI_EINVAL;
    const uint8_t* arr = gr__wasi_ptr(m, iovs, (uint64_t)iovs_len * 8);
    if (!arr)
        return GR_WASI_EFAULT;
    if (iovs_len == 0)
        return 0;
    struct iovec* v = gr_malloc((size_t)iovs_len * sizeof(*v));
    if (!v)
        return GR_WASI_ENOMEM;
    uint64_t total = 0;
    int k = 0;
    for (uint32_t i = 0; i < iovs_len; i++) {
        uint32_t buf = gr__wasi_ld32(arr + 8 * i);
        uint32_t len = gr__wasi_ld32(arr + 8 * i + 4);
        uint8_t* p = gr__wasi_ptr(m, buf, len);
        if (!p) {
            gr_free(v);
            return GR_WASI_EFAULT;
        }
        /* Every iovec is checked, but the transfer is clamped so that the
         * u32 count the guest receives cannot wrap. */
        if (total >= GR_WASI_IO_MAX)
            continue;
        if (total + len > GR_WASI_IO_MAX)
            len = (uint32_t)(GR_WASI_IO_MAX - total);
        total += len;
        v[k].iov_base = p;
        v[k].iov_len = len;
        k++;
    }
    *iov = v;
    *n = k;
    return 0;
}

static uint64_t
ts_ns(const struct timespec* t)
{
    if (t->tv_sec < 0)
        return 0;
    return (uint64_t)t->tv_sec * 1000000000ull + (uint64_t)t->tv_nsec;
}

void
gr__wasi_put_filestat(uint8_t* p, const struct stat* st)
{
    memset(p, 0, GR_WASI_FILESTAT_SIZE);
    gr__wasi_st64(p + 0, (uint64_t)st->st_dev);
    gr__wasi_st64(p + 8, (uint64_t)st->st_ino);
    gr__wasi_st8(p + 16, gr__wasi_filetype_from_mode(st->st_mode));
    gr__wasi_st64(p + 24, (uint64_t)st->st_nlink);
    gr__wasi_st64(p + 32, (uint64_t)st->st_size);
    gr__wasi_st64(p + 40, ts_ns(&st->st_atim));
    gr__wasi_st64(p + 48, ts_ns(&st->st_mtim));
    gr__wasi_st64(p + 56, ts_ns(&st->st_ctim));
}

uint32_t
gr__wasi_times(uint64_t atim,
               uint64_t mtim,
               uint32_t fst,
               struct timespec ts[2])
{
    const uint32_t known = GR_WASI_FST_ATIM | GR_WASI_FST_ATIM_NOW |
                           GR_WASI_FST_MTIM | GR_WASI_FST_MTIM_NOW;
    if (fst & ~known)
        return GR_WASI_EINVAL;
    if ((fst & GR_WASI_FST_ATIM) && (fst & GR_WASI_FST_ATIM_NOW))
        return GR_WASI_EINVAL;
    if ((fst & GR_WASI_FST_MTIM) && (fst & GR_WASI_FST_MTIM_NOW))
        return GR_WASI_EINVAL;
    uint64_t t[2] = { atim, mtim };
    uint32_t set[2] = { GR_WASI_FST_ATIM, GR_WASI_FST_MTIM };
    uint32_t now[2] = { GR_WASI_FST_ATIM_NOW, GR_WASI_FST_MTIM_NOW };
    for (int i = 0; i < 2; i++) {
        if (fst & now[i]) {
            ts[i].tv_sec = 0;
            ts[i].tv_nsec = UTIME_NOW;
        } else if (fst & set[i]) {
            ts[i].tv_sec = (time_t)(t[i] / 1000000000ull);
            ts[i].tv_nsec = (long)(t[i] % 1000000000ull);
        } else {
            ts[i].tv_sec = 0;
            ts[i].tv_nsec = UTIME_OMIT;
        }
    }
    return 0;
}
