/* SPDX-License-Identifier: Apache-2.0 */
/* The wasm2c 1.0.32 import symbols of wasi_snapshot_preview1
 * (Z_wasi_snapshot_preview1Z_<name>) that generated objects link against.
 * Each finds the calling instance's gr_wasi through gr_instance_host() and
 * forwards to the core call in wasi.h. Library gr_host. */
#ifndef GR_HOST_WASI_IMPORTS_H
#define GR_HOST_WASI_IMPORTS_H

#include <stdint.h>

/* wasm2c maps wasm i32 to u32 (uint32_t) and i64 to u64 (uint64_t). */
/* Defined by nobody: the engine passes its gr_instance as this pointer. */
struct Z_wasi_snapshot_preview1_instance_t;

uint32_t Z_wasi_snapshot_preview1Z_args_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t argv,
  uint32_t argv_buf);
uint32_t Z_wasi_snapshot_preview1Z_args_sizes_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t argc_ptr,
  uint32_t size_ptr);
uint32_t Z_wasi_snapshot_preview1Z_environ_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t env,
  uint32_t env_buf);
uint32_t Z_wasi_snapshot_preview1Z_environ_sizes_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t count_ptr,
  uint32_t size_ptr);
uint32_t Z_wasi_snapshot_preview1Z_clock_res_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t id,
  uint32_t res_ptr);
uint32_t Z_wasi_snapshot_preview1Z_clock_time_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t id,
  uint64_t precision,
  uint32_t time_ptr);
uint32_t Z_wasi_snapshot_preview1Z_fd_advise(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint64_t offset,
  uint64_t len,
  uint32_t advice);
uint32_t Z_wasi_snapshot_preview1Z_fd_allocate(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint64_t offset,
  uint64_t len);
uint32_t Z_wasi_snapshot_preview1Z_fd_close(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd);
uint32_t Z_wasi_snapshot_preview1Z_fd_datasync(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd);
uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t stat_ptr);
uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_set_flags(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t flags);
uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_set_rights(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint64_t base,
  uint64_t inheriting);
uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t buf);
uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_set_size(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint64_t size);
uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_set_times(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint64_t atim,
  uint64_t mtim,
  uint32_t fstflags);
uint32_t Z_wasi_snapshot_preview1Z_fd_pread(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t iovs,
  uint32_t iovs_len,
  uint64_t offset,
  uint32_t nread_ptr);
uint32_t Z_wasi_snapshot_preview1Z_fd_prestat_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t buf);
uint32_t Z_wasi_snapshot_preview1Z_fd_prestat_dir_name(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t path,
  uint32_t path_len);
uint32_t Z_wasi_snapshot_preview1Z_fd_pwrite(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t iovs,
  uint32_t iovs_len,
  uint64_t offset,
  uint32_t nwritten_ptr);
uint32_t Z_wasi_snapshot_preview1Z_fd_read(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t iovs,
  uint32_t iovs_len,
  uint32_t nread_ptr);
uint32_t Z_wasi_snapshot_preview1Z_fd_readdir(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t buf,
  uint32_t buf_len,
  uint64_t cookie,
  uint32_t bufused_ptr);
uint32_t Z_wasi_snapshot_preview1Z_fd_renumber(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t to);
uint32_t Z_wasi_snapshot_preview1Z_fd_seek(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint64_t offset,
  uint32_t whence,
  uint32_t newoffset_ptr);
uint32_t Z_wasi_snapshot_preview1Z_fd_sync(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd);
uint32_t Z_wasi_snapshot_preview1Z_fd_tell(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t offset_ptr);
uint32_t Z_wasi_snapshot_preview1Z_fd_write(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t iovs,
  uint32_t iovs_len,
  uint32_t nwritten_ptr);
uint32_t Z_wasi_snapshot_preview1Z_path_create_directory(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t path,
  uint32_t path_len);
uint32_t Z_wasi_snapshot_preview1Z_path_filestat_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t flags,
  uint32_t path,
  uint32_t path_len,
  uint32_t buf);
uint32_t Z_wasi_snapshot_preview1Z_path_filestat_set_times(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t flags,
  uint32_t path,
  uint32_t path_len,
  uint64_t atim,
  uint64_t mtim,
  uint32_t fstflags);
uint32_t Z_wasi_snapshot_preview1Z_path_link(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t old_fd,
  uint32_t old_flags,
  uint32_t old_path,
  uint32_t old_len,
  uint32_t new_fd,
  uint32_t new_path,
  uint32_t new_len);
uint32_t Z_wasi_snapshot_preview1Z_path_open(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t dirflags,
  uint32_t path,
  uint32_t path_len,
  uint32_t oflags,
  uint64_t rights_base,
  uint64_t rights_inheriting,
  uint32_t fdflags,
  uint32_t opened_fd_ptr);
uint32_t Z_wasi_snapshot_preview1Z_path_readlink(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t path,
  uint32_t path_len,
  uint32_t buf,
  uint32_t buf_len,
  uint32_t bufused_ptr);
uint32_t Z_wasi_snapshot_preview1Z_path_remove_directory(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t path,
  uint32_t path_len);
uint32_t Z_wasi_snapshot_preview1Z_path_rename(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t old_path,
  uint32_t old_len,
  uint32_t new_fd,
  uint32_t new_path,
  uint32_t new_len);
uint32_t Z_wasi_snapshot_preview1Z_path_symlink(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t old_path,
  uint32_t old_len,
  uint32_t fd,
  uint32_t new_path,
  uint32_t new_len);
uint32_t Z_wasi_snapshot_preview1Z_path_unlink_file(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t path,
  uint32_t path_len);
uint32_t Z_wasi_snapshot_preview1Z_poll_oneoff(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t in,
  uint32_t out,
  uint32_t nsubscriptions,
  uint32_t nevents_ptr);
void Z_wasi_snapshot_preview1Z_proc_exit(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t code);
uint32_t Z_wasi_snapshot_preview1Z_proc_raise(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t sig);
uint32_t Z_wasi_snapshot_preview1Z_sched_yield(
  struct Z_wasi_snapshot_preview1_instance_t* ctx);
uint32_t Z_wasi_snapshot_preview1Z_random_get(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t buf,
  uint32_t len);
uint32_t Z_wasi_snapshot_preview1Z_sock_accept(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t flags,
  uint32_t fd_ptr);
uint32_t Z_wasi_snapshot_preview1Z_sock_recv(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t ri_data,
  uint32_t ri_data_len,
  uint32_t ri_flags,
  uint32_t ro_datalen_ptr,
  uint32_t ro_flags_ptr);
uint32_t Z_wasi_snapshot_preview1Z_sock_send(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t si_data,
  uint32_t si_data_len,
  uint32_t si_flags,
  uint32_t so_datalen_ptr);
uint32_t Z_wasi_snapshot_preview1Z_sock_shutdown(
  struct Z_wasi_snapshot_preview1_instance_t* ctx,
  uint32_t fd,
  uint32_t how);

#endif
