/* SPDX-License-Identifier: Apache-2.0 */
/* The wasi_snapshot_preview1 functions Granary provides and their wasm
 * signatures (see engine/shim.h for the format); host.c checks imports
 * against it. */
#include <stddef.h>

#include "host/host.h"
#include "host/wasi/wasi.h"

#define W(name, sig)                                                           \
    {                                                                          \
        "wasi_snapshot_preview1", name, sig                                    \
    }

const struct gr_host_import gr_wasi_imports[] = {
    W("args_get", "ii>i"),
    W("args_sizes_get", "ii>i"),
    W("environ_get", "ii>i"),
    W("environ_sizes_get", "ii>i"),
    W("clock_res_get", "ii>i"),
    W("clock_time_get", "iIi>i"),
    W("fd_advise", "iIIi>i"),
    W("fd_allocate", "iII>i"),
    W("fd_close", "i>i"),
    W("fd_datasync", "i>i"),
    W("fd_fdstat_get", "ii>i"),
    W("fd_fdstat_set_flags", "ii>i"),
    W("fd_fdstat_set_rights", "iII>i"),
    W("fd_filestat_get", "ii>i"),
    W("fd_filestat_set_size", "iI>i"),
    W("fd_filestat_set_times", "iIIi>i"),
    W("fd_pread", "iiiIi>i"),
    W("fd_prestat_get", "ii>i"),
    W("fd_prestat_dir_name", "iii>i"),
    W("fd_pwrite", "iiiIi>i"),
    W("fd_read", "iiii>i"),
    W("fd_readdir", "iiiIi>i"),
    W("fd_renumber", "ii>i"),
    W("fd_seek", "iIii>i"),
    W("fd_sync", "i>i"),
    W("fd_tell", "ii>i"),
    W("fd_write", "iiii>i"),
    W("path_create_directory", "iii>i"),
    W("path_filestat_get", "iiiii>i"),
    W("path_filestat_set_times", "iiiiIIi>i"),
    W("path_link", "iiiiiii>i"),
    W("path_open", "iiiiiIIii>i"),
    W("path_readlink", "iiiiii>i"),
    W("path_remove_directory", "iii>i"),
    W("path_rename", "iiiiii>i"),
    W("path_symlink", "iiiii>i"),
    W("path_unlink_file", "iii>i"),
    W("poll_oneoff", "iiii>i"),
    W("proc_exit", "i>"),
    W("proc_raise", "i>i"),
    W("sched_yield", ">i"),
    W("random_get", "ii>i"),
    W("sock_accept", "iii>i"),
    W("sock_recv", "iiiiii>i"),
    W("sock_send", "iiiii>i"),
    W("sock_shutdown", "ii>i"),
    { NULL, NULL, NULL },
};
