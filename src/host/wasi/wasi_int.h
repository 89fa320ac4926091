/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/host/wasi: the context and descriptor table, guest-memory
 * access helpers (every guest pointer goes through them) and the sandboxed
 * path resolution shared by the path_* calls. */
#ifndef GR_HOST_WASI_INT_H
#define GR_HOST_WASI_INT_H

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "host/wasi/wasi.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "WASI structures are little endian; a big-endian host needs swaps"
#endif

/* Largest guest path we accept (host PATH_MAX, including the NUL). */
#define GR_WASI_PATH_MAX 4096u
/* Most iovecs in one call (Linux IOV_MAX). */
#define GR_WASI_IOV_MAX 1024u
/* Most bytes moved by one read/write call: results are u32 and must not
 * wrap; a short transfer is always allowed. */
#define GR_WASI_IO_MAX 0x7ffff000u
/* Most subscriptions in one poll_oneoff (bounds the host allocation). */
#define GR_WASI_POLL_MAX 4096u

enum gr__wasi_kind
{
    GR_WASI_KIND_HOST,  /* a host descriptor (file, dir, socket, pipe...) */
    GR_WASI_KIND_STDIN, /* stdin served from w->in_buf */
    GR_WASI_KIND_SINK,  /* stdout/stderr sent to a callback or discarded */
};

typedef struct gr__wasi_fd
{
    int used;
    int kind;    /* enum gr__wasi_kind */
    int host_fd; /* -1 when none */
    int owned;   /* close host_fd when the guest fd goes away */
    uint8_t filetype;
    uint16_t fdflags; /* for virtual descriptors */
    uint64_t base;    /* rights */
    uint64_t inheriting;
    char* preopen; /* guest name of a preopened directory, or NULL */
    size_t preopen_len;
    int sink; /* 1 or 2 for GR_WASI_KIND_SINK */
} gr__wasi_fd;

struct gr_wasi
{
    gr__wasi_fd* fds;
    uint32_t nfds;    /* entries allocated */
    uint32_t max_fds; /* limit on nfds */

    /* argv/environ as one NUL-separated block each. */
    char* args;
    size_t args_size;
    uint32_t argc;
    char* env;
    size_t env_size;
    uint32_t envc;

    /* Initial state, for gr_wasi_reset_fds. */
    int stdin_fd; /* borrowed */
    uint8_t* in_buf;
    size_t in_len, in_pos;
    int in_is_buf;
    gr_wasi_sink sinks[3]; /* [1] stdout, [2] stderr */
    size_t n_pre;
    int* pre_fds; /* master descriptors of the preopens (owned) */
    char** pre_names;
    size_t n_listen;
    int* listen_fds; /* owned duplicates */

    int exited;
    uint32_t exit_code;
    /* Taken by the import wrappers around every call (gr_wasi_lock): the
     * threads of one guest call share this context. */
    pthread_mutex_t lock;
};

/* The deadline of the guest call running on this thread (CLOCK_MONOTONIC
 * ns, 0 = none): the deadline source if one is set, else the value of
 * gr_wasi_set_deadline on this thread. Read it again after each wait: a
 * cancelled call's deadline moves forward. (wasi.c) */
uint64_t gr__wasi_deadline(const gr_wasi* w);
/* Around a blocking wait that touches no descriptor entry: lets the other
 * threads of the call use w meanwhile, if this thread holds its lock. */
void gr__wasi_wait_begin(gr_wasi* w);
void gr__wasi_wait_end(gr_wasi* w);

/* Host pointer to guest[ptr..ptr+len) or NULL if out of range (another
 * thread of the call may grow the memory meanwhile: the size is read
 * atomically). */
static inline uint8_t*
gr__wasi_ptr(gr_wasi_mem* m, uint32_t ptr, uint64_t len)
{
    if (!gr_rt_memory_range_ok(m, ptr, len))
        return NULL;
    return m->data + ptr;
}

/* Stores/loads at unchecked host pointers obtained from gr__wasi_ptr. */
static inline void
gr__wasi_st8(uint8_t* p, uint8_t v)
{
    *p = v;
}
static inline void
gr__wasi_st16(uint8_t* p, uint16_t v)
{
    memcpy(p, &v, 2);
}
static inline void
gr__wasi_st32(uint8_t* p, uint32_t v)
{
    memcpy(p, &v, 4);
}
static inline void
gr__wasi_st64(uint8_t* p, uint64_t v)
{
    memcpy(p, &v, 8);
}
static inline uint16_t
gr__wasi_ld16(const uint8_t* p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}
static inline uint32_t
gr__wasi_ld32(const uint8_t* p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline uint64_t
gr__wasi_ld64(const uint8_t* p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Descriptor table (wasi.c). Looks up fd and checks it holds all of
 * `rights`: returns 0 and sets *out, EBADF or ENOTCAPABLE. */
uint32_t gr__wasi_fd_get(gr_wasi* w,
                         uint32_t fd,
                         uint64_t rights,
                         gr__wasi_fd** out);
/* Takes the lowest free guest number for e (copied). Returns 0 with *fd set,
 * EMFILE or ENOMEM; on failure e's host descriptor is not closed. */
uint32_t gr__wasi_fd_insert(gr_wasi* w, const gr__wasi_fd* e, uint32_t* fd);
/* Makes sure the next gr__wasi_fd_insert succeeds (a free entry exists or
 * the table grew): 0, EMFILE or ENOMEM. Calls that create something (a
 * file, an accepted connection) check this first so that a full table
 * leaves nothing behind. Growing moves the table: entries got before are
 * invalid afterwards (look them up again). */
uint32_t gr__wasi_fd_room(gr_wasi* w);

/* Before a transfer on host_fd that would block (a pipe, socket or
 * terminal in blocking mode; regular files never wait): waits until it is
 * ready for `events` (POLLIN/POLLOUT) or the call's deadline passes. Returns
 * 0 (ready, or nothing to wait for: no deadline, non-blocking fd) or
 * GR_WASI_ETIMEDOUT. The transfer itself may still be interrupted by the
 * deadline signal (EINTR), see gr__wasi_interrupted. (wasi_poll.c) */
uint32_t gr__wasi_wait_fd(gr_wasi* w, const gr__wasi_fd* e, short events);
/* The WASI errno for a transfer that failed with host errno err:
 * GR_WASI_ETIMEDOUT if it was interrupted and the call's deadline passed. */
uint32_t gr__wasi_transfer_err(gr_wasi* w, int err);
/* Releases an entry (closes its host fd if owned). */
void gr__wasi_fd_release(gr__wasi_fd* e);
/* Filetype and the rights that make sense for a host descriptor. */
void gr__wasi_host_type(int host_fd,
                        uint8_t* filetype,
                        uint64_t* base,
                        uint64_t* inheriting);
uint8_t gr__wasi_filetype_from_mode(unsigned mode);
/* Writes a 64-byte filestat for st at p. */
struct stat;
void gr__wasi_put_filestat(uint8_t* p, const struct stat* st);
/* Converts WASI times + fstflags to a utimensat() pair; EINVAL on bad flags. */
struct timespec;
uint32_t gr__wasi_times(uint64_t atim,
                        uint64_t mtim,
                        uint32_t fstflags,
                        struct timespec ts[2]);

/* Gathers a guest iovec array into host iovecs (each range checked; total
 * clamped to GR_WASI_IO_MAX). *iov is gr_malloc'ed (gr_free it) unless
 * *n == 0. Returns 0, EFAULT, EINVAL (too many) or ENOMEM. */
struct iovec;
uint32_t gr__wasi_iovecs(gr_wasi_mem* m,
                         uint32_t iovs,
                         uint32_t iovs_len,
                         struct iovec** iov,
                         int* n);

/* Sandboxed paths (wasi_sandbox.c). A resolved path: the directory that
 * holds the final component (an O_PATH descriptor beneath the preopen) and
 * that component, free of '/', never "." or "..". */
typedef struct gr__wasi_path
{
    int dirfd;                   /* owned; -1 if not resolved */
    char name[GR_WASI_PATH_MAX]; /* final component */
    int trailing_slash;          /* the guest path ended in '/' */
} gr__wasi_path;

/* Copies guest[path..path+len) into buf (NUL-terminated) after checking the
 * range (EFAULT), length (ENAMETOOLONG) and embedded NULs (EINVAL). */
uint32_t gr__wasi_copy_path(gr_wasi_mem* m,
                            uint32_t path,
                            uint32_t len,
                            char* buf);

/* Resolves a guest path relative to the directory descriptor base (a host
 * fd) so that nothing outside it can be named: the parent is opened with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS). If the final component
 * is "." or ".." the whole path is resolved and name becomes "." (callers
 * that need a real name refuse that). Absolute paths and escapes give
 * ENOTCAPABLE. On success p->dirfd is owned by the caller
 * (gr__wasi_path_fini). */
uint32_t gr__wasi_path_resolve(int base, const char* path, gr__wasi_path* p);
void gr__wasi_path_fini(gr__wasi_path* p);

/* openat2 beneath base with the given open flags; returns the fd or a
 * negative host errno (EXDEV/ELOOP escapes reported as -EXDEV). */
int gr__wasi_open_beneath(int base, const char* path, int flags, unsigned mode);

#endif
