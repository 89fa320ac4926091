/* SPDX-License-Identifier: Apache-2.0 */
/* WASI preview 1 (wasi_snapshot_preview1) for Granary guests: the per-instance
 * context (arguments, environment, descriptor table, preopened directories,
 * stdio sinks) and one core function per WASI call. The wasm2c import
 * symbols that forward to these live in wasi_imports.c (library gr_host). */
#ifndef GR_HOST_WASI_H
#define GR_HOST_WASI_H

#include <stddef.h>
#include <stdint.h>

#include "engine/wasm-rt.h"
#include "host/host.h"
#include "host/wasi/wasi_abi.h"

typedef struct gr_wasi gr_wasi;

/* Receives bytes the guest wrote to stdout or stderr. buf points into guest
 * memory and is valid only during the call; n may be 0. Called on the guest's
 * thread. Returns how many bytes it took: fewer than n means the sink is
 * full, and the guest's fd_write returns the bytes taken so far, or fails
 * with EFBIG when none were. */
typedef size_t (*gr_wasi_write_fn)(void* ud, const void* buf, size_t n);

/* Where guest stdout/stderr go: a callback if write is non-NULL, else host_fd
 * (borrowed, never closed; -1 discards the output). */
typedef struct gr_wasi_sink
{
    int host_fd;
    gr_wasi_write_fn write;
    void* ud;
} gr_wasi_sink;

/* A host directory visible to the guest under guest_path ("/", "/data",
 * or a relative name such as "." or "data", which wasi-libc matches
 * against relative paths). The guest can reach nothing outside host_path. */
typedef struct gr_wasi_preopen
{
    const char* host_path;
    const char* guest_path;
} gr_wasi_preopen;

/* Everything is borrowed and copied by gr_wasi_create; a zeroed config is a
 * guest with no arguments, no environment, no directories, empty stdin and
 * stdout/stderr sent to host fd 0 (so: set host_fd = -1 or a callback). */
typedef struct gr_wasi_config
{
    size_t argc;
    const char* const* argv;
    size_t envc;
    const char* const* envp; /* "KEY=VALUE" strings */
    size_t n_preopens;
    const gr_wasi_preopen* preopens;
    /* stdin: stdin_buf (stdin_len bytes, copied) if non-NULL, else the host
     * fd stdin_fd (borrowed), or empty input if stdin_fd < 0. */
    int stdin_fd;
    const void* stdin_buf;
    size_t stdin_len;
    gr_wasi_sink out;
    gr_wasi_sink err;
    /* Listening sockets handed to the guest (borrowed; each is dup'ed) as
     * descriptors after the preopens, usable with sock_accept. */
    size_t n_listen_fds;
    const int* listen_fds;
    /* Most descriptors the guest may hold open at once; 0 = 1024. */
    uint32_t max_fds;
} gr_wasi_config;

/* Creates a WASI context: opens every preopened directory (it must exist).
 * Returns 0, -ENOMEM, -EINVAL (bad config: NULL strings, an empty guest
 * path, too many fds) or the -errno of opening a preopen.
 * *out is owned by the caller (gr_wasi_destroy).
 * Threads: a gr_wasi is used by one thread at a time; threads of one Faaslet
 * sharing it must serialise their WASI calls. */
int gr_wasi_create(const gr_wasi_config* cfg, gr_wasi** out);

/* Closes every descriptor and frees w. Accepts NULL. */
void gr_wasi_destroy(gr_wasi* w);

/* Per-call reset: closes every descriptor the guest opened (or renumbered),
 * restores stdio, preopens and listening sockets as at creation, rewinds a
 * stdin buffer and clears the exit status. Returns 0 or -ENOMEM / -errno if a
 * descriptor could not be re-created (w is then still usable, missing it). */
int gr_wasi_reset_fds(gr_wasi* w);

/* Replaces stdin with a copy of buf[0..len) (NULL/0 = empty input), e.g. the
 * input of one call. Returns 0 or -ENOMEM. */
int gr_wasi_set_stdin(gr_wasi* w, const void* buf, size_t len);

/* Replaces the stdout (fd 1) or stderr (fd 2) sink. fd must be 1 or 2.
 * Returns 0 or -EINVAL. */
int gr_wasi_set_sink(gr_wasi* w, int fd, const gr_wasi_sink* sink);

/* proc_exit: whether the guest asked to exit, and with which status. */
int gr_wasi_exited(const gr_wasi* w, uint32_t* code);

/* Sets the deadline of the guest call now running on w (CLOCK_MONOTONIC
 * ns; 0 = none). The calls that can block (poll_oneoff, fd_read/fd_write
 * and their positioned forms on pipes, sockets and terminals in blocking
 * mode, sock_accept/recv/send) wait at most until then and return
 * GR_WASI_ETIMEDOUT if it passes first. The import wrappers set it from the
 * guest call's deadline before each such call and then end the call as a
 * timeout (wasi_imports.c). */
void gr_wasi_set_deadline(gr_wasi* w, uint64_t deadline_ns);

/* Where the blocking calls read the current call's deadline instead (the
 * engine's gr_rt_deadline: per thread, and brought forward when a call is
 * cancelled, so a sleeping thread of an ended call wakes). Process-wide;
 * NULL restores gr_wasi_set_deadline's per-thread value. */
void gr_wasi_set_deadline_source(uint64_t (*fn)(void));

/* The threads of one guest call share its context: the import wrappers
 * hold this lock around every call, so descriptor table, stdin and sinks
 * see one call at a time. poll_oneoff releases it while it sleeps; a
 * blocking transfer on a pipe or socket keeps it until it completes or the
 * call's deadline passes. Not recursive. */
void gr_wasi_lock(gr_wasi* w);
void gr_wasi_unlock(gr_wasi* w);

/* Number of guest descriptors currently open (for tests and limits). */
uint32_t gr_wasi_fd_count(const gr_wasi* w);

/* Host errno -> WASI errno (unknown values map to EIO). */
uint32_t gr_wasi_errno_from_host(int err);

/* Core WASI calls. Each returns the WASI errno (0 = success). mem is the
 * guest's linear memory (NULL behaves as a zero-sized memory); every guest
 * pointer and length is checked against mem->size (GR_WASI_EFAULT). They
 * never trap; gr_wasi_proc_exit only records the status (the import wrapper
 * then leaves the guest call). */
typedef wasm_rt_memory_t gr_wasi_mem;

uint32_t gr_wasi_args_get(gr_wasi* w,
                          gr_wasi_mem* mem,
                          uint32_t argv,
                          uint32_t argv_buf);
uint32_t gr_wasi_args_sizes_get(gr_wasi* w,
                                gr_wasi_mem* mem,
                                uint32_t argc_ptr,
                                uint32_t size_ptr);
uint32_t gr_wasi_environ_get(gr_wasi* w,
                             gr_wasi_mem* mem,
                             uint32_t env,
                             uint32_t env_buf);
uint32_t gr_wasi_environ_sizes_get(gr_wasi* w,
                                   gr_wasi_mem* mem,
                                   uint32_t count_ptr,
                                   uint32_t size_ptr);
uint32_t gr_wasi_clock_res_get(gr_wasi* w,
                               gr_wasi_mem* mem,
                               uint32_t id,
                               uint32_t res_ptr);
uint32_t gr_wasi_clock_time_get(gr_wasi* w,
                                gr_wasi_mem* mem,
                                uint32_t id,
                                uint64_t precision,
                                uint32_t time_ptr);
uint32_t gr_wasi_random_get(gr_wasi* w,
                            gr_wasi_mem* mem,
                            uint32_t buf,
                            uint32_t len);
uint32_t gr_wasi_sched_yield(gr_wasi* w, gr_wasi_mem* mem);
uint32_t gr_wasi_proc_exit(gr_wasi* w, gr_wasi_mem* mem, uint32_t code);
uint32_t gr_wasi_proc_raise(gr_wasi* w, gr_wasi_mem* mem, uint32_t sig);

uint32_t gr_wasi_fd_advise(gr_wasi* w,
                           gr_wasi_mem* mem,
                           uint32_t fd,
                           uint64_t offset,
                           uint64_t len,
                           uint32_t advice);
uint32_t gr_wasi_fd_allocate(gr_wasi* w,
                             gr_wasi_mem* mem,
                             uint32_t fd,
                             uint64_t offset,
                             uint64_t len);
uint32_t gr_wasi_fd_close(gr_wasi* w, gr_wasi_mem* mem, uint32_t fd);
uint32_t gr_wasi_fd_datasync(gr_wasi* w, gr_wasi_mem* mem, uint32_t fd);
uint32_t gr_wasi_fd_fdstat_get(gr_wasi* w,
                               gr_wasi_mem* mem,
                               uint32_t fd,
                               uint32_t stat_ptr);
uint32_t gr_wasi_fd_fdstat_set_flags(gr_wasi* w,
                                     gr_wasi_mem* mem,
                                     uint32_t fd,
                                     uint32_t flags);
uint32_t gr_wasi_fd_fdstat_set_rights(gr_wasi* w,
                                      gr_wasi_mem* mem,
                                      uint32_t fd,
                                      uint64_t base,
                                      uint64_t inheriting);
uint32_t gr_wasi_fd_filestat_get(gr_wasi* w,
                                 gr_wasi_mem* mem,
                                 uint32_t fd,
                                 uint32_t buf);
uint32_t gr_wasi_fd_filestat_set_size(gr_wasi* w,
                                      gr_wasi_mem* mem,
                                      uint32_t fd,
                                      uint64_t size);
uint32_t gr_wasi_fd_filestat_set_times(gr_wasi* w,
                                       gr_wasi_mem* mem,
                                       uint32_t fd,
                                       uint64_t atim,
                                       uint64_t mtim,
                                       uint32_t fstflags);
uint32_t gr_wasi_fd_pread(gr_wasi* w,
                          gr_wasi_mem* mem,
                          uint32_t fd,
                          uint32_t iovs,
                          uint32_t iovs_len,
                          uint64_t offset,
                          uint32_t nread_ptr);
uint32_t gr_wasi_fd_prestat_get(gr_wasi* w,
                                gr_wasi_mem* mem,
                                uint32_t fd,
                                uint32_t buf);
uint32_t gr_wasi_fd_prestat_dir_name(gr_wasi* w,
                                     gr_wasi_mem* mem,
                                     uint32_t fd,
                                     uint32_t path,
                                     uint32_t path_len);
uint32_t gr_wasi_fd_pwrite(gr_wasi* w,
                           gr_wasi_mem* mem,
                           uint32_t fd,
                           uint32_t iovs,
                           uint32_t iovs_len,
                           uint64_t offset,
                           uint32_t nwritten_ptr);
uint32_t gr_wasi_fd_read(gr_wasi* w,
                         gr_wasi_mem* mem,
                         uint32_t fd,
                         uint32_t iovs,
                         uint32_t iovs_len,
                         uint32_t nread_ptr);
uint32_t gr_wasi_fd_readdir(gr_wasi* w,
                            gr_wasi_mem* mem,
                            uint32_t fd,
                            uint32_t buf,
                            uint32_t buf_len,
                            uint64_t cookie,
                            uint32_t bufused_ptr);
uint32_t gr_wasi_fd_renumber(gr_wasi* w,
                             gr_wasi_mem* mem,
                             uint32_t fd,
                             uint32_t to);
uint32_t gr_wasi_fd_seek(gr_wasi* w,
                         gr_wasi_mem* mem,
                         uint32_t fd,
                         uint64_t offset,
                         uint32_t whence,
                         uint32_t newoffset_ptr);
uint32_t gr_wasi_fd_sync(gr_wasi* w, gr_wasi_mem* mem, uint32_t fd);
uint32_t gr_wasi_fd_tell(gr_wasi* w,
                         gr_wasi_mem* mem,
                         uint32_t fd,
                         uint32_t offset_ptr);
uint32_t gr_wasi_fd_write(gr_wasi* w,
                          gr_wasi_mem* mem,
                          uint32_t fd,
                          uint32_t iovs,
                          uint32_t iovs_len,
                          uint32_t nwritten_ptr);

uint32_t gr_wasi_path_create_directory(gr_wasi* w,
                                       gr_wasi_mem* mem,
                                       uint32_t fd,
                                       uint32_t path,
                                       uint32_t path_len);
uint32_t gr_wasi_path_filestat_get(gr_wasi* w,
                                   gr_wasi_mem* mem,
                                   uint32_t fd,
                                   uint32_t flags,
                                   uint32_t path,
                                   uint32_t path_len,
                                   uint32_t buf);
uint32_t gr_wasi_path_filestat_set_times(gr_wasi* w,
                                         gr_wasi_mem* mem,
                                         uint32_t fd,
                                         uint32_t flags,
                                         uint32_t path,
                                         uint32_t path_len,
                                         uint64_t atim,
                                         uint64_t mtim,
                                         uint32_t fstflags);
uint32_t gr_wasi_path_link(gr_wasi* w,
                           gr_wasi_mem* mem,
                           uint32_t old_fd,
                           uint32_t old_flags,
                           uint32_t old_path,
                           uint32_t old_len,
                           uint32_t new_fd,
                           uint32_t new_path,
                           uint32_t new_len);
uint32_t gr_wasi_path_open(gr_wasi* w,
                           gr_wasi_mem* mem,
                           uint32_t fd,
                           uint32_t dirflags,
                           uint32_t path,
                           uint32_t path_len,
                           uint32_t oflags,
                           uint64_t rights_base,
                           uint64_t rights_inheriting,
                           uint32_t fdflags,
                           uint32_t opened_fd_ptr);
uint32_t gr_wasi_path_readlink(gr_wasi* w,
                               gr_wasi_mem* mem,
                               uint32_t fd,
                               uint32_t path,
                               uint32_t path_len,
                               uint32_t buf,
                               uint32_t buf_len,
                               uint32_t bufused_ptr);
uint32_t gr_wasi_path_remove_directory(gr_wasi* w,
                                       gr_wasi_mem* mem,
                                       uint32_t fd,
                                       uint32_t path,
                                       uint32_t path_len);
uint32_t gr_wasi_path_rename(gr_wasi* w,
                             gr_wasi_mem* mem,
                             uint32_t fd,
                             uint32_t old_path,
                             uint32_t old_len,
                             uint32_t new_fd,
                             uint32_t new_path,
                             uint32_t new_len);
uint32_t gr_wasi_path_symlink(gr_wasi* w,
                              gr_wasi_mem* mem,
                              uint32_t old_path,
                              uint32_t old_len,
                              uint32_t fd,
                              uint32_t new_path,
                              uint32_t new_len);
uint32_t gr_wasi_path_unlink_file(gr_wasi* w,
                                  gr_wasi_mem* mem,
                                  uint32_t fd,
                                  uint32_t path,
                                  uint32_t path_len);

uint32_t gr_wasi_poll_oneoff(gr_wasi* w,
                             gr_wasi_mem* mem,
                             uint32_t in,
                             uint32_t out,
                             uint32_t nsubscriptions,
                             uint32_t nevents_ptr);

uint32_t gr_wasi_sock_accept(gr_wasi* w,
                             gr_wasi_mem* mem,
                             uint32_t fd,
                             uint32_t flags,
                             uint32_t fd_ptr);
uint32_t gr_wasi_sock_recv(gr_wasi* w,
                           gr_wasi_mem* mem,
                           uint32_t fd,
                           uint32_t ri_data,
                           uint32_t ri_data_len,
                           uint32_t ri_flags,
                           uint32_t ro_datalen_ptr,
                           uint32_t ro_flags_ptr);
uint32_t gr_wasi_sock_send(gr_wasi* w,
                           gr_wasi_mem* mem,
                           uint32_t fd,
                           uint32_t si_data,
                           uint32_t si_data_len,
                           uint32_t si_flags,
                           uint32_t so_datalen_ptr);
uint32_t gr_wasi_sock_shutdown(gr_wasi* w,
                               gr_wasi_mem* mem,
                               uint32_t fd,
                               uint32_t how);

/* The import table: every wasi_snapshot_preview1 function with its wasm
 * signature ("iiii>i" style, see engine/shim.h), terminated by a NULL name. */
extern const struct gr_host_import gr_wasi_imports[];

#endif
