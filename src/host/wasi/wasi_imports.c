/* SPDX-License-Identifier: Apache-2.0 */
/* Thin wrappers from the wasm2c import ABI to the core WASI calls: find the
 * instance's memory and gr_wasi, forward, and leave the guest call on
 * proc_exit or when a blocking call reached the call's deadline. An
 * instance without a gr_wasi gets ENOSYS. */
#include "host/wasi/wasi_imports.h"

#include "engine/engine.h"
#include "engine/rt.h"
#include "host/host.h"
#include "host/wasi/wasi.h"

static gr_wasi*
lookup(struct Z_wasi_snapshot_preview1_instance_t* ctx, wasm_rt_memory_t** mem)
{
    gr_instance* in = gr_instance_from_import(ctx);
    gr_host_ctx* h = gr_instance_host(in);
    *mem = gr_instance_memory(in);
    gr_wasi* w = h ? h->wasi : NULL;
    /* Threads of one call share w: every call holds its lock (released by
     * done() or after_blocking(); poll_oneoff drops it while it sleeps). */
    if (w)
        gr_wasi_lock(w);
    return w;
}

static uint32_t
done(gr_wasi* w, uint32_t r)
{
    gr_wasi_unlock(w);
    return r;
}

/* lookup, for the calls that may block: the core call waits at most until
 * the guest call's deadline. */
static gr_wasi*
lookup_blocking(struct Z_wasi_snapshot_preview1_instance_t* ctx,
                wasm_rt_memory_t** mem)
{
    gr_wasi_set_deadline_source(gr_rt_deadline);
    return lookup(ctx, mem);
}

/* A blocking call that stopped at the deadline (ETIMEDOUT, or EINTR from
 * the deadline signal) ends the guest call as a timeout rather than let
 * the guest retry: the core call has released everything by then. */
static uint32_t
after_blocking(gr_wasi* w, uint32_t r)
{
    gr_wasi_unlock(w);
    if (r == GR_WASI_ETIMEDOUT || r == GR_WASI_EINTR)
        gr_rt_check_deadline();
    return r;
}

uint32_t
Z_wasi_snapshot_preview1Z_args_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t argv,
  uint32_t argv_buf)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_args_get(w, mem, argv, argv_buf))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_args_sizes_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t argc_ptr,
  uint32_t size_ptr)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_args_sizes_get(w, mem, argc_ptr, size_ptr))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_environ_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t env,
  uint32_t env_buf)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_environ_get(w, mem, env, env_buf))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_environ_sizes_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t count_ptr,
  uint32_t size_ptr)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_environ_sizes_get(w, mem, count_ptr, size_ptr))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_clock_res_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t id,
  uint32_t res_ptr)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_clock_res_get(w, mem, id, res_ptr))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_clock_time_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t id,
  uint64_t precision,
  uint32_t time_ptr)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_clock_time_get(w, mem, id, precision, time_ptr))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_advise(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint64_t offset,
  uint64_t len,
  uint32_t advice)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_fd_advise(w, mem, fd, offset, len, advice))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_allocate(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint64_t offset,
  uint64_t len)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_fd_allocate(w, mem, fd, offset, len))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_close(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_fd_close(w, mem, fd)) : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_datasync(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_fd_datasync(w, mem, fd)) : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_fdstat_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t stat_ptr)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_fd_fdstat_get(w, mem, fd, stat_ptr))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_fdstat_set_flags(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t flags)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_fd_fdstat_set_flags(w, mem, fd, flags))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_fdstat_set_rights(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint64_t base,
  uint64_t inheriting)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w,
                    gr_wasi_fd_fdstat_set_rights(w, mem, fd, base, inheriting))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_filestat_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t buf)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_fd_filestat_get(w, mem, fd, buf))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_filestat_set_size(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint64_t size)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_fd_filestat_set_size(w, mem, fd, size))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_filestat_set_times(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint64_t atim,
  uint64_t mtim,
  uint32_t fstflags)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w,
                    gr_wasi_fd_filestat_set_times(
                      w, mem, fd, atim, mtim, fstflags))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_pread(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t iovs,
  uint32_t iovs_len,
  uint64_t offset,
  uint32_t nread_ptr)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup_blocking(ctx, &mem);
    return w ? after_blocking(w,
                              gr_wasi_fd_pread(
                                w, mem, fd, iovs, iovs_len, offset, nread_ptr))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_prestat_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t buf)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_fd_prestat_get(w, mem, fd, buf))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_prestat_dir_name(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t path,
  uint32_t path_len)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_fd_prestat_dir_name(w, mem, fd, path, path_len))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_pwrite(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t iovs,
  uint32_t iovs_len,
  uint64_t offset,
  uint32_t nwritten_ptr)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup_blocking(ctx, &mem);
    return w ? after_blocking(
                 w,
                 gr_wasi_fd_pwrite(
                   w, mem, fd, iovs, iovs_len, offset, nwritten_ptr))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_read(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t iovs,
  uint32_t iovs_len,
  uint32_t nread_ptr)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup_blocking(ctx, &mem);
    return w ? after_blocking(
                 w, gr_wasi_fd_read(w, mem, fd, iovs, iovs_len, nread_ptr))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_readdir(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t buf,
  uint32_t buf_len,
  uint64_t cookie,
  uint32_t bufused_ptr)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w,
                    gr_wasi_fd_readdir(
                      w, mem, fd, buf, buf_len, cookie, bufused_ptr))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_renumber(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t to)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_fd_renumber(w, mem, fd, to)) : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_seek(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint64_t offset,
  uint32_t whence,
  uint32_t newoffset_ptr)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w,
                    gr_wasi_fd_seek(w, mem, fd, offset, whence, newoffset_ptr))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_sync(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_fd_sync(w, mem, fd)) : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_tell(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t offset_ptr)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_fd_tell(w, mem, fd, offset_ptr))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_fd_write(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t iovs,
  uint32_t iovs_len,
  uint32_t nwritten_ptr)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup_blocking(ctx, &mem);
    return w ? after_blocking(
                 w, gr_wasi_fd_write(w, mem, fd, iovs, iovs_len, nwritten_ptr))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_path_create_directory(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t path,
  uint32_t path_len)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w,
                    gr_wasi_path_create_directory(w, mem, fd, path, path_len))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_path_filestat_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t flags,
  uint32_t path,
  uint32_t path_len,
  uint32_t buf)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w,
                    gr_wasi_path_filestat_get(
                      w, mem, fd, flags, path, path_len, buf))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_path_filestat_set_times(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t flags,
  uint32_t path,
  uint32_t path_len,
  uint64_t atim,
  uint64_t mtim,
  uint32_t fstflags)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w,
                    gr_wasi_path_filestat_set_times(
                      w, mem, fd, flags, path, path_len, atim, mtim, fstflags))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_path_link(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t old_fd,
  uint32_t old_flags,
  uint32_t old_path,
  uint32_t old_len,
  uint32_t new_fd,
  uint32_t new_path,
  uint32_t new_len)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w,
                    gr_wasi_path_link(w,
                                      mem,
                                      old_fd,
                                      old_flags,
                                      old_path,
                                      old_len,
                                      new_fd,
                                      new_path,
                                      new_len))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_path_open(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
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
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w,
                    gr_wasi_path_open(w,
                                      mem,
                                      fd,
                                      dirflags,
                                      path,
                                      path_len,
                                      oflags,
                                      rights_base,
                                      rights_inheriting,
                                      fdflags,
                                      opened_fd_ptr))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_path_readlink(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t path,
  uint32_t path_len,
  uint32_t buf,
  uint32_t buf_len,
  uint32_t bufused_ptr)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w,
                    gr_wasi_path_readlink(
                      w, mem, fd, path, path_len, buf, buf_len, bufused_ptr))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_path_remove_directory(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t path,
  uint32_t path_len)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w,
                    gr_wasi_path_remove_directory(w, mem, fd, path, path_len))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_path_rename(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t old_path,
  uint32_t old_len,
  uint32_t new_fd,
  uint32_t new_path,
  uint32_t new_len)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w,
                    gr_wasi_path_rename(
                      w, mem, fd, old_path, old_len, new_fd, new_path, new_len))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_path_symlink(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t old_path,
  uint32_t old_len,
  uint32_t fd,
  uint32_t new_path,
  uint32_t new_len)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w,
                    gr_wasi_path_symlink(
                      w, mem, old_path, old_len, fd, new_path, new_len))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_path_unlink_file(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t path,
  uint32_t path_len)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_path_unlink_file(w, mem, fd, path, path_len))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_poll_oneoff(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t in,
  uint32_t out,
  uint32_t nsubscriptions,
  uint32_t nevents_ptr)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup_blocking(ctx, &mem);
    return w ? after_blocking(w,
                              gr_wasi_poll_oneoff(
                                w, mem, in, out, nsubscriptions, nevents_ptr))
             : GR_WASI_ENOSYS;
}

void
Z_wasi_snapshot_preview1Z_proc_exit(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t code)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    if (w) {
        gr_wasi_proc_exit(w, mem, code);
        gr_wasi_unlock(w);
    }
    gr_rt_raise(GR_TRAP_EXIT, (int)code);
}

uint32_t
Z_wasi_snapshot_preview1Z_proc_raise(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t sig)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_proc_raise(w, mem, sig)) : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_sched_yield(
  struct Z_wasi_snapshot_preview1_instance_t* ctx)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_sched_yield(w, mem)) : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_random_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t buf,
  uint32_t len)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_random_get(w, mem, buf, len)) : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_sock_accept(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t flags,
  uint32_t fd_ptr)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup_blocking(ctx, &mem);
    return w ? after_blocking(w, gr_wasi_sock_accept(w, mem, fd, flags, fd_ptr))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_sock_recv(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t ri_data,
  uint32_t ri_data_len,
  uint32_t ri_flags,
  uint32_t ro_datalen_ptr,
  uint32_t ro_flags_ptr)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup_blocking(ctx, &mem);
    return w ? after_blocking(w,
                              gr_wasi_sock_recv(w,
                                                mem,
                                                fd,
                                                ri_data,
                                                ri_data_len,
                                                ri_flags,
                                                ro_datalen_ptr,
                                                ro_flags_ptr))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_sock_send(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t si_data,
  uint32_t si_data_len,
  uint32_t si_flags,
  uint32_t so_datalen_ptr)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup_blocking(ctx, &mem);
    return w ? after_blocking(
                 w,
                 gr_wasi_sock_send(
                   w, mem, fd, si_data, si_data_len, si_flags, so_datalen_ptr))
             : GR_WASI_ENOSYS;
}

uint32_t
Z_wasi_snapshot_preview1Z_sock_shutdown(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t how)
{
    wasm_rt_memory_t* mem;
    gr_wasi* w = lookup(ctx, &mem);
    return w ? done(w, gr_wasi_sock_shutdown(w, mem, fd, how)) : GR_WASI_ENOSYS;
}
